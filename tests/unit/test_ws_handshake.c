#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "cqhttp.h"
#include "ws/handshake.h"
#include "ws/sha1.h"
#include "test.h"
#include "test_ws.h"


/* What go-cqhttp sends on its Universal connection. */
static const char gocq_request[] = "GET /ws/ HTTP/1.1\r\n"
                                   "Host: 127.0.0.1:8080\r\n"
                                   "User-Agent: CQHttp/4.15.0\r\n"
                                   "Connection: Upgrade\r\n"
                                   "Upgrade: websocket\r\n"
                                   "Sec-WebSocket-Key: " RFC_KEY "\r\n"
                                   "Sec-WebSocket-Version: 13\r\n"
                                   "X-Self-ID: 10001000\r\n"
                                   "X-Client-Role: Universal\r\n"
                                   "Authorization: Token " TOKEN "\r\n"
                                   "\r\n";

/* The headers t_ws_build() starts from, all valid. */
const char *const t_ws_base_headers[] = {
    "Host: 127.0.0.1:8080",
    "Connection: Upgrade",
    "Upgrade: websocket",
    "Sec-WebSocket-Key: " RFC_KEY,
    "Sec-WebSocket-Version: 13",
    "X-Self-ID: 10001000",
    "X-Client-Role: Universal",
    "Authorization: Bearer " TOKEN,
    NULL,
};

/* Declared in test_ws.h. */
size_t t_ws_build(char *out, size_t cap, const char *line, const char *drop,
                  const char *extra)
{
    size_t n = 0, i, dl = drop != NULL ? strlen(drop) : 0;

    n += (size_t)snprintf(out + n, cap - n, "%s\r\n", line);
    for (i = 0; t_ws_base_headers[i] != NULL; i++) {
        if (drop != NULL && strncmp(t_ws_base_headers[i], drop, dl) == 0 &&
            t_ws_base_headers[i][dl] == ':')
            continue;
        n += (size_t)snprintf(out + n, cap - n, "%s\r\n", t_ws_base_headers[i]);
    }
    n += (size_t)snprintf(out + n, cap - n, "%s\r\n", extra ? extra : "");
    return n;
}

/* Declared in test_ws.h. */
int t_ws_answer_ok(const char *a, size_t n, int status)
{
    char line[32];
    const char *end = strstr(a, "\r\n\r\n"), *cl;

    snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
    if (strncmp(a, line, strlen(line)) != 0 || end == NULL || strlen(a) != n)
        return 0;
    if (status == 101)
        return end + 4 == a + n;
    cl = strstr(a, "\r\nContent-Length: ");
    if (cl == NULL || cl > end || strstr(a, "\r\nConnection: close\r\n") > end)
        return 0;
    return strtoul(cl + 18, NULL, 10) == (size_t)(a + n - (end + 4));
}

/* Every length around the padding's edges (55, 56, 63, 64, 119, 120...). */
T_CASE(sha1_matches_openssl)
{
    unsigned char data[200], ours[CQ__SHA1_LEN], theirs[SHA_DIGEST_LENGTH];
    size_t len, i;

    for (i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 7 + 3);
    cq__sha1("abc", 3, ours);
    T_CHECK(memcmp(ours,
                   "\xa9\x99\x3e\x36\x47\x06\x81\x6a\xba\x3e"
                   "\x25\x71\x78\x50\xc2\x6c\x9c\xd0\xd8\x9d",
                   CQ__SHA1_LEN) == 0);
    for (len = 0; len <= sizeof(data); len++) {
        cq__sha1(data, len, ours);
        SHA1(data, len, theirs);
        T_CHECK(memcmp(ours, theirs, CQ__SHA1_LEN) == 0);
    }
}

T_CASE(accept_key_rfc6455)
{
    char acc[29];
    char long_key[66];

    T_EQ_INT(cq__ws_accept_key(RFC_KEY, strlen(RFC_KEY), acc), CQ_OK);
    T_EQ_STR(acc, RFC_ACC);
    memset(long_key, 'A', 65);
    long_key[65] = '\0';
    T_EQ_INT(cq__ws_accept_key(long_key, 65, acc), CQ_EINVAL);
    T_EQ_STR(acc, "");
    T_EQ_INT(cq__ws_accept_key(long_key, 64, acc), CQ_OK);
    T_EQ_INT(strlen(acc), 28);
}

