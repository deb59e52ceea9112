/*
 * spool: the events a connection has read that no worker has taken yet, in
 * order. They are kept in memory up to a bound, then appended to an
 * unlinked temporary file, as nginx spills proxied bodies, up to a second
 * bound; past it an event is refused, and the caller counts and logs it.
 * Nothing is written to the file while it holds events and memory has room
 * again, and memory is emptied before the file is read, so the order
 * holds. Loop thread only.
 *
 * A file record is the event's length (a uint32_t in host order: the file
 * never leaves this process) followed by its bytes. The file is created on
 * the first spill, in $TMPDIR (else /tmp), and truncated whenever it has
 * been read to its end.
 *
 * cq__conn_resume_paused() is here too: it offers the spools' events to
 * the workers, the orphans' first, as workers free up.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "bridge/bridge.h"

void cq__spool_init(cq__spool *q, int64_t self_id)
{
    memset(q, 0, sizeof(*q));
    q->self_id = self_id;
    q->fd = -1;
}


int cq__spool_empty(const cq__spool *q)
{
    return q->head == NULL && q->nfile == 0;
}


/* Appends a copy of json to the memory part. CQ_OK or CQ_ENOMEM. */
static int mem_push(cq__spool *q, const char *json, size_t len)
{
    cq__held *h = malloc(sizeof(*h) + len);

    if (h == NULL)
        return CQ_ENOMEM;
    h->next = NULL;
    h->len = len;
    memcpy(h->json, json, len);
    if (q->tail != NULL)
        q->tail->next = h;
    else
        q->head = h;
    q->tail = h;
    q->mem_bytes += len;
    q->nmem++;
    return CQ_OK;
}


/* Creates the file, unlinked at once. CQ_OK or CQ_EIO. */
static int file_open(cq__spool *q)
{
    const char *dir = getenv("TMPDIR");
    char path[512];

    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    if (snprintf(path, sizeof(path), "%s/cqhttp-bridge-XXXXXX", dir) >=
        (int)sizeof(path))
        return CQ_EIO;
    q->fd = mkstemp(path);
    if (q->fd < 0) {
        cq_log(CQ_LOG_ERROR,
               "account %" PRId64 ": cannot create a spill file in %s: %s",
               q->self_id, dir, strerror(errno));
        return CQ_EIO;
    }
    unlink(path);
    /* Handlers may start programs: they need not inherit it. */
    (void)fcntl(q->fd, F_SETFD, FD_CLOEXEC);
    cq_log(CQ_LOG_INFO,
           "account %" PRId64 ": held events spill to a file in %s", q->self_id,
           dir);
    return CQ_OK;
}


