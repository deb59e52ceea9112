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
#include "lib/json_lex.h"

/* Nesting the scanner follows; deeper input is left to the parser. */
#define SCAN_MAX_DEPTH 128

/* The scanner's state: where it is, the nesting, the key being watched. */
typedef struct scan {
    lex_ptr p, end;
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
    lex_ptr key;
    int escaped;
    size_t i, n;

    s->p = lex_skip_ws(s->p, s->end, LEX_WS);
    key = s->p;
    if (key == s->end || *key != '"' ||
        (s->p = lex_skip_string(key, s->end, &escaped, 0)) == NULL)
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
    s->p = lex_skip_ws(s->p, s->end, LEX_WS);
    if (s->p == s->end || *s->p != ':')
        return -1;
    s->p = lex_skip_ws(s->p + 1, s->end, LEX_WS);
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
        s->p = lex_skip_ws(s->p, s->end, LEX_WS);
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

    s->p = lex_skip_ws(s->p, s->end, LEX_WS);
    if (s->p == s->end)
        return -1;
    open = (char)*s->p;
    if (open == '"') {
        s->p = lex_skip_string(s->p, s->end, &escaped, 0);
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
    s.p = lex_skip_ws((lex_ptr)buf, (lex_ptr)buf + len, LEX_WS);
    s.end = (lex_ptr)buf + len;
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
