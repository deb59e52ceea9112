/*
 * cqhttp.h: the public interface of libcqhttp, a C SDK for QQ bot backends
 * that speak the CQHTTP protocol (OneBot v11).
 *
 * A bot author writes handlers:
 *
 *     static int on_message(cq_ctx *c, const cq_event *e)
 *     {
 *         cq_send(c, e, "hello");                 (an API call)
 *         cq_reply(c, cq_event_message(e));       (a quick operation)
 *         return CQ_OK;
 *     }
 *     CQ_ON_MESSAGE(on_message);
 *
 * and links them into cqhttp-fcgi (events by HTTP POST behind nginx or
 * Apache) and cqhttp-bridge (events over reverse WebSocket). Every function
 * returns 0 (CQ_OK) or a positive count on success and one of the negative
 * CQ_E* codes on failure; cq_strerror() names any code.
 *
 * Threads: a cq_ctx and everything reached through it belong to the thread
 * running the handler. Events and values are read-only and may be shared.
 */
#ifndef CQHTTP_H
#define CQHTTP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The version of this header. The package version (configure.ac) is read
 * from these three lines, so they are its one source. cq_version() gives the
 * version of the library actually loaded, which may differ from the header a
 * program was compiled with.
 */
#define CQ_VERSION_MAJOR 0
#define CQ_VERSION_MINOR 1
#define CQ_VERSION_PATCH 0
#define CQ_VERSION_HEX                                                         \
    ((CQ_VERSION_MAJOR << 16) | (CQ_VERSION_MINOR << 8) | CQ_VERSION_PATCH)
#define CQ__STR(x)  #x
#define CQ__XSTR(x) CQ__STR(x)
#define CQ_VERSION                                                             \
    CQ__XSTR(CQ_VERSION_MAJOR)                                                 \
    "." CQ__XSTR(CQ_VERSION_MINOR) "." CQ__XSTR(CQ_VERSION_PATCH)

/*
 * Marks the declarations the library exports. The library is built with
 * -fvisibility=hidden, so everything else, the internal cq__ functions
 * included, stays out of its dynamic symbol table.
 */
#if defined(__GNUC__) || defined(__clang__)
#define CQ_EXTERN __attribute__((visibility("default")))
#else
#define CQ_EXTERN
#endif

/* CQ_VERSION_HEX of the library loaded at run time. */
CQ_EXTERN unsigned cq_version(void);
/* CQ_VERSION of the library loaded at run time ("0.1.0"). */
CQ_EXTERN const char *cq_version_string(void);

/*
 * Return codes. 0 (CQ_OK) is success; every failure is negative. One list
 * gives the codes, cq_strerror() (the sentence) and cq_err_name() (the
 * name): XX(name, value, sentence), where the comment on each line says
 * when it is returned.
 */
