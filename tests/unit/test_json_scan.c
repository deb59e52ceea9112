#include <string.h>

#include "cqhttp.h"
#include "lib/json.h"
#include "lib/json_lex.h"
#include "test.h"

static const cq__json_key keys[] = {CQ__JSON_KEY("post_type"),
                                    CQ__JSON_KEY("echo")};

/* Scans s for the two keys with depth limit 8; the spans go to sp. */
static int scan_with(const char *s, unsigned flags, cq__json_span *sp)
{
    return cq__json_scan_object(s, strlen(s), 8, flags, keys, 2, sp);
}


static int scan(const char *s, cq__json_span *sp)
{
    return scan_with(s, 0, sp);
}


/* Whether span sp is exactly the text want (NULL: absent). */
static int span_is(const cq__json_span *sp, const char *want)
{
    if (want == NULL)
        return sp->p == NULL && sp->len == 0;
    return sp->p != NULL && sp->len == strlen(want) &&
           memcmp(sp->p, want, sp->len) == 0;
}


T_CASE(finds_top_level_keys)
{
    cq__json_span sp[2];

    T_EQ_INT(scan("{\"post_type\":\"message\",\"x\":1}", sp), CQ_OK);
    T_CHECK(span_is(&sp[0], "\"message\"") && span_is(&sp[1], NULL));
    /* Nested keys, keys inside strings and escaped quotes do not count. */
    T_EQ_INT(scan(" {\"a\":{\"post_type\":1},\"b\":\"\\\"echo\\\":2\","
                  "\"echo\" : \"cq:5\" }\r\n",
                  sp),
             CQ_OK);
    T_CHECK(span_is(&sp[0], NULL) && span_is(&sp[1], "\"cq:5\""));
    /* The first of two wins, as in the tree; a value's span is all of it. */
    T_EQ_INT(scan("{\"echo\":{\"x\":[1,{}]},\"echo\":\"cq:1\","
                  "\"post_type\":[]}",
                  sp),
             CQ_OK);
    T_CHECK(span_is(&sp[1], "{\"x\":[1,{}]}") && span_is(&sp[0], "[]"));
    T_EQ_INT(scan("{\"echo\":-0.5e+10,\"post_type\":null}", sp), CQ_OK);
    T_CHECK(span_is(&sp[1], "-0.5e+10") && span_is(&sp[0], "null"));
    T_EQ_INT(scan("{\"s\":\"\\u00e9\xc3\xa9\xf0\x9f\x98\x80\\/\\n\"}", sp),
             CQ_OK);
    T_EQ_INT(scan("{}", sp), CQ_OK);
    T_CHECK(span_is(&sp[0], NULL) && span_is(&sp[1], NULL));
}


/* Checks that each of the n texts is refused, every span left empty. */
static void refuses_all(t_state *t, const char *const *texts, size_t n,
                        unsigned flags)
{
    cq__json_span sp[2];
    size_t i;

    for (i = 0; i < n; i++) {
        T_EQ_INT(scan_with(texts[i], flags, sp), CQ_EPARSE);
        T_CHECK(span_is(&sp[0], NULL) && span_is(&sp[1], NULL));
    }
}


T_CASE(leaves_the_rest_to_yajl)
{
    static const char *const refused[] = {
        "", "[]", "\"post_type\"", "1", "{", "{\"a\":1", "{\"a\":1}}",
        "{\"a\":1} x", "{\"a\" 1}", "{\"a\":1,}", "{,}", "{\"a\":[1,]}",
        "{\"a\":01}", "{\"a\":-}", "{\"a\":1.}", "{\"a\":1e}", "{\"a\":tru}",
        "{\"a\":\"\x01\"}", "{\"a\":\"\\x\"}", "{\"a\":\"\\u12g4\"}",
        "{\"a\":\"\\u12\"}", "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"\xed\xa0\x80\"}",
        "{\"a\":\"\xf4\x90\x80\x80\"}", "{\"a\":\"\xe2\x82\"}",
        "{\"a\":/*c*/1}", "{\"a\":1}\x0b",
        /* An escaped top-level key could decode to a wanted one. */
        "{\"post\\u005ftype\":1}",
        /* Nine levels, over the limit of 8. */
        "{\"a\":[[[[[[[[]]]]]]]]}", "{\"a\":\"unterminated}"};
    cq__json_span sp[2];

    refuses_all(t, refused, sizeof(refused) / sizeof(refused[0]), 0);
    /* Eight levels are fine; a NUL byte inside the length is not. */
    T_EQ_INT(scan("{\"a\":[[[[[[[]]]]]]]}", sp), CQ_OK);
    T_EQ_INT(cq__json_scan_object("{\"a\":\"\0\"}", 9, 8, 0, keys, 2, sp),
             CQ_EPARSE);
    T_EQ_INT(cq__json_scan_object("{\"a\":1}\0", 8, 8, 0, keys, 2, sp),
             CQ_EPARSE);
}


