"""The bot layer of issue 11, end to end in the test responder (its extra
handlers are in test_handlers.c): a command answered with a bot.* setting
that a startup hook kept, the shutdown hook, a failing startup hook (exit 1)
and a misspelt registration (exit 2 with the valid names)."""

import json
import os
import subprocess
import tempfile

from harness import check, eq, program, test

TEST_FCGI = "tests/integration/cqhttp-fcgi-test"


def run_cgi(body, env=None, args=()):
    """Runs the test responder as a CGI program on one POST of body."""
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
         "GATEWAY_INTERFACE": "CGI/1.1", "REQUEST_METHOD": "POST",
         "CONTENT_LENGTH": str(len(body)), "REMOTE_ADDR": "127.0.0.1"}
    e.update(env or {})
    return subprocess.run([program(TEST_FCGI)] + list(args), input=body,
                          env=e, capture_output=True, timeout=30)


def group_message(text):
    return json.dumps({"post_type": "message", "message_type": "group",
                       "sub_type": "normal", "self_id": 10, "user_id": 2,
                       "group_id": 3, "message": text}).encode()


def reply_of(p):
    eq(p.returncode, 0, p.stderr)
    head, _, rest = p.stdout.partition(b"\r\n\r\n")
    check(head.startswith(b"Status: 200"), p.stdout)
    return json.loads(rest)["reply"]


@test
def command_reads_setting_kept_by_startup_hook(h):
    d = tempfile.mkdtemp(dir=h.tmp)
    conf = os.path.join(d, "bot.conf")
    with open(conf, "w") as f:
        f.write("bot.greeting = from-file\ncommand_prefix = /,!\n")
    p = run_cgi(group_message("[CQ:at,qq=10] !test_echo a  b"),
                args=["--config", conf])
    eq(reply_of(p), "from-file: a  b (2)")
    err = p.stderr.decode()
    check("test startup hook ran" in err, err)
    check("test shutdown hook ran" in err, err)
    check(err.index("startup hook") < err.index("shutdown hook"), err)
    # The environment wins over the file; "/" alone no longer in the list.
    p = run_cgi(group_message("/test_echo x"),
                env={"CQHTTP_BOT_GREETING": "from-env",
                     "CQHTTP_COMMAND_PREFIX": "/"})
    eq(reply_of(p), "from-env: x (1)")
    # Not a command (an at to someone else first): no reply.
    p = run_cgi(group_message("[CQ:at,qq=11] /test_echo x"))
    eq(p.returncode, 0, p.stderr)
    check(b'"test_echo' not in p.stdout and b"(1)" not in p.stdout,
          p.stdout)


@test
def failing_startup_hook_exits_1(h):
    p = run_cgi(group_message("/test_echo x"),
                env={"CQ_TEST_STARTUP_FAIL": "1"})
    eq(p.returncode, 1, p.stderr)
    err = p.stderr.decode()
    check("error: startup hook on_test_startup (" in err, err)
    check("shutdown hook ran" not in err, err)
    eq(p.stdout, b"")


@test
def misspelt_name_exits_2_with_the_valid_names(h):
    sock = os.path.join(tempfile.mkdtemp(dir=h.tmp), "f.sock")
    p = subprocess.run([program(TEST_FCGI), "--listen", sock],
                       env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                            "CQ_TEST_BAD_NAME": "1"},
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=30)
    eq(p.returncode, 2, p.stderr)
    err = p.stderr.decode()
    check('handler on_test_misspelt (' in err, err)
    check('unknown event name "message.privte"; the names under message '
          'are: message, message.private, message.private.friend' in err, err)
    check("startup hook ran" not in err, err)
    check(not os.path.exists(sock), "it listened before refusing")
