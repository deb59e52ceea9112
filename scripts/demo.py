"""Runs the example bot behind nginx and shows it answering (scripts/demo.sh).

Starts, all on loopback: cqhttp-sim serve (the OneBot HTTP API the bot calls),
cqhttp-fcgi under spawn-fcgi with the example bot, cqhttp-bridge (reverse
WebSocket), and nginx with nginx/cqhttp.conf on port 8080 (CQ_DEMO_PORT).
Then cqhttp-sim post sends a private message, a group_increase notice and a
friend request, signed as go-cqhttp does; each exchange is printed with the
API calls the bot made because of it. Then it waits for Ctrl-C, ready for a
real OneBot implementation.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from servers import (free_port, start_bridge, start_nginx,  # noqa: E402
                     start_responder, stop_nginx, stop_responder, wait_for)

EVENTS = [
    ("a private message", ["--private", "12345678",
                           "hello &amp; [CQ:face,id=178]"]),
    ("a new group member", ["--group-increase", "987654321", "12345678"]),
    ("a friend request", ["--friend-request", "12345678", "hi"]),
]


def start_sim_serve(exe, log_path, env):
    """cqhttp-sim serve on a free port; returns (process, port)."""
    port = free_port()
    p = subprocess.Popen([exe, "serve", "--listen", "127.0.0.1:%d" % port,
                          "--log", log_path], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL)
    line = p.stderr.readline().decode()
    if "listening on" not in line:
        raise SystemExit("cqhttp-sim serve did not start: " + line)
    return p, port


def read_new(path, offset):
    with open(path) as f:
        f.seek(offset)
        text = f.read()
        return text, f.tell()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", required=True, help="the build directory")
    ap.add_argument("--once", action="store_true",
                    help="stop after showing the example exchanges")
    args = ap.parse_args()
    exe = {n: os.path.join(args.build, "src", d, n) for d, n in (
        ("fcgi", "cqhttp-fcgi"), ("bridge", "cqhttp-bridge"),
        ("sim", "cqhttp-sim"))}
    port = int(os.environ.get("CQ_DEMO_PORT", "8080"))
    secret = os.environ.get("CQHTTP_SECRET", "demo-secret")
    token = os.environ.get("CQHTTP_ACCESS_TOKEN", "demo-token")
    run = tempfile.mkdtemp(prefix="cqhttp-demo-")
    os.chmod(run, 0o755)
    calls_log = os.path.join(run, "api-calls.jsonl")
    env = dict(os.environ, CQHTTP_SECRET=secret, CQHTTP_ACCESS_TOKEN=token)
    procs = []
    nginx = None
    try:
        sim, api_port = start_sim_serve(exe["cqhttp-sim"], calls_log, env)
        procs.append(sim)
        bridge_port = free_port()
        bridge_sock = os.path.join(run, "bridge.sock")
        env.update(CQHTTP_API_ROOT="http://127.0.0.1:%d" % api_port,
                   CQHTTP_BRIDGE_SOCKET=bridge_sock)
        procs.append(start_bridge(exe["cqhttp-bridge"], bridge_port,
                                  bridge_sock, env,
                                  os.path.join(run, "cqhttp-bridge.log")))
        sock = os.path.join(run, "fcgi.sock")
        log = os.path.join(run, "cqhttp-fcgi.log")
        procs.append(start_responder(sock, exe["cqhttp-fcgi"], env, log))
        try:
            nginx = start_nginx(run, port, sock, bridge_port=bridge_port)
        except AssertionError as e:
            raise SystemExit("cannot start nginx on 127.0.0.1:%d (%s); set "
                             "CQ_DEMO_PORT" % (port, e))
        url = "http://127.0.0.1:%d/" % port
        print("cqhttp: the example bot behind nginx at %s" % url)
        print("(the bot's API calls go to cqhttp-sim serve on 127.0.0.1:%d; "
              "files in %s)\n" % (api_port, run))
        offset = 0
        for what, event in EVENTS:
            p = subprocess.run([exe["cqhttp-sim"], "post", "--url", url] +
                               event, env=env, capture_output=True, text=True)
            print("OneBot (cqhttp-sim post) sends %s: %s" % (
                what, " ".join(event)))
            status, _, body = p.stdout.strip().partition("\n")
            print("  bot answers:   %s %s" % (status, body or "(no body)"))
            wait_for(lambda: read_new(calls_log, offset)[0].strip() != "" or
                     what == "a friend request", timeout=3,
                     what="the bot's API call")
            text, offset = read_new(calls_log, offset)
            for line in text.splitlines():
                c = json.loads(line)
                print("  bot calls API: %s %s (auth: %s)" % (
                    c["action"], json.dumps(c["params"], ensure_ascii=False),
                    c["auth"]))
            print()
        print("Ready for a OneBot implementation. Point it at:\n"
              "  HTTP POST: post_url (http_post.url) = %s, secret = %s\n"
              "  reverse WebSocket: ws://127.0.0.1:%d/ws/ (Universal), "
              "access token %s\n"
              "Its HTTP API is cqhttp-sim here: set CQHTTP_API_ROOT to the "
              "real one.\n" % (url, secret, port, token))
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
        for p in reversed(procs):
            stop_responder(p)
        shutil.rmtree(run, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
