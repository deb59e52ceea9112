#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/actions.h"
#include "lib/conf.h"
#include "lib/json.h"
#include "lib/sched.h"
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


/*
 * Fills p with every kind of field the builder takes, with the strings that
 * JSON escapes (quotes, backslashes, control bytes), non-ASCII text, long
 * plain stretches, nested values and numbers at their limits.
 */
static void fill_all_kinds(cq_params *p, const cq_msg *m)
{
    cq_params_string(p, "ctl",
                     "a\x01"
                     "b\nc\td\"e\\f/g\x1f\x7f\r\b\f");
    cq_params_string(p, "zh", "你好呀，下面一条😀");
    cq_params_string(p, "k\"ey\n\xe9\x94\xae", "");
    cq_params_string(p, "long",
                     "0123456789abcdefghijklmnopqrstuvwxyz"
                     "0123456789abcdefghijklmnopqrstuv\"wxyz"
                     "0123456789abcdefghijkl\xc3\xa9mnopqrstuvwxyz");
    cq_params_int(p, "min", INT64_MIN);
    cq_params_int(p, "max", INT64_MAX);
    cq_params_int(p, "zero", 0);
    cq_params_bool(p, "t", 1);
    cq_params_bool(p, "f", 0);
    cq_params_json(p, "nested",
                   "{\"a\":[1,-2.5e10,true,false,null,\"x\\u00e9\\n\","
                   "{\"b\":{}}],\"c\":[],\"\\\"q\":\"\\/\"}");
    cq_params_json(p, "big", "18446744073709551615");
    cq_params_json(p, "nil", "null");
    cq_params_msg(p, "message", m);
}


/* What the builder wrote before it escaped strings itself, byte for byte. */
static const char all_kinds_json[] =
    "{\"ctl\":\"a\\u0001b\\nc\\td\\\"e\\\\f/g\\u001F\x7f\\r\\b\\f\","
    "\"zh\":\"你好呀，下面一条😀\",\"k\\\"ey\\n\xe9\x94\xae\":\"\","
    "\"long\":\"0123456789abcdefghijklmnopqrstuvwxyz"
    "0123456789abcdefghijklmnopqrstuv\\\"wxyz"
    "0123456789abcdefghijkl\xc3\xa9mnopqrstuvwxyz\","
    "\"min\":-9223372036854775808,\"max\":9223372036854775807,\"zero\":0,"
    "\"t\":true,\"f\":false,\"nested\":{\"a\":[1,-2.5e10,true,false,null,"
    "\"x\xc3\xa9\\n\",{\"b\":{}}],\"c\":[],\"\\\"q\":\"/\"},"
    "\"big\":18446744073709551615,\"nil\":null,\"message\":[{\"type\":"
    "\"text\",\"data\":{\"text\":\"a\\\"b\\n\"}},{\"type\":\"face\","
    "\"data\":{\"id\":\"1\"}}]}";

T_CASE(builder_output_is_unchanged)
{
    cq_params *p = cq_params_new();
    cq_msg *m = cq_msg_new();
    char *json;
    int rc;

    T_CHECK(p != NULL && m != NULL);
    T_EQ_INT(cq_msg_add_text(m, "a\"b\n"), CQ_OK);
    T_EQ_INT(cq_msg_add_face(m, 1), CQ_OK);
    fill_all_kinds(p, m);
    cq_msg_free(m);
    json = finish(p, &rc);
    T_EQ_INT(rc, CQ_OK);
    T_EQ_STR(json, all_kinds_json);
    free(json);
}


/* Every refusal latches as before, whatever kind of field made it. */
T_CASE(builder_refusals)
{
    static const char *const bad[] = {"\xff", "\xc3", "a\xe9\x94", "\xc3(",
                                      "\xf0\x9f\x98"};
    cq_params *p;
    char deep[300];
    size_t i;
    int rc;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p = cq_params_new();
        T_EQ_INT(cq_params_string(p, "s", bad[i]), CQ_EINVAL);
        cq_params_free(p);
        p = cq_params_new();
        T_EQ_INT(cq_params_string(p, bad[i], "v"), CQ_EINVAL);
        T_EQ_INT(cq_params_bool(p, "b", 1), CQ_EINVAL);
        T_CHECK(finish(p, &rc) == NULL);
        T_EQ_INT(rc, CQ_EINVAL);
    }
    p = cq_params_new();
    T_EQ_INT(cq_params_string(p, NULL, "v"), CQ_EINVAL);
    cq_params_free(p);
    /* Deeper than the library parses: refused before it is written. */
    memset(deep, '[', sizeof(deep) - 1);
    deep[sizeof(deep) - 1] = '\0';
    p = cq_params_new();
    T_CHECK(cq_params_json(p, "d", deep) != CQ_OK);
    T_CHECK(finish(p, &rc) == NULL);
    T_CHECK(rc != CQ_OK);
}


