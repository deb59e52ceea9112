/*
 * event: one parsed OneBot event (public part in cqhttp.h).
 *
 * The event owns a copy of the body bytes and the yajl tree built from them;
 * every string and value handed out points into one of the two and lives
 * until cq_event_free(). The dispatch name is computed once at parse time.
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
    char *raw;        /* The body, NUL-terminated. */
    size_t raw_len;
    yajl_val root; /* An object. */
    const char *post_type;
    const char *detail_type; /* NULL when "<post_type>_type" is absent. */
    const char *sub_type;    /* NULL when absent or empty. */
    const char *name;        /* "post_type.detail.sub", for dispatch. */
    char *text;              /* Plain text, or NULL until first asked. */
};

#endif
