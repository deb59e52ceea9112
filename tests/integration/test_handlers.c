/*
 * Handlers linked only into the test responder, beside the example bot: one
 * that fails on post_type "test_fail", so the tests can see a 500 and the
 * next request succeed.
 */
#include <cqhttp.h>

static int on_test_fail(cq_ctx *c, const cq_event *e)
{
    (void)c;
    (void)e;
    return CQ_EHANDLER;
}
CQ_ON(on_test_fail, "test_fail");
