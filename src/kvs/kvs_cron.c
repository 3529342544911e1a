/*
 * Cron schedules; see kvs_cron.h for the grammar and its decisions.
 *
 * Each field becomes a bit set, so a match is a shift and a mask, and the
 * search for the next run jumps to the next set bit of the month, the day
 * (when the day of week does not restrict it), the hour and the minute
 * rather than stepping minute by minute: a year that cannot match costs a
 * few steps.  Dates are counted in days since 1970-01-01 with the leap
 * rules of the Gregorian calendar written out, both ways.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "kvs_cron.h"


#define KVS_CRON_FIELDS     5

/* the most of a bad token a sentence shows */
#define KVS_CRON_SHOW       24

#define KVS_CRON_MS_MINUTE  60000ULL
#define KVS_CRON_MINUTES    1440


typedef struct {
    const char          *name;
    int                  min;
    int                  max;
    const char *const   *names;       /* names of min.., or NULL */
    const char          *named;       /* their range, for a sentence */
} kvs_cron_field_t;


typedef struct {
    const char  *name;
    const char  *expr;
} kvs_cron_nickname_t;


static const char *const  kvs_cron_month_names[] = {
    "jan", "feb", "mar", "apr", "may", "jun",
    "jul", "aug", "sep", "oct", "nov", "dec", NULL
};

