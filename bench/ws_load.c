/*
 * A load generator for events over one Universal reverse-WebSocket
 * connection, playing the OneBot implementation: it sends private-message
 * events with at most WINDOW of them outstanding, answers every call that
 * carries an echo with a canned success (send_msg and the like), and counts
 * an event done when its .handle_quick_operation frame arrives. Built on
 * the bridge's own stack (src/ws), in C and single-threaded, so that it is
 * not the bottleneck: bench/ws_noop.c measures it (bench/run.sh).
 *
 *   ws-load PORT EVENTS WINDOW [SELF_ID]
 *       Prints "<n> events in <s> s: <r> events/s, window <w>".
 */
#include "config.h"

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

typedef struct load {
    struct event_base *base;
    struct bufferevent *bev;
    cq__ws_stream *ws;
    char accept[29];
    long self_id, events, window, sent, done;
    double start;
    int failed;
} load;

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
static void answer(load *l, const char *text)
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
    cq__ws_stream_queue_text(l->ws, out, (size_t)k);
}


static void on_text(void *arg, const char *text, size_t len)
{
    load *l = arg;

    (void)len;
    if (text == NULL)
        return;
    if (strstr(text, "\".handle_quick_operation\"") != NULL)
        l->done++;
    answer(l, text);
}


/* Sends events until WINDOW are outstanding or all are sent. */
static void top_up(load *l)
{
    char ev[512];
    int k;

    while (l->sent < l->events && l->sent - l->done < l->window) {
        k = snprintf(ev, sizeof(ev),
                     "{\"time\":1700000000,\"self_id\":%ld,\"post_type\":"
                     "\"message\",\"message_type\":\"private\",\"sub_type\":"
                     "\"friend\",\"message_id\":%ld,\"user_id\":%ld,"
                     "\"message\":\"bench %ld\",\"raw_message\":\"bench "
                     "%ld\",\"font\":0,\"sender\":{\"user_id\":%ld,"
                     "\"nickname\":\"bench\"}}",
                     l->self_id, l->sent, 1000000 + l->sent, l->sent, l->sent,
                     1000000 + l->sent);
        if (cq__ws_stream_queue_text(l->ws, ev, (size_t)k) != CQ_OK) {
            fail(l, "cannot queue an event");
            return;
        }
        l->sent++;
    }
}


static int open_ws(load *l)
{
    struct evbuffer *in = bufferevent_get_input(l->bev);
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
        cq__ws_check_response(&h, l->accept, &why) != CQ_OK) {
        fprintf(stderr, "ws-load: handshake refused: %s\n", head);
        return -1;
    }
    l->ws = cq__ws_stream_new(l->bev, 1, 64u << 20, 256u << 20, on_text, l);
    if (l->ws == NULL)
        return -1;
    l->start = now();
    return 1;
}


static void on_read(struct bufferevent *bev, void *arg)
{
    load *l = arg;
    int rc;

    (void)bev;
    if (l->ws == NULL) {
        rc = open_ws(l);
        if (rc <= 0) {
            if (rc < 0)
                fail(l, "handshake failed");
            return;
        }
    }
    if (cq__ws_stream_pump(l->ws) != CQ__WS_OPEN) {
        fail(l, "the connection closed");
        return;
    }
    if (l->done >= l->events) {
        event_base_loopbreak(l->base);
        return;
    }
    top_up(l);
    if (cq__ws_stream_flush(l->ws) != CQ__WS_OPEN)
        fail(l, "cannot write");
}


static void on_event(struct bufferevent *bev, short what, void *arg)
{
    load *l = arg;
    char key[25];
    int one = 1;

    if (what & BEV_EVENT_CONNECTED) {
        setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one,
                   sizeof(one));
        if (cq__ws_client_key(key, l->accept) != CQ_OK) {
            fail(l, "no key");
            return;
        }
        evbuffer_add_printf(bufferevent_get_output(bev),
                            "GET /ws/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                            "Sec-WebSocket-Key: %s\r\n"
                            "Sec-WebSocket-Version: 13\r\nX-Self-ID: %ld\r\n"
                            "X-Client-Role: Universal\r\n\r\n",
                            key, l->self_id);
        return;
    }
    fail(l, "connection error or end");
}


int main(int argc, char **argv)
{
    struct sockaddr_in sin = {0};
    load l = {0};
    double t;

    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: ws-load PORT EVENTS WINDOW [SELF_ID]\n");
        return 2;
    }
    l.events = atol(argv[2]);
    l.window = atol(argv[3]);
    l.self_id = argc > 4 ? atol(argv[4]) : 20002000;
    l.base = event_base_new();
    l.bev = bufferevent_socket_new(l.base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(l.bev, on_read, NULL, on_event, &l);
    bufferevent_enable(l.bev, EV_READ | EV_WRITE);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((uint16_t)atoi(argv[1]));
    if (bufferevent_socket_connect(l.bev, (struct sockaddr *)&sin,
                                   sizeof(sin)) != 0) {
        perror("ws-load: connect");
        return 1;
    }
    event_base_dispatch(l.base);
    t = now() - l.start;
    if (!l.failed)
        printf("%ld events in %.3f s: %.0f events/s, window %ld\n", l.done, t,
               (double)l.done / t, l.window);
    cq__ws_stream_free(l.ws);
    bufferevent_free(l.bev);
    event_base_free(l.base);
    return l.failed;
}
