/*
 * cqhttp-bridge internals: the reverse-WebSocket server, the forward
 * WebSocket dialer (ws_forward, dial.c), their accounts, the API socket and
 * the worker pool.
 *
 * Threads: one event-loop thread owns every socket, every connection, every
 * account and every pending call; nothing here is touched from elsewhere,
 * except the queues of workers.c, which have their own lock. Workers run
 * handlers, as fibers, and hand API calls to the loop through that module.
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
#include "lib/api.h"
#include "lib/conf.h"
#include "lib/json.h"

typedef struct cq__bridge cq__bridge;
typedef struct cq__frame cq__frame;
typedef struct cq__ws_conn cq__ws_conn;
typedef struct cq__account cq__account;
typedef struct cq__pending cq__pending;
typedef struct cq__workers cq__workers;
typedef struct cq__ipc_client cq__ipc_client;
typedef struct cq__spool cq__spool;
typedef struct cq__dialer cq__dialer;

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
/*
 * The members of the bridge's own failure answer, into the open object w:
 * status "failed", retcode -1, data null, "bridge" naming err as above and
 * "msg" (NULL: "") saying why. Errors latch in w.
 */
void cq__bridge_write_failure(cq__jw *w, int err, const char *msg);

/* An API-socket request nests no deeper than this (params included). */
#define CQ__IPC_MAX_DEPTH 64

/*
 * Told once when a call ends: frame is the answer (a parsed JSON object, or
 * NULL when err is not CQ_OK) and msg says why it failed. Loop thread.
 */
typedef void cq__pending_cb(void *arg, const cq_value *frame, int err,
                            const char *msg);
/*
 * As cq__pending_cb, with the answer as the frame's own text (len bytes,
 * NUL-terminated, valid during the call; NULL when err is not CQ_OK), for a
 * requester that parses it itself: no tree is built on the loop. f is the
 * loop's scan of the text (cq__frame_read), valid during the call, or NULL
 * (the call ended without an answer), so that the requester need not scan
 * it again.
 */
typedef void cq__pending_text_cb(void *arg, const char *text, size_t len,
                                 const cq__frame *f, int err, const char *msg);

struct cq__pending {
    uint64_t id; /* Sent as the echo "cq:<id>". */
    cq__account *acct;
    cq__ws_conn *conn;            /* The connection it went out on. */
    cq__pending_cb *cb;           /* NULL once the requester went away. */
    cq__pending_text_cb *text_cb; /* Instead of cb, or NULL. */
    void *arg;
    uint64_t deadline_ms;     /* When it times out, by cq__now_ms(). */
    cq__pending *prev, *next; /* In the account's list. */
    cq__pending *owner_next;  /* In the requester's list, if it keeps one. */
};

struct cq__account {
    int64_t self_id;
    cq__ws_conn *slot[3]; /* By cq__ws_role: Universal, API, Event. */
    /* Calls waiting for an answer, oldest first: answers mostly come in
     * order, so the one matched is near the head. */
    cq__pending *pending, *pending_tail;
    size_t npending;
    /* Ends the calls that time out (pending.c): set for timer_at, the
     * earliest deadline, or unset (timer_at 0). NULL until the first call. */
    struct event *timer;
    uint64_t timer_at;
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
    uint64_t events_refused; /* Read, but neither memory nor file had room. */
    uint64_t api_clients_refused; /* By api_allow or max_connections. */
    uint64_t api_clients_stalled; /* Closed: answers unread too long. */
} cq__counters;

/*
 * A log line that may come once per CQ__RATELOG_MS at most: the rest are
 * counted and the count goes into the next line, so a flood of failures
 * costs neither CPU nor disk.
 */
#define CQ__RATELOG_MS 5000
typedef struct cq__ratelog {
    uint64_t next_ms;
    unsigned long skipped;
} cq__ratelog;

/* peer.c: who may use the API socket (api_allow). */
#define CQ__PEER_ALLOW_MAX 32
typedef struct cq__peer_allow {
    unsigned uids[CQ__PEER_ALLOW_MAX], gids[CQ__PEER_ALLOW_MAX];
    size_t nuids, ngids;
} cq__peer_allow;

