"""cqhttp-bridge: reverse WebSocket from OneBot, the API socket, the workers.

Each test starts its own bridge (a few ms) on a free loopback port with its
API socket in h.tmp, plays the OneBot implementation with websockets 10.4
(asyncio) or the raw client of wsraw.py, and stops the bridge with SIGTERM
at the end: exit code 0 and no sanitizer report in its log, or the test
fails. The compiled-in bot is handlers/example.c: a message gets a send_msg
call and then the quick operation {"reply": <message>, "at_sender": false}
as a ".handle_quick_operation" call.
"""

import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

import websockets
import websockets.exceptions

import wsraw
from harness import SANITIZER_MARKS, check, eq, free_port, program, test
from servers import unix_listening, wait_for

BRIDGE = "src/bridge/cqhttp-bridge"
PREFIX = "你好呀，下面一条是你刚刚发的："
SID = 10001000          # the account most tests use
SID_B = 20002000        # a second account


# --------------------------------------------------------------------------
# The bridge process

class Bridge:
    """One cqhttp-bridge; use as a context manager so it always stops."""

    def __init__(self, h, *args):
        self.dir = tempfile.mkdtemp(prefix="cq-bridge-", dir=h.tmp)
        self.port = free_port()
        self.sock = os.path.join(self.dir, "api.sock")
        self.log_path = os.path.join(self.dir, "bridge.log")
        # A harness wrapper may run the bridge in another mode
        # (test_bridge_inline.py).
        self.args = list(getattr(h, "bridge_args", ())) + list(args)
        self.p = None
        self.rc = None

    def __enter__(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("CQHTTP_")}
        cmd = [program(BRIDGE), "--listen", "127.0.0.1:%d" % self.port,
               "--bridge-socket", self.sock, "--log-level", "debug"]
        with open(self.log_path, "ab") as log:
            self.p = subprocess.Popen(cmd + self.args, env=env, stdout=log,
                                      stderr=log, stdin=subprocess.DEVNULL)

        def up():
            if self.p.poll() is not None:
                raise AssertionError("bridge exited with %r:\n%s"
                                     % (self.p.returncode, self.log()))
            if not unix_listening(self.sock):
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         timeout=1).close()
                return True
            except OSError:
                return False
        try:
            wait_for(up, what="cqhttp-bridge on port %d" % self.port)
        except BaseException:
            self.kill()
            raise
        return self

    def __exit__(self, et, ev, tb):
        problem = self.stop()
        if problem and et is None:
            raise AssertionError(problem)
        if et is not None:
            print("--- bridge log (tail) ---\n%s\n--- end ---%s" % (
                self.log()[-2500:], ("\n" + problem) if problem else ""))
        return False

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def kill(self):
        if self.p is not None and self.p.poll() is None:
            self.p.kill()
            self.p.wait()

    def check_alive(self, when):
        """Raises a clear error when the bridge died (a crash or a sanitizer
        report) rather than letting a client error stand for it."""
        try:
            rc = self.p.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return
        summary = [l for l in self.log().splitlines()
                   if "SUMMARY:" in l or "runtime error:" in l]
        raise AssertionError("the bridge died %s: exit %r %s"
                             % (when, rc, summary))

    def terminate(self):
        self.p.send_signal(signal.SIGTERM)

    def wait(self, timeout=15):
        try:
            self.rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.rc = "hung"
        return self.rc

    def stop(self):
        """SIGTERM (unless it already exited); returns what is wrong, or
        None when it exited 0 with a clean log."""
        if self.p is None:
            return None
        if self.p.poll() is None:
            self.terminate()
        rc = self.wait()
        log = self.log()
        marks = [m for m in SANITIZER_MARKS if m in log]
        if rc != 0 or marks:
            return "bridge teardown: exit %r, sanitizer marks %r\n%s" % (
                rc, marks, log[-3000:])
        return None

    def url(self, path="/ws"):
        return "ws://127.0.0.1:%d%s" % (self.port, path)


def run(coro):
    return asyncio.run(coro)


# --------------------------------------------------------------------------
# OneBot side (websockets) and the API socket

def private_msg(self_id=SID, user_id=12345, text="hello", mid=1):
    e = {"time": 1700000000, "post_type": "message",
         "message_type": "private", "sub_type": "friend", "message_id": mid,
         "user_id": user_id, "message": text, "raw_message": text,
         "font": 0, "sender": {"user_id": user_id, "nickname": "n"}}
    if self_id is not None:
        e["self_id"] = self_id
    return e


def group_msg(self_id=SID, group_id=777, user_id=12345, text="hi group"):
    return {"time": 1700000000, "self_id": self_id, "post_type": "message",
            "message_type": "group", "sub_type": "normal", "message_id": 5,
            "group_id": group_id, "user_id": user_id, "message": text,
            "raw_message": text, "font": 0, "sender": {"user_id": user_id}}


async def ws_connect(b, self_id=SID, role="Universal", path="/ws",
                     headers=None, **kw):
    hdrs = {"X-Self-ID": str(self_id)}
    if role is not None:
        hdrs["X-Client-Role"] = role
    hdrs.update(headers or {})
    kw.setdefault("ping_interval", None)
    kw.setdefault("open_timeout", 5)
    kw.setdefault("close_timeout", 2)
    try:
        return await websockets.connect(b.url(path), extra_headers=hdrs,
                                        **kw)
    except websockets.exceptions.InvalidStatusCode:
        raise
    except Exception:
        b.check_alive("during a WebSocket handshake")
        raise


async def recv_json(ws, timeout=3.0, what="a frame"):
    try:
        m = await asyncio.wait_for(ws.recv(), timeout)
    except asyncio.TimeoutError:
        raise AssertionError("no frame within %.1fs (%s)" % (timeout, what))
    check(isinstance(m, str), "text frame expected, got %r" % (m,))
    return json.loads(m)


async def answer(ws, call, data=None, **extra):
    frame = {"status": "ok", "retcode": 0, "data": data,
             "echo": call["echo"]}
    frame.update(extra)
    await ws.send(json.dumps(frame))


async def silent(ws, secs=0.3, what="connection"):
    try:
        m = await asyncio.wait_for(ws.recv(), secs)
    except asyncio.TimeoutError:
        return
    except websockets.exceptions.ConnectionClosed as e:
        raise AssertionError("%s: closed (%r) while it should stay quiet"
                             % (what, e.rcvd))
    raise AssertionError("%s: unexpected frame %r" % (what, m[:300]))


def closed_code(e):
    return e.rcvd.code if e.rcvd is not None else None


