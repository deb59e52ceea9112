#include "config.h"

#include <string.h>

#include "fcgi/answer.h"
#include "lib/ctx.h"
#include "lib/json_put.h"
#include "lib/net.h"

/*
 * The most of a large answer's JSON held at a time: with the header room in
 * front, the buffer stays within 16 KiB, which a thread keeps (a buffer of
 * 64 KiB, kept after a 64 KiB echo, was a second copy of such a body for
 * good). A longer plain stretch of a string goes on uncopied, as one piece,
 * straight from the body; cq__fcgi_put() frames any piece into records.
 */
#define PIECE (16384 - CQ__HEAD_ROOM - 1)

/* Appends the k bytes at s to the header block h of *n bytes, short of
 * CQ__HEAD_ROOM. */
static void put_n(char *h, size_t *n, const char *s, size_t k)
{
    if (k > CQ__HEAD_ROOM - 1 - *n)
        k = CQ__HEAD_ROOM - 1 - *n;
    memcpy(h + *n, s, k);
    *n += k;
}


/* A string literal's bytes, without strlen(): every answer writes a few. */
#define PUT(h, n, lit) put_n(h, n, lit, sizeof(lit) - 1)

/* As put_n(), for a NUL-terminated s. */
static void put(char *h, size_t *n, const char *s)
{
    put_n(h, n, s, strlen(s));
}


/* Appends v in decimal to the header block h of *n bytes. */
static void put_uint(char *h, size_t *n, uint64_t v)
{
    char digits[CQ__UINT_TEXT], *p = cq__buf_uint_text(digits, v);

    put_n(h, n, p, (size_t)(digits + sizeof(digits) - p));
}


/* Plain appends, not printf, which cost more than the rest of a small
 * answer. */
size_t cq__answer_head(char *h, int status, const char *allow, int json,
                       uint64_t json_len)
{
    const char *reason = cq__net_reason(status);
    size_t n = 0;

    PUT(h, &n, "Status: ");
    put_uint(h, &n, (unsigned)status);
    PUT(h, &n, " ");
    put(h, &n, reason != NULL ? reason : "Internal Server Error");
    if (status == 405) {
        PUT(h, &n, "\r\nAllow: ");
        put(h, &n, allow);
    }
    if (status == 401)
        PUT(h, &n, "\r\nWWW-Authenticate: Signature");
    if (json) {
        PUT(h, &n, "\r\nContent-Type: application/json\r\nContent-Length: ");
        put_uint(h, &n, json_len);
    }
    PUT(h, &n, "\r\n\r\n");
    return n;
}


/* The first pass's sink: counts the bytes, and fails past cap (out's). */
typedef struct counter {
    uint64_t n, cap;
} counter;

static int count(void *arg, const char *p, size_t n)
{
    counter *c = arg;

    (void)p;
    c->n += n;
    return c->n > c->cap ? CQ_ETOOBIG : CQ_OK;
}


/* The second pass's sink: sends through io, counting what went. */
typedef struct sender {
    const cq__post_io *io;
    uint64_t n;
} sender;

static int send_on(void *arg, const char *p, size_t n)
{
    sender *s = arg;

    s->n += n;
    return s->io->write(s->io->arg, p, n);
}


/*
 * Sends the answer 200 whose JSON, c's quick operation, is len bytes: the
 * header block, then the JSON written again (hooks not run twice) in
 * pieces, out holding at most one. Returns CQ_OK, CQ_EIO (a write failed,
 * or the second pass wrote other than len bytes) or CQ_ENOMEM.
 */
static int stream(cq_ctx *c, const cq__post_io *io, cq__buf *out, uint64_t len)
{
    char h[CQ__HEAD_ROOM];
    sender s = {io, 0};
    cq__json_sink sink = {send_on, &s, PIECE};
    int rc;

    rc = io->write(io->arg, h, cq__answer_head(h, 200, NULL, 1, len));
    cq__buf_reset(out);
    if (rc == CQ_OK)
        rc = cq__ctx_quick_sink(c, out, &sink, 0);
    if (rc == CQ_OK && out->len > 0)
        rc = send_on(&s, out->data, out->len);
    cq__buf_reset(out);
    if (rc == CQ_OK && s.n != len) {
        cq_log(CQ_LOG_ERROR,
               "quick operation of %llu bytes came out as %llu "
               "the second time",
               (unsigned long long)len, (unsigned long long)s.n);
        rc = CQ_EIO;
    }
    return rc;
}


int cq__answer_quick(cq_ctx *c, const cq__post_io *io, cq__buf *out, int *sent)
{
    counter k = {0, out->toobig};
    cq__json_sink sink = {count, &k, PIECE};
    size_t room = out->len;
    int rc;

    *sent = 0;
    rc = cq__ctx_quick_sink(c, out, io->write != NULL ? &sink : NULL, 1);
    if (rc != CQ_OK || k.n == 0)
        return rc; /* All of it, if any, is in out. */
    if (k.n > out->toobig - out->len)
        return CQ_ETOOBIG; /* As out's cap refuses it when held whole. */
    *sent = 1;
    return stream(c, io, out, k.n + out->len - room);
}
