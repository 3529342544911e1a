/*
 * The store's environment and its reads; see kvs_store.h for the idea,
 * and kvs_store_int.h for the files of the store.
 *
 * One process opens one environment for data_dir and keeps one read
 * transaction, reset between requests and renewed by the next: a read
 * costs no allocation.  Every other transaction, every write, runs in
 * kvs_store_run(), the one place a transaction begins and ends, which
 * also adopts a map another process grew and turns LMDB's errors into
 * sentences.
 *
 * Reads come in two kinds: those inside the read transaction a request
 * (or the agent) holds between kvs_store_read_begin() and
 * kvs_store_read_end(), which keep the sentence of a failure for
 * kvs_store_error(), and those a transaction of their own runs.  A record
 * read here points into the map, valid until the read transaction ends.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <lmdb.h>
#include <openssl/sha.h>

#include "kvs_merkle.h"
#include "kvs_store_int.h"


/* the store whose read transaction this thread has open, if any */
static __thread kvs_store_t  *kvs_store_reading;


static int kvs_store_begin(kvs_store_t *st, unsigned flags, MDB_txn **txn);
static int kvs_store_end(kvs_store_t *st, MDB_txn *txn, int commit);
static int kvs_store_remap(kvs_store_t *st);



/*
 * LMDB reports a write the disk cut short as EIO, which says "Input/output
 * error" of a disk that is only full: when the device holding dir has
 * (almost) no room left, the sentence says that instead.  A short write
 * stops where the space ends, so after one the free space is less than a
 * block; 1 MiB leaves room for others' writes in between.
 */

#define KVS_STORE_DISK_LOW  (1024 * 1024)

int
kvs_store_fail(char *err, size_t errlen, const char *what, const char *dir,
    int rc)
{
    uint64_t        avail;
    struct statvfs  vfs;

    if ((rc == EIO || rc == ENOSPC) && statvfs(dir, &vfs) == 0) {

        /* root may write into the blocks the file system reserves */
        avail = (uint64_t) (geteuid() == 0 ? vfs.f_bfree : vfs.f_bavail)
                * vfs.f_frsize;

        if (rc == ENOSPC || avail < KVS_STORE_DISK_LOW) {
            snprintf(err, errlen, "%s in \"%s\" failed: no space left on "
                     "the device holding data_dir (%llu bytes free)", what,
                     dir, (unsigned long long) avail);
            return KVS_ERROR;
        }
    }

    snprintf(err, errlen, "%s in \"%s\" failed: %s", what, dir,
             mdb_strerror(rc));

    return rc == MDB_MAP_FULL ? KVS_FULL : KVS_ERROR;
}


/*
 * The one place a transaction begins; kvs_store_end() or, for the read
 * transaction, kvs_store_read_end() ends it.  A read transaction kept reset
 * in *txn is renewed.  When another process has written past this
 * process's map (max_db_size raised by a reload, and the new workers wrote
 * more than the old size while an old worker finished its requests), LMDB
 * answers MDB_MAP_RESIZED: the map is adopted at the size the file
 * records, once no transaction of this process is open, and the
 * transaction begins again.  A thread with a read open cannot wait for
 * that, so it gets the error.
 */

static int
kvs_store_begin(kvs_store_t *st, unsigned flags, MDB_txn **txn)
{
    int  rc;

    for ( ;; ) {
        rc = pthread_rwlock_rdlock(&st->map_lock);
        if (rc != 0) {
            return rc;
        }

        if ((flags & MDB_RDONLY) && *txn != NULL) {
            rc = mdb_txn_renew(*txn);

        } else {
            rc = mdb_txn_begin(st->env, NULL, flags, txn);
        }

        if (rc == 0) {
            return 0;
        }

        (void) pthread_rwlock_unlock(&st->map_lock);

        if (rc != MDB_MAP_RESIZED || kvs_store_reading == st) {
            return rc;
        }

        rc = kvs_store_remap(st);
        if (rc != 0) {
            return rc;
        }
    }
}


static int
kvs_store_end(kvs_store_t *st, MDB_txn *txn, int commit)
{
    int  rc;

    rc = 0;

    if (commit) {
        rc = mdb_txn_commit(txn);

    } else {
        mdb_txn_abort(txn);
    }

    (void) pthread_rwlock_unlock(&st->map_lock);

    return rc;
}


static int
kvs_store_remap(kvs_store_t *st)
{
    int  rc;

    rc = pthread_rwlock_wrlock(&st->map_lock);
    if (rc != 0) {
        return rc;
    }

    /* 0: the size the file records, the largest any process committed */
    rc = mdb_env_set_mapsize(st->env, 0);

    (void) pthread_rwlock_unlock(&st->map_lock);

    return rc;
}


/*
 * The one place a transaction runs: kvs_store_run() begins it (a write, or
 * with MDB_RDONLY a read of its own), runs fn in it, and commits it when
 * fn returns 0 (a read is only ended), or aborts it.  On failure it
 * returns LMDB's error, or fn's, with a sentence in err: "<what> in
 * "<dir>" failed: <mdb_strerror>", unless fn returned KVS_STORE_TOLD,
 * having written its own.  Reads inside the process's read transaction
 * (kvs_store_read_begin) leave theirs for kvs_store_error().
 */

