/*
 * Unit tests for src/kvs/kvs_metrics.c, printed as TAP: the areas of
 * request paths, the slot of a request's series, histogram buckets at
 * and around their bounds, the escaping of label values and HELP texts,
 * and the exposition text of chosen values, line by line.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvs_metrics.h"

#include "kvs_test.h"


static uint64_t  *kvs_test_values;


static int
kvs_test_setup(void)
{
    kvs_metrics_init();

    kvs_test_values = calloc(kvs_metrics_layout.nslots, sizeof(uint64_t));
    if (kvs_test_values == NULL) {
        printf("Bail out! out of memory\n");
        return -1;
    }

    return 0;
}


static void
kvs_test_cleanup(void)
{
    free(kvs_test_values);
}


/* the whole exposition of the test's values, malloc'd */

static char *
kvs_test_text(const char *const *peers)
{
    char    *text;
    size_t   len;

    len = kvs_metrics_write(NULL, 0, kvs_test_values, peers);

    text = malloc(len + 1);
    if (text == NULL) {
        return NULL;
    }

    if (kvs_metrics_write(text, len + 1, kvs_test_values, peers) != len) {
        free(text);
        return NULL;
    }

    return text;
}


static int
kvs_test_has(const char *text, const char *line)
{
    return text != NULL && strstr(text, line) != NULL;
}


static void
kvs_test_areas(void)
{
    size_t  i;

    static const struct {
        const char         *path;
        kvs_metric_area_e   area;
    } cases[] = {
        { "/kv/", KVS_AREA_KV },
        { "/kv/users/john", KVS_AREA_KV },
        { "/kv", KVS_AREA_OTHER },
        { "/health", KVS_AREA_HEALTH },
        { "/healthz", KVS_AREA_OTHER },
        { "/api/login", KVS_AREA_API },
        { "/api/users/1", KVS_AREA_API },
        { "/members/", KVS_AREA_MEMBERS },
        { "/members", KVS_AREA_MEMBERS },
        { "/members/join", KVS_AREA_CLUSTER },
        { "/members/gossip", KVS_AREA_CLUSTER },
        { "/members/leave", KVS_AREA_CLUSTER },
        { "/members/joined", KVS_AREA_MEMBERS },
        { "/_cluster/apply", KVS_AREA_CLUSTER },
        { "/_cluster/", KVS_AREA_CLUSTER },
        { "/", KVS_AREA_OTHER },
        { "", KVS_AREA_OTHER }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char  desc[128];

        snprintf(desc, sizeof(desc), "area: \"%s\" is area %d",
                 cases[i].path, cases[i].area);
        CHECK(kvs_metrics_area(cases[i].path, strlen(cases[i].path))
              == cases[i].area, desc);
    }
}


static void
kvs_test_series(void)
{
    CHECK(kvs_metrics_request_series("/kv/a", 5, KVS_METHOD_GET, 200)
          == (KVS_AREA_KV * KVS_METHOD_N + KVS_METHOD_GET) * KVS_STATUS_N
             + 1,
          "series: GET /kv/a 200 is kv, GET, 2xx");
    CHECK(kvs_metrics_request_series("/x", 2, KVS_METHOD_OTHER, 599)
          == KVS_AREA_N * KVS_METHOD_N * KVS_STATUS_N - 1,
          "series: other, other, 5xx is the last");
    CHECK(kvs_metrics_request_series("/kv/a", 5, KVS_METHOD_GET, 100) == 0,
          "series: 100 is 1xx, the first");
    CHECK(kvs_metrics_request_series("/kv/a", 5, KVS_METHOD_GET, 99) == -1,
          "series: 99 is no status");
    CHECK(kvs_metrics_request_series("/kv/a", 5, KVS_METHOD_GET, 600) == -1,
          "series: 600 is no status");
    CHECK(kvs_metrics_layout.series[KVS_M_REQUESTS]
          == KVS_AREA_N * KVS_METHOD_N * KVS_STATUS_N,
          "layout: one series per area, method and status class");
    CHECK(kvs_metrics_layout.series[KVS_M_PUSH_LAG] == KVS_METRICS_PEERS + 1,
          "layout: one push lag series per peer slot and other");
    CHECK(kvs_metrics_layout.width[KVS_M_COMMIT_SECONDS] == 12 + 2,
          "layout: a commit histogram's series is 12 bounds, +Inf and sum");
    CHECK(kvs_metrics_layout.offset[KVS_M_N - 1] + 1
          == kvs_metrics_layout.nslots,
          "layout: the last family's slot ends the slots");
}


