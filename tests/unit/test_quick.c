#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/ctx.h"
#include "test.h"

/* Builds a context on body, runs fill, and returns the quick JSON. */
static int quick(const char *body, void (*fill)(cq_ctx *c), char **json)
{
    cq_event *e = NULL;
    cq__conf conf;
    cq_ctx c;
    int rc;

    cq__conf_init(&conf);
    rc = cq_event_parse(&e, body, strlen(body), 0);
    if (rc != CQ_OK)
        return rc;
    cq__ctx_init(&c, e, &conf, NULL);
    fill(&c);
    rc = cq__ctx_quick_json(&c, json);
    cq__ctx_free(&c);
    cq_event_free(e);
    return rc;
}


static const char *msg_string = "{\"post_type\":\"message\",\"message\":"
                                "\"a &amp; [CQ:face,id=1]\"}";
static const char *msg_array =
    "{\"post_type\":\"message\",\"message\":[{\"type\":\"text\",\"data\":"
    "{\"text\":\"\\u003chi\\u003e\"}},{\"type\":\"at\",\"data\":{\"qq\":"
    "4294967296}}]}";

static void echo(cq_ctx *c)
{
    cq_reply(c, cq_event_message(cq_ctx_event(c)));
    cq_quick_bool(c, "at_sender", 0);
}


T_CASE(echo_string)
{
    char *json = NULL;

    T_EQ_INT(quick(msg_string, echo, &json), CQ_OK);
    T_EQ_STR(json, "{\"reply\":\"a &amp; [CQ:face,id=1]\",\"at_sender\":"
                   "false}");
    free(json);
}


/* An array reply is written back as received, big numbers included. */
T_CASE(echo_array)
{
    char *json = NULL;

    T_EQ_INT(quick(msg_array, echo, &json), CQ_OK);
    T_EQ_STR(json, "{\"reply\":[{\"type\":\"text\",\"data\":{\"text\":"
                   "\"<hi>\"}},{\"type\":\"at\",\"data\":{\"qq\":4294967296}}"
                   "],\"at_sender\":false}");
    free(json);
}


static void group_ops(cq_ctx *c)
{
    cq_reply_text(c, "no");
    cq_delete(c);
    cq_kick(c);
    cq_ban(c, 600);
    cq_quick_string(c, "reply", "stop \"that\"\n");
}


T_CASE(group_fields_and_overwrite)
{
    char *json = NULL;

    T_EQ_INT(quick(msg_string, group_ops, &json), CQ_OK);
    T_EQ_STR(json, "{\"reply\":\"stop \\\"that\\\"\\n\",\"delete\":true,"
                   "\"kick\":true,\"ban\":true,\"ban_duration\":600}");
    free(json);
}


static void request_ops(cq_ctx *c)
{
    cq_approve(c, 0);
    cq_quick_string(c, "reason", "不行");
    cq_quick_int(c, "n", -5);
}


T_CASE(request_fields)
{
    char *json = NULL;

    T_EQ_INT(quick("{\"post_type\":\"request\"}", request_ops, &json), CQ_OK);
    T_EQ_STR(json, "{\"approve\":false,\"reason\":\"不行\",\"n\":-5}");
    free(json);
}


static void reject_ops(cq_ctx *c)
{
    cq_reject(c, "本机器人不接受邀请");
}


static void reject_silently(cq_ctx *c)
{
    cq_reject(c, NULL);
}


/* cq_reject(): approve false, and the reason only when given. */
T_CASE(reject_with_and_without_reason)
{
    char *json = NULL;

    T_EQ_INT(quick("{\"post_type\":\"request\"}", reject_ops, &json), CQ_OK);
    T_EQ_STR(json, "{\"approve\":false,\"reason\":\"本机器人不接受邀请\"}");
    free(json);
    T_EQ_INT(quick("{\"post_type\":\"request\"}", reject_silently, &json),
             CQ_OK);
    T_EQ_STR(json, "{\"approve\":false}");
    free(json);
}


static void ctx_message(cq_ctx *c)
{
    /* Owned by c: no free here, and LeakSanitizer checks it is freed. */
    cq_msg *m = cq_ctx_cqf(c, "[CQ:at,qq=%d] 欢迎%s～", 5, "[a]");

    cq_reply_msg(c, m);
}


/* cq_ctx_cqf(): a message freed with the context, its argument escaped. */
T_CASE(ctx_owned_cqf_message)
{
    char *json = NULL;

    T_EQ_INT(quick("{\"post_type\":\"message\"}", ctx_message, &json), CQ_OK);
    T_EQ_STR(json, "{\"reply\":[{\"type\":\"at\",\"data\":{\"qq\":\"5\"}},"
                   "{\"type\":\"text\",\"data\":{\"text\":\" 欢迎[a]～\"}}]}");
    free(json);
    T_CHECK(cq_ctx_cqf(NULL, "x") == NULL);
}


