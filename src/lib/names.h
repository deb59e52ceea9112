/*
 * names: the event names a handler may be registered under, checked once at
 * start-up (cq__dispatch_prepare) so that a misspelt name is an error rather
 * than a handler that never runs.
 */
#ifndef CQ_NAMES_H
#define CQ_NAMES_H

#include <stddef.h>

/*
 * Checks one full registration name ("message.private.friend",
 * "command.weather"). Returns CQ_OK; 1 when the post type is not one OneBot
 * defines but does not look like a misspelt one either (the caller warns:
 * handlers may use post types of their own); or CQ_EINVAL with one line in
 * err saying what is wrong and listing the valid names.
 */
int cq__names_check(const char *name, char *err, size_t errlen);

#endif
