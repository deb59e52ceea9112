/*
 * The writer that escapes strings straight into a buffer (lib/json_put.h)
 * against yajl's generator: for the same strings, the same bytes out and
 * the same refusals, whatever the UTF-8 and wherever the special bytes fall
 * against the 8-, 16- and 32-byte steps of its scan.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/event.h"
#include "lib/json.h"
#include "lib/json_put.h"
#include "test.h"

/* Pieces the strings are made of: plain, escaped, UTF-8 good and bad. */
static const char *const pieces[] = {
    "x",
    "abcdefgh",
    "\"",
    "\\",
    "\n",
    "\r\t\b\f",
    "\x01",
    "\x1f",
    "\x7f",
    " /",
    "\xc3\xa9",
    "\xe4\xbd\xa0",
    "\xf0\x9f\x98\x80",
    "\x80",
    "\xff",
    "\xe4\xbd",
    "\xc3",
    "\xf8\x88\x80\x80\x80",
    "\xed\xa0\x80",     /* A surrogate, which yajl's rule lets through. */
    "\xc0\xaf",         /* Overlong, likewise. */
    "\xf7\xbf\xbf\xbf", /* Past U+10FFFF, likewise. */
    "\xf0\x9f\x98",     /* Four-byte lead, one byte short. */
    "\xe4\xbd\xa0\xe5\xa5\xbd",
};
#define NPIECES (sizeof(pieces) / sizeof(pieces[0]))

/* A small deterministic generator, so that a failure repeats. */
static unsigned next(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 16) & 0x7fff;
}


/* Writes {"k":s,"v":[s]} with w, or straight into out (lib/json_put.h)
 * when out is given; returns the latched or first error. */
static int write_doc(cq__jw *w, cq__buf *out, const char *s)
{
    struct yajl_val_s str, arr;
    yajl_val one = &str;
    cq__jput b;
    int rc;

    memset(&str, 0, sizeof(str));
    memset(&arr, 0, sizeof(arr));
    str.type = yajl_t_string;
    str.u.string = (char *)s;
    arr.type = yajl_t_array;
    arr.u.array.values = &one;
    arr.u.array.len = 1;
    if (out == NULL) {
        cq__jw_open(w);
        cq__jw_kstr(w, "k", s);
        cq__jw_key(w, "v");
        cq__jw_value(w, &arr);
        cq__jw_close(w);
        return w->err;
    }
    cq__jput_init(&b, out, NULL);
    rc = cq__jput_add(&b, "{\"k\":", 5);
    if (rc == CQ_OK)
        rc = cq__json_put_str(&b, s);
    if (rc == CQ_OK)
        rc = cq__jput_add(&b, ",\"v\":", 5);
    if (rc == CQ_OK)
        rc = cq__json_put_value(&b, &arr, 1);
    return rc == CQ_OK ? cq__jput_add(&b, "}", 1) : rc;
}


/* Checks that both writers agree on s. */
static void same_as_yajl(t_state *t, const char *s)
{
    cq__jw ref;
    cq__buf out;
    char *want;
    int want_rc, got_rc;

    T_EQ_INT(cq__jw_init(&ref), CQ_OK);
    want_rc = write_doc(&ref, NULL, s);
    want = cq__jw_dup(&ref, NULL);
    cq__jw_free(&ref);
    cq__buf_init(&out, 1 << 20);
    T_EQ_INT(cq__buf_add(&out, "head", 4), CQ_OK);
    got_rc = write_doc(NULL, &out, s);
    T_EQ_INT(got_rc, want_rc);
    if (want_rc == CQ_OK) {
        T_CHECK(out.len > 4 && strncmp(out.data, "head", 4) == 0);
        T_EQ_STR(out.data + 4, want);
    }
    free(want);
    cq__buf_free(&out);
}


T_CASE(escapes_as_yajl)
{
    unsigned seed = 1;
    char s[512];
    int round;

    same_as_yajl(t, "");
    for (round = 0; round < 3000 && !t->failed; round++) {
        size_t len = 0, n = next(&seed) % 12, i;

        /* Long plain stretches, so that both scan steps are taken. */
        for (i = 0; i < n; i++) {
            static const char xs[] = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
            int plain = next(&seed) % 3 == 0;
            const char *p = plain ? xs : pieces[next(&seed) % NPIECES];
            size_t k = plain ? 1 + next(&seed) % (sizeof(xs) - 1) : strlen(p);

            if (len + k < sizeof(s)) {
                memcpy(s + len, p, k);
                len += k;
            }
        }
        s[len] = '\0';
        same_as_yajl(t, s);
    }
}


/*
 * Each piece after every count of plain bytes up to 80 and before up to 17
 * more, so that it falls on every byte of the 8-, 16- and 32-byte steps and
 * across their ends.
 */
T_CASE(escapes_at_every_offset)
{
    char s[128];
    size_t i, before, after;

    for (i = 0; i < NPIECES && !t->failed; i++)
        for (before = 0; before <= 80; before++)
            for (after = 0; after <= 17; after++) {
                size_t k = strlen(pieces[i]);

                memset(s, 'x', before);
                memcpy(s + before, pieces[i], k);
                memset(s + before + k, '/', after);
                s[before + k + after] = '\0';
                same_as_yajl(t, s);
            }
}


/* The buffer's cap latches CQ_ETOOBIG, and the buffer is given back. */
T_CASE(cap_latches)
{
    cq__buf out;
    char big[200];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    cq__buf_init(&out, 64);
    T_EQ_INT(write_doc(NULL, &out, big), CQ_ETOOBIG);
    T_CHECK(out.data == NULL);
}


