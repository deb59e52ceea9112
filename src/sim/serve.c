/*
 * cqhttp-sim serve: options, the evhttp server, connection tracking and the
 * event loop. Requests are handled in serve_call.c.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>

#include "cqhttp.h"
#include "sim/serve.h"

#define DEFAULT_LISTEN "127.0.0.1:5700"
/* Descriptors kept for the log, the listener and libevent. */
#define RESERVED_FDS     32
#define MAX_HEADERS_SIZE 16384
/* Idle keep-alive connections and stalled requests end after this. */
#define IDLE_TIMEOUT_S 60

typedef struct serve_args {
    const char *log_path;
    int any_address;
    char host[INET6_ADDRSTRLEN + 1]; /* The numeric listen address. */
    int port;
} serve_args;

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: %s serve [OPTIONS]\n\n"
        "Serves the OneBot v11 HTTP API as an implementation would: every "
        "action of the\ntable, plausible data, parameter checks, access "
        "token checks. Every call is\nlogged as one JSON line. Prints "
        "\"listening on HOST:PORT\" on stderr when ready;\nSIGTERM or "
        "SIGINT stop it.\n\n"
        "Requests: GET or POST /<action>, /<action>/, or POST / with "
        "{\"action\": ...,\n"
        "\"params\": {...}}; parameters from a JSON object body, a form "
        "body and the\n"
        "query string (later wins); <action>_async answers status async.\n\n"
        "Options:\n"
        "  --listen ADDR          HOST:PORT to listen on, port 0 picks one\n"
        "                         [" DEFAULT_LISTEN "] (also CQHTTP_LISTEN)\n"
        "  --any-address          allow an ADDR that is not loopback\n"
        "  --access-token T       require token T: Authorization: Bearer T "
        "or Token T,\n"
        "                         or ?access_token=T (better: "
        "CQHTTP_ACCESS_TOKEN)\n"
        "  --log FILE             append the call log to FILE [stdout]\n"
        "  --self-id N            the simulated bot's QQ number [%d]\n"
        "  --max-connections N    connections served at once; more wait "
        "in the backlog\n"
        "                         [10000, at most the open-file limit less "
        "32]\n"
        "  --max-body N           largest request body, bytes [1048576]\n"
        "  --max-depth N          deepest JSON body nesting [32]\n"
        "  --fault [ACTION=]KIND  misbehave on ACTION (every action without "
        "ACTION=);\n"
        "                         repeatable, a named action before every "
        "action. KIND:\n"
        "      failed[:RETCODE]   200, status failed, retcode [100]\n"
        "      http:STATUS        that HTTP status, empty body\n"
        "      garbage            200 with a body that is not JSON\n"
        "      nojson-status      200 with {\"retcode\":0} and no status\n"
        "      slow:MS            the normal answer after MS ms\n"
        "      close              close the connection without an answer\n"
        "      partial            a truncated answer, then close\n\n"
        "Log line: {\"seq\",\"time\",\"peer\",\"method\",\"action\","
        "\"params\",\"auth\",\"http_status\",\n"
        "\"status\",\"retcode\"} plus \"fault\" and \"error\" when they "
        "apply; \"auth\" is the\n"
        "Authorization header, or \"access_token=T\" from the query, or "
        "null.\n"
        "Requests evhttp refuses itself (a body above --max-body: 413; "
        "malformed HTTP:\n400) are not logged.\n",
        CQ__SIM_PROG, CQ__SIM_SELF_ID);
}

/* Splits "host:port", "[v6]:port" or ":port" (host 127.0.0.1). */
static int split_addr(const char *addr, char *host, size_t hlen, int *port)
{
    const char *colon = strrchr(addr, ':'), *h = addr;
    size_t n;
    char *end;
    long p;

    if (colon == NULL)
        return CQ_EINVAL;
    n = (size_t)(colon - addr);
    if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
        h = addr + 1;
        n -= 2;
    }
    if (n == 0) {
        h = "127.0.0.1";
        n = strlen(h);
    }
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (n >= hlen || colon[1] == '\0' || *end != '\0' || errno != 0 || p < 0 ||
        p > 65535)
        return CQ_EINVAL;
    memcpy(host, h, n);
    host[n] = '\0';
    *port = (int)p;
    return CQ_OK;
}

