/*
 * json: the project's JSON layer, over yajl 2.1 and its own parts.
 *
 * Parsing: the per-event paths (events, API answers) build trees in an
 * arena with the parser of json_tree.c, which counts depth as it goes;
 * cq__json_parse() (the simulator, messages from text, params read back)
 * first scans the text for nesting depth, NUL bytes and comments (yajl's
 * tree parser has no depth limit, frees recursively and accepts comments:
 * PITFALLS.md section 4) and only then builds the tree with yajl. Both give
 * yajl_val trees laid out alike. Writing: params, messages and the quick
 * operation go straight into a buffer (lib/json_put.h); everything else
 * through a generator made by cq__json_gen_new(), which validates UTF-8.
 */
#ifndef CQ_JSON_H
#define CQ_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "cqhttp.h"
#include "lib/arena.h"
#include "lib/buf.h"

/*
 * cq_value, public and opaque, is a yajl tree node inside the library. These
 * two are the only places that say so.
 */
static inline yajl_val cq__yv(const cq_value *v)
{
    return (yajl_val)(uintptr_t)v;
}


static inline const cq_value *cq__cv(yajl_val v)
{
    return (const cq_value *)v;
}


/* cq_value_get() on a tree node, for code that holds yajl_val. */
static inline yajl_val cq__json_get(yajl_val v, const char *path)
{
    return cq__yv(cq_value_get(cq__cv(v), path));
}


/*
 * Checks that buf (len bytes) has no NUL byte, no comment and nesting of at
 * most max_depth outside strings. It does not validate JSON otherwise.
 * Returns CQ_OK, CQ_EPARSE or CQ_EDEPTH.
 */
int cq__json_precheck(const char *buf, size_t len, int max_depth);

/*
 * As cq__json_precheck(), and also checks that the outermost array or object
 * has at most max_members members (counted by its commas: an empty one counts
 * as one), for yajl's tree parser grows an array one realloc() per member.
 * Returns CQ_OK, CQ_EPARSE, CQ_EDEPTH or CQ_ETOOBIG.
 */
int cq__json_precheck_members(const char *buf, size_t len, int max_depth,
                              size_t max_members);

/*
 * Parses buf (len bytes, NUL-terminated at buf[len]) into a tree, after
 * cq__json_precheck(). Stores the tree in *out (free with yajl_tree_free).
 * Returns CQ_OK, CQ_EPARSE, CQ_EDEPTH or CQ_ENOMEM.
 */
int cq__json_parse(yajl_val *out, const char *buf, size_t len, int max_depth);

/*
 * As cq__json_parse() (same refusals, without the separate pre-scan), with
 * the tree and the parser's buffers in arena a
 * (lib/arena.h): the tree is freed with the arena, never with
 * yajl_tree_free(). Returns CQ_OK, CQ_EPARSE, CQ_EDEPTH or CQ_ENOMEM.
 */
int cq__json_parse_arena(yajl_val *out, cq__arena *a, const char *buf,
                         size_t len, int max_depth);

/*
 * As cq__json_parse_arena(), without copying the strings and keys that have
 * no escapes: they are left in buf (len bytes, NUL-terminated at buf[len]),
 * each ended by a NUL written over its closing quote, so that the tree of a
 * large body holds no second copy of its text. buf then no longer reads as
 * the JSON it was, and must outlive the tree; cq__json_text_of() gives the
 * text back. Returns as cq__json_parse_arena().
 */
int cq__json_parse_inplace(yajl_val *out, cq__arena *a, char *buf, size_t len,
                           int max_depth);

/*
 * The text that buf (len bytes) held before cq__json_parse_inplace() made
 * root from it, as a new NUL-terminated string (the caller frees it): the
 * strings' closing quotes put back. NULL when out of memory.
 */
char *cq__json_text_of(const char *buf, size_t len, yajl_val root);

/* A stretch of JSON text: a value as it is written, quotes included. */
typedef struct cq__json_span {
    const char *p; /* NULL when there is none. */
    size_t len;
} cq__json_span;

/*
 * A name cq__json_scan_object() looks for, with its length, so that a key
 * of another length costs one comparison: CQ__JSON_KEY("echo").
 */
typedef struct cq__json_key {
    const char *name;
    size_t len;
} cq__json_key;
#define CQ__JSON_KEY(s)                                                        \
    {                                                                          \
        s, sizeof(s) - 1                                                       \
    }

