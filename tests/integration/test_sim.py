"""cqhttp-sim: the OneBot simulator's three subcommands.

"serve" is started on port 0 and called with Python's http.client (and curl,
for libcurl's connection reuse); its JSON-line log is read back. "post" is
sent to a real stack (nginx, spawn-fcgi, cqhttp-fcgi with the example bot)
and to a small capturing server here. "cq" is checked against the vectors of
PROTOCOL.md 8.3. Every process started is stopped with SIGTERM and must exit
0 with no sanitizer report.
"""

import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time

from harness import (check, clean_env, eq, fixture, no_sanitizer_report,
                     program, test, wait_for)

SIM = "src/sim/cqhttp-sim"
JSON_TYPE = "application/json; charset=UTF-8"


def run_sim(args, stdin=b"", env=None, timeout=30):
    """Runs cqhttp-sim to its end; returns (exit code, stdout, stderr)."""
    p = subprocess.run([program(SIM)] + args, input=stdin,
                       capture_output=True, timeout=timeout,
                       env=env if env is not None else clean_env())
    err = p.stderr.decode("utf-8", "replace")
    no_sanitizer_report(err, "cqhttp-sim " + " ".join(args[:2]))
    return p.returncode, p.stdout.decode("utf-8", "replace"), err


class Answer:
    def __init__(self, status, headers, body, peer):
        self.status = status
        self.headers = headers
        self.body = body
        self.peer = peer

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%r %r>" % (self.status, self.body[:200])


class Server:
    """A running "cqhttp-sim serve" on a port it picked."""

    def __init__(self, h, *args, env=None):
        self.dir = tempfile.mkdtemp(prefix="cq-sim-", dir=h.tmp)
        self.log_path = os.path.join(self.dir, "calls.log")
        self.err_path = os.path.join(self.dir, "stderr")
        cmd = [program(SIM), "serve", "--listen", "127.0.0.1:0",
               "--log", self.log_path] + list(args)
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                cmd, stdout=subprocess.DEVNULL, stderr=err,
                stdin=subprocess.DEVNULL,
                env=env if env is not None else clean_env())
        self.port = None
        try:
            wait_for(self._ready, what="cqhttp-sim serve to listen")
        except Exception:
            self.proc.kill()
            self.proc.wait()
            raise

    def _ready(self):
        m = re.search(r"^listening on 127\.0\.0\.1:(\d+)$", self.stderr(),
                      re.M)
        if m:
            self.port = int(m.group(1))
            return True
        if self.proc.poll() is not None:
            raise AssertionError("serve exited %r: %s"
                                 % (self.proc.returncode, self.stderr()))
        return False

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def connect(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)

    def call(self, method, path, body=None, headers=None, conn=None):
        own = conn is None
        if own:
            conn = self.connect()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            peer = "127.0.0.1:%d" % conn.sock.getsockname()[1]
            r = conn.getresponse()
            return Answer(r.status, dict(r.getheaders()), r.read(), peer)
        finally:
            if own:
                conn.close()

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post_json(self, path, obj, headers=None, **kw):
        hdrs = {"Content-Type": "application/json"}
        hdrs.update(headers or {})
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        return self.call("POST", path, body, hdrs, **kw)

    def post_form(self, path, text, **kw):
        return self.call("POST", path, text.encode(), {
            "Content-Type": "application/x-www-form-urlencoded"}, **kw)

    def log(self):
        with open(self.log_path, "rb") as f:
            return [json.loads(line) for line in f.read().splitlines()]

    def last(self):
        return self.log()[-1]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = "hung"
        err = self.stderr()
        eq(rc, 0, "cqhttp-sim serve exit code after SIGTERM (stderr: %s)"
           % err[-2000:])
        no_sanitizer_report(err, "cqhttp-sim serve")

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.stop()
        else:
            try:
                self.stop()
            except AssertionError:
                pass  # The test's own failure says more.
        return False


def ok_answer(r, what=""):
    eq(r.status, 200, what + " HTTP status")
    eq(r.headers.get("Content-Type"), JSON_TYPE, what + " Content-Type")
    a = r.json()
    eq((a["status"], a["retcode"]), ("ok", 0), what + " answer %r" % a)
    return a["data"]


def failed_answer(r, retcode=100):
    eq(r.status, 200, "HTTP status of a failed action")
    a = r.json()
    eq((a["status"], a["retcode"], a["data"]), ("failed", retcode, None),
       "failed answer %r" % a)
    return a


def is_int32(v):
    return isinstance(v, int) and -2**31 <= v < 2**31


# -- help and usage --------------------------------------------------------

@test
def sim_help_lists_commands(h):
    rc, out, err = run_sim(["--help"])
    eq(rc, 0, "--help exit")
    for cmd in ("post", "serve", "cq"):
        check(re.search(r"^  %s " % cmd, out, re.M), "%s listed:\n%s"
              % (cmd, out))
    rc, out, _ = run_sim(["--version"])
    eq(rc, 0)
    check(out.startswith("cqhttp-sim "), out)


@test
def sim_subcommand_help(h):
    for cmd, words in (("post", ["--private", "--file", "--secret",
                                 "--group-request", "X-Signature"]),
                       ("serve", ["--listen", "--access-token", "--fault",
                                  "slow:MS", "partial", "--any-address"]),
                       ("cq", ["parse", "format"])):
        rc, out, err = run_sim([cmd, "--help"])
        eq(rc, 0, cmd + " --help exit")
        check(out.startswith("Usage: cqhttp-sim %s" % cmd), out)
        for w in words:
            check(w in out, "%s --help mentions %s" % (cmd, w))
        eq(err, "", cmd + " --help stderr")


