/*
 * pending: the API calls the bridge sent and whose answers it waits for
 * (the pending-call table), by account; see pending.c. Loop thread only.
 */
#ifndef CQ_BRIDGE_PENDING_H
#define CQ_BRIDGE_PENDING_H

#include <stddef.h>

#include "bridge/bridge.h"

/* How many ended calls' structs are kept for reuse, at most. */
#define CQ__PENDING_SPARES 64

/*
 * Sends {action, params, echo} for acct and registers a pending call that
 * ends through cb. params is a JSON object, or NULL for {}. On failure cb is
 * not called and the error is returned: CQ_ENOAPI (acct NULL or without an
 * API connection), CQ_EAGAIN (max_pending calls wait, or the connection's
 * queue is full) or CQ_ENOMEM (or what writing params reports).
 */
int cq__account_call(cq__bridge *br, cq__account *acct, const char *action,
                     yajl_val params, cq__pending_cb *cb, void *arg,
                     cq__pending **out);
/*
 * As cq__account_call, with params as JSON text of plen bytes that is known
 * to be an object (the library wrote or checked it): sent as it is. The
 * call ends through cb with the answer as text.
 */
int cq__account_call_text(cq__bridge *br, cq__account *acct, const char *action,
                          const char *params, size_t plen,
                          cq__pending_text_cb *cb, void *arg,
                          cq__pending **out);
/*
 * Handles a text message that is not an event, an API answer, with what
 * cq__frame_read found: a requester with a text callback gets f with the
 * text, rather than scan it again.
 */
void cq__account_on_frame(cq__bridge *br, cq__ws_conn *c, const cq__frame *f);
/* Cancels the callback of a pending call whose requester went away. */
void cq__pending_detach(cq__pending *p);
/* Ends every pending call with err and msg; returns how many there were. */
size_t cq__accounts_fail_all(cq__bridge *br, int err, const char *msg);
/* Ends every call that went out on c (CQ_ENETWORK): c is closing. */
void cq__pending_fail_conn(cq__bridge *br, cq__ws_conn *c);
/* Frees the structs kept for reuse; with the bridge, once no call waits. */
void cq__pending_free_spares(cq__bridge *br);

#endif
