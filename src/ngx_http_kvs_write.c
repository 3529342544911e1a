/*
 * Group commit: how a worker writes without blocking its event loop.
 *
 * A durable LMDB commit costs an fsync, and LMDB admits one writer at a
 * time across all processes.  So PUT and DELETE requests are staged in
 * their worker and committed on nginx's thread pool, many to one
 * transaction.  The batch is taken from the stage only once the thread
 * holds LMDB's writer lock: while it waited for another worker's commit,
 * every request that arrived has joined it.  Under load batches grow by
 * themselves; alone, a request waits for one commit and no more.  Each
 * request is answered from the event loop after its batch is durable,
 * never before.
 *
 * The stage is the one thing the event loop and the thread share; a mutex
 * guards it.  One batch per worker is in flight at a time.
 *
 * Audit events that answer no write (a denial, a failed login, a read
 * with audit_reads) are notes: copied into the stage's notes, they join
 * the next batch as audit-only writes, and their requests do not wait.
 * Notes fill one of two arrays while a batch commits the other's; a read
 * whose note finds them full waits instead, its entry queued as a write.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"


#define NGX_HTTP_KVS_NOTES_MAX  64


typedef struct {
    kvs_audit_event_t     ev;
    u_char                user[KVS_AUDIT_USER_MAX];
    u_char                client[KVS_AUDIT_CLIENT_MAX];
    u_char                method[KVS_AUDIT_METHOD_MAX];
    u_char                object[KVS_AUDIT_OBJECT_MAX];
    kvs_version_t         version;
} ngx_http_kvs_note_t;


typedef struct {
    kvs_store_t          *store;
    ngx_uint_t            n;            /* writes */
    ngx_uint_t            nctx;         /* requests */
    int                   rc;
    char                  err[KVS_STORE_ERRLEN];
    uint64_t              began_us;     /* the writer lock held; 0: the
                                           batch never began, or metrics
                                           are off */
    uint64_t              ended_us;     /* durable */
    kvs_write_times_t     times;        /* of began_us to ended_us */
    ngx_http_kvs_ctx_t   *ctx[NGX_HTTP_KVS_BATCH_MAX];
    kvs_write_t           writes[NGX_HTTP_KVS_BATCH_MAX];
} ngx_http_kvs_batch_t;


static void ngx_http_kvs_write_post(void);
static void ngx_http_kvs_write_thread(void *data, ngx_log_t *log);
static void ngx_http_kvs_write_collect(kvs_write_batch_t *b, void *data);
static void ngx_http_kvs_write_done(ngx_event_t *ev);
static ngx_int_t ngx_http_kvs_write_answer(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx);
static void ngx_http_kvs_inflight(void);
static void ngx_http_kvs_write_inflight(ngx_event_t *ev);


static ngx_queue_t         ngx_http_kvs_stage;
static ngx_thread_mutex_t  ngx_http_kvs_stage_mutex;
static ngx_thread_task_t  *ngx_http_kvs_task;
static ngx_thread_pool_t  *ngx_http_kvs_thread_pool;
static ngx_uint_t          ngx_http_kvs_busy;
static ngx_fd_t            ngx_http_kvs_wake;           /* the agent's, see
                                                           kmcf->wake */

/* notes[fill] takes new notes, the other is the batch's (under the mutex) */
static ngx_http_kvs_note_t ngx_http_kvs_notes[2][NGX_HTTP_KVS_NOTES_MAX];
static ngx_uint_t          ngx_http_kvs_nnotes;
static ngx_uint_t          ngx_http_kvs_fill;

/*
 * A worker that is shutting down gracefully exits once no timer is left;
 * this timer, armed while a batch commits, keeps it until the batch's
 * requests are answered.
 */
static ngx_event_t         ngx_http_kvs_inflight_ev;
static ngx_connection_t    ngx_http_kvs_inflight_conn;  /* for its log lines */
static ngx_uint_t          ngx_http_kvs_holds;          /* writes on their way
                                                           to the queue */