static const char *const  kvs_cron_day_names[] = {
    "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};

static const kvs_cron_field_t  kvs_cron_fields[KVS_CRON_FIELDS] = {
    { "minute",       0, 59, NULL,                 NULL },
    { "hour",         0, 23, NULL,                 NULL },
    { "day of month", 1, 31, NULL,                 NULL },
    { "month",        1, 12, kvs_cron_month_names, "jan-dec" },
    { "day of week",  0, 7,  kvs_cron_day_names,   "sun-sat" }
};

static const kvs_cron_nickname_t  kvs_cron_nicknames[] = {
    { "@yearly",   "0 0 1 1 *" },
    { "@annually", "0 0 1 1 *" },
    { "@monthly",  "0 0 1 * *" },
    { "@weekly",   "0 0 * * 0" },
    { "@daily",    "0 0 * * *" },
    { "@midnight", "0 0 * * *" },
    { "@hourly",   "0 * * * *" },
    { NULL, NULL }
};

/* days before each month in a common year */
static const int  kvs_cron_before[13] = {
    0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334
};

static const int  kvs_cron_mdays[13] = {
    0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
};


static int kvs_cron_fields_parse(kvs_cron_t *c, const char *p,
    const char *end, char *err, size_t errlen);
static int kvs_cron_field(int n, const char *p, const char *end,
    uint64_t *set, char *err, size_t errlen);
static int kvs_cron_value(int n, const char *p, const char *end, int *v,
    char *err, size_t errlen);
static void kvs_cron_error(char *err, size_t errlen, int n, const char *fmt,
    ...);
static void kvs_cron_show(const char *p, const char *end, char *out);
static int kvs_cron_blank(char ch);
static int kvs_cron_lower(int ch);
static int kvs_cron_bit(uint64_t set, int from, int max);
static int kvs_cron_leap(int64_t y);
static int64_t kvs_cron_leaps_before(int64_t y);
static int64_t kvs_cron_days(int64_t y, int m, int d);
static void kvs_cron_civil(int64_t days, int64_t *y, int *m, int *d);
static int kvs_cron_day(const kvs_cron_t *c, int64_t y, int m, int d);


int
kvs_cron_parse(kvs_cron_t *c, const char *expr, size_t len, char *err,
    size_t errlen)
{
    char                        shown[KVS_CRON_SHOW + 4];
    size_t                      n;
    uint64_t                    next;
    kvs_cron_t                  parsed;
    const char                 *p, *end, *text, *text_end;
    const kvs_cron_nickname_t  *nick;

    p = expr;
    end = expr + len;

    while (p < end && kvs_cron_blank(*p)) {
        p++;
    }

    while (end > p && kvs_cron_blank(end[-1])) {
        end--;
    }

    /* the expression as written, for the sentence that it never runs */
    text = p;
    text_end = end;

    if (p < end && *p == '@') {
        n = (size_t) (end - p);

        for (nick = kvs_cron_nicknames; nick->name != NULL; nick++) {
            if (strlen(nick->name) == n && strncasecmp(nick->name, p, n) == 0)
            {
                break;
            }
        }

        if (nick->name == NULL) {
            kvs_cron_show(p, end, shown);
            kvs_cron_error(err, errlen, 0, "unknown nickname \"%s\": "
                           "@yearly, @annually, @monthly, @weekly, @daily, "
                           "@midnight or @hourly", shown);
            return -1;
        }

        p = nick->expr;
        end = p + strlen(p);
    }

    if (kvs_cron_fields_parse(&parsed, p, end, err, errlen) != 0) {
        return -1;
    }

    /* the period of the calendar from any start: see kvs_cron.h */
    if (kvs_cron_next(&parsed, 0, &next) != 0) {
        kvs_cron_show(text, text_end, shown);
        kvs_cron_error(err, errlen, 0, "\"%s\" never runs: no date has its "
                       "day of month, month and day of week", shown);
        return -1;
    }

    *c = parsed;

    return 0;
}


static int
kvs_cron_fields_parse(kvs_cron_t *c, const char *p, const char *end,
    char *err, size_t errlen)
{
    int          n;
    uint64_t     sets[KVS_CRON_FIELDS];
    const char  *start[KVS_CRON_FIELDS], *tok;

    n = 0;

    while (p < end) {
        tok = p;

        while (p < end && !kvs_cron_blank(*p)) {
            p++;
        }

        if (n < KVS_CRON_FIELDS) {
            start[n] = tok;

            if (kvs_cron_field(n, tok, p, &sets[n], err, errlen) != 0) {
                return -1;
            }
        }

        n++;

        while (p < end && kvs_cron_blank(*p)) {
            p++;
        }
    }

    if (n != KVS_CRON_FIELDS) {
        kvs_cron_error(err, errlen, 0, "%d field%s where 5 are expected "
                       "(minute hour day-of-month month day-of-week)",
                       n, n == 1 ? "" : "s");
        return -1;
    }

    c->minute = sets[0];
    c->hour = (uint32_t) sets[1];
    c->dom = (uint32_t) sets[2];
    c->month = (uint16_t) sets[3];
    /* 7 is Sunday as 0 is */
    c->dow = (uint8_t) ((sets[4] | (sets[4] >> 7)) & 0x7f);
    c->dom_star = (*start[2] == '*');
    c->dow_star = (*start[4] == '*');

    return 0;
}


/* one field, p..end with no blank, into *set; n is its index */

static int
kvs_cron_field(int n, const char *p, const char *end, uint64_t *set,
    char *err, size_t errlen)
{
    int                      lo, hi, step, v, span;
    char                     shown[KVS_CRON_SHOW + 4];
    const char              *item, *stop, *dash, *slash;
    const kvs_cron_field_t  *f;

    f = &kvs_cron_fields[n];
    span = f->max - f->min + 1;
    *set = 0;

    for ( ;; ) {
        item = p;

        for (stop = p; stop < end && *stop != ','; stop++) { /* void */ }

        if (stop == item) {
            kvs_cron_error(err, errlen, n + 1, "an empty item in the list");
            return -1;
        }

        for (slash = item; slash < stop && *slash != '/'; slash++) {
            /* void */
        }

        for (dash = item; dash < slash && *dash != '-'; dash++) { /* void */ }

        if (slash - item == 1 && *item == '*') {
            lo = f->min;
            hi = f->max;

        } else if (kvs_cron_value(n, item, dash, &lo, err, errlen) != 0) {
            return -1;

        } else if (dash < slash) {
            if (kvs_cron_value(n, dash + 1, slash, &hi, err, errlen) != 0) {
                return -1;
            }

            /* "mon-sun": the name Sunday ends a week begun after it */
            if (f->names == kvs_cron_day_names && hi == 0 && lo > 0
                && !(dash[1] >= '0' && dash[1] <= '9'))
            {
                hi = 7;
            }

            if (lo > hi) {
                kvs_cron_show(item, slash, shown);
                kvs_cron_error(err, errlen, n + 1, "the range %s runs "
                               "backwards", shown);
                return -1;
            }

        } else {
            /* "5/10" is "5-max/10"; a lone "5" is itself */
            hi = (slash < stop) ? f->max : lo;
        }

        step = 1;

        if (slash < stop) {
            step = 0;

            for (p = slash + 1; p < stop && *p >= '0' && *p <= '9'; p++) {
                step = (step > span) ? step : step * 10 + (*p - '0');
            }

            if (p == slash + 1 || p < stop) {
                kvs_cron_show(slash + 1, stop, shown);
                kvs_cron_error(err, errlen, n + 1, "the step \"%s\" is not "
                               "a number", shown);
                return -1;
            }

            if (step < 1 || step > span) {
                kvs_cron_show(slash + 1, stop, shown);
                kvs_cron_error(err, errlen, n + 1, "the step %s is out of "
                               "range 1-%d", shown, span);
                return -1;
            }
        }

        for (v = lo; v <= hi; v += step) {
            *set |= 1ULL << v;
        }

        if (stop == end) {
            return 0;
        }

        p = stop + 1;

        if (p == end) {
            kvs_cron_error(err, errlen, n + 1, "an empty item in the list");
            return -1;
        }
    }
}


/* a number or, where the field has them, a name, p..end, into *v */

static int
kvs_cron_value(int n, const char *p, const char *end, int *v, char *err,
    size_t errlen)
{
    int                      i, k, num;
    char                     shown[KVS_CRON_SHOW + 4];
    const char              *q;
    const kvs_cron_field_t  *f;

    f = &kvs_cron_fields[n];
    kvs_cron_show(p, end, shown);

    if (p < end && *p >= '0' && *p <= '9') {
        num = 0;

        for (q = p; q < end && *q >= '0' && *q <= '9'; q++) {
            /* past the range stays past it, and never overflows */
            num = (num > f->max) ? num : num * 10 + (*q - '0');
        }

        if (q == end) {
            if (num < f->min || num > f->max) {
                kvs_cron_error(err, errlen, n + 1, "%s is out of range "
                               "%d-%d", shown, f->min, f->max);
                return -1;
            }

            *v = num;
            return 0;
        }

    } else if (f->names != NULL && end - p == 3) {
        for (i = 0; f->names[i] != NULL; i++) {
            for (k = 0; k < 3; k++) {
                if (kvs_cron_lower((unsigned char) p[k]) != f->names[i][k]) {
                    break;
                }
            }

            if (k == 3) {
                *v = f->min + i;
                return 0;
            }
        }
    }

    if (p == end) {
        kvs_cron_error(err, errlen, n + 1, "a range or step lacks a value");

    } else if (f->names != NULL) {
        kvs_cron_error(err, errlen, n + 1, "\"%s\" is neither a number nor "
                       "a name (%s)", shown, f->named);

    } else {
        kvs_cron_error(err, errlen, n + 1, "\"%s\" is not a number", shown);
    }

    return -1;
}


/* "field N (name): ..." for a field's n, 1 to 5; the sentence alone at 0 */

static void
kvs_cron_error(char *err, size_t errlen, int n, const char *fmt, ...)
{
    int      k;
    va_list  args;

    if (errlen == 0) {
        return;
    }

    k = 0;

    if (n > 0) {
        k = snprintf(err, errlen, "field %d (%s): ", n,
                     kvs_cron_fields[n - 1].name);
        if (k < 0 || (size_t) k >= errlen) {
            return;
        }
    }

    va_start(args, fmt);
    vsnprintf(err + k, errlen - (size_t) k, fmt, args);
    va_end(args);
}


/*
 * A token as a sentence may print it: nginx -t shows the sentence in a
 * terminal, so a byte that is not printable ASCII is a '?', and a long
 * token is cut with "...".  out holds KVS_CRON_SHOW + 4 bytes.
 */

static void
kvs_cron_show(const char *p, const char *end, char *out)
{
    size_t  i;

    for (i = 0; p < end && i < KVS_CRON_SHOW; i++, p++) {
        out[i] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
    }

    if (p < end) {
        memcpy(out + i, "...", 3);
        i += 3;
    }

    out[i] = '\0';
}


static int
kvs_cron_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}