int
kvs_store_run(kvs_store_t *st, unsigned flags, kvs_store_txn_pt fn,
    void *data, const char *what, char *err, size_t errlen)
{
    int       rc;
    MDB_txn  *txn;

    txn = NULL;

    rc = kvs_store_begin(st, flags, &txn);
    if (rc != 0) {
        kvs_store_fail(err, errlen, what, st->dir, rc);
        return rc;
    }

    rc = fn(st, txn, data);

    if (rc == 0 && !(flags & MDB_RDONLY)) {
        rc = kvs_store_end(st, txn, 1);

    } else {
        (void) kvs_store_end(st, txn, 0);
    }

    if (rc != 0 && rc != KVS_STORE_TOLD) {
        kvs_store_fail(err, errlen, what, st->dir, rc);
    }

    return rc;
}


/* LMDB's errors and errno values, as kvs_store_fail() says them, of a
 * transaction's outcome */

int
kvs_store_status(int rc)
{
    if (rc == 0) {
        return KVS_OK;
    }

    return rc == MDB_MAP_FULL ? KVS_FULL : KVS_ERROR;
}


int
kvs_store_read_failed(kvs_store_t *st, const char *what, int rc)
{
    kvs_store_fail(st->read_err, sizeof(st->read_err), what, st->dir, rc);

    return KVS_ERROR;
}


/*
 * One key read in the read transaction: KVS_NOT_FOUND where there is
 * none, and a failure is kept as a sentence of what was being read.
 */

int
kvs_store_read_get(kvs_store_t *st, MDB_dbi dbi, MDB_val *key, MDB_val *val,
    const char *what)
{
    int  rc;

    rc = mdb_get(st->read, dbi, key, val);

    if (rc == MDB_NOTFOUND) {
        return KVS_NOT_FOUND;
    }

    if (rc != 0) {
        return kvs_store_read_failed(st, what, rc);
    }

    return KVS_OK;
}


const char *
kvs_store_error(kvs_store_t *st)
{
    return st->read_err;
}


int
kvs_store_open(kvs_store_t **stp, const char *dir, size_t map_size,
    char *err, size_t errlen)
{
    return kvs_store_open_schema(stp, dir, map_size, &kvs_store_schema, NULL,
                                 0, err, errlen);
}


int
kvs_store_open_upgrade(kvs_store_t **stp, const char *dir, size_t map_size,
    char *note, size_t notelen, char *err, size_t errlen)
{
    return kvs_store_open_schema(stp, dir, map_size, &kvs_store_schema, note,
                                 notelen, err, errlen);
}


/* The store's handle and its environment, opened with env_flags. */

kvs_store_t *
kvs_store_new(const char *dir, size_t map_size, unsigned env_flags,
    char *err, size_t errlen)
{
    int           rc, dead;
    uint64_t      size, need;
    MDB_stat      stat;
    kvs_store_t  *st;

    st = calloc(1, sizeof(kvs_store_t));
    if (st == NULL) {
        snprintf(err, errlen, "out of memory opening \"%s\"", dir);
        return NULL;
    }

    st->dir = strdup(dir);
    st->history = 3;
    if (st->dir == NULL) {
        free(st);
        snprintf(err, errlen, "out of memory opening \"%s\"", dir);
        return NULL;
    }

    rc = pthread_rwlock_init(&st->map_lock, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "cannot open \"%s\": %s", dir, strerror(rc));
        free(st->dir);
        free(st);
        return NULL;
    }

    rc = mdb_env_create(&st->env);
    if (rc != 0) {
        st->env = NULL;
        goto failed;
    }

    rc = mdb_env_set_maxdbs(st->env, 16);
    if (rc != 0) {
        goto failed;
    }

    rc = mdb_env_set_mapsize(st->env, map_size);
    if (rc != 0) {
        goto failed;
    }

    rc = mdb_env_set_maxreaders(st->env, 1024);
    if (rc != 0) {
        goto failed;
    }

    /*
     * MDB_NOTLS: a read transaction belongs to the request that uses it,
     * not to a thread, and writes run on nginx's thread pool.
     */

    rc = mdb_env_open(st->env, dir, MDB_NOTLS | env_flags, 0600);
    if (rc != 0) {
        goto failed;
    }

    /* mdb_env_open() reads only the two meta pages, which a file it
     * takes holds; the pages they name are read from the map later */

    rc = kvs_store_env_size(st->env, &size, &need);
    if (rc != 0) {
        goto failed;
    }

    if (size < need) {
        snprintf(err, errlen, "\"%s/data.mdb\" is cut short: %llu bytes, "
                 "its last page needs %llu: it was truncated or copied in "
                 "part, and LMDB would fault reading past its end; restore "
                 "data_dir from a backup (kvs-restore)", dir,
                 (unsigned long long) size, (unsigned long long) need);
        kvs_store_free(st);
        return NULL;
    }

    /* readers left behind by processes killed with -9 */
    if (!(env_flags & MDB_RDONLY)) {
        (void) mdb_reader_check(st->env, &dead);
    }

    rc = mdb_env_stat(st->env, &stat);
    if (rc != 0) {
        goto failed;
    }

    st->psize = stat.ms_psize;

    return st;

