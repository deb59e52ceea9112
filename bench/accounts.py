"""Bridge events per second with 100 accounts, and through nginx's /ws/
location (bench/run.sh).

Both are measured against the bridge's figure from one Universal connection
(bench/ws-load, window 64, the example handler: send_msg, then the quick
operation), taken from the same bridge in the same run:

- 100 accounts: bench/ws-load --conns 100 opens 100 Universal connections,
  each with its own X-Self-ID (and events with that self_id), and deals the
  events out to them in turn; the window, 64, is over all of them together
  (so the bridge has as much work at once as with one connection; the goal
  of issue 10 is within 20% of one connection). The same load against
  bench/ws-noop, one connection and 100, shows what the generator and the
  WebSocket stack reach with 100 connections: there each event is a write
  and a read of its own.
- nginx: the shipped site nginx/cqhttp.conf (scripts/servers.py, addresses
  replaced) in front of the bridge, the load connecting to its /ws/ URL;
  nginx (one worker) is pinned to the bridge's core, as part of the server.

The 100-account figures are also measured with inline_handlers = 1 (the
handlers' fibers on the loop thread), against that bridge's own figure
from one connection. The bridge and bench/ws-noop are pinned to one core, the load generator to
the others. Each figure is the median of --runs runs (3), interleaved with
its reference's; the nginx row has the one-connection figure measured again
beside it. Prints ROW lines (bench/table.py) and a readable line for each.
"""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))
sys.path.insert(0, HERE)
from servers import free_port, start_nginx, stop_nginx  # noqa
from bridge import Procs  # noqa
from events import measure, medians, options, programs, start_pair  # noqa
from table import row  # noqa


def main():
    ap = options(__doc__)
    ap.add_argument("--accounts", type=int, default=100)
    ap.add_argument("--window", type=int, default=64,
                    help="events outstanding over all connections [64]")
    ap.add_argument("--runs", type=int, default=3,
                    help="runs of each figure, interleaved; medians [3]")
    ap.add_argument("--no-nginx", action="store_true")
    args = ap.parse_args()
    build, load, others = programs(args)
    d = tempfile.mkdtemp(prefix="cq-bench-accounts-")
    os.chmod(d, 0o755)  # nginx's worker runs as www-data under root.
    procs = Procs()
    nginx = None
    try:
        bridge, bport, noop, nport = start_pair(procs, build, d, args.threads)
        # The same bridge with inline_handlers, in rows of its own.
        os.mkdir(os.path.join(d, "inline"))
        inline, iport = start_pair(procs, build, os.path.join(d, "inline"),
                                   args.threads,
                                   CQHTTP_INLINE_HANDLERS="1")[:2]
        n, w, k = args.events, args.window, args.accounts

        def events(server, port, conns=1):
            return lambda: measure(procs, server, port, load, n, w, args.cpu,
                                   others, False, conns)[0]
        one, many, ione, imany, noop_one, noop_many = medians(
            args.runs, events(bridge, bport), events(bridge, bport, k),
            events(inline, iport), events(inline, iport, k),
            events(noop, nport), events(noop, nport, k))
        row("bridge events/s, %d accounts, window %d in all" % (k, w), many,
            "events/s", "bridge 1 conn", one)
        row("bridge inline_handlers events/s, %d accounts, window %d in all"
            % (k, w), imany, "events/s", "inline 1 conn", ione)
        row("  ws-noop events/s, %d conns, window %d in all" % (k, w),
            noop_many, "events/s", "ws-noop 1 conn", noop_one)
        if args.no_nginx:
            return
        gport = free_port()
        nginx = start_nginx(d, gport, os.path.join(d, "fcgi.sock"),
                            bridge_port=bport)
        subprocess.run(["taskset", "-a", "-pc", str(args.cpu),
                        str(nginx.pid)], check=True,
                       stdout=subprocess.DEVNULL)
        workers = subprocess.run(["pgrep", "-P", str(nginx.pid)],
                                 capture_output=True, text=True).stdout
        for pid in workers.split():
            subprocess.run(["taskset", "-pc", str(args.cpu), pid],
                           stdout=subprocess.DEVNULL)
        via, one = medians(args.runs, events(bridge, gport),
                           events(bridge, bport))
        row("bridge events/s via nginx /ws/, window %d" % w, via,
            "events/s", "bridge direct", one)
    finally:
        stop_nginx(nginx)
        procs.stop_all()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
