/*
 * Fuzz target: an event body as cqhttp-fcgi and the bridge's workers take
 * it. The body is parsed, the compiled-in handlers (the files of handlers/) run
 * on it with a context whose API has no transport, so every call fails at once,
 * and the quick operation they build is written out; that answer must be
 * one JSON object. The body is also parsed as the responder parses it, its
 * strings ended in place (cq__event_parse_lent): that must accept the same
 * bodies, name the event alike and give the body back unchanged.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/api.h"
#include "lib/conf.h"
#include "lib/ctx.h"
#include "lib/dispatch.h"
#include "lib/event.h"
#include "lib/json.h"
#include "lib/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cq__conf conf;
static cq__api *api;


int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* Failed API calls are logged as warnings: keep the run readable. */
    cq__log_setup("fuzz-event", CQ_LOG_ERROR);
    cq__conf_init(&conf);
    /* No api_root and no bridge_socket: calls give CQ_ENOAPI at once. */
    api = cq__api_new(&conf);
    if (api == NULL || cq__dispatch_prepare() < 0)
        abort();
    return 0;
}


/* Parses data in place as the responder does; aborts on any difference
 * from copied (NULL when the copy was refused). */
static void check_taken(const uint8_t *data, size_t size,
                        const cq_event *copied)
{
    char *buf = malloc(size + 1);
    cq_event *t = NULL;
    const char *raw;
    size_t n = 0;
    int rc;

    if (buf == NULL)
        abort();
    memcpy(buf, data, size);
    buf[size] = '\0';
    rc = cq__event_parse_lent(&t, buf, size, 0);
    if ((rc == CQ_OK) != (copied != NULL))
        abort();
    if (t == NULL) {
        free(buf);
        return;
    }
    raw = cq_event_raw(t, &n);
    if (raw == NULL || n != size || memcmp(raw, data, size) != 0 ||
        strcmp(cq_event_name(t), cq_event_name(copied)) != 0)
        abort();
    cq_event_free(t);
    free(buf);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cq_event *e = NULL;
    cq_ctx ctx;
    char *json = NULL;

    cq_event_parse(&e, (const char *)data, size, 0);
    check_taken(data, size, e);
    if (e == NULL)
        return 0;
    cq__ctx_init(&ctx, e, &conf, api);
    if (cq__dispatch(&ctx) == CQ_OK &&
        cq__ctx_quick_json(&ctx, &json) == CQ_OK && json != NULL) {
        yajl_val v = NULL;

        /* What the responder would send back must be an object. */
        if (cq__json_parse(&v, json, strlen(json), 256) != CQ_OK ||
            !YAJL_IS_OBJECT(v))
            abort();
        yajl_tree_free(v);
    }
    free(json);
    cq__ctx_free(&ctx);
    cq_event_free(e);
    return 0;
}
