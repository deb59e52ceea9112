/*
 * program: the name and version a runtime program shows in --help,
 * --version and its log lines.
 *
 * A bot author's program is cq_fcgi_main() or cq_bridge_main() behind a
 * main() of their own, so it must not call itself cqhttp-fcgi: the name is
 * the one cq_set_program() gave, else the basename of argv[0]. Set once at
 * start-up, before threads exist.
 */
#ifndef CQ_RUNTIME_PROGRAM_H
#define CQ_RUNTIME_PROGRAM_H

/*
 * Picks the name (cq_set_program's, else argv[0]'s basename, else
 * fallback) and the version for the rest of the process.
 */
void cq__program_start(char **argv, const char *fallback);

/* The name picked by cq__program_start(), e.g. "mybot". */
const char *cq__program_name(void);

/*
 * The version text: CQ_VERSION for cqhttp's own programs, the bot's version
 * followed by "(cqhttp CQ_VERSION)" for a bot, e.g. "1.2.0 (cqhttp 0.1.0)".
 */
const char *cq__program_version(void);

#endif
