#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/command.h"
#include "lib/ctx.h"
#include "lib/dispatch.h"
#include "lib/names.h"

typedef struct entry {
    const cq_handler *h;
    char **names; /* Full names ("message.group"). */
    size_t nnames;
} entry;

static entry *table;
static size_t ntable, captable;
static int sorted;
static size_t ncommands; /* Entries with a command name. */
static int bad;          /* Registrations with a bad name, once checked. */
static char first_error[2048];

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


/* Is name a command's ("command.weather", or "command" for any)? */
static int is_command(const char *name)
{
    return strncmp(name, "command", 7) == 0 &&
           (name[7] == '\0' || name[7] == '.');
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
    for (i = 0; i < e->nnames && !is_command(e->names[i]); i++)
        ;
    ncommands += i < e->nnames;
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


/* Checks e's names (names.h): logs each problem; returns 1 when bad. */
static int check_entry(const entry *e)
{
    char err[sizeof(first_error) - 128];
    size_t i;
    int rc, wrong = 0;

    for (i = 0; i < e->nnames; i++) {
        rc = cq__names_check(e->names[i], err, sizeof(err));
        if (rc == 1)
            cq_log(CQ_LOG_WARN,
                   "handler %s (%s:%d): \"%s\" is no OneBot post type "
                   "(message, notice, request, meta_event)",
                   e->h->fn_name, e->h->file, e->h->line, e->names[i]);
        if (rc >= 0)
            continue;
        cq_log(CQ_LOG_ERROR, "handler %s (%s:%d): %s", e->h->fn_name,
               e->h->file, e->h->line, err);
        if (!bad && !wrong)
            snprintf(first_error, sizeof(first_error), "handler %s (%s:%d): %s",
                     e->h->fn_name, e->h->file, e->h->line, err);
        wrong = 1;
    }
    return wrong;
}


int cq__dispatch_prepare(void)
{
    size_t i;

    if (!sorted) {
        if (ntable > 1)
            qsort(table, ntable, sizeof(*table), by_source);
        bad = 0;
        first_error[0] = '\0';
        for (i = 0; i < ntable; i++)
            bad += check_entry(&table[i]);
    }
    sorted = 1;
    return bad > 0 ? CQ_EINVAL : (int)ntable;
}


const char *cq__dispatch_error(void)
{
    return first_error;
}


static int matches(const entry *e, const char *level, size_t len)
{
    size_t i;

    /* The first byte turns most names away before a strlen(). */
    for (i = 0; i < e->nnames; i++)
        if (e->names[i][0] == (len > 0 ? level[0] : '\0') &&
            strlen(e->names[i]) == len &&
            memcmp(e->names[i], level, len) == 0 && !is_command(e->names[i]))
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


/* Runs table[i] for c's event. CQ_OK or CQ_EHANDLER (logged). */
static int run(cq_ctx *c, size_t i, const char *name)
{
    int rc;

    c->handler = (int)i;
    rc = table[i].h->fn(c, c->event);
    c->handler = -1;
    if (rc < 0) {
        cq_log(CQ_LOG_ERROR, "handler %s (%s:%d) failed on %s: returned %d",
               table[i].h->fn_name, table[i].h->file, table[i].h->line, name,
               rc);
        return CQ_EHANDLER;
    }
    return CQ_OK;
}


/*
 * Does e take the command word (any command, when word is NULL: the
 * fallthrough)?
 */
static int takes_command(const entry *e, const char *word)
{
    size_t i;

    for (i = 0; i < e->nnames; i++)
        if (is_command(e->names[i]) &&
            (word == NULL
                 ? e->names[i][7] == '\0'
                 : e->names[i][7] == '.' && strcmp(e->names[i] + 8, word) == 0))
            return 1;
    return 0;
}


/*
 * Runs the handlers of the command of a message event, or else the
 * fallthrough ones. CQ_OK or CQ_EHANDLER.
 */
static int run_commands(cq_ctx *c, const char *name)
{
    const char *word = cq_command_name(c);
    size_t i;
    int took = 0, rc;

    if (word == NULL)
        return CQ_OK;
    for (i = 0; i < ntable; i++) {
        if (!takes_command(&table[i], word))
            continue;
        took = 1;
        if ((rc = run(c, i, name)) != CQ_OK)
            return rc;
    }
    for (i = 0; i < ntable && !took; i++)
        if (takes_command(&table[i], NULL) && (rc = run(c, i, name)) != CQ_OK)
            return rc;
    return CQ_OK;
}


int cq__dispatch(cq_ctx *c)
{
    const char *name = cq_event_name(c->event);
    size_t len = strlen(name), i;

    cq__dispatch_prepare();
    if (ncommands > 0 && run_commands(c, name) != CQ_OK)
        return CQ_EHANDLER;
    /* Levels from the full name down to post_type alone. */
    for (;;) {
        for (i = 0; i < ntable; i++) {
            if (!matches(&table[i], name, len) ||
                ran_before(&table[i], name, len))
                continue;
            if (run(c, i, name) != CQ_OK)
                return CQ_EHANDLER;
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
    ntable = captable = ncommands = 0;
    sorted = 0;
    bad = 0;
    first_error[0] = '\0';
}
