/*
 * direct: frames written straight to the socket while the bufferevent's
 * output is empty. The contract, and why, are in direct.h.
 */
#include "config.h"

#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "ws/direct.h"


struct cq__ws_direct {
    struct bufferevent *bev; /* The stream's owner's. */
    struct evbuffer *tx;
    struct event *push; /* Writes tx at the end of the round. */
    unsigned adds;      /* Frames that went to tx this round. */
    int waited;         /* push waits a round more: tx is busy. */
    cq__ws_direct_cb *on_written;
    void *arg;
};


/*
 * The end of the round: tx goes to the socket when the output is still
 * empty, and what the kernel did not take (or all of tx, when the write
 * failed or something reached the output first) to the output's end. A
 * busy connection, one with several frames in the round, waits one round
 * more (a timer due now runs after the next round's I/O callbacks), as the
 * bufferevent's own write would: its next frames then leave in the same
 * write.
 */
static void on_push(evutil_socket_t fd, short what, void *arg)
{
    static const struct timeval now = {0, 0};
    cq__ws_direct *d = arg;
    struct bufferevent *bev = d->bev;
    struct evbuffer *out = bufferevent_get_output(bev);
    int wrote = 0;

    (void)fd;
    (void)what;
    if (d->adds > 1 && !d->waited && evbuffer_get_length(d->tx) > 0) {
        d->waited = 1;
        evtimer_add(d->push, &now);
        return;
    }
    d->adds = 0;
    d->waited = 0;
    if (evbuffer_get_length(d->tx) == 0)
        return;
    if (evbuffer_get_length(out) == 0 &&
        (bufferevent_get_enabled(bev) & EV_WRITE))
        wrote = evbuffer_write(d->tx, bufferevent_getfd(bev)) > 0;
    cq__ws_direct_settle(d);
    if (!wrote)
        return;
    if (d->on_written != NULL)
        d->on_written(d->arg);
    /* Last: the owner's write callback may free the stream, and so d. */
    bufferevent_trigger(bev, EV_WRITE, 0);
}


/* Makes *d when first needed. Returns 0, or -1 (no memory). */
static int need(cq__ws_direct **d, struct bufferevent *bev,
                cq__ws_direct_cb *on_written, void *arg)
{
    cq__ws_direct *n;

    if (*d != NULL)
        return 0;
    if ((n = calloc(1, sizeof(*n))) == NULL)
        return -1;
    n->bev = bev;
    n->on_written = on_written;
    n->arg = arg;
    n->tx = evbuffer_new();
    n->push = evtimer_new(bufferevent_get_base(bev), on_push, n);
    *d = n;
    if (n->tx != NULL && n->push != NULL)
        return 0;
    cq__ws_direct_free(d);
    return -1;
}


struct evbuffer *cq__ws_direct_sink(cq__ws_direct **dp, struct bufferevent *bev,
                                    cq__ws_direct_cb *on_written, void *arg)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    cq__ws_direct *d = *dp;

    if (d != NULL && evbuffer_get_length(d->tx) > 0) {
        d->adds++;
        return d->tx;
    }
    if (evbuffer_get_length(out) > 0 ||
        !(bufferevent_get_enabled(bev) & EV_WRITE) ||
        bufferevent_getfd(bev) < 0 || need(dp, bev, on_written, arg) != 0)
        return out;
    d = *dp;
    /* An active event runs once this round's callbacks have. */
    d->adds = 1;
    if (!d->waited)
        event_active(d->push, EV_TIMEOUT, 0);
    return d->tx;
}


size_t cq__ws_direct_held(const cq__ws_direct *d)
{
    return d != NULL ? evbuffer_get_length(d->tx) : 0;
}


void cq__ws_direct_settle(cq__ws_direct *d)
{
    if (cq__ws_direct_held(d) > 0)
        evbuffer_add_buffer(bufferevent_get_output(d->bev), d->tx);
}


void cq__ws_direct_trim(cq__ws_direct **d)
{
    if (cq__ws_direct_held(*d) == 0)
        cq__ws_direct_free(d);
}


void cq__ws_direct_free(cq__ws_direct **d)
{
    cq__ws_direct *n = *d;

    if (n == NULL)
        return;
    /* Freeing an active or pending event takes it off the loop too. */
    if (n->push != NULL)
        event_free(n->push);
    if (n->tx != NULL)
        evbuffer_free(n->tx);
    free(n);
    *d = NULL;
}