async def expect_close(ws, timeout=3.0):
    """Waits for the server's close; returns its code (None: no frame)."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except websockets.exceptions.ConnectionClosed as e:
        return closed_code(e)
    except asyncio.TimeoutError:
        raise AssertionError("connection not closed within %.1fs" % timeout)


async def expect_send_msg(ws, user_id=12345, what="send_msg", **want):
    call = await recv_json(ws, what=what)
    eq(call.get("action"), "send_msg", what + " action")
    p = call.get("params", {})
    eq(p.get("message"), want.get("message", PREFIX), what + " message")
    eq(p.get("user_id"), user_id, what + " user_id")
    check(isinstance(call.get("echo"), str) and
          call["echo"].startswith("cq:"), "echo cq:<n>: %r" % call)
    return call


async def expect_quick(ws, event, reply, what="quick operation"):
    call = await recv_json(ws, what=what)
    eq(call.get("action"), ".handle_quick_operation", what + " action")
    eq(call["params"].get("context"), event, what + " context")
    eq(call["params"].get("operation"), {"reply": reply, "at_sender": False},
       what + " operation")
    return call


async def handle_message(ws_in, ws_out, event, data={"message_id": 1}):
    """Sends a message event on ws_in, answers the two calls on ws_out."""
    await ws_in.send(json.dumps(event))
    c1 = await expect_send_msg(ws_out, event["user_id"])
    await answer(ws_out, c1, data)
    c2 = await expect_quick(ws_out, event, event["message"])
    await answer(ws_out, c2)


class Api:
    """A client of the API socket (one JSON object per line)."""

    def __init__(self, r, w):
        self.r, self.w = r, w

    @classmethod
    async def open(cls, b):
        r, w = await asyncio.open_unix_connection(b.sock)
        return cls(r, w)

    async def send(self, req):
        line = req if isinstance(req, (bytes, str)) else json.dumps(req)
        if isinstance(line, str):
            line = line.encode()
        self.w.write(line + b"\n")
        await self.w.drain()

    async def recv(self, timeout=3.0):
        try:
            line = await asyncio.wait_for(self.r.readline(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError("no API-socket answer within %.1fs"
                                 % timeout)
        check(line.endswith(b"\n"), "API socket closed: %r" % line)
        return json.loads(line)

    async def call(self, req, timeout=3.0):
        await self.send(req)
        return await self.recv(timeout)

    async def status(self):
        a = await self.call({"action": ".bridge_status", "id": "st"})
        eq(a.get("status"), "ok", ".bridge_status")
        return a["data"]

    async def close(self):
        self.w.close()
        try:
            await self.w.wait_closed()
        except OSError:
            pass


async def api_roundtrip(b, ws, self_id, what="round trip"):
    """A call through the API socket reaches ws and its answer comes back."""
    api = await Api.open(b)
    try:
        await api.send({"self_id": self_id, "action": "get_login_info",
                        "id": "rt"})
        call = await recv_json(ws, what=what)
        eq(call.get("action"), "get_login_info", what)
        await answer(ws, call, {"user_id": self_id})
        a = await api.recv()
        eq(a, {"status": "ok", "retcode": 0, "data": {"user_id": self_id},
               "id": "rt"}, what + " answer")
    finally:
        await api.close()


async def fresh_roundtrip(b, self_id, what="another connection"):
    """A new Universal connection for self_id works end to end: an event
    gets the bot's calls and an API-socket call gets its answer."""
    ws = await ws_connect(b, self_id)
    try:
        await handle_message(ws, ws, private_msg(self_id, text="still ok"))
        await api_roundtrip(b, ws, self_id, what)
    finally:
        await ws.close()


def with_bridge(h, body, *args):
    with Bridge(h, *args) as b:
        run(body(b))


# --------------------------------------------------------------------------
# 1. Handshake

def hs(b, path="/ws", method="GET", **headers):
    """Raw handshake with the default good headers; returns the status."""
    hdrs = {"X-Self-ID": str(SID), "X-Client-Role": "Universal",
            "Authorization": "Bearer t"}
    for k, v in headers.items():
        hdrs[k.replace("_", "-")] = v
    return wsraw.exchange(b.port, wsraw.request_bytes(b.port, path, method,
                                                      hdrs))


@test
def handshake_answers(h):
    with Bridge(h, "--access-token", "t") as b:
        st, hd, _ = hs(b)
        eq(st, 101, "good Universal request")
        eq(hd.get("sec-websocket-accept"), wsraw.KEY_ACCEPT, "accept key")
        eq(hd.get("upgrade", "").lower(), "websocket", "Upgrade header")
        key = base64.b64encode(os.urandom(16)).decode()
        st, hd, _ = hs(b, Sec_WebSocket_Key=key)
        eq((st, hd.get("sec-websocket-accept")), (101, wsraw.accept_for(key)),
           "accept key for a random key")

        for what, kw, want in [
                ("missing X-Self-ID", {"X_Self_ID": None}, 400),
                ("non-numeric X-Self-ID", {"X_Self_ID": "abc"}, 400),
                ("negative X-Self-ID", {"X_Self_ID": "-5"}, 400),
                ("X-Self-ID 0", {"X_Self_ID": "0"}, 400),
                ("X-Self-ID over int64", {"X_Self_ID": "9" * 20}, 400),
                ("unknown role", {"X_Client_Role": "Robot"}, 400),
                ("empty role", {"X_Client_Role": ""}, 400),
                ("no token", {"Authorization": None}, 401),
                ("wrong token", {"Authorization": "Bearer u"}, 403),
                ("Basic scheme", {"Authorization": "Basic dDp0"}, 403),
                ("no Upgrade", {"Upgrade": None}, 400),
                ("short key", {"Sec_WebSocket_Key": "abc"}, 400)]:
            st, hd, body = hs(b, **kw)
            eq(st, want, what)
            if want == 401:
                eq(hd.get("www-authenticate"), "Bearer", "401 challenge")
            check(hd.get("connection", "").lower() == "close",
                  "%s: Connection: close in %r" % (what, hd))

        for what, kw in [
                ("Connection token list",
                 {"Connection": "keep-alive, Upgrade"}),
                ("lower-case upgrade", {"Upgrade": "WebSocket",
                                        "Connection": "upgrade"}),
                ("spaces around X-Self-ID", {"X_Self_ID": "  10001000 "}),
                ("leading zeros", {"X_Self_ID": "0010001000"})]:
            eq(hs(b, **kw)[0], 101, what)
        st, hd, _ = hs(b, Sec_WebSocket_Version="8")
        eq(st, 426, "Sec-WebSocket-Version: 8")
        eq(hd.get("sec-websocket-version"), "13", "426 names version 13")
        http10 = wsraw.request_bytes(b.port, "/ws", headers={
            "X-Self-ID": "1", "Authorization": "Bearer t"}).replace(
                b"HTTP/1.1", b"HTTP/1.0", 1)
        eq(wsraw.exchange(b.port, http10)[0], 400, "HTTP/1.0")
        eq(wsraw.exchange(b.port, b"GET /ws HTTP/1.1\nHost: x\n\n")[0], 400,
           "bare LF line ends")
        eq(hs(b, path="/other")[0], 404, "other path")
        eq(hs(b, path="/ws/apix")[0], 404, "/ws/apix")
        st, hd, _ = hs(b, method="POST")
        eq(st, 405, "POST")
        eq(hd.get("allow"), "GET", "405 Allow")

        big = wsraw.request_bytes(b.port, "/ws", headers={
            "X-Self-ID": str(SID), "Authorization": "Bearer t",
            "X-Pad": "a" * 9000})
        eq(wsraw.exchange(b.port, big)[0], 431, "head over 8 KiB")
        # A head just under the cap is fine.
        pad = 8192 - len(wsraw.request_bytes(b.port, "/ws", headers={
            "X-Self-ID": str(SID), "Authorization": "Bearer t",
            "X-Pad": ""}))
        ok = wsraw.request_bytes(b.port, "/ws", headers={
            "X-Self-ID": str(SID), "Authorization": "Bearer t",
            "X-Pad": "a" * pad})
        eq(len(ok), 8192, "test head length")
        eq(wsraw.exchange(b.port, ok)[0], 101, "head of exactly 8192 bytes")

        async def clients():
            for what, path, hdrs in [
                    ("Bearer", "/ws", {"Authorization": "Bearer t"}),
                    ("Token", "/ws/", {"Authorization": "Token t"}),
                    ("token", "/ws/api", {"Authorization": "token t"}),
                    ("BEARER", "/ws/event/", {"Authorization": "BEARER t"}),
                    ("query", "/ws?access_token=t", {})]:
                try:
                    ws = await ws_connect(b, path=path, headers=hdrs)
                except websockets.exceptions.InvalidStatusCode as e:
                    raise AssertionError("%s: refused with %d"
                                         % (what, e.status_code))
                await ws.close()
            for what, hdrs, want in [
                    ("no token", {}, 401),
                    ("wrong token", {"Authorization": "Token x"}, 403),
                    ("wrong query", None, 403)]:
                try:
                    if hdrs is None:
                        ws = await ws_connect(b, path="/ws?access_token=x")
                    else:
                        ws = await ws_connect(b, headers=hdrs)
                    await ws.close()
                    raise AssertionError(what + ": accepted")
                except websockets.exceptions.InvalidStatusCode as e:
                    eq(e.status_code, want, what)
        run(clients())


