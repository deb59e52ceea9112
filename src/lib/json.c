#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/json.h"

int cq__json_precheck_members(const char *buf, size_t len, int max_depth,
                              size_t max_members)
{
    int depth = 0, in_string = 0;
    size_t i, members = 1;

    for (i = 0; i < len; i++) {
        char ch = buf[i];

        if (ch == '\0')
            return CQ_EPARSE;
        if (in_string) {
            /* The escaped byte cannot end the string, but it can be a NUL,
             * which a caller's strndup() would stop at. */
            if (ch == '\\' && ++i < len && buf[i] == '\0')
                return CQ_EPARSE;
            if (ch == '"')
                in_string = 0;
            continue;
        }
        switch (ch) {
        case '"':
            in_string = 1;
            break;
        case '[':
        case '{':
            if (++depth > max_depth)
                return CQ_EDEPTH;
            break;
        case ']':
        case '}':
            depth--;
            break;
        case ',':
            if (depth == 1 && ++members > max_members)
                return CQ_ETOOBIG;
            break;
        case '/':
            /* JSON has no comments; yajl's tree parser would take them. */
            return CQ_EPARSE;
        default:
            break;
        }
    }
    return CQ_OK;
}


int cq__json_precheck(const char *buf, size_t len, int max_depth)
{
    return cq__json_precheck_members(buf, len, max_depth, SIZE_MAX);
}


int cq__json_parse(yajl_val *out, const char *buf, size_t len, int max_depth)
{
    char err[128];
    int rc;

    *out = NULL;
    rc = cq__json_precheck(buf, len, max_depth);
    if (rc != CQ_OK)
        return rc;
    errno = 0;
    *out = yajl_tree_parse(buf, err, sizeof(err));
    if (*out == NULL)
        return errno == ENOMEM ? CQ_ENOMEM : CQ_EPARSE;
    return CQ_OK;
}


/* A validating generator whose memory comes from funcs (NULL: malloc). */
static yajl_gen gen_alloc(const yajl_alloc_funcs *funcs)
{
    yajl_gen g = yajl_gen_alloc(funcs);

    if (g != NULL)
        yajl_gen_config(g, yajl_gen_validate_utf8, 1);
    /* yajl's generator counts depth itself and fails past its own limit
     * (128); values written here come from depth-checked trees or from code,
     * so reaching it means a bug, reported as CQ_EDEPTH. */
    return g;
}


yajl_gen cq__json_gen_new(void)
{
    return gen_alloc(NULL);
}


static int gen_status(yajl_gen_status st)
{
    switch (st) {
    case yajl_gen_status_ok:
        return CQ_OK;
    case yajl_max_depth_exceeded:
        return CQ_EDEPTH;
    case yajl_gen_invalid_string:
    case yajl_gen_invalid_number:
    case yajl_gen_keys_must_be_strings:
    case yajl_gen_in_error_state:
    case yajl_gen_generation_complete:
    case yajl_gen_no_buf:
    default:
        return CQ_EINVAL;
    }
}


int cq__json_gen_strn(yajl_gen g, const char *s, size_t len)
{
    return gen_status(yajl_gen_string(g, (const unsigned char *)s, len));
}


int cq__json_gen_str(yajl_gen g, const char *s)
{
    return cq__json_gen_strn(g, s, strlen(s));
}


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
 * Appends s (len bytes) to out as the inside of a JSON string, escaped as
 * yajl_gen_string() escapes it, in one pass: plain stretches are copied
 * whole. Returns CQ_OK, CQ_EINVAL (not UTF-8 by yajl's rule) or as
 * cq__buf_add().
 */
static int escape_into(cq__buf *out, const unsigned char *s, size_t len)
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
            rc = cq__buf_add(out, s + beg, i - beg);
            if (rc == CQ_OK)
                rc = cq__buf_add(out, esc, n);
            beg = ++i;
        }
    }
    return rc == CQ_OK ? cq__buf_add(out, s + beg, i - beg) : rc;
}


int cq__json_escape(cq__buf *out, const char *s, size_t len)
{
    return escape_into(out, (const unsigned char *)s, len);
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
    rc = gen_status(st);
    if (rc == CQ_OK)
        rc = b->w.err;
    if (rc == CQ_OK)
        rc = escape_into(b->out, (const unsigned char *)s, strlen(s));
    return rc == CQ_OK ? cq__buf_add(b->out, "\"", 1) : rc;
}


/* cq__json_gen_value(), with strings written by put_string() when b (a
 * writer into a buffer) is given. */
static int gen_value(yajl_gen g, yajl_val v, cq__jwb *b)
{
    size_t i;
    int rc;

    if (v == NULL)
        return gen_status(yajl_gen_null(g));
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
        return gen_status(
            yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r)));
    case yajl_t_object:
        rc = gen_status(yajl_gen_map_open(g));
        for (i = 0; rc == CQ_OK && i < v->u.object.len; i++) {
            rc = cq__json_gen_str(g, v->u.object.keys[i]);
            if (rc == CQ_OK)
                rc = gen_value(g, v->u.object.values[i], b);
        }
        return rc == CQ_OK ? gen_status(yajl_gen_map_close(g)) : rc;
    case yajl_t_array:
        rc = gen_status(yajl_gen_array_open(g));
        for (i = 0; rc == CQ_OK && i < v->u.array.len; i++)
            rc = gen_value(g, v->u.array.values[i], b);
        return rc == CQ_OK ? gen_status(yajl_gen_array_close(g)) : rc;
    case yajl_t_true:
        return gen_status(yajl_gen_bool(g, 1));
    case yajl_t_false:
        return gen_status(yajl_gen_bool(g, 0));
    case yajl_t_null:
    case yajl_t_any:
    default:
        return gen_status(yajl_gen_null(g));
    }
}


