/*
 * Fuzz target: CQ code and message JSON. The input is read both ways:
 *  - as CQ code: what cq_msg_parse_cq() accepts, cq_msg_format_cq() writes
 *    back so that parsing it again gives the same message (the same CQ code
 *    and the same JSON);
 *  - as message JSON: what cq_msg_from_json() accepts and
 *    cq_msg_to_json_string() writes reads back to the same JSON.
 * A mismatch aborts, with both texts on stderr.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static void same(const char *what, const char *a, const char *b)
{
    if (a == NULL || b == NULL || strcmp(a, b) != 0) {
        fprintf(stderr, "%s round trip differs:\n%s\n%s\n", what,
                a ? a : "(null)", b ? b : "(null)");
        abort();
    }
}


/* Parses cq (NUL-terminated) again and checks it gives cq and json. */
static void reparse_cq(const char *cq, const char *json)
{
    cq_msg *m;
    char *cq2, *json2;

    if (cq_msg_parse_cq(&m, cq, strlen(cq)) != CQ_OK)
        same("CQ code (refused)", cq, NULL);
    cq2 = cq_msg_format_cq(m);
    same("CQ code", cq, cq2);
    json2 = cq_msg_to_json_string(m);
    if (json != NULL)
        same("CQ code as JSON", json, json2);
    free(cq2);
    free(json2);
    cq_msg_free(m);
}


static void cq_round_trip(const char *s, size_t len)
{
    cq_msg *m;
    char *cq, *json;

    if (cq_msg_parse_cq(&m, s, len) != CQ_OK)
        return;
    cq = cq_msg_format_cq(m);
    /* NULL when the written form would pass the cap: nothing to compare. */
    if (cq != NULL) {
        json = cq_msg_to_json_string(m);
        reparse_cq(cq, json);
        free(json);
    }
    free(cq);
    cq_msg_free(m);
}


static void json_round_trip(const char *s, size_t len)
{
    cq_msg *m, *m2;
    char *json, *json2, *cq;

    if (cq_msg_from_json(&m, s, len) != CQ_OK)
        return;
    cq = cq_msg_format_cq(m);
    free(cq);
    /* NULL when a string is not UTF-8 ("\u0000" cuts one short, say). */
    json = cq_msg_to_json_string(m);
    if (json != NULL) {
        if (cq_msg_from_json(&m2, json, strlen(json)) != CQ_OK)
            same("message JSON (refused)", json, NULL);
        json2 = cq_msg_to_json_string(m2);
        same("message JSON", json, json2);
        free(json2);
        cq_msg_free(m2);
    }
    free(json);
    cq_msg_free(m);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    cq_round_trip(s, size);
    json_round_trip(s, size);
    free(s);
    return 0;
}
