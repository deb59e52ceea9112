/*
 * Fuzz target: both sides of the WebSocket opening handshake
 * (src/ws/handshake.h). As a request: parsed as the bridge feeds it, judged
 * with and without an access token, and answered; every verdict must give a
 * complete answer in CQ__WS_MAX_ANSWER bytes. As an answer: its head (up to
 * the first CRLFCRLF) is parsed and checked as "cqhttp-sim connect" does.
 */
#define _GNU_SOURCE
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "ws/handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void answer(const cq__ws_request *req, const cq__ws_verdict *v)
{
    char out[CQ__WS_MAX_ANSWER];
    int n = cq__ws_answer(req, v, out, sizeof(out));

    if (n <= 0 || (size_t)n != strlen(out))
        abort();
}


static void server_side(const char *buf, size_t len)
{
    static const char *const tokens[] = {NULL, "secret"};
    cq__ws_request req;
    cq__ws_verdict v;
    int rc;
    size_t i;

    rc = cq__ws_parse_request(buf, len, &req);
    if (rc <= 0) {
        if (rc != CQ_EAGAIN && rc != CQ_ETOOBIG && rc != CQ_EPARSE)
            abort();
        cq__ws_verdict_for_error(rc, &v);
        answer(NULL, &v);
        return;
    }
    if ((size_t)rc > len || (size_t)rc > CQ__WS_MAX_HEAD ||
        (size_t)rc != req.head_len)
        abort();
    for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
        cq__ws_judge(&req, tokens[i], &v);
        answer(&req, &v);
    }
}


static void client_side(const char *buf, size_t len)
{
    /* The key that cqhttp-sim would have sent, and its answer. */
    static const char accept[] = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    cq__ws_response r;
    const char *why;
    char *head;
    size_t head_len;

    if (end == NULL)
        return;
    head_len = (size_t)(end - buf) + 4;
    head = malloc(head_len + 1);
    if (head == NULL)
        return;
    memcpy(head, buf, head_len);
    head[head_len] = '\0';
    if (cq__ws_parse_response(head, &r) == CQ_OK) {
        if (r.status < 100 || r.status > 599 || r.reason == NULL)
            abort();
        if (cq__ws_check_response(&r, accept, &why) != CQ_OK && why == NULL)
            abort();
    }
    free(head);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    server_side((const char *)data, size);
    client_side((const char *)data, size);
    return 0;
}
