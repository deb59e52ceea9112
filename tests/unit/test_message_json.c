/*
 * Tests for src/lib/message_json.c: the array form read from text and from a
 * tree, written back canonically, its errors and its depth caps.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "lib/json_put.h"
#include "lib/message.h"
#include "test.h"
#include "test_message.h"

/* Reads the array form and writes it back, or NULL. */
static char *json2json(const char *json)
{
    return t_json_to(json, cq_msg_to_json_string);
}


/* Reads the array form and returns its CQ code, or NULL. */
static char *json2cq(const char *json)
{
    return t_json_to(json, cq_msg_format_cq);
}


T_CASE(json_roundtrip)
{
    static const char *const cases[] = {
        "[{\"type\":\"at\",\"data\":{\"qq\":123456}}]",
        "[{\"type\":\"node\",\"data\":{\"user_id\":\"10001000\",\"nickname\":"
        "\"某人\",\"content\":[{\"type\":\"face\",\"data\":{\"id\":\"123\"}},"
        "{\"type\":\"text\",\"data\":{\"text\":\"哈喽～\"}}]}}]",
        "[{\"type\":\"x\",\"data\":{\"a\":1.0,\"b\":-5,\"c\":1e3,\"d\":true,"
        "\"e\":false,\"f\":null,\"g\":{\"h\":[1,\"2\",{}]},\"i\":[]}}]",
        "[{\"type\":\"text\",\"data\":{\"text\":\"a\"}},"
        "{\"type\":\"text\",\"data\":{\"text\":\"\"}},"
        "{\"type\":\"text\",\"data\":{\"text\":\"b\",\"x\":\"\\\"\\\\\\n\"}}]",
        "[{\"type\":\"foo_bar\",\"data\":{\"k\":\"v\",\"\":\"\"}}]",
        "[]",
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        T_STR_FREE(json2json(cases[i]), cases[i]);
    }
}

T_CASE(json_values)
{
    const char *j = "[{\"type\":\"at\",\"data\":{\"qq\":123456}},"
                    "{\"type\":\"x\",\"data\":{\"n\":null,\"t\":true,"
                    "\"o\":{\"a\":1},\"s\":\"v\"}}]";
    cq_msg *m;

    T_EQ_INT(cq_msg_from_json(&m, j, strlen(j)), CQ_OK);
    T_EQ_INT(cq_msg_count(m), 2);
    T_EQ_STR(cq_msg_seg_get(m, 0, "qq"), "123456");
    T_EQ_INT(cq_msg_seg_is_json(m, 0, 0), 1);
    T_EQ_INT(cq_msg_seg_is_json(m, 1, 3), 0);
    T_EQ_STR(cq_msg_seg_get(m, 1, "o"), "{\"a\":1}");
    /* Null is left out of the CQ form; an object that is no message is
     * written as JSON text. */
    T_STR_FREE(cq_msg_format_cq(m),
               "[CQ:at,qq=123456][CQ:x,t=true,o={\"a\":1},s=v]");
    cq_msg_free(m);
    T_STR_FREE(json2cq("[{\"type\":\"node\",\"data\":{\"content\":[]}}]"),
               "[CQ:node,content=]");
}

/* Whitespace, null or absent data, one object and a string are accepted;
 * the output is canonical. */
T_CASE(json_forms)
{
    const char *seg = "[{\"type\":\"face\",\"data\":{\"id\":\"1\"}}]";

    T_STR_FREE(json2json(" [ {\"data\" : {\"id\" : \"1\"}, \"type\":\"face\","
                         " \"extra\": 1} ]\n"),
               seg);
    T_STR_FREE(json2json("{\"type\":\"face\",\"data\":{\"id\":\"1\"}}"), seg);
    T_STR_FREE(json2json("\"[CQ:face,id=1]\""), seg);
    T_STR_FREE(json2json("[{\"type\":\"dice\",\"data\":null},"
                         "{\"type\":\"rps\"}]"),
               "[{\"type\":\"dice\",\"data\":{}},{\"type\":\"rps\",\"data\":{}"
               "}]");
    T_STR_FREE(json2json("\"a\\u0026amp;b\""),
               "[{\"type\":\"text\",\"data\":{\"text\":\"a&b\"}}]");
    T_STR_FREE(json2json("\"\""), "[]");
    /* yajl_tree keeps C strings: "\u0000" ends one. */
    T_STR_FREE(json2json("\"a\\u0000b\""),
               "[{\"type\":\"text\",\"data\":{\"text\":\"a\"}}]");
}

