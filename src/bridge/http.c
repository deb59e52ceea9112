/*
 * Plain HTTP requests on the WebSocket port: the OneBot HTTP API at
 * /api/<action> (PROTOCOL.md section 3), whose calls go over the account's
 * WebSocket exactly like API-socket calls, and GET /metrics
 * (bridge/metrics.c). Loop thread only.
 *
 * conn.c hands over a connection whose first request head asks for one of
 * these paths without an Upgrade header. One request per connection: the
 * answer says "Connection: close", and the connection then closes as after
 * a refused handshake. Bounded like the handshake: the head by
 * CQ__WS_MAX_HEAD, the body by max_body, the whole request by
 * handshake_timeout_ms, the call by api_timeout_ms.
 */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "bridge/bridge.h"
#include "bridge/pending.h"
#include "bridge/http.h"
#include "lib/actions.h"
#include "lib/json.h"
#include "lib/metrics.h"
#include "lib/net.h"

enum body_kind { BODY_NONE, BODY_JSON, BODY_FORM };

struct cq__http {
    cq__ws_conn *c;
    struct event *timer; /* The request's deadline, until the call. */
    cq__pending *p;      /* The call in flight, or NULL. */
    size_t body_len;     /* Content-Length. */
    enum body_kind kind; /* What the body holds. */
    int metrics;         /* GET /metrics rather than an API call. */
    int64_t self_id;     /* X-Self-ID, or 0. */
    char *query;         /* The query string, or NULL. */
    char *echo;          /* The request's "echo" as JSON text, or NULL. */
    uint64_t start_ms;   /* When the call went out. */
    char action[128];
};


void cq__http_respond(cq__ws_conn *c, int status, const char *type,
                      const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
                     status,
                     cq__net_reason(status) ? cq__net_reason(status) : "Error",
                     type, len,
                     status == 401   ? "WWW-Authenticate: Bearer\r\n"
                     : status == 405 ? "Allow: GET, POST\r\n"
                                     : "");

    bufferevent_write(c->bev, head, (size_t)n);
    if (len > 0)
        bufferevent_write(c->bev, body, len);
    cq__conn_finish(c);
}


/*
 * The bridge's own failure as a OneBot answer: retcode -1, "bridge" naming
 * err as the API socket does, "msg" saying why.
 */
static void fail(cq__http *h, int status, int err, const char *msg)
{
    static const char oom[] = "{\"status\":\"failed\",\"retcode\":-1,"
                              "\"data\":null,\"echo\":null}";
    cq__jw w;
    char *s;
    size_t len;

    cq_log(status >= 500 ? CQ_LOG_WARN : CQ_LOG_INFO, "%s: HTTP %d: %s",
           h->c->peer, status, msg);
    cq__jw_init(&w);
    cq__jw_open(&w);
    cq__bridge_write_failure(&w, err, msg);
    cq__jw_knull(&w, "echo");
    cq__jw_close(&w);
    s = cq__jw_dup(&w, &len);
    cq__jw_free(&w);
    if (s == NULL)
        cq__http_respond(h->c, 500, "application/json", oom, sizeof(oom) - 1);
    else
        cq__http_respond(h->c, status, "application/json; charset=UTF-8", s,
                         len);
    free(s);
}


/* The HTTP status for a failed call's error. */
static int status_for(int err)
{
    switch (err) {
    case CQ_ENOAPI:
    case CQ_EAGAIN:
        return 503;
    case CQ_ETIMEDOUT:
        return 504;
    case CQ_ENETWORK:
        return 502;
    case CQ_EINVAL:
    case CQ_EPARSE:
        return 400;
    default:
        return 500;
    }
}


/* The account's answer: its members but the echo, then the request's. */
static void answer_frame(cq__http *h, const cq_value *frame)
{
    int64_t retcode = 0;
    yajl_val echo = NULL;
    cq__jw w;
    size_t i, len;
    char *s;

    cq__jw_init(&w);
    cq__jw_open(&w);
    for (i = 0; i < cq_value_len(frame); i++) {
        const char *k = cq_value_key(frame, i);

        if (strcmp(k, "echo") == 0)
            continue;
        cq__jw_key(&w, k);
        cq__jw_value(&w, (yajl_val)cq_value_at(frame, i));
    }
    if (h->echo != NULL)
        cq__json_parse(&echo, h->echo, strlen(h->echo), CQ__IPC_MAX_DEPTH);
    cq__jw_key(&w, "echo");
    cq__jw_value(&w, echo);
    yajl_tree_free(echo);
    cq__jw_close(&w);
    s = cq__jw_dup(&w, &len);
    cq__jw_free(&w);
    if (s == NULL) {
        fail(h, 500, CQ_ENOMEM, "answer could not be written");
        return;
    }
    cq_value_int(cq_value_get(frame, "retcode"), &retcode);
    cq__metrics_call_done(CQ__MT_BRIDGE_HTTP,
                          retcode == 0 || retcode == 1 ? CQ_OK : CQ_EFAILED,
                          cq__now_ms() - h->start_ms);
    /* A WebSocket "no such action" is HTTP 404 (PROTOCOL.md 3.3). */
    cq__http_respond(h->c, retcode == 1404 ? 404 : 200,
                     "application/json; charset=UTF-8", s, len);
    free(s);
}


