/*
 * The API socket: local processes (the responders, a cron job, an operator
 * with socat) send one JSON request per line and get one answer per line,
 * as api_bridge.h describes. Loop thread only.
 *
 * Flow control: a client's requests are read only while its unread answers
 * stay under IPC_MAX_OUT bytes and fewer than IPC_MAX_CALLS of its calls
 * are in flight; otherwise they wait in the kernel's socket buffer, and the
 * client's writes block. So a client costs at most IPC_MAX_LINE bytes in,
 * IPC_MAX_OUT out plus the answers of its calls in flight, whatever it
 * sends. Answers left unread past api_stall_timeout_ms close it.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "bridge/bridge.h"
#include "bridge/pending.h"
#include "lib/json.h"
#include "lib/net.h"

/* The longest request line: params of a big forward message fit. */
#define IPC_MAX_LINE (4u << 20)
/* Unread answers past which requests wait; reading resumes at half. */
#define IPC_MAX_OUT (1u << 20)
/* Calls in flight per client past which its requests wait. */
#define IPC_MAX_CALLS 64

struct cq__ipc_client {
    cq__bridge *br;
    struct bufferevent *bev;
    cq__pending *calls; /* Its calls in flight (owner_next list). */
    size_t ncalls;
    struct event *stall;  /* Pending while answers over IPC_MAX_OUT wait. */
    struct event *resume; /* Reads again, outside the call that allowed it. */
    int paused;           /* Its requests are not being read. */
    char who[64];         /* "pid N uid N gid N", for log lines. */
    cq__ipc_client *prev, *next;
};

/* A call in flight for a client; the answer needs the request's "id". */
typedef struct ipc_call {
    cq__ipc_client *cl;
    cq__pending *p;
    size_t idlen; /* 0: the request had no "id". */
    char id[];    /* The request's "id" as JSON text, NUL-terminated. */
} ipc_call;

static void client_free(cq__ipc_client *cl)
{
    cq__bridge *br = cl->br;
    cq__pending *p;

    /* Its calls go on (the action may run) but nobody hears the answer. */
    for (p = cl->calls; p != NULL; p = p->owner_next) {
        ipc_call *ic = p->arg;

        cq__pending_detach(p);
        free(ic);
    }
    if (cl->prev != NULL)
        cl->prev->next = cl->next;
    else
        br->clients = cl->next;
    if (cl->next != NULL)
        cl->next->prev = cl->prev;
    br->nclients--;
    if (cl->stall != NULL)
        event_free(cl->stall);
    if (cl->resume != NULL)
        event_free(cl->resume);
    bufferevent_free(cl->bev);
    free(cl);
}


static size_t out_bytes(const cq__ipc_client *cl)
{
    return evbuffer_get_length(bufferevent_get_output(cl->bev));
}


/* May another request of cl be read now? */
static int can_take(const cq__ipc_client *cl)
{
    return out_bytes(cl) <= IPC_MAX_OUT && cl->ncalls < IPC_MAX_CALLS;
}


/*
 * Pauses or resumes reading cl's requests after its queues changed, and
 * arms the stall timer while its unread answers are over the bound.
 */
static void flow(cq__ipc_client *cl)
{
    if (out_bytes(cl) > IPC_MAX_OUT) {
        if (!evtimer_pending(cl->stall, NULL)) {
            long ms = cl->br->conf->api_stall_timeout_ms;
            struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

            evtimer_add(cl->stall, &tv);
        }
    } else if (out_bytes(cl) <= IPC_MAX_OUT / 2) {
        evtimer_del(cl->stall);
    }
    if (!can_take(cl)) {
        if (!cl->paused)
            bufferevent_disable(cl->bev, EV_READ);
        cl->paused = 1;
    } else if (cl->paused) {
        event_active(cl->resume, EV_TIMEOUT, 1);
    }
}


