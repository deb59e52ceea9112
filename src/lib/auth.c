#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

#include "cqhttp.h"
#include "lib/auth.h"

/*
 * A keyed HMAC-SHA1 context per thread. OpenSSL's one-shot HMAC() fetches
 * the algorithm, allocates a context and keys it on every call, which cost
 * two thirds of a signature check; keying once per thread and reinitialising
 * with the stored key leaves only the hashing. The context is rekeyed when
 * the secret changes, and freed when its thread ends.
 */
typedef struct mac_state {
    EVP_MAC_CTX *ctx;
    char *key;
} mac_state;

static EVP_MAC *mac_alg;
static pthread_key_t mac_key;
static pthread_once_t mac_once = PTHREAD_ONCE_INIT;

static void mac_state_free(void *arg)
{
    mac_state *m = arg;

    EVP_MAC_CTX_free(m->ctx);
    free(m->key);
    free(m);
}


static void mac_setup(void)
{
    mac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
    pthread_key_create(&mac_key, mac_state_free);
}


/* This thread's context, keyed with secret; NULL when out of memory. */
static EVP_MAC_CTX *mac_for(const char *secret)
{
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA1", 0),
        OSSL_PARAM_construct_end()};
    mac_state *m;

    pthread_once(&mac_once, mac_setup);
    if (mac_alg == NULL)
        return NULL;
    m = pthread_getspecific(mac_key);
    if (m == NULL) {
        m = calloc(1, sizeof(*m));
        if (m == NULL || pthread_setspecific(mac_key, m) != 0) {
            free(m);
            return NULL;
        }
    }
    if (m->key != NULL && strcmp(m->key, secret) == 0)
        return EVP_MAC_init(m->ctx, NULL, 0, NULL) ? m->ctx : NULL;
    EVP_MAC_CTX_free(m->ctx);
    free(m->key);
    m->key = strdup(secret);
    m->ctx = EVP_MAC_CTX_new(mac_alg);
    if (m->key == NULL || m->ctx == NULL ||
        !EVP_MAC_init(m->ctx, (const unsigned char *)secret, strlen(secret),
                      params)) {
        EVP_MAC_CTX_free(m->ctx);
        free(m->key);
        m->ctx = NULL;
        m->key = NULL;
        return NULL;
    }
    return m->ctx;
}


/* HMAC-SHA1 of body under secret into md (20 bytes); CQ_OK or CQ_ENOMEM. */
static int hmac_sha1(const char *secret, const void *body, size_t len,
                     unsigned char md[20])
{
    EVP_MAC_CTX *ctx = mac_for(secret);
    size_t md_len = 0;

    if (ctx == NULL || !EVP_MAC_update(ctx, body, len) ||
        !EVP_MAC_final(ctx, md, &md_len, 20) || md_len != 20)
        return CQ_ENOMEM;
    return CQ_OK;
}


/* Writes "sha1=" and the hex digest of body under secret into out. */
static int sign(const char *secret, const void *body, size_t len, char out[46])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[20];
    unsigned int i;

    if (hmac_sha1(secret, body, len, md) != CQ_OK)
        return CQ_ENOMEM;
    memcpy(out, "sha1=", 5);
    for (i = 0; i < 20; i++) {
        out[5 + 2 * i] = hex[md[i] >> 4];
        out[6 + 2 * i] = hex[md[i] & 0xf];
    }
    out[45] = '\0';
    return CQ_OK;
}


void cq__auth_sign(const char *secret, const void *body, size_t len,
                   char out[46])
{
    /* Without memory, a signature no check accepts. */
    if (sign(secret, body, len, out) != CQ_OK) {
        memset(out, '!', 45);
        out[45] = '\0';
    }
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
    if (sign(secret, body, len, want) != CQ_OK)
        return CQ_ENOMEM;
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
