/*
 * Messages: the JSON array form, read with yajl_tree and written with
 * yajl_gen.
 *
 * A non-string parameter value is kept as canonical JSON text (yajl_gen's
 * output, numbers as their source text) and written back by parsing that
 * text again, so that every byte reaching a caller's generator goes through
 * yajl_gen's checks; yajl_gen_number only ever sees number text that yajl's
 * own lexer accepted.
 */
#include "config.h"

#include "lib/json.h"
#include "lib/message.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

/* Nesting level of a parameter value: array, segment, data, value. */
#define VALUE_LEVEL 4

int cq__msg_json_scan(const char *s, size_t len, int max_depth,
                      size_t max_items)
{
    size_t i, items = 1;
    int depth = 0, in_str = 0;

    for (i = 0; i < len; i++) {
        char c = s[i];

        if (in_str) {
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                in_str = 0;
            }
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) {
                return CQ_ETOOBIG;
            }
        } else if (c == ']' || c == '}') {
            depth -= depth > 0;
        } else if (c == ',' && depth == 1 && ++items > max_items) {
            return CQ_ETOOBIG;
        } else if (c == '/') {
            /* Outside a string '/' only starts a comment, which
             * yajl_tree_parse() would accept. */
            return CQ_EPARSE;
        }
    }
    return CQ_OK;
}

static int gen_rc(yajl_gen_status s)
{
    if (s == yajl_gen_status_ok) {
        return CQ_OK;
    }
    return s == yajl_max_depth_exceeded ? CQ_ETOOBIG : CQ_EINVAL;
}

static int gen_str(yajl_gen g, const char *s)
{
    return gen_rc(yajl_gen_string(g, (const unsigned char *)s, strlen(s)));
}

/* Writes v, a container at nesting level depth, into g. */
static int gen_tree(yajl_gen g, const struct yajl_val_s *v, int depth)
{
    size_t i, n;
    int rc;

    if (v == NULL) {
        return CQ_EPARSE;
    }
    switch (v->type) {
    case yajl_t_string:
        return gen_str(g, v->u.string);
    case yajl_t_number:
        return gen_rc(yajl_gen_number(g, v->u.number.r, strlen(v->u.number.r)));
    case yajl_t_true:
    case yajl_t_false:
        return gen_rc(yajl_gen_bool(g, v->type == yajl_t_true));
    case yajl_t_null:
        return gen_rc(yajl_gen_null(g));
    case yajl_t_object:
    case yajl_t_array:
        break;
    default:
        return CQ_EPARSE;
    }
    if (depth > CQ_MSG_MAX_DEPTH) {
        return CQ_ETOOBIG;
    }
    if (v->type == yajl_t_array) {
        n = v->u.array.len;
        rc = gen_rc(yajl_gen_array_open(g));
        for (i = 0; rc == CQ_OK && i < n; i++) {
            rc = gen_tree(g, v->u.array.values[i], depth + 1);
        }
        return rc == CQ_OK ? gen_rc(yajl_gen_array_close(g)) : rc;
    }
    n = v->u.object.len;
    rc = gen_rc(yajl_gen_map_open(g));
    for (i = 0; rc == CQ_OK && i < n; i++) {
        if ((rc = gen_str(g, v->u.object.keys[i])) == CQ_OK) {
            rc = gen_tree(g, v->u.object.values[i], depth + 1);
        }
    }
    return rc == CQ_OK ? gen_rc(yajl_gen_map_close(g)) : rc;
}

static yajl_gen new_gen(void)
{
    yajl_gen g = yajl_gen_alloc(NULL);

    if (g != NULL && !yajl_gen_config(g, yajl_gen_validate_utf8, 1)) {
        yajl_gen_free(g);
        g = NULL;
    }
    return g;
}

/* Sets key in seg to the canonical JSON text of v (not a string). */
static int set_json(cq__msg_seg *seg, const char *key,
                    const struct yajl_val_s *v)
{
    const unsigned char *buf;
    size_t len;
    yajl_gen g = new_gen();
    int rc;

    if (g == NULL) {
        return CQ_ENOMEM;
    }
    rc = gen_tree(g, v, VALUE_LEVEL);
    if (rc == CQ_OK) {
        rc = gen_rc(yajl_gen_get_buf(g, &buf, &len));
    }
    if (rc == CQ_OK) {
        rc = cq__msg_seg_set(seg, key, (const char *)buf, len, 1);
    }
    yajl_gen_free(g);
    return rc;
}

