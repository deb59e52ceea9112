#!/usr/bin/env bash
# API calls per second from one thread to cqhttp-sim serve on loopback, with
# the thread's kept-alive connection and with a new connection per call.
# Usage: bench/api.sh BUILD_DIR [SECONDS]
set -eu
build=$1 secs=${2:-5}
make -C "$build" bench/api-calls >/dev/null
log=$(mktemp)
"$build/src/sim/cqhttp-sim" serve --listen 127.0.0.1:0 --log /dev/null 2>"$log" &
sim=$!
trap 'kill $sim 2>/dev/null; wait $sim 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 50); do grep -q "listening on" "$log" && break; sleep 0.1; done
addr=$(sed -n 's/.*listening on \([0-9.:]*\).*/\1/p' "$log" | head -n 1)
"$build/bench/api-calls" "http://$addr" "$secs"
