/*
 * Tests of ws/frames.c: which headers the stream's fast path takes, the
 * word-wise unmasking and the UTF-8 check (which must refuse all wslay
 * refuses, or the fast path would deliver what wslay closes with 1007), the
 * pooled masks and the 1002 close frame.
 */
#include <stdint.h>
#include <string.h>

#include "test.h"
#include "cqhttp.h"
#include "ws/frames.h"
#include "ws/handshake.h"

/* The UTF-8 verdict on a NUL-terminated string, placed after 9 ASCII bytes
 * too, so that both the word-wise and the byte-wise steps see it. */
static int utf8(const char *s)
{
    char buf[64] = "abcdefghi";
    size_t n = strlen(s);
    int a = cq__ws_rx_utf8((const uint8_t *)s, n);

    memcpy(buf + 9, s, n);
    return a == cq__ws_rx_utf8((const uint8_t *)buf, n + 9) ? a : -1;
}


T_CASE(utf8_accepts_well_formed)
{
    T_EQ_INT(utf8(""), 1);
    T_EQ_INT(utf8("{\"message\":\"hello, world\"}"), 1);
    T_EQ_INT(utf8("\xc3\xa9"), 1);                 /* U+00E9 */
    T_EQ_INT(utf8("\xe4\xbd\xa0\xe5\xa5\xbd"), 1); /* Two CJK. */
    T_EQ_INT(utf8("\xef\xbf\xbf"), 1);             /* U+FFFF */
    T_EQ_INT(utf8("\xf0\x9f\x98\x80"), 1);         /* U+1F600 */
    T_EQ_INT(utf8("\xf4\x8f\xbf\xbf"), 1);         /* U+10FFFF */
    T_EQ_INT(utf8("\xee\x80\x80"), 1); /* U+E000, past surrogates. */
}


T_CASE(utf8_refuses_ill_formed)
{
    T_EQ_INT(utf8("\x80"), 0);             /* A lone continuation. */
    T_EQ_INT(utf8("\xc0\x80"), 0);         /* Overlong NUL. */
    T_EQ_INT(utf8("\xc1\xbf"), 0);         /* Overlong. */
    T_EQ_INT(utf8("\xe0\x9f\xbf"), 0);     /* Overlong 3-byte. */
    T_EQ_INT(utf8("\xed\xa0\x80"), 0);     /* Surrogate U+D800. */
    T_EQ_INT(utf8("\xf0\x8f\xbf\xbf"), 0); /* Overlong 4-byte. */
    T_EQ_INT(utf8("\xf4\x90\x80\x80"), 0); /* Past U+10FFFF. */
    T_EQ_INT(utf8("\xf5\x80\x80\x80"), 0);
    T_EQ_INT(utf8("\xff"), 0);
    T_EQ_INT(utf8("\xe4\xbd"), 0);  /* Cut short at the end. */
    T_EQ_INT(utf8("\xe4\xbdx"), 0); /* Cut short by ASCII. */
    T_EQ_INT(utf8("\xf0\x9f\x98"), 0);
}


T_CASE(unmask_matches_bytewise)
{
    cq__ws_rx rx = {0, 0, 1, 1, {0x12, 0x34, 0x56, 0x78}};
    uint8_t p[37], want[37];
    size_t i, n;

    for (n = 0; n <= sizeof(p); n += 5) {
        for (i = 0; i < n; i++) {
            p[i] = (uint8_t)(i * 7 + n);
            want[i] = p[i] ^ rx.key[i % 4];
        }
        cq__ws_rx_unmask(&rx, p, n);
        T_CHECK(n == 0 || memcmp(p, want, n) == 0);
    }
}


