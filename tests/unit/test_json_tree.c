/*
 * The tree parser of src/lib/json_tree.c on the edge cases, each with the
 * verdict and the tree that yajl's callback parser gave when it built the
 * trees (the contract): escapes and surrogates as yajl decodes them, the
 * depth limit, numbers, top-level scalars and yajl's odd corners.
 */
#include <stdio.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/arena.h"
#include "lib/json.h"
#include "test.h"

/* Appends v to d (size n, used *u) in a compact form that shows all. */
static void dump(char *d, size_t n, size_t *u, yajl_val v)
{
    size_t i;
    const unsigned char *s;

#define PUT(...)                                                               \
    (*u += (size_t)snprintf(d + *u, *u < n ? n - *u : 0, __VA_ARGS__))
    if (v->type == yajl_t_string) {
        PUT("\"");
        for (s = (const unsigned char *)v->u.string; *s; s++)
            *s >= 0x20 && *s < 0x7F ? PUT("%c", *s) : PUT("\\x%02x", *s);
        PUT("\"");
    } else if (v->type == yajl_t_number) {
        PUT("%s", v->u.number.r);
        if (v->u.number.flags & YAJL_NUMBER_INT_VALID)
            PUT("i%lld", v->u.number.i);
        if (v->u.number.flags & YAJL_NUMBER_DOUBLE_VALID)
            PUT("d%g", v->u.number.d);
    } else if (v->type == yajl_t_array) {
        PUT("[");
        for (i = 0; i < v->u.array.len; i++) {
            PUT(i ? "," : "");
            dump(d, n, u, v->u.array.values[i]);
        }
        PUT("]");
    } else if (v->type == yajl_t_object) {
        PUT("{");
        for (i = 0; i < v->u.object.len; i++) {
            PUT("%s%s:", i ? "," : "", v->u.object.keys[i]);
            dump(d, n, u, v->u.object.values[i]);
        }
        PUT("}");
    } else {
        PUT(v->type == yajl_t_true    ? "true"
            : v->type == yajl_t_false ? "false"
                                      : "null");
    }
#undef PUT
}


typedef struct row {
    const char *text;
    int depth, rc;
    const char *tree; /* As dump() writes it, when rc is CQ_OK. */
} row;

/* Parses each row both ways (copying and in place) and checks the tree. */
static void check_rows(t_state *t, const row *rows, size_t nrows)
{
    size_t i;

    for (i = 0; i < nrows; i++) {
        size_t len = strlen(rows[i].text), u = 0;
        char got[512], work[256];
        cq__arena *a = cq__arena_new(0);
        yajl_val v = NULL, w = NULL;

        T_CHECK(a != NULL && len < sizeof(work));
        memcpy(work, rows[i].text, len + 1);
        if (cq__json_parse_arena(&v, a, rows[i].text, len, rows[i].depth) !=
            rows[i].rc)
            fprintf(stderr, "  row %zu: %s\n", i, rows[i].text);
        T_EQ_INT(cq__json_parse_arena(&v, a, rows[i].text, len, rows[i].depth),
                 rows[i].rc);
        T_EQ_INT(cq__json_parse_inplace(&w, a, work, len, rows[i].depth),
                 rows[i].rc);
        if (rows[i].rc == CQ_OK) {
            dump(got, sizeof(got), &u, v);
            T_EQ_STR(got, rows[i].tree);
            u = 0;
            dump(got, sizeof(got), &u, w);
            T_EQ_STR(got, rows[i].tree);
        } else {
            T_CHECK(v == NULL && w == NULL);
        }
        cq__arena_free(a);
    }
}


/* Each of the n texts is refused as CQ_EPARSE (depth limit 4), both ways. */
static void check_refused(t_state *t, const char *const *texts, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        cq__arena *a = cq__arena_new(0);
        size_t len = strlen(texts[i]);
        char work[64];
        yajl_val v = NULL;

        T_CHECK(a != NULL && len < sizeof(work));
        memcpy(work, texts[i], len + 1);
        if (cq__json_parse_arena(&v, a, texts[i], len, 4) != CQ_EPARSE)
            fprintf(stderr, "  taken: %s\n", texts[i]);
        T_EQ_INT(cq__json_parse_arena(&v, a, texts[i], len, 4), CQ_EPARSE);
        T_EQ_INT(cq__json_parse_inplace(&v, a, work, len, 4), CQ_EPARSE);
        cq__arena_free(a);
    }
}


