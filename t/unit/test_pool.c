/*
 * Unit tests of kvs_pool.c, the threads that run the password KDF beside
 * a worker's event loop: a task runs once, on a pool thread that takes no
 * signals, and comes back through the pipe, which is then quiet again; n
 * threads run at most n tasks at a time, one thread runs them in the order
 * posted; tasks not started can be taken back unrun; a stop waits for the
 * work under way and starts nothing else.
 *
 * A job of these tests can wait at a gate the test opens, so that a test
 * decides when a thread is busy.  Every wait is bounded (KVS_TEST_WAIT_MS):
 * a broken pool fails a check, it does not hang the suite.
 */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "kvs_pool.h"

#include "kvs_test.h"


#define KVS_TEST_WAIT_MS  5000
#define KVS_TEST_JOBS     64


typedef struct {
    kvs_pool_task_t     task;
    int                 gated;          /* waits for the gate to open */
    int                 runs;
    int                 started;        /* 1, 2, ...: its rank in time */
    int                 back;           /* times handed back */
    int                 signals_blocked;
    int                 nice;           /* the thread's nice value */
    pthread_t           thread;
} kvs_test_job_t;


static pthread_mutex_t  kvs_test_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t   kvs_test_cond = PTHREAD_COND_INITIALIZER;
static int              kvs_test_open;
static int              kvs_test_started;
static int              kvs_test_running;
static int              kvs_test_most;      /* running at once, at most */
static kvs_test_job_t   kvs_test_jobs[KVS_TEST_JOBS];


static void
kvs_test_reset(int gated)
{
    int  i;

    memset(kvs_test_jobs, 0, sizeof(kvs_test_jobs));

    for (i = 0; i < KVS_TEST_JOBS; i++) {
        kvs_test_jobs[i].task.work = NULL;
        kvs_test_jobs[i].task.data = &kvs_test_jobs[i];
        kvs_test_jobs[i].gated = gated;
    }

    kvs_test_open = 0;
    kvs_test_started = 0;
    kvs_test_running = 0;
    kvs_test_most = 0;
}


static void
kvs_test_deadline(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);

    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long) (ms % 1000) * 1000000;

    if (ts->tv_nsec >= 1000000000) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000;
    }
}


/* the work: notes where and when it ran, and waits at the gate if gated */

static void
kvs_test_work(void *data)
{
    kvs_test_job_t *job = data;

    sigset_t         mask;
    struct timespec  ts;

    (void) pthread_sigmask(SIG_BLOCK, NULL, &mask);

    job->thread = pthread_self();
    errno = 0;
    job->nice = getpriority(PRIO_PROCESS, (id_t) syscall(SYS_gettid));
    job->signals_blocked = sigismember(&mask, SIGTERM)
                           && sigismember(&mask, SIGQUIT)
                           && sigismember(&mask, SIGHUP)
                           && sigismember(&mask, SIGALRM);

    kvs_test_deadline(&ts, KVS_TEST_WAIT_MS);

    pthread_mutex_lock(&kvs_test_mutex);

    job->runs++;
    job->started = ++kvs_test_started;

    if (++kvs_test_running > kvs_test_most) {
        kvs_test_most = kvs_test_running;
    }

    pthread_cond_broadcast(&kvs_test_cond);

    while (job->gated && !kvs_test_open) {
        if (pthread_cond_timedwait(&kvs_test_cond, &kvs_test_mutex, &ts)
            == ETIMEDOUT)
        {
            break;
        }
    }

    kvs_test_running--;

    pthread_mutex_unlock(&kvs_test_mutex);
}


static void
kvs_test_post(kvs_pool_t *pool, int n)
{
    int  i;

    for (i = 0; i < n; i++) {
        kvs_test_jobs[i].task.work = kvs_test_work;
        kvs_pool_post(pool, &kvs_test_jobs[i].task);
    }
}


static void
kvs_test_gate(int open)
{
    pthread_mutex_lock(&kvs_test_mutex);
    kvs_test_open = open;
    pthread_cond_broadcast(&kvs_test_cond);
    pthread_mutex_unlock(&kvs_test_mutex);
}


/* waits until n jobs have started; returns how many have */

static int
kvs_test_wait_started(int n)
{
    int              started;
    struct timespec  ts;

    kvs_test_deadline(&ts, KVS_TEST_WAIT_MS);

    pthread_mutex_lock(&kvs_test_mutex);

    while (kvs_test_started < n) {
        if (pthread_cond_timedwait(&kvs_test_cond, &kvs_test_mutex, &ts)
            == ETIMEDOUT)
        {
            break;
        }
    }

    started = kvs_test_started;

    pthread_mutex_unlock(&kvs_test_mutex);

    return started;
}


/*
 * Takes finished jobs back as an event loop does, when the pipe is
 * readable, until n came back or ms passed without one; counts each job's
 * returns, and notes into order the jobs' indexes as they came.  Returns
 * how many came back.
 */