T_CASE(gocq_accepted)
{
    cq__ws_request r;
    cq__ws_verdict v;
    char out[CQ__WS_MAX_ANSWER];
    int n;

    n = cq__ws_parse_request(gocq_request, strlen(gocq_request), &r);
    T_EQ_INT(n, strlen(gocq_request));
    T_EQ_INT(r.head_len, n);
    T_CHECK(r.method_len == 3 && memcmp(r.method, "GET", 3) == 0);
    T_CHECK(r.path_len == 4 && memcmp(r.path, "/ws/", 4) == 0);
    T_CHECK(r.query == NULL && r.query_len == 0);
    T_EQ_INT(r.minor_version, 1);
    T_CHECK(r.host_len == 14 && memcmp(r.host, "127.0.0.1:8080", 14) == 0);
    T_CHECK(r.ws_key_len == 24 && memcmp(r.ws_key, RFC_KEY, 24) == 0);
    cq__ws_judge(&r, TOKEN, &v);
    T_EQ_INT(v.status, 101);
    T_EQ_INT(v.role, CQ__WS_UNIVERSAL);
    T_EQ_INT(v.self_id, 10001000);
    n = cq__ws_answer(&r, &v, out, sizeof(out));
    T_EQ_STR(out, "HTTP/1.1 101 Switching Protocols\r\n"
                  "Upgrade: websocket\r\n"
                  "Connection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: " RFC_ACC "\r\n"
                  "\r\n");
    T_EQ_INT(n, strlen(out));
}

/* A read that stops anywhere must only mean "call again". */
T_CASE(one_byte_at_a_time)
{
    size_t len = strlen(gocq_request), i;
    cq__ws_request r;
    cq__ws_verdict v = {0, NULL, CQ__WS_UNIVERSAL, 0};
    int rc = 0;

    /* A heap copy per prefix lets ASan catch any read past the fed bytes. */
    for (i = 0; i <= len; i++) {
        char *part = malloc(i + 1);

        T_CHECK(part != NULL);
        memcpy(part, gocq_request, i);
        rc = cq__ws_parse_request(part, i, &r);
        /* The request points into part: judge it before freeing. */
        if (rc > 0)
            cq__ws_judge(&r, TOKEN, &v);
        free(part);
        if (i < len && rc != CQ_EAGAIN)
            break;
    }
    T_EQ_INT(i, len + 1);
    T_EQ_INT(rc, len);
    T_EQ_INT(r.head_len, len);
    T_EQ_INT(v.status, 101);
    T_EQ_INT(v.role, CQ__WS_UNIVERSAL);
    T_EQ_INT(v.self_id, 10001000);
}

T_CASE(trailing_frame_bytes)
{
    /* A masked text frame "Hello" (RFC 6455 section 5.7) right behind. */
    static const char frame[] = "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
    char buf[1024];
    size_t head = strlen(gocq_request);
    cq__ws_request r;
    cq__ws_verdict v;

    memcpy(buf, gocq_request, head);
    memcpy(buf + head, frame, sizeof(frame) - 1);
    T_EQ_INT(cq__ws_parse_request(buf, head + sizeof(frame) - 1, &r), head);
    T_EQ_INT(r.head_len, head);
    cq__ws_judge(&r, TOKEN, &v);
    T_EQ_INT(v.status, 101);
    /* Even a partial head followed by nothing is not judged by frames. */
    T_EQ_INT(cq__ws_parse_request(buf, head - 1, &r), CQ_EAGAIN);
}

T_CASE(odd_case_names)
{
    static const char req[] = "GET /ws/event HTTP/1.1\r\n"
                              "HOST: x\r\n"
                              "uPgRaDe: WebSocket\r\n"
                              "CONNECTION: keep-alive, Upgrade\r\n"
                              "sec-websocket-key: " RFC_KEY "\r\n"
                              "SEC-WEBSOCKET-VERSION: 13\r\n"
                              "x-self-id: 42\r\n"
                              "x-CLIENT-role: api\r\n"
                              "AUTHORIZATION: TOKEN " TOKEN "\r\n"
                              "\r\n";
    cq__ws_request r;
    cq__ws_verdict v;

    T_EQ_INT(cq__ws_parse_request(req, sizeof(req) - 1, &r), sizeof(req) - 1);
    T_CHECK(r.host_len == 1 && r.upgrade_len == 9 && r.role_len == 3);
    cq__ws_judge(&r, TOKEN, &v);
    T_EQ_INT(v.status, 101);
    /* The header wins over the path. */
    T_EQ_INT(v.role, CQ__WS_API);
    T_EQ_INT(v.self_id, 42);
}

