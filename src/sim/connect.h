/*
 * connect: "cqhttp-sim connect", the reverse-WebSocket client of a OneBot
 * implementation (PROTOCOL.md section 5) pointed at cqhttp-bridge.
 *
 * connect.c owns the client: options, the loop, the signals, the feed of
 * events (given on the command line or read from stdin), the heartbeat and
 * the end of the run (--once, a signal, a lost connection). connect_ws.c
 * owns one connection (a cq__sim_wsc): the dial, the opening handshake
 * (ws/handshake.h), a ws/stream.h stream on a bufferevent, the close and
 * the redial.
 * connect_call.c answers one API call frame with the data table and faults
 * of "serve" (serve_data.c, serve_check.c) and writes its log line.
 *
 * A client has one Universal connection, or with --split an API and an
 * Event connection; they live in the client, which outlives them. Each
 * connection owns its socket, its stream and the answers a slow
 * fault holds back.
 *
 * Everything runs on the loop thread; nothing is thread-safe.
 */
#ifndef CQ_SIM_CONNECT_H
#define CQ_SIM_CONNECT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sys/socket.h>

#include <event2/event.h>

#include "sim/serve.h"
#include "sim/sim.h"
#include "ws/stream.h"

#define CQ__SIM_WS_MAX_HEAD   8192 /* The handshake answer's head cap. */
#define CQ__SIM_WS_MAX_TARGET 1024 /* The longest request target. */
#define CQ__SIM_WS_MAX_HOST   256
/* Answers held back by fault slow per connection; more are sent at once. */
#define CQ__SIM_MAX_HELD 10000
/* Events are fed while less than this waits in the event connection's
 * output; the write callback asks for more below it. */
#define CQ__SIM_FEED_LOW 65536

typedef struct cq__sim_client cq__sim_client;
typedef struct cq__sim_wsc cq__sim_wsc;
typedef struct cq__sim_wcall cq__sim_wcall;

enum cq__sim_wsc_state {
    CQ__SIM_WSC_IDLE,       /* Not connected; a redial may be due. */
    CQ__SIM_WSC_CONNECTING, /* TCP connect in progress. */
    CQ__SIM_WSC_HANDSHAKE,  /* Request sent, waiting for the 101. */
    CQ__SIM_WSC_REFUSED,    /* Not 101: reading the body's first line. */
    CQ__SIM_WSC_OPEN,       /* WebSocket frames flow. */
    CQ__SIM_WSC_CLOSING,    /* Close sent, waiting for the peer's. */
    CQ__SIM_WSC_DONE        /* Closed for good (stopping). */
};

/* One connection to the bridge. */
struct cq__sim_wsc {
    cq__sim_client *cl;
    const char *role;                   /* "Universal", "API", "Event". */
    int carries_events;                 /* Universal or Event. */
    char target[CQ__SIM_WS_MAX_TARGET]; /* Path and query to GET. */
    enum cq__sim_wsc_state state;
    struct bufferevent *bev; /* NULL while IDLE or DONE. */
    cq__ws_stream *ws;       /* NULL unless OPEN or CLOSING. */
    struct event *timer;     /* Deadlines and the redial. */
    char accept[29];         /* Sec-WebSocket-Accept expected. */
    int refused_status;      /* The status of a refusal. */
    char refused_reason[64]; /* Its reason phrase. */
    size_t refused_body;     /* Its body bytes to wait for. */
    int dropping;            /* Flushing, then the end. */
    int drop_deadline;       /* The flush's time is running. */
    uint64_t calls;          /* Calls answered on it. */
    cq__sim_wcall *held;     /* Answers a slow fault holds. */
    size_t nheld;
};

