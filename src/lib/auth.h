/*
 * auth: the two OneBot credentials.
 *
 * The signature is HMAC-SHA1 over the raw body bytes, sent as "sha1=<hex>"
 * in X-Signature; the access token comes as "Authorization: Bearer <t>" or
 * "Token <t>" (scheme in any case) or as an access_token query parameter.
 * Every comparison runs in constant time over equal lengths.
 */
#ifndef CQ_AUTH_H
#define CQ_AUTH_H

#include <stddef.h>

/* Writes "sha1=" and 40 lowercase hex digits plus a NUL into out[46]; out of
 * memory, 45 '!' that no check accepts. */
void cq__auth_sign(const char *secret, const void *body, size_t len,
                   char out[46]);

/*
 * Checks header (the X-Signature value, or NULL when absent) against body.
 * Returns CQ_OK, CQ_EAUTHMISSING (no header), CQ_EAUTHBAD (wrong or not of
 * the form "sha1=" + 40 hex digits; uppercase hex is accepted) or CQ_ENOMEM.
 * The HMAC is keyed once per thread and secret (see auth.c).
 */
int cq__auth_check_signature(const char *secret, const void *body, size_t len,
                             const char *header);

/*
 * Finds the token offered by a request: from authorization (the header value
 * or NULL) when present, else from the access_token parameter of query (the
 * raw query string or NULL). Stores a pointer into one of them in *tok and
 * its length in *tok_len. Returns CQ_OK, CQ_EAUTHMISSING (nothing offered)
 * or CQ_EAUTHBAD (a header with another scheme or no token).
 */
int cq__auth_offered_token(const char *authorization, const char *query,
                           const char **tok, size_t *tok_len);

/* Compares an offered token with the expected one; CQ_OK or CQ_EAUTHBAD. */
int cq__auth_token_equal(const char *expected, const char *tok, size_t tok_len);

#endif
