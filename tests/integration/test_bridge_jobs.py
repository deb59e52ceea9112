"""Periodic jobs and before_sending hooks in cqhttp-bridge, with the test
bridge (tests/integration/test_jobs.c): a job calls the API outside any
event through cq_ctx_for(), over the account's own WebSocket, which
"cqhttp-sim connect" answers and logs; SIGTERM stops it.
"""

import os
import subprocess
import tempfile
import time

from harness import (check, clean_env, eq, json_lines, no_sanitizer_report,
                     program, read_text, test)
from servers import free_port, start_bridge, stop_responder, wait_for

BRIDGE = "tests/integration/cqhttp-bridge-test"
SIM = "src/sim/cqhttp-sim"
SID = 424242


def run_bridge_with_sim(h, env, until, what):
    """Starts the test bridge with env and a connect for account SID, waits
    for until(calls), then stops the bridge with SIGTERM. Returns (exit
    code, seconds SIGTERM took, bridge log, calls)."""
    d = tempfile.mkdtemp(prefix="cq-jobs-", dir=h.tmp)
    port = free_port()
    log_path = os.path.join(d, "bridge.log")
    calls_path = os.path.join(d, "calls.log")
    b = start_bridge(program(BRIDGE), port, os.path.join(d, "api.sock"),
                     clean_env(CQHTTP_LOG_LEVEL="debug", **env,
                               **getattr(h, "bridge_env", {})), log_path)
    with open(os.path.join(d, "sim.err"), "wb") as err:
        s = subprocess.Popen(
            [program(SIM), "connect", "--log", calls_path, "--url",
             "ws://127.0.0.1:%d/ws/" % port, "--self-id", str(SID)],
            stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL,
            env=clean_env())
    try:
        wait_for(lambda: until(json_lines(calls_path)), timeout=8, what=what)
    finally:
        t0 = time.monotonic()
        rc = stop_responder(b)
        took = time.monotonic() - t0
        stop_responder(s, timeout=10)
    log = read_text(log_path)
    no_sanitizer_report(log, "the bridge's log")
    return rc, took, log, json_lines(calls_path)


def ticks(cs):
    return [c for c in cs if c["action"] == "send_private_msg"]


@test
def bridge_job_calls_through_account(h):
    """A 300 ms job calls send_private_msg through the account's connection
    at least twice, answered ok; SIGTERM stops the bridge promptly."""
    rc, took, log, cs = run_bridge_with_sim(
        h, {"CQ_TEST_JOB_MS": "300"}, lambda cs: len(ticks(cs)) >= 2,
        "two calls from the periodic job")
    eq(rc, 0, "bridge exit code")
    check(took < 8, "SIGTERM took %.1f s" % took)
    t = ticks(cs)
    check(len(t) >= 2, "calls logged: %r" % cs)
    eq(t[0]["params"], {"user_id": 12345, "message": "tick"}, "params")
    eq((t[0]["status"], t[0]["retcode"]), ("ok", 0), "answered ok")
    check("jobs still running" not in log, "the job stopped: " + log[-2000:])


@test
def bridge_job_before_sending(h):
    """With a before_sending hook, the job's message goes out changed."""
    rc, took, log, cs = run_bridge_with_sim(
        h, {"CQ_TEST_JOB_MS": "200", "CQ_TEST_HOOK": "1"},
        lambda cs: len(ticks(cs)) >= 1, "a call from the periodic job")
    eq(rc, 0, "bridge exit code")
    eq(ticks(cs)[0]["params"],
       {"user_id": 12345,
        "message": [{"type": "text", "data": {"text": "tick!"}}]},
       "the message the hook changed")
