/*
 * The worker pool's API calls (see workers.h): a handler's call is queued
 * for the loop, which sends it over the account's WebSocket and always
 * ends it (answer, timeout or close); once the loop has stopped every call
 * fails at once (cq__workers_close). A handler in a worker's fiber yields
 * while it waits, so its thread runs other handlers; any other thread
 * (timer jobs, cq_ctx_for) waits on a condition variable. The quick
 * operation is not waited for (send_quick).
 */
#include "config.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/pending.h"
#include "bridge/workers.h"
#include "lib/api.h"
#include "lib/caps.h"
#include "lib/ctx.h"
#include "lib/dispatch.h"
#include "lib/event.h"
#include "lib/sched.h"

/*
 * Wakes the loop, unless it has stopped or a wake is already coming: the
 * loop takes everything queued when it runs, so one wake serves a batch.
 * Called with w->lock held.
 */
void cq__workers_wake_loop(cq__workers *w)
{
    if (!w->closed && w->wake != NULL && !w->woken) {
        w->woken = 1;
        event_active(w->wake, EV_READ, 0);
    }
}


/*
 * Copies msg (NULL: none) into c->msg, cut to fit as snprintf() would cut
 * it; without snprintf(), whose format parsing costs more than the copy on
 * a path every call takes.
 */
static void set_msg(cq__call *c, const char *msg)
{
    size_t n = msg != NULL ? strnlen(msg, sizeof(c->msg) - 1) : 0;

    if (n > 0)
        memcpy(c->msg, msg, n);
    c->msg[n] = '\0';
}


/*
 * Copies the answer text (len bytes) into c, and the loop's scan of it
 * when there is one the worker may use. Returns CQ_OK or CQ_ENOMEM.
 */
static int keep_answer(cq__call *c, const char *text, size_t len,
                       const cq__frame *f)
{
    size_t i;

    c->answer = len < sizeof(c->small) ? c->small : malloc(len + 1);
    if (c->answer == NULL)
        return CQ_ENOMEM;
    memcpy(c->answer, text, len);
    c->answer[len] = '\0';
    c->answer_len = len;
    /* Scanned no deeper than the worker would scan: the same spans. */
    c->scanned =
        f != NULL && f->scanned && f->scan_depth <= CQ__CAP_ANSWER_DEPTH;
    for (i = 0; c->scanned && i < CQ__ANS_N; i++) {
        c->at[i] = f->answer_at[i];
        if (c->at[i].p != NULL)
            c->at[i].p = c->answer + (f->answer_at[i].p - text);
    }
    return CQ_OK;
}


/*
 * Ends a call: hands the result to the waiting worker, or, for a detached
 * call, logs a failure (nobody else will) and frees it. Any thread.
 */
void cq__workers_finish_call(cq__workers *w, cq__call *c, const char *text,
                             size_t len, const cq__frame *f, int err,
                             const char *msg)
{
    int kept = CQ_OK;

    if (c->detached) {
        cq__account_log_failure_text(c->action, text, len, f, err, msg);
        free(c);
        return;
    }
    /* The worker reads c only once it is done, under the lock. */
    if (text != NULL)
        kept = keep_answer(c, text, len, f);
    pthread_mutex_lock(&w->lock);
    c->err = kept != CQ_OK ? kept : err;
    set_msg(c, msg);
    c->done = 1;
    if (c->waiter != NULL)
        cq__workers_ready(c->waiter);
    else
        pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&w->lock);
}


static void on_pending_done(void *arg, const char *text, size_t len,
                            const cq__frame *f, int err, const char *msg)
{
    cq__workers_finish_call(((cq__call *)arg)->w, arg, text, len, f, err, msg);
}


