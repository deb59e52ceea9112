/*
 * Handlers linked only into the test responder, beside the example bot: one
 * that fails on post_type "test_fail", so the tests can see a 500 and the
 * next request succeed.
 */
#include <stdlib.h>

#include <cqhttp.h>

static int on_test_fail(cq_ctx *c, const cq_event *e)
{
    (void)c;
    (void)e;
    return CQ_EHANDLER;
}
CQ_ON(on_test_fail, "test_fail");


/*
 * post_type "test_api": calls the action named by the event's "action" with
 * its "params" and answers with what the handler saw, so the tests can check
 * each error kind where a handler meets it.
 */
static int on_test_api(cq_ctx *c, const cq_event *e)
{
    const char *action = cq_event_string(e, "action");
    char *params = cq_value_to_json(cq_event_get(e, "params"));
    char *data;
    cq_result r;
    int rc;

    rc = cq_call(c, action, params, &r);
    free(params);
    cq_quick_int(c, "code", rc);
    cq_quick_string(c, "error", cq_strerror(rc));
    cq_quick_string(c, "detail", r.detail);
    cq_quick_int(c, "retcode", r.retcode);
    cq_quick_int(c, "status", r.status);
    data = cq_value_to_json(r.data);
    if (data != NULL)
        cq_quick_string(c, "data", data);
    free(data);
    cq_result_free(&r);
    return CQ_OK;
}
CQ_ON(on_test_api, "test_api");


/*
 * post_type "test_wrappers": calls a few typed wrappers, one per parameter
 * kind, and a segment-message send, so the tests can read the exact params
 * they put on the wire.
 */
static int on_test_wrappers(cq_ctx *c, const cq_event *e)
{
    cq_msg *m = cq_msg_new();
    cq_result r;
    int64_t uid = cq_event_user_id(e);
    int rc;

    cq_msg_add_text(m, "a&[b]");
    cq_msg_add_face(m, 178);
    rc = cq_send_private_msg(c, uid, m, CQ_OMIT_BOOL, NULL);
    if (rc == CQ_OK)
        rc = cq_set_group_ban(c, 5, uid, CQ_OMIT, NULL);
    if (rc == CQ_OK)
        rc = cq_set_friend_add_request(c, "flag-1", 1, NULL, NULL);
    if (rc == CQ_OK)
        rc = cq_handle_quick_operation(c, "{\"post_type\":\"message\"}",
                                       "{\"reply\":\"hi\"}", NULL);
    if (rc == CQ_OK)
        rc = cq_send_message(c, e, m, CQ_SEND_AT_SENDER, NULL);
    if (rc == CQ_OK) {
        rc = cq_get_login_info(c, &r);
        if (rc == CQ_OK)
            cq_quick_string(c, "nickname",
                            cq_value_string(cq_value_get(r.data, "nickname")));
        cq_result_free(&r);
    }
    /* A required message given as NULL never reaches the wire. */
    if (rc == CQ_OK && cq_send_group_msg(c, 1, NULL, 0, NULL) != CQ_EINVAL)
        rc = CQ_EHANDLER;
    cq_msg_free(m);
    cq_quick_int(c, "code", rc);
    return CQ_OK;
}
CQ_ON(on_test_wrappers, "test_wrappers");


/*
 * Issue 11's bot layer. A startup hook that keeps "bot.greeting" as the
 * user data, or fails when CQ_TEST_STARTUP_FAIL is set; a command handler
 * answering /echo with its argument and what the hook kept; and, when
 * CQ_TEST_BAD_NAME is set, a handler registered under a misspelt name, so
 * the tests see the program refuse to start.
 */
static int on_test_startup(void)
{
    if (getenv("CQ_TEST_STARTUP_FAIL") != NULL)
        return CQ_EINVAL;
    cq_set_userdata((void *)cq_setting("greeting"));
    cq_log(CQ_LOG_INFO, "test startup hook ran");
    return CQ_OK;
}
CQ_ON_STARTUP(on_test_startup);


static int on_test_shutdown(void)
{
    cq_log(CQ_LOG_INFO, "test shutdown hook ran");
    return CQ_OK;
}
CQ_ON_SHUTDOWN(on_test_shutdown);


static int on_test_echo(cq_ctx *c, const cq_event *e)
{
    const char *kept = cq_userdata();

    (void)e;
    return cq_reply_textf(c, "%s: %s (%zu)", kept ? kept : "-",
                          cq_command_arg(c), cq_command_argc(c));
}
CQ_ON_COMMAND(on_test_echo, "test_echo");


static int on_test_misspelt(cq_ctx *c, const cq_event *e)
{
    (void)c;
    (void)e;
    return CQ_OK;
}


__attribute__((constructor)) static void register_misspelt(void)
{
    static const char *const names[] = {"privte", NULL};
    static const cq_handler h = {"message",          names,    on_test_misspelt,
                                 "on_test_misspelt", __FILE__, __LINE__};

    if (getenv("CQ_TEST_BAD_NAME") != NULL)
        cq_register(&h);
}
