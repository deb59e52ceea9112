/*
 * The parameters of an HTTP API call (PROTOCOL.md section 3.1): a JSON
 * body's members, a form body's and the query's fields, merged into the
 * params object sent over the account's WebSocket. Query and form values
 * are strings; they become numbers or booleans where the action's table
 * (actions.tbl) declares so. Reentrant, no I/O.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/bridge.h"
#include "bridge/http.h"
#include "lib/actions.h"
#include "lib/json.h"

/* The parameters of one request that come from a query or a form. */
#define HTTP_MAX_PAIRS 128

/* One decoded query or form parameter. */
typedef struct pair {
    char *key, *val;
} pair;

typedef struct pairs {
    pair v[HTTP_MAX_PAIRS];
    size_t n;
} pairs;


static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}


/* Decodes s[0..n) (percent escapes, '+' as space) into a new string. */
static char *url_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    size_t i;

    if (out == NULL)
        return NULL;
    for (i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
            hexval(s[i + 2]) >= 0) {
            *o++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else {
            *o++ = s[i] == '+' ? ' ' : s[i];
        }
    }
    *o = '\0';
    return out;
}


/*
 * Appends the "k=v&..." pairs of s[0..n) to ps, decoded. Returns CQ_OK,
 * CQ_ETOOBIG (more than HTTP_MAX_PAIRS) or CQ_ENOMEM.
 */
static int split_pairs(pairs *ps, const char *s, size_t n)
{
    const char *end = s + n;

    while (s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *stop = amp != NULL ? amp : end;
        const char *eq = memchr(s, '=', (size_t)(stop - s));
        pair *p = &ps->v[ps->n];

        if (stop > s) {
            if (ps->n == HTTP_MAX_PAIRS)
                return CQ_ETOOBIG;
            p->key = url_decode(s, (size_t)((eq != NULL ? eq : stop) - s));
            p->val = eq != NULL ? url_decode(eq + 1, (size_t)(stop - eq - 1))
                                : url_decode("", 0);
            ps->n++;
            if (p->key == NULL || p->val == NULL)
                return CQ_ENOMEM;
        }
        s = stop + (amp != NULL);
    }
    return CQ_OK;
}


static void pairs_free(pairs *ps)
{
    size_t i;

    for (i = 0; i < ps->n; i++) {
        free(ps->v[i].key);
        free(ps->v[i].val);
    }
    ps->n = 0;
}


/* Whether a later pair than i has the same key: the later one wins. */
static int overridden(const pairs *ps, size_t i)
{
    size_t j;

    for (j = i + 1; j < ps->n; j++)
        if (strcmp(ps->v[j].key, ps->v[i].key) == 0)
            return 1;
    return 0;
}


static int in_pairs(const pairs *ps, const char *k)
{
    size_t i;

    for (i = 0; i < ps->n; i++)
        if (strcmp(ps->v[i].key, k) == 0)
            return 1;
    return 0;
}


/* Members that choose the account or carry the token stay here. */
static int ours(const char *k)
{
    return strcmp(k, "access_token") == 0 || strcmp(k, "self_id") == 0 ||
           strcmp(k, "echo") == 0;
}


/*
 * Writes a query or form value as the action's table declares the
 * parameter (PROTOCOL.md 3.1: strings are converted to the declared type):
 * integers and booleans when they read as such, else the string.
 */
static void write_typed(cq__jw *w, const cq__action *a, const pair *p)
{
    size_t i;
    char *end;
    long long v;

    for (i = 0; a != NULL && i < a->nparams; i++) {
        if (strcmp(a->params[i].name, p->key) != 0)
            continue;
        if (a->params[i].kind == CQ__P_I64 && p->val[0] != '\0') {
            v = strtoll(p->val, &end, 10);
            if (*end == '\0') {
                cq__jw_int(w, (int64_t)v);
                return;
            }
        }
        if (a->params[i].kind == CQ__P_BOOL &&
            (strcmp(p->val, "true") == 0 || strcmp(p->val, "false") == 0)) {
            cq__jw_bool(w, p->val[0] == 't');
            return;
        }
    }
    cq__jw_str(w, p->val);
}


/*
 * Notes the request's own members: self_id (when X-Self-ID did not give
 * one) and echo, as JSON text. Returns CQ_OK or CQ_EINVAL (a self_id that
 * is not a positive integer).
 */
static int take_ours(int64_t *self_id, char **echo, const char *k,
                     const cq_value *v, const char *text)
{
    int64_t id = 0;

    if (strcmp(k, "self_id") == 0 && *self_id == 0) {
        if (v != NULL ? cq_value_int(v, &id) != CQ_OK
                      : sscanf(text, "%" SCNd64, &id) != 1)
            return CQ_EINVAL;
        if (id <= 0)
            return CQ_EINVAL;
        *self_id = id;
    } else if (strcmp(k, "echo") == 0) {
        free(*echo);
        if (v != NULL) {
            *echo = cq_value_to_json(v);
        } else {
            cq__jw w;

            cq__jw_init(&w);
            cq__jw_str(&w, text);
            *echo = cq__jw_dup(&w, NULL);
            cq__jw_free(&w);
        }
    }
    return CQ_OK;
}


/* The params object from the JSON body, then the pairs (see http.h). */
static int write_params(const char *action, yajl_val body, const pairs *ps,
                        int64_t *self_id, char **echo, yajl_val *out)
{
    const cq__action *a = cq__action_find(action);
    cq__jw w;
    size_t i, len;
    char *text;
    int rc = CQ_OK;

    cq__jw_init(&w);
    cq__jw_open(&w);
    for (i = 0; body != NULL && i < body->u.object.len && rc == CQ_OK; i++) {
        const char *k = body->u.object.keys[i];

        if (in_pairs(ps, k))
            continue;
        if (ours(k)) {
            rc = take_ours(self_id, echo, k, cq__cv(body->u.object.values[i]),
                           NULL);
        } else {
            cq__jw_key(&w, k);
            cq__jw_value(&w, body->u.object.values[i]);
        }
    }
    for (i = 0; i < ps->n && rc == CQ_OK; i++) {
        if (overridden(ps, i))
            continue;
        if (ours(ps->v[i].key)) {
            rc = take_ours(self_id, echo, ps->v[i].key, NULL, ps->v[i].val);
        } else {
            cq__jw_key(&w, ps->v[i].key);
            write_typed(&w, a, &ps->v[i]);
        }
    }
    cq__jw_close(&w);
    text = cq__jw_dup(&w, &len);
    cq__jw_free(&w);
    if (rc == CQ_OK)
        rc = text == NULL ? CQ_ENOMEM
                          : cq__json_parse(out, text, len, CQ__IPC_MAX_DEPTH);
    free(text);
    return rc;
}


int cq__http_params(const char *action, yajl_val body, const char *form,
                    size_t form_len, const char *query, int64_t *self_id,
                    char **echo, yajl_val *out)
{
    pairs *ps = calloc(1, sizeof(*ps));
    int rc = ps == NULL ? CQ_ENOMEM : CQ_OK;

    *out = NULL;
    if (rc == CQ_OK && form != NULL)
        rc = split_pairs(ps, form, form_len);
    if (rc == CQ_OK && query != NULL)
        rc = split_pairs(ps, query, strlen(query));
    if (rc == CQ_OK)
        rc = write_params(action, body, ps, self_id, echo, out);
    if (ps != NULL)
        pairs_free(ps);
    free(ps);
    return rc;
}
