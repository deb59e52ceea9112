/*
 * actions: the table of known OneBot actions, generated from actions.tbl
 * together with the typed wrappers of cqhttp_actions.h. cqhttp-sim serves
 * exactly this table, and cq__call_params_free() is what every wrapper ends
 * with.
 */
#ifndef CQ_ACTIONS_H
#define CQ_ACTIONS_H

#include <stddef.h>

#include "cqhttp.h"

enum cq__param_kind { CQ__P_I64, CQ__P_BOOL, CQ__P_STR, CQ__P_MSG, CQ__P_JSON };

typedef struct cq__action_param {
    const char *name;
    enum cq__param_kind kind;
    int optional;
} cq__action_param;

typedef struct cq__action {
    const char *name;
    const cq__action_param *params; /* NULL when nparams is 0. */
    size_t nparams;
} cq__action;

extern const cq__action cq__actions[];
extern const size_t cq__nactions;

/* The action named name (exactly), or NULL. */
const cq__action *cq__action_find(const char *name);

/*
 * Returns a copy of p's object text, closed (the caller frees it), or NULL
 * with *err set to p's latched error or CQ_ENOMEM. p itself is unchanged and
 * may grow further.
 */
char *cq__params_json(const cq_params *p, int *err);

/* Calls action with p's object, frees p, returns as cq_call_params(). */
int cq__call_params_free(cq_ctx *c, const char *action, cq_params *p,
                         cq_result *out);

#endif
