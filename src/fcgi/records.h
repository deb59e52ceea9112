/*
 * records: a large answer framed into FastCGI records here and written
 * straight to the web server's socket, past libfcgi's 8 KiB buffer.
 */
#ifndef CQ_FCGI_RECORDS_H
#define CQ_FCGI_RECORDS_H

#include <stddef.h>

#include <fcgiapp.h>

/*
 * Sends the n bytes at p as the request's FCGI_STDOUT, to which nothing
 * has been written yet; FCGX_Finish_r() then ends the stream as usual. Up
 * to 16 KiB go through libfcgi's buffer, which sends them with the
 * end-of-request records in one write. A larger answer is framed here into
 * records of up to 64 KiB, written with one writev() per 16 of them, where
 * libfcgi would copy it into its buffer and write it 8 KiB at a time. A
 * failed write is left for libfcgi's own writes at the end to meet.
 */
void cq__fcgi_put(FCGX_Request *req, const char *p, size_t n);

#endif
