/*
 * stream: wslay over a bufferevent. The contract, and why nothing is
 * written from inside wslay_event_recv(), are in stream.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <wslay/wslay.h>

#include "cqhttp.h"
#include "ws/direct.h"
#include "ws/handshake.h"
#include "ws/frames.h"
#include "ws/stream.h"

struct cq__ws_stream {
    struct bufferevent *bev;    /* The owner's. */
    wslay_event_context_ptr ws; /* NULL while nothing is in flight. */
    size_t max_message;
    size_t max_queue;
    uint64_t rx_left;  /* Bytes of the frame being read not given wslay. */
    int rx_fragmented; /* A fragmented message's last frame is to come. */
    cq__ws_text_cb *on_text;
    void *arg;
    int paused;  /* Reading stopped by the owner. */
    int blocked; /* Reading stopped: the outgoing queue is full. */
    int ended;   /* Closing or over: reading never starts again. */
    int in_recv; /* Reading frames (the owner's callback may run):
                    wslay's writing waits. */
    int reading; /* Read events: ON, OFF, or LAZY (on, paused: see below). */
    uint16_t proto_code;  /* The close code we wrote past wslay, or 0. */
    int client;           /* Our frames are masked. */
    int rx_slow;          /* The next frame is wslay's: not a fast one. */
    int no_fast;          /* Every frame goes through wslay (tests). */
    cq__ws_rx_buf rx_buf; /* The fast path's unmasked payload. */
    cq__ws_direct *tx;    /* Frames on their way to the socket (direct.h). */
};


enum { OFF, ON, LAZY };

/*
 * Reads when nobody stops it: the owner, the outgoing bound or the end.
 * Only a change touches the bufferevent; once ended, the owner alone
 * decides (it may read to linger). The owner's pause alone stops read
 * events lazily (LAZY), when bytes come meanwhile (pump): a pause that ends
 * before the peer sends costs no epoll_ctl.
 */
