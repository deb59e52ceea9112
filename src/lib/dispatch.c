#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/ctx.h"
#include "lib/dispatch.h"

typedef struct entry {
    const cq_handler *h;
    char **names; /* Full names ("message.group"). */
    size_t nnames;
} entry;

static entry *table;
static size_t ntable, captable;
static int sorted;

static char *join(const char *prefix, const char *name)
{
    size_t a = prefix ? strlen(prefix) : 0, b = name ? strlen(name) : 0;
    char *s = malloc(a + b + 2);

    if (s == NULL)
        return NULL;
    if (a > 0 && b > 0)
        snprintf(s, a + b + 2, "%s.%s", prefix, name);
    else
        snprintf(s, a + b + 2, "%s", a > 0 ? prefix : name);
    return s;
}


int cq_register(const cq_handler *h)
{
    entry *e;
    size_t n = 0, i;

    if (h == NULL || h->fn == NULL || h->names == NULL)
        return CQ_EINVAL;
    while (h->names[n] != NULL)
        n++;
    if (n == 0 && h->prefix == NULL)
        return CQ_EINVAL;
    if (ntable == captable) {
        size_t ncap = captable ? captable * 2 : 16;
        entry *p = realloc(table, ncap * sizeof(*p));

        if (p == NULL)
            return CQ_ENOMEM;
        table = p;
        captable = ncap;
    }
    e = &table[ntable];
    e->h = h;
    e->nnames = n > 0 ? n : 1;
    e->names = calloc(e->nnames, sizeof(char *));
    if (e->names == NULL)
        return CQ_ENOMEM;
    for (i = 0; i < e->nnames; i++) {
        e->names[i] = join(h->prefix, n > 0 ? h->names[i] : NULL);
        if (e->names[i] == NULL) {
            while (i-- > 0)
                free(e->names[i]);
            free(e->names);
            return CQ_ENOMEM;
        }
    }
    ntable++;
    sorted = 0;
    return CQ_OK;
}


static int by_source(const void *a, const void *b)
{
    const cq_handler *x = ((const entry *)a)->h, *y = ((const entry *)b)->h;
    int c = strcmp(x->file ? x->file : "", y->file ? y->file : "");

    if (c != 0)
        return c;
    return (x->line > y->line) - (x->line < y->line);
}


int cq__dispatch_prepare(void)
{
    if (!sorted && ntable > 1)
        qsort(table, ntable, sizeof(*table), by_source);
    sorted = 1;
    return (int)ntable;
}


static int matches(const entry *e, const char *level, size_t len)
{
    size_t i;

    for (i = 0; i < e->nnames; i++)
        if (strlen(e->names[i]) == len && memcmp(e->names[i], level, len) == 0)
            return 1;
    return 0;
}


/* Does e match a more specific level than len (already run there)? */
static int ran_before(const entry *e, const char *name, size_t len)
{
    size_t full = strlen(name), l = full;

    while (l > len) {
        if (matches(e, name, l))
            return 1;
        while (l > 0 && name[l - 1] != '.')
            l--;
        if (l > 0)
            l--;
    }
    return 0;
}


int cq__dispatch(cq_ctx *c)
{
    const char *name = cq_event_name(c->event);
    size_t len = strlen(name), i;

    cq__dispatch_prepare();
    /* Levels from the full name down to post_type alone. */
    for (;;) {
        for (i = 0; i < ntable; i++) {
            int rc;

            if (!matches(&table[i], name, len) ||
                ran_before(&table[i], name, len))
                continue;
            c->handler = (int)i;
            rc = table[i].h->fn(c, c->event);
            c->handler = -1;
            if (rc < 0) {
                cq_log(CQ_LOG_ERROR,
                       "handler %s (%s:%d) failed on %s: "
                       "returned %d",
                       table[i].h->fn_name, table[i].h->file, table[i].h->line,
                       name, rc);
                return CQ_EHANDLER;
            }
        }
        while (len > 0 && name[len - 1] != '.')
            len--;
        if (len == 0)
            break;
        len--; /* Drop the dot. */
    }
    return CQ_OK;
}


void cq__dispatch_reset(void)
{
    size_t i, k;

    for (i = 0; i < ntable; i++) {
        for (k = 0; k < table[i].nnames; k++)
            free(table[i].names[k]);
        free(table[i].names);
    }
    free(table);
    table = NULL;
    ntable = captable = 0;
    sorted = 0;
}
