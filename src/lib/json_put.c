/*
 * json_put: JSON straight into a buffer (lib/json_put.h). Strings are
 * escaped a word or 32 bytes at a time rather than through
 * yajl_gen_string(), which copies them a byte at a time and was most of the
 * cost of a large answer; the structure around them is written here too, so
 * that a document costs no generator at all.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/json_put.h"

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


/* Past the bound: what out holds past b->from goes to the sink, then p
 * either goes there too (larger than the bound) or into out. */
int cq__jput_hand_on(cq__jput *b, const void *p, size_t n)
{
    const cq__json_sink *k = b->sink;
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


/* 1 for the ASCII bytes that go into a JSON string as they are: all but
 * control characters, '"' (0x22) and '\\' (0x5c). */
static const unsigned char plain_ascii[256] = {
    [0x20 ... 0x21] = 1, [0x23 ... 0x5b] = 1, [0x5d ... 0x7f] = 1};


/*
 * Appends s (len bytes) to b's output as the inside of a JSON string,
 * escaped as yajl_gen_string() escapes it, in one pass: plain stretches are
 * copied whole. Returns CQ_OK, CQ_EINVAL (not UTF-8 by yajl's rule) or as
 * cq__jput_add().
 */
static int escape_into(cq__jput *b, const unsigned char *s, size_t len)
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
        } else if (plain_ascii[s[i]]) {
            /* Plain ASCII the word scan left (a short text, a tail) goes
             * byte by byte here rather than one byte per turn, a table
             * look-up each. */
            do
                i++;
            while (i < len && plain_ascii[s[i]]);
        } else {
            n = escape_of(s[i], esc);
            rc = cq__jput_add(b, s + beg, i - beg);
            if (rc == CQ_OK)
                rc = cq__jput_add(b, esc, n);
            beg = ++i;
        }
    }
    return rc == CQ_OK ? cq__jput_add(b, s + beg, i - beg) : rc;
}


void cq__jput_init(cq__jput *w, cq__buf *out, const cq__json_sink *sink)
{
    w->out = out;
    w->sink = sink;
    w->from = out->len;
    w->limit = sink != NULL && sink->bound < SIZE_MAX - out->len
                   ? out->len + sink->bound
                   : SIZE_MAX;
}


int cq__json_put_str(cq__jput *w, const char *s)
{
    int rc;

    if (s == NULL)
        return cq__jput_add(w, "null", 4);
    rc = cq__jput_add(w, "\"", 1);
    if (rc == CQ_OK)
        rc = escape_into(w, (const unsigned char *)s, strlen(s));
    return rc == CQ_OK ? cq__jput_add(w, "\"", 1) : rc;
}


int cq__json_put_key(cq__jput *w, char sep, const char *key)
{
    char text[40];
    size_t n = 0, i;
    int rc = CQ_OK;

    /* A short plain key (most are) goes in one append with its quotes,
     * separator and colon; any other through cq__json_put_str(). */
    if (sep != '\0')
        text[n++] = sep;
    text[n++] = '"';
    for (i = 0; key[i] != '\0' && n < sizeof(text) - 2 &&
                plain_ascii[(unsigned char)key[i]];
         i++)
        text[n++] = key[i];
    if (key[i] == '\0') {
        memcpy(text + n, "\":", 2);
        return cq__jput_add(w, text, n + 2);
    }
    if (sep != '\0')
        rc = cq__jput_add(w, &sep, 1);
    if (rc == CQ_OK)
        rc = cq__json_put_str(w, key);
    return rc == CQ_OK ? cq__jput_add(w, ":", 1) : rc;
}


int cq__json_put_int(cq__jput *w, int64_t v)
{
    char digits[CQ__UINT_TEXT], *p;

    /* The magnitude as unsigned: INT64_MIN has no positive int64_t. */
    p = cq__buf_uint_text(digits, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
    if (v < 0)
        *--p = '-';
    return cq__jput_add(w, p, (size_t)(digits + sizeof(digits) - p));
}


int cq__json_put_bool(cq__jput *w, int v)
{
    return v ? cq__jput_add(w, "true", 4) : cq__jput_add(w, "false", 5);
}


/* Appends the members of object v, or the elements of array v, between
 * open and close (a bracket each). */
static int put_container(cq__jput *w, yajl_val v, int depth, char open,
                         char close)
{
    int is_obj = v->type == yajl_t_object;
    size_t i, n = is_obj ? v->u.object.len : v->u.array.len;
    int rc;

    /* yajl_gen counts the container it opens and refuses the 128th level. */
    if (depth + 1 >= YAJL_MAX_DEPTH)
        return CQ_EDEPTH;
    rc = cq__jput_add(w, &open, 1);
    for (i = 0; rc == CQ_OK && i < n; i++) {
        if (is_obj)
            rc = cq__json_put_key(w, i > 0 ? ',' : '\0', v->u.object.keys[i]);
        else if (i > 0)
            rc = cq__jput_add(w, ",", 1);
        if (rc == CQ_OK)
            rc = cq__json_put_value(
                w, is_obj ? v->u.object.values[i] : v->u.array.values[i],
                depth + 1);
    }
    return rc == CQ_OK ? cq__jput_add(w, &close, 1) : rc;
}


int cq__json_put_value(cq__jput *w, yajl_val v, int depth)
{
    if (v == NULL)
        return cq__jput_add(w, "null", 4);
    switch (v->type) {
    case yajl_t_string:
        return cq__json_put_str(w, v->u.string);
    case yajl_t_number:
        /* Its text as received, as cq__json_gen_value() writes it. */
        return cq__jput_add(w, v->u.number.r, strlen(v->u.number.r));
    case yajl_t_object:
        return put_container(w, v, depth, '{', '}');
    case yajl_t_array:
        return put_container(w, v, depth, '[', ']');
    case yajl_t_true:
        return cq__json_put_bool(w, 1);
    case yajl_t_false:
        return cq__json_put_bool(w, 0);
    case yajl_t_null:
    case yajl_t_any:
    default:
        return cq__jput_add(w, "null", 4);
    }
}
