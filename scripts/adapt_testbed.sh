#!/usr/bin/env bash
# The adaptive-optimization testbed (docs/adapt.md, "The testbed"): real behaviour at real cost. stories260K
# (../shared) expanded to the exact openPangu-Embedded-1B shape computes stories260K's function at the 1B's
# cost; its variants are built the way the product builds them:
#   base    stories260K expanded to the 1B shape (bf16)
#   w8a16   base quantized W8A16 (pangu quantize)
#   w4      base quantized W4A16, group 128
#   pruned  stories260K pruned 5/24 with Taylor importance and KL distillation (pangu prune, 5 rounds),
#           expanded to the 1B shape with MLP width 4864 (the 1B's own 5/24 pruning), then W8A16
# With TESTBED_7B=1 also the draft pair's target: stories260K expanded to the 7B shape, W8A16 (about 15 GB of
# disk while it is built and 7.5 GB after; several minutes). Steps whose output exists are skipped.
# Needs build/pangu (scripts/build.sh) and /usr/bin/python3 with numpy.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-models/testbed}
SRC=../shared/models/stories260K
EXPAND=../shared/tools/expand/expand.py
CONFIGS=../shared/models/configs
PANGU=build/pangu
mkdir -p "$OUT"
step() { echo "== $*" >&2; }

if [ ! -f "$OUT/pruned-small/config.json" ]; then
  step "pruned: teacher text sampled from stories260K (no TinyStories corpus ships with ../shared)"
  data="$OUT/teacher_stories.jsonl"
  if [ ! -s "$data" ]; then
    prompts=("Once upon a time" "One day" "Tom and Lily" "There was a little" "The sun was")
    for i in $(seq 1 200); do
      p="${prompts[$((i % 5))]}"
      text=$("$PANGU" run -m "$SRC" -p "$p" -n 200 --temp 1 --top-k 0 --top-p 1 --min-p 0 -s "$i" 2>/dev/null)
      /usr/bin/python3 -c 'import json,sys; print(json.dumps({"text": sys.argv[1] + sys.argv[2]}))' "$p" "$text"
    done > "$data.tmp"
    mv "$data.tmp" "$data"
  fi
  step "pruned: 5/24 of the MLP channels in 5 rounds, Taylor importance, KL distillation from stories260K"
  "$PANGU" prune -m "$SRC" --ratio "$(/usr/bin/python3 -c 'print(5/24)')" --align 4 --rounds 5 --seq-len 128 \
    --batch 8 --steps 100 --lr 3e-4 --data "$data" --eval-data tests/data/heldout_stories.txt -t 2 --force \
    -o "$OUT/pruned-small"
fi

expand() {  # SRC CONFIG OUT (expand.py writes OUT.tmp and renames it when complete)
  if [ ! -f "$3/config.json" ]; then
    step "expand $1 -> $3"
    /usr/bin/python3 "$EXPAND" "$1" "$2" "$3"
  fi
}
quantize() {  # SRC SCHEME OUT
  if [ ! -f "$3/config.json" ]; then
    step "quantize $1 --scheme $2 -> $3"
    "$PANGU" quantize -m "$1" --scheme "$2" -o "$3"
  fi
}

expand "$SRC" "$CONFIGS/openpangu-embedded-1b.config.json" "$OUT/base"
quantize "$OUT/base" w8a16 "$OUT/w8a16"
quantize "$OUT/base" w4a16-g128 "$OUT/w4"
pruned_config="$OUT/openpangu-embedded-1b-pruned-5of24.config.json"
/usr/bin/python3 - "$CONFIGS/openpangu-embedded-1b.config.json" "$pruned_config" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["intermediate_size"] = 4864  # 6144 * 19/24
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
expand "$OUT/pruned-small" "$pruned_config" "$OUT/pruned-bf16"
quantize "$OUT/pruned-bf16" w8a16 "$OUT/pruned"

if [ "${TESTBED_7B:-0}" = 1 ]; then
  expand "$SRC" "$CONFIGS/openpangu-embedded-7b.config.json" "$OUT/target-7b-bf16"
  quantize "$OUT/target-7b-bf16" w8a16 "$OUT/target-7b"
  if [ -f "$OUT/target-7b/config.json" ]; then rm -rf "$OUT/target-7b-bf16"; fi
fi
du -sh "$OUT"/* >&2
