/*
 * sending: the before_sending hooks (cqhttp.h) and where they apply: the
 * params of a message-sending API call, and the quick-operation reply.
 *
 * The hook list is filled before the program starts and only read after,
 * so reading it takes no lock. Without hooks both checks return at once.
 */
#ifndef CQ_SENDING_H
#define CQ_SENDING_H

#include "cqhttp.h"

/*
 * Runs the hooks on the message of a call of action with params (a JSON
 * object text), if action sends one. Returns CQ_OK with *replaced NULL (send
 * params unchanged) or a new params text to send instead (the caller frees
 * it); or CQ_ECANCELED (a hook cancelled: out's detail says which code) or
 * CQ_ENOMEM, with out filled (it must be initialised).
 */
int cq__sending_call(cq_ctx *c, const char *action, const char *params,
                     char **replaced, cq_result *out);

/*
 * Runs the hooks on c's quick-operation reply, if any: a changed reply
 * becomes a segment message, a cancelled one is removed. Returns CQ_OK or
 * CQ_ENOMEM.
 */
int cq__sending_reply(cq_ctx *c);

/* Tests: forgets every hook. */
void cq__sending_reset(void);

#endif
