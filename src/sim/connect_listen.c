/*
 * connect_listen: "cqhttp-sim connect --forward HOST:PORT", the forward
 * WebSocket server an implementation such as go-cqhttp offers (PROTOCOL.md
 * on forward WS): the bridge dials in, and the one connection then carries
 * events and API calls as a Universal reverse connection does. Everything
 * after the handshake is connect's own: the feed, the calls, the log.
 *
 * The handshake is the server half of ws/handshake.h with this policy: a
 * well-formed upgrade request (GET, Upgrade: websocket, a key, version 13)
 * with the access token when one is set (Bearer, Token or ?access_token=,
 * as the bridge accepts). No X-Self-ID is asked of the client: the
 * lifecycle event tells it who we are. One connection at a time: another
 * one is closed at once.
 */
#include "config.h"

#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "cqhttp.h"
#include "sim/connect.h"
#include "ws/handshake.h"

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int salen, void *arg)
{
    cq__sim_client *cl = arg;
    cq__sim_wsc *c = &cl->conns[0];

    (void)l;
    (void)sa;
    (void)salen;
    if (cl->stopping || c->state != CQ__SIM_WSC_IDLE) {
        cq_log(CQ_LOG_WARN, "a second connection refused: one at a time");
        evutil_closesocket(fd);
        return;
    }
    cq__sim_wsc_accept(c, fd);
}


int cq__sim_listen_start(cq__sim_client *cl)
{
    cl->listener = evconnlistener_new_bind(
        cl->base, on_accept, cl, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 16,
        (struct sockaddr *)&cl->addr, (int)cl->addrlen);
    if (cl->listener == NULL) {
        cq_log(CQ_LOG_ERROR, "cannot listen on %s: %s", cl->listen,
               evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
        return CQ_EIO;
    }
    cq_log(CQ_LOG_INFO, "listening for forward WebSocket on %s", cl->listen);
    return CQ_OK;
}


/* The verdict for a parsed request: 101, or why not. */
static void judge(const cq__ws_request *req, const char *token,
                  cq__ws_verdict *v)
{
    int status;

    v->status = 101;
    v->reason = "accepted";
    v->role = CQ__WS_UNIVERSAL;
    v->self_id = 0;
    if (req->method_len != 3 || memcmp(req->method, "GET", 3) != 0) {
        v->status = 405;
        v->reason = "not GET";
    } else if (!cq__ws_list_has(req->upgrade, req->upgrade_len, "websocket") ||
               req->ws_key == NULL || req->ws_key_len == 0) {
        v->status = 400;
        v->reason = "not a WebSocket upgrade";
    } else if (req->ws_version_len != 2 ||
               memcmp(req->ws_version, "13", 2) != 0) {
        v->status = 426;
        v->reason = "Sec-WebSocket-Version is not 13";
    } else if ((status = cq__ws_judge_auth(req, token, v)) != 0) {
        v->status = status;
    }
}


int cq__sim_listen_handshake(cq__sim_wsc *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t len = evbuffer_get_length(in);
    size_t want = len < CQ__WS_MAX_HEAD + 1 ? len : CQ__WS_MAX_HEAD + 1;
    const char *buf = (const char *)evbuffer_pullup(in, (ssize_t)want);
    char answer[CQ__WS_MAX_ANSWER];
    cq__ws_request req;
    cq__ws_verdict v;
    int rc = cq__ws_parse_request(buf, want, &req), n;

    if (rc == CQ_EAGAIN)
        return CQ_EAGAIN;
    if (rc < 0)
        cq__ws_verdict_for_error(rc, &v);
    else
        judge(&req, c->cl->conf->access_token, &v);
    if (v.status == 101) /* What the call log says was sent. */
        snprintf(c->cl->auth, sizeof(c->cl->auth), "%.*s",
                 (int)req.authorization_len,
                 req.authorization != NULL ? req.authorization : "");
    n = cq__ws_answer(rc < 0 ? NULL : &req, &v, answer, sizeof(answer));
    evbuffer_drain(in, rc < 0 ? len : req.head_len);
    if (n > 0)
        bufferevent_write(c->bev, answer, (size_t)n);
    if (v.status == 101 && n > 0)
        return CQ_OK;
    cq_log(CQ_LOG_WARN, "%s connection: upgrade refused with %d: %s", c->role,
           v.status, v.reason);
    return CQ_EPARSE;
}
