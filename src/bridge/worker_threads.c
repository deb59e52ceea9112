/*
 * The worker pool's threads (the default; see workers.h for the parts every
 * worker shares). Each thread runs up to CQ__FIBERS_PER_WORKER handlers at
 * once, each in a fiber: a handler waiting for an answer yields, and its
 * thread runs the handlers whose answers came or starts the next event. A
 * thread sleeps (on its own condition variable) only when none of its
 * handlers can run and it cannot take an event. The loop wakes a thread
 * only when it sleeps, and once per batch (flush_wakes); a new event wakes
 * one only when no thread already woken would take it.
 *
 * Shutdown never blocks for long: cq__workers_join_threads() waits a
 * bounded time and detaches a thread stuck in a handler.
 */
#define _GNU_SOURCE /* SCHED_BATCH */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bridge/workers.h"
#include "lib/api.h"
#include "lib/log.h"


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
void cq__workers_wake_worker(cq__worker *me, int defer)
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


void cq__workers_wake_all(cq__workers *w)
{
    int i;

    for (i = 0; i < w->n; i++) {
        if (w->threads[i].asleep)
            cq__workers_wake_worker(&w->threads[i], 0);
    }
}


void cq__workers_flush_wakes(cq__workers *w)
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
    cq__workers_flush_wakes(w);
    pthread_mutex_unlock(&w->lock);
}


/*
 * Events wait and no worker is woken and about to look at the queue: wakes
 * one asleep with room, if any, preferring one with no handler at all, so
 * that handlers spread over the threads. A worker running handlers does
 * not count as about to look: one of them may block in a system call, and
 * the events must not wait for it while another thread sleeps. Lock held.
 */
void cq__workers_wake_taker(cq__workers *w, int defer)
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
        cq__workers_wake_worker(best, defer);
}


/*
 * Worker: counts the events it finished (done) under the lock, then takes
 * what to run (cq__workers_collect: one lock and one wake for a batch).
 * Sleeps while there is nothing. Returns NULL once the pool stops and every
 * handler of the worker has ended. The loop is woken for finished events
 * only when it has no wake coming.
 */
static cq__slot *take_work(cq__worker *me, unsigned done)
{
    cq__workers *w = me->w;
    cq__slot *list;

    pthread_mutex_lock(&w->lock);
    if (done > 0) {
        w->finished += done;
        cq__workers_wake_loop(w);
    }
    cq__workers_give_back(me);
    for (;;) {
        list = cq__workers_collect(me);
        if (list != NULL || (w->stop && me->live == 0))
            break;
        me->asleep = 1;
        set_hungry(me, 0);
        cq__workers_wake_taker(w, 0); /* Another may take the queue. */
        while (me->asleep)
            pthread_cond_wait(&me->wake, &w->lock);
    }
    set_hungry(me, 0);
    cq__workers_wake_taker(w, 0);
    pthread_mutex_unlock(&w->lock);
    return list;
}


/*
 * Moves the calling worker thread from the default policy to SCHED_BATCH,
 * whose only difference (same share of the CPU, no privilege needed) is
 * that waking it never preempts the running thread. The loop wakes workers
 * at the end of a batch it is still handling; when they share a core, the
 * default policy switched the loop out for each worker it woke, and half
 * the CPU of an event went to switches (0.67 per event at 64 in flight,
 * 0.39 with this). A woken worker still runs as soon as the loop waits, or
 * at once on an idle core. A policy the operator chose at start (chrt,
 * systemd's CPUSchedulingPolicy=) is left as it is. Where the call is
 * refused (a seccomp filter without sched_setscheduler), the workers keep
 * the default policy and say so once.
 */
static void schedule_as_batch(cq__worker *me)
{
    struct sched_param p;
    int policy, rc;

    if (pthread_getschedparam(pthread_self(), &policy, &p) != 0 ||
        policy != SCHED_OTHER)
        return;
    rc = pthread_setschedparam(pthread_self(), SCHED_BATCH, &p);
    if (rc != 0 && me == &me->w->threads[0])
        cq_log(CQ_LOG_INFO,
               "worker threads keep the default scheduling policy (cannot "
               "set SCHED_BATCH: %s): events may cost more CPU",
               strerror(rc));
}


static void *worker_main(void *arg)
{
    cq__worker *me = arg;
    cq__workers *w = me->w;
    unsigned done = 0;
    cq__slot *s, *next;

    schedule_as_batch(me);
    me->api = cq__api_new(&w->conf);
    if (me->api != NULL)
        cq__api_set_local(me->api, cq__workers_local_call, w);
    while ((s = take_work(me, done)) != NULL) {
        for (done = 0; s != NULL; s = next) {
            next = s->next;
            cq__workers_run_slot(me, s, &done);
        }
    }
    cq__workers_free_slots(me);
    cq__api_free(me->api);
    pthread_mutex_lock(&w->lock);
    cq__workers_give_back(me);
    w->running--;
    me->exited = 1;
    pthread_cond_broadcast(&w->exited);
    cq__workers_wake_loop(w);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}


int cq__workers_start_threads(cq__workers *w, int n)
{
    int i;

    w->flush = event_new(w->br->base, -1, 0, on_flush, w);
    w->threads = calloc((size_t)n, sizeof(*w->threads));
    if (w->flush == NULL || w->threads == NULL)
        return 0;
    for (i = 0; i < n; i++) {
        /* Made here, so that a thread that started can take events. */
        if (cq__workers_init_slots(&w->threads[i], w, CQ__FIBERS_PER_WORKER) !=
            CQ_OK)
            break;
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
            cq__workers_free_slots(&w->threads[i]);
            break;
        }
    }
    return w->n;
}


int cq__workers_join_threads(cq__workers *w, long wait_ms)
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
