/*
 * One TCP connection on the WebSocket port: the upgrade handshake (parsed
 * by ws/handshake.c), then WebSocket frames through a ws/stream.c stream on
 * a bufferevent, the keepalive timer and the close. Loop thread only.
 * A forward connection the bridge dialed (dial.c) joins after its own
 * handshake, through cq__conn_new() and cq__conn_open() in the client mode;
 * until its first event names its account it belongs to none.
 *
 * Flow control (DESIGN.md section 7). The stream's outgoing queue (the
 * output plus wslay's, pongs and close frames included) is bounded by
 * ws_max_queue: once full, the stream stops reading until it drains to
 * half, and a peer whose queue stays full for ws_timeout_ms (checked at each
 * keepalive tick, so up to one ws_ping_interval_ms later) is closed with
 * 1008, policy violation, and one log line: it sends but does not read.
 * Events read while the workers are full are held in the connection's
 * spool (spool.c: ws_max_queue bytes in memory, then ws_max_spill bytes in
 * a temporary file), then refused, counted and logged at most once a
 * second; reading goes on whenever an answer is awaited, so a Universal
 * connection's API answers still flow. Events held when their connection
 * ends go to the bridge's orphans and are still handled. Bytes after the
 * handshake head stay in the input: they are the first frames.
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
#include "bridge/pending.h"
#include "bridge/http.h"

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


/* Logs the events refused on c since the last such line. */
static void log_refused(cq__ws_conn *c)
{
    if (c->refused == 0)
        return;
    cq_log(CQ_LOG_ERROR,
           "%s: %" PRIu64 " events refused: ws_max_queue bytes held in "
           "memory and ws_max_spill in the spill file",
           c->peer, c->refused);
    c->refused = 0;
    c->refused_log_ms = cq__now_ms();
}


/*
 * Hands the events c still holds to the bridge's orphans, to be handled
 * as workers free up; their calls then go to the account's other
 * connections, if any. Out of memory, they are counted as refused.
 */
static void orphan_held(cq__ws_conn *c)
{
    cq__bridge *br = c->br;
    size_t n = c->held.nmem + c->held.nfile;
    cq__spool *q;

    if (n == 0)
        return;
    q = malloc(sizeof(*q));
    if (q == NULL) {
        br->n.events_refused += cq__spool_clear(&c->held);
        return;
    }
    *q = c->held;
    cq__spool_init(&c->held, q->self_id);
    q->next = br->orphans;
    br->orphans = q;
    cq_log(CQ_LOG_WARN,
           "%s: closed with %zu events held; they are still handled, "
           "their calls going to the account's other connections if any",
           c->peer, n);
}


