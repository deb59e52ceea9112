/*
 * call: the call core of cqhttp-sim, one path for the API calls that
 * "serve" reads from HTTP requests and "connect" from WebSocket frames.
 *
 * A transport reads a call (the action, its parameters as a parsed object,
 * an echo) into a cq__sim_call and asks cq__sim_call_eval() for the OneBot
 * answer: the data table (serve_data.c), the parameter checks
 * (serve_check.c), the _async suffix and the injected fault all live here,
 * once. The transport then maps the outcome onto its own terms ("serve"
 * onto HTTP statuses and headers, "connect" onto frames and retcodes 14xx),
 * sends the body, and writes the call's log line with cq__sim_call_log().
 *
 * A cq__sim_core is what both transports share for a whole run: the fault
 * table, the simulated account and the call log. A cq__sim_call lives in
 * the transport's own request or frame object; it owns its action and its
 * body, and borrows its params and echo from the transport's parsed tree.
 *
 * Everything runs on the loop thread; nothing is thread-safe.
 */
#ifndef CQ_SIM_CALL_H
#define CQ_SIM_CALL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sim/sim.h"

#define CQ__SIM_MAX_FAULTS 64
#define CQ__SIM_ACTION_MAX 128 /* Longest action name, with its suffix. */

enum cq__sim_fault_kind {
    CQ__SIM_FAULT_FAILED,        /* Status failed, arg = retcode. */
    CQ__SIM_FAULT_HTTP,          /* HTTP only: status arg, empty body. */
    CQ__SIM_FAULT_GARBAGE,       /* An answer that is not JSON. */
    CQ__SIM_FAULT_NOJSON_STATUS, /* {"retcode":0}, no status. */
    CQ__SIM_FAULT_SLOW,          /* The normal answer after arg ms. */
    CQ__SIM_FAULT_CLOSE,         /* Close without answering. */
    CQ__SIM_FAULT_PARTIAL        /* A truncated answer, then close. */
};

typedef struct cq__sim_fault {
    char action[CQ__SIM_ACTION_MAX]; /* Empty for every action. */
    enum cq__sim_fault_kind kind;
    long arg;
} cq__sim_fault;

/* The simulated account: what the plausible data is made of. */
typedef struct cq__sim_world {
    int64_t self_id;
    uint32_t next_message_id; /* Increases by one per message sent. */
} cq__sim_world;

/* What every call of a run shares. */
typedef struct cq__sim_core {
    cq__sim_fault faults[CQ__SIM_MAX_FAULTS];
    size_t nfaults;
    cq__sim_world world;
    FILE *log; /* The call log, one JSON line a call. */
    int log_owned;
    uint64_t seq; /* Log lines written. */
} cq__sim_core;

/*
 * One call. The transport fills the first group, cq__sim_call_eval() the
 * answer; the log line says both.
 */
typedef struct cq__sim_call {
    char *action;    /* As requested, or NULL when none was named; owned. */
    yajl_val params; /* An object, or NULL for none; borrowed. */
    yajl_val echo;   /* WebSocket's echo, or NULL for none; borrowed. */
    /* Transport fields of the log line; NULL ones are left out. */
    const char *peer;   /* HTTP: "127.0.0.1:40312". */
    const char *method; /* HTTP: "GET". */
    const char *role;   /* WebSocket: "Universal", "API". */
    const char *auth;   /* Written as null when NULL. */
    int http_status;    /* HTTP: 0 while none was sent; -1: not HTTP. */
    /* The answer. */
    const cq__sim_fault *fault; /* The fault applied, or NULL. */
    const char *status; /* OneBot status, or NULL for a non-OneBot answer. */
    int64_t retcode;
    char error[256]; /* Why the call was rejected or failed, or "". */
    char *body;      /* The answer to send, or NULL for none; owned. */
    size_t body_len;
} cq__sim_call;

/*
 * Sets the core up for a run with no faults, logging to stdout, as account
 * self_id.
 */
void cq__sim_core_init(cq__sim_core *core, int64_t self_id);
/*
 * Appends the call log to path (NULL: stdout). Returns CQ_OK, or CQ_EIO
 * after saying why.
 */
int cq__sim_core_open_log(cq__sim_core *core, const char *path);
/* Closes the call log if it was opened. Never fails. */
void cq__sim_core_free(cq__sim_core *core);
/*
 * Parses a --fault SPEC, "[ACTION=]KIND", into the table; http:STATUS only
 * when http is set. Returns CQ_OK, CQ_ETOOBIG (more than
 * CQ__SIM_MAX_FAULTS) or CQ_EINVAL, with a sentence in err.
 */
int cq__sim_core_add_fault(cq__sim_core *core, const char *spec, int http,
                           char *err, size_t errlen);

/* The name of a fault kind, as --fault spells it. */
const char *cq__sim_fault_name(enum cq__sim_fault_kind kind);
/*
 * Copies action into base (len bytes) without an _async or _rate_limited
 * suffix, unless action itself is in the table; returns 1 if one was cut.
 */
int cq__sim_strip_suffix(const char *action, char *base, size_t len);

/*
 * Decides c's answer from its action and params, in PROTOCOL.md's order:
 * the action, the fault, the _async suffix, the parameter checks (retcode
 * 100) and the plausible data. On CQ_OK c->body holds the answer, unless
 * the fault (c->fault) is close or http, which the transport carries out
 * (slow as well: its body waits). Returns CQ_OK, or one of these negative
 * values with a sentence in c->error and no body:
 *
 * CQ_ENOENT   c->action is not in the table.
 * CQ_ENOMEM   out of memory.
 */
int cq__sim_call_eval(cq__sim_core *core, cq__sim_call *c);
/*
 * Stores a OneBot answer with null data and, when msg is set, msg and
 * wording (msg also becomes c->error). Returns CQ_OK or CQ_ENOMEM (a
 * sentence in c->error, no body).
 */
int cq__sim_call_answer(cq__sim_call *c, const char *status, int64_t retcode,
                        const char *msg);
/* Stores a sentence in c->error. */
void cq__sim_call_error(cq__sim_call *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Notes that the answer never left: its connection went first. */
void cq__sim_call_unsent(cq__sim_call *c);
/* Writes c's one log line; a failure to log is reported, not returned. */
void cq__sim_call_log(cq__sim_core *core, const cq__sim_call *c);
/* Frees what c owns (the action and the body), not c. Never fails. */
void cq__sim_call_free(cq__sim_call *c);

#endif
