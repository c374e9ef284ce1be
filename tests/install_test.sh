#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, then what another project does with it: examples/ built with
# find_package(pangu CONFIG), and the same program built with pkg-config; both must print what
# `pangu run --greedy` prints for the same prompt. Then the .deb that `cpack -G DEB` makes of the install.
# With PYTHON (a build with the Python module), the module from the prefix and from the .deb too.
#   tests/install_test.sh BUILD_DIR SOURCE_DIR SHARED_DIR [PYTHON]
set -euo pipefail
build="$1" src="$2" shared="$3" python="${4:-}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
model="$shared/models/stories260K"
prompt="Once upon a time"
want="$("$prefix/bin/pangu" run -m "$model" -p "$prompt" -n 16 --greedy 2>/dev/null)"
[ -n "$want" ] || { echo "installed pangu printed nothing"; exit 1; }

cmake -S "$src/examples" -B "$tmp/cmake-build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/cmake-build" >/dev/null
got="$("$tmp/cmake-build/pangu_generate" "$model" "$prompt" 16)"
[ "$got" = "$want" ] || { printf 'find_package build printed:\n%s\npangu run printed:\n%s\n' "$got" "$want"; exit 1; }

pcdir="$(dirname "$(find "$prefix" -name pangu.pc | head -n 1)")"
flags="$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs --static pangu)"
# shellcheck disable=SC2086
g++ -std=c++20 -O1 "$src/examples/generate.cpp" -o "$tmp/pc-generate" $flags
got="$("$tmp/pc-generate" "$model" "$prompt" 16)"
[ "$got" = "$want" ] || { printf 'pkg-config build printed:\n%s\npangu run printed:\n%s\n' "$got" "$want"; exit 1; }
"$prefix/bin/pangu" --version

# The Python module from the prefix: the README's one-liner prints what pangu run prints.
one_liner="import pangu; m = pangu.Model.load('$model'); print(m.generate('$prompt', max_tokens=16, temperature=0))"
if [ -n "$python" ]; then
  pydir="$prefix/lib/python3/dist-packages"
  [ -f "$pydir/pangu/__init__.pyi" ] || { echo "no Python package (with stubs) under $pydir"; exit 1; }
  got="$(cd "$tmp" && PYTHONPATH="$pydir" "$python" -c "$one_liner")"
  [ "$got" = "$want" ] || { printf 'the installed Python module printed:\n%s\n' "$got"; exit 1; }
fi

# The .deb of the same install: its metadata, and its pangu runs from the unpacked tree (installing it here
# would change the machine the tests run on; `apt install ./pangu_*.deb` is in the README).
(cd "$tmp" && cpack --config "$build/CPackConfig.cmake" -B "$tmp/deb" >/dev/null)
deb="$(find "$tmp/deb" -maxdepth 1 -name 'pangu_*.deb' | head -n 1)"
[ -n "$deb" ] || { echo "cpack wrote no .deb"; exit 1; }
dpkg-deb -f "$deb" Package Version Depends
dpkg-deb -x "$deb" "$tmp/debroot"
got="$("$tmp/debroot/usr/bin/pangu" run -m "$model" -p "$prompt" -n 16 --greedy 2>/dev/null)"
[ "$got" = "$want" ] || { printf 'the .deb pangu printed:\n%s\n' "$got"; exit 1; }
[ -f "$tmp/debroot/usr/include/pangu/model.h" ] || { echo "the .deb has no headers"; exit 1; }
if [ -n "$python" ]; then
  got="$(cd "$tmp" && PYTHONPATH="$tmp/debroot/usr/lib/python3/dist-packages" "$python" -c "$one_liner")"
  [ "$got" = "$want" ] || { printf 'the .deb Python module printed:\n%s\n' "$got"; exit 1; }
fi
echo "install: find_package and pkg-config consumers, the Python module and the .deb agree with pangu run"
