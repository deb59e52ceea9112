/*
 * call: the answer to one API call and its log line, the same for "serve"
 * and "connect" (see call.h). Answers are written as go-cqhttp writes them:
 * Go sorts map keys, so data, echo, msg, retcode, status, wording.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cqhttp.h"
#include "lib/actions.h"
#include "lib/json.h"
#include "sim/call.h"
#include "sim/serve.h"

static const char *const fault_names[] = {
    [CQ__SIM_FAULT_FAILED] = "failed",
    [CQ__SIM_FAULT_HTTP] = "http",
    [CQ__SIM_FAULT_GARBAGE] = "garbage",
    [CQ__SIM_FAULT_NOJSON_STATUS] = "nojson-status",
    [CQ__SIM_FAULT_SLOW] = "slow",
    [CQ__SIM_FAULT_CLOSE] = "close",
    [CQ__SIM_FAULT_PARTIAL] = "partial",
};

#define NFAULT_KINDS (sizeof(fault_names) / sizeof(fault_names[0]))

/* The parameters of a call without any: the data table wants an object. */
static struct yajl_val_s no_params = {.type = yajl_t_object};


void cq__sim_core_init(cq__sim_core *core, int64_t self_id)
{
    memset(core, 0, sizeof(*core));
    core->world.self_id = self_id;
    core->world.next_message_id = cq__sim_random32();
    core->log = stdout;
}


int cq__sim_core_open_log(cq__sim_core *core, const char *path)
{
    if (path == NULL)
        return CQ_OK;
    core->log = fopen(path, "a");
    if (core->log == NULL) {
        cq_log(CQ_LOG_ERROR, "cannot open %s: %s", path, strerror(errno));
        return CQ_EIO;
    }
    core->log_owned = 1;
    return CQ_OK;
}


void cq__sim_core_free(cq__sim_core *core)
{
    if (core->log_owned && core->log != NULL)
        fclose(core->log);
    core->log = NULL;
    core->log_owned = 0;
}


const char *cq__sim_fault_name(enum cq__sim_fault_kind kind)
{
    return (size_t)kind < NFAULT_KINDS ? fault_names[kind] : "?";
}


/* Parses the number after "kind:" into *out; CQ_OK or CQ_EINVAL. */
static int fault_arg(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0')
        return CQ_EINVAL;
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end != '\0' || errno != 0 || v < lo || v > hi)
        return CQ_EINVAL;
    *out = v;
    return CQ_OK;
}


/* Parses "[ACTION=]KIND" into out; CQ_OK, or CQ_EINVAL with err set. */
static int fault_parse(const char *spec, cq__sim_fault *out, char *err,
                       size_t errlen)
{
    const char *eq = strchr(spec, '='), *kind = eq != NULL ? eq + 1 : spec;
    const char *colon = strchr(kind, ':'), *arg = colon ? colon + 1 : NULL;
    size_t klen = colon != NULL ? (size_t)(colon - kind) : strlen(kind), i;
    int rc = CQ_OK;

    memset(out, 0, sizeof(*out));
    if (eq != NULL &&
        (eq == spec || (size_t)(eq - spec) >= sizeof(out->action))) {
        snprintf(err, errlen,
                 "--fault \"%s\": the action before '=' must "
                 "have 1 to %zu bytes",
                 spec, sizeof(out->action) - 1);
        return CQ_EINVAL;
    }
    if (eq != NULL)
        memcpy(out->action, spec, (size_t)(eq - spec));
    for (i = 0; i < NFAULT_KINDS; i++)
        if (strlen(fault_names[i]) == klen &&
            strncmp(kind, fault_names[i], klen) == 0)
            break;
    out->kind = (enum cq__sim_fault_kind)i;
    out->arg = 100; /* The retcode of a bare "failed". */
    if (i == CQ__SIM_FAULT_FAILED && arg != NULL)
        rc = fault_arg(arg, -2147483647L, 2147483647L, &out->arg);
    else if (i == CQ__SIM_FAULT_HTTP)
        rc = fault_arg(arg, 200, 599, &out->arg);
    else if (i == CQ__SIM_FAULT_SLOW)
        rc = fault_arg(arg, 0, 600000, &out->arg);
    else if (i >= NFAULT_KINDS || arg != NULL)
        rc = CQ_EINVAL;
    if (rc != CQ_OK)
        snprintf(err, errlen,
                 "--fault \"%s\": KIND must be failed[:RETCODE], "
                 "http:STATUS (200-599), garbage, nojson-status, slow:MS "
                 "(0-600000), close or partial",
                 spec);
    return rc;
}