@test
def sim_bad_usage_exits_2(h):
    cases = [
        ([], "no command"),
        (["frobnicate"], "unknown command"),
        (["post"], "no EVENT"),
        (["post", "--private", "abc", "hi"], "not a QQ number"),
        (["post", "--private", "123"], "needs the message TEXT"),
        (["post", "--group", "1"], "needs two ids"),
        (["post", "--heartbeat", "--private", "1", "x"], "only one EVENT"),
        (["post", "--heartbeat", "--bogus"], "unknown option"),
        (["post", "--url"], "needs a value"),
        (["post", "--private", "1", "\udcff"],  # The byte 0xff.
         "not valid UTF-8"),
        (["post", "--file", "x.json", "--self-id", "5"], "--self-id"),
        (["post", "--api-timeout-ms", "zero", "--heartbeat"],
         "api_timeout_ms"),
        (["serve", "--bogus"], "unknown option"),
        (["serve", "--fault", "explode"], "KIND must be"),
        (["serve", "--fault", "http:99"], "KIND must be"),
        (["serve", "--fault", "=close"], "action before"),
        (["serve", "--log"], "needs a value"),
        (["serve", "--listen", "nonsense"], "not HOST:PORT"),
        (["serve", "--listen", "0.0.0.0:0"], "not a loopback address"),
        (["cq"], "parse"),
        (["cq", "reverse"], "unknown conversion"),
        (["cq", "parse", "extra"], "unexpected argument"),
    ]
    for args, words in cases:
        rc, out, err = run_sim(args)
        eq(rc, 2, "exit code of %r (stderr %r)" % (args, err))
        check(words in err, "%r: stderr %r names the problem (%r)"
              % (args, err, words))
        check("--help" in err, "%r: stderr points at --help" % (args,))


# -- serve: request forms ---------------------------------------------------

@test
def serve_get_query_string(h):
    with Server(h) as s:
        r = s.get("/send_private_msg?user_id=12345&message=hi%20there")
        data = ok_answer(r, "GET")
        check(is_int32(data["message_id"]), "int32 message_id %r" % data)
        line = s.last()
        eq(line["method"], "GET")
        eq(line["action"], "send_private_msg")
        eq(line["params"], {"user_id": "12345", "message": "hi there"})
        eq((line["http_status"], line["status"], line["retcode"]),
           (200, "ok", 0))
        eq(line["auth"], None)
        eq(line["peer"], r.peer, "peer with the client's port")
        eq(line["seq"], 1)
        check(isinstance(line["time"], int), "integer time")


@test
def serve_trailing_slash_and_form_body(h):
    with Server(h) as s:
        r = s.post_form("/send_group_msg/", "group_id=42&message=a+b%26c")
        ok_answer(r, "form")
        eq(s.last()["params"], {"group_id": "42", "message": "a b&c"})
        eq(s.last()["method"], "POST")


@test
def serve_json_body_keeps_types(h):
    msg = [{"type": "face", "data": {"id": "178"}},
           {"type": "text", "data": {"text": "看看"}}]
    with Server(h) as s:
        r = s.post_json("/send_msg", {"message_type": "group", "group_id": 7,
                                      "message": msg, "auto_escape": False})
        ok_answer(r, "JSON")
        eq(s.last()["params"], {"message_type": "group", "group_id": 7,
                                "message": msg, "auto_escape": False})


@test
def serve_merge_order_body_form_query(h):
    with Server(h) as s:
        # JSON body, then query: the query wins, the key keeps its place.
        r = s.post_json("/send_private_msg?message=from-query&extra=q",
                        {"user_id": 1, "message": "from-body", "z": 0})
        ok_answer(r)
        params = s.last()["params"]
        eq(list(params), ["user_id", "message", "z", "extra"], "key order")
        eq(params["message"], "from-query")
        # Form body, then query.
        r = s.post_form("/send_private_msg?user_id=2", "user_id=1&message=m")
        ok_answer(r)
        eq(s.last()["params"], {"user_id": "2", "message": "m"})
        # A repeated query key: the last one wins.
        ok_answer(s.get("/get_stranger_info?user_id=5&user_id=6"))
        eq(s.last()["params"], {"user_id": "6"})


@test
def serve_post_root_with_action(h):
    with Server(h) as s:
        r = s.post_json("/", {"action": "get_group_member_info",
                              "params": {"group_id": 5, "user_id": "6"},
                              "echo": "x"})
        data = ok_answer(r, "POST /")
        eq((data["group_id"], data["user_id"]), (5, 6), "ids echoed")
        for field in ("nickname", "card", "sex", "age", "area", "join_time",
                      "last_sent_time", "level", "role", "unfriendly",
                      "title", "title_expire_time", "card_changeable"):
            check(field in data, "member field " + field)
        line = s.last()
        eq(line["action"], "get_group_member_info")
        eq(line["params"], {"group_id": 5, "user_id": "6"})
        # Without an action POST / is not found; params must be an object.
        eq(s.post_json("/", {"params": {}}).status, 404)
        eq(s.post_json("/", {"action": "get_status", "params": [1]}).status,
           400)