T_CASE(fields)
{
    static const char req[] = "GET /ws/api?access_token=a&x=1 HTTP/1.3\r\n"
                              "X-Self-ID: \t 5 \t\r\n"
                              "x-self-id: 6\r\n"
                              "X-Client-Role:\r\n"
                              "X-Other: \xe4\xbd\xa0\xe5\xa5\xbd\r\n"
                              "Empty:\r\n"
                              "\r\n";
    cq__ws_request r;

    T_EQ_INT(cq__ws_parse_request(req, sizeof(req) - 1, &r), sizeof(req) - 1);
    T_CHECK(r.path_len == 7 && memcmp(r.path, "/ws/api", 7) == 0);
    T_CHECK(r.query_len == 18 &&
            memcmp(r.query, "access_token=a&x=1", 18) == 0);
    T_EQ_INT(r.minor_version, 3);
    /* Trimmed, and the first occurrence wins. */
    T_CHECK(r.self_id_len == 1 && r.self_id[0] == '5');
    /* Present but empty is not absent. */
    T_CHECK(r.role != NULL && r.role_len == 0);
    T_CHECK(r.upgrade == NULL && r.upgrade_len == 0);
    T_CHECK(r.authorization == NULL && r.host == NULL);

    T_EQ_INT(cq__ws_parse_request("GET /ws/? HTTP/1.1\r\n\r\n", 22, &r), 22);
    T_CHECK(r.query != NULL && r.query_len == 0 && r.path_len == 4);
}

T_CASE(too_big_431)
{
    static const char line[] = "GET /ws/ HTTP/1.1\r\nX-Pad: ";
    char *buf = malloc(CQ__WS_MAX_HEAD + 100);
    char out[CQ__WS_MAX_ANSWER];
    cq__ws_request r;
    cq__ws_verdict v;
    size_t pad;
    int n;

    T_CHECK(buf != NULL);
    /* line + pad + "\r\n\r\n" = 8193 bytes. */
    pad = CQ__WS_MAX_HEAD + 1 - (sizeof(line) - 1) - 4;
    memcpy(buf, line, sizeof(line) - 1);
    memset(buf + sizeof(line) - 1, 'a', pad);
    memcpy(buf + sizeof(line) - 1 + pad, "\r\n\r\n", 4);
    n = cq__ws_parse_request(buf, CQ__WS_MAX_HEAD + 1, &r);
    /* One pad byte less: exactly at the cap, complete. */
    memcpy(buf + sizeof(line) - 2 + pad, "\r\n\r\nxyz", 7);
    T_EQ_INT(cq__ws_parse_request(buf, CQ__WS_MAX_HEAD + 3, &r),
             CQ__WS_MAX_HEAD);
    /* No line end at all: waits below the cap, gives up at it. */
    memset(buf + sizeof(line) - 1, 'a', CQ__WS_MAX_HEAD + 50);
    T_EQ_INT(cq__ws_parse_request(buf, CQ__WS_MAX_HEAD - 1, &r), CQ_EAGAIN);
    T_EQ_INT(cq__ws_parse_request(buf, CQ__WS_MAX_HEAD, &r), CQ_ETOOBIG);
    T_EQ_INT(cq__ws_parse_request(buf, CQ__WS_MAX_HEAD + 50, &r), CQ_ETOOBIG);
    free(buf);
    T_EQ_INT(n, CQ_ETOOBIG);
    cq__ws_verdict_for_error(n, &v);
    T_EQ_INT(v.status, 431);
    n = cq__ws_answer(NULL, &v, out, sizeof(out));
    T_CHECK(n > 0 && t_ws_answer_ok(out, (size_t)n, 431));
    T_CHECK(strncmp(out, "HTTP/1.1 431 Request Header Fields Too Large\r\n",
                    46) == 0);
}

typedef struct bytes {
    const char *s;
    size_t n;
} bytes;

#define B(lit)                                                                 \
    {                                                                          \
        lit, sizeof(lit) - 1                                                   \
    }