/* The settings of a run, and its state. */
struct cq__sim_client {
    struct event_base *base;
    const cq__conf *conf;
    /* The URL, split up. */
    char host[CQ__SIM_WS_MAX_HOST]; /* Without brackets, for connect. */
    char host_header[CQ__SIM_WS_MAX_HOST + 8];
    struct sockaddr_storage addr; /* The host and port, resolved once. */
    socklen_t addrlen;
    char auth[512]; /* "Token <t>", or "" without a token. */
    int64_t self_id;
    /* The call log. */
    FILE *log;
    int log_owned;
    uint64_t seq;
    /* Answers. */
    cq__sim_fault faults[CQ__SIM_MAX_FAULTS];
    size_t nfaults;
    cq__sim_world world;
    /* Connections: conns[0] is Universal, or API and conns[1] Event. */
    cq__sim_wsc conns[2];
    size_t nconns;
    cq__sim_wsc *events; /* The connection that carries events. */
    /* Options. */
    long reconnect_ms; /* 0: a lost connection ends the run. */
    long heartbeat_ms; /* 0: no heartbeat. */
    long quiet_ms;
    int once;
    /* The event feed (connect.c). */
    struct connect_feed *feed;
    int fed_all;         /* Every given event has been sent. */
    uint64_t events_out; /* Events sent, lifecycle and heartbeats aside. */
    /* Timers and signals. */
    struct event *quiet, *heartbeat, *sigterm, *sigint, *deadline;
    int stopping;
    int exit_code;
};

/*
 * connect_ws.c. cq__sim_wsc_init() prepares c for role (not connected);
 * cq__sim_wsc_dial() starts a connection (IDLE only). Returns CQ_OK or
 * CQ_ENOMEM.
 */
int cq__sim_wsc_init(cq__sim_wsc *c, cq__sim_client *cl, const char *role,
                     const char *target);
void cq__sim_wsc_dial(cq__sim_wsc *c);
/* Dials again after ms (IDLE only: after cq__sim_client_lost()). */
void cq__sim_wsc_redial(cq__sim_wsc *c, long ms);
/* Frees the socket, the context, the timer and held answers. Never fails. */
void cq__sim_wsc_free(cq__sim_wsc *c);
/*
 * Queues a text message and writes it. Returns CQ_OK, CQ_EIO (not open) or
 * CQ_ETOOBIG (more than ws_max_queue bytes wait to go out: the bridge does
 * not read; the connection is dropped).
 */
int cq__sim_wsc_send(cq__sim_wsc *c, const char *text, size_t len);
/* Bytes written to the connection that the kernel has not taken yet. */
size_t cq__sim_wsc_queued(const cq__sim_wsc *c);
/* Starts a clean close (1000) of an open connection, or ends any other. */
void cq__sim_wsc_close(cq__sim_wsc *c);
/*
 * Drops the connection at once, without a close frame (fault "close"):
 * from the loop, not from inside wslay's callbacks.
 */
void cq__sim_wsc_drop(cq__sim_wsc *c, const char *why);

/*
 * connect.c, told by connect_ws.c: c opened (the lifecycle event is sent
 * by the caller), c's output drained below the feed's mark, c is gone for
 * good or until its redial (why says why, for the log).
 */
void cq__sim_client_opened(cq__sim_client *cl, cq__sim_wsc *c);
void cq__sim_client_drained(cq__sim_client *cl, cq__sim_wsc *c);
void cq__sim_client_lost(cq__sim_client *cl, cq__sim_wsc *c);
/* Told by connect_call.c after each call frame. */
void cq__sim_client_called(cq__sim_client *cl);

/*
 * connect_call.c. Answers the API call in a text message (msg, len bytes,
 * NUL-terminated) received on c, or holds the answer (fault slow), and logs
 * it. Never fails: a frame that is not a call gets retcode 1400.
 */
void cq__sim_wcall_handle(cq__sim_wsc *c, const char *msg, size_t len);
/* Logs and frees the answers c holds: its connection is going. */
void cq__sim_wcall_abandon_all(cq__sim_wsc *c);
/*
 * Parses a --fault for connect: serve's kinds except http:STATUS, which
 * has no meaning over WebSocket. Returns CQ_OK or CQ_EINVAL with a sentence
 * in err.
 */
int cq__sim_wfault_parse(const char *spec, cq__sim_fault *out, char *err,
                         size_t errlen);

#endif
