/*
 * API calls per second from one thread, as a responder thread makes them:
 * cq_call("get_status") in a loop against the API root given, for a number
 * of seconds, once with the thread's persistent transport (connections kept
 * alive and reused) and once with a new transport per call (a new
 * connection each time, as the Python SDK does). Prints both and the ratio.
 *
 * Usage: api-calls API_ROOT [SECONDS]
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <curl/curl.h>

#include "cqhttp.h"
#include "lib/api.h"
#include "lib/conf.h"
#include "lib/ctx.h"
#include "lib/log.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


/* Returns calls per second; counts failures into *failed. */
static double run(const cq__conf *conf, int reuse, double seconds, long *failed)
{
    cq__api *api = reuse ? cq__api_new(conf) : NULL;
    double start = now(), end = start + seconds;
    long calls = 0;
    cq_ctx c;

    *failed = 0;
    while (now() < end) {
        cq__api *a = reuse ? api : cq__api_new(conf);

        cq__ctx_init(&c, NULL, conf, a);
        if (cq_call(&c, "get_status", "{}", NULL) != CQ_OK)
            (*failed)++;
        cq__ctx_free(&c);
        if (!reuse)
            cq__api_free(a);
        calls++;
    }
    cq__api_free(api);
    return (double)calls / (now() - start);
}


int main(int argc, char **argv)
{
    double seconds = argc > 2 ? atof(argv[2]) : 5.0, with, without;
    long fail_with, fail_without;
    cq__conf conf;

    if (argc < 2) {
        fprintf(stderr, "usage: api-calls API_ROOT [SECONDS]\n");
        return 2;
    }
    cq__conf_init(&conf);
    conf.api_root = argv[1];
    cq__log_setup("api-calls", CQ_LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    run(&conf, 1, 0.5, &fail_with); /* Warm-up. */
    with = run(&conf, 1, seconds, &fail_with);
    without = run(&conf, 0, seconds, &fail_without);
    printf("API calls per second from one thread to %s (get_status, %.0f s "
           "each):\n",
           argv[1], seconds);
    printf("  keep-alive, one connection reused: %8.0f calls/s  (%ld "
           "failed)\n",
           with, fail_with);
    printf("  new connection per call:           %8.0f calls/s  (%ld "
           "failed)\n",
           without, fail_without);
    printf("  ratio: %.2f\n", with / without);
    curl_global_cleanup();
    return fail_with + fail_without > 0 ? 1 : 0;
}
