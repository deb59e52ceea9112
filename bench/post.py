"""Requests per second for signed events through nginx (bench/run.sh).

Runs wrk against the same nginx site config in one run in front of each of:
cqhttp-fcgi, the responder built with the shipped example bot
(handlers/example.c: its send_msg call fails at once, no API being set, and
its quick operation echoes the signed private message); examples/weather-bot,
the bot ported from the Python SDK (an echo and commands, which ask for the
message's plain text); and noop-fcgi, a FastCGI responder that only reads the
body and answers 204. The ratios say what cqhttp itself costs next to the
web server and FastCGI round trip, on whatever machine runs it. The stacks
run side by side and are timed in interleaved rounds (--rounds), each round
in the reverse order of the one before, and a ratio is that of the round in
which it is the median of all rounds' ratios, both figures from that round:
timed one after the other, a shared machine's drift moved the ratio by 0.15
between two runs of the same binaries, and the medians of each stack's own
rounds, taken from different rounds, still moved it by 0.07.

Then, for each body size, the responder's CPU per KiB of body, and its
resident memory with the large bodies against with the small ones: the
growth of its peak, and what it keeps after them, each against one copy of
the body per thread (each thread holds one request at a time); and, for
issue 10's goal, the peak's growth across the largest bodies' run and in
all from before the run of the size before them (goal_rows()).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "scripts"))
sys.path.insert(0, HERE)
from servers import (free_port, sign, start_nginx, start_responder,  # noqa
                     stop_nginx, stop_responder)
from table import row  # noqa

SECRET = "bench-secret"
BODY = (b'{"post_type":"message","message_type":"private","sub_type":'
        b'"friend","time":1700000000,"self_id":10001000,"user_id":12345678,'
        b'"message_id":-1997294596,"message":"hello [CQ:face,id=178]",'
        b'"raw_message":"hello [CQ:face,id=178]","font":0,"sender":'
        b'{"user_id":12345678,"nickname":"bench"}}\n')


# The example bot's answer to BODY, byte for byte: what noop-reply answers,
# so that nginx's cost of a 200 with a body is in that reference too.
REPLY = ("Status: 200 OK\r\nContent-Type: application/json\r\n"
         "Content-Length: 52\r\n\r\n"
         '{"reply":"hello [CQ:face,id=178]","at_sender":false}')


def big_body(kib):
    """A private message whose text makes the body about kib KiB."""
    head = BODY[:BODY.index(b'"message":"')]
    text = b"x" * max(0, kib * 1024 - len(BODY))
    return (head + b'"message":"' + text + b'","raw_message":"x","font":0,'
            b'"sender":{"user_id":12345678,"nickname":"bench"}}\n')


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid, field="VmRSS"):
    """The process's resident set now (VmRSS) or at its peak (VmHWM), KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def settle(pid):
    """Waits (up to 2 s) until the process has used no CPU for 100 ms: wrk
    stops with requests in flight, which the responder may still be holding
    the bodies of, and its resident memory is read once they are done."""
    last = cpu_seconds(pid)
    for _ in range(20):
        time.sleep(0.1)
        now = cpu_seconds(pid)
        if now == last:
            return
        last = now


def lua_script(path, body=BODY):
    body = body.decode()
    with open(path, "w") as f:
        f.write('wrk.method = "POST"\n')
        f.write("wrk.body = %s\n" % json.dumps(body))
        f.write('wrk.headers["Content-Type"] = "application/json"\n')
        f.write('wrk.headers["X-Self-ID"] = "10001000"\n')
        f.write('wrk.headers["X-Signature"] = "%s"\n'
                % sign(SECRET, body.encode()))


def per_kib(fcgi, url, kib, args):
    """The responder's CPU per KiB of body, from a short wrk run."""
    lua = "%s.%d.lua" % (args.lua, kib)
    lua_script(lua, big_body(kib))
    c0 = cpu_seconds(fcgi.pid)
    r = subprocess.run(["wrk", "-t1", "-c4", "-d%ds" % args.size_seconds,
                        "-s", lua, url], capture_output=True, text=True)
    reqs = int(re.search(r"(\d+) requests in", r.stdout).group(1))
    return (cpu_seconds(fcgi.pid) - c0) * 1e6 / max(reqs, 1) / kib


