#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cqhttp_runtime.h"
#include "runtime/program.h"

static const char *set_name, *set_version;
static const char *name = "cqhttp";
static char version[128] = CQ_VERSION;

void cq_set_program(const char *n, const char *v)
{
    set_name = n != NULL && n[0] != '\0' ? n : NULL;
    set_version = v != NULL && v[0] != '\0' ? v : NULL;
}


void cq__program_start(char **argv, const char *fallback)
{
    const char *base = argv != NULL ? argv[0] : NULL;

    if (base != NULL && strrchr(base, '/') != NULL)
        base = strrchr(base, '/') + 1;
    if (base == NULL || base[0] == '\0')
        base = fallback;
    name = set_name != NULL ? set_name : base;
    /*
     * cqhttp's own programs keep their plain version; a bot shows its own
     * and names the runtime it was built on, which is what a bug report
     * needs.
     */
    if (set_version != NULL)
        snprintf(version, sizeof(version), "%s (cqhttp %s)", set_version,
                 CQ_VERSION);
    else if (strcmp(name, fallback) != 0)
        snprintf(version, sizeof(version), "(cqhttp %s)", CQ_VERSION);
    else
        snprintf(version, sizeof(version), "%s", CQ_VERSION);
}


const char *cq__program_name(void)
{
    return name;
}


const char *cq__program_version(void)
{
    return version;
}


int cq_main(int argc, char **argv)
{
    if (argc > 1 && argv != NULL && argv[1] != NULL &&
        (strcmp(argv[1], "--bridge") == 0 || strcmp(argv[1], "bridge") == 0)) {
        /* The bridge sees the program's own argv[0], not the word. */
        argv[1] = argv[0];
        return cq_bridge_main(argc - 1, argv + 1);
    }
    return cq_fcgi_main(argc, argv);
}
