/*
 * The store on LMDB; see kvs_store.h for the idea.
 *
 * Keys of "kv" are a namespace byte followed by the path.  Every write of a
 * batch updates, in the batch's one transaction:
 *
 *   kv           the record (header + value; DELETE writes a tombstone)
 *   rev          the record replaced, when it was live, and the key's
 *                history trimmed to the newest st->history versions
 *   by_time      big-endian timestamp + key, old entry replaced
 *   expiry       big-endian expires_at + key, when the record has a TTL
 *   merkle       the key's bucket digest: old version out, new one in (XOR)
 *   bucket_keys  bucket + key -> version and flags
 *   changes      next sequence number -> version, flags and key
 *   meta         "change_seq", once per batch
 *
 * so a crash leaves either all of a batch or none of it.
 *
 * A full map.  Client PUTs stop short of max_db_size by a reserve (see
 * kvs_store_room), so that DELETEs, which are what frees space, still fit,
 * and so do the records peers replicate.  A transaction needs a fresh copy
 * of every page it touches, and LMDB hands it only the pages that commits
 * before the last one freed: a write that finds no room first commits a
 * release (kvs_store_release) and is tried again, and a batch that still
 * finds none is tried one write at a time, so that only a write that does
 * not fit alone is refused.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <lmdb.h>
#include <openssl/sha.h>

#include "kvs_merkle.h"
#include "kvs_store.h"


#define KVS_VERSION_REC_LEN  (8 + KVS_UUID_LEN + 1)

/*
 * LMDB keys are at most 511 bytes, and index keys add up to 8 bytes to a
 * key, but paths may have 1,024.  A path of up to KVS_KEY_INLINE bytes is
 * its own key; a longer one is keyed by its first KVS_KEY_INLINE bytes and
 * the SHA-256 of the whole path, and its record keeps the full path.  Keys
 * still sort by path, except among long paths sharing their first 448
 * bytes, and the two forms never collide: they differ in length.
 */
#define KVS_KEY_INLINE       448
#define KVS_STORE_KEY_MAX    (1 + KVS_KEY_INLINE + SHA256_DIGEST_LENGTH)


struct kvs_store_s {
    MDB_env   *env;
    MDB_txn   *read;           /* the process's read transaction, reset
                                  between requests */
    int        reading;
    char      *dir;
    char       read_err[KVS_STORE_ERRLEN];  /* the last failed read's
                                               sentence */

    MDB_dbi    kv;
    MDB_dbi    rev;
    MDB_dbi    by_time;
    MDB_dbi    expiry;
    MDB_dbi    changes;
    MDB_dbi    merkle;
    MDB_dbi    bucket_keys;
    MDB_dbi    members;
    MDB_dbi    audit;
    MDB_dbi    meta;

    unsigned   history;        /* earlier versions kept per key */
    size_t     psize;          /* LMDB's page size */
    size_t     released;       /* the transaction of this process's last
                                  release, see kvs_store_release */

    /*
     * Held shared by every transaction of the process while it is open,
     * exclusively to adopt a map another process grew (kvs_store_begin):
     * LMDB remaps only while no transaction of the process is open, and a
     * worker's write transactions run on a thread of their own.
     */
    pthread_rwlock_t  map_lock;
};


/*
 * The reserve: a sixteenth of the map, at least 256 KiB (a quarter of the
 * smallest map).  A DELETE touches about ten B-trees, each needing a fresh
 * copy of its path: some 15 pages (60 KiB) of a 1 MiB map, at most some
 * 40 pages (160 KiB) for millions of keys; a sixteenth holds many such
 * transactions in a larger store.  Peers' records may use half of it,
 * DELETEs and peers' tombstones of keys held here all of it, so that a
 * delete made anywhere reaches every node.
 */
#define KVS_STORE_RESERVE_SHARE  16
#define KVS_STORE_RESERVE_MIN    (256 * 1024)

/* bytes of the index entries one write adds (by_time, expiry, bucket_keys,
 * changes, rev): its key and a version each, and LMDB's node headers */
#define KVS_STORE_ENTRIES(klen)  (6 * ((klen) + 48))

/* LMDB's page header, before a value given pages of its own */
#define KVS_STORE_PAGE_HDR       16


typedef struct {
    int64_t    left;           /* bytes of the map free, less what the
                                  batch's writes so far may have used */
    int64_t    reserve;
} kvs_store_room_t;


/* what kvs_store_run() runs in a transaction: 0 commits it */
typedef int (*kvs_store_txn_pt)(kvs_store_t *st, MDB_txn *txn, void *data);

/* a kvs_store_txn_pt's failure whose sentence is in err already */
#define KVS_STORE_TOLD  (-1)

int kvs_store_run(kvs_store_t *st, unsigned flags, kvs_store_txn_pt fn,
    void *data, const char *what, char *err, size_t errlen);
int kvs_store_status(int rc);


typedef struct {
    char      *err;
    size_t     errlen;
} kvs_store_schema_t;


/* the store whose read transaction this thread has open, if any */
static __thread kvs_store_t  *kvs_store_reading;


static int kvs_store_fail(char *err, size_t errlen, const char *what,
    const char *dir, int rc);
static int kvs_store_read_failed(kvs_store_t *st, const char *what, int rc);
static int kvs_store_begin(kvs_store_t *st, unsigned flags, MDB_txn **txn);
static int kvs_store_end(kvs_store_t *st, MDB_txn *txn, int commit);
static int kvs_store_remap(kvs_store_t *st);
static int kvs_store_init_schema(kvs_store_t *st, MDB_txn *txn, void *data);
static int kvs_store_commit_writes(kvs_store_t *st, MDB_txn *txn,
    void *data);
static int kvs_store_release(kvs_store_t *st);
static size_t kvs_store_reserve(size_t map_size);
static int64_t kvs_store_in_map(kvs_store_t *st, size_t bytes);
static int kvs_store_room(kvs_store_t *st, MDB_txn *txn,
    kvs_store_room_t *room);
static int kvs_store_apply(kvs_store_t *st, MDB_txn *txn, kvs_write_t *w,
    uint64_t now_ms, uint64_t *seq, kvs_store_room_t *room);
static int kvs_store_members_apply(kvs_store_t *st, MDB_txn *txn,
    const kvs_member_t *m, size_t n, uint64_t seq);


/*
 * LMDB reports a write the disk cut short as EIO, which says "Input/output
 * error" of a disk that is only full: when the device holding dir has
 * (almost) no room left, the sentence says that instead.  A short write
 * stops where the space ends, so after one the free space is less than a
 * block; 1 MiB leaves room for others' writes in between.
 */

#define KVS_STORE_DISK_LOW  (1024 * 1024)

static int
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


