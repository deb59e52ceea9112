"""cqhttp-bridge with "cqhttp-sim connect" playing the OneBot side
(bench/run.sh). Two figures, each printed with its reference from the same
run:

(a) API round trips per second from one client making one call at a time
    (bench/bridge_calls.c, a C loop): Unix socket -> bridge -> WebSocket ->
    cqhttp-sim connect (answers get_status from its data table) -> back.
    Reference: the same client against a trivial Unix-socket server that
    answers every line at once (bridge-calls serve).
(b) Events handled per second from one Universal WebSocket connection: N
    private messages written as fast as cqhttp-sim connect sends them (its
    stdin), every call answered, timed until N ".handle_quick_operation"
    calls are logged (the example bot makes send_msg and then the quick
    operation for each message). Printed with the per-event cost and the
    bridge's worker threads.

With --cpu N the bridge (all its threads) is pinned to core N and the
simulator to the other cores; with --busy too, a nice-0 busy loop pinned to
core N competes with it, as on a busy host (issue 10).

Everything started here is stopped here, also on failure.
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))
from servers import free_port, start_bridge, stop_responder, wait_for  # noqa
sys.path.insert(0, HERE)
from table import row  # noqa

SID_CALLS = 10001000
SID_EVENTS = 20002000


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CQHTTP_")}
    env.update(extra)
    return env


class Procs:
    """Processes to stop (SIGTERM, then SIGKILL) whatever happens."""

    def __init__(self):
        self.procs = []

    def add(self, p):
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                stop_responder(p, timeout=10)


def read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def start_connect(procs, sim, port, d, name, *args, stdin=None):
    err = os.path.join(d, name + ".err")
    with open(err, "wb") as e:
        p = procs.add(subprocess.Popen(
            [sim, "connect", "--url", "ws://127.0.0.1:%d/ws/" % port] +
            list(args), stdin=stdin or subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=e,
            env=clean_env(CQHTTP_LOG_LEVEL="info")))

    def up():
        if p.poll() is not None:
            raise AssertionError("connect exited %r: %s"
                                 % (p.returncode, read(err)))
        return "connection: open" in read(err)
    wait_for(up, what="cqhttp-sim connect (%s) to open" % name)
    return p


def calls_figure(client, sock, seconds, window=1):
    r = subprocess.run([client, "client", sock, str(seconds), "get_status",
                        str(window)],
                       capture_output=True, text=True, timeout=seconds + 30)
    m = re.search(r"(\d+) calls in ([\d.]+) s: (\d+) calls/s, (\d+) not ok",
                  r.stdout)
    if m is None:
        raise AssertionError("bridge-calls: %r %r" % (r.stdout, r.stderr))
    return {"calls": int(m.group(1)), "rate": float(m.group(3)),
            "not_ok": int(m.group(4))}


def api_status(sock):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(sock)
        s.sendall(b'{"action":".bridge_status"}\n')
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            data += chunk
    return json.loads(data)["data"]


def private_event(i):
    return json.dumps({
        "time": 1700000000, "self_id": SID_EVENTS, "post_type": "message",
        "message_type": "private", "sub_type": "friend", "message_id": i,
        "user_id": 1000000 + i, "message": "bench %d" % i,
        "raw_message": "bench %d" % i, "font": 0,
        "sender": {"user_id": 1000000 + i, "nickname": "bench"}},
        separators=(",", ":")) + "\n"


def count_quick(path, state):
    """Counts quick-operation lines in the call log, reading only what was
    added since the last call."""
    with open(path, "rb") as f:
        f.seek(state["off"])
        data = state["rest"] + f.read()
        state["off"] = f.tell()
    cut = data.rfind(b"\n") + 1
    state["rest"] = data[cut:]
    state["n"] += data[:cut].count(b'"action":".handle_quick_operation"')
    return state["n"]


def events_figure(procs, sim, port, d, n):
    log = os.path.join(d, "events-calls.log")
    p = start_connect(procs, sim, port, d, "events", "--self-id",
                      str(SID_EVENTS), "--stdin-events", "--log", log,
                      stdin=subprocess.PIPE)
    payload = "".join(private_event(i) for i in range(n)).encode()

    def writer():
        try:
            p.stdin.write(payload)
            p.stdin.close()
        except OSError:
            pass
    state = {"off": 0, "rest": b"", "n": 0}
    t0 = time.monotonic()
    threading.Thread(target=writer, daemon=True).start()
    deadline = t0 + 300
    while count_quick(log, state) < n:
        if p.poll() is not None or time.monotonic() > deadline:
            raise AssertionError("%d of %d events handled; connect: %s"
                                 % (state["n"], n, read(os.path.join(
                                     d, "events.err"))[-1000:]))
        time.sleep(0.005)
    elapsed = time.monotonic() - t0
    stop_responder(p)
    return {"n": n, "elapsed": elapsed, "bytes": len(payload)}


def pin(procs, pid, cpu, busy):
    """Pins pid's threads to cpu, this script (and so the simulators it
    starts) to the other cores, and with busy a nice-0 loop to cpu."""
    subprocess.run(["taskset", "-a", "-pc", str(cpu), str(pid)], check=True,
                   stdout=subprocess.DEVNULL)
    others = set(range(os.cpu_count())) - {cpu}
    if others:
        os.sched_setaffinity(0, others)
    if busy:
        procs.add(subprocess.Popen(["taskset", "-c", str(cpu), "sh", "-c",
                                    "while :; do :; done"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", required=True)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--cpu", type=int, default=None,
                    help="pin the bridge to this core")
    ap.add_argument("--busy", action="store_true",
                    help="with --cpu: a busy loop pinned beside the bridge")
    ap.add_argument("--calls-only", action="store_true",
                    help="only (a), one at a time and 64 pipelined, as ROW "
                    "lines for bench/table.py (events: bench/events.py)")
    ap.add_argument("--threads", type=int, default=4,
                    help="the bridge's worker threads")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    subprocess.run(["make", "-C", build, "bench/bridge-calls"], check=True,
                   stdout=subprocess.DEVNULL)
    client = os.path.join(build, "bench/bridge-calls")
    sim = os.path.join(build, "src/sim/cqhttp-sim")
    bridge_exe = os.path.join(build, "src/bridge/cqhttp-bridge")
    d = tempfile.mkdtemp(prefix="cq-bench-bridge-")
    procs = Procs()
    try:
        port = free_port()
        sock = os.path.join(d, "api.sock")
        # Events over one Universal connection wait in the bridge while
        # the workers are busy (it keeps reading: answers come on the same
        # connection); room for all of them, so none is refused (1013).
        env = clean_env(CQHTTP_THREADS=str(args.threads),
                        CQHTTP_LOG_LEVEL="warn",
                        CQHTTP_WS_MAX_QUEUE=str(256 << 20))
        br = procs.add(start_bridge(bridge_exe, port, sock, env,
                                    os.path.join(d, "bridge.log")))
        if args.cpu is not None:
            pin(procs, br.pid, args.cpu, args.busy)
        start_connect(procs, sim, port, d, "calls", "--self-id",
                      str(SID_CALLS), "--log", "/dev/null")

        ref_sock = os.path.join(d, "ref.sock")
        ref = procs.add(subprocess.Popen([client, "serve", ref_sock],
                                         stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL))
        if ref.stdout.readline().strip() != b"ready":
            raise AssertionError("bridge-calls serve did not start")
        via_bridge = calls_figure(client, sock, args.seconds)
        reference = calls_figure(client, ref_sock, args.seconds)
        if args.calls_only:
            row("Unix socket -> bridge -> WS calls/s, one at a time",
                via_bridge["rate"], "calls/s", "trivial-sock", reference["rate"])
            piped = calls_figure(client, sock, args.seconds, 64)
            ref_piped = calls_figure(client, ref_sock, args.seconds, 64)
            row("Unix socket -> bridge -> WS calls/s, 64 pipelined",
                piped["rate"], "calls/s", "trivial-sock", ref_piped["rate"])
            return
        stop_responder(ref)

        ev = events_figure(procs, sim, port, d, args.events)
        st = api_status(sock)

        print("API round trips, one client, one call at a time (get_status, "
              "%.0f s each, %d cores):" % (args.seconds, os.cpu_count()))
        print("  socket -> bridge -> WebSocket -> cqhttp-sim connect: "
              "%8.0f calls/s  %6.1f us/call  (%d not ok)"
              % (via_bridge["rate"], 1e6 / via_bridge["rate"],
                 via_bridge["not_ok"]))
        print("  reference, trivial Unix-socket server:               "
              "%8.0f calls/s  %6.1f us/call"
              % (reference["rate"], 1e6 / reference["rate"]))
        print("  ratio bridge / reference: %.2f"
              % (via_bridge["rate"] / reference["rate"]))
        print("Events from one Universal connection (%d private messages, "
              "%d bytes; each answered with send_msg + quick operation%s):"
              % (ev["n"], ev["bytes"],
                 "" if args.cpu is None else "; bridge pinned to core %d%s"
                 % (args.cpu, ", a busy loop beside it" if args.busy
                    else "")))
        print("  %8.0f events/s  %6.1f us/event  (%.2f s; bridge worker "
              "threads: %d; the bridge counted %d events handled, %d calls "
              "answered)"
              % (ev["n"] / ev["elapsed"], ev["elapsed"] * 1e6 / ev["n"],
                 ev["elapsed"], args.threads, st["events_handled"],
                 st["calls_answered"]))
    finally:
        procs.stop_all()
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
