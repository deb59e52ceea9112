/*
 * The upgrade request's judgement, rule by rule (ws/handshake.h): each row
 * is a request built from valid headers with one changed, and the status,
 * role and self id the bridge must answer it with.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "ws/handshake.h"
#include "test.h"
#include "test_ws.h"

/* One request to judge: a line, a header to drop, lines to add. */
typedef struct row {
    const char *line;
    const char *drop;
    const char *extra;
    const char *token;
    int status;
    int role;        /* Checked when >= 0 (and status is 101). */
    int64_t self_id; /* Checked when > 0. */
} row;

static void run_rows(t_state *t, const row *rows, size_t n)
{
    char buf[2048], out[CQ__WS_MAX_ANSWER];
    cq__ws_request r;
    cq__ws_verdict v;
    size_t i, len;
    int rc;

    for (i = 0; i < n; i++) {
        const row *w = &rows[i];

        len = t_ws_build(buf, sizeof(buf), w->line, w->drop, w->extra);
        rc = cq__ws_parse_request(buf, len, &r);
        cq__ws_judge(&r, w->token, &v);
        if (rc != (int)len || v.status != w->status ||
            (w->role >= 0 && (int)v.role != w->role) ||
            (w->self_id > 0 && v.self_id != w->self_id))
            fprintf(stderr, "  row %zu: %s | -%s | +%s -> %d (%s)\n", i,
                    w->line, w->drop ? w->drop : "", w->extra ? w->extra : "",
                    v.status, v.reason ? v.reason : "");
        T_EQ_INT(rc, len);
        T_EQ_INT(v.status, w->status);
        T_CHECK(v.reason != NULL && v.reason[0] != '\0');
        if (w->role >= 0)
            T_EQ_INT(v.role, w->role);
        if (w->self_id > 0)
            T_EQ_INT(v.self_id, w->self_id);
        if (v.status != 101)
            T_EQ_INT(v.self_id, 0);
        rc = cq__ws_answer(&r, &v, out, sizeof(out));
        T_CHECK(rc > 0);
        T_CHECK(t_ws_answer_ok(out, (size_t)rc, w->status));
    }
}

#define RUN_ROWS(rows) run_rows(t, rows, sizeof(rows) / sizeof(rows[0]))
#define GET_WS         "GET /ws/ HTTP/1.1"

T_CASE(rule1_path)
{
    static const row rows[] = {
        {"GET /ws HTTP/1.1", NULL, NULL, TOKEN, 101, 0, 0},
        {"GET /ws/api/ HTTP/1.1", NULL, NULL, TOKEN, 101, 0, 0},
        {"GET /ws/event?x=1 HTTP/1.1", NULL, NULL, TOKEN, 101, 0, 0},
        {"GET / HTTP/1.1", NULL, NULL, TOKEN, 404, -1, 0},
        {"GET /foo HTTP/1.1", NULL, NULL, TOKEN, 404, -1, 0},
        {"GET /ws/apix HTTP/1.1", NULL, NULL, TOKEN, 404, -1, 0},
        {"GET /ws//api HTTP/1.1", NULL, NULL, TOKEN, 404, -1, 0},
        {"GET /WS/ HTTP/1.1", NULL, NULL, TOKEN, 404, -1, 0},
        {"GET /ws/api// HTTP/1.1", NULL, NULL, TOKEN, 404, -1, 0},
        {"GET /ws/%61pi HTTP/1.1", NULL, NULL, TOKEN, 404, -1, 0},
        {"GET http://x/ws/ HTTP/1.1", NULL, NULL, TOKEN, 404, -1, 0},
        {"GET * HTTP/1.1", NULL, NULL, TOKEN, 404, -1, 0},
        /* The path is judged first, before the method. */
        {"POST /nope HTTP/1.0", NULL, NULL, TOKEN, 404, -1, 0},
    };

    RUN_ROWS(rows);
}

