/*
 * The pending-call table: API calls the bridge sent over an account's
 * connection, waiting for their answers, matched by echo ("cq:<id>"), each
 * with its deadline. Loop thread only.
 *
 * An account has one timer for all its calls, set for the earliest
 * deadline, rather than a timer per call: calls mostly end in the order
 * they went out, so the timer is set once per api_timeout_ms at most, not
 * added and deleted with every call. An account's list is in deadline
 * order (see first_due()), so the earliest is its first. A call's struct is
 * recycled: a few that ended are kept for the next calls (at most
 * CQ__PENDING_SPARES), so a call costs no malloc() while calls come and go at a
 * steady rate.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/bridge.h"
#include "bridge/pending.h"

/*
 * Tells a requester that wants a tree: the answer text is parsed here when
 * only its text is known (it was scanned, and so is valid JSON).
 */
static void tell_tree(cq__pending *p, const char *text, size_t len,
                      const cq_value *frame, int err, const char *msg)
{
    yajl_val v = NULL;

    if (text != NULL && frame == NULL) {
        err = cq__json_parse(&v, text, len, (int)p->conn->br->conf->max_depth);
        frame = cq__cv(v);
        if (err != CQ_OK)
            msg = "the answer could not be parsed";
    }
    p->cb(p->arg, frame, err, msg);
    yajl_tree_free(v);
}


/* A call's struct, zeroed: a spare, or new. */
static cq__pending *take_spare(cq__bridge *br)
{
    cq__pending *p = br->spare_pending;

    if (p == NULL)
        return calloc(1, sizeof(*p));
    br->spare_pending = p->next;
    br->nspare_pending--;
    memset(p, 0, sizeof(*p));
    return p;
}


/* Keeps p (ended) for the next call, or frees it. */
static void give_back(cq__bridge *br, cq__pending *p)
{
    if (br->nspare_pending >= CQ__PENDING_SPARES) {
        free(p);
        return;
    }
    p->next = br->spare_pending;
    br->spare_pending = p;
    br->nspare_pending++;
}


void cq__pending_free_spares(cq__bridge *br)
{
    cq__pending *p;

    while ((p = br->spare_pending) != NULL) {
        br->spare_pending = p->next;
        free(p);
    }
    br->nspare_pending = 0;
}


/* Ends p with the answer f (its text, its scan and, if parsed, its tree)
 * or, f NULL, with err and msg. */
static void pending_end(cq__pending *p, const cq__frame *f, int err,
                        const char *msg)
{
    cq__account *a = p->acct;
    cq__bridge *br = p->conn->br;
    const char *text = f != NULL ? f->text : NULL;
    size_t len = f != NULL ? f->len : 0;

    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        a->pending = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    else
        a->pending_tail = p->prev;
    a->npending--;
    p->conn->npending--;
    if (p->text_cb != NULL)
        p->text_cb(p->arg, text, len, f, err, msg);
    else if (p->cb != NULL)
        tell_tree(p, text, len, f != NULL ? f->tree : NULL, err, msg);
    give_back(br, p);
}


void cq__pending_fail_conn(cq__bridge *br, cq__ws_conn *c)
{
    cq__pending *p, *next;

    for (p = c->acct->pending; p != NULL; p = next) {
        next = p->next;
        if (p->conn == c) {
            br->n.calls_failed++;
            pending_end(p, NULL, CQ_ENETWORK,
                        "the connection carrying the call closed");
        }
    }
}


/*
 * Sets a's timer for its earliest deadline (none: left unset), now being
 * the time in ms (cq__now_ms). That is the first call's: see first_due().
 */
static void set_timer(cq__account *a, uint64_t now)
{
    uint64_t at = a->pending != NULL ? a->pending->deadline_ms : 0, ms;
    struct timeval tv;

    a->timer_at = at;
    if (at == 0)
        return;
    ms = at > now ? at - now : 0;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)(ms % 1000 * 1000);
    evtimer_add(a->timer, &tv);
}


/*
 * The first of a's calls whose deadline has come, or NULL. The list is in
 * deadline order: a call joins at its tail with a deadline of now (a
 * monotonic clock) plus api_timeout_ms, which does not change while the
 * bridge runs, and leaving it keeps the order. So only the first can be
 * due before the others.
 */
static cq__pending *first_due(cq__account *a, uint64_t now)
{
    cq__pending *p = a->pending;

    return p != NULL && p->deadline_ms <= now ? p : NULL;
}


/*
 * Ends a's calls whose deadline has come, one at a time from the oldest (a
 * callback may end others, or a's last connection and so a), then sets the
 * timer for the rest.
 */
