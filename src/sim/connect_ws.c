/*
 * connect_ws: one WebSocket connection of "cqhttp-sim connect", the client
 * side of RFC 6455: the TCP connect, the opening handshake (a random key,
 * the 101 and its Sec-WebSocket-Accept checked by ws/handshake.h), then a
 * ws/stream.h stream on the bufferevent, as the bridge's conn.c has on the
 * server side.
 *
 * The stream's outgoing queue is bounded by ws_max_queue. Bytes after the
 * handshake answer's head stay in the input: they are the first frames.
 * Ending a connection always flushes the output first (a close frame or a
 * fault's partial answer may sit there), then frees everything and tells
 * the client, which redials or stops.
 */
#include "config.h"

#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "cqhttp.h"
#include "sim/connect.h"
#include "ws/handshake.h"
#include "ws/stream.h"

/* How long a flush before the end, or the peer's close answer, may take. */
#define CLOSE_WAIT_MS 2000
/* A refusal's body is read up to this many bytes for its first line. */
#define REFUSED_BODY_MAX 1024

static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

static void set_timer(cq__sim_wsc *c, long ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    evtimer_add(c->timer, &tv);
}

/* Frees the held answers, the stream and the socket. */
static void release(cq__sim_wsc *c)
{
    cq__sim_wcall_abandon_all(c);
    cq__ws_stream_free(c->ws);
    c->ws = NULL;
    if (c->bev != NULL)
        bufferevent_free(c->bev);
    c->bev = NULL;
}

/* Frees what the connection holds and tells the client. */
static void conn_end(cq__sim_wsc *c)
{
    release(c);
    evtimer_del(c->timer);
    c->state = CQ__SIM_WSC_IDLE;
    c->dropping = 0;
    cq__sim_client_lost(c->cl, c);
}

/*
 * Ends the connection once its output is flushed (or after CLOSE_WAIT_MS),
 * reading nothing more. Safe inside the stream's text callback: the end runs
 * from the loop.
 */
static void finish(cq__sim_wsc *c)
{
    if (c->dropping)
        return;
    c->dropping = 1;
    bufferevent_disable(c->bev, EV_READ);
    cq__ws_stream_settle(c->ws); /* Frames on their way join the output. */
    bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    c->drop_deadline = 0;
    set_timer(c, 0);
}

/* The end of a connection that did not come from a clean close. */
static void fail(cq__sim_wsc *c, cq_log_level level, const char *why)
{
    cq_log(level, "%s connection: %s", c->role, why);
    if (c->state == CQ__SIM_WSC_OPEN || c->state == CQ__SIM_WSC_CLOSING)
        finish(c);
    else
        conn_end(c);
}

void cq__sim_wsc_drop(cq__sim_wsc *c, const char *why)
{
    if (c->bev == NULL || c->dropping)
        return;
    cq_log(CQ_LOG_INFO, "%s connection: dropped (%s)", c->role, why);
    finish(c);
}

/* The stream's text callback: a call, unless the connection is going. */
static void on_message(void *arg, const char *text, size_t len)
{
    cq__sim_wsc *c = arg;

    if (c->dropping)
        return;
    if (text == NULL) {
        cq_log(CQ_LOG_ERROR, "%s connection: out of memory: a call is lost",
               c->role);
        return;
    }
    cq__sim_wcall_handle(c, text, len);
}

/* Ends the connection when the stream says it is over. */
static void end_if_over(cq__sim_wsc *c, int outcome)
{
    char why[96];
    uint16_t code;

    /* Dropping (a fault): what was queued is out; the end is on its way. */
    if (outcome == CQ__WS_OPEN || c->dropping)
        return;
    if (outcome < 0) {
        fail(c, CQ_LOG_ERROR,
             outcome == CQ_ENOMEM ? "cannot read: closing"
                                  : "cannot write: closing");
        return;
    }
    if (c->state == CQ__SIM_WSC_CLOSING) {
        cq_log(CQ_LOG_DEBUG, "%s connection: closed", c->role);
        finish(c);
        return;
    }
    if (cq__ws_stream_peer_closed(c->ws, &code))
        snprintf(why, sizeof(why), "the bridge closed the connection (code %u)",
                 code);
    else
        snprintf(why, sizeof(why), "closed by us with code %u",
                 cq__ws_stream_code_sent(c->ws));
    fail(c, CQ_LOG_WARN, why);
}

