#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"
#include "test.h"

#define NARENA 6 /* More than a thread keeps, so that some are freed. */
#define NBLOCK 5

static const size_t sizes[NBLOCK] = {1, 40, 3000, 20000, 7};

/* Fills the blocks of arena i with a byte of their own. */
static int fill(cq__arena *a, int i, unsigned char **blocks)
{
    int k;

    for (k = 0; k < NBLOCK; k++) {
        blocks[k] = cq__arena_alloc(a, sizes[k]);
        if (blocks[k] == NULL || (uintptr_t)blocks[k] % 16 != 0)
            return 0;
        memset(blocks[k], i * NBLOCK + k + 1, sizes[k]);
    }
    return 1;
}


/* Whether every block still holds its byte: no two blocks overlap. */
static int intact(int i, unsigned char **blocks)
{
    int k;
    size_t j;

    for (k = 0; k < NBLOCK; k++)
        for (j = 0; j < sizes[k]; j++)
            if (blocks[k][j] != (unsigned char)(i * NBLOCK + k + 1))
                return 0;
    return 1;
}


/*
 * Arenas alive together never share memory, whether their chunks are new
 * or kept from arenas freed before (the second and third rounds).
 */
T_CASE(arenas_reused_apart)
{
    unsigned char *blocks[NARENA][NBLOCK];
    cq__arena *a[NARENA];
    int round, i;

    for (round = 0; round < 3; round++) {
        for (i = 0; i < NARENA; i++) {
            a[i] = cq__arena_new(i == 0 ? 100000 : (size_t)i * 1000);
            T_CHECK(a[i] != NULL);
            T_CHECK(fill(a[i], i, blocks[i]));
        }
        for (i = 0; i < NARENA; i++)
            T_CHECK(intact(i, blocks[i]));
        for (i = 0; i < NARENA; i++)
            cq__arena_free(a[i]);
    }
}


static void *churn(void *arg)
{
    cq__arena **given = arg;
    int i;

    /* Frees what another thread made, and keeps arenas of its own. */
    for (i = 0; i < NARENA; i++)
        cq__arena_free(given[i]);
    for (i = 0; i < 3 * NARENA; i++) {
        cq__arena *a = cq__arena_new(0);

        if (a == NULL || cq__arena_alloc(a, 100) == NULL)
            return arg;
        cq__arena_free(a);
    }
    return NULL;
}


/*
 * A thread keeps its own arenas and gives them back when it ends (the
 * sanitizer build's leak check would see one it did not).
 */
T_CASE(arena_spares_end_with_thread)
{
    cq__arena *given[NARENA];
    pthread_t th;
    void *rv = given;
    int i;

    for (i = 0; i < NARENA; i++) {
        given[i] = cq__arena_new(0);
        T_CHECK(given[i] != NULL);
    }
    T_CHECK(pthread_create(&th, NULL, churn, given) == 0);
    T_CHECK(pthread_join(th, &rv) == 0);
    T_CHECK(rv == NULL);
}


T_SUITE(test_arena_cases) = {
    {"arena/arenas_reused_apart", arenas_reused_apart},
    {"arena/arena_spares_end_with_thread", arena_spares_end_with_thread},
    {NULL, NULL},
};
