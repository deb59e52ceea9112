#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/arena.h"
#include "lib/event.h"
#include "lib/json.h"

/*
 * Up to this many "*_type" members of an event are noted in one pass over
 * its top level; an event with more (none real has) is searched per key.
 */
#define TYPE_KEYS 8

/* The "*_type" members of an event's top level, in their order. */
typedef struct type_keys {
    size_t idx[TYPE_KEYS]; /* Their indexes in the object. */
    size_t n;
    int all; /* Every "*_type" member is among them. */
} type_keys;


/*
 * Notes the "*_type" members of root (an object) in one pass, so that the
 * three type fields an event is named by cost one look at each key, not
 * three scans of the object by strcmp().
 */
static void note_type_keys(yajl_val root, type_keys *t)
{
    size_t i, n;

    t->n = 0;
    t->all = 1;
    for (i = 0; i < root->u.object.len; i++) {
        const char *k = root->u.object.keys[i];

        n = strlen(k);
        if (n < 5 || memcmp(k + n - 5, "_type", 5) != 0)
            continue;
        if (t->n == TYPE_KEYS) {
            t->all = 0;
            return;
        }
        t->idx[t->n++] = i;
    }
}


/*
 * The string under key (which ends in "_type") in root, as yajl_tree_get()
 * finds it: the first member of that name, NULL when that is no string.
 */
static const char *field_string(yajl_val root, const type_keys *t,
                                const char *key)
{
    const char *path[2] = {key, NULL};
    size_t i;

    if (!t->all)
        return YAJL_GET_STRING(yajl_tree_get(root, path, yajl_t_string));
    for (i = 0; i < t->n; i++)
        if (strcmp(root->u.object.keys[t->idx[i]], key) == 0)
            return YAJL_GET_STRING(root->u.object.values[t->idx[i]]);
    return NULL;
}


/* Builds "post_type[.detail[.sub]]" in the event's arena; CQ_OK or
 * CQ_ENOMEM. */
static int make_name(cq_event *e)
{
    size_t p = strlen(e->post_type), d = 0, s = 0;
    char *name;

    if (e->detail_type != NULL) {
        d = strlen(e->detail_type) + 1;
        if (e->sub_type != NULL)
            s = strlen(e->sub_type) + 1;
    }
    name = cq__arena_alloc(e->arena, p + d + s + 1);
    if (name == NULL)
        return CQ_ENOMEM;
    memcpy(name, e->post_type, p);
    if (d > 0) {
        name[p] = '.';
        memcpy(name + p + 1, e->detail_type, d - 1);
    }
    if (s > 0) {
        name[p + d] = '.';
        memcpy(name + p + d + 1, e->sub_type, s - 1);
    }
    name[p + d + s] = '\0';
    e->name = name;
    return CQ_OK;
}


/* Reads post_type, the detail and sub types and the name from the root. */
static int read_types(cq_event *e)
{
    char type_key[64];
    size_t n;
    type_keys t;

    if (!YAJL_IS_OBJECT(e->root))
        return CQ_EPARSE;
    note_type_keys(e->root, &t);
    e->post_type = field_string(e->root, &t, "post_type");
    if (e->post_type == NULL || e->post_type[0] == '\0')
        return CQ_ENOTYPE;
    n = strlen(e->post_type);
    if (n < sizeof(type_key) - 5) {
        /* "<post_type>_type", built without snprintf() on every event. */
        memcpy(type_key, e->post_type, n);
        memcpy(type_key + n, "_type", sizeof("_type"));
        e->detail_type = field_string(e->root, &t, type_key);
    }
    if (e->detail_type != NULL && e->detail_type[0] == '\0')
        e->detail_type = NULL;
    e->sub_type = field_string(e->root, &t, "sub_type");
    if (e->sub_type != NULL && e->sub_type[0] == '\0')
        e->sub_type = NULL;
    return make_name(e);
}


/*
 * Parses the len bytes at buf (NUL-terminated at buf[len] unless copied)
 * into a new event whose arena starts with hint bytes. With copy, the event
 * holds a copy of buf in its arena; without, its strings are ended in buf
 * (cq__json_parse_inplace()), which it points at and leaves to the caller.
 * Returns as cq_event_parse().
 */
static int parse(cq_event **ev, const char *buf, size_t len, size_t hint,
                 int max_depth, int copy)
{
    cq__arena *a = cq__arena_new(sizeof(cq_event) + hint);
    cq_event *e = a != NULL ? cq__arena_alloc(a, sizeof(*e)) : NULL;
    int rc;

    if (e == NULL) {
        cq__arena_free(a);
        return CQ_ENOMEM;
    }
    memset(e, 0, sizeof(*e));
    e->arena = a;
    e->raw = copy ? cq__arena_strndup(a, buf, len) : buf;
    e->raw_len = len;
    rc = e->raw != NULL ? CQ_OK : CQ_ENOMEM;
    if (max_depth <= 0)
        max_depth = CQ_JSON_MAX_DEPTH;
    /*
     * With copy, the tree is parsed in place from a second copy, kept
     * apart from the raw text: one memcpy costs less than a copy of each
     * key and string the arena parser would make.
     */
    if (rc == CQ_OK && copy) {
        char *work = cq__arena_strndup(a, buf, len);

        rc = work != NULL
                 ? cq__json_parse_inplace(&e->root, a, work, len, max_depth)
                 : CQ_ENOMEM;
    } else if (rc == CQ_OK)
        rc = cq__json_parse_inplace(&e->root, a, (char *)buf, len, max_depth);
    if (rc == CQ_OK)
        rc = read_types(e);
    if (rc != CQ_OK) {
        cq__arena_free(a);
        return rc;
    }
    *ev = e;
    return CQ_OK;
}