T_CASE(rule2_method_version)
{
    static const row rows[] = {
        {"POST /ws/ HTTP/1.1", NULL, NULL, TOKEN, 405, -1, 0},
        {"get /ws/ HTTP/1.1", NULL, NULL, TOKEN, 405, -1, 0},
        {"HEAD /ws/ HTTP/1.1", NULL, NULL, TOKEN, 405, -1, 0},
        {"GET /ws/ HTTP/1.0", NULL, NULL, TOKEN, 400, -1, 0},
        {"GET /ws/ HTTP/1.9", NULL, NULL, TOKEN, 101, -1, 0},
        /* The method is judged before the version. */
        {"PUT /ws/ HTTP/1.0", NULL, NULL, TOKEN, 405, -1, 0},
    };
    char out[CQ__WS_MAX_ANSWER];
    cq__ws_verdict v = {405, "method is not GET", CQ__WS_UNIVERSAL, 0};
    int n;

    RUN_ROWS(rows);
    n = cq__ws_answer(NULL, &v, out, sizeof(out));
    T_CHECK(n > 0 && strstr(out, "\r\nAllow: GET\r\n") != NULL);
}

T_CASE(rule3_upgrade_connection)
{
    static const row rows[] = {
        {GET_WS, "Upgrade", NULL, TOKEN, 400, -1, 0},
        {GET_WS, "Upgrade", "Upgrade: h2c\r\n", TOKEN, 400, -1, 0},
        {GET_WS, "Upgrade", "Upgrade: websockets\r\n", TOKEN, 400, -1, 0},
        {GET_WS, "Upgrade", "Upgrade: WebSocket\r\n", TOKEN, 101, -1, 0},
        {GET_WS, "Upgrade", "Upgrade: h2c, websocket\r\n", TOKEN, 101, -1, 0},
        {GET_WS, "Connection", NULL, TOKEN, 400, -1, 0},
        {GET_WS, "Connection", "Connection: close\r\n", TOKEN, 400, -1, 0},
        {GET_WS, "Connection", "Connection: keep-alive\r\n", TOKEN, 400, -1, 0},
        {GET_WS, "Connection", "Connection: upgraded\r\n", TOKEN, 400, -1, 0},
        {GET_WS, "Connection", "Connection:\r\n", TOKEN, 400, -1, 0},
        {GET_WS, "Connection", "Connection: keep-alive, Upgrade\r\n", TOKEN,
         101, -1, 0},
        {GET_WS, "Connection", "Connection: keep-alive,upgrade\r\n", TOKEN, 101,
         -1, 0},
        {GET_WS, "Connection", "Connection: UPGRADE , keep-alive\r\n", TOKEN,
         101, -1, 0},
        {GET_WS, "Connection", "Connection: ,,Upgrade,\r\n", TOKEN, 101, -1, 0},
    };

    RUN_ROWS(rows);
}

T_CASE(rule4_version_426)
{
    static const row rows[] = {
        {GET_WS, "Sec-WebSocket-Version", NULL, TOKEN, 426, -1, 0},
        {GET_WS, "Sec-WebSocket-Version", "Sec-WebSocket-Version: 8\r\n", TOKEN,
         426, -1, 0},
        {GET_WS, "Sec-WebSocket-Version", "Sec-WebSocket-Version: 13, 8\r\n",
         TOKEN, 426, -1, 0},
        {GET_WS, "Sec-WebSocket-Version", "Sec-WebSocket-Version: 013\r\n",
         TOKEN, 426, -1, 0},
        {GET_WS, "Sec-WebSocket-Version", "Sec-WebSocket-Version:  13 \r\n",
         TOKEN, 101, -1, 0},
    };
    char out[CQ__WS_MAX_ANSWER];
    cq__ws_verdict v = {426, "x", CQ__WS_UNIVERSAL, 0};
    int n;

    RUN_ROWS(rows);
    n = cq__ws_answer(NULL, &v, out, sizeof(out));
    T_CHECK(n > 0 && strstr(out, "\r\nSec-WebSocket-Version: 13\r\n") != NULL);
    T_CHECK(strncmp(out, "HTTP/1.1 426 Upgrade Required\r\n", 31) == 0);
}

#define KEY_ROW(k, status)                                                     \
    {                                                                          \
        GET_WS, "Sec-WebSocket-Key", "Sec-WebSocket-Key: " k "\r\n", TOKEN,    \
            status, -1, 0                                                      \
    }

