/*
 * api_http: the OneBot HTTP API over libcurl (PROTOCOL.md section 3).
 *
 * One persistent easy handle per thread, so connections to the API server
 * are kept alive and reused; settings are applied once at creation.
 * POST {api_root}/{action} with the params as a JSON body and
 * "Authorization: Bearer <token>" when a token is set, and
 * "X-Self-ID: <account>" when the call is for a known account (what
 * nginx/cqhttp-cluster.conf routes API calls by).
 */
#ifndef CQ_API_HTTP_H
#define CQ_API_HTTP_H

#include "cqhttp.h"
#include "lib/conf.h"

typedef struct cq__api_http cq__api_http;

/* NULL when out of memory or libcurl cannot start. One thread only. */
cq__api_http *cq__api_http_new(const cq__conf *conf);
void cq__api_http_free(cq__api_http *h);

/*
 * Performs one call for account self_id (0: unknown, no X-Self-ID sent).
 * Returns CQ_OK, CQ_EFAILED, CQ_EHTTP, CQ_EBADRESP,
 * CQ_ECONNREFUSED, CQ_ETIMEDOUT, CQ_ENETWORK or CQ_ENOMEM, with out filled.
 */
int cq__api_http_call(cq__api_http *h, int64_t self_id, const char *action,
                      const char *params, cq_result *out);

#endif
