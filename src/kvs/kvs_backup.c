/*
 * Backups; see kvs_backup.h for the file and its name.
 *
 * kvs_backup_write() runs two threads: a copier, which writes LMDB's
 * compacting copy into a pipe (kvs_store_copy), and the caller's, which
 * reads the pipe, compresses it with one zstd stream and writes the
 * temporary file.  The pipe keeps the copy and the compression in step
 * without holding the store in memory or on disk twice.  When the writing
 * side fails (a full disk), it closes its end of the pipe, so the copier
 * fails at its next write (EPIPE: the threads block SIGPIPE) and ends its
 * read transaction; the first failure is the sentence.
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "kvs_backup.h"
#include "kvs_record.h"


#define KVS_BACKUP_PATH_MAX  4096

/* the room free below which a failed write is said as a full disk */
#define KVS_BACKUP_DISK_LOW  (1024 * 1024)

#define KVS_BACKUP_LAST_VERSION  1


typedef struct {
    kvs_store_t  *store;
    int           fd;                /* the pipe's write end */
    int           rc;
    uint64_t      keys;
    char          err[KVS_BACKUP_ERRLEN];
} kvs_backup_copier_t;


static void *kvs_backup_copier(void *data);
static int kvs_backup_stream(int in, int out, int level, const char *path,
    const char *dir, kvs_backup_result_t *res, char *err, size_t errlen);
static int kvs_backup_put(int fd, const void *p, size_t len);
static void kvs_backup_failed(char *err, size_t errlen, const char *what,
    const char *path, const char *dir, int e);
static int kvs_backup_stamp(const char *p, uint64_t *ms);


const char *
kvs_backup_node_check(const char *node, size_t len)
{
    if (memchr(node, '/', len) != NULL) {
        return "has a \"/\", which a backup's file name cannot hold";
    }

    if (len > KVS_BACKUP_NODE_MAX) {
        return "is longer than 222 bytes, which a backup's file name "
               "cannot hold";
    }

    return NULL;
}


size_t
kvs_backup_name(char *out, const char *node, uint64_t ms)
{
    int        n;
    time_t     t;
    size_t     len;
    struct tm  tm;

    len = strlen(node);

    if (kvs_backup_node_check(node, len) != NULL) {
        return 0;
    }

    t = (time_t) (ms / 1000);

    if (gmtime_r(&t, &tm) == NULL) {
        return 0;
    }

    n = snprintf(out, KVS_BACKUP_NAME_MAX,
                 KVS_BACKUP_PREFIX "%s-%04d%02d%02dT%02d%02d%02dZ"
                 KVS_BACKUP_SUFFIX,
                 node, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);

    if (n < 0 || (size_t) n >= KVS_BACKUP_NAME_MAX) {
        return 0;
    }

    return (size_t) n;
}


int
kvs_backup_parse_name(const char *name, size_t len, const char *node,
    size_t node_len, int *tmp, uint64_t *ms)
{
    size_t  pre, suf, tmp_len;

    pre = sizeof(KVS_BACKUP_PREFIX) - 1;
    suf = sizeof(KVS_BACKUP_SUFFIX) - 1;
    tmp_len = sizeof(KVS_BACKUP_TMP) - 1;

    *tmp = 0;

    if (len > tmp_len
        && memcmp(name + len - tmp_len, KVS_BACKUP_TMP, tmp_len) == 0)
    {
        *tmp = 1;
        len -= tmp_len;
    }

    if (len != pre + node_len + 1 + KVS_BACKUP_STAMP_LEN + suf
        || memcmp(name, KVS_BACKUP_PREFIX, pre) != 0
        || memcmp(name + pre, node, node_len) != 0
        || name[pre + node_len] != '-'
        || memcmp(name + len - suf, KVS_BACKUP_SUFFIX, suf) != 0)
    {
        return -1;
    }

    return kvs_backup_stamp(name + pre + node_len + 1, ms);
}


/* "yyyymmddThhmmssZ", a real date and time of UTC */