struct cq__bridge {
    struct event_base *base;
    const cq__conf *conf;
    cq__account *buckets[CQ__ACCOUNT_BUCKETS];
    size_t naccounts;
    /* The account attached last, while it lives: the sole one is found at
     * once (accounts.c), not by a walk over every bucket. */
    cq__account *last_account;
    /* Pending calls that ended, kept for the next (pending.c). */
    cq__pending *spare_pending;
    size_t nspare_pending;
    cq__ws_conn *conns; /* Every WebSocket connection. */
    size_t nconns;
    cq__ipc_client *clients; /* Every API-socket client. */
    size_t nclients;
    uint64_t next_id;
    cq__workers *workers;
    struct evconnlistener *ws_listener;
    struct evconnlistener *ipc_listener;
    struct event *accept_timer; /* Listening again after accept failed. */
    long max_conns; /* max_connections, capped to the descriptor limit. */
    cq__peer_allow allow;
    cq__ratelog accept_log, refuse_log;
    int stopping;
    cq__counters n;
    cq__spool *orphans;  /* Events of closed connections, still to handle. */
    cq__dialer *dialers; /* ws_forward's URLs (dial.c). */
};

/* An event that arrived while the workers were full. */
typedef struct cq__held {
    struct cq__held *next;
    size_t len;
    char json[];
} cq__held;

/*
 * spool.c: the events a connection read that no worker took yet, in order:
 * in memory up to a bound, then in an unlinked temporary file ($TMPDIR,
 * else /tmp) up to another, then refused. Kept in the connection, and in
 * the bridge's orphans once the connection is gone, until handled.
 */
struct cq__spool {
    int64_t self_id;        /* The account the events came for. */
    cq__held *head, *tail;  /* In memory, older than any in the file. */
    size_t mem_bytes, nmem; /* Their bytes and number. */
    int fd;                 /* The file, or -1 before the first spill. */
    uint64_t rd, wr;        /* The file's records lie between these. */
    size_t nfile;           /* And there are this many. */
    size_t lost;            /* Dropped when the file failed; to count. */
    struct cq__spool *next; /* In the bridge's orphans. */
};

void cq__spool_init(cq__spool *q, int64_t self_id);
int cq__spool_empty(const cq__spool *q);
/*
 * Appends an event (copied): to memory while the file is empty and memory
 * holds at most mem_cap bytes with it, else to the file while it holds at
 * most file_cap bytes with it. Returns CQ_OK, CQ_ETOOBIG (both are full:
 * refused), CQ_EIO (the file cannot be made or written; logged) or
 * CQ_ENOMEM.
 */
int cq__spool_push(cq__spool *q, const char *json, size_t len, size_t mem_cap,
                   size_t file_cap);
/*
 * Offers the events to w in order until it is full. Returns CQ_OK (empty)
 * or CQ_EAGAIN. Events the file fails to give back are logged and added to
 * q->lost, for the caller to count.
 */
int cq__spool_drain(cq__spool *q, cq__workers *w);
/* Frees every event and the file; returns how many events there were. */
size_t cq__spool_clear(cq__spool *q);

/* conn.c: one TCP connection from handshake to close. */
typedef enum cq__conn_state {
    CQ__CONN_HANDSHAKE,
    CQ__CONN_OPEN,
    CQ__CONN_HTTP, /* A plain HTTP request (http.h). */
    CQ__CONN_CLOSING
} cq__conn_state;

typedef struct cq__http cq__http;

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
    uint64_t full_since_ms; /* Outgoing queue full since then, or 0. */
    cq__spool held;         /* Events waiting for a worker, in order. */
    uint64_t refused;       /* Events refused and not yet logged. */
    uint64_t refused_log_ms;
    size_t npending;    /* Calls whose answers come on this one. */
    cq__http *http;     /* In CQ__CONN_HTTP (and after), else NULL. */
    cq__dialer *dialer; /* Who dialed it (ws_forward), else NULL. */
    char peer[64];
    cq__ws_conn *prev, *next; /* In the bridge's list. */
};

