/*
 * cqhttp_bot.h: commands, the bot's own settings and state, and startup and
 * shutdown hooks; part of the public interface of libcqhttp. It is included
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

#endif