static void forget_call(cq__ipc_client *cl, cq__pending *p)
{
    cq__pending **pp = &cl->calls;

    while (*pp != NULL && *pp != p)
        pp = &(*pp)->owner_next;
    if (*pp != NULL) {
        *pp = p->owner_next;
        cl->ncalls--;
    }
}


static struct evbuffer *out_of(cq__ipc_client *cl)
{
    return bufferevent_get_output(cl->bev);
}


static void on_done(void *arg, const char *text, size_t len, const cq__frame *f,
                    int err, const char *msg)
{
    ipc_call *ic = arg;
    struct evbuffer *out = out_of(ic->cl);
    const char *id = ic->idlen > 0 ? ic->id : NULL;

    forget_call(ic->cl, ic->p);
    if (err != CQ_OK)
        cq__ipc_write_error(out, err, msg, id, ic->idlen);
    else if ((err = cq__ipc_write_answer(out, text, len, f, id, ic->idlen)) ==
             CQ_EPARSE)
        cq__ipc_write_error(out, err, "the answer could not be parsed", id,
                            ic->idlen);
    else if (err != CQ_OK)
        cq__ipc_write_error(out, CQ_ENOMEM, "answer could not be written", NULL,
                            0);
    flow(ic->cl);
    free(ic);
}


/* The answer to ".bridge_status": accounts, connections and counters. */
static void answer_status(cq__ipc_client *cl, const cq__ipc_req *r)
{
    cq__jw w;

    cq__jw_init(&w);
    cq__jw_open(&w);
    cq__bridge_status_write(cl->br, &w);
    if (cq__ipc_write_jw(out_of(cl), &w, r->id, r->idlen) != CQ_OK)
        cq__ipc_write_error(out_of(cl), CQ_ENOMEM, "out of memory", r->id,
                            r->idlen);
}


/* Why a call was not sent, in words. */
static const char *call_refused(int rc, int64_t self_id)
{
    if (rc == CQ_ENOMEM)
        return "out of memory";
    if (rc != CQ_ENOAPI)
        return "too many calls waiting, or the connection's queue is full";
    return self_id > 0 ? "no API connection for this account"
                       : "no self_id, and not exactly one account connected";
}


/* Sends the call r asks for; returns CQ_OK or why not (see call_refused). */
static int send_request(cq__ipc_client *cl, const cq__ipc_req *r)
{
    cq__bridge *br = cl->br;
    cq__account *a;
    ipc_call *ic;
    int rc;

    a = r->self_id > 0 ? cq__account_find(br, r->self_id)
                       : cq__account_sole(br);
    /* The id lives with the call: one allocation for both. */
    ic = malloc(sizeof(*ic) + r->idlen + 1);
    if (ic == NULL)
        return CQ_ENOMEM;
    ic->cl = cl;
    ic->idlen = r->idlen;
    if (r->idlen > 0)
        memcpy(ic->id, r->id, r->idlen);
    ic->id[r->idlen] = '\0';
    rc = cq__account_call_text(br, a, r->action, r->params, r->plen, on_done,
                               ic, &ic->p);
    if (rc != CQ_OK) {
        free(ic);
        return rc;
    }
    ic->p->owner_next = cl->calls;
    cl->calls = ic->p;
    cl->ncalls++;
    return CQ_OK;
}


/* Checks and sends one request line. */
static void on_request(cq__ipc_client *cl, const char *line, size_t len)
{
    cq__ipc_req r;
    int rc;

    rc = cq__ipc_read(&r, line, len);
    if (rc == CQ_EPARSE || rc == CQ_EINVAL)
        cq__ipc_write_error(
            out_of(cl), CQ_EINVAL,
            rc == CQ_EPARSE ? "a request is one JSON object per line"
                            : "need a string \"action\" ([A-Za-z0-9_.]), an "
                              "object \"params\" and a positive \"self_id\"",
            r.id, r.idlen);
    else if (rc != CQ_OK)
        cq__ipc_write_error(out_of(cl), rc, "out of memory", r.id, r.idlen);
    else if (strcmp(r.action, ".bridge_status") == 0)
        answer_status(cl, &r);
    /* No new calls once stopping: the caller falls back to HTTP at once. */
    else if (cl->br->stopping)
        cq__ipc_write_error(out_of(cl), CQ_ENOAPI, "the bridge is stopping",
                            r.id, r.idlen);
    else if ((rc = send_request(cl, &r)) != CQ_OK)
        cq__ipc_write_error(out_of(cl), rc, call_refused(rc, r.self_id), r.id,
                            r.idlen);
    cq__ipc_req_free(&r);
}


