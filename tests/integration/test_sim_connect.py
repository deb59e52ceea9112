"""cqhttp-sim connect: the OneBot side of a reverse WebSocket, against a real
cqhttp-bridge (the example bot of handlers/example.c answers a message with
send_msg and then the quick operation {"reply": <message>, "at_sender":
false}), through nginx, and against small servers here that look at what a
bridge cannot show: the handshake's headers, the masked frames, the order
of events, the answers to frames that are not calls, pings, over-size
messages and broken handshakes.

Every process started is stopped: the bridge with SIGTERM (exit 0, no
sanitizer report in its log), connect with --once or SIGTERM (its exit code
is checked, and its stderr must hold no sanitizer report).
"""

import asyncio
import base64
import hashlib
import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

import websockets

from harness import (check, clean_env, eq, no_sanitizer_report, program,
                     test)
from servers import free_port, start_bridge, stop_responder, wait_for

SIM = "src/sim/cqhttp-sim"
BRIDGE = "src/bridge/cqhttp-bridge"
PREFIX = "你好呀，下面一条是你刚刚发的："
SID = 10001000
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Bridge:
    """A cqhttp-bridge on a free port; a context manager that stops it and
    checks its exit code and log."""

    def __init__(self, h, **env):
        self.dir = tempfile.mkdtemp(prefix="cq-connect-", dir=h.tmp)
        self.port = free_port()
        self.sock = os.path.join(self.dir, "api.sock")
        self.log_path = os.path.join(self.dir, "bridge.log")
        self.env = clean_env(CQHTTP_LOG_LEVEL="debug",
                             **{"CQHTTP_" + k.upper(): str(v)
                                for k, v in env.items()})
        self.p = None

    def __enter__(self):
        self.p = start_bridge(program(BRIDGE), self.port, self.sock,
                              self.env, self.log_path)
        return self

    def __exit__(self, et, ev, tb):
        rc = stop_responder(self.p)
        log = self.log()
        if et is not None:
            print("--- bridge log (tail) ---\n%s\n--- end ---" % log[-2500:])
            return False
        eq(rc, 0, "bridge exit code")
        no_sanitizer_report(log, "cqhttp-bridge")
        return False

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def url(self, path="/ws/"):
        return "ws://127.0.0.1:%d%s" % (self.port, path)

    def api(self, req, timeout=5):
        """One request line on the API socket; returns the answer."""
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(timeout)
            s.connect(self.sock)
            s.sendall(json.dumps(req).encode() + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                check(chunk, "API socket closed: %r" % data)
                data += chunk
        return json.loads(data)


class Sim:
    """A running "cqhttp-sim connect" with its call log and stderr."""

    def __init__(self, h, *args, stdin=None, env=None):
        self.dir = tempfile.mkdtemp(prefix="cq-sim-connect-", dir=h.tmp)
        self.log_path = os.path.join(self.dir, "calls.log")
        self.err_path = os.path.join(self.dir, "stderr")
        self.args = list(args)
        with open(self.err_path, "wb") as err:
            self.p = subprocess.Popen(
                [program(SIM), "connect", "--log", self.log_path] + self.args,
                stdout=subprocess.DEVNULL, stderr=err,
                stdin=stdin if stdin is not None else subprocess.DEVNULL,
                env=env if env is not None else clean_env())

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def calls(self):
        try:
            with open(self.log_path, "rb") as f:
                return [json.loads(l) for l in f.read().decode().splitlines()]
        except FileNotFoundError:
            return []

    def wait_open(self, n=1):
        def up():
            if self.p.poll() is not None:
                raise AssertionError("connect exited %r: %s"
                                     % (self.p.returncode, self.stderr()))
            return self.stderr().count("connection: open") >= n
        wait_for(up, what="cqhttp-sim connect to open %d connection(s)" % n)

    def wait(self, timeout=20):
        """Waits for the exit; returns the code ("hung" after a kill)."""
        try:
            rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            rc = "hung"
        no_sanitizer_report(self.stderr(), "cqhttp-sim connect")
        return rc

    def stop(self):
        """SIGTERM; returns the exit code."""
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        return self.wait()


def run_once(h, *args, **kw):
    """connect --once ARGS to its end; returns the Sim (its rc in .rc)."""
    s = Sim(h, "--once", *args, **kw)
    s.rc = s.wait()
    return s


def check_message_calls(s, role, user_id=12345, text="hi", self_id=SID):
    """The example bot's two calls for one private message, in s's log."""
    calls = s.calls()
    eq([c["action"] for c in calls], ["send_msg", ".handle_quick_operation"],
       "actions logged (%s)" % s.stderr()[-500:])
    send, quick = calls
    for c in calls:
        eq(c["role"], role, "role")
        eq((c["status"], c["retcode"]), ("ok", 0), c["action"] + " answer")
        check(isinstance(c.get("echo"), str) and c["echo"].startswith("cq:"),
              "the bridge's echo: %r" % c)
    eq(send["params"]["message"], PREFIX, "send_msg message")
    eq(send["params"]["user_id"], user_id, "send_msg user_id")
    eq(quick["params"]["operation"], {"reply": text, "at_sender": False},
       "quick operation")
    eq(quick["params"]["context"]["user_id"], user_id, "context user_id")
    eq(quick["params"]["context"]["self_id"], self_id, "context self_id")
    eq(quick["params"]["context"]["message"], text, "context message")


# --------------------------------------------------------------------------
# Against cqhttp-bridge

@test
def connect_universal_once(h):
    with Bridge(h) as b:
        s = run_once(h, "--url", b.url(), "--private", "12345", "hi")
        eq(s.rc, 0, "exit code (%s)" % s.stderr()[-800:])
        check_message_calls(s, "Universal")
        check("account %d: Universal connection" % SID in b.log(),
              "the bridge saw the Universal connection")
        check("1 events sent" in s.stderr(), "stderr counts the events")


@test
def connect_split_once(h):
    with Bridge(h) as b:
        s = run_once(h, "--url", b.url(), "--split", "--private", "12345",
                     "hi")
        eq(s.rc, 0, "exit code (%s)" % s.stderr()[-800:])
        check_message_calls(s, "API")
        log = b.log()
        for role in ("API", "Event"):
            check("account %d: %s connection" % (SID, role) in log,
                  "the bridge saw the %s connection" % role)
        # URL + api/ and URL + event/, also without the trailing slash.
        s = run_once(h, "--url", b.url("/ws"), "--split", "--private", "5",
                     "again")
        eq(s.rc, 0, "exit code, URL without a trailing slash")
        check_message_calls(s, "API", user_id=5, text="again")


@test
def connect_answers_api_socket(h):
    """A call through the bridge's API socket is answered by connect with the
    data table of serve; the call is logged; SIGTERM closes with 1000."""
    with Bridge(h) as b:
        s = Sim(h, "--url", b.url(), "--self-id", "424242")
        try:
            s.wait_open()
            a = b.api({"action": "get_login_info"})
            eq(a, {"data": {"user_id": 424242, "nickname": "cqhttp-sim"},
                   "retcode": 0, "status": "ok"}, "get_login_info")
            a = b.api({"self_id": 424242, "action": "get_group_info",
                       "params": {"group_id": 777}, "id": 3})
            eq((a["status"], a["data"]["group_id"], a["id"]),
               ("ok", 777, 3), "get_group_info for group 777")
            a = b.api({"action": "no_such_action", "id": "x"})
            eq((a["status"], a["retcode"], a["data"]), ("failed", 1404, None),
               "unknown action")
            a = b.api({"action": "send_private_msg", "params": {}})
            eq((a["status"], a["retcode"]), ("failed", 100),
               "missing parameter")
            a = b.api({"action": "send_private_msg_async",
                       "params": {"user_id": 1, "message": "x"}})
            eq((a["status"], a["retcode"]), ("async", 1), "_async")
        finally:
            rc = s.stop()
        eq(rc, 0, "exit code after SIGTERM")
        calls = s.calls()
        eq([c["action"] for c in calls],
           ["get_login_info", "get_group_info", "no_such_action",
            "send_private_msg", "send_private_msg_async"], "calls logged")
        eq([(c["status"], c["retcode"]) for c in calls],
           [("ok", 0), ("ok", 0), ("failed", 1404), ("failed", 100),
            ("async", 1)], "answers logged")
        eq(calls[2]["error"], "unknown action no_such_action", "1404 error")
        eq(calls[1]["params"], {"group_id": 777}, "params logged")
        check("signal 15: closing" in s.stderr(), "SIGTERM said")
        wait_for(lambda: "account 424242: Universal connection from" in
                 b.log() and " closed" in b.log(),
                 what="the bridge to see the close")


@test
def connect_access_token(h):
    with Bridge(h, access_token="t") as b:
        s = run_once(h, "--url", b.url(), "--access-token", "u")
        eq(s.rc, 1, "wrong token: exit code")
        err = s.stderr()
        check("HTTP 403 Forbidden" in err, "the 403 is printed: %r" % err)
        check("access token wrong" in err, "the body's line is printed")
        s = run_once(h, "--url", b.url())
        eq(s.rc, 1, "no token: exit code")
        check("HTTP 401" in s.stderr(), "the 401 is printed: %r" % s.stderr())
        # From the environment, as the help recommends.
        s = run_once(h, "--url", b.url(), "--private", "12345", "hi",
                     env=clean_env(CQHTTP_ACCESS_TOKEN="t"))
        eq(s.rc, 0, "right token: exit code (%s)" % s.stderr()[-500:])
        check_message_calls(s, "Universal")
        eq(s.calls()[0]["auth"], "Token <redacted>", "auth logged, redacted")
        # A refusal with --reconnect-ms is retried, not fatal.
        s = Sim(h, "--url", b.url(), "--access-token", "u",
                "--reconnect-ms", "100")
        try:
            wait_for(lambda: s.stderr().count("HTTP 403") >= 3,
                     what="three refused attempts")
        finally:
            eq(s.stop(), 0, "exit code after SIGTERM while redialling")


@test
def quick_operation_failure_logged(h):
    """The quick operation is a call nobody waits for: the bridge itself
    logs its failure, reading the answer's status from the loop's scan."""
    with Bridge(h) as b:
        s = run_once(h, "--url", b.url(), "--private", "12345", "hi",
                     "--fault", ".handle_quick_operation=failed")
        eq(s.rc, 0, "exit code")
        wait_for(lambda: "API .handle_quick_operation failed: status "
                 "failed, retcode 100" in b.log(),
                 what="the failed quick operation in the bridge log")
        check("API send_msg failed" not in b.log(), "send_msg not failed")


@test
def connect_fault_failed(h):
    with Bridge(h) as b:
        s = run_once(h, "--url", b.url(), "--private", "12345", "hi",
                     "--fault", "send_msg=failed")
        eq(s.rc, 0, "exit code")
        send, quick = s.calls()
        eq((send["action"], send["status"], send["retcode"], send["fault"]),
           ("send_msg", "failed", 100, "failed"), "send_msg logged")
        eq((quick["status"], quick.get("fault")), ("ok", None),
           "the quick operation is not faulted")
        wait_for(lambda: "API send_msg failed" in b.log() and
                 "retcode 100" in b.log(),
                 what="the failed call in the bridge log")
        # slow: the answer comes late but comes; the bridge waits for it.
        t0 = time.monotonic()
        s = run_once(h, "--url", b.url(), "--private", "12345", "hi",
                     "--fault", "send_msg=slow:400")
        eq(s.rc, 0, "slow: exit code")
        check(time.monotonic() - t0 >= 0.4, "slow took its time")
        check_message_calls(s, "Universal")
        eq(s.calls()[0]["fault"], "slow", "slow logged")
        # close: the connection is dropped without an answer; exit 1.
        s = run_once(h, "--url", b.url(), "--private", "12345", "hi",
                     "--fault", "send_msg=close")
        eq(s.rc, 1, "close: exit code")
        eq([(c["action"], c["status"], c.get("fault")) for c in s.calls()],
           [("send_msg", None, "close")], "close logged")
        wait_for(lambda: "without a close frame" in b.log(),
                 what="the bridge to see the dropped connection")
        # partial: a truncated answer frame reaches the bridge, then the
        # drop; garbage: a frame that is not JSON, and the call times out
        # in the bridge (not awaited here: --once ends first).
        for fault in ("partial", "garbage"):
            before = b.log().count("text message that is not a JSON object")
            s = run_once(h, "--url", b.url(), "--private", "12345", "hi",
                         "--fault", "send_msg=" + fault)
            eq(s.rc, 1 if fault == "partial" else 0, fault + ": exit code")
            eq([(c["action"], c["status"], c.get("fault"))
                for c in s.calls()][:1], [("send_msg", None, fault)],
               fault + " logged")
            wait_for(lambda: b.log().count(
                "text message that is not a JSON object") > before,
                what="the bridge to ignore the %s frame" % fault)


@test
def connect_stdin_file_and_reconnect(h):
    """Events from a regular file on stdin (read without polling) and
    from --event-file; a connect started before the bridge dials until
    the bridge is there, and again after it restarted."""
    d = tempfile.mkdtemp(prefix="cq-connect-in-", dir=h.tmp)
    lines = []
    for i in range(20):
        lines.append(json.dumps({
            "time": 1, "self_id": SID, "post_type": "message",
            "message_type": "private", "sub_type": "friend",
            "message_id": i, "user_id": 1000 + i, "message": "m%d" % i,
            "raw_message": "m%d" % i, "font": 0}))
    stdin_path = os.path.join(d, "events.jsonl")
    with open(stdin_path, "w") as f:
        f.write("\n".join(lines[:19]) + "\nnot json\n\n")
    event_path = os.path.join(d, "event.json")
    with open(event_path, "w") as f:
        f.write(lines[19])
    port = free_port()
    with open(stdin_path, "rb") as stdin:
        s = Sim(h, "--url", "ws://127.0.0.1:%d/ws/" % port, "--once",
                "--reconnect-ms", "100", "--event-file", event_path,
                "--stdin-events", stdin=stdin)
    try:
        wait_for(lambda: "cannot connect" in s.stderr(),
                 what="a refused dial")
        b = Bridge(h)
        b.port = port
        with b:
            eq(s.wait(), 0, "exit code (%s)" % s.stderr()[-800:])
    finally:
        if s.p.poll() is None:
            s.stop()
    calls = s.calls()
    quick = [c for c in calls if c["action"] == ".handle_quick_operation"]
    eq(sorted(c["params"]["context"]["user_id"] for c in quick),
       list(range(1000, 1020)), "every event handled")
    check("stdin line 20 is not a JSON object: skipped" in s.stderr(),
          "the bad line is named")
    check("20 events sent" in s.stderr(), "20 events counted")

    # Redial after the bridge went away, until a new one is there.
    port = free_port()
    b = Bridge(h)
    b.port = port
    with b:
        s = Sim(h, "--url", b.url(), "--reconnect-ms", "100")
        s.wait_open()
    try:
        wait_for(lambda: "dialling again" in s.stderr(), what="a redial")
        b = Bridge(h)
        b.port = port
        with b:
            s.wait_open(2)
            a = b.api({"action": "get_status"})
            eq(a["status"], "ok", "a call after the redial")
    finally:
        eq(s.stop(), 0, "exit code")


@test
def connect_through_nginx(h):
    st = h.stack(bridge=True)
    url = "ws://127.0.0.1:%d/ws/" % st.port
    s = run_once(h, "--url", url, "--self-id", "30003000", "--private",
                 "12345", "hi")
    eq(s.rc, 0, "Universal through nginx: exit code (%s)"
       % s.stderr()[-800:])
    check_message_calls(s, "Universal", self_id=30003000)
    s = run_once(h, "--url", url, "--self-id", "30003001", "--split",
                 "--private", "12345", "hi")
    eq(s.rc, 0, "split through nginx: exit code (%s)" % s.stderr()[-800:])
    check_message_calls(s, "API", self_id=30003001)


@test
def connect_usage(h):
    for args, what in [
            (["--fault", "http:500"], "http:STATUS"),
            (["--url", "wss://127.0.0.1/ws/"], "wss"),
            (["--url", "http://127.0.0.1/ws/"], "http URL"),
            (["--url", "ws://127.0.0.1:0/ws/"], "port 0"),
            (["--private", "12345"], "--private without TEXT"),
            (["--private", "abc", "x"], "--private with a bad user"),
            (["--quiet-ms", "0"], "--quiet-ms 0"),
            (["--bogus"], "unknown option")]:
        p = subprocess.run([program(SIM), "connect"] + args,
                           capture_output=True, timeout=10, env=clean_env())
        no_sanitizer_report(p.stderr.decode("utf-8", "replace"), what)
        eq(p.returncode, 2, what + ": exit code")
        check(b"Try " in p.stderr, what + ": hint printed")
    p = subprocess.run([program(SIM), "connect", "--help"],
                       capture_output=True, timeout=10, env=clean_env())
    eq(p.returncode, 0, "--help")
    check(b"--reconnect-ms" in p.stdout, "--help lists the options")


# --------------------------------------------------------------------------
# Against servers here

def run_async(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def start_sim(h, url, *args, stdin=None):
    """connect as an asyncio subprocess; returns (process, Sim-like dir)."""
    d = tempfile.mkdtemp(prefix="cq-sim-connect-", dir=h.tmp)
    log_path = os.path.join(d, "calls.log")
    err_path = os.path.join(d, "stderr")
    err = open(err_path, "wb")
    p = await asyncio.create_subprocess_exec(
        program(SIM), "connect", "--url", url, "--log", log_path, *args,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=err, env=clean_env())
    err.close()
    if stdin is not None:
        p.stdin.write(stdin)
        await p.stdin.drain()
        p.stdin.close()
    p.log_path, p.err_path = log_path, err_path
    return p


def read_text(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


async def finish_sim(p, timeout=10):
    try:
        rc = await asyncio.wait_for(p.wait(), timeout)
    except asyncio.TimeoutError:
        p.kill()
        await p.wait()
        rc = "hung"
    no_sanitizer_report(read_text(p.err_path), "cqhttp-sim connect")
    return rc


async def recv_json(ws, what, timeout=5):
    try:
        m = await asyncio.wait_for(ws.recv(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError("no frame within %ss (%s)" % (timeout, what))
    check(isinstance(m, str), "%s: a text frame, got %r" % (what, m))
    return json.loads(m)


@test
def connect_frames(h):
    """Headers, the lifecycle event first, the events in order, answers to
    every kind of frame, echo unchanged, pings, the heartbeat, and the
    close (1000) on SIGTERM."""
    seen = {}

    async def recv(ws, what):
        """The next frame that is not a heartbeat (those are kept)."""
        while True:
            m = await recv_json(ws, what)
            if m.get("meta_event_type") != "heartbeat":
                return m
            seen["heartbeat"] = m

    async def body():
        finished = asyncio.Event()

        async def handler(ws, path):
            seen["path"] = path
            seen["headers"] = ws.request_headers
            frames = [await recv(ws, "event %d" % i) for i in range(5)]
            seen["events"] = frames
            for i, call in enumerate([
                    {"action": "get_login_info", "echo": {"seq": 1}},
                    {"action": "get_status", "params": None, "echo": 5},
                    {"action": "get_status", "echo": None},
                    {"action": "get_status"},
                    {"action": "send_msg_async", "params": {"user_id": 1,
                                                            "message": "x"},
                     "echo": "a"},
                    {"action": "nope", "echo": [1]},
                    {"action": "get_status", "params": [1], "echo": 7},
                    {"params": {}, "echo": 8},
                    [1, 2],
                    "not json {"]):
                await ws.send(call if isinstance(call, str)
                              else json.dumps(call))
                seen.setdefault("answers", []).append(
                    await recv(ws, "answer %d" % i))
            pong = await ws.ping()
            await asyncio.wait_for(pong, 5)
            while "heartbeat" not in seen:
                m = await recv_json(ws, "a heartbeat")
                if m.get("meta_event_type") == "heartbeat":
                    seen["heartbeat"] = m
            seen["p"].send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(ws.wait_closed(), 5)
            finally:
                seen["close"] = ws.close_code
                finished.set()

        async with websockets.serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            d = tempfile.mkdtemp(prefix="cq-ev-", dir=h.tmp)
            ev = os.path.join(d, "ev.json")
            with open(ev, "w") as f:
                f.write('{"post_type":"notice","notice_type":"x",'
                        '"self_id":777,"time":2}\n')
            p = await start_sim(
                h, "ws://localhost:%d/onebot/ws/?a=b" % port,
                "--self-id", "777", "--access-token", "tk",
                "--private", "55", "first", "--event-file", ev,
                "--private", "56", "[CQ:face,id=1]&amp;", "--stdin-events",
                "--heartbeat-ms", "100",
                stdin=b'{"post_type":"request","n":1}\n[]\n')
            seen["p"] = p
            try:
                await asyncio.wait_for(finished.wait(), 20)
            finally:
                seen["rc"] = await finish_sim(p)
                seen["log"] = [json.loads(l) for l in
                               read_text(p.log_path).splitlines()]
    run_async(body())

    eq(seen["rc"], 0, "exit code after SIGTERM")
    eq(seen["close"], 1000, "close code")
    eq(seen["path"], "/onebot/ws/?a=b", "request target")
    hd = seen["headers"]
    for k, v in [("X-Self-ID", "777"), ("X-Client-Role", "Universal"),
                 ("Authorization", "Token tk"),
                 ("User-Agent", "CQHttp/4.15.0")]:
        eq(hd.get(k), v, k)
    ev = seen["events"]
    eq({k: ev[0][k] for k in ev[0] if k != "time"},
       {"self_id": 777, "post_type": "meta_event",
        "meta_event_type": "lifecycle", "sub_type": "connect"},
       "lifecycle first")
    eq((ev[1]["user_id"], ev[1]["message"], ev[1]["self_id"]),
       (55, "first", 777), "--private")
    eq(ev[2]["notice_type"], "x", "--event-file")
    eq(ev[3]["message"], "[CQ:face,id=1]&amp;", "CQ code unchanged")
    eq(ev[4], {"post_type": "request", "n": 1}, "stdin line")
    a = seen["answers"]
    eq((a[0]["status"], a[0]["data"]["user_id"], a[0]["echo"]),
       ("ok", 777, {"seq": 1}), "get_login_info, object echo")
    eq((a[1]["status"], a[1]["echo"]), ("ok", 5), "null params, int echo")
    check("echo" in a[2] and a[2]["echo"] is None, "null echo kept: %r" % a[2])
    check("echo" not in a[3], "no echo, none sent: %r" % a[3])
    eq((a[4]["status"], a[4]["retcode"], a[4]["echo"]), ("async", 1, "a"),
       "_async")
    eq((a[5]["status"], a[5]["retcode"], a[5]["data"], a[5]["echo"]),
       ("failed", 1404, None, [1]), "unknown action")
    eq((a[6]["retcode"], a[6]["echo"]), (1400, 7), "params not an object")
    eq((a[7]["retcode"], a[7]["echo"]), (1400, 8), "no action")
    eq(a[8]["retcode"], 1400, "an array frame")
    eq(a[9]["retcode"], 1400, "not JSON")
    eq(seen["heartbeat"]["interval"], 100, "heartbeat interval")
    eq(seen["heartbeat"]["self_id"], 777, "heartbeat self_id")
    log = seen["log"]
    eq(len(log), 10, "ten calls logged")
    eq([l["seq"] for l in log], list(range(1, 11)), "seq")
    eq(log[5]["error"], "unknown action nope", "1404 logged")
    check(all(l["role"] == "Universal" and l["auth"] == "Token <redacted>"
              for l in log), "role and auth logged")


@test
def connect_oversize_message(h):
    """A message over ws_max_message (1 MiB) closes with 1009; exit 1."""
    seen = {}

    async def body():
        async def handler(ws, path):
            await recv_json(ws, "lifecycle")
            try:
                # The simulator may close as soon as it reads the frame's
                # length, before this send has finished.
                await ws.send("x" * ((1 << 20) + 1))
                await asyncio.wait_for(ws.wait_closed(), 5)
            except websockets.exceptions.ConnectionClosed:
                pass
            finally:
                seen["close"] = ws.close_code

        async with websockets.serve(handler, "127.0.0.1", 0) as server:
            port = server.sockets[0].getsockname()[1]
            p = await start_sim(h, "ws://127.0.0.1:%d/ws/" % port)
            seen["rc"] = await finish_sim(p)
            seen["err"] = read_text(p.err_path)
    run_async(body())
    eq(seen["rc"], 1, "exit code")
    eq(seen["close"], 1009, "close code")
    check("closed by us with code 1009" in seen["err"], seen["err"])


def raw_server(answer_fn):
    """A one-connection TCP server in a thread; answer_fn(request bytes)
    returns the bytes to send back before closing. Returns (port, thread,
    the list the request lands in)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    got = []

    def serve():
        c, _ = srv.accept()
        with c:
            c.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(65536)
                if not chunk:
                    break
                data += chunk
            got.append(data)
            c.sendall(answer_fn(data))
            c.shutdown(socket.SHUT_WR)
            try:
                while c.recv(65536):
                    pass
            except OSError:
                pass
        srv.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return srv.getsockname()[1], t, got


def key_of(req):
    for line in req.decode("latin-1").split("\r\n"):
        k, _, v = line.partition(":")
        if k.lower() == "sec-websocket-key":
            return v.strip()
    return ""


@test
def connect_bad_handshakes(h):
    def good_accept(req):
        return base64.b64encode(hashlib.sha1(
            key_of(req).encode() + GUID).digest()).decode()

    for what, answer, want in [
            ("wrong Sec-WebSocket-Accept",
             lambda r: b"HTTP/1.1 101 Switching Protocols\r\n"
                       b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                       b"Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA="
                       b"\r\n\r\n",
             "wrong Sec-WebSocket-Accept"),
            ("101 without Upgrade",
             lambda r: ("HTTP/1.1 101 Switching Protocols\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Accept: %s"
                        "\r\n\r\n" % good_accept(r)).encode(),
             "Upgrade: websocket"),
            ("503 with a body",
             lambda r: b"HTTP/1.1 503 Service Unavailable\r\n"
                       b"Content-Length: 22\r\n\r\nbusy, come back later\n",
             "HTTP 503 Service Unavailable: busy, come back later"),
            ("404 without Content-Length",
             lambda r: b"HTTP/1.1 404 Not Found\r\n\r\nno such path\nmore",
             "HTTP 404 Not Found: no such path"),
            ("not HTTP", lambda r: b"SSH-2.0-OpenSSH\r\n\r\n",
             "not HTTP/1.x"),
            ("a head over 8 KiB",
             lambda r: b"HTTP/1.1 101 OK\r\nX: " + b"a" * 9000 + b"\r\n\r\n",
             "over 8192 bytes")]:
        port, t, got = raw_server(answer)
        p = subprocess.run([program(SIM), "connect", "--url",
                            "ws://127.0.0.1:%d/ws/" % port],
                           capture_output=True, timeout=15, env=clean_env())
        t.join(5)
        err = p.stderr.decode("utf-8", "replace")
        no_sanitizer_report(err, "cqhttp-sim connect")
        eq(p.returncode, 1, what + ": exit code")
        check(want in err, "%s: %r in %r" % (what, want, err))
        check(got and got[0].startswith(b"GET /ws/ HTTP/1.1\r\n"),
              what + ": request line")
        check(len(base64.b64decode(key_of(got[0]))) == 16,
              what + ": a 16-byte key")