static int is_loopback(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(
            &((const struct sockaddr_in6 *)sa)->sin6_addr);
    return 0;
}

/* Formats a bound address as "127.0.0.1:5700" or "[::1]:5700". */
static void format_addr(const struct sockaddr *sa, char *out, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;

    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
        snprintf(out, len, "%s:%d", host, port);
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        snprintf(out, len, "[%s]:%d", host, port);
    }
}

/*
 * Resolves the listen address into a numeric host and a port, refusing one
 * that is not loopback unless any is set. Returns 0, 1 (cannot resolve) or
 * CQ__SIM_EXIT_USAGE, after saying why.
 */
static int resolve_listen(const char *addr, int any, serve_args *a)
{
    struct addrinfo hints, *ai = NULL;
    char host[256];
    int rc;

    if (split_addr(addr, host, sizeof(host), &a->port) != CQ_OK)
        return cq__sim_usage_error("serve",
                                   "listen address \"%s\" is not "
                                   "HOST:PORT",
                                   addr);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, NULL, &hints, &ai);
    if (rc != 0) {
        cq_log(CQ_LOG_ERROR, "cannot resolve %s: %s", host, gai_strerror(rc));
        return 1;
    }
    rc = getnameinfo(ai->ai_addr, ai->ai_addrlen, a->host, sizeof(a->host),
                     NULL, 0, NI_NUMERICHOST);
    if (rc != 0) {
        cq_log(CQ_LOG_ERROR, "cannot use %s: %s", host, gai_strerror(rc));
        rc = 1;
    } else if (!any && !is_loopback(ai->ai_addr)) {
        rc = cq__sim_usage_error("serve",
                                 "%s is not a loopback address; "
                                 "this is a test tool (add "
                                 "--any-address to insist)",
                                 a->host);
    }
    freeaddrinfo(ai);
    return rc;
}

/* Binds http to the address; prints the "listening on" line. 0 or 1. */
static int bind_listen(cq__sim_server *srv, const serve_args *a)
{
    struct evhttp_bound_socket *bound;
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    char shown[INET6_ADDRSTRLEN + 16];

    bound = evhttp_bind_socket_with_handle(srv->http, a->host,
                                           (ev_uint16_t)a->port);
    if (bound == NULL) {
        cq_log(CQ_LOG_ERROR, "cannot listen on %s port %d: %s", a->host,
               a->port, strerror(errno));
        return 1;
    }
    srv->listener = evhttp_bound_socket_get_listener(bound);
    if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss,
                    &sslen) != 0) {
        cq_log(CQ_LOG_ERROR, "getsockname: %s", strerror(errno));
        return 1;
    }
    format_addr((struct sockaddr *)&ss, shown, sizeof(shown));
    fprintf(stderr, "listening on %s\n", shown);
    fflush(stderr);
    return 0;
}

/*
 * Connection tracking. evhttp 2.1 tells nobody about a new connection except
 * the bufferevent callback, before the connection exists; the close callback
 * can be set only on the connection. So the bufferevent callback records the
 * bufferevent (holding a reference, so that it outlives an early failure)
 * and schedules the adoption; the adoption, later in the same loop turn,
 * finds the connection in the bufferevent's callback argument, which evhttp
 * sets to it, and sets the close callback.
 */
static void conn_gone(cq__sim_conn *conn)
{
    cq__sim_server *srv = conn->srv;

    if (conn->call != NULL)
        cq__sim_hcall_abandon(conn->call);
    if (conn->adopt != NULL)
        event_free(conn->adopt);
    if (conn->prev != NULL)
        conn->prev->next = conn->next;
    else
        srv->conns = conn->next;
    if (conn->next != NULL)
        conn->next->prev = conn->prev;
    srv->nconns--;
    if (srv->paused && !srv->stopping && srv->nconns < srv->max_conns) {
        evconnlistener_enable(srv->listener);
        srv->paused = 0;
    }
    free(conn);
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    conn_gone(arg);
}

