/*
 * net: the one place a "host:port" setting becomes addresses to listen on,
 * for cqhttp-fcgi --listen and cqhttp-bridge's WebSocket port, and the one
 * table of HTTP reason phrases, for every answer the programs write.
 */
#ifndef CQ_NET_H
#define CQ_NET_H

#include <netdb.h>
#include <stddef.h>

/* Is addr a host:port (else it names a Unix socket path)? */
int cq__net_is_hostport(const char *addr);

/*
 * Resolves "host:port", "[v6]:port" or ":port" (every address) for a
 * passive stream socket. Stores the list in *res (free it with
 * freeaddrinfo). Returns CQ_OK, or CQ_EINVAL with one line in err.
 */
int cq__net_resolve_listen(const char *addr, struct addrinfo **res, char *err,
                           size_t errlen);

/*
 * Does every address "host:port" resolves to (as for listening) belong to
 * the loopback network? 0 when it does not resolve, or is empty (":port",
 * every address).
 */
int cq__net_is_loopback(const char *addr);

/* The reason phrase of an HTTP status this project answers with, or NULL
 * for any other status. */
const char *cq__net_reason(int status);

#endif
