/*
 * bench/store: what a write costs the store itself, without nginx or the
 * network: batches of 16 PUTs of 56 bytes over 10,000 keys, each batch
 * one kvs_store_write() (one transaction and its fsync, as a group commit
 * makes), with the audit log off and on, in alternating rounds.  For each
 * it prints the CPU time of the process per write (user and system, so
 * the pwrite()s of the commit count), the wall time per batch, fsync
 * included, and the bytes a batch wrote (LMDB's pages, 4 KiB each, and the
 * meta page).  `make bench` builds and runs it:
 *
 *     build/bench-store [DIR [BATCHES [ROUNDS]]]
 *
 * DIR (default bench/results/store.tmp) is emptied and used for the two
 * stores; BATCHES defaults to 2,000, ROUNDS to 3.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kvs_store.h"


#define BENCH_BATCH  16
#define BENCH_KEYS   10000


typedef struct {
    double  cpu_us;    /* a write's */
    double  wall_us;   /* a batch's */
    double  kib;       /* a batch's bytes written (LMDB's pages) */
} bench_run_t;


static double
bench_clock(clockid_t id)
{
    struct timespec  ts;

    clock_gettime(id, &ts);

    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}


/* the bytes this process has written (wchar of /proc/self/io): LMDB
 * writes its pages with pwrite(), so a commit's pages, meta included */

static double
bench_written(void)
{
    char                buf[256];
    FILE               *f;
    unsigned long long  n;

    n = 0;
    f = fopen("/proc/self/io", "r");

    if (f != NULL) {
        while (fgets(buf, sizeof(buf), f) != NULL) {
            if (sscanf(buf, "wchar: %llu", &n) == 1) {
                break;
            }
        }

        fclose(f);
    }

    return (double) n;
}


static int
bench_round(const char *dir, int audit, int batches, uint64_t *ms,
    bench_run_t *run)
{
    int                 b, i;
    char                err[KVS_STORE_ERRLEN], path[BENCH_BATCH][32];
    double              cpu, wall, written;
    kvs_store_t        *st;
    kvs_write_t         w[BENCH_BATCH];
    kvs_audit_event_t   ev;
    static const char   value[] =
        "{\"name\":\"John Doe\",\"age\":30,\"email\":\"john@example.com\"}";
    static const char   secret[] = "bench-store-audit-secret-0123456789";

    st = NULL;

    if (kvs_store_open(&st, dir, (size_t) 1 << 32, err, sizeof(err))
        != KVS_OK)
    {
        fprintf(stderr, "bench/store: %s\n", err);
        return -1;
    }

    if (audit && kvs_store_set_audit(st, (const uint8_t *) secret,
                                     sizeof(secret) - 1, "bench")
                 != KVS_OK)
    {
        fprintf(stderr, "bench/store: the audit log cannot be set up\n");
        kvs_store_close(st);
        return -1;
    }

    memset(&ev, 0, sizeof(ev));
    ev.kind = KVS_AUDIT_PUT;
    ev.client = "127.0.0.1";
    ev.client_len = 9;
    ev.method = "PUT";
    ev.method_len = 3;
    ev.status = 200;

    cpu = bench_clock(CLOCK_PROCESS_CPUTIME_ID);
    wall = bench_clock(CLOCK_MONOTONIC);
    written = bench_written();

    for (b = 0; b < batches; b++) {
        memset(w, 0, sizeof(w));

        for (i = 0; i < BENCH_BATCH; i++) {
            snprintf(path[i], sizeof(path[i]), "bench/put/%d",
                     (b * BENCH_BATCH + i) % BENCH_KEYS);

            w[i].op = KVS_WRITE_PUT;
            w[i].ns = 'd';
            w[i].path = path[i];
            w[i].path_len = strlen(path[i]);
            w[i].value = (const uint8_t *) value;
            w[i].value_len = sizeof(value) - 1;
            w[i].audit = audit ? &ev : NULL;
        }

        ev.object = path[0];
        ev.object_len = strlen(path[0]);

        if (kvs_store_write(st, w, BENCH_BATCH, (*ms)++, err, sizeof(err))
            != KVS_OK)
        {
            fprintf(stderr, "bench/store: %s\n", err);
            kvs_store_close(st);
            return -1;
        }
    }

    run->cpu_us = (bench_clock(CLOCK_PROCESS_CPUTIME_ID) - cpu)
                  / batches / BENCH_BATCH;
    run->wall_us = (bench_clock(CLOCK_MONOTONIC) - wall) / batches;
    run->kib = (bench_written() - written) / 1024 / batches;

    kvs_store_close(st);

    return 0;
}


/* an empty store in dir: its files removed */

static int
bench_clean(const char *dir)
{
    char  path[4200];

    if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
        fprintf(stderr, "bench/store: mkdir %s: %s\n", dir, strerror(errno));
        return -1;
    }

    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    (void) unlink(path);
    snprintf(path, sizeof(path), "%s/lock.mdb", dir);
    (void) unlink(path);

    return 0;
}


static int
bench_cmp(const void *a, const void *b)
{
    double  x, y;

    x = ((const bench_run_t *) a)->cpu_us;
    y = ((const bench_run_t *) b)->cpu_us;

    return (x > y) - (x < y);
}


int
main(int argc, char **argv)
{
    int           r, a, rounds, batches;
    char          dir[2][4096];
    const char   *top;
    uint64_t      ms;
    bench_run_t   runs[2][16];

    top = argc > 1 ? argv[1] : "bench/results/store.tmp";
    batches = argc > 2 ? atoi(argv[2]) : 2000;
    rounds = argc > 3 ? atoi(argv[3]) : 3;

    if (batches < 1 || rounds < 1 || rounds > 16) {
        fprintf(stderr, "usage: bench-store [DIR [BATCHES [ROUNDS <= 16]]]\n");
        return 2;
    }

    snprintf(dir[0], sizeof(dir[0]), "%s/off", top);
    snprintf(dir[1], sizeof(dir[1]), "%s/audit", top);

    if ((mkdir(top, 0700) == -1 && errno != EEXIST)
        || bench_clean(dir[0]) != 0 || bench_clean(dir[1]) != 0)
    {
        fprintf(stderr, "bench/store: %s cannot be made\n", top);
        return 1;
    }

    ms = 1796219286463ULL;

    for (r = 0; r < rounds; r++) {
        for (a = 0; a < 2; a++) {
            if (bench_round(dir[a], a, batches, &ms, &runs[a][r]) != 0) {
                return 1;
            }
        }
    }

    printf("KVS store bench: batches of %d PUTs of 56 bytes over %d keys, "
           "one transaction and fsync each; %d batches a run, median of %d "
           "alternating runs\n", BENCH_BATCH, BENCH_KEYS, batches, rounds);

    for (a = 0; a < 2; a++) {
        qsort(runs[a], rounds, sizeof(bench_run_t), bench_cmp);
        printf("  audit log %-4s %7.1f us of CPU a write   %7.0f us a batch "
               "(fsync included)   %6.1f KiB written a batch (%.1f pages)\n",
               a ? "on" : "off", runs[a][rounds / 2].cpu_us,
               runs[a][rounds / 2].wall_us, runs[a][rounds / 2].kib,
               runs[a][rounds / 2].kib / 4);
    }

    printf("  the audit log's CPU a write: %+.1f us\n",
           runs[1][rounds / 2].cpu_us - runs[0][rounds / 2].cpu_us);

    for (a = 0; a < 2; a++) {
        (void) bench_clean(dir[a]);
        (void) rmdir(dir[a]);
    }

    (void) rmdir(top);

    return 0;
}
