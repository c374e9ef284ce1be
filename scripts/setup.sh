#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the reference scripts need.
# Non-interactive and idempotent: apt-get runs only when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build pkg-config git
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libfmt-dev libcli11-dev libcpp-httplib-dev
  libsentencepiece-dev libpcre2-dev libutf8proc-dev
  clang libclang-rt-14-dev
  python3 python3-dev python3-numpy python3-sentencepiece python3-pytest python3-matplotlib pybind11-dev
  chromium nginx-light
)
# Node: Debian's, unless one is installed already (a NodeSource nodejs brings its own npm, and Debian's npm
# package conflicts with it).
command -v node >/dev/null || PACKAGES+=(nodejs)
command -v npm >/dev/null || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The npm packages of the server tests (tests/serve: the openai client, playwright-core), as the lock file pins
# them; skipped when they are in place already.
if [ ! -d tests/serve/node_modules ] || [ tests/serve/package-lock.json -nt tests/serve/node_modules/.package-lock.json ]; then
  echo "setup: npm ci in tests/serve" >&2
  (cd tests/serve && npm ci --no-audit --no-fund --loglevel=error)
fi
# llama.cpp for the GGUF agreement test (tests/gguf): node-llama-cpp's prebuilt CPU binaries for linux-x64
# only. `npm ci` refuses its lock file (npm's optional-platform-package bug), so `npm install` honours it;
# install scripts stay off, so nothing is downloaded or compiled beyond the packages.
if [ "$(uname -m)" = x86_64 ] && { [ ! -d tests/gguf/node_modules ] || [ tests/gguf/package-lock.json -nt tests/gguf/node_modules/.package-lock.json ]; }; then
  echo "setup: npm install in tests/gguf" >&2
  (cd tests/gguf && npm install --ignore-scripts --omit=optional --no-audit --no-fund --loglevel=error)
fi
