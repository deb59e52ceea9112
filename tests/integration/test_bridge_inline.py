"""cqhttp-bridge with inline_handlers = 1: the handlers' fibers run on the
loop thread, no worker threads. The same bridge suites run again in this
mode where they apply (named inline_<test>): the example handler's
send_msg and quick operation end to end, many handlers waiting for their
answers at once on one thread, flow control with a full queue (reading
paused, nothing lost, the burst spilled to a file), timer jobs' calls,
SIGTERM with a handler waiting. The tests here add what is this mode's
own: reading is paused while the handlers are busy, a shutdown with
handlers waiting for answers ends at once when their connection goes, and
a handler that blocks the loop is logged.

Not run again: a_handler_blocked_in_http_holds_only_its_thread (in this
mode a blocked handler holds every connection, as documented) and tests
that use no handler.

Figures: the shutdown test sends 40 events with --threads 1 (a queue of
16): FIBERS handlers wait at once, about 1 s in all.
"""

import asyncio
import json
import socket
import time

import test_bridge
import test_bridge_fibers
import test_bridge_flow
import test_bridge_jobs
from harness import check, eq, test
from test_bridge import (Bridge, answer, expect_quick, private_msg, recv_json,
                         silent, ws_connect)

FIBERS = 16  # CQ__FIBERS_PER_WORKER
QUEUE = 16  # queue_cap() in workers.c: max(2 x threads, FIBERS)
ARGS = ("--inline-handlers", "1")


class Inline:
    """The harness as the bridge suites see it, the bridge in inline mode
    (test_bridge.Bridge reads bridge_args, FiberBridge and the jobs' bridge
    bridge_env)."""

    bridge_args = ARGS
    bridge_env = {"CQHTTP_INLINE_HANDLERS": "1"}

    def __init__(self, h):
        self._h = h

    def __getattr__(self, attr):
        return getattr(self._h, attr)


def again(fn):
    def run(h):
        fn(Inline(h))
    run.__name__ = "inline_" + fn.__name__
    run.__doc__ = fn.__doc__
    test(run)


for _fn in (test_bridge.universal_private_message,
            test_bridge.split_api_and_event_connections,
            test_bridge.two_accounts_kept_apart,
            test_bridge.backpressure_split_connections,
            test_bridge.backpressure_universal_connection,
            test_bridge.bridge_status_counters,
            test_bridge.sigterm_waits_for_call_in_flight,
            test_bridge.sigterm_lets_a_handler_finish,
            test_bridge_fibers.one_thread_carries_many_waiting_handlers,
            test_bridge_flow.burst_on_one_universal_connection,
            test_bridge_flow.events_held_at_close_are_still_handled,
            test_bridge_jobs.bridge_job_calls_through_account):
    again(_fn)


@test
def inline_mode_is_said_and_runs_no_worker_thread(h):
    """The start-up log says the mode; the process has only the loop's
    thread and the timer jobs' (none here), not --threads more."""
    with Bridge(h, "--threads", "8", *ARGS) as b:
        check("up to 128 handlers run on the loop thread" in b.log(),
              "no start-up line for the mode:\n" + b.log()[-1500:])
        with open("/proc/%d/status" % b.p.pid) as f:
            threads = int([ln.split()[1] for ln in f
                           if ln.startswith("Threads:")][0])
        check(threads < 8, "%d threads with inline_handlers" % threads)

        async def body():
            ws = await ws_connect(b)
            ev = private_msg(text="inline")
            await ws.send(json.dumps(ev))
            c = await recv_json(ws, what="send_msg")
            eq(c["action"], "send_msg", "the handler's call")
            await answer(ws, c)
            await answer(ws, await expect_quick(ws, ev, "inline"))
            await ws.close()
        asyncio.run(body())


@test
def inline_reading_pauses_while_handlers_are_busy(h):
    """--threads 1 (a queue of 16), events on an Event connection and calls
    on the API one: FIBERS handlers wait for answers and QUEUE events fill
    the queue; the rest are held and the Event connection's reading
    pauses; answering lets every one through, each once, in order, and
    reading resumes."""
    n = FIBERS + QUEUE + 10
    with Bridge(h, "--threads", "1", *ARGS) as b:
        async def body():
            api_ws = await ws_connect(b, role="API")
            ev_ws = await ws_connect(b, role="Event")
            for i in range(n):
                await ev_ws.send(json.dumps(private_msg(text="m%d" % i,
                                                        mid=i)))
            calls = [await recv_json(api_ws, what="call %d of %d waiting" % (
                i + 1, FIBERS)) for i in range(FIBERS)]
            await silent(api_ws, 0.3, "with every fiber waiting")
            check("reading paused" in b.log(), "reading never paused")
            quicks = []
            while len(quicks) < n:
                for c in calls:
                    await answer(api_ws, c)
                calls = []
                f = await recv_json(api_ws, what="after %d events"
                                    % len(quicks))
                if f["action"] == ".handle_quick_operation":
                    quicks.append(f["params"]["context"]["message"])
                    await answer(api_ws, f)
                else:
                    calls.append(f)
            eq(quicks, ["m%d" % i for i in range(n)], "events, in order")
            check("reading resumed" in b.log(), "reading never resumed")
            await api_ws.close()
            await ev_ws.close()
        asyncio.run(body())


