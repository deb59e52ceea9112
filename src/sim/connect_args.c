/*
 * connect_args: the options of "cqhttp-sim connect", its usage text, and
 * the URL: split into host, Host header and target, and resolved once.
 * Bad usage is said here, once, and returned as CQ_EINVAL; cq__sim_connect()
 * turns it into the exit status.
 */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cqhttp.h"
#include "sim/connect.h"

#define DEFAULT_URL      "ws://127.0.0.1:8081/ws/"
#define DEFAULT_QUIET_MS 500

/* Says what is wrong with the usage and evaluates to CQ_EINVAL. */
#define USAGE(...) (cq__sim_usage_error("connect", __VA_ARGS__), CQ_EINVAL)

void cq__sim_connect_usage(FILE *f)
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
        "  --forward HOST:PORT    instead of dialing URL, serve forward "
        "WebSocket there\n"
        "                         (the bridge's ws_forward dials it): one "
        "connection at\n"
        "                         a time, checked against the access token; "
        "after it ends,\n"
        "                         the next one is awaited\n"
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
        "  --group GROUP USER TEXT\n"
        "                         send a group message event (repeatable)\n"
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
        return USAGE("%s: \"%s\" is not a number of ms from 1 to 86400000",
                     flag, s);
    *out = v;
    return CQ_OK;
}


/* Reads the port after the colon, up to end; CQ_OK or CQ_EINVAL. */
static int parse_port(const char *colon, const char *end, int *port)
{
    char *stop;
    long v;

    errno = 0;
    v = strtol(colon + 1, &stop, 10);
    if (colon + 1 == end || stop != end || errno != 0 || v < 1 || v > 65535)
        return USAGE("--url: the port is not 1-65535");
    *port = (int)v;
    return CQ_OK;
}


/*
 * Splits a ws:// URL into the client's host, port and Host header and the
 * base target (path and query) in base. Returns CQ_OK or CQ_EINVAL.
 */
static int parse_url(cq__sim_client *cl, const char *url, char *base,
                     size_t baselen, int *port)
{
    const char *p, *auth_end, *host, *colon = NULL;
    size_t hlen;

    if (strncasecmp(url, "wss://", 6) == 0)
        return USAGE("--url: wss:// is not supported (put a TLS proxy in "
                     "front, or use ws://)");
    if (strncasecmp(url, "ws://", 5) != 0)
        return USAGE("--url \"%s\" does not start with ws://", url);
    p = url + 5;
    auth_end = p + strcspn(p, "/?#");
    if (memchr(p, '@', (size_t)(auth_end - p)) != NULL)
        return USAGE("--url: user information is not supported (use "
                     "--access-token)");
    host = p;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(auth_end - p));

        if (rb == NULL)
            return USAGE("--url: unclosed '['");
        host = p + 1;
        hlen = (size_t)(rb - host);
        if (rb + 1 < auth_end && rb[1] != ':')
            return USAGE("--url: bad port");
        if (rb + 1 < auth_end)
            colon = rb + 1;
    } else {
        colon = memchr(p, ':', (size_t)(auth_end - p));
        hlen = (size_t)((colon != NULL ? colon : auth_end) - p);
    }
    *port = 80;
    if (colon != NULL && parse_port(colon, auth_end, port) != CQ_OK)
        return CQ_EINVAL;
    if (hlen == 0 || hlen >= sizeof(cl->host) ||
        (size_t)(auth_end - p) >= sizeof(cl->host_header))
        return USAGE("--url: no host, or too long");
    if (strchr(auth_end, '#') != NULL)
        return USAGE("--url: no #fragment, please");
    memcpy(cl->host, host, hlen);
    cl->host[hlen] = '\0';
    memcpy(cl->host_header, p, (size_t)(auth_end - p));
    cl->host_header[auth_end - p] = '\0';
    if (snprintf(base, baselen, "%s%s", *auth_end == '/' ? "" : "/",
                 auth_end) >= (int)baselen - 16)
        return USAGE("--url: the path is too long");
    return CQ_OK;
}


void cq__sim_connect_target(const char *base, const char *sub, char *out,
                            size_t len)
{
    size_t n = strcspn(base, "?");

    snprintf(out, len, "%.*s%s%s%s", (int)n, base,
             n > 0 && base[n - 1] == '/' ? "" : "/", sub, base + n);
}


