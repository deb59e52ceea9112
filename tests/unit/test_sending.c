/*
 * sending: before_sending hooks see, change or cancel the message of
 * message-sending API calls and of the quick-operation reply, and leave
 * everything else alone.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/api.h"
#include "lib/ctx.h"
#include "lib/sending.h"
#include "test.h"

static enum { LOOK, CHANGE, CANCEL } mode;
static int hooked;
static char hook_action[32], first_type[16];

static int hook(cq_ctx *c, const char *action, cq_msg *m)
{
    (void)c;
    hooked++;
    snprintf(hook_action, sizeof(hook_action), "%s", action);
    snprintf(first_type, sizeof(first_type), "%s",
             cq_msg_count(m) > 0 ? cq_msg_seg_type(m, 0) : "");
    if (mode == CHANGE)
        return cq_msg_add_text(m, "!");
    return mode == CANCEL ? CQ_EINVAL : CQ_OK;
}


static char sent[512];
static int nsent;

static int capture(void *arg, int64_t self_id, const char *action,
                   const char *params, cq_result *out)
{
    static const char ok[] = "{\"status\":\"ok\",\"retcode\":0,\"data\":null}";

    (void)arg;
    (void)self_id;
    (void)action;
    nsent++;
    snprintf(sent, sizeof(sent), "%s", params);
    return cq__api_result_from_body(ok, strlen(ok), out);
}


static const char group_event[] =
    "{\"post_type\":\"message\",\"message_type\":\"group\",\"group_id\":5,"
    "\"user_id\":6,\"self_id\":1,\"message\":\"hi\"}";

/* One call or reply with the hooks in mode m; fills sent or *quick. */
static int run(int m, int (*act)(cq_ctx *c, const cq_event *e), char **quick)
{
    cq__conf conf;
    cq__api *api;
    cq_event *e = NULL;
    cq_ctx c;
    int rc;

    mode = m;
    hooked = nsent = 0;
    sent[0] = hook_action[0] = first_type[0] = '\0';
    cq__conf_init(&conf);
    api = cq__api_new(&conf);
    cq__api_set_local(api, capture, NULL);
    cq_event_parse(&e, group_event, strlen(group_event), 0);
    cq__ctx_init(&c, e, &conf, api);
    rc = act(&c, e);
    if (quick != NULL && rc == CQ_OK)
        rc = cq__ctx_quick_json(&c, quick);
    cq__ctx_free(&c);
    cq_event_free(e);
    cq__api_free(api);
    cq__conf_free(&conf);
    return rc;
}


static int send_text(cq_ctx *c, const cq_event *e)
{
    return cq_send_text(c, e, "a [b]");
}


static int send_escaped(cq_ctx *c, const cq_event *e)
{
    return cq_send_ex(c, e, "[CQ:face,id=1]", CQ_SEND_AUTO_ESCAPE, NULL);
}


static int send_group(cq_ctx *c, const cq_event *e)
{
    (void)e;
    return cq_call(c, "send_group_msg",
                   "{\"group_id\":5,\"message\":[{\"type\":\"face\","
                   "\"data\":{\"id\":\"1\"}}]}",
                   NULL);
}


/* Members of every kind around the message, and a message with a value
 * that is JSON, so that the rewritten call is checked byte for byte. */
static int send_mixed(cq_ctx *c, const cq_event *e)
{
    (void)e;
    return cq_call(c, "send_msg",
                   "{\"n\":-1.50e+2,\"message\":[{\"type\":\"x\","
                   "\"data\":{\"v\":{\"a\":[1,true,null]}}}],\"s\":"
                   "\"\\u00e9\\/\\t\",\"auto_escape\":false,\"o\":"
                   "{\"k\":[{},[]]},\"f\":false}",
                   NULL);
}


static int get_status(cq_ctx *c, const cq_event *e)
{
    (void)e;
    return cq_call(c, "get_status", NULL, NULL);
}


static int reply(cq_ctx *c, const cq_event *e)
{
    (void)e;
    cq_quick_bool(c, "at_sender", 0);
    return cq_reply_text(c, "yo");
}


/* The reply first, then more fields than the context holds in itself, so
 * that dropping the reply moves fields across both parts. */
static int reply_then_many(cq_ctx *c, const cq_event *e)
{
    static const char *const keys[] = {"a", "b", "c", "d", "e"};
    size_t i;

    (void)e;
    if (cq_reply_text(c, "yo") != CQ_OK)
        return CQ_EINVAL;
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (cq_quick_int(c, keys[i], (int64_t)i) != CQ_OK)
            return CQ_EINVAL;
    return CQ_OK;
}


