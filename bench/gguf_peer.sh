#!/usr/bin/env bash
# GGUF files against our own directories of the same shape, and llama.cpp on the same files, in one run.
# Interleaved rounds (the VM is noisy): pangu on the Q8_0 GGUF and on our W8A16 directory (int8 head), on the
# BF16 GGUF and on our BF16 directory; then llama.cpp (node-llama-cpp, tests/gguf) on both GGUF files.
# usage: bench/gguf_peer.sh Q8_0.gguf W8A16_DIR BF16.gguf BF16_DIR   (ROUNDS=2 TG=64 PP=64 REPS=5)
set -euo pipefail
cd "$(dirname "$0")/.."
Q8=$1 W8=$2 BF=$3 BFDIR=$4
ROUNDS=${ROUNDS:-2} TG=${TG:-64} PP=${PP:-64} REPS=${REPS:-5}
for round in $(seq "$ROUNDS"); do
  echo "== round $round"
  for m in "$Q8" "$W8 --int8-head" "$BF" "$BFDIR"; do
    # shellcheck disable=SC2086
    build/pangu bench -m $m -p "$PP" -n "$TG" -r "$REPS" 2>/dev/null | grep -E '^\| [A-Za-z]' | sed "s|^|$(basename ${m%% *}) |"
  done
done
if [ -d tests/gguf/node_modules ]; then
  cp ../shared/tools/peer-bench/node/bench.mjs tests/gguf/.bench.mjs
  for f in "$Q8" "$BF"; do
    echo "== llama.cpp $(basename "$f")"
    (cd tests/gguf && node .bench.mjs "$f" --label "$(basename "$f")" --threads 2 --reps 3 2>&1 | grep -E '_median')
  done
  rm -f tests/gguf/.bench.mjs
fi
