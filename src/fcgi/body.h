/*
 * body: the memory a responder thread reads request bodies into.
 *
 * Each thread keeps one mapping for its bodies from request to request, so
 * that a body costs no malloc() and, once the mapping is as large as the
 * thread's bodies, no page fault either. It grows (with its contents, for a
 * body of unknown length) to the body at hand, and is given back after a
 * request only when it grew past CQ__BODY_KEEP. So what a thread holds for
 * bodies is one copy of the largest it has read, at most CQ__BODY_KEEP
 * between requests: the memory grows with the body size by one body per
 * thread, never more, and never by the leftovers of earlier sizes, as
 * malloc's heap did (issue 10).
 *
 * The mapping is the thread's own: nothing here takes a lock.
 */
#ifndef CQ_FCGI_BODY_H
#define CQ_FCGI_BODY_H

#include <stddef.h>

/* Bodies up to this many bytes (max_body's default) leave their mapping
 * kept for the next; fresh pages are faulted in ahead only for those. */
#define CQ__BODY_KEEP (1024 * 1024)

typedef struct cq__body {
    char *p;    /* The mapping, or NULL. */
    size_t cap; /* Its size, a page multiple; 0 without one. */
} cq__body;

/*
 * Makes b hold at least n bytes, keeping the bytes it held. Fresh pages of a
 * mapping that will be kept are faulted in with one call rather than one
 * fault each as they are written.
 * Returns CQ_OK, or CQ_ENOMEM with b as it was.
 */
int cq__body_reserve(cq__body *b, size_t n);

/* After a request: gives b's mapping back if it grew past CQ__BODY_KEEP. */
void cq__body_done(cq__body *b);

/* Gives b's mapping back. */
void cq__body_free(cq__body *b);

#endif
