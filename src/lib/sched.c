#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cqhttp.h"
#include "lib/api.h"
#include "lib/ctx.h"
#include "lib/sched.h"

/* The longest period, so that deadlines never overflow: about 24 days. */
#define MAX_PERIOD_MS 2000000000L

typedef struct sched_job {
    struct sched_job *next;
    cq_job_fn *fn;
    void *arg;
    const char *name; /* For logs; the caller's string. */
    long ms;
    pthread_t thread;
    int started; /* A thread runs it (or ran it, until joined). */
    int exited;  /* Its thread is returning. */
} sched_job;

enum { IDLE, RUNNING, STOPPED, NONE };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* Under lock. */
static struct {
    pthread_cond_t wake; /* Monotonic: stop, or a job's thread exits. */
    int state;
    sched_job *jobs;
    const char *program; /* NONE: the program that runs no jobs. */
    const cq__conf *conf;
    cq__api_local_fn *local;
    void *local_arg;
} S;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void init_cond(void)
{
    pthread_condattr_t ca;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&S.wake, &ca);
    pthread_condattr_destroy(&ca);
}


static uint64_t now_ms(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}


/* Waits on S.wake until the monotonic time ms at most. Lock held. */
static void wait_until(uint64_t ms)
{
    struct timespec until;

    until.tv_sec = (time_t)(ms / 1000);
    until.tv_nsec = (long)(ms % 1000) * 1000000L;
    pthread_cond_timedwait(&S.wake, &lock, &until);
}


void cq__sched_set_source(const cq__conf *conf, cq__api_local_fn *local,
                          void *arg)
{
    pthread_mutex_lock(&lock);
    S.conf = conf;
    S.local = local;
    S.local_arg = arg;
    pthread_mutex_unlock(&lock);
}


cq_ctx *cq_ctx_for(int64_t self_id)
{
    cq_ctx *c = malloc(sizeof(*c));
    cq__api *api = NULL;

    if (c == NULL)
        return NULL;
    pthread_mutex_lock(&lock);
    if (S.conf != NULL && (api = cq__api_new(S.conf)) != NULL &&
        S.local != NULL)
        cq__api_set_local(api, S.local, S.local_arg);
    cq__ctx_init(c, NULL, S.conf, api);
    if (S.conf != NULL && api == NULL) {
        pthread_mutex_unlock(&lock);
        free(c);
        return NULL;
    }
    pthread_mutex_unlock(&lock);
    c->self_id = self_id;
    c->outside = 1;
    return c;
}


void cq_ctx_release(cq_ctx *c)
{
    if (c == NULL)
        return;
    if (!c->outside) {
        cq_log(CQ_LOG_ERROR, "cq_ctx_release: not a context from "
                             "cq_ctx_for(); ignored");
        return;
    }
    cq__ctx_free(c);
    cq__api_free(c->api);
    free(c);
}


/*
 * A job's thread: runs it every period from its start, the first run one
 * period in. Ticks are kept on the grid of periods, so a run that takes
 * longer than the period skips the ticks it overran instead of catching up.
 */
static void *job_main(void *arg)
{
    sched_job *j = arg;
    uint64_t next = now_ms() + (uint64_t)j->ms, now;

    pthread_mutex_lock(&lock);
    for (;;) {
        while (S.state == RUNNING && (now = now_ms()) < next)
            wait_until(next);
        if (S.state != RUNNING)
            break;
        pthread_mutex_unlock(&lock);
        j->fn(j->arg);
        now = now_ms();
        next += (uint64_t)j->ms;
        if (next <= now) {
            uint64_t skipped = (now - next) / (uint64_t)j->ms + 1;

            cq_log(CQ_LOG_DEBUG,
                   "job %s: %llu tick(s) skipped: the previous run was "
                   "still going",
                   j->name, (unsigned long long)skipped);
            next += skipped * (uint64_t)j->ms;
        }
        pthread_mutex_lock(&lock);
    }
    j->exited = 1;
    pthread_cond_broadcast(&S.wake);
    pthread_mutex_unlock(&lock);
    return NULL;
}


