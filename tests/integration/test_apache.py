"""Apache 2.4 in front: the shipped apache/cqhttp.conf (mod_proxy_fcgi to
spawn-fcgi's socket, WebSocket to cqhttp-bridge through mod_proxy_http) and
apache/cqhttp-fcgid.conf (mod_fcgid starting cqhttp-fcgi itself).

Every HTTP POST and WebSocket case of test_post and test_nginx_bridge runs
again with Apache instead of nginx (the "apache:" variant below). The tests
here check what only Apache needs: CGIPassAuth (without it a wrong token
passes), the WebSocket paths, roles and timeouts through mod_proxy_http, and
the body limit, which Apache 2.4 enforces differently from nginx.
"""

import http.client
import json
import os
import socket
import tempfile
import threading
import time

import harness
import servers
import wsraw
from harness import SANITIZER_MARKS, check, eq, sign, test

harness.variant("apache", ["test_post", "test_nginx_bridge"], exclude=(
    # Not about the web server: they run cqhttp-fcgi by hand (CGI mode, the
    # command line), with no server in front.
    "cgi_mode_answers_one_request", "cgi_mode_checks", "cli_help_and_errors",
    # Starts an nginx of its own (not the stack's) in front of a socket the
    # responder opens itself: it tests --listen, not the web server.
    "listen_flag_serves_fastcgi",
), web="apache")

SECRET = "some-secret"
TOKEN = "tok-123"
TEST_FCGI = "tests/integration/cqhttp-fcgi-test"
SITE = os.path.join(harness.SRCDIR, "apache", "cqhttp.conf")
FCGID_SITE = os.path.join(harness.SRCDIR, "apache", "cqhttp-fcgid.conf")
LIMIT = 1048576   # LimitRequestBody and the RewriteRule in both sites
GOOD = (b'{"post_type":"message","message_type":"private","sub_type":"friend",'
        b'"self_id":10001000,"user_id":12345,"message_id":-7,'
        b'"message":"ok?"}')
REPLY = {"reply": "ok?", "at_sender": False}


def workdir(h, prefix):
    d = tempfile.mkdtemp(prefix=prefix, dir=h.tmp)
    os.chmod(d, 0o755)
    return d


def edited_site(d, path, *edits):
    """A copy of a shipped site in d with each (old, new) replaced; every
    old must be there exactly once, so a changed site fails the test."""
    with open(path) as f:
        text = f.read()
    for old, new in edits:
        eq(text.count(old), 1, "%r in %s" % (old, os.path.basename(path)))
        text = text.replace(old, new)
    out = os.path.join(d, "edited-" + os.path.basename(path))
    with open(out, "w") as f:
        f.write(text)
    return out