static int
kvs_cron_lower(int ch)
{
    return (ch >= 'A' && ch <= 'Z') ? ch - 'A' + 'a' : ch;
}


/* the first value from..max in set, or -1 */

static int
kvs_cron_bit(uint64_t set, int from, int max)
{
    for ( /* void */ ; from <= max; from++) {
        if (set & (1ULL << from)) {
            return from;
        }
    }

    return -1;
}


static int
kvs_cron_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}


/* leap years in 1..y-1, y >= 1 */

static int64_t
kvs_cron_leaps_before(int64_t y)
{
    y--;

    return y / 4 - y / 100 + y / 400;
}


/* days since 1970-01-01 of y-m-d, y >= 1970 */

static int64_t
kvs_cron_days(int64_t y, int m, int d)
{
    return (y - 1970) * 365
           + kvs_cron_leaps_before(y) - kvs_cron_leaps_before(1970)
           + kvs_cron_before[m] + (m > 2 && kvs_cron_leap(y)) + d - 1;
}


/*
 * The date of days since 1970-01-01.  Every 400 years are 146097 days, so
 * whole periods are counted off first; within one, a year is at most 366
 * days, so the estimate is at most two years short.
 */

static void
kvs_cron_civil(int64_t days, int64_t *y, int *m, int *d)
{
    int      month, doy;
    int64_t  year, rest;

    year = 1970 + days / 146097 * 400;
    rest = days % 146097;
    year += rest / 366;

    while (kvs_cron_days(year + 1, 1, 1) <= days) {
        year++;
    }

    doy = (int) (days - kvs_cron_days(year, 1, 1));

    for (month = 12; month > 1; month--) {
        if (doy >= kvs_cron_before[month]
                   + (month > 2 && kvs_cron_leap(year)))
        {
            break;
        }
    }

    *y = year;
    *m = month;
    *d = doy - kvs_cron_before[month] - (month > 2 && kvs_cron_leap(year))
         + 1;
}