T_CASE(json_errors)
{
    static const char *const bad[] = {
        "",
        " ",
        "[",
        "42",
        "null",
        "[1]",
        "[\"a\"]",
        "{}",
        "{\"type\":\"\"}",
        "{\"type\":1}",
        "{\"type\":\"a\",\"data\":[]}",
        "{\"type\":\"a\",\"data\":\"x\"}",
        "[/*c*/]",
        "[{\"type\":\"a\"}] x",
        "[{\"type\":\"a\"}][]",
        "\"\xff\"",
    };
    static const char esc_nul[] = "[\"\\\0x\"]";
    size_t i;
    cq_msg *m;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = cq_msg_from_json(&m, bad[i], strlen(bad[i]));

        if (rc != CQ_EPARSE) {
            fprintf(stderr, "  input %s\n", bad[i]);
        }
        T_EQ_INT(rc, CQ_EPARSE);
        T_CHECK(m == NULL);
    }
    /* A NUL escaped by a backslash: the parser's NUL-terminated copy ends
     * there, so reading len bytes of it overran it (found by fuzz_cq). */
    T_EQ_INT(cq_msg_from_json(&m, esc_nul, sizeof(esc_nul) - 1), CQ_EPARSE);
    T_CHECK(m == NULL);
}

/* Writes nested arrays: depth levels in all, the innermost holding 1. */
static char *nest(const char *head, int depth, const char *tail)
{
    size_t n = strlen(head), k = strlen(tail);
    char *s = malloc(n + 2 * (size_t)depth + k + 2);
    int i;

    if (s != NULL) {
        memcpy(s, head, n);
        for (i = 0; i < depth; i++) {
            s[n + (size_t)i] = '[';
        }
        s[n + (size_t)depth] = '1';
        for (i = 0; i < depth; i++) {
            s[n + (size_t)depth + 1 + (size_t)i] = ']';
        }
        memcpy(s + n + 2 * (size_t)depth + 1, tail, k + 1);
    }
    return s;
}

T_CASE(json_depth)
{
    const char *head = "[{\"type\":\"x\",\"data\":{\"v\":", *tail = "}}]";
    char *ok = nest(head, CQ_MSG_MAX_DEPTH - 3, tail);
    char *deep = nest(head, CQ_MSG_MAX_DEPTH - 2, tail);
    char *tree_text = nest("{\"type\":\"x\",\"data\":{\"v\":", 40, "}}");
    yajl_val tree;
    cq_msg *m;
    int rc1, rc2, rc3;

    T_CHECK(ok != NULL && deep != NULL && tree_text != NULL);
    T_STR_FREE(json2json(ok), ok);
    rc1 = cq_msg_from_json(&m, deep, strlen(deep));
    tree = yajl_tree_parse(tree_text, NULL, 0);
    rc2 = tree != NULL ? cq__msg_from_yajl(&m, tree) : 99;
    rc3 = cq_msg_from_json(&m, tree_text, strlen(tree_text));
    yajl_tree_free(tree);
    free(ok);
    free(deep);
    free(tree_text);
    T_EQ_INT(rc1, CQ_ETOOBIG);
    T_EQ_INT(rc2, CQ_ETOOBIG);
    T_EQ_INT(rc3, CQ_ETOOBIG);
}

/* Writes the message read from json through cq__msg_put() at depth;
 * returns its result. */
static int put_at(const char *json, int depth)
{
    cq_msg *m = NULL;
    cq__buf out;
    cq__jput w;
    int rc = cq_msg_from_json(&m, json, strlen(json));

    cq__buf_init(&out, 1 << 20);
    cq__jput_init(&w, &out, NULL);
    if (rc == CQ_OK)
        rc = cq__msg_put(&w, m, depth);
    cq_msg_free(m);
    cq__buf_free(&out);
    return rc;
}


/*
 * A parameter value kept as JSON text goes out as the writer writes the
 * value: escapes and numbers as yajl_gen writes them, and nesting refused
 * where yajl_gen would refuse it: past 127 containers, those the message
 * puts around the value counted (here 100 + 3).
 */
T_CASE(json_value_text_out)
{
    const char *head = "[{\"type\":\"x\",\"data\":{\"v\":", *tail = "}}]";
    char *fits = nest(head, 24, tail), *over = nest(head, 25, tail);

    T_STR_FREE(json2json("[{\"type\":\"x\",\"data\":{\"g\":{\"s\":"
                         "\"a\\/b\\u00e9\\u001f\\\"\",\"n\":[-0,1.50,2E+3],"
                         "\"\\u0041\":{}}}}]"),
               "[{\"type\":\"x\",\"data\":{\"g\":{\"s\":\"a/b\xc3\xa9"
               "\\u001F\\\"\",\"n\":[-0,1.50,2E+3],\"A\":{}}}}]");
    T_CHECK(fits != NULL && over != NULL);
    T_EQ_INT(put_at(fits, 100), CQ_OK);
    T_EQ_INT(put_at(over, 100), CQ_ETOOBIG);
    T_EQ_INT(put_at(over, 1), CQ_OK);
    free(fits);
    free(over);
}


