/*
 * sched: API calls outside an event (cq_ctx_for) and periodic jobs
 * (cq_timer_every, CQ_EVERY).
 *
 * The running program says once, at start, where calls from outside an
 * event go (cq__sched_set_source): the settings and, inside cqhttp-bridge,
 * the in-process transport of its workers. A context made by cq_ctx_for()
 * gets transports of its own from that, so it works on any thread.
 *
 * Jobs are registered at any time (constructors included) into one list
 * that lives until exit. Only cqhttp-bridge runs them (cq__sched_start):
 * each job gets a thread of its own, so a job blocked in an API call
 * delays nothing else and never overlaps itself: a tick that comes while
 * the previous run is still going is skipped (logged at debug). The
 * FastCGI responder calls cq__sched_none(), which says in one warning that
 * the jobs never run there.
 *
 * Threads: every function here may be called from any thread; the list and
 * the source are under one lock.
 */
#ifndef CQ_SCHED_H
#define CQ_SCHED_H

#include "cqhttp.h"
#include "lib/api.h"
#include "lib/conf.h"

/*
 * Sets where contexts from cq_ctx_for() send their calls: conf (borrowed;
 * NULL: nowhere, calls give CQ_ENOAPI) and an in-process transport (NULL
 * for none). Clear it (all NULL) before conf or arg go away.
 */
void cq__sched_set_source(const cq__conf *conf, cq__api_local_fn *local,
                          void *arg);

/*
 * Starts a thread for every job registered, and for any registered later,
 * until cq__sched_stop(). Returns CQ_OK, or CQ_ENOMEM when a thread cannot
 * start (logged; the others run).
 */
int cq__sched_start(void);

/* No job starts another run from now on; runs in progress go on. */
void cq__sched_stop(void);

/*
 * Stops the jobs and waits up to wait_ms for runs in progress, joining the
 * threads that ended and leaving the others detached (logged in one line).
 * Returns how many are still running.
 */
int cq__sched_join(long wait_ms);

/* For a program that runs no jobs: logs one warning if any are registered
 * (naming them), and one for every job registered later. */
void cq__sched_none(const char *program);

/* Tests: forgets every job (all threads must have been joined) and the
 * source, and allows cq__sched_start() again. */
void cq__sched_reset(void);

#endif
