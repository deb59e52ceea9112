/*
 * api_result: what an API call gives back. The cq_result readers, and
 * cq__api_result_from_body(), which judges an answer body by PROTOCOL.md 3.3
 * for every transport alike (lib/api.h). An answer's tree lives in an arena
 * of its own (lib/arena.h), freed whole by cq_result_free(); the usual
 * answer, a plain "ok", is read from a scan of its top level with only its
 * data parsed.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/api.h"
#include "lib/arena.h"
#include "lib/caps.h"
#include "lib/json.h"
#include "lib/message.h"

/* The detail of a result that has none, or whose detail could not be
 * allocated; never freed. */
static const char no_detail[] = "";
static const char oom_detail[] = "out of memory (for the detail)";

static void detail_free(cq_result *r)
{
    if (r->detail != NULL && r->detail != no_detail && r->detail != oom_detail)
        free((char *)r->detail);
    r->detail = no_detail;
}


void cq__api_result_init(cq_result *r)
{
    memset(r, 0, sizeof(*r));
    r->detail = no_detail;
}


int cq__api_fail(cq_result *out, int err, const char *fmt, ...)
{
    va_list ap;
    char *s;

    out->err = err;
    detail_free(out);
    va_start(ap, fmt);
    if (cq__vformat(&s, fmt, ap) == CQ_OK)
        out->detail = s;
    else
        out->detail = oom_detail;
    va_end(ap);
    return err;
}


/*
 * What a result's priv__ points to: the parsed answer and the arena that
 * holds both, so that a result costs one allocation and one free however
 * big its data is.
 */
typedef struct answer {
    cq__arena *arena;
    yajl_val root;
} answer;

/*
 * priv__ of a result nobody reads (cq__api_result_discard): an "ok" answer
 * leaves it there and parses nothing.
 */
static const char discard_tag;
#define DISCARD ((void *)(uintptr_t)&discard_tag)

void cq_result_free(cq_result *r)
{
    if (r == NULL)
        return;
    if (r->priv__ != NULL && r->priv__ != DISCARD)
        cq__arena_free(((answer *)r->priv__)->arena);
    detail_free(r);
    cq__api_result_init(r);
}


const cq_value *cq_result_get(const cq_result *r, const char *path)
{
    return r != NULL ? cq_value_get(r->data, path) : NULL;
}


int cq_result_int(const cq_result *r, const char *path, int64_t *out)
{
    return cq_value_int(cq_result_get(r, path), out);
}


const char *cq_result_string(const cq_result *r, const char *path)
{
    return cq_value_string(cq_result_get(r, path));
}


const char *cq_result_string_or(const cq_result *r, const char *path,
                                const char *fallback)
{
    const char *s = cq_result_string(r, path);

    return s != NULL && s[0] != '\0' ? s : fallback;
}


const char *cq_result_detail(const cq_result *r)
{
    return r != NULL && r->detail != NULL ? r->detail : no_detail;
}


const cq_value *cq__api_result_root(const cq_result *r)
{
    return r->priv__ != NULL && r->priv__ != DISCARD
               ? cq__cv(((answer *)r->priv__)->root)
               : NULL;
}


void cq__api_result_discard(cq_result *r)
{
    r->priv__ = DISCARD;
}


/*
 * Parses body into an arena of its own, kept in out->priv__ when the text
 * is JSON. Returns CQ_OK, CQ_EPARSE, CQ_EDEPTH or CQ_ENOMEM.
 */
static int parse_answer(const char *body, size_t len, cq_result *out,
                        yajl_val *root)
{
    /* The tree takes about as much room again as its text. */
    cq__arena *a = cq__arena_new(len < 8192 ? 2 * len : len + len / 2);
    answer *an = a != NULL ? cq__arena_alloc(a, sizeof(*an)) : NULL;
    int rc = an != NULL ? CQ_OK : CQ_ENOMEM;

    if (rc == CQ_OK)
        rc = cq__json_parse_arena(root, a, body, len, CQ__CAP_ANSWER_DEPTH);
    if (rc != CQ_OK) {
        cq__arena_free(a);
        return rc;
    }
    an->arena = a;
    an->root = *root;
    out->priv__ = an;
    return CQ_OK;
}


/* Reads a span that is a plain JSON integer into *out; 0 when it is not. */
static int span_int(const cq__json_span *sp, int64_t *out)
{
    char num[24], *end;
    long long n;
    size_t i;

    if (sp->len == 0 || sp->len >= sizeof(num))
        return 0;
    for (i = 0; i < sp->len; i++)
        if (!((sp->p[i] >= '0' && sp->p[i] <= '9') ||
              (i == 0 && sp->p[i] == '-')))
            return 0;
    memcpy(num, sp->p, sp->len);
    num[sp->len] = '\0';
    errno = 0;
    n = strtoll(num, &end, 10);
    if (errno != 0 || *end != '\0')
        return 0;
    *out = n;
    return 1;
}