T_CASE(matches_whole_keys_only)
{
    cq__json_span sp[2];

    /* Same length, same first byte, a prefix, a longer one: none is echo. */
    T_EQ_INT(scan("{\"echx\":1,\"ech\":2,\"echoo\":3,\"\":4,\"post_typ\":5,"
                  "\"Echo\":6,\"echo\":7}",
                  sp),
             CQ_OK);
    T_CHECK(span_is(&sp[0], NULL) && span_is(&sp[1], "7"));
}


T_CASE(trusts_known_utf8)
{
    /* Multi-byte text in each of the string loops: 16, 8 and 1 at a time. */
    static const char *const fine[] = {
        "{\"echo\":"
        "\"\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c"
        "\xf0\x9f\x98\x80 hello \xc3\xa9\\n\"}",
        "{\"\xc3\xa9\":1,\"echo\":\"\xc3\xa9\"}",
        "{\"echo\":\"abc\xe4\xbd\xa0\"}"};
    static const char *const refused[] = {
        "{\"echo\":\"\xe4\xbd\xa0\x01\"}", "{\"echo\":\"\xe4\xbd\xa0\\x\"}",
        "{\"echo\":\"\xe4\xbd\xa0\xe4\xbd\xa0\xe4\xbd\xa0\xe4\xbd\xa0\x1f\"}",
        "{\"echo\":\xe4\xbd\xa0}", "{\"echo\":\"\xe4\xbd\xa0"};
    cq__json_span sp[2];
    size_t i;

    for (i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
        T_EQ_INT(scan_with(fine[i], CQ__JSON_SCAN_UTF8, sp), CQ_OK);
        T_CHECK(sp[1].p != NULL && sp[1].p[sp[1].len - 1] == '"' &&
                sp[1].p + sp[1].len == fine[i] + strlen(fine[i]) - 1);
        /* Strict checking takes the same valid text the same way. */
        T_EQ_INT(scan(fine[i], sp), CQ_OK);
    }
    refuses_all(t, refused, sizeof(refused) / sizeof(refused[0]),
                CQ__JSON_SCAN_UTF8);
}


/*
 * The lexer's plain scan (lib/json_lex.h), with its 32-byte step before it
 * or without, stops where a byte-by-byte look stops, wherever the stop falls
 * against its 8-, 16- and 32-byte steps and however far the text goes on past
 * it: a stop of each kind after 0 to 99 plain bytes, in texts of every length
 * up to 130, both ways of reading bytes of 0x80 and more.
 */
T_CASE(plain_scan_every_offset)
{
    static const unsigned char stops[] = {'"', '\\', 0x00, 0x1f, 0x80, 0xff};
    unsigned char text[130];
    size_t i, at, len;
    int known;

    for (known = 0; known <= 1; known++)
        for (i = 0; i < sizeof(stops); i++)
            for (at = 0; at < 100; at++)
                for (len = 0; len <= sizeof(text) && !t->failed; len++) {
                    lex_ptr end = text + len;
                    size_t want = at < len ? at : len;

                    memset(text, known ? 0xe4 : 'x', sizeof(text));
                    if (at < sizeof(text))
                        text[at] = stops[i];
                    if (known && stops[i] >= 0x80)
                        want = len; /* Plain too, then. */
                    T_EQ_INT((int)(lex_skip_text(text, end, known) - text),
                             (int)want);
                    T_EQ_INT(
                        (int)(lex_skip_text(lex_skip_long(text, end, known),
                                            end, known) -
                              text),
                        (int)want);
                }
}


T_SUITE(test_json_scan_cases) = {
    {"json_scan/finds_top_level_keys", finds_top_level_keys},
    {"json_scan/leaves_the_rest_to_yajl", leaves_the_rest_to_yajl},
    {"json_scan/matches_whole_keys_only", matches_whole_keys_only},
    {"json_scan/trusts_known_utf8", trusts_known_utf8},
    {"json_scan/plain_scan_every_offset", plain_scan_every_offset},
    {NULL, NULL},
};
