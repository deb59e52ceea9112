/*
 * frames: judging, unmasking and checking received data frames for the
 * stream's fast path. The contract is in frames.h.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "ws/frames.h"
#include "ws/handshake.h"

/*
 * The payload buffer is kept between messages up to this size (a
 * connection's events are mostly a few hundred bytes; 64 KiB is at most
 * that much per connection); a larger one goes after its message.
 */
#define RX_KEEP (64 * 1024)

#define OP_TEXT   0x1
#define OP_BINARY 0x2


/* The n-byte big-endian number at p. */
static uint64_t big_endian(const uint8_t *p, size_t n)
{
    uint64_t v = 0;

    while (n-- > 0)
        v = v << 8 | *p++;
    return v;
}


int cq__ws_rx_head(const uint8_t *h, size_t got, int client, size_t max,
                   cq__ws_rx *rx)
{
    unsigned op, len7;
    size_t ext;
    uint64_t len;

    if (got < 2)
        return CQ__WS_RX_WAIT;
    op = h[0] & 0x0f;
    /* FIN set, RSV bits clear (no extension is ever agreed), data. */
    if ((h[0] & 0xf0) != 0x80 || (op != OP_TEXT && op != OP_BINARY))
        return CQ__WS_RX_SLOW;
    /* A client's frames are masked, a server's not (RFC 6455 5.1). */
    rx->masked = (h[1] & 0x80) != 0;
    if (rx->masked == client)
        return CQ__WS_RX_SLOW;
    len7 = h[1] & 0x7f;
    ext = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    rx->head = 2 + ext + (rx->masked ? 4 : 0);
    if (got < rx->head)
        return CQ__WS_RX_WAIT;
    len = ext > 0 ? big_endian(h + 2, ext) : len7;
    /* A length in more bytes than it needs is wslay's to refuse. */
    if ((ext == 2 && len < 126) || (ext == 8 && len <= 0xffff) || len > max)
        return CQ__WS_RX_SLOW;
    rx->len = (size_t)len;
    rx->text = op == OP_TEXT;
    if (rx->masked)
        memcpy(rx->key, h + 2 + ext, 4);
    return CQ__WS_RX_FAST;
}


void cq__ws_rx_unmask(const cq__ws_rx *rx, uint8_t *p, size_t len)
{
    uint8_t k8[8];
    uint64_t key, w;
    size_t i = 0;

    if (!rx->masked)
        return;
    memcpy(k8, rx->key, 4);
    memcpy(k8 + 4, rx->key, 4);
    memcpy(&key, k8, 8);
    /* The key repeats every 4 bytes, so an 8-byte word takes it twice. */
    for (; i + 8 <= len; i += 8) {
        memcpy(&w, p + i, 8);
        w ^= key;
        memcpy(p + i, &w, 8);
    }
    for (; i < len; i++)
        p[i] ^= rx->key[i % 4];
}


/*
 * The length of the multi-byte sequence at p, at most left bytes, or 0
 * when it is not one. The lead byte gives the length; the second byte's
 * bounds rule out overlong forms, surrogates and code points past
 * U+10FFFF.
 */
static size_t sequence(const uint8_t *p, size_t left)
{
    uint8_t lead = p[0], min = 0x80, top = 0xbf;
    size_t n, k;

    if (lead < 0xc2 || lead > 0xf4)
        return 0;
    n = lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
    if (lead == 0xe0)
        min = 0xa0;
    if (lead == 0xed)
        top = 0x9f;
    if (lead == 0xf0)
        min = 0x90;
    if (lead == 0xf4)
        top = 0x8f;
    if (left < n || p[1] < min || p[1] > top)
        return 0;
    for (k = 2; k < n; k++)
        if ((p[k] & 0xc0) != 0x80)
            return 0;
    return n;
}


int cq__ws_rx_utf8(const uint8_t *p, size_t len)
{
    const uint64_t high = 0x8080808080808080u;
    uint64_t w;
    size_t i = 0, n;

    while (i < len) {
        /* ASCII, the common case, is checked 8 bytes at a time. */
        if (i + 8 <= len) {
            memcpy(&w, p + i, 8);
            if ((w & high) == 0) {
                i += 8;
                continue;
            }
        }
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        if ((n = sequence(p + i, len - i)) == 0)
            return 0;
        i += n;
    }
    return 1;
}


/* Makes buf hold at least len bytes. Returns CQ_OK or CQ_ENOMEM. */
static int need_buf(cq__ws_rx_buf *buf, size_t len)
{
    char *p;

    if (buf->cap >= len)
        return CQ_OK;
    if ((p = malloc(len)) == NULL)
        return CQ_ENOMEM;
    free(buf->p);
    buf->p = p;
    buf->cap = len;
    return CQ_OK;
}


