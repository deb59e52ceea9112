/*
 * The API socket's lines, apart from the socket (ipc.c): a request line
 * read into what the call needs, and an answer written as one line. The
 * usual request and answer are handled on their text, scanned once
 * (cq__json_scan_object) and copied, without a tree: the request's params
 * and id, and an answer's members, go on as they were written. Anything
 * odd takes the old way through a yajl tree, with yajl's verdict. Any
 * thread; no state.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "bridge/bridge.h"
#include "lib/json.h"

/*
 * Checks one request line (len bytes, NUL-terminated at line[len]), without
 * I/O: one JSON object with a string "action" of [A-Za-z0-9_.], "params" an
 * object or absent, "self_id" a positive integer or absent. Stores the tree
 * in *req (NULL when the line is not JSON; free it with yajl_tree_free),
 * views into it in *action and *params, the account in *self_id (0 when
 * absent) and the request's "id" as new JSON text in *id (NULL when absent
 * or out of memory; the caller frees it, also on error). Returns CQ_OK, or:
 *
 * CQ_EPARSE   the line is not one JSON object.
 * CQ_EINVAL   a member is missing or of the wrong kind.
 */
int cq__ipc_parse(const char *line, size_t len, yajl_val *req,
                  const char **action, yajl_val *params, int64_t *self_id,
                  char **id)
{
    yajl_val idv;

    *req = NULL;
    *id = NULL;
    *self_id = 0;
    if (cq__json_parse(req, line, len, CQ__IPC_MAX_DEPTH) != CQ_OK ||
        !YAJL_IS_OBJECT(*req))
        return CQ_EPARSE;
    idv = cq__json_get(*req, "id");
    *id = idv != NULL ? cq_value_to_json(cq__cv(idv)) : NULL;
    *action = YAJL_GET_STRING(cq__json_get(*req, "action"));
    *params = cq__json_get(*req, "params");
    if (*action == NULL || (*action)[0] == '\0' ||
        strspn(*action, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789_.") != strlen(*action) ||
        (*params != NULL && !YAJL_IS_OBJECT(*params)) ||
        (cq__json_get(*req, "self_id") != NULL &&
         (cq_value_int(cq_value_get(cq__cv(*req), "self_id"), self_id) !=
              CQ_OK ||
          *self_id <= 0)))
        return CQ_EINVAL;
    return CQ_OK;
}


static int is_action_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '.';
}


/*
 * Is the span an id that yajl would write back byte for byte: an integer
 * of up to 18 digits (no "-0"), or a string without escapes (the scanner
 * checked its UTF-8)? Any other id is written by yajl, as it always was.
 */
static int plain_id(const cq__json_span *s)
{
    size_t i = s->p[0] == '-';

    if (s->p[0] == '"')
        return memchr(s->p, '\\', s->len) == NULL;
    if (s->len - i == 0 || s->len - i > 18 || (i == 1 && s->p[1] == '0'))
        return 0;
    for (; i < s->len; i++)
        if (s->p[i] < '0' || s->p[i] > '9')
            return 0;
    return 1;
}


/* The members of a plain request from its scan; 0 when it is not plain. */
static int read_plain(cq__ipc_req *r, const cq__json_span *sp)
{
    const cq__json_span *a = &sp[0], *s = &sp[2];
    size_t i, n;

    if (a->p == NULL || a->p[0] != '"' || a->len < 3 ||
        a->len - 2 >= sizeof(r->abuf))
        return 0;
    for (i = 1; i + 1 < a->len; i++)
        if (!is_action_byte((unsigned char)a->p[i]))
            return 0;
    if (sp[1].p != NULL && sp[1].p[0] != '{')
        return 0;
    if (s->p != NULL) {
        if (s->len > 18 || s->p[0] < '1' || s->p[0] > '9')
            return 0;
        for (i = 0; i < s->len; i++) {
            if (s->p[i] < '0' || s->p[i] > '9')
                return 0;
            r->self_id = r->self_id * 10 + (s->p[i] - '0');
        }
    }
    if (sp[3].p != NULL && !plain_id(&sp[3]))
        return 0;
    n = a->len - 2;
    memcpy(r->abuf, a->p + 1, n);
    r->abuf[n] = '\0';
    r->action = r->abuf;
    r->params = sp[1].p != NULL ? sp[1].p : "{}";
    r->plen = sp[1].p != NULL ? sp[1].len : 2;
    r->id = sp[3].p;
    r->idlen = sp[3].len;
    return 1;
}


