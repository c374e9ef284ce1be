#!/usr/bin/env bash
# The draft pair at real cost (docs/adapt.md, "The testbed"): stories260K expanded to the openPangu-Embedded-7B
# shape (W8A16) as the target, the testbed's pruned + distilled 1B-shape W8A16 model as the draft. Greedy,
# N tokens per prompt: plain decoding, --spec draft at fixed K, --spec-adaptive, and --strategy auto with a
# profile measured on the pair; every output must equal plain decoding's. Needs scripts/adapt_testbed.sh run
# with TESTBED_7B=1 (about 15 GB of disk while it builds). Keep it out of CI: about 30 minutes.
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

# Run prompts: three story openings. The profile is measured on four others, as raw text to continue like
# `pangu run -p` decodes them (--raw; in the chat template a story model drafts far worse), so auto chooses
# from measurements of requests it is not scored on.
prompts=("Once upon a time, there was a little girl named Lily." "Tom and his dog went to the park to play."
         "Sara had a red kite that she loved very much.")
printf '%s\n' '{"text": "The cat sat by the window and looked at the rain.", "label": "chat"}' \
  '{"text": "Lucy found a shiny stone in the garden.", "label": "chat"}' \
  '{"text": "Ben wanted to build a tall tower with his blocks.", "label": "chat"}' \
  '{"text": "One day, a little bird could not find its mother.", "label": "chat"}' > "$OUT/profile_prompts.jsonl"
# The methods: plain, the draft at each fixed K, adaptive K, and drafting up to 10 tokens while the draft is
# sure (a token it gives less than 0.2 ends the step).
methods="plain"
for k in $KS; do methods="$methods,draft:pruned:$k"; done
methods="$methods,draft:pruned:4+adaptive,draft:pruned:10+pmin=0.2"
[ -f "$OUT/profile.json" ] || "$PANGU" adapt profile --variants "base=$TARGET" --draft "pruned=$DRAFT" \
  --methods "$methods" --prompts "$OUT/profile_prompts.jsonl" --per-category 4 --max-tokens "$N" \
  --max-prompt-tokens 64 --scored-per-category 0 --raw -o "$OUT/profile.json" | tee "$OUT/profile.txt"

# Every decoding of one prompt runs before the next prompt, in an order that rotates from prompt to prompt,
# so that this VM's drifting memory bandwidth falls on all of them alike.
names=(plain)
declare -A args=([plain]="-m $TARGET")
for k in $KS; do names+=("draft-k$k"); args["draft-k$k"]="-m $TARGET --spec draft --draft $DRAFT --spec-k $k"; done
names+=(draft-adaptive draft-pmin auto)
args[draft-adaptive]="-m $TARGET --spec draft --draft $DRAFT --spec-adaptive"
args[draft-pmin]="-m $TARGET --spec draft --draft $DRAFT --spec-k 10 --spec-p-min 0.2"
args[auto]="--strategy auto --profile $OUT/profile.json"
for i in "${!prompts[@]}"; do
  for j in "${!names[@]}"; do
    name=${names[$(((i + j) % ${#names[@]}))]}
    # shellcheck disable=SC2086  # the arguments are words
    "$PANGU" run -p "${prompts[$i]}" -n "$N" --greedy --stats-json "$OUT/$name.$i.json" ${args[$name]} \
      > "$OUT/$name.$i.txt" 2>/dev/null
    echo "prompt $i: $name done"
  done
done

/usr/bin/python3 - "$OUT" "${#prompts[@]}" "${names[@]}" <<'PY'
import json, sys, filecmp, statistics
out, n, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def tps(name, i):
    return json.load(open(f"{out}/{name}.{i}.json"))["decode_tokens_per_second"]
base = statistics.mean(tps("plain", i) for i in range(n))
print(f"| decoding | " + " | ".join(f"prompt {i}" for i in range(n)) +
      f" | mean decode tokens/s | speedup over plain | output equals plain |")
print("|---|" + "---:|" * n + "---:|---:|---|")
for name in names:
    same = all(filecmp.cmp(f"{out}/{name}.{i}.txt", f"{out}/plain.{i}.txt", shallow=False) for i in range(n))
    extra = ""
    if name == "auto":
        extra = " (" + ", ".join(sorted({json.load(open(f"{out}/auto.{i}.json"))["strategy"]["method"]
                                         for i in range(n)})) + ")"
    mean = statistics.mean(tps(name, i) for i in range(n))
    cells = " | ".join(f"{tps(name, i):.2f}" for i in range(n))
    print(f"| {name}{extra} | {cells} | {mean:.2f} | {mean / base:.2f}x | {'yes' if same else 'NO'} |")
PY
