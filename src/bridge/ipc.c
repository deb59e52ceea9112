/*
 * The API socket: local processes (the responders, a cron job, an operator
 * with socat) send one JSON request per line and get one answer per line,
 * as api_bridge.h describes. Loop thread only.
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
#include "lib/json.h"

/* The longest request line: params of a big forward message fit. */
#define IPC_MAX_LINE (4u << 20)

struct cq__ipc_client {
    cq__bridge *br;
    struct bufferevent *bev;
    cq__pending *calls; /* Its calls in flight (owner_next list). */
    cq__ipc_client *prev, *next;
};

/* A call in flight for a client; the answer needs the request's "id". */
typedef struct ipc_call {
    cq__ipc_client *cl;
    cq__pending *p;
    char *id; /* The request's "id" as JSON text, or NULL. */
} ipc_call;

static void client_free(cq__ipc_client *cl)
{
    cq__bridge *br = cl->br;
    cq__pending *p;

    /* Its calls go on (the action may run) but nobody hears the answer. */
    for (p = cl->calls; p != NULL; p = p->owner_next) {
        ipc_call *ic = p->arg;

        cq__pending_detach(p);
        free(ic->id);
        free(ic);
    }
    if (cl->prev != NULL)
        cl->prev->next = cl->next;
    else
        br->clients = cl->next;
    if (cl->next != NULL)
        cl->next->prev = cl->prev;
    br->nclients--;
    bufferevent_free(cl->bev);
    free(cl);
}


static void forget_call(cq__ipc_client *cl, cq__pending *p)
{
    cq__pending **pp = &cl->calls;

    while (*pp != NULL && *pp != p)
        pp = &(*pp)->owner_next;
    if (*pp != NULL)
        *pp = p->owner_next;
}


/* Writes one answer line: frame without its echo, plus the id. */
static void write_answer(cq__ipc_client *cl, const cq_value *frame,
                         cq__bridge_err err, const char *msg, const char *id)
{
    yajl_gen g = cq__json_gen_new();
    const unsigned char *out;
    size_t i, len;
    int ok = g != NULL;

    ok = ok && yajl_gen_map_open(g) == yajl_gen_status_ok;
    if (frame != NULL) {
        for (i = 0; ok && i < cq_value_len(frame); i++) {
            const char *k = cq_value_key(frame, i);

            if (strcmp(k, "echo") == 0 || strcmp(k, "id") == 0)
                continue;
            ok =
                cq__json_gen_str(g, k) == CQ_OK &&
                cq__json_gen_value(g, (yajl_val)cq_value_at(frame, i)) == CQ_OK;
        }
    } else {
        ok = ok && cq__json_gen_str(g, "status") == CQ_OK &&
             cq__json_gen_str(g, "failed") == CQ_OK &&
             cq__json_gen_str(g, "retcode") == CQ_OK &&
             yajl_gen_integer(g, -1) == yajl_gen_status_ok &&
             cq__json_gen_str(g, "data") == CQ_OK &&
             yajl_gen_null(g) == yajl_gen_status_ok &&
             cq__json_gen_str(g, "bridge") == CQ_OK &&
             cq__json_gen_str(g, cq__bridge_err_name(err)) == CQ_OK &&
             cq__json_gen_str(g, "msg") == CQ_OK &&
             cq__json_gen_str(g, msg ? msg : "") == CQ_OK;
    }
    if (ok && id != NULL) {
        yajl_val idv = NULL;

        ok = cq__json_gen_str(g, "id") == CQ_OK &&
             cq__json_parse(&idv, id, strlen(id), 32) == CQ_OK &&
             cq__json_gen_value(g, idv) == CQ_OK;
        yajl_tree_free(idv);
    }
    ok = ok && yajl_gen_map_close(g) == yajl_gen_status_ok &&
         yajl_gen_get_buf(g, &out, &len) == yajl_gen_status_ok;
    if (ok) {
        bufferevent_write(cl->bev, out, len);
        bufferevent_write(cl->bev, "\n", 1);
    } else {
        static const char fail[] = "{\"status\":\"failed\",\"retcode\":-1,"
                                   "\"data\":null,\"bridge\":\"busy\","
                                   "\"msg\":\"answer could not be written\""
                                   "}\n";

        bufferevent_write(cl->bev, fail, sizeof(fail) - 1);
    }
    if (g != NULL)
        yajl_gen_free(g);
}


static void on_done(void *arg, const cq_value *frame, cq__bridge_err err,
                    const char *msg)
{
    ipc_call *ic = arg;

    forget_call(ic->cl, ic->p);
    write_answer(ic->cl, frame, err, msg, ic->id);
    free(ic->id);
    free(ic);
}


/* The answer to ".bridge_status": accounts, connections and counters. */
static void answer_status(cq__ipc_client *cl, const char *id)
{
    char *json = cq__bridge_status_json(cl->br);
    yajl_val v = NULL;

    if (json != NULL && cq__json_parse(&v, json, strlen(json), 32) == CQ_OK)
        write_answer(cl, cq__cv(v), CQ__BR_OK, NULL, id);
    else
        write_answer(cl, NULL, CQ__BR_BUSY, "out of memory", id);
    yajl_tree_free(v);
    free(json);
}


