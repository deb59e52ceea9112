/*
 * Messages: the value type. Segments and their parameters, the caps of
 * cqhttp.h, the generic builders, the readers and plain text. The string
 * forms are in message_cq.c (CQ code) and message_json.c (the JSON array).
 */
#include "config.h"

#include "lib/message.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"

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


int cq__msg_seg_put(cq__msg_seg *seg, char *key, char *val, int is_json)
{
    cq__msg_param *p;
    size_t j;
    int rc = CQ_ENOMEM;

    if (key == NULL || val == NULL)
        goto fail;
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
    if (p == NULL)
        goto fail;
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
    return cq__msg_seg_put(seg, strdup(key), strndup(val, vlen), is_json);
}


/* The bytes a segment counts against CQ_MSG_MAX_BYTES: its values only, so
 * that any input within the cap also fits in a message. */
static size_t seg_bytes(const cq__msg_seg *seg)
{
    size_t n = 0, j;

    for (j = 0; j < seg->nparams; j++)
        n += strlen(seg->params[j].val);
    return n;
}


int cq__msg_seg_is_pure_text(const cq__msg_seg *seg)
{
    return strcmp(seg->type, "text") == 0 && seg->nparams == 1 &&
           !seg->params[0].is_json && strcmp(seg->params[0].key, "text") == 0;
}


/* Makes room for extra more segments. */
static int grow(cq_msg *m, size_t extra)
{
    size_t cap = m->cap ? m->cap : 8;
    cq__msg_seg *p;

    if (m->nsegs + extra <= m->cap)
        return CQ_OK;
    while (cap < m->nsegs + extra)
        cap *= 2;
    p = realloc(m->segs, cap * sizeof(*p));
    if (p == NULL)
        return CQ_ENOMEM;
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

    dst->type = strdup(src->type);
    if (dst->type == NULL)
        return CQ_ENOMEM;
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

    if (m == NULL)
        return;
    for (i = 0; i < m->nsegs; i++)
        cq__msg_seg_clear(&m->segs[i]);
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
    if (d != NULL && m != NULL)
        d->err = m->err;
    return d;
}


int cq__msg_add_text_n(cq_msg *m, const char *s, size_t n)
{
    cq__msg_seg seg = {0};
    int rc;

    if (n == 0)
        return CQ_OK;
    if (n > CQ_MSG_MAX_BYTES - m->bytes)
        return CQ_ETOOBIG;
    if (m->nsegs > 0 && cq__msg_seg_is_pure_text(&m->segs[m->nsegs - 1])) {
        cq__msg_param *p = &m->segs[m->nsegs - 1].params[0];
        size_t old = strlen(p->val);
        char *v = realloc(p->val, old + n + 1);

        if (v == NULL)
            return CQ_ENOMEM;
        memcpy(v + old, s, n);
        v[old + n] = '\0';
        p->val = v;
        m->bytes += n;
        return CQ_OK;
    }
    seg.type = strdup("text");
    if (seg.type == NULL)
        return CQ_ENOMEM;
    if ((rc = cq__msg_seg_set(&seg, "text", s, n, 0)) != CQ_OK) {
        cq__msg_seg_clear(&seg);
        return rc;
    }
    return cq__msg_push(m, &seg);
}


int cq__msg_latch(cq_msg *m, int rc)
{
    if (m != NULL && rc < 0 && m->err == CQ_OK)
        m->err = rc;
    return rc;
}


int cq_msg_err(const cq_msg *m)
{
    return m != NULL ? m->err : CQ_ENOMEM;
}


int cq_msg_add_text(cq_msg *m, const char *text)
{
    if (m == NULL || text == NULL)
        return cq__msg_latch(m, CQ_EINVAL);
    return cq__msg_latch(m, cq__msg_add_text_n(m, text, strlen(text)));
}


static int add_segv(cq_msg *m, const char *type, va_list ap)
{
    cq__msg_seg seg = {0};
    const char *k;
    int rc;

    if (m == NULL || type == NULL || *type == '\0')
        return CQ_EINVAL;
    if ((seg.type = strdup(type)) == NULL)
        return CQ_ENOMEM;
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
    return cq__msg_latch(m, rc);
}


static int append(cq_msg *m, const cq_msg *other);


int cq_msg_append(cq_msg *m, const cq_msg *other)
{
    return cq__msg_latch(m, append(m, other));
}


static int append(cq_msg *m, const cq_msg *other)
{
    cq_msg *tmp;
    size_t first = 0;
    int rc;

    if (m == NULL || other == NULL)
        return CQ_EINVAL;
    if ((tmp = cq_msg_dup(other)) == NULL)
        return CQ_ENOMEM;
    if (m->nsegs > 0 && tmp->nsegs > 0 &&
        cq__msg_seg_is_pure_text(&m->segs[m->nsegs - 1]) &&
        cq__msg_seg_is_pure_text(&tmp->segs[0]))
        first = 1;
    /* Checked before any change, so that a failure leaves m unchanged. */
    if (tmp->nsegs - first > CQ_MSG_MAX_SEGS - m->nsegs ||
        tmp->bytes > CQ_MSG_MAX_BYTES - m->bytes)
        rc = CQ_ETOOBIG;
    else
        rc = grow(m, tmp->nsegs - first);
    if (rc == CQ_OK && first) {
        const char *t = tmp->segs[0].params[0].val;

        rc = cq__msg_add_text_n(m, t, strlen(t));
    }
    if (rc != CQ_OK) {
        cq_msg_free(tmp);
        return rc;
    }
    if (first) {
        tmp->bytes -= seg_bytes(&tmp->segs[0]);
        cq__msg_seg_clear(&tmp->segs[0]);
    }
    if (tmp->nsegs > first)
        memcpy(m->segs + m->nsegs, tmp->segs + first,
               (tmp->nsegs - first) * sizeof(*m->segs));
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
        if (strcmp(seg->params[j].key, key) == 0)
            return seg->params[j].val;
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
    cq__buf b;
    size_t i, j;
    int rc, first = 1;

    /* The values add up to at most CQ_MSG_MAX_BYTES, with at most one space
     * between two segments: the cap is never reached. */
    cq__buf_init(&b, (size_t)CQ_MSG_MAX_BYTES + CQ_MSG_MAX_SEGS);
    rc = cq__buf_add(&b, "", 0);
    for (i = 0; rc == CQ_OK && i < cq_msg_count(m); i++) {
        const cq__msg_seg *seg = &m->segs[i];

        if (strcmp(seg->type, "text") != 0)
            continue;
        for (j = 0; j < seg->nparams; j++) {
            if (strcmp(seg->params[j].key, "text") == 0)
                break;
        }
        if (j == seg->nparams || seg->params[j].is_json)
            continue;
        if (!first)
            rc = cq__buf_add(&b, " ", 1);
        first = 0;
        if (rc == CQ_OK)
            rc = cq__buf_addstr(&b, seg->params[j].val);
    }
    /* A failing add has freed b. */
    return rc == CQ_OK ? cq__buf_detach(&b) : NULL;
}
