/*
 * metrics: process-wide counters in the Prometheus text format (version
 * 0.0.4), shared by cqhttp-fcgi (GET /metrics through its FastCGI location)
 * and cqhttp-bridge (GET /metrics on its port).
 *
 * Lock-free: every counter is a C11 atomic added to with relaxed order, so
 * any thread counts without a lock and a scrape reads each counter once
 * (counters written by one scrape may be a few events apart; each is
 * monotonic). Nothing is allocated until a scrape writes the text.
 */
#ifndef CQ_METRICS_H
#define CQ_METRICS_H

#include <stdint.h>

#include "lib/buf.h"

/* Who carried an API call: the "transport" label. */
typedef enum cq__mt_transport {
    CQ__MT_WEBSOCKET,   /* A bridge worker's call over the account's socket. */
    CQ__MT_SOCKET,      /* A responder's call through the bridge's socket. */
    CQ__MT_HTTP,        /* A call to api_root through libcurl. */
    CQ__MT_NONE,        /* No transport could carry it. */
    CQ__MT_BRIDGE_HTTP, /* Served: a call on the bridge's /api/<action>. */
    CQ__MT_NTRANSPORTS
} cq__mt_transport;

/*
 * Counts one API call that ended with err (CQ_OK, or the CQ_E* code the
 * call returned; CQ_EFAILED is an answer with a failed status) after ms
 * milliseconds. Any thread. Cannot fail.
 */
void cq__metrics_call_done(cq__mt_transport t, int err, uint64_t ms);

/*
 * Counts one event POST answered with HTTP status (2xx handled, anything
 * else refused, by status). Any thread. Cannot fail.
 */
void cq__metrics_event(int status);

/* A monotonic clock in milliseconds, for call latencies. */
uint64_t cq__metrics_now_ms(void);

/*
 * Appends the counters to b in the text format: the API calls (by transport
 * and outcome), their latency histogram, and, when with_events, the event
 * POSTs. Returns CQ_OK, or as cq__buf_add() (b is then freed).
 */
int cq__metrics_write(cq__buf *b, int with_events);

#endif
