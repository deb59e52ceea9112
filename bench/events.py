"""Events per second from one Universal WebSocket connection (bench/run.sh).

bench/ws-load plays the OneBot implementation: private-message events with
a window of outstanding ones, every call answered at once, an event done
when its .handle_quick_operation arrives. It runs against cqhttp-bridge
(the example handler: send_msg, then the quick operation) and, in the same
run, against bench/ws-noop, a WebSocket peer on the bridge's own stack that
answers each event with a fixed quick operation without parsing it: the
bridge's upper limit. Each figure is measured with windows 64 and 1, with
the server pinned to one core (the load generator on the other), and once
more with a nice-0 busy loop pinned beside it, as on a busy host (issue
10). The bridge is measured twice: with its worker threads (the default)
and with inline_handlers = 1 (the handlers' fibers on the loop thread), in
rows of their own. The server's CPU per event comes from /proc/PID/stat.

Prints ROW lines (bench/table.py) and a readable line for each.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))
sys.path.insert(0, HERE)
from servers import free_port, start_bridge  # noqa
from bridge import Procs, clean_env  # noqa
from table import row  # noqa

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def run_load(load, port, n, window, cpus, conns=1):
    r = subprocess.run(["taskset", "-c", cpus, load, "--conns", str(conns),
                        str(port), str(n), str(window)],
                       capture_output=True, text=True, timeout=300)
    m = re.search(r"(\d+) events in ([\d.]+) s: (\d+) events/s", r.stdout)
    if m is None:
        raise AssertionError("ws-load: %r %r" % (r.stdout, r.stderr))
    return float(m.group(3))


def measure(procs, server, port, load, n, window, cpu, others, busy,
            conns=1):
    subprocess.run(["taskset", "-a", "-pc", str(cpu), str(server.pid)],
                   check=True, stdout=subprocess.DEVNULL)
    spin = None
    if busy:
        spin = procs.add(subprocess.Popen(
            ["taskset", "-c", str(cpu), "sh", "-c", "while :; do :; done"]))
    try:
        run_load(load, port, max(n // 20, 100), window, others,
                 conns)  # warm-up
        c0 = cpu_seconds(server.pid)
        rate = run_load(load, port, n, window, others, conns)
        cpu_us = (cpu_seconds(server.pid) - c0) * 1e6 / n
    finally:
        if spin is not None:
            spin.kill()
            spin.wait()
    return rate, cpu_us


def medians(runs, *fns):
    """Calls each of fns in turn, runs times over, and returns the median of
    each one's results: interleaved, so that a passing load on a shared host
    falls on a figure and its reference alike."""
    got = [[] for _ in fns]
    for _ in range(runs):
        for g, fn in zip(got, fns):
            g.append(fn())
    return [statistics.median(g) for g in got]


def other_cpus(cpu):
    """The cores for the load generator: all but the server's."""
    return ",".join(str(c) for c in range(os.cpu_count())
                    if c != cpu) or str(cpu)


def start_pair(procs, build, d, threads, exe="src/bridge/cqhttp-bridge",
               noop_args=(), **env):
    """Starts the bridge program exe (a path under build) with threads
    workers and env added to its environment, and bench/ws-noop with
    noop_args; returns (bridge, its port, ws-noop, its port)."""
    bport = free_port()
    env = clean_env(CQHTTP_THREADS=str(threads), CQHTTP_LOG_LEVEL="error",
                    CQHTTP_WS_MAX_QUEUE=str(256 << 20), **env)
    bridge = procs.add(start_bridge(
        os.path.join(build, exe), bport, os.path.join(d, "api.sock"), env,
        os.path.join(d, "bridge.log")))
    noop = procs.add(subprocess.Popen(
        [os.path.join(build, "bench/ws-noop"), "0"] + list(noop_args),
        stdout=subprocess.PIPE))
    return bridge, bport, noop, int(noop.stdout.readline().split()[-1])


def options(doc):
    """The options every bridge events script takes (--build, --events,
    --cpu, --threads), on a parser the caller may add to."""
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--build", required=True)
    ap.add_argument("--events", type=int, default=40000)
    ap.add_argument("--cpu", type=int, default=0)
    ap.add_argument("--threads", type=int, default=4)
    return ap


def programs(args):
    """Builds bench/ws-noop and bench/ws-load in args.build; returns the
    build's absolute path, the load generator's and the CPUs other than
    args.cpu (the generator's)."""
    build = os.path.abspath(args.build)
    subprocess.run(["make", "-C", build, "bench/ws-noop", "bench/ws-load"],
                   check=True, stdout=subprocess.DEVNULL)
    return build, os.path.join(build, "bench/ws-load"), other_cpus(args.cpu)


def main():
    args = options(__doc__).parse_args()
    build, load, others = programs(args)
    d = tempfile.mkdtemp(prefix="cq-bench-events-")
    procs = Procs()
    try:
        bridge, bport, noop, nport = start_pair(procs, build, d, args.threads)
        # The same bridge with inline_handlers: its rows follow the default's.
        os.mkdir(os.path.join(d, "inline"))
        inline = start_pair(procs, build, os.path.join(d, "inline"),
                            args.threads, CQHTTP_INLINE_HANDLERS="1")
        for window, busy in ((64, False), (1, False), (64, True), (1, True)):
            n = args.events if window > 1 else args.events // 8
            b, bcpu = measure(procs, bridge, bport, load, n, window,
                              args.cpu, others, busy)
            i, icpu = measure(procs, inline[0], inline[1], load, n, window,
                              args.cpu, others, busy)
            r, rcpu = measure(procs, noop, nport, load, n, window, args.cpu,
                              others, busy)
            what = "bridge events/s, 1 Universal conn, window %d, pinned%s" \
                % (window, ", busy loop beside" if busy else "")
            row(what, b, "events/s", "ws-noop", r)
            row("  bridge CPU per event (window %d%s)"
                % (window, ", busy" if busy else ""), bcpu, "us", "ws-noop",
                rcpu, lower_better=True)
            row("bridge inline_handlers events/s, window %d%s"
                % (window, ", busy" if busy else ""), i, "events/s",
                "ws-noop", r)
            row("  bridge inline_handlers CPU per event (window %d%s)"
                % (window, ", busy" if busy else ""), icpu, "us", "ws-noop",
                rcpu, lower_better=True)
    finally:
        procs.stop_all()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
