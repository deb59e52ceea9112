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

/*
 * What the scan looks for, and the nesting. Where it is and the key being
 * watched are run()'s own locals, so that the hot loop keeps them in
 * registers.
 */
typedef struct scan {
    int max_depth;
    int utf8; /* LEX_STRICT, or LEX_KNOWN (CQ__JSON_SCAN_UTF8). */
    const cq__json_key *keys;
    cq__json_span *spans;
    /*
     * Bit i for keys[i] not found yet; by_len[n] has bit i when keys[i] is
     * n bytes long (SCAN_LENS - 1 or more for the last), so that most keys
     * of the text are told from every wanted one by one look.
     */
    uint32_t unfound, by_len[SCAN_LENS];
    char stack[SCAN_MAX_DEPTH]; /* '{' or '[' per level; not cleared. */
} scan;


/*
 * Whether the n bytes at a and b are the same: a key of 4 to 16 bytes, the
 * usual one, by two overlapping loads from each (none past n bytes), with
 * no call.
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
 * Reads a key and its colon at p, inside an object depth deep; a top-level
 * one that is wanted (and not seen before) becomes *watch. Returns what
 * follows the colon, or NULL.
 */
static inline lex_ptr read_key(scan *s, lex_ptr p, lex_ptr end, int depth,
                               cq__json_span **watch)
{
    lex_ptr key = lex_skip_ws(p, end, LEX_WS);
    int escaped;

    if (key == end || *key != '"' ||
        (p = lex_skip_string(key, end, &escaped, s->utf8)) == NULL)
        return NULL;
    if (depth == 1) {
        /* yajl decodes keys: an escaped one could still match. */
        if (escaped)
            return NULL;
        *watch = wanted(s, key + 1, (size_t)(p - key) - 2);
    }
    p = lex_skip_ws(p, end, LEX_WS);
    return p < end && *p == ':' ? p + 1 : NULL;
}


/*
 * Scans the text from the object's opening bracket at p to end, one value
 * then what ends it (commas, closing brackets) at a time; a closing
 * bracket is its opening one plus 2 in ASCII. Returns 0 when it is all one
 * object, -1 when not (or it is too deep).
 */
static int run(scan *s, lex_ptr p, lex_ptr end)
{
    cq__json_span *watch = NULL; /* The span this top-level value fills. */
    int depth = 0, escaped, key_due = 0;
    unsigned char c;

    for (;;) {
        /* One place reads keys, so that read_key() is inlined. */
        if (key_due && (p = read_key(s, p, end, depth, &watch)) == NULL)
            return -1;
        if ((p = lex_skip_ws(p, end, LEX_WS)) == end)
            return -1;
        if (depth == 1 && watch != NULL)
            watch->p = (const char *)p;
        c = *p;
        if (c == '{' || c == '[') {
            if (depth >= s->max_depth || depth >= SCAN_MAX_DEPTH)
                return -1;
            s->stack[depth++] = (char)c;
            p = lex_skip_ws(p + 1, end, LEX_WS);
            if (p == end || *p != c + 2) {
                key_due = c == '{';
                continue;
            }
            p++;
            depth--;
        } else if ((p = c == '"' ? lex_skip_string(p, end, &escaped, s->utf8)
                                 : lex_skip_scalar(p, end)) == NULL) {
            return -1;
        }
        for (;;) {
            if (depth == 1 && watch != NULL) {
                watch->len = (size_t)((const char *)p - watch->p);
                watch = NULL;
            }
            p = lex_skip_ws(p, end, LEX_WS);
            if (depth == 0)
                return p == end ? 0 : -1;
            if (p == end)
                return -1;
            c = (unsigned char)s->stack[depth - 1];
            if (*p == ',')
                break;
            if (*p != c + 2)
                return -1;
            p++;
            depth--;
        }
        key_due = c == '{';
        p++;
    }
}


/* Readies s to look for the keys. Returns 0, or -1 for too many. */
static int start(scan *s, int max_depth, unsigned flags,
                 const cq__json_key *keys, size_t nkeys, cq__json_span *spans)
{
    size_t i;

    /* The stack is written before it is read: no need to clear it. */
    s->max_depth = max_depth;
    s->utf8 = (flags & CQ__JSON_SCAN_UTF8) != 0 ? LEX_KNOWN : LEX_STRICT;
    s->keys = keys;
    s->spans = spans;
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
    lex_ptr p = lex_skip_ws((lex_ptr)buf, (lex_ptr)buf + len, LEX_WS);
    size_t i;

    if (start(&s, max_depth, flags, keys, nkeys, spans) == 0 &&
        p < (lex_ptr)buf + len && *p == '{' &&
        run(&s, p, (lex_ptr)buf + len) == 0)
        return CQ_OK;
    for (i = 0; i < nkeys; i++) {
        spans[i].p = NULL;
        spans[i].len = 0;
    }
    return CQ_EPARSE;
}
