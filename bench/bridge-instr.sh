#!/usr/bin/env bash
# Instructions per API-socket call in cqhttp-bridge, counted by callgrind
# (deterministic, so it survives a busy machine, as bench/instr.sh does for
# the responder): the bridge runs under callgrind with "cqhttp-sim connect"
# as the OneBot side (answering get_status) and bench/bridge-calls as the
# socket client, once with no calls and once for SECONDS; the difference in
# instructions over the calls the bridge answered leaves start-up out.
# Usage: bench/bridge-instr.sh [BUILD [SECONDS]]; prints a line for 64
# pipelined and one for one call at a time.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build/bench}
secs=${2:-3}
make -C "$build" -s bench/bridge-calls >/dev/null
d=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null || true; done; rm -rf "$d"' EXIT

# Prints "<instructions> <calls answered>" for one run of $1 seconds.
run() {
    local port=$((20000 + RANDOM % 20000)) vp sp i n
    rm -f "$d/api.sock"
    env CQHTTP_THREADS=4 CQHTTP_LOG_LEVEL=error \
        valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        "$build/src/bridge/cqhttp-bridge" --listen "127.0.0.1:$port" \
        --bridge-socket "$d/api.sock" 2>"$d/vg" &
    vp=$!
    pids="$vp"
    for i in $(seq 100); do [ -S "$d/api.sock" ] && break; sleep 0.2; done
    CQHTTP_LOG_LEVEL=error "$build/src/sim/cqhttp-sim" connect \
        --url "ws://127.0.0.1:$port/ws/" --self-id 10001000 \
        --log /dev/null 2>/dev/null &
    sp=$!
    pids="$sp $vp"
    sleep 2
    if [ "$1" != 0 ]; then
        "$build/bench/bridge-calls" client "$d/api.sock" "$1" get_status \
            "$2" >/dev/null
    fi
    n=$(/usr/bin/python3 -c '
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"{\"action\":\".bridge_status\"}\n")
d = b""
while not d.endswith(b"\n"):
    d += s.recv(1 << 20)
print(json.loads(d)["data"]["calls_answered"])' "$d/api.sock")
    kill $sp $vp
    wait $sp $vp || true
    pids=""
    echo "$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$d/vg") $n"
}

# The start-up alone (no calls), which the window does not change.
read -r a na <<<"$(run 0 1)"
for win in 64 1; do
    read -r b nb <<<"$(run "$secs" $win)"
    per=$(((b - a) / (nb - na)))
    printf 'bridge instructions per API-socket call, window %-3d %8d  (%d calls)\n' \
        "$win" "$per" $((nb - na))
    # As a ROW for bench/table.py: main's count before issue 10's socket
    # work (8b16725) is the reference, so the ratio says what it saved.
    ref=$([ "$win" = 64 ] && echo 55763 || echo 65109)
    printf 'ROW\t{"what": "callgrind instr per API-socket call, window %d", "value": %d, "unit": "instr", "ref_name": "8b16725", "ref": %d, "lower_better": true}\n' \
        "$win" "$per" "$ref"
done
