/*
 * Rate limits: the decision of one client's sliding window, as plain data.
 *
 * A window of W ms is cut into KVS_RATE_BUCKETS buckets of b = W / 20 ms
 * (rounded up), and a client's state is the count of the requests it was
 * let through in each of the last 21 buckets: the bucket "now" falls in
 * and the 20 before it.  A request is let through when the sum of those
 * counts is below the limit N, and only then counted.  Those 21 buckets
 * span more than W back from any instant of the newest, so every request
 * of the last W ms is in the sum: no W ms ever hold more than N requests
 * let through, whatever the boundaries.  The sum may also hold requests
 * up to b ms older than W: a client may wait up to W / 20 longer than an
 * exact log of timestamps would make it, in 112 bytes of memory per client
 * instead of 8 N.
 *
 * The caller (src/ngx_http_kvs_rate.c) keeps the windows, in a zone of
 * shared memory under its lock, and the clock; nothing here allocates,
 * locks or reads a clock.
 */

#ifndef KVS_RATE_H
#define KVS_RATE_H

#include <stdint.h>

#define KVS_RATE_BUCKETS  20
#define KVS_RATE_SLOTS    (KVS_RATE_BUCKETS + 1)


/* a client's window; all zero is an empty one */
typedef struct {
    uint64_t  newest;                  /* the newest bucket counted, as
                                          its start / bucket_ms */
    uint64_t  oldest;                  /* the oldest bucket whose count
                                          is not 0, when total is not */
    uint32_t  bucket_ms;               /* b of the counts; 0: none yet */
    uint32_t  total;                   /* the sum of counts[] */
    uint32_t  counts[KVS_RATE_SLOTS];  /* by bucket % KVS_RATE_SLOTS */
} kvs_rate_window_t;


typedef struct {
    int       admitted;                /* 1: let through and counted */
    uint32_t  limit;
    uint32_t  remaining;               /* requests left now, after this
                                          one when admitted */
    uint64_t  reset_ms;                /* until the window frees room:
                                          admitted, until its oldest
                                          counted request leaves it;
                                          refused, until one more fits */
} kvs_rate_decision_t;


/*
 * One request of the client whose window is w, at now_ms on the caller's
 * clock, under a limit of limit requests per window_ms (> 0): fills d,
 * and counts the request only when it is admitted.  A limit of 0 is none:
 * admitted, nothing counted.  A clock a little behind the newest bucket
 * (another process's cached time) counts in the newest bucket; a clock
 * more than a window behind it, or a window_ms other than the one
 * counted with, starts the window afresh.
 */
void kvs_rate_take(kvs_rate_window_t *w, uint64_t window_ms, uint32_t limit,
    uint64_t now_ms, kvs_rate_decision_t *d);

/* ms as the whole seconds of a header: rounded up, at least 1 */
uint64_t kvs_rate_seconds(uint64_t ms);

#endif /* KVS_RATE_H */