@test
def inline_shutdown_with_handlers_waiting(h):
    """SIGTERM while FIBERS handlers wait for answers and more events are
    queued and held: the bridge keeps waiting for them (a long
    api_timeout_ms) and handles nothing new; once the connection goes,
    their calls fail, the handlers end, the queued events are dropped with
    a warning and the bridge exits 0 within a second or two, its log
    clean (the sanitizer build checks leaks)."""
    n = FIBERS + QUEUE + 8
    with Bridge(h, "--threads", "1", "--api-timeout-ms", "60000",
                *ARGS) as b:
        async def body():
            ws = await ws_connect(b, close_timeout=0.5)
            for i in range(n):
                await ws.send(json.dumps(private_msg(text="m%d" % i, mid=i)))
            calls = [await recv_json(ws, what="call %d of %d waiting" % (
                i + 1, FIBERS)) for i in range(FIBERS)]
            b.terminate()
            await asyncio.sleep(0.5)
            check(b.p.poll() is None, "exited with handlers waiting")
            # One answered: its handler ends, and no new event starts.
            await answer(ws, calls[0])
            q = await recv_json(ws, what="the answered handler's quick op")
            eq(q["action"], ".handle_quick_operation", "the quick operation")
            await answer(ws, q)
            await silent(ws, 0.3, "stopping: no new event started")
            t0 = time.monotonic()
            await ws.close()
            rc = await asyncio.get_running_loop().run_in_executor(
                None, b.wait, 10)
            dt = time.monotonic() - t0
            eq(rc, 0, "exit code")
            check(dt < 3, "exited %.1f s after the connection went" % dt)
        asyncio.run(body())
        check("queued events not handled" in b.log(),
              "no warning for the queued events:\n" + b.log()[-2000:])
        check("held events not handled" in b.log(),
              "no warning for the held events:\n" + b.log()[-2000:])



@test
def inline_shutdown_deadline_with_handlers_waiting(h):
    """SIGTERM while FIBERS handlers wait for answers that never come, their
    connection open and silent: the bridge waits its 10 s for work in
    flight, then ends the connection, the handlers' calls fail and each
    runs to its end (later calls failing at once), and it exits 0 with a
    clean log (under sanitizers: no leak from a handler's fiber)."""
    with Bridge(h, "--api-timeout-ms", "60000", *ARGS) as b:
        async def body():
            ws = await ws_connect(b, close_timeout=0.5)
            for i in range(FIBERS):
                await ws.send(json.dumps(private_msg(text="m%d" % i, mid=i)))
            for i in range(FIBERS):
                await recv_json(ws, what="call %d of %d waiting" % (
                    i + 1, FIBERS))
            t0 = time.monotonic()
            b.terminate()
            rc = await asyncio.get_running_loop().run_in_executor(
                None, b.wait, 15)
            dt = time.monotonic() - t0
            eq(rc, 0, "exit code")
            check(9 < dt < 13, "exited %.1f s after SIGTERM, want ~10" % dt)
        asyncio.run(body())
        check("work still in flight" in b.log(), "no line for the deadline")


@test
def inline_handler_that_blocks_is_logged(h):
    """A handler that blocks on the loop thread (an HTTP API call to an
    api_root that never answers, for an account with only an Event
    connection) holds every connection: the bridge says so in a warning
    naming the setting, once the handler returns after api_timeout_ms."""
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(8)  # never accepted: curl waits for api_timeout_ms

    async def body(b):
        ws = await ws_connect(b, test_bridge_fibers.BLOCKED, role="Event")
        await ws.send(json.dumps(test_bridge_fibers.test_api_event(
            0, test_bridge_fibers.BLOCKED)))
        deadline = time.monotonic() + 5
        while "held the loop thread" not in b.log() and \
                time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await ws.close()

    b = test_bridge_fibers.FiberBridge(
        Inline(h), threads=1, CQHTTP_API_TIMEOUT_MS="500",
        CQHTTP_API_ROOT="http://127.0.0.1:%d" % hole.getsockname()[1])
    try:
        test_bridge_fibers.run_with(b, body)
    finally:
        hole.close()
    log = b.log()
    check("held the loop thread for" in log and "inline_handlers = 0" in log,
          "no warning for the blocked loop:\n" + log[-2000:])
