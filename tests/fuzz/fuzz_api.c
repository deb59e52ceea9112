/*
 * Fuzz target: an API answer body, as the HTTP and bridge transports hand
 * it to cq__api_result_from_body() (NUL-terminated). A result judged good
 * must have data that can be written back as JSON.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cqhttp.h"
#include "lib/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *body = malloc(size + 1);
    cq_result r;
    int rc;

    if (body == NULL)
        return 0;
    memcpy(body, data, size);
    body[size] = '\0';
    memset(&r, 0, sizeof(r));
    rc = cq__api_result_from_body(body, size, &r);
    if (rc != r.err)
        abort();
    if (rc == CQ_OK && r.data != NULL) {
        char *text = cq_value_to_json(r.data);

        if (text == NULL)
            abort();
        free(text);
    }
    if (rc != CQ_OK && rc != CQ_EFAILED && rc != CQ_EBADRESP && rc != CQ_ENOMEM)
        abort();
    cq_result_free(&r);
    free(body);
    return 0;
}