#define CQ_ERRNO_MAP(XX)                                                       \
    /* Out of memory. */                                                       \
    XX(ENOMEM, -1, "out of memory")                                            \
    /* Input above its configured cap. */                                      \
    XX(ETOOBIG, -2, "input larger than its configured limit")                  \
    /* Malformed JSON, CQ code or HTTP. */                                     \
    XX(EPARSE, -3, "malformed input")                                          \
    /* A non-blocking step needs more input. */                                \
    XX(EAGAIN, -4, "more input needed")                                        \
    /* JSON nested deeper than allowed. */                                     \
    XX(EDEPTH, -5, "JSON nested deeper than allowed")                          \
    /* The event has no string "post_type". */                                 \
    XX(ENOTYPE, -6, "event has no post_type")                                  \
    /* An argument or setting is not valid. */                                 \
    XX(EINVAL, -7, "invalid argument")                                         \
    /* The field or item does not exist. */                                    \
    XX(ENOENT, -8, "no such field")                                            \
    /* The field exists with another JSON type. */                             \
    XX(ETYPE, -9, "field has another type")                                    \
    /* A number does not fit the asked type. */                                \
    XX(ERANGE, -10, "number out of range")                                     \
    /* A required signature or token is absent. */                             \
    XX(EAUTHMISSING, -11, "credentials missing")                               \
    /* A signature or token is wrong or malformed. */                          \
    XX(EAUTHBAD, -12, "credentials wrong or malformed")                        \
    /* No API transport is configured or usable. */                            \
    XX(ENOAPI, -13,                                                            \
       "no API available (set api_root, or connect the account "               \
       "to the bridge)")                                                       \
    /* The action failed: see cq_result.retcode. */                            \
    XX(EFAILED, -14, "the action failed (see retcode)")                        \
    /* Non-2xx HTTP answer: see cq_result.status. */                           \
    XX(EHTTP, -15, "the API answered with an HTTP error status")               \
    /* The API answer is not a OneBot result. */                               \
    XX(EBADRESP, -16, "the API answer is not a OneBot result")                 \
    /* The API server refused the connection. */                               \
    XX(ECONNREFUSED, -17, "the API server refused the connection")             \
    /* The API call took longer than allowed. */                               \
    XX(ETIMEDOUT, -18, "the API call timed out")                               \
    /* Any other transport failure. */                                         \
    XX(ENETWORK, -19, "network error talking to the API")                      \
    /* A handler reported failure. */                                          \
    XX(EHANDLER, -20, "a handler failed")                                      \
    /* Reading or writing a file or socket failed. */                          \
    XX(EIO, -21, "input/output error")                                         \
    /* A before_sending hook cancelled the message. */                         \
    XX(ECANCELED, -22, "sending cancelled by a before_sending hook")

#define CQ_OK                             0
#define CQ__ERRNO_ENUM(name, value, text) CQ_##name = value,
enum cq_errno { CQ_ERRNO_MAP(CQ__ERRNO_ENUM) };

/* Returns a static English sentence for any CQ_E* code (or "success"). */
CQ_EXTERN const char *cq_strerror(int err);
/* Returns the code's name ("CQ_ENOMEM", "CQ_OK"), or "CQ_E?" for others. */
CQ_EXTERN const char *cq_err_name(int err);

/*
 * Values: read-only views into parsed JSON. A cq_value is opaque, read through
 * the accessors below; it is owned by whatever produced it (an event, a
 * result) and lives as long as its owner.
 */
typedef struct cq_value cq_value;

typedef enum cq_type {
    CQ_TNONE = 0, /* The value is NULL (absent). */
    CQ_TNULL,
    CQ_TBOOL,
    CQ_TINT,    /* An integer that fits int64_t. */
    CQ_TDOUBLE, /* Any other number. */
    CQ_TSTRING,
    CQ_TARRAY,
    CQ_TOBJECT
} cq_type;

CQ_EXTERN cq_type cq_value_type(const cq_value *v);
/*
 * Follows a dotted path from v: object keys by name, array items by decimal
 * index ("message.0.data.text"). Returns NULL when any step is missing.
 */
CQ_EXTERN const cq_value *cq_value_get(const cq_value *v, const char *path);
/* NULL unless v is a string. */
CQ_EXTERN const char *cq_value_string(const cq_value *v);
/*
 * Stores an integer in *out. A JSON integer or a decimal string (NapCat sends
 * both) is accepted. Returns CQ_OK, CQ_ENOENT (v is NULL), CQ_ETYPE (not an
 * integer or a decimal string) or CQ_ERANGE (does not fit int64_t).
 */
CQ_EXTERN int cq_value_int(const cq_value *v, int64_t *out);
/* Returns 1 for true, 0 for false, or CQ_ENOENT / CQ_ETYPE. */
CQ_EXTERN int cq_value_bool(const cq_value *v);
/* Item count of an array or object; 0 for anything else. */
CQ_EXTERN size_t cq_value_len(const cq_value *v);
/* The i-th item of an array or value of an object; NULL past the end. */
CQ_EXTERN const cq_value *cq_value_at(const cq_value *v, size_t i);
/* The i-th key of an object; NULL past the end or for non-objects. */
CQ_EXTERN const char *cq_value_key(const cq_value *v, size_t i);
/*
 * Serialises v as compact JSON. Returns a string the caller frees with
 * free(), or NULL when out of memory or v is NULL.
 */
