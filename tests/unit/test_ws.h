/*
 * What the two handshake test files share: a valid request's headers and
 * the helpers that build requests from them and check answers.
 */
#ifndef CQ_TEST_WS_H
#define CQ_TEST_WS_H

#include <stddef.h>

#define TOKEN    "kSLuTF2GC2Q4q4ugm3"
#define RFC_KEY  "dGhlIHNhbXBsZSBub25jZQ=="
#define RFC_ACC  "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define NO_TOKEN NULL

/* The headers t_ws_build() starts from, all valid; NULL-terminated. */
extern const char *const t_ws_base_headers[];

/*
 * Writes a request into out: line, the base headers but the one named drop
 * (or none when drop is NULL), then extra (whole CRLF-ended lines), then the
 * empty line. Returns its length.
 */
size_t t_ws_build(char *out, size_t cap, const char *line, const char *drop,
                  const char *extra);

/*
 * Whether answer a (n bytes) is one HTTP response with the given status
 * whose Content-Length is the size of what follows the head.
 */
int t_ws_answer_ok(const char *a, size_t n, int status);

#endif
