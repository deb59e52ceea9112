/*
 * cq_fcgi_main(): the FastCGI responder, cqhttp-fcgi. Runs under spawn-fcgi
 * (the listening socket is fd 0), or opens its own socket with --listen, or,
 * started as a plain CGI program, answers the one request in its
 * environment and exits. It lives in the library so that a bot author's own
 * program, with its own handlers, is one call (src/fcgi/main.c).
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <fcgiapp.h>

#include "cqhttp_runtime.h"
#include "fcgi/cgi.h"
#include "fcgi/post.h"
#include "fcgi/records.h"
#include "lib/api.h"
#include "lib/conf.h"
#include "lib/dispatch.h"
#include "lib/lifecycle.h"
#include "lib/log.h"
#include "lib/net.h"
#include "lib/sched.h"
#include "runtime/program.h"

/* How long SIGTERM waits for requests in flight before exiting anyway. */
#define SHUTDOWN_WAIT_S 10

typedef struct worker {
    pthread_t thread;
    int index;
    int listen_fd;
    const cq__conf *conf;
    int done;
} worker;

/*
 * A worker frees its answer buffer once it has grown past this, rather than
 * keep one as large as its largest answer for good: a large quick operation
 * is sent in pieces of at most 16 KiB (fcgi/answer.c), so only a large
 * metrics or error answer grows it further.
 */
#define LARGE_BUF (16 * 1024)

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;

/*
 * The parameters the responder reads (fcgi/post.c), found in one pass over
 * the request's environment when the first is asked for: FCGX_GetParam()
 * scans the whole environment for each name.
 */
#define WANTED(name)                                                           \
    {                                                                          \
        name, sizeof(name) - 1                                                 \
    }
static const struct {
    const char *name;
    size_t len; /* Compared first: most names differ in length. */
} wanted[] = {WANTED("REQUEST_METHOD"),   WANTED("CONTENT_LENGTH"),
              WANTED("REMOTE_ADDR"),      WANTED("QUERY_STRING"),
              WANTED("HTTP_X_SIGNATURE"), WANTED("HTTP_AUTHORIZATION"),
              WANTED("HTTP_X_SELF_ID"),   WANTED("REQUEST_URI")};
#define NWANTED (sizeof(wanted) / sizeof(wanted[0]))

typedef struct fcgi_req {
    FCGX_Request req;
    const char *val[NWANTED];
    int scanned;    /* val holds this request's parameters. */
    int timeout_ms; /* The socket's receive timeout, 0 when none is set. */
} fcgi_req;

/* The index in wanted of the name of n bytes at name, or -1. */
static int wanted_index(const char *name, size_t n)
{
    size_t i;

    for (i = 0; i < NWANTED; i++)
        if (wanted[i].len == n && memcmp(name, wanted[i].name, n) == 0)
            return (int)i;
    return -1;
}


static void scan_params(fcgi_req *r)
{
    char **p;
    int i;

    memset(r->val, 0, sizeof(r->val));
    for (p = r->req.envp; p != NULL && *p != NULL; p++) {
        const char *eq = strchr(*p, '=');

        if (eq != NULL && (i = wanted_index(*p, (size_t)(eq - *p))) >= 0 &&
            r->val[i] == NULL)
            r->val[i] = eq + 1;
    }
    r->scanned = 1;
}


static const char *fcgi_param(void *arg, const char *name)
{
    fcgi_req *r = arg;
    int i;

    if (!r->scanned)
        scan_params(r);
    i = wanted_index(name, strlen(name));
    return i >= 0 ? r->val[i] : FCGX_GetParam(name, r->req.envp);
}


/* Sets (timeout_ms > 0) or clears the receive timeout of fd. */
static void recv_timeout(int fd, int timeout_ms)
{
    struct timeval tv;

    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}


/*
 * FCGX_GetStr() blocks until it has all n bytes, however slowly they come,
 * so bytes already buffered are taken alone, and otherwise one byte is asked
 * for: that makes libfcgi fill its buffer with one read() of the socket,
 * which SO_RCVTIMEO bounds. The timeout set stays for the next reads of the
 * request while it is at most an eighth (and 10 ms) longer than the time
 * left, so that a large body costs one setsockopt() rather than two per 8
 * KiB; the worker clears it after the request. When the time runs out the
 * read side is shut, so that libfcgi's close does not wait for a trickling
 * peer (it drains until 2 s pass without data, PITFALLS.md 1.6).
 */
