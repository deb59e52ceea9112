#!/usr/bin/env bash
# Instructions per event in cqhttp-bridge, counted by callgrind (they do not
# depend on what else the machine runs, unlike events/s): the bridge runs
# the shipped example handler (a send_msg call answered over the same
# WebSocket, then the quick operation) under callgrind while bench/ws-load
# sends N events with 64 outstanding; two runs of different lengths are
# subtracted so that start-up is left out.
# Usage: bench/event-instr.sh [BUILD [CALLGRIND_OUT]]; the second argument
# keeps the longer run's profile for callgrind_annotate.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build/bench}
out=${2:-/dev/null}
make -C "$build" -s bench/ws-load >/dev/null
d=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null || true; done; rm -rf "$d"' EXIT

# Prints the instructions callgrind counted for a run of $1 events.
run() {
    local port=$((20000 + RANDOM % 20000)) vp i
    rm -f "$d/api.sock"
    env CQHTTP_THREADS=4 CQHTTP_LOG_LEVEL=error \
        valgrind --tool=callgrind --callgrind-out-file="$2" \
        "$build/src/bridge/cqhttp-bridge" --listen "127.0.0.1:$port" \
        --bridge-socket "$d/api.sock" 2>"$d/vg" &
    vp=$!
    pids="$vp"
    for i in $(seq 100); do [ -S "$d/api.sock" ] && break; sleep 0.2; done
    "$build/bench/ws-load" "$port" "$1" 64 >/dev/null
    kill $vp
    wait $vp || true
    pids=""
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$d/vg"
}

a=$(run 1000 /dev/null)
b=$(run 6000 "$out")
per=$(((b - a) / 5000))
printf 'bridge instructions per event (example handler, window 64) %8d\n' "$per"
# The reference is the count issue 10's work started from (c56c3d7).
printf 'ROW\t{"what": "callgrind instr per bridge event (example handler)", "value": %d, "unit": "instr", "ref_name": "c56c3d7", "ref": 85973, "lower_better": true}\n' "$per"
