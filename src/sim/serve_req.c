/*
 * serve_req: decides the answer to one API request, in the order of
 * PROTOCOL.md section 3: method (405), access token (401, 403), body
 * (406, 400), action (404), then what the call core (call.c) answers: an
 * injected fault, the _async suffix, the parameter checks (retcode 100) and
 * the plausible data, mapped here onto HTTP.
 *
 * Parameters merge as CQHTTP 4.x merges them: the JSON body, then the form
 * body, then the query string; a later source wins and a key keeps its first
 * position. The merge is written as JSON and parsed back, so that the call
 * holds one tree it owns.
 */
#include "config.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "cqhttp.h"
#include "lib/actions.h"
#include "lib/auth.h"
#include "sim/serve.h"

#define MAX_PARAMS 256
#define JSON_TYPE  "application/json; charset=UTF-8"

/* The request's parameter sources, freed together. */
typedef struct parts {
    yajl_val body;      /* The JSON body, or NULL. */
    yajl_val from_body; /* The object of parameters in it, or NULL. */
    struct evkeyvalq form;
    struct evkeyvalq query;
    int have_form, have_query;
} parts;

typedef struct param_ref {
    const char *key;
    yajl_val json;   /* From the JSON body, or NULL ... */
    const char *str; /* ... from a form or the query. */
} param_ref;

/*
 * Stores the reason and the status of a rejection. Returns CQ_EINVAL, so
 * that the steps of cq__sim_evaluate() stop at the first that answered.
 */
__attribute__((format(printf, 3, 4))) static int
reject(cq__sim_hcall *c, int http_status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->call.error, sizeof(c->call.error), fmt, ap);
    va_end(ap);
    c->call.http_status = http_status;
    return CQ_EINVAL;
}

/*
 * Replaces every byte that does not belong to a valid UTF-8 sequence with
 * '?', so that anything a client sent can be written to the JSON log.
 */
