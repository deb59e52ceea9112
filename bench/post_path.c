/*
 * The responder's per-request path in-process, for instruction counts under
 * callgrind (bench/instr.sh): N signed private-message events through
 * cq__post_handle(), the function cqhttp-fcgi runs for every request, with
 * the handlers of handlers/ linked in. With "noop" it runs the same loop
 * without the request, the reference for what the loop itself costs; with
 * "hmac" it only checks the body's signature, the part of the request that
 * no responder with a secret can leave out. A third argument, KiB, makes
 * the message's text that many KiB of "x" (as bench/post.py's large
 * bodies), for the cost per KiB of body.
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


/* A large answer's pieces (fcgi/answer.h), dropped as a socket would
 * take them. */
static int writefn(void *arg, const char *p, size_t n)
{
    (void)arg;
    (void)p;
    (void)n;
    return CQ_OK;
}


/* A private message of about size bytes whose text is all "x". */
static char *big_body(size_t size)
{
    static const char head[] =
        "{\"time\":1700000000,\"self_id\":10001000,\"post_type\":"
        "\"message\",\"message_type\":\"private\",\"sub_type\":\"friend\","
        "\"message_id\":-2147483000,\"user_id\":12345,\"message\":\"";
    static const char tail[] =
        "\",\"raw_message\":\"x\",\"font\":0,\"sender\":{\"user_id\":"
        "12345,\"nickname\":\"tester\"}}";
    size_t fixed = sizeof(head) - 1 + sizeof(tail) - 1;
    size_t text = size > fixed ? size - fixed : 1;
    char *b = malloc(fixed + text + 1);

    if (b == NULL)
        abort();
    memcpy(b, head, sizeof(head) - 1);
    memset(b + sizeof(head) - 1, 'x', text);
    memcpy(b + sizeof(head) - 1 + text, tail, sizeof(tail));
    return b;
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
    long kib = argc > 3 ? atol(argv[3]) : 0;
    const char *mode = argc > 2 ? argv[2] : "";
    int noop = strcmp(mode, "noop") == 0, hmac = strcmp(mode, "hmac") == 0;
    int status = 200;
    char *big = kib > 0 ? big_body((size_t)kib * 1024) : NULL;
    cq__conf conf;
    cq__buf out;
    cq__body mem = {NULL, 0}; /* Kept across requests, as a thread's is. */
    size_t start;
    req r;

    /* The example bot's API call fails (no API): keep its log line out. */
    cq__log_setup("post-path", CQ_LOG_ERROR);
    cq__conf_init(&conf);
    conf.secret = strdup(SECRET);
    cq__dispatch_prepare();
    memset(&r, 0, sizeof(r));
    r.body = big != NULL ? big : body;
    r.len = strlen(r.body);
    cq__auth_sign(SECRET, r.body, r.len, r.sig);
    snprintf(r.length, sizeof(r.length), "%zu", r.len);
    cq__buf_init(&out, 1 << 20);
    for (i = 0; i < n; i++) {
        cq__post_io io = {&r, param, readfn, writefn, 0, &mem};

        r.off = 0;
        cq__buf_reset(&out);
        if (hmac &&
            cq__auth_check_signature(SECRET, r.body, r.len, r.sig) != CQ_OK)
            status = 403;
        else if (!noop && !hmac)
            status = cq__post_handle(&conf, NULL, &io, &out, &start);
    }
    cq__buf_free(&out);
    cq__body_free(&mem);
    free(big);
    cq__dispatch_reset();
    cq__conf_free(&conf);
    if (status != 200) {
        fprintf(stderr, "post_path: status %d\n", status);
        return 1;
    }
    return 0;
}