int cq__sim_wsc_send(cq__sim_wsc *c, const char *text, size_t len)
{
    int rc;

    if (c->state != CQ__SIM_WSC_OPEN || c->ws == NULL || c->dropping)
        return CQ_EIO;
    rc = cq__ws_stream_queue_text(c->ws, text, len);
    if (rc == CQ_ETOOBIG) {
        cq_log(CQ_LOG_ERROR,
               "%s connection: %zu bytes wait to go out (ws_max_queue "
               "%ld): the bridge does not read",
               c->role, cq__ws_stream_queued(c->ws), c->cl->conf->ws_max_queue);
        finish(c);
        return CQ_ETOOBIG;
    }
    if (rc != CQ_OK)
        return rc;
    /* Inside the text callback (an answer), the stream writes it after. */
    end_if_over(c, cq__ws_stream_flush(c->ws));
    return CQ_OK;
}

size_t cq__sim_wsc_queued(const cq__sim_wsc *c)
{
    if (c->bev == NULL)
        return 0;
    if (c->ws != NULL) /* The output and the frames on their way to it. */
        return cq__ws_stream_queued(c->ws);
    return evbuffer_get_length(bufferevent_get_output(c->bev));
}

/* Writes the upgrade request with a new random key. */
static int send_request(cq__sim_wsc *c)
{
    cq__sim_client *cl = c->cl;
    char extra[1024], req[CQ__SIM_WS_MAX_HEAD];
    int n;

    snprintf(extra, sizeof(extra),
             "X-Self-ID: %" PRId64 "\r\n"
             "X-Client-Role: %s\r\n"
             "%s%s%s"
             "User-Agent: CQHttp/4.15.0\r\n",
             cl->self_id, c->role, cl->auth[0] ? "Authorization: " : "",
             cl->auth, cl->auth[0] ? "\r\n" : "");
    n = cq__ws_client_request(req, sizeof(req), c->target, cl->host_header,
                              extra, c->accept);
    if (n < 0)
        return n;
    return bufferevent_write(c->bev, req, (size_t)n) == 0 ? CQ_OK : CQ_ENOMEM;
}


/* Prints the refusal with the first line of what arrived of its body. */
static void report_refusal(cq__sim_wsc *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t len = evbuffer_get_length(in), i;
    char line[201] = "";
    char msg[512];

    if (len > sizeof(line) - 1)
        len = sizeof(line) - 1;
    evbuffer_copyout(in, line, len);
    line[len] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    for (i = 0; line[i] != '\0'; i++)
        if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] == 0x7f)
            line[i] = '?';
    snprintf(msg, sizeof(msg), "handshake refused: HTTP %d %s%s%s",
             c->refused_status, c->refused_reason, line[0] ? ": " : "", line);
    fail(c, CQ_LOG_ERROR, msg);
}

static void on_refused_bytes(cq__sim_wsc *c)
{
    if (evbuffer_get_length(bufferevent_get_input(c->bev)) >= c->refused_body)
        report_refusal(c);
}

/* Lets the stream read what arrived, then write what is queued. */
static void pump(cq__sim_wsc *c)
{
    if (c->ws != NULL && !c->dropping)
        end_if_over(c, cq__ws_stream_pump(c->ws));
}

/* The connection is a WebSocket now: the stream takes it over. */
static void open_ws(cq__sim_wsc *c)
{
    /* Masked unless we are the server (--listen). */
    c->ws = cq__ws_stream_new(c->bev, c->cl->listener == NULL,
                              (size_t)c->cl->conf->ws_max_message,
                              (size_t)c->cl->conf->ws_max_queue, on_message, c);
    if (c->ws == NULL) {
        fail(c, CQ_LOG_ERROR, "out of memory");
        return;
    }
    c->state = CQ__SIM_WSC_OPEN;
    evtimer_del(c->timer);
    cq_log(CQ_LOG_INFO, "%s connection: open (%s%s)", c->role,
           c->cl->host_header, c->target);
    cq__sim_client_opened(c->cl, c);
    if (c->state == CQ__SIM_WSC_OPEN)
        pump(c); /* Frames that came right behind the 101. */
}

