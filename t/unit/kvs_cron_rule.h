/*
 * crontab(5)'s rule written plainly from glibc's broken-down UTC time, to
 * check kvs_cron_next()'s own calendar arithmetic against: shared by the
 * unit test (test_cron.c) and the fuzz target (t/fuzz/fuzz_cron.c).
 */

#ifndef KVS_CRON_RULE_H
#define KVS_CRON_RULE_H

#include <stdint.h>
#include <time.h>

#include "kvs_cron.h"


/* whether the whole minute (since the epoch) matches c */

static inline int
kvs_cron_rule_matches(const kvs_cron_t *c, uint64_t minute)
{
    int        dom, dow;
    time_t     t;
    struct tm  tm;

    t = (time_t) (minute * 60);
    gmtime_r(&t, &tm);

    if (!(c->minute >> tm.tm_min & 1) || !(c->hour >> tm.tm_hour & 1)
        || !(c->month >> (tm.tm_mon + 1) & 1))
    {
        return 0;
    }

    dom = c->dom >> tm.tm_mday & 1;
    dow = c->dow >> tm.tm_wday & 1;

    return (c->dom_star || c->dow_star) ? (dom && dow) : (dom || dow);
}

#endif /* KVS_CRON_RULE_H */
