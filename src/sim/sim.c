/*
 * The helpers the simulator's subcommands share (declared in sim.h): usage
 * errors, settings, ids, reading a whole file and random numbers.
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

#include "cqhttp.h"
#include "lib/log.h"
#include "sim/sim.h"

int cq__sim_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s%s%s: %s\nTry \"%s%s%s --help\".\n", CQ__SIM_PROG,
            cmd[0] ? " " : "", cmd, msg, CQ__SIM_PROG, cmd[0] ? " " : "", cmd);
    return CQ__SIM_EXIT_USAGE;
}

int cq__sim_wants_help(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

int cq__sim_conf(const char *cmd, cq__conf *conf, int argc, char **argv,
                 char **args, int *nargs)
{
    char err[512] = "";
    int *rest = calloc((size_t)argc + 1, sizeof(*rest));
    int rc = rest != NULL ? CQ_OK : CQ_ENOMEM, i;

    *nargs = 0;
    if (rc == CQ_OK)
        rc = cq__conf_load(conf, argc, argv, rest, nargs, err, sizeof(err));
    for (i = 0; rc == CQ_OK && i < *nargs; i++)
        args[i] = argv[rest[i]];
    free(rest);
    if (rc == CQ_ENOMEM) {
        fprintf(stderr, "%s %s: out of memory\n", CQ__SIM_PROG, cmd);
        return 1;
    }
    if (rc != CQ_OK)
        return cq__sim_usage_error(cmd, "%s", err);
    cq__log_setup(CQ__SIM_PROG, conf->log_level);
    if (conf->log_file != NULL && cq__log_open(conf->log_file) != CQ_OK)
        return 1;
    return 0;
}

int cq__sim_parse_id(const char *s, int64_t *out)
{
    char *end;
    long long n;

    if (s == NULL || *s < '0' || *s > '9')
        return CQ_EINVAL;
    errno = 0;
    n = strtoll(s, &end, 10);
    if (*end != '\0' || errno != 0 || n < 1)
        return CQ_EINVAL;
    *out = (int64_t)n;
    return CQ_OK;
}

int cq__sim_read_all(FILE *f, cq__buf *b)
{
    char chunk[65536];
    size_t n;
    int rc;

    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rc = cq__buf_add(b, chunk, n);
        if (rc != CQ_OK)
            return rc;
    }
    if (ferror(f)) {
        cq__buf_free(b);
        return CQ_EIO;
    }
    /* An empty input still yields a NUL-terminated buffer. */
    return cq__buf_add(b, "", 0);
}

uint32_t cq__sim_random32(void)
{
    struct timespec ts;
    uint32_t v;

    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
        return v;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() ^ (uint32_t)ts.tv_sec;
}
