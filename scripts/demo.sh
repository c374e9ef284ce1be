#!/usr/bin/env bash
# Installs, builds, and tells a story with the default small model (../shared/models/stories260K).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh --target pangu
MODEL="${PANGU_DEMO_MODEL:-../shared/models/stories260K}"
./build/pangu info -m "$MODEL"
echo
PROMPT="${PANGU_DEMO_PROMPT:-Once upon a time}"
printf '%s' "$PROMPT"  # run prints only the continuation
./build/pangu run -m "$MODEL" -p "$PROMPT" -n 256 --temp 0.8 --seed 42
