#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/dispatch.h"
#include "lib/lifecycle.h"
#include "lib/settings.h"

typedef struct hook {
    cq_lifecycle_fn *fn;
    const char *fn_name, *file;
    int line;
    struct hook *next;
} hook;

/* Each list kept in its running order as hooks register. */
static hook *startup;  /* By source file, then line. */
static hook *shutdown; /* The reverse. */
static int started;

static int by_source(const hook *x, const hook *y)
{
    int c = strcmp(x->file, y->file);

    return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}


int cq_register_lifecycle(int when, cq_lifecycle_fn *fn, const char *fn_name,
                          const char *file, int line)
{
    hook *h, **p = when == CQ_STARTUP ? &startup : &shutdown;
    int sign = when == CQ_STARTUP ? 1 : -1;

    if (fn == NULL || (when != CQ_STARTUP && when != CQ_SHUTDOWN))
        return CQ_EINVAL;
    if ((h = malloc(sizeof(*h))) == NULL)
        return CQ_ENOMEM;
    h->fn = fn;
    h->fn_name = fn_name != NULL ? fn_name : "?";
    h->file = file != NULL ? file : "";
    h->line = line;
    while (*p != NULL && sign * by_source(*p, h) <= 0)
        p = &(*p)->next;
    h->next = *p;
    *p = h;
    return CQ_OK;
}


/* Runs one hook; logs and returns its failure. */
static int run_hook(const hook *h, const char *what)
{
    int rc = h->fn();

    if (rc < 0)
        cq_log(CQ_LOG_ERROR, "%s hook %s (%s:%d) failed: returned %d", what,
               h->fn_name, h->file, h->line, rc);
    return rc;
}


int cq__lifecycle_start(const cq__conf *conf, int *nhandlers)
{
    const hook *h;
    int n;

    cq__settings_publish(conf);
    n = cq__dispatch_prepare();
    if (nhandlers != NULL)
        *nhandlers = n;
    if (n < 0) {
        cq__settings_publish(NULL);
        return n == CQ_ENOMEM ? 1 : 2;
    }
    for (h = startup; h != NULL; h = h->next) {
        if (run_hook(h, "startup") < 0) {
            cq__settings_publish(NULL);
            return 1;
        }
    }
    started = 1;
    return -1;
}


void cq__lifecycle_stop(void)
{
    const hook *h;

    if (!started)
        return;
    started = 0;
    for (h = shutdown; h != NULL; h = h->next)
        run_hook(h, "shutdown");
    cq__settings_publish(NULL);
}


void cq__lifecycle_reset(void)
{
    hook **lists[] = {&startup, &shutdown};
    size_t i;

    for (i = 0; i < 2; i++) {
        while (*lists[i] != NULL) {
            hook *h = *lists[i];

            *lists[i] = h->next;
            free(h);
        }
    }
    started = 0;
}
