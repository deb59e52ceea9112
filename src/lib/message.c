/*
 * Messages: the value type, its builders and readers, escaping and the
 * CQ-code string form. The JSON array form is in message_json.c.
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

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing string, always NUL-terminated once anything was added. */
typedef struct sbuf {
    char *p;
    size_t len;
    size_t cap;
} sbuf;

static int sbuf_add(sbuf *b, const char *s, size_t n)
{
    if (n > SIZE_MAX / 4 - b->len) {
        return CQ_ENOMEM;
    }
    if (b->p == NULL || b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        char *p;

        while (cap < b->len + n + 1) {
            cap *= 2;
        }
        p = realloc(b->p, cap);
        if (p == NULL) {
            return CQ_ENOMEM;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n > 0) {
        memcpy(b->p + b->len, s, n);
    }
    b->len += n;
    b->p[b->len] = '\0';
    return CQ_OK;
}

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);

    if (p != NULL) {
        if (n > 0) {
            memcpy(p, s, n);
        }
        p[n] = '\0';
    }
    return p;
}

/* Appends s escaped: '&' first, then '[', ']' and, if comma, ','. */
static int escape_into(sbuf *b, const char *s, int comma)
{
    const char *run = s;
    int rc;

    for (; *s != '\0'; s++) {
        const char *ent = NULL;

        if (*s == '&') {
            ent = "&amp;";
        } else if (*s == '[') {
            ent = "&#91;";
        } else if (*s == ']') {
            ent = "&#93;";
        } else if (*s == ',' && comma) {
            ent = "&#44;";
        }
        if (ent != NULL) {
            if ((rc = sbuf_add(b, run, (size_t)(s - run))) != CQ_OK ||
                (rc = sbuf_add(b, ent, 5)) != CQ_OK) {
                return rc;
            }
            run = s + 1;
        }
    }
    return sbuf_add(b, run, (size_t)(s - run));
}

/*
 * Appends s (n bytes) unescaped. The reference order (&#44;, &#91;, &#93;,
 * then &amp; last, each a global replace) equals this single left-to-right
 * pass: every entity starts with its only '&', so occurrences never overlap,
 * and a decoded character never completes another entity.
 */
static int unescape_into(sbuf *b, const char *s, size_t n)
{
    static const char *const ents[] = {"&#44;", "&#91;", "&#93;", "&amp;"};
    static const char chars[] = {',', '[', ']', '&'};
    size_t i = 0, run = 0;
    int rc;

    while (i < n) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t k;

        if (amp == NULL) {
            break;
        }
        i = (size_t)(amp - s);
        for (k = 0; k < 4; k++) {
            if (n - i >= 5 && memcmp(s + i, ents[k], 5) == 0) {
                break;
            }
        }
        if (k == 4) {
            i++;
            continue;
        }
        if ((rc = sbuf_add(b, s + run, i - run)) != CQ_OK ||
            (rc = sbuf_add(b, &chars[k], 1)) != CQ_OK) {
            return rc;
        }
        i += 5;
        run = i;
    }
    return sbuf_add(b, s + run, n - run);
}