/* Custom nodes nest until the depth cap, never beyond. */
T_CASE(json_node_depth)
{
    cq_msg *inner = cq_msg_new();
    int levels = 0, rc = CQ_OK;

    T_CHECK(inner != NULL);
    T_EQ_INT(cq_msg_add_text(inner, "x"), CQ_OK);
    while (rc == CQ_OK && levels < 100) {
        cq_msg *outer = cq_msg_new();

        T_CHECK(outer != NULL);
        rc = cq_msg_add_node_custom(outer, 1, "n", inner);
        if (rc == CQ_OK) {
            cq_msg_free(inner);
            inner = outer;
            levels++;
        } else {
            cq_msg_free(outer);
        }
    }
    T_EQ_INT(rc, CQ_ETOOBIG);
    T_CHECK(levels >= 5 && levels <= CQ_MSG_MAX_DEPTH / 3);
    {
        char *j = cq_msg_to_json_string(inner);
        char *cq = cq_msg_format_cq(inner);
        cq_msg *back;
        int ok = j != NULL && cq != NULL &&
                 cq_msg_from_json(&back, j, strlen(j)) == CQ_OK;

        ok = ok && t_msg_eq(back, inner);
        if (ok) {
            cq_msg_free(back);
        }
        free(j);
        free(cq);
        cq_msg_free(inner);
        T_CHECK(ok);
    }
}

/* Writing through a caller's writer, inside an object. */
T_CASE(json_put_in_object)
{
    cq__buf out;
    cq__jput w;
    cq_msg *m = cq_msg_new();

    T_CHECK(m != NULL);
    T_EQ_INT(cq_msg_add_at(m, 2), CQ_OK);
    T_EQ_INT(cq_msg_add_text(m, " hi & "), CQ_OK);
    cq__buf_init(&out, 1 << 20);
    cq__jput_init(&w, &out, NULL);
    T_EQ_INT(cq__json_put_key(&w, '{', "message"), CQ_OK);
    T_EQ_INT(cq__msg_put(&w, m, 1), CQ_OK);
    T_EQ_INT(cq__jput_add(&w, "}", 1), CQ_OK);
    T_EQ_STR(out.data,
             "{\"message\":[{\"type\":\"at\",\"data\":{\"qq\":\"2\"}},"
             "{\"type\":\"text\",\"data\":{\"text\":\" hi & \"}}]}");
    cq__buf_free(&out);
    /* Invalid UTF-8 is refused, as yajl's validating generator refuses it. */
    T_EQ_INT(cq_msg_add_text(m, "\xc3"), CQ_OK);
    T_CHECK(cq_msg_to_json_string(m) == NULL);
    cq__buf_init(&out, 1 << 20);
    cq__jput_init(&w, &out, NULL);
    T_EQ_INT(cq__msg_put(&w, m, 1), CQ_EINVAL);
    cq__buf_free(&out);
    cq_msg_free(m);
}


/* An event's message, taken from a yajl tree. */
T_CASE(json_from_yajl)
{
    const char *ev = "{\"post_type\":\"message\",\"message\":[{\"type\":"
                     "\"face\",\"data\":{\"id\":\"1\"}}],\"raw_message\":"
                     "\"[CQ:face,id=1]\",\"font\":14}";
    const char *msg_path[] = {"message", NULL},
               *raw_path[] = {"raw_message", NULL};
    const char *font_path[] = {"font", NULL};
    yajl_val root = yajl_tree_parse(ev, NULL, 0);
    cq_msg *a = NULL, *b = NULL, *c = (cq_msg *)1;
    int rc1, rc2, rc3, eq;

    T_CHECK(root != NULL);
    rc1 = cq__msg_from_yajl(&a, yajl_tree_get(root, msg_path, yajl_t_any));
    rc2 = cq__msg_from_yajl(&b, yajl_tree_get(root, raw_path, yajl_t_any));
    rc3 = cq__msg_from_yajl(&c, yajl_tree_get(root, font_path, yajl_t_any));
    yajl_tree_free(root);
    eq = rc1 == CQ_OK && rc2 == CQ_OK && t_msg_eq(a, b) && cq_msg_count(a) == 1;
    cq_msg_free(a);
    cq_msg_free(b);
    T_CHECK(eq);
    T_EQ_INT(rc3, CQ_EPARSE);
    T_CHECK(c == NULL);
    T_EQ_INT(cq__msg_from_yajl(&c, NULL), CQ_EINVAL);
}

T_SUITE(test_message_json_cases) = {
    {"message_json/json_roundtrip", json_roundtrip},
    {"message_json/json_values", json_values},
    {"message_json/json_forms", json_forms},
    {"message_json/json_errors", json_errors},
    {"message_json/json_depth", json_depth},
    {"message_json/json_node_depth", json_node_depth},
    {"message_json/json_value_text_out", json_value_text_out},
    {"message_json/json_put_in_object", json_put_in_object},
    {"message_json/json_from_yajl", json_from_yajl},
    {NULL, NULL},
};