@test
def serve_async_suffix(h):
    with Server(h) as s:
        for action in ("send_msg_async", "get_status_async",
                       "send_like_rate_limited"):
            r = s.get("/" + action)
            eq(r.status, 200)
            eq(r.json(), {"data": None, "retcode": 1, "status": "async"},
               action)
            eq((s.last()["action"], s.last()["status"]), (action, "async"))
        eq(s.get("/no_such_action_async").status, 404)


# -- serve: authentication --------------------------------------------------

@test
def serve_access_token(h):
    with Server(h, "--access-token", "s3cret") as s:
        cases = [
            ({}, "", 401, None),
            ({"Authorization": "Bearer wrong"}, "", 403, "Bearer <redacted>"),
            ({"Authorization": "Basic czNjcmV0"}, "", 403, "Basic <redacted>"),
            ({}, "?access_token=wrong", 403, "access_token=<redacted>"),
            ({"Authorization": "Bearer s3cret"}, "", 200, "Bearer <redacted>"),
            ({"Authorization": "Token s3cret"}, "", 200, "Token <redacted>"),
            ({"Authorization": "bearer s3cret"}, "", 200, "bearer <redacted>"),
            ({"Authorization": "token s3cret"}, "", 200, "token <redacted>"),
            ({}, "?access_token=s3cret", 200, "access_token=<redacted>"),
            # The header, when present, wins over the query.
            ({"Authorization": "Bearer wrong"}, "?access_token=s3cret", 403,
             "Bearer <redacted>"),
        ]
        for headers, query, status, auth in cases:
            r = s.get("/get_login_info" + query, headers=headers)
            eq(r.status, status, "%r %r" % (headers, query))
            line = s.last()
            eq((line["http_status"], line["auth"], line["action"]),
               (status, auth, "get_login_info"), "log of %r" % line)
            check("s3cret" not in json.dumps(line), "token in the log")
            if status != 200:
                eq(r.body, b"", "empty body of a rejection")
                eq((line["status"], line["retcode"]), (None, None))
                check(line.get("error"), "a rejection says why")
            else:
                eq(line["params"], {}, "access_token is not a parameter")


@test
def serve_access_token_from_environment(h):
    with Server(h, env=clean_env(CQHTTP_ACCESS_TOKEN="envtok")) as s:
        eq(s.get("/get_status").status, 401)
        ok_answer(s.get("/get_status",
                        headers={"Authorization": "Bearer envtok"}))


# -- serve: rejections, checks, data ----------------------------------------

@test
def serve_http_rejections(h):
    with Server(h) as s:
        conn = s.connect()
        cases = [
            ("GET", "/no_such_action", None, {}, 404),
            ("GET", "/", None, {}, 404),
            ("GET", "/a/b", None, {}, 404),
            ("PUT", "/get_status", b"", {}, 405),
            ("DELETE", "/get_status", None, {}, 405),
            ("POST", "/get_status", b"x", {"Content-Type": "text/plain"}, 406),
            ("POST", "/get_status", b"{bad", {"Content-Type":
                                              "application/json"}, 400),
            ("POST", "/get_status", b"[1,2]", {"Content-Type":
                                               "application/json"}, 400),
            ("POST", "/get_status", b'{"a":1}/*c*/', {
                "Content-Type": "application/json"}, 400),
            ("POST", "/get_status", b"=&=", {
                "Content-Type": "application/x-www-form-urlencoded"}, 400),
            ("GET", "/get_status?novalue", None, {}, 400),
        ]
        for method, path, body, headers, status in cases:
            r = s.call(method, path, body, headers, conn=conn)
            eq(r.status, status, "%s %s %r" % (method, path, body))
            line = s.last()
            eq((line["method"], line["http_status"]), (method, status))
            check(line.get("error"), "logged with a reason: %r" % line)
            if status == 405:
                eq(r.headers.get("Allow"), "GET, POST")
            # Every rejection leaves the connection usable.
            ok_answer(s.get("/get_status", conn=conn), "after %d" % status)
        # 406 is for POST only: a GET's body is ignored.
        ok_answer(s.call("GET", "/get_status", b"x",
                         {"Content-Type": "text/plain"}))
        # JSON with a charset parameter is JSON.
        ok_answer(s.post_json("/get_status", {}, headers={
            "Content-Type": "Application/JSON; charset=utf-8"}))
        eq(s.last()["params"], {})
        conn.close()


