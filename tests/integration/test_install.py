"""make install into a DESTDIR, then a bot author's handler built out of
this tree against the installed libraries with pkg-config, run for real as
both programs; and the library boundary: libcqhttp exports only cq_ names
and links none of the runtimes' libraries."""

import json
import os
import re
import shutil
import subprocess
import tempfile

from harness import BUILDDIR, check, eq, test
from servers import free_port, start_bridge, stop_responder

HANDLER = r'''
#include <cqhttp_runtime.h>

/* An out-of-tree handler: answers every private message with a fixed text
 * built as segments, and counts on nothing from cqhttp's own handlers/. */
static int on_private(cq_ctx *c, const cq_event *e)
{
    cq_msg *m = cq_msg_new();
    int rc;

    (void)e;
    cq_msg_add_text(m, "out of tree ");
    cq_msg_add_face(m, 1);
    rc = cq_reply_msg(c, m);
    cq_msg_free(m);
    return rc;
}
CQ_ON_MESSAGE(on_private, "private");

int main(int argc, char **argv)
{
#ifdef BOT_VERSION
    cq_set_program("weatherbot", BOT_VERSION);
#endif
#ifdef BOT_BRIDGE
    return cq_bridge_main(argc, argv);
#else
    return cq_fcgi_main(argc, argv);
#endif
}
'''

_install = None


def install(h):
    """Installs the build once into a DESTDIR; returns (destdir, prefix)."""
    global _install
    if _install is None:
        dest = tempfile.mkdtemp(prefix="cq-destdir-", dir=h.tmp)
        p = subprocess.run(["make", "-s", "install", "DESTDIR=" + dest],
                           cwd=BUILDDIR, capture_output=True, text=True)
        eq(p.returncode, 0, "make install:\n" + p.stderr[-2000:])
        m = re.search(r"^prefix = (.*)$", open(os.path.join(
            BUILDDIR, "Makefile")).read(), re.M)
        _install = (dest, m.group(1).strip())
    return _install


def build_flags():
    """Sanitizer flags of this build, which an outside program needs too."""
    text = open(os.path.join(BUILDDIR, "Makefile")).read()
    m = re.search(r"^CFLAGS = (.*)$", text, re.M)
    return [f for f in m.group(1).split() if f.startswith("-fsanitize") or
            f == "-fno-sanitize-recover=undefined"]


@test
def destdir_install_has_everything(h):
    dest, prefix = install(h)
    root = dest + prefix
    for path in ("bin/cqhttp-fcgi", "bin/cqhttp-bridge", "bin/cqhttp-sim",
                 "include/cqhttp.h", "include/cqhttp_actions.h",
                 "include/cqhttp_runtime.h", "include/cqhttp_msg.h",
                 "include/cqhttp_bot.h",
                 "lib/libcqhttp.a", "lib/pkgconfig/cqhttp.pc",
                 "lib/libcqhttp-runtime.a", "lib/pkgconfig/cqhttp-runtime.pc",
                 "share/man/man8/cqhttp-fcgi.8", "share/man/man8/cqhttp-bridge.8",
                 "share/man/man1/cqhttp-sim.1", "share/man/man3/cqhttp.3",
                 "share/doc/cqhttp/examples/nginx/cqhttp.conf",
                 "share/doc/cqhttp/examples/nginx/cqhttp-cluster.conf",
                 "share/doc/cqhttp/examples/apache/cqhttp.conf",
                 "share/doc/cqhttp/examples/systemd/cqhttp-fcgi.service",
                 "share/doc/cqhttp/examples/handlers/example.c"):
        check(os.path.exists(os.path.join(root, path)), "installed: " + path)
    for lib in ("libcqhttp.so", "libcqhttp-runtime.so"):
        check([f for f in os.listdir(os.path.join(root, "lib"))
               if f.startswith(lib)], lib + " installed")


def dynamic_symbols(path):
    p = subprocess.run(["nm", "-D", "--defined-only", path],
                       capture_output=True, text=True)
    eq(p.returncode, 0, "nm: " + p.stderr)
    return [l.split()[-1] for l in p.stdout.splitlines() if l.strip()]


