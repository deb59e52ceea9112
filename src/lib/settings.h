/*
 * settings: the bot's own settings ("bot.<name> = value" in the --config
 * file, CQHTTP_BOT_<NAME> in the environment), kept in the cq__conf that
 * read them and published for cq_setting(), and the user-data pointer.
 *
 * The programs publish their settings once before starting hooks and
 * workers, and withdraw them after the last handler ran, so readers on any
 * thread see a table that does not change.
 */
#ifndef CQ_SETTINGS_H
#define CQ_SETTINGS_H

#include "lib/conf.h"

/*
 * Keeps value under the bot setting named by key when key is "bot.<name>"
 * or "CQHTTP_BOT_<NAME>" (the name then lowercased); a later value replaces
 * an earlier one. Returns 1 when kept, 0 when key names no bot setting, or
 * CQ_ENOMEM.
 */
int cq__settings_put(cq__conf *c, const char *key, const char *value);

/* Keeps every CQHTTP_BOT_* variable of the environment. CQ_OK or CQ_ENOMEM. */
int cq__settings_env(cq__conf *c);

void cq__settings_free(cq__conf *c);
/* Copies src's bot settings into dst (which has none). CQ_OK or CQ_ENOMEM. */
int cq__settings_copy(cq__conf *dst, const cq__conf *src);

/* Makes c's bot settings those cq_setting() reads; NULL withdraws them. */
void cq__settings_publish(const cq__conf *c);

#endif
