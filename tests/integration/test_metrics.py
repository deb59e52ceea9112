"""GET /metrics on both programs, scraped with curl as Prometheus would:
cqhttp-fcgi through the shipped nginx and Apache sites (loopback only), the
bridge on its own port. A signed event posted through nginx, whose handler's
API call goes through the bridge to a simulated account, must move the
counters of both.
"""

import re
import subprocess

from harness import check, eq, test
from test_bridge_http import metric
from test_sim_connect import Sim

SECRET = "metrics-secret"
SID = 31003100
EVENT = (b'{"post_type":"message","message_type":"private",'
         b'"sub_type":"friend","self_id":%d,"user_id":12345,'
         b'"message_id":7,"message":"count me"}' % SID)
TEXT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-z_]+="[^"]*"'
                    r'(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$')


def scrape(url, *args):
    """curl -s url; returns (status, Content-Type, body)."""
    out = subprocess.run(
        ["curl", "-s", "--max-time", "10", "-w",
         "\n%{http_code} %{content_type}"] + list(args) + [url],
        stdout=subprocess.PIPE, check=True, timeout=15).stdout.decode()
    body, _, tail = out.rpartition("\n")
    code, _, ctype = tail.partition(" ")
    return int(code), ctype, body


def check_format(text, who):
    """Every sample is name{labels} value, and every family has HELP and
    TYPE lines before its first sample."""
    typed = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            check(len(line.split(" ", 3)) == 4, who + ": " + line)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            check(kind in ("counter", "gauge", "histogram"), who + ": " + line)
            typed[name] = kind
        else:
            m = SAMPLE.match(line)
            check(m is not None, "%s: not a sample line: %r" % (who, line))
            name = m.group(1)
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            check(name in typed or typed.get(base) == "histogram",
                  "%s: %s before its TYPE line" % (who, name))
    check(typed, who + ": no TYPE lines")
    return typed


def responder_scrape(s):
    code, ctype, text = scrape("http://127.0.0.1:%d/metrics" % s.port)
    eq((code, ctype), (200, TEXT_TYPE), "responder scrape")
    return text


SOCKET_OK = 'cqhttp_api_calls_total{transport="socket",outcome="ok"}'
SOCKET_N = 'cqhttp_api_call_seconds_count{transport="socket"}'
REFUSED_403 = 'cqhttp_events_refused_total{status="403"}'
REFUSED_405 = 'cqhttp_events_refused_total{status="405"}'


@test
def metrics_move_after_an_event(h):
    s = h.stack(bridge=True, secret=SECRET)
    bridge_url = "http://127.0.0.1:%d/metrics" % s.bridge_port
    sim = Sim(h, "--url", "ws://127.0.0.1:%d/ws/" % s.port,
              "--self-id", str(SID))
    try:
        sim.wait_open()
        m0 = responder_scrape(s)
        kinds = check_format(m0, "cqhttp-fcgi")
        eq((kinds.get("cqhttp_events_received_total"),
            kinds.get("cqhttp_api_call_seconds"),
            kinds.get("process_start_time_seconds")),
           ("counter", "histogram", "gauge"), "responder families")
        check(metric(m0, "process_start_time_seconds") > 1.7e9,
              "a start time in seconds")
        eq((metric(m0, "cqhttp_fcgi_threads"),
            metric(m0, "cqhttp_fcgi_requests_in_flight")), (4, 1),
           "threads, and the scrape itself in flight")
        code, ctype, b0 = scrape(bridge_url)
        eq((code, ctype), (200, TEXT_TYPE), "bridge scrape")
        check_format(b0, "cqhttp-bridge")
        eq(metric(b0, "cqhttp_bridge_accounts"), 1, "the sim's account")

        r = s.post(EVENT, secret=SECRET)
        eq(r.status, 200, "signed event")
        eq(r.json(), {"reply": "count me", "at_sender": False})
        eq(s.post(EVENT, secret="wrong").status, 403, "badly signed event")
        eq(s.request("GET").status, 405, "GET / stays 405")
        r = s.request("POST", b"x", path="/metrics")
        eq((r.status, r.headers.get("Allow")), (405, "GET"), "POST /metrics")

        m1 = responder_scrape(s)
        check_format(m1, "cqhttp-fcgi")

        def moved(name):
            return metric(m1, name) - metric(m0, name)
        eq([moved(n) for n in (
            "cqhttp_events_received_total", "cqhttp_events_handled_total",
            REFUSED_403, REFUSED_405, SOCKET_OK, SOCKET_N)],
           [3, 1, 1, 1, 1, 1],
           "received, handled, refused 403/405, socket calls, histogram")
        eq(metric(m1, "process_start_time_seconds"),
           metric(m0, "process_start_time_seconds"), "start time fixed")
        _, _, b1 = scrape(bridge_url)
        eq(metric(b1, "cqhttp_bridge_calls_sent_total") -
           metric(b0, "cqhttp_bridge_calls_sent_total"), 1,
           "the bridge sent the responder's call")
    finally:
        eq(sim.stop(), 0, "sim exit code")
    eq([c["action"] for c in sim.calls()], ["send_msg"],
       "the call reached the account")


@test
def metrics_loopback_only(h):
    """The shipped sites refuse /metrics to any address but loopback's
    127.0.0.1 (here a client bound to 127.0.0.2)."""
    for web in ("nginx", "apache"):
        s = h.stack(web=web)
        url = "http://127.0.0.1:%d/metrics" % s.port
        code, _, text = scrape(url)
        eq(code, 200, web + ": from 127.0.0.1")
        check("# TYPE cqhttp_events_refused_total counter" in text,
              web + ": a counter in the scrape")
        code, _, _ = scrape(url, "--interface", "127.0.0.2")
        eq(code, 403, web + ": from 127.0.0.2")
        eq(s.request("GET", path="/metricsx").status, 404,
           web + ": nothing beside it")