int cq__json_gen_value(yajl_gen g, yajl_val v)
{
    return gen_value(g, v, NULL);
}


char *cq__json_gen_dup(yajl_gen g)
{
    const unsigned char *p;
    size_t n;
    char *s;

    if (yajl_gen_get_buf(g, &p, &n) != yajl_gen_status_ok)
        return NULL;
    s = malloc(n + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}


int cq__jw_init(cq__jw *w)
{
    w->g = cq__json_gen_new();
    w->err = w->g != NULL ? CQ_OK : CQ_ENOMEM;
    return w->err;
}


void cq__jw_free(cq__jw *w)
{
    if (w->g != NULL)
        yajl_gen_free(w->g);
    w->g = NULL;
}

char *cq__jw_dup_tail(const cq__jw *w, const char *tail, size_t *len)
{
    const unsigned char *p;
    size_t n, t = tail != NULL ? strlen(tail) : 0;
    char *s;

    if (w->err != CQ_OK || yajl_gen_get_buf(w->g, &p, &n) != yajl_gen_status_ok)
        return NULL;
    s = malloc(n + t + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, p, n);
    if (t > 0)
        memcpy(s + n, tail, t);
    s[n + t] = '\0';
    if (len != NULL)
        *len = n + t;
    return s;
}


char *cq__jw_dup(cq__jw *w, size_t *len)
{
    return cq__jw_dup_tail(w, NULL, len);
}


void cq__jw_latch(cq__jw *w, int rc)
{
    if (w->err == CQ_OK)
        w->err = rc;
}

/* Latches the first failure of a yajl_gen call. */
static void status(cq__jw *w, yajl_gen_status st)
{
    if (w->err == CQ_OK)
        w->err = gen_status(st);
}

void cq__jw_open(cq__jw *w)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_map_open(w->g));
}

void cq__jw_close(cq__jw *w)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_map_close(w->g));
}

void cq__jw_aopen(cq__jw *w)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_array_open(w->g));
}

void cq__jw_aclose(cq__jw *w)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_array_close(w->g));
}

void cq__jw_str(cq__jw *w, const char *s)
{
    if (w->err != CQ_OK)
        return;
    if (s == NULL)
        status(w, yajl_gen_null(w->g));
    else
        cq__jw_latch(w, cq__json_gen_str(w->g, s));
}

void cq__jw_int(cq__jw *w, int64_t v)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_integer(w->g, (long long)v));
}

void cq__jw_bool(cq__jw *w, int v)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_bool(w->g, v != 0));
}

void cq__jw_null(cq__jw *w)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_null(w->g));
}

void cq__jw_value(cq__jw *w, yajl_val v)
{
    if (w->err == CQ_OK)
        cq__jw_latch(w, gen_value(w->g, v, NULL));
}

void cq__jw_key(cq__jw *w, const char *key)
{
    if (w->err == CQ_OK)
        cq__jw_latch(w, cq__json_gen_str(w->g, key));
}

void cq__jw_kstr(cq__jw *w, const char *key, const char *s)
{
    cq__jw_key(w, key);
    cq__jw_str(w, s);
}

void cq__jw_kint(cq__jw *w, const char *key, int64_t v)
{
    cq__jw_key(w, key);
    cq__jw_int(w, v);
}

void cq__jw_kbool(cq__jw *w, const char *key, int v)
{
    cq__jw_key(w, key);
    cq__jw_bool(w, v);
}

void cq__jw_knull(cq__jw *w, const char *key)
{
    cq__jw_key(w, key);
    cq__jw_null(w);
}


/* yajl's output, appended to the writer's buffer; a failure latches. */
static void print_out(void *ctx, const char *s, size_t len)
{
    cq__jwb *b = ctx;

    if (b->w.err == CQ_OK)
        b->w.err = cq__buf_add(b->out, s, len);
}


int cq__jwb_init(cq__jwb *b, cq__buf *out)
{
    return cq__jwb_init_alloc(b, out, NULL);
}


int cq__jwb_init_alloc(cq__jwb *b, cq__buf *out, const yajl_alloc_funcs *funcs)
{
    b->out = out;
    b->w.g = gen_alloc(funcs);
    b->w.err = b->w.g != NULL ? CQ_OK : CQ_ENOMEM;
    if (b->w.err == CQ_OK)
        yajl_gen_config(b->w.g, yajl_gen_print_callback, print_out, b);
    return b->w.err;
}


void cq__jwb_str(cq__jwb *b, const char *s)
{
    if (b->w.err == CQ_OK)
        cq__jw_latch(&b->w, s != NULL ? put_string(b, s)
                                      : gen_status(yajl_gen_null(b->w.g)));
}


void cq__jwb_value(cq__jwb *b, yajl_val v)
{
    if (b->w.err == CQ_OK)
        cq__jw_latch(&b->w, gen_value(b->w.g, v, b));
}