/* Takes the calls queued for the loop. */
cq__call *cq__workers_take_calls(cq__workers *w, unsigned *finished,
                                 int *refill)
{
    cq__call *list;

    pthread_mutex_lock(&w->lock);
    list = w->calls;
    w->calls = w->calls_tail = NULL;
    w->woken = 0;
    if (finished != NULL) {
        *finished = w->finished;
        w->finished = 0;
        *refill = w->refill;
        w->refill = 0;
    }
    pthread_mutex_unlock(&w->lock);
    return list;
}


/* Loop thread: sends the calls workers queued, resumes paused readers. */
void cq__workers_on_wake(evutil_socket_t fd, short what, void *arg)
{
    cq__workers *w = arg;
    cq__call *c, *next;
    unsigned finished;
    int refill;

    (void)fd;
    (void)what;
    for (c = cq__workers_take_calls(w, &finished, &refill); c != NULL;
         c = next) {
        cq__account *a = c->self_id > 0 ? cq__account_find(w->br, c->self_id)
                                        : cq__account_sole(w->br);
        int err;

        next = c->next;
        err = cq__account_call_text(w->br, a, c->action, c->params,
                                    c->params_len, on_pending_done, c, NULL);
        if (err != CQ_OK)
            cq__workers_finish_call(w, c, NULL, 0, NULL, err,
                                    "the bridge could not send it");
    }
    w->br->n.events_handled += finished;
    /* Events left the queue: paused connections may go on. */
    if ((finished > 0 || refill) && !w->br->stopping)
        cq__conn_resume_paused(w->br);
}


/*
 * Queues c for the loop and, unless it is detached, waits until it ended:
 * a fiber yields to its worker, which resumes it once cq__workers_ready()
 * put it back on its ready list; any other thread waits on c->cond.
 */