@test
def serve_parameter_checks(h):
    with Server(h) as s:
        bad = [
            ("/send_private_msg?message=hi", "user_id"),
            ("/send_private_msg?user_id=abc&message=hi", "user_id"),
            ("/send_private_msg?user_id=1", "message"),
            ("/send_private_msg?user_id=1&message=x&auto_escape=maybe",
             "auto_escape"),
            ("/send_msg?message=hi", "user_id"),
            ("/send_msg?message_type=group&user_id=1&message=hi", "group_id"),
            ("/send_msg?message_type=channel&user_id=1&message=hi",
             "message_type"),
            ("/set_group_add_request?flag=f", "sub_type"),
            ("/delete_msg", "message_id"),
        ]
        for path, word in bad:
            a = failed_answer(s.get(path))
            check(word in a["msg"], "%s: msg %r names %s" % (path, a["msg"],
                                                             word))
            line = s.last()
            eq((line["status"], line["retcode"]), ("failed", 100))
            check(word in line["error"], "log error names " + word)
        good = [
            "/send_private_msg?user_id=1&message=x&auto_escape=yes",
            "/send_private_msg?user_id=1&message=x&auto_escape=0",
            "/send_private_msg?user_id=1&message=x&auto_escape=TRUE",
            "/send_msg?group_id=3&message=%5BCQ:face,id=1%5D",
            "/set_group_add_request?flag=f&type=invite&approve=false",
            "/set_group_ban?group_id=1&user_id=2&duration=60",
        ]
        for path in good:
            ok_answer(s.get(path), path)
        # JSON values: real types, and a segment object or array as message.
        ok_answer(s.post_json("/send_group_msg", {
            "group_id": 1, "message": {"type": "text", "data": {"text": "x"}},
            "auto_escape": True}))
        failed_answer(s.post_json("/send_group_msg", {
            "group_id": 1, "message": [{"data": {}}]}))
        failed_answer(s.post_json("/send_group_msg", {
            "group_id": True, "message": "x"}))
        failed_answer(s.post_json("/send_group_msg", {
            "group_id": None, "message": "x"}))


@test
def serve_plausible_data(h):
    with Server(h, "--self-id", "3096407768") as s:
        eq(ok_answer(s.get("/get_login_info"))["user_id"], 3096407768)
        st = ok_answer(s.get("/get_status"))
        eq((st["online"], st["good"]), (True, True))
        v = ok_answer(s.get("/get_version_info"))
        eq((v["app_name"], v["protocol_version"]), ("cqhttp-sim", "v11"))
        check(v["app_version"], "a version")
        stranger = ok_answer(s.get("/get_stranger_info?user_id=77"))
        eq(stranger["user_id"], 77)
        check({"nickname", "sex", "age"} <= set(stranger), "stranger")
        groups = ok_answer(s.get("/get_group_list"))
        check(isinstance(groups, list) and groups, "groups")
        check({"group_id", "group_name", "member_count",
               "max_member_count"} <= set(groups[0]), "group fields")
        friends = ok_answer(s.get("/get_friend_list"))
        check({"user_id", "nickname", "remark"} <= set(friends[0]),
              "friend fields")
        eq(ok_answer(s.get("/get_group_info?group_id=99"))["group_id"], 99)
        members = ok_answer(s.get("/get_group_member_list?group_id=99"))
        eq({m["group_id"] for m in members}, {99})
        eq(ok_answer(s.get("/can_send_image")), {"yes": True})
        eq(ok_answer(s.get("/set_group_kick?group_id=1&user_id=2")), None)
        eq(s.get("/set_restart").json()["status"], "async")
        # Message ids: int32, increasing by one.
        ids = [ok_answer(s.get("/send_private_msg?user_id=1&message=%d" % i))
               ["message_id"] for i in range(3)]
        check(all(is_int32(i) for i in ids), "int32 ids %r" % ids)
        eq([(b - a) % 2**32 for a, b in zip(ids, ids[1:])], [1, 1],
           "increasing ids %r" % ids)


@test
def serve_keeps_connections_alive(h):
    with Server(h) as s:
        conn = s.connect()
        peers = {s.get("/get_status", conn=conn).peer for _ in range(5)}
        eq(len(peers), 1, "one client connection")
        conn.close()
        logged = [l["peer"] for l in s.log()]
        eq(len(logged), 5)
        eq(set(logged), peers, "five calls logged with one peer")
        # libcurl reuses its connection for consecutive URLs.
        base = "http://127.0.0.1:%d" % s.port
        p = subprocess.run(["curl", "-sS", "-d", "user_id=1&message=x",
                            base + "/send_private_msg",
                            base + "/send_private_msg",
                            base + "/send_private_msg"],
                           capture_output=True, timeout=30)
        eq(p.returncode, 0, p.stderr)
        curl_peers = [l["peer"] for l in s.log()[5:]]
        eq(len(curl_peers), 3)
        eq(len(set(curl_peers)), 1, "libcurl reused one connection: %r"
           % curl_peers)
        check(curl_peers[0] not in peers, "a new connection for curl")


# -- serve: faults ----------------------------------------------------------

@test
def serve_fault_failed_http_garbage_nojson(h):
    with Server(h, "--fault", "send_msg=failed", "--fault",
                "get_status=failed:102", "--fault", "get_login_info=http:503",
                "--fault", "get_friend_list=garbage", "--fault",
                "get_group_list=nojson-status") as s:
        a = failed_answer(s.get("/send_msg"), 100)  # No parameter check.
        check(a["msg"], "a failure message")
        eq(s.last()["fault"], "failed")
        failed_answer(s.get("/get_status"), 102)
        r = s.get("/get_login_info")
        eq((r.status, r.body), (503, b""))
        eq((s.last()["http_status"], s.last()["status"]), (503, None))
        r = s.get("/get_friend_list")
        eq(r.status, 200)
        try:
            json.loads(r.body)
            check(False, "garbage must not be JSON: %r" % r.body)
        except ValueError:
            pass
        eq(s.last()["fault"], "garbage")
        r = s.get("/get_group_list")
        eq((r.status, r.json()), (200, {"retcode": 0}))
        # Other actions, and the _async form, are not affected...
        ok_answer(s.get("/get_version_info"))
        check("fault" not in s.last(), "no fault logged")
        # ...but a fault named by its base action covers the _async form.
        failed_answer(s.get("/get_status_async"), 102)


