"""A OneBot HTTP API stand-in written in Python, independent of cqhttp-sim.

Used by the tests that check the libcurl client and the transport fallback:
it logs every call (action, params, Authorization, client port) and answers
each action normally or with the fault set for it.
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from servers import free_port


class ApiServer:
    """A OneBot HTTP API stand-in: logs calls, answers per action."""

    def __init__(self):
        self.calls = []
        self.faults = {}   # action -> kind
        self.lock = threading.Lock()
        self.port = free_port()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                action = self.path.strip("/")
                try:
                    params = json.loads(body)
                except ValueError:
                    params = {"_unparsable": body.decode("latin-1")}
                with outer.lock:
                    outer.calls.append({
                        "action": action, "params": params,
                        "auth": self.headers.get("Authorization"),
                        "ctype": self.headers.get("Content-Type"),
                        "port": self.client_address[1]})
                    kind = outer.faults.get(action, "ok")
                outer.answer(self, action, kind)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def answer(self, req, action, kind):
        if kind == "close":
            req.close_connection = True
            req.connection.shutdown(2)
            return
        if kind == "slow":
            time.sleep(1.5)
        status, body = 200, None
        if kind.startswith("http:"):
            status, body = int(kind[5:]), b""
        elif kind == "failed":
            body = {"status": "failed", "retcode": 100, "data": None,
                    "msg": "GROUP_NOT_FOUND", "wording": "群不存在"}
        elif kind == "garbage":
            body = b"<html>oops</html>"
        elif kind == "async":
            body = {"status": "async", "retcode": 1, "data": None}
        elif action == "get_login_info":
            body = {"status": "ok", "retcode": 0,
                    "data": {"user_id": 10001000, "nickname": "机器人"}}
        else:
            body = {"status": "ok", "retcode": 0,
                    "data": {"message_id": -12345}}
        if isinstance(body, dict):
            body = json.dumps(body, ensure_ascii=False).encode()
        try:
            req.send_response(status)
            req.send_header("Content-Type",
                            "application/json; charset=UTF-8")
            req.send_header("Content-Length", str(len(body)))
            req.end_headers()
            req.wfile.write(body)
        except OSError:
            pass   # The client gave up (the timeout test): expected.

    def take(self):
        with self.lock:
            calls, self.calls = self.calls, []
        return calls

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
