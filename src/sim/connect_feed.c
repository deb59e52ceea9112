/*
 * connect_feed: the events "cqhttp-sim connect" sends, all built by the
 * event builder (post_event.c) or read as given: the given ones in
 * command-line order, then the lines of stdin, on the event connection,
 * once every connection is open, and only while less than CQ__SIM_FEED_LOW
 * bytes wait in that connection's output, so that memory stays bounded
 * however much stdin holds. Stdin is read through the loop when it can be
 * polled (a pipe, a terminal) and directly otherwise (a regular file or
 * /dev/null, which epoll refuses). The lifecycle and heartbeat events go
 * out here too.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "cqhttp.h"
#include "lib/json.h"
#include "sim/connect.h"

#define STDIN_CHUNK 65536

typedef struct feed_item {
    const char *path; /* An --event-file, or NULL for a message. */
    int64_t group_id; /* A --group message's, 0 for a --private. */
    int64_t user_id;
    const char *text;
} feed_item;

struct cq__sim_feed {
    feed_item *items;
    size_t nitems, maxitems, next;
    int use_stdin;
    int stdin_polled; /* Read through stdin_ev, not directly. */
    int stdin_eof;
    struct event *stdin_ev; /* NULL unless polled. */
    struct evbuffer *stdin_buf;
    uint64_t stdin_line; /* Lines read, for messages. */
};


cq__sim_feed *cq__sim_feed_new(size_t max_items)
{
    cq__sim_feed *fd = calloc(1, sizeof(*fd));

    if (fd == NULL)
        return NULL;
    fd->items = calloc(max_items + 1, sizeof(*fd->items));
    if (fd->items == NULL) {
        free(fd);
        return NULL;
    }
    fd->maxitems = max_items;
    return fd;
}


void cq__sim_feed_free(cq__sim_feed *fd)
{
    if (fd == NULL)
        return;
    if (fd->stdin_ev != NULL)
        event_free(fd->stdin_ev);
    if (fd->stdin_buf != NULL)
        evbuffer_free(fd->stdin_buf);
    free(fd->items);
    free(fd);
}


void cq__sim_feed_add_file(cq__sim_feed *fd, const char *path)
{
    if (fd->nitems < fd->maxitems)
        fd->items[fd->nitems++].path = path;
}


void cq__sim_feed_add_message(cq__sim_feed *fd, int64_t group_id,
                              int64_t user_id, const char *text)
{
    if (fd->nitems < fd->maxitems) {
        fd->items[fd->nitems].group_id = group_id;
        fd->items[fd->nitems].user_id = user_id;
        fd->items[fd->nitems++].text = text;
    }
}


void cq__sim_feed_use_stdin(cq__sim_feed *fd)
{
    fd->use_stdin = 1;
}


void cq__sim_feed_stop(cq__sim_feed *fd)
{
    if (fd->stdin_ev != NULL)
        event_del(fd->stdin_ev);
}


/* Sends a built event (a NUL-terminated JSON text) on c. */
static int send_event(cq__sim_wsc *c, const char *json, size_t len)
{
    /* Go's encoder ends each event with a newline: not part of the frame. */
    while (len > 0 && (json[len - 1] == '\n' || json[len - 1] == '\r'))
        len--;
    return cq__sim_wsc_send(c, json, len);
}


int cq__sim_feed_meta(cq__sim_client *cl, cq__sim_wsc *c,
                      enum cq__sim_event_kind kind)
{
    cq__sim_event_spec spec;
    char *json;
    size_t len;
    int rc;

    memset(&spec, 0, sizeof(spec));
    spec.kind = kind;
    spec.self_id = cl->self_id;
    spec.interval = cl->heartbeat_ms;
    json = cq__sim_event_build(&spec, &len, &rc);
    if (json == NULL)
        return rc;
    rc = send_event(c, json, len);
    free(json);
    return rc;
}


/* Is text (len bytes, NUL-terminated) one JSON object within the caps? */
static int is_json_object(const cq__sim_client *cl, const char *text,
                          size_t len)
{
    yajl_val v = NULL;
    int ok = cq__json_parse(&v, text, len, (int)cl->conf->max_depth) == CQ_OK &&
             YAJL_IS_OBJECT(v);

    yajl_tree_free(v);
    return ok;
}


