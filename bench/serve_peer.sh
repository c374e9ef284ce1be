#!/usr/bin/env bash
# Continuous batching side by side with llama.cpp, same machine, same run: aggregate decode throughput with
# N sequences decoding at once, at the openPangu-Embedded-1B W8A16 shape (synthetic weights).
#   ours:      pangu serve --parallel 8 on the W8A16 directory, driven by bench/serve_bench.mjs with N clients
#              (prompts of 32 random token ids, 64 greedy tokens each, ignore_eos), decode rate with all N active
#   llama.cpp: ../shared/tools/peer-bench/node/bench_parallel.mjs on the Q8_0 GGUF of the same shape, N
#              sequences in one context (its own batching of every sequence's token into one decode per step)
# Builds what is missing (models/pangu-1b-synth{,-w8a16}, /tmp/peer-bench/pangu1b-q8_0.gguf: ~4 GB of disk).
#   bench/serve_peer.sh [SEQS=1,2,4,8] [THREADS=2] [TG=64] [PROMPT=32] [REQUESTS=2]
set -euo pipefail
cd "$(dirname "$0")/.."
SEQS="${SEQS:-1,2,4,8}" THREADS="${THREADS:-2}" TG="${TG:-64}" PROMPT="${PROMPT:-32}" REQUESTS="${REQUESTS:-2}"
WORK="${WORK:-/tmp/peer-bench}"
PEER=../shared/tools/peer-bench
synth=models/pangu-1b-synth w8=models/pangu-1b-synth-w8a16 gguf="$WORK/pangu1b-q8_0.gguf"
mkdir -p models "$WORK"
[ -d "$synth" ] || build/pangu synth --config ../shared/models/configs/openpangu-embedded-1b.config.json -o "$synth" \
  --tokenizer ../shared/tokenizers/qwen3
[ -d "$w8" ] || build/pangu quantize -m "$synth" -o "$w8" --scheme w8a16
[ -s "$gguf" ] || "${PYTHON:-/usr/bin/python3}" "$PEER/gen_gguf.py" --shape 1b --dtype q8_0 --out "$gguf"
[ -d "$PEER/node/node_modules" ] || (cd "$PEER/node" && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --ignore-scripts --no-audit --no-fund)

echo "== llama.cpp: $gguf, $THREADS threads, sequences $SEQS" >&2
(cd "$PEER/node" && node bench_parallel.mjs "$gguf" --seqs "$SEQS" --tg "$TG" --prompt "$PROMPT" --threads "$THREADS" \
   --reps 2 --json "$WORK/llama_parallel.json" > /dev/null)

echo "== pangu serve: $w8, $THREADS threads" >&2
max_seqs="$(tr ',' '\n' <<< "$SEQS" | sort -n | tail -n 1)"
build/pangu serve -m "$w8" -t "$THREADS" --parallel "$max_seqs" -c 512 --port 0 2> "$WORK/serve.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 600); do grep -q "http://" "$WORK/serve.log" && break; sleep 0.1; done
port="$(grep -o 'http://[^ ]*' "$WORK/serve.log" | head -n 1 | sed 's/.*://')"
node bench/serve_bench.mjs --url "http://127.0.0.1:$port" --concurrency "$SEQS" --requests "$REQUESTS" \
  --max-tokens "$TG" --random-prompt "$PROMPT" --vocab 150000 --greedy --json "$WORK/pangu_serve.json" > /dev/null
kill -TERM $server && wait $server || true

python3 - "$WORK/llama_parallel.json" "$WORK/pangu_serve.json" <<'PY'
import json, sys
llama = {r["sequences"]: r["aggregate_tps"] for r in json.load(open(sys.argv[1]))["results"]}
ours = {r["concurrency"]: r["decode_tokens_per_s_all_active"] for r in json.load(open(sys.argv[2]))["rows"]}
print("| sequences | pangu serve decode tokens/s | vs 1 sequence | llama.cpp decode tokens/s | vs 1 sequence | pangu / llama.cpp |")
print("|---:|---:|---:|---:|---:|---:|")
for n in sorted(ours):
    print(f"| {n} | {ours[n]:.2f} | {ours[n] / ours[min(ours)]:.2f}x | {llama.get(n, float('nan')):.2f} | "
          f"{llama.get(n, float('nan')) / llama[min(llama)]:.2f}x | {ours[n] / llama.get(n, float('nan')):.2f}x |")
PY
