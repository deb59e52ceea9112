/*
 * params: a small builder for API parameter objects, written straight into
 * a buffer (lib/json_put.h). The first error latches: later additions are
 * ignored and cq_call_params() reports it, so a caller adds every field and
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
#include "lib/json_put.h"
#include "lib/message.h"

/*
 * The object is written as it is built and never closed: the JSON handed to
 * a call is a copy with the closing brace added, so building reads as a
 * const operation to cq_call_params() and a params object can grow after a
 * call. The generated wrappers, which free the object after its one call,
 * close it in place instead (cq__call_params_free).
 *
 * The object is flat at its top level, so it needs no generator to keep
 * its commas: its text is written straight into out (lib/json_put.h), the
 * same bytes yajl_gen wrote, at a part of the cost. The object lives in an
 * arena (lib/arena.h), usually a chunk its thread kept; a message value is
 * written by the same means (cq__msg_put).
 */
struct cq_params {
    cq__buf out; /* The object so far, not closed. */
    cq__jput w;  /* Writes into out. */
    int err;     /* The latched error. */
    cq__arena *arena;
};

/* The room for the object's text in its arena, before it needs more. */
#define PARAMS_ROOM 512

cq_params *cq_params_new(void)
{
    cq__arena *a = cq__arena_new(0);
    cq_params *p = a != NULL ? cq__arena_alloc(a, sizeof(*p)) : NULL;
    char *mem = p != NULL ? cq__arena_alloc(a, PARAMS_ROOM) : NULL;

    if (mem == NULL) {
        cq__arena_free(a);
        return NULL;
    }
    p->arena = a;
    /* Most objects fit the arena's room: no allocation of their own. */
    cq__buf_init_in(&p->out, SIZE_MAX / 2, mem, PARAMS_ROOM);
    cq__jput_init(&p->w, &p->out, NULL);
    p->err = cq__buf_add(&p->out, "{", 1);
    if (p->err != CQ_OK) {
        cq__arena_free(a);
        return NULL;
    }
    return p;
}


void cq_params_free(cq_params *p)
{
    if (p == NULL)
        return;
    cq__buf_free(&p->out);
    cq__arena_free(p->arena);
}


/* Latches rc if it is the first failure; returns the latched error. */
static int latch(cq_params *p, int rc)
{
    if (p->err == CQ_OK)
        p->err = rc;
    return p->err;
}


/*
 * Latches CQ_EINVAL for a NULL key or a missing value, then writes the key
 * (after a comma unless it is the first). Returns CQ_OK when the value is
 * to be written, else the latched error.
 */
static int begin(cq_params *p, const char *key, int has_value)
{
    int rc = key != NULL && has_value ? CQ_OK : CQ_EINVAL;

    if (rc == CQ_OK && p->err == CQ_OK)
        rc = cq__json_put_key(&p->w, p->out.len > 1 ? ',' : '\0', key);
    return latch(p, rc);
}


int cq_params_int(cq_params *p, const char *key, int64_t v)
{
    if (p == NULL)
        return CQ_ENOMEM;
    if (begin(p, key, 1) == CQ_OK)
        latch(p, cq__json_put_int(&p->w, v));
    return p->err;
}


int cq_params_bool(cq_params *p, const char *key, int v)
{
    if (p == NULL)
        return CQ_ENOMEM;
    if (begin(p, key, 1) == CQ_OK)
        latch(p, cq__json_put_bool(&p->w, v));
    return p->err;
}


int cq_params_string(cq_params *p, const char *key, const char *v)
{
    if (p == NULL)
        return CQ_ENOMEM;
    if (begin(p, key, v != NULL) == CQ_OK)
        latch(p, cq__json_put_str(&p->w, v));
    return p->err;
}


int cq_params_msg(cq_params *p, const char *key, const cq_msg *m)
{
    if (p == NULL)
        return CQ_ENOMEM;
    if (m != NULL && cq_msg_err(m) != CQ_OK)
        latch(p, cq_msg_err(m));
    if (begin(p, key, m != NULL) == CQ_OK)
        latch(p, cq__msg_put(&p->w, m, 1));
    return p->err;
}


int cq_params_value(cq_params *p, const char *key, const cq_value *v)
{
    if (p == NULL)
        return CQ_ENOMEM;
    /* The value sits one level deep, inside the params object. */
    if (begin(p, key, v != NULL) == CQ_OK)
        latch(p, cq__json_put_value(&p->w, cq__yv(v), 1));
    return p->err;
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
    if (rc != CQ_OK)
        return latch(p, rc);
    rc = cq_params_value(p, key, cq__cv(v));
    yajl_tree_free(v);
    return rc;
}


char *cq__params_json(const cq_params *p, int *err)
{
    char *json;

    *err = p == NULL ? CQ_ENOMEM : p->err;
    if (*err != CQ_OK)
        return NULL;
    json = malloc(p->out.len + 2);
    if (json == NULL) {
        *err = CQ_ENOMEM;
        return NULL;
    }
    memcpy(json, p->out.data, p->out.len);
    memcpy(json + p->out.len, "}", 2);
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
    int rc, err = p != NULL ? p->err : CQ_ENOMEM;

    /* p is not used again: closed where it is, its text is not copied. */
    if (err == CQ_OK)
        err = latch(p, cq__buf_add(&p->out, "}", 1));
    rc = call_built(c, action, err == CQ_OK ? p->out.data : NULL, err, out);
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
