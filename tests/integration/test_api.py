"""API calls from handlers over HTTP, against a server written here.

The server is Python's http.server (HTTP/1.1, keep-alive), independent of
cqhttp-sim, so the libcurl client is checked against a second peer. Events
go through the real nginx + spawn-fcgi stack; the responder's API root points
at this server.
"""

import json
import time

from apiserver import ApiServer
from harness import at_exit, check, eq, fixture, free_port, test

TOKEN = "api-token-1"
TEST_FCGI = "tests/integration/cqhttp-fcgi-test"


_server = None


def server():
    global _server
    if _server is None:
        _server = ApiServer()
        at_exit(_server.stop)
    return _server


def api_stack(h, **extra):
    env = dict(api_root="http://127.0.0.1:%d/" % server().port,
               access_token=TOKEN, api_timeout_ms=800, threads=1)
    env.update(extra)
    threads = env.pop("threads")
    return h.stack(binary=TEST_FCGI, threads=threads, **env)


def call_through(h, action, params=None, **extra):
    """Posts a test_api event; returns the handler's view of the call."""
    s = api_stack(h, **extra)
    body = json.dumps({"post_type": "test_api", "self_id": 1,
                       "action": action, "params": params or {}}).encode()
    r = s.post(body)
    eq(r.status, 200, "test_api answer")
    return r.json()


@test
def example_bot_sends_prefix_and_still_replies(h):
    srv = server()
    srv.faults.clear()
    srv.take()
    s = api_stack(h)
    body = fixture("private.negative-id.json")
    r = s.post(body)
    eq(r.status, 200)
    eq(r.json(), {"reply": json.loads(body)["message"], "at_sender": False})
    calls = srv.take()
    eq(len(calls), 1, "one API call")
    c = calls[0]
    eq(c["action"], "send_msg")
    eq(c["auth"], "Bearer " + TOKEN)
    check(c["ctype"].startswith("application/json"), c["ctype"])
    eq(c["params"], {"message_type": "private", "user_id": 2871462309,
                     "message": "你好呀，下面一条是你刚刚发的："})


@test
def example_bot_welcomes_group_member(h):
    srv = server()
    srv.faults.clear()
    srv.take()
    r = api_stack(h).post(fixture("notice.group_increase.json"))
    eq(r.status, 204)
    calls = srv.take()
    eq([c["action"] for c in calls], ["send_msg"])
    eq(calls[0]["params"], {"message_type": "group", "group_id": 555666777,
                            "user_id": 4000000001, "message": "欢迎新人～",
                            "auto_escape": True})


@test
def ok_gives_data(h):
    server().faults.clear()
    r = call_through(h, "get_login_info")
    eq(r["code"], 0)
    eq(json.loads(r["data"]), {"user_id": 10001000, "nickname": "机器人"})


@test
def async_gives_null_data(h):
    server().faults["send_like"] = "async"
    r = call_through(h, "send_like", {"user_id": 1})
    eq(r["code"], 0)
    eq(r["data"], "null")
    eq(r["retcode"], 1)


@test
def failed_gives_retcode(h):
    srv = server()
    srv.faults["set_group_ban"] = "failed"
    r = call_through(h, "set_group_ban", {"group_id": 1, "user_id": 2})
    eq(r["error"], "the action failed (see retcode)")
    eq(r["retcode"], 100)
    check("群不存在" in r["detail"], r["detail"])
    eq(call_through(h, "get_login_info")["code"], 0, "next call")


@test
def http_errors_give_status(h):
    srv = server()
    for status in (401, 403, 404, 500, 502):
        srv.faults["get_status"] = "http:%d" % status
        r = call_through(h, "get_status")
        eq(r["error"], "the API answered with an HTTP error status")
        eq(r["status"], status)
    eq(call_through(h, "get_login_info")["code"], 0, "next call")


@test
def garbage_gives_bad_answer(h):
    server().faults["get_status"] = "garbage"
    r = call_through(h, "get_status")
    eq(r["error"], "the API answer is not a OneBot result")
    eq(call_through(h, "get_login_info")["code"], 0, "next call")


@test
def slow_server_times_out(h):
    server().faults["get_status"] = "slow"
    t0 = time.monotonic()
    r = call_through(h, "get_status")
    dt = time.monotonic() - t0
    eq(r["error"], "the API call timed out")
    check(dt < 1.4, "answered after the 800 ms limit, not the 1.5 s "
          "server delay (%.2fs)" % dt)
    server().faults.pop("get_status")
    eq(call_through(h, "get_login_info")["code"], 0, "next call")


@test
def closed_connection_is_network_error(h):
    srv = server()
    srv.faults["get_status"] = "close"
    eq(call_through(h, "get_login_info")["code"], 0, "a kept connection")
    srv.take()
    r = call_through(h, "get_status")
    eq(r["error"], "network error talking to the API")
    # libcurl resends a request once when a reused connection closes
    # without a byte (PITFALLS.md 5): at most twice on the wire, never more.
    n = len([c for c in srv.take() if c["action"] == "get_status"])
    check(1 <= n <= 2, "get_status reached the server %d times" % n)
    eq(call_through(h, "get_login_info")["code"], 0, "next call")


@test
def refused_connection(h):
    port = free_port()   # nothing listens there
    r = call_through(h, "get_status", api_root="http://127.0.0.1:%d" % port)
    eq(r["error"], "the API server refused the connection")


@test
def no_api_root_is_no_api(h):
    r = call_through(h, "get_status", api_root="")
    eq(r["error"], "no API available (set api_root, or connect the account "
                   "to the bridge)")


@test
def bad_action_and_params_refused(h):
    srv = server()
    srv.take()
    eq(call_through(h, "../etc")["error"], "invalid argument")
    r = call_through(h, "get_status", params=[1, 2])
    eq(r["error"], "invalid argument")
    eq(srv.take(), [], "nothing reached the server")


@test
def one_connection_for_consecutive_calls(h):
    """One responder thread reuses one keep-alive connection."""
    srv = server()
    srv.faults.clear()
    srv.take()
    s = api_stack(h, threads=1, log_level="warn")
    for i in range(8):
        eq(s.post(fixture("private.negative-id.json")).status, 200)
    ports = {c["port"] for c in srv.take()}
    eq(len(ports), 1, "client ports of 8 calls")


@test
def typed_wrappers_put_exact_params(h):
    srv = server()
    srv.faults.clear()
    srv.take()
    s = api_stack(h)
    body = json.dumps({"post_type": "test_wrappers", "self_id": 1,
                       "message_type": "group", "group_id": 77,
                       "user_id": 4000000001}).encode()
    r = s.post(body)
    eq(r.status, 200)
    eq(r.json(), {"nickname": "机器人", "code": 0})
    calls = [(c["action"], c["params"]) for c in srv.take()]
    msg = [{"type": "text", "data": {"text": "a&[b]"}},
           {"type": "face", "data": {"id": "178"}}]
    eq(calls, [
        ("send_private_msg", {"user_id": 4000000001, "message": msg}),
        ("set_group_ban", {"group_id": 5, "user_id": 4000000001}),
        ("set_friend_add_request", {"flag": "flag-1", "approve": True}),
        (".handle_quick_operation", {"context": {"post_type": "message"},
                                     "operation": {"reply": "hi"}}),
        ("send_msg", {"message_type": "group", "user_id": 4000000001,
                      "group_id": 77, "message": [
                          {"type": "at", "data": {"qq": "4000000001"}},
                          {"type": "text", "data": {"text": " a&[b]"}},
                          {"type": "face", "data": {"id": "178"}}]}),
        ("get_login_info", {}),
    ])
