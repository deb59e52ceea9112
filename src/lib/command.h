/*
 * command: reading a message event as a command ("/weather 北京") for
 * CQ_ON_COMMAND handlers and cq_command_name() and friends (cqhttp_bot.h).
 *
 * A context parses its event's command once, on first use, and keeps the
 * result until cq__ctx_free(); the prefixes come from the context's settings
 * (command_prefix).
 */
#ifndef CQ_COMMAND_H
#define CQ_COMMAND_H

#include "cqhttp.h"

struct cq__command;

/* Frees a parsed command; NULL is a no-op. */
void cq__command_free(struct cq__command *cmd);

#endif
