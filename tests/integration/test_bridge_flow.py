"""cqhttp-bridge flow control (DESIGN.md section 7): a peer that sends but
never reads is held to its bound, and a burst of events on one Universal
connection whose handlers call the API over it is handled completely,
spilling to a temporary file, with refusals past that file counted.

Figures: the ping flood sends up to 200 MB of empty pings (or runs 15 s)
and the bridge's resident memory must stay within FLOOD_RSS_BOUND of its
idle size; the burst sends 50,000 events (25,000 under sanitizers, which
are slower; CQ_TEST_BURST overrides both) and has BURST_SECONDS to finish.
Each test prints its figures.
"""

import asyncio
import json
import os
import re
import socket
import subprocess
import time

import wsraw
from harness import BUILDDIR, check, eq, program, test
from servers import wait_for
from test_bridge import (PREFIX, SID, SID_B, Api, Bridge, fresh_roundtrip,
                         private_msg)

SIM = "src/sim/cqhttp-sim"
FLOOD_BYTES = 200 << 20
FLOOD_SECONDS = 15
FLOOD_RSS_BOUND = 64 << 20
BURST_PLAIN = 50000
# Sanitizers make the bridge about 2.5 times slower: half the burst keeps
# the test near 12 s there.
BURST_SANITIZED = 25000
BURST_SECONDS = 60


def sanitized():
    """Whether this build has sanitizers (slower, and ASan keeps freed
    memory in quarantine)."""
    with open(os.path.join(BUILDDIR, "Makefile")) as f:
        m = re.search(r"^CFLAGS = (.*)$", f.read(), re.M)
    return m is not None and "-fsanitize" in m.group(1)


def burst_size():
    n = os.environ.get("CQ_TEST_BURST")
    if n:
        return int(n)
    return BURST_SANITIZED if sanitized() else BURST_PLAIN


def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class AsanQuarantine:
    """Caps ASan's quarantine of freed memory for the bridge started inside
    (it would otherwise hold up to 256 MB of freed pongs)."""

    def __enter__(self):
        self.old = os.environ.get("ASAN_OPTIONS")
        os.environ["ASAN_OPTIONS"] = ((self.old + ":") if self.old else "") \
            + "quarantine_size_mb=8"

    def __exit__(self, *a):
        if self.old is None:
            del os.environ["ASAN_OPTIONS"]
        else:
            os.environ["ASAN_OPTIONS"] = self.old


def drain_to_eof(sock, timeout):
    """Reads until the peer ends the connection; returns the last bytes
    (None when it did not end in time)."""
    sock.settimeout(0.5)
    tail, end = b"", time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return tail
        if not chunk:
            return tail
        tail = (tail + chunk)[-4096:]
    return None


@test
def ping_flood_from_a_client_that_never_reads(h):
    """200 MB of empty pings, never reading the pongs: the outgoing queue
    (pongs included) stays within --ws-max-queue, reading stops, another
    client is served meanwhile, and the flooder is closed with 1008 after
    --ws-timeout-ms over its bound."""
    with AsanQuarantine(), Bridge(h, "--ws-ping-interval-ms", "300",
                                  "--ws-timeout-ms", "1000") as b:
        flooder = wsraw.RawWS.connect(b.port, SID)
        idle = rss(b.p.pid)
        chunk = wsraw.encode_frame(wsraw.PING, b"") * 10000
        sent, peak, served = 0, idle, False
        t0 = time.monotonic()
        flooder.sock.settimeout(0.2)
        while sent < FLOOD_BYTES and time.monotonic() - t0 < FLOOD_SECONDS:
            try:
                sent += flooder.sock.send(chunk)
            except socket.timeout:
                if not served:
                    # The bridge stopped reading the flooder: others go on.
                    asyncio.run(fresh_roundtrip(b, SID_B, "during the flood"))
                    served = True
            except OSError:
                break
            peak = max(peak, rss(b.p.pid))
            if "closing (1008)" in b.log():
                break
        dt = time.monotonic() - t0
        print("ping flood: %d MB sent in %.1fs; bridge RSS idle %.1f MB, "
              "peak %.1f MB" % (sent >> 20, dt, idle / 1e6, peak / 1e6))
        check(peak - idle < FLOOD_RSS_BOUND, "RSS grew by %.1f MB"
              % ((peak - idle) / 1e6))
        check(served, "the flooder was never held back")
        wait_for(lambda: "closing (1008)" in b.log(), timeout=5,
                 what="the flooder closed for not reading")
        tail = drain_to_eof(flooder.sock, 10)
        flooder.close()
        check(tail is not None, "the flooder's connection did not end")
        check(b"\x03\xf0not reading what is sent" in tail,
              "close frame 1008 at the end: %r" % tail[-40:])
        asyncio.run(fresh_roundtrip(b, SID_B, "after the flood"))


