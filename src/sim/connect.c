/*
 * cqhttp-sim connect: options, the client's connections, the event feed,
 * the heartbeat, --once and the signals. Connections are connect_ws.c's,
 * calls connect_call.c's.
 *
 * The feed sends the given events in command-line order, then the lines of
 * stdin, on the event connection, once every connection is open, and only
 * while less than CQ__SIM_FEED_LOW bytes wait in that connection's output,
 * so that memory stays bounded however much stdin holds. Stdin is read
 * through the loop when it can be polled (a pipe, a terminal) and directly
 * otherwise (a regular file or /dev/null, which epoll refuses).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "cqhttp.h"
#include "lib/json.h"
#include "sim/connect.h"

#define DEFAULT_URL      "ws://127.0.0.1:8081/ws/"
#define DEFAULT_QUIET_MS 500
/* How long closing every connection may take before the program exits. */
#define STOP_DEADLINE_MS 3000
#define STDIN_CHUNK      65536

typedef struct feed_item {
    const char *path; /* An --event-file, or NULL for a --private. */
    int64_t user_id;
    const char *text;
} feed_item;

struct connect_feed {
    feed_item *items;
    size_t nitems, next;
    int use_stdin;
    int stdin_polled; /* Read through stdin_ev, not directly. */
    int stdin_eof;
    struct event *stdin_ev; /* NULL unless polled. */
    struct evbuffer *stdin_buf;
    uint64_t stdin_line; /* Lines read, for messages. */
};

typedef struct connect_args {
    const char *url;
    const char *log_path;
    int split;
} connect_args;

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: %s connect [OPTIONS]\n\n"
        "Connects to cqhttp-bridge (or any OneBot v11 reverse-WebSocket "
        "server) as a\nOneBot implementation does: sends a lifecycle "
        "\"connect\" event, then the events\ngiven, and answers every API "
        "call with the plausible data of \"serve\", logging\neach as one "
        "JSON line. SIGTERM or SIGINT close the connections (code 1000) "
        "and\nexit 0.\n\n"
        "Options:\n"
        "  --url URL              ws://HOST[:PORT][/PATH][?QUERY]\n"
        "                         [" DEFAULT_URL "]\n"
        "  --split                two connections, X-Client-Role API to "
        "URL + \"api/\"\n"
        "                         and Event to URL + \"event/\" "
        "(go-cqhttp's layout),\n"
        "                         instead of one Universal connection to "
        "URL\n"
        "  --self-id N            the simulated bot's QQ number "
        "(X-Self-ID) [%d]\n"
        "  --access-token T       send \"Authorization: Token T\"\n"
        "                         (better: CQHTTP_ACCESS_TOKEN)\n"
        "  --log FILE             append the call log to FILE [stdout]\n"
        "  --fault [ACTION=]KIND  misbehave on ACTION (every action without "
        "ACTION=);\n"
        "                         repeatable, a named action before every "
        "action. KIND:\n"
        "      failed[:RETCODE]   status failed, retcode [100]\n"
        "      garbage            a text frame that is not JSON\n"
        "      nojson-status      {\"retcode\":0,\"echo\":...} without "
        "status\n"
        "      slow:MS            the normal answer after MS ms\n"
        "      close              drop the connection without an answer "
        "or close frame\n"
        "      partial            a truncated answer frame, then drop the "
        "connection\n"
        "  --event-file PATH      send the JSON object in PATH as an event "
        "(repeatable)\n"
        "  --private USER TEXT    send a private message event, TEXT in CQ "
        "code\n"
        "                         (repeatable)\n"
        "  --stdin-events         then send each line of stdin (one JSON "
        "object) as an\n"
        "                         event\n"
        "  --heartbeat-ms MS      send a heartbeat meta_event every MS ms\n"
        "  --once                 exit 0 once every event is sent and no "
        "call came for\n"
        "                         --quiet-ms\n"
        "  --quiet-ms MS          the quiet period of --once [%d]\n"
        "  --reconnect-ms MS      redial a refused or lost connection after "
        "MS ms;\n"
        "                         without it, either ends the run with "
        "exit 1\n\n"
        "Events go out on the Universal (or Event) connection in "
        "command-line order,\nthen stdin's, once every connection is open. "
        "A refused handshake prints its\nHTTP status and the first line of "
        "its body.\n\n"
        "Answers: as \"serve\" (every action of the table, parameter "
        "checks, faults),\nwith WebSocket's retcodes: 1400 for a frame "
        "that is not {\"action\": STRING,\n\"params\": OBJECT}, 1404 for "
        "an unknown action; \"echo\" is returned unchanged.\n\n"
        "Log line: {\"seq\",\"time\",\"role\",\"action\",\"params\","
        "\"echo\",\"auth\",\"status\",\n\"retcode\"} plus \"fault\" and "
        "\"error\" when they apply: serve's fields with\nthe connection's "
        "role for \"peer\" and the call's echo (when it has one) for\n"
        "\"method\" and \"http_status\"; \"auth\" is the Authorization "
        "sent, or null.\n",
        CQ__SIM_PROG, CQ__SIM_SELF_ID, DEFAULT_QUIET_MS);
}

