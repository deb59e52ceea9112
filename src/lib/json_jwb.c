/*
 * json_jwb: the direct writer (cq__jwb, lib/json.h). Strings are escaped
 * straight into the writer's buffer, a word or sixteen bytes at a time,
 * rather than through yajl_gen_string(), which copies them a byte at a time
 * and was most of the cost of a large answer; yajl writes only the
 * structure around them. The escaper is also cq__json_escape(), for the
 * params builder (lib/json_put.h), so that both write strings alike.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/json.h"

/* Eight bytes, one in each byte of a word. */
#define BYTES(c) (0x0101010101010101ULL * (c))

/* Whether some byte of x is 0 (exact as a test of the whole word). */
static uint64_t has_zero(uint64_t x)
{
    return (x - BYTES(1)) & ~x & BYTES(0x80);
}


/*
 * Nonzero when some byte of the 8 at p needs more than a copy in a JSON
 * string: a control character, '"', '\\' or part of a multi-byte sequence.
 * The test is made on the whole word at once.
 */
static uint64_t word_special(const unsigned char *p)
{
    uint64_t x;

    memcpy(&x, p, sizeof(x));
    return (x & BYTES(0x80)) | ((x - BYTES(0x20)) & ~x & BYTES(0x80)) |
           has_zero(x ^ BYTES('"')) | has_zero(x ^ BYTES('\\'));
}


/* Sixteen bytes as one vector (GCC and clang vector extensions). */
typedef unsigned char v16 __attribute__((vector_size(16)));

/*
 * Nonzero when some byte of the 32 at p needs more than a copy, as
 * word_special(). The compilers turn the vector compares into SIMD
 * instructions (SSE2, NEON), a few for 16 bytes.
 */
static uint64_t block_special(const unsigned char *p)
{
    v16 a, b, m;
    uint64_t h[2];

    memcpy(&a, p, sizeof(a));
    memcpy(&b, p + 16, sizeof(b));
    m = (v16)((a < 0x20) | (a > 0x7f) | (a == '"') | (a == '\\') | (b < 0x20) |
              (b > 0x7f) | (b == '"') | (b == '\\'));
    memcpy(h, &m, sizeof(h));
    return h[0] | h[1];
}


/*
 * How many of the len bytes at s, counted in whole words from the start, go
 * into a JSON string as they are: long plain texts are passed over 32 bytes
 * a turn, at a small part of the cost of a byte-by-byte scan.
 */
static size_t plain_run(const unsigned char *s, size_t len)
{
    size_t i = 0;

    while (len - i >= 32 && block_special(s + i) == 0)
        i += 32;
    while (len - i >= 8 && word_special(s + i) == 0)
        i += 8;
    return i;
}


/*
 * The length of the UTF-8 sequence at s (left bytes remain) by the rule of
 * yajl_gen_string()'s check, so that both accept the same strings: a lead
 * byte and as many continuation bytes as it announces. Returns 0 when
 * malformed.
 */
static size_t utf8_len(const unsigned char *s, size_t left)
{
    size_t n, i;

    /* Three bytes first, as most CJK text is: one test each. */
    if (s[0] >> 4 == 0xe && left >= 3 && s[1] >> 6 == 0x2 && s[2] >> 6 == 0x2)
        return 3;
    if (s[0] >> 5 == 0x6)
        n = 2;
    else if (s[0] >> 4 == 0xe)
        n = 3;
    else if (s[0] >> 3 == 0x1e)
        n = 4;
    else
        return 0;
    if (n > left)
        return 0;
    for (i = 1; i < n; i++)
        if (s[i] >> 6 != 0x2)
            return 0;
    return n;
}


/*
 * The escape of the ASCII byte c in a JSON string, as yajl writes it (short
 * forms, else \u00XX for control characters), in esc; its length, or 0 when
 * c goes as it is.
 */
