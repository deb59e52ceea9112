#!/usr/bin/env bash
# The whole test suite, as README.md gives it: installs what it needs on
# Debian 12 (as root), builds cqhttp twice (plainly, then with AddressSanitizer
# and UndefinedBehaviorSanitizer) with warnings as errors, and runs the unit
# and integration tests against each build, then runs each fuzz target for
# a short while (scripts/fuzz.sh, with clang). Ends with one line
# "N passed, N failed, N skipped" counting every test of both runs.
set -u
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
. scripts/deps.sh
cq_install_deps test || { echo "0 passed, 1 failed"; exit 1; }

# Builds go to build/<variant>; a tree configured in place must be cleaned
# first, or configure refuses to build elsewhere.
if [ -f config.status ]; then
    echo "test.sh: the source tree is configured in place; running make distclean"
    make distclean >/dev/null 2>&1 || true
fi
[ -x configure ] || ./autogen.sh >/dev/null || { echo "0 passed, 1 failed"; exit 1; }

passed=0 failed=0 skipped=0

# Adds the counts of a runner's closing line (file $1) to the totals.
count() {
    local line p f s
    line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
    if [ -z "$line" ]; then
        echo "test.sh: $2 printed no closing line; counted as one failure"
        failed=$((failed + 1))
        return
    fi
    p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
    f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
    s=$(grep -oE '[0-9]+ skipped' <<<"$line" | grep -oE '[0-9]+' || echo 0)
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + ${s:-0}))
}

run_variant() {
    local name=$1; shift
    local dir="$src/build/$name" out
    echo "== $name build ($*)"
    mkdir -p "$dir"
    if ! (cd "$dir" && "$src/configure" --enable-werror "$@" >configure.out 2>&1 &&
          make -j"$(nproc)" >make.out 2>&1 &&
          make -j"$(nproc)" check TESTS= >>make.out 2>&1); then
        echo "test.sh: the $name build failed:"
        tail -n 40 "$dir/configure.out" "$dir/make.out" 2>/dev/null
        failed=$((failed + 1))
        return
    fi
    out="$dir/unit.out"
    echo "== $name: unit tests"
    CQ_SRCDIR="$src" "$dir/tests/unit/run-tests" 2>"$dir/unit.err" | tee "$out"
    [ -s "$dir/unit.err" ] && grep -E 'check failed|Sanitizer|runtime error' "$dir/unit.err"
    count "$out" "$name unit tests"
    out="$dir/integration.out"
    echo "== $name: integration tests"
    CQ_SRCDIR="$src" CQ_BUILDDIR="$dir" "$src/tests/integration/run" 2>&1 | tee "$out"
    count "$out" "$name integration tests"
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# make distcheck: the tarball builds, passes make check, installs and
# uninstalls cleanly, out of tree. One test in the count.
distcheck() {
    echo "== make distcheck"
    if make -C "$src/build/plain" distcheck >"$src/build/distcheck.out" 2>&1; then
        echo "PASS distcheck"
        passed=$((passed + 1))
    else
        echo "FAIL distcheck (build/distcheck.out):"
        grep -E '^(FAIL|ERROR)|rror' "$src/build/distcheck.out" | head -n 20
        failed=$((failed + 1))
    fi
}

# The libFuzzer targets (scripts/fuzz.sh), each run for 15 s from its seed
# corpus; a crash or sanitizer report fails it. One test per target.
fuzz() {
    local out="$src/build/fuzz.out"
    echo "== fuzz targets"
    "$src/scripts/fuzz.sh" -t 15 2>&1 | tee "$out"
    count "$out" "fuzz targets"
}

run_variant plain
distcheck
run_variant sanitizers --enable-sanitizers
fuzz

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
