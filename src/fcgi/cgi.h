/*
 * cgi: cqhttp-fcgi started as a plain CGI program, with no FastCGI socket:
 * the one request is in the environment and on stdin, and its answer goes
 * to stdout. It shares every check, the dispatch and the answer with the
 * FastCGI path (fcgi/post.h); only where the bytes come from differs.
 */
#ifndef CQ_FCGI_CGI_H
#define CQ_FCGI_CGI_H

#include "lib/conf.h"

/* Serves the one CGI request in the environment; returns the exit code. */
int cq__cgi_serve(const cq__conf *conf);

#endif