static void on_read(struct bufferevent *bev, void *arg)
{
    cq__ipc_client *cl = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    struct evbuffer_ptr eol;
    size_t len;
    char *line;

    /*
     * Each line is read where it lies (made contiguous if it spans chunks),
     * its newline replaced by the NUL the parser wants, then drained.
     */
    while (can_take(cl) &&
           (eol = evbuffer_search_eol(in, NULL, NULL, EVBUFFER_EOL_LF)).pos >=
               0) {
        len = (size_t)eol.pos;
        line = (char *)evbuffer_pullup(in, eol.pos + 1);
        if (line == NULL)
            break;
        line[len] = '\0';
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        if (len > 0)
            on_request(cl, line, len);
        evbuffer_drain(in, (size_t)eol.pos + 1);
    }
    if (!can_take(cl)) {
        flow(cl);
        return;
    }
    if (evbuffer_get_length(in) > IPC_MAX_LINE) {
        cq_log(CQ_LOG_WARN,
               "API socket client %s: line over %u bytes; "
               "disconnected",
               cl->who, IPC_MAX_LINE);
        client_free(cl);
    }
}


/* The output drained to IPC_MAX_OUT / 2 (the write low-water mark). */
static void on_write(struct bufferevent *bev, void *arg)
{
    (void)bev;
    flow(arg);
}


/* Reading may go on: the requests already buffered come first. */
static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    cq__ipc_client *cl = arg;

    (void)fd;
    (void)what;
    if (!cl->paused || !can_take(cl))
        return;
    cl->paused = 0;
    bufferevent_enable(cl->bev, EV_READ);
    on_read(cl->bev, cl);
}


static void on_stall(evutil_socket_t fd, short what, void *arg)
{
    cq__ipc_client *cl = arg;

    (void)fd;
    (void)what;
    cq_log(CQ_LOG_WARN,
           "API socket client %s: %zu bytes of answers unread for %ld ms; "
           "disconnected",
           cl->who, out_bytes(cl), cl->br->conf->api_stall_timeout_ms);
    cl->br->n.api_clients_stalled++;
    client_free(cl);
}


static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        client_free(arg);
}


/*
 * Says why a client is turned away, in one answer line written straight to
 * its socket (which has room for it: nothing was sent on it yet) and one
 * rate-limited log line, and closes it.
 */
static void refuse(cq__bridge *br, int fd, const char *why, const char *who)
{
    char line[256];
    unsigned long skipped;
    int n;

    n = snprintf(line, sizeof(line),
                 "{\"status\":\"failed\",\"retcode\":-1,\"data\":null,"
                 "\"bridge\":\"refused\",\"msg\":\"%s\"}\n",
                 why);
    if (n > 0 && (size_t)n < sizeof(line))
        (void)send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
    evutil_closesocket(fd);
    br->n.api_clients_refused++;
    if (cq__ratelog_due(&br->refuse_log, &skipped))
        cq_log(CQ_LOG_WARN,
               "API socket: %s refused: %s (%lu more refusals "
               "not logged)",
               who, why, skipped);
}


