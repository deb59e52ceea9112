/*
 * Linked only into the test bridge (cqhttp-bridge-test): a periodic job and
 * a before_sending hook, each registered only when its environment
 * variable is set, so the tests choose what runs.
 *
 * CQ_TEST_JOB_MS=N     every N ms, send_private_msg "tick" to user 12345 of
 *                      the only connected account, through cq_ctx_for(0).
 * CQ_TEST_HOOK=1       append "!" to every message sent.
 */
#include <stdlib.h>

#include <cqhttp.h>

static void tick(void *arg)
{
    cq_ctx *c = cq_ctx_for(0);

    (void)arg;
    cq_call(c, "send_private_msg", "{\"user_id\":12345,\"message\":\"tick\"}",
            NULL);
    cq_ctx_release(c);
}


static int exclaim(cq_ctx *c, const char *action, cq_msg *m)
{
    (void)c;
    (void)action;
    return cq_msg_add_text(m, "!");
}


__attribute__((constructor)) static void register_tests(void)
{
    const char *ms = getenv("CQ_TEST_JOB_MS");

    if (ms != NULL)
        cq_timer_every(atol(ms), tick, NULL, "tick");
    if (getenv("CQ_TEST_HOOK") != NULL)
        cq_on_before_sending(exclaim);
}
