#!/usr/bin/env bash
# Installs, builds, and runs the whole test suite:
#   1. the release build and every CTest label (unit, golden, badinput, integration, python, serve, gguf)
#   2. an ASan + UBSan build of the unit and bad-input tests
#   3. libFuzzer targets (safetensors header, tokenizer.json, eval text, intent model, strategy profile,
#      OpenAI request bodies, GGUF files) for FUZZ_SECONDS each (default 30)
#   4. pangu serve built with the sanitizers, driven by the openai-client test suite
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${JOBS:-$(nproc)}"
FUZZ_SECONDS="${FUZZ_SECONDS:-30}"

scripts/build.sh

echo "== sanitizer build (ASan + UBSan)"
# -O1 -g1: what sanitizers need (line numbers in reports), at about half the compile time of -O2 -g.
SAN_FLAGS=(-DCMAKE_BUILD_TYPE=None "-DCMAKE_CXX_FLAGS=-O1 -g1" -DPANGU_SANITIZE=ON -DPANGU_BENCH=OFF -DPANGU_PYTHON=OFF)
cmake -S . -B build-asan -G Ninja "${SAN_FLAGS[@]}" -DPANGU_TESTS=ON >/dev/null
cmake --build build-asan --target pangu unit_tests badinput_tests

echo "== fuzz build (clang, libFuzzer + ASan + UBSan)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja "${SAN_FLAGS[@]}" -DPANGU_FUZZ=ON -DPANGU_TESTS=OFF >/dev/null
cmake --build build-fuzz --target fuzz_safetensors fuzz_tokenizer_json fuzz_eval_text fuzz_intent fuzz_profile fuzz_openai fuzz_gguf

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
for target in safetensors tokenizer_json eval_text intent profile openai gguf; do
  echo "== fuzzing $target for ${FUZZ_SECONDS}s"
  corpus="$(mktemp -d)"
  [ -d tests/fuzz/corpus/"$target" ] && cp tests/fuzz/corpus/"$target"/* "$corpus"/
  [ "$target" = tokenizer_json ] && cp ../shared/models/zh-poem-750K/tokenizer.json "$corpus"/zh-poem.json
  [ "$target" = safetensors ] && head -c 4096 ../shared/models/tiny-pangu-random/model.safetensors > "$corpus"/tiny-head.bin
  [ "$target" = intent ] && head -c 2048 data/intent/lexical.pgi > "$corpus"/model-head.pgi
  # GGUF: a one-layer random model with stories260K's tokenizer, written by our own exporter (58 KB, so no
  # weight file is kept in the repository).
  if [ "$target" = gguf ]; then
    build/pangu synth --config tests/fuzz/gguf_seed.config.json -o "$corpus/seed-model" --dtype f32 \
      --tokenizer ../shared/models/stories260K >/dev/null 2>&1
    build/pangu export -m "$corpus/seed-model" -o "$corpus/tiny-q8_0.gguf" --type q8_0 >/dev/null 2>&1
    rm -rf "$corpus/seed-model"
  fi
  (cd "$corpus" && "$OLDPWD"/build-fuzz/tests/fuzz/fuzz_"$target" -max_total_time="$FUZZ_SECONDS" -max_len=65536 \
     -rss_limit_mb=4096 -print_final_stats=0 "$corpus" 2>&1 | tail -n 3)
  rm -rf "$corpus"
done

echo "== unit and bad-input tests under ASan + UBSan"
(cd build-asan && ctest -L 'unit|badinput' -j "$JOBS" --output-on-failure)

echo "== pangu serve under ASan + UBSan: the openai-client suite against the sanitizer build"
(cd tests/serve && PANGU_BINARY="$OLDPWD/build-asan/pangu" node --test api.test.mjs 2>&1 | tail -n 9)

echo "== full test suite (release)"
cd build && ctest -j "$JOBS" --output-on-failure
