/*
 * The worker pool: handlers for events that arrive over WebSocket run here,
 * each in a fiber (fiber.h), so that handlers waiting for API answers
 * interleave. Their API calls go to the loop through a queue and out over
 * the account's WebSocket; the handler waits for the answer, which the
 * loop always delivers (answer, timeout or close), and once the loop has
 * stopped every call fails at once (cq__workers_close). The quick
 * operation is not waited for. The calls are in worker_calls.c, the worker
 * threads in worker_threads.c; the parts all share, in workers.h.
 *
 * This file holds what every worker shares: the bounded event queue (when
 * full, the connection stops reading, conn.c; finished events and calls
 * wake the loop, one wake at a time), the slots and their fibers, and the
 * pool's life. With inline_handlers it also holds the one worker, hosted
 * by the loop thread: no thread is started, and the loop runs the
 * handlers from its run event (on_run) after it has handled what its poll
 * returned, never from inside a connection's callback. A handler that
 * blocks there stalls every connection: hence opt-in.
 *
 * Shutdown never blocks for long: cq__workers_free() waits a bounded time;
 * a worker stuck in a handler is detached, its pool kept in `abandoned`.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/workers.h"
#include "lib/api.h"

/*
 * Spare jobs: a new job has room for JOB_MIN bytes at least (most events
 * are a few hundred), the pool keeps up to JOB_SPARES handled ones of
 * JOB_KEEP bytes at most: 64 to 1024 KiB, with the loop's as many again.
 */
#define JOB_MIN    1024
#define JOB_KEEP   (16 * 1024)
#define JOB_SPARES 64

/* A run of the hosted handlers this long is logged (warn_held). */
#define HELD_WARN_MS 100

/* Pools with workers still running at exit; they point into them. */
static cq__workers *abandoned;

/* Every fiber runs a slot (run_job's argument): the fiber's thread-local
 * is the one record of which runs. */
cq__slot *cq__workers_running_slot(void)
{
    return cq__fiber_current_arg();
}


/*
 * The hosted worker has something to run: activates its run event, which
 * the loop runs after the events its poll returned (a batch of answers and
 * events, one run). Lock held.
 */
static void kick_host(cq__workers *w)
{
    if (!w->run_on && w->run != NULL) {
        w->run_on = 1;
        event_active(w->run, EV_READ, 0);
    }
}


void cq__workers_ready(cq__slot *s)
{
    cq__worker *me = s->me;

    s->next = NULL;
    if (me->ready_tail != NULL)
        me->ready_tail->next = s;
    else
        me->ready = s;
    me->ready_tail = s;
    if (me == me->w->host)
        kick_host(me->w);
    else if (me->asleep) /* An awake one looks before it sleeps. */
        cq__workers_wake_worker(me, 1);
}


/* Worker, lock held: moves the next queued event into a free slot, marked
 * fresh, and returns it; NULL when there is none or no room. */
static cq__slot *take_job(cq__worker *me)
{
    cq__workers *w = me->w;
    cq__slot *s = me->free;

    if (s == NULL || w->head == NULL || w->stop)
        return NULL;
    /* A connection may be paused for this full queue: the loop refills
     * it (cq__workers_on_wake). */
    if (w->njobs >= w->cap) {
        w->refill = 1;
        cq__workers_wake_loop(w);
    }
    me->free = s->next;
    s->next = NULL;
    s->job = w->head;
    w->head = s->job->next;
    if (w->head == NULL)
        w->tail = NULL;
    w->njobs--;
    s->fresh = 1;
    me->live++;
    return s;
}


/* Up to JOB_SPARES in the pool's spares (with the loop's, twice that at
 * most); the rest are freed. */
void cq__workers_give_back(cq__worker *me)
{
    cq__workers *w = me->w;
    cq__job *j;

    while ((j = me->spent) != NULL) {
        me->spent = j->next;
        if (w->nspare >= JOB_SPARES || j->cap > JOB_KEEP) {
            free(j);
            continue;
        }
        j->next = w->spare;
        w->spare = j;
        w->nspare++;
    }
}


cq__slot *cq__workers_collect(cq__worker *me)
{
    cq__slot *list = me->ready, *tail = me->ready_tail, *fresh;

    while ((fresh = take_job(me)) != NULL) {
        if (tail != NULL)
            tail->next = fresh;
        else
            list = fresh;
        tail = fresh;
    }
    me->ready = me->ready_tail = NULL;
    me->room = me->free == NULL ? 0 : me->live == 0 ? 2 : 1;
    return list;
}


