#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "cqhttp.h"
#include "lib/auth.h"

void cq__auth_sign(const char *secret, const void *body, size_t len,
                   char out[46])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0, i;

    HMAC(EVP_sha1(), secret, (int)strlen(secret), body, len, md, &md_len);
    memcpy(out, "sha1=", 5);
    for (i = 0; i < 20 && i < md_len; i++) {
        out[5 + 2 * i] = hex[md[i] >> 4];
        out[6 + 2 * i] = hex[md[i] & 0xf];
    }
    out[45] = '\0';
}


int cq__auth_check_signature(const char *secret, const void *body, size_t len,
                             const char *header)
{
    char want[46], got[46];
    size_t i;

    if (header == NULL || header[0] == '\0')
        return CQ_EAUTHMISSING;
    if (strlen(header) != 45 || strncmp(header, "sha1=", 5) != 0)
        return CQ_EAUTHBAD;
    memcpy(got, header, 46);
    for (i = 5; i < 45; i++) {
        if (!isxdigit((unsigned char)got[i]))
            return CQ_EAUTHBAD;
        got[i] = (char)tolower((unsigned char)got[i]);
    }
    cq__auth_sign(secret, body, len, want);
    return CRYPTO_memcmp(want, got, 45) == 0 ? CQ_OK : CQ_EAUTHBAD;
}


/* Finds access_token=... in a raw query string; no percent-decoding. */
static const char *query_token(const char *query, size_t *len)
{
    const char *p = query;
    static const char key[] = "access_token=";

    while (p != NULL && *p != '\0') {
        if (strncmp(p, key, sizeof(key) - 1) == 0) {
            p += sizeof(key) - 1;
            *len = strcspn(p, "&");
            return p;
        }
        p = strchr(p, '&');
        if (p != NULL)
            p++;
    }
    return NULL;
}


int cq__auth_offered_token(const char *authorization, const char *query,
                           const char **tok, size_t *tok_len)
{
    const char *p;

    if (authorization != NULL && authorization[0] != '\0') {
        if (strncasecmp(authorization, "Bearer ", 7) == 0)
            p = authorization + 7;
        else if (strncasecmp(authorization, "Token ", 6) == 0)
            p = authorization + 6;
        else
            return CQ_EAUTHBAD;
        while (*p == ' ')
            p++;
        *tok = p;
        *tok_len = strlen(p);
        while (*tok_len > 0 && p[*tok_len - 1] == ' ')
            (*tok_len)--;
        return *tok_len > 0 ? CQ_OK : CQ_EAUTHBAD;
    }
    p = query_token(query, tok_len);
    if (p == NULL)
        return CQ_EAUTHMISSING;
    *tok = p;
    return CQ_OK;
}


int cq__auth_token_equal(const char *expected, const char *tok, size_t tok_len)
{
    size_t want = strlen(expected);

    /*
     * The length of the expected token is not secret enough to hide at the
     * price of a copy; the bytes are compared in constant time.
     */
    if (tok_len != want)
        return CQ_EAUTHBAD;
    return CRYPTO_memcmp(expected, tok, want) == 0 ? CQ_OK : CQ_EAUTHBAD;
}
