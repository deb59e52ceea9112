/*
 * buf: a growable byte buffer with a hard cap.
 *
 * The cap ("toobig") is fixed at init; an add that would pass it fails with
 * CQ_ETOOBIG and, like an allocation failure, frees the buffer, so a caller
 * that gives up on error has nothing to release. The contents are always
 * NUL-terminated (the terminator is not counted in len) so that text parsers
 * that need a C string can read them directly.
 */
#ifndef CQ_BUF_H
#define CQ_BUF_H

#include <stddef.h>
#include <string.h>

#include "cqhttp.h"

typedef struct cq__buf {
    char *data;    /* NULL until the first add. */
    size_t len;    /* Bytes stored, not counting the terminator. */
    size_t cap;    /* Bytes allocated. */
    size_t toobig; /* Largest len allowed. */
    int lent;      /* data is the caller's (cq__buf_init_in), not freed. */
} cq__buf;

void cq__buf_init(cq__buf *b, size_t toobig);
/*
 * As cq__buf_init(), with the n bytes at mem (n >= 1) as its first memory,
 * which must outlive b: a buffer that seldom outgrows them (an arena's,
 * say) then costs no allocation. Growing past them moves the contents to
 * memory of b's own; mem is never freed here.
 */
void cq__buf_init_in(cq__buf *b, size_t toobig, char *mem, size_t n);
/* cq__buf_add() when b must grow first. */
int cq__buf_add_grow(cq__buf *b, const void *mem, size_t len);

/*
 * Returns CQ_OK, CQ_ETOOBIG or CQ_ENOMEM; b is freed on failure. Inline
 * where the room is there, the usual case for the many short adds of a
 * JSON writer: a constant one- or four-byte add is then a store or two.
 */
static inline int cq__buf_add(cq__buf *b, const void *mem, size_t len)
{
    if (len < b->cap - b->len && b->len + len <= b->toobig) {
        memcpy(b->data + b->len, mem, len);
        b->len += len;
        b->data[b->len] = '\0';
        return CQ_OK;
    }
    return cq__buf_add_grow(b, mem, len);
}

int cq__buf_addstr(cq__buf *b, const char *s);
/* Appends v in decimal; returns as cq__buf_add(). */
int cq__buf_add_uint(cq__buf *b, unsigned long long v);
/* Room for any unsigned long long in decimal, a sign before it. */
#define CQ__UINT_TEXT 24
/* Writes v in decimal at the end of digits, unterminated; returns its
 * first digit. */
char *cq__buf_uint_text(char digits[CQ__UINT_TEXT], unsigned long long v);
/* Returns CQ_OK, CQ_ETOOBIG or CQ_ENOMEM, as cq__buf_add(). */
int cq__buf_printf(cq__buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Empties b but keeps its memory and cap. */
void cq__buf_reset(cq__buf *b);
/* Hands the contents (or NULL if empty) to the caller and empties b. */
char *cq__buf_detach(cq__buf *b);
void cq__buf_free(cq__buf *b);

#endif