@test
def handshake_role_from_path_and_header(h):
    async def body(b):
        api = await Api.open(b)
        a = await ws_connect(b, 1, role=None, path="/ws/api")
        e = await ws_connect(b, 1, role=None, path="/ws/event/")
        u = await ws_connect(b, 2, role=None, path="/ws/")
        # The header wins over the path, in any case.
        x = await ws_connect(b, 3, role="uNiVeRsAl", path="/ws/event")
        y = await ws_connect(b, 3, role="API", path="/ws")
        st = await api.status()
        accts = {acc["self_id"]: acc for acc in st["accounts"]}
        eq(accts.get(1), {"self_id": 1, "universal": False, "api": True,
                          "event": True, "pending": 0}, "account 1")
        eq(accts.get(2), {"self_id": 2, "universal": True, "api": False,
                          "event": False, "pending": 0}, "account 2")
        eq(accts.get(3), {"self_id": 3, "universal": True, "api": True,
                          "event": False, "pending": 0}, "account 3")
        for ws in (a, e, u, x, y):
            await ws.close()
        await api.close()
    with_bridge(h, body)


@test
def handshake_split_over_reads_and_timeout(h):
    with Bridge(h, "--handshake-timeout-ms", "400") as b:
        # A head that arrives in pieces is parsed as one.
        req = wsraw.request_bytes(b.port, "/ws", headers={
            "X-Self-ID": str(SID), "X-Client-Role": "Universal"})
        with socket.create_connection(("127.0.0.1", b.port), timeout=5) as s:
            for i in range(0, len(req), 37):
                s.sendall(req[i:i + 37])
                time.sleep(0.005)
            st, hd, _ = wsraw.read_head(s)
            eq(st, 101, "head sent in 37-byte pieces")
        # A head that never completes is answered 408 and closed after the
        # deadline.
        for what, data in [("partial head",
                            b"GET /ws HTTP/1.1\r\nHost: x\r\n"),
                           ("nothing sent", b"")]:
            with socket.create_connection(("127.0.0.1", b.port),
                                          timeout=5) as s:
                t0 = time.monotonic()
                s.sendall(data)
                st, _, _ = wsraw.read_head(s, 5)
                dt = time.monotonic() - t0
                eq(st, 408, what + ": answer")
                check(0.3 <= dt <= 2.0, "%s: answered after %.2fs, want ~0.4s"
                      % (what, dt))
                check(s.recv(4096) == b"", what + ": closed after the 408")


# --------------------------------------------------------------------------
# 2. and 3. Events and the bot's calls

@test
def universal_private_message(h):
    async def body(b):
        ws = await ws_connect(b)
        ev = private_msg(text="hello 世界")
        await ws.send(json.dumps(ev))
        c1 = await expect_send_msg(ws)
        eq(c1["params"].get("message_type"), "private", "message_type")
        await answer(ws, c1, {"message_id": 99})
        c2 = await expect_quick(ws, ev, "hello 世界")
        check(c2["echo"] != c1["echo"], "distinct echoes")
        await answer(ws, c2)
        await silent(ws, 0.4, "after both answers")
        # A group message: the call goes to the group.
        g = group_msg()
        await ws.send(json.dumps(g))
        c3 = await recv_json(ws)
        eq((c3["action"], c3["params"].get("message_type"),
            c3["params"].get("group_id")), ("send_msg", "group", 777),
           "group send_msg")
        await answer(ws, c3)
        await expect_quick(ws, g, "hi group")
        await ws.close()
    with_bridge(h, body)


@test
def split_api_and_event_connections(h):
    async def body(b):
        api = await ws_connect(b, role="API", path="/ws/api/")
        evc = await ws_connect(b, role="Event", path="/ws/event/")
        ev = private_msg(text="split")
        await handle_message(evc, api, ev)
        await silent(evc, 0.4, "Event connection")
        await silent(api, 0.1, "API connection")
        # group_increase: send_msg with auto_escape on the API connection.
        notice = {"time": 1, "self_id": SID, "post_type": "notice",
                  "notice_type": "group_increase", "sub_type": "approve",
                  "group_id": 777, "operator_id": 1, "user_id": 4242}
        await evc.send(json.dumps(notice))
        c = await recv_json(api, what="welcome")
        eq(c["action"], "send_msg", "welcome action")
        eq(c["params"].get("message"), "欢迎新人～", "welcome text")
        eq(c["params"].get("auto_escape"), True, "auto_escape")
        eq(c["params"].get("group_id"), 777, "welcome group")
        await answer(api, c)
        # A friend request: approve as the quick operation.
        req = {"time": 1, "self_id": SID, "post_type": "request",
               "request_type": "friend", "user_id": 55, "comment": "hi",
               "flag": "f1"}
        await evc.send(json.dumps(req))
        c = await recv_json(api, what="approve")
        eq(c["action"], ".handle_quick_operation", "approve action")
        eq(c["params"]["operation"], {"approve": True}, "approve")
        await answer(api, c)
        await silent(evc, 0.3, "Event connection")
        # An event sent on the API connection is not handled.
        await api.send(json.dumps(private_msg(text="wrong way")))
        await silent(api, 0.4, "API connection after an event on it")
        await api.close()
        await evc.close()
    with_bridge(h, body)


