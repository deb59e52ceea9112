#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/api.h"
#include "lib/caps.h"
#include "lib/ctx.h"
#include "lib/json.h"
#include "lib/json_put.h"
#include "lib/message.h"
#include "lib/sending.h"

#define MAX_HOOKS 16

static cq_before_sending_fn *hooks[MAX_HOOKS];
static size_t nhooks;

/* The actions whose "message" is hooked (cqhttp.h). */
static const char *const sending_actions[] = {
    "send_msg", "send_private_msg", "send_group_msg", "send_discuss_msg"};

int cq_on_before_sending(cq_before_sending_fn *fn)
{
    if (fn == NULL)
        return CQ_EINVAL;
    if (nhooks == MAX_HOOKS)
        return CQ_ENOMEM;
    hooks[nhooks++] = fn;
    return CQ_OK;
}


void cq__sending_reset(void)
{
    nhooks = 0;
}


static int sends_message(const char *action)
{
    size_t i;

    for (i = 0; i < sizeof(sending_actions) / sizeof(sending_actions[0]); i++)
        if (strcmp(action, sending_actions[i]) == 0)
            return 1;
    return 0;
}


/* Reads a string message as the implementation would: CQ code, unless
 * escaped (auto_escape), then literal text. */
static int message_from_string(const char *s, int escaped, cq_msg **out)
{
    if (!escaped)
        return cq_msg_parse_cq(out, s, strlen(s));
    if ((*out = cq_msg_new()) == NULL)
        return CQ_ENOMEM;
    return cq_msg_add_text(*out, s);
}


static int message_from(yajl_val v, int escaped, cq_msg **out)
{
    if (YAJL_IS_STRING(v))
        return message_from_string(YAJL_GET_STRING(v), escaped, out);
    return cq_msg_from_value(out, cq__cv(v));
}


/*
 * Runs every hook on m; stores in *changed whether its JSON differs after
 * them. Returns CQ_OK, the first negative code a hook returned (the others
 * then do not run), or CQ_ENOMEM.
 */
static int run_hooks(cq_ctx *c, const char *action, cq_msg *m, int *changed)
{
    char *before = cq_msg_to_json_string(m), *after;
    size_t i;
    int rc = CQ_OK;

    *changed = 0;
    if (before == NULL)
        return CQ_ENOMEM;
    for (i = 0; i < nhooks && rc >= 0; i++)
        rc = hooks[i](c, action, m);
    if (rc >= 0) {
        rc = cq_msg_err(m);
        after = rc == CQ_OK ? cq_msg_to_json_string(m) : NULL;
        if (rc == CQ_OK && after == NULL)
            rc = CQ_ENOMEM;
        *changed = after != NULL && strcmp(before, after) != 0;
        free(after);
    }
    free(before);
    return rc > 0 ? CQ_OK : rc;
}


/* Writes root's members but message and auto_escape, then m as message,
 * into a new string, or NULL with *err set. */
static char *rewrite(yajl_val root, const cq_msg *m, int *err)
{
    cq__buf out;
    cq__jput w;
    size_t i;
    char sep = '\0', *s = NULL;
    int rc;

    cq__buf_init(&out, SIZE_MAX / 2);
    cq__jput_init(&w, &out, NULL);
    rc = cq__jput_add(&w, "{", 1);
    for (i = 0; rc == CQ_OK && i < root->u.object.len; i++) {
        const char *k = root->u.object.keys[i];

        if (strcmp(k, "message") == 0 || strcmp(k, "auto_escape") == 0)
            continue;
        rc = cq__json_put_key(&w, sep, k);
        if (rc == CQ_OK)
            rc = cq__json_put_value(&w, root->u.object.values[i], 1);
        sep = ',';
    }
    if (rc == CQ_OK)
        rc = cq__json_put_key(&w, sep, "message");
    if (rc == CQ_OK)
        rc = cq__msg_put(&w, m, 1);
    if (rc == CQ_OK)
        rc = cq__jput_add(&w, "}", 1);
    if (rc == CQ_OK && (s = cq__buf_detach(&out)) == NULL)
        rc = CQ_ENOMEM;
    cq__buf_free(&out);
    *err = rc;
    return s;
}


int cq__sending_call(cq_ctx *c, const char *action, const char *params,
                     char **replaced, cq_result *out)
{
    yajl_val root, msg;
    cq_msg *m = NULL;
    int rc = CQ_OK, changed = 0;

    *replaced = NULL;
    if (nhooks == 0 || !sends_message(action))
        return CQ_OK;
    if (cq__json_parse(&root, params, strlen(params), CQ__CAP_ANSWER_DEPTH) !=
        CQ_OK)
        return CQ_OK; /* Checked by the caller: cannot happen. */
    msg = cq__json_get(root, "message");
    if (msg != NULL &&
        message_from(msg, YAJL_IS_TRUE(cq__json_get(root, "auto_escape")),
                     &m) == CQ_OK) {
        rc = run_hooks(c, action, m, &changed);
        if (rc == CQ_OK && changed)
            *replaced = rewrite(root, m, &rc);
    }
    cq_msg_free(m);
    yajl_tree_free(root);
    if (rc == CQ_ENOMEM)
        return cq__api_fail(out, rc, "before_sending: out of memory");
    if (rc != CQ_OK)
        return cq__api_fail(out, CQ_ECANCELED,
                            "a before_sending hook returned %d (%s)", rc,
                            cq_err_name(rc));
    return CQ_OK;
}


/* The quick operation's reply as a message, or NULL (none, unreadable). */
static cq_msg *reply_message(const cq_ctx *c, size_t *at)
{
    const cq__quick_field *f = NULL;
    cq_msg *m = NULL;
    int escaped = 0;
    size_t i;

    for (i = 0; i < c->nfields; i++) {
        const cq__quick_field *g = cq__ctx_field(c, i);

        if (strcmp(cq__quick_key(g), "reply") == 0) {
            f = g;
            *at = i;
        } else if (strcmp(cq__quick_key(g), "auto_escape") == 0) {
            escaped = g->kind == QF_BOOL && g->i;
        }
    }
    if (f != NULL && f->kind == QF_MSG)
        return cq_msg_dup(f->m);
    if (f != NULL && f->kind == QF_STRING)
        message_from_string(f->s, escaped, &m);
    if (f != NULL && f->kind == QF_VALUE)
        message_from(cq__yv(f->v), escaped, &m);
    return m;
}


int cq__sending_reply(cq_ctx *c)
{
    cq__quick_field *f;
    size_t at = 0;
    cq_msg *m;
    int rc, changed;

    if (nhooks == 0 || (m = reply_message(c, &at)) == NULL)
        return CQ_OK;
    rc = run_hooks(c, "reply", m, &changed);
    f = cq__ctx_field(c, at);
    if (rc == CQ_OK && changed) {
        free(f->s);
        cq_msg_free(f->m);
        f->s = NULL;
        f->v = NULL;
        f->kind = QF_MSG;
        f->m = m;
        return CQ_OK;
    }
    cq_msg_free(m);
    if (rc == CQ_ENOMEM || rc == CQ_OK)
        return rc;
    cq_log(CQ_LOG_INFO, "reply dropped: a before_sending hook returned %d (%s)",
           rc, cq_err_name(rc));
    cq__ctx_field_drop(c, at);
    return CQ_OK;
}
