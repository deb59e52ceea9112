#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/arena.h"

#define ALIGN     16
#define MIN_CHUNK 4096
/*
 * Room every first chunk gets beyond what was asked for: the tree parser
 * (json_tree.c) takes a stack of max_depth + 1 frames of 16 bytes at the
 * start of every parse (528 bytes at the default depth of 32, 16 KiB at the
 * most a setting allows), which the callers' hints, sized for the tree,
 * leave out; params start with 512 bytes of text. Without it most parses
 * would take a second chunk.
 */
#define SLACK 2112

typedef struct chunk {
    struct chunk *next;
    size_t size; /* Bytes after the header. */
    size_t used;
} chunk;

struct cq__arena {
    chunk *head; /* The chunk being filled; older ones follow. */
    size_t want; /* The hint, while a kept chunk smaller than it is used. */
};

/* The header rounded up, so that the first block is aligned. */
#define CHUNK_HEAD ((sizeof(chunk) + ALIGN - 1) & ~(size_t)(ALIGN - 1))
/* The arena's own header, at the start of its first chunk. */
#define ARENA_HEAD ((sizeof(cq__arena) + ALIGN - 1) & ~(size_t)(ALIGN - 1))

/*
 * Each thread keeps a few freed arenas (their first chunk only, when it is
 * no bigger than SPARE_MAX) for its next cq__arena_new(): an event, the
 * params of its API call and the call's answer each take an arena, and
 * reusing them keeps malloc() and free() off that path. A bridge worker
 * runs up to 16 handlers at once (CQ__FIBERS_PER_WORKER), each holding its
 * event's and its call's arenas, so the thread keeps 20: with 4, half of
 * the arenas under load were malloc()ed. That costs a thread at most 20
 * chunks of SPARE_MAX, 320 KiB; they are mostly one or two pages, so 80 to
 * 160 KiB in practice. Under AddressSanitizer a kept chunk is poisoned
 * until it is taken again, so a use after cq__arena_free() is still caught.
 */
#define NSPARE    20
#define SPARE_MAX (16 * 1024)

#if defined(__SANITIZE_ADDRESS__)
#define CQ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CQ_ASAN 1
#endif
#endif
#ifdef CQ_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(c) ASAN_POISON_MEMORY_REGION((char *)(c) + CHUNK_HEAD, (c)->size)
#define UNPOISON(c)                                                            \
    ASAN_UNPOISON_MEMORY_REGION((char *)(c) + CHUNK_HEAD, (c)->size)
#else
#define POISON(c)   ((void)(c))
#define UNPOISON(c) ((void)(c))
#endif

typedef struct spares {
    int n;
    chunk *c[NSPARE];
} spares;

static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static int spare_ok;

/* At the end of a thread: frees the arenas it kept. */
static void spares_free(void *arg)
{
    spares *sp = arg;

    while (sp->n > 0) {
        chunk *c = sp->c[--sp->n];

        UNPOISON(c);
        free(c);
    }
    free(sp);
}


static void spare_setup(void)
{
    spare_ok = pthread_key_create(&spare_key, spares_free) == 0;
}


/* This thread's spares, made when create is set; NULL when none. */
static spares *my_spares(int create)
{
    spares *sp;

    pthread_once(&spare_once, spare_setup);
    if (!spare_ok)
        return NULL;
    sp = pthread_getspecific(spare_key);
    if (sp == NULL && create && (sp = calloc(1, sizeof(*sp))) != NULL &&
        pthread_setspecific(spare_key, sp) != 0) {
        free(sp);
        sp = NULL;
    }
    return sp;
}


/* A kept first chunk with room for size bytes, taken out; or NULL. */
static chunk *spare_take(size_t size)
{
    spares *sp = my_spares(0);
    int i;

    for (i = 0; sp != NULL && i < sp->n; i++) {
        chunk *c = sp->c[i];

        if (c->size >= size) {
            sp->c[i] = sp->c[--sp->n];
            UNPOISON(c);
            return c;
        }
    }
    return NULL;
}


/* Keeps c (a first chunk) for later; returns 0 when it was not kept. */
static int spare_keep(chunk *c)
{
    spares *sp;

    if (c->size > SPARE_MAX || (sp = my_spares(1)) == NULL || sp->n >= NSPARE)
        return 0;
    POISON(c);
    sp->c[sp->n++] = c;
    return 1;
}

static chunk *chunk_new(size_t size)
{
    chunk *c;

    if (size > SIZE_MAX - CHUNK_HEAD)
        return NULL;
    c = malloc(CHUNK_HEAD + size);
    if (c == NULL)
        return NULL;
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}


/*
 * The arena's own header is the first block of its first chunk: a new
 * arena costs one malloc() at most, and the last free() of
 * cq__arena_free() gives the header back with that chunk.
 */
cq__arena *cq__arena_new(size_t hint)
{
    size_t size = hint > MIN_CHUNK ? hint : MIN_CHUNK;
    chunk *c;
    cq__arena *a;

    if (size > SIZE_MAX / 2)
        return NULL;
    /* Whole pages, so that a kept chunk fits the next arena of most kinds. */
    size = (size + ARENA_HEAD + SLACK + 4095) & ~(size_t)4095;
    c = spare_take(size);
    /*
     * A hint past SPARE_MAX is a guess from a large input's length, and
     * often far too large: the tree of a long message in a body parsed in
     * place fits a kept chunk, whose pages are resident already. So the
     * arena starts in a kept chunk, and a chunk of the hint's size is made
     * only when what is allocated outgrows it (at once, for a caller whose
     * first block is a copy of the input).
     */
    if (c == NULL && size > SPARE_MAX)
        c = spare_take(0);
    if (c == NULL && (c = chunk_new(size)) == NULL)
        return NULL;
    c->next = NULL;
    a = (cq__arena *)((char *)c + CHUNK_HEAD);
    c->used = ARENA_HEAD;
    a->head = c;
    a->want = c->size < size ? size : 0;
    return a;
}


void cq__arena_free(cq__arena *a)
{
    chunk *c, *next;

    if (a == NULL)
        return;
    /* a lives in the last chunk: nothing of it is read after that one. */
    for (c = a->head; c != NULL; c = next) {
        next = c->next;
        if (next != NULL || !spare_keep(c))
            free(c);
    }
}


void *cq__arena_alloc(cq__arena *a, size_t n)
{
    chunk *c = a->head;
    size_t need;

    if (n > SIZE_MAX / 2)
        return NULL;
    need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (c->size - c->used < need) {
        /* Grow geometrically, so a large tree costs few chunks. */
        size_t size = c->size * 2 > need ? c->size * 2 : need;

        if (size < a->want)
            size = a->want;
        a->want = 0;
        c = chunk_new(size);
        if (c == NULL)
            return NULL;
        c->next = a->head;
        a->head = c;
    }
    c->used += need;
    return (char *)c + CHUNK_HEAD + c->used - need;
}


char *cq__arena_strndup(cq__arena *a, const char *s, size_t n)
{
    char *d = cq__arena_alloc(a, n + 1);

    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}