failed:

    kvs_store_fail(err, errlen, "opening the store", dir, rc);
    kvs_store_free(st);

    return NULL;
}


static int kvs_store_tail_free(MDB_env *env, size_t first, size_t last);
static void kvs_store_tail_fault(int signo);


int
kvs_store_env_size(MDB_env *env, uint64_t *size, uint64_t *need)
{
    int               rc;
    MDB_stat          ms;
    MDB_envinfo       info;
    struct stat       sb;
    mdb_filehandle_t  fd;

    fd = -1;

    rc = mdb_env_info(env, &info);

    if (rc == 0) {
        rc = mdb_env_stat(env, &ms);
    }

    if (rc == 0) {
        rc = mdb_env_get_fd(env, &fd);
    }

    if (rc != 0) {
        return rc;
    }

    if (fstat(fd, &sb) == -1) {
        return errno;
    }

    *size = (uint64_t) sb.st_size;
    *need = ((uint64_t) info.me_last_pgno + 1) * ms.ms_psize;

    /* the pages past the end may be free ones LMDB never wrote */

    if (*size < *need
        && kvs_store_tail_free(env, *size / ms.ms_psize, info.me_last_pgno))
    {
        *need = *size / ms.ms_psize * ms.ms_psize;
    }

    return 0;
}


/*
 * Whether the pages first to last are all on LMDB's freelist.  A commit
 * that takes pages from the end of the file and frees them again (a large
 * value written and deleted in one group commit) leaves them unwritten past
 * the file's end while its meta page counts them (me_last_pgno): the file
 * is whole, and LMDB never reads a free page.  The freelist is read in a
 * read transaction of env, a snapshot whatever other processes write; it
 * may lie past the end of a file truly cut short, where reading it faults,
 * so a SIGBUS while it is read jumps out of the walk, and says no.
 */

#define KVS_STORE_TAIL_MAX  (1 << 24)

static __thread sigjmp_buf  *kvs_store_tail_jmp;


static void
kvs_store_tail_fault(int signo)
{
    if (kvs_store_tail_jmp != NULL) {
        siglongjmp(*kvs_store_tail_jmp, 1);
    }

    /* another thread's fault: as if this handler had never been set */
    (void) signal(signo, SIG_DFL);
    (void) raise(signo);
}


static int
kvs_store_tail_free(MDB_env *env, size_t first, size_t last)
{
    int                 rc, ok;
    size_t              i, n, *ids, left;
    uint8_t            *seen;
    MDB_txn            *txn;
    MDB_val             key, val;
    MDB_cursor         *cur;
    sigjmp_buf          jb;
    struct sigaction    sa, old;

    /* what the walk sets lives in memory, not registers: a fault returns
     * through siglongjmp() */
    static __thread volatile int       v_ok;
    static __thread MDB_txn *volatile  v_txn;
    static __thread MDB_cursor *volatile  v_cur;

    if (first > last || last - first >= KVS_STORE_TAIL_MAX) {
        return 0;
    }

    seen = calloc(1, (last - first) / 8 + 1);
    if (seen == NULL) {
        return 0;
    }

    v_ok = 0;
    v_txn = NULL;
    v_cur = NULL;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kvs_store_tail_fault;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_NODEFER;

    if (sigaction(SIGBUS, &sa, &old) == -1) {
        free(seen);
        return 0;
    }

    if (sigsetjmp(jb, 1) == 0) {
        kvs_store_tail_jmp = &jb;

        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);

        if (rc == 0) {
            v_txn = txn;

            /* FREE_DBI, LMDB's database 0: a transaction's id, then the
             * pages it freed as an IDL, their count first */
            rc = mdb_cursor_open(txn, 0, &cur);
        }

        if (rc == 0) {
            v_cur = cur;
        }

        left = last - first + 1;

        while (rc == 0 && left
               && (rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) == 0)
        {
            ids = val.mv_data;

            if (val.mv_size < sizeof(size_t) || val.mv_size % sizeof(size_t)
                || ids[0] != val.mv_size / sizeof(size_t) - 1)
            {
                break;
            }

            for (n = ids[0], i = 1; i <= n; i++) {
                if (ids[i] >= first && ids[i] <= last
                    && !(seen[(ids[i] - first) / 8]
                         & (1 << (ids[i] - first) % 8)))
                {
                    seen[(ids[i] - first) / 8] |= 1 << (ids[i] - first) % 8;
                    left--;
                }
            }
        }

        v_ok = (left == 0);
    }

    kvs_store_tail_jmp = NULL;
    (void) sigaction(SIGBUS, &old, NULL);

    ok = v_ok;

    /* after a fault the cursor is left as it was (a few bytes): closing
     * it would walk what faulted */
    if (ok && v_cur != NULL) {
        mdb_cursor_close(v_cur);
    }

    if (v_txn != NULL) {
        mdb_txn_abort(v_txn);
    }

    free(seen);

    return ok;
}


void
kvs_store_free(kvs_store_t *st)
{
    if (st->env) {
        mdb_env_close(st->env);
    }

    kvs_store_audit_free(st);
    (void) pthread_rwlock_destroy(&st->map_lock);
    free(st->dir);
    free(st);
}


