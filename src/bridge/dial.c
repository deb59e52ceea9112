/*
 * dial: forward WebSocket (ws_forward, PROTOCOL.md on forward WS). Some
 * implementations only serve WebSocket, so the bridge dials each URL
 * itself, with the access token as "Authorization: Bearer", and does the
 * client half of the opening handshake (ws/handshake.h). Once the 101 is
 * checked the socket becomes an ordinary conn.c connection in the client
 * mode, Universal: events run the handlers, API calls go over it, flow
 * control applies. Its account is the X-Self-ID of the answer when there is
 * one, else the self_id of its first event (the lifecycle meta event), and
 * until then it belongs to no account.
 *
 * A failed dial or a lost connection is dialed again after a backoff that
 * starts at DIAL_MIN_MS and doubles up to DIAL_MAX_MS, and starts over
 * after a connection opens; each attempt that fails is logged once, at
 * info, and at warn from the DIAL_WARN_AFTER-th failure in a row on. Loop
 * thread only.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "bridge/bridge.h"
#include "lib/json.h"
#include "lib/net.h"

#define DIAL_MIN_MS     1000
#define DIAL_MAX_MS     30000
#define DIAL_WARN_AFTER 3

struct cq__dialer {
    cq__bridge *br;
    char url[256];
    char hostport[128];      /* The Host header, and what is resolved. */
    char target[256];        /* Path and query to GET. */
    struct bufferevent *bev; /* While dialing and in the handshake. */
    cq__ws_conn *conn;       /* Once open, until freed. */
    struct event *timer;     /* The redial, then the handshake deadline. */
    char accept[29];
    long backoff_ms;
    unsigned failures; /* In a row. */
    cq__dialer *next;
};

static void dial(cq__dialer *d);


static void set_timer(cq__dialer *d, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    evtimer_add(d->timer, &tv);
}


/* Schedules the next attempt after the current backoff, which doubles. */
static void again(cq__dialer *d)
{
    if (d->br->stopping)
        return;
    set_timer(d, d->backoff_ms);
    d->backoff_ms =
        d->backoff_ms * 2 > DIAL_MAX_MS ? DIAL_MAX_MS : d->backoff_ms * 2;
}


/* An attempt failed: one log line, the socket freed, the next scheduled. */
static void failed(cq__dialer *d, const char *why)
{
    d->failures++;
    cq_log(d->failures >= DIAL_WARN_AFTER ? CQ_LOG_WARN : CQ_LOG_INFO,
           "ws_forward %s: %s (%u in a row); dialing again in %ld ms", d->url,
           why, d->failures, d->backoff_ms);
    if (d->bev != NULL)
        bufferevent_free(d->bev);
    d->bev = NULL;
    again(d);
}


void cq__dial_lost(cq__dialer *d)
{
    d->conn = NULL;
    cq_log(CQ_LOG_INFO, "ws_forward %s: closed; dialing again in %ld ms",
           d->url, d->backoff_ms);
    again(d);
}


int cq__dial_learn(cq__ws_conn *c, const char *text, size_t len)
{
    yajl_val ev = NULL;
    int64_t id = 0;

    /* Once per connection: the frame scan kept no tree, so parse here. */
    if (cq__json_parse(&ev, text, len, (int)c->br->conf->max_depth) == CQ_OK)
        cq_value_int(cq_value_get(cq__cv(ev), "self_id"), &id);
    yajl_tree_free(ev);
    if (id <= 0) {
        cq_log(CQ_LOG_WARN,
               "%s: event without a self_id before the account is known "
               "ignored",
               c->peer);
        return CQ_EINVAL;
    }
    c->self_id = id;
    c->held.self_id = id;
    if (cq__account_attach(c->br, c) != CQ_OK) {
        cq__conn_close(c, cq__bridge_close_code(CQ_ENOMEM), "out of memory");
        return CQ_ENOMEM;
    }
    return CQ_OK;
}


