/*
 * The tree builder for events: yajl's callback parser filling yajl_val
 * nodes in an arena (lib/arena.h), with the parser's own buffers in the same
 * arena. Comments are refused (yajl's default, where yajl_tree_parse()
 * allows them), a NUL byte is invalid JSON to yajl's lexer, and the depth is
 * counted as containers open, so it needs none of cq__json_precheck(). The
 * nodes are laid out exactly as yajl_tree_parse() lays them out, so everything
 * that reads a tree reads these; only the freeing differs (the arena, never
 * yajl_tree_free()).
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "cqhttp.h"
#include "lib/arena.h"
#include "lib/json.h"

/* A container being filled, with the room its arrays have. */
typedef struct frame {
    yajl_val v;
    size_t cap;
} frame;

typedef struct builder {
    cq__arena *a;
    frame *stack;
    int depth, max;
    const char *key; /* The key whose value comes next, in an object. */
    char *lo, *hi;   /* The text, when strings may be ended in it; or NULL. */
    yajl_val root;
    int nomem, toodeep;
} builder;

/* Returns a fresh node of type t, or NULL (with b->nomem set). */
static yajl_val node(builder *b, yajl_type t)
{
    yajl_val v = cq__arena_alloc(b->a, sizeof(*v));

    if (v == NULL) {
        b->nomem = 1;
        return NULL;
    }
    memset(v, 0, sizeof(*v));
    v->type = t;
    return v;
}


/* Grows an array of n pointers to cap (the old one stays in the arena). */
static void *grow(builder *b, void *old, size_t n, size_t cap, size_t size)
{
    void *p = cq__arena_alloc(b->a, cap * size);

    if (p == NULL) {
        b->nomem = 1;
        return NULL;
    }
    if (n > 0)
        memcpy(p, old, n * size);
    return p;
}


/* Attaches v to the container being filled, or makes it the root. */
static int add(builder *b, yajl_val v)
{
    frame *f;
    yajl_val c;
    size_t n, cap;

    if (v == NULL)
        return 0;
    if (b->depth == 0) {
        b->root = v;
        return 1;
    }
    f = &b->stack[b->depth - 1];
    c = f->v;
    n = c->type == yajl_t_object ? c->u.object.len : c->u.array.len;
    if (n == f->cap) {
        cap = f->cap ? f->cap * 2 : 8;
        if (c->type == yajl_t_object) {
            c->u.object.keys = grow(b, (void *)c->u.object.keys, n, cap,
                                    sizeof(*c->u.object.keys));
            c->u.object.values =
                grow(b, c->u.object.values, n, cap, sizeof(yajl_val));
            if (c->u.object.keys == NULL || c->u.object.values == NULL)
                return 0;
        } else {
            c->u.array.values =
                grow(b, c->u.array.values, n, cap, sizeof(yajl_val));
            if (c->u.array.values == NULL)
                return 0;
        }
        f->cap = cap;
    }
    if (c->type == yajl_t_object) {
        c->u.object.keys[n] = b->key;
        c->u.object.values[n] = v;
        c->u.object.len++;
    } else {
        c->u.array.values[n] = v;
        c->u.array.len++;
    }
    return 1;
}


static int open_container(void *ctx, yajl_type t)
{
    builder *b = ctx;
    yajl_val v = node(b, t);

    /*
     * yajl's callback parser keeps its own state on a heap stack, so deep
     * input cannot exhaust the C stack: the depth limit is checked here, as
     * the containers open, and no pre-scan is needed.
     */
    if (b->depth >= b->max) {
        b->toodeep = 1;
        return 0;
    }
    if (v == NULL || !add(b, v))
        return 0;
    b->stack[b->depth].v = v;
    b->stack[b->depth].cap = 0;
    b->depth++;
    return 1;
}


static int on_start_map(void *ctx)
{
    return open_container(ctx, yajl_t_object);
}


static int on_start_array(void *ctx)
{
    return open_container(ctx, yajl_t_array);
}


static int on_end(void *ctx)
{
    ((builder *)ctx)->depth--;
    return 1;
}


/*
 * A string or key of len bytes at s as a C string: in place when s lies in
 * the text given to cq__json_parse_inplace() (yajl passes strings without
 * escapes where they stand), ended by a NUL over the closing quote, which
 * yajl's lexer has passed and never reads again; else a copy in the arena.
 * NULL (b->nomem set) when out of memory.
 */
