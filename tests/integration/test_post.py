"""HTTP POST events through a real nginx and spawn-fcgi to cqhttp-fcgi."""

import http.client
import json
import os
import socket
import subprocess
import threading

from harness import (check, eq, fixture, program, sample,
                     sign, test)

SECRET = "some-secret"
TOKEN = "tok-123"
# The test build adds a handler that fails on post_type "test_fail".
TEST_FCGI = "tests/integration/cqhttp-fcgi-test"

PRIVATE = fixture("private.negative-id.json")
GOOD = (b'{"post_type":"message","message_type":"private","sub_type":"friend",'
        b'"self_id":10001000,"user_id":12345,"message_id":-7,'
        b'"message":"ok?"}')


def signed_stack(h):
    return h.stack(binary=TEST_FCGI, secret=SECRET, access_token=TOKEN,
                   max_body=65536)


def still_good(s, conn=None):
    """After any rejection the next good request must still succeed."""
    r = s.post(GOOD, secret=SECRET, conn=conn)
    eq(r.status, 200, "good request after a bad one")
    eq(r.json(), {"reply": "ok?", "at_sender": False})


@test
def private_message_echo(h):
    s = h.stack()
    r = s.post(PRIVATE, {"X-Self-ID": "3096407768"})
    eq(r.status, 200, "status")
    check(r.headers.get("Content-Type", "").startswith("application/json"),
          "JSON content type: %r" % r.headers)
    want = json.loads(PRIVATE)["message"]
    eq(r.json(), {"reply": want, "at_sender": False}, "quick operation")
    # No API configured: the send fails cleanly and says so once.
    check("no API available" in s.log(), "API failure logged")


@test
def signed_private_message_echo(h):
    s = signed_stack(h)
    r = s.post(PRIVATE, {"X-Self-ID": "3096407768"}, secret=SECRET)
    eq(r.status, 200)
    eq(r.json(), {"reply": json.loads(PRIVATE)["message"],
                  "at_sender": False})


@test
def array_message_echo_keeps_segments(h):
    body = fixture("group.array.json")
    r = h.stack().post(body)
    eq(r.status, 200)
    eq(r.json(), {"reply": json.loads(body)["message"], "at_sender": False})