int cq_event_parse(cq_event **ev, const char *buf, size_t len, int max_depth)
{
    *ev = NULL;
    if (buf == NULL)
        return CQ_EPARSE;
    if (len > SIZE_MAX / 4)
        return CQ_ENOMEM;
    /*
     * The body's two copies, the tree (about a node per eight bytes of body)
     * and the parser's buffers fit in one chunk of this size for most events.
     */
    return parse(ev, buf, len, 3 * len + 4096, max_depth, 1);
}


int cq__event_parse_lent(cq_event **ev, char *buf, size_t len, int max_depth)
{
    int rc;

    *ev = NULL;
    /* As above, less the body copy and the strings, left in the body. */
    rc = len <= SIZE_MAX / 4 ? parse(ev, buf, len, len / 2 + 4096, max_depth, 0)
                             : CQ_ENOMEM;
    if (rc == CQ_OK)
        (*ev)->in_place = 1;
    return rc;
}


void cq_event_free(cq_event *e)
{
    /* The event itself, its tree and name are all in its arena. */
    if (e != NULL) {
        free(e->text);
        free(e->raw_text);
        cq__arena_free(e->arena);
    }
}


const cq_value *cq_event_root(const cq_event *e)
{
    return cq__cv(e->root);
}


const cq_value *cq_event_get(const cq_event *e, const char *path)
{
    return cq_value_get(cq__cv(e->root), path);
}


/*
 * Publishes *fresh in *slot unless another thread did first; returns what
 * *slot then holds (fresh is freed if it lost). The plain text and the
 * restored body are made on first use and shared by threads reading one
 * event.
 */
static char *publish(char **slot, char *fresh)
{
    char *none = NULL;

    if (__atomic_compare_exchange_n(slot, &none, fresh, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return fresh;
    free(fresh);
    return none;
}


const char *cq_event_raw(const cq_event *e, size_t *len)
{
    char **slot = &((cq_event *)e)->raw_text, *t;

    if (len != NULL)
        *len = e->raw_len;
    if (!e->in_place)
        return e->raw;
    /* The body's strings were ended in place: the text is made once. */
    if ((t = __atomic_load_n(slot, __ATOMIC_ACQUIRE)) != NULL)
        return t;
    t = cq__json_text_of(e->raw, e->raw_len, e->root);
    return t != NULL ? publish(slot, t) : NULL;
}


const char *cq_event_post_type(const cq_event *e)
{
    return e->post_type;
}


const char *cq_event_detail_type(const cq_event *e)
{
    return e->detail_type;
}


const char *cq_event_sub_type(const cq_event *e)
{
    return e->sub_type;
}


const char *cq_event_name(const cq_event *e)
{
    return e->name;
}


int cq_event_int(const cq_event *e, const char *path, int64_t *out)
{
    return cq_value_int(cq_value_get(cq__cv(e->root), path), out);
}


static int64_t int_or_zero(const cq_event *e, const char *key)
{
    int64_t v;

    return cq_event_int(e, key, &v) == CQ_OK ? v : 0;
}


int64_t cq_event_self_id(const cq_event *e)
{
    return int_or_zero(e, "self_id");
}


int64_t cq_event_user_id(const cq_event *e)
{
    return int_or_zero(e, "user_id");
}


int64_t cq_event_group_id(const cq_event *e)
{
    return int_or_zero(e, "group_id");
}


int64_t cq_event_message_id(const cq_event *e)
{
    return int_or_zero(e, "message_id");
}


int64_t cq_event_time(const cq_event *e)
{
    return int_or_zero(e, "time");
}


const char *cq_event_string(const cq_event *e, const char *path)
{
    return cq_value_string(cq_value_get(cq__cv(e->root), path));
}


const cq_value *cq_event_message(const cq_event *e)
{
    return cq_value_get(cq__cv(e->root), "message");
}


const char *cq_event_raw_message(const cq_event *e)
{
    return cq_event_string(e, "raw_message");
}


const char *cq_event_flag(const cq_event *e)
{
    return cq_event_string(e, "flag");
}


/* The message's text segments joined as cq_msg_plain_text(), trimmed of
 * ASCII white space; "" for a missing or malformed message. NULL when out of
 * memory. */
static char *make_text(const cq_event *e)
{
    static const char space[] = " \t\r\n\f\v";
    cq_msg *m = NULL;
    char *t;
    size_t start, len;
    int rc = cq_msg_from_value(&m, cq_event_message(e));

    if (rc == CQ_ENOMEM)
        return NULL;
    t = cq_msg_plain_text(m);
    cq_msg_free(m);
    if (t == NULL)
        return NULL;
    start = strspn(t, space);
    len = strlen(t + start);
    while (len > 0 && strchr(space, t[start + len - 1]) != NULL)
        len--;
    memmove(t, t + start, len);
    t[len] = '\0';
    return t;
}


const char *cq_event_text(const cq_event *e)
{
    char **slot = &((cq_event *)e)->text;
    char *t = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

    if (t != NULL)
        return t;
    if ((t = make_text(e)) == NULL)
        return NULL;
    return publish(slot, t);
}
