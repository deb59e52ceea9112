/*
 * body: the responder threads' body mappings (see body.h).
 */
#define _GNU_SOURCE /* mremap */
#include "config.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cqhttp.h"
#include "fcgi/body.h"

/* The first mapping's size at least: most events are a few hundred bytes. */
#define BODY_MIN (16 * 1024)


/* n rounded up to whole pages; 0 when that overflows. */
static size_t pages(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    return n > SIZE_MAX - page ? 0 : (n + page - 1) / page * page;
}


/* The largest mapping kept: one for a body of CQ__BODY_KEEP bytes and its
 * NUL. */
static size_t keep_cap(void)
{
    return pages(CQ__BODY_KEEP + 1);
}


/*
 * Faults in the n bytes at p, fresh pages about to be written, with one call
 * (Linux 5.14) instead of a fault per page as the reads reach them. Where
 * the call is missing or fails, the reads fault them in as before.
 */
static void populate(char *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
    (void)madvise(p, n, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)n;
#endif
}


int cq__body_reserve(cq__body *b, size_t n)
{
    size_t cap;
    void *p;

    if (n <= b->cap)
        return CQ_OK;
    cap = pages(n > BODY_MIN ? n : BODY_MIN);
    if (cap == 0)
        return CQ_ENOMEM;
    if (b->p == NULL)
        p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                 -1, 0);
    else
        p = mremap(b->p, b->cap, cap, MREMAP_MAYMOVE);
    if (p == MAP_FAILED)
        return CQ_ENOMEM;
    /* Only what is kept: a peer that announces more and sends it slowly
     * must not make it resident before it sends it. */
    if (cap <= keep_cap())
        populate((char *)p + b->cap, cap - b->cap);
    b->p = p;
    b->cap = cap;
    return CQ_OK;
}


void cq__body_done(cq__body *b)
{
    /* The page size is asked for only when the mapping may be over the
     * limit: it is a whole number of pages, so one of CQ__BODY_KEEP + 1
     * bytes or less is kept. */
    if (b->cap > CQ__BODY_KEEP + 1 && b->cap > keep_cap())
        cq__body_free(b);
}


void cq__body_free(cq__body *b)
{
    if (b->p != NULL)
        munmap(b->p, b->cap);
    b->p = NULL;
    b->cap = 0;
}
