/*
 * direct: a stream's frames written straight to its socket (stream.c).
 *
 * A socket bufferevent writes from the loop: bytes added to its output arm
 * its write event (an epoll_ctl), the next round's epoll_wait says the
 * socket is writable, it writes, and with the output empty disarms the
 * event again (another epoll_ctl). With many connections carrying an event
 * or two each, that is two epoll_ctl calls and a round for every frame. So
 * while the output is empty, the stream's frames go into a buffer of its
 * own, tx, instead; at the end of the loop's round (an event made active,
 * which costs no system call) tx is written to the socket with one writev,
 * every frame of the round together. A busy connection, with several
 * frames in the round, waits one round more, after the next round's I/O
 * callbacks (a timer due now), as the bufferevent's own write would: its
 * next frames join the same write, which keeps one busy connection's
 * writes as few as before. Only
 * what the kernel does not take goes into the output, and the bufferevent
 * writes that as it always did: the write event is armed only when the
 * kernel pushes back. A write that fails leaves all of tx to the output:
 * the bufferevent meets the error itself and reports it as before.
 *
 * Order: bytes leave as the output's, then tx's. A frame goes to tx only
 * while the output is empty, and once tx holds a byte every frame goes to
 * tx until it is written. An owner about to wait for the output to drain
 * (closing) first moves tx into the output (cq__ws_direct_settle()).
 * After tx is written, the bufferevent's write callback runs when the
 * output is at or below its low watermark, as after the bufferevent's own
 * writes, so an owner waiting for a drain hears of it either way.
 *
 * Only for a socket bufferevent whose writing is enabled (a pair has no
 * socket: its frames go to the output, as do those of a bufferevent the
 * owner stopped writing). A filtering bufferevent over a socket (TLS)
 * would be written past: none is used. Loop thread only.
 */
#ifndef CQ_WS_DIRECT_H
#define CQ_WS_DIRECT_H

#include <stddef.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

/* Told after tx was written to the socket, before the write callback. */
typedef void cq__ws_direct_cb(void *arg);

/*
 * A stream's tx, its event and its owner's bufferevent, made when the first
 * frame goes to tx, so that a stream that sends nothing holds a NULL
 * pointer only.
 */
typedef struct cq__ws_direct cq__ws_direct;

/*
 * Where the next frame's bytes go, in order: tx (its write scheduled) or
 * bev's output (tx could not be made, or may not be used now; see above).
 * Makes *d when first needed, told on_written(arg) after each write. Never
 * fails.
 */
struct evbuffer *cq__ws_direct_sink(cq__ws_direct **d, struct bufferevent *bev,
                                    cq__ws_direct_cb *on_written, void *arg);

/* The bytes in tx, not yet written (0 for NULL). */
size_t cq__ws_direct_held(const cq__ws_direct *d);

/* Moves what tx holds to the end of the output. Never fails; NULL no-op. */
void cq__ws_direct_settle(cq__ws_direct *d);

/* Frees *d when tx is empty (an idle stream). Never fails. */
void cq__ws_direct_trim(cq__ws_direct **d);

/* Frees *d, unwritten bytes included. Never fails; *d NULL is a no-op. */
void cq__ws_direct_free(cq__ws_direct **d);

#endif
