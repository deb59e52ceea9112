#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/json.h"

int cq__json_precheck_members(const char *buf, size_t len, int max_depth,
                              size_t max_members)
{
    int depth = 0, in_string = 0;
    size_t i, members = 1;

    for (i = 0; i < len; i++) {
        char ch = buf[i];

        if (ch == '\0')
            return CQ_EPARSE;
        if (in_string) {
            /* The escaped byte cannot end the string, but it can be a NUL,
             * which a caller's strndup() would stop at. */
            if (ch == '\\' && ++i < len && buf[i] == '\0')
                return CQ_EPARSE;
            if (ch == '"')
                in_string = 0;
            continue;
        }
        switch (ch) {
        case '"':
            in_string = 1;
            break;
        case '[':
        case '{':
            if (++depth > max_depth)
                return CQ_EDEPTH;
            break;
        case ']':
        case '}':
            depth--;
            break;
        case ',':
            if (depth == 1 && ++members > max_members)
                return CQ_ETOOBIG;
            break;
        case '/':
            /* JSON has no comments; yajl's tree parser would take them. */
            return CQ_EPARSE;
        default:
            break;
        }
    }
    return CQ_OK;
}


int cq__json_precheck(const char *buf, size_t len, int max_depth)
{
    return cq__json_precheck_members(buf, len, max_depth, SIZE_MAX);
}


int cq__json_parse(yajl_val *out, const char *buf, size_t len, int max_depth)
{
    char err[128];
    int rc;

    *out = NULL;
    rc = cq__json_precheck(buf, len, max_depth);
    if (rc != CQ_OK)
        return rc;
    errno = 0;
    *out = yajl_tree_parse(buf, err, sizeof(err));
    if (*out == NULL)
        return errno == ENOMEM ? CQ_ENOMEM : CQ_EPARSE;
    return CQ_OK;
}


yajl_gen cq__json_gen_new(void)
{
    yajl_gen g = yajl_gen_alloc(NULL);

    if (g != NULL)
        yajl_gen_config(g, yajl_gen_validate_utf8, 1);
    /* yajl's generator counts depth itself and fails past its own limit
     * (128); values written here come from depth-checked trees or from code,
     * so reaching it means a bug, reported as CQ_EDEPTH. */
    return g;
}


static int gen_status(yajl_gen_status st)
{
    switch (st) {
    case yajl_gen_status_ok:
        return CQ_OK;
    case yajl_max_depth_exceeded:
        return CQ_EDEPTH;
    case yajl_gen_invalid_string:
    case yajl_gen_invalid_number:
    case yajl_gen_keys_must_be_strings:
    case yajl_gen_in_error_state:
    case yajl_gen_generation_complete:
    case yajl_gen_no_buf:
    default:
        return CQ_EINVAL;
    }
}


int cq__json_gen_strn(yajl_gen g, const char *s, size_t len)
{
    return gen_status(yajl_gen_string(g, (const unsigned char *)s, len));
}


int cq__json_gen_str(yajl_gen g, const char *s)
{
    return cq__json_gen_strn(g, s, strlen(s));
}


char *cq__json_gen_dup(yajl_gen g)
{
    const unsigned char *p;
    size_t n;
    char *s;

    if (yajl_gen_get_buf(g, &p, &n) != yajl_gen_status_ok)
        return NULL;
    s = malloc(n + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}


int cq__jw_init(cq__jw *w)
{
    w->g = cq__json_gen_new();
    w->err = w->g != NULL ? CQ_OK : CQ_ENOMEM;
    return w->err;
}


void cq__jw_free(cq__jw *w)
{
    if (w->g != NULL)
        yajl_gen_free(w->g);
    w->g = NULL;
}

char *cq__jw_dup(cq__jw *w, size_t *len)
{
    const unsigned char *p;
    size_t n;
    char *s;

    if (w->err != CQ_OK || yajl_gen_get_buf(w->g, &p, &n) != yajl_gen_status_ok)
        return NULL;
    s = malloc(n + 1);
    if (s == NULL)
        return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    if (len != NULL)
        *len = n;
    return s;
}


void cq__jw_latch(cq__jw *w, int rc)
{
    if (w->err == CQ_OK)
        w->err = rc;
}

/* Latches the first failure of a yajl_gen call. */
static void status(cq__jw *w, yajl_gen_status st)
{
    if (w->err == CQ_OK)
        w->err = gen_status(st);
}

void cq__jw_open(cq__jw *w)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_map_open(w->g));
}