/*
 * LMDB's file starts with its first meta page: a page header (the page
 * number, a size_t, then 8 bytes of pad, flags and bounds), then the
 * meta's magic, MDB_MAGIC, in the byte order of the host that wrote it,
 * which is what LMDB checks first when it opens a file.  lmdb.h does not
 * export it.
 */
#define KVS_LMDB_MAGIC     0xBEEFC0DEu
#define KVS_LMDB_MAGIC_AT  (sizeof(size_t) + 8)


int
kvs_store_check(const char *dir, size_t map_size, char *err, size_t errlen)
{
    int          fd;
    char         path[PATH_MAX], *slash;
    ssize_t      n;
    uint8_t      head[KVS_LMDB_MAGIC_AT + sizeof(uint32_t)];
    uint32_t     magic;
    struct stat  sb;

    if (stat(dir, &sb) == -1) {

        if (errno != ENOENT) {
            snprintf(err, errlen, "cannot use data_dir \"%s\": %s", dir,
                     strerror(errno));
            return KVS_ERROR;
        }

        /* the start creates data_dir, but not the directories above it */

        n = snprintf(path, sizeof(path), "%s", dir);

        while (n > 1 && (size_t) n < sizeof(path) && path[n - 1] == '/') {
            path[--n] = '\0';
        }

        slash = strrchr(path, '/');

        if (slash != NULL && slash != path) {
            *slash = '\0';

            if (stat(path, &sb) == -1) {
                snprintf(err, errlen, "cannot create data_dir \"%s\": %s",
                         dir, strerror(errno));
                return KVS_ERROR;
            }
        }

        return KVS_OK;
    }

    if (!S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "data_dir \"%s\" is not a directory", dir);
        return KVS_ERROR;
    }

    if ((size_t) snprintf(path, sizeof(path), "%s/data.mdb", dir)
        >= sizeof(path))
    {
        snprintf(err, errlen, "data_dir \"%s\" is too long a path", dir);
        return KVS_ERROR;
    }

    fd = open(path, O_RDONLY);

    if (fd == -1) {

        if (errno == ENOENT) {
            return KVS_OK;
        }

        snprintf(err, errlen, "cannot read \"%s\": %s", path,
                 strerror(errno));
        return KVS_ERROR;
    }

    n = pread(fd, head, sizeof(head), 0);

    if (n == -1) {
        snprintf(err, errlen, "cannot read \"%s\": %s", path,
                 strerror(errno));
        close(fd);
        return KVS_ERROR;
    }

    close(fd);

    /* an empty file is one LMDB starts afresh */

    if (n == 0) {
        return KVS_OK;
    }

    if ((size_t) n == sizeof(head)) {
        memcpy(&magic, head + KVS_LMDB_MAGIC_AT, sizeof(uint32_t));

        if (magic == KVS_LMDB_MAGIC) {
            return kvs_store_check_schema(dir, map_size, &kvs_store_schema,
                                          err, errlen);
        }
    }

    snprintf(err, errlen, "\"%s\" is not an LMDB file (it does not start "
             "with an LMDB meta page): data_dir must hold a KVS store, or "
             "nothing", path);

    return KVS_ERROR;
}


/* the named databases of DESIGN.md, and where the store keeps each */

static const struct {
    const char  *name;
    size_t       offset;
} kvs_store_dbs[] = {
    { "kv",          offsetof(kvs_store_t, kv) },
    { "rev",         offsetof(kvs_store_t, rev) },
    { "by_time",     offsetof(kvs_store_t, by_time) },
    { "expiry",      offsetof(kvs_store_t, expiry) },
    { "changes",     offsetof(kvs_store_t, changes) },
    { "merkle",      offsetof(kvs_store_t, merkle) },
    { "bucket_keys", offsetof(kvs_store_t, bucket_keys) },
    { "members",     offsetof(kvs_store_t, members) },
    { "audit",       offsetof(kvs_store_t, audit) },
    { "meta",        offsetof(kvs_store_t, meta) },
};


/* Opens the databases in txn, with MDB_CREATE when flags have it. */

int
kvs_store_dbs_open(kvs_store_t *st, MDB_txn *txn, unsigned flags)
{
    int     rc;
    size_t  i;

    for (i = 0; i < sizeof(kvs_store_dbs) / sizeof(kvs_store_dbs[0]); i++) {
        rc = mdb_dbi_open(txn, kvs_store_dbs[i].name, flags,
                          (MDB_dbi *) ((char *) st
                                       + kvs_store_dbs[i].offset));
        if (rc != 0) {
            return rc;
        }
    }

    return 0;
}


void
kvs_store_close(kvs_store_t *st)
{
    if (st == NULL) {
        return;
    }

    kvs_store_read_end(st);

    if (st->read) {
        mdb_txn_abort(st->read);
    }

    kvs_store_free(st);
}


void
kvs_store_set_history(kvs_store_t *st, unsigned n)
{
    st->history = n;
}


const char *
kvs_store_path(kvs_store_t *st)
{
    return st->dir;
}


int
kvs_store_read_begin(kvs_store_t *st, char *err, size_t errlen)
{
    int  rc;

    rc = kvs_store_begin(st, MDB_RDONLY, &st->read);

    if (rc != 0) {
        if (st->read) {
            mdb_txn_abort(st->read);
            st->read = NULL;
        }

        return kvs_store_fail(err, errlen, "starting a read", st->dir, rc);
    }

    st->reading = 1;
    st->read_err[0] = '\0';
    kvs_store_reading = st;

    return KVS_OK;
}


