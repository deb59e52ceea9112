/*
 * fiber: stacks from mmap with a guard page, entered once through glibc's
 * ucontext (getcontext, makecontext, setcontext) and from then on switched
 * with _setjmp and _longjmp, and AddressSanitizer told of every switch
 * (see fiber.h).
 *
 * Why not swapcontext for every switch: it saves and restores the signal
 * mask with a system call each time, four per event in the bridge (most of
 * its system calls). _setjmp and _longjmp leave the mask alone, which is
 * right here: a fiber never changes thread, so the mask is the thread's.
 * Each side jumps only into a frame that is still live, waiting in its own
 * _setjmp: the host in cq__fiber_resume(), the fiber in to_host().
 *
 * A fiber's entry function never returns: it runs the fiber's function,
 * marks it finished and switches back to the host, in a loop. Starting a
 * finished fiber again only sets its function, so an event costs no
 * getcontext or makecontext once the fiber exists.
 */
/* The fortified _longjmp (__longjmp_chk) aborts on a jump to a lower stack
 * address, taking it for a jump into a dead frame: a switch to another
 * stack may well be one. */
#undef _FORTIFY_SOURCE
#include "config.h"

#include <errno.h>
#include <setjmp.h>
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
#include <sanitizer/lsan_interface.h>
#endif

struct cq__fiber {
    jmp_buf ctx;   /* The fiber's context while it is not running. */
    jmp_buf host;  /* The resumer's context while the fiber runs. */
    ucontext_t uc; /* Only to enter entry() on the new stack, once. */
    char *map;     /* The guard page, then the stack. */
    size_t map_len;
    char *stack;
    size_t stack_len;
    cq__fiber_fn *fn;
    void *arg;
    int made;     /* uc holds a context made for entry(). */
    int entered;  /* entry() runs: ctx holds the fiber's context. */
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
    if (_setjmp(f->ctx) == 0)
        _longjmp(f->host, 1);
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
#ifdef CQ_FIBER_ASAN
    /* A suspended fiber's stack holds pointers to live memory (a handler
     * waiting, or left behind at exit): LeakSanitizer must scan it. */
    __lsan_register_root_region(f->stack, f->stack_len);
#endif
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
    __lsan_unregister_root_region(f->stack, f->stack_len);
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
    if (_setjmp(f->host) == 0) {
        if (f->entered)
            _longjmp(f->ctx, 1);
        f->entered = 1;
        setcontext(&f->uc); /* To entry(), which jumps back to host. */
    }
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


void *cq__fiber_current_arg(void)
{
    return current != NULL ? current->arg : NULL;
}