static cq__ipc_client *client_new(cq__bridge *br, int fd, const char *who)
{
    cq__ipc_client *cl = calloc(1, sizeof(*cl));

    if (cl == NULL)
        return NULL;
    cl->br = br;
    snprintf(cl->who, sizeof(cl->who), "%s", who);
    cl->bev = bufferevent_socket_new(br->base, fd, BEV_OPT_CLOSE_ON_FREE);
    cl->stall = evtimer_new(br->base, on_stall, cl);
    cl->resume = evtimer_new(br->base, on_resume, cl);
    if (cl->bev == NULL || cl->stall == NULL || cl->resume == NULL) {
        if (cl->bev == NULL)
            evutil_closesocket(fd);
        else
            bufferevent_free(cl->bev);
        if (cl->stall != NULL)
            event_free(cl->stall);
        if (cl->resume != NULL)
            event_free(cl->resume);
        free(cl);
        return NULL;
    }
    return cl;
}


static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int salen, void *arg)
{
    cq__bridge *br = arg;
    cq__ipc_client *cl;
    char who[64];
    int ok;

    (void)l;
    (void)sa;
    (void)salen;
    ok = cq__peer_allowed(&br->allow, fd, who, sizeof(who));
    if (ok != 1) {
        refuse(br, fd, "not allowed by api_allow", who);
        return;
    }
    if (br->nclients + br->nconns >= (size_t)br->max_conns) {
        refuse(br, fd, "max_connections reached", who);
        return;
    }
    if ((cl = client_new(br, fd, who)) == NULL) {
        cq_log(CQ_LOG_WARN, "API socket: %s dropped: out of memory", who);
        return;
    }
    cl->next = br->clients;
    if (cl->next != NULL)
        cl->next->prev = cl;
    br->clients = cl;
    br->nclients++;
    bufferevent_setcb(cl->bev, on_read, on_write, on_event, cl);
    bufferevent_setwatermark(cl->bev, EV_WRITE, IPC_MAX_OUT / 2, 0);
    bufferevent_enable(cl->bev, EV_READ);
}


int cq__ipc_listen(cq__bridge *br, const char *path)
{
    struct sockaddr_un sa;
    char err[512];
    mode_t old;
    int rc;

    if ((rc = cq__net_unix_claim(path, &sa, err, sizeof(err))) != CQ_OK) {
        cq_log(CQ_LOG_ERROR, "bridge_socket %s", err);
        return rc;
    }
    /* Mode 0660 from the start: no moment when others could connect. */
    old = umask(0117);
    br->ipc_listener = evconnlistener_new_bind(
        br->base, on_accept, br, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
        128, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (br->ipc_listener == NULL) {
        cq_log(CQ_LOG_ERROR, "bridge_socket %s: %s", path, strerror(errno));
        return CQ_EIO;
    }
    evconnlistener_set_error_cb(br->ipc_listener, cq__bridge_on_accept_error);
    return CQ_OK;
}


void cq__ipc_unlisten(cq__bridge *br)
{
    if (br->ipc_listener == NULL)
        return;
    /* The path goes first: nobody connects to a socket about to close. */
    unlink(br->conf->bridge_socket);
    evconnlistener_free(br->ipc_listener);
    br->ipc_listener = NULL;
}


void cq__ipc_free_all(cq__bridge *br)
{
    while (br->clients != NULL)
        client_free(br->clients);
}


void cq__ipc_status_write(cq__bridge *br, cq__jw *w)
{
    size_t in = 0, out = 0, calls = 0, paused = 0;
    const cq__ipc_client *cl;

    for (cl = br->clients; cl != NULL; cl = cl->next) {
        in += evbuffer_get_length(bufferevent_get_input(cl->bev));
        out += out_bytes(cl);
        calls += cl->ncalls;
        paused += cl->paused != 0;
    }
    cq__jw_kint(w, "api_in_bytes", (int64_t)in);
    cq__jw_kint(w, "api_out_bytes", (int64_t)out);
    cq__jw_kint(w, "api_calls_in_flight", (int64_t)calls);
    cq__jw_kint(w, "api_clients_paused", (int64_t)paused);
    cq__jw_kint(w, "api_clients_refused", (int64_t)br->n.api_clients_refused);
    cq__jw_kint(w, "api_clients_stalled", (int64_t)br->n.api_clients_stalled);
}