static void
kvs_test_buckets(void)
{
    CHECK(kvs_metrics_bucket(KVS_M_COMMIT_SECONDS, 0) == 0,
          "bucket: 0 s is in le=0.0005");
    CHECK(kvs_metrics_bucket(KVS_M_COMMIT_SECONDS, 500) == 0,
          "bucket: 500 us is in le=0.0005 (bounds are inclusive)");
    CHECK(kvs_metrics_bucket(KVS_M_COMMIT_SECONDS, 501) == 1,
          "bucket: 501 us is in le=0.001");
    CHECK(kvs_metrics_bucket(KVS_M_COMMIT_SECONDS, 2500000) == 11,
          "bucket: 2.5 s is in the last bound");
    CHECK(kvs_metrics_bucket(KVS_M_COMMIT_SECONDS, 2500001) == 12,
          "bucket: past the last bound is +Inf's");
    CHECK(kvs_metrics_bucket(KVS_M_COMMIT_WRITES, 1) == 0,
          "bucket: one write is in le=1");
    CHECK(kvs_metrics_bucket(KVS_M_COMMIT_WRITES, 3) == 2,
          "bucket: three writes are in le=4");
    CHECK(kvs_metrics_bucket(KVS_M_COMMIT_WRITES, 1024) == 10,
          "bucket: 1024 writes are in le=1024");
    CHECK(kvs_metrics_bucket(KVS_M_PUSH_LAG, 61000000) == 13,
          "bucket: a lag of 61 s is +Inf's");
}


static void
kvs_test_escape(void)
{
    char    out[64];
    size_t  n;

    n = kvs_metrics_escape(out, sizeof(out), "a\\b\"c\nd", 7, 1);
    out[n] = '\0';
    kvs_test_str(out, "a\\\\b\\\"c\\nd", "escape: a label value's \\, \" "
                 "and newline");

    n = kvs_metrics_escape(out, sizeof(out), "a\\b\"c\nd", 7, 0);
    out[n] = '\0';
    kvs_test_str(out, "a\\\\b\"c\\nd", "escape: HELP keeps the quote");

    n = kvs_metrics_escape(out, sizeof(out), "node-1.example", 14, 1);
    out[n] = '\0';
    kvs_test_str(out, "node-1.example", "escape: plain bytes stay");

    memset(out, 'x', sizeof(out));
    n = kvs_metrics_escape(out, 3, "\"\"\"", 3, 1);
    CHECK(n == 6 && out[3] == 'x',
          "escape: measures the whole, writes no more than cap");
}


static void
kvs_test_text_zero(void)
{
    char        *text;
    const char  *peers[KVS_METRICS_PEERS] = { NULL };

    memset(kvs_test_values, 0, kvs_metrics_layout.nslots * sizeof(uint64_t));

    text = kvs_test_text(peers);
    CHECK(text != NULL, "text: measured, then written to the byte");

    CHECK(text != NULL && strncmp(text, "# HELP kvs_http_requests_total ",
                                  31) == 0,
          "text: begins with the first family's HELP");
    CHECK(kvs_test_has(text, "\n# TYPE kvs_http_requests_total counter\n"
                       "kvs_http_requests_total{area=\"kv\",method=\"GET\","
                       "status=\"1xx\"} 0\n"),
          "text: TYPE, then the first series at 0");
    CHECK(kvs_test_has(text, "kvs_http_requests_total{area=\"other\","
                       "method=\"other\",status=\"5xx\"} 0\n"),
          "text: the last request series");
    CHECK(kvs_test_has(text, "# TYPE kvs_push_lag_seconds histogram\n"
                       "# HELP kvs_anti_entropy_rounds_total "),
          "text: no peer, no push lag series");
    CHECK(kvs_test_has(text, "kvs_group_commit_writes_bucket{le=\"+Inf\"} 0\n"
                       "kvs_group_commit_writes_sum 0\n"
                       "kvs_group_commit_writes_count 0\n"),
          "text: an empty histogram");
    CHECK(kvs_test_has(text, "kvs_group_commit_duration_seconds_sum "
                       "0.000000\n"),
          "text: a sum of seconds");
    CHECK(kvs_test_has(text, "\nkvs_rate_limited_requests_total 0\n")
          && kvs_test_has(text, "\nkvs_audit_entries_total 0\n"),
          "text: rate limits and audit are registered at 0");
    CHECK(kvs_test_has(text, "kvs_members{state=\"left\"} 0\n"),
          "text: members by state");
    CHECK(text != NULL && text[strlen(text) - 1] == '\n',
          "text: ends with a newline");

    free(text);
}