void cq__jw_close(cq__jw *w)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_map_close(w->g));
}

void cq__jw_aopen(cq__jw *w)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_array_open(w->g));
}

void cq__jw_aclose(cq__jw *w)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_array_close(w->g));
}

void cq__jw_str(cq__jw *w, const char *s)
{
    if (w->err != CQ_OK)
        return;
    if (s == NULL)
        status(w, yajl_gen_null(w->g));
    else
        cq__jw_latch(w, cq__json_gen_str(w->g, s));
}

void cq__jw_int(cq__jw *w, int64_t v)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_integer(w->g, (long long)v));
}

void cq__jw_bool(cq__jw *w, int v)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_bool(w->g, v != 0));
}

void cq__jw_null(cq__jw *w)
{
    if (w->err == CQ_OK)
        status(w, yajl_gen_null(w->g));
}

int cq__json_gen_value(yajl_gen g, yajl_val v)
{
    size_t i;
    int rc;

    if (v == NULL)
        return gen_status(yajl_gen_null(g));
    switch (v->type) {
    case yajl_t_string:
        return cq__json_gen_str(g, v->u.string);
    case yajl_t_number:
        /*
         * The tree keeps each number's original text, which the parser has
         * already validated, so it can be written back unchanged: this keeps
         * ids above 2^63 and decimals exactly as received.
         */
        return gen_status(
            yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r)));
    case yajl_t_object:
        rc = gen_status(yajl_gen_map_open(g));
        for (i = 0; rc == CQ_OK && i < v->u.object.len; i++) {
            rc = cq__json_gen_str(g, v->u.object.keys[i]);
            if (rc == CQ_OK)
                rc = cq__json_gen_value(g, v->u.object.values[i]);
        }
        return rc == CQ_OK ? gen_status(yajl_gen_map_close(g)) : rc;
    case yajl_t_array:
        rc = gen_status(yajl_gen_array_open(g));
        for (i = 0; rc == CQ_OK && i < v->u.array.len; i++)
            rc = cq__json_gen_value(g, v->u.array.values[i]);
        return rc == CQ_OK ? gen_status(yajl_gen_array_close(g)) : rc;
    case yajl_t_true:
        return gen_status(yajl_gen_bool(g, 1));
    case yajl_t_false:
        return gen_status(yajl_gen_bool(g, 0));
    case yajl_t_null:
    case yajl_t_any:
    default:
        return gen_status(yajl_gen_null(g));
    }
}


void cq__jw_value(cq__jw *w, yajl_val v)
{
    if (w->err == CQ_OK)
        cq__jw_latch(w, cq__json_gen_value(w->g, v));
}

void cq__jw_key(cq__jw *w, const char *key)
{
    if (w->err == CQ_OK)
        cq__jw_latch(w, cq__json_gen_str(w->g, key));
}

void cq__jw_kstr(cq__jw *w, const char *key, const char *s)
{
    cq__jw_key(w, key);
    cq__jw_str(w, s);
}

void cq__jw_kint(cq__jw *w, const char *key, int64_t v)
{
    cq__jw_key(w, key);
    cq__jw_int(w, v);
}

void cq__jw_kbool(cq__jw *w, const char *key, int v)
{
    cq__jw_key(w, key);
    cq__jw_bool(w, v);
}

void cq__jw_knull(cq__jw *w, const char *key)
{
    cq__jw_key(w, key);
    cq__jw_null(w);
}
