#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/api.h"
#include "lib/metrics.h"
#include "lib/caps.h"
#include "lib/actions.h"
#include "lib/api_bridge.h"
#include "lib/api_http.h"
#include "lib/ctx.h"
#include "lib/json.h"
#include "lib/message.h"
#include "lib/sending.h"
#include "lib/unittest.h"


struct cq__api {
    const cq__conf *conf;
    cq__api_local_fn *local; /* In-process transport (the bridge's). */
    void *local_arg;
    cq__api_bridge *bridge; /* NULL when bridge_socket is not set. */
    cq__api_http *http;     /* NULL when api_root is not set. */
};

cq__api *cq__api_new(const cq__conf *conf)
{
    cq__api *a = calloc(1, sizeof(*a));

    if (a == NULL)
        return NULL;
    a->conf = conf;
    if (conf->bridge_socket != NULL) {
        a->bridge = cq__api_bridge_new(conf);
        if (a->bridge == NULL) {
            free(a);
            return NULL;
        }
    }
    if (conf->api_root != NULL) {
        a->http = cq__api_http_new(conf);
        if (a->http == NULL) {
            cq__api_free(a);
            return NULL;
        }
    }
    return a;
}


void cq__api_set_local(cq__api *a, cq__api_local_fn *fn, void *arg)
{
    a->local = fn;
    a->local_arg = arg;
}


void cq__api_free(cq__api *a)
{
    if (a == NULL)
        return;
    cq__api_bridge_free(a->bridge);
    cq__api_http_free(a->http);
    free(a);
}


/* Action names go into URLs and frames: letters, digits, '_' and '.'. */
static int valid_action(const char *action)
{
    const char *p;

    if (action == NULL || action[0] == '\0' || strlen(action) > 128)
        return 0;
    for (p = action; *p != '\0'; p++) {
        char ch = *p;

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '_' || ch == '.'))
            return 0;
    }
    return 1;
}


static int valid_params(const char *params)
{
    yajl_val v;
    int ok;

    if (cq__json_parse(&v, params, strlen(params), CQ__CAP_ANSWER_DEPTH) !=
        CQ_OK)
        return 0;
    ok = YAJL_IS_OBJECT(v);
    yajl_tree_free(v);
    return ok;
}


int cq__api_call(cq__api *a, int64_t self_id, const char *action,
                 const char *params, cq_result *out)
{
    int rc = CQ_ENOAPI;
    cq__mt_transport t = CQ__MT_WEBSOCKET;
    uint64_t start = cq__metrics_now_ms();

    /*
     * Each transport in turn declines with CQ_ENOAPI when it cannot carry
     * the call (no connection for this account); any other result, failure
     * included, is final: the action may already have run.
     */
    if (a != NULL && a->local != NULL)
        rc = a->local(a->local_arg, self_id, action, params, out);
    if (rc == CQ_ENOAPI && a != NULL && a->bridge != NULL) {
        cq_result_free(out);
        t = CQ__MT_SOCKET;
        rc = cq__api_bridge_call(a->bridge, self_id, action, params, out);
    }
    if (rc == CQ_ENOAPI && a != NULL && a->http != NULL) {
        cq_result_free(out);
        t = CQ__MT_HTTP;
        rc = cq__api_http_call(a->http, self_id, action, params, out);
    }
    cq__metrics_call_done(rc == CQ_ENOAPI ? CQ__MT_NONE : t, rc,
                          cq__metrics_now_ms() - start);
    if (rc == CQ_ENOAPI)
        return cq__api_fail(out, CQ_ENOAPI, "%s",
                            a != NULL && (a->bridge || a->local)
                                ? "no API connection for this account and "
                                  "no api_root"
                                : "no api_root configured");
    return rc;
}


/* The account a context's calls are for. */
static int64_t ctx_self_id(const cq_ctx *c)
{
    if (c == NULL)
        return 0;
    if (c->self_id != 0)
        return c->self_id;
    return c->event != NULL ? cq_event_self_id(c->event) : 0;
}


