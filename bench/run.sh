#!/usr/bin/env bash
# Benchmarks, never part of the tests: builds an optimised tree in build/bench,
# runs every row of issue 10's table with its reference measured in the same
# run, prints one table (bench/table.py) and writes bench/results.txt and
# bench/results.png (gnuplot). Extra arguments go to bench/post.py.
# Usage: bash bench/run.sh   (3 to 5 minutes once built; alone on the host)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
. scripts/deps.sh
cq_install_deps test
command -v wrk >/dev/null || apt-get install -y -qq wrk >/dev/null
# The plot only: never a test dependency.
command -v gnuplot >/dev/null || apt-get install -y -qq gnuplot-nox >/dev/null
command -v valgrind >/dev/null || apt-get install -y -qq valgrind >/dev/null
[ -x configure ] || ./autogen.sh >/dev/null
build=$src/build/bench
mkdir -p "$build"
[ -f "$build/Makefile" ] || (cd "$build" && "$src/configure" CFLAGS="-O2 -g" >configure.out)
make -C "$build" -j"$(nproc)" >/dev/null
make -C "$build" -j"$(nproc)" check TESTS= >/dev/null
make -C "$build" bench/ws-noop bench/ws-load bench/bridge-calls bench/post-path \
    bench/api-bot >/dev/null
log=$(mktemp)
trap 'rm -f "$log"' EXIT
{
    /usr/bin/python3 "$src/bench/post.py" --build "$build" "$@"
    echo
    /usr/bin/python3 "$src/bench/events.py" --build "$build"
    echo
    /usr/bin/python3 "$src/bench/accounts.py" --build "$build"
    echo
    /usr/bin/python3 "$src/bench/ws_api.py" --build "$build"
    echo
    /usr/bin/python3 "$src/bench/bridge.py" --build "$build" --calls-only
    echo
    /usr/bin/python3 "$src/bench/bridge_idle.py" --build "$build"
    echo
    bash "$src/bench/instr.sh" "$build"
    echo
    bash "$src/bench/event-instr.sh" "$build"
    echo
    bash "$src/bench/bridge-instr.sh" "$build"
    echo
    bash "$src/bench/api.sh" "$build"
} 2>&1 | tee "$log" | grep --line-buffered -v '^ROW'
echo
/usr/bin/python3 "$src/bench/table.py" "$log" "$src/bench"
