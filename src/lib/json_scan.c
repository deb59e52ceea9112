/*
 * The object scanner of lib/json.h: tells what a JSON object's top level
 * holds without building a tree, so that the bridge can route a frame (an
 * event, or the answer to which call) before anything is allocated. One
 * pass, no allocation, no recursion: the nesting is kept in a small stack.
 *
 * It is stricter than yajl (see cq__json_scan_object): whatever it accepts,
 * cq__json_parse() accepts too, with the same top-level keys; anything else
 * is left to cq__json_parse(), so a caller's verdict on odd input stays
 * yajl's. tests/fuzz/fuzz_json_scan.c checks exactly that.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/json.h"

/* Nesting the scanner follows; deeper input is left to the parser. */
#define SCAN_MAX_DEPTH 128

typedef const unsigned char *ptr;

/*
 * Byte classes, so that the loops over whitespace and over string bodies
 * test one table entry per byte instead of four or five ranges.
 */
#define C_WS    1 /* Space, tab, CR, LF. */
#define C_PLAIN 2 /* A string byte that needs no look: 0x20-0x7F but " \. */

static const unsigned char cls[256] = {
    ['\t'] = C_WS,    ['\n'] = C_WS, ['\r'] = C_WS,    [' '] = C_WS | C_PLAIN,
#define P4(c)                                                                  \
    [c] = C_PLAIN, [c + 1] = C_PLAIN, [c + 2] = C_PLAIN, [c + 3] = C_PLAIN
#define P16(c) P4(c), P4(c + 4), P4(c + 8), P4(c + 12)
    [0x21] = C_PLAIN, P4(0x23),      P4(0x27),         P4(0x2B),
    [0x2F] = C_PLAIN, P16(0x30),     P16(0x40),        P4(0x50),
    P4(0x54),         P4(0x58),      [0x5D] = C_PLAIN, [0x5E] = C_PLAIN,
    [0x5F] = C_PLAIN, P16(0x60),     P16(0x70),
#undef P16
#undef P4
};

static inline ptr skip_ws(ptr p, ptr end)
{
    while (p < end && (cls[*p] & C_WS))
        p++;
    return p;
}


/*
 * Past the plain bytes of a string body from p, eight at a time, then one
 * at a time by the table. In a block's mask, a byte's high bit is set when
 * it is under 0x20, a quote or a backslash (the usual zero-byte test,
 * whose borrows only run towards later bytes) or 0x80 or more, and clear
 * for every plain byte before the first such one: so on a little-endian
 * machine the lowest bit set tells where the plain bytes end.
 */
static inline ptr skip_plain(ptr p, ptr end)
{
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    uint64_t x, m;

    while (end - p >= 8) {
        memcpy(&x, p, 8);
        m = ((x - ones * 0x20) | ((x ^ (ones * '"')) - ones) |
             ((x ^ (ones * '\\')) - ones) | x) &
            highs;
        if (m != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return p + (__builtin_ctzll(m) >> 3);
#else
            break;
#endif
        }
        p += 8;
    }
    while (p < end && (cls[*p] & C_PLAIN))
        p++;
    return p;
}


/*
 * The end of the UTF-8 sequence that starts at p (a byte of 0x80 or more),
 * by RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF.
 * NULL when it is not one.
 */
static ptr utf8_end(ptr p, ptr end)
{
    unsigned c = *p, lo = 0x80, hi = 0xBF;
    int n;

    if (c >= 0xC2 && c <= 0xDF)
        n = 1;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 2;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 3;
    else
        return NULL;
    /* The second byte's range is what rules out the forms above. */
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (end - p <= n || p[1] < lo || p[1] > hi)
        return NULL;
    for (p += 2; --n > 0; p++)
        if ((*p & 0xC0) != 0x80)
            return NULL;
    return p;
}


static int is_hex(unsigned c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
           (c >= 'A' && c <= 'F');
}


/*
 * The rest of a string from p, a byte past its opening quote: as
 * skip_string().
 */
static ptr skip_string_rest(ptr p, ptr end, int *escaped)
{
    for (; p < end; p++) {
        unsigned c;

        /* Most bytes are plain ASCII: past them in a tight loop. */
        p = skip_plain(p, end);
        if (p == end)
            break;
        c = *p;
        if (c == '"')
            return p + 1;
        if (c < 0x20)
            return NULL;
        if (c >= 0x80) {
            if ((p = utf8_end(p, end)) == NULL)
                return NULL;
            p--;
        } else if (c == '\\') {
            *escaped = 1;
            if (++p == end)
                return NULL;
            if (*p == 'u') {
                if (end - p <= 4 || !is_hex(p[1]) || !is_hex(p[2]) ||
                    !is_hex(p[3]) || !is_hex(p[4]))
                    return NULL;
                p += 4;
            } else if (strchr("\"\\/bfnrt", *p) == NULL || *p == '\0') {
                return NULL;
            }
        }
    }
    return NULL;
}


/*
 * Skips the string whose opening quote is at p; returns what follows its
 * closing quote, or NULL when it is not a valid string. *escaped is set
 * when it holds an escape. Inline, for the usual string (plain ASCII only)
 * costs no call.
 */
