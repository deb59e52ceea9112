#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cqhttp.h"
#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/log.h"
#include "lib/settings.h"

enum opt_kind { OPT_STR, OPT_LONG, OPT_LEVEL };

typedef struct opt {
    const char *key; /* File key; the flag is "--" + key with '-' for '_'. */
    enum opt_kind kind;
    size_t offset;
    long min, max; /* For OPT_LONG. */
    const char *help;
} opt;

#define STR(f, help)                                                           \
    {                                                                          \
#f, OPT_STR, offsetof(cq__conf, f), 0, 0, help                         \
    }
#define NUM(f, lo, hi, help)                                                   \
    {                                                                          \
#f, OPT_LONG, offsetof(cq__conf, f), lo, hi, help                      \
    }

static const opt opts[] = {
    STR(api_root, "OneBot HTTP API base URL, e.g. http://127.0.0.1:5700"),
    STR(access_token, "token for API calls and for checking callers"),
    STR(secret, "responder: HMAC secret that signs posted events "
                "(X-Signature)"),
    STR(bridge_socket, "Unix socket of cqhttp-bridge"),
    STR(listen, "responder: host:port or a Unix socket path instead of fd 0; "
                "bridge: its WebSocket host:port [127.0.0.1:8081]"),
    STR(log_file, "append log lines to this file (reopened on SIGHUP)"),
    NUM(api_timeout_ms, 1, 600000, "whole API call limit, ms [5000]"),
    NUM(api_connect_timeout_ms, 1, 600000, "API connect limit, ms [2000]"),
    NUM(max_body, 64, 64L << 20,
        "responder: largest event body, bytes [1048576]"),
    NUM(body_timeout_ms, 100, 600000,
        "responder: whole body must arrive within this, ms (else 408) "
        "[5000]"),
    NUM(max_depth, 2, 1000, "deepest JSON nesting accepted [32]"),
    NUM(threads, 1, 1024, "worker threads [4]"),
    NUM(backlog, 1, 65535, "listen backlog of sockets opened here [1024]"),
    NUM(ws_max_message, 1024, 64L << 20,
        "bridge: largest WebSocket message, bytes [1048576]"),
    NUM(ws_max_queue, 65536, 1L << 30,
        "bridge: bytes queued per connection: outgoing, and events "
        "held in memory [8388608]"),
    NUM(ws_max_spill, 0, 1L << 40,
        "bridge: bytes of events held in a temporary file per connection, "
        "past ws_max_queue in memory [268435456]"),
    NUM(ws_ping_interval_ms, 100, 3600000,
        "bridge: ping a connection idle this long [30000]"),
    NUM(ws_timeout_ms, 200, 3600000,
        "bridge: close a connection silent this long [90000]"),
    NUM(handshake_timeout_ms, 100, 600000,
        "bridge: deadline for the upgrade request [5000]"),
    NUM(max_pending, 1, 1000000,
        "bridge: API calls waiting per account [1000]"),
    NUM(max_connections, 1, 1000000,
        "bridge: open connections, WebSocket and API socket [10000]"),
    STR(api_allow, "bridge: who may use the API socket, e.g. "
                   "\"user:cqhttp,group:cqhttp-api\" [its own user and group]"),
    STR(ws_forward, "bridge: ws://HOST:PORT/PATH URLs of implementations "
                    "serving forward WebSocket, comma-separated, each dialed "
                    "with access_token"),
    NUM(api_stall_timeout_ms, 100, 3600000,
        "bridge: close an API-socket client that leaves its answers unread "
        "this long [30000]"),
    NUM(inline_handlers, 0, 1,
        "bridge: 1 runs the handlers on the event loop's thread, no worker "
        "threads: less CPU per event, but a handler that blocks stalls "
        "every connection [0]"),
    STR(command_prefix, "prefixes a command starts with, comma-separated "
                        "(\"/,!\") [/]"),
    {"log_level", OPT_LEVEL, offsetof(cq__conf, log_level), 0, 0,
     "error, warn, info or debug [info]"},
};

#define NOPTS (sizeof(opts) / sizeof(opts[0]))

/* cq__conf.given has one bit per setting. */
typedef char conf_given_fits[NOPTS <= 64 ? 1 : -1];

void cq__conf_init(cq__conf *c)
{
    memset(c, 0, sizeof(*c));
    c->api_timeout_ms = 5000;
    c->api_connect_timeout_ms = 2000;
    c->max_body = 1L << 20;
    c->body_timeout_ms = 5000;
    c->max_depth = CQ_JSON_MAX_DEPTH;
    c->threads = 4;
    c->backlog = 1024;
    c->ws_max_message = 1L << 20;
    c->ws_max_queue = 8L << 20;
    c->ws_max_spill = 256L << 20;
    c->ws_ping_interval_ms = 30000;
    c->ws_timeout_ms = 90000;
    c->handshake_timeout_ms = 5000;
    c->max_pending = 1000;
    c->max_connections = 10000;
    c->api_stall_timeout_ms = 30000;
    c->log_level = CQ_LOG_INFO;
}


