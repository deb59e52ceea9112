/*
 * cqhttp-bridge internals: the reverse-WebSocket server, its accounts, the
 * API socket and the worker pool.
 *
 * Threads: one event-loop thread owns every socket, every connection, every
 * account and every pending call; nothing here is touched from elsewhere,
 * except the two queues of workers.c, which have their own lock. Workers run
 * handlers and hand API calls to the loop through that module.
 *
 * Ownership: the bridge owns its connections (a list), a connection belongs
 * to at most one account slot, an account owns its pending calls. A pending
 * call always ends exactly once: with the answer frame, its timeout, or the
 * close of the connection it went out on; its requester (an API-socket
 * client or a worker) is told through its callback.
 */
#ifndef CQ_BRIDGE_H
#define CQ_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "ws/handshake.h"
#include "ws/stream.h"
#include "cqhttp.h"
#include "lib/conf.h"
#include "lib/json.h"

typedef struct cq__bridge cq__bridge;
typedef struct cq__ws_conn cq__ws_conn;
typedef struct cq__account cq__account;
typedef struct cq__pending cq__pending;
typedef struct cq__workers cq__workers;
typedef struct cq__ipc_client cq__ipc_client;

/*
 * Return codes: every function here returns CQ_OK or a negative CQ_E* code
 * from cqhttp.h, and a pending call ends with one. The bridge uses them so:
 *
 *   CQ_ENOAPI     no API connection for the account (or no account chosen)
 *   CQ_ETIMEDOUT  no answer within api_timeout_ms
 *   CQ_ENETWORK   the connection carrying the call closed, or the bridge is
 *                 stopping (the loop no longer runs, so no answer can come)
 *   CQ_EAGAIN     a queue is full: calls waiting, outgoing bytes, events
 *   CQ_ENOMEM     out of memory
 *   CQ_EINVAL     a malformed request on the API socket
 *
 * What goes on the wire for each (the API socket's "bridge" member, the
 * WebSocket close code) is decided only by the two functions below, in
 * bridge.c.
 */

/* The "bridge" member of a failed API-socket answer ("timeout", ...). */
const char *cq__bridge_ipc_name(int err);
/* The WebSocket close code for closing a connection because of err. */
uint16_t cq__bridge_close_code(int err);

/* An API-socket request nests no deeper than this (params included). */
#define CQ__IPC_MAX_DEPTH 64

/*
 * Told once when a call ends: frame is the answer (a parsed JSON object, or
 * NULL when err is not CQ_OK) and msg says why it failed. Loop thread.
 */
typedef void cq__pending_cb(void *arg, const cq_value *frame, int err,
                            const char *msg);

struct cq__pending {
    uint64_t id; /* Sent as the echo "cq:<id>". */
    cq__account *acct;
    cq__ws_conn *conn;  /* The connection it went out on. */
    cq__pending_cb *cb; /* NULL once the requester went away. */
    void *arg;
    struct event *timer;
    cq__pending *prev, *next; /* In the account's list. */
    cq__pending *owner_next;  /* In the requester's list, if it keeps one. */
};

struct cq__account {
    int64_t self_id;
    cq__ws_conn *slot[3]; /* By cq__ws_role: Universal, API, Event. */
    cq__pending *pending; /* Calls waiting for an answer. */
    size_t npending;
    cq__account *next; /* In the bridge's hash bucket. */
};

#define CQ__ACCOUNT_BUCKETS 1024

typedef struct cq__counters {
    uint64_t connections_accepted;
    uint64_t handshakes_rejected;
    uint64_t events_received;
    uint64_t events_handled;
    uint64_t calls_sent;
    uint64_t calls_answered;
    uint64_t calls_failed;
    uint64_t frames_ignored;
} cq__counters;

struct cq__bridge {
    struct event_base *base;
    const cq__conf *conf;
    cq__account *buckets[CQ__ACCOUNT_BUCKETS];
    size_t naccounts;
    cq__ws_conn *conns; /* Every WebSocket connection. */
    size_t nconns;
    cq__ipc_client *clients; /* Every API-socket client. */
    size_t nclients;
    uint64_t next_id;
    cq__workers *workers;
    struct evconnlistener *ws_listener;
    struct evconnlistener *ipc_listener;
    int stopping;
    cq__counters n;
};

/* An event that arrived while the workers were full. */
typedef struct cq__held {
    struct cq__held *next;
    size_t len;
    char json[];
} cq__held;

/* conn.c: one TCP connection from handshake to close. */
typedef enum cq__conn_state {
    CQ__CONN_HANDSHAKE,
    CQ__CONN_OPEN,
    CQ__CONN_CLOSING
} cq__conn_state;

