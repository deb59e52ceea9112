/*
 * stream: one WebSocket connection's frames (wslay) over a libevent
 * bufferevent, for either end: the bridge's server connections (conn.c) and
 * the simulator's client connections (connect_ws.c). The opening handshake
 * is done before, by the owner, with handshake.h; bytes after the head stay
 * in the bufferevent's input and are read as the first frames.
 *
 * wslay reads from the bufferevent's input and writes into its output,
 * which never blocks. Client frames are masked with random bytes (RFC 6455
 * section 5.3). Every complete text message is handed to the owner's
 * cq__ws_text_cb as a NUL-terminated copy; binary messages are ignored (as
 * go-cqhttp does) and control frames (ping, pong, close) are wslay's. A
 * complete, unfragmented data frame is read by the stream itself, past
 * wslay, when wslay holds no part of another (frames.h); the owner sees
 * no difference.
 *
 * The outgoing queue is the bytes wslay holds plus the output's length, and
 * max_queue, given at creation, bounds all of it: automatic pongs and close
 * frames included (wslay's own records of the messages it holds are not
 * counted: they go to the output at the end of each read, whose input is
 * one bufferevent read at most). cq__ws_stream_queue_text() refuses a message
 * that would take it over; and once the queue is full, no frame is read (each
 * may queue a pong) until the output drains to half of max_queue, the low-water
 * mark (cq__ws_stream_blocked()). So a peer that sends but does not read holds
 * at most max_queue bytes here; the input is not read meanwhile, and the
 * kernel's window stops the peer. What to do with a peer that stays blocked is
 * the owner's.
 *
 * Never send from inside receive: wslay must not be asked to write while
 * wslay_event_recv() runs, and that is exactly when the owner's text
 * callback runs (the bridge answering an event, the simulator answering a
 * call, either closing). So while the stream is inside wslay_event_recv(),
 * cq__ws_stream_flush() only queues: the frames wait in wslay, and
 * cq__ws_stream_pump() writes them as soon as wslay_event_recv() returns,
 * reporting the outcome there. The owner may therefore queue and flush from
 * anywhere, its callback included, and need not know where it is. (A text
 * message queued while wslay holds nothing to send is framed by the stream
 * past wslay, in order all the same.)
 *
 * Writing: while the bufferevent's output is empty, frames go into a buffer
 * of the stream's and are written to the socket at the end of the loop's
 * round, all of the round's in one writev, and only what the kernel does
 * not take goes into the output (ws/direct.h: the write event is armed only
 * then). So the output is not all that is on its way: an owner about to
 * wait for it to drain calls cq__ws_stream_settle() first. Never from
 * inside a call here.
 *
 * Outcomes: cq__ws_stream_pump() and cq__ws_stream_flush() return
 * CQ__WS_OPEN while frames may still flow, CQ__WS_CLOSED once the close
 * handshake is over (either side started it, or wslay closed for a
 * protocol error or a message over max_message, codes 1002 and 1009), or a
 * negative code when wslay gave up (CQ_EPARSE: a frame-level protocol
 * error, answered with a close frame of code 1002 written by the stream);
 * in the last two cases the owner ends the connection once the output is
 * flushed. What goes to the network after
 * that (lingering, timers) is the owner's.
 *
 * Ownership: the owner owns the bufferevent, keeps its callbacks and
 * outlives the stream; the stream owns its wslay context. Loop thread only.
 */
#ifndef CQ_WS_STREAM_H
#define CQ_WS_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <event2/bufferevent.h>

/* Non-negative outcomes (see above). */
#define CQ__WS_OPEN   0
#define CQ__WS_CLOSED 1

typedef struct cq__ws_stream cq__ws_stream;

/*
 * Told about one complete text message: text is a NUL-terminated copy of
 * its len bytes, valid during the call, or NULL when no copy could be made
 * (out of memory; the message is lost). May queue, flush or close the
 * stream; must not free it.
 */
typedef void cq__ws_text_cb(void *arg, const char *text, size_t len);

/*
 * Creates the stream of an opened connection on bev: client selects
 * masking, max_message caps a received message (a larger one closes with
 * 1009), max_queue bounds the outgoing queue. Returns NULL when out of
 * memory.
 */
cq__ws_stream *cq__ws_stream_new(struct bufferevent *bev, int client,
                                 size_t max_message, size_t max_queue,
                                 cq__ws_text_cb *on_text, void *arg);
