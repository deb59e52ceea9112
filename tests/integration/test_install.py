"""make install into a DESTDIR, then a bot author's handler built out of
this tree against the installed library with pkg-config, run for real."""

import json
import os
import re
import shutil
import subprocess
import tempfile

from harness import BUILDDIR, check, eq, test

HANDLER = r'''
#include <cqhttp.h>

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
    return cq_fcgi_main(argc, argv);
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
                 "lib/libcqhttp.a", "lib/pkgconfig/cqhttp.pc",
                 "share/man/man8/cqhttp-fcgi.8", "share/man/man8/cqhttp-bridge.8",
                 "share/man/man1/cqhttp-sim.1", "share/man/man3/cqhttp.3",
                 "share/doc/cqhttp/examples/nginx/cqhttp.conf",
                 "share/doc/cqhttp/examples/apache/cqhttp.conf",
                 "share/doc/cqhttp/examples/systemd/cqhttp-fcgi.service",
                 "share/doc/cqhttp/examples/handlers/example.c"):
        check(os.path.exists(os.path.join(root, path)), "installed: " + path)
    check([f for f in os.listdir(os.path.join(root, "lib"))
           if f.startswith("libcqhttp.so")], "shared library installed")


@test
def out_of_tree_handler_builds_and_answers(h):
    dest, prefix = install(h)
    work = tempfile.mkdtemp(prefix="cq-oot-", dir=h.tmp)
    with open(os.path.join(work, "bot.c"), "w") as f:
        f.write(HANDLER)
    env = dict(os.environ,
               PKG_CONFIG_PATH=os.path.join(dest + prefix, "lib",
                                            "pkgconfig"),
               PKG_CONFIG_SYSROOT_DIR=dest)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "cqhttp"],
                           env=env, capture_output=True, text=True)
    eq(flags.returncode, 0, "pkg-config: " + flags.stderr)
    cc = ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror"] + build_flags() + \
        ["-o", os.path.join(work, "bot"), os.path.join(work, "bot.c")] + \
        flags.stdout.split()
    p = subprocess.run(cc, capture_output=True, text=True)
    eq(p.returncode, 0, "compile: %s\n%s" % (" ".join(cc), p.stderr))
    # Run it as a CGI program: one request from the environment and stdin.
    body = json.dumps({"post_type": "message", "message_type": "private",
                       "self_id": 1, "user_id": 2, "message": "x"}).encode()
    run_env = {"PATH": "/usr/bin:/bin", "REQUEST_METHOD": "POST",
               "CONTENT_LENGTH": str(len(body)),
               "LD_LIBRARY_PATH": os.path.join(dest + prefix, "lib")}
    p = subprocess.run([os.path.join(work, "bot")], input=body, env=run_env,
                       capture_output=True, timeout=30)
    eq(p.returncode, 0, "exit code; stderr: " + p.stderr.decode()[-2000:])
    head, _, answer = p.stdout.partition(b"\r\n\r\n")
    check(head.startswith(b"Status: 200"), head)
    eq(json.loads(answer), {"reply": [
        {"type": "text", "data": {"text": "out of tree "}},
        {"type": "face", "data": {"id": "1"}}]})
    shutil.rmtree(work, ignore_errors=True)
