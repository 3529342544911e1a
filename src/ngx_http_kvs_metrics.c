/*
 * Metrics: the node's counters and histograms in shared memory, served in
 * Prometheus's text format by kvs_metrics locations.
 *
 * The zone "kvs_metrics" holds one row of slots per process (the layout
 * is kvs_metrics.c's): the agent, or the single process, writes row 0,
 * worker N row 1 + N (modulo the rows there are).  Each process adds to
 * its own row with atomic adds, on cache lines no other process writes,
 * so counting a request costs one uncontended add and no lock; a scrape
 * sums the rows.  The gauges (keys, the store's size, members by state,
 * syncing) and the store's own count of conflicts are read from the
 * store when a scrape asks, in one read transaction.
 *
 * The agent names the peers it pushes to in KVS_METRICS_PEERS slots of
 * the zone, in the order it first pushes to them; a peer past them is
 * counted as peer="other".  The zone survives a reload, counters and peer
 * slots with it, unless the build's table of metrics changed.
 *
 * With metrics_enabled: false there is no zone, no process has a row, and
 * each place that counts stops at its first branch.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "kvs_members.h"


/* row 0 is the agent's (or the single process's), workers share the rest
 * past 63 of them */
#define NGX_HTTP_KVS_METRIC_ROWS  64

/* slots of a row, rounded so that rows share no cache line (nor the line
 * next to it, which CPUs fetch in pairs) */
#define NGX_HTTP_KVS_METRIC_ALIGN  16


typedef struct {
    ngx_atomic_t           state;         /* 0 free, 1 being named,
                                             2 named */
    u_char                 name[KVS_MEMBER_NAME_MAX + 1];
} ngx_http_kvs_metrics_peer_t;

typedef struct {
    uint64_t                      signature;  /* kvs_metrics_layout's */
    size_t                        row_len;    /* slots of a row */
    ngx_http_kvs_metrics_peer_t   peers[KVS_METRICS_PEERS];
    ngx_atomic_t                 *rows;
} ngx_http_kvs_metrics_shm_t;


typedef struct {
    ngx_uint_t             method;        /* NGX_HTTP_GET ... */
    kvs_metric_method_e    label;
} ngx_http_kvs_metric_method_t;

static ngx_http_kvs_metric_method_t  ngx_http_kvs_metric_methods[] = {
    { NGX_HTTP_GET, KVS_METHOD_GET },
    { NGX_HTTP_HEAD, KVS_METHOD_HEAD },
    { NGX_HTTP_PUT, KVS_METHOD_PUT },
    { NGX_HTTP_POST, KVS_METHOD_POST },
    { NGX_HTTP_DELETE, KVS_METHOD_DELETE },
    { 0, KVS_METHOD_OTHER }
};


typedef struct {
    uint64_t               now;
    uint64_t               failure_ms;
    uint64_t              *states;        /* kvs_members's slots */
} ngx_http_kvs_metrics_members_t;


