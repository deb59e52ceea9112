/*
 * Tests for src/lib/message.c and message_json.c: the PROTOCOL.md 8.3
 * vectors in both directions, escaping, malformed CQ code, the array form,
 * caps, NULL inputs and two seeded property tests.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "lib/message.h"
#include "test.h"

/* Checks that expr (a new string, freed here) equals want. */
#define T_STR_FREE(expr, want)                                                 \
    do {                                                                       \
        char *t_s_ = (expr);                                                   \
        const char *t_w_ = (want);                                             \
        int t_ok_ = t_s_ != NULL && t_w_ != NULL && strcmp(t_s_, t_w_) == 0;   \
        if (!t_ok_) {                                                          \
            fprintf(stderr, "  got  \"%s\"\n  want \"%s\"\n",                  \
                    t_s_ ? t_s_ : "(null)", t_w_ ? t_w_ : "(null)");           \
        }                                                                      \
        free(t_s_);                                                            \
        if (!t_ok_) {                                                          \
            t_fail(t, __FILE__, __LINE__, #expr " == " #want);                 \
            return;                                                            \
        }                                                                      \
    } while (0)

/* Parses CQ code and returns the canonical array form, or NULL. */
static char *cq2json(const char *cq)
{
    cq_msg *m;
    char *s;

    if (cq_msg_parse_cq(&m, cq, strlen(cq)) != CQ_OK) {
        return NULL;
    }
    s = cq_msg_to_json_string(m);
    cq_msg_free(m);
    return s;
}

/* Reads the array form and returns its CQ code, or NULL. */
static char *json2cq(const char *json)
{
    cq_msg *m;
    char *s;

    if (cq_msg_from_json(&m, json, strlen(json)) != CQ_OK) {
        return NULL;
    }
    s = cq_msg_format_cq(m);
    cq_msg_free(m);
    return s;
}

/* Reads the array form and writes it back, or NULL. */
static char *json2json(const char *json)
{
    cq_msg *m;
    char *s;

    if (cq_msg_from_json(&m, json, strlen(json)) != CQ_OK) {
        return NULL;
    }
    s = cq_msg_to_json_string(m);
    cq_msg_free(m);
    return s;
}

/* Returns 1 when a and b hold the same segments, parameters and flags. */
static int msg_eq(const cq_msg *a, const cq_msg *b)
{
    size_t i, j;

    if (cq_msg_count(a) != cq_msg_count(b)) {
        return 0;
    }
    for (i = 0; i < cq_msg_count(a); i++) {
        if (strcmp(cq_msg_seg_type(a, i), cq_msg_seg_type(b, i)) != 0 ||
            cq_msg_seg_nparams(a, i) != cq_msg_seg_nparams(b, i)) {
            return 0;
        }
        for (j = 0; j < cq_msg_seg_nparams(a, i); j++) {
            if (strcmp(cq_msg_seg_key(a, i, j), cq_msg_seg_key(b, i, j)) ||
                strcmp(cq_msg_seg_value(a, i, j), cq_msg_seg_value(b, i, j)) ||
                cq_msg_seg_is_json(a, i, j) != cq_msg_seg_is_json(b, i, j)) {
                return 0;
            }
        }
    }
    return 1;
}

static void dump(const char *what, const cq_msg *m)
{
    char *s = cq_msg_to_json_string(m);

    fprintf(stderr, "  %s: %s\n", what, s ? s : "(not UTF-8)");
    free(s);
}

/*
 * The PROTOCOL.md 8.3 vectors. Each is checked both ways: the string form
 * parses to the array form, and the array form formats to the string form.
 * Every string in the table is the canonical formatting, so both directions
 * hold exactly.
 */
#define VECTOR(name, cq, json)                                                 \
    T_CASE(name)                                                               \
    {                                                                          \
        T_STR_FREE(cq2json(cq), json);                                         \
        T_STR_FREE(json2cq(json), cq);                                         \
    }

VECTOR(vec_spec_text, "- &#91;x&#93; 使用 `&amp;data` 获取地址",
       "[{\"type\":\"text\",\"data\":{\"text\":\"- [x] 使用 `&data` "
       "获取地址\"}}]")

VECTOR(vec_spec_share_comma,
       "[CQ:share,title=震惊&#44;小伙睡觉前居然...,url=http://baidu.com/"
       "?a=1&amp;b=2]",
       "[{\"type\":\"share\",\"data\":{\"title\":\"震惊,小伙睡觉前居然...\","
       "\"url\":\"http://baidu.com/?a=1&b=2\"}}]")

VECTOR(vec_spec_mixed,
       "&#91;第一部分&#93;[CQ:image,file=123.jpg]图片之后的部分，表情：[CQ:"
       "face,id=123]",
       "[{\"type\":\"text\",\"data\":{\"text\":\"[第一部分]\"}},"
       "{\"type\":\"image\",\"data\":{\"file\":\"123.jpg\"}},"
       "{\"type\":\"text\",\"data\":{\"text\":\"图片之后的部分，表情：\"}},"
       "{\"type\":\"face\",\"data\":{\"id\":\"123\"}}]")

VECTOR(vec_spec_equals, "[CQ:share,title=标题中有=等号,url=http://baidu.com]",
       "[{\"type\":\"share\",\"data\":{\"title\":\"标题中有=等号\","
       "\"url\":\"http://baidu.com\"}}]")

VECTOR(vec_spec_node,
       "[CQ:node,user_id=10001000,nickname=某人,content=&#91;CQ:face&#44;id="
       "123&#93;哈喽～]",
       "[{\"type\":\"node\",\"data\":{\"user_id\":\"10001000\","
       "\"nickname\":\"某人\",\"content\":\"[CQ:face,id=123]哈喽～\"}}]")

VECTOR(
    vec_gocq,
    "asdfqwerqwerqwer[CQ:face,id=115,text=111]asdfasdfasdfasdfasdfasdfasd[CQ:"
    "face,id=217]&#93; 123 &#91;",
    "[{\"type\":\"text\",\"data\":{\"text\":\"asdfqwerqwerqwer\"}},"
    "{\"type\":\"face\",\"data\":{\"id\":\"115\",\"text\":\"111\"}},"
    "{\"type\":\"text\",\"data\":{\"text\":\"asdfasdfasdfasdfasdfasdfasd\"}},"
    "{\"type\":\"face\",\"data\":{\"id\":\"217\"}},"
    "{\"type\":\"text\",\"data\":{\"text\":\"] 123 [\"}}]")

VECTOR(vec_napcat_escaped, "查询物品 &#91;神话&#93;小小的M60 4☆",
       "[{\"type\":\"text\",\"data\":{\"text\":\"查询物品 "
       "[神话]小小的M60 4☆\"}}]")

VECTOR(
    vec_napcat_at, "签到[CQ:at,qq=1977970939,name=nekowq]",
    "[{\"type\":\"text\",\"data\":{\"text\":\"签到\"}},"
    "{\"type\":\"at\",\"data\":{\"qq\":\"1977970939\",\"name\":\"nekowq\"}}]")

VECTOR(vec_napcat_literal_cq, "!info &#91;CQ:qq=123,name=&#91;&#93;",
       "[{\"type\":\"text\",\"data\":{\"text\":\"!info "
       "[CQ:qq=123,name=[]\"}}]")

VECTOR(vec_amp_last, "&amp;#91;",
       "[{\"type\":\"text\",\"data\":{\"text\":\"&#91;\"}}]")

/* The Python vector: MessageSegment.image('http://x/?a=1&b=2,c', cache=0). */
T_CASE(vec_py_image)
{
    const char *want = "[CQ:image,file=http://x/?a=1&amp;b=2&#44;c,cache=0]";
    cq_msg *m = cq_msg_new(), *p;

    T_CHECK(m != NULL);
    T_EQ_INT(cq_msg_add_seg(m, "image", "file", "http://x/?a=1&b=2,c", "cache",
                            "0", NULL),
             CQ_OK);
    T_STR_FREE(cq_msg_format_cq(m), want);
    T_EQ_INT(cq_msg_parse_cq(&p, want, strlen(want)), CQ_OK);
    T_CHECK(msg_eq(m, p));
    cq_msg_free(p);
    cq_msg_free(m);
}

/* A custom node built from a message formats to the spec's node vector. */
T_CASE(vec_node_builder)
{
    cq_msg *c = cq_msg_new(), *m = cq_msg_new();

    T_CHECK(c != NULL && m != NULL);
    T_EQ_INT(cq_msg_add_face(c, 123), CQ_OK);
    T_EQ_INT(cq_msg_add_text(c, "哈喽～"), CQ_OK);
    T_EQ_INT(cq_msg_add_node_custom(m, 10001000, "某人", c), CQ_OK);
    T_STR_FREE(cq_msg_format_cq(m),
               "[CQ:node,user_id=10001000,nickname=某人,content=&#91;CQ:face&#"
               "44;id=123&#93;哈喽～]");
    T_STR_FREE(cq_msg_to_json_string(m),
               "[{\"type\":\"node\",\"data\":{\"user_id\":\"10001000\","
               "\"nickname\":\"某人\",\"content\":[{\"type\":\"face\","
               "\"data\":{\"id\":\"123\"}},{\"type\":\"text\",\"data\":{"
               "\"text\":\"哈喽～\"}}]}}]");
    T_EQ_INT(cq_msg_seg_is_json(m, 0, 2), 1);
    cq_msg_free(c);
    cq_msg_free(m);
}

T_CASE(escape_edges)
{
    T_STR_FREE(cq_unescape("&amp;#91;"), "&#91;");
    T_STR_FREE(cq_unescape("&amp;amp;"), "&amp;");
    T_STR_FREE(cq_unescape("&#44;&#91;&#93;&amp;"), ",[]&");
    T_STR_FREE(cq_unescape("&lt;&#123;&gt;&#44&amp"), "&lt;&#123;&gt;&#44&amp");
    T_STR_FREE(cq_unescape("&&&#91;;"), "&&[;");
    T_STR_FREE(cq_unescape(""), "");
    T_STR_FREE(cq_escape("a,b&[]", 0), "a,b&amp;&#91;&#93;");
    T_STR_FREE(cq_escape("a,b&[]", 1), "a&#44;b&amp;&#91;&#93;");
    T_STR_FREE(cq_escape("&#91;", 1), "&amp;#91;");
    T_STR_FREE(cq_escape("你好=;#", 1), "你好=;#");
    T_STR_FREE(cq_escape("", 1), "");
}

/* Commas are escaped in values, not in text; &lt; stays literal. */
T_CASE(escape_in_messages)
{
    cq_msg *m = cq_msg_new();

    T_CHECK(m != NULL);
    T_EQ_INT(cq_msg_add_text(m, "a,b &lt; &#123;"), CQ_OK);
    T_EQ_INT(cq_msg_add_seg(m, "x", "k", "a,b &lt;", NULL), CQ_OK);
    T_STR_FREE(cq_msg_format_cq(m),
               "a,b &amp;lt; &amp;#123;[CQ:x,k=a&#44;b &amp;lt;]");
    cq_msg_free(m);
    /* Not canonical: "&#44;" in text decodes, and formats back as ','. */
    T_STR_FREE(cq2json("a&#44;b&lt;"),
               "[{\"type\":\"text\",\"data\":{\"text\":\"a,b&lt;\"}}]");
}

/*
 * Malformed and edge CQ code: each parses to the array form shown and
 * formats back to the canonical string shown.
 */
#define PARSES(name, cq, json, canonical)                                      \
    T_CASE(name)                                                               \
    {                                                                          \
        T_STR_FREE(cq2json(cq), json);                                         \
        T_STR_FREE(json2cq(json), canonical);                                  \
    }

#define TEXT(s) "[{\"type\":\"text\",\"data\":{\"text\":\"" s "\"}}]"

/* No type: literal text. */
PARSES(bad_empty_type, "[CQ:]", TEXT("[CQ:]"), "&#91;CQ:&#93;")
/* Unterminated: literal text (gocq would drop it). */
PARSES(bad_unterminated_type, "[CQ:face", TEXT("[CQ:face"), "&#91;CQ:face")
PARSES(bad_unterminated_params, "a[CQ:face,id=1", TEXT("a[CQ:face,id=1"),
       "a&#91;CQ:face,id=1")
/* A character outside [A-Za-z0-9_.-] in the type: literal text. */
PARSES(bad_type_char, "[CQ:fa ce,id=1]", TEXT("[CQ:fa ce,id=1]"),
       "&#91;CQ:fa ce,id=1&#93;")
/* Brackets around a code are text on either side. */
PARSES(bad_nested, "[[CQ:face,id=1]]",
       "[{\"type\":\"text\",\"data\":{\"text\":\"[\"}},"
       "{\"type\":\"face\",\"data\":{\"id\":\"1\"}},"
       "{\"type\":\"text\",\"data\":{\"text\":\"]\"}}]",
       "&#91;[CQ:face,id=1]&#93;")
PARSES(bad_lone_close, "]", TEXT("]"), "&#93;")
/* A part without '=' is dropped. */
PARSES(bad_novalue, "[CQ:x,novalue]", "[{\"type\":\"x\",\"data\":{}}]",
       "[CQ:x]")
/* A trailing comma is allowed; an empty key drops its part. */
PARSES(edge_trailing_comma, "[CQ:face,id=1,]",
       "[{\"type\":\"face\",\"data\":{\"id\":\"1\"}}]", "[CQ:face,id=1]")
PARSES(edge_empty_key, "[CQ:x,=v,k=w]",
       "[{\"type\":\"x\",\"data\":{\"k\":"
       "\"w\"}}]",
       "[CQ:x,k=w]")
/* Empty values are kept (gocq flash images send "url="). */
PARSES(edge_empty_value, "[CQ:image,file=a.jpg,url=]",
       "[{\"type\":\"image\",\"data\":{\"file\":\"a.jpg\",\"url\":\"\"}}]",
       "[CQ:image,file=a.jpg,url=]")
/* A repeated key: first position, last value. */
PARSES(edge_duplicate_key, "[CQ:x,a=1,b=2,a=3]",
       "[{\"type\":\"x\",\"data\":{\"a\":\"3\",\"b\":\"2\"}}]",
       "[CQ:x,a=3,b=2]")
/* Parameters run to the first ']', so '[' may appear in them. */
PARSES(edge_open_in_params, "[CQ:a,b=[CQ:c,d=1]",
       "[{\"type\":\"a\",\"data\":{\"b\":\"[CQ:c\",\"d\":\"1\"}}]",
       "[CQ:a,b=&#91;CQ:c,d=1]")
/* Keys are verbatim, spaces included (4.x would trim). */
PARSES(edge_key_space, "[CQ:x, a=1]",
       "[{\"type\":\"x\",\"data\":{\" a\":\"1\"}}]", "[CQ:x, a=1]")
/* A pure text code is text and merges with its neighbours. */
PARSES(edge_text_code, "a[CQ:text,text=b&#44;]c", TEXT("ab,c"), "ab,c")
/* A text code with other parameters, or none, stays a code. */
PARSES(edge_text_code_other, "[CQ:text][CQ:text,text=a,x=1]",
       "[{\"type\":\"text\",\"data\":{}},"
       "{\"type\":\"text\",\"data\":{\"text\":\"a\",\"x\":\"1\"}}]",
       "[CQ:text][CQ:text,text=a,x=1]")
PARSES(edge_unknown_type, "[CQ:foo_bar,k=v]",
       "[{\"type\":\"foo_bar\",\"data\":{\"k\":\"v\"}}]", "[CQ:foo_bar,k=v]")
PARSES(edge_type_chars, "[CQ:a.B-9_]", "[{\"type\":\"a.B-9_\",\"data\":{}}]",
       "[CQ:a.B-9_]")
PARSES(edge_after_code, "[CQ:face,id=1]x[CQ:",
       "[{\"type\":\"face\",\"data\":{\"id\":\"1\"}},"
       "{\"type\":\"text\",\"data\":{\"text\":\"x[CQ:\"}}]",
       "[CQ:face,id=1]x&#91;CQ:")

T_CASE(bad_nul_byte)
{
    cq_msg *m = (cq_msg *)1;

    T_EQ_INT(cq_msg_parse_cq(&m, "a\0b", 3), CQ_EINVAL);
    T_CHECK(m == NULL);
    T_EQ_INT(cq_msg_from_json(&m, "\"a\0\"", 4), CQ_EPARSE);
    T_CHECK(m == NULL);
}

/* Non-string values, null data and nested node content round-trip. */
PARSES(json_number, "[CQ:at,qq=123456]",
       "[{\"type\":\"at\",\"data\":{\"qq\":\"123456\"}}]", "[CQ:at,qq=123456]")

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

        ok = ok && msg_eq(back, inner);
        if (ok) {
            cq_msg_free(back);
        }
        free(j);
        free(cq);
        cq_msg_free(inner);
        T_CHECK(ok);
    }
}