# --------------------------------------------------------------------------
# 4. Accounts kept apart

@test
def two_accounts_kept_apart(h):
    async def body(b):
        wa = await ws_connect(b, SID)
        wb = await ws_connect(b, SID_B)
        ev = private_msg(SID, text="from A")
        await handle_message(wa, wa, ev)
        await silent(wb, 0.3, "B while A handles its event")
        ev = group_msg(SID_B, text="from B")
        await wb.send(json.dumps(ev))
        c = await recv_json(wb, what="B's send_msg")
        eq(c["action"], "send_msg")
        await answer(wb, c)
        await expect_quick(wb, ev, "from B")
        await silent(wa, 0.3, "A while B handles its event")
        # The API socket with self_id B reaches only B, and A only A.
        await api_roundtrip(b, wb, SID_B, "API socket to B")
        await silent(wa, 0.2, "A during B's API call")
        await api_roundtrip(b, wa, SID, "API socket to A")
        await silent(wb, 0.2, "B during A's API call")
        await wa.close()
        await wb.close()
    with_bridge(h, body)


async def event_on_a(b, ev, what):
    """Sends ev on A's connection while B is connected too: its calls must
    come back on A's connection, none on B's."""
    wa = await ws_connect(b, SID)
    wb = await ws_connect(b, SID_B)
    try:
        await wa.send(json.dumps(ev))
        got_a = got_b = None
        try:
            got_a = await recv_json(wa, 1.0, what)
        except AssertionError:
            pass
        try:
            got_b = await asyncio.wait_for(wb.recv(), 0.3 if got_a else 0.1)
        except asyncio.TimeoutError:
            pass
        if got_b is not None:
            raise AssertionError(
                "%s: the event came on A's connection (X-Self-ID %d) but its "
                "call went to B's connection: %s" % (what, SID, got_b))
        check(got_a is not None,
              "%s: the event came on A's connection (X-Self-ID %d) but no "
              "call came back on it" % (what, SID))
        await answer(wa, got_a)
        await answer(wa, await expect_quick(wa, ev, ev["message"], what))
        await silent(wb, 0.2, "B")
    finally:
        await wa.close()
        await wb.close()


@test
def event_without_self_id_calls_its_connection(h):
    """An event without self_id, on A's connection, with two accounts up:
    the calls belong to the connection's account (X-Self-ID).

    Fails as of this writing: the worker's calls are routed by the event
    body's self_id (cq__api_call_logged -> local_call in workers.c), not by
    the connection the event came on (cq__held/job self_id is only logged);
    with no self_id and two accounts the calls find no connection."""
    with_bridge(h, lambda b: event_on_a(b, private_msg(None, text="n"),
                                        "event without self_id"))


@test
def event_naming_another_account_stays_on_its_connection(h):
    """An event whose body says self_id B arrives on A's connection: its
    calls must not be sent on B's connection (the HTTP responder answers 400
    when X-Self-ID and self_id differ).

    Fails as of this writing for the same reason as the test above: the
    calls go to account B."""
    with_bridge(h, lambda b: event_on_a(b, private_msg(SID_B, text="b"),
                                        "event naming account B"))


# --------------------------------------------------------------------------
# 5. Answers matched by echo

@test
def answers_out_of_order_and_ignored_frames(h):
    async def body(b):
        ws = await ws_connect(b)
        api = await Api.open(b)
        await api.send({"self_id": SID, "action": "get_a",
                        "params": {"n": 1}, "id": 1})
        await api.send({"self_id": SID, "action": "get_b",
                        "params": {"n": 2}, "id": 2})
        c1 = await recv_json(ws, what="call 1")
        c2 = await recv_json(ws, what="call 2")
        eq((c1["action"], c1["params"]), ("get_a", {"n": 1}), "call 1")
        eq((c2["action"], c2["params"]), ("get_b", {"n": 2}), "call 2")
        check(c1["echo"] != c2["echo"], "distinct echoes")
        st0 = await api.status()
        eq(st0["pending"], 2, "two calls pending")
        # Not answers to anything: an unknown echo, no echo, another
        # client's echo shape, a JSON array, not JSON, a binary frame.
        for junk in [json.dumps({"status": "ok", "retcode": 0, "data": 1,
                                 "echo": "cq:999999"}),
                     json.dumps({"status": "ok", "retcode": 0, "data": 2}),
                     json.dumps({"status": "ok", "retcode": 0, "data": 3,
                                 "echo": {"seq": 1}}),
                     json.dumps({"status": "ok", "retcode": 0, "data": 4,
                                 "echo": c1["echo"] + "x"}),
                     "[1, 2, 3]", "not json", b"\x00\x01binary"]:
            await ws.send(junk)
        await answer(ws, c2, {"n": 2, "who": "second"}, wording="w2")
        a = await api.recv()
        eq(a, {"status": "ok", "retcode": 0, "data": {"n": 2, "who": "second"},
               "wording": "w2", "id": 2}, "first answer line")
        await ws.send(json.dumps({"status": "failed", "retcode": 1404,
                                  "data": None, "echo": c1["echo"],
                                  "id": "not-this"}))
        a = await api.recv()
        eq(a, {"status": "failed", "retcode": 1404, "data": None, "id": 1},
           "second answer line")
        # A second answer to the same echo is ignored.
        await answer(ws, c1, "again")
        st = await api.status()
        eq(st["pending"], 0, "nothing pending")
        eq(st["calls_answered"] - st0["calls_answered"], 2, "calls_answered")
        check(st["frames_ignored"] - st0["frames_ignored"] >= 6,
              "frames_ignored grew by %d, want >= 6"
              % (st["frames_ignored"] - st0["frames_ignored"]))
        # The connection stayed open and works.
        await api.close()
        await api_roundtrip(b, ws, SID, "after the ignored frames")
        # Ids of any JSON type come back as they were.
        api = await Api.open(b)
        for ident in ["x", {"k": [1, 2]}, None, 3.5, [1]]:
            await api.send({"self_id": SID, "action": "a", "id": ident})
            c = await recv_json(ws)
            await answer(ws, c, 7)
            eq((await api.recv()).get("id", "MISSING"), ident, "id type")
        await api.send({"self_id": SID, "action": "a"})
        c = await recv_json(ws)
        eq(c["params"], {}, "params default to {}")
        await answer(ws, c, 8)
        eq(await api.recv(), {"status": "ok", "retcode": 0, "data": 8},
           "no id in, none out")
        await api.close()
        await ws.close()
    with_bridge(h, body)


