/*
 * A load generator for events over Universal reverse-WebSocket
 * connections, playing the OneBot implementation: it sends private-message
 * events with at most WINDOW of them outstanding in all, answers every call
 * that carries an echo with a canned success (send_msg and the like), and
 * counts an event done when its .handle_quick_operation frame arrives.
 * Built on the bridge's own stack (src/ws), in C and single-threaded, so
 * that it is not the bottleneck: bench/ws_noop.c measures it (bench/run.sh).
 *
 *   ws-load [--conns N] PORT EVENTS WINDOW [SELF_ID]
 *       Opens N connections (1 by default), the i-th as account SELF_ID + i
 *       (X-Self-ID and the events' self_id), and once all are open deals
 *       the events out to them in turn; WINDOW bounds the events
 *       outstanding over all of them. Prints "<n> events in <s> s: <r>
 *       events/s, window <w>, <N> connections".
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "cqhttp.h"
#include "ws/handshake.h"
#include "ws/stream.h"

typedef struct load load;

/* One connection: one account. */
typedef struct conn {
    load *l;
    struct bufferevent *bev;
    cq__ws_stream *ws;
    char accept[29];
    long self_id;
} conn;

struct load {
    struct event_base *base;
    conn *conns;
    long nconns, open, events, window, sent, done;
    double start;
    int failed;
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


static void fail(load *l, const char *why)
{
    fprintf(stderr, "ws-load: %s (%ld of %ld events done)\n", why, l->done,
            l->events);
    l->failed = 1;
    event_base_loopbreak(l->base);
}


/* Answers a call with success, echoing its echo (a string or a number). */
static void answer(conn *c, const char *text)
{
    const char *e = strstr(text, "\"echo\":");
    char out[256];
    size_t n;
    int k;

    if (e == NULL)
        return;
    e += 7;
    n = *e == '"' ? strcspn(e + 1, "\"") + 2 : strcspn(e, ",}");
    if (n > 128)
        return;
    k = snprintf(out, sizeof(out),
                 "{\"status\":\"ok\",\"retcode\":0,\"data\":{\"message_id\":"
                 "1},\"echo\":%.*s}",
                 (int)n, e);
    cq__ws_stream_queue_text(c->ws, out, (size_t)k);
}


static void on_text(void *arg, const char *text, size_t len)
{
    conn *c = arg;

    (void)len;
    if (text == NULL)
        return;
    if (strstr(text, "\".handle_quick_operation\"") != NULL)
        c->l->done++;
    answer(c, text);
}


/*
 * Writes what a connection queued at once. Once a connection is open its
 * bufferevent does not watch for writability (EV_WRITE off): with 100
 * connections and one event outstanding on each, libevent would otherwise
 * add and delete the write event (two epoll_ctl calls) for every event, and
 * the generator would be the bottleneck. Only when the socket takes less
 * than all is EV_WRITE enabled, until on_write sees the output drained.
 * Returns 0, or -1 when the connection failed.
 */
static int send_out(conn *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);

    int n;

    if (cq__ws_stream_flush(c->ws) != CQ__WS_OPEN)
        return -1;
    if (evbuffer_get_length(out) == 0 ||
        (bufferevent_get_enabled(c->bev) & EV_WRITE))
        return 0;
    /* A socket bufferevent keeps its output's front frozen for itself. */
    evbuffer_unfreeze(out, 1);
    n = evbuffer_write(out, bufferevent_getfd(c->bev));
    evbuffer_freeze(out, 1);
    if (n < 0 && errno != EAGAIN && errno != EINTR)
        return -1;
    if (evbuffer_get_length(out) > 0)
        bufferevent_enable(c->bev, EV_WRITE);
    return 0;
}


static void on_write(struct bufferevent *bev, void *arg)
{
    conn *c = arg;

    if (c->ws != NULL)
        bufferevent_disable(bev, EV_WRITE);
}


/*
 * Sends events, each to the next connection in turn, until WINDOW are
 * outstanding or all are sent, then flushes the connections written to.
 */
static void top_up(load *l)
{
    long first = l->sent, i;
    char ev[512];
    conn *c;
    int k;

    while (l->sent < l->events && l->sent - l->done < l->window) {
        c = &l->conns[l->sent % l->nconns];
        k = snprintf(ev, sizeof(ev),
                     "{\"time\":1700000000,\"self_id\":%ld,\"post_type\":"
                     "\"message\",\"message_type\":\"private\",\"sub_type\":"
                     "\"friend\",\"message_id\":%ld,\"user_id\":%ld,"
                     "\"message\":\"bench %ld\",\"raw_message\":\"bench "
                     "%ld\",\"font\":0,\"sender\":{\"user_id\":%ld,"
                     "\"nickname\":\"bench\"}}",
                     c->self_id, l->sent, 1000000 + l->sent, l->sent, l->sent,
                     1000000 + l->sent);
        if (cq__ws_stream_queue_text(c->ws, ev, (size_t)k) != CQ_OK) {
            fail(l, "cannot queue an event");
            return;
        }
        l->sent++;
    }
    for (i = first; i < l->sent && i < first + l->nconns; i++)
        if (send_out(&l->conns[i % l->nconns]) != 0)
            fail(l, "cannot write");
}


