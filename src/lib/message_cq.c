/*
 * Messages: the CQ-code string form (parse, format, escape, unescape). The
 * value type is in message.c, the JSON array form in message_json.c.
 *
 * Where the reference parsers disagree (PROTOCOL.md 8.3 and 8.4), this one
 * chooses as follows, so that parse(format(x)) gives x back for every x the
 * string form can carry, and no input is lost:
 *
 * - Type alphabet [A-Za-z0-9_.-] as aiocqhttp: a superset of 4.x's
 *   alphanumerics, and gocq's own types fit in it (gocq takes any character
 *   up to ',' or ']'). Any other character makes the bracket literal text.
 * - An unterminated code is literal text, as in 4.x and aiocqhttp; gocq drops
 *   a trailing one silently, losing what the user typed.
 * - A part without '=' is dropped, as in 4.x; aiocqhttp's regex then refuses
 *   the whole code. So is a part with an empty key, which names nothing.
 * - Keys are taken verbatim, neither trimmed (4.x trims) nor restricted
 *   (aiocqhttp allows only the type alphabet, so "[CQ:x, a=1]" is text
 *   there), as gocq does: every key the formatter writes reads back.
 * - Parameters run to the first ']' and may contain '[', as the spec says
 *   and aiocqhttp's regex allows.
 * - A repeated key keeps its first position and its last value, as the dict
 *   that aiocqhttp builds.
 * - A pure [CQ:text,text=...] code is text and merges with the text around
 *   it, as aiocqhttp's Message.append does.
 * - Unescaping is one left-to-right pass; it equals the reference order with
 *   "&amp;" last (see unescape_into).
 */
#include "config.h"

#include "lib/message.h"

#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"

/* Appends s escaped: '&' first, then '[', ']' and, if comma, ','. */
static int escape_into(cq__buf *b, const char *s, int comma)
{
    const char *run = s;
    int rc;

    for (; *s != '\0'; s++) {
        const char *ent = NULL;

        if (*s == '&')
            ent = "&amp;";
        else if (*s == '[')
            ent = "&#91;";
        else if (*s == ']')
            ent = "&#93;";
        else if (*s == ',' && comma)
            ent = "&#44;";
        if (ent != NULL) {
            if ((rc = cq__buf_add(b, run, (size_t)(s - run))) != CQ_OK ||
                (rc = cq__buf_add(b, ent, 5)) != CQ_OK)
                return rc;
            run = s + 1;
        }
    }
    return cq__buf_add(b, run, (size_t)(s - run));
}


/*
 * Appends s (n bytes) unescaped. The reference order (&#44;, &#91;, &#93;,
 * then &amp; last, each a global replace) equals this single left-to-right
 * pass: every entity starts with its only '&', so occurrences never overlap,
 * and a decoded character never completes another entity. It always adds,
 * if only nothing, so that b holds a string afterwards.
 */
static int unescape_into(cq__buf *b, const char *s, size_t n)
{
    static const char *const ents[] = {"&#44;", "&#91;", "&#93;", "&amp;"};
    static const char chars[] = {',', '[', ']', '&'};
    size_t i = 0, run = 0;
    int rc;

    while (i < n) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t k;

        if (amp == NULL)
            break;
        i = (size_t)(amp - s);
        for (k = 0; k < 4; k++) {
            if (n - i >= 5 && memcmp(s + i, ents[k], 5) == 0)
                break;
        }
        if (k == 4) {
            i++;
            continue;
        }
        if ((rc = cq__buf_add(b, s + run, i - run)) != CQ_OK ||
            (rc = cq__buf_add(b, &chars[k], 1)) != CQ_OK)
            return rc;
        i += 5;
        run = i;
    }
    return cq__buf_add(b, s + run, n - run);
}


char *cq_escape(const char *s, int escape_comma)
{
    cq__buf b;
    size_t n;

    if (s == NULL)
        return NULL;
    /* Each byte becomes at most a five-byte entity: the cap bounds the
     * buffer without ever refusing a string. */
    n = strlen(s);
    cq__buf_init(&b, n > SIZE_MAX / 5 ? SIZE_MAX : 5 * n);
    /* A failing add has freed b. */
    return escape_into(&b, s, escape_comma) == CQ_OK ? cq__buf_detach(&b)
                                                     : NULL;
}