CQ_EXTERN char *cq_value_to_json(const cq_value *v);

/*
 * Events. An event is one parsed OneBot event object. Parsing checks the
 * nesting depth before building the tree, so hostile input cannot exhaust
 * the stack.
 */
typedef struct cq_event cq_event;

#define CQ_JSON_MAX_DEPTH 32 /* Default depth limit for event bodies. */

/*
 * Parses one event from buf (len bytes; buf need not be NUL-terminated).
 * On success stores a new event in *ev, to be freed with cq_event_free().
 * max_depth 0 means CQ_JSON_MAX_DEPTH. Returns:
 *
 * CQ_EPARSE   buf is not one JSON object (or holds a NUL byte or a comment).
 * CQ_EDEPTH   nesting is deeper than max_depth.
 * CQ_ENOTYPE  the object has no string "post_type".
 * CQ_ENOMEM   out of memory.
 */
CQ_EXTERN int cq_event_parse(cq_event **ev, const char *buf, size_t len,
                             int max_depth);
CQ_EXTERN void cq_event_free(cq_event *ev); /* NULL is a no-op. */

/* The whole event object. */
CQ_EXTERN const cq_value *cq_event_root(const cq_event *e);
/* Any field by dotted path, as cq_value_get() on the root. */
CQ_EXTERN const cq_value *cq_event_get(const cq_event *e, const char *path);
/* The body bytes the event was parsed from (NUL-terminated). For an event
 * the FastCGI responder parsed, a copy made on first use: NULL when out of
 * memory. */
CQ_EXTERN const char *cq_event_raw(const cq_event *e, size_t *len);

/* "message", "notice", "request", "meta_event", or another string. */
CQ_EXTERN const char *cq_event_post_type(const cq_event *e);
/* The value of "<post_type>_type" ("private", "group_increase", ...). */
CQ_EXTERN const char *cq_event_detail_type(const cq_event *e);
/* "sub_type", or NULL when absent or empty. */
CQ_EXTERN const char *cq_event_sub_type(const cq_event *e);
/*
 * The event name used for dispatch: post_type, detail type and sub type
 * joined by dots ("message.private.friend", "meta_event.heartbeat").
 */
CQ_EXTERN const char *cq_event_name(const cq_event *e);

/* Integer fields; 0 when absent or not an integer. */
CQ_EXTERN int64_t cq_event_self_id(const cq_event *e);
CQ_EXTERN int64_t cq_event_user_id(const cq_event *e);
CQ_EXTERN int64_t cq_event_group_id(const cq_event *e);
CQ_EXTERN int64_t cq_event_message_id(const cq_event *e); /* Often negative. */
CQ_EXTERN int64_t cq_event_time(const cq_event *e);
/* Integer field by path; returns as cq_value_int(). */
CQ_EXTERN int cq_event_int(const cq_event *e, const char *path, int64_t *out);
/* String field by path; NULL when absent or not a string. */
CQ_EXTERN const char *cq_event_string(const cq_event *e, const char *path);

/* "message": a string (CQ code) or an array of segments, as received. */
CQ_EXTERN const cq_value *cq_event_message(const cq_event *e);
CQ_EXTERN const char *cq_event_raw_message(const cq_event *e);
/*
 * The plain text of "message" (CQ code or segment array): the text segments
 * joined with one space, as cq_msg_plain_text(), with leading and trailing
 * ASCII white space removed; "" when the event has no message or a malformed
 * one. The string is owned by the event (computed on first use, then kept;
 * safe to call from threads sharing the event). NULL only when out of
 * memory.
 */
CQ_EXTERN const char *cq_event_text(const cq_event *e);
CQ_EXTERN const char *cq_event_flag(const cq_event *e);

/* Messages (cq_msg), in a header of their own. */
#include "cqhttp_msg.h"

