/*
 * handshake: both sides of the WebSocket opening handshake (RFC 6455
 * section 4), without I/O. The server side serves the reverse-WebSocket
 * connections of OneBot implementations (cqhttp-bridge); the client side
 * serves "cqhttp-sim connect", which plays such an implementation.
 *
 * Server: the bridge feeds cq__ws_parse_request() all the bytes received so
 * far on a new connection until it returns a head length; then
 * cq__ws_judge() applies the policy below and cq__ws_answer() writes the
 * bytes to send. A parse error is turned into a verdict by
 * cq__ws_verdict_for_error(), so that every rejection is a complete HTTP
 * answer.
 *
 * Client (handshake_client.c): cq__ws_client_key() makes a random key and
 * the Sec-WebSocket-Accept to expect; once the answer's head is complete,
 * cq__ws_parse_response() splits it and cq__ws_check_response() tells
 * whether a 101 really accepts the key.
 *
 * Ownership: the server parser neither allocates nor copies; cq__ws_request
 * holds views into the caller's buffer (not NUL-terminated), valid while
 * that buffer is. Bytes after the head are never looked at: they are the
 * first WebSocket frames and stay with the caller. Every function is
 * reentrant and keeps no state between calls, so any thread may use it.
 *
 * Syntax accepted by the parser (RFC 9112, strictly):
 *  - request line: method (token), one SP, request target (visible ASCII),
 *    one SP, "HTTP/1." and one digit, CRLF; no empty lines before it;
 *  - header lines: name (token), ':' right after it, optional SP/HT, value,
 *    optional SP/HT, CRLF; obsolete line folding is refused;
 *  - lines end with CRLF only: a bare LF or a CR not followed by LF is
 *    malformed (it is where request smuggling starts, and every WebSocket
 *    client sends CRLF);
 *  - control characters (below 0x20 except HT in values, and DEL) are
 *    malformed; bytes 0x80-0xFF are allowed in header values only.
 *
 * Policy of cq__ws_judge(), in this order (the first failing rule wins):
 *  1. path (the target before '?') is /ws, /ws/, /ws/api, /ws/api/,
 *     /ws/event or /ws/event/, else 404;
 *  2. method GET (case-sensitive) else 405 with "Allow: GET"; HTTP/1.1 or
 *     later, else 400 (RFC 6455 asks for 1.1; 505 would claim that HTTP/1
 *     itself is not supported);
 *  3. Upgrade lists the token "websocket" and Connection lists the token
 *     "upgrade" (comma-separated lists, case-insensitive), else 400;
 *  4. Sec-WebSocket-Version is exactly "13", else 426 with
 *     "Sec-WebSocket-Version: 13" (a missing header included);
 *  5. Sec-WebSocket-Key is 24 characters, 22 of the base64 alphabet and
 *     "==", so that it decodes to exactly 16 bytes, else 400;
 *  6. when an access token is set: "Authorization: Bearer <t>" or
 *     "Token <t>" (scheme in any case) or "?access_token=<t>" (not
 *     percent-decoded; looked at only when Authorization is absent or
 *     empty), compared in constant time; nothing offered is 401 with
 *     "WWW-Authenticate: Bearer", a wrong token or another scheme is 403;
 *  7. the role is X-Client-Role ("Universal", "API" or "Event", any case),
 *     which wins over the path; without that header it comes from the path
 *     (/ws Universal, /ws/api API, /ws/event Event); any other value,
 *     empty included, is 400;
 *  8. X-Self-ID is a decimal integer above 0 that fits int64_t (digits
 *     only, leading zeros allowed; spaces around it are trimmed by the
 *     parser; sign, hex or empty is 400), required for every role because
 *     the bridge pairs connections by account, else 400;
 * then 101. When a header is repeated only its first occurrence counts;
 * Host is recorded but not checked.
 */
#ifndef CQ_WS_HANDSHAKE_H
#define CQ_WS_HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

/* The request head cap, final CRLFCRLF included: above it the answer is 431. */
#define CQ__WS_MAX_HEAD 8192

/* Enough for any answer cq__ws_answer() writes from a cq__ws_judge() or
 * cq__ws_verdict_for_error() verdict. */
#define CQ__WS_MAX_ANSWER 512