static size_t escape_of(unsigned char c, char esc[6])
{
    static const char hex[] = "0123456789ABCDEF", shorts[] = "r\rn\nf\fb\bt\t";
    const char *p;

    if (c >= 0x20 && c != '"' && c != '\\')
        return 0;
    esc[0] = '\\';
    if (c == '"' || c == '\\') {
        esc[1] = (char)c;
        return 2;
    }
    for (p = shorts; *p != '\0'; p += 2)
        if ((unsigned char)p[1] == c) {
            esc[1] = p[0];
            return 2;
        }
    memcpy(esc + 1, "u00", 3);
    esc[4] = hex[c >> 4];
    esc[5] = hex[c & 0xf];
    return 6;
}


/*
 * jwb_add() when out would hold more than the sink's bound: what out holds
 * past b->from goes to the sink, then p either goes there too (larger than
 * the bound) or into out. Returns as jwb_add().
 */
static int hand_on(cq__jwb *b, const void *p, size_t n)
{
    const cq__jwb_sink *k = b->sink;
    cq__buf *out = b->out;
    int rc = CQ_OK;

    if (out->len > b->from) {
        rc = k->put(k->arg, out->data + b->from, out->len - b->from);
        out->len = b->from;
        out->data[out->len] = '\0';
    }
    if (rc == CQ_OK && n > k->bound)
        return k->put(k->arg, p, n);
    return rc == CQ_OK ? cq__buf_add(out, p, n) : rc;
}


/*
 * Appends n bytes at p to b's output: to out, or through b's sink (see
 * cq__jwb_sink) when out would hold more than its bound. Inline, with one
 * test, for a small answer makes a dozen of these (a sum that wraps goes to
 * cq__buf_add(), which refuses it). Returns CQ_OK, or as cq__buf_add() or
 * the sink's put().
 */
static inline int jwb_add(cq__jwb *b, const void *p, size_t n)
{
    if (b->out->len + n <= b->limit)
        return cq__buf_add(b->out, p, n);
    return hand_on(b, p, n);
}


/*
 * Appends s (len bytes) to b's output as the inside of a JSON string,
 * escaped as yajl_gen_string() escapes it, in one pass: plain stretches are
 * copied whole. Returns CQ_OK, CQ_EINVAL (not UTF-8 by yajl's rule) or as
 * jwb_add().
 */
static int escape_into(cq__jwb *b, const unsigned char *s, size_t len)
{
    size_t i = 0, beg = 0, n;
    char esc[6];
    int rc = CQ_OK;

    while (rc == CQ_OK && (i += plain_run(s + i, len - i)) < len) {
        if (s[i] >= 0x80) {
            /* A run of non-ASCII text (CJK, say) is checked character by
             * character without a word scan between them. */
            do {
                if ((n = utf8_len(s + i, len - i)) == 0)
                    return CQ_EINVAL;
                i += n;
            } while (i < len && s[i] >= 0x80);
        } else if (s[i] >= 0x20 && s[i] != '"' && s[i] != '\\') {
            /* Plain ASCII the word scan left (a short text, a tail) goes
             * byte by byte here rather than one byte per turn. */
            do
                i++;
            while (i < len && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' &&
                   s[i] != '\\');
        } else {
            n = escape_of(s[i], esc);
            rc = jwb_add(b, s + beg, i - beg);
            if (rc == CQ_OK)
                rc = jwb_add(b, esc, n);
            beg = ++i;
        }
    }
    return rc == CQ_OK ? jwb_add(b, s + beg, i - beg) : rc;
}


int cq__json_escape(cq__buf *out, const char *s, size_t len)
{
    cq__jwb b = {.out = out, .from = out->len, .limit = SIZE_MAX};

    return escape_into(&b, (const unsigned char *)s, len);
}


/*
 * Writes the string value s straight into b->out. yajl still writes what
 * goes before it and the opening quote, so that its own state (commas,
 * depth) stays right: yajl_gen_number() prints its text as given, and yajl
 * has no call that appends raw bytes. Returns as cq__json_gen_str(), or as
 * cq__buf_add().
 */
