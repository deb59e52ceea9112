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
    XX(EIO, -21, "input/output error")

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
/* The body bytes the event was parsed from (NUL-terminated). */
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
CQ_EXTERN const char *cq_event_flag(const cq_event *e);

/*
 * Messages: an ordered list of segments, in OneBot v11's two forms.
 *
 * A cq_msg is a value: an ordered list of segments, each with a type string
 * (the CQ function name, "text" for plain text) and an ordered list of
 * (key, value) parameters. Values are strings, except that a message read
 * from the array form keeps any non-string value (a number, or the nested
 * "content" message of a "node") as its canonical JSON text with a flag, so
 * that reading an array and writing it back gives the same JSON. Unknown
 * types and keys are kept unchanged. Keys are unique within a segment: setting
 * a key twice keeps the first position and the last value, as Python's dict
 * does for aiocqhttp.
 *
 * A "pure" text segment is one of type "text" whose only parameter is a string
 * "text". cq_msg_add_text() merges into a preceding pure text segment and
 * never adds an empty one; the CQ-code parser does the same, so parsing never
 * yields adjacent or empty text segments. The array form is kept as given.
 *
 * Two forms (PROTOCOL.md section 8): the CQ-code string, read by
 * cq_msg_parse_cq() and written by cq_msg_format_cq(), and the JSON array of
 * {"type", "data"} objects, read by cq_msg_from_json() or cq_msg_from_value()
 * and written by cq_msg_to_json_string(). Literal text is never parsed: use
 * cq_msg_add_text() for user input and cq_msg_parse_cq() for CQ code.
 *
 * Ownership: a message owns copies of every string given to it; strings
 * returned by the readers belong to the message and stay valid until it is
 * changed or freed; functions returning char * return a new string the caller
 * frees with free(). A failing builder leaves the message unchanged. A message
 * is not thread-safe; distinct messages may be used from distinct threads.
 *
 * Caps: a message holds at most CQ_MSG_MAX_SEGS segments, CQ_MSG_MAX_PARAMS
 * parameters per segment and CQ_MSG_MAX_BYTES bytes of values (text
 * included; types and keys are not counted, so that any input within the cap
 * fits); inputs longer than CQ_MSG_MAX_BYTES are refused; JSON nesting is
 * limited to CQ_MSG_MAX_DEPTH levels, counting the outer array, so that a
 * value may nest CQ_MSG_MAX_DEPTH - 3 levels. All recursion is bounded by
 * that depth. Exceeding a cap is CQ_ETOOBIG.
 */
#define CQ_MSG_MAX_BYTES (16 * 1024 * 1024)
#define CQ_MSG_MAX_SEGS  100000
#define CQ_MSG_MAX_DEPTH 32
/* Keeping keys unique costs the square of this per segment. */
#define CQ_MSG_MAX_PARAMS 64

typedef struct cq_msg cq_msg;

/* Returns a new empty message, or NULL when out of memory. */
CQ_EXTERN cq_msg *cq_msg_new(void);

/* Frees m and everything it owns. Never fails; NULL is a no-op. */
CQ_EXTERN void cq_msg_free(cq_msg *m);

/* Returns a deep copy of m (NULL is copied as an empty message), or NULL when
 * out of memory. */
CQ_EXTERN cq_msg *cq_msg_dup(const cq_msg *m);

/*
 * Appends text as literal text: it is never parsed as CQ code. It merges into
 * a preceding pure text segment; empty text adds nothing. Returns CQ_OK or:
 *
 * CQ_EINVAL   m or text is NULL.
 * CQ_ETOOBIG  the message would exceed a cap.
 * CQ_ENOMEM   out of memory.
 */
CQ_EXTERN int cq_msg_add_text(cq_msg *m, const char *text);

/*
 * Appends one segment of the given type with parameters given as key, value
 * string pairs ended by a NULL key, e.g.
 * cq_msg_add_seg(m, "image", "file", "a.jpg", "cache", "0", NULL). A pair
 * whose value is NULL is skipped (aiocqhttp drops None parameters); a repeated
 * key keeps its first position and its last value. The segment is added as
 * given, even of type "text": no merging. Returns CQ_OK or:
 *
 * CQ_EINVAL   m or type is NULL, or type is empty.
 * CQ_ETOOBIG  the message would exceed a cap.
 * CQ_ENOMEM   out of memory.
 */