/* Accepts a new TCP connection on the WebSocket port. */
void cq__conn_accept(cq__bridge *br, int fd, const char *peer);
/*
 * A connection on bev (which it owns from then on, CQ__CONN_HANDSHAKE, no
 * timer set) in the bridge's list, reading; NULL when out of memory (bev
 * is then the caller's).
 */
cq__ws_conn *cq__conn_new(cq__bridge *br, struct bufferevent *bev,
                          const char *peer);
/*
 * The handshake is over, either way round (client: the bridge dialed, so
 * its frames are masked): frames flow, with role, for account self_id,
 * or for the account its first event names when self_id is 0. Never
 * fails: out of memory, the connection closes.
 */
void cq__conn_open(cq__ws_conn *c, cq__ws_role role, int64_t self_id,
                   int client);
/* Queues a text message; returns 0 or -1 (closing, or queue full). */
int cq__conn_send_text(cq__ws_conn *c, const char *text, size_t len);
/* Starts a clean close with code and reason (the peer's socket stays until
 * the close handshake ends or times out). */
void cq__conn_close(cq__ws_conn *c, uint16_t code, const char *reason);
/* Hands held events to free workers and resumes reading where it can. */
void cq__conn_resume_paused(cq__bridge *br);
/* Reads again although events are held: an answer is awaited on c. */
void cq__conn_reading_needed(cq__ws_conn *c);
/* Answered: stops reading and closes once the output is sent. */
void cq__conn_finish(cq__ws_conn *c);
/* Frees every connection at once, and the events held (shutdown). */
void cq__conn_free_all(cq__bridge *br);

/* spool.c: the bytes queued in the bridge, for the status answer. */
typedef struct cq__queue_totals {
    uint64_t held_events; /* Events read and waiting for a worker. */
    uint64_t held_memory; /* Their bytes in memory. */
    uint64_t held_file;   /* Their bytes in spill files. */
    uint64_t outgoing;    /* Bytes waiting to go out (see ws/stream.h). */
} cq__queue_totals;
void cq__bridge_queue_totals(cq__bridge *br, cq__queue_totals *t);
uint64_t cq__now_ms(void);

/* frame.c: what a text message from a OneBot implementation is. */
enum { CQ__FRAME_BAD, CQ__FRAME_EVENT, CQ__FRAME_ANSWER };

struct cq__frame {
    int kind;             /* CQ__FRAME_*. */
    const char *echo;     /* An answer's echo, if it is a string; or NULL. */
    const cq_value *tree; /* The message parsed, when it had to be; or NULL. */
    const char *text;     /* The message read (len bytes). */
    size_t len;
    /*
     * From the scan, so that nobody scans the text again: 1 when it was
     * scanned, and then where the top-level "echo" and "id" values are, and
     * those that judge an answer (answer_at[CQ__ANS_*], lib/api.h: status,
     * retcode, data, bridge).
     */
    int scanned;
    int scan_depth; /* The max_depth it was scanned with. */
    cq__json_span echo_at, id_at, answer_at[CQ__ANS_N];
    char buf[64]; /* Holds the echo when the scan found it. */
};

/*
 * Tells an event (a JSON object with "post_type") from an API answer (any
 * other object) and finds the answer's echo, scanning the text rather than
 * parsing it (cq__json_scan_object) unless the text is odd (escapes, not
 * strictly JSON), when yajl decides as it always did. CQ__FRAME_BAD: not a
 * JSON object nested at most max_depth deep. utf8 is 1 when text is known
 * to be UTF-8 by RFC 3629 (a WebSocket text message), which spares the
 * scan a second look at it, else 0. Free f with cq__frame_free.
 */
void cq__frame_read(cq__frame *f, const char *text, size_t len, int max_depth,
                    int utf8);
void cq__frame_free(cq__frame *f);

