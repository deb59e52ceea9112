/*
 * Fuzz target: one line on the bridge's API socket, checked as on_request()
 * in src/bridge/ipc.c checks it (cq__ipc_parse), after on_read()'s framing:
 * the line is NUL-terminated and loses a final CR.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/bridge.h"
#include "cqhttp.h"
#include "lib/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


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
    free(id);
    yajl_tree_free(req);
    free(line);
    return 0;
}
