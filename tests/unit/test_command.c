/*
 * Commands, registration checks, bot settings and lifecycle hooks
 * (cqhttp_bot.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cqhttp.h"
#include "lib/conf.h"
#include "lib/ctx.h"
#include "lib/dispatch.h"
#include "lib/lifecycle.h"
#include "lib/settings.h"
#include "test.h"

/* What the handlers saw, for the cases to read back. */
static char seen[256];

static void note(const char *what, const cq_ctx *c)
{
    size_t n = strlen(seen), i;

    n += (size_t)snprintf(seen + n, sizeof(seen) - n, "%s(%s|%s|%zu", what,
                          cq_command_name(c) ? cq_command_name(c) : "-",
                          cq_command_arg(c) ? cq_command_arg(c) : "-",
                          cq_command_argc(c));
    for (i = 0; i < cq_command_argc(c) && n < sizeof(seen); i++)
        n += (size_t)snprintf(seen + n, sizeof(seen) - n, ",%s",
                              cq_command_argv(c, i));
    if (n < sizeof(seen))
        snprintf(seen + n, sizeof(seen) - n, ")");
}


static int h_weather(cq_ctx *c, const cq_event *e)
{
    (void)e;
    note("W", c);
    return CQ_OK;
}


static int h_any(cq_ctx *c, const cq_event *e)
{
    (void)e;
    note("F", c);
    return CQ_OK;
}


static int h_msg(cq_ctx *c, const cq_event *e)
{
    (void)e;
    note("M", c);
    return CQ_OK;
}


/* Registered twice below by the macros: it must compile (issue 11). */
static int h_twice(cq_ctx *c, const cq_event *e)
{
    (void)e;
    note("T", c);
    return CQ_OK;
}
CQ_ON_MESSAGE(h_twice, "group");
CQ_ON(h_twice, "message.private");
/* The same expansion with names the cases can reach. */
CQ__REGISTER_AS(twice_a, "message", h_twice, "group", NULL);
CQ__REGISTER_AS(twice_b, NULL, h_twice, "message.group.normal", NULL);

static const char *const no_names[] = {NULL};
static const char *const weather_names[] = {"weather", "天气", NULL};

/* Dispatches body with the given command_prefix (NULL: the default). */
static int run(const char *body, const char *prefix)
{
    cq_event *e = NULL;
    cq__conf conf;
    cq_ctx c;
    int rc;

    seen[0] = '\0';
    cq__conf_init(&conf);
    conf.command_prefix = (char *)prefix;
    rc = cq_event_parse(&e, body, strlen(body), 0);
    if (rc != CQ_OK)
        return rc;
    cq__ctx_init(&c, e, &conf, NULL);
    rc = cq__dispatch(&c);
    cq__ctx_free(&c);
    cq_event_free(e);
    return rc;
}


/* A message event from user 2 to bot 10, group 3 when group is set. */
static char *msg(int group, const char *message)
{
    static char buf[1024];

    snprintf(buf, sizeof(buf),
             "{\"post_type\":\"message\",\"message_type\":\"%s\","
             "\"self_id\":10,\"user_id\":2,%s\"message\":%s}",
             group ? "group" : "private", group ? "\"group_id\":3," : "",
             message);
    return buf;
}


static void register_commands(void)
{
    static const cq_handler hs[] = {
        {"command", weather_names, h_weather, "w", "a.c", 1},
        {"command", no_names, h_any, "f", "a.c", 2},
        {"message", no_names, h_msg, "m", "a.c", 3},
    };
    size_t i;

    cq__dispatch_reset();
    for (i = 0; i < 3; i++)
        cq_register(&hs[i]);
}


