/*
 * connect_call: one API call frame received by "cqhttp-sim connect", from
 * its arrival to its answer frame and its log line, with the data table,
 * the parameter checks and the faults of "serve".
 *
 * The order follows serve_req.c, with WebSocket's retcodes for what HTTP
 * answers with a status (PROTOCOL.md 5.3): a frame that is not a JSON
 * object, has no string "action" or has "params" that are not an object
 * gets retcode 1400, an unknown action 1404; then the fault, the _async
 * suffix, the parameter checks (retcode 100) and the plausible data. The
 * answer carries the call's "echo" unchanged, when it had one.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cqhttp.h"
#include "lib/actions.h"
#include "lib/json.h"
#include "sim/connect.h"

struct cq__sim_wcall {
    cq__sim_wsc *conn;
    cq__sim_wcall *prev, *next; /* In conn->held while held back. */
    struct event *timer;        /* The delay of fault slow. */
    yajl_val frame;             /* The parsed frame, or NULL. */
    yajl_val params;            /* In frame; NULL when absent or null. */
    yajl_val echo;              /* In frame; NULL when absent. */
    char *action;               /* As requested; NULL when none. */
    const cq__sim_fault *fault;
    const char *status; /* OneBot status sent, or NULL. */
    int64_t retcode;
    char error[256];
    char *body; /* The answer frame. */
    size_t body_len;
};

static const char *const fault_names[] = {
    [CQ__SIM_FAULT_FAILED] = "failed",
    [CQ__SIM_FAULT_HTTP] = "http",
    [CQ__SIM_FAULT_GARBAGE] = "garbage",
    [CQ__SIM_FAULT_NOJSON_STATUS] = "nojson-status",
    [CQ__SIM_FAULT_SLOW] = "slow",
    [CQ__SIM_FAULT_CLOSE] = "close",
    [CQ__SIM_FAULT_PARTIAL] = "partial",
};

/* The parameters of a call without any: the data table wants an object. */
static struct yajl_val_s no_params = {.type = yajl_t_object};

int cq__sim_wfault_parse(const char *spec, cq__sim_fault *out, char *err,
                         size_t errlen)
{
    int rc = cq__sim_fault_parse(spec, out, err, errlen);

    if (rc == CQ_OK && out->kind == CQ__SIM_FAULT_HTTP) {
        snprintf(err, errlen,
                 "--fault \"%s\": http:STATUS has no meaning over "
                 "WebSocket (use failed:RETCODE)",
                 spec);
        return CQ_EINVAL;
    }
    return rc;
}

static void call_free(cq__sim_wcall *w)
{
    if (w->timer != NULL)
        event_free(w->timer);
    if (w->frame != NULL)
        yajl_tree_free(w->frame);
    free(w->action);
    free(w->body);
    free(w);
}

/* Writes the call's one log line; a failure to log is reported once. */
static void write_log(cq__sim_wcall *w)
{
    cq__sim_client *cl = w->conn->cl;
    cq__jw j;
    char *line;

    if (cq__jw_init(&j) != CQ_OK)
        return;
    cq__jw_open(&j);
    cq__jw_kint(&j, "seq", (int64_t)++cl->seq);
    cq__jw_kint(&j, "time", (int64_t)time(NULL));
    cq__jw_kstr(&j, "role", w->conn->role);
    cq__jw_kstr(&j, "action", w->action);
    cq__jw_key(&j, "params");
    cq__jw_value(&j, w->params);
    if (w->echo != NULL) {
        cq__jw_key(&j, "echo");
        cq__jw_value(&j, w->echo);
    }
    cq__jw_kstr(&j, "auth", cl->auth[0] ? cl->auth : NULL);
    cq__jw_kstr(&j, "status", w->status);
    if (w->status != NULL)
        cq__jw_kint(&j, "retcode", w->retcode);
    else
        cq__jw_knull(&j, "retcode");
    if (w->fault != NULL)
        cq__jw_kstr(&j, "fault", fault_names[w->fault->kind]);
    if (w->error[0] != '\0')
        cq__jw_kstr(&j, "error", w->error);
    cq__jw_close(&j);
    line = cq__jw_dup(&j, NULL);
    cq__jw_free(&j);
    if (line == NULL) {
        cq_log(CQ_LOG_ERROR, "cannot write log line %llu: out of memory",
               (unsigned long long)cl->seq);
        return;
    }
    if (fprintf(cl->log, "%s\n", line) < 0 || fflush(cl->log) != 0)
        cq_log(CQ_LOG_ERROR, "cannot write the call log: %s", strerror(errno));
    free(line);
}

