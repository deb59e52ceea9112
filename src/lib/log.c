#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>

#include "cqhttp.h"
#include "lib/log.h"

static const char *log_program = "cqhttp";
static cq_log_level log_level = CQ_LOG_INFO;
static const char *const level_names[] = {"error", "warn", "info", "debug"};

void cq__log_setup(const char *program, cq_log_level level)
{
    log_program = program;
    log_level = level;
}


int cq__log_parse_level(const char *s, cq_log_level *out)
{
    int i;

    for (i = 0; i <= CQ_LOG_DEBUG; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (cq_log_level)i;
            return CQ_OK;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = CQ_LOG_WARN;
        return CQ_OK;
    }
    return CQ_EINVAL;
}


int cq__log_enabled(cq_log_level level)
{
    return level <= log_level;
}


void cq_log(cq_log_level level, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    size_t n;
    int k;

    if (!cq__log_enabled(level))
        return;
    if ((int)level < 0 || level > CQ_LOG_DEBUG)
        level = CQ_LOG_ERROR;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    k = snprintf(line + n, sizeof(line) - n,
                 ".%03ldZ %s[%ld] %s: ", ts.tv_nsec / 1000000, log_program,
                 (long)getpid(), level_names[level]);
    if (k > 0)
        n += (size_t)k;
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (k > 0)
        n += (size_t)k;
    if (n > sizeof(line) - 2)
        n = sizeof(line) - 2; /* A cut line still ends with a newline. */
    line[n++] = '\n';
    /* A failed log write has nowhere better to be reported. */
    if (write(STDERR_FILENO, line, n) < 0)
        return;
}


int cq__log_open(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

    if (fd < 0) {
        cq_log(CQ_LOG_ERROR, "log_file %s: %s", path, strerror(errno));
        return CQ_EIO;
    }
    /* dup2 swaps the file under every writer at once; no line is split. */
    if (fd != STDERR_FILENO) {
        if (dup2(fd, STDERR_FILENO) < 0) {
            close(fd);
            return CQ_EIO;
        }
        close(fd);
    }
    return CQ_OK;
}
