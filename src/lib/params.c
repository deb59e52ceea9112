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
#include "lib/arena.h"
#include "lib/ctx.h"
#include "lib/json.h"
#include "lib/message.h"

/*
 * The object is written as it is built and never closed: the JSON handed to
 * a call is a copy with the closing brace added, so building reads as a
 * const operation to cq_call_params() and a params object can grow after a
 * call. The generated wrappers, which free the object after its one call,
 * close it in place instead (cq__call_params_free).
 *
 * The object, its generator and the generator's buffer all live in one
 * arena (lib/arena.h), usually a chunk its thread kept: building params
 * costs no malloc().
 */
struct cq_params {
    cq__jw w; /* Its err is the latched error. */
    cq__arena *arena;
};

cq_params *cq_params_new(void)
{
    cq__arena *a = cq__arena_new(0);
    cq_params *p = a != NULL ? cq__arena_alloc(a, sizeof(*p)) : NULL;
    yajl_alloc_funcs funcs;

    if (p == NULL) {
        cq__arena_free(a);
        return NULL;
    }
    p->arena = a;
    cq__arena_yajl_funcs(a, &funcs);
    /* As cq__jw_init(), on the arena: a validating generator. */
    p->w.g = yajl_gen_alloc(&funcs);
    p->w.err = p->w.g != NULL ? CQ_OK : CQ_ENOMEM;
    if (p->w.err == CQ_OK)
        yajl_gen_config(p->w.g, yajl_gen_validate_utf8, 1);
    cq__jw_open(&p->w);
    if (p->w.err != CQ_OK) {
        cq__arena_free(a);
        return NULL;
    }
    return p;
}


void cq_params_free(cq_params *p)
{
    if (p == NULL)
        return;
    /* yajl_gen_free() would only call the arena's no-op free. */
    cq__arena_free(p->arena);
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


/*
 * Calls action with json, or reports err when json is NULL; fills out (or
 * a result of its own when out is NULL) as cq_call_params().
 */
static int call_built(cq_ctx *c, const char *action, const char *json, int err,
                      cq_result *out)
{
    cq_result local;
    int rc;

    if (out == NULL)
        out = &local;
    cq__api_result_init(out);
    if (out == &local)
        cq__api_result_discard(out);
    if (json == NULL) {
        rc = cq__api_fail(out, err, "params for %s cannot be built: %s",
                          action ? action : "(null)", cq_strerror(err));
        cq_log(CQ_LOG_WARN, "API %s: %s", action ? action : "(null)",
               out->detail);
    } else {
        rc = cq__api_call_logged(c, action, json, out);
    }
    if (out == &local)
        cq_result_free(&local);
    return rc;
}


int cq_call_params(cq_ctx *c, const char *action, const cq_params *p,
                   cq_result *out)
{
    int err;
    char *json = cq__params_json(p, &err);
    int rc = call_built(c, action, json, err, out);

    free(json);
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
    const unsigned char *buf = NULL;
    size_t len;
    int rc, err = p != NULL ? p->w.err : CQ_ENOMEM;

    /* p is not used again: closed where it is, its text is not copied. */
    if (err == CQ_OK) {
        cq__jw_close(&p->w);
        err = p->w.err;
    }
    if (err == CQ_OK &&
        yajl_gen_get_buf(p->w.g, &buf, &len) != yajl_gen_status_ok) {
        buf = NULL;
        err = CQ_ENOMEM;
    }
    rc = call_built(c, action, err == CQ_OK ? (const char *)buf : NULL, err,
                    out);
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
