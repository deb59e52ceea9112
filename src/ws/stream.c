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
#include "ws/handshake.h"
#include "ws/stream.h"

struct cq__ws_stream {
    struct bufferevent *bev; /* The owner's. */
    wslay_event_context_ptr ws;
    size_t max_queue;
    cq__ws_text_cb *on_text;
    void *arg;
    int paused;  /* Reading stopped by the owner. */
    int in_recv; /* Inside wslay_event_recv(): writing waits. */
};


static ssize_t on_recv(wslay_event_context_ptr ws, uint8_t *buf, size_t len,
                       int flags, void *arg)
{
    cq__ws_stream *s = arg;
    int n;

    (void)flags;
    /* While paused, nothing more is read (back-pressure). */
    n = s->paused ? 0
                  : evbuffer_remove(bufferevent_get_input(s->bev), buf, len);
    if (n <= 0) {
        wslay_event_set_error(ws, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    return n;
}


static ssize_t on_send(wslay_event_context_ptr ws, const uint8_t *data,
                       size_t len, int flags, void *arg)
{
    cq__ws_stream *s = arg;

    (void)flags;
    if (bufferevent_write(s->bev, data, len) != 0) {
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
    if (cq__ws_random(buf, len) != CQ_OK) {
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


cq__ws_stream *cq__ws_stream_new(struct bufferevent *bev, int client,
                                 size_t max_message, size_t max_queue,
                                 cq__ws_text_cb *on_text, void *arg)
{
    cq__ws_stream *s = calloc(1, sizeof(*s));
    int rc;

    if (s == NULL)
        return NULL;
    s->bev = bev;
    s->max_queue = max_queue;
    s->on_text = on_text;
    s->arg = arg;
    rc = client ? wslay_event_context_client_init(&s->ws, &client_callbacks, s)
                : wslay_event_context_server_init(&s->ws, &server_callbacks, s);
    if (rc != 0) {
        free(s);
        return NULL;
    }
    wslay_event_config_set_max_recv_msg_length(s->ws, (uint64_t)max_message);
    return s;
}


void cq__ws_stream_free(cq__ws_stream *s)
{
    if (s == NULL)
        return;
    wslay_event_context_free(s->ws);
    free(s);
}


int cq__ws_stream_flush(cq__ws_stream *s)
{
    /* Inside wslay_event_recv(): cq__ws_stream_pump() writes afterwards. */
    if (s->in_recv)
        return CQ__WS_OPEN;
    if (wslay_event_send(s->ws) != 0)
        return CQ_EIO;
    if (!wslay_event_want_read(s->ws) && !wslay_event_want_write(s->ws))
        return CQ__WS_CLOSED;
    return CQ__WS_OPEN;
}


int cq__ws_stream_pump(cq__ws_stream *s)
{
    int rc = 0;

    if (s->in_recv)
        return CQ__WS_OPEN;
    if (!s->paused) {
        s->in_recv = 1;
        rc = wslay_event_recv(s->ws);
        s->in_recv = 0;
    }
    if (rc != 0) {
        /* wslay gives up; a close it queued may still go out. */
        wslay_event_send(s->ws);
        return CQ_ENOMEM;
    }
    return cq__ws_stream_flush(s);
}


/* Maps a wslay queueing error. */
static int queue_error(int rc)
{
    if (rc == 0)
        return CQ_OK;
    return rc == WSLAY_ERR_NOMEM ? CQ_ENOMEM : CQ_EIO;
}


int cq__ws_stream_queue_text(cq__ws_stream *s, const char *text, size_t len)
{
    struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text, len};

    if (cq__ws_stream_queued(s) + len > s->max_queue)
        return CQ_ETOOBIG;
    return queue_error(wslay_event_queue_msg(s->ws, &m));
}


int cq__ws_stream_queue_ping(cq__ws_stream *s)
{
    struct wslay_event_msg ping = {WSLAY_PING, NULL, 0};

    return queue_error(wslay_event_queue_msg(s->ws, &ping));
}


int cq__ws_stream_queue_close(cq__ws_stream *s, uint16_t code,
                              const char *reason)
{
    size_t len = reason != NULL ? strlen(reason) : 0;
    int rc = wslay_event_queue_close(s->ws, code, (const uint8_t *)reason, len);

    wslay_event_shutdown_read(s->ws);
    return queue_error(rc);
}


void cq__ws_stream_pause(cq__ws_stream *s)
{
    s->paused = 1;
    bufferevent_disable(s->bev, EV_READ);
}


void cq__ws_stream_resume(cq__ws_stream *s)
{
    if (!s->paused)
        return;
    s->paused = 0;
    bufferevent_enable(s->bev, EV_READ);
    /* Frames already in the input are read from the loop, not from here. */
    bufferevent_trigger(s->bev, EV_READ,
                        BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
}


int cq__ws_stream_paused(const cq__ws_stream *s)
{
    return s->paused;
}


size_t cq__ws_stream_queued(const cq__ws_stream *s)
{
    return evbuffer_get_length(bufferevent_get_output(s->bev)) +
           wslay_event_get_queued_msg_length(s->ws);
}


int cq__ws_stream_peer_closed(const cq__ws_stream *s, uint16_t *code)
{
    if (!wslay_event_get_close_received(s->ws))
        return 0;
    *code = wslay_event_get_status_code_received(s->ws);
    return 1;
}


uint16_t cq__ws_stream_code_sent(const cq__ws_stream *s)
{
    return wslay_event_get_status_code_sent(s->ws);
}
