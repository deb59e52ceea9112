#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/api.h"
#include "lib/command.h"
#include "lib/ctx.h"
#include "lib/json.h"
#include "lib/json_put.h"
#include "lib/message.h"
#include "lib/sending.h"

void cq__ctx_init(cq_ctx *c, const cq_event *e, const cq__conf *conf,
                  struct cq__api *api)
{
    memset(c, 0, sizeof(*c));
    c->event = e;
    c->conf = conf;
    c->api = api;
    c->handler = -1;
    c->quick_owner = -1;
}


static void field_clear(cq__quick_field *f)
{
    free(f->s);
    cq_msg_free(f->m);
    f->s = NULL;
    f->m = NULL;
    f->v = NULL;
}


typedef struct cq__ctx_result_node {
    struct cq__ctx_result_node *next;
    cq_result r;
} result_node;

typedef struct cq__ctx_msg_node {
    struct cq__ctx_msg_node *next;
    cq_msg *m;
} msg_node;

cq_msg *cq__ctx_own_msg(cq_ctx *c, cq_msg *m)
{
    msg_node *n = c != NULL && m != NULL ? malloc(sizeof(*n)) : NULL;

    if (n == NULL) {
        cq_msg_free(m);
        return NULL;
    }
    n->m = m;
    n->next = c->msgs;
    c->msgs = n;
    return m;
}


cq_result *cq__ctx_result(cq_ctx *c, int *owned)
{
    static const char no_ctx[] = "no handler context";
    static const char no_mem[] = "out of memory";
    static cq_result einval = {CQ_EINVAL, 0, 0, NULL, no_ctx, NULL};
    static cq_result enomem = {CQ_ENOMEM, 0, 0, NULL, no_mem, NULL};
    result_node *n;

    *owned = 0;
    if (c == NULL)
        return &einval;
    if ((n = malloc(sizeof(*n))) == NULL)
        return &enomem;
    cq__api_result_init(&n->r);
    n->next = c->results;
    c->results = n;
    *owned = 1;
    return &n->r;
}


void cq__ctx_free(cq_ctx *c)
{
    size_t i;

    cq__command_free(c->command);
    c->command = NULL;
    while (c->msgs != NULL) {
        msg_node *n = c->msgs;

        c->msgs = n->next;
        cq_msg_free(n->m);
        free(n);
    }
    while (c->results != NULL) {
        result_node *n = c->results;

        c->results = n->next;
        cq_result_free(&n->r);
        free(n);
    }
    for (i = 0; i < c->nfields; i++) {
        cq__quick_field *f = cq__ctx_field(c, i);

        field_clear(f);
        free(f->key);
    }
    free(c->more);
    c->more = NULL;
    c->nfields = c->capmore = 0;
}


const cq_event *cq_ctx_event(const cq_ctx *c)
{
    return c->event;
}


/*
 * Adds the field named key, empty, as *out: in the context itself while
 * there is room (the usual answer), else in more. Returns CQ_OK or
 * CQ_ENOMEM.
 */
static int add_field(cq_ctx *c, const char *key, cq__quick_field **out)
{
    size_t len = strlen(key), i = c->nfields;
    cq__quick_field *f;

    if (i >= CQ__QUICK_IN + c->capmore) {
        size_t ncap = c->capmore ? c->capmore * 2 : 8;
        cq__quick_field *p = realloc(c->more, ncap * sizeof(*p));

        if (p == NULL)
            return CQ_ENOMEM;
        c->more = p;
        c->capmore = ncap;
    }
    f = cq__ctx_field(c, i);
    memset(f, 0, sizeof(*f));
    if (len < sizeof(f->key_in))
        memcpy(f->key_in, key, len + 1);
    else if ((f->key = strdup(key)) == NULL)
        return CQ_ENOMEM;
    c->nfields++;
    c->quick_owner = c->handler;
    *out = f;
    return CQ_OK;
}


void cq__ctx_field_drop(cq_ctx *c, size_t at)
{
    cq__quick_field *f = cq__ctx_field(c, at);

    field_clear(f);
    free(f->key);
    for (c->nfields--; at < c->nfields; at++)
        *cq__ctx_field(c, at) = *cq__ctx_field(c, at + 1);
}


/*
 * Finds or adds the field named key, cleared, unless another handler owns
 * the quick operation: then stores NULL in *out and returns CQ_OK, since
 * ignoring the field is the documented rule, not an error.
 */
static int field_for(cq_ctx *c, const char *key, cq__quick_field **out)
{
    size_t i;

    *out = NULL;
    if (key == NULL)
        return CQ_EINVAL;
    if (c->quick_owner >= 0 && c->quick_owner != c->handler) {
        cq_log(CQ_LOG_DEBUG,
               "quick operation field \"%s\" ignored: an "
               "earlier handler already answered this event",
               key);
        return CQ_OK;
    }
    for (i = 0; i < c->nfields; i++) {
        *out = cq__ctx_field(c, i);
        if (strcmp(cq__quick_key(*out), key) == 0) {
            field_clear(*out);
            c->quick_owner = c->handler;
            return CQ_OK;
        }
    }
    *out = NULL;
    return add_field(c, key, out);
}


int cq_quick_bool(cq_ctx *c, const char *key, int value)
{
    cq__quick_field *f;
    int rc = field_for(c, key, &f);

    if (rc != CQ_OK || f == NULL)
        return rc;
    f->kind = QF_BOOL;
    f->i = value != 0;
    return CQ_OK;
}


int cq_quick_int(cq_ctx *c, const char *key, int64_t value)
{
    cq__quick_field *f;
    int rc = field_for(c, key, &f);

    if (rc != CQ_OK || f == NULL)
        return rc;
    f->kind = QF_INT;
    f->i = value;
    return CQ_OK;
}


