/*
 * One TCP connection on the WebSocket port: the upgrade handshake (parsed
 * by ws/handshake.c), then WebSocket frames through a ws/stream.c stream on
 * a bufferevent, the keepalive timer and the close. Loop thread only.
 *
 * The stream's outgoing queue (the output plus wslay's) is bounded by
 * ws_max_queue. Bytes after the handshake head stay in the input: they are
 * the first frames.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "bridge/bridge.h"
#include "lib/json.h"

static void on_read(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

uint64_t cq__now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


static void set_timer(cq__ws_conn *c, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    evtimer_add(c->timer, &tv);
}


/* Frees c now: the socket, the stream, its account slot and its list entry. */
static void conn_free(cq__ws_conn *c)
{
    cq__bridge *br = c->br;

    cq__account_detach(br, c);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        br->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    br->nconns--;
    cq__ws_stream_free(c->ws);
    if (c->timer != NULL)
        event_free(c->timer);
    bufferevent_free(c->bev);
    while (c->held != NULL) {
        cq__held *h = c->held;

        c->held = h->next;
        free(h);
    }
    free(c);
}


static void on_linger_read(struct bufferevent *bev, void *arg)
{
    struct evbuffer *in = bufferevent_get_input(bev);

    (void)arg;
    evbuffer_drain(in, evbuffer_get_length(in));
}


/*
 * Everything is written: half-close and read (discarding) until the peer
 * closes too, for up to 2 s. Closing with unread input would make the kernel
 * send a reset, which can destroy the close frame or error answer before
 * the peer reads it (a peer still sending a too-large message, say).
 */
static void linger(cq__ws_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);

    shutdown(bufferevent_getfd(c->bev), SHUT_WR);
    evbuffer_drain(in, evbuffer_get_length(in));
    bufferevent_setcb(c->bev, on_linger_read, NULL, on_event, c);
    bufferevent_enable(c->bev, EV_READ);
    set_timer(c, 2000);
}


static void on_drained(struct bufferevent *bev, void *arg)
{
    (void)bev;
    linger(arg);
}


static void close_after_flush(cq__ws_conn *c)
{
    c->state = CQ__CONN_CLOSING;
    cq__account_detach(c->br, c);
    bufferevent_disable(c->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0) {
        linger(c);
        return;
    }
    bufferevent_setcb(c->bev, NULL, on_drained, on_event, c);
    /* A peer that never reads cannot hold the connection open forever. */
    set_timer(c, 5000);
}


static void pause_reading(cq__ws_conn *c)
{
    if (!cq__ws_stream_paused(c->ws))
        cq_log(CQ_LOG_DEBUG, "%s: workers busy, reading paused", c->peer);
    cq__ws_stream_pause(c->ws);
}


static void resume_reading(cq__ws_conn *c)
{
    if (!cq__ws_stream_paused(c->ws))
        return;
    cq__ws_stream_resume(c->ws);
    cq_log(CQ_LOG_DEBUG, "%s: reading resumed", c->peer);
}


void cq__conn_reading_needed(cq__ws_conn *c)
{
    if (c->state == CQ__CONN_OPEN)
        resume_reading(c);
}


/*
 * Hands an event to the workers, or holds it. Reading stops while events
 * are held (back-pressure), except while a worker waits for an answer on
 * this connection: a Universal connection carries both, and not reading it
 * would leave that worker, and so every held event, stuck until timeouts.
 * Events read meanwhile are held in order, up to ws_max_queue bytes; past
 * that the peer is told to back off (close 1013) rather than any being lost.
 */
static void offer_event(cq__ws_conn *c, const char *msg, size_t len)
{
    cq__held *h;

    c->br->n.events_received++;
    if (c->held == NULL &&
        cq__workers_offer(c->br->workers, c->self_id, msg, len) == 0)
        return;
    if (c->held_bytes + len > (size_t)c->br->conf->ws_max_queue) {
        cq_log(CQ_LOG_ERROR,
               "%s: over %ld bytes of events wait for workers; "
               "closing (1013)",
               c->peer, c->br->conf->ws_max_queue);
        cq__conn_close(c, cq__bridge_close_code(CQ_EAGAIN),
                       "too many events waiting for workers");
        return;
    }
    h = malloc(sizeof(*h) + len);
    if (h == NULL) {
        cq_log(CQ_LOG_ERROR, "%s: out of memory; closing", c->peer);
        cq__conn_close(c, cq__bridge_close_code(CQ_ENOMEM), "out of memory");
        return;
    }
    h->next = NULL;
    h->len = len;
    memcpy(h->json, msg, len);
    if (c->held_tail != NULL)
        c->held_tail->next = h;
    else
        c->held = h;
    c->held_tail = h;
    c->held_bytes += len;
    if (c->npending == 0)
        pause_reading(c);
}