/* whether the day y-m-d matches, under crontab(5)'s rule for the two */

static int
kvs_cron_day(const kvs_cron_t *c, int64_t y, int m, int d)
{
    int  dom, dow;

    dom = (c->dom >> d) & 1;
    /* 1970-01-01 was a Thursday */
    dow = (c->dow >> ((kvs_cron_days(y, m, d) + 4) % 7)) & 1;

    if (c->dom_star || c->dow_star) {
        return dom && dow;
    }

    return dom || dow;
}


int
kvs_cron_next(const kvs_cron_t *c, uint64_t after_ms, uint64_t *next_ms)
{
    int       m, d, hour, minute, mdays, k;
    int64_t   y, last;
    uint64_t  t, days;

    t = after_ms / KVS_CRON_MS_MINUTE + 1;
    days = t / KVS_CRON_MINUTES;
    hour = (int) (t % KVS_CRON_MINUTES / 60);
    minute = (int) (t % 60);

    kvs_cron_civil((int64_t) days, &y, &m, &d);
    last = y + KVS_CRON_YEARS;

    while (y <= last) {

        k = kvs_cron_bit(c->month, m, 12);

        if (k < 0) {
            y++;
            m = 1;
            d = 1;
            hour = 0;
            minute = 0;
            continue;
        }

        if (k != m) {
            m = k;
            d = 1;
            hour = 0;
            minute = 0;
        }

        mdays = kvs_cron_mdays[m] + (m == 2 && kvs_cron_leap(y));

        /* only the day of month restricts: jump to its next day */
        if (c->dow_star) {
            k = kvs_cron_bit(c->dom, d, mdays);

            if (k > d) {
                d = k;
                hour = 0;
                minute = 0;
            }

        } else {
            k = (d <= mdays) ? d : -1;
        }

        if (k < 0) {
            m++;
            d = 1;
            hour = 0;
            minute = 0;

            if (m > 12) {
                y++;
                m = 1;
            }

            continue;
        }

        if (!kvs_cron_day(c, y, m, d)) {
            d++;
            hour = 0;
            minute = 0;
            continue;
        }

        k = kvs_cron_bit(c->hour, hour, 23);

        if (k < 0) {
            d++;
            hour = 0;
            minute = 0;
            continue;
        }

        if (k != hour) {
            hour = k;
            minute = 0;
        }

        k = kvs_cron_bit(c->minute, minute, 59);

        if (k < 0) {
            hour++;
            minute = 0;
            continue;
        }

        t = (uint64_t) kvs_cron_days(y, m, d);

        if (t > UINT64_MAX / KVS_CRON_MS_MINUTE / KVS_CRON_MINUTES) {
            return -1;
        }

        t = t * KVS_CRON_MINUTES + (uint64_t) (hour * 60 + k);

        if (t > UINT64_MAX / KVS_CRON_MS_MINUTE) {
            return -1;
        }

        *next_ms = t * KVS_CRON_MS_MINUTE;

        return 0;
    }

    return -1;
}
