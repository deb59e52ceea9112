/*
 * json_put: JSON straight into a buffer (lib/json_put.h). Strings are
 * escaped 16 or 32 bytes at a time by the lexer's plain scan
 * (lib/json_lex.h) rather than through yajl_gen_string(), which copies them a
 * byte at a time and was most of the cost of a large answer; the structure
 * around them is written here too, so that a document costs no generator at
 * all.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/json_lex.h"
#include "lib/json_put.h"

/*
 * The escape of the ASCII byte c in a JSON string, as yajl writes it (short
 * forms, else \u00XX for control characters), in esc; its length, or 0 when
 * c goes as it is.
 */
static size_t escape_of(unsigned char c, char esc[6])
{
    static const char hex[] = "0123456789ABCDEF", shorts[] = "r\rn\nf\fb\bt\t";
    const char *p;

    if (c >= 0x20 && c != '"' && c != '\\')
        return 0;
    esc[0] = '\\';
    if (c == '"' || c == '\\') {
        esc[1] = (char)c;
        return 2;
    }
    for (p = shorts; *p != '\0'; p += 2)
        if ((unsigned char)p[1] == c) {
            esc[1] = p[0];
            return 2;
        }
    memcpy(esc + 1, "u00", 3);
    esc[4] = hex[c >> 4];
    esc[5] = hex[c & 0xf];
    return 6;
}


/* Past the bound: what out holds past b->from goes to the sink, then p
 * either goes there too (larger than the bound) or into out. */
int cq__jput_hand_on(cq__jput *b, const void *p, size_t n)
{
    const cq__json_sink *k = b->sink;
    cq__buf *out = b->out;
    int rc = CQ_OK;

    if (out->len > b->from) {
        rc = k->put(k->arg, out->data + b->from, out->len - b->from);
        out->len = b->from;
        out->data[out->len] = '\0';
    }
    if (rc == CQ_OK && n > k->bound)
        return k->put(k->arg, p, n);
    return rc == CQ_OK ? cq__buf_add(out, p, n) : rc;
}


/*
 * Appends s (len bytes) to b's output as the inside of a JSON string,
 * escaped as yajl_gen_string() escapes it, in one pass: plain stretches are
 * found by the lexer's scan (lib/json_lex.h), 32 bytes a turn in a long
 * string, and copied whole. UTF-8 is checked by yajl's lexer's rule, which
 * is also the rule of yajl_gen_string()'s check: a lead byte and as many
 * continuation bytes as it announces. Returns CQ_OK, CQ_EINVAL (not UTF-8 by
 * that rule) or as cq__jput_add().
 */
static int escape_into(cq__jput *b, const unsigned char *s, size_t len)
{
    lex_ptr p = s, beg = s, end = s + len;
    char esc[6];
    int rc = CQ_OK;

    while (rc == CQ_OK &&
           (p = lex_skip_plain(end - p >= 64 ? lex_skip_long(p, end, 0) : p,
                               end)) < end) {
        if (*p >= 0x80) {
            /* A run of non-ASCII text (CJK, say) is checked character by
             * character without a plain scan between them. */
            do {
                if ((p = lex_utf8_end(p, end, LEX_LOOSE)) == NULL)
                    return CQ_EINVAL;
            } while (p < end && *p >= 0x80);
        } else {
            size_t n = escape_of(*p, esc);

            rc = cq__jput_add(b, beg, (size_t)(p - beg));
            if (rc == CQ_OK)
                rc = cq__jput_add(b, esc, n);
            beg = ++p;
        }
    }
    return rc == CQ_OK ? cq__jput_add(b, beg, (size_t)(p - beg)) : rc;
}


void cq__jput_init(cq__jput *w, cq__buf *out, const cq__json_sink *sink)
{
    w->out = out;
    w->sink = sink;
    w->from = out->len;
    w->limit = sink != NULL && sink->bound < SIZE_MAX - out->len
                   ? out->len + sink->bound
                   : SIZE_MAX;
}