/* A fiber's function: the handlers for its slot's event. */
static void run_job(void *arg)
{
    cq__slot *s = arg;

    if (s->me->api != NULL)
        cq__workers_handle(s->me, s->job);
}


/*
 * A fresh slot gets its fiber now, once; without one (out of memory) the
 * handler runs on the thread itself: its calls block a worker thread, and
 * fail at once on the loop's (cq__workers_local_call).
 */
void cq__workers_run_slot(cq__worker *me, cq__slot *s, unsigned *done)
{
    int ended = 1;

    if (s->fresh && s->fiber == NULL)
        s->fiber = cq__fiber_new(CQ__FIBER_STACK);
    if (s->fiber == NULL) {
        cq_log(CQ_LOG_ERROR,
               "no fiber for a handler (out of memory): it "
               "runs without one, its API calls %s",
               me == me->w->host ? "fail" : "block its thread");
        run_job(s);
    } else {
        if (s->fresh)
            cq__fiber_start(s->fiber, run_job, s);
        ended = cq__fiber_resume(s->fiber);
    }
    s->fresh = 0;
    if (!ended)
        return;
    s->job->next = me->spent;
    me->spent = s->job;
    s->job = NULL;
    s->next = me->free;
    me->free = s;
    me->live--;
    (*done)++;
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


/* The pool's own parts, before any worker; CQ_OK or CQ_ENOMEM. */
static int pool_init(cq__workers *w, cq__bridge *br)
{
    pthread_condattr_t ca;

    w->br = br;
    w->loop = pthread_self();
    pthread_mutex_init(&w->lock, NULL);
    /* cq__workers_free() waits on it with a monotonic deadline. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->exited, &ca);
    pthread_condattr_destroy(&ca);
    if (conf_copy(&w->conf, br->conf) != CQ_OK)
        return CQ_ENOMEM;
    w->wake = event_new(br->base, -1, 0, cq__workers_on_wake, w);
    return w->wake != NULL ? CQ_OK : CQ_ENOMEM;
}


int cq__workers_init_slots(cq__worker *me, cq__workers *w, int n)
{
    int i;

    me->w = w;
    me->slots = calloc((size_t)n, sizeof(*me->slots));
    if (me->slots == NULL)
        return CQ_ENOMEM;
    me->nslots = n;
    for (i = n - 1; i >= 0; i--) {
        me->slots[i].me = me;
        me->slots[i].next = me->free;
        me->free = &me->slots[i];
    }
    return CQ_OK;
}


void cq__workers_free_slots(cq__worker *me)
{
    int i;

    for (i = 0; i < me->nslots; i++)
        cq__fiber_free(me->slots[i].fiber);
    free(me->slots);
    me->slots = NULL;
    me->nslots = 0;
}


/*
 * Says so when the hosted handlers of one run held the loop for ms (at
 * least HELD_WARN_MS): inline_handlers is for handlers that never block,
 * and one that does stalls every connection, which the operator should
 * hear about rather than guess. A run of handlers that only compute and
 * make WebSocket calls takes well under a millisecond. At most one line a
 * second.
 */
static void warn_held(cq__workers *w, uint64_t now, uint64_t ms, int ran)
{
    if (ms < HELD_WARN_MS || now - w->held_said < 1000)
        return;
    w->held_said = now;
    cq_log(CQ_LOG_WARN,
           "inline_handlers: %d handlers held the loop thread for %llu ms "
           "without waiting for an answer, and every connection waited; "
           "handlers that block (sleep, blocking I/O, the HTTP API) need "
           "inline_handlers = 0",
           ran, (unsigned long long)ms);
}


/*
 * Runs the hosted worker once: the slots whose calls ended and the events
 * it has room for, each until its handler waits or ends. Returns how many
 * slots ran. Loop thread, lock not held.
 */
static int run_host(cq__workers *w)
{
    cq__worker *me = w->host;
    unsigned done = 0;
    cq__slot *s, *next;
    uint64_t t0, t1;
    int ran = 0;

    pthread_mutex_lock(&w->lock);
    w->run_on = 0;
    s = cq__workers_collect(me);
    pthread_mutex_unlock(&w->lock);
    t0 = cq__now_ms();
    for (; s != NULL; s = next, ran++) {
        next = s->next;
        cq__workers_run_slot(me, s, &done);
    }
    t1 = cq__now_ms();
    warn_held(w, t1, t1 - t0, ran);
    pthread_mutex_lock(&w->lock);
    if (done > 0) {
        w->finished += done;
        cq__workers_wake_loop(w);
    }
    cq__workers_give_back(me);
    /* Slots freed with events still queued: another run takes them. */
    if (w->head != NULL && me->free != NULL && !w->stop)
        kick_host(w);
    pthread_mutex_unlock(&w->lock);
    return ran;
}


/* Loop thread: the hosted worker's run event. */
static void on_run(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    run_host(arg);
}


/*
 * With inline_handlers: the worker the loop hosts, its transports and its
 * run event, instead of threads. Returns CQ_OK or CQ_ENOMEM.
 */
static int host_init(cq__workers *w, int threads)
{
    cq__worker *me = calloc(1, sizeof(*me));

    if (me == NULL)
        return CQ_ENOMEM;
    w->host = me;
    if (cq__workers_init_slots(me, w, threads * CQ__FIBERS_PER_WORKER) != CQ_OK)
        return CQ_ENOMEM;
    me->api = cq__api_new(&w->conf);
    w->run = event_new(w->br->base, -1, 0, on_run, w);
    if (me->api == NULL || w->run == NULL)
        return CQ_ENOMEM;
    cq__api_set_local(me->api, cq__workers_local_call, w);
    cq_log(CQ_LOG_INFO,
           "inline_handlers: up to %d handlers run on the loop thread, no "
           "worker threads; a handler that blocks stalls every connection",
           me->nslots);
    return CQ_OK;
}


/*
 * How many events may wait in the queue for a free fiber: twice the
 * threads, but at least one worker thread's fibers. A worker takes as many
 * events as it has free fibers at once, and taking from a full queue wakes the
 * loop to refill it; a queue shorter than that was emptied by every take,
 * so the loop was woken and switched in for every few events (threads 1:
 * one context switch per event and 10.2 us per event at 64 in flight;
 * with 16, 0.23 and 4.6 us; threads 4: 0.39 and 5.2 us, then 0.24 and
 * 4.2 us). The events waiting here, with those the fibers run, are what
 * the bridge has accepted; the rest stay held on their connections.
 */
static size_t queue_cap(int threads)
{
    size_t cap = (size_t)threads * 2;

    return cap > CQ__FIBERS_PER_WORKER ? cap : CQ__FIBERS_PER_WORKER;
}


cq__workers *cq__workers_new(cq__bridge *br, int n)
{
    cq__workers *w = calloc(1, sizeof(*w));
    int ok;

    if (w == NULL)
        return NULL;
    w->cap = queue_cap(n);
    ok = pool_init(w, br) == CQ_OK;
    if (ok && br->conf->inline_handlers)
        ok = host_init(w, n) == CQ_OK;
    else if (ok)
        ok = cq__workers_start_threads(w, n) > 0;
    if (!ok) {
        cq__workers_free(w, 0);
        return NULL;
    }
    return w;
}


/*
 * Loop thread: a job for len bytes, a spare one when the next fits, else
 * a new one of JOB_MIN bytes at least (most events fit). NULL when out of
 * memory.
 */
static cq__job *job_new(cq__workers *w, size_t len)
{
    cq__job *j = w->loop_spare;
    size_t cap = len > JOB_MIN ? len : JOB_MIN;

    if (j != NULL && j->cap >= len) {
        w->loop_spare = j->next;
        return j;
    }
    if (len > SIZE_MAX - sizeof(*j) || (j = malloc(sizeof(*j) + cap)) == NULL)
        return NULL;
    j->cap = cap;
    return j;
}


int cq__workers_offer(cq__workers *w, int64_t self_id, const char *json,
                      size_t len)
{
    cq__job *j = job_new(w, len);

    if (j == NULL)
        return CQ_ENOMEM;
    j->next = NULL;
    j->self_id = self_id;
    j->len = len;
    memcpy(j->json, json, len);
    pthread_mutex_lock(&w->lock);
    if (w->njobs >= w->cap || w->stop) {
        pthread_mutex_unlock(&w->lock);
        j->next = w->loop_spare;
        w->loop_spare = j;
        return CQ_EAGAIN;
    }
    if (w->loop_spare == NULL) {
        w->loop_spare = w->spare;
        w->spare = NULL;
        w->nspare = 0;
    }
    if (w->tail != NULL)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    w->njobs++;
    /* Workers awake look at the queue before they sleep. */
    if (w->host != NULL)
        kick_host(w);
    else
        cq__workers_wake_taker(w, 1);
    pthread_mutex_unlock(&w->lock);
    return CQ_OK;
}


/* Loop thread: asks the workers to stop after their current event. */
void cq__workers_stop(cq__workers *w)
{
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    cq__workers_wake_all(w);
    cq__workers_wake_loop(w);
    pthread_mutex_unlock(&w->lock);
}


int cq__workers_running(cq__workers *w)
{
    int n;

    pthread_mutex_lock(&w->lock);
    /* The hosted worker runs until it stops with no handler left. */
    n = w->host != NULL ? w->host->live > 0 || !w->stop : w->running;
    n += w->calls != NULL; /* A quick operation to send, say. */
    pthread_mutex_unlock(&w->lock);
    return n;
}


/*
 * Loop thread, the loop stopped: runs the hosted handlers made ready (their
 * calls failed) to their end, each later call failing at once, so this
 * ends. Returns the handlers still waiting for a call to end.
 */
static int drain_host(cq__workers *w)
{
    while (run_host(w) > 0)
        ;
    return w->host->live;
}


void cq__workers_close(cq__workers *w)
{
    cq__call *c, *next;

    pthread_mutex_lock(&w->lock);
    w->closed = 1;
    cq__workers_flush_wakes(w); /* The loop will not run the flush event. */
    pthread_mutex_unlock(&w->lock);
    /* New calls now fail in run_call; these were queued before. */
    for (c = cq__workers_take_calls(w, NULL, NULL); c != NULL; c = next) {
        next = c->next;
        cq__workers_finish_call(w, c, NULL, 0, NULL, CQ_ENETWORK,
                                CQ__WORKERS_STOPPING);
    }
    /* The loop will not run the run event either. */
    if (w->host != NULL)
        drain_host(w);
}


static void free_jobs(cq__job *j)
{
    cq__job *next;

    for (; j != NULL; j = next) {
        next = j->next;
        free(j);
    }
}


/* Frees the hosted worker, none of whose handlers is suspended. */
static void host_free(cq__worker *me)
{
    if (me == NULL)
        return;
    cq__workers_free_slots(me);
    cq__api_free(me->api);
    free_jobs(me->spent);
    free(me);
}


void cq__workers_free(cq__workers *w, long wait_ms)
{
    size_t dropped;
    int i, stuck;

    if (w == NULL)
        return;
    cq__workers_stop(w);
    cq__workers_close(w);
    /* Calls failed since cq__workers_close() (the accounts' pending ones,
     * cq__accounts_fail_all) made more hosted handlers ready. */
    stuck =
        w->host != NULL ? drain_host(w) : cq__workers_join_threads(w, wait_ms);
    pthread_mutex_lock(&w->lock);
    dropped = w->njobs;
    free_jobs(w->head);
    free_jobs(w->spare);
    free_jobs(w->loop_spare);
    w->head = w->tail = w->spare = w->loop_spare = NULL;
    w->njobs = 0;
    pthread_mutex_unlock(&w->lock);
    if (dropped > 0)
        cq_log(CQ_LOG_WARN, "stopping: %zu queued events not handled", dropped);
    if (stuck > 0) {
        /* They still use the pool: it stays, reachable, until exit. */
        cq_log(CQ_LOG_WARN,
               "stopping: %d %s still in a handler after %ld ms; "
               "exiting without them",
               stuck, w->host != NULL ? "fibers" : "workers", wait_ms);
        w->next_abandoned = abandoned;
        abandoned = w;
        return;
    }
    if (w->wake != NULL)
        event_free(w->wake);
    if (w->flush != NULL)
        event_free(w->flush);
    if (w->run != NULL)
        event_free(w->run);
    host_free(w->host);
    pthread_cond_destroy(&w->exited);
    for (i = 0; i < w->n; i++)
        pthread_cond_destroy(&w->threads[i].wake);
    pthread_mutex_destroy(&w->lock);
    cq__conf_free(&w->conf);
    free(w->threads);
    free(w);
}
