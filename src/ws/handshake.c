/*
 * handshake: parser, policy and answers of the WebSocket opening handshake.
 * The contract and the policy are in handshake.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "cqhttp.h"
#include "lib/net.h"
#include "ws/handshake.h"
#include "ws/sha1.h"
#include "lib/auth.h"

/* The longest Sec-WebSocket-Key cq__ws_accept_key() hashes. */
#define KEY_MAX 64

/* The longest part of a verdict's reason that goes into an answer body. */
#define REASON_MAX 200

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/* RFC 9110 tchar: the characters of methods and header names. */
static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
        (c >= 'a' && c <= 'z'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* ASCII only, whatever the locale. */
static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Whether s[0..n) equals the lowercase literal lit, ignoring ASCII case. */
static int span_ieq(const char *s, size_t n, const char *lit)
{
    size_t i;

    if (s == NULL || strlen(lit) != n)
        return 0;
    for (i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != (unsigned char)lit[i])
            return 0;
    return 1;
}

/* Whether s[0..n) equals lit exactly. */
static int span_eq(const char *s, size_t n, const char *lit)
{
    return s != NULL && strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* Visible ASCII: the characters of a request target. */
static int is_vchar(unsigned char c)
{
    return c > 0x20 && c < 0x7f;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Finds the CRLF that ends the line starting at p, checking every byte on
 * the way. Stores the position of its CR in *eol. Returns CQ_OK, CQ_EAGAIN
 * (no line end before end) or CQ_EPARSE (a control character other than HT,
 * a bare LF, or a CR not followed by LF).
 */
static int find_eol(const char *p, const char *end, const char **eol)
{
    for (; p < end; p++) {
        unsigned char c = (unsigned char)*p;

        if (c == '\r') {
            if (p + 1 == end)
                return CQ_EAGAIN;
            if (p[1] != '\n')
                return CQ_EPARSE;
            *eol = p;
            return CQ_OK;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return CQ_EPARSE;
    }
    return CQ_EAGAIN;
}

/*
 * Parses "METHOD SP target SP HTTP/1.x" in [p, eol). Returns CQ_OK or
 * CQ_EPARSE.
 */
static int parse_request_line(const char *p, const char *eol,
                              cq__ws_request *req)
{
    const char *q = p, *target, *mark;

    while (q < eol && is_tchar((unsigned char)*q))
        q++;
    if (q == p || q == eol || *q != ' ')
        return CQ_EPARSE;
    req->method = p;
    req->method_len = (size_t)(q - p);
    target = ++q;
    while (q < eol && is_vchar((unsigned char)*q))
        q++;
    if (q == target || q == eol || *q != ' ')
        return CQ_EPARSE;
    req->path = target;
    req->path_len = (size_t)(q - target);
    mark = memchr(target, '?', req->path_len);
    if (mark != NULL) {
        req->path_len = (size_t)(mark - target);
        req->query = mark + 1;
        req->query_len = (size_t)(q - mark - 1);
    }
    q++;
    if (eol - q != 8 || memcmp(q, "HTTP/1.", 7) != 0 || q[7] < '0' ||
        q[7] > '9')
        return CQ_EPARSE;
    req->minor_version = q[7] - '0';
    return CQ_OK;
}

/* Keeps the value of a header that matters, if it is the first of its name. */
static void record_header(cq__ws_request *req, const char *name,
                          size_t name_len, const char *val, size_t val_len)
{
#define HDR(lit, field)                                                        \
    {                                                                          \
        lit, sizeof(lit) - 1, &req->field, &req->field##_len                   \
    }
    const struct {
        const char *name;
        size_t name_len;
        const char **val;
        size_t *len;
    } t[] = {
        HDR("upgrade", upgrade),
        HDR("connection", connection),
        HDR("sec-websocket-key", ws_key),
        HDR("sec-websocket-version", ws_version),
        HDR("authorization", authorization),
        HDR("x-self-id", self_id),
        HDR("x-client-role", role),
        HDR("host", host),
        HDR("content-length", content_length),
        HDR("content-type", content_type),
        HDR("transfer-encoding", transfer_encoding),
    };
#undef HDR
    size_t i;

    /* Lengths first: the parser runs on every read, over every line. */
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (t[i].name_len == name_len && span_ieq(name, name_len, t[i].name)) {
            if (*t[i].val == NULL) {
                *t[i].val = val;
                *t[i].len = val_len;
            }
            return;
        }
    }
}

/*
 * Parses "name: value" in [p, eol), the value trimmed of SP and HT. Returns
 * CQ_OK or CQ_EPARSE (no name, no ':' right after it, or a folded line).
 */
static int parse_header_line(const char *p, const char *eol,
                             cq__ws_request *req)
{
    const char *q = p, *val, *val_end;

    while (q < eol && is_tchar((unsigned char)*q))
        q++;
    if (q == p || q == eol || *q != ':')
        return CQ_EPARSE;
    val = q + 1;
    while (val < eol && is_ows(*val))
        val++;
    val_end = eol;
    while (val_end > val && is_ows(val_end[-1]))
        val_end--;
    record_header(req, p, (size_t)(q - p), val, (size_t)(val_end - val));
    return CQ_OK;
}

int cq__ws_parse_request(const char *buf, size_t len, cq__ws_request *req)
{
    const char *p = buf, *end, *eol = NULL;
    int rc;

    memset(req, 0, sizeof(*req));
    if (len == 0)
        return CQ_EAGAIN;
    /* A head that fits ends within the cap: never look further. */
    end = buf + (len < CQ__WS_MAX_HEAD ? len : CQ__WS_MAX_HEAD);
    for (;;) {
        rc = find_eol(p, end, &eol);
        if (rc == CQ_EAGAIN)
            return len >= CQ__WS_MAX_HEAD ? CQ_ETOOBIG : CQ_EAGAIN;
        if (rc != CQ_OK)
            return rc;
        if (eol == p) {
            if (p == buf)
                return CQ_EPARSE;
            req->head_len = (size_t)(eol + 2 - buf);
            return (int)req->head_len;
        }
        if (p == buf)
            rc = parse_request_line(p, eol, req);
        else
            rc = parse_header_line(p, eol, req);
        if (rc != CQ_OK)
            return rc;
        p = eol + 2;
    }
}

void cq__ws_verdict_for_error(int err, cq__ws_verdict *v)
{
    v->role = CQ__WS_UNIVERSAL;
    v->self_id = 0;
    if (err == CQ_ETOOBIG) {
        v->status = 431;
        v->reason = "request head above 8192 bytes";
    } else {
        v->status = 400;
        v->reason = "malformed HTTP request head";
    }
}

/* Sets v's reason and returns status, to end a policy rule in one line. */
static int fail(cq__ws_verdict *v, int status, const char *reason)
{
    v->reason = reason;
    return status;
}

/* Whether path is one of the six endpoints; stores the role it implies. */
static int path_role(const char *path, size_t len, cq__ws_role *role)
{
    static const struct {
        const char *path;
        cq__ws_role role;
    } t[] = {
        {"/ws", CQ__WS_UNIVERSAL},   {"/ws/", CQ__WS_UNIVERSAL},
        {"/ws/api", CQ__WS_API},     {"/ws/api/", CQ__WS_API},
        {"/ws/event", CQ__WS_EVENT}, {"/ws/event/", CQ__WS_EVENT},
    };
    size_t i;

    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        if (span_eq(path, len, t[i].path)) {
            *role = t[i].role;
            return 1;
        }
    }
    return 0;
}

int cq__ws_list_has(const char *s, size_t n, const char *tok)
{
    size_t i = 0, start, stop;

    if (s == NULL)
        return 0;
    while (i <= n) {
        start = i;
        while (i < n && s[i] != ',')
            i++;
        stop = i;
        while (start < stop && is_ows(s[start]))
            start++;
        while (stop > start && is_ows(s[stop - 1]))
            stop--;
        if (span_ieq(s + start, stop - start, tok))
            return 1;
        i++;
    }
    return 0;
}

/* Whether key is 22 base64 characters and "==": 16 bytes once decoded. */
static int key_ok(const char *key, size_t n)
{
    size_t i;

    if (key == NULL || n != 24 || key[22] != '=' || key[23] != '=')
        return 0;
    for (i = 0; i < 22; i++) {
        unsigned char c = (unsigned char)key[i];

        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '+' || c == '/'))
            return 0;
    }
    return 1;
}