int cq__sim_core_add_fault(cq__sim_core *core, const char *spec, int http,
                           char *err, size_t errlen)
{
    cq__sim_fault *f = &core->faults[core->nfaults];
    int rc;

    if (core->nfaults >= CQ__SIM_MAX_FAULTS) {
        snprintf(err, errlen, "more than %d --fault", CQ__SIM_MAX_FAULTS);
        return CQ_ETOOBIG;
    }
    rc = fault_parse(spec, f, err, errlen);
    if (rc == CQ_OK && !http && f->kind == CQ__SIM_FAULT_HTTP) {
        snprintf(err, errlen,
                 "--fault \"%s\": http:STATUS has no meaning over "
                 "WebSocket (use failed:RETCODE)",
                 spec);
        rc = CQ_EINVAL;
    }
    if (rc == CQ_OK)
        core->nfaults++;
    return rc;
}


/*
 * The fault for action (as requested) or base (without a suffix): the first
 * naming either, else the first for every action, else NULL.
 */
static const cq__sim_fault *fault_find(const cq__sim_core *core,
                                       const char *action, const char *base)
{
    size_t i;

    for (i = 0; i < core->nfaults; i++) {
        const char *a = core->faults[i].action;

        if (a[0] != '\0' && (strcmp(a, action) == 0 || strcmp(a, base) == 0))
            return &core->faults[i];
    }
    for (i = 0; i < core->nfaults; i++)
        if (core->faults[i].action[0] == '\0')
            return &core->faults[i];
    return NULL;
}


int cq__sim_strip_suffix(const char *action, char *base, size_t len)
{
    static const char *const suffixes[] = {"_async", "_rate_limited"};
    size_t n = strlen(action), i, k;

    snprintf(base, len, "%s", action);
    if (cq__action_find(action) != NULL)
        return 0;
    for (i = 0; i < 2; i++) {
        k = strlen(suffixes[i]);
        if (n > k && n - k < len && strcmp(action + n - k, suffixes[i]) == 0) {
            base[n - k] = '\0';
            return 1;
        }
    }
    return 0;
}


void cq__sim_call_error(cq__sim_call *c, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->error, sizeof(c->error), fmt, ap);
    va_end(ap);
}


/* Takes the text w holds as c's body; CQ_OK or CQ_ENOMEM. Frees w. */
static int take_body(cq__sim_call *c, cq__jw *w)
{
    c->body = cq__jw_dup(w, &c->body_len);
    cq__jw_free(w);
    if (c->body == NULL) {
        cq__sim_call_error(c, "cannot write the answer: out of memory");
        return CQ_ENOMEM;
    }
    return CQ_OK;
}


/*
 * Stores a OneBot answer. With world set the data comes from serve_data.c
 * for c's base action, which may turn the answer into an "async" one.
 */
static int answer(cq__sim_call *c, const char *status, int64_t retcode,
                  const char *msg, const char *base, cq__sim_world *world)
{
    cq__jw w;
    int rc;

    /* A failed init latches: take_body() reports it. */
    cq__jw_init(&w);
    cq__jw_open(&w);
    cq__jw_key(&w, "data");
    if (world == NULL ||
        cq__sim_data(&w, base, c->params ? c->params : &no_params, world)) {
        if (world != NULL) {
            status = "async";
            retcode = 1;
        }
        cq__jw_null(&w);
    }
    if (c->echo != NULL) {
        cq__jw_key(&w, "echo");
        cq__jw_value(&w, c->echo);
    }
    if (msg != NULL)
        cq__jw_kstr(&w, "msg", msg);
    cq__jw_kint(&w, "retcode", retcode);
    cq__jw_kstr(&w, "status", status);
    if (msg != NULL)
        cq__jw_kstr(&w, "wording", msg);
    cq__jw_close(&w);
    rc = take_body(c, &w);
    if (rc != CQ_OK)
        return rc;
    c->status = status;
    c->retcode = retcode;
    if (msg != NULL && msg != c->error)
        cq__sim_call_error(c, "%s", msg);
    return CQ_OK;
}


int cq__sim_call_answer(cq__sim_call *c, const char *status, int64_t retcode,
                        const char *msg)
{
    return answer(c, status, retcode, msg, NULL, NULL);
}


/* {"retcode":0} with the echo: a result without "status". */
static int nostatus_answer(cq__sim_call *c)
{
    cq__jw w;

    /* A failed init latches: take_body() reports it. */
    cq__jw_init(&w);
    cq__jw_open(&w);
    cq__jw_kint(&w, "retcode", 0);
    if (c->echo != NULL) {
        cq__jw_key(&w, "echo");
        cq__jw_value(&w, c->echo);
    }
    cq__jw_close(&w);
    return take_body(c, &w);
}


/* Stores an answer that is not a OneBot result; CQ_OK or CQ_ENOMEM. */
static int raw_answer(cq__sim_call *c, const char *text)
{
    c->body = strdup(text);
    if (c->body == NULL) {
        cq__sim_call_error(c, "out of memory");
        return CQ_ENOMEM;
    }
    c->body_len = strlen(text);
    return CQ_OK;
}


/*
 * Answers for the faults that replace the answer. Returns CQ_EAGAIN when
 * the fault leaves the normal answer to be made (slow), else what the
 * answer's writer returns.
 */