@test
def serve_fault_for_every_action(h):
    with Server(h, "--fault", "get_status=http:500", "--fault",
                "failed:-1") as s:
        eq(s.get("/get_status").status, 500, "the named action first")
        failed_answer(s.get("/get_login_info"), -1)
        failed_answer(s.get("/send_like?user_id=1"), -1)
        eq(s.get("/nope").status, 404, "unknown actions stay 404")


@test
def serve_fault_slow_does_not_block(h):
    with Server(h, "--fault", "get_status=slow:800") as s:
        result = {}

        def slow():
            t0 = time.monotonic()
            result["answer"] = s.get("/get_status")
            result["took"] = time.monotonic() - t0
        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.1)
        t0 = time.monotonic()
        ok_answer(s.get("/get_login_info"), "fast call")
        fast = time.monotonic() - t0
        t.join(10)
        check(fast < 0.5, "a fast call waited %.2fs behind a slow one" % fast)
        ok_answer(result["answer"], "slow call")
        check(result["took"] >= 0.75, "slow took %.2fs" % result["took"])
        lines = s.log()
        eq([l["action"] for l in lines], ["get_login_info", "get_status"])
        eq(lines[1]["fault"], "slow")
        # The slow connection stays usable afterwards.
        conn = s.connect()
        ok_answer(s.get("/get_status", conn=conn))
        ok_answer(s.get("/get_status", conn=conn))
        conn.close()


@test
def serve_fault_close_and_partial(h):
    with Server(h, "--fault", "get_status=close", "--fault",
                "get_login_info=partial") as s:
        try:
            r = s.get("/get_status")
            check(False, "close answered %r" % r)
        except (http.client.RemoteDisconnected, ConnectionResetError):
            pass
        line = s.last()
        eq((line["action"], line["fault"], line["http_status"]),
           ("get_status", "close", None))
        conn = s.connect()
        conn.request("GET", "/get_login_info")
        r = conn.getresponse()
        eq(r.status, 200, "partial: the head arrives")
        try:
            body = r.read()
            check(False, "partial gave a whole body %r" % body)
        except http.client.IncompleteRead as e:
            check(len(e.partial) > 0, "some body bytes arrived")
        conn.close()
        eq((s.last()["fault"], s.last()["http_status"]), ("partial", None))
        ok_answer(s.get("/get_version_info"), "still serving")


# -- serve: caps and bad input ----------------------------------------------

