/*
 * dispatch: the table of registered handlers and the order they run in.
 *
 * Registration happens before main() (constructors of handler objects) or at
 * start-up; cq__dispatch_prepare() then sorts the table once, before any
 * thread dispatches, and the table is read-only from then on.
 */
#ifndef CQ_DISPATCH_H
#define CQ_DISPATCH_H

#include <stddef.h>

#include "cqhttp.h"

/*
 * Sorts the table and checks every registered name (names.h), once: each
 * bad name is logged as an error (a post type of the handler's own as a
 * warning). Returns the number of handlers, or CQ_EINVAL when a name is bad,
 * then on every call until the table changes.
 */
int cq__dispatch_prepare(void);

/* The first bad-name error of the last check, as logged; "" when none. */
const char *cq__dispatch_error(void);

/*
 * Runs the handlers for c's event in order (cqhttp.h; the command handlers
 * of a message that is a command first, cqhttp_bot.h). Returns CQ_OK, or
 * CQ_EHANDLER when a handler returned a negative value: the handlers after
 * it do not run, and one log line names it.
 */
int cq__dispatch(cq_ctx *c);

/* Drops every registration (for tests). */
void cq__dispatch_reset(void);

#endif
