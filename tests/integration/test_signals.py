"""Operation: SIGTERM finishes work in flight, SIGHUP reopens the log file."""

import concurrent.futures
import json
import os
import signal
import socket
import tempfile
import time

from apiserver import ApiServer
from harness import check, eq, fixture, free_port, program, test, wait_for
from servers import (start_bridge, start_nginx, start_responder, stop_nginx,
                     stop_responder)

GOOD = fixture("private.negative-id.json")


def workdir(h):
    d = tempfile.mkdtemp(prefix="cq-sig-", dir=h.tmp)
    os.chmod(d, 0o755)
    return d


def read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


@test
def fcgi_sigterm_finishes_request_in_flight(h):
    srv = ApiServer()
    srv.faults["send_msg"] = "slow"   # answers after 1.5 s
    d = workdir(h)
    sock = os.path.join(d, "fcgi.sock")
    env = dict(os.environ, CQHTTP_API_ROOT="http://127.0.0.1:%d" % srv.port,
               CQHTTP_API_TIMEOUT_MS="5000", CQHTTP_THREADS="2")
    fcgi = start_responder(sock, program("src/fcgi/cqhttp-fcgi"), env,
                           os.path.join(d, "fcgi.log"))
    port = free_port()
    nginx = start_nginx(d, port, sock)
    try:
        import http.client

        def post():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("POST", "/", body=GOOD)
            r = c.getresponse()
            return r.status, r.read()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            fut = pool.submit(post)
            wait_for(lambda: srv.calls, what="the handler's API call")
            t0 = time.monotonic()
            fcgi.send_signal(signal.SIGTERM)
            status, body = fut.result(timeout=20)
        eq(status, 200, "the request in flight was answered")
        eq(json.loads(body)["at_sender"], False)
        eq(fcgi.wait(timeout=15), 0, "exit code after SIGTERM")
        dt = time.monotonic() - t0
        check(dt < 5, "exited %.1fs after SIGTERM" % dt)
        log = read(os.path.join(d, "fcgi.log"))
        check("finishing requests in flight" in log, log)
        check("ERROR: AddressSanitizer" not in log, log)
    finally:
        stop_responder(fcgi)
        stop_nginx(nginx)
        srv.stop()


@test
def fcgi_sighup_reopens_log_file(h):
    d = workdir(h)
    sock = os.path.join(d, "fcgi.sock")
    logf = os.path.join(d, "cqhttp.log")
    env = dict(os.environ, CQHTTP_LOG_FILE=logf)
    fcgi = start_responder(sock, program("src/fcgi/cqhttp-fcgi"), env,
                           os.path.join(d, "stderr.log"))
    port = free_port()
    nginx = start_nginx(d, port, sock)
    try:
        import http.client

        def bad_request():
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("GET", "/")
            eq(c.getresponse().status, 405)
            c.close()
        bad_request()
        wait_for(lambda: "405 from" in read(logf), what="the first log line")
        os.rename(logf, logf + ".1")          # what logrotate does
        fcgi.send_signal(signal.SIGHUP)
        wait_for(lambda: os.path.exists(logf), what="a new log file")
        bad_request()
        wait_for(lambda: "405 from" in read(logf), what="a line in it")
        check("SIGHUP: log file reopened" in read(logf), read(logf))
        eq(read(logf + ".1").count("405 from"), 1, "old file kept its line")
        eq(stop_responder(fcgi), 0)
    finally:
        stop_responder(fcgi)
        stop_nginx(nginx)


