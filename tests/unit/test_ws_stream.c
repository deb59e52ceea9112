/*
 * Tests of ws/stream.c (wslay over a bufferevent pair: the stream's end is
 * a, the test plays the peer on b) and of the client side of ws/handshake.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "cqhttp.h"
#include "test.h"
#include "ws/handshake.h"
#include "ws/stream.h"

typedef struct peer {
    struct event_base *base;
    struct bufferevent *pair[2];
    cq__ws_stream *s;
    char got[64];
    size_t got_len;
    int calls;
    int flush_rc;     /* What the flush inside the callback returned. */
    size_t out_in_cb; /* Bytes written while inside the callback. */
} peer;

/* Answers every message with "pong", from inside the callback. */
static void answer(void *arg, const char *text, size_t len)
{
    peer *p = arg;

    p->calls++;
    p->got_len = len;
    if (text != NULL && len < sizeof(p->got))
        memcpy(p->got, text, len + 1);
    cq__ws_stream_queue_text(p->s, "pong", 4);
    p->flush_rc = cq__ws_stream_flush(p->s);
    p->out_in_cb = evbuffer_get_length(bufferevent_get_output(p->pair[0])) +
                   evbuffer_get_length(bufferevent_get_input(p->pair[1]));
}

static int peer_open(peer *p, size_t max_queue)
{
    memset(p, 0, sizeof(*p));
    p->base = event_base_new();
    if (p->base == NULL || bufferevent_pair_new(p->base, 0, p->pair) != 0)
        return -1;
    /* Bytes move between the two only while the receiving end reads. */
    bufferevent_enable(p->pair[0], EV_READ);
    bufferevent_enable(p->pair[1], EV_READ);
    p->s = cq__ws_stream_new(p->pair[0], 0, 1024, max_queue, answer, p);
    return p->s != NULL ? 0 : -1;
}

static void peer_close(peer *p)
{
    cq__ws_stream_free(p->s);
    if (p->pair[0] != NULL) {
        bufferevent_free(p->pair[0]);
        bufferevent_free(p->pair[1]);
    }
    if (p->base != NULL)
        event_base_free(p->base);
}

/* Sends a masked client text frame (mask 0) to the stream's input. */
static void peer_send(peer *p, const char *text)
{
    unsigned char head[6] = {0x81, 0x80, 0, 0, 0, 0};

    head[1] |= (unsigned char)strlen(text);
    bufferevent_write(p->pair[1], head, sizeof(head));
    bufferevent_write(p->pair[1], text, strlen(text));
    event_base_loop(p->base, EVLOOP_NONBLOCK);
}

/* What the stream wrote, as the peer reads it. */
static size_t peer_read(peer *p, unsigned char *buf, size_t len)
{
    event_base_loop(p->base, EVLOOP_NONBLOCK);
    return (size_t)evbuffer_remove(bufferevent_get_input(p->pair[1]), buf, len);
}

/*
 * The stream answers "ping" with "pong" from inside the callback; in_cb is
 * how many bytes must be written by then. Through wslay (fast unset)
 * nothing is written from inside wslay_event_recv(): the pump writes the
 * answer after. Past wslay, a text queued while wslay holds nothing to send
 * goes to the output at once. The same bytes either way.
 */
static void reply_from_callback(t_state *t, int fast, size_t in_cb)
{
    peer p;
    unsigned char buf[16];
    size_t n;

    T_CHECK(peer_open(&p, 1 << 20) == 0);
    if (!fast)
        cq__ws_stream_no_fast(p.s);
    peer_send(&p, "ping");
    T_EQ_INT(cq__ws_stream_pump(p.s), CQ__WS_OPEN);
    n = peer_read(&p, buf, sizeof(buf));
    peer_close(&p);
    T_EQ_INT(p.calls, 1);
    T_EQ_STR(p.got, "ping");
    T_EQ_INT(p.flush_rc, CQ__WS_OPEN);
    T_EQ_INT(p.out_in_cb, in_cb);
    /* An unmasked text frame "pong". */
    T_EQ_INT(n, 6);
    T_CHECK(memcmp(buf, "\x81\x04pong", 6) == 0);
}

T_CASE(reply_from_callback_is_deferred)
{
    reply_from_callback(t, 0, 0);
}

T_CASE(reply_from_callback_is_written)
{
    reply_from_callback(t, 1, 6);
}

T_CASE(empty_text_message)
{
    peer p;

    T_CHECK(peer_open(&p, 1 << 20) == 0);
    peer_send(&p, "");
    T_EQ_INT(cq__ws_stream_pump(p.s), CQ__WS_OPEN);
    peer_close(&p);
    T_EQ_INT(p.calls, 1);
    T_EQ_INT(p.got_len, 0);
    T_EQ_STR(p.got, "");
}