T_CASE(calls_hooked)
{
    char plain[512];

    cq__sending_reset();
    T_EQ_INT(run(LOOK, send_text, NULL), CQ_OK);
    T_EQ_INT(hooked, 0);
    snprintf(plain, sizeof(plain), "%s", sent);
    T_EQ_INT(cq_on_before_sending(NULL), CQ_EINVAL);
    T_EQ_INT(cq_on_before_sending(hook), CQ_OK);
    /* Looking only: the call goes out exactly as built. */
    T_EQ_INT(run(LOOK, send_text, NULL), CQ_OK);
    T_EQ_INT(hooked, 1);
    T_EQ_STR(hook_action, "send_msg");
    T_EQ_STR(first_type, "text");
    T_EQ_STR(sent, plain);
    /* Changed: the message goes out as an array, other members kept. */
    T_EQ_INT(run(CHANGE, send_text, NULL), CQ_OK);
    T_CHECK(strstr(sent, "\"group_id\":5") != NULL);
    T_CHECK(strstr(sent, "\"message\":[{\"type\":\"text\",\"data\":{\"text\":"
                         "\"a [b]!\"}}]") != NULL);
    /* auto_escape text is literal text for the hook, and dropped after. */
    T_EQ_INT(run(LOOK, send_escaped, NULL), CQ_OK);
    T_EQ_STR(first_type, "text");
    T_CHECK(strstr(sent, "\"auto_escape\":true") != NULL);
    T_EQ_INT(run(CHANGE, send_escaped, NULL), CQ_OK);
    T_CHECK(strstr(sent, "auto_escape") == NULL);
    T_CHECK(strstr(sent, "[CQ:face,id=1]!") != NULL);
    /* Arrays, through cq_call() too. */
    T_EQ_INT(run(LOOK, send_group, NULL), CQ_OK);
    T_EQ_STR(hook_action, "send_group_msg");
    T_EQ_STR(first_type, "face");
    /* The other members as yajl_gen writes them, the message last. */
    T_EQ_INT(run(CHANGE, send_mixed, NULL), CQ_OK);
    T_EQ_STR(sent, "{\"n\":-1.50e+2,\"s\":\"\xc3\xa9/\\t\",\"o\":{\"k\":"
                   "[{},[]]},\"f\":false,\"message\":[{\"type\":\"x\","
                   "\"data\":{\"v\":{\"a\":[1,true,null]}}},{\"type\":"
                   "\"text\",\"data\":{\"text\":\"!\"}}]}");
    /* Cancelled: never sent. */
    T_EQ_INT(run(CANCEL, send_text, NULL), CQ_ECANCELED);
    T_EQ_INT(nsent, 0);
    /* Other actions are not hooked. */
    T_EQ_INT(run(CANCEL, get_status, NULL), CQ_OK);
    T_EQ_INT(hooked, 0);
    T_EQ_INT(nsent, 1);
    cq__sending_reset();
}


T_CASE(reply_hooked)
{
    char *q = NULL;

    cq__sending_reset();
    T_EQ_INT(cq_on_before_sending(hook), CQ_OK);
    T_EQ_INT(run(LOOK, reply, &q), CQ_OK);
    T_EQ_STR(hook_action, "reply");
    T_EQ_STR(q, "{\"at_sender\":false,\"reply\":\"yo\"}");
    free(q);
    T_EQ_INT(run(CHANGE, reply, &q), CQ_OK);
    T_EQ_STR(q, "{\"at_sender\":false,\"reply\":[{\"type\":\"text\",\"data\":"
                "{\"text\":\"yo!\"}}]}");
    free(q);
    T_EQ_INT(run(CANCEL, reply, &q), CQ_OK);
    T_EQ_STR(q, "{\"at_sender\":false}");
    free(q);
    T_EQ_INT(run(CANCEL, reply_then_many, &q), CQ_OK);
    T_EQ_STR(q, "{\"a\":0,\"b\":1,\"c\":2,\"d\":3,\"e\":4}");
    free(q);
    T_EQ_INT(nsent, 0);
    cq__sending_reset();
}


T_SUITE(test_sending_cases) = {
    {"sending/calls_hooked", calls_hooked},
    {"sending/reply_hooked", reply_hooked},
    {NULL, NULL},
};