/*
 * The errors a yajl generator and the builder give for a params object
 * with a value nested n arrays deep.
 */
static void depth_errs(int n, int *gen_err, int *builder_err)
{
    char text[300];
    yajl_val v = NULL;
    cq_params *p = cq_params_new();
    cq__jw w;

    memset(text, '[', (size_t)n);
    memset(text + n, ']', (size_t)n);
    text[2 * n] = '\0';
    *gen_err = cq__json_parse(&v, text, strlen(text), 140);
    if (*gen_err == CQ_OK && cq__jw_init(&w) == CQ_OK) {
        cq__jw_open(&w);
        cq__jw_key(&w, "v");
        cq__jw_value(&w, v);
        *gen_err = w.err;
        cq__jw_free(&w);
    }
    *builder_err = cq_params_value(p, "v", (const cq_value *)v);
    cq_params_free(p);
    yajl_tree_free(v);
}


/* A value nests as deep as yajl's generator let it, and no deeper. */
T_CASE(builder_depth_as_yajl)
{
    int gen_err, builder_err;

    depth_errs(126, &gen_err, &builder_err);
    T_EQ_INT(gen_err, CQ_OK);
    T_EQ_INT(builder_err, CQ_OK);
    /* The object is one level: 127 more are yajl's 128th, refused. */
    depth_errs(127, &gen_err, &builder_err);
    T_EQ_INT(gen_err, CQ_EDEPTH);
    T_EQ_INT(builder_err, CQ_EDEPTH);
}


static int keep_params(void *arg, int64_t self_id, const char *action,
                       const char *params, cq_result *out)
{
    (void)self_id;
    (void)action;
    free(*(char **)arg);
    *(char **)arg = strdup(params);
    out->err = CQ_OK;
    return CQ_OK;
}


/* The wrappers' path, which closes the object in place, sends the same. */
T_CASE(closed_in_place_is_unchanged)
{
    cq_params *p = cq_params_new();
    cq_msg *m = cq_msg_new();
    char *sent = NULL;
    cq__conf conf;
    cq_ctx *c;

    cq__conf_init(&conf);
    cq__sched_set_source(&conf, keep_params, &sent);
    c = cq_ctx_for(1);
    T_CHECK(c != NULL && p != NULL && m != NULL);
    T_EQ_INT(cq_msg_add_text(m, "a\"b\n"), CQ_OK);
    T_EQ_INT(cq_msg_add_face(m, 1), CQ_OK);
    fill_all_kinds(p, m);
    T_EQ_INT(cq__call_params_free(c, "send_msg", p, NULL), CQ_OK);
    T_EQ_STR(sent, all_kinds_json);
    free(sent);
    sent = NULL;
    /* A latched error reaches no transport. */
    p = cq_params_new();
    cq_params_string(p, "s", "\xff");
    T_EQ_INT(cq__call_params_free(c, "send_msg", p, NULL), CQ_EINVAL);
    T_CHECK(sent == NULL);
    cq_ctx_release(c);
    cq_msg_free(m);
    cq__sched_set_source(NULL, NULL, NULL);
    cq__conf_free(&conf);
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
    {"params/builder_output_is_unchanged", builder_output_is_unchanged},
    {"params/builder_refusals", builder_refusals},
    {"params/builder_depth_as_yajl", builder_depth_as_yajl},
    {"params/closed_in_place_is_unchanged", closed_in_place_is_unchanged},
    {"params/empty_object_and_no_api", empty_object_and_no_api},
    {"params/stay_open_after_a_call", params_stay_open_after_a_call},
    {"params/action_table", action_table},
    {"params/wrapper_checks_required", wrapper_checks_required},
    {NULL, NULL},
};
