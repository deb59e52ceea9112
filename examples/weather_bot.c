/* ../shared/reference-bots/weather_bot.py (aiocqhttp 1.4.4), ported to C. */
#include <cqhttp_runtime.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int echo(cq_ctx *c, const cq_event *e) /* (a) */
{
    cq_reply(c, cq_event_message(e));
    return cq_quick_bool(c, "at_sender", 0);
}
CQ_ON_MESSAGE(echo, "private");


static int commands(cq_ctx *c, const cq_event *e) /* (b) */
{
    const char *text = cq_event_text(e) ? cq_event_text(e) : "";
    int64_t g = cq_event_group_id(e), u = cq_event_user_id(e);

    if (strcmp(text, "/roll") == 0) {
        cq_reply_cqf(c, "[CQ:face,id=178] 你掷出了 %d 点", rand() % 100 + 1);
        return cq_quick_bool(c, "at_sender", 1);
    }
    if (strncmp(text, "/weather", 8) == 0) {
        const char *city = text + 8 + strspn(text + 8, " \t\r\n");

        return cq_send_cqf(
            c, e, "[CQ:at,qq=%lld] %s: 晴 25°C[CQ:image,file=sunny.png]",
            (long long)u, *city ? city : "北京");
    }
    if (strcmp(text, "/whoami") != 0) /* (f) */
        return CQ_OK;
    const cq_result *r = cq_get_group_member_info_r(c, g, u, CQ_OMIT_BOOL);
    if (r->err == CQ_EFAILED) /* (g) */
        return cq_reply_textf(c, "查询失败 retcode=%d", (int)r->retcode);
    if (r->err != CQ_OK) /* No API: the library logs a warning. */
        return r->err == CQ_ENOAPI ? CQ_OK : cq_reply_text(c, "网络错误");
    cq_reply_textf(
        c, "%s (%s, lv %s)",
        cq_result_string_or(r, "card", cq_result_string(r, "nickname")),
        cq_result_string(r, "role"), cq_result_string(r, "level"));
    return cq_quick_bool(c, "at_sender", 1);
}
CQ_ON_MESSAGE(commands, "group");


static int welcome(cq_ctx *c, const cq_event *e) /* (c) */
{
    int64_t group = cq_event_group_id(e), user = cq_event_user_id(e);
    const cq_result *r =
        cq_get_group_member_info_r(c, group, user, CQ_OMIT_BOOL);
    cq_msg *m = cq_ctx_cqf(c, "[CQ:at,qq=%lld] 欢迎%s～", (long long)user,
                           cq_result_string_or(r, "nickname", "新人"));

    return cq_send_group_msg(c, group, m, CQ_OMIT_BOOL, NULL);
}
CQ_ON_NOTICE(welcome, "group_increase");


static int requests(cq_ctx *c, const cq_event *e) /* (d) */
{
    if (strcmp(cq_event_detail_type(e), "friend") == 0)
        return cq_approve(c, 1);
    return cq_reject(c, "本机器人不接受邀请");
}
CQ_ON_REQUEST(requests, "friend", "group.invite");


static int meta(cq_ctx *c, const cq_event *e) /* (e) */
{
    (void)c;
    cq_log(CQ_LOG_INFO, "meta %s", cq_event_name(e));
    return CQ_OK;
}
CQ_ON_META_EVENT(meta, "lifecycle", "heartbeat");


int main(int argc, char **argv) /* bot.run(): weather-bot [--bridge] ... */
{
    srand((unsigned)time(NULL));
    return cq_main(argc, argv);
}