int cq__ipc_read(cq__ipc_req *r, const char *line, size_t len)
{
    static const cq__json_key keys[] = {
        CQ__JSON_KEY("action"), CQ__JSON_KEY("params"), CQ__JSON_KEY("self_id"),
        CQ__JSON_KEY("id")};
    cq__json_span sp[4];
    yajl_val params;
    int rc;

    memset(r, 0, sizeof(*r));
    if (cq__json_scan_object(line, len, CQ__IPC_MAX_DEPTH, 0, keys, 4, sp) ==
            CQ_OK &&
        read_plain(r, sp))
        return CQ_OK;
    r->self_id = 0;
    rc = cq__ipc_parse(line, len, &r->tree, &r->action, &params, &r->self_id,
                       &r->id_own);
    r->id = r->id_own;
    r->idlen = r->id_own != NULL ? strlen(r->id_own) : 0;
    if (rc != CQ_OK)
        return rc;
    if (params == NULL) {
        r->params = "{}";
        r->plen = 2;
        return CQ_OK;
    }
    r->params_own = cq_value_to_json(cq__cv(params));
    if (r->params_own == NULL)
        return CQ_ENOMEM;
    r->params = r->params_own;
    r->plen = strlen(r->params_own);
    return CQ_OK;
}


void cq__ipc_req_free(cq__ipc_req *r)
{
    yajl_tree_free(r->tree);
    free(r->params_own);
    free(r->id_own);
    memset(r, 0, sizeof(*r));
}


int cq__ipc_write_jw(struct evbuffer *out, cq__jw *w, const char *id,
                     size_t idlen)
{
    char *line;
    size_t len;

    if (id != NULL && w->err == CQ_OK) {
        /* The parser wants a NUL after the text; id may be inside a line. */
        char *text = cq__bridge_concat(&id, &idlen, 1, &len);
        yajl_val idv = NULL;

        w->err = text == NULL
                     ? CQ_ENOMEM
                     : cq__json_parse(&idv, text, len, CQ__IPC_MAX_DEPTH);
        cq__jw_key(w, "id");
        cq__jw_value(w, idv);
        yajl_tree_free(idv);
        free(text);
    }
    cq__jw_close(w);
    line = cq__jw_dup(w, &len);
    cq__jw_free(w);
    if (line == NULL)
        return w->err != CQ_OK ? w->err : CQ_ENOMEM;
    evbuffer_add(out, line, len);
    evbuffer_add(out, "\n", 1);
    free(line);
    return CQ_OK;
}


void cq__ipc_write_error(struct evbuffer *out, int err, const char *msg,
                         const char *id, size_t idlen)
{
    /* Out of memory even for this: the one answer that needs no memory. */
    static const char oom[] = "{\"status\":\"failed\",\"retcode\":-1,"
                              "\"data\":null,\"bridge\":\"busy\","
                              "\"msg\":\"answer could not be written\""
                              "}\n";
    cq__jw w;

    cq__jw_init(&w);
    cq__jw_open(&w);
    cq__bridge_write_failure(&w, err, msg);
    if (cq__ipc_write_jw(out, &w, id, idlen) != CQ_OK)
        evbuffer_add(out, oom, sizeof(oom) - 1);
}


/* The answer re-written from its tree, without its echo and id. */
static int write_tree(struct evbuffer *out, const char *text, size_t len,
                      const char *id, size_t idlen)
{
    yajl_val v = NULL;
    cq__jw w;
    size_t i;
    int rc;

    if (cq__json_parse(&v, text, len, INT_MAX) != CQ_OK || !YAJL_IS_OBJECT(v)) {
        yajl_tree_free(v);
        return CQ_EPARSE;
    }
    cq__jw_init(&w);
    cq__jw_open(&w);
    for (i = 0; i < v->u.object.len; i++) {
        const char *k = v->u.object.keys[i];

        if (strcmp(k, "echo") == 0 || strcmp(k, "id") == 0)
            continue;
        cq__jw_key(&w, k);
        cq__jw_value(&w, v->u.object.values[i]);
    }
    rc = cq__ipc_write_jw(out, &w, id, idlen);
    yajl_tree_free(v);
    return rc;
}


/* Is c JSON whitespace? */
static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}


/*
 * How many times "echo" and "id", quotes included, occur in text: more
 * than the scan found at the top level means a duplicate key may be there
 * (or the word inside some value), which the tree handles as it always did.
 */
static size_t count_keys(const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    size_t n = 0;

    while ((p = memchr(p, '"', (size_t)(end - p))) != NULL) {
        p++;
        if (end - p >= 5 && memcmp(p, "echo\"", 5) == 0)
            n++;
        else if (end - p >= 3 && memcmp(p, "id\"", 3) == 0)
            n++;
    }
    return n;
}


