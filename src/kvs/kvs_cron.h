/*
 * Cron schedules: a backup_schedule's 5-field expression, and the next
 * minute it runs, in UTC.
 *
 * An expression is "minute hour day-of-month month day-of-week", fields
 * separated by spaces or tabs (leading and trailing ones ignored), or one
 * of the nicknames @yearly (@annually) "0 0 1 1 *", @monthly "0 0 1 * *",
 * @weekly "0 0 * * 0", @daily (@midnight) "0 0 * * *" and @hourly
 * "0 * * * *", either case.  A field is a list of items separated by ','
 * with no blanks; an item is '*', a value, or a range lo-hi, each with an
 * optional step "/n".  As in crontab(5): minute 0-59, hour 0-23, day of
 * month 1-31, month 1-12 or jan-dec, day of week 0-7 or sun-sat, where 0
 * and 7 are both Sunday; names take either case, in ranges too.
 *
 * Decisions where crontab(5) implementations differ:
 *   - "5/10" is taken as "5-max/10" (5,15,25,... in minutes), as cronie
 *     and vixie-cron read it;
 *   - a step is 1 up to the field's span (60 for minutes, 24 hours, 31
 *     days, 12 months, 8 days of week): "*\/0" never advances and "*\/61"
 *     could only ever mean the first value, so both are refused;
 *   - a range runs forwards: "5-1" and "sat-mon" are refused, not
 *     wrapped; the name "sun" ending a range that starts after Sunday is
 *     7, so that "mon-sun" is every day and "sun-sun" is Sunday alone;
 *   - "1/3" in day of week runs up to 7: 1,4,7, which is Mon, Thu, Sun;
 *   - when both day of month and day of week are restricted (neither field
 *     starts with '*'), a day matches when either does; otherwise when both
 *     do ("*\/2" starts with '*', so "0 0 *\/2 * 1" is odd days that are
 *     Mondays), as crontab(5) says.
 *
 * An expression that never runs ("0 0 30 2 *") is refused when parsed.
 * The Gregorian calendar repeats exactly every 400 years (146097 days,
 * which is 20871 whole weeks), so the minutes an expression matches repeat
 * with that period: an expression that matches at all matches within any
 * 400 years, and kvs_cron_next() never searches further.  Fewer years are
 * not enough in general: Feb 29 is 8 years apart across 2100, and a date
 * on a given weekday may be more than 28 years apart across a century that
 * is not leap.
 *
 * Times are ms since the epoch, and the calendar arithmetic is done here:
 * no gmtime() or TZ, so the schedule is UTC whatever the process's zone.
 */

#ifndef KVS_CRON_H
#define KVS_CRON_H

#include <stddef.h>
#include <stdint.h>

/* room enough for every sentence kvs_cron_parse() writes */
#define KVS_CRON_ERRLEN   256

#define KVS_CRON_DEFAULT  "0 0 * * *"

/* how far kvs_cron_next() looks: the calendar's whole period */
#define KVS_CRON_YEARS    400


/* the values each field matches, as bit sets: bit v for value v */
typedef struct {
    uint64_t  minute;                 /* bits 0..59 */
    uint32_t  hour;                   /* bits 0..23 */
    uint32_t  dom;                    /* bits 1..31 */
    uint16_t  month;                  /* bits 1..12 */
    uint8_t   dow;                    /* bits 0..6, Sunday 0 (7 folded) */
    unsigned  dom_star:1;             /* the field started with '*' */
    unsigned  dow_star:1;
} kvs_cron_t;


/*
 * Reads the len bytes of expr (no NUL needed) into *c.  Returns 0, or -1
 * with a sentence in err (errlen bytes, NUL-terminated) saying what is
 * wrong and where: "field 3 (day of month): 32 is out of range 1-31", or
 * that the expression never runs.  *c is written only on success.
 */
int kvs_cron_parse(kvs_cron_t *c, const char *expr, size_t len, char *err,
    size_t errlen);

/*
 * The first minute c matches strictly after after_ms, as ms since the
 * epoch in *next_ms: a time exactly on a match gives the next one.
 * Returns 0, or -1 only when that minute is past what 64 bits of ms hold
 * (or for a c that kvs_cron_parse() would not have made).
 */
int kvs_cron_next(const kvs_cron_t *c, uint64_t after_ms, uint64_t *next_ms);

#endif /* KVS_CRON_H */
