/*
 * cqhttp_runtime.h: the public interface of libcqhttp-runtime, the two
 * programs of cqhttp as functions.
 *
 * libcqhttp-runtime contains libcqhttp (every cq_ function of cqhttp.h) and
 * adds the FastCGI responder and the WebSocket bridge, with their libfcgi,
 * libevent and wslay. A bot author's own responder or bridge is a main() that
 * calls one of these, linked with the author's handler objects and with
 * libcqhttp-runtime alone (pkg-config cqhttp-runtime; see README, "Handlers in
 * your own tree"). A program links either libcqhttp or libcqhttp-runtime,
 * never both: the handler table and the API settings must exist once.
 */
#ifndef CQHTTP_RUNTIME_H
#define CQHTTP_RUNTIME_H

#include "cqhttp.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Each reads the settings from argv, the environment and --config, runs until
 * SIGTERM, and returns the exit code: 0, 1 (could not start) or 2 (bad
 * arguments). Call once per process, from the main thread.
 */
CQ_EXTERN int cq_fcgi_main(int argc, char **argv);
CQ_EXTERN int cq_bridge_main(int argc, char **argv);

/*
 * One entry point for a bot that is both programs: runs the bridge
 * (cq_bridge_main()) when the first argument is "--bridge" or "bridge",
 * which is then removed (argv's array is changed in place), else the
 * FastCGI responder (cq_fcgi_main()), and returns the exit code. A bot's
 * main() is then one line after cq_set_program():
 *
 *   int main(int argc, char **argv) { return cq_main(argc, argv); }
 *
 * and "mybot --bridge --listen 127.0.0.1:8080" runs it as a bridge.
 */
CQ_EXTERN int cq_main(int argc, char **argv);

/*
 * Names the program in --help, --version and its log lines: call it before
 * cq_fcgi_main() or cq_bridge_main(). Without it the name is argv[0]'s
 * basename; a version (NULL for none) is shown as "VERSION (cqhttp X.Y.Z)".
 * Both strings are kept, not copied: pass literals. Cannot fail.
 */
CQ_EXTERN void cq_set_program(const char *name, const char *version);

#ifdef __cplusplus
}
#endif

#endif
