/*
 * The error list and the version: every code has a distinct name and
 * sentence from the one X-macro, and the numbers agree with the string.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cqhttp.h"
#include "test.h"

T_CASE(every_code_named)
{
    static const int codes[] = {
#define CODE(name, value, text) CQ_##name,
        CQ_ERRNO_MAP(CODE)
#undef CODE
    };
    size_t i, j, n = sizeof(codes) / sizeof(codes[0]);

    T_EQ_INT(n, 22);
    for (i = 0; i < n; i++) {
        T_CHECK(codes[i] < 0);
        T_CHECK(strncmp(cq_err_name(codes[i]), "CQ_E", 4) == 0);
        T_CHECK(strcmp(cq_strerror(codes[i]), "unknown error") != 0);
        for (j = 0; j < i; j++) {
            T_CHECK(codes[i] != codes[j]);
            T_CHECK(strcmp(cq_err_name(codes[i]), cq_err_name(codes[j])) != 0);
        }
    }
    T_EQ_STR(cq_err_name(CQ_ENOMEM), "CQ_ENOMEM");
    T_EQ_STR(cq_err_name(CQ_EIO), "CQ_EIO");
    T_EQ_STR(cq_err_name(CQ_OK), "CQ_OK");
    T_EQ_STR(cq_err_name(-999), "CQ_E?");
    T_EQ_STR(cq_strerror(CQ_OK), "success");
    T_EQ_STR(cq_strerror(CQ_ETIMEDOUT), "the API call timed out");
    T_EQ_STR(cq_strerror(12345), "unknown error");
}


T_CASE(version_numbers_match_string)
{
    char s[32];

    snprintf(s, sizeof(s), "%d.%d.%d", CQ_VERSION_MAJOR, CQ_VERSION_MINOR,
             CQ_VERSION_PATCH);
    T_EQ_STR(CQ_VERSION, s);
    T_EQ_STR(cq_version_string(), CQ_VERSION);
    T_EQ_STR(PACKAGE_VERSION, CQ_VERSION);
    T_EQ_INT(cq_version(), (unsigned)CQ_VERSION_HEX);
    T_EQ_INT(cq_version() >> 16, CQ_VERSION_MAJOR);
}


T_SUITE(test_error_cases) = {
    {"error/every_code_named", every_code_named},
    {"error/version_numbers_match_string", version_numbers_match_string},
    {NULL, NULL},
};
