/*
 * Rate limits: a client's sliding window of bucket counts (kvs_rate.h says
 * why 21 buckets of W / 20 never let more than N through in any W ms).
 *
 * Buckets are numbered from the epoch of the caller's clock, bucket i
 * covering [i b, (i + 1) b), and bucket i sits in slot i % 21, so that
 * moving on to a newer bucket only clears the slots of the buckets
 * skipped.  Times are computed relative to the newest bucket, never as
 * (i + 21) b, so that a clock near 2^64 cannot overflow.
 */

#include <string.h>

#include "kvs_rate.h"


/* the slot of the bucket d buckets before newest */
#define kvs_rate_slot(w, d)                                                   \
    ((unsigned) (((w)->newest % KVS_RATE_SLOTS + KVS_RATE_SLOTS - (d))       \
                 % KVS_RATE_SLOTS))


static void
kvs_rate_restart(kvs_rate_window_t *w, uint32_t bucket_ms, uint64_t i)
{
    memset(w->counts, 0, sizeof(w->counts));
    w->bucket_ms = bucket_ms;
    w->newest = i;
}


void
kvs_rate_take(kvs_rate_window_t *w, uint64_t window_ms, uint32_t limit,
    uint64_t now_ms, kvs_rate_decision_t *d)
{
    uint64_t  b, i, j, sum, freed, rem;
    unsigned  k;

    memset(d, 0, sizeof(kvs_rate_decision_t));
    d->limit = limit;

    if (limit == 0) {
        d->admitted = 1;
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
        kvs_rate_restart(w, (uint32_t) b, i);

    } else if (i > w->newest) {
        for (j = w->newest + 1; j <= i; j++) {
            w->counts[j % KVS_RATE_SLOTS] = 0;
        }

        w->newest = i;

    } else if (i < w->newest) {
        /* a clock behind another process's: at the newest bucket's start */
        rem = 0;
    }

    sum = 0;

    for (k = 0; k < KVS_RATE_SLOTS; k++) {
        sum += w->counts[k];
    }

    if (sum < limit) {
        w->counts[kvs_rate_slot(w, 0)]++;
        sum++;

        d->admitted = 1;
        d->remaining = (uint32_t) (limit - sum);

        /* the oldest counted request leaves when its bucket does: bucket
         * newest - k leaves 21 - k buckets after the newest began */
        for (k = KVS_RATE_BUCKETS; k > 0; k--) {
            if (w->counts[kvs_rate_slot(w, k)] != 0) {
                break;
            }
        }

        d->reset_ms = (KVS_RATE_SLOTS - k) * b - rem;
        return;
    }

    /* refused, not counted: room comes when enough old buckets leave */

    freed = 0;

    for (k = KVS_RATE_BUCKETS; k > 0; k--) {
        freed += w->counts[kvs_rate_slot(w, k)];

        if (sum - freed < limit) {
            break;
        }
    }

    d->reset_ms = (KVS_RATE_SLOTS - k) * b - rem;
}


uint64_t
kvs_rate_seconds(uint64_t ms)
{
    uint64_t  s;

    s = ms / 1000 + (ms % 1000 != 0);

    return s == 0 ? 1 : s;
}
