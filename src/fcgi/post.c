#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cqhttp.h"
#include "fcgi/answer.h"
#include "fcgi/post.h"
#include "lib/auth.h"
#include "lib/ctx.h"
#include "lib/dispatch.h"
#include "lib/event.h"
#include "lib/metrics.h"

/* The process's start time (wall clock), for GET /metrics. */
static time_t started;
/* Requests being handled by all threads: busy threads, for GET /metrics. */
static atomic_int in_flight;

typedef struct request {
    const cq__conf *conf;
    const cq__post_io *io;
    cq__body *mem; /* Where the body is read: io's, or the request's own. */
    char *body;    /* In mem, NUL-terminated once read; NULL before. */
    size_t len;
    const char *peer;         /* For log lines. */
    struct timespec deadline; /* CLOCK_MONOTONIC: the whole body by then. */
    int timed_out;            /* A read ran into the deadline. */
    int sent;                 /* The answer went out through io->write. */
} request;

static const char *param(const request *r, const char *name)
{
    return r->io->param(r->io->arg, name);
}


/*
 * Reads up to n bytes within what is left of body_timeout_ms, so that a
 * trickled body cannot hold a thread longer than that in total. Returns the
 * count, 0 at the end of the body, or CQ_ETIMEDOUT (r->timed_out set).
 */
static int body_read(request *r, char *buf, int n)
{
    struct timespec now;
    long left;
    int got;

    if (r->timed_out)
        return CQ_ETIMEDOUT;
    clock_gettime(CLOCK_MONOTONIC, &now);
    left = (long)(r->deadline.tv_sec - now.tv_sec) * 1000 +
           (r->deadline.tv_nsec - now.tv_nsec) / 1000000;
    got = left > 0 ? r->io->read(r->io->arg, buf, n, (int)left) : CQ_ETIMEDOUT;
    if (got == CQ_ETIMEDOUT)
        r->timed_out = 1;
    return got;
}


/* Reads and discards the rest of the body so a kept connection stays sane. */
static void drain(request *r, uint64_t limit)
{
    char scratch[16384];
    uint64_t got = 0;
    int n;

    while (got < limit) {
        uint64_t want = limit - got;

        n = body_read(r, scratch,
                      want < sizeof(scratch) ? (int)want
                                             : (int)sizeof(scratch));
        if (n <= 0)
            break;
        got += (uint64_t)n;
    }
}


/*
 * The HTTP status for an outcome: the one place where the codes the checks
 * below return become statuses (DESIGN.md section 6).
 */
static int status_of(int rc)
{
    switch (rc) {
    case CQ_OK:
        return 200;
    case CQ_ETOOBIG:
        return 413;
    case CQ_ETIMEDOUT:
        return 408;
    case CQ_EAUTHMISSING:
        return 401;
    case CQ_EAUTHBAD:
        return 403;
    case CQ_EPARSE:
    case CQ_EDEPTH:
    case CQ_ENOTYPE:
    case CQ_EINVAL:
        return 400;
    default:
        return 500;
    }
}


/*
 * Parses a decimal CONTENT_LENGTH or X-Self-ID. Returns CQ_OK, CQ_ERANGE (all
 * digits, but over UINT64_MAX) or CQ_EPARSE.
 */
static int parse_length(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long n;

    if (s[0] < '0' || s[0] > '9')
        return CQ_EPARSE;
    errno = 0;
    n = strtoull(s, &end, 10);
    if (*end != '\0')
        return CQ_EPARSE;
    if (errno != 0)
        return CQ_ERANGE;
    *out = n;
    return CQ_OK;
}


/*
 * Reads the body straight into one buffer: of the announced length when
 * known (want), else grown by doubling up to max_body + 1 bytes (want is
 * then max_body + 1), so that no byte is copied twice. Stops at the end of
 * the input, a timeout (r->timed_out) or want. Returns CQ_OK or CQ_ENOMEM.
 */
static int read_into(request *r, uint64_t want, int known)
{
    cq__body *b = r->mem;
    int n;

    /* An unknown length starts in what the mapping holds (16 KiB at
     * least). */
    if (cq__body_reserve(b, known ? (size_t)want + 1 : 1) != CQ_OK)
        return CQ_ENOMEM;
    r->body = b->p;
    r->len = 0;
    while (r->len < want) {
        size_t room = b->cap - 1 - r->len;

        if (room == 0) {
            if (cq__body_reserve(b, b->cap * 2 > want + 1
                                        ? (size_t)want + 1
                                        : b->cap * 2) != CQ_OK)
                return CQ_ENOMEM;
            r->body = b->p;
            room = b->cap - 1 - r->len;
        }
        if (room > want - r->len)
            room = (size_t)(want - r->len);
        n = body_read(r, r->body + r->len,
                      room < INT_MAX ? (int)room : INT_MAX);
        if (n <= 0)
            break;
        r->len += (size_t)n;
    }
    r->body[r->len] = '\0';
    return CQ_OK;
}


