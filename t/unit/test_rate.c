/*
 * Unit tests of kvs_rate.c: a client's sliding window.  The promise is
 * checked by brute force over a few thousand ms of requests: no window of
 * W ms ever holds more than N admitted requests, straddling a boundary
 * included, and a request is refused only when the last W + W / 20 ms hold
 * N admitted ones.  Then the headers' numbers: Remaining, Reset (the
 * refused request gets in exactly then, not a ms earlier), refusals that
 * count for nothing, and clocks near 2^64 or going back.
 */

#include <stdint.h>
#include <string.h>

#include "kvs_rate.h"
#include "kvs_test.h"


#define W     1000                      /* ms */
#define B     (W / KVS_RATE_BUCKETS)    /* 50 ms */
#define SPAN  6000


/* the admitted requests of a run, by ms, for the brute-force checks */
static unsigned  kvs_test_admitted[SPAN];


/* the most admitted requests in any W ms of the run, and whether a
 * refusal came while fewer than n were admitted in the W + B before it */
static void
kvs_test_scan(uint32_t n, const unsigned *refused, unsigned *most,
    int *wrongly)
{
    unsigned  t, u, in;

    *most = 0;
    *wrongly = 0;

    for (t = 0; t < SPAN; t++) {
        in = 0;

        for (u = (t >= W - 1 ? t - (W - 1) : 0); u <= t; u++) {
            in += kvs_test_admitted[u];
        }

        if (in > *most) {
            *most = in;
        }

        if (refused[t]) {
            in = 0;

            for (u = (t >= W + B ? t - (W + B) : 0); u <= t; u++) {
                in += kvs_test_admitted[u];
            }

            if (in < n) {
                *wrongly = 1;
            }
        }
    }
}


/* an admitted request's Reset, by scanning the slots from the oldest */
static uint64_t
kvs_test_reset(const kvs_rate_window_t *w, uint64_t now)
{
    unsigned  k;

    for (k = KVS_RATE_BUCKETS; k > 0; k--) {
        if (w->counts[(w->newest + KVS_RATE_SLOTS - k) % KVS_RATE_SLOTS]) {
            break;
        }
    }

    return (KVS_RATE_SLOTS - k) * (uint64_t) w->bucket_ms
           - (now / w->bucket_ms == w->newest ? now % w->bucket_ms : 0);
}


/* a client that sends every `every` ms, `burst` requests at once */
static void
kvs_test_run(uint32_t n, unsigned every, unsigned burst, unsigned offset,
    const char *desc)
{
    char                 d1[128];
    unsigned             t, k, most, resets;
    int                  wrongly;
    static unsigned      refused[SPAN];
    kvs_rate_window_t    w;
    kvs_rate_decision_t  d;

    memset(&w, 0, sizeof(w));
    memset(kvs_test_admitted, 0, sizeof(kvs_test_admitted));
    memset(refused, 0, sizeof(refused));
    resets = 0;

    for (t = offset; t < SPAN; t += every) {
        for (k = 0; k < burst; k++) {
            kvs_rate_take(&w, W, n, t, &d);

            if (d.admitted) {
                kvs_test_admitted[t]++;
                resets += d.reset_ms != kvs_test_reset(&w, t);

            } else {
                refused[t] = 1;
            }
        }
    }

    kvs_test_scan(n, refused, &most, &wrongly);

    for (k = 0, t = 0; k < KVS_RATE_SLOTS; k++) {
        t += w.counts[k];
    }

    snprintf(d1, sizeof(d1), "%s: the total kept is the counts' sum", desc);
    CHECK(t == w.total, d1);
    snprintf(d1, sizeof(d1), "%s: each Reset is when the oldest counted "
             "bucket leaves", desc);
    CHECK(resets == 0, d1);

    snprintf(d1, sizeof(d1), "%s: never more than %u in any %d ms "
             "(most %u)", desc, (unsigned) n, W, most);
    CHECK(most <= n, d1);
    snprintf(d1, sizeof(d1), "%s: refused only when %u came in the last "
             "%d ms", desc, (unsigned) n, W + B);
    CHECK(!wrongly, d1);
}


static void
kvs_test_sliding(void)
{
    kvs_test_run(10, 1, 1, 0, "every ms");
    kvs_test_run(10, 7, 3, 0, "bursts of 3 every 7 ms");
    kvs_test_run(5, 333, 5, 0, "bursts of 5 every 333 ms");
    kvs_test_run(1, 1, 1, 17, "a limit of 1");
    kvs_test_run(100, 3, 2, 1, "a limit of 100");
    kvs_test_run(10, 1000, 10, 999, "bursts at the end of each second");
}