T_CASE(rule5_key)
{
    static const row rows[] = {
        {GET_WS, "Sec-WebSocket-Key", NULL, TOKEN, 400, -1, 0},
        KEY_ROW("", 400),
        KEY_ROW("AAAAAAAAAAAAAAAAAAAAAA==", 101),
        KEY_ROW("+/+/+/+/+/+/+/+/+/+/+w==", 101),
        /* 22 characters, unpadded: 16 bytes but not the canonical form. */
        KEY_ROW("dGhlIHNhbXBsZSBub25jZQ", 400),
        KEY_ROW("dGhlIHNhbXBsZSBub25jZQ=x", 400),
        KEY_ROW("dGhlIHNhbXBsZSBub25jZQ===", 400),
        KEY_ROW("dGhlIHNhbXBsZSBub25jZQ==AAAA", 400),
        KEY_ROW("dGhlIHNhbXBsZSBub25jZ===", 400),
        KEY_ROW("dGhlIHNhbXBsZSBub25jZ!==", 400),
        KEY_ROW("dGhlIHNhbXBsZSBub25j-Q==", 400),
        KEY_ROW("dGhlIHNhbXBs ZSBub25jZQ==", 400),
        /* 15 and 18 bytes. */
        KEY_ROW("dGhlIHNhbXBsZSBub25j", 400),
        KEY_ROW("dGhlIHNhbXBsZSBub25jZQAB", 400),
        /* 20 bytes. */
        KEY_ROW("dGhlIHNhbXBsZSBub25jZQAAAAA=", 400),
    };

    RUN_ROWS(rows);
}

T_CASE(rule6_auth)
{
    static const row rows[] = {
        {GET_WS, "Authorization", NULL, TOKEN, 401, -1, 0},
        {GET_WS, "Authorization", "Authorization:\r\n", TOKEN, 401, -1, 0},
        {GET_WS, "Authorization", "Authorization: Bearer nope\r\n", TOKEN, 403,
         -1, 0},
        {GET_WS, "Authorization", "Authorization: Token " TOKEN "x\r\n", TOKEN,
         403, -1, 0},
        {GET_WS, "Authorization", "Authorization: Basic " TOKEN "\r\n", TOKEN,
         403, -1, 0},
        {GET_WS, "Authorization", "Authorization: Token\r\n", TOKEN, 403, -1,
         0},
        {GET_WS, "Authorization", "Authorization: " TOKEN "\r\n", TOKEN, 403,
         -1, 0},
        {GET_WS, "Authorization", "Authorization: bearer " TOKEN "\r\n", TOKEN,
         101, -1, 0},
        {GET_WS, "Authorization", "Authorization: BEARER " TOKEN "\r\n", TOKEN,
         101, -1, 0},
        {GET_WS, "Authorization", "Authorization: token " TOKEN "\r\n", TOKEN,
         101, -1, 0},
        /* onebots: the token in the query only. */
        {"GET /ws/?access_token=" TOKEN " HTTP/1.1", "Authorization", NULL,
         TOKEN, 101, -1, 0},
        {"GET /ws/?a=1&access_token=" TOKEN "&b=2 HTTP/1.1", "Authorization",
         NULL, TOKEN, 101, -1, 0},
        {"GET /ws/?access_token=nope HTTP/1.1", "Authorization", NULL, TOKEN,
         403, -1, 0},
        {"GET /ws/?token=" TOKEN " HTTP/1.1", "Authorization", NULL, TOKEN, 401,
         -1, 0},
        /* A header, when present, is the offer: the query is not looked at. */
        {"GET /ws/?access_token=" TOKEN " HTTP/1.1", "Authorization",
         "Authorization: Bearer nope\r\n", TOKEN, 403, -1, 0},
        /* No token set: nothing is checked. */
        {GET_WS, "Authorization", NULL, NO_TOKEN, 101, -1, 0},
        {GET_WS, "Authorization", NULL, "", 101, -1, 0},
        {GET_WS, "Authorization", "Authorization: Basic x\r\n", NO_TOKEN, 101,
         -1, 0},
        {GET_WS, NULL, NULL, TOKEN "x", 403, -1, 0},
    };
    char out[CQ__WS_MAX_ANSWER];
    cq__ws_verdict v = {401, "access token missing", CQ__WS_UNIVERSAL, 0};
    int n;

    RUN_ROWS(rows);
    n = cq__ws_answer(NULL, &v, out, sizeof(out));
    T_CHECK(n > 0 && strstr(out, "\r\nWWW-Authenticate: Bearer\r\n") != NULL);
}