/* Writing into a caller's generator, inside an object. */
T_CASE(json_gen)
{
    const unsigned char *buf;
    size_t len;
    yajl_gen g = yajl_gen_alloc(NULL);
    cq_msg *m = cq_msg_new();
    int ok;

    T_CHECK(g != NULL && m != NULL);
    T_EQ_INT(cq_msg_add_at(m, 2), CQ_OK);
    T_EQ_INT(cq_msg_add_text(m, " hi & "), CQ_OK);
    T_EQ_INT(yajl_gen_map_open(g), yajl_gen_status_ok);
    /* A key is expected here, not an array. */
    T_EQ_INT(cq__msg_to_json(m, g), CQ_EINVAL);
    T_EQ_INT(yajl_gen_string(g, (const unsigned char *)"message", 7),
             yajl_gen_status_ok);
    T_EQ_INT(cq__msg_to_json(m, g), CQ_OK);
    T_EQ_INT(yajl_gen_map_close(g), yajl_gen_status_ok);
    T_EQ_INT(yajl_gen_get_buf(g, &buf, &len), yajl_gen_status_ok);
    ok = strcmp((const char *)buf,
                "{\"message\":[{\"type\":\"at\",\"data\":{\"qq\":\"2\"}},"
                "{\"type\":\"text\",\"data\":{\"text\":\" hi & \"}}]}") == 0;
    yajl_gen_free(g);
    T_CHECK(ok);
    T_EQ_INT(cq__msg_to_json(m, NULL), CQ_EINVAL);
    /* Invalid UTF-8 is refused by the validating generator. */
    T_EQ_INT(cq_msg_add_text(m, "\xc3"), CQ_OK);
    T_CHECK(cq_msg_to_json_string(m) == NULL);
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
    eq = rc1 == CQ_OK && rc2 == CQ_OK && msg_eq(a, b) && cq_msg_count(a) == 1;
    cq_msg_free(a);
    cq_msg_free(b);
    T_CHECK(eq);
    T_EQ_INT(rc3, CQ_EPARSE);
    T_CHECK(c == NULL);
    T_EQ_INT(cq__msg_from_yajl(&c, NULL), CQ_EINVAL);
}

