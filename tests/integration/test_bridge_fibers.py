"""cqhttp-bridge runs each worker thread's handlers as fibers: with one
worker thread, the handlers of many events wait for their API answers at
once, up to FIBERS per thread, and each gets its own answer whatever order
the answers come in. A design with one handler per thread, blocked in its
call, sends one call and nothing more until it is answered.

A handler that blocks in a system call holds its own thread only: events
that come meanwhile go to a thread that sleeps.

Figures: N events of the test bridge's "test_api" handler over one
Universal connection with one thread, about 1 s; the blocked handler waits
3 s (api_timeout_ms) before the bridge can stop.
"""

import asyncio
import json
import os
import socket
import tempfile
import time

from harness import (check, clean_env, eq, no_sanitizer_report, program,
                     read_text, test)
from servers import free_port, start_bridge, stop_responder
from test_bridge import SID, Api, answer, recv_json, silent, ws_connect

BRIDGE = "tests/integration/cqhttp-bridge-test"
FIBERS = 16  # CQ__FIBERS_PER_WORKER
QUEUE = 16  # queue_cap() in workers.c: max(2 x threads, FIBERS)
N = 40
BLOCKED = 101  # an account whose handler blocks in curl


class FiberBridge:
    """The test bridge with one worker thread; what ws_connect and Api
    need (url, sock, check_alive), and a clean stop."""

    def __init__(self, h, threads=1, exe=None, **env_extra):
        d = tempfile.mkdtemp(prefix="cq-fibers-", dir=h.tmp)
        self.port = free_port()
        self.sock = os.path.join(d, "api.sock")
        self.log_path = os.path.join(d, "bridge.log")
        env_extra.update(getattr(h, "bridge_env", {}))
        env = clean_env(CQHTTP_THREADS=str(threads), CQHTTP_LOG_LEVEL="info",
                        **env_extra)
        self.p = start_bridge(exe or program(BRIDGE), self.port, self.sock,
                              env, self.log_path)

    def url(self, path="/ws"):
        return "ws://127.0.0.1:%d%s" % (self.port, path)

    def log(self):
        return read_text(self.log_path)

    def check_alive(self, when):
        check(self.p.poll() is None, "the bridge died %s:\n%s"
              % (when, self.log()[-2000:]))

    def stop(self):
        eq(stop_responder(self.p), 0, "the bridge's exit code")
        no_sanitizer_report(self.log(), "the bridge")


def test_api_event(k, self_id=SID):
    return {"time": 1700000000, "self_id": self_id, "post_type": "test_api",
            "action": "get_k", "params": {"k": k}}


def run_with(b, body):
    try:
        asyncio.run(body(b))
    except BaseException:
        print("--- bridge log (tail) ---\n%s\n--- end ---" % b.log()[-2500:])
        raise
    finally:
        b.stop()


async def handle_all(b, ws):
    """Sends N events at once; checks FIBERS calls come before any answer
    and then nothing; answers those last first and every later call as it
    comes. Returns the quick operations by event."""
    for k in range(N):
        await ws.send(json.dumps(test_api_event(k)))
    pending = []
    for i in range(FIBERS):
        pending.append(await recv_json(
            ws, what="call %d of the %d handlers waiting at once on one "
            "thread" % (i + 1, FIBERS)))
    await silent(ws, 0.5, "with %d handlers waiting on one thread" % FIBERS)
    quicks = {}
    while len(quicks) < N:
        for c in reversed(pending):
            eq(c["action"], "get_k", "action")
            await answer(ws, c, {"k": c["params"]["k"]})
        pending = []
        f = await recv_json(ws, what="after %d of %d events" % (len(quicks),
                                                                  N))
        if f["action"] != ".handle_quick_operation":
            pending.append(f)
            continue
        k = f["params"]["context"]["params"]["k"]
        check(k not in quicks, "event %d handled twice" % k)
        quicks[k] = f["params"]["operation"]
        await answer(ws, f)
    return quicks


@test
def one_thread_carries_many_waiting_handlers(h):
    async def body(b):
        ws = await ws_connect(b)
        quicks = await handle_all(b, ws)
        for k in range(N):
            op = quicks[k]
            eq((op.get("code"), op.get("error")), (0, "success"),
               "event %d: its call" % k)
            eq(json.loads(op["data"]), {"k": k},
               "event %d: its own answer" % k)
        api = await Api.open(b)
        st = await api.status()
        await api.close()
        eq(st["events_handled"], N, "events_handled")
        await ws.close()

    run_with(FiberBridge(h), body)