static int open_ws(conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    char head[CQ__WS_MAX_HEAD + 1];
    cq__ws_response h;
    const char *why = "the answer is not HTTP/1.x";

    if (end.pos < 0)
        return evbuffer_get_length(in) < CQ__WS_MAX_HEAD ? 0 : -1;
    if ((size_t)end.pos + 4 > CQ__WS_MAX_HEAD)
        return -1;
    evbuffer_remove(in, head, (size_t)end.pos + 4);
    head[end.pos + 4] = '\0';
    if (cq__ws_parse_response(head, &h) != CQ_OK || h.status != 101 ||
        cq__ws_check_response(&h, c->accept, &why) != CQ_OK) {
        fprintf(stderr, "ws-load: handshake refused: %s\n", head);
        return -1;
    }
    c->ws = cq__ws_stream_new(c->bev, 1, 64u << 20, 256u << 20, on_text, c);
    if (c->ws == NULL)
        return -1;
    bufferevent_disable(c->bev, EV_WRITE); /* See send_out(). */
    /* The clock starts when the last connection is open. */
    if (++c->l->open == c->l->nconns)
        c->l->start = now();
    return 1;
}


static void on_read(struct bufferevent *bev, void *arg)
{
    conn *c = arg;
    load *l = c->l;
    int rc;

    (void)bev;
    if (c->ws == NULL) {
        rc = open_ws(c);
        if (rc <= 0) {
            if (rc < 0)
                fail(l, "handshake failed");
            return;
        }
    }
    if (cq__ws_stream_pump(c->ws) != CQ__WS_OPEN) {
        fail(l, "the connection closed");
        return;
    }
    if (l->done >= l->events) {
        send_out(c); /* The answers to the last quick operations. */
        event_base_loopbreak(l->base);
        return;
    }
    if (l->open == l->nconns)
        top_up(l);
    if (send_out(c) != 0)
        fail(l, "cannot write");
}


static void on_event(struct bufferevent *bev, short what, void *arg)
{
    conn *c = arg;
    char key[25];
    int one = 1;

    if (what & BEV_EVENT_CONNECTED) {
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one,
                   sizeof(one));
        if (cq__ws_client_key(key, c->accept) != CQ_OK) {
            fail(c->l, "no key");
            return;
        }
        evbuffer_add_printf(bufferevent_get_output(bev),
                            "GET /ws/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Key: %s\r\n"
                            "Sec-WebSocket-Version: 13\r\nX-Self-ID: %ld\r\n"
                            "X-Client-Role: Universal\r\n\r\n",
                            key, c->self_id);
        return;
    }
    fail(c->l, "connection error or end");
}


/* Starts connecting every connection; -1 when one cannot start. */
static int connect_all(load *l, uint16_t port, long self_id)
{
    struct sockaddr_in sin = {0};
    conn *c;
    long i;

    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons(port);
    for (i = 0; i < l->nconns; i++) {
        c = &l->conns[i];
        c->l = l;
        c->self_id = self_id + i;
        c->bev = bufferevent_socket_new(l->base, -1, BEV_OPT_CLOSE_ON_FREE);
        if (c->bev == NULL)
            return -1;
        bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
        bufferevent_enable(c->bev, EV_READ | EV_WRITE);
        if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&sin,
                                       sizeof(sin)) != 0)
            return -1;
    }
    return 0;
}


int main(int argc, char **argv)
{
    load l = {0};
    double t;
    long i;

    l.nconns = 1;
    if (argc > 2 && strcmp(argv[1], "--conns") == 0) {
        l.nconns = atol(argv[2]);
        argc -= 2, argv += 2;
    }
    if (argc < 4 || argc > 5 || l.nconns < 1) {
        fprintf(stderr, "usage: ws-load [--conns N] PORT EVENTS WINDOW "
                        "[SELF_ID]\n");
        return 2;
    }
    l.events = atol(argv[2]);
    l.window = atol(argv[3]);
    l.base = event_base_new();
    l.conns = calloc((size_t)l.nconns, sizeof(*l.conns));
    if (l.base == NULL || l.conns == NULL ||
        connect_all(&l, (uint16_t)atoi(argv[1]),
                    argc > 4 ? atol(argv[4]) : 20002000) != 0) {
        perror("ws-load: connect");
        return 1;
    }
    event_base_dispatch(l.base);
    t = now() - l.start;
    if (!l.failed)
        printf("%ld events in %.3f s: %.0f events/s, window %ld, %ld "
               "connections\n",
               l.done, t, (double)l.done / t, l.window, l.nconns);
    for (i = 0; i < l.nconns; i++) {
        cq__ws_stream_free(l.conns[i].ws);
        if (l.conns[i].bev != NULL)
            bufferevent_free(l.conns[i].bev);
    }
    free(l.conns);
    event_base_free(l.base);
    return l.failed;
}
