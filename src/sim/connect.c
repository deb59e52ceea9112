/*
 * cqhttp-sim connect: the run. Sets the client up from its arguments
 * (connect_args.c), dials its connections (connect_ws.c), feeds events
 * (connect_feed.c) and answers calls (connect_call.c) until --once finds
 * the run quiet, a signal comes, or a connection is lost for good; then
 * closes every connection (code 1000) within STOP_DEADLINE_MS.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/listener.h>

#include "cqhttp.h"
#include "sim/connect.h"

/* How long closing every connection may take before the program exits. */
#define STOP_DEADLINE_MS 3000


void cq__sim_client_rearm(cq__sim_client *cl)
{
    struct timeval tv = {cl->quiet_ms / 1000, (cl->quiet_ms % 1000) * 1000};

    if (cl->once && cl->fed_all && !cl->stopping)
        evtimer_add(cl->quiet, &tv);
}


int cq__sim_client_ready(const cq__sim_client *cl)
{
    size_t i;

    for (i = 0; i < cl->nconns; i++)
        if (cl->conns[i].state != CQ__SIM_WSC_OPEN || cl->conns[i].dropping)
            return 0;
    return 1;
}


void cq__sim_client_opened(cq__sim_client *cl, cq__sim_wsc *c)
{
    if (c->carries_events &&
        cq__sim_feed_meta(cl, c, CQ__SIM_EV_LIFECYCLE) != CQ_OK)
        cq_log(CQ_LOG_ERROR, "%s: cannot send the lifecycle event", c->role);
    cq__sim_feed_pump(cl);
    cq__sim_client_rearm(cl);
}


void cq__sim_client_drained(cq__sim_client *cl, cq__sim_wsc *c)
{
    if (c == cl->events)
        cq__sim_feed_pump(cl);
}


static void check_done(cq__sim_client *cl)
{
    size_t i;

    for (i = 0; i < cl->nconns; i++)
        if (cl->conns[i].state != CQ__SIM_WSC_DONE)
            return;
    event_base_loopbreak(cl->base);
}


void cq__sim_client_lost(cq__sim_client *cl, cq__sim_wsc *c)
{
    if (cl->stopping) {
        c->state = CQ__SIM_WSC_DONE;
        check_done(cl);
        return;
    }
    if (cl->listener != NULL) {
        cq_log(CQ_LOG_INFO, "%s connection: waiting for the next one", c->role);
        c->state = CQ__SIM_WSC_IDLE;
        return;
    }
    if (cl->reconnect_ms > 0) {
        cq_log(CQ_LOG_INFO, "%s connection: dialling again in %ld ms", c->role,
               cl->reconnect_ms);
        cq__sim_wsc_redial(c, cl->reconnect_ms);
        return;
    }
    cq__sim_client_stop(cl, 1);
}


void cq__sim_client_stop(cq__sim_client *cl, int code)
{
    struct timeval tv = {STOP_DEADLINE_MS / 1000,
                         (STOP_DEADLINE_MS % 1000) * 1000};
    size_t i;

    if (cl->stopping)
        return;
    cl->stopping = 1;
    cl->exit_code = code;
    evtimer_del(cl->quiet);
    if (cl->heartbeat != NULL)
        evtimer_del(cl->heartbeat);
    cq__sim_feed_stop(cl->feed);
    evtimer_add(cl->deadline, &tv);
    for (i = 0; i < cl->nconns; i++)
        cq__sim_wsc_close(&cl->conns[i]);
    check_done(cl);
}


static int settled(const cq__sim_client *cl)
{
    size_t i;

    for (i = 0; i < cl->nconns; i++)
        if (cl->conns[i].held != NULL || cq__sim_wsc_queued(&cl->conns[i]) > 0)
            return 0;
    return cq__sim_client_ready(cl);
}