/* Parses a number of milliseconds from 1 to 86400000. */
static int parse_ms(const char *flag, const char *s, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v < 1 ||
        v > 86400000)
        return cq__sim_usage_error("connect",
                                   "%s: \"%s\" is not a number of ms from 1 "
                                   "to 86400000",
                                   flag, s);
    *out = v;
    return 0;
}

/*
 * Splits a ws:// URL into the client's host, port and Host header and the
 * base target (path and query) in base. Returns 0 or CQ__SIM_EXIT_USAGE.
 */
static int parse_url(cq__sim_client *cl, const char *url, char *base,
                     size_t baselen, int *port)
{
    const char *p, *auth_end, *host, *colon = NULL;
    size_t hlen;
    char *end;
    long v = 80;

    if (strncasecmp(url, "wss://", 6) == 0)
        return cq__sim_usage_error("connect",
                                   "--url: wss:// is not supported (put a "
                                   "TLS proxy in front, or use ws://)");
    if (strncasecmp(url, "ws://", 5) != 0)
        return cq__sim_usage_error(
            "connect", "--url \"%s\" does not start with ws://", url);
    p = url + 5;
    auth_end = p + strcspn(p, "/?#");
    if (memchr(p, '@', (size_t)(auth_end - p)) != NULL)
        return cq__sim_usage_error("connect", "--url: user information is not "
                                              "supported (use --access-token)");
    host = p;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(auth_end - p));

        if (rb == NULL)
            return cq__sim_usage_error("connect", "--url: unclosed '['");
        host = p + 1;
        hlen = (size_t)(rb - host);
        if (rb + 1 < auth_end) {
            if (rb[1] != ':')
                return cq__sim_usage_error("connect", "--url: bad port");
            colon = rb + 1;
        }
    } else {
        colon = memchr(p, ':', (size_t)(auth_end - p));
        hlen = (size_t)((colon != NULL ? colon : auth_end) - p);
    }
    if (colon != NULL) {
        errno = 0;
        v = strtol(colon + 1, &end, 10);
        if (colon + 1 == auth_end || end != auth_end || errno != 0 || v < 1 ||
            v > 65535)
            return cq__sim_usage_error("connect",
                                       "--url: the port is not 1-65535");
    }
    if (hlen == 0 || hlen >= sizeof(cl->host) ||
        (size_t)(auth_end - p) >= sizeof(cl->host_header))
        return cq__sim_usage_error("connect", "--url: no host, or too long");
    if (strchr(auth_end, '#') != NULL)
        return cq__sim_usage_error("connect", "--url: no #fragment, please");
    memcpy(cl->host, host, hlen);
    cl->host[hlen] = '\0';
    memcpy(cl->host_header, p, (size_t)(auth_end - p));
    cl->host_header[auth_end - p] = '\0';
    if (snprintf(base, baselen, "%s%s", *auth_end == '/' ? "" : "/",
                 auth_end) >= (int)baselen - 16)
        return cq__sim_usage_error("connect", "--url: the path is too long");
    *port = (int)v;
    return 0;
}

/* target = base's path + sub + base's query. */
static void sub_target(const char *base, const char *sub, char *out, size_t len)
{
    size_t n = strcspn(base, "?");

    snprintf(out, len, "%.*s%s%s%s", (int)n, base,
             n > 0 && base[n - 1] == '/' ? "" : "/", sub, base + n);
}

