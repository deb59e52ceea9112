/*
 * arena: memory handed out in order from a few large chunks and given back
 * all at once. An event's body copy, its JSON tree, its name and the JSON
 * parser's own buffers live in one arena, so parsing an event costs one or
 * two allocations instead of one per node, and freeing it is one walk over
 * the chunks instead of a recursive free of the tree.
 *
 * An arena belongs to one thread at a time; nothing in it is freed alone.
 */
#ifndef CQ_ARENA_H
#define CQ_ARENA_H

#include <stddef.h>

typedef struct cq__arena cq__arena;

/*
 * Returns a new arena whose first chunk holds at least hint bytes, or NULL
 * when out of memory.
 */
cq__arena *cq__arena_new(size_t hint);

/* Frees a and everything allocated from it. NULL is a no-op. */
void cq__arena_free(cq__arena *a);

/* Returns n bytes aligned for any type, or NULL when out of memory. */
void *cq__arena_alloc(cq__arena *a, size_t n);

/* Returns a NUL-terminated copy of the n bytes at s, or NULL. */
char *cq__arena_strndup(cq__arena *a, const char *s, size_t n);

#endif
