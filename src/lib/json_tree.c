/*
 * The tree builder for events and API answers: a parser of its own (on the
 * lexing primitives of lib/json_lex.h) filling yajl_val nodes in an arena
 * (lib/arena.h). It takes exactly what yajl 2.1's parser takes as this
 * library configured it (no comments, no trailing garbage, UTF-8 checked as
 * yajl's lexer checks it, a NUL byte invalid) and decodes escapes as yajl
 * does, lone surrogates included; the depth is counted as containers open,
 * so the first fault in the text decides between CQ_EPARSE and CQ_EDEPTH,
 * as it did when yajl's callback parser built the tree. No recursion: the
 * open containers are kept in a stack of max_depth frames. The nodes are
 * laid out exactly as yajl_tree_parse() lays them out, so everything that
 * reads a tree reads these; only the freeing differs (the arena, never
 * yajl_tree_free()). tests/fuzz/fuzz_json_tree.c holds it to yajl.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/arena.h"
#include "lib/json.h"
#include "lib/json_lex.h"

/* yajl's whitespace: RFC 8259's four bytes, and \v and \f. */
#define WS (LEX_WS | LEX_VF)

/* A container being filled, with the room its arrays have. */
typedef struct frame {
    yajl_val v;
    size_t cap;
} frame;

typedef struct parser {
    cq__arena *a;
    lex_ptr p, end; /* What is left of the text. */
    frame *stack;
    int depth, max;
    const char *key; /* The key whose value comes next, in an object. */
    int inplace;     /* Strings without escapes end in the text. */
    yajl_val root;
} parser;

/* Returns a fresh node of type t, or NULL. */
static inline yajl_val node(parser *ps, yajl_type t)
{
    yajl_val v = cq__arena_alloc(ps->a, sizeof(*v));

    if (v != NULL) {
        memset(v, 0, sizeof(*v));
        v->type = t;
    }
    return v;
}


/* Grows an array of n elements to cap (the old one stays in the arena). */
static void *grow(parser *ps, void *old, size_t n, size_t cap, size_t size)
{
    void *p = cq__arena_alloc(ps->a, cap * size);

    if (p != NULL && n > 0)
        memcpy(p, old, n * size);
    return p;
}


/*
 * Doubles the room of the container f fills (8 at first), out of the way of
 * the usual add(), which finds room. Returns CQ_OK or CQ_ENOMEM.
 */
static int make_room(parser *ps, frame *f)
{
    yajl_val c = f->v;
    size_t cap = f->cap ? f->cap * 2 : 8;

    if (c->type == yajl_t_object) {
        size_t n = c->u.object.len;

        c->u.object.keys = grow(ps, (void *)c->u.object.keys, n, cap,
                                sizeof(*c->u.object.keys));
        c->u.object.values =
            grow(ps, c->u.object.values, n, cap, sizeof(yajl_val));
        if (c->u.object.keys == NULL || c->u.object.values == NULL)
            return CQ_ENOMEM;
    } else {
        c->u.array.values =
            grow(ps, c->u.array.values, c->u.array.len, cap, sizeof(yajl_val));
        if (c->u.array.values == NULL)
            return CQ_ENOMEM;
    }
    f->cap = cap;
    return CQ_OK;
}


/*
 * Attaches v to the container being filled, or makes it the root. Returns
 * CQ_OK or CQ_ENOMEM (also when v is NULL, a node that could not be made).
 */
static inline int add(parser *ps, yajl_val v)
{
    frame *f;
    yajl_val c;
    size_t n;

    if (v == NULL)
        return CQ_ENOMEM;
    if (ps->depth == 0) {
        ps->root = v;
        return CQ_OK;
    }
    f = &ps->stack[ps->depth - 1];
    c = f->v;
    if (c->type == yajl_t_object) {
        n = c->u.object.len;
        if (n == f->cap && make_room(ps, f) != CQ_OK)
            return CQ_ENOMEM;
        c->u.object.keys[n] = ps->key;
        c->u.object.values[n] = v;
        c->u.object.len = n + 1;
    } else {
        n = c->u.array.len;
        if (n == f->cap && make_room(ps, f) != CQ_OK)
            return CQ_ENOMEM;
        c->u.array.values[n] = v;
        c->u.array.len = n + 1;
    }
    return CQ_OK;
}


/* The four hex digits at s (the lexer has checked them) as a number. */
static unsigned hex4(lex_ptr s)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        unsigned c = s[i];

        v = v * 16 + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}


/*
 * Writes code point c at d as yajl's encoder does (up to four bytes, any
 * value below 0x200000, surrogates too); returns the end.
 */
