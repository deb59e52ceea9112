/*
 * Tests for src/lib/message_cq.c: the CQ-code form. Parsing is checked by the
 * golden files tests/fixtures/cq/<name>.cq -> <name>.json (also run through
 * "cqhttp-sim cq parse" by tests/integration/test_cq_golden.py), formatting by
 * the same files read backwards; escaping, caps and two seeded property tests
 * are cases here.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/message.h"
#include "test.h"
#include "test_message.h"

#define GOLDEN_DIR "tests/fixtures/cq"

/*
 * The golden cases whose CQ code is not canonical, with the CQ code their
 * message formats back to. Every other case formats back to its .cq file
 * byte for byte.
 */
static const struct reformat {
    const char *name;
    const char *cq;
} reformats[] = {
    {"bad_empty_type", "&#91;CQ:&#93;"},
    {"bad_lone_close", "&#93;"},
    {"bad_nested", "&#91;[CQ:face,id=1]&#93;"},
    {"bad_novalue", "[CQ:x]"},
    {"bad_type_char", "&#91;CQ:fa ce,id=1&#93;"},
    {"bad_unterminated_params", "a&#91;CQ:face,id=1"},
    {"bad_unterminated_type", "&#91;CQ:face"},
    {"edge_after_code", "[CQ:face,id=1]x&#91;CQ:"},
    {"edge_duplicate_key", "[CQ:x,a=3,b=2]"},
    {"edge_empty_key", "[CQ:x,k=w]"},
    {"edge_open_in_params", "[CQ:a,b=&#91;CQ:c,d=1]"},
    {"edge_text_code", "ab,c"},
    {"edge_trailing_comma", "[CQ:face,id=1]"},
    {"text_entity_comma", "a,b&amp;lt;"},
};


static const char *canonical(const char *name, const char *cq)
{
    size_t i;

    for (i = 0; i < sizeof(reformats) / sizeof(reformats[0]); i++) {
        if (strcmp(reformats[i].name, name) == 0)
            return reformats[i].cq;
    }
    return cq;
}


static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}


/* Returns the sorted names (without ".cq") of the cases in dir, storing
 * their number in *n; NULL when there are none or memory runs out. */
static char **list_cases(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL, **p;
    size_t len;

    *n = 0;
    while (d != NULL && (e = readdir(d)) != NULL) {
        len = strlen(e->d_name);
        if (len <= 3 || strcmp(e->d_name + len - 3, ".cq") != 0)
            continue;
        if ((p = realloc(names, (*n + 1) * sizeof(*p))) == NULL)
            break;
        names = p;
        if ((names[*n] = strndup(e->d_name, len - 3)) != NULL)
            (*n)++;
    }
    if (d != NULL)
        closedir(d);
    if (*n > 0)
        qsort(names, *n, sizeof(*names), by_name);
    return names;
}


static char *read_case(const char *dir, const char *name, const char *ext,
                       size_t *len)
{
    char path[4096];
    char *s;

    snprintf(path, sizeof(path), "%s/%s%s", dir, name, ext);
    if ((s = t_read_file(path, len)) == NULL)
        fprintf(stderr, "  %s: cannot read\n", path);
    return s;
}


/*
 * Checks one case both ways: name.cq parses to name.json (one line and a
 * newline, as cqhttp-sim prints it), and both the parsed message and the one
 * read back from name.json format to the canonical CQ code. Says what is
 * wrong, naming the file, and returns 0 if anything is.
 */
static int golden_case(const char *dir, const char *name)
{
    size_t cq_len = 0, json_len = 0;
    char *cq = read_case(dir, name, ".cq", &cq_len);
    char *json = read_case(dir, name, ".json", &json_len);
    char *got = NULL, *fmt = NULL, *back = NULL;
    cq_msg *m = NULL;
    int rc = CQ_EINVAL, ok = 0;

    if (cq != NULL && json != NULL) {
        rc = cq_msg_parse_cq(&m, cq, cq_len);
        got = m != NULL ? cq_msg_to_json_string(m) : NULL;
        ok = got != NULL && json_len > 0 && json[json_len - 1] == '\n' &&
             strlen(got) == json_len - 1 &&
             memcmp(got, json, json_len - 1) == 0;
        if (!ok)
            fprintf(stderr, "  %s/%s.cq: parses to %s (%s), want %s.json: %s",
                    dir, name, got ? got : "nothing", cq_strerror(rc), name,
                    json);
    }
    if (ok) {
        const char *want = canonical(name, cq);

        fmt = cq_msg_format_cq(m);
        back = t_json_to(json, cq_msg_format_cq);
        ok = fmt != NULL && back != NULL && strcmp(fmt, want) == 0 &&
             strcmp(back, want) == 0;
        if (!ok)
            fprintf(stderr, "  %s/%s.json: formats to %s, want %s\n", dir, name,
                    back ? back : "nothing", want);
    }
    cq_msg_free(m);
    free(got);
    free(fmt);
    free(back);
    free(cq);
    free(json);
    return ok;
}