static void on_handshake_bytes(cq__sim_wsc *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer_ptr end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
    size_t len = evbuffer_get_length(in), head_len;
    char head[CQ__SIM_WS_MAX_HEAD + 1];
    cq__ws_response h;
    const char *why;

    if (end.pos < 0 && len < CQ__SIM_WS_MAX_HEAD)
        return;
    head_len = end.pos < 0 ? len : (size_t)end.pos + 4;
    if (end.pos < 0 || head_len > CQ__SIM_WS_MAX_HEAD) {
        fail(c, CQ_LOG_ERROR, "the handshake answer's head is over 8192 bytes");
        return;
    }
    evbuffer_remove(in, head, head_len);
    head[head_len] = '\0';
    if (cq__ws_parse_response(head, &h) != CQ_OK) {
        fail(c, CQ_LOG_ERROR, "the handshake answer is not HTTP/1.x");
        return;
    }
    if (h.status != 101) {
        c->state = CQ__SIM_WSC_REFUSED;
        c->refused_status = h.status;
        snprintf(c->refused_reason, sizeof(c->refused_reason), "%s", h.reason);
        c->refused_body =
            h.content_length >= 0 && h.content_length < REFUSED_BODY_MAX
                ? (size_t)h.content_length
                : REFUSED_BODY_MAX;
        on_refused_bytes(c);
        return;
    }
    if (cq__ws_check_response(&h, c->accept, &why) != CQ_OK) {
        fail(c, CQ_LOG_ERROR, why);
        return;
    }
    open_ws(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    cq__sim_wsc *c = arg;
    int rc;

    (void)bev;
    switch (c->state) {
    case CQ__SIM_WSC_HANDSHAKE:
        on_handshake_bytes(c);
        break;
    case CQ__SIM_WSC_ACCEPTING:
        rc = cq__sim_listen_handshake(c);
        if (rc == CQ_OK)
            open_ws(c);
        else if (rc != CQ_EAGAIN)
            finish(c);
        break;
    case CQ__SIM_WSC_REFUSED:
        on_refused_bytes(c);
        break;
    case CQ__SIM_WSC_OPEN:
    case CQ__SIM_WSC_CLOSING:
        pump(c);
        break;
    default:
        break;
    }
}

static void on_write(struct bufferevent *bev, void *arg)
{
    cq__sim_wsc *c = arg;

    (void)bev;
    if (c->dropping) {
        if (cq__sim_wsc_queued(c) == 0)
            conn_end(c);
        return;
    }
    if (c->state == CQ__SIM_WSC_OPEN)
        cq__sim_client_drained(c->cl, c);
}

/* As Go's net package does: answers leave at once. */
static void on_connected_socket(cq__sim_wsc *c)
{
    int one = 1;

    setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY, &one,
               sizeof(one));
}


