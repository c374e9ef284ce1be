#!/usr/bin/env bash
# Regenerates the shipped intent model from ../shared: the corpus (scripts/intent_corpus.py), then
# `pangu adapt train-intent` with the default seed. The result is bit-for-bit data/intent/lexical.pgi
# (a test checks it). Rebuild afterwards: the model is compiled into the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
/usr/bin/python3 scripts/intent_corpus.py --shared ../shared --out build/intent
build/pangu adapt train-intent --data build/intent -o data/intent/lexical.pgi
