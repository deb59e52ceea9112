"""The README's deploy path as written: its "Without systemd" commands,
taken from README.md and run with only the paths (a DESTDIR install and a
temporary /etc and /run), the loopback ports and the service user (nobody
for cqhttp, nogroup for cqhttp-api) replaced; nginx with the shipped site in
front; then its own checks (401 without the secret, 200 with it) and its
stop command."""

import os
import re
import shutil
import subprocess
import tempfile
import time

from harness import SRCDIR, BUILDDIR, Skip, check, eq, test
from servers import free_port, start_nginx, stop_nginx, wait_for
from test_install import install

SECRET = "deploy-secret"


def readme_block(after):
    """The indented command lines after the paragraph starting with after,
    continuation lines joined."""
    with open(os.path.join(SRCDIR, "README.md")) as f:
        text = f.read()
    at = text.index(after)
    lines, started = [], False
    for line in text[at:].split("\n")[1:]:
        if line.startswith("    "):
            started = True
            lines.append(line[4:])
        elif started and line.strip():
            break
    return re.sub(r"\\\n\s*", "", "\n".join(lines)).strip().split("\n")


def stop_command():
    with open(os.path.join(SRCDIR, "README.md")) as f:
        return re.search(r"To stop them, `([^`]+)`", f.read()).group(1)


def localize(cmd, d, bin_dir, bridge_port):
    cmd = cmd.replace("/etc/cqhttp", os.path.join(d, "etc"))
    cmd = cmd.replace("/run/cqhttp", os.path.join(d, "run"))
    cmd = cmd.replace("/usr/local/bin/", bin_dir + "/")
    cmd = cmd.replace("127.0.0.1:8081", "127.0.0.1:%d" % bridge_port)
    cmd = cmd.replace("cqhttp-api", "nogroup")
    return re.sub(r"(?<=\s)cqhttp(?=\s)", "nobody", cmd)


def gone(pid):
    try:
        os.kill(pid, 0)
        return False
    except ProcessLookupError:
        return True


@test
def readme_deploy_without_systemd(h):
    if os.geteuid() != 0:
        raise Skip("needs root: the README's steps change users")
    for exe in ("spawn-fcgi", "setpriv", "nginx"):
        if shutil.which(exe) is None:
            raise Skip(exe + " is not installed")
    dest, prefix = install(h)
    os.chmod(dest, 0o755)   # nobody runs the installed programs
    bin_dir = dest + prefix + "/bin"
    d = tempfile.mkdtemp(prefix="cq-deploy-", dir=h.tmp)
    os.chmod(d, 0o755)
    os.makedirs(os.path.join(d, "etc"), 0o750)
    env_file = os.path.join(d, "etc", "cqhttp.env")
    with open(os.path.join(SRCDIR, "systemd", "cqhttp.env.example")) as f:
        text = f.read()
    eq(text.count("#CQHTTP_SECRET=change-me"), 1, "the example's secret line")
    with open(env_file, "w") as f:
        f.write(text.replace("#CQHTTP_SECRET=change-me",
                             'CQHTTP_SECRET="%s"' % SECRET))
    os.chmod(env_file, 0o640)
    bport, port = free_port(), free_port()
    cmds = [localize(c, d, bin_dir, bport) for c in
            readme_block("Without systemd, the same by hand")]
    log = os.path.join(d, "deploy.log")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CQHTTP_")}
    with open(log, "wb") as out:
        p = subprocess.run(["bash", "-ec", "\n".join(cmds)], env=env,
                           stdout=out, stderr=out, timeout=30)
    eq(p.returncode, 0, "the README's commands:\n%s\n%s"
       % ("\n".join(cmds), open(log).read()[-2000:]))
    pids = []
    ng = None
    try:
        for name in ("bridge.pid", "fcgi.pid"):
            path = os.path.join(d, "run", name)
            wait_for(lambda: os.path.exists(path) and
                     open(path).read().strip(), what=name)
            pids.append(int(open(path).read().split()[0]))
        sock = os.path.join(d, "run", "fcgi.sock")
        ng = start_nginx(d, port, sock, bridge_port=bport)
        sim = os.path.join(BUILDDIR, "src/sim/cqhttp-sim")
        url = ["--url", "http://127.0.0.1:%d/" % port]
        checks = [l for l in readme_block("**5. Check it**")
                  if "cqhttp-sim post" in l]
        eq(len(checks), 2, "the README's two checks: %r" % checks)
        args = checks[0].split("#")[0].split()[1:]
        q = subprocess.run([sim] + args + url, env=env, capture_output=True,
                           text=True, timeout=30)
        eq(q.stdout.strip(), "HTTP 401",
           "README's 401 check with the env file loaded: " + q.stderr)
        args = checks[1].split("#")[0].split()[2:]
        q = subprocess.run([sim] + args + url, capture_output=True, text=True,
                           env=dict(env, CQHTTP_SECRET=SECRET), timeout=30)
        eq(q.stdout.split("\n")[0], "HTTP 200", q.stderr)
        check('"reply":"hello"' in q.stdout, q.stdout)
    finally:
        if ng is not None:
            stop_nginx(ng)
        # The README's stop command; then SIGTERM, so that nothing is left
        # running when it failed.
        q = subprocess.run(["bash", "-c", localize(stop_command(), d, bin_dir,
                                                    bport)],
                           capture_output=True, text=True, timeout=10)
        deadline = time.monotonic() + 15
        while pids and not all(gone(x) for x in pids) and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        stopped = all(gone(x) for x in pids)
        for pid in pids:
            try:
                os.kill(pid, 15)
            except ProcessLookupError:
                pass
    eq((q.returncode, q.stderr), (0, ""), "the README's stop command")
    check(stopped, "both stopped by the README's stop command")
    text = open(log, "rb").read().decode("utf-8", "replace")
    check("stopped" in text, "the bridge's log:\n" + text[-2000:])


