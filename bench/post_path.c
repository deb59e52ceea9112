/*
 * The responder's per-request path in-process, for instruction counts under
 * callgrind (bench/instr.sh): N signed private-message events through
 * cq__post_handle(), the function cqhttp-fcgi runs for every request, with
 * the handlers of handlers/ linked in. With "noop" it runs the same loop
 * without the request, the reference for what the loop itself costs.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "fcgi/post.h"
#include "lib/auth.h"
#include "lib/dispatch.h"
#include "lib/log.h"

#define SECRET "bench-secret"

typedef struct req {
    const char *body;
    size_t len, off;
    char sig[46], length[24];
} req;

static const char *param(void *arg, const char *name)
{
    req *r = arg;

    if (strcmp(name, "REQUEST_METHOD") == 0)
        return "POST";
    if (strcmp(name, "CONTENT_LENGTH") == 0)
        return r->length;
    if (strcmp(name, "HTTP_X_SIGNATURE") == 0)
        return r->sig;
    if (strcmp(name, "REMOTE_ADDR") == 0)
        return "127.0.0.1";
    return NULL;
}


static int readfn(void *arg, char *buf, int n, int timeout_ms)
{
    req *r = arg;
    size_t k = r->len - r->off < (size_t)n ? r->len - r->off : (size_t)n;

    (void)timeout_ms; /* The body is all in memory: no wait. */

    memcpy(buf, r->body + r->off, k);
    r->off += k;
    return (int)k;
}


int main(int argc, char **argv)
{
    static const char body[] =
        "{\"time\":1700000000,\"self_id\":10001000,\"post_type\":\"message\","
        "\"message_type\":\"private\",\"sub_type\":\"friend\","
        "\"message_id\":-2147483000,\"user_id\":12345,\"message\":\"hello "
        "there\",\"raw_message\":\"hello there\",\"font\":0,\"sender\":"
        "{\"user_id\":12345,\"nickname\":\"tester\",\"sex\":\"unknown\","
        "\"age\":0}}";
    long i, n = argc > 1 ? atol(argv[1]) : 1000;
    int noop = argc > 2 && strcmp(argv[2], "noop") == 0, status = 0;
    cq__conf conf;
    cq__buf out;
    req r;

    /* The example bot's API call fails (no API): keep its log line out. */
    cq__log_setup("post-path", CQ_LOG_ERROR);
    cq__conf_init(&conf);
    conf.secret = strdup(SECRET);
    cq__dispatch_prepare();
    memset(&r, 0, sizeof(r));
    r.body = body;
    r.len = sizeof(body) - 1;
    cq__auth_sign(SECRET, body, r.len, r.sig);
    snprintf(r.length, sizeof(r.length), "%zu", r.len);
    cq__buf_init(&out, 1 << 20);
    for (i = 0; i < n; i++) {
        cq__post_io io = {&r, param, readfn, 0};

        r.off = 0;
        cq__buf_reset(&out);
        if (!noop)
            status = cq__post_handle(&conf, NULL, &io, &out);
    }
    cq__buf_free(&out);
    cq__dispatch_reset();
    cq__conf_free(&conf);
    if (!noop && status != 200) {
        fprintf(stderr, "post_path: status %d\n", status);
        return 1;
    }
    return 0;
}