/* N requests at the end of one fixed window, N more at the start of the
 * next: a fixed window would take 2 N in 2 ms */
static void
kvs_test_straddle(void)
{
    unsigned             i, in;
    kvs_rate_window_t    w;
    kvs_rate_decision_t  d;

    memset(&w, 0, sizeof(w));
    in = 0;

    for (i = 0; i < 10; i++) {
        kvs_rate_take(&w, W, 10, 999, &d);
        in += d.admitted;
    }

    CHECK(in == 10 && d.remaining == 0, "straddle: 10 at 999 ms");

    for (i = 0; i < 10; i++) {
        kvs_rate_take(&w, W, 10, 1000 + i, &d);
        in += d.admitted;
    }

    CHECK(in == 10, "straddle: none of 10 more at 1000 ms");

    /* 999 is in the bucket [950, 1000), which leaves at 2000 */
    kvs_rate_take(&w, W, 10, 1999, &d);
    CHECK(!d.admitted && d.reset_ms == 1, "straddle: refused at 1999 ms, "
          "room in 1 ms");
    kvs_rate_take(&w, W, 10, 2000, &d);
    CHECK(d.admitted && d.remaining == 9, "straddle: room again at 2000 ms");
}


static void
kvs_test_headers(void)
{
    unsigned             i;
    kvs_rate_window_t    w;
    kvs_rate_decision_t  d;

    memset(&w, 0, sizeof(w));

    for (i = 0; i < 3; i++) {
        kvs_rate_take(&w, W, 3, 10, &d);
        CHECK(d.admitted && d.limit == 3 && d.remaining == 2 - i,
              "headers: Remaining counts down");
    }

    /* bucket [0, 50) leaves at 1050 */
    CHECK(d.reset_ms == 1040, "headers: Reset is when the oldest leaves");

    kvs_rate_take(&w, W, 3, 10, &d);
    CHECK(!d.admitted && d.remaining == 0 && d.reset_ms == 1040,
          "headers: refused, room when the oldest bucket leaves");

    /* two more buckets: the first leaving frees one */
    memset(&w, 0, sizeof(w));
    kvs_rate_take(&w, W, 3, 0, &d);
    kvs_rate_take(&w, W, 3, 100, &d);
    kvs_rate_take(&w, W, 3, 200, &d);
    kvs_rate_take(&w, W, 3, 300, &d);
    CHECK(!d.admitted && d.reset_ms == 750,
          "headers: refused at 300, room at 1050");

    /* two in the oldest bucket, a limit of 2 later lowered: both leave */
    memset(&w, 0, sizeof(w));
    kvs_rate_take(&w, W, 4, 0, &d);
    kvs_rate_take(&w, W, 4, 0, &d);
    kvs_rate_take(&w, W, 4, 500, &d);
    kvs_rate_take(&w, W, 2, 600, &d);
    CHECK(!d.admitted && d.reset_ms == 450,
          "headers: a lowered limit waits until enough leave");

    /* the newest bucket alone is full: it leaves 21 buckets on */
    memset(&w, 0, sizeof(w));
    kvs_rate_take(&w, W, 1, 120, &d);
    CHECK(d.admitted && d.reset_ms == 21 * B - 20,
          "headers: one request, reset when its bucket leaves");
    kvs_rate_take(&w, W, 1, 130, &d);
    CHECK(!d.admitted && d.reset_ms == 21 * B - 30,
          "headers: refused until that bucket leaves");
    kvs_rate_take(&w, W, 1, 130 + d.reset_ms - 1, &d);
    CHECK(!d.admitted, "headers: still refused a ms before Reset");
    kvs_rate_take(&w, W, 1, 1150, &d);
    CHECK(d.admitted, "headers: admitted at Reset");

    CHECK(kvs_rate_seconds(0) == 1 && kvs_rate_seconds(1) == 1
          && kvs_rate_seconds(1000) == 1 && kvs_rate_seconds(1001) == 2
          && kvs_rate_seconds(59999) == 60,
          "headers: seconds rounded up, at least 1");
}


/* a refused request is not counted: a client that keeps knocking gets in
 * as soon as one that waited would */