/* Frees c now: the socket, the stream, its account slot and its list entry. */
static void conn_free(cq__ws_conn *c)
{
    cq__bridge *br = c->br;

    log_refused(c);
    orphan_held(c);
    cq__http_free(c);
    cq__account_detach(br, c);
    if (c->dialer != NULL)
        cq__dial_lost(c->dialer);
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
    cq__ws_stream_settle(c->ws); /* Frames on their way join the output. */
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


/* Counts an event refused, logging at most one line a second per peer. */
static void refuse(cq__ws_conn *c, int err)
{
    c->br->n.events_refused++;
    c->refused++;
    if (err != CQ_ETOOBIG)
        cq_log(CQ_LOG_ERROR, "%s: cannot hold an event: %s", c->peer,
               cq_strerror(err));
    if (cq__now_ms() - c->refused_log_ms >= 1000)
        log_refused(c);
}


/*
 * Hands an event to the workers, or holds it in order. Reading stops while
 * events are held (back-pressure), except while a worker waits for an
 * answer on this connection: a Universal connection carries both, and not
 * reading it would leave that worker, and so every held event, stuck until
 * timeouts. Events read meanwhile go to the spool.
 */
static void offer_event(cq__ws_conn *c, const char *msg, size_t len)
{
    const cq__conf *conf = c->br->conf;
    int rc;

    c->br->n.events_received++;
    if (cq__spool_empty(&c->held) &&
        cq__workers_offer(c->br->workers, c->self_id, msg, len) == CQ_OK)
        return;
    rc = cq__spool_push(&c->held, msg, len, (size_t)conf->ws_max_queue,
                        (size_t)conf->ws_max_spill);
    if (rc != CQ_OK)
        refuse(c, rc);
    if (c->npending == 0)
        pause_reading(c);
}


static void on_text(cq__ws_conn *c, const char *msg, size_t len)
{
    cq__frame f;

    /*
     * A text message is UTF-8 by RFC 3629 here: RFC 6455 fails the
     * connection otherwise (1007), and the stream hands over none that is
     * not (its fast path checks with cq__ws_rx_utf8(), wslay with its own
     * strict decoder, and no extension is agreed that could set RSV1).
     */
    cq__frame_read(&f, msg, len, (int)c->br->conf->max_depth, 1);
    if (f.kind == CQ__FRAME_BAD) {
        c->br->n.frames_ignored++;
        cq_log(CQ_LOG_WARN,
               "%s: text message that is not a JSON object "
               "ignored",
               c->peer);
    } else if (f.kind == CQ__FRAME_EVENT) {
        /* A forward connection learns its account from its first event. */
        if (c->self_id == 0 && cq__dial_learn(c, msg, len) != CQ_OK) {
            c->br->n.frames_ignored++;
        } else if (c->role == CQ__WS_API) {
            c->br->n.frames_ignored++;
            cq_log(CQ_LOG_WARN, "%s: event on an API connection ignored",
                   c->peer);
        } else {
            offer_event(c, msg, len);
        }
    } else {
        cq__account_on_frame(c->br, c, &f);
    }
    cq__frame_free(&f);
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


/*
 * A peer whose outgoing queue stays full (it does not read) for
 * ws_timeout_ms is closed with 1008; returns 1 then.
 */
static int close_if_stuck(cq__ws_conn *c, uint64_t now)
{
    long limit = c->br->conf->ws_timeout_ms;

    if (!cq__ws_stream_blocked(c->ws)) {
        c->full_since_ms = 0;
        return 0;
    }
    if (c->full_since_ms == 0)
        c->full_since_ms = now;
    if (now - c->full_since_ms < (uint64_t)limit)
        return 0;
    cq_log(CQ_LOG_WARN,
           "%s: %zu bytes wait to go out and it has not read for %ld ms; "
           "closing (1008)",
           c->peer, cq__ws_stream_queued(c->ws), limit);
    cq__conn_close(c, cq__bridge_close_code(CQ_EINVAL),
                   "not reading what is sent");
    return 1;
}


static void on_keepalive(cq__ws_conn *c)
{
    const cq__conf *conf = c->br->conf;
    uint64_t now = cq__now_ms(), idle;

    if (c->refused > 0)
        log_refused(c);
    if (close_if_stuck(c, now))
        return;
    /*
     * wslay's buffers go if nothing is in flight; a busy connection makes
     * them again at its next frame, so once a tick at most.
     */
    cq__ws_stream_trim(c->ws);
    /* While we do not read, the peer's silence is ours: do not judge it. */
    if (cq__ws_stream_paused(c->ws) || cq__ws_stream_blocked(c->ws))
        c->last_rx_ms = now;
    idle = now - c->last_rx_ms;

    if (idle >= (uint64_t)conf->ws_timeout_ms) {
        cq_log(CQ_LOG_WARN, "%s: silent for %" PRIu64 " ms; closing", c->peer,
               idle);
        close_after_flush(c);
        return;
    }
    if (idle >= (uint64_t)conf->ws_ping_interval_ms &&
        !cq__ws_stream_blocked(c->ws)) {
        cq__ws_stream_queue_ping(c->ws);
        end_if_over(c, cq__ws_stream_flush(c->ws));
        if (c->state != CQ__CONN_OPEN)
            return;
    }
    set_timer(c, conf->ws_ping_interval_ms);
}


static void finish_handshake(cq__ws_conn *c, const cq__ws_request *req,
                             const cq__ws_verdict *v, size_t head_len);

/* No complete upgrade request in time: 408, then close. */
static void handshake_timeout(cq__ws_conn *c)
{
    cq__ws_verdict v = {408, "no complete upgrade request in time",
                        CQ__WS_UNIVERSAL, 0};

    finish_handshake(c, NULL, &v,
                     evbuffer_get_length(bufferevent_get_input(c->bev)));
}


static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    cq__ws_conn *c = arg;

    (void)fd;
    (void)what;
    switch (c->state) {
    case CQ__CONN_HANDSHAKE:
        handshake_timeout(c);
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
    cq__conn_open(c, v->role, v->self_id, 0);
}


void cq__conn_open(cq__ws_conn *c, cq__ws_role role, int64_t self_id,
                   int client)
{
    c->ws =
        cq__ws_stream_new(c->bev, client, (size_t)c->br->conf->ws_max_message,
                          (size_t)c->br->conf->ws_max_queue, on_message, c);
    if (c->ws == NULL) {
        close_after_flush(c);
        return;
    }
    c->role = role;
    c->self_id = self_id;
    c->held.self_id = self_id;
    c->state = CQ__CONN_OPEN;
    c->last_rx_ms = cq__now_ms();
    /* An account not known yet (0) is attached by cq__dial_learn(). */
    if (self_id != 0 && cq__account_attach(c->br, c) != 0) {
        cq__conn_close(c, cq__bridge_close_code(CQ_ENOMEM), "out of memory");
        return;
    }
    set_timer(c, c->br->conf->ws_ping_interval_ms);
    /* Frames sent right behind the handshake. */
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
    if (cq__http_wanted(&req)) { /* The HTTP API or metrics: http.c. */
        cq__http_start(c, &req);
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
    else if (c->state == CQ__CONN_HTTP)
        cq__http_on_read(c);
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


cq__ws_conn *cq__conn_new(cq__bridge *br, struct bufferevent *bev,
                          const char *peer)
{
    cq__ws_conn *c = calloc(1, sizeof(*c));

    if (c != NULL)
        c->timer = evtimer_new(br->base, on_timer, c);
    if (c == NULL || c->timer == NULL) {
        free(c);
        return NULL;
    }
    c->br = br;
    c->bev = bev;
    cq__spool_init(&c->held, 0);
    snprintf(c->peer, sizeof(c->peer), "%s", peer);
    c->next = br->conns;
    if (c->next != NULL)
        c->next->prev = c;
    br->conns = c;
    br->nconns++;
    bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
    bufferevent_enable(c->bev, EV_READ);
    return c;
}


void cq__conn_accept(cq__bridge *br, int fd, const char *peer)
{
    struct bufferevent *bev =
        bufferevent_socket_new(br->base, fd, BEV_OPT_CLOSE_ON_FREE);
    cq__ws_conn *c;

    if (bev == NULL) {
        evutil_closesocket(fd);
        return;
    }
    c = cq__conn_new(br, bev, peer);
    if (c == NULL) {
        bufferevent_free(bev);
        return;
    }
    br->n.connections_accepted++;
    set_timer(c, br->conf->handshake_timeout_ms);
}


void cq__conn_finish(cq__ws_conn *c)
{
    close_after_flush(c);
}


void cq__conn_free_all(cq__bridge *br)
{
    size_t dropped = 0;

    while (br->conns != NULL)
        conn_free(br->conns);
    while (br->orphans != NULL) {
        cq__spool *q = br->orphans;

        br->orphans = q->next;
        dropped += cq__spool_clear(q);
        free(q);
    }
    if (dropped > 0)
        cq_log(CQ_LOG_WARN, "stopping: %zu held events not handled", dropped);
}