/*
 * The X-Self-ID header of a handshake answer's head (NUL-terminated), or 0
 * when it is absent or not a decimal integer above 0.
 */
static int64_t header_self_id(const char *head)
{
    static const char name[] = "\nX-Self-ID:";
    const char *p;
    char *end;
    long long v;

    for (p = head; (p = strchr(p, '\n')) != NULL; p++) {
        if (strncasecmp(p, name, sizeof(name) - 1) != 0)
            continue;
        p += sizeof(name) - 1;
        p += strspn(p, " \t");
        errno = 0;
        v = strtoll(p, &end, 10);
        if (end == p || *p == '-' || *p == '+' || errno != 0 || v <= 0 ||
            strspn(end, " \t\r\n") == 0)
            return 0;
        return (int64_t)v;
    }
    return 0;
}


/* The 101 is checked: the socket becomes a conn.c connection. */
static void opened(cq__dialer *d, int64_t self_id)
{
    struct bufferevent *bev = d->bev;
    char peer[64];

    snprintf(peer, sizeof(peer), "%.63s", d->hostport);
    evtimer_del(d->timer);
    d->bev = NULL;
    d->conn = cq__conn_new(d->br, bev, peer);
    if (d->conn == NULL) {
        d->bev = bev;
        failed(d, "out of memory");
        return;
    }
    cq_log(CQ_LOG_INFO, "ws_forward %s: open", d->url);
    d->failures = 0;
    d->backoff_ms = DIAL_MIN_MS;
    d->conn->dialer = d;
    cq__conn_open(d->conn, CQ__WS_UNIVERSAL, self_id, 1);
}


static void on_read(struct bufferevent *bev, void *arg)
{
    cq__dialer *d = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    char head[CQ__WS_MAX_HEAD + 1], why[96];
    cq__ws_response r;
    const char *bad;
    int64_t self_id;

    if (end.pos < 0) {
        if (evbuffer_get_length(in) > CQ__WS_MAX_HEAD)
            failed(d, "the handshake answer's head is too long");
        return;
    }
    if ((size_t)end.pos + 4 > CQ__WS_MAX_HEAD) {
        failed(d, "the handshake answer's head is too long");
        return;
    }
    evbuffer_remove(in, head, (size_t)end.pos + 4);
    head[end.pos + 4] = '\0';
    self_id = header_self_id(head);
    if (cq__ws_parse_response(head, &r) != CQ_OK) {
        failed(d, "the handshake answer is not HTTP/1.x");
        return;
    }
    if (r.status != 101) {
        snprintf(why, sizeof(why), "handshake refused: HTTP %d %.60s", r.status,
                 r.reason);
        failed(d, why);
        return;
    }
    if (cq__ws_check_response(&r, d->accept, &bad) != CQ_OK) {
        failed(d, bad);
        return;
    }
    opened(d, self_id);
}


/* Connected: the upgrade request, with a new key and the token. */
static void send_request(cq__dialer *d)
{
    const char *token = d->br->conf->access_token;
    int has = token != NULL && token[0] != '\0', n;
    char extra[CQ__WS_MAX_HEAD / 2], req[CQ__WS_MAX_HEAD];

    snprintf(extra, sizeof(extra), "%s%s%sUser-Agent: cqhttp-bridge\r\n",
             has ? "Authorization: Bearer " : "", has ? token : "",
             has ? "\r\n" : "");
    n = cq__ws_client_request(req, sizeof(req), d->target, d->hostport, extra,
                              d->accept);
    if (n < 0 || bufferevent_write(d->bev, req, (size_t)n) != 0)
        failed(d, "cannot write the upgrade request");
}


static void on_event(struct bufferevent *bev, short what, void *arg)
{
    cq__dialer *d = arg;

    (void)bev;
    if (what & BEV_EVENT_CONNECTED)
        send_request(d);
    else if (what & BEV_EVENT_EOF)
        failed(d, "the connection ended during the handshake");
    else if (what & BEV_EVENT_ERROR)
        failed(d, evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}


static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    cq__dialer *d = arg;

    (void)fd;
    (void)what;
    if (d->bev != NULL)
        failed(d, "no handshake answer in time");
    else if (d->conn == NULL)
        dial(d);
}


