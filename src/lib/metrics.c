/*
 * The counters of metrics.h. Arrays of C11 atomics indexed by label, so a
 * count is one relaxed fetch-add and the set of label values is fixed (an
 * unknown HTTP status is counted as "other").
 */
#include "config.h"

#include <stdatomic.h>
#include <time.h>

#include "cqhttp.h"
#include "lib/metrics.h"

static const char *const transport_names[CQ__MT_NTRANSPORTS] = {
    "websocket", "socket", "http", "none", "served_http"};

enum { OUT_OK, OUT_FAILED, OUT_TIMEOUT, OUT_NOAPI, OUT_ERROR, NOUTCOMES };
static const char *const outcome_names[NOUTCOMES] = {"ok", "failed", "timeout",
                                                     "no_connection", "error"};

/* Upper bounds of the latency buckets, in milliseconds; +Inf follows. */
static const unsigned bucket_ms[] = {5,   10,   25,   50,   100,  250,
                                     500, 1000, 2500, 5000, 10000};
#define NBUCKETS (sizeof(bucket_ms) / sizeof(bucket_ms[0]))

/* The statuses an event POST is refused with; the last slot is "other". */
static const int refuse_status[] = {400, 401, 403, 404, 405, 406, 408,
                                    411, 413, 415, 429, 500, 503, 504};
#define NREFUSE (sizeof(refuse_status) / sizeof(refuse_status[0]))

static atomic_uint_fast64_t calls[CQ__MT_NTRANSPORTS][NOUTCOMES];
static atomic_uint_fast64_t hist[CQ__MT_NTRANSPORTS][NBUCKETS + 1];
static atomic_uint_fast64_t hist_sum_ms[CQ__MT_NTRANSPORTS];
static atomic_uint_fast64_t ev_received, ev_handled, ev_refused[NREFUSE + 1];

static uint64_t get(atomic_uint_fast64_t *a)
{
    return (uint64_t)atomic_load_explicit(a, memory_order_relaxed);
}


static void add(atomic_uint_fast64_t *a, uint64_t n)
{
    atomic_fetch_add_explicit(a, n, memory_order_relaxed);
}


uint64_t cq__metrics_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


void cq__metrics_call_done(cq__mt_transport t, int err, uint64_t ms)
{
    size_t b = 0;
    int o = err == CQ_OK          ? OUT_OK
            : err == CQ_EFAILED   ? OUT_FAILED
            : err == CQ_ETIMEDOUT ? OUT_TIMEOUT
            : err == CQ_ENOAPI    ? OUT_NOAPI
                                  : OUT_ERROR;

    if ((unsigned)t >= CQ__MT_NTRANSPORTS)
        return;
    add(&calls[t][o], 1);
    while (b < NBUCKETS && ms > bucket_ms[b])
        b++;
    add(&hist[t][b], 1);
    add(&hist_sum_ms[t], ms);
}


void cq__metrics_event(int status)
{
    size_t i = 0;

    add(&ev_received, 1);
    if (status >= 200 && status <= 299) {
        add(&ev_handled, 1);
        return;
    }
    while (i < NREFUSE && refuse_status[i] != status)
        i++;
    add(&ev_refused[i], 1);
}


/* The histogram of transport t: cumulative buckets, sum and count. */
static int write_hist(cq__buf *b, size_t t)
{
    const char *tn = transport_names[t];
    uint64_t cum = 0;
    size_t i;
    int rc = CQ_OK;

    for (i = 0; i <= NBUCKETS && rc == CQ_OK; i++) {
        cum += get(&hist[t][i]);
        if (i < NBUCKETS)
            rc = cq__buf_printf(
                b,
                "cqhttp_api_call_seconds_bucket{transport=\"%s\","
                "le=\"%u.%03u\"} %llu\n",
                tn, bucket_ms[i] / 1000, bucket_ms[i] % 1000,
                (unsigned long long)cum);
        else
            rc = cq__buf_printf(
                b,
                "cqhttp_api_call_seconds_bucket{transport=\"%s\","
                "le=\"+Inf\"} %llu\n",
                tn, (unsigned long long)cum);
    }
    if (rc == CQ_OK)
        rc = cq__buf_printf(
            b,
            "cqhttp_api_call_seconds_sum{transport=\"%s\"} %.3f\n"
            "cqhttp_api_call_seconds_count{transport=\"%s\"} %llu\n",
            tn, (double)get(&hist_sum_ms[t]) / 1000.0, tn,
            (unsigned long long)cum);
    return rc;
}


static int write_calls(cq__buf *b)
{
    size_t t, o;
    int rc = cq__buf_addstr(
        b, "# HELP cqhttp_api_calls_total API calls by transport and outcome.\n"
           "# TYPE cqhttp_api_calls_total counter\n");

    for (t = 0; t < CQ__MT_NTRANSPORTS && rc == CQ_OK; t++)
        for (o = 0; o < NOUTCOMES && rc == CQ_OK; o++)
            rc = cq__buf_printf(
                b,
                "cqhttp_api_calls_total{transport=\"%s\",outcome=\"%s\"} "
                "%llu\n",
                transport_names[t], outcome_names[o],
                (unsigned long long)get(&calls[t][o]));
    if (rc == CQ_OK)
        rc = cq__buf_addstr(b, "# HELP cqhttp_api_call_seconds API call "
                               "latency by transport.\n"
                               "# TYPE cqhttp_api_call_seconds histogram\n");
    for (t = 0; t < CQ__MT_NTRANSPORTS && rc == CQ_OK; t++)
        rc = write_hist(b, t);
    return rc;
}


static int write_events(cq__buf *b)
{
    size_t i;
    int rc = cq__buf_printf(
        b,
        "# HELP cqhttp_events_received_total Event POSTs received.\n"
        "# TYPE cqhttp_events_received_total counter\n"
        "cqhttp_events_received_total %llu\n"
        "# HELP cqhttp_events_handled_total Event POSTs answered 2xx.\n"
        "# TYPE cqhttp_events_handled_total counter\n"
        "cqhttp_events_handled_total %llu\n"
        "# HELP cqhttp_events_refused_total Event POSTs refused, by status.\n"
        "# TYPE cqhttp_events_refused_total counter\n",
        (unsigned long long)get(&ev_received),
        (unsigned long long)get(&ev_handled));

    for (i = 0; i <= NREFUSE && rc == CQ_OK; i++) {
        if (i < NREFUSE)
            rc = cq__buf_printf(b,
                                "cqhttp_events_refused_total{status=\"%d\"} "
                                "%llu\n",
                                refuse_status[i],
                                (unsigned long long)get(&ev_refused[i]));
        else
            rc = cq__buf_printf(b,
                                "cqhttp_events_refused_total{status=\"other\"} "
                                "%llu\n",
                                (unsigned long long)get(&ev_refused[i]));
    }
    return rc;
}


int cq__metrics_write(cq__buf *b, int with_events)
{
    int rc = write_calls(b);

    if (rc == CQ_OK && with_events)
        rc = write_events(b);
    return rc;
}