static int
kvs_backup_stamp(const char *p, uint64_t *ms)
{
    int        i, k, v[6];
    time_t     t;
    struct tm  tm, back;

    static const int  widths[6] = { 4, 2, 2, 2, 2, 2 };
    static const int  at[6] = { 0, 4, 6, 9, 11, 13 };

    if (p[8] != 'T' || p[15] != 'Z') {
        return -1;
    }

    for (i = 0; i < 6; i++) {
        v[i] = 0;

        for (k = 0; k < widths[i]; k++) {
            if (p[at[i] + k] < '0' || p[at[i] + k] > '9') {
                return -1;
            }

            v[i] = v[i] * 10 + (p[at[i] + k] - '0');
        }
    }

    memset(&tm, 0, sizeof(struct tm));
    tm.tm_year = v[0] - 1900;
    tm.tm_mon = v[1] - 1;
    tm.tm_mday = v[2];
    tm.tm_hour = v[3];
    tm.tm_min = v[4];
    tm.tm_sec = v[5];

    t = timegm(&tm);

    /* timegm() normalizes: a date that is none comes back another */
    if (t < 0 || gmtime_r(&t, &back) == NULL
        || back.tm_year != v[0] - 1900 || back.tm_mon != v[1] - 1
        || back.tm_mday != v[2] || back.tm_hour != v[3]
        || back.tm_min != v[4] || back.tm_sec != v[5])
    {
        return -1;
    }

    *ms = (uint64_t) t * 1000;

    return 0;
}


size_t
kvs_backup_expired(const uint64_t *ms, size_t n, uint64_t now_ms,
    uint64_t keep_ms, unsigned char *expired)
{
    size_t  i, newest, count;

    count = 0;
    newest = 0;

    for (i = 0; i < n; i++) {
        expired[i] = 0;

        if (ms[i] > ms[newest]) {
            newest = i;
        }
    }

    if (now_ms < keep_ms) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (i != newest && ms[i] < now_ms - keep_ms) {
            expired[i] = 1;
            count++;
        }
    }

    return count;
}


int
kvs_backup_write(kvs_store_t *st, const char *dir, const char *name,
    int level, kvs_backup_result_t *res, char *err, size_t errlen)
{
    int                  rc, fd, pipes[2];
    struct stat          sb;
    char                 final[KVS_BACKUP_PATH_MAX];
    char                 path[KVS_BACKUP_PATH_MAX + sizeof(KVS_BACKUP_TMP)];
    pthread_t            thread;
    kvs_backup_copier_t  cp;

    memset(res, 0, sizeof(kvs_backup_result_t));

    if (snprintf(final, sizeof(final), "%s/%s", dir, name)
        >= (int) sizeof(final))
    {
        snprintf(err, errlen, "the backup's path in \"%s\" is too long",
                 dir);
        return -1;
    }

    snprintf(path, sizeof(path), "%s" KVS_BACKUP_TMP, final);

    if (mkdir(dir, 0700) == -1) {
        if (errno != EEXIST) {
            kvs_backup_failed(err, errlen, "creating backup_dir", dir, dir,
                              errno);
            return -1;
        }

        if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
            snprintf(err, errlen, "backup_dir \"%s\" is not a directory",
                     dir);
            return -1;
        }
    }

    /*
     * O_EXCL: the temporary name is this backup's alone while it writes.
     * Two agents may take the backup of one name in one second (a binary
     * upgrade runs the old master's agent and the new one's, each with
     * shared memory of its own); with O_TRUNC both wrote one inode, and
     * the file kept was their two streams interleaved.
     */

    fd = open(path, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0600);
    if (fd == -1) {
        if (errno == EEXIST) {
            snprintf(err, errlen, "the temporary file \"%s\" is taken by "
                     "another backup of the same name (another agent's in "
                     "the same second, as during a binary upgrade, or one "
                     "cut short): this one is not written", path);

        } else {
            kvs_backup_failed(err, errlen, "creating", path, dir, errno);
        }

        return -1;
    }

    /* the file holds password hashes and token digests: 0600 whatever
     * the umask */
    if (fchmod(fd, 0600) == -1) {
        kvs_backup_failed(err, errlen, "setting the mode of", path, dir,
                          errno);
        goto failed;
    }

    if (pipe(pipes) == -1) {
        kvs_backup_failed(err, errlen, "making the pipe for", path, dir,
                          errno);
        goto failed;
    }

    cp.store = st;
    cp.fd = pipes[1];
    cp.rc = KVS_OK;
    cp.keys = 0;
    cp.err[0] = '\0';

    rc = pthread_create(&thread, NULL, kvs_backup_copier, &cp);
    if (rc != 0) {
        close(pipes[0]);
        close(pipes[1]);
        kvs_backup_failed(err, errlen, "starting the copy for", path, dir,
                          rc);
        goto failed;
    }

    rc = kvs_backup_stream(pipes[0], fd, level, path, dir, res, err, errlen);

    /* the copier fails at its next write once nobody reads; it closes
     * its end itself */
    close(pipes[0]);
    (void) pthread_join(thread, NULL);

    res->keys = cp.keys;

    if (rc != 0) {
        goto failed;
    }

    if (cp.rc != KVS_OK) {
        snprintf(err, errlen, "%s", cp.err);
        goto failed;
    }

    if (fsync(fd) == -1) {
        kvs_backup_failed(err, errlen, "syncing", path, dir, errno);
        goto failed;
    }

    rc = close(fd);
    fd = -1;

    if (rc == -1) {
        kvs_backup_failed(err, errlen, "closing", path, dir, errno);
        goto failed;
    }

    /*
     * link() and unlink(), not rename(), which replaces a file of the
     * final name: a backup of the same second may have written it (a POST
     * right after a scheduled backup, another agent's), and its file
     * stays.  link() fails with EEXIST when the name is taken, atomically,
     * on ext4 and XFS as on every file system with hard links, NFS
     * included, which refuses renameat2()'s RENAME_NOREPLACE (EINVAL).
     * The file is whole and synced before it has its final name; a crash
     * between the two calls leaves the temporary name too, which the next
     * agent removes.
     */

    if (link(path, final) == -1) {
        if (errno == EEXIST) {
            snprintf(err, errlen, "\"%s\" exists already (a backup of "
                     "the same second, another agent's or an earlier "
                     "one's): it stays, and this one is dropped", final);

        } else {
            kvs_backup_failed(err, errlen, "renaming", path, dir, errno);
        }

        goto failed;
    }

    if (unlink(path) == -1) {
        kvs_backup_failed(err, errlen, "removing the temporary name",
                          path, dir, errno);
        (void) unlink(final);
        return -1;
    }

    /* the rename is durable once the directory is; until then the file
     * may not be there after a crash, and is not claimed */

    fd = open(dir, O_RDONLY|O_DIRECTORY|O_CLOEXEC);

    if (fd == -1 || fsync(fd) == -1) {
        kvs_backup_failed(err, errlen, "syncing the directory", dir, dir,
                          errno);
        if (fd != -1) {
            close(fd);
        }

        (void) unlink(final);
        return -1;
    }

    close(fd);

    return 0;