CQ_EXTERN int cq_msg_add_seg(cq_msg *m, const char *type, ...);

/*
 * Appends a copy of every segment of other (which may be m itself); a leading
 * pure text segment merges into a trailing one of m. Returns CQ_OK or:
 *
 * CQ_EINVAL   m or other is NULL.
 * CQ_ETOOBIG  the message would exceed a cap.
 * CQ_ENOMEM   out of memory.
 */
CQ_EXTERN int cq_msg_append(cq_msg *m, const cq_msg *other);

/*
 * Builders for the standard segments of PROTOCOL.md 8.2. Integers are written
 * as decimal strings; optional string arguments may be NULL and are then
 * left out; the coordinates of a location are strings because formatting a
 * double depends on the locale. Each returns CQ_OK or:
 *
 * CQ_EINVAL   m or a required string is NULL (for cq_msg_add_node_custom,
 *             also content holding invalid UTF-8).
 * CQ_ETOOBIG  the message would exceed a cap (for cq_msg_add_node_custom,
 *             also content nested deeper than a value may).
 * CQ_ENOMEM   out of memory.
 */
CQ_EXTERN int cq_msg_add_face(cq_msg *m, int id);
CQ_EXTERN int cq_msg_add_at(cq_msg *m, int64_t qq);
CQ_EXTERN int cq_msg_add_at_all(cq_msg *m);
CQ_EXTERN int cq_msg_add_image(cq_msg *m, const char *file);
CQ_EXTERN int cq_msg_add_record(cq_msg *m, const char *file);
CQ_EXTERN int cq_msg_add_video(cq_msg *m, const char *file);
CQ_EXTERN int cq_msg_add_reply(cq_msg *m, int64_t id);
CQ_EXTERN int cq_msg_add_share(cq_msg *m, const char *url, const char *title,
                               const char *content, const char *image);
CQ_EXTERN int cq_msg_add_poke(cq_msg *m, int type, int64_t id);
/* Type is "qq", "163" or "xm". */
CQ_EXTERN int cq_msg_add_music(cq_msg *m, const char *type, int64_t id);
CQ_EXTERN int cq_msg_add_music_custom(cq_msg *m, const char *url,
                                      const char *audio, const char *title,
                                      const char *content, const char *image);
CQ_EXTERN int cq_msg_add_location(cq_msg *m, const char *lat, const char *lon,
                                  const char *title, const char *content);
/* Type is "qq" or "group". */
CQ_EXTERN int cq_msg_add_contact(cq_msg *m, const char *type, int64_t id);
CQ_EXTERN int cq_msg_add_rps(cq_msg *m);
CQ_EXTERN int cq_msg_add_dice(cq_msg *m);
CQ_EXTERN int cq_msg_add_shake(cq_msg *m);
/* Ignore non-zero sends the message even if anonymity fails. */
CQ_EXTERN int cq_msg_add_anonymous(cq_msg *m, int ignore);
CQ_EXTERN int cq_msg_add_forward(cq_msg *m, const char *id);
/* A node that forwards the existing message id. */
CQ_EXTERN int cq_msg_add_node(cq_msg *m, int64_t id);
/* A custom node; content is kept as a nested message (array form). */
CQ_EXTERN int cq_msg_add_node_custom(cq_msg *m, int64_t user_id,
                                     const char *nickname,
                                     const cq_msg *content);
CQ_EXTERN int cq_msg_add_xml(cq_msg *m, const char *data);
CQ_EXTERN int cq_msg_add_json(cq_msg *m, const char *data);

/* Returns the number of segments; 0 for NULL. */
CQ_EXTERN size_t cq_msg_count(const cq_msg *m);

/* Returns the type of segment i, or NULL when m is NULL or i out of range. */
CQ_EXTERN const char *cq_msg_seg_type(const cq_msg *m, size_t i);

/* Returns the value of key in segment i: the string, or the JSON text of a
 * non-string value; NULL when absent or out of range. */
CQ_EXTERN const char *cq_msg_seg_get(const cq_msg *m, size_t i,
                                     const char *key);

/* Returns the number of parameters of segment i; 0 when out of range. */
CQ_EXTERN size_t cq_msg_seg_nparams(const cq_msg *m, size_t i);

/* Return the key and value (as cq_msg_seg_get) of parameter j of segment i,
 * or NULL when out of range. */