static void fix_utf8(char *s)
{
    unsigned char *p = (unsigned char *)s;

    while (*p != '\0') {
        size_t n = *p < 0x80         ? 1
                   : (*p >> 5) == 6  ? 2
                   : (*p >> 4) == 14 ? 3
                   : (*p >> 3) == 30 ? 4
                                     : 0;
        size_t i;

        for (i = 1; i < n; i++)
            if ((p[i] & 0xc0) != 0x80)
                n = 0;
        if (n == 0 || (n == 2 && *p < 0xc2) ||
            (n == 3 && *p == 0xe0 && p[1] < 0xa0) ||
            (n == 3 && *p == 0xed && p[1] >= 0xa0) ||
            (n == 4 && ((*p == 0xf0 && p[1] < 0x90) || *p > 0xf4 ||
                        (*p == 0xf4 && p[1] >= 0x90)))) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

static char *dup_fixed(const char *s, size_t max)
{
    size_t n = strnlen(s, max);
    char *d = malloc(n + 1);

    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    fix_utf8(d);
    return d;
}

static int check_method(cq__sim_hcall *c)
{
    enum evhttp_cmd_type cmd = evhttp_request_get_command(c->req);

    if (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_POST)
        return CQ_OK;
    c->allow = "GET, POST";
    return reject(c, 405, "method %s not allowed", c->call.method);
}

static int check_auth(cq__sim_hcall *c, const char *query)
{
    const char *hdr = evhttp_find_header(
        evhttp_request_get_input_headers(c->req), "Authorization");
    const char *tok = NULL;
    size_t len = 0;
    int rc = cq__auth_offered_token(hdr, query, &tok, &len);
    char shown[512];

    if (hdr != NULL) {
        c->auth = dup_fixed(hdr, 400);
    } else if (rc == CQ_OK) {
        snprintf(shown, sizeof(shown), "access_token=%.*s",
                 (int)(len < 400 ? len : 400), tok);
        c->auth = dup_fixed(shown, sizeof(shown));
    }
    c->call.auth = c->auth;
    if (c->srv->token == NULL)
        return CQ_OK;
    if (rc == CQ_EAUTHMISSING)
        return reject(c, 401, "no access token offered");
    if (rc != CQ_OK)
        return reject(c, 403, "Authorization is not \"Bearer|Token <token>\"");
    if (cq__auth_token_equal(c->srv->token, tok, len) != CQ_OK)
        return reject(c, 403, "wrong access token");
    return CQ_OK;
}

enum media { MEDIA_NONE, MEDIA_JSON, MEDIA_FORM, MEDIA_OTHER };

/* The media type of a Content-Type value, parameters ignored. */
static enum media media_type(const char *ct)
{
    size_t n;

    if (ct == NULL)
        return MEDIA_NONE;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if (n == 0)
        return MEDIA_NONE;
    if (n == 16 && strncasecmp(ct, "application/json", n) == 0)
        return MEDIA_JSON;
    if (n == 33 && strncasecmp(ct, "application/x-www-form-urlencoded", n) == 0)
        return MEDIA_FORM;
    return MEDIA_OTHER;
}

static int read_body(cq__sim_hcall *c, parts *p)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(c->req);
    size_t len = evbuffer_get_length(in);
    const char *ct = evhttp_find_header(
        evhttp_request_get_input_headers(c->req), "Content-Type");
    enum media m = media_type(ct);
    char *text;
    int rc;

    if (m == MEDIA_OTHER) {
        /* A GET's body means nothing; a POST's must be one of the two. */
        if (evhttp_request_get_command(c->req) != EVHTTP_REQ_POST)
            return CQ_OK;
        return reject(c, 406, "Content-Type is neither JSON nor a form");
    }
    if (len == 0 || m == MEDIA_NONE)
        return CQ_OK;
    text = malloc(len + 1);
    if (text == NULL)
        return reject(c, 500, "out of memory");
    evbuffer_copyout(in, text, len);
    text[len] = '\0';
    if (memchr(text, '\0', len) != NULL) {
        free(text);
        return reject(c, 400, "the body holds a NUL byte");
    }
    if (m == MEDIA_JSON) {
        rc = cq__json_parse(&p->body, text, len, c->srv->max_depth);
        free(text);
        if (rc != CQ_OK)
            return reject(c, 400, "the body is not JSON: %s", cq_strerror(rc));
        if (p->body->type != yajl_t_object)
            return reject(c, 400, "the JSON body is not an object");
        return CQ_OK;
    }
    p->have_form = 1;
    rc = evhttp_parse_query_str(text, &p->form);
    free(text);
    if (rc != 0)
        return reject(c, 400, "the form body is not key=value pairs");
    return CQ_OK;
}

static int read_query(cq__sim_hcall *c, const char *query, parts *p)
{
    if (query == NULL || query[0] == '\0')
        return CQ_OK;
    p->have_query = 1;
    if (evhttp_parse_query_str(query, &p->query) != 0)
        return reject(c, 400, "the query string is not key=value pairs");
    return CQ_OK;
}

static int is_root(const char *path)
{
    return path == NULL || path[0] == '\0' || strcmp(path, "/") == 0;
}

/*
 * Reads the action named by the path, /<action> or /<action>/, before any
 * check, so that even a rejected call's log line names it.
 */
static void path_action(cq__sim_hcall *c, const char *path)
{
    char *name;
    size_t n;

    if (is_root(path))
        return;
    name = evhttp_uridecode(path + 1, 0, NULL);
    if (name == NULL)
        return;
    n = strlen(name);
    if (n > 0 && name[n - 1] == '/')
        name[n - 1] = '\0';
    c->call.action = dup_fixed(name, CQ__SIM_ACTION_MAX);
    free(name);
}

/* Checks the action of the path, or takes POST / {"action", "params"}. */
static int route(cq__sim_hcall *c, const char *path, parts *p)
{
    yajl_val action, params;
    size_t n;

    if (!is_root(path)) {
        p->from_body = p->body;
        if (c->call.action == NULL)
            return reject(c, 500, "out of memory");
        n = strlen(c->call.action);
        if (n == 0 || n >= CQ__SIM_ACTION_MAX ||
            strchr(c->call.action, '/') != NULL)
            return reject(c, 404, "no such path");
        return CQ_OK;
    }
    action = cq__json_get(p->body, "action");
    params = cq__json_get(p->body, "params");
    if (YAJL_IS_STRING(action))
        c->call.action = dup_fixed(action->u.string, CQ__SIM_ACTION_MAX);
    if (c->call.action == NULL)
        return reject(c, 404,
                      "no action: use /<action> or POST / "
                      "with {\"action\": ...}");
    if (params != NULL && !YAJL_IS_OBJECT(params) && !YAJL_IS_NULL(params))
        return reject(c, 400, "\"params\" is not an object");
    p->from_body = YAJL_IS_OBJECT(params) ? params : NULL;
    return CQ_OK;
}

/* Appends the pairs of q to refs, skipping skip (may be NULL). */
static int add_pairs(param_ref *refs, size_t *n, struct evkeyvalq *q,
                     const char *skip)
{
    struct evkeyval *kv;

    for (kv = q->tqh_first; kv != NULL; kv = kv->next.tqe_next) {
        if (skip != NULL && strcmp(kv->key, skip) == 0)
            continue;
        if (*n >= MAX_PARAMS)
            return CQ_ETOOBIG;
        refs[*n].key = kv->key;
        refs[*n].json = NULL;
        refs[(*n)++].str = kv->value;
    }
    return CQ_OK;
}

/* Writes the merged object: first position, last value of each key. */
static void write_merged(cq__jw *w, const param_ref *refs, size_t n)
{
    size_t i, j, last;

    cq__jw_open(w);
    for (i = 0; i < n; i++) {
        for (j = 0; j < i && strcmp(refs[j].key, refs[i].key) != 0; j++)
            ;
        if (j < i)
            continue; /* Written at its first position. */
        for (last = i, j = i + 1; j < n; j++)
            if (strcmp(refs[j].key, refs[i].key) == 0)
                last = j;
        cq__jw_key(w, refs[i].key);
        if (refs[last].json != NULL)
            cq__jw_value(w, refs[last].json);
        else
            cq__jw_str(w, refs[last].str);
    }
    cq__jw_close(w);
}

static int merge(cq__sim_hcall *c, parts *p)
{
    param_ref *refs = calloc(MAX_PARAMS, sizeof(*refs));
    size_t n = 0, i, len = 0;
    int rc = refs != NULL ? CQ_OK : CQ_ENOMEM;
    cq__jw w;
    char *text = NULL;

    for (i = 0; rc == CQ_OK && p->from_body && i < p->from_body->u.object.len;
         i++) {
        if (n >= MAX_PARAMS) {
            rc = CQ_ETOOBIG;
            break;
        }
        refs[n].key = p->from_body->u.object.keys[i];
        refs[n++].json = p->from_body->u.object.values[i];
    }
    if (rc == CQ_OK && p->have_form)
        rc = add_pairs(refs, &n, &p->form, NULL);
    if (rc == CQ_OK && p->have_query)
        rc = add_pairs(refs, &n, &p->query, "access_token");
    if (rc == CQ_OK && (rc = cq__jw_init(&w)) == CQ_OK) {
        write_merged(&w, refs, n);
        text = cq__jw_dup(&w, &len);
        rc = text != NULL ? CQ_OK : w.err != CQ_OK ? w.err : CQ_ENOMEM;
        cq__jw_free(&w);
    }
    free(refs);
    if (rc == CQ_OK)
        rc = cq__json_parse(&c->params, text, len, c->srv->max_depth + 1);
    c->call.params = c->params;
    free(text);
    if (rc == CQ_ETOOBIG)
        return reject(c, 400, "more than %d parameters", MAX_PARAMS);
    if (rc == CQ_EINVAL)
        return reject(c, 400, "a parameter is not valid UTF-8");
    if (rc != CQ_OK)
        return reject(c, 500, "cannot merge the parameters: %s",
                      cq_strerror(rc));
    return CQ_OK;
}

/* Maps the call core's answer onto HTTP. */
static void dispatch(cq__sim_hcall *c)
{
    int rc = cq__sim_call_eval(&c->srv->core, &c->call);
    enum cq__sim_fault_kind kind =
        c->call.fault != NULL ? c->call.fault->kind : CQ__SIM_FAULT_SLOW;

    if (rc == CQ_ENOENT) {
        c->call.http_status = 404;
    } else if (rc != CQ_OK) {
        c->call.http_status = 500;
    } else if (kind == CQ__SIM_FAULT_HTTP) {
        c->call.http_status = (int)c->call.fault->arg;
    } else if (kind != CQ__SIM_FAULT_CLOSE && kind != CQ__SIM_FAULT_PARTIAL) {
        /* Close and partial answer nothing: serve_call.c closes. */
        c->call.http_status = 200;
        c->content_type = JSON_TYPE;
    }
}


void cq__sim_evaluate(cq__sim_hcall *c)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(c->req);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    const char *query = uri != NULL ? evhttp_uri_get_query(uri) : NULL;
    parts p;

    memset(&p, 0, sizeof(p));
    path_action(c, path);
    if (check_method(c) == CQ_OK && check_auth(c, query) == CQ_OK &&
        read_body(c, &p) == CQ_OK && read_query(c, query, &p) == CQ_OK &&
        route(c, path, &p) == CQ_OK && merge(c, &p) == CQ_OK)
        dispatch(c);
    if (p.body != NULL)
        yajl_tree_free(p.body);
    if (p.have_form)
        evhttp_clear_headers(&p.form);
    if (p.have_query)
        evhttp_clear_headers(&p.query);
}