T_CASE(escapes_and_surrogates)
{
    static const row rows[] = {
        {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", 4, CQ_OK,
         "\"\"\\/\\x08\\x0c\\x0a\\x0d\\x09\""},
        {"\"A\\u0041\\u00e9\\u20AC\"", 4, CQ_OK,
         "\"AA\\xc3\\xa9\\xe2\\x82\\xac\""},
        /* A pair; a high surrogate with any \u after it; a lone one. */
        {"\"\\ud83d\\ude00\"", 4, CQ_OK, "\"\\xf0\\x9f\\x98\\x80\""},
        {"\"\\uD800\\u0041\"", 4, CQ_OK, "\"\\xf0\\x90\\x81\\x81\""},
        {"\"\\uD800x\"", 4, CQ_OK, "\"?x\""},
        {"\"\\uD800\\n\"", 4, CQ_OK, "\"?\\x0a\""},
        {"[\"\\uDBFF\"]", 4, CQ_OK, "[\"?\"]"},
        {"\"\\uDC00\"", 4, CQ_OK, "\"\\xed\\xb0\\x80\""},
        /* \u0000 ends the C string. */
        {"\"a\\u0000b\"", 4, CQ_OK, "\"a\""},
        {"{\"k\\u0041\":1}", 4, CQ_OK, "{kA:1i1d1}"},
        /* UTF-8 as yajl's lexer checks it: the lead byte's count only. */
        {"\"\xc0\x80\xed\xa0\x80\xf7\xbf\xbf\xbf\"", 4, CQ_OK,
         "\"\\xc0\\x80\\xed\\xa0\\x80\\xf7\\xbf\\xbf\\xbf\""},
    };
    static const char *const refused[] = {"\"\\x\"",
                                          "\"\\u12G4\"",
                                          "\"\\uD800\\u\"",
                                          "\"tab\there\"",
                                          "\"\xf8\x80\x80\x80\x80\"",
                                          "\"\x80\"",
                                          "\"\xc3(\"",
                                          "\"\xe2\x82\""};

    check_rows(t, rows, sizeof(rows) / sizeof(rows[0]));
    check_refused(t, refused, sizeof(refused) / sizeof(refused[0]));
}


T_CASE(depth_limit)
{
    static const row rows[] = {
        {"[[[1]]]", 3, CQ_OK, "[[[1i1d1]]]"},
        {"[[[{}]]]", 3, CQ_EDEPTH, NULL},
        {"{\"a\":{\"b\":[]}}", 3, CQ_OK, "{a:{b:[]}}"},
        {"{\"a\":{\"b\":[[]]}}", 3, CQ_EDEPTH, NULL},
        {"[]", 0, CQ_EDEPTH, NULL},
        {"7", 0, CQ_OK, "7i7d7"},
        /* The first fault in the text decides. */
        {"[[[[x", 3, CQ_EDEPTH, NULL},
        {"[[[x[", 3, CQ_EPARSE, NULL},
        {"[1 [[[", 1, CQ_EPARSE, NULL},
    };

    check_rows(t, rows, sizeof(rows) / sizeof(rows[0]));
}


T_CASE(numbers)
{
    static const row rows[] = {
        {"[0,-0,-1,9223372036854775807]", 2, CQ_OK,
         "[0i0d0,-0i0d0,-1i-1d-1,9223372036854775807i9223372036854775807d9."
         "22337e+18]"},
        /* INT64_MIN is an integer here, as it was (yajl's tree: not). */
        {"-9223372036854775808", 2, CQ_OK,
         "-9223372036854775808i-9223372036854775808d-9.22337e+18"},
        {"[9223372036854775808,1.5,-2e10,3E-2,1e+2,1e400]", 2, CQ_OK,
         "[9223372036854775808d9.22337e+18,1.5d1.5,-2e10d-2e+10,3E-2d0.03,"
         "1e+2d100,1e400]"},
    };
    static const char *const refused[] = {"01",  "[-01]", "1.", ".5",  "1e",
                                          "1e+", "-",     "+1", "[1,]"};

    check_rows(t, rows, sizeof(rows) / sizeof(rows[0]));
    check_refused(t, refused, sizeof(refused) / sizeof(refused[0]));
}


T_CASE(top_level_and_odd_corners)
{
    static const row rows[] = {
        {"\"s\"", 2, CQ_OK, "\"s\""},
        {" true ", 2, CQ_OK, "true"},
        {"false", 2, CQ_OK, "false"},
        {"null", 2, CQ_OK, "null"},
        /* yajl's whitespace takes \v and \f too. */
        {"\v\f[ 1 ,\t2\r\n]\f", 2, CQ_OK, "[1i1d1,2i2d2]"},
        /* yajl takes a string the text ends in as more text to come. */
        {"800\"", 2, CQ_OK, "800i800d800"},
        {"[1] \"x\\u00e9\\\"", 2, CQ_OK, "[1i1d1]"},
    };
    static const char *const refused[] = {
        "",      " ",        "nul",       "truex",     "1 2",
        "{} {}", "/**/1",    "[1]//",     "{\"a\" 1}", "{\"a\":1,}",
        "{1:1}", "1 \"ab\\", "1 \"\\u12", "1 \"\xc3",  "1 \"a\""};

    check_rows(t, rows, sizeof(rows) / sizeof(rows[0]));
    check_refused(t, refused, sizeof(refused) / sizeof(refused[0]));
}


T_CASE(nul_bytes)
{
    cq__arena *a = cq__arena_new(0);
    yajl_val v = NULL;

    T_CHECK(a != NULL);
    T_EQ_INT(cq__json_parse_arena(&v, a, "[\"a\0\"]", 6, 4), CQ_EPARSE);
    T_EQ_INT(cq__json_parse_arena(&v, a, "[1]\0", 4, 4), CQ_EPARSE);
    T_EQ_INT(cq__json_parse_arena(&v, a, "[1,\0 2]", 7, 4), CQ_EPARSE);
    cq__arena_free(a);
}


T_SUITE(test_json_tree_cases) = {
    {"json_tree/escapes_and_surrogates", escapes_and_surrogates},
    {"json_tree/depth_limit", depth_limit},
    {"json_tree/numbers", numbers},
    {"json_tree/top_level_and_odd_corners", top_level_and_odd_corners},
    {"json_tree/nul_bytes", nul_bytes},
    {NULL, NULL},
};
