/*
 * The node's metrics as plain data: the table of metric families, where
 * each series keeps its counters in an array of 64-bit slots, the bucket
 * of a histogram's observation, and the Prometheus text exposition format
 * (0.0.4) of a set of slot values.  Nothing here knows nginx: the glue
 * (ngx_http_kvs_metrics.c) keeps the slots in shared memory, one row per
 * process, adds to its own row with atomic adds, and sums the rows into
 * one array of values when a scrape asks.
 *
 * A series takes one slot, a histogram's takes one per bucket (the last
 * one above every bound) and one for the sum; the count is the sum of the
 * buckets, so a scrape never sees a count that disagrees with +Inf.
 * Histograms keep integers: seconds as microseconds, and print them back
 * exactly.
 */

#ifndef KVS_METRICS_H
#define KVS_METRICS_H

#include <stddef.h>
#include <stdint.h>


/* named peer slots; one more counts every later peer as peer="other" */
#define KVS_METRICS_PEERS  64

/* the value of a peer label for the slot past the named ones */
#define KVS_METRICS_PEER_OTHER  "other"


/* the label dimensions a family may have, in the order they print */
typedef enum {
    KVS_DIM_NONE = 0,
    KVS_DIM_AREA,                 /* kv, members, health, api, cluster… */
    KVS_DIM_METHOD,               /* GET, HEAD, PUT, POST, DELETE, other */
    KVS_DIM_STATUS,               /* 1xx … 5xx */
    KVS_DIM_STATE,                /* alive, failed, left */
    KVS_DIM_RESULT,               /* ok, failed */
    KVS_DIM_PEER,                 /* a peer's node id: dynamic */
    KVS_DIM_PHASE,                /* apply, audit, commit */
    KVS_DIM_N
} kvs_metric_dim_e;

typedef enum {
    KVS_AREA_KV = 0,
    KVS_AREA_MEMBERS,
    KVS_AREA_HEALTH,
    KVS_AREA_API,
    KVS_AREA_CLUSTER,
    KVS_AREA_OTHER,
    KVS_AREA_N
} kvs_metric_area_e;

typedef enum {
    KVS_METHOD_GET = 0,
    KVS_METHOD_HEAD,
    KVS_METHOD_PUT,
    KVS_METHOD_POST,
    KVS_METHOD_DELETE,
    KVS_METHOD_OTHER,
    KVS_METHOD_N
} kvs_metric_method_e;

#define KVS_STATUS_N  5           /* 1xx 2xx 3xx 4xx 5xx */

#define KVS_RESULT_OK      0
#define KVS_RESULT_FAILED  1

/* the parts of a group commit's time, as kvs_write_times_t tells them */
#define KVS_PHASE_APPLY    0
#define KVS_PHASE_AUDIT    1
#define KVS_PHASE_COMMIT   2
#define KVS_PHASE_N        3

