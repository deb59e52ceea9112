#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/actions.h"
#include "lib/api.h"
#include "lib/ctx.h"
#include "lib/json.h"
#include "test.h"

static int judge(const char *body, cq_result *r)
{
    memset(r, 0, sizeof(*r));
    return cq__api_result_from_body(body, strlen(body), r);
}


T_CASE(result_ok_async_failed)
{
    cq_result r;

    T_EQ_INT(judge("{\"status\":\"ok\",\"retcode\":0,\"data\":{\"message_id\""
                   ":-12}}",
                   &r),
             CQ_OK);
    {
        int64_t id = 0;

        T_EQ_INT(cq_value_int(cq_value_get(r.data, "message_id"), &id), CQ_OK);
        T_EQ_INT(id, -12);
    }
    cq_result_free(&r);
    T_EQ_INT(judge("{\"status\":\"async\",\"retcode\":1,\"data\":null}", &r),
             CQ_OK);
    T_EQ_INT(cq_value_type(r.data), CQ_TNULL);
    cq_result_free(&r);
    T_EQ_INT(judge("{\"status\":\"failed\",\"retcode\":100,\"data\":null,"
                   "\"wording\":\"群不存在\"}",
                   &r),
             CQ_EFAILED);
    T_EQ_INT(r.retcode, 100);
    T_CHECK(strstr(r.detail, "群不存在") != NULL);
    cq_result_free(&r);
    /* The status is authoritative: retcode 0 with "failed" is a failure. */
    T_EQ_INT(judge("{\"status\":\"failed\",\"retcode\":0}", &r), CQ_EFAILED);
    cq_result_free(&r);
    T_CHECK(r.priv__ == NULL && r.data == NULL);
}


/*
 * An answer judged from somebody else's scan of it (the bridge's loop)
 * reads as one judged from its text, whatever it holds.
 */
T_CASE(result_from_scan_as_from_body)
{
    static const cq__json_key keys[] = {
        CQ__JSON_KEY("status"), CQ__JSON_KEY("retcode"), CQ__JSON_KEY("data"),
        CQ__JSON_KEY("bridge")};
    static const char *const bodies[] = {
        "{\"status\":\"ok\",\"retcode\":0,\"data\":{\"message_id\":5}}",
        "{\"data\":[1,2],\"retcode\":3,\"status\":\"async\"}",
        "{\"status\":\"ok\"}",
        "{\"status\":\"ok\",\"retcode\":\"x\",\"data\":1}",
        "{\"status\":\"failed\",\"retcode\":100,\"wording\":\"w\"}",
        "{\"status\":\"ok\",\"retcode\":0,\"bridge\":\"ENOAPI\"}",
        "{\"status\":\"odd\",\"retcode\":1}",
    };
    cq__json_span at[CQ__ANS_N];
    cq_result a, b;
    int64_t va, vb;
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        const char *s = bodies[i];

        T_EQ_INT(cq__json_scan_object(s, strlen(s), 64, 0, keys, CQ__ANS_N, at),
                 CQ_OK);
        cq__api_result_init(&a);
        cq__api_result_init(&b);
        T_EQ_INT(cq__api_result_from_scan(s, strlen(s), at, &a),
                 cq__api_result_from_body(s, strlen(s), &b));
        T_EQ_INT(a.err, b.err);
        T_EQ_INT(a.retcode, b.retcode);
        T_EQ_STR(cq_result_detail(&a), cq_result_detail(&b));
        T_EQ_INT(cq_value_type(a.data), cq_value_type(b.data));
        va = vb = -1;
        T_EQ_INT(cq_result_int(&a, "message_id", &va),
                 cq_result_int(&b, "message_id", &vb));
        T_EQ_INT(va, vb);
        cq_result_free(&a);
        cq_result_free(&b);
    }
    /* Without a scan, the text is read as it is. */
    cq__api_result_init(&a);
    T_EQ_INT(cq__api_result_from_scan(bodies[0], strlen(bodies[0]), NULL, &a),
             CQ_OK);
    T_EQ_INT(cq_result_int(&a, "message_id", &va), CQ_OK);
    T_EQ_INT(va, 5);
    cq_result_free(&a);
}


/*
 * A plain "ok" answer is judged from a scan, with only its data parsed; an
 * escaped key sends the same answer down the whole-tree path. Both must read
 * alike, the first of a repeated member included.
 */
