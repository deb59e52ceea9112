"""The bridge behind the shipped nginx config, and the responder's choice of
transport: the bridge when it holds the account, else HTTP.

One nginx serves both paths here, as in a deployment: HTTP POST events on /
go to cqhttp-fcgi, WebSocket connections on /ws/ go to cqhttp-bridge, and
the responder finds the bridge through CQHTTP_BRIDGE_SOCKET.
"""

import asyncio
import concurrent.futures
import json
import signal
import time

import websockets

from apiserver import ApiServer
from harness import at_exit, check, eq, test

TEST_FCGI = "tests/integration/cqhttp-fcgi-test"
SELF = 10001000
_api = None


def api():
    global _api
    if _api is None:
        _api = ApiServer()
        at_exit(_api.stop)
    return _api


def stack(h, **extra):
    env = dict(api_root="http://127.0.0.1:%d" % api().port, threads=2,
               api_timeout_ms=3000)
    env.update(extra)
    threads = env.pop("threads")
    return h.stack(binary=TEST_FCGI, threads=threads, bridge=True, **env)


def private_event(self_id, text="hi"):
    return json.dumps({"post_type": "message", "message_type": "private",
                       "sub_type": "friend", "self_id": self_id,
                       "user_id": 12345, "message_id": -3, "message": text,
                       "time": 1}).encode()


async def connect(s, self_id=SELF, role="Universal"):
    return await websockets.connect(
        "ws://127.0.0.1:%d/ws/" % s.port,
        extra_headers={"X-Self-ID": str(self_id), "X-Client-Role": role})


async def wait_connected(s, self_id):
    """Waits until the bridge reports the account (the log line)."""
    for _ in range(100):
        with open(s.bridge_log) as f:
            if ("account %d: Universal connection" % self_id) in f.read():
                return
        await asyncio.sleep(0.02)
    raise AssertionError("the bridge never saw account %d" % self_id)


async def answer_calls(ws, n, data=None):
    """Answers n calls with ok; returns them."""
    calls = []
    for _ in range(n):
        m = json.loads(await asyncio.wait_for(ws.recv(), 10))
        calls.append(m)
        await ws.send(json.dumps({"status": "ok", "retcode": 0,
                                  "data": data or {"message_id": 7},
                                  "echo": m["echo"]}))
    return calls


@test
def websocket_through_nginx(h):
    s = stack(h)

    async def run():
        ws = await connect(s)
        await ws.send(private_event(SELF, "你好 [CQ:face,id=1]").decode())
        calls = await answer_calls(ws, 2)
        await ws.close()
        return calls
    calls = asyncio.run(run())
    eq(calls[0]["action"], "send_msg")
    eq(calls[0]["params"]["message"], "你好呀，下面一条是你刚刚发的：")
    eq(calls[0]["params"]["user_id"], 12345)
    eq(calls[1]["action"], ".handle_quick_operation")
    eq(calls[1]["params"]["operation"],
       {"reply": "你好 [CQ:face,id=1]", "at_sender": False})


@test
def http_event_calls_go_through_bridge_when_connected(h):
    s = stack(h)
    api().take()

    async def run():
        ws = await connect(s)
        await wait_connected(s, SELF)
        loop = asyncio.get_running_loop()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            post = loop.run_in_executor(pool, s.post, private_event(SELF))
            calls = await answer_calls(ws, 1)
            r = await post
        await ws.close()
        return calls, r
    calls, r = asyncio.run(run())
    eq(r.status, 200)
    eq(r.json(), {"reply": "hi", "at_sender": False})
    eq([c["action"] for c in calls], ["send_msg"])
    eq(api().take(), [], "nothing went over HTTP")


@test
def http_event_calls_go_over_http_when_not_connected(h):
    s = stack(h)
    api().take()
    r = s.post(private_event(20002000))
    eq(r.status, 200)
    calls = api().take()
    eq([c["action"] for c in calls], ["send_msg"])
    eq(calls[0]["params"]["user_id"], 12345)


@test
def bridge_result_reaches_handler(h):
    """A handler sees the data the WebSocket peer answered."""
    s = stack(h)
    body = json.dumps({"post_type": "test_api", "self_id": SELF,
                       "action": "get_login_info", "params": {}}).encode()

    async def run():
        ws = await connect(s)
        await wait_connected(s, SELF)
        loop = asyncio.get_running_loop()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            post = loop.run_in_executor(pool, s.post, body)
            await answer_calls(ws, 1, {"user_id": SELF, "nickname": "桥"})
            r = await post
        await ws.close()
        return r
    r = asyncio.run(run())
    eq(r.json()["code"], 0)
    eq(json.loads(r.json()["data"]), {"user_id": SELF, "nickname": "桥"})


@test
def killing_bridge_mid_call_fails_fast_then_http(h):
    # A stack of its own: its bridge is killed here.
    s = stack(h, log_level="info", api_timeout_ms=4000)
    api().take()
    body = json.dumps({"post_type": "test_api", "self_id": SELF,
                       "action": "get_status", "params": {}}).encode()

    async def run():
        ws = await connect(s)
        await wait_connected(s, SELF)
        loop = asyncio.get_running_loop()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            post = loop.run_in_executor(pool, s.post, body)
            m = json.loads(await asyncio.wait_for(ws.recv(), 10))
            eq(m["action"], "get_status")
            t0 = time.monotonic()
            s.bridge.send_signal(signal.SIGKILL)   # never answers
            s.bridge.wait()
            r = await post
            dt = time.monotonic() - t0
        return r, dt
    r, dt = asyncio.run(run())
    s.bridge = None   # Killed on purpose: not a teardown failure.
    eq(r.status, 200)
    eq(r.json()["error"], "network error talking to the API")
    check("bridge connection lost" in r.json()["detail"], r.json()["detail"])
    check(dt < 2.0, "failed %.2fs after the kill, not at the 4 s timeout"
          % dt)
    eq(api().take(), [], "the failed call was not resent over HTTP")
    r = s.post(body)
    eq(r.json()["code"], 0, "the next call falls back to HTTP")
    eq([c["action"] for c in api().take()], ["get_status"])
