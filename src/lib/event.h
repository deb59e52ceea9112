/*
 * event: one parsed OneBot event (public part in cqhttp.h).
 *
 * The event holds the body bytes (its own copy, or the caller's buffer lent
 * to cq__event_parse_lent(), whose strings the tree leaves in it, ended in
 * place, so that cq_event_raw() then gives a copy made on first use) and
 * the yajl tree built from them; every string and value handed out points
 * into one of the two and lives until cq_event_free() (a lent buffer must
 * live as long). The dispatch name is computed once at parse time.
 *
 * The plain text (cq_event_text()) is computed on first use instead, since
 * most events never ask for it: it is malloc'd (the arena is not thread
 * safe) and published with an atomic compare-and-swap, so that threads
 * sharing a read-only event may ask for it at once; a thread that loses the
 * race frees its copy. cq_event_free() frees it.
 */
#ifndef CQ_EVENT_H
#define CQ_EVENT_H

#include <yajl/yajl_tree.h>

#include "cqhttp.h"
#include "lib/arena.h"

struct cq_event {
    cq__arena *arena; /* Holds the event and all below. */
    const char *raw;  /* The body, NUL-terminated. */
    int in_place;     /* raw is lent; its strings are ended in it. */
    char *raw_text;   /* With in_place: the body as received, once asked. */
    size_t raw_len;
    yajl_val root; /* An object. */
    const char *post_type;
    const char *detail_type; /* NULL when "<post_type>_type" is absent. */
    const char *sub_type;    /* NULL when absent or empty. */
    const char *name;        /* "post_type.detail.sub", for dispatch. */
    char *text;              /* Plain text, or NULL until first asked. */
};

/*
 * As cq_event_parse(), without copying the body: buf (len bytes,
 * NUL-terminated at buf[len]) stays the caller's in every case, and the
 * event ends its strings in it, so buf must outlive the event, which does
 * not free it. The responder lends the buffer each of its threads keeps for
 * bodies (fcgi/body.h), so that the body is held once.
 */
int cq__event_parse_lent(cq_event **ev, char *buf, size_t len, int max_depth);

#endif
