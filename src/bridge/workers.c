/*
 * The worker pool: handlers for events that arrive over WebSocket run here,
 * so a slow handler never stalls the loop. Their API calls (and the quick
 * operation, sent as .handle_quick_operation) go to the loop through a
 * queue and out over the account's WebSocket; the worker waits for the
 * answer, which the loop always delivers (answer, timeout or close).
 *
 * The event queue is bounded: when it is full the connection stops reading
 * (conn.c), and every finished event wakes the loop to resume it.
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/bridge.h"
#include "lib/api.h"
#include "lib/ctx.h"
#include "lib/dispatch.h"
#include "lib/event.h"

typedef struct job {
    struct job *next;
    int64_t self_id;
    size_t len;
    char json[];
} job;

/* An API call from a worker, waiting for the loop. Lives on its stack. */
typedef struct call {
    struct call *next;
    int64_t self_id;
    const char *action, *params;
    int done;
    cq__bridge_err berr;
    char *answer; /* The answer frame as JSON text. */
    char msg[160];
    pthread_cond_t cond;
} call;

struct cq__workers {
    cq__bridge *br;
    cq__conf conf; /* The bridge's, without bridge_socket: no loop back. */
    pthread_t *threads;
    int n, running;
    pthread_mutex_t lock;
    pthread_cond_t has_job;
    job *head, *tail;
    size_t njobs, cap;
    int stop;
    call *calls, *calls_tail; /* For the loop to send. */
    unsigned finished;        /* Events handled since the loop looked. */
    struct event *wake;
};

static void wake_loop(cq__workers *w)
{
    event_active(w->wake, EV_READ, 0);
}


/* Loop thread: a call ended; hand the result to the waiting worker. */
static void on_call_done(void *arg, const cq_value *frame, cq__bridge_err err,
                         const char *msg)
{
    call *c = arg;

    c->answer = frame != NULL ? cq_value_to_json(frame) : NULL;
    c->berr = frame != NULL && c->answer == NULL ? CQ__BR_BUSY : err;
    snprintf(c->msg, sizeof(c->msg), "%s", msg ? msg : "");
}


static void finish_call(cq__workers *w, call *c, const cq_value *frame,
                        cq__bridge_err err, const char *msg)
{
    on_call_done(c, frame, err, msg);
    pthread_mutex_lock(&w->lock);
    c->done = 1;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&w->lock);
}


typedef struct call_ref {
    cq__workers *w;
    call *c;
} call_ref;

static void on_pending_done(void *arg, const cq_value *frame,
                            cq__bridge_err err, const char *msg)
{
    call_ref *r = arg;

    finish_call(r->w, r->c, frame, err, msg);
    free(r);
}