T_CASE(malformed)
{
    static const bytes bad[] = {
        B("GET  /ws/ HTTP/1.1\r\n\r\n"),
        B("GET /ws/  HTTP/1.1\r\n\r\n"),
        B("GET /ws/ HTTP/1.1 \r\n\r\n"),
        B(" GET /ws/ HTTP/1.1\r\n\r\n"),
        B("GET\t/ws/ HTTP/1.1\r\n\r\n"),
        B("GET /ws/\r\n\r\n"),
        B("GET\r\n\r\n"),
        B("/ws/ HTTP/1.1\r\n\r\n"),
        B("GET /ws/ HTTP/2.0\r\n\r\n"),
        B("GET /ws/ http/1.1\r\n\r\n"),
        B("GET /ws/ HTTP/1.11\r\n\r\n"),
        B("GET /ws/ HTTP/1.x\r\n\r\n"),
        B("GET /ws/ HTTP/1\r\n\r\n"),
        B("G(T /ws/ HTTP/1.1\r\n\r\n"),
        B("GET /w\x80s/ HTTP/1.1\r\n\r\n"),
        B("GET /w\x7fs/ HTTP/1.1\r\n\r\n"),
        B("GET /w\0s/ HTTP/1.1\r\n\r\n"),
        B("\r\nGET /ws/ HTTP/1.1\r\n\r\n"),
        B("\r\n\r\n"),
        B("GET /ws/ HTTP/1.1\n\n"),
        B("GET /ws/ HTTP/1.1\r\nHost: x\n\r\n"),
        B("GET /ws/ HTTP/1.1\r\nHost: x\r\n\n"),
        B("GET /ws/ HTTP/1.1\r\nHost x\r\n\r\n"),
        B("GET /ws/ HTTP/1.1\r\nHost : x\r\n\r\n"),
        B("GET /ws/ HTTP/1.1\r\n: x\r\n\r\n"),
        B("GET /ws/ HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n"),
        B("GET /ws/ HTTP/1.1\r\nHost: x\r\n\tfolded\r\n\r\n"),
        B("GET /ws/ HTTP/1.1\r\nHo\"st: x\r\n\r\n"),
        B("GET /ws/ HTTP/1.1\r\nHost: a\x01"
          "b\r\n\r\n"),
        B("GET /ws/ HTTP/1.1\r\nHost: a\0b\r\n\r\n"),
        B("GET /ws/ HTTP/1.1\r\nHost: a\rb\r\n\r\n"),
        B("GET /ws/ HTTP/1.1\r\nHost: a\x7f\r\n\r\n"),
        /* Incomplete, but already wrong: no need to wait for more. */
        B("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
        B("GET /ws/ HTTP/1.1\r\nHost x\r\n"),
        B("GET /ws/ HTTP/1.1\r\nHost: x\rX"),
        B("GET /ws/ HTTP/1.1\r\nHost: \x1b[31m"),
    };
    static const bytes good[] = {
        B("GET /ws/ HTTP/1.1\r\nHost:\tx\t\r\n\r\n"),
        B("GET /ws/ HTTP/1.1\r\nX-Name: \xff\xfe\r\n\r\n"),
        B("GET /ws/ HTTP/1.1\r\n!#$%&'*+-.^_`|~09azAZ: x\r\n\r\n"),
        B("M-SEARCH /ws/ HTTP/1.0\r\n\r\n"),
    };
    cq__ws_request r;
    size_t i;
    int rc;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rc = cq__ws_parse_request(bad[i].s, bad[i].n, &r);
        if (rc != CQ_EPARSE)
            fprintf(stderr, "  bad[%zu] -> %d\n", i, rc);
        T_EQ_INT(rc, CQ_EPARSE);
    }
    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        rc = cq__ws_parse_request(good[i].s, good[i].n, &r);
        if (rc != (int)good[i].n)
            fprintf(stderr, "  good[%zu] -> %d\n", i, rc);
        T_EQ_INT(rc, good[i].n);
    }
    T_EQ_INT(cq__ws_parse_request("", 0, &r), CQ_EAGAIN);
    T_EQ_INT(cq__ws_parse_request("G", 1, &r), CQ_EAGAIN);
    T_EQ_INT(cq__ws_parse_request("GET /ws/ HTTP/1.1\r", 18, &r), CQ_EAGAIN);
}

