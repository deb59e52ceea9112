/*
 * serve_call: one API request from its arrival to its answer and its log
 * line, including the faults that hold the answer back (slow, close,
 * partial) on a timer, so that other connections go on being served.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>

#include "cqhttp.h"
#include "sim/serve.h"

static const char *const fault_names[] = {
    [CQ__SIM_FAULT_FAILED] = "failed",
    [CQ__SIM_FAULT_HTTP] = "http",
    [CQ__SIM_FAULT_GARBAGE] = "garbage",
    [CQ__SIM_FAULT_NOJSON_STATUS] = "nojson-status",
    [CQ__SIM_FAULT_SLOW] = "slow",
    [CQ__SIM_FAULT_CLOSE] = "close",
    [CQ__SIM_FAULT_PARTIAL] = "partial",
};

#define NFAULT_KINDS (sizeof(fault_names) / sizeof(fault_names[0]))

/* Parses the number after "kind:" into *out; CQ_OK or CQ_EINVAL. */
static int fault_arg(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0')
        return CQ_EINVAL;
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end != '\0' || errno != 0 || v < lo || v > hi)
        return CQ_EINVAL;
    *out = v;
    return CQ_OK;
}

int cq__sim_fault_parse(const char *spec, cq__sim_fault *out, char *err,
                        size_t errlen)
{
    const char *eq = strchr(spec, '='), *kind = eq != NULL ? eq + 1 : spec;
    const char *colon = strchr(kind, ':'), *arg = colon ? colon + 1 : NULL;
    size_t klen = colon != NULL ? (size_t)(colon - kind) : strlen(kind), i;
    int rc = CQ_OK;

    memset(out, 0, sizeof(*out));
    if (eq != NULL &&
        (eq == spec || (size_t)(eq - spec) >= sizeof(out->action))) {
        snprintf(err, errlen,
                 "--fault \"%s\": the action before '=' must "
                 "have 1 to %zu bytes",
                 spec, sizeof(out->action) - 1);
        return CQ_EINVAL;
    }
    if (eq != NULL)
        memcpy(out->action, spec, (size_t)(eq - spec));
    for (i = 0; i < NFAULT_KINDS; i++)
        if (strlen(fault_names[i]) == klen &&
            strncmp(kind, fault_names[i], klen) == 0)
            break;
    out->kind = (enum cq__sim_fault_kind)i;
    out->arg = 100; /* The retcode of a bare "failed". */
    if (i == CQ__SIM_FAULT_FAILED && arg != NULL)
        rc = fault_arg(arg, -2147483647L, 2147483647L, &out->arg);
    else if (i == CQ__SIM_FAULT_HTTP)
        rc = fault_arg(arg, 200, 599, &out->arg);
    else if (i == CQ__SIM_FAULT_SLOW)
        rc = fault_arg(arg, 0, 600000, &out->arg);
    else if (i >= NFAULT_KINDS || arg != NULL)
        rc = CQ_EINVAL;
    if (rc != CQ_OK)
        snprintf(err, errlen,
                 "--fault \"%s\": KIND must be failed[:RETCODE], "
                 "http:STATUS (200-599), garbage, nojson-status, slow:MS "
                 "(0-600000), close or partial",
                 spec);
    return rc;
}

const cq__sim_fault *cq__sim_fault_find(const cq__sim_fault *faults,
                                        size_t nfaults, const char *action,
                                        const char *base)
{
    size_t i;

    for (i = 0; i < nfaults; i++) {
        const char *a = faults[i].action;

        if (a[0] != '\0' && (strcmp(a, action) == 0 || strcmp(a, base) == 0))
            return &faults[i];
    }
    for (i = 0; i < nfaults; i++)
        if (faults[i].action[0] == '\0')
            return &faults[i];
    return NULL;
}

static void call_free(cq__sim_call *c)
{
    if (c->timer != NULL)
        event_free(c->timer);
    free(c->action);
    free(c->auth);
    free(c->body);
    if (c->params != NULL)
        yajl_tree_free(c->params);
    free(c);
}

/* Writes the call's one log line; a failure to log is reported once. */
static void write_log(cq__sim_call *c)
{
    cq__sim_server *srv = c->srv;
    cq__jw w;
    char *line;

    if (cq__jw_init(&w) != CQ_OK)
        return;
    cq__jw_open(&w);
    cq__jw_kint(&w, "seq", (int64_t)++srv->seq);
    cq__jw_kint(&w, "time", (int64_t)time(NULL));
    cq__jw_kstr(&w, "peer", c->peer);
    cq__jw_kstr(&w, "method", c->method);
    cq__jw_kstr(&w, "action", c->action);
    cq__jw_key(&w, "params");
    cq__jw_value(&w, c->params);
    cq__jw_kstr(&w, "auth", c->auth);
    if (c->http_status > 0)
        cq__jw_kint(&w, "http_status", c->http_status);
    else
        cq__jw_knull(&w, "http_status");
    cq__jw_kstr(&w, "status", c->status);
    if (c->status != NULL)
        cq__jw_kint(&w, "retcode", c->retcode);
    else
        cq__jw_knull(&w, "retcode");
    if (c->fault != NULL)
        cq__jw_kstr(&w, "fault", fault_names[c->fault->kind]);
    if (c->error[0] != '\0')
        cq__jw_kstr(&w, "error", c->error);
    cq__jw_close(&w);
    line = cq__jw_dup(&w, NULL);
    cq__jw_free(&w);
    if (line == NULL) {
        cq_log(CQ_LOG_ERROR, "cannot write log line %llu: out of memory",
               (unsigned long long)srv->seq);
        return;
    }
    if (fprintf(srv->log, "%s\n", line) < 0 || fflush(srv->log) != 0)
        cq_log(CQ_LOG_ERROR, "cannot write the call log: %s", strerror(errno));
    free(line);
}

