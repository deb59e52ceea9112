/*
 * The worker pool: handlers for events that arrive over WebSocket run here,
 * so a slow handler never stalls the loop. Their API calls go to the loop
 * through a queue and out over the account's WebSocket; the worker waits
 * for the answer, which the loop always delivers (answer, timeout or
 * close), and once the loop has stopped every call fails at once
 * (cq__workers_close). The quick operation is not waited for (send_quick).
 *
 * The event queue is bounded: when full, the connection stops reading
 * (conn.c). Finished events and calls wake the loop, one wake at a time.
 *
 * Shutdown never blocks for long: cq__workers_free() waits a bounded time;
 * a worker stuck in its handler is detached, its pool kept in `abandoned`.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge/bridge.h"
#include "lib/api.h"
#include "lib/ctx.h"
#include "lib/dispatch.h"
#include "lib/event.h"
#include "lib/sched.h"

/* Why every call fails once the loop has stopped. */
#define STOPPING_MSG "the bridge is stopping"

typedef struct job {
    struct job *next;
    int64_t self_id;
    size_t len;
    char json[];
} job;

/*
 * An API call from a worker for the loop to send. A worker waiting for the
 * answer keeps it on its stack; a detached one (the quick operation, whose
 * answer nobody reads) is the loop's to free once it ended.
 */
typedef struct call {
    struct call *next;
    cq__workers *w;
    int64_t self_id;
    const char *action;
    const char *params; /* A JSON object as text, sent as it is. */
    size_t params_len;
    int detached;
    char *owned; /* Of a detached call: its params, freed with it. */
    int done;
    int err;      /* CQ_OK or the CQ_E* code the call ended with. */
    char *answer; /* The answer frame as JSON text, answer_len bytes. */
    size_t answer_len;
    char msg[160];
    pthread_cond_t cond;
} call;

/* One thread of the pool. */
typedef struct worker {
    cq__workers *w;
    pthread_t thread;
    int exited; /* Under the lock: worker_main is returning. */
} worker;

struct cq__workers {
    cq__bridge *br;
    /* The handlers' settings, the pool's own copy (a detached worker may
     * outlive the bridge's), without bridge_socket (no loop back). */
    cq__conf conf;
    worker *threads;
    int n, running;
    pthread_mutex_t lock;
    pthread_cond_t has_job;
    pthread_cond_t exited; /* A worker ended; running went down. */
    job *head, *tail;
    size_t njobs, cap;
    int stop;
    int closed;               /* The loop has stopped: no call is sent. */
    call *calls, *calls_tail; /* For the loop to send. */
    unsigned finished;        /* Events handled since the loop looked. */
    int woken;                /* The loop has a wake coming: none more. */
    int idle;                 /* Workers waiting for an event. */
    struct event *wake;
    cq__workers *next_abandoned;
};

/* Pools with workers still running at exit; they point into them. */
static cq__workers *abandoned;

/*
 * Wakes the loop, unless it has stopped or a wake is already coming: the
 * loop takes everything queued when it runs, so one wake serves a batch.
 * Called with w->lock held.
 */
static void wake_loop_locked(cq__workers *w)
{
    if (!w->closed && w->wake != NULL && !w->woken) {
        w->woken = 1;
        event_active(w->wake, EV_READ, 0);
    }
}


/*
 * Ends a call: hands the result to the waiting worker, or, for a detached
 * call, logs a failure (nobody else will) and frees it. Any thread.
 */
static void finish_call(cq__workers *w, call *c, const char *text, size_t len,
                        int err, const char *msg)
{
    char *answer;

    if (c->detached) {
        cq__account_log_failure_text(c->action, text, len, err, msg);
        free(c->owned);
        free(c);
        return;
    }
    /* A copy of the frame as it came: the worker parses it, once. */
    answer = text != NULL ? cq__bridge_concat(&text, &len, 1, &len) : NULL;
    pthread_mutex_lock(&w->lock);
    c->answer = answer;
    c->answer_len = len;
    c->err = text != NULL && answer == NULL ? CQ_ENOMEM : err;
    snprintf(c->msg, sizeof(c->msg), "%s", msg ? msg : "");
    c->done = 1;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&w->lock);
}