static int fcgi_read(void *arg, char *buf, int n, int timeout_ms)
{
    fcgi_req *r = arg;
    FCGX_Stream *in = r->req.in;
    int avail = (int)(in->stop - in->rdNext), got, err;

    if (avail > 0)
        return FCGX_GetStr(buf, n < avail ? n : avail, in);
    if (r->timeout_ms == 0 ||
        r->timeout_ms > timeout_ms + timeout_ms / 8 + 10) {
        recv_timeout(r->req.ipcFd, timeout_ms);
        r->timeout_ms = timeout_ms;
    }
    got = FCGX_GetStr(buf, 1, in);
    err = FCGX_GetError(in);
    if (got == 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
        shutdown(r->req.ipcFd, SHUT_RD);
        return CQ_ETIMEDOUT;
    }
    return got;
}


static int fcgi_write(void *arg, const char *p, size_t n)
{
    return cq__fcgi_put(&((fcgi_req *)arg)->req, p, n);
}


static void *worker_main(void *arg)
{
    worker *w = arg;
    fcgi_req r;
    FCGX_Request *req = &r.req;
    cq__api *api = cq__api_new(w->conf);
    cq__body body = {NULL, 0};
    cq__post_io io = {&r, fcgi_param, fcgi_read, fcgi_write, 0, &body};
    cq__buf out;
    size_t start;
    int status;

    cq__buf_init(&out, (size_t)w->conf->max_body + 65536);
    if (api == NULL || FCGX_InitRequest(req, w->listen_fd, 0) != 0) {
        cq_log(CQ_LOG_ERROR, "worker %d cannot start: out of memory", w->index);
        goto out;
    }
    while (FCGX_Accept_r(req) == 0) {
        r.scanned = 0;
        r.timeout_ms = 0;
        status = cq__post_handle(w->conf, api, &io, &out, &start);
        /* Cleared for the next request on a kept connection (nginx's
         * fastcgi_keep_conn); one closed after this request is left as it
         * is, which saves a system call per request. */
        if (r.timeout_ms != 0 && req->keepConnection)
            recv_timeout(req->ipcFd, 0);
        /* A large answer has been sent already, out left empty. */
        if (status < 0)
            FCGX_PutS("Status: 500 Internal Server Error\r\n\r\n", req->out);
        else if (out.len > start)
            cq__fcgi_put(req, out.data + start, out.len - start);
        FCGX_Finish_r(req);
        /* A large answer's buffer is given back, not kept per thread. */
        if (out.cap > LARGE_BUF)
            cq__buf_free(&out);
    }
    FCGX_Free(req, 1);
out:
    cq__body_free(&body);
    cq__buf_free(&out);
    cq__api_free(api);
    pthread_mutex_lock(&done_lock);
    w->done = 1;
    pthread_cond_signal(&done_cond);
    pthread_mutex_unlock(&done_lock);
    return NULL;
}


/* Opens "host:port" or a Unix socket path; returns the fd or -1. */
static int open_listen(const char *addr, int backlog)
{
    int fd = -1, one = 1;

    if (cq__net_is_hostport(addr)) {
        struct addrinfo *res, *ai;
        char err[300];

        if (cq__net_resolve_listen(addr, &res, err, sizeof(err)) != CQ_OK) {
            cq_log(CQ_LOG_ERROR, "--listen %s", err);
            return -1;
        }
        for (ai = res; ai != NULL; ai = ai->ai_next) {
            fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
            if (fd < 0)
                continue;
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
                listen(fd, backlog) == 0)
                break;
            close(fd);
            fd = -1;
        }
        freeaddrinfo(res);
    } else {
        struct sockaddr_un sa;
        char err[512];

        /* A live socket is another instance's: never removed. */
        if (cq__net_unix_claim(addr, &sa, err, sizeof(err)) != CQ_OK) {
            cq_log(CQ_LOG_ERROR, "--listen %s", err);
            return -1;
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        /* The web server's group may connect; nobody else. */
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
            chmod(addr, 0660) != 0 || listen(fd, backlog) != 0) {
            close(fd);
            fd = -1;
        }
    }
    if (fd < 0)
        cq_log(CQ_LOG_ERROR, "--listen %s: %s", addr, strerror(errno));
    return fd;
}