def start_stack(exe, env, workdir, name, procs):
    """Starts exe under spawn-fcgi behind its own nginx; returns the stack
    (a dict) after checking it answers. procs collects what to stop."""
    d = os.path.join(workdir, name)
    os.makedirs(d)
    os.chmod(d, 0o755)
    sock = os.path.join(d, "fcgi.sock")
    fcgi = start_responder(sock, exe, env, os.path.join(d, "fcgi.log"))
    procs.append((stop_responder, fcgi))
    port = free_port()
    procs.append((stop_nginx, start_nginx(d, port, sock)))
    url = "http://127.0.0.1:%d/" % port
    # A check that the stack answers as expected before timing it.
    out = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
         "-H", "X-Signature: " + sign(SECRET, BODY), "--data-binary",
         "@-", url], input=BODY, capture_output=True).stdout.decode()
    return {"name": name, "fcgi": fcgi, "url": url, "status": out,
            "runs": []}


def wrk_run(st, args):
    """One timed wrk run against a stack; appends its figures to st."""
    r = subprocess.run(["wrk", "-t%d" % args.wrk_threads,
                        "-c%d" % args.connections,
                        "-d%ds" % args.seconds, "--latency", "-s",
                        args.lua, st["url"]], capture_output=True, text=True)
    text = r.stdout
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errors = re.search(r"Socket errors: (.*)", text)
    st["runs"].append({
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
        "p50": re.search(r"^\s+50%\s+(\S+)", text, re.M).group(1),
        "p99": re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": errors.group(1) if errors else "none"})


def measure(stacks, args):
    """Requests per second of every stack, in interleaved rounds so that a
    machine slowing down or speeding up mid-run hits each stack alike (the
    median round is kept), then each stack's CPU and RSS per body size."""
    for st in stacks:
        subprocess.run(["wrk", "-t1", "-c%d" % args.connections, "-d2s",
                        "-s", args.lua, st["url"]],
                       capture_output=True)  # warm-up
    for i in range(args.rounds):
        # Reversed every other round, so that a machine slowing down
        # through a round favours no stack.
        for st in stacks if i % 2 == 0 else reversed(stacks):
            wrk_run(st, args)
    for st in stacks:
        runs = sorted(st["runs"], key=lambda r: r["rps"])
        st.update(runs[len(runs) // 2])
        st["all_rps"] = [r["rps"] for r in st["runs"]]
        fcgi = st["fcgi"]
        settle(fcgi.pid)
        st["rss"] = {0: rss_kib(fcgi.pid)}
        st["peak"] = {0: rss_kib(fcgi.pid, "VmHWM")}
        st["sizes"] = {}
        for kib in args.sizes if st["name"] != "noop-reply" else ():
            st["sizes"][kib] = per_kib(fcgi, st["url"], kib, args)
            settle(fcgi.pid)
            st["rss"][kib] = rss_kib(fcgi.pid)
            st["peak"][kib] = rss_kib(fcgi.pid, "VmHWM")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build", required=True)
    ap.add_argument("--threads", type=int, default=4,
                    help="responder threads (both responders)")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--seconds", type=int, default=5,
                    help="length of each timed wrk run")
    ap.add_argument("--rounds", type=int, default=5,
                    help="interleaved rounds over the stacks; each stack's "
                    "median round is printed, and each ratio row takes the "
                    "round of the median ratio [5]")
    ap.add_argument("--size-seconds", type=int, default=3)
    ap.add_argument("--sizes", type=int, nargs="*", default=[1, 64, 512],
                    help="body sizes in KiB for the CPU per KiB rows")
    ap.add_argument("--stacks", nargs="*",
                    default=["cqhttp-fcgi", "weather-bot", "noop-fcgi",
                             "noop-reply"],
                    help="which responders to run (cqhttp-fcgi, weather-bot, "
                    "noop-fcgi, noop-reply); the rows need noop-fcgi as "
                    "reference")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="cq-bench-")
    os.chmod(work, 0o755)
    args.lua = os.path.join(work, "post.lua")
    lua_script(args.lua)
    env = dict(os.environ, CQHTTP_SECRET=SECRET,
               CQHTTP_THREADS=str(args.threads), CQHTTP_LOG_LEVEL="error")
    stacks = [("cqhttp-fcgi", "src/fcgi/cqhttp-fcgi"),
              ("weather-bot", "examples/weather-bot"),
              ("noop-fcgi", "tests/integration/noop-fcgi"),
              ("noop-reply", "tests/integration/noop-fcgi")]
    procs = []
    try:
        m = {name: start_stack(os.path.join(args.build, exe),
                               dict(env, NOOP_FCGI_ANSWER=REPLY)
                               if name == "noop-reply" else env, work,
                               name, procs)
             for name, exe in stacks if name in args.stacks}
        measure(list(m.values()), args)
    finally:
        for stop, p in reversed(procs):
            stop(p)
    print("signed private-message echo through nginx, %d-byte body, wrk "
          "%d connections, %d rounds of %d s, responder threads %d, %d cores"
          % (len(BODY), args.connections, args.rounds, args.seconds,
             args.threads, os.cpu_count()))
    for r in m.values():
        print("  %-12s first answer HTTP %s  %9.0f req/s (rounds: %s)  "
              "p50 %-8s p99 %-8s non-2xx %d  socket errors: %s"
              % (r["name"], r["status"], r["rps"],
                 " ".join("%.0f" % x for x in r["all_rps"]), r["p50"],
                 r["p99"], r["non2xx"], r["errors"]))
        print("  %-12s RSS (peak) %s" % (r["name"], ", ".join(
            "after %s %d (%d) KiB"
            % ("%d KiB bodies" % kib if kib else "small bodies",
               r["rss"][kib], r["peak"][kib])
            for kib in [0] + list(r["sizes"]))))
    noop = m.get("noop-fcgi")
    cq, weather = m.get("cqhttp-fcgi"), m.get("weather-bot")
    if cq:
        rate_row("HTTP example bot (handlers/example.c) echo via nginx, -c%d"
                 % args.connections, cq, "noop-fcgi", noop)
    if weather:
        rate_row("HTTP ported weather bot (examples/) via nginx, -c%d"
                 % args.connections, weather, "noop-fcgi", noop)
    # The same no-op answering the example's 200 and body instead of 204:
    # how much of the gap is nginx relaying a reply rather than our work.
    reply = m.get("noop-reply")
    if reply:
        rate_row("HTTP no-op answering the example's reply, -c%d"
                 % args.connections, reply, "noop-fcgi", noop)
    if cq and reply:
        rate_row("HTTP example bot against that no-op, -c%d"
                 % args.connections, cq, "noop-reply", reply)
    if not cq:
        return
    for kib in args.sizes:
        row("responder CPU per KiB of body, %d KiB bodies" % kib,
            cq["sizes"][kib], "us/KiB", "noop-fcgi",
            noop["sizes"][kib] if noop else None, lower_better=True)
    # Peak RSS (VmHWM) over the small-body run's: what requests of that size
    # held at once, against one body per thread (a thread serves one request
    # at a time); then what stays resident after them.
    for kib in args.sizes:
        if kib * 1024 > 4 * len(BODY):
            row("responder peak RSS growth, %d KiB bodies" % kib,
                max(cq["peak"][kib] - cq["peak"][0], 0), "KiB",
                "one body/thread", kib * args.threads, lower_better=True)
            row("responder RSS kept after %d KiB bodies" % kib,
                max(cq["rss"][kib] - cq["rss"][0], 0), "KiB",
                "one body/thread", kib * args.threads, lower_better=True)
    goal_rows(cq, args)


def rate_row(what, st, ref_name, ref):
    """A req/s row against a reference stack, both figures from the round
    whose ratio is the median of the rounds' ratios (the two were timed
    seconds apart in it); st's own median without a reference."""
    if ref is None:
        row(what, st["rps"], "req/s", ref_name, None)
        return
    rounds = sorted(zip(st["all_rps"], ref["all_rps"]),
                    key=lambda pair: pair[0] / pair[1])
    value, against = rounds[len(rounds) // 2]
    row(what, value, "req/s", ref_name, against)


def goal_rows(cq, args):
    """Issue 10's memory goal, for the largest bodies: the peak's growth
    across their run (from the peak before it), and in all from before the
    run of the size before them (what that run left resident counts too),
    each against one body per thread in whole pages (the least a thread
    holding the body can have resident). VmHWM comes from the kernel's
    per-CPU RSS counters and may be off by some dozens of pages."""
    if len(args.sizes) < 2:
        return
    big, prev = args.sizes[-1], args.sizes[-2]
    first = args.sizes[-3] if len(args.sizes) > 2 else 0
    ref = -(-len(big_body(big)) // 4096) * 4 * args.threads
    row("responder RSS goal: peak growth across the %d KiB run" % big,
        cq["peak"][big] - cq["peak"][prev], "KiB", "one body/thread", ref,
        lower_better=True)
    row("responder RSS goal: peak growth from before the %d KiB run" % prev,
        cq["peak"][big] - cq["peak"][first], "KiB", "one body/thread", ref,
        lower_better=True)


if __name__ == "__main__":
    main()
