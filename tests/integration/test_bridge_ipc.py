"""cqhttp-bridge's API socket and listeners against hostile peers and
careless operators: a client that floods requests and never reads, running
out of descriptors, SIGTERM, callers not allowed by api_allow, and a second
instance given the same socket path.

Each test starts its own bridge with plain subprocess and blocking sockets,
and stops it with SIGTERM: exit code 0 and no sanitizer report, or the test
fails. The figures (RSS, CPU, log bytes) are printed for the closing note.
"""

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import wsraw
from harness import SANITIZER_MARKS, check, eq, free_port, program, test
from servers import unix_listening, wait_for

BRIDGE = "src/bridge/cqhttp-bridge"


class Bridge:
    """One cqhttp-bridge with its API socket in a fresh directory (mode 0755,
    so a caller of another uid can reach the socket)."""

    def __init__(self, h, *args, nofile=None, sock=None):
        self.dir = tempfile.mkdtemp(prefix="cq-ipc-", dir=h.tmp)
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        self.sock = sock or os.path.join(self.dir, "api.sock")
        self.log_path = os.path.join(self.dir, "bridge.log")
        self.args, self.nofile, self.p = list(args), nofile, None

    def spawn(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("CQHTTP_")}
        # AddressSanitizer keeps 256 MiB of freed memory by default, which
        # would stand for the bridge's own in the RSS figures.
        env["ASAN_OPTIONS"] = (env.get("ASAN_OPTIONS", "") +
                               ":quarantine_size_mb=8").lstrip(":")
        lim = self.nofile

        def pre():
            if lim:
                resource.setrlimit(resource.RLIMIT_NOFILE, (lim, lim))
        with open(self.log_path, "ab") as log:
            self.p = subprocess.Popen(
                [program(BRIDGE), "--listen", "127.0.0.1:%d" % self.port,
                 "--bridge-socket", self.sock] + self.args, env=env,
                stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                preexec_fn=pre)
        return self

    def __enter__(self):
        self.spawn()

        def up():
            if self.p.poll() is not None:
                raise AssertionError("bridge exited %r:\n%s"
                                     % (self.p.returncode, self.log()))
            try:
                socket.create_connection(("127.0.0.1", self.port),
                                         timeout=1).close()
                return unix_listening(self.sock)
            except OSError:
                return False
        try:
            wait_for(up, what="cqhttp-bridge on port %d" % self.port)
        except BaseException:
            self.p.kill()
            self.p.wait()
            raise
        return self

    def __exit__(self, et, ev, tb):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = "hung"
        log = self.log()
        marks = [m for m in SANITIZER_MARKS if m in log]
        if et is not None:
            print("--- bridge log (tail) ---\n%s\n--- end ---" % log[-2500:])
        elif rc != 0 or marks:
            raise AssertionError("bridge teardown: exit %r, marks %r\n%s"
                                 % (rc, marks, log[-3000:]))
        return False

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def rss_kb(self):
        with open("/proc/%d/status" % self.p.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_s(self):
        with open("/proc/%d/stat" % self.p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def api_conn(path, timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def recv_line(s, limit=1 << 20):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(4096)
        check(chunk, "API socket closed after %r" % buf[:200])
        buf += chunk
        check(len(buf) < limit, "answer too long")
    return json.loads(buf)


def api_call(path, req, timeout=5):
    with api_conn(path, timeout) as s:
        s.sendall(json.dumps(req).encode() + b"\n")
        return recv_line(s)


def status(b):
    a = api_call(b.sock, {"action": ".bridge_status"})
    eq(a.get("status"), "ok", ".bridge_status: %r" % a)
    return a["data"]


def flood(path, line, total, secs, sent):
    """Writes line over and over on a new client, never reading, until total
    bytes went out, secs passed, or the bridge closed it."""
    s = api_conn(path, timeout=0.5)
    end = time.monotonic() + secs
    data = memoryview(line)
    try:
        while sent[0] < total and time.monotonic() < end:
            try:
                k = s.send(data[sent[0] % len(line):])
            except socket.timeout:
                continue
            sent[0] += k
    except OSError:
        sent.append("closed")
    finally:
        s.close()


@test
def api_socket_flood_from_non_reading_clients_is_bounded(h):
    """Two clients write requests and never read: A sends 100 MB in 1 MB
    lines (small answers), B sends small requests whose answers pile up.
    The bridge reads A through, stops reading B once 1 MiB of answers wait,
    closes B after api_stall_timeout_ms, and stays under 64 MiB of RSS
    growth while serving another client."""
    with Bridge(h, "--api-stall-timeout-ms", "2500") as b:
        rss0 = b.rss_kb()
        big = (json.dumps({"action": "send_msg", "params": {
            "message": "x" * (1 << 20)}}) + "\n").encode()
        small = b'{"action":"get_status","id":1234567}\n'
        sa, sb = [0], [0]
        ta = threading.Thread(target=flood, args=(b.sock, big, 100 << 20,
                                                  20, sa))
        tb = threading.Thread(target=flood, args=(b.sock, small, 100 << 20,
                                                  20, sb))
        ta.start()
        tb.start()
        peak, served, paused = rss0, 0, False
        t0 = time.monotonic()
        while (ta.is_alive() or tb.is_alive()) and time.monotonic() - t0 < 20:
            peak = max(peak, b.rss_kb())
            st = status(b)
            served += 1
            paused = paused or st["api_clients_paused"] >= 1
            check(st["api_out_bytes"] <= 3 << 20,
                  "answers queued: %d" % st["api_out_bytes"])
            time.sleep(0.2)
        ta.join(25)
        tb.join(25)
        grow = (peak - rss0) / 1024
        print("  flood: A sent %.1f MB, B sent %.1f MB; RSS %d -> peak %d "
              "KiB (+%.1f MiB); %d status calls served"
              % (sa[0] / 1e6, sb[0] / 1e6, rss0, peak, grow, served))
        check(sa[0] >= 100 << 20, "A's requests read: %d bytes" % sa[0])
        check(paused, "B's requests were never paused")
        check(grow < 64, "RSS grew %.1f MiB" % grow)
        check(served >= 5, "only %d status calls served" % served)
        wait_for(lambda: "answers unread for 2500 ms; disconnected" in b.log(),
                 timeout=10, what="B closed for its unread answers")
        eq(status(b)["api_clients_stalled"], 1, "api_clients_stalled")


@test
def descriptor_exhaustion_backs_off(h):
    """Under ulimit -n 256, max_connections is capped and logged. With the
    limit then lowered to 40 (prlimit on the running bridge) and 300 idle
    connections waiting, accept fails with EMFILE: the bridge pauses its
    listeners, uses under 0.5 s of CPU and writes under 1 MB of log in 3 s,
    and serves again once descriptors are back."""
    with Bridge(h, "--log-level", "debug", nofile=256) as b:
        check("max_connections 10000 capped to 176: the descriptor limit is "
              "256" in b.log(), b.log()[-1500:])
        check("max_connections 176" in b.log(), "effective value logged")
        resource.prlimit(b.p.pid, resource.RLIMIT_NOFILE, (40, 256))
        conns = []
        try:
            for _ in range(300):
                c = socket.socket()
                c.setblocking(False)
                c.connect_ex(("127.0.0.1", b.port))
                conns.append(c)
            for _ in range(20):
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                c.setblocking(False)
                c.connect_ex(b.sock)
                conns.append(c)
            time.sleep(0.3)
            cpu0, log0 = b.cpu_s(), os.path.getsize(b.log_path)
            time.sleep(3)
            cpu, logb = b.cpu_s() - cpu0, os.path.getsize(b.log_path) - log0
            print("  descriptors: %.2f s CPU, %d bytes of log in 3 s"
                  % (cpu, logb))
            check(cpu < 0.5, "CPU %.2f s in 3 s" % cpu)
            check(logb < 1 << 20, "log %d bytes in 3 s" % logb)
            check("accept: Too many open files; new connections wait"
                  in b.log(), b.log()[-1500:])
        finally:
            for c in conns:
                c.close()
        resource.prlimit(b.p.pid, resource.RLIMIT_NOFILE, (256, 256))

        def served():
            try:   # The backlog, drained at once, may pass the cap a while.
                return status(b)["connections"] == 0
            except AssertionError:
                return False
        wait_for(served, timeout=10, what="the bridge serving again")


@test
def sigterm_refuses_new_clients_and_calls_at_once(h):
    """During the drain of a call in flight: a fresh API-socket client and
    a fresh WebSocket connection are refused at once, a connected client's
    new request gets a no_connection answer at once, and the call in
    flight still gets its answer."""
    with Bridge(h) as b:
        ws = wsraw.RawWS.connect(b.port, 10001)
        a = api_conn(b.sock)
        idle = api_conn(b.sock)
        try:
            a.sendall(b'{"action":"get_login_info","id":"a"}\n')
            call = json.loads(ws.recv_data()[1])
            eq(call["action"], "get_login_info", "call on the WebSocket")
            b.p.send_signal(signal.SIGTERM)
            wait_for(lambda: not os.path.exists(b.sock), timeout=2,
                     what="the socket path removed")
            t0 = time.monotonic()
            try:
                api_conn(b.sock, timeout=1).close()
                raise AssertionError("a fresh API-socket client connected")
            except (FileNotFoundError, ConnectionRefusedError):
                pass
            try:
                socket.create_connection(("127.0.0.1", b.port), 1).close()
                raise AssertionError("a fresh WebSocket client connected")
            except ConnectionRefusedError:
                pass
            idle.sendall(b'{"action":"send_msg","params":{},"id":7}\n')
            ans = recv_line(idle)
            dt = time.monotonic() - t0
            eq((ans.get("bridge"), ans.get("id")), ("no_connection", 7),
               "answer during the drain: %r" % ans)
            check("stopping" in ans.get("msg", ""), ans)
            check(dt < 1, "refusals took %.2f s" % dt)
            ws.send_text(json.dumps({"status": "ok", "retcode": 0,
                                     "data": {"user_id": 10001},
                                     "echo": call["echo"]}))
            eq(recv_line(a).get("data"), {"user_id": 10001},
               "the call in flight finished")
            eq(b.p.wait(timeout=5), 0, "exit code")
        finally:
            for s in (a, idle, ws):
                s.close()


PEER = """
import os, socket, sys
os.setgroups([int(g) for g in sys.argv[2].split(",") if g])
os.setgid(0)
os.setuid(65534)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
try:
    s.sendall(b'{"action":".bridge_status"}\\n')
except BrokenPipeError:
    pass  # Refused: the answer is already waiting.
sys.stdout.write(s.makefile().readline())
"""


def as_nobody(sock, groups):
    out = subprocess.run([sys.executable, "-c", PEER, sock, groups],
                         capture_output=True, timeout=10)
    check(out.returncode == 0, out.stderr.decode()[-500:])
    return json.loads(out.stdout)


@test
def api_allow_checks_peer_credentials(h):
    """With api_allow = user:root,group:4242, uid nobody (group 0, which
    the socket's mode lets in) is refused with an answer and a log line;
    the same uid with supplementary group 4242 is served."""
    if os.geteuid() != 0:
        from harness import Skip
        raise Skip("needs root to run a client as another uid")
    with Bridge(h, "--api-allow", "user:root, group:4242") as b:
        ans = as_nobody(b.sock, "")
        eq((ans.get("status"), ans.get("bridge")), ("failed", "refused"),
           "refused caller: %r" % ans)
        check("uid 65534 gid 0 refused: not allowed by api_allow" in b.log(),
              b.log()[-1500:])
        eq(as_nobody(b.sock, "4242").get("status"), "ok", "allowed caller")
        eq(status(b)["api_clients_refused"], 1, "api_clients_refused")
    b = Bridge(h, "--api-allow", "user:no-such-user-here").spawn()
    eq(b.p.wait(timeout=10), 2, "exit code for an unknown user")
    check('api_allow: no such user "no-such-user-here"' in b.log(), b.log())


@test
def live_socket_kept_stale_socket_replaced(h):
    """A second bridge on a live --bridge-socket exits 1 and the first
    keeps serving; a stale socket file is replaced; a regular file is
    never removed."""
    with Bridge(h) as first:
        second = Bridge(h, sock=first.sock).spawn()
        eq(second.p.wait(timeout=10), 1, "second instance's exit code")
        check("another process is listening there" in second.log(),
              second.log())
        eq(status(first)["api_clients"], 1, "first still serves")
    d = tempfile.mkdtemp(prefix="cq-stale-", dir=h.tmp)
    stale = os.path.join(d, "api.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale)
    s.close()
    with Bridge(h, sock=stale) as b:
        eq(status(b)["api_clients"], 1, "bridge on a stale socket path")
    plain = os.path.join(d, "notes.txt")
    with open(plain, "w") as f:
        f.write("keep me")
    b = Bridge(h, sock=plain).spawn()
    eq(b.p.wait(timeout=10), 1, "exit code on a regular file")
    check("exists and is not a socket" in b.log(), b.log())
    with open(plain) as f:
        eq(f.read(), "keep me", "the file is untouched")


@test
def fcgi_listen_live_socket_kept(h):
    """cqhttp-fcgi --listen PATH shares the probe: a second responder on a
    live path exits 1 and the first keeps its socket."""
    d = tempfile.mkdtemp(prefix="cq-fcgi-", dir=h.tmp)
    path = os.path.join(d, "fcgi.sock")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CQHTTP_")}
    exe = program("src/fcgi/cqhttp-fcgi")
    first = subprocess.Popen([exe, "--listen", path], env=env,
                             stdin=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: os.path.exists(path), what="the first responder")
        second = subprocess.run([exe, "--listen", path], env=env,
                                stdin=subprocess.DEVNULL,
                                capture_output=True, timeout=10)
        eq(second.returncode, 1, "second responder's exit code")
        check(b"another process is listening there" in second.stderr,
              second.stderr)
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(path)     # The first one's socket is still there.
    finally:
        first.send_signal(signal.SIGTERM)
        eq(first.wait(timeout=15), 0, "first responder's exit code")