/* Checks and sends one request line. */
static void on_request(cq__ipc_client *cl, const char *line, size_t len)
{
    cq__bridge *br = cl->br;
    yajl_val req = NULL;
    const char *action;
    yajl_val params, idv;
    char *id = NULL, *ptext = NULL;
    int64_t self_id = 0;
    cq__account *a;
    cq__bridge_err err;
    ipc_call *ic;

    if (cq__json_parse(&req, line, len, 64) != CQ_OK || !YAJL_IS_OBJECT(req)) {
        write_answer(cl, NULL, CQ__BR_BAD_REQUEST,
                     "a request is one JSON object per line", NULL);
        goto out;
    }
    idv = cq__json_get(req, "id");
    id = idv != NULL ? cq_value_to_json(cq__cv(idv)) : NULL;
    action = YAJL_GET_STRING(cq__json_get(req, "action"));
    params = cq__json_get(req, "params");
    if (action == NULL || action[0] == '\0' ||
        strspn(action, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                       "0123456789_.") != strlen(action) ||
        (params != NULL && !YAJL_IS_OBJECT(params)) ||
        (cq__json_get(req, "self_id") != NULL &&
         (cq_value_int(cq_value_get(cq__cv(req), "self_id"), &self_id) != CQ_OK ||
          self_id <= 0))) {
        write_answer(cl, NULL, CQ__BR_BAD_REQUEST,
                     "need a string \"action\" ([A-Za-z0-9_.]), an object "
                     "\"params\" and a positive \"self_id\"",
                     id);
        goto out;
    }
    if (strcmp(action, ".bridge_status") == 0) {
        answer_status(cl, id);
        goto out;
    }
    a = self_id > 0 ? cq__account_find(br, self_id) : cq__account_sole(br);
    ptext = params != NULL ? cq_value_to_json(cq__cv(params)) : NULL;
    ic = calloc(1, sizeof(*ic));
    if (ic == NULL || (params != NULL && ptext == NULL)) {
        free(ic);
        write_answer(cl, NULL, CQ__BR_BUSY, "out of memory", id);
        goto out;
    }
    ic->cl = cl;
    ic->id = id;
    err = cq__account_call(br, a, action, ptext ? ptext : "{}", on_done, ic,
                           &ic->p);
    if (err != CQ__BR_OK) {
        ic->id = NULL;
        free(ic);
        write_answer(cl, NULL, err,
                     err == CQ__BR_NO_CONNECTION
                         ? (self_id > 0 ? "no API connection for this account"
                                        : "no self_id, and not exactly one "
                                          "account connected")
                         : "too many calls waiting, or the connection's "
                           "queue is full",
                     id);
        goto out;
    }
    id = NULL; /* Owned by ic now. */
    ic->p->owner_next = cl->calls;
    cl->calls = ic->p;
out:
    free(ptext);
    free(id);
    yajl_tree_free(req);
}


static void on_read(struct bufferevent *bev, void *arg)
{
    cq__ipc_client *cl = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t len;
    char *line;

    while ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) != NULL) {
        if (len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        if (len > 0)
            on_request(cl, line, len);
        free(line);
    }
    if (evbuffer_get_length(in) > IPC_MAX_LINE) {
        cq_log(CQ_LOG_WARN,
               "API socket client: line over %u bytes; "
               "disconnected",
               IPC_MAX_LINE);
        client_free(cl);
    }
}


static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        client_free(arg);
}


static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int salen, void *arg)
{
    cq__bridge *br = arg;
    cq__ipc_client *cl;

    (void)l;
    (void)sa;
    (void)salen;
    if (br->nclients + br->nconns >= (size_t)br->conf->max_connections ||
        (cl = calloc(1, sizeof(*cl))) == NULL) {
        cq_log(CQ_LOG_WARN, "API socket: connection refused (limit %ld)",
               br->conf->max_connections);
        evutil_closesocket(fd);
        return;
    }
    cl->br = br;
    cl->bev = bufferevent_socket_new(br->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (cl->bev == NULL) {
        evutil_closesocket(fd);
        free(cl);
        return;
    }
    cl->next = br->clients;
    if (cl->next != NULL)
        cl->next->prev = cl;
    br->clients = cl;
    br->nclients++;
    bufferevent_setcb(cl->bev, on_read, NULL, on_event, cl);
    bufferevent_enable(cl->bev, EV_READ);
}


int cq__ipc_listen(cq__bridge *br, const char *path)
{
    struct sockaddr_un sa;
    mode_t old;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path)) {
        cq_log(CQ_LOG_ERROR, "bridge_socket %s: path too long", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    unlink(path); /* A stale socket from an earlier run. */
    /* Mode 0660 from the start: no moment when others could connect. */
    old = umask(0117);
    br->ipc_listener = evconnlistener_new_bind(
        br->base, on_accept, br, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
        128, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (br->ipc_listener == NULL) {
        cq_log(CQ_LOG_ERROR, "bridge_socket %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}


void cq__ipc_free_all(cq__bridge *br)
{
    while (br->clients != NULL)
        client_free(br->clients);
}
