"""Resident memory of cqhttp-bridge per idle WebSocket connection
(bench/run.sh).

Starts one bridge, reads its VmRSS from /proc/PID/status, opens N idle
Universal connections (N accounts, one X-Self-ID each) from here with
asyncio websockets, waits until the bridge reports all N accounts
(.bridge_status on its API socket), reads VmRSS again and prints both and
the difference per connection. Reference, measured first in the same run:
the same steps with 0 connections (two readings the same time apart, and
the same status call), which is what the bridge's RSS does with nothing to
hold. The connections send nothing and do not ping; the bridge pings only
after 30 s idle. Everything started here is stopped here.
"""

import argparse
import asyncio
import json
import os
import resource
import shutil
import sys
import tempfile
import time

import websockets

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))
from servers import free_port, start_bridge, stop_responder  # noqa
sys.path.insert(0, HERE)
from table import row  # noqa

FIRST_SID = 100000000


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


async def bridge_status(sock):
    r, w = await asyncio.open_unix_connection(sock, limit=64 << 20)
    try:
        w.write(b'{"action":".bridge_status"}\n')
        await w.drain()
        line = await asyncio.wait_for(r.readline(), 10)
        return json.loads(line)["data"]
    finally:
        w.close()


async def settle(sock, want, timeout=30):
    """Waits until the bridge reports want accounts; returns its status."""
    end = time.monotonic() + timeout
    while True:
        st = await bridge_status(sock)
        if len(st["accounts"]) == want and st["connections"] == want:
            return st
        if time.monotonic() > end:
            raise AssertionError("the bridge reports %d accounts, not %d"
                                 % (len(st["accounts"]), want))
        await asyncio.sleep(0.05)


async def open_all(port, n, batch):
    conns = []
    for start in range(0, n, batch):
        conns += await asyncio.gather(*[
            websockets.connect(
                "ws://127.0.0.1:%d/ws/" % port, ping_interval=None,
                open_timeout=30, close_timeout=2,
                extra_headers={"X-Self-ID": str(FIRST_SID + i),
                               "X-Client-Role": "Universal"})
            for i in range(start, min(n, start + batch))])
    return conns


async def measure(pid, port, sock, n, batch):
    await settle(sock, 0)
    await asyncio.sleep(0.2)
    before = vm_rss_kib(pid)
    t0 = time.monotonic()
    # Reference: the same readings and status call with 0 connections.
    await asyncio.sleep(1.0)
    await settle(sock, 0)
    ref_after = vm_rss_kib(pid)
    ref_time = time.monotonic() - t0
    conns = []
    try:
        t0 = time.monotonic()
        conns = await open_all(port, n, batch)
        open_time = time.monotonic() - t0
        await settle(sock, n)
        await asyncio.sleep(0.2)
        with_n = vm_rss_kib(pid)
    finally:
        await asyncio.gather(*[c.close() for c in conns],
                             return_exceptions=True)
    await settle(sock, 0)
    await asyncio.sleep(0.2)
    after_close = vm_rss_kib(pid)
    return {"before": before, "ref_after": ref_after, "ref_time": ref_time,
            "with_n": with_n, "open_time": open_time,
            "after_close": after_close}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", required=True)
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=100,
                    help="connections opened at once")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.connections + 256
    if soft != resource.RLIM_INFINITY and soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        # The bridge, started below, inherits it too.
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    d = tempfile.mkdtemp(prefix="cq-bench-idle-")
    bridge = None
    try:
        port = free_port()
        sock = os.path.join(d, "api.sock")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("CQHTTP_")}
        env["CQHTTP_LOG_LEVEL"] = "warn"
        bridge = start_bridge(os.path.join(args.build,
                                           "src/bridge/cqhttp-bridge"),
                              port, sock, env, os.path.join(d, "bridge.log"))
        m = asyncio.run(measure(bridge.pid, port, sock, args.connections,
                                args.batch))
    finally:
        rc = stop_responder(bridge)
        shutil.rmtree(d, ignore_errors=True)
    n = args.connections
    print("cqhttp-bridge resident memory (VmRSS), idle Universal WebSocket "
          "connections, one account each:")
    print("  reference, 0 connections: %6d KiB, %.1f s later %6d KiB "
          "(%+d KiB)" % (m["before"], m["ref_time"], m["ref_after"],
                         m["ref_after"] - m["before"]))
    print("  %d connections (opened in %.2f s): %6d KiB -> %6d KiB, "
          "%+d KiB, %.2f KiB per connection"
          % (n, m["open_time"], m["ref_after"], m["with_n"],
             m["with_n"] - m["ref_after"],
             (m["with_n"] - m["ref_after"]) / n))
    row("bridge idle RSS, 0 connections", m["ref_after"] / 1024.0, "MiB")
    row("bridge RSS per idle connection (%d open)" % n,
        (m["with_n"] - m["ref_after"]) / n, "KiB")
    print("  after closing them: %6d KiB; bridge exit code %r"
          % (m["after_close"], rc))


if __name__ == "__main__":
    main()
