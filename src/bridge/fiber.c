/*
 * fiber: contexts switched with glibc's ucontext (getcontext, makecontext,
 * swapcontext), stacks from mmap with a guard page, and AddressSanitizer
 * told of every switch (see fiber.h).
 *
 * A fiber's entry function never returns: it runs the fiber's function,
 * marks it finished and switches back to the host, in a loop. Starting a
 * finished fiber again only sets its function, so an event costs no
 * getcontext or makecontext once the fiber exists.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "bridge/fiber.h"

#if defined(__SANITIZE_ADDRESS__)
#define CQ_FIBER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CQ_FIBER_ASAN 1
#endif
#endif

#ifdef CQ_FIBER_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

struct cq__fiber {
    ucontext_t uc;   /* The fiber's context while it is not running. */
    ucontext_t host; /* The resumer's context while the fiber runs. */
    char *map;       /* The guard page, then the stack. */
    size_t map_len;
    char *stack;
    size_t stack_len;
    cq__fiber_fn *fn;
    void *arg;
    int made;     /* uc holds a context made for entry(). */
    int finished; /* fn returned; the fiber waits to be started again. */
    /* AddressSanitizer's fake stacks and the host's stack bounds. */
    void *fake;
    void *host_fake;
    const void *host_bottom;
    size_t host_size;
};

/* The fiber running on this thread; a fiber never changes thread. */
static __thread cq__fiber *current;


/* Tells ASan that this thread is about to run on another stack. */
static void asan_start(void **fake, const void *bottom, size_t size)
{
#ifdef CQ_FIBER_ASAN
    __sanitizer_start_switch_fiber(fake, bottom, size);
#else
    (void)fake;
    (void)bottom;
    (void)size;
#endif
}


/* Tells ASan that the switch announced by asan_start() has happened. */
static void asan_finish(void *fake, const void **bottom, size_t *size)
{
#ifdef CQ_FIBER_ASAN
    __sanitizer_finish_switch_fiber(fake, bottom, size);
#else
    (void)fake;
    (void)bottom;
    (void)size;
#endif
}


/* Inside f: switches to its host; returns when f is resumed. */
static void to_host(cq__fiber *f)
{
    asan_start(&f->fake, f->host_bottom, f->host_size);
    swapcontext(&f->uc, &f->host);
    asan_finish(f->fake, &f->host_bottom, &f->host_size);
}


static void entry(void)
{
    cq__fiber *f = current;

    asan_finish(NULL, &f->host_bottom, &f->host_size);
    for (;;) {
        f->fn(f->arg);
        f->finished = 1;
        to_host(f);
    }
}


cq__fiber *cq__fiber_new(size_t stack_size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    cq__fiber *f = calloc(1, sizeof(*f));

    if (f == NULL)
        return NULL;
    f->stack_len = (stack_size + page - 1) / page * page;
    f->map_len = f->stack_len + page;
    f->map = mmap(NULL, f->map_len, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (f->map == MAP_FAILED) {
        free(f);
        return NULL;
    }
    /* Stacks grow down: an overflow reaches the guard page and faults. */
    if (mprotect(f->map, page, PROT_NONE) != 0) {
        munmap(f->map, f->map_len);
        free(f);
        return NULL;
    }
    f->stack = f->map + page;
    return f;
}


void cq__fiber_free(cq__fiber *f)
{
    if (f == NULL)
        return;
#ifdef CQ_FIBER_ASAN
    /* Frames left on the stack keep their red zones poisoned: the address
     * range may be mapped again for something else. */
    ASAN_UNPOISON_MEMORY_REGION(f->stack, f->stack_len);
#endif
    munmap(f->map, f->map_len);
    free(f);
}


void cq__fiber_start(cq__fiber *f, cq__fiber_fn *fn, void *arg)
{
    f->fn = fn;
    f->arg = arg;
    f->finished = 0;
    if (f->made)
        return; /* Waiting in entry()'s loop: it runs fn when resumed. */
    getcontext(&f->uc);
    f->uc.uc_stack.ss_sp = f->stack;
    f->uc.uc_stack.ss_size = f->stack_len;
    f->uc.uc_link = NULL; /* entry() never returns. */
    makecontext(&f->uc, entry, 0);
    f->made = 1;
}


int cq__fiber_resume(cq__fiber *f)
{
    current = f;
    asan_start(&f->host_fake, f->stack, f->stack_len);
    swapcontext(&f->host, &f->uc);
    asan_finish(f->host_fake, NULL, NULL);
    current = NULL;
    return f->finished;
}


void cq__fiber_yield(void)
{
    int saved = errno; /* Other fibers run meanwhile and may set it. */

    to_host(current);
    errno = saved;
}


cq__fiber *cq__fiber_current(void)
{
    return current;
}
