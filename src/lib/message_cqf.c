/*
 * Messages: CQ-code printf, cq_msg_cqf() and the cq_reply_cqf() and
 * cq_send_cqf() built on it.
 *
 * The format is CQ code the author wrote; the arguments are data, often the
 * user's. So the format is walked here, one conversion at a time, each
 * argument read at its own type and formatted by the C library alone, and
 * its output escaped (commas included, so that it may sit in a parameter
 * value) before it joins the code: no argument can open, close or split a
 * CQ code. The whole is then parsed once.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/buf.h"
#include "lib/ctx.h"
#include "lib/message.h"

/* Formats one conversion (spec, its stars resolved, with one argument) and
 * appends the output escaped. Returns as cq__vformat() or cq__buf_add(). */
static int put(cq__buf *b, const char *spec, ...)
{
    va_list ap;
    char *s, *esc;
    int rc;

    va_start(ap, spec);
    rc = cq__vformat(&s, spec, ap);
    va_end(ap);
    if (rc != CQ_OK)
        return rc;
    esc = cq_escape(s, 1);
    free(s);
    if (esc == NULL)
        return CQ_ENOMEM;
    rc = cq__buf_addstr(b, esc);
    free(esc);
    return rc;
}


/* An integer conversion: reads the argument at the type len and the
 * signedness say. */
static int put_int(cq__buf *b, const char *spec, const char *len, int sgn,
                   va_list *ap)
{
    if (*len == '\0' || *len == 'h')
        return sgn ? put(b, spec, va_arg(*ap, int))
                   : put(b, spec, va_arg(*ap, unsigned));
    if (strcmp(len, "l") == 0)
        return sgn ? put(b, spec, va_arg(*ap, long))
                   : put(b, spec, va_arg(*ap, unsigned long));
    if (strcmp(len, "ll") == 0)
        return sgn ? put(b, spec, va_arg(*ap, long long))
                   : put(b, spec, va_arg(*ap, unsigned long long));
    if (*len == 'z')
        return put(b, spec, va_arg(*ap, size_t));
    if (*len == 'j')
        return sgn ? put(b, spec, va_arg(*ap, intmax_t))
                   : put(b, spec, va_arg(*ap, uintmax_t));
    if (*len == 't')
        return put(b, spec, va_arg(*ap, ptrdiff_t));
    return CQ_EINVAL;
}


/* Reads conversion conv's argument and appends it. CQ_EINVAL for %n, wide
 * characters and strings, a NULL %s and any unknown conversion. */
static int put_arg(cq__buf *b, const char *spec, const char *len, char conv,
                   va_list *ap)
{
    const char *s;

    if (strchr("di", conv) != NULL)
        return put_int(b, spec, len, 1, ap);
    if (strchr("ouxX", conv) != NULL)
        return put_int(b, spec, len, 0, ap);
    if (strchr("fFeEgGaA", conv) != NULL && strcmp(len, "L") == 0)
        return put(b, spec, va_arg(*ap, long double));
    if (strchr("fFeEgGaA", conv) != NULL && strcmp(len, "ll") != 0 &&
        (*len == '\0' || *len == 'l'))
        return put(b, spec, va_arg(*ap, double));
    if (*len != '\0')
        return CQ_EINVAL;
    if (conv == 'c')
        return put(b, spec, va_arg(*ap, int));
    if (conv == 'p')
        return put(b, spec, va_arg(*ap, void *));
    if (conv != 's')
        return CQ_EINVAL;
    s = va_arg(*ap, const char *);
    return s != NULL ? put(b, spec, s) : CQ_EINVAL;
}


/* Copies up to max characters of p that are in set to spec at *n. */
static const char *copy_span(char *spec, size_t *n, const char *p,
                             const char *set, size_t max)
{
    while (*p != '\0' && strchr(set, *p) != NULL && max-- > 0)
        spec[(*n)++] = *p++;
    return p;
}


/*
 * Appends the conversion at p (just past a '%') with its argument; stores
 * the code in *rc and returns where the format goes on. A '*' width or
 * precision is read and written into the spec as digits.
 */
