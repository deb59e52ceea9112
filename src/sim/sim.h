/*
 * sim: cqhttp-sim, a OneBot v11 implementation simulator.
 *
 * The program plays the OneBot side for bot authors without a QQ account and
 * for the tests: "post" builds or loads an event and POSTs it, signed, to a
 * bot; "serve" answers the HTTP API with plausible data and logs every call
 * as one JSON line; "connect" dials cqhttp-bridge by reverse WebSocket,
 * sends events and answers its API calls as "serve" does; "cq" converts
 * messages between CQ code and segment arrays. Each subcommand is a
 * function taking its own argv (argv[0] is the subcommand's name) and
 * returning the process exit status: 0 on success, 1 when the work failed,
 * CQ__SIM_EXIT_USAGE for bad usage.
 *
 * Everything here runs on the main thread; the program starts no threads.
 */
#ifndef CQ_SIM_H
#define CQ_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lib/buf.h"
#include "lib/conf.h"
#include "lib/json.h"

#define CQ__SIM_PROG       "cqhttp-sim"
#define CQ__SIM_EXIT_USAGE 2
/* The QQ number the simulated bot logs in as, unless --self-id says. */
#define CQ__SIM_SELF_ID 10001000

/* The subcommands (post.c, serve.c, connect.c, cq.c). */
int cq__sim_post(int argc, char **argv);
int cq__sim_serve(int argc, char **argv);
int cq__sim_connect(int argc, char **argv);
int cq__sim_cq(int argc, char **argv);

/*
 * Prints "cqhttp-sim CMD: <message>" and a hint to try --help on stderr.
 * Returns CQ__SIM_EXIT_USAGE, so that callers can return it directly.
 */
int cq__sim_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Returns 1 when argv[1..argc) asks for help (-h or --help before "--"). */
int cq__sim_wants_help(int argc, char **argv);

/*
 * Loads the shared settings (--config, CQHTTP_* and their flags) into conf,
 * which the caller has initialised, and stores the arguments left for the
 * subcommand in args[0..*nargs) (args holds argc entries). Also sets up
 * logging. Returns 0, or an exit status after printing why.
 */
int cq__sim_conf(const char *cmd, cq__conf *conf, int argc, char **argv,
                 char **args, int *nargs);

/*
 * Parses a QQ number or group id: decimal digits only, from 1 to INT64_MAX.
 * Returns CQ_OK or CQ_EINVAL.
 */
int cq__sim_parse_id(const char *s, int64_t *out);

/*
 * Reads f to its end into b (initialised by the caller with its cap).
 * Returns CQ_OK, CQ_ETOOBIG (b's cap passed; b is freed), CQ_EIO or
 * CQ_ENOMEM.
 */
int cq__sim_read_all(FILE *f, cq__buf *b);

/* Returns a random 32-bit value (getrandom, falling back to the clock). */
uint32_t cq__sim_random32(void);

/*
 * Events that "post" and "connect" send, built in one place (post_event.c)
 * so that both show a bot the same shapes: go-cqhttp's fields in gocq's
 * order, a random negative int32 message_id, the message as a CQ-code
 * string in both message and raw_message (or, with array set, message as
 * the segment array of message_format "array"), and the meta events (heartbeat,
 * lifecycle) a connection carries.
 */
enum cq__sim_event_kind {
    CQ__SIM_EV_PRIVATE,        /* user_id, text */
    CQ__SIM_EV_GROUP,          /* group_id, user_id, text */
    CQ__SIM_EV_GROUP_INCREASE, /* group_id, user_id */
    CQ__SIM_EV_FRIEND_REQUEST, /* user_id, text (the comment) */
    CQ__SIM_EV_GROUP_REQUEST,  /* group_id, user_id, sub_type */
    CQ__SIM_EV_HEARTBEAT,      /* interval */
    CQ__SIM_EV_LIFECYCLE       /* sub_type ("connect" when NULL) */
};

typedef struct cq__sim_event_spec {
    enum cq__sim_event_kind kind;
    int64_t self_id;
    int64_t user_id;
    int64_t group_id;
    const char *text;     /* CQ code, or the request comment; may be NULL. */
    const char *sub_type; /* "add" or "invite" for group requests. */
    int64_t interval;     /* A heartbeat's, in ms; 0 says 5000. */
    int array;            /* Messages: "message" as segments, not CQ code. */
} cq__sim_event_spec;

/*
 * Serialises the event as gocq does (Go's json.Encoder): compact, '<', '>'
 * and '&' written as \u003c, \u003e and \u0026, and a trailing newline.
 * Returns a new string (the caller frees it) and its length in *len, or NULL
 * with *err set to CQ_EINVAL (a string is not valid UTF-8) or CQ_ENOMEM.
 */
char *cq__sim_event_build(const cq__sim_event_spec *spec, size_t *len,
                          int *err);

#endif