static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    cq__account *a = arg;
    int64_t self_id = a->self_id;
    uint64_t now = cq__now_ms();
    cq__bridge *br;
    cq__pending *p;

    (void)fd;
    (void)what;
    a->timer_at = 0;
    while ((p = first_due(a, now)) != NULL) {
        br = p->conn->br;
        cq_log(CQ_LOG_WARN,
               "account %" PRId64 ": call cq:%" PRIu64 " got no "
               "answer in time",
               self_id, p->id);
        br->n.calls_failed++;
        pending_end(p, NULL, CQ_ETIMEDOUT, "no answer within api_timeout_ms");
        if (cq__account_find(br, self_id) != a)
            return; /* Freed with its timer. */
    }
    set_timer(a, now);
}


/* Writes v in decimal at o (up to 20 bytes, no NUL); returns the length. */
static size_t put_u64(char *o, uint64_t v)
{
    char tmp[20];
    size_t n = 0, i;

    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    for (i = 0; i < n; i++)
        o[i] = tmp[n - 1 - i];
    return n;
}


/* The frame {action, params, echo} as text; NULL when it cannot be written. */
static char *call_frame(const char *action, yajl_val params, uint64_t id,
                        size_t *len)
{
    char echo[32];
    cq__jw w;
    char *s;

    memcpy(echo, "cq:", 3);
    echo[3 + put_u64(echo + 3, id)] = '\0';
    cq__jw_init(&w);
    cq__jw_open(&w);
    cq__jw_kstr(&w, "action", action);
    cq__jw_key(&w, "params");
    if (params != NULL) {
        cq__jw_value(&w, params);
    } else {
        cq__jw_open(&w);
        cq__jw_close(&w);
    }
    cq__jw_kstr(&w, "echo", echo);
    cq__jw_close(&w);
    s = cq__jw_dup(&w, len);
    cq__jw_free(&w);
    return s;
}


/*
 * The frame {action, params, echo} around params, JSON text that is already
 * an object (the library checked or wrote it), copied as it is rather than
 * parsed and written again; action is a checked name ([A-Za-z0-9_.]), which
 * needs no escaping. Written into buf (size bytes) when it fits, else into
 * new memory (*heap, which the caller frees); NULL when out of memory.
 */
static char *text_frame(const char *action, const char *params, size_t plen,
                        uint64_t id, char *buf, size_t size, char **heap,
                        size_t *len)
{
    size_t alen = strlen(action);
    char *s = buf, *o;

    *heap = NULL;
    /* {"action":"",  "params": ,"echo":"cq:  "}  and up to 20 digits. */
    if (alen + plen + 11 + 11 + 12 + 2 + 20 >= size) {
        s = *heap = malloc(alen + plen + 11 + 11 + 12 + 2 + 20 + 1);
        if (s == NULL)
            return NULL;
    }
    o = (char *)memcpy(s, "{\"action\":\"", 11) + 11;
    o = (char *)memcpy(o, action, alen) + alen;
    o = (char *)memcpy(o, "\",\"params\":", 11) + 11;
    o = (char *)memcpy(o, params, plen) + plen;
    o = (char *)memcpy(o, ",\"echo\":\"cq:", 12) + 12;
    o += put_u64(o, id);
    memcpy(o, "\"}", 3);
    *len = (size_t)(o + 2 - s);
    return s;
}


/*
 * Sends frame (len bytes; the stream copies it) for call id over acct's
 * API connection and registers the pending call; see cq__account_call.
 */
static int send_call(cq__bridge *br, cq__account *acct, uint64_t id,
                     const char *frame, size_t len, const cq__pending *cbs,
                     cq__pending **out)
{
    cq__ws_conn *c = cq__account_api_conn(acct);
    uint64_t now;
    cq__pending *p;

    if (frame == NULL)
        return CQ_ENOMEM;
    if (acct->timer == NULL &&
        (acct->timer = evtimer_new(br->base, on_timeout, acct)) == NULL)
        return CQ_ENOMEM;
    p = take_spare(br);
    if (p == NULL)
        return CQ_ENOMEM;
    if (cq__conn_send_text(c, frame, len) != 0) {
        give_back(br, p);
        return CQ_EAGAIN;
    }
    /* A flush that found the connection over has detached it and failed
     * its calls already: this one must not be left pointing at it. */
    if (c->state != CQ__CONN_OPEN) {
        give_back(br, p);
        return CQ_ENETWORK;
    }
    p->id = id;
    p->acct = acct;
    p->conn = c;
    p->cb = cbs->cb;
    p->text_cb = cbs->text_cb;
    p->arg = cbs->arg;
    now = cq__now_ms();
    p->deadline_ms = now + (uint64_t)br->conf->api_timeout_ms;
    p->prev = acct->pending_tail;
    if (p->prev != NULL)
        p->prev->next = p;
    else
        acct->pending = p;
    acct->pending_tail = p;
    acct->npending++;
    c->npending++;
    br->n.calls_sent++;
    /* The timer is set for an earlier call, which ends first, or unset. */
    if (acct->timer_at == 0)
        set_timer(acct, now);
    /*
     * The answer comes on c: if c stopped reading because the workers are
     * full, it must read again, or the worker waiting here never wakes.
     */
    cq__conn_reading_needed(c);
    if (out != NULL)
        *out = p;
    return CQ_OK;
}


