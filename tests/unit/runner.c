/*
 * The unit-test runner: runs every case of every suite (or those whose name
 * contains argv[1]), prints one line per failure or skip and ends with
 * "N passed, N failed, N skipped". Exits 1 when any case failed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

extern const t_case test_api_cases[];
extern const t_case test_arena_cases[];
extern const t_case test_auth_cases[];
extern const t_case test_buf_cases[];
extern const t_case test_command_cases[];
extern const t_case test_conf_cases[];
extern const t_case test_dispatch_cases[];
extern const t_case test_error_cases[];
extern const t_case test_event_cases[];
extern const t_case test_fiber_cases[];
extern const t_case test_handshake_cases[];
extern const t_case test_json_scan_cases[];
extern const t_case test_json_tree_cases[];
extern const t_case test_json_out_cases[];
extern const t_case test_json_sink_cases[];
extern const t_case test_ws_judge_cases[];
extern const t_case test_ws_stream_cases[];
extern const t_case test_ws_frames_cases[];
extern const t_case test_message_cases[];
extern const t_case test_message_cq_cases[];
extern const t_case test_message_cqf_cases[];
extern const t_case test_message_json_cases[];
extern const t_case test_params_cases[];
extern const t_case test_quick_cases[];
extern const t_case test_sched_cases[];
extern const t_case test_sending_cases[];

static const t_case *const suites[] = {
    test_api_cases,         test_auth_cases,         test_buf_cases,
    test_command_cases,     test_conf_cases,         test_dispatch_cases,
    test_error_cases,       test_event_cases,        test_handshake_cases,
    test_ws_judge_cases,    test_ws_stream_cases,    test_message_cases,
    test_message_cq_cases,  test_message_json_cases, test_params_cases,
    test_quick_cases,       test_sched_cases,        test_sending_cases,
    test_message_cqf_cases, test_json_scan_cases,    test_arena_cases,
    test_json_out_cases,    test_fiber_cases,        test_ws_frames_cases,
    test_json_sink_cases,   test_json_tree_cases,
};

void t_fail(t_state *t, const char *file, int line, const char *what)
{
    fprintf(stderr, "  %s:%d: check failed: %s\n", file, line, what);
    t->failed = 1;
}


char *t_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
        fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        }
        if (buf != NULL) {
            buf[n] = '\0';
            if (len != NULL)
                *len = (size_t)n;
        }
    }
    fclose(f);
    return buf;
}


const char *t_srcdir(void)
{
    const char *s = getenv("CQ_SRCDIR");

    return s != NULL && s[0] != '\0' ? s : CQ_SRCDIR;
}


int main(int argc, char **argv)
{
    int passed = 0, failed = 0, skipped = 0;
    size_t s;

    for (s = 0; s < sizeof(suites) / sizeof(suites[0]); s++) {
        const t_case *c;

        for (c = suites[s]; c->name != NULL; c++) {
            t_state t = {0, 0};

            if (argc > 1 && strstr(c->name, argv[1]) == NULL)
                continue;
            c->fn(&t);
            if (t.failed) {
                printf("FAIL %s\n", c->name);
                failed++;
            } else if (t.skipped) {
                printf("SKIP %s\n", c->name);
                skipped++;
            } else {
                passed++;
            }
        }
    }
    printf("unit: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed > 0 ? 1 : 0;
}
