/*
 * fiber: user-space contexts on one thread, so that the bridge's workers
 * can run many handlers and switch between them where a handler waits for
 * an API answer, without a kernel context switch (workers.c).
 *
 * A fiber runs a function on a stack of its own. The thread that resumes it
 * (its host) gets control back when the fiber yields or its function
 * returns; a fiber never moves to another thread. A fiber whose function
 * returned can be started again on the same stack, so stacks are made once
 * and reused.
 *
 * Stacks are mmap'd with an inaccessible guard page below them: an overflow
 * faults at once instead of writing over other memory. Under
 * AddressSanitizer every switch is announced to it, so its view of the
 * current stack stays right.
 *
 * Threads: a fiber belongs to the thread that resumes it; nothing here
 * takes a lock.
 */
#ifndef CQ_FIBER_H
#define CQ_FIBER_H

#include <stddef.h>

/*
 * The stack size of a fiber. Handlers are ordinary C code that may call
 * libcurl (the HTTP API), OpenSSL and printf-style formatting, which can
 * use tens of KiB of stack between them; 256 KiB leaves a wide margin while
 * bounding a worker's stacks (CQ__FIBERS_PER_WORKER of them, workers.h) to
 * a few MiB of address space, of which only touched pages use memory.
 */
#define CQ__FIBER_STACK (256 * 1024)

typedef struct cq__fiber cq__fiber;
typedef void cq__fiber_fn(void *arg);

/* A fiber with a stack of stack_size bytes (a page multiple is best), not
 * started; NULL when out of memory. */
cq__fiber *cq__fiber_new(size_t stack_size);

/* Frees f and its stack; f must not be suspended in its function. */
void cq__fiber_free(cq__fiber *f);

/* Makes f run fn(arg) from the top of its stack at its next resume; f must
 * be new or have finished. */
void cq__fiber_start(cq__fiber *f, cq__fiber_fn *fn, void *arg);

/*
 * Runs f, on this thread, until it yields (returns 0) or its function
 * returns (returns 1: f can be started again). Not from inside a fiber.
 */
int cq__fiber_resume(cq__fiber *f);

/* Inside a fiber: goes back to the host that resumed it; returns at the
 * next resume. errno is kept across it. */
void cq__fiber_yield(void);

/* The fiber running on this thread, NULL outside any. */
cq__fiber *cq__fiber_current(void);

/* The arg the running fiber's function was started with (what it runs:
 * the worker's slot, workers.c), NULL outside any fiber. */
void *cq__fiber_current_arg(void);

#endif