static int
kvs_test_collect(kvs_pool_t *pool, int n, int ms, int *order)
{
    int               got;
    struct pollfd     pfd;
    kvs_test_job_t   *job;
    kvs_pool_task_t  *t;

    got = 0;

    while (got < n) {
        pfd.fd = kvs_pool_fd(pool);
        pfd.events = POLLIN;
        pfd.revents = 0;

        if (poll(&pfd, 1, ms) <= 0) {
            break;
        }

        for (t = kvs_pool_finished(pool); t != NULL; t = t->next) {
            job = t->data;
            job->back++;

            if (order != NULL && got < KVS_TEST_JOBS) {
                order[got] = (int) (job - kvs_test_jobs);
            }

            got++;
        }
    }

    return got;
}


/* the pipe is quiet: an event loop would not wake for nothing */

static int
kvs_test_quiet(kvs_pool_t *pool)
{
    struct pollfd  pfd;

    pfd.fd = kvs_pool_fd(pool);
    pfd.events = POLLIN;
    pfd.revents = 0;

    return poll(&pfd, 1, 0) == 0;
}


static void
kvs_test_runs_once(void)
{
    char          err[KVS_POOL_ERRLEN];
    sigset_t      mask;
    kvs_pool_t   *pool;

    kvs_test_reset(0);

    if (kvs_pool_start(&pool, 1, 0, err, sizeof(err)) != 0) {
        CHECK(0, err);
        return;
    }

    CHECK(kvs_test_quiet(pool), "a new pool's pipe is quiet");

    kvs_test_post(pool, 1);

    CHECK(kvs_test_collect(pool, 1, KVS_TEST_WAIT_MS, NULL) == 1,
          "a posted task comes back through the pipe");
    CHECK(kvs_test_jobs[0].runs == 1 && kvs_test_jobs[0].back == 1,
          "its work ran once, and it came back once");
    CHECK(!pthread_equal(kvs_test_jobs[0].thread, pthread_self()),
          "the work ran on a thread of the pool");
    CHECK(kvs_test_jobs[0].signals_blocked,
          "a pool thread takes no SIGTERM, SIGQUIT, SIGHUP or SIGALRM");

    (void) pthread_sigmask(SIG_BLOCK, NULL, &mask);
    CHECK(!sigismember(&mask, SIGQUIT),
          "the caller's thread takes signals as before");
    CHECK(kvs_test_jobs[0].nice == 0, "a pool of nice 0 runs at 0");

    CHECK(kvs_test_quiet(pool), "once taken back, the pipe is quiet again");
    CHECK(kvs_pool_finished(pool) == NULL, "and nothing else is finished");

    kvs_pool_stop(pool);
}


/* a pool's threads run at its nice value; the caller's is unchanged */

static void
kvs_test_nice(void)
{
    int          before;
    char         err[KVS_POOL_ERRLEN];
    kvs_pool_t  *pool;

    kvs_test_reset(0);
    before = getpriority(PRIO_PROCESS, 0);

    if (kvs_pool_start(&pool, 1, 19, err, sizeof(err)) != 0) {
        CHECK(0, err);
        return;
    }

    kvs_test_post(pool, 1);

    CHECK(kvs_test_collect(pool, 1, KVS_TEST_WAIT_MS, NULL) == 1
          && kvs_test_jobs[0].nice == 19,
          "the work of a pool of nice 19 runs at nice 19");
    CHECK(getpriority(PRIO_PROCESS, 0) == before,
          "the caller keeps its own priority");

    kvs_pool_stop(pool);
}


static void
kvs_test_one_thread(void)
{
    int          i, n, in_order, order[KVS_TEST_JOBS];
    char         err[KVS_POOL_ERRLEN];
    kvs_pool_t  *pool;

    kvs_test_reset(0);

    if (kvs_pool_start(&pool, 1, 0, err, sizeof(err)) != 0) {
        CHECK(0, err);
        return;
    }

    kvs_test_post(pool, KVS_TEST_JOBS);

    n = kvs_test_collect(pool, KVS_TEST_JOBS, KVS_TEST_WAIT_MS, order);
    CHECK(n == KVS_TEST_JOBS, "every task comes back");

    in_order = 1;

    for (i = 0; i < n; i++) {
        if (order[i] != i || kvs_test_jobs[i].started != i + 1
            || kvs_test_jobs[i].runs != 1 || kvs_test_jobs[i].back != 1)
        {
            in_order = 0;
        }
    }

    CHECK(in_order, "one thread runs tasks once each, in the order posted, "
          "and hands them back in that order");
    CHECK(kvs_test_most == 1, "one thread runs one task at a time");
    CHECK(kvs_test_quiet(pool), "the pipe is quiet after a burst");

    kvs_pool_stop(pool);
}