failed:

    if (fd != -1) {
        close(fd);
    }

    (void) unlink(path);

    return -1;
}


/* the copier's thread: the store's copy into the pipe, then EOF */

static void *
kvs_backup_copier(void *data)
{
    kvs_backup_copier_t *cp = data;

    sigset_t  set;

    /* a read end closed early must fail a write (EPIPE), not kill the
     * process; and signals are the main thread's */
    sigfillset(&set);
    (void) pthread_sigmask(SIG_BLOCK, &set, NULL);

    cp->rc = kvs_store_copy(cp->store, cp->fd, &cp->keys, cp->err,
                            sizeof(cp->err));

    /* EOF for the reader: the write end is closed, not only left */
    (void) close(cp->fd);
    cp->fd = -1;

    return NULL;
}


/* reads the pipe to its end, writing one zstd frame of it into out */

static int
kvs_backup_stream(int in, int out, int level, const char *path,
    const char *dir, kvs_backup_result_t *res, char *err, size_t errlen)
{
    int             rc;
    size_t          left, in_cap, out_cap;
    ssize_t         n;
    uint8_t        *ibuf, *obuf;
    ZSTD_CCtx      *cctx;
    ZSTD_inBuffer   zin;
    ZSTD_outBuffer  zout;
    ZSTD_EndDirective  mode;

    rc = -1;
    in_cap = ZSTD_CStreamInSize();
    out_cap = ZSTD_CStreamOutSize();

    cctx = ZSTD_createCCtx();
    ibuf = malloc(in_cap);
    obuf = malloc(out_cap);

    if (cctx == NULL || ibuf == NULL || obuf == NULL) {
        snprintf(err, errlen, "out of memory writing \"%s\"", path);
        goto done;
    }

    if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel,
                                            level))
        || ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)))
    {
        snprintf(err, errlen, "zstd refuses level %d", level);
        goto done;
    }

    for ( ;; ) {
        n = read(in, ibuf, in_cap);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            kvs_backup_failed(err, errlen, "reading the copy for", path,
                              dir, errno);
            goto done;
        }

        res->copied += (uint64_t) n;

        zin.src = ibuf;
        zin.size = (size_t) n;
        zin.pos = 0;
        mode = (n == 0) ? ZSTD_e_end : ZSTD_e_continue;

        do {
            zout.dst = obuf;
            zout.size = out_cap;
            zout.pos = 0;

            left = ZSTD_compressStream2(cctx, &zout, &zin, mode);

            if (ZSTD_isError(left)) {
                snprintf(err, errlen, "compressing \"%s\" failed: %s", path,
                         ZSTD_getErrorName(left));
                goto done;
            }

            if (kvs_backup_put(out, obuf, zout.pos) != 0) {
                kvs_backup_failed(err, errlen, "writing", path, dir, errno);
                goto done;
            }

            res->bytes += zout.pos;

        } while (mode == ZSTD_e_end ? left != 0 : zin.pos < zin.size);

        if (n == 0) {
            break;
        }
    }

    rc = 0;

