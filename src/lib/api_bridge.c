#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cqhttp.h"
#include "lib/api.h"
#include "lib/caps.h"
#include "lib/api_bridge.h"
#include "lib/buf.h"
#include "lib/json.h"

/* Answers above this are refused, as over HTTP. */
/* The bridge times calls out itself; this margin lets its answer arrive. */
#define MARGIN_MS 2000

struct cq__api_bridge {
    const cq__conf *conf;
    int fd; /* -1 when not connected. */
    cq__buf line;
};

cq__api_bridge *cq__api_bridge_new(const cq__conf *conf)
{
    cq__api_bridge *b = calloc(1, sizeof(*b));

    if (b == NULL)
        return NULL;
    b->conf = conf;
    b->fd = -1;
    cq__buf_init(&b->line, CQ__CAP_ANSWER);
    return b;
}


static void disconnect(cq__api_bridge *b)
{
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
}


void cq__api_bridge_free(cq__api_bridge *b)
{
    if (b == NULL)
        return;
    disconnect(b);
    cq__buf_free(&b->line);
    free(b);
}


/*
 * Connects to the bridge's API socket. Returns CQ_OK, or CQ_ENOAPI when the
 * bridge cannot be reached (path too long, no socket, nobody listening).
 */
static int connect_bridge(cq__api_bridge *b)
{
    struct sockaddr_un sa;
    const char *path = b->conf->bridge_socket;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa.sun_path))
        return CQ_ENOAPI;
    strcpy(sa.sun_path, path);
    b->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (b->fd < 0)
        return CQ_ENOAPI;
    if (connect(b->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        cq_log(CQ_LOG_DEBUG, "bridge %s: %s", path, strerror(errno));
        disconnect(b);
        return CQ_ENOAPI;
    }
    return CQ_OK;
}


/* Sends all n bytes. Returns CQ_OK or CQ_ENETWORK. */
static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return CQ_ENETWORK;
        p += k;
        n -= (size_t)k;
    }
    return CQ_OK;
}


static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}


/* Reads one answer line into b->line; 0, CQ_ETIMEDOUT or CQ_ENETWORK. */
static int read_line(cq__api_bridge *b, long timeout_ms)
{
    struct timespec t0;
    char chunk[16384];

    clock_gettime(CLOCK_MONOTONIC, &t0);
    cq__buf_reset(&b->line);
    for (;;) {
        struct pollfd pfd = {b->fd, POLLIN, 0};
        long left = timeout_ms - elapsed_ms(&t0);
        ssize_t k;
        int rc;

        if (left <= 0)
            return CQ_ETIMEDOUT;
        rc = poll(&pfd, 1, (int)left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc == 0)
            return CQ_ETIMEDOUT;
        k = recv(b->fd, chunk, sizeof(chunk), 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return CQ_ENETWORK;
        if (cq__buf_add(&b->line, chunk, (size_t)k) != CQ_OK)
            return CQ_ENETWORK;
        if (memchr(chunk, '\n', (size_t)k) != NULL)
            return CQ_OK;
    }
}


/*
 * Maps a bridge-side failure ("bridge": WHY) back to a code. The bridge
 * writes WHY from its CQ_E* code through the one table in
 * src/bridge/bridge.c (cq__bridge_ipc_name).
 */
static int bridge_error(const cq_result *out, const char **why)
{
    *why = cq_value_string(cq_value_get(cq__api_result_root(out), "bridge"));
    if (*why == NULL)
        return CQ_OK;
    if (strcmp(*why, "no_connection") == 0)
        return CQ_ENOAPI;
    if (strcmp(*why, "timeout") == 0)
        return CQ_ETIMEDOUT;
    if (strcmp(*why, "bad_request") == 0)
        return CQ_EINVAL;
    return CQ_ENETWORK;
}


static int judge(cq__api_bridge *b, cq_result *out)
{
    const char *why, *msg, *detail;
    size_t len = b->line.len;
    int rc, berr;

    while (len > 0 &&
           (b->line.data[len - 1] == '\n' || b->line.data[len - 1] == '\r'))
        len--;
    b->line.data[len] = '\0';
    rc = cq__api_result_from_body(b->line.data, len, out);
    if (cq__api_result_root(out) == NULL)
        return rc;
    berr = bridge_error(out, &why);
    if (berr == CQ_OK)
        return rc;
    msg = cq_value_string(cq_value_get(cq__api_result_root(out), "msg"));
    /* The strings live in the tree: write the detail before freeing it,
     * and keep it across the free. */
    cq__api_fail(out, berr, "bridge: %s%s%s", why, msg ? ": " : "",
                 msg ? msg : "");
    detail = out->detail;
    out->detail = NULL;
    cq_result_free(out);
    out->err = berr;
    out->detail = detail;
    return berr;
}


/* Builds the request line; NULL when out of memory. */
static char *request_line(int64_t self_id, const char *action,
                          const char *params)
{
    cq__buf req;

    cq__buf_init(&req, CQ__CAP_REQUEST);
    /* action has only [A-Za-z0-9_.] and params is a checked JSON object. */
    if (cq__buf_printf(&req, "{\"action\":\"%s\",\"params\":%s", action,
                       params) != CQ_OK)
        return NULL;
    if (self_id > 0 &&
        cq__buf_printf(&req, ",\"self_id\":%lld", (long long)self_id) != CQ_OK)
        return NULL;
    if (cq__buf_addstr(&req, "}\n") != CQ_OK)
        return NULL;
    return cq__buf_detach(&req);
}


int cq__api_bridge_call(cq__api_bridge *b, int64_t self_id, const char *action,
                        const char *params, cq_result *out)
{
    char *req = request_line(self_id, action, params);
    int rc, attempt;

    if (req == NULL)
        return cq__api_fail(out, CQ_ENOMEM, "out of memory");
    /*
     * A kept connection may have been closed by a bridge restart: a failed
     * send means the request never left, so one new connection is tried.
     */
    for (attempt = 0; attempt < 2; attempt++) {
        if (b->fd < 0 && connect_bridge(b) != CQ_OK) {
            free(req);
            return CQ_ENOAPI;
        }
        if (send_all(b->fd, req, strlen(req)) == CQ_OK)
            break;
        disconnect(b);
    }
    free(req);
    if (attempt == 2)
        return CQ_ENOAPI;
    rc = read_line(b, b->conf->api_timeout_ms + MARGIN_MS);
    if (rc != CQ_OK) {
        /* The answer may still come later: the connection is out of step. */
        disconnect(b);
        return cq__api_fail(out, rc, "%s",
                            rc == CQ_ETIMEDOUT
                                ? "no answer from the bridge in time"
                                : "bridge connection lost mid-call");
    }
    return judge(b, out);
}
