#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/auth.h"
#include "test.h"

T_CASE(sign_vector_short)
{
    const char *body = "{\"post_type\":\"meta_event\"}";
    char sig[46];

    T_EQ_INT(strlen(body), 26);
    cq__auth_sign("secret", body, strlen(body), sig);
    T_EQ_STR(sig, "sha1=3f2b4c15bf23e0d67d4cacb7f5e3de9e3b188f69");
    T_EQ_INT(cq__auth_check_signature("secret", body, 26, sig), CQ_OK);
}


/* The project's own heartbeat fixture ends with '\n', as gocq's bodies do. */
T_CASE(sign_covers_trailing_newline)
{
    char path[1024];
    size_t len;
    char *body;
    int with_nl, without_nl;

    snprintf(path, sizeof(path), "%s/tests/fixtures/heartbeat.gocq-style.json",
             t_srcdir());
    body = t_read_file(path, &len);
    T_CHECK(body != NULL);
    T_CHECK(len == 219 && body[len - 1] == '\n');
    with_nl = cq__auth_check_signature(
        "some-secret", body, len,
        "sha1=2d8c45f79240225f678fa1d9cd79e8360f3d7975");
    without_nl = cq__auth_check_signature(
        "some-secret", body, len - 1,
        "sha1=2d8c45f79240225f678fa1d9cd79e8360f3d7975");
    free(body);
    T_EQ_INT(with_nl, CQ_OK);
    T_EQ_INT(without_nl, CQ_EAUTHBAD);
}


/* The shared go-cqhttp capture, when the reference folder is there. */
T_CASE(sign_shared_heartbeat_capture)
{
    char path[1024];
    size_t len;
    char *body;
    int rc, rc_trim;

    snprintf(path, sizeof(path),
             "%s/../shared/onebot-samples/meta_event.heartbeat.gocq.json",
             t_srcdir());
    body = t_read_file(path, &len);
    if (body == NULL)
        T_SKIP("../shared/onebot-samples is not beside the source tree");
    rc = cq__auth_check_signature(
        "some-secret", body, len,
        "sha1=4c79f871d443a8f0d252da0d1f62118356482fb9");
    rc_trim = cq__auth_check_signature(
        "some-secret", body, len - 1,
        "sha1=ddb7bc2139b9070b35600e4e3a825b795bd157d3");
    free(body);
    T_EQ_INT(len, 386);
    T_EQ_INT(rc, CQ_OK);
    T_EQ_INT(rc_trim, CQ_OK);
}


T_CASE(signature_malformed)
{
    const char *b = "{}";
    char good[46];

    cq__auth_sign("k", b, 2, good);
    T_EQ_INT(cq__auth_check_signature("k", b, 2, NULL), CQ_EAUTHMISSING);
    T_EQ_INT(cq__auth_check_signature("k", b, 2, ""), CQ_EAUTHMISSING);
    T_EQ_INT(cq__auth_check_signature("k", b, 2, good + 5), CQ_EAUTHBAD);
    T_EQ_INT(cq__auth_check_signature("k", b, 2, "sha1=zz"), CQ_EAUTHBAD);
    good[0] = 'S';
    T_EQ_INT(cq__auth_check_signature("k", b, 2, good), CQ_EAUTHBAD);
    good[0] = 's';
    good[44] = good[44] == '0' ? '1' : '0';
    T_EQ_INT(cq__auth_check_signature("k", b, 2, good), CQ_EAUTHBAD);
}


T_CASE(signature_uppercase_hex_accepted)
{
    const char *b = "{\"post_type\":\"meta_event\"}";

    T_EQ_INT(cq__auth_check_signature(
                 "secret", b, strlen(b),
                 "sha1=3F2B4C15BF23E0D67D4CACB7F5E3DE9E3B188F69"),
             CQ_OK);
}


T_CASE(token_schemes)
{
    const char *tok;
    size_t n;

    T_EQ_INT(cq__auth_offered_token("Bearer abc", NULL, &tok, &n), CQ_OK);
    T_CHECK(n == 3 && memcmp(tok, "abc", 3) == 0);
    T_EQ_INT(cq__auth_offered_token("token abc", NULL, &tok, &n), CQ_OK);
    T_EQ_INT(cq__auth_offered_token("BEARER abc", NULL, &tok, &n), CQ_OK);
    T_EQ_INT(cq__auth_offered_token("Basic abc", NULL, &tok, &n), CQ_EAUTHBAD);
    T_EQ_INT(cq__auth_offered_token("Bearer ", NULL, &tok, &n), CQ_EAUTHBAD);
    T_EQ_INT(cq__auth_offered_token(NULL, NULL, &tok, &n), CQ_EAUTHMISSING);
    T_EQ_INT(cq__auth_offered_token(NULL, "a=1&b=2", &tok, &n),
             CQ_EAUTHMISSING);
    T_EQ_INT(cq__auth_offered_token(NULL, "a=1&access_token=xyz&b=2", &tok, &n),
             CQ_OK);
    T_CHECK(n == 3 && memcmp(tok, "xyz", 3) == 0);
    /* The header wins over the query, as in CQHTTP 4.x. */
    T_EQ_INT(cq__auth_offered_token("Token h", "access_token=q", &tok, &n),
             CQ_OK);
    T_CHECK(n == 1 && tok[0] == 'h');
}


T_CASE(token_compare)
{
    T_EQ_INT(cq__auth_token_equal("abc", "abc", 3), CQ_OK);
    T_EQ_INT(cq__auth_token_equal("abc", "abd", 3), CQ_EAUTHBAD);
    T_EQ_INT(cq__auth_token_equal("abc", "ab", 2), CQ_EAUTHBAD);
    T_EQ_INT(cq__auth_token_equal("abc", "abcd", 4), CQ_EAUTHBAD);
}


T_SUITE(test_auth_cases) = {
    {"auth/sign_vector_short", sign_vector_short},
    {"auth/sign_covers_trailing_newline", sign_covers_trailing_newline},
    {"auth/sign_shared_heartbeat_capture", sign_shared_heartbeat_capture},
    {"auth/signature_malformed", signature_malformed},
    {"auth/signature_uppercase_hex_accepted", signature_uppercase_hex_accepted},
    {"auth/token_schemes", token_schemes},
    {"auth/token_compare", token_compare},
    {NULL, NULL},
};
