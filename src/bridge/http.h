/*
 * http: the plain HTTP requests cqhttp-bridge serves on its WebSocket
 * port, beside the upgrades: the OneBot HTTP API at /api/<action> and
 * GET /metrics (man/cqhttp-bridge.8, "HTTP API"). Loop thread only.
 *
 * conn.c asks cq__http_wanted() once a request head is parsed; when it
 * says yes it calls cq__http_start(), which puts the connection in
 * CQ__CONN_HTTP, and then passes every later read to cq__http_on_read()
 * and calls cq__http_free() when the connection goes.
 */
#ifndef CQ_BRIDGE_HTTP_H
#define CQ_BRIDGE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "ws/handshake.h"

typedef struct cq__ws_conn cq__ws_conn;

/* Whether req is for this module: no Upgrade, path /api/... or /metrics. */
int cq__http_wanted(const cq__ws_request *req);
/*
 * Takes over c, whose input starts with req's head: judges the head
 * (method, token, action, X-Self-ID, Content-Length against max_body,
 * Content-Type), then waits up to handshake_timeout_ms for the body. Every
 * outcome is one answer and the close. Cannot fail: out of memory is a 500.
 */
void cq__http_start(cq__ws_conn *c, const cq__ws_request *req);
/* More bytes arrived on c: the body, once complete, makes the call. */
void cq__http_on_read(cq__ws_conn *c);
/* Frees c's request state, detaching its call in flight. */
void cq__http_free(cq__ws_conn *c);
/*
 * Writes one whole answer (status, Content-Type type, body[0..len)) with
 * "Connection: close" and closes c once it is sent.
 */
void cq__http_respond(cq__ws_conn *c, int status, const char *type,
                      const char *body, size_t len);

/*
 * http_params.c: the call's params object in *out (free it with
 * yajl_tree_free): body's members (a JSON object, or NULL), then the
 * fields of the form body form[0..form_len) (NULL when none), then the
 * query's (NULL when none), a later one winning; decoded, typed by the
 * action's table. access_token, self_id and echo are not params: self_id
 * goes to *self_id unless it is already set, echo to *echo as JSON text
 * (replacing, and freeing, what was there). Returns CQ_OK, or:
 *
 * CQ_EINVAL   self_id is not a positive integer.
 * CQ_ETOOBIG  more than 128 query and form fields.
 * CQ_ENOMEM   out of memory.
 */
int cq__http_params(const char *action, yajl_val body, const char *form,
                    size_t form_len, const char *query, int64_t *self_id,
                    char **echo, yajl_val *out);

/* metrics.c: answers GET /metrics on c with the bridge's counters. */
void cq__bridge_metrics_answer(cq__ws_conn *c);

#endif
