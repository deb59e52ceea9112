#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/arena.h"
#include "lib/json.h"
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


T_CASE(type_fields_first_match)
{
    /* The first member of a name counts, as yajl_tree_get() finds it,
     * whether the event has a few "*_type" members or more than the eight
     * read_types() notes in one pass. */
    static const char *const bodies[] = {
        "{\"post_type\":\"notice\",\"notice_type\":\"x\",\"post_type\":"
        "\"message\",\"sub_type\":7,\"sub_type\":\"y\"}",
        "{\"a_type\":1,\"b_type\":1,\"c_type\":1,\"d_type\":1,\"e_type\":1,"
        "\"f_type\":1,\"g_type\":1,\"h_type\":1,\"i_type\":1,\"post_type\":"
        "\"notice\",\"notice_type\":\"x\",\"post_type\":\"message\","
        "\"sub_type\":7,\"sub_type\":\"y\"}",
    };
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        cq_event *e = NULL;

        T_EQ_INT(cq_event_parse(&e, bodies[i], strlen(bodies[i]), 0), CQ_OK);
        T_EQ_STR(cq_event_name(e), "notice.x");
        T_CHECK(cq_event_sub_type(e) == NULL);
        cq_event_free(e);
    }
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


/* Writes v compactly, with each number's flags, for comparing trees. */
static char *dump(yajl_val v)
{
    yajl_gen g = cq__json_gen_new();
    char *s;

    if (g == NULL || cq__json_gen_value(g, v) != CQ_OK) {
        yajl_gen_free(g);
        return NULL;
    }
    s = cq__json_gen_dup(g);
    yajl_gen_free(g);
    return s;
}


/* Whether two trees have the same shape, text and number flags. */
static int same_tree(yajl_val a, yajl_val b)
{
    size_t i;

    if (a == NULL || b == NULL || a->type != b->type)
        return a == b;
    switch (a->type) {
    case yajl_t_string:
        return strcmp(a->u.string, b->u.string) == 0;
    case yajl_t_number:
        return strcmp(a->u.number.r, b->u.number.r) == 0 &&
               (a->u.number.flags & YAJL_NUMBER_INT_VALID) ==
                   (b->u.number.flags & YAJL_NUMBER_INT_VALID) &&
               (!(a->u.number.flags & YAJL_NUMBER_INT_VALID) ||
                a->u.number.i == b->u.number.i);
    case yajl_t_object:
        if (a->u.object.len != b->u.object.len)
            return 0;
        for (i = 0; i < a->u.object.len; i++)
            if (strcmp(a->u.object.keys[i], b->u.object.keys[i]) != 0 ||
                !same_tree(a->u.object.values[i], b->u.object.values[i]))
                return 0;
        return 1;
    case yajl_t_array:
        if (a->u.array.len != b->u.array.len)
            return 0;
        for (i = 0; i < a->u.array.len; i++)
            if (!same_tree(a->u.array.values[i], b->u.array.values[i]))
                return 0;
        return 1;
    default:
        return 1;
    }
}


/* The arena builder makes the tree yajl_tree_parse() makes. */
T_CASE(arena_tree_matches_yajl_tree)
{
    static const char *const texts[] = {
        "{}",
        "[]",
        "{\"a\":1,\"a\":2,\"b\":[1,[2,[3,{}]],\"x\"]}",
        "{\"n\":[0,-0,-1,9223372036854775807,-9223372036854775807,"
        "9223372036854775808,1.5,-2e10,3E-2,1e400]}",
        "{\"s\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\\\ \\/\",\"e\":\"\"}",
        "{\"t\":true,\"f\":false,\"z\":null,\"k\":{\"\":\"empty key\"}}",
        "[[[[[[[[[[1]]]]]]]]]]",
        "\"just a string\"",
        "42",
    };
    size_t i;

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        cq__arena *a = cq__arena_new(0);
        yajl_val mine = NULL, theirs;
        char *d1, *d2;

        T_CHECK(a != NULL);
        T_EQ_INT(cq__json_parse_arena(&mine, a, texts[i], strlen(texts[i]), 32),
                 CQ_OK);
        theirs = yajl_tree_parse(texts[i], NULL, 0);
        T_CHECK(theirs != NULL);
        if (!same_tree(mine, theirs))
            fprintf(stderr, "  trees differ for %s\n", texts[i]);
        T_CHECK(same_tree(mine, theirs));
        d1 = dump(mine);
        d2 = dump(theirs);
        T_EQ_STR(d1, d2);
        free(d1);
        free(d2);
        yajl_tree_free(theirs);
        cq__arena_free(a);
    }
}


