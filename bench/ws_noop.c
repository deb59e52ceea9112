/*
 * The bridge's upper limit for events: a WebSocket server on the bridge's
 * own stack (libevent, wslay, src/ws) that answers every event frame with
 * one fixed .handle_quick_operation frame, without parsing JSON, and
 * ignores every other frame (the answers to calls it never makes). What a
 * load generator measures against it is the cost of the WebSocket path
 * alone, the part of the bridge's work that no handler can avoid.
 *
 * With CALLS, it is also the limit for a handler's API calls over the
 * WebSocket: for each event it makes CALLS get_login_info calls one after
 * another, each sent when the answer to the previous one arrives (matched
 * by its echo, found with strstr), and only then answers the quick
 * operation, as bench/api_bot.c does in the bridge; events outstanding
 * together make their calls at the same time.
 *
 *   ws-noop PORT [CALLS]
 *       Listens on 127.0.0.1:PORT (0: any free port), prints "listening on
 *       PORT" on stdout, serves every connection that passes the bridge's
 *       own handshake policy (cq__ws_judge, no token) until SIGTERM.
 */
#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "cqhttp.h"
#include "ws/handshake.h"
#include "ws/stream.h"

/* The quick operation the example bot answers a private message with. */
static const char quick[] =
    "{\"action\":\".handle_quick_operation\",\"params\":{\"context\":{"
    "\"post_type\":\"message\",\"message_type\":\"private\",\"user_id\":1},"
    "\"operation\":{\"reply\":\"hello\",\"at_sender\":false}}}";

/* The API calls each event makes (the CALLS argument). */
static long calls_per_event;

/*
 * One connection. Each event whose calls are under way has a slot: left[i]
 * is the number of its calls still to make, and i is the echo of its call
 * in flight. Free slots are stacked in free_slots.
 */
typedef struct peer {
    struct bufferevent *bev;
    cq__ws_stream *ws;
    long *left, *free_slots;
    size_t nslots, nfree;
} peer;

static void peer_free(peer *p)
{
    cq__ws_stream_free(p->ws);
    bufferevent_free(p->bev);
    free(p->left);
    free(p->free_slots);
    free(p);
}


/* A slot for a new event's calls; -1 when out of memory. */
static long slot_new(peer *p)
{
    size_t cap = p->nslots ? 2 * p->nslots : 64, i;
    long *left, *stack;

    if (p->nfree > 0)
        return p->free_slots[--p->nfree];
    left = realloc(p->left, cap * sizeof(*left));
    if (left != NULL)
        p->left = left;
    stack = realloc(p->free_slots, cap * sizeof(*stack));
    if (stack != NULL)
        p->free_slots = stack;
    if (left == NULL || stack == NULL)
        return -1;
    for (i = cap - 1; i > p->nslots; i--)
        p->free_slots[p->nfree++] = (long)i;
    i = p->nslots;
    p->nslots = cap;
    return (long)i;
}


/* Makes slot i's next call, or answers its event when none is left. */
static void next_call(peer *p, long i)
{
    char call[96];
    int k;

    if (p->left[i] == 0) {
        p->free_slots[p->nfree++] = i;
        cq__ws_stream_queue_text(p->ws, quick, sizeof(quick) - 1);
        return;
    }
    p->left[i]--;
    k = snprintf(call, sizeof(call),
                 "{\"action\":\"get_login_info\",\"params\":{},\"echo\":%ld}",
                 i);
    cq__ws_stream_queue_text(p->ws, call, (size_t)k);
}


/*
 * An event is any frame with a post_type; answers to calls have none, and
 * carry the echo of the slot whose call they answer.
 */
