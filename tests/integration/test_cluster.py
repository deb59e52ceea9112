"""nginx/cqhttp-cluster.conf as shipped, with loopback addresses as hosts:
one nginx (127.0.0.2), two responders on TCP under spawn-fcgi (127.0.0.3-4),
three bridges (127.0.0.5-7), and 30 accounts played by "cqhttp-sim connect"
through nginx's /ws/.

An event posted to nginx runs the example bot on a responder, whose send_msg
goes to nginx's /api/ with X-Self-ID and must reach that account's own
WebSocket: checked per account in the simulators' call logs. Then one bridge
is killed: its accounts redial, land on the others by the hash, and their
calls work again, while no other account's connection drops.

Only the config's addresses and ports are replaced (10.0.0.N:P by a
loopback address and a free port on it).
"""

import concurrent.futures
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import time

from harness import (SRCDIR, check, clean_env, eq, no_sanitizer_report,
                     program, test)
from servers import (run_nginx, sign, start_bridge, stop_nginx,
                     stop_responder, wait_for)
from test_sim_connect import PREFIX, Sim

ACCOUNTS = 30
SECRET = "cluster-secret"
RECONNECT_MS = 300
# The config's hosts (last octet of 10.0.0.N) and the test's for them.
HOSTS = {1: "127.0.0.2", 11: "127.0.0.3", 12: "127.0.0.4",
         21: "127.0.0.5", 22: "127.0.0.6", 23: "127.0.0.7"}
BRIDGES = (21, 22, 23)


def free_port_on(addr):
    with socket.socket() as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


def site_text(ports):
    """The shipped config, each 10.0.0.N[:P] replaced by HOSTS[N][:port]."""
    with open(os.path.join(SRCDIR, "nginx", "cqhttp-cluster.conf")) as f:
        text = f.read()
    seen = set()

    def repl(m):
        n = int(m.group(1))
        check(n in HOSTS, "an address the test does not know: " + m.group(0))
        if m.group(2) is None:
            return HOSTS[n]
        seen.add(n)
        return "%s:%d" % (HOSTS[n], ports[n])
    text = re.sub(r"\b10\.0\.0\.(\d+)(:\d+)?\b", repl, text)
    eq(seen, set(HOSTS), "host:port pairs in the shipped config")
    return text


def start_tcp_responder(n, port, d, nginx_url):
    """cqhttp-fcgi under spawn-fcgi -a HOSTS[n] -p port, as the config's
    comment starts it."""
    env = clean_env(FCGI_WEB_SERVER_ADDRS=HOSTS[1],
                    CQHTTP_API_ROOT=nginx_url + "/api", CQHTTP_SECRET=SECRET,
                    CQHTTP_THREADS="2", CQHTTP_API_TIMEOUT_MS="5000")
    log_path = os.path.join(d, "fcgi-%d.log" % n)
    with open(log_path, "ab") as log:
        p = subprocess.Popen(
            ["spawn-fcgi", "-n", "-a", HOSTS[n], "-p", str(port), "--",
             program("src/fcgi/cqhttp-fcgi")], env=env, stdout=log,
            stderr=log, stdin=subprocess.DEVNULL)

    def up():
        check(p.poll() is None, "responder exited %r" % p.returncode)
        try:
            socket.create_connection((HOSTS[n], port), timeout=1).close()
            return True
        except OSError:
            return False
    wait_for(up, what="responder on %s:%d" % (HOSTS[n], port))
    return p, log_path


def fcgi_refuses_strangers(addr, port):
    """A FastCGI BEGIN_REQUEST from 127.0.0.1 (not the nginx host) is closed
    unanswered: FCGI_WEB_SERVER_ADDRS at work."""
    begin = bytes([1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0])
    with socket.create_connection((addr, port), timeout=5) as s:
        s.sendall(begin)
        try:
            return s.recv(64) == b""
        except ConnectionResetError:
            return True


def event(sid, uid, text):
    return json.dumps({"post_type": "message", "message_type": "private",
                       "sub_type": "friend", "self_id": sid, "user_id": uid,
                       "message_id": 1, "message": text,
                       "time": 1}).encode()


def post(port, sid, uid, text):
    """POSTs a signed event to nginx; returns (status, answer)."""
    body = event(sid, uid, text)
    c = http.client.HTTPConnection(HOSTS[1], port, timeout=15)
    try:
        c.request("POST", "/", body, {"Content-Type": "application/json",
                                      "X-Self-ID": str(sid),
                                      "X-Signature": sign(SECRET, body)})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def landed(sim, uid):
    """Whether sim's call log holds the example bot's send_msg to uid."""
    return any(c["action"] == "send_msg" and
               c["params"].get("user_id") == uid and
               c["params"].get("message") == PREFIX and c["status"] == "ok"
               for c in sim.calls())


def round_trip(port, sim, sid, uid, wait=5):
    """One event for sid; its send_msg must show in sim's log within wait
    seconds (the handler makes the call before it answers)."""
    text = "acct %d uid %d" % (sid, uid)
    status, body = post(port, sid, uid, text)
    eq(status, 200, "HTTP status for account %d" % sid)
    eq(json.loads(body), {"reply": text, "at_sender": False},
       "quick operation for account %d" % sid)
    wait_for(lambda: landed(sim, uid), timeout=wait,
             what="account %d's send_msg in its own call log" % sid)


def owners(bridge_logs):
    """{self_id: bridge N} from the bridges' "connection ... open" lines
    (the latest wins)."""
    own = {}
    for n, path in bridge_logs.items():
        with open(path, "rb") as f:
            for m in re.finditer(rb"account (\d+): Universal connection from "
                                 rb"\S+ open", f.read()):
                own[int(m.group(1))] = n
    return own


