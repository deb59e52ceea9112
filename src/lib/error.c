/*
 * Error text and names, both generated from the one list in cqhttp.h
 * (CQ_ERRNO_MAP), so that a new code cannot be left without either.
 */
#include "config.h"

#include "cqhttp.h"

#define SENTENCE(name, value, text)                                            \
    case CQ_##name:                                                            \
        return text;
#define NAME(name, value, text)                                                \
    case CQ_##name:                                                            \
        return "CQ_" #name;

const char *cq_strerror(int err)
{
    switch (err) {
    case CQ_OK:
        return "success";
        CQ_ERRNO_MAP(SENTENCE)
    default:
        return "unknown error";
    }
}


const char *cq_err_name(int err)
{
    switch (err) {
    case CQ_OK:
        return "CQ_OK";
        CQ_ERRNO_MAP(NAME)
    default:
        return "CQ_E?";
    }
}


unsigned cq_version(void)
{
    return CQ_VERSION_HEX;
}


const char *cq_version_string(void)
{
    return CQ_VERSION;
}