/* Starts j's thread. Lock held. Returns CQ_OK or CQ_ENOMEM (logged). */
static int start_job(sched_job *j)
{
    if (pthread_create(&j->thread, NULL, job_main, j) != 0) {
        cq_log(CQ_LOG_ERROR, "job %s: cannot start a thread", j->name);
        return CQ_ENOMEM;
    }
    j->started = 1;
    return CQ_OK;
}


static void warn_none(const sched_job *j)
{
    cq_log(CQ_LOG_WARN,
           "job %s (every %ld ms) will never run: %s runs no timers; "
           "run the bot in cqhttp-bridge for that",
           j->name, j->ms, S.program);
}


int cq_timer_every(long ms, cq_job_fn *fn, void *arg, const char *name)
{
    sched_job *j;
    int rc = CQ_OK;

    if (fn == NULL || ms < 1 || ms > MAX_PERIOD_MS)
        return CQ_EINVAL;
    if ((j = calloc(1, sizeof(*j))) == NULL)
        return CQ_ENOMEM;
    j->fn = fn;
    j->arg = arg;
    j->name = name != NULL ? name : "(unnamed)";
    j->ms = ms;
    pthread_once(&once, init_cond);
    pthread_mutex_lock(&lock);
    j->next = S.jobs;
    S.jobs = j;
    if (S.state == RUNNING)
        rc = start_job(j);
    else if (S.state == NONE)
        warn_none(j);
    pthread_mutex_unlock(&lock);
    return rc;
}


int cq__sched_start(void)
{
    sched_job *j;
    int rc = CQ_OK;

    pthread_once(&once, init_cond);
    pthread_mutex_lock(&lock);
    S.state = RUNNING;
    for (j = S.jobs; j != NULL; j = j->next)
        if (!j->started && start_job(j) != CQ_OK)
            rc = CQ_ENOMEM;
    pthread_mutex_unlock(&lock);
    return rc;
}


void cq__sched_stop(void)
{
    pthread_once(&once, init_cond);
    pthread_mutex_lock(&lock);
    if (S.state == RUNNING)
        S.state = STOPPED;
    pthread_cond_broadcast(&S.wake);
    pthread_mutex_unlock(&lock);
}


/* Jobs whose thread has not ended yet. Lock held. */
static int count_running(void)
{
    const sched_job *j;
    int n = 0;

    for (j = S.jobs; j != NULL; j = j->next)
        n += j->started && !j->exited;
    return n;
}


int cq__sched_join(long wait_ms)
{
    uint64_t until = now_ms() + (uint64_t)(wait_ms > 0 ? wait_ms : 0);
    sched_job *j;
    int stuck;

    cq__sched_stop();
    pthread_mutex_lock(&lock);
    while ((stuck = count_running()) > 0 && now_ms() < until)
        wait_until(until);
    for (j = S.jobs; j != NULL; j = j->next) {
        if (j->started && j->exited)
            pthread_join(j->thread, NULL);
        else if (j->started)
            pthread_detach(j->thread);
        j->started = 0;
    }
    pthread_mutex_unlock(&lock);
    if (stuck > 0)
        cq_log(CQ_LOG_WARN,
               "stopping: %d jobs still running after %ld ms; exiting "
               "without them",
               stuck, wait_ms);
    return stuck;
}


void cq__sched_none(const char *program)
{
    const sched_job *j;

    pthread_mutex_lock(&lock);
    S.state = NONE;
    S.program = program;
    for (j = S.jobs; j != NULL; j = j->next)
        warn_none(j);
    pthread_mutex_unlock(&lock);
}


void cq__sched_reset(void)
{
    pthread_mutex_lock(&lock);
    while (S.jobs != NULL) {
        sched_job *j = S.jobs;

        S.jobs = j->next;
        free(j);
    }
    S.state = IDLE;
    S.conf = NULL;
    S.local = NULL;
    S.local_arg = NULL;
    pthread_mutex_unlock(&lock);
}