/* The string setting at an option's offset in c. */
static char **str_field(cq__conf *c, const opt *o)
{
    return (char **)((char *)c + o->offset);
}


void cq__conf_free(cq__conf *c)
{
    size_t i;

    for (i = 0; i < NOPTS; i++) {
        if (opts[i].kind == OPT_STR) {
            free(*str_field(c, &opts[i]));
            *str_field(c, &opts[i]) = NULL;
        }
    }
    free(c->config);
    c->config = NULL;
    cq__settings_free(c);
}


int cq__conf_copy(cq__conf *dst, const cq__conf *src)
{
    size_t i;

    *dst = *src;
    /* Nothing of src's is owned by dst until it is copied. */
    for (i = 0; i < NOPTS; i++)
        if (opts[i].kind == OPT_STR)
            *str_field(dst, &opts[i]) = NULL;
    dst->config = NULL;
    dst->bot = NULL;
    dst->nbot = 0;
    for (i = 0; i < NOPTS; i++) {
        const char *s;

        if (opts[i].kind != OPT_STR)
            continue;
        s = *(char *const *)((const char *)src + opts[i].offset);
        if (s != NULL && (*str_field(dst, &opts[i]) = strdup(s)) == NULL)
            break;
    }
    if (i == NOPTS && src->config != NULL &&
        (dst->config = strdup(src->config)) == NULL)
        i = 0;
    if (i == NOPTS && cq__settings_copy(dst, src) != CQ_OK)
        i = 0;
    if (i < NOPTS) {
        cq__conf_free(dst);
        return CQ_ENOMEM;
    }
    return CQ_OK;
}


static const opt *find_key(const char *key, size_t len)
{
    size_t i;

    for (i = 0; i < NOPTS; i++)
        if (strlen(opts[i].key) == len && strncmp(opts[i].key, key, len) == 0)
            return &opts[i];
    return NULL;
}


/* Sets one option from text; where names the source for the message. */
static int set_opt(cq__conf *c, const opt *o, const char *val,
                   const char *where, char *err, size_t errlen)
{
    void *field = (char *)c + o->offset;
    char *end, *copy;
    long n;

    /*
     * Only the file and flags count as given: the shipped units share one
     * environment file between both programs (cq__conf_warn_ignored).
     */
    if (strncmp(where, "CQHTTP_", 7) != 0)
        c->given |= 1ULL << (o - opts);
    switch (o->kind) {
    case OPT_STR:
        copy = strdup(val);
        if (copy == NULL)
            return CQ_ENOMEM;
        free(*(char **)field);
        /* An empty value unsets the setting, as if it were not given. */
        if (copy[0] == '\0') {
            free(copy);
            copy = NULL;
        }
        *(char **)field = copy;
        return CQ_OK;
    case OPT_LONG:
        errno = 0;
        n = strtol(val, &end, 10);
        if (val[0] == '\0' || *end != '\0' || errno != 0 || n < o->min ||
            n > o->max) {
            snprintf(err, errlen,
                     "%s: %s must be a whole number from %ld "
                     "to %ld, not \"%s\"",
                     where, o->key, o->min, o->max, val);
            return CQ_EINVAL;
        }
        *(long *)field = n;
        return CQ_OK;
    case OPT_LEVEL:
    default:
        if (cq__log_parse_level(val, (cq_log_level *)field) != CQ_OK) {
            snprintf(err, errlen,
                     "%s: log_level must be error, warn, info "
                     "or debug, not \"%s\"",
                     where, val);
            return CQ_EINVAL;
        }
        return CQ_OK;
    }
}


static char *trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s &&
           (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}


/*
 * Reads one line of f into line (without a cap on how it arrives, but with
 * CQ__CONF_LINE_MAX on its length). Returns 1 with a line, 0 at the end of
 * the file, CQ_ETOOBIG for a longer line or CQ_ENOMEM.
 */
static int read_line(FILE *f, cq__buf *line)
{
    char chunk[4096];
    int rc;

    cq__buf_reset(line);
    while (fgets(chunk, sizeof(chunk), f) != NULL) {
        size_t n = strlen(chunk);

        rc = cq__buf_add(line, chunk, n);
        if (rc != CQ_OK)
            return rc;
        if (n > 0 && chunk[n - 1] == '\n')
            return 1;
    }
    return line->len > 0;
}


/*
 * Applies one trimmed, non-comment line; where is "file:line". A line may
 * also be the environment file's "CQHTTP_KEY=value" (with the value maybe
 * in quotes, as systemd allows), so that the one file serves the units and
 * --config alike; such a line counts as environment, not as given.
 */