/* Resolves the host once; CQ_OK, or CQ_ENETWORK after saying why. */
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
        return CQ_ENETWORK;
    }
    memcpy(&cl->addr, ai->ai_addr, ai->ai_addrlen);
    cl->addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    return CQ_OK;
}


int cq__sim_connect_url(cq__sim_client *cl, const char *url, char *base,
                        size_t baselen)
{
    int port, rc = parse_url(cl, url, base, baselen, &port);

    return rc == CQ_OK ? resolve(cl, port) : rc;
}


/* Whether f is an option that takes a value. */
static int takes_value(const char *f)
{
    static const char *const names[] = {
        "--url",      "--log",          "--self-id",
        "--fault",    "--event-file",   "--heartbeat-ms",
        "--quiet-ms", "--reconnect-ms", "--forward"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(f, names[i]) == 0)
            return 1;
    return 0;
}


/* Stores the value of an option that takes one. CQ_OK or CQ_EINVAL. */
static int parse_value(cq__sim_client *cl, const char *f, const char *val,
                       const char **url, const char **log_path)
{
    char err[512];

    if (strcmp(f, "--url") == 0) {
        *url = val;
    } else if (strcmp(f, "--forward") == 0) {
        cl->listen = val;
    } else if (strcmp(f, "--log") == 0) {
        *log_path = val;
    } else if (strcmp(f, "--self-id") == 0) {
        if (cq__sim_parse_id(val, &cl->self_id) != CQ_OK)
            return USAGE("--self-id: \"%s\" is not a QQ number", val);
    } else if (strcmp(f, "--event-file") == 0) {
        cq__sim_feed_add_file(cl->feed, val);
    } else if (strcmp(f, "--heartbeat-ms") == 0) {
        return parse_ms(f, val, &cl->heartbeat_ms);
    } else if (strcmp(f, "--quiet-ms") == 0) {
        return parse_ms(f, val, &cl->quiet_ms);
    } else if (strcmp(f, "--reconnect-ms") == 0) {
        return parse_ms(f, val, &cl->reconnect_ms);
    } else if (cq__sim_core_add_fault(&cl->core, val, 0, err, sizeof(err)) !=
               CQ_OK) {
        return USAGE("%s", err); /* --fault */
    }
    return CQ_OK;
}


/*
 * --private USER TEXT or --group GROUP USER TEXT at args[*i]; moves *i past
 * them.
 */
static int parse_message(cq__sim_client *cl, char **args, int n, int *i)
{
    int group = strcmp(args[*i], "--group") == 0, k;
    int64_t ids[2] = {0, 0};

    if (*i + 2 + group >= n)
        return USAGE("%s needs %sUSER and TEXT", args[*i],
                     group ? "GROUP, " : "");
    for (k = 0; k <= group; k++)
        if (cq__sim_parse_id(args[*i + 1 + k], &ids[k]) != CQ_OK)
            return USAGE("%s: \"%s\" is not a QQ number or group id", args[*i],
                         args[*i + 1 + k]);
    cq__sim_feed_add_message(cl->feed, group ? ids[0] : 0, ids[group],
                             args[*i + 2 + group]);
    *i += 2 + group;
    return CQ_OK;
}


int cq__sim_connect_args(cq__sim_client *cl, char **args, int n,
                         const char **url, const char **log_path, int *split)
{
    int i, rc = CQ_OK;

    *url = DEFAULT_URL;
    cl->self_id = CQ__SIM_SELF_ID;
    cl->quiet_ms = DEFAULT_QUIET_MS;
    for (i = 0; rc == CQ_OK && i < n; i++) {
        const char *f = args[i], *val = i + 1 < n ? args[i + 1] : NULL;

        if (strcmp(f, "--split") == 0) {
            *split = 1;
        } else if (strcmp(f, "--once") == 0) {
            cl->once = 1;
        } else if (strcmp(f, "--stdin-events") == 0) {
            cq__sim_feed_use_stdin(cl->feed);
        } else if (strcmp(f, "--private") == 0 || strcmp(f, "--group") == 0) {
            rc = parse_message(cl, args, n, &i);
        } else if (!takes_value(f)) {
            rc = USAGE("%s \"%s\"",
                       f[0] == '-' ? "unknown option" : "unexpected argument",
                       f);
        } else if (val == NULL) {
            rc = USAGE("%s needs a value", f);
        } else {
            rc = parse_value(cl, f, val, url, log_path);
            i++;
        }
    }
    return rc;
}