/* Sends the answer the call holds, logs it and frees the call. */
static void finish(cq__sim_call *c)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
    struct evbuffer *out = NULL;

    if (c->content_type != NULL)
        evhttp_add_header(h, "Content-Type", c->content_type);
    if (c->allow != NULL)
        evhttp_add_header(h, "Allow", c->allow);
    if (c->body_len > 0) {
        out = evbuffer_new();
        if (out == NULL || evbuffer_add(out, c->body, c->body_len) != 0) {
            snprintf(c->error, sizeof(c->error), "out of memory");
            c->http_status = 500;
            c->status = NULL;
        }
    }
    evhttp_send_reply(c->req, c->http_status, NULL,
                      c->http_status == 500 ? NULL : out);
    if (out != NULL)
        evbuffer_free(out);
    write_log(c);
    call_free(c);
}

/*
 * Writes the head of an answer announcing more body bytes than follow. The
 * request has been read whole and evhttp has nothing queued, so the bytes go
 * straight to the socket, ahead of the close.
 */
static void send_partial(struct evhttp_connection *evcon)
{
    static const char head[] =
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/json; charset=UTF-8\r\n"
        "Content-Length: 100\r\n"
        "\r\n"
        "{\"data\":{\"message_id\":";
    evutil_socket_t fd =
        bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));

    if (fd >= 0 && send(fd, head, sizeof(head) - 1, MSG_NOSIGNAL) < 0)
        cq_log(CQ_LOG_WARN, "fault partial: send failed: %s", strerror(errno));
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    cq__sim_call *c = arg;
    struct evhttp_connection *evcon;

    (void)fd;
    (void)what;
    c->conn->call = NULL;
    if (c->fault->kind == CQ__SIM_FAULT_SLOW) {
        finish(c);
        return;
    }
    evcon = evhttp_request_get_connection(c->req);
    if (c->fault->kind == CQ__SIM_FAULT_PARTIAL)
        send_partial(evcon);
    write_log(c);
    call_free(c);
    /* This runs the close callback, which finds no call left to drop. */
    evhttp_connection_free(evcon);
}

/*
 * Holds the answer back for a fault: a slow answer for its delay, a close
 * or a partial answer until the next loop turn, out of evhttp's callback.
 */
static void defer(cq__sim_call *c)
{
    long ms = c->fault->kind == CQ__SIM_FAULT_SLOW ? c->fault->arg : 0;
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    c->timer = evtimer_new(c->srv->base, on_timer, c);
    if (c->timer == NULL || evtimer_add(c->timer, &tv) != 0) {
        snprintf(c->error, sizeof(c->error), "out of memory");
        c->http_status = 500;
        c->status = NULL;
        finish(c);
        return;
    }
    c->conn->call = c;
}

void cq__sim_call_abandon(cq__sim_call *c)
{
    c->http_status = 0;
    c->status = NULL;
    snprintf(c->error, sizeof(c->error),
             "the connection closed before the answer was sent");
    write_log(c);
    call_free(c);
}

static const char *method_name(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_HEAD:
        return "HEAD";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    case EVHTTP_REQ_OPTIONS:
        return "OPTIONS";
    case EVHTTP_REQ_TRACE:
        return "TRACE";
    case EVHTTP_REQ_CONNECT:
        return "CONNECT";
    case EVHTTP_REQ_PATCH:
        return "PATCH";
    default:
        return "?";
    }
}

/* "127.0.0.1:40312" or "[::1]:40312". */
static void peer_name(struct evhttp_request *req, char *out, size_t len)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    char *addr = NULL;
    ev_uint16_t port = 0;

    if (evcon != NULL)
        evhttp_connection_get_peer(evcon, &addr, &port);
    if (addr == NULL)
        snprintf(out, len, "?");
    else if (strchr(addr, ':') != NULL)
        snprintf(out, len, "[%s]:%u", addr, (unsigned)port);
    else
        snprintf(out, len, "%s:%u", addr, (unsigned)port);
}

static int deferred(const cq__sim_call *c)
{
    return c->fault != NULL && (c->fault->kind == CQ__SIM_FAULT_SLOW ||
                                c->fault->kind == CQ__SIM_FAULT_CLOSE ||
                                c->fault->kind == CQ__SIM_FAULT_PARTIAL);
}

void cq__sim_handle(struct evhttp_request *req, void *arg)
{
    cq__sim_server *srv = arg;
    cq__sim_call *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        cq_log(CQ_LOG_ERROR, "out of memory: answering 500");
        evhttp_send_reply(req, 500, NULL, NULL);
        return;
    }
    c->srv = srv;
    c->req = req;
    c->conn = cq__sim_conn_of(srv, req);
    c->method = method_name(evhttp_request_get_command(req));
    peer_name(req, c->peer, sizeof(c->peer));
    cq__sim_evaluate(c);
    if (!deferred(c)) {
        finish(c);
    } else if (c->conn == NULL || c->conn->call != NULL) {
        /* Not expected: evhttp reads no request before the last answer. */
        cq_log(CQ_LOG_WARN, "fault %s not applied: connection not tracked",
               fault_names[c->fault->kind]);
        if (c->http_status == 0) {
            c->http_status = 500;
            snprintf(c->error, sizeof(c->error), "fault not applied");
        }
        finish(c);
    } else {
        defer(c);
    }
}
