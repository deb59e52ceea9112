/*
 * api_bridge: API calls through cqhttp-bridge's Unix socket.
 *
 * Wire format, one JSON object per line each way (so that socat or a
 * three-line script can make a call):
 *
 *   request  {"self_id": 10001000, "action": "send_msg", "params": {...},
 *             "id": <any JSON, optional>}
 *   answer   the OneBot result as the implementation sent it over the
 *            WebSocket ({"status", "retcode", "data", ...}, without the
 *            bridge's echo), with "id" copied from the request; or, when
 *            the bridge itself could not get a result, {"status":
 *            "failed", "retcode": -1, "data": null, "bridge": WHY, "msg":
 *            "..."} with WHY one of no_connection, timeout, closed, busy,
 *            bad_request.
 *
 * "self_id" may be left out when exactly one account is connected. Answers
 * come as calls finish, so a client that sends several requests at once
 * matches them by "id"; this client sends one at a time and keeps its
 * connection open between calls. One client belongs to one thread.
 */
#ifndef CQ_API_BRIDGE_H
#define CQ_API_BRIDGE_H

#include <stdint.h>

#include "cqhttp.h"
#include "lib/conf.h"

typedef struct cq__api_bridge cq__api_bridge;

/* NULL when out of memory. Connects lazily, at the first call. */
cq__api_bridge *cq__api_bridge_new(const cq__conf *conf);
void cq__api_bridge_free(cq__api_bridge *b);

/*
 * Sends one call and waits for its answer. Returns CQ_ENOAPI when the
 * bridge cannot carry it (socket absent or refused, or "no_connection" for
 * the account), so the caller may try HTTP; otherwise as cq_call(), with
 * CQ_ENETWORK when the bridge went away mid-call and CQ_ETIMEDOUT when no
 * answer came within api_timeout_ms (plus a margin for the bridge's own).
 */
int cq__api_bridge_call(cq__api_bridge *b, int64_t self_id, const char *action,
                        const char *params, cq_result *out);

#endif