@test
def large_echo_is_exact(h):
    """A 300 KiB message echoed whole: its answer is past the 16 KiB that
    go through libfcgi's buffer (the responder frames it into FastCGI
    records itself), and its text mixes plain runs, UTF-8 and every kind of
    escape. The JSON, and Content-Length where the web server passes it on
    (nginx does; Apache sends so large an answer chunked), must match to the
    byte."""
    piece = ("x" * 200 + "\u4f60\u597d \"q\" \\ \n\t\u0001/\u007f\U0001F600"
             + "y" * 57)
    text = piece * (300 * 1024 // len(piece.encode()))
    body = json.dumps({"post_type": "message", "message_type": "private",
                       "sub_type": "friend", "self_id": 10001000,
                       "user_id": 12345, "message_id": -7,
                       "message": text}).encode()
    s = h.stack(secret=SECRET)
    for _ in range(2):  # The second on a connection the first left sane.
        r = s.post(body, secret=SECRET)
        eq(r.status, 200, "status")
        if s.web == "nginx":
            eq(r.headers.get("Content-Length"), str(len(r.body)),
               "Content-Length")
        eq(r.json(), {"reply": text, "at_sender": False}, "echo")
    still_good(s)


@test
def group_increase_gets_204(h):
    r = h.stack().post(fixture("notice.group_increase.json"))
    eq(r.status, 204)
    eq(r.body, b"")


@test
def friend_request_approved(h):
    r = h.stack().post(fixture("request.friend.json"))
    eq(r.status, 200)
    eq(r.json(), {"approve": True})


@test
def group_invite_approved(h):
    r = h.stack().post(fixture("request.group.invite.json"))
    eq(r.status, 200)
    eq(r.json(), {"approve": True})


@test
def heartbeat_gets_204(h):
    r = h.stack().post(fixture("heartbeat.gocq-style.json"))
    eq(r.status, 204)


def raw_exchange(port, data):
    """Sends bytes as they are and returns the status line's code."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
        c.sendall(data)
        answer = b""
        while b"\r\n" not in answer:
            chunk = c.recv(4096)
            if not chunk:
                break
            answer += chunk
    return int(answer.split(b" ")[1])


def replay_capture(s, raw, secret):
    """Replays a captured request with Connection: close and a signature."""
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = [l for l in head.split(b"\r\n")
             if not l.lower().startswith(b"host:")]
    lines.insert(1, b"Host: 127.0.0.1")
    lines.append(b"Connection: close")
    lines.append(b"X-Signature: " + sign(secret, body).encode())
    return raw_exchange(s.port, b"\r\n".join(lines) + b"\r\n\r\n" + body), body


@test
def gocq_heartbeat_capture_verifies(h):
    raw = sample("http-post.heartbeat.gocq.http")
    s = h.stack(secret=SECRET)
    status, body = replay_capture(s, raw, SECRET)
    eq(len(body), 386, "capture body length")
    check(body.endswith(b"\n"), "trailing newline kept")
    check(b"X-Self-Id:" in raw, "the capture spells X-Self-Id")
    eq(status, 204, "signed capture (X-Self-Id header, trailing newline)")
    # The signature printed in the reference, not only our own computation.
    eq(sign(SECRET, body), "sha1=4c79f871d443a8f0d252da0d1f62118356482fb9")
    eq(replay_capture(s, raw, "wrong-secret")[0], 403, "wrong secret")


@test
def own_capture_with_x_self_id_spelling(h):
    body = fixture("heartbeat.gocq-style.json")
    raw = (b"POST / HTTP/1.1\r\nHost: x\r\nUser-Agent: CQHttp/4.15.0\r\n"
           b"Content-Length: %d\r\nContent-Type: application/json\r\n"
           b"X-Self-Id: 3096407768\r\nAccept-Encoding: gzip\r\n\r\n"
           % len(body)) + body
    s = h.stack(secret=SECRET)
    eq(replay_capture(s, raw, SECRET)[0], 204)
    eq(replay_capture(s, raw.replace(b"3096407768\r\n", b"3096407769\r\n"),
                      SECRET)[0], 400, "X-Self-Id differs from self_id")


# Each row of DESIGN.md section 6, each followed by a good request.
@test
def error_get_is_405(h):
    s = signed_stack(h)
    r = s.request("GET")
    eq(r.status, 405)
    eq(r.headers.get("Allow"), "POST")
    still_good(s)


@test
def error_put_with_body_is_405(h):
    s = signed_stack(h)
    eq(s.request("PUT", GOOD, {"Content-Type": "application/json"}).status,
       405)
    still_good(s)


@test
def error_body_over_max_body_is_413(h):
    s = signed_stack(h)
    big = b'{"post_type":"message","pad":"' + b"x" * 70000 + b'"}'
    eq(s.post(big, secret=SECRET).status, 413)
    still_good(s)
    check("413" in s.log() and "max_body" in s.log(), "413 logged with why")


@test
def error_413_then_good_on_same_connection(h):
    """The rejected body is drained; the kept client connection goes on."""
    s = signed_stack(h)
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    big = b'{"post_type":"message","pad":"' + b"y" * 70000 + b'"}'
    eq(s.post(big, secret=SECRET, conn=conn).status, 413)
    still_good(s, conn=conn)
    conn.close()


@test
def error_signature_missing_is_401(h):
    s = signed_stack(h)
    eq(s.post(GOOD).status, 401)
    still_good(s)


@test
def error_signature_wrong_is_403(h):
    s = signed_stack(h)
    eq(s.post(GOOD, secret="not-the-secret").status, 403)
    still_good(s)


@test
def error_signature_malformed_is_403(h):
    s = signed_stack(h)
    good_sig = sign(SECRET, GOOD)
    for bad in ("sha1=", "sha1=xyz", good_sig[5:], "SHA1=" + good_sig[5:],
                "md5=" + good_sig[5:], good_sig + "0"):
        eq(s.post(GOOD, {"X-Signature": bad}).status, 403, bad)
    still_good(s)


@test
def error_signature_over_other_bytes_is_403(h):
    """The HMAC covers the raw bytes: the same JSON re-spaced fails."""
    s = signed_stack(h)
    respaced = GOOD.replace(b",", b", ")
    eq(s.post(respaced, {"X-Signature": sign(SECRET, GOOD)}).status, 403)
    still_good(s)


@test
def token_wrong_is_403_absent_is_fine(h):
    s = signed_stack(h)
    eq(s.post(GOOD, {"Authorization": "Bearer nope"}, secret=SECRET).status,
       403)
    eq(s.post(GOOD, {"Authorization": "Basic dXNlcg=="},
              secret=SECRET).status, 403)
    eq(s.post(GOOD, secret=SECRET, path="/?access_token=nope").status, 403,
       "query token")
    for ok in ("Bearer " + TOKEN, "Token " + TOKEN, "token " + TOKEN):
        eq(s.post(GOOD, {"Authorization": ok}, secret=SECRET).status, 200, ok)
    eq(s.post(GOOD, secret=SECRET, path="/?access_token=" + TOKEN).status,
       200)
    still_good(s)


@test
def error_not_json_is_400(h):
    s = signed_stack(h)
    for body in (b"not json", b"", b"[1,2]", b'"x"', b'{"post_type":',
                 b'{/*c*/"post_type":"message"}', b'{"post_type":"a\xff"}'):
        eq(s.post(body, secret=SECRET).status, 400, body)
        still_good(s)


@test
def error_too_deep_is_400(h):
    s = h.stack(binary=TEST_FCGI)
    body = b"[" * 300000 + b"]" * 300000   # 600 KB, under the 1 MiB limit
    eq(s.post(body).status, 400)
    body = b'{"post_type":"x","a":' + b"[" * 40 + b"]" * 40 + b"}"
    eq(s.post(body).status, 400, "depth 41")
    eq(s.post(GOOD).status, 200)
    check("nested deeper" in s.log(), "depth rejection logged")


@test
def error_no_post_type_is_400(h):
    s = signed_stack(h)
    eq(s.post(b'{"self_id":1}', secret=SECRET).status, 400)
    eq(s.post(b'{"post_type":7}', secret=SECRET).status, 400)
    still_good(s)


@test
def error_self_id_mismatch_is_400(h):
    s = signed_stack(h)
    eq(s.post(GOOD, {"X-Self-ID": "10001001"}, secret=SECRET).status, 400)
    eq(s.post(GOOD, {"X-Self-ID": "abc"}, secret=SECRET).status, 400)
    eq(s.post(GOOD, {"X-Self-ID": "10001000"}, secret=SECRET).status, 200)
    still_good(s)


@test
def error_handler_failure_is_500(h):
    s = signed_stack(h)
    fail = b'{"post_type":"test_fail","self_id":1}'
    eq(s.post(fail, secret=SECRET).status, 500)
    still_good(s)
    eq(s.post(fail, secret=SECRET).status, 500, "again")
    still_good(s)
    check("failed on test_fail" in s.log(), "handler failure logged")


@test
def chunked_upload(h):
    s = h.stack()
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
    conn.request("POST", "/", body=iter([GOOD[:20], GOOD[20:]]),
                 headers={"Content-Type": "application/json"},
                 encode_chunked=True)
    r = conn.getresponse()
    eq(r.status, 200)
    eq(json.loads(r.read()), {"reply": "ok?", "at_sender": False})
    conn.close()


@test
def concurrent_requests(h):
    s = h.stack(threads=4)
    errors = []

    def worker(i):
        body = GOOD.replace(b"ok?", b"n%d" % i)
        try:
            r = s.post(body)
            if r.status != 200 or r.json()["reply"] != "n%d" % i:
                errors.append((i, r))
        except Exception as e:  # noqa: BLE001 - report every failure
            errors.append((i, e))
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(64)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    eq(errors, [], "all 64 concurrent requests answered correctly")


@test
def unknown_path_is_404(h):
    eq(h.stack().post(GOOD, path="/other").status, 404)


def run_cgi(env, body, extra=None):
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
         "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "POST",
         "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1"}
    e.update(env)
    e.update(extra or {})
    p = subprocess.run([program("src/fcgi/cqhttp-fcgi")], input=body, env=e,
                       capture_output=True, timeout=30)
    eq(p.returncode, 0, "CGI exit code")
    head, _, rest = p.stdout.partition(b"\r\n\r\n")
    status = int(head.split(b"\r\n")[0].split()[1])
    return status, rest, p.stderr.decode()


@test
def cgi_mode_answers_one_request(h):
    status, body, _ = run_cgi({}, GOOD)
    eq(status, 200)
    eq(json.loads(body), {"reply": "ok?", "at_sender": False})


@test
def cgi_mode_checks(h):
    env = {"CQHTTP_SECRET": SECRET}
    eq(run_cgi(env, GOOD)[0], 401, "no signature")
    eq(run_cgi(env, GOOD, {"HTTP_X_SIGNATURE": sign(SECRET, GOOD)})[0], 200)
    eq(run_cgi({}, GOOD, {"REQUEST_METHOD": "GET", "CONTENT_LENGTH": ""})[0],
       405)
    eq(run_cgi({}, b"{}")[0], 400)
    eq(run_cgi({"CQHTTP_MAX_BODY": "100"}, GOOD)[0], 413)
    status, body, _ = run_cgi({}, fixture("notice.group_increase.json"))
    eq(status, 204)
    eq(body, b"")


@test
def cli_help_and_errors(h):
    exe = program("src/fcgi/cqhttp-fcgi")
    p = subprocess.run([exe, "--help"], capture_output=True, text=True)
    eq(p.returncode, 0)
    for word in ("--listen", "CQHTTP_SECRET", "CQHTTP_MAX_BODY",
                 "CQHTTP_THREADS", "CQHTTP_API_ROOT", "spawn-fcgi"):
        check(word in p.stdout, "--help mentions " + word)
    p = subprocess.run([exe, "--bogus"], capture_output=True, text=True)
    eq(p.returncode, 2)
    check("--bogus" in p.stderr, "unknown flag named")
    p = subprocess.run([exe, "--threads", "0"], capture_output=True, text=True)
    eq(p.returncode, 2)
    check("threads" in p.stderr, "bad value named")
    p = subprocess.run([exe], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin"})
    eq(p.returncode, 2, "run by hand with no socket and no CGI request")
    check("spawn-fcgi" in p.stderr, "says how to start it")


@test
def listen_flag_serves_fastcgi(h):
    """--listen opens its own socket (mode 0660); nginx reaches it."""
    import harness
    import signal as sig
    import tempfile
    d = tempfile.mkdtemp(prefix="cq-listen-", dir=h.tmp)
    os.chmod(d, 0o755)
    sock = os.path.join(d, "own.sock")
    log = open(os.path.join(d, "fcgi.log"), "wb")
    p = subprocess.Popen([program("src/fcgi/cqhttp-fcgi"), "--listen", sock,
                          "--threads", "2"], stdout=log, stderr=log)
    try:
        harness.wait_for(lambda: os.path.exists(sock), what="own socket")
        eq(oct(os.stat(sock).st_mode & 0o777), "0o660", "socket mode")
        if os.geteuid() == 0:
            os.chown(sock, -1, 33)   # the web server's group (www-data)
        port = harness.free_port()
        ng = harness.start_nginx(d, port, sock)
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            c.request("POST", "/", body=GOOD)
            r = c.getresponse()
            eq(r.status, 200)
            eq(json.loads(r.read()), {"reply": "ok?", "at_sender": False})
        finally:
            harness.stop_nginx(ng)
    finally:
        p.send_signal(sig.SIGTERM)
        eq(p.wait(timeout=15), 0, "exit code after SIGTERM")
        log.close()
