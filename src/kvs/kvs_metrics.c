/*
 * The metrics' table, layout and Prometheus text exposition (format
 * 0.0.4): see kvs_metrics.h.  The writer measures as it writes, so that
 * the glue sizes its buffer with one call and fills it with a second.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kvs_metrics.h"


#define KVS_METRICS_FAMILY(id, name, type, labels, buckets, help)             \
    [KVS_M_##id] = { name, KVS_METRIC_##type, labels, KVS_BUCKETS_##buckets,  \
                     help },

const kvs_metric_family_t  kvs_metric_families[KVS_M_N] = {
    KVS_METRICS(KVS_METRICS_FAMILY)
};

kvs_metrics_layout_t  kvs_metrics_layout;


/* a label dimension: its name and values; the peer's values are slots */
typedef struct {
    const char            *name;
    const char *const     *values;
    size_t                 n;
} kvs_metric_dim_t;

static const char *const  kvs_metric_areas[KVS_AREA_N] = {
    "kv", "members", "health", "api", "cluster", "other"
};

static const char *const  kvs_metric_methods[KVS_METHOD_N] = {
    "GET", "HEAD", "PUT", "POST", "DELETE", "other"
};

static const char *const  kvs_metric_statuses[KVS_STATUS_N] = {
    "1xx", "2xx", "3xx", "4xx", "5xx"
};

/* as KVS_MEMBER_ALIVE, _FAILED, _LEFT number them */
static const char *const  kvs_metric_states[] = {
    "alive", "failed", "left"
};

static const char *const  kvs_metric_results[] = {
    "ok", "failed"
};

static const char *const  kvs_metric_phases[KVS_PHASE_N] = {
    "apply", "audit", "commit"
};

static const kvs_metric_dim_t  kvs_metric_dims[KVS_DIM_N] = {
    [KVS_DIM_NONE] = { NULL, NULL, 1 },
    [KVS_DIM_AREA] = { "area", kvs_metric_areas, KVS_AREA_N },
    [KVS_DIM_METHOD] = { "method", kvs_metric_methods, KVS_METHOD_N },
    [KVS_DIM_STATUS] = { "status", kvs_metric_statuses, KVS_STATUS_N },
    [KVS_DIM_STATE] = { "state", kvs_metric_states, 3 },
    [KVS_DIM_RESULT] = { "result", kvs_metric_results, 2 },
    [KVS_DIM_PEER] = { "peer", NULL, KVS_METRICS_PEERS + 1 },
    [KVS_DIM_PHASE] = { "phase", kvs_metric_phases, KVS_PHASE_N }
};


/*
 * A histogram's bounds: as printed in le="", and in the integer unit the
 * slots keep (microseconds for seconds), in which observations come.
 */
typedef struct {
    const char            *le;
    uint64_t               upto;
} kvs_metric_bound_t;

typedef struct {
    const kvs_metric_bound_t  *bounds;
    size_t                     n;
    uint64_t                   unit;    /* slot units per printed unit */
} kvs_metric_buckets_t;

/* a commit's fsync takes about 0.4 ms here (2,400 commits/s) */
static const kvs_metric_bound_t  kvs_metric_commit_bounds[] = {
    { "0.0005", 500 }, { "0.001", 1000 }, { "0.0025", 2500 },
    { "0.005", 5000 }, { "0.01", 10000 }, { "0.025", 25000 },
    { "0.05", 50000 }, { "0.1", 100000 }, { "0.25", 250000 },
    { "0.5", 500000 }, { "1", 1000000 }, { "2.5", 2500000 }
};

/* up to NGX_HTTP_KVS_BATCH_MAX, 1024 */
static const kvs_metric_bound_t  kvs_metric_batch_bounds[] = {
    { "1", 1 }, { "2", 2 }, { "4", 4 }, { "8", 8 }, { "16", 16 },
    { "32", 32 }, { "64", 64 }, { "128", 128 }, { "256", 256 },
    { "512", 512 }, { "1024", 1024 }
};

/* a push runs every 100 ms; a failing peer is retried up to 5 s apart */
static const kvs_metric_bound_t  kvs_metric_lag_bounds[] = {
    { "0.005", 5000 }, { "0.01", 10000 }, { "0.025", 25000 },
    { "0.05", 50000 }, { "0.1", 100000 }, { "0.25", 250000 },
    { "0.5", 500000 }, { "1", 1000000 }, { "2.5", 2500000 },
    { "5", 5000000 }, { "10", 10000000 }, { "30", 30000000 },
    { "60", 60000000 }
};

