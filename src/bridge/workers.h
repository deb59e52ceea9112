/*
 * The worker pool's own parts, shared by its three files: workers.c (the
 * event queue, the slots and their fibers, and the worker the loop hosts
 * with inline_handlers), worker_threads.c (the worker threads, their sleep
 * and wakes) and worker_calls.c (the API calls handlers make and the loop
 * sends). The pool's interface is in bridge.h; nothing else includes this
 * header.
 *
 * Two modes, one scheduler: each worker (a thread, or with inline_handlers
 * the loop itself, w->host) takes events from the same bounded queue into
 * its slots (cq__workers_collect) and runs each slot's fiber until its
 * handler waits for an answer or ends (cq__workers_run_slot). What differs
 * is how a worker with nothing to run waits: a thread sleeps on its
 * condition variable; the hosted worker is an event of the loop (run),
 * activated when a job or an answer comes.
 *
 * Locking: one lock per pool (cq__workers.lock) guards the event queue, the
 * call queue, every call's outcome and every worker's ready list and sleep
 * state. Fields marked "thread-only" belong to the worker's thread (for
 * the hosted worker, the loop thread).
 */
#ifndef CQ_BRIDGE_WORKERS_H
#define CQ_BRIDGE_WORKERS_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "bridge/bridge.h"
#include "bridge/fiber.h"
#include "lib/api.h"

/*
 * How many handlers one worker runs at once, each in a fiber: enough to
 * keep a thread busy while its handlers wait for answers (the window of a
 * busy connection spread over the threads), few enough to bound memory at
 * CQ__FIBERS_PER_WORKER stacks of CQ__FIBER_STACK per thread. With
 * inline_handlers the loop is the one worker and runs as many as the
 * threads would (threads times this), so that the setting keeps meaning
 * how many handlers may wait for answers at once.
 */
#define CQ__FIBERS_PER_WORKER 16

/* Why every call fails once the loop has stopped. */
#define CQ__WORKERS_STOPPING "the bridge is stopping"

typedef struct cq__job {
    struct cq__job *next;
    int64_t self_id;
    size_t len;
    size_t cap; /* json's size: a handled job is kept for another. */
    char json[];
} cq__job;

struct cq__worker;

/* One fiber of a worker and the event it runs. */
typedef struct cq__slot {
    struct cq__slot *next; /* On the worker's ready or free list. */
    struct cq__worker *me;
    cq__fiber *fiber; /* Made when first needed, kept for reuse. */
    cq__job *job;     /* The event it runs; NULL when free. */
    int fresh;        /* job not started yet. */
} cq__slot;

/*
 * An API call from a worker for the loop to send. A handler waiting for the
 * answer keeps it on its stack: a fiber (waiter) is made ready when it
 * ends, any other thread waits on cond. A detached one (the quick
 * operation, whose answer nobody reads) is the loop's to free once it
 * ended.
 */
typedef struct cq__call {
    struct cq__call *next;
    cq__workers *w;
    int64_t self_id;
    const char *action;
    const char *params; /* A JSON object as text, sent as it is; a detached
                         * call's follows the struct in its block. */
    size_t params_len;
    int detached;
    cq__slot *waiter;
    int done;
    int err;      /* CQ_OK or the CQ_E* code the call ended with. */
    char *answer; /* The answer frame as JSON text, answer_len bytes. */
    size_t answer_len;
    /*
     * The loop's scan of the answer (cq__frame's answer_at, moved into
     * answer), when it was made and is the worker's own (not deeper than
     * its cap): the worker judges the answer without scanning it again.
     */
    int scanned;
    cq__json_span at[CQ__ANS_N];
    char small[256]; /* Holds an answer that fits: no malloc() for it. */
    char msg[160];
    pthread_cond_t cond; /* Only when waiter is NULL and not detached. */
} cq__call;

/* One worker: a thread of the pool, or the one the loop hosts (w->host),
 * which has no thread and never sleeps on wake. */
typedef struct cq__worker {
    cq__workers *w;
    pthread_t thread;
    int exited;          /* Under the lock: worker_main is returning. */
    pthread_cond_t wake; /* The worker sleeps on it. */
    int asleep;          /* Under the lock: waiting on wake. */
    int room;   /* Under the lock: 0 full, 1 room, 2 no handler at all. */
    int hungry; /* Under the lock: woken with room, not yet back. */
    int owed;   /* Under the lock: woken, its signal deferred. */
    cq__slot *ready, *ready_tail; /* Under the lock: calls that ended. */
    cq__api *api;                 /* Thread-only, as all below. */
    cq__slot *free;
    cq__job *spent;  /* Handled, for the pool's spares at the next lock. */
    int live;        /* Slots running an event. */
    cq__slot *slots; /* nslots of them, made before the worker runs. */
    int nslots;
} cq__worker;

