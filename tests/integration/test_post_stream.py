"""Large answers of cqhttp-fcgi, sent in pieces (src/fcgi/answer.h), through
a real nginx and spawn-fcgi: the bytes, the memory they cost, and a web
server that goes away in the middle of one."""

import json
import os
import socket
import struct
import subprocess
import time

from harness import SRCDIR, Skip, Stack, check, eq, program, sign, test
from servers import start_nginx, start_responder

SECRET = "stream-secret"
GOOD = (b'{"post_type":"message","message_type":"private","sub_type":"friend",'
        b'"self_id":10001000,"user_id":12345,"message_id":-7,'
        b'"message":"ok?"}')
MAX_BODY = 8 * 1024 * 1024


class WideStack(Stack):
    """The shipped nginx site with client_max_body_size raised from 1m to
    8m, in front of the responder: bodies of several MiB get through."""

    def start(self):
        env = dict(os.environ)
        env.update({"CQHTTP_" + k.upper(): str(v)
                    for k, v in self.env.items()})
        env.setdefault("CQHTTP_THREADS", str(self.threads))
        self.fcgi = start_responder(self.sock, program(self.binary), env,
                                    self.fcgi_log)
        with open(os.path.join(SRCDIR, "nginx", "cqhttp.conf")) as f:
            text = f.read()
        check("client_max_body_size 1m;" in text, "the site's body limit")
        site = os.path.join(self.dir, "wide-site.conf")
        with open(site, "w") as f:
            f.write(text.replace("client_max_body_size 1m;",
                                 "client_max_body_size 8m;"))
        self.nginx = start_nginx(self.dir, self.port, self.sock, site=site)
        return self


def wide_stack(h, threads):
    """A WideStack with a secret and max_body 8 MiB, stopped (and its log
    checked) with the others at the end."""
    env = {"secret": SECRET, "max_body": MAX_BODY}
    key = ("src/fcgi/cqhttp-fcgi", threads, False,
           tuple(sorted(env.items())) + (("site", "wide"),), "nginx")
    if key not in h.stacks:
        h.stacks[key] = WideStack(h, env, key[0], threads).start()
    return h.stacks[key]


def yajl_string(text):
    """text as the responder writes a JSON string's inside: short escapes,
    \\u00XX (upper-case hex) for other control characters, everything else
    (non-ASCII, "/", DEL) as it is, in UTF-8."""
    short = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r",
             "\t": "\\t", "\b": "\\b", "\f": "\\f"}
    return "".join(short.get(c) or ("\\u%04X" % ord(c) if ord(c) < 0x20
                                    else c) for c in text).encode()


def event(text, ascii_only=True):
    return json.dumps({"post_type": "message", "message_type": "private",
                       "sub_type": "friend", "self_id": 10001000,
                       "user_id": 12345, "message_id": -7, "message": text},
                      ensure_ascii=ascii_only).encode()


def peak_kib(pid, field="VmHWM"):
    """The process's peak resident memory (or VmRSS: now), KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for %d" % (field, pid))


def skip_under_asan():
    """AddressSanitizer's quarantine and shadow memory swamp RSS figures."""
    with open(program("src/fcgi/cqhttp-fcgi"), "rb") as f:
        if b"__asan_init" in f.read():
            raise Skip("built with AddressSanitizer")


