/*
 * Rate limits: a client's sliding window of bucket counts (kvs_rate.h says
 * why 21 buckets of W / 20 never let more than N through in any W ms).
 *
 * Buckets are numbered from the epoch of the caller's clock, bucket i
 * covering [i b, (i + 1) b), and bucket i sits in slot i % 21, so that
 * moving on to a newer bucket only clears the slots of the buckets
 * skipped, and the slot after the newest bucket's holds the oldest.  The
 * sum of the counts and the oldest bucket that counts are kept beside
 * them, so that a request of a client under its limit, the common case
 * on every request, reads no slot but its own; the oldest is looked for
 * again only when it leaves, from where it was.  Times are computed
 * relative to the
 * newest bucket, never as (i + 21) b, so that a clock near 2^64 cannot
 * overflow.
 */

#include <string.h>

#include "kvs_rate.h"


#define kvs_rate_next(s)  ((s) + 1 == KVS_RATE_SLOTS ? 0 : (s) + 1)


void
kvs_rate_take(kvs_rate_window_t *w, uint64_t window_ms, uint32_t limit,
    uint64_t now_ms, kvs_rate_decision_t *d)
{
    uint64_t  b, i, j, rem, lag;
    uint32_t  freed;
    unsigned  k, s;

    d->admitted = 1;
    d->limit = limit;
    d->remaining = 0;
    d->reset_ms = 0;

    if (limit == 0) {
        return;
    }

    /* rounded up, so that 20 buckets span at least the window */
    b = (window_ms + KVS_RATE_BUCKETS - 1) / KVS_RATE_BUCKETS;
    b = b == 0 ? 1 : (b > UINT32_MAX ? UINT32_MAX : b);

    i = now_ms / b;
    rem = now_ms % b;

    if (w->bucket_ms != b
        || i > w->newest + KVS_RATE_BUCKETS
        || i + KVS_RATE_BUCKETS < w->newest)
    {
        /* nothing counted is in the window, or counted with another b, or
         * the clock went back further than a window: no count to keep */
        memset(w->counts, 0, sizeof(w->counts));
        w->total = 0;
        w->bucket_ms = (uint32_t) b;
        w->newest = i;
        w->oldest = i;

    } else if (i > w->newest) {
        s = (unsigned) (w->newest % KVS_RATE_SLOTS);

        for (j = w->newest; j < i; j++) {
            s = kvs_rate_next(s);
            w->total -= w->counts[s];
            w->counts[s] = 0;
        }

        w->newest = i;

        if (w->total != 0 && w->oldest + KVS_RATE_BUCKETS < i) {
            w->oldest = i - KVS_RATE_BUCKETS;
            s = kvs_rate_next((unsigned) (i % KVS_RATE_SLOTS));

            while (w->counts[s] == 0) {
                w->oldest++;
                s = kvs_rate_next(s);
            }
        }

    }

    /*
     * A clock behind another process's (or set back by less than a
     * window) counts in the newest bucket, and its waits are told from
     * its own now: lag is how far the newest bucket's start lies ahead.
     */

    lag = 0;

    if (i < w->newest) {
        lag = (w->newest - i) * b - rem;
        rem = 0;
    }

    if (w->total < limit) {
        if (w->total == 0) {
            w->oldest = w->newest;
        }

        w->counts[(w->newest % KVS_RATE_SLOTS)]++;
        w->total++;

        d->remaining = limit - w->total;

        /* the oldest counted request leaves when its bucket does, 21
         * buckets after that bucket began */
        d->reset_ms = (w->oldest + KVS_RATE_SLOTS - w->newest) * b - rem
                      + lag;
        return;
    }

    /* refused, not counted: room comes when enough old buckets leave,
     * the bucket k before the newest 21 - k buckets after it began */

    d->admitted = 0;
    freed = 0;

    /* the oldest of the 21 buckets, 20 before the newest */
    s = kvs_rate_next((unsigned) (w->newest % KVS_RATE_SLOTS));

    for (k = KVS_RATE_BUCKETS; k > 0; k--) {
        freed += w->counts[s];

        if (w->total - freed < limit) {
            break;
        }

        s = kvs_rate_next(s);
    }

    d->reset_ms = (KVS_RATE_SLOTS - k) * b - rem + lag;
}


uint64_t
kvs_rate_seconds(uint64_t ms)
{
    uint64_t  s;

    s = ms / 1000 + (ms % 1000 != 0);

    return s == 0 ? 1 : s;
}
