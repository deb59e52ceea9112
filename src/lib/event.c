#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/buf.h"
#include "lib/event.h"
#include "lib/json.h"

static const char *field_string(yajl_val root, const char *key)
{
    const char *path[2] = {key, NULL};

    return YAJL_GET_STRING(yajl_tree_get(root, path, yajl_t_string));
}


/* Builds "post_type[.detail[.sub]]"; returns CQ_OK or CQ_ENOMEM. */
static int make_name(cq_event *e)
{
    cq__buf b;
    int rc;

    cq__buf_init(&b, 4096);
    rc = cq__buf_addstr(&b, e->post_type);
    if (rc == CQ_OK && e->detail_type != NULL) {
        rc = cq__buf_printf(&b, ".%s", e->detail_type);
        if (rc == CQ_OK && e->sub_type != NULL)
            rc = cq__buf_printf(&b, ".%s", e->sub_type);
    }
    if (rc != CQ_OK)
        return rc == CQ_ETOOBIG ? CQ_EPARSE : rc;
    e->name = cq__buf_detach(&b);
    return CQ_OK;
}


int cq_event_parse(cq_event **ev, const char *buf, size_t len, int max_depth)
{
    cq_event *e;
    char type_key[64];
    int rc;

    *ev = NULL;
    if (buf == NULL)
        return CQ_EPARSE;
    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return CQ_ENOMEM;
    e->raw = malloc(len + 1);
    if (e->raw == NULL) {
        free(e);
        return CQ_ENOMEM;
    }
    memcpy(e->raw, buf, len);
    e->raw[len] = '\0';
    e->raw_len = len;
    rc = cq__json_parse(&e->root, e->raw, len,
                        max_depth > 0 ? max_depth : CQ_JSON_MAX_DEPTH);
    if (rc == CQ_OK && !YAJL_IS_OBJECT(e->root))
        rc = CQ_EPARSE;
    if (rc == CQ_OK) {
        e->post_type = field_string(e->root, "post_type");
        if (e->post_type == NULL || e->post_type[0] == '\0')
            rc = CQ_ENOTYPE;
    }
    if (rc == CQ_OK) {
        if (strlen(e->post_type) < sizeof(type_key) - 5) {
            snprintf(type_key, sizeof(type_key), "%s_type", e->post_type);
            e->detail_type = field_string(e->root, type_key);
        }
        if (e->detail_type != NULL && e->detail_type[0] == '\0')
            e->detail_type = NULL;
        e->sub_type = field_string(e->root, "sub_type");
        if (e->sub_type != NULL && e->sub_type[0] == '\0')
            e->sub_type = NULL;
        rc = make_name(e);
    }
    if (rc != CQ_OK) {
        cq_event_free(e);
        return rc;
    }
    *ev = e;
    return CQ_OK;
}


void cq_event_free(cq_event *e)
{
    if (e == NULL)
        return;
    yajl_tree_free(e->root);
    free(e->raw);
    free(e->name);
    free(e);
}


const cq_value *cq_event_root(const cq_event *e)
{
    return cq__cv(e->root);
}


const cq_value *cq_event_get(const cq_event *e, const char *path)
{
    return cq_value_get(cq__cv(e->root), path);
}


const char *cq_event_raw(const cq_event *e, size_t *len)
{
    if (len != NULL)
        *len = e->raw_len;
    return e->raw;
}


const char *cq_event_post_type(const cq_event *e)
{
    return e->post_type;
}


const char *cq_event_detail_type(const cq_event *e)
{
    return e->detail_type;
}


const char *cq_event_sub_type(const cq_event *e)
{
    return e->sub_type;
}


const char *cq_event_name(const cq_event *e)
{
    return e->name;
}


int cq_event_int(const cq_event *e, const char *path, int64_t *out)
{
    return cq_value_int(cq_value_get(cq__cv(e->root), path), out);
}


static int64_t int_or_zero(const cq_event *e, const char *key)
{
    int64_t v;

    return cq_event_int(e, key, &v) == CQ_OK ? v : 0;
}


int64_t cq_event_self_id(const cq_event *e)
{
    return int_or_zero(e, "self_id");
}


int64_t cq_event_user_id(const cq_event *e)
{
    return int_or_zero(e, "user_id");
}


int64_t cq_event_group_id(const cq_event *e)
{
    return int_or_zero(e, "group_id");
}


int64_t cq_event_message_id(const cq_event *e)
{
    return int_or_zero(e, "message_id");
}


int64_t cq_event_time(const cq_event *e)
{
    return int_or_zero(e, "time");
}


const char *cq_event_string(const cq_event *e, const char *path)
{
    return cq_value_string(cq_value_get(cq__cv(e->root), path));
}


const cq_value *cq_event_message(const cq_event *e)
{
    return cq_value_get(cq__cv(e->root), "message");
}


const char *cq_event_raw_message(const cq_event *e)
{
    return cq_event_string(e, "raw_message");
}


const char *cq_event_flag(const cq_event *e)
{
    return cq_event_string(e, "flag");
}
