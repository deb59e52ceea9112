"""The bot's API calls against cqhttp-sim serve, through nginx and
spawn-fcgi: the same checks as test_api.py makes against a Python server,
so the client is tested against two independent peers."""

import json
import os
import re
import signal
import subprocess
import tempfile
import time

from harness import check, eq, fixture, program, test, wait_for

TOKEN = "sim-token"
TEST_FCGI = "tests/integration/cqhttp-fcgi-test"


class Sim:
    """cqhttp-sim serve on a port of its choosing, with the faults given."""

    def __init__(self, h, *faults):
        d = tempfile.mkdtemp(prefix="cq-simapi-", dir=h.tmp)
        self.log = os.path.join(d, "calls.jsonl")
        self.err = os.path.join(d, "stderr")
        args = [program("src/sim/cqhttp-sim"), "serve", "--listen",
                "127.0.0.1:0", "--log", self.log, "--access-token", TOKEN]
        for f in faults:
            args += ["--fault", f]
        with open(self.err, "wb") as err:
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                         stderr=err,
                                         stdin=subprocess.DEVNULL)
        wait_for(lambda: "listening on" in open(self.err).read(),
                 what="cqhttp-sim serve")
        self.port = int(re.search(r"listening on 127\.0\.0\.1:(\d+)",
                                  open(self.err).read()).group(1))

    def calls(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        eq(self.proc.wait(timeout=10), 0, "cqhttp-sim serve exit code")


def stack(h, sim, **extra):
    env = dict(api_root="http://127.0.0.1:%d" % sim.port, access_token=TOKEN,
               api_timeout_ms=800)
    env.update(extra)
    return h.stack(binary=TEST_FCGI, threads=1, **env)


def call_through(s, action, params=None):
    body = json.dumps({"post_type": "test_api", "self_id": 1,
                       "action": action, "params": params or {}}).encode()
    r = s.post(body)
    eq(r.status, 200, "test_api answer")
    return r.json()


@test
def example_bot_calls_sim_with_bearer_and_replies(h):
    sim = Sim(h)
    try:
        s = stack(h, sim)
        body = fixture("private.negative-id.json")
        r = s.post(body)
        eq(r.status, 200)
        eq(r.json(), {"reply": json.loads(body)["message"],
                      "at_sender": False})
        r = s.post(fixture("notice.group_increase.json"))
        eq(r.status, 204)
        calls = [(c["action"], c["auth"], c["http_status"], c["params"])
                 for c in sim.calls()]
        eq(calls, [
            ("send_msg", "Bearer <redacted>", 200,
             {"message_type": "private", "user_id": 2871462309,
              "message": "你好呀，下面一条是你刚刚发的："}),
            ("send_msg", "Bearer <redacted>", 200,
             {"message_type": "group", "user_id": 4000000001,
              "group_id": 555666777, "message": "欢迎新人～",
              "auto_escape": True})])
    finally:
        sim.stop()


@test
def sim_faults_reach_the_handler(h):
    cases = [
        ("failed:102", "the action failed (see retcode)", "retcode", 102),
        ("http:500", "the API answered with an HTTP error status", "status",
         500),
        ("http:404", "the API answered with an HTTP error status", "status",
         404),
        ("garbage", "the API answer is not a OneBot result", None, None),
        ("nojson-status", "the API answer is not a OneBot result", None,
         None),
        ("slow:2000", "the API call timed out", None, None),
        ("close", "network error talking to the API", None, None),
        ("partial", "network error talking to the API", None, None),
    ]
    for fault, error, field, value in cases:
        sim = Sim(h, "get_status=" + fault)
        try:
            s = stack(h, sim)
            t0 = time.monotonic()
            r = call_through(s, "get_status")
            eq(r["error"], error, fault)
            if field is not None:
                eq(r[field], value, fault)
            check(time.monotonic() - t0 < 1.5, fault + ": bounded by the "
                  "800 ms api_timeout_ms")
            r = call_through(s, "get_login_info")
            eq(r["code"], 0, fault + ": the next call")
            eq(json.loads(r["data"])["user_id"], 10001000, fault)
        finally:
            sim.stop()


@test
def sim_sees_one_connection_for_consecutive_calls(h):
    sim = Sim(h)
    try:
        s = stack(h, sim)
        for _ in range(8):
            eq(s.post(fixture("private.negative-id.json")).status, 200)
        peers = {c["peer"] for c in sim.calls()}
        eq(len(sim.calls()), 8, "calls logged")
        eq(len(peers), 1, "client ports of 8 calls from one thread")
    finally:
        sim.stop()