@test
def answers_and_requests_as_written(h):
    """Requests and answers in any JSON layout: the bridge copies plain ones
    as they are (scanned, not parsed) and takes the tree for the rest; what
    the client and the OneBot side read is the same JSON either way, one
    line per answer, the answer's own echo and id gone, the request's id
    in."""
    async def body(b):
        ws = await ws_connect(b)
        api = await Api.open(b)
        # Frames written by hand: key order, whitespace, newlines, escapes,
        # a top-level id, "echo" and "id" nested or as words, duplicates.
        frames = [
            '{"echo":E,"status":"ok","retcode":0,"data":1}',
            '{"status":"ok","retcode":0,"data":{"echo":1,"id":2},"echo":E}',
            '{ "status" : "ok" , "echo" : E , "retcode":0, "data" : [ 1 ] }',
            '{"id":"theirs","echo":E,"status":"ok","retcode":0,"data":null}',
            '{"status":"ok","echo":E,"id":5}',
            '{"echo":E}',
            '{\n  "status": "ok",\n  "echo": E,\n  "data": "a\\nb"\n}',
            '{"status":"ok","data":"\\u00e9\\"echo\\"","echo":E}',
            '{"status":"ok","echo":E,"echo":"cq:1","id":1,"id":2}',
        ]
        ids = [7, "s", -3, 123456789012345678901, "a\"b", {"k": [1]}, None,
               1.5, "\u00e9"]
        for i, f in enumerate(frames):
            req = {"self_id": SID, "action": "act_%d" % i,
                   "params": {"n": i, "s": "x y"}}
            if ids[i] is not None:
                req["id"] = ids[i]
            line = json.dumps(req, indent=None if i % 2 else 1)
            await api.send(line.replace("\n", " "))
            c = await recv_json(ws, what="call %d" % i)
            eq((c["action"], c["params"]), (req["action"], req["params"]),
               "call %d as sent" % i)
            text = f.replace("E", json.dumps(c["echo"]))
            await ws.send(text)
            want = {k: v for k, v in json.loads(text).items()
                    if k not in ("echo", "id")}
            if ids[i] is not None:
                want["id"] = ids[i]
            eq(await api.recv(), want, "answer %d" % i)
        # Requests the scan leaves to the tree, answered all the same.
        await api.send('{"action":"a\\u0062","id":[1],"self_id":%d}' % SID)
        c = await recv_json(ws, what="escaped action")
        eq((c["action"], c["params"]), ("ab", {}), "escaped action")
        await answer(ws, c, 2)
        eq(await api.recv(), {"status": "ok", "retcode": 0, "data": 2,
                              "id": [1]}, "escaped action's answer")
        a = await api.call('{"action":"a","self_id":"x","id":"q"}')
        bridge_err(a, "bad_request", "self_id a string")
        eq(a.get("id"), "q", "id kept on bad_request")
        await api.close()
        await ws.close()
    with_bridge(h, body)


# --------------------------------------------------------------------------
# 6. API socket errors and replacement

def bridge_err(a, why, what):
    eq((a.get("status"), a.get("retcode"), a.get("data"), a.get("bridge")),
       ("failed", -1, None, why), what)
    check(isinstance(a.get("msg"), str) and a["msg"], what + ": msg")


@test
def api_socket_errors(h):
    async def body(b):
        api = await Api.open(b)
        a = await api.call({"action": "get_status", "id": 1})
        bridge_err(a, "no_connection", "no account at all")
        eq(a.get("id"), 1, "id on failures")
        ws = await ws_connect(b, SID)
        a = await api.call({"self_id": 424242, "action": "x", "id": 2})
        bridge_err(a, "no_connection", "unknown self_id")
        # Without self_id: the only account.
        await api.send({"action": "get_status", "id": 3})
        c = await recv_json(ws, what="call without self_id")
        eq(c["action"], "get_status")
        await answer(ws, c, {"online": True})
        eq(await api.recv(), {"status": "ok", "retcode": 0,
                              "data": {"online": True}, "id": 3},
           "answer without self_id")
        # Bad requests; the client stays usable.
        bridge_err(await api.call("not json"), "bad_request", "non-JSON")
        bridge_err(await api.call("[1]"), "bad_request", "array")
        a = await api.call({"self_id": SID, "params": {}, "id": 4})
        bridge_err(a, "bad_request", "missing action")
        eq(a.get("id"), 4, "id kept on bad_request")
        bridge_err(await api.call({"action": "a b"}), "bad_request",
                   "action with a space")
        bridge_err(await api.call({"action": "x", "params": [1]}),
                   "bad_request", "params not an object")
        bridge_err(await api.call({"action": "x", "self_id": -1}),
                   "bad_request", "negative self_id")
        bridge_err(await api.call({"action": "x", "self_id": "abc"}),
                   "bad_request", "self_id not a number")
        # Two accounts: self_id is required again.
        wb = await ws_connect(b, SID_B)
        a = await api.call({"action": "get_status", "id": 5})
        bridge_err(a, "no_connection", "no self_id with two accounts")
        await silent(ws, 0.1, "A")
        await silent(wb, 0.1, "B")
        # --max-pending 1: a second call while one waits is "busy".
        await api.send({"self_id": SID, "action": "one", "id": 7})
        c = await recv_json(ws, what="the call that fills max_pending")
        bridge_err(await api.call({"self_id": SID, "action": "two",
                                   "id": 8}), "busy", "over --max-pending")
        await answer(ws, c, 1)
        eq((await api.recv()).get("id"), 7, "the waiting call's answer")
        await silent(ws, 0.1, "nothing sent for the busy call")
        # Timeout: the client never answers (--api-timeout-ms 500).
        t0 = time.monotonic()
        await api.send({"self_id": SID, "action": "slow", "id": 6})
        c = await recv_json(ws, what="the call that gets no answer")
        a = await api.recv(timeout=5)
        dt = time.monotonic() - t0
        bridge_err(a, "timeout", "no answer")
        eq(a.get("id"), 6, "timeout id")
        check(0.4 <= dt <= 2.0, "timed out after %.2fs, want ~0.5s" % dt)
        # A late answer is ignored and the connection goes on.
        await answer(ws, c, "late")
        await api_roundtrip(b, ws, SID, "after a late answer")
        await api.close()
        await ws.close()
        await wb.close()
    with_bridge(h, body, "--api-timeout-ms", "500", "--max-pending", "1")