char *cq_escape(const char *s, int escape_comma)
{
    sbuf b = {0};

    if (s == NULL || escape_into(&b, s, escape_comma) != CQ_OK) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

char *cq_unescape(const char *s)
{
    sbuf b = {0};

    if (s == NULL || unescape_into(&b, s, strlen(s)) != CQ_OK) {
        free(b.p);
        return NULL;
    }
    return b.p;
}

void cq__msg_seg_clear(cq__msg_seg *seg)
{
    size_t j;

    for (j = 0; j < seg->nparams; j++) {
        free(seg->params[j].key);
        free(seg->params[j].val);
    }
    free(seg->params);
    free(seg->type);
    memset(seg, 0, sizeof(*seg));
}

/* Sets key to val in seg, taking ownership of both (freed on error). */
static int seg_put(cq__msg_seg *seg, char *key, char *val, int is_json)
{
    cq__msg_param *p;
    size_t j;
    int rc = CQ_ENOMEM;

    if (key == NULL || val == NULL) {
        goto fail;
    }
    for (j = 0; j < seg->nparams; j++) {
        if (strcmp(seg->params[j].key, key) == 0) {
            free(key);
            free(seg->params[j].val);
            seg->params[j].val = val;
            seg->params[j].is_json = is_json;
            return CQ_OK;
        }
    }
    if (seg->nparams >= CQ_MSG_MAX_PARAMS) {
        rc = CQ_ETOOBIG;
        goto fail;
    }
    p = realloc(seg->params, (seg->nparams + 1) * sizeof(*p));
    if (p == NULL) {
        goto fail;
    }
    seg->params = p;
    p[seg->nparams].key = key;
    p[seg->nparams].val = val;
    p[seg->nparams].is_json = is_json;
    seg->nparams++;
    return CQ_OK;
fail:
    free(key);
    free(val);
    return rc;
}

int cq__msg_seg_set(cq__msg_seg *seg, const char *key, const char *val,
                    size_t vlen, int is_json)
{
    return seg_put(seg, dupn(key, strlen(key)), dupn(val, vlen), is_json);
}

/* The bytes a segment counts against CQ_MSG_MAX_BYTES: its values only, so
 * that any input within the cap also fits in a message. */
static size_t seg_bytes(const cq__msg_seg *seg)
{
    size_t n = 0, j;

    for (j = 0; j < seg->nparams; j++) {
        n += strlen(seg->params[j].val);
    }
    return n;
}

static int is_pure_text(const cq__msg_seg *seg)
{
    return strcmp(seg->type, "text") == 0 && seg->nparams == 1 &&
           !seg->params[0].is_json && strcmp(seg->params[0].key, "text") == 0;
}

/* Makes room for extra more segments. */
static int grow(cq_msg *m, size_t extra)
{
    size_t cap = m->cap ? m->cap : 8;
    cq__msg_seg *p;

    if (m->nsegs + extra <= m->cap) {
        return CQ_OK;
    }
    while (cap < m->nsegs + extra) {
        cap *= 2;
    }
    p = realloc(m->segs, cap * sizeof(*p));
    if (p == NULL) {
        return CQ_ENOMEM;
    }
    m->segs = p;
    m->cap = cap;
    return CQ_OK;
}

int cq__msg_push(cq_msg *m, cq__msg_seg *seg)
{
    size_t n = seg_bytes(seg);
    int rc = CQ_ETOOBIG;

    if (m->nsegs < CQ_MSG_MAX_SEGS && n <= CQ_MSG_MAX_BYTES - m->bytes &&
        (rc = grow(m, 1)) == CQ_OK) {
        m->segs[m->nsegs++] = *seg;
        m->bytes += n;
        memset(seg, 0, sizeof(*seg));
        return CQ_OK;
    }
    cq__msg_seg_clear(seg);
    return rc;
}

/* Copies src into *dst (zeroed on entry). */
static int seg_copy(cq__msg_seg *dst, const cq__msg_seg *src)
{
    size_t j;
    int rc;

    dst->type = dupn(src->type, strlen(src->type));
    if (dst->type == NULL) {
        return CQ_ENOMEM;
    }
    for (j = 0; j < src->nparams; j++) {
        const cq__msg_param *p = &src->params[j];

        rc = cq__msg_seg_set(dst, p->key, p->val, strlen(p->val), p->is_json);
        if (rc != CQ_OK) {
            cq__msg_seg_clear(dst);
            return rc;
        }
    }
    return CQ_OK;
}

cq_msg *cq_msg_new(void)
{
    return calloc(1, sizeof(cq_msg));
}

void cq_msg_free(cq_msg *m)
{
    size_t i;

    if (m == NULL) {
        return;
    }
    for (i = 0; i < m->nsegs; i++) {
        cq__msg_seg_clear(&m->segs[i]);
    }
    free(m->segs);
    free(m);
}

cq_msg *cq_msg_dup(const cq_msg *m)
{
    cq_msg *d = cq_msg_new();
    size_t i;

    for (i = 0; d != NULL && m != NULL && i < m->nsegs; i++) {
        cq__msg_seg seg = {0};

        if (seg_copy(&seg, &m->segs[i]) != CQ_OK ||
            cq__msg_push(d, &seg) != CQ_OK) {
            cq_msg_free(d);
            return NULL;
        }
    }
    return d;
}

/* Appends n bytes of literal text, merging into a trailing pure text. */
static int add_text_n(cq_msg *m, const char *s, size_t n)
{
    cq__msg_seg seg = {0};
    int rc;

    if (n == 0) {
        return CQ_OK;
    }
    if (n > CQ_MSG_MAX_BYTES - m->bytes) {
        return CQ_ETOOBIG;
    }
    if (m->nsegs > 0 && is_pure_text(&m->segs[m->nsegs - 1])) {
        cq__msg_param *p = &m->segs[m->nsegs - 1].params[0];
        size_t old = strlen(p->val);
        char *v = realloc(p->val, old + n + 1);

        if (v == NULL) {
            return CQ_ENOMEM;
        }
        memcpy(v + old, s, n);
        v[old + n] = '\0';
        p->val = v;
        m->bytes += n;
        return CQ_OK;
    }
    seg.type = dupn("text", 4);
    if (seg.type == NULL) {
        return CQ_ENOMEM;
    }
    if ((rc = cq__msg_seg_set(&seg, "text", s, n, 0)) != CQ_OK) {
        cq__msg_seg_clear(&seg);
        return rc;
    }
    return cq__msg_push(m, &seg);
}

int cq_msg_add_text(cq_msg *m, const char *text)
{
    if (m == NULL || text == NULL) {
        return CQ_EINVAL;
    }
    return add_text_n(m, text, strlen(text));
}

static int add_segv(cq_msg *m, const char *type, va_list ap)
{
    cq__msg_seg seg = {0};
    const char *k;
    int rc;

    if (m == NULL || type == NULL || *type == '\0') {
        return CQ_EINVAL;
    }
    if ((seg.type = dupn(type, strlen(type))) == NULL) {
        return CQ_ENOMEM;
    }
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);

        if (v != NULL &&
            (rc = cq__msg_seg_set(&seg, k, v, strlen(v), 0)) != CQ_OK) {
            cq__msg_seg_clear(&seg);
            return rc;
        }
    }
    return cq__msg_push(m, &seg);
}

