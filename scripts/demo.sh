#!/usr/bin/env bash
# The main job, as README.md gives it: installs what cqhttp needs on Debian 12
# (as root), builds it, and runs the example bot from handlers/ behind a real
# nginx on 127.0.0.1:8080 (CQ_DEMO_PORT to change it), then posts a few
# events to show it answering and stays up for a OneBot implementation until
# Ctrl-C. --once stops after the showcase.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
. scripts/deps.sh
cq_install_deps demo
if [ -f config.status ]; then
    make -j"$(nproc)" >/dev/null
    build=$src
else
    [ -x configure ] || ./autogen.sh >/dev/null
    build=$src/build/demo
    mkdir -p "$build"
    if [ ! -f "$build/Makefile" ]; then
        (cd "$build" && "$src/configure" >configure.out 2>&1) ||
            { tail -n 20 "$build/configure.out"; exit 1; }
    fi
    make -C "$build" -j"$(nproc)" >"$build/make.out" 2>&1 ||
        { tail -n 30 "$build/make.out"; exit 1; }
fi
exec /usr/bin/python3 "$src/scripts/demo.py" --build "$build" "$@"