@test
def a_handler_blocked_in_http_holds_only_its_thread(h):
    """With two threads, a handler stuck in an HTTP API call (an api_root
    that never answers; its account has only an Event connection) holds
    its own thread; another account's event goes to the other thread at
    once rather than waiting behind it."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)  # never accepted: curl waits for api_timeout_ms

    async def body(b):
        ev_ws = await ws_connect(b, BLOCKED, role="Event")
        await ev_ws.send(json.dumps(test_api_event(0, BLOCKED)))
        await asyncio.sleep(0.3)  # its handler is in curl now
        ws = await ws_connect(b)
        await ws.send(json.dumps(test_api_event(1)))
        c = await recv_json(ws, timeout=1.5, what="the call of an event "
                            "that another thread can take")
        await answer(ws, c, {"k": 1})
        q = await recv_json(ws, timeout=1.5, what="its quick operation")
        eq(json.loads(q["params"]["operation"]["data"]), {"k": 1}, "answer")
        await ws.close()
        await ev_ws.close()

    try:
        run_with(FiberBridge(h, threads=2, CQHTTP_API_TIMEOUT_MS="3000",
                             CQHTTP_API_ROOT="http://127.0.0.1:%d"
                             % hole.getsockname()[1]), body)
    finally:
        hole.close()


@test
def one_thread_queues_a_worker_of_events_and_holds_the_rest(h):
    """With one thread, FIBERS handlers wait for answers and QUEUE more
    events wait in the queue (as many as the worker takes at once: a
    shorter queue woke the loop to refill it every few events); only the
    events past those are held on the connection. All are then handled,
    each once."""
    extra = 5
    n = FIBERS + QUEUE + extra

    async def body(b):
        ws = await ws_connect(b)
        for k in range(n):
            await ws.send(json.dumps(test_api_event(k)))
        calls = [await recv_json(ws, what="call %d of %d" % (i + 1, FIBERS))
                 for i in range(FIBERS)]
        await silent(ws, 0.3, "with every fiber waiting")
        api = await Api.open(b)
        eq((await api.status())["events_held"], extra,
           "events held on the connection (the rest are queued or run)")
        done = set()
        while len(done) < n:
            for c in calls:
                await answer(ws, c, {"k": c["params"]["k"]})
            calls = []
            f = await recv_json(ws, what="after %d of %d" % (len(done), n))
            if f["action"] == ".handle_quick_operation":
                k = f["params"]["context"]["params"]["k"]
                check(k not in done, "event %d handled twice" % k)
                done.add(k)
                await answer(ws, f)
            else:
                calls.append(f)
        eq((await api.status())["events_handled"], n, "events_handled")
        await api.close()
        await ws.close()

    run_with(FiberBridge(h), body)


def policies(pid):
    """The scheduling policy of each thread of pid, by thread id."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            out[int(tid)] = os.sched_getscheduler(int(tid))
        except ProcessLookupError:
            pass  # a thread that ended meanwhile
    return out


@test
def worker_threads_run_as_batch_and_the_loop_does_not(h):
    """The worker threads run as SCHED_BATCH, so that waking one does not
    switch out the loop that woke it; the loop's own thread keeps the
    default policy, so that a peer's frame still preempts a busy host's
    other work."""
    b = FiberBridge(h, threads=3)
    try:
        batch = []
        for _ in range(100):  # the threads set it as they start
            pol = policies(b.p.pid)
            batch = [t for t, p in pol.items() if p == os.SCHED_BATCH]
            if len(batch) >= 3:
                break
            time.sleep(0.02)
        eq(len(batch), 3, "threads running as SCHED_BATCH (of %r)" % pol)
        eq(pol.get(b.p.pid), os.SCHED_OTHER, "the loop thread's policy")
        b.check_alive("after start")
    finally:
        b.stop()


@test
def a_policy_chosen_at_start_is_left_as_it_is(h):
    """Started under chrt --idle (an operator's choice, as systemd's
    CPUSchedulingPolicy=idle), every thread stays SCHED_IDLE: the workers
    move only from the default policy."""
    wrapper = os.path.join(tempfile.mkdtemp(prefix="cq-chrt-", dir=h.tmp),
                           "bridge")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec chrt --idle 0 %s "$@"\n' % program(BRIDGE))
    os.chmod(wrapper, 0o755)
    b = FiberBridge(h, threads=2, exe=wrapper)
    try:
        for _ in range(100):
            pol = policies(b.p.pid)
            if len(pol) >= 3:  # the loop and both workers
                break
            time.sleep(0.02)
        time.sleep(0.3)  # each worker sets its policy as it starts
        pol = policies(b.p.pid)
        check(len(pol) >= 3, "threads: %r" % pol)
        eq(sorted(set(pol.values())), [os.SCHED_IDLE],
           "the policies of the bridge's threads")
        b.check_alive("after start")
    finally:
        b.stop()
