/*
 * connect: "cqhttp-sim connect", the reverse-WebSocket client of a OneBot
 * implementation (PROTOCOL.md section 5) pointed at cqhttp-bridge.
 *
 * Its files, one job each:
 *
 * connect.c       the run: the loop, the connections' comings and goings,
 *                 the heartbeat timer, --once, the stop and the signals.
 * connect_args.c  the options, the usage text, the URL and its address.
 * connect_feed.c  the events: the ones given (--private, --group,
 * --event-file), stdin's lines, paced by the event connection's output, and the
 * lifecycle and heartbeat events, all built by post_event.c's event builder.
 * connect_ws.c    one connection (a cq__sim_wsc): the dial, the opening
 *                 handshake (ws/handshake.h), a ws/stream.h stream on a
 *                 bufferevent, the close, the redial.
 * connect_listen.c --forward: the forward-WebSocket server mode, where the
 *                 bridge dials the simulator; the listener and the server
 *                 half of the opening handshake.
 * connect_call.c  one API call frame: read into the call core (call.c),
 *                 which answers as "serve" does; the answer frame, the
 *                 slow fault's hold, the close and partial faults' drop.
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

#include "sim/call.h"
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
typedef struct cq__sim_feed cq__sim_feed;

enum cq__sim_wsc_state {
    CQ__SIM_WSC_IDLE,       /* Not connected; a redial may be due. */
    CQ__SIM_WSC_ACCEPTING,  /* --forward: waiting for the upgrade request. */
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
    const char *listen;              /* --forward HOST:PORT, or NULL. */
    struct evconnlistener *listener; /* With --forward, while running. */
    cq__sim_core core;               /* Faults, the account, the call log. */
    /* Connections: conns[0] is Universal, or API and conns[1] Event. */
    cq__sim_wsc conns[2];
    size_t nconns;
    cq__sim_wsc *events; /* The connection that carries events. */
    /* Options. */
    long reconnect_ms; /* 0: a lost connection ends the run. */
    long heartbeat_ms; /* 0: no heartbeat. */
    long quiet_ms;
    int once;
    /* The event feed (connect_feed.c). */
    cq__sim_feed *feed;
    int fed_all;         /* Every given event has been sent. */
    uint64_t events_out; /* Events sent, lifecycle and heartbeats aside. */
    /* Timers and signals. */
    struct event *quiet, *heartbeat, *sigterm, *sigint, *deadline;
    int stopping;
    int exit_code; /* The run's exit status. */
};

/*
 * connect_ws.c. cq__sim_wsc_init() prepares c for role (not connected);
 * cq__sim_wsc_dial() starts a connection (IDLE only). Returns CQ_OK or
 * CQ_ENOMEM.
 */
int cq__sim_wsc_init(cq__sim_wsc *c, cq__sim_client *cl, const char *role,
                     const char *target);
void cq__sim_wsc_dial(cq__sim_wsc *c);
/*
 * Takes the accepted socket fd (IDLE only; --forward): the upgrade request
 * is read next. Never fails: out of memory, fd is closed and c stays IDLE.
 */
void cq__sim_wsc_accept(cq__sim_wsc *c, evutil_socket_t fd);
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
/* Starts --once's quiet period again: a call came, or the feed ended. */
void cq__sim_client_rearm(cq__sim_client *cl);
/* Whether every connection is open and none is being dropped. */
int cq__sim_client_ready(const cq__sim_client *cl);
/*
 * Closes every connection (code 1000), then the loop ends; code is the
 * run's exit status. Does nothing when already stopping.
 */
void cq__sim_client_stop(cq__sim_client *cl, int code);

/*
 * connect_args.c. Prints the usage text. cq__sim_connect_args() reads the
 * subcommand's arguments (args[0..n)) into cl, cl->feed, cl->core's faults
 * and *url, *log_path and *split. Returns CQ_OK, or CQ_EINVAL after saying
 * why (bad usage).
 */
void cq__sim_connect_usage(FILE *f);
int cq__sim_connect_args(cq__sim_client *cl, char **args, int n,
                         const char **url, const char **log_path, int *split);
/*
 * Splits a ws:// URL into cl's host and Host header and the base target
 * (path and query) in base, and resolves the host once. Returns CQ_OK,
 * CQ_EINVAL (bad usage, said) or CQ_ENETWORK (the host does not resolve,
 * said).
 */
int cq__sim_connect_url(cq__sim_client *cl, const char *url, char *base,
                        size_t baselen);
/* target = base's path + sub + base's query. */
void cq__sim_connect_target(const char *base, const char *sub, char *out,
                            size_t len);

/*
 * connect_listen.c. cq__sim_listen_start() listens on cl->addr for the
 * bridge; each connection goes to conns[0] while it is IDLE, and is
 * refused otherwise. Returns CQ_OK or CQ_EIO (cannot listen, said).
 */
int cq__sim_listen_start(cq__sim_client *cl);
/*
 * Reads the upgrade request in c's input and answers it: 101 after
 * checking the access token (in cl->auth from then on, for the call log).
 * Returns CQ_OK (open), CQ_EAGAIN (incomplete: call again), or CQ_EPARSE
 * (refused: the refusal is in the output, said).
 */
int cq__sim_listen_handshake(cq__sim_wsc *c);

/*
 * connect_feed.c. A feed holds up to max_items given events, so that
 * adding one cannot fail: give it one per argument. NULL when out of
 * memory. cq__sim_feed_free() never fails and accepts NULL.
 */
cq__sim_feed *cq__sim_feed_new(size_t max_items);
void cq__sim_feed_free(cq__sim_feed *fd);
/* Adds an --event-file (path is kept, not copied). */
void cq__sim_feed_add_file(cq__sim_feed *fd, const char *path);
/*
 * Adds a --private event, or a --group one when group_id is not 0 (text is
 * kept, not copied).
 */
void cq__sim_feed_add_message(cq__sim_feed *fd, int64_t group_id,
                              int64_t user_id, const char *text);
/* Asks for stdin's lines after the given events. */
void cq__sim_feed_use_stdin(cq__sim_feed *fd);
/* Sets stdin up on cl->base when it is used. CQ_OK or CQ_ENOMEM. */
int cq__sim_feed_start(cq__sim_client *cl);
/* Stops reading stdin: the run is stopping. */
void cq__sim_feed_stop(cq__sim_feed *fd);
/*
 * Sends events on cl->events while every connection is open and the event
 * connection's output takes them; ends the run (exit 1) when an event
 * cannot be read or built.
 */
void cq__sim_feed_pump(cq__sim_client *cl);
/*
 * Sends the meta event of kind (CQ__SIM_EV_LIFECYCLE or
 * CQ__SIM_EV_HEARTBEAT) on c. Returns CQ_OK, CQ_ENOMEM, or what
 * cq__sim_wsc_send() returns.
 */
int cq__sim_feed_meta(cq__sim_client *cl, cq__sim_wsc *c,
                      enum cq__sim_event_kind kind);

/*
 * connect_call.c. Answers the API call in a text message (msg, len bytes,
 * NUL-terminated) received on c, or holds the answer (fault slow), and logs
 * it. Never fails: a frame that is not a call gets retcode 1400.
 */
void cq__sim_wcall_handle(cq__sim_wsc *c, const char *msg, size_t len);
/* Logs and frees the answers c holds: its connection is going. */
void cq__sim_wcall_abandon_all(cq__sim_wsc *c);

#endif