__attribute__((format(printf, 2, 3))) static void
set_error(cq__sim_wcall *w, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(w->error, sizeof(w->error), fmt, ap);
    va_end(ap);
}

/*
 * Stores a OneBot answer frame. Keys come in go-cqhttp's order (Go sorts
 * map keys): data, echo, msg on failure, retcode, status, wording on
 * failure. With action set the data comes from serve_data.c, which may
 * turn the answer into an "async" one.
 */
static void answer(cq__sim_wcall *w, const char *status, int64_t retcode,
                   const char *msg, const char *action)
{
    cq__sim_client *cl = w->conn->cl;
    cq__jw j;

    if (cq__jw_init(&j) != CQ_OK) {
        set_error(w, "out of memory");
        return;
    }
    cq__jw_open(&j);
    cq__jw_key(&j, "data");
    if (action == NULL ||
        cq__sim_data(&j, action, w->params ? w->params : &no_params,
                     &cl->world)) {
        if (action != NULL) {
            status = "async";
            retcode = 1;
        }
        cq__jw_null(&j);
    }
    if (w->echo != NULL) {
        cq__jw_key(&j, "echo");
        cq__jw_value(&j, w->echo);
    }
    if (msg != NULL)
        cq__jw_kstr(&j, "msg", msg);
    cq__jw_kint(&j, "retcode", retcode);
    cq__jw_kstr(&j, "status", status);
    if (msg != NULL)
        cq__jw_kstr(&j, "wording", msg);
    cq__jw_close(&j);
    w->body = cq__jw_dup(&j, &w->body_len);
    cq__jw_free(&j);
    if (w->body == NULL) {
        set_error(w, "cannot write the answer: out of memory");
        return;
    }
    w->status = status;
    w->retcode = retcode;
    if (msg != NULL && msg != w->error)
        set_error(w, "%s", msg);
}

/* Stores an answer that is not a OneBot result (faults). */
static void raw_answer(cq__sim_wcall *w, const char *text)
{
    w->body = strdup(text);
    if (w->body == NULL) {
        set_error(w, "out of memory");
        return;
    }
    w->body_len = strlen(text);
}

/* {"retcode":0,"echo":...}: a result without "status". */
static void nostatus_answer(cq__sim_wcall *w)
{
    cq__jw j;

    if (cq__jw_init(&j) != CQ_OK) {
        set_error(w, "out of memory");
        return;
    }
    cq__jw_open(&j);
    cq__jw_kint(&j, "retcode", 0);
    if (w->echo != NULL) {
        cq__jw_key(&j, "echo");
        cq__jw_value(&j, w->echo);
    }
    cq__jw_close(&j);
    w->body = cq__jw_dup(&j, &w->body_len);
    cq__jw_free(&j);
    if (w->body == NULL)
        set_error(w, "out of memory");
}

/* Sends the answer (if any), logs the call and frees it. */
static void finish(cq__sim_wcall *w)
{
    if (w->body != NULL &&
        cq__sim_wsc_send(w->conn, w->body, w->body_len) != CQ_OK) {
        w->status = NULL;
        set_error(w, "the connection closed before the answer was sent");
    }
    write_log(w);
    call_free(w);
}

/*
 * Reads the frame into w. Returns 0, or 1 after storing the 1400 answer of
 * a frame that is not a call.
 */
static int read_frame(cq__sim_wcall *w, const char *msg, size_t len)
{
    const cq__conf *conf = w->conn->cl->conf;
    yajl_val action, params;
    int rc = cq__json_parse(&w->frame, msg, len, (int)conf->max_depth);

    if (rc != CQ_OK || !YAJL_IS_OBJECT(w->frame)) {
        set_error(w, "the frame is not a JSON object%s%s",
                  rc != CQ_OK ? ": " : "", rc != CQ_OK ? cq_strerror(rc) : "");
        answer(w, "failed", 1400, w->error, NULL);
        return 1;
    }
    action = cq__json_get(w->frame, "action");
    params = cq__json_get(w->frame, "params");
    w->echo = cq__json_get(w->frame, "echo");
    if (YAJL_IS_STRING(action)) {
        w->action = strdup(action->u.string);
        if (w->action == NULL) {
            set_error(w, "out of memory");
            return 1;
        }
    }
    if (params != NULL && !YAJL_IS_NULL(params))
        w->params = params;
    if (w->action == NULL || w->action[0] == '\0' ||
        strlen(w->action) >= CQ__SIM_ACTION_MAX) {
        answer(w, "failed", 1400, "no string \"action\" of 1 to 127 bytes",
               NULL);
        return 1;
    }
    if (w->params != NULL && !YAJL_IS_OBJECT(w->params)) {
        answer(w, "failed", 1400, "\"params\" is not an object", NULL);
        return 1;
    }
    return 0;
}

