/*
 * cqhttp-sim post: builds an event (or loads one byte for byte), signs it and
 * POSTs it to a bot as a OneBot implementation would (PROTOCOL.md section
 * 2), then prints the answer: "HTTP <status>" and the quick operation.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cqhttp.h"
#include "lib/auth.h"
#include "lib/caps.h"
#include "sim/sim.h"

#define DEFAULT_URL "http://127.0.0.1:8080/"
/* What go-cqhttp sends, whatever its own version. */
#define USER_AGENT "CQHttp/4.15.0"
/* Answers are quick operations: small. */

enum source { SRC_NONE, SRC_BUILD, SRC_FILE, SRC_STDIN };

typedef struct post_args {
    const char *url;
    const char *file;
    enum source source;
    int self_id_given;
    cq__sim_event_spec spec;
} post_args;

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: %s post [--url URL] [--secret S] [--self-id N] EVENT\n\n"
        "Builds or loads one OneBot v11 event, POSTs it to a bot as "
        "go-cqhttp does\n(signed when a secret is set), and prints "
        "\"HTTP <status>\" and the answer body.\n\n"
        "EVENT, exactly one of:\n"
        "  --file PATH                     send the file's bytes unchanged\n"
        "  --stdin, -                      send stdin's bytes unchanged\n"
        "  --private USER_ID TEXT          a private message\n"
        "  --group GROUP_ID USER_ID TEXT   a group message\n"
        "  --group-increase GROUP_ID USER_ID\n"
        "                                  a member joined a group\n"
        "  --friend-request USER_ID [COMMENT]\n"
        "                                  a friend request\n"
        "  --group-request GROUP_ID USER_ID [add|invite]\n"
        "                                  a request to join a group [add]\n"
        "  --heartbeat                     a heartbeat meta event\n"
        "  --lifecycle connect|enable|disable\n"
        "                                  a lifecycle meta event\n"
        "TEXT is CQ code (\"[CQ:face,id=178] hi\"; write & [ ] as &amp; "
        "&#91; &#93;).\nLoaded events must parse as events and are sent "
        "with X-Self-ID from their\nself_id.\n\n"
        "Options:\n"
        "  --url URL       the bot's address [" DEFAULT_URL "]\n"
        "  --secret S      HMAC-SHA1 secret for X-Signature (better: "
        "CQHTTP_SECRET)\n"
        "  --self-id N     the bot's QQ number in built events [%d]\n"
        "  --array         send a message as a segment array (message_format "
        "\"array\"),\n"
        "                  not as a CQ-code string\n"
        "  --api-timeout-ms, --api-connect-timeout-ms, --max-body, "
        "--config FILE\n"
        "                  shared settings (also CQHTTP_* variables)\n\n"
        "Exit status: 0 on a 2xx answer, 1 on any other answer or a "
        "transport error,\n2 on bad usage.\n",
        CQ__SIM_PROG, CQ__SIM_SELF_ID);
}

/* Parses the ids of an event flag; returns 0 or an exit status. */
static int take_ids(char **a, int n, int *i, int64_t *first, int64_t *second)
{
    const char *flag = a[*i];
    int64_t *ids[2] = {first, second};
    int k;

    for (k = 0; k < 2 && ids[k] != NULL; k++) {
        if (*i + 1 >= n)
            return cq__sim_usage_error("post", "%s needs %s", flag,
                                       second != NULL ? "two ids" : "an id");
        if (cq__sim_parse_id(a[++*i], ids[k]) != CQ_OK)
            return cq__sim_usage_error("post",
                                       "%s: \"%s\" is not a QQ "
                                       "number or group id",
                                       flag, a[*i]);
    }
    return 0;
}

/* The value of "--name VALUE" or "--name=VALUE" at a[*i], or NULL. */
static const char *opt_value(char **a, int n, int *i, const char *name,
                             int *missing)
{
    size_t len = strlen(name);

    if (strncmp(a[*i], name, len) != 0)
        return NULL;
    if (a[*i][len] == '=')
        return a[*i] + len + 1;
    if (a[*i][len] != '\0')
        return NULL;
    if (*i + 1 >= n) {
        *missing = 1;
        return NULL;
    }
    return a[++*i];
}

