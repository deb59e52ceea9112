/*
 * answer: the CGI answer of the event endpoint (fcgi/post.c): its header
 * block, and a quick operation too large to hold whole, sent in bounded
 * pieces instead.
 *
 * An echo bot's answer is as large as the event it got; written whole into
 * one buffer it would be a second copy of the body for as long as the
 * request lasts. A quick operation is therefore written twice when it is
 * large: once to count its bytes (nothing kept past a bound), so that its
 * Content-Length can go first as before, then again straight to the web
 * server, in pieces of at most that bound. The answer's bytes are the same
 * either way.
 */
#ifndef CQ_FCGI_ANSWER_H
#define CQ_FCGI_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "cqhttp.h"
#include "fcgi/post.h"
#include "lib/buf.h"

/*
 * Room kept in front of a JSON answer for its header block, written once the
 * JSON's length is known: the JSON goes into the answer buffer where it is
 * sent from, and is never copied.
 */
#define CQ__HEAD_ROOM 256

/*
 * Writes the CGI header block into h (CQ__HEAD_ROOM bytes; not
 * NUL-terminated) and returns its length: Content-Type and Content-Length
 * only when a JSON body of json_len bytes follows (json), Allow (the methods
 * the path takes) only with 405, WWW-Authenticate with 401. Cannot fail.
 */
size_t cq__answer_head(char *h, int status, const char *allow, int json,
                       uint64_t json_len);

/*
 * Appends c's quick operation (its handlers done) to out, which holds the
 * room for the header block, as cq__ctx_quick_write() does; or, when its
 * JSON is larger than a bound (16 KiB) and io->write is set, sends the
 * whole answer 200 (header block and JSON) through io->write in pieces and
 * leaves out empty. *sent says which. Returns CQ_OK; or, with nothing sent,
 * as cq__ctx_quick_write() (CQ_ETOOBIG also when the JSON would not fit
 * out's cap); or, once sending began, CQ_EIO or CQ_ENOMEM (the answer is
 * then cut short, and nothing more may be sent).
 */
int cq__answer_quick(cq_ctx *c, const cq__post_io *io, cq__buf *out, int *sent);

#endif
