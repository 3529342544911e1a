/*
 * The password KDF on threads of the worker's own.
 *
 * A login costs one scrypt call, some 100 ms of CPU.  On the event loop it
 * would stall every request of the worker; on nginx's thread pool, which
 * commits writes and compresses values (ngx_http_kvs_write.c,
 * ngx_http_kvs_zip.c), a storm of logins would queue commits behind it.
 * So each worker runs a few threads of its own for it (password_threads,
 * one by default): logins wait for each other and for nothing else, while
 * GETs go on on the event loop and commits on nginx's pool.  A named nginx
 * pool is no way out: it needs a thread_pool directive in the user's
 * nginx.conf, and its tasks, like every pool's, come back through
 * ngx_notify(), whose one handler nginx's own pools hold.
 *
 * The threads and their queue are kvs_pool.c.  They hand finished tasks
 * back on a pipe whose read end is a connection of this file, static like
 * nginx's own notify channel: it takes no slot of worker_connections and
 * belongs to no cycle.  Its read handler runs each finished task's done on
 * the event loop, in the order the tasks finished.
 *
 * A worker holds at most NGX_HTTP_KVS_KDF_MAX tasks; past that a post
 * fails and the caller answers 503: a login storm is refused, not queued
 * without bound (1024 tasks are already some 100 s of one thread's work).
 *
 * While tasks are out, the pipe's read event carries a timer: a worker
 * that quits gracefully exits once no timer is left, so it answers the
 * logins it took.  It does not run those still queued: when the first
 * task finishes after the quit, the rest come back to done unrun
 * (task->skipped), to be answered 503; so the quit waits for the KDF calls
 * under way and at most one more per thread, one that a thread took before
 * the event loop saw it finish.  A fast stop joins the threads in
 * exit_process and drops the queue, with the worker's requests.
 *
 * The caller keeps its request alive across a task as nginx does across
 * its own thread tasks, and as ngx_http_kvs_zip() does:
 *
 *   - the task, and all that work reads and writes, live in r->pool; work
 *     touches nothing else: no request, no pool, no log;
 *   - the request holds a reference, r->main->count: the one that
 *     ngx_http_read_client_request_body() takes for its body handler, or
 *     the content handler's own count++ before it returns NGX_DONE;
 *   - once the post returned NGX_OK, r->main->blocked++: a request being
 *     terminated meanwhile (an HTTP/2 reset, worker_shutdown_timeout) is
 *     then only marked, not freed under the thread;
 *   - done does r->main->blocked--, then ngx_http_finalize_request() with
 *     its answer (503 when task->skipped), which drops the reference, then
 *     ngx_http_run_posted_requests(), as any event handler does.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"


/* the nice value of the KDF's threads: the lowest priority */
#define NGX_HTTP_KVS_KDF_NICE  19


#define NGX_HTTP_KVS_KDF_MAX   1024      /* tasks out in one worker */

/* the timer that holds a quitting worker: long, and re-armed if it ends */
#define NGX_HTTP_KVS_KDF_HOLD  86400000


static void ngx_http_kvs_kdf_finished(ngx_event_t *ev);
static ngx_uint_t ngx_http_kvs_kdf_done(kvs_pool_task_t *t,
    ngx_uint_t skipped);
static void ngx_http_kvs_kdf_hold(void);


static kvs_pool_t        *ngx_http_kvs_kdf_pool;
static ngx_uint_t         ngx_http_kvs_kdf_out;     /* posted, done not run */
static ngx_connection_t   ngx_http_kvs_kdf_conn;    /* the pipe's read end */
static ngx_event_t        ngx_http_kvs_kdf_rev;
static ngx_event_t        ngx_http_kvs_kdf_wev;     /* never armed; event
                                                       modules want one */


/*
 * Watches the pipe on which pool's threads say a task is done, in the
 * event loop: c, rev and wev are the caller's, handler reads the pipe.
 * The password threads and the agent's lookup threads use it.
 */

