#!/usr/bin/env bash
# The pruning sweep in docs/benchmarks.md, on the real stories260K checkpoint (MLP width 172, align 4):
# final ratios k/24 (the seed's k*256/6144), 5 rounds each, Taylor importance; held-out KL and perplexity
# against the original before distillation (--steps 0) and after it (--steps per round), and a random
# channel choice at the same ratio. Training text is sampled from the model itself (no TinyStories corpus
# ships with ../shared); held-out text is tests/data/heldout_stories.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/prune-sweep}
STEPS=${STEPS:-100}
LR=${LR:-3e-4}
BATCH=${BATCH:-8}
MODEL=../shared/models/stories260K
mkdir -p "$OUT"
data="$OUT/teacher_stories.jsonl"
if [ ! -s "$data" ]; then
  prompts=("Once upon a time" "One day" "Tom and Lily" "There was a little" "The sun was")
  for i in $(seq 1 200); do
    p="${prompts[$((i % 5))]}"
    text=$(build/pangu run -m "$MODEL" -p "$p" -n 200 --temp 1 --top-k 0 --top-p 1 --min-p 0 -s "$i" 2>/dev/null)
    python3 -c 'import json,sys; print(json.dumps({"text": sys.argv[1] + sys.argv[2]}))' "$p" "$text"
  done > "$data.tmp"
  mv "$data.tmp" "$data"
fi
common=(-m "$MODEL" --align 4 --rounds 5 --seq-len 128 --batch "$BATCH" --data "$data"
        --eval-data tests/data/heldout_stories.txt -t 2 --force)
for k in 1 2 3 4 5; do
  ratio=$(python3 -c "print($k/24)")
  build/pangu prune "${common[@]}" --ratio "$ratio" --steps 0 -o "$OUT/k$k-taylor" 2>/dev/null
  build/pangu prune "${common[@]}" --ratio "$ratio" --steps 0 --importance random --seed 1 -o "$OUT/k$k-random" 2>/dev/null
  build/pangu prune "${common[@]}" --ratio "$ratio" --steps "$STEPS" --lr "$LR" -o "$OUT/k$k-distilled" 2>/dev/null
done
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
def report(name): return json.load(open(f"{out}/{name}/prune_report.json"))
orig = report("k1-taylor")["original"]
print(f"original: PPL {orig['ppl']:.3f}\n")
print("| final ratio | MLP width | KL random, no distill | KL Taylor, no distill | KL Taylor + distill | KL cut | PPL no distill | PPL + distill |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for k in range(1, 6):
    t = report(f"k{k}-taylor")["rounds"][-1]
    r = report(f"k{k}-random")["rounds"][-1]
    d = report(f"k{k}-distilled")["rounds"][-1]
    kb, ka = t["before_distill"]["kl"], d["after_distill"]["kl"]
    print(f"| {k}/24 = {100*k/24:.2f}% | {t['widths'][0]} | {r['before_distill']['kl']:.4f} | {kb:.4f} | {ka:.4f} | "
          f"{100*(1-ka/kb):.0f}% | {t['before_distill']['ppl']:.3f} | {d['after_distill']['ppl']:.3f} |")
PY
