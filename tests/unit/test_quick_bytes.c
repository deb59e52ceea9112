/*
 * The quick operation's bytes, exactly: each expected text below is what
 * the writer on yajl_gen (cq__jwb, before the quick operation moved to
 * lib/json_put.h) wrote for the same fields, so that the writer can change
 * without a caller seeing a byte of difference: escapes, non-ASCII text,
 * messages (stored JSON values among their parameters), booleans, integers
 * at their limits and nested values written back as received.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/ctx.h"
#include "test.h"

/* Builds a context on an event whose message is msg (JSON), runs fill, and
 * stores the quick JSON in *json. */
static int quick(const char *msg, void (*fill)(cq_ctx *c), char **json)
{
    cq_event *e = NULL;
    char body[1024];
    cq__conf conf;
    cq_ctx c;
    int rc;

    snprintf(body, sizeof(body), "{\"post_type\":\"message\",\"message\":%s}",
             msg);
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


static void echo(cq_ctx *c)
{
    cq_reply(c, cq_event_message(cq_ctx_event(c)));
    cq_quick_bool(c, "at_sender", 0);
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

        T_EQ_INT(quick(cases[i].msg, cases[i].fill, &json), CQ_OK);
        if (getenv("CQ_CAPTURE") != NULL && json != NULL)
            print_c(json);
        else if (cases[i].want == NULL)
            T_CHECK(json == NULL);
        else
            T_EQ_STR(json, cases[i].want);
        free(json);
    }
}


T_SUITE(test_quick_bytes_cases) = {
    {"quick_bytes", quick_bytes},
    {NULL, NULL},
};