static int is_event_flag(const char *f)
{
    static const char *const flags[] = {"--private",        "--group",
                                        "--group-increase", "--friend-request",
                                        "--group-request",  "--heartbeat",
                                        "--lifecycle"};
    size_t i;

    for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (strcmp(f, flags[i]) == 0)
            return 1;
    return 0;
}

/* Parses the event flag at a[*i] and its arguments; returns 0 or a status. */
static int event_flag(post_args *p, char **a, int n, int *i)
{
    cq__sim_event_spec *s = &p->spec;
    const char *f = a[*i];
    int rc = 0;

    if (strcmp(f, "--private") == 0) {
        s->kind = CQ__SIM_EV_PRIVATE;
        rc = take_ids(a, n, i, &s->user_id, NULL);
    } else if (strcmp(f, "--group") == 0) {
        s->kind = CQ__SIM_EV_GROUP;
        rc = take_ids(a, n, i, &s->group_id, &s->user_id);
    } else if (strcmp(f, "--group-increase") == 0) {
        s->kind = CQ__SIM_EV_GROUP_INCREASE;
        return take_ids(a, n, i, &s->group_id, &s->user_id);
    } else if (strcmp(f, "--friend-request") == 0) {
        s->kind = CQ__SIM_EV_FRIEND_REQUEST;
        rc = take_ids(a, n, i, &s->user_id, NULL);
        if (rc == 0 && *i + 1 < n && strncmp(a[*i + 1], "--", 2) != 0)
            s->text = a[++*i];
        return rc;
    } else if (strcmp(f, "--group-request") == 0) {
        s->kind = CQ__SIM_EV_GROUP_REQUEST;
        s->sub_type = "add";
        rc = take_ids(a, n, i, &s->group_id, &s->user_id);
        if (rc == 0 && *i + 1 < n &&
            (strcmp(a[*i + 1], "add") == 0 || strcmp(a[*i + 1], "invite") == 0))
            s->sub_type = a[++*i];
        return rc;
    } else if (strcmp(f, "--lifecycle") == 0) {
        s->kind = CQ__SIM_EV_LIFECYCLE;
        if (*i + 1 >= n || (strcmp(a[*i + 1], "connect") != 0 &&
                            strcmp(a[*i + 1], "enable") != 0 &&
                            strcmp(a[*i + 1], "disable") != 0))
            return cq__sim_usage_error("post", "--lifecycle needs connect, "
                                               "enable or disable");
        s->sub_type = a[++*i];
        return 0;
    } else {
        s->kind = CQ__SIM_EV_HEARTBEAT;
        return 0;
    }
    /* The message kinds end with TEXT. */
    if (rc == 0 && *i + 1 >= n)
        return cq__sim_usage_error("post", "%s needs the message TEXT", f);
    if (rc == 0)
        s->text = a[++*i];
    return rc;
}

/* Counts the EVENT flags; a second one is an error. */
static int one_event(post_args *p, enum source src, const char *flag)
{
    if (p->source != SRC_NONE)
        return cq__sim_usage_error("post",
                                   "only one EVENT may be given "
                                   "(%s after another)",
                                   flag);
    p->source = src;
    return 0;
}

