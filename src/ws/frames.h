/*
 * frames: the stream's fast path for received data frames (stream.c):
 * judging a frame header, copying and unmasking its payload and checking
 * that a text payload is UTF-8. The stream reads a complete, unfragmented
 * text or binary frame itself instead of through wslay (which unmasks byte
 * by byte, copies it twice and mallocs each message); anything these
 * functions do not accept goes to wslay, whose verdicts (close codes 1002,
 * 1007, 1009) stay the only ones. So they may refuse more than wslay does,
 * never less. No state but the caller's buffer; any thread.
 *
 * The other way, cq__ws_tx_text() writes a text frame straight into the
 * evbuffer it is given, for a stream whose wslay holds nothing to send (wslay
 * would copy the message into a malloc()ed record of its own first).
 */
#ifndef CQ_WS_FRAMES_H
#define CQ_WS_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>

/* The longest frame header: 2 bytes, 8 of length, 4 of mask key. */
#define CQ__WS_RX_HEAD_MAX 14

/* What cq__ws_rx_head() made of a header. */
#define CQ__WS_RX_SLOW 0 /* Not one for the fast path: wslay's. */
#define CQ__WS_RX_WAIT 1 /* Not all of the header is there yet. */
#define CQ__WS_RX_FAST 2 /* One for the fast path. */

/* A fast-path frame: where its payload starts, and its length. */
typedef struct cq__ws_rx {
    size_t head;    /* Header bytes, mask key included. */
    size_t len;     /* Payload bytes. */
    int text;       /* Text, not binary. */
    int masked;     /* key holds the mask. */
    uint8_t key[4]; /* The mask key, when masked. */
} cq__ws_rx;

/*
 * Judges the got bytes h, the start of a frame: fast when it is a final
 * text or binary frame without RSV bits, masked exactly when the peer is a
 * client (client is 0 for a server's stream), its length encoded in the
 * fewest bytes and at most max. Fills rx for a fast one. Returns one of
 * the CQ__WS_RX_* above.
 */
int cq__ws_rx_head(const uint8_t *h, size_t got, int client, size_t max,
                   cq__ws_rx *rx);

/*
 * For the stream's reads through wslay: at a frame boundary, off bytes into
 * in, reads the next frame's header there without taking it, and sets
 * *left to the frame's whole length (header and payload) and, for a data
 * frame, *fragmented from its FIN bit. Returns 0 when the header is not all
 * there yet, or a short control frame is not (wslay takes those whole),
 * else 1.
 */
int cq__ws_rx_next(struct evbuffer *in, size_t off, uint64_t *left,
                   int *fragmented);

/* Unmasks len bytes at p in place with rx's key, a word at a time. */
void cq__ws_rx_unmask(const cq__ws_rx *rx, uint8_t *p, size_t len);

/*
 * Whether the len bytes at p are UTF-8 by RFC 3629 (no overlong forms, no
 * surrogates, nothing past U+10FFFF), as wslay demands of text. Returns 1
 * or 0.
 */
int cq__ws_rx_utf8(const uint8_t *p, size_t len);

/* A stream's buffer for unmasked payloads, kept between messages. */
typedef struct cq__ws_rx_buf {
    char *p;
    size_t cap;
} cq__ws_rx_buf;

/*
 * Reads the frame at the start of in for the fast path, without taking
 * it: when cq__ws_rx_head() makes it fast, all of it is there and a text
 * payload is UTF-8, its payload goes unmasked and NUL-terminated into buf
 * and rx says where it ends (the caller drains rx->head + rx->len bytes).
 * Returns CQ__WS_RX_FAST so, CQ__WS_RX_WAIT when less than 2 bytes are
 * there, else CQ__WS_RX_SLOW (out of memory included): wslay's frame.
 */
int cq__ws_rx_read(struct evbuffer *in, int client, size_t max,
                   cq__ws_rx_buf *buf, cq__ws_rx *rx);

/* Frees buf's memory when it grew past what is kept between messages. */
void cq__ws_rx_buf_shrink(cq__ws_rx_buf *buf);

/* Frees buf's memory; buf stays usable. */
void cq__ws_rx_buf_free(cq__ws_rx_buf *buf);

/*
 * Appends one final text frame of the len bytes at text to out, masked
 * with random bytes when client is set. Returns CQ_OK, CQ_ENOMEM, or
 * CQ_EIO when no random mask could be had.
 */
int cq__ws_tx_text(struct evbuffer *out, int client, const char *text,
                   size_t len);

/*
 * Writes into frame a close frame with status code 1002 (protocol error)
 * and no reason, masked when client is set (with a zero key when no random
 * one could be had: the frame still goes). Returns its length, 4 or 8.
 * Never fails.
 */
size_t cq__ws_tx_close_1002(uint8_t frame[8], int client);

#endif
