/*
 * The worker pool: handlers for events that arrive over WebSocket run here,
 * so a slow handler never stalls the loop. Their API calls go to the loop
 * through a queue and out over the account's WebSocket; the handler waits
 * for the answer, which the loop always delivers (answer, timeout or
 * close), and once the loop has stopped every call fails at once
 * (cq__workers_close). The quick operation is not waited for. The calls
 * are in worker_calls.c; the parts both files share, in workers.h.
 *
 * Each worker thread runs up to CQ__FIBERS_PER_WORKER handlers at once,
 * each in a fiber (fiber.h): a handler waiting for an answer yields, and
 * its thread runs the handlers whose answers came or starts the next
 * event. So handlers of different events interleave on one thread at API
 * calls, and a thread sleeps (on its own condition variable) only when
 * none of its handlers can run and it cannot take an event. The loop wakes
 * a worker only when it sleeps, and once per batch (flush_wakes); a new
 * event wakes one only when no worker already woken would take it.
 *
 * The event queue is bounded: when full, the connection stops reading
 * (conn.c). Finished events and calls wake the loop, one wake at a time.
 *
 * Shutdown never blocks for long: cq__workers_free() waits a bounded time;
 * a worker stuck in a handler is detached, its pool kept in `abandoned`.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Pools with workers still running at exit; they point into them. */
static cq__workers *abandoned;

/* The slot whose fiber runs on this thread; NULL outside any. */
static __thread cq__slot *running;


cq__slot *cq__workers_running_slot(void)
{
    return running;
}


/* Sets whether me is woken with room for an event and not yet back for
 * it, keeping w->hungry the count of those. Lock held. */
static void set_hungry(cq__worker *me, int hungry)
{
    me->w->hungry += hungry - me->hungry;
    me->hungry = hungry;
}


/*
 * Wakes me, asleep, to run what it was given. From the loop thread while
 * the loop runs (defer), the signal waits until the loop has handled all
 * that its poll returned (flush_wakes): a batch of answers wakes each
 * worker once, and the loop is not switched out in the middle of it for
 * the worker it woke. Lock held.
 */
static void wake_worker(cq__worker *me, int defer)
{
    cq__workers *w = me->w;

    me->asleep = 0;
    set_hungry(me, me->room > 0);
    if (!defer || w->closed || w->flush == NULL) {
        pthread_cond_signal(&me->wake);
        return;
    }
    me->owed = 1;
    if (!w->flushing) {
        w->flushing = 1;
        event_active(w->flush, EV_READ, 0);
    }
}


/* Sends the signals wake_worker() deferred. Lock held. */
static void flush_wakes(cq__workers *w)
{
    int i;

    w->flushing = 0;
    for (i = 0; i < w->n; i++) {
        if (w->threads[i].owed) {
            w->threads[i].owed = 0;
            pthread_cond_signal(&w->threads[i].wake);
        }
    }
}


/* Loop thread: the flush event, activated after the events the loop's
 * poll returned, so it runs once they are handled. */
static void on_flush(evutil_socket_t fd, short what, void *arg)
{
    cq__workers *w = arg;

    (void)fd;
    (void)what;
    pthread_mutex_lock(&w->lock);
    flush_wakes(w);
    pthread_mutex_unlock(&w->lock);
}


/*
 * Events wait and no worker is woken and about to look at the queue: wakes
 * one asleep with room, if any, preferring one with no handler at all, so
 * that handlers spread over the threads. A worker running handlers does
 * not count as about to look: one of them may block in a system call, and
 * the events must not wait for it while another thread sleeps. Lock held.
 */
