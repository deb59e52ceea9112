/*
 * event: one parsed OneBot event (public part in cqhttp.h).
 *
 * The event owns the body bytes (a copy, or the buffer handed over to
 * cq__event_parse_take(), whose strings the tree leaves in it, ended in
 * place, so that cq_event_raw() then gives a copy made on first use) and
 * the yajl tree built from them; every string and value handed out points
 * into one of the two and lives until cq_event_free(). The dispatch name is
 * computed once at parse time.
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
    char *owned;      /* raw, freed with the event; its strings end in it. */
    int lent;         /* owned is the caller's (cq__event_parse_lent). */
    char *raw_text;   /* With owned: the body as received, once asked. */
    size_t raw_len;
    yajl_val root; /* An object. */
    const char *post_type;
    const char *detail_type; /* NULL when "<post_type>_type" is absent. */
    const char *sub_type;    /* NULL when absent or empty. */
    const char *name;        /* "post_type.detail.sub", for dispatch. */
    char *text;              /* Plain text, or NULL until first asked. */
};

/*
 * As cq_event_parse(), without copying the body: takes buf (malloc'd, len
 * bytes NUL-terminated at buf[len]) over in every case, freed with the event
 * or at once when the parse fails. The responder hands over the buffer it
 * read the request into, so that the body is held once.
 */
int cq__event_parse_take(cq_event **ev, char *buf, size_t len, int max_depth);

/*
 * As cq__event_parse_take(), but buf stays the caller's, in every case: the
 * event ends its strings in it all the same, and buf must outlive the event,
 * which does not free it. The responder lends the buffer each of its
 * threads keeps for bodies (fcgi/body.h).
 */
int cq__event_parse_lent(cq_event **ev, char *buf, size_t len, int max_depth);

#endif
