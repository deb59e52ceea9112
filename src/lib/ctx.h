/*
 * ctx: the state of one event while its handlers run: the event, the quick
 * operation being built and the API transport of the running thread.
 *
 * A context belongs to one thread. It borrows the event, the settings and the
 * transport, which must outlive it; it owns the quick-operation fields.
 */
#ifndef CQ_CTX_H
#define CQ_CTX_H

#include <stdint.h>

#include "cqhttp.h"
#include "lib/buf.h"
#include "lib/conf.h"

struct cq__api;
struct cq__json_sink;

/* Keys this long or shorter, NUL included, are held in their field. */
#define CQ__QUICK_KEY 24
/* Fields held in the context itself: a quick operation has a few. */
#define CQ__QUICK_IN 4

/*
 * A field of the quick operation. A short key (most are: "reply",
 * "at_sender", "ban_duration") is copied into the field rather than
 * allocated; read it with cq__quick_key().
 */
typedef struct cq__quick_field {
    char *key; /* A longer key's copy (malloc), or NULL: it is key_in. */
    char key_in[CQ__QUICK_KEY];
    enum { QF_BOOL, QF_INT, QF_STRING, QF_VALUE, QF_MSG } kind;
    int64_t i;
    char *s;
    const cq_value *v; /* Borrowed from the event (reply = its message). */
    cq_msg *m;         /* Owned copy (cq_reply_msg). */
} cq__quick_field;

struct cq_ctx {
    const cq_event *event;
    const cq__conf *conf;
    struct cq__api *api; /* May be NULL: API calls then give CQ_ENOAPI. */
    int64_t self_id;     /* Account for API calls; 0: the event's self_id. */
    int handler;         /* Index of the running handler, -1 outside. */
    int quick_owner;     /* Handler that owns the quick operation, or -1. */
    int outside;         /* Made by cq_ctx_for(): owns api, freed by
                            cq_ctx_release(). */
    /* The quick operation's fields: the first CQ__QUICK_IN here, so that
     * an answer costs no allocation for them, the rest in more. */
    cq__quick_field quick_in[CQ__QUICK_IN];
    cq__quick_field *more;
    size_t nfields, capmore;
    struct cq__ctx_result_node *results; /* cq_call_r()'s, newest first. */
    struct cq__ctx_msg_node *msgs;       /* cq_ctx_cqf()'s. */
    struct cq__command *command;         /* Parsed on first use (command.c). */
};

/* Field i (below c->nfields) of c's quick operation. */
static inline cq__quick_field *cq__ctx_field(const cq_ctx *c, size_t i)
{
    return (cq__quick_field *)(i < CQ__QUICK_IN ? &c->quick_in[i]
                                                : &c->more[i - CQ__QUICK_IN]);
}


/*
 * Removes field at (below c->nfields) with what it owns; the later fields
 * move down one, across the in-context and the allocated parts.
 */
void cq__ctx_field_drop(cq_ctx *c, size_t at);

/* The key of field f. */
static inline const char *cq__quick_key(const cq__quick_field *f)
{
    return f->key != NULL ? f->key : f->key_in;
}

/*
 * Returns a new empty result owned by c (freed by cq__ctx_free()), or a
 * static result with err CQ_EINVAL (c NULL) or CQ_ENOMEM; *owned says which
 * (only an owned result may be filled).
 */
cq_result *cq__ctx_result(cq_ctx *c, int *owned);
/* Gives m (may be NULL) to c, to be freed with it; returns m, or NULL (m
 * freed) when c is NULL or out of memory. */
cq_msg *cq__ctx_own_msg(cq_ctx *c, cq_msg *m);

void cq__ctx_init(cq_ctx *c, const cq_event *e, const cq__conf *conf,
                  struct cq__api *api);
void cq__ctx_free(cq_ctx *c);

/*
 * Serialises the quick operation as a JSON object into a new string stored in
 * *out (NULL when no field was set), after the before_sending hooks saw its
 * reply (which they may change or remove). Returns CQ_OK, CQ_EINVAL (a
 * string is not valid UTF-8) or CQ_ENOMEM.
 */
int cq__ctx_quick_json(cq_ctx *c, char **out);

/*
 * As cq__ctx_quick_json(), with the JSON appended to out (in one pass, no
 * copy) instead: out is left as it was when there is no quick operation or
 * when the JSON cannot be written (freed, as cq__buf_add() frees it, after
 * CQ_ETOOBIG or CQ_ENOMEM). Returns CQ_OK, or the failure as
 * cq__ctx_quick_json().
 */
int cq__ctx_quick_write(cq_ctx *c, cq__buf *out);

/*
 * As cq__ctx_quick_write(), with the output passed on to sink (may be NULL)
 * as lib/json_put.h's cq__json_sink says, and the before_sending hooks run only
 * when hooks is set: a second pass over an operation whose hooks already
 * ran writes the same bytes as the first. Returns as cq__ctx_quick_write(),
 * or the sink's failure.
 */
int cq__ctx_quick_sink(cq_ctx *c, cq__buf *out,
                       const struct cq__json_sink *sink, int hooks);

#endif