static void adopt(cq__sim_conn *conn)
{
    struct bufferevent *bev = conn->bev;
    bufferevent_data_cb rd, wr;
    bufferevent_event_cb ev;
    void *arg = NULL;

    bufferevent_getcb(bev, &rd, &wr, &ev, &arg);
    conn->held = 0;
    if (ev == NULL || arg == NULL) {
        /* evhttp has already freed the connection (callbacks cleared). */
        conn_gone(conn);
    } else {
        conn->evcon = arg;
        evhttp_connection_set_closecb(conn->evcon, on_close, conn);
    }
    bufferevent_decref(bev);
}

static void on_adopt(evutil_socket_t fd, short what, void *arg)
{
    cq__sim_conn *conn = arg;

    (void)fd;
    (void)what;
    if (conn->held)
        adopt(conn);
}

static struct bufferevent *on_accept(struct event_base *base, void *arg)
{
    cq__sim_server *srv = arg;
    struct bufferevent *bev = bufferevent_socket_new(base, -1, 0);
    cq__sim_conn *conn;

    if (bev == NULL)
        return NULL;
    conn = calloc(1, sizeof(*conn));
    if (conn != NULL)
        conn->adopt = event_new(base, -1, 0, on_adopt, conn);
    if (conn == NULL || conn->adopt == NULL) {
        cq_log(CQ_LOG_WARN, "out of memory: a connection is not counted");
        free(conn);
        return bev;
    }
    conn->srv = srv;
    conn->bev = bev;
    conn->held = 1;
    bufferevent_incref(bev);
    conn->next = srv->conns;
    if (srv->conns != NULL)
        srv->conns->prev = conn;
    srv->conns = conn;
    if (++srv->nconns >= srv->max_conns && !srv->paused) {
        /* Further clients wait in the kernel's backlog. */
        evconnlistener_disable(srv->listener);
        srv->paused = 1;
    }
    event_active(conn->adopt, EV_TIMEOUT, 1);
    return bev;
}

cq__sim_conn *cq__sim_conn_of(cq__sim_server *srv, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev =
        evcon != NULL ? evhttp_connection_get_bufferevent(evcon) : NULL;
    cq__sim_conn *conn;

    for (conn = srv->conns; bev != NULL && conn != NULL; conn = conn->next) {
        if (conn->bev != bev)
            continue;
        if (conn->held) {
            /* A request before the adoption: adopt now and look again. */
            adopt(conn);
            return cq__sim_conn_of(srv, req);
        }
        return conn->evcon == evcon ? conn : NULL;
    }
    return NULL;
}

/*
 * The connection cap: max_connections, but below the open-file limit, so
 * that accept() never fails for want of descriptors.
 */
static size_t max_conns(const cq__conf *conf)
{
    size_t cap = (size_t)conf->max_connections;
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur > RESERVED_FDS && rl.rlim_cur - RESERVED_FDS < cap)
        cap = (size_t)(rl.rlim_cur - RESERVED_FDS);
    return cap;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    cq__sim_server *srv = arg;

    (void)what;
    cq_log(CQ_LOG_INFO, "signal %d: stopping", (int)sig);
    event_base_loopbreak(srv->base);
}

static int parse_args(cq__sim_server *srv, serve_args *a, char **args, int n)
{
    char err[512];
    int i;

    for (i = 0; i < n; i++) {
        const char *f = args[i], *val = i + 1 < n ? args[i + 1] : NULL;

        if (strcmp(f, "--any-address") == 0) {
            a->any_address = 1;
            continue;
        }
        if (strcmp(f, "--log") != 0 && strcmp(f, "--self-id") != 0 &&
            strcmp(f, "--fault") != 0)
            return cq__sim_usage_error("serve", "%s \"%s\"",
                                       strncmp(f, "-", 1) == 0
                                           ? "unknown option"
                                           : "unexpected argument",
                                       f);
        if (val == NULL)
            return cq__sim_usage_error("serve", "%s needs a value", f);
        i++;
        if (strcmp(f, "--log") == 0) {
            a->log_path = val;
        } else if (strcmp(f, "--self-id") == 0) {
            if (cq__sim_parse_id(val, &srv->core.world.self_id) != CQ_OK)
                return cq__sim_usage_error("serve",
                                           "--self-id: \"%s\" is "
                                           "not a QQ number",
                                           val);
        } else if (cq__sim_core_add_fault(&srv->core, val, 1, err,
                                          sizeof(err)) != CQ_OK) {
            return cq__sim_usage_error("serve", "%s", err);
        }
    }
    return 0;
}