int cq__json_put_str(cq__jput *w, const char *s)
{
    int rc;

    if (s == NULL)
        return cq__jput_add(w, "null", 4);
    rc = cq__jput_add(w, "\"", 1);
    if (rc == CQ_OK)
        rc = escape_into(w, (const unsigned char *)s, strlen(s));
    return rc == CQ_OK ? cq__jput_add(w, "\"", 1) : rc;
}


int cq__json_put_key(cq__jput *w, char sep, const char *key)
{
    char text[40];
    size_t n = 0, i;
    int rc = CQ_OK;

    /* A short plain key (most are) goes in one append with its quotes,
     * separator and colon; any other through cq__json_put_str(). */
    if (sep != '\0')
        text[n++] = sep;
    text[n++] = '"';
    for (i = 0; key[i] != '\0' && n < sizeof(text) - 2 &&
                (lex_cls[(unsigned char)key[i]] & LEX_PLAIN);
         i++)
        text[n++] = key[i];
    if (key[i] == '\0') {
        memcpy(text + n, "\":", 2);
        return cq__jput_add(w, text, n + 2);
    }
    if (sep != '\0')
        rc = cq__jput_add(w, &sep, 1);
    if (rc == CQ_OK)
        rc = cq__json_put_str(w, key);
    return rc == CQ_OK ? cq__jput_add(w, ":", 1) : rc;
}


int cq__json_put_int(cq__jput *w, int64_t v)
{
    char digits[CQ__UINT_TEXT], *p;

    /* The magnitude as unsigned: INT64_MIN has no positive int64_t. */
    p = cq__buf_uint_text(digits, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
    if (v < 0)
        *--p = '-';
    return cq__jput_add(w, p, (size_t)(digits + sizeof(digits) - p));
}


int cq__json_put_bool(cq__jput *w, int v)
{
    return v ? cq__jput_add(w, "true", 4) : cq__jput_add(w, "false", 5);
}


/* Appends the members of object v, or the elements of array v, between
 * open and close (a bracket each). */
static int put_container(cq__jput *w, yajl_val v, int depth, char open,
                         char close)
{
    int is_obj = v->type == yajl_t_object;
    size_t i, n = is_obj ? v->u.object.len : v->u.array.len;
    int rc;

    /* yajl_gen counts the container it opens and refuses the 128th level. */
    if (depth + 1 >= YAJL_MAX_DEPTH)
        return CQ_EDEPTH;
    rc = cq__jput_add(w, &open, 1);
    for (i = 0; rc == CQ_OK && i < n; i++) {
        if (is_obj)
            rc = cq__json_put_key(w, i > 0 ? ',' : '\0', v->u.object.keys[i]);
        else if (i > 0)
            rc = cq__jput_add(w, ",", 1);
        if (rc == CQ_OK)
            rc = cq__json_put_value(
                w, is_obj ? v->u.object.values[i] : v->u.array.values[i],
                depth + 1);
    }
    return rc == CQ_OK ? cq__jput_add(w, &close, 1) : rc;
}


int cq__json_put_value(cq__jput *w, yajl_val v, int depth)
{
    if (v == NULL)
        return cq__jput_add(w, "null", 4);
    switch (v->type) {
    case yajl_t_string:
        return cq__json_put_str(w, v->u.string);
    case yajl_t_number:
        /* Its text as received, as cq__json_gen_value() writes it. */
        return cq__jput_add(w, v->u.number.r, strlen(v->u.number.r));
    case yajl_t_object:
        return put_container(w, v, depth, '{', '}');
    case yajl_t_array:
        return put_container(w, v, depth, '[', ']');
    case yajl_t_true:
        return cq__json_put_bool(w, 1);
    case yajl_t_false:
        return cq__json_put_bool(w, 0);
    case yajl_t_null:
    case yajl_t_any:
    default:
        return cq__jput_add(w, "null", 4);
    }
}