T_CASE(result_scanned_as_parsed)
{
    static const char *const pairs[][2] = {
        {"{\"status\":\"ok\",\"retcode\":7,\"data\":{\"a\":[1,{\"b\":\"x\"}]},"
         "\"data\":2}",
         "{\"st\\u0061tus\":\"ok\",\"retcode\":7,\"data\":{\"a\":[1,{\"b\":"
         "\"x\"}]},\"data\":2}"},
        {" {\"data\":\"s\",\"status\":\"async\"} ",
         "{\"data\":\"s\",\"st\\u0061tus\":\"async\"}"},
        {"{\"status\":\"ok\",\"retcode\":-3,\"data\":12345678901234}",
         "{\"status\":\"ok\",\"r\\u0065tcode\":-3,\"data\":12345678901234}"},
    };
    cq_result a, b;
    size_t i;

    for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        char *ja, *jb;

        T_EQ_INT(judge(pairs[i][0], &a), CQ_OK);
        T_EQ_INT(judge(pairs[i][1], &b), CQ_OK);
        /* Only the whole-tree path keeps the answer itself. */
        T_CHECK(cq__api_result_root(&a) == NULL);
        T_CHECK(cq__api_result_root(&b) != NULL);
        T_EQ_INT(a.retcode, b.retcode);
        ja = cq_value_to_json(a.data);
        jb = cq_value_to_json(b.data);
        T_CHECK(ja != NULL && jb != NULL);
        T_EQ_STR(ja, jb);
        free(ja);
        free(jb);
        cq_result_free(&a);
        cq_result_free(&b);
    }
    /* No data member: NULL, as cq_value_get() says of a missing key. */
    T_EQ_INT(judge("{\"status\":\"ok\"}", &a), CQ_OK);
    T_CHECK(a.data == NULL && a.retcode == 0);
    cq_result_free(&a);
    T_CHECK(a.priv__ == NULL);
}


/* A result nobody reads gets no data from an ok answer, all of a failure. */
T_CASE(result_discarded)
{
    static const char ok[] = "{\"status\":\"ok\",\"retcode\":3,\"data\":{}}";
    static const char failed[] =
        "{\"status\":\"failed\",\"retcode\":100,\"wording\":\"no\"}";
    cq_result r;

    cq__api_result_init(&r);
    cq__api_result_discard(&r);
    T_EQ_INT(cq__api_result_from_body(ok, strlen(ok), &r), CQ_OK);
    T_CHECK(r.data == NULL && r.retcode == 3);
    T_CHECK(cq__api_result_root(&r) == NULL);
    cq_result_free(&r);
    T_CHECK(r.priv__ == NULL);
    cq__api_result_discard(&r);
    T_EQ_INT(cq__api_result_from_body(failed, strlen(failed), &r), CQ_EFAILED);
    T_EQ_INT(r.retcode, 100);
    T_CHECK(strstr(r.detail, "no") != NULL);
    T_CHECK(cq__api_result_root(&r) != NULL);
    cq_result_free(&r);
}


T_CASE(result_garbage)
{
    static const char *bad[] = {"",
                                "<html>",
                                "[1,2]",
                                "{\"retcode\":0}",
                                "{\"status\":\"weird\"}",
                                "{\"status\":1}",
                                "{\"status\":\"ok\"",
                                "null"};
    cq_result r;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        T_EQ_INT(judge(bad[i], &r), CQ_EBADRESP);
        cq_result_free(&r);
    }
}


T_CASE(call_without_api)
{
    cq_result r;

    T_EQ_INT(cq_call(NULL, "get_status", NULL, &r), CQ_ENOAPI);
    T_EQ_INT(r.err, CQ_ENOAPI);
    cq_result_free(&r);
    T_EQ_INT(cq_call(NULL, "bad/action", "{}", &r), CQ_EINVAL);
    cq_result_free(&r); /* A failed result holds its detail too. */
    T_EQ_INT(cq_call(NULL, "", "{}", NULL), CQ_EINVAL);
    T_EQ_INT(cq_call(NULL, "send_msg", "[1]", NULL), CQ_EINVAL);
    T_EQ_INT(cq_call(NULL, "send_msg", "{\"a\":", NULL), CQ_EINVAL);
}