def run_sim(b, h, n, log):
    """Sends n private messages (and the lifecycle event) over one
    Universal connection with cqhttp-sim, which answers every call; returns
    the seconds it took."""
    events = os.path.join(b.dir, "events.jsonl")
    with open(events, "w") as f:
        for i in range(n):
            f.write(json.dumps(private_msg(text="m%d" % i, mid=i)) + "\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CQHTTP_")}
    t0 = time.monotonic()
    with open(events, "rb") as stdin, \
            open(os.path.join(b.dir, "sim.err"), "wb") as err:
        p = subprocess.Popen(
            [program(SIM), "connect", "--url", b.url("/ws"), "--self-id",
             str(SID), "--stdin-events", "--once", "--quiet-ms", "1500",
             "--log", log], stdin=stdin, stdout=err, stderr=err, env=env)
        try:
            rc = p.wait(timeout=BURST_SECONDS)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            rc = "hung"
    eq(rc, 0, "cqhttp-sim connect exit")
    return time.monotonic() - t0


async def settled(b, want=None):
    """The status once every event received is handled or refused (and
    want were received, unless None), or after 10 s."""
    api = await Api.open(b)
    try:
        end = time.monotonic() + 10
        while True:
            st = await api.status()
            done = st["events_handled"] + st["events_refused"]
            if (done == st["events_received"] and
                    want in (None, done)) or time.monotonic() > end:
                return st
            await asyncio.sleep(0.1)
    finally:
        await api.close()


def actions(log):
    n = {}
    with open(log) as f:
        for line in f:
            a = json.loads(line).get("action")
            n[a] = n.get(a, 0) + 1
    return n


@test
def burst_on_one_universal_connection(h):
    """50,000 events at once on a Universal connection whose handlers call
    send_msg and the quick operation over it: with 64 KiB of events in
    memory the rest spill to a file, and every one is handled."""
    n = burst_size()
    with Bridge(h, "--threads", "2", "--ws-max-queue", "65536",
                "--api-timeout-ms", "20000") as b:
        log = os.path.join(b.dir, "calls.jsonl")
        dt = run_sim(b, h, n, log)
        st = asyncio.run(settled(b, n + 1))
        calls = actions(log)
        print("burst: %d events in %.1fs; status %s" % (n, dt, {
            k: v for k, v in st.items() if k.startswith(("events", "queued",
                                                         "calls"))}))
        eq(st["events_received"], n + 1, "events_received (+lifecycle)")
        eq(st["events_handled"], n + 1, "events_handled")
        eq(st["events_refused"], 0, "events_refused")
        eq(calls.get("send_msg"), n, "send_msg calls the sim answered")
        eq(calls.get(".handle_quick_operation"), n, "quick operations")
        check("spill to a file" in b.log(), "the burst never spilled")
        eq(st["queued_file"], 0, "spill file emptied")


@test
def burst_past_the_spill_file_is_refused_and_counted(h):
    """The same with 64 KiB in memory and 64 KiB of file: past both,
    events are refused, counted in .bridge_status and logged in a line
    that gives their number; the rest are handled."""
    n = 3000
    with Bridge(h, "--threads", "1", "--ws-max-queue", "65536",
                "--ws-max-spill", "65536") as b:
        log = os.path.join(b.dir, "calls.jsonl")
        run_sim(b, h, n, log)
        st = asyncio.run(settled(b, n + 1))
        eq(st["events_received"], n + 1, "events_received")
        eq(st["events_handled"] + st["events_refused"], n + 1,
           "handled + refused")
        check(st["events_refused"] > 0, "nothing refused: %r" % st)
        logged = sum(int(m) for m in re.findall(r": (\d+) events refused",
                                                b.log()))
        eq(logged, st["events_refused"], "refusals in the log lines")
        eq(actions(log).get(".handle_quick_operation"),
           st["events_handled"] - 1, "quick operations")