static void on_done(void *arg, const cq_value *frame, int err, const char *msg)
{
    cq__http *h = arg;

    h->p = NULL;
    if (err == CQ_OK) {
        answer_frame(h, frame);
        return;
    }
    cq__metrics_call_done(CQ__MT_BRIDGE_HTTP, err, cq__now_ms() - h->start_ms);
    fail(h, status_for(err), err, msg != NULL ? msg : cq_strerror(err));
}


/* No account named, or the one named: 503 or 400 when there is none. */
static cq__account *choose(cq__http *h)
{
    cq__bridge *br = h->c->br;
    cq__account *a;

    if (br->stopping) {
        fail(h, 503, CQ_ENOAPI, "the bridge is stopping");
        return NULL;
    }
    a = h->self_id > 0 ? cq__account_find(br, h->self_id)
                       : cq__account_sole(br);
    if (a == NULL && h->self_id == 0 && br->naccounts > 1)
        fail(h, 400, CQ_EINVAL,
             "several accounts connected: say which with X-Self-ID or "
             "self_id");
    else if (a == NULL)
        fail(h, 503, CQ_ENOAPI, "account not connected to this bridge");
    return a;
}


/* Sends the call for the complete body[0..len), or answers the failure. */
static void call(cq__http *h, const char *body, size_t len)
{
    yajl_val tree = NULL, params = NULL;
    cq__account *a;
    int rc;

    if (h->kind == BODY_JSON && len > 0 &&
        (cq__json_parse(&tree, body, len, (int)h->c->br->conf->max_depth) !=
             CQ_OK ||
         !YAJL_IS_OBJECT(tree))) {
        fail(h, 400, CQ_EPARSE, "the body is not one JSON object");
        goto out;
    }
    rc = cq__http_params(h->action, tree, h->kind == BODY_FORM ? body : NULL,
                         len, h->query, &h->self_id, &h->echo, &params);
    if (rc != CQ_OK) {
        fail(h, rc == CQ_ENOMEM ? 500 : 400, rc,
             rc == CQ_ENOMEM   ? "out of memory"
             : rc == CQ_EINVAL ? "self_id is not a positive integer"
                               : "too many parameters");
        goto out;
    }
    if ((a = choose(h)) == NULL)
        goto out;
    h->start_ms = cq__now_ms();
    rc = cq__account_call(h->c->br, a, h->action, params, on_done, h, &h->p);
    if (rc != CQ_OK) {
        cq__metrics_call_done(CQ__MT_BRIDGE_HTTP, rc, 0);
        fail(h, status_for(rc), rc,
             rc == CQ_ENOAPI ? "no API connection for this account"
                             : "too many calls waiting, or the connection's "
                               "queue is full");
    }
out:
    yajl_tree_free(tree);
    yajl_tree_free(params);
}


static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    cq__http *h = arg;

    (void)fd;
    (void)what;
    fail(h, 408, CQ_ETIMEDOUT, "no complete request in time");
}


void cq__http_on_read(cq__ws_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    cq__http *h = c->http;
    char *body;

    if (h->timer == NULL || !evtimer_pending(h->timer, NULL) ||
        evbuffer_get_length(in) < h->body_len) {
        if (h->timer == NULL || !evtimer_pending(h->timer, NULL))
            evbuffer_drain(in, evbuffer_get_length(in));
        return;
    }
    evtimer_del(h->timer);
    /* A copy: answering may close the connection and drain its input. */
    body = malloc(h->body_len + 1);
    if (body == NULL) {
        fail(h, 500, CQ_ENOMEM, "out of memory");
        return;
    }
    evbuffer_remove(in, body, h->body_len);
    body[h->body_len] = '\0';
    call(h, body, h->body_len);
    free(body);
}


void cq__http_free(cq__ws_conn *c)
{
    cq__http *h = c->http;

    if (h == NULL)
        return;
    if (h->p != NULL)
        cq__pending_detach(h->p);
    if (h->timer != NULL)
        event_free(h->timer);
    free(h->query);
    free(h->echo);
    free(h);
    c->http = NULL;
}


static int span_is(const char *s, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(s, lit, n) == 0;
}


int cq__http_wanted(const cq__ws_request *req)
{
    return req->upgrade == NULL &&
           (span_is(req->path, req->path_len, "/metrics") ||
            (req->path_len > 5 && memcmp(req->path, "/api/", 5) == 0));
}


