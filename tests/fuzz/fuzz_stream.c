/*
 * Fuzz target: the WebSocket stream's reading (src/ws/stream.h) as a
 * server. The input's first byte seeds how the rest, bytes from a client,
 * is cut; the rest goes through two streams: one gets it all at once and
 * is pumped once, the other gets it in pieces of 1 to 64 bytes, pumped and
 * trimmed (cq__ws_stream_trim()) after each. Both must tell the same
 * messages, write the same bytes and end the same way: a trim that dropped
 * wslay's context with part of a frame or of a fragmented message in it,
 * or the stream's own count of where a frame ends going wrong, shows as a
 * difference. A third stream gets it all at once with the fast path off
 * (cq__ws_stream_no_fast()): every frame through wslay, whose verdicts
 * (what it delivers, the close codes it writes) the fast path must keep.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "cqhttp.h"
#include "ws/stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One stream over a bufferevent pair, and what it told and wrote. */
typedef struct run {
    struct event_base *base;
    struct bufferevent *pair[2];
    cq__ws_stream *s;
    struct evbuffer *seen; /* Each message as its length, then its bytes. */
    struct evbuffer *wrote;
    int outcome; /* The first pump's outcome other than CQ__WS_OPEN. */
} run;


static void on_text(void *arg, const char *text, size_t len)
{
    run *r = arg;
    uint64_t n = text != NULL ? len : UINT64_MAX;

    evbuffer_add(r->seen, &n, sizeof(n));
    if (text != NULL)
        evbuffer_add(r->seen, text, len);
}


static void run_open(run *r, int fast)
{
    memset(r, 0, sizeof(*r));
    r->outcome = CQ__WS_OPEN;
    r->base = event_base_new();
    r->seen = evbuffer_new();
    r->wrote = evbuffer_new();
    if (r->base == NULL || r->seen == NULL || r->wrote == NULL ||
        bufferevent_pair_new(r->base, 0, r->pair) != 0)
        abort();
    /* Bytes move between the two only while both ends are enabled. */
    bufferevent_enable(r->pair[0], EV_READ | EV_WRITE);
    bufferevent_enable(r->pair[1], EV_READ | EV_WRITE);
    r->s = cq__ws_stream_new(r->pair[0], 0, 300, 1 << 20, on_text, r);
    if (r->s == NULL)
        abort();
    if (!fast)
        cq__ws_stream_no_fast(r->s);
}


/* Gives the stream len more bytes and pumps; keeps what it wrote. */
static void run_feed(run *r, const uint8_t *p, size_t len, int trim)
{
    int rc;

    if (r->outcome != CQ__WS_OPEN)
        return;
    /* The input takes bytes only from the other end of the pair. */
    bufferevent_write(r->pair[1], p, len);
    event_base_loop(r->base, EVLOOP_NONBLOCK);
    rc = cq__ws_stream_pump(r->s);
    if (rc != CQ__WS_OPEN)
        r->outcome = rc;
    event_base_loop(r->base, EVLOOP_NONBLOCK);
    evbuffer_remove_buffer(bufferevent_get_input(r->pair[1]), r->wrote,
                           (size_t)-1);
    if (trim)
        cq__ws_stream_trim(r->s);
}


static int same(struct evbuffer *a, struct evbuffer *b)
{
    size_t n = evbuffer_get_length(a);

    return n == evbuffer_get_length(b) &&
           (n == 0 ||
            memcmp(evbuffer_pullup(a, -1), evbuffer_pullup(b, -1), n) == 0);
}


static void run_close(run *r)
{
    cq__ws_stream_free(r->s);
    bufferevent_free(r->pair[0]);
    bufferevent_free(r->pair[1]);
    evbuffer_free(r->seen);
    evbuffer_free(r->wrote);
    event_base_free(r->base);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    run whole, cut, slow;
    uint32_t seed;
    size_t off, n;

    if (size < 1)
        return 0;
    seed = data[0] * 2654435761u + 1;
    run_open(&whole, 1);
    run_open(&cut, 1);
    run_open(&slow, 0);
    run_feed(&whole, data + 1, size - 1, 0);
    run_feed(&slow, data + 1, size - 1, 0);
    for (off = 1; off < size; off += n) {
        seed = seed * 1103515245u + 12345u;
        n = 1 + (seed >> 16) % 64;
        if (n > size - off)
            n = size - off;
        run_feed(&cut, data + off, n, 1);
    }
    /*
     * Once a close came or an error ended it, wslay drops what it still
     * held (pongs of pings in the same read), so the written bytes are
     * compared only while the stream is open.
     */
    if (whole.outcome != cut.outcome || !same(whole.seen, cut.seen) ||
        (whole.outcome == CQ__WS_OPEN && !same(whole.wrote, cut.wrote)))
        abort();
    if (whole.outcome != slow.outcome || !same(whole.seen, slow.seen) ||
        !same(whole.wrote, slow.wrote) ||
        cq__ws_stream_code_sent(whole.s) != cq__ws_stream_code_sent(slow.s))
        abort();
    run_close(&whole);
    run_close(&cut);
    run_close(&slow);
    return 0;
}