int cq_msg_add_seg(cq_msg *m, const char *type, ...)
{
    va_list ap;
    int rc;

    va_start(ap, type);
    rc = add_segv(m, type, ap);
    va_end(ap);
    return rc;
}

int cq_msg_append(cq_msg *m, const cq_msg *other)
{
    cq_msg *tmp;
    size_t first = 0;
    int rc;

    if (m == NULL || other == NULL) {
        return CQ_EINVAL;
    }
    if ((tmp = cq_msg_dup(other)) == NULL) {
        return CQ_ENOMEM;
    }
    if (m->nsegs > 0 && tmp->nsegs > 0 &&
        is_pure_text(&m->segs[m->nsegs - 1]) && is_pure_text(&tmp->segs[0])) {
        first = 1;
    }
    /* Checked before any change, so that a failure leaves m unchanged. */
    if (tmp->nsegs - first > CQ_MSG_MAX_SEGS - m->nsegs ||
        tmp->bytes > CQ_MSG_MAX_BYTES - m->bytes) {
        rc = CQ_ETOOBIG;
    } else {
        rc = grow(m, tmp->nsegs - first);
    }
    if (rc == CQ_OK && first) {
        const char *t = tmp->segs[0].params[0].val;

        rc = add_text_n(m, t, strlen(t));
    }
    if (rc != CQ_OK) {
        cq_msg_free(tmp);
        return rc;
    }
    if (first) {
        tmp->bytes -= seg_bytes(&tmp->segs[0]);
        cq__msg_seg_clear(&tmp->segs[0]);
    }
    if (tmp->nsegs > first) {
        memcpy(m->segs + m->nsegs, tmp->segs + first,
               (tmp->nsegs - first) * sizeof(*m->segs));
    }
    m->nsegs += tmp->nsegs - first;
    m->bytes += tmp->bytes;
    free(tmp->segs);
    free(tmp);
    return CQ_OK;
}

static const cq__msg_seg *seg_at(const cq_msg *m, size_t i)
{
    return m != NULL && i < m->nsegs ? &m->segs[i] : NULL;
}

size_t cq_msg_count(const cq_msg *m)
{
    return m != NULL ? m->nsegs : 0;
}

const char *cq_msg_seg_type(const cq_msg *m, size_t i)
{
    const cq__msg_seg *seg = seg_at(m, i);

    return seg != NULL ? seg->type : NULL;
}