static void on_text(cq__ws_conn *c, const char *msg, size_t len)
{
    yajl_val v = NULL;

    if (cq__json_parse(&v, msg, len, (int)c->br->conf->max_depth) != CQ_OK ||
        !YAJL_IS_OBJECT(v)) {
        c->br->n.frames_ignored++;
        cq_log(CQ_LOG_WARN,
               "%s: text message that is not a JSON object "
               "ignored",
               c->peer);
        yajl_tree_free(v);
        return;
    }
    if (cq__json_get(v, "post_type") != NULL) {
        if (c->role == CQ__WS_API) {
            c->br->n.frames_ignored++;
            cq_log(CQ_LOG_WARN, "%s: event on an API connection ignored",
                   c->peer);
        } else {
            offer_event(c, msg, len);
        }
    } else {
        cq__account_on_result(c->br, c, cq__cv(v));
    }
    yajl_tree_free(v);
}


/* The stream's text callback: a NULL text (out of memory) is dropped. */
static void on_message(void *arg, const char *text, size_t len)
{
    if (text != NULL)
        on_text(arg, text, len);
}


/* Ends the connection when the stream says it is over. */
static void end_if_over(cq__ws_conn *c, int outcome)
{
    uint16_t code;

    if (outcome == CQ__WS_OPEN || c->state != CQ__CONN_OPEN)
        return;
    /* Over: the close handshake ended (or the peer closed first), or wslay
     * gave up; what it queued (a close, say) is in the output. */
    if (outcome == CQ__WS_CLOSED && cq__ws_stream_peer_closed(c->ws, &code) &&
        code != 1000 && code != 1001)
        cq_log(CQ_LOG_INFO, "%s: peer closed with code %u", c->peer, code);
    close_after_flush(c);
}


int cq__conn_send_text(cq__ws_conn *c, const char *text, size_t len)
{
    int rc;

    if (c->state != CQ__CONN_OPEN)
        return -1;
    rc = cq__ws_stream_queue_text(c->ws, text, len);
    if (rc == CQ_ETOOBIG)
        cq_log(CQ_LOG_WARN, "%s: %zu bytes already queued; message refused",
               c->peer, cq__ws_stream_queued(c->ws));
    if (rc != CQ_OK)
        return -1;
    end_if_over(c, cq__ws_stream_flush(c->ws));
    return 0;
}


void cq__conn_close(cq__ws_conn *c, uint16_t code, const char *reason)
{
    if (c->state != CQ__CONN_OPEN)
        return;
    cq__account_detach(c->br, c);
    cq__ws_stream_queue_close(c->ws, code, reason);
    end_if_over(c, cq__ws_stream_flush(c->ws));
    if (c->state == CQ__CONN_OPEN)
        set_timer(c, 5000); /* The peer has that long to answer the close. */
}


void cq__conn_resume_paused(cq__bridge *br)
{
    cq__ws_conn *c;

    for (c = br->conns; c != NULL; c = c->next) {
        if (c->held == NULL || c->state != CQ__CONN_OPEN)
            continue;
        while (c->held != NULL) {
            cq__held *h = c->held;

            if (cq__workers_offer(br->workers, c->self_id, h->json, h->len) !=
                0)
                return; /* Still full: again when the next one finishes. */
            c->held = h->next;
            c->held_bytes -= h->len;
            free(h);
        }
        c->held_tail = NULL;
        resume_reading(c);
    }
}


static void on_keepalive(cq__ws_conn *c)
{
    const cq__conf *conf = c->br->conf;
    uint64_t idle;

    /* While we do not read, the peer's silence is ours: do not judge it. */
    if (cq__ws_stream_paused(c->ws))
        c->last_rx_ms = cq__now_ms();
    idle = cq__now_ms() - c->last_rx_ms;

    if (idle >= (uint64_t)conf->ws_timeout_ms) {
        cq_log(CQ_LOG_WARN, "%s: silent for %" PRIu64 " ms; closing", c->peer,
               idle);
        close_after_flush(c);
        return;
    }
    if (idle >= (uint64_t)conf->ws_ping_interval_ms) {
        cq__ws_stream_queue_ping(c->ws);
        end_if_over(c, cq__ws_stream_flush(c->ws));
        if (c->state != CQ__CONN_OPEN)
            return;
    }
    set_timer(c, conf->ws_ping_interval_ms);
}