static void on_pending_done(void *arg, const char *text, size_t len, int err,
                            const char *msg)
{
    finish_call(((call *)arg)->w, arg, text, len, err, msg);
}


/* Takes the calls queued for the loop. */
static call *take_calls(cq__workers *w, unsigned *finished)
{
    call *list;

    pthread_mutex_lock(&w->lock);
    list = w->calls;
    w->calls = w->calls_tail = NULL;
    w->woken = 0;
    if (finished != NULL) {
        *finished = w->finished;
        w->finished = 0;
    }
    pthread_mutex_unlock(&w->lock);
    return list;
}


/* Loop thread: sends the calls workers queued, resumes paused readers. */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    cq__workers *w = arg;
    call *c, *next;
    unsigned finished;

    (void)fd;
    (void)what;
    for (c = take_calls(w, &finished); c != NULL; c = next) {
        cq__account *a = c->self_id > 0 ? cq__account_find(w->br, c->self_id)
                                        : cq__account_sole(w->br);
        int err;

        next = c->next;
        err = cq__account_call_text(w->br, a, c->action, c->params,
                                    c->params_len, on_pending_done, c, NULL);
        if (err != CQ_OK)
            finish_call(w, c, NULL, 0, err, "the bridge could not send it");
    }
    w->br->n.events_handled += finished;
    if (finished > 0 && !w->br->stopping)
        cq__conn_resume_paused(w->br);
}


/*
 * Worker thread: queues c for the loop and, unless it is detached, waits
 * until it ended.
 */