int cq__ws_judge_auth(const cq__ws_request *req, const char *token,
                      cq__ws_verdict *v)
{
    char text[CQ__WS_MAX_HEAD + 2];
    const char *auth = NULL, *query = NULL, *tok;
    size_t tok_len;
    int rc;

    if (token == NULL || token[0] == '\0')
        return 0;
    if (req->authorization_len + req->query_len > CQ__WS_MAX_HEAD)
        return fail(v, 431, "Authorization or query too long");
    /* The auth module reads C strings: copy both views, NUL-terminated. */
    if (req->authorization != NULL) {
        memcpy(text, req->authorization, req->authorization_len);
        text[req->authorization_len] = '\0';
        auth = text;
    }
    if (req->query != NULL) {
        query = text + req->authorization_len + 1;
        memcpy(text + req->authorization_len + 1, req->query, req->query_len);
        text[req->authorization_len + 1 + req->query_len] = '\0';
    }
    if ((auth != NULL && strlen(auth) != req->authorization_len) ||
        (query != NULL && strlen(query) != req->query_len))
        return fail(v, 403, "NUL byte in the offered token");
    rc = cq__auth_offered_token(auth, query, &tok, &tok_len);
    if (rc == CQ_EAUTHMISSING)
        return fail(v, 401, "access token missing");
    if (rc != CQ_OK)
        return fail(v, 403, "Authorization is not \"Bearer|Token <token>\"");
    if (cq__auth_token_equal(token, tok, tok_len) != CQ_OK)
        return fail(v, 403, "access token wrong");
    return 0;
}