static void on_text(void *arg, const char *text, size_t len)
{
    const char *echo;
    peer *p = arg;
    long i;

    (void)len;
    if (text == NULL)
        return;
    if (strstr(text, "\"post_type\"") != NULL) {
        if (calls_per_event == 0) {
            cq__ws_stream_queue_text(p->ws, quick, sizeof(quick) - 1);
            return;
        }
        i = slot_new(p);
        if (i < 0)
            return;
        p->left[i] = calls_per_event;
        next_call(p, i);
        return;
    }
    echo = strstr(text, "\"echo\":");
    if (echo == NULL || calls_per_event == 0)
        return;
    i = atol(echo + 7);
    if (i >= 0 && (size_t)i < p->nslots)
        next_call(p, i);
}


/* Answers the upgrade request once its head is in; 0 while it is not. */
static int handshake(peer *p)
{
    struct evbuffer *in = bufferevent_get_input(p->bev);
    size_t len = evbuffer_get_length(in);
    char answer[CQ__WS_MAX_ANSWER];
    cq__ws_request req;
    cq__ws_verdict v;
    const char *head;
    int rc;

    if (len > CQ__WS_MAX_HEAD)
        len = CQ__WS_MAX_HEAD;
    head = (const char *)evbuffer_pullup(in, (ssize_t)len);
    rc = cq__ws_parse_request(head, len, &req);
    if (rc == CQ_EAGAIN)
        return 0;
    if (rc < 0)
        cq__ws_verdict_for_error(rc, &v);
    else
        cq__ws_judge(&req, NULL, &v);
    rc = cq__ws_answer(v.status == 101 ? &req : NULL, &v, answer,
                       sizeof(answer));
    if (rc < 0 || v.status != 101)
        return -1;
    bufferevent_write(p->bev, answer, (size_t)rc);
    evbuffer_drain(in, req.head_len);
    p->ws = cq__ws_stream_new(p->bev, 0, 64u << 20, 256u << 20, on_text, p);
    return p->ws == NULL ? -1 : 1;
}


static void on_read(struct bufferevent *bev, void *arg)
{
    peer *p = arg;
    int rc;

    (void)bev;
    if (p->ws == NULL) {
        rc = handshake(p);
        if (rc <= 0) {
            if (rc < 0)
                peer_free(p);
            return;
        }
    }
    if (cq__ws_stream_pump(p->ws) != CQ__WS_OPEN)
        peer_free(p);
}


static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        peer_free(arg);
}


static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int salen, void *arg)
{
    peer *p = calloc(1, sizeof(*p));
    int one = 1;

    (void)sa, (void)salen, (void)arg;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (p != NULL)
        p->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
                                        BEV_OPT_CLOSE_ON_FREE);
    if (p == NULL || p->bev == NULL) {
        free(p);
        evutil_closesocket(fd);
        return;
    }
    bufferevent_setcb(p->bev, on_read, NULL, on_event, p);
    bufferevent_enable(p->bev, EV_READ | EV_WRITE);
}


static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)sig, (void)what;
    event_base_loopbreak(arg);
}


int main(int argc, char **argv)
{
    struct sockaddr_in sin = {0};
    socklen_t slen = sizeof(sin);
    struct event_base *base;
    struct evconnlistener *l;
    struct event *term;

    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: ws-noop PORT [CALLS]\n");
        return 2;
    }
    calls_per_event = argc > 2 ? atol(argv[2]) : 0;
    signal(SIGPIPE, SIG_IGN);
    base = event_base_new();
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons((uint16_t)atoi(argv[1]));
    l = evconnlistener_new_bind(base, on_accept, NULL,
                                LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_FREE, 128,
                                (struct sockaddr *)&sin, sizeof(sin));
    if (l == NULL) {
        perror("ws-noop: listen");
        return 1;
    }
    getsockname(evconnlistener_get_fd(l), (struct sockaddr *)&sin, &slen);
    printf("listening on %u\n", ntohs(sin.sin_port));
    fflush(stdout);
    term = evsignal_new(base, SIGTERM, on_signal, base);
    event_add(term, NULL);
    event_base_dispatch(base);
    event_free(term);
    evconnlistener_free(l);
    event_base_free(base);
    return 0;
}
