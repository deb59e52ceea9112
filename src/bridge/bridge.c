/*
 * cq_bridge_main(): cqhttp-bridge. Serves OneBot's reverse-WebSocket
 * connections on /ws/, /ws/api/ and /ws/event/, runs the compiled-in
 * handlers for the events that arrive there, and carries API calls from
 * local processes through a Unix socket to the right account's connection.
 * It lives in the library, as cq_fcgi_main() does.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/thread.h>

#include "bridge/bridge.h"
#include "bridge/pending.h"
#include "cqhttp_runtime.h"
#include "lib/conf.h"
#include "lib/dispatch.h"
#include "lib/lifecycle.h"
#include "lib/log.h"
#include "lib/net.h"
#include "lib/sched.h"
#include "runtime/program.h"

/* How long SIGTERM waits for handlers and calls in flight. */
#define SHUTDOWN_WAIT_MS 10000
/*
 * How long the workers get, at least, once the loop stopped and failed
 * their calls: enough to return from the handler, not to run another.
 */
#define JOIN_GRACE_MS 1000
/* How long both listeners pause after accept() failed (EMFILE, ...). */
#define ACCEPT_PAUSE_MS 250
/*
 * Descriptors kept out of max_connections: standard streams, the log, the
 * listeners, the event loop's own, and per worker its curl connections and
 * a temporary file or two.
 */
#define RESERVED_FDS(threads) (64 + 4 * (threads))

typedef struct shutdown_state {
    cq__bridge *br;
    struct event *tick;
    uint64_t deadline_ms;
    int closing; /* Close frames are out; exit at the next tick. */
} shutdown_state;

/*
 * The edge: the bridge's only mapping from its CQ_E* codes to the wire.
 * "ipc" is the "bridge" member of a failed answer on the API socket, which
 * api_bridge.c reads back (no_connection, timeout and bad_request have
 * their own codes there; anything else is CQ_ENETWORK). "close" is the
 * WebSocket close code (RFC 6455 section 7.4.1) for closing a connection
 * because of that code; 1011 where no better one applies.
 */
static const struct wire {
    int err;
    const char *ipc;
    uint16_t close;
} wire[] = {
    {CQ_OK, "ok", 1000},                /* Normal: replaced. */
    {CQ_ENOAPI, "no_connection", 1011}, /* Not a reason to close. */
    {CQ_ETIMEDOUT, "timeout", 1001},    /* Going away: silent peer. */
    {CQ_ENETWORK, "closed", 1001},      /* Going away: stopping. */
    {CQ_EAGAIN, "busy", 1013},          /* Try again later. */
    {CQ_ENOMEM, "busy", 1011},          /* Internal error. */
    {CQ_EINVAL, "bad_request", 1008},   /* Policy violation. */
    {CQ_EPARSE, "bad_request", 1007},   /* Inconsistent data. */
};

/* Any other failure. */
static const struct wire other = {0, "busy", 1011};

static const struct wire *wire_for(int err)
{
    size_t i;

    for (i = 0; i < sizeof(wire) / sizeof(wire[0]); i++)
        if (wire[i].err == err)
            return &wire[i];
    return &other;
}


const char *cq__bridge_ipc_name(int err)
{
    return wire_for(err)->ipc;
}


uint16_t cq__bridge_close_code(int err)
{
    return wire_for(err)->close;
}


void cq__bridge_write_failure(cq__jw *w, int err, const char *msg)
{
    cq__jw_kstr(w, "status", "failed");
    cq__jw_kint(w, "retcode", -1);
    cq__jw_knull(w, "data");
    cq__jw_kstr(w, "bridge", cq__bridge_ipc_name(err));
    cq__jw_kstr(w, "msg", msg != NULL ? msg : "");
}


int cq__ratelog_due(cq__ratelog *r, unsigned long *skipped)
{
    uint64_t now = cq__now_ms();

    if (now < r->next_ms) {
        r->skipped++;
        return 0;
    }
    *skipped = r->skipped;
    r->skipped = 0;
    r->next_ms = now + CQ__RATELOG_MS;
    return 1;
}


