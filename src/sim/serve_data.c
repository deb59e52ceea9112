/*
 * serve_data: the plausible data "cqhttp-sim serve" answers each action
 * with, shaped as PROTOCOL.md section 7 says and echoing the ids asked for.
 * Actions not in the table answer null.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "cqhttp.h"
#include "sim/serve.h"

#define FRIEND_ID   10001001
#define FRIEND2_ID  10001002
#define GROUP_ID    20002000
#define GROUP2_ID   20002001
#define CSRF_TOKEN  1234567890
#define FILE_PREFIX "/tmp/cqhttp-sim/"

typedef void data_fn(cq__jw *w, yajl_val p, cq__sim_world *world);

yajl_val cq__sim_param(yajl_val params, const char *name)
{
    size_t i;

    if (params == NULL || params->type != yajl_t_object)
        return NULL;
    for (i = 0; i < params->u.object.len; i++) {
        yajl_val v = params->u.object.values[i];

        if (strcmp(params->u.object.keys[i], name) == 0)
            return v == NULL || v->type == yajl_t_null ? NULL : v;
    }
    return NULL;
}

int64_t cq__sim_param_i64(yajl_val params, const char *name, int64_t dflt)
{
    int64_t v;

    if (cq_value_int(cq__cv(cq__sim_param(params, name)), &v) != CQ_OK)
        return dflt;
    return v;
}

static const char *param_str(yajl_val params, const char *name)
{
    const char *s = YAJL_GET_STRING(cq__sim_param(params, name));

    return s != NULL ? s : "";
}

static void message_id(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    uint32_t id = world->next_message_id++;

    (void)p;
    cq__jw_open(w);
    /* Message ids are int32 and often negative, as gocq's are. */
    cq__jw_kint(w, "message_id",
                id <= INT32_MAX ? (int64_t)id : (int64_t)id - 4294967296);
    cq__jw_close(w);
}

static void get_msg(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    int64_t id = cq__sim_param_i64(p, "message_id", 0);

    (void)world;
    cq__jw_open(w);
    cq__jw_kint(w, "time", (int64_t)time(NULL));
    cq__jw_kstr(w, "message_type", "private");
    cq__jw_kint(w, "message_id", id);
    cq__jw_kint(w, "real_id", id);
    cq__jw_key(w, "sender");
    cq__jw_open(w);
    cq__jw_kint(w, "user_id", FRIEND_ID);
    cq__jw_kstr(w, "nickname", "sim-user");
    cq__jw_close(w);
    cq__jw_kstr(w, "message", "hello from cqhttp-sim");
    cq__jw_close(w);
}

static void get_forward_msg(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    (void)p;
    (void)world;
    cq__jw_open(w);
    cq__jw_key(w, "message");
    cq__jw_aopen(w);
    cq__jw_open(w);
    cq__jw_kstr(w, "type", "node");
    cq__jw_key(w, "data");
    cq__jw_open(w);
    cq__jw_kstr(w, "user_id", "10001001");
    cq__jw_kstr(w, "nickname", "sim-user");
    cq__jw_kstr(w, "content", "hello from cqhttp-sim");
    cq__jw_close(w);
    cq__jw_close(w);
    cq__jw_aclose(w);
    cq__jw_close(w);
}

static void get_login_info(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    (void)p;
    cq__jw_open(w);
    cq__jw_kint(w, "user_id", world->self_id);
    cq__jw_kstr(w, "nickname", "cqhttp-sim");
    cq__jw_close(w);
}

static void get_stranger_info(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    (void)world;
    cq__jw_open(w);
    cq__jw_kint(w, "user_id", cq__sim_param_i64(p, "user_id", 0));
    cq__jw_kstr(w, "nickname", "sim-stranger");
    cq__jw_kstr(w, "sex", "unknown");
    cq__jw_kint(w, "age", 0);
    cq__jw_close(w);
}

static void friend(cq__jw *w, int64_t id, const char *nick, const char *remark)
{
    cq__jw_open(w);
    cq__jw_kint(w, "user_id", id);
    cq__jw_kstr(w, "nickname", nick);
    cq__jw_kstr(w, "remark", remark);
    cq__jw_close(w);
}

static void get_friend_list(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    (void)p;
    (void)world;
    cq__jw_aopen(w);
    friend(w, FRIEND_ID, "sim-user", "");
    friend(w, FRIEND2_ID, "sim-friend", "a friend");
    cq__jw_aclose(w);
}

static void group(cq__jw *w, int64_t id)
{
    char name[48];

    snprintf(name, sizeof(name), "sim-group-%lld", (long long)id);
    cq__jw_open(w);
    cq__jw_kint(w, "group_id", id);
    cq__jw_kstr(w, "group_name", name);
    cq__jw_kint(w, "member_count", 3);
    cq__jw_kint(w, "max_member_count", 200);
    cq__jw_close(w);
}

static void get_group_info(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    (void)world;
    group(w, cq__sim_param_i64(p, "group_id", GROUP_ID));
}

static void get_group_list(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    (void)p;
    (void)world;
    cq__jw_aopen(w);
    group(w, GROUP_ID);
    group(w, GROUP2_ID);
    cq__jw_aclose(w);
}