int cq__api_call_logged(cq_ctx *c, const char *action, const char *params,
                        cq_result *out)
{
    char *hooked = NULL;
    int rc;

    if (!valid_action(action))
        rc = cq__api_fail(out, CQ_EINVAL, "invalid action name");
    else if ((rc = cq__sending_call(c, action, params, &hooked, out)) == CQ_OK)
        rc = cq__api_call(c != NULL ? c->api : NULL, ctx_self_id(c), action,
                          hooked != NULL ? hooked : params, out);
    free(hooked);
    if (rc != CQ_OK)
        cq_log(CQ_LOG_WARN, "API %s failed: %s (%s)",
               action ? action : "(null)", cq_strerror(rc), out->detail);
    else
        cq_log(CQ_LOG_DEBUG, "API %s ok", action);
    return rc;
}


int cq_call(cq_ctx *c, const char *action, const char *params_json,
            cq_result *out)
{
    cq_result local;
    int rc;

    if (out == NULL)
        out = &local;
    cq__api_result_init(out);
    if (out == &local)
        cq__api_result_discard(out);
    if (params_json == NULL)
        params_json = "{}";
    if (!valid_params(params_json)) {
        rc = cq__api_fail(out, CQ_EINVAL, "params are not a JSON object");
        cq_log(CQ_LOG_WARN, "API %s failed: %s", action ? action : "(null)",
               out->detail);
    } else {
        rc = cq__api_call_logged(c, action, params_json, out);
    }
    if (out == &local)
        cq_result_free(&local);
    return rc;
}


const cq_result *cq_call_r(cq_ctx *c, const char *action,
                           const char *params_json)
{
    int owned;
    cq_result *r = cq__ctx_result(c, &owned);

    if (owned)
        cq_call(c, action, params_json, r);
    return r;
}


static const char *const target_keys[] = {"user_id", "group_id", "discuss_id"};

/*
 * Adds the chat that e came from to p (PROTOCOL.md 8.5): message_type and
 * the ids as received. Returns the message type, or NULL when e names none.
 */
static const char *add_target(cq_params *p, const cq_event *e)
{
    const char *type = cq_event_string(e, "message_type");
    size_t i;

    if (type == NULL) {
        /* Key presence decides, as in the Python SDK. */
        if (cq_event_get(e, "group_id") != NULL)
            type = "group";
        else if (cq_event_get(e, "discuss_id") != NULL)
            type = "discuss";
        else if (cq_event_get(e, "user_id") != NULL)
            type = "private";
        else
            return NULL;
    }
    cq_params_string(p, "message_type", type);
    for (i = 0; i < 3; i++) {
        const cq_value *v = cq_event_get(e, target_keys[i]);

        if (v != NULL)
            cq_params_value(p, target_keys[i], v);
    }
    return type;
}


/* Writes msg (or text, literal) after an @ of the sender as an array. */
static int add_at_message(cq_params *p, int64_t qq, const char *text,
                          const cq_msg *msg)
{
    cq_msg *m = cq_msg_new();
    int rc = m != NULL ? CQ_OK : CQ_ENOMEM;

    if (rc == CQ_OK && qq != 0)
        rc = cq_msg_add_at(m, qq);
    if (rc == CQ_OK && qq != 0)
        rc = cq_msg_add_text(m, " ");
    if (rc == CQ_OK)
        rc = msg != NULL ? cq_msg_append(m, msg) : cq_msg_add_text(m, text);
    if (rc == CQ_OK)
        rc = cq_params_msg(p, "message", m);
    cq_msg_free(m);
    return rc;
}