static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int salen, void *arg)
{
    cq__bridge *br = arg;
    char host[64] = "?", port[16] = "?", peer[96];
    unsigned long skipped;

    (void)l;
    if (br->nconns + br->nclients >= (size_t)br->max_conns) {
        evutil_closesocket(fd);
        if (cq__ratelog_due(&br->refuse_log, &skipped))
            cq_log(CQ_LOG_WARN,
                   "connection refused: max_connections (%ld) reached "
                   "(%lu more refusals not logged)",
                   br->max_conns, skipped);
        return;
    }
    getnameinfo(sa, (socklen_t)salen, host, sizeof(host), port, sizeof(port),
                NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(peer, sizeof(peer), "%s:%s", host, port);
    cq__conn_accept(br, fd, peer);
}


void cq__bridge_on_accept_error(struct evconnlistener *l, void *arg)
{
    cq__bridge *br = arg;
    int err = EVUTIL_SOCKET_ERROR();
    struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
    unsigned long skipped;

    /* Descriptors run out for both at once: pause both, not spin. */
    if (br->ws_listener != NULL)
        evconnlistener_disable(br->ws_listener);
    if (br->ipc_listener != NULL)
        evconnlistener_disable(br->ipc_listener);
    evtimer_add(br->accept_timer, &tv);
    if (cq__ratelog_due(&br->accept_log, &skipped))
        cq_log(CQ_LOG_WARN,
               "%s: accept: %s; new connections wait %d ms at a time "
               "(%lu more failures not logged)",
               l == br->ws_listener ? "WebSocket" : "API socket",
               evutil_socket_error_to_string(err), ACCEPT_PAUSE_MS, skipped);
}


static void on_accept_resume(evutil_socket_t fd, short what, void *arg)
{
    cq__bridge *br = arg;

    (void)fd;
    (void)what;
    if (br->stopping)
        return;
    if (br->ws_listener != NULL)
        evconnlistener_enable(br->ws_listener);
    if (br->ipc_listener != NULL)
        evconnlistener_enable(br->ipc_listener);
}


/*
 * max_connections, capped so that every connection it allows has a
 * descriptor; the cap is logged. Returns it, or 0 (logged) when the limit
 * leaves no room at all.
 */
static long cap_connections(const cq__conf *conf)
{
    long cap = conf->max_connections, reserve = RESERVED_FDS(conf->threads);
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur >= (rlim_t)(cap + reserve))
        return cap;
    if (rl.rlim_cur <= (rlim_t)reserve) {
        cq_log(CQ_LOG_ERROR,
               "the descriptor limit (%lu) leaves no room for connections: "
               "raise it above %ld (LimitNOFILE=, ulimit -n)",
               (unsigned long)rl.rlim_cur, reserve);
        return 0;
    }
    cap = (long)rl.rlim_cur - reserve;
    cq_log(CQ_LOG_WARN,
           "max_connections %ld capped to %ld: the descriptor limit is %lu, "
           "%ld kept for the rest",
           conf->max_connections, cap, (unsigned long)rl.rlim_cur, reserve);
    return cap;
}


static struct evconnlistener *listen_ws(cq__bridge *br, const char *addr)
{
    struct evconnlistener *l = NULL;
    struct addrinfo *res;
    char err[300];

    if (cq__net_resolve_listen(addr, &res, err, sizeof(err)) != CQ_OK) {
        cq_log(CQ_LOG_ERROR, "listen %s", err);
        return NULL;
    }
    l = evconnlistener_new_bind(
        br->base, on_accept, br,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
        (int)br->conf->backlog, res->ai_addr, (int)res->ai_addrlen);
    if (l == NULL)
        cq_log(CQ_LOG_ERROR, "listen %s: %s", addr, strerror(errno));
    else
        evconnlistener_set_error_cb(l, cq__bridge_on_accept_error);
    freeaddrinfo(res);
    return l;
}


static size_t total_pending(cq__bridge *br)
{
    size_t i, n = 0;
    cq__account *a;

    for (i = 0; i < CQ__ACCOUNT_BUCKETS; i++)
        for (a = br->buckets[i]; a != NULL; a = a->next)
            n += a->npending;
    return n;
}


/*
 * Every 100 ms after SIGTERM: once no handler runs and no call waits (or
 * the wait is over), every connection gets a close frame, and the next tick
 * ends the loop.
 */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    shutdown_state *s = arg;
    cq__bridge *br = s->br;
    struct timeval tv = {0, 100000};
    cq__ws_conn *c, *next;

    (void)fd;
    (void)what;
    if (s->closing) {
        event_base_loopexit(br->base, NULL);
        return;
    }
    if ((cq__workers_running(br->workers) > 0 || total_pending(br) > 0) &&
        cq__now_ms() < s->deadline_ms) {
        evtimer_add(s->tick, &tv);
        return;
    }
    if (cq__workers_running(br->workers) > 0 || total_pending(br) > 0)
        cq_log(CQ_LOG_WARN, "stopping with work still in flight after %d ms",
               SHUTDOWN_WAIT_MS);
    for (c = br->conns; c != NULL; c = next) {
        next = c->next;
        cq__conn_close(c, cq__bridge_close_code(CQ_ENETWORK),
                       "bridge stopping");
    }
    s->closing = 1;
    tv.tv_usec = 300000; /* Time for the close frames to leave. */
    evtimer_add(s->tick, &tv);
}


