/*
 * Who may use the API socket: the peer credentials (SO_PEERCRED) of each
 * caller against the api_allow setting. The socket's mode (0660) keeps
 * others out of the file system's way; this keeps out the members of a
 * group that was given the socket for another reason. Loop thread only,
 * after cq__peer_allow_parse() at startup.
 */
/* struct ucred is a GNU extension of <sys/socket.h>. */
#define _GNU_SOURCE
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bridge/bridge.h"

/* Stores an id (digits) or a name's id in *id; 0 or CQ_EINVAL. */
static int parse_id(const char *kind, const char *name, unsigned *id)
{
    char *end;
    unsigned long n;

    if (name[0] != '\0' && strspn(name, "0123456789") == strlen(name)) {
        errno = 0;
        n = strtoul(name, &end, 10);
        if (errno != 0 || n > 0xfffffffeUL)
            return CQ_EINVAL;
        *id = (unsigned)n;
        return CQ_OK;
    }
    if (strcmp(kind, "user") == 0) {
        const struct passwd *pw = getpwnam(name);

        if (pw == NULL)
            return CQ_EINVAL;
        *id = (unsigned)pw->pw_uid;
    } else {
        const struct group *gr = getgrnam(name);

        if (gr == NULL)
            return CQ_EINVAL;
        *id = (unsigned)gr->gr_gid;
    }
    return CQ_OK;
}


/* Adds one "user:X" or "group:X" entry (len bytes of e). */
static int add_entry(cq__peer_allow *a, const char *e, size_t len, char *err,
                     size_t errlen)
{
    char buf[256], *colon;
    unsigned id;

    if (len >= sizeof(buf) || (colon = memchr(e, ':', len)) == NULL)
        goto bad;
    memcpy(buf, e, len);
    buf[len] = '\0';
    colon = buf + (colon - e);
    *colon = '\0';
    if (strcmp(buf, "user") != 0 && strcmp(buf, "group") != 0)
        goto bad;
    if (parse_id(buf, colon + 1, &id) != CQ_OK) {
        snprintf(err, errlen, "api_allow: no such %s \"%s\"", buf, colon + 1);
        return CQ_EINVAL;
    }
    if (buf[0] == 'u' && a->nuids < CQ__PEER_ALLOW_MAX)
        a->uids[a->nuids++] = id;
    else if (buf[0] == 'g' && a->ngids < CQ__PEER_ALLOW_MAX)
        a->gids[a->ngids++] = id;
    else {
        snprintf(err, errlen, "api_allow: more than %d users or groups",
                 CQ__PEER_ALLOW_MAX);
        return CQ_EINVAL;
    }
    return CQ_OK;
bad:
    snprintf(err, errlen,
             "api_allow: \"%.*s\" is not user:NAME, user:UID, group:NAME or "
             "group:GID",
             (int)(len > 80 ? 80 : len), e);
    return CQ_EINVAL;
}


int cq__peer_allow_parse(cq__peer_allow *a, const char *spec, char *err,
                         size_t errlen)
{
    const char *p = spec;

    memset(a, 0, sizeof(*a));
    if (spec == NULL) {
        a->uids[a->nuids++] = (unsigned)geteuid();
        a->gids[a->ngids++] = (unsigned)getegid();
        return CQ_OK;
    }
    while (*p != '\0') {
        size_t len;
        int rc;

        while (*p == ',' || isspace((unsigned char)*p))
            p++;
        len = strcspn(p, ", \t");
        if (len == 0)
            break;
        if ((rc = add_entry(a, p, len, err, errlen)) != CQ_OK)
            return rc;
        p += len;
    }
    if (a->nuids + a->ngids == 0) {
        snprintf(err, errlen, "api_allow: names nobody");
        return CQ_EINVAL;
    }
    return CQ_OK;
}


static int has(const unsigned *ids, size_t n, unsigned id)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}


/* Is one of the peer's supplementary groups allowed? 0 when unknown. */
static int peer_groups_allowed(const cq__peer_allow *a, int fd)
{
#ifdef SO_PEERGROUPS
    gid_t groups[64];
    socklen_t len = sizeof(groups);
    size_t i;

    if (a->ngids == 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) != 0)
        return 0;
    for (i = 0; i < len / sizeof(groups[0]); i++)
        if (has(a->gids, a->ngids, (unsigned)groups[i]))
            return 1;
#else
    (void)a;
    (void)fd;
#endif
    return 0;
}


int cq__peer_allowed(const cq__peer_allow *a, int fd, char *who, size_t wholen)
{
    struct ucred uc;
    socklen_t len = sizeof(uc);

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0) {
        snprintf(who, wholen, "unknown peer (%s)", strerror(errno));
        return CQ_EIO;
    }
    snprintf(who, wholen, "pid %ld uid %u gid %u", (long)uc.pid,
             (unsigned)uc.uid, (unsigned)uc.gid);
    /* Root can read the bridge's memory anyway: refusing it guards nothing. */
    if (uc.uid == 0 || has(a->uids, a->nuids, (unsigned)uc.uid) ||
        has(a->gids, a->ngids, (unsigned)uc.gid))
        return 1;
    return peer_groups_allowed(a, fd);
}
