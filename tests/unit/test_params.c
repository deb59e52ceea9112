#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/actions.h"
#include "test.h"

static char *finish(cq_params *p, int *rc)
{
    char *json = cq__params_json(p, rc);

    cq_params_free(p);
    return json;
}


T_CASE(builder_kinds)
{
    cq_params *p = cq_params_new();
    cq_msg *m = NULL;
    char *json;
    int rc;

    T_CHECK(p != NULL);
    T_EQ_INT(cq_msg_parse_cq(&m, "x[CQ:face,id=1]", 15), CQ_OK);
    cq_params_int(p, "group_id", 3096407768LL);
    cq_params_int(p, "neg", -5);
    cq_params_bool(p, "enable", 7);
    cq_params_string(p, "card", "名片 \"q\"");
    cq_params_msg(p, "message", m);
    cq_params_json(p, "anonymous", "{\"id\":1,\"flag\":\"f\"}");
    json = finish(p, &rc);
    cq_msg_free(m);
    T_EQ_INT(rc, CQ_OK);
    T_EQ_STR(json, "{\"group_id\":3096407768,\"neg\":-5,\"enable\":true,"
                   "\"card\":\"名片 \\\"q\\\"\",\"message\":[{\"type\":"
                   "\"text\",\"data\":{\"text\":\"x\"}},{\"type\":\"face\","
                   "\"data\":{\"id\":\"1\"}}],\"anonymous\":{\"id\":1,"
                   "\"flag\":\"f\"}}");
    free(json);
}


/* The first error latches; later fields are ignored. */
T_CASE(builder_latches)
{
    cq_params *p = cq_params_new();
    char *json;
    int rc;

    T_EQ_INT(cq_params_int(p, "a", 1), CQ_OK);
    T_EQ_INT(cq_params_string(p, "b", "\xff"), CQ_EINVAL);
    T_EQ_INT(cq_params_int(p, "c", 2), CQ_EINVAL);
    json = finish(p, &rc);
    T_CHECK(json == NULL);
    T_EQ_INT(rc, CQ_EINVAL);
    p = cq_params_new();
    T_EQ_INT(cq_params_json(p, "j", "{\"a\":"), CQ_EINVAL);
    json = finish(p, &rc);
    T_CHECK(json == NULL);
    p = cq_params_new();
    T_EQ_INT(cq_params_msg(p, "message", NULL), CQ_EINVAL);
    cq_params_free(p);
    T_EQ_INT(cq_params_int(NULL, "a", 1), CQ_ENOMEM);
    T_EQ_INT(cq_call_params(NULL, "get_status", NULL, NULL), CQ_ENOMEM);
}


T_CASE(empty_object_and_no_api)
{
    cq_params *p = cq_params_new();
    cq_result r;

    T_EQ_INT(cq_call_params(NULL, "get_status", p, &r), CQ_ENOAPI);
    cq_result_free(&r);
    /* Calling again with the same params is fine, and they may grow. */
    T_EQ_INT(cq_call_params(NULL, "get_status", p, NULL), CQ_ENOAPI);
    T_EQ_INT(cq_params_int(p, "a", 1), CQ_OK);
    cq_params_free(p);
}


/* The text handed to a call is closed; the builder stays open. */
T_CASE(params_stay_open_after_a_call)
{
    cq_params *p = cq_params_new();
    char *json;
    int rc;

    json = cq__params_json(p, &rc);
    T_EQ_STR(json, "{}");
    free(json);
    T_EQ_INT(cq_params_int(p, "a", 1), CQ_OK);
    json = cq__params_json(p, &rc);
    T_EQ_STR(json, "{\"a\":1}");
    free(json);
    T_EQ_INT(cq_params_string(p, "b", "x"), CQ_OK);
    json = cq__params_json(p, &rc);
    T_EQ_INT(rc, CQ_OK);
    T_EQ_STR(json, "{\"a\":1,\"b\":\"x\"}");
    free(json);
    cq_params_free(p);
}


/* Every action is unique, a valid name, and found by name. */
T_CASE(action_table)
{
    size_t i, j;

    T_CHECK(cq__nactions >= 40);
    for (i = 0; i < cq__nactions; i++) {
        const char *n = cq__actions[i].name;

        T_CHECK(strspn(n, "abcdefghijklmnopqrstuvwxyz_.") == strlen(n));
        T_CHECK(cq__action_find(n) == &cq__actions[i]);
        for (j = 0; j < cq__actions[i].nparams; j++)
            T_CHECK(cq__actions[i].params[j].name != NULL);
    }
    T_CHECK(cq__action_find("send_private_msg")->nparams == 3);
    T_CHECK(cq__action_find(".handle_quick_operation") != NULL);
    T_CHECK(cq__action_find("no_such_action") == NULL);
}


/* A wrapper refuses a NULL required message before any transport. */
T_CASE(wrapper_checks_required)
{
    cq_result r;

    T_EQ_INT(cq_send_group_msg(NULL, 1, NULL, CQ_OMIT_BOOL, &r), CQ_EINVAL);
    T_CHECK(strstr(r.detail, "send_group_msg") != NULL);
    cq_result_free(&r);
    T_EQ_INT(cq_get_forward_msg(NULL, NULL, NULL), CQ_EINVAL);
    T_EQ_INT(cq_get_status(NULL, NULL), CQ_ENOAPI);
}


T_SUITE(test_params_cases) = {
    {"params/builder_kinds", builder_kinds},
    {"params/builder_latches", builder_latches},
    {"params/empty_object_and_no_api", empty_object_and_no_api},
    {"params/stay_open_after_a_call", params_stay_open_after_a_call},
    {"params/action_table", action_table},
    {"params/wrapper_checks_required", wrapper_checks_required},
    {NULL, NULL},
};