CQ_EXTERN const char *cq_msg_seg_key(const cq_msg *m, size_t i, size_t j);
CQ_EXTERN const char *cq_msg_seg_value(const cq_msg *m, size_t i, size_t j);

/* Returns 1 if parameter j of segment i holds JSON text (a non-string value
 * read from the array form or a custom node's content), 0 otherwise. */
CQ_EXTERN int cq_msg_seg_is_json(const cq_msg *m, size_t i, size_t j);

/* Returns the string "text" values of the "text" segments joined with one
 * space, as aiocqhttp's extract_plain_text() (NULL m gives ""), or NULL when
 * out of memory. */
CQ_EXTERN char *cq_msg_plain_text(const cq_msg *m);

/*
 * Parses CQ code (s, len bytes, need not be NUL-terminated) into a new
 * message stored in *out (set to NULL on error), with the rules of
 * PROTOCOL.md 8.3: text and values are unescaped; the type is one or more of
 * [A-Za-z0-9_.-]; a bracket that does not start a valid, terminated code is
 * literal text; the parameters run from the first ',' to the first ']', are
 * split on ',' and on each part's first '='; a part without '=' or with an
 * empty key is dropped; keys and types are taken verbatim; a pure
 * [CQ:text,text=...] code is text and merges. Returns CQ_OK or:
 *
 * CQ_EINVAL   out or s is NULL, or s contains a NUL byte.
 * CQ_ETOOBIG  len exceeds CQ_MSG_MAX_BYTES, or the result a cap.
 * CQ_ENOMEM   out of memory.
 */
CQ_EXTERN int cq_msg_parse_cq(cq_msg **out, const char *s, size_t len);

/*
 * Returns m as CQ code (NULL m gives ""): pure text segments escaped without
 * commas, other segments as [CQ:type,key=value...] with values escaped with
 * commas, or [CQ:type] without parameters. Types and keys are written
 * verbatim, so a key with ',', '=' or ']' does not survive this form. A JSON
 * value that is a message (a node's content) is written as its CQ code, null
 * is left out, any other as its JSON text. Returns NULL when out of memory or
 * when the CQ code would be longer than CQ_MSG_MAX_BYTES (which
 * cq_msg_parse_cq() would refuse).
 */
CQ_EXTERN char *cq_msg_format_cq(const cq_msg *m);

/* Returns s with '&', '[', ']' and, if escape_comma, ',' replaced by their
 * entities, or NULL when s is NULL or out of memory. */
CQ_EXTERN char *cq_escape(const char *s, int escape_comma);

/* Returns s with "&#44;", "&#91;", "&#93;" and "&amp;" decoded, "&amp;"
 * last (so "&amp;#91;" gives "&#91;"), or NULL when s is NULL or out of
 * memory. Other entities stay literal. */
CQ_EXTERN char *cq_unescape(const char *s);

/*
 * Reads a message from JSON (json, len bytes, need not be NUL-terminated), as
 * an API's message parameter: an array of segments, one segment object, or a
 * string parsed as CQ code. A segment is an object with a non-empty string
 * "type" and a "data" that is an object, null or absent; other members of the
 * segment object are ignored; adjacent text segments are kept apart; a
 * "\u0000" ends its string (yajl_tree keeps C strings). Stores a new message
 * in *out (NULL on error). Returns CQ_OK or:
 *
 * CQ_EINVAL   out or json is NULL.
 * CQ_EPARSE   not JSON (comments are refused), or not a message.
 * CQ_ETOOBIG  len exceeds CQ_MSG_MAX_BYTES, the nesting CQ_MSG_MAX_DEPTH,
 *             the outer array CQ_MSG_MAX_SEGS members, or the result a cap.
 * CQ_ENOMEM   out of memory.
 */
CQ_EXTERN int cq_msg_from_json(cq_msg **out, const char *json, size_t len);

/* As cq_msg_from_json(), from a value (a string, array or object), such as
 * cq_event_message() or a field of a result's data. Same return codes;
 * CQ_EINVAL if v is NULL. */
CQ_EXTERN int cq_msg_from_value(cq_msg **out, const cq_value *v);

/* Returns m as a JSON array of {"type", "data"} objects (UTF-8 validated):
 * "data" is always an object, also when it was read as null or absent, and
 * non-string values are written back as they were read. Returns NULL when
 * out of memory or when a string in m is not valid UTF-8. */