/*
 * The usual answer, a plain "ok" or "async" with an integer retcode (or
 * none), judged from a scan of its top level (sp, lib/json.h; NULL when the
 * scan failed): only its data is parsed into a tree, the rest never is.
 * Returns 1 when out was filled so, 0 when the answer is to be read whole,
 * as anything else is (a failure, a bridge report, escapes, text the
 * scanner leaves to yajl).
 */
static int read_usual(const cq__json_span *sp, cq_result *out)
{
    int64_t retcode = 0;
    yajl_val data = NULL;
    cq__arena *a;
    answer *an;

    if (sp == NULL || sp[CQ__ANS_BRIDGE].p != NULL ||
        sp[CQ__ANS_STATUS].p == NULL ||
        !((sp[CQ__ANS_STATUS].len == 4 &&
           memcmp(sp[CQ__ANS_STATUS].p, "\"ok\"", 4) == 0) ||
          (sp[CQ__ANS_STATUS].len == 7 &&
           memcmp(sp[CQ__ANS_STATUS].p, "\"async\"", 7) == 0)) ||
        (sp[CQ__ANS_RETCODE].p != NULL &&
         !span_int(&sp[CQ__ANS_RETCODE], &retcode)))
        return 0;
    if (out->priv__ == DISCARD) {
        /* Nobody reads the data: it is not parsed. */
        out->retcode = retcode;
        out->err = CQ_OK;
        return 1;
    }
    a = cq__arena_new(2 * sp[CQ__ANS_DATA].len);
    an = a != NULL ? cq__arena_alloc(a, sizeof(*an)) : NULL;
    /* The data is nested one level less deep than the answer. */
    if (an == NULL || (sp[CQ__ANS_DATA].p != NULL &&
                       cq__json_parse_arena(
                           &data, a, sp[CQ__ANS_DATA].p, sp[CQ__ANS_DATA].len,
                           CQ__CAP_ANSWER_DEPTH - 1) != CQ_OK)) {
        cq__arena_free(a);
        return 0;
    }
    an->arena = a;
    an->root = NULL;
    out->priv__ = an;
    out->retcode = retcode;
    out->data = cq__cv(data);
    out->err = CQ_OK;
    return 1;
}


/* Judges body (len bytes) from its whole tree; returns as
 * cq__api_result_from_body(). */
static int read_whole(const char *body, size_t len, cq_result *out)
{
    yajl_val root;
    const char *status;
    int64_t retcode = 0;
    int rc;

    rc = parse_answer(body, len, out, &root);
    if (rc != CQ_OK)
        return cq__api_fail(out, rc == CQ_ENOMEM ? rc : CQ_EBADRESP,
                            "answer is not JSON (%s)", cq_strerror(rc));
    if (!YAJL_IS_OBJECT(root))
        return cq__api_fail(out, CQ_EBADRESP, "answer is not a JSON object");
    status = cq_value_string(cq_value_get(cq__cv(root), "status"));
    if (cq_value_int(cq_value_get(cq__cv(root), "retcode"), &retcode) == CQ_OK)
        out->retcode = retcode;
    out->data = cq_value_get(cq__cv(root), "data");
    if (status == NULL)
        return cq__api_fail(out, CQ_EBADRESP, "answer has no status");
    /* The status is authoritative, whatever the retcode says. */
    if (strcmp(status, "ok") == 0 || strcmp(status, "async") == 0) {
        out->err = CQ_OK;
        return CQ_OK;
    }
    if (strcmp(status, "failed") == 0) {
        const char *msg =
            cq_value_string(cq_value_get(cq__cv(root), "wording"));

        if (msg == NULL)
            msg = cq_value_string(cq_value_get(cq__cv(root), "msg"));
        return cq__api_fail(out, CQ_EFAILED, "retcode %lld%s%s",
                            (long long)out->retcode, msg ? ": " : "",
                            msg ? msg : "");
    }
    return cq__api_fail(out, CQ_EBADRESP, "unknown status \"%.64s\"", status);
}


int cq__api_result_from_scan(const char *body, size_t len,
                             const cq__json_span *at, cq_result *out)
{
    return read_usual(at, out) ? CQ_OK : read_whole(body, len, out);
}


int cq__api_result_from_body(const char *body, size_t len, cq_result *out)
{
    static const cq__json_key keys[] = {
        CQ__JSON_KEY("status"), CQ__JSON_KEY("retcode"), CQ__JSON_KEY("data"),
        CQ__JSON_KEY("bridge")};
    cq__json_span sp[CQ__ANS_N];
    int scanned = cq__json_scan_object(body, len, CQ__CAP_ANSWER_DEPTH, 0, keys,
                                       CQ__ANS_N, sp) == CQ_OK;

    return cq__api_result_from_scan(body, len, scanned ? sp : NULL, out);
}