void
kvs_store_read_end(kvs_store_t *st)
{
    if (st->reading) {
        mdb_txn_reset(st->read);
        st->reading = 0;
        kvs_store_reading = NULL;
        (void) pthread_rwlock_unlock(&st->map_lock);
    }
}


int
kvs_store_get(kvs_store_t *st, char ns, const char *path, size_t len,
    kvs_record_hdr_t *hdr, const uint8_t **value)
{
    int      rc;
    uint8_t  kbuf[KVS_STORE_KEY_MAX];
    MDB_val  key, val;

    key.mv_data = kbuf;
    key.mv_size = kvs_store_key(kbuf, ns, path, len);

    rc = kvs_store_read_get(st, st->kv, &key, &val, "reading a key");
    if (rc != KVS_OK) {
        return rc;
    }

    if (kvs_record_decode(hdr, val.mv_data, val.mv_size) != 0) {
        return kvs_store_read_failed(st, "reading a key", MDB_CORRUPTED);
    }

    *value = (const uint8_t *) val.mv_data + KVS_RECORD_HDR_SIZE
             + hdr->key_len;

    return KVS_OK;
}


int
kvs_store_member_get(kvs_store_t *st, const char *node_id, size_t len,
    kvs_member_t *m)
{
    int      rc;
    MDB_val  key, val;

    key.mv_data = (void *) node_id;
    key.mv_size = len;

    rc = kvs_store_read_get(st, st->members, &key, &val, "reading a member");
    if (rc != KVS_OK) {
        return rc;
    }

    if (kvs_store_member_decode(m, &key, &val) != KVS_OK) {
        return kvs_store_read_failed(st, "reading a member", MDB_CORRUPTED);
    }

    return KVS_OK;
}


int
kvs_store_member_each(kvs_store_t *st,
    int (*fn)(const kvs_member_t *m, void *data), void *data)
{
    int           rc;
    MDB_val       key, val;
    MDB_cursor   *cur;
    kvs_member_t  m;

    rc = mdb_cursor_open(st->read, st->members, &cur);
    if (rc != 0) {
        return kvs_store_read_failed(st, "reading the members", rc);
    }

    rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);

    while (rc == 0) {
        if (kvs_store_member_decode(&m, &key, &val) == KVS_OK
            && fn(&m, data) != KVS_OK)
        {
            mdb_cursor_close(cur);
            return KVS_ERROR;
        }

        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    mdb_cursor_close(cur);

    if (rc != MDB_NOTFOUND) {
        return kvs_store_read_failed(st, "reading the members", rc);
    }

    return KVS_OK;
}


int
kvs_store_changes(kvs_store_t *st, uint64_t after, size_t max,
    kvs_change_pt fn, void *data)
{
    int               rc, n;
    size_t            klen, plen;
    uint8_t           sk[8], hk[KVS_REV_KEY_MAX];
    MDB_val           key, val, rkey, rval, hkey;
    MDB_cursor       *cur;
    const char       *path;
    kvs_record_hdr_t  hdr;

    rc = mdb_cursor_open(st->read, st->changes, &cur);
    if (rc != 0) {
        return kvs_store_read_failed(st, "reading the change feed", rc);
    }

    kvs_put_be64(sk, after + 1);
    key.mv_data = sk;
    key.mv_size = sizeof(sk);

    n = 0;
    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);

    while (rc == 0 && (size_t) n < max) {
        if (key.mv_size != 8 || val.mv_size <= KVS_VERSION_REC_LEN + 1) {
            rc = MDB_CORRUPTED;
            break;
        }

        rkey.mv_data = (uint8_t *) val.mv_data + KVS_VERSION_REC_LEN;
        rkey.mv_size = val.mv_size - KVS_VERSION_REC_LEN;
        klen = rkey.mv_size;

        rc = mdb_get(st->read, st->kv, &rkey, &rval);

        /* replaced since: the version this change wrote, from history */

        if (rc == 0 && klen <= KVS_STORE_KEY_MAX
            && kvs_record_decode(&hdr, rval.mv_data, rval.mv_size) == 0
            && (kvs_get_be64(val.mv_data) != hdr.version.timestamp
                || memcmp((uint8_t *) val.mv_data + 8, hdr.version.uuid,
                          KVS_UUID_LEN)
                   != 0))
        {
            hkey.mv_data = hk;
            hkey.mv_size = kvs_store_rev_prefix(hk, rkey.mv_data, klen);
            memcpy(hk + hkey.mv_size, val.mv_data, 8 + KVS_UUID_LEN);
            hkey.mv_size += 8 + KVS_UUID_LEN;

            rc = mdb_get(st->read, st->kv, &hkey, &rval);
        }

        if (rc == 0) {
            rc = kvs_store_key_path(st, st->read, rkey.mv_data, klen, &rval,
                                    &path, &plen);
            if (rc != 0) {
                break;
            }

            if (fn(kvs_get_be64(key.mv_data), *(char *) rkey.mv_data, path,
                   plen, rval.mv_data, rval.mv_size, data)
                != KVS_OK)
            {
                break;
            }

        } else if (rc != MDB_NOTFOUND) {
            break;
        }

        n++;
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    mdb_cursor_close(cur);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        return kvs_store_read_failed(st, "reading the change feed", rc);
    }

    return n;
}


