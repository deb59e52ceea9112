/*
 * sha1: SHA-1 (FIPS 180-4) of a short buffer, for the WebSocket handshake's
 * Sec-WebSocket-Accept (RFC 6455 section 4.2.2) and nothing else: SHA-1 is
 * not used here for security. It is done here rather than with OpenSSL's
 * SHA1() because that one fetches its digest from a provider, and the first
 * fetch loads OpenSSL's configuration and default provider, some 2 MiB of
 * resident memory that the bridge would otherwise never need.
 */
#ifndef CQ_WS_SHA1_H
#define CQ_WS_SHA1_H

#include <stddef.h>

#define CQ__SHA1_LEN 20

/* Writes the digest of the len bytes at data into md. Never fails. */
void cq__sha1(const void *data, size_t len, unsigned char md[CQ__SHA1_LEN]);

#endif
