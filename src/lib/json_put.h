/*
 * json_put: JSON written straight into a buffer (lib/buf.h), without a
 * generator: for small documents whose shape the caller knows (the params
 * object, flat at its top level), where yajl_gen's bookkeeping and its
 * print call per token cost more than the writing. The output is what
 * yajl's generator writes for the same values, byte for byte, and it
 * refuses what yajl's generator refuses: strings that are not UTF-8 by
 * yajl's rule, nesting past YAJL_MAX_DEPTH.
 *
 * A failing append frees the buffer as cq__buf_add() does; what a failed
 * call wrote before it failed stays, so a caller that goes on writing must
 * latch the error and stop.
 */
#ifndef CQ_JSON_PUT_H
#define CQ_JSON_PUT_H

#include <stdint.h>

#include "lib/buf.h"
#include "lib/json.h"

/*
 * Appends s (NUL-terminated) as a JSON string, quoted. Returns CQ_OK,
 * CQ_EINVAL (not UTF-8), CQ_ETOOBIG or CQ_ENOMEM.
 */
int cq__json_put_str(cq__buf *out, const char *s);

/* Appends v in decimal. Returns CQ_OK, CQ_ETOOBIG or CQ_ENOMEM. */
int cq__json_put_int(cq__buf *out, int64_t v);

/*
 * Appends the tree value v (NULL writes null) as cq__json_gen_value()
 * would on a generator already depth containers deep. Returns CQ_OK,
 * CQ_EINVAL (a string that is not UTF-8), CQ_EDEPTH (a container would be
 * YAJL_MAX_DEPTH deep), CQ_ETOOBIG or CQ_ENOMEM.
 */
int cq__json_put_value(cq__buf *out, yajl_val v, int depth);

#endif
