"""cqhttp-sim cq parse against the CQ-code golden files.

Every tests/fixtures/cq/<name>.cq (raw bytes, the input) is fed to
"cqhttp-sim cq parse", whose output must be <name>.json byte for byte: the
segment array as cq_msg_to_json_string() writes it, one line and a newline.
The unit test message_cq/golden checks the same files through the library.
"""

import glob
import os
import subprocess

from harness import (FIXTURES, check, eq, no_sanitizer_report, program,
                     test)

CQ_DIR = os.path.join(FIXTURES, "cq")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def sim_cq_parse(sim, data):
    """Returns (exit code, stdout bytes, stderr text) of one parse."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CQHTTP_")}
    p = subprocess.run([sim, "cq", "parse"], input=data, capture_output=True,
                       timeout=30, env=env)
    err = p.stderr.decode("utf-8", "replace")
    no_sanitizer_report(err, "cqhttp-sim cq parse")
    return p.returncode, p.stdout, err


@test
def cq_golden_files_parse_in_sim(h):
    cases = sorted(glob.glob(os.path.join(CQ_DIR, "*.cq")))
    check(cases, "no *.cq case in " + CQ_DIR)
    sim = program("src/sim/cqhttp-sim")
    bad = []
    for path in cases:
        want = read(path[:-3] + ".json")
        rc, out, err = sim_cq_parse(sim, read(path))
        if (rc, out) != (0, want):
            bad.append("%s: exit %d, printed %r, want %r (stderr %r)"
                       % (path, rc, out, want, err))
    eq(bad, [], "cases failing through cqhttp-sim cq parse")