def raw_exchange(port, data, timeout=5):
    """Sends bytes as they are; returns what comes back until close."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as c:
        c.sendall(data)
        got = b""
        try:
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                got += chunk
                if b"\r\n\r\n" in got and b"Connection: close" not in data:
                    break
        except (socket.timeout, ConnectionResetError):
            pass
    return got


@test
def serve_body_cap_413(h):
    with Server(h, "--max-body", "1024") as s:
        big = json.dumps({"user_id": 1, "message": "x" * 2000}).encode()
        r = s.post_json("/send_private_msg", big)
        eq(r.status, 413, "body above --max-body")
        small = json.dumps({"user_id": 1, "message": "x" * 900}).encode()
        ok_answer(s.post_json("/send_private_msg", small), "under the cap")


@test
def serve_connection_cap(h):
    with Server(h, "--max-connections", "3", "--fault",
                "get_version_info=close") as s:
        # Connections ended every way must all be counted out again.
        for i in range(10):
            ok_answer(s.get("/get_status"))
            raw_exchange(s.port, b"\x00junk\r\n\r\n")
            socket.create_connection(("127.0.0.1", s.port)).close()
            with socket.create_connection(("127.0.0.1", s.port)) as c:
                c.sendall(b"GET /get_status HTTP/1.1\r\nHo")
            try:
                s.get("/get_version_info")
            except http.client.RemoteDisconnected:
                pass
        time.sleep(0.2)
        idle = [socket.create_connection(("127.0.0.1", s.port))
                for _ in range(2)]
        time.sleep(0.2)
        third = s.connect(timeout=2)
        ok_answer(s.get("/get_status", conn=third),
                  "the third connection is within the cap")
        for c in idle + [third]:
            c.close()
    with Server(h, "--max-connections", "2") as s:
        idle = [socket.create_connection(("127.0.0.1", s.port))
                for _ in range(2)]
        time.sleep(0.2)
        conn = s.connect(timeout=0.5)
        conn.request("GET", "/get_status")
        try:
            conn.getresponse()
            check(False, "a third connection was served above the cap")
        except socket.timeout:
            pass
        conn.close()
        idle[0].close()
        ok_answer(s.get("/get_status"), "served once one closes")
        idle[1].close()


@test
def serve_survives_bad_input(h):
    with Server(h) as s:
        deep = b'{"a":' * 100 + b"1" + b"}" * 100
        eq(s.post_json("/get_status", deep).status, 400, "too deep")
        eq(s.post_json("/get_status", b'{"a":"\xff"}').status, 400,
           "invalid UTF-8")
        eq(s.post_json("/get_status", b'{"a":1}\x00').status, 400, "NUL")
        eq(s.get("/get_status?x=%ff").status, 400, "undecodable parameter")
        eq(s.get("/%ff%fe").status, 404, "undecodable action")
        eq(s.get("/" + "a" * 300).status, 404, "long action")
        junk = [
            b"\x00\x01\x02\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            b"GET /get_status HTTP/1.1\r\nHost: x\r\nX-Big: " +
            b"a" * 40000 + b"\r\n\r\n",
            b"POST /get_status HTTP/1.1\r\nHost: x\r\nContent-Type: "
            b"application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"GET /get_status HTTP/9.9\r\n\r\n",
        ]
        for data in junk:
            got = raw_exchange(s.port, data)
            check(got == b"" or re.match(rb"HTTP/1\.[01] [45]\d\d ", got),
                  "junk %r answered %r" % (data[:40], got[:80]))
        # Half a request, then the client goes away.
        with socket.create_connection(("127.0.0.1", s.port)) as c:
            c.sendall(b"POST /send_msg HTTP/1.1\r\nContent-Length: 50\r\n"
                      b"\r\n{\"mess")
        ok_answer(s.get("/get_status"), "still serving")
        for line in s.log():
            check(set(line) >= {"seq", "time", "peer", "method", "action",
                                "params", "auth", "http_status", "status",
                                "retcode"}, "log line fields %r" % line)


@test
def serve_log_to_stdout_by_default(h):
    p = subprocess.Popen([program(SIM), "serve", "--listen", "127.0.0.1:0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=clean_env())
    try:
        line = p.stderr.readline().decode()
        m = re.match(r"listening on 127\.0\.0\.1:(\d+)\n$", line)
        check(m, "first stderr line %r" % line)
        c = http.client.HTTPConnection("127.0.0.1", int(m.group(1)),
                                       timeout=10)
        c.request("GET", "/get_status")
        eq(c.getresponse().status, 200)
        c.close()
        logged = json.loads(p.stdout.readline())
        eq((logged["seq"], logged["action"]), (1, "get_status"))
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=15)
    eq(p.returncode, 0, "exit after SIGTERM")
    no_sanitizer_report(err.decode("utf-8", "replace"), "serve")


@test
def serve_sigint_and_any_address(h):
    s = Server(h)
    s.proc.send_signal(signal.SIGINT)
    # Wait for SIGINT's own exit: a SIGTERM sent while it is stopping (its
    # handlers already gone) would end it with the signal instead.
    try:
        s.proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass
    s.stop()
    # --any-address allows a wildcard address (the test binds it briefly).
    s = Server(h, "--any-address", env=clean_env(CQHTTP_LISTEN="0.0.0.0:0"))
    s.stop()


# -- post -------------------------------------------------------------------

class Capture:
    """A one-shot HTTP server here that records the request it gets."""

    def __init__(self, status=204, body=b""):
        captured = self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", 0))
                captured.append((self.path, self.headers, self.rfile.read(n)))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def post(args, **kw):
    return run_sim(["post"] + args, **kw)


def stack_url(s):
    return "http://127.0.0.1:%d/" % s.port


@test
def post_private_message_to_bot(h):
    s = h.stack()
    text = "echo &#91;me&#93; &amp; [CQ:face,id=178]"
    rc, out, err = post(["--url", stack_url(s), "--private", "12345", text])
    eq(rc, 0, "exit (stderr %r)" % err)
    lines = out.splitlines()
    eq(lines[0], "HTTP 200")
    eq(json.loads(lines[1]), {"reply": text, "at_sender": False},
       "the echo quick operation")


@test
def post_group_message_to_bot(h):
    rc, out, err = post(["--url", stack_url(h.stack()), "--group", "555",
                         "12345", "hi"])
    eq(rc, 0, err)
    eq(out.splitlines(), ["HTTP 200", '{"reply":"hi","at_sender":false}'])


@test
def post_group_increase_gets_204(h):
    rc, out, err = post(["--url", stack_url(h.stack()), "--group-increase",
                         "555", "12345"])
    eq(rc, 0, err)
    eq(out, "HTTP 204\n")


@test
def post_requests_approved(h):
    url = stack_url(h.stack())
    for args in (["--friend-request", "2000000002", "hi & hello"],
                 ["--friend-request", "2000000002"],
                 ["--group-request", "555", "2000000002", "invite"],
                 ["--group-request", "555", "2000000002"]):
        rc, out, err = post(["--url", url] + args)
        eq(rc, 0, "%r: %s" % (args, err))
        lines = out.splitlines()
        eq(lines[0], "HTTP 200", repr(args))
        eq(json.loads(lines[1]), {"approve": True}, repr(args))


@test
def post_heartbeat_and_files(h):
    url = stack_url(h.stack())
    rc, out, err = post(["--url", url, "--heartbeat"])
    eq((rc, out), (0, "HTTP 204\n"), err)
    path = os.path.join(h.tmp, "friend.json")
    with open(path, "wb") as f:
        f.write(fixture("request.friend.json"))
    rc, out, err = post(["--url", url, "--file", path])
    eq((rc, out.splitlines()), (0, ["HTTP 200", '{"approve":true}']), err)
    rc, out, err = post(["--url", url, "-"],
                        stdin=fixture("notice.group_increase.json"))
    eq((rc, out), (0, "HTTP 204\n"), err)


@test
def post_with_secret(h):
    s = h.stack(secret="s")
    url = stack_url(s)
    rc, out, err = post(["--url", url, "--secret", "s", "--private", "1",
                         "hi"])
    eq((rc, out.splitlines()[0]), (0, "HTTP 200"), err)
    rc, out, err = post(["--url", url, "--private", "1", "hi"],
                        env=clean_env(CQHTTP_SECRET="s"))
    eq((rc, out.splitlines()[0]), (0, "HTTP 200"), "CQHTTP_SECRET: " + err)
    rc, out, err = post(["--url", url, "--secret", "wrong", "--private", "1",
                         "hi"])
    eq((rc, out), (1, "HTTP 403\n"), "wrong secret")
    rc, out, err = post(["--url", url, "--heartbeat"])
    eq((rc, out), (1, "HTTP 401\n"), "no secret")


@test
def post_bot_calls_the_simulated_api(h):
    # The whole loop: post -> nginx -> cqhttp-fcgi -> bot -> cq_send ->
    # cqhttp-sim serve.
    with Server(h, "--access-token", "tok") as api:
        s = h.stack(api_root="http://127.0.0.1:%d" % api.port,
                    access_token="tok")
        rc, out, err = post(["--url", stack_url(s), "--private", "4242",
                             "ping"])
        eq((rc, out.splitlines()[0]), (0, "HTTP 200"), err)
        line = api.last()
        eq((line["action"], line["auth"], line["status"]),
           ("send_msg", "Bearer <redacted>", "ok"))
        eq((line["params"]["user_id"], line["params"]["message_type"]),
           (4242, "private"))
        check("你好呀" in json.dumps(line["params"]["message"],
                                  ensure_ascii=False), "the bot's text")


@test
def post_builds_gocq_shaped_events(h):
    cap = Capture(status=200, body=b'{"reply":"ok"}')
    try:
        rc, out, err = post(["--url", cap.url, "--secret", "k", "--self-id",
                             "3096407768", "--private", "2871462309",
                             "a<b>&c"])
        eq((rc, out), (0, 'HTTP 200\n{"reply":"ok"}\n'), err)
        path, headers, body = cap.requests[0]
        eq(path, "/")
        eq(headers["Content-Type"], "application/json")
        eq(headers["X-Self-ID"], "3096407768")
        eq(headers["User-Agent"], "CQHttp/4.15.0")
        eq(headers["X-Signature"], "sha1=" + hmac.new(
            b"k", body, hashlib.sha1).hexdigest(), "signature of the bytes")
        check(body.endswith(b"}\n"), "trailing newline %r" % body[-5:])
        check(b"\\u003cb\\u003e\\u0026c" in body, "gocq escapes: %r" % body)
        check(b" " not in body.replace(b"a<b>&c", b""), "compact")
        ev = json.loads(body)
        eq((ev["post_type"], ev["message_type"], ev["sub_type"]),
           ("message", "private", "friend"))
        eq((ev["self_id"], ev["user_id"], ev["sender"]["user_id"]),
           (3096407768, 2871462309, 2871462309))
        eq((ev["message"], ev["raw_message"], ev["font"]),
           ("a<b>&c", "a<b>&c", 0))
        check(is_int32(ev["message_id"]) and ev["message_id"] < 0,
              "a negative int32 message_id")
        check(abs(ev["time"] - time.time()) < 60, "current time")
        eq(list(ev)[:4], ["post_type", "message_type", "time", "self_id"],
           "gocq's field order")

        rc, out, err = post(["--url", cap.url, "--group", "9", "8", "x"])
        ev = json.loads(cap.requests[1][2])
        eq((ev["group_id"], ev["user_id"], ev["self_id"], ev["anonymous"]),
           (9, 8, 10001000, None))
        eq(cap.requests[1][1]["X-Self-ID"], "10001000")
        check("X-Signature" not in cap.requests[1][1], "unsigned")
        check({"role", "card", "nickname"} <= set(ev["sender"]), "sender")

        post(["--url", cap.url, "--group-request", "9", "8", "invite"])
        ev = json.loads(cap.requests[2][2])
        eq((ev["request_type"], ev["sub_type"], ev["group_id"]),
           ("group", "invite", 9))
        check(isinstance(ev["flag"], str) and ev["flag"], "a flag")
        post(["--url", cap.url, "--heartbeat"])
        ev = json.loads(cap.requests[3][2])
        eq((ev["meta_event_type"], ev["interval"], ev["status"]["good"]),
           ("heartbeat", 5000, True))
    finally:
        cap.close()


@test
def post_loaded_events_are_sent_byte_for_byte(h):
    cap = Capture()
    try:
        raw = fixture("notice.group_increase.json")  # Has "1700000003 ,".
        path = os.path.join(h.tmp, "raw.json")
        with open(path, "wb") as f:
            f.write(raw)
        rc, out, err = post(["--url", cap.url, "--file", path],
                            env=clean_env(CQHTTP_SECRET="some-secret"))
        eq((rc, out), (0, "HTTP 204\n"), err)
        _, headers, body = cap.requests[0]
        eq(body, raw, "unchanged bytes")
        eq(headers["X-Self-ID"], "10001000")
        eq(headers["X-Signature"], "sha1=" + hmac.new(
            b"some-secret", raw, hashlib.sha1).hexdigest())
        rc, out, err = post(["--url", cap.url, "--stdin"],
                            stdin=b'{"post_type":"meta_event",'
                                  b'"meta_event_type":"heartbeat"}')
        eq(rc, 0, err)
        check("X-Self-ID" not in cap.requests[1][1], "no self_id, no header")
    finally:
        cap.close()
    for bad in (b"", b"[1]", b'{"no_post_type":1}', b"{bad"):
        rc, out, err = post(["--url", cap.url, "-"], stdin=bad)
        eq(rc, 1, "invalid event %r" % bad)
        check("not a OneBot event" in err, err)
    rc, out, err = post(["--url", cap.url, "--file", "/nonexistent.json"])
    eq(rc, 1)
    check("/nonexistent.json" in err, err)


@test
def post_status_and_transport_errors(h):
    cap = Capture(status=500, body=b"boom")
    try:
        rc, out, err = post(["--url", cap.url, "--heartbeat"])
        eq((rc, out), (1, "HTTP 500\nboom\n"), "non-2xx exits 1")
    finally:
        cap.close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    rc, out, err = post(["--url", "http://127.0.0.1:%d/" % port,
                         "--heartbeat"])
    eq((rc, out), (1, ""), "refused")
    eq(len(err.strip().splitlines()), 1, "one line: %r" % err)
    check("failed" in err and str(port) in err, err)
    # A server that never answers: the timeout applies.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        t0 = time.monotonic()
        rc, out, err = post(["--url", "http://127.0.0.1:%d/"
                             % sock.getsockname()[1], "--api-timeout-ms",
                             "300", "--heartbeat"])
        eq(rc, 1, "timed out")
        check(time.monotonic() - t0 < 10, "the timeout was applied")
        check("failed" in err, err)


# -- cq ---------------------------------------------------------------------

def seg(kind, **data):
    return {"type": kind, "data": data}


CQ_VECTORS = [
    ("- &#91;x&#93; 使用 `&amp;data` 获取地址",
     [seg("text", text="- [x] 使用 `&data` 获取地址")]),
    ("[CQ:share,title=震惊&#44;小伙睡觉前居然...,url=http://baidu.com/?a=1"
     "&amp;b=2]",
     [seg("share", title="震惊,小伙睡觉前居然...",
          url="http://baidu.com/?a=1&b=2")]),
    ("&#91;第一部分&#93;[CQ:image,file=123.jpg]图片之后的部分，表情：[CQ:face,"
     "id=123]",
     [seg("text", text="[第一部分]"), seg("image", file="123.jpg"),
      seg("text", text="图片之后的部分，表情："), seg("face", id="123")]),
    ("签到[CQ:at,qq=1977970939,name=nekowq]",
     [seg("text", text="签到"), seg("at", qq="1977970939", name="nekowq")]),
    ("[CQ:node,user_id=10001000,nickname=某人,content=&#91;CQ:face&#44;id=123"
     "&#93;哈喽～]",
     [seg("node", user_id="10001000", nickname="某人",
          content="[CQ:face,id=123]哈喽～")]),
]


@test
def cq_parse_and_format_vectors(h):
    for cq, segments in CQ_VECTORS:
        rc, out, err = run_sim(["cq", "parse"], stdin=cq.encode() + b"\n")
        eq(rc, 0, err)
        eq(json.loads(out), segments, "parse %r" % cq)
        rc, out, err = run_sim(["cq", "format"],
                               stdin=json.dumps(segments).encode())
        eq((rc, out), (0, cq + "\n"), "format %r" % segments)
    more = [
        ("[CQ:share,title=标题中有=等号,url=http://baidu.com]",
         [seg("share", title="标题中有=等号", url="http://baidu.com")]),
        ("asdf[CQ:face,id=115,text=111]asd[CQ:face,id=217]&#93; 123 &#91;",
         [seg("text", text="asdf"), seg("face", id="115", text="111"),
          seg("text", text="asd"), seg("face", id="217"),
          seg("text", text="] 123 [")]),
        ("查询物品 &#91;神话&#93;小小的M60 4☆",
         [seg("text", text="查询物品 [神话]小小的M60 4☆")]),
        ("!info &#91;CQ:qq=123,name=&#91;&#93;",
         [seg("text", text="!info [CQ:qq=123,name=[]")]),
        ("&amp;#91;", [seg("text", text="&#91;")]),
        ("", []),
    ]
    for cq, segments in more:
        rc, out, err = run_sim(["cq", "parse"], stdin=cq.encode())
        eq((rc, json.loads(out)), (0, segments), "parse %r" % cq)
    # format also takes one segment or a CQ-code string.
    rc, out, _ = run_sim(["cq", "format"], stdin=json.dumps(
        seg("image", file="http://x/?a=1&b=2,c", cache="0")).encode())
    eq(out, "[CQ:image,file=http://x/?a=1&amp;b=2&#44;c,cache=0]\n")
    rc, out, _ = run_sim(["cq", "format"], stdin=b'"[CQ:face,id=1] a&amp;b"')
    eq((rc, out), (0, "[CQ:face,id=1] a&amp;b\n"))


@test
def cq_bad_input_exits_1(h):
    for args, data in ((["cq", "format"], b"{bad"),
                       (["cq", "format"], b"42"),
                       (["cq", "format"], b'[{"data":{}}]'),
                       (["cq", "format"], b""),
                       (["cq", "parse"], b"a\x00b")):
        rc, out, err = run_sim(args, stdin=data)
        eq(rc, 1, "%r on %r" % (args, data))
        eq(out, "")
        check(err.startswith("cqhttp-sim cq "), err)