const char *cq_msg_seg_get(const cq_msg *m, size_t i, const char *key)
{
    const cq__msg_seg *seg = seg_at(m, i);
    size_t j;

    for (j = 0; seg != NULL && key != NULL && j < seg->nparams; j++) {
        if (strcmp(seg->params[j].key, key) == 0) {
            return seg->params[j].val;
        }
    }
    return NULL;
}

size_t cq_msg_seg_nparams(const cq_msg *m, size_t i)
{
    const cq__msg_seg *seg = seg_at(m, i);

    return seg != NULL ? seg->nparams : 0;
}

static const cq__msg_param *param_at(const cq_msg *m, size_t i, size_t j)
{
    const cq__msg_seg *seg = seg_at(m, i);

    return seg != NULL && j < seg->nparams ? &seg->params[j] : NULL;
}

const char *cq_msg_seg_key(const cq_msg *m, size_t i, size_t j)
{
    const cq__msg_param *p = param_at(m, i, j);

    return p != NULL ? p->key : NULL;
}

const char *cq_msg_seg_value(const cq_msg *m, size_t i, size_t j)
{
    const cq__msg_param *p = param_at(m, i, j);

    return p != NULL ? p->val : NULL;
}

int cq_msg_seg_is_json(const cq_msg *m, size_t i, size_t j)
{
    const cq__msg_param *p = param_at(m, i, j);

    return p != NULL && p->is_json;
}

char *cq_msg_plain_text(const cq_msg *m)
{
    sbuf b = {0};
    size_t i, j;
    int rc = sbuf_add(&b, "", 0), first = 1;

    for (i = 0; rc == CQ_OK && i < cq_msg_count(m); i++) {
        const cq__msg_seg *seg = &m->segs[i];

        if (strcmp(seg->type, "text") != 0) {
            continue;
        }
        for (j = 0; j < seg->nparams; j++) {
            if (strcmp(seg->params[j].key, "text") == 0) {
                break;
            }
        }
        if (j == seg->nparams || seg->params[j].is_json) {
            continue;
        }
        if (!first) {
            rc = sbuf_add(&b, " ", 1);
        }
        first = 0;
        if (rc == CQ_OK) {
            rc = sbuf_add(&b, seg->params[j].val, strlen(seg->params[j].val));
        }
    }
    if (rc != CQ_OK) {
        free(b.p);
        return NULL;
    }
    return b.p;
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

    if (*memo != SIZE_MAX && *memo >= from) {
        return *memo;
    }
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

    if (len - i < 6 || memcmp(s + i, "[CQ:", 4) != 0) {
        return 0;
    }
    while (e < len && is_type_char(s[e])) {
        e++;
    }
    if (e == i + 4 || e == len || (s[e] != ']' && s[e] != ',')) {
        return 0;
    }
    *t = e;
    if (s[e] == ']') {
        return e + 1;
    }
    c = find_close(s, len, e, memo);
    return c < len ? c + 1 : 0;
}

/* Reads the code s[i, end), whose type ends at t, into seg (zeroed). */
static int read_code(cq__msg_seg *seg, const char *s, size_t i, size_t t,
                     size_t end)
{
    size_t p = t + 1, close = end - 1;
    int rc;

    if ((seg->type = dupn(s + i + 4, t - i - 4)) == NULL) {
        return CQ_ENOMEM;
    }
    while (p < close) {
        const char *comma = memchr(s + p, ',', close - p);
        size_t q = comma != NULL ? (size_t)(comma - s) : close;
        const char *eq = memchr(s + p, '=', q - p);

        /* A part without '=' or with an empty key is dropped. */
        if (eq != NULL && eq > s + p) {
            sbuf v = {0};
            size_t k = (size_t)(eq - s);

            rc = unescape_into(&v, eq + 1, q - k - 1);
            if (rc != CQ_OK) {
                free(v.p);
                return rc;
            }
            if ((rc = seg_put(seg, dupn(s + p, k - p), v.p, 0)) != CQ_OK) {
                return rc;
            }
        }
        p = q + 1;
    }
    return CQ_OK;
}

static int flush_text(cq_msg *m, sbuf *text)
{
    int rc = add_text_n(m, text->p, text->len);

    text->len = 0;
    return rc;
}