@test
def mib_echo_is_exact(h):
    """A signed event whose 1 MiB message mixes plain runs, 2-, 3- and
    4-byte UTF-8 and every kind of escape: the echo is far past the 64 KiB
    held at a time, so it goes out in pieces after a counting pass, and its
    bytes and Content-Length must be exactly what one buffer gave."""
    piece = ("x" * 300 + "\u00e9\u4f60\u597d \"q\" \\ \n\r\t\b\f\u0001\u001f"
             "/\u007f\U0001F600" + "y" * 40)
    text = piece * (1024 * 1024 // len(piece.encode()))
    body = event(text)
    want = (b'{"reply":"' + yajl_string(text) + b'","at_sender":false}')
    check(len(want) > 1024 * 1024, "the answer is over 1 MiB")
    s = wide_stack(h, 2)
    for _ in range(2):  # The second on a thread the first left sane.
        r = s.post(body, secret=SECRET)
        eq(r.status, 200, "status")
        eq(r.headers.get("Content-Length"), str(len(want)), "Content-Length")
        eq(r.headers.get("Content-Type"), "application/json", "type")
        check(r.body == want, "answer differs from the expected bytes "
              "(%d bytes, want %d)" % (len(r.body), len(want)))
    r = s.post(GOOD, secret=SECRET)
    eq((r.status, r.body), (200, b'{"reply":"ok?","at_sender":false}'),
       "a small answer after large ones")


@test
def large_echo_memory_is_one_body(h):
    """One thread echoes 4 MiB bodies: its peak resident memory may grow by
    the body it holds and the bounded pieces of its answer, not by a second
    copy of the body for the answer (which made the growth about two
    bodies: 8 MiB). Not measured under AddressSanitizer, whose quarantine
    and shadow memory swamp it."""
    skip_under_asan()
    s = wide_stack(h, 1)
    for _ in range(20):
        eq(s.post(GOOD, secret=SECRET).status, 200, "small")
    before = peak_kib(s.fcgi.pid)
    text = ("\u4f60\u597d" + "z" * 94) * (4 * 1024 * 1024 // 100)
    body = event(text, ascii_only=False)
    for _ in range(3):
        r = s.post(body, secret=SECRET)
        eq(r.status, 200, "status")
        eq(len(r.body), len(text.encode()) + 30, "answer length")
    growth = peak_kib(s.fcgi.pid) - before
    bound = len(body) * 3 // 2 // 1024
    check(growth < bound, "peak RSS grew %d KiB for %d KiB bodies (bound %d)"
          % (growth, len(body) // 1024, bound))


@test
def memory_grows_by_one_body_per_thread(h):
    """Echoes of 64 KiB, then of 512 KiB bodies, one at a time over 4
    threads (blocked in accept() in turn, so each serves some): the peak
    grows by at most one 512 KiB body per thread plus 256 KiB (VmHWM is
    read from per-CPU counters that may each be up to 32 pages off), the
    64 KiB bodies leaving nothing behind that the larger ones add to; 2 MiB
    bodies, over what a thread keeps between requests (1 MiB), leave
    nothing resident after them. glibc's malloc, left to itself, kept a
    thread's largest body and the smaller blocks before it in its heap for
    good: 2.6 MiB after 64 and 512 KiB bodies on 4 threads."""
    skip_under_asan()
    threads = 4
    s = wide_stack(h, threads)
    for _ in range(2 * threads):
        eq(s.post(GOOD, secret=SECRET).status, 200, "small")
    before = peak_kib(s.fcgi.pid)
    kept = {}
    for kib in (64, 512, 2048):
        text = "m" * (kib * 1024 - 200)
        body = event(text)
        for _ in range(2 * threads):
            r = s.post(body, secret=SECRET)
            eq((r.status, len(r.body)), (200, len(text) + 30), "echo")
        if kib == 512:
            growth = peak_kib(s.fcgi.pid) - before
        kept[kib] = settled_rss(s.fcgi.pid, kept.get(512))
    bound = threads * 512 + 256
    check(growth <= bound, "peak RSS grew %d KiB over 64 and 512 KiB bodies"
          " on %d threads (bound %d)" % (growth, threads, bound))
    check(kept[2048] - kept[512] <= 64, "RSS kept after 2 MiB bodies is %d "
          "KiB over that after the 512 KiB ones (bound 64)"
          % (kept[2048] - kept[512]))


def settled_rss(pid, target, wait=2.0):
    """VmRSS, KiB, read again for up to wait seconds while it is over
    target + 64 (when given): a thread gives a large body's memory back
    just after the answer's last byte went."""
    rss = peak_kib(pid, "VmRSS")
    deadline = time.monotonic() + wait
    while target is not None and rss - target > 64 and \
            time.monotonic() < deadline:
        time.sleep(0.05)
        rss = peak_kib(pid, "VmRSS")
    return rss


def record(kind, content, rid=1):
    return struct.pack("!BBHHBx", 1, kind, rid, len(content), 0) + content


def params(pairs):
    out = b""
    for k, v in pairs.items():
        for n in (len(k), len(v)):
            out += bytes([n]) if n < 128 else struct.pack("!I", n | 1 << 31)
        out += k + v
    return out


@test
def web_server_gone_mid_answer(h):
    """The web server closes its connection once the answer has begun (a
    raw FastCGI client stands in for it): the responder logs the answer as
    cut short, and its one thread goes on serving."""
    s = wide_stack(h, 1)
    text = "w" * (1024 * 1024)
    body = event(text)
    env = params({b"REQUEST_METHOD": b"POST", b"REQUEST_URI": b"/",
                  b"CONTENT_LENGTH": str(len(body)).encode(),
                  b"REMOTE_ADDR": b"127.0.0.9",
                  b"HTTP_X_SIGNATURE": sign(
                      SECRET, body).encode()})
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(20)
    c.connect(s.sock)
    c.sendall(record(1, struct.pack("!HB5x", 1, 0)) + record(4, env) +
              record(4, b""))
    for i in range(0, len(body), 65535):
        c.sendall(record(5, body[i:i + 65535]))
    c.sendall(record(5, b""))
    first = c.recv(64)
    check(first[:2] == b"\x01\x06" and b"Status: 200" in first,
          "the answer began: %r" % first)
    c.close()
    deadline = time.monotonic() + 10
    while "cut short" not in s.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    check("200 to 127.0.0.9 for message.private.friend cut short" in s.log(),
          "the cut logged: %r" % s.log()[-500:])
    r = s.post(GOOD, secret=SECRET)
    eq((r.status, r.json()["reply"]), (200, "ok?"), "served after the cut")


def read_answer(c):
    """One FastCGI answer on c: its stdout bytes, once END_REQUEST came."""
    data, out = b"", b""
    while True:
        while len(data) < 8 or len(data) < 8 + struct.unpack(
                "!H", data[4:6])[0] + data[6]:
            more = c.recv(65536)
            check(more, "the responder closed the kept connection; "
                  "stdout so far: %r" % out)
            data += more
        kind, n, pad = data[1], struct.unpack("!H", data[4:6])[0], data[6]
        content, data = data[8:8 + n], data[8 + n + pad:]
        if kind == 6:
            out += content
        elif kind == 3:
            return out


@test
def kept_connection_outlives_the_body_timeout(h):
    """A web server that keeps its FastCGI connection (nginx's
    fastcgi_keep_conn) sends a request, waits longer than body_timeout_ms,
    then sends another on the same connection: the first body's receive
    timeout was cleared, so the wait costs nothing and both are answered."""
    s = h.stack(secret=SECRET, body_timeout_ms=300)
    env = params({b"REQUEST_METHOD": b"POST", b"REQUEST_URI": b"/",
                  b"CONTENT_LENGTH": str(len(GOOD)).encode(),
                  b"REMOTE_ADDR": b"127.0.0.9",
                  b"HTTP_X_SIGNATURE": sign(SECRET, GOOD).encode()})
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(10)
    c.connect(s.sock)
    try:
        for rid in (1, 2):
            c.sendall(record(1, struct.pack("!HB5x", 1, 1), rid) +
                      record(4, env, rid) + record(4, b"", rid) +
                      record(5, GOOD, rid) + record(5, b"", rid))
            out = read_answer(c)
            check(b"Status: 200" in out and b'"reply":"ok?"' in out,
                  "request %d on the kept connection: %r" % (rid, out))
            time.sleep(0.8)  # past body_timeout_ms, between requests
    finally:
        c.close()


@test
def cgi_mode_large_echo_is_exact(h):
    """Run as a plain CGI program, the responder sends a large answer in
    pieces to its stdout: header block with Content-Length, then the JSON,
    as from one buffer."""
    text = ("\u00e9\"\n" + "c" * 97) * 3000
    body = event(text)
    want = b'{"reply":"' + yajl_string(text) + b'","at_sender":false}'
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "POST",
           "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1"}
    p = subprocess.run([program("src/fcgi/cqhttp-fcgi")], input=body,
                       env=env, capture_output=True, timeout=30)
    eq(p.returncode, 0, "exit code")
    head, _, rest = p.stdout.partition(b"\r\n\r\n")
    eq(head, b"Status: 200 OK\r\nContent-Type: application/json\r\n"
       b"Content-Length: %d" % len(want), "header block")
    check(rest == want, "answer differs (%d bytes, want %d)"
          % (len(rest), len(want)))