ngx_int_t
ngx_http_kvs_pool_watch(kvs_pool_t *pool, ngx_connection_t *c,
    ngx_event_t *rev, ngx_event_t *wev, ngx_event_handler_pt handler,
    ngx_log_t *log)
{
    c->fd = kvs_pool_fd(pool);
    c->read = rev;
    c->write = wev;
    c->log = log;

    rev->data = c;
    rev->handler = handler;
    rev->log = log;

    wev->data = c;
    wev->write = 1;
    wev->log = log;

    if (ngx_handle_read_event(rev, 0) != NGX_OK) {
        c->fd = (ngx_socket_t) -1;
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_kvs_kdf_init_process(ngx_cycle_t *cycle, ngx_uint_t threads)
{
    char               err[KVS_POOL_ERRLEN];
    ngx_connection_t  *c;

    /*
     * A worker that cannot check a password would refuse every login.  The
     * threads run at the lowest priority, nice 19: on a node whose cores
     * are busy, a storm of logins waits rather than slow the event loops
     * down, which serve everything else.
     */

    if (kvs_pool_start(&ngx_http_kvs_kdf_pool, (unsigned) threads,
                       NGX_HTTP_KVS_KDF_NICE, err, sizeof(err))
        != 0)
    {
        ngx_kvs_log(NGX_LOG_EMERG, cycle->log, 0,
                    "kvs: the %ui password threads did not start: %s",
                    threads, err);
        return NGX_ERROR;
    }

    c = &ngx_http_kvs_kdf_conn;

    if (ngx_http_kvs_pool_watch(ngx_http_kvs_kdf_pool, c,
                                &ngx_http_kvs_kdf_rev, &ngx_http_kvs_kdf_wev,
                                ngx_http_kvs_kdf_finished, cycle->log)
        != NGX_OK)
    {
        kvs_pool_stop(ngx_http_kvs_kdf_pool);
        ngx_http_kvs_kdf_pool = NULL;
        return NGX_ERROR;
    }

    ngx_kvs_debug(cycle->log, "kvs kdf: %ui password threads started on "
                  "fd %d", threads, c->fd);

    return NGX_OK;
}


ngx_int_t
ngx_http_kvs_kdf_post(ngx_http_kvs_kdf_task_t *task)
{
    if (ngx_http_kvs_kdf_out == NGX_HTTP_KVS_KDF_MAX) {
        ngx_kvs_debug(ngx_cycle->log, "kvs kdf: %ui tasks are out, one "
                      "more is refused", ngx_http_kvs_kdf_out);
        return NGX_ERROR;
    }

    task->skipped = 0;
    task->link.work = task->work;
    task->link.data = task->data;

    kvs_pool_post(ngx_http_kvs_kdf_pool, &task->link);

    ngx_http_kvs_kdf_out++;
    ngx_http_kvs_kdf_hold();

    ngx_kvs_debug(ngx_cycle->log, "kvs kdf: a task posted, %ui out",
                  ngx_http_kvs_kdf_out);

    return NGX_OK;
}


/* the pipe is readable: tasks are finished, or the hold's day is over */

static void
ngx_http_kvs_kdf_finished(ngx_event_t *ev)
{
    ngx_uint_t        n;
    kvs_pool_task_t  *finished, *unrun;

    ev->timedout = 0;

    finished = kvs_pool_finished(ngx_http_kvs_kdf_pool);

    /* the pipe is empty: a level-triggered event module must know it */
    ev->ready = 0;

    /* a quitting worker answers, rather than runs, the tasks not started */
    unrun = ngx_exiting ? kvs_pool_cancel(ngx_http_kvs_kdf_pool) : NULL;

    n = ngx_http_kvs_kdf_done(finished, 0);
    n += ngx_http_kvs_kdf_done(unrun, 1);

    ngx_kvs_debug(ev->log, "kvs kdf: %ui tasks done, %ui out%s", n,
                  ngx_http_kvs_kdf_out, ngx_exiting ? ", quitting" : "");

    ngx_http_kvs_kdf_hold();

    if (ngx_handle_read_event(ev, 0) != NGX_OK) {
        ngx_kvs_log(NGX_LOG_ALERT, ev->log, 0,
                    "kvs: the password threads' pipe cannot be watched");
    }
}


static ngx_uint_t
ngx_http_kvs_kdf_done(kvs_pool_task_t *t, ngx_uint_t skipped)
{
    ngx_uint_t                n;
    kvs_pool_task_t          *next;
    ngx_http_kvs_kdf_task_t  *task;

    for (n = 0; t != NULL; t = next, n++) {
        next = t->next;

        task = (ngx_http_kvs_kdf_task_t *)
                   ((u_char *) t - offsetof(ngx_http_kvs_kdf_task_t, link));

        task->skipped = skipped;
        ngx_http_kvs_kdf_out--;

        task->done(task->data);
    }

    return n;
}


static void
ngx_http_kvs_kdf_hold(void)
{
    ngx_event_t  *rev;

    rev = &ngx_http_kvs_kdf_rev;

    if (ngx_http_kvs_kdf_out) {
        if (!rev->timer_set) {
            ngx_add_timer(rev, NGX_HTTP_KVS_KDF_HOLD);
        }

    } else if (rev->timer_set) {
        ngx_del_timer(rev);
    }
}


void
ngx_http_kvs_kdf_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_kvs_kdf_pool == NULL) {
        return;
    }

    /* the event loop runs no more: closing the pipe is all it needs */

    if (ngx_http_kvs_kdf_rev.timer_set) {
        ngx_del_timer(&ngx_http_kvs_kdf_rev);
    }

    ngx_kvs_debug(cycle->log, "kvs kdf: stopping the password threads, "
                  "%ui tasks out", ngx_http_kvs_kdf_out);

    kvs_pool_stop(ngx_http_kvs_kdf_pool);

    ngx_http_kvs_kdf_pool = NULL;
    ngx_http_kvs_kdf_conn.fd = (ngx_socket_t) -1;
}