/* a small store takes milliseconds, a large one minutes */
static const kvs_metric_bound_t  kvs_metric_backup_bounds[] = {
    { "0.1", 100000 }, { "0.5", 500000 }, { "1", 1000000 },
    { "5", 5000000 }, { "10", 10000000 }, { "30", 30000000 },
    { "60", 60000000 }, { "300", 300000000 }, { "900", 900000000 },
    { "1800", 1800000000 }, { "3600", 3600000000ULL }
};

#define KVS_METRIC_BOUNDS(b)  b, sizeof(b) / sizeof(b[0])

static const kvs_metric_buckets_t  kvs_metric_buckets[KVS_BUCKETS_N] = {
    [KVS_BUCKETS_NONE] = { NULL, 0, 1 },
    [KVS_BUCKETS_COMMIT] = { KVS_METRIC_BOUNDS(kvs_metric_commit_bounds),
                             1000000 },
    [KVS_BUCKETS_BATCH] = { KVS_METRIC_BOUNDS(kvs_metric_batch_bounds), 1 },
    [KVS_BUCKETS_LAG] = { KVS_METRIC_BOUNDS(kvs_metric_lag_bounds),
                          1000000 },
    [KVS_BUCKETS_BACKUP] = { KVS_METRIC_BOUNDS(kvs_metric_backup_bounds),
                             1000000 }
};


/* the areas by the path's beginning; the first that matches wins */
typedef struct {
    const char            *path;
    size_t                 len;
    int                    prefix;
    kvs_metric_area_e      area;
} kvs_metric_path_t;

#define KVS_METRIC_PATH(s, prefix, area)                                      \
    { s, sizeof(s) - 1, prefix, area }

static const kvs_metric_path_t  kvs_metric_paths[] = {
    KVS_METRIC_PATH("/kv/", 1, KVS_AREA_KV),
    KVS_METRIC_PATH("/health", 0, KVS_AREA_HEALTH),
    KVS_METRIC_PATH("/api/", 1, KVS_AREA_API),
    /* what peers call */
    KVS_METRIC_PATH("/_cluster/", 1, KVS_AREA_CLUSTER),
    KVS_METRIC_PATH("/members/join", 0, KVS_AREA_CLUSTER),
    KVS_METRIC_PATH("/members/gossip", 0, KVS_AREA_CLUSTER),
    KVS_METRIC_PATH("/members/leave", 0, KVS_AREA_CLUSTER),
    KVS_METRIC_PATH("/members", 1, KVS_AREA_MEMBERS)
};


typedef struct {
    char                  *out;
    size_t                 cap;
    size_t                 len;
} kvs_metric_text_t;


