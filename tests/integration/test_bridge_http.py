"""The bridge's OneBot HTTP API (/api/<action>) and its /metrics, with curl
against a real cqhttp-bridge and "cqhttp-sim connect" playing the account:
every call that reaches the account is checked in the simulator's call log.
"""

import asyncio
import json
import subprocess

import websockets

from harness import check, eq, test
from test_sim_connect import Bridge, Sim

SID = 424242


def curl(url, *args):
    """curl ARGS URL; returns (HTTP status, body text)."""
    out = subprocess.run(
        ["curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}"]
        + list(args) + [url], stdout=subprocess.PIPE, check=True,
        timeout=15).stdout.decode()
    body, _, code = out.rpartition("\n")
    return int(code), body


def api(b, path, *args):
    code, body = curl("http://127.0.0.1:%d/api/%s" % (b.port, path), *args)
    return code, json.loads(body)


def metric(text, line_start):
    """The value of the sample line that starts with line_start."""
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.split()[-1])
    raise AssertionError("no %r in the scrape" % line_start)


SERVED_OK = 'cqhttp_api_calls_total{transport="served_http",outcome="ok"}'


@test
def bridge_http_api_calls(h):
    with Bridge(h) as b:
        s = Sim(h, "--url", b.url(), "--self-id", str(SID))
        try:
            s.wait_open()
            code, m0 = curl("http://127.0.0.1:%d/metrics" % b.port)
            eq(code, 200, "metrics status")
            check("# TYPE cqhttp_api_call_seconds histogram" in m0,
                  "a histogram in the scrape")
            # JSON body, the sole account.
            code, a = api(b, "send_private_msg", "-H",
                          "Content-Type: application/json", "-d",
                          '{"user_id": 5, "message": "hi"}')
            eq((code, a["status"], a["retcode"]), (200, "ok", 0), "JSON POST")
            check("message_id" in a["data"] and a["echo"] is None, repr(a))
            # GET with a query: strings typed by the action's table.
            code, a = api(b, "send_private_msg?user_id=6&message=hello%%20you"
                          "&echo=e1&self_id=%d" % SID)
            eq((code, a["status"], a["echo"]), (200, "ok", "e1"), "GET")
            # A form body, X-Self-ID, a trailing slash.
            code, a = api(b, "send_private_msg/", "-H",
                          "X-Self-ID: %d" % SID, "-d", "user_id=7&message=x+y")
            eq((code, a["status"]), (200, "ok"), "form POST")
            # The account's "no such action" is HTTP 404.
            code, a = api(b, "no_such_action")
            eq((code, a["retcode"]), (404, 1404), "unknown action")
            # An account not connected here: 503, retcode -1.
            code, a = api(b, "get_login_info", "-H", "X-Self-ID: 999")
            eq((code, a["retcode"], a["bridge"]), (503, -1, "no_connection"),
               "unknown account")
            code, a = api(b, "send_private_msg", "-H",
                          "Content-Type: application/json", "-d", "{not json")
            eq((code, a["retcode"]), (400, -1), "bad JSON body")
            code, a = api(b, "send_private_msg", "-H",
                          "Content-Type: text/plain", "-d", "x")
            eq(code, 406, "other Content-Type")
            code, _ = curl("http://127.0.0.1:%d/api/a%%20b" % b.port)
            eq(code, 404, "bad action name")
            code, m1 = curl("http://127.0.0.1:%d/metrics" % b.port)
            eq(metric(m1, SERVED_OK) - metric(m0, SERVED_OK), 3,
               "served ok calls counted")
            check(metric(m1, "cqhttp_bridge_connections_accepted_total") >
                  metric(m0, "cqhttp_bridge_connections_accepted_total"),
                  "connections counted")
        finally:
            eq(s.stop(), 0, "sim exit code")
        calls = s.calls()
        eq([c["action"] for c in calls],
           ["send_private_msg"] * 3 + ["no_such_action"], "calls logged")
        eq([c["params"] for c in calls[:3]],
           [{"user_id": 5, "message": "hi"},
            {"user_id": 6, "message": "hello you"},
            {"user_id": 7, "message": "x y"}], "params as the account got them")


@test
def bridge_http_api_token_and_metrics_guard(h):
    with Bridge(h, access_token="t") as b:
        s = Sim(h, "--url", b.url(), "--self-id", str(SID),
                "--access-token", "t")
        try:
            s.wait_open()
            code, a = api(b, "get_login_info")
            eq((code, a["retcode"]), (401, -1), "no token")
            code, _ = api(b, "get_login_info", "-H", "Authorization: Bearer u")
            eq(code, 403, "wrong token")
            code, a = api(b, "get_login_info", "-H", "Authorization: Token t")
            eq((code, a["data"]["user_id"]), (200, SID), "Token scheme")
            code, a = api(b, "get_login_info?access_token=t")
            eq(code, 200, "?access_token=")
            code, _ = curl("http://127.0.0.1:%d/metrics" % b.port)
            eq(code, 401, "metrics without the token")
            code, text = curl("http://127.0.0.1:%d/metrics" % b.port, "-H",
                              "Authorization: Bearer t")
            eq((code, metric(text, SERVED_OK)), (200, 2), "metrics with it")
        finally:
            eq(s.stop(), 0, "sim exit code")
        eq([c["action"] for c in s.calls()], ["get_login_info"] * 2,
           "only the authorized calls reached the account")


@test
def bridge_http_api_no_connection_and_timeout(h):
    """An account with only an Event connection: 503; one whose Universal
    connection never answers: 504 after api_timeout_ms."""
    with Bridge(h, api_timeout_ms=400) as b:
        async def run():
            ev = await websockets.connect(
                b.url("/ws/event/"), extra_headers={"X-Self-ID": "555"})
            mute = await websockets.connect(
                b.url(), extra_headers={"X-Self-ID": "556"})
            loop = asyncio.get_running_loop()
            r1 = await loop.run_in_executor(None, lambda: api(
                b, "get_login_info", "-H", "X-Self-ID: 555"))
            r2 = await loop.run_in_executor(None, lambda: api(
                b, "get_login_info?self_id=556"))
            got = json.loads(await asyncio.wait_for(mute.recv(), 5))
            await ev.close()
            await mute.close()
            return r1, r2, got
        (c1, a1), (c2, a2), got = asyncio.run(run())
        eq((c1, a1["retcode"], a1["bridge"]), (503, -1, "no_connection"),
           "no API connection")
        eq((c2, a2["retcode"], a2["bridge"]), (504, -1, "timeout"), "timeout")
        eq(got["action"], "get_login_info", "the call went out")
        code, text = curl("http://127.0.0.1:%d/metrics" % b.port)
        eq(metric(text, 'cqhttp_api_calls_total{transport="served_http",'
                        'outcome="timeout"}'), 1, "timeout counted")