def syscall_group(name):
    """The system calls of one of systemd's groups, its nested groups
    expanded, as systemd-analyze lists them."""
    out = subprocess.run(["systemd-analyze", "syscall-filter", name],
                         capture_output=True, text=True, check=True).stdout
    calls = set()
    for line in out.splitlines()[1:]:
        item = line.strip()
        if item and not item.startswith("#"):
            calls |= syscall_group(item) if item.startswith("@") else {item}
    return calls


def unit_syscalls(unit):
    """The system calls a shipped unit's SystemCallFilter= lines allow, read
    as systemd does: the first line (here an allow-list) sets the default,
    each later one adds its calls, or with ~ takes them away."""
    allowed = None
    with open(os.path.join(SRCDIR, "systemd", unit)) as f:
        for line in f:
            if not line.startswith("SystemCallFilter="):
                continue
            value = line.split("=", 1)[1].strip()
            calls = set()
            for item in value.lstrip("~").split():
                calls |= (syscall_group(item) if item.startswith("@")
                          else {item})
            if allowed is None:
                check(not value.startswith("~"), unit + ": the first "
                      "SystemCallFilter= is expected to be an allow-list")
                allowed = calls
            elif value.startswith("~"):
                allowed -= calls
            else:
                allowed |= calls
    return allowed or set()


@test
def bridge_unit_lets_workers_take_the_batch_policy(h):
    """The bridge's worker threads call sched_setscheduler (SCHED_BATCH):
    the shipped unit's filter, which takes @resources away, gives that one
    call back and nothing else of @resources or @privileged; the
    responder's unit, with no worker pool to move, keeps it denied."""
    if shutil.which("systemd-analyze") is None:
        raise Skip("systemd-analyze is not installed")
    bridge = unit_syscalls("cqhttp-bridge.service")
    check("sched_setscheduler" in bridge,
          "cqhttp-bridge.service refuses sched_setscheduler")
    for call in ("setpriority", "sched_setattr", "setrlimit", "reboot",
                 "sched_setparam"):
        check(call not in bridge,
              "cqhttp-bridge.service allows %s" % call)
    check("sched_setscheduler" not in unit_syscalls("cqhttp-fcgi.service"),
          "cqhttp-fcgi.service allows sched_setscheduler")
