"""Forward WebSocket: cqhttp-bridge dials ws_forward URLs, as it must for
implementations that only serve WebSocket (go-cqhttp's ws server), here
"cqhttp-sim connect --forward HOST:PORT". The connection is a Universal one:
the example bot (handlers/example.c) answers a private message with send_msg
and then the quick operation, both over the forward connection, and both in
the simulator's call log. A simulator killed and started again is dialed
again within the backoff (1 s doubling); a wrong token is refused and the
failures are logged, at warn from the third in a row.

Every process started is stopped: the bridge and the simulator with
SIGTERM (exit 0, no sanitizer report), except the simulator killed on
purpose.
"""

import json
import os
import signal
import subprocess
import tempfile

from harness import SANITIZER_MARKS, check, eq, program, test
from servers import free_port, start_bridge, stop_responder, wait_for

SIM = "src/sim/cqhttp-sim"
BRIDGE = "src/bridge/cqhttp-bridge"
PREFIX = "你好呀，下面一条是你刚刚发的："
SID = 10001000


def clean_env(**extra):
    """The environment without CQHTTP_* settings, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CQHTTP_")}
    env.update(extra)
    return env


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def no_sanitizer_report(text, who):
    marks = [m for m in SANITIZER_MARKS if m in text]
    check(not marks, "%s: sanitizer report %s\n%s" % (who, marks, text[-3000:]))


class ForwardSim:
    """"cqhttp-sim connect --forward" on port, listening once started."""

    def __init__(self, h, port, token, *args):
        self.dir = tempfile.mkdtemp(prefix="cq-fwd-sim-", dir=h.tmp)
        self.log_path = os.path.join(self.dir, "calls.log")
        self.err_path = os.path.join(self.dir, "stderr")
        with open(self.err_path, "wb") as err:
            self.p = subprocess.Popen(
                [program(SIM), "connect", "--forward", "127.0.0.1:%d" % port,
                 "--access-token", token, "--log", self.log_path] + list(args),
                stdout=subprocess.DEVNULL, stderr=err,
                stdin=subprocess.DEVNULL, env=clean_env())
        wait_for(lambda: "listening for forward" in self.stderr() or
                 self.p.poll() is not None, what="the simulator to listen")
        check(self.p.poll() is None, "simulator exited: " + self.stderr())

    def stderr(self):
        return read(self.err_path)

    def calls(self):
        return [json.loads(l) for l in read(self.log_path).splitlines()]

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            rc = "hung"
        no_sanitizer_report(self.stderr(), "cqhttp-sim connect --forward")
        return rc


def bridge(h, port, token):
    """A bridge with ws_forward to 127.0.0.1:port; returns (process, log)."""
    d = tempfile.mkdtemp(prefix="cq-fwd-bridge-", dir=h.tmp)
    log = os.path.join(d, "bridge.log")
    env = clean_env(CQHTTP_LOG_LEVEL="debug", CQHTTP_ACCESS_TOKEN=token,
                    CQHTTP_WS_FORWARD="ws://127.0.0.1:%d/" % port)
    return start_bridge(program(BRIDGE), free_port(),
                        os.path.join(d, "api.sock"), env, log), log


def stop_bridge(p, log):
    eq(stop_responder(p), 0, "bridge exit code (%s)" % read(log)[-1500:])
    no_sanitizer_report(read(log), "cqhttp-bridge")


def check_calls(s, text):
    """The example bot's two calls for one private message, in s's log."""
    wait_for(lambda: len(s.calls()) >= 2, timeout=15,
             what="two calls in the simulator's log")
    calls = s.calls()
    eq([c["action"] for c in calls], ["send_msg", ".handle_quick_operation"],
       "actions logged (%s)" % s.stderr()[-500:])
    send, quick = calls
    for c in calls:
        eq(c["role"], "Universal", "role")
        eq((c["status"], c["retcode"]), ("ok", 0), c["action"] + " answer")
        check(str(c.get("echo")).startswith("cq:"), "the bridge's echo: %r" % c)
        check(str(c.get("auth")).startswith("Bearer "),
              "the bridge sent its token as Bearer: %r" % c.get("auth"))
    eq(send["params"]["message"], PREFIX, "send_msg message")
    eq(send["params"]["user_id"], 12345, "send_msg user_id")
    eq(quick["params"]["operation"], {"reply": text, "at_sender": False},
       "quick operation")
    eq(quick["params"]["context"]["self_id"], SID, "context self_id")


@test
def forward_ws_calls_and_reconnect(h):
    port, token = free_port(), "fwd-secret"
    s = ForwardSim(h, port, token, "--private", "12345", "hi")
    b, log = bridge(h, port, token)
    try:
        check_calls(s, "hi")
        check("account %d: Universal connection from 127.0.0.1:%d open"
              % (SID, port) in read(log), "the account learned: " + read(log))
        # Killed: no close frame; the bridge dials until it is back.
        s.p.kill()
        s.p.wait()
        wait_for(lambda: "closed; dialing again" in read(log),
                 what="the bridge to notice the loss")
        s = ForwardSim(h, port, token, "--private", "12345", "again")
        check_calls(s, "again")
        eq(read(log).count("ws_forward ws://127.0.0.1:%d/: open" % port), 2,
           "forward connections opened")
        eq(s.stop(), 0, "simulator exit code")
    finally:
        if s.p.poll() is None:
            s.p.kill()
        stop_bridge(b, log)


@test
def forward_ws_wrong_token(h):
    port = free_port()
    s = ForwardSim(h, port, "right", "--private", "12345", "hi")
    b, log = bridge(h, port, "wrong")
    try:
        # 1 s, then 2 s: the third failure in a row is a warning.
        wait_for(lambda: "(3 in a row)" in read(log), timeout=10,
                 what="three refused attempts")
        text = read(log)
        check("info: ws_forward ws://127.0.0.1:%d/: handshake refused: HTTP "
              "403" % port in text, "the refusal logged: " + text[-1500:])
        check("warn: ws_forward" in text and "(3 in a row)" in text,
              "the third failure is a warning: " + text[-1500:])
        check("upgrade refused with 403" in s.stderr(), s.stderr())
        eq(s.calls(), [], "no call over a refused connection")
    finally:
        stop_bridge(b, log)
        eq(s.stop(), 0, "simulator exit code")