static void wake_taker(cq__workers *w, int defer)
{
    cq__worker *best = NULL;
    int i;

    if (w->head == NULL || w->hungry > 0 || w->stop)
        return;
    for (i = 0; i < w->n; i++) {
        cq__worker *o = &w->threads[i];

        if (o->asleep && o->room > (best != NULL ? best->room : 0))
            best = o;
    }
    if (best != NULL)
        wake_worker(best, defer);
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
    /* An awake worker looks at its ready list before it sleeps. */
    if (me->asleep)
        wake_worker(me, 1);
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


/*
 * Worker, lock held: gives the jobs it handled to the pool's spares, up to
 * JOB_SPARES there (with the loop's, twice that at most); frees the rest.
 */
static void give_back(cq__worker *me)
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


/*
 * Worker: counts the events it finished (done) under the lock, then takes
 * what to run: the slots whose calls ended, then as many queued events as
 * it has room for (one lock and one wake for a batch). Sleeps while there
 * is nothing. Returns NULL once the pool stops and every handler of the
 * worker has ended. The loop is woken for finished events only when it has
 * no wake coming.
 */
static cq__slot *take_work(cq__worker *me, unsigned done)
{
    cq__workers *w = me->w;
    cq__slot *list, *tail, *fresh;

    pthread_mutex_lock(&w->lock);
    if (done > 0) {
        w->finished += done;
        cq__workers_wake_loop(w);
    }
    give_back(me);
    for (;;) {
        list = me->ready;
        tail = me->ready_tail;
        while ((fresh = take_job(me)) != NULL) {
            if (tail != NULL)
                tail->next = fresh;
            else
                list = fresh;
            tail = fresh;
        }
        me->ready = me->ready_tail = NULL;
        me->room = me->free == NULL ? 0 : me->live == 0 ? 2 : 1;
        if (list != NULL || (w->stop && me->live == 0))
            break;
        me->asleep = 1;
        set_hungry(me, 0);
        wake_taker(w, 0); /* Another may take the queue. */
        while (me->asleep)
            pthread_cond_wait(&me->wake, &w->lock);
    }
    set_hungry(me, 0);
    wake_taker(w, 0);
    pthread_mutex_unlock(&w->lock);
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
 * Worker: runs s until its handler waits for an answer or ends; an ended
 * event frees the slot and counts in *done. A fresh slot gets its fiber
 * now, once; without one (out of memory) the handler runs on the thread
 * itself and its calls block the thread.
 */
static void run_slot(cq__worker *me, cq__slot *s, unsigned *done)
{
    int ended = 1;

    if (s->fresh && s->fiber == NULL)
        s->fiber = cq__fiber_new(CQ__FIBER_STACK);
    if (s->fiber == NULL) {
        run_job(s);
    } else {
        if (s->fresh)
            cq__fiber_start(s->fiber, run_job, s);
        running = s;
        ended = cq__fiber_resume(s->fiber);
        running = NULL;
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


static void *worker_main(void *arg)
{
    cq__worker *me = arg;
    cq__workers *w = me->w;
    unsigned done = 0;
    cq__slot *s, *next;
    int i;

    me->api = cq__api_new(&w->conf);
    if (me->api != NULL)
        cq__api_set_local(me->api, cq__workers_local_call, w);
    for (i = CQ__FIBERS_PER_WORKER - 1; i >= 0; i--) {
        me->slots[i].me = me;
        me->slots[i].next = me->free;
        me->free = &me->slots[i];
    }
    while ((s = take_work(me, done)) != NULL) {
        for (done = 0; s != NULL; s = next) {
            next = s->next;
            run_slot(me, s, &done);
        }
    }
    for (i = 0; i < CQ__FIBERS_PER_WORKER; i++)
        cq__fiber_free(me->slots[i].fiber);
    cq__api_free(me->api);
    pthread_mutex_lock(&w->lock);
    give_back(me);
    w->running--;
    me->exited = 1;
    pthread_cond_broadcast(&w->exited);
    cq__workers_wake_loop(w);
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
    /* cq__workers_free() waits on it with a monotonic deadline. */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->exited, &ca);
    pthread_condattr_destroy(&ca);
    if (conf_copy(&w->conf, br->conf) != CQ_OK)
        return CQ_ENOMEM;
    w->wake = event_new(br->base, -1, 0, cq__workers_on_wake, w);
    w->flush = event_new(br->base, -1, 0, on_flush, w);
    w->threads = calloc((size_t)n, sizeof(*w->threads));
    return w->wake != NULL && w->flush != NULL && w->threads != NULL
               ? CQ_OK
               : CQ_ENOMEM;
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
        pthread_cond_init(&w->threads[i].wake, NULL);
        pthread_mutex_lock(&w->lock);
        if (pthread_create(&w->threads[i].thread, NULL, worker_main,
                           &w->threads[i]) == 0) {
            w->n++;
            w->running++;
        }
        pthread_mutex_unlock(&w->lock);
        if (w->n != i + 1) {
            pthread_cond_destroy(&w->threads[i].wake);
            break;
        }
    }
    if (w->n == 0) {
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
    wake_taker(w, 1);
    pthread_mutex_unlock(&w->lock);
    return CQ_OK;
}


/* Loop thread: asks the workers to stop after their current event. */
void cq__workers_stop(cq__workers *w)
{
    int i;

    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    for (i = 0; i < w->n; i++) {
        if (w->threads[i].asleep)
            wake_worker(&w->threads[i], 0);
    }
    cq__workers_wake_loop(w);
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
    cq__call *c, *next;

    pthread_mutex_lock(&w->lock);
    w->closed = 1;
    flush_wakes(w); /* The loop will not run the flush event now. */
    pthread_mutex_unlock(&w->lock);
    /* New calls now fail in run_call; these were queued before. */
    for (c = cq__workers_take_calls(w, NULL, NULL); c != NULL; c = next) {
        next = c->next;
        cq__workers_finish_call(w, c, NULL, 0, CQ_ENETWORK,
                                CQ__WORKERS_STOPPING);
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


static void free_jobs(cq__job *j)
{
    cq__job *next;

    for (; j != NULL; j = next) {
        next = j->next;
        free(j);
    }
}


void cq__workers_free(cq__workers *w, long wait_ms)
{
    size_t dropped;
    int i, stuck;

    if (w == NULL)
        return;
    cq__workers_stop(w);
    cq__workers_close(w);
    stuck = join_bounded(w, wait_ms);
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
               "stopping: %d workers still in a handler after %ld ms; "
               "exiting without them",
               stuck, wait_ms);
        w->next_abandoned = abandoned;
        abandoned = w;
        return;
    }
    if (w->wake != NULL)
        event_free(w->wake);
    if (w->flush != NULL)
        event_free(w->flush);
    pthread_cond_destroy(&w->exited);
    for (i = 0; i < w->n; i++)
        pthread_cond_destroy(&w->threads[i].wake);
    pthread_mutex_destroy(&w->lock);
    cq__conf_free(&w->conf);
    free(w->threads);
    free(w);
}