/* Why a call cannot go out now: CQ_ENOAPI, CQ_EAGAIN, or CQ_OK. */
static int refuse_call(cq__bridge *br, cq__account *acct, cq__pending **out)
{
    if (out != NULL)
        *out = NULL;
    if (cq__account_api_conn(acct) == NULL)
        return CQ_ENOAPI;
    if (acct->npending >= (size_t)br->conf->max_pending)
        return CQ_EAGAIN;
    return CQ_OK;
}


/*
 * Either call: params as a tree, or text (params, plen) when it is NULL;
 * cbs holds the callback and its argument.
 */
static int start_call(cq__bridge *br, cq__account *acct, const char *action,
                      yajl_val tree, const char *params, size_t plen,
                      const cq__pending *cbs, cq__pending **out)
{
    int rc = refuse_call(br, acct, out);
    char buf[1024], *heap = NULL;
    const char *frame;
    uint64_t id;
    size_t len = 0;

    if (rc != CQ_OK)
        return rc;
    id = ++br->next_id;
    if (params != NULL)
        frame =
            text_frame(action, params, plen, id, buf, sizeof(buf), &heap, &len);
    else
        frame = heap = call_frame(action, tree, id, &len);
    rc = send_call(br, acct, id, frame, len, cbs, out);
    free(heap);
    return rc;
}


int cq__account_call(cq__bridge *br, cq__account *acct, const char *action,
                     yajl_val params, cq__pending_cb *cb, void *arg,
                     cq__pending **out)
{
    cq__pending cbs = {.cb = cb, .arg = arg};

    return start_call(br, acct, action, params, NULL, 0, &cbs, out);
}


int cq__account_call_text(cq__bridge *br, cq__account *acct, const char *action,
                          const char *params, size_t plen,
                          cq__pending_text_cb *cb, void *arg, cq__pending **out)
{
    cq__pending cbs = {.text_cb = cb, .arg = arg};

    return start_call(br, acct, action, NULL, params, plen, &cbs, out);
}


/*
 * Reads the id of the echo "cq:<id>"; returns 1, or 0 when it is not one.
 * The bridge's own form, up to 19 digits, is read here; anything else as
 * sscanf reads it (a sign, say), as it always was.
 */
static int echo_id(const char *echo, uint64_t *id)
{
    const char *p = echo + 3;
    char tail;

    if (strncmp(echo, "cq:", 3) != 0)
        return 0;
    for (*id = 0; *p >= '0' && *p <= '9' && p - echo < 3 + 19; p++)
        *id = *id * 10 + (uint64_t)(*p - '0');
    if (*p == '\0' && p > echo + 3)
        return 1;
    return sscanf(echo, "cq:%" SCNu64 "%c", id, &tail) == 1;
}


/*
 * An API answer, f (its text, its "echo" or NULL when it has none that is a
 * string, and its tree only when it had to be parsed), to the call it ends:
 * a requester that wants a tree gets it parsed then.
 */
void cq__account_on_frame(cq__bridge *br, cq__ws_conn *c, const cq__frame *f)
{
    cq__pending *p;
    uint64_t id;

    if (c->acct == NULL || f->echo == NULL || !echo_id(f->echo, &id)) {
        /* Answers to calls made by somebody else, or without echo. */
        br->n.frames_ignored++;
        cq_log(CQ_LOG_DEBUG, "%s: answer without a known echo ignored",
               c->peer);
        return;
    }
    for (p = c->acct->pending; p != NULL; p = p->next) {
        if (p->id == id) {
            br->n.calls_answered++;
            pending_end(p, f, CQ_OK, NULL);
            return;
        }
    }
    br->n.frames_ignored++;
    cq_log(CQ_LOG_DEBUG,
           "%s: answer to cq:%" PRIu64 " came after its call "
           "ended; ignored",
           c->peer, id);
}


void cq__pending_detach(cq__pending *p)
{
    p->cb = NULL;
    p->text_cb = NULL;
    p->arg = NULL;
}


size_t cq__accounts_fail_all(cq__bridge *br, int err, const char *msg)
{
    size_t i, n = 0;
    cq__account *a;

    for (i = 0; i < CQ__ACCOUNT_BUCKETS; i++) {
        for (a = br->buckets[i]; a != NULL; a = a->next) {
            while (a->pending != NULL) {
                pending_end(a->pending, NULL, err, msg);
                n++;
            }
        }
    }
    br->n.calls_failed += n;
    return n;
}
