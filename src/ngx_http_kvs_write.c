/*
 * Group commit: how a worker writes without blocking its event loop.
 *
 * A durable LMDB commit costs an fsync, and LMDB admits one writer at a
 * time across all processes.  So PUT and DELETE requests are queued in
 * their worker; while one batch commits on nginx's thread pool, the next
 * requests gather, and when the commit returns they all go as the next
 * batch: one transaction, one fsync, many requests.  Under load the batch
 * grows by itself; alone, a request waits for one commit and no more.
 * Each request is answered from the event loop after its batch is
 * durable, never before.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"


#define NGX_HTTP_KVS_BATCH_MAX  512


typedef struct {
    kvs_store_t          *store;
    ngx_uint_t            n;
    int                   rc;
    char                  err[KVS_STORE_ERRLEN];
    ngx_http_request_t   *requests[NGX_HTTP_KVS_BATCH_MAX];
    kvs_write_t           writes[NGX_HTTP_KVS_BATCH_MAX];
} ngx_http_kvs_batch_t;


static void ngx_http_kvs_write_flush(void);
static void ngx_http_kvs_write_thread(void *data, ngx_log_t *log);
static void ngx_http_kvs_write_done(ngx_event_t *ev);
static void ngx_http_kvs_write_inflight(ngx_event_t *ev);


static ngx_queue_t         ngx_http_kvs_pending;
static ngx_thread_task_t  *ngx_http_kvs_task;
static ngx_thread_pool_t  *ngx_http_kvs_thread_pool;
static ngx_uint_t          ngx_http_kvs_busy;

/*
 * A worker that is shutting down gracefully exits once no timer is left;
 * this timer, armed while a batch commits, keeps it until the batch's
 * requests are answered.
 */
static ngx_event_t         ngx_http_kvs_inflight_ev;
static ngx_connection_t    ngx_http_kvs_inflight_conn;  /* for its log lines */


void
ngx_http_kvs_write_init_process(ngx_cycle_t *cycle)
{
    ngx_http_kvs_main_conf_t  *kmcf;

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_kvs_module);

    ngx_queue_init(&ngx_http_kvs_pending);
    ngx_http_kvs_busy = 0;
    ngx_http_kvs_thread_pool = kmcf->thread_pool;

    ngx_http_kvs_task = ngx_thread_task_alloc(cycle->pool,
                                              sizeof(ngx_http_kvs_batch_t));
    if (ngx_http_kvs_task == NULL) {
        return;
    }

    ngx_http_kvs_task->handler = ngx_http_kvs_write_thread;
    ngx_http_kvs_task->event.handler = ngx_http_kvs_write_done;
    ngx_http_kvs_task->event.data = ngx_http_kvs_task;
    ngx_http_kvs_task->event.log = cycle->log;

    ngx_http_kvs_inflight_conn.fd = (ngx_socket_t) -1;
    ngx_http_kvs_inflight_ev.data = &ngx_http_kvs_inflight_conn;
    ngx_http_kvs_inflight_ev.handler = ngx_http_kvs_write_inflight;
    ngx_http_kvs_inflight_ev.log = cycle->log;
    ngx_http_kvs_inflight_ev.cancelable = 0;
}


ngx_int_t
ngx_http_kvs_write_enqueue(ngx_http_request_t *r, ngx_http_kvs_ctx_t *ctx)
{
    if (ngx_http_kvs_task == NULL || ngx_http_kvs_thread_pool == NULL) {
        return ngx_http_kvs_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                  "this worker cannot write");
    }

    ctx->request = r;
    ngx_queue_insert_tail(&ngx_http_kvs_pending, &ctx->queue);

    if (!ngx_http_kvs_busy) {
        ngx_http_kvs_write_flush();
    }

    return NGX_OK;
}


static void
ngx_http_kvs_write_flush(void)
{
    ngx_uint_t             i;
    ngx_queue_t           *q;
    ngx_http_kvs_ctx_t    *ctx;
    ngx_http_kvs_batch_t  *batch;
    ngx_http_request_t    *r;
    ngx_connection_t      *c;

    batch = ngx_http_kvs_task->ctx;
    batch->store = ngx_http_kvs_store;
    batch->n = 0;

    while (!ngx_queue_empty(&ngx_http_kvs_pending)
           && batch->n < NGX_HTTP_KVS_BATCH_MAX)
    {
        q = ngx_queue_head(&ngx_http_kvs_pending);
        ngx_queue_remove(q);

        ctx = ngx_queue_data(q, ngx_http_kvs_ctx_t, queue);

        batch->requests[batch->n] = ctx->request;
        batch->writes[batch->n] = ctx->write;
        batch->n++;
    }

    if (batch->n == 0) {
        return;
    }

    if (ngx_thread_task_post(ngx_http_kvs_thread_pool, ngx_http_kvs_task)
        == NGX_OK)
    {
        ngx_http_kvs_busy = 1;
        ngx_add_timer(&ngx_http_kvs_inflight_ev, 86400000);
        return;
    }

    for (i = 0; i < batch->n; i++) {
        r = batch->requests[i];
        c = r->connection;

        ngx_http_finalize_request(r,
            ngx_http_kvs_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                               "the write queue is full; retry later"));
        ngx_http_run_posted_requests(c);
    }
}


/* runs on a thread of the pool: the only place a worker waits for disk */

static void
ngx_http_kvs_write_thread(void *data, ngx_log_t *log)
{
    ngx_http_kvs_batch_t *batch = data;

    batch->rc = kvs_store_write(batch->store, batch->writes, batch->n,
                                ngx_http_kvs_now_ms(), batch->err,
                                sizeof(batch->err));
}


static void
ngx_http_kvs_write_done(ngx_event_t *ev)
{
    ngx_int_t                  rc;
    ngx_uint_t                 i;
    ngx_connection_t          *c;
    ngx_thread_task_t         *task;
    ngx_http_request_t        *r;
    ngx_http_kvs_ctx_t        *ctx;
    ngx_http_kvs_batch_t      *batch;
    ngx_http_kvs_main_conf_t  *kmcf;

    task = ev->data;
    batch = task->ctx;

    ngx_http_kvs_busy = 0;

    if (ngx_http_kvs_inflight_ev.timer_set) {
        ngx_del_timer(&ngx_http_kvs_inflight_ev);
    }

    if (batch->rc != KVS_OK) {
        ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                      "kvs: a batch of %ui writes failed: %s",
                      batch->n, batch->err);
    }

    for (i = 0; i < batch->n; i++) {
        r = batch->requests[i];
        c = r->connection;
        ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);

        ctx->write.rc = batch->writes[i].rc;
        ctx->write.version = batch->writes[i].version;

        switch (batch->rc) {

        case KVS_OK:
            rc = ngx_http_kvs_data_written(r, ctx);
            break;

        case KVS_FULL:
            kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);
            rc = ngx_http_kvs_error(r, NGX_HTTP_INSUFFICIENT_STORAGE,
                                    "the store is full: max_db_size (%uz "
                                    "bytes) is reached",
                                    kmcf->kc.max_db_size);
            break;

        default:
            rc = ngx_http_kvs_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                    "the write could not be committed");
        }

        ngx_http_finalize_request(r, rc);
        ngx_http_run_posted_requests(c);
    }

    ngx_http_kvs_write_flush();
}


static void
ngx_http_kvs_write_inflight(ngx_event_t *ev)
{
    /* a commit that takes a day: keep waiting */
    ngx_add_timer(ev, 86400000);
}
