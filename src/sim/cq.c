/*
 * cqhttp-sim cq: converts a message between its two OneBot forms with the
 * library's parser and formatter (PROTOCOL.md section 8).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "sim/sim.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s cq parse  < CQ-CODE\n"
            "       %s cq format < JSON\n\n"
            "parse   reads a CQ-code string on stdin and prints its segment "
            "array as JSON.\n"
            "        One trailing newline of the input is dropped.\n"
            "format  reads a message as JSON on stdin (an array of "
            "segments, one segment\n"
            "        object, or a string of CQ code) and prints it as CQ "
            "code.\n\n"
            "Each prints one line. Exit status: 0 success, 1 bad input, 2 "
            "bad usage.\n",
            CQ__SIM_PROG, CQ__SIM_PROG);
}

/* Reads stdin into b; returns 0 or the exit status after saying why. */
static int read_stdin(const char *what, cq__buf *b)
{
    int rc;

    cq__buf_init(b, CQ_MSG_MAX_BYTES);
    rc = cq__sim_read_all(stdin, b);
    if (rc != CQ_OK) {
        fprintf(stderr, "%s cq %s: cannot read stdin: %s\n", CQ__SIM_PROG, what,
                cq_strerror(rc));
        return 1;
    }
    return 0;
}

static int parse(void)
{
    cq__buf in;
    cq_msg *m = NULL;
    char *json;
    int rc;

    if (read_stdin("parse", &in) != 0)
        return 1;
    if (in.len > 0 && in.data[in.len - 1] == '\n')
        in.data[--in.len] = '\0';
    if (in.len > 0 && in.data[in.len - 1] == '\r')
        in.data[--in.len] = '\0';
    rc = cq_msg_parse_cq(&m, in.data, in.len);
    cq__buf_free(&in);
    if (rc != CQ_OK) {
        fprintf(stderr, "%s cq parse: not CQ code: %s\n", CQ__SIM_PROG,
                cq_strerror(rc));
        return 1;
    }
    json = cq_msg_to_json_string(m);
    cq_msg_free(m);
    if (json == NULL) {
        fprintf(stderr,
                "%s cq parse: the message is not valid UTF-8 "
                "(or out of memory)\n",
                CQ__SIM_PROG);
        return 1;
    }
    printf("%s\n", json);
    free(json);
    return 0;
}

static int format(void)
{
    cq__buf in;
    cq_msg *m = NULL;
    char *s;
    int rc;

    if (read_stdin("format", &in) != 0)
        return 1;
    rc = cq_msg_from_json(&m, in.data, in.len);
    cq__buf_free(&in);
    if (rc != CQ_OK) {
        fprintf(stderr,
                "%s cq format: not a message (a JSON array of "
                "segments, a segment or a string): %s\n",
                CQ__SIM_PROG, cq_strerror(rc));
        return 1;
    }
    s = cq_msg_format_cq(m);
    cq_msg_free(m);
    if (s == NULL) {
        fprintf(stderr, "%s cq format: out of memory\n", CQ__SIM_PROG);
        return 1;
    }
    printf("%s\n", s);
    free(s);
    return 0;
}

int cq__sim_cq(int argc, char **argv)
{
    if (cq__sim_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    if (argc < 2)
        return cq__sim_usage_error("cq", "say \"parse\" or \"format\"");
    if (argc > 2)
        return cq__sim_usage_error("cq", "unexpected argument \"%s\"", argv[2]);
    if (strcmp(argv[1], "parse") == 0)
        return parse();
    if (strcmp(argv[1], "format") == 0)
        return format();
    return cq__sim_usage_error("cq",
                               "unknown conversion \"%s\" (say "
                               "\"parse\" or \"format\")",
                               argv[1]);
}
