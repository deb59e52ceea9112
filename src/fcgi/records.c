#include "config.h"

#include <errno.h>
#include <sys/uio.h>

#include <fastcgi.h>

#include "cqhttp.h"
#include "fcgi/records.h"

/* Writes the iov_n buffers of iov to fd whole; 0, or -1 on an error. */
static int write_all(int fd, struct iovec *iov, int iov_n)
{
    while (iov_n > 0) {
        ssize_t k = writev(fd, iov, iov_n);

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        for (; iov_n > 0 && (size_t)k >= iov->iov_len; iov++, iov_n--)
            k -= (ssize_t)iov->iov_len;
        if (iov_n > 0) {
            iov->iov_base = (char *)iov->iov_base + k;
            iov->iov_len -= (size_t)k;
        }
    }
    return 0;
}


/* Answers up to this size go through libfcgi's 8 KiB buffer, which sends
 * them with the end-of-request records in one write. */
#define DIRECT_MIN 16384
/* The most content a FastCGI record holds, and records per writev(). */
#define RECORD_MAX 65535
#define BATCH      16

int cq__fcgi_put(FCGX_Request *req, const char *p, size_t n)
{
    unsigned char head[BATCH][8];
    struct iovec iov[2 * BATCH];
    int k;

    if (n <= DIRECT_MIN)
        return FCGX_PutStr(p, (int)n, req->out) == (int)n ? CQ_OK : CQ_EIO;
    /* What libfcgi holds goes first; it writes nothing when it holds none. */
    if (FCGX_FFlush(req->out) != 0)
        return CQ_EIO;
    while (n > 0) {
        for (k = 0; k < BATCH && n > 0; k++) {
            size_t c = n < RECORD_MAX ? n : RECORD_MAX;
            unsigned char *h = head[k];

            h[0] = FCGI_VERSION_1;
            h[1] = FCGI_STDOUT;
            h[2] = (unsigned char)(req->requestId >> 8);
            h[3] = (unsigned char)req->requestId;
            h[4] = (unsigned char)(c >> 8);
            h[5] = (unsigned char)c;
            h[6] = h[7] = 0; /* No padding; reserved. */
            iov[2 * k].iov_base = h;
            iov[2 * k].iov_len = 8;
            iov[2 * k + 1].iov_base = (char *)p;
            iov[2 * k + 1].iov_len = c;
            p += c;
            n -= c;
        }
        if (write_all(req->ipcFd, iov, 2 * k) != 0)
            return CQ_EIO;
    }
    return CQ_OK;
}