/* Writes (or reads) all of len bytes at off. CQ_OK or CQ_EIO. */
static int io_at(int fd, void *buf, size_t len, uint64_t off, int write)
{
    char *p = buf;

    while (len > 0) {
        ssize_t n = write ? pwrite(fd, p, len, (off_t)off)
                          : pread(fd, p, len, (off_t)off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return CQ_EIO;
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return CQ_OK;
}


/* Appends a record to the file. CQ_OK, CQ_ETOOBIG or CQ_EIO. */
static int file_push(cq__spool *q, const char *json, size_t len,
                     size_t file_cap)
{
    uint32_t n = (uint32_t)len;

    if (q->wr - q->rd + sizeof(n) + len > file_cap || len > UINT32_MAX)
        return CQ_ETOOBIG;
    if (q->fd < 0 && file_open(q) != CQ_OK)
        return CQ_EIO;
    if (io_at(q->fd, &n, sizeof(n), q->wr, 1) != CQ_OK ||
        io_at(q->fd, (char *)json, len, q->wr + sizeof(n), 1) != CQ_OK) {
        cq_log(CQ_LOG_ERROR,
               "account %" PRId64 ": cannot write the spill file: %s",
               q->self_id, strerror(errno));
        return CQ_EIO;
    }
    q->wr += sizeof(n) + len;
    q->nfile++;
    return CQ_OK;
}


int cq__spool_push(cq__spool *q, const char *json, size_t len, size_t mem_cap,
                   size_t file_cap)
{
    if (q->nfile == 0 && q->mem_bytes + len <= mem_cap)
        return mem_push(q, json, len);
    return file_push(q, json, len, file_cap);
}


/* Forgets what the file holds: counted as lost. */
static void file_drop(cq__spool *q)
{
    q->lost += q->nfile;
    q->nfile = 0;
    q->rd = q->wr = 0;
    if (q->fd >= 0 && ftruncate(q->fd, 0) != 0)
        cq_log(CQ_LOG_WARN,
               "account %" PRId64 ": cannot truncate the spill file",
               q->self_id);
}


/*
 * Moves the file's first record into memory (which is empty). CQ_OK, or
 * CQ_EIO / CQ_ENOMEM after which the file's events are dropped and counted
 * in q->lost.
 */
static int file_pop(cq__spool *q)
{
    uint32_t n;
    cq__held *h;

    if (io_at(q->fd, &n, sizeof(n), q->rd, 0) != CQ_OK ||
        q->rd + sizeof(n) + n > q->wr) {
        cq_log(CQ_LOG_ERROR,
               "account %" PRId64 ": cannot read the spill file; "
               "%zu events lost",
               q->self_id, q->nfile);
        file_drop(q);
        return CQ_EIO;
    }
    h = malloc(sizeof(*h) + n);
    if (h == NULL || io_at(q->fd, h->json, n, q->rd + sizeof(n), 0) != CQ_OK) {
        cq_log(CQ_LOG_ERROR,
               "account %" PRId64 ": cannot read the spill file; "
               "%zu events lost",
               q->self_id, q->nfile);
        free(h);
        file_drop(q);
        return CQ_EIO;
    }
    h->next = NULL;
    h->len = n;
    q->head = q->tail = h;
    q->mem_bytes = n;
    q->nmem = 1;
    q->rd += sizeof(n) + n;
    if (--q->nfile == 0)
        file_drop(q); /* Nothing lost: it is empty; give the space back. */
    return CQ_OK;
}


int cq__spool_drain(cq__spool *q, cq__workers *w)
{
    while (!cq__spool_empty(q)) {
        cq__held *h;

        if (q->head == NULL && file_pop(q) != CQ_OK)
            continue;
        h = q->head;
        if (cq__workers_offer(w, q->self_id, h->json, h->len) != CQ_OK)
            return CQ_EAGAIN;
        q->head = h->next;
        if (q->head == NULL)
            q->tail = NULL;
        q->mem_bytes -= h->len;
        q->nmem--;
        free(h);
    }
    return CQ_OK;
}


size_t cq__spool_clear(cq__spool *q)
{
    size_t n = q->nmem + q->nfile;

    while (q->head != NULL) {
        cq__held *h = q->head;

        q->head = h->next;
        free(h);
    }
    q->tail = NULL;
    q->mem_bytes = 0;
    q->nmem = 0;
    q->nfile = 0;
    q->rd = q->wr = 0;
    if (q->fd >= 0)
        close(q->fd);
    q->fd = -1;
    return n;
}


static void add_spool(cq__queue_totals *t, const cq__spool *q)
{
    t->held_events += q->nmem + q->nfile;
    t->held_memory += q->mem_bytes;
    t->held_file += q->wr - q->rd;
}


void cq__bridge_queue_totals(cq__bridge *br, cq__queue_totals *t)
{
    const cq__spool *q;
    const cq__ws_conn *c;

    memset(t, 0, sizeof(*t));
    for (c = br->conns; c != NULL; c = c->next) {
        add_spool(t, &c->held);
        if (c->ws != NULL)
            t->outgoing += cq__ws_stream_queued(c->ws);
        else
            t->outgoing += evbuffer_get_length(bufferevent_get_output(c->bev));
    }
    for (q = br->orphans; q != NULL; q = q->next)
        add_spool(t, q);
}


/* Offers q's events; CQ_OK when it is empty, else CQ_EAGAIN. */
static int drain(cq__bridge *br, cq__spool *q)
{
    int rc = cq__spool_drain(q, br->workers);

    br->n.events_refused += q->lost;
    q->lost = 0;
    return rc;
}


void cq__conn_resume_paused(cq__bridge *br)
{
    cq__ws_conn *c;

    /* The orphans first: they were read before anything still held. */
    while (br->orphans != NULL) {
        cq__spool *q = br->orphans;

        if (drain(br, q) != CQ_OK)
            return; /* Still full: again when the next one finishes. */
        br->orphans = q->next;
        cq__spool_clear(q);
        free(q);
    }
    for (c = br->conns; c != NULL; c = c->next) {
        if (cq__spool_empty(&c->held))
            continue;
        if (drain(br, &c->held) != CQ_OK)
            return;
        cq__conn_reading_needed(c);
    }
}
