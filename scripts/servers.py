"""Starting and stopping the real servers, shared by the tests and the demo.

Everything listens on loopback or on a Unix socket in a directory of the
caller's, on a port picked here.
"""

import hashlib
import hmac
import os
import shutil
import signal
import socket
import subprocess
import time

SRCDIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=10.0, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def sign(secret, body):
    return "sha1=" + hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()


def start_responder(sock, exe, env, log_path):
    """Starts exe under spawn-fcgi -n on the Unix socket sock; returns it.

    As root the socket is given to www-data with mode 0660, as in a real
    deployment, and nginx's workers run as www-data.
    """
    owner = ["-U", "www-data", "-G", "www-data"] if os.geteuid() == 0 else []
    with open(log_path, "ab") as log:
        p = subprocess.Popen(
            ["spawn-fcgi", "-n", "-s", sock, "-M", "0660"] + owner +
            ["--", exe], env=env, stdout=log, stderr=log,
            stdin=subprocess.DEVNULL)
    wait_for(lambda: os.path.exists(sock) or p.poll() is not None,
             what="the FastCGI socket " + sock)
    if p.poll() is not None:
        raise AssertionError("responder exited with %r; see %s"
                             % (p.returncode, log_path))
    return p


def stop_responder(p, timeout=15):
    """SIGTERM, then wait; returns the exit code, or "hung"."""
    if p is None:
        return None
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        return "hung"


def unix_listening(path):
    """Whether a Unix socket at path takes connections. Its file appears at
    bind(), before listen(), so only a connection proves it is ready."""
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(1)
            s.connect(path)
        return True
    except OSError:
        return False


def start_bridge(exe, port, sock, env, log_path, host="127.0.0.1"):
    """Starts cqhttp-bridge on host:port with its API socket at sock."""
    with open(log_path, "ab") as log:
        p = subprocess.Popen([exe, "--listen", "%s:%d" % (host, port),
                              "--bridge-socket", sock], env=env, stdout=log,
                             stderr=log, stdin=subprocess.DEVNULL)

    def up():
        if p.poll() is not None:
            raise AssertionError("bridge exited with %r; see %s"
                                 % (p.returncode, log_path))
        try:
            socket.create_connection((host, port), timeout=1).close()
            return unix_listening(sock)
        except OSError:
            return False
    wait_for(up, what="cqhttp-bridge on port %d" % port)
    return p


def start_nginx(workdir, port, sock, site=None, bridge_port=8081):
    """Starts nginx with the shipped site, addresses replaced; returns it."""
    site = site or os.path.join(SRCDIR, "nginx", "cqhttp.conf")
    with open(site) as f:
        text = f.read()
    text = text.replace("127.0.0.1:8080", "127.0.0.1:%d" % port)
    text = text.replace("127.0.0.1:8081", "127.0.0.1:%d" % bridge_port)
    text = text.replace("/run/cqhttp/fcgi.sock", sock)
    return run_nginx(workdir, text, "127.0.0.1", port)