/* Appends the segment object v to m. */
static int seg_from_yajl(cq_msg *m, const struct yajl_val_s *v)
{
    const struct yajl_val_s *type = NULL, *data = NULL;
    cq__msg_seg seg = {0};
    size_t i;
    int rc = CQ_OK;

    if (v == NULL || v->type != yajl_t_object) {
        return CQ_EPARSE;
    }
    for (i = 0; i < v->u.object.len; i++) {
        if (strcmp(v->u.object.keys[i], "type") == 0) {
            type = v->u.object.values[i];
        } else if (strcmp(v->u.object.keys[i], "data") == 0) {
            data = v->u.object.values[i];
        }
    }
    if (type == NULL || type->type != yajl_t_string ||
        type->u.string[0] == '\0' ||
        (data != NULL && data->type != yajl_t_object &&
         data->type != yajl_t_null)) {
        return CQ_EPARSE;
    }
    if ((seg.type = strdup(type->u.string)) == NULL) {
        return CQ_ENOMEM;
    }
    for (i = 0; data != NULL && data->type == yajl_t_object &&
                i < data->u.object.len && rc == CQ_OK;
         i++) {
        const char *k = data->u.object.keys[i];
        const struct yajl_val_s *val = data->u.object.values[i];

        if (val != NULL && val->type == yajl_t_string) {
            rc = cq__msg_seg_set(&seg, k, val->u.string, strlen(val->u.string),
                                 0);
        } else {
            rc = set_json(&seg, k, val);
        }
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

    if (out != NULL) {
        *out = NULL;
    }
    if (out == NULL || v == NULL) {
        return CQ_EINVAL;
    }
    if (v->type == yajl_t_string) {
        return cq_msg_parse_cq(out, v->u.string, strlen(v->u.string));
    }
    if (v->type != yajl_t_array && v->type != yajl_t_object) {
        return CQ_EPARSE;
    }
    if (v->type == yajl_t_array && v->u.array.len > CQ_MSG_MAX_SEGS) {
        return CQ_ETOOBIG;
    }
    if ((m = cq_msg_new()) == NULL) {
        return CQ_ENOMEM;
    }
    if (v->type == yajl_t_object) {
        rc = seg_from_yajl(m, v);
    }
    for (i = 0; v->type == yajl_t_array && rc == CQ_OK && i < v->u.array.len;
         i++) {
        rc = seg_from_yajl(m, v->u.array.values[i]);
    }
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
    char *buf, err[128];
    int rc;

    if (out != NULL) {
        *out = NULL;
    }
    if (out == NULL || json == NULL) {
        return CQ_EINVAL;
    }
    if (len > CQ_MSG_MAX_BYTES) {
        return CQ_ETOOBIG;
    }
    if (len > 0 && memchr(json, '\0', len) != NULL) {
        return CQ_EPARSE;
    }
    /* Depth and size first: yajl's parser has no depth limit, its tree is
     * freed recursively, and it grows an array one element per realloc(). */
    if ((rc = cq__msg_json_scan(json, len, CQ_MSG_MAX_DEPTH,
                                CQ_MSG_MAX_SEGS)) != CQ_OK) {
        return rc;
    }
    if ((buf = malloc(len + 1)) == NULL) {
        return CQ_ENOMEM;
    }
    memcpy(buf, json, len);
    buf[len] = '\0';
    tree = yajl_tree_parse(buf, err, sizeof(err));
    free(buf);
    if (tree == NULL) {
        return CQ_EPARSE;
    }
    rc = cq__msg_from_yajl(out, tree);
    yajl_tree_free(tree);
    return rc;
}

/* Writes JSON text that this module produced into g. */
static int gen_json_text(yajl_gen g, const char *text)
{
    char err[128];
    yajl_val v = yajl_tree_parse(text, err, sizeof(err));
    int rc;

    if (v == NULL) {
        /* The text was valid when stored: only memory can fail. */
        return CQ_ENOMEM;
    }
    rc = gen_tree(g, v, VALUE_LEVEL);
    yajl_tree_free(v);
    return rc;
}

int cq__msg_to_json(const cq_msg *m, yajl_gen g)
{
    size_t i, j, n = cq_msg_count(m);
    int rc;

    if (g == NULL) {
        return CQ_EINVAL;
    }
    rc = gen_rc(yajl_gen_array_open(g));
    for (i = 0; rc == CQ_OK && i < n; i++) {
        const cq__msg_seg *seg = &m->segs[i];

        if ((rc = gen_rc(yajl_gen_map_open(g))) != CQ_OK ||
            (rc = gen_str(g, "type")) != CQ_OK ||
            (rc = gen_str(g, seg->type)) != CQ_OK ||
            (rc = gen_str(g, "data")) != CQ_OK ||
            (rc = gen_rc(yajl_gen_map_open(g))) != CQ_OK) {
            return rc;
        }
        for (j = 0; rc == CQ_OK && j < seg->nparams; j++) {
            const cq__msg_param *p = &seg->params[j];

            if ((rc = gen_str(g, p->key)) == CQ_OK) {
                rc = p->is_json ? gen_json_text(g, p->val) : gen_str(g, p->val);
            }
        }
        if (rc == CQ_OK && (rc = gen_rc(yajl_gen_map_close(g))) == CQ_OK) {
            rc = gen_rc(yajl_gen_map_close(g));
        }
    }
    return rc == CQ_OK ? gen_rc(yajl_gen_array_close(g)) : rc;
}

/* Stores m as a JSON array string in *out (caller frees). */
static int to_json_text(const cq_msg *m, char **out)
{
    const unsigned char *buf;
    size_t len;
    yajl_gen g = new_gen();
    int rc;

    *out = NULL;
    if (g == NULL) {
        return CQ_ENOMEM;
    }
    rc = cq__msg_to_json(m, g);
    if (rc == CQ_OK) {
        rc = gen_rc(yajl_gen_get_buf(g, &buf, &len));
    }
    if (rc == CQ_OK && (*out = malloc(len + 1)) == NULL) {
        rc = CQ_ENOMEM;
    }
    if (rc == CQ_OK) {
        memcpy(*out, buf, len);
        (*out)[len] = '\0';
    }
    yajl_gen_free(g);
    return rc;
}

char *cq_msg_to_json_string(const cq_msg *m)
{
    char *s;

    to_json_text(m, &s);
    return s;
}

int cq_msg_add_node_custom(cq_msg *m, int64_t user_id, const char *nickname,
                           const cq_msg *content)
{
    cq__msg_seg seg = {0};
    char uid[24], *json;
    int rc;

    if (m == NULL || nickname == NULL || content == NULL) {
        return CQ_EINVAL;
    }
    if ((rc = to_json_text(content, &json)) != CQ_OK) {
        return rc;
    }
    /* The content is a value: it may nest only as deep as a value may. */
    rc = cq__msg_json_scan(json, strlen(json),
                           CQ_MSG_MAX_DEPTH - VALUE_LEVEL + 1, SIZE_MAX);
    snprintf(uid, sizeof(uid), "%" PRId64, user_id);
    if (rc == CQ_OK && (seg.type = strdup("node")) == NULL) {
        rc = CQ_ENOMEM;
    }
    if (rc == CQ_OK) {
        rc = cq__msg_seg_set(&seg, "user_id", uid, strlen(uid), 0);
    }
    if (rc == CQ_OK) {
        rc = cq__msg_seg_set(&seg, "nickname", nickname, strlen(nickname), 0);
    }
    if (rc == CQ_OK) {
        rc = cq__msg_seg_set(&seg, "content", json, strlen(json), 1);
    }
    free(json);
    if (rc != CQ_OK) {
        cq__msg_seg_clear(&seg);
        return rc;
    }
    return cq__msg_push(m, &seg);
}


int cq_msg_from_value(cq_msg **out, const cq_value *v)
{
    return cq__msg_from_yajl(out, cq__yv(v));
}