T_CASE(builders)
{
    cq_msg *m = cq_msg_new();

    T_CHECK(m != NULL);
    T_EQ_INT(cq_msg_add_face(m, 178), CQ_OK);
    T_EQ_INT(cq_msg_add_at(m, 1977970939), CQ_OK);
    T_EQ_INT(cq_msg_add_at_all(m), CQ_OK);
    T_EQ_INT(cq_msg_add_image(m, "file:///tmp/a b.png"), CQ_OK);
    T_EQ_INT(cq_msg_add_record(m, "base64://AAA="), CQ_OK);
    T_EQ_INT(cq_msg_add_video(m, "v.mp4"), CQ_OK);
    T_EQ_INT(cq_msg_add_reply(m, -2147483648LL), CQ_OK);
    T_EQ_INT(cq_msg_add_share(m, "http://a/?x=1&y=2", "t", NULL, "i"), CQ_OK);
    T_EQ_INT(cq_msg_add_poke(m, 126, 2003), CQ_OK);
    T_EQ_INT(cq_msg_add_music(m, "163", 28949129), CQ_OK);
    T_EQ_INT(cq_msg_add_music_custom(m, "u", "a", "t", NULL, NULL), CQ_OK);
    T_EQ_INT(cq_msg_add_location(m, "39.8969426", "116.3109099", "T", NULL),
             CQ_OK);
    T_EQ_INT(cq_msg_add_contact(m, "group", 100100), CQ_OK);
    T_EQ_INT(cq_msg_add_rps(m), CQ_OK);
    T_EQ_INT(cq_msg_add_dice(m), CQ_OK);
    T_EQ_INT(cq_msg_add_shake(m), CQ_OK);
    T_EQ_INT(cq_msg_add_anonymous(m, 1), CQ_OK);
    T_EQ_INT(cq_msg_add_forward(m, "fwd,1"), CQ_OK);
    T_EQ_INT(cq_msg_add_node(m, INT64_MAX), CQ_OK);
    T_EQ_INT(cq_msg_add_xml(m, "<a>&</a>"), CQ_OK);
    T_EQ_INT(cq_msg_add_json(m, "{\"a\":[1,2]}"), CQ_OK);
    T_EQ_INT(cq_msg_count(m), 21);
    T_STR_FREE(cq_msg_format_cq(m),
               "[CQ:face,id=178][CQ:at,qq=1977970939][CQ:at,qq=all]"
               "[CQ:image,file=file:///tmp/a b.png][CQ:record,file=base64://"
               "AAA=][CQ:video,file=v.mp4][CQ:reply,id=-2147483648]"
               "[CQ:share,url=http://a/?x=1&amp;y=2,title=t,image=i]"
               "[CQ:poke,type=126,id=2003][CQ:music,type=163,id=28949129]"
               "[CQ:music,type=custom,url=u,audio=a,title=t]"
               "[CQ:location,lat=39.8969426,lon=116.3109099,title=T]"
               "[CQ:contact,type=group,id=100100][CQ:rps][CQ:dice][CQ:shake]"
               "[CQ:anonymous,ignore=1][CQ:forward,id=fwd&#44;1]"
               "[CQ:node,id=9223372036854775807][CQ:xml,data=<a>&amp;</a>]"
               "[CQ:json,data={\"a\":&#91;1&#44;2&#93;}]");
    cq_msg_free(m);
}

