/*
 * bench/disk: what a durable commit costs this machine's disk by the shape
 * of its writes, without LMDB: each "commit" writes some 4 KiB pages of a
 * file with pwrite() and fdatasync()s it, as LMDB's commit does with its
 * dirty pages (LMDB then writes its meta page through a descriptor opened
 * with O_DSYNC, a second sync, which the "+ meta" rows add).
 *
 *   appended          the pages at the end of what was written before,
 *                     in one pwrite() (a log's append, as etcd's WAL and
 *                     Redis's AOF make)
 *   in one run        the pages adjacent, in one pwrite(), at a random
 *                     place of the file
 *   scattered         each page at its own random place, a pwrite() each
 *                     (LMDB's commit of pages the free list scattered)
 *
 * The file is written whole and synced before the commits, so none of them
 * allocates blocks or changes its size.  For each row: the median time of
 * a commit, fdatasync included, and that time divided by its pages.
 * `make bench` builds and runs it:
 *
 *     build/bench-disk [DIR [COMMITS]]
 *
 * DIR (default bench/results) gets the file disk.tmp of 64 MiB, removed at
 * the end; COMMITS (default 300) is the commits of each row.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


#define BENCH_FILE_PAGES  16384          /* 64 MiB */
#define BENCH_PAGE        4096
#define BENCH_MAX_PAGES   256


typedef enum {
    BENCH_APPENDED = 0,
    BENCH_RUN,
    BENCH_SCATTERED
} bench_shape_e;


typedef struct {
    bench_shape_e   shape;
    int             pages;
    int             meta;
} bench_row_t;


static const char *bench_shapes[] = { "appended", "in one run", "scattered" };


static double
bench_now_us(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}


static int
bench_cmp(const void *a, const void *b)
{
    double  x, y;

    x = *(const double *) a;
    y = *(const double *) b;

    return (x > y) - (x < y);
}


static int
bench_fill(int fd, uint8_t *buf)
{
    int  i;

    for (i = 0; i < BENCH_FILE_PAGES; i += BENCH_MAX_PAGES) {
        if (pwrite(fd, buf, BENCH_MAX_PAGES * BENCH_PAGE,
                   (off_t) i * BENCH_PAGE)
            != BENCH_MAX_PAGES * BENCH_PAGE)
        {
            return -1;
        }
    }

    return fdatasync(fd);
}


/* one commit of row's shape; *tail is where the next append goes */

static int
bench_commit(int fd, int mfd, const bench_row_t *row, uint8_t *buf,
    long *tail)
{
    int   i;
    long  at;

    if (row->shape == BENCH_SCATTERED) {
        for (i = 0; i < row->pages; i++) {
            at = 2 + random() % (BENCH_FILE_PAGES - 2);

            if (pwrite(fd, buf, BENCH_PAGE, (off_t) at * BENCH_PAGE)
                != BENCH_PAGE)
            {
                return -1;
            }
        }

    } else {
        if (row->shape == BENCH_RUN) {
            at = 2 + random() % (BENCH_FILE_PAGES - 2 - row->pages);

        } else {
            if (*tail + row->pages > BENCH_FILE_PAGES) {
                *tail = 0;
            }

            at = *tail;
            *tail += row->pages;
        }

        if (pwrite(fd, buf, (size_t) row->pages * BENCH_PAGE,
                   (off_t) at * BENCH_PAGE)
            != (ssize_t) row->pages * BENCH_PAGE)
        {
            return -1;
        }
    }

    if (fdatasync(fd) != 0) {
        return -1;
    }

    /* the meta page, through the O_DSYNC descriptor */

    if (row->meta && pwrite(mfd, buf, BENCH_PAGE, 0) != BENCH_PAGE) {
        return -1;
    }

    return 0;
}


int
main(int argc, char **argv)
{
    int           fd, mfd, n, commits, rc;
    char          path[4200];
    long          tail;
    double        t0, *ms;
    size_t        r;
    uint8_t      *buf;
    const char   *dir;

    static const bench_row_t  rows[] = {
        { BENCH_APPENDED, 1, 0 },
        { BENCH_APPENDED, 4, 0 },
        { BENCH_APPENDED, 25, 0 },
        { BENCH_RUN, 25, 0 },
        { BENCH_RUN, 25, 1 },
        { BENCH_SCATTERED, 1, 0 },
        { BENCH_SCATTERED, 4, 0 },
        { BENCH_SCATTERED, 16, 0 },
        { BENCH_SCATTERED, 25, 0 },
        { BENCH_SCATTERED, 25, 1 },
        { BENCH_SCATTERED, 64, 0 },
        { BENCH_SCATTERED, 256, 0 },
    };

    dir = argc > 1 ? argv[1] : "bench/results";
    commits = argc > 2 ? atoi(argv[2]) : 300;

    if (commits < 1 || commits > 100000) {
        fprintf(stderr, "usage: bench-disk [DIR [COMMITS <= 100000]]\n");
        return 2;
    }

    snprintf(path, sizeof(path), "%s/disk.tmp", dir);

    buf = aligned_alloc(BENCH_PAGE, BENCH_MAX_PAGES * BENCH_PAGE);
    ms = malloc(commits * sizeof(double));
    fd = open(path, O_RDWR|O_CREAT|O_TRUNC, 0600);
    mfd = fd == -1 ? -1 : open(path, O_RDWR|O_DSYNC);

    if (buf == NULL || ms == NULL || fd == -1 || mfd == -1) {
        fprintf(stderr, "bench/disk: %s: %s\n", path, strerror(errno));
        return 1;
    }

    memset(buf, 0x5a, BENCH_MAX_PAGES * BENCH_PAGE);
    srandom(1);
    rc = 0;

    if (bench_fill(fd, buf) != 0) {
        fprintf(stderr, "bench/disk: filling %s: %s\n", path,
                strerror(errno));
        rc = 1;
        goto done;
    }

    printf("KVS disk bench: commits of 4 KiB pages, pwrite() and "
           "fdatasync(), in a file of 64 MiB written ahead; median of %d "
           "commits a row\n", commits);

    tail = 0;

    for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
        for (n = 0; n < commits; n++) {
            t0 = bench_now_us();

            if (bench_commit(fd, mfd, &rows[r], buf, &tail) != 0) {
                fprintf(stderr, "bench/disk: writing %s: %s\n", path,
                        strerror(errno));
                rc = 1;
                goto done;
            }

            ms[n] = (bench_now_us() - t0) / 1000;
        }

        qsort(ms, commits, sizeof(double), bench_cmp);

        printf("  %3d page%s %-11s%-7s %7.3f ms a commit   %6.1f us a page\n",
               rows[r].pages, rows[r].pages > 1 ? "s" : " ",
               bench_shapes[rows[r].shape],
               rows[r].meta ? "+ meta" : "", ms[commits / 2],
               1000 * ms[commits / 2] / rows[r].pages);
    }

done:

    close(mfd);
    close(fd);
    (void) unlink(path);
    free(ms);
    free(buf);

    return rc;
}
