#!/usr/bin/env bash
# Builds and runs the libFuzzer targets of tests/fuzz (one fuzz_<name>.c per
# target, seed corpus in tests/fuzz/corpus/<name>), with clang from Debian:
#
#   scripts/fuzz.sh [-t SECONDS] [-b] [NAME...]
#
# The library is configured into build/fuzz with CC=clang and
# -fsanitize=fuzzer-no-link,address,undefined, so that every library
# function is instrumented; each target is linked with -fsanitize=fuzzer
# against the static libcqhttp-runtime (and the handlers, for the event
# target) into build/fuzz/fuzz-<name>. Each target then runs for SECONDS
# (default 15; -b only builds) over a scratch copy of its corpus, so the
# repository's seeds never change. A crash, leak, sanitizer report, timeout
# or memory blow-up fails the target; the input is kept as
# build/fuzz/artifacts/<name>-crash-... and the log as build/fuzz/<name>.log.
# Prints a PASS or FAIL line per target and ends with "N passed, N failed"
# (scripts/test.sh counts them); the exit status is 0 when all passed.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
dir="$src/build/fuzz"
seconds=15 build_only=0
while getopts "t:b" o; do
    case $o in
    t) seconds=$OPTARG ;;
    b) build_only=1 ;;
    *) echo "usage: $0 [-t SECONDS] [-b] [NAME...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
if [ $# -gt 0 ]; then
    names="$*"
else
    names=""
    for f in "$src"/tests/fuzz/fuzz_*.c; do
        f=${f##*/fuzz_}
        names="$names ${f%.c}"
    done
fi
nnames=$(wc -w <<<"$names")

# The build failed: every target counts as failed.
give_up() {
    echo "FAIL fuzz build: $1"
    echo "0 passed, $nnames failed"
    exit 1
}

command -v clang >/dev/null || give_up "no clang (apt-get install clang libclang-rt-14-dev)"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags="-g -O1 -fno-omit-frame-pointer $san"
cd "$src" || give_up "no source tree"
[ -x configure ] || ./autogen.sh >/dev/null || give_up "autogen.sh failed"
mkdir -p "$dir/artifacts"
if [ ! -f "$dir/config.status" ]; then
    (cd "$dir" && CC=clang CFLAGS="$cflags -fsanitize=fuzzer-no-link" \
        "$src/configure" --disable-shared >configure.out 2>&1) ||
        give_up "configure failed (build/fuzz/configure.out)"
fi

# Asks the configured Makefile for a variable's value.
make_var() {
    # shellcheck disable=SC2016 # $(...) is make's, not the shell's.
    printf 'print-var:\n\t@echo $(%s)\n' "$1" |
        make -s -C "$dir" -f Makefile -f - print-var
}

# A changed Makefile.am or configure.ac is taken in first, so that make_var
# prints the value alone.
make -C "$dir" Makefile >"$dir/make.out" 2>&1 ||
    give_up "make failed (build/fuzz/make.out)"
handlers=$(make_var HANDLER_OBJS)
deps=$(make_var RUNTIME_DEPS)
# shellcheck disable=SC2086 # A list of objects.
(cd "$dir" && make -j2 src/cqhttp_actions.h src/lib/actions.c >>make.out 2>&1 &&
    make -j2 src/libcqhttp-runtime.la $handlers >>make.out 2>&1) ||
    give_up "make failed (build/fuzz/make.out)"
for n in $names; do
    objs=""
    [ "$n" = event ] && objs=$(for h in $handlers; do printf '%s ' "$dir/$h"; done)
    # shellcheck disable=SC2086 # Flag lists are split on purpose.
    clang $cflags -fsanitize=fuzzer -std=gnu11 -Wall -Wextra -Werror -I"$src/src" -I"$dir/src" \
        -I"$dir" -o "$dir/fuzz-$n" "$src/tests/fuzz/fuzz_$n.c" $objs \
        "$dir/src/.libs/libcqhttp-runtime.a" $deps >"$dir/$n.link.log" 2>&1 ||
        give_up "fuzz_$n.c did not build (build/fuzz/$n.link.log)"
done
[ "$build_only" -eq 1 ] && exit 0

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
passed=0 failed=0
for n in $names; do
    work=$(mktemp -d)
    # -timeout: one input may take 10 s; -rss_limit_mb and -malloc_limit_mb
    # bound memory, so a blow-up is a failure too, not a stuck machine.
    if "$dir/fuzz-$n" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=1024 -malloc_limit_mb=512 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/$n-" \
        "$work" "$src/tests/fuzz/corpus/$n" >"$dir/$n.log" 2>&1; then
        runs=$(grep -oE 'number_of_executed_units: *[0-9]+' "$dir/$n.log" |
            grep -oE '[0-9]+$')
        echo "PASS fuzz $n (${runs:-?} runs in ${seconds}s)"
        passed=$((passed + 1))
    else
        echo "FAIL fuzz $n (build/fuzz/$n.log, input in build/fuzz/artifacts):"
        grep -E 'ERROR|SUMMARY|runtime error|differs|Test unit written' \
            "$dir/$n.log" | head -n 10
        failed=$((failed + 1))
    fi
    rm -rf "$work"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