/* Everything after the arguments; returns the exit status. */
static int run(cq__sim_server *srv, const cq__conf *conf, const serve_args *a)
{
    struct event *sigterm = NULL, *sigint = NULL;
    int rc = 1;

    srv->base = event_base_new();
    srv->http = srv->base != NULL ? evhttp_new(srv->base) : NULL;
    if (srv->http == NULL) {
        cq_log(CQ_LOG_ERROR, "cannot start libevent: out of memory");
        goto out;
    }
    evhttp_set_gencb(srv->http, cq__sim_handle, srv);
    evhttp_set_bevcb(srv->http, on_accept, srv);
    evhttp_set_max_body_size(srv->http, conf->max_body);
    evhttp_set_max_headers_size(srv->http, MAX_HEADERS_SIZE);
    evhttp_set_timeout(srv->http, IDLE_TIMEOUT_S);
    /* Empty answers (401, 404, ...) get no Content-Type. */
    evhttp_set_default_content_type(srv->http, NULL);
    /* Read an over-long body to its end, so that the client sees the 413. */
    evhttp_set_flags(srv->http, EVHTTP_SERVER_LINGERING_CLOSE);
    /* Every method reaches the callback, which answers 405 itself. */
    evhttp_set_allowed_methods(
        srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                       EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                       EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
                       EVHTTP_REQ_PATCH);
    sigterm = evsignal_new(srv->base, SIGTERM, on_signal, srv);
    sigint = evsignal_new(srv->base, SIGINT, on_signal, srv);
    if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) ||
        evsignal_add(sigint, NULL)) {
        cq_log(CQ_LOG_ERROR, "cannot watch signals");
        goto out;
    }
    if (bind_listen(srv, a) != 0)
        goto out;
    rc = event_base_dispatch(srv->base) < 0 ? 1 : 0;
out:
    if (sigterm != NULL)
        event_free(sigterm);
    if (sigint != NULL)
        event_free(sigint);
    srv->stopping = 1;
    if (srv->http != NULL)
        evhttp_free(srv->http);
    /* Connections evhttp freed before their adoption ran. */
    while (srv->conns != NULL) {
        struct bufferevent *bev = srv->conns->held ? srv->conns->bev : NULL;

        conn_gone(srv->conns);
        if (bev != NULL)
            bufferevent_decref(bev);
    }
    if (srv->base != NULL)
        event_base_free(srv->base);
    return rc;
}

int cq__sim_serve(int argc, char **argv)
{
    cq__sim_server *srv;
    serve_args a;
    cq__conf conf;
    char **args;
    int nargs = 0, rc;

    if (cq__sim_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    memset(&a, 0, sizeof(a));
    cq__conf_init(&conf);
    srv = calloc(1, sizeof(*srv));
    args = calloc((size_t)argc + 1, sizeof(*args));
    rc = srv != NULL && args != NULL ? 0 : 1;
    if (rc != 0)
        fprintf(stderr, "%s serve: out of memory\n", CQ__SIM_PROG);
    if (rc == 0)
        rc = cq__sim_conf("serve", &conf, argc, argv, args, &nargs);
    if (rc == 0) {
        cq__sim_core_init(&srv->core, CQ__SIM_SELF_ID);
        srv->max_depth = (int)conf.max_depth;
        srv->token = conf.access_token;
        rc = parse_args(srv, &a, args, nargs);
    }
    if (rc == 0)
        rc = resolve_listen(conf.listen ? conf.listen : DEFAULT_LISTEN,
                            a.any_address, &a);
    if (rc == 0) {
        srv->max_conns = max_conns(&conf);
        if (cq__sim_core_open_log(&srv->core, a.log_path) != CQ_OK)
            rc = 1;
    }
    if (rc == 0)
        rc = run(srv, &conf, &a);
    if (srv != NULL)
        cq__sim_core_free(&srv->core);
    free(srv);
    free(args);
    cq__conf_free(&conf);
    return rc;
}