static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    shutdown_state *s = arg;
    cq__bridge *br = s->br;
    struct timeval tv = {0, 0};

    (void)what;
    if (br->stopping)
        return;
    cq_log(CQ_LOG_INFO,
           "signal %d: no new connections or API-socket calls; finishing "
           "handlers and calls in flight (up to %d ms), then exiting",
           (int)sig, SHUTDOWN_WAIT_MS);
    br->stopping = 1;
    /*
     * Closed, not paused: a new client is refused at once (and cq_call
     * falls back to HTTP) instead of waiting in the backlog.
     */
    if (br->ws_listener != NULL)
        evconnlistener_free(br->ws_listener);
    br->ws_listener = NULL;
    cq__ipc_unlisten(br);
    cq__dial_stop(br);
    evtimer_del(br->accept_timer);
    cq__workers_stop(br->workers);
    cq__sched_stop();
    s->deadline_ms = cq__now_ms() + SHUTDOWN_WAIT_MS;
    evtimer_add(s->tick, &tv);
}


static void on_hup(evutil_socket_t sig, short what, void *arg)
{
    const cq__conf *conf = arg;

    (void)sig;
    (void)what;
    if (conf->log_file == NULL) {
        cq_log(CQ_LOG_INFO, "SIGHUP: nothing to do (no log_file)");
        return;
    }
    /* After logrotate: the same path, a new file. */
    if (cq__log_open(conf->log_file) == CQ_OK)
        cq_log(CQ_LOG_INFO, "SIGHUP: log file reopened");
}


static void usage(void *out)
{
    FILE *f = out;

    fprintf(f,
            "Usage: %s [--listen HOST:PORT] [--bridge-socket PATH] "
            "[settings]\n",
            cq__program_name());
    fprintf(f, "\n"
               "Serves OneBot reverse WebSocket connections (paths /ws/, "
               "/ws/api/, /ws/event/;\nthe role from X-Client-Role), runs the "
               "compiled-in handlers for their events,\nand carries API calls "
               "from local processes through the Unix socket\n--bridge-socket "
               "(one JSON request per line; see README).\n"
               "\n"
               "  --help            this text\n"
               "  --version         print the version\n"
               "\n");
    cq__conf_usage(f);
}


/*
 * After the loop: nothing answers any more, so every call still waiting
 * fails now (CQ_ENETWORK), which lets the workers waiting on them return;
 * then the workers get until the drain deadline (at least JOIN_GRACE_MS).
 */
static void stop_all(cq__bridge *br, const shutdown_state *s)
{
    uint64_t now = cq__now_ms();
    long wait = JOIN_GRACE_MS;
    size_t n;

    br->stopping = 1;
    if (br->workers != NULL) {
        cq__workers_stop(br->workers);
        cq__workers_close(br->workers);
    }
    cq__ipc_free_all(br);
    n = cq__accounts_fail_all(br, CQ_ENETWORK, "the bridge is stopping");
    if (n > 0)
        cq_log(CQ_LOG_WARN, "stopping: %zu API calls without an answer failed",
               n);
    cq__conn_free_all(br);
    if (s->deadline_ms > now + JOIN_GRACE_MS)
        wait = (long)(s->deadline_ms - now);
    /* Jobs before workers: their calls through the pool fail at once now. */
    cq__sched_join(wait);
    cq__sched_set_source(NULL, NULL, NULL);
    cq__workers_free(br->workers, wait);
    br->workers = NULL;
    cq__accounts_free(br);
}


/*
 * Without an access token anyone who reaches the WebSocket address can
 * claim any X-Self-ID and replace the real connection: said once at start,
 * louder when that address is not loopback.
 */
static void warn_defaults(const cq__conf *conf)
{
    const char *addr = conf->listen ? conf->listen : "127.0.0.1:8081";

    if (conf->access_token == NULL && cq__net_is_loopback(addr))
        cq_log(CQ_LOG_INFO,
               "no access_token set: any local process can connect as any "
               "account");
    else if (conf->access_token == NULL)
        cq_log(CQ_LOG_WARN,
               "no access_token set and listening on a non-loopback address "
               "(%s): anyone who reaches it can connect as any account",
               addr);
    cq__conf_warn_ignored(conf, CQ__CONF_BRIDGE);
}


