/*
 * The writer's sink (cq__jput_init, lib/json_put.h): the bytes handed on, then
 * the tail left in the buffer, are those the writer gives without one, whatever
 * the bound; the buffer never holds more than the bound past what it held
 * before; a large piece goes on uncopied; a failing sink's error comes back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/json_put.h"
#include "test.h"

typedef struct seen {
    cq__buf *out;
    size_t from, bound;
    cq__buf got;        /* Everything handed on, in order. */
    size_t most;        /* The most out held past from at a hand-over. */
    int calls, fail_at; /* fail_at: the call that fails (0: none). */
    const char *direct; /* The first piece not from out's memory. */
} seen;

static int take(void *arg, const char *p, size_t n)
{
    seen *s = arg;
    uintptr_t at = (uintptr_t)p, base = (uintptr_t)s->out->data;
    int from_out = base != 0 && at >= base && at < base + s->out->cap;

    s->calls++;
    if (s->calls == s->fail_at)
        return CQ_EIO;
    if (from_out && s->out->len - s->from > s->most)
        s->most = s->out->len - s->from;
    if (!from_out && s->direct == NULL)
        s->direct = p;
    return cq__buf_add(&s->got, p, n);
}


/* Writes {"a":[s,1,s],"b":true} through b; returns the first error. */
static int write_doc(cq__jput *b, const char *s)
{
    static const char *const between[] = {"{\"a\":[", ",", ",",
                                          "],\"b\":", "}"};
    size_t i;
    int rc = CQ_OK;

    for (i = 0; rc == CQ_OK && i < 5; i++) {
        rc = cq__jput_add(b, between[i], strlen(between[i]));
        if (rc == CQ_OK && i < 4)
            rc = i == 1   ? cq__json_put_int(b, 1)
                 : i == 3 ? cq__json_put_bool(b, 1)
                          : cq__json_put_str(b, s);
    }
    return rc;
}


/* s written without a sink, into *want (the caller frees it). */
static void whole(t_state *t, const char *s, char **want)
{
    cq__jput b;
    cq__buf out;

    *want = NULL;
    cq__buf_init(&out, 1 << 24);
    cq__jput_init(&b, &out, NULL);
    T_EQ_INT(write_doc(&b, s), CQ_OK);
    *want = cq__buf_detach(&out);
}


/* s written through a sink of the given bound after "head": handed-on
 * bytes then the tail must be whole(s), out never past the bound. */
static void same_through_sink(t_state *t, const char *s, size_t bound)
{
    cq__json_sink sink = {take, NULL, bound};
    char *want;
    cq__jput b;
    cq__buf out;
    seen sn;

    whole(t, s, &want);
    memset(&sn, 0, sizeof(sn));
    cq__buf_init(&out, 1 << 24);
    cq__buf_init(&sn.got, 1 << 24);
    T_EQ_INT(cq__buf_add(&out, "head", 4), CQ_OK);
    sn.out = &out;
    sn.from = 4;
    sn.bound = bound;
    sink.arg = &sn;
    cq__jput_init(&b, &out, &sink);
    T_EQ_INT(write_doc(&b, s), CQ_OK);
    T_CHECK(sn.most <= bound);
    T_CHECK(out.len - 4 <= bound);
    T_CHECK(strncmp(out.data, "head", 4) == 0);
    T_EQ_INT(cq__buf_add(&sn.got, out.data + 4, out.len - 4), CQ_OK);
    T_CHECK(want != NULL && sn.got.data != NULL);
    if (want != NULL && sn.got.data != NULL)
        T_EQ_STR(sn.got.data, want);
    free(want);
    cq__buf_free(&sn.got);
    cq__buf_free(&out);
}


T_CASE(same_bytes_any_bound)
{
    static const char *const texts[] = {
        "",
        "plain",
        "q\"b\\n\n\r\t\b\f\x01\x1f/\x7f\xc3\xa9\xe4\xbd\xa0\xf0\x9f\x98\x80",
        "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01",
    };
    static const size_t bounds[] = {1, 2, 7, 16, 64, 1000, 65279};
    char long_text[5000];
    size_t i, j, k;

    for (k = 0; k < sizeof(long_text) - 1; k++)
        long_text[k] = k % 97 == 0 ? '\n' : (k % 89 == 0 ? '"' : 'a');
    long_text[k] = '\0';
    for (i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
        for (j = 0; j < sizeof(texts) / sizeof(texts[0]); j++)
            same_through_sink(t, texts[j], bounds[i]);
        same_through_sink(t, long_text, bounds[i]);
    }
}


/* A plain stretch larger than the bound goes to the sink from the string
 * itself, never copied into the buffer. */
T_CASE(large_piece_uncopied)
{
    size_t n = 100000;
    char *s = malloc(n + 1);
    cq__json_sink sink = {take, NULL, 1024};
    cq__jput b;
    cq__buf out;
    seen sn;

    T_CHECK(s != NULL);
    if (s == NULL)
        return;
    memset(s, 'x', n);
    s[n] = '\0';
    memset(&sn, 0, sizeof(sn));
    cq__buf_init(&out, 1 << 24);
    cq__buf_init(&sn.got, 1 << 24);
    sn.out = &out;
    sink.arg = &sn;
    cq__jput_init(&b, &out, &sink);
    T_EQ_INT(write_doc(&b, s), CQ_OK);
    T_CHECK(sn.direct == s);
    T_CHECK(out.cap <= 2048);
    T_EQ_INT((int)(sn.got.len + out.len), (int)(2 * n + 24));
    cq__buf_free(&sn.got);
    cq__buf_free(&out);
    free(s);
}


/* The sink's failure comes back from the writing call (the writer does not
 * latch it: its caller stops, as write_doc does), and the buffer is not
 * freed. */
T_CASE(failing_sink_error_returned)
{
    cq__json_sink sink = {take, NULL, 8};
    cq__jput b;
    cq__buf out;
    seen sn;

    memset(&sn, 0, sizeof(sn));
    cq__buf_init(&out, 1 << 24);
    cq__buf_init(&sn.got, 1 << 24);
    sn.out = &out;
    sn.fail_at = 2;
    sink.arg = &sn;
    cq__jput_init(&b, &out, &sink);
    T_EQ_INT(write_doc(&b, "a string well past eight bytes"), CQ_EIO);
    T_EQ_INT(sn.calls, 2);
    T_CHECK(out.data != NULL);
    cq__buf_free(&sn.got);
    cq__buf_free(&out);
}


T_SUITE(test_json_sink_cases) = {
    {"json_sink/same_bytes_any_bound", same_bytes_any_bound},
    {"json_sink/large_piece_uncopied", large_piece_uncopied},
    {"json_sink/failing_sink_error_returned", failing_sink_error_returned},
    {NULL, NULL},
};