T_CASE(parse_error_answer)
{
    char out[CQ__WS_MAX_ANSWER];
    cq__ws_verdict v;
    int n;

    cq__ws_verdict_for_error(CQ_EPARSE, &v);
    T_EQ_INT(v.status, 400);
    n = cq__ws_answer(NULL, &v, out, sizeof(out));
    T_CHECK(n > 0 && t_ws_answer_ok(out, (size_t)n, 400));
    T_CHECK(strstr(out, "\r\n\r\nBad Request: malformed HTTP request head\n") !=
            NULL);
    T_CHECK(strstr(out, "WWW-Authenticate") == NULL);
    T_CHECK(strstr(out, "Allow") == NULL);
}

T_CASE(answers)
{
    static const int statuses[] = {400, 401, 403, 404, 405, 408,
                                   426, 429, 431, 500, 503};
    char out[CQ__WS_MAX_ANSWER], reason[1000];
    cq__ws_verdict v = {0, NULL, CQ__WS_UNIVERSAL, 0};
    cq__ws_request r;
    size_t i;
    int n;

    /* The longest reason is cut: every answer fits CQ__WS_MAX_ANSWER. */
    memset(reason, 'r', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    v.reason = reason;
    for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        v.status = statuses[i];
        n = cq__ws_answer(NULL, &v, out, sizeof(out));
        T_CHECK(n > 0 && t_ws_answer_ok(out, (size_t)n, v.status));
        T_EQ_INT(strstr(out, "WWW-Authenticate: Bearer\r\n") != NULL,
                 v.status == 401);
        T_EQ_INT(strstr(out, "Allow: GET\r\n") != NULL, v.status == 405);
        T_EQ_INT(strstr(out, "Sec-WebSocket-Version: 13\r\n") != NULL,
                 v.status == 426);
    }
    /* Exactly one byte short (the NUL) is too small; then it fits. */
    v.status = 403;
    v.reason = "access token wrong";
    n = cq__ws_answer(NULL, &v, out, sizeof(out));
    T_CHECK(n > 0);
    T_CHECK(strcmp(out, "HTTP/1.1 403 Forbidden\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Length: 30\r\n"
                        "Connection: close\r\n"
                        "\r\n"
                        "Forbidden: access token wrong\n") == 0);
    T_EQ_INT(cq__ws_answer(NULL, &v, out, (size_t)n), CQ_ETOOBIG);
    T_EQ_STR(out, "");
    T_EQ_INT(cq__ws_answer(NULL, &v, out, (size_t)n + 1), n);
    T_EQ_INT(cq__ws_answer(NULL, &v, NULL, 0), CQ_ETOOBIG);
    /* Control characters never reach the wire. */
    v.reason = "a\r\nX-Evil: 1";
    n = cq__ws_answer(NULL, &v, out, sizeof(out));
    T_CHECK(n > 0 && strstr(out, "\r\nX-Evil") == NULL);
    T_CHECK(strstr(out, "Forbidden: a??X-Evil: 1\n") != NULL);
    /* Unknown statuses, and 101 without a request. */
    v.status = 200;
    T_EQ_INT(cq__ws_answer(NULL, &v, out, sizeof(out)), CQ_EINVAL);
    v.status = 101;
    T_EQ_INT(cq__ws_answer(NULL, &v, out, sizeof(out)), CQ_EINVAL);
    T_EQ_INT(cq__ws_parse_request(gocq_request, strlen(gocq_request), &r),
             strlen(gocq_request));
    T_EQ_INT(cq__ws_answer(&r, &v, out, 50), CQ_ETOOBIG);
}

T_SUITE(test_handshake_cases) = {
    {"handshake/sha1_matches_openssl", sha1_matches_openssl},
    {"handshake/accept_key_rfc6455", accept_key_rfc6455},
    {"handshake/gocq_accepted", gocq_accepted},
    {"handshake/one_byte_at_a_time", one_byte_at_a_time},
    {"handshake/trailing_frame_bytes", trailing_frame_bytes},
    {"handshake/odd_case_names", odd_case_names},
    {"handshake/fields", fields},
    {"handshake/too_big_431", too_big_431},
    {"handshake/malformed", malformed},
    {"handshake/parse_error_answer", parse_error_answer},
    {"handshake/answers", answers},
    {NULL, NULL},
};