/*
 * dial.c: forward WebSocket (ws_forward). cq__dial_start dials every URL
 * and returns CQ_OK, or CQ_EINVAL (a URL is not ws://HOST[:PORT][/PATH],
 * logged) or CQ_ENOMEM. A lost connection is dialed again with backoff
 * until cq__dial_stop (SIGTERM), which frees the dialers; a connection
 * still open then stays for the usual close.
 */
int cq__dial_start(cq__bridge *br);
void cq__dial_stop(cq__bridge *br);
/* conn.c tells the dialer its connection is being freed. */
void cq__dial_lost(cq__dialer *d);
/*
 * A forward connection of an account not known yet got an event (text,
 * len bytes): its self_id names the account, and c is attached to it.
 * Returns CQ_OK, or CQ_EINVAL (no self_id: the event is ignored, logged) or
 * CQ_ENOMEM (c is closing).
 */
int cq__dial_learn(cq__ws_conn *c, const char *text, size_t len);

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
 * Logs the failure of a call whose answer nobody reads (err, or a status
 * other than ok or async in frame); nothing when it succeeded.
 */
void cq__account_log_failure(const char *action, const cq_value *frame, int err,
                             const char *msg);
/* As cq__account_log_failure, with the answer as text (len bytes) or NULL
 * and its scan f (cq__pending_text_cb), or NULL. */
void cq__account_log_failure_text(const char *action, const char *text,
                                  size_t len, const cq__frame *f, int err,
                                  const char *msg);
/*
 * The n parts (lens[i] bytes each) joined into one new NUL-terminated
 * string, its length in *len; NULL when out of memory.
 */
char *cq__bridge_concat(const char *const *parts, const size_t *lens, size_t n,
                        size_t *len);
/* Frees every account, failing their calls (CQ_ENETWORK). */
void cq__accounts_free(cq__bridge *br);

/*
 * bridge.c: the listeners' shared guards. Whether a line may be logged now
 * (1, with *skipped the lines left out since the last), or 0. Loop thread.
 */
int cq__ratelog_due(cq__ratelog *r, unsigned long *skipped);
/*
 * The error callback of both listeners (arg is the bridge): accept()
 * failed (EMFILE, ENFILE, ...), so both pause briefly instead of spinning,
 * with one log line per CQ__RATELOG_MS.
 */
void cq__bridge_on_accept_error(struct evconnlistener *l, void *arg);

/*
 * ipc.c: the API socket. Each client's requests in and answers out are
 * bounded: past IPC_MAX_OUT bytes of unread answers, or too many calls in
 * flight, its requests are not read until that drains, and a client whose
 * answers stay unread api_stall_timeout_ms is closed.
 *
 * cq__ipc_listen claims path (see cq__net_unix_claim) and listens there;
 * returns CQ_OK, CQ_EINVAL (path too long) or CQ_EIO (a live socket there,
 * or cannot bind).
 */
int cq__ipc_listen(cq__bridge *br, const char *path);
/* Removes the socket path and closes the listener (SIGTERM, exit); later
 * clients are refused at once. Requests of connected clients get a
 * "no_connection" answer once br->stopping is set. */
void cq__ipc_unlisten(cq__bridge *br);
void cq__ipc_free_all(cq__bridge *br);
/* The API-socket queue totals, as members of the open object w. */
void cq__ipc_status_write(cq__bridge *br, cq__jw *w);

/*
 * peer.c. Fills a from spec ("user:NAME|UID" and "group:NAME|GID", comma
 * separated; NULL: the bridge's own user and group). Returns CQ_OK, or
 * CQ_EINVAL with one line in err (bad syntax, unknown name, too many).
 */
int cq__peer_allow_parse(cq__peer_allow *a, const char *spec, char *err,
                         size_t errlen);
/*
 * Is the peer of the Unix socket fd allowed by a (its uid, primary gid or a
 * supplementary group listed, or root)? Returns 1 or 0, or CQ_EIO when the
 * credentials cannot be read; describes the peer in who either way.
 */
int cq__peer_allowed(const cq__peer_allow *a, int fd, char *who, size_t wholen);