static void
kvs_test_capped(void)
{
    int          i, once;
    char         err[KVS_POOL_ERRLEN];
    kvs_pool_t  *pool;

    kvs_test_reset(1);

    if (kvs_pool_start(&pool, 3, 0, err, sizeof(err)) != 0) {
        CHECK(0, err);
        return;
    }

    kvs_test_post(pool, 8);

    CHECK(kvs_test_wait_started(3) == 3, "three threads run three tasks "
          "at once");

    /* a fourth would start now if the pool were not capped */
    usleep(100000);

    pthread_mutex_lock(&kvs_test_mutex);
    CHECK(kvs_test_started == 3 && kvs_test_running == 3,
          "while they are busy, no fourth task starts");
    pthread_mutex_unlock(&kvs_test_mutex);

    CHECK(kvs_test_collect(pool, 1, 100, NULL) == 0,
          "and nothing comes back before work is done");

    kvs_test_gate(1);

    CHECK(kvs_test_collect(pool, 8, KVS_TEST_WAIT_MS, NULL) == 8,
          "once the gate opens, all eight come back");

    once = 1;

    for (i = 0; i < 8; i++) {
        if (kvs_test_jobs[i].runs != 1 || kvs_test_jobs[i].back != 1) {
            once = 0;
        }
    }

    CHECK(once, "each ran once and came back once");
    CHECK(kvs_test_most == 3, "never more than three at a time");

    kvs_pool_stop(pool);
}


static void
kvs_test_cancel(void)
{
    int               n;
    char              err[KVS_POOL_ERRLEN];
    kvs_pool_t       *pool;
    kvs_pool_task_t  *t;

    kvs_test_reset(1);

    if (kvs_pool_start(&pool, 1, 0, err, sizeof(err)) != 0) {
        CHECK(0, err);
        return;
    }

    kvs_test_post(pool, 3);

    CHECK(kvs_test_wait_started(1) == 1, "the first task runs");

    t = kvs_pool_cancel(pool);

    CHECK(t == &kvs_test_jobs[1].task && t->next == &kvs_test_jobs[2].task
          && t->next->next == NULL,
          "cancel takes back the two not started, in the order posted");
    CHECK(kvs_pool_cancel(pool) == NULL, "a second cancel takes nothing");

    kvs_test_gate(1);

    n = kvs_test_collect(pool, 3, 200, NULL);

    CHECK(n == 1 && kvs_test_jobs[0].back == 1,
          "only the task that ran comes back");
    CHECK(kvs_test_jobs[1].runs == 0 && kvs_test_jobs[2].runs == 0,
          "the cancelled tasks' work never ran");

    /* the pool goes on after a cancel */
    kvs_test_jobs[1].runs = 0;
    kvs_test_jobs[1].gated = 0;
    kvs_pool_post(pool, &kvs_test_jobs[1].task);

    CHECK(kvs_test_collect(pool, 1, KVS_TEST_WAIT_MS, NULL) == 1
          && kvs_test_jobs[1].runs == 1,
          "a task posted after a cancel runs");

    kvs_pool_stop(pool);
}


static void *
kvs_test_opener(void *data)
{
    (void) data;

    usleep(100000);
    kvs_test_gate(1);

    return NULL;
}


static void
kvs_test_stop(void)
{
    char          err[KVS_POOL_ERRLEN];
    pthread_t     opener;
    kvs_pool_t   *pool;

    kvs_test_reset(1);

    if (kvs_pool_start(&pool, 1, 0, err, sizeof(err)) != 0) {
        CHECK(0, err);
        return;
    }

    kvs_test_post(pool, 3);

    CHECK(kvs_test_wait_started(1) == 1, "the first task runs");

    /* the gate opens while the stop waits for the thread */

    if (pthread_create(&opener, NULL, kvs_test_opener, NULL) != 0) {
        CHECK(0, "pthread_create() of the test's opener");
        kvs_test_gate(1);
        kvs_pool_stop(pool);
        return;
    }

    kvs_pool_stop(pool);

    pthread_mutex_lock(&kvs_test_mutex);
    CHECK(kvs_test_open && kvs_test_running == 0,
          "a stop waits for the work under way");
    pthread_mutex_unlock(&kvs_test_mutex);

    CHECK(kvs_test_jobs[0].runs == 1 && kvs_test_jobs[1].runs == 0
          && kvs_test_jobs[2].runs == 0,
          "and starts none of the tasks still queued");

    pthread_join(opener, NULL);

    kvs_test_reset(0);

    if (kvs_pool_start(&pool, 4, 0, err, sizeof(err)) != 0) {
        CHECK(0, err);
        return;
    }

    kvs_pool_stop(pool);
    CHECK(1, "an idle pool of four threads stops");
}


static void
kvs_test_no_threads(void)
{
    char         err[KVS_POOL_ERRLEN];
    kvs_pool_t  *pool;

    err[0] = '\0';

    CHECK(kvs_pool_start(&pool, 0, 0, err, sizeof(err)) == -1,
          "a pool of no threads is refused");
    kvs_test_str(err, "a thread pool needs at least one thread",
                 "with a sentence");
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_runs_once),
    KVS_TEST_CASE(kvs_test_nice),
    KVS_TEST_CASE(kvs_test_one_thread),
    KVS_TEST_CASE(kvs_test_capped),
    KVS_TEST_CASE(kvs_test_cancel),
    KVS_TEST_CASE(kvs_test_stop),
    KVS_TEST_CASE(kvs_test_no_threads),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    NULL, NULL, kvs_test_cases
};
