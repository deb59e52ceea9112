/*
 * Fuzz target: the tree parser of src/lib/json_tree.c against yajl. The
 * first byte picks the depth limit; the rest is the text. The verdict must
 * be yajl's callback parser's as the library used to configure it (no
 * comments, no trailing garbage, UTF-8 checked), with the depth counted as
 * containers open: CQ_OK, CQ_EPARSE or, when a container opens past the
 * limit before any fault, CQ_EDEPTH. An accepted text must give the tree
 * yajl_tree_parse() gives, node for node; cq__json_parse_inplace() must give
 * that tree too, and cq__json_text_of() the text back.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "cqhttp.h"
#include "lib/arena.h"
#include "lib/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* yajl's side: the depth of the containers open, and the limit. */
typedef struct depth {
    int depth, max, toodeep;
} depth;


static int on_open(void *ctx)
{
    depth *d = ctx;

    if (d->depth >= d->max) {
        d->toodeep = 1;
        return 0;
    }
    d->depth++;
    return 1;
}


static int on_close(void *ctx)
{
    ((depth *)ctx)->depth--;
    return 1;
}


/* yajl's verdict on text (len bytes) with the depth limit max. */
static int yajl_verdict(const char *text, size_t len, int max)
{
    static const yajl_callbacks cb = {NULL,     NULL,    NULL,    NULL,
                                      NULL,     NULL,    on_open, NULL,
                                      on_close, on_open, on_close};
    depth d = {0, max, 0};
    yajl_handle h = yajl_alloc(&cb, NULL, &d);
    yajl_status st;

    if (h == NULL)
        abort();
    st = yajl_parse(h, (const unsigned char *)text, len);
    if (st == yajl_status_ok)
        st = yajl_complete_parse(h);
    yajl_free(h);
    if (d.toodeep)
        return CQ_EDEPTH;
    return st == yajl_status_ok ? CQ_OK : CQ_EPARSE;
}


/*
 * Numbers: the same text and double; the same integer where yajl has one.
 * The library also takes -9223372036854775808 as an integer (yajl's
 * yajl_parse_integer() stops one short), and leaves i 0 for a fraction.
 */
static void same_number(yajl_val a, yajl_val b)
{
    int ai = a->u.number.flags & YAJL_NUMBER_INT_VALID;
    int bi = b->u.number.flags & YAJL_NUMBER_INT_VALID;

    if (strcmp(a->u.number.r, b->u.number.r) != 0 ||
        (a->u.number.flags & YAJL_NUMBER_DOUBLE_VALID) !=
            (b->u.number.flags & YAJL_NUMBER_DOUBLE_VALID) ||
        (a->u.number.d != b->u.number.d &&
         (b->u.number.flags & YAJL_NUMBER_DOUBLE_VALID)))
        abort();
    if (bi ? !ai || a->u.number.i != b->u.number.i
           : ai && strcmp(b->u.number.r, "-9223372036854775808") != 0)
        abort();
}


/* Aborts unless trees a (ours) and b (yajl's) are the same, node for node. */
static void same_tree(yajl_val a, yajl_val b)
{
    size_t i;

    if (a == NULL || b == NULL || a->type != b->type)
        abort();
    switch (b->type) {
    case yajl_t_string:
        if (strcmp(a->u.string, b->u.string) != 0)
            abort();
        break;
    case yajl_t_number:
        same_number(a, b);
        break;
    case yajl_t_object:
        if (a->u.object.len != b->u.object.len)
            abort();
        for (i = 0; i < b->u.object.len; i++) {
            if (strcmp(a->u.object.keys[i], b->u.object.keys[i]) != 0)
                abort();
            same_tree(a->u.object.values[i], b->u.object.values[i]);
        }
        break;
    case yajl_t_array:
        if (a->u.array.len != b->u.array.len)
            abort();
        for (i = 0; i < b->u.array.len; i++)
            same_tree(a->u.array.values[i], b->u.array.values[i]);
        break;
    default:
        break;
    }
}


/* The in-place parse of text: the same verdict and tree, the text back. */
static void check_inplace(const char *text, size_t len, int max, int rc,
                          yajl_val tree)
{
    cq__arena *a = cq__arena_new(0);
    char *work = malloc(len + 1), *back;
    yajl_val v = NULL;

    if (a == NULL || work == NULL)
        abort();
    memcpy(work, text, len + 1);
    if (cq__json_parse_inplace(&v, a, work, len, max) != rc)
        abort();
    if (rc == CQ_OK) {
        same_tree(v, tree);
        back = cq__json_text_of(work, len, v);
        if (back == NULL || memcmp(back, text, len + 1) != 0)
            abort();
        free(back);
    }
    free(work);
    cq__arena_free(a);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cq__arena *a;
    yajl_val mine = NULL, theirs;
    char *text, err[64];
    size_t len;
    int max, rc, want;

    if (size == 0)
        return 0;
    max = data[0] % 40;
    len = size - 1;
    text = malloc(len + 1);
    a = cq__arena_new(0);
    if (text == NULL || a == NULL)
        abort();
    memcpy(text, data + 1, len);
    text[len] = '\0';
    want = yajl_verdict(text, len, max);
    rc = cq__json_parse_arena(&mine, a, text, len, max);
    if (rc != want || (rc == CQ_OK) != (mine != NULL))
        abort();
    if (rc == CQ_OK) {
        /* Accepted by yajl with comments off: no NUL, no comment in it. */
        theirs = yajl_tree_parse(text, err, sizeof(err));
        if (theirs == NULL)
            abort();
        same_tree(mine, theirs);
        yajl_tree_free(theirs);
    }
    check_inplace(text, len, max, rc, mine);
    cq__arena_free(a);
    free(text);
    return 0;
}
