/*
 * params: a small builder for API parameter objects, over yajl_gen. The
 * first error latches: later additions are ignored and cq_call_params()
 * reports it, so a caller adds every field and checks once.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/actions.h"
#include "lib/api.h"
#include "lib/json.h"
#include "lib/message.h"

struct cq_params {
    yajl_gen g;
    int err;    /* The first error, or CQ_OK. */
    int closed; /* The object's closing brace is written. */
};

cq_params *cq_params_new(void)
{
    cq_params *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->g = cq__json_gen_new();
    if (p->g == NULL || yajl_gen_map_open(p->g) != yajl_gen_status_ok) {
        cq_params_free(p);
        return NULL;
    }
    return p;
}


void cq_params_free(cq_params *p)
{
    if (p == NULL)
        return;
    if (p->g != NULL)
        yajl_gen_free(p->g);
    free(p);
}


/* Checks p and writes key; returns CQ_OK or the latched error. */
static int begin(cq_params *p, const char *key)
{
    if (p == NULL)
        return CQ_ENOMEM;
    if (p->err == CQ_OK && (key == NULL || p->closed))
        p->err = CQ_EINVAL;
    if (p->err == CQ_OK)
        p->err = cq__json_gen_str(p->g, key);
    return p->err;
}


static int end(cq_params *p, int rc)
{
    if (p->err == CQ_OK)
        p->err = rc;
    return p->err;
}


int cq_params_int(cq_params *p, const char *key, int64_t v)
{
    if (begin(p, key) != CQ_OK)
        return p ? p->err : CQ_ENOMEM;
    return end(p, yajl_gen_integer(p->g, (long long)v) == yajl_gen_status_ok
                      ? CQ_OK
                      : CQ_EINVAL);
}


int cq_params_bool(cq_params *p, const char *key, int v)
{
    if (begin(p, key) != CQ_OK)
        return p ? p->err : CQ_ENOMEM;
    return end(p, yajl_gen_bool(p->g, v != 0) == yajl_gen_status_ok
                      ? CQ_OK
                      : CQ_EINVAL);
}


int cq_params_string(cq_params *p, const char *key, const char *v)
{
    if (p != NULL && v == NULL && p->err == CQ_OK)
        p->err = CQ_EINVAL;
    if (begin(p, key) != CQ_OK)
        return p ? p->err : CQ_ENOMEM;
    return end(p, cq__json_gen_str(p->g, v));
}


int cq_params_msg(cq_params *p, const char *key, const cq_msg *m)
{
    if (p != NULL && m == NULL && p->err == CQ_OK)
        p->err = CQ_EINVAL;
    if (begin(p, key) != CQ_OK)
        return p ? p->err : CQ_ENOMEM;
    return end(p, cq__msg_to_json(m, p->g));
}


int cq_params_value(cq_params *p, const char *key, const cq_value *v)
{
    if (p != NULL && v == NULL && p->err == CQ_OK)
        p->err = CQ_EINVAL;
    if (begin(p, key) != CQ_OK)
        return p ? p->err : CQ_ENOMEM;
    return end(p, cq__json_gen_value(p->g, (yajl_val)v));
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
        if (p->err == CQ_OK)
            p->err = rc;
        return p->err;
    }
    rc = cq_params_value(p, key, cq__cv(v));
    yajl_tree_free(v);
    return rc;
}


char *cq__params_json(cq_params *p, int *err)
{
    char *json;

    *err = p == NULL ? CQ_ENOMEM : p->err;
    if (*err != CQ_OK)
        return NULL;
    if (!p->closed) {
        /* Closing once keeps the object complete for later calls. */
        if (yajl_gen_map_close(p->g) != yajl_gen_status_ok)
            p->err = CQ_EINVAL;
        p->closed = 1;
    }
    *err = p->err;
    if (*err != CQ_OK)
        return NULL;
    json = cq__json_gen_dup(p->g);
    if (json == NULL)
        *err = CQ_ENOMEM;
    return json;
}


int cq_call_params(cq_ctx *c, const char *action, const cq_params *cp,
                   cq_result *out)
{
    cq_params *p = (cq_params *)cp;
    cq_result local;
    char *json;
    int rc;

    if (out == NULL)
        out = &local;
    memset(out, 0, sizeof(*out));
    json = cq__params_json(p, &rc);
    if (json == NULL) {
        cq__api_fail(out, rc, "params for %s cannot be built: %s",
                     action ? action : "(null)", cq_strerror(rc));
        cq_log(CQ_LOG_WARN, "API %s: %s", action ? action : "(null)",
               out->detail);
        return rc;
    }
    rc = cq__api_call_logged(c, action, json, out);
    free(json);
    if (out == &local)
        cq_result_free(&local);
    return rc;
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