static inline ptr skip_string(ptr p, ptr end, int *escaped)
{
    ptr q = skip_plain(p + 1, end);

    *escaped = 0;
    if (q < end && *q == '"')
        return q + 1;
    return skip_string_rest(q, end, escaped);
}


static ptr skip_digits(ptr p, ptr end)
{
    ptr start = p;

    while (p < end && *p >= '0' && *p <= '9')
        p++;
    return p > start ? p : NULL;
}


/* Skips a number, true, false or null at p; NULL when there is none. */
static ptr skip_scalar(ptr p, ptr end)
{
    const char *word = *p == 't' ? "true" : *p == 'f' ? "false" : "null";
    size_t n = strlen(word);

    if (*p == 't' || *p == 'f' || *p == 'n')
        return (size_t)(end - p) >= n && memcmp(p, word, n) == 0 ? p + n : NULL;
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0')
        p++;
    else if ((p = skip_digits(p, end)) == NULL)
        return NULL;
    if (p < end && *p == '.' && (p = skip_digits(p + 1, end)) == NULL)
        return NULL;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        p = skip_digits(p, end);
    }
    return p;
}


/* The scanner's state: where it is, the nesting, the key being watched. */
typedef struct scan {
    ptr p, end;
    int depth, max_depth;
    char stack[SCAN_MAX_DEPTH]; /* '{' or '[' per level. */
    const char *const *keys;
    size_t nkeys;
    cq__json_span *spans;
    cq__json_span *watch; /* The span the current top-level value fills. */
} scan;


/*
 * Reads a key and its colon at s->p, inside an object; a top-level one that
 * is wanted (and not seen before) becomes watched. Returns 0, or -1.
 */
static int read_key(scan *s)
{
    ptr key;
    int escaped;
    size_t i, n;

    s->p = skip_ws(s->p, s->end);
    key = s->p;
    if (key == s->end || *key != '"' ||
        (s->p = skip_string(key, s->end, &escaped)) == NULL)
        return -1;
    if (s->depth == 1) {
        /* yajl decodes keys: an escaped one could still match. */
        if (escaped)
            return -1;
        n = (size_t)(s->p - key) - 2;
        /* The key has no NUL (it is valid JSON): strncmp stops in time. */
        for (i = 0; i < s->nkeys; i++)
            if (s->spans[i].p == NULL &&
                (n == 0 || s->keys[i][0] == (char)key[1]) &&
                strncmp(s->keys[i], (const char *)key + 1, n) == 0 &&
                s->keys[i][n] == '\0')
                break;
        s->watch = i < s->nkeys ? &s->spans[i] : NULL;
    }
    s->p = skip_ws(s->p, s->end);
    if (s->p == s->end || *s->p != ':')
        return -1;
    s->p = skip_ws(s->p + 1, s->end);
    if (s->watch != NULL && s->depth == 1)
        s->watch->p = (const char *)s->p;
    return 0;
}


/*
 * Goes past the end of a value: commas, closing brackets. Returns 1 when a
 * value is due next, 0 when the text ended well, -1 when it is not JSON.
 */
static int after_value(scan *s)
{
    for (;;) {
        if (s->depth == 1 && s->watch != NULL) {
            s->watch->len = (size_t)((const char *)s->p - s->watch->p);
            s->watch = NULL;
        }
        s->p = skip_ws(s->p, s->end);
        if (s->depth == 0)
            return s->p == s->end ? 0 : -1;
        if (s->p == s->end)
            return -1;
        if (*s->p == ',') {
            s->p++;
            return s->stack[s->depth - 1] == '{' && read_key(s) != 0 ? -1 : 1;
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

    s->p = skip_ws(s->p, s->end);
    if (s->p == s->end)
        return -1;
    open = (char)*s->p;
    if (open == '"') {
        s->p = skip_string(s->p, s->end, &escaped);
    } else if (open != '{' && open != '[') {
        s->p = skip_scalar(s->p, s->end);
    } else {
        if (s->depth >= s->max_depth || s->depth >= SCAN_MAX_DEPTH)
            return -1;
        s->stack[s->depth++] = open;
        s->p = skip_ws(s->p + 1, s->end);
        if (s->p < s->end && *s->p == (open == '{' ? '}' : ']')) {
            s->p++;
            s->depth--;
        } else {
            return open == '{' && read_key(s) != 0 ? -1 : 1;
        }
    }
    return s->p == NULL ? -1 : after_value(s);
}


int cq__json_scan_object(const char *buf, size_t len, int max_depth,
                         const char *const *keys, size_t nkeys,
                         cq__json_span *spans)
{
    scan s;
    size_t i;
    int rc;

    memset(&s, 0, sizeof(s));
    s.p = skip_ws((ptr)buf, (ptr)buf + len);
    s.end = (ptr)buf + len;
    s.max_depth = max_depth;
    s.keys = keys;
    s.nkeys = nkeys;
    s.spans = spans;
    for (i = 0; i < nkeys; i++) {
        spans[i].p = NULL;
        spans[i].len = 0;
    }
    if (s.p == s.end || *s.p != '{')
        return CQ_EPARSE;
    while ((rc = read_value(&s)) == 1)
        ;
    if (rc == 0)
        return CQ_OK;
    for (i = 0; i < nkeys; i++) {
        spans[i].p = NULL;
        spans[i].len = 0;
    }
    return CQ_EPARSE;
}
