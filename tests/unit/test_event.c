#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "test.h"

static cq_event *parse_str(const char *s, int *rc)
{
    cq_event *e = NULL;

    *rc = cq_event_parse(&e, s, strlen(s), 0);
    return e;
}


static cq_event *parse_fixture(const char *name)
{
    char path[1024];
    cq_event *e = NULL;
    size_t len;
    char *buf;

    snprintf(path, sizeof(path), "%s/tests/fixtures/%s", t_srcdir(), name);
    buf = t_read_file(path, &len);
    if (buf == NULL)
        return NULL;
    if (cq_event_parse(&e, buf, len, 0) != CQ_OK)
        e = NULL;
    free(buf);
    return e;
}


T_CASE(private_negative_id)
{
    cq_event *e = parse_fixture("private.negative-id.json");
    const cq_value *m;

    T_CHECK(e != NULL);
    T_EQ_STR(cq_event_name(e), "message.private.friend");
    T_EQ_STR(cq_event_post_type(e), "message");
    T_EQ_STR(cq_event_detail_type(e), "private");
    T_EQ_STR(cq_event_sub_type(e), "friend");
    T_EQ_INT(cq_event_message_id(e), -1997294596);
    T_EQ_INT(cq_event_self_id(e), 3096407768LL);
    T_EQ_INT(cq_event_user_id(e), 2871462309LL);
    T_EQ_INT(cq_event_group_id(e), 0);
    m = cq_event_message(e);
    T_EQ_INT(cq_value_type(m), CQ_TSTRING);
    T_EQ_STR(cq_value_string(m), "echo &#91;me&#93; &amp; you");
    T_EQ_STR(cq_event_string(e, "sender.nickname"), "测试");
    cq_event_free(e);
}


T_CASE(group_array_string_ids)
{
    cq_event *e = parse_fixture("group.array.json");
    const cq_value *m;
    int64_t v = 0;

    T_CHECK(e != NULL);
    T_EQ_STR(cq_event_name(e), "message.group.normal");
    /* self_id arrives as a string from some implementations. */
    T_EQ_INT(cq_event_self_id(e), 10001000);
    T_EQ_INT(cq_event_group_id(e), 987654321);
    m = cq_event_message(e);
    T_EQ_INT(cq_value_type(m), CQ_TARRAY);
    T_EQ_INT(cq_value_len(m), 2);
    T_EQ_STR(cq_event_string(e, "message.1.type"), "at");
    T_EQ_STR(cq_event_string(e, "message.0.data.text"), "签到 ");
    T_EQ_INT(cq_event_int(e, "message.1.data.qq", &v), CQ_OK);
    T_EQ_INT(v, 10001000);
    T_CHECK(cq_event_get(e, "message.2") == NULL);
    T_CHECK(cq_event_get(e, "message.x") == NULL);
    T_EQ_INT(cq_value_type(cq_event_get(e, "anonymous")), CQ_TNULL);
    T_EQ_INT(cq_event_int(e, "anonymous", &v), CQ_ETYPE);
    T_EQ_INT(cq_event_int(e, "nothing", &v), CQ_ENOENT);
    cq_event_free(e);
}


T_CASE(notice_space_before_comma)
{
    cq_event *e = parse_fixture("notice.group_increase.json");

    T_CHECK(e != NULL);
    T_EQ_STR(cq_event_name(e), "notice.group_increase.approve");
    T_EQ_INT(cq_event_time(e), 1700000003);
    T_EQ_INT(cq_event_user_id(e), 4000000001LL);
    cq_event_free(e);
}


T_CASE(request_flag)
{
    cq_event *e = parse_fixture("request.friend.json");

    T_CHECK(e != NULL);
    T_EQ_STR(cq_event_name(e), "request.friend");
    T_CHECK(cq_event_sub_type(e) == NULL);
    T_EQ_STR(cq_event_flag(e), "flag-abc-123");
    cq_event_free(e);
}


T_CASE(rejects_bad_bodies)
{
    static const struct {
        const char *body;
        int rc;
    } cases[] = {
        {"", CQ_EPARSE},
        {"[]", CQ_EPARSE},
        {"\"post_type\"", CQ_EPARSE},
        {"{\"post_type\":\"message\"", CQ_EPARSE},
        {"{\"post_type\":\"message\"} x", CQ_EPARSE},
        {"{/*c*/\"post_type\":\"message\"}", CQ_EPARSE},
        {"{\"post_type\":1}", CQ_ENOTYPE},
        {"{\"post_type\":\"\"}", CQ_ENOTYPE},
        {"{\"self_id\":1}", CQ_ENOTYPE},
        {"{\"post_type\":\"a\xff\"}", CQ_EPARSE},
    };
    size_t i;
    int rc;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cq_event *e = parse_str(cases[i].body, &rc);

        T_CHECK(e == NULL);
        if (rc != cases[i].rc)
            fprintf(stderr, "  case %zu: %d\n", i, rc);
        T_EQ_INT(rc, cases[i].rc);
    }
}


T_CASE(rejects_nul_byte)
{
    const char body[] = "{\"post_type\":\"message\"}\0{}";
    cq_event *e = NULL;

    T_EQ_INT(cq_event_parse(&e, body, sizeof(body) - 1, 0), CQ_EPARSE);
    T_CHECK(e == NULL);
}


