/*
 * Tests for src/lib/message.c and message_build.c: the value type, its
 * builders and readers, plain text, caps and NULL inputs. The CQ-code form is
 * tested in test_message_cq.c, the array form in test_message_json.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/message.h"
#include "test.h"
#include "test_message.h"

/* Returns 1 when a and b hold the same segments, parameters and flags. */
int t_msg_eq(const cq_msg *a, const cq_msg *b)
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

char *t_json_to(const char *json, char *(*write)(const cq_msg *))
{
    cq_msg *m;
    char *s;

    if (cq_msg_from_json(&m, json, strlen(json)) != CQ_OK)
        return NULL;
    s = write(m);
    cq_msg_free(m);
    return s;
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
    T_CHECK(d != NULL && t_msg_eq(d, m));
    T_EQ_INT(cq_msg_add_text(d, "z"), CQ_OK);
    T_CHECK(!t_msg_eq(d, m));
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

/* Builders latch their first error; printf adders add literal text. */
T_CASE(latched_errors_and_printf)
{
    cq_msg *m = cq_msgf("%s=%d ", "[CQ:at,qq=all]", 7), *n;
    char *cq;

    T_CHECK(m != NULL);
    if (m == NULL)
        return;
    T_EQ_INT(cq_msg_err(m), CQ_OK);
    T_EQ_INT(cq_msg_add_textf(m, "%c", 'x'), CQ_OK);
    T_EQ_INT(cq_msg_add_face(m, 1), CQ_OK);
    cq = cq_msg_format_cq(m);
    T_EQ_STR(cq, "&#91;CQ:at,qq=all&#93;=7 x[CQ:face,id=1]");
    free(cq);
    T_EQ_INT(cq_msg_add_image(m, NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_add_text(m, "y"), CQ_OK);
    T_EQ_INT(cq_msg_add_seg(m, "", NULL), CQ_EINVAL);
    T_EQ_INT(cq_msg_err(m), CQ_EINVAL);
    T_EQ_INT(cq_msg_count(m), 3);
    n = cq_msg_dup(m);
    T_EQ_INT(cq_msg_err(n), CQ_EINVAL);
    T_EQ_INT(cq_msg_count(n), 3);
    T_EQ_INT(cq_msg_err(NULL), CQ_ENOMEM);
    T_EQ_INT(cq_msg_add_textf(NULL, "x"), CQ_EINVAL);
    cq_msg_free(n);
    cq_msg_free(m);
}


T_SUITE(test_message_cases) = {
    {"message/builders", builders},
    {"message/builders_invalid", builders_invalid},
    {"message/build_and_read", build_and_read},
    {"message/plain_text", plain_text},
    {"message/caps_bytes", caps_bytes},
    {"message/caps_segments", caps_segments},
    {"message/caps_params", caps_params},
    {"message/null_inputs", null_inputs},
    {"message/latched_errors_and_printf", latched_errors_and_printf},
    {NULL, NULL},
};
