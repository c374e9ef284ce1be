#!/usr/bin/env bash
# The draft pair at real cost (docs/adapt.md, "The testbed"): stories260K expanded to the openPangu-Embedded-7B
# shape (W8A16) as the target, the testbed's pruned + distilled 1B-shape W8A16 model as the draft. Greedy,
# N tokens per prompt: plain decoding, --spec draft at fixed K, --spec-adaptive, and --strategy auto with a
# profile measured on the pair; every output must equal plain decoding's. Needs scripts/adapt_testbed.sh run
# with TESTBED_7B=1 (about 15 GB of disk while it builds). Keep it out of CI: about 15 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
TESTBED=${TESTBED:-models/testbed}
OUT=${OUT:-build/adapt-draft-pair}
N=${N:-128}
KS=${KS:-2 4 6}
PANGU=build/pangu
TARGET=$TESTBED/target-7b
DRAFT=$TESTBED/pruned
mkdir -p "$OUT"
[ -f "$TARGET/config.json" ] || OUT="$TESTBED" TESTBED_7B=1 scripts/adapt_testbed.sh

prompts=("Once upon a time, there was a little girl named Lily." "Tom and his dog went to the park to play.")

# The profile of the pair, measured on two other story openings (chat requests): the target is the only
# variant; the methods are plain and the draft at each K.
printf '%s\n' '{"text": "The cat sat by the window and looked at the rain.", "label": "chat"}' \
  '{"text": "Lucy found a shiny stone in the garden.", "label": "chat"}' > "$OUT/profile_prompts.jsonl"
methods="plain"
for k in $KS; do methods="$methods,draft:pruned:$k"; done
methods="$methods,draft:pruned:4+adaptive"
[ -f "$OUT/profile.json" ] || "$PANGU" adapt profile --variants "base=$TARGET" --draft "pruned=$DRAFT" \
  --methods "$methods" --prompts "$OUT/profile_prompts.jsonl" --per-category 2 --max-tokens "$N" \
  --max-prompt-tokens 64 --scored-per-category 0 -o "$OUT/profile.json" | tee "$OUT/profile.txt"

run() {  # NAME ARGS...: decode tokens/s of each prompt, the outputs kept
  local name=$1; shift
  local i=0
  for p in "${prompts[@]}"; do
    "$PANGU" run -p "$p" -n "$N" --greedy --stats-json "$OUT/$name.$i.json" "$@" > "$OUT/$name.$i.txt" 2>/dev/null
    i=$((i + 1))
  done
}
run plain -m "$TARGET"
for k in $KS; do run "draft-k$k" -m "$TARGET" --spec draft --draft "$DRAFT" --spec-k "$k"; done
run draft-adaptive -m "$TARGET" --spec draft --draft "$DRAFT" --spec-adaptive
run auto --strategy auto --profile "$OUT/profile.json"

/usr/bin/python3 - "$OUT" "${#prompts[@]}" $KS <<'PY'
import json, sys, filecmp
out, n, ks = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
names = ["plain"] + [f"draft-k{k}" for k in ks] + ["draft-adaptive", "auto"]
def tps(name):
    v = [json.load(open(f"{out}/{name}.{i}.json"))["decode_tokens_per_second"] for i in range(n)]
    return sum(v) / len(v)
base = tps("plain")
print(f"| decoding | decode tokens/s (mean of {n} prompts) | speedup over plain | output equals plain |")
print("|---|---:|---:|---|")
for name in names:
    same = all(filecmp.cmp(f"{out}/{name}.{i}.txt", f"{out}/plain.{i}.txt", shallow=False) for i in range(n))
    extra = ""
    if name == "auto":
        extra = " (" + json.load(open(f"{out}/auto.0.json"))["strategy"]["method"] + ")"
    print(f"| {name}{extra} | {tps(name):.2f} | {tps(name) / base:.2f}x | {'yes' if same else 'NO'} |")
PY
