/*
 * Fuzz target: one line on the bridge's API socket, checked as on_request()
 * in src/bridge/ipc.c checks it (cq__ipc_parse), after on_read()'s framing:
 * the line is NUL-terminated and loses a final CR.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "bridge/bridge.h"
#include "cqhttp.h"
#include "lib/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/*
 * cq__ipc_read, which scans plain lines instead of parsing them, must come
 * to what the tree says: the same verdict, action, account and id, and
 * params that parse to the same tree.
 */
static void check_read(const char *line, size_t len, int rc, const char *action,
                       yajl_val params, int64_t self_id, const char *id)
{
    cq__ipc_req r;
    char *p = NULL;
    int rc2 = cq__ipc_read(&r, line, len);

    if (rc2 == CQ_ENOMEM) {
        cq__ipc_req_free(&r);
        return;
    }
    if (rc2 != rc || (id == NULL) != (r.id == NULL) ||
        (id != NULL && (strlen(id) != r.idlen || memcmp(id, r.id, r.idlen))))
        abort();
    if (rc == CQ_OK) {
        if (strcmp(action, r.action) != 0 || self_id != r.self_id)
            abort();
        p = params != NULL ? cq_value_to_json(cq__cv(params)) : NULL;
        if (p != NULL) {
            yajl_val v = NULL;
            char *t = strndup(r.params, r.plen), *q = NULL;

            /* The parser wants a NUL after the text. */
            if (t != NULL &&
                cq__json_parse(&v, t, r.plen, CQ__IPC_MAX_DEPTH) != CQ_OK)
                abort();
            free(t);
            if (v != NULL)
                q = cq_value_to_json(cq__cv(v));
            if (q != NULL && strcmp(p, q) != 0)
                abort();
            free(q);
            yajl_tree_free(v);
        } else if (params == NULL && (r.plen != 2 || memcmp(r.params, "{}", 2)))
            abort();
        free(p);
    }
    cq__ipc_req_free(&r);
}


/*
 * The answer written from the loop's scan of it (cq__frame_read, as the
 * bridge does) must be the answer written from a scan of its own, in out.
 */
static void same_with_frame(const char *text, size_t len, struct evbuffer *out)
{
    struct evbuffer *again = evbuffer_new();
    cq__frame f;

    cq__frame_read(&f, text, len, CQ__IPC_MAX_DEPTH, 0);
    if (again != NULL && f.kind == CQ__FRAME_ANSWER &&
        cq__ipc_write_answer(again, text, len, &f, "7", 1) == CQ_OK &&
        (evbuffer_get_length(again) != evbuffer_get_length(out) ||
         memcmp(evbuffer_pullup(again, -1), evbuffer_pullup(out, -1),
                evbuffer_get_length(out)) != 0))
        abort();
    cq__frame_free(&f);
    if (again != NULL)
        evbuffer_free(again);
}


/*
 * The line as an API answer, with id 7: cq__ipc_write_answer, which copies
 * plain answers rather than re-writing them, must write one line that is
 * the tree's members less "echo" and "id", plus the id, in their order.
 */
static void check_answer(const char *text, size_t len)
{
    struct evbuffer *out = evbuffer_new();
    yajl_val v = NULL, got = NULL;
    char *line, *a, *b;
    size_t n, i, j;

    if (out == NULL ||
        cq__json_parse(&v, text, len, CQ__IPC_MAX_DEPTH) != CQ_OK ||
        !YAJL_IS_OBJECT(v) ||
        cq__ipc_write_answer(out, text, len, NULL, "7", 1) != CQ_OK)
        goto out;
    n = evbuffer_get_length(out);
    same_with_frame(text, len, out);
    line = (char *)evbuffer_pullup(out, -1);
    if (n == 0 || line[n - 1] != '\n' || memchr(line, '\n', n - 1) != NULL)
        abort();
    line[n - 1] = '\0';
    if (cq__json_parse(&got, line, n - 1, CQ__IPC_MAX_DEPTH + 1) != CQ_OK ||
        !YAJL_IS_OBJECT(got))
        abort();
    for (i = j = 0; i < v->u.object.len; i++) {
        const char *k = v->u.object.keys[i];

        if (strcmp(k, "echo") == 0 || strcmp(k, "id") == 0)
            continue;
        a = cq_value_to_json(cq__cv(v->u.object.values[i]));
        b = j < got->u.object.len
                ? cq_value_to_json(cq__cv(got->u.object.values[j]))
                : NULL;
        if (a != NULL && b != NULL &&
            (strcmp(a, b) != 0 || strcmp(k, got->u.object.keys[j]) != 0))
            abort();
        free(a);
        free(b);
        j++;
    }
    if (j + 1 != got->u.object.len || strcmp(got->u.object.keys[j], "id") != 0)
        abort();
out:
    yajl_tree_free(v);
    yajl_tree_free(got);
    if (out != NULL)
        evbuffer_free(out);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    size_t len = size;
    yajl_val req, params;
    const char *action;
    int64_t self_id;
    char *id;
    int rc;

    if (line == NULL)
        return 0;
    memcpy(line, data, size);
    line[size] = '\0';
    if (len > 0 && line[len - 1] == '\r')
        line[--len] = '\0';
    rc = cq__ipc_parse(line, len, &req, &action, &params, &self_id, &id);
    if (rc == CQ_OK) {
        /* What on_request() goes on with must hold what was promised. */
        if (action == NULL || action[0] == '\0' || self_id < 0 ||
            (params != NULL && !YAJL_IS_OBJECT(params)))
            abort();
    } else if (rc != CQ_EPARSE && rc != CQ_EINVAL) {
        abort();
    }
    if (id != NULL) {
        /* The id goes back into the answer as JSON text. */
        yajl_val v = NULL;

        if (cq__json_parse(&v, id, strlen(id), CQ__IPC_MAX_DEPTH + 1) != CQ_OK)
            abort();
        yajl_tree_free(v);
    }
    check_read(line, len, rc, action, params, self_id, id);
    check_answer(line, len);
    free(id);
    yajl_tree_free(req);
    free(line);
    return 0;
}