static int parse_args(post_args *p, char **a, int n)
{
    int i, rc, missing = 0;
    const char *v;

    for (i = 0; i < n; i++) {
        const char *flag = a[i];

        if ((v = opt_value(a, n, &i, "--url", &missing)) != NULL) {
            p->url = v;
        } else if ((v = opt_value(a, n, &i, "--self-id", &missing)) != NULL) {
            if (cq__sim_parse_id(v, &p->spec.self_id) != CQ_OK)
                return cq__sim_usage_error("post",
                                           "--self-id: \"%s\" is "
                                           "not a QQ number",
                                           v);
            p->self_id_given = 1;
        } else if ((v = opt_value(a, n, &i, "--file", &missing)) != NULL) {
            if ((rc = one_event(p, SRC_FILE, flag)) != 0)
                return rc;
            p->file = v;
        } else if (missing) {
            return cq__sim_usage_error("post", "%s needs a value", flag);
        } else if (strcmp(flag, "--array") == 0) {
            p->spec.array = 1;
        } else if (strcmp(flag, "--stdin") == 0 || strcmp(flag, "-") == 0) {
            if ((rc = one_event(p, SRC_STDIN, flag)) != 0)
                return rc;
        } else if (is_event_flag(flag)) {
            if ((rc = one_event(p, SRC_BUILD, flag)) != 0)
                return rc;
            if ((rc = event_flag(p, a, n, &i)) != 0)
                return rc;
        } else if (strncmp(flag, "--", 2) == 0) {
            return cq__sim_usage_error("post", "unknown option \"%s\"", flag);
        } else {
            return cq__sim_usage_error("post", "unexpected argument \"%s\"",
                                       flag);
        }
    }
    if (p->source == SRC_NONE)
        return cq__sim_usage_error("post", "no EVENT given (--private, "
                                           "--group, --file, ...)");
    if (p->self_id_given && p->source != SRC_BUILD)
        return cq__sim_usage_error("post", "--self-id applies to built "
                                           "events; a loaded event is sent "
                                           "with its own self_id");
    if (p->spec.array &&
        (p->source != SRC_BUILD || (p->spec.kind != CQ__SIM_EV_PRIVATE &&
                                    p->spec.kind != CQ__SIM_EV_GROUP)))
        return cq__sim_usage_error("post", "--array applies to --private "
                                           "and --group messages");
    return 0;
}

/*
 * Loads the event of --file or --stdin into body, checks that it parses as an
 * event and reads its self_id (0 when it has none). Returns 0 or 1.
 */
static int load_event(const post_args *p, const cq__conf *conf, cq__buf *body,
                      int64_t *self_id)
{
    const char *name = p->source == SRC_FILE ? p->file : "stdin";
    FILE *f = p->source == SRC_FILE ? fopen(p->file, "rb") : stdin;
    cq_event *ev = NULL;
    int rc;

    if (f == NULL) {
        fprintf(stderr, "%s post: cannot open %s: %s\n", CQ__SIM_PROG, p->file,
                strerror(errno));
        return 1;
    }
    cq__buf_init(body, (size_t)conf->max_body);
    rc = cq__sim_read_all(f, body);
    if (f != stdin)
        fclose(f);
    if (rc != CQ_OK) {
        fprintf(stderr, "%s post: cannot read %s: %s\n", CQ__SIM_PROG, name,
                rc == CQ_ETOOBIG ? "larger than max_body" : cq_strerror(rc));
        return 1;
    }
    rc = cq_event_parse(&ev, body->data, body->len, (int)conf->max_depth);
    if (rc != CQ_OK) {
        fprintf(stderr, "%s post: %s is not a OneBot event: %s\n", CQ__SIM_PROG,
                name, cq_strerror(rc));
        cq__buf_free(body);
        return 1;
    }
    if (cq_event_int(ev, "self_id", self_id) != CQ_OK) {
        *self_id = 0;
        cq_log(CQ_LOG_WARN,
               "%s has no integer self_id; sending it without "
               "X-Self-ID",
               name);
    }
    cq_event_free(ev);
    return 0;
}

static size_t on_write(char *data, size_t size, size_t n, void *arg)
{
    /* A short count aborts the transfer: the cap was reached. */
    return cq__buf_add(arg, data, size * n) == CQ_OK ? size * n : 0;
}

/* Adds one formatted header line to *list; returns CQ_OK or CQ_ENOMEM. */
static int add_header(struct curl_slist **list, const char *name,
                      const char *value)
{
    char line[512];
    struct curl_slist *l;

    snprintf(line, sizeof(line), "%s: %s", name, value);
    l = curl_slist_append(*list, line);
    if (l == NULL)
        return CQ_ENOMEM;
    *list = l;
    return CQ_OK;
}

