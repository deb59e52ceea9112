/*
 * post_event: the events "cqhttp-sim post" builds, shaped like the captures
 * of go-cqhttp in onebot-samples/ (field order, extensions such as
 * target_id and message_seq, the sender object) so that a bot sees what it
 * will see in production.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cqhttp.h"
#include "sim/sim.h"

#define NICKNAME "sim-user"

/* A random negative int32, as gocq's message ids often are. */
static int64_t message_id(void)
{
    return -(int64_t)(cq__sim_random32() & 0x7fffffffu) - 1;
}

/*
 * Writes "message": the CQ code as given, or its segments when spec->array
 * asks for the array form (raw_message stays CQ code, as in gocq). A text
 * that is not CQ code latches CQ_EPARSE.
 */
static void message(cq__jw *w, const cq__sim_event_spec *s)
{
    cq_msg *m = NULL;
    char *json = NULL;
    yajl_val v = NULL;
    int rc;

    cq__jw_key(w, "message");
    if (!s->array) {
        cq__jw_str(w, s->text);
        return;
    }
    rc = cq_msg_parse_cq(&m, s->text, strlen(s->text)) == CQ_OK ? CQ_OK
                                                                : CQ_EPARSE;
    if (rc == CQ_OK && (json = cq_msg_to_json_string(m)) == NULL)
        rc = CQ_ENOMEM;
    if (rc == CQ_OK)
        rc = cq__json_parse(&v, json, strlen(json), CQ_JSON_MAX_DEPTH);
    if (rc == CQ_OK)
        cq__jw_value(w, v);
    else
        cq__jw_latch(w, rc);
    yajl_tree_free(v);
    free(json);
    cq_msg_free(m);
}


static void private_message(cq__jw *w, const cq__sim_event_spec *s, int64_t now)
{
    cq__jw_kstr(w, "post_type", "message");
    cq__jw_kstr(w, "message_type", "private");
    cq__jw_kint(w, "time", now);
    cq__jw_kint(w, "self_id", s->self_id);
    cq__jw_kstr(w, "sub_type", "friend");
    cq__jw_kint(w, "target_id", s->self_id);
    message(w, s);
    cq__jw_kstr(w, "raw_message", s->text);
    cq__jw_kint(w, "font", 0);
    cq__jw_key(w, "sender");
    cq__jw_open(w);
    cq__jw_kint(w, "age", 0);
    cq__jw_kstr(w, "nickname", NICKNAME);
    cq__jw_kstr(w, "sex", "unknown");
    cq__jw_kint(w, "user_id", s->user_id);
    cq__jw_close(w);
    cq__jw_kint(w, "message_id", message_id());
    cq__jw_kint(w, "user_id", s->user_id);
}

static void group_message(cq__jw *w, const cq__sim_event_spec *s, int64_t now)
{
    cq__jw_kstr(w, "post_type", "message");
    cq__jw_kstr(w, "message_type", "group");
    cq__jw_kint(w, "time", now);
    cq__jw_kint(w, "self_id", s->self_id);
    cq__jw_kstr(w, "sub_type", "normal");
    cq__jw_knull(w, "anonymous");
    cq__jw_kint(w, "font", 0);
    cq__jw_kint(w, "group_id", s->group_id);
    cq__jw_kstr(w, "raw_message", s->text);
    cq__jw_key(w, "sender");
    cq__jw_open(w);
    cq__jw_kint(w, "age", 0);
    cq__jw_kstr(w, "area", "");
    cq__jw_kstr(w, "card", "");
    cq__jw_kstr(w, "level", "");
    cq__jw_kstr(w, "nickname", NICKNAME);
    cq__jw_kstr(w, "role", "member");
    cq__jw_kstr(w, "sex", "unknown");
    cq__jw_kstr(w, "title", "");
    cq__jw_kint(w, "user_id", s->user_id);
    cq__jw_close(w);
    message(w, s);
    cq__jw_kint(w, "message_seq", (int64_t)(cq__sim_random32() % 100000));
    cq__jw_kint(w, "user_id", s->user_id);
    cq__jw_kint(w, "message_id", message_id());
}

/* Go marshals maps with sorted keys: this one comes out alphabetical. */
static void group_increase(cq__jw *w, const cq__sim_event_spec *s, int64_t now)
{
    cq__jw_kint(w, "group_id", s->group_id);
    cq__jw_kstr(w, "notice_type", "group_increase");
    cq__jw_kint(w, "operator_id", 0);
    cq__jw_kstr(w, "post_type", "notice");
    cq__jw_kint(w, "self_id", s->self_id);
    cq__jw_kstr(w, "sub_type", "approve");
    cq__jw_kint(w, "time", now);
    cq__jw_kint(w, "user_id", s->user_id);
}

static void friend_request(cq__jw *w, const cq__sim_event_spec *s, int64_t now,
                           const char *flag)
{
    cq__jw_kstr(w, "post_type", "request");
    cq__jw_kstr(w, "request_type", "friend");
    cq__jw_kint(w, "time", now);
    cq__jw_kint(w, "self_id", s->self_id);
    cq__jw_kint(w, "user_id", s->user_id);
    cq__jw_kstr(w, "comment", s->text != NULL ? s->text : "");
    cq__jw_kstr(w, "flag", flag);
}

