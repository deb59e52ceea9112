/*
 * A tiny unit-test harness. Each test file defines cases with T_CASE and
 * lists them in a table named after the file (see runner.c). A failing check
 * prints the file, line and expression and ends that case; the runner counts
 * cases, not checks, and ends with one "N passed, N failed" line.
 */
#ifndef CQ_TEST_H
#define CQ_TEST_H

#include <stdio.h>
#include <string.h>

typedef struct t_state {
    int failed;  /* Set by a failing check; the runner resets it per case. */
    int skipped; /* Set by T_SKIP: the case could not run here. */
} t_state;

typedef void t_fn(t_state *t);

typedef struct t_case {
    const char *name;
    t_fn *fn;
} t_case;

void t_fail(t_state *t, const char *file, int line, const char *what);

#define T_CASE(name) static void name(t_state *t)

#define T_CHECK(cond)                                                          \
    do {                                                                       \
        if (!(cond)) {                                                         \
            t_fail(t, __FILE__, __LINE__, #cond);                              \
            return;                                                            \
        }                                                                      \
    } while (0)

#define T_EQ_INT(a, b)                                                         \
    do {                                                                       \
        long long t_a_ = (long long)(a), t_b_ = (long long)(b);                \
        if (t_a_ != t_b_) {                                                    \
            fprintf(stderr, "  %lld != %lld\n", t_a_, t_b_);                   \
            t_fail(t, __FILE__, __LINE__, #a " == " #b);                       \
            return;                                                            \
        }                                                                      \
    } while (0)

#define T_EQ_STR(a, b)                                                         \
    do {                                                                       \
        const char *t_a_ = (a), *t_b_ = (b);                                   \
        if (t_a_ == NULL || t_b_ == NULL || strcmp(t_a_, t_b_) != 0) {         \
            fprintf(stderr, "  \"%s\" != \"%s\"\n", t_a_ ? t_a_ : "(null)",    \
                    t_b_ ? t_b_ : "(null)");                                   \
            t_fail(t, __FILE__, __LINE__, #a " == " #b);                       \
            return;                                                            \
        }                                                                      \
    } while (0)

/* Ends the case as skipped, saying why. */
#define T_SKIP(why)                                                            \
    do {                                                                       \
        fprintf(stderr, "  skipped: %s\n", why);                               \
        t->skipped = 1;                                                        \
        return;                                                                \
    } while (0)

/* Reads a whole file into a new NUL-terminated buffer; NULL on failure. */
char *t_read_file(const char *path, size_t *len);

/* The project's source directory, for fixtures. */
const char *t_srcdir(void);

/* Each test file exports its table: { name, fn } pairs ended by { NULL }. */
#define T_SUITE(name) const t_case name[]

#endif