@test
def bridge_sighup_reopens_log_and_sigterm_exits_0(h):
    d = workdir(h)
    logf = os.path.join(d, "bridge.log")
    port = free_port()
    env = dict(os.environ, CQHTTP_LOG_FILE=logf)
    br = start_bridge(program("src/bridge/cqhttp-bridge"), port,
                      os.path.join(d, "api.sock"), env,
                      os.path.join(d, "stderr.log"))
    try:
        wait_for(lambda: "WebSocket on" in read(logf), what="start-up line")
        os.rename(logf, logf + ".1")
        br.send_signal(signal.SIGHUP)
        wait_for(lambda: os.path.exists(logf), what="a new log file")
        # A refused handshake writes a line into the new file.
        with socket.create_connection(("127.0.0.1", port), timeout=5) as c:
            c.sendall(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
            check(c.recv(100).startswith(b"HTTP/1.1 404"), "404 answer")
        wait_for(lambda: "upgrade refused with 404" in read(logf),
                 what="the refusal in the new file")
        eq(stop_responder(br), 0, "bridge exit code after SIGTERM")
        check("stopped" in read(logf), read(logf))
    finally:
        stop_responder(br)



def private_msg(self_id):
    return {"time": 1700000000, "self_id": self_id, "post_type": "message",
            "message_type": "private", "sub_type": "friend", "message_id": 1,
            "user_id": 12345, "message": "hello", "raw_message": "hello",
            "font": 0, "sender": {"user_id": 12345, "nickname": "n"}}


@test
def bridge_sigterm_is_bounded_with_handlers_waiting_on_calls(h):
    """Two handlers wait in cq_call for answers that never come. Account A's
    raw client reads the send_msg call, then neither answers nor reads the
    close frame. Account B is connected with the Event role only, so its
    handler's call goes over HTTP to an api_root that accepts and never
    answers (api_timeout_ms is 60 s). SIGTERM still ends the bridge after
    its 10 s drain and a 1 s grace: A's call fails, the workers still in
    curl are counted in one line and left behind, and the exit code is 0."""
    import wsraw

    d = workdir(h)
    logf = os.path.join(d, "bridge.log")
    errf = os.path.join(d, "stderr.log")
    port = free_port()
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)                      # accepted below, never answered
    env = dict(os.environ, CQHTTP_LOG_FILE=logf, CQHTTP_LOG_LEVEL="info",
               CQHTTP_API_TIMEOUT_MS="60000",
               CQHTTP_API_ROOT="http://127.0.0.1:%d" % hole.getsockname()[1])
    br = start_bridge(program("src/bridge/cqhttp-bridge"), port,
                      os.path.join(d, "api.sock"), env, errf)
    conns = []  # RawWS and socket objects, all with close()
    try:
        a = wsraw.RawWS.connect(port, 101)
        conns.append(a)
        b = wsraw.RawWS.connect(port, 202, role="Event")
        conns.append(b)
        a.send_text(json.dumps(private_msg(101)))
        eq(json.loads(a.recv_data()[1])["action"], "send_msg",
           "A's handler's call")
        # Let A's worker thread go to sleep: an event that comes while it is
        # still awake may join A's handler there as a fiber, and B's curl
        # would then hold A's handler too.
        time.sleep(0.3)
        b.send_text(json.dumps(private_msg(202)))
        hole.settimeout(5)
        conns.append(hole.accept()[0])  # B's handler waits in curl now
        t0 = time.monotonic()
        br.send_signal(signal.SIGTERM)
        rc = stop_responder(br, timeout=20)
        dt = time.monotonic() - t0
        eq(rc, 0, "exit code after SIGTERM")
        check(10 <= dt < 13, "exited %.1fs after SIGTERM, want 10 s drain "
              "+ 1 s grace" % dt)
        log = read(logf)
        check("bridge: closed: the connection carrying the call closed"
              in log, log)
        # A's quick operation, after send_msg failed, goes to the hole too.
        check("stopping: 2 workers still in a handler after 1000 ms; "
              "exiting without them" in log, log)
        check("stopped" in log, log)
        err = read(errf)
        check("Sanitizer" not in err and "runtime error" not in err, err)
    finally:
        for c in conns:
            c.close()
        hole.close()
        stop_responder(br)