/*
 * Reads the body into r->body. Returns CQ_OK, or after logging why CQ_EPARSE
 * (a malformed length, or a body shorter than it), CQ_ETOOBIG (over
 * max_body), CQ_ETIMEDOUT (not all there within body_timeout_ms) or
 * CQ_ENOMEM.
 */
static int read_body(request *r)
{
    const char *cl = param(r, "CONTENT_LENGTH");
    uint64_t max = (uint64_t)r->conf->max_body, want = max + 1, length = 0;
    int known = 0, n;

    if (cl != NULL && cl[0] != '\0') {
        /* A number too large for 64 bits is still a number: 413, not 400. */
        n = parse_length(cl, &length);
        if (n == CQ_ERANGE)
            length = UINT64_MAX;
        else if (n != CQ_OK) {
            cq_log(CQ_LOG_WARN,
                   "400 from %s: CONTENT_LENGTH \"%.32s\" is not a number",
                   r->peer, cl);
            if (!r->io->cgi)
                drain(r, UINT64_MAX);
            return CQ_EPARSE;
        }
        if (length > max) {
            cq_log(CQ_LOG_WARN,
                   "413 from %s: body of %.32s bytes is over max_body %llu",
                   r->peer, cl, (unsigned long long)max);
            drain(r, length);
            return CQ_ETOOBIG;
        }
        known = 1;
        want = length;
    } else if (r->io->cgi) {
        known = 1;
        want = 0;
    }
    n = read_into(r, want, known);
    if (n != CQ_OK) {
        cq_log(CQ_LOG_ERROR,
               "500 from %s: no memory for a body of %llu bytes (%zu came)",
               r->peer, (unsigned long long)(known ? want : r->len), r->len);
        return n;
    }
    if (r->timed_out) {
        cq_log(CQ_LOG_WARN,
               "408 from %s: body not complete within body_timeout_ms %ld (%zu "
               "bytes came)",
               r->peer, r->conf->body_timeout_ms, r->len);
        return CQ_ETIMEDOUT;
    }
    if (!known && r->len > max) {
        cq_log(CQ_LOG_WARN,
               "413 from %s: body without length is over max_body %llu",
               r->peer, (unsigned long long)max);
        drain(r, UINT64_MAX);
        return CQ_ETOOBIG;
    }
    if (known && r->len < length) {
        cq_log(CQ_LOG_WARN, "400 from %s: body ended after %zu of %llu bytes",
               r->peer, r->len, (unsigned long long)length);
        return CQ_EPARSE;
    }
    return CQ_OK;
}


/* Returns CQ_OK when the credentials pass, else CQ_EAUTHMISSING or
 * CQ_EAUTHBAD after logging why. */
static int check_auth(request *r)
{
    const char *sig = param(r, "HTTP_X_SIGNATURE");
    const char *tok;
    size_t tok_len;
    int rc;

    if (r->conf->secret != NULL) {
        rc = cq__auth_check_signature(r->conf->secret, r->body, r->len, sig);
        if (rc == CQ_EAUTHMISSING) {
            cq_log(CQ_LOG_WARN,
                   "401 from %s: X-Signature missing (a secret is set)",
                   r->peer);
            return CQ_EAUTHMISSING;
        }
        if (rc == CQ_ENOMEM) {
            cq_log(CQ_LOG_ERROR, "500 from %s: no memory to check X-Signature",
                   r->peer);
            return rc;
        }
        if (rc != CQ_OK) {
            cq_log(CQ_LOG_WARN,
                   "403 from %s: X-Signature does not match the body", r->peer);
            return CQ_EAUTHBAD;
        }
    }
    if (r->conf->access_token != NULL) {
        rc = cq__auth_offered_token(param(r, "HTTP_AUTHORIZATION"),
                                    param(r, "QUERY_STRING"), &tok, &tok_len);
        /* OneBot does not send a token with events; absent is fine. */
        if (rc == CQ_EAUTHBAD ||
            (rc == CQ_OK && cq__auth_token_equal(r->conf->access_token, tok,
                                                 tok_len) != CQ_OK)) {
            cq_log(CQ_LOG_WARN, "403 from %s: access token wrong or malformed",
                   r->peer);
            return CQ_EAUTHBAD;
        }
    }
    return CQ_OK;
}


/* X-Self-ID, when present, must be a number equal to the body's self_id.
 * Returns CQ_OK, or CQ_EINVAL after logging why. */