T_CASE(builders_invalid)
{
    cq_msg *m = cq_msg_new();

    T_CHECK(m != NULL);
    T_EQ_INT(cq_msg_add_face(NULL, 1), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_image(m, NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_record(m, NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_video(m, NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_share(m, NULL, "t", NULL, NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_share(m, "u", NULL, NULL, NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_music(m, NULL, 1), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_music_custom(m, "u", NULL, "t", NULL, NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_location(m, NULL, "1", NULL, NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_contact(m, NULL, 1), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_forward(m, NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_xml(m, NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_json(m, NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_node_custom(m, 1, NULL, m), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_node_custom(m, 1, "n", NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_node_custom(NULL, 1, "n", m), CQ_EINVAL);
    T_EQ_INT(cq_msg_count(m), 0);
    cq_msg_free(m);
}

/* Text merges, NULL values are skipped, append merges at the seam. */
T_CASE(build_and_read)
{
    cq_msg *m = cq_msg_new(), *o = cq_msg_new(), *d;

    T_CHECK(m != NULL && o != NULL);
    T_EQ_INT(cq_msg_add_text(m, "a"), CQ_OK);
    T_EQ_INT(cq_msg_add_text(m, ""), CQ_OK);
    T_EQ_INT(cq_msg_add_text(m, "[CQ:face,id=1]"), CQ_OK);
    T_EQ_INT(cq_msg_count(m), 1);
    T_EQ_STR(cq_msg_seg_get(m, 0, "text"), "a[CQ:face,id=1]");
    T_EQ_INT(
        cq_msg_add_seg(m, "image", "file", "x", "url", NULL, "c", "1", NULL),
        CQ_OK);
    T_EQ_INT(cq_msg_seg_nparams(m, 1), 2);
    T_EQ_STR(cq_msg_seg_key(m, 1, 1), "c");
    T_EQ_STR(cq_msg_seg_value(m, 1, 1), "1");
    T_CHECK(cq_msg_seg_get(m, 1, "url") == NULL);
    T_CHECK(cq_msg_seg_get(m, 2, "file") == NULL);
    T_CHECK(cq_msg_seg_type(m, 2) == NULL);
    T_CHECK(cq_msg_seg_key(m, 1, 2) == NULL);
    T_CHECK(cq_msg_seg_value(m, 5, 0) == NULL);
    T_EQ_INT(cq_msg_seg_is_json(m, 1, 9), 0);
    T_EQ_INT(cq_msg_add_text(m, "b"), CQ_OK);
    T_EQ_INT(cq_msg_add_text(o, "c"), CQ_OK);
    T_EQ_INT(cq_msg_add_face(o, 1), CQ_OK);
    T_EQ_INT(cq_msg_append(m, o), CQ_OK);
    T_EQ_INT(cq_msg_count(m), 4);
    T_EQ_STR(cq_msg_seg_get(m, 2, "text"), "bc");
    T_EQ_INT(cq_msg_append(o, o), CQ_OK);
    T_STR_FREE(cq_msg_format_cq(o), "c[CQ:face,id=1]c[CQ:face,id=1]");
    T_STR_FREE(cq_msg_plain_text(m), "a[CQ:face,id=1] bc");
    T_STR_FREE(cq_msg_plain_text(o), "c c");
    d = cq_msg_dup(m);
    T_CHECK(d != NULL && msg_eq(d, m));
    T_EQ_INT(cq_msg_add_text(d, "z"), CQ_OK);
    T_CHECK(!msg_eq(d, m));
    cq_msg_free(d);
    cq_msg_free(m);
    cq_msg_free(o);
}

/* A text segment given as a segment stays apart; plain text joins them. */
T_CASE(plain_text)
{
    const char *j =
        "[{\"type\":\"text\",\"data\":{\"text\":\"a\"}},"
        "{\"type\":\"text\",\"data\":{\"text\":\"b\"}},"
        "{\"type\":\"face\",\"data\":{\"text\":\"no\"}},"
        "{\"type\":\"text\",\"data\":{\"text\":1}},"
        "{\"type\":\"text\",\"data\":{\"x\":\"y\",\"text\":\"c\"}}]";
    cq_msg *m;

    T_EQ_INT(cq_msg_from_json(&m, j, strlen(j)), CQ_OK);
    T_STR_FREE(cq_msg_plain_text(m), "a b c");
    /* Appending text merges into the last segment only if it is pure. */
    T_EQ_INT(cq_msg_add_text(m, "d"), CQ_OK);
    T_EQ_INT(cq_msg_count(m), 6);
    cq_msg_free(m);
}

/* Builds a string of n copies of piece between head and tail. */
static char *repeat(const char *head, const char *piece, size_t n,
                    const char *tail)
{
    size_t h = strlen(head), p = strlen(piece), k = strlen(tail), i;
    char *s = malloc(h + p * n + k + 1);

    if (s != NULL) {
        memcpy(s, head, h);
        for (i = 0; i < n; i++) {
            memcpy(s + h + p * i, piece, p);
        }
        memcpy(s + h + p * n, tail, k + 1);
    }
    return s;
}

T_CASE(caps_bytes)
{
    size_t max = (size_t)CQ_MSG_MAX_BYTES;
    char *big = malloc(max + 1);
    cq_msg *m = NULL;
    int rc_big, rc_json, rc_max, rc_more;

    T_CHECK(big != NULL);
    memset(big, 'a', max + 1);
    rc_big = cq_msg_parse_cq(&m, big, max + 1);
    rc_json = cq_msg_from_json(&m, big, max + 1);
    rc_max = cq_msg_parse_cq(&m, big, max);
    free(big);
    T_EQ_INT(rc_big, CQ_ETOOBIG);
    T_EQ_INT(rc_json, CQ_ETOOBIG);
    T_EQ_INT(rc_max, CQ_OK);
    /* The message holds CQ_MSG_MAX_BYTES of strings: nothing more fits. */
    rc_more = cq_msg_add_text(m, "b");
    T_EQ_INT(cq_msg_add_face(m, 1), CQ_ETOOBIG);
    T_EQ_INT(cq_msg_count(m), 1);
    cq_msg_free(m);
    T_EQ_INT(rc_more, CQ_ETOOBIG);
}

T_CASE(caps_segments)
{
    size_t max = CQ_MSG_MAX_SEGS;
    char *ok = repeat("", "[CQ:a]", max, "");
    char *over = repeat("", "[CQ:a]", max + 1, "");
    char *json = repeat("[", "{\"type\":\"a\"},", max, "{\"type\":\"a\"}]");
    cq_msg *m = NULL, *one = cq_msg_new(), *o = NULL;
    int rc_ok, rc_over, rc_json;

    T_CHECK(ok != NULL && over != NULL && json != NULL && one != NULL);
    rc_over = cq_msg_parse_cq(&o, over, strlen(over));
    rc_json = cq_msg_from_json(&o, json, strlen(json));
    rc_ok = cq_msg_parse_cq(&m, ok, strlen(ok));
    free(ok);
    free(over);
    free(json);
    T_EQ_INT(rc_over, CQ_ETOOBIG);
    T_EQ_INT(rc_json, CQ_ETOOBIG);
    T_CHECK(o == NULL);
    T_EQ_INT(rc_ok, CQ_OK);
    T_EQ_INT(cq_msg_count(m), max);
    T_EQ_INT(cq_msg_add_face(m, 1), CQ_ETOOBIG);
    T_EQ_INT(cq_msg_add_face(one, 1), CQ_OK);
    T_EQ_INT(cq_msg_append(m, one), CQ_ETOOBIG);
    T_EQ_INT(cq_msg_count(m), max);
    /* A trailing pure text still merges into a pure text. */
    T_EQ_INT(cq_msg_add_text(m, "x"), CQ_ETOOBIG);
    cq_msg_free(m);
    cq_msg_free(one);
}

T_CASE(caps_params)
{
    char buf[CQ_MSG_MAX_PARAMS * 8 + 16], key[16];
    size_t n = 5, i;
    cq_msg *m;

    /* Distinct keys k0 .. k63 fit; one more is refused. */
    memcpy(buf, "[CQ:x", 5);
    for (i = 0; i < CQ_MSG_MAX_PARAMS; i++) {
        snprintf(key, sizeof(key), ",k%zu=", i);
        memcpy(buf + n, key, strlen(key));
        n += strlen(key);
    }
    memcpy(buf + n, "]", 2);
    T_EQ_INT(cq_msg_parse_cq(&m, buf, strlen(buf)), CQ_OK);
    T_EQ_INT(cq_msg_seg_nparams(m, 0), CQ_MSG_MAX_PARAMS);
    cq_msg_free(m);
    memcpy(buf + n, ",k64=]", 7);
    T_EQ_INT(cq_msg_parse_cq(&m, buf, strlen(buf)), CQ_ETOOBIG);
    /* A repeated key adds no parameter. */
    memcpy(buf + n, ",k63=]", 7);
    T_EQ_INT(cq_msg_parse_cq(&m, buf, strlen(buf)), CQ_OK);
    T_EQ_INT(cq_msg_seg_nparams(m, 0), CQ_MSG_MAX_PARAMS);
    cq_msg_free(m);
}

/* NULL and empty inputs. */
T_CASE(null_inputs)
{
    cq_msg *m = (cq_msg *)1, *e = cq_msg_new(), *d;

    T_CHECK(e != NULL);
    cq_msg_free(NULL);
    T_EQ_INT(cq_msg_count(NULL), 0);
    T_CHECK(cq_msg_seg_type(NULL, 0) == NULL);
    T_CHECK(cq_msg_seg_get(NULL, 0, "a") == NULL);
    T_CHECK(cq_msg_seg_key(NULL, 0, 0) == NULL);
    T_EQ_INT(cq_msg_seg_nparams(NULL, 0), 0);
    T_STR_FREE(cq_msg_plain_text(NULL), "");
    T_STR_FREE(cq_msg_format_cq(NULL), "");
    T_STR_FREE(cq_msg_to_json_string(NULL), "[]");
    T_STR_FREE(cq_msg_plain_text(e), "");
    T_STR_FREE(cq_msg_format_cq(e), "");
    T_STR_FREE(cq_msg_to_json_string(e), "[]");
    T_CHECK(cq_escape(NULL, 1) == NULL);
    T_CHECK(cq_unescape(NULL) == NULL);
    d = cq_msg_dup(NULL);
    T_CHECK(d != NULL && cq_msg_count(d) == 0);
    cq_msg_free(d);
    T_EQ_INT(cq_msg_add_text(NULL, "a"), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_text(e, NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_text(e, ""), CQ_OK);
    T_EQ_INT(cq_msg_count(e), 0);
    T_EQ_INT(cq_msg_add_seg(NULL, "a", NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_seg(e, NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_seg(e, "", NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_append(NULL, e), CQ_EINVAL);
    T_EQ_INT(cq_msg_append(e, NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_append(e, e), CQ_OK);
    T_CHECK(cq_msg_seg_get(e, 0, NULL) == NULL);
    T_EQ_INT(cq_msg_parse_cq(NULL, "a", 1), CQ_EINVAL);
    T_EQ_INT(cq_msg_parse_cq(&m, NULL, 0), CQ_EINVAL);
    T_CHECK(m == NULL);
    T_EQ_INT(cq_msg_from_json(NULL, "[]", 2), CQ_EINVAL);
    T_EQ_INT(cq_msg_from_json(&m, NULL, 0), CQ_EINVAL);
    T_EQ_INT(cq_msg_from_json(&m, "", 0), CQ_EPARSE);
    T_EQ_INT(cq__msg_from_yajl(NULL, NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_parse_cq(&m, "", 0), CQ_OK);
    T_EQ_INT(cq_msg_count(m), 0);
    cq_msg_free(m);
    /* The length is what counts, not a terminating NUL. */
    T_EQ_INT(cq_msg_parse_cq(&m, "[CQ:face,id=1]tail", 14), CQ_OK);
    T_EQ_INT(cq_msg_count(m), 1);
    cq_msg_free(m);
    cq_msg_free(e);
}

/* A seeded generator (splitmix64): runs are reproducible. */
static uint64_t rnd_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t rnd(uint64_t *s, size_t n)
{
    return (size_t)(rnd_next(s) % n);
}

/* Appends up to max pieces from set to buf (size cap), NUL-terminated. */
static void rnd_str(uint64_t *s, char *buf, size_t cap, const char *const *set,
                    size_t nset, size_t min, size_t max)
{
    size_t n = min + rnd(s, max - min + 1), len = 0, i;

    buf[0] = '\0';
    for (i = 0; i < n; i++) {
        const char *p = set[rnd(s, nset)];
        size_t k = strlen(p);

        if (len + k + 1 > cap) {
            break;
        }
        memcpy(buf + len, p, k + 1);
        len += k;
    }
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Every character that matters to CQ code, entity look-alikes, multibyte
 * UTF-8 and plain letters. */
static const char *const text_set[] = {
    "a",     "Z",     "0",     " ",    "&",    "[",
    "]",     ",",     "=",     ";",    "#",    "&amp;",
    "&#44;", "&#91;", "&#93;", "&lt;", "[CQ:", "[CQ:face,id=1]",
    "你",    "☆",     "😀",     "\t",
};
static const char *const type_set[] = {
    "a", "z", "A", "Q", "0", "9", "_", ".", "-", "text", "face",
};
/* Keys: anything but ',', '=' and ']', which the string form cannot
 * carry in a key, and non-empty. */
static const char *const key_set[] = {
    "k", "id", "_", " ", "&", "[", ";", "#", "&amp;", "&#44;", "你", "☆",
};

/*
 * Returns x as the CQ form can preserve it: adjacent pure text segments
 * merged and empty ones dropped, which is what cq_msg_add_text() does. The
 * string form cannot tell "a" "b" from "ab", nor carry an empty text.
 */
static cq_msg *normalise(const cq_msg *x)
{
    cq_msg *n = cq_msg_new();
    size_t i, j;

    for (i = 0; n != NULL && i < cq_msg_count(x); i++) {
        const char *k[5] = {NULL}, *v[4] = {NULL};
        size_t np = cq_msg_seg_nparams(x, i);
        int rc;

        for (j = 0; j < np && j < 4; j++) {
            k[j] = cq_msg_seg_key(x, i, j);
            v[j] = cq_msg_seg_value(x, i, j);
        }
        if (strcmp(cq_msg_seg_type(x, i), "text") == 0 && np == 1 &&
            strcmp(k[0], "text") == 0) {
            rc = cq_msg_add_text(n, v[0]);
        } else {
            rc = cq_msg_add_seg(n, cq_msg_seg_type(x, i), k[0], v[0], k[1],
                                v[1], k[2], v[2], k[3], v[3], NULL);
        }
        if (rc != CQ_OK) {
            cq_msg_free(n);
            n = NULL;
        }
    }
    return n;
}

/* Builds a random message: literal text, raw (possibly empty) text
 * segments, and segments of random types with up to 4 parameters. */
static cq_msg *rnd_msg(uint64_t *s)
{
    cq_msg *m = cq_msg_new();
    size_t n = rnd(s, 9), i;
    char a[128], b[128], c[128], d[128], e[128], f[128], type[32];

    for (i = 0; m != NULL && i < n; i++) {
        size_t kind = rnd(s, 10);
        int rc;

        rnd_str(s, a, sizeof(a), text_set, NELEM(text_set), 0, 8);
        if (kind < 3) {
            rc = cq_msg_add_text(m, a);
        } else if (kind < 5) {
            rc = cq_msg_add_seg(m, "text", "text", a, NULL);
        } else {
            do {
                rnd_str(s, type, sizeof(type), type_set, NELEM(type_set), 1, 4);
            } while (strcmp(type, "text") == 0);
            rnd_str(s, b, sizeof(b), key_set, NELEM(key_set), 1, 3);
            rnd_str(s, c, sizeof(c), key_set, NELEM(key_set), 1, 3);
            rnd_str(s, d, sizeof(d), key_set, NELEM(key_set), 1, 3);
            rnd_str(s, e, sizeof(e), text_set, NELEM(text_set), 0, 6);
            rnd_str(s, f, sizeof(f), text_set, NELEM(text_set), 0, 6);
            switch (rnd(s, 4)) {
            case 0:
                rc = cq_msg_add_seg(m, type, NULL);
                break;
            case 1:
                rc = cq_msg_add_seg(m, type, b, a, NULL);
                break;
            case 2:
                rc = cq_msg_add_seg(m, type, b, a, c, e, NULL);
                break;
            default:
                rc = cq_msg_add_seg(m, type, b, a, c, e, d, f, "z", "", NULL);
                break;
            }
        }
        if (rc != CQ_OK) {
            cq_msg_free(m);
            m = NULL;
        }
    }
    return m;
}

/*
 * parse(format(x)) equals x after normalise(); format is stable on its own
 * output; the array form keeps x exactly, without normalising.
 */
T_CASE(property_roundtrip)
{
    uint64_t seed;

    for (seed = 1; seed <= 2000; seed++) {
        uint64_t s = seed * 7919;
        cq_msg *x = rnd_msg(&s), *n = normalise(x), *y = NULL, *z = NULL;
        char *cq = cq_msg_format_cq(x), *cq2 = NULL, *json;
        int ok;

        T_CHECK(x != NULL && n != NULL && cq != NULL);
        ok = cq_msg_parse_cq(&y, cq, strlen(cq)) == CQ_OK && msg_eq(n, y);
        if (ok) {
            cq2 = cq_msg_format_cq(y);
            ok = cq2 != NULL && strcmp(cq, cq2) == 0;
        }
        json = cq_msg_to_json_string(x);
        ok = ok && json != NULL &&
             cq_msg_from_json(&z, json, strlen(json)) == CQ_OK && msg_eq(x, z);
        if (!ok) {
            fprintf(stderr, "  seed %llu: %s\n", (unsigned long long)seed, cq);
            dump("want", n);
            dump("got ", y);
        }
        cq_msg_free(x);
        cq_msg_free(n);
        cq_msg_free(y);
        cq_msg_free(z);
        free(cq);
        free(cq2);
        free(json);
        T_CHECK(ok);
    }
}

/* Any string parses, and parse(format(parse(s))) == parse(s). */
T_CASE(property_parse_stable)
{
    static const char *const set[] = {
        "[CQ:", "[CQ:", "]",    "]",     ",", "=", "&amp;", "&#91;", "&#44;",
        "a",    "face", "text", "text=", " ", "[", "你",    "-",     "&",
    };
    uint64_t seed;
    char buf[256];

    for (seed = 1; seed <= 2000; seed++) {
        uint64_t s = seed;
        cq_msg *a = NULL, *b = NULL;
        char *cq = NULL;
        int ok;

        rnd_str(&s, buf, sizeof(buf), set, NELEM(set), 0, 24);
        ok = cq_msg_parse_cq(&a, buf, strlen(buf)) == CQ_OK &&
             (cq = cq_msg_format_cq(a)) != NULL &&
             cq_msg_parse_cq(&b, cq, strlen(cq)) == CQ_OK && msg_eq(a, b);
        if (!ok) {
            fprintf(stderr, "  seed %llu: %s -> %s\n", (unsigned long long)seed,
                    buf, cq ? cq : "(null)");
        }
        cq_msg_free(a);
        cq_msg_free(b);
        free(cq);
        T_CHECK(ok);
    }
}

T_SUITE(test_message_cases) = {
    {"message/vec_spec_text", vec_spec_text},
    {"message/vec_spec_share_comma", vec_spec_share_comma},
    {"message/vec_spec_mixed", vec_spec_mixed},
    {"message/vec_spec_equals", vec_spec_equals},
    {"message/vec_spec_node", vec_spec_node},
    {"message/vec_gocq", vec_gocq},
    {"message/vec_napcat_escaped", vec_napcat_escaped},
    {"message/vec_napcat_at", vec_napcat_at},
    {"message/vec_napcat_literal_cq", vec_napcat_literal_cq},
    {"message/vec_amp_last", vec_amp_last},
    {"message/vec_py_image", vec_py_image},
    {"message/vec_node_builder", vec_node_builder},
    {"message/escape_edges", escape_edges},
    {"message/escape_in_messages", escape_in_messages},
    {"message/bad_empty_type", bad_empty_type},
    {"message/bad_unterminated_type", bad_unterminated_type},
    {"message/bad_unterminated_params", bad_unterminated_params},
    {"message/bad_type_char", bad_type_char},
    {"message/bad_nested", bad_nested},
    {"message/bad_lone_close", bad_lone_close},
    {"message/bad_novalue", bad_novalue},
    {"message/bad_nul_byte", bad_nul_byte},
    {"message/edge_trailing_comma", edge_trailing_comma},
    {"message/edge_empty_key", edge_empty_key},
    {"message/edge_empty_value", edge_empty_value},
    {"message/edge_duplicate_key", edge_duplicate_key},
    {"message/edge_open_in_params", edge_open_in_params},
    {"message/edge_key_space", edge_key_space},
    {"message/edge_text_code", edge_text_code},
    {"message/edge_text_code_other", edge_text_code_other},
    {"message/edge_unknown_type", edge_unknown_type},
    {"message/edge_type_chars", edge_type_chars},
    {"message/edge_after_code", edge_after_code},
    {"message/json_number", json_number},
    {"message/json_roundtrip", json_roundtrip},
    {"message/json_values", json_values},
    {"message/json_forms", json_forms},
    {"message/json_errors", json_errors},
    {"message/json_depth", json_depth},
    {"message/json_node_depth", json_node_depth},
    {"message/json_gen", json_gen},
    {"message/json_from_yajl", json_from_yajl},
    {"message/builders", builders},
    {"message/builders_invalid", builders_invalid},
    {"message/build_and_read", build_and_read},
    {"message/plain_text", plain_text},
    {"message/caps_bytes", caps_bytes},
    {"message/caps_segments", caps_segments},
    {"message/caps_params", caps_params},
    {"message/null_inputs", null_inputs},
    {"message/property_roundtrip", property_roundtrip},
    {"message/property_parse_stable", property_parse_stable},
    {NULL, NULL},
};