/* A 600 KB "[[[..." body must be refused before yajl builds a tree. */
T_CASE(rejects_deep_nesting)
{
    size_t n = 300000, i;
    char *body = malloc(2 * n + 1);
    cq_event *e = NULL;
    int rc;

    T_CHECK(body != NULL);
    for (i = 0; i < n; i++) {
        body[i] = '[';
        body[n + i] = ']';
    }
    body[2 * n] = '\0';
    rc = cq_event_parse(&e, body, 2 * n, 0);
    free(body);
    T_EQ_INT(rc, CQ_EDEPTH);
    /* Brackets inside strings do not count. */
    e = parse_str("{\"post_type\":\"x\",\"t\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[["
                  "[[[[[[[[[[[[[[[[[[\\\"[[[[[[\"}",
                  &rc);
    T_EQ_INT(rc, CQ_OK);
    cq_event_free(e);
}


T_CASE(integers_and_ranges)
{
    int rc;
    int64_t v;
    cq_event *e = parse_str(
        "{\"post_type\":\"x\",\"a\":9223372036854775807,"
        "\"b\":9223372036854775808,\"c\":1.5,\"d\":\"-42\",\"e\":\"4x\","
        "\"f\":\"99999999999999999999\",\"g\":-2147483648}",
        &rc);

    T_CHECK(e != NULL);
    T_EQ_INT(cq_event_int(e, "a", &v), CQ_OK);
    T_CHECK(v == INT64_MAX);
    T_EQ_INT(cq_event_int(e, "b", &v), CQ_ERANGE);
    T_EQ_INT(cq_event_int(e, "c", &v), CQ_ETYPE);
    T_EQ_INT(cq_event_int(e, "d", &v), CQ_OK);
    T_EQ_INT(v, -42);
    T_EQ_INT(cq_event_int(e, "e", &v), CQ_ETYPE);
    T_EQ_INT(cq_event_int(e, "f", &v), CQ_ERANGE);
    T_EQ_INT(cq_event_int(e, "g", &v), CQ_OK);
    T_EQ_INT(v, -2147483648LL);
    T_EQ_INT(cq_value_type(cq_event_get(e, "c")), CQ_TDOUBLE);
    cq_event_free(e);
}


T_CASE(unknown_event_kept)
{
    int rc;
    char *json;
    cq_event *e =
        parse_str("{\"post_type\":\"message_sent\",\"message_type\":\"guild\","
                  "\"x_ext\":{\"k\":[1,true,null]}}",
                  &rc);

    T_CHECK(e != NULL);
    T_EQ_STR(cq_event_name(e), "message_sent");
    T_CHECK(cq_event_detail_type(e) == NULL);
    json = cq_value_to_json(cq_event_get(e, "x_ext"));
    T_EQ_STR(json, "{\"k\":[1,true,null]}");
    free(json);
    T_EQ_INT(cq_value_bool(cq_event_get(e, "x_ext.k.1")), 1);
    T_EQ_STR(cq_value_key(cq_event_get(e, "x_ext"), 0), "k");
    cq_event_free(e);
}


/* The file name of each shared sample says what its event name must be. */
static int check_sample(const char *dir, const char *file)
{
    char path[2048], want[256];
    cq_event *e = NULL;
    size_t len;
    char *buf;
    int rc, ok;

    snprintf(path, sizeof(path), "%s/%s", dir, file);
    buf = t_read_file(path, &len);
    if (buf == NULL)
        return 0;
    rc = cq_event_parse(&e, buf, len, 0);
    free(buf);
    if (strncmp(file, "ws-api-", 7) == 0) {
        /* API frames are JSON objects without post_type. */
        return rc == CQ_ENOTYPE;
    }
    /*
     * The file name starts with post_type and the detail type; what follows
     * is a sub type or a description, then the source tag.
     */
    snprintf(want, sizeof(want), "%s.%s.", e ? cq_event_post_type(e) : "",
             e && cq_event_detail_type(e) ? cq_event_detail_type(e) : "");
    ok = rc == CQ_OK && strncmp(file, want, strlen(want)) == 0;
    if (!ok)
        fprintf(stderr, "  %s: rc %d, name %s\n", file, rc,
                e ? cq_event_name(e) : "-");
    cq_event_free(e);
    return ok;
}


T_CASE(replay_shared_samples)
{
    char dir[1024];
    struct dirent *d;
    int seen = 0, good = 0;
    DIR *dp;

    snprintf(dir, sizeof(dir), "%s/../shared/onebot-samples", t_srcdir());
    dp = opendir(dir);
    if (dp == NULL)
        T_SKIP("../shared/onebot-samples is not beside the source tree");
    while ((d = readdir(dp)) != NULL) {
        size_t n = strlen(d->d_name);

        if (n < 6 || strcmp(d->d_name + n - 5, ".json") != 0)
            continue;
        seen++;
        good += check_sample(dir, d->d_name);
    }
    closedir(dp);
    T_CHECK(seen >= 20);
    T_EQ_INT(good, seen);
}


T_SUITE(test_event_cases) = {
    {"event/private_negative_id", private_negative_id},
    {"event/group_array_string_ids", group_array_string_ids},
    {"event/notice_space_before_comma", notice_space_before_comma},
    {"event/request_flag", request_flag},
    {"event/rejects_bad_bodies", rejects_bad_bodies},
    {"event/rejects_nul_byte", rejects_nul_byte},
    {"event/rejects_deep_nesting", rejects_deep_nesting},
    {"event/integers_and_ranges", integers_and_ranges},
    {"event/unknown_event_kept", unknown_event_kept},
    {"event/replay_shared_samples", replay_shared_samples},
    {NULL, NULL},
};