@test
def api_client_gone_before_the_answer(h):
    """An API-socket client that disconnects with calls in flight: the late
    answers go nowhere, and the bridge and the connection go on."""
    async def body(b):
        ws = await ws_connect(b, SID)
        api = await Api.open(b)
        await api.send({"self_id": SID, "action": "first", "id": 1})
        await api.send({"self_id": SID, "action": "second", "id": 2})
        c1 = await recv_json(ws)
        c2 = await recv_json(ws)
        await api.close()
        await asyncio.sleep(0.2)
        await answer(ws, c2, "late 2")
        await answer(ws, c1, "late 1")
        await asyncio.sleep(0.1)
        await api_roundtrip(b, ws, SID, "after the client went away")
        api = await Api.open(b)
        st = await api.status()
        eq((st["api_clients"], st["pending"]), (1, 0), "clients, pending")
        await api.close()
        await ws.close()
    with_bridge(h, body)


@test
def replaced_connection(h):
    """A new connection for the same account and role replaces the old one:
    the old gets close 1000, a call pending on it fails at once with
    "closed", and the account goes on with the new connection.

    Fails as of this writing: cq__account_attach() (accounts.c) calls
    cq__account_detach() on the old connection, which frees the account
    when that was its only connection, then stores the new connection in
    the freed account (heap-use-after-free at accounts.c:90 under ASan; the
    plain build loses the account and crashes at exit)."""
    async def body(b):
        old = await ws_connect(b, SID)
        api = await Api.open(b)
        await api.send({"self_id": SID, "action": "pending_one", "id": 1})
        await recv_json(old, what="the call on the old connection")
        t0 = time.monotonic()
        new = await ws_connect(b, SID)
        a = await api.recv(timeout=5)
        dt = time.monotonic() - t0
        bridge_err(a, "closed", "call pending on the replaced connection")
        check(dt < 1.0, "failed after %.2fs, want at once (timeout is 10s)"
              % dt)
        eq(await expect_close(old), 1000, "close code of the old connection")
        st = await api.status()
        eq([x for x in st["accounts"] if x["self_id"] == SID],
           [{"self_id": SID, "universal": True, "api": False, "event": False,
             "pending": 0}],
           "the account after the replacement (new connection registered)")
        await api_roundtrip(b, new, SID, "call on the new connection")
        await handle_message(new, new, private_msg(text="after replace"))
        await api.close()
        await new.close()
    with_bridge(h, body, "--api-timeout-ms", "10000")


@test
def replaced_connection_keeps_the_other_role(h):
    """Replacing the Event connection of a split account leaves its API
    connection in place."""
    async def body(b):
        api_ws = await ws_connect(b, SID, role="API")
        ev1 = await ws_connect(b, SID, role="Event")
        ev2 = await ws_connect(b, SID, role="Event")
        eq(await expect_close(ev1), 1000, "old Event connection")
        await handle_message(ev2, api_ws, private_msg(text="via ev2"))
        await silent(ev2, 0.2, "new Event connection")
        await api_ws.close()
        await ev2.close()
    with_bridge(h, body)


# --------------------------------------------------------------------------
# 7. RFC 6455 behaviour

@test
def rfc6455_fragments_ping_glued_frames(h):
    async def body(b):
        ws = await ws_connect(b, SID)
        ev = private_msg(text="fragmented")
        text = json.dumps(ev)
        await ws.send([text[:10], text[10:25], text[25:]])
        await answer(ws, await expect_send_msg(ws, what="fragmented event"))
        await answer(ws, await expect_quick(ws, ev, "fragmented"))
        pong = await ws.ping(b"abc")
        await asyncio.wait_for(pong, 2)
        await ws.close()
        await fresh_roundtrip(b, SID_B, "after fragments and ping")
    with Bridge(h) as b:
        run(body(b))
        # Raw: the first frame glued to the handshake, a ping in the middle
        # of a fragmented message, and a ping answered with its payload.
        ev = private_msg(3, text="raw")
        text = json.dumps(ev)
        r = wsraw.RawWS.connect(b.port, 3, extra=wsraw.encode_frame(
            wsraw.TEXT, text))
        try:
            op, data = r.recv_data()
            eq(json.loads(data)["action"], "send_msg",
               "event glued to the handshake")
            c = json.loads(data)
            r.send_text(json.dumps({"status": "ok", "retcode": 0,
                                    "data": None, "echo": c["echo"]}))
            q = json.loads(r.recv_data()[1])
            eq(q["params"]["context"], ev, "glued event's quick operation")
            r.send_text(json.dumps({"status": "ok", "retcode": 0,
                                    "data": None, "echo": q["echo"]}))
            ev2 = private_msg(3, text="interleaved")
            t2 = json.dumps(ev2).encode()
            r.send(wsraw.TEXT, t2[:20], fin=False)
            r.send(wsraw.PING, b"mid")
            r.send(wsraw.CONT, t2[20:], fin=True)
            f = r.recv()
            eq((f[0], f[2]), (wsraw.PONG, b"mid"), "pong inside a message")
            c = json.loads(r.recv_data()[1])
            eq((c["action"], c["params"]["message"]), ("send_msg", PREFIX),
               "event around a ping")
            r.send_text(json.dumps({"status": "ok", "retcode": 0,
                                    "data": None, "echo": c["echo"]}))
            q = json.loads(r.recv_data()[1])
            eq(q["params"]["operation"]["reply"], "interleaved",
               "message reassembled around the ping")
            r.send_text(json.dumps({"status": "ok", "retcode": 0,
                                    "data": None, "echo": q["echo"]}))
            r.send(wsraw.CLOSE, b"\x03\xe8bye")
            eq(r.wait_close(), 1000, "close echoed")
        finally:
            r.close()


@test
def rfc6455_protocol_errors(h):
    with Bridge(h, "--ws-max-message", "2048") as b:
        for what, frames, want in [
                ("invalid UTF-8 text", [wsraw.encode_frame(
                    wsraw.TEXT, b'{"a":"\xff\xfe"}')], 1007),
                ("unmasked frame", [wsraw.encode_frame(
                    wsraw.TEXT, b'{"a":1}', mask=False)], 1002),
                ("continuation without a start", [wsraw.encode_frame(
                    wsraw.CONT, b"x")], 1002),
                ("reserved opcode", [wsraw.encode_frame(0x3, b"")], 1002),
                ("RSV1 without an extension", [wsraw.encode_frame(
                    wsraw.TEXT, b"{}", rsv=4)], 1002),
                ("invalid UTF-8 across fragments", [
                    wsraw.encode_frame(wsraw.TEXT, b'"\xe4\xbd', fin=False),
                    wsraw.encode_frame(wsraw.CONT, b'x"')], 1007),
                # Errors wslay's frame layer finds (WSLAY_ERR_PROTO): the
                # stream writes the 1002 close itself (RFC 6455 7.1.7).
                ("fragmented ping", [wsraw.encode_frame(
                    wsraw.PING, b"", fin=False)], 1002),
                ("ping of 126 bytes", [wsraw.encode_frame(
                    wsraw.PING, b"p" * 126)], 1002)]:
            r = wsraw.RawWS.connect(b.port, 5)
            try:
                for f in frames:
                    r.sock.sendall(f)
                got = r.wait_close()
                if isinstance(want, tuple):
                    check(got in want, "%s: close %r, want one of %r"
                          % (what, got, want))
                else:
                    eq(got, want, what)
                check(got == "eof" or r.eof_within(2.0),
                      what + ": TCP closed afterwards")
            finally:
                r.close()

        async def body():
            ws = await ws_connect(b, 6, max_size=None)
            await ws.send(json.dumps(private_msg(6, text="x" * 4000)))
            eq(await expect_close(ws), 1009, "message over --ws-max-message")
            # Just under the limit is handled.
            ws = await ws_connect(b, 6)
            ev = private_msg(6, text="y" * 800)
            check(len(json.dumps(ev).encode()) <= 2048, "test event size")
            await handle_message(ws, ws, ev)
            await ws.close()
            await fresh_roundtrip(b, SID_B, "after the protocol errors")
        run(body())