/* Writes raw bytes to the stream's input. */
static void peer_raw(peer *p, const void *bytes, size_t len)
{
    bufferevent_write(p->pair[1], bytes, len);
    event_base_loop(p->base, EVLOOP_NONBLOCK);
}

/*
 * Trims at rest, in the middle of a frame and in the middle of a fragmented
 * message all leave the stream whole: the messages after them arrive
 * intact. (A trim that freed wslay's context mid-message would make the
 * rest a protocol error; whether one at rest frees it is not observable
 * here, and bench/bridge_idle.py measures the memory.)
 */
T_CASE(trim_keeps_what_is_in_flight)
{
    /* "hel" (FIN unset), then a continuation "lo" split after 3 bytes. */
    static const unsigned char first[] = {0x01, 0x83, 0,   0,  0,
                                          0,    'h',  'e', 'l'};
    static const unsigned char rest[] = {0x80, 0x82, 0, 0, 0, 0, 'l', 'o'};
    peer p;

    T_CHECK(peer_open(&p, 1 << 20) == 0);
    cq__ws_stream_trim(p.s);
    peer_send(&p, "one");
    T_EQ_INT(cq__ws_stream_pump(p.s), CQ__WS_OPEN);
    peer_read(&p, (unsigned char[16]){0}, 16);
    cq__ws_stream_trim(p.s);
    peer_raw(&p, first, sizeof(first));
    T_EQ_INT(cq__ws_stream_pump(p.s), CQ__WS_OPEN);
    cq__ws_stream_trim(p.s);
    peer_raw(&p, rest, 3);
    T_EQ_INT(cq__ws_stream_pump(p.s), CQ__WS_OPEN);
    cq__ws_stream_trim(p.s);
    peer_raw(&p, rest + 3, sizeof(rest) - 3);
    T_EQ_INT(cq__ws_stream_pump(p.s), CQ__WS_OPEN);
    peer_close(&p);
    T_EQ_INT(p.calls, 2);
    T_EQ_STR(p.got, "hello");
}

T_CASE(queue_bound)
{
    peer p;

    T_CHECK(peer_open(&p, 10) == 0);
    /*
     * Held by wslay: past it the text would go to the output, which the
     * pair empties into the peer at once.
     */
    cq__ws_stream_no_fast(p.s);
    T_EQ_INT(cq__ws_stream_queue_text(p.s, "0123456789x", 11), CQ_ETOOBIG);
    T_EQ_INT(cq__ws_stream_queue_text(p.s, "0123456789", 10), CQ_OK);
    T_EQ_INT(cq__ws_stream_queued(p.s), 10);
    T_EQ_INT(cq__ws_stream_queue_text(p.s, "x", 1), CQ_ETOOBIG);
    peer_close(&p);
}

T_CASE(full_queue_stops_reading)
{
    peer p;
    int blocked, unblocked;

    T_CHECK(peer_open(&p, 10) == 0);
    /* The peer does not read: what is written stays in the output. */
    bufferevent_disable(p.pair[1], EV_READ);
    T_EQ_INT(cq__ws_stream_queue_text(p.s, "0123456789", 10), CQ_OK);
    T_EQ_INT(cq__ws_stream_flush(p.s), CQ__WS_OPEN);
    peer_send(&p, "ping");
    T_EQ_INT(cq__ws_stream_pump(p.s), CQ__WS_OPEN);
    blocked = cq__ws_stream_blocked(p.s);
    /* It reads again: the output drains below half, and so reading goes on. */
    bufferevent_enable(p.pair[1], EV_READ);
    event_base_loop(p.base, EVLOOP_NONBLOCK);
    unblocked = !cq__ws_stream_blocked(p.s);
    T_EQ_INT(p.calls, 0);
    T_EQ_INT(cq__ws_stream_pump(p.s), CQ__WS_OPEN);
    peer_close(&p);
    T_EQ_INT(blocked, 1);
    T_EQ_INT(unblocked, 1);
    T_EQ_INT(p.calls, 1);
}

T_CASE(close_ends_after_flush)
{
    peer p;
    unsigned char buf[16];
    uint16_t code = 0;
    size_t n;
    int rc;

    T_CHECK(peer_open(&p, 1 << 20) == 0);
    T_EQ_INT(cq__ws_stream_queue_close(p.s, 1013, "busy"), CQ_OK);
    rc = cq__ws_stream_flush(p.s);
    n = peer_read(&p, buf, sizeof(buf));
    T_EQ_INT(cq__ws_stream_code_sent(p.s), 1013);
    T_EQ_INT(cq__ws_stream_peer_closed(p.s, &code), 0);
    T_EQ_INT(cq__ws_stream_queue_text(p.s, "x", 1), CQ_EIO);
    peer_close(&p);
    T_EQ_INT(rc, CQ__WS_CLOSED);
    T_EQ_INT(n, 8);
    T_CHECK(memcmp(buf,
                   "\x88\x06\x03\xf5"
                   "busy",
                   8) == 0);
}

