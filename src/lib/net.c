#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cqhttp.h"
#include "lib/net.h"

int cq__net_is_hostport(const char *addr)
{
    return addr[0] != '/' && addr[0] != '.' && strrchr(addr, ':') != NULL;
}


int cq__net_resolve_listen(const char *addr, struct addrinfo **res, char *err,
                           size_t errlen)
{
    const char *colon = strrchr(addr, ':');
    struct addrinfo hints;
    char host[256];
    size_t hl;
    int rc;

    *res = NULL;
    if (colon == NULL || (hl = (size_t)(colon - addr)) >= sizeof(host)) {
        snprintf(err, errlen, "%s: expected host:port", addr);
        return CQ_EINVAL;
    }
    memcpy(host, addr, hl);
    host[hl] = '\0';
    if (host[0] == '[' && hl > 1 && host[hl - 1] == ']') {
        memmove(host, host + 1, hl - 2);
        host[hl - 2] = '\0';
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, res);
    if (rc != 0 || *res == NULL) {
        snprintf(err, errlen, "%s: %s", addr,
                 rc != 0 ? gai_strerror(rc) : "no address");
        if (*res != NULL)
            freeaddrinfo(*res);
        *res = NULL;
        return CQ_EINVAL;
    }
    return CQ_OK;
}


int cq__net_is_loopback(const char *addr)
{
    struct addrinfo *res, *ai;
    char err[300];
    int all = 1;

    if (cq__net_resolve_listen(addr, &res, err, sizeof(err)) != CQ_OK)
        return 0;
    for (ai = res; ai != NULL && all; ai = ai->ai_next) {
        const struct sockaddr_in *v4 = (const void *)ai->ai_addr;
        const struct sockaddr_in6 *v6 = (const void *)ai->ai_addr;

        if (ai->ai_family == AF_INET)
            all = (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
        else
            all = ai->ai_family == AF_INET6 &&
                  IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr);
    }
    freeaddrinfo(res);
    return all;
}


const char *cq__net_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 426:
        return "Upgrade Required";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 413:
        return "Payload Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return NULL;
    }
}