@test
def oversize_close_reaches_a_client_still_sending(h):
    """A message far over --ws-max-message (1 MiB against 2048 bytes, or
    fragments that add up past it) while the client is still sending it:
    the client must still read close 1009. Closing the socket with unread
    input makes the kernel send RST, which destroys the close frame in the
    client's receive buffer.

    Fails as of this writing for the fragmented case: after queueing the
    close, pump() (conn.c) sees wslay want neither read nor write and
    close_after_flush() closes the socket at once, with the client's
    remaining frames unread (no lingering close / wait for the client's
    Close), so the client's next write gets a reset and the 1009 is lost."""
    with Bridge(h, "--ws-max-message", "2048") as b:
        async def body():
            for what, frames in [
                    ("1 MiB message", "x" * (1 << 20)),
                    ("fragments adding up past the limit",
                     ["y" * 1000] * 1000)]:
                ws = await ws_connect(b, 6, max_size=None)
                try:
                    await ws.send(frames)
                except websockets.exceptions.ConnectionClosed as e:
                    code = closed_code(e)
                else:
                    code = await expect_close(ws)
                eq(code, 1009, "%s: close code seen by the client (None: "
                   "the connection was reset before the close frame was "
                   "read)" % what)
            await fresh_roundtrip(b, SID_B, "after the oversize messages")
        run(body())


@test
def abrupt_disconnect_fails_pending_call(h):
    with Bridge(h, "--api-timeout-ms", "10000") as b:
        async def body():
            api = await Api.open(b)
            r = wsraw.RawWS.connect(b.port, SID)
            await api.send({"self_id": SID, "action": "pending", "id": 9})
            op, data = await asyncio.get_running_loop().run_in_executor(
                None, r.recv_data)
            eq(json.loads(data)["action"], "pending", "call on the raw client")
            t0 = time.monotonic()
            r.close()
            a = await api.recv(timeout=5)
            dt = time.monotonic() - t0
            bridge_err(a, "closed", "call pending on a dropped connection")
            eq(a.get("id"), 9, "id")
            check(dt < 1.0, "failed after %.2fs, want at once" % dt)
            st = await api.status()
            eq(st["accounts"], [], "no account left")
            eq(st["connections"], 0, "no connection left")
            await api.close()
            await fresh_roundtrip(b, SID, "after the drop")
        run(body())


# --------------------------------------------------------------------------
# 8. Back-pressure

async def flood(b, n, ws_in, ws_out, budget):
    """Sends n message events on ws_in at once and answers the calls on
    ws_out slowly; returns the messages of the send_msg calls seen and of
    the quick operations, in order."""
    for i in range(n):
        await ws_in.send(json.dumps(private_msg(text="m%d" % i, mid=i)))
    sends, quicks = [], []
    end = time.monotonic() + budget
    while len(quicks) < n and time.monotonic() < end:
        # Calls come every ~10 ms while it works: 1.5 s of silence is a stall.
        try:
            c = json.loads(await asyncio.wait_for(
                ws_out.recv(), max(0.01, min(1.5, end - time.monotonic()))))
        except asyncio.TimeoutError:
            break
        if "got no answer in time" in b.log():
            break  # a stall: no need to wait for the rest
        await asyncio.sleep(0.01)  # a slow implementation
        if c.get("action") == "send_msg":
            sends.append(c["params"]["message"])
        elif c.get("action") == ".handle_quick_operation":
            quicks.append(c["params"]["context"]["message"])
        await answer(ws_out, c)
    return sends, quicks


def check_flood(b, n, sends, quicks, st):
    want = ["m%d" % i for i in range(n)]
    timeouts = b.log().count("got no answer in time")
    if len(quicks) != n:
        raise AssertionError(
            "%d of %d events handled in time (%d send_msg calls seen); the "
            "bridge logged %d call timeouts; status: events_received=%d "
            "events_handled=%d calls_failed=%d"
            % (len(quicks), n, len(sends), timeouts, st["events_received"],
               st["events_handled"], st["calls_failed"]))
    eq(sends, [PREFIX] * n, "send_msg calls")
    eq(quicks, want, "events handled once each, in order")
    eq(timeouts, 0, "call timeouts in the log")


@test
def backpressure_split_connections(h):
    """--threads 1 (queue of 16): 50 events on the Event connection, calls
    answered slowly on the API connection; all handled, in order."""
    async def body(b):
        api_ws = await ws_connect(b, SID, role="API")
        ev_ws = await ws_connect(b, SID, role="Event")
        sends, quicks = await flood(b, 50, ev_ws, api_ws, 5)
        api = await Api.open(b)
        st = await api.status()
        await api.close()
        check_flood(b, 50, sends, quicks, st)
        eq(st["events_received"], 50, "events_received")
        await silent(ev_ws, 0.1, "Event connection")
        await api_ws.close()
        await ev_ws.close()
    with_bridge(h, body, "--threads", "1", "--api-timeout-ms", "1000")


@test
def backpressure_universal_connection(h):
    """The same over one Universal connection, as go-cqhttp connects: the
    answers to the bot's calls arrive on the connection whose reading was
    paused for lack of workers, so they must still be read.

    Fails as of this writing: offer_event() (conn.c) stops reading the
    whole connection when the worker queue is full, so the answer the busy
    worker waits for is never read and every call times out
    (api_timeout_ms each); a slow deadlock."""
    async def body(b):
        ws = await ws_connect(b, SID, close_timeout=0.5)
        sends, quicks = await flood(b, 50, ws, ws, 5)
        api = await Api.open(b)
        st = await api.status()
        await api.close()
        await ws.close()
        check_flood(b, 50, sends, quicks, st)
    with_bridge(h, body, "--threads", "1", "--api-timeout-ms", "1000")


