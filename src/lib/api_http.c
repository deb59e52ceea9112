#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cqhttp.h"
#include "lib/api.h"
#include "lib/caps.h"
#include "lib/api_http.h"
#include "lib/buf.h"

/* Answers above this are refused; member lists of big groups fit. */

struct cq__api_http {
    const cq__conf *conf;
    CURL *curl;
    struct curl_slist *headers;
    int64_t headers_self_id; /* The account headers names; 0: none. */
    cq__buf answer;
    int answer_overflow;
    char errbuf[CURL_ERROR_SIZE];
    cq__buf url;
};

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
    cq__api_http *h = arg;

    if (cq__buf_add(&h->answer, p, size * n) != CQ_OK) {
        /* Returning short aborts the transfer; the cap was hit. */
        h->answer_overflow = 1;
        return 0;
    }
    return size * n;
}


/* curl_slist_append() that frees l when it fails; NULL then. */
static struct curl_slist *append(struct curl_slist *l, const char *line)
{
    struct curl_slist *n;

    if (l == NULL)
        return NULL;
    n = curl_slist_append(l, line);
    if (n == NULL)
        curl_slist_free_all(l);
    return n;
}


/*
 * Builds the request headers for account self_id (0: none named) and hands
 * them to the handle. X-Self-ID is what a router in front of several
 * bridges (nginx/cqhttp-cluster.conf) hashes on, so that a call meets the
 * account's WebSocket; OneBot implementations ignore it. Returns CQ_OK, or
 * CQ_ENOMEM when out of memory or the token is over 4 KiB (the handle has
 * no header list then).
 */
static int set_headers(cq__api_http *h, int64_t self_id)
{
    struct curl_slist *l;
    char line[4096];

    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(h->headers);
    h->headers = NULL;
    l = curl_slist_append(NULL, "Content-Type: application/json");
    /* Without this, an empty answer to a POST waits for 100-continue. */
    l = append(l, "Expect:");
    if (h->conf->access_token != NULL) {
        if (snprintf(line, sizeof(line), "Authorization: Bearer %s",
                     h->conf->access_token) >= (int)sizeof(line)) {
            curl_slist_free_all(l);
            return CQ_ENOMEM;
        }
        l = append(l, line);
    }
    if (self_id > 0) {
        snprintf(line, sizeof(line), "X-Self-ID: %" PRId64, self_id);
        l = append(l, line);
    }
    if (l == NULL)
        return CQ_ENOMEM;
    h->headers = l;
    h->headers_self_id = self_id;
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
    return CQ_OK;
}


cq__api_http *cq__api_http_new(const cq__conf *conf)
{
    cq__api_http *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return NULL;
    h->conf = conf;
    cq__buf_init(&h->answer, CQ__CAP_ANSWER);
    cq__buf_init(&h->url, 8192);
    h->curl = curl_easy_init();
    if (h->curl == NULL || set_headers(h, 0) != CQ_OK)
        goto fail;
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS,
                     conf->api_connect_timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, conf->api_timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h->curl, CURLOPT_TCP_NODELAY, 1L);
    /*
     * A connection idle this long is not reused: servers close idle ones
     * (gocq after 60 s) and a half-dead reused connection makes libcurl
     * resend the POST (PITFALLS.md section 5).
     */
    curl_easy_setopt(h->curl, CURLOPT_MAXAGE_CONN, 30L);
    curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "cqhttp/" CQ_VERSION);
    return h;
fail:
    cq__api_http_free(h);
    return NULL;
}


void cq__api_http_free(cq__api_http *h)
{
    if (h == NULL)
        return;
    if (h->curl != NULL)
        curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    cq__buf_free(&h->answer);
    cq__buf_free(&h->url);
    free(h);
}


static int map_curl_error(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_CONNECT:
        return CQ_ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return CQ_ETIMEDOUT;
    case CURLE_OUT_OF_MEMORY:
        return CQ_ENOMEM;
    default:
        return CQ_ENETWORK;
    }
}


int cq__api_http_call(cq__api_http *h, int64_t self_id, const char *action,
                      const char *params, cq_result *out)
{
    const char *root = h->conf->api_root;
    size_t rlen = strlen(root);
    CURLcode cc;
    long status = 0;

    while (rlen > 0 && root[rlen - 1] == '/')
        rlen--;
    cq__buf_reset(&h->url);
    if (cq__buf_printf(&h->url, "%.*s/%s", (int)rlen, root, action) != CQ_OK)
        return cq__api_fail(out, CQ_EINVAL, "API URL too long");
    if ((self_id != h->headers_self_id || h->headers == NULL) &&
        set_headers(h, self_id) != CQ_OK)
        return cq__api_fail(out, CQ_ENOMEM, "out of memory for the headers");
    cq__buf_reset(&h->answer);
    h->answer_overflow = 0;
    h->errbuf[0] = '\0';
    curl_easy_setopt(h->curl, CURLOPT_URL, h->url.data);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, params);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(params));
    cc = curl_easy_perform(h->curl);
    if (cc != CURLE_OK) {
        long os_errno = 0;

        if (h->answer_overflow)
            return cq__api_fail(out, CQ_EBADRESP, "answer over %u bytes",
                                CQ__CAP_ANSWER);
        /* A socket() without descriptors is "couldn't connect" too. */
        curl_easy_getinfo(h->curl, CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno == EMFILE || os_errno == ENFILE)
            return cq__api_fail(out, CQ_ENETWORK, "%s: out of descriptors (%s)",
                                h->url.data, strerror((int)os_errno));
        return cq__api_fail(out, map_curl_error(cc), "%s: %s", h->url.data,
                            h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc));
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    out->status = status;
    if (status < 200 || status > 299)
        return cq__api_fail(out, CQ_EHTTP, "%s answered HTTP %ld", h->url.data,
                            status);
    if (h->answer.data == NULL)
        return cq__api_fail(out, CQ_EBADRESP, "%s answered an empty body",
                            h->url.data);
    return cq__api_result_from_body(h->answer.data, h->answer.len, out);
}
