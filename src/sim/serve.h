/*
 * serve: the HTTP API server of cqhttp-sim (OneBot's side of PROTOCOL.md
 * section 3) on libevent's evhttp.
 *
 * serve.c owns the server: the listener, the signals and the connections.
 * Each accepted connection gets a cq__sim_conn, which lives exactly as long
 * as evhttp's connection, so that the connection count can be capped (the
 * listener pauses at the cap) and an answer held back by a fault is dropped
 * when its connection goes. serve_call.c owns a request from its arrival to
 * its answer and log line: a cq__sim_hcall, answered at once or after a
 * timer (faults slow, close and partial). serve_req.c reads the request
 * (method, token, body and parameters, action) and maps the answer of the
 * call core (call.c: fault, parameter checks, data) onto HTTP. serve_data.c
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

#include "sim/call.h"
#include "sim/sim.h"

typedef struct cq__sim_hcall cq__sim_hcall;
typedef struct cq__sim_conn cq__sim_conn;

typedef struct cq__sim_server {
    struct event_base *base;
    struct evhttp *http;
    struct evconnlistener *listener; /* Owned by http. */
    const char *token;               /* Access token, or NULL. */
    cq__sim_core core;               /* Faults, the account, the call log. */
    cq__sim_conn *conns;
    size_t nconns;
    size_t max_conns;
    int paused;   /* The listener is off: nconns reached max_conns. */
    int stopping; /* evhttp_free() is running: the listener is gone. */
    int max_depth;
} cq__sim_server;

struct cq__sim_conn {
    cq__sim_conn *prev, *next;
    cq__sim_server *srv;
    struct bufferevent *bev;
    struct evhttp_connection *evcon; /* NULL until adopted. */
    struct event *adopt;
    int held;            /* A reference on bev is held until adoption. */
    cq__sim_hcall *call; /* The answer held back by a fault, or NULL. */
};

/*
 * One request. Everything it points to is its own, except req (evhttp's,
 * valid until the answer is sent or the connection goes) and conn. call
 * borrows params, peer and auth from it.
 */
struct cq__sim_hcall {
    cq__sim_server *srv;
    cq__sim_conn *conn; /* NULL if the connection is not tracked. */
    struct evhttp_request *req;
    struct event *timer;
    cq__sim_call call; /* The call core's view: action, answer, log. */
    char peer[80];
    yajl_val params; /* The merged parameters, or NULL. */
    char *auth;      /* The Authorization header or query token, or NULL. */
    /* The headers of the answer. */
    const char *content_type;
    const char *allow; /* Allow header of a 405, or NULL. */
};

/* serve.c: the conn of req's connection (adopting it if needed), or NULL. */
cq__sim_conn *cq__sim_conn_of(cq__sim_server *srv, struct evhttp_request *req);

/*
 * serve_call.c. cq__sim_handle() is evhttp's callback for every request; it
 * answers at once or after the fault's timer. cq__sim_hcall_abandon() logs
 * and frees a call whose connection went away; it does not touch req.
 */
void cq__sim_handle(struct evhttp_request *req, void *arg);
void cq__sim_hcall_abandon(cq__sim_hcall *c);

/*
 * serve_req.c: reads c->req into c->call and maps the call core's answer
 * onto HTTP (c->call.http_status, the headers). Never fails: out of memory
 * becomes a 500.
 */
void cq__sim_evaluate(cq__sim_hcall *c);

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
