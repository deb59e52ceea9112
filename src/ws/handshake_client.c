/*
 * handshake_client: the client side of the WebSocket opening handshake, for
 * "cqhttp-sim connect". The contract is in handshake.h.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "cqhttp.h"
#include "ws/handshake.h"


int cq__ws_random(void *buf, size_t len)
{
    unsigned char *p = buf;
    size_t got = 0;
    ssize_t n;

    while (got < len) {
        n = getrandom(p + got, len - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return CQ_EIO;
        got += (size_t)n;
    }
    return CQ_OK;
}


int cq__ws_mask(uint8_t key[4])
{
    static _Thread_local uint8_t pool[CQ__WS_MASK_POOL];
    static _Thread_local size_t used = sizeof(pool);

    if (used == sizeof(pool)) {
        if (cq__ws_random(pool, sizeof(pool)) != CQ_OK)
            return CQ_EIO;
        used = 0;
    }
    memcpy(key, pool + used, 4);
    /* Each byte goes out once: a used mask is not kept to be seen again. */
    memset(pool + used, 0, 4);
    used += 4;
    return CQ_OK;
}


int cq__ws_client_key(char key[25], char accept[29])
{
    unsigned char raw[16];

    key[0] = '\0';
    accept[0] = '\0';
    if (cq__ws_random(raw, sizeof(raw)) != CQ_OK)
        return CQ_EIO;
    /* 16 bytes give 24 characters, and EVP_EncodeBlock adds the NUL. */
    EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw));
    return cq__ws_accept_key(key, strlen(key), accept) == CQ_OK ? CQ_OK
                                                                : CQ_ENOMEM;
}


int cq__ws_client_request(char *out, size_t outlen, const char *target,
                          const char *host, const char *extra, char accept[29])
{
    char key[25];
    int rc = cq__ws_client_key(key, accept), n;

    if (outlen > 0)
        out[0] = '\0';
    if (rc != CQ_OK)
        return rc;
    n = snprintf(out, outlen,
                 "GET %s HTTP/1.1\r\n"
                 "Host: %s\r\n"
                 "Upgrade: websocket\r\n"
                 "Connection: Upgrade\r\n"
                 "Sec-WebSocket-Key: %s\r\n"
                 "Sec-WebSocket-Version: 13\r\n"
                 "%s\r\n",
                 target, host, key, extra);
    if (n < 0 || (size_t)n >= outlen) {
        if (outlen > 0)
            out[0] = '\0';
        return CQ_ETOOBIG;
    }
    return n;
}


/* Reads "HTTP/1.x NNN reason" into r. Returns CQ_OK or CQ_EPARSE. */
static int parse_status_line(const char *line, cq__ws_response *r)
{
    char *end;

    if (strncmp(line, "HTTP/1.", 7) != 0 || line[7] == '\0' || line[8] != ' ')
        return CQ_EPARSE;
    r->status = (int)strtol(line + 9, &end, 10);
    if (end != line + 12 || r->status < 100 || r->status > 599)
        return CQ_EPARSE;
    r->reason = *end == ' ' ? end + 1 : "";
    return CQ_OK;
}


/* Records the header line "name: value" (cut in place). CQ_OK, CQ_EPARSE. */
static int parse_header(char *line, cq__ws_response *r)
{
    char *colon = strchr(line, ':'), *v, *end;

    if (colon == NULL)
        return CQ_EPARSE;
    *colon = '\0';
    for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
        ;
    for (end = v + strlen(v); end > v && (end[-1] == ' ' || end[-1] == '\t');
         end--)
        end[-1] = '\0';
    if (strcasecmp(line, "Upgrade") == 0 && r->upgrade == NULL)
        r->upgrade = v;
    else if (strcasecmp(line, "Connection") == 0 && r->connection == NULL)
        r->connection = v;
    else if (strcasecmp(line, "Sec-WebSocket-Accept") == 0 && r->accept == NULL)
        r->accept = v;
    else if (strcasecmp(line, "Content-Length") == 0) {
        r->content_length = strtol(v, &end, 10);
        if (*end != '\0' || r->content_length < 0)
            r->content_length = -1;
    }
    return CQ_OK;
}


int cq__ws_parse_response(char *text, cq__ws_response *r)
{
    char *line = text, *next;
    int first = 1;

    memset(r, 0, sizeof(*r));
    r->content_length = -1;
    for (; *line != '\0'; line = next) {
        next = strchr(line, '\n');
        if (next == NULL)
            break;
        *next++ = '\0';
        if (next - line >= 2 && next[-2] == '\r')
            next[-2] = '\0';
        if (*line == '\0')
            break;
        if (first) {
            first = 0;
            if (parse_status_line(line, r) != CQ_OK)
                return CQ_EPARSE;
        } else if (parse_header(line, r) != CQ_OK) {
            return CQ_EPARSE;
        }
    }
    return first ? CQ_EPARSE : CQ_OK;
}


int cq__ws_check_response(const cq__ws_response *r, const char *accept,
                          const char **why)
{
    *why = NULL;
    if (r->upgrade == NULL ||
        !cq__ws_list_has(r->upgrade, strlen(r->upgrade), "websocket") ||
        r->connection == NULL ||
        !cq__ws_list_has(r->connection, strlen(r->connection), "upgrade")) {
        *why = "101 without \"Upgrade: websocket\" and "
               "\"Connection: Upgrade\"";
        return CQ_EPARSE;
    }
    if (r->accept == NULL || strcmp(r->accept, accept) != 0) {
        *why = "101 with a wrong Sec-WebSocket-Accept";
        return CQ_EPARSE;
    }
    return CQ_OK;
}