static int load_line(cq__conf *c, char *s, const char *where, char *err,
                     size_t errlen)
{
    char *eq = strchr(s, '='), *key, *val, low[64];
    size_t n, i;
    int env, rc;
    const opt *o;

    if (eq == NULL) {
        snprintf(err, errlen, "%s: expected \"key = value\"", where);
        return CQ_EINVAL;
    }
    *eq = '\0';
    key = trim(s);
    env = strncmp(key, "CQHTTP_", 7) == 0;
    for (i = 0; env && key[7 + i] != '\0' && i < sizeof(low) - 1; i++)
        low[i] = (char)tolower((unsigned char)key[7 + i]);
    low[i] = '\0';
    val = trim(eq + 1);
    n = strlen(val);
    if (env && n >= 2 && (val[0] == '"' || val[0] == '\'') &&
        val[n - 1] == val[0]) {
        val[n - 1] = '\0';
        val++;
    }
    rc = cq__settings_put(c, key, val); /* "bot.city", CQHTTP_BOT_CITY. */
    if (rc != 0)
        return rc > 0 ? CQ_OK : rc;
    o = env ? find_key(low, i) : find_key(key, strlen(key));
    if (o == NULL) {
        snprintf(err, errlen, "%s: unknown setting \"%s\"", where, key);
        return CQ_EINVAL;
    }
    rc = set_opt(c, o, val, where, err, errlen);
    if (env)
        c->given &= ~(1ULL << (o - opts));
    return rc;
}


static int load_file(cq__conf *c, const char *path, char *err, size_t errlen)
{
    char where[512];
    cq__buf line;
    FILE *f = fopen(path, "r");
    int lineno = 0, rc = CQ_OK, got;

    if (f == NULL) {
        snprintf(err, errlen, "cannot read config file %s: %s", path,
                 strerror(errno));
        return CQ_EIO;
    }
    cq__buf_init(&line, CQ__CONF_LINE_MAX);
    while (rc == CQ_OK && (got = read_line(f, &line)) != 0) {
        char *s;

        lineno++;
        snprintf(where, sizeof(where), "%s:%d", path, lineno);
        if (got == CQ_ETOOBIG) {
            snprintf(err, errlen, "%s: line longer than %d bytes", where,
                     CQ__CONF_LINE_MAX);
            rc = CQ_EINVAL;
            break;
        }
        if (got < 0) {
            snprintf(err, errlen, "%s: out of memory", where);
            rc = got;
            break;
        }
        s = trim(line.data);
        if (*s != '\0' && *s != '#' && *s != ';')
            rc = load_line(c, s, where, err, errlen);
    }
    cq__buf_free(&line);
    fclose(f);
    return rc;
}


static int load_env(cq__conf *c, char *err, size_t errlen)
{
    char name[64], *p;
    size_t i;
    int rc;

    for (i = 0; i < NOPTS; i++) {
        const char *val;

        snprintf(name, sizeof(name), "CQHTTP_%s", opts[i].key);
        for (p = name; *p != '\0'; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        val = getenv(name);
        if (val == NULL)
            continue;
        rc = set_opt(c, &opts[i], val, name, err, errlen);
        if (rc != CQ_OK)
            return rc;
    }
    if (cq__settings_env(c) != CQ_OK) {
        snprintf(err, errlen, "out of memory");
        return CQ_ENOMEM;
    }
    return CQ_OK;
}


/* Matches "--api-root" (or "--api_root") against the option keys. */
static const opt *find_flag(const char *arg, size_t len)
{
    char key[64];
    size_t i;

    if (len >= sizeof(key))
        return NULL;
    for (i = 0; i < len; i++)
        key[i] = arg[i] == '-' ? '_' : arg[i];
    return find_key(key, len);
}


/* Returns the --config value from argv, or NULL. */
static const char *config_flag(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], "--config=", 9) == 0)
            return argv[i] + 9;
    }
    return NULL;
}


/*
 * Checks what one value cannot: libcurl would refuse any other api_root
 * scheme on every call, so it is refused here, once. CQ_OK or CQ_EINVAL.
 */
static int check(const cq__conf *c, char *err, size_t errlen)
{
    const char *r = c->api_root;

    if (r != NULL && strncasecmp(r, "http://", 7) != 0 &&
        strncasecmp(r, "https://", 8) != 0) {
        snprintf(err, errlen,
                 "api_root \"%.200s\" must start with http:// or https://", r);
        return CQ_EINVAL;
    }
    return CQ_OK;
}