/* Returns CQ_OK after a signal, or CQ_ENOMEM, CQ_EINVAL or CQ_EIO. */
static int run(cq__bridge *br)
{
    shutdown_state s = {br, NULL, 0, 0};
    struct event *sigterm, *sigint, *sighup;
    int rc = CQ_ENOMEM;

    sigterm = evsignal_new(br->base, SIGTERM, on_signal, &s);
    sigint = evsignal_new(br->base, SIGINT, on_signal, &s);
    sighup = evsignal_new(br->base, SIGHUP, on_hup, (void *)br->conf);
    s.tick = evtimer_new(br->base, on_tick, &s);
    br->accept_timer = evtimer_new(br->base, on_accept_resume, br);
    br->workers = cq__workers_new(br, (int)br->conf->threads);
    if (sigterm == NULL || sigint == NULL || sighup == NULL || s.tick == NULL ||
        br->accept_timer == NULL || br->workers == NULL)
        goto out;
    evsignal_add(sigterm, NULL);
    evsignal_add(sigint, NULL);
    evsignal_add(sighup, NULL);
    rc = CQ_EIO;
    br->ws_listener =
        listen_ws(br, br->conf->listen ? br->conf->listen : "127.0.0.1:8081");
    if (br->ws_listener == NULL)
        goto out;
    if (br->conf->bridge_socket != NULL &&
        (rc = cq__ipc_listen(br, br->conf->bridge_socket)) != CQ_OK)
        goto out;
    if ((rc = cq__dial_start(br)) != CQ_OK)
        goto out;
    cq_log(CQ_LOG_INFO,
           "%s %s: WebSocket on %s, API socket %s, "
           "%ld workers%s, max_connections %ld%s",
           cq__program_name(), cq__program_version(),
           br->conf->listen ? br->conf->listen : "127.0.0.1:8081",
           br->conf->bridge_socket ? br->conf->bridge_socket : "none",
           br->conf->inline_handlers ? 0L : br->conf->threads,
           /* workers.c's own line says how many run on the loop. */
           br->conf->inline_handlers ? " (handlers inline)" : "", br->max_conns,
           br->conf->access_token ? ", access token required" : "");
    warn_defaults(br->conf);
    cq__workers_share(br->workers);
    cq__sched_start();
    event_base_dispatch(br->base);
    rc = CQ_OK;
out:
    cq__dial_stop(br);
    stop_all(br, &s);
    if (br->ws_listener != NULL)
        evconnlistener_free(br->ws_listener);
    cq__ipc_unlisten(br);
    if (br->accept_timer != NULL)
        event_free(br->accept_timer);
    if (sigterm != NULL)
        event_free(sigterm);
    if (sigint != NULL)
        event_free(sigint);
    if (sighup != NULL)
        event_free(sighup);
    if (s.tick != NULL)
        event_free(s.tick);
    return rc;
}


/*
 * The settings the bridge derives before it starts: who may use the API
 * socket, and how many connections fit the descriptor limit. Returns CQ_OK
 * or CQ_EINVAL (logged).
 */
static int prepare(cq__bridge *br)
{
    char err[512];

    if (cq__peer_allow_parse(&br->allow, br->conf->api_allow, err,
                             sizeof(err)) != CQ_OK) {
        cq_log(CQ_LOG_ERROR, "%s", err);
        return CQ_EINVAL;
    }
    br->max_conns = cap_connections(br->conf);
    return br->max_conns > 0 ? CQ_OK : CQ_EINVAL;
}


int cq_bridge_main(int argc, char **argv)
{
    cq__bridge br;
    cq__conf conf;
    int rc;

    cq__conf_init(&conf);
    cq__program_start(argv, "cqhttp-bridge");
    rc = cq__conf_main_args(&conf, argc, argv, cq__program_name(),
                            cq__program_version(), usage);
    if (rc >= 0) {
        cq__conf_free(&conf);
        return rc;
    }
    cq__log_setup(cq__program_name(), conf.log_level);
    if (conf.log_file != NULL && cq__log_open(conf.log_file) != CQ_OK) {
        cq__conf_free(&conf);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    memset(&br, 0, sizeof(br));
    br.conf = &conf;
    if (prepare(&br) != CQ_OK) {
        cq__conf_free(&conf);
        return 2;
    }
    /*
     * Workers wake the loop with event_active(): libevent needs locks.
     * libcurl serves only the HTTP API transport (api_root): without it,
     * neither libcurl nor OpenSSL's TLS is started (nor, in cqhttp-bridge,
     * loaded: curl_lazy.c), which is most of the bridge's idle memory.
     */
    if (evthread_use_pthreads() != 0 ||
        (conf.api_root != NULL && curl_global_init(CURL_GLOBAL_DEFAULT) != 0) ||
        (br.base = event_base_new()) == NULL) {
        cq_log(CQ_LOG_ERROR, "cannot start the event loop");
        cq__conf_free(&conf);
        return 1;
    }
    rc = cq__lifecycle_start(&conf, NULL);
    if (rc < 0)
        rc = run(&br) == CQ_OK ? 0 : 1;
    cq__lifecycle_stop(); /* A no-op unless the startup hooks ran. */
    event_base_free(br.base);
    libevent_global_shutdown();
    if (conf.api_root != NULL)
        curl_global_cleanup();
    cq__dispatch_reset();
    cq_log(CQ_LOG_INFO, "stopped");
    cq__conf_free(&conf);
    return rc;
}
