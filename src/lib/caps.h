/*
 * caps: the named bounds that more than one module uses, in one place, so
 * that a cap is raised or lowered once and no module spells its own.
 * Bounds that belong to one setting (max_body, ws_max_queue, ...) live in
 * conf.h with their defaults; bounds of the public interface (message caps,
 * CQ_JSON_MAX_DEPTH) live in cqhttp.h.
 */
#ifndef CQ_CAPS_H
#define CQ_CAPS_H

/*
 * The largest API answer read from any transport (an HTTP body, a line from
 * the bridge's API socket, a simulator answer): a OneBot answer carries at
 * most a message list or a member list, far below this.
 */
#define CQ__CAP_ANSWER (16u << 20)

/*
 * The nesting allowed in API answers and in API requests parsed here (the
 * bridge's request lines, params given as text). Events use the max_depth
 * setting, CQ_JSON_MAX_DEPTH by default.
 */
#define CQ__CAP_ANSWER_DEPTH 64

/*
 * The largest API request built here (a request line or frame around a
 * params object that the caller built): twice the largest message, so that
 * any message within its own cap fits with its envelope.
 */
#define CQ__CAP_REQUEST (2u * CQ_MSG_MAX_BYTES)

#endif