@test
def events_held_at_close_are_still_handled(h):
    """A connection that sends 2,000 events and goes away at once (EOF, no
    close frame): the ones held are handled all the same (their calls find
    no connection)."""
    n = 2000
    with Bridge(h, "--threads", "1") as b:
        r = wsraw.RawWS.connect(b.port, SID)
        r.sock.sendall(b"".join(wsraw.encode_frame(wsraw.TEXT, json.dumps(
            private_msg(text="m%d" % i, mid=i))) for i in range(n)))
        # Gone without a close frame, but reading what the bridge sent: a
        # close() with the handlers' calls unread would reset the
        # connection, and the kernel would drop the events not read yet.
        r.sock.shutdown(socket.SHUT_WR)
        check(r.eof_within(10), "the bridge ends the connection at EOF")
        r.close()
        wait_for(lambda: "events held; they are still" in b.log(),
                 timeout=5, what="a log line for the held events")
        st = asyncio.run(settled(b))
        check(st["events_received"] > 100, "events read: %r" % st)
        eq(st["events_handled"], st["events_received"], "events_handled")
        eq(st["events_refused"], 0, "events_refused")


async def status_of(b, key):
    api = await Api.open(b)
    try:
        return (await api.status())[key]
    finally:
        await api.close()


@test
def frame_the_kernel_takes_in_part_arrives_whole_and_in_order(h):
    """A quick operation of about 9 MB to a client that does not read: the
    socket takes part of it, the rest waits in the output (0 < queued <
    frame), and a pong and the next event's call queued meanwhile go after
    it, never into its middle; reading then yields every frame whole."""
    text = "".join("%07d," % i for i in range(375000))  # 3 MB, no repeats
    with Bridge(h, "--ws-max-message", str(16 << 20), "--ws-max-queue",
                str(64 << 20)) as b:
        r = wsraw.RawWS.connect(b.port, SID)
        ev = private_msg(text=text, mid=1)
        r.send_text(json.dumps(ev))
        c = json.loads(r.recv_data(timeout=10)[1])
        eq(c["action"], "send_msg", "the handler's call")
        r.send_text(json.dumps({"status": "ok", "retcode": 0, "data": None,
                                "echo": c["echo"]}))
        # The quick operation carries the event and its reply: > 9 MB, more
        # than the kernel holds for a peer that does not read (tcp_wmem's 4
        # MB at most, and the peer's window).
        wait_for(lambda: asyncio.run(status_of(b, "queued_outgoing")) > 0,
                 timeout=10, what="part of the quick operation queued")
        queued = asyncio.run(status_of(b, "queued_outgoing"))
        print("frame of > %d bytes, %d of them queued" % (3 * len(text),
                                                          queued))
        check(queued < 3 * len(text), "the socket took none of the frame")
        r.send(wsraw.PING, b"after")
        r.send_text(json.dumps(private_msg(text="next", mid=2)))
        # The event read after the ping: the pong is queued behind the frame.
        wait_for(lambda: asyncio.run(status_of(b, "events_received")) == 2,
                 timeout=10, what="the next event read")
        op, data = r.recv_data(timeout=20)
        q = json.loads(data)
        eq((q["action"], q["params"]["operation"]["reply"]),
           (".handle_quick_operation", text), "the frame, whole")
        eq(q["params"]["context"], ev, "the event in the frame")
        f = r.recv(timeout=10)
        eq((f[0], f[2]), (wsraw.PONG, b"after"), "the pong, after the frame")
        c = json.loads(r.recv_data(timeout=10)[1])
        eq((c["action"], c["params"]["message"]), ("send_msg", PREFIX),
           "the next event's call, last")
        r.close()