static ngx_int_t ngx_http_kvs_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_kvs_metrics_log(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvs_metrics_gauges(ngx_http_request_t *r,
    uint64_t *values);
static int ngx_http_kvs_metrics_member(const kvs_member_t *m, void *data);


ngx_atomic_t  *ngx_http_kvs_metrics_row;

static ngx_http_kvs_metrics_shm_t  *ngx_http_kvs_metrics_shm;
static ngx_str_t  ngx_http_kvs_metrics_zone_name = ngx_string("kvs_metrics");


/* the zone, when some location serves the API and metrics are on */

ngx_int_t
ngx_http_kvs_metrics_conf(ngx_conf_t *cf, ngx_http_kvs_main_conf_t *kmcf)
{
    size_t           row_len, size;
    ngx_shm_zone_t  *zone;

    if (!kmcf->kc.metrics_enabled) {
        ngx_kvs_debug(cf->log, "kvs metrics: off, metrics_enabled is false");
        return NGX_OK;
    }

    kvs_metrics_init();

    row_len = ngx_align(kvs_metrics_layout.nslots, NGX_HTTP_KVS_METRIC_ALIGN);

    /* the rows, the header and the slab pool's own pages */
    size = NGX_HTTP_KVS_METRIC_ROWS * row_len * sizeof(ngx_atomic_t)
           + sizeof(ngx_http_kvs_metrics_shm_t);
    size = ngx_align(size + size / 8, ngx_pagesize) + 8 * ngx_pagesize;

    zone = ngx_shared_memory_add(cf, &ngx_http_kvs_metrics_zone_name, size,
                                 &ngx_http_kvs_module);
    if (zone == NULL) {
        return NGX_ERROR;
    }

    zone->init = ngx_http_kvs_metrics_init_zone;
    kmcf->metrics_zone = zone;

    return NGX_OK;
}


/*
 * The counters survive a reload as they are, when this build lays them
 * out as the zone's did.  A zone of the same size laid out by another
 * build's table (a reload that loads a new module) is reused, at 0: its
 * counts meant other things.
 */

static ngx_int_t
ngx_http_kvs_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    size_t                       row_len;
    ngx_slab_pool_t             *shpool;
    ngx_http_kvs_metrics_shm_t  *shm;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    row_len = ngx_align(kvs_metrics_layout.nslots, NGX_HTTP_KVS_METRIC_ALIGN);

    shm = data ? data : (shm_zone->shm.exists ? shpool->data : NULL);

    if (shm != NULL && shm->row_len == row_len) {

        if (shm->signature != kvs_metrics_layout.signature) {
            ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                          "kvs: this build counts other metrics: they "
                          "start at 0");

            ngx_memzero(shm->peers, sizeof(shm->peers));
            ngx_memzero((u_char *) shm->rows,
                        NGX_HTTP_KVS_METRIC_ROWS * row_len
                        * sizeof(ngx_atomic_t));
            shm->signature = kvs_metrics_layout.signature;
        }

        shm_zone->data = shm;
        return NGX_OK;
    }

    shm = ngx_slab_calloc(shpool, sizeof(ngx_http_kvs_metrics_shm_t));
    if (shm == NULL) {
        return NGX_ERROR;
    }

    /* the slab pool hands out pages whole: each row starts a line */

    shm->rows = ngx_slab_calloc(shpool, NGX_HTTP_KVS_METRIC_ROWS * row_len
                                        * sizeof(ngx_atomic_t));
    if (shm->rows == NULL) {
        return NGX_ERROR;
    }

    shm->signature = kvs_metrics_layout.signature;
    shm->row_len = row_len;

    shpool->data = shm;
    shm_zone->data = shm;

    return NGX_OK;
}


/* the row this process counts in */

void
ngx_http_kvs_metrics_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                   row;
    ngx_http_kvs_main_conf_t    *kmcf;
    ngx_http_kvs_metrics_shm_t  *shm;

    ngx_http_kvs_metrics_row = NULL;
    ngx_http_kvs_metrics_shm = NULL;

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_kvs_module);

    if (kmcf->metrics_zone == NULL) {
        return;
    }

    shm = kmcf->metrics_zone->data;

    row = (ngx_process == NGX_PROCESS_WORKER)
          ? 1 + ngx_worker % (NGX_HTTP_KVS_METRIC_ROWS - 1) : 0;

    ngx_kvs_debug(cycle->log, "kvs metrics: this process counts in row %ui",
                  row);

    ngx_http_kvs_metrics_shm = shm;
    ngx_http_kvs_metrics_row = shm->rows + row * shm->row_len;
}


/*
 * The slot of a peer's series, named by the agent in the order it first
 * pushes to peers; KVS_METRICS_PEERS ("other") once every slot is taken.
 * A slot is claimed before it is named, so that an agent of a reload that
 * overlaps the old one never names one slot twice.
 */

