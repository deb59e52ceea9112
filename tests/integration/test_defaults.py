"""Operator defaults (issue 9): each startup warning and refusal appears,
said once on stderr, by running the programs with the settings."""

import os
import signal
import subprocess
import tempfile
import time

from harness import check, eq, program, test
from servers import free_port


def run_until(args, want, env=None, timeout=5):
    """Starts args, waits until stderr holds want (or timeout), stops it;
    returns (exit code or None, stderr)."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("CQHTTP_")}
    e.update(env or {})
    err = tempfile.TemporaryFile()
    p = subprocess.Popen(args, env=e, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=err)
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline and p.poll() is None:
        err.seek(0)
        text = err.read().decode("utf-8", "replace")
        if want in text:
            break
        time.sleep(0.05)
    rc = p.poll()
    if rc is None:
        p.send_signal(signal.SIGTERM)
        p.wait(15)
    err.seek(0)
    return rc, err.read().decode("utf-8", "replace")


def fcgi(h, *args, env=None, want="threads"):
    sock = os.path.join(tempfile.mkdtemp(dir=h.tmp), "f.sock")
    return run_until([program("src/fcgi/cqhttp-fcgi"), "--listen", sock]
                     + list(args), want, env)


def bridge(h, *args, want="workers"):
    sock = os.path.join(tempfile.mkdtemp(dir=h.tmp), "b.sock")
    return run_until([program("src/bridge/cqhttp-bridge"),
                      "--bridge-socket", sock] + list(args), want)


@test
def fcgi_warns_without_secret(h):
    rc, err = fcgi(h, want="no secret")
    check("warn: no secret set" in err, err)
    rc, err = fcgi(h, "--secret", "s")
    check("no secret" not in err, err)


@test
def bridge_warns_without_token(h):
    rc, err = bridge(h, "--listen", "127.0.0.1:%d" % free_port(),
                     want="access_token")
    check("info: no access_token set" in err, err)
    check("non-loopback" not in err, err)
    rc, err = bridge(h, "--listen", "0.0.0.0:%d" % free_port(),
                     want="access_token")
    check("warn: no access_token set and listening on a non-loopback "
          "address" in err, err)
    rc, err = bridge(h, "--listen", "0.0.0.0:%d" % free_port(),
                     "--access-token", "t")
    check("access_token set" not in err, err)


@test
def ignored_settings_are_named(h):
    rc, err = fcgi(h, "--secret", "s", "--ws-timeout-ms", "1000",
                   want="ignored")
    check("setting ws_timeout_ms is ignored: only cqhttp-bridge uses it"
          in err, err)
    rc, err = bridge(h, "--listen", "127.0.0.1:%d" % free_port(),
                     "--max-body", "4096", want="ignored")
    check("setting max_body is ignored: only cqhttp-fcgi uses it" in err,
          err)


@test
def api_root_scheme_is_refused(h):
    for exe in ("src/fcgi/cqhttp-fcgi", "src/bridge/cqhttp-bridge"):
        p = subprocess.run([program(exe), "--api-root", "ftp://x/"],
                           capture_output=True, timeout=10)
        eq(p.returncode, 2, exe)
        check(b"must start with http:// or https://" in p.stderr, p.stderr)


@test
def config_lines_long_and_over_the_cap(h):
    d = tempfile.mkdtemp(dir=h.tmp)
    ok = os.path.join(d, "ok.conf")
    with open(ok, "w") as f:
        # A comment longer than the old 4,095-byte line, whose tail looks
        # like a setting: it must stay a comment.
        f.write("#" + "x" * 5000 + " threads = many\nthreads = 3\n")
    p = subprocess.run([program("src/fcgi/cqhttp-fcgi"), "--config", ok,
                        "--version"], capture_output=True, timeout=10)
    eq((p.returncode, p.stderr), (0, b""), "long comment")
    bad = os.path.join(d, "bad.conf")
    with open(bad, "w") as f:
        f.write("threads = 3\n# " + "y" * 70000 + "\n")
    p = subprocess.run([program("src/fcgi/cqhttp-fcgi"), "--config", bad,
                        "--version"], capture_output=True, timeout=10)
    eq(p.returncode, 2)
    check(("%s:2: line longer than 65536 bytes" % bad).encode()
          in p.stderr, p.stderr)


@test
def twenty_digit_content_length_is_413(h):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CQHTTP_")}
    env.update(REQUEST_METHOD="POST", CONTENT_LENGTH="9" * 20)
    p = subprocess.run([program("src/fcgi/cqhttp-fcgi")], env=env,
                       input=b"", capture_output=True, timeout=10)
    check(p.stdout.startswith(b"Status: 413"), p.stdout)