static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    cq__ws_conn *c = arg;

    (void)fd;
    (void)what;
    switch (c->state) {
    case CQ__CONN_HANDSHAKE:
        cq_log(CQ_LOG_WARN, "%s: no complete upgrade request in %ld ms",
               c->peer, c->br->conf->handshake_timeout_ms);
        c->br->n.handshakes_rejected++;
        conn_free(c);
        break;
    case CQ__CONN_OPEN:
        on_keepalive(c);
        break;
    case CQ__CONN_CLOSING:
    default:
        conn_free(c);
        break;
    }
}


/* Writes the handshake answer; on 101 the connection becomes WebSocket. */
static void finish_handshake(cq__ws_conn *c, const cq__ws_request *req,
                             const cq__ws_verdict *v, size_t head_len)
{
    char answer[CQ__WS_MAX_ANSWER];
    int n = cq__ws_answer(req, v, answer, sizeof(answer));

    evbuffer_drain(bufferevent_get_input(c->bev), head_len);
    if (n > 0)
        bufferevent_write(c->bev, answer, (size_t)n);
    if (v->status != 101 || n <= 0) {
        cq_log(CQ_LOG_WARN, "%s: upgrade refused with %d: %s", c->peer,
               v->status, v->reason);
        c->br->n.handshakes_rejected++;
        close_after_flush(c);
        return;
    }
    c->ws = cq__ws_stream_new(c->bev, 0, (size_t)c->br->conf->ws_max_message,
                              (size_t)c->br->conf->ws_max_queue, on_message, c);
    if (c->ws == NULL) {
        close_after_flush(c);
        return;
    }
    c->role = v->role;
    c->self_id = v->self_id;
    c->state = CQ__CONN_OPEN;
    c->last_rx_ms = cq__now_ms();
    if (cq__account_attach(c->br, c) != 0) {
        cq__conn_close(c, cq__bridge_close_code(CQ_ENOMEM), "out of memory");
        return;
    }
    set_timer(c, c->br->conf->ws_ping_interval_ms);
    /* Frames sent right behind the request. */
    end_if_over(c, cq__ws_stream_pump(c->ws));
}


static void on_handshake_bytes(cq__ws_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t len = evbuffer_get_length(in);
    size_t want = len < CQ__WS_MAX_HEAD + 1 ? len : CQ__WS_MAX_HEAD + 1;
    const char *buf = (const char *)evbuffer_pullup(in, (ssize_t)want);
    cq__ws_request req;
    cq__ws_verdict v;
    int rc = cq__ws_parse_request(buf, want, &req);

    if (rc == CQ_EAGAIN)
        return;
    if (rc < 0) {
        cq__ws_verdict_for_error(rc, &v);
        finish_handshake(c, NULL, &v, len);
        return;
    }
    cq__ws_judge(&req, c->br->conf->access_token, &v);
    finish_handshake(c, &req, &v, req.head_len);
}


static void on_read(struct bufferevent *bev, void *arg)
{
    cq__ws_conn *c = arg;

    (void)bev;
    c->last_rx_ms = cq__now_ms();
    if (c->state == CQ__CONN_HANDSHAKE)
        on_handshake_bytes(c);
    else if (c->state == CQ__CONN_OPEN)
        end_if_over(c, cq__ws_stream_pump(c->ws));
}


static void on_event(struct bufferevent *bev, short what, void *arg)
{
    cq__ws_conn *c = arg;

    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        if (c->state == CQ__CONN_OPEN)
            cq_log(CQ_LOG_INFO, "%s: connection %s without a close frame",
                   c->peer, (what & BEV_EVENT_EOF) ? "ended" : "failed");
        conn_free(c);
    }
}


void cq__conn_accept(cq__bridge *br, int fd, const char *peer)
{
    cq__ws_conn *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        evutil_closesocket(fd);
        return;
    }
    c->br = br;
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    c->bev = bufferevent_socket_new(br->base, fd, BEV_OPT_CLOSE_ON_FREE);
    c->timer = evtimer_new(br->base, on_timer, c);
    if (c->bev == NULL || c->timer == NULL) {
        if (c->bev != NULL)
            bufferevent_free(c->bev);
        else
            evutil_closesocket(fd);
        if (c->timer != NULL)
            event_free(c->timer);
        free(c);
        return;
    }
    c->next = br->conns;
    if (c->next != NULL)
        c->next->prev = c;
    br->conns = c;
    br->nconns++;
    br->n.connections_accepted++;
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_enable(c->bev, EV_READ);
    set_timer(c, br->conf->handshake_timeout_ms);
}


void cq__conn_free_all(cq__bridge *br)
{
    while (br->conns != NULL)
        conn_free(br->conns);
}