/* The tree of e written out by yajl's generator; the caller frees it. */
static char *tree_json(const cq_event *e)
{
    cq__jw w;
    char *s;

    if (cq__jw_init(&w) != CQ_OK)
        return NULL;
    cq__jw_value(&w, e->root);
    s = cq__jw_dup(&w, NULL);
    cq__jw_free(&w);
    return s;
}


/*
 * An event whose strings end in its body (cq__event_parse_lent) reads as
 * the one parsed from a copy, and cq_event_raw() still gives the body as
 * it came: keys and strings with and without escapes, empty ones, at every
 * depth.
 */
T_CASE(lent_event_same_as_copied)
{
    static const char *const bodies[] = {
        "{\"post_type\":\"message\",\"message\":\"hi\",\"\":\"\",\"a\\\"b\":"
        "[\"x\",\"\\u00e9\\n\",{\"k\":[[\"\"]],\"n\":-1.5e3}],\"t\":true}",
        "{\"post_type\":\"notice\",\"notice_type\":\"x\\/y\",\"s\":\"\\\"\"}",
        " {\"post_type\" : \"meta_event\" , \"v\":[]}\n",
    };
    size_t i;

    for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        size_t len = strlen(bodies[i]), raw_len = 0;
        char buf[256], *want, *got;
        cq_event *copied = NULL, *taken = NULL;
        const char *raw;

        T_CHECK(len < sizeof(buf));
        memcpy(buf, bodies[i], len + 1);
        T_EQ_INT(cq_event_parse(&copied, bodies[i], len, 0), CQ_OK);
        T_EQ_INT(cq__event_parse_lent(&taken, buf, len, 0), CQ_OK);
        if (copied == NULL || taken == NULL)
            return;
        T_EQ_STR(cq_event_name(taken), cq_event_name(copied));
        want = tree_json(copied);
        got = tree_json(taken);
        T_CHECK(want != NULL && got != NULL);
        T_EQ_STR(got, want);
        raw = cq_event_raw(taken, &raw_len);
        T_EQ_INT((int)raw_len, (int)len);
        T_EQ_STR(raw, bodies[i]);
        T_CHECK(cq_event_raw(taken, NULL) == raw); /* Made once. */
        free(want);
        free(got);
        cq_event_free(copied);
        cq_event_free(taken);
    }
}


/*
 * A lent body (cq__event_parse_lent) stays the caller's: here on the stack,
 * which the event freeing it would make AddressSanitizer report. Its
 * strings are ended in it all the same, and a failed parse leaves it too.
 */
T_CASE(lent_event_leaves_the_body)
{
    char buf[] = "{\"post_type\":\"message\",\"message\":\"hi\"}";
    char bad[] = "{\"post_type\":";
    cq_event *e = NULL;

    T_EQ_INT(cq__event_parse_lent(&e, buf, strlen(buf), 0), CQ_OK);
    if (e == NULL)
        return;
    T_EQ_STR(cq_event_name(e), "message");
    T_EQ_STR(cq_event_raw(e, NULL), "{\"post_type\":\"message\","
                                    "\"message\":\"hi\"}");
    cq_event_free(e);
    T_EQ_INT(buf[0], '{');
    T_CHECK(cq__event_parse_lent(&e, bad, strlen(bad), 0) != CQ_OK);
    T_CHECK(e == NULL);
}


/* A number as the tree builder read it with strtoll() and strtod(). */
static void reference_number(const char *r, struct yajl_val_s *n)
{
    char *end;

    memset(n, 0, sizeof(*n));
    if (strpbrk(r, ".eE") == NULL) {
        errno = 0;
        n->u.number.i = strtoll(r, &end, 10);
        if (errno == 0) {
            n->u.number.d = (double)n->u.number.i;
            n->u.number.flags =
                YAJL_NUMBER_INT_VALID | YAJL_NUMBER_DOUBLE_VALID;
            return;
        }
    }
    errno = 0;
    n->u.number.d = strtod(r, &end);
    if (errno == 0)
        n->u.number.flags = YAJL_NUMBER_DOUBLE_VALID;
}


/* Numbers read as strtoll() and strtod() read them: flags and values. */
T_CASE(numbers_as_strtoll)
{
    static const char doc[] =
        "[0,-0,7,-7,9223372036854775807,-9223372036854775808,"
        "9223372036854775808,-9223372036854775809,99999999999999999999,"
        "1.5,-2e3,1E400,0.0,3000000000,-2147483000]";
    yajl_val got = NULL;
    cq__arena *a = cq__arena_new(4096);
    size_t i;

    T_CHECK(a != NULL);
    T_EQ_INT(cq__json_parse_arena(&got, a, doc, sizeof(doc) - 1, 8), CQ_OK);
    T_CHECK(got != NULL && got->u.array.len == 15);
    for (i = 0; !t->failed && i < got->u.array.len; i++) {
        yajl_val g = got->u.array.values[i];
        struct yajl_val_s w;

        reference_number(g->u.number.r, &w);
        T_EQ_INT(g->u.number.flags, w.u.number.flags);
        T_CHECK(g->u.number.i == w.u.number.i);
        T_CHECK(g->u.number.d == w.u.number.d);
    }
    cq__arena_free(a);
}


T_SUITE(test_json_out_cases) = {
    {"json_out/numbers_as_strtoll", numbers_as_strtoll},
    {"json_out/lent_event_same_as_copied", lent_event_same_as_copied},
    {"json_out/lent_event_leaves_the_body", lent_event_leaves_the_body},
    {"json_out/escapes_as_yajl", escapes_as_yajl},
    {"json_out/escapes_at_every_offset", escapes_at_every_offset},
    {"json_out/cap_latches", cap_latches},
    {NULL, NULL},
};