/*
 * ipc_msg.c: the API socket's lines. cq__ipc_parse checks one request line
 * through a tree, without I/O (the fuzz target calls it too): see ipc_msg.c
 * for the members. Returns CQ_OK, CQ_EPARSE or CQ_EINVAL.
 */
int cq__ipc_parse(const char *line, size_t len, yajl_val *req,
                  const char **action, yajl_val *params, int64_t *self_id,
                  char **id);

struct evbuffer;

/* A request line read: views into the line, or into what it owns. */
typedef struct cq__ipc_req {
    const char *action; /* NUL-terminated, checked ([A-Za-z0-9_.]). */
    const char *params; /* An object as JSON text ("{}" when absent). */
    size_t plen;
    int64_t self_id; /* 0 when absent. */
    const char *id;  /* The request's "id" as JSON text, or NULL. */
    size_t idlen;
    yajl_val tree; /* The line parsed, when it had to be. */
    char *params_own, *id_own;
    char abuf[64];
} cq__ipc_req;

/*
 * Reads a request line (len bytes, NUL-terminated) into r as cq__ipc_parse
 * checks it, from a scan when the line is plain, through cq__ipc_parse
 * otherwise. r->id is set whenever the line had one, also on error. Free r
 * with cq__ipc_req_free, whatever this returns: CQ_OK, CQ_EPARSE, CQ_EINVAL
 * or CQ_ENOMEM.
 */
int cq__ipc_read(cq__ipc_req *r, const char *line, size_t len);
void cq__ipc_req_free(cq__ipc_req *r);
/*
 * Appends to out, as one line, an API answer: text (len bytes, a JSON
 * object checked when it came) less its "echo" and "id", plus the
 * request's id (idlen bytes of JSON text, or NULL); f, if not NULL, is
 * the text's scan (cq__pending_text_cb). Returns CQ_OK,
 * CQ_EPARSE (not an object), CQ_EINVAL (a string yajl will not write) or
 * CQ_ENOMEM; nothing was appended then.
 */
int cq__ipc_write_answer(struct evbuffer *out, const char *text, size_t len,
                         const cq__frame *f, const char *id, size_t idlen);
/*
 * Closes the object w holds (its members written) with the request's id,
 * appends it to out as one line and frees w. Returns CQ_OK, or w's error
 * or CQ_ENOMEM (nothing appended).
 */
int cq__ipc_write_jw(struct evbuffer *out, cq__jw *w, const char *id,
                     size_t idlen);
/* The bridge's own failure err, msg in words, as one answer line. */
void cq__ipc_write_error(struct evbuffer *out, int err, const char *msg,
                         const char *id, size_t idlen);

/* workers.c: the handler pool of n threads (or, with inline_handlers, as
 * many fibers on the loop). NULL when out of memory or no thread. */
cq__workers *cq__workers_new(cq__bridge *br, int n);
/*
 * Offers an event (its bytes, copied) from account self_id to the pool.
 * Returns CQ_OK, CQ_EAGAIN (queue full or stopping: the caller pauses
 * reading) or CQ_ENOMEM.
 */
int cq__workers_offer(cq__workers *w, int64_t self_id, const char *json,
                      size_t len);
/*
 * Makes the pool's transport and settings those of cq_ctx_for() contexts
 * (timer jobs' calls), until cq__sched_set_source() clears them.
 */
void cq__workers_share(cq__workers *w);
/*
 * Asks the workers to stop after the events they run; the loop exits once
 * none runs (their API calls need the loop until then). Loop thread.
 */
void cq__workers_stop(cq__workers *w);
/* Workers still running (with inline_handlers: 1 until stopped, then
 * whether a handler runs), plus one when calls wait for the loop to send. */
int cq__workers_running(cq__workers *w);
/*
 * The loop has stopped: calls queued by workers and every later one fail at
 * once with CQ_ENETWORK, and workers no longer wake the loop. With
 * inline_handlers, the handlers made ready by that run to their end here,
 * on the caller's stack. Loop thread, after event_base_dispatch() returned.
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