int cq__conf_load(cq__conf *c, int argc, char **argv, int *rest, int *nrest,
                  char *err, size_t errlen)
{
    const char *path = config_flag(argc, argv);
    int i, rc;

    *nrest = 0;
    if (path == NULL)
        path = getenv("CQHTTP_CONFIG");
    if (path != NULL && path[0] != '\0') {
        c->config = strdup(path);
        if (c->config == NULL)
            return CQ_ENOMEM;
        rc = load_file(c, path, err, errlen);
        if (rc != CQ_OK)
            return rc;
    }
    rc = load_env(c, err, errlen);
    if (rc != CQ_OK)
        return rc;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *eq, *val;
        const opt *o;
        size_t len;

        if (strcmp(a, "--") == 0) {
            for (; i < argc; i++)
                rest[(*nrest)++] = i;
            break;
        }
        if (strncmp(a, "--", 2) != 0) {
            rest[(*nrest)++] = i;
            continue;
        }
        eq = strchr(a, '=');
        len = eq != NULL ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (len == 6 && strncmp(a + 2, "config", 6) == 0) {
            i += eq == NULL; /* Already read; skip its value. */
            continue;
        }
        o = find_flag(a + 2, len);
        if (o == NULL) {
            rest[(*nrest)++] = i;
            continue;
        }
        if (eq != NULL) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            snprintf(err, errlen, "%s needs a value", a);
            return CQ_EINVAL;
        }
        rc = set_opt(c, o, val, "command line", err, errlen);
        if (rc != CQ_OK)
            return rc;
    }
    return check(c, err, errlen);
}


/*
 * The settings only one program uses; every other setting is used by both.
 * A new setting for one program only gets a line here.
 */
static const struct {
    const char *key;
    unsigned users;
} only[] = {
    {"secret", CQ__CONF_FCGI},
    {"max_body", CQ__CONF_FCGI},
    {"body_timeout_ms", CQ__CONF_FCGI},
    {"ws_max_message", CQ__CONF_BRIDGE},
    {"ws_max_queue", CQ__CONF_BRIDGE},
    {"ws_ping_interval_ms", CQ__CONF_BRIDGE},
    {"ws_timeout_ms", CQ__CONF_BRIDGE},
    {"handshake_timeout_ms", CQ__CONF_BRIDGE},
    {"max_pending", CQ__CONF_BRIDGE},
    {"max_connections", CQ__CONF_BRIDGE},
    {"ws_forward", CQ__CONF_BRIDGE},
    {"inline_handlers", CQ__CONF_BRIDGE},
};


void cq__conf_warn_ignored(const cq__conf *c, unsigned program)
{
    size_t i, k;

    for (i = 0; i < NOPTS; i++) {
        if (!(c->given & (1ULL << i)))
            continue;
        for (k = 0; k < sizeof(only) / sizeof(only[0]); k++)
            if (strcmp(only[k].key, opts[i].key) == 0 &&
                !(only[k].users & program))
                cq_log(CQ_LOG_WARN, "setting %s is ignored: only %s uses it",
                       opts[i].key,
                       only[k].users == CQ__CONF_FCGI ? "cqhttp-fcgi"
                                                      : "cqhttp-bridge");
    }
}


void cq__conf_usage(void *out)
{
    FILE *f = out;
    char flag[64], env[64];
    size_t i, k;

    fprintf(f, "Settings (flag, environment variable; a --config FILE of "
               "\"key = value\" lines\nis read first, then the environment, "
               "then flags):\n");
    for (i = 0; i < NOPTS; i++) {
        for (k = 0; opts[i].key[k] != '\0' && k < sizeof(flag) - 1; k++) {
            char ch = opts[i].key[k];

            flag[k] = ch == '_' ? '-' : ch;
            env[k] = ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
        }
        flag[k] = env[k] = '\0';
        fprintf(f, "  --%-24s CQHTTP_%-24s\n      %s\n", flag, env,
                opts[i].help);
    }
    fprintf(f, "  --%-24s CQHTTP_%-24s\n      %s\n", "config FILE", "CONFIG",
            "read settings from FILE");
}


int cq__conf_main_args(cq__conf *c, int argc, char **argv, const char *program,
                       const char *version, void (*usage)(void *f))
{
    char err[512];
    int *rest, nrest, i, rc = -1;

    rest = calloc((size_t)argc + 1, sizeof(int));
    if (rest == NULL)
        return 1;
    if (cq__conf_load(c, argc, argv, rest, &nrest, err, sizeof(err)) != CQ_OK) {
        fprintf(stderr, "%s: %s\n", program, err);
        nrest = 0;
        rc = 2;
    }
    for (i = 0; i < nrest && rc < 0; i++) {
        const char *a = argv[rest[i]];

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            rc = 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("%s %s\n", program, version);
            rc = 0;
        } else {
            fprintf(stderr, "%s: unknown argument \"%s\" (see --help)\n",
                    program, a);
            rc = 2;
        }
    }
    free(rest);
    return rc;
}
