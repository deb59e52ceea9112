#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/ctx.h"
#include "lib/dispatch.h"
#include "test.h"

/* Each handler appends its letter, so the order can be read back. */
static char trail[64];

static void mark(char ch)
{
    size_t n = strlen(trail);

    if (n + 1 < sizeof(trail)) {
        trail[n] = ch;
        trail[n + 1] = '\0';
    }
}


static int h_a(cq_ctx *c, const cq_event *e)
{
    (void)e;
    mark('a');
    return cq_reply_text(c, "from a");
}


static int h_b(cq_ctx *c, const cq_event *e)
{
    (void)e;
    mark('b');
    return cq_reply_text(c, "from b");
}


static int h_c(cq_ctx *c, const cq_event *e)
{
    (void)c;
    (void)e;
    mark('c');
    return CQ_OK;
}


static int h_fail(cq_ctx *c, const cq_event *e)
{
    (void)c;
    (void)e;
    mark('x');
    return -1;
}


static const char *const none[] = {NULL};
static const char *const private_friend[] = {"private.friend", NULL};
static const char *const private_both[] = {"private", "private.friend", NULL};
static const char *const group[] = {"group", NULL};

/* Runs one event through the table; returns the rc and the quick JSON. */
static int run(const char *body, char **json)
{
    cq_event *e = NULL;
    cq__conf conf;
    cq_ctx c;
    int rc;

    trail[0] = '\0';
    *json = NULL;
    cq__conf_init(&conf);
    rc = cq_event_parse(&e, body, strlen(body), 0);
    if (rc != CQ_OK)
        return rc;
    cq__ctx_init(&c, e, &conf, NULL);
    rc = cq__dispatch(&c);
    if (rc == CQ_OK)
        rc = cq__ctx_quick_json(&c, json);
    cq__ctx_free(&c);
    cq_event_free(e);
    return rc;
}


static const char *friend_msg = "{\"post_type\":\"message\",\"message_type\":"
                                "\"private\",\"sub_type\":\"friend\"}";

/* Most specific name first; within a name by file, then line. */
T_CASE(order_most_specific_first)
{
    cq_handler hs[] = {
        {"message", none, h_a, "a", "z.c", 1},
        {"message", private_friend, h_b, "b", "b.c", 9},
        {"message", group, h_fail, "x", "a.c", 1},
        {"message", private_both, h_c, "c", "b.c", 3},
    };
    char *json;
    size_t i;

    cq__dispatch_reset();
    for (i = 0; i < 4; i++)
        T_EQ_INT(cq_register(&hs[i]), CQ_OK);
    T_EQ_INT(cq__dispatch_prepare(), 4);
    T_EQ_INT(run(friend_msg, &json), CQ_OK);
    /* c matches two levels and runs once, at the more specific one. */
    T_EQ_STR(trail, "cba");
    /* b set the quick operation first; a's later reply is ignored. */
    T_EQ_STR(json, "{\"reply\":\"from b\"}");
    free(json);
    cq__dispatch_reset();
}


T_CASE(failure_stops)
{
    cq_handler hs[] = {
        {"message", none, h_a, "a", "b.c", 1},
        {"message", none, h_fail, "fail", "a.c", 1},
        {NULL, group, h_c, "c", "c.c", 1}, /* "group" alone: no match. */
    };
    char *json;

    cq__dispatch_reset();
    T_EQ_INT(cq_register(&hs[0]), CQ_OK);
    T_EQ_INT(cq_register(&hs[1]), CQ_OK);
    T_EQ_INT(cq_register(&hs[2]), CQ_OK);
    T_EQ_INT(run(friend_msg, &json), CQ_EHANDLER);
    T_EQ_STR(trail, "x");
    T_CHECK(json == NULL);
    cq__dispatch_reset();
}


T_CASE(no_match_no_answer)
{
    cq_handler h = {"notice", none, h_a, "a", "a.c", 1};
    char *json;

    cq__dispatch_reset();
    T_EQ_INT(cq_register(&h), CQ_OK);
    T_EQ_INT(run(friend_msg, &json), CQ_OK);
    T_EQ_STR(trail, "");
    T_CHECK(json == NULL);
    cq__dispatch_reset();
}


T_CASE(register_rejects)
{
    cq_handler no_fn = {"message", none, NULL, "n", "a.c", 1};
    cq_handler no_name = {NULL, none, h_a, "n", "a.c", 1};

    T_EQ_INT(cq_register(NULL), CQ_EINVAL);
    T_EQ_INT(cq_register(&no_fn), CQ_EINVAL);
    T_EQ_INT(cq_register(&no_name), CQ_EINVAL);
}


T_SUITE(test_dispatch_cases) = {
    {"dispatch/order_most_specific_first", order_most_specific_first},
    {"dispatch/failure_stops", failure_stops},
    {"dispatch/no_match_no_answer", no_match_no_answer},
    {"dispatch/register_rejects", register_rejects},
    {NULL, NULL},
};