/* Loop thread: sends the calls workers queued, resumes paused readers. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    cq__workers *w = arg;
    call *list, *c, *next;
    unsigned finished;

    (void)fd;
    (void)what;
    pthread_mutex_lock(&w->lock);
    list = w->calls;
    w->calls = w->calls_tail = NULL;
    finished = w->finished;
    w->finished = 0;
    pthread_mutex_unlock(&w->lock);
    for (c = list; c != NULL; c = next) {
        cq__account *a = c->self_id > 0 ? cq__account_find(w->br, c->self_id)
                                        : cq__account_sole(w->br);
        call_ref *r = malloc(sizeof(*r));
        cq__bridge_err err = CQ__BR_BUSY;

        next = c->next;
        if (r != NULL) {
            r->w = w;
            r->c = c;
            err = cq__account_call(w->br, a, c->action, c->params,
                                   on_pending_done, r, NULL);
        }
        if (err != CQ__BR_OK) {
            free(r);
            finish_call(w, c, NULL, err, "the bridge could not send it");
        }
    }
    w->br->n.events_handled += finished;
    if (finished > 0 && !w->br->stopping)
        cq__conn_resume_paused(w->br);
}


/* Worker thread: the in-process transport of the worker's cq__api. */
static int local_call(void *arg, int64_t self_id, const char *action,
                      const char *params, cq_result *out)
{
    cq__workers *w = arg;
    call c;
    int rc;

    memset(&c, 0, sizeof(c));
    c.self_id = self_id;
    c.action = action;
    c.params = params;
    pthread_cond_init(&c.cond, NULL);
    pthread_mutex_lock(&w->lock);
    if (w->calls_tail != NULL)
        w->calls_tail->next = &c;
    else
        w->calls = &c;
    w->calls_tail = &c;
    pthread_mutex_unlock(&w->lock);
    wake_loop(w);
    pthread_mutex_lock(&w->lock);
    while (!c.done)
        pthread_cond_wait(&c.cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    pthread_cond_destroy(&c.cond);
    switch (c.berr) {
    case CQ__BR_OK:
        rc = cq__api_result_from_body(c.answer, strlen(c.answer), out);
        break;
    case CQ__BR_NO_CONNECTION:
        rc = CQ_ENOAPI; /* HTTP may still carry it. */
        break;
    case CQ__BR_TIMEOUT:
        rc = cq__api_fail(out, CQ_ETIMEDOUT, "bridge: %s", c.msg);
        break;
    default:
        rc = cq__api_fail(out, CQ_ENETWORK, "bridge: %s: %s",
                          cq__bridge_err_name(c.berr), c.msg);
        break;
    }
    free(c.answer);
    return rc;
}


/* Sends the quick operation back as .handle_quick_operation. */
static void send_quick(cq_ctx *ctx, const cq_event *e, const char *quick)
{
    cq_params *p = cq_params_new();

    cq_params_value(p, "context", cq_event_root(e));
    cq_params_json(p, "operation", quick);
    /* A failure is logged by cq_call; the event is done either way. */
    cq_call_params(ctx, ".handle_quick_operation", p, NULL);
    cq_params_free(p);
}


static void handle(cq__workers *w, cq__api *api, job *j)
{
    cq_event *e = NULL;
    char *quick = NULL;
    cq_ctx ctx;
    int rc = cq_event_parse(&e, j->json, j->len, (int)w->conf.max_depth);

    if (rc != CQ_OK) {
        cq_log(CQ_LOG_WARN,
               "account %" PRId64 ": message is not an event: "
               "%s",
               j->self_id, cq_strerror(rc));
        return;
    }
    cq__ctx_init(&ctx, e, &w->conf, api);
    /*
     * Calls go back to the account whose connection carried the event, not
     * to whatever self_id the body claims (or lacks).
     */
    ctx.self_id = j->self_id;
    rc = cq__dispatch(&ctx);
    if (rc == CQ_OK)
        rc = cq__ctx_quick_json(&ctx, &quick);
    if (rc == CQ_OK && quick != NULL)
        send_quick(&ctx, e, quick);
    free(quick);
    cq__ctx_free(&ctx);
    cq_event_free(e);
}


static void *worker_main(void *arg)
{
    cq__workers *w = arg;
    cq__api *api = cq__api_new(&w->conf);

    if (api != NULL)
        cq__api_set_local(api, local_call, w);
    for (;;) {
        job *j;

        pthread_mutex_lock(&w->lock);
        while (w->head == NULL && !w->stop)
            pthread_cond_wait(&w->has_job, &w->lock);
        if (w->stop) {
            pthread_mutex_unlock(&w->lock);
            break;
        }
        j = w->head;
        w->head = j->next;
        if (w->head == NULL)
            w->tail = NULL;
        w->njobs--;
        pthread_mutex_unlock(&w->lock);
        if (api != NULL)
            handle(w, api, j);
        free(j);
        pthread_mutex_lock(&w->lock);
        w->finished++;
        pthread_mutex_unlock(&w->lock);
        wake_loop(w);
    }
    cq__api_free(api);
    pthread_mutex_lock(&w->lock);
    w->running--;
    pthread_mutex_unlock(&w->lock);
    wake_loop(w);
    return NULL;
}


cq__workers *cq__workers_new(cq__bridge *br, int n, size_t queue_cap)
{
    cq__workers *w = calloc(1, sizeof(*w));
    int i;

    if (w == NULL)
        return NULL;
    w->br = br;
    w->conf = *br->conf;
    w->conf.bridge_socket = NULL;
    w->cap = queue_cap;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->has_job, NULL);
    w->wake = event_new(br->base, -1, 0, on_wake, w);
    w->threads = calloc((size_t)n, sizeof(pthread_t));
    if (w->wake == NULL || w->threads == NULL) {
        cq__workers_free(w);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        if (pthread_create(&w->threads[i], NULL, worker_main, w) != 0)
            break;
        w->n++;
        w->running++;
    }
    if (w->n == 0) {
        cq__workers_free(w);
        return NULL;
    }
    return w;
}


int cq__workers_offer(cq__workers *w, int64_t self_id, const char *json,
                      size_t len)
{
    job *j;

    pthread_mutex_lock(&w->lock);
    if (w->njobs >= w->cap || w->stop) {
        pthread_mutex_unlock(&w->lock);
        return -1;
    }
    pthread_mutex_unlock(&w->lock);
    j = malloc(sizeof(*j) + len);
    if (j == NULL)
        return -1;
    j->next = NULL;
    j->self_id = self_id;
    j->len = len;
    memcpy(j->json, json, len);
    pthread_mutex_lock(&w->lock);
    if (w->tail != NULL)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    w->njobs++;
    pthread_cond_signal(&w->has_job);
    pthread_mutex_unlock(&w->lock);
    return 0;
}


/* Loop thread: asks the workers to stop after their current event. */
void cq__workers_stop(cq__workers *w)
{
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_broadcast(&w->has_job);
    pthread_mutex_unlock(&w->lock);
    wake_loop(w);
}


int cq__workers_running(cq__workers *w)
{
    int n;

    pthread_mutex_lock(&w->lock);
    n = w->running;
    pthread_mutex_unlock(&w->lock);
    return n;
}


void cq__workers_free(cq__workers *w)
{
    size_t dropped = 0;
    int i;

    if (w == NULL)
        return;
    cq__workers_stop(w);
    for (i = 0; i < w->n; i++)
        pthread_join(w->threads[i], NULL);
    while (w->head != NULL) {
        job *j = w->head;

        w->head = j->next;
        free(j);
        dropped++;
    }
    if (dropped > 0)
        cq_log(CQ_LOG_WARN, "stopping: %zu queued events not handled", dropped);
    if (w->wake != NULL)
        event_free(w->wake);
    pthread_cond_destroy(&w->has_job);
    pthread_mutex_destroy(&w->lock);
    free(w->threads);
    free(w);
}