int cq__ws_rx_read(struct evbuffer *in, int client, size_t max,
                   cq__ws_rx_buf *buf, cq__ws_rx *rx)
{
    uint8_t h[CQ__WS_RX_HEAD_MAX];
    struct evbuffer_ptr at;
    ev_ssize_t got = evbuffer_copyout(in, h, sizeof(h));
    int rc = cq__ws_rx_head(h, got > 0 ? (size_t)got : 0, client, max, rx);

    /*
     * Part of a frame is wslay's, as before: it judges a text payload's
     * UTF-8 as the bytes come (1007 before the frame is all there).
     */
    if (rc == CQ__WS_RX_WAIT && got < 2)
        return CQ__WS_RX_WAIT;
    if (rc != CQ__WS_RX_FAST || evbuffer_get_length(in) - rx->head < rx->len)
        return CQ__WS_RX_SLOW;
    if (need_buf(buf, rx->len + 1) != CQ_OK ||
        evbuffer_ptr_set(in, &at, rx->head, EVBUFFER_PTR_SET) != 0 ||
        evbuffer_copyout_from(in, &at, buf->p, rx->len) != (ev_ssize_t)rx->len)
        return CQ__WS_RX_SLOW;
    cq__ws_rx_unmask(rx, (uint8_t *)buf->p, rx->len);
    /* wslay closes with 1007 for text that is not UTF-8. */
    if (rx->text && !cq__ws_rx_utf8((const uint8_t *)buf->p, rx->len))
        return CQ__WS_RX_SLOW;
    buf->p[rx->len] = '\0';
    return CQ__WS_RX_FAST;
}


void cq__ws_rx_buf_shrink(cq__ws_rx_buf *buf)
{
    if (buf->cap > RX_KEEP)
        cq__ws_rx_buf_free(buf);
}


void cq__ws_rx_buf_free(cq__ws_rx_buf *buf)
{
    free(buf->p);
    buf->p = NULL;
    buf->cap = 0;
}


int cq__ws_tx_text(struct evbuffer *out, int client, const char *text,
                   size_t len)
{
    cq__ws_rx m = {0, len, 1, client, {0}};
    struct evbuffer_iovec v;
    uint8_t *p;
    size_t i, ext = len < 126 ? 0 : len <= 0xffff ? 2 : 8;

    m.head = 2 + ext + (client ? 4 : 0);
    if (client && cq__ws_mask(m.key) != CQ_OK)
        return CQ_EIO;
    if (len > SIZE_MAX - m.head ||
        evbuffer_reserve_space(out, (ev_ssize_t)(m.head + len), &v, 1) != 1)
        return CQ_ENOMEM;
    p = v.iov_base;
    p[0] = 0x80 | OP_TEXT;
    p[1] = (uint8_t)((client ? 0x80 : 0) | (ext == 0   ? len
                                            : ext == 2 ? 126
                                                       : 127));
    for (i = 0; i < ext; i++)
        p[2 + i] = (uint8_t)((uint64_t)len >> (8 * (ext - 1 - i)));
    if (client)
        memcpy(p + 2 + ext, m.key, 4);
    if (len > 0)
        memcpy(p + m.head, text, len);
    /* Masking is its own inverse: the key XORed in once. */
    cq__ws_rx_unmask(&m, p + m.head, len);
    v.iov_len = m.head + len;
    return evbuffer_commit_space(out, &v, 1) == 0 ? CQ_OK : CQ_ENOMEM;
}


int cq__ws_rx_next(struct evbuffer *in, size_t off, uint64_t *left,
                   int *fragmented)
{
    uint8_t h[10];
    struct evbuffer_ptr at;
    ev_ssize_t got;
    uint64_t payload;
    size_t head, i;

    if (evbuffer_ptr_set(in, &at, off, EVBUFFER_PTR_SET) != 0 ||
        (got = evbuffer_copyout_from(in, &at, h, sizeof(h))) < 2)
        return 0;
    payload = h[1] & 0x7f;
    head = 2 + (payload == 126 ? 2 : payload == 127 ? 8 : 0);
    if ((size_t)got < head)
        return 0;
    if (head > 2)
        for (payload = 0, i = 2; i < head; i++)
            payload = payload << 8 | h[i];
    head += (h[1] & 0x80) ? 4 : 0;
    /*
     * A control frame wslay would take (125 bytes at most) goes to it
     * whole: it checks a close reason's UTF-8 in each piece it is given
     * from the third byte on, so its verdict would depend on the cuts.
     */
    if ((h[0] & 0x08) && payload <= 125 &&
        evbuffer_get_length(in) - off < head + payload)
        return 0;
    /* A length this large is wslay's to refuse; it never gets that far. */
    *left = payload > UINT32_MAX ? UINT64_MAX : head + payload;
    if ((h[0] & 0x0f) <= OP_BINARY) /* Continuation, text or binary. */
        *fragmented = !(h[0] & 0x80);
    return 1;
}


size_t cq__ws_tx_close_1002(uint8_t frame[8], int client)
{
    uint8_t *key = frame + 2;

    frame[0] = 0x88;
    frame[1] = 0x02;
    if (!client) {
        frame[2] = 0x03;
        frame[3] = 0xea;
        return 4;
    }
    /* Masked: the payload follows the 4-byte key, XORed with it. */
    frame[1] = 0x82;
    if (cq__ws_mask(key) != CQ_OK)
        memset(key, 0, 4);
    frame[6] = 0x03 ^ key[0];
    frame[7] = 0xea ^ key[1];
    return 8;
}
