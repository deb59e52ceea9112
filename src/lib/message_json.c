/*
 * Messages: the JSON array form, on the library's JSON layer (lib/json.h):
 * its pre-check and parser to read, the direct writer (lib/json_put.h) to
 * write.
 *
 * A non-string parameter value is kept as canonical JSON text (numbers as
 * their source text), checked when stored, and written back as it is.
 */
#include "config.h"

#include "lib/json.h"
#include "lib/json_put.h"
#include "lib/message.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Nesting level of a parameter value: array, segment, data, value. */
#define VALUE_LEVEL 4
/* The levels a parameter value may nest, itself included. */
#define VALUE_DEPTH (CQ_MSG_MAX_DEPTH - VALUE_LEVEL + 1)

/* The pre-check's depth error is a cap of this module: CQ_ETOOBIG. */
static int depth_is_cap(int rc)
{
    return rc == CQ_EDEPTH ? CQ_ETOOBIG : rc;
}


/* Returns 1 if v nests more than levels arrays and objects, itself
 * included. Recursion stops at levels, so a caller's tree of any depth is
 * safe to check. */
static int nests_deeper(const struct yajl_val_s *v, int levels)
{
    const yajl_val *kids;
    size_t i, n;

    if (v == NULL || (v->type != yajl_t_array && v->type != yajl_t_object))
        return 0;
    if (levels == 0)
        return 1;
    n = v->type == yajl_t_array ? v->u.array.len : v->u.object.len;
    kids = v->type == yajl_t_array ? v->u.array.values : v->u.object.values;
    for (i = 0; i < n; i++) {
        if (nests_deeper(kids[i], levels - 1))
            return 1;
    }
    return 0;
}


/* Sets key in seg to the canonical JSON text of v (not a string), as the
 * writer writes it. */
static int set_json(cq__msg_seg *seg, const char *key,
                    const struct yajl_val_s *v)
{
    cq__buf text;
    cq__jput w;
    int rc;

    if (nests_deeper(v, VALUE_DEPTH))
        return CQ_ETOOBIG;
    cq__buf_init(&text, SIZE_MAX / 2);
    cq__jput_init(&w, &text, NULL);
    rc = cq__json_put_value(&w, (yajl_val)v, 0);
    if (rc == CQ_OK)
        rc = cq__msg_seg_put(seg, strdup(key), cq__buf_detach(&text), 1);
    cq__buf_free(&text);
    return rc;
}


/* Appends the segment object v to m. */
static int seg_from_yajl(cq_msg *m, const struct yajl_val_s *v)
{
    const struct yajl_val_s *type = NULL, *data = NULL;
    cq__msg_seg seg = {0};
    size_t i;
    int rc = CQ_OK;

    if (v == NULL || v->type != yajl_t_object)
        return CQ_EPARSE;
    for (i = 0; i < v->u.object.len; i++) {
        if (strcmp(v->u.object.keys[i], "type") == 0)
            type = v->u.object.values[i];
        else if (strcmp(v->u.object.keys[i], "data") == 0)
            data = v->u.object.values[i];
    }
    if (type == NULL || type->type != yajl_t_string ||
        type->u.string[0] == '\0' ||
        (data != NULL && data->type != yajl_t_object &&
         data->type != yajl_t_null))
        return CQ_EPARSE;
    if ((seg.type = strdup(type->u.string)) == NULL)
        return CQ_ENOMEM;
    for (i = 0; data != NULL && data->type == yajl_t_object &&
                i < data->u.object.len && rc == CQ_OK;
         i++) {
        const char *k = data->u.object.keys[i];
        const struct yajl_val_s *val = data->u.object.values[i];

        if (val != NULL && val->type == yajl_t_string)
            rc = cq__msg_seg_set(&seg, k, val->u.string, strlen(val->u.string),
                                 0);
        else
            rc = set_json(&seg, k, val);
    }
    if (rc != CQ_OK) {
        cq__msg_seg_clear(&seg);
        return rc;
    }
    return cq__msg_push(m, &seg);
}


int cq__msg_from_yajl(cq_msg **out, yajl_val v)
{
    cq_msg *m;
    size_t i;
    int rc = CQ_OK;

    if (out != NULL)
        *out = NULL;
    if (out == NULL || v == NULL)
        return CQ_EINVAL;
    if (v->type == yajl_t_string)
        return cq_msg_parse_cq(out, v->u.string, strlen(v->u.string));
    if (v->type != yajl_t_array && v->type != yajl_t_object)
        return CQ_EPARSE;
    if (v->type == yajl_t_array && v->u.array.len > CQ_MSG_MAX_SEGS)
        return CQ_ETOOBIG;
    if ((m = cq_msg_new()) == NULL)
        return CQ_ENOMEM;
    if (v->type == yajl_t_object)
        rc = seg_from_yajl(m, v);
    for (i = 0; v->type == yajl_t_array && rc == CQ_OK && i < v->u.array.len;
         i++)
        rc = seg_from_yajl(m, v->u.array.values[i]);
    if (rc != CQ_OK) {
        cq_msg_free(m);
        return rc;
    }
    *out = m;
    return CQ_OK;
}


int cq_msg_from_json(cq_msg **out, const char *json, size_t len)
{
    yajl_val tree;
    char *buf;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (out == NULL || json == NULL)
        return CQ_EINVAL;
    if (len > CQ_MSG_MAX_BYTES)
        return CQ_ETOOBIG;
    /* The outer array's length before parsing: yajl's tree parser grows an
     * array one realloc() per member. Depth, NUL bytes and comments are
     * checked again by cq__json_parse(). */
    rc =
        cq__json_precheck_members(json, len, CQ_MSG_MAX_DEPTH, CQ_MSG_MAX_SEGS);
    if (rc != CQ_OK)
        return depth_is_cap(rc);
    /* The parser needs a terminating NUL that json need not have. */
    if ((buf = strndup(json, len)) == NULL)
        return CQ_ENOMEM;
    rc = cq__json_parse(&tree, buf, len, CQ_MSG_MAX_DEPTH);
    free(buf);
    if (rc != CQ_OK)
        return depth_is_cap(rc);
    rc = cq__msg_from_yajl(out, tree);
    yajl_tree_free(tree);
    return rc;
}