char *cq_unescape(const char *s)
{
    cq__buf b;
    size_t n;

    if (s == NULL)
        return NULL;
    /* Unescaping never lengthens a string. */
    n = strlen(s);
    cq__buf_init(&b, n);
    return unescape_into(&b, s, n) == CQ_OK ? cq__buf_detach(&b) : NULL;
}


static int is_type_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}


/* Returns the offset of the first ']' at or after from, or len if there is
 * none. *memo keeps the last answer, so that trying every "[CQ:" of an input
 * stays linear. */
static size_t find_close(const char *s, size_t len, size_t from, size_t *memo)
{
    const char *p;

    if (*memo != SIZE_MAX && *memo >= from)
        return *memo;
    p = memchr(s + from, ']', len - from);
    *memo = p != NULL ? (size_t)(p - s) : len;
    return *memo;
}


/* If a CQ code starts at s[i], returns the offset after its ']' and sets *t
 * to the offset of the ',' or ']' that ends its type; otherwise returns 0. */
static size_t code_end(const char *s, size_t len, size_t i, size_t *t,
                       size_t *memo)
{
    size_t e = i + 4, c;

    if (len - i < 6 || memcmp(s + i, "[CQ:", 4) != 0)
        return 0;
    while (e < len && is_type_char(s[e]))
        e++;
    if (e == i + 4 || e == len || (s[e] != ']' && s[e] != ','))
        return 0;
    *t = e;
    if (s[e] == ']')
        return e + 1;
    c = find_close(s, len, e, memo);
    return c < len ? c + 1 : 0;
}


/* Reads the code s[i, end), whose type ends at t, into seg (zeroed). Each
 * value is unescaped into val, scratch space that is reused, and copied at
 * its own size. */
static int read_code(cq__msg_seg *seg, const char *s, size_t i, size_t t,
                     size_t end, cq__buf *val)
{
    size_t p = t + 1, close = end - 1;
    int rc;

    if ((seg->type = strndup(s + i + 4, t - i - 4)) == NULL)
        return CQ_ENOMEM;
    while (p < close) {
        const char *comma = memchr(s + p, ',', close - p);
        size_t q = comma != NULL ? (size_t)(comma - s) : close;
        const char *eq = memchr(s + p, '=', q - p);

        /* A part without '=' or with an empty key is dropped. */
        if (eq != NULL && eq > s + p) {
            size_t k = (size_t)(eq - s);

            cq__buf_reset(val);
            rc = unescape_into(val, eq + 1, q - k - 1);
            if (rc == CQ_OK)
                rc = cq__msg_seg_put(seg, strndup(s + p, k - p),
                                     strndup(val->data, val->len), 0);
            if (rc != CQ_OK)
                return rc;
        }
        p = q + 1;
    }
    return CQ_OK;
}


static int flush_text(cq_msg *m, cq__buf *text)
{
    int rc = cq__msg_add_text_n(m, text->data, text->len);

    cq__buf_reset(text);
    return rc;
}


/* Parses s (len bytes, checked) into m; text and val are scratch. */
static int parse_into(cq_msg *m, const char *s, size_t len, cq__buf *text,
                      cq__buf *val)
{
    size_t i = 0, run = 0, memo = SIZE_MAX;
    int rc = CQ_OK;

    /* Text runs (unescaped) and pure text codes gather in text, which is
     * flushed as one segment before each other code and at the end. */
    while (rc == CQ_OK && i < len) {
        const char *br = memchr(s + i, '[', len - i);
        cq__msg_seg seg = {0};
        size_t t = 0, end;

        if (br == NULL)
            break;
        i = (size_t)(br - s);
        if ((end = code_end(s, len, i, &t, &memo)) == 0) {
            i++;
            continue;
        }
        rc = unescape_into(text, s + run, i - run);
        if (rc == CQ_OK)
            rc = read_code(&seg, s, i, t, end, val);
        if (rc == CQ_OK && cq__msg_seg_is_pure_text(&seg))
            rc = cq__buf_addstr(text, seg.params[0].val);
        else if (rc == CQ_OK && (rc = flush_text(m, text)) == CQ_OK)
            rc = cq__msg_push(m, &seg);
        cq__msg_seg_clear(&seg);
        i = run = end;
    }
    if (rc == CQ_OK)
        rc = unescape_into(text, s + run, len - run);
    if (rc == CQ_OK)
        rc = flush_text(m, text);
    return rc;
}


