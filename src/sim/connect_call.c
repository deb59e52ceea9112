/*
 * connect_call: one API call frame received by "cqhttp-sim connect", from
 * its arrival to its answer frame and its log line. The answer is the call
 * core's (call.c), as "serve" gives it; this file maps it onto WebSocket.
 *
 * What HTTP answers with a status gets WebSocket's retcodes (PROTOCOL.md
 * 5.3): a frame that is not a JSON object, has no string "action" or has
 * "params" that are not an object gets retcode 1400, an unknown action
 * 1404. The answer carries the call's "echo" unchanged, when it had one.
 * Fault slow holds the answer on a timer; close and partial drop the
 * connection after sending what they answer.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/json.h"
#include "sim/connect.h"

struct cq__sim_wcall {
    cq__sim_wsc *conn;
    cq__sim_wcall *prev, *next; /* In conn->held while held back. */
    struct event *timer;        /* The delay of fault slow. */
    yajl_val frame;             /* The parsed frame, or NULL. */
    cq__sim_call call;          /* Borrows params and echo from frame. */
};


static void wcall_free(cq__sim_wcall *w)
{
    if (w->timer != NULL)
        event_free(w->timer);
    if (w->frame != NULL)
        yajl_tree_free(w->frame);
    cq__sim_call_free(&w->call);
    free(w);
}


/* Logs the call and frees it. */
static void log_free(cq__sim_wcall *w)
{
    cq__sim_call_log(&w->conn->cl->core, &w->call);
    wcall_free(w);
}


/* Sends the answer (if any), logs the call and frees it. */
static void finish(cq__sim_wcall *w)
{
    if (w->call.body != NULL &&
        cq__sim_wsc_send(w->conn, w->call.body, w->call.body_len) != CQ_OK)
        cq__sim_call_unsent(&w->call);
    log_free(w);
}


/*
 * Reads the frame into w->call. Returns CQ_OK, or CQ_EINVAL after storing
 * the 1400 answer of a frame that is not a call, or CQ_ENOMEM.
 */
static int read_frame(cq__sim_wcall *w, const char *msg, size_t len)
{
    const cq__conf *conf = w->conn->cl->conf;
    cq__sim_call *c = &w->call;
    yajl_val action, params;
    int rc = cq__json_parse(&w->frame, msg, len, (int)conf->max_depth);

    if (rc != CQ_OK || !YAJL_IS_OBJECT(w->frame)) {
        cq__sim_call_error(c, "the frame is not a JSON object%s%s",
                           rc != CQ_OK ? ": " : "",
                           rc != CQ_OK ? cq_strerror(rc) : "");
        cq__sim_call_answer(c, "failed", 1400, c->error);
        return CQ_EINVAL;
    }
    action = cq__json_get(w->frame, "action");
    params = cq__json_get(w->frame, "params");
    c->echo = cq__json_get(w->frame, "echo");
    if (YAJL_IS_STRING(action) &&
        (c->action = strdup(action->u.string)) == NULL) {
        cq__sim_call_error(c, "out of memory");
        return CQ_ENOMEM;
    }
    if (params != NULL && !YAJL_IS_NULL(params))
        c->params = params;
    if (c->action == NULL || c->action[0] == '\0' ||
        strlen(c->action) >= CQ__SIM_ACTION_MAX) {
        cq__sim_call_answer(c, "failed", 1400,
                            "no string \"action\" of 1 to 127 bytes");
        return CQ_EINVAL;
    }
    if (c->params != NULL && !YAJL_IS_OBJECT(c->params)) {
        cq__sim_call_answer(c, "failed", 1400, "\"params\" is not an object");
        return CQ_EINVAL;
    }
    return CQ_OK;
}


static void unlink_held(cq__sim_wcall *w)
{
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        w->conn->held = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    w->conn->nheld--;
}


static void on_slow(evutil_socket_t fd, short what, void *arg)
{
    cq__sim_wcall *w = arg;
    cq__sim_client *cl = w->conn->cl;

    (void)fd;
    (void)what;
    unlink_held(w);
    finish(w);
    cq__sim_client_rearm(cl);
}


/*
 * Holds the answer back for the fault's delay. Returns CQ_OK, or CQ_ETOOBIG
 * (too many held) or CQ_ENOMEM: then the answer goes now.
 */
static int hold(cq__sim_wcall *w)
{
    long ms = w->call.fault->arg;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (w->conn->nheld >= CQ__SIM_MAX_HELD) {
        cq_log(CQ_LOG_WARN, "%s connection: %d answers held: answering now",
               w->conn->role, CQ__SIM_MAX_HELD);
        return CQ_ETOOBIG;
    }
    w->timer = evtimer_new(w->conn->cl->base, on_slow, w);
    if (w->timer == NULL || evtimer_add(w->timer, &tv) != 0)
        return CQ_ENOMEM;
    w->next = w->conn->held;
    if (w->next != NULL)
        w->next->prev = w;
    w->conn->held = w;
    w->conn->nheld++;
    return CQ_OK;
}


/* Asks the call core, and maps an unknown action onto retcode 1404. */
static void evaluate(cq__sim_wcall *w)
{
    if (cq__sim_call_eval(&w->conn->cl->core, &w->call) == CQ_ENOENT)
        cq__sim_call_answer(&w->call, "failed", 1404, NULL);
}


void cq__sim_wcall_handle(cq__sim_wsc *c, const char *msg, size_t len)
{
    cq__sim_wcall *w = calloc(1, sizeof(*w));
    enum cq__sim_fault_kind kind;

    if (w == NULL) {
        cq_log(CQ_LOG_ERROR, "%s connection: out of memory: a call is lost",
               c->role);
        return;
    }
    w->conn = c;
    w->call.role = c->role;
    w->call.auth = c->cl->auth[0] != '\0' ? c->cl->auth : NULL;
    w->call.http_status = -1;
    c->calls++;
    if (read_frame(w, msg, len) == CQ_OK)
        evaluate(w);
    kind = w->call.fault != NULL ? w->call.fault->kind : CQ__SIM_FAULT_FAILED;
    if (w->call.fault != NULL && kind == CQ__SIM_FAULT_SLOW &&
        hold(w) == CQ_OK) {
        cq__sim_client_rearm(c->cl);
        return;
    }
    if (w->call.fault != NULL &&
        (kind == CQ__SIM_FAULT_CLOSE || kind == CQ__SIM_FAULT_PARTIAL)) {
        /* The partial answer goes out first; the drop waits for it. */
        if (w->call.body != NULL)
            cq__sim_wsc_send(c, w->call.body, w->call.body_len);
        log_free(w);
        cq__sim_wsc_drop(c, "fault injected");
    } else {
        finish(w);
    }
    cq__sim_client_rearm(c->cl);
}


void cq__sim_wcall_abandon_all(cq__sim_wsc *c)
{
    while (c->held != NULL) {
        cq__sim_wcall *w = c->held;

        unlink_held(w);
        cq__sim_call_unsent(&w->call);
        log_free(w);
    }
}
