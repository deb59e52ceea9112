/*
 * curl_lazy: the libcurl functions the bridge's code calls, loading
 * libcurl (dlopen) at the first call instead of at start-up. Linked into
 * cqhttp-bridge only, ahead of -lcurl, whose library is then not needed
 * (the program links with --as-needed).
 *
 * Why: libcurl brings some twenty libraries (GnuTLS, Kerberos, LDAP, SSH,
 * ...) whose loading, relocation and constructors cost about 4.5 MiB of
 * resident memory, twice what the bridge needs at idle; and the bridge only
 * uses libcurl for the HTTP API transport (api_root), which most
 * deployments leave unset, their implementation's API being on the
 * WebSocket. With api_root set, libcurl is loaded at start-up by
 * curl_global_init() as before.
 *
 * If libcurl cannot be loaded, every call fails as libcurl's own do when
 * it cannot start (CURLE_FAILED_INIT, NULL), and the reason is logged once.
 * Loading happens once, under pthread_once(), so workers may race to it.
 */
#include "config.h"

#define CURL_DISABLE_TYPECHECK /* The functions are defined here. */

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>

#include <curl/curl.h>

#include "cqhttp.h"

/* libcurl's soname since 7.16; its ABI has not changed since. */
#define LIBCURL_SONAME "libcurl.so.4"

/* The functions, by index into fn_names and fn. */
enum {
    GLOBAL_INIT,
    GLOBAL_CLEANUP,
    EASY_INIT,
    EASY_SETOPT,
    EASY_PERFORM,
    EASY_GETINFO,
    EASY_CLEANUP,
    EASY_STRERROR,
    SLIST_APPEND,
    SLIST_FREE_ALL,
    NFN
};

static const char *const fn_names[NFN] = {
    "curl_global_init",    "curl_global_cleanup", "curl_easy_init",
    "curl_easy_setopt",    "curl_easy_perform",   "curl_easy_getinfo",
    "curl_easy_cleanup",   "curl_easy_strerror",  "curl_slist_append",
    "curl_slist_free_all",
};

/* libcurl's, each called through its own type below. */
typedef void any_fn(void);
static any_fn *fn[NFN];

typedef CURLcode global_init_fn(long);
typedef CURLcode setopt_fn(CURL *, CURLoption, ...);
typedef CURLcode getinfo_fn(CURL *, CURLINFO, ...);
typedef CURLcode perform_fn(CURL *);
typedef void cleanup_fn(CURL *);
typedef const char *strerror_fn(CURLcode);
typedef struct curl_slist *append_fn(struct curl_slist *, const char *);
typedef void free_all_fn(struct curl_slist *);

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static int loaded;


static void load(void)
{
    void *lib = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    size_t i;

    for (i = 0; lib != NULL && i < NFN; i++) {
        void *sym = dlsym(lib, fn_names[i]);

        if (sym == NULL)
            break;
        fn[i] = (any_fn *)sym;
    }
    if (lib == NULL || i < NFN) {
        cq_log(CQ_LOG_ERROR, "cannot load libcurl (%s): HTTP calls fail",
               dlerror());
        return;
    }
    loaded = 1;
}


/* Loads libcurl if it was not yet; returns whether it is there. */
static int have_curl(void)
{
    pthread_once(&load_once, load);
    return loaded;
}


CURLcode curl_global_init(long flags)
{
    return have_curl() ? ((global_init_fn *)fn[GLOBAL_INIT])(flags)
                       : CURLE_FAILED_INIT;
}


/* Does not load libcurl: nothing to clean up if it was never used. */
void curl_global_cleanup(void)
{
    if (loaded)
        fn[GLOBAL_CLEANUP]();
}


CURL *curl_easy_init(void)
{
    return have_curl() ? ((CURL * (*)(void)) fn[EASY_INIT])() : NULL;
}


/* The argument's type is given by the option's range (curl.h). */
CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
    setopt_fn *set;
    va_list ap;
    CURLcode rc;

    if (!have_curl())
        return CURLE_FAILED_INIT;
    set = (setopt_fn *)fn[EASY_SETOPT];
    va_start(ap, opt);
    if (opt < CURLOPTTYPE_OBJECTPOINT)
        rc = set(h, opt, va_arg(ap, long));
    else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
        rc = set(h, opt, va_arg(ap, void *));
    else if (opt < CURLOPTTYPE_OFF_T)
        rc = set(h, opt, va_arg(ap, void (*)(void)));
    else if (opt < CURLOPTTYPE_BLOB)
        rc = set(h, opt, va_arg(ap, curl_off_t));
    else
        rc = set(h, opt, va_arg(ap, void *));
    va_end(ap);
    return rc;
}


CURLcode curl_easy_perform(CURL *h)
{
    return have_curl() ? ((perform_fn *)fn[EASY_PERFORM])(h)
                       : CURLE_FAILED_INIT;
}


/* Every CURLINFO's argument is a pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
    va_list ap;
    void *out;

    if (!have_curl())
        return CURLE_FAILED_INIT;
    va_start(ap, info);
    out = va_arg(ap, void *);
    va_end(ap);
    return ((getinfo_fn *)fn[EASY_GETINFO])(h, info, out);
}


void curl_easy_cleanup(CURL *h)
{
    if (h != NULL && have_curl())
        ((cleanup_fn *)fn[EASY_CLEANUP])(h);
}


const char *curl_easy_strerror(CURLcode rc)
{
    return have_curl() ? ((strerror_fn *)fn[EASY_STRERROR])(rc)
                       : "libcurl could not be loaded";
}


struct curl_slist *curl_slist_append(struct curl_slist *l, const char *s)
{
    return have_curl() ? ((append_fn *)fn[SLIST_APPEND])(l, s) : NULL;
}


void curl_slist_free_all(struct curl_slist *l)
{
    if (l != NULL && have_curl())
        ((free_all_fn *)fn[SLIST_FREE_ALL])(l);
}