done:

    ZSTD_freeCCtx(cctx);
    free(ibuf);
    free(obuf);

    return rc;
}


static int
kvs_backup_put(int fd, const void *p, size_t len)
{
    ssize_t         n;
    const uint8_t  *b;

    b = p;

    while (len > 0) {
        n = write(fd, b, len);

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }

            return -1;
        }

        b += n;
        len -= (size_t) n;
    }

    return 0;
}


/*
 * "<what> "<path>" failed: <strerror>", or, when the device holding dir
 * is (almost) full, that it is: a short write on a full disk may say EIO
 * or EFBIG rather than ENOSPC.
 */

static void
kvs_backup_failed(char *err, size_t errlen, const char *what,
    const char *path, const char *dir, int e)
{
    uint64_t        avail;
    struct statvfs  vfs;

    if ((e == ENOSPC || e == EIO || e == EDQUOT)
        && statvfs(dir, &vfs) == 0)
    {
        avail = (uint64_t) (geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail)
                * vfs.f_frsize;

        if (e == ENOSPC || avail < KVS_BACKUP_DISK_LOW) {
            snprintf(err, errlen, "%s \"%s\" failed: no space left on the "
                     "device holding backup_dir (%llu bytes free)", what,
                     path, (unsigned long long) avail);
            return;
        }
    }

    snprintf(err, errlen, "%s \"%s\" failed: %s", what, path, strerror(e));
}


/*
 * The record of the last backup: a version byte, six numbers (big-endian
 * u64: started_at, finished_at, bytes, keys, ok_at, ok_bytes), ok, then
 * the file's name and the error, each a big-endian u16 length and bytes.
 */

size_t
kvs_backup_last_encode(const kvs_backup_last_t *l, uint8_t *out)
{
    size_t    i, len;
    uint8_t  *p;
    uint64_t  v[6];

    v[0] = l->started_at;
    v[1] = l->finished_at;
    v[2] = l->bytes;
    v[3] = l->keys;
    v[4] = l->ok_at;
    v[5] = l->ok_bytes;

    p = out;
    *p++ = KVS_BACKUP_LAST_VERSION;

    for (i = 0; i < 6; i++) {
        kvs_put_u64(p, v[i]);
        p += 8;
    }

    *p++ = l->ok ? 1 : 0;

    len = strnlen(l->file, sizeof(l->file) - 1);
    *p++ = (uint8_t) (len >> 8);
    *p++ = (uint8_t) len;
    memcpy(p, l->file, len);
    p += len;

    len = strnlen(l->error, sizeof(l->error) - 1);
    *p++ = (uint8_t) (len >> 8);
    *p++ = (uint8_t) len;
    memcpy(p, l->error, len);
    p += len;

    return (size_t) (p - out);
}


int
kvs_backup_last_decode(const uint8_t *p, size_t len, kvs_backup_last_t *l)
{
    size_t          i, n;
    uint64_t        v[6];
    const uint8_t  *end;

    end = p + len;

    if (len < 1 + 6 * 8 + 1 + 2 || p[0] != KVS_BACKUP_LAST_VERSION) {
        return -1;
    }

    p++;

    for (i = 0; i < 6; i++) {
        v[i] = kvs_get_u64(p);
        p += 8;
    }

    if (*p > 1) {
        return -1;
    }

    memset(l, 0, sizeof(kvs_backup_last_t));

    l->ok = *p++;
    l->started_at = v[0];
    l->finished_at = v[1];
    l->bytes = v[2];
    l->keys = v[3];
    l->ok_at = v[4];
    l->ok_bytes = v[5];

    n = (size_t) p[0] << 8 | p[1];
    p += 2;

    if (n >= sizeof(l->file) || (size_t) (end - p) < n + 2
        || memchr(p, '\0', n) != NULL)
    {
        return -1;
    }

    memcpy(l->file, p, n);
    p += n;

    n = (size_t) p[0] << 8 | p[1];
    p += 2;

    if (n >= sizeof(l->error) || (size_t) (end - p) != n
        || memchr(p, '\0', n) != NULL)
    {
        return -1;
    }

    memcpy(l->error, p, n);

    return 0;
}
