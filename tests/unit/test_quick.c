#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/ctx.h"
#include "lib/json_put.h"
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


/*
 * The quick operation's bytes, exactly: each expected text below is what
 * the writer on yajl_gen (cq__jwb, before the quick operation moved to
 * lib/json_put.h) wrote for the same fields, so that the writer can change
 * without a caller seeing a byte of difference: escapes, non-ASCII text,
 * messages (stored JSON values among their parameters), booleans, integers
 * at their limits and nested values written back as received.
 */
static void escapes(cq_ctx *c)
{
    cq_quick_string(c, "reply", "q\"b\\s/ \b\f\n\r\t\x01\x1f\x7f end");
    cq_quick_bool(c, "k\"e\\y\n", 1);
}


static void non_ascii(cq_ctx *c)
{
    cq_quick_string(c, "reply", "中文 é \xf0\x9f\x98\x80 mixed 文字 text");
    cq_quick_int(c, "键", 7);
}


static void scalars(cq_ctx *c)
{
    cq_quick_bool(c, "t", 1);
    cq_quick_bool(c, "f", 0);
    cq_quick_int(c, "min", INT64_MIN);
    cq_quick_int(c, "max", INT64_MAX);
    cq_quick_int(c, "zero", 0);
    cq_quick_int(c, "neg", -1);
    cq_ban(c, 600);
    cq_quick_bool(c, "t", 0); /* Overwritten in place. */
}


static void message(cq_ctx *c)
{
    static const char stored[] =
        "[{\"type\":\"x\",\"data\":{\"n\":[1,-2.5e3,{\"a\":true,\"b\":null,"
        "\"c\":\"\\u00e9\\\"\"}],\"o\":{},\"e\":[],\"s\":\"t\\n\"}}]";
    cq_msg *m = cq_msg_new(), *inner = cq_msg_new(), *x = NULL;

    cq_msg_add_at(m, 4294967296);
    cq_msg_add_text(m, " hi \"there\" <&> 中文\n");
    cq_msg_add_face(m, 14);
    cq_msg_add_image(m, "file:///tmp/a b.png");
    cq_msg_add_text(inner, "inside");
    cq_msg_add_node_custom(m, 10001, "nick\t名", inner);
    if (cq_msg_from_json(&x, stored, strlen(stored)) == CQ_OK)
        cq_msg_append(m, x);
    cq_reply_msg(c, m);
    cq_quick_bool(c, "auto_escape", 1);
    cq_msg_free(x);
    cq_msg_free(inner);
    cq_msg_free(m);
}


static void empty_msg(cq_ctx *c)
{
    cq_msg *m = cq_msg_new();

    cq_reply_msg(c, m);
    cq_msg_free(m);
}


static void none(cq_ctx *c)
{
    (void)c;
}


static const char nested[] =
    "[{\"type\":\"text\",\"data\":{\"text\":\"\\u003c\\ud83d\\ude00\\/\"}},"
    "{\"type\":\"at\",\"data\":{\"qq\":18446744073709551616,\"f\":1.50E+3,"
    "\"l\":[true,false,null,[],{},[[\"d\"]]]}},\"tail\"]";

typedef struct bytes_case {
    const char *msg;
    void (*fill)(cq_ctx *c);
    const char *want; /* NULL: no quick operation. */
} bytes_case;

static const bytes_case cases[] = {
    {"\"m\"", escapes,
     "{\"reply\":\"q\\\"b\\\\s/ \\b\\f\\n\\r\\t\\u0001\\u001F\x7f"
     " end\",\"k\\\"e\\\\y\\n\":true}"},
    {"\"m\"", non_ascii,
     "{\"reply\":\"\xe4"
     "\xb8"
     "\xad"
     "\xe6"
     "\x96"
     "\x87"
     " \xc3"
     "\xa9"
     " \xf0"
     "\x9f"
     "\x98"
     "\x80"
     " mixed \xe6"
     "\x96"
     "\x87"
     "\xe5"
     "\xad"
     "\x97"
     " text\",\"\xe9"
     "\x94"
     "\xae"
     "\":7}"},
    {"\"m\"", scalars,
     "{\"t\":false,\"f\":false,\"min\":-9223372036854775808,\"max\":"
     "9223372036854775807,\"zero\":0,\"neg\":-1,\"ban\":true,\"ban_duration\":"
     "600}"},
    {"\"a &amp; [CQ:face,id=1]\"", echo,
     "{\"reply\":\"a &amp; [CQ:face,id=1]\",\"at_sender\":false}"},
    {nested, echo,
     "{\"reply\":[{\"type\":\"text\",\"data\":{\"text\":\"<\xf0"
     "\x9f"
     "\x98"
     "\x80"
     "/\"}},{\"type\":\"at\",\"data\":{\"qq\":18446744073709551616,\"f\":1.50E+"
     "3,\"l\":[true,false,null,[],{},[[\"d\"]]]}},\"tail\"],\"at_sender\":"
     "false}"},
    {"\"m\"", message,
     "{\"reply\":[{\"type\":\"at\",\"data\":{\"qq\":\"4294967296\"}},{\"type\":"
     "\"text\",\"data\":{\"text\":\" hi \\\"there\\\" <&> \xe4"
     "\xb8"
     "\xad"
     "\xe6"
     "\x96"
     "\x87"
     "\\n\"}},{\"type\":\"face\",\"data\":{\"id\":\"14\"}},{\"type\":\"image\","
     "\"data\":{\"file\":\"file:///tmp/a "
     "b.png\"}},{\"type\":\"node\",\"data\":{\"user_id\":\"10001\","
     "\"nickname\":\"nick\\t\xe5"
     "\x90"
     "\x8d"
     "\",\"content\":[{\"type\":\"text\",\"data\":{\"text\":\"inside\"}}]}},{"
     "\"type\":\"x\",\"data\":{\"n\":[1,-2.5e3,{\"a\":true,\"b\":null,\"c\":"
     "\"\xc3"
     "\xa9"
     "\\\"\"}],\"o\":{},\"e\":[],\"s\":\"t\\n\"}}],\"auto_escape\":true}"},
    {"\"m\"", empty_msg, "{\"reply\":[]}"},
    {"\"m\"", none, NULL},
};