static char *text(builder *b, const unsigned char *s, size_t len)
{
    char *p = (char *)s, *t;

    if (b->lo != NULL && p >= b->lo && p < b->hi && (size_t)(b->hi - p) > len &&
        p[len] == '"') {
        p[len] = '\0';
        return p;
    }
    t = cq__arena_strndup(b->a, p, len);
    b->nomem = t == NULL;
    return t;
}


static int on_key(void *ctx, const unsigned char *s, size_t len)
{
    builder *b = ctx;

    b->key = text(b, s, len);
    return b->key != NULL;
}


static int on_string(void *ctx, const unsigned char *s, size_t len)
{
    builder *b = ctx;
    yajl_val v = node(b, yajl_t_string);

    if (v == NULL)
        return 0;
    v->u.string = text(b, s, len);
    return v->u.string != NULL && add(b, v);
}


/*
 * The integer written in the len bytes at s (yajl has checked the grammar),
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
        if (v > (lim - d) / 10)
            return CQ_ERANGE;
        v = v * 10 + d;
    }
    if (i == (size_t)neg)
        return CQ_EINVAL;
    *out = neg ? (v == 0 ? 0 : -(long long)(v - 1) - 1) : (long long)v;
    return CQ_OK;
}


/* Numbers keep their text, and the flags yajl_tree_parse() would set. */
static int on_number(void *ctx, const char *s, size_t len)
{
    builder *b = ctx;
    yajl_val v = node(b, yajl_t_number);
    char *end;
    int rc;

    if (v == NULL)
        return 0;
    v->u.number.r = cq__arena_strndup(b->a, s, len);
    if (v->u.number.r == NULL) {
        b->nomem = 1;
        return 0;
    }
    rc = read_int(s, len, &v->u.number.i);
    if (rc == CQ_OK) {
        v->u.number.d = (double)v->u.number.i;
        v->u.number.flags = YAJL_NUMBER_INT_VALID | YAJL_NUMBER_DOUBLE_VALID;
        return add(b, v);
    }
    if (rc == CQ_ERANGE) /* As strtoll(): the limit, not valid. */
        v->u.number.i = s[0] == '-' ? LLONG_MIN : LLONG_MAX;
    errno = 0;
    v->u.number.d = strtod(v->u.number.r, &end);
    if (errno == 0)
        v->u.number.flags |= YAJL_NUMBER_DOUBLE_VALID;
    return add(b, v);
}


static int on_null(void *ctx)
{
    builder *b = ctx;

    return add(b, node(b, yajl_t_null));
}


static int on_boolean(void *ctx, int value)
{
    builder *b = ctx;

    return add(b, node(b, value ? yajl_t_true : yajl_t_false));
}


static const yajl_callbacks callbacks = {
    on_null,      on_boolean, NULL,   NULL,           on_number, on_string,
    on_start_map, on_key,     on_end, on_start_array, on_end};

/* Parses buf into a tree in a; strings end in place when inplace. */
static int parse(yajl_val *out, cq__arena *a, const char *buf, size_t len,
                 int max_depth, int inplace)
{
    yajl_alloc_funcs funcs;
    builder b;
    yajl_handle h;
    yajl_status st;

    *out = NULL;
    cq__arena_yajl_funcs(a, &funcs);
    memset(&b, 0, sizeof(b));
    b.a = a;
    b.max = max_depth;
    if (inplace) {
        b.lo = (char *)buf;
        b.hi = (char *)buf + len;
    }
    b.stack = cq__arena_alloc(a, (size_t)max_depth * sizeof(*b.stack));
    h = b.stack != NULL ? yajl_alloc(&callbacks, &funcs, &b) : NULL;
    if (h == NULL)
        return CQ_ENOMEM;
    st = yajl_parse(h, (const unsigned char *)buf, len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    yajl_free(h);
    if (b.nomem)
        return CQ_ENOMEM;
    if (b.toodeep)
        return CQ_EDEPTH;
    if (st != yajl_status_ok || b.root == NULL || b.depth != 0)
        return CQ_EPARSE;
    *out = b.root;
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
