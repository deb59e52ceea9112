/*
 * message: the internals of cq_msg, shared by message.c (the value, CQ code),
 * message_json.c (the array form) and message_build.c (segment builders).
 * The public interface and its contract are in cqhttp.h ("Messages").
 */
#ifndef CQ_MESSAGE_H
#define CQ_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "cqhttp.h"


/* Internal: shared by message.c and message_json.c. */
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
};

/* Frees what seg owns and zeroes it. */
void cq__msg_seg_clear(cq__msg_seg *seg);

/* Sets key to a copy of val (vlen bytes) in seg. CQ_ETOOBIG (more than
 * CQ_MSG_MAX_PARAMS keys) or CQ_ENOMEM. */
int cq__msg_seg_set(cq__msg_seg *seg, const char *key, const char *val,
                    size_t vlen, int is_json);

/* Moves seg (owning its strings) to the end of m; on success seg is zeroed,
 * on error it is cleared. CQ_ETOOBIG or CQ_ENOMEM. */
int cq__msg_push(cq_msg *m, cq__msg_seg *seg);

/* Checks, without parsing, that JSON text (len bytes) nests at most max_depth
 * levels, that the outermost array or object has at most max_items members
 * and that no '/' (a comment) appears outside strings. Returns CQ_OK,
 * CQ_ETOOBIG or CQ_EPARSE. */
int cq__msg_json_scan(const char *s, size_t len, int max_depth,
                      size_t max_items);

/* cq_msg_from_value() on a tree node. Same return codes. */
int cq__msg_from_yajl(cq_msg **out, yajl_val v);

/*
 * Writes m (NULL as empty) as a JSON array of {"type", "data"} objects into
 * g, at a place where g accepts a value (see cq_msg_to_json_string()).
 * Returns CQ_OK or:
 *
 * CQ_EINVAL   g is NULL, or a yajl_gen call failed (g not expecting a value,
 *             or invalid UTF-8 while g validates it).
 * CQ_ETOOBIG  g's nesting limit was reached.
 * CQ_ENOMEM   out of memory.
 */
int cq__msg_to_json(const cq_msg *m, yajl_gen g);

#endif