T_CASE(head_judgements)
{
    static const uint8_t text[] = {0x81, 0x85, 1, 2, 3, 4};
    static const uint8_t ext16[] = {0x82, 0xfe, 0x01, 0x00, 1, 2, 3, 4};
    static const uint8_t short16[] = {0x81, 0xfe, 0x00, 0x7d, 1, 2, 3, 4};
    static const uint8_t frag[] = {0x01, 0x85, 1, 2, 3, 4};
    static const uint8_t rsv[] = {0xc1, 0x85, 1, 2, 3, 4};
    static const uint8_t ping[] = {0x89, 0x80, 1, 2, 3, 4};
    cq__ws_rx rx;

    T_EQ_INT(cq__ws_rx_head(text, 6, 0, 300, &rx), CQ__WS_RX_FAST);
    T_EQ_INT(rx.head, 6);
    T_EQ_INT(rx.len, 5);
    T_EQ_INT(rx.text, 1);
    T_EQ_INT(rx.key[3], 4);
    T_EQ_INT(cq__ws_rx_head(text, 5, 0, 300, &rx), CQ__WS_RX_WAIT);
    T_EQ_INT(cq__ws_rx_head(text, 1, 0, 300, &rx), CQ__WS_RX_WAIT);
    T_EQ_INT(cq__ws_rx_head(text, 6, 0, 4, &rx), CQ__WS_RX_SLOW); /* 1009 */
    T_EQ_INT(cq__ws_rx_head(text, 6, 1, 300, &rx), CQ__WS_RX_SLOW);
    T_EQ_INT(cq__ws_rx_head(ext16, 8, 0, 300, &rx), CQ__WS_RX_FAST);
    T_EQ_INT(rx.len, 256);
    T_EQ_INT(rx.text, 0);
    T_EQ_INT(cq__ws_rx_head(short16, 8, 0, 300, &rx), CQ__WS_RX_SLOW);
    T_EQ_INT(cq__ws_rx_head(frag, 6, 0, 300, &rx), CQ__WS_RX_SLOW);
    T_EQ_INT(cq__ws_rx_head(rsv, 6, 0, 300, &rx), CQ__WS_RX_SLOW);
    T_EQ_INT(cq__ws_rx_head(ping, 6, 0, 300, &rx), CQ__WS_RX_SLOW);
}

/* Masks from the pool: each fresh, past a refill or two as well. */
T_CASE(masks_differ_across_refills)
{
    uint8_t prev[4], key[4];
    int i, same = 0;

    T_EQ_INT(cq__ws_mask(prev), CQ_OK);
    for (i = 0; i < 3 * CQ__WS_MASK_POOL / 4; i++) {
        T_EQ_INT(cq__ws_mask(key), CQ_OK);
        /* Two equal 32-bit random masks in a row: 1 in 4 billion. */
        same += memcmp(prev, key, 4) == 0;
        memcpy(prev, key, 4);
    }
    T_EQ_INT(same, 0);
}

/* The close frame with 1002, as a server and (masked) as a client. */
T_CASE(close_1002_frames)
{
    static const uint8_t server[] = {0x88, 0x02, 0x03, 0xea};
    uint8_t f[8];

    T_EQ_INT(cq__ws_tx_close_1002(f, 0), 4);
    T_CHECK(memcmp(f, server, 4) == 0);
    T_EQ_INT(cq__ws_tx_close_1002(f, 1), 8);
    T_EQ_INT(f[0], 0x88);
    T_EQ_INT(f[1], 0x82);
    T_EQ_INT(f[6] ^ f[2], 0x03);
    T_EQ_INT(f[7] ^ f[3], 0xea);
}

T_SUITE(test_ws_frames_cases) = {
    {"ws_frames/utf8_accepts_well_formed", utf8_accepts_well_formed},
    {"ws_frames/utf8_refuses_ill_formed", utf8_refuses_ill_formed},
    {"ws_frames/unmask_matches_bytewise", unmask_matches_bytewise},
    {"ws_frames/head_judgements", head_judgements},
    {"ws_frames/masks_differ_across_refills", masks_differ_across_refills},
    {"ws_frames/close_1002_frames", close_1002_frames},
    {NULL, NULL},
};