int
kvs_store_meta_get(kvs_store_t *st, const char *name, uint64_t *v)
{
    int             rc;
    size_t          len;
    const uint8_t  *data;

    rc = kvs_store_meta_get_bytes(st, name, &data, &len);
    if (rc != KVS_OK) {
        return rc;
    }

    if (len != 8) {
        return kvs_store_read_failed(st, "reading meta", MDB_CORRUPTED);
    }

    *v = kvs_get_u64(data);

    return KVS_OK;
}


int
kvs_store_meta_get_bytes(kvs_store_t *st, const char *name,
    const uint8_t **data, size_t *len)
{
    int      rc;
    MDB_val  key, val;

    key.mv_data = (void *) name;
    key.mv_size = strlen(name);

    rc = kvs_store_read_get(st, st->meta, &key, &val, "reading meta");
    if (rc != KVS_OK) {
        return rc;
    }

    *data = val.mv_data;
    *len = val.mv_size;

    return KVS_OK;
}


/*
 * A backup's copy: LMDB's compacting copy into fd, in a read transaction
 * of its own, while a read transaction of this process, begun just before
 * it, counts the records and holds the map lock, so that no thread of
 * this process remaps the environment under the copy (kvs_store_begin).
 */

int
kvs_store_copy(kvs_store_t *st, int fd, uint64_t *keys, char *err,
    size_t errlen)
{
    int        rc;
    MDB_txn   *txn;

    txn = NULL;

    rc = kvs_store_begin(st, MDB_RDONLY, &txn);
    if (rc != 0) {
        return kvs_store_fail(err, errlen, "starting the backup's copy",
                              st->dir, rc);
    }

    rc = kvs_store_records(st, txn, keys);

    if (rc == 0) {
        rc = mdb_env_copyfd2(st->env, fd, MDB_CP_COMPACT);
    }

    (void) kvs_store_end(st, txn, 0);

    if (rc != 0) {
        return kvs_store_fail(err, errlen, "copying the store", st->dir, rc);
    }

    return KVS_OK;
}


int
kvs_store_merkle_ranges(kvs_store_t *st, uint8_t *out)
{
    int          rc;
    MDB_val      key, val;
    MDB_cursor  *cur;

    memset(out, 0, 256 * KVS_MERKLE_DIGEST_LEN);

    rc = mdb_cursor_open(st->read, st->merkle, &cur);
    if (rc != 0) {
        return kvs_store_read_failed(st, "reading the Merkle tree", rc);
    }

    rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);

    /* a range's digest, the XOR of its buckets', kept by every write */

    while (rc == 0) {
        if (key.mv_size == 1 && val.mv_size == KVS_MERKLE_DIGEST_LEN) {
            memcpy(out + ((uint8_t *) key.mv_data)[0]
                         * KVS_MERKLE_DIGEST_LEN,
                   val.mv_data, KVS_MERKLE_DIGEST_LEN);
        }

        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    mdb_cursor_close(cur);

    if (rc != MDB_NOTFOUND) {
        return kvs_store_read_failed(st, "reading the Merkle tree", rc);
    }

    return KVS_OK;
}


/*
 * The keys of the buckets from first to last, in bucket order, each with
 * the record it has in kv: bucket_keys says which keys a bucket holds
 * (schema version 4: nothing else), kv their versions.  With after (a key
 * of kv, after_len bytes), the walk starts past it in the first bucket.
 * fn returns 0 to go on; anything else stops the walk, which is no
 * failure.
 */

typedef int (*kvs_store_bucket_pt)(uint16_t bucket, const uint8_t *k,
    const kvs_record_hdr_t *hdr, const char *path, size_t plen, void *data);

static int
kvs_store_buckets_walk(kvs_store_t *st, uint16_t first, uint16_t last,
    const uint8_t *after, size_t after_len, kvs_store_bucket_pt fn,
    void *data, const char *what)
{
    int               rc;
    size_t            plen;
    uint8_t           start[2 + KVS_STORE_KEY_MAX];
    uint16_t          bucket;
    MDB_val           key, val, rkey, rec;
    MDB_cursor       *cur;
    const char       *path;
    kvs_record_hdr_t  hdr;

    start[0] = (uint8_t) (first >> 8);
    start[1] = (uint8_t) first;

    if (after_len > KVS_STORE_KEY_MAX) {
        return kvs_store_read_failed(st, what, EINVAL);
    }

    if (after_len) {
        memcpy(start + 2, after, after_len);
    }

    rc = mdb_cursor_open(st->read, st->bucket_keys, &cur);
    if (rc != 0) {
        return kvs_store_read_failed(st, what, rc);
    }

    key.mv_data = start;
    key.mv_size = 2 + after_len;
    path = NULL;
    plen = 0;

    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);

    if (rc == 0 && after_len && key.mv_size == 2 + after_len
        && memcmp(key.mv_data, start, 2 + after_len) == 0)
    {
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    while (rc == 0) {
        if (key.mv_size <= 3 || key.mv_size > 2 + KVS_STORE_KEY_MAX) {
            rc = MDB_CORRUPTED;
            break;
        }

        bucket = (uint16_t) (((uint8_t *) key.mv_data)[0] << 8
                             | ((uint8_t *) key.mv_data)[1]);

        if (bucket > last) {
            break;
        }

        rkey.mv_data = (uint8_t *) key.mv_data + 2;
        rkey.mv_size = key.mv_size - 2;

        /* a key in its bucket has its record, in the same transaction */

        rc = mdb_get(st->read, st->kv, &rkey, &rec);

        if (rc == 0 && kvs_record_decode(&hdr, rec.mv_data, rec.mv_size)
                       != 0)
        {
            rc = MDB_CORRUPTED;
        }

        if (rc == 0) {
            rc = kvs_store_key_path(st, st->read, rkey.mv_data, rkey.mv_size,
                                    &rec, &path, &plen);
        }

        if (rc != 0) {
            rc = rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
            break;
        }

        if (fn(bucket, rkey.mv_data, &hdr, path, plen, data) != 0) {
            break;
        }

        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    mdb_cursor_close(cur);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        return kvs_store_read_failed(st, what, rc);
    }

    return KVS_OK;
}