static void on_quiet(evutil_socket_t fd, short what, void *arg)
{
    cq__sim_client *cl = arg;

    (void)fd;
    (void)what;
    if (!settled(cl)) {
        cq__sim_client_rearm(cl);
        return;
    }
    cq_log(CQ_LOG_INFO,
           "--once: %" PRIu64 " events sent, no call for %ld ms: closing",
           cl->events_out, cl->quiet_ms);
    cq__sim_client_stop(cl, 0);
}


static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    cq__sim_client *cl = arg;

    (void)fd;
    (void)what;
    if (cl->events->state == CQ__SIM_WSC_OPEN)
        cq__sim_feed_meta(cl, cl->events, CQ__SIM_EV_HEARTBEAT);
}


static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    cq__sim_client *cl = arg;

    (void)fd;
    (void)what;
    cq_log(CQ_LOG_WARN, "connections still open after %d ms: exiting",
           STOP_DEADLINE_MS);
    event_base_loopbreak(cl->base);
}


static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    cq__sim_client *cl = arg;

    (void)what;
    if (cl->stopping) {
        event_base_loopbreak(cl->base);
        return;
    }
    cq_log(CQ_LOG_INFO, "signal %d: closing", (int)sig);
    cq__sim_client_stop(cl, 0);
}


/* Makes the timers and watches the signals. CQ_OK or CQ_ENOMEM. */
static int setup_loop(cq__sim_client *cl)
{
    struct timeval hb = {cl->heartbeat_ms / 1000,
                         (cl->heartbeat_ms % 1000) * 1000};

    cl->quiet = evtimer_new(cl->base, on_quiet, cl);
    cl->deadline = evtimer_new(cl->base, on_deadline, cl);
    cl->sigterm = evsignal_new(cl->base, SIGTERM, on_signal, cl);
    cl->sigint = evsignal_new(cl->base, SIGINT, on_signal, cl);
    if (cl->heartbeat_ms > 0)
        cl->heartbeat = event_new(cl->base, -1, EV_PERSIST, on_heartbeat, cl);
    if (cl->quiet == NULL || cl->deadline == NULL || cl->sigterm == NULL ||
        cl->sigint == NULL || (cl->heartbeat_ms > 0 && cl->heartbeat == NULL) ||
        evsignal_add(cl->sigterm, NULL) != 0 ||
        evsignal_add(cl->sigint, NULL) != 0 || cq__sim_feed_start(cl) != CQ_OK)
        return CQ_ENOMEM;
    if (cl->heartbeat != NULL)
        event_add(cl->heartbeat, &hb);
    return CQ_OK;
}


/* One Universal connection, or API and Event. CQ_OK or CQ_ENOMEM. */
static int setup_conns(cq__sim_client *cl, const char *base_target, int split)
{
    char target[CQ__SIM_WS_MAX_TARGET];
    int rc;

    if (!split) {
        cl->nconns = 1;
        cl->events = &cl->conns[0];
        return cq__sim_wsc_init(&cl->conns[0], cl, "Universal", base_target);
    }
    cl->nconns = 2;
    cl->events = &cl->conns[1];
    cq__sim_connect_target(base_target, "api/", target, sizeof(target));
    rc = cq__sim_wsc_init(&cl->conns[0], cl, "API", target);
    cq__sim_connect_target(base_target, "event/", target, sizeof(target));
    if (rc == CQ_OK)
        rc = cq__sim_wsc_init(&cl->conns[1], cl, "Event", target);
    return rc;
}


static void free_event(struct event *ev)
{
    if (ev != NULL)
        event_free(ev);
}