ngx_uint_t
ngx_http_kvs_metrics_peer(const char *node_id)
{
    ngx_uint_t                    i;
    ngx_http_kvs_metrics_peer_t  *p;

    if (ngx_http_kvs_metrics_shm == NULL) {
        return KVS_METRICS_PEERS;
    }

    for (i = 0; i < KVS_METRICS_PEERS; i++) {
        p = &ngx_http_kvs_metrics_shm->peers[i];

        if (p->state == 2
            && ngx_strcmp(p->name, (u_char *) node_id) == 0)
        {
            return i;
        }
    }

    for (i = 0; i < KVS_METRICS_PEERS; i++) {
        p = &ngx_http_kvs_metrics_shm->peers[i];

        if (p->state == 0 && ngx_atomic_cmp_set(&p->state, 0, 1)) {
            ngx_cpystrn(p->name, (u_char *) node_id, sizeof(p->name));
            ngx_memory_barrier();
            p->state = 2;

            ngx_kvs_debug(ngx_cycle->log, "kvs metrics: peer \"%s\" has "
                          "slot %ui", node_id, i);
            return i;
        }
    }

    ngx_kvs_debug(ngx_cycle->log, "kvs metrics: no slot left for peer "
                  "\"%s\": counted as \"other\"", node_id);

    return KVS_METRICS_PEERS;
}


/* the log phase: every request a kvs_api or kvs_cluster_api answered */

ngx_int_t
ngx_http_kvs_metrics_postconfiguration(ngx_conf_t *cf,
    ngx_http_kvs_main_conf_t *kmcf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    if (!kmcf->used || !kmcf->kc.metrics_enabled) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_kvs_metrics_log;

    return NGX_OK;
}


static ngx_int_t
ngx_http_kvs_metrics_log(ngx_http_request_t *r)
{
    int                            series;
    ngx_uint_t                     status;
    ngx_http_kvs_loc_conf_t       *klcf;
    ngx_http_kvs_metric_method_t  *m;

    if (ngx_http_kvs_metrics_row == NULL) {
        return NGX_OK;
    }

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvs_module);

    if (!klcf->api && !klcf->cluster) {
        return NGX_OK;
    }

    /* the status the access log writes */

    status = r->err_status ? r->err_status : r->headers_out.status;

    for (m = ngx_http_kvs_metric_methods; m->method; m++) {
        if (m->method == r->method) {
            break;
        }
    }

    series = kvs_metrics_request_series((char *) r->uri.data, r->uri.len,
                                        m->label, status);
    if (series < 0) {
        ngx_kvs_debug(r->connection->log, "kvs metrics: a request without "
                      "a status (%ui) is not counted", status);
        return NGX_OK;
    }

    ngx_http_kvs_metric_add(KVS_M_REQUESTS, series, 1);

    return NGX_OK;
}


/* kvs_metrics: the directive, then its handler */

char *
ngx_http_kvs_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_kvs_loc_conf_t *klcf = conf;

    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_kvs_main_conf_t  *kmcf;

    if (klcf->metrics != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    if (klcf->api == 1 || klcf->cluster == 1) {
        return "cannot share a location with kvs_api or kvs_cluster_api";
    }

    klcf->metrics = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_kvs_metrics_handler;

    kmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_kvs_module);

    if (kmcf->metrics_file.len == 0) {
        kmcf->metrics_file = cf->conf_file->file.name;
        kmcf->metrics_line = cf->conf_file->line;
    }

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_kvs_metrics_handler(ngx_http_request_t *r)
{
    u_char                      *text;
    size_t                       i, j, len;
    uint64_t                    *values;
    ngx_int_t                    rc;
    ngx_atomic_t                *row;
    const char                  *peers[KVS_METRICS_PEERS];
    ngx_http_kvs_main_conf_t    *kmcf;
    ngx_http_kvs_metrics_shm_t  *shm;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_kvs_not_allowed(r, "GET, HEAD", "the method %V is "
                                        "not allowed on metrics; use GET",
                                        &r->method_name);
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);
    shm = ngx_http_kvs_metrics_shm;

    if (!kmcf->kc.metrics_enabled || shm == NULL) {
        ngx_kvs_debug(r->connection->log, "kvs metrics: off, 404");
        return ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND, "metrics are off: "
                                  "metrics_enabled is false in the node's "
                                  "YAML");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    values = ngx_pcalloc(r->pool, kvs_metrics_layout.nslots
                                  * sizeof(uint64_t));
    if (values == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* every process's row: a sum of counters is a counter */

    for (i = 0; i < NGX_HTTP_KVS_METRIC_ROWS; i++) {
        row = shm->rows + i * shm->row_len;

        for (j = 0; j < kvs_metrics_layout.nslots; j++) {
            values[j] += row[j];
        }
    }

    for (i = 0; i < KVS_METRICS_PEERS; i++) {
        peers[i] = (shm->peers[i].state == 2)
                   ? (const char *) shm->peers[i].name : NULL;
    }

    rc = ngx_http_kvs_metrics_gauges(r, values);
    if (rc != NGX_OK) {
        return rc;
    }

    len = kvs_metrics_write(NULL, 0, values, peers);

    text = ngx_pnalloc(r->pool, len + 1);
    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) kvs_metrics_write((char *) text, len + 1, values, peers);

    ngx_kvs_debug(r->connection->log, "kvs metrics: %uz bytes of %uz "
                  "slots", len, kvs_metrics_layout.nslots);

    ngx_str_set(&r->headers_out.content_type, "text/plain; version=0.0.4");
    r->headers_out.content_type_len = sizeof("text/plain") - 1;

    return ngx_http_kvs_send(r, NGX_HTTP_OK, text, len);
}