/* Whether the peer is on a loopback address (127/8 or ::1). */
static int from_loopback(cq__ws_conn *c)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
                                               0, 0, 0, 0, 0xff, 0xff};

    if (getpeername(bufferevent_getfd(c->bev), (struct sockaddr *)&ss, &len) !=
        0)
        return 0;
    if (ss.ss_family == AF_INET)
        return (ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr) >> 24) ==
               127;
    if (ss.ss_family == AF_INET6) {
        const unsigned char *a =
            ((struct sockaddr_in6 *)&ss)->sin6_addr.s6_addr;

        return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&ss)->sin6_addr) ||
               (memcmp(a, v4mapped, 12) == 0 && a[12] == 127);
    }
    return 0;
}


/* Stores the action named by the path; 0 when it is not a valid name. */
static int take_action(cq__http *h, const cq__ws_request *req)
{
    const char *s = req->path + 5;
    size_t n = req->path_len - 5;

    if (n > 0 && s[n - 1] == '/')
        n--;
    if (n == 0 || n >= sizeof(h->action))
        return 0;
    memcpy(h->action, s, n);
    h->action[n] = '\0';
    return strspn(h->action,
                  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_.") == n;
}


/* Reads Content-Length and Content-Type; returns 0 or the status. */
static int judge_body(cq__http *h, const cq__ws_request *req, cq__ws_verdict *v)
{
    const char *t = req->content_type;
    size_t i, n = req->content_type_len;

    v->reason = "Transfer-Encoding is not supported: send Content-Length";
    if (req->transfer_encoding != NULL)
        return 501;
    v->reason = "Content-Length is not a number of at most max_body";
    for (i = 0; i < req->content_length_len; i++) {
        if (req->content_length[i] < '0' || req->content_length[i] > '9')
            return 400;
        h->body_len = h->body_len * 10 + (size_t)(req->content_length[i] - '0');
        if (h->body_len > (size_t)h->c->br->conf->max_body)
            return 413;
    }
    for (i = 0; t != NULL && i < n && t[i] != ';' && t[i] != ' '; i++)
        ;
    h->kind = BODY_JSON;
    if (t != NULL && i == 33 &&
        strncasecmp(t, "application/x-www-form-urlencoded", i) == 0)
        h->kind = BODY_FORM;
    else if (t != NULL && i > 0 &&
             !(i == 16 && strncasecmp(t, "application/json", i) == 0) &&
             h->body_len > 0)
        return v->reason = "Content-Type is neither JSON nor a form", 406;
    return 0;
}


/* Everything the head says: returns 0 when the body may be read, else the
 * status to answer with v->reason. */
static int judge(cq__http *h, const cq__ws_request *req, cq__ws_verdict *v)
{
    const char *token = h->c->br->conf->access_token;
    int status;

    h->metrics = req->path[1] == 'm';
    v->reason = "method is not GET or POST";
    if (!span_is(req->method, req->method_len, "GET") &&
        (h->metrics || !span_is(req->method, req->method_len, "POST")))
        return 405;
    if (h->metrics && (token == NULL || token[0] == '\0'))
        return from_loopback(h->c)
                   ? 0
                   : (v->reason = "metrics: loopback only without a token",
                      403);
    if ((status = cq__ws_judge_auth(req, token, v)) != 0)
        return status;
    if (h->metrics)
        return 0;
    v->reason = "no such action name";
    if (!take_action(h, req))
        return 404;
    if (req->self_id != NULL && (status = cq__ws_judge_self_id(req, v)) != 0)
        return status;
    h->self_id = v->self_id;
    if (req->query != NULL &&
        (h->query = strndup(req->query, req->query_len)) == NULL)
        return v->reason = "out of memory", 500;
    return judge_body(h, req, v);
}


void cq__http_start(cq__ws_conn *c, const cq__ws_request *req)
{
    cq__http *h = calloc(1, sizeof(*h));
    cq__ws_verdict v = {0, "", CQ__WS_UNIVERSAL, 0};
    struct timeval tv;
    int status;

    evtimer_del(c->timer);
    c->state = CQ__CONN_HTTP;
    c->http = h;
    if (h != NULL)
        h->c = c;
    status = h == NULL ? 500 : judge(h, req, &v);
    evbuffer_drain(bufferevent_get_input(c->bev), req->head_len);
    if (h == NULL) {
        cq__http_respond(c, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    if (status != 0) {
        fail(h, status, status == 500 ? CQ_ENOMEM : CQ_EINVAL, v.reason);
        return;
    }
    if (h->metrics) {
        cq__bridge_metrics_answer(c);
        return;
    }
    h->timer = evtimer_new(c->br->base, on_deadline, h);
    if (h->timer == NULL) {
        fail(h, 500, CQ_ENOMEM, "out of memory");
        return;
    }
    tv.tv_sec = c->br->conf->handshake_timeout_ms / 1000;
    tv.tv_usec = (c->br->conf->handshake_timeout_ms % 1000) * 1000;
    evtimer_add(h->timer, &tv);
    cq__http_on_read(c);
}