class Apache:
    """One more Apache (a config of the test's) for the length of a with."""

    def __init__(self, h, sock, site, bridge_port=8081, **kw):
        self.dir = workdir(h, "cq-apache-")
        self.port = servers.free_port()
        self.args = (sock, bridge_port, site, kw)
        self.p = None

    def __enter__(self):
        sock, bridge_port, site, kw = self.args
        self.p = servers.start_apache(self.dir, self.port, sock,
                                      bridge_port=bridge_port, site=site, **kw)
        return self

    def __exit__(self, *exc):
        servers.stop_apache(self.p)

    def post(self, body, headers=None, path="/"):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            c.request("POST", path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def error_log(self):
        with open(os.path.join(self.dir, "apache-error.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")


def raw_post(port, length, body=b"", head=b""):
    """Sends a POST head announcing length bytes, then body (maybe fewer);
    returns (status, headers, body) as far as the server answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d"
                  b"\r\nContent-Type: application/json\r\n%s\r\n"
                  % (length, head) + body)
        status, headers, rest = wsraw.read_head(c, 10)
        n = int(headers.get("content-length", "0"))
        while len(rest) < n:
            chunk = c.recv(65536)
            if not chunk:
                break
            rest += chunk
    return status, headers, rest


def padded(size):
    """A valid event of exactly size bytes (answered 204)."""
    head = b'{"post_type":"notice","notice_type":"group_increase","pad":"'
    return head + b"x" * (size - len(head) - 2) + b'"}'


# --------------------------------------------------------------------------
# Authorization: CGIPassAuth

@test
def apache_cgipassauth_lets_the_token_be_checked(h):
    s = h.stack(web="apache", access_token=TOKEN)
    eq(s.post(GOOD, {"Authorization": "Bearer wrong"}).status, 403,
       "wrong token through the shipped site")
    eq(s.post(GOOD, {"Authorization": "Bearer " + TOKEN}).status, 200)
    eq(s.post(GOOD).status, 200, "no token at all")
    # The same site without CGIPassAuth: Apache drops Authorization before
    # FastCGI, so the wrong token goes unseen and the event is accepted.
    # A token in the query string is still seen (and refused).
    d = workdir(h, "cq-nopassauth-")
    site = edited_site(d, SITE, ("CGIPassAuth On", ""))
    with Apache(h, s.sock, site) as a:
        status, body = a.post(GOOD, {"Authorization": "Bearer wrong"})
        eq(status, 200, "wrong token without CGIPassAuth")
        eq(json.loads(body), REPLY)
        eq(a.post(GOOD, path="/?access_token=wrong")[0], 403, "query token")


# --------------------------------------------------------------------------
# The body limit

@test
def apache_answers_413_itself_over_limit_request_body(h):
    s = h.stack(web="apache")
    before = s.log().count("413 from")
    # Only the head is sent: Apache answers from Content-Length alone,
    # without reading (or forwarding) the 5 MiB.
    status, headers, body = raw_post(s.port, 5 * LIMIT)
    eq(status, 413, "Content-Length 5 MiB")
    check(b"Request Entity Too Large" in body, "Apache's own 413 page: %r"
          % body[:200])
    eq(headers.get("connection"), "close")
    big = padded(LIMIT + 1)
    r = s.post(big)
    eq(r.status, 413, "1 MiB + 1 byte")
    check(b"Request Entity Too Large" in r.body, "Apache's page again")
    eq(s.log().count("413 from"), before, "the responder saw neither")
    # Exactly the limit passes Apache, and the responder takes it (its
    # max_body is 1 MiB as well).
    eq(s.post(padded(LIMIT)).status, 204, "exactly 1 MiB")
    eq(s.post(GOOD).json(), REPLY, "a good request after")


@test
def apache_passes_chunked_bodies_to_the_responders_limit(h):
    """nginx counts chunked bodies against client_max_body_size and answers
    413 itself; Apache 2.4 applies no body limit to proxied requests, and a
    Content-Length check cannot see a chunked body. The responder's own
    max_body catches it: 413 from cqhttp-fcgi, logged, next request fine."""
    s = h.stack(web="apache", max_body=65536)
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    pieces = [b'{"post_type":"message","pad":"'] + [b"z" * 60000] * 20 + \
        [b'"}']
    conn.request("POST", "/", body=iter(pieces), encode_chunked=True,
                 headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    eq(r.status, 413)
    eq(r.read(), b"", "the responder's 413 (no Apache page)")
    conn.close()
    check("body without length is over max_body" in s.log(),
          "the responder logged it")
    eq(s.post(GOOD).json(), REPLY, "a good request after")


@test
def apache_chunked_echo_grows_the_body_in_place(h):
    """A chunked body has no CONTENT_LENGTH under mod_proxy_fcgi: the
    responder reads it into its thread's body mapping, grown by doubling
    with what came kept. A 200 KB message is echoed whole, twice on one
    thread (the second read goes into the mapping the first one grew)."""
    s = h.stack(web="apache", threads=1)
    text = "".join(chr(ord("a") + i % 26) for i in range(200000))
    body = json.dumps({"post_type": "message", "message_type": "private",
                       "sub_type": "friend", "self_id": 10001000,
                       "user_id": 12345, "message_id": -7,
                       "message": text}).encode()
    for attempt in ("first", "second"):
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
        conn.request("POST", "/", body=iter([body[i:i + 30000] for i in
                                             range(0, len(body), 30000)]),
                     encode_chunked=True,
                     headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        eq(r.status, 200, attempt)
        eq(json.loads(r.read()), {"reply": text, "at_sender": False},
           attempt + ": the whole message echoed")
        conn.close()


@test
def apache_closes_the_connection_after_400_413_500(h):
    """Apache ends the client's keep-alive connection after a 400, 413 or
    500 from the responder (Connection: close); nginx keeps it open. 403
    and 405 keep it in both. (The variant of
    error_413_then_good_on_same_connection passes under Apache because
    http.client opens a new connection by itself.)"""
    s = h.stack(web="apache", max_body=65536)
    big = padded(70000)
    with socket.create_connection(("127.0.0.1", s.port), timeout=10) as c:
        c.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, headers, _ = wsraw.read_head(c)
        eq(status, 405)
        check(headers.get("connection") != "close", "405 keeps it")
        c.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(big) + big)
        status, headers, rest = wsraw.read_head(c)
        eq(status, 413, "the responder's 413")
        eq(headers.get("connection"), "close")
        try:
            end = rest + c.recv(100)
        except ConnectionResetError:
            end = b""
        eq(end, b"", "then the connection ends")
    eq(s.post(GOOD).json(), REPLY, "a good request after")


# --------------------------------------------------------------------------
# Paths

@test
def apache_serves_nothing_else(h):
    s = h.stack(web="apache")
    for path in ("/other", "/index.html", "/ws/x", "/wsx", "/ws/api/x",
                 "/ws/event/x", "/ws/apix", "/cgi-bin/", "/server-status",
                 "/.htaccess"):
        for method in ("GET", "POST"):
            eq(s.request(method, GOOD if method == "POST" else b"",
                         path=path).status, 404, method + " " + path)
    eq(s.request("GET").status, 405, "GET / reaches the responder")
    eq(s.request("GET", path="/?x=1").status, 405, "with a query string")


# --------------------------------------------------------------------------
# WebSocket

def bridge_stack(h):
    return h.stack(web="apache", bridge=True, access_token=TOKEN)


def wait_log(s, line):
    def seen():
        with open(s.bridge_log) as f:
            return line in f.read()
    servers.wait_for(seen, what="bridge log line %r" % line)


@test
def apache_websocket_paths_roles_and_token(h):
    s = bridge_stack(h)
    auth = {"Authorization": "Bearer " + TOKEN}
    cases = [("/ws", None, "Universal"), ("/ws/", None, "Universal"),
             ("/ws/api", None, "API"), ("/ws/api/", None, "API"),
             ("/ws/event", None, "Event"), ("/ws/event/", None, "Event"),
             ("/ws/", "Event", "Event"), ("/ws/api/", "API", "API")]
    for i, (path, role, want) in enumerate(cases):
        sid = 30003000 + i
        ws = wsraw.RawWS.connect(s.port, sid, role=role, path=path,
                                 headers=auth)   # asserts the 101
        try:
            wait_log(s, "account %d: %s connection from" % (sid, want))
        finally:
            ws.close()
    # Path and query string arrive unchanged: the token in the query.
    ws = wsraw.RawWS.connect(s.port, 30003100, role=None,
                             path="/ws/api/?access_token=" + TOKEN)
    ws.close()
    wait_log(s, "account 30003100: API connection from")
    # Refusals are the bridge's, passed through by Apache.
    req = wsraw.request_bytes(s.port, "/ws/", headers={
        "X-Self-ID": "30003200", "Authorization": "Bearer wrong"})
    status, _, body = wsraw.exchange(s.port, req)
    eq(status, 403, "wrong token")
    check(b"access token wrong" in body, "the bridge's answer: %r" % body)
    status, headers, _ = wsraw.exchange(s.port, wsraw.request_bytes(
        s.port, "/ws/", headers={"X-Self-ID": "30003201"}))
    eq(status, 401, "no token")
    check("www-authenticate" in headers, "WWW-Authenticate passed on")
    status, headers, _ = wsraw.exchange(s.port, wsraw.request_bytes(
        s.port, "/ws/", headers=dict(auth, **{
            "X-Self-ID": "30003202", "Sec-WebSocket-Version": "8"})))
    eq(status, 426, "bad version")
    eq(headers.get("sec-websocket-version"), "13")


@test
def apache_websocket_frames_both_ways(h):
    """Frames glued to the handshake, a ping and a close go through the
    tunnel as they are."""
    s = bridge_stack(h)
    ws = wsraw.RawWS.connect(
        s.port, 30004000, path="/ws/",
        headers={"Authorization": "Bearer " + TOKEN},
        extra=wsraw.encode_frame(wsraw.PING, b"glued"))
    try:
        f = ws.recv(5)
        eq((f[0], f[2]), (wsraw.PONG, b"glued"), "pong for the glued ping")
        ws.send(wsraw.CLOSE, b"\x03\xe8bye")
        eq(ws.wait_close(5), 1000, "close echoed")
        check(ws.eof_within(5), "the tunnel ends after the close")
    finally:
        ws.close()


@test
def apache_websocket_outlives_server_timeout(h):
    """OneBot connections sit idle between events: the site's timeout=3600
    on the WebSocket route, not Apache's Timeout (here 1 s, with
    mod_reqtimeout's body timeout at 1 s too), decides when Apache cuts an
    idle tunnel. The same site without timeout=3600 cuts it after 1 s."""
    s = bridge_stack(h)
    extra = "Timeout 1\nRequestReadTimeout header=5 body=1\n"
    auth = {"Authorization": "Bearer " + TOKEN}
    with Apache(h, s.sock, SITE, bridge_port=s.bridge_port,
                extra=extra) as a:
        ws = wsraw.RawWS.connect(a.port, 30005000, path="/ws/", headers=auth)
        try:
            check(not ws.eof_within(2.5), "still open after 2.5 s idle")
            ws.send(wsraw.PING, b"alive")
            f = ws.recv(5)
            eq((f[0], f[2]), (wsraw.PONG, b"alive"), "and still carrying")
        finally:
            ws.close()
    d = workdir(h, "cq-notimeout-")
    site = edited_site(d, SITE, (" upgrade=websocket timeout=3600",
                                 " upgrade=websocket"))
    with Apache(h, s.sock, site, bridge_port=s.bridge_port,
                extra=extra) as a:
        ws = wsraw.RawWS.connect(a.port, 30005001, path="/ws/", headers=auth)
        try:
            check(ws.eof_within(5), "cut after Apache's Timeout")
        finally:
            ws.close()


# --------------------------------------------------------------------------
# mod_fcgid: apache/cqhttp-fcgid.conf, Apache starting the responder

def fcgid_apache(h, binary=TEST_FCGI, edits=(), settings="", bridge_port=8081):
    if not os.path.exists(os.path.join(servers.APACHE_MODULES,
                                       "mod_fcgid.so")):
        raise harness.Skip("mod_fcgid is not installed "
                           "(apt-get install libapache2-mod-fcgid)")
    d = workdir(h, "cq-fcgid-")
    conf = os.path.join(d, "cqhttp.conf")
    with open(conf, "w") as f:
        f.write(settings)
    # mod_fcgid starts the responder as www-data: run a copy staged in d.
    site = edited_site(d, FCGID_SITE,
                       ("/usr/local/bin/cqhttp-fcgi",
                        harness.staged_program(binary, d)),
                       ("/etc/cqhttp.conf", conf), *edits)
    ipc = os.path.join(d, "fcgid-ipc")
    os.makedirs(ipc)
    if os.geteuid() == 0:
        os.chown(ipc, 33, 33)   # www-data, the user mod_fcgid runs it as
    extra = ("FcgidIPCDir %s\nFcgidProcessTableFile %s/fcgid-shm\n"
             % (ipc, d))
    return Apache(h, "/nonexistent", site, bridge_port=bridge_port,
                  modules=["fcgid"], extra=extra)


def check_fcgid_stop(a):
    """After Apache stopped: every responder it started exited 0 on its
    SIGTERM, and none left a sanitizer report (their stderr is the error
    log)."""
    log = a.error_log()
    started = log.count(") started")
    check(started >= 1, "mod_fcgid started the responder:\n" + log[-2000:])
    eq(log.count("terminated by calling exit(), return code: 0"), started,
       "clean exits of %d processes:\n%s" % (started, log[-3000:]))
    marks = [m for m in SANITIZER_MARKS if m in log]
    eq(marks, [], "sanitizer reports in the error log")


@test
def apache_fcgid_serves_the_same_binary(h):
    settings = ("secret = %s\naccess_token = %s\nmax_body = 65536\n"
                % (SECRET, TOKEN))
    sig = {"X-Signature": sign(SECRET, GOOD)}
    s = bridge_stack(h)
    with fcgid_apache(h, settings=settings, bridge_port=s.bridge_port) as a:
        ws = wsraw.RawWS.connect(a.port, 30006000, role=None, path="/ws/api",
                                 headers={"Authorization": "Bearer " + TOKEN})
        ws.close()
        wait_log(s, "account 30006000: API connection from")
        status, body = a.post(GOOD, dict(sig, **{"X-Self-ID": "10001000"}))
        eq(status, 200, "signed echo")
        eq(json.loads(body), REPLY)
        eq(a.post(GOOD)[0], 401, "no signature")
        eq(a.post(GOOD, {"X-Signature": sign("other", GOOD)})[0], 403)
        eq(a.post(GOOD, dict(sig, Authorization="Bearer wrong"))[0], 403,
           "wrong token (FcgidPassHeader Authorization)")
        eq(a.post(GOOD, dict(sig, Authorization="Bearer " + TOKEN))[0], 200)
        big = b'{"post_type":"message","pad":"' + b"x" * 70000 + b'"}'
        eq(a.post(big, {"X-Signature": sign(SECRET, big)})[0], 413,
           "over the responder's max_body")
        status, _, page = raw_post(a.port, 5 * LIMIT)
        eq(status, 413, "over LimitRequestBody: Apache's own 413")
        check(b"Request Entity Too Large" in page, "Apache's page")
        eq(a.post(b"", path="/other")[0], 404)
        status, body = a.post(GOOD, sig)
        eq((status, json.loads(body)), (200, REPLY), "still good")
        check("413 from" in a.error_log() and
              "body of 70032 bytes is over max_body" in a.error_log(),
              "the responder logs into Apache's error log")
    check_fcgid_stop(a)


@test
def apache_fcgid_passheader_is_needed(h):
    """Without FcgidPassHeader Authorization the token is never seen."""
    with fcgid_apache(h, edits=[("FcgidPassHeader Authorization", "")],
                      settings="access_token = %s\n" % TOKEN) as a:
        status, body = a.post(GOOD, {"Authorization": "Bearer wrong"})
        eq(status, 200, "wrong token accepted: the header never arrived")
        eq(a.post(GOOD, path="/?access_token=wrong")[0], 403, "query token")
    check_fcgid_stop(a)


@test
def apache_fcgid_limits(h):
    """mod_fcgid's own limits, where it differs from mod_proxy_fcgi: a
    chunked body over FcgidMaxRequestLen fails with 500 (mod_fcgid reads
    the whole body first and gives the responder its length); a chunked
    body under it arrives with CONTENT_LENGTH set."""
    with fcgid_apache(h, settings="max_body = 65536\n") as a:
        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
        conn.request("POST", "/", body=iter([b"z" * 60000] * 18),
                     encode_chunked=True)
        r = conn.getresponse()
        r.read()
        conn.close()
        eq(r.status, 500, "chunked 1.08 MB")
        check("exceeds MaxRequestLen (1048576)" in a.error_log(),
              "mod_fcgid says why")
        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=30)
        conn.request("POST", "/", body=iter([b"z" * 50000] * 2),
                     encode_chunked=True)
        r = conn.getresponse()
        r.read()
        conn.close()
        eq(r.status, 413, "chunked 100 kB: the responder's 413")
        check("body of 100000 bytes is over max_body" in a.error_log(),
              "with the length mod_fcgid counted")
        eq(a.post(GOOD)[0], 200)
    check_fcgid_stop(a)


@test
def apache_fcgid_concurrent_requests(h):
    """mod_fcgid gives each process one request at a time and starts more
    (up to FcgidMaxProcessesPerClass, 8) when all are busy: 24 requests at
    once all get their own answer."""
    with fcgid_apache(h, settings="log_level = warn\n") as a:
        errors = []

        def worker(i):
            body = GOOD.replace(b"ok?", b"n%d" % i)
            try:
                status, answer = a.post(body)
                if status != 200 or json.loads(answer)["reply"] != "n%d" % i:
                    errors.append((i, status, answer))
            except Exception as e:  # noqa: BLE001 - report every failure
                errors.append((i, e))
        t0 = time.monotonic()
        ts = [threading.Thread(target=worker, args=(i,)) for i in range(24)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        eq(errors, [], "all 24 answered correctly")
        check(time.monotonic() - t0 < 20, "in reasonable time")
    check_fcgid_stop(a)