T_CASE(command_words_and_args)
{
    register_commands();
    T_EQ_INT(cq__dispatch_prepare(), 3);
    T_EQ_INT(run(msg(0, "\"/weather  北京 \\t朝阳\""), NULL), CQ_OK);
    T_EQ_STR(seen, "W(weather|北京 \t朝阳|2,北京,朝阳)M(weather|北京 \t朝阳|2,"
                   "北京,朝阳)");
    T_EQ_INT(run(msg(1, "\"/天气\""), NULL), CQ_OK);
    T_EQ_STR(seen, "W(天气||0)M(天气||0)");
    /* The word must end at white space (here U+3000) or the end. */
    T_EQ_INT(run(msg(1, "\"/weathers\""), NULL), CQ_OK);
    T_EQ_STR(seen, "F(weathers||0)M(weathers||0)");
    T_EQ_INT(run(msg(1, "\"/weather\xe3\x80\x80上海\""), NULL), CQ_OK);
    T_EQ_STR(seen, "W(weather|上海|1,上海)M(weather|上海|1,上海)");
    /* Not commands: no prefix, a prefix alone, another prefix. */
    T_EQ_INT(run(msg(0, "\"weather x\""), NULL), CQ_OK);
    T_EQ_STR(seen, "M(-|-|0)");
    T_EQ_INT(run(msg(0, "\"/ weather\""), NULL), CQ_OK);
    T_EQ_STR(seen, "M(-|-|0)");
    T_EQ_INT(run(msg(0, "\"!weather\""), NULL), CQ_OK);
    T_EQ_STR(seen, "M(-|-|0)");
    cq__dispatch_reset();
}


T_CASE(command_prefixes)
{
    register_commands();
    T_EQ_INT(run(msg(0, "\"!weather a\""), "/,!"), CQ_OK);
    T_EQ_STR(seen, "W(weather|a|1,a)M(weather|a|1,a)");
    /* The longest prefix that matches wins. */
    T_EQ_INT(run(msg(0, "\"//weather\""), "/,//"), CQ_OK);
    T_EQ_STR(seen, "W(weather||0)M(weather||0)");
    T_EQ_INT(run(msg(0, "\"/weather\""), "!"), CQ_OK);
    T_EQ_STR(seen, "M(-|-|0)");
    /* An empty item accepts commands with no prefix. */
    T_EQ_INT(run(msg(0, "\"weather b\""), "/,"), CQ_OK);
    T_EQ_STR(seen, "W(weather|b|1,b)M(weather|b|1,b)");
    cq__dispatch_reset();
}


T_CASE(command_at_and_reply)
{
    register_commands();
    T_EQ_INT(run(msg(1, "\"[CQ:reply,id=5][CQ:at,qq=10] /weather x\""), NULL),
             CQ_OK);
    T_EQ_STR(seen, "W(weather|x|1,x)M(weather|x|1,x)");
    T_EQ_INT(run(msg(1, "[{\"type\":\"at\",\"data\":{\"qq\":10}},"
                        "{\"type\":\"text\",\"data\":{\"text\":\" /weather"
                        "\"}}]"),
                 NULL),
             CQ_OK);
    T_EQ_STR(seen, "W(weather||0)M(weather||0)");
    /* An at to someone else, or a reply not first, is no command. */
    T_EQ_INT(run(msg(1, "\"[CQ:at,qq=11] /weather\""), NULL), CQ_OK);
    T_EQ_STR(seen, "M(-|-|0)");
    T_EQ_INT(run(msg(1, "\"[CQ:at,qq=10][CQ:reply,id=5]/weather\""), NULL),
             CQ_OK);
    T_EQ_STR(seen, "M(-|-|0)");
    T_EQ_INT(run(msg(1, "\"[CQ:face,id=1]/weather\""), NULL), CQ_OK);
    T_EQ_STR(seen, "M(-|-|0)");
    cq__dispatch_reset();
}


T_CASE(command_only_messages)
{
    register_commands();
    T_EQ_INT(run("{\"post_type\":\"notice\",\"notice_type\":\"friend_add\","
                 "\"message\":\"/weather\"}",
                 NULL),
             CQ_OK);
    T_EQ_STR(seen, "");
    /* An event named like a command does not reach command handlers. */
    T_EQ_INT(
        run("{\"post_type\":\"command\",\"command_type\":\"weather\"}", NULL),
        CQ_OK);
    T_EQ_STR(seen, "");
    cq__dispatch_reset();
}


/* One function, two registrations: it runs once per matching one. */
T_CASE(register_twice)
{
    cq__dispatch_reset();
    T_EQ_INT(cq_register(&twice_a_handler), CQ_OK);
    T_EQ_INT(cq_register(&twice_b_handler), CQ_OK);
    T_EQ_INT(cq__dispatch_prepare(), 2);
    T_EQ_INT(run(msg(1, "\"hi\""), NULL), CQ_OK);
    T_EQ_STR(seen, "T(-|-|0)");
    T_EQ_INT(run("{\"post_type\":\"message\",\"message_type\":\"group\","
                 "\"sub_type\":\"normal\",\"message\":\"hi\"}",
                 NULL),
             CQ_OK);
    T_EQ_STR(seen, "T(-|-|0)T(-|-|0)");
    cq__dispatch_reset();
}