static void on_connected(cq__sim_wsc *c)
{
    on_connected_socket(c);
    if (send_request(c) != CQ_OK) {
        fail(c, CQ_LOG_ERROR, "cannot write the upgrade request");
        return;
    }
    c->state = CQ__SIM_WSC_HANDSHAKE;
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    cq__sim_wsc *c = arg;
    char why[CQ__SIM_WS_MAX_HOST + 160];
    int err = EVUTIL_SOCKET_ERROR();

    (void)bev;
    if (what & BEV_EVENT_CONNECTED) {
        on_connected(c);
        return;
    }
    if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
        return;
    if (c->dropping) {
        conn_end(c);
        return;
    }
    switch (c->state) {
    case CQ__SIM_WSC_CONNECTING:
        snprintf(why, sizeof(why), "cannot connect to %s: %s",
                 c->cl->host_header, evutil_socket_error_to_string(err));
        fail(c, CQ_LOG_ERROR, why);
        break;
    case CQ__SIM_WSC_HANDSHAKE:
    case CQ__SIM_WSC_ACCEPTING:
        fail(c, CQ_LOG_ERROR, "the connection ended during the handshake");
        break;
    case CQ__SIM_WSC_REFUSED:
        report_refusal(c);
        break;
    case CQ__SIM_WSC_CLOSING:
        conn_end(c);
        break;
    default:
        snprintf(why, sizeof(why), "the connection %s without a close frame",
                 (what & BEV_EVENT_EOF) ? "ended" : "failed");
        cq_log(CQ_LOG_WARN, "%s connection: %s", c->role, why);
        conn_end(c);
        break;
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    cq__sim_wsc *c = arg;

    (void)fd;
    (void)what;
    if (c->dropping) {
        /* Flushed, or flushed as far as it will be. */
        if (cq__sim_wsc_queued(c) == 0 || c->drop_deadline) {
            conn_end(c);
            return;
        }
        c->drop_deadline = 1;
        set_timer(c, CLOSE_WAIT_MS);
        return;
    }
    switch (c->state) {
    case CQ__SIM_WSC_IDLE:
        cq__sim_wsc_dial(c);
        break;
    case CQ__SIM_WSC_CONNECTING:
    case CQ__SIM_WSC_HANDSHAKE:
    case CQ__SIM_WSC_ACCEPTING:
        fail(c, CQ_LOG_ERROR, "no handshake in time");
        break;
    case CQ__SIM_WSC_REFUSED:
        report_refusal(c);
        break;
    case CQ__SIM_WSC_CLOSING:
        fail(c, CQ_LOG_WARN, "no close answer in time");
        break;
    default:
        break;
    }
}

int cq__sim_wsc_init(cq__sim_wsc *c, cq__sim_client *cl, const char *role,
                     const char *target)
{
    memset(c, 0, sizeof(*c));
    c->cl = cl;
    c->role = role;
    c->carries_events = strcmp(role, "API") != 0;
    snprintf(c->target, sizeof(c->target), "%s", target);
    c->timer = evtimer_new(cl->base, on_timer, c);
    return c->timer != NULL ? CQ_OK : CQ_ENOMEM;
}

void cq__sim_wsc_dial(cq__sim_wsc *c)
{
    cq__sim_client *cl = c->cl;

    if (c->state != CQ__SIM_WSC_IDLE)
        return;
    c->bev = bufferevent_socket_new(cl->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        fail(c, CQ_LOG_ERROR, "out of memory");
        return;
    }
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_setwatermark(c->bev, EV_WRITE, CQ__SIM_FEED_LOW, 0);
    c->state = CQ__SIM_WSC_CONNECTING;
    set_timer(c, cl->conf->handshake_timeout_ms);
    /* A refused connect is reported later, from the loop. */
    if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&cl->addr,
                                   (int)cl->addrlen) != 0) {
        fail(c, CQ_LOG_ERROR, "cannot create a socket");
        return;
    }
    bufferevent_enable(c->bev, EV_READ);
}

void cq__sim_wsc_accept(cq__sim_wsc *c, evutil_socket_t fd)
{
    if (c->state != CQ__SIM_WSC_IDLE) {
        evutil_closesocket(fd);
        return;
    }
    c->bev = bufferevent_socket_new(c->cl->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        evutil_closesocket(fd);
        cq_log(CQ_LOG_ERROR, "%s connection: out of memory", c->role);
        return;
    }
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    bufferevent_setwatermark(c->bev, EV_WRITE, CQ__SIM_FEED_LOW, 0);
    c->state = CQ__SIM_WSC_ACCEPTING;
    set_timer(c, c->cl->conf->handshake_timeout_ms);
    on_connected_socket(c);
    bufferevent_enable(c->bev, EV_READ);
}


void cq__sim_wsc_redial(cq__sim_wsc *c, long ms)
{
    c->state = CQ__SIM_WSC_IDLE;
    set_timer(c, ms);
}

void cq__sim_wsc_close(cq__sim_wsc *c)
{
    switch (c->state) {
    case CQ__SIM_WSC_OPEN:
        if (c->dropping)
            return;
        c->state = CQ__SIM_WSC_CLOSING;
        cq__ws_stream_queue_close(c->ws, 1000, NULL);
        set_timer(c, CLOSE_WAIT_MS);
        end_if_over(c, cq__ws_stream_flush(c->ws));
        break;
    case CQ__SIM_WSC_CLOSING:
    case CQ__SIM_WSC_DONE:
        break;
    case CQ__SIM_WSC_IDLE:
        evtimer_del(c->timer);
        cq__sim_client_lost(c->cl, c);
        break;
    default:
        conn_end(c);
        break;
    }
}

void cq__sim_wsc_free(cq__sim_wsc *c)
{
    release(c);
    if (c->timer != NULL)
        event_free(c->timer);
    c->timer = NULL;
}