static void member(cq__jw *w, int64_t group_id, int64_t user_id,
                   const char *role)
{
    int64_t now = (int64_t)time(NULL);

    cq__jw_open(w);
    cq__jw_kint(w, "group_id", group_id);
    cq__jw_kint(w, "user_id", user_id);
    cq__jw_kstr(w, "nickname", "sim-user");
    cq__jw_kstr(w, "card", "");
    cq__jw_kstr(w, "sex", "unknown");
    cq__jw_kint(w, "age", 0);
    cq__jw_kstr(w, "area", "");
    cq__jw_kint(w, "join_time", now - 86400);
    cq__jw_kint(w, "last_sent_time", now - 60);
    cq__jw_kstr(w, "level", "1");
    cq__jw_kstr(w, "role", role);
    cq__jw_kbool(w, "unfriendly", 0);
    cq__jw_kstr(w, "title", "");
    cq__jw_kint(w, "title_expire_time", 0);
    cq__jw_kbool(w, "card_changeable", 1);
    cq__jw_close(w);
}

static void get_group_member_info(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    int64_t user = cq__sim_param_i64(p, "user_id", 0);

    member(w, cq__sim_param_i64(p, "group_id", GROUP_ID), user,
           user == world->self_id ? "owner" : "member");
}

static void get_group_member_list(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    int64_t g = cq__sim_param_i64(p, "group_id", GROUP_ID);

    cq__jw_aopen(w);
    member(w, g, world->self_id, "owner");
    member(w, g, FRIEND_ID, "admin");
    member(w, g, FRIEND2_ID, "member");
    cq__jw_aclose(w);
}

static void get_group_honor_info(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    static const char *const lists[] = {"talkative_list", "performer_list",
                                        "legend_list", "strong_newbie_list",
                                        "emotion_list"};
    size_t i;

    (void)world;
    cq__jw_open(w);
    cq__jw_kint(w, "group_id", cq__sim_param_i64(p, "group_id", 0));
    cq__jw_key(w, "current_talkative");
    cq__jw_open(w);
    cq__jw_kint(w, "user_id", FRIEND_ID);
    cq__jw_kstr(w, "nickname", "sim-user");
    cq__jw_kstr(w, "avatar", "");
    cq__jw_kint(w, "day_count", 1);
    cq__jw_close(w);
    for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        cq__jw_key(w, lists[i]);
        cq__jw_aopen(w);
        cq__jw_aclose(w);
    }
    cq__jw_close(w);
}

static void credentials(cq__jw *w, yajl_val p, cq__sim_world *world,
                        int cookies, int token)
{
    char jar[96];

    (void)p;
    snprintf(jar, sizeof(jar), "uin=o%lld; skey=@cqhttpsim",
             (long long)world->self_id);
    cq__jw_open(w);
    if (cookies)
        cq__jw_kstr(w, "cookies", jar);
    if (token)
        cq__jw_kint(w, cookies ? "csrf_token" : "token", CSRF_TOKEN);
    cq__jw_close(w);
}

static void get_cookies(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    credentials(w, p, world, 1, 0);
}

static void get_credentials(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    credentials(w, p, world, 1, 1);
}

static void get_csrf_token(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    credentials(w, p, world, 0, 1);
}

static void local_file(cq__jw *w, const char *name, const char *ext)
{
    char path[512];

    snprintf(path, sizeof(path), FILE_PREFIX "%s%s%s", name,
             ext[0] != '\0' ? "." : "", ext);
    cq__jw_open(w);
    cq__jw_kstr(w, "file", path);
    cq__jw_close(w);
}

static void get_record(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    (void)world;
    local_file(w, param_str(p, "file"), param_str(p, "out_format"));
}

static void get_image(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    (void)world;
    local_file(w, param_str(p, "file"), "");
}

static void can_send(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    (void)p;
    (void)world;
    cq__jw_open(w);
    cq__jw_kbool(w, "yes", 1);
    cq__jw_close(w);
}

static void get_status(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    (void)p;
    (void)world;
    cq__jw_open(w);
    cq__jw_kbool(w, "online", 1);
    cq__jw_kbool(w, "good", 1);
    cq__jw_close(w);
}

static void get_version_info(cq__jw *w, yajl_val p, cq__sim_world *world)
{
    (void)p;
    (void)world;
    cq__jw_open(w);
    cq__jw_kstr(w, "app_name", CQ__SIM_PROG);
    cq__jw_kstr(w, "app_version", CQ_VERSION);
    cq__jw_kstr(w, "protocol_version", "v11");
    cq__jw_close(w);
}

/* A NULL writer answers status "async" (the action is queued). */
static const struct {
    const char *action;
    data_fn *fn;
} table[] = {
    {"send_private_msg", message_id},
    {"send_group_msg", message_id},
    {"send_discuss_msg", message_id},
    {"send_msg", message_id},
    {"get_msg", get_msg},
    {"get_forward_msg", get_forward_msg},
    {"get_login_info", get_login_info},
    {"get_stranger_info", get_stranger_info},
    {"get_friend_list", get_friend_list},
    {"get_group_info", get_group_info},
    {"get_group_list", get_group_list},
    {"get_group_member_info", get_group_member_info},
    {"get_group_member_list", get_group_member_list},
    {"get_group_honor_info", get_group_honor_info},
    {"get_cookies", get_cookies},
    {"get_credentials", get_credentials},
    {"get_csrf_token", get_csrf_token},
    {"get_record", get_record},
    {"get_image", get_image},
    {"can_send_image", can_send},
    {"can_send_record", can_send},
    {"get_status", get_status},
    {"get_version_info", get_version_info},
    {"set_restart", NULL},
    {"set_restart_plugin", NULL},
    {".check_update", NULL},
};

int cq__sim_data(cq__jw *w, const char *action, yajl_val params,
                 cq__sim_world *world)
{
    size_t i;

    for (i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(table[i].action, action) != 0)
            continue;
        if (table[i].fn == NULL)
            return 1;
        table[i].fn(w, params, world);
        return 0;
    }
    cq__jw_null(w);
    return 0;
}