/* Frees the stream, not the bufferevent. Never fails; NULL is a no-op. */
void cq__ws_stream_free(cq__ws_stream *s);
/*
 * Sends every received frame through wslay, as before the fast path (see
 * frames.h): for tests comparing the two. Never fails.
 */
void cq__ws_stream_no_fast(cq__ws_stream *s);
/*
 * Frees wslay's context (some 9 KiB) when it holds nothing: no part of a
 * frame or of a fragmented message, nothing queued, no close either way. It
 * is made again when a byte comes or something is queued, so an idle
 * connection costs little. The stream is made without one; the owner calls
 * this when the connection has been quiet a while. The fast path's payload
 * buffer goes too. Never fails.
 */
void cq__ws_stream_trim(cq__ws_stream *s);

/*
 * Reads the frames that arrived (unless paused), telling the owner of each
 * text message, then writes what is queued. Call it from the bufferevent's
 * read callback. Inside the text callback it does nothing and returns
 * CQ__WS_OPEN. Returns CQ__WS_OPEN, CQ__WS_CLOSED, or:
 *
 * CQ_ENOMEM   wslay gave up reading (out of memory); what it had queued
 *             was written.
 * CQ_EPARSE   a frame-level protocol error: a close frame with 1002 was
 *             written, and nothing else that was queued.
 * CQ_EIO      writing into the output failed.
 */
int cq__ws_stream_pump(cq__ws_stream *s);

/*
 * Writes what is queued into the output, or, inside the text callback,
 * leaves it for cq__ws_stream_pump() and returns CQ__WS_OPEN. Returns
 * CQ__WS_OPEN, CQ__WS_CLOSED or CQ_EIO (writing failed).
 */
int cq__ws_stream_flush(cq__ws_stream *s);

/*
 * Queues a text message (copied): framed on its way to the socket (see
 * direct.h) when wslay holds nothing to send, else into wslay, written by
 * the next flush; flush next either
 * way. Returns CQ_OK or:
 *
 * CQ_ETOOBIG  it would take the outgoing queue over max_queue.
 * CQ_ENOMEM   out of memory.
 * CQ_EIO      a close was queued already: nothing more may go; or (a
 *             client) no random mask could be had.
 */
int cq__ws_stream_queue_text(cq__ws_stream *s, const char *text, size_t len);

/* Queues a ping without writing it. Returns CQ_OK, CQ_ENOMEM or CQ_EIO. */
int cq__ws_stream_queue_ping(cq__ws_stream *s);

/*
 * Queues a close frame with code and reason (NULL for none) and stops
 * reading, without writing it: flush next. Returns CQ_OK, CQ_ENOMEM or
 * CQ_EIO (a close was queued already).
 */
int cq__ws_stream_queue_close(cq__ws_stream *s, uint16_t code,
                              const char *reason);

/*
 * Stops reading frames (back-pressure): the input is left alone and
 * read events are disabled until cq__ws_stream_resume(), which enables them
 * (unless the outgoing queue still blocks reading) and has the loop read
 * what is waiting (not from inside the call). Read events are disabled
 * lazily: by the first cq__ws_stream_pump() while paused, so the input may
 * take one more bufferevent read (at most its single-read limit, 16 KiB by
 * default) before the kernel's window holds the peer.
 */
void cq__ws_stream_pause(cq__ws_stream *s);
void cq__ws_stream_resume(cq__ws_stream *s);

/*
 * Moves the frames on their way to the socket (written at the end of the
 * loop's round, see above) into the output: for an owner about to wait for
 * the output to drain, or to end the connection once it is empty. The
 * stream does so itself when it ends (a close queued, flush or pump
 * returning other than CQ__WS_OPEN). Never fails; NULL is a no-op.
 */
void cq__ws_stream_settle(cq__ws_stream *s);

/* Queries. */
int cq__ws_stream_paused(const cq__ws_stream *s);
/* Whether reading stopped because the outgoing queue is full. */
int cq__ws_stream_blocked(const cq__ws_stream *s);
/* The outgoing queue as bounded by max_queue (see above). */
size_t cq__ws_stream_queued(const cq__ws_stream *s);
/* Whether a close frame came; if so *code is its status code (1005 none). */
int cq__ws_stream_peer_closed(const cq__ws_stream *s, uint16_t *code);
/* The status code of the close frame sent (1006 when none was). */
uint16_t cq__ws_stream_code_sent(const cq__ws_stream *s);

#endif