/* Registers one handler under prefix and name; returns prepare's result. */
static int prepare_one(const char *prefix, const char *name)
{
    static const char *names[2];
    static cq_handler h;

    names[0] = name;
    names[1] = NULL;
    h = (cq_handler){prefix, names, h_msg, "on_x", "bot.c", 7};
    cq__dispatch_reset();
    if (cq_register(&h) != CQ_OK)
        return -100;
    return cq__dispatch_prepare();
}


T_CASE(registration_checked)
{
    const char *err;

    T_EQ_INT(prepare_one("message", "private.friend"), 1);
    T_EQ_INT(prepare_one("notice", "notify.poke"), 1);
    T_EQ_INT(prepare_one("meta_event", "lifecycle.connect"), 1);
    T_EQ_INT(prepare_one(NULL, "message_sent.group"), 1);
    T_EQ_INT(prepare_one(NULL, "test_fail"), 1); /* Its own, warned. */
    T_EQ_INT(prepare_one("command", "weather"), 1);
    T_EQ_INT(prepare_one("message", "privte"), CQ_EINVAL);
    err = cq__dispatch_error();
    T_CHECK(strstr(err, "handler on_x (bot.c:7): unknown event name "
                        "\"message.privte\"") == err);
    T_CHECK(strstr(err, "message.private.friend, ") != NULL);
    T_CHECK(strstr(err, "message.group.anonymous") != NULL);
    T_CHECK(strstr(err, "notice.") == NULL);
    T_EQ_INT(prepare_one(NULL, "notice.group_increas"), CQ_EINVAL);
    T_CHECK(strstr(cq__dispatch_error(), "notice.group_increase.approve"));
    T_EQ_INT(prepare_one("message", "message.private"), CQ_EINVAL);
    T_CHECK(strstr(cq__dispatch_error(), "prefix is doubled") != NULL);
    T_EQ_INT(prepare_one("meta_event", "heartbeat.x"), CQ_EINVAL);
    T_EQ_INT(prepare_one(NULL, "mesage.private"), CQ_EINVAL);
    T_CHECK(strstr(cq__dispatch_error(), "did you mean message?") != NULL);
    T_EQ_INT(prepare_one("command", "/weather"), CQ_EINVAL);
    T_EQ_INT(prepare_one("command", "a b"), CQ_EINVAL);
    /* It stays refused on the next call, and a reset clears it. */
    T_EQ_INT(cq__dispatch_prepare(), CQ_EINVAL);
    cq__dispatch_reset();
    T_EQ_STR(cq__dispatch_error(), "");
    T_EQ_INT(cq__dispatch_prepare(), 0);
}


/* Loads a config file of the given text with argv {"p"}. */
static int load(cq__conf *c, const char *text, char *err)
{
    char path[] = "/tmp/cq-bot-conf-XXXXXX";
    char *argv[] = {"p", NULL};
    int rest[2], nrest, fd = mkstemp(path), rc;
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

    if (f == NULL)
        return -100;
    fputs(text, f);
    fclose(f);
    setenv("CQHTTP_CONFIG", path, 1);
    cq__conf_init(c);
    rc = cq__conf_load(c, 1, argv, rest, &nrest, err, 256);
    unsetenv("CQHTTP_CONFIG");
    unlink(path);
    return rc;
}


T_CASE(settings_from_file_and_env)
{
    cq__conf c, copy;
    char err[256];

    setenv("CQHTTP_BOT_CITY", "上海", 1);
    T_EQ_INT(load(&c,
                  "bot.city = 北京\nbot.greeting = hi there\n"
                  "CQHTTP_BOT_UNIT=\"C\"\ncommand_prefix = /,!\n",
                  err),
             CQ_OK);
    unsetenv("CQHTTP_BOT_CITY");
    T_EQ_STR(c.command_prefix, "/,!");
    T_CHECK(cq_setting("city") == NULL); /* Not yet published. */
    T_EQ_INT(cq__conf_copy(&copy, &c), CQ_OK);
    cq__conf_free(&c);
    cq__settings_publish(&copy);
    T_EQ_STR(cq_setting("city"), "上海"); /* The environment wins. */
    T_EQ_STR(cq_setting("bot.greeting"), "hi there");
    T_EQ_STR(cq_setting("unit"), "C");
    T_CHECK(cq_setting("bot.") == NULL);
    T_CHECK(cq_setting("City") == NULL);
    T_CHECK(cq_setting(NULL) == NULL);
    cq__settings_publish(NULL);
    T_CHECK(cq_setting("city") == NULL);
    cq__conf_free(&copy);
    /* Other unknown keys are still refused. */
    T_EQ_INT(load(&c, "bots.city = x\n", err), CQ_EINVAL);
    T_CHECK(strstr(err, "unknown setting \"bots.city\"") != NULL);
    cq__conf_free(&c);
}


