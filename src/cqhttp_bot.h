/*
 * cqhttp_bot.h: commands, the bot's own settings and state, startup and
 * shutdown hooks, periodic jobs and before_sending hooks; part of the public
 * interface of libcqhttp. It is included
 * by cqhttp.h, which is the header to include.
 */
#ifndef CQHTTP_BOT_H
#define CQHTTP_BOT_H

#include <stddef.h>

#ifndef CQHTTP_H
#error "include <cqhttp.h>, which includes this header"
#endif

/*
 * Commands. CQ_ON_COMMAND(fn, "weather", "天气") runs fn for a message event
 * (private or group) whose text is a command: one of the command_prefix
 * setting's prefixes (default "/"; a comma-separated list, "/,!"), then the
 * command word, then the end or white space ("/weather 北京"). Before the
 * prefix, a leading reply segment, at segments addressed to the bot (qq is
 * the event's self_id) and white space are skipped; an at to anyone else
 * means the message is not a command. Words match exactly, case included,
 * and are given without the prefix. CQ_ON_COMMAND(fn) with no names is the
 * fallthrough: it runs for a command no named handler took ("/foo").
 *
 * Order: for a message event that is a command, the handlers of its word run
 * first (by source file and line), or else the fallthrough handlers; then
 * the message handlers run as for any message. A command handler that sets
 * the quick operation therefore owns it, and an echo handler registered with
 * CQ_ON_MESSAGE still sees the command message: it can skip commands by
 * checking cq_command_name(c) != NULL.
 *
 * Command handlers are registered under the prefix "command" (the full name
 * "command.weather"; "command" alone is the fallthrough), which is no
 * OneBot post type: no event reaches them by name.
 */
#define CQ_ON_COMMAND(...) CQ__REGISTER("command", __VA_ARGS__, NULL)

/*
 * The command of c's event, parsed on first use, in any handler of a message
 * event: its word without the prefix ("weather"), its argument (the text
 * after the word, trimmed of white space; "" when none) and the argument
 * split on white space (ASCII or U+3000). Each is NULL (argc 0) when the
 * event is not a message or not a command, and for a NULL c or i past
 * argc. The strings are owned by c and live until its handlers are done.
 */
CQ_EXTERN const char *cq_command_name(const cq_ctx *c);
CQ_EXTERN const char *cq_command_arg(const cq_ctx *c);
CQ_EXTERN size_t cq_command_argc(const cq_ctx *c);
CQ_EXTERN const char *cq_command_argv(const cq_ctx *c, size_t i);

/*
 * Settings of the bot's own: "bot.<name> = value" lines of the --config
 * file, and CQHTTP_BOT_<NAME> variables of the environment (or of the
 * config file's CQHTTP_KEY=value lines), whose name is lowercased
 * (CQHTTP_BOT_CITY is "city"). The environment wins over the file. There are
 * no flags for them. cq_setting("city") and cq_setting("bot.city") read the
 * same value; names are case-sensitive. NULL when absent or before the
 * settings are loaded (they are when startup hooks run). The string lives
 * until the program stops; safe from any thread.
 */
CQ_EXTERN const char *cq_setting(const char *name);

/*
 * A pointer for the bot's own state, process-wide: set it in a startup hook,
 * before any handler runs, and read it from any handler. Setting and reading
 * it are atomic; what it points to is shared by every worker thread, so the
 * bot guards any part handlers change. NULL until set.
 */
CQ_EXTERN void cq_set_userdata(void *p);
CQ_EXTERN void *cq_userdata(void);

/*
 * Startup and shutdown hooks. Startup hooks run once the settings are loaded
 * (cq_setting() works) and the registrations checked, before the program
 * serves any event; a hook returning a negative value stops the program:
 * one log line names it, later hooks do not run, no shutdown hook runs and
 * the program exits 1. Shutdown hooks run after the last event was handled
 * (cqhttp-fcgi skips them when a worker was still busy at its stop
 * deadline), in the reverse order; a failure is logged and the others still
 * run. Order: by source file name, then line. Both run on the main thread.
 */
typedef int cq_lifecycle_fn(void);

#define CQ_STARTUP  1
#define CQ_SHUTDOWN 2

/*
 * Registers fn to run at when (CQ_STARTUP or CQ_SHUTDOWN); fn_name, file and
 * line are for logs and ordering, and must stay valid. Call before the
 * program starts (the macros below do, from a constructor). Returns CQ_OK,
 * CQ_EINVAL or CQ_ENOMEM.
 */
