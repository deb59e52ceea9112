/*
 * net: the one place a "host:port" setting becomes addresses to listen on,
 * for cqhttp-fcgi --listen and cqhttp-bridge's WebSocket port, the one
 * place a Unix socket path is made ready for bind() (for cqhttp-fcgi
 * --listen PATH and cqhttp-bridge --bridge-socket), and the one table of
 * HTTP reason phrases, for every answer the programs write.
 */
#ifndef CQ_NET_H
#define CQ_NET_H

#include <netdb.h>
#include <stddef.h>
#include <sys/un.h>

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

/*
 * Makes path ready for bind(): fills *sa, and when a socket file is there,
 * probes it with connect(). A live socket (a running instance) is left
 * alone and is an error; a stale one (ECONNREFUSED) is removed. Returns
 * CQ_OK, or with one line in err: CQ_EINVAL (path too long) or CQ_EIO (a
 * live socket, a file that is not a socket, or a probe or unlink that
 * failed: never removed then).
 */
int cq__net_unix_claim(const char *path, struct sockaddr_un *sa, char *err,
                       size_t errlen);

/* The reason phrase of an HTTP status this project answers with, or NULL
 * for any other status. */
const char *cq__net_reason(int status);

#endif