/* The order is that of the account slots in bridge.h. */
typedef enum cq__ws_role {
    CQ__WS_UNIVERSAL,
    CQ__WS_API,
    CQ__WS_EVENT
} cq__ws_role;

/*
 * A parsed request head. Every pointer is a view into the parsed buffer, not
 * NUL-terminated. A header that is absent has a NULL pointer and length 0;
 * one that is present with an empty value has a non-NULL pointer and
 * length 0. Header values are trimmed of SP and HT at both ends.
 */
typedef struct cq__ws_request {
    const char *method;
    size_t method_len;
    const char *path; /* The request target before '?'. */
    size_t path_len;
    const char *query; /* After '?', may be empty; NULL without '?'. */
    size_t query_len;
    int minor_version; /* The x of HTTP/1.x. */
    /* The first of each header that matters, by case-insensitive name. */
    const char *upgrade, *connection, *ws_key, *ws_version, *authorization,
        *self_id, *role, *host;
    size_t upgrade_len, connection_len, ws_key_len, ws_version_len,
        authorization_len, self_id_len, role_len, host_len;
    /* For the plain HTTP requests the bridge also serves (bridge/http.c). */
    const char *content_length, *content_type, *transfer_encoding;
    size_t content_length_len, content_type_len, transfer_encoding_len;
    size_t head_len; /* Bytes of the head including the final CRLFCRLF. */
} cq__ws_request;

typedef struct cq__ws_verdict {
    int status;         /* 101 when accepted, else the HTTP status to answer. */
    const char *reason; /* One static line for the log: why. */
    cq__ws_role role;   /* Meaningful when status is 101. */
    int64_t self_id;    /* Meaningful when status is 101. */
} cq__ws_verdict;

/*
 * Parses the request head at the start of buf[0..len). Call it again with
 * the same bytes and more when it returns CQ_EAGAIN: it keeps no state, and
 * its cost is linear in the bytes it looks at (at most CQ__WS_MAX_HEAD), so
 * call it once per read, not per byte (a full head fed one byte at a time
 * costs about 30 ms of CPU). Complete lines are checked as soon as they
 * arrive, so garbage (a TLS hello, say) fails early.
 * On success fills *req and returns req->head_len (> 0). Otherwise *req is
 * unspecified and the result is one of:
 *
 * CQ_EAGAIN   the head is incomplete and may still fit: call again.
 * CQ_ETOOBIG  no complete head fits in CQ__WS_MAX_HEAD bytes (answer 431).
 * CQ_EPARSE   the head is malformed (see the syntax above; answer 400).
 */
int cq__ws_parse_request(const char *buf, size_t len, cq__ws_request *req);

/*
 * Fills *v for a parse error: 431 for CQ_ETOOBIG, 400 for anything else.
 * Cannot fail.
 */
void cq__ws_verdict_for_error(int err, cq__ws_verdict *v);

/*
 * Applies the policy above to a parsed request and fills *v; access_token
 * NULL or "" means that no token is required. Cannot fail: every outcome,
 * including a request whose fields are longer than CQ__WS_MAX_HEAD, is a
 * status in *v.
 */
void cq__ws_judge(const cq__ws_request *req, const char *access_token,
                  cq__ws_verdict *v);

/*
 * Rule 6 alone, for the bridge's plain HTTP requests too: returns 0 when the
 * request may go on (no token required, or the right one offered), else the
 * status with v->reason set: 401 (nothing offered), 403 (wrong token or
 * scheme) or 431 (fields too long to copy). Cannot fail otherwise.
 */
int cq__ws_judge_auth(const cq__ws_request *req, const char *token,
                      cq__ws_verdict *v);

/*
 * Rule 8 alone: parses X-Self-ID into v->self_id. Returns 0, or 400 with
 * v->reason set when it is missing or not a decimal integer in
 * 1..INT64_MAX.
 */
int cq__ws_judge_self_id(const cq__ws_request *req, cq__ws_verdict *v);