/* One attempt: resolve, connect; the rest comes through the callbacks. */
static void dial(cq__dialer *d)
{
    struct addrinfo *ai = NULL;
    char err[256];

    if (cq__net_resolve_listen(d->hostport, &ai, err, sizeof(err)) != CQ_OK) {
        failed(d, err);
        return;
    }
    d->bev = bufferevent_socket_new(d->br->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (d->bev == NULL) {
        freeaddrinfo(ai);
        failed(d, "out of memory");
        return;
    }
    bufferevent_setcb(d->bev, on_read, NULL, on_event, d);
    set_timer(d, d->br->conf->handshake_timeout_ms);
    if (bufferevent_socket_connect(d->bev, ai->ai_addr, (int)ai->ai_addrlen) !=
        0) {
        freeaddrinfo(ai);
        failed(d, "cannot create a socket");
        return;
    }
    freeaddrinfo(ai);
    bufferevent_enable(d->bev, EV_READ);
}


/* Splits ws://HOST:PORT[/PATH][?QUERY] (len bytes) into d. */
static int parse_url(cq__dialer *d, const char *url, size_t len)
{
    const char *p = url + 5, *end = url + len;
    size_t hlen;

    if (len < 6 || len >= sizeof(d->url) || strncasecmp(url, "ws://", 5) != 0)
        return CQ_EINVAL;
    memcpy(d->url, url, len);
    d->url[len] = '\0';
    hlen = strcspn(p, "/?");
    if (p + hlen > end)
        hlen = (size_t)(end - p);
    if (hlen == 0 || hlen >= sizeof(d->hostport) ||
        (size_t)(end - p) - hlen >= sizeof(d->target) - 1)
        return CQ_EINVAL;
    memcpy(d->hostport, p, hlen);
    d->hostport[hlen] = '\0';
    snprintf(d->target, sizeof(d->target), "%s%.*s", p[hlen] == '/' ? "" : "/",
             (int)(end - p - (ptrdiff_t)hlen), p + hlen);
    return cq__net_is_hostport(d->hostport) ? CQ_OK : CQ_EINVAL;
}


/* Adds a dialer for url (len bytes) and dials it now. */
static int add(cq__bridge *br, const char *url, size_t len)
{
    cq__dialer *d = calloc(1, sizeof(*d));

    if (d == NULL)
        return CQ_ENOMEM;
    d->br = br;
    d->next = br->dialers;
    br->dialers = d;
    if (parse_url(d, url, len) != CQ_OK) {
        cq_log(CQ_LOG_ERROR, "ws_forward: \"%.*s\" is not ws://HOST:PORT/PATH",
               (int)len, url);
        return CQ_EINVAL;
    }
    d->timer = evtimer_new(br->base, on_timer, d);
    if (d->timer == NULL)
        return CQ_ENOMEM;
    d->backoff_ms = DIAL_MIN_MS;
    dial(d);
    return CQ_OK;
}


int cq__dial_start(cq__bridge *br)
{
    const char *p = br->conf->ws_forward;
    int rc = CQ_OK;

    while (p != NULL && *p != '\0' && rc == CQ_OK) {
        size_t n;

        p += strspn(p, " \t,");
        n = strcspn(p, ",");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n > 0)
            rc = add(br, p, n);
        p += n;
        p += strcspn(p, ",");
    }
    return rc;
}


void cq__dial_stop(cq__bridge *br)
{
    while (br->dialers != NULL) {
        cq__dialer *d = br->dialers;

        br->dialers = d->next;
        if (d->conn != NULL)
            d->conn->dialer = NULL;
        if (d->bev != NULL)
            bufferevent_free(d->bev);
        if (d->timer != NULL)
            event_free(d->timer);
        free(d);
    }
}
