/*
 * lifecycle: what both programs do between reading their settings and
 * serving, and after the last event: publish the bot's settings, check the
 * handler registrations, and run the startup and shutdown hooks
 * (cqhttp_bot.h).
 */
#ifndef CQ_LIFECYCLE_H
#define CQ_LIFECYCLE_H

#include "lib/conf.h"

/*
 * Publishes conf's bot settings (conf must outlive cq__lifecycle_stop()),
 * checks the registrations (cq__dispatch_prepare) and runs the startup
 * hooks. Stores the number of handlers in *nhandlers (may be NULL). Returns
 * -1 to go on serving, or the exit code: 2 for a bad registration, 1 when a
 * hook failed or memory ran out, each said in a log line.
 */
int cq__lifecycle_start(const cq__conf *conf, int *nhandlers);

/*
 * After a successful cq__lifecycle_start(): runs the shutdown hooks and
 * withdraws the settings. Otherwise a no-op.
 */
void cq__lifecycle_stop(void);

/* Drops every hook registration (for tests). */
void cq__lifecycle_reset(void);

#endif