T_CASE(paused_reads_nothing)
{
    peer p;

    T_CHECK(peer_open(&p, 1 << 20) == 0);
    cq__ws_stream_pause(p.s);
    peer_send(&p, "ping");
    T_EQ_INT(cq__ws_stream_pump(p.s), CQ__WS_OPEN);
    T_EQ_INT(p.calls, 0);
    cq__ws_stream_resume(p.s);
    T_EQ_INT(cq__ws_stream_pump(p.s), CQ__WS_OPEN);
    peer_close(&p);
    T_EQ_INT(p.calls, 1);
}

T_CASE(client_key_and_answer)
{
    char key[25], accept[29], want[29];
    char head[] = "HTTP/1.1 101 Switching Protocols\r\n"
                  "upgrade: WebSocket\r\n"
                  "Connection: keep-alive, Upgrade\r\n"
                  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                  "\r\n";
    cq__ws_response r;
    const char *why;

    T_EQ_INT(cq__ws_client_key(key, accept), CQ_OK);
    T_EQ_INT(strlen(key), 24);
    T_EQ_INT(cq__ws_accept_key(key, 24, want), CQ_OK);
    T_EQ_STR(accept, want);
    T_EQ_INT(cq__ws_parse_response(head, &r), CQ_OK);
    T_EQ_INT(r.status, 101);
    T_EQ_STR(r.reason, "Switching Protocols");
    T_EQ_INT(r.content_length, -1);
    T_EQ_INT(cq__ws_check_response(&r, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", &why),
             CQ_OK);
    T_EQ_INT(cq__ws_check_response(&r, accept, &why), CQ_EPARSE);
    T_EQ_STR(why, "101 with a wrong Sec-WebSocket-Accept");
    r.upgrade = "h2c";
    T_EQ_INT(cq__ws_check_response(&r, accept, &why), CQ_EPARSE);
    T_CHECK(strstr(why, "Upgrade: websocket") != NULL);
}

T_CASE(client_refusal_head)
{
    char head[] = "HTTP/1.1 403 Forbidden\nContent-Length: 12\n\n";
    char bad[] = "HTTP/2 101\r\n\r\n";
    char nocolon[] = "HTTP/1.1 101 x\r\nUpgrade websocket\r\n\r\n";
    cq__ws_response r;

    T_EQ_INT(cq__ws_parse_response(head, &r), CQ_OK);
    T_EQ_INT(r.status, 403);
    T_EQ_STR(r.reason, "Forbidden");
    T_EQ_INT(r.content_length, 12);
    T_EQ_INT(cq__ws_parse_response(bad, &r), CQ_EPARSE);
    T_EQ_INT(cq__ws_parse_response(nocolon, &r), CQ_EPARSE);
}

/* The client's request, read back by the server's parser and judge. */
T_CASE(client_request_round_trip)
{
    char out[1024], accept[29], small[64], want[29];
    cq__ws_request req;
    cq__ws_verdict v;
    int n = cq__ws_client_request(out, sizeof(out), "/ws/?x=1", "h:1",
                                  "X-Self-ID: 42\r\n"
                                  "Authorization: Bearer t\r\n",
                                  accept);

    T_CHECK(n > 0);
    T_EQ_INT(strlen(out), n);
    T_EQ_INT(cq__ws_parse_request(out, (size_t)n, &req), n);
    cq__ws_judge(&req, "t", &v);
    T_EQ_INT(v.status, 101);
    T_EQ_INT(v.self_id, 42);
    T_EQ_INT(cq__ws_accept_key(req.ws_key, req.ws_key_len, want), CQ_OK);
    T_EQ_STR(accept, want);
    T_EQ_INT(
        cq__ws_client_request(small, sizeof(small), "/", "h:1", "", accept),
        CQ_ETOOBIG);
    T_EQ_STR(small, "");
}

T_SUITE(test_ws_stream_cases) = {
    {"ws_stream/reply_from_callback_is_deferred",
     reply_from_callback_is_deferred},
    {"ws_stream/reply_from_callback_is_written",
     reply_from_callback_is_written},
    {"ws_stream/empty_text_message", empty_text_message},
    {"ws_stream/trim_keeps_what_is_in_flight", trim_keeps_what_is_in_flight},
    {"ws_stream/queue_bound", queue_bound},
    {"ws_stream/full_queue_stops_reading", full_queue_stops_reading},
    {"ws_stream/close_ends_after_flush", close_ends_after_flush},
    {"ws_stream/paused_reads_nothing", paused_reads_nothing},
    {"ws_stream/client_key_and_answer", client_key_and_answer},
    {"ws_stream/client_refusal_head", client_refusal_head},
    {"ws_stream/client_request_round_trip", client_request_round_trip},
    {NULL, NULL},
};