int cq_quick_string(cq_ctx *c, const char *key, const char *value)
{
    cq__quick_field *f;
    char *copy;
    int rc;

    if (value == NULL)
        return CQ_EINVAL;
    copy = strdup(value);
    if (copy == NULL)
        return CQ_ENOMEM;
    rc = field_for(c, key, &f);
    if (rc != CQ_OK || f == NULL) {
        free(copy);
        return rc;
    }
    f->kind = QF_STRING;
    f->s = copy;
    return CQ_OK;
}


int cq_reply(cq_ctx *c, const cq_value *message)
{
    cq__quick_field *f;
    int rc;

    if (message == NULL)
        return CQ_EINVAL;
    rc = field_for(c, "reply", &f);
    if (rc != CQ_OK || f == NULL)
        return rc;
    f->kind = QF_VALUE;
    f->v = message;
    return CQ_OK;
}


int cq_reply_msg(cq_ctx *c, const cq_msg *m)
{
    cq__quick_field *f;
    cq_msg *copy;
    int rc;

    if (m == NULL)
        return CQ_EINVAL;
    if (cq_msg_err(m) != CQ_OK)
        return cq_msg_err(m);
    copy = cq_msg_dup(m);
    if (copy == NULL)
        return CQ_ENOMEM;
    rc = field_for(c, "reply", &f);
    if (rc != CQ_OK || f == NULL) {
        cq_msg_free(copy);
        return rc;
    }
    f->kind = QF_MSG;
    f->m = copy;
    return CQ_OK;
}


int cq_reply_cq(cq_ctx *c, const char *cq)
{
    return cq_quick_string(c, "reply", cq);
}


/* Literal text goes out escaped, as a string, so that implementations read
 * it back as the same text and never as CQ codes. */
int cq_reply_text(cq_ctx *c, const char *text)
{
    char *s;
    int rc;

    if (text == NULL)
        return CQ_EINVAL;
    if ((s = cq_escape(text, 0)) == NULL)
        return CQ_ENOMEM;
    rc = cq_quick_string(c, "reply", s);
    free(s);
    return rc;
}


int cq_reply_textf(cq_ctx *c, const char *fmt, ...)
{
    va_list ap;
    char *s;
    int rc;

    va_start(ap, fmt);
    rc = cq__vformat(&s, fmt, ap);
    va_end(ap);
    if (rc == CQ_OK)
        rc = cq_reply_text(c, s);
    free(s);
    return rc;
}


int cq_approve(cq_ctx *c, int approve)
{
    return cq_quick_bool(c, "approve", approve);
}


int cq_reject(cq_ctx *c, const char *reason)
{
    int rc = cq_quick_bool(c, "approve", 0);

    return rc == CQ_OK && reason != NULL ? cq_quick_string(c, "reason", reason)
                                         : rc;
}


int cq_ban(cq_ctx *c, int64_t seconds)
{
    int rc = cq_quick_bool(c, "ban", 1);

    return rc == CQ_OK ? cq_quick_int(c, "ban_duration", seconds) : rc;
}


int cq_kick(cq_ctx *c)
{
    return cq_quick_bool(c, "kick", 1);
}


int cq_delete(cq_ctx *c)
{
    return cq_quick_bool(c, "delete", 1);
}


/* Appends f as a member of the quick operation's object, after the brace
 * or comma sep. Returns as cq__json_put_value() or cq__msg_put(). */
static int write_field(cq__jput *w, const cq__quick_field *f, char sep)
{
    int rc = cq__json_put_key(w, sep, cq__quick_key(f));

    if (rc != CQ_OK)
        return rc;
    /* Each value sits one level deep, inside the operation's object. */
    switch (f->kind) {
    case QF_BOOL:
        return cq__json_put_bool(w, (int)f->i);
    case QF_INT:
        return cq__json_put_int(w, f->i);
    case QF_STRING:
        return cq__json_put_str(w, f->s);
    case QF_MSG:
        return cq__msg_put(w, f->m, 1);
    case QF_VALUE:
    default:
        return cq__json_put_value(w, cq__yv(f->v), 1);
    }
}


int cq__ctx_quick_write(cq_ctx *c, cq__buf *out)
{
    return cq__ctx_quick_sink(c, out, NULL, 1);
}


/* The operation's object is flat at its top level, so it is written
 * straight into out (lib/json_put.h), without a generator. */
int cq__ctx_quick_sink(cq_ctx *c, cq__buf *out, const cq__json_sink *sink,
                       int hooks)
{
    size_t start = out->len, i;
    cq__jput w;
    int rc = CQ_OK;

    if (hooks && cq__sending_reply(c) != CQ_OK)
        return CQ_ENOMEM;
    if (c->nfields == 0)
        return CQ_OK;
    cq__jput_init(&w, out, sink);
    for (i = 0; rc == CQ_OK && i < c->nfields; i++)
        rc = write_field(&w, cq__ctx_field(c, i), i == 0 ? '{' : ',');
    if (rc == CQ_OK)
        rc = cq__jput_add(&w, "}", 1);
    if (rc != CQ_OK && out->data != NULL) {
        out->len = start; /* Nothing of a document that failed. */
        out->data[start] = '\0';
    }
    return rc;
}


int cq__ctx_quick_json(cq_ctx *c, char **out)
{
    cq__buf b;
    int rc;

    cq__buf_init(&b, SIZE_MAX / 2);
    rc = cq__ctx_quick_write(c, &b);
    *out = rc == CQ_OK ? cq__buf_detach(&b) : NULL;
    cq__buf_free(&b);
    return rc;
}
