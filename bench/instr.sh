#!/usr/bin/env bash
# Instructions per request on the responder's path, counted by callgrind:
# deterministic for a given binary and input, so it survives a busy machine
# (wrk's req/s do not). Runs bench/post-path for 1 and 1+N requests and
# divides the difference, so start-up is left out; the "noop" loop is the
# reference for what the driver itself costs. Then the same for requests
# whose message is 64 KiB of text (the signed echo of bench/post.py's large
# bodies), per KiB of body, against the signature check alone: the SHA-1
# HMAC is the part no responder with a secret can leave out. Usage:
# bench/instr.sh [BUILD]
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build/bench}
n=${CQ_INSTR_N:-200}
make -C "$build" -s bench/post-path >/dev/null
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$build/bench/post-path" "$@" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
one=$(count 1) many=$(count $((n + 1)))
noop1=$(count 1 noop) noopn=$(count $((n + 1)) noop)
per=$(( (many - one) / n )) loop=$(( (noopn - noop1) / n ))
printf '%-44s %10s\n' "responder path (signed echo, example bot)" "instr/req"
printf '%-44s %10d\n' "cq__post_handle, per request" "$per"
printf '%-44s %10d\n' "driver loop alone (reference)" "$loop"
kib=64 big=$(( n / 20 + 1 ))
one=$(count 1 echo $kib) many=$(count $((big + 1)) echo $kib)
h1=$(count 1 hmac $kib) hn=$(count $((big + 1)) hmac $kib)
perkib=$(( (many - one) / big / kib )) hmac=$(( (hn - h1) / big / kib ))
printf '%-44s %10d\n' "cq__post_handle, per KiB of a $kib KiB body" "$perkib"
printf '%-44s %10d\n' "signature check alone, per KiB (reference)" "$hmac"
# The same, as ROW lines for bench/table.py; the reference of the first is
# the no-op responder's whole request path as issue 10 counted it (16.6k).
printf 'ROW\t{"what": "callgrind instructions per request (responder path)", "value": %d, "unit": "instr", "ref_name": "no-op (issue)", "ref": 16600, "lower_better": true}\n' "$per"
printf 'ROW\t{"what": "callgrind instructions per KiB of body, %d KiB bodies", "value": %d, "unit": "instr", "ref_name": "HMAC alone", "ref": %d, "lower_better": true}\n' "$kib" "$perkib" "$hmac"
