/*
 * GET /metrics on the bridge's port: the library's API-call counters
 * (lib/metrics.h) and the bridge's own, from its counters, connections and
 * queues, in the Prometheus text format. Loop thread only, so the bridge's
 * fields are read without locks.
 */
#include "config.h"

#include <inttypes.h>

#include "bridge/bridge.h"
#include "bridge/http.h"
#include "lib/buf.h"
#include "lib/metrics.h"

/* The scrape's size bound: the text is a few kilobytes. */
#define METRICS_MAX (1u << 20)

typedef struct row {
    const char *name, *type, *help;
    uint64_t value;
} row;

static int write_rows(cq__buf *b, const row *r, size_t n)
{
    size_t i;
    int rc = CQ_OK;

    for (i = 0; i < n && rc == CQ_OK; i++)
        rc = cq__buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n",
                            r[i].name, r[i].help, r[i].name, r[i].type,
                            r[i].name, r[i].value);
    return rc;
}


static int write_bridge(cq__buf *b, cq__bridge *br)
{
    const cq__counters *n = &br->n;
    cq__queue_totals q;

    cq__bridge_queue_totals(br, &q);
    {
        const row r[] = {
            {"cqhttp_events_received_total", "counter",
             "Events read from the accounts' connections.", n->events_received},
            {"cqhttp_events_handled_total", "counter",
             "Events the handlers finished.", n->events_handled},
            {"cqhttp_events_refused_total", "counter",
             "Events dropped: neither memory nor spill file had room.",
             n->events_refused},
            {"cqhttp_bridge_connections", "gauge",
             "Open connections on the WebSocket port.", br->nconns},
            {"cqhttp_bridge_connections_accepted_total", "counter",
             "Connections accepted on the WebSocket port.",
             n->connections_accepted},
            {"cqhttp_bridge_handshakes_rejected_total", "counter",
             "Upgrade requests refused.", n->handshakes_rejected},
            {"cqhttp_bridge_accounts", "gauge", "Accounts connected.",
             br->naccounts},
            {"cqhttp_bridge_api_clients", "gauge", "Clients on the API socket.",
             br->nclients},
            {"cqhttp_bridge_calls_sent_total", "counter",
             "API calls sent over the accounts' connections.", n->calls_sent},
            {"cqhttp_bridge_calls_failed_total", "counter",
             "API calls that timed out or lost their connection.",
             n->calls_failed},
            {"cqhttp_bridge_held_events", "gauge",
             "Events read and waiting for a worker.", q.held_events},
            {"cqhttp_bridge_held_memory_bytes", "gauge",
             "Bytes of held events in memory.", q.held_memory},
            {"cqhttp_bridge_held_file_bytes", "gauge",
             "Bytes of held events in spill files.", q.held_file},
            {"cqhttp_bridge_outgoing_bytes", "gauge",
             "Bytes waiting to go out on the connections.", q.outgoing},
        };

        return write_rows(b, r, sizeof(r) / sizeof(r[0]));
    }
}


void cq__bridge_metrics_answer(cq__ws_conn *c)
{
    cq__buf b;
    int rc;

    cq__buf_init(&b, METRICS_MAX);
    rc = cq__metrics_write(&b, 0);
    if (rc == CQ_OK)
        rc = write_bridge(&b, c->br);
    if (rc != CQ_OK || b.data == NULL)
        cq__http_respond(c, 500, "text/plain", "out of memory\n", 14);
    else
        cq__http_respond(c, 200, "text/plain; version=0.0.4; charset=utf-8",
                         b.data, b.len);
    cq__buf_free(&b);
}