/*
 * Results of API calls. Fill by cq_call(); release with cq_result_free().
 * On success (status "ok" or "async") err is CQ_OK and data is the "data"
 * value (possibly a JSON null or NULL). On failure err says which kind.
 * Free every result cq_call() filled, failed ones included: the detail is
 * allocated. (Before libcqhttp 2, detail was a char[256] that could
 * truncate.)
 */
typedef struct cq_result {
    int err;              /* CQ_OK or a CQ_E* code. */
    int64_t retcode;      /* OneBot retcode when a result was read. */
    long status;          /* HTTP status when an HTTP answer came. */
    const cq_value *data; /* The "data" member; owned by the result. */
    const char *detail;   /* Transport or server detail, whole; "" if none. */
    void *priv__;         /* Internal: the parsed answer. */
} cq_result;

/* Leaves r zeroed with detail ""; NULL is a no-op. */
CQ_EXTERN void cq_result_free(cq_result *r);

/*
 * Readers of a result's data by dotted path, as cq_event_get() and friends
 * read an event ("" is data itself): NULL, or CQ_ENOENT, when r is NULL or
 * has no data. cq_result_detail() is r's detail, never NULL and never
 * truncated ("" for a NULL r).
 */
CQ_EXTERN const cq_value *cq_result_get(const cq_result *r, const char *path);
CQ_EXTERN int cq_result_int(const cq_result *r, const char *path, int64_t *out);
CQ_EXTERN const char *cq_result_string(const cq_result *r, const char *path);
CQ_EXTERN const char *cq_result_detail(const cq_result *r);
/*
 * The string at path, or fallback when it is absent, not a string or empty
 * (also for a failed call), as Python's info['card'] or 'x':
 * cq_result_string_or(r, "card", cq_result_string_or(r, "nickname", "?")).
 */
CQ_EXTERN const char *cq_result_string_or(const cq_result *r, const char *path,
                                          const char *fallback);

/*
 * Handler context: one per event being handled. It carries the quick
 * operation being built and the calling thread's API transport.
 */
typedef struct cq_ctx cq_ctx;

/* The event being handled. */
CQ_EXTERN const cq_event *cq_ctx_event(const cq_ctx *c);

/*
 * Quick operation. The first handler (in dispatch order) that sets any
 * field owns the quick operation; fields set by later handlers of the same
 * event are ignored with a debug log line, as the Python SDK takes the first
 * non-empty handler result. Setting a field twice keeps the last value.
 * Each returns CQ_OK, CQ_ENOMEM or CQ_EINVAL (NULL key or value).
 */
/*
 * String or array. The value is not copied: it must live until the handlers
 * are done (the event's own values do; a cq_result's data does only until
 * cq_result_free(): use cq_reply_msg() or cq_reply_text() for those).
 */
CQ_EXTERN int cq_reply(cq_ctx *c, const cq_value *message);
/*
 * Replies with literal text (copied), never read as CQ code: user input is
 * safe here. It is sent as a string with '&', '[' and ']' escaped.
 * (Before libcqhttp 2, this function took CQ code: use cq_reply_cq() for
 * that.)
 */
CQ_EXTERN int cq_reply_text(cq_ctx *c, const char *text);
/* As cq_reply_text() with printf formatting; also CQ_ETOOBIG (the text is
 * longer than CQ_MSG_MAX_BYTES) and CQ_EINVAL (fmt NULL, or an output
 * error). */