int cq_msg_parse_cq(cq_msg **out, const char *s, size_t len)
{
    sbuf text = {0};
    size_t i = 0, run = 0, memo = SIZE_MAX;
    cq_msg *m;
    int rc = CQ_OK;

    if (out != NULL) {
        *out = NULL;
    }
    if (out == NULL || s == NULL) {
        return CQ_EINVAL;
    }
    if (len > CQ_MSG_MAX_BYTES) {
        return CQ_ETOOBIG;
    }
    if (len > 0 && memchr(s, '\0', len) != NULL) {
        return CQ_EINVAL;
    }
    if ((m = cq_msg_new()) == NULL) {
        return CQ_ENOMEM;
    }
    /* Text runs (unescaped) and pure text codes gather in text, which is
     * flushed as one segment before each other code and at the end. */
    while (rc == CQ_OK && i < len) {
        const char *br = memchr(s + i, '[', len - i);
        cq__msg_seg seg = {0};
        size_t t = 0, end;

        if (br == NULL) {
            break;
        }
        i = (size_t)(br - s);
        if ((end = code_end(s, len, i, &t, &memo)) == 0) {
            i++;
            continue;
        }
        rc = unescape_into(&text, s + run, i - run);
        if (rc == CQ_OK) {
            rc = read_code(&seg, s, i, t, end);
        }
        if (rc == CQ_OK && is_pure_text(&seg)) {
            rc = sbuf_add(&text, seg.params[0].val, strlen(seg.params[0].val));
        } else if (rc == CQ_OK && (rc = flush_text(m, &text)) == CQ_OK) {
            rc = cq__msg_push(m, &seg);
        }
        cq__msg_seg_clear(&seg);
        i = run = end;
    }
    if (rc == CQ_OK) {
        rc = unescape_into(&text, s + run, len - run);
    }
    if (rc == CQ_OK) {
        rc = flush_text(m, &text);
    }
    free(text.p);
    if (rc != CQ_OK) {
        cq_msg_free(m);
        return rc;
    }
    *out = m;
    return CQ_OK;
}

/* Writes a parameter value: a string escaped with commas; JSON text that is
 * a message (a node's content) as its CQ code; other JSON as its text. */
static int format_value(sbuf *b, const cq__msg_param *p)
{
    if (p->is_json && (p->val[0] == '[' || p->val[0] == '{')) {
        cq_msg *sub;
        char *cq;
        int rc = cq_msg_from_json(&sub, p->val, strlen(p->val));

        if (rc == CQ_ENOMEM) {
            return rc;
        }
        if (rc == CQ_OK) {
            cq = cq_msg_format_cq(sub);
            cq_msg_free(sub);
            if (cq == NULL) {
                return CQ_ENOMEM;
            }
            rc = escape_into(b, cq, 1);
            free(cq);
            return rc;
        }
    }
    return escape_into(b, p->val, 1);
}

static int format_seg(sbuf *b, const cq__msg_seg *seg)
{
    size_t j;
    int rc;

    if (is_pure_text(seg)) {
        return escape_into(b, seg->params[0].val, 0);
    }
    if ((rc = sbuf_add(b, "[CQ:", 4)) != CQ_OK ||
        (rc = sbuf_add(b, seg->type, strlen(seg->type))) != CQ_OK) {
        return rc;
    }
    for (j = 0; j < seg->nparams; j++) {
        const cq__msg_param *p = &seg->params[j];

        /* A JSON null is left out, as aiocqhttp drops None parameters. */
        if (p->is_json && strcmp(p->val, "null") == 0) {
            continue;
        }
        if ((rc = sbuf_add(b, ",", 1)) != CQ_OK ||
            (rc = sbuf_add(b, p->key, strlen(p->key))) != CQ_OK ||
            (rc = sbuf_add(b, "=", 1)) != CQ_OK ||
            (rc = format_value(b, p)) != CQ_OK) {
            return rc;
        }
    }
    return sbuf_add(b, "]", 1);
}

char *cq_msg_format_cq(const cq_msg *m)
{
    sbuf b = {0};
    size_t i;
    int rc = sbuf_add(&b, "", 0);

    for (i = 0; rc == CQ_OK && i < cq_msg_count(m); i++) {
        rc = format_seg(&b, &m->segs[i]);
    }
    if (rc != CQ_OK) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
