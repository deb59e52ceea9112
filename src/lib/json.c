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
            if (ch == '\\')
                i++; /* The escaped byte cannot end the string. */
            else if (ch == '"')
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
    return g;
}


static int gen_status(yajl_gen_status st)
{
    switch (st) {
    case yajl_gen_status_ok:
        return CQ_OK;
    case yajl_gen_invalid_string:
    case yajl_gen_invalid_number:
    case yajl_gen_keys_must_be_strings:
    case yajl_max_depth_exceeded:
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
