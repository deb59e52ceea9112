/*
 * records: a large answer framed into FastCGI records here and written
 * straight to the web server's socket, past libfcgi's 8 KiB buffer.
 */
#ifndef CQ_FCGI_RECORDS_H
#define CQ_FCGI_RECORDS_H

#include <stddef.h>

#include <fcgiapp.h>

/*
 * Sends the n bytes at p on the request's FCGI_STDOUT, after what was sent
 * before; FCGX_Finish_r() then ends the stream as usual. Up to 16 KiB go
 * through libfcgi's buffer, which sends them with the end-of-request
 * records in one write. More are framed here into records of up to 64 KiB,
 * written with one writev() per 16 of them (after what libfcgi's buffer
 * holds), where libfcgi would copy them into its buffer and write them 8
 * KiB at a time. Returns CQ_OK, or CQ_EIO when a write failed: the request
 * is then to be finished without more output, libfcgi's own writes at the
 * end meeting the same failure.
 */
int cq__fcgi_put(FCGX_Request *req, const char *p, size_t n);

#endif