/* Resolves the host once; 0 or 1 after saying why. */
static int resolve(cq__sim_client *cl, int port)
{
    struct addrinfo hints, *ai = NULL;
    char service[16];
    int rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof(service), "%d", port);
    rc = getaddrinfo(cl->host, service, &hints, &ai);
    if (rc != 0) {
        cq_log(CQ_LOG_ERROR, "cannot resolve %s: %s", cl->host,
               gai_strerror(rc));
        return 1;
    }
    memcpy(&cl->addr, ai->ai_addr, ai->ai_addrlen);
    cl->addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static int parse_args(cq__sim_client *cl, connect_args *a, char **args, int n)
{
    struct connect_feed *fd = cl->feed;
    char err[512];
    int i, rc;

    for (i = 0; i < n; i++) {
        const char *f = args[i], *val = i + 1 < n ? args[i + 1] : NULL;

        if (strcmp(f, "--split") == 0) {
            a->split = 1;
        } else if (strcmp(f, "--once") == 0) {
            cl->once = 1;
        } else if (strcmp(f, "--stdin-events") == 0) {
            fd->use_stdin = 1;
        } else if (strcmp(f, "--private") == 0) {
            feed_item *it = &fd->items[fd->nitems];

            if (i + 2 >= n)
                return cq__sim_usage_error("connect",
                                           "--private needs USER and TEXT");
            if (cq__sim_parse_id(args[i + 1], &it->user_id) != CQ_OK)
                return cq__sim_usage_error("connect",
                                           "--private: \"%s\" is not a QQ "
                                           "number",
                                           args[i + 1]);
            it->text = args[i + 2];
            fd->nitems++;
            i += 2;
        } else if (strcmp(f, "--url") == 0 || strcmp(f, "--log") == 0 ||
                   strcmp(f, "--self-id") == 0 || strcmp(f, "--fault") == 0 ||
                   strcmp(f, "--event-file") == 0 ||
                   strcmp(f, "--heartbeat-ms") == 0 ||
                   strcmp(f, "--quiet-ms") == 0 ||
                   strcmp(f, "--reconnect-ms") == 0) {
            if (val == NULL)
                return cq__sim_usage_error("connect", "%s needs a value", f);
            i++;
            rc = 0;
            if (strcmp(f, "--url") == 0) {
                a->url = val;
            } else if (strcmp(f, "--log") == 0) {
                a->log_path = val;
            } else if (strcmp(f, "--self-id") == 0) {
                if (cq__sim_parse_id(val, &cl->self_id) != CQ_OK)
                    rc = cq__sim_usage_error("connect",
                                             "--self-id: \"%s\" is not a "
                                             "QQ number",
                                             val);
            } else if (strcmp(f, "--event-file") == 0) {
                fd->items[fd->nitems++].path = val;
            } else if (strcmp(f, "--heartbeat-ms") == 0) {
                rc = parse_ms(f, val, &cl->heartbeat_ms);
            } else if (strcmp(f, "--quiet-ms") == 0) {
                rc = parse_ms(f, val, &cl->quiet_ms);
            } else if (strcmp(f, "--reconnect-ms") == 0) {
                rc = parse_ms(f, val, &cl->reconnect_ms);
            } else if (cl->nfaults >= CQ__SIM_MAX_FAULTS) {
                rc = cq__sim_usage_error("connect", "more than %d --fault",
                                         CQ__SIM_MAX_FAULTS);
            } else if (cq__sim_wfault_parse(val, &cl->faults[cl->nfaults++],
                                            err, sizeof(err)) != CQ_OK) {
                rc = cq__sim_usage_error("connect", "%s", err);
            }
            if (rc != 0)
                return rc;
        } else {
            return cq__sim_usage_error("connect", "%s \"%s\"",
                                       strncmp(f, "-", 1) == 0
                                           ? "unknown option"
                                           : "unexpected argument",
                                       f);
        }
    }
    return 0;
}

