/*
 * Public read-only access to parsed JSON. A cq_value is a yajl tree node
 * (lib/json.h converts); each function turns it back once, on entry.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/json.h"

cq_type cq_value_type(const cq_value *cv)
{
    yajl_val v = cq__yv(cv);
    if (v == NULL)
        return CQ_TNONE;
    switch (v->type) {
    case yajl_t_string:
        return CQ_TSTRING;
    case yajl_t_number:
        return YAJL_IS_INTEGER(v) ? CQ_TINT : CQ_TDOUBLE;
    case yajl_t_object:
        return CQ_TOBJECT;
    case yajl_t_array:
        return CQ_TARRAY;
    case yajl_t_true:
    case yajl_t_false:
        return CQ_TBOOL;
    case yajl_t_null:
    case yajl_t_any:
    default:
        return CQ_TNULL;
    }
}


/* One path step: an object key, or an array index written in decimal. */
static yajl_val step(yajl_val v, const char *name, size_t len)
{
    size_t i;

    if (v->type == yajl_t_object) {
        for (i = 0; i < v->u.object.len; i++) {
            const char *k = v->u.object.keys[i];

            /* The first byte rules out most keys without a call. */
            if (len == 0 ? k[0] == '\0'
                         : k[0] == name[0] && strncmp(k, name, len) == 0 &&
                               k[len] == '\0')
                return v->u.object.values[i];
        }
        return NULL;
    }
    if (v->type == yajl_t_array && len > 0 && len < 10) {
        size_t idx = 0;

        for (i = 0; i < len; i++) {
            if (name[i] < '0' || name[i] > '9')
                return NULL;
            idx = idx * 10 + (size_t)(name[i] - '0');
        }
        return idx < v->u.array.len ? v->u.array.values[idx] : NULL;
    }
    return NULL;
}


const cq_value *cq_value_get(const cq_value *cv, const char *path)
{
    yajl_val v = cq__yv(cv);
    const char *p = path, *dot;


    if (path == NULL)
        return NULL;
    while (v != NULL && *p != '\0') {
        dot = strchr(p, '.');
        if (dot == NULL)
            return cq__cv(step(v, p, strlen(p)));
        v = step(v, p, (size_t)(dot - p));
        p = dot + 1;
    }
    return cq__cv(v);
}


const char *cq_value_string(const cq_value *cv)
{
    yajl_val v = cq__yv(cv);
    return v != NULL && v->type == yajl_t_string ? v->u.string : NULL;
}


int cq_value_int(const cq_value *cv, int64_t *out)
{
    yajl_val v = cq__yv(cv);
    if (v == NULL)
        return CQ_ENOENT;
    if (v->type == yajl_t_number) {
        if (!YAJL_IS_INTEGER(v)) {
            /* yajl clamps integers past int64 and keeps them as doubles. */
            const char *r = v->u.number.r;

            return strpbrk(r, ".eE") == NULL ? CQ_ERANGE : CQ_ETYPE;
        }
        *out = (int64_t)v->u.number.i;
        return CQ_OK;
    }
    if (v->type == yajl_t_string) {
        const char *s = v->u.string;
        char *end;
        long long n;

        if (*s == '\0' || *s == ' ' || *s == '+')
            return CQ_ETYPE;
        errno = 0;
        n = strtoll(s, &end, 10);
        if (*end != '\0')
            return CQ_ETYPE;
        if (errno == ERANGE)
            return CQ_ERANGE;
        *out = (int64_t)n;
        return CQ_OK;
    }
    return CQ_ETYPE;
}


int cq_value_bool(const cq_value *cv)
{
    yajl_val v = cq__yv(cv);
    if (v == NULL)
        return CQ_ENOENT;
    if (v->type == yajl_t_true)
        return 1;
    if (v->type == yajl_t_false)
        return 0;
    return CQ_ETYPE;
}


size_t cq_value_len(const cq_value *cv)
{
    yajl_val v = cq__yv(cv);
    if (v == NULL)
        return 0;
    if (v->type == yajl_t_array)
        return v->u.array.len;
    if (v->type == yajl_t_object)
        return v->u.object.len;
    return 0;
}


const cq_value *cq_value_at(const cq_value *cv, size_t i)
{
    yajl_val v = cq__yv(cv);
    if (i >= cq_value_len(cv))
        return NULL;
    if (v->type == yajl_t_array)
        return cq__cv(v->u.array.values[i]);
    return cq__cv(v->u.object.values[i]);
}


const char *cq_value_key(const cq_value *cv, size_t i)
{
    yajl_val v = cq__yv(cv);
    if (v == NULL || v->type != yajl_t_object || i >= v->u.object.len)
        return NULL;
    return v->u.object.keys[i];
}


char *cq_value_to_json(const cq_value *cv)
{
    yajl_val v = cq__yv(cv);
    yajl_gen g;
    char *s = NULL;

    if (v == NULL)
        return NULL;
    g = cq__json_gen_new();
    if (g == NULL)
        return NULL;
    if (cq__json_gen_value(g, v) == CQ_OK)
        s = cq__json_gen_dup(g);
    yajl_gen_free(g);
    return s;
}
