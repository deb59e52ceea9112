#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/conf.h"
#include "lib/settings.h"

extern char **environ;

static const cq__conf *published;
static void *userdata;

/* Stores a copy of name (len bytes, lowercased when lower) and value. */
static int put(cq__conf *c, const char *name, size_t len, int lower,
               const char *value)
{
    char *n = strndup(name, len), *v = strdup(value), **p;
    size_t i;

    if (n == NULL || v == NULL)
        goto nomem;
    for (i = 0; lower && n[i] != '\0'; i++)
        n[i] = (char)tolower((unsigned char)n[i]);
    for (i = 0; i < c->nbot; i++) {
        if (strcmp(c->bot[2 * i], n) == 0) {
            free(n);
            free(c->bot[2 * i + 1]);
            c->bot[2 * i + 1] = v;
            return 1;
        }
    }
    p = realloc(c->bot, (c->nbot + 1) * 2 * sizeof(char *));
    if (p == NULL)
        goto nomem;
    c->bot = p;
    p[2 * c->nbot] = n;
    p[2 * c->nbot + 1] = v;
    c->nbot++;
    return 1;
nomem:
    free(n);
    free(v);
    return CQ_ENOMEM;
}


int cq__settings_put(cq__conf *c, const char *key, const char *value)
{
    if (strncmp(key, "bot.", 4) == 0 && key[4] != '\0')
        return put(c, key + 4, strlen(key + 4), 0, value);
    if (strncmp(key, "CQHTTP_BOT_", 11) == 0 && key[11] != '\0')
        return put(c, key + 11, strlen(key + 11), 1, value);
    return 0;
}


int cq__settings_env(cq__conf *c)
{
    char **e;

    for (e = environ; e != NULL && *e != NULL; e++) {
        const char *eq = strchr(*e, '=');

        if (eq != NULL && strncmp(*e, "CQHTTP_BOT_", 11) == 0 && eq > *e + 11 &&
            put(c, *e + 11, (size_t)(eq - *e - 11), 1, eq + 1) < 0)
            return CQ_ENOMEM;
    }
    return CQ_OK;
}


void cq__settings_free(cq__conf *c)
{
    size_t i;

    for (i = 0; i < 2 * c->nbot; i++)
        free(c->bot[i]);
    free(c->bot);
    c->bot = NULL;
    c->nbot = 0;
}


int cq__settings_copy(cq__conf *dst, const cq__conf *src)
{
    size_t i;

    dst->bot = NULL;
    dst->nbot = 0;
    for (i = 0; i < src->nbot; i++) {
        const char *n = src->bot[2 * i];

        if (put(dst, n, strlen(n), 0, src->bot[2 * i + 1]) < 0) {
            cq__settings_free(dst);
            return CQ_ENOMEM;
        }
    }
    return CQ_OK;
}


void cq__settings_publish(const cq__conf *c)
{
    published = c;
}


const char *cq_setting(const char *name)
{
    size_t i;

    if (name == NULL || published == NULL)
        return NULL;
    if (strncmp(name, "bot.", 4) == 0)
        name += 4;
    for (i = 0; i < published->nbot; i++)
        if (strcmp(published->bot[2 * i], name) == 0)
            return published->bot[2 * i + 1];
    return NULL;
}


void cq_set_userdata(void *p)
{
    __atomic_store_n(&userdata, p, __ATOMIC_RELEASE);
}


void *cq_userdata(void)
{
    return __atomic_load_n(&userdata, __ATOMIC_ACQUIRE);
}
