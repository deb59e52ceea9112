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

static void call_free(cq__sim_hcall *c)
{
    if (c->timer != NULL)
        event_free(c->timer);
    cq__sim_call_free(&c->call);
    free(c->auth);
    if (c->params != NULL)
        yajl_tree_free(c->params);
    free(c);
}

/* Writes the call's one log line. */
static void write_log(cq__sim_hcall *c)
{
    cq__sim_call_log(&c->srv->core, &c->call);
}

/* Sends the answer the call holds, logs it and frees the call. */
static void finish(cq__sim_hcall *c)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(c->req);
    struct evbuffer *out = NULL;

    if (c->content_type != NULL)
        evhttp_add_header(h, "Content-Type", c->content_type);
    if (c->allow != NULL)
        evhttp_add_header(h, "Allow", c->allow);
    if (c->call.body_len > 0 && c->call.http_status == 200) {
        out = evbuffer_new();
        if (out == NULL ||
            evbuffer_add(out, c->call.body, c->call.body_len) != 0) {
            cq__sim_call_error(&c->call, "out of memory");
            c->call.http_status = 500;
            c->call.status = NULL;
        }
    }
    evhttp_send_reply(c->req, c->call.http_status, NULL,
                      c->call.http_status == 500 ? NULL : out);
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
static void send_partial(struct evhttp_connection *evcon,
                         const cq__sim_call *call)
{
    static const char head[] =
        "HTTP/1.1 200 OK\r\n"
        "Content-Type: application/json; charset=UTF-8\r\n"
        "Content-Length: 100\r\n"
        "\r\n";
    evutil_socket_t fd =
        bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
    char text[256];
    int n = snprintf(text, sizeof(text), "%s%.*s", head, (int)call->body_len,
                     call->body ? call->body : "");

    if (fd >= 0 && n > 0 && (size_t)n < sizeof(text) &&
        send(fd, text, (size_t)n, MSG_NOSIGNAL) < 0)
        cq_log(CQ_LOG_WARN, "fault partial: send failed: %s", strerror(errno));
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    cq__sim_hcall *c = arg;
    struct evhttp_connection *evcon;

    (void)fd;
    (void)what;
    c->conn->call = NULL;
    if (c->call.fault->kind == CQ__SIM_FAULT_SLOW) {
        finish(c);
        return;
    }
    evcon = evhttp_request_get_connection(c->req);
    if (c->call.fault->kind == CQ__SIM_FAULT_PARTIAL)
        send_partial(evcon, &c->call);
    write_log(c);
    call_free(c);
    /* This runs the close callback, which finds no call left to drop. */
    evhttp_connection_free(evcon);
}

/*
 * Holds the answer back for a fault: a slow answer for its delay, a close
 * or a partial answer until the next loop turn, out of evhttp's callback.
 */
static void defer(cq__sim_hcall *c)
{
    const cq__sim_fault *f = c->call.fault;
    long ms = f->kind == CQ__SIM_FAULT_SLOW ? f->arg : 0;
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    c->timer = evtimer_new(c->srv->base, on_timer, c);
    if (c->timer == NULL || evtimer_add(c->timer, &tv) != 0) {
        cq__sim_call_error(&c->call, "out of memory");
        c->call.http_status = 500;
        c->call.status = NULL;
        finish(c);
        return;
    }
    c->conn->call = c;
}

void cq__sim_hcall_abandon(cq__sim_hcall *c)
{
    cq__sim_call_unsent(&c->call);
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

static int deferred(const cq__sim_hcall *c)
{
    const cq__sim_fault *f = c->call.fault;

    return f != NULL &&
           (f->kind == CQ__SIM_FAULT_SLOW || f->kind == CQ__SIM_FAULT_CLOSE ||
            f->kind == CQ__SIM_FAULT_PARTIAL);
}

void cq__sim_handle(struct evhttp_request *req, void *arg)
{
    cq__sim_server *srv = arg;
    cq__sim_hcall *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        cq_log(CQ_LOG_ERROR, "out of memory: answering 500");
        evhttp_send_reply(req, 500, NULL, NULL);
        return;
    }
    c->srv = srv;
    c->req = req;
    c->conn = cq__sim_conn_of(srv, req);
    c->call.method = method_name(evhttp_request_get_command(req));
    c->call.peer = c->peer;
    peer_name(req, c->peer, sizeof(c->peer));
    cq__sim_evaluate(c);
    if (!deferred(c)) {
        finish(c);
    } else if (c->conn == NULL || c->conn->call != NULL) {
        /* Not expected: evhttp reads no request before the last answer. */
        cq_log(CQ_LOG_WARN, "fault %s not applied: connection not tracked",
               cq__sim_fault_name(c->call.fault->kind));
        if (c->call.http_status == 0) {
            c->call.http_status = 500;
            cq__sim_call_error(&c->call, "fault not applied");
        }
        finish(c);
    } else {
        defer(c);
    }
}