/* what the store says as the scrape asks, in one read transaction */

static ngx_int_t
ngx_http_kvs_metrics_gauges(ngx_http_request_t *r, uint64_t *values)
{
    int                              rc;
    char                             err[KVS_STORE_ERRLEN];
    uint64_t                         v;
    kvs_store_t                     *st;
    kvs_audit_head_t                 head;
    kvs_store_usage_t                u;
    ngx_http_kvs_main_conf_t        *kmcf;
    ngx_http_kvs_metrics_members_t   mm;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);
    st = ngx_http_kvs_store;

    if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
        ngx_kvs_log(NGX_LOG_ERR, r->connection->log, 0, "kvs: %s", err);
        return ngx_http_kvs_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                  "the store cannot be read");
    }

    mm.now = ngx_http_kvs_now_ms();
    mm.failure_ms = (uint64_t) (kmcf->kc.failure_timeout * 1000);
    mm.states = values + kvs_metrics_layout.offset[KVS_M_MEMBERS];

    rc = kvs_store_count(st, &values[kvs_metrics_layout.offset[KVS_M_KEYS]]);

    if (rc == KVS_OK) {
        rc = kvs_store_usage(st, &u);
    }

    if (rc == KVS_OK) {
        rc = kvs_store_member_each(st, ngx_http_kvs_metrics_member, &mm);
    }

    if (rc == KVS_OK) {
        values[kvs_metrics_layout.offset[KVS_M_STORE_SIZE]] = u.size;
        values[kvs_metrics_layout.offset[KVS_M_STORE_USED]] = u.used;
        values[kvs_metrics_layout.offset[KVS_M_MAP_SIZE]] = u.map;

        if (kvs_store_meta_get(st, KVS_SYNCING, &v) == KVS_OK && v) {
            values[kvs_metrics_layout.offset[KVS_M_SYNCING]] = 1;
        }

        if (kvs_store_meta_get(st, KVS_CONFLICTS_RESOLVED, &v) == KVS_OK) {
            values[kvs_metrics_layout.offset[KVS_M_CONFLICTS]] = v;
        }

        ngx_http_kvs_backup_gauges(kmcf, values);

        /* the chain's sequence counts every entry the log holds */
        if (kvs_store_audit_on(st)) {
            rc = kvs_store_audit_head(st, &head);

            if (rc == KVS_OK) {
                values[kvs_metrics_layout.offset[KVS_M_AUDIT_ENTRIES]]
                    = head.seq;
            }
        }
    }

    if (rc != KVS_OK) {
        ngx_kvs_log(NGX_LOG_ERR, r->connection->log, 0, "kvs: %s",
                    kvs_store_error(st));
    }

    kvs_store_read_end(st);

    if (rc != KVS_OK) {
        return ngx_http_kvs_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                  "the store cannot be read");
    }

    return NGX_OK;
}


static int
ngx_http_kvs_metrics_member(const kvs_member_t *m, void *data)
{
    ngx_http_kvs_metrics_members_t *mm = data;

    int  state;

    state = kvs_member_state(m, mm->now, mm->failure_ms);

    if (state >= KVS_MEMBER_ALIVE && state <= KVS_MEMBER_LEFT) {
        mm->states[state]++;
    }

    return KVS_OK;
}
