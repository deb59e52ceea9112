/*
 * api: API calls from handlers, whatever carries them.
 *
 * A cq__api is one thread's set of transports: an in-process one (the
 * bridge's workers), the bridge's API socket, and the HTTP API through
 * libcurl. cq_call() picks the transport,
 * and every transport reports through the same cq_result rules, which live
 * here: cq__api_result_from_body() turns an answer body into data or an
 * error, so HTTP and WebSocket answers are judged alike.
 */
#ifndef CQ_API_H
#define CQ_API_H

#include <stddef.h>
#include <stdint.h>

#include "cqhttp.h"
#include "lib/conf.h"

typedef struct cq__api cq__api;

/*
 * Makes one thread's transports for conf (borrowed, must outlive it).
 * Returns NULL when out of memory. Call curl_global_init() first, once, in
 * main before any thread starts. The result belongs to one thread.
 */
cq__api *cq__api_new(const cq__conf *conf);
void cq__api_free(cq__api *a);

/*
 * An in-process transport, tried before the others: cqhttp-bridge gives
 * its workers one that sends over the account's WebSocket. It returns
 * CQ_ENOAPI to let the next transport try, or fills out as cq_call().
 */
typedef int cq__api_local_fn(void *arg, int64_t self_id, const char *action,
                             const char *params, cq_result *out);

void cq__api_set_local(cq__api *a, cq__api_local_fn *fn, void *arg);

/*
 * Calls action with params (a JSON object text) for account self_id (0 when
 * unknown) on a's transports: the in-process one, then the bridge socket,
 * then HTTP. Returns and fills out as cq_call().
 */
int cq__api_call(cq__api *a, int64_t self_id, const char *action,
                 const char *params, cq_result *out);

/*
 * Calls action with params (a JSON object text already known to be valid)
 * through c's transports, logging a failure in one line. Returns and fills
 * out as cq_call(); out must be zeroed by the caller.
 */
int cq__api_call_logged(cq_ctx *c, const char *action, const char *params,
                        cq_result *out);

/*
 * Judges an answer body (len bytes, NUL-terminated) by PROTOCOL.md 3.3:
 * status "ok" or "async" gives CQ_OK with out->data; "failed" gives
 * CQ_EFAILED with out->retcode; anything else gives CQ_EBADRESP. Takes
 * ownership of nothing; out keeps its own parsed copy, in an arena
 * (lib/arena.h) that cq_result_free() gives back whole.
 */
int cq__api_result_from_body(const char *body, size_t len, cq_result *out);

/* The top-level members of an answer that judge it, in this order. */
enum {
    CQ__ANS_STATUS,
    CQ__ANS_RETCODE,
    CQ__ANS_DATA,
    CQ__ANS_BRIDGE,
    CQ__ANS_N
};

/*
 * As cq__api_result_from_body(), with the answer's top level already found
 * by cq__json_scan_object() (at[CQ__ANS_*] are its spans of body, scanned
 * at most CQ__CAP_ANSWER_DEPTH deep), so that an answer is scanned once
 * even when the scan was somebody else's (the bridge's loop). Returns as
 * cq__api_result_from_body().
 */
struct cq__json_span;
int cq__api_result_from_scan(const char *body, size_t len,
                             const struct cq__json_span *at, cq_result *out);

/*
 * The whole answer r was read from (status, msg and all), or NULL when none
 * was parsed whole: a plain "ok" or "async" answer without a "bridge"
 * member is judged from a scan, and only its data becomes a tree. It lives
 * as long as r's data.
 */
const cq_value *cq__api_result_root(const cq_result *r);

/*
 * Marks r, just made empty, as a result nobody will read (a caller passed
 * NULL for it): a plain "ok" answer then fills neither data nor a tree,
 * whatever else still fills everything (the log line reads the detail).
 * cq_result_free() frees it as any other.
 */
void cq__api_result_discard(cq_result *r);

/* Makes r an empty result (zeroed, detail ""), whatever it held before. */
void cq__api_result_init(cq_result *r);

/* Sets out->err and a printf-style detail (freeing an earlier one: out must
 * be initialised); returns err. */
int cq__api_fail(cq_result *out, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#ifdef CQ_UNITTESTS
int cq__api_send_params(cq_params *p, const cq_event *e, const char *text,
                        const cq_msg *msg, int flags);
#endif

#endif