/*
 * The one difference: yajl's own integer parser refuses INT64_MIN, which
 * fits; the arena builder reads it as the integer it is.
 */
T_CASE(arena_tree_int64_min)
{
    static const char text[] = "[-9223372036854775808]";
    cq__arena *a = cq__arena_new(0);
    yajl_val v = NULL;
    int64_t n = 0;

    T_EQ_INT(cq__json_parse_arena(&v, a, text, strlen(text), 4), CQ_OK);
    T_EQ_INT(cq_value_int(cq_value_at(cq__cv(v), 0), &n), CQ_OK);
    T_CHECK(n == INT64_MIN);
    cq__arena_free(a);
}


/* Refusals match cq__json_parse(): bad JSON, depth, and comments. */
T_CASE(arena_tree_refusals)
{
    static const struct {
        const char *text;
        int rc;
    } rows[] = {
        {"{", CQ_EPARSE},         {"{\"a\":}", CQ_EPARSE},
        {"[1,]", CQ_EPARSE},      {"{} {}", CQ_EPARSE},
        {"[[[[1]]]]", CQ_EDEPTH}, {"{/*c*/}", CQ_EPARSE},
        {"\"\xff\"", CQ_EPARSE},  {"", CQ_EPARSE},
    };
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cq__arena *a = cq__arena_new(0);
        yajl_val v = NULL;

        T_EQ_INT(
            cq__json_parse_arena(&v, a, rows[i].text, strlen(rows[i].text), 3),
            rows[i].rc);
        T_CHECK(v == NULL);
        cq__arena_free(a);
    }
}


/* Plain text from both message forms, trimmed, kept by the event. */
T_CASE(plain_text)
{
    static const struct {
        const char *body, *text;
    } rows[] = {
        {"{\"post_type\":\"message\",\"message\":"
         "\" /weather &#91;x&#93;[CQ:face,id=1]  \"}",
         "/weather [x]"},
        {"{\"post_type\":\"message\",\"message\":[{\"type\":\"at\","
         "\"data\":{\"qq\":\"1\"}},{\"type\":\"text\",\"data\":"
         "{\"text\":\"\\n hi\"}},{\"type\":\"text\",\"data\":"
         "{\"text\":\"[CQ:at,qq=all] \"}}]}",
         "hi [CQ:at,qq=all]"},
        {"{\"post_type\":\"notice\"}", ""},
        {"{\"post_type\":\"message\",\"message\":7}", ""},
    };
    size_t i;
    int rc;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        cq_event *e = parse_str(rows[i].body, &rc);
        const char *txt;

        T_EQ_INT(rc, CQ_OK);
        if (e == NULL)
            continue;
        txt = cq_event_text(e);
        T_EQ_STR(txt, rows[i].text);
        T_CHECK(cq_event_text(e) == txt);
        cq_event_free(e);
    }
}


T_SUITE(test_event_cases) = {
    {"event/private_negative_id", private_negative_id},
    {"event/arena_tree_matches_yajl_tree", arena_tree_matches_yajl_tree},
    {"event/arena_tree_refusals", arena_tree_refusals},
    {"event/arena_tree_int64_min", arena_tree_int64_min},
    {"event/group_array_string_ids", group_array_string_ids},
    {"event/notice_space_before_comma", notice_space_before_comma},
    {"event/request_flag", request_flag},
    {"event/type_fields_first_match", type_fields_first_match},
    {"event/rejects_bad_bodies", rejects_bad_bodies},
    {"event/rejects_nul_byte", rejects_nul_byte},
    {"event/rejects_deep_nesting", rejects_deep_nesting},
    {"event/integers_and_ranges", integers_and_ranges},
    {"event/unknown_event_kept", unknown_event_kept},
    {"event/replay_shared_samples", replay_shared_samples},
    {"event/plain_text", plain_text},
    {NULL, NULL},
};