/* Waits for SIGTERM or SIGINT, reopening the log file on SIGHUP. */
static void wait_for_stop(const sigset_t *set, const char *log_file)
{
    int sig = 0;

    for (;;) {
        if (sigwait(set, &sig) != 0)
            continue;
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (sig == SIGHUP && log_file != NULL) {
            /* After logrotate: the same path, a new file. */
            if (cq__log_open(log_file) == CQ_OK)
                cq_log(CQ_LOG_INFO, "SIGHUP: log file reopened");
            continue;
        }
        cq_log(CQ_LOG_INFO, "signal %d: nothing to do (no log_file)", sig);
    }
    cq_log(CQ_LOG_INFO,
           "signal %d: finishing requests in flight (up to %d s), then exiting",
           sig, SHUTDOWN_WAIT_S);
}


/*
 * Stops the first n workers: libfcgi's own handler only sets a flag, which a
 * thread blocked in accept() never sees (PITFALLS.md 1.6), so the listening
 * socket is shut down to wake them. Waits at most SHUTDOWN_WAIT_S for them,
 * joins those that finished and detaches the others. Returns how many are
 * still busy: they keep using the settings and the worker array, which the
 * caller must then leave allocated.
 */
static int stop_workers(int listen_fd, worker *w, int n)
{
    struct timespec deadline;
    int i, left = 0;

    FCGX_ShutdownPending();
    shutdown(listen_fd, SHUT_RDWR);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += SHUTDOWN_WAIT_S;
    pthread_mutex_lock(&done_lock);
    for (;;) {
        for (left = 0, i = 0; i < n; i++)
            left += !w[i].done;
        if (left == 0 || pthread_cond_timedwait(&done_cond, &done_lock,
                                                &deadline) == ETIMEDOUT)
            break;
    }
    for (left = 0, i = 0; i < n; i++) {
        if (w[i].done) {
            pthread_join(w[i].thread, NULL);
        } else {
            pthread_detach(w[i].thread);
            left++;
        }
    }
    pthread_mutex_unlock(&done_lock);
    if (left > 0)
        cq_log(CQ_LOG_WARN, "%d workers still busy after %d s; exiting anyway",
               left, SHUTDOWN_WAIT_S);
    return left;
}


/*
 * Starts conf->threads workers on listen_fd. Returns the array, or NULL
 * after stopping any that started (out of memory, or a thread that could
 * not start); *busy is set as stop_workers() returns.
 */
static worker *start_workers(const cq__conf *conf, int listen_fd, int *busy)
{
    worker *w = calloc((size_t)conf->threads, sizeof(*w));
    int i;

    *busy = 0;
    if (w == NULL) {
        cq_log(CQ_LOG_ERROR, "out of memory starting %ld threads",
               conf->threads);
        return NULL;
    }
    for (i = 0; i < conf->threads; i++) {
        w[i].index = i;
        w[i].listen_fd = listen_fd;
        w[i].conf = conf;
        if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) {
            cq_log(CQ_LOG_ERROR, "cannot start thread %d", i);
            *busy = stop_workers(listen_fd, w, i);
            if (*busy == 0)
                free(w);
            return NULL;
        }
    }
    return w;
}


static void usage(void *out)
{
    FILE *f = out;

    fprintf(f, "Usage: %s [--listen ADDR] [settings]\n", cq__program_name());
    fprintf(
        f, "\n"
           "The cqhttp FastCGI responder: receives OneBot events that the web\n"
           "server forwards (HTTP POST), runs the compiled-in handlers and\n"
           "answers with their quick operation.\n"
           "\n"
           "Modes:\n"
           "  under spawn-fcgi  the listening socket is fd 0 (the usual way)\n"
           "  --listen ADDR     open ADDR (host:port or a Unix socket path)\n"
           "  as a CGI program  answer the one request in the environment\n"
           "\n"
           "  --help            this text\n"
           "  --version         print the version\n"
           "\n");
    cq__conf_usage(f);
}


/*
 * Finds the FastCGI socket: the one --listen names, else fd 0 from
 * spawn-fcgi, else none (a CGI request, served here). Returns -1 with
 * *listen_fd set when workers should start, else the exit code.
 */
