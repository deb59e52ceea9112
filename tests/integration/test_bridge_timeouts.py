"""cqhttp-bridge's deadlines for API calls: the calls in flight on one
account share one timer (src/bridge/pending.c), and each must still time out
api_timeout_ms after it went out, neither with an earlier call nor late.
"""

import asyncio
import time

from harness import check, eq, test
from test_bridge import (SID, Api, answer, api_roundtrip, bridge_err,
                         recv_json, with_bridge, ws_connect)


@test
def calls_time_out_each_at_its_own_deadline(h):
    """Calls in flight on one account share a timer: each still times out
    api_timeout_ms after it went out, never with an earlier one, and an
    answered call in between is not touched."""
    async def body(b):
        ws = await ws_connect(b, SID)
        api = await Api.open(b)
        t_a = time.monotonic()
        await api.send({"self_id": SID, "action": "a", "id": 1})
        await recv_json(ws, what="the first call, never answered")
        # Half the timeout: an early fire (with the first call) comes 0.5 s
        # after this one went out, a late one (a fresh full timeout armed
        # when the first fired) 1.5 s after, the right one 1.0 s after.
        await asyncio.sleep(0.5)
        t_b = time.monotonic()
        await api.send({"self_id": SID, "action": "b", "id": 2})
        await recv_json(ws, what="the second call, never answered")
        await api.send({"self_id": SID, "action": "c", "id": 3})
        c = await recv_json(ws, what="the third call")
        await answer(ws, c, "c")
        eq(await api.recv(), {"status": "ok", "retcode": 0, "data": "c",
                              "id": 3}, "the answered call")
        a = await api.recv(timeout=5)
        dt_a = time.monotonic() - t_a
        bridge_err(a, "timeout", "the first call")
        eq(a.get("id"), 1, "the first call times out first")
        a = await api.recv(timeout=5)
        dt_b = time.monotonic() - t_b
        bridge_err(a, "timeout", "the second call")
        eq(a.get("id"), 2, "then the second")
        check(0.8 <= dt_a <= 1.4, "first after %.2fs, want ~1.0s" % dt_a)
        check(0.8 <= dt_b <= 1.4, "second after %.2fs, want ~1.0s" % dt_b)
        await api_roundtrip(b, ws, SID, "after the timeouts")
        await api.close()
        await ws.close()
    with_bridge(h, body, "--api-timeout-ms", "1000")

