/*
 * The example bot from the Python SDK's README, in C: it echoes every
 * message back, welcomes new group members and approves every friend and
 * group request.
 */
#include <cqhttp.h>

static int on_message(cq_ctx *c, const cq_event *e)
{
    /*
     * An API call. Its failure (no API configured yet, say) is logged by the
     * library and must not stop the reply below, so it is not checked.
     */
    cq_send_text(c, e, "你好呀，下面一条是你刚刚发的：");
    /* The quick operation: echo the message without @-ing the sender. */
    cq_reply(c, cq_event_message(e));
    cq_quick_bool(c, "at_sender", 0);
    return CQ_OK;
}
CQ_ON_MESSAGE(on_message);


static int on_group_increase(cq_ctx *c, const cq_event *e)
{
    cq_send_ex(c, e, "欢迎新人～", CQ_SEND_AUTO_ESCAPE, NULL);
    return CQ_OK;
}
CQ_ON_NOTICE(on_group_increase, "group_increase");


static int on_request(cq_ctx *c, const cq_event *e)
{
    (void)e;
    return cq_approve(c, 1);
}
CQ_ON_REQUEST(on_request, "group", "friend");