/*
 * Where the member whose value starts at v begins: its key, of klen bytes
 * quotes included, before a colon. NULL when the bytes are not so.
 */
static const char *member_start(const char *text, const char *v,
                                const char *key, size_t klen)
{
    const char *q = v - 1;

    while (q > text && is_ws(*q))
        q--;
    if (q <= text || *q != ':')
        return NULL;
    q--;
    while (q > text && is_ws(*q))
        q--;
    if ((size_t)(q - text) + 1 < klen || memcmp(q + 1 - klen, key, klen) != 0)
        return NULL;
    return q + 1 - klen;
}


/* Copies [p, end) less its leading and trailing whitespace and commas. */
static char *put_members(char *o, const char *p, const char *end, int *any)
{
    while (p < end && (is_ws(*p) || *p == ','))
        p++;
    while (end > p && (is_ws(end[-1]) || end[-1] == ','))
        end--;
    if (p == end)
        return o;
    if (*any)
        *o++ = ',';
    *any = 1;
    memcpy(o, p, (size_t)(end - p));
    return o + (end - p);
}


/* Where "echo" and "id" are: from f's scan, or from one now. */
static int scan(const char *text, size_t len, const cq__frame *f,
                cq__json_span *sp)
{
    static const cq__json_key keys[] = {CQ__JSON_KEY("echo"),
                                        CQ__JSON_KEY("id")};

    if (f != NULL && f->scanned) {
        sp[0] = f->echo_at;
        sp[1] = f->id_at;
        return 1;
    }
    return cq__json_scan_object(text, len, INT_MAX, 0, keys, 2, sp) == CQ_OK;
}


/*
 * The answer as it came, less its top-level "echo" and "id" members, with
 * the request's id (idlen bytes of JSON text, or NULL) as "id", on one
 * line. CQ_EPARSE when the text is not plain enough for that (then nothing
 * was written), or CQ_ENOMEM.
 */
static int splice_answer(struct evbuffer *out, const char *text, size_t len,
                         const cq__frame *f, const char *id, size_t idlen)
{
    static const char *const quoted[] = {"\"echo\"", "\"id\""};
    const char *cut[4], *open = text, *close = text + len;
    struct evbuffer_iovec vec;
    cq__json_span sp[2];
    size_t i, n = 0;
    int any = 0;
    char *o;

    if (memchr(text, '\n', len) != NULL || memchr(text, '\r', len) != NULL ||
        !scan(text, len, f, sp) ||
        count_keys(text, len) !=
            (size_t)((sp[0].p != NULL) + (sp[1].p != NULL)))
        return CQ_EPARSE;
    for (i = 0; i < 2; i++) {
        if (sp[i].p == NULL)
            continue;
        cut[n] = member_start(text, sp[i].p, quoted[i], strlen(quoted[i]));
        if (cut[n] == NULL)
            return CQ_EPARSE;
        cut[n + 1] = sp[i].p + sp[i].len;
        n += 2;
    }
    if (n == 4 && cut[2] < cut[0]) {
        const char *a = cut[0], *b = cut[1];

        cut[0] = cut[2], cut[1] = cut[3], cut[2] = a, cut[3] = b;
    }
    while (is_ws(*open))
        open++;
    while (close > open && is_ws(close[-1]))
        close--;
    if (*open != '{' || close[-1] != '}')
        return CQ_EPARSE;
    if (evbuffer_reserve_space(out, len + idlen + 16, &vec, 1) < 1)
        return CQ_ENOMEM;
    o = vec.iov_base;
    *o++ = '{';
    for (i = 0; i <= n; i += 2)
        o = put_members(o, i == 0 ? open + 1 : cut[i - 1],
                        i == n ? close - 1 : cut[i], &any);
    if (id != NULL) {
        memcpy(o, any ? ",\"id\":" : "\"id\":", any ? 6 : 5);
        o += any ? 6 : 5;
        memcpy(o, id, idlen);
        o += idlen;
    }
    memcpy(o, "}\n", 2);
    vec.iov_len = (size_t)(o + 2 - (char *)vec.iov_base);
    return evbuffer_commit_space(out, &vec, 1) == 0 ? CQ_OK : CQ_ENOMEM;
}


int cq__ipc_write_answer(struct evbuffer *out, const char *text, size_t len,
                         const cq__frame *f, const char *id, size_t idlen)
{
    if (splice_answer(out, text, len, f, id, idlen) == CQ_OK)
        return CQ_OK;
    return write_tree(out, text, len, id, idlen);
}