static struct curl_slist *headers(const cq__conf *conf, const char *body,
                                  size_t len, int64_t self_id)
{
    struct curl_slist *list = NULL;
    char sig[46], id[32];
    int rc;

    rc = add_header(&list, "Content-Type", "application/json");
    /* Without this, libcurl waits for "100 Continue" on bodies > 1 MiB. */
    if (rc == CQ_OK)
        rc = add_header(&list, "Expect", "");
    if (rc == CQ_OK && self_id > 0) {
        snprintf(id, sizeof(id), "%lld", (long long)self_id);
        rc = add_header(&list, "X-Self-ID", id);
    }
    if (rc == CQ_OK && conf->secret != NULL) {
        cq__auth_sign(conf->secret, body, len, sig);
        rc = add_header(&list, "X-Signature", sig);
    }
    if (rc != CQ_OK) {
        curl_slist_free_all(list);
        return NULL;
    }
    return list;
}

/* POSTs body to url and prints the answer. Returns the exit status. */
static int send_event(const cq__conf *conf, const char *url, const char *body,
                      size_t len, int64_t self_id)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = headers(conf, body, len, self_id);
    CURL *curl = curl_easy_init();
    long status = 0;
    CURLcode cc;
    cq__buf answer;

    cq__buf_init(&answer, CQ__CAP_ANSWER);
    if (hdrs == NULL || curl == NULL) {
        fprintf(stderr, "%s post: out of memory\n", CQ__SIM_PROG);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(curl);
        return 1;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, USER_AGENT);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     conf->api_connect_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, conf->api_timeout_ms);
    cc = curl_easy_perform(curl);
    if (cc == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(hdrs);
    if (cc != CURLE_OK) {
        fprintf(stderr, "%s post: POST to %s failed: %s\n", CQ__SIM_PROG, url,
                cc == CURLE_WRITE_ERROR ? "answer too large"
                : errbuf[0] != '\0'     ? errbuf
                                        : curl_easy_strerror(cc));
        cq__buf_free(&answer);
        return 1;
    }
    printf("HTTP %ld\n", status);
    if (answer.len > 0) {
        fwrite(answer.data, 1, answer.len, stdout);
        if (answer.data[answer.len - 1] != '\n')
            putchar('\n');
    }
    cq__buf_free(&answer);
    if (fflush(stdout) != 0)
        return 1;
    return status >= 200 && status <= 299 ? 0 : 1;
}

static int run(const post_args *p, const cq__conf *conf)
{
    int64_t self_id = p->spec.self_id;
    cq__buf body;
    char *built;
    size_t len;
    int rc;

    if (p->source == SRC_BUILD) {
        built = cq__sim_event_build(&p->spec, &len, &rc);
        if (built == NULL && rc == CQ_EINVAL)
            return cq__sim_usage_error("post", "TEXT or COMMENT is not valid "
                                               "UTF-8");
        if (built == NULL) {
            fprintf(stderr, "%s post: cannot build the event: %s\n",
                    CQ__SIM_PROG, cq_strerror(rc));
            return 1;
        }
        rc = send_event(conf, p->url, built, len, self_id);
        free(built);
        return rc;
    }
    if (load_event(p, conf, &body, &self_id) != 0)
        return 1;
    rc = send_event(conf, p->url, body.data, body.len, self_id);
    cq__buf_free(&body);
    return rc;
}

int cq__sim_post(int argc, char **argv)
{
    post_args p;
    cq__conf conf;
    char **args;
    int nargs = 0, rc;

    if (cq__sim_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    memset(&p, 0, sizeof(p));
    p.url = DEFAULT_URL;
    p.spec.self_id = CQ__SIM_SELF_ID;
    cq__conf_init(&conf);
    args = calloc((size_t)argc + 1, sizeof(*args));
    if (args == NULL) {
        fprintf(stderr, "%s post: out of memory\n", CQ__SIM_PROG);
        return 1;
    }
    rc = cq__sim_conf("post", &conf, argc, argv, args, &nargs);
    if (rc == 0)
        rc = parse_args(&p, args, nargs);
    if (rc == 0)
        rc = run(&p, &conf);
    free(args);
    cq__conf_free(&conf);
    return rc;
}
