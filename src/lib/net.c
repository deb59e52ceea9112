#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

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


/*
 * Is something listening on sa? 1 yes, 0 no (nothing there, or a socket
 * nobody listens on), CQ_EIO when it cannot tell (errno says why).
 */
static int unix_live(const struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc, e;

    if (fd < 0)
        return CQ_EIO;
    rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
    e = errno;
    close(fd);
    errno = e;
    if (rc == 0)
        return 1;
    return e == ECONNREFUSED || e == ENOENT ? 0 : CQ_EIO;
}


int cq__net_unix_claim(const char *path, struct sockaddr_un *sa, char *err,
                       size_t errlen)
{
    struct stat st;
    int live;

    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sa->sun_path)) {
        snprintf(err, errlen, "%s: path too long", path);
        return CQ_EINVAL;
    }
    strcpy(sa->sun_path, path);
    if (lstat(path, &st) != 0)
        return CQ_OK;
    /* Only ever replace a socket: a mistyped path must not cost a file. */
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s: exists and is not a socket", path);
        return CQ_EIO;
    }
    live = unix_live(sa);
    if (live == 1) {
        snprintf(err, errlen,
                 "%s: another process is listening there (is an instance "
                 "already running?)",
                 path);
        return CQ_EIO;
    }
    if (live < 0 || (unlink(path) != 0 && errno != ENOENT)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return CQ_EIO;
    }
    return CQ_OK;
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
    case 406:
        return "Not Acceptable";
    case 408:
        return "Request Timeout";
    case 411:
        return "Length Required";
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
    case 501:
        return "Not Implemented";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return NULL;
    }
}
