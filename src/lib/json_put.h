/*
 * json_put: JSON written straight into a buffer (lib/buf.h), without a
 * generator: for documents whose shape the caller knows (the params object,
 * the quick operation, a message), where yajl_gen's bookkeeping and its
 * print call per token cost more than the writing. The output is what
 * yajl's generator writes for the same values, byte for byte, and it
 * refuses what yajl's generator refuses: strings that are not UTF-8 by
 * yajl's rule, nesting past YAJL_MAX_DEPTH. Strings are escaped in one pass
 * that copies plain stretches whole, found 16 or 32 bytes at a time.
 *
 * A writer (cq__jput) appends to its buffer and, when given a sink, hands
 * its output on in pieces rather than holding it whole. A failing append
 * frees the buffer as cq__buf_add() does; what a failed call wrote before it
 * failed stays, so a caller that goes on writing must latch the error and
 * stop.
 */
#ifndef CQ_JSON_PUT_H
#define CQ_JSON_PUT_H

#include <stdint.h>

#include "lib/buf.h"
#include "lib/json.h"

/*
 * Where a writer's output goes on to when it is not to be held whole: a
 * writer given one keeps at most bound bytes of its own in out (past what
 * out held before it started), and hands them to put() whenever the next
 * piece would not fit, a piece larger than bound going to put() straight
 * from where it is, uncopied. What is left in out at the end is the tail,
 * for the caller to send. put() returns CQ_OK, or a CQ_E* code that the
 * writing call returns as it returns a failed append (out is then not
 * freed).
 */
typedef struct cq__json_sink {
    int (*put)(void *arg, const char *p, size_t n);
    void *arg;
    size_t bound;
} cq__json_sink;

/* A writer into out; it must not move while in use, nor out meanwhile be
 * written other than through it while it has a sink. */
typedef struct cq__jput {
    cq__buf *out;
    const cq__json_sink *sink; /* NULL: everything stays in out. */
    size_t from;               /* out's length when the writer started. */
    size_t limit; /* from + the sink's bound (SIZE_MAX without one). */
} cq__jput;

/* Starts w on out, its output passed on to sink (may be NULL), which must
 * outlive the writer. */
void cq__jput_init(cq__jput *w, cq__buf *out, const cq__json_sink *sink);

/* cq__jput_add() past the sink's bound; the same returns. */
int cq__jput_hand_on(cq__jput *w, const void *p, size_t n);

/*
 * Appends the n bytes at p: to out, or through w's sink when out would hold
 * more than its bound. Inline, with one test, for a small document makes a
 * few dozen of these (a sum that wraps goes to cq__buf_add(), which refuses
 * it). Returns CQ_OK, CQ_ETOOBIG, CQ_ENOMEM or the sink's failure.
 */
static inline int cq__jput_add(cq__jput *w, const void *p, size_t n)
{
    if (w->out->len + n <= w->limit)
        return cq__buf_add(w->out, p, n);
    return cq__jput_hand_on(w, p, n);
}

/*
 * Appends s (NUL-terminated; NULL writes null) as a JSON string, quoted.
 * Returns CQ_OK, CQ_EINVAL (not UTF-8), or as cq__jput_add().
 */
int cq__json_put_str(cq__jput *w, const char *s);

/*
 * Appends sep (unless '\0'), key as cq__json_put_str() writes it, and a
 * colon: an object's member up to its value. Returns as
 * cq__json_put_str().
 */
int cq__json_put_key(cq__jput *w, char sep, const char *key);

/* Appends v in decimal. Returns as cq__jput_add(). */
int cq__json_put_int(cq__jput *w, int64_t v);

/* Appends true or false. Returns as cq__jput_add(). */
int cq__json_put_bool(cq__jput *w, int v);

/*
 * Appends the tree value v (NULL writes null) as cq__json_gen_value()
 * would on a generator already depth containers deep. Returns CQ_OK,
 * CQ_EINVAL (a string that is not UTF-8), CQ_EDEPTH (a container would be
 * YAJL_MAX_DEPTH deep), or as cq__jput_add().
 */
int cq__json_put_value(cq__jput *w, yajl_val v, int depth);

#endif