T_CASE(rule7_role)
{
    static const row rows[] = {
        {"GET /ws HTTP/1.1", "X-Client-Role", NULL, TOKEN, 101,
         CQ__WS_UNIVERSAL, 0},
        {"GET /ws/api/ HTTP/1.1", "X-Client-Role", NULL, TOKEN, 101, CQ__WS_API,
         0},
        {"GET /ws/event HTTP/1.1", "X-Client-Role", NULL, TOKEN, 101,
         CQ__WS_EVENT, 0},
        {"GET /ws/api HTTP/1.1", NULL, NULL, TOKEN, 101, CQ__WS_UNIVERSAL, 0},
        {GET_WS, "X-Client-Role", "X-Client-Role: API\r\n", TOKEN, 101,
         CQ__WS_API, 0},
        {GET_WS, "X-Client-Role", "X-Client-Role: Event\r\n", TOKEN, 101,
         CQ__WS_EVENT, 0},
        {GET_WS, "X-Client-Role", "X-Client-Role: EVENT\r\n", TOKEN, 101,
         CQ__WS_EVENT, 0},
        {GET_WS, "X-Client-Role", "X-Client-Role: Bot\r\n", TOKEN, 400, -1, 0},
        {GET_WS, "X-Client-Role", "X-Client-Role: Events\r\n", TOKEN, 400, -1,
         0},
        {GET_WS, "X-Client-Role", "X-Client-Role: API, Event\r\n", TOKEN, 400,
         -1, 0},
        {GET_WS, "X-Client-Role", "X-Client-Role:\r\n", TOKEN, 400, -1, 0},
        /* Auth comes before the role. */
        {GET_WS, "X-Client-Role", "X-Client-Role: Bot\r\n", TOKEN "x", 403, -1,
         0},
    };

    RUN_ROWS(rows);
}

#define ID_ROW(id, status, want)                                               \
    {                                                                          \
        GET_WS, "X-Self-ID", "X-Self-ID: " id "\r\n", TOKEN, status, -1, want  \
    }

T_CASE(rule8_self_id)
{
    static const row rows[] = {
        {GET_WS, "X-Self-ID", NULL, TOKEN, 400, -1, 0},
        {"GET /ws/event/ HTTP/1.1", "X-Self-ID", NULL, TOKEN, 400, -1, 0},
        ID_ROW("", 400, 0),
        ID_ROW("0", 400, 0),
        ID_ROW("000", 400, 0),
        ID_ROW("-1", 400, 0),
        ID_ROW("+1", 400, 0),
        ID_ROW("0x10", 400, 0),
        ID_ROW("12 34", 400, 0),
        ID_ROW("1e5", 400, 0),
        ID_ROW("1.0", 400, 0),
        ID_ROW("9223372036854775808", 400, 0),
        ID_ROW("18446744073709551616", 400, 0),
        ID_ROW("99999999999999999999999", 400, 0),
        ID_ROW("1", 101, 1),
        ID_ROW("  42  ", 101, 42),
        ID_ROW("007", 101, 7),
        ID_ROW("9223372036854775807", 101, INT64_MAX),
        ID_ROW("0000000000000000000000009223372036854775807", 101, INT64_MAX),
    };

    RUN_ROWS(rows);
}


T_SUITE(test_ws_judge_cases) = {
    {"ws_judge/rule1_path", rule1_path},
    {"ws_judge/rule2_method_version", rule2_method_version},
    {"ws_judge/rule3_upgrade_connection", rule3_upgrade_connection},
    {"ws_judge/rule4_version_426", rule4_version_426},
    {"ws_judge/rule5_key", rule5_key},
    {"ws_judge/rule6_auth", rule6_auth},
    {"ws_judge/rule7_role", rule7_role},
    {"ws_judge/rule8_self_id", rule8_self_id},
    {NULL, NULL},
};
