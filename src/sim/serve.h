/*
 * serve: the HTTP API server of cqhttp-sim (OneBot's side of PROTOCOL.md
 * section 3) on libevent's evhttp.
 *
 * serve.c owns the server: the listener, the signals and the connections.
 * Each accepted connection gets a cq__sim_conn, which lives exactly as long
 * as evhttp's connection, so that the connection count can be capped (the
 * listener pauses at the cap) and an answer held back by a fault is dropped
 * when its connection goes. serve_call.c owns a request from its arrival to
 * its answer and log line: a cq__sim_call, answered at once or after a timer
 * (faults slow, close and partial). serve_req.c decides the answer: method,
 * token, body and parameters, action, fault, parameter checks. serve_data.c
 * holds the plausible data each action answers with.
 *
 * Everything runs on the loop thread; nothing is thread-safe.
 */
#ifndef CQ_SIM_SERVE_H
#define CQ_SIM_SERVE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>

#include "sim/sim.h"

#define CQ__SIM_MAX_FAULTS 64
#define CQ__SIM_ACTION_MAX 128 /* Longest action name, with its suffix. */

enum cq__sim_fault_kind {
    CQ__SIM_FAULT_FAILED,        /* 200 with status failed, arg = retcode. */
    CQ__SIM_FAULT_HTTP,          /* HTTP status arg, empty body. */
    CQ__SIM_FAULT_GARBAGE,       /* 200 with a body that is not JSON. */
    CQ__SIM_FAULT_NOJSON_STATUS, /* 200 with {"retcode":0}, no status. */
    CQ__SIM_FAULT_SLOW,          /* The normal answer after arg ms. */
    CQ__SIM_FAULT_CLOSE,         /* Close without answering. */
    CQ__SIM_FAULT_PARTIAL        /* A truncated answer, then close. */
};

typedef struct cq__sim_fault {
    char action[CQ__SIM_ACTION_MAX]; /* Empty for every action. */
    enum cq__sim_fault_kind kind;
    long arg;
} cq__sim_fault;

/* The simulated account: what the plausible data is made of. */
typedef struct cq__sim_world {
    int64_t self_id;
    uint32_t next_message_id; /* Increases by one per message sent. */
} cq__sim_world;

typedef struct cq__sim_call cq__sim_call;
typedef struct cq__sim_conn cq__sim_conn;

typedef struct cq__sim_server {
    struct event_base *base;
    struct evhttp *http;
    struct evconnlistener *listener; /* Owned by http. */
    const char *token;               /* Access token, or NULL. */
    FILE *log;
    int log_owned;
    cq__sim_fault faults[CQ__SIM_MAX_FAULTS];
    size_t nfaults;
    cq__sim_conn *conns;
    size_t nconns;
    size_t max_conns;
    int paused;   /* The listener is off: nconns reached max_conns. */
    int stopping; /* evhttp_free() is running: the listener is gone. */
    uint64_t seq; /* Log lines written. */
    int max_depth;
    cq__sim_world world;
} cq__sim_server;

struct cq__sim_conn {
    cq__sim_conn *prev, *next;
    cq__sim_server *srv;
    struct bufferevent *bev;
    struct evhttp_connection *evcon; /* NULL until adopted. */
    struct event *adopt;
    int held;           /* A reference on bev is held until adoption. */
    cq__sim_call *call; /* The answer held back by a fault, or NULL. */
};

/*
 * One request. Everything it points to is its own, except req (evhttp's,
 * valid until the answer is sent or the connection goes), conn and fault.
 */
struct cq__sim_call {
    cq__sim_server *srv;
    cq__sim_conn *conn; /* NULL if the connection is not tracked. */
    struct evhttp_request *req;
    struct event *timer;
    /* What the log line says. */
    char peer[80];
    const char *method;
    char *action;       /* As requested; NULL when none was named. */
    yajl_val params;    /* The merged parameters, or NULL. */
    char *auth;         /* The Authorization header or query token, or NULL. */
    char error[256];    /* Why the request was rejected or failed, or "". */
    int http_status;    /* 0 when no answer was sent. */
    const char *status; /* OneBot status, or NULL for a non-OneBot answer. */
    int64_t retcode;
    const cq__sim_fault *fault;
    /* The answer. */
    char *body;
    size_t body_len;
    const char *content_type;
    const char *allow; /* Allow header of a 405, or NULL. */
};

/* serve.c: the conn of req's connection (adopting it if needed), or NULL. */
cq__sim_conn *cq__sim_conn_of(cq__sim_server *srv, struct evhttp_request *req);

/*
 * serve_call.c. cq__sim_handle() is evhttp's callback for every request; it
 * answers through cq__sim_call_finish() at once or after the fault's timer.
 * cq__sim_call_abandon() logs and frees a call whose connection went away;
 * it does not touch req.
 */
void cq__sim_handle(struct evhttp_request *req, void *arg);
void cq__sim_call_abandon(cq__sim_call *c);

/*
 * Parses a --fault SPEC, "[ACTION=]KIND". Returns CQ_OK, or CQ_EINVAL with a
 * sentence in err.
 */
int cq__sim_fault_parse(const char *spec, cq__sim_fault *out, char *err,
                        size_t errlen);
/*
 * Copies action into base (len bytes) without an _async or _rate_limited
 * suffix, unless action itself is in the table; returns 1 if one was cut.
 */
int cq__sim_strip_suffix(const char *action, char *base, size_t len);

/*
 * The fault for action (as requested) or base (without an _async suffix):
 * the first naming either, else the first for every action, else NULL.
 */
const cq__sim_fault *cq__sim_fault_find(const cq__sim_fault *faults,
                                        size_t nfaults, const char *action,
                                        const char *base);

/*
 * serve_req.c: decides c's answer (http_status, body, status, retcode,
 * error, fault) from c->req. Never fails: out of memory becomes a 500.
 */
void cq__sim_evaluate(cq__sim_call *c);

/*
 * serve_check.c. Checks params (an object) against the table entry of
 * action: every required parameter present, every value convertible to its
 * declared type (strings convert: "123" to i64; true, false, 1, 0, yes, no
 * to bool; CQ code to msg), and the action's own rules (send_msg needs a
 * target). Returns CQ_OK, or CQ_EINVAL with a sentence in msg.
 */
struct cq__action;
int cq__sim_check_params(const struct cq__action *action, yajl_val params,
                         char *msg, size_t msglen);

/*
 * serve_data.c. Writes the data value of a successful call of action (the
 * name without suffix) with params (an object, never NULL) into w, and
 * returns 1 when the action answers status "async" instead (then nothing is
 * written), 0 otherwise.
 */
int cq__sim_data(cq__jw *w, const char *action, yajl_val params,
                 cq__sim_world *world);
/* The value of a parameter, or NULL when absent; JSON null counts absent. */
yajl_val cq__sim_param(yajl_val params, const char *name);
/* A parameter as an integer (JSON or decimal string), or dflt. */
int64_t cq__sim_param_i64(yajl_val params, const char *name, int64_t dflt);

#endif