static const char *convert(cq__buf *b, const char *p, va_list *ap, int *rc)
{
    char spec[64], len[3] = "";
    size_t n = 1;

    spec[0] = '%';
    if (*p == '%') {
        *rc = cq__buf_add(b, "%", 1);
        return p + 1;
    }
    p = copy_span(spec, &n, p, "-+ #0", 8);
    if (*p == '*') {
        n += (size_t)snprintf(spec + n, 16, "%d", va_arg(*ap, int));
        p++;
    } else {
        p = copy_span(spec, &n, p, "0123456789", 9);
    }
    if (*p == '.' && p[1] == '*') {
        int prec = va_arg(*ap, int);

        p += 2;
        if (prec >= 0) /* A negative precision is taken as omitted. */
            n += (size_t)snprintf(spec + n, 16, ".%d", prec);
    } else if (*p == '.') {
        spec[n++] = '.';
        p = copy_span(spec, &n, p + 1, "0123456789", 9);
    }
    if (strchr("hljztL", *p) != NULL && *p != '\0') {
        size_t k = (p[1] == *p && (*p == 'h' || *p == 'l')) ? 2 : 1;

        memcpy(len, p, k);
        len[k] = '\0';
        memcpy(spec + n, p, k);
        n += k;
        p += k;
    }
    if (*p == '\0') {
        *rc = CQ_EINVAL;
        return p;
    }
    spec[n++] = *p;
    spec[n] = '\0';
    *rc = put_arg(b, spec, len, *p, ap);
    return p + 1;
}


/* Formats fmt into CQ code, every argument escaped, and parses it into a
 * new message stored in *out. Returns CQ_OK, CQ_EINVAL, CQ_ETOOBIG or
 * CQ_ENOMEM. */
static int vcqf(cq_msg **out, const char *fmt, va_list ap)
{
    cq__buf b;
    va_list args;
    int rc = CQ_OK;

    *out = NULL;
    if (fmt == NULL)
        return CQ_EINVAL;
    cq__buf_init(&b, CQ_MSG_MAX_BYTES);
    va_copy(args, ap);
    while (*fmt != '\0' && rc == CQ_OK) {
        size_t plain = strcspn(fmt, "%");

        rc = cq__buf_add(&b, fmt, plain);
        fmt += plain;
        if (rc == CQ_OK && *fmt == '%')
            fmt = convert(&b, fmt + 1, &args, &rc);
    }
    va_end(args);
    if (rc == CQ_OK)
        rc = cq_msg_parse_cq(out, b.data != NULL ? b.data : "", b.len);
    cq__buf_free(&b);
    return rc;
}


/* As cq_msg_cqf() with a va_list. */
static cq_msg *vmsg_cqf(const char *fmt, va_list ap)
{
    cq_msg *m;
    int rc = vcqf(&m, fmt, ap);

    if (rc != CQ_OK && (m = cq_msg_new()) != NULL)
        cq__msg_latch(m, rc);
    return m;
}


cq_msg *cq_msg_cqf(const char *fmt, ...)
{
    va_list ap;
    cq_msg *m;

    va_start(ap, fmt);
    m = vmsg_cqf(fmt, ap);
    va_end(ap);
    return m;
}


cq_msg *cq_ctx_cqf(cq_ctx *c, const char *fmt, ...)
{
    va_list ap;
    cq_msg *m;

    va_start(ap, fmt);
    m = vmsg_cqf(fmt, ap);
    va_end(ap);
    return cq__ctx_own_msg(c, m);
}


/* Builds the message of fmt and ap and sends it: as the quick operation's
 * reply when reply is set, else as cq_send_message() answers e. Returns as
 * those do, or CQ_ENOMEM. */
static int send_cqf(cq_ctx *c, const cq_event *e, int reply, const char *fmt,
                    va_list ap)
{
    cq_msg *m = vmsg_cqf(fmt, ap);
    int rc;

    if (m == NULL)
        return CQ_ENOMEM;
    rc = reply ? cq_reply_msg(c, m) : cq_send_message(c, e, m, 0, NULL);
    cq_msg_free(m);
    return rc;
}


int cq_reply_cqf(cq_ctx *c, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = send_cqf(c, NULL, 1, fmt, ap);
    va_end(ap);
    return rc;
}


int cq_send_cqf(cq_ctx *c, const cq_event *e, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = send_cqf(c, e, 0, fmt, ap);
    va_end(ap);
    return rc;
}
