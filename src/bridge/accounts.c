/*
 * Accounts: connections paired by X-Self-ID. The API calls waiting for
 * their answers are pending.c's. Loop thread only.
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/bridge.h"
#include "bridge/pending.h"

static const char *const role_names[] = {"Universal", "API", "Event"};

static size_t bucket(int64_t self_id)
{
    return (size_t)((uint64_t)self_id * 11400714819323198485ull >> 54) %
           CQ__ACCOUNT_BUCKETS;
}


cq__account *cq__account_find(cq__bridge *br, int64_t self_id)
{
    cq__account *a;

    for (a = br->buckets[bucket(self_id)]; a != NULL; a = a->next)
        if (a->self_id == self_id)
            return a;
    return NULL;
}


cq__account *cq__account_sole(cq__bridge *br)
{
    size_t i;

    if (br->naccounts != 1)
        return NULL;
    /* It is the one: it was attached and has not been unlinked since. */
    if (br->last_account != NULL)
        return br->last_account;
    for (i = 0; i < CQ__ACCOUNT_BUCKETS; i++)
        if (br->buckets[i] != NULL)
            return br->buckets[i];
    return NULL;
}


int cq__account_attach(cq__bridge *br, cq__ws_conn *c)
{
    cq__account *a = cq__account_find(br, c->self_id);
    cq__ws_conn *old;

    if (a == NULL) {
        a = calloc(1, sizeof(*a));
        if (a == NULL)
            return CQ_ENOMEM;
        a->self_id = c->self_id;
        a->next = br->buckets[bucket(c->self_id)];
        br->buckets[bucket(c->self_id)] = a;
        br->naccounts++;
        br->last_account = a;
    }
    old = a->slot[c->role];
    /*
     * The new connection takes the slot first, so detaching the old one
     * (which fails its calls) cannot free the account under us.
     */
    a->slot[c->role] = c;
    c->acct = a;
    if (old != NULL) {
        cq_log(CQ_LOG_INFO,
               "account %" PRId64 ": new %s connection from %s "
               "replaces the one from %s",
               a->self_id, role_names[c->role], c->peer, old->peer);
        cq__account_detach(br, old);
        cq__conn_close(old, cq__bridge_close_code(CQ_OK),
                       "replaced by a new connection");
    }
    cq_log(CQ_LOG_INFO, "account %" PRId64 ": %s connection from %s open",
           a->self_id, role_names[c->role], c->peer);
    return CQ_OK;
}


/* Frees a, with its calls' timer. */
static void free_account(cq__account *a)
{
    if (a->timer != NULL)
        event_free(a->timer);
    free(a);
}


static void unlink_account(cq__bridge *br, cq__account *a)
{
    cq__account **pp = &br->buckets[bucket(a->self_id)];

    while (*pp != a)
        pp = &(*pp)->next;
    *pp = a->next;
    br->naccounts--;
    if (br->last_account == a)
        br->last_account = NULL;
    free_account(a);
}


void cq__account_detach(cq__bridge *br, cq__ws_conn *c)
{
    cq__account *a = c->acct;

    if (a == NULL)
        return;
    cq__pending_fail_conn(br, c);
    if (a->slot[c->role] == c) {
        a->slot[c->role] = NULL;
        cq_log(CQ_LOG_INFO,
               "account %" PRId64 ": %s connection from %s "
               "closed",
               a->self_id, role_names[c->role], c->peer);
    }
    c->acct = NULL;
    if (a->slot[0] == NULL && a->slot[1] == NULL && a->slot[2] == NULL &&
        a->pending == NULL)
        unlink_account(br, a);
}


cq__ws_conn *cq__account_api_conn(cq__account *a)
{
    if (a == NULL)
        return NULL;
    return a->slot[CQ__WS_API] != NULL ? a->slot[CQ__WS_API]
                                       : a->slot[CQ__WS_UNIVERSAL];
}


char *cq__bridge_concat(const char *const *parts, const size_t *lens, size_t n,
                        size_t *len)
{
    size_t i, total = 0;
    char *s, *p;

    for (i = 0; i < n; i++)
        total += lens[i];
    s = p = malloc(total + 1);
    if (s == NULL)
        return NULL;
    for (i = 0; i < n; i++)
        p = (char *)memcpy(p, parts[i], lens[i]) + lens[i];
    *p = '\0';
    *len = total;
    return s;
}


void cq__account_log_failure(const char *action, const cq_value *frame, int err,
                             const char *msg)
{
    const char *status = cq_value_string(cq_value_get(frame, "status"));
    int64_t retcode = 0;

    if (err != CQ_OK) {
        cq_log(CQ_LOG_WARN, "API %s failed: %s (bridge: %s)", action,
               cq__bridge_ipc_name(err), msg != NULL ? msg : "");
    } else if (status == NULL ||
               (strcmp(status, "ok") != 0 && strcmp(status, "async") != 0)) {
        cq_value_int(cq_value_get(frame, "retcode"), &retcode);
        cq_log(CQ_LOG_WARN, "API %s failed: status %s, retcode %" PRId64,
               action, status != NULL ? status : "(none)", retcode);
    }
}


void cq__account_log_failure_text(const char *action, const char *text,
                                  size_t len, const cq__frame *f, int err,
                                  const char *msg)
{
    static const cq__json_key keys[] = {CQ__JSON_KEY("status")};
    cq__json_span st;
    yajl_val v = NULL;

    /*
     * The usual answer, a plain "ok" or "async", needs no tree, nor a scan
     * when the loop's is at hand. The loop checked the text's depth when it
     * came (cq__frame_read).
     */
    if (f != NULL && f->scanned)
        st = f->answer_at[CQ__ANS_STATUS];
    if (err == CQ_OK &&
        ((f != NULL && f->scanned) ||
         cq__json_scan_object(text, len, INT_MAX, 0, keys, 1, &st) == CQ_OK) &&
        st.p != NULL &&
        ((st.len == 4 && memcmp(st.p, "\"ok\"", 4) == 0) ||
         (st.len == 7 && memcmp(st.p, "\"async\"", 7) == 0)))
        return;
    if (err == CQ_OK && (err = cq__json_parse(&v, text, len, INT_MAX)) != CQ_OK)
        msg = "the answer could not be parsed";
    cq__account_log_failure(action, cq__cv(v), err, msg);
    yajl_tree_free(v);
}


void cq__accounts_free(cq__bridge *br)
{
    size_t i;

    cq__accounts_fail_all(br, CQ_ENETWORK, "the bridge is stopping");
    for (i = 0; i < CQ__ACCOUNT_BUCKETS; i++) {
        while (br->buckets[i] != NULL) {
            cq__account *a = br->buckets[i];

            br->buckets[i] = a->next;
            free_account(a);
        }
    }
    br->naccounts = 0;
    br->last_account = NULL;
    cq__pending_free_spares(br);
}
