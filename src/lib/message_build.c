/*
 * Builders for the standard segment types (PROTOCOL.md 8.2), all through the
 * public cq_msg_add_seg(), so they share its checks and caps.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "cqhttp.h"
#include "lib/message.h"

static int add_int(cq_msg *m, const char *type, const char *key, int64_t v)
{
    char buf[24];

    snprintf(buf, sizeof(buf), "%" PRId64, v);
    return cq_msg_add_seg(m, type, key, buf, NULL);
}

static int add_str(cq_msg *m, const char *type, const char *key, const char *v)
{
    return v != NULL ? cq_msg_add_seg(m, type, key, v, NULL)
                     : cq__msg_latch(m, CQ_EINVAL);
}

int cq_msg_add_face(cq_msg *m, int id)
{
    return add_int(m, "face", "id", id);
}

int cq_msg_add_at(cq_msg *m, int64_t qq)
{
    return add_int(m, "at", "qq", qq);
}

int cq_msg_add_at_all(cq_msg *m)
{
    return cq_msg_add_seg(m, "at", "qq", "all", NULL);
}

int cq_msg_add_image(cq_msg *m, const char *file)
{
    return add_str(m, "image", "file", file);
}

int cq_msg_add_record(cq_msg *m, const char *file)
{
    return add_str(m, "record", "file", file);
}

int cq_msg_add_video(cq_msg *m, const char *file)
{
    return add_str(m, "video", "file", file);
}

int cq_msg_add_reply(cq_msg *m, int64_t id)
{
    return add_int(m, "reply", "id", id);
}

int cq_msg_add_share(cq_msg *m, const char *url, const char *title,
                     const char *content, const char *image)
{
    if (url == NULL || title == NULL) {
        return cq__msg_latch(m, CQ_EINVAL);
    }
    return cq_msg_add_seg(m, "share", "url", url, "title", title, "content",
                          content, "image", image, NULL);
}

int cq_msg_add_poke(cq_msg *m, int type, int64_t id)
{
    char t[24], i[24];

    snprintf(t, sizeof(t), "%d", type);
    snprintf(i, sizeof(i), "%" PRId64, id);
    return cq_msg_add_seg(m, "poke", "type", t, "id", i, NULL);
}

int cq_msg_add_music(cq_msg *m, const char *type, int64_t id)
{
    char i[24];

    if (type == NULL) {
        return cq__msg_latch(m, CQ_EINVAL);
    }
    snprintf(i, sizeof(i), "%" PRId64, id);
    return cq_msg_add_seg(m, "music", "type", type, "id", i, NULL);
}

int cq_msg_add_music_custom(cq_msg *m, const char *url, const char *audio,
                            const char *title, const char *content,
                            const char *image)
{
    if (url == NULL || audio == NULL || title == NULL) {
        return cq__msg_latch(m, CQ_EINVAL);
    }
    return cq_msg_add_seg(m, "music", "type", "custom", "url", url, "audio",
                          audio, "title", title, "content", content, "image",
                          image, NULL);
}

int cq_msg_add_location(cq_msg *m, const char *lat, const char *lon,
                        const char *title, const char *content)
{
    if (lat == NULL || lon == NULL) {
        return cq__msg_latch(m, CQ_EINVAL);
    }
    return cq_msg_add_seg(m, "location", "lat", lat, "lon", lon, "title", title,
                          "content", content, NULL);
}

int cq_msg_add_contact(cq_msg *m, const char *type, int64_t id)
{
    char i[24];

    if (type == NULL) {
        return cq__msg_latch(m, CQ_EINVAL);
    }
    snprintf(i, sizeof(i), "%" PRId64, id);
    return cq_msg_add_seg(m, "contact", "type", type, "id", i, NULL);
}

int cq_msg_add_rps(cq_msg *m)
{
    return cq_msg_add_seg(m, "rps", NULL);
}

int cq_msg_add_dice(cq_msg *m)
{
    return cq_msg_add_seg(m, "dice", NULL);
}

int cq_msg_add_shake(cq_msg *m)
{
    return cq_msg_add_seg(m, "shake", NULL);
}

int cq_msg_add_anonymous(cq_msg *m, int ignore)
{
    return cq_msg_add_seg(m, "anonymous", "ignore", ignore ? "1" : "0", NULL);
}

int cq_msg_add_forward(cq_msg *m, const char *id)
{
    return add_str(m, "forward", "id", id);
}

int cq_msg_add_node(cq_msg *m, int64_t id)
{
    return add_int(m, "node", "id", id);
}

int cq_msg_add_xml(cq_msg *m, const char *data)
{
    return add_str(m, "xml", "data", data);
}

int cq_msg_add_json(cq_msg *m, const char *data)
{
    return add_str(m, "json", "data", data);
}


int cq__vformat(char **out, const char *fmt, va_list ap)
{
    va_list again;
    int n;

    *out = NULL;
    if (fmt == NULL)
        return CQ_EINVAL;
    va_copy(again, ap);
    n = vsnprintf(NULL, 0, fmt, again);
    va_end(again);
    if (n < 0)
        return CQ_EINVAL;
    if ((size_t)n > CQ_MSG_MAX_BYTES)
        return CQ_ETOOBIG;
    if ((*out = malloc((size_t)n + 1)) == NULL)
        return CQ_ENOMEM;
    vsnprintf(*out, (size_t)n + 1, fmt, ap);
    return CQ_OK;
}


/* Appends fmt formatted with ap as literal text, latching a failure. */
static int vadd_textf(cq_msg *m, const char *fmt, va_list ap)
{
    char *s;
    int rc = cq__vformat(&s, fmt, ap);

    if (rc == CQ_OK)
        rc = cq_msg_add_text(m, s);
    free(s);
    return cq__msg_latch(m, rc);
}


int cq_msg_add_textf(cq_msg *m, const char *fmt, ...)
{
    va_list ap;
    int rc;

    if (m == NULL)
        return CQ_EINVAL;
    va_start(ap, fmt);
    rc = vadd_textf(m, fmt, ap);
    va_end(ap);
    return rc;
}


cq_msg *cq_msgf(const char *fmt, ...)
{
    cq_msg *m = cq_msg_new();
    va_list ap;

    if (m == NULL)
        return NULL;
    va_start(ap, fmt);
    vadd_textf(m, fmt, ap);
    va_end(ap);
    return m;
}
