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

from harness import check, eq, test
from servers import free_port, wait_for


def _sim_connect():
    """test_sim_connect, whose Bridge, Sim and checks these tests use:
    imported when a test runs, once the harness has loaded every module
    (importing it while this module loads would register its tests
    twice)."""
    import test_sim_connect
    return test_sim_connect


def forward_sim(h, port, token, *args):
    """"cqhttp-sim connect --forward" on port, once it listens."""
    s = _sim_connect().Sim(h, "--forward", "127.0.0.1:%d" % port,
                           "--access-token", token, *args)
    wait_for(lambda: "listening for forward" in s.stderr() or
             s.p.poll() is not None, what="the simulator to listen")
    check(s.p.poll() is None, "simulator exited: " + s.stderr())
    return s


def bridge(h, port, token):
    """A bridge (a context manager) with ws_forward to 127.0.0.1:port."""
    return _sim_connect().Bridge(h, access_token=token,
                                 ws_forward="ws://127.0.0.1:%d/" % port)


def check_calls(s, text):
    """The example bot's two calls for one private message, in s's log,
    sent with the bridge's token as Bearer."""
    sc = _sim_connect()
    wait_for(lambda: len(s.calls()) >= 2, timeout=15,
             what="two calls in the simulator's log")
    sc.check_message_calls(s, "Universal", text=text)
    for c in s.calls():
        check(str(c.get("auth")).startswith("Bearer "),
              "the bridge sent its token as Bearer: %r" % c.get("auth"))


@test
def forward_ws_calls_and_reconnect(h):
    port, token = free_port(), "fwd-secret"
    s = forward_sim(h, port, token, "--private", "12345", "hi")
    try:
        with bridge(h, port, token) as b:
            check_calls(s, "hi")
            check("account %d: Universal connection from 127.0.0.1:%d open"
                  % (_sim_connect().SID, port) in b.log(),
                  "the account learned from the lifecycle event")
            # Killed: no close frame; the bridge dials until it is back.
            s.p.kill()
            s.p.wait()
            wait_for(lambda: "closed; dialing again" in b.log(),
                     what="the bridge to notice the loss")
            s = forward_sim(h, port, token, "--private", "12345", "again")
            check_calls(s, "again")
            eq(b.log().count("ws_forward ws://127.0.0.1:%d/: open" % port), 2,
               "forward connections opened")
            eq(s.stop(), 0, "simulator exit code")
    finally:
        if s.p.poll() is None:
            s.p.kill()


@test
def forward_ws_wrong_token(h):
    port = free_port()
    s = forward_sim(h, port, "right", "--private", "12345", "hi")
    try:
        with bridge(h, port, "wrong") as b:
            # 1 s, then 2 s: the third failure in a row is a warning.
            wait_for(lambda: "(3 in a row)" in b.log(), timeout=10,
                     what="three refused attempts")
            text = b.log()
            check("info: ws_forward ws://127.0.0.1:%d/: handshake refused: "
                  "HTTP 403" % port in text, "refusal logged: " + text[-1500:])
            check("warn: ws_forward" in text,
                  "the third failure is a warning: " + text[-1500:])
        check("upgrade refused with 403" in s.stderr(), s.stderr())
        eq(s.calls(), [], "no call over a refused connection")
    finally:
        eq(s.stop(), 0, "simulator exit code")