/* Rule 7: stores the role in v. Returns 0, or 400 for an unknown role. */
static int judge_role(const cq__ws_request *req, cq__ws_role from_path,
                      cq__ws_verdict *v)
{
    if (req->role == NULL)
        v->role = from_path;
    else if (span_ieq(req->role, req->role_len, "universal"))
        v->role = CQ__WS_UNIVERSAL;
    else if (span_ieq(req->role, req->role_len, "api"))
        v->role = CQ__WS_API;
    else if (span_ieq(req->role, req->role_len, "event"))
        v->role = CQ__WS_EVENT;
    else
        return fail(v, 400, "X-Client-Role is not Universal, API or Event");
    return 0;
}

int cq__ws_judge_self_id(const cq__ws_request *req, cq__ws_verdict *v)
{
    const char *s = req->self_id;
    size_t n = req->self_id_len, i;
    uint64_t x = 0;

    if (s == NULL)
        return fail(v, 400, "X-Self-ID missing");
    while (n > 0 && is_ows(*s)) {
        s++;
        n--;
    }
    while (n > 0 && is_ows(s[n - 1]))
        n--;
    if (n == 0)
        return fail(v, 400, "X-Self-ID empty");
    for (i = 0; i < n; i++) {
        unsigned d;

        if (s[i] < '0' || s[i] > '9')
            return fail(v, 400, "X-Self-ID is not a decimal integer");
        d = (unsigned)(s[i] - '0');
        if (x > ((uint64_t)INT64_MAX - d) / 10)
            return fail(v, 400, "X-Self-ID does not fit int64");
        x = x * 10 + d;
    }
    if (x == 0)
        return fail(v, 400, "X-Self-ID is 0");
    v->self_id = (int64_t)x;
    return 0;
}

/* Rules 1 to 8 in order: returns the status and sets v's reason. */
static int judge(const cq__ws_request *req, const char *token,
                 cq__ws_verdict *v)
{
    cq__ws_role from_path;
    int status;

    if (!path_role(req->path, req->path_len, &from_path))
        return fail(v, 404, "path is not /ws/, /ws/api/ or /ws/event/");
    if (!span_eq(req->method, req->method_len, "GET"))
        return fail(v, 405, "method is not GET");
    if (req->minor_version < 1)
        return fail(v, 400, "HTTP/1.0 request, WebSocket needs HTTP/1.1");
    if (!cq__ws_list_has(req->upgrade, req->upgrade_len, "websocket"))
        return fail(v, 400, "not a WebSocket upgrade (Upgrade)");
    if (!cq__ws_list_has(req->connection, req->connection_len, "upgrade"))
        return fail(v, 400, "not a WebSocket upgrade (Connection)");
    if (!span_eq(req->ws_version, req->ws_version_len, "13"))
        return fail(v, 426, "Sec-WebSocket-Version is not 13");
    if (!key_ok(req->ws_key, req->ws_key_len))
        return fail(v, 400, "Sec-WebSocket-Key is not 16 bytes in base64");
    if ((status = cq__ws_judge_auth(req, token, v)) != 0)
        return status;
    if ((status = judge_role(req, from_path, v)) != 0)
        return status;
    if ((status = cq__ws_judge_self_id(req, v)) != 0)
        return status;
    return fail(v, 101, "accepted");
}