static char *put_utf8(char *d, unsigned c)
{
    if (c < 0x80) {
        *d++ = (char)c;
    } else if (c < 0x800) {
        *d++ = (char)(0xC0 | c >> 6);
        *d++ = (char)(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        *d++ = (char)(0xE0 | c >> 12);
        *d++ = (char)(0x80 | ((c >> 6) & 0x3F));
        *d++ = (char)(0x80 | (c & 0x3F));
    } else {
        *d++ = (char)(0xF0 | c >> 18);
        *d++ = (char)(0x80 | ((c >> 12) & 0x3F));
        *d++ = (char)(0x80 | ((c >> 6) & 0x3F));
        *d++ = (char)(0x80 | (c & 0x3F));
    }
    return d;
}


/*
 * Decodes the \u escape whose 'u' is at *sp (its hex digits checked) into
 * d, as yajl 2.1 does: a high surrogate takes the \u escape that follows,
 * whatever it is, and without one it becomes '?'. Moves *sp past it.
 */
static char *put_u(char *d, lex_ptr *sp, lex_ptr end)
{
    lex_ptr s = *sp;
    unsigned c = hex4(s + 1);

    s += 5;
    if ((c & 0xFC00) == 0xD800) {
        if (end - s < 6 || s[0] != '\\' || s[1] != 'u') {
            *sp = s;
            *d++ = '?';
            return d;
        }
        c = ((c & 0x3F) << 10 | (((c >> 6) & 0xF) + 1) << 16 |
             (hex4(s + 2) & 0x3FF));
        s += 6;
    }
    *sp = s;
    return put_utf8(d, c);
}


/*
 * The string body [s, e) (valid, with escapes) decoded into the arena, as
 * a C string; NULL when out of memory. What is decoded is never longer
 * than its escapes.
 */
static char *decode(parser *ps, lex_ptr s, lex_ptr e)
{
    char *out = cq__arena_alloc(ps->a, (size_t)(e - s) + 1), *d = out;
    static const char esc[256] = {
        ['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
        ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t'};

    if (out == NULL)
        return NULL;
    while (s < e) {
        lex_ptr q = memchr(s, '\\', (size_t)(e - s));

        if (q == NULL)
            q = e;
        memcpy(d, s, (size_t)(q - s));
        d += q - s;
        s = q;
        if (s == e)
            break;
        if (s[1] == 'u') {
            s++;
            d = put_u(d, &s, e);
        } else {
            *d++ = esc[s[1]];
            s += 2;
        }
    }
    *d = '\0';
    return out;
}


/*
 * Reads the string whose opening quote is at ps->p, and moves past it.
 * Stores it in *out as a C string: in place (a NUL over its closing quote)
 * when it has no escape and ps->inplace, else in the arena. Returns CQ_OK,
 * CQ_EPARSE or CQ_ENOMEM.
 */
static inline int read_string(parser *ps, char **out)
{
    lex_ptr s = ps->p + 1, q = lex_skip_plain(s, ps->end);
    int escaped = 0;

    if (q == ps->end || *q != '"') {
        q = lex_skip_string_rest(q, ps->end, &escaped, 1);
        if (q == NULL)
            return CQ_EPARSE;
        q--;
    }
    ps->p = q + 1;
    if (escaped) {
        *out = decode(ps, s, q);
    } else if (ps->inplace) {
        *(char *)q = '\0';
        *out = (char *)s;
    } else {
        *out = cq__arena_strndup(ps->a, (const char *)s, (size_t)(q - s));
    }
    return *out != NULL ? CQ_OK : CQ_ENOMEM;
}


/*
 * The integer written in the len bytes at s (the grammar checked),
 * as strtoll() would read it: CQ_OK, or CQ_ERANGE past 64 bits, or
 * CQ_EINVAL for a fraction or exponent. A loop over the digits, where
 * strpbrk() and strtoll() cost ten times as much for an event's ids.
 */
static int read_int(const char *s, size_t len, long long *out)
{
    int neg = len > 0 && s[0] == '-';
    unsigned long long v = 0, lim = neg ? (unsigned long long)LLONG_MAX + 1
                                        : (unsigned long long)LLONG_MAX;
    size_t i;

    for (i = (size_t)neg; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');

        if (d > 9)
            return CQ_EINVAL;
        /* Eighteen digits cannot overflow: no division for them. */
        if (i - (size_t)neg >= 18 && v > (lim - d) / 10)
            return CQ_ERANGE;
        v = v * 10 + d;
    }
    if (i == (size_t)neg)
        return CQ_EINVAL;
    *out = neg ? (v == 0 ? 0 : -(long long)(v - 1) - 1) : (long long)v;
    return CQ_OK;
}


/*
 * The number whose text is [s, e) (the grammar checked) as a node: its text
 * kept, and the flags yajl_tree_parse() would set. NULL when out of memory.
 */
static yajl_val number(parser *ps, lex_ptr s, lex_ptr e)
{
    size_t len = (size_t)(e - s);
    /* The node and its text in one piece of the arena. */
    yajl_val v = cq__arena_alloc(ps->a, sizeof(*v) + len + 1);
    char *end;
    int rc;

    if (v == NULL)
        return NULL;
    memset(v, 0, sizeof(*v));
    v->type = yajl_t_number;
    v->u.number.r = (char *)(v + 1);
    memcpy(v->u.number.r, s, len);
    v->u.number.r[len] = '\0';
    rc = read_int((const char *)s, len, &v->u.number.i);
    if (rc == CQ_OK) {
        v->u.number.d = (double)v->u.number.i;
        v->u.number.flags = YAJL_NUMBER_INT_VALID | YAJL_NUMBER_DOUBLE_VALID;
        return v;
    }
    if (rc == CQ_ERANGE) /* As strtoll(): the limit, not valid. */
        v->u.number.i = s[0] == '-' ? LLONG_MIN : LLONG_MAX;
    errno = 0;
    v->u.number.d = strtod(v->u.number.r, &end);
    if (errno == 0)
        v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
    return v;
}


/*
 * Reads the scalar at ps->p (a string, number, true, false or null) and
 * attaches it. Returns CQ_OK, CQ_EPARSE or CQ_ENOMEM.
 */
static int read_scalar(parser *ps)
{
    lex_ptr s = ps->p, e;
    yajl_val v;
    int rc;

    if (*s == '"') {
        v = node(ps, yajl_t_string);
        if (v == NULL)
            return CQ_ENOMEM;
        rc = read_string(ps, &v->u.string);
        return rc != CQ_OK ? rc : add(ps, v);
    }
    e = lex_skip_scalar(s, ps->end);
    if (e == NULL)
        return CQ_EPARSE;
    ps->p = e;
    if (*s == 't')
        v = node(ps, yajl_t_true);
    else if (*s == 'f')
        v = node(ps, yajl_t_false);
    else if (*s == 'n')
        v = node(ps, yajl_t_null);
    else
        v = number(ps, s, e);
    return add(ps, v);
}


/*
 * Reads a key and its colon at ps->p, inside an object, into ps->key.
 * Returns CQ_OK, CQ_EPARSE or CQ_ENOMEM.
 */
static inline int read_key(parser *ps)
{
    char *key = NULL;
    int rc;

    ps->p = lex_skip_ws(ps->p, ps->end, WS);
    if (ps->p == ps->end || *ps->p != '"')
        return CQ_EPARSE;
    rc = read_string(ps, &key);
    ps->key = key;
    if (rc != CQ_OK)
        return rc;
    ps->p = lex_skip_ws(ps->p, ps->end, WS);
    if (ps->p == ps->end || *ps->p != ':')
        return CQ_EPARSE;
    ps->p++;
    return CQ_OK;
}


/*
 * Whether what follows the top-level value at ps->p (not whitespace) is
 * refused: 0 when it is the start of a string that the text ends before its
 * closing quote, else CQ_EPARSE (or CQ_ENOMEM). yajl's parser lexes one
 * token after the value, and reads "more text needed" as no trailing
 * garbage; its yajl_complete_parse() then adds a space, so the string must
 * be valid up to the end and stop between characters. The tail and a space
 * and a quote make a whole string exactly when that holds.
 */
static int open_string(parser *ps)
{
    size_t n = (size_t)(ps->end - ps->p);
    unsigned char *copy;
    int escaped;

    if (*ps->p != '"' || lex_skip_string(ps->p, ps->end, &escaped, 1) != NULL)
        return CQ_EPARSE;
    if ((copy = cq__arena_alloc(ps->a, n + 2)) == NULL)
        return CQ_ENOMEM;
    memcpy(copy, ps->p, n);
    copy[n] = ' ';
    copy[n + 1] = '"';
    return lex_skip_string(copy, copy + n + 2, &escaped, 1) != NULL ? 0
                                                                    : CQ_EPARSE;
}


/*
 * Goes past the end of a value: commas (and the key after one, in an
 * object), closing brackets. Returns 1 when a value is due next, 0 when the
 * text ended well, or CQ_EPARSE or CQ_ENOMEM.
 */
static int after_value(parser *ps)
{
    int rc;

    for (;;) {
        yajl_val c;

        ps->p = lex_skip_ws(ps->p, ps->end, WS);
        if (ps->depth == 0)
            return ps->p == ps->end ? 0 : open_string(ps);
        if (ps->p == ps->end)
            return CQ_EPARSE;
        c = ps->stack[ps->depth - 1].v;
        if (*ps->p == ',') {
            ps->p++;
            if (c->type != yajl_t_object)
                return 1;
            return (rc = read_key(ps)) != CQ_OK ? rc : 1;
        }
        if (*ps->p != (c->type == yajl_t_object ? '}' : ']'))
            return CQ_EPARSE;
        ps->p++;
        ps->depth--;
    }
}


/*
 * Opens the container whose bracket is at ps->p. Returns 1 when a value is
 * due next, else as after_value(); or CQ_EDEPTH past the depth limit.
 */
static int open_container(parser *ps)
{
    int obj = *ps->p == '{', rc;
    yajl_val v;

    if (ps->depth >= ps->max)
        return CQ_EDEPTH;
    v = node(ps, obj ? yajl_t_object : yajl_t_array);
    if ((rc = add(ps, v)) != CQ_OK)
        return rc;
    ps->stack[ps->depth].v = v;
    ps->stack[ps->depth].cap = 0;
    ps->depth++;
    ps->p = lex_skip_ws(ps->p + 1, ps->end, WS);
    if (ps->p < ps->end && *ps->p == (obj ? '}' : ']')) {
        ps->p++;
        ps->depth--;
        return after_value(ps);
    }
    if (!obj)
        return 1;
    return (rc = read_key(ps)) != CQ_OK ? rc : 1;
}


/* Reads the value at ps->p, and past it; returns as open_container(). */
static int read_value(parser *ps)
{
    int rc;

    ps->p = lex_skip_ws(ps->p, ps->end, WS);
    if (ps->p == ps->end)
        return CQ_EPARSE;
    if (*ps->p == '{' || *ps->p == '[')
        return open_container(ps);
    rc = read_scalar(ps);
    return rc != CQ_OK ? rc : after_value(ps);
}


/* Parses buf into a tree in a; strings end in place when inplace. */
static int parse(yajl_val *out, cq__arena *a, const char *buf, size_t len,
                 int max_depth, int inplace)
{
    parser ps;
    int rc;

    *out = NULL;
    memset(&ps, 0, sizeof(ps));
    ps.a = a;
    ps.p = (lex_ptr)buf;
    ps.end = (lex_ptr)buf + len;
    ps.max = max_depth > 0 ? max_depth : 0;
    ps.inplace = inplace;
    ps.stack = cq__arena_alloc(a, (size_t)(ps.max + 1) * sizeof(*ps.stack));
    if (ps.stack == NULL)
        return CQ_ENOMEM;
    while ((rc = read_value(&ps)) == 1)
        ;
    if (rc != 0)
        return rc;
    *out = ps.root;
    return CQ_OK;
}


int cq__json_parse_arena(yajl_val *out, cq__arena *a, const char *buf,
                         size_t len, int max_depth)
{
    return parse(out, a, buf, len, max_depth, 0);
}


int cq__json_parse_inplace(yajl_val *out, cq__arena *a, char *buf, size_t len,
                           int max_depth)
{
    return parse(out, a, buf, len, max_depth, 1);
}


/* Puts back in copy the quotes that ended strings in place in buf. */
static void restore(char *copy, const char *buf, size_t len, yajl_val v)
{
    size_t i;

    if (v == NULL)
        return;
    if (v->type == yajl_t_string && v->u.string >= buf &&
        v->u.string < buf + len)
        copy[v->u.string - buf + strlen(v->u.string)] = '"';
    if (v->type == yajl_t_array)
        for (i = 0; i < v->u.array.len; i++)
            restore(copy, buf, len, v->u.array.values[i]);
    if (v->type != yajl_t_object)
        return;
    for (i = 0; i < v->u.object.len; i++) {
        const char *k = v->u.object.keys[i];

        if (k >= buf && k < buf + len)
            copy[k - buf + strlen(k)] = '"';
        restore(copy, buf, len, v->u.object.values[i]);
    }
}


char *cq__json_text_of(const char *buf, size_t len, yajl_val root)
{
    char *copy = malloc(len + 1);

    if (copy == NULL)
        return NULL;
    memcpy(copy, buf, len + 1);
    restore(copy, buf, len, root);
    return copy;
}