/* Every case of tests/fixtures/cq; it fails when there is none, and when the
 * reformats table names a case that does not exist. */
T_CASE(golden)
{
    char dir[4096], **names;
    size_t n, i, j, bad = 0;

    snprintf(dir, sizeof(dir), "%s/%s", t_srcdir(), GOLDEN_DIR);
    names = list_cases(dir, &n);
    if (n == 0)
        fprintf(stderr, "  %s: no *.cq case found\n", dir);
    for (i = 0; i < n; i++)
        bad += !golden_case(dir, names[i]);
    for (j = 0; j < sizeof(reformats) / sizeof(reformats[0]); j++) {
        for (i = 0; i < n && strcmp(names[i], reformats[j].name) != 0; i++)
            continue;
        if (i == n) {
            fprintf(stderr, "  reformats names %s, but %s/%s.cq is missing\n",
                    reformats[j].name, dir, reformats[j].name);
            bad++;
        }
    }
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    T_CHECK(n > 0);
    T_EQ_INT(bad, 0);
}


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
    T_CHECK(t_msg_eq(m, p));
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
}


T_CASE(bad_nul_byte)
{
    cq_msg *m = (cq_msg *)1;

    T_EQ_INT(cq_msg_parse_cq(&m, "a\0b", 3), CQ_EINVAL);
    T_CHECK(m == NULL);
    T_EQ_INT(cq_msg_from_json(&m, "\"a\0\"", 4), CQ_EPARSE);
    T_CHECK(m == NULL);
}


/* CQ code longer than CQ_MSG_MAX_BYTES, which cq_msg_parse_cq() would refuse,
 * is not written; escaping alone has no such cap. */
T_CASE(format_cap)
{
    size_t n = CQ_MSG_MAX_BYTES / 5 + 1;
    char *amps = malloc(n + 1), *esc = NULL, *over = NULL, *fits = NULL;
    cq_msg *m = cq_msg_new(), *m2 = cq_msg_new();
    int ok;

    T_CHECK(amps != NULL && m != NULL && m2 != NULL);
    memset(amps, '&', n);
    amps[n] = '\0';
    ok = cq_msg_add_text(m, amps) == CQ_OK;
    over = cq_msg_format_cq(m);
    esc = cq_escape(amps, 1);
    amps[n - 1] = '\0';
    ok = ok && cq_msg_add_text(m2, amps) == CQ_OK;
    fits = cq_msg_format_cq(m2);
    ok = ok && over == NULL && esc != NULL && strlen(esc) == 5 * n &&
         fits != NULL && strlen(fits) == 5 * (n - 1);
    free(amps);
    free(esc);
    free(over);
    free(fits);
    cq_msg_free(m);
    cq_msg_free(m2);
    T_CHECK(ok);
}


static void dump(const char *what, const cq_msg *m)
{
    char *s = cq_msg_to_json_string(m);

    fprintf(stderr, "  %s: %s\n", what, s ? s : "(not UTF-8)");
    free(s);
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
        ok = cq_msg_parse_cq(&y, cq, strlen(cq)) == CQ_OK && t_msg_eq(n, y);
        if (ok) {
            cq2 = cq_msg_format_cq(y);
            ok = cq2 != NULL && strcmp(cq, cq2) == 0;
        }
        json = cq_msg_to_json_string(x);
        ok = ok && json != NULL &&
             cq_msg_from_json(&z, json, strlen(json)) == CQ_OK &&
             t_msg_eq(x, z);
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
             cq_msg_parse_cq(&b, cq, strlen(cq)) == CQ_OK && t_msg_eq(a, b);
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

T_SUITE(test_message_cq_cases) = {
    {"message_cq/golden", golden},
    {"message_cq/vec_py_image", vec_py_image},
    {"message_cq/vec_node_builder", vec_node_builder},
    {"message_cq/escape_edges", escape_edges},
    {"message_cq/escape_in_messages", escape_in_messages},
    {"message_cq/bad_nul_byte", bad_nul_byte},
    {"message_cq/format_cap", format_cap},
    {"message_cq/property_roundtrip", property_roundtrip},
    {"message_cq/property_parse_stable", property_parse_stable},
    {NULL, NULL},
};