static void run_call(cq__workers *w, call *c)
{
    int stopped;

    c->w = w;
    pthread_mutex_lock(&w->lock);
    stopped = w->closed;
    if (stopped) {
        c->err = CQ_ENETWORK;
        snprintf(c->msg, sizeof(c->msg), "%s", STOPPING_MSG);
        c->done = 1;
    } else {
        if (w->calls_tail != NULL)
            w->calls_tail->next = c;
        else
            w->calls = c;
        w->calls_tail = c;
        wake_loop_locked(w);
    }
    /* A detached call queued is the loop's from here: not touched again. */
    while (!c->detached && !c->done)
        pthread_cond_wait(&c->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    if (stopped && c->detached)
        finish_call(w, c, NULL, 0, CQ_ENETWORK, STOPPING_MSG);
}


/*
 * Worker thread: the in-process transport of the worker's cq__api. This is
 * where the bridge's codes meet the handler's cq_result: CQ_ENOAPI lets the
 * next transport try, and the detail names the failure as the API socket
 * would.
 */
static int local_call(void *arg, int64_t self_id, const char *action,
                      const char *params, cq_result *out)
{
    cq__workers *w = arg;
    call c;
    int rc;

    /* cq_call checked params, or the library wrote them: sent as they are. */
    memset(&c, 0, sizeof(c));
    c.self_id = self_id;
    c.action = action;
    c.params = params;
    c.params_len = strlen(params);
    pthread_cond_init(&c.cond, NULL);
    run_call(w, &c);
    pthread_cond_destroy(&c.cond);
    switch (c.err) {
    case CQ_OK:
        rc = cq__api_result_from_body(c.answer, c.answer_len, out);
        break;
    case CQ_ENOAPI:
        rc = CQ_ENOAPI; /* HTTP may still carry it. */
        break;
    case CQ_ETIMEDOUT:
        rc = cq__api_fail(out, CQ_ETIMEDOUT, "bridge: %s", c.msg);
        break;
    default:
        rc = cq__api_fail(out, CQ_ENETWORK, "bridge: %s: %s",
                          cq__bridge_ipc_name(c.err), c.msg);
        break;
    }
    free(c.answer);
    return rc;
}


void cq__workers_share(cq__workers *w)
{
    cq__sched_set_source(&w->conf, local_call, w);
}


/*
 * Sends the quick operation back as .handle_quick_operation, the event's
 * own bytes as its context (no tree written again). Its answer is not
 * read, so the worker does not wait: the loop logs a failure. With an HTTP
 * API configured it goes through cq_call, which can fall back to HTTP.
 */
static void send_quick(cq__workers *w, cq_ctx *ctx, const job *j,
                       const char *quick)
{
    const char *parts[] = {"{\"context\":", j->json, ",\"operation\":", quick,
                           "}"};
    size_t lens[] = {11, j->len, 13, strlen(quick), 1}, len;
    char *params = cq__bridge_concat(parts, lens, 5, &len);
    call *c = params != NULL && w->conf.api_root == NULL ? calloc(1, sizeof(*c))
                                                         : NULL;

    if (c == NULL) {
        /* A failure is logged by cq_call; the event is done either way. */
        cq_call(ctx, ".handle_quick_operation", params, NULL);
        free(params);
        return;
    }
    c->params = c->owned = params;
    c->params_len = len;
    c->self_id = j->self_id;
    c->action = ".handle_quick_operation";
    c->detached = 1;
    run_call(w, c);
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
        send_quick(w, &ctx, j, quick);
    free(quick);
    cq__ctx_free(&ctx);
    cq_event_free(e);
}


/*
 * Takes the next event, counting the one the worker finished (done: 0 or
 * 1) under the same lock; NULL once the pool stops. The loop is woken for
 * finished events only when it has no wake coming (wake_loop_locked).
 */
static job *next_job(cq__workers *w, unsigned done)
{
    job *j = NULL;

    pthread_mutex_lock(&w->lock);
    if (done > 0) {
        w->finished += done;
        wake_loop_locked(w);
    }
    while (w->head == NULL && !w->stop) {
        w->idle++;
        pthread_cond_wait(&w->has_job, &w->lock);
        w->idle--;
    }
    if (!w->stop) {
        j = w->head;
        w->head = j->next;
        if (w->head == NULL)
            w->tail = NULL;
        w->njobs--;
    }
    pthread_mutex_unlock(&w->lock);
    return j;
}


static void *worker_main(void *arg)
{
    worker *me = arg;
    cq__workers *w = me->w;
    cq__api *api = cq__api_new(&w->conf);
    unsigned done = 0;
    job *j;

    if (api != NULL)
        cq__api_set_local(api, local_call, w);
    while ((j = next_job(w, done)) != NULL) {
        if (api != NULL)
            handle(w, api, j);
        free(j);
        done = 1;
    }
    cq__api_free(api);
    pthread_mutex_lock(&w->lock);
    w->running--;
    me->exited = 1;
    pthread_cond_broadcast(&w->exited);
    wake_loop_locked(w);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}


/* Copies the settings the handlers use, without the bridge-only strings
 * (see struct cq__workers). Returns CQ_OK or CQ_ENOMEM. */
static int conf_copy(cq__conf *dst, const cq__conf *src)
{
    char **unused[] = {&dst->bridge_socket, &dst->listen, &dst->log_file,
                       &dst->config};
    size_t i;

    if (cq__conf_copy(dst, src) != CQ_OK)
        return CQ_ENOMEM;
    for (i = 0; i < sizeof(unused) / sizeof(unused[0]); i++) {
        free(*unused[i]);
        *unused[i] = NULL;
    }
    return CQ_OK;
}


/* The pool's own parts, before any thread; CQ_OK or CQ_ENOMEM. */
static int pool_init(cq__workers *w, cq__bridge *br, int n)
{
    pthread_condattr_t ca;

    w->br = br;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->has_job, NULL);
    /* cq__workers_free() waits on it with a monotonic deadline. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->exited, &ca);
    pthread_condattr_destroy(&ca);
    if (conf_copy(&w->conf, br->conf) != CQ_OK)
        return CQ_ENOMEM;
    w->wake = event_new(br->base, -1, 0, on_wake, w);
    w->threads = calloc((size_t)n, sizeof(*w->threads));
    return w->wake != NULL && w->threads != NULL ? CQ_OK : CQ_ENOMEM;
}


cq__workers *cq__workers_new(cq__bridge *br, int n, size_t queue_cap)
{
    cq__workers *w = calloc(1, sizeof(*w));
    int i;

    if (w == NULL)
        return NULL;
    w->cap = queue_cap;
    if (pool_init(w, br, n) != CQ_OK) {
        cq__workers_free(w, 0);
        return NULL;
    }
    for (i = 0; i < n; i++) {
        w->threads[i].w = w;
        pthread_mutex_lock(&w->lock);
        if (pthread_create(&w->threads[i].thread, NULL, worker_main,
                           &w->threads[i]) == 0) {
            w->n++;
            w->running++;
        }
        pthread_mutex_unlock(&w->lock);
        if (w->n != i + 1)
            break;
    }
    if (w->n == 0) {
        cq__workers_free(w, 0);
        return NULL;
    }
    return w;
}


int cq__workers_offer(cq__workers *w, int64_t self_id, const char *json,
                      size_t len)
{
    job *j = malloc(sizeof(*j) + len);

    if (j == NULL)
        return CQ_ENOMEM;
    j->next = NULL;
    j->self_id = self_id;
    j->len = len;
    memcpy(j->json, json, len);
    pthread_mutex_lock(&w->lock);
    if (w->njobs >= w->cap || w->stop) {
        pthread_mutex_unlock(&w->lock);
        free(j);
        return CQ_EAGAIN;
    }
    if (w->tail != NULL)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    w->njobs++;
    /* Only an idle worker needs a wake; busy ones come back for more. */
    if (w->idle > 0)
        pthread_cond_signal(&w->has_job);
    pthread_mutex_unlock(&w->lock);
    return CQ_OK;
}


