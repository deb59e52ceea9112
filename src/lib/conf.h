/*
 * conf: the settings shared by every cqhttp program.
 *
 * Each setting has a key for the --config file ("api_root = http://..."), an
 * environment variable (CQHTTP_API_ROOT) and a flag (--api-root). Later
 * sources win: built-in default, then the file, then the environment, then
 * the command line. The struct owns its strings.
 */
#ifndef CQ_CONF_H
#define CQ_CONF_H

#include <stddef.h>

#include "cqhttp.h"

/* The longest line a --config file may have, in bytes. */
#define CQ__CONF_LINE_MAX 65536

/* The programs, for cq__conf_warn_ignored(). */
#define CQ__CONF_FCGI   1u
#define CQ__CONF_BRIDGE 2u

typedef struct cq__conf {
    char *api_root;      /* HTTP API base URL, or NULL. */
    char *access_token;  /* Token for API calls and checks, or NULL. */
    char *secret;        /* HMAC secret for X-Signature, or NULL. */
    char *bridge_socket; /* Path of the bridge's API socket, or NULL. */
    char *listen;        /* Address to listen on, or NULL. */
    char *log_file;      /* Log here instead of stderr, or NULL. */
    char *api_allow;     /* Who may use the API socket, or NULL. */
    char *ws_forward;    /* Forward WebSocket URLs, comma-separated, or NULL. */
    char *config;        /* The --config file read, or NULL. */

    char *command_prefix; /* Prefixes of commands, comma-separated, or NULL. */
    char **bot;           /* bot.* settings: name, value, ... (settings.h). */
    size_t nbot;          /* Name and value pairs in bot. */

    long api_timeout_ms;
    long api_connect_timeout_ms;
    long max_body;
    long body_timeout_ms; /* The whole request body's deadline. */
    long max_depth;
    long threads;
    long backlog;
    long ws_max_message;       /* Largest WebSocket message, bytes. */
    long ws_max_queue;         /* Bytes queued per connection, each way. */
    long ws_max_spill;         /* Held event bytes in a file, per connection. */
    long ws_ping_interval_ms;  /* Ping a connection this long idle. */
    long ws_timeout_ms;        /* Close a connection this long silent. */
    long handshake_timeout_ms; /* Whole upgrade request deadline. */
    long max_pending;          /* API calls waiting per account. */
    long max_connections;      /* Open WebSocket and API-socket clients. */
    long api_stall_timeout_ms; /* API-socket client over its bound. */
    long inline_handlers;      /* Bridge: handlers on the loop thread. */
    cq_log_level log_level;
    /* Bit i: the i-th setting of conf.c's table came from a flag or the
     * --config file (cq__conf_warn_ignored). */
    unsigned long long given;
} cq__conf;

void cq__conf_init(cq__conf *c);
void cq__conf_free(cq__conf *c);
/* Makes dst a deep copy of src, owning its own strings (free it with
 * cq__conf_free). Returns CQ_OK or CQ_ENOMEM, with dst then empty. */
int cq__conf_copy(cq__conf *dst, const cq__conf *src);

/*
 * Fills c from the file named by --config or CQHTTP_CONFIG, the environment
 * and argv (flags may be "--key value" or "--key=value"). Arguments that are
 * not settings are left for the program: their indexes are stored in
 * rest[0..*nrest) (rest must hold argc entries). On error writes one line
 * saying what is wrong into err and returns CQ_EINVAL, CQ_EIO (the file
 * cannot be read) or CQ_ENOMEM.
 */
int cq__conf_load(cq__conf *c, int argc, char **argv, int *rest, int *nrest,
                  char *err, size_t errlen);

/*
 * The argument handling of a program's main: loads the settings, answers
 * --help (usage(stdout)) and --version ("program version"), and refuses any
 * other argument.
 * Returns -1 to go on, or the exit code: 0 after --help or --version, 2 for
 * a bad argument or setting (said on stderr), 1 when out of memory.
 */
int cq__conf_main_args(cq__conf *c, int argc, char **argv, const char *program,
                       const char *version, void (*usage)(void *f));

/*
 * Logs one warning for each setting given by flag or --config file that
 * program (CQ__CONF_FCGI or CQ__CONF_BRIDGE) does not use. Settings from
 * the environment are left out: the shipped units share one file of them.
 */
void cq__conf_warn_ignored(const cq__conf *c, unsigned program);

/* Writes the settings part of --help to f (a FILE *). */
void cq__conf_usage(void *f);

#endif
