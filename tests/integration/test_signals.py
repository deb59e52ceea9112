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