CQ_EXTERN int cq_reply_textf(cq_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Replies with a CQ-code string (copied), which the implementation parses. */
CQ_EXTERN int cq_reply_cq(cq_ctx *c, const char *cq);
/*
 * As cq_msg_cqf(), but the message belongs to c and is freed when the
 * handlers are done, so it can be passed straight to a call:
 * cq_send_group_msg(c, g, cq_ctx_cqf(c, "[CQ:at,qq=%lld] hi", qq), ...).
 * Returns NULL when c is NULL or out of memory (a call given NULL fails with
 * CQ_EINVAL).
 */
CQ_EXTERN cq_msg *cq_ctx_cqf(cq_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Replies with cq_msg_cqf(fmt, ...): CQ code with every argument escaped as
 * literal text, parsed here and written as a segment array. Returns as
 * cq_reply_msg() (the message's latched error included).
 */
CQ_EXTERN int cq_reply_cqf(cq_ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Replies with a copy of m, written as a segment array. Returns m's latched
 * builder error (cq_msg_err()) instead when it has one.
 */
CQ_EXTERN int cq_reply_msg(cq_ctx *c, const cq_msg *m);
CQ_EXTERN int cq_quick_bool(cq_ctx *c, const char *key, int value);
CQ_EXTERN int cq_quick_int(cq_ctx *c, const char *key, int64_t value);
CQ_EXTERN int cq_quick_string(cq_ctx *c, const char *key, const char *value);
/* Shorthands for the fields of PROTOCOL.md section 2.2. */
CQ_EXTERN int cq_approve(cq_ctx *c, int approve);
/* Refuses a request: approve false, and reason (NULL for none), which
 * OneBot shows for group requests. */
CQ_EXTERN int cq_reject(cq_ctx *c, const char *reason);
CQ_EXTERN int cq_ban(cq_ctx *c, int64_t seconds);
CQ_EXTERN int cq_kick(cq_ctx *c);
CQ_EXTERN int cq_delete(cq_ctx *c);

/*
 * API calls. params_json is a JSON object text (NULL means {}). Transport
 * choice, for the account of the event being handled: the bridge's own
 * WebSocket (inside cqhttp-bridge), then cqhttp-bridge's API socket
 * (bridge_socket) when it holds a connection for the account, then the HTTP
 * API at api_root, otherwise CQ_ENOAPI. Only "no connection" moves on to the
 * next transport: a call that failed after it was sent is never resent.
 * Fills *out (which may be NULL when the caller wants only the code; else it
 * is overwritten, so free an earlier result first) and returns its err:
 * CQ_OK, CQ_ENOAPI, CQ_EFAILED (out->retcode), CQ_EHTTP (out->status),
 * CQ_EBADRESP, CQ_ECONNREFUSED, CQ_ETIMEDOUT, CQ_ENETWORK, CQ_EINVAL (bad
 * action name or params) or CQ_ENOMEM. A failure is logged in one line.
 */
CQ_EXTERN int cq_call(cq_ctx *c, const char *action, const char *params_json,
                      cq_result *out);
/*
 * As cq_call(), with a result owned by the handler's context: it is freed
 * when the handlers of the event are done, so no path needs to free it and
 * values read from it stay valid until then. Never returns NULL: a NULL c or
 * no memory for the result give a static result with err CQ_EINVAL or
 * CQ_ENOMEM. Check ->err (or read with cq_result_int(), which then gives
 * CQ_ENOENT).
 */
CQ_EXTERN const cq_result *cq_call_r(cq_ctx *c, const char *action,
                                     const char *params_json);

/*
 * A params object built field by field. The first failing addition latches
 * its error (CQ_EINVAL for a NULL key or value or invalid UTF-8, CQ_ENOMEM),
 * later ones are ignored, and cq_call_params() returns it: add every field,
 * then check once. Keys are not checked for duplicates.
 */
typedef struct cq_params cq_params;

#define CQ_OMIT      INT64_MIN /* Leaves an optional integer out. */
#define CQ_OMIT_BOOL (-1)      /* Leaves an optional boolean out. */

CQ_EXTERN cq_params *cq_params_new(void);    /* NULL when out of memory. */
CQ_EXTERN void cq_params_free(cq_params *p); /* NULL is a no-op. */
CQ_EXTERN int cq_params_int(cq_params *p, const char *key, int64_t v);
CQ_EXTERN int cq_params_bool(cq_params *p, const char *key, int v);
CQ_EXTERN int cq_params_string(cq_params *p, const char *key, const char *v);
CQ_EXTERN int cq_params_msg(cq_params *p, const char *key, const cq_msg *m);
CQ_EXTERN int cq_params_value(cq_params *p, const char *key, const cq_value *v);
/* Any JSON value given as text; it is parsed, checked and copied. */
CQ_EXTERN int cq_params_json(cq_params *p, const char *key, const char *json);

/*
 * Calls action with p's object (p stays the caller's; a NULL p gives
 * CQ_ENOMEM). Returns as cq_call(), or p's latched error.
 */
CQ_EXTERN int cq_call_params(cq_ctx *c, const char *action, const cq_params *p,
                             cq_result *out);
/* As cq_call_params(), with a result owned by c, as cq_call_r(). */
CQ_EXTERN const cq_result *cq_call_params_r(cq_ctx *c, const char *action,
                                            const cq_params *p);

/*
 * API calls outside an event: from a timer job, a startup hook or any
 * thread of the bot's own. cq_ctx_for() returns a context whose calls go to
 * account self_id by the transports cq_call() uses, in the same order: the
 * account's WebSocket when the program is cqhttp-bridge, then the API socket
 * (bridge_socket), then api_root; self_id 0 means the only account connected
 * to the bridge (and is left out of HTTP calls, which name no account). The
 * context has no event (cq_ctx_event() gives NULL, quick-operation setters
 * do nothing useful), and results from cq_call_r() live until
 * cq_ctx_release(). Before the program has read its settings (in a plain
 * libcqhttp program, always) its calls fail with CQ_ENOAPI.
 *
 * Threads: make, use and release a context on one thread; any thread may
 * make its own. Each context has transports of its own (an HTTP connection
 * kept alive between its calls), so keep one for a run of calls, not one
 * per call. In cqhttp-bridge, never call from the event loop (no handler
 * runs there), and not after the program returned. Returns NULL when out of
 * memory.
 */
CQ_EXTERN cq_ctx *cq_ctx_for(int64_t self_id);
/* Frees c and its results; NULL is a no-op. Only for cq_ctx_for()'s. */
CQ_EXTERN void cq_ctx_release(cq_ctx *c);

#define CQ_SEND_AT_SENDER   0x1 /* Prefix @sender outside private chats. */
#define CQ_SEND_AUTO_ESCAPE 0x2 /* Send the message as plain text. */

/*
 * Sends cq (a CQ-code string) to wherever event e came from, with
 * send_msg: message_type, user_id, group_id and discuss_id are copied from
 * the event; without message_type the target is a group when group_id is
 * present, else a discuss, else a private chat. Returns as cq_call(), or
 * CQ_EINVAL when the event names no target.
 */
CQ_EXTERN int cq_send_cq(cq_ctx *c, const cq_event *e, const char *cq);
/*
 * As cq_send_cq() with literal text, never read as CQ code (sent escaped).
 * Also CQ_ENOMEM.
 */
CQ_EXTERN int cq_send_text(cq_ctx *c, const cq_event *e, const char *text);
/* The older name of cq_send_cq(): message is CQ code. */
CQ_EXTERN int cq_send(cq_ctx *c, const cq_event *e, const char *message);
CQ_EXTERN int cq_send_ex(cq_ctx *c, const cq_event *e, const char *message,
                         int flags, cq_result *out);
/*
 * As cq_send_ex() with a segment message, sent as an array (or, when message
 * holds a latched builder error, that error, and nothing is sent). With
 * CQ_SEND_AT_SENDER outside private chats the array starts with an at
 * segment and a space, as in the Python SDK; CQ_SEND_AUTO_ESCAPE has no
 * effect on arrays, which are never parsed. (cq_send_ex() with both flags
 * sends that array too, with the string as literal text.)
 */
CQ_EXTERN int cq_send_message(cq_ctx *c, const cq_event *e,
                              const cq_msg *message, int flags, cq_result *out);

/*
 * Sends cq_msg_cqf(fmt, ...) to wherever e came from, as cq_send_message()
 * with no flags (a segment array), and returns as it does:
 * cq_send_cqf(c, e, "[CQ:at,qq=%lld] %s", (long long)user, text).
 */
CQ_EXTERN int cq_send_cqf(cq_ctx *c, const cq_event *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * Handlers and dispatch. A handler returns CQ_OK, or any negative value to
 * report failure (the HTTP POST answer is then 500).
 *
 * Order: handlers registered for the event's most specific name run first
 * ("message.private.friend", then "message.private", then "message"); within
 * one name, by source file name and then line. Every matching handler runs
 * once, at the most specific name it matches, until one fails.
 */
typedef int cq_handler_fn(cq_ctx *c, const cq_event *e);

typedef struct cq_handler {
    const char *prefix;       /* "message", ... or NULL. */
    const char *const *names; /* NULL-terminated; may be empty. */
    cq_handler_fn *fn;
    const char *fn_name; /* For logs. */
    const char *file;    /* Source file, for ordering. */
    int line;
} cq_handler;

/*
 * Registers h, which must stay valid for the life of the process. Names are
 * joined to the prefix ("group" under "message" is "message.group"); no names
 * means the prefix itself. Call before any event is dispatched; not thread
 * safe. Returns CQ_OK, CQ_EINVAL or CQ_ENOMEM.
 */
CQ_EXTERN int cq_register(const cq_handler *h);

/*
 * The objects one registration makes are named from __COUNTER__, so that one
 * function may be registered by several macros in one file.
 */
#define CQ__CAT2(a, b) a##b
#define CQ__CAT(a, b)  CQ__CAT2(a, b)
#define CQ__REGISTER(prefix, fn, ...)                                          \
    CQ__REGISTER_AS(CQ__CAT(cq__reg_, __COUNTER__), prefix, fn, __VA_ARGS__)
#define CQ__REGISTER_AS(id, prefix, fn, ...)                                   \
    static const char *const CQ__CAT(id, _names)[] = {__VA_ARGS__};            \
    static const cq_handler CQ__CAT(id, _handler) = {                          \
        prefix, CQ__CAT(id, _names), fn, #fn, __FILE__, __LINE__};             \
    __attribute__((constructor)) static void CQ__CAT(id, _register)(void)      \
    {                                                                          \
        cq_register(&CQ__CAT(id, _handler));                                   \
    }                                                                          \
    extern int cq__semicolon_after_##fn /* Takes the caller's ';'. */

/*
 * Registration macros. Names narrow the event: CQ_ON_MESSAGE(fn) for every
 * message, CQ_ON_MESSAGE(fn, "group", "private.friend") for those two,
 * CQ_ON(fn, "notice.group_increase") with full names. One function may be
 * registered by several macros; each registration is its own, so for an
 * event that two of them match it runs twice.
 * Handler objects must be linked directly, not from a static archive, or the
 * registration is dropped by the linker.
 *
 * Names are checked when the program starts (cqhttp(3), "Event names"): a
 * name under message, notice, request or meta_event that OneBot v11 (or a
 * known implementation's extension) does not define, such as
 * "message.privte" or CQ_ON_MESSAGE(fn, "message.private"), is an error
 * that lists the valid names, and the program exits 2. A post type of the
 * handler's own ("test_fail") is accepted with a warning, unless it looks
 * like a misspelt one ("mesage").
 */
#define CQ_ON(...)            CQ__REGISTER(NULL, __VA_ARGS__, NULL)
#define CQ_ON_MESSAGE(...)    CQ__REGISTER("message", __VA_ARGS__, NULL)
#define CQ_ON_NOTICE(...)     CQ__REGISTER("notice", __VA_ARGS__, NULL)
#define CQ_ON_REQUEST(...)    CQ__REGISTER("request", __VA_ARGS__, NULL)
#define CQ_ON_META_EVENT(...) CQ__REGISTER("meta_event", __VA_ARGS__, NULL)

/* Commands, settings, lifecycle hooks, periodic jobs and before_sending
 * hooks, in a header of their own. */
#include "cqhttp_bot.h"

/* Logging, for handlers as for the library: one line to stderr. */
typedef enum cq_log_level {
    CQ_LOG_ERROR = 0,
    CQ_LOG_WARN,
    CQ_LOG_INFO,
    CQ_LOG_DEBUG
} cq_log_level;

CQ_EXTERN void cq_log(cq_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#include "cqhttp_actions.h"

#ifdef __cplusplus
}
#endif

#endif
