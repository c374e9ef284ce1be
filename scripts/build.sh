#!/usr/bin/env bash
# Configures and builds the release tree in build/ (the `pangu` binary and the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPANGU_TESTS=ON >/dev/null
cmake --build build "$@"