T_CASE(userdata)
{
    int x;

    T_CHECK(cq_userdata() == NULL);
    cq_set_userdata(&x);
    T_CHECK(cq_userdata() == &x);
    cq_set_userdata(NULL);
}


static char hooks_ran[16];
static int hook_fail;

static void hook_mark(char ch)
{
    size_t n = strlen(hooks_ran);

    if (n + 1 < sizeof(hooks_ran)) {
        hooks_ran[n] = ch;
        hooks_ran[n + 1] = '\0';
    }
}


static int up_a(void)
{
    hook_mark(cq_setting("city") != NULL ? 'A' : 'a');
    return CQ_OK;
}


static int up_b(void)
{
    hook_mark('b');
    return hook_fail ? -1 : CQ_OK;
}


static int down_c(void)
{
    hook_mark('c');
    return -1; /* Logged; the others still run. */
}


static int down_d(void)
{
    hook_mark('d');
    return CQ_OK;
}


T_CASE(lifecycle_hooks)
{
    cq__conf c;
    int n = -5;

    cq__conf_init(&c);
    T_EQ_INT(cq__settings_put(&c, "bot.city", "x"), 1);
    cq__dispatch_reset();
    cq__lifecycle_reset();
    T_EQ_INT(cq_register_lifecycle(CQ_STARTUP, up_b, "up_b", "b.c", 1), 0);
    T_EQ_INT(cq_register_lifecycle(CQ_SHUTDOWN, down_d, "down_d", "b.c", 2), 0);
    T_EQ_INT(cq_register_lifecycle(CQ_STARTUP, up_a, "up_a", "a.c", 9), 0);
    T_EQ_INT(cq_register_lifecycle(CQ_SHUTDOWN, down_c, "down_c", "a.c", 1), 0);
    T_EQ_INT(cq_register_lifecycle(3, up_a, "x", "a.c", 1), CQ_EINVAL);
    T_EQ_INT(cq_register_lifecycle(CQ_STARTUP, NULL, "x", "a.c", 1), CQ_EINVAL);
    hooks_ran[0] = '\0';
    hook_fail = 0;
    T_EQ_INT(cq__lifecycle_start(&c, &n), -1);
    T_EQ_INT(n, 0);
    T_EQ_STR(hooks_ran, "Ab");
    cq__lifecycle_stop();
    T_EQ_STR(hooks_ran, "Abdc"); /* Shutdown in the reverse order. */
    cq__lifecycle_stop();        /* Only once. */
    T_EQ_STR(hooks_ran, "Abdc");
    /* A failing startup hook: exit 1, no shutdown hooks. */
    hooks_ran[0] = '\0';
    hook_fail = 1;
    T_EQ_INT(cq__lifecycle_start(&c, NULL), 1);
    cq__lifecycle_stop();
    T_EQ_STR(hooks_ran, "Ab");
    T_CHECK(cq_setting("city") == NULL);
    /* A bad registration: exit 2 before any hook. */
    hooks_ran[0] = '\0';
    T_EQ_INT(prepare_one("message", "privte"), CQ_EINVAL);
    T_EQ_INT(cq__lifecycle_start(&c, NULL), 2);
    T_EQ_STR(hooks_ran, "");
    cq__dispatch_reset();
    cq__lifecycle_reset();
    cq__conf_free(&c);
}


T_SUITE(test_command_cases) = {
    {"command/words_and_args", command_words_and_args},
    {"command/prefixes", command_prefixes},
    {"command/at_and_reply", command_at_and_reply},
    {"command/only_messages", command_only_messages},
    {"command/register_twice", register_twice},
    {"command/registration_checked", registration_checked},
    {"command/settings", settings_from_file_and_env},
    {"command/userdata", userdata},
    {"command/lifecycle_hooks", lifecycle_hooks},
    {NULL, NULL},
};
