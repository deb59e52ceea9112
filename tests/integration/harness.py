"""Integration-test harness: real nginx, real spawn-fcgi, real cqhttp-fcgi.

Every server is started on loopback (127.0.0.1 or a Unix socket in a fresh
temporary directory) on a port picked here, and stopped at the end. Test
modules (test_*.py beside this file) register functions with @test; each gets
the harness and uses h.stack(...) for a running nginx + responder. Stacks are
shared between tests asking for the same settings and stopped at the end,
where each stop is checked as a test of its own: the responder must exit 0
on SIGTERM and its log must hold no sanitizer report.

The run ends with one line "integration: N passed, N failed, N skipped".
"""

import glob
import http.client
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("CQ_SRCDIR") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRCDIR, "scripts"))
from servers import (free_port, sign, start_bridge, start_nginx,  # noqa
                     start_responder, stop_nginx, stop_responder, wait_for)  # noqa: F401
BUILDDIR = os.environ.get("CQ_BUILDDIR") or SRCDIR
SAMPLES = os.path.join(os.path.dirname(SRCDIR), "shared", "onebot-samples")
FIXTURES = os.path.join(SRCDIR, "tests", "fixtures")

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "runtime error:", "ThreadSanitizer")

_tests = []


class Skip(Exception):
    """Raised by a test that cannot run here (a missing reference file)."""


_variants = []
_at_exit = []


def at_exit(fn):
    """Runs fn at the end of the run (to stop a peer a module shares)."""
    _at_exit.append(fn)


def test(fn):
    _tests.append(fn)
    return fn


def variant(name, modules, exclude=(), **defaults):
    """Runs every test of modules again, with h.stack() defaulting to
    defaults (e.g. web="apache"), named "<name>:<module>.<test>". Tests in
    exclude (names, each with the reason in the caller) are left out."""
    _variants.append((name, tuple(modules), tuple(exclude), defaults))


class _Defaults:
    """The harness seen by a variant: stack() with other defaults."""

    def __init__(self, h, defaults):
        self._h = h
        self._defaults = defaults

    def __getattr__(self, attr):
        return getattr(self._h, attr)

    def stack(self, **kw):
        return self._h.stack(**dict(self._defaults, **kw))


def _expand_variants(h):
    """The (name, fn, harness) list: plain tests, then each variant."""
    runs = [("%s.%s" % (fn.__module__, fn.__name__), fn, h) for fn in _tests]
    for vname, modules, exclude, defaults in _variants:
        hv = _Defaults(h, defaults)
        for fn in _tests:
            if fn.__module__ in modules and fn.__name__ not in exclude:
                runs.append(("%s:%s.%s" % (vname, fn.__module__, fn.__name__),
                             fn, hv))
    return runs


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def sample(name):
    path = os.path.join(SAMPLES, name)
    if not os.path.exists(path):
        raise Skip("../shared/onebot-samples is not beside the source tree")
    with open(path, "rb") as f:
        return f.read()


def clean_env(**extra):
    """The environment without CQHTTP_* settings, plus extra, so that a
    setting in the caller's shell cannot change what a test starts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CQHTTP_")}
    env.update(extra)
    return env


def no_sanitizer_report(text, who):
    """Fails when a program's output holds a sanitizer's report."""
    marks = [m for m in SANITIZER_MARKS if m in text]
    check(not marks, "%s: sanitizer report %s\n%s"
          % (who, marks, text[-3000:]))


def read_text(path):
    """The file as text, or "" while it does not exist yet (a log that the
    program under test has not opened)."""
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def json_lines(path):
    """Each non-blank line of a JSON-lines log (e.g. the simulator's record
    of the calls it answered), parsed; [] while the file does not exist."""
    return [json.loads(line) for line in read_text(path).splitlines()
            if line.strip()]


def program(path):
    p = os.path.join(BUILDDIR, path)
    check(os.access(p, os.X_OK), "not built: " + p)
    return p


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<%d %r>" % (self.status, self.body[:200])


class Stack:
    """nginx (the shipped site config) in front of spawn-fcgi + a responder."""

    def __init__(self, h, env, binary, threads, bridge=False, web="nginx"):
        self.h = h
        self.web = web
        self.env = dict(env)
        self.with_bridge = bridge
        self.bridge = None
        self.bridge_port = free_port() if bridge else 8081
        self.bridge_log = None
        self.binary = binary
        self.threads = threads
        self.dir = tempfile.mkdtemp(prefix="cq-stack-", dir=h.tmp)
        os.chmod(self.dir, 0o755)
        self.sock = os.path.join(self.dir, "fcgi.sock")
        self.port = free_port()
        self.fcgi_log = os.path.join(self.dir, "fcgi.log")
        self.fcgi = None
        self.nginx = None

    def start(self):
        env = dict(os.environ)
        env.update({"CQHTTP_" + k.upper(): str(v) for k, v in self.env.items()})
        env.setdefault("CQHTTP_THREADS", str(self.threads))
        if self.with_bridge:
            bsock = os.path.join(self.dir, "bridge.sock")
            env["CQHTTP_BRIDGE_SOCKET"] = bsock
            self.bridge_log = os.path.join(self.dir, "bridge.log")
            self.bridge = start_bridge(program("src/bridge/cqhttp-bridge"),
                                       self.bridge_port, bsock, env,
                                       self.bridge_log)
        self.fcgi = start_responder(self.sock, program(self.binary), env,
                                    self.fcgi_log)
        if self.web == "apache":
            import servers
            self.nginx = servers.start_apache(self.dir, self.port, self.sock,
                                              bridge_port=self.bridge_port)
        else:
            self.nginx = start_nginx(self.dir, self.port, self.sock,
                                     bridge_port=self.bridge_port)
        return self

    def log(self):
        with open(self.fcgi_log, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def request(self, method, body=b"", headers=None, path="/", conn=None):
        own = conn is None
        if own:
            conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                              timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            return Response(r.status, dict(r.getheaders()), r.read())
        finally:
            if own:
                conn.close()

    def post(self, body, headers=None, secret=None, **kw):
        hdrs = {"Content-Type": "application/json"}
        if secret is not None:
            hdrs["X-Signature"] = sign(secret, body)
        hdrs.update(headers or {})
        return self.request("POST", body, hdrs, **kw)

    def stop(self):
        """Stops both; returns the responder's exit code."""
        rc = stop_responder(self.fcgi)
        if self.bridge is not None:
            brc = stop_responder(self.bridge)
            if rc == 0 and brc not in (0, None):
                rc = "bridge exited %r" % brc
        if self.web == "apache":
            import servers
            servers.stop_apache(self.nginx)
        else:
            stop_nginx(self.nginx)
        return rc