static void
kvs_test_text_values(void)
{
    int          s;
    char        *text, buf[64];
    size_t       len, off, w;
    const char  *peers[KVS_METRICS_PEERS] = { NULL };

    memset(kvs_test_values, 0, kvs_metrics_layout.nslots * sizeof(uint64_t));

    s = kvs_metrics_request_series("/kv/a", 5, KVS_METHOD_PUT, 200);
    kvs_test_values[kvs_metrics_layout.offset[KVS_M_REQUESTS] + s] = 3;

    /* commits of 400 us and 2 ms */
    off = kvs_metrics_layout.offset[KVS_M_COMMIT_SECONDS];
    w = 12;
    kvs_test_values[off + kvs_metrics_bucket(KVS_M_COMMIT_SECONDS, 400)]++;
    kvs_test_values[off + kvs_metrics_bucket(KVS_M_COMMIT_SECONDS, 2000)]++;
    kvs_test_values[off + w + 1] = 2400;

    /* push lags: n2 (slot 1) 30 ms; a "quoted" peer (slot 0) none; other
     * 2 s */
    peers[0] = "a\"b";
    peers[1] = "n2";
    off = kvs_metrics_layout.offset[KVS_M_PUSH_LAG];
    w = kvs_metrics_layout.width[KVS_M_PUSH_LAG];
    kvs_test_values[off + w + kvs_metrics_bucket(KVS_M_PUSH_LAG, 30000)]++;
    kvs_test_values[off + w + 14] = 30000;
    kvs_test_values[off + KVS_METRICS_PEERS * w
                    + kvs_metrics_bucket(KVS_M_PUSH_LAG, 2000000)]++;
    kvs_test_values[off + KVS_METRICS_PEERS * w + 14] = 2000000;

    text = kvs_test_text(peers);

    CHECK(kvs_test_has(text, "kvs_http_requests_total{area=\"kv\","
                       "method=\"PUT\",status=\"2xx\"} 3\n"),
          "values: 3 PUTs of /kv/ answered 2xx");
    CHECK(kvs_test_has(text,
              "kvs_group_commit_duration_seconds_bucket{le=\"0.0005\"} 1\n"
              "kvs_group_commit_duration_seconds_bucket{le=\"0.001\"} 1\n"
              "kvs_group_commit_duration_seconds_bucket{le=\"0.0025\"} 2\n"),
          "values: buckets are cumulative");
    CHECK(kvs_test_has(text,
              "kvs_group_commit_duration_seconds_bucket{le=\"+Inf\"} 2\n"
              "kvs_group_commit_duration_seconds_sum 0.002400\n"
              "kvs_group_commit_duration_seconds_count 2\n"),
          "values: +Inf, sum in seconds and count");
    CHECK(kvs_test_has(text, "kvs_push_lag_seconds_bucket{peer=\"a\\\"b\","
                       "le=\"0.005\"} 0\n"),
          "values: a peer's name escaped in its label");
    CHECK(kvs_test_has(text, "kvs_push_lag_seconds_bucket{peer=\"n2\","
                       "le=\"0.025\"} 0\n"
                       "kvs_push_lag_seconds_bucket{peer=\"n2\","
                       "le=\"0.05\"} 1\n"),
          "values: n2's lag of 30 ms in le=0.05");
    CHECK(kvs_test_has(text, "kvs_push_lag_seconds_sum{peer=\"n2\"} "
                       "0.030000\nkvs_push_lag_seconds_count{peer=\"n2\"} "
                       "1\n"),
          "values: n2's sum and count");
    CHECK(kvs_test_has(text, "kvs_push_lag_seconds_count{peer=\"other\"} "
                       "1\n"),
          "values: the peers past the slots as other, once counted");
    CHECK(kvs_test_has(text, "kvs_push_records_total{peer=\"n2\"} 0\n")
          && !kvs_test_has(text, "kvs_push_records_total{peer=\"other\"}"),
          "values: other is left out while it is 0");

    /* a short buffer is filled to its end, never past it */

    len = kvs_metrics_write(NULL, 0, kvs_test_values, peers);
    memset(buf, 'x', sizeof(buf));
    CHECK(kvs_metrics_write(buf, 32, kvs_test_values, peers) == len
          && buf[32] == 'x' && text != NULL
          && memcmp(buf, text, 31) == 0,
          "values: a short buffer holds the text's beginning");

    free(text);
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_areas),
    KVS_TEST_CASE(kvs_test_series),
    KVS_TEST_CASE(kvs_test_buckets),
    KVS_TEST_CASE(kvs_test_escape),
    KVS_TEST_CASE(kvs_test_text_zero),
    KVS_TEST_CASE(kvs_test_text_values),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    kvs_test_setup, kvs_test_cleanup, kvs_test_cases
};