# --------------------------------------------------------------------------
# 9. Keepalive

@test
def keepalive_ping_and_timeout(h):
    with Bridge(h, "--ws-ping-interval-ms", "300", "--ws-timeout-ms",
                "1000") as b:
        # A raw client that answers pings is pinged and stays open.
        r = wsraw.RawWS.connect(b.port, 7)
        try:
            pings = 0
            end = time.monotonic() + 1.6
            while time.monotonic() < end:
                try:
                    f = r.recv(max(0.01, end - time.monotonic()))
                except socket.timeout:
                    break
                check(f is not None, "closed although it answered pings")
                if f[0] == wsraw.PING:
                    pings += 1
                    r.send(wsraw.PONG, f[2])
            check(pings >= 2, "%d pings in 1.6s idle, want >= 2" % pings)
        finally:
            r.close()

        async def body():
            # websockets answers pings by itself: still open after 1.6 s.
            ws = await ws_connect(b, 8)
            await asyncio.sleep(1.6)
            check(ws.open, "websockets client closed while idle: %r"
                  % (ws.close_code,))
            await api_roundtrip(b, ws, 8, "after 1.6s idle")
            await ws.close()
            # A raw client that never reads nor answers: closed after ~1s.
            api = await Api.open(b)
            silent_client = wsraw.RawWS.connect(b.port, 9)
            t0 = time.monotonic()
            gone = None
            while time.monotonic() - t0 < 4:
                st = await api.status()
                if not any(a["self_id"] == 9 for a in st["accounts"]):
                    gone = time.monotonic() - t0
                    break
                await asyncio.sleep(0.05)
            check(gone is not None, "silent client still registered after 4s")
            check(0.9 <= gone <= 2.0, "silent client dropped after %.2fs, "
                  "want ~1.0-1.3s" % gone)
            check(silent_client.eof_within(1.0), "TCP connection closed")
            silent_client.close()
            await api.close()
        run(body())
        check("silent for" in b.log(), "the timeout is logged")


# --------------------------------------------------------------------------
# 10. Status

@test
def bridge_status_counters(h):
    counters = ("connections_accepted", "handshakes_rejected",
                "events_received", "events_handled", "calls_sent",
                "calls_answered", "calls_failed", "frames_ignored")

    def delta(st, st0):
        return {k: st[k] - st0[k] for k in counters}

    async def body(b):
        api = await Api.open(b)
        st0 = await api.status()
        # The start-up probes (a TCP connection to the port, one to the API
        # socket) may still be closing: wait for them to be gone.
        for _ in range(100):
            if (st0["connections"], st0["api_clients"]) == (0, 1):
                break
            await asyncio.sleep(0.02)
            st0 = await api.status()
        eq((st0["accounts"], st0["connections"], st0["api_clients"],
            st0["pending"]), ([], 0, 1, 0), "idle bridge")
        eq((st0["calls_sent"], st0["events_received"]), (0, 0), "idle counts")
        # One rejected handshake.
        eq(wsraw.exchange(b.port, wsraw.request_bytes(b.port, "/nope"))[0],
           404, "rejected handshake")
        u = await ws_connect(b, 1)
        a2 = await ws_connect(b, 2, role="API")
        e2 = await ws_connect(b, 2, role="Event")
        api2 = await Api.open(b)
        await handle_message(u, u, private_msg(1, text="count me"))
        await api2.send({"self_id": 2, "action": "hold", "id": "h"})
        await recv_json(a2, what="held call")
        await u.send("[]")
        await asyncio.sleep(0.1)
        st = await api.status()
        accts = sorted(st["accounts"], key=lambda x: x["self_id"])
        eq(accts, [{"self_id": 1, "universal": True, "api": False,
                    "event": False, "pending": 0},
                   {"self_id": 2, "universal": False, "api": True,
                    "event": True, "pending": 1}], "accounts")
        eq((st["connections"], st["api_clients"], st["pending"]), (3, 2, 1),
           "connections, api_clients, pending")
        eq(delta(st, st0), {"connections_accepted": 4,
                            "handshakes_rejected": 1, "events_received": 1,
                            "events_handled": 1, "calls_sent": 3,
                            "calls_answered": 2, "calls_failed": 0,
                            "frames_ignored": 1}, "counters")
        await e2.close()
        await a2.close()
        a = await api2.recv()
        bridge_err(a, "closed", "held call when its connection closed")
        await asyncio.sleep(0.1)
        st = await api.status()
        eq([x["self_id"] for x in st["accounts"]], [1], "accounts after close")
        eq((st["connections"], st["pending"], st["calls_failed"] -
            st0["calls_failed"]), (1, 0, 1),
           "connections, pending, calls_failed after close")
        await api2.close()
        await asyncio.sleep(0.1)
        eq((await api.status())["api_clients"], 1, "api_clients")
        await u.close()
        await api.close()
    with_bridge(h, body)


# --------------------------------------------------------------------------
# 11. SIGTERM

@test
def sigterm_waits_for_call_in_flight(h):
    with Bridge(h) as b:
        async def body():
            ws = await ws_connect(b, SID)
            evc = await ws_connect(b, SID_B, role="Event")
            api = await Api.open(b)
            await api.send({"self_id": SID, "action": "in_flight", "id": 11})
            c = await recv_json(ws, what="call in flight")
            t0 = time.monotonic()
            b.terminate()
            await asyncio.sleep(0.3)
            check(b.p.poll() is None, "the bridge exited with a call pending")
            await answer(ws, c, {"done": True})
            a = await api.recv(timeout=3)
            eq(a, {"status": "ok", "retcode": 0, "data": {"done": True},
                   "id": 11}, "the answer after SIGTERM")
            eq(await expect_close(ws, 3), 1001, "Universal close code")
            eq(await expect_close(evc, 3), 1001, "Event close code")
            rc = await asyncio.get_running_loop().run_in_executor(
                None, b.wait, 5)
            eq(rc, 0, "exit code")
            check(time.monotonic() - t0 < 3, "exited within 3s")
            await api.close()
        run(body())


@test
def sigterm_lets_a_handler_finish(h):
    """SIGTERM while a handler waits for its send_msg answer: the handler
    finishes (its quick operation still goes out), then close 1001, exit 0."""
    with Bridge(h) as b:
        async def body():
            ws = await ws_connect(b, SID)
            ev = private_msg(text="bye")
            await ws.send(json.dumps(ev))
            c = await expect_send_msg(ws)
            b.terminate()
            await asyncio.sleep(0.3)
            check(b.p.poll() is None, "exited while a handler ran")
            await answer(ws, c)
            await answer(ws, await expect_quick(ws, ev, "bye"))
            eq(await expect_close(ws, 3), 1001, "close code")
            rc = await asyncio.get_running_loop().run_in_executor(
                None, b.wait, 5)
            eq(rc, 0, "exit code")
        run(body())
