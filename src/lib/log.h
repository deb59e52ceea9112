/*
 * log: one line per event worth telling an operator, on stderr.
 *
 * Each line is built whole and written with one write(2), so lines from
 * several threads never interleave. The level and program name are set once
 * at start-up, before threads exist.
 */
#ifndef CQ_LOG_H
#define CQ_LOG_H

#include "cqhttp.h"

void cq__log_setup(const char *program, cq_log_level level);
/* Parses "error", "warn", "info" or "debug"; CQ_OK or CQ_EINVAL. */
int cq__log_parse_level(const char *s, cq_log_level *out);
int cq__log_enabled(cq_log_level level);
/*
 * Points stderr at path (opened for appending, created 0640), so that log
 * lines and anything else written to stderr go there. Called at start-up
 * and on SIGHUP, after logrotate has moved the file. Returns CQ_OK or CQ_EIO
 * (stderr is then left as it was).
 */
int cq__log_open(const char *path);

#endif