void cq__ws_judge(const cq__ws_request *req, const char *access_token,
                  cq__ws_verdict *v)
{
    v->role = CQ__WS_UNIVERSAL;
    v->self_id = 0;
    v->status = judge(req, access_token, v);
    if (v->status != 101) {
        v->role = CQ__WS_UNIVERSAL;
        v->self_id = 0;
    }
}

int cq__ws_accept_key(const char *key, size_t key_len, char out[29])
{
    unsigned char in[KEY_MAX + sizeof(ws_guid) - 1];
    unsigned char md[CQ__SHA1_LEN];

    out[0] = '\0';
    if (key_len > KEY_MAX || (key == NULL && key_len > 0))
        return CQ_EINVAL;
    if (key_len > 0)
        memcpy(in, key, key_len);
    memcpy(in + key_len, ws_guid, sizeof(ws_guid) - 1);
    cq__sha1(in, key_len + sizeof(ws_guid) - 1, md);
    /* 20 bytes give 28 characters, and EVP_EncodeBlock adds the NUL. */
    EVP_EncodeBlock((unsigned char *)out, md, CQ__SHA1_LEN);
    return CQ_OK;
}

/*
 * Checks n, what snprintf() into out returned: returns it when it fit, else
 * leaves "" in out and returns CQ_ETOOBIG.
 */
static int put(char *out, size_t outlen, int n)
{
    if (n < 0 || (size_t)n >= outlen) {
        if (outlen > 0)
            out[0] = '\0';
        return CQ_ETOOBIG;
    }
    return n;
}

static int answer_101(const cq__ws_request *req, char *out, size_t outlen)
{
    char accept[29];
    int rc;

    if (req == NULL)
        return CQ_EINVAL;
    rc = cq__ws_accept_key(req->ws_key, req->ws_key_len, accept);
    if (rc != CQ_OK)
        return rc;
    return put(out, outlen,
               snprintf(out, outlen,
                        "HTTP/1.1 101 Switching Protocols\r\n"
                        "Upgrade: websocket\r\n"
                        "Connection: Upgrade\r\n"
                        "Sec-WebSocket-Accept: %s\r\n"
                        "\r\n",
                        accept));
}

int cq__ws_answer(const cq__ws_request *req, const cq__ws_verdict *v, char *out,
                  size_t outlen)
{
    char body[64 + REASON_MAX];
    const char *phrase, *extra = "";
    size_t n, i;

    if (outlen > 0)
        out[0] = '\0';
    if (v->status == 101)
        return answer_101(req, out, outlen);
    /* Anything but 101 is a refusal, so an error status. */
    phrase = v->status >= 400 ? cq__net_reason(v->status) : NULL;
    if (phrase == NULL)
        return CQ_EINVAL;
    if (v->status == 401)
        extra = "WWW-Authenticate: Bearer\r\n";
    else if (v->status == 405)
        extra = "Allow: GET\r\n";
    else if (v->status == 426)
        extra = "Sec-WebSocket-Version: 13\r\n";
    /* The reason may one day quote the client: keep it printable ASCII. */
    n = (size_t)snprintf(body, sizeof(body), "%s", phrase);
    if (v->reason != NULL && v->reason[0] != '\0') {
        body[n++] = ':';
        body[n++] = ' ';
        for (i = 0; v->reason[i] != '\0' && i < REASON_MAX; i++) {
            unsigned char c = (unsigned char)v->reason[i];

            body[n++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
        }
    }
    body[n++] = '\n';
    body[n] = '\0';
    return put(out, outlen,
               snprintf(out, outlen,
                        "HTTP/1.1 %d %s\r\n"
                        "%s"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Length: %zu\r\n"
                        "Connection: close\r\n"
                        "\r\n"
                        "%s",
                        v->status, phrase, extra, n, body));
}
