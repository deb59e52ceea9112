/*
 * The bridge's status for ".bridge_status" on the API socket: connected
 * accounts with their roles and waiting calls, and the counters, in a flat
 * form monitoring can scrape.
 */
#include "config.h"


#include "bridge/bridge.h"

static const char *const role_keys[] = {"universal", "api", "event"};

/* Writes the accounts array; returns the calls waiting in all of them. */
static size_t write_accounts(cq__bridge *br, cq__jw *w)
{
    size_t i, pending = 0;
    cq__account *a;
    int r;

    cq__jw_key(w, "accounts");
    cq__jw_aopen(w);
    for (i = 0; i < CQ__ACCOUNT_BUCKETS; i++) {
        for (a = br->buckets[i]; a != NULL; a = a->next) {
            pending += a->npending;
            cq__jw_open(w);
            cq__jw_kint(w, "self_id", a->self_id);
            for (r = 0; r < 3; r++)
                cq__jw_kbool(w, role_keys[r], a->slot[r] != NULL);
            cq__jw_kint(w, "pending", (int64_t)a->npending);
            cq__jw_close(w);
        }
    }
    cq__jw_aclose(w);
    return pending;
}


void cq__bridge_status_write(cq__bridge *br, cq__jw *w)
{
    const cq__counters *n = &br->n;
    cq__queue_totals q;
    size_t pending;

    cq__jw_kstr(w, "status", "ok");
    cq__jw_kint(w, "retcode", 0);
    cq__jw_key(w, "data");
    cq__jw_open(w);
    pending = write_accounts(br, w);
    cq__jw_kint(w, "connections", (int64_t)br->nconns);
    cq__jw_kint(w, "api_clients", (int64_t)br->nclients);
    cq__ipc_status_write(br, w);
    cq__jw_kint(w, "pending", (int64_t)pending);
    cq__jw_kint(w, "connections_accepted", (int64_t)n->connections_accepted);
    cq__jw_kint(w, "handshakes_rejected", (int64_t)n->handshakes_rejected);
    cq__jw_kint(w, "events_received", (int64_t)n->events_received);
    cq__jw_kint(w, "events_handled", (int64_t)n->events_handled);
    cq__jw_kint(w, "calls_sent", (int64_t)n->calls_sent);
    cq__jw_kint(w, "calls_answered", (int64_t)n->calls_answered);
    cq__jw_kint(w, "calls_failed", (int64_t)n->calls_failed);
    cq__jw_kint(w, "frames_ignored", (int64_t)n->frames_ignored);
    /* Flow control (DESIGN.md section 7): what is held, and where. */
    cq__bridge_queue_totals(br, &q);
    cq__jw_kint(w, "events_refused", (int64_t)n->events_refused);
    cq__jw_kint(w, "events_held", (int64_t)q.held_events);
    cq__jw_kint(w, "queued_memory", (int64_t)q.held_memory);
    cq__jw_kint(w, "queued_file", (int64_t)q.held_file);
    cq__jw_kint(w, "queued_outgoing", (int64_t)q.outgoing);
    cq__jw_close(w);
}