/*
 * A flag of cq__json_scan_object(): buf is already known to be UTF-8 by RFC
 * 3629 as a whole (a WebSocket text message: RFC 6455 closes the connection
 * for anything else, section 8.1), so its strings' bytes of 0x80 and more
 * need no second look. yajl takes every such sequence.
 */
#define CQ__JSON_SCAN_UTF8 1u

/* The most keys cq__json_scan_object() looks for at once. */
#define CQ__JSON_SCAN_MAX_KEYS 32

/*
 * Tells, without building anything, what the JSON object in buf (len bytes)
 * holds at its top level: for each of the nkeys names in keys, spans[i] is
 * the text of the value of its first top-level occurrence, or {NULL, 0}.
 * Stricter than yajl, so that whatever it accepts cq__json_parse() accepts
 * too with the same keys: one object, valid by RFC 8259 with UTF-8 strings
 * by RFC 3629, nested at most max_depth deep, whose top-level keys have no
 * escapes. Anything else (yajl might still take it) is CQ_EPARSE, with
 * every span {NULL, 0}: a caller then asks cq__json_parse(). flags is 0 or
 * CQ__JSON_SCAN_UTF8 (only for text known to be UTF-8: the scanner then
 * trusts it). More than CQ__JSON_SCAN_MAX_KEYS keys are CQ_EPARSE too.
 * Returns CQ_OK or CQ_EPARSE.
 */
int cq__json_scan_object(const char *buf, size_t len, int max_depth,
                         unsigned flags, const cq__json_key *keys, size_t nkeys,
                         cq__json_span *spans);

/* A generator with UTF-8 validation on; NULL when out of memory. */
yajl_gen cq__json_gen_new(void);

/* Writes a string or key. Returns CQ_OK, or CQ_EINVAL for invalid UTF-8. */
int cq__json_gen_str(yajl_gen g, const char *s);
int cq__json_gen_strn(yajl_gen g, const char *s, size_t len);
/* Writes any tree value. Returns CQ_OK, CQ_EINVAL or CQ_ENOMEM. */
int cq__json_gen_value(yajl_gen g, yajl_val v);
/* Copies the generator's output into a new C string; NULL on ENOMEM. */
char *cq__json_gen_dup(yajl_gen g);

/*
 * The latched writer: a validating generator whose first error latches, so
 * that a caller writes a whole document and checks once. Every call after an
 * error does nothing. err is CQ_OK, CQ_EINVAL (invalid UTF-8, or a value
 * where a key is due), CQ_EDEPTH (nesting past yajl's YAJL_MAX_DEPTH, 128) or
 * CQ_ENOMEM. The bridge's status and IPC answers, the before_sending
 * rewrite and the simulator write JSON through it; messages, params and the
 * quick operation go through lib/json_put.h.
 */
typedef struct cq__jw {
    yajl_gen g;
    int err;
} cq__jw;

/* Starts w on a new generator; returns CQ_OK or CQ_ENOMEM. */
int cq__jw_init(cq__jw *w);
/* Frees the generator. Never fails. */
void cq__jw_free(cq__jw *w);
/*
 * Returns a copy of the output (the caller frees it) and stores its length in
 * *len (may be NULL), or returns NULL when a write failed or out of memory.
 */
char *cq__jw_dup(cq__jw *w, size_t *len);
/* Latches rc (a CQ_E* code from a write made on w->g directly) if it is the
 * first failure; CQ_OK changes nothing. */
void cq__jw_latch(cq__jw *w, int rc);

void cq__jw_open(cq__jw *w);               /* { */
void cq__jw_close(cq__jw *w);              /* } */
void cq__jw_aopen(cq__jw *w);              /* [ */
void cq__jw_aclose(cq__jw *w);             /* ] */
void cq__jw_str(cq__jw *w, const char *s); /* NULL writes null. */
void cq__jw_int(cq__jw *w, int64_t v);
void cq__jw_bool(cq__jw *w, int v);
void cq__jw_null(cq__jw *w);
void cq__jw_value(cq__jw *w, yajl_val v); /* NULL writes null. */
/* A key followed by a value, inside an object. */
void cq__jw_kstr(cq__jw *w, const char *key, const char *s);
void cq__jw_kint(cq__jw *w, const char *key, int64_t v);
void cq__jw_kbool(cq__jw *w, const char *key, int v);
void cq__jw_knull(cq__jw *w, const char *key);

/* Writes a key only: an object or array value follows. */
void cq__jw_key(cq__jw *w, const char *key);

#endif
