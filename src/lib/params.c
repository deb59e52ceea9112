/*
 * params: a small builder for API parameter objects, over the library's
 * latched JSON writer (lib/json.h). The first error latches: later additions
 * are ignored and cq_call_params() reports it, so a caller adds every field and
 * checks once.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/actions.h"
#include "lib/api.h"
#include "lib/ctx.h"
#include "lib/json.h"
#include "lib/message.h"

/*
 * The object is written as it is built and never closed: the JSON handed to
 * a call is a copy with the closing brace added, so building reads as a
 * const operation to cq_call_params() and a params object can grow after a
 * call.
 */
struct cq_params {
    cq__jw w; /* Its err is the latched error. */
};

cq_params *cq_params_new(void)
{
    cq_params *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    if (cq__jw_init(&p->w) == CQ_OK)
        cq__jw_open(&p->w);
    if (p->w.err != CQ_OK) {
        cq_params_free(p);
        return NULL;
    }
    return p;
}


void cq_params_free(cq_params *p)
{
    if (p == NULL)
        return;
    cq__jw_free(&p->w);
    free(p);
}


/*
 * Latches CQ_EINVAL for a NULL key or a missing value, then writes the key.
 * Returns CQ_OK when the value is to be written, else the latched error.
 */
static int begin(cq_params *p, const char *key, int has_value)
{
    if (key == NULL || !has_value)
        cq__jw_latch(&p->w, CQ_EINVAL);
    cq__jw_key(&p->w, key);
    return p->w.err;
}


int cq_params_int(cq_params *p, const char *key, int64_t v)
{
    if (p == NULL)
        return CQ_ENOMEM;
    if (begin(p, key, 1) == CQ_OK)
        cq__jw_int(&p->w, v);
    return p->w.err;
}


int cq_params_bool(cq_params *p, const char *key, int v)
{
    if (p == NULL)
        return CQ_ENOMEM;
    if (begin(p, key, 1) == CQ_OK)
        cq__jw_bool(&p->w, v);
    return p->w.err;
}


int cq_params_string(cq_params *p, const char *key, const char *v)
{
    if (p == NULL)
        return CQ_ENOMEM;
    if (begin(p, key, v != NULL) == CQ_OK)
        cq__jw_str(&p->w, v);
    return p->w.err;
}


int cq_params_msg(cq_params *p, const char *key, const cq_msg *m)
{
    if (p == NULL)
        return CQ_ENOMEM;
    if (m != NULL && cq_msg_err(m) != CQ_OK)
        cq__jw_latch(&p->w, cq_msg_err(m));
    if (begin(p, key, m != NULL) == CQ_OK)
        cq__jw_latch(&p->w, cq__msg_to_json(m, p->w.g));
    return p->w.err;
}


int cq_params_value(cq_params *p, const char *key, const cq_value *v)
{
    if (p == NULL)
        return CQ_ENOMEM;
    if (begin(p, key, v != NULL) == CQ_OK)
        cq__jw_value(&p->w, cq__yv(v));
    return p->w.err;
}


int cq_params_json(cq_params *p, const char *key, const char *json)
{
    yajl_val v = NULL;
    int rc;

    if (p == NULL)
        return CQ_ENOMEM;
    if (json == NULL) {
        rc = CQ_EINVAL;
    } else {
        rc = cq__json_parse(&v, json, strlen(json), CQ_JSON_MAX_DEPTH);
        if (rc != CQ_OK && rc != CQ_ENOMEM)
            rc = CQ_EINVAL;
    }
    if (rc != CQ_OK) {
        cq__jw_latch(&p->w, rc);
        return p->w.err;
    }
    rc = cq_params_value(p, key, cq__cv(v));
    yajl_tree_free(v);
    return rc;
}


char *cq__params_json(const cq_params *p, int *err)
{
    char *json;

    *err = p == NULL ? CQ_ENOMEM : p->w.err;
    if (*err != CQ_OK)
        return NULL;
    json = cq__jw_dup_tail(&p->w, "}", NULL);
    if (json == NULL)
        *err = CQ_ENOMEM;
    return json;
}


int cq_call_params(cq_ctx *c, const char *action, const cq_params *p,
                   cq_result *out)
{
    cq_result local;
    char *json;
    int rc;

    if (out == NULL)
        out = &local;
    cq__api_result_init(out);
    json = cq__params_json(p, &rc);
    if (json == NULL) {
        cq__api_fail(out, rc, "params for %s cannot be built: %s",
                     action ? action : "(null)", cq_strerror(rc));
        cq_log(CQ_LOG_WARN, "API %s: %s", action ? action : "(null)",
               out->detail);
        if (out == &local)
            cq_result_free(&local);
        return rc;
    }
    rc = cq__api_call_logged(c, action, json, out);
    free(json);
    if (out == &local)
        cq_result_free(&local);
    return rc;
}


const cq_result *cq_call_params_r(cq_ctx *c, const char *action,
                                  const cq_params *p)
{
    int owned;
    cq_result *r = cq__ctx_result(c, &owned);

    if (owned)
        cq_call_params(c, action, p, r);
    return r;
}


int cq__call_params_free(cq_ctx *c, const char *action, cq_params *p,
                         cq_result *out)
{
    int rc = cq_call_params(c, action, p, out);

    cq_params_free(p);
    return rc;
}


const cq__action *cq__action_find(const char *name)
{
    size_t i;

    for (i = 0; i < cq__nactions; i++)
        if (strcmp(cq__actions[i].name, name) == 0)
            return &cq__actions[i];
    return NULL;
}