static size_t kvs_metrics_dims(unsigned labels, unsigned *dims);
static void kvs_metric_printf(kvs_metric_text_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void kvs_metric_escaped(kvs_metric_text_t *t, const char *s,
    int quote);
static void kvs_metric_family(kvs_metric_text_t *t, kvs_metric_e m,
    const uint64_t *values, const char *const *peers);
static int kvs_metric_labels(kvs_metric_text_t *t, const unsigned *dims,
    size_t ndims, size_t series, const char *const *peers);
static void kvs_metric_value(kvs_metric_text_t *t, uint64_t v,
    uint64_t unit);


/* the dimensions packed in labels, in order; returns how many */

static size_t
kvs_metrics_dims(unsigned labels, unsigned *dims)
{
    size_t  n;

    for (n = 0; n < 3 && (labels & 0xf); n++, labels >>= 4) {
        dims[n] = labels & 0xf;
    }

    return n;
}


void
kvs_metrics_init(void)
{
    size_t                      i, d, n, off;
    uint64_t                    sig;
    unsigned                    dims[3];
    const char                 *p;
    const kvs_metric_family_t  *f;

    off = 0;
    sig = 1469598103934665603ULL;           /* FNV-1a */

    for (i = 0; i < KVS_M_N; i++) {
        f = &kvs_metric_families[i];

        kvs_metrics_layout.series[i] = 1;
        n = kvs_metrics_dims(f->labels, dims);

        for (d = 0; d < n; d++) {
            kvs_metrics_layout.series[i] *= kvs_metric_dims[dims[d]].n;
        }

        kvs_metrics_layout.width[i] = (f->type == KVS_METRIC_HISTOGRAM)
                                  ? kvs_metric_buckets[f->buckets].n + 2 : 1;
        kvs_metrics_layout.offset[i] = off;
        off += kvs_metrics_layout.series[i] * kvs_metrics_layout.width[i];

        for (p = f->name; *p; p++) {
            sig = (sig ^ (uint8_t) *p) * 1099511628211ULL;
        }

        sig = (sig ^ kvs_metrics_layout.offset[i]) * 1099511628211ULL;
    }

    kvs_metrics_layout.nslots = off;
    kvs_metrics_layout.signature = (sig ^ off) * 1099511628211ULL;
}


kvs_metric_area_e
kvs_metrics_area(const char *uri, size_t len)
{
    size_t                    i;
    const kvs_metric_path_t  *p;

    for (i = 0; i < sizeof(kvs_metric_paths) / sizeof(kvs_metric_paths[0]);
         i++)
    {
        p = &kvs_metric_paths[i];

        if ((p->prefix ? len >= p->len : len == p->len)
            && memcmp(uri, p->path, p->len) == 0)
        {
            return p->area;
        }
    }

    return KVS_AREA_OTHER;
}


int
kvs_metrics_request_series(const char *uri, size_t len,
    kvs_metric_method_e method, unsigned status)
{
    if (status < 100 || status > 599 || method >= KVS_METHOD_N) {
        return -1;
    }

    return ((int) kvs_metrics_area(uri, len) * KVS_METHOD_N + (int) method)
           * KVS_STATUS_N + (int) (status / 100 - 1);
}


unsigned
kvs_metrics_bucket(kvs_metric_e m, uint64_t v)
{
    unsigned                     i;
    const kvs_metric_buckets_t  *b;

    b = &kvs_metric_buckets[kvs_metric_families[m].buckets];

    for (i = 0; i < b->n; i++) {
        if (v <= b->bounds[i].upto) {
            return i;
        }
    }

    return i;
}


uint64_t
kvs_metrics_clock_us(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}


size_t
kvs_metrics_escape(char *out, size_t cap, const char *s, size_t len,
    int quote)
{
    size_t       i, n;
    const char  *e;

    for (i = 0, n = 0; i < len; i++) {

        switch (s[i]) {
        case '\\':
            e = "\\\\";
            break;
        case '\n':
            e = "\\n";
            break;
        case '"':
            e = quote ? "\\\"" : NULL;
            break;
        default:
            e = NULL;
        }

        if (e == NULL) {
            if (n < cap) {
                out[n] = s[i];
            }

            n++;
            continue;
        }

        if (n + 2 <= cap) {
            out[n] = e[0];
            out[n + 1] = e[1];
        }

        n += 2;
    }

    return n;
}


size_t
kvs_metrics_write(char *out, size_t cap, const uint64_t *values,
    const char *const *peers)
{
    size_t             i;
    kvs_metric_text_t  t;

    t.out = out;
    t.cap = cap;
    t.len = 0;

    for (i = 0; i < KVS_M_N; i++) {
        kvs_metric_family(&t, (kvs_metric_e) i, values, peers);
    }

    return t.len;
}


/* appends to the text; past cap it only counts */

static void
kvs_metric_printf(kvs_metric_text_t *t, const char *fmt, ...)
{
    int      n;
    char     tmp[1];
    va_list  args;

    va_start(args, fmt);

    if (t->len < t->cap) {
        n = vsnprintf(t->out + t->len, t->cap - t->len, fmt, args);

    } else {
        n = vsnprintf(tmp, sizeof(tmp), fmt, args);
    }

    va_end(args);

    if (n > 0) {
        t->len += (size_t) n;
    }
}


static void
kvs_metric_escaped(kvs_metric_text_t *t, const char *s, int quote)
{
    size_t  room;

    /* measuring, out may be NULL: no pointer is made past it */
    room = t->len < t->cap ? t->cap - t->len : 0;

    t->len += kvs_metrics_escape(room ? t->out + t->len : NULL, room, s,
                                 strlen(s), quote);
}


static void
kvs_metric_family(kvs_metric_text_t *t, kvs_metric_e m,
    const uint64_t *values, const char *const *peers)
{
    size_t                       s, b, ndims, width;
    uint64_t                     cum;
    unsigned                     dims[3];
    const uint64_t              *v;
    const kvs_metric_family_t   *f;
    const kvs_metric_buckets_t  *bk;
    static const char           *types[] = { "counter", "gauge",
                                             "histogram" };

    f = &kvs_metric_families[m];
    bk = &kvs_metric_buckets[f->buckets];
    width = kvs_metrics_layout.width[m];
    ndims = kvs_metrics_dims(f->labels, dims);

    kvs_metric_printf(t, "# HELP %s ", f->name);
    kvs_metric_escaped(t, f->help, 0);
    kvs_metric_printf(t, "\n# TYPE %s %s\n", f->name, types[f->type]);

    for (s = 0; s < kvs_metrics_layout.series[m]; s++) {
        v = values + kvs_metrics_layout.offset[m] + s * width;

        if (f->type != KVS_METRIC_HISTOGRAM) {
            /* a peer slot unused, or "other" before it counted */
            if (ndims && dims[ndims - 1] == KVS_DIM_PEER
                && (s < KVS_METRICS_PEERS ? peers[s] == NULL : v[0] == 0))
            {
                continue;
            }

            kvs_metric_printf(t, "%s", f->name);
            if (kvs_metric_labels(t, dims, ndims, s, peers)) {
                kvs_metric_printf(t, "}");
            }
            kvs_metric_printf(t, " %llu\n", (unsigned long long) v[0]);
            continue;
        }

        for (b = 0, cum = 0; b <= bk->n; b++) {
            cum += v[b];
        }

        if (ndims && dims[ndims - 1] == KVS_DIM_PEER
            && (s < KVS_METRICS_PEERS ? peers[s] == NULL : cum == 0))
        {
            continue;
        }

        for (b = 0, cum = 0; b <= bk->n; b++) {
            cum += v[b];

            kvs_metric_printf(t, "%s_bucket", f->name);

            if (kvs_metric_labels(t, dims, ndims, s, peers)) {
                kvs_metric_printf(t, ",");

            } else {
                kvs_metric_printf(t, "{");
            }

            kvs_metric_printf(t, "le=\"%s\"} %llu\n",
                              b < bk->n ? bk->bounds[b].le : "+Inf",
                              (unsigned long long) cum);
        }

        kvs_metric_printf(t, "%s_sum", f->name);
        if (kvs_metric_labels(t, dims, ndims, s, peers)) {
            kvs_metric_printf(t, "}");
        }
        kvs_metric_printf(t, " ");
        kvs_metric_value(t, v[bk->n + 1], bk->unit);
        kvs_metric_printf(t, "\n");

        kvs_metric_printf(t, "%s_count", f->name);
        if (kvs_metric_labels(t, dims, ndims, s, peers)) {
            kvs_metric_printf(t, "}");
        }
        kvs_metric_printf(t, " %llu\n", (unsigned long long) cum);
    }
}


/*
 * The labels of a series, as {a="x",b="y" left open for the caller to
 * add le="..." or close it.  Returns whether there were any.
 */

static int
kvs_metric_labels(kvs_metric_text_t *t, const unsigned *dims, size_t ndims,
    size_t series, const char *const *peers)
{
    size_t                   d, i, rest;
    const char              *value;
    const kvs_metric_dim_t  *dim;

    if (ndims == 0) {
        return 0;
    }

    rest = series;

    for (d = 0; d < ndims; d++) {
        dim = &kvs_metric_dims[dims[d]];

        /* the series number is the dimensions' indexes, the last fastest */

        for (i = d + 1, series = 1; i < ndims; i++) {
            series *= kvs_metric_dims[dims[i]].n;
        }

        i = rest / series;
        rest %= series;

        if (dim->values) {
            value = dim->values[i];

        } else {
            value = i < KVS_METRICS_PEERS ? peers[i]
                                          : KVS_METRICS_PEER_OTHER;
        }

        kvs_metric_printf(t, "%s%s=\"", d ? "," : "{", dim->name);
        kvs_metric_escaped(t, value, 1);
        kvs_metric_printf(t, "\"");
    }

    return 1;
}


/* an integer of slot units, printed exactly in the printed unit */

static void
kvs_metric_value(kvs_metric_text_t *t, uint64_t v, uint64_t unit)
{
    if (unit == 1) {
        kvs_metric_printf(t, "%llu", (unsigned long long) v);
        return;
    }

    kvs_metric_printf(t, "%llu.%06llu", (unsigned long long) (v / unit),
                      (unsigned long long) (v % unit * (1000000 / unit)));
}