/* Loop thread: asks the workers to stop after their current event. */
void cq__workers_stop(cq__workers *w)
{
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_broadcast(&w->has_job);
    wake_loop_locked(w);
    pthread_mutex_unlock(&w->lock);
}


int cq__workers_running(cq__workers *w)
{
    int n;

    pthread_mutex_lock(&w->lock);
    n = w->running + (w->calls != NULL); /* A quick operation to send, say. */
    pthread_mutex_unlock(&w->lock);
    return n;
}


void cq__workers_close(cq__workers *w)
{
    call *c, *next;

    pthread_mutex_lock(&w->lock);
    w->closed = 1;
    pthread_mutex_unlock(&w->lock);
    /* New calls now fail in run_call; these were queued before. */
    for (c = take_calls(w, NULL); c != NULL; c = next) {
        next = c->next;
        finish_call(w, c, NULL, 0, CQ_ENETWORK, STOPPING_MSG);
    }
}


/*
 * Waits up to wait_ms for the workers to end, joins those that did and
 * detaches the others. Returns how many are still running.
 */
static int join_bounded(cq__workers *w, long wait_ms)
{
    struct timespec until;
    int i, stuck, rc = 0;

    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->lock);
    while (w->running > 0 && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->exited, &w->lock, &until);
    stuck = w->running;
    /* An exited worker has released the lock for good: joining is quick. */
    for (i = 0; i < w->n; i++) {
        if (w->threads[i].exited)
            pthread_join(w->threads[i].thread, NULL);
        else
            pthread_detach(w->threads[i].thread);
    }
    pthread_mutex_unlock(&w->lock);
    return stuck;
}


void cq__workers_free(cq__workers *w, long wait_ms)
{
    size_t dropped = 0;
    int stuck;

    if (w == NULL)
        return;
    cq__workers_stop(w);
    cq__workers_close(w);
    stuck = join_bounded(w, wait_ms);
    pthread_mutex_lock(&w->lock);
    while (w->head != NULL) {
        job *j = w->head;

        w->head = j->next;
        free(j);
        dropped++;
    }
    w->tail = NULL;
    w->njobs = 0;
    pthread_mutex_unlock(&w->lock);
    if (dropped > 0)
        cq_log(CQ_LOG_WARN, "stopping: %zu queued events not handled", dropped);
    if (stuck > 0) {
        /* They still use the pool: it stays, reachable, until exit. */
        cq_log(CQ_LOG_WARN,
               "stopping: %d workers still in a handler after %ld ms; "
               "exiting without them",
               stuck, wait_ms);
        w->next_abandoned = abandoned;
        abandoned = w;
        return;
    }
    if (w->wake != NULL)
        event_free(w->wake);
    pthread_cond_destroy(&w->exited);
    pthread_cond_destroy(&w->has_job);
    pthread_mutex_destroy(&w->lock);
    cq__conf_free(&w->conf);
    free(w->threads);
    free(w);
}
