/*
 * post: the HTTP POST event endpoint (DESIGN.md section 6), independent of
 * where the bytes come from.
 *
 * FastCGI and plain CGI differ only in how parameters and the body are read
 * and where the answer goes, so both fill a cq__post_io and share every
 * check, the dispatch and the answer. One log line per rejection says why.
 *
 * GET /metrics (REQUEST_URI's path) is answered here too, with the counters
 * of lib/metrics.h in the Prometheus text format; every answer to the event
 * endpoint is counted there by its status.
 */
#ifndef CQ_POST_H
#define CQ_POST_H

#include "fcgi/body.h"
#include "lib/api.h"
#include "lib/buf.h"
#include "lib/conf.h"


typedef struct cq__post_io {
    void *arg;
    /* A CGI parameter ("REQUEST_METHOD", "HTTP_X_SIGNATURE"), or NULL. */
    const char *(*param)(void *arg, const char *name);
    /*
     * Reads up to n bytes, waiting at most timeout_ms (> 0) for them.
     * Returns the count, 0 at end of input, or CQ_ETIMEDOUT.
     */
    int (*read)(void *arg, char *buf, int n, int timeout_ms);
    /*
     * Sends n bytes of the answer, after those sent before; returns CQ_OK
     * or CQ_EIO. A large answer goes this way in pieces (fcgi/answer.h)
     * instead of whole in out. May be NULL: every answer is then in out.
     */
    int (*write)(void *arg, const char *p, size_t n);
    /*
     * Plain CGI: a body without CONTENT_LENGTH is empty (RFC 3875 4.2).
     * FastCGI: such a body is read to its end (a chunked upload).
     */
    int cgi;
    /* The calling thread's mapping for bodies, kept across its requests
     * (fcgi/body.h); NULL: the request maps its own and gives it back. */
    cq__body *body;
} cq__post_io;

/*
 * Records now as the process's start time, which GET /metrics reports.
 * Call once before the first request. Cannot fail.
 */
void cq__post_start(void);

/*
 * Handles one request from io and writes the whole CGI answer (a Status
 * header block and maybe a JSON body, or the counters for GET /metrics)
 * into out (emptied first), which the caller sends from out->data + *start
 * to out->data + out->len: a JSON answer is written where it is sent from,
 * after room left for its header block, so *start may be past 0. A large
 * JSON answer is instead sent whole through io->write, out left empty. api
 * may be NULL (API calls then fail with CQ_ENOAPI). Returns the HTTP status,
 * or CQ_ENOMEM (or CQ_ETOOBIG, out's cap) when not even the answer could be
 * written.
 */
int cq__post_handle(const cq__conf *conf, cq__api *api, const cq__post_io *io,
                    cq__buf *out, size_t *start);

#endif