/* Sends a built event (a NUL-terminated JSON text) on c. */
static int send_event(cq__sim_wsc *c, const char *json, size_t len)
{
    /* Go's encoder ends each event with a newline: not part of the frame. */
    while (len > 0 && (json[len - 1] == '\n' || json[len - 1] == '\r'))
        len--;
    return cq__sim_wsc_send(c, json, len);
}

/* The lifecycle "connect" meta event, in the sample's field order. */
static char *lifecycle_json(const cq__sim_client *cl, size_t *len)
{
    cq__jw w;
    char *json;

    if (cq__jw_init(&w) != CQ_OK)
        return NULL;
    cq__jw_open(&w);
    cq__jw_kint(&w, "time", (int64_t)time(NULL));
    cq__jw_kint(&w, "self_id", cl->self_id);
    cq__jw_kstr(&w, "post_type", "meta_event");
    cq__jw_kstr(&w, "meta_event_type", "lifecycle");
    cq__jw_kstr(&w, "sub_type", "connect");
    cq__jw_close(&w);
    json = cq__jw_dup(&w, len);
    cq__jw_free(&w);
    return json;
}

/* A heartbeat as go-cqhttp sends it, with our interval. */
static char *heartbeat_json(const cq__sim_client *cl, size_t *len)
{
    static const char *const stats[] = {"packet_received", "packet_sent",
                                        "packet_lost",     "message_received",
                                        "message_sent",    "disconnect_times",
                                        "lost_times",      "last_message_time"};
    cq__jw w;
    char *json;
    size_t i;

    if (cq__jw_init(&w) != CQ_OK)
        return NULL;
    cq__jw_open(&w);
    cq__jw_kstr(&w, "post_type", "meta_event");
    cq__jw_kstr(&w, "meta_event_type", "heartbeat");
    cq__jw_kint(&w, "time", (int64_t)time(NULL));
    cq__jw_kint(&w, "self_id", cl->self_id);
    cq__jw_key(&w, "status");
    cq__jw_open(&w);
    cq__jw_kbool(&w, "app_enabled", 1);
    cq__jw_kbool(&w, "app_good", 1);
    cq__jw_kbool(&w, "app_initialized", 1);
    cq__jw_kbool(&w, "good", 1);
    cq__jw_kbool(&w, "online", 1);
    cq__jw_knull(&w, "plugins_good");
    cq__jw_key(&w, "stat");
    cq__jw_open(&w);
    for (i = 0; i < sizeof(stats) / sizeof(stats[0]); i++)
        cq__jw_kint(&w, stats[i], 0);
    cq__jw_close(&w);
    cq__jw_close(&w);
    cq__jw_kint(&w, "interval", cl->heartbeat_ms);
    cq__jw_close(&w);
    json = cq__jw_dup(&w, len);
    cq__jw_free(&w);
    return json;
}

/* Is text (len bytes, NUL-terminated) one JSON object within the caps? */
static int is_json_object(const cq__sim_client *cl, const char *text,
                          size_t len)
{
    yajl_val v = NULL;
    int ok = cq__json_parse(&v, text, len, (int)cl->conf->max_depth) == CQ_OK &&
             YAJL_IS_OBJECT(v);

    yajl_tree_free(v);
    return ok;
}

