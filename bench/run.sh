#!/usr/bin/env bash
# Benchmarks, never part of the tests: builds an optimised tree in build/bench
# and prints each figure next to its reference measured in the same run.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
. scripts/deps.sh
cq_install_deps test
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
[ -x configure ] || ./autogen.sh >/dev/null
build=$src/build/bench
mkdir -p "$build"
[ -f "$build/Makefile" ] || (cd "$build" && "$src/configure" CFLAGS="-O2 -g" >configure.out)
make -C "$build" -j"$(nproc)" >/dev/null
make -C "$build" -j"$(nproc)" check TESTS= >/dev/null
/usr/bin/python3 "$src/bench/post.py" --build "$build" "$@"
echo
bash "$src/bench/api.sh" "$build"
echo
/usr/bin/python3 "$src/bench/bridge.py" --build "$build"
echo
/usr/bin/python3 "$src/bench/bridge_idle.py" --build "$build"
