/*
 * serve_check: the parameter checks of "cqhttp-sim serve", driven by the
 * action table generated from src/lib/actions.tbl.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cqhttp.h"
#include "lib/actions.h"
#include "sim/serve.h"

/* Names OneBot implementations accept in place of the table's. */
static const struct {
    const char *action, *param, *alias;
} aliases[] = {
    {"set_group_add_request", "sub_type", "type"},
    {"set_group_anonymous_ban", "anonymous_flag", "flag"},
};

static yajl_val find(const cq__action *a, yajl_val params, const char *name)
{
    yajl_val v = cq__sim_param(params, name);
    size_t i;

    for (i = 0; v == NULL && i < sizeof(aliases) / sizeof(aliases[0]); i++)
        if (strcmp(aliases[i].action, a->name) == 0 &&
            strcmp(aliases[i].param, name) == 0)
            v = cq__sim_param(params, aliases[i].alias);
    return v;
}

static int is_bool(yajl_val v)
{
    static const char *const words[] = {"true", "false", "1", "0", "yes", "no"};
    int64_t n;
    size_t i;

    if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v))
        return 1;
    if (YAJL_IS_INTEGER(v))
        return cq_value_int(cq__cv(v), &n) == CQ_OK && (n == 0 || n == 1);
    if (!YAJL_IS_STRING(v))
        return 0;
    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcasecmp(v->u.string, words[i]) == 0)
            return 1;
    return 0;
}

static int is_message(yajl_val v)
{
    cq_msg *m = NULL;
    int rc;

    if (YAJL_IS_STRING(v))
        rc = cq_msg_parse_cq(&m, v->u.string, strlen(v->u.string));
    else if (YAJL_IS_ARRAY(v) || YAJL_IS_OBJECT(v))
        rc = cq_msg_from_value(&m, cq__cv(v));
    else
        rc = CQ_EINVAL;
    cq_msg_free(m);
    return rc == CQ_OK;
}

/* Returns NULL when v fits kind, else what it should have been. */
static const char *type_error(yajl_val v, enum cq__param_kind kind)
{
    int64_t n;

    switch (kind) {
    case CQ__P_I64:
        return cq_value_int(cq__cv(v), &n) == CQ_OK ? NULL : "an integer";
    case CQ__P_BOOL:
        return is_bool(v) ? NULL : "a boolean (true, false, 1, 0, yes, no)";
    case CQ__P_STR:
        return YAJL_IS_STRING(v) || YAJL_IS_NUMBER(v) ? NULL : "a string";
    case CQ__P_MSG:
        return is_message(v) ? NULL
                             : "a message (CQ code, a segment or an array "
                               "of segments)";
    case CQ__P_JSON:
    default:
        return NULL;
    }
}

/* send_msg names its target by message_type or by which id it gives. */
static int check_send_msg(yajl_val params, char *msg, size_t msglen)
{
    const char *type = YAJL_GET_STRING(cq__sim_param(params, "message_type"));
    static const char *const kinds[][2] = {{"private", "user_id"},
                                           {"group", "group_id"},
                                           {"discuss", "discuss_id"}};
    size_t i;

    for (i = 0; type != NULL && i < 3; i++) {
        if (strcmp(type, kinds[i][0]) != 0)
            continue;
        if (cq__sim_param(params, kinds[i][1]) != NULL)
            return CQ_OK;
        snprintf(msg, msglen, "message_type %s needs %s", type, kinds[i][1]);
        return CQ_EINVAL;
    }
    if (type != NULL) {
        snprintf(msg, msglen,
                 "message_type must be private, group or "
                 "discuss");
        return CQ_EINVAL;
    }
    for (i = 0; i < 3; i++)
        if (cq__sim_param(params, kinds[i][1]) != NULL)
            return CQ_OK;
    snprintf(msg, msglen, "send_msg needs user_id, group_id or discuss_id");
    return CQ_EINVAL;
}

int cq__sim_check_params(const cq__action *a, yajl_val params, char *msg,
                         size_t msglen)
{
    size_t i;

    for (i = 0; i < a->nparams; i++) {
        const cq__action_param *p = &a->params[i];
        yajl_val v = find(a, params, p->name);
        const char *want;

        if (v == NULL) {
            if (p->optional)
                continue;
            snprintf(msg, msglen, "missing parameter %s", p->name);
            return CQ_EINVAL;
        }
        want = type_error(v, p->kind);
        if (want != NULL) {
            snprintf(msg, msglen, "parameter %s must be %s", p->name, want);
            return CQ_EINVAL;
        }
    }
    if (strcmp(a->name, "send_msg") == 0)
        return check_send_msg(params, msg, msglen);
    if (strcmp(a->name, "set_group_anonymous_ban") == 0 &&
        cq__sim_param(params, "anonymous") == NULL &&
        find(a, params, "anonymous_flag") == NULL) {
        snprintf(msg, msglen,
                 "set_group_anonymous_ban needs anonymous or "
                 "anonymous_flag");
        return CQ_EINVAL;
    }
    return CQ_OK;
}
