#!/usr/bin/env bash
# The evaluation of adaptive optimization on the testbed (docs/adapt.md, "Evaluating the framework"):
#   1. the testbed (scripts/adapt_testbed.sh: stories260K at the openPangu-Embedded-1B shape; base, w8a16, w4,
#      pruned) and the intent corpus's test split (scripts/intent_corpus.py) when they are missing;
#   2. the strategy profile of the testbed (pangu adapt profile; resumable: run the script again);
#   3. a mixed workload of COUNT requests over the eight categories with --strategy auto and with each fixed
#      strategy (pangu adapt workload): the table, the JSON and a speed-quality plot in $OUT.
# Timings are this machine's: run nothing else meanwhile. On the 2-core VM of docs/benchmarks.md: about 25
# minutes for the profile, 5 to 13 per strategy of the workload (every row of the profile unless STRATEGIES
# names some: about two hours for all twelve).
set -euo pipefail
cd "$(dirname "$0")/.."
TESTBED=${TESTBED:-models/testbed}
OUT=${OUT:-build/adapt-eval}
COUNT=${COUNT:-200}                      # workload requests
PER_CATEGORY=${PER_CATEGORY:-3}          # profile requests per category
SCORED=${SCORED:-3}                      # GSM8K / MBPP / MMLU samples per scored category
TASK_TOKENS=${TASK_TOKENS:-48}           # answer tokens of a scored sample
PROFILE_TOKENS=${PROFILE_TOKENS:-24}     # profile: new tokens per request
PROFILE_PROMPT=${PROFILE_PROMPT:-64}     # profile: a longer request keeps its last tokens
MAX_TOKENS=${MAX_TOKENS:-16}             # workload: new tokens per request
MAX_PROMPT=${MAX_PROMPT:-48}             # workload: prompt tokens kept
MAX_DROP=${MAX_DROP:-5}                  # auto's quality bound, points (3 requests per category measure no finer)
METHODS=${METHODS:-plain,pld:3:4,pld:3:4+adaptive}
STRATEGIES=${STRATEGIES:-}               # default: auto and every (variant, method) of the profile
PANGU=build/pangu
mkdir -p "$OUT"

[ -x "$PANGU" ] || scripts/build.sh pangu
[ -f "$TESTBED/pruned/config.json" ] || OUT="$TESTBED" scripts/adapt_testbed.sh
[ -f build/intent/test.jsonl ] || /usr/bin/python3 scripts/intent_corpus.py --shared ../shared --out build/intent

variants="base=$TESTBED/base,w8a16=$TESTBED/w8a16,w4=$TESTBED/w4,pruned=$TESTBED/pruned"
resume=()
[ -f "$OUT/profile.json.journal.jsonl" ] && resume=(--resume)
"$PANGU" adapt profile --variants "$variants" --methods "$METHODS" --prompts build/intent/test.jsonl \
  --per-category "$PER_CATEGORY" --max-tokens "$PROFILE_TOKENS" --max-prompt-tokens "$PROFILE_PROMPT" \
  --scored-per-category "$SCORED" --shots 0 --task-max-tokens "$TASK_TOKENS" -o "$OUT/profile.json" "${resume[@]}" \
  | tee "$OUT/profile.txt"

strategies=()
[ -n "$STRATEGIES" ] && strategies=(--strategies "$STRATEGIES")
"$PANGU" adapt workload --profile "$OUT/profile.json" --requests build/intent/test.jsonl --count "$COUNT" \
  --max-tokens "$MAX_TOKENS" --max-prompt-tokens "$MAX_PROMPT" --max-quality-drop "$MAX_DROP" "${strategies[@]}" \
  -o "$OUT/workload.json" \
  | tee "$OUT/workload.md"
/usr/bin/python3 scripts/plot_workload.py "$OUT/workload.json" "$OUT/workload.png"
echo "adapt_eval: $OUT/profile.json, $OUT/workload.md, $OUT/workload.json, $OUT/workload.png" >&2
