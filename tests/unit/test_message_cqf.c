/*
 * Tests for src/lib/message_cqf.c, CQ-code printf: arguments never become
 * CQ code, every conversion formats as printf does, unsupported ones latch
 * CQ_EINVAL; and for the shorthands around it: cq_reply_cqf(),
 * cq_send_cqf(), the typed wrappers' _r variants and cq_result_string_or().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/api.h"
#include "lib/ctx.h"
#include "test.h"

/* User input that is CQ code lands as text, in text and in a value alike. */
T_CASE(arguments_are_literal)
{
    cq_msg *m = cq_msg_cqf("[CQ:at,qq=%lld] %s: 晴[CQ:image,file=%s]", 12345LL,
                           "[CQ:face,id=1]&amp;", "a,b=c]");

    T_EQ_INT(cq_msg_err(m), CQ_OK);
    T_EQ_INT(cq_msg_count(m), 3);
    T_EQ_STR(cq_msg_seg_get(m, 0, "qq"), "12345");
    T_EQ_STR(cq_msg_seg_get(m, 1, "text"), " [CQ:face,id=1]&amp;: 晴");
    T_EQ_STR(cq_msg_seg_type(m, 2), "image");
    T_EQ_STR(cq_msg_seg_get(m, 2, "file"), "a,b=c]");
    T_EQ_INT(cq_msg_seg_nparams(m, 2), 1);
    cq_msg_free(m);
}


/* Each conversion gives what snprintf gives, stars and lengths included. */
T_CASE(conversions_as_printf)
{
    char want[256];
    long double ld = 2.5L;
    cq_msg *m = cq_msg_cqf(
        "%5.2f|%-4d|%#x|%c|%%|%zu|%.*s|%*d|%-*d|%.*d|%hhd|%hd|%ld|%llu|%jd|"
        "%td|%Lg|%+e|%o|%X|%lu|%ju|%5s",
        3.14159, 7, 255u, 'q', (size_t)42, 3, "abcdef", 4, 9, -4, 9, -1, 5,
        (signed char)-3, (short)-4, -5L, 6ULL, (intmax_t)-7, (ptrdiff_t)8, ld,
        1.5, 8u, 10u, 11UL, (uintmax_t)12, "ab");

    snprintf(want, sizeof(want),
             "%5.2f|%-4d|%#x|%c|%%|%zu|%.*s|%*d|%-*d|%.*d|%hhd|%hd|%ld|%llu|"
             "%jd|%td|%Lg|%+e|%o|%X|%lu|%ju|%5s",
             3.14159, 7, 255u, 'q', (size_t)42, 3, "abcdef", 4, 9, -4, 9, -1, 5,
             (signed char)-3, (short)-4, -5L, 6ULL, (intmax_t)-7, (ptrdiff_t)8,
             ld, 1.5, 8u, 10u, 11UL, (uintmax_t)12, "ab");
    T_EQ_INT(cq_msg_err(m), CQ_OK);
    T_EQ_INT(cq_msg_count(m), 1);
    T_EQ_STR(cq_msg_seg_get(m, 0, "text"), want);
    cq_msg_free(m);
}


/*
 * The cases below give formats and arguments that the compiler would refuse,
 * on purpose: the checks are the library's own.
 */
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-overflow"

/* Returns the error cq_msg_cqf() latches for fmt. */
static int cqf_err(const char *fmt)
{
    cq_msg *m = cq_msg_cqf(fmt, "x", 1);
    int rc = cq_msg_err(m);

    cq_msg_free(m);
    return rc;
}