def run_nginx(workdir, text, host, port):
    """Starts nginx with the site text (its access log put in workdir) once
    it listens on host:port; returns it."""
    text = text.replace("/var/log/nginx/access.log",
                        os.path.join(workdir, "nginx-access.log"))
    with open(os.path.join(workdir, "site.conf"), "w") as f:
        f.write(text)
    shutil.copy("/etc/nginx/fastcgi_params", workdir)
    user = "user www-data www-data;\n" if os.geteuid() == 0 else ""
    conf = os.path.join(workdir, "nginx.conf")
    with open(conf, "w") as f:
        f.write(user + """daemon off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/nginx-error.log info;
events { worker_connections 1024; }
http {
    access_log %(d)s/nginx-access.log;
    client_body_temp_path %(d)s/tmp-body;
    fastcgi_temp_path %(d)s/tmp-fastcgi;
    proxy_temp_path %(d)s/tmp-proxy;
    uwsgi_temp_path %(d)s/tmp-uwsgi;
    scgi_temp_path %(d)s/tmp-scgi;
    include %(d)s/site.conf;
}
""" % {"d": workdir})
    for t in ("tmp-body", "tmp-fastcgi", "tmp-proxy", "tmp-uwsgi", "tmp-scgi"):
        os.makedirs(os.path.join(workdir, t), exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(os.path.join(workdir, t), "www-data", "www-data")
    p = subprocess.Popen(["nginx", "-p", workdir, "-c", conf],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def up():
        if p.poll() is not None:
            raise AssertionError("nginx exited: " + p.stderr.read().decode())
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            return False
    wait_for(up, what="nginx on %s:%d" % (host, port))
    return p


def stop_nginx(p):
    if p is None or p.poll() is not None:
        return
    p.send_signal(signal.SIGQUIT)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


APACHE_MODULES = "/usr/lib/apache2/modules"


def _apache_bin():
    for exe in ("/usr/sbin/apache2", "/usr/sbin/httpd"):
        if os.access(exe, os.X_OK):
            return exe
    return shutil.which("apache2") or shutil.which("httpd") or "apache2"


def start_apache(workdir, port, sock, bridge_port=8081, site=None,
                 modules=(), extra=""):
    """Starts Apache (the shipped apache/cqhttp.conf site, addresses
    replaced) with a ServerRoot of its own in workdir; returns it.

    Every file is named apache-* so that nginx can share workdir. As root
    the children run as www-data, as in a real deployment, so they reach the
    responder's 0660 www-data socket. modules names more modules to load
    (e.g. "fcgid"), extra is appended to the main config.
    """
    site = site or os.path.join(SRCDIR, "apache", "cqhttp.conf")
    with open(site) as f:
        text = f.read()
    text = text.replace("127.0.0.1:8080", "127.0.0.1:%d" % port)
    text = text.replace("127.0.0.1:8081", "127.0.0.1:%d" % bridge_port)
    text = text.replace("/run/cqhttp/fcgi.sock", sock)
    site_conf = os.path.join(workdir, "apache-site.conf")
    with open(site_conf, "w") as f:
        f.write(text)
    run = os.path.join(workdir, "apache-run")
    os.makedirs(run, exist_ok=True)
    user = ""
    if os.geteuid() == 0:
        user = "User www-data\nGroup www-data\n"
        shutil.chown(run, "www-data", "www-data")
    # Those the site's comment tells to a2enmod, and four that Debian
    # enables by default (reqtimeout included, as it could cut WebSockets;
    # authz_host for the loopback-only /metrics).
    mods = ["mpm_event", "authz_core", "authz_host", "reqtimeout", "proxy", "proxy_fcgi",
            "proxy_http", "rewrite", "alias", "buffer"] + list(modules)
    loads = "".join("LoadModule %s_module %s/mod_%s.so\n"
                    % (m, APACHE_MODULES, m) for m in dict.fromkeys(mods))
    conf = os.path.join(workdir, "apache.conf")
    with open(conf, "w") as f:
        f.write(loads + user + """ServerRoot %(d)s
ServerName 127.0.0.1
Listen 127.0.0.1:%(port)d
PidFile %(d)s/apache.pid
DefaultRuntimeDir %(d)s/apache-run
Mutex file:%(d)s/apache-run default
ErrorLog %(d)s/apache-error.log
LogLevel info
LogFormat "%%h \\"%%r\\" %%>s %%b %%D" cq
CustomLog %(d)s/apache-access.log cq
# Enough threads for the tests' 64 concurrent requests and the WebSockets.
StartServers 2
ServerLimit 4
ThreadsPerChild 50
MaxRequestWorkers 200
<Directory />
    AllowOverride None
    Require all denied
</Directory>
%(extra)s
Include %(site)s
""" % {"d": workdir, "port": port, "site": site_conf, "extra": extra})
    err_path = os.path.join(workdir, "apache-stderr.log")
    with open(err_path, "ab") as err:
        p = subprocess.Popen([_apache_bin(), "-d", workdir, "-f", conf,
                              "-DFOREGROUND"], stdout=err, stderr=err,
                             stdin=subprocess.DEVNULL)

    def up():
        if p.poll() is not None:
            with open(err_path, "rb") as f:
                why = f.read().decode("utf-8", "replace")
            raise AssertionError("apache2 exited with %r: %s"
                                 % (p.returncode, why))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    wait_for(up, what="apache2 on port %d" % port)
    return p


def stop_apache(p):
    """SIGTERM (Apache's immediate stop: children ended, kept WebSocket
    tunnels cut), then wait."""
    if p is None or p.poll() is not None:
        return
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
