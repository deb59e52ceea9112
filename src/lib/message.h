/*
 * message: the internals of cq_msg, shared by the files that implement the
 * public "Messages" interface of cqhttp.h (its contract is there):
 *
 * - message.c holds the value type: segments, parameters, caps, the generic
 *   builders, the readers and plain text;
 * - message_cq.c holds the CQ-code string syntax: parse, format, escape and
 *   unescape;
 * - message_json.c holds the JSON array form, on the library's JSON layer;
 * - message_build.c holds the builders of the standard segment types.
 *
 * Invariants: every string a message holds is a NUL-terminated copy that the
 * message owns; keys are unique within a segment; bytes is the sum of the
 * lengths of every value and never exceeds CQ_MSG_MAX_BYTES; nsegs never
 * exceeds CQ_MSG_MAX_SEGS, nor nparams CQ_MSG_MAX_PARAMS. Every text built
 * while reading or writing a message goes into a cq__buf capped at a bound
 * stated where it is made. Not thread-safe, as a cq_msg.
 */
#ifndef CQ_MESSAGE_H
#define CQ_MESSAGE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_tree.h>

#include "cqhttp.h"


typedef struct cq__msg_param {
    char *key;
    char *val; /* JSON text when is_json. */
    int is_json;
} cq__msg_param;

typedef struct cq__msg_seg {
    char *type;
    cq__msg_param *params;
    size_t nparams;
} cq__msg_seg;

struct cq_msg {
    cq__msg_seg *segs;
    size_t nsegs;
    size_t cap;
    size_t bytes; /* Lengths of every value, added up. */
    int err;      /* The first builder error (cq_msg_err()), or CQ_OK. */
};

/* Records rc as m's latched error when it is the first failure (m may be
 * NULL); returns rc. */
int cq__msg_latch(cq_msg *m, int rc);

/*
 * Formats fmt with ap into a new string (free()) stored in *out. Returns
 * CQ_OK, CQ_EINVAL (fmt NULL or an output error), CQ_ETOOBIG (longer than
 * CQ_MSG_MAX_BYTES) or CQ_ENOMEM.
 */
int cq__vformat(char **out, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Frees what seg owns and zeroes it. Never fails. */
void cq__msg_seg_clear(cq__msg_seg *seg);

/* Sets key to val in seg, taking ownership of both (either may be NULL, the
 * result of a failed copy; both are freed on error). A repeated key keeps its
 * position and takes the new value. Returns CQ_OK, CQ_ETOOBIG (more than
 * CQ_MSG_MAX_PARAMS keys) or CQ_ENOMEM. */
int cq__msg_seg_put(cq__msg_seg *seg, char *key, char *val, int is_json);

/* As cq__msg_seg_put(), with copies of key and of val (vlen bytes). */
int cq__msg_seg_set(cq__msg_seg *seg, const char *key, const char *val,
                    size_t vlen, int is_json);

/* Returns 1 if seg is of type "text" with one string parameter "text". */
int cq__msg_seg_is_pure_text(const cq__msg_seg *seg);

/* Moves seg (owning its strings) to the end of m; on success seg is zeroed,
 * on error it is cleared. CQ_ETOOBIG or CQ_ENOMEM. */
int cq__msg_push(cq_msg *m, cq__msg_seg *seg);

/* Appends n bytes of literal text (no NUL among them), merging into a
 * trailing pure text segment. m is unchanged on error. Returns CQ_OK,
 * CQ_ETOOBIG or CQ_ENOMEM. */
int cq__msg_add_text_n(cq_msg *m, const char *s, size_t n);

/* cq_msg_from_value() on a tree node. Same return codes. */
int cq__msg_from_yajl(cq_msg **out, yajl_val v);

struct cq__jput;
/*
 * Writes m (NULL as empty) as a JSON array of {"type", "data"} objects (see
 * cq_msg_to_json_string()) through the writer w (lib/json_put.h), at a
 * place depth containers deep. The one writer of message JSON. Returns
 * CQ_OK, CQ_EINVAL (invalid UTF-8), CQ_ETOOBIG (the nesting limit), or as
 * cq__jput_add().
 */
int cq__msg_put(struct cq__jput *w, const cq_msg *m, int depth);

#endif
