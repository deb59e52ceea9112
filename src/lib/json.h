/*
 * json: the project's thin layer over yajl 2.1.
 *
 * Parsing goes through cq__json_parse(), which first scans the text for
 * nesting depth, NUL bytes and comments (yajl's tree parser has no depth
 * limit, frees recursively and accepts comments: PITFALLS.md section 4) and
 * only then builds the tree. Output always goes through a generator made by
 * cq__json_gen_new(), which validates UTF-8.
 */
#ifndef CQ_JSON_H
#define CQ_JSON_H

#include <stddef.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

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

/* A generator with UTF-8 validation on; NULL when out of memory. */
yajl_gen cq__json_gen_new(void);

/* Writes a string or key. Returns CQ_OK, or CQ_EINVAL for invalid UTF-8. */
int cq__json_gen_str(yajl_gen g, const char *s);
int cq__json_gen_strn(yajl_gen g, const char *s, size_t len);
/* Writes any tree value. Returns CQ_OK, CQ_EINVAL or CQ_ENOMEM. */
int cq__json_gen_value(yajl_gen g, yajl_val v);
/* Copies the generator's output into a new C string; NULL on ENOMEM. */
char *cq__json_gen_dup(yajl_gen g);

#endif