@test
def libraries_export_only_the_public_interface(h):
    dest, prefix = install(h)
    lib = os.path.join(dest + prefix, "lib")
    header = "".join(
        open(os.path.join(dest + prefix, "include", f)).read()
        for f in ("cqhttp.h", "cqhttp_msg.h", "cqhttp_bot.h",
                  "cqhttp_actions.h", "cqhttp_runtime.h"))
    for name in ("libcqhttp.so", "libcqhttp-runtime.so"):
        syms = dynamic_symbols(os.path.join(lib, name))
        check("cq_event_parse" in syms and "cq_call" in syms,
              "%s exports the SDK: %r" % (name, syms[:20]))
        eq([s for s in syms if not s.startswith("cq_")], [],
           name + ": exported names other than cq_")
        eq([s for s in syms if s.startswith("cq__")], [],
           name + ": internal names exported")
        # Every export is declared in an installed header.
        undeclared = [s for s in syms if not re.search(
            r"\b%s\(" % re.escape(s), header)]
        eq(undeclared, [], name + ": exports not declared in the headers")
    runtime = dynamic_symbols(os.path.join(lib, "libcqhttp-runtime.so"))
    check("cq_fcgi_main" in runtime and "cq_bridge_main" in runtime,
          "the runtime library exports both programs")
    check("cq_fcgi_main" not in dynamic_symbols(
        os.path.join(lib, "libcqhttp.so")), "libcqhttp has no runtime")
    p = subprocess.run(["ldd", os.path.join(lib, "libcqhttp.so")],
                       capture_output=True, text=True)
    eq(p.returncode, 0, "ldd: " + p.stderr)
    for dep in ("libfcgi", "libevent", "libwslay"):
        check(dep not in p.stdout, "libcqhttp.so links %s:\n%s"
              % (dep, p.stdout))
    for dep in ("libyajl", "libcurl", "libcrypto"):
        check(dep in p.stdout, "libcqhttp.so links %s" % dep)
    # The installed bridge loads libcurl at its first HTTP call
    # (src/bridge/curl_lazy.c): linking it would cost ~4.5 MiB idle.
    p = subprocess.run(["ldd", os.path.join(dest + prefix, "bin",
                                            "cqhttp-bridge")],
                       capture_output=True, text=True)
    eq(p.returncode, 0, "ldd: " + p.stderr)
    check("libcurl" not in p.stdout, "cqhttp-bridge links libcurl:\n%s"
          % p.stdout)


def build_bot(h, work, *defines):
    """Compiles bot.c in work against the DESTDIR install; returns the
    program's path and the environment that runs it."""
    dest, prefix = install(h)
    env = dict(os.environ,
               PKG_CONFIG_PATH=os.path.join(dest + prefix, "lib",
                                            "pkgconfig"),
               PKG_CONFIG_SYSROOT_DIR=dest)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs",
                            "cqhttp-runtime"],
                           env=env, capture_output=True, text=True)
    eq(flags.returncode, 0, "pkg-config: " + flags.stderr)
    check("-lcqhttp-runtime" in flags.stdout.split() and
          "-lcqhttp" not in flags.stdout.split(),
          "the runtime links alone: " + flags.stdout)
    exe = os.path.join(work, "bot" + "".join(
        d.split("=")[0].lower() for d in defines))
    cc = ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror"] + build_flags() + \
        ["-D" + d for d in defines] + \
        ["-o", exe, os.path.join(work, "bot.c")] + flags.stdout.split()
    p = subprocess.run(cc, capture_output=True, text=True)
    eq(p.returncode, 0, "compile: %s\n%s" % (" ".join(cc), p.stderr))
    run_env = {"PATH": "/usr/bin:/bin",
               "LD_LIBRARY_PATH": os.path.join(dest + prefix, "lib")}
    return exe, run_env


@test
def out_of_tree_handler_builds_and_answers(h):
    work = tempfile.mkdtemp(prefix="cq-oot-", dir=h.tmp)
    with open(os.path.join(work, "bot.c"), "w") as f:
        f.write(HANDLER)
    exe, run_env = build_bot(h, work)
    # Run it as a CGI program: one request from the environment and stdin.
    body = json.dumps({"post_type": "message", "message_type": "private",
                       "self_id": 1, "user_id": 2, "message": "x"}).encode()
    run_env.update(REQUEST_METHOD="POST", CONTENT_LENGTH=str(len(body)))
    p = subprocess.run([exe], input=body, env=run_env,
                       capture_output=True, timeout=30)
    eq(p.returncode, 0, "exit code; stderr: " + p.stderr.decode()[-2000:])
    head, _, answer = p.stdout.partition(b"\r\n\r\n")
    check(head.startswith(b"Status: 200"), head)
    eq(json.loads(answer), {"reply": [
        {"type": "text", "data": {"text": "out of tree "}},
        {"type": "face", "data": {"id": "1"}}]})
    shutil.rmtree(work, ignore_errors=True)