struct cq__workers {
    cq__bridge *br;
    /* The handlers' settings, the pool's own copy (a detached worker may
     * outlive the bridge's), without the bridge-only strings
     * (bridge_socket: no loop back; listen, log_file, config). */
    cq__conf conf;
    cq__worker *threads;
    int n, running;
    pthread_mutex_t lock;
    pthread_cond_t exited; /* A worker ended; running went down. */
    cq__job *head, *tail;
    size_t njobs, cap;
    /*
     * Handled jobs kept for new events, so that an event costs no malloc()
     * in the loop and no free() in a worker: nspare of them under the
     * lock, which the loop takes all at once into loop_spare (its own).
     */
    cq__job *spare, *loop_spare;
    unsigned nspare;
    int stop;
    int closed;                   /* The loop has stopped: no call is sent. */
    cq__call *calls, *calls_tail; /* For the loop to send. */
    unsigned finished;            /* Events handled since the loop looked. */
    int refill; /* An event left the full queue since the loop looked. */
    int woken;  /* The loop has a wake coming: none more. */
    int hungry; /* Workers woken that will look at the queue. */
    struct event *wake;
    struct event *flush; /* Sends the workers' deferred wakes. */
    int flushing;        /* flush is active. */
    /*
     * With inline_handlers: the worker the loop thread hosts (no threads,
     * n is 0), and the event that runs it; run_on, under the lock, says run
     * is active already.
     */
    cq__worker *host;
    struct event *run;
    int run_on;
    uint64_t held_said; /* When the loop was last said to be held. */
    pthread_t loop;     /* The loop's thread: its calls must not block. */
    cq__workers *next_abandoned;
};

/* worker_calls.c: wakes the loop unless a wake is coming. Lock held. */
void cq__workers_wake_loop(cq__workers *w);

/* Ends a call with an answer frame (text, len, and the loop's scan f or
 * NULL) or err and msg, waking its waiter. Any thread, lock not held. */
void cq__workers_finish_call(cq__workers *w, cq__call *c, const char *text,
                             size_t len, const cq__frame *f, int err,
                             const char *msg);

/* Takes the calls queued for the loop and, unless finished is NULL, the
 * count of events handled since the last time and whether an event left
 * the full queue (refill). */
cq__call *cq__workers_take_calls(cq__workers *w, unsigned *finished,
                                 int *refill);

/* Loop thread: the pool's wake event sends the calls queued. */
void cq__workers_on_wake(evutil_socket_t fd, short what, void *arg);

/* Worker: runs the handlers for j with the worker's transports. */
void cq__workers_handle(cq__worker *me, const cq__job *j);

/* The in-process transport of the workers' cq__api (cq__api_local_fn). */
int cq__workers_local_call(void *arg, int64_t self_id, const char *action,
                           const char *params, cq_result *out);

/* workers.c: makes s, whose call ended, run again on its worker. Lock
 * held. */
void cq__workers_ready(cq__slot *s);

/* workers.c: the slot whose fiber runs on this thread, or NULL. */
cq__slot *cq__workers_running_slot(void);

/* workers.c: gives me n slots, all free; CQ_OK or CQ_ENOMEM. */
int cq__workers_init_slots(cq__worker *me, cq__workers *w, int n);

/* workers.c: frees me's slots and their fibers, none suspended. */
void cq__workers_free_slots(cq__worker *me);

/*
 * workers.c: takes what me runs next, as a list: the slots whose calls
 * ended, then as many queued events as it has room for, fresh. NULL when
 * there is nothing. Lock held.
 */
cq__slot *cq__workers_collect(cq__worker *me);

/* workers.c: runs s until its handler waits for an answer or ends; an
 * ended event frees the slot and counts in *done. Lock not held. */
void cq__workers_run_slot(cq__worker *me, cq__slot *s, unsigned *done);

/* workers.c: gives the jobs me handled to the pool's spares. Lock held. */
void cq__workers_give_back(cq__worker *me);

/* worker_threads.c: starts n threads; returns how many started. */
int cq__workers_start_threads(cq__workers *w, int n);

/* worker_threads.c: wakes a thread for the queue, if none is coming
 * (defer: from the loop thread, the signal after the loop's batch). Lock
 * held. */
void cq__workers_wake_taker(cq__workers *w, int defer);

/* worker_threads.c: wakes me, asleep (defer as above). Lock held. */
void cq__workers_wake_worker(cq__worker *me, int defer);

/* worker_threads.c: wakes every thread asleep, at once. Lock held. */
void cq__workers_wake_all(cq__workers *w);

/* worker_threads.c: sends the wakes deferred. Lock held. */
void cq__workers_flush_wakes(cq__workers *w);

/*
 * worker_threads.c: waits up to wait_ms for the threads to end, joins those
 * that did and detaches the others. Returns how many are still running.
 */
int cq__workers_join_threads(cq__workers *w, long wait_ms);

#endif