/*
 * Writes JSON text that this module stored (a value), depth containers
 * deep, through w, whose key for it was just written. The text is what the
 * writer wrote (set_json(), to_json_text()) and nests at most
 * VALUE_DEPTH levels, so it goes as it is, unparsed: parsing it and writing
 * the tree back gives the same bytes. Only where depth leaves less room than
 * that is its nesting counted, to refuse what the writer would refuse.
 */
static int put_json_text(cq__jput *w, const char *text, int depth)
{
    size_t len = strlen(text);

    if (depth + VALUE_DEPTH >= YAJL_MAX_DEPTH &&
        cq__json_precheck(text, len, YAJL_MAX_DEPTH - 1 - depth) != CQ_OK)
        return CQ_ETOOBIG;
    return cq__jput_add(w, text, len);
}


/* The literal start of a segment: its type's key. */
#define SEG_OPEN "{\"type\":"
/* Between a segment's type and its parameters. */
#define SEG_DATA ",\"data\":{"

/* Appends segment seg (one of a message depth containers deep) through w. */
static int put_seg(cq__jput *w, const cq__msg_seg *seg, int depth)
{
    size_t j;
    int rc = cq__jput_add(w, SEG_OPEN, sizeof(SEG_OPEN) - 1);

    if (rc == CQ_OK)
        rc = cq__json_put_str(w, seg->type);
    if (rc == CQ_OK)
        rc = cq__jput_add(w, SEG_DATA, sizeof(SEG_DATA) - 1);
    for (j = 0; rc == CQ_OK && j < seg->nparams; j++) {
        const cq__msg_param *p = &seg->params[j];

        rc = cq__json_put_key(w, j > 0 ? ',' : '\0', p->key);
        if (rc == CQ_OK)
            rc = p->is_json ? put_json_text(w, p->val, depth + 2)
                            : cq__json_put_str(w, p->val);
    }
    return rc == CQ_OK ? cq__jput_add(w, "}}", 2) : rc;
}


int cq__msg_put(cq__jput *w, const cq_msg *m, int depth)
{
    size_t i, n = cq_msg_count(m);
    int rc;

    /* The array, a segment and its data: yajl_gen refuses the 128th. */
    if (depth + (n > 0 ? 3 : 1) >= YAJL_MAX_DEPTH)
        return CQ_ETOOBIG;
    rc = cq__jput_add(w, "[", 1);
    for (i = 0; rc == CQ_OK && i < n; i++) {
        if (i > 0)
            rc = cq__jput_add(w, ",", 1);
        if (rc == CQ_OK)
            rc = put_seg(w, &m->segs[i], depth + 1);
    }
    return rc == CQ_OK ? cq__jput_add(w, "]", 1) : rc;
}


/* Stores m's JSON text in out, reset first (out's cap: SIZE_MAX / 2). */
static int put_text(const cq_msg *m, cq__buf *out)
{
    cq__jput w;

    cq__buf_init(out, SIZE_MAX / 2);
    cq__jput_init(&w, out, NULL);
    return cq__msg_put(&w, m, 0);
}


/* Stores m as a JSON array string in *out (caller frees). */
static int to_json_text(const cq_msg *m, char **out)
{
    cq__buf text;
    int rc = put_text(m, &text);

    *out = NULL;
    if (rc == CQ_OK && (*out = cq__buf_detach(&text)) == NULL)
        rc = CQ_ENOMEM;
    cq__buf_free(&text);
    return rc;
}


char *cq_msg_to_json_string(const cq_msg *m)
{
    char *s;

    to_json_text(m, &s);
    return s;
}


static int add_node_custom(cq_msg *m, int64_t user_id, const char *nickname,
                           const cq_msg *content)
{
    cq__msg_seg seg = {0};
    char uid[24], *json;
    int rc;

    if (m == NULL || nickname == NULL || content == NULL)
        return CQ_EINVAL;
    if ((rc = to_json_text(content, &json)) != CQ_OK)
        return rc;
    /* The content is a value: it may nest only as deep as a value may. */
    rc = depth_is_cap(cq__json_precheck(json, strlen(json), VALUE_DEPTH));
    snprintf(uid, sizeof(uid), "%" PRId64, user_id);
    if (rc == CQ_OK && (seg.type = strdup("node")) == NULL)
        rc = CQ_ENOMEM;
    if (rc == CQ_OK)
        rc = cq__msg_seg_set(&seg, "user_id", uid, strlen(uid), 0);
    if (rc == CQ_OK)
        rc = cq__msg_seg_set(&seg, "nickname", nickname, strlen(nickname), 0);
    if (rc == CQ_OK)
        rc = cq__msg_seg_put(&seg, strdup("content"), json, 1);
    else
        free(json);
    if (rc != CQ_OK) {
        cq__msg_seg_clear(&seg);
        return rc;
    }
    return cq__msg_push(m, &seg);
}


int cq_msg_add_node_custom(cq_msg *m, int64_t user_id, const char *nickname,
                           const cq_msg *content)
{
    return cq__msg_latch(m, add_node_custom(m, user_id, nickname, content));
}


int cq_msg_from_value(cq_msg **out, const cq_value *v)
{
    return cq__msg_from_yajl(out, cq__yv(v));
}