/* Reads an --event-file; NULL after saying why. */
static char *load_file(cq__sim_client *cl, const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cq__buf b;
    int rc;

    if (f == NULL) {
        cq_log(CQ_LOG_ERROR, "--event-file %s: %s", path, strerror(errno));
        return NULL;
    }
    cq__buf_init(&b, (size_t)cl->conf->ws_max_message);
    rc = cq__sim_read_all(f, &b);
    fclose(f);
    if (rc != CQ_OK) {
        cq_log(CQ_LOG_ERROR, "--event-file %s: %s%s", path, cq_strerror(rc),
               rc == CQ_ETOOBIG ? " (over ws_max_message)" : "");
        return NULL;
    }
    if (!is_json_object(cl, b.data, b.len)) {
        cq_log(CQ_LOG_ERROR, "--event-file %s: not a JSON object", path);
        cq__buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return cq__buf_detach(&b);
}


/* The next given event; NULL after saying why. */
static char *build_item(cq__sim_client *cl, const feed_item *it, size_t *len)
{
    cq__sim_event_spec spec;
    char *json;
    int err = CQ_OK;

    if (it->path != NULL)
        return load_file(cl, it->path, len);
    memset(&spec, 0, sizeof(spec));
    spec.kind = it->group_id != 0 ? CQ__SIM_EV_GROUP : CQ__SIM_EV_PRIVATE;
    spec.self_id = cl->self_id;
    spec.group_id = it->group_id;
    spec.user_id = it->user_id;
    spec.text = it->text;
    json = cq__sim_event_build(&spec, len, &err);
    if (json == NULL)
        cq_log(CQ_LOG_ERROR, "%s %" PRId64 ": %s",
               it->group_id != 0 ? "--group" : "--private",
               it->group_id != 0 ? it->group_id : it->user_id,
               err == CQ_EINVAL ? "TEXT is not valid UTF-8" : cq_strerror(err));
    return json;
}


/* Takes what is left after stdin's last newline as its last line. */
static int stdin_rest(cq__sim_feed *fd, char **out, size_t *len)
{
    *len = evbuffer_get_length(fd->stdin_buf);
    if (*len == 0)
        return CQ_ENOENT;
    *out = malloc(*len + 1);
    if (*out == NULL) {
        cq_log(CQ_LOG_ERROR, "out of memory");
        return CQ_ENOMEM;
    }
    evbuffer_remove(fd->stdin_buf, *out, *len);
    (*out)[*len] = '\0';
    fd->stdin_line++;
    return CQ_OK;
}


/*
 * Takes the next line of stdin into *out (the caller frees it). Returns
 * CQ_OK (a line), CQ_ENOENT (the end of stdin), CQ_EAGAIN (reading is
 * armed: wait), or CQ_ETOOBIG or CQ_EIO after saying why.
 */
static int stdin_line(cq__sim_client *cl, char **out, size_t *len)
{
    cq__sim_feed *fd = cl->feed;
    size_t cap = (size_t)cl->conf->ws_max_message;
    int n;

    for (;;) {
        *out = evbuffer_readln(fd->stdin_buf, len, EVBUFFER_EOL_LF);
        if (*out != NULL) {
            fd->stdin_line++;
            return CQ_OK;
        }
        if (evbuffer_get_length(fd->stdin_buf) > cap) {
            cq_log(CQ_LOG_ERROR,
                   "stdin line %" PRIu64 " is over %zu bytes (ws_max_message)",
                   fd->stdin_line + 1, cap);
            return CQ_ETOOBIG;
        }
        if (fd->stdin_eof)
            return stdin_rest(fd, out, len);
        if (fd->stdin_polled) {
            event_add(fd->stdin_ev, NULL);
            return CQ_EAGAIN;
        }
        n = evbuffer_read(fd->stdin_buf, STDIN_FILENO, STDIN_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            cq_log(CQ_LOG_ERROR, "cannot read stdin: %s", strerror(errno));
            return CQ_EIO;
        }
        if (n == 0)
            fd->stdin_eof = 1;
    }
}


/*
 * The next event to send into *out (the caller frees it). Returns CQ_OK,
 * CQ_ENOENT when every event is sent, CQ_EAGAIN to wait for stdin, or
 * another negative code after saying why.
 */
static int next_event(cq__sim_client *cl, char **out, size_t *len)
{
    cq__sim_feed *fd = cl->feed;
    int rc;

    if (fd->next < fd->nitems) {
        *out = build_item(cl, &fd->items[fd->next++], len);
        return *out != NULL ? CQ_OK : CQ_EINVAL;
    }
    while (fd->use_stdin) {
        rc = stdin_line(cl, out, len);
        if (rc != CQ_OK)
            return rc;
        while (*len > 0 &&
               ((*out)[*len - 1] == '\r' || (*out)[*len - 1] == ' '))
            (*out)[--*len] = '\0';
        if (*len > 0 && is_json_object(cl, *out, *len))
            return CQ_OK;
        if (*len > 0)
            cq_log(CQ_LOG_WARN,
                   "stdin line %" PRIu64 " is not a JSON object: skipped",
                   fd->stdin_line);
        free(*out);
    }
    return CQ_ENOENT;
}


void cq__sim_feed_pump(cq__sim_client *cl)
{
    cq__sim_wsc *c = cl->events;
    char *json;
    size_t len;
    int rc;

    while (!cl->fed_all && !cl->stopping && cq__sim_client_ready(cl) &&
           cq__sim_wsc_queued(c) < CQ__SIM_FEED_LOW) {
        rc = next_event(cl, &json, &len);
        if (rc == CQ_EAGAIN)
            return;
        if (rc == CQ_ENOENT) {
            cl->fed_all = 1;
            cq_log(CQ_LOG_INFO, "%" PRIu64 " events sent", cl->events_out);
            cq__sim_client_rearm(cl);
            return;
        }
        if (rc != CQ_OK) {
            cq__sim_client_stop(cl, 1);
            return;
        }
        rc = send_event(c, json, len);
        free(json);
        if (rc != CQ_OK)
            return; /* The connection is going; the feed resumes on open. */
        cl->events_out++;
    }
}


static void on_stdin(evutil_socket_t fd, short what, void *arg)
{
    cq__sim_client *cl = arg;
    int n;

    (void)fd;
    (void)what;
    n = evbuffer_read(cl->feed->stdin_buf, STDIN_FILENO, STDIN_CHUNK);
    if (n == 0) {
        cl->feed->stdin_eof = 1;
    } else if (n < 0 && errno != EINTR && errno != EAGAIN) {
        cq_log(CQ_LOG_ERROR, "cannot read stdin: %s", strerror(errno));
        cq__sim_client_stop(cl, 1);
        return;
    }
    cq__sim_feed_pump(cl);
}


/* Drops libevent's own warning when the probe below fails, as expected. */
static void quiet_log(int severity, const char *msg)
{
    (void)severity;
    (void)msg;
}


int cq__sim_feed_start(cq__sim_client *cl)
{
    cq__sim_feed *fd = cl->feed;
    int rc;

    if (!fd->use_stdin)
        return CQ_OK;
    fd->stdin_buf = evbuffer_new();
    if (fd->stdin_buf == NULL)
        return CQ_ENOMEM;
    fd->stdin_ev = event_new(cl->base, STDIN_FILENO, EV_READ, on_stdin, cl);
    if (fd->stdin_ev == NULL)
        return CQ_ENOMEM;
    event_set_log_callback(quiet_log);
    rc = event_add(fd->stdin_ev, NULL);
    event_set_log_callback(NULL);
    if (rc == 0) {
        fd->stdin_polled = 1;
        event_del(fd->stdin_ev);
        return CQ_OK;
    }
    /* A regular file or /dev/null: read directly, it never blocks. */
    event_free(fd->stdin_ev);
    fd->stdin_ev = NULL;
    return CQ_OK;
}