static void nothing(cq_ctx *c)
{
    (void)c;
}


T_CASE(empty_is_null)
{
    char *json = (char *)"x";

    T_EQ_INT(quick(msg_string, nothing, &json), CQ_OK);
    T_CHECK(json == NULL);
}


static void bad_utf8(cq_ctx *c)
{
    cq_reply_text(c, "bad \xc3\x28");
}


static void bad_args(cq_ctx *c)
{
    if (cq_quick_bool(c, NULL, 1) == CQ_EINVAL &&
        cq_quick_string(c, "k", NULL) == CQ_EINVAL &&
        cq_reply(c, NULL) == CQ_EINVAL)
        cq_quick_bool(c, "ok", 1);
}


T_CASE(invalid_input_refused)
{
    char *json = NULL;

    T_EQ_INT(quick(msg_string, bad_utf8, &json), CQ_EINVAL);
    T_CHECK(json == NULL);
    T_EQ_INT(quick(msg_string, bad_args, &json), CQ_OK);
    T_EQ_STR(json, "{\"ok\":true}");
    free(json);
}


static void reply_segments(cq_ctx *c)
{
    cq_msg *m = NULL;

    if (cq_msg_parse_cq(&m, "hi[CQ:at,qq=1]", 14) == CQ_OK)
        cq_reply_msg(c, m);
    /* The reply keeps its own copy. */
    cq_msg_free(m);
    cq_quick_bool(c, "at_sender", 0);
}


T_CASE(reply_msg_array)
{
    char *json = NULL;

    T_EQ_INT(quick(msg_string, reply_segments, &json), CQ_OK);
    T_EQ_STR(json, "{\"reply\":[{\"type\":\"text\",\"data\":{\"text\":"
                   "\"hi\"}},{\"type\":\"at\",\"data\":{\"qq\":\"1\"}}],"
                   "\"at_sender\":false}");
    free(json);
}


static void text_replies(cq_ctx *c)
{
    cq_msg *m = cq_msg_new();

    cq_reply_text(c, "[CQ:at,qq=all] & co");
    cq_quick_string(c, "text", "unused");
    cq_reply_textf(c, "%s [x] %d", "a&b", 3);
    cq_msg_add_image(m, NULL);
    cq_reply_msg(c, m); /* Refused: the latched error keeps the textf. */
    cq_msg_free(m);
}


static void reply_cq(cq_ctx *c)
{
    cq_reply_cq(c, "[CQ:face,id=1]");
}


/* _text is literal text and goes out escaped; _cq is CQ code. */
T_CASE(reply_text_is_literal)
{
    char *json = NULL;
    cq_msg *m = cq_msg_new();
    cq_ctx c;

    T_EQ_INT(quick(msg_string, text_replies, &json), CQ_OK);
    T_EQ_STR(json, "{\"reply\":\"a&amp;b &#91;x&#93; 3\",\"text\":"
                   "\"unused\"}");
    free(json);
    T_EQ_INT(quick(msg_string, reply_cq, &json), CQ_OK);
    T_EQ_STR(json, "{\"reply\":\"[CQ:face,id=1]\"}");
    free(json);
    cq__ctx_init(&c, NULL, NULL, NULL);
    cq_msg_add_seg(m, NULL, NULL);
    T_EQ_INT(cq_reply_msg(&c, m), CQ_EINVAL);
    T_EQ_INT(cq_reply_text(&c, NULL), CQ_EINVAL);
    T_EQ_INT(cq_reply_textf(&c, NULL), CQ_EINVAL);
    T_EQ_INT(c.nfields, 0);
    cq__ctx_free(&c);
    cq_msg_free(m);
}


T_SUITE(test_quick_cases) = {
    {"quick/reject_with_and_without_reason", reject_with_and_without_reason},
    {"quick/ctx_owned_cqf_message", ctx_owned_cqf_message},
    {"quick/reply_msg_array", reply_msg_array},
    {"quick/echo_string", echo_string},
    {"quick/echo_array", echo_array},
    {"quick/group_fields_and_overwrite", group_fields_and_overwrite},
    {"quick/request_fields", request_fields},
    {"quick/empty_is_null", empty_is_null},
    {"quick/invalid_input_refused", invalid_input_refused},
    {"quick/reply_text_is_literal", reply_text_is_literal},
    {NULL, NULL},
};
