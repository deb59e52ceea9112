/*
 * sched: contexts for API calls outside an event choose their transport as
 * cq_call() does, and periodic jobs run, never overlap and stop.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cqhttp.h"
#include "lib/api.h"
#include "lib/conf.h"
#include "lib/sched.h"
#include "test.h"

typedef struct seen {
    int calls;
    int64_t self_id;
    char action[32];
    int decline; /* Answer CQ_ENOAPI, as a bridge without the account. */
} seen;

static int capture(void *arg, int64_t self_id, const char *action,
                   const char *params, cq_result *out)
{
    seen *s = arg;
    static const char ok[] = "{\"status\":\"ok\",\"retcode\":0,\"data\":"
                             "{\"user_id\":7}}";

    (void)params;
    s->calls++;
    s->self_id = self_id;
    snprintf(s->action, sizeof(s->action), "%s", action);
    if (s->decline)
        return CQ_ENOAPI;
    return cq__api_result_from_body(ok, strlen(ok), out);
}


T_CASE(ctx_for_transports)
{
    seen s = {0, 0, "", 0};
    cq__conf conf;
    cq_ctx *c;
    int64_t v = 0;

    /* No settings read yet: no API. */
    cq__sched_reset();
    c = cq_ctx_for(42);
    T_CHECK(c != NULL);
    T_CHECK(cq_ctx_event(c) == NULL);
    T_EQ_INT(cq_call(c, "get_login_info", NULL, NULL), CQ_ENOAPI);
    cq_ctx_release(c);
    /* Settings without api_root, and no bridge: still none. */
    cq__conf_init(&conf);
    cq__sched_set_source(&conf, NULL, NULL);
    c = cq_ctx_for(42);
    T_EQ_INT(cq_call_r(c, "get_login_info", NULL)->err, CQ_ENOAPI);
    cq_ctx_release(c);
    /* The in-process transport (the bridge's) comes first, for self_id. */
    cq__sched_set_source(&conf, capture, &s);
    c = cq_ctx_for(42);
    T_EQ_INT(cq_result_int(cq_call_r(c, "get_login_info", NULL), "user_id", &v),
             CQ_OK);
    T_EQ_INT(v, 7);
    T_EQ_INT(s.self_id, 42);
    T_EQ_STR(s.action, "get_login_info");
    cq_ctx_release(c);
    /* When it declines, HTTP at api_root carries the call (nobody listens
     * on port 1, so the refusal proves that HTTP was tried). */
    s.decline = 1;
    conf.api_root = strdup("http://127.0.0.1:1");
    c = cq_ctx_for(0);
    T_EQ_INT(cq_call(c, "get_status", NULL, NULL), CQ_ECONNREFUSED);
    T_EQ_INT(s.calls, 2);
    T_EQ_INT(s.self_id, 0);
    cq_ctx_release(c);
    cq__sched_reset();
    cq__conf_free(&conf);
    cq_ctx_release(NULL);
}


static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct job_state {
    int runs, inside, overlaps;
    long sleep_ms;
} job_state;

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}


static void job(void *arg)
{
    job_state *j = arg;

    pthread_mutex_lock(&job_lock);
    j->runs++;
    j->overlaps += j->inside++ > 0;
    pthread_mutex_unlock(&job_lock);
    sleep_ms(j->sleep_ms);
    pthread_mutex_lock(&job_lock);
    j->inside--;
    pthread_mutex_unlock(&job_lock);
}


T_CASE(timers_run_skip_and_stop)
{
    job_state fast = {0, 0, 0, 0}, slow = {0, 0, 0, 120};
    int fast_runs;

    cq__sched_reset();
    T_EQ_INT(cq_timer_every(0, job, &fast, "bad"), CQ_EINVAL);
    T_EQ_INT(cq_timer_every(10, NULL, &fast, "bad"), CQ_EINVAL);
    T_EQ_INT(cq_timer_every(30, job, &fast, "fast"), CQ_OK);
    T_EQ_INT(cq__sched_start(), CQ_OK);
    /* Registered while running: starts at once. */
    T_EQ_INT(cq_timer_every(20, job, &slow, "slow"), CQ_OK);
    sleep_ms(400);
    T_EQ_INT(cq__sched_join(2000), 0);
    pthread_mutex_lock(&job_lock);
    fast_runs = fast.runs;
    pthread_mutex_unlock(&job_lock);
    T_CHECK(fast_runs >= 2);
    /* 120 ms runs every 20 ms for 400 ms: ticks skipped, never overlapped. */
    T_CHECK(slow.runs >= 1 && slow.runs <= 4);
    T_EQ_INT(slow.overlaps, 0);
    T_EQ_INT(fast.overlaps, 0);
    sleep_ms(100);
    T_EQ_INT(fast.runs, fast_runs); /* Stopped for good. */
    cq__sched_reset();
}


T_CASE(timers_never_run_without_runner)
{
    job_state j = {0, 0, 0, 0};

    cq__sched_reset();
    T_EQ_INT(cq_timer_every(10, job, &j, "before"), CQ_OK);
    cq__sched_none("test-program");
    T_EQ_INT(cq_timer_every(10, job, &j, "after"), CQ_OK);
    sleep_ms(60);
    T_EQ_INT(j.runs, 0);
    T_EQ_INT(cq__sched_join(100), 0);
    cq__sched_reset();
}


T_SUITE(test_sched_cases) = {
    {"sched/ctx_for_transports", ctx_for_transports},
    {"sched/timers_run_skip_and_stop", timers_run_skip_and_stop},
    {"sched/timers_never_run_without_runner", timers_never_run_without_runner},
    {NULL, NULL},
};