static int
kvs_store_read_failed(kvs_store_t *st, const char *what, int rc)
{
    kvs_store_fail(st->read_err, sizeof(st->read_err), what, st->dir, rc);

    return KVS_ERROR;
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
    int                   rc, dead;
    MDB_stat              stat;
    kvs_store_t          *st;
    kvs_store_schema_t    schema;

    if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create data_dir \"%s\": %s", dir,
                 strerror(errno));
        return KVS_ERROR;
    }

    st = calloc(1, sizeof(kvs_store_t));
    if (st == NULL) {
        snprintf(err, errlen, "out of memory opening \"%s\"", dir);
        return KVS_ERROR;
    }

    st->dir = strdup(dir);
    st->history = 3;
    if (st->dir == NULL) {
        free(st);
        snprintf(err, errlen, "out of memory opening \"%s\"", dir);
        return KVS_ERROR;
    }

    rc = pthread_rwlock_init(&st->map_lock, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "cannot open \"%s\": %s", dir, strerror(rc));
        free(st->dir);
        free(st);
        return KVS_ERROR;
    }

    rc = mdb_env_create(&st->env);
    if (rc != 0) {
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

    rc = mdb_env_open(st->env, dir, MDB_NOTLS, 0600);
    if (rc != 0) {
        goto failed;
    }

    /* readers left behind by processes killed with -9 */
    (void) mdb_reader_check(st->env, &dead);

    rc = mdb_env_stat(st->env, &stat);
    if (rc != 0) {
        goto failed;
    }

    st->psize = stat.ms_psize;

    schema.err = err;
    schema.errlen = errlen;

    if (kvs_store_run(st, 0, kvs_store_init_schema, &schema,
                      "opening the store", err, errlen)
        != 0)
    {
        mdb_env_close(st->env);
        (void) pthread_rwlock_destroy(&st->map_lock);
        free(st->dir);
        free(st);
        return KVS_ERROR;
    }

    *stp = st;

    return KVS_OK;

failed:

    kvs_store_fail(err, errlen, "opening the store", dir, rc);

    if (st->env) {
        mdb_env_close(st->env);
    }

    (void) pthread_rwlock_destroy(&st->map_lock);
    free(st->dir);
    free(st);

    return KVS_ERROR;
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
kvs_store_check(const char *dir, char *err, size_t errlen)
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
            return KVS_OK;
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


/* Opens (creating) the databases and checks the schema version, in the
 * transaction that opens the store. */

static int
kvs_store_init_schema(kvs_store_t *st, MDB_txn *txn, void *data)
{
    kvs_store_schema_t *sc = data;

    int         rc;
    size_t      i;
    uint8_t     buf[4];
    MDB_val     key, val;
    MDB_stat    stat;
    uint32_t    version;

    for (i = 0; i < sizeof(kvs_store_dbs) / sizeof(kvs_store_dbs[0]); i++) {
        rc = mdb_dbi_open(txn, kvs_store_dbs[i].name, MDB_CREATE,
                          (MDB_dbi *) ((char *) st
                                       + kvs_store_dbs[i].offset));
        if (rc != 0) {
            return rc;
        }
    }

    key.mv_data = "schema_version";
    key.mv_size = sizeof("schema_version") - 1;

    rc = mdb_get(txn, st->meta, &key, &val);

    if (rc == 0) {
        version = val.mv_size == 4 ? kvs_get_u32(val.mv_data) : 0;

        if (version != KVS_SCHEMA_VERSION) {
            snprintf(sc->err, sc->errlen,
                     "the store in \"%s\" has schema version %u, but this "
                     "build of KVS reads only version %u; use a matching "
                     "build or a new data_dir",
                     st->dir, version, KVS_SCHEMA_VERSION);
            return KVS_STORE_TOLD;
        }

        return 0;
    }

    if (rc != MDB_NOTFOUND) {
        return rc;
    }

    rc = mdb_stat(txn, st->kv, &stat);
    if (rc != 0) {
        return rc;
    }

    if (stat.ms_entries != 0) {
        snprintf(sc->err, sc->errlen,
                 "the store in \"%s\" holds data but no schema version; it "
                 "was not written by KVS", st->dir);
        return KVS_STORE_TOLD;
    }

    kvs_put_u32(buf, KVS_SCHEMA_VERSION);
    val.mv_data = buf;
    val.mv_size = sizeof(buf);

    return mdb_put(txn, st->meta, &key, &val, 0);
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

    mdb_env_close(st->env);
    (void) pthread_rwlock_destroy(&st->map_lock);
    free(st->dir);
    free(st);
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


/* namespace byte + path (or its prefix and digest), the key of kv */
static size_t
kvs_store_key(uint8_t *buf, char ns, const char *path, size_t len)
{
    buf[0] = (uint8_t) ns;

    if (len <= KVS_KEY_INLINE) {
        memcpy(buf + 1, path, len);
        return len + 1;
    }

    memcpy(buf + 1, path, KVS_KEY_INLINE);
    SHA256((const uint8_t *) path, len, buf + 1 + KVS_KEY_INLINE);

    return KVS_STORE_KEY_MAX;
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

    rc = mdb_get(st->read, st->kv, &key, &val);

    if (rc == MDB_NOTFOUND) {
        return KVS_NOT_FOUND;
    }

    if (rc == 0 && kvs_record_decode(hdr, val.mv_data, val.mv_size) != 0) {
        rc = MDB_CORRUPTED;
    }

    if (rc != 0) {
        return kvs_store_read_failed(st, "reading a key", rc);
    }

    *value = (const uint8_t *) val.mv_data + KVS_RECORD_HDR_SIZE
             + hdr->key_len;

    return KVS_OK;
}


/*
 * The path a key of kv stands for: the bytes after its namespace, or of a
 * long path the full path its record keeps.  rec is the key's record (or
 * an earlier version of it) when the caller holds it; otherwise it is
 * read from kv in txn.
 */

static int
kvs_store_key_path(kvs_store_t *st, MDB_txn *txn, const uint8_t *k,
    size_t klen, const MDB_val *rec, const char **path, size_t *plen)
{
    int               rc;
    MDB_val           key, val;
    kvs_record_hdr_t  hdr;

    if (klen != KVS_STORE_KEY_MAX) {
        *path = (const char *) k + 1;
        *plen = klen - 1;
        return 0;
    }

    if (rec == NULL) {
        key.mv_data = (void *) k;
        key.mv_size = klen;

        rc = mdb_get(txn, st->kv, &key, &val);
        if (rc != 0) {
            return rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc;
        }

        rec = &val;
    }

    if (kvs_record_decode(&hdr, rec->mv_data, rec->mv_size) != 0
        || hdr.key_len == 0)
    {
        return MDB_CORRUPTED;
    }

    *path = (const char *) rec->mv_data + KVS_RECORD_HDR_SIZE;
    *plen = hdr.key_len;

    return 0;
}


typedef struct {
    kvs_write_t  *w;
    size_t        n;
    uint64_t      now_ms;
} kvs_store_array_t;


static void
kvs_store_collect_array(kvs_write_batch_t *b, void *data)
{
    kvs_store_array_t *a = data;

    b->w = a->w;
    b->n = a->n;
    b->now_ms = a->now_ms;
}


int
kvs_store_write(kvs_store_t *st, kvs_write_t *w, size_t n, uint64_t now_ms,
    char *err, size_t errlen)
{
    kvs_store_array_t  a;

    a.w = w;
    a.n = n;
    a.now_ms = now_ms;

    return kvs_store_write_collect(st, kvs_store_collect_array, &a, err,
                                   errlen);
}


/* a batch as kvs_store_commit_writes() takes it */

typedef struct {
    kvs_write_collect_pt   collect;   /* called once, in the first
                                         transaction */
    void                  *data;
    kvs_write_batch_t      b;
    size_t                 from;      /* the writes of this transaction */
    size_t                 n;
} kvs_store_batch_t;


static int kvs_store_batch_run(kvs_store_t *st, kvs_store_batch_t *bt,
    char *err, size_t errlen);


int
kvs_store_write_collect(kvs_store_t *st, kvs_write_collect_pt collect,
    void *data, char *err, size_t errlen)
{
    int                rc, failed;
    size_t             i, full;
    MDB_envinfo        info;
    kvs_store_batch_t  bt;

    bt.collect = collect;
    bt.data = data;
    bt.b.w = NULL;
    bt.b.n = 0;
    bt.b.now_ms = 0;
    bt.from = 0;
    bt.n = 0;

    /* waits for LMDB's writer lock, held by another process's commit */

    rc = kvs_store_batch_run(st, &bt, err, errlen);

    if (bt.collect) {
        /* the transaction did not begin: the batch fails whole */
        collect(&bt.b, data);

        for (i = 0; i < bt.b.n; i++) {
            bt.b.w[i].rc = KVS_ERROR;
        }

        return kvs_store_status(rc);
    }

    if (rc == MDB_MAP_FULL && kvs_store_release(st) == 0) {
        rc = kvs_store_batch_run(st, &bt, err, errlen);
    }

    /*
     * No room for the batch as a whole, which needs a fresh copy of every
     * page it touches at once: each write alone then, in order, each
     * after a release when it finds no room.
     */

    failed = 0;

    if (rc == MDB_MAP_FULL && bt.b.n > 1) {
        for (i = 0; i < bt.b.n; i++) {
            bt.from = i;
            bt.n = 1;

            rc = kvs_store_batch_run(st, &bt, err, errlen);

            if (rc == MDB_MAP_FULL && kvs_store_release(st) == 0) {
                rc = kvs_store_batch_run(st, &bt, err, errlen);
            }

            if (rc == MDB_MAP_FULL) {
                bt.b.w[i].rc = KVS_FULL;

            } else if (rc != 0) {
                failed = rc;
            }
        }

        rc = failed;
    }

    if (rc == MDB_MAP_FULL) {
        bt.b.w[0].rc = KVS_FULL;

    } else if (rc != 0) {
        kvs_store_fail(err, errlen, "writing", st->dir, rc);
        return KVS_ERROR;
    }

    full = 0;

    for (i = 0; i < bt.b.n; i++) {
        if (bt.b.w[i].rc == KVS_FULL) {
            full++;
        }
    }

    if (full == 0) {
        return KVS_OK;
    }

    /* the map may be adopted anew meanwhile, and mdb_env_info reads it */

    (void) pthread_rwlock_rdlock(&st->map_lock);
    (void) mdb_env_info(st->env, &info);
    (void) pthread_rwlock_unlock(&st->map_lock);

    snprintf(err, errlen, "the store in \"%s\" is full: %zu of %zu writes "
             "did not fit in its map of %zu bytes, of which %zu are kept "
             "for deletes and replication", st->dir, full, bt.b.n,
             info.me_mapsize, kvs_store_reserve(info.me_mapsize));

    return KVS_FULL;
}


/* The batch's writes of this try in a transaction: none of them was
 * written when it fails, even in its commit. */

static int
kvs_store_batch_run(kvs_store_t *st, kvs_store_batch_t *bt, char *err,
    size_t errlen)
{
    int     rc;
    size_t  i;

    rc = kvs_store_run(st, 0, kvs_store_commit_writes, bt, "writing", err,
                       errlen);

    if (rc != 0 && bt->collect == NULL) {
        for (i = bt->from; i < bt->from + bt->n; i++) {
            bt->b.w[i].rc = KVS_ERROR;
        }
    }

    return rc;
}


/*
 * Applies a batch's writes in txn, collecting the batch first in its first
 * transaction: returns 0 to commit them, MDB_MAP_FULL when the map has no
 * room for them, or another LMDB error.  Each write's rc says what became
 * of it, KVS_FULL for one refused short of the reserve, KVS_ERROR for all
 * when the transaction fails.
 */

static int
kvs_store_commit_writes(kvs_store_t *st, MDB_txn *txn, void *data)
{
    kvs_store_batch_t *bt = data;

    int               rc;
    size_t            i;
    uint8_t           buf[8];
    MDB_val           key, val;
    uint64_t          seq;
    kvs_write_t      *w;
    kvs_store_room_t  room;

    if (bt->collect) {
        bt->collect(&bt->b, bt->data);
        bt->collect = NULL;
        bt->n = bt->b.n;
    }

    w = bt->b.w + bt->from;

    for (i = 0; i < bt->n; i++) {
        w[i].rc = KVS_ERROR;
    }

    /* a batch of none commits nothing */

    if (bt->n == 0) {
        return 0;
    }

    key.mv_data = "change_seq";
    key.mv_size = sizeof("change_seq") - 1;

    rc = mdb_get(txn, st->meta, &key, &val);
    if (rc == 0 && val.mv_size == 8) {
        seq = kvs_get_u64(val.mv_data);

    } else if (rc == MDB_NOTFOUND) {
        seq = 0;

    } else {
        return rc ? rc : MDB_CORRUPTED;
    }

    rc = kvs_store_room(st, txn, &room);
    if (rc != 0) {
        return rc;
    }

    for (i = 0; i < bt->n; i++) {
        rc = kvs_store_apply(st, txn, &w[i], bt->b.now_ms, &seq, &room);
        if (rc != 0) {
            goto failed;
        }
    }

    kvs_put_u64(buf, seq);
    val.mv_data = buf;
    val.mv_size = sizeof(buf);

    rc = mdb_put(txn, st->meta, &key, &val, 0);
    if (rc == 0) {
        return 0;
    }

failed:

    for (i = 0; i < bt->n; i++) {
        w[i].rc = KVS_ERROR;
    }

    return rc;
}


/*
 * LMDB gives a transaction the pages that commits before the last one
 * freed, never those the last commit freed: a reader may still be on the
 * snapshot before it, which uses them.  Those wait for the next commit.
 * On a map near full, a commit that copied many pages (a group commit of
 * a few DELETEs takes some 25 of a 1 MiB map's 30 free) leaves the next
 * transaction the few it did not take; a DELETE, which needs about 15,
 * then found no room and was aborted, which commits nothing, and so was
 * every write after it: the store refused all writes for good, with the
 * room they needed listed free.  A write that finds no room therefore
 * commits this first, a rewrite of change_seq as it is, which takes and
 * frees some 3 pages, and is tried once more.  Nothing is left to release
 * when the last commit is this process's own release.
 *
 * Returns 0 when a release was committed.
 */

static int
kvs_store_release_txn(kvs_store_t *st, MDB_txn *txn, void *data)
{
    size_t *id = data;

    int       rc;
    uint8_t   buf[8];
    MDB_val   key, val;

    *id = mdb_txn_id(txn);

    if (*id == st->released + 1) {
        return MDB_MAP_FULL;
    }

    key.mv_data = "change_seq";
    key.mv_size = sizeof("change_seq") - 1;

    rc = mdb_get(txn, st->meta, &key, &val);

    if (rc == 0 && val.mv_size == sizeof(buf)) {
        memcpy(buf, val.mv_data, sizeof(buf));

    } else if (rc == MDB_NOTFOUND) {
        kvs_put_u64(buf, 0);

    } else {
        return rc ? rc : MDB_CORRUPTED;
    }

    val.mv_data = buf;
    val.mv_size = sizeof(buf);

    return mdb_put(txn, st->meta, &key, &val, 0);
}


static int
kvs_store_release(kvs_store_t *st)
{
    int     rc;
    char    err[KVS_STORE_ERRLEN];
    size_t  id;

    rc = kvs_store_run(st, 0, kvs_store_release_txn, &id, "releasing",
                       err, sizeof(err));
    if (rc == 0) {
        st->released = id;
    }

    return rc;
}


/* the reserve of a map of that size: see KVS_STORE_RESERVE_SHARE */

static size_t
kvs_store_reserve(size_t map_size)
{
    size_t  reserve;

    reserve = map_size / KVS_STORE_RESERVE_SHARE;

    if (reserve < KVS_STORE_RESERVE_MIN) {
        reserve = KVS_STORE_RESERVE_MIN;
    }

    return reserve < map_size / 4 ? reserve : map_size / 4;
}


/*
 * What bytes stored in a B-tree take of the map: a record of more than
 * half a page gets pages of its own; smaller ones share leaves, which
 * page splits leave between half and fully filled, so twice their size.
 */

static int64_t
kvs_store_in_map(kvs_store_t *st, size_t bytes)
{
    if (bytes > st->psize / 2) {
        return (int64_t) ((bytes + KVS_STORE_PAGE_HDR + st->psize - 1)
                          / st->psize * st->psize);
    }

    return (int64_t) (2 * bytes);
}


/*
 * The room in the map as a transaction begins: the map's size less the
 * pages every database of the environment uses (the free list's own
 * pages, but not the free pages it lists, which LMDB hands out again).
 * Not the file's last page (mdb_env_info's me_last_pgno): LMDB never
 * lowers it, so a store, once full, would look full for good however much
 * was deleted.  The trees' page counts are kept in their roots: this
 * costs no walk.
 */

static int
kvs_store_room(kvs_store_t *st, MDB_txn *txn, kvs_store_room_t *room)
{
    int          rc;
    size_t       used;
    MDB_dbi      dbi;
    MDB_stat     stat;
    MDB_envinfo  info;

    rc = mdb_env_info(st->env, &info);
    if (rc != 0) {
        return rc;
    }

    room->reserve = (int64_t) kvs_store_reserve(info.me_mapsize);

    /* the two meta pages, then every database open, LMDB's own first */

    used = 2;

    for (dbi = 0; ; dbi++) {
        rc = mdb_stat(txn, dbi, &stat);
        if (rc == EINVAL) {
            break;
        }

        if (rc != 0) {
            return rc;
        }

        used += stat.ms_branch_pages + stat.ms_leaf_pages
                + stat.ms_overflow_pages;
    }

    room->left = (int64_t) info.me_mapsize - (int64_t) (used * st->psize);

    return 0;
}


/* version (big-endian timestamp, uuid) and flags, as bucket_keys and
 * changes store them */
static void
kvs_store_version_rec(uint8_t *out, const kvs_version_t *v, uint8_t flags)
{
    kvs_put_be64(out, v->timestamp);
    memcpy(out + 8, v->uuid, KVS_UUID_LEN);
    out[8 + KVS_UUID_LEN] = flags;
}


/* Puts or deletes "<big-endian u64><key>" in an index database. */
static int
kvs_store_index(MDB_txn *txn, MDB_dbi dbi, uint64_t at, const uint8_t *k,
    size_t klen, int del)
{
    int      rc;
    uint8_t  buf[8 + KVS_STORE_KEY_MAX];
    MDB_val  key, val;

    kvs_put_be64(buf, at);
    memcpy(buf + 8, k, klen);

    key.mv_data = buf;
    key.mv_size = 8 + klen;
    val.mv_data = NULL;
    val.mv_size = 0;

    if (del) {
        rc = mdb_del(txn, dbi, &key, NULL);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }

    return mdb_put(txn, dbi, &key, &val, 0);
}


/* the change feed's next entry: the version written, and the key */

static int
kvs_store_change(kvs_store_t *st, MDB_txn *txn, uint64_t *seq,
    const uint8_t *k, size_t klen, const kvs_record_hdr_t *new)
{
    uint8_t  sk[8], rec[KVS_VERSION_REC_LEN + KVS_STORE_KEY_MAX];
    MDB_val  key, val;

    (*seq)++;

    kvs_put_be64(sk, *seq);
    key.mv_data = sk;
    key.mv_size = sizeof(sk);

    kvs_store_version_rec(rec, &new->version, new->flags);
    memcpy(rec + KVS_VERSION_REC_LEN, k, klen);
    val.mv_data = rec;
    val.mv_size = KVS_VERSION_REC_LEN + klen;

    return mdb_put(txn, st->changes, &key, &val, MDB_APPEND);
}


/* XORs the digest of a key's version into its Merkle bucket: in, or out */

static int
kvs_store_merkle_xor(kvs_store_t *st, MDB_txn *txn, uint16_t bucket,
    const uint8_t *digest)
{
    int      rc;
    uint8_t  bkey[2], acc[KVS_MERKLE_DIGEST_LEN];
    MDB_val  key, val;

    bkey[0] = (uint8_t) (bucket >> 8);
    bkey[1] = (uint8_t) bucket;

    key.mv_data = bkey;
    key.mv_size = 2;

    rc = mdb_get(txn, st->merkle, &key, &val);
    if (rc == 0 && val.mv_size == KVS_MERKLE_DIGEST_LEN) {
        memcpy(acc, val.mv_data, KVS_MERKLE_DIGEST_LEN);

    } else if (rc == MDB_NOTFOUND) {
        memset(acc, 0, KVS_MERKLE_DIGEST_LEN);

    } else {
        return rc ? rc : MDB_CORRUPTED;
    }

    kvs_merkle_xor(acc, digest);

    val.mv_data = acc;
    val.mv_size = KVS_MERKLE_DIGEST_LEN;

    return mdb_put(txn, st->merkle, &key, &val, 0);
}


/*
 * The one place a record's index entries come and go: by_time, expiry,
 * its version's share of the Merkle bucket and its bucket_keys entry.  A
 * write removes those of the record it replaces and adds those of the new
 * one (with its change); the purge only removes.  k is the key of kv,
 * path the full path.
 */

static int
kvs_store_index_remove(kvs_store_t *st, MDB_txn *txn, const uint8_t *k,
    size_t klen, const char *path, size_t plen, const kvs_record_hdr_t *hdr)
{
    int       rc;
    uint8_t   digest[KVS_MERKLE_DIGEST_LEN], bk[2 + KVS_STORE_KEY_MAX];
    uint16_t  bucket;
    MDB_val   key;

    rc = kvs_store_index(txn, st->by_time, hdr->version.timestamp, k, klen,
                         1);
    if (rc != 0) {
        return rc;
    }

    if (hdr->expires_at) {
        rc = kvs_store_index(txn, st->expiry, hdr->expires_at, k, klen, 1);
        if (rc != 0) {
            return rc;
        }
    }

    bucket = kvs_merkle_bucket((char) k[0], path, plen);
    kvs_merkle_digest(digest, (char) k[0], path, plen, &hdr->version,
                      hdr->flags);

    rc = kvs_store_merkle_xor(st, txn, bucket, digest);
    if (rc != 0) {
        return rc;
    }

    bk[0] = (uint8_t) (bucket >> 8);
    bk[1] = (uint8_t) bucket;
    memcpy(bk + 2, k, klen);
    key.mv_data = bk;
    key.mv_size = 2 + klen;

    rc = mdb_del(txn, st->bucket_keys, &key, NULL);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


static int
kvs_store_index_add(kvs_store_t *st, MDB_txn *txn, const uint8_t *k,
    size_t klen, const char *path, size_t plen, const kvs_record_hdr_t *hdr,
    uint64_t *seq)
{
    int       rc;
    uint8_t   digest[KVS_MERKLE_DIGEST_LEN], bk[2 + KVS_STORE_KEY_MAX];
    uint8_t   vrec[KVS_VERSION_REC_LEN];
    uint16_t  bucket;
    MDB_val   key, val;

    rc = kvs_store_index(txn, st->by_time, hdr->version.timestamp, k, klen,
                         0);
    if (rc != 0) {
        return rc;
    }

    if (hdr->expires_at) {
        rc = kvs_store_index(txn, st->expiry, hdr->expires_at, k, klen, 0);
        if (rc != 0) {
            return rc;
        }
    }

    bucket = kvs_merkle_bucket((char) k[0], path, plen);
    kvs_merkle_digest(digest, (char) k[0], path, plen, &hdr->version,
                      hdr->flags);

    rc = kvs_store_merkle_xor(st, txn, bucket, digest);
    if (rc != 0) {
        return rc;
    }

    bk[0] = (uint8_t) (bucket >> 8);
    bk[1] = (uint8_t) bucket;
    memcpy(bk + 2, k, klen);
    key.mv_data = bk;
    key.mv_size = 2 + klen;

    kvs_store_version_rec(vrec, &hdr->version, hdr->flags);
    val.mv_data = vrec;
    val.mv_size = sizeof(vrec);

    rc = mdb_put(txn, st->bucket_keys, &key, &val, 0);
    if (rc != 0) {
        return rc;
    }

    return kvs_store_change(st, txn, seq, k, klen, hdr);
}


/*
 * rev keys: the key's length (2, big-endian), the key, then the version
 * (big-endian timestamp, uuid).  The versions of one key sort together,
 * oldest first, and no key's entries mix with another's: the length comes
 * first.
 */

#define KVS_REV_PREFIX_MAX  (2 + KVS_STORE_KEY_MAX)
#define KVS_REV_KEY_MAX     (KVS_REV_PREFIX_MAX + 8 + KVS_UUID_LEN)

static size_t
kvs_store_rev_prefix(uint8_t *out, const uint8_t *k, size_t klen)
{
    out[0] = (uint8_t) (klen >> 8);
    out[1] = (uint8_t) klen;
    memcpy(out + 2, k, klen);

    return 2 + klen;
}


static size_t
kvs_store_rev_key(uint8_t *out, const uint8_t *k, size_t klen,
    const kvs_version_t *v)
{
    size_t  n;

    n = kvs_store_rev_prefix(out, k, klen);
    kvs_put_be64(out + n, v->timestamp);
    memcpy(out + n + 8, v->uuid, KVS_UUID_LEN);

    return n + 8 + KVS_UUID_LEN;
}


/*
 * Keeps the record kv holds for k, of size bytes, in rev.  It is read
 * again after rev's space is reserved: a put may move the pages an
 * earlier read pointed into.
 */

static int
kvs_store_history_add(kvs_store_t *st, MDB_txn *txn, const uint8_t *k,
    size_t klen, const kvs_version_t *v, size_t size)
{
    int      rc;
    uint8_t  rk[KVS_REV_KEY_MAX];
    MDB_val  key, val, cur;

    key.mv_data = rk;
    key.mv_size = kvs_store_rev_key(rk, k, klen, v);
    val.mv_size = size;

    rc = mdb_put(txn, st->rev, &key, &val, MDB_RESERVE);
    if (rc != 0) {
        return rc;
    }

    key.mv_data = (void *) k;
    key.mv_size = klen;

    rc = mdb_get(txn, st->kv, &key, &cur);
    if (rc != 0) {
        return rc;
    }

    if (cur.mv_size != size) {
        return MDB_CORRUPTED;
    }

    memcpy(val.mv_data, cur.mv_data, size);

    return 0;
}


/* Deletes the oldest entries of k's history past the newest keep. */

static int
kvs_store_history_trim(kvs_store_t *st, MDB_txn *txn, const uint8_t *k,
    size_t klen, size_t keep)
{
    int          rc;
    size_t       plen, n, i;
    uint8_t      prefix[KVS_REV_PREFIX_MAX];
    MDB_val      key, val;
    MDB_cursor  *cur;

    plen = kvs_store_rev_prefix(prefix, k, klen);

    rc = mdb_cursor_open(txn, st->rev, &cur);
    if (rc != 0) {
        return rc;
    }

    /* history is short: count, then delete from the oldest */

    n = 0;

    for (i = 0; i < 2; i++) {
        key.mv_data = prefix;
        key.mv_size = plen;

        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);

        while (rc == 0 && key.mv_size == plen + 8 + KVS_UUID_LEN
               && memcmp(key.mv_data, prefix, plen) == 0)
        {
            if (i == 0) {
                n++;
                rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
                continue;
            }

            if (n <= keep) {
                break;
            }

            rc = mdb_cursor_del(cur, 0);
            if (rc != 0) {
                break;
            }

            n--;

            /* after a delete the cursor stands on the next entry */
            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
        }

        if (rc != 0 && rc != MDB_NOTFOUND) {
            break;
        }

        rc = 0;

        if (n <= keep) {
            break;
        }
    }

    mdb_cursor_close(cur);

    return rc;
}


void
kvs_store_remote(kvs_write_t *w, const kvs_wire_entry_t *e)
{
    w->op = KVS_WRITE_REMOTE;
    w->ns = e->ns;
    w->path = e->path;
    w->path_len = e->path_len;
    w->value = e->record;
    w->value_len = e->record_len;
}


/*
 * A record from a peer: the one function that decides between versions
 * says whether it replaces the one held.  Only a newer version is stored,
 * as it is, with its own timestamp and uuid.
 */

#define KVS_CONFLICT_PREFIX  "conflict:"


static int
kvs_store_apply_remote(kvs_store_t *st, MDB_txn *txn, kvs_write_t *w,
    const uint8_t *k, size_t klen, int have_old,
    const kvs_record_hdr_t *old, kvs_record_hdr_t *new,
    uint64_t now_ms, const uint8_t **value, int *store)
{
    int               rc;
    uint8_t           ck[sizeof(KVS_CONFLICT_PREFIX) + KVS_STORE_KEY_MAX];
    MDB_val           key, val;
    kvs_wire_entry_t  entry;

    *store = 0;

    entry.ns = w->ns;
    entry.path = w->path;
    entry.path_len = w->path_len;
    entry.record = w->value;
    entry.record_len = w->value_len;

    w->why = kvs_wire_check(&entry, now_ms, new);
    if (w->why != NULL) {
        w->rc = KVS_INVALID;
        return 0;
    }

    switch (kvs_version_decide(have_old ? &old->version : NULL,
                               &new->version))
    {
    case KVS_VERSION_NEWER:
        break;

    case KVS_VERSION_CONFLICT:
        if (w->resolved) {
            break;
        }

        /* noted for the agent's vote, in the transaction that refuses it */

        memcpy(ck, KVS_CONFLICT_PREFIX, sizeof(KVS_CONFLICT_PREFIX) - 1);
        memcpy(ck + sizeof(KVS_CONFLICT_PREFIX) - 1, k, klen);
        key.mv_data = ck;
        key.mv_size = sizeof(KVS_CONFLICT_PREFIX) - 1 + klen;
        val.mv_data = NULL;
        val.mv_size = 0;

        rc = mdb_put(txn, st->meta, &key, &val, 0);
        if (rc != 0) {
            return rc;
        }

        w->rc = KVS_CONFLICT;
        w->version = old->version;
        return 0;

    default:
        w->rc = KVS_STALE;
        w->version = old->version;
        return 0;
    }

    *value = w->value + KVS_RECORD_HDR_SIZE + new->key_len;
    new->key_len = 0;
    *store = 1;

    return 0;
}


/* A local PUT or DELETE: a new version that supersedes what it replaces. */

static int
kvs_store_apply_local(kvs_write_t *w, uint64_t now_ms, int have_old,
    const kvs_record_hdr_t *old, kvs_record_hdr_t *new)
{
    int  live;

    /* a record past its expiry is gone, swept or not */
    live = have_old && kvs_record_live(old, now_ms);

    /* conditions are checked in the transaction that writes: no other
     * write can come between the check and the write */

    if ((w->if_match
         && (!live || memcmp(old->version.uuid, w->match, KVS_UUID_LEN)))
        || (w->create_only && live)
        || (w->must_exist && !live))
    {
        w->rc = KVS_PRECONDITION;
        return 0;
    }

    if (w->op == KVS_WRITE_DELETE && !live) {
        w->rc = KVS_NOT_FOUND;
        return 0;
    }

    memset(new, 0, sizeof(kvs_record_hdr_t));

    /* a node's own overwrite always supersedes what it replaces */
    new->version.timestamp = now_ms;
    if (have_old && old->version.timestamp >= now_ms) {
        new->version.timestamp = old->version.timestamp + 1;
    }

    kvs_uuid_generate(new->version.uuid);

    new->permissions = KVS_DEFAULT_PERMISSIONS;
    new->created_at = live ? old->created_at : new->version.timestamp;

    if (have_old) {
        memcpy(new->owner, old->owner, KVS_UUID_LEN);
        memcpy(new->group, old->group, KVS_UUID_LEN);
        new->permissions = old->permissions;
    }

    if (w->op == KVS_WRITE_DELETE) {
        new->flags = KVS_FLAG_TOMBSTONE;

    } else {
        /* after the version's own timestamp, so that expiry is always
         * newer than the write, whatever the clocks did */
        new->expires_at = w->ttl_ms ? new->version.timestamp + w->ttl_ms
                                    : 0;
        new->value_len = (uint32_t) w->value_len;
        new->raw_len = (uint32_t) (w->compressed ? w->raw_len
                                                 : w->value_len);

        if (w->compressed) {
            new->flags |= KVS_FLAG_COMPRESSED;
        }
    }

    return 1;
}


static int
kvs_store_apply(kvs_store_t *st, MDB_txn *txn, kvs_write_t *w,
    uint64_t now_ms, uint64_t *seq, kvs_store_room_t *room)
{
    int                rc, have_old, live, store;
    size_t             klen, keep;
    int64_t            grow, copy;
    uint8_t           *p, k[KVS_STORE_KEY_MAX];
    MDB_val            key, val;
    const uint8_t     *value;
    kvs_record_hdr_t   old, new;

    if (w->op == KVS_WRITE_MEMBERS) {
        w->rc = KVS_OK;
        return kvs_store_members_apply(st, txn, w->members, w->nmembers,
                                       *seq);
    }

    klen = kvs_store_key(k, w->ns, w->path, w->path_len);
    key.mv_data = k;
    key.mv_size = klen;

    rc = mdb_get(txn, st->kv, &key, &val);

    if (rc == 0) {
        if (kvs_record_decode(&old, val.mv_data, val.mv_size) != 0) {
            return MDB_CORRUPTED;
        }
        have_old = 1;

    } else if (rc == MDB_NOTFOUND) {
        have_old = 0;

    } else {
        return rc;
    }

    value = w->value;

    if (w->op == KVS_WRITE_REMOTE) {
        rc = kvs_store_apply_remote(st, txn, w, k, klen, have_old, &old,
                                    &new, now_ms, &value, &store);
        if (rc != 0 || !store) {
            return rc;
        }

    } else if (!kvs_store_apply_local(w, now_ms, have_old, &old, &new)) {
        return 0;
    }

    if (w->path_len > KVS_KEY_INLINE) {
        new.key_len = (uint16_t) w->path_len;
    }

    /* the version replaced joins the key's history when it had a value */

    keep = st->history;
    copy = 0;
    live = have_old && kvs_record_live(&old, now_ms);

    if (live && st->history) {
        copy = kvs_store_in_map(st, KVS_RECORD_HDR_SIZE + old.key_len
                                    + old.value_len);
    }

    /*
     * A client PUT stops short of the reserve, a peer's record short of
     * half of it unless it deletes a value held here: the last half is
     * kept for what gives room back (DELETEs, and peers' deletes of live
     * keys), which tombstones of keys not held here, taking room and
     * freeing none, would otherwise use up.  Other writes go without history as long as
     * less than twice the reserve is left: a DELETE then frees the space
     * of every version of its key, until client PUTs have a reserve's
     * worth of room again (were the deleted version kept, each DELETE
     * would take back the room the one before it freed).
     */

    grow = kvs_store_in_map(st, KVS_RECORD_HDR_SIZE + new.key_len
                                + new.value_len)
           + kvs_store_in_map(st, KVS_STORE_ENTRIES(klen));

    if (w->op == KVS_WRITE_PUT) {
        if (grow + copy > room->left - room->reserve) {
            w->rc = KVS_FULL;
            return 0;
        }

    } else if (w->op == KVS_WRITE_REMOTE && (new.value_len || !live)
               && grow > room->left - room->reserve / 2)
    {
        w->rc = KVS_FULL;
        return 0;

    } else if (grow + copy > room->left - 2 * room->reserve) {
        keep = 0;
        copy = 0;
    }

    room->left -= grow + copy;

    if (have_old) {
        if (copy) {
            rc = kvs_store_history_add(st, txn, k, klen, &old.version,
                                       KVS_RECORD_HDR_SIZE + old.key_len
                                       + old.value_len);
            if (rc != 0) {
                return rc;
            }
        }

        rc = kvs_store_history_trim(st, txn, k, klen, keep);
        if (rc != 0) {
            return rc;
        }

        /*
         * A tombstone is far smaller than the record it replaces, and
         * LMDB merges the pages a put leaves nearly empty only when it
         * deletes: without this, deleted keys would keep their pages.
         */

        if (new.flags & KVS_FLAG_TOMBSTONE) {
            rc = mdb_del(txn, st->kv, &key, NULL);
            if (rc != 0) {
                return rc;
            }
        }
    }

    val.mv_size = KVS_RECORD_HDR_SIZE + new.key_len + new.value_len;

    rc = mdb_put(txn, st->kv, &key, &val, MDB_RESERVE);
    if (rc != 0) {
        return rc;
    }

    p = val.mv_data;
    kvs_record_encode(&new, p);
    p += KVS_RECORD_HDR_SIZE;

    if (new.key_len) {
        memcpy(p, w->path, new.key_len);
        p += new.key_len;
    }

    if (new.value_len) {
        memcpy(p, value, new.value_len);
    }

    if (have_old) {
        rc = kvs_store_index_remove(st, txn, k, klen, w->path, w->path_len,
                                    &old);
        if (rc != 0) {
            return rc;
        }
    }

    rc = kvs_store_index_add(st, txn, k, klen, w->path, w->path_len, &new,
                             seq);
    if (rc != 0) {
        return rc;
    }

    w->rc = KVS_OK;
    w->version = new.version;

    return 0;
}


/*
 * A member record: last_seen (8), joined_timestamp (8), state (1), then
 * the address bytes; the key is the node id.
 */

#define KVS_MEMBER_FIXED  17

static void
kvs_store_member_encode(const kvs_member_t *m, uint8_t *out, size_t *len)
{
    size_t  alen;

    alen = strlen(m->address);

    kvs_put_u64(out, m->last_seen);
    kvs_put_u64(out + 8, m->joined_timestamp);
    out[16] = (uint8_t) m->state;
    memcpy(out + KVS_MEMBER_FIXED, m->address, alen);

    *len = KVS_MEMBER_FIXED + alen;
}


static int
kvs_store_member_decode(kvs_member_t *m, const MDB_val *key,
    const MDB_val *val)
{
    size_t  alen;

    if (val->mv_size < KVS_MEMBER_FIXED
        || key->mv_size >= sizeof(m->node_id)
        || val->mv_size - KVS_MEMBER_FIXED >= sizeof(m->address))
    {
        return KVS_ERROR;
    }

    memcpy(m->node_id, key->mv_data, key->mv_size);
    m->node_id[key->mv_size] = '\0';

    m->last_seen = kvs_get_u64(val->mv_data);
    m->joined_timestamp = kvs_get_u64((uint8_t *) val->mv_data + 8);
    m->state = ((uint8_t *) val->mv_data)[16];

    alen = val->mv_size - KVS_MEMBER_FIXED;
    memcpy(m->address, (uint8_t *) val->mv_data + KVS_MEMBER_FIXED, alen);
    m->address[alen] = '\0';

    return KVS_OK;
}


typedef struct {
    kvs_member_t  *m;
    int            keep_joined;
} kvs_store_member_write_t;


static int
kvs_store_member_txn(kvs_store_t *st, MDB_txn *txn, void *data)
{
    kvs_store_member_write_t *mw = data;

    int            rc;
    size_t         len;
    uint8_t        buf[KVS_MEMBER_FIXED + sizeof(mw->m->address)];
    MDB_val        key, val;
    kvs_member_t  *m, old;

    m = mw->m;
    key.mv_data = m->node_id;
    key.mv_size = strlen(m->node_id);

    if (mw->keep_joined) {
        rc = mdb_get(txn, st->members, &key, &val);

        if (rc == 0 && kvs_store_member_decode(&old, &key, &val) == KVS_OK) {
            m->joined_timestamp = old.joined_timestamp;

        } else if (rc != 0 && rc != MDB_NOTFOUND) {
            return rc;
        }
    }

    kvs_store_member_encode(m, buf, &len);
    val.mv_data = buf;
    val.mv_size = len;

    return mdb_put(txn, st->members, &key, &val, 0);
}


static int
kvs_store_member_write(kvs_store_t *st, kvs_member_t *m, int keep_joined,
    char *err, size_t errlen)
{
    kvs_store_member_write_t  mw;

    mw.m = m;
    mw.keep_joined = keep_joined;

    return kvs_store_status(kvs_store_run(st, 0, kvs_store_member_txn, &mw,
                                          "writing a member", err, errlen));
}


int
kvs_store_member_put(kvs_store_t *st, const kvs_member_t *m, char *err,
    size_t errlen)
{
    kvs_member_t  copy;

    copy = *m;

    return kvs_store_member_write(st, &copy, 0, err, errlen);
}


/*
 * A gossiped record replaces the held one only when it was seen later.  A
 * member first heard of gets its push cursor here, at the change feed's
 * end as of this very transaction: every write committed after it is
 * pushed to it, and what came before is anti-entropy's to bring.
 */

static int
kvs_store_members_apply(kvs_store_t *st, MDB_txn *txn, const kvs_member_t *m,
    size_t n, uint64_t seq)
{
    int           rc;
    char          name[sizeof(KVS_PUSH_CURSOR) + sizeof(m->node_id)];
    size_t        i, len;
    uint8_t       buf[KVS_MEMBER_FIXED + sizeof(m->address)];
    MDB_val       key, val, ckey, cval;
    kvs_member_t  held;

    for (i = 0; i < n; i++) {
        key.mv_data = (void *) m[i].node_id;
        key.mv_size = strlen(m[i].node_id);

        if (key.mv_size == 0) {
            continue;
        }

        rc = mdb_get(txn, st->members, &key, &val);

        if (rc == 0) {
            if (kvs_store_member_decode(&held, &key, &val) == KVS_OK
                && held.last_seen >= m[i].last_seen)
            {
                continue;
            }

        } else if (rc != MDB_NOTFOUND) {
            return rc;

        } else {
            ckey.mv_data = name;
            ckey.mv_size = snprintf(name, sizeof(name), "%s%s",
                                    KVS_PUSH_CURSOR, m[i].node_id);
            kvs_put_u64(buf, seq);
            cval.mv_data = buf;
            cval.mv_size = 8;

            rc = mdb_put(txn, st->meta, &ckey, &cval, MDB_NOOVERWRITE);
            if (rc != 0 && rc != MDB_KEYEXIST) {
                return rc;
            }
        }

        kvs_store_member_encode(&m[i], buf, &len);
        val.mv_data = buf;
        val.mv_size = len;

        rc = mdb_put(txn, st->members, &key, &val, 0);
        if (rc != 0) {
            return rc;
        }
    }

    return 0;
}


int
kvs_store_members_merge(kvs_store_t *st, const kvs_member_t *m, size_t n,
    char *err, size_t errlen)
{
    kvs_write_t  w;

    memset(&w, 0, sizeof(kvs_write_t));
    w.op = KVS_WRITE_MEMBERS;
    w.members = m;
    w.nmembers = n;

    return kvs_store_write(st, &w, 1, 0, err, errlen);
}


/* Puts or deletes one key of one database in its own transaction. */

typedef struct {
    MDB_dbi      dbi;
    const char  *name;
    MDB_val      val;        /* mv_data NULL: delete */
} kvs_store_one_t;


static int
kvs_store_one_txn(kvs_store_t *st, MDB_txn *txn, void *data)
{
    kvs_store_one_t *one = data;

    int      rc;
    MDB_val  key;

    (void) st;

    key.mv_data = (void *) one->name;
    key.mv_size = strlen(one->name);

    if (one->val.mv_data) {
        return mdb_put(txn, one->dbi, &key, &one->val, 0);
    }

    rc = mdb_del(txn, one->dbi, &key, NULL);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


static int
kvs_store_delete(kvs_store_t *st, MDB_dbi dbi, const char *name,
    const char *what, char *err, size_t errlen)
{
    kvs_store_one_t  one;

    one.dbi = dbi;
    one.name = name;
    one.val.mv_data = NULL;
    one.val.mv_size = 0;

    return kvs_store_status(kvs_store_run(st, 0, kvs_store_one_txn, &one,
                                          what, err, errlen));
}


int
kvs_store_member_delete(kvs_store_t *st, const char *node_id, char *err,
    size_t errlen)
{
    return kvs_store_delete(st, st->members, node_id, "removing a member",
                            err, errlen);
}


int
kvs_store_member_self(kvs_store_t *st, kvs_member_t *self, uint64_t now_ms,
    char *err, size_t errlen)
{
    self->last_seen = now_ms;
    self->joined_timestamp = now_ms;
    self->state = KVS_MEMBER_ALIVE;

    return kvs_store_member_write(st, self, 1, err, errlen);
}


int
kvs_store_member_get(kvs_store_t *st, const char *node_id, size_t len,
    kvs_member_t *m)
{
    int      rc;
    MDB_val  key, val;

    key.mv_data = (void *) node_id;
    key.mv_size = len;

    rc = mdb_get(st->read, st->members, &key, &val);

    if (rc == 0 && kvs_store_member_decode(m, &key, &val) != KVS_OK) {
        rc = MDB_CORRUPTED;
    }

    if (rc == MDB_NOTFOUND) {
        return KVS_NOT_FOUND;
    }

    return rc ? kvs_store_read_failed(st, "reading a member", rc) : KVS_OK;
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

            rc = mdb_get(st->read, st->rev, &hkey, &rval);
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
    int      rc;
    MDB_val  key, val;

    key.mv_data = (void *) name;
    key.mv_size = strlen(name);

    rc = mdb_get(st->read, st->meta, &key, &val);

    if (rc == MDB_NOTFOUND) {
        return KVS_NOT_FOUND;
    }

    if (rc == 0 && val.mv_size != 8) {
        rc = MDB_CORRUPTED;
    }

    if (rc != 0) {
        return kvs_store_read_failed(st, "reading meta", rc);
    }

    *v = kvs_get_u64(val.mv_data);

    return KVS_OK;
}


int
kvs_store_meta_put(kvs_store_t *st, const char *name, uint64_t v, char *err,
    size_t errlen)
{
    uint8_t          buf[8];
    kvs_store_one_t  one;

    kvs_put_u64(buf, v);

    one.dbi = st->meta;
    one.name = name;
    one.val.mv_data = buf;
    one.val.mv_size = sizeof(buf);

    return kvs_store_status(kvs_store_run(st, 0, kvs_store_one_txn, &one,
                                          "writing meta", err, errlen));
}


int
kvs_store_meta_delete(kvs_store_t *st, const char *name, char *err,
    size_t errlen)
{
    return kvs_store_delete(st, st->meta, name, "deleting meta", err,
                            errlen);
}


typedef struct {
    uint64_t   upto;
    size_t     max;
    int        n;
} kvs_store_trim_t;


static int
kvs_store_trim_txn(kvs_store_t *st, MDB_txn *txn, void *data)
{
    kvs_store_trim_t *t = data;

    int          rc;
    MDB_val      key, val;
    MDB_cursor  *cur;

    rc = mdb_cursor_open(txn, st->changes, &cur);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);

    while (rc == 0 && (size_t) t->n < t->max && key.mv_size == 8
           && kvs_get_be64(key.mv_data) <= t->upto)
    {
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0) {
            break;
        }

        t->n++;
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    mdb_cursor_close(cur);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


int
kvs_store_changes_trim(kvs_store_t *st, uint64_t upto, size_t max,
    char *err, size_t errlen)
{
    kvs_store_trim_t  t;

    t.upto = upto;
    t.max = max;
    t.n = 0;

    if (kvs_store_run(st, 0, kvs_store_trim_txn, &t,
                      "trimming the change feed", err, errlen)
        != 0)
    {
        return -1;
    }

    return t.n;
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

    while (rc == 0) {
        if (key.mv_size == 2 && val.mv_size == KVS_MERKLE_DIGEST_LEN) {
            kvs_merkle_xor(out + ((uint8_t *) key.mv_data)[0]
                                 * KVS_MERKLE_DIGEST_LEN,
                           val.mv_data);
        }

        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    mdb_cursor_close(cur);

    if (rc != MDB_NOTFOUND) {
        return kvs_store_read_failed(st, "reading the Merkle tree", rc);
    }

    return KVS_OK;
}


int
kvs_store_merkle_range(kvs_store_t *st, unsigned range, uint8_t *out)
{
    unsigned  i;

    for (i = 0; i < 256; i++) {
        if (kvs_store_bucket_digest(st, (uint16_t) (range << 8 | i),
                                    out + i * KVS_MERKLE_DIGEST_LEN)
            != KVS_OK)
        {
            return KVS_ERROR;
        }
    }

    return KVS_OK;
}


void
kvs_store_merkle_root(const uint8_t *ranges, uint8_t *root)
{
    uint8_t  md[SHA256_DIGEST_LENGTH];

    SHA256(ranges, 256 * KVS_MERKLE_DIGEST_LEN, md);
    memcpy(root, md, KVS_MERKLE_DIGEST_LEN);
}


int
kvs_store_bucket_keys(kvs_store_t *st, uint16_t bucket, kvs_bucket_key_pt fn,
    void *data)
{
    int               rc;
    size_t            plen;
    uint8_t           prefix[2];
    MDB_val           key, val;
    MDB_cursor       *cur;
    const char       *path;
    kvs_version_t     v;

    prefix[0] = (uint8_t) (bucket >> 8);
    prefix[1] = (uint8_t) bucket;

    rc = mdb_cursor_open(st->read, st->bucket_keys, &cur);
    if (rc != 0) {
        return kvs_store_read_failed(st, "reading a bucket's keys", rc);
    }

    key.mv_data = prefix;
    key.mv_size = 2;

    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);

    while (rc == 0 && key.mv_size > 3
           && memcmp(key.mv_data, prefix, 2) == 0)
    {
        if (val.mv_size != KVS_VERSION_REC_LEN) {
            rc = MDB_CORRUPTED;
            break;
        }

        v.timestamp = kvs_get_be64(val.mv_data);
        memcpy(v.uuid, (uint8_t *) val.mv_data + 8, KVS_UUID_LEN);

        rc = kvs_store_key_path(st, st->read, (uint8_t *) key.mv_data + 2,
                                key.mv_size - 2, NULL, &path, &plen);
        if (rc != 0) {
            break;
        }

        if (fn(((char *) key.mv_data)[2], path, plen, &v,
               ((uint8_t *) val.mv_data)[8 + KVS_UUID_LEN], data)
            != KVS_OK)
        {
            break;
        }

        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    mdb_cursor_close(cur);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        return kvs_store_read_failed(st, "reading a bucket's keys", rc);
    }

    return KVS_OK;
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

    rc = mdb_get(st->read, st->kv, &key, &val);

    if (rc == MDB_NOTFOUND) {
        return KVS_NOT_FOUND;
    }

    if (rc != 0) {
        return kvs_store_read_failed(st, "reading a record", rc);
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


typedef struct {
    char         ns;
    const char  *path;
    size_t       len;
} kvs_store_key_arg_t;


static int
kvs_store_conflict_done_txn(kvs_store_t *st, MDB_txn *txn, void *data)
{
    kvs_store_key_arg_t *ka = data;

    int       rc;
    size_t    pre;
    uint8_t   ck[sizeof(KVS_CONFLICT_PREFIX) + KVS_STORE_KEY_MAX], buf[8];
    MDB_val   key, val;
    uint64_t  done;

    pre = sizeof(KVS_CONFLICT_PREFIX) - 1;
    memcpy(ck, KVS_CONFLICT_PREFIX, pre);
    key.mv_data = ck;
    key.mv_size = pre + kvs_store_key(ck + pre, ka->ns, ka->path, ka->len);

    rc = mdb_del(txn, st->meta, &key, NULL);

    if (rc != 0) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }

    key.mv_data = KVS_CONFLICTS_RESOLVED;
    key.mv_size = sizeof(KVS_CONFLICTS_RESOLVED) - 1;

    rc = mdb_get(txn, st->meta, &key, &val);
    done = (rc == 0 && val.mv_size == 8) ? kvs_get_u64(val.mv_data) : 0;

    kvs_put_u64(buf, done + 1);
    val.mv_data = buf;
    val.mv_size = 8;

    return mdb_put(txn, st->meta, &key, &val, 0);
}


int
kvs_store_conflict_done(kvs_store_t *st, char ns, const char *path,
    size_t len, char *err, size_t errlen)
{
    kvs_store_key_arg_t  ka;

    ka.ns = ns;
    ka.path = path;
    ka.len = len;

    return kvs_store_status(kvs_store_run(st, 0, kvs_store_conflict_done_txn,
                                          &ka, "noting a resolution", err,
                                          errlen));
}


/* a walk of maintenance (purge, TTL sweep): its bound, and what it did */

typedef struct {
    uint64_t   bound;
    size_t     max;
    uint64_t  *from;
    int        n;
} kvs_store_walk_t;


static int
kvs_store_purge_txn(kvs_store_t *st, MDB_txn *txn, void *data)
{
    kvs_store_walk_t *wk = data;

    int               rc;
    size_t            i, klen, max;
    uint8_t           start[8], k[KVS_STORE_KEY_MAX];
    uint64_t          ts, older_than, *from;
    MDB_val           key, val, rkey, rval;
    MDB_cursor       *cur;
    const char       *path;
    size_t            plen;
    kvs_record_hdr_t  hdr;

    older_than = wk->bound;
    max = wk->max;
    from = wk->from;

    rc = mdb_cursor_open(txn, st->by_time, &cur);
    if (rc != 0) {
        return rc;
    }

    kvs_put_be64(start, *from);
    key.mv_data = start;
    key.mv_size = 8;

    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);

    for (i = 0; rc == 0; i++) {
        ts = kvs_get_be64(key.mv_data);

        if (ts >= older_than || key.mv_size <= 9) {
            rc = MDB_NOTFOUND;
            break;
        }

        if (i == max) {
            /* the next call resumes here */
            *from = ts;
            break;
        }

        klen = key.mv_size - 8;
        memcpy(k, (uint8_t *) key.mv_data + 8, klen);

        rkey.mv_data = k;
        rkey.mv_size = klen;

        rc = mdb_get(txn, st->kv, &rkey, &rval);

        /* tombstones, and records the TTL sweep emptied, once their
         * expiry is as old as a tombstone has to be */

        if (rc != 0 || kvs_record_decode(&hdr, rval.mv_data, rval.mv_size)
                       != 0
            || !((hdr.flags & KVS_FLAG_TOMBSTONE)
                 || ((hdr.flags & KVS_FLAG_EXPIRED)
                     && hdr.expires_at < older_than)))
        {
            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
            continue;
        }

        rc = kvs_store_key_path(st, txn, k, klen, &rval, &path, &plen);
        if (rc != 0) {
            break;
        }

        /* the by_time entry the walk stands on goes first, so that the
         * cursor stays on the next one */

        rc = mdb_cursor_del(cur, 0);
        if (rc != 0) {
            break;
        }

        /* the tombstone's digest leaves its bucket, with its entries */

        rc = kvs_store_index_remove(st, txn, k, klen, path, plen, &hdr);
        if (rc != 0) {
            break;
        }

        rc = mdb_del(txn, st->kv, &rkey, NULL);
        if (rc != 0) {
            break;
        }

        /* the key's history goes with it */
        rc = kvs_store_history_trim(st, txn, k, klen, 0);
        if (rc != 0) {
            break;
        }

        wk->n++;

        /* after a delete, LMDB's cursor already stands on the next entry,
         * and MDB_NEXT takes it without skipping */
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    mdb_cursor_close(cur);

    if (rc == MDB_NOTFOUND) {
        /* the whole stretch before the bound is done: start over later */
        *from = 0;
        rc = 0;
    }

    return rc;
}


int
kvs_store_purge(kvs_store_t *st, uint64_t older_than, size_t max,
    uint64_t *from, char *err, size_t errlen)
{
    kvs_store_walk_t  wk;

    wk.bound = older_than;
    wk.max = max;
    wk.from = from;
    wk.n = 0;

    if (kvs_store_run(st, 0, kvs_store_purge_txn, &wk, "purging tombstones",
                      err, errlen)
        != 0)
    {
        return -1;
    }

    return wk.n;
}


int
kvs_store_count(kvs_store_t *st, uint64_t *n)
{
    int       rc;
    MDB_stat  stat;

    rc = mdb_stat(st->read, st->kv, &stat);
    if (rc != 0) {
        return kvs_store_read_failed(st, "counting the records", rc);
    }

    *n = stat.ms_entries;

    return KVS_OK;
}


int
kvs_store_change_seq(kvs_store_t *st, uint64_t *seq)
{
    int      rc;
    MDB_val  key, val;

    key.mv_data = "change_seq";
    key.mv_size = sizeof("change_seq") - 1;

    rc = mdb_get(st->read, st->meta, &key, &val);

    if (rc == MDB_NOTFOUND) {
        *seq = 0;
        return KVS_OK;
    }

    if (rc != 0) {
        return kvs_store_read_failed(st, "reading the change feed", rc);
    }

    *seq = val.mv_size == 8 ? kvs_get_u64(val.mv_data) : 0;

    return KVS_OK;
}


int
kvs_store_bucket_digest(kvs_store_t *st, uint16_t bucket, uint8_t *out)
{
    int      rc;
    uint8_t  bkey[2];
    MDB_val  key, val;

    bkey[0] = (uint8_t) (bucket >> 8);
    bkey[1] = (uint8_t) bucket;
    key.mv_data = bkey;
    key.mv_size = 2;

    rc = mdb_get(st->read, st->merkle, &key, &val);

    if (rc == MDB_NOTFOUND) {
        memset(out, 0, KVS_MERKLE_DIGEST_LEN);
        return KVS_OK;
    }

    if (rc == 0 && val.mv_size != KVS_MERKLE_DIGEST_LEN) {
        rc = MDB_CORRUPTED;
    }

    if (rc != 0) {
        return kvs_store_read_failed(st, "reading the Merkle tree", rc);
    }

    memcpy(out, val.mv_data, KVS_MERKLE_DIGEST_LEN);

    return KVS_OK;
}


static int
kvs_store_expire_txn(kvs_store_t *st, MDB_txn *txn, void *data)
{
    kvs_store_walk_t *wk = data;

    int               rc;
    size_t            i, klen;
    uint8_t           k[KVS_STORE_KEY_MAX], path[KVS_KEY_MAX];
    uint64_t          at;
    MDB_val           key, val, rkey, rval;
    MDB_cursor       *cur;
    kvs_record_hdr_t  hdr;

    rc = mdb_cursor_open(txn, st->expiry, &cur);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);

    for (i = 0; rc == 0 && i < wk->max; i++) {
        if (key.mv_size <= 9 || key.mv_size > 8 + KVS_STORE_KEY_MAX) {
            rc = MDB_CORRUPTED;
            break;
        }

        at = kvs_get_be64(key.mv_data);

        if (at > wk->bound) {
            break;
        }

        klen = key.mv_size - 8;
        memcpy(k, (uint8_t *) key.mv_data + 8, klen);

        rkey.mv_data = k;
        rkey.mv_size = klen;

        rc = mdb_get(txn, st->kv, &rkey, &rval);

        /* an entry left by a record since replaced is only dropped */

        if (rc == 0 && kvs_record_decode(&hdr, rval.mv_data, rval.mv_size)
                       == 0
            && hdr.expires_at == at
            && !(hdr.flags & (KVS_FLAG_TOMBSTONE|KVS_FLAG_EXPIRED)))
        {
            hdr.flags = (hdr.flags & ~KVS_FLAG_COMPRESSED) | KVS_FLAG_EXPIRED;
            hdr.value_len = 0;
            hdr.raw_len = 0;

            /* the same version, its long path kept (copied out first: the
             * put reuses the old record's space) */

            memcpy(path, (uint8_t *) rval.mv_data + KVS_RECORD_HDR_SIZE,
                   hdr.key_len);

            rval.mv_size = KVS_RECORD_HDR_SIZE + hdr.key_len;

            rc = mdb_put(txn, st->kv, &rkey, &rval, MDB_RESERVE);
            if (rc != 0) {
                break;
            }

            kvs_record_encode(&hdr, rval.mv_data);
            memcpy((uint8_t *) rval.mv_data + KVS_RECORD_HDR_SIZE, path,
                   hdr.key_len);
            wk->n++;

        } else if (rc != 0 && rc != MDB_NOTFOUND) {
            break;
        }

        rc = mdb_cursor_del(cur, 0);
        if (rc != 0) {
            break;
        }

        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    mdb_cursor_close(cur);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


int
kvs_store_expire(kvs_store_t *st, uint64_t now_ms, size_t max, char *err,
    size_t errlen)
{
    kvs_store_walk_t  wk;

    wk.bound = now_ms;
    wk.max = max;
    wk.from = NULL;
    wk.n = 0;

    if (kvs_store_run(st, 0, kvs_store_expire_txn, &wk,
                      "sweeping expired records", err, errlen)
        != 0)
    {
        return -1;
    }

    return wk.n;
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

    rc = mdb_cursor_open(st->read, st->rev, &cur);
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

    while (n < st->history && rc == 0
           && key.mv_size == plen + 8 + KVS_UUID_LEN
           && memcmp(key.mv_data, prefix, plen) == 0)
    {
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


/*
 * Listing.  Keys of kv sort by namespace and path, so the keys under a
 * prefix are one stretch of the tree: a page is one seek and a walk of the
 * page's entries (plus the tombstones and expired records among them).
 * Not recursive, a deeper level is listed once, then skipped in one seek:
 * past "a/b/" every key starts with "a/b0" or more, '0' following '/'.
 *
 * Paths longer than KVS_KEY_INLINE bytes are keyed by their first
 * KVS_KEY_INLINE bytes and a digest, so those sharing their first
 * KVS_KEY_INLINE bytes form a block in digest order.  An entry longer than
 * KVS_KEY_INLINE bytes lies wholly in one such block (and so do the keys
 * of such a level): the block is read whole, and its entries are sorted
 * before they are listed.  Blocks are rare and small: their keys share
 * 448 bytes.
 */

typedef enum {
    KVS_SEEK_PREFIX = 0,       /* the first key that may start with it */
    KVS_SEEK_PAST              /* past every key under this level */
} kvs_store_seek_e;


typedef struct {
    const char  *path;         /* into the read transaction */
    size_t       len;
    int          is_prefix;
} kvs_store_entry_t;


static int
kvs_store_list_seek(MDB_cursor *cur, MDB_val *key, MDB_val *val, char ns,
    const char *path, size_t len, kvs_store_seek_e how)
{
    uint8_t  k[KVS_STORE_KEY_MAX];

    /* at most the first KVS_KEY_INLINE bytes, never a digest: whatever
     * sorts at or after path sorts at or after them */

    k[0] = (uint8_t) ns;

    if (len > KVS_KEY_INLINE) {
        len = KVS_KEY_INLINE;
    }

    memcpy(k + 1, path, len);

    if (how == KVS_SEEK_PAST) {
        /* path ends with '/': seek "<path without it>0" */
        k[len] = '/' + 1;
    }

    key->mv_data = k;
    key->mv_size = 1 + len;

    return mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
}


static int
kvs_store_entry_cmp(const void *one, const void *two)
{
    int                       c;
    const kvs_store_entry_t  *a = one, *b = two;

    c = memcmp(a->path, b->path, a->len < b->len ? a->len : b->len);

    if (c != 0) {
        return c;
    }

    return (a->len > b->len) - (a->len < b->len);
}


/*
 * The entry a record stands for in a listing: its path, or in a listing
 * that is not recursive the level under the prefix it lies in.  Returns 0
 * when it lists nothing (another prefix, not live).
 */

static int
kvs_store_list_entry(const MDB_val *key, const MDB_val *val,
    const char *prefix, size_t plen, int recursive, uint64_t now_ms,
    kvs_store_entry_t *e, int *bad)
{
    const char        *slash;
    kvs_record_hdr_t   hdr;

    if (kvs_record_decode(&hdr, val->mv_data, val->mv_size) != 0) {
        *bad = 1;
        return 0;
    }

    if (kvs_store_key_path(NULL, NULL, key->mv_data, key->mv_size, val,
                           &e->path, &e->len)
        != 0)
    {
        *bad = 1;
        return 0;
    }

    if (e->len < plen || memcmp(e->path, prefix, plen) != 0
        || !kvs_record_live(&hdr, now_ms))
    {
        return 0;
    }

    e->is_prefix = 0;

    if (!recursive) {
        slash = memchr(e->path + plen, '/', e->len - plen);

        if (slash) {
            e->len = slash + 1 - e->path;
            e->is_prefix = 1;
        }
    }

    return 1;
}


int
kvs_store_list(kvs_store_t *st, char ns, const char *prefix, size_t plen,
    const char *after, size_t alen, int recursive, size_t limit,
    uint64_t now_ms, kvs_list_pt fn, void *data, int *more)
{
    int                 rc, bad, stop;
    size_t              n, i, cmp, nlist, cap;
    uint8_t             block[1 + KVS_KEY_INLINE];
    MDB_val             key, val;
    MDB_cursor         *cur;
    kvs_store_entry_t   e, last, *list, *es, *grown;

    *more = 0;

    if (alen > KVS_KEY_MAX) {
        return kvs_store_read_failed(st, "listing keys", EINVAL);
    }

    rc = mdb_cursor_open(st->read, st->kv, &cur);
    if (rc != 0) {
        return kvs_store_read_failed(st, "listing keys", rc);
    }

    /* the prefix itself as "after" lists from the start: no entry under
     * it sorts before it, and as a level it would skip them all */

    if (after && alen <= plen && memcmp(after, prefix, alen) == 0) {
        after = NULL;
    }

    /* every entry listed sorts after the last one: after, at first */

    last.path = after;
    last.len = after ? alen : 0;

    if (after == NULL) {
        rc = kvs_store_list_seek(cur, &key, &val, ns, prefix, plen,
                                 KVS_SEEK_PREFIX);

    } else {
        rc = kvs_store_list_seek(cur, &key, &val, ns, after, alen,
                                 !recursive && alen && after[alen - 1] == '/'
                                 && alen <= KVS_KEY_INLINE
                                 ? KVS_SEEK_PAST : KVS_SEEK_PREFIX);
    }

    /* the stretch ends where the stored key stops matching the prefix;
     * past KVS_KEY_INLINE bytes only the full path can tell */
    cmp = plen < KVS_KEY_INLINE ? plen : KVS_KEY_INLINE;

    n = 0;
    bad = 0;
    stop = 0;
    es = NULL;
    cap = 0;

    while (rc == 0 && !stop) {
        if (key.mv_size < 1 + cmp || *(char *) key.mv_data != ns
            || memcmp((char *) key.mv_data + 1, prefix, cmp) != 0)
        {
            break;
        }

        if (!kvs_store_list_entry(&key, &val, prefix, plen, recursive,
                                  now_ms, &e, &bad))
        {
            if (bad) {
                rc = MDB_CORRUPTED;
                break;
            }

            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
            continue;
        }

        if (e.len <= KVS_KEY_INLINE) {
            list = &e;
            nlist = 1;

        } else {

            /* a block of long paths: read whole, then sorted */

            memcpy(block, key.mv_data, sizeof(block));
            nlist = 0;

            while (rc == 0 && key.mv_size == KVS_STORE_KEY_MAX
                   && memcmp(key.mv_data, block, sizeof(block)) == 0)
            {
                if (kvs_store_list_entry(&key, &val, prefix, plen,
                                         recursive, now_ms, &e, &bad))
                {
                    if (nlist == cap) {
                        cap = cap ? 2 * cap : 64;
                        grown = realloc(es, cap * sizeof(kvs_store_entry_t));
                        if (grown == NULL) {
                            rc = ENOMEM;
                            break;
                        }
                        es = grown;
                    }

                    es[nlist++] = e;

                } else if (bad) {
                    rc = MDB_CORRUPTED;
                    break;
                }

                rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
            }

            if (rc != 0 && rc != MDB_NOTFOUND) {
                break;
            }

            qsort(es, nlist, sizeof(kvs_store_entry_t), kvs_store_entry_cmp);
            list = es;
        }

        for (i = 0; i < nlist; i++) {

            /* listed already (a level's keys, one after another), or not
             * after the page's "after" */

            if (last.path && kvs_store_entry_cmp(&list[i], &last) <= 0) {
                continue;
            }

            if (n == limit) {
                *more = 1;
                stop = 1;
                break;
            }

            if (fn(list[i].path, list[i].len, list[i].is_prefix, data)
                != KVS_OK)
            {
                stop = 1;
                break;
            }

            n++;
            last = list[i];
        }

        if (stop || list != &e) {
            /* a block leaves the cursor past itself */
            continue;
        }

        /* every key under a level lists as the level: listed or not, none
         * of them is needed */

        if (e.is_prefix) {
            rc = kvs_store_list_seek(cur, &key, &val, ns, e.path, e.len,
                                     KVS_SEEK_PAST);
            continue;
        }

        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    free(es);
    mdb_cursor_close(cur);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        return kvs_store_read_failed(st, "listing keys", rc);
    }

    return KVS_OK;
}