/* Builds send_msg params for an event; returns the JSON or NULL. */
static char *params_for(const char *body, const char *text, const cq_msg *msg,
                        int flags, int *rc)
{
    cq_event *e = NULL;
    cq_params *p = cq_params_new();
    char *json = NULL;

    *rc = cq_event_parse(&e, body, strlen(body), 0);
    if (*rc == CQ_OK)
        *rc = cq__api_send_params(p, e, text, msg, flags);
    if (*rc == CQ_OK)
        json = cq__params_json(p, rc);
    cq_params_free(p);
    cq_event_free(e);
    return json;
}


T_CASE(send_targets)
{
    char *p;
    int rc;

    p = params_for("{\"post_type\":\"message\",\"message_type\":\"private\","
                   "\"user_id\":3096407768}",
                   "hi", NULL, CQ_SEND_AT_SENDER, &rc);
    /* No @ in a private chat. */
    T_EQ_STR(p, "{\"message_type\":\"private\",\"user_id\":3096407768,"
                "\"message\":\"hi\"}");
    free(p);
    p = params_for("{\"post_type\":\"message\",\"message_type\":\"group\","
                   "\"user_id\":2,\"group_id\":3}",
                   "hi &amp; [x]", NULL, CQ_SEND_AT_SENDER, &rc);
    T_EQ_STR(p, "{\"message_type\":\"group\",\"user_id\":2,\"group_id\":3,"
                "\"message\":\"[CQ:at,qq=2] hi &amp; [x]\"}");
    free(p);
    /* With auto_escape the @ must stay a code: an array does both. */
    p = params_for("{\"post_type\":\"message\",\"message_type\":\"group\","
                   "\"user_id\":2,\"group_id\":3}",
                   "hi & [x]", NULL, CQ_SEND_AT_SENDER | CQ_SEND_AUTO_ESCAPE,
                   &rc);
    T_EQ_STR(p, "{\"message_type\":\"group\",\"user_id\":2,\"group_id\":3,"
                "\"message\":[{\"type\":\"at\",\"data\":{\"qq\":\"2\"}},"
                "{\"type\":\"text\",\"data\":{\"text\":\" hi & [x]\"}}]}");
    free(p);
    /* Notices route by key presence: group_id makes it a group. */
    p = params_for("{\"post_type\":\"notice\",\"notice_type\":"
                   "\"group_increase\",\"group_id\":5,\"user_id\":6}",
                   "欢迎", NULL, CQ_SEND_AUTO_ESCAPE, &rc);
    T_EQ_STR(p, "{\"message_type\":\"group\",\"user_id\":6,\"group_id\":5,"
                "\"message\":\"欢迎\",\"auto_escape\":true}");
    free(p);
    p = params_for("{\"post_type\":\"request\",\"user_id\":7}", "x", NULL, 0,
                   &rc);
    T_EQ_STR(p, "{\"message_type\":\"private\",\"user_id\":7,\"message\":"
                "\"x\"}");
    free(p);
    p = params_for("{\"post_type\":\"meta_event\"}", "x", NULL, 0, &rc);
    T_CHECK(p == NULL);
    T_EQ_INT(rc, CQ_EINVAL);
}


T_CASE(send_without_api)
{
    cq_event *e = NULL;
    const char *body = "{\"post_type\":\"message\",\"message_type\":"
                       "\"private\",\"user_id\":1}";
    cq__conf conf;
    cq__api *api;
    cq_ctx c;

    cq__conf_init(&conf);
    api = cq__api_new(&conf);
    T_CHECK(api != NULL);
    T_EQ_INT(cq_event_parse(&e, body, strlen(body), 0), CQ_OK);
    cq__ctx_init(&c, e, &conf, api);
    T_EQ_INT(cq_send(&c, e, "hello"), CQ_ENOAPI);
    cq__ctx_free(&c);
    cq_event_free(e);
    cq__api_free(api);
}


/* A local transport that keeps the params of the last call. */
static int keep_params(void *arg, int64_t self_id, const char *action,
                       const char *params, cq_result *out)
{
    (void)self_id;
    (void)action;
    (void)out;
    snprintf(arg, 256, "%s", params);
    return CQ_OK;
}


