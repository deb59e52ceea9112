#include "config.h"

#include "cqhttp.h"

const char *cq_strerror(int err)
{
    switch (err) {
    case CQ_OK:
        return "success";
    case CQ_ENOMEM:
        return "out of memory";
    case CQ_ETOOBIG:
        return "input larger than its configured limit";
    case CQ_EPARSE:
        return "malformed input";
    case CQ_EAGAIN:
        return "more input needed";
    case CQ_EDEPTH:
        return "JSON nested deeper than allowed";
    case CQ_ENOTYPE:
        return "event has no post_type";
    case CQ_EINVAL:
        return "invalid argument";
    case CQ_ENOENT:
        return "no such field";
    case CQ_ETYPE:
        return "field has another type";
    case CQ_ERANGE:
        return "number out of range";
    case CQ_EAUTHMISSING:
        return "credentials missing";
    case CQ_EAUTHBAD:
        return "credentials wrong or malformed";
    case CQ_ENOAPI:
        return "no API available (set api_root, or connect the account to the "
               "bridge)";
    case CQ_EFAILED:
        return "the action failed (see retcode)";
    case CQ_EHTTP:
        return "the API answered with an HTTP error status";
    case CQ_EBADRESP:
        return "the API answer is not a OneBot result";
    case CQ_ECONNREFUSED:
        return "the API server refused the connection";
    case CQ_ETIMEDOUT:
        return "the API call timed out";
    case CQ_ENETWORK:
        return "network error talking to the API";
    case CQ_EHANDLER:
        return "a handler failed";
    case CQ_EIO:
        return "input/output error";
    default:
        return "unknown error";
    }
}
