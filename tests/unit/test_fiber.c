/*
 * fiber: a fiber runs until it yields or ends, resumes where it yielded
 * with its own errno, can be started again on the same stack, and has the
 * stack it was promised.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "bridge/fiber.h"
#include "test.h"

typedef struct trace {
    char steps[32];
    size_t n;
    cq__fiber *self; /* What cq__fiber_current() said inside. */
    void *arg;       /* What cq__fiber_current_arg() said inside. */
    int err;         /* errno seen after the yield. */
} trace;

static void note(trace *t, char c)
{
    if (t->n + 1 < sizeof(t->steps))
        t->steps[t->n++] = c;
}


static void two_yields(void *arg)
{
    trace *t = arg;

    t->self = cq__fiber_current();
    t->arg = cq__fiber_current_arg();
    note(t, 'a');
    errno = EPIPE;
    cq__fiber_yield();
    t->err = errno;
    note(t, 'b');
    cq__fiber_yield();
    note(t, 'c');
}


T_CASE(runs_until_yield_and_resumes_there)
{
    cq__fiber *f = cq__fiber_new(CQ__FIBER_STACK);
    trace tr;

    T_CHECK(f != NULL);
    memset(&tr, 0, sizeof(tr));
    cq__fiber_start(f, two_yields, &tr);
    T_CHECK(cq__fiber_current() == NULL);
    T_EQ_INT(cq__fiber_resume(f), 0);
    note(&tr, '1');
    errno = ENOENT; /* Set by another fiber, say: not the yielder's. */
    T_EQ_INT(cq__fiber_resume(f), 0);
    note(&tr, '2');
    T_EQ_INT(cq__fiber_resume(f), 1);
    T_EQ_STR(tr.steps, "a1b2c");
    T_CHECK(tr.self == f);
    T_CHECK(tr.arg == &tr);
    T_EQ_INT(tr.err, EPIPE);
    T_CHECK(cq__fiber_current() == NULL);
    T_CHECK(cq__fiber_current_arg() == NULL);
    cq__fiber_free(f);
}


T_CASE(started_again_on_the_same_stack)
{
    cq__fiber *f = cq__fiber_new(CQ__FIBER_STACK);
    trace a, b;

    T_CHECK(f != NULL);
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    cq__fiber_start(f, two_yields, &a);
    while (cq__fiber_resume(f) == 0)
        ;
    cq__fiber_start(f, two_yields, &b);
    T_EQ_INT(cq__fiber_resume(f), 0);
    T_EQ_STR(b.steps, "a");
    while (cq__fiber_resume(f) == 0)
        ;
    T_EQ_STR(a.steps, "abc");
    T_EQ_STR(b.steps, "abc");
    cq__fiber_free(f);
}


T_CASE(two_fibers_interleave)
{
    cq__fiber *f = cq__fiber_new(CQ__FIBER_STACK);
    cq__fiber *g = cq__fiber_new(CQ__FIBER_STACK);
    trace a, b;

    T_CHECK(f != NULL && g != NULL);
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    cq__fiber_start(f, two_yields, &a);
    cq__fiber_start(g, two_yields, &b);
    T_EQ_INT(cq__fiber_resume(f), 0);
    T_EQ_INT(cq__fiber_resume(g), 0);
    T_EQ_INT(cq__fiber_resume(g), 0);
    T_EQ_INT(cq__fiber_resume(f), 0);
    T_EQ_INT(cq__fiber_resume(g), 1);
    T_EQ_INT(cq__fiber_resume(f), 1);
    T_EQ_STR(a.steps, "abc");
    T_EQ_STR(b.steps, "abc");
    T_CHECK(a.self == f && b.self == g);
    cq__fiber_free(f);
    cq__fiber_free(g);
}


/* Uses most of the promised stack in one frame, touching every page. */
static void deep(void *arg)
{
    volatile char big[CQ__FIBER_STACK - 32 * 1024];
    size_t i;

    for (i = 0; i < sizeof(big); i += 4096)
        big[i] = (char)i;
    *(int *)arg = big[4096] == (char)4096;
}


T_CASE(has_the_stack_it_promises)
{
    cq__fiber *f = cq__fiber_new(CQ__FIBER_STACK);
    int ok = 0;

    T_CHECK(f != NULL);
    cq__fiber_start(f, deep, &ok);
    T_EQ_INT(cq__fiber_resume(f), 1);
    T_EQ_INT(ok, 1);
    cq__fiber_free(f);
}


T_SUITE(test_fiber_cases) = {
    {"fiber/runs_until_yield_and_resumes_there",
     runs_until_yield_and_resumes_there},
    {"fiber/started_again_on_the_same_stack", started_again_on_the_same_stack},
    {"fiber/two_fibers_interleave", two_fibers_interleave},
    {"fiber/has_the_stack_it_promises", has_the_stack_it_promises},
    {NULL, NULL},
};
