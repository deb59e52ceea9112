/*
 * Fuzz target: the object scanner of src/lib/json_scan.c against yajl. The
 * first byte picks the depth limit and, by its high bit, whether the text is
 * scanned as known UTF-8 (CQ__JSON_SCAN_UTF8), as the bridge scans a
 * WebSocket text message: then only text that is UTF-8 by RFC 3629 (checked
 * as the WebSocket layer does, cq__ws_rx_utf8) is scanned, the rest is
 * skipped. The rest of the input is the text. Whatever the
 * scanner accepts, cq__json_parse() must accept too as an object, with the
 * same first top-level value for each key (the bridge routes frames on it:
 * src/bridge/conn.c). Each span must be a value on its own, and an unescaped
 * string span must hold the very string the tree holds.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/json.h"
#include "ws/frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {"post_type", "echo", "status", "b", "a"};
static const cq__json_key keys[] = {
    CQ__JSON_KEY("post_type"), CQ__JSON_KEY("echo"), CQ__JSON_KEY("status"),
    CQ__JSON_KEY("b"), CQ__JSON_KEY("a")};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))


/* Checks span s against the tree's value v for the same key. */
static void check_span(const cq__json_span *s, yajl_val v)
{
    char *copy;
    yajl_val alone = NULL;

    if ((s->p == NULL) != (v == NULL))
        abort();
    if (s->p == NULL)
        return;
    if (YAJL_IS_STRING(v) && memchr(s->p, '\\', s->len) == NULL &&
        (s->len < 2 || strlen(v->u.string) != s->len - 2 ||
         memcmp(v->u.string, s->p + 1, s->len - 2) != 0))
        abort();
    /* The span is one whole value: wrapped in an array, it parses alone. */
    copy = malloc(s->len + 3);
    if (copy == NULL)
        return;
    copy[0] = '[';
    memcpy(copy + 1, s->p, s->len);
    copy[s->len + 1] = ']';
    copy[s->len + 2] = '\0';
    if (cq__json_parse(&alone, copy, s->len + 2, 200) == CQ_OK &&
        (!YAJL_IS_ARRAY(alone) || alone->u.array.len != 1 ||
         alone->u.array.values[0]->type != v->type))
        abort();
    if (alone == NULL)
        abort();
    yajl_tree_free(alone);
    free(copy);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cq__json_span spans[NKEYS];
    yajl_val v = NULL;
    int depth, rc, utf8;
    char *text;
    size_t i, len;

    if (size == 0)
        return 0;
    depth = (data[0] & 0x7F) % 40;
    utf8 = (data[0] & 0x80) != 0;
    len = size - 1;
    if (utf8 && !cq__ws_rx_utf8(data + 1, len))
        return 0;
    text = malloc(len + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data + 1, len);
    text[len] = '\0';
    rc = cq__json_scan_object(text, len, depth, utf8 ? CQ__JSON_SCAN_UTF8 : 0,
                              keys, NKEYS, spans);
    if (rc == CQ_OK) {
        if (cq__json_parse(&v, text, len, depth) != CQ_OK || !YAJL_IS_OBJECT(v))
            abort();
        for (i = 0; i < NKEYS; i++)
            check_span(&spans[i], cq__json_get(v, names[i]));
        yajl_tree_free(v);
    } else {
        if (rc != CQ_EPARSE)
            abort();
        for (i = 0; i < NKEYS; i++)
            if (spans[i].p != NULL || spans[i].len != 0)
                abort();
    }
    free(text);
    return 0;
}