class Cluster:
    """Everything started, for the finally: to stop."""

    def __init__(self, h):
        self.dir = tempfile.mkdtemp(prefix="cq-cluster-", dir=h.tmp)
        os.chmod(self.dir, 0o755)
        self.ports = {n: free_port_on(a) for n, a in HOSTS.items()}
        self.url = "http://%s:%d" % (HOSTS[1], self.ports[1])
        self.responders = []
        self.bridges = {}
        self.bridge_logs = {}
        self.nginx = None
        self.sims = {}

    def start(self, h):
        env = clean_env(CQHTTP_LOG_LEVEL="info", CQHTTP_API_TIMEOUT_MS="5000")
        for n in BRIDGES:
            self.bridge_logs[n] = os.path.join(self.dir, "bridge-%d.log" % n)
            self.bridges[n] = start_bridge(
                program("src/bridge/cqhttp-bridge"), self.ports[n],
                os.path.join(self.dir, "bridge-%d.sock" % n), env,
                self.bridge_logs[n], host=HOSTS[n])
        for n in (11, 12):
            self.responders.append(start_tcp_responder(
                n, self.ports[n], self.dir, self.url))
        self.nginx = run_nginx(self.dir, site_text(self.ports), HOSTS[1],
                               self.ports[1])
        ws = "ws://%s:%d/ws/" % (HOSTS[1], self.ports[1])
        for i in range(ACCOUNTS):
            sid = 20000000 + 7919 * i
            self.sims[sid] = Sim(h, "--url", ws, "--self-id", str(sid),
                                 "--reconnect-ms", str(RECONNECT_MS))
        for s in self.sims.values():
            s.wait_open()

    def stop(self):
        """Stops all; returns the failures (exit codes, sanitizer reports)."""
        bad = []
        for sid, s in self.sims.items():
            try:
                rc = s.stop()
                if rc != 0:
                    bad.append("sim %d exited %r" % (sid, rc))
            except AssertionError as e:
                bad.append(str(e))
        stop_nginx(self.nginx)
        logs = [(p, log) for p, log in self.responders]
        logs += [(self.bridges[n], self.bridge_logs[n]) for n in self.bridges]
        for p, log in logs:
            rc = stop_responder(p) if p.poll() is None else p.returncode
            with open(log, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            try:
                no_sanitizer_report(text, log)
            except AssertionError as e:
                bad.append(str(e))
            if rc != 0 and p.returncode != -signal.SIGKILL:
                bad.append("%s: exit %r\n%s" % (log, rc, text[-1500:]))
        return bad


@test
def cluster_routes_accounts_and_survives_a_bridge(h):
    c = Cluster(h)
    try:
        run_cluster(c, h)
    finally:
        bad = c.stop()
    check(not bad, "teardown: " + "\n".join(bad))


def run_cluster(c, h):
    c.start(h)
    port = c.ports[1]
    for n in (11, 12):
        check(fcgi_refuses_strangers(HOSTS[n], c.ports[n]),
              "responder %s answered a host that is not nginx" % HOSTS[n])
    sids = sorted(c.sims)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        # Round 1: every account's call reaches its own WebSocket.
        list(pool.map(lambda i: round_trip(port, c.sims[sids[i]], sids[i],
                                           1000000 + i), range(ACCOUNTS)))
        for i, sid in enumerate(sids):
            got = [x["params"].get("user_id") for x in c.sims[sid].calls()
                   if x["action"] == "send_msg"]
            eq(got, [1000000 + i], "send_msg calls on account %d's socket"
               % sid)
        own = owners(c.bridge_logs)
        eq(sorted(own), sids, "accounts the bridges hold")
        counts = {n: sum(1 for v in own.values() if v == n) for n in BRIDGES}
        victim = max(BRIDGES, key=lambda n: counts[n])
        moved = [sid for sid in sids if own[sid] == victim]
        stayed = [sid for sid in sids if own[sid] != victim]
        check(moved and stayed, "accounts spread over bridges: %r" % counts)

        # Kill the busiest bridge; its accounts redial through nginx.
        t0 = time.monotonic()
        c.bridges[victim].send_signal(signal.SIGKILL)
        c.bridges[victim].wait()

        def recover(sid):
            """Posts until the account's call lands; returns the seconds
            since the kill."""
            i = sids.index(sid)
            for attempt in range(100):
                uid = 2000000 + 1000 * i + attempt
                if time.monotonic() - t0 > 10:
                    break
                try:
                    round_trip(port, c.sims[sid], sid, uid, wait=0.3)
                    return time.monotonic() - t0
                except AssertionError:
                    time.sleep(0.1)
            raise AssertionError("account %d's calls did not come back within "
                                 "10 s of the kill" % sid)
        times = list(pool.map(recover, moved))
        own = owners({n: p for n, p in c.bridge_logs.items() if n != victim})
        for sid in moved:
            check(own.get(sid) not in (None, victim),
                  "account %d is on a surviving bridge" % sid)
        # Round 2 for the others: still working, never dropped.
        list(pool.map(lambda sid: round_trip(port, c.sims[sid], sid,
                                             3000000 + sids.index(sid)),
                      stayed))
    for sid in stayed:
        err = c.sims[sid].stderr()
        eq(err.count("connection: open"), 1,
           "account %d connected once (%s)" % (sid, err[-400:]))
        check("dialling again" not in err and "dropped" not in err,
              "account %d was disturbed: %s" % (sid, err[-400:]))
    for sid in moved:
        check(c.sims[sid].stderr().count("connection: open") >= 2,
              "account %d redialled" % sid)
    print("failover: %d of %d accounts moved off bridge %s; their calls "
          "worked again %.2f s after the kill (slowest; redial every %d ms)"
          % (len(moved), ACCOUNTS, HOSTS[victim], max(times), RECONNECT_MS))