/* up to three dimensions of a family, packed in an int */
#define KVS_L0         0
#define KVS_L1(a)      (KVS_DIM_##a)
#define KVS_L2(a, b)   (KVS_DIM_##a | KVS_DIM_##b << 4)
#define KVS_L3(a, b, c)                                                       \
    (KVS_DIM_##a | KVS_DIM_##b << 4 | KVS_DIM_##c << 8)


typedef enum {
    KVS_METRIC_COUNTER = 0,
    KVS_METRIC_GAUGE,
    KVS_METRIC_HISTOGRAM
} kvs_metric_type_e;

/* the bucket bounds of a histogram (kvs_metrics.c) */
typedef enum {
    KVS_BUCKETS_NONE = 0,
    KVS_BUCKETS_COMMIT,           /* seconds, a group commit and its fsync */
    KVS_BUCKETS_BATCH,            /* writes in one commit */
    KVS_BUCKETS_LAG,              /* seconds, a write to a peer's ack */
    KVS_BUCKETS_BACKUP,           /* seconds, a backup */
    KVS_BUCKETS_N
} kvs_metric_buckets_e;


/*
 * The metrics, one entry each: adding one is a line here, then calls of
 * ngx_http_kvs_metric_inc() (or _add, _observe) where it happens.  A
 * family's id is KVS_M_<id>.  Gauges, and counters the store keeps, are
 * filled when a scrape asks (ngx_http_kvs_metrics.c); the others count.
 *
 *  M(id, name, type, labels, buckets, help)
 */
#define KVS_METRICS(M)                                                        \
    M(REQUESTS, "kvs_http_requests_total", COUNTER,                           \
      KVS_L3(AREA, METHOD, STATUS), NONE,                                     \
      "Requests answered by kvs_api and kvs_cluster_api locations.")          \
    M(COMMITS, "kvs_group_commits_total", COUNTER, KVS_L0, NONE,              \
      "Group commits of client and peer writes by the workers.")              \
    M(COMMIT_WRITES, "kvs_group_commit_writes", HISTOGRAM, KVS_L0, BATCH,     \
      "Writes per group commit.")                                             \
    M(COMMIT_SECONDS, "kvs_group_commit_duration_seconds", HISTOGRAM,         \
      KVS_L0, COMMIT,                                                         \
      "Time from LMDB's writer lock to a durable commit, fsync included.")    \
    M(COMMIT_PHASE, "kvs_group_commit_phase_seconds", HISTOGRAM,              \
      KVS_L1(PHASE), COMMIT,                                                  \
      "A group commit's time by part: applying its writes, appending their "  \
      "audit entries, and LMDB's commit (page writes and syncs).")            \
    M(KEYS, "kvs_keys", GAUGE, KVS_L0, NONE,                                  \
      "Records in kv: keys, tombstones, users, groups and tokens.")           \
    M(STORE_SIZE, "kvs_store_size_bytes", GAUGE, KVS_L0, NONE,                \
      "The store file's high-water mark: LMDB's last page times its size.")   \
    M(STORE_USED, "kvs_store_used_bytes", GAUGE, KVS_L0, NONE,                \
      "Pages the store's trees use, as the 507 reserve counts them.")         \
    M(MAP_SIZE, "kvs_store_map_size_bytes", GAUGE, KVS_L0, NONE,              \
      "The LMDB map size: the most the store can hold (max_db_size).")        \
    M(PUSH_RECORDS, "kvs_push_records_total", COUNTER, KVS_L1(PEER), NONE,    \
      "Records pushed to a peer that the peer acknowledged.")                 \
    M(PUSH_LAG, "kvs_push_lag_seconds", HISTOGRAM, KVS_L1(PEER), LAG,         \
      "From a record's version timestamp to the peer's ack of its push.")     \
    M(AE_ROUNDS, "kvs_anti_entropy_rounds_total", COUNTER,                    \
      KVS_L1(RESULT), NONE,                                                   \
      "Merkle anti-entropy walks (and bootstrap walks) with a peer.")         \
    M(AE_BYTES, "kvs_anti_entropy_pulled_bytes_total", COUNTER, KVS_L0,       \
      NONE, "Bytes of peers' answers received by anti-entropy walks.")        \
    M(AE_RECORDS, "kvs_anti_entropy_pulled_records_total", COUNTER, KVS_L0,   \
      NONE, "Records pulled by anti-entropy and stored.")                     \
    M(CONFLICTS, "kvs_conflicts_resolved_total", COUNTER, KVS_L0, NONE,       \
      "Conflicts resolved by a vote, as the store counts them.")              \
    M(MEMBERS, "kvs_members", GAUGE, KVS_L1(STATE), NONE,                     \
      "Members this node knows, itself included, by state.")                  \
    M(SYNCING, "kvs_syncing", GAUGE, KVS_L0, NONE,                            \
      "1 while the node bootstraps from its peers (syncing mode).")           \
    M(LOGINS, "kvs_logins_total", COUNTER, KVS_L1(RESULT), NONE,              \
      "Logins whose password was checked, by outcome.")                      \
    M(EXPIRED, "kvs_ttl_expired_records_total", COUNTER, KVS_L0, NONE,        \
      "Records past their TTL emptied by the agent's sweep.")                 \
    M(RATE_LIMITED, "kvs_rate_limited_requests_total", COUNTER, KVS_L0,       \
      NONE, "Requests refused with 429 by a rate limit.")                     \
    M(AUDIT_ENTRIES, "kvs_audit_entries_total", COUNTER, KVS_L0, NONE,        \
      "Entries in the audit log, as its chain counts them.")                 \
    M(BACKUPS, "kvs_backups_total", COUNTER, KVS_L1(RESULT), NONE,            \
      "Backups by outcome, cut-short ones among the failed.")                \
    M(BACKUP_SECONDS, "kvs_backup_duration_seconds", HISTOGRAM, KVS_L0,       \
      BACKUP, "From a backup's start to its file renamed, or its failure.")  \
    M(BACKUP_LAST_SUCCESS, "kvs_backup_last_success_timestamp_seconds",       \
      GAUGE, KVS_L0, NONE,                                                    \
      "When the last good backup finished, in seconds since the epoch.")     \
    M(BACKUP_BYTES, "kvs_backup_bytes", GAUGE, KVS_L0, NONE,                  \
      "The size of the last good backup's file.")                            \
    M(BACKUP_RUNNING, "kvs_backup_running", GAUGE, KVS_L0, NONE,              \
      "1 while a backup runs.")


#define KVS_METRICS_ID(id, name, type, labels, buckets, help)  KVS_M_##id,

typedef enum {
    KVS_METRICS(KVS_METRICS_ID)
    KVS_M_N
} kvs_metric_e;


typedef struct {
    const char            *name;
    kvs_metric_type_e      type;
    unsigned               labels;      /* KVS_L*() */
    kvs_metric_buckets_e   buckets;
    const char            *help;
} kvs_metric_family_t;

extern const kvs_metric_family_t  kvs_metric_families[KVS_M_N];


/* the layout of the slots, the same in every process of one build */
typedef struct {
    size_t                 offset[KVS_M_N];   /* a family's first slot */
    size_t                 width[KVS_M_N];    /* slots of one series */
    size_t                 series[KVS_M_N];   /* series of the family */
    size_t                 nslots;
    uint64_t               signature;         /* changes with the table */
} kvs_metrics_layout_t;

extern kvs_metrics_layout_t  kvs_metrics_layout;

/* Lays out the slots; idempotent, and called before any other function. */
void kvs_metrics_init(void);


/* The series of a request: its area by the URI's path, its method and
 * status class (100..599); -1 for a status out of that range. */
int kvs_metrics_request_series(const char *uri, size_t len,
    kvs_metric_method_e method, unsigned status);
kvs_metric_area_e kvs_metrics_area(const char *uri, size_t len);

/* The slot of a histogram's bucket (0..nbounds) for a value in the
 * family's integer unit (microseconds for seconds). */
unsigned kvs_metrics_bucket(kvs_metric_e m, uint64_t v);

/* microseconds of a monotonic clock, for durations */
uint64_t kvs_metrics_clock_us(void);

/*
 * Escapes a label value (backslash, double quote, newline) or, quote 0,
 * a HELP text (backslash, newline) into out, at most cap bytes; returns
 * the bytes the whole escape takes, as snprintf() does.
 */
size_t kvs_metrics_escape(char *out, size_t cap, const char *s, size_t len,
    int quote);

/*
 * Writes the exposition of the summed values (kvs_metrics_layout.nslots
 * of them) into out, at most cap bytes; returns the bytes the whole text
 * takes, so that a call with cap 0 measures it.  peers[i] names peer slot
 * i (NULL: unused; its series are left out); the slot past them prints as
 * peer="other", once it has counted something.
 */
size_t kvs_metrics_write(char *out, size_t cap, const uint64_t *values,
    const char *const *peers);

#endif /* KVS_METRICS_H */