def reachable_tmp():
    """A temporary directory every user can enter: the web servers' workers
    (www-data) read configs and sockets under the run's root, and mod_fcgid
    executes the responder from it. $TMPDIR is taken only when each of its
    ancestors lets others through, else /tmp, so that a private TMPDIR (or
    a checkout under a 0700 home) does not hide them."""
    d = os.path.realpath(tempfile.gettempdir())
    p = d
    while True:
        if not os.stat(p).st_mode & 0o001:
            return "/tmp"
        if p == os.path.dirname(p):
            return d
        p = os.path.dirname(p)


def staged_program(path, d):
    """A copy of the built program path in d (mode 0755), for a web server's
    worker to execute: the build tree may sit where that user cannot go."""
    dst = os.path.join(d, os.path.basename(path))
    shutil.copy(program(path), dst)
    os.chmod(dst, 0o755)
    return dst


class Harness:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="cq-it-", dir=reachable_tmp())
        os.chmod(self.tmp, 0o755)
        self.stacks = {}

    def stack(self, binary="src/fcgi/cqhttp-fcgi", threads=4, bridge=False,
              web="nginx", **env):
        """A running web server (nginx or apache) + responder (+ bridge),
        shared by equal asks."""
        key = (binary, threads, bridge, tuple(sorted(env.items())), web)
        if key not in self.stacks:
            self.stacks[key] = Stack(self, env, binary, threads, bridge,
                                     web).start()
        return self.stacks[key]

    def cleanup(self, results):
        for fn in _at_exit:
            fn()
        for key, s in self.stacks.items():
            name = "teardown %s %s%s %s" % (
                key[4], os.path.basename(s.binary),
                "+bridge" if key[2] else "",
                ",".join("%s=%s" % kv for kv in key[3]))
            rc = s.stop()
            log = s.log()
            if s.bridge_log is not None:
                with open(s.bridge_log, "rb") as f:
                    log += f.read().decode("utf-8", "replace")
            marks = [m for m in SANITIZER_MARKS if m in log]
            if rc != 0 or marks:
                # The report itself, where there is one, else the log's end.
                at = min([log.index(m) for m in marks] or [len(log)])
                excerpt = log[max(0, at - 500):at + 5000] if marks \
                    else log[-3000:]
                results.append((name, "FAIL", "exit %r; %s\n%s" % (
                    rc, marks, excerpt)))
            else:
                results.append((name, "PASS", ""))
        shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    only = sys.argv[1] if len(sys.argv) > 1 else None
    # Test modules "import harness": let them share this module's registry.
    sys.modules["harness"] = sys.modules[__name__]
    sys.path.insert(0, HERE)
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        if name in sys.modules:
            # Imported already by a module before it (for its helpers): its
            # @test lines have run once, which is enough.
            continue
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        # A module may import an earlier one's helpers without running its
        # @test lines again.
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    h = Harness()
    results = []
    try:
        for name, fn, hv in _expand_variants(h):
            if only and only not in name:
                continue
            t0 = time.monotonic()
            try:
                fn(hv)
                results.append((name, "PASS", ""))
            except Skip as e:
                results.append((name, "SKIP", str(e)))
            except Exception:
                results.append((name, "FAIL", traceback.format_exc()))
            dt = time.monotonic() - t0
            status, detail = results[-1][1], results[-1][2]
            print("%s %s (%.2fs)%s" % (status, name, dt,
                                       ("\n" + detail) if detail else ""),
                  flush=True)
    finally:
        n = len(results)
        h.cleanup(results)
        for name, status, detail in results[n:]:
            print("%s %s%s" % (status, name, ("\n" + detail) if detail else ""))
    passed = sum(1 for r in results if r[1] == "PASS")
    failed = sum(1 for r in results if r[1] == "FAIL")
    skipped = sum(1 for r in results if r[1] == "SKIP")
    print("integration: %d passed, %d failed, %d skipped" % (passed, failed,
                                                               skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