/* cq_send_text sends literal text escaped, cq_send_cq CQ code as given. */
T_CASE(send_text_and_cq)
{
    cq_event *e = NULL;
    const char *body = "{\"post_type\":\"message\",\"message_type\":"
                       "\"private\",\"user_id\":1}";
    char seen[256] = "";
    cq__conf conf;
    cq__api *api;
    cq_ctx c;

    cq__conf_init(&conf);
    api = cq__api_new(&conf);
    T_CHECK(api != NULL);
    cq__api_set_local(api, keep_params, seen);
    T_EQ_INT(cq_event_parse(&e, body, strlen(body), 0), CQ_OK);
    cq__ctx_init(&c, e, &conf, api);
    T_EQ_INT(cq_send_text(&c, e, "[CQ:at,qq=all]&"), CQ_OK);
    T_EQ_STR(seen, "{\"message_type\":\"private\",\"user_id\":1,"
                   "\"message\":\"&#91;CQ:at,qq=all&#93;&amp;\"}");
    T_EQ_INT(cq_send_cq(&c, e, "[CQ:face,id=1]"), CQ_OK);
    T_EQ_STR(seen, "{\"message_type\":\"private\",\"user_id\":1,"
                   "\"message\":\"[CQ:face,id=1]\"}");
    T_EQ_INT(cq_send_text(&c, e, NULL), CQ_EINVAL);
    cq__ctx_free(&c);
    cq_event_free(e);
    cq__api_free(api);
}


/* A local transport answering every call with the body in arg. */
static int answer_body(void *arg, int64_t self_id, const char *action,
                       const char *params, cq_result *out)
{
    (void)self_id;
    (void)action;
    (void)params;
    return cq__api_result_from_body(arg, strlen(arg), out);
}


/* Results owned by the context, read by path; a long detail stays whole. */
T_CASE(results_owned_by_ctx)
{
    char ok[] = "{\"status\":\"ok\",\"retcode\":0,\"data\":{\"user_id\":"
                "\"42\",\"nickname\":\"n\",\"a\":[1,2]}}";
    char failed[600];
    const cq_result *r;
    cq__conf conf;
    cq__api *api;
    int64_t v = 0;
    cq_ctx c;

    snprintf(failed, sizeof(failed),
             "{\"status\":\"failed\",\"retcode\":100,\"wording\":"
             "\"%0400d\"}",
             7);
    cq__conf_init(&conf);
    api = cq__api_new(&conf);
    T_CHECK(api != NULL);
    cq__ctx_init(&c, NULL, &conf, api);
    cq__api_set_local(api, answer_body, ok);
    r = cq_call_r(&c, "get_login_info", NULL);
    T_EQ_INT(r->err, CQ_OK);
    T_EQ_INT(cq_result_int(r, "user_id", &v), CQ_OK);
    T_EQ_INT(v, 42);
    T_EQ_INT(cq_result_int(r, "a.1", &v), CQ_OK);
    T_EQ_INT(v, 2);
    T_EQ_STR(cq_result_string(r, "nickname"), "n");
    T_CHECK(cq_result_string(r, "missing") == NULL);
    T_EQ_STR(cq_result_detail(r), "");
    cq__api_set_local(api, answer_body, failed);
    r = cq_call_params_r(&c, "get_login_info", NULL);
    T_EQ_INT(r->err, CQ_ENOMEM);
    r = cq_call_r(&c, "get_login_info", "{}");
    T_EQ_INT(r->err, CQ_EFAILED);
    T_EQ_INT(r->retcode, 100);
    T_EQ_INT(strlen(cq_result_detail(r)), strlen("retcode 100: ") + 400);
    T_EQ_INT(cq_result_int(r, "user_id", &v), CQ_ENOENT);
    T_EQ_INT(cq_call_r(NULL, "x", NULL)->err, CQ_EINVAL);
    T_EQ_STR(cq_result_detail(NULL), "");
    cq__ctx_free(&c); /* Frees the results: the sanitizers check it. */
    cq__api_free(api);
}


T_SUITE(test_api_cases) = {
    {"api/result_ok_async_failed", result_ok_async_failed},
    {"api/result_scanned_as_parsed", result_scanned_as_parsed},
    {"api/result_discarded", result_discarded},
    {"api/result_garbage", result_garbage},
    {"api/call_without_api", call_without_api},
    {"api/send_targets", send_targets},
    {"api/send_without_api", send_without_api},
    {"api/send_text_and_cq", send_text_and_cq},
    {"api/results_owned_by_ctx", results_owned_by_ctx},
    {"api/result_from_scan_as_from_body", result_from_scan_as_from_body},
    {NULL, NULL},
};