static void run_call(cq__workers *w, cq__call *c)
{
    int stopped;

    c->w = w;
    pthread_mutex_lock(&w->lock);
    stopped = w->closed;
    if (stopped) {
        c->err = CQ_ENETWORK;
        set_msg(c, CQ__WORKERS_STOPPING);
        c->done = 1;
    } else {
        if (w->calls_tail != NULL)
            w->calls_tail->next = c;
        else
            w->calls = c;
        w->calls_tail = c;
        cq__workers_wake_loop(w);
    }
    /* A detached call queued is the loop's from here: not touched again. */
    if (c->waiter != NULL && !stopped) {
        pthread_mutex_unlock(&w->lock);
        /* The worker took c->waiter off its ready list under the lock:
         * what the loop wrote into c is visible here. */
        cq__fiber_yield();
        return;
    }
    while (!c->detached && !c->done)
        pthread_cond_wait(&c->cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    if (stopped && c->detached)
        cq__workers_finish_call(w, c, NULL, 0, NULL, CQ_ENETWORK,
                                CQ__WORKERS_STOPPING);
}


/*
 * A call on the loop thread outside a fiber: with inline_handlers, a
 * handler for which no fiber could be made (out of memory) runs on the
 * loop's own stack. It fails at once rather than block the loop; cq_call
 * logs the detail. Returns CQ_ENOMEM.
 */
static int on_loop_thread(cq_result *out)
{
    return cq__api_fail(out, CQ_ENOMEM,
                        "bridge: called on the loop thread outside a fiber "
                        "(none could be made: out of memory); failed rather "
                        "than block the loop");
}


/*
 * The in-process transport of the workers' cq__api. This is where the
 * bridge's codes meet the handler's cq_result: CQ_ENOAPI lets the next
 * transport try, and the detail names the failure as the API socket would.
 */
int cq__workers_local_call(void *arg, int64_t self_id, const char *action,
                           const char *params, cq_result *out)
{
    cq__workers *w = arg;
    cq__call c;
    int rc;

    /* cq_call checked params, or the library wrote them: sent as they are. */
    memset(&c, 0, sizeof(c));
    c.self_id = self_id;
    c.action = action;
    c.params = params;
    c.params_len = strlen(params);
    /*
     * A handler in a fiber of this pool's worker yields; a timer thread, a
     * context made with cq_ctx_for() on a thread of its own, or a handler
     * run without a fiber (none could be made) blocks its thread; on the
     * loop's thread (inline_handlers) the call fails instead.
     */
    c.waiter = cq__workers_running_slot();
    if (c.waiter != NULL && c.waiter->me->w != w)
        c.waiter = NULL;
    /* Only the loop sends the call: waiting for it there never ends. */
    if (c.waiter == NULL && pthread_equal(pthread_self(), w->loop))
        return on_loop_thread(out);
    if (c.waiter == NULL)
        pthread_cond_init(&c.cond, NULL);
    run_call(w, &c);
    if (c.waiter == NULL)
        pthread_cond_destroy(&c.cond);
    switch (c.err) {
    case CQ_OK:
        rc = c.scanned
                 ? cq__api_result_from_scan(c.answer, c.answer_len, c.at, out)
                 : cq__api_result_from_body(c.answer, c.answer_len, out);
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
    if (c.answer != c.small)
        free(c.answer);
    return rc;
}


void cq__workers_share(cq__workers *w)
{
    cq__sched_set_source(&w->conf, cq__workers_local_call, w);
}


/*
 * Sends the quick operation back as .handle_quick_operation, the event's
 * own bytes as its context (no tree written again). Its answer is not
 * read, so the worker does not wait: the loop logs a failure. With an HTTP
 * API configured it goes through cq_call, which can fall back to HTTP.
 */
static void send_quick(cq__workers *w, cq_ctx *ctx, const cq__job *j,
                       const char *quick)
{
    const char *parts[] = {"{\"context\":", j->json, ",\"operation\":", quick,
                           "}"};
    size_t lens[] = {11, j->len, 13, strlen(quick), 1}, len = 0, i;
    cq__call *c;
    char *params;

    /* The call and its params in one block: one allocation, one free. */
    for (i = 0; i < 5; i++)
        len += lens[i];
    if (w->conf.api_root == NULL &&
        (c = calloc(1, sizeof(*c) + len + 1)) != NULL) {
        c->params = params = (char *)(c + 1);
        for (i = 0; i < 5; i++)
            params = (char *)memcpy(params, parts[i], lens[i]) + lens[i];
        c->params_len = len;
        c->self_id = j->self_id;
        c->action = ".handle_quick_operation";
        c->detached = 1;
        run_call(w, c);
        return;
    }
    params = cq__bridge_concat(parts, lens, 5, &len);
    /* A failure is logged by cq_call; the event is done either way. */
    cq_call(ctx, ".handle_quick_operation", params, NULL);
    free(params);
}


void cq__workers_handle(cq__worker *me, const cq__job *j)
{
    cq_event *e = NULL;
    char room[512]; /* The quick operation's text, usually all of it. */
    cq__buf quick;
    cq_ctx ctx;
    cq__workers *w = me->w;
    int rc = cq_event_parse(&e, j->json, j->len, (int)w->conf.max_depth);

    if (rc != CQ_OK) {
        cq_log(CQ_LOG_WARN,
               "account %" PRId64 ": message is not an event: "
               "%s",
               j->self_id, cq_strerror(rc));
        return;
    }
    cq__ctx_init(&ctx, e, &w->conf, me->api);
    /*
     * Calls go back to the account whose connection carried the event, not
     * to whatever self_id the body claims (or lacks).
     */
    ctx.self_id = j->self_id;
    rc = cq__dispatch(&ctx);
    cq__buf_init_in(&quick, SIZE_MAX / 2, room, sizeof(room));
    if (rc == CQ_OK)
        rc = cq__ctx_quick_write(&ctx, &quick);
    if (rc == CQ_OK && quick.len > 0)
        send_quick(w, &ctx, j, quick.data);
    cq__buf_free(&quick);
    cq__ctx_free(&ctx);
    cq_event_free(e);
}