static int choose_socket(const cq__conf *conf, int *listen_fd)
{
    if (conf->listen != NULL) {
        *listen_fd = open_listen(conf->listen, (int)conf->backlog);
        return *listen_fd < 0 ? 1 : -1;
    }
    if (!FCGX_IsCGI()) {
        *listen_fd = 0;
        return -1;
    }
    if (getenv("REQUEST_METHOD") == NULL) {
        fprintf(stderr,
                "%s: no FastCGI socket on fd 0 and no CGI "
                "request in the environment.\nStart it under spawn-fcgi, "
                "give --listen ADDR, or run it as a CGI program.\n",
                cq__program_name());
        return 2;
    }
    return cq__cgi_serve(conf);
}


/*
 * Signals are taken by sigwait() in main; blocking them before any thread
 * exists (and before FCGX_Init installs its handlers) keeps them off the
 * workers.
 */
static void block_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}


/* The start-up line, and the warnings an operator should see once. */
static void log_start(const cq__conf *conf, int nhandlers)
{
    cq_log(CQ_LOG_INFO, "%s %s: %ld threads, %d handlers, API %s%s",
           cq__program_name(), cq__program_version(), conf->threads, nhandlers,
           conf->api_root ? conf->api_root : "none",
           conf->secret ? ", signatures required" : "");
    if (conf->secret == NULL)
        cq_log(CQ_LOG_WARN,
               "no secret set: anyone who can reach this responder can post "
               "events (an access_token alone does not stop them)");
    cq__conf_warn_ignored(conf, CQ__CONF_FCGI);
}


/*
 * Fixes malloc's mmap threshold at 128 KiB (glibc's initial value). Bodies
 * are not malloc'd (fcgi/body.h), but a large tree's arena chunk or a large
 * metrics answer may be: such a block is then mapped for its request alone
 * and given back at its end. Left to itself, glibc raises the threshold to
 * the size of each mapped block freed (up to 32 MiB), after which such
 * blocks come from the thread's heap and stay resident there, with the
 * smaller blocks of earlier requests that they could not reuse (2.6 MiB on 4
 * threads after 64 and 512 KiB bodies, when bodies were malloc'd).
 */
static void fix_malloc(void)
{
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}


int cq_fcgi_main(int argc, char **argv)
{
    cq__conf conf;
    int listen_fd = -1, nhandlers, status, busy = 0;
    sigset_t set;
    worker *w = NULL;

    fix_malloc();
    cq__conf_init(&conf);
    cq__program_start(argv, "cqhttp-fcgi");
    cq__post_start();
    status = cq__conf_main_args(&conf, argc, argv, cq__program_name(),
                                cq__program_version(), usage);
    if (status >= 0) {
        cq__conf_free(&conf);
        return status;
    }
    status = 0;
    cq__log_setup(cq__program_name(), conf.log_level);
    if (conf.log_file != NULL && cq__log_open(conf.log_file) != CQ_OK) {
        cq__conf_free(&conf);
        return 1;
    }

    block_signals(&set);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
        cq_log(CQ_LOG_ERROR, "libcurl cannot start");
        cq__conf_free(&conf);
        return 1;
    }
    /* Startup hooks may call the API (cq_ctx_for), so its source is set. */
    cq__sched_set_source(&conf, NULL, NULL);
    status = cq__lifecycle_start(&conf, &nhandlers);
    if (status >= 0)
        goto done;
    cq__sched_none(cq__program_name());
    if (FCGX_Init() != 0) {
        cq_log(CQ_LOG_ERROR, "libfcgi cannot start");
        status = 1;
        goto done;
    }
    status = choose_socket(&conf, &listen_fd);
    if (status >= 0)
        goto done;
    status = 0;
    log_start(&conf, nhandlers);
    w = start_workers(&conf, listen_fd, &busy);
    if (w != NULL) {
        wait_for_stop(&set, conf.log_file);
        busy = stop_workers(listen_fd, w, (int)conf.threads);
    }
    if (conf.listen != NULL && !cq__net_is_hostport(conf.listen))
        unlink(conf.listen); /* The socket this process made. */
    if (busy > 0) {
        /* Busy workers still read the settings: leave them to the exit. */
        cq_log(CQ_LOG_INFO, "stopped");
        return 0;
    }
    if (w == NULL) {
        status = 1;
        goto done;
    }
    cq_log(CQ_LOG_INFO, "stopped");
    free(w);
done:
    cq__lifecycle_stop(); /* A no-op unless the startup hooks ran. */
    cq__sched_set_source(NULL, NULL, NULL);
    cq__dispatch_reset();
    curl_global_cleanup();
    cq__conf_free(&conf);
    return status;
}
