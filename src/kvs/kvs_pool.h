/*
 * A pool of threads that runs tasks for one event loop and tells it, on a
 * pipe it can wait on, when tasks are finished.
 *
 * The loop posts a task; the first idle thread runs its work; the finished
 * task joins a list, and a byte on the pipe says the list is no longer
 * empty.  When the read end is readable the loop takes the whole list, in
 * the order the tasks finished, and completes them itself.  Only the queue
 * and the list are shared, under one mutex; a task belongs to the pool
 * from its post until the loop takes it back.  Nothing here knows nginx:
 * the module registers the read end with its event loop
 * (ngx_http_kvs_kdf.c), and the unit tests poll() it.
 */

#ifndef KVS_POOL_H
#define KVS_POOL_H

#include <stddef.h>

#define KVS_POOL_ERRLEN  256


typedef struct kvs_pool_s       kvs_pool_t;
typedef struct kvs_pool_task_s  kvs_pool_task_t;

struct kvs_pool_task_s {
    void              (*work)(void *data);   /* on a thread of the pool */
    void               *data;
    kvs_pool_task_t    *next;                /* the pool's, then the
                                                list's handed back */
};


/*
 * Starts a pool of n threads (n > 0), which take no signals: a signal is
 * for the thread that waits for events.  Each runs at the nice value given
 * (0..19), so that work such as a password KDF yields the CPU to the event
 * loops when both want it.  Returns 0, or -1 with a sentence in err and no
 * thread left running.
 */
int kvs_pool_start(kvs_pool_t **pool, unsigned n, int nice, char *err,
    size_t errlen);

/* the read end of the pool's pipe: readable when tasks are finished */
int kvs_pool_fd(kvs_pool_t *pool);

/* queues a task for the next idle thread; never fails, never blocks */
void kvs_pool_post(kvs_pool_t *pool, kvs_pool_task_t *task);

/*
 * Empties the pipe, then takes the finished tasks, linked by next in the
 * order they finished; NULL when none is.  A task that finishes meanwhile
 * writes the pipe again, so none waits unseen.
 */
kvs_pool_task_t *kvs_pool_finished(kvs_pool_t *pool);

/* takes the tasks that no thread has started, in the order posted; their
 * work never runs */
kvs_pool_task_t *kvs_pool_cancel(kvs_pool_t *pool);

/*
 * Stops the pool: each thread ends the work it runs, starts no other, and
 * is joined; the pipe is closed and the pool freed.  Tasks still queued or
 * finished are not touched again.
 */
void kvs_pool_stop(kvs_pool_t *pool);

#endif /* KVS_POOL_H */
