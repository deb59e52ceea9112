/*
 * The object scanner of lib/json.h: tells what a JSON object's top level
 * holds without building a tree, so that the bridge can route a frame (an
 * event, or the answer to which call) before anything is allocated. One
 * pass, no allocation, no recursion: the nesting is kept in a small stack.
 *
 * It is stricter than yajl (see cq__json_scan_object): whatever it accepts,
 * cq__json_parse() accepts too, with the same top-level keys; anything else
 * is left to cq__json_parse(), so a caller's verdict on odd input stays
 * yajl's. tests/fuzz/fuzz_json_scan.c checks exactly that. Told that the
 * text is UTF-8 already (CQ__JSON_SCAN_UTF8: a WebSocket text message), it
 * does not check its strings' UTF-8 again: yajl's looser rule takes every
 * strictly valid sequence.
 *
 * It runs on every frame the bridge receives, so each key of the text is
 * told from the wanted ones by its length first (a table made once per
 * call), and a likely match is compared without a call.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/json.h"
#include "lib/json_lex.h"

/* Nesting the scanner follows; deeper input is left to the parser. */
#define SCAN_MAX_DEPTH 128

/* Key lengths told apart by by_len[]; longer ones share the last entry. */
#define SCAN_LENS 32

/* What read_value() and after_value() return besides 0 and -1. */
#define VALUE_DUE 1 /* A value is due next. */
#define KEY_DUE   2 /* A key, then a value. */

/* The scanner's state: where it is, the nesting, the key being watched. */
typedef struct scan {
    lex_ptr p, end;
    int depth, max_depth;
    int utf8; /* LEX_STRICT, or LEX_KNOWN (CQ__JSON_SCAN_UTF8). */
    const cq__json_key *keys;
    cq__json_span *spans;
    cq__json_span *watch; /* The span the current top-level value fills. */
    /*
     * Bit i for keys[i] not found yet; by_len[n] has bit i when keys[i] is
     * n bytes long (SCAN_LENS - 1 or more for the last), so that most keys
     * of the text are told from every wanted one by one look.
     */
    uint32_t unfound, by_len[SCAN_LENS];
    char stack[SCAN_MAX_DEPTH]; /* '{' or '[' per level; not cleared. */
} scan;


/*
 * Goes past c at s->p, whitespace before it allowed; returns 1, or 0 when
 * something else comes. Compact JSON has no whitespace: c is tried first.
 */
static inline int expect(scan *s, unsigned char c)
{
    lex_ptr p = s->p;

    if (p < s->end && *p == c) {
        s->p = p + 1;
        return 1;
    }
    p = lex_skip_ws(p, s->end, LEX_WS);
    if (p < s->end && *p == c) {
        s->p = p + 1;
        return 1;
    }
    return 0;
}


/*
 * Whether the n bytes at a and b are the same. Both have a byte more after
 * them (a key's closing quote, a name's NUL): a key of 4 to 16 bytes, the
 * usual one, is told by two overlapping loads from each, without a call.
 */
static inline int same(const char *a, const char *b, size_t n)
{
    uint64_t x[4];
    uint32_t y[4];

    if (n >= 8 && n <= 16) {
        memcpy(&x[0], a, 8);
        memcpy(&x[1], b, 8);
        memcpy(&x[2], a + n - 8, 8);
        memcpy(&x[3], b + n - 8, 8);
        return ((x[0] ^ x[1]) | (x[2] ^ x[3])) == 0;
    }
    if (n >= 4 && n < 8) {
        memcpy(&y[0], a, 4);
        memcpy(&y[1], b, 4);
        memcpy(&y[2], a + n - 4, 4);
        memcpy(&y[3], b + n - 4, 4);
        return ((y[0] ^ y[1]) | (y[2] ^ y[3])) == 0;
    }
    return memcmp(a, b, n) == 0;
}


/*
 * The span of the wanted key of n bytes at name that has none yet, or
 * NULL; it is then found.
 */
static inline cq__json_span *wanted(scan *s, lex_ptr name, size_t n)
{
    uint32_t m = s->by_len[n < SCAN_LENS ? n : SCAN_LENS - 1] & s->unfound;

    for (; m != 0; m &= m - 1) {
        int i = __builtin_ctz(m);

        if (s->keys[i].len == n &&
            same(s->keys[i].name, (const char *)name, n)) {
            s->unfound &= ~((uint32_t)1 << i);
            return &s->spans[i];
        }
    }
    return NULL;
}


/*
 * Reads a key and its colon at s->p, inside an object; a top-level one that
 * is wanted (and not seen before) becomes watched. Returns VALUE_DUE, or -1.
 */
