"""API calls per second made by a handler in the bridge over the WebSocket
(bench/run.sh).

bench/api-bot is cqhttp-bridge with one handler: for each private message it
makes CALLS get_login_info calls one after another (each waits for its
answer) and then replies. bench/ws-load plays the OneBot side, answering
every call at once, with a window of events outstanding: window 1 gives the
calls of one handler one at a time, window N gives N handlers calling at
once. Each worker thread runs up to 16 handlers as fibers, so 4 threads
would carry 64 handlers too; --threads defaults to N all the same, as issue
10's own figure (52,990 calls/s, 64 threads) was measured. Calls per second are events per
second times CALLS (each event's own frame and reply are included in the
time, so the figure is slightly low).

References in the same run: bench/ws-noop with CALLS, the bridge's own
WebSocket stack (libevent, wslay, src/ws) making the same calls, one after
another per event, without JSON, handlers or threads: the limit. Both
servers are pinned to one core, the load generator to the others. Each
figure is the median of --runs runs (3), interleaved with its reference's.
Calls one at a time are also measured with inline_handlers = 1 (the
handlers on the loop thread), and set against bench/tcp-pingpong: a bare
TCP round trip between the same two cores, which no stack can beat.

Prints ROW lines (bench/table.py) and a readable line for each.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bridge import Procs, api_status  # noqa
from events import measure, medians, other_cpus, start_pair  # noqa
from table import row  # noqa


def pingpong(build, cpu, other, n=20000):
    """Round trips per second of bench/tcp-pingpong between cpu (the
    server's side) and other (the load generator's)."""
    out = subprocess.run([os.path.join(build, "bench/tcp-pingpong"), str(n),
                          str(cpu), str(other)], check=True,
                         capture_output=True, text=True).stdout
    print(out.strip())
    return float(out.rsplit(": ", 1)[1].split("/")[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", required=True)
    ap.add_argument("--calls", type=int, default=20,
                    help="API calls per event [20]")
    ap.add_argument("--events", type=int, default=4000,
                    help="events at the widest window (an eighth at "
                    "window 1) [4000]")
    ap.add_argument("--inflight", type=int, default=64,
                    help="events whose handlers call at once [64]")
    ap.add_argument("--threads", type=int, default=None,
                    help="the bridge's worker threads [--inflight]")
    ap.add_argument("--runs", type=int, default=3,
                    help="runs of each figure, interleaved; medians [3]")
    ap.add_argument("--cpu", type=int, default=0)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    subprocess.run(["make", "-C", build, "bench/ws-noop", "bench/ws-load",
                    "bench/api-bot", "bench/tcp-pingpong"], check=True,
                   stdout=subprocess.DEVNULL)
    load = os.path.join(build, "bench/ws-load")
    threads = args.threads or args.inflight
    others = other_cpus(args.cpu)
    d = tempfile.mkdtemp(prefix="cq-bench-ws-api-")
    procs = Procs()
    try:
        bot, bport, noop, nport = start_pair(
            procs, build, d, threads, "bench/api-bot", [str(args.calls)],
            CQ_BENCH_CALLS=str(args.calls))
        sock = os.path.join(d, "api.sock")
        # The same bot with inline_handlers, for calls one at a time.
        os.mkdir(os.path.join(d, "inline"))
        ibot, iport = start_pair(
            procs, build, os.path.join(d, "inline"), threads, "bench/api-bot",
            [str(args.calls)], CQ_BENCH_CALLS=str(args.calls),
            CQHTTP_INLINE_HANDLERS="1")[:2]
        runs = 0

        def rate(server, port):
            return lambda: measure(procs, server, port, load, n, window,
                                   args.cpu, others, False)[0]
        for window in (1, args.inflight):
            n = args.events if window > 1 else max(args.events // 8, 100)
            # Calls one at a time: the inline bot too, interleaved alike.
            got = medians(args.runs, rate(bot, bport), rate(noop, nport),
                          *([rate(ibot, iport)] if window == 1 else []))
            b, r = got[0], got[1]
            runs += 2 * args.runs  # Each warm-up and measured run.
            what = "WS API calls, " + (
                "one handler, one at a time" if window == 1 else
                "%d handlers at once (%d threads)" % (window, threads))
            row(what, b * args.calls, "calls/s", "ws-noop",
                r * args.calls)
            if window == 1:
                one = b * args.calls
                row("WS API calls, one at a time, inline_handlers",
                    got[2] * args.calls, "calls/s", "ws-noop", r * args.calls)
        # The floor under calls one at a time: a call is a round trip
        # between the server's core and the load generator's, and a bare
        # TCP ping-pong between the same cores is the most any stack gets.
        trips = pingpong(build, args.cpu, others.split(",")[0])
        row("WS API calls one at a time, against bare TCP round trips",
            one, "calls/s", "tcp-pingpong", trips)
        st = api_status(sock)
        # Each run's last reply may be cut off as ws-load leaves: at most
        # one failure per run, never a get_login_info call.
        if st["calls_failed"] > runs or \
                st["calls_answered"] < st["calls_sent"] - runs:
            raise AssertionError("calls not answered: %r" % st)
    finally:
        procs.stop_all()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
