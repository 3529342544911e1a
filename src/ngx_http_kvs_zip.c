/*
 * Compression of a PUT's value on nginx's thread pool, before the write
 * joins the group-commit queue, so that neither the event loop nor LMDB's
 * writer lock waits for zstd.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "kvs_codec.h"


typedef struct {
    u_char               *src;
    size_t                len;
    u_char               *dst;
    size_t                cap;
    size_t                out;           /* frame length, 0 = stay raw */
    int                   level;
    ngx_http_request_t   *request;
} ngx_http_kvs_zip_t;


static void ngx_http_kvs_zip_thread(void *data, ngx_log_t *log);
static void ngx_http_kvs_zip_done(ngx_event_t *ev);


/*
 * Compression on the thread pool.  The request is blocked meanwhile, as
 * nginx blocks one whose file a thread reads; should no thread take the
 * task, the value is stored raw, which every reader reads as well.
 */

ngx_int_t
ngx_http_kvs_zip(ngx_http_request_t *r, ngx_http_kvs_main_conf_t *kmcf,
    u_char *data, size_t len)
{
    ngx_thread_task_t   *task;
    ngx_http_kvs_zip_t  *zip;

    if (kmcf->thread_pool == NULL) {
        return NGX_DECLINED;
    }

    task = ngx_thread_task_alloc(r->pool, sizeof(ngx_http_kvs_zip_t));
    if (task == NULL) {
        return NGX_ERROR;
    }

    zip = task->ctx;
    zip->src = data;
    zip->len = len;
    zip->cap = kvs_codec_bound(len);
    zip->level = kmcf->kc.compression_level;
    zip->request = r;

    zip->dst = ngx_pnalloc(r->pool, zip->cap);
    if (zip->dst == NULL) {
        return NGX_ERROR;
    }

    task->handler = ngx_http_kvs_zip_thread;
    task->event.data = task;
    task->event.handler = ngx_http_kvs_zip_done;

    if (ngx_thread_task_post(kmcf->thread_pool, task) != NGX_OK) {
        return NGX_ERROR;
    }

    r->main->blocked++;
    ngx_http_kvs_write_hold(1);

    return NGX_OK;
}


static void
ngx_http_kvs_zip_thread(void *data, ngx_log_t *log)
{
    ngx_http_kvs_zip_t *zip = data;

    zip->out = kvs_codec_compress(zip->dst, zip->cap, zip->src, zip->len,
                                  zip->level);
}


static void
ngx_http_kvs_zip_done(ngx_event_t *ev)
{
    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_thread_task_t   *task;
    ngx_http_request_t  *r;
    ngx_http_kvs_ctx_t  *ctx;
    ngx_http_kvs_zip_t  *zip;

    task = ev->data;
    zip = task->ctx;
    r = zip->request;
    c = r->connection;

    r->main->blocked--;
    ngx_http_kvs_write_hold(0);

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);

    ngx_kvs_debug(r->connection->log, "kvs: %uz bytes compressed to %uz",
                  zip->len, zip->out);

    /* a value that does not shrink is stored as it came */

    if (zip->out) {
        ctx->write.value = zip->dst;
        ctx->write.value_len = zip->out;
        ctx->write.raw_len = zip->len;
        ctx->write.compressed = 1;
    }

    rc = ngx_http_kvs_write_enqueue(r, ctx);
    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
    }

    ngx_http_run_posted_requests(c);
}