static int put_string(cq__jwb *b, const char *s)
{
    yajl_gen_status st = yajl_gen_number(b->w.g, "\"", 1);
    int rc;

    if (st == yajl_gen_keys_must_be_strings)
        return cq__json_gen_str(b->w.g, s); /* A key: yajl writes it. */
    rc = cq__json_gen_status(st);
    if (rc == CQ_OK)
        rc = b->w.err;
    if (rc == CQ_OK)
        rc = escape_into(b, (const unsigned char *)s, strlen(s));
    return rc == CQ_OK ? jwb_add(b, "\"", 1) : rc;
}


/* cq__json_gen_value(), with strings written by put_string() when b (a
 * writer into a buffer) is given. */
static int gen_value(yajl_gen g, yajl_val v, cq__jwb *b)
{
    size_t i;
    int rc;

    if (v == NULL)
        return cq__json_gen_status(yajl_gen_null(g));
    switch (v->type) {
    case yajl_t_string:
        return b != NULL ? put_string(b, v->u.string)
                         : cq__json_gen_str(g, v->u.string);
    case yajl_t_number:
        /*
         * The tree keeps each number's original text, which the parser has
         * already validated, so it can be written back unchanged: this keeps
         * ids above 2^63 and decimals exactly as received.
         */
        return cq__json_gen_status(
            yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r)));
    case yajl_t_object:
        rc = cq__json_gen_status(yajl_gen_map_open(g));
        for (i = 0; rc == CQ_OK && i < v->u.object.len; i++) {
            rc = cq__json_gen_str(g, v->u.object.keys[i]);
            if (rc == CQ_OK)
                rc = gen_value(g, v->u.object.values[i], b);
        }
        return rc == CQ_OK ? cq__json_gen_status(yajl_gen_map_close(g)) : rc;
    case yajl_t_array:
        rc = cq__json_gen_status(yajl_gen_array_open(g));
        for (i = 0; rc == CQ_OK && i < v->u.array.len; i++)
            rc = gen_value(g, v->u.array.values[i], b);
        return rc == CQ_OK ? cq__json_gen_status(yajl_gen_array_close(g)) : rc;
    case yajl_t_true:
        return cq__json_gen_status(yajl_gen_bool(g, 1));
    case yajl_t_false:
        return cq__json_gen_status(yajl_gen_bool(g, 0));
    case yajl_t_null:
    case yajl_t_any:
    default:
        return cq__json_gen_status(yajl_gen_null(g));
    }
}


int cq__json_gen_value(yajl_gen g, yajl_val v)
{
    return gen_value(g, v, NULL);
}


/* yajl's output, appended to the writer's buffer; a failure latches. */
static void print_out(void *ctx, const char *s, size_t len)
{
    cq__jwb *b = ctx;

    if (b->w.err == CQ_OK)
        b->w.err = jwb_add(b, s, len);
}


int cq__jwb_init_with(cq__jwb *b, cq__buf *out, const cq__jwb_sink *sink,
                      const yajl_alloc_funcs *funcs)
{
    b->out = out;
    b->sink = sink;
    b->from = out->len;
    b->limit = sink != NULL && sink->bound < SIZE_MAX - out->len
                   ? out->len + sink->bound
                   : SIZE_MAX;
    b->w.g = cq__json_gen_alloc(funcs);
    b->w.err = b->w.g != NULL ? CQ_OK : CQ_ENOMEM;
    if (b->w.err == CQ_OK)
        yajl_gen_config(b->w.g, yajl_gen_print_callback, print_out, b);
    return b->w.err;
}


void cq__jwb_str(cq__jwb *b, const char *s)
{
    if (b->w.err == CQ_OK)
        cq__jw_latch(&b->w, s != NULL
                                ? put_string(b, s)
                                : cq__json_gen_status(yajl_gen_null(b->w.g)));
}


void cq__jwb_value(cq__jwb *b, yajl_val v)
{
    if (b->w.err == CQ_OK)
        cq__jw_latch(&b->w, gen_value(b->w.g, v, b));
}