static int check_self_id(request *r, const cq_event *e)
{
    const char *h = param(r, "HTTP_X_SELF_ID");
    int64_t body_id;
    uint64_t hdr_id;

    if (h == NULL)
        return CQ_OK;
    if (parse_length(h, &hdr_id) != CQ_OK || hdr_id > INT64_MAX) {
        cq_log(CQ_LOG_WARN, "400 from %s: X-Self-ID \"%.32s\" is not a number",
               r->peer, h);
        return CQ_EINVAL;
    }
    if (cq_event_int(e, "self_id", &body_id) != CQ_OK ||
        (uint64_t)body_id != hdr_id) {
        cq_log(CQ_LOG_WARN,
               "400 from %s: X-Self-ID %s is not the body's self_id", r->peer,
               h);
        return CQ_EINVAL;
    }
    return CQ_OK;
}


/*
 * Writes the CGI answer without a body into out (emptied first). Returns
 * status, or as cq__buf_add().
 */
static int answer(cq__buf *out, int status, const char *allow)
{
    char h[CQ__HEAD_ROOM];
    size_t n = cq__answer_head(h, status, allow, 0, 0);
    int rc;

    cq__buf_reset(out);
    rc = cq__buf_add(out, h, n);
    return rc == CQ_OK ? status : rc;
}


/*
 * The answer 200 with the JSON that follows CQ__HEAD_ROOM bytes into out:
 * its header block goes just before it, where the answer then starts
 * (*start). Returns 200.
 */
static int answer_json(cq__buf *out, size_t *start)
{
    char h[CQ__HEAD_ROOM];
    size_t n = cq__answer_head(h, 200, NULL, 1, out->len - CQ__HEAD_ROOM);

    memcpy(out->data + CQ__HEAD_ROOM - n, h, n);
    *start = CQ__HEAD_ROOM - n;
    return 200;
}


/*
 * Parses (in the body, lent to the event), checks and dispatches, and appends
 * the quick operation's JSON, if any, to out. Returns CQ_OK, or the failure
 * after logging it.
 */
static int handle_event(request *r, cq__api *api, cq__buf *out)
{
    cq_event *e;
    cq_ctx ctx;
    int rc;

    rc = cq__event_parse_lent(&e, r->body, r->len, (int)r->conf->max_depth);
    if (rc != CQ_OK) {
        cq_log(rc == CQ_ENOMEM ? CQ_LOG_ERROR : CQ_LOG_WARN,
               "%d from %s: body is not an event: %s", status_of(rc), r->peer,
               cq_strerror(rc));
        return rc;
    }
    rc = check_self_id(r, e);
    if (rc != CQ_OK) {
        cq_event_free(e);
        return rc;
    }
    cq__ctx_init(&ctx, e, r->conf, api);
    rc = cq__dispatch(&ctx);
    if (rc == CQ_OK)
        rc = cq__answer_quick(&ctx, r->io, out, &r->sent);
    if (rc != CQ_OK && r->sent) {
        /* Nothing more can be said: the web server sees it end early. */
        cq_log(CQ_LOG_WARN, "200 to %s for %s cut short: %s", r->peer,
               cq_event_name(e), cq_strerror(rc));
    } else if (rc != CQ_OK) {
        if (rc != CQ_EHANDLER)
            cq_log(CQ_LOG_ERROR,
                   "500 from %s: quick operation for %s cannot be written: %s",
                   r->peer, cq_event_name(e), cq_strerror(rc));
        /* Whatever the cause, the event was fine: the answer is 500. */
        rc = CQ_EHANDLER;
    } else {
        cq_log(CQ_LOG_DEBUG, "%d for %s from %s",
               r->sent || out->len > CQ__HEAD_ROOM ? 200 : 204,
               cq_event_name(e), r->peer);
    }
    cq__ctx_free(&ctx);
    cq_event_free(e);
    return rc;
}


/*
 * Whether the request is for /metrics: the path of REQUEST_URI, which nginx
 * (fastcgi_params) and Apache (mod_proxy_fcgi) both pass as the client sent
 * it. The web server's location decides who may ask (loopback only in the
 * shipped configs); a path it rewrote to /metrics is not recognised and
 * gets the event endpoint's 405, which fails closed.
 */
static int is_metrics(const request *r)
{
    const char *uri = param(r, "REQUEST_URI");
    size_t n = sizeof("/metrics") - 1;

    return uri != NULL && strncmp(uri, "/metrics", n) == 0 &&
           (uri[n] == '\0' || uri[n] == '?');
}


/*
 * GET /metrics: the library's counters (lib/metrics.h), event POSTs
 * included, the threads, how many are busy, and the start time, in the
 * Prometheus text format 0.0.4. No Content-Length: the web server frames
 * the answer. Returns 200, or as cq__buf_add() (out is then freed).
 */
