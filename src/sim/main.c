/*
 * cqhttp-sim: subcommand dispatch and the top-level --help, over the
 * simulator's library (the subcommands and sim.c's shared helpers).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cqhttp.h"
#include "lib/log.h"
#include "sim/sim.h"

typedef int command_fn(int argc, char **argv);

typedef struct command {
    const char *name;
    command_fn *fn;
    const char *summary;
} command;

/* The subcommands. */
static const command commands[] = {
    {"post", cq__sim_post, "build or load an event, sign it and POST it"},
    {"serve", cq__sim_serve, "serve the OneBot HTTP API and log every call"},
    {"connect", cq__sim_connect,
     "dial a bridge by reverse WebSocket, answer and log its calls"},
    {"cq", cq__sim_cq, "convert messages between CQ code and JSON"},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *f)
{
    size_t i;

    fprintf(f,
            "Usage: %s COMMAND [OPTIONS] [ARGS]\n"
            "       %s --help | --version\n\n"
            "Simulates a OneBot v11 implementation (the QQ side of a bot): "
            "posts events to\na bot, serves the HTTP API a bot calls, "
            "connects to a bridge as OneBot\nimplementations do, converts CQ "
            "code.\n\nCommands:\n",
            CQ__SIM_PROG, CQ__SIM_PROG);
    for (i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\nRun \"%s COMMAND --help\" for the options of a command.\n"
            "Exit status: 0 success, 1 failure, 2 bad usage.\n",
            CQ__SIM_PROG);
}

int main(int argc, char **argv)
{
    size_t i;
    int rc;

    if (argc < 2)
        return cq__sim_usage_error("", "no command given");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("%s %s\n", CQ__SIM_PROG, CQ_VERSION);
        return 0;
    }
    for (i = 0; i < NCOMMANDS; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            fprintf(stderr, "%s: cannot initialise libcurl\n", CQ__SIM_PROG);
            return 1;
        }
        rc = commands[i].fn(argc - 1, argv + 1);
        curl_global_cleanup();
        return rc;
    }
    return cq__sim_usage_error("", "unknown command \"%s\"", argv[1]);
}
