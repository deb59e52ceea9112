"""The README's main command, scripts/demo.sh, as far as it runs here: the
demo itself (scripts/demo.py --once) against this build, on a free port."""

import os
import subprocess
import sys

from harness import BUILDDIR, SRCDIR, check, eq, free_port, test


@test
def demo_shows_the_bot_answering(h):
    env = dict(os.environ, CQ_DEMO_PORT=str(free_port()))
    p = subprocess.run([sys.executable, os.path.join(SRCDIR, "scripts",
                                                     "demo.py"),
                        "--build", BUILDDIR, "--once"], env=env,
                       capture_output=True, text=True, timeout=120)
    eq(p.returncode, 0, "demo exit code; stderr:\n" + p.stderr[-2000:])
    out = p.stdout
    check('HTTP 200 {"reply":"hello &amp; [CQ:face,id=178]","at_sender":'
          'false}' in out, out)
    check("bot calls API: send_msg" in out and "你好呀" in out, out)
    check("欢迎新人～" in out, out)
    check('HTTP 200 {"approve":true}' in out, out)
    check("Ready for a OneBot implementation" in out, out)
