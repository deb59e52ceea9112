/*
 * API round trips per second through a Unix socket, one call at a time, as
 * a responder's thread makes them through cqhttp-bridge's API socket; and
 * the reference server for it.
 *
 *   bridge-calls client SOCKET SECONDS [ACTION [WINDOW]]
 *       Sends {"action": ACTION (get_status), "id": N} and a newline, reads
 *       the answer line, again, for SECONDS after a short warm-up; with
 *       WINDOW (1) calls in flight, a new one sent for each answer read. Prints
 *       "<calls> calls in <s> s: <r> calls/s, <f> not ok", where "not ok"
 *       counts answers without "status":"ok".
 *   bridge-calls serve SOCKET
 *       A trivial server: answers every line at once with a canned OneBot
 *       answer of the size a get_status answer has, one client at a time,
 *       until SIGTERM. Prints "ready" on stdout once listening.
 *
 * Plain POSIX, single-threaded, blocking sockets: what is measured is the
 * other side, not this program.
 */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES (1u << 20)

static const char canned[] =
    "{\"data\":{\"app_enabled\":true,\"app_good\":true,\"app_initialized\":"
    "true,\"good\":true,\"online\":true,\"plugins_good\":null,\"stat\":{"
    "\"packet_received\":0,\"packet_sent\":0}},\"retcode\":0,\"status\":"
    "\"ok\"}\n";

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path)) {
        fprintf(stderr, "bridge-calls: %s: path too long\n", path);
        return -1;
    }
    strcpy(sa->sun_path, path);
    return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
    ssize_t k;

    while (n > 0) {
        k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/*
 * A line reader over a fixed buffer. Returns the line's length (its
 * newline included, moved to the front of buf), 0 at the end, -1 on error.
 */
typedef struct reader {
    int fd;
    char *buf;
    size_t len, used; /* used: the last line's bytes, dropped next time. */
} reader;

static long read_line(reader *r)
{
    char *nl;
    ssize_t k;

    if (r->used > 0) {
        memmove(r->buf, r->buf + r->used, r->len - r->used);
        r->len -= r->used;
        r->used = 0;
    }
    for (;;) {
        nl = memchr(r->buf, '\n', r->len);
        if (nl != NULL) {
            r->used = (size_t)(nl - r->buf) + 1;
            return (long)r->used;
        }
        if (r->len == LINE_MAX_BYTES)
            return -1;
        k = read(r->fd, r->buf + r->len, LINE_MAX_BYTES - r->len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k == 0 ? 0 : -1;
        r->len += (size_t)k;
    }
}

static int run_client(const char *path, double seconds, const char *action,
                      long window)
{
    struct sockaddr_un sa;
    reader r = {0};
    char req[512];
    double start, end, t;
    long calls = 0, not_ok = 0, n, id = 0, inflight = 0;
    int fd, len, warm = 1;

    if (fill_addr(&sa, path) != 0)
        return 1;
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        fprintf(stderr, "bridge-calls: connect %s: %s\n", path,
                strerror(errno));
        return 1;
    }
    r.fd = fd;
    r.buf = malloc(LINE_MAX_BYTES);
    if (r.buf == NULL)
        return 1;
    start = now();
    end = start + 0.3; /* Warm-up first, not counted. */
    for (;;) {
        t = now();
        if (t >= end) {
            if (!warm)
                break;
            warm = 0;
            start = t;
            end = t + seconds;
            calls = not_ok = 0;
        }
        /* Up to window calls in flight: a new one for each answer. */
        while (inflight < window) {
            len = snprintf(req, sizeof(req), "{\"action\":\"%s\",\"id\":%ld}\n",
                           action, ++id);
            if (write_all(fd, req, (size_t)len) != 0) {
                fprintf(stderr, "bridge-calls: write: %s\n", strerror(errno));
                goto out;
            }
            inflight++;
        }
        n = read_line(&r);
        if (n <= 0) {
            fprintf(stderr, "bridge-calls: the server closed the socket\n");
            break;
        }
        inflight--;
        calls++;
        if (memmem(r.buf, (size_t)n, "\"status\":\"ok\"", 13) == NULL)
            not_ok++;
    }
out:
    t = now() - start;
    printf("%ld calls in %.2f s: %.0f calls/s, %ld not ok\n", calls, t,
           (double)calls / t, not_ok);
    free(r.buf);
    close(fd);
    return not_ok > 0 || calls == 0;
}


static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static int run_server(const char *path)
{
    struct sockaddr_un sa;
    struct sigaction act;
    reader r = {0};
    int lfd, fd;

    memset(&act, 0, sizeof(act));
    act.sa_handler = on_term; /* No SA_RESTART: accept() and read() end. */
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    if (fill_addr(&sa, path) != 0)
        return 1;
    unlink(path);
    lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(lfd, 16) != 0) {
        fprintf(stderr, "bridge-calls: listen %s: %s\n", path, strerror(errno));
        return 1;
    }
    r.buf = malloc(LINE_MAX_BYTES);
    if (r.buf == NULL)
        return 1;
    printf("ready\n");
    fflush(stdout);
    while (!stop) {
        fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        r.fd = fd;
        r.len = r.used = 0;
        while (!stop && read_line(&r) > 0)
            if (write_all(fd, canned, sizeof(canned) - 1) != 0)
                break;
        close(fd);
    }
    free(r.buf);
    close(lfd);
    unlink(path);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 4 && strcmp(argv[1], "client") == 0)
        return run_client(argv[2], atof(argv[3]),
                          argc > 4 ? argv[4] : "get_status",
                          argc > 5 ? atol(argv[5]) : 1);
    if (argc == 3 && strcmp(argv[1], "serve") == 0)
        return run_server(argv[2]);
    fprintf(stderr,
            "usage: bridge-calls client SOCKET SECONDS [ACTION [WINDOW]]\n"
            "       bridge-calls serve SOCKET\n");
    return 2;
}
