/*
 * jw: a JSON writer with a latched error, over the library's validating
 * yajl generator (see sim.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "sim/sim.h"

int cq__sim_jw_init(cq__sim_jw *w)
{
    w->g = cq__json_gen_new();
    w->err = w->g != NULL ? CQ_OK : CQ_ENOMEM;
    return w->err;
}

void cq__sim_jw_free(cq__sim_jw *w)
{
    if (w->g != NULL)
        yajl_gen_free(w->g);
    w->g = NULL;
}

char *cq__sim_jw_dup(cq__sim_jw *w, size_t *len)
{
    char *s;

    if (w->err != CQ_OK)
        return NULL;
    s = cq__json_gen_dup(w->g);
    if (s != NULL && len != NULL)
        *len = strlen(s);
    return s;
}

/* Latches the first failure of a yajl_gen call. */
static void status(cq__sim_jw *w, yajl_gen_status st)
{
    if (w->err == CQ_OK && st != yajl_gen_status_ok)
        w->err = CQ_EINVAL;
}

void cq__sim_jw_open(cq__sim_jw *w)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_map_open(w->g));
}

void cq__sim_jw_close(cq__sim_jw *w)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_map_close(w->g));
}

void cq__sim_jw_aopen(cq__sim_jw *w)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_array_open(w->g));
}

void cq__sim_jw_aclose(cq__sim_jw *w)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_array_close(w->g));
}

void cq__sim_jw_str(cq__sim_jw *w, const char *s)
{
    if (w->err != CQ_OK)
        return;
    if (s == NULL)
        status(w, yajl_gen_null(w->g));
    else
        w->err = cq__json_gen_str(w->g, s);
}

void cq__sim_jw_int(cq__sim_jw *w, int64_t v)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_integer(w->g, (long long)v));
}

void cq__sim_jw_bool(cq__sim_jw *w, int v)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_bool(w->g, v != 0));
}

void cq__sim_jw_null(cq__sim_jw *w)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_null(w->g));
}

void cq__sim_jw_value(cq__sim_jw *w, yajl_val v)
{
    if (w->err == CQ_OK)
        w->err = cq__json_gen_value(w->g, v);
}

void cq__sim_jw_key(cq__sim_jw *w, const char *key)
{
    if (w->err == CQ_OK)
        w->err = cq__json_gen_str(w->g, key);
}

void cq__sim_jw_kstr(cq__sim_jw *w, const char *key, const char *s)
{
    cq__sim_jw_key(w, key);
    cq__sim_jw_str(w, s);
}

void cq__sim_jw_kint(cq__sim_jw *w, const char *key, int64_t v)
{
    cq__sim_jw_key(w, key);
    cq__sim_jw_int(w, v);
}

void cq__sim_jw_kbool(cq__sim_jw *w, const char *key, int v)
{
    cq__sim_jw_key(w, key);
    cq__sim_jw_bool(w, v);
}

void cq__sim_jw_knull(cq__sim_jw *w, const char *key)
{
    cq__sim_jw_key(w, key);
    cq__sim_jw_null(w);
}