CQ_EXTERN int cq_register_lifecycle(int when, cq_lifecycle_fn *fn,
                                    const char *fn_name, const char *file,
                                    int line);

#define CQ__LIFECYCLE(when, fn)                                                \
    __attribute__((constructor)) static void CQ__CAT(cq__life_,                \
                                                     __COUNTER__)(void)        \
    {                                                                          \
        cq_register_lifecycle(when, fn, #fn, __FILE__, __LINE__);              \
    }                                                                          \
    extern int cq__semicolon_after_##fn /* Takes the caller's ';'. */
#define CQ_ON_STARTUP(fn)  CQ__LIFECYCLE(CQ_STARTUP, fn)
#define CQ_ON_SHUTDOWN(fn) CQ__LIFECYCLE(CQ_SHUTDOWN, fn)

/*
 * Periodic jobs. cqhttp-bridge runs fn(arg) every ms milliseconds, the first
 * time one period after it starts (or after the registration, when later),
 * until SIGTERM. Each job has a thread of its own, never the event loop's,
 * so it may block in API calls (make them through cq_ctx_for(): a job has
 * no event). A job never overlaps itself: a tick that comes while the
 * previous run is still going is skipped, with a debug log line. At SIGTERM
 * no new run starts; runs in progress get the bridge's bounded shutdown
 * wait, and their API calls fail once the loop has stopped.
 *
 * The FastCGI responder (cqhttp-fcgi) has no timers: it only answers
 * requests. Registering a job there is a no-op that logs one warning at
 * start (or at registration, when later), so that one handler file can be
 * linked into both programs.
 *
 * May be called at any time, from any thread (from a startup hook, or
 * through CQ_EVERY before main). name is for logs (kept, not copied; NULL
 * for none). Returns CQ_OK, CQ_EINVAL (fn NULL, ms below 1 or above about
 * 24 days) or CQ_ENOMEM (also when its thread cannot start).
 */
typedef void cq_job_fn(void *arg);

CQ_EXTERN int cq_timer_every(long ms, cq_job_fn *fn, void *arg,
                             const char *name);

/* Registers fn (a cq_job_fn, called with arg NULL) every seconds seconds
 * (a fraction allowed): CQ_EVERY(tick, 60). */
#define CQ_EVERY(fn, seconds)                                                  \
    __attribute__((constructor)) static void cq__every_##fn(void)              \
    {                                                                          \
        cq_timer_every((long)((seconds)*1000), fn, NULL, #fn);                 \
    }                                                                          \
    extern int cq__semicolon_after_every_##fn /* Takes the caller's ';'. */

/*
 * before_sending hooks. A hook sees every message the bot sends, as a
 * cq_msg it may change in place, before it goes out:
 *
 *   - the API calls send_msg, send_private_msg, send_group_msg and
 *     send_discuss_msg, however made (cq_send_*(), cq_call*(), the typed
 *     wrappers), from handlers and from cq_ctx_for() contexts alike; action
 *     is the action's name;
 *   - the quick-operation reply (cq_reply*()), when the handlers of an
 *     event are done; action is then "reply".
 *
 * A string message is given parsed from CQ code (or as literal text with
 * auto_escape), an array as its segments. When a hook changed it, the
 * message goes out as a segment array (without auto_escape); when no hook
 * changed it, the call is sent exactly as it was built. A hook returns
 * CQ_OK, or any negative value to cancel: the API call then fails with
 * CQ_ECANCELED without being sent (logged; out->detail names the hook's
 * code), and a cancelled reply is dropped from the quick operation (its
 * other fields stay). A message that cannot be read (a malformed "message"
 * member) is passed on unhooked; calls without "message" are not hooked.
 *
 * Hooks run in registration order on the thread making the call, with its
 * context (c has no event for cq_ctx_for()'s). Register them before the
 * program starts (CQ_ON_BEFORE_SENDING, or cq_on_before_sending() from
 * main); not thread safe. Without hooks the check costs one comparison per
 * call. Returns CQ_OK, CQ_EINVAL (fn NULL) or CQ_ENOMEM (more than 16).
 */
typedef int cq_before_sending_fn(cq_ctx *c, const char *action,
                                 cq_msg *message);

CQ_EXTERN int cq_on_before_sending(cq_before_sending_fn *fn);

#define CQ_ON_BEFORE_SENDING(fn)                                               \
    __attribute__((constructor)) static void cq__before_sending_##fn(void)     \
    {                                                                          \
        cq_on_before_sending(fn);                                              \
    }                                                                          \
    extern int cq__semicolon_after_sending_##fn /* Takes the caller's ';'. */

#endif
