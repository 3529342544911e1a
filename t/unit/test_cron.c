/*
 * Unit tests for src/kvs/kvs_cron.c, printed as TAP.
 *
 * Times are written as "2026-02-28T23:59Z" and read and printed with
 * glibc's timegm() and gmtime_r(), which take no TZ, so the tests hold the
 * core's own calendar arithmetic to another one.  The next runs of random
 * expressions, from a deterministic generator, are compared with a plain
 * minute-by-minute walk.  It exits non-zero when any check fails.
 */

#define _GNU_SOURCE

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvs_cron.h"

#include "kvs_test.h"
#include "kvs_cron_rule.h"


#define S(s)  s, sizeof(s) - 1

/* minutes the brute-force walk covers from each start: 40 days */
#define KVS_TEST_SPAN  (40 * 1440)


typedef struct {
    const char  *expr;
    const char  *error;
} kvs_test_refusal_t;


typedef struct {
    const char  *expr;
    const char  *from;
    const char  *want;
    const char  *desc;
} kvs_test_run_t;


static uint64_t  kvs_test_state = 0x9e3779b97f4a7c15ULL;


/* "YYYY-MM-DDTHH:MMZ" as ms since the epoch */

static uint64_t
kvs_test_ms(const char *iso)
{
    struct tm  tm;

    memset(&tm, 0, sizeof(tm));

    if (sscanf(iso, "%d-%d-%dT%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min) != 5)
    {
        fprintf(stderr, "bad time in a test: %s\n", iso);
        exit(2);
    }

    tm.tm_year -= 1900;
    tm.tm_mon -= 1;

    return (uint64_t) timegm(&tm) * 1000;
}


static void
kvs_test_iso(uint64_t ms, char out[64])
{
    time_t     t;
    struct tm  tm;

    t = (time_t) (ms / 1000);
    gmtime_r(&t, &tm);
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
}


static int
kvs_test_parse(kvs_cron_t *c, const char *expr)
{
    char  err[KVS_CRON_ERRLEN];

    if (kvs_cron_parse(c, expr, strlen(expr), err, sizeof(err)) != 0) {
        printf("# \"%s\": %s\n", expr, err);
        return -1;
    }

    return 0;
}


/* the next run of expr after from, as text, or "refused" / "none" */

static void
kvs_test_next(const char *expr, const char *from, char out[64])
{
    uint64_t    next;
    kvs_cron_t  c;

    if (kvs_test_parse(&c, expr) != 0) {
        strcpy(out, "refused");
        return;
    }

    if (kvs_cron_next(&c, kvs_test_ms(from), &next) != 0) {
        strcpy(out, "none");
        return;
    }

    kvs_test_iso(next, out);
}


static void
kvs_test_runs(const kvs_test_run_t *runs)
{
    char  got[64];

    for ( /* void */ ; runs->expr != NULL; runs++) {
        kvs_test_next(runs->expr, runs->from, got);
        kvs_test_str(got, runs->want, runs->desc);
    }
}


static void
kvs_test_nicknames(void)
{
    size_t      i;
    kvs_cron_t  a, b;

    static const char  *pairs[][2] = {
        { "@yearly",   "0 0 1 1 *" },
        { "@annually", "0 0 1 1 *" },
        { "@monthly",  "0 0 1 * *" },
        { "@weekly",   "0 0 * * 0" },
        { "@daily",    "0 0 * * *" },
        { "@midnight", "0 0 * * *" },
        { "@hourly",   "0 * * * *" },
        { "@DAILY",    KVS_CRON_DEFAULT },
        { " \t@hourly\t ", "0 * * * *" }
    };

    static const kvs_test_run_t  runs[] = {
        { "@yearly", "2026-12-02T11:50Z", "2027-01-01T00:00Z",
          "nicknames: @yearly" },
        { "@annually", "2027-01-01T00:00Z", "2028-01-01T00:00Z",
          "nicknames: @annually, from a run, the next year" },
        { "@monthly", "2026-12-02T11:50Z", "2027-01-01T00:00Z",
          "nicknames: @monthly" },
        { "@weekly", "2026-12-02T11:50Z", "2026-12-06T00:00Z",
          "nicknames: @weekly is Sunday midnight" },
        { "@daily", "2026-12-02T11:50Z", "2026-12-03T00:00Z",
          "nicknames: @daily" },
        { "@midnight", "2026-12-31T23:59Z", "2027-01-01T00:00Z",
          "nicknames: @midnight" },
        { "@hourly", "2026-12-02T11:50Z", "2026-12-02T12:00Z",
          "nicknames: @hourly" },
        { NULL, NULL, NULL, NULL }
    };

    for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        CHECK(kvs_test_parse(&a, pairs[i][0]) == 0
              && kvs_test_parse(&b, pairs[i][1]) == 0
              && memcmp(&a, &b, sizeof(a)) == 0, pairs[i][0]);
    }

    kvs_test_runs(runs);
}


static void
kvs_test_fields(void)
{
    kvs_cron_t  c;

    CHECK(kvs_test_parse(&c, "* * * * *") == 0
          && c.minute == 0x0fffffffffffffffULL && c.hour == 0xffffff
          && c.dom == 0xfffffffe && c.month == 0x1ffe && c.dow == 0x7f
          && c.dom_star && c.dow_star, "fields: every value");

    CHECK(kvs_test_parse(&c, "1-5 0,12,23 1,15-17 1-3,12 1-5") == 0
          && c.minute == 0x3e && c.hour == 0x801001
          && c.dom == ((1u << 1) | (7u << 15)) && c.month == 0x100e
          && c.dow == 0x3e && !c.dom_star && !c.dow_star,
          "fields: ranges and lists");

    CHECK(kvs_test_parse(&c, "*/15 */6 1-30/10 */5 *") == 0
          && c.minute == ((1ULL << 0) | (1ULL << 15) | (1ULL << 30)
                          | (1ULL << 45))
          && c.hour == 0x041041
          && c.dom == ((1u << 1) | (1u << 11) | (1u << 21))
          && c.month == ((1u << 1) | (1u << 6) | (1u << 11)),
          "fields: steps over * and over a range");

    CHECK(kvs_test_parse(&c, "5/20 22/1 * * *") == 0
          && c.minute == ((1ULL << 5) | (1ULL << 25) | (1ULL << 45))
          && c.hour == 0xc00000,
          "fields: 5/20 is 5-59/20");

    CHECK(kvs_test_parse(&c, "0 0 * jan,MAR-May,dec Mon-fri") == 0
          && c.month == ((1u << 1) | (7u << 3) | (1u << 12))
          && c.dow == 0x3e, "fields: names, either case, in ranges");

    CHECK(kvs_test_parse(&c, "0 0 * feb/3 sun") == 0
          && c.month == ((1u << 2) | (1u << 5) | (1u << 8) | (1u << 11))
          && c.dow == 1, "fields: a name with a step");

    CHECK(kvs_test_parse(&c, "0 0 * * 7") == 0 && c.dow == 1,
          "fields: 7 is Sunday");
    CHECK(kvs_test_parse(&c, "0 0 * * 5-7") == 0 && c.dow == 0x61,
          "fields: 5-7 is Friday to Sunday");
    CHECK(kvs_test_parse(&c, "0 0 * * mon-sun") == 0 && c.dow == 0x7f,
          "fields: mon-sun is every day");
    CHECK(kvs_test_parse(&c, "0 0 * * sun-sat") == 0 && c.dow == 0x7f,
          "fields: sun-sat is every day");
    CHECK(kvs_test_parse(&c, "0 0 * * sun-sun") == 0 && c.dow == 1,
          "fields: sun-sun is Sunday alone");
    CHECK(kvs_test_parse(&c, "0 0 * * fri-SUN") == 0 && c.dow == 0x61,
          "fields: fri-sun is Friday to Sunday");
    CHECK(kvs_test_parse(&c, "0 0 * * 1/3") == 0 && c.dow == 0x13,
          "fields: 1/3 runs to 7, Sunday");
    CHECK(kvs_test_parse(&c, "0 0 * * 0,7") == 0 && c.dow == 1,
          "fields: 0 and 7 are one day");

    CHECK(kvs_test_parse(&c, "59 23 31 12 6") == 0
          && c.minute == (1ULL << 59) && c.hour == (1u << 23)
          && c.dom == (1u << 31) && c.month == (1u << 12) && c.dow == 0x40,
          "fields: each field's highest value");

    CHECK(kvs_test_parse(&c, "*/60 */24 */31 */12 */8") == 0
          && c.minute == 1 && c.hour == 1 && c.dom == 2 && c.month == 2
          && c.dow == 1, "fields: a step of the whole span is the first");

    CHECK(kvs_test_parse(&c, "0 0 */2 * *") == 0 && c.dom_star,
          "fields: */2 starts with * and counts as unrestricted");
}


static void
kvs_test_blanks(void)
{
    kvs_cron_t  a, b;

    kvs_test_parse(&a, "5 4 * * 1");

    CHECK(kvs_test_parse(&b, "5\t4\t*\t*\t1") == 0
          && memcmp(&a, &b, sizeof(a)) == 0, "blanks: tabs");
    CHECK(kvs_test_parse(&b, "5   4 \t * *  1") == 0
          && memcmp(&a, &b, sizeof(a)) == 0, "blanks: runs of blanks");
    CHECK(kvs_test_parse(&b, "  5 4 * * 1 \t") == 0
          && memcmp(&a, &b, sizeof(a)) == 0,
          "blanks: leading and trailing");
    CHECK(kvs_cron_parse(&b, S("5 4 * * 1 and more"), NULL, 0) == -1,
          "blanks: no room for a sentence is no crash");
    CHECK(kvs_cron_parse(&b, S("5 4 * * 1\0"), NULL, 0) == -1,
          "blanks: a NUL is not a blank");
}


static void
kvs_test_refusals(void)
{
    int         rc;
    char        err[KVS_CRON_ERRLEN];
    kvs_cron_t  c, before;
    const kvs_test_refusal_t  *r;

    static const kvs_test_refusal_t  refusals[] = {
        { "0 0 32 * *", "field 3 (day of month): 32 is out of range 1-31" },
        { "0 0 0 * *", "field 3 (day of month): 0 is out of range 1-31" },
        { "60 * * * *", "field 1 (minute): 60 is out of range 0-59" },
        { "* 24 * * *", "field 2 (hour): 24 is out of range 0-23" },
        { "* * * 13 *", "field 4 (month): 13 is out of range 1-12" },
        { "* * * 0 *", "field 4 (month): 0 is out of range 1-12" },
        { "* * * * 8", "field 5 (day of week): 8 is out of range 0-7" },
        { "99999999999999999999 * * * *",
          "field 1 (minute): 99999999999999999999 is out of range 0-59" },
        { "1-99999999999999999999999999 * * * *",
          "field 1 (minute): 999999999999999999999999... is out of "
          "range 0-59" },
        { "*/0 * * * *", "field 1 (minute): the step 0 is out of range 1-60" },
        { "*/61 * * * *",
          "field 1 (minute): the step 61 is out of range 1-60" },
        { "* */25 * * *",
          "field 2 (hour): the step 25 is out of range 1-24" },
        { "*/99999999999999999999 * * * *",
          "field 1 (minute): the step 99999999999999999999 is out of "
          "range 1-60" },
        { "*/ * * * *", "field 1 (minute): the step \"\" is not a number" },
        { "*/5x * * * *",
          "field 1 (minute): the step \"5x\" is not a number" },
        { "*/-1 * * * *",
          "field 1 (minute): the step \"-1\" is not a number" },
        { "5-1 * * * *", "field 1 (minute): the range 5-1 runs backwards" },
        { "* * * * sat-mon",
          "field 5 (day of week): the range sat-mon runs backwards" },
        { "* * * * 1-0",
          "field 5 (day of week): the range 1-0 runs backwards" },
        { "1-2-3 * * * *", "field 1 (minute): \"2-3\" is not a number" },
        { "-5 * * * *", "field 1 (minute): a range or step lacks a value" },
        { "5- * * * *", "field 1 (minute): a range or step lacks a value" },
        { "/5 * * * *", "field 1 (minute): a range or step lacks a value" },
        { "1,,2 * * * *", "field 1 (minute): an empty item in the list" },
        { ",1 * * * *", "field 1 (minute): an empty item in the list" },
        { "1, * * * *", "field 1 (minute): an empty item in the list" },
        { "5x * * * *", "field 1 (minute): \"5x\" is not a number" },
        { "** * * * *", "field 1 (minute): \"**\" is not a number" },
        { "jan * * * *", "field 1 (minute): \"jan\" is not a number" },
        { "* * * january *",
          "field 4 (month): \"january\" is neither a number nor a name "
          "(jan-dec)" },
        { "* * * * mon,funday",
          "field 5 (day of week): \"funday\" is neither a number nor a "
          "name (sun-sat)" },
        { "* * * * jan",
          "field 5 (day of week): \"jan\" is neither a number nor a name "
          "(sun-sat)" },
        { "* * * * *\n", "field 5 (day of week): \"*?\" is neither a number "
          "nor a name (sun-sat)" },
        { "", "0 fields where 5 are expected (minute hour day-of-month "
              "month day-of-week)" },
        { " \t ", "0 fields where 5 are expected (minute hour day-of-month "
                  "month day-of-week)" },
        { "* * * *", "4 fields where 5 are expected (minute hour "
                     "day-of-month month day-of-week)" },
        { "0", "1 field where 5 are expected (minute hour day-of-month "
               "month day-of-week)" },
        { "* * * * * *", "6 fields where 5 are expected (minute hour "
                         "day-of-month month day-of-week)" },
        { "0 0 * * * /usr/bin/backup", "6 fields where 5 are expected "
          "(minute hour day-of-month month day-of-week)" },
        { "@reboot", "unknown nickname \"@reboot\": @yearly, @annually, "
                     "@monthly, @weekly, @daily, @midnight or @hourly" },
        { "@daily 5", "unknown nickname \"@daily 5\": @yearly, @annually, "
                      "@monthly, @weekly, @daily, @midnight or @hourly" },
        { "@", "unknown nickname \"@\": @yearly, @annually, @monthly, "
               "@weekly, @daily, @midnight or @hourly" },
        { "0 0 30 2 *", "\"0 0 30 2 *\" never runs: no date has its day of "
                        "month, month and day of week" },
        { "0 0 31 4,6,9,11 *", "\"0 0 31 4,6,9,11 *\" never runs: no date "
          "has its day of month, month and day of week" },
        { "* * 30,31 feb *", "\"* * 30,31 feb *\" never runs: no date has "
          "its day of month, month and day of week" },
        { "\t0 0 31 11 * ", "\"0 0 31 11 *\" never runs: no date has its "
          "day of month, month and day of week" },
        { NULL, NULL }
    };

    for (r = refusals; r->expr != NULL; r++) {
        memset(&before, 0x5a, sizeof(before));
        c = before;
        err[0] = '\0';

        rc = kvs_cron_parse(&c, r->expr, strlen(r->expr), err, sizeof(err));

        /* the sentence names the case: some expressions hold a newline */
        CHECK(rc == -1 && memcmp(&c, &before, sizeof(c)) == 0, r->error);
        kvs_test_str(err, r->error, r->error);
    }

    /* the sentence cut to the room there is, still a string */
    memset(err, 'x', sizeof(err));
    rc = kvs_cron_parse(&c, S("0 0 32 * *"), err, 12);
    CHECK(rc == -1 && strcmp(err, "field 3 (da") == 0,
          "refusals: a sentence is cut to errlen");
}


static void
kvs_test_possible(void)
{
    kvs_cron_t  c;

    CHECK(kvs_test_parse(&c, "0 0 29 2 *") == 0, "possible: Feb 29");
    CHECK(kvs_test_parse(&c, "0 0 31 2,3 *") == 0,
          "possible: the 31st of Feb or Mar");
    CHECK(kvs_test_parse(&c, "0 0 30 2 mon") == 0,
          "possible: Feb 30 or a Monday in Feb");
    CHECK(kvs_test_parse(&c, "0 0 */30 2 *") == 0,
          "possible: */30 in Feb is the 1st");
}


static void
kvs_test_days(void)
{
    static const kvs_test_run_t  runs[] = {
        /* 2026-12-02 is a Wednesday */
        { "0 0 13 * fri", "2026-12-02T00:00Z", "2026-12-04T00:00Z",
          "days: both restricted, a Friday that is not the 13th" },
        { "0 0 3 * fri", "2026-12-02T00:00Z", "2026-12-03T00:00Z",
          "days: both restricted, the 3rd that is not a Friday" },
        { "0 0 * * fri", "2026-12-02T00:00Z", "2026-12-04T00:00Z",
          "days: day of month * is every Friday" },
        { "0 0 13 * *", "2026-12-02T00:00Z", "2026-12-13T00:00Z",
          "days: day of week * is every 13th" },
        { "0 0 */2 * fri", "2026-12-02T00:00Z", "2026-12-11T00:00Z",
          "days: */2 with a day of week, an odd day that is a Friday" },
        { "0 0 1-7 * */7", "2026-12-02T00:00Z", "2026-12-06T00:00Z",
          "days: */7 in day of week starts with *: the first Sunday" },
        { "0 0 1-7 * 0", "2026-12-02T00:00Z", "2026-12-03T00:00Z",
          "days: 1-7 or a Sunday" },
        { "0 0 8 * 0", "2026-12-02T00:00Z", "2026-12-06T00:00Z",
          "days: the 8th or a Sunday, Sunday first" },
        { NULL, NULL, NULL, NULL }
    };

    kvs_test_runs(runs);
}


static void
kvs_test_calendar(void)
{
    static const kvs_test_run_t  runs[] = {
        { "0 0 29 2 *", "2026-01-01T00:00Z", "2028-02-29T00:00Z",
          "calendar: Feb 29 in the next leap year" },
        { "0 0 29 2 *", "2096-02-29T00:00Z", "2104-02-29T00:00Z",
          "calendar: 2100 is not a leap year" },
        { "0 0 29 2 *", "2399-03-01T00:00Z", "2400-02-29T00:00Z",
          "calendar: 2400 is a leap year" },
        { "0 0 31 * *", "2026-04-01T00:00Z", "2026-05-31T00:00Z",
          "calendar: the 31st skips a 30-day month" },
        { "0 0 31 * *", "2026-01-31T00:00Z", "2026-03-31T00:00Z",
          "calendar: the 31st skips February" },
        { "0 0 30 * *", "2027-01-30T00:00Z", "2027-03-30T00:00Z",
          "calendar: the 30th skips February" },
        { "59 23 31 12 *", "2026-12-31T23:58Z", "2026-12-31T23:59Z",
          "calendar: the last minute of a year" },
        { "0 0 1 1 *", "2026-12-31T23:59Z", "2027-01-01T00:00Z",
          "calendar: into the next year" },
        { "0 0 * * 1", "1970-01-01T00:00Z", "1970-01-05T00:00Z",
          "calendar: the epoch was a Thursday" },
        { "0 12 29 2 *", "2000-01-01T00:00Z", "2000-02-29T12:00Z",
          "calendar: 2000 is a leap year" },
        { "0 0 13 * *", "2038-01-19T03:14Z", "2038-02-13T00:00Z",
          "calendar: past 2^31 seconds" },
        { NULL, NULL, NULL, NULL }
    };

    kvs_test_runs(runs);
}


static void
kvs_test_after(void)
{
    uint64_t    next, t;
    kvs_cron_t  c;

    static const kvs_test_run_t  runs[] = {
        { "30 12 * * *", "2026-12-02T12:30Z", "2026-12-03T12:30Z",
          "after: exactly on a run gives the next" },
        { "* * * * *", "2026-12-02T12:30Z", "2026-12-02T12:31Z",
          "after: every minute, the next minute" },
        { "*/15 * * * *", "2026-12-02T23:45Z", "2026-12-03T00:00Z",
          "after: */15 past midnight" },
        { "0 */6 * * *", "2026-12-02T18:00Z", "2026-12-03T00:00Z",
          "after: */6 hours past midnight" },
        { "5 4 * * sun", "2026-12-06T04:05Z", "2026-12-13T04:05Z",
          "after: a week later" },
        { NULL, NULL, NULL, NULL }
    };

    kvs_test_runs(runs);

    kvs_test_parse(&c, "30 12 * * *");
    t = kvs_test_ms("2026-12-02T12:30Z");

    CHECK(kvs_cron_next(&c, t - 1, &next) == 0 && next == t,
          "after: a ms before a run gives it");
    CHECK(kvs_cron_next(&c, t + 59999, &next) == 0
          && next == t + 86400000ULL,
          "after: within the minute of a run, the next day's");
}


static void
kvs_test_far(void)
{
    uint64_t    next;
    kvs_cron_t  c;

    kvs_test_parse(&c, "* * * * *");

    CHECK(kvs_cron_next(&c, UINT64_MAX, &next) == -1,
          "far: past 64 bits of ms is refused");
    CHECK(kvs_cron_next(&c, UINT64_MAX - 120000, &next) == 0
          && next > UINT64_MAX - 120000 && next % 60000 == 0,
          "far: the last minutes 64 bits hold");

    /* a year past 584 million: the date arithmetic in 64 bits */
    kvs_test_parse(&c, "0 0 29 2 *");
    CHECK(kvs_cron_next(&c, UINT64_MAX / 2, &next) == 0
          && next > UINT64_MAX / 2 && next % 86400000 == 0,
          "far: Feb 29 some 292 million years on");
}


/* the process's zone does not move a schedule */

static void
kvs_test_zone(void)
{
    char  got[64];

    setenv("TZ", "America/New_York", 1);
    tzset();
    kvs_test_next("0 0 * * *", "2026-12-02T11:50Z", got);
    kvs_test_str(got, "2026-12-03T00:00Z", "zone: UTC under New York's");

    setenv("TZ", "Asia/Kolkata", 1);
    tzset();
    kvs_test_next("30 2 * * *", "2026-12-02T02:29Z", got);
    kvs_test_str(got, "2026-12-02T02:30Z", "zone: UTC under Kolkata's");

    unsetenv("TZ");
    tzset();
}


static uint32_t
kvs_test_rand(uint32_t n)
{
    kvs_test_state ^= kvs_test_state << 13;
    kvs_test_state ^= kvs_test_state >> 7;
    kvs_test_state ^= kvs_test_state << 17;

    return (uint32_t) (kvs_test_state % n);
}


/* one random field between min and max, with names when it has them */

static size_t
kvs_test_field(char *out, int min, int max, const char *const *names)
{
    int     a, b, items, i;
    size_t  n;

    n = 0;
    items = 1 + (kvs_test_rand(4) == 0) * (1 + kvs_test_rand(2));

    for (i = 0; i < items; i++) {
        a = min + (int) kvs_test_rand((uint32_t) (max - min + 1));
        b = a + (int) kvs_test_rand((uint32_t) (max - a + 1));

        n += (size_t) sprintf(out + n, "%s", i ? "," : "");

        switch (kvs_test_rand(7)) {
        case 0:
            n += (size_t) sprintf(out + n, "*");
            break;
        case 1:
            n += (size_t) sprintf(out + n, "*/%d",
                                  1 + (int) kvs_test_rand(max - min + 1));
            break;
        case 2:
            n += (size_t) sprintf(out + n, "%d-%d/%d", a, b,
                                  1 + (int) kvs_test_rand(5));
            break;
        case 3:
            n += (size_t) sprintf(out + n, "%d/%d", a,
                                  1 + (int) kvs_test_rand(7));
            break;
        case 4:
            n += (size_t) sprintf(out + n, "%d-%d", a, b);
            break;
        case 5:
            if (names != NULL && a - min < 7 && b - min < 7) {
                n += (size_t) sprintf(out + n, "%s-%s", names[a - min],
                                      names[b - min]);
                break;
            }
            /* fall through */
        default:
            n += (size_t) sprintf(out + n, "%d", a);
        }
    }

    return n;
}


static void
kvs_test_brute(void)
{
    int         e, k, bad, taken, refused;
    char        expr[256], err[KVS_CRON_ERRLEN];
    size_t      n;
    uint64_t    start, m, next, want;
    kvs_cron_t  c;

    static const char *const  months[] = {
        "jan", "feb", "mar", "apr", "may", "jun", "jul"
    };
    static const char *const  days[] = {
        "sun", "mon", "tue", "wed", "thu", "fri", "sat"
    };

    bad = 0;
    taken = 0;
    refused = 0;

    for (e = 0; e < 400 && bad < 5; e++) {
        n = kvs_test_field(expr, 0, 59, NULL);
        expr[n++] = ' ';
        n += kvs_test_field(expr + n, 0, 23, NULL);
        expr[n++] = ' ';
        n += kvs_test_field(expr + n, 1, 31, NULL);
        expr[n++] = ' ';
        n += kvs_test_field(expr + n, 1, 12, months);
        expr[n++] = ' ';
        n += kvs_test_field(expr + n, 0, 7, days);
        expr[n] = '\0';

        if (kvs_cron_parse(&c, expr, n, err, sizeof(err)) != 0) {
            if (strstr(err, "never runs") == NULL) {
                printf("# \"%s\": %s\n", expr, err);
                bad++;
            }

            refused++;
            continue;
        }

        taken++;

        /* a start between 1970 and 2400, on any ms */
        start = ((uint64_t) kvs_test_rand(1u << 30) << 14
                 | kvs_test_rand(1u << 14)) % 13569465600000ULL;

        /* the runs of the next 40 days, one by one, or that none is */
        m = start / 60000 + 1;
        next = start;

        for (k = 0; k < 4; k++) {
            for ( /* void */ ; m < start / 60000 + KVS_TEST_SPAN; m++) {
                if (kvs_cron_rule_matches(&c, m)) {
                    break;
                }
            }

            if (kvs_cron_next(&c, next, &next) != 0) {
                printf("# \"%s\": no next run after %llu\n", expr,
                       (unsigned long long) start);
                bad++;
                break;
            }

            want = m * 60000;

            if (m == start / 60000 + KVS_TEST_SPAN) {
                if (next < want) {
                    printf("# \"%s\" after %llu: %llu, none in the span\n",
                           expr, (unsigned long long) start,
                           (unsigned long long) next);
                    bad++;
                }

                break;
            }

            if (next != want) {
                printf("# \"%s\" after %llu: %llu, walked to %llu\n", expr,
                       (unsigned long long) start,
                       (unsigned long long) next, (unsigned long long) want);
                bad++;
                break;
            }

            m++;
        }
    }

    printf("# %d expressions taken, %d refused as never running\n", taken,
           refused);

    CHECK(bad == 0, "brute: next() agrees with a walk minute by minute");
    CHECK(taken > 300, "brute: most random expressions are taken");
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_nicknames),
    KVS_TEST_CASE(kvs_test_fields),
    KVS_TEST_CASE(kvs_test_blanks),
    KVS_TEST_CASE(kvs_test_refusals),
    KVS_TEST_CASE(kvs_test_possible),
    KVS_TEST_CASE(kvs_test_days),
    KVS_TEST_CASE(kvs_test_calendar),
    KVS_TEST_CASE(kvs_test_after),
    KVS_TEST_CASE(kvs_test_far),
    KVS_TEST_CASE(kvs_test_zone),
    KVS_TEST_CASE(kvs_test_brute),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    NULL, NULL, kvs_test_cases
};
