/*
 * What a text message from a OneBot implementation is, found without
 * building a tree when possible: conn.c routes every message by it, and an
 * event's tree would only be built again on the worker, an answer's by
 * whoever waits for it. Any thread; no state.
 */
#include "config.h"

#include <string.h>

#include "bridge/bridge.h"
#include "lib/json.h"

/* The old way: the whole message parsed, for text the scanner leaves. */
static void read_tree(cq__frame *f, const char *text, size_t len, int max_depth)
{
    yajl_val v = NULL;

    if (cq__json_parse(&v, text, len, max_depth) != CQ_OK ||
        !YAJL_IS_OBJECT(v)) {
        yajl_tree_free(v);
        return;
    }
    f->tree = cq__cv(v);
    f->kind = cq__json_get(v, "post_type") != NULL ? CQ__FRAME_EVENT
                                                   : CQ__FRAME_ANSWER;
    if (f->kind == CQ__FRAME_ANSWER)
        f->echo = cq_value_string(cq_value_get(f->tree, "echo"));
}


void cq__frame_read(cq__frame *f, const char *text, size_t len, int max_depth,
                    int utf8)
{
    static const cq__json_key keys[] = {
        CQ__JSON_KEY("post_type"), CQ__JSON_KEY("echo"),
        CQ__JSON_KEY("id"),        CQ__JSON_KEY("status"),
        CQ__JSON_KEY("retcode"),   CQ__JSON_KEY("data"),
        CQ__JSON_KEY("bridge")};
    cq__json_span sp[3 + CQ__ANS_N];

    /* The last keys are the answer's, in the order of CQ__ANS_*. */
    _Static_assert(sizeof(keys) / sizeof(keys[0]) == 3 + CQ__ANS_N,
                   "one span per key");
    size_t n;

    f->kind = CQ__FRAME_BAD;
    f->echo = NULL;
    f->tree = NULL;
    f->text = text;
    f->len = len;
    f->scanned = 0;
    if (cq__json_scan_object(text, len, max_depth,
                             utf8 ? CQ__JSON_SCAN_UTF8 : 0, keys, 3 + CQ__ANS_N,
                             sp) != CQ_OK) {
        read_tree(f, text, len, max_depth);
        return;
    }
    f->scanned = 1;
    f->scan_depth = max_depth;
    f->echo_at = sp[1];
    f->id_at = sp[2];
    memcpy(f->answer_at, sp + 3, sizeof(f->answer_at));
    if (sp[0].p != NULL) {
        f->kind = CQ__FRAME_EVENT;
        return;
    }
    f->kind = CQ__FRAME_ANSWER;
    /* An echo that is not a string is no echo, as cq_value_string says. */
    if (sp[1].p == NULL || sp[1].p[0] != '"')
        return;
    n = sp[1].len - 2;
    /* The bridge's own echoes are short and plain; yajl decodes the rest. */
    if (n >= sizeof(f->buf) || memchr(sp[1].p, '\\', sp[1].len) != NULL) {
        read_tree(f, text, len, max_depth);
        return;
    }
    memcpy(f->buf, sp[1].p + 1, n);
    f->buf[n] = '\0';
    f->echo = f->buf;
}


void cq__frame_free(cq__frame *f)
{
    yajl_tree_free(cq__yv(f->tree));
    f->tree = NULL;
}