/* Answers for the faults that replace the answer; 0 for the others. */
static int apply_fault(cq__sim_wcall *w)
{
    switch (w->fault->kind) {
    case CQ__SIM_FAULT_FAILED:
        answer(w, "failed", w->fault->arg, "fault injected", NULL);
        return 1;
    case CQ__SIM_FAULT_GARBAGE:
        raw_answer(w, "<html>this is not JSON</html>\n");
        return 1;
    case CQ__SIM_FAULT_NOJSON_STATUS:
        nostatus_answer(w);
        return 1;
    case CQ__SIM_FAULT_PARTIAL:
        raw_answer(w, "{\"data\":{\"message_id\":");
        return 1;
    case CQ__SIM_FAULT_CLOSE:
        return 1; /* No answer: the connection is dropped. */
    case CQ__SIM_FAULT_SLOW:
    case CQ__SIM_FAULT_HTTP: /* Refused by cq__sim_wfault_parse(). */
    default:
        return 0;
    }
}

/* Decides w's answer, in serve_req.c's order. */
static void dispatch(cq__sim_wcall *w)
{
    char base[CQ__SIM_ACTION_MAX], msg[sizeof(w->error)];
    int queued = cq__sim_strip_suffix(w->action, base, sizeof(base));
    const cq__action *a = cq__action_find(base);

    if (a == NULL) {
        set_error(w, "unknown action %s", base);
        answer(w, "failed", 1404, NULL, NULL);
        return;
    }
    w->fault = cq__sim_fault_find(w->conn->cl->faults, w->conn->cl->nfaults,
                                  w->action, base);
    if (w->fault != NULL && apply_fault(w))
        return;
    if (queued) {
        /* Queued actions are not checked: the answer comes before. */
        answer(w, "async", 1, NULL, NULL);
        return;
    }
    if (cq__sim_check_params(a, w->params ? w->params : &no_params, msg,
                             sizeof(msg)) != CQ_OK) {
        answer(w, "failed", 100, msg, NULL);
        return;
    }
    answer(w, "ok", 0, NULL, base);
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
    cq__sim_client_called(cl);
}

/* Holds the answer back for the fault's delay; 0, or -1 (answer now). */
static int hold(cq__sim_wcall *w)
{
    long ms = w->fault->arg;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (w->conn->nheld >= CQ__SIM_MAX_HELD) {
        cq_log(CQ_LOG_WARN, "%s connection: %d answers held: answering now",
               w->conn->role, CQ__SIM_MAX_HELD);
        return -1;
    }
    w->timer = evtimer_new(w->conn->cl->base, on_slow, w);
    if (w->timer == NULL || evtimer_add(w->timer, &tv) != 0)
        return -1;
    w->next = w->conn->held;
    if (w->next != NULL)
        w->next->prev = w;
    w->conn->held = w;
    w->conn->nheld++;
    return 0;
}

void cq__sim_wcall_handle(cq__sim_wsc *c, const char *msg, size_t len)
{
    cq__sim_wcall *w = calloc(1, sizeof(*w));

    if (w == NULL) {
        cq_log(CQ_LOG_ERROR, "%s connection: out of memory: a call is lost",
               c->role);
        return;
    }
    w->conn = c;
    c->calls++;
    if (read_frame(w, msg, len) == 0)
        dispatch(w);
    if (w->fault != NULL && w->fault->kind == CQ__SIM_FAULT_SLOW &&
        hold(w) == 0) {
        cq__sim_client_called(c->cl);
        return;
    }
    if (w->fault != NULL && (w->fault->kind == CQ__SIM_FAULT_CLOSE ||
                             w->fault->kind == CQ__SIM_FAULT_PARTIAL)) {
        /* The partial answer goes out first; the drop waits for it. */
        if (w->body != NULL)
            cq__sim_wsc_send(c, w->body, w->body_len);
        free(w->body);
        w->body = NULL;
        write_log(w);
        call_free(w);
        cq__sim_wsc_drop(c, "fault injected");
        cq__sim_client_called(c->cl);
        return;
    }
    finish(w);
    cq__sim_client_called(c->cl);
}

void cq__sim_wcall_abandon_all(cq__sim_wsc *c)
{
    while (c->held != NULL) {
        cq__sim_wcall *w = c->held;

        unlink_held(w);
        w->status = NULL;
        set_error(w, "the connection closed before the answer was sent");
        write_log(w);
        call_free(w);
    }
}
