#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"

#define ALIGN     16
#define MIN_CHUNK 4096

typedef struct chunk {
    struct chunk *next;
    size_t size; /* Bytes after the header. */
    size_t used;
} chunk;

struct cq__arena {
    chunk *head; /* The chunk being filled; older ones follow. */
};

/* The header rounded up, so that the first block is aligned. */
#define CHUNK_HEAD ((sizeof(chunk) + ALIGN - 1) & ~(size_t)(ALIGN - 1))

static chunk *chunk_new(size_t size)
{
    chunk *c;

    if (size > SIZE_MAX - CHUNK_HEAD)
        return NULL;
    c = malloc(CHUNK_HEAD + size);
    if (c == NULL)
        return NULL;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}


/*
 * The arena's own header is the first block of its first chunk: a new
 * arena costs one malloc(), and the last free() of cq__arena_free() gives
 * the header back with that chunk.
 */
cq__arena *cq__arena_new(size_t hint)
{
    size_t head = (sizeof(cq__arena) + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    chunk *c;
    cq__arena *a;

    if (hint > SIZE_MAX / 2)
        return NULL;
    c = chunk_new((hint > MIN_CHUNK ? hint : MIN_CHUNK) + head);
    if (c == NULL)
        return NULL;
    a = (cq__arena *)((char *)c + CHUNK_HEAD);
    c->used = head;
    a->head = c;
    return a;
}


void cq__arena_free(cq__arena *a)
{
    chunk *c, *next;

    if (a == NULL)
        return;
    /* a lives in the last chunk: nothing of it is read after that one. */
    for (c = a->head; c != NULL; c = next) {
        next = c->next;
        free(c);
    }
}


void *cq__arena_alloc(cq__arena *a, size_t n)
{
    chunk *c = a->head;
    size_t need;

    if (n > SIZE_MAX / 2)
        return NULL;
    need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (c->size - c->used < need) {
        /* Grow geometrically, so a large tree costs few chunks. */
        size_t size = c->size * 2 > need ? c->size * 2 : need;

        c = chunk_new(size);
        if (c == NULL)
            return NULL;
        c->next = a->head;
        a->head = c;
    }
    c->used += need;
    return (char *)c + CHUNK_HEAD + c->used - need;
}


char *cq__arena_strndup(cq__arena *a, const char *s, size_t n)
{
    char *d = cq__arena_alloc(a, n + 1);

    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}


void *cq__arena_alloc_sized(cq__arena *a, size_t n)
{
    size_t *p = cq__arena_alloc(a, n + ALIGN);

    if (p == NULL)
        return NULL;
    *p = n;
    return (char *)p + ALIGN;
}


void *cq__arena_realloc_sized(cq__arena *a, void *old, size_t n)
{
    void *p = cq__arena_alloc_sized(a, n);
    size_t had;

    if (p != NULL && old != NULL) {
        had = *(size_t *)((char *)old - ALIGN);
        memcpy(p, old, had < n ? had : n);
    }
    return p;
}
