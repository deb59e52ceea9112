#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/buf.h"

void cq__buf_init(cq__buf *b, size_t toobig)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->toobig = toobig;
    b->lent = 0;
}


void cq__buf_init_in(cq__buf *b, size_t toobig, char *mem, size_t n)
{
    cq__buf_init(b, toobig);
    b->data = mem;
    b->cap = n;
    b->lent = 1;
    mem[0] = '\0';
}


/* Memory of ncap bytes for b's contents: realloc()ed, or a first copy of
 * lent memory. NULL when out of memory. */
static char *resize(cq__buf *b, size_t ncap)
{
    char *p;

    if (!b->lent)
        return realloc(b->data, ncap);
    if ((p = malloc(ncap)) != NULL) {
        memcpy(p, b->data, b->len + 1);
        b->lent = 0;
    }
    return p;
}


static int grow(cq__buf *b, size_t extra)
{
    size_t need, ncap;
    char *p;

    if (extra > b->toobig || b->len > b->toobig - extra) {
        cq__buf_free(b);
        return CQ_ETOOBIG;
    }
    need = b->len + extra + 1;
    if (need <= b->cap)
        return CQ_OK;
    ncap = b->cap ? b->cap : 256;
    while (ncap < need)
        ncap *= 2;
    p = resize(b, ncap);
    if (p == NULL) {
        cq__buf_free(b);
        return CQ_ENOMEM;
    }
    b->data = p;
    b->cap = ncap;
    return CQ_OK;
}


int cq__buf_add_grow(cq__buf *b, const void *mem, size_t len)
{
    int rc = grow(b, len);

    if (rc != CQ_OK)
        return rc;
    if (len > 0)
        memcpy(b->data + b->len, mem, len);
    b->len += len;
    b->data[b->len] = '\0';
    return CQ_OK;
}


int cq__buf_addstr(cq__buf *b, const char *s)
{
    return cq__buf_add(b, s, strlen(s));
}


char *cq__buf_uint_text(char digits[CQ__UINT_TEXT], unsigned long long v)
{
    char *p = digits + CQ__UINT_TEXT;

    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return p;
}


int cq__buf_add_uint(cq__buf *b, unsigned long long v)
{
    char digits[CQ__UINT_TEXT], *p = cq__buf_uint_text(digits, v);

    return cq__buf_add(b, p, (size_t)(digits + sizeof(digits) - p));
}


int cq__buf_printf(cq__buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rc;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        cq__buf_free(b);
        return CQ_EINVAL;
    }
    rc = grow(b, (size_t)n);
    if (rc != CQ_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return CQ_OK;
}


void cq__buf_reset(cq__buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}


char *cq__buf_detach(cq__buf *b)
{
    char *p = b->data;

    /* Lent memory is not the caller's to free: it gets a copy. */
    if (b->lent && (p = malloc(b->len + 1)) != NULL)
        memcpy(p, b->data, b->len + 1);
    b->lent = 0;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}


void cq__buf_free(cq__buf *b)
{
    if (b == NULL)
        return;
    if (!b->lent)
        free(b->data);
    b->lent = 0;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}