ngx_int_t
ngx_http_kvs_write_init_process(ngx_cycle_t *cycle)
{
    ngx_http_kvs_main_conf_t  *kmcf;

    /* a worker that cannot write would answer every PUT 500: it fails */

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_kvs_module);

    ngx_queue_init(&ngx_http_kvs_stage);
    ngx_http_kvs_busy = 0;
    ngx_http_kvs_thread_pool = kmcf->thread_pool;
    ngx_http_kvs_wake = kmcf->wake[1];

    if (ngx_thread_mutex_create(&ngx_http_kvs_stage_mutex, cycle->log)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_kvs_task = ngx_thread_task_alloc(cycle->pool,
                                              sizeof(ngx_http_kvs_batch_t));
    if (ngx_http_kvs_task == NULL) {
        return NGX_ERROR;
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

    return NGX_OK;
}


ngx_int_t
ngx_http_kvs_write_enqueue(ngx_http_request_t *r, ngx_http_kvs_ctx_t *ctx)
{
    ctx->request = r;

    if (ctx->writes == NULL) {
        ctx->writes = &ctx->write;
        ctx->nwrites = 1;
    }

    /* a request's writes commit together: more than a batch holds would
     * never fit one, and would hold up every write queued after them */

    if (ctx->nwrites > NGX_HTTP_KVS_BATCH_MAX) {
        ngx_kvs_log(NGX_LOG_ERR, r->connection->log, 0,
                    "kvs: a request of %ui writes, more than the %d of a "
                    "commit, is not queued", ctx->nwrites,
                    NGX_HTTP_KVS_BATCH_MAX);
        return NGX_ERROR;
    }

    ngx_http_kvs_audit_attach(r, ctx);

    ngx_kvs_debug(r->connection->log,
                  "kvs write: %ui writes queued, a commit %s",
                  ctx->nwrites, ngx_http_kvs_busy ? "runs" : "starts");

    /* the request stays until the queue answers it: one terminated
     * meanwhile (a body's lingering_timeout, worker_shutdown_timeout, an
     * HTTP/2 reset) is only marked, not freed under the commit's thread,
     * which reads its writes, as for the other tasks of the thread pool
     * (ngx_http_kvs_kdf.c) */

    r->main->blocked++;

    ngx_thread_mutex_lock(&ngx_http_kvs_stage_mutex, r->connection->log);
    ngx_queue_insert_tail(&ngx_http_kvs_stage, &ctx->queue);
    ngx_thread_mutex_unlock(&ngx_http_kvs_stage_mutex, r->connection->log);

    if (!ngx_http_kvs_busy) {
        ngx_http_kvs_write_post();
    }

    return NGX_OK;
}


/*
 * An audit event to be written with the next batch; no request waits.
 * NGX_BUSY: the notes are full, and the event is not taken: a caller with
 * a request holds it and queues the event as a write of its own
 * (ngx_http_kvs_audit_read), the others lose it (ngx_http_kvs_write_note).
 */

ngx_int_t
ngx_http_kvs_write_note_try(const kvs_audit_event_t *ev,
    const kvs_version_t *version)
{
    ngx_http_kvs_note_t  *n;

    ngx_thread_mutex_lock(&ngx_http_kvs_stage_mutex, ngx_cycle->log);

    if (ngx_http_kvs_nnotes == NGX_HTTP_KVS_NOTES_MAX) {
        ngx_thread_mutex_unlock(&ngx_http_kvs_stage_mutex, ngx_cycle->log);
        return NGX_BUSY;
    }

    n = &ngx_http_kvs_notes[ngx_http_kvs_fill][ngx_http_kvs_nnotes++];

    n->ev = *ev;
    n->ev.user_len = kvs_audit_cut(ev->user, ev->user_len,
                                   KVS_AUDIT_USER_MAX);
    n->ev.client_len = kvs_audit_cut(ev->client, ev->client_len,
                                     KVS_AUDIT_CLIENT_MAX);
    n->ev.method_len = kvs_audit_cut(ev->method, ev->method_len,
                                     KVS_AUDIT_METHOD_MAX);
    n->ev.object_len = kvs_audit_cut(ev->object, ev->object_len,
                                     KVS_AUDIT_OBJECT_MAX);

    n->ev.user = ev->user ? (const char *) ngx_cpymem(n->user, ev->user,
                                                      n->ev.user_len)
                            - n->ev.user_len
                          : NULL;
    n->ev.client = (const char *) n->client;
    n->ev.method = (const char *) n->method;
    n->ev.object = (const char *) n->object;
    ngx_memcpy(n->client, ev->client, n->ev.client_len);
    ngx_memcpy(n->method, ev->method, n->ev.method_len);
    ngx_memcpy(n->object, ev->object, n->ev.object_len);

    if (version) {
        n->version = *version;

    } else {
        ngx_memzero(&n->version, sizeof(kvs_version_t));
    }

    ngx_thread_mutex_unlock(&ngx_http_kvs_stage_mutex, ngx_cycle->log);

    if (!ngx_http_kvs_busy) {
        ngx_http_kvs_write_post();
    }

    return NGX_OK;
}


void
ngx_http_kvs_write_note(const kvs_audit_event_t *ev,
    const kvs_version_t *version)
{
    if (ngx_http_kvs_write_note_try(ev, version) == NGX_BUSY) {
        ngx_kvs_log(NGX_LOG_ERR, ngx_cycle->log, 0,
                    "kvs: an audit entry of \"%s\" was lost: %d wait for "
                    "the commit in progress", kvs_audit_kinds[ev->kind].name,
                    NGX_HTTP_KVS_NOTES_MAX);
    }
}


/*
 * The write of a handler that has not read a body: the request is held
 * until the queue answers it.  Returns NGX_DONE for the handler to return.
 */

ngx_int_t
ngx_http_kvs_write_queue(ngx_http_request_t *r, ngx_http_kvs_ctx_t *ctx)
{
    r->main->count++;

    if (ngx_http_kvs_write_enqueue(r, ctx) != NGX_OK) {
        r->main->count--;
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static void
ngx_http_kvs_write_post(void)
{
    ngx_queue_t         *q;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;
    ngx_http_kvs_ctx_t  *ctx;
    ngx_http_kvs_batch_t *batch;

    batch = ngx_http_kvs_task->ctx;
    batch->store = ngx_http_kvs_store;
    batch->n = 0;
    batch->nctx = 0;
    batch->began_us = 0;

    if (ngx_thread_task_post(ngx_http_kvs_thread_pool, ngx_http_kvs_task)
        == NGX_OK)
    {
        ngx_http_kvs_busy = 1;
        ngx_http_kvs_inflight();
        return;
    }

    /* the pool's queue is full: nothing of the stage can be written */

    ngx_kvs_log(NGX_LOG_WARN, ngx_cycle->log, 0,
                "kvs write: the thread pool's queue is full; the queued "
                "writes are answered 503");

    for ( ;; ) {
        ngx_thread_mutex_lock(&ngx_http_kvs_stage_mutex,
                              ngx_cycle->log);

        if (ngx_queue_empty(&ngx_http_kvs_stage)) {
            ngx_thread_mutex_unlock(&ngx_http_kvs_stage_mutex,
                                    ngx_cycle->log);
            return;
        }

        q = ngx_queue_head(&ngx_http_kvs_stage);
        ngx_queue_remove(q);

        ngx_thread_mutex_unlock(&ngx_http_kvs_stage_mutex, ngx_cycle->log);

        ctx = ngx_queue_data(q, ngx_http_kvs_ctx_t, queue);
        r = ctx->request;
        c = r->connection;

        r->main->blocked--;

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

    batch->rc = kvs_store_write_collect(batch->store,
                                        ngx_http_kvs_write_collect, batch,
                                        batch->err, sizeof(batch->err));

    if (batch->began_us) {
        batch->ended_us = kvs_metrics_clock_us();
    }
}


/* on the pool's thread, holding LMDB's writer lock: takes the stage */

static void
ngx_http_kvs_write_collect(kvs_write_batch_t *b, void *data)
{
    ngx_http_kvs_batch_t *batch = data;

    ngx_uint_t            i;
    kvs_write_t          *w;
    ngx_queue_t          *q;
    ngx_http_kvs_ctx_t   *ctx;
    ngx_http_kvs_note_t  *notes;

    ngx_thread_mutex_lock(&ngx_http_kvs_stage_mutex, ngx_cycle->log);

    /* a request's writes go in one batch; a request of many (a peer's
     * records) waits for a batch of its own when this one is full */

    while (!ngx_queue_empty(&ngx_http_kvs_stage)) {
        q = ngx_queue_head(&ngx_http_kvs_stage);
        ctx = ngx_queue_data(q, ngx_http_kvs_ctx_t, queue);

        if (batch->n + ctx->nwrites > NGX_HTTP_KVS_BATCH_MAX) {
            break;
        }

        ngx_queue_remove(q);

        ngx_memcpy(&batch->writes[batch->n], ctx->writes,
                   ctx->nwrites * sizeof(kvs_write_t));
        batch->n += ctx->nwrites;
        batch->ctx[batch->nctx++] = ctx;
    }

    /* the notes, after every request's writes, while they fit */

    if (ngx_http_kvs_nnotes
        && batch->n + ngx_http_kvs_nnotes <= NGX_HTTP_KVS_BATCH_MAX)
    {
        notes = ngx_http_kvs_notes[ngx_http_kvs_fill];

        for (i = 0; i < ngx_http_kvs_nnotes; i++) {
            w = &batch->writes[batch->n++];
            ngx_memzero(w, sizeof(kvs_write_t));
            w->op = KVS_WRITE_AUDIT;
            w->audit = &notes[i].ev;
            w->version = notes[i].version;
        }

        ngx_http_kvs_nnotes = 0;
        ngx_http_kvs_fill ^= 1;
    }

    ngx_thread_mutex_unlock(&ngx_http_kvs_stage_mutex, ngx_cycle->log);

    b->w = batch->writes;
    b->n = batch->n;
    b->now_ms = ngx_http_kvs_now_ms();

    /* a commit's time is the store's: from the writer lock to the fsync,
     * with what of it went to the writes and to their audit entries */

    if (ngx_http_kvs_metrics_row != NULL) {
        ngx_memzero(&batch->times, sizeof(kvs_write_times_t));
        b->times = &batch->times;
        batch->began_us = kvs_metrics_clock_us();
    }
}


static void
ngx_http_kvs_write_done(ngx_event_t *ev)
{
    uint64_t                   us, in;
    ngx_uint_t                 i, n, more;
    ngx_connection_t          *c;
    ngx_thread_task_t         *task;
    ngx_http_request_t        *r;
    ngx_http_kvs_ctx_t        *ctx;
    ngx_http_kvs_batch_t      *batch;

    task = ev->data;
    batch = task->ctx;

    ngx_kvs_debug(ev->log, "kvs write: a commit of %ui writes for %ui "
                  "requests ended: %d", batch->n, batch->nctx, batch->rc);

    if (batch->n && batch->began_us) {
        us = batch->ended_us - batch->began_us;
        in = batch->times.apply_us + batch->times.audit_us;

        ngx_http_kvs_metric_inc(KVS_M_COMMITS, 1);
        ngx_http_kvs_metric_observe(KVS_M_COMMIT_WRITES, 0, batch->n);
        ngx_http_kvs_metric_observe(KVS_M_COMMIT_SECONDS, 0, us);
        ngx_http_kvs_metric_observe(KVS_M_COMMIT_PHASE, KVS_PHASE_APPLY,
                                    batch->times.apply_us);
        ngx_http_kvs_metric_observe(KVS_M_COMMIT_PHASE, KVS_PHASE_AUDIT,
                                    batch->times.audit_us);
        ngx_http_kvs_metric_observe(KVS_M_COMMIT_PHASE, KVS_PHASE_COMMIT,
                                    us > in ? us - in : 0);
    }

    /* the agent pushes what was committed now, not at its next tick; a
     * full pipe already wakes it */
    if (batch->n && batch->rc == KVS_OK
        && ngx_http_kvs_wake != NGX_INVALID_FILE
        && write(ngx_http_kvs_wake, "", 1) == -1)
    {
        ngx_kvs_debug(ev->log, "kvs write: the agent's wake-up: %s",
                      ngx_errno == NGX_EAGAIN ? "the pipe is full"
                                              : "the agent is gone");
    }

    if (batch->rc == KVS_FULL) {
        ngx_kvs_log(NGX_LOG_ERR, ev->log, 0, "kvs: %s", batch->err);

    } else if (batch->rc != KVS_OK) {
        ngx_kvs_log(NGX_LOG_ERR, ev->log, 0,
                    "kvs: a batch of %ui writes failed: %s",
                    batch->n, batch->err);
    }

    /* the batch is answered before the next can be posted: an answer
     * that queues a write or an audit note waits for the next batch,
     * which reuses this one's arrays */

    for (i = 0, n = 0; i < batch->nctx; i++) {
        ctx = batch->ctx[i];
        r = ctx->request;
        c = r->connection;

        ngx_memcpy(ctx->writes, &batch->writes[n],
                   ctx->nwrites * sizeof(kvs_write_t));
        n += ctx->nwrites;

        r->main->blocked--;

        ngx_http_finalize_request(r, ngx_http_kvs_write_answer(r, ctx));
        ngx_http_run_posted_requests(c);
    }

    ngx_http_kvs_busy = 0;
    ngx_http_kvs_inflight();

    ngx_thread_mutex_lock(&ngx_http_kvs_stage_mutex, ev->log);
    more = !ngx_queue_empty(&ngx_http_kvs_stage) || ngx_http_kvs_nnotes;
    ngx_thread_mutex_unlock(&ngx_http_kvs_stage_mutex, ev->log);

    if (more) {
        ngx_http_kvs_write_post();
    }
}


/*
 * Each write of a batch has its own outcome: one that did not fit fails
 * alone.  A request answers 500 when one of its writes failed, 507 when a
 * PUT, DELETE or member merge did not fit; a peer's records each say what
 * became of them, and its handler counts those that did not fit.
 */

static ngx_int_t
ngx_http_kvs_write_answer(ngx_http_request_t *r, ngx_http_kvs_ctx_t *ctx)
{
    ngx_uint_t                 i;
    kvs_write_t               *w;
    ngx_http_kvs_main_conf_t  *kmcf;

    for (i = 0; i < ctx->nwrites; i++) {
        w = &ctx->writes[i];

        if (w->rc == KVS_ERROR) {
            return ngx_http_kvs_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      "the write could not be committed");
        }

        if (w->rc == KVS_FULL && w->op != KVS_WRITE_REMOTE) {
            ngx_kvs_debug(r->connection->log, "kvs write: \"%*s\" did not fit",
                          w->path_len, w->path);

            kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

            return ngx_http_kvs_error(r, NGX_HTTP_INSUFFICIENT_STORAGE,
                                      "the store is full: max_db_size (%uz "
                                      "bytes) is reached",
                                      kmcf->kc.max_db_size);
        }
    }

    return ctx->written(r, ctx);
}


/* A write being compressed on the thread pool is held the same way: the
 * worker stays until it has been queued, committed and answered. */

void
ngx_http_kvs_write_hold(ngx_uint_t hold)
{
    if (hold) {
        ngx_http_kvs_holds++;

    } else {
        ngx_http_kvs_holds--;
    }

    ngx_http_kvs_inflight();
}


static void
ngx_http_kvs_inflight(void)
{
    if (ngx_http_kvs_busy || ngx_http_kvs_holds) {
        if (!ngx_http_kvs_inflight_ev.timer_set) {
            ngx_add_timer(&ngx_http_kvs_inflight_ev, 86400000);
        }

    } else if (ngx_http_kvs_inflight_ev.timer_set) {
        ngx_del_timer(&ngx_http_kvs_inflight_ev);
    }
}


static void
ngx_http_kvs_write_inflight(ngx_event_t *ev)
{
    /* a commit that takes a day: keep waiting */
    ngx_add_timer(ev, 86400000);
}
