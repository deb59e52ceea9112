/*
 * The bridge's status as JSON, for ".bridge_status" on the API socket:
 * connected accounts with their roles and waiting calls, and the counters,
 * in a flat form monitoring can scrape.
 */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>

#include "bridge/bridge.h"
#include "lib/buf.h"

static const char *const role_keys[] = {"universal", "api", "event"};

char *cq__bridge_status_json(cq__bridge *br)
{
    const cq__counters *n = &br->n;
    cq__buf b;
    size_t i, pending = 0;
    int first = 1, r, rc;

    cq__buf_init(&b, 64u << 20);
    rc = cq__buf_addstr(&b, "{\"status\":\"ok\",\"retcode\":0,\"data\":"
                            "{\"accounts\":[");
    for (i = 0; rc == CQ_OK && i < CQ__ACCOUNT_BUCKETS; i++) {
        cq__account *a;

        for (a = br->buckets[i]; rc == CQ_OK && a != NULL; a = a->next) {
            pending += a->npending;
            rc = cq__buf_printf(&b, "%s{\"self_id\":%" PRId64, first ? "" : ",",
                                a->self_id);
            for (r = 0; rc == CQ_OK && r < 3; r++)
                rc = cq__buf_printf(&b, ",\"%s\":%s", role_keys[r],
                                    a->slot[r] ? "true" : "false");
            if (rc == CQ_OK)
                rc = cq__buf_printf(&b, ",\"pending\":%zu}", a->npending);
            first = 0;
        }
    }
    if (rc == CQ_OK)
        rc = cq__buf_printf(
            &b,
            "],\"connections\":%zu,\"api_clients\":%zu,\"pending\":%zu,"
            "\"connections_accepted\":%" PRIu64
            ",\"handshakes_rejected\":%" PRIu64 ",\"events_received\":%" PRIu64
            ",\"events_handled\":%" PRIu64 ",\"calls_sent\":%" PRIu64
            ",\"calls_answered\":%" PRIu64 ",\"calls_failed\":%" PRIu64
            ",\"frames_ignored\":%" PRIu64 "}}",
            br->nconns, br->nclients, pending, n->connections_accepted,
            n->handshakes_rejected, n->events_received, n->events_handled,
            n->calls_sent, n->calls_answered, n->calls_failed,
            n->frames_ignored);
    return rc == CQ_OK ? cq__buf_detach(&b) : NULL;
}