CQ_UNITTEST int cq__api_send_params(cq_params *p, const cq_event *e,
                                    const char *text, const cq_msg *msg,
                                    int flags)
{
    const char *type = add_target(p, e);
    int64_t qq = 0;
    char *s;
    size_t n;
    int rc;

    if (type == NULL)
        return CQ_EINVAL;
    if ((flags & CQ_SEND_AT_SENDER) && strcmp(type, "private") != 0)
        cq_event_int(e, "user_id", &qq);
    if (msg != NULL || (qq != 0 && (flags & CQ_SEND_AUTO_ESCAPE))) {
        /*
         * Arrays are never parsed, so a literal text stays literal next to
         * the @ segment and auto_escape is not needed.
         */
        return add_at_message(p, qq, text, msg);
    }
    if (qq == 0) {
        rc = cq_params_string(p, "message", text);
    } else {
        n = strlen(text) + 48;
        s = malloc(n);
        if (s == NULL)
            return CQ_ENOMEM;
        snprintf(s, n, "[CQ:at,qq=%lld] %s", (long long)qq, text);
        rc = cq_params_string(p, "message", s);
        free(s);
    }
    if (rc == CQ_OK && (flags & CQ_SEND_AUTO_ESCAPE))
        rc = cq_params_bool(p, "auto_escape", 1);
    return rc;
}


static int send_common(cq_ctx *c, const cq_event *e, const char *text,
                       const cq_msg *msg, int flags, cq_result *out)
{
    cq_params *p;
    int rc;

    /* A NULL out stays NULL throughout: no failure text is made for it, and
     * the answer's data is then not read. */
    if (out != NULL)
        cq__api_result_init(out);
    if (e == NULL || (text == NULL && msg == NULL))
        return out != NULL ? cq__api_fail(out, CQ_EINVAL, "no event or message")
                           : CQ_EINVAL;
    p = cq_params_new();
    rc = p != NULL ? cq__api_send_params(p, e, text, msg, flags) : CQ_ENOMEM;
    if (rc != CQ_OK) {
        cq_params_free(p);
        cq_log(CQ_LOG_WARN, "send on %s: %s", cq_event_name(e),
               rc == CQ_EINVAL ? "the event names no chat to send to "
                                 "(or the message is not valid UTF-8)"
                               : cq_strerror(rc));
        if (out != NULL)
            cq__api_fail(out, rc, "cannot build send_msg params");
        return rc;
    }
    return cq__call_params_free(c, "send_msg", p, out);
}


int cq_send_ex(cq_ctx *c, const cq_event *e, const char *message, int flags,
               cq_result *out)
{
    return send_common(c, e, message, NULL, flags, out);
}


int cq_send_message(cq_ctx *c, const cq_event *e, const cq_msg *message,
                    int flags, cq_result *out)
{
    if (message == NULL || cq_msg_err(message) != CQ_OK) {
        int err = message == NULL ? CQ_EINVAL : cq_msg_err(message);

        if (out != NULL) {
            cq__api_result_init(out);
            cq__api_fail(out, err, "no message");
        }
        return err;
    }
    return send_common(c, e, NULL, message, flags, out);
}


int cq_send_cq(cq_ctx *c, const cq_event *e, const char *cq)
{
    return send_common(c, e, cq, NULL, 0, NULL);
}


int cq_send(cq_ctx *c, const cq_event *e, const char *message)
{
    return cq_send_cq(c, e, message);
}


/* Escaped as cq_reply_text() does: the wire form of plain text is unchanged
 * and no implementation reads CQ codes in it. */
int cq_send_text(cq_ctx *c, const cq_event *e, const char *text)
{
    char *s = NULL;
    int rc;

    /* Most texts have nothing to escape: they are sent without a copy. */
    if (text != NULL && strpbrk(text, "&[]") != NULL &&
        (s = cq_escape(text, 0)) == NULL)
        return CQ_ENOMEM;
    rc = send_common(c, e, s != NULL ? s : text, NULL, 0, NULL);
    free(s);
    return rc;
}