static void group_request(cq__jw *w, const cq__sim_event_spec *s, int64_t now,
                          const char *flag)
{
    cq__jw_kstr(w, "comment", s->text != NULL ? s->text : "");
    cq__jw_kstr(w, "flag", flag);
    cq__jw_kint(w, "group_id", s->group_id);
    cq__jw_kstr(w, "post_type", "request");
    cq__jw_kstr(w, "request_type", "group");
    cq__jw_kint(w, "self_id", s->self_id);
    cq__jw_kstr(w, "sub_type", s->sub_type);
    cq__jw_kint(w, "time", now);
    cq__jw_kint(w, "user_id", s->user_id);
}

static void heartbeat(cq__jw *w, const cq__sim_event_spec *s, int64_t now)
{
    static const char *const stats[] = {"packet_received", "packet_sent",
                                        "packet_lost",     "message_received",
                                        "message_sent",    "disconnect_times",
                                        "lost_times",      "last_message_time"};
    size_t i;

    cq__jw_kstr(w, "post_type", "meta_event");
    cq__jw_kstr(w, "meta_event_type", "heartbeat");
    cq__jw_kint(w, "time", now);
    cq__jw_kint(w, "self_id", s->self_id);
    cq__jw_key(w, "status");
    cq__jw_open(w);
    cq__jw_kbool(w, "app_enabled", 1);
    cq__jw_kbool(w, "app_good", 1);
    cq__jw_kbool(w, "app_initialized", 1);
    cq__jw_kbool(w, "good", 1);
    cq__jw_kbool(w, "online", 1);
    cq__jw_knull(w, "plugins_good");
    cq__jw_key(w, "stat");
    cq__jw_open(w);
    for (i = 0; i < sizeof(stats) / sizeof(stats[0]); i++)
        cq__jw_kint(w, stats[i], 0);
    cq__jw_close(w);
    cq__jw_close(w);
    cq__jw_kint(w, "interval", s->interval > 0 ? s->interval : 5000);
}

/* The lifecycle event a OneBot implementation sends as it connects. */
static void lifecycle(cq__jw *w, const cq__sim_event_spec *s, int64_t now)
{
    cq__jw_kint(w, "time", now);
    cq__jw_kint(w, "self_id", s->self_id);
    cq__jw_kstr(w, "post_type", "meta_event");
    cq__jw_kstr(w, "meta_event_type", "lifecycle");
    cq__jw_kstr(w, "sub_type", s->sub_type != NULL ? s->sub_type : "connect");
}

/*
 * Rewrites '<', '>' and '&' as Go's encoder does and appends the newline.
 * In JSON text these bytes can only occur inside strings, so a plain
 * replacement keeps the document valid.
 */
static char *gocq_escape(const char *json, size_t *len)
{
    size_t n = 0, i, k = 0;
    char *out;

    for (i = 0; json[i] != '\0'; i++)
        n += strchr("<>&", json[i]) != NULL ? 6 : 1;
    out = malloc(n + 2);
    if (out == NULL)
        return NULL;
    for (i = 0; json[i] != '\0'; i++) {
        const char *rep = json[i] == '<'   ? "\\u003c"
                          : json[i] == '>' ? "\\u003e"
                          : json[i] == '&' ? "\\u0026"
                                           : NULL;

        if (rep != NULL) {
            memcpy(out + k, rep, 6);
            k += 6;
        } else {
            out[k++] = json[i];
        }
    }
    out[k++] = '\n';
    out[k] = '\0';
    *len = k;
    return out;
}

char *cq__sim_event_build(const cq__sim_event_spec *spec, size_t *len, int *err)
{
    int64_t now = (int64_t)time(NULL);
    char flag[32], *json, *out;
    cq__jw w;

    /* Request flags are opaque strings; gocq's look like this. */
    snprintf(flag, sizeof(flag), "%lld%06u", (long long)now,
             cq__sim_random32() % 1000000u);
    *err = cq__jw_init(&w);
    if (*err != CQ_OK)
        return NULL;
    cq__jw_open(&w);
    switch (spec->kind) {
    case CQ__SIM_EV_PRIVATE:
        private_message(&w, spec, now);
        break;
    case CQ__SIM_EV_GROUP:
        group_message(&w, spec, now);
        break;
    case CQ__SIM_EV_GROUP_INCREASE:
        group_increase(&w, spec, now);
        break;
    case CQ__SIM_EV_FRIEND_REQUEST:
        friend_request(&w, spec, now, flag);
        break;
    case CQ__SIM_EV_GROUP_REQUEST:
        group_request(&w, spec, now, flag);
        break;
    case CQ__SIM_EV_LIFECYCLE:
        lifecycle(&w, spec, now);
        break;
    case CQ__SIM_EV_HEARTBEAT:
    default:
        heartbeat(&w, spec, now);
        break;
    }
    cq__jw_close(&w);
    json = cq__jw_dup(&w, NULL);
    if (json == NULL)
        *err = w.err != CQ_OK ? w.err : CQ_ENOMEM;
    cq__jw_free(&w);
    if (json == NULL)
        return NULL;
    out = gocq_escape(json, len);
    free(json);
    *err = out != NULL ? CQ_OK : CQ_ENOMEM;
    return out;
}
