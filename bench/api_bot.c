/*
 * The bot of bench/ws_api.py: cqhttp-bridge (cq_bridge_main()) whose only
 * handler, for every private message, makes CQ_BENCH_CALLS get_login_info
 * calls (20 by default) one after another over the bridge's WebSocket,
 * each waiting for its answer as a handler's calls do, and then replies
 * (the quick operation that tells bench/ws-load the event is done). Calls
 * per second are then events per second times CQ_BENCH_CALLS; how many
 * events are handled at once is the load generator's window, up to
 * CQHTTP_THREADS times the 16 handlers each worker thread runs as fibers.
 *
 * A failed call is counted, and the reply says how many failed so far: the
 * bench reads the bridge's .bridge_status counters to check that every call
 * was answered.
 *
 * Usage: api-bot [cqhttp-bridge options], with CQ_BENCH_CALLS=K.
 */
#include <cqhttp_runtime.h>
#include <stdlib.h>

static long calls_per_event = 20;

static int on_private(cq_ctx *c, const cq_event *e)
{
    static long failed;
    long i;

    (void)e;
    for (i = 0; i < calls_per_event; i++)
        if (cq_call(c, "get_login_info", NULL, NULL) != CQ_OK)
            __atomic_add_fetch(&failed, 1, __ATOMIC_RELAXED);
    if (__atomic_load_n(&failed, __ATOMIC_RELAXED) == 0)
        return cq_reply_text(c, "ok");
    return cq_reply_textf(c, "%ld calls failed",
                          __atomic_load_n(&failed, __ATOMIC_RELAXED));
}
CQ_ON_MESSAGE(on_private, "private");


int main(int argc, char **argv)
{
    const char *k = getenv("CQ_BENCH_CALLS");

    if (k != NULL)
        calls_per_event = atol(k);
    cq_set_program("api-bot", NULL);
    return cq_bridge_main(argc, argv);
}