struct cq__ws_conn {
    cq__bridge *br;
    struct bufferevent *bev;
    cq__ws_stream *ws; /* NULL during the handshake. */
    cq__conn_state state;
    cq__ws_role role;
    int64_t self_id;
    cq__account *acct;   /* NULL until registered. */
    struct event *timer; /* Handshake deadline, then keepalive. */
    uint64_t last_rx_ms;
    struct cq__held *held; /* Events waiting for a worker, in order. */
    struct cq__held *held_tail;
    size_t held_bytes;
    size_t npending; /* Calls whose answers come on this one. */
    char peer[64];
    cq__ws_conn *prev, *next; /* In the bridge's list. */
};

/* Accepts a new TCP connection on the WebSocket port. */
void cq__conn_accept(cq__bridge *br, int fd, const char *peer);
/* Queues a text message; returns 0 or -1 (closing, or queue full). */
int cq__conn_send_text(cq__ws_conn *c, const char *text, size_t len);
/* Starts a clean close with code and reason (the peer's socket stays until
 * the close handshake ends or times out). */
void cq__conn_close(cq__ws_conn *c, uint16_t code, const char *reason);
/* Hands held events to free workers and resumes reading where it can. */
void cq__conn_resume_paused(cq__bridge *br);
/* Reads again although events are held: an answer is awaited on c. */
void cq__conn_reading_needed(cq__ws_conn *c);
/* Frees every connection at once (shutdown). */
void cq__conn_free_all(cq__bridge *br);
uint64_t cq__now_ms(void);

/* accounts.c */
cq__account *cq__account_find(cq__bridge *br, int64_t self_id);
/* The only account when exactly one is connected, else NULL. */
cq__account *cq__account_sole(cq__bridge *br);
/*
 * Puts c in its account's slot, closing the connection it replaces.
 * Returns CQ_OK or CQ_ENOMEM.
 */
int cq__account_attach(cq__bridge *br, cq__ws_conn *c);
/* Takes c out of its slot and fails the calls that went out on it. */
void cq__account_detach(cq__bridge *br, cq__ws_conn *c);
/* The connection that carries API calls for a (API, else Universal). */
cq__ws_conn *cq__account_api_conn(cq__account *a);
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
/* Handles a text message that is not an event: an API answer. */
void cq__account_on_result(cq__bridge *br, cq__ws_conn *c,
                           const cq_value *frame);
/* Cancels the callback of a pending call whose requester went away. */
void cq__pending_detach(cq__pending *p);
/* Ends every pending call with err and msg; returns how many there were. */
size_t cq__accounts_fail_all(cq__bridge *br, int err, const char *msg);
/* Frees every account, failing their calls (CQ_ENETWORK). */
void cq__accounts_free(cq__bridge *br);

/* ipc.c: the API socket. Returns CQ_OK, CQ_EINVAL (path too long) or
 * CQ_EIO (cannot bind). */
int cq__ipc_listen(cq__bridge *br, const char *path);
void cq__ipc_free_all(cq__bridge *br);
/* Checks one request line without I/O (the fuzz target calls it too): see
 * ipc.c for the members. Returns CQ_OK, CQ_EPARSE or CQ_EINVAL. */
int cq__ipc_parse(const char *line, size_t len, yajl_val *req,
                  const char **action, yajl_val *params, int64_t *self_id,
                  char **id);

/* workers.c: the handler pool. NULL when out of memory or no thread. */
cq__workers *cq__workers_new(cq__bridge *br, int n, size_t queue_cap);
/*
 * Offers an event (its bytes, copied) from account self_id to the pool.
 * Returns CQ_OK, CQ_EAGAIN (queue full or stopping: the caller pauses
 * reading) or CQ_ENOMEM.
 */
int cq__workers_offer(cq__workers *w, int64_t self_id, const char *json,
                      size_t len);
/*
 * Asks the workers to stop after their current event; the loop exits once
 * none runs (their API calls need the loop until then). Loop thread.
 */
void cq__workers_stop(cq__workers *w);
int cq__workers_running(cq__workers *w);
/*
 * The loop has stopped: calls queued by workers and every later one fail at
 * once with CQ_ENETWORK, and workers no longer wake the loop. Loop thread,
 * after event_base_dispatch() returned.
 */
void cq__workers_close(cq__workers *w);
/*
 * Stops and closes the pool, waits up to wait_ms for its workers, joins
 * those that ended and drops queued events with a log line. Workers still
 * busy after that are logged in one line and left running, detached; the
 * pool stays allocated for them (the process is exiting). Never blocks
 * longer than wait_ms.
 */
void cq__workers_free(cq__workers *w, long wait_ms);

/*
 * status.c: counters and accounts (the ".bridge_status" call), written as
 * the members of an answer object already open in w.
 */
void cq__bridge_status_write(cq__bridge *br, cq__jw *w);

#endif
