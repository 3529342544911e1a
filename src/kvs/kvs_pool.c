/*
 * The thread pool of kvs_pool.h.
 *
 * A thread that finishes a task writes a byte to the pipe only when the
 * list of finished tasks was empty, and the reader empties the pipe before
 * it takes the list: so a byte is pending whenever the list holds a task
 * the reader has not taken, and a burst of tasks costs one write, not one
 * each.  Both ends are non-blocking: a thread never waits for the reader,
 * and the reader drains the pipe to EAGAIN, as an edge-triggered event
 * loop must.
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "kvs_pool.h"


struct kvs_pool_s {
    pthread_mutex_t      mutex;
    pthread_cond_t       cond;           /* a task is queued, or stop */
    kvs_pool_task_t     *queue;          /* posted, not started */
    kvs_pool_task_t    **queue_last;
    kvs_pool_task_t     *finished;       /* not yet taken back */
    kvs_pool_task_t    **finished_last;
    int                  stop;
    int                  nice;           /* the threads' nice value */
    int                  fd[2];          /* the pipe: read end, write end */
    unsigned             n;              /* threads started */
    pthread_t            threads[];
};


static int kvs_pool_pipe_end(int fd);
static void *kvs_pool_thread(void *data);
static void kvs_pool_wake(kvs_pool_t *pool);


int
kvs_pool_start(kvs_pool_t **pool, unsigned n, int nice, char *err,
    size_t errlen)
{
    int          rc;
    sigset_t     set, old;
    kvs_pool_t  *p;

    if (n == 0) {
        snprintf(err, errlen, "a thread pool needs at least one thread");
        return -1;
    }

    p = calloc(1, sizeof(kvs_pool_t) + n * sizeof(pthread_t));
    if (p == NULL) {
        snprintf(err, errlen, "out of memory for a pool of %u threads", n);
        return -1;
    }

    p->queue_last = &p->queue;
    p->finished_last = &p->finished;
    p->nice = nice;

    if (pipe(p->fd) == -1) {
        snprintf(err, errlen, "pipe() failed: %s", strerror(errno));
        free(p);
        return -1;
    }

    if (kvs_pool_pipe_end(p->fd[0]) != 0 || kvs_pool_pipe_end(p->fd[1]) != 0)
    {
        snprintf(err, errlen, "fcntl() of the pool's pipe failed: %s",
                 strerror(errno));
        goto failed;
    }

    rc = pthread_mutex_init(&p->mutex, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "pthread_mutex_init() failed: %s",
                 strerror(rc));
        goto failed;
    }

    rc = pthread_cond_init(&p->cond, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "pthread_cond_init() failed: %s",
                 strerror(rc));
        (void) pthread_mutex_destroy(&p->mutex);
        goto failed;
    }

    /*
     * The threads inherit this mask, so none takes a signal even for a
     * moment: a signal handled on a pool thread would not interrupt the
     * event loop's wait, and a quit or a reload would wait for the next
     * event.  Faults stay with the thread that causes them.
     */

    (void) sigfillset(&set);
    (void) sigdelset(&set, SIGILL);
    (void) sigdelset(&set, SIGFPE);
    (void) sigdelset(&set, SIGSEGV);
    (void) sigdelset(&set, SIGBUS);
    (void) pthread_sigmask(SIG_BLOCK, &set, &old);

    for (rc = 0; p->n < n; p->n++) {
        rc = pthread_create(&p->threads[p->n], NULL, kvs_pool_thread, p);
        if (rc != 0) {
            break;
        }
    }

    (void) pthread_sigmask(SIG_SETMASK, &old, NULL);

    if (rc != 0) {
        snprintf(err, errlen, "pthread_create() failed for thread %u of %u: "
                 "%s", p->n + 1, n, strerror(rc));
        kvs_pool_stop(p);
        return -1;
    }

    *pool = p;

    return 0;

failed:

    (void) close(p->fd[0]);
    (void) close(p->fd[1]);
    free(p);

    return -1;
}


static int
kvs_pool_pipe_end(int fd)
{
    int  flags;

    flags = fcntl(fd, F_GETFL);

    if (flags == -1
        || fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1
        || fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
    {
        return -1;
    }

    return 0;
}


int
kvs_pool_fd(kvs_pool_t *pool)
{
    return pool->fd[0];
}


void
kvs_pool_post(kvs_pool_t *pool, kvs_pool_task_t *task)
{
    task->next = NULL;

    (void) pthread_mutex_lock(&pool->mutex);

    *pool->queue_last = task;
    pool->queue_last = &task->next;

    (void) pthread_cond_signal(&pool->cond);
    (void) pthread_mutex_unlock(&pool->mutex);
}


kvs_pool_task_t *
kvs_pool_finished(kvs_pool_t *pool)
{
    char              buf[64];
    kvs_pool_task_t  *list;

    while (read(pool->fd[0], buf, sizeof(buf)) > 0) {
        /* void */
    }

    (void) pthread_mutex_lock(&pool->mutex);

    list = pool->finished;
    pool->finished = NULL;
    pool->finished_last = &pool->finished;

    (void) pthread_mutex_unlock(&pool->mutex);

    return list;
}


kvs_pool_task_t *
kvs_pool_cancel(kvs_pool_t *pool)
{
    kvs_pool_task_t  *list;

    (void) pthread_mutex_lock(&pool->mutex);

    list = pool->queue;
    pool->queue = NULL;
    pool->queue_last = &pool->queue;

    (void) pthread_mutex_unlock(&pool->mutex);

    return list;
}


void
kvs_pool_stop(kvs_pool_t *pool)
{
    unsigned  i;

    (void) pthread_mutex_lock(&pool->mutex);

    pool->stop = 1;

    (void) pthread_cond_broadcast(&pool->cond);
    (void) pthread_mutex_unlock(&pool->mutex);

    for (i = 0; i < pool->n; i++) {
        (void) pthread_join(pool->threads[i], NULL);
    }

    (void) pthread_cond_destroy(&pool->cond);
    (void) pthread_mutex_destroy(&pool->mutex);
    (void) close(pool->fd[0]);
    (void) close(pool->fd[1]);

    free(pool);
}


static void *
kvs_pool_thread(void *data)
{
    kvs_pool_t       *pool = data;
    kvs_pool_task_t  *task;

    /* Linux gives each thread its own nice value, set by its id: lowering
     * one's own priority needs no privilege; failing it only costs the
     * event loops some CPU */
    (void) setpriority(PRIO_PROCESS, (id_t) syscall(SYS_gettid), pool->nice);

    (void) pthread_mutex_lock(&pool->mutex);

    for ( ;; ) {

        while (pool->queue == NULL && !pool->stop) {
            (void) pthread_cond_wait(&pool->cond, &pool->mutex);
        }

        if (pool->stop) {
            break;
        }

        task = pool->queue;
        pool->queue = task->next;

        if (pool->queue == NULL) {
            pool->queue_last = &pool->queue;
        }

        (void) pthread_mutex_unlock(&pool->mutex);

        task->work(task->data);

        (void) pthread_mutex_lock(&pool->mutex);

        if (pool->finished == NULL) {
            kvs_pool_wake(pool);
        }

        task->next = NULL;
        *pool->finished_last = task;
        pool->finished_last = &task->next;
    }

    (void) pthread_mutex_unlock(&pool->mutex);

    return NULL;
}


static void
kvs_pool_wake(kvs_pool_t *pool)
{
    /* EAGAIN, a full pipe, says "look" already: nothing is lost */

    while (write(pool->fd[1], "", 1) == -1 && errno == EINTR) {
        /* void */
    }
}