static void
kvs_test_refused(void)
{
    unsigned             i, in;
    kvs_rate_window_t    w;
    kvs_rate_decision_t  d;

    memset(&w, 0, sizeof(w));

    for (i = 0; i < 5; i++) {
        kvs_rate_take(&w, W, 5, 0, &d);
    }

    in = 0;

    for (i = 1; i < 1050; i++) {
        kvs_rate_take(&w, W, 5, i, &d);
        in += d.admitted;
    }

    CHECK(in == 0, "refused: knocking for 1049 ms, all refused");

    for (i = 0; i < 10; i++) {
        kvs_rate_take(&w, W, 5, 1050, &d);
        in += d.admitted;
    }

    CHECK(in == 5, "refused: 1049 refusals counted for nothing: 5 again "
                   "once the first 5 left");

    kvs_rate_take(&w, W, 0, 1050, &d);
    CHECK(d.admitted && d.limit == 0, "refused: a limit of 0 is none");
}


static void
kvs_test_clocks(void)
{
    unsigned             i, in;
    uint64_t             t;
    kvs_rate_window_t    w;
    kvs_rate_decision_t  d;

    /* near 2^64: no overflow in the buckets' times */
    t = UINT64_MAX - 3 * W;
    memset(&w, 0, sizeof(w));
    in = 0;

    for (i = 0; i < 4; i++) {
        kvs_rate_take(&w, W, 3, t, &d);
        in += d.admitted;
    }

    CHECK(in == 3 && !d.admitted && d.reset_ms > 0 && d.reset_ms <= 21 * B,
          "clocks: near 2^64, 3 of 4 and a Reset within a window");

    kvs_rate_take(&w, W, 3, t + d.reset_ms, &d);
    CHECK(d.admitted, "clocks: near 2^64, room at Reset");

    /* a process whose cached time is a little behind: the newest bucket */
    memset(&w, 0, sizeof(w));
    kvs_rate_take(&w, W, 2, 1800000000000ULL, &d);
    kvs_rate_take(&w, W, 2, 1800000000000ULL - 30, &d);
    CHECK(d.admitted && d.remaining == 0, "clocks: 30 ms behind counts");
    CHECK(d.reset_ms == 21 * B + 30,
          "clocks: 30 ms behind, Reset from that clock's now");
    kvs_rate_take(&w, W, 2, 1800000000000ULL - 60, &d);
    CHECK(!d.admitted, "clocks: behind, still limited");

    /* a clock set back by half a window (an NTP step): the wait is
     * told from now, the newest bucket's start being half a window on */
    memset(&w, 0, sizeof(w));
    t = 1800000000000ULL;
    kvs_rate_take(&w, W, 1, t, &d);
    kvs_rate_take(&w, W, 1, t - W / 2, &d);
    CHECK(!d.admitted && d.reset_ms == 21 * B + W / 2,
          "clocks: half a window back, Reset counts the half window");
    kvs_rate_take(&w, W, 1, t - W / 2 + d.reset_ms - 1, &d);
    CHECK(!d.admitted, "clocks: half a window back, refused before Reset");
    kvs_rate_take(&w, W, 1, t + 21 * B, &d);
    CHECK(d.admitted, "clocks: half a window back, room at Reset");

    /* a clock set back by an hour starts afresh rather than wait it out */
    memset(&w, 0, sizeof(w));
    kvs_rate_take(&w, W, 2, 1800000000000ULL, &d);
    kvs_rate_take(&w, W, 2, 1800000000000ULL - 60, &d);
    kvs_rate_take(&w, W, 2, 1800000000000ULL - 3600000, &d);
    CHECK(d.admitted && d.remaining == 1,
          "clocks: an hour back starts the window afresh");

    /* another window: the counts of the old buckets mean nothing */
    kvs_rate_take(&w, 2 * W, 2, 1800000000000ULL - 3600000, &d);
    CHECK(d.admitted && d.remaining == 1 && w.bucket_ms == 2 * B,
          "clocks: another window starts afresh");

    /* a window shorter than 20 ms: buckets of 1 ms */
    memset(&w, 0, sizeof(w));
    kvs_rate_take(&w, 5, 1, 0, &d);
    CHECK(d.admitted && w.bucket_ms == 1 && d.reset_ms == 21,
          "clocks: a tiny window takes 1 ms buckets");
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_sliding),
    KVS_TEST_CASE(kvs_test_straddle),
    KVS_TEST_CASE(kvs_test_headers),
    KVS_TEST_CASE(kvs_test_refused),
    KVS_TEST_CASE(kvs_test_clocks),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    NULL, NULL, kvs_test_cases
};