int cq_msg_parse_cq(cq_msg **out, const char *s, size_t len)
{
    cq__buf text, val;
    cq_msg *m;
    int rc;

    if (out != NULL)
        *out = NULL;
    if (out == NULL || s == NULL)
        return CQ_EINVAL;
    if (len > CQ_MSG_MAX_BYTES)
        return CQ_ETOOBIG;
    if (len > 0 && memchr(s, '\0', len) != NULL)
        return CQ_EINVAL;
    if ((m = cq_msg_new()) == NULL)
        return CQ_ENOMEM;
    /* Both hold parts of s, unescaped: they never grow past it. */
    cq__buf_init(&text, CQ_MSG_MAX_BYTES);
    cq__buf_init(&val, CQ_MSG_MAX_BYTES);
    rc = parse_into(m, s, len, &text, &val);
    cq__buf_free(&text);
    cq__buf_free(&val);
    if (rc != CQ_OK) {
        cq_msg_free(m);
        return rc;
    }
    *out = m;
    return CQ_OK;
}


static int format_into(cq__buf *b, const cq_msg *m);

/* Writes a parameter value: a string escaped with commas; JSON text that is
 * a message (a node's content) as its CQ code; other JSON as its text. */
static int format_value(cq__buf *b, const cq__msg_param *p)
{
    if (p->is_json && (p->val[0] == '[' || p->val[0] == '{')) {
        cq__buf sub_cq;
        cq_msg *sub;
        int rc = cq_msg_from_json(&sub, p->val, strlen(p->val));

        if (rc == CQ_ENOMEM)
            return rc;
        if (rc == CQ_OK) {
            cq__buf_init(&sub_cq, CQ_MSG_MAX_BYTES);
            rc = format_into(&sub_cq, sub);
            cq_msg_free(sub);
            if (rc == CQ_OK)
                rc = escape_into(b, sub_cq.data, 1);
            cq__buf_free(&sub_cq);
            return rc;
        }
    }
    return escape_into(b, p->val, 1);
}


static int format_seg(cq__buf *b, const cq__msg_seg *seg)
{
    size_t j;
    int rc;

    if (cq__msg_seg_is_pure_text(seg))
        return escape_into(b, seg->params[0].val, 0);
    if ((rc = cq__buf_addstr(b, "[CQ:")) != CQ_OK ||
        (rc = cq__buf_addstr(b, seg->type)) != CQ_OK)
        return rc;
    for (j = 0; j < seg->nparams; j++) {
        const cq__msg_param *p = &seg->params[j];

        /* A JSON null is left out, as aiocqhttp drops None parameters. */
        if (p->is_json && strcmp(p->val, "null") == 0)
            continue;
        if ((rc = cq__buf_add(b, ",", 1)) != CQ_OK ||
            (rc = cq__buf_addstr(b, p->key)) != CQ_OK ||
            (rc = cq__buf_add(b, "=", 1)) != CQ_OK ||
            (rc = format_value(b, p)) != CQ_OK)
            return rc;
    }
    return cq__buf_add(b, "]", 1);
}


/* Writes m as CQ code into b, which holds a string afterwards even when m is
 * empty. */
static int format_into(cq__buf *b, const cq_msg *m)
{
    size_t i;
    int rc = cq__buf_add(b, "", 0);

    for (i = 0; rc == CQ_OK && i < cq_msg_count(m); i++)
        rc = format_seg(b, &m->segs[i]);
    return rc;
}


char *cq_msg_format_cq(const cq_msg *m)
{
    cq__buf b;

    /* Longer CQ code would be refused by cq_msg_parse_cq(). */
    cq__buf_init(&b, CQ_MSG_MAX_BYTES);
    return format_into(&b, m) == CQ_OK ? cq__buf_detach(&b) : NULL;
}