static int read_key(scan *s)
{
    lex_ptr key;
    int escaped;

    if (!expect(s, '"'))
        return -1;
    key = s->p - 1;
    if ((s->p = lex_skip_string(key, s->end, &escaped, s->utf8)) == NULL)
        return -1;
    if (s->depth == 1) {
        /* yajl decodes keys: an escaped one could still match. */
        if (escaped)
            return -1;
        s->watch = wanted(s, key + 1, (size_t)(s->p - key) - 2);
    }
    return expect(s, ':') ? VALUE_DUE : -1;
}


/*
 * Goes past the end of a value: commas, closing brackets. Returns
 * VALUE_DUE or KEY_DUE, 0 when the text ended well, -1 when it is not JSON.
 */
static int after_value(scan *s)
{
    for (;;) {
        if (s->depth == 1 && s->watch != NULL) {
            s->watch->len = (size_t)((const char *)s->p - s->watch->p);
            s->watch = NULL;
        }
        s->p = lex_skip_ws(s->p, s->end, LEX_WS);
        if (s->depth == 0)
            return s->p == s->end ? 0 : -1;
        if (s->p == s->end)
            return -1;
        if (*s->p == ',') {
            s->p++;
            return s->stack[s->depth - 1] == '{' ? KEY_DUE : VALUE_DUE;
        }
        if (*s->p != (s->stack[s->depth - 1] == '{' ? '}' : ']'))
            return -1;
        s->p++;
        s->depth--;
    }
}


/*
 * Reads one value at s->p (an opening bracket starts a level); returns as
 * after_value().
 */
static int read_value(scan *s)
{
    int escaped;
    char open;

    s->p = lex_skip_ws(s->p, s->end, LEX_WS);
    if (s->p == s->end)
        return -1;
    /* At depth 1, every value is a top-level one. */
    if (s->depth == 1 && s->watch != NULL)
        s->watch->p = (const char *)s->p;
    open = (char)*s->p;
    if (open == '"') {
        s->p = lex_skip_string(s->p, s->end, &escaped, s->utf8);
    } else if (open != '{' && open != '[') {
        s->p = lex_skip_scalar(s->p, s->end);
    } else {
        if (s->depth >= s->max_depth || s->depth >= SCAN_MAX_DEPTH)
            return -1;
        s->stack[s->depth++] = open;
        s->p = lex_skip_ws(s->p + 1, s->end, LEX_WS);
        if (s->p < s->end && *s->p == (open == '{' ? '}' : ']')) {
            s->p++;
            s->depth--;
        } else {
            return open == '{' ? KEY_DUE : VALUE_DUE;
        }
    }
    return s->p == NULL ? -1 : after_value(s);
}


/* Readies s to scan buf for the keys. Returns 0, or -1 for too many. */
static int start(scan *s, const char *buf, size_t len, int max_depth,
                 unsigned flags, const cq__json_key *keys, size_t nkeys,
                 cq__json_span *spans)
{
    size_t i;

    /* The stack is written before it is read: no need to clear it. */
    s->end = (lex_ptr)buf + len;
    s->p = (lex_ptr)buf;
    s->depth = 0;
    s->max_depth = max_depth;
    s->utf8 = (flags & CQ__JSON_SCAN_UTF8) != 0 ? LEX_KNOWN : LEX_STRICT;
    s->keys = keys;
    s->spans = spans;
    s->watch = NULL;
    memset(s->by_len, 0, sizeof(s->by_len));
    for (i = 0; i < nkeys; i++) {
        spans[i].p = NULL;
        spans[i].len = 0;
        if (i < CQ__JSON_SCAN_MAX_KEYS)
            s->by_len[keys[i].len < SCAN_LENS ? keys[i].len : SCAN_LENS - 1] |=
                (uint32_t)1 << i;
    }
    s->unfound = nkeys < 32 ? ((uint32_t)1 << nkeys) - 1 : UINT32_MAX;
    return nkeys <= CQ__JSON_SCAN_MAX_KEYS ? 0 : -1;
}


int cq__json_scan_object(const char *buf, size_t len, int max_depth,
                         unsigned flags, const cq__json_key *keys, size_t nkeys,
                         cq__json_span *spans)
{
    scan s;
    size_t i;
    int rc = -1;

    if (start(&s, buf, len, max_depth, flags, keys, nkeys, spans) == 0 &&
        expect(&s, '{')) {
        /* The object's opening bracket is a value's. */
        s.p--;
        while ((rc = read_value(&s)) == KEY_DUE || rc == VALUE_DUE)
            if (rc == KEY_DUE && read_key(&s) != VALUE_DUE) {
                rc = -1;
                break;
            }
    }
    if (rc == 0)
        return CQ_OK;
    for (i = 0; i < nkeys; i++) {
        spans[i].p = NULL;
        spans[i].len = 0;
    }
    return CQ_EPARSE;
}
