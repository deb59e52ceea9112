"""cqhttp-sim's other event shapes: "post --lifecycle" and "post --array"
(captured here, and answered by the example bot through a real stack), and
"connect --group" against a real cqhttp-bridge running the example bot."""

import json

from harness import check, eq, test
from test_sim import Capture, post, run_sim, stack_url
from test_sim_connect import PREFIX, SID, Bridge, run_once

SEGMENTS = [{"type": "text", "data": {"text": "hi & "}},
            {"type": "face", "data": {"id": "178"}}]


def captured(args):
    """Posts args to a Capture; returns the event it received."""
    c = Capture()
    try:
        rc, out, err = post(["--url", c.url] + args)
    finally:
        c.close()
    eq((rc, out), (0, "HTTP 204\n"), "%r: %s" % (args, err))
    eq(len(c.requests), 1, "one request")
    return json.loads(c.requests[0][2])


@test
def post_lifecycle_events(h):
    for sub in ("connect", "enable", "disable"):
        ev = captured(["--self-id", "777", "--lifecycle", sub])
        eq((ev["post_type"], ev["meta_event_type"], ev["sub_type"],
            ev["self_id"]), ("meta_event", "lifecycle", sub, 777), sub)
    for args in (["--lifecycle"], ["--lifecycle", "restart"]):
        rc, out, err = run_sim(["post"] + args)
        eq(rc, 2, "%r: exit code" % args)
        check("connect, enable or disable" in err, err)


@test
def post_array_messages(h):
    text = "hi &amp; [CQ:face,id=178]"
    ev = captured(["--array", "--private", "12345", text])
    eq((ev["message_type"], ev["message"], ev["raw_message"]),
       ("private", SEGMENTS, text), "private, array form")
    ev = captured(["--group", "555", "12345", text, "--array"])
    eq((ev["message_type"], ev["group_id"], ev["message"], ev["raw_message"]),
       ("group", 555, SEGMENTS, text), "group, array form")
    ev = captured(["--private", "12345", text])
    eq(ev["message"], text, "without --array: CQ code")
    rc, out, err = run_sim(["post", "--array", "--heartbeat"])
    eq(rc, 2, "--array with a meta event")
    # The example bot echoes the message as it came: as segments.
    rc, out, err = post(["--url", stack_url(h.stack()), "--array",
                         "--private", "12345", text])
    status, answer = (out.splitlines() + ["", ""])[:2]
    eq((rc, status), (0, "HTTP 200"), err)
    eq(json.loads(answer), {"reply": SEGMENTS, "at_sender": False},
       "the echo of an array message")


@test
def connect_group_messages(h):
    with Bridge(h) as b:
        s = run_once(h, "--url", b.url(), "--group", "555", "12345", "hi",
                     "--private", "678", "yo")
        eq(s.rc, 0, "exit code (%s)" % s.stderr()[-800:])
        calls = s.calls()
        # Workers run the two events at once: take each call by its target.
        eq(sorted(c["action"] for c in calls),
           [".handle_quick_operation"] * 2 + ["send_msg"] * 2,
           "actions logged (%s)" % s.stderr()[-500:])
        send = [c for c in calls if c["action"] == "send_msg" and
                c["params"].get("group_id") == 555]
        eq(len(send), 1, "one send_msg to the group: %r" % calls)
        eq((send[0]["params"].get("message_type"),
            send[0]["params"]["message"]), ("group", PREFIX),
           "send_msg to the group")
        quick = [c for c in calls if c["action"] == ".handle_quick_operation"
                 and c["params"]["context"]["message_type"] == "group"]
        eq(len(quick), 1, "one quick operation for the group: %r" % calls)
        ctx = quick[0]["params"]["context"]
        eq((ctx["group_id"], ctx["user_id"], ctx["self_id"], ctx["message"]),
           (555, 12345, SID, "hi"), "the group event's context")
        eq(quick[0]["params"]["operation"],
           {"reply": "hi", "at_sender": False}, "quick operation")
        check("2 events sent" in s.stderr(), s.stderr()[-500:])
    for args in (["--group", "555", "12345"], ["--group", "x", "1", "t"]):
        rc, out, err = run_sim(["connect"] + args)
        eq(rc, 2, "%r: exit code" % args)
