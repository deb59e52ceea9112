"""Runs the example bot behind nginx and shows it answering (scripts/demo.sh).

Starts cqhttp-fcgi under spawn-fcgi and nginx with nginx/cqhttp.conf on
127.0.0.1 (port 8080 unless CQ_DEMO_PORT says otherwise), posts a signed
private message, a group_increase notice and a friend request the way a
OneBot implementation does, prints each exchange, then waits for Ctrl-C.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servers import (sign, start_nginx, start_responder,  # noqa: E402
                     stop_nginx, stop_responder)

EVENTS = [
    ("a private message", {
        "post_type": "message", "message_type": "private",
        "sub_type": "friend", "time": 1700000000, "self_id": 10001000,
        "user_id": 12345678, "message_id": -1997294596,
        "message": "hello &amp; [CQ:face,id=178]",
        "raw_message": "hello &amp; [CQ:face,id=178]", "font": 0,
        "sender": {"user_id": 12345678, "nickname": "demo"}}),
    ("a new group member", {
        "post_type": "notice", "notice_type": "group_increase",
        "sub_type": "approve", "time": 1700000001, "self_id": 10001000,
        "group_id": 987654321, "operator_id": 0, "user_id": 12345678}),
    ("a friend request", {
        "post_type": "request", "request_type": "friend",
        "time": 1700000002, "self_id": 10001000, "user_id": 12345678,
        "comment": "hi", "flag": "demo-flag"}),
]


def post(port, secret, event):
    body = (json.dumps(event, ensure_ascii=False, separators=(",", ":")) +
            "\n").encode()
    headers = {"Content-Type": "application/json",
               "X-Self-ID": str(event["self_id"]),
               "X-Signature": sign(secret, body)}
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("POST", "/", body=body, headers=headers)
    r = c.getresponse()
    answer = r.read().decode()
    c.close()
    return r.status, answer


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", required=True, help="the build directory")
    ap.add_argument("--once", action="store_true",
                    help="stop after showing the example exchanges")
    args = ap.parse_args()
    port = int(os.environ.get("CQ_DEMO_PORT", "8080"))
    secret = os.environ.get("CQHTTP_SECRET", "demo-secret")
    run = tempfile.mkdtemp(prefix="cqhttp-demo-")
    os.chmod(run, 0o755)
    sock = os.path.join(run, "fcgi.sock")
    log = os.path.join(run, "cqhttp-fcgi.log")
    env = dict(os.environ, CQHTTP_SECRET=secret)
    fcgi = start_responder(sock, os.path.join(args.build, "src", "fcgi",
                                              "cqhttp-fcgi"), env, log)
    try:
        nginx = start_nginx(run, port, sock)
    except Exception as e:
        stop_responder(fcgi)
        sys.exit("cannot start nginx on 127.0.0.1:%d (%s); set CQ_DEMO_PORT"
                 % (port, e))
    try:
        print("cqhttp example bot behind nginx at http://127.0.0.1:%d/"
              % port)
        print("(run directory %s; responder log %s)\n" % (run, log))
        for what, event in EVENTS:
            status, answer = post(port, secret, event)
            print("OneBot posts %s:\n  %s" % (what, json.dumps(
                event, ensure_ascii=False)))
            print("cqhttp answers: HTTP %d %s\n" % (status, answer or
                                                    "(no body)"))
        print("Ready for a OneBot implementation. Point it at:\n"
              "  post_url (http_post.url) = http://127.0.0.1:%d/\n"
              "  secret   (http_post.secret) = %s\n"
              "The bot's own API calls go to CQHTTP_API_ROOT (unset here, so "
              "they fail\ncleanly and are logged; the replies above still go "
              "out).\n" % (port, secret))
        if args.once:
            return 0
        print("Responder log follows; Ctrl-C stops everything.\n")
        signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
        with open(log) as f:
            while True:
                line = f.readline()
                if line:
                    sys.stdout.write(line)
                    sys.stdout.flush()
                else:
                    time.sleep(0.2)
    except KeyboardInterrupt:
        return 0
    finally:
        stop_nginx(nginx)
        stop_responder(fcgi)
        shutil.rmtree(run, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