static int apply_fault(cq__sim_call *c)
{
    switch (c->fault->kind) {
    case CQ__SIM_FAULT_FAILED:
        return answer(c, "failed", c->fault->arg, "fault injected", NULL, NULL);
    case CQ__SIM_FAULT_GARBAGE:
        return raw_answer(c, "<html>this is not JSON</html>\n");
    case CQ__SIM_FAULT_NOJSON_STATUS:
        return nostatus_answer(c);
    case CQ__SIM_FAULT_PARTIAL:
        return raw_answer(c, "{\"data\":{\"message_id\":");
    case CQ__SIM_FAULT_HTTP:
    case CQ__SIM_FAULT_CLOSE:
        return CQ_OK; /* No body: the transport carries it out. */
    case CQ__SIM_FAULT_SLOW:
    default:
        return CQ_EAGAIN;
    }
}


int cq__sim_call_eval(cq__sim_core *core, cq__sim_call *c)
{
    char base[CQ__SIM_ACTION_MAX], msg[sizeof(c->error)];
    int queued = cq__sim_strip_suffix(c->action, base, sizeof(base));
    const cq__action *a = cq__action_find(base);
    int rc;

    if (a == NULL) {
        cq__sim_call_error(c, "unknown action %s", base);
        return CQ_ENOENT;
    }
    c->fault = fault_find(core, c->action, base);
    if (c->fault != NULL && (rc = apply_fault(c)) != CQ_EAGAIN)
        return rc;
    /* Queued actions are not checked: the answer comes before. */
    if (queued)
        return answer(c, "async", 1, NULL, NULL, NULL);
    if (cq__sim_check_params(a, c->params ? c->params : &no_params, msg,
                             sizeof(msg)) != CQ_OK)
        return answer(c, "failed", 100, msg, NULL, NULL);
    return answer(c, "ok", 0, NULL, base, &core->world);
}


void cq__sim_call_unsent(cq__sim_call *c)
{
    if (c->http_status > 0)
        c->http_status = 0;
    c->status = NULL;
    cq__sim_call_error(c, "the connection closed before the answer was sent");
}


/*
 * The "auth" a call log shows: the scheme ("Bearer", "Token") or the query
 * parameter's name, never the token, since logs travel further than
 * secrets should. Whether the token was right shows in the status.
 */
static void redacted_auth(const char *auth, char *out, size_t len)
{
    size_t n = strcspn(auth, " =");

    snprintf(out, len, "%.*s%s", (int)(n < 64 ? n : 64), auth,
             auth[n] == '=' ? "=<redacted>" : " <redacted>");
}


void cq__sim_call_log(cq__sim_core *core, const cq__sim_call *c)
{
    char auth[96];

    cq__jw w;
    char *line;

    if (cq__jw_init(&w) != CQ_OK)
        return;
    cq__jw_open(&w);
    cq__jw_kint(&w, "seq", (int64_t)++core->seq);
    cq__jw_kint(&w, "time", (int64_t)time(NULL));
    if (c->peer != NULL)
        cq__jw_kstr(&w, "peer", c->peer);
    if (c->method != NULL)
        cq__jw_kstr(&w, "method", c->method);
    if (c->role != NULL)
        cq__jw_kstr(&w, "role", c->role);
    cq__jw_kstr(&w, "action", c->action);
    cq__jw_key(&w, "params");
    cq__jw_value(&w, c->params);
    if (c->echo != NULL) {
        cq__jw_key(&w, "echo");
        cq__jw_value(&w, c->echo);
    }
    if (c->auth != NULL)
        redacted_auth(c->auth, auth, sizeof(auth));
    cq__jw_kstr(&w, "auth", c->auth != NULL ? auth : NULL);
    if (c->http_status > 0)
        cq__jw_kint(&w, "http_status", c->http_status);
    else if (c->http_status == 0)
        cq__jw_knull(&w, "http_status");
    cq__jw_kstr(&w, "status", c->status);
    if (c->status != NULL)
        cq__jw_kint(&w, "retcode", c->retcode);
    else
        cq__jw_knull(&w, "retcode");
    if (c->fault != NULL)
        cq__jw_kstr(&w, "fault", cq__sim_fault_name(c->fault->kind));
    if (c->error[0] != '\0')
        cq__jw_kstr(&w, "error", c->error);
    cq__jw_close(&w);
    line = cq__jw_dup(&w, NULL);
    cq__jw_free(&w);
    if (line == NULL) {
        cq_log(CQ_LOG_ERROR, "cannot write log line %llu: out of memory",
               (unsigned long long)core->seq);
        return;
    }
    if (fprintf(core->log, "%s\n", line) < 0 || fflush(core->log) != 0)
        cq_log(CQ_LOG_ERROR, "cannot write the call log: %s", strerror(errno));
    free(line);
}


void cq__sim_call_free(cq__sim_call *c)
{
    free(c->action);
    free(c->body);
    c->action = NULL;
    c->body = NULL;
}
