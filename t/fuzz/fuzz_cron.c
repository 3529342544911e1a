/*
 * kvs_cron_parse(): a backup_schedule as an operator writes it, any bytes.
 * A refusal is one printable sentence and leaves the schedule alone.  An
 * expression taken has every set inside its field's range and not empty,
 * reads the same between blanks, and its next runs, from a few times,
 * are whole minutes strictly after them that match the rule as written
 * out here from glibc's gmtime_r(), with no match in the hours between.
 */

#define _GNU_SOURCE

#include <string.h>
#include <time.h>

#include "kvs_cron.h"
#include "kvs_fuzz.h"
#include "../unit/kvs_cron_rule.h"


/* the minutes before a next run walked to see none of them matches */
#define KVS_FUZZ_CRON_WALK  600

#define KVS_FUZZ_CRON_MAX   4096


static void
kvs_fuzz_cron_next(const kvs_cron_t *c, uint64_t after)
{
    uint64_t  next, m;

    FUZZ_CHECK(kvs_cron_next(c, after, &next) == 0,
               "an expression taken runs within 400 years");
    FUZZ_CHECK(next > after, "the next run is strictly after");
    FUZZ_CHECK(next % 60000 == 0, "the next run is a whole minute");
    FUZZ_CHECK(kvs_cron_rule_matches(c, next / 60000),
               "the next run matches the expression");

    for (m = after / 60000 + 1;
         m < next / 60000 && m <= after / 60000 + KVS_FUZZ_CRON_WALK;
         m++)
    {
        FUZZ_CHECK(!kvs_cron_rule_matches(c, m),
                   "no minute before the next run matches");
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int         rc;
    char        err[KVS_CRON_ERRLEN], padded[KVS_FUZZ_CRON_MAX + 4];
    size_t      i, n;
    uint64_t    seed;
    kvs_cron_t  c, again, before;

    if (size > KVS_FUZZ_CRON_MAX) {
        return 0;
    }

    memset(&before, 0xa5, sizeof(before));
    c = before;
    memset(err, 0, sizeof(err));

    rc = kvs_cron_parse(&c, (const char *) data, size, err, sizeof(err));

    if (rc != 0) {
        FUZZ_CHECK(rc == -1, "a refusal is -1");
        FUZZ_CHECK(memcmp(&c, &before, sizeof(c)) == 0,
                   "a refusal leaves the schedule alone");

        n = strlen(err);
        FUZZ_CHECK(n > 0, "a refusal says why");

        for (i = 0; i < n; i++) {
            FUZZ_CHECK(err[i] >= 0x20 && err[i] < 0x7f,
                       "a refusal is printable text");
        }

        return 0;
    }

    FUZZ_CHECK(c.minute != 0 && c.minute < (1ULL << 60),
               "minutes are 0-59");
    FUZZ_CHECK(c.hour != 0 && c.hour < (1u << 24), "hours are 0-23");
    FUZZ_CHECK(c.dom != 0 && !(c.dom & 1), "days of month are 1-31");
    FUZZ_CHECK(c.month != 0 && !(c.month & ~0x1ffeu), "months are 1-12");
    FUZZ_CHECK(c.dow != 0 && c.dow < 0x80, "days of week are 0-6");

    padded[0] = ' ';
    padded[1] = '\t';
    memcpy(padded + 2, data, size);
    padded[size + 2] = '\t';
    padded[size + 3] = ' ';

    FUZZ_CHECK(kvs_cron_parse(&again, padded, size + 4, err, sizeof(err))
               == 0 && memcmp(&c, &again, sizeof(c)) == 0,
               "blanks around an expression change nothing");

    /* a time the input picks, between 1970 and 2400 */
    seed = 1469598103934665603ULL;

    for (i = 0; i < size; i++) {
        seed = (seed ^ data[i]) * 1099511628211ULL;
    }

    kvs_fuzz_cron_next(&c, 0);
    kvs_fuzz_cron_next(&c, KVS_FUZZ_NOW);
    kvs_fuzz_cron_next(&c, KVS_FUZZ_NOW + 59999);
    kvs_fuzz_cron_next(&c, 4107542400000ULL);        /* 2100-03-01 */
    kvs_fuzz_cron_next(&c, seed % 13569465600000ULL);

    return 0;
}
