"""Slow request bodies (issue 9): clients trickling a body at 1 byte/s must
not hold up a normal event, behind nginx (which buffers bodies) or Apache
(which streams them, so the responder's body_timeout_ms is what frees its
threads), and a trickled body gets 408 once body_timeout_ms has passed."""

import os
import socket
import subprocess
import threading
import time

from harness import check, eq, program, test

SECRET = "slow-secret"
GOOD = (b'{"post_type":"message","message_type":"private","sub_type":"friend",'
        b'"self_id":10001000,"user_id":12345,"message_id":-7,'
        b'"message":"ok?"}')
DEADLINE_MS = 2000


class Trickler(threading.Thread):
    """Sends a POST's headers at once, then its body one byte a second until
    stop is set or the server answers; keeps the first bytes answered."""

    def __init__(self, port, length=60):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Content-Type: application/json\r\n"
                          b"Content-Length: %d\r\n\r\n" % length)
        self.length = length
        self.stop = threading.Event()
        self.answer = b""
        self.answered_at = None

    def run(self):
        self.sock.settimeout(1.0)
        for _ in range(self.length - 1):
            if self.stop.is_set():
                break
            try:
                self.sock.sendall(b" ")
                data = self.sock.recv(200)
            except socket.timeout:
                continue
            except OSError:
                break
            self.answer, self.answered_at = data, time.monotonic()
            break
        self.sock.close()


def slow_bodies_do_not_delay(h, web):
    s = h.stack(web=web, threads=2, secret=SECRET,
                body_timeout_ms=DEADLINE_MS)
    eq(s.post(GOOD, secret=SECRET).status, 200, "warm-up event")
    slow = [Trickler(s.port) for _ in range(2)]
    started = time.monotonic()
    for t in slow:
        t.start()
    try:
        time.sleep(0.5)   # Both slow requests are in by now.
        t0 = time.monotonic()
        r = s.post(GOOD, secret=SECRET)
        took = time.monotonic() - t0
        eq(r.status, 200, "normal event during two slow bodies")
        check(took < 1.0, "%s: normal event took %.2f s with two slow "
              "bodies (bound 1 s)" % (web, took))
    finally:
        for t in slow:
            t.stop.set()
        for t in slow:
            t.join(5)
    return started, slow


@test
def slow_bodies_behind_nginx(h):
    slow_bodies_do_not_delay(h, "nginx")


@test
def slow_bodies_behind_apache(h):
    slow_bodies_do_not_delay(h, "apache")


@test
def trickled_body_gets_408_from_apache(h):
    # Apache buffers the body (shipped site) and cuts it at its
    # RequestReadTimeout body=5, the default body_timeout_ms.
    s = h.stack(web="apache", threads=2, secret=SECRET)
    t = Trickler(s.port)
    started = time.monotonic()
    t.start()
    t.join(8)
    check(t.answered_at is not None, "no answer to a trickled body")
    check(t.answer.startswith(b"HTTP/1.1 408"), "answer %r" % t.answer[:60])
    took = t.answered_at - started
    # mod_reqtimeout checks its deadline between reads, a second apart at
    # worst, and a loaded host adds to that: 5 s plus 2 is "at the deadline".
    check(4.5 < took < 5 + 2, "408 after %.2f s" % took)


@test
def trickled_body_gets_408_in_cgi_mode(h):
    env = dict(os.environ, REQUEST_METHOD="POST", CONTENT_LENGTH="60",
               CQHTTP_BODY_TIMEOUT_MS=str(DEADLINE_MS), CQHTTP_SECRET=SECRET)
    p = subprocess.Popen([program("src/fcgi/cqhttp-fcgi")], env=env,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    started = time.monotonic()

    def trickle():
        try:
            for _ in range(10):
                p.stdin.write(b" ")
                p.stdin.flush()
                time.sleep(1)
        except OSError:
            pass
    threading.Thread(target=trickle, daemon=True).start()
    out = p.stdout.read()   # Until the responder exits.
    took = time.monotonic() - started
    err = p.stderr.read()
    p.wait(10)
    check(out.startswith(b"Status: 408"), "answer %r" % out[:60])
    check(took < DEADLINE_MS / 1000 + 1, "408 after %.2f s" % took)
    check(b"408 from" in err and b"body_timeout_ms" in err,
          "one log line says why: %r" % err[-300:])


@test
def nginx_access_log_has_no_token(h):
    s = h.stack(secret=SECRET)
    r = s.post(GOOD, secret=SECRET, path="/?access_token=sekrit-tok-42")
    check(r.status in (200, 204, 403), "answered: %r" % r)
    path = os.path.join(s.dir, "nginx-access.log")
    deadline = time.monotonic() + 5
    text = ""
    while time.monotonic() < deadline and "POST" not in text:
        with open(path) as f:
            text = f.read()
        time.sleep(0.05)
    check("POST / " in text, "request logged: %r" % text[-300:])
    check("sekrit-tok-42" not in text, "token in the access log")
