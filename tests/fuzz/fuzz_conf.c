/*
 * Fuzz target: the --config file. The input is written to a memory file
 * and loaded through cq__conf_load() as "prog --config /proc/self/fd/N",
 * the way every cqhttp program reads it; loaded settings are copied and
 * freed.
 */
#define _GNU_SOURCE
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cqhttp.h"
#include "lib/conf.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd = -1;
static char path[64];


int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* Settings from the environment would win over the file's. */
    clearenv();
    fd = memfd_create("cqhttp-fuzz-conf", 0);
    if (fd < 0)
        abort();
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    return 0;
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *argv[] = {"cqhttp-fuzz", "--config", path, NULL};
    int rest[3], nrest = 0, rc;
    char err[256];
    cq__conf c, copy;

    if (ftruncate(fd, 0) != 0 ||
        (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
        abort();
    err[0] = '\0';
    cq__conf_init(&c);
    rc = cq__conf_load(&c, 3, argv, rest, &nrest, err, sizeof(err));
    if (rc == CQ_OK) {
        if (nrest != 0)
            abort();
        if (cq__conf_copy(&copy, &c) == CQ_OK)
            cq__conf_free(&copy);
    } else if (rc != CQ_EINVAL && rc != CQ_EIO && rc != CQ_ENOMEM) {
        abort();
    } else if (err[0] == '\0') {
        /* Every failure says why in one line. */
        abort();
    }
    cq__conf_free(&c);
    return 0;
}
