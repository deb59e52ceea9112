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
    int64_t group = cq_event_group_id(e), user = cq_event_user_id(e);
    cq_msg *m = cq_msg_new();
    int err = CQ_OK;

    if (strcmp(text, "/roll") == 0) {
        cq_msg_add_face(m, 178);
        cq_msg_add_textf(m, " 你掷出了 %d 点", rand() % 100 + 1);
        cq_reply_msg(c, m);
        cq_quick_bool(c, "at_sender", 1);
    } else if (strncmp(text, "/weather", 8) == 0) {
        const char *city = text + 8 + strspn(text + 8, " \t\r\n");

        cq_msg_add_at(m, user);
        cq_msg_add_textf(m, " %s: 晴 25°C", *city ? city : "北京");
        cq_msg_add_image(m, "sunny.png");
        err = cq_send_message(c, e, m, 0, NULL);
    } else if (strcmp(text, "/whoami") == 0) { /* (f) */
        cq_result r;
        int rc = cq_get_group_member_info(c, group, user, CQ_OMIT_BOOL, &r);
        const char *card = cq_result_string(&r, "card");

        if (rc == CQ_OK) {
            cq_reply_textf(
                c, "%s (%s, lv %s)",
                card && *card ? card : cq_result_string(&r, "nickname"),
                cq_result_string(&r, "role"), cq_result_string(&r, "level"));
            cq_quick_bool(c, "at_sender", 1);
        } else if (rc == CQ_EFAILED) /* (g) */
            cq_reply_textf(c, "查询失败 retcode=%lld", (long long)r.retcode);
        else if (rc != CQ_ENOAPI) /* No API: the library logs a warning. */
            cq_reply_text(c, "网络错误");
        cq_result_free(&r);
    }
    cq_msg_free(m);
    return err;
}
CQ_ON_MESSAGE(commands, "group");


static int welcome(cq_ctx *c, const cq_event *e) /* (c) */
{
    cq_result r;
    int64_t group = cq_event_group_id(e), user = cq_event_user_id(e);
    cq_msg *m = cq_msg_new();
    const char *name;
    int err;

    cq_get_group_member_info(c, group, user, CQ_OMIT_BOOL, &r);
    name = cq_result_string(&r, "nickname"); /* NULL if the call failed. */
    cq_msg_add_at(m, user);
    cq_msg_add_textf(m, " 欢迎%s～", name && *name ? name : "新人");
    cq_result_free(&r);
    err = cq_send_group_msg(c, group, m, CQ_OMIT_BOOL, NULL);
    cq_msg_free(m);
    return err;
}
CQ_ON_NOTICE(welcome, "group_increase");


static int requests(cq_ctx *c, const cq_event *e) /* (d) */
{
    if (strcmp(cq_event_detail_type(e), "friend") == 0)
        return cq_approve(c, 1);
    cq_approve(c, 0);
    return cq_quick_string(c, "reason", "本机器人不接受邀请");
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
    cq_set_program("weather-bot", "1.0.0");
    srand((unsigned)time(NULL));
    if (argc > 1 && strcmp(argv[1], "--bridge") == 0)
        return cq_bridge_main(argc - 1, argv + 1);
    return cq_fcgi_main(argc, argv);
}