/* Prints s as a C string literal's inside (CQ_CAPTURE=1: to record). */
static void print_c(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;

        if (ch == '"' || ch == '\\')
            fprintf(stderr, "\\%c", ch);
        else if (ch < 0x20 || ch >= 0x7f)
            fprintf(stderr, "\\x%02x\"\"", ch);
        else
            fputc(ch, stderr);
    }
    fputc('\n', stderr);
}


T_CASE(quick_bytes)
{
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *json = NULL;
        char body[1024];

        snprintf(body, sizeof(body),
                 "{\"post_type\":\"message\",\"message\":%s}", cases[i].msg);
        T_EQ_INT(quick(body, cases[i].fill, &json), CQ_OK);
        if (getenv("CQ_CAPTURE") != NULL && json != NULL)
            print_c(json);
        else if (cases[i].want == NULL)
            T_CHECK(json == NULL);
        else
            T_EQ_STR(json, cases[i].want);
        free(json);
    }
}


/* The sink's bytes, gathered. */
static int gather(void *arg, const char *p, size_t n)
{
    return cq__buf_add(arg, p, n);
}


/* Through a sink of any bound, the pieces handed on and the tail left are
 * the bytes written whole, message and values included. */
T_CASE(quick_through_sink)
{
    static const size_t bounds[] = {1, 5, 64, 1000};
    cq_event *e = NULL;
    cq__conf conf;
    cq_ctx c;
    char *want = NULL;
    size_t i;

    cq__conf_init(&conf);
    T_EQ_INT(quick("{\"post_type\":\"message\"}", message, &want), CQ_OK);
    T_EQ_INT(cq_event_parse(&e, "{\"post_type\":\"message\"}", 23, 0), CQ_OK);
    cq__ctx_init(&c, e, &conf, NULL);
    message(&c);
    for (i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
        cq__buf got, out;
        cq__json_sink sink = {gather, &got, bounds[i]};

        cq__buf_init(&got, 1 << 20);
        cq__buf_init(&out, 1 << 20);
        T_EQ_INT(cq__ctx_quick_sink(&c, &out, &sink, 0), CQ_OK);
        T_CHECK(out.len <= bounds[i]);
        T_EQ_INT(cq__buf_add(&got, out.data, out.len), CQ_OK);
        T_EQ_STR(got.data, want);
        cq__buf_free(&got);
        cq__buf_free(&out);
    }
    cq__ctx_free(&c);
    cq_event_free(e);
    free(want);
}


/* Fields past those the context holds itself, and keys too long for a
 * field to hold, are kept, found again and written in order. */
static void many_fields(cq_ctx *c)
{
    char key[64];
    int i;

    for (i = 0; i < 10; i++) {
        snprintf(key, sizeof(key),
                 i % 2
                     ? "a_key_longer_than_a_field_or_a_one_append_key_holds_%d"
                     : "k%d",
                 i);
        cq_quick_int(c, key, i);
    }
    cq_quick_bool(c, "a_key_longer_than_a_field_or_a_one_append_key_holds_7",
                  1);
    cq_quick_string(c, "k2", "two");
}


T_CASE(many_fields_long_keys)
{
    char *json = NULL, want[512];
    size_t n = 0;
    int i;

    for (i = 0; i < 10; i++) {
        n += (size_t)snprintf(want + n, sizeof(want) - n,
                              i % 2 ? "%c\"a_key_longer_than_a_field_or_a_one_"
                                      "append_key_holds_%d\":"
                                    : "%c\"k%d\":",
                              i == 0 ? '{' : ',', i);
        n += (size_t)snprintf(want + n, sizeof(want) - n, "%s",
                              i == 7   ? "true"
                              : i == 2 ? "\"two\""
                                       : (char[2]){(char)('0' + i), '\0'});
    }
    snprintf(want + n, sizeof(want) - n, "}");
    T_EQ_INT(quick(msg_string, many_fields, &json), CQ_OK);
    T_EQ_STR(json, want);
    free(json);
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
    {"quick/bytes", quick_bytes},
    {"quick/many_fields_long_keys", many_fields_long_keys},
    {"quick/bytes_through_sink", quick_through_sink},
    {NULL, NULL},
};