/*
 * Writes the whole answer for v into out (outlen bytes), NUL-terminated, and
 * returns its length without the NUL. For 101: the Switching Protocols
 * response with Sec-WebSocket-Accept computed from req's key (req must not
 * be NULL). For anything else req may be NULL: a complete HTTP/1.1 error
 * response with a one-line text body (the status phrase and v->reason, the
 * latter cut to 200 bytes of printable ASCII), Content-Length and
 * "Connection: close"; 401 adds "WWW-Authenticate: Bearer", 405 adds
 * "Allow: GET", 426 adds "Sec-WebSocket-Version: 13". On error out holds ""
 * when outlen > 0, and the result is one of:
 *
 * CQ_ETOOBIG  outlen is too small (CQ__WS_MAX_ANSWER always suffices).
 * CQ_EINVAL   the status is not 101, 400, 401, 403, 404, 405, 408, 426, 429,
 *             431, 500 or 503, or is 101 without a request or with a key
 *             longer than 64 bytes.
 * CQ_ENOMEM   OpenSSL could not compute the digest.
 */
int cq__ws_answer(const cq__ws_request *req, const cq__ws_verdict *v, char *out,
                  size_t outlen);

/*
 * Writes base64(SHA-1(key || "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")) into
 * out: 28 characters and a NUL. On error out holds "" and the result is:
 *
 * CQ_EINVAL   key_len is above 64 (a valid key has 24 bytes).
 */
int cq__ws_accept_key(const char *key, size_t key_len, char out[29]);

/*
 * Whether the comma-separated list s[0..n) (s may be NULL) holds the token
 * tok, given in lower case; list items are trimmed of SP and HT and compared
 * ignoring ASCII case. Cannot fail.
 */
int cq__ws_list_has(const char *s, size_t n, const char *tok);

/* Client side (handshake_client.c). */

/* What a handshake answer's head says: views into the parsed text. */
typedef struct cq__ws_response {
    int status;         /* 100 to 599. */
    const char *reason; /* The reason phrase, maybe "". */
    /* The first of each header that matters; NULL when absent. */
    const char *upgrade, *connection, *accept;
    long content_length; /* -1 when absent or unreadable. */
} cq__ws_response;

/*
 * Fills buf with len random bytes from the kernel (getrandom), for keys and
 * frame masks. Returns CQ_OK or CQ_EIO (no randomness to be had).
 */
int cq__ws_random(void *buf, size_t len);

/*
 * Fills key with a frame's 4 random mask bytes (RFC 6455 section 5.3) from
 * a per-thread pool that cq__ws_random() refills CQ__WS_MASK_POOL bytes at
 * a time, so that a client's frames do not cost a system call each. The
 * bytes are the kernel's all the same, each used once. Returns CQ_OK or
 * CQ_EIO (no randomness to be had).
 */
#define CQ__WS_MASK_POOL 512
int cq__ws_mask(uint8_t key[4]);

/*
 * Writes a new random Sec-WebSocket-Key (24 characters and a NUL) into key
 * and the Sec-WebSocket-Accept a server must answer into accept. Returns
 * CQ_OK, CQ_EIO (no randomness) or CQ_ENOMEM (OpenSSL failed).
 */
int cq__ws_client_key(char key[25], char accept[29]);

/*
 * Writes an upgrade request head into out (outlen bytes, NUL-terminated):
 * GET target, Host, the Upgrade, Connection, Sec-WebSocket-Key (new, from
 * cq__ws_client_key(), which also fills accept) and Sec-WebSocket-Version
 * lines, then extra (header lines, each ending with CRLF, or "") and the
 * empty line. Returns its length, or CQ_EIO or CQ_ENOMEM (as
 * cq__ws_client_key()) or CQ_ETOOBIG (outlen is too small).
 */
int cq__ws_client_request(char *out, size_t outlen, const char *target,
                          const char *host, const char *extra, char accept[29]);

/*
 * Parses the head of a handshake answer in place: text is NUL-terminated,
 * ends with an empty line, and is cut into NUL-terminated pieces that *r
 * points to. Lines may end with CRLF or LF alone (a client can afford to be
 * lenient). Returns CQ_OK, or CQ_EPARSE when the status line is not
 * "HTTP/1.x NNN" or a header line has no colon.
 */
int cq__ws_parse_response(char *text, cq__ws_response *r);

/*
 * Checks a 101 answer: "Upgrade: websocket", "Connection: Upgrade" and the
 * Sec-WebSocket-Accept that accept (from cq__ws_client_key()) predicts.
 * Returns CQ_OK, or CQ_EPARSE with a static sentence in *why.
 */
int cq__ws_check_response(const cq__ws_response *r, const char *accept,
                          const char **why);

#endif
