"""cqhttp-bridge with raw UTF-8 frames: OneBot implementations send text as
UTF-8 bytes, not the \\u escapes of Python's json.dumps default, and the
bridge's loop scans a WebSocket text message as known UTF-8 (the WebSocket
layer has checked it, RFC 6455 8.1). Events and answers with multi-byte
text must be routed and handed over intact.
"""

import asyncio
import json

from harness import test
from test_bridge import (Bridge, expect_quick, expect_send_msg, private_msg,
                         silent, ws_connect)


def utf8(frame):
    """The frame as raw UTF-8 JSON text."""
    return json.dumps(frame, ensure_ascii=False)


@test
def raw_utf8_event_and_answers(h):
    async def body(b):
        ws = await ws_connect(b)
        # Multi-byte text of each length, past the scanner's 16-byte blocks.
        text = "你好，世界 \U0001F600 é " + "好" * 20
        ev = private_msg(text=text, mid=2)
        ev["sender"]["nickname"] = "小明"
        await ws.send(utf8(ev))
        call = await expect_send_msg(ws)
        # Multi-byte text before the echo: the answer is still matched.
        await ws.send(utf8({"status": "ok", "retcode": 0, "data": {
            "note": "好" * 40, "message_id": 3}, "echo": call["echo"]}))
        quick = await expect_quick(ws, ev, text)
        await ws.send(utf8({"wording": "成功", "status": "ok", "retcode": 0,
                            "data": None, "echo": quick["echo"]}))
        await silent(ws, 0.4, "after the UTF-8 answers")
        await ws.close()
    with Bridge(h) as b:
        asyncio.run(body(b))