static int metrics_answer(cq__buf *out, const cq__conf *conf)
{
    int rc = cq__buf_addstr(out, "Status: 200 OK\r\nContent-Type: text/plain; "
                                 "version=0.0.4; charset=utf-8\r\n\r\n");

    if (rc == CQ_OK)
        rc = cq__metrics_write(out, 1);
    if (rc == CQ_OK)
        rc = cq__buf_printf(
            out,
            "# HELP process_start_time_seconds Start time of the process since "
            "the Unix epoch in seconds.\n# TYPE process_start_time_seconds "
            "gauge\nprocess_start_time_seconds %lld\n# HELP "
            "cqhttp_fcgi_threads Threads, each serving one request at a "
            "time.\n# TYPE cqhttp_fcgi_threads gauge\ncqhttp_fcgi_threads "
            "%ld\n# HELP cqhttp_fcgi_requests_in_flight Requests being served, "
            "this scrape included.\n# TYPE cqhttp_fcgi_requests_in_flight "
            "gauge\ncqhttp_fcgi_requests_in_flight %d\n",
            (long long)started, conf->threads,
            atomic_load_explicit(&in_flight, memory_order_relaxed));
    return rc == CQ_OK ? 200 : rc;
}


/*
 * Answers 405 to a method the path does not take (allow: POST for events,
 * GET for metrics), after reading and discarding any body so that a kept
 * connection stays in step. Returns 405, or as answer().
 */
static int refuse_method(request *r, cq__buf *out, const char *method,
                         const char *allow)
{
    const char *cl = param(r, "CONTENT_LENGTH");
    uint64_t length;

    cq_log(CQ_LOG_WARN, "405 from %s: method %.16s, only %s %s", r->peer,
           method ? method : "(none)", allow,
           allow[0] == 'P' ? "carries events" : "reads metrics");
    if (cl != NULL && parse_length(cl, &length) == CQ_OK)
        drain(r, length);
    else if (!r->io->cgi)
        drain(r, UINT64_MAX);
    return answer(out, 405, allow);
}


void cq__post_start(void)
{
    started = time(NULL);
}


/* The event endpoint: a POST. Returns as cq__post_handle(). */
static int handle_post(request *r, cq__api *api, cq__buf *out, size_t *start)
{
    static const char room[CQ__HEAD_ROOM];
    cq__body own = {NULL, 0};
    int rc, status;

    r->mem = r->io->body != NULL ? r->io->body : &own;
    rc = read_body(r);
    if (rc == CQ_OK)
        rc = check_auth(r);
    if (rc == CQ_OK)
        rc = cq__buf_add(out, room, CQ__HEAD_ROOM);
    if (rc == CQ_OK)
        rc = handle_event(r, api, out);
    /* The event lent the body is gone: the mapping is kept for the next. */
    cq__body_done(r->mem);
    cq__body_free(&own);
    if (r->sent) {
        cq__metrics_event(200);
        return 200; /* All of it went through io->write. */
    }
    status = status_of(rc);
    if (status == 200 && out->len <= CQ__HEAD_ROOM)
        status = 204;
    cq__metrics_event(status);
    return status == 200 ? answer_json(out, start) : answer(out, status, NULL);
}


static int handle(const cq__conf *conf, cq__api *api, const cq__post_io *io,
                  cq__buf *out, size_t *start)
{
    request r;
    const char *method;

    memset(&r, 0, sizeof(r));
    r.conf = conf;
    r.io = io;
    clock_gettime(CLOCK_MONOTONIC, &r.deadline);
    r.deadline.tv_sec += conf->body_timeout_ms / 1000;
    r.deadline.tv_nsec += (conf->body_timeout_ms % 1000) * 1000000;
    if (r.deadline.tv_nsec >= 1000000000) {
        r.deadline.tv_sec++;
        r.deadline.tv_nsec -= 1000000000;
    }
    r.peer = param(&r, "REMOTE_ADDR");
    if (r.peer == NULL)
        r.peer = "local peer";
    method = param(&r, "REQUEST_METHOD");
    if (is_metrics(&r))
        return method != NULL && strcmp(method, "GET") == 0
                   ? metrics_answer(out, conf)
                   : refuse_method(&r, out, method, "GET");
    if (method == NULL || strcmp(method, "POST") != 0) {
        /* Not an event, but a refused one all the same: counted. */
        cq__metrics_event(405);
        return refuse_method(&r, out, method, "POST");
    }
    return handle_post(&r, api, out, start);
}


int cq__post_handle(const cq__conf *conf, cq__api *api, const cq__post_io *io,
                    cq__buf *out, size_t *start)
{
    int status;

    *start = 0;
    cq__buf_reset(out);
    atomic_fetch_add_explicit(&in_flight, 1, memory_order_relaxed);
    status = handle(conf, api, io, out, start);
    atomic_fetch_sub_explicit(&in_flight, 1, memory_order_relaxed);
    return status;
}
