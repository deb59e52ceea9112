#include "config.h"

#include <string.h>

#include "cqhttp.h"
#include "lib/json_put.h"

int cq__json_put_str(cq__buf *out, const char *s)
{
    int rc = cq__buf_add(out, "\"", 1);

    if (rc == CQ_OK)
        rc = cq__json_escape(out, s, strlen(s));
    return rc == CQ_OK ? cq__buf_add(out, "\"", 1) : rc;
}


int cq__json_put_int(cq__buf *out, int64_t v)
{
    int rc = CQ_OK;

    /* The magnitude as unsigned: INT64_MIN has no positive int64_t. */
    if (v < 0)
        rc = cq__buf_add(out, "-", 1);
    return rc == CQ_OK
               ? cq__buf_add_uint(out, v < 0 ? 0 - (uint64_t)v : (uint64_t)v)
               : rc;
}


/* Appends the members of object v, or the elements of array v, between
 * open and close (a bracket each). */
static int put_container(cq__buf *out, yajl_val v, int depth, char open,
                         char close)
{
    int is_obj = v->type == yajl_t_object;
    size_t i, n = is_obj ? v->u.object.len : v->u.array.len;
    int rc;

    /* yajl_gen counts the container it opens and refuses the 128th level. */
    if (depth + 1 >= YAJL_MAX_DEPTH)
        return CQ_EDEPTH;
    rc = cq__buf_add(out, &open, 1);
    for (i = 0; rc == CQ_OK && i < n; i++) {
        if (i > 0)
            rc = cq__buf_add(out, ",", 1);
        if (rc == CQ_OK && is_obj) {
            rc = cq__json_put_str(out, v->u.object.keys[i]);
            if (rc == CQ_OK)
                rc = cq__buf_add(out, ":", 1);
        }
        if (rc == CQ_OK)
            rc = cq__json_put_value(
                out, is_obj ? v->u.object.values[i] : v->u.array.values[i],
                depth + 1);
    }
    return rc == CQ_OK ? cq__buf_add(out, &close, 1) : rc;
}


int cq__json_put_value(cq__buf *out, yajl_val v, int depth)
{
    if (v == NULL)
        return cq__buf_add(out, "null", 4);
    switch (v->type) {
    case yajl_t_string:
        return cq__json_put_str(out, v->u.string);
    case yajl_t_number:
        /* Its text as received, as cq__json_gen_value() writes it. */
        return cq__buf_addstr(out, v->u.number.r);
    case yajl_t_object:
        return put_container(out, v, depth, '{', '}');
    case yajl_t_array:
        return put_container(out, v, depth, '[', ']');
    case yajl_t_true:
        return cq__buf_add(out, "true", 4);
    case yajl_t_false:
        return cq__buf_add(out, "false", 5);
    case yajl_t_null:
    case yajl_t_any:
    default:
        return cq__buf_add(out, "null", 4);
    }
}