/* Everything after the arguments; returns the exit status. */
static int run(cq__sim_client *cl, const char *base_target, int split)
{
    size_t i;
    int rc = 1;

    cl->base = event_base_new();
    if (cl->base == NULL) {
        cq_log(CQ_LOG_ERROR, "cannot start libevent");
        return 1;
    }
    if (setup_loop(cl) != CQ_OK) {
        cq_log(CQ_LOG_ERROR, "cannot set the event loop up");
    } else if (setup_conns(cl, base_target, split) != CQ_OK) {
        cq_log(CQ_LOG_ERROR, "out of memory");
    } else {
        for (i = 0; cl->listen == NULL && i < cl->nconns; i++)
            cq__sim_wsc_dial(&cl->conns[i]);
        if (cl->listen == NULL || cq__sim_listen_start(cl) == CQ_OK) {
            event_base_dispatch(cl->base);
            rc = cl->exit_code;
        }
    }
    if (cl->listener != NULL)
        evconnlistener_free(cl->listener);
    cl->listener = NULL;
    for (i = 0; i < sizeof(cl->conns) / sizeof(cl->conns[0]); i++)
        cq__sim_wsc_free(&cl->conns[i]);
    cq__sim_feed_free(cl->feed);
    cl->feed = NULL;
    free_event(cl->heartbeat);
    free_event(cl->quiet);
    free_event(cl->deadline);
    free_event(cl->sigterm);
    free_event(cl->sigint);
    event_base_free(cl->base);
    return rc;
}


/*
 * Sets cl up from the arguments left after the shared settings. Returns
 * CQ_OK, CQ_EINVAL (bad usage, said), or another negative code (said).
 */
static int setup(cq__sim_client *cl, char **args, int n, char *base_target,
                 size_t len, int *split)
{
    const cq__conf *conf = cl->conf;
    const char *url, *log_path = NULL;
    char listen_url[CQ__SIM_WS_MAX_HOST + 8];
    int rc = cq__sim_connect_args(cl, args, n, &url, &log_path, split);

    if (rc == CQ_OK && cl->listen != NULL) {
        snprintf(listen_url, sizeof(listen_url), "ws://%s/", cl->listen);
        url = listen_url;
    }
    if (rc == CQ_OK && cl->listen != NULL && *split) {
        cq__sim_usage_error("connect", "--forward takes no --split");
        rc = CQ_EINVAL;
    }
    if (rc == CQ_OK)
        rc = cq__sim_connect_url(cl, url, base_target, len);
    if (rc == CQ_OK && conf->access_token != NULL &&
        conf->access_token[0] != '\0' &&
        snprintf(cl->auth, sizeof(cl->auth), "Token %s", conf->access_token) >=
            (int)sizeof(cl->auth)) {
        cq__sim_usage_error("connect", "the access token is too long");
        rc = CQ_EINVAL;
    }
    cl->core.world.self_id = cl->self_id;
    if (rc == CQ_OK)
        rc = cq__sim_core_open_log(&cl->core, log_path);
    return rc;
}


int cq__sim_connect(int argc, char **argv)
{
    cq__sim_client *cl;
    cq__conf conf;
    char **args, base_target[CQ__SIM_WS_MAX_TARGET];
    int nargs = 0, rc, split = 0;

    if (cq__sim_wants_help(argc, argv)) {
        cq__sim_connect_usage(stdout);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    cq__conf_init(&conf);
    cl = calloc(1, sizeof(*cl));
    args = calloc((size_t)argc + 1, sizeof(*args));
    if (cl != NULL) {
        cq__sim_core_init(&cl->core, CQ__SIM_SELF_ID);
        cl->conf = &conf;
        cl->feed = cq__sim_feed_new((size_t)argc);
    }
    rc = cl != NULL && cl->feed != NULL && args != NULL ? 0 : 1;
    if (rc != 0)
        fprintf(stderr, "%s connect: out of memory\n", CQ__SIM_PROG);
    if (rc == 0)
        rc = cq__sim_conf("connect", &conf, argc, argv, args, &nargs);
    if (rc == 0) {
        /* The edge: codes become exit statuses. */
        rc = setup(cl, args, nargs, base_target, sizeof(base_target), &split);
        rc = rc == CQ_OK ? 0 : rc == CQ_EINVAL ? CQ__SIM_EXIT_USAGE : 1;
    }
    if (rc == 0)
        rc = run(cl, base_target, split);
    if (cl != NULL) {
        cq__sim_core_free(&cl->core);
        cq__sim_feed_free(cl->feed);
    }
    free(cl);
    free(args);
    cq__conf_free(&conf);
    return rc;
}