/* a bucket's digest, from first's at out: the XOR of its keys' */

static int
kvs_store_bucket_xor(uint16_t bucket, const uint8_t *k,
    const kvs_record_hdr_t *hdr, const char *path, size_t plen, void *data)
{
    uint8_t *out = data;

    uint8_t  d[KVS_MERKLE_DIGEST_LEN];

    kvs_merkle_digest(d, (char) k[0], path, plen, &hdr->version, hdr->flags);
    kvs_merkle_xor(out + (bucket & 0xff) * KVS_MERKLE_DIGEST_LEN, d);

    return 0;
}


int
kvs_store_merkle_range(kvs_store_t *st, unsigned range, uint8_t *out)
{
    memset(out, 0, 256 * KVS_MERKLE_DIGEST_LEN);

    return kvs_store_buckets_walk(st, (uint16_t) (range << 8),
                                  (uint16_t) (range << 8 | 0xff), NULL, 0,
                                  kvs_store_bucket_xor, out,
                                  "reading the Merkle tree");
}


void
kvs_store_merkle_root(const uint8_t *ranges, uint8_t *root)
{
    uint8_t  md[SHA256_DIGEST_LENGTH];

    SHA256(ranges, 256 * KVS_MERKLE_DIGEST_LEN, md);
    memcpy(root, md, KVS_MERKLE_DIGEST_LEN);
}


typedef struct {
    kvs_bucket_key_pt   fn;
    void               *data;
} kvs_store_bucket_keys_t;


static int
kvs_store_bucket_key(uint16_t bucket, const uint8_t *k,
    const kvs_record_hdr_t *hdr, const char *path, size_t plen, void *data)
{
    kvs_store_bucket_keys_t *bk = data;

    (void) bucket;

    return bk->fn((char) k[0], path, plen, &hdr->version, hdr->flags,
                  bk->data) != KVS_OK;
}


int
kvs_store_bucket_keys(kvs_store_t *st, uint16_t bucket, kvs_bucket_key_pt fn,
    void *data)
{
    return kvs_store_bucket_keys_after(st, bucket, 0, NULL, 0, fn, data);
}


int
kvs_store_bucket_keys_after(kvs_store_t *st, uint16_t bucket, char ns,
    const char *path, size_t len, kvs_bucket_key_pt fn, void *data)
{
    size_t                   klen;
    uint8_t                  k[KVS_STORE_KEY_MAX];
    kvs_store_bucket_keys_t  bk;

    bk.fn = fn;
    bk.data = data;

    if (len > KVS_KEY_MAX) {
        return kvs_store_read_failed(st, "reading a bucket's keys", EINVAL);
    }

    klen = path ? kvs_store_key(k, ns, path, len) : 0;

    return kvs_store_buckets_walk(st, bucket, bucket, k, klen,
                                  kvs_store_bucket_key, &bk,
                                  "reading a bucket's keys");
}


int
kvs_store_record(kvs_store_t *st, char ns, const char *path, size_t len,
    const uint8_t **record, size_t *record_len)
{
    int      rc;
    uint8_t  kbuf[KVS_STORE_KEY_MAX];
    MDB_val  key, val;

    key.mv_data = kbuf;
    key.mv_size = kvs_store_key(kbuf, ns, path, len);

    rc = kvs_store_read_get(st, st->kv, &key, &val, "reading a record");
    if (rc != KVS_OK) {
        return rc;
    }

    *record = val.mv_data;
    *record_len = val.mv_size;

    return KVS_OK;
}