@test
def out_of_tree_bot_names_itself(h):
    """A bot's program shows its own name and version in --help, --version
    and its log lines, never cqhttp-fcgi's: argv[0]'s basename by default,
    cq_set_program()'s name and version when it calls it."""
    work = tempfile.mkdtemp(prefix="cq-oot-name-", dir=h.tmp)
    with open(os.path.join(work, "bot.c"), "w") as f:
        f.write(HANDLER)
    exe, run_env = build_bot(h, work)
    named, _ = build_bot(h, work, 'BOT_VERSION="2.5.1"', "BOT_BRIDGE")
    for prog, args, want in (
            (exe, ["--version"], "bot (cqhttp "),
            (exe, ["--help"], "Usage: bot [--listen ADDR]"),
            (named, ["--version"], "weatherbot 2.5.1 (cqhttp "),
            (named, ["--help"], "Usage: weatherbot [--listen HOST:PORT]")):
        p = subprocess.run([prog] + args, env=run_env, capture_output=True,
                           text=True, timeout=10)
        eq(p.returncode, 0, "%s %s: %s" % (prog, args, p.stderr))
        check(p.stdout.startswith(want), "%s %s: %r" % (
            os.path.basename(prog), args, p.stdout[:200]))
        check("cqhttp-fcgi" not in p.stdout.split("\n")[0] and
              "cqhttp-bridge" not in p.stdout.split("\n")[0],
              "no cqhttp program name: %r" % p.stdout[:200])
    # A bad setting is refused in the bot's name (the log lines' prefix is
    # checked by out_of_tree_bridge_runs_the_handler).
    p = subprocess.run([named, "--listen", "127.0.0.1:1", "--threads", "x"],
                       env=run_env, capture_output=True, text=True,
                       timeout=10)
    eq(p.returncode, 2, "bad setting: " + p.stderr)
    check(p.stderr.startswith("weatherbot: "), p.stderr)
    shutil.rmtree(work, ignore_errors=True)


@test
def out_of_tree_bridge_runs_the_handler(h):
    work = tempfile.mkdtemp(prefix="cq-oot-bridge-", dir=h.tmp)
    with open(os.path.join(work, "bot.c"), "w") as f:
        f.write(HANDLER)
    exe, run_env = build_bot(h, work, "BOT_BRIDGE")
    port, sock = free_port(), os.path.join(work, "api.sock")
    log_path, calls = os.path.join(work, "bridge.log"), \
        os.path.join(work, "calls.log")
    p = start_bridge(exe, port, sock, run_env, log_path)
    try:
        sim = subprocess.run(
            [os.path.join(BUILDDIR, "src/sim/cqhttp-sim"), "connect", "--once",
             "--log", calls, "--url", "ws://127.0.0.1:%d/ws/" % port,
             "--private", "12345", "hi"],
            capture_output=True, text=True, timeout=30,
            env={"PATH": "/usr/bin:/bin"})
        eq(sim.returncode, 0, "cqhttp-sim connect: " + sim.stderr[-1500:])
    finally:
        rc = stop_responder(p)
    log = open(log_path).read()
    eq(rc, 0, "the bridge exits 0 on SIGTERM; log:\n" + log[-1500:])
    name = os.path.basename(exe)
    check(re.search(r"Z %s\[\d+\] info: %s \(cqhttp [^)]+\): WebSocket on"
                    % (name, name), log) and "cqhttp-bridge" not in log,
          "log lines name the bot:\n" + log[-1500:])
    with open(calls) as f:
        logged = [json.loads(l) for l in f]
    quick = [c for c in logged if c["action"] == ".handle_quick_operation"]
    eq(len(quick), 1, "one quick operation: %r" % logged)
    eq(quick[0]["params"]["operation"]["reply"], [
        {"type": "text", "data": {"text": "out of tree "}},
        {"type": "face", "data": {"id": "1"}}], "the handler's reply")
    shutil.rmtree(work, ignore_errors=True)
