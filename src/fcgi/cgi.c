/*
 * cgi: cqhttp-fcgi started as a plain CGI program (see cgi.h).
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cqhttp.h"
#include "fcgi/cgi.h"
#include "fcgi/post.h"
#include "lib/api.h"
#include "lib/buf.h"


static const char *cgi_param(void *arg, const char *name)
{
    (void)arg;
    return getenv(name);
}


/* Reads stdin (fd 0) directly, so that poll() sees every byte waiting. */
static int cgi_read(void *arg, char *buf, int n, int timeout_ms)
{
    struct pollfd p = {0, POLLIN, 0};
    ssize_t got;

    (void)arg;
    for (;;) {
        int rc = poll(&p, 1, timeout_ms);

        if (rc == 0)
            return CQ_ETIMEDOUT;
        got = rc > 0 ? read(0, buf, (size_t)n) : -1;
        if (got >= 0)
            return (int)got;
        if (errno != EINTR)
            return 0;
    }
}


static int cgi_write(void *arg, const char *p, size_t n)
{
    (void)arg;
    return fwrite(p, 1, n, stdout) == n ? CQ_OK : CQ_EIO;
}


int cq__cgi_serve(const cq__conf *conf)
{
    cq__post_io io = {NULL, cgi_param, cgi_read, cgi_write, 1, NULL};
    cq__api *api = cq__api_new(conf);
    cq__buf out;
    size_t start;
    int status;

    cq__buf_init(&out, (size_t)conf->max_body + 65536);
    status = cq__post_handle(conf, api, &io, &out, &start);
    if (status < 0)
        fputs("Status: 500 Internal Server Error\r\n\r\n", stdout);
    else if (out.len > start)
        fwrite(out.data + start, 1, out.len - start, stdout);
    fflush(stdout);
    cq__buf_free(&out);
    cq__api_free(api);
    return 0;
}