int
kvs_store_conflicts(kvs_store_t *st, kvs_conflict_pt fn, void *data)
{
    int               rc;
    size_t            plen;
    MDB_val           key, val, rkey;
    MDB_cursor       *cur;
    const char       *path;
    const size_t      pre = sizeof(KVS_CONFLICT_PREFIX) - 1;

    rc = mdb_cursor_open(st->read, st->meta, &cur);
    if (rc != 0) {
        return kvs_store_read_failed(st, "reading the conflicts", rc);
    }

    key.mv_data = KVS_CONFLICT_PREFIX;
    key.mv_size = pre;

    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);

    while (rc == 0 && key.mv_size > pre + 1
           && memcmp(key.mv_data, KVS_CONFLICT_PREFIX, pre) == 0)
    {
        rkey.mv_data = (uint8_t *) key.mv_data + pre;
        rkey.mv_size = key.mv_size - pre;

        rc = kvs_store_key_path(st, st->read, rkey.mv_data, rkey.mv_size,
                                NULL, &path, &plen);
        if (rc != 0) {
            break;
        }

        if (fn(*(char *) rkey.mv_data, path, plen, data) != KVS_OK) {
            break;
        }

        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    mdb_cursor_close(cur);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        return kvs_store_read_failed(st, "reading the conflicts", rc);
    }

    return KVS_OK;
}


int
kvs_store_count(kvs_store_t *st, uint64_t *n)
{
    int  rc;

    rc = kvs_store_records(st, st->read, n);
    if (rc != 0) {
        return kvs_store_read_failed(st, "counting the records", rc);
    }

    return KVS_OK;
}


/* the records of kv in txn: its entries, less the versions kept beside
 * them */

int
kvs_store_records(kvs_store_t *st, MDB_txn *txn, uint64_t *n)
{
    int       rc;
    MDB_stat  stat;
    uint64_t  revs;

    rc = mdb_stat(txn, st->kv, &stat);
    if (rc != 0) {
        return rc;
    }

    rc = kvs_store_revs(st, txn, &revs);
    if (rc != 0) {
        return rc;
    }

    *n = stat.ms_entries > revs ? stat.ms_entries - revs : 0;

    return 0;
}


int
kvs_store_change_seq(kvs_store_t *st, uint64_t *seq)
{
    int      rc;
    MDB_val  key, val;

    key.mv_data = "change_seq";
    key.mv_size = sizeof("change_seq") - 1;

    rc = kvs_store_read_get(st, st->meta, &key, &val,
                            "reading the change feed");

    if (rc == KVS_NOT_FOUND) {
        *seq = 0;
        return KVS_OK;
    }

    if (rc != KVS_OK) {
        return rc;
    }

    *seq = val.mv_size == 8 ? kvs_get_u64(val.mv_data) : 0;

    return KVS_OK;
}


int
kvs_store_bucket_digest(kvs_store_t *st, uint16_t bucket, uint8_t *out)
{
    int      rc;
    uint8_t  range[256 * KVS_MERKLE_DIGEST_LEN];

    /* kvs_store_bucket_xor places it by the bucket's low byte */

    memset(range, 0, sizeof(range));

    rc = kvs_store_buckets_walk(st, bucket, bucket, NULL, 0,
                                kvs_store_bucket_xor, range,
                                "reading the Merkle tree");

    memcpy(out, range + (bucket & 0xff) * KVS_MERKLE_DIGEST_LEN,
           KVS_MERKLE_DIGEST_LEN);

    return rc;
}


int
kvs_store_history(kvs_store_t *st, char ns, const char *path, size_t len,
    kvs_history_pt fn, void *data)
{
    int               rc;
    size_t            klen, plen, n;
    uint8_t           k[KVS_STORE_KEY_MAX], prefix[KVS_REV_KEY_MAX];
    MDB_val           key, val;
    MDB_cursor       *cur;
    kvs_record_hdr_t  hdr;

    klen = kvs_store_key(k, ns, path, len);
    plen = kvs_store_rev_prefix(prefix, k, klen);

    rc = mdb_cursor_open(st->read, st->kv, &cur);
    if (rc != 0) {
        return kvs_store_read_failed(st, "reading a key's history", rc);
    }

    /* from past the newest version of the key, backwards */

    memset(prefix + plen, 0xff, 8 + KVS_UUID_LEN);
    key.mv_data = prefix;
    key.mv_size = plen + 8 + KVS_UUID_LEN;

    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
    rc = mdb_cursor_get(cur, &key, &val, rc == 0 ? MDB_PREV : MDB_LAST);

    /* no more than revision_history asks for now, even before the key's
     * next write trims what an earlier setting kept */

    n = 0;

    while (n < st->history && rc == 0 && key.mv_size >= plen
           && memcmp(key.mv_data, prefix, plen) == 0)
    {
        /* of a path of 448 bytes, the versions share their prefix with
         * the longer paths under it whose digest begins with a zero byte
         * (kvs_store_key), and with those paths' versions: passed over */

        if (key.mv_size != plen + 8 + KVS_UUID_LEN) {
            rc = mdb_cursor_get(cur, &key, &val, MDB_PREV);
            continue;
        }

        if (kvs_record_decode(&hdr, val.mv_data, val.mv_size) != 0) {
            rc = MDB_CORRUPTED;
            break;
        }

        if (fn(&hdr, (const uint8_t *) val.mv_data + KVS_RECORD_HDR_SIZE
                     + hdr.key_len, data)
            != KVS_OK)
        {
            break;
        }

        n++;
        rc = mdb_cursor_get(cur, &key, &val, MDB_PREV);
    }

    mdb_cursor_close(cur);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        return kvs_store_read_failed(st, "reading a key's history", rc);
    }

    return KVS_OK;
}