T_CASE(unsupported_conversions)
{
    const char *null_str = NULL;
    cq_msg *m;
    int n = 0;

    T_EQ_INT(cqf_err("abc%"), CQ_EINVAL);
    T_EQ_INT(cqf_err("%q"), CQ_EINVAL);
    T_EQ_INT(cqf_err("%ls"), CQ_EINVAL);
    T_EQ_INT(cqf_err("%hs"), CQ_EINVAL);
    T_EQ_INT(cqf_err("%Ld"), CQ_EINVAL);
    T_EQ_INT(cqf_err("%---------d"), CQ_EINVAL);
    T_EQ_INT(cqf_err("%1234567890d"), CQ_EINVAL);
    T_EQ_INT(cqf_err(NULL), CQ_EINVAL);
    m = cq_msg_cqf("%n", &n);
    T_EQ_INT(cq_msg_err(m), CQ_EINVAL);
    cq_msg_free(m);
    m = cq_msg_cqf("a%s", null_str);
    T_EQ_INT(cq_msg_err(m), CQ_EINVAL);
    cq_msg_free(m);
    m = cq_msg_cqf("%*d", 20 * 1024 * 1024, 1);
    T_EQ_INT(cq_msg_err(m), CQ_ETOOBIG);
    cq_msg_free(m);
}


static const char member[] = "{\"status\":\"ok\",\"retcode\":0,\"data\":"
                             "{\"card\":\"\",\"nickname\":\"n\"}}";

/* A local transport that keeps the call and answers with member. */
static int keep_params(void *arg, int64_t self_id, const char *action,
                       const char *params, cq_result *out)
{
    (void)self_id;
    snprintf(arg, 512, "%s %s", action, params);
    return cq__api_result_from_body(member, strlen(member), out);
}


/* The shorthands send and reply segment arrays; the _r wrappers keep their
 * results in the context. */
T_CASE(reply_send_and_r_wrappers)
{
    const char *body = "{\"post_type\":\"message\",\"message_type\":"
                       "\"group\",\"group_id\":5,\"user_id\":1}";
    char seen[512] = "", *json = NULL;
    const cq_result *r;
    cq_event *e = NULL;
    cq__conf conf;
    cq__api *api;
    cq_ctx c;

    cq__conf_init(&conf);
    api = cq__api_new(&conf);
    T_CHECK(api != NULL);
    cq__api_set_local(api, keep_params, seen);
    T_EQ_INT(cq_event_parse(&e, body, strlen(body), 0), CQ_OK);
    cq__ctx_init(&c, e, &conf, api);
    T_EQ_INT(cq_send_cqf(&c, e, "[CQ:at,qq=%d]%s", 1, "[x]"), CQ_OK);
    T_EQ_STR(seen, "send_msg {\"message_type\":\"group\",\"user_id\":1,"
                   "\"group_id\":5,\"message\":[{\"type\":\"at\",\"data\":"
                   "{\"qq\":\"1\"}},{\"type\":\"text\",\"data\":{\"text\":"
                   "\"[x]\"}}]}");
    r = cq_get_group_member_info_r(&c, 5, 1, CQ_OMIT_BOOL);
    T_EQ_STR(seen, "get_group_member_info {\"group_id\":5,\"user_id\":1}");
    T_EQ_INT(r->err, CQ_OK);
    T_EQ_STR(cq_result_string_or(r, "card", "c"), "c");
    T_EQ_STR(cq_result_string_or(r, "nickname", "c"), "n");
    T_EQ_STR(cq_result_string_or(NULL, "nickname", "c"), "c");
    T_EQ_INT(cq_get_login_info_r(NULL)->err, CQ_EINVAL);
    T_EQ_INT(cq_reply_cqf(&c, "%s[CQ:face,id=%d]", "&", 2), CQ_OK);
    T_EQ_INT(cq_reply_cqf(&c, "%s", (const char *)NULL), CQ_EINVAL);
    T_EQ_INT(cq__ctx_quick_json(&c, &json), CQ_OK);
    T_EQ_STR(json, "{\"reply\":[{\"type\":\"text\",\"data\":{\"text\":\"&\"}},"
                   "{\"type\":\"face\",\"data\":{\"id\":\"2\"}}]}");
    free(json);
    cq__ctx_free(&c); /* Frees the _r results: the sanitizers check it. */
    cq_event_free(e);
    cq__api_free(api);
}


T_SUITE(test_message_cqf_cases) = {
    {"message_cqf/arguments_are_literal", arguments_are_literal},
    {"message_cqf/conversions_as_printf", conversions_as_printf},
    {"message_cqf/unsupported_conversions", unsupported_conversions},
    {"message_cqf/reply_send_and_r_wrappers", reply_send_and_r_wrappers},
    {NULL, NULL},
};