static void set_reading(cq__ws_stream *s)
{
    int want = !s->paused && !s->blocked && !s->ended;

    if ((want ? ON : OFF) == s->reading)
        return;
    if (!want) {
        s->reading = s->blocked || s->ended ? OFF : LAZY;
        if (s->reading == OFF)
            bufferevent_disable(s->bev, EV_READ);
        return;
    }
    s->reading = ON;
    if (!(bufferevent_get_enabled(s->bev) & EV_READ))
        bufferevent_enable(s->bev, EV_READ);
    /* Frames already in the input are read from the loop, not from here. */
    bufferevent_trigger(s->bev, EV_READ,
                        BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}


/*
 * Once a blocked stream's queue has drained to half of max_queue (the
 * low-water mark, so that reading does not flap at the bound), reading
 * starts again. Told when the output drained or tx was written.
 */
static void on_drained(void *arg)
{
    cq__ws_stream *s = arg;

    if (!s->blocked || cq__ws_stream_queued(s) > s->max_queue / 2)
        return;
    s->blocked = 0;
    set_reading(s);
}


static void on_output(struct evbuffer *out, const struct evbuffer_cb_info *info,
                      void *arg)
{
    (void)out;
    if (info->n_deleted > 0)
        on_drained(arg);
}


/*
 * Whether wslay may start the frame give bytes into what it is being given:
 * only the one the fast path left it (rx_slow), first in its read, so that
 * the fast path judges every frame that follows. Without the fast path,
 * any.
 */
static int wslay_may_start(cq__ws_stream *s, size_t give)
{
    if (s->no_fast)
        return 1;
    if (give > 0 || !s->rx_slow)
        return 0;
    s->rx_slow = 0;
    return 1;
}


/*
 * How many of the input's bytes, at most len, to give wslay: whole frames,
 * then part of one only when its rest has not come yet or does not fit.
 * So the stream always knows where in a frame wslay is (rx_left), and at a
 * boundary wslay holds no byte of the next frame (cq__ws_stream_trim()).
 */
static size_t frame_bytes(cq__ws_stream *s, struct evbuffer *in, size_t len)
{
    size_t avail = evbuffer_get_length(in), give = 0, take;

    if (len > avail)
        len = avail;
    while (give < len &&
           (s->rx_left > 0 ||
            (wslay_may_start(s, give) &&
             cq__ws_rx_next(in, give, &s->rx_left, &s->rx_fragmented)))) {
        take = len - give;
        if ((uint64_t)take > s->rx_left)
            take = (size_t)s->rx_left;
        give += take;
        s->rx_left -= (uint64_t)take;
    }
    return give;
}


/*
 * Whether a frame may be read now: not while paused or while the outgoing
 * queue is full (back-pressure, latched in blocked until half has
 * drained). Each frame read may queue an answer (a pong), so a peer that
 * sends but does not read is held to max_queue. Both the fast path and
 * wslay's reads ask here.
 */
static int may_read(cq__ws_stream *s)
{
    if (!s->paused && !s->blocked && cq__ws_stream_queued(s) >= s->max_queue)
        s->blocked = 1;
    return !s->paused && !s->blocked;
}


static ssize_t on_recv(wslay_event_context_ptr ws, uint8_t *buf, size_t len,
                       int flags, void *arg)
{
    cq__ws_stream *s = arg;
    struct evbuffer *in = bufferevent_get_input(s->bev);
    int n = 0;

    (void)flags;
    if (may_read(s) && (len = frame_bytes(s, in, len)) > 0)
        n = evbuffer_remove(in, buf, len);
    if (n <= 0) {
        wslay_event_set_error(ws, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    return n;
}


/*
 * Where the stream's next bytes go: on their way to the socket while the
 * stream is open (direct.h), else into the output, after whatever was on
 * its way, where an owner waiting for the output to drain sees them.
 */
static struct evbuffer *sink(cq__ws_stream *s)
{
    if (!s->ended)
        return cq__ws_direct_sink(&s->tx, s->bev, on_drained, s);
    cq__ws_direct_settle(s->tx);
    return bufferevent_get_output(s->bev);
}


static ssize_t on_send(wslay_event_context_ptr ws, const uint8_t *data,
                       size_t len, int flags, void *arg)
{
    cq__ws_stream *s = arg;

    (void)flags;
    if (evbuffer_add(sink(s), data, len) != 0) {
        wslay_event_set_error(ws, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}


/* Client frames are masked with 4 random bytes each (RFC 6455 5.3). */
static int on_genmask(wslay_event_context_ptr ws, uint8_t *buf, size_t len,
                      void *arg)
{
    (void)arg;
    if ((len == 4 ? cq__ws_mask(buf) : cq__ws_random(buf, len)) != CQ_OK) {
        wslay_event_set_error(ws, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return 0;
}


static void on_msg(wslay_event_context_ptr ws,
                   const struct wslay_event_on_msg_recv_arg *arg, void *user)
{
    cq__ws_stream *s = user;
    char *text;

    (void)ws;
    if (arg->opcode != WSLAY_TEXT_FRAME)
        return;
    /* The owner's parsers need a terminated copy. */
    text = malloc(arg->msg_length + 1);
    if (text == NULL) {
        s->on_text(s->arg, NULL, arg->msg_length);
        return;
    }
    /* An empty message may come with msg NULL. */
    if (arg->msg_length > 0)
        memcpy(text, arg->msg, arg->msg_length);
    text[arg->msg_length] = '\0';
    s->on_text(s->arg, text, arg->msg_length);
    free(text);
}


static const struct wslay_event_callbacks server_callbacks = {
    on_recv, on_send, NULL, NULL, NULL, NULL, on_msg,
};

static const struct wslay_event_callbacks client_callbacks = {
    on_recv, on_send, on_genmask, NULL, NULL, NULL, on_msg,
};


/*
 * The wslay context, made when first needed: an idle connection holds none
 * (wslay's is some 9 KiB, mostly buffers). Returns CQ_OK or CQ_ENOMEM.
 */
static int need_ws(cq__ws_stream *s)
{
    int rc;

    if (s->ws != NULL)
        return CQ_OK;
    rc = s->client
             ? wslay_event_context_client_init(&s->ws, &client_callbacks, s)
             : wslay_event_context_server_init(&s->ws, &server_callbacks, s);
    if (rc != 0) {
        s->ws = NULL;
        return CQ_ENOMEM;
    }
    wslay_event_config_set_max_recv_msg_length(s->ws, (uint64_t)s->max_message);
    return CQ_OK;
}


cq__ws_stream *cq__ws_stream_new(struct bufferevent *bev, int client,
                                 size_t max_message, size_t max_queue,
                                 cq__ws_text_cb *on_text, void *arg)
{
    cq__ws_stream *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->bev = bev;
    s->max_message = max_message;
    s->max_queue = max_queue;
    s->on_text = on_text;
    s->arg = arg;
    s->client = client;
    s->reading = ON; /* The owner reads on bev while it shakes hands. */
    if (evbuffer_add_cb(bufferevent_get_output(bev), on_output, s) == NULL) {
        free(s);
        return NULL;
    }
    return s;
}


void cq__ws_stream_free(cq__ws_stream *s)
{
    if (s == NULL)
        return;
    evbuffer_remove_cb(bufferevent_get_output(s->bev), on_output, s);
    if (s->ws != NULL)
        wslay_event_context_free(s->ws);
    cq__ws_rx_buf_free(&s->rx_buf);
    cq__ws_direct_free(&s->tx);
    free(s);
}


void cq__ws_stream_trim(cq__ws_stream *s)
{
    wslay_event_context_ptr ws = s->ws;

    if (!s->in_recv)
        cq__ws_rx_buf_free(&s->rx_buf);
    cq__ws_direct_trim(&s->tx);
    if (ws == NULL || s->in_recv || s->ended || s->rx_left > 0 ||
        s->rx_fragmented || wslay_event_get_queued_msg_count(ws) > 0 ||
        wslay_event_want_write(ws) || !wslay_event_want_read(ws) ||
        wslay_event_get_close_received(ws) || wslay_event_get_close_sent(ws))
        return;
    wslay_event_context_free(ws);
    s->ws = NULL;
}


int cq__ws_stream_flush(cq__ws_stream *s)
{
    /* Inside wslay_event_recv(): cq__ws_stream_pump() writes afterwards. */
    if (s->in_recv)
        return CQ__WS_OPEN;
    if (s->proto_code != 0)
        return CQ_EIO;
    if (s->ws == NULL) /* Nothing was queued, and nothing closed. */
        return CQ__WS_OPEN;
    if (wslay_event_send(s->ws) != 0) {
        cq__ws_direct_settle(s->tx);
        return CQ_EIO;
    }
    if (!wslay_event_want_read(s->ws) && !wslay_event_want_write(s->ws)) {
        /* The owner ends the connection once the output is flushed. */
        cq__ws_direct_settle(s->tx);
        return CQ__WS_CLOSED;
    }
    return CQ__WS_OPEN;
}


void cq__ws_stream_settle(cq__ws_stream *s)
{
    if (s != NULL)
        cq__ws_direct_settle(s->tx);
}


/*
 * wslay's frame layer found a protocol error (a fragmented or oversized
 * control frame, say): it queued an empty close and gave up. RFC 6455
 * section 7.1.7 wants 1002, so that frame is written here instead, and
 * nothing wslay still holds goes out after it. Returns CQ_EPARSE.
 */
static int protocol_close(cq__ws_stream *s)
{
    uint8_t frame[8];
    size_t len = cq__ws_tx_close_1002(frame, s->client);

    s->ended = 1;
    s->proto_code = 1002;
    evbuffer_add(sink(s), frame, len);
    set_reading(s);
    return CQ_EPARSE;
}


/*
 * The fast path: reads the input's first frame itself when wslay holds no
 * part of a frame or of a fragmented message and still reads, and
 * cq__ws_rx_read() takes the frame; its text goes to the owner as wslay's
 * would (on_msg()). Returns CQ__WS_RX_FAST when it read one,
 * CQ__WS_RX_WAIT when nothing is to be read now (stopped, or not even two
 * bytes of a frame there: wslay would get none), CQ__WS_RX_SLOW when the
 * frame is wslay's.
 */
static int fast_frame(cq__ws_stream *s, struct evbuffer *in)
{
    cq__ws_rx rx;
    int rc;

    if (s->no_fast || s->ended || s->rx_left > 0 || s->rx_fragmented ||
        (s->ws != NULL && !wslay_event_get_read_enabled(s->ws)))
        return CQ__WS_RX_SLOW;
    if (!may_read(s))
        return CQ__WS_RX_WAIT;
    rc = cq__ws_rx_read(in, s->client, s->max_message, &s->rx_buf, &rx);
    if (rc != CQ__WS_RX_FAST)
        return rc;
    evbuffer_drain(in, rx.head + rx.len);
    if (rx.text)
        s->on_text(s->arg, s->rx_buf.p, rx.len);
    cq__ws_rx_buf_shrink(&s->rx_buf);
    return CQ__WS_RX_FAST;
}


/*
 * Reads what the input holds: fast frames here, the rest through wslay,
 * each frame in turn. Returns 0, wslay's error, or CQ_ENOMEM when its
 * context could not be made.
 */
static int read_frames(cq__ws_stream *s)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    size_t before;
    int rc;

    while (!s->paused && (before = evbuffer_get_length(in)) > 0) {
        rc = fast_frame(s, in);
        if (rc == CQ__WS_RX_FAST)
            continue;
        if (rc == CQ__WS_RX_WAIT)
            return 0;
        /* A frame wslay holds part of needs no leave to go on. */
        s->rx_slow = s->rx_left == 0;
        if (need_ws(s) != CQ_OK)
            return CQ_ENOMEM;
        if ((rc = wslay_event_recv(s->ws)) != 0)
            return rc;
        if (evbuffer_get_length(in) == before)
            return 0;
    }
    return 0;
}


int cq__ws_stream_pump(cq__ws_stream *s)
{
    int rc;

    if (s->in_recv)
        return CQ__WS_OPEN;
    if (s->reading == LAZY) { /* Paused, and bytes came: see above. */
        s->reading = OFF;
        bufferevent_disable(s->bev, EV_READ);
    }
    s->in_recv = 1;
    rc = read_frames(s);
    s->in_recv = 0;
    if (rc == CQ_ENOMEM) {
        s->ended = 1;
        cq__ws_direct_settle(s->tx);
        set_reading(s);
        return CQ_ENOMEM;
    }
    if (rc == WSLAY_ERR_CALLBACK_FAILURE)
        return protocol_close(s);
    if (rc != 0) {
        /* wslay gives up; a close it queued may still go out. */
        s->ended = 1;
        wslay_event_send(s->ws);
        cq__ws_direct_settle(s->tx);
        return CQ_ENOMEM;
    }
    rc = cq__ws_stream_flush(s);
    if (rc != CQ__WS_OPEN)
        s->ended = 1;
    /* A pump that found the queue full leaves reading stopped. */
    set_reading(s);
    return rc;
}


/* Maps a wslay queueing error. */
static int queue_error(int rc)
{
    return rc == 0 ? CQ_OK : rc == WSLAY_ERR_NOMEM ? CQ_ENOMEM : CQ_EIO;
}


/*
 * Whether a text message may go straight to the output: wslay holds
 * nothing to send (so nothing is overtaken) and would take it (no close
 * queued, sent or received).
 */
static int may_write(const cq__ws_stream *s)
{
    wslay_event_context_ptr ws = s->ws;

    if (s->no_fast || s->ended || s->proto_code != 0)
        return 0;
    return ws == NULL ||
           (wslay_event_get_write_enabled(ws) && !wslay_event_want_write(ws) &&
            !wslay_event_get_close_sent(ws) &&
            !wslay_event_get_close_received(ws));
}


int cq__ws_stream_queue_text(cq__ws_stream *s, const char *text, size_t len)
{
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text, len};

    if (cq__ws_stream_queued(s) + len > s->max_queue)
        return CQ_ETOOBIG;
    if (may_write(s))
        return cq__ws_tx_text(sink(s), s->client, text, len);
    if (need_ws(s) != CQ_OK)
        return CQ_ENOMEM;
    return queue_error(wslay_event_queue_msg(s->ws, &m));
}


int cq__ws_stream_queue_ping(cq__ws_stream *s)
{
    struct wslay_event_msg ping = {WSLAY_PING, NULL, 0};

    if (need_ws(s) != CQ_OK)
        return CQ_ENOMEM;
    return queue_error(wslay_event_queue_msg(s->ws, &ping));
}


int cq__ws_stream_queue_close(cq__ws_stream *s, uint16_t code,
                              const char *reason)
{
    size_t len = reason != NULL ? strlen(reason) : 0;
    int rc = need_ws(s);

    if (rc == CQ_OK) {
        rc = queue_error(
            wslay_event_queue_close(s->ws, code, (const uint8_t *)reason, len));
        wslay_event_shutdown_read(s->ws);
    }
    s->ended = 1;
    set_reading(s);
    return rc;
}


void cq__ws_stream_no_fast(cq__ws_stream *s)
{
    s->no_fast = 1;
}


void cq__ws_stream_pause(cq__ws_stream *s)
{
    s->paused = 1;
    set_reading(s);
}


void cq__ws_stream_resume(cq__ws_stream *s)
{
    if (!s->paused)
        return;
    s->paused = 0;
    set_reading(s);
}


int cq__ws_stream_paused(const cq__ws_stream *s)
{
    return s->paused;
}


int cq__ws_stream_blocked(const cq__ws_stream *s)
{
    return s->blocked;
}


size_t cq__ws_stream_queued(const cq__ws_stream *s)
{
    return evbuffer_get_length(bufferevent_get_output(s->bev)) +
           cq__ws_direct_held(s->tx) +
           (s->ws != NULL ? wslay_event_get_queued_msg_length(s->ws) : 0);
}


int cq__ws_stream_peer_closed(const cq__ws_stream *s, uint16_t *code)
{
    if (s->ws == NULL || !wslay_event_get_close_received(s->ws))
        return 0;
    *code = wslay_event_get_status_code_received(s->ws);
    return 1;
}


uint16_t cq__ws_stream_code_sent(const cq__ws_stream *s)
{
    if (s->proto_code != 0)
        return s->proto_code;
    if (s->ws == NULL)
        return WSLAY_CODE_ABNORMAL_CLOSURE; /* As wslay says: none sent. */
    return wslay_event_get_status_code_sent(s->ws);
}