/* Reads an --event-file; NULL after saying why. */
static char *load_file(cq__sim_client *cl, const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cq__buf b;
    int rc;

    if (f == NULL) {
        cq_log(CQ_LOG_ERROR, "--event-file %s: %s", path, strerror(errno));
        return NULL;
    }
    cq__buf_init(&b, (size_t)cl->conf->ws_max_message);
    rc = cq__sim_read_all(f, &b);
    fclose(f);
    if (rc != CQ_OK) {
        cq_log(CQ_LOG_ERROR, "--event-file %s: %s%s", path, cq_strerror(rc),
               rc == CQ_ETOOBIG ? " (over ws_max_message)" : "");
        return NULL;
    }
    if (!is_json_object(cl, b.data, b.len)) {
        cq_log(CQ_LOG_ERROR, "--event-file %s: not a JSON object", path);
        cq__buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return cq__buf_detach(&b);
}

/* The next given event; NULL after saying why. */
static char *build_item(cq__sim_client *cl, const feed_item *it, size_t *len)
{
    cq__sim_event_spec spec;
    char *json;
    int err = CQ_OK;

    if (it->path != NULL)
        return load_file(cl, it->path, len);
    memset(&spec, 0, sizeof(spec));
    spec.kind = CQ__SIM_EV_PRIVATE;
    spec.self_id = cl->self_id;
    spec.user_id = it->user_id;
    spec.text = it->text;
    json = cq__sim_event_build(&spec, len, &err);
    if (json == NULL)
        cq_log(CQ_LOG_ERROR, "--private %" PRId64 ": %s", it->user_id,
               err == CQ_EINVAL ? "TEXT is not valid UTF-8" : cq_strerror(err));
    return json;
}

static void on_stdin(evutil_socket_t fd, short what, void *arg);

/*
 * Takes the next line of stdin into *out (the caller frees it). Returns 1
 * (a line), 0 (end of stdin), -1 (wait: reading is armed) or -2 (an error,
 * said).
 */
static int stdin_line(cq__sim_client *cl, char **out, size_t *len)
{
    struct connect_feed *fd = cl->feed;
    size_t cap = (size_t)cl->conf->ws_max_message;
    int n;

    for (;;) {
        *out = evbuffer_readln(fd->stdin_buf, len, EVBUFFER_EOL_LF);
        if (*out != NULL) {
            fd->stdin_line++;
            return 1;
        }
        if (evbuffer_get_length(fd->stdin_buf) > cap) {
            cq_log(CQ_LOG_ERROR,
                   "stdin line %" PRIu64 " is over %zu bytes (ws_max_message)",
                   fd->stdin_line + 1, cap);
            return -2;
        }
        if (fd->stdin_eof) {
            *len = evbuffer_get_length(fd->stdin_buf);
            if (*len == 0)
                return 0;
            *out = malloc(*len + 1);
            if (*out == NULL) {
                cq_log(CQ_LOG_ERROR, "out of memory");
                return -2;
            }
            evbuffer_remove(fd->stdin_buf, *out, *len);
            (*out)[*len] = '\0';
            fd->stdin_line++;
            return 1;
        }
        if (fd->stdin_polled) {
            event_add(fd->stdin_ev, NULL);
            return -1;
        }
        n = evbuffer_read(fd->stdin_buf, STDIN_FILENO, STDIN_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            cq_log(CQ_LOG_ERROR, "cannot read stdin: %s", strerror(errno));
            return -2;
        }
        if (n == 0)
            fd->stdin_eof = 1;
    }
}

/*
 * The next event to send: 1 with *out set (the caller frees it), 0 when
 * every event is sent, -1 to wait for stdin, -2 on an error (said).
 */
static int next_event(cq__sim_client *cl, char **out, size_t *len)
{
    struct connect_feed *fd = cl->feed;
    int rc;

    if (fd->next < fd->nitems) {
        *out = build_item(cl, &fd->items[fd->next++], len);
        return *out != NULL ? 1 : -2;
    }
    while (fd->use_stdin) {
        rc = stdin_line(cl, out, len);
        if (rc != 1)
            return rc;
        while (*len > 0 &&
               ((*out)[*len - 1] == '\r' || (*out)[*len - 1] == ' '))
            (*out)[--*len] = '\0';
        if (*len > 0 && is_json_object(cl, *out, *len))
            return 1;
        if (*len > 0)
            cq_log(CQ_LOG_WARN,
                   "stdin line %" PRIu64 " is not a JSON object: skipped",
                   fd->stdin_line);
        free(*out);
    }
    return 0;
}

static void client_stop(cq__sim_client *cl, int code);

static void arm_quiet(cq__sim_client *cl)
{
    struct timeval tv = {cl->quiet_ms / 1000, (cl->quiet_ms % 1000) * 1000};

    if (cl->once && cl->fed_all && !cl->stopping)
        evtimer_add(cl->quiet, &tv);
}

static int all_open(const cq__sim_client *cl)
{
    size_t i;

    for (i = 0; i < cl->nconns; i++)
        if (cl->conns[i].state != CQ__SIM_WSC_OPEN || cl->conns[i].dropping)
            return 0;
    return 1;
}

/* Sends events while the event connection takes them. */
static void feed(cq__sim_client *cl)
{
    cq__sim_wsc *c = cl->events;
    char *json;
    size_t len;
    int rc;

    while (!cl->fed_all && !cl->stopping && all_open(cl) &&
           cq__sim_wsc_queued(c) < CQ__SIM_FEED_LOW) {
        rc = next_event(cl, &json, &len);
        if (rc == -1)
            return;
        if (rc == -2) {
            client_stop(cl, 1);
            return;
        }
        if (rc == 0) {
            cl->fed_all = 1;
            cq_log(CQ_LOG_INFO, "%" PRIu64 " events sent", cl->events_out);
            arm_quiet(cl);
            return;
        }
        rc = send_event(c, json, len);
        free(json);
        if (rc != CQ_OK)
            return; /* The connection is going; the feed resumes on open. */
        cl->events_out++;
    }
}

static void on_stdin(evutil_socket_t fd, short what, void *arg)
{
    cq__sim_client *cl = arg;
    int n;

    (void)fd;
    (void)what;
    n = evbuffer_read(cl->feed->stdin_buf, STDIN_FILENO, STDIN_CHUNK);
    if (n == 0) {
        cl->feed->stdin_eof = 1;
    } else if (n < 0 && errno != EINTR && errno != EAGAIN) {
        cq_log(CQ_LOG_ERROR, "cannot read stdin: %s", strerror(errno));
        client_stop(cl, 1);
        return;
    }
    feed(cl);
}

void cq__sim_client_opened(cq__sim_client *cl, cq__sim_wsc *c)
{
    char *json;
    size_t len;

    if (c->carries_events) {
        json = lifecycle_json(cl, &len);
        if (json == NULL || send_event(c, json, len) != CQ_OK)
            cq_log(CQ_LOG_ERROR, "%s: cannot send the lifecycle event",
                   c->role);
        free(json);
    }
    feed(cl);
    arm_quiet(cl);
}

void cq__sim_client_drained(cq__sim_client *cl, cq__sim_wsc *c)
{
    if (c == cl->events)
        feed(cl);
}

void cq__sim_client_called(cq__sim_client *cl)
{
    arm_quiet(cl);
}

static void check_done(cq__sim_client *cl)
{
    size_t i;

    for (i = 0; i < cl->nconns; i++)
        if (cl->conns[i].state != CQ__SIM_WSC_DONE)
            return;
    event_base_loopbreak(cl->base);
}

void cq__sim_client_lost(cq__sim_client *cl, cq__sim_wsc *c)
{
    if (cl->stopping) {
        c->state = CQ__SIM_WSC_DONE;
        check_done(cl);
        return;
    }
    if (cl->reconnect_ms > 0) {
        cq_log(CQ_LOG_INFO, "%s connection: dialling again in %ld ms", c->role,
               cl->reconnect_ms);
        cq__sim_wsc_redial(c, cl->reconnect_ms);
        return;
    }
    client_stop(cl, 1);
}

/* Closes every connection (code 1000), then the loop ends. */
static void client_stop(cq__sim_client *cl, int code)
{
    struct timeval tv = {STOP_DEADLINE_MS / 1000,
                         (STOP_DEADLINE_MS % 1000) * 1000};
    size_t i;

    if (cl->stopping)
        return;
    cl->stopping = 1;
    cl->exit_code = code;
    evtimer_del(cl->quiet);
    if (cl->heartbeat != NULL)
        evtimer_del(cl->heartbeat);
    if (cl->feed->stdin_ev != NULL)
        event_del(cl->feed->stdin_ev);
    evtimer_add(cl->deadline, &tv);
    for (i = 0; i < cl->nconns; i++)
        cq__sim_wsc_close(&cl->conns[i]);
    check_done(cl);
}

static int settled(const cq__sim_client *cl)
{
    size_t i;

    for (i = 0; i < cl->nconns; i++)
        if (cl->conns[i].held != NULL || cq__sim_wsc_queued(&cl->conns[i]) > 0)
            return 0;
    return all_open(cl);
}

static void on_quiet(evutil_socket_t fd, short what, void *arg)
{
    cq__sim_client *cl = arg;

    (void)fd;
    (void)what;
    if (!settled(cl)) {
        arm_quiet(cl);
        return;
    }
    cq_log(CQ_LOG_INFO,
           "--once: %" PRIu64 " events sent, no call for %ld ms: closing",
           cl->events_out, cl->quiet_ms);
    client_stop(cl, 0);
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    cq__sim_client *cl = arg;
    char *json;
    size_t len;

    (void)fd;
    (void)what;
    if (cl->events->state != CQ__SIM_WSC_OPEN)
        return;
    json = heartbeat_json(cl, &len);
    if (json != NULL)
        send_event(cl->events, json, len);
    free(json);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    cq__sim_client *cl = arg;

    (void)fd;
    (void)what;
    cq_log(CQ_LOG_WARN, "connections still open after %d ms: exiting",
           STOP_DEADLINE_MS);
    event_base_loopbreak(cl->base);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    cq__sim_client *cl = arg;

    (void)what;
    if (cl->stopping) {
        event_base_loopbreak(cl->base);
        return;
    }
    cq_log(CQ_LOG_INFO, "signal %d: closing", (int)sig);
    client_stop(cl, 0);
}

/* Drops libevent's own warning when the probe below fails, as expected. */
static void quiet_log(int severity, const char *msg)
{
    (void)severity;
    (void)msg;
}

/* Sets stdin up for the feed: polled when epoll takes it. */
static int setup_stdin(cq__sim_client *cl)
{
    struct connect_feed *fd = cl->feed;
    int rc;

    fd->stdin_buf = evbuffer_new();
    if (fd->stdin_buf == NULL)
        return CQ_ENOMEM;
    fd->stdin_ev = event_new(cl->base, STDIN_FILENO, EV_READ, on_stdin, cl);
    if (fd->stdin_ev == NULL)
        return CQ_ENOMEM;
    event_set_log_callback(quiet_log);
    rc = event_add(fd->stdin_ev, NULL);
    event_set_log_callback(NULL);
    if (rc == 0) {
        fd->stdin_polled = 1;
        event_del(fd->stdin_ev);
        return CQ_OK;
    }
    /* A regular file or /dev/null: read directly, it never blocks. */
    event_free(fd->stdin_ev);
    fd->stdin_ev = NULL;
    return CQ_OK;
}

/* Everything after the arguments; returns the exit status. */
static int run(cq__sim_client *cl, const char *base_target, int split)
{
    char target[CQ__SIM_WS_MAX_TARGET];
    struct timeval hb;
    size_t i;
    int rc = 1;

    cl->base = event_base_new();
    if (cl->base == NULL) {
        cq_log(CQ_LOG_ERROR, "cannot start libevent");
        return 1;
    }
    cl->quiet = evtimer_new(cl->base, on_quiet, cl);
    cl->deadline = evtimer_new(cl->base, on_deadline, cl);
    cl->sigterm = evsignal_new(cl->base, SIGTERM, on_signal, cl);
    cl->sigint = evsignal_new(cl->base, SIGINT, on_signal, cl);
    if (cl->heartbeat_ms > 0)
        cl->heartbeat = event_new(cl->base, -1, EV_PERSIST, on_heartbeat, cl);
    if (cl->quiet == NULL || cl->deadline == NULL || cl->sigterm == NULL ||
        cl->sigint == NULL || (cl->heartbeat_ms > 0 && cl->heartbeat == NULL) ||
        evsignal_add(cl->sigterm, NULL) != 0 ||
        evsignal_add(cl->sigint, NULL) != 0 ||
        (cl->feed->use_stdin && setup_stdin(cl) != CQ_OK)) {
        cq_log(CQ_LOG_ERROR, "cannot set the event loop up");
        goto out;
    }
    if (split) {
        sub_target(base_target, "api/", target, sizeof(target));
        rc = cq__sim_wsc_init(&cl->conns[0], cl, "API", target);
        sub_target(base_target, "event/", target, sizeof(target));
        if (rc == CQ_OK)
            rc = cq__sim_wsc_init(&cl->conns[1], cl, "Event", target);
        cl->nconns = 2;
        cl->events = &cl->conns[1];
    } else {
        rc = cq__sim_wsc_init(&cl->conns[0], cl, "Universal", base_target);
        cl->nconns = 1;
        cl->events = &cl->conns[0];
    }
    if (rc != CQ_OK) {
        cq_log(CQ_LOG_ERROR, "out of memory");
        rc = 1;
        goto out;
    }
    if (cl->heartbeat != NULL) {
        hb.tv_sec = cl->heartbeat_ms / 1000;
        hb.tv_usec = (cl->heartbeat_ms % 1000) * 1000;
        event_add(cl->heartbeat, &hb);
    }
    for (i = 0; i < cl->nconns; i++)
        cq__sim_wsc_dial(&cl->conns[i]);
    event_base_dispatch(cl->base);
    rc = cl->exit_code;
out:
    for (i = 0; i < sizeof(cl->conns) / sizeof(cl->conns[0]); i++)
        cq__sim_wsc_free(&cl->conns[i]);
    if (cl->feed->stdin_ev != NULL)
        event_free(cl->feed->stdin_ev);
    if (cl->feed->stdin_buf != NULL)
        evbuffer_free(cl->feed->stdin_buf);
    if (cl->heartbeat != NULL)
        event_free(cl->heartbeat);
    if (cl->quiet != NULL)
        event_free(cl->quiet);
    if (cl->deadline != NULL)
        event_free(cl->deadline);
    if (cl->sigterm != NULL)
        event_free(cl->sigterm);
    if (cl->sigint != NULL)
        event_free(cl->sigint);
    event_base_free(cl->base);
    return rc;
}

int cq__sim_connect(int argc, char **argv)
{
    cq__sim_client *cl;
    struct connect_feed *fd;
    connect_args a;
    cq__conf conf;
    char **args, base_target[CQ__SIM_WS_MAX_TARGET];
    int *rest, nrest = 0, i, rc, port = 80;

    if (cq__sim_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    memset(&a, 0, sizeof(a));
    a.url = DEFAULT_URL;
    cq__conf_init(&conf);
    cl = calloc(1, sizeof(*cl));
    fd = calloc(1, sizeof(*fd));
    rest = calloc((size_t)argc + 1, sizeof(*rest));
    args = calloc((size_t)argc + 1, sizeof(*args));
    if (fd != NULL)
        fd->items = calloc((size_t)argc + 1, sizeof(*fd->items));
    rc = cl != NULL && fd != NULL && fd->items != NULL && rest != NULL &&
                 args != NULL
             ? 0
             : 1;
    if (rc != 0)
        fprintf(stderr, "%s connect: out of memory\n", CQ__SIM_PROG);
    if (rc == 0)
        rc = cq__sim_conf("connect", &conf, argc, argv, rest, &nrest);
    for (i = 0; rc == 0 && i < nrest; i++)
        args[i] = argv[rest[i]];
    if (rc == 0) {
        cl->conf = &conf;
        cl->feed = fd;
        cl->self_id = CQ__SIM_SELF_ID;
        cl->quiet_ms = DEFAULT_QUIET_MS;
        rc = parse_args(cl, &a, args, nrest);
    }
    if (rc == 0)
        rc = parse_url(cl, a.url, base_target, sizeof(base_target), &port);
    if (rc == 0 && conf.access_token != NULL && conf.access_token[0] != '\0' &&
        snprintf(cl->auth, sizeof(cl->auth), "Token %s", conf.access_token) >=
            (int)sizeof(cl->auth))
        rc = cq__sim_usage_error("connect", "the access token is too long");
    if (rc == 0) {
        cl->world.self_id = cl->self_id;
        cl->world.next_message_id = cq__sim_random32();
        rc = resolve(cl, port);
    }
    if (rc == 0) {
        cl->log = a.log_path != NULL ? fopen(a.log_path, "a") : stdout;
        cl->log_owned = a.log_path != NULL;
        if (cl->log == NULL) {
            cq_log(CQ_LOG_ERROR, "cannot open %s: %s", a.log_path,
                   strerror(errno));
            rc = 1;
        }
    }
    if (rc == 0)
        rc = run(cl, base_target, a.split);
    if (cl != NULL && cl->log_owned && cl->log != NULL)
        fclose(cl->log);
    if (fd != NULL)
        free(fd->items);
    free(fd);
    free(cl);
    free(rest);
    free(args);
    cq__conf_free(&conf);
    return rc;
}
