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
#include <yajl/yajl_common.h>

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

/*
 * Resizes a block that came from cq__arena_alloc_sized() (old may be NULL):
 * a new block with the old contents; the old one stays until the arena is
 * freed. Returns NULL when out of memory. The sized calls keep the length in
 * front of each block, for a client (yajl) whose realloc needs it.
 */
void *cq__arena_alloc_sized(cq__arena *a, size_t n);
void *cq__arena_realloc_sized(cq__arena *a, void *old, size_t n);

/*
 * Fills f so that a yajl parser or generator made with it allocates from a
 * (the sized calls above) and frees nothing: everything goes with a.
 */
void cq__arena_yajl_funcs(cq__arena *a, yajl_alloc_funcs *f);

#endif