CQ_EXTERN char *cq_msg_to_json_string(const cq_msg *m);

/*
 * Results of API calls. Fill by cq_call(); release with cq_result_free().
 * On success (status "ok" or "async") err is CQ_OK and data is the "data"
 * value (possibly a JSON null or NULL). On failure err says which kind.
 */
typedef struct cq_result {
    int err;              /* CQ_OK or a CQ_E* code. */
    int64_t retcode;      /* OneBot retcode when a result was read. */
    long status;          /* HTTP status when an HTTP answer came. */
    const cq_value *data; /* The "data" member; owned by the result. */
    char detail[256];     /* Transport or server detail, for logs. */
    void *priv__;         /* Internal: the parsed answer. */
} cq_result;

CQ_EXTERN void
cq_result_free(cq_result *r); /* Leaves r zeroed; NULL is a no-op. */

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
CQ_EXTERN int cq_reply_text(cq_ctx *c, const char *cq_string);
/* Replies with a copy of m, written as a segment array. */
CQ_EXTERN int cq_reply_msg(cq_ctx *c, const cq_msg *m);
CQ_EXTERN int cq_quick_bool(cq_ctx *c, const char *key, int value);
CQ_EXTERN int cq_quick_int(cq_ctx *c, const char *key, int64_t value);
CQ_EXTERN int cq_quick_string(cq_ctx *c, const char *key, const char *value);
/* Shorthands for the fields of PROTOCOL.md section 2.2. */
CQ_EXTERN int cq_approve(cq_ctx *c, int approve);
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

#define CQ_SEND_AT_SENDER   0x1 /* Prefix @sender outside private chats. */
#define CQ_SEND_AUTO_ESCAPE 0x2 /* Send the message as plain text. */

/*
 * Sends message (a CQ-code string) to wherever event e came from, with
 * send_msg: message_type, user_id, group_id and discuss_id are copied from
 * the event; without message_type the target is a group when group_id is
 * present, else a discuss, else a private chat. Returns as cq_call(), or
 * CQ_EINVAL when the event names no target.
 */
CQ_EXTERN int cq_send(cq_ctx *c, const cq_event *e, const char *message);
CQ_EXTERN int cq_send_ex(cq_ctx *c, const cq_event *e, const char *message,
                         int flags, cq_result *out);
/*
 * As cq_send_ex() with a segment message, sent as an array. With
 * CQ_SEND_AT_SENDER outside private chats the array starts with an at
 * segment and a space, as in the Python SDK; CQ_SEND_AUTO_ESCAPE has no
 * effect on arrays, which are never parsed. (cq_send_ex() with both flags
 * sends that array too, with the string as literal text.)
 */
CQ_EXTERN int cq_send_message(cq_ctx *c, const cq_event *e,
                              const cq_msg *message, int flags, cq_result *out);

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

#define CQ__REGISTER(prefix, fn, ...)                                          \
    static const char *const cq__names_##fn[] = {__VA_ARGS__};                 \
    static const cq_handler cq__handler_##fn = {                               \
        prefix, cq__names_##fn, fn, #fn, __FILE__, __LINE__};                  \
    __attribute__((constructor)) static void cq__register_##fn(void)           \
    {                                                                          \
        cq_register(&cq__handler_##fn);                                        \
    }                                                                          \
    extern int cq__semicolon_after_##fn /* Takes the caller's ';'. */

/*
 * Registration macros, one per function. Names narrow the event:
 * CQ_ON_MESSAGE(fn) for every message, CQ_ON_MESSAGE(fn, "group",
 * "private.friend") for those two, CQ_ON(fn, "notice.group_increase") with
 * full names. Handler objects must be linked directly, not from a static
 * archive, or the registration is dropped by the linker.
 */
#define CQ_ON(...)            CQ__REGISTER(NULL, __VA_ARGS__, NULL)
#define CQ_ON_MESSAGE(...)    CQ__REGISTER("message", __VA_ARGS__, NULL)
#define CQ_ON_NOTICE(...)     CQ__REGISTER("notice", __VA_ARGS__, NULL)
#define CQ_ON_REQUEST(...)    CQ__REGISTER("request", __VA_ARGS__, NULL)
#define CQ_ON_META_EVENT(...) CQ__REGISTER("meta_event", __VA_ARGS__, NULL)

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
