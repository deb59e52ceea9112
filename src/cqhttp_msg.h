/*
 * cqhttp_msg.h: messages, part of the public interface of libcqhttp. It is
 * included by cqhttp.h, which is the header to include.
 */
#ifndef CQHTTP_MSG_H
#define CQHTTP_MSG_H

#include <stddef.h>
#include <stdint.h>

#ifndef CQHTTP_H
#error "include <cqhttp.h>, which includes this header"
#endif

#ifdef __cplusplus
extern "C" {
#endif

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
 * Errors latch: the first builder that fails (cq_msg_add_*, cq_msg_append,
 * cq_msgf) records its code in the message, which cq_msg_err() returns;
 * cq_reply_msg(), cq_send_message() and cq_params_msg() (hence the typed
 * wrappers) return it instead of sending, so a sequence of additions may be
 * checked once. Each builder still returns its own code as well.
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
 * As cq_msg_add_text() with printf formatting: the formatted text is
 * literal. Also CQ_EINVAL for a NULL fmt or an output error, and CQ_ETOOBIG
 * when the text alone is longer than CQ_MSG_MAX_BYTES.
 */
CQ_EXTERN int cq_msg_add_textf(cq_msg *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Returns a new message holding the formatted literal text (see
 * cq_msg_add_textf()), to which segments may then be added; a formatting
 * failure latches in it (cq_msg_err()). NULL only when out of memory, which
 * cq_msg_err() and every consumer above also report (as CQ_ENOMEM or
 * CQ_EINVAL).
 */
CQ_EXTERN cq_msg *cq_msgf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * CQ-code printf: returns a new message parsed from fmt, which is CQ code
 * the author wrote, with each conversion's output escaped as literal text
 * ('&', '[', ']' and ',' replaced by their entities) before it joins the
 * code, so that no argument, user input included, can become CQ code:
 *
 *   cq_msg_cqf("[CQ:at,qq=%lld] %s: 晴[CQ:image,file=%s]", (long long)user,
 *              city, file)
 *
 * gives an at, the text and an image whatever city and file hold. Every
 * standard conversion is supported (flags, width and precision, '*'
 * included, and the hh, h, l, ll, j, z, t and L lengths) except %n and the
 * wide %lc and %ls; "%%" is a '%' of the code. Never put user data in fmt.
 * Failures latch in the message returned (cq_msg_err()): CQ_EINVAL (fmt
 * NULL, a NULL %s, an unsupported conversion or an output error), CQ_ETOOBIG
 * (the code is longer than CQ_MSG_MAX_BYTES, or the message a cap) or
 * CQ_ENOMEM. NULL only when out of memory.
 */
CQ_EXTERN cq_msg *cq_msg_cqf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * Returns the first error a builder returned on m, CQ_OK when none did, or
 * CQ_ENOMEM for a NULL m (the result of a failed cq_msg_new() or cq_msgf()).
 */
CQ_EXTERN int cq_msg_err(const cq_msg *m);

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
 * pure text segment merges into a trailing one of m (other's latched error,
 * if any, is not copied: check it first). Returns CQ_OK or:
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

#ifdef __cplusplus
}
#endif

#endif
