/*
 * Unit tests for src/kvs/kvs_store.c, printed as TAP.
 *
 * Each case opens its own store in a directory under one mkdtemp() base,
 * drives it through the public API only, and, where the API cannot show
 * it, closes the store and looks at the LMDB databases directly: the
 * indexes every write must keep in the same transaction (by_time, expiry,
 * merkle, bucket_keys, changes, meta) are what replication and the TTL
 * sweep will trust, so they are checked entry by entry.  A store is never
 * open twice in this process at once, as LMDB requires.  The program is
 * meant to be built with -fsanitize=address,undefined and exits non-zero
 * when any check fails.
 *
 *   gcc -std=gnu11 -Wall -Wextra -Werror -g -fsanitize=address,undefined \
 *       -Isrc/kvs t/unit/test_store.c src/kvs/kvs_record.c \
 *       src/kvs/kvs_merkle.c src/kvs/kvs_store.c src/kvs/kvs_json.c \
 *       src/kvs/kvs_config.c -llmdb -lyaml -lcrypto \
 *       -o /tmp/test_store && /tmp/test_store
 */

#define _GNU_SOURCE

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <lmdb.h>
#include <openssl/sha.h>

#include "kvs_codec.h"
#include "kvs_merkle.h"
#include "kvs_record.h"
#include "kvs_store.h"

#include "kvs_test.h"


#define KVS_TEST_MAP        (64 * 1024 * 1024)
#define KVS_TEST_FULL_MAP   (1024 * 1024)
#define KVS_TEST_VALUE_MAX  4096
#define KVS_TEST_BATCH      100
#define KVS_TEST_FULL_BATCH 10
#define KVS_TEST_FULL_MAXB  1000
#define KVS_TEST_FULL_VLEN  1000
#define KVS_TEST_FULL_KEYS  2000
#define KVS_TEST_FULL_PEER  (200 * 1024)
#define KVS_TEST_FULL_DELETES  100
#define KVS_TEST_WEDGE_BATCH   16
#define KVS_TEST_GROW_VLEN  (50 * 1024)
#define KVS_TEST_INLINE     448     /* kvs_store.c's KVS_KEY_INLINE */
#define KVS_TEST_HIST_MAX   8
#define KVS_TEST_HIST_VLEN  128
#define KVS_TEST_BIG        20000



typedef struct {
    int               rc;
    kvs_record_hdr_t  hdr;
    size_t            len;
    char              value[KVS_TEST_VALUE_MAX + 1];
} kvs_test_rec_t;


typedef struct {
    MDB_env          *env;
    MDB_txn          *txn;
} kvs_test_raw_t;


typedef struct {
    kvs_member_t      m[8];
    int               n;
    int               stop_after;
} kvs_test_members_t;


static char  kvs_test_base[] = "/tmp/kvs_store_test.XXXXXX";


static void
kvs_test_u64(uint64_t got, uint64_t want, const char *desc)
{
    kvs_test_ok(got == want, desc);

    if (got != want) {
        printf("#   got:  %llu\n#   want: %llu\n",
               (unsigned long long) got, (unsigned long long) want);
    }
}


static void
kvs_test_cleanup(void)
{
    if (kvs_test_rm_tree(kvs_test_base) != 0) {
        printf("# cannot remove %s: %s\n", kvs_test_base, strerror(errno));
    }
}


static void
kvs_test_bail(const char *what, const char *err)
{
    printf("Bail out! %s: %s\n", what, err);
    kvs_test_cleanup();
    exit(2);
}


static void
kvs_test_dir(char *dir, const char *name)
{
    snprintf(dir, PATH_MAX, "%s/%s", kvs_test_base, name);
}


/* opens a store the case needs in order to go on at all */

static kvs_store_t *
kvs_test_open(const char *dir, size_t map_size)
{
    char          err[KVS_STORE_ERRLEN];
    kvs_store_t  *st;

    st = NULL;

    if (kvs_store_open(&st, dir, map_size, err, sizeof(err)) != KVS_OK) {
        kvs_test_bail("kvs_store_open", err);
    }

    return st;
}


static void
kvs_test_set(kvs_write_t *w, kvs_write_op_e op, char ns, const char *path,
    const char *value, uint64_t ttl_ms)
{
    memset(w, 0, sizeof(kvs_write_t));

    w->op = op;
    w->ns = ns;
    w->path = path;
    w->path_len = strlen(path);
    w->value = (const uint8_t *) value;
    w->value_len = value ? strlen(value) : 0;
    w->ttl_ms = ttl_ms;
    w->rc = -100;
}


/* one write in its own batch: the write's rc, or the batch's failure */

static int
kvs_test_write1(kvs_store_t *st, kvs_write_op_e op, const char *path,
    const char *value, uint64_t ttl_ms, uint64_t now,
    kvs_version_t *v)
{
    int          rc;
    char         err[KVS_STORE_ERRLEN];
    kvs_write_t  w;

    kvs_test_set(&w, op, KVS_NS_DATA, path, value, ttl_ms);

    rc = kvs_store_write(st, &w, 1, now, err, sizeof(err));
    if (rc != KVS_OK) {
        printf("# writing \"%s\": %s\n", path, err);
        return rc;
    }

    if (v) {
        *v = w.version;
    }

    return w.rc;
}


static int
kvs_test_put(kvs_store_t *st, const char *path, const char *value,
    uint64_t now, kvs_version_t *v)
{
    return kvs_test_write1(st, KVS_WRITE_PUT, path, value, 0, now, v);
}


static int
kvs_test_del(kvs_store_t *st, const char *path, uint64_t now,
    kvs_version_t *v)
{
    return kvs_test_write1(st, KVS_WRITE_DELETE, path, NULL, 0, now, v);
}


/* a whole read: begin, get, copy the value out, end */

static int
kvs_test_get_n(kvs_store_t *st, char ns, const char *path, size_t len,
    kvs_test_rec_t *r)
{
    char            err[KVS_STORE_ERRLEN];
    const uint8_t  *value;

    memset(r, 0, sizeof(kvs_test_rec_t));

    if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
        printf("# read_begin: %s\n", err);
        r->rc = KVS_ERROR;
        return r->rc;
    }

    value = NULL;
    r->rc = kvs_store_get(st, ns, path, len, &r->hdr, &value);

    if (r->rc == KVS_OK) {
        r->len = r->hdr.value_len;

        if (r->len > KVS_TEST_VALUE_MAX) {
            r->len = KVS_TEST_VALUE_MAX;
        }

        if (r->len) {
            memcpy(r->value, value, r->len);
        }
    }

    kvs_store_read_end(st);

    return r->rc;
}


static int
kvs_test_get_ns(kvs_store_t *st, char ns, const char *path,
    kvs_test_rec_t *r)
{
    return kvs_test_get_n(st, ns, path, strlen(path), r);
}


static int
kvs_test_get(kvs_store_t *st, const char *path, kvs_test_rec_t *r)
{
    return kvs_test_get_ns(st, KVS_NS_DATA, path, r);
}


static uint64_t
kvs_test_seq(kvs_store_t *st)
{
    char      err[KVS_STORE_ERRLEN];
    uint64_t  seq;

    if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
        printf("# read_begin: %s\n", err);
        return UINT64_MAX;
    }

    if (kvs_store_change_seq(st, &seq) != KVS_OK) {
        seq = UINT64_MAX;
    }

    kvs_store_read_end(st);

    return seq;
}


static int
kvs_test_bucket(kvs_store_t *st, uint16_t bucket, uint8_t *out)
{
    int   rc;
    char  err[KVS_STORE_ERRLEN];

    memset(out, 0xff, KVS_MERKLE_DIGEST_LEN);

    if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
        printf("# read_begin: %s\n", err);
        return KVS_ERROR;
    }

    rc = kvs_store_bucket_digest(st, bucket, out);

    kvs_store_read_end(st);

    return rc;
}


static uint16_t
kvs_test_bucket_of(const char *path)
{
    return kvs_merkle_bucket(KVS_NS_DATA, path, strlen(path));
}


static void
kvs_test_digest(uint8_t *out, const char *path, const kvs_version_t *v,
    uint8_t flags)
{
    kvs_merkle_digest(out, KVS_NS_DATA, path, strlen(path), v, flags);
}


/*
 * The digest a bucket must have: the XOR of the digests of the versions
 * now stored for those of the keys that fall into it.
 */

static void
kvs_test_expect_bucket(kvs_store_t *st, uint16_t bucket, const char **keys,
    size_t nkeys, uint8_t *out)
{
    size_t          i;
    uint8_t         d[KVS_MERKLE_DIGEST_LEN];
    kvs_test_rec_t  r;

    memset(out, 0, KVS_MERKLE_DIGEST_LEN);

    for (i = 0; i < nkeys; i++) {
        if (kvs_test_bucket_of(keys[i]) != bucket) {
            continue;
        }

        if (kvs_test_get(st, keys[i], &r) != KVS_OK) {
            continue;
        }

        kvs_test_digest(d, keys[i], &r.hdr.version, r.hdr.flags);
        kvs_merkle_xor(out, d);
    }
}


/* the store's digest of bucket equals the one recomputed from headers */

static int
kvs_test_bucket_consistent(kvs_store_t *st, uint16_t bucket,
    const char **keys, size_t nkeys)
{
    uint8_t  got[KVS_MERKLE_DIGEST_LEN], want[KVS_MERKLE_DIGEST_LEN];

    if (kvs_test_bucket(st, bucket, got) != KVS_OK) {
        return 0;
    }

    kvs_test_expect_bucket(st, bucket, keys, nkeys, want);

    return memcmp(got, want, KVS_MERKLE_DIGEST_LEN) == 0;
}


/* raw LMDB access to a closed store's environment */

static int
kvs_test_raw_open(kvs_test_raw_t *raw, const char *dir, int write)
{
    int  rc;

    raw->env = NULL;
    raw->txn = NULL;

    rc = mdb_env_create(&raw->env);
    if (rc != 0) {
        raw->env = NULL;
        goto failed;
    }

    rc = mdb_env_set_maxdbs(raw->env, 16);
    if (rc != 0) {
        goto failed;
    }

    rc = mdb_env_open(raw->env, dir, write ? 0 : MDB_RDONLY, 0600);
    if (rc != 0) {
        goto failed;
    }

    rc = mdb_txn_begin(raw->env, NULL, write ? 0 : MDB_RDONLY, &raw->txn);
    if (rc != 0) {
        goto failed;
    }

    return 0;

failed:

    printf("# raw open of %s: %s\n", dir, mdb_strerror(rc));

    if (raw->env) {
        mdb_env_close(raw->env);
        raw->env = NULL;
    }

    return -1;
}


static int
kvs_test_raw_close(kvs_test_raw_t *raw, int commit)
{
    int  rc;

    rc = 0;

    if (raw->txn) {
        if (commit) {
            rc = mdb_txn_commit(raw->txn);

        } else {
            mdb_txn_abort(raw->txn);
        }
    }

    if (raw->env) {
        mdb_env_close(raw->env);
    }

    raw->txn = NULL;
    raw->env = NULL;

    return rc;
}


static int
kvs_test_raw_get(kvs_test_raw_t *raw, const char *db, const void *k,
    size_t klen, MDB_val *val)
{
    int      rc;
    MDB_dbi  dbi;
    MDB_val  key;

    rc = mdb_dbi_open(raw->txn, db, 0, &dbi);
    if (rc != 0) {
        return rc;
    }

    key.mv_data = (void *) k;
    key.mv_size = klen;

    return mdb_get(raw->txn, dbi, &key, val);
}


static int
kvs_test_raw_put(kvs_test_raw_t *raw, const char *db, const void *k,
    size_t klen, const void *v, size_t vlen)
{
    int      rc;
    MDB_dbi  dbi;
    MDB_val  key, val;

    rc = mdb_dbi_open(raw->txn, db, 0, &dbi);
    if (rc != 0) {
        return rc;
    }

    key.mv_data = (void *) k;
    key.mv_size = klen;
    val.mv_data = (void *) v;
    val.mv_size = vlen;

    return mdb_put(raw->txn, dbi, &key, &val, 0);
}


static int
kvs_test_raw_del(kvs_test_raw_t *raw, const char *db, const void *k,
    size_t klen)
{
    int      rc;
    MDB_dbi  dbi;
    MDB_val  key;

    rc = mdb_dbi_open(raw->txn, db, 0, &dbi);
    if (rc != 0) {
        return rc;
    }

    key.mv_data = (void *) k;
    key.mv_size = klen;

    return mdb_del(raw->txn, dbi, &key, NULL);
}


static size_t
kvs_test_raw_count(kvs_test_raw_t *raw, const char *db)
{
    MDB_dbi   dbi;
    MDB_stat  stat;

    if (mdb_dbi_open(raw->txn, db, 0, &dbi) != 0
        || mdb_stat(raw->txn, dbi, &stat) != 0)
    {
        return (size_t) -1;
    }

    return stat.ms_entries;
}


/* the entries of db whose keys are longer than len: bucket_keys' keys,
 * past the buckets' own entries (2 bytes) */

static size_t
kvs_test_raw_count_longer(kvs_test_raw_t *raw, const char *db, size_t len)
{
    int          rc;
    size_t       n;
    MDB_dbi      dbi;
    MDB_val      key, val;
    MDB_cursor  *c;

    if (mdb_dbi_open(raw->txn, db, 0, &dbi) != 0
        || mdb_cursor_open(raw->txn, dbi, &c) != 0)
    {
        return (size_t) -1;
    }

    n = 0;

    for (rc = mdb_cursor_get(c, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(c, &key, &val, MDB_NEXT))
    {
        n += key.mv_size > len;
    }

    mdb_cursor_close(c);

    return rc == MDB_NOTFOUND ? n : (size_t) -1;
}


/* kv's earlier versions (schema version 4: "<ns><path>\0<version>", of
 * paths of up to 448 bytes), counted by key, and as meta counts them */

static size_t
kvs_test_raw_revs(kvs_test_raw_t *raw)
{
    int          rc;
    size_t       n;
    MDB_dbi      dbi;
    MDB_val      key, val;
    MDB_cursor  *c;

    if (mdb_dbi_open(raw->txn, "kv", 0, &dbi) != 0
        || mdb_cursor_open(raw->txn, dbi, &c) != 0)
    {
        return (size_t) -1;
    }

    n = 0;

    for (rc = mdb_cursor_get(c, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(c, &key, &val, MDB_NEXT))
    {
        /* 25 bytes of suffix (a zero, the version) after a record's
         * key: of a long key, 1 + 448 + 32 bytes; of an inline one,
         * shorter, and no other zero after its namespace */
        n += key.mv_size == 1 + KVS_TEST_INLINE + SHA256_DIGEST_LENGTH + 25
             || (key.mv_size < 1 + KVS_TEST_INLINE + SHA256_DIGEST_LENGTH
                 && key.mv_size > 25
                 && ((uint8_t *) key.mv_data)[key.mv_size - 25] == 0);
    }

    mdb_cursor_close(c);

    if (rc != MDB_NOTFOUND) {
        return (size_t) -1;
    }

    if (mdb_dbi_open(raw->txn, "meta", 0, &dbi) != 0) {
        return (size_t) -1;
    }

    key.mv_data = "revisions";
    key.mv_size = 9;

    rc = mdb_get(raw->txn, dbi, &key, &val);

    if (rc == MDB_NOTFOUND && n == 0) {
        return 0;
    }

    if (rc != 0 || val.mv_size != 8 || kvs_get_u64(val.mv_data) != n) {
        printf("#   kv holds %zu earlier versions, meta counts another "
               "number\n", n);
        return (size_t) -1;
    }

    return n;
}


/* "<big-endian u64><ns><path>", the keys of by_time and expiry (paths
 * of up to 448 bytes) */

static size_t
kvs_test_ikey(uint8_t *buf, uint64_t at, const char *path)
{
    size_t  len;

    len = strlen(path);

    kvs_put_be64(buf, at);
    buf[8] = KVS_NS_DATA;
    memcpy(buf + 9, path, len);

    return 9 + len;
}


/* "<big-endian bucket><ns><path>", the keys of bucket_keys (paths of up
 * to 448 bytes) */

static size_t
kvs_test_bkey(uint8_t *buf, const char *path)
{
    size_t    len;
    uint16_t  b;

    len = strlen(path);
    b = kvs_test_bucket_of(path);

    buf[0] = (uint8_t) (b >> 8);
    buf[1] = (uint8_t) b;
    buf[2] = KVS_NS_DATA;
    memcpy(buf + 3, path, len);

    return 3 + len;
}


/* a version record of bucket_keys / changes: be64 ts, uuid, flags */

static int
kvs_test_vrec_is(const uint8_t *p, const kvs_version_t *v, uint8_t flags)
{
    return kvs_get_be64(p) == v->timestamp
           && memcmp(p + 8, v->uuid, KVS_UUID_LEN) == 0
           && p[8 + KVS_UUID_LEN] == flags;
}


static int
kvs_test_has(kvs_test_raw_t *raw, const char *db, const uint8_t *k,
    size_t klen)
{
    MDB_val  val;

    return kvs_test_raw_get(raw, db, k, klen, &val) == 0;
}


static int
kvs_test_same_version(const kvs_version_t *a, const kvs_version_t *b)
{
    return kvs_version_cmp(a, b) == 0;
}


static void
kvs_test_open_errors(void)
{
    int           rc;
    char          dir[PATH_MAX], want[PATH_MAX + 128];
    char          err[KVS_STORE_ERRLEN];
    FILE         *fp;
    struct stat   sb;
    kvs_store_t  *st;

    kvs_test_dir(dir, "created");

    st = NULL;
    rc = kvs_store_open(&st, dir, KVS_TEST_MAP, err, sizeof(err));
    CHECK(rc == KVS_OK && st != NULL, "open: a missing data_dir is created");
    CHECK(stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode),
          "open: the data_dir exists afterwards");

    if (rc == KVS_OK) {
        kvs_test_str(kvs_store_path(st), dir, "store path is the data_dir");
        kvs_store_close(st);
    }

    st = NULL;
    rc = kvs_store_open(&st, dir, KVS_TEST_MAP, err, sizeof(err));
    CHECK(rc == KVS_OK, "open: an existing empty store reopens");
    kvs_store_close(st);

    kvs_test_dir(dir, "no/such/parent");
    rc = kvs_store_open(&st, dir, KVS_TEST_MAP, err, sizeof(err));
    snprintf(want, sizeof(want),
             "cannot create data_dir \"%s\": No such file or directory", dir);
    CHECK(rc == KVS_ERROR, "open: a data_dir under a missing parent fails");
    kvs_test_str(err, want, "open: the sentence names the data_dir");

    kvs_test_dir(dir, "a-file");
    fp = fopen(dir, "w");
    if (fp == NULL || fclose(fp) != 0) {
        kvs_test_bail("cannot create a file", strerror(errno));
    }

    rc = kvs_store_open(&st, dir, KVS_TEST_MAP, err, sizeof(err));
    snprintf(want, sizeof(want),
             "opening the store in \"%s\" failed: Not a directory", dir);
    CHECK(rc == KVS_ERROR, "open: a data_dir that is a file fails");
    kvs_test_str(err, want, "open: the sentence says LMDB's reason");
}


/* writes len bytes of c, or the text s when len is 0, to dir/name */

static void
kvs_test_file(const char *dir, const char *name, const char *s, int c,
    size_t len)
{
    char   path[PATH_MAX];
    FILE  *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);

    if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
        kvs_test_bail("cannot create a directory", strerror(errno));
    }

    fp = fopen(path, "w");
    if (fp == NULL) {
        kvs_test_bail("cannot create a file", strerror(errno));
    }

    if (len == 0) {
        fputs(s, fp);

    } else {
        while (len--) {
            fputc(c, fp);
        }
    }

    if (fclose(fp) != 0) {
        kvs_test_bail("cannot write a file", strerror(errno));
    }
}


/* kvs_store_check() says what kvs_store_open() would, without opening */

static void
kvs_test_check(void)
{
    int           rc;
    char          dir[PATH_MAX], sub[PATH_MAX + 1], want[3 * PATH_MAX];
    char          err[KVS_STORE_ERRLEN];
    kvs_store_t  *st;

    kvs_test_dir(dir, "check-missing");
    CHECK(kvs_store_check(dir, KVS_TEST_MAP, err, sizeof(err)) == KVS_OK,
          "check: a missing data_dir is fine, the start creates it");

    snprintf(sub, sizeof(sub), "%s/", dir);
    CHECK(kvs_store_check(sub, KVS_TEST_MAP, err, sizeof(err)) == KVS_OK,
          "check: so is one written with a trailing slash");

    kvs_test_dir(dir, "check/no/parent");
    rc = kvs_store_check(dir, KVS_TEST_MAP, err, sizeof(err));
    snprintf(want, sizeof(want), "cannot create data_dir \"%s\": No such "
             "file or directory", dir);
    CHECK(rc == KVS_ERROR, "check: a data_dir under a missing parent fails");
    kvs_test_str(err, want, "check: as the start would");

    kvs_test_file(kvs_test_base, "check-parent", "a file", 0, 0);
    kvs_test_dir(dir, "check-parent/data");
    rc = kvs_store_check(dir, KVS_TEST_MAP, err, sizeof(err));
    snprintf(want, sizeof(want), "cannot use data_dir \"%s\": Not a "
             "directory", dir);
    CHECK(rc == KVS_ERROR, "check: a data_dir under a file fails");
    kvs_test_str(err, want, "check: saying why");

    kvs_test_dir(dir, "check-file");
    kvs_test_file(kvs_test_base, "check-file", "not a directory", 0, 0);
    rc = kvs_store_check(dir, KVS_TEST_MAP, err, sizeof(err));
    snprintf(want, sizeof(want), "data_dir \"%s\" is not a directory", dir);
    CHECK(rc == KVS_ERROR, "check: a data_dir that is a file fails");
    kvs_test_str(err, want, "check: saying so");

    kvs_test_dir(dir, "check-empty");
    mkdir(dir, 0700);
    CHECK(kvs_store_check(dir, KVS_TEST_MAP, err, sizeof(err)) == KVS_OK,
          "check: a directory without data.mdb is fine");

    kvs_test_file(dir, "data.mdb", "", 0, 0);
    CHECK(kvs_store_check(dir, KVS_TEST_MAP, err, sizeof(err)) == KVS_OK,
          "check: an empty data.mdb is fine: LMDB starts it afresh");
    st = NULL;
    rc = kvs_store_open(&st, dir, KVS_TEST_MAP, err, sizeof(err));
    CHECK(rc == KVS_OK, "check: and LMDB does open it");
    kvs_store_close(st);

    CHECK(kvs_store_check(dir, KVS_TEST_MAP, err, sizeof(err)) == KVS_OK,
          "check: a store LMDB wrote passes");

    st = kvs_test_open(dir, KVS_TEST_MAP);
    CHECK(kvs_store_check(dir, KVS_TEST_MAP, err, sizeof(err)) == KVS_OK,
          "check: also while the store is open");
    kvs_store_close(st);

    kvs_test_dir(dir, "check-text");
    kvs_test_file(dir, "data.mdb", "hello", 0, 0);
    rc = kvs_store_check(dir, KVS_TEST_MAP, err, sizeof(err));
    snprintf(want, sizeof(want), "\"%s/data.mdb\" is not an LMDB file (it "
             "does not start with an LMDB meta page): data_dir must hold a "
             "KVS store, or nothing", dir);
    CHECK(rc == KVS_ERROR, "check: a short data.mdb that is not LMDB fails");
    kvs_test_str(err, want, "check: saying so, with the path");

    kvs_test_dir(dir, "check-zeros");
    kvs_test_file(dir, "data.mdb", NULL, 0, 8192);
    CHECK(kvs_store_check(dir, KVS_TEST_MAP, err, sizeof(err)) == KVS_ERROR,
          "check: two pages of zeros are no LMDB file");
    st = NULL;
    CHECK(kvs_store_open(&st, dir, KVS_TEST_MAP, err, sizeof(err))
          == KVS_ERROR, "check: and LMDB refuses them too");
}


/*
 * kvs_store_check() (how 0) or kvs_store_open() (how 1) of dir in a child
 * process, whose fault is a failed case and not the end of the tests: 0
 * when the call succeeded, 1 when it failed, its sentence in err; -1 when
 * the child died, saying of what.
 */

static int
kvs_test_apart(const char *dir, int how, char *err, size_t errlen)
{
    int           rc, status, fds[2];
    pid_t         pid;
    ssize_t       n;
    kvs_store_t  *st;

    if (pipe(fds) == -1) {
        kvs_test_bail("pipe", strerror(errno));
    }

    pid = fork();

    if (pid == -1) {
        kvs_test_bail("fork", strerror(errno));
    }

    if (pid == 0) {
        close(fds[0]);
        err[0] = '\0';

        if (how == 0) {
            rc = kvs_store_check(dir, KVS_TEST_MAP, err, errlen);

        } else {
            rc = kvs_store_open(&st, dir, KVS_TEST_MAP, err, errlen);

            if (rc == KVS_OK) {
                kvs_store_close(st);
            }
        }

        n = write(fds[1], err, strlen(err));
        _exit(n < 0 || rc != KVS_OK);
    }

    close(fds[1]);
    n = read(fds[0], err, errlen - 1);
    err[n > 0 ? n : 0] = '\0';
    close(fds[0]);

    if (waitpid(pid, &status, 0) != pid) {
        kvs_test_bail("waitpid", strerror(errno));
    }

    if (WIFSIGNALED(status)) {
        printf("# the child died of signal %d\n", WTERMSIG(status));
        return -1;
    }

    return WEXITSTATUS(status) == 0 ? 0 : 1;
}


/*
 * A data.mdb cut short (truncated, copied in part): its meta pages name
 * pages past its end, which LMDB maps and reads as a fault, not an error.
 * nginx -t and the start killed nginx with SIGBUS and logged nothing until
 * 2026-12-04; now both refuse it with a sentence, before a transaction
 * reads it.
 */

static void
kvs_test_cut_short(void)
{
    int           i;
    char          dir[PATH_MAX], key[32], value[1024], want[2 * PATH_MAX];
    char          err[KVS_STORE_ERRLEN];
    struct stat   sb;
    kvs_store_t  *st;
    long long     whole, half;

    kvs_test_dir(dir, "cut-short");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    memset(value, 'x', sizeof(value) - 1);
    value[0] = '"';
    value[sizeof(value) - 2] = '"';
    value[sizeof(value) - 1] = '\0';

    for (i = 0; i < 500; i++) {
        snprintf(key, sizeof(key), "cut/%04d", i);

        if (kvs_test_put(st, key, value, 1000 + i, NULL) != KVS_OK) {
            kvs_test_bail("put", "a write failed");
        }
    }

    kvs_store_close(st);

    snprintf(want, sizeof(want), "%s/data.mdb", dir);

    if (stat(want, &sb) == -1 || truncate(want, sb.st_size / 2) == -1) {
        kvs_test_bail("truncate", strerror(errno));
    }

    whole = (long long) sb.st_size;
    half = whole / 2;

    snprintf(want, sizeof(want), "\"%s/data.mdb\" is cut short: %lld "
             "bytes, its last page needs %lld: it was truncated or copied "
             "in part, and LMDB would fault reading past its end; restore "
             "data_dir from a backup (kvs-restore)", dir, half, whole);

    CHECK(kvs_test_apart(dir, 0, err, sizeof(err)) == 1,
          "cut short: nginx -t's check refuses a data.mdb cut to half, "
          "without a fault");
    kvs_test_str(err, want, "cut short: saying the file, its size and the "
                 "size its last page needs");

    CHECK(kvs_test_apart(dir, 1, err, sizeof(err)) == 1,
          "cut short: and so does the start's open");
    kvs_test_str(err, want, "cut short: with the same sentence");
}


/*
 * A data.mdb whole but shorter than its last page: a commit took pages
 * from the end of the file and freed them again (a large value written and
 * deleted in one group commit, while the transaction reused free pages),
 * so LMDB never wrote them and its meta counts them.  Until 2026-12-04's
 * seventh session nginx -t and the start refused such a store, which the
 * node itself had written, as "cut short"; now the pages past the end are
 * looked up on the freelist (by a child: reading a store truly cut short
 * may fault), and the store opens and reads as it was.
 */

static void
kvs_test_free_tail(void)
{
    int           i, ok;
    char          dir[PATH_MAX], path[PATH_MAX + 16], err[KVS_STORE_ERRLEN];
    char          small[3000], *big;
    MDB_env      *env;
    MDB_txn      *txn;
    MDB_dbi       dbi;
    MDB_val       key, val;
    MDB_envinfo   info;
    struct stat   sb;
    kvs_store_t  *st;
    kvs_test_rec_t  r;

    kvs_test_dir(dir, "free-tail");
    st = kvs_test_open(dir, KVS_TEST_MAP);
    ok = kvs_test_put(st, "tail/a", "{\"a\":1}", 1000, NULL) == KVS_OK;
    kvs_store_close(st);

    /* LMDB alone, in meta: free pages first, then in one transaction a
     * reuse of them, a value of 98 pages from the end, and its delete */

    big = calloc(1, 400000);
    ok &= big != NULL && mdb_env_create(&env) == 0
          && mdb_env_set_maxdbs(env, 16) == 0
          && mdb_env_set_mapsize(env, KVS_TEST_MAP) == 0
          && mdb_env_open(env, dir, 0, 0600) == 0;

    for (i = 0; ok && i < 6; i++) {
        memset(small, 'a' + i, sizeof(small));
        key.mv_data = "tail-test";
        key.mv_size = 9;
        val.mv_data = small;
        val.mv_size = sizeof(small);

        ok &= mdb_txn_begin(env, NULL, 0, &txn) == 0
              && mdb_dbi_open(txn, "meta", 0, &dbi) == 0
              && mdb_put(txn, dbi, &key, &val, 0) == 0;

        if (ok && i == 5) {
            key.mv_data = "tail-big";
            key.mv_size = 8;
            val.mv_data = big;
            val.mv_size = 400000;
            ok &= mdb_put(txn, dbi, &key, &val, 0) == 0
                  && mdb_del(txn, dbi, &key, NULL) == 0;
            key.mv_data = "tail-test";
            key.mv_size = 9;
            ok &= mdb_del(txn, dbi, &key, NULL) == 0;
        }

        ok &= mdb_txn_commit(txn) == 0;
    }

    ok &= mdb_env_info(env, &info) == 0;
    mdb_env_close(env);
    free(big);

    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    ok &= stat(path, &sb) == 0;

    CHECK(ok && (uint64_t) sb.st_size < (info.me_last_pgno + 1) * 4096,
          "free tail: LMDB left the pages its meta counts last unwritten "
          "past the end of data.mdb");

    CHECK(kvs_test_apart(dir, 0, err, sizeof(err)) == 0,
          "free tail: nginx -t's check takes the store");
    kvs_test_str(err, "", "free tail: saying nothing");
    CHECK(kvs_test_apart(dir, 1, err, sizeof(err)) == 0,
          "free tail: and so does the start's open");

    st = kvs_test_open(dir, KVS_TEST_MAP);
    CHECK(kvs_test_get(st, "tail/a", &r) == KVS_OK
          && strcmp(r.value, "{\"a\":1}") == 0,
          "free tail: the store reads as it was");
    CHECK(kvs_test_put(st, "tail/b", "2", 2000, NULL) == KVS_OK,
          "free tail: and takes writes");
    kvs_store_close(st);
}


static void
kvs_test_put_get(void)
{
    int              rc;
    char             dir[PATH_MAX];
    uint64_t         seq;
    kvs_store_t     *st;
    kvs_version_t    v1, v2, v3, v4, vd, v5;
    kvs_test_rec_t   r;
    const char      *key, *val;

    kvs_test_dir(dir, "basic");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    key = "users/john/profile";
    val = "{\"name\":\"john\",\"age\":42}";

    CHECK(kvs_test_get(st, key, &r) == KVS_NOT_FOUND,
          "get of a key never written: KVS_NOT_FOUND");
    kvs_test_u64(kvs_test_seq(st), 0, "a new store's change_seq is 0");

    rc = kvs_test_put(st, key, val, 1000, &v1);
    CHECK(rc == KVS_OK, "put: rc KVS_OK");
    kvs_test_u64(v1.timestamp, 1000, "put: first version's timestamp is now");

    rc = kvs_test_get(st, key, &r);
    CHECK(rc == KVS_OK, "get after put: KVS_OK");
    CHECK(r.len == strlen(val) && memcmp(r.value, val, r.len) == 0,
          "get after put: the same bytes");
    kvs_test_u64(r.hdr.value_len, strlen(val), "get: value_len");
    kvs_test_u64(r.hdr.raw_len, strlen(val), "get: raw_len");
    kvs_test_u64(r.hdr.version.timestamp, 1000, "get: timestamp == now");
    kvs_test_u64(r.hdr.created_at, 1000, "get: created_at == now");
    CHECK(kvs_test_same_version(&r.hdr.version, &v1),
          "get: the version the write returned");
    CHECK(r.hdr.format == KVS_RECORD_FORMAT && r.hdr.flags == 0
          && r.hdr.expires_at == 0
          && r.hdr.permissions == KVS_DEFAULT_PERMISSIONS,
          "get: format 1, no flags, no expiry, default permissions");
    CHECK((v1.uuid[6] & 0xf0) == 0x40, "put: the version's uuid is a v4");

    CHECK(kvs_test_get_ns(st, KVS_NS_USER, key, &r) == KVS_NOT_FOUND,
          "the same path in another namespace is not found");
    CHECK(kvs_test_get(st, "users/john", &r) == KVS_NOT_FOUND,
          "a prefix of a key is not found");

    rc = kvs_test_put(st, key, "{\"v\":2}", 1000, &v2);
    kvs_test_get(st, key, &r);
    CHECK(rc == KVS_OK, "overwrite at the same now: KVS_OK");
    kvs_test_u64(v2.timestamp, 1001, "overwrite at the same now: old + 1");
    kvs_test_u64(r.hdr.created_at, 1000, "overwrite keeps created_at");
    CHECK(memcmp(v1.uuid, v2.uuid, KVS_UUID_LEN) != 0
          && kvs_version_cmp(&v2, &v1) > 0,
          "overwrite: a new uuid, a newer version");
    CHECK(r.len == 7 && memcmp(r.value, "{\"v\":2}", 7) == 0
          && kvs_test_same_version(&r.hdr.version, &v2),
          "overwrite: get returns the new value and version");

    rc = kvs_test_put(st, key, "{\"v\":3}", 500, &v3);
    kvs_test_u64(v3.timestamp, 1002,
                 "overwrite with the clock gone back: still old + 1");
    kvs_test_get(st, key, &r);
    kvs_test_u64(r.hdr.created_at, 1000,
                 "overwrite with the clock gone back keeps created_at");

    rc = kvs_test_put(st, key, "{\"v\":4}", 5000, &v4);
    kvs_test_u64(v4.timestamp, 5000, "overwrite later: timestamp is now");

    kvs_test_u64(kvs_test_seq(st), 4, "change_seq counts the 4 writes");

    /* DELETE writes a tombstone, which kvs_store_get returns as KVS_OK */
    rc = kvs_test_del(st, key, 5000, &vd);
    CHECK(rc == KVS_OK, "delete of a live key: rc KVS_OK");
    kvs_test_u64(vd.timestamp, 5001, "delete at the same now: old + 1");

    rc = kvs_test_get(st, key, &r);
    CHECK(rc == KVS_OK && (r.hdr.flags & KVS_FLAG_TOMBSTONE),
          "get of a deleted key: KVS_OK with the tombstone flag");
    CHECK(r.hdr.value_len == 0 && r.hdr.raw_len == 0 && r.hdr.expires_at == 0,
          "tombstone: no value");
    CHECK(kvs_test_same_version(&r.hdr.version, &vd),
          "tombstone: carries the delete's version");
    kvs_test_u64(r.hdr.created_at, 1000,
                 "tombstone: keeps the deleted record's created_at");

    seq = kvs_test_seq(st);
    kvs_test_u64(seq, 5, "delete advanced change_seq");

    rc = kvs_test_del(st, key, 6000, NULL);
    CHECK(rc == KVS_NOT_FOUND, "delete of a tombstone: KVS_NOT_FOUND");
    kvs_test_u64(kvs_test_seq(st), seq,
                 "delete of a tombstone: change_seq unchanged");
    kvs_test_get(st, key, &r);
    CHECK(r.rc == KVS_OK && kvs_test_same_version(&r.hdr.version, &vd),
          "delete of a tombstone: the tombstone is unchanged");

    rc = kvs_test_del(st, "users/nobody", 6000, NULL);
    CHECK(rc == KVS_NOT_FOUND, "delete of a missing key: KVS_NOT_FOUND");
    kvs_test_u64(kvs_test_seq(st), seq,
                 "delete of a missing key: change_seq unchanged");
    CHECK(kvs_test_get(st, "users/nobody", &r) == KVS_NOT_FOUND,
          "delete of a missing key leaves no tombstone");

    rc = kvs_test_put(st, key, "{\"v\":5}", 7000, &v5);
    kvs_test_get(st, key, &r);
    CHECK(rc == KVS_OK && r.rc == KVS_OK && r.hdr.flags == 0,
          "put after delete: a live record again");
    kvs_test_u64(r.hdr.created_at, 7000, "put after delete resets created_at");
    kvs_test_u64(v5.timestamp, 7000, "put after delete: timestamp is now");

    rc = kvs_test_del(st, key, 8000, NULL);
    CHECK(rc == KVS_OK, "delete of the record written again: KVS_OK");
    rc = kvs_test_put(st, key, "{\"v\":6}", 100, &v5);
    kvs_test_get(st, key, &r);
    CHECK(rc == KVS_OK && r.rc == KVS_OK && r.hdr.flags == 0,
          "put after delete with the clock gone back: KVS_OK");
    kvs_test_u64(v5.timestamp, 8001,
                 "put after delete with the clock gone back: tomb + 1");
    kvs_test_u64(r.hdr.created_at, 8001,
                 "put after delete with the clock gone back: created_at is "
                 "the new timestamp");

    kvs_store_close(st);

    st = kvs_test_open(dir, KVS_TEST_MAP);
    kvs_test_get(st, key, &r);
    CHECK(r.rc == KVS_OK && r.len == 7 && memcmp(r.value, "{\"v\":6}", 7) == 0
          && kvs_test_same_version(&r.hdr.version, &v5),
          "reopen: the record reads back");
    kvs_test_u64(kvs_test_seq(st), 8, "reopen: change_seq persisted");
    kvs_store_close(st);
}


static void
kvs_test_snapshot(void)
{
    int              rc;
    char             dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    const uint8_t   *value;
    kvs_store_t     *st;
    kvs_record_hdr_t hdr;
    kvs_test_rec_t   r;

    kvs_test_dir(dir, "snapshot");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    kvs_test_put(st, "s", "1", 1000, NULL);

    rc = kvs_store_read_begin(st, err, sizeof(err));
    CHECK(rc == KVS_OK, "read_begin: KVS_OK");

    kvs_test_put(st, "s", "22", 1000, NULL);

    rc = kvs_store_get(st, KVS_NS_DATA, "s", 1, &hdr, &value);
    CHECK(rc == KVS_OK && hdr.value_len == 1 && value[0] == '1',
          "a read begun before a write still sees the old value");
    kvs_store_read_end(st);

    kvs_test_get(st, "s", &r);
    CHECK(r.rc == KVS_OK && r.len == 2 && memcmp(r.value, "22", 2) == 0,
          "the next read sees the write");

    kvs_store_close(st);
}


static void
kvs_test_indexes(void)
{
    size_t           klen;
    char             dir[PATH_MAX];
    uint8_t          k[16 + KVS_KEY_MAX], d[KVS_MERKLE_DIGEST_LEN];
    uint8_t          dbucket[KVS_MERKLE_DIGEST_LEN];
    uint8_t          got[KVS_MERKLE_DIGEST_LEN];
    MDB_val          val;
    kvs_store_t     *st;
    kvs_version_t    va, vb1, vb2, va2, vad;
    kvs_test_raw_t   raw;

    kvs_test_dir(dir, "indexes");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    /* expiry is the version's timestamp plus the TTL */
    kvs_test_write1(st, KVS_WRITE_PUT, "idx/a", "1", 8000, 1000, &va);
    kvs_test_write1(st, KVS_WRITE_PUT, "idx/b", "2", 6000, 1000, &vb1);
    kvs_test_write1(st, KVS_WRITE_PUT, "idx/b", "3", 6999, 1000, &vb2);
    kvs_store_close(st);

    if (kvs_test_raw_open(&raw, dir, 0) != 0) {
        kvs_test_bail("raw open", dir);
    }

    /* by_time indexes dead records only: the purge's */
    kvs_test_u64(kvs_test_raw_count(&raw, "by_time"), 0,
                 "by_time: no entry of a live record");

    klen = kvs_test_ikey(k, 9000, "idx/a");
    CHECK(kvs_test_has(&raw, "expiry", k, klen),
          "expiry holds (expires_at, key) of a put with a TTL");
    klen = kvs_test_ikey(k, 8000, "idx/b");
    CHECK(kvs_test_has(&raw, "expiry", k, klen),
          "expiry holds the overwrite's expires_at");
    klen = kvs_test_ikey(k, 7000, "idx/b");
    CHECK(!kvs_test_has(&raw, "expiry", k, klen),
          "expiry lost the overwritten expires_at");
    kvs_test_u64(kvs_test_raw_count(&raw, "expiry"), 2,
                 "expiry: one entry per key with a TTL");

    klen = kvs_test_bkey(k, "idx/b");
    CHECK(kvs_test_raw_get(&raw, "bucket_keys", k, klen, &val) == 0
          && val.mv_size == 0,
          "bucket_keys: (bucket, key) -> nothing: the key is in the bucket");
    kvs_test_u64(kvs_test_raw_count_longer(&raw, "bucket_keys", 2), 2,
                 "bucket_keys: one entry per key");
    kvs_test_u64(kvs_test_raw_count(&raw, "bucket_keys"), 2,
                 "bucket_keys: and none of a bucket alone: a read makes its "
                 "digest");

    kvs_test_u64(kvs_test_raw_count(&raw, "changes"), 3,
                 "changes: one entry per applied write");
    kvs_put_be64(k, 1);
    CHECK(kvs_test_raw_get(&raw, "changes", k, 8, &val) == 0
          && val.mv_size == 8 + KVS_UUID_LEN + 1 + 6
          && kvs_test_vrec_is(val.mv_data, &va, 0)
          && memcmp((uint8_t *) val.mv_data + 8 + KVS_UUID_LEN + 1,
                    "didx/a", 6) == 0,
          "changes: seq 1 -> version, flags and key of the first write");
    kvs_put_be64(k, 3);
    CHECK(kvs_test_raw_get(&raw, "changes", k, 8, &val) == 0
          && kvs_test_vrec_is(val.mv_data, &vb2, 0),
          "changes: seq 3 -> the third write");

    CHECK(kvs_test_raw_get(&raw, "meta", "change_seq", 10, &val) == 0
          && val.mv_size == 8 && kvs_get_u64(val.mv_data) == 3,
          "meta: change_seq is 3 (little-endian u64)");
    CHECK(kvs_test_raw_get(&raw, "meta", "schema_version", 14, &val) == 0
          && val.mv_size == 4 && kvs_get_u32(val.mv_data) == 4,
          "meta: schema_version is 4 (little-endian u32)");

    k[0] = (uint8_t) (kvs_test_bucket_of("idx/a") >> 8);
    k[1] = (uint8_t) kvs_test_bucket_of("idx/a");
    kvs_test_digest(d, "idx/a", &va, 0);
    if (kvs_test_bucket_of("idx/a") == kvs_test_bucket_of("idx/b")) {
        uint8_t  db[KVS_MERKLE_DIGEST_LEN];

        kvs_test_digest(db, "idx/b", &vb2, 0);
        kvs_merkle_xor(d, db);
    }
    memcpy(dbucket, d, KVS_MERKLE_DIGEST_LEN);
    if ((kvs_test_bucket_of("idx/a") >> 8) == (kvs_test_bucket_of("idx/b") >> 8)
        && kvs_test_bucket_of("idx/a") != kvs_test_bucket_of("idx/b"))
    {
        uint8_t  db[KVS_MERKLE_DIGEST_LEN];

        kvs_test_digest(db, "idx/b", &vb2, 0);
        kvs_merkle_xor(d, db);
    }
    CHECK(kvs_test_raw_get(&raw, "merkle", k, 1, &val) == 0
          && val.mv_size == KVS_MERKLE_DIGEST_LEN
          && memcmp(val.mv_data, d, KVS_MERKLE_DIGEST_LEN) == 0,
          "merkle: the bucket's range (its first byte) -> the XOR of its "
          "buckets' digests");
    kvs_test_u64(kvs_test_raw_count(&raw, "merkle"),
                 1 + ((kvs_test_bucket_of("idx/a") >> 8)
                      != (kvs_test_bucket_of("idx/b") >> 8)),
                 "merkle: one entry per range written");

    kvs_test_raw_close(&raw, 0);

    /* overwrite without a TTL, then delete: the indexes follow */

    st = kvs_test_open(dir, KVS_TEST_MAP);
    CHECK(kvs_test_bucket(st, kvs_test_bucket_of("idx/a"), got) == KVS_OK
          && memcmp(got, dbucket, KVS_MERKLE_DIGEST_LEN) == 0,
          "bucket digest: the XOR of the digests of its keys' versions, "
          "made from kv");
    kvs_test_write1(st, KVS_WRITE_PUT, "idx/a", "4", 0, 2000, &va2);
    kvs_test_write1(st, KVS_WRITE_DELETE, "idx/b", NULL, 0, 2000, &vad);
    kvs_test_u64(vad.timestamp, 2000, "delete later than the record: now");
    kvs_store_close(st);

    if (kvs_test_raw_open(&raw, dir, 0) != 0) {
        kvs_test_bail("raw open", dir);
    }

    kvs_test_u64(kvs_test_raw_count(&raw, "expiry"), 0,
                 "expiry: an overwrite without TTL and a delete remove "
                 "the entries");
    klen = kvs_test_ikey(k, 2000, "idx/b");
    CHECK(kvs_test_has(&raw, "by_time", k, klen),
          "by_time: a tombstone is indexed at its timestamp");
    kvs_test_u64(kvs_test_raw_count(&raw, "by_time"), 1,
                 "by_time: the tombstone's entry alone");

    klen = kvs_test_bkey(k, "idx/b");
    CHECK(kvs_test_raw_get(&raw, "bucket_keys", k, klen, &val) == 0
          && val.mv_size == 0,
          "bucket_keys: a deleted key stays in its bucket, a tombstone");

    kvs_put_be64(k, 5);
    CHECK(kvs_test_raw_get(&raw, "changes", k, 8, &val) == 0
          && kvs_test_vrec_is(val.mv_data, &vad, KVS_FLAG_TOMBSTONE)
          && memcmp((uint8_t *) val.mv_data + 8 + KVS_UUID_LEN + 1,
                    "didx/b", 6) == 0,
          "changes: the delete is in the feed with the tombstone flag");
    kvs_test_u64(kvs_test_raw_count(&raw, "changes"), 5,
                 "changes: 5 entries after 5 writes");

    kvs_test_raw_close(&raw, 0);
}


static void
kvs_test_batch(void)
{
    int              rc, ok;
    char             dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    char             keys[KVS_TEST_BATCH][32], vals[KVS_TEST_BATCH][32];
    size_t           i, klen;
    uint8_t          k[16 + KVS_KEY_MAX];
    uint64_t         seq;
    MDB_val          val;
    kvs_write_t      w[KVS_TEST_BATCH];
    kvs_store_t     *st;
    kvs_test_rec_t   r;
    kvs_test_raw_t   raw;

    kvs_test_dir(dir, "batch");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    kvs_test_put(st, "before", "0", 4000, NULL);
    seq = kvs_test_seq(st);

    for (i = 0; i < KVS_TEST_BATCH; i++) {
        snprintf(keys[i], sizeof(keys[i]), "batch/%02zu",
                 i == KVS_TEST_BATCH - 1 ? (size_t) 7 : i);
        snprintf(vals[i], sizeof(vals[i]), "{\"i\":%zu}", i);
        kvs_test_set(&w[i], KVS_WRITE_PUT, KVS_NS_DATA, keys[i], vals[i], 0);
    }

    rc = kvs_store_write(st, w, KVS_TEST_BATCH, 5000, err, sizeof(err));
    CHECK(rc == KVS_OK, "batch of 100 writes: KVS_OK");

    ok = 1;
    for (i = 0; i < KVS_TEST_BATCH; i++) {
        if (w[i].rc != KVS_OK) {
            ok = 0;
        }
    }
    CHECK(ok, "batch: every write's rc is KVS_OK");

    kvs_test_u64(kvs_test_seq(st), seq + KVS_TEST_BATCH,
                 "batch: change_seq advanced by 100");

    ok = 1;
    for (i = 0; i < KVS_TEST_BATCH - 1; i++) {
        if (i == 7) {
            continue;
        }

        if (kvs_test_get(st, keys[i], &r) != KVS_OK
            || r.len != strlen(vals[i])
            || memcmp(r.value, vals[i], r.len) != 0
            || !kvs_test_same_version(&r.hdr.version, &w[i].version)
            || r.hdr.version.timestamp != 5000)
        {
            ok = 0;
        }
    }
    CHECK(ok, "batch: the 98 other keys read back with their versions");

    kvs_test_u64(w[KVS_TEST_BATCH - 1].version.timestamp, 5001,
                 "batch: a key's second write in one batch gets first + 1");
    CHECK(kvs_version_cmp(&w[KVS_TEST_BATCH - 1].version, &w[7].version) > 0,
          "batch: the second write's version is newer");

    kvs_test_get(st, "batch/07", &r);
    CHECK(r.rc == KVS_OK && r.len == strlen(vals[KVS_TEST_BATCH - 1])
          && memcmp(r.value, vals[KVS_TEST_BATCH - 1], r.len) == 0
          && kvs_test_same_version(&r.hdr.version,
                                   &w[KVS_TEST_BATCH - 1].version),
          "batch: the second write of a key supersedes the first");
    kvs_test_u64(r.hdr.created_at, 5000,
                 "batch: the second write keeps the first's created_at");

    /* puts and deletes mixed: only applied writes reach the feed */

    seq = kvs_test_seq(st);

    kvs_test_set(&w[0], KVS_WRITE_PUT, KVS_NS_DATA, "mix/a", "1", 0);
    kvs_test_set(&w[1], KVS_WRITE_DELETE, KVS_NS_DATA, "mix/none", NULL, 0);
    kvs_test_set(&w[2], KVS_WRITE_DELETE, KVS_NS_DATA, "mix/a", NULL, 0);
    kvs_test_set(&w[3], KVS_WRITE_DELETE, KVS_NS_DATA, "mix/a", NULL, 0);
    kvs_test_set(&w[4], KVS_WRITE_PUT, KVS_NS_USER, "mix/a", "2", 0);

    rc = kvs_store_write(st, w, 5, 6000, err, sizeof(err));
    CHECK(rc == KVS_OK, "mixed batch: KVS_OK");
    CHECK(w[0].rc == KVS_OK && w[1].rc == KVS_NOT_FOUND
          && w[2].rc == KVS_OK && w[3].rc == KVS_NOT_FOUND
          && w[4].rc == KVS_OK,
          "mixed batch: put ok, delete missing not found, delete ok, "
          "delete again not found, other namespace ok");
    kvs_test_u64(kvs_test_seq(st), seq + 3,
                 "mixed batch: change_seq advanced by the 3 applied writes");
    kvs_test_u64(w[2].version.timestamp, 6001,
                 "mixed batch: the delete supersedes the put of the batch");

    kvs_test_get(st, "mix/a", &r);
    CHECK(r.rc == KVS_OK && (r.hdr.flags & KVS_FLAG_TOMBSTONE)
          && kvs_test_same_version(&r.hdr.version, &w[2].version),
          "mixed batch: the key ends as the batch's tombstone");
    kvs_test_get_ns(st, KVS_NS_USER, "mix/a", &r);
    CHECK(r.rc == KVS_OK && r.hdr.flags == 0 && r.len == 1
          && r.value[0] == '2',
          "mixed batch: the other namespace's record is separate");

    seq = kvs_test_seq(st);
    rc = kvs_store_write(st, w, 0, 7000, err, sizeof(err));
    CHECK(rc == KVS_OK, "an empty batch: KVS_OK");
    kvs_test_u64(kvs_test_seq(st), seq,
                 "an empty batch: change_seq unchanged");

    kvs_store_close(st);

    if (kvs_test_raw_open(&raw, dir, 0) != 0) {
        kvs_test_bail("raw open", dir);
    }

    klen = kvs_test_ikey(k, 5001, "batch/07");
    CHECK(!kvs_test_has(&raw, "by_time", k, klen),
          "batch: by_time holds no entry of a live key written twice");
    klen = kvs_test_ikey(k, 5000, "batch/07");
    CHECK(!kvs_test_has(&raw, "by_time", k, klen),
          "batch: nor of its first write");
    kvs_test_u64(kvs_test_raw_count(&raw, "changes"), seq,
                 "batch: the change feed holds one entry per applied write");
    kvs_put_be64(k, seq);
    CHECK(kvs_test_raw_get(&raw, "changes", k, 8, &val) == 0
          && val.mv_size == 8 + KVS_UUID_LEN + 1 + 6
          && ((uint8_t *) val.mv_data)[8 + KVS_UUID_LEN + 1] == KVS_NS_USER,
          "batch: the last change is the last applied write");

    kvs_test_raw_close(&raw, 0);
}


/*
 * Paths longer than LMDB's 511-byte keys allow: kv is keyed by the first
 * 448 bytes and the SHA-256 of the whole path, and the record keeps the
 * path between its header and its value.
 */

static void
kvs_test_long_keys(void)
{
    int              rc;
    char             dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    char             p1[KVS_KEY_MAX + 1], p2[KVS_KEY_MAX + 1];
    char             p448[KVS_TEST_INLINE + 1], p449[KVS_TEST_INLINE + 2];
    uint8_t          k[1 + KVS_TEST_INLINE + SHA256_DIGEST_LENGTH];
    uint64_t         seq;
    MDB_val          val;
    kvs_write_t      w[3];
    kvs_store_t     *st;
    kvs_version_t    v;
    kvs_test_rec_t   r;
    kvs_test_raw_t   raw;
    const char      *keys[5];

    memset(p1, 'p', KVS_KEY_MAX);
    memcpy(p1, "long/", 5);
    p1[KVS_KEY_MAX - 1] = '1';
    p1[KVS_KEY_MAX] = '\0';
    memcpy(p2, p1, sizeof(p2));
    p2[KVS_KEY_MAX - 1] = '2';

    memset(p448, 'q', KVS_TEST_INLINE);
    p448[KVS_TEST_INLINE] = '\0';
    memset(p449, 'q', KVS_TEST_INLINE + 1);
    p449[KVS_TEST_INLINE + 1] = '\0';

    keys[0] = p1;
    keys[1] = p2;
    keys[2] = p448;
    keys[3] = p449;
    keys[4] = "short";

    kvs_test_dir(dir, "long");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    kvs_test_set(&w[0], KVS_WRITE_PUT, KVS_NS_DATA, p1, "\"one\"", 0);
    kvs_test_set(&w[1], KVS_WRITE_PUT, KVS_NS_DATA, "short", "\"s\"", 0);
    kvs_test_set(&w[2], KVS_WRITE_PUT, KVS_NS_DATA, p2, "\"two\"", 0);

    rc = kvs_store_write(st, w, 3, 1000, err, sizeof(err));
    CHECK(rc == KVS_OK && w[0].rc == KVS_OK && w[1].rc == KVS_OK
          && w[2].rc == KVS_OK,
          "long keys: a batch with two 1024-byte keys and a short one");
    if (rc != KVS_OK) {
        printf("#   %s\n", err);
    }

    kvs_test_get(st, p1, &r);
    CHECK(r.rc == KVS_OK && r.len == 5 && memcmp(r.value, "\"one\"", 5) == 0
          && r.hdr.key_len == KVS_KEY_MAX && r.hdr.value_len == 5,
          "long keys: a 1024-byte key reads back its value");
    kvs_test_get(st, p2, &r);
    CHECK(r.rc == KVS_OK && r.len == 5 && memcmp(r.value, "\"two\"", 5) == 0,
          "long keys: a key differing only in its last byte is another "
          "record");
    kvs_test_get(st, "short", &r);
    CHECK(r.rc == KVS_OK && r.len == 3 && r.hdr.key_len == 0,
          "long keys: the short key of the batch is stored inline");

    rc = kvs_test_get_n(st, KVS_NS_DATA, p1, KVS_KEY_MAX - 1, &r);
    CHECK(rc == KVS_NOT_FOUND,
          "long keys: a 1023-byte prefix of a stored key is not found");

    rc = kvs_test_put(st, p448, "448", 1000, NULL);
    kvs_test_get(st, p448, &r);
    CHECK(rc == KVS_OK && r.rc == KVS_OK && r.hdr.key_len == 0
          && r.len == 3 && memcmp(r.value, "448", 3) == 0,
          "long keys: a 448-byte key is its own LMDB key");

    rc = kvs_test_put(st, p449, "449", 1000, NULL);
    kvs_test_get(st, p449, &r);
    CHECK(rc == KVS_OK && r.rc == KVS_OK
          && r.hdr.key_len == KVS_TEST_INLINE + 1
          && r.len == 3 && memcmp(r.value, "449", 3) == 0,
          "long keys: a 449-byte key is keyed by prefix and digest");
    kvs_test_get(st, p448, &r);
    CHECK(r.rc == KVS_OK && memcmp(r.value, "448", 3) == 0,
          "long keys: the 448-byte key is untouched by its 449-byte "
          "extension");

    rc = kvs_test_put(st, p1, "\"uno\"", 1000, &v);
    kvs_test_get(st, p1, &r);
    kvs_test_u64(v.timestamp, 1001, "long keys: overwrite at the same now: "
                 "old + 1");
    CHECK(rc == KVS_OK && r.rc == KVS_OK && r.hdr.created_at == 1000
          && r.len == 5 && memcmp(r.value, "\"uno\"", 5) == 0,
          "long keys: overwrite keeps created_at, returns the new value");

    CHECK(kvs_test_bucket_consistent(st, kvs_test_bucket_of(p1), keys, 5)
          && kvs_test_bucket_consistent(st, kvs_test_bucket_of(p2), keys, 5)
          && kvs_test_bucket_consistent(st, kvs_test_bucket_of(p449),
                                        keys, 5),
          "long keys: buckets hold the digests of the full paths");

    rc = kvs_test_del(st, p1, 1000, &v);
    kvs_test_get(st, p1, &r);
    CHECK(rc == KVS_OK && r.rc == KVS_OK
          && (r.hdr.flags & KVS_FLAG_TOMBSTONE) && r.hdr.value_len == 0
          && r.hdr.key_len == KVS_KEY_MAX
          && kvs_test_same_version(&r.hdr.version, &v),
          "long keys: delete leaves a tombstone that keeps the path");

    seq = kvs_test_seq(st);
    CHECK(kvs_test_del(st, p1, 1000, NULL) == KVS_NOT_FOUND
          && kvs_test_seq(st) == seq,
          "long keys: delete of the tombstone: KVS_NOT_FOUND, no change");
    kvs_test_get(st, p2, &r);
    CHECK(r.rc == KVS_OK && r.hdr.flags == 0,
          "long keys: the sibling key is still live");
    CHECK(kvs_test_bucket_consistent(st, kvs_test_bucket_of(p1), keys, 5),
          "long keys: the bucket follows the tombstone");

    kvs_store_close(st);

    if (kvs_test_raw_open(&raw, dir, 0) != 0) {
        kvs_test_bail("raw open", dir);
    }

    k[0] = KVS_NS_DATA;
    memcpy(k + 1, p2, KVS_TEST_INLINE);
    SHA256((const uint8_t *) p2, KVS_KEY_MAX, k + 1 + KVS_TEST_INLINE);

    CHECK(kvs_test_raw_get(&raw, "kv", k, sizeof(k), &val) == 0
          && val.mv_size == KVS_RECORD_HDR_SIZE + KVS_KEY_MAX + 5
          && memcmp((uint8_t *) val.mv_data + KVS_RECORD_HDR_SIZE, p2,
                    KVS_KEY_MAX) == 0
          && memcmp((uint8_t *) val.mv_data + KVS_RECORD_HDR_SIZE
                    + KVS_KEY_MAX, "\"two\"", 5) == 0,
          "long keys: kv key is ns + 448 bytes + SHA-256, the record holds "
          "header, path, value");
    kvs_test_u64(kvs_test_raw_count(&raw, "kv"), 5 + 2,
                 "long keys: kv holds the 5 keys, and the 2 earlier "
                 "versions kept beside them");
    CHECK(kvs_test_raw_get(&raw, "meta", "revisions", 9, &val) == 0
          && val.mv_size == 8 && kvs_get_u64(val.mv_data) == 2,
          "long keys: meta counts the 2 earlier versions");
    kvs_test_u64(kvs_test_raw_count(&raw, "by_time"), 1,
                 "long keys: by_time holds the tombstone's entry alone");
    kvs_test_u64(kvs_test_raw_count_longer(&raw, "bucket_keys", 2), 5,
                 "long keys: bucket_keys holds one entry per key");

    kvs_test_raw_close(&raw, 0);
}


/* two keys in one bucket and two more in two other buckets */

static void
kvs_test_merkle_keys(char keys[4][32])
{
    int       *seen;
    size_t     i, n;
    uint16_t   b, b0;

    seen = calloc(KVS_MERKLE_BUCKETS, sizeof(int));
    if (seen == NULL) {
        kvs_test_bail("calloc", "out of memory");
    }

    for (i = 1; /* void */; i++) {
        snprintf(keys[0], 32, "m/%zu", i);
        b = kvs_test_bucket_of(keys[0]);

        if (seen[b]) {
            snprintf(keys[1], 32, "m/%d", seen[b]);
            break;
        }

        seen[b] = (int) i;
    }

    free(seen);

    b0 = kvs_test_bucket_of(keys[0]);
    n = 2;

    for (i = 1; n < 4; i++) {
        snprintf(keys[n], 32, "o/%zu", i);
        b = kvs_test_bucket_of(keys[n]);

        if (b != b0 && (n == 2 || b != kvs_test_bucket_of(keys[2]))) {
            n++;
        }
    }
}


static void
kvs_test_merkle(void)
{
    int              ok;
    char             dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    char             keys[4][32];
    size_t           i;
    uint8_t          got[KVS_MERKLE_DIGEST_LEN], want[KVS_MERKLE_DIGEST_LEN];
    uint8_t          d[KVS_MERKLE_DIGEST_LEN];
    uint16_t         b1, b3, b4, other;
    kvs_store_t     *x, *y;
    kvs_write_t      w[7];
    kvs_version_t    va, vb, v2, vd;
    kvs_test_rec_t   r, rx, ry;
    const char      *kp[4];

    kvs_test_merkle_keys(keys);

    for (i = 0; i < 4; i++) {
        kp[i] = keys[i];
    }

    b1 = kvs_test_bucket_of(keys[0]);
    b3 = kvs_test_bucket_of(keys[2]);
    b4 = kvs_test_bucket_of(keys[3]);

    CHECK(b1 == kvs_test_bucket_of(keys[1]) && b3 != b1 && b4 != b1
          && b3 != b4,
          "merkle: found two keys sharing a bucket, two in others");

    kvs_test_dir(dir, "merkle-x");
    x = kvs_test_open(dir, KVS_TEST_MAP);

    kvs_test_bucket(x, b1, got);
    memset(want, 0, sizeof(want));
    CHECK(memcmp(got, want, sizeof(got)) == 0,
          "merkle: an untouched bucket's digest is zero");

    kvs_test_put(x, keys[0], "\"A\"", 1000, &va);
    kvs_test_bucket(x, b1, got);
    kvs_test_digest(want, keys[0], &va, 0);
    CHECK(memcmp(got, want, sizeof(got)) == 0,
          "merkle: after put A the bucket is the digest of A");

    kvs_test_put(x, keys[0], "\"B\"", 1000, &vb);
    kvs_test_bucket(x, b1, got);
    kvs_test_get(x, keys[0], &r);
    kvs_test_digest(want, keys[0], &r.hdr.version, r.hdr.flags);
    CHECK(memcmp(got, want, sizeof(got)) == 0
          && kvs_test_same_version(&r.hdr.version, &vb),
          "merkle: after put B of the same key only B's digest remains");

    kvs_test_put(x, keys[1], "\"C\"", 1000, &v2);
    kvs_test_bucket(x, b1, got);
    kvs_test_digest(want, keys[0], &vb, 0);
    kvs_test_digest(d, keys[1], &v2, 0);
    kvs_merkle_xor(want, d);
    CHECK(memcmp(got, want, sizeof(got)) == 0,
          "merkle: two keys of one bucket: the XOR of their digests");

    kvs_test_del(x, keys[0], 1000, &vd);
    kvs_test_bucket(x, b1, got);
    kvs_test_digest(want, keys[0], &vd, KVS_FLAG_TOMBSTONE);
    kvs_test_digest(d, keys[1], &v2, 0);
    kvs_merkle_xor(want, d);
    CHECK(memcmp(got, want, sizeof(got)) == 0,
          "merkle: a delete swaps the record's digest for the tombstone's");

    kvs_test_put(x, keys[2], "\"D\"", 1100, NULL);
    kvs_test_put(x, keys[3], "\"E\"", 1100, NULL);
    kvs_test_del(x, keys[2], 1200, NULL);
    kvs_test_del(x, keys[1], 1200, NULL);
    kvs_test_put(x, keys[1], "\"F\"", 1300, NULL);

    /* the same final state, in another order, in one batch */

    kvs_test_dir(dir, "merkle-y");
    y = kvs_test_open(dir, KVS_TEST_MAP);

    kvs_test_set(&w[0], KVS_WRITE_PUT, KVS_NS_DATA, keys[3], "\"E\"", 0);
    kvs_test_set(&w[1], KVS_WRITE_PUT, KVS_NS_DATA, keys[2], "\"D\"", 0);
    kvs_test_set(&w[2], KVS_WRITE_PUT, KVS_NS_DATA, keys[1], "\"C\"", 0);
    kvs_test_set(&w[3], KVS_WRITE_DELETE, KVS_NS_DATA, keys[2], NULL, 0);
    kvs_test_set(&w[4], KVS_WRITE_PUT, KVS_NS_DATA, keys[0], "\"A\"", 0);
    kvs_test_set(&w[5], KVS_WRITE_PUT, KVS_NS_DATA, keys[1], "\"F\"", 0);
    kvs_test_set(&w[6], KVS_WRITE_DELETE, KVS_NS_DATA, keys[0], NULL, 0);

    CHECK(kvs_store_write(y, w, 7, 1000, err, sizeof(err)) == KVS_OK,
          "merkle: the other order in one batch: KVS_OK");

    ok = 1;
    for (i = 0; i < 4; i++) {
        kvs_test_get(x, keys[i], &rx);
        kvs_test_get(y, keys[i], &ry);

        if (rx.rc != KVS_OK || ry.rc != KVS_OK
            || rx.hdr.flags != ry.hdr.flags || rx.len != ry.len
            || memcmp(rx.value, ry.value, rx.len) != 0)
        {
            ok = 0;
        }
    }
    CHECK(ok, "merkle: both stores end in the same state");

    kvs_test_get(x, keys[0], &rx);
    kvs_test_get(x, keys[2], &ry);
    CHECK((rx.hdr.flags & KVS_FLAG_TOMBSTONE)
          && (ry.hdr.flags & KVS_FLAG_TOMBSTONE),
          "merkle: the deleted keys are tombstones");

    CHECK(kvs_test_bucket_consistent(x, b1, kp, 4)
          && kvs_test_bucket_consistent(x, b3, kp, 4)
          && kvs_test_bucket_consistent(x, b4, kp, 4),
          "merkle: one write at a time: every touched bucket equals the XOR "
          "of its stored versions' digests");
    CHECK(kvs_test_bucket_consistent(y, b1, kp, 4)
          && kvs_test_bucket_consistent(y, b3, kp, 4)
          && kvs_test_bucket_consistent(y, b4, kp, 4),
          "merkle: one batch, other order: every touched bucket equals the "
          "XOR of its stored versions' digests");

    other = (uint16_t) (b1 + 1);
    while (other == b3 || other == b4) {
        other++;
    }
    kvs_test_bucket(y, other, got);
    memset(want, 0, sizeof(want));
    CHECK(memcmp(got, want, sizeof(got)) == 0,
          "merkle: a bucket no write touched stays zero");

    kvs_store_close(x);
    kvs_store_close(y);

    kvs_test_dir(dir, "merkle-x");
    x = kvs_test_open(dir, KVS_TEST_MAP);
    CHECK(kvs_test_bucket_consistent(x, b1, kp, 4)
          && kvs_test_bucket_consistent(x, b3, kp, 4)
          && kvs_test_bucket_consistent(x, b4, kp, 4),
          "merkle: the digests persist across reopen");
    kvs_store_close(x);
}


static void
kvs_test_schema(void)
{
    int              rc;
    char             dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    char             want[PATH_MAX + 256];
    uint8_t          buf[4];
    kvs_store_t     *st;
    kvs_test_rec_t   r;
    kvs_test_raw_t   raw;

    kvs_test_dir(dir, "schema");
    st = kvs_test_open(dir, KVS_TEST_MAP);
    kvs_test_put(st, "keep", "true", 1000, NULL);
    kvs_store_close(st);

    st = NULL;
    rc = kvs_store_open(&st, dir, KVS_TEST_MAP, err, sizeof(err));
    CHECK(rc == KVS_OK, "schema: the store reopens");
    if (rc == KVS_OK) {
        kvs_test_get(st, "keep", &r);
        CHECK(r.rc == KVS_OK && r.len == 4, "schema: data reads back");
        kvs_store_close(st);
    }

    if (kvs_test_raw_open(&raw, dir, 1) != 0) {
        kvs_test_bail("raw open", dir);
    }

    kvs_put_u32(buf, KVS_SCHEMA_VERSION + 1);
    rc = kvs_test_raw_put(&raw, "meta", "schema_version", 14, buf, 4);
    if (rc != 0 || kvs_test_raw_close(&raw, 1) != 0) {
        kvs_test_bail("raw put", mdb_strerror(rc));
    }

    st = NULL;
    rc = kvs_store_open(&st, dir, KVS_TEST_MAP, err, sizeof(err));
    CHECK(rc == KVS_ERROR && st == NULL,
          "schema: a store of a later schema version fails to open");
    if (rc == KVS_OK) {
        kvs_store_close(st);
    }

    snprintf(want, sizeof(want),
             "the store in \"%s\" has schema version %d, but this build of "
             "KVS reads only version %d and upgrades older ones; run a build "
             "of KVS that reads version %d, or give this one a new data_dir",
             dir, KVS_SCHEMA_VERSION + 1, KVS_SCHEMA_VERSION,
             KVS_SCHEMA_VERSION + 1);
    kvs_test_str(err, want, "schema: the sentence names both versions");

    err[0] = '\0';
    CHECK(kvs_store_check(dir, KVS_TEST_MAP, err, sizeof(err)) == KVS_ERROR,
          "schema: nginx -t refuses a store of a later schema version");
    kvs_test_str(err, want, "schema: with the same sentence");

    if (kvs_test_raw_open(&raw, dir, 1) != 0) {
        kvs_test_bail("raw open", dir);
    }

    rc = kvs_test_raw_del(&raw, "meta", "schema_version", 14);
    if (rc != 0 || kvs_test_raw_close(&raw, 1) != 0) {
        kvs_test_bail("raw del", mdb_strerror(rc));
    }

    rc = kvs_store_open(&st, dir, KVS_TEST_MAP, err, sizeof(err));
    CHECK(rc == KVS_ERROR,
          "schema: a store with data and no schema version fails to open");
    snprintf(want, sizeof(want),
             "the store in \"%s\" holds data but no schema version; it was "
             "not written by KVS", dir);
    kvs_test_str(err, want, "schema: the sentence says it is not a KVS store");

    if (kvs_test_raw_open(&raw, dir, 1) != 0) {
        kvs_test_bail("raw open", dir);
    }

    kvs_put_u32(buf, KVS_SCHEMA_VERSION);
    rc = kvs_test_raw_put(&raw, "meta", "schema_version", 14, buf, 4);
    if (rc != 0 || kvs_test_raw_close(&raw, 1) != 0) {
        kvs_test_bail("raw put", mdb_strerror(rc));
    }

    rc = kvs_store_open(&st, dir, KVS_TEST_MAP, err, sizeof(err));
    CHECK(rc == KVS_OK, "schema: version 1 restored, the store opens again");
    if (rc == KVS_OK) {
        kvs_test_get(st, "keep", &r);
        CHECK(r.rc == KVS_OK && r.len == 4 && memcmp(r.value, "true", 4) == 0,
              "schema: and its data is intact");
        kvs_store_close(st);
    }
}


static int
kvs_test_member_cb(const kvs_member_t *m, void *data)
{
    kvs_test_members_t  *ms = data;

    if (ms->n == (int) (sizeof(ms->m) / sizeof(ms->m[0]))
        || ms->n == ms->stop_after)
    {
        return KVS_ERROR;
    }

    ms->m[ms->n++] = *m;

    return KVS_OK;
}


static int
kvs_test_members_list(kvs_store_t *st, kvs_test_members_t *ms,
    int stop_after)
{
    int   rc;
    char  err[KVS_STORE_ERRLEN];

    memset(ms, 0, sizeof(kvs_test_members_t));
    ms->stop_after = stop_after;

    if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
        printf("# read_begin: %s\n", err);
        return KVS_ERROR;
    }

    rc = kvs_store_member_each(st, kvs_test_member_cb, ms);

    kvs_store_read_end(st);

    return rc;
}


static void
kvs_test_members(void)
{
    int                  rc;
    char                 dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    size_t               idlen;
    kvs_store_t         *st;
    kvs_member_t         self, again, b, lng;
    const uint8_t       *id;
    kvs_test_members_t   ms;

    kvs_test_dir(dir, "members");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    rc = kvs_test_members_list(st, &ms, -1);
    CHECK(rc == KVS_OK && ms.n == 0, "members: a new store has none");

    memset(&self, 0, sizeof(self));
    strcpy(self.node_id, "node-a");
    strcpy(self.address, "10.0.0.1:8080");
    self.state = KVS_MEMBER_FAILED;

    rc = kvs_store_member_self(st, &self, 1000, err, sizeof(err));
    CHECK(rc == KVS_OK, "member_self: KVS_OK");
    CHECK(self.joined_timestamp == 1000 && self.last_seen == 1000
          && self.state == KVS_MEMBER_ALIVE,
          "member_self: first call joins now, alive");

    memset(&again, 0, sizeof(again));
    strcpy(again.node_id, "node-a");
    strcpy(again.address, "10.0.0.1:8080");

    rc = kvs_store_member_self(st, &again, 2000, err, sizeof(err));
    CHECK(rc == KVS_OK && again.joined_timestamp == 1000
          && again.last_seen == 2000,
          "member_self: a later call keeps joined_timestamp, "
          "updates last_seen");

    kvs_store_read_begin(st, err, sizeof(err));
    rc = kvs_store_meta_get_bytes(st, KVS_NODE_ID, &id, &idlen);
    CHECK(rc == KVS_OK && idlen == 6 && memcmp(id, "node-a", 6) == 0,
          "member_self: meta's node_id names the node whose store it is");
    kvs_store_read_end(st);

    memset(&b, 0, sizeof(b));
    strcpy(b.node_id, "node-b");
    strcpy(b.address, "10.0.0.2:8080");
    b.last_seen = 1600;
    b.joined_timestamp = 1500;
    b.state = KVS_MEMBER_FAILED;

    rc = kvs_store_member_put(st, &b, err, sizeof(err));
    CHECK(rc == KVS_OK, "member_put: KVS_OK");

    rc = kvs_test_members_list(st, &ms, -1);
    CHECK(rc == KVS_OK && ms.n == 2, "member_each lists both members");
    CHECK(ms.n == 2
          && strcmp(ms.m[0].node_id, "node-a") == 0
          && strcmp(ms.m[0].address, "10.0.0.1:8080") == 0
          && ms.m[0].joined_timestamp == 1000 && ms.m[0].last_seen == 2000
          && ms.m[0].state == KVS_MEMBER_ALIVE,
          "member_each: self as stored");
    CHECK(ms.n == 2
          && strcmp(ms.m[1].node_id, "node-b") == 0
          && strcmp(ms.m[1].address, "10.0.0.2:8080") == 0
          && ms.m[1].joined_timestamp == 1500 && ms.m[1].last_seen == 1600
          && ms.m[1].state == KVS_MEMBER_FAILED,
          "member_each: a peer as put");

    rc = kvs_test_members_list(st, &ms, 1);
    CHECK(rc == KVS_ERROR && ms.n == 1,
          "member_each: a callback's error stops the walk");

    b.joined_timestamp = 1700;
    b.state = KVS_MEMBER_ALIVE;
    kvs_store_member_put(st, &b, err, sizeof(err));
    kvs_test_members_list(st, &ms, -1);
    CHECK(ms.n == 2 && ms.m[1].joined_timestamp == 1700
          && ms.m[1].state == KVS_MEMBER_ALIVE,
          "member_put replaces a peer's record as given");

    kvs_store_close(st);

    st = kvs_test_open(dir, KVS_TEST_MAP);

    memset(&again, 0, sizeof(again));
    strcpy(again.node_id, "node-a");
    strcpy(again.address, "10.0.0.9:9090");

    rc = kvs_store_member_self(st, &again, 3000, err, sizeof(err));
    CHECK(rc == KVS_OK && again.joined_timestamp == 1000
          && again.last_seen == 3000,
          "member_self after reopen keeps joined_timestamp");

    kvs_test_members_list(st, &ms, -1);
    CHECK(ms.n == 2 && ms.m[0].last_seen == 3000
          && ms.m[0].joined_timestamp == 1000
          && strcmp(ms.m[0].address, "10.0.0.9:9090") == 0,
          "member_each after reopen: the new address and last_seen");

    /* a node_id changed in the YAML: the store is the new node's */

    memset(&b, 0, sizeof(b));
    strcpy(b.node_id, "node-b");
    strcpy(b.address, "10.0.0.2:8080");
    kvs_store_member_self(st, &b, 3500, err, sizeof(err));

    kvs_store_read_begin(st, err, sizeof(err));
    rc = kvs_store_meta_get_bytes(st, KVS_NODE_ID, &id, &idlen);
    CHECK(rc == KVS_OK && idlen == 6 && memcmp(id, "node-b", 6) == 0,
          "member_self of another node_id: meta's node_id follows");
    kvs_store_read_end(st);

    memset(&lng, 0, sizeof(lng));
    memset(lng.node_id, 'n', sizeof(lng.node_id) - 1);
    memset(lng.address, 'a', sizeof(lng.address) - 1);
    lng.last_seen = 1;
    lng.joined_timestamp = 2;

    /* "nnn..." sorts before "node-a": members come in node id order */
    rc = kvs_store_member_put(st, &lng, err, sizeof(err));
    kvs_test_members_list(st, &ms, -1);
    CHECK(rc == KVS_OK && ms.n == 3
          && strcmp(ms.m[0].node_id, lng.node_id) == 0
          && strcmp(ms.m[0].address, lng.address) == 0
          && ms.m[0].last_seen == 1 && ms.m[0].joined_timestamp == 2,
          "member: a 255-byte node id and address round-trip");

    kvs_store_close(st);
}


/* a JSON string of len bytes, malloc()ed */

static char *
kvs_test_value(size_t len)
{
    char  *value;

    value = malloc(len + 1);
    if (value == NULL) {
        kvs_test_bail("malloc", "out of memory");
    }

    memset(value, 'x', len);
    value[0] = '"';
    value[len - 1] = '"';
    value[len] = '\0';

    return value;
}


/* the first n keys read back with the value */

static int
kvs_test_full_reads(kvs_store_t *st, char (*keys)[32], size_t n,
    const char *value)
{
    int             ok;
    size_t          i;
    kvs_test_rec_t  r;

    ok = 1;

    for (i = 0; i < n; i++) {
        if (kvs_test_get(st, keys[i], &r) != KVS_OK
            || r.len != strlen(value)
            || memcmp(r.value, value, r.len) != 0)
        {
            ok = 0;
        }
    }

    return ok;
}


/* PUTs of value, one a batch, under prefix until one is refused: how
 * many were stored, their keys in keys */

static size_t
kvs_test_fill(kvs_store_t *st, const char *prefix, const char *value,
    char (*keys)[32], size_t max)
{
    size_t  n;

    for (n = 0; n < max; n++) {
        snprintf(keys[n], 32, "%s/%zu", prefix, n);

        if (kvs_test_put(st, keys[n], value, 1000 + n, NULL) != KVS_OK) {
            break;
        }
    }

    return n;
}


/*
 * A full map: client PUTs stop short of the reserve, and each write of a
 * batch has its own outcome, so the batch that reaches the reserve stores
 * its first writes and refuses only the others; what was stored reads
 * back, also after a reopen.
 */

static void
kvs_test_full(void)
{
    int              rc, ok;
    char             dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    char             want[PATH_MAX + 256];
    char            *value, (*keys)[32];
    size_t           i, b, nkeys, applied, stored;
    uint64_t         seq;
    kvs_write_t      w[KVS_TEST_FULL_BATCH];
    kvs_store_t     *st;
    kvs_test_rec_t   r;

    value = kvs_test_value(KVS_TEST_FULL_VLEN);
    keys = malloc((size_t) (KVS_TEST_FULL_MAXB + 1) * KVS_TEST_FULL_BATCH
                  * sizeof(*keys));
    if (keys == NULL) {
        kvs_test_bail("malloc", "out of memory");
    }

    kvs_test_dir(dir, "full");
    st = kvs_test_open(dir, KVS_TEST_FULL_MAP);

    rc = KVS_OK;
    applied = 0;
    nkeys = 0;
    stored = 0;

    for (b = 0; b < KVS_TEST_FULL_MAXB; b++) {
        for (i = 0; i < KVS_TEST_FULL_BATCH; i++) {
            snprintf(keys[nkeys + i], 32, "full/%06zu", nkeys + i);
            kvs_test_set(&w[i], KVS_WRITE_PUT, KVS_NS_DATA, keys[nkeys + i],
                         value, 0);
        }

        rc = kvs_store_write(st, w, KVS_TEST_FULL_BATCH, 1000 + b, err,
                             sizeof(err));

        for (stored = 0; stored < KVS_TEST_FULL_BATCH; stored++) {
            if (w[stored].rc != KVS_OK) {
                break;
            }
        }

        nkeys += KVS_TEST_FULL_BATCH;
        applied += stored;

        if (rc != KVS_OK) {
            break;
        }
    }

    CHECK(rc == KVS_FULL, "1 MiB map: writing on ends in KVS_FULL");
    CHECK(applied > 300, "1 MiB map: after most of it was written");

    ok = 1;
    for (i = stored; i < KVS_TEST_FULL_BATCH; i++) {
        ok &= w[i].rc == KVS_FULL;
    }
    CHECK(stored < KVS_TEST_FULL_BATCH && ok,
          "1 MiB map: the last batch's first writes are stored, each of "
          "the others is KVS_FULL");

    snprintf(want, sizeof(want), "the store in \"%s\" is full: %zu of %d "
             "writes did not fit in its map of 1048576 bytes, of which "
             "262144 are kept for deletes and replication", dir,
             KVS_TEST_FULL_BATCH - stored, KVS_TEST_FULL_BATCH);
    kvs_test_str(err, want, "1 MiB map: the sentence says how many did not "
                 "fit, in what map, with what reserve");

    kvs_test_u64(kvs_test_seq(st), applied,
                 "1 MiB map: change_seq counts only the stored writes");

    ok = 1;
    for (i = nkeys - KVS_TEST_FULL_BATCH + stored; i < nkeys; i++) {
        if (kvs_test_get(st, keys[i], &r) != KVS_NOT_FOUND) {
            ok = 0;
        }
    }
    CHECK(ok, "1 MiB map: no refused write is stored");

    ok = kvs_test_full_reads(st, keys, nkeys - KVS_TEST_FULL_BATCH + stored,
                             value);
    CHECK(ok, "1 MiB map: every stored write reads back");

    kvs_store_close(st);

    st = NULL;
    rc = kvs_store_open(&st, dir, KVS_TEST_FULL_MAP, err, sizeof(err));
    CHECK(rc == KVS_OK, "1 MiB map: the full store opens again");
    if (rc != KVS_OK) {
        printf("#   %s\n", err);

    } else {
        ok = kvs_test_full_reads(st, keys,
                                 nkeys - KVS_TEST_FULL_BATCH + stored, value);
        CHECK(ok, "1 MiB map: after reopen every stored write reads back");
        kvs_test_u64(kvs_test_seq(st), applied,
                     "1 MiB map: after reopen change_seq is unchanged");

        seq = kvs_test_seq(st);
        kvs_test_set(&w[0], KVS_WRITE_PUT, KVS_NS_DATA, keys[nkeys - 1],
                     value, 0);
        rc = kvs_store_write(st, w, 1, 999999, err, sizeof(err));
        CHECK((rc == KVS_OK && w[0].rc == KVS_OK)
              || (rc == KVS_FULL && w[0].rc == KVS_FULL),
              "1 MiB map: a later write is either stored or KVS_FULL");
        kvs_test_u64(kvs_test_seq(st), rc == KVS_OK ? seq + 1 : seq,
                     "1 MiB map: and change_seq agrees with its outcome");

        kvs_store_close(st);
    }

    free(keys);
    free(value);
}


/*
 * kvs_store_write_collect: the batch is asked for only once the write
 * transaction holds the writer lock, and an empty batch commits nothing.
 */

typedef struct {
    kvs_write_t  w[2];
    size_t       n;
    int          calls;
} kvs_test_collect_t;


static void
kvs_test_collector(kvs_write_batch_t *b, void *data)
{
    kvs_test_collect_t *c = data;

    c->calls++;
    b->w = c->w;
    b->n = c->n;
    b->now_ms = 5000;
}


static void
kvs_test_collect(void)
{
    char                 dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    uint64_t             before, after;
    kvs_store_t         *st;
    kvs_test_collect_t   c;

    kvs_test_dir(dir, "collect");
    st = kvs_test_open(dir, 16 << 20);

    memset(&c, 0, sizeof(c));
    before = kvs_test_seq(st);

    CHECK(kvs_store_write_collect(st, kvs_test_collector, &c, err,
                                  sizeof(err)) == KVS_OK
          && c.calls == 1,
          "collect: an empty batch is asked for once and succeeds");
    CHECK(kvs_test_seq(st) == before,
          "collect: an empty batch writes nothing");

    kvs_test_set(&c.w[0], KVS_WRITE_PUT, KVS_NS_DATA, "c/a", "1", 0);
    kvs_test_set(&c.w[1], KVS_WRITE_PUT, KVS_NS_DATA, "c/b", "2", 0);
    c.n = 2;

    CHECK(kvs_store_write_collect(st, kvs_test_collector, &c, err,
                                  sizeof(err)) == KVS_OK,
          "collect: a collected batch commits");
    after = kvs_test_seq(st);
    CHECK(after == before + 2 && c.w[0].rc == KVS_OK && c.w[1].rc == KVS_OK,
          "collect: both collected writes are applied");
    CHECK(c.w[0].version.timestamp == 5000,
          "collect: the batch is stamped with the collector's clock");

    kvs_store_close(st);
}


typedef struct {
    uint64_t  seq[8];
    char      path[8][32];
    size_t    n;
} kvs_test_feed_t;


static int
kvs_test_conflict_add(char ns, const char *path, size_t len, void *data)
{
    kvs_test_feed_t *f = data;

    if (f->n == 8 || len >= 32 || ns != KVS_NS_DATA) {
        return KVS_ERROR;
    }

    memcpy(f->path[f->n], path, len);
    f->path[f->n][len] = '\0';
    f->n++;

    return KVS_OK;
}


/*
 * A peer's record (KVS_WRITE_REMOTE): stored as it is when newer, with the
 * same version, bytes and Merkle digest as on the peer; ignored when the
 * same or older; a conflict when the timestamp ties with another uuid.
 */

static int
kvs_test_remote_at(kvs_store_t *st, const char *path, const uint8_t *rec,
    size_t len, uint64_t now)
{
    char         err[KVS_STORE_ERRLEN];
    kvs_write_t  w;

    kvs_test_set(&w, KVS_WRITE_REMOTE, KVS_NS_DATA, path, NULL, 0);
    w.value = rec;
    w.value_len = len;

    if (kvs_store_write(st, &w, 1, now, err, sizeof(err)) != KVS_OK) {
        printf("# remote write of \"%s\": %s\n", path, err);
        return -100;
    }

    return w.rc;
}


static int
kvs_test_remote1(kvs_store_t *st, const char *path, const uint8_t *rec,
    size_t len)
{
    return kvs_test_remote_at(st, path, rec, len, 1);
}


static size_t
kvs_test_record(kvs_store_t *st, const char *path, uint8_t *out)
{
    char               err[KVS_STORE_ERRLEN];
    size_t             len;
    const uint8_t     *value;
    kvs_record_hdr_t   hdr;

    len = 0;

    if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
        return 0;
    }

    if (kvs_store_get(st, KVS_NS_DATA, path, strlen(path), &hdr, &value)
        == KVS_OK)
    {
        hdr.key_len = 0;
        kvs_record_encode(&hdr, out);
        memcpy(out + KVS_RECORD_HDR_SIZE, value, hdr.value_len);
        len = KVS_RECORD_HDR_SIZE + hdr.value_len;
    }

    kvs_store_read_end(st);

    return len;
}


/* when the store in dir last had its data file written (LMDB's pwrite()
 * of pages and meta page) */

static struct timespec
kvs_test_mtime(const char *dir)
{
    char             path[PATH_MAX + 16];
    struct stat      sb;
    struct timespec  none = { 0, 0 };

    snprintf(path, sizeof(path), "%s/data.mdb", dir);

    return stat(path, &sb) == 0 ? sb.st_mtim : none;
}


static void
kvs_test_remote(void)
{
    char              dir[PATH_MAX];
    size_t            len;
    uint8_t           rec[KVS_RECORD_HDR_SIZE + 64], got[sizeof(rec)];
    uint8_t           da[KVS_MERKLE_DIGEST_LEN], db[KVS_MERKLE_DIGEST_LEN];
    uint16_t          bucket;
    int               rc;
    uint64_t          seq;
    kvs_store_t      *a, *b;
    struct timespec   before, after;
    kvs_version_t     v;
    kvs_test_rec_t    r;
    kvs_record_hdr_t  hdr;

    kvs_test_dir(dir, "remote-a");
    a = kvs_test_open(dir, 16 << 20);
    kvs_test_dir(dir, "remote-b");
    b = kvs_test_open(dir, 16 << 20);

    kvs_test_put(a, "r/x", "{\"v\":1}", 1000, &v);
    len = kvs_test_record(a, "r/x", rec);

    CHECK(kvs_test_remote1(b, "r/x", rec, len) == KVS_OK,
          "remote: a peer's record for a missing key is stored");
    CHECK(kvs_test_record(b, "r/x", got) == len
          && memcmp(got, rec, len) == 0,
          "remote: with the peer's version, header and value");

    bucket = kvs_merkle_bucket(KVS_NS_DATA, "r/x", 3);
    CHECK(kvs_test_bucket(a, bucket, da) == KVS_OK
          && kvs_test_bucket(b, bucket, db) == KVS_OK
          && memcmp(da, db, sizeof(da)) == 0,
          "remote: both nodes' Merkle buckets agree");

    /* past the clock tick of the last write, which a file's mtime keeps */
    usleep(20000);
    seq = kvs_test_seq(b);
    before = kvs_test_mtime(dir);
    rc = kvs_test_remote1(b, "r/x", rec, len);
    after = kvs_test_mtime(dir);
    CHECK(rc == KVS_STALE && kvs_test_seq(b) == seq,
          "remote: the same version again changes nothing");
    CHECK(before.tv_sec != 0 && before.tv_sec == after.tv_sec
          && before.tv_nsec == after.tv_nsec,
          "remote: and writes nothing to disk: a batch that changes nothing "
          "commits a clean transaction, with no sync");

    kvs_test_put(b, "r/x", "{\"v\":2}", 5000, NULL);
    CHECK(kvs_test_remote1(b, "r/x", rec, len) == KVS_STALE,
          "remote: an older version is ignored");
    CHECK(kvs_test_get(b, "r/x", &r) == KVS_OK
          && strcmp(r.value, "{\"v\":2}") == 0,
          "remote: and the newer value stays");

    kvs_record_decode(&hdr, rec, len);
    hdr.version.timestamp = r.hdr.version.timestamp;
    kvs_record_encode(&hdr, rec);
    CHECK(kvs_test_remote1(b, "r/x", rec, len) == KVS_CONFLICT,
          "remote: the same timestamp with another uuid is a conflict");
    CHECK(kvs_test_get(b, "r/x", &r) == KVS_OK
          && strcmp(r.value, "{\"v\":2}") == 0,
          "remote: which changes nothing until it is resolved");

    {
        int              n;
        char             err[KVS_STORE_ERRLEN];
        uint64_t         done;
        kvs_write_t      w;
        kvs_test_feed_t  f;

        memset(&f, 0, sizeof(f));
        kvs_store_read_begin(b, err, sizeof(err));
        n = kvs_store_conflicts(b, kvs_test_conflict_add, &f);
        kvs_store_read_end(b);
        CHECK(n == KVS_OK && f.n == 1 && strcmp(f.path[0], "r/x") == 0,
              "remote: the refused tie is noted for the agent");

        kvs_test_set(&w, KVS_WRITE_REMOTE, KVS_NS_DATA, "r/x", NULL, 0);
        w.value = rec;
        w.value_len = len;
        w.resolved = 1;
        CHECK(kvs_store_write(b, &w, 1, 1, err, sizeof(err)) == KVS_OK
              && w.rc == KVS_OK,
              "remote: the winner of a vote replaces the tie");
        CHECK(kvs_test_get(b, "r/x", &r) == KVS_OK
              && strcmp(r.value, "{\"v\":1}") == 0,
              "remote: and is what the key reads");

        CHECK(kvs_store_conflict_done(b, KVS_NS_DATA, "r/x", 3, err,
                                      sizeof(err)) == KVS_OK,
              "remote: the resolution is noted");
        memset(&f, 0, sizeof(f));
        kvs_store_read_begin(b, err, sizeof(err));
        kvs_store_conflicts(b, kvs_test_conflict_add, &f);
        CHECK(f.n == 0
              && kvs_store_meta_get(b, KVS_CONFLICTS_RESOLVED, &done)
                 == KVS_OK
              && done == 1,
              "remote: the note is gone and the resolution counted");
        kvs_store_read_end(b);
    }

    kvs_test_del(a, "r/x", 9000, NULL);
    len = kvs_test_record(a, "r/x", rec);
    CHECK(kvs_test_remote1(b, "r/x", rec, len) == KVS_OK,
          "remote: a newer tombstone is stored");
    CHECK(kvs_test_get(b, "r/x", &r) == KVS_OK
          && (r.hdr.flags & KVS_FLAG_TOMBSTONE),
          "remote: and the key reads as deleted");

    CHECK(kvs_test_remote1(b, "r/y", rec, 10) == KVS_INVALID,
          "remote: bytes that are not a record are refused");

    kvs_store_close(a);
    kvs_store_close(b);
}


/*
 * The change feed as push replication reads it, and the push cursor a
 * member gets in the transaction that first records it.
 */

static int
kvs_test_feed_add(uint64_t seq, char ns, const char *path, size_t len,
    const uint8_t *record, size_t record_len, void *data)
{
    kvs_test_feed_t *f = data;

    kvs_record_hdr_t  hdr;

    if (f->n == 8 || len >= 32 || ns != KVS_NS_DATA
        || kvs_record_decode(&hdr, record, record_len) != 0)
    {
        return KVS_ERROR;
    }

    f->seq[f->n] = seq;
    memcpy(f->path[f->n], path, len);
    f->path[f->n][len] = '\0';
    f->n++;

    return KVS_OK;
}


static void
kvs_test_feed(void)
{
    int               n;
    char              dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    uint64_t          cursor;
    kvs_store_t      *st;
    kvs_member_t      m;
    kvs_test_feed_t   f;

    kvs_test_dir(dir, "feed");
    st = kvs_test_open(dir, 16 << 20);

    kvs_test_put(st, "f/a", "1", 1000, NULL);
    kvs_test_put(st, "f/b", "2", 1001, NULL);

    memset(&m, 0, sizeof(m));
    strcpy(m.node_id, "peer");
    strcpy(m.address, "127.0.0.1:1");
    m.last_seen = 5;
    CHECK(kvs_store_members_merge(st, &m, 1, err, sizeof(err)) == KVS_OK,
          "feed: a new member is merged");

    kvs_test_del(st, "f/a", 1002, NULL);

    memset(&f, 0, sizeof(f));
    kvs_store_read_begin(st, err, sizeof(err));
    n = kvs_store_changes(st, 0, 100, kvs_test_feed_add, &f);
    CHECK(kvs_store_meta_get(st, KVS_PUSH_CURSOR "peer", &cursor) == KVS_OK
          && cursor == 2,
          "feed: the new member's push cursor is the feed's end when it "
          "was first recorded");
    kvs_store_read_end(st);

    CHECK(n == 3 && f.n == 3 && f.seq[0] == 1 && f.seq[2] == 3,
          "feed: every change, in order, with its sequence number");
    CHECK(f.n == 3 && strcmp(f.path[0], "f/a") == 0
          && strcmp(f.path[1], "f/b") == 0,
          "feed: with its key's path");

    memset(&f, 0, sizeof(f));
    kvs_store_read_begin(st, err, sizeof(err));
    n = kvs_store_changes(st, 2, 100, kvs_test_feed_add, &f);
    kvs_store_read_end(st);
    CHECK(n == 1 && f.n == 1 && strcmp(f.path[0], "f/a") == 0,
          "feed: after a cursor, only what came later");

    CHECK(kvs_store_changes_trim(st, 2, 1, err, sizeof(err)) == 1
          && kvs_store_changes_trim(st, 2, 100, err, sizeof(err)) == 1
          && kvs_store_changes_trim(st, 2, 100, err, sizeof(err)) == 0,
          "feed: trimming takes what is at or before the bound, in "
          "bounded steps");

    memset(&f, 0, sizeof(f));
    kvs_store_read_begin(st, err, sizeof(err));
    n = kvs_store_changes(st, 0, 100, kvs_test_feed_add, &f);
    kvs_store_read_end(st);
    CHECK(n == 1 && f.seq[0] == 3, "feed: and leaves what came after");
    CHECK(kvs_test_seq(st) == 3, "feed: the sequence goes on regardless");

    m.last_seen = 9;
    kvs_store_members_merge(st, &m, 1, err, sizeof(err));
    kvs_store_read_begin(st, err, sizeof(err));
    CHECK(kvs_store_meta_get(st, KVS_PUSH_CURSOR "peer", &cursor) == KVS_OK
          && cursor == 2,
          "feed: news of a known member leaves its cursor alone");
    kvs_store_read_end(st);

    kvs_store_close(st);
}


/*
 * The tree anti-entropy walks: range digests are the XOR of their buckets',
 * equal stores have equal roots, a bucket lists its keys with versions, and
 * a record is handed out whole.
 */

typedef struct {
    size_t         n;
    char           path[4][32];
    kvs_version_t  v[4];
} kvs_test_bucket_t;


static int
kvs_test_bucket_add(char ns, const char *path, size_t len,
    const kvs_version_t *v, uint8_t flags, void *data)
{
    kvs_test_bucket_t *b = data;

    if (ns != KVS_NS_DATA || (flags & KVS_FLAG_TOMBSTONE)) {
        return KVS_ERROR;
    }

    if (b->n < 4 && len < 32) {
        memcpy(b->path[b->n], path, len);
        b->path[b->n][len] = '\0';
        b->v[b->n] = *v;
        b->n++;
    }

    return KVS_OK;
}


static void
kvs_test_tree(void)
{
    char                dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    size_t              len;
    uint8_t             ra[256 * KVS_MERKLE_DIGEST_LEN];
    uint8_t             rb[256 * KVS_MERKLE_DIGEST_LEN];
    uint8_t             buckets[256 * KVS_MERKLE_DIGEST_LEN];
    uint8_t             acc[KVS_MERKLE_DIGEST_LEN], root_a[16], root_b[16];
    uint8_t             rec[KVS_RECORD_HDR_SIZE + 64];
    uint16_t            bucket;
    uint64_t            count;
    unsigned            i;
    kvs_store_t        *a, *b;
    kvs_version_t       v;
    const uint8_t      *r;
    kvs_test_bucket_t   keys;

    kvs_test_dir(dir, "tree-a");
    a = kvs_test_open(dir, 16 << 20);
    kvs_test_dir(dir, "tree-b");
    b = kvs_test_open(dir, 16 << 20);

    kvs_test_put(a, "t/one", "1", 1000, &v);
    kvs_test_put(a, "t/two", "2", 1000, NULL);

    /* b gets the same versions as a peer would send them */
    len = kvs_test_record(a, "t/one", rec);
    kvs_test_remote1(b, "t/one", rec, len);

    kvs_store_read_begin(a, err, sizeof(err));
    kvs_store_read_begin(b, err, sizeof(err));
    CHECK(kvs_store_merkle_ranges(a, ra) == KVS_OK
          && kvs_store_merkle_ranges(b, rb) == KVS_OK,
          "tree: both stores' ranges read");
    kvs_store_merkle_root(ra, root_a);
    kvs_store_merkle_root(rb, root_b);
    CHECK(memcmp(root_a, root_b, 16) != 0,
          "tree: stores that differ have different roots");

    bucket = kvs_merkle_bucket(KVS_NS_DATA, "t/one", 5);
    CHECK(kvs_store_merkle_range(a, bucket >> 8, buckets) == KVS_OK,
          "tree: a range's buckets read");
    memset(acc, 0, sizeof(acc));
    for (i = 0; i < 256; i++) {
        kvs_merkle_xor(acc, buckets + i * KVS_MERKLE_DIGEST_LEN);
    }
    CHECK(memcmp(acc, ra + (bucket >> 8) * KVS_MERKLE_DIGEST_LEN,
                 KVS_MERKLE_DIGEST_LEN) == 0,
          "tree: a range's digest is the XOR of its buckets'");

    memset(&keys, 0, sizeof(keys));
    CHECK(kvs_store_bucket_keys(a, bucket, kvs_test_bucket_add, &keys)
          == KVS_OK
          && keys.n >= 1 && strcmp(keys.path[0], "t/one") == 0
          && kvs_version_cmp(&keys.v[0], &v) == 0,
          "tree: a bucket lists its key with the version held");
    memset(&keys, 0, sizeof(keys));
    CHECK(kvs_store_bucket_keys_after(a, bucket, KVS_NS_DATA, "t/one", 5,
                                      kvs_test_bucket_add, &keys)
          == KVS_OK
          && (keys.n == 0 || strcmp(keys.path[0], "t/one") > 0),
          "tree: a bucket's keys after one of them leave it out");
    memset(&keys, 0, sizeof(keys));
    CHECK(kvs_store_bucket_keys_after(a, bucket, KVS_NS_DATA, "t/", 2,
                                      kvs_test_bucket_add, &keys)
          == KVS_OK
          && keys.n >= 1 && strcmp(keys.path[0], "t/one") == 0,
          "tree: after a path it does not hold, from the next key");

    CHECK(kvs_store_record(a, KVS_NS_DATA, "t/one", 5, &r, &len) == KVS_OK
          && len == KVS_RECORD_HDR_SIZE + 1
          && r[KVS_RECORD_HDR_SIZE] == '1',
          "tree: a record is handed out whole");
    CHECK(kvs_store_record(a, KVS_NS_DATA, "t/none", 6, &r, &len)
          == KVS_NOT_FOUND,
          "tree: a missing record is not found");
    CHECK(kvs_store_count(a, &count) == KVS_OK && count == 2,
          "tree: the record count");
    kvs_store_read_end(a);
    kvs_store_read_end(b);

    len = kvs_test_record(a, "t/two", rec);
    kvs_test_remote1(b, "t/two", rec, len);

    kvs_store_read_begin(b, err, sizeof(err));
    kvs_store_merkle_ranges(b, rb);
    kvs_store_read_end(b);
    kvs_store_merkle_root(rb, root_b);
    CHECK(memcmp(root_a, root_b, 16) == 0,
          "tree: once b holds a's versions, the roots are equal");

    kvs_store_close(a);
    kvs_store_close(b);
}


/* Tombstones older than the bound go, with their share of the tree. */

static void
kvs_test_purge(void)
{
    int            n;
    char           dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    size_t         len;
    uint8_t        rec[KVS_RECORD_HDR_SIZE + 64];
    uint8_t        ra[256 * KVS_MERKLE_DIGEST_LEN];
    uint8_t        rb[256 * KVS_MERKLE_DIGEST_LEN];
    uint64_t       count;
    kvs_store_resume_t  from;
    kvs_write_t    w;
    kvs_store_t   *a, *b;
    kvs_test_rec_t r;
    const char    *admin = "2131b76e-641e-5c30-b0a5-e3360261c5cf";
    const char    *other = "f26c3939-c945-5650-a379-dc89815e40f2";

    kvs_test_dir(dir, "purge-a");
    a = kvs_test_open(dir, 16 << 20);
    kvs_test_dir(dir, "purge-b");
    b = kvs_test_open(dir, 16 << 20);

    kvs_test_put(a, "p/gone", "1", 1000, NULL);
    kvs_test_del(a, "p/gone", 2000, NULL);
    kvs_test_put(a, "p/live", "2", 1500, NULL);
    kvs_test_put(a, "p/late", "3", 2500, NULL);
    kvs_test_del(a, "p/late", 9000, NULL);

    from.len = 0;
    n = kvs_store_purge(a, 5000, 100, &from, err, sizeof(err));
    CHECK(n == 1, "purge: the one tombstone older than the bound goes");
    CHECK(from.len == 0, "purge: and the scan is complete");
    CHECK(kvs_test_get(a, "p/gone", &r) == KVS_NOT_FOUND,
          "purge: the key is no more, not even as a tombstone");
    CHECK(kvs_test_get(a, "p/live", &r) == KVS_OK,
          "purge: live records stay, however old");
    CHECK(kvs_test_get(a, "p/late", &r) == KVS_OK
          && (r.hdr.flags & KVS_FLAG_TOMBSTONE),
          "purge: younger tombstones stay");

    /* b holds only what a still holds: the trees must agree */
    len = kvs_test_record(a, "p/live", rec);
    kvs_test_remote1(b, "p/live", rec, len);
    len = kvs_test_record(a, "p/late", rec);
    kvs_test_remote1(b, "p/late", rec, len);

    kvs_store_read_begin(a, err, sizeof(err));
    kvs_store_read_begin(b, err, sizeof(err));
    kvs_store_merkle_ranges(a, ra);
    kvs_store_merkle_ranges(b, rb);
    kvs_store_count(a, &count);
    kvs_store_read_end(a);
    kvs_store_read_end(b);
    CHECK(memcmp(ra, rb, sizeof(ra)) == 0 && count == 2,
          "purge: the tree is as if the key had never been");

    /* by_time holds dead records only: two tombstones, a scan of one */
    kvs_test_put(a, "p/later", "4", 2600, NULL);
    kvs_test_del(a, "p/later", 9500, NULL);

    from.len = 0;
    n = kvs_store_purge(a, 10000, 1, &from, err, sizeof(err));
    CHECK(n == 1 && from.len > 8 && kvs_get_be64(from.key) == 9500,
          "purge: a scan cut short says where to resume");
    n = kvs_store_purge(a, 10000, 100, &from, err, sizeof(err));
    CHECK(n == 1 && from.len == 0, "purge: and resumes there");

    /* the user admin's tombstone stays for good: with it gone, a node
     * with admin_password_file made the admin again at its next start */
    kvs_test_set(&w, KVS_WRITE_PUT, KVS_NS_USER, admin, "{}", 0);
    kvs_store_write(a, &w, 1, 11000, err, sizeof(err));
    kvs_test_set(&w, KVS_WRITE_DELETE, KVS_NS_USER, admin, NULL, 0);
    kvs_store_write(a, &w, 1, 12000, err, sizeof(err));
    kvs_test_set(&w, KVS_WRITE_PUT, KVS_NS_USER, other, "{}", 0);
    kvs_store_write(a, &w, 1, 11000, err, sizeof(err));
    kvs_test_set(&w, KVS_WRITE_DELETE, KVS_NS_USER, other, NULL, 0);
    kvs_store_write(a, &w, 1, 12000, err, sizeof(err));

    from.len = 0;
    n = kvs_store_purge(a, 20000, 100, &from, err, sizeof(err));
    CHECK(n == 1, "purge: of two users' tombstones, one goes");
    CHECK(kvs_test_get_ns(a, KVS_NS_USER, admin, &r) == KVS_OK
          && (r.hdr.flags & KVS_FLAG_TOMBSTONE),
          "purge: the user admin's stays");
    CHECK(kvs_test_get_ns(a, KVS_NS_USER, other, &r) == KVS_NOT_FOUND,
          "purge: another user's goes");
    n = kvs_store_purge(a, 30000, 100, &from, err, sizeof(err));
    CHECK(n == 0 && from.len == 0, "purge: and stays at the next round");

    kvs_store_close(a);
    kvs_store_close(b);
}


/* Conditions of local writes, checked in the writing transaction. */

static int
kvs_test_cond(kvs_store_t *st, kvs_write_op_e op, const char *path,
    int if_match, const kvs_version_t *match, int create_only,
    int must_exist)
{
    char         err[KVS_STORE_ERRLEN];
    kvs_write_t  w;

    kvs_test_set(&w, op, KVS_NS_DATA, path,
                 op == KVS_WRITE_PUT ? "1" : NULL, 0);
    w.if_match = if_match;
    w.create_only = create_only;
    w.must_exist = must_exist;

    if (match) {
        memcpy(w.match, match->uuid, KVS_UUID_LEN);
    }

    if (kvs_store_write(st, &w, 1, 5000, err, sizeof(err)) != KVS_OK) {
        return -100;
    }

    return w.rc;
}


/*
 * Who a key belongs to: a PUT that creates it sets owner, group and
 * permissions (owned), an overwrite keeps them, a change of meta sets them
 * over the held version and keeps its value and expiry, and a revocation
 * writes a tombstone where no key is held.
 */

static void
kvs_test_owners(void)
{
    char            dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    kvs_store_t    *st;
    kvs_write_t     w;
    kvs_test_rec_t  r, before;
    kvs_version_t   v;
    static const uint8_t  alice[KVS_UUID_LEN] = { 0xa1, 1 };
    static const uint8_t  bob[KVS_UUID_LEN] = { 0xb0, 2 };
    static const uint8_t  devs[KVS_UUID_LEN] = { 0xde, 3 };
    static const uint8_t  none[KVS_UUID_LEN];

    kvs_test_dir(dir, "owners");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    kvs_test_put(st, "anon", "1", 1000, NULL);
    kvs_test_get(st, "anon", &r);
    CHECK(r.hdr.permissions == 0xf11
          && memcmp(r.hdr.owner, none, KVS_UUID_LEN) == 0,
          "owners: a PUT without owner: no owner, permissions f11");

    kvs_test_set(&w, KVS_WRITE_PUT, KVS_NS_DATA, "team", "{\"a\":1}", 0);
    w.owned = 1;
    memcpy(w.owner, alice, KVS_UUID_LEN);
    memcpy(w.group, devs, KVS_UUID_LEN);
    w.permissions = 0xf31;
    CHECK(kvs_store_write(st, &w, 1, 2000, err, sizeof(err)) == KVS_OK
          && w.rc == KVS_OK, "owners: an owned PUT is written");
    kvs_test_get(st, "team", &r);
    CHECK(memcmp(r.hdr.owner, alice, KVS_UUID_LEN) == 0
          && memcmp(r.hdr.group, devs, KVS_UUID_LEN) == 0
          && r.hdr.permissions == 0xf31,
          "owners: the creating PUT set owner, group and permissions");

    kvs_test_set(&w, KVS_WRITE_PUT, KVS_NS_DATA, "team", "{\"a\":2}", 0);
    w.owned = 1;
    memcpy(w.owner, bob, KVS_UUID_LEN);
    w.permissions = 0xfff;
    kvs_store_write(st, &w, 1, 3000, err, sizeof(err));
    kvs_test_get(st, "team", &r);
    CHECK(w.rc == KVS_OK && memcmp(r.hdr.owner, alice, KVS_UUID_LEN) == 0
          && r.hdr.permissions == 0xf31
          && r.len == 7 && memcmp(r.value, "{\"a\":2}", 7) == 0,
          "owners: an overwrite keeps who the key belongs to");

    /* a change of meta: over the held version only */

    kvs_test_set(&w, KVS_WRITE_PUT, KVS_NS_DATA, "ttl", "[1]", 60000);
    kvs_store_write(st, &w, 1, 4000, err, sizeof(err));
    kvs_test_get(st, "ttl", &before);

    kvs_test_set(&w, KVS_WRITE_PUT, KVS_NS_DATA, "ttl", "[1]", 0);
    w.meta = 1;
    w.if_match = 1;
    memcpy(w.match, before.hdr.version.uuid, KVS_UUID_LEN);
    memcpy(w.owner, bob, KVS_UUID_LEN);
    w.permissions = 0x800;
    kvs_store_write(st, &w, 1, 5000, err, sizeof(err));
    kvs_test_get(st, "ttl", &r);
    CHECK(w.rc == KVS_OK && memcmp(r.hdr.owner, bob, KVS_UUID_LEN) == 0
          && memcmp(r.hdr.group, none, KVS_UUID_LEN) == 0
          && r.hdr.permissions == 0x800,
          "owners: a change of meta sets owner, group and permissions");
    CHECK(r.hdr.expires_at == before.hdr.expires_at
          && r.hdr.created_at == before.hdr.created_at
          && r.hdr.version.timestamp == 5000
          && r.len == 3 && memcmp(r.value, "[1]", 3) == 0,
          "owners: and is a new version keeping value, expiry, creation");

    kvs_test_set(&w, KVS_WRITE_PUT, KVS_NS_DATA, "ttl", "[1]", 0);
    w.meta = 1;
    w.if_match = 1;
    memcpy(w.match, before.hdr.version.uuid, KVS_UUID_LEN);
    kvs_store_write(st, &w, 1, 6000, err, sizeof(err));
    CHECK(w.rc == KVS_PRECONDITION,
          "owners: a change of meta over another version is refused");

    kvs_test_set(&w, KVS_WRITE_PUT, KVS_NS_DATA, "nothing", "[1]", 0);
    w.meta = 1;
    kvs_store_write(st, &w, 1, 6000, err, sizeof(err));
    CHECK(w.rc == KVS_PRECONDITION,
          "owners: a change of meta where no key is is refused");

    /* a re-creation after a DELETE is a creation */

    kvs_test_del(st, "team", 7000, NULL);
    kvs_test_set(&w, KVS_WRITE_PUT, KVS_NS_DATA, "team", "{}", 0);
    w.owned = 1;
    memcpy(w.owner, bob, KVS_UUID_LEN);
    w.permissions = 0xf00;
    kvs_store_write(st, &w, 1, 8000, err, sizeof(err));
    kvs_test_get(st, "team", &r);
    CHECK(w.rc == KVS_OK && memcmp(r.hdr.owner, bob, KVS_UUID_LEN) == 0
          && memcmp(r.hdr.group, none, KVS_UUID_LEN) == 0
          && r.hdr.permissions == 0xf00,
          "owners: a PUT over a tombstone creates the key anew");

    /* revocations */

    CHECK(kvs_test_del(st, "never", 9000, NULL) == KVS_NOT_FOUND
          && kvs_test_get_ns(st, KVS_NS_DATA, "never", &r) == KVS_NOT_FOUND,
          "owners: a DELETE where no key is writes nothing");

    kvs_test_set(&w, KVS_WRITE_DELETE, KVS_NS_TOKEN, "abc", NULL, 0);
    w.revoke = 1;
    kvs_store_write(st, &w, 1, 9000, err, sizeof(err));
    v = w.version;
    CHECK(w.rc == KVS_OK
          && kvs_test_get_ns(st, KVS_NS_TOKEN, "abc", &r) == KVS_OK
          && (r.hdr.flags & KVS_FLAG_TOMBSTONE)
          && r.hdr.version.timestamp == 9000,
          "owners: a revocation where no key is writes a tombstone");

    kvs_test_set(&w, KVS_WRITE_DELETE, KVS_NS_TOKEN, "abc", NULL, 0);
    w.revoke = 1;
    kvs_store_write(st, &w, 1, 9500, err, sizeof(err));
    kvs_test_get_ns(st, KVS_NS_TOKEN, "abc", &r);
    CHECK(w.rc == KVS_NOT_FOUND && kvs_test_same_version(&r.hdr.version, &v),
          "owners: a second revocation changes nothing");

    kvs_store_close(st);
}


static void
kvs_test_conditions(void)
{
    char            dir[PATH_MAX];
    kvs_store_t    *st;
    kvs_version_t   v1, v2;

    kvs_test_dir(dir, "cond");
    st = kvs_test_open(dir, 16 << 20);

    kvs_test_put(st, "c/k", "1", 1000, &v1);
    kvs_test_put(st, "c/k", "2", 2000, &v2);

    CHECK(kvs_test_cond(st, KVS_WRITE_PUT, "c/k", 1, &v1, 0, 0)
          == KVS_PRECONDITION,
          "cond: If-Match of an older version fails");
    CHECK(kvs_test_cond(st, KVS_WRITE_PUT, "c/k", 1, &v2, 0, 0) == KVS_OK,
          "cond: If-Match of the current version writes");
    CHECK(kvs_test_cond(st, KVS_WRITE_PUT, "c/k", 0, NULL, 1, 0)
          == KVS_PRECONDITION,
          "cond: create-only over a key fails");
    CHECK(kvs_test_cond(st, KVS_WRITE_PUT, "c/new", 0, NULL, 1, 0)
          == KVS_OK,
          "cond: create-only where there is none writes");
    CHECK(kvs_test_cond(st, KVS_WRITE_PUT, "c/none", 0, NULL, 0, 1)
          == KVS_PRECONDITION,
          "cond: must-exist where there is none fails");
    CHECK(kvs_test_cond(st, KVS_WRITE_DELETE, "c/k", 1, &v1, 0, 0)
          == KVS_PRECONDITION,
          "cond: a DELETE with an older If-Match fails");
    CHECK(kvs_test_cond(st, KVS_WRITE_DELETE, "c/new", 0, NULL, 0, 1)
          == KVS_OK,
          "cond: a DELETE of an existing key with must-exist deletes");
    CHECK(kvs_test_cond(st, KVS_WRITE_PUT, "c/new", 0, NULL, 1, 0)
          == KVS_OK,
          "cond: create-only over a tombstone writes");

    kvs_store_close(st);
}


/*
 * Revision history: a write keeps the live version it replaces in rev,
 * trimmed to the key's newest st->history, and kvs_store_history() gives
 * them newest first, each with its header and stored value.
 */

typedef struct {
    size_t            n;             /* versions seen, kept or not */
    kvs_record_hdr_t  hdr[KVS_TEST_HIST_MAX];
    uint8_t           value[KVS_TEST_HIST_MAX][KVS_TEST_HIST_VLEN];
    uint32_t          fnv[KVS_TEST_HIST_MAX];   /* of the whole value */
} kvs_test_hist_t;


/* FNV-1a, to compare values longer than a test keeps */

static uint32_t
kvs_test_fnv(const uint8_t *p, size_t len)
{
    size_t    i;
    uint32_t  h;

    h = 2166136261u;

    for (i = 0; i < len; i++) {
        h = (h ^ p[i]) * 16777619u;
    }

    return h;
}


static int
kvs_test_hist_add(const kvs_record_hdr_t *hdr, const uint8_t *value,
    void *data)
{
    kvs_test_hist_t *h = data;

    if (h->n < KVS_TEST_HIST_MAX) {
        h->hdr[h->n] = *hdr;
        memcpy(h->value[h->n], value,
               hdr->value_len < KVS_TEST_HIST_VLEN ? hdr->value_len
                                                   : KVS_TEST_HIST_VLEN);
        h->fnv[h->n] = kvs_test_fnv(value, hdr->value_len);
    }

    h->n++;

    return KVS_OK;
}


/* a key's history, read in a read of its own */

static int
kvs_test_history_n(kvs_store_t *st, char ns, const char *path, size_t len,
    kvs_test_hist_t *h)
{
    int   rc;
    char  err[KVS_STORE_ERRLEN];

    memset(h, 0, sizeof(kvs_test_hist_t));

    if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
        printf("# read_begin: %s\n", err);
        return KVS_ERROR;
    }

    rc = kvs_store_history(st, ns, path, len, kvs_test_hist_add, h);

    kvs_store_read_end(st);

    return rc;
}


static int
kvs_test_history(kvs_store_t *st, const char *path, kvs_test_hist_t *h)
{
    return kvs_test_history_n(st, KVS_NS_DATA, path, strlen(path), h);
}


/*
 * The history holds exactly n versions, newest first: v[newest] with the
 * value values[newest], then v[newest - 1], and so on; each an uncompressed
 * value without flags.
 */

static int
kvs_test_hist_is(const kvs_test_hist_t *h, size_t n, const kvs_version_t *v,
    const char **values, size_t newest)
{
    size_t  i, j, len;

    if (h->n != n) {
        printf("#   history holds %zu versions, want %zu\n", h->n, n);
        return 0;
    }

    for (i = 0; i < n; i++) {
        j = newest - i;
        len = strlen(values[j]);

        if (!kvs_test_same_version(&h->hdr[i].version, &v[j])
            || h->hdr[i].flags != 0 || h->hdr[i].value_len != len
            || h->hdr[i].raw_len != len
            || memcmp(h->value[i], values[j], len) != 0)
        {
            printf("#   history entry %zu: version %llu, %u bytes; want "
                   "version %llu, \"%s\"\n", i,
                   (unsigned long long) h->hdr[i].version.timestamp,
                   h->hdr[i].value_len,
                   (unsigned long long) v[j].timestamp, values[j]);
            return 0;
        }
    }

    return 1;
}


static void
kvs_test_revisions(void)
{
    int               ok;
    char              dir[PATH_MAX], err[KVS_STORE_ERRLEN], *big;
    size_t            i;
    uint64_t          seq;
    kvs_write_t       w[2];
    kvs_store_t      *st;
    kvs_version_t     v[7];
    kvs_test_rec_t    r;
    kvs_test_hist_t   h;

    /* values[5] stands for the DELETE's version, which has none */
    static const char  *values[] = {
        "1", "22", "333", "4444", "55555", "", "666666"
    };

    kvs_test_dir(dir, "revisions");
    st = kvs_test_open(dir, KVS_TEST_MAP);
    kvs_store_set_history(st, 3);

    CHECK(kvs_test_history(st, "h/k", &h) == KVS_OK && h.n == 0,
          "history: a key never written has none");

    kvs_test_put(st, "h/k", values[0], 1000, &v[0]);
    CHECK(kvs_test_history(st, "h/k", &h) == KVS_OK && h.n == 0,
          "history: a key's first write has nothing to keep");

    ok = 1;

    for (i = 1; i < 5; i++) {
        ok &= kvs_test_put(st, "h/k", values[i], 1000 + i * 100, &v[i])
              == KVS_OK;
    }

    CHECK(ok, "history: 5 writes of one key");
    CHECK(kvs_test_history(st, "h/k", &h) == KVS_OK
          && kvs_test_hist_is(&h, 3, v, values, 3),
          "history: after 5 writes, the 3 versions before the current "
          "one, newest first, with their values");
    CHECK(h.n == 3 && h.hdr[0].created_at == 1000
          && h.hdr[2].created_at == 1000 && h.hdr[0].key_len == 0
          && h.hdr[0].format == KVS_RECORD_FORMAT,
          "history: each version with its whole header");

    kvs_test_get(st, "h/k", &r);
    CHECK(r.rc == KVS_OK && kvs_test_same_version(&r.hdr.version, &v[4])
          && r.len == 5 && memcmp(r.value, values[4], 5) == 0,
          "history: the current version is the record itself");

    CHECK(kvs_test_del(st, "h/k", 2000, &v[5]) == KVS_OK
          && kvs_test_history(st, "h/k", &h) == KVS_OK
          && kvs_test_hist_is(&h, 3, v, values, 4),
          "history: a DELETE keeps the last live value, the oldest goes");
    kvs_test_get(st, "h/k", &r);
    CHECK(r.rc == KVS_OK && (r.hdr.flags & KVS_FLAG_TOMBSTONE)
          && kvs_test_same_version(&r.hdr.version, &v[5]),
          "history: and the key is a tombstone");

    seq = kvs_test_seq(st);
    CHECK(kvs_test_del(st, "h/k", 2100, NULL) == KVS_NOT_FOUND
          && kvs_test_seq(st) == seq
          && kvs_test_history(st, "h/k", &h) == KVS_OK
          && kvs_test_hist_is(&h, 3, v, values, 4),
          "history: a DELETE of the tombstone changes nothing");

    CHECK(kvs_test_put(st, "h/k", values[6], 3000, &v[6]) == KVS_OK
          && kvs_test_history(st, "h/k", &h) == KVS_OK
          && kvs_test_hist_is(&h, 3, v, values, 4),
          "history: survives the tombstone, which has no value to keep");
    kvs_test_get(st, "h/k", &r);
    kvs_test_u64(r.hdr.created_at, 3000,
                 "history: the write over the tombstone is a create");

    kvs_store_close(st);

    st = kvs_test_open(dir, KVS_TEST_MAP);
    CHECK(kvs_test_history(st, "h/k", &h) == KVS_OK
          && kvs_test_hist_is(&h, 3, v, values, 4),
          "history: reopened, the history is still there");
    CHECK(kvs_test_history(st, "h/", &h) == KVS_OK && h.n == 0
          && kvs_test_history(st, "h/kk", &h) == KVS_OK && h.n == 0,
          "history: a prefix or an extension of the key has none");
    CHECK(kvs_test_history_n(st, KVS_NS_USER, "h/k", 3, &h) == KVS_OK
          && h.n == 0,
          "history: the same path in another namespace has none");

    /* two writes of one key in one batch: the second keeps the first */

    kvs_test_set(&w[0], KVS_WRITE_PUT, KVS_NS_DATA, "h/b", "\"one\"", 0);
    kvs_test_set(&w[1], KVS_WRITE_PUT, KVS_NS_DATA, "h/b", "\"two\"", 0);
    CHECK(kvs_store_write(st, w, 2, 5000, err, sizeof(err)) == KVS_OK
          && w[0].rc == KVS_OK && w[1].rc == KVS_OK
          && w[1].version.timestamp == 5001,
          "history: a batch writes one key twice");
    CHECK(kvs_test_history(st, "h/b", &h) == KVS_OK && h.n == 1
          && kvs_test_same_version(&h.hdr[0].version, &w[0].version)
          && h.hdr[0].value_len == 5 && memcmp(h.value[0], "\"one\"", 5) == 0,
          "history: the batch's first write is in the history");

    /* values on LMDB's overflow pages are kept whole */

    big = malloc(3 * KVS_TEST_BIG + 3);
    if (big == NULL) {
        kvs_test_bail("malloc", "out of memory");
    }

    for (i = 0; i < 3; i++) {
        memset(big + i * (KVS_TEST_BIG + 1), 'a' + i, KVS_TEST_BIG);
        big[i * (KVS_TEST_BIG + 1)] = '"';
        big[i * (KVS_TEST_BIG + 1) + KVS_TEST_BIG - 1] = '"';
        big[i * (KVS_TEST_BIG + 1) + KVS_TEST_BIG] = '\0';
        kvs_test_put(st, "h/big", big + i * (KVS_TEST_BIG + 1), 6000 + i,
                     &v[i]);
    }

    CHECK(kvs_test_history(st, "h/big", &h) == KVS_OK && h.n == 2
          && h.hdr[0].value_len == KVS_TEST_BIG
          && h.fnv[0] == kvs_test_fnv((uint8_t *) big + KVS_TEST_BIG + 1,
                                      KVS_TEST_BIG)
          && h.fnv[1] == kvs_test_fnv((uint8_t *) big, KVS_TEST_BIG)
          && kvs_test_same_version(&h.hdr[1].version, &v[0]),
          "history: 20,000-byte values are kept whole");

    free(big);

    kvs_store_close(st);
}


/*
 * A peer's version older than the one held, which this node never held,
 * joins the key's history in its place by time (a push that came after a
 * newer one); the same version sent again, a tombstone and a value already
 * expired do not, nor does one older than every version kept.
 */

static void
kvs_test_history_late(void)
{
    char              dir[PATH_MAX];
    size_t            len;
    uint8_t           rec[256];
    kvs_store_t      *a, *b;
    kvs_version_t     v[4];
    kvs_test_hist_t   h;
    kvs_record_hdr_t  hdr;
    const char       *values[] = { "{\"v\":1}", "{\"v\":2}", "{\"v\":3}",
                                   "{\"v\":0}" };

    kvs_test_dir(dir, "late-a");
    a = kvs_test_open(dir, 16 << 20);
    kvs_test_dir(dir, "late-b");
    b = kvs_test_open(dir, 16 << 20);

    /* b: versions 1 and 3; a wrote version 2 between them */
    kvs_test_put(b, "l/x", values[0], 1000, &v[0]);
    kvs_test_put(a, "l/x", values[1], 2000, &v[1]);
    kvs_test_put(b, "l/x", values[2], 3000, &v[2]);
    len = kvs_test_record(a, "l/x", rec);

    CHECK(kvs_test_remote1(b, "l/x", rec, len) == KVS_STALE,
          "late: a peer's version older than the one held is stale");
    CHECK(kvs_test_history(b, "l/x", &h) == KVS_OK
          && kvs_test_hist_is(&h, 2, v, values, 1),
          "late: it is kept in history, before the version that was "
          "newer and after the older one");
    CHECK(kvs_test_remote1(b, "l/x", rec, len) == KVS_STALE
          && kvs_test_history(b, "l/x", &h) == KVS_OK
          && kvs_test_hist_is(&h, 2, v, values, 1),
          "late: sent again, it is kept once");

    /* a value that expired before it arrived held no value to list */
    kvs_record_decode(&hdr, rec, len);
    hdr.version.timestamp = 2500;
    hdr.expires_at = 2600;
    kvs_record_encode(&hdr, rec);
    CHECK(kvs_test_remote_at(b, "l/x", rec, len, 3500) == KVS_STALE
          && kvs_test_history(b, "l/x", &h) == KVS_OK && h.n == 2,
          "late: a version past its expiry is not kept");

    /* the store's history is 3: one older than those kept is trimmed */
    kvs_test_put(b, "l/x", "{\"v\":4}", 4000, NULL);
    kvs_test_put(b, "l/x", "{\"v\":5}", 5000, NULL);
    CHECK(kvs_test_history(b, "l/x", &h) == KVS_OK && h.n == 3
          && h.hdr[2].version.timestamp == 2000,
          "late: three versions kept, the late one the oldest");
    kvs_test_put(a, "l/y", values[3], 500, &v[3]);
    len = kvs_test_record(a, "l/y", rec);
    CHECK(kvs_test_remote1(b, "l/x", rec, len) == KVS_STALE
          && kvs_test_history(b, "l/x", &h) == KVS_OK && h.n == 3
          && h.hdr[2].version.timestamp == 2000,
          "late: one older than the three kept is not kept");

    kvs_store_close(a);
    kvs_store_close(b);
}


/* keys where one path is a prefix of another keep their histories apart */

static void
kvs_test_revisions_apart(void)
{
    int               ok;
    char              dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    char              p1[KVS_KEY_MAX + 1], p2[KVS_KEY_MAX + 1];
    char              p449[KVS_TEST_INLINE + 2];
    char              vals[6][3][16];
    size_t            i, j;
    kvs_write_t       w;
    kvs_store_t      *st;
    kvs_version_t     v[6][3];
    kvs_test_hist_t   h;
    const char       *keys[6], *want[3];

    static const char  *descs[] = {
        "history apart: \"a\" has only its own versions",
        "history apart: \"ab\" has only its own",
        "history apart: \"a/b\" has only its own",
        "history apart: a 1024-byte key has only its own",
        "history apart: a 1024-byte key differing in its last byte has "
        "only its own",
        "history apart: a 449-byte key has only its own"
    };

    memset(p1, 'p', KVS_KEY_MAX);
    memcpy(p1, "long/", 5);
    p1[KVS_KEY_MAX - 1] = '1';
    p1[KVS_KEY_MAX] = '\0';
    memcpy(p2, p1, sizeof(p2));
    p2[KVS_KEY_MAX - 1] = '2';
    memset(p449, 'q', KVS_TEST_INLINE + 1);
    p449[KVS_TEST_INLINE + 1] = '\0';

    keys[0] = "a";
    keys[1] = "ab";
    keys[2] = "a/b";
    keys[3] = p1;
    keys[4] = p2;
    keys[5] = p449;

    kvs_test_dir(dir, "revisions-apart");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    /* the keys' writes interleaved, each value naming its key and round */

    ok = 1;

    for (j = 0; j < 3; j++) {
        for (i = 0; i < 6; i++) {
            snprintf(vals[i][j], sizeof(vals[i][j]), "\"k%zu.%zu\"", i, j);
            ok &= kvs_test_put(st, keys[i], vals[i][j], 1000 + j * 10 + i,
                               &v[i][j])
                  == KVS_OK;
        }
    }

    kvs_test_set(&w, KVS_WRITE_PUT, KVS_NS_USER, "a", "\"user\"", 0);
    ok &= kvs_store_write(st, &w, 1, 2000, err, sizeof(err)) == KVS_OK
          && w.rc == KVS_OK;
    kvs_test_set(&w, KVS_WRITE_PUT, KVS_NS_USER, "a", "\"user2\"", 0);
    ok &= kvs_store_write(st, &w, 1, 2001, err, sizeof(err)) == KVS_OK
          && w.rc == KVS_OK;

    CHECK(ok, "history apart: 3 writes of each of 6 keys, 2 of \"a\" in "
          "another namespace");

    for (i = 0; i < 6; i++) {
        for (j = 0; j < 3; j++) {
            want[j] = vals[i][j];
        }

        CHECK(kvs_test_history(st, keys[i], &h) == KVS_OK
              && kvs_test_hist_is(&h, 2, v[i], want, 1),
              descs[i]);
    }

    CHECK(kvs_test_history(st, p1, &h) == KVS_OK && h.n == 2
          && h.hdr[0].key_len == KVS_KEY_MAX
          && h.hdr[1].key_len == KVS_KEY_MAX,
          "history apart: a long key's versions keep its length in their "
          "headers");

    CHECK(kvs_test_history_n(st, KVS_NS_USER, "a", 1, &h) == KVS_OK
          && h.n == 1 && h.hdr[0].value_len == 6
          && memcmp(h.value[0], "\"user\"", 6) == 0,
          "history apart: \"a\" of another namespace has its own one");

    kvs_store_close(st);
}


/* the keys of earlier versions in kv, as kvs_store_index.c writes them:
 * the key (namespace and a path of up to 448 bytes), a zero byte, be64
 * timestamp, uuid */

static size_t
kvs_test_rkey(uint8_t *buf, const char *path, const kvs_version_t *v)
{
    size_t  len;

    len = strlen(path);

    buf[0] = KVS_NS_DATA;
    memcpy(buf + 1, path, len);
    buf[1 + len] = 0;
    kvs_put_be64(buf + 2 + len, v->timestamp);
    memcpy(buf + 2 + len + 8, v->uuid, KVS_UUID_LEN);

    return 2 + len + 8 + KVS_UUID_LEN;
}


/* a purged tombstone takes its key's history along, and only its own */

static void
kvs_test_revisions_purge(void)
{
    int              n;
    char             dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    size_t           klen;
    uint8_t          k[2 + 1 + KVS_KEY_MAX + 8 + KVS_UUID_LEN];
    kvs_store_resume_t  from;
    kvs_store_t     *st;
    kvs_version_t    vp[2], vq;
    kvs_test_raw_t   raw;
    kvs_test_hist_t  h;

    static const char  *values[] = { "1", "22" };

    kvs_test_dir(dir, "revisions-purge");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    kvs_test_put(st, "h/p", values[0], 1000, &vp[0]);
    kvs_test_put(st, "h/p", values[1], 1001, &vp[1]);
    kvs_test_del(st, "h/p", 1002, NULL);
    kvs_test_put(st, "h/q", "1", 1000, &vq);
    kvs_test_put(st, "h/q", "2", 1001, NULL);

    CHECK(kvs_test_history(st, "h/p", &h) == KVS_OK
          && kvs_test_hist_is(&h, 2, vp, values, 1),
          "history purge: the deleted key's history holds its 2 values");

    from.len = 0;
    n = kvs_store_purge(st, 1002, 100, &from, err, sizeof(err));
    CHECK(n == 0 && kvs_test_history(st, "h/p", &h) == KVS_OK && h.n == 2,
          "history purge: a tombstone not older than the bound keeps its "
          "history");

    from.len = 0;
    n = kvs_store_purge(st, 5000, 100, &from, err, sizeof(err));
    CHECK(n == 1, "history purge: the tombstone past its age goes");
    CHECK(kvs_test_history(st, "h/p", &h) == KVS_OK && h.n == 0,
          "history purge: and its history with it");
    CHECK(kvs_test_history(st, "h/q", &h) == KVS_OK && h.n == 1
          && kvs_test_same_version(&h.hdr[0].version, &vq),
          "history purge: a live key's history stays");

    kvs_store_close(st);

    if (kvs_test_raw_open(&raw, dir, 0) != 0) {
        kvs_test_bail("raw open", dir);
    }

    kvs_test_u64(kvs_test_raw_revs(&raw), 1,
                 "history purge: kv holds one earlier version");
    klen = kvs_test_rkey(k, "h/q", &vq);
    CHECK(kvs_test_has(&raw, "kv", k, klen)
          && kvs_test_raw_count(&raw, "rev") == 0,
          "history purge: the live key's, under (key, 0, version), "
          "nothing in rev");

    kvs_test_raw_close(&raw, 0);

    /* a store with the purged key alone has nothing left in rev */

    kvs_test_dir(dir, "revisions-purge-1");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    kvs_test_put(st, "h/p", "1", 1000, NULL);
    kvs_test_put(st, "h/p", "2", 1001, NULL);
    kvs_test_del(st, "h/p", 1002, NULL);

    from.len = 0;
    n = kvs_store_purge(st, 5000, 100, &from, err, sizeof(err));
    kvs_store_close(st);

    if (kvs_test_raw_open(&raw, dir, 0) != 0) {
        kvs_test_bail("raw open", dir);
    }

    CHECK(n == 1 && kvs_test_raw_revs(&raw) == 0
          && kvs_test_raw_count(&raw, "kv") == 0,
          "history purge: the only key purged, kv is empty, and meta "
          "counts no earlier version");

    kvs_test_raw_close(&raw, 0);
}


/*
 * The history setting: 3 unless set; 0 keeps nothing and drops a key's
 * history at its next write; a lower setting trims at the next write.
 * Reads honour the setting at once; what rev holds until a key's next
 * write is looked at in rev itself, and as a store opens with the default,
 * the setting is made again after each look.
 */

static size_t
kvs_test_rev_count(kvs_store_t **st, const char *dir, unsigned history,
    const char *path, const kvs_version_t *v)
{
    size_t          n, klen;
    uint8_t         k[2 + 1 + KVS_KEY_MAX + 8 + KVS_UUID_LEN];
    kvs_test_raw_t  raw;

    kvs_store_close(*st);

    if (kvs_test_raw_open(&raw, dir, 0) != 0) {
        kvs_test_bail("raw open", dir);
    }

    n = kvs_test_raw_revs(&raw);

    if (path) {
        klen = kvs_test_rkey(k, path, v);

        if (!kvs_test_has(&raw, "kv", k, klen)) {
            printf("#   kv has no version %llu of \"%s\"\n",
                   (unsigned long long) v->timestamp, path);
            n = (size_t) -1;
        }
    }

    kvs_test_raw_close(&raw, 0);

    *st = kvs_test_open(dir, KVS_TEST_MAP);
    kvs_store_set_history(*st, history);

    return n;
}


/*
 * A path of exactly 448 bytes and a longer one that begins with it: the
 * long one's key is those 448 bytes and its SHA-256, and when the digest
 * begins with a zero byte that key shares the prefix "<path>\0" of the
 * short path's earlier versions.  The suffixes were searched for: the
 * SHA-256 of "<p>/30" begins 00 e0 (after versions of any timestamp
 * below 0xe0 << 56), of "<p>/1639" 00 2d (before those of a timestamp of
 * 0x40 << 56).  The history, its trim and a listing pass such a key over.
 */

/* a path of exactly KVS_TEST_INLINE bytes, "h/xxx…", into p */

static void
kvs_test_path_inline(char *p)
{
    memset(p, 'x', KVS_TEST_INLINE);
    p[0] = 'h';
    p[1] = '/';
    p[KVS_TEST_INLINE] = '\0';
}


/* the earlier versions kv holds in the closed store in dir, when meta
 * counts as many; (size_t) -1 otherwise */

static size_t
kvs_test_revs_in(const char *dir)
{
    size_t          revs;
    kvs_test_raw_t  raw;

    revs = (size_t) -1;

    if (kvs_test_raw_open(&raw, dir, 0) == 0) {
        revs = kvs_test_raw_revs(&raw);
        kvs_test_raw_close(&raw, 0);
    }

    return revs;
}


static int
kvs_test_count_path(const char *path, size_t len, int is_prefix, void *data)
{
    (void) path;
    (void) is_prefix;

    /* the three paths of the test: 448 bytes, and it with "/30", "/1639" */
    if (len != KVS_TEST_INLINE && len != KVS_TEST_INLINE + 3
        && len != KVS_TEST_INLINE + 5)
    {
        return KVS_ERROR;
    }

    (*(int *) data)++;

    return KVS_OK;
}


static void
kvs_test_revisions_neighbour(void)
{
    int               n;
    char              dir[PATH_MAX], p[KVS_TEST_INLINE + 1];
    char              after[KVS_TEST_INLINE + 8], before[KVS_TEST_INLINE + 8];
    size_t            i;
    uint64_t          t;
    kvs_store_t      *st;
    int               more;
    char              err[KVS_STORE_ERRLEN];
    kvs_test_hist_t   h;

    kvs_test_path_inline(p);
    snprintf(after, sizeof(after), "%s/30", p);
    snprintf(before, sizeof(before), "%s/1639", p);

    kvs_test_dir(dir, "revisions-neighbour");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    /* versions of small timestamps: the long key sorts after them */
    n = 0;
    for (i = 1; i <= 3; i++) {
        n += kvs_test_put(st, p, "{\"v\":1}", 1000 * i, NULL) == KVS_OK;
    }
    n += kvs_test_put(st, after, "{\"v\":9}", 5000, NULL) == KVS_OK;
    CHECK(n == 4, "neighbour: three versions of a 448-byte path, a longer "
          "path under it");
    CHECK(kvs_test_history(st, p, &h) == KVS_OK && h.n == 2,
          "neighbour: its two earlier versions, not stopped by the long "
          "key after them");

    /* versions of a timestamp of 0x40 << 56: the other long key sorts
     * before them, and trimming passes it over */
    t = (uint64_t) 0x40 << 56;
    n = kvs_test_put(st, before, "{\"v\":8}", t, NULL) == KVS_OK;
    for (i = 1; i <= 6; i++) {
        n += kvs_test_put(st, p, "{\"v\":2}", t + i, NULL) == KVS_OK;
    }
    CHECK(n == 7, "neighbour: six more versions, a long key before them");
    CHECK(kvs_test_history(st, p, &h) == KVS_OK && h.n == 3,
          "neighbour: the history reads the newest three");

    n = -1;
    if (kvs_store_read_begin(st, err, sizeof(err)) == KVS_OK) {
        n = 0;
        if (kvs_store_list(st, KVS_NS_DATA, "h/", 2, NULL, 0, 1, 100, t + 7,
                           kvs_test_count_path, &n, &more)
            != KVS_OK)
        {
            n = -1;
        }
        kvs_store_read_end(st);
    }
    CHECK(n == 3, "neighbour: a listing has the three paths, no version");

    kvs_store_close(st);

    CHECK(kvs_test_revs_in(dir) == 3, "neighbour: the trim left three "
          "earlier versions in kv, as meta counts them");
}


/*
 * A listing in path order across that prefix: the long keys that begin
 * with a 448-byte path come as one block, sorted by path, though that
 * path's versions sort among them.  The SHA-256 of "<p>/z1278" begins
 * 00 32, before versions of a timestamp of 0x40 << 56; of "<p>/a", 8a,
 * after them.
 */

typedef struct {
    size_t  n;
    size_t  len[8];
} kvs_test_lens_t;


static int
kvs_test_lens_add(const char *path, size_t len, int is_prefix, void *data)
{
    kvs_test_lens_t *l = data;

    (void) path;
    (void) is_prefix;

    if (l->n == 8) {
        return KVS_ERROR;
    }

    l->len[l->n++] = len;

    return KVS_OK;
}


static void
kvs_test_listing_neighbour(void)
{
    int               n, more;
    char              dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    char              p[KVS_TEST_INLINE + 1], a[KVS_TEST_INLINE + 8];
    char              z[KVS_TEST_INLINE + 8];
    uint64_t          t;
    kvs_store_t      *st;
    kvs_test_lens_t   l;

    kvs_test_path_inline(p);
    snprintf(a, sizeof(a), "%s/a", p);
    snprintf(z, sizeof(z), "%s/z1278", p);

    kvs_test_dir(dir, "listing-neighbour");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    t = (uint64_t) 0x40 << 56;
    n = kvs_test_put(st, z, "{\"v\":1}", t, NULL) == KVS_OK;
    n += kvs_test_put(st, a, "{\"v\":2}", t, NULL) == KVS_OK;
    n += kvs_test_put(st, p, "{\"v\":3}", t + 1, NULL) == KVS_OK;
    n += kvs_test_put(st, p, "{\"v\":4}", t + 2, NULL) == KVS_OK;
    CHECK(n == 4, "listing neighbour: a 448-byte path with a version "
          "kept, two longer paths under it");

    memset(&l, 0, sizeof(l));
    n = KVS_ERROR;
    if (kvs_store_read_begin(st, err, sizeof(err)) == KVS_OK) {
        n = kvs_store_list(st, KVS_NS_DATA, "h/", 2, NULL, 0, 1, 100, t + 3,
                           kvs_test_lens_add, &l, &more);
        kvs_store_read_end(st);
    }
    CHECK(n == KVS_OK && l.n == 3 && l.len[0] == KVS_TEST_INLINE
          && l.len[1] == KVS_TEST_INLINE + 2
          && l.len[2] == KVS_TEST_INLINE + 6,
          "listing neighbour: the three paths in path order");

    kvs_store_close(st);
}


/*
 * A tie resolved one way, then back, then the first way again: the
 * version replaced the second time is one history keeps already, and
 * meta counts it once.
 */

static void
kvs_test_revisions_flip(void)
{
    int            n;
    char           dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    size_t         la, lb, i;
    uint8_t        ra[KVS_RECORD_HDR_SIZE + 64], rb[sizeof(ra)];
    uint64_t       count;
    kvs_store_t   *a, *b;
    kvs_write_t    w;

    kvs_test_dir(dir, "revisions-flip-b");
    b = kvs_test_open(dir, KVS_TEST_MAP);
    kvs_test_dir(dir, "revisions-flip-a");
    a = kvs_test_open(dir, KVS_TEST_MAP);

    /* the same timestamp, each node's own uuid */
    CHECK(kvs_test_put(a, "f/x", "{\"v\":1}", 5000, NULL) == KVS_OK
          && kvs_test_put(b, "f/x", "{\"v\":2}", 5000, NULL) == KVS_OK,
          "flip: two versions of one timestamp");
    la = kvs_test_record(a, "f/x", ra);
    lb = kvs_test_record(b, "f/x", rb);

    n = 0;
    for (i = 0; i < 3; i++) {
        kvs_test_set(&w, KVS_WRITE_REMOTE, KVS_NS_DATA, "f/x", NULL, 0);
        w.value = i % 2 ? ra : rb;
        w.value_len = i % 2 ? la : lb;
        w.resolved = 1;
        n += kvs_store_write(a, &w, 1, 6000, err, sizeof(err)) == KVS_OK
             && w.rc == KVS_OK;
    }
    CHECK(n == 3, "flip: the tie resolved to b, to a, to b");

    count = 0;
    if (kvs_store_read_begin(a, err, sizeof(err)) == KVS_OK) {
        if (kvs_store_count(a, &count) != KVS_OK) {
            count = 0;
        }
        kvs_store_read_end(a);
    }
    CHECK(count == 1, "flip: the store counts one record");

    kvs_store_close(a);
    kvs_store_close(b);

    CHECK(kvs_test_revs_in(dir) == 2, "flip: kv keeps the two earlier "
          "versions, and meta counts two");
}


static void
kvs_test_revisions_setting(void)
{
    int               ok;
    char              dir[PATH_MAX];
    size_t            i;
    kvs_store_t      *st;
    kvs_version_t     v[8], vo;
    kvs_test_hist_t   h;

    static const char  *values[] = {
        "0", "1", "2", "3", "4", "5", "6", "7"
    };

    kvs_test_dir(dir, "revisions-setting");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    ok = 1;

    for (i = 0; i < 5; i++) {
        ok &= kvs_test_put(st, "h/k", values[i], 1000 + i, &v[i]) == KVS_OK;
    }

    ok &= kvs_test_put(st, "h/o", "1", 1000, &vo) == KVS_OK;
    ok &= kvs_test_put(st, "h/o", "2", 1001, NULL) == KVS_OK;

    CHECK(ok && kvs_test_history(st, "h/k", &h) == KVS_OK
          && kvs_test_hist_is(&h, 3, v, values, 3),
          "history setting: 3 versions kept when never set");

    kvs_store_set_history(st, 0);
    CHECK(kvs_test_history(st, "h/k", &h) == KVS_OK && h.n == 0,
          "history setting: set to 0, reads show none at once");
    kvs_test_u64(kvs_test_rev_count(&st, dir, 0, "h/k", &v[1]), 4,
                 "history setting: set to 0, rev holds what it held until "
                 "the keys are written");

    CHECK(kvs_test_put(st, "h/k", values[5], 2000, &v[5]) == KVS_OK
          && kvs_test_history(st, "h/k", &h) == KVS_OK && h.n == 0,
          "history setting: 0, the key's next write drops its history");
    kvs_test_u64(kvs_test_rev_count(&st, dir, 0, "h/o", &vo), 1,
                 "history setting: 0, other keys keep theirs in rev "
                 "meanwhile");

    CHECK(kvs_test_del(st, "h/o", 2000, NULL) == KVS_OK
          && kvs_test_history(st, "h/o", &h) == KVS_OK && h.n == 0,
          "history setting: 0, a DELETE keeps nothing and drops the rest");

    CHECK(kvs_test_put(st, "h/k", values[6], 2001, &v[6]) == KVS_OK
          && kvs_test_put(st, "h/k", values[7], 2002, &v[7]) == KVS_OK
          && kvs_test_history(st, "h/k", &h) == KVS_OK && h.n == 0,
          "history setting: 0, more writes keep nothing");
    kvs_test_u64(kvs_test_rev_count(&st, dir, 0, NULL, NULL), 0,
                 "history setting: 0, rev is empty once both keys were "
                 "written");

    kvs_store_set_history(st, 3);

    ok = 1;

    for (i = 0; i < 5; i++) {
        ok &= kvs_test_put(st, "h/k", values[i], 3000 + i, &v[i]) == KVS_OK;
    }

    CHECK(ok && kvs_test_history(st, "h/k", &h) == KVS_OK
          && kvs_test_hist_is(&h, 3, v, values, 3),
          "history setting: back to 3, 3 versions again");

    kvs_store_set_history(st, 1);
    CHECK(kvs_test_history(st, "h/k", &h) == KVS_OK
          && kvs_test_hist_is(&h, 1, v, values, 3),
          "history setting: lowered to 1, reads show the newest at once");
    kvs_test_u64(kvs_test_rev_count(&st, dir, 1, "h/k", &v[1]), 3,
                 "history setting: while rev keeps all 3 until the write");

    CHECK(kvs_test_put(st, "h/k", values[5], 4000, &v[5]) == KVS_OK
          && kvs_test_history(st, "h/k", &h) == KVS_OK
          && kvs_test_hist_is(&h, 1, v, values, 4),
          "history setting: lowered to 1, the next write keeps only the "
          "version it replaced");
    kvs_test_u64(kvs_test_rev_count(&st, dir, 1, "h/k", &v[4]), 1,
                 "history setting: 1, and rev holds only that one");

    kvs_store_close(st);
}


/*
 * TTL: expires_at is the version's timestamp plus the write's TTL; a record
 * reads as gone from then on; the sweep drops its value but keeps its
 * version, so the Merkle trees of nodes that swept and nodes that did not
 * yet agree.
 */

static int
kvs_test_expire(kvs_store_t *st, uint64_t now, size_t max)
{
    int   n;
    char  err[KVS_STORE_ERRLEN];

    n = kvs_store_expire(st, now, max, err, sizeof(err));

    if (n < 0) {
        printf("# expire: %s\n", err);
    }

    return n;
}


static void
kvs_test_ttl(void)
{
    char             dir[PATH_MAX];
    kvs_store_t     *st;
    kvs_version_t    v1, v2, vd, vc;
    kvs_test_rec_t   r;
    kvs_test_hist_t  h;
    uint64_t         seq;

    kvs_test_dir(dir, "ttl");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    kvs_test_write1(st, KVS_WRITE_PUT, "t/a", "1", 500, 1000, &v1);
    kvs_test_get(st, "t/a", &r);
    CHECK(r.rc == KVS_OK && r.hdr.flags == 0 && r.len == 1
          && kvs_test_same_version(&r.hdr.version, &v1),
          "ttl: a PUT with a TTL is a live record");
    kvs_test_u64(r.hdr.expires_at, 1500,
                 "ttl: expires_at is the version's timestamp + ttl_ms");

    kvs_test_write1(st, KVS_WRITE_PUT, "t/a", "2", 500, 1000, &v2);
    kvs_test_get(st, "t/a", &r);
    kvs_test_u64(v2.timestamp, 1001, "ttl: an overwrite at the same now");
    kvs_test_u64(r.hdr.expires_at, 1501,
                 "ttl: counts from the version's timestamp, not from now");

    CHECK(kvs_record_live(&r.hdr, 1000) && kvs_record_live(&r.hdr, 1500),
          "ttl: live before expires_at");
    CHECK(!kvs_record_live(&r.hdr, 1501) && !kvs_record_live(&r.hdr, 1502),
          "ttl: not live at expires_at and after");

    kvs_test_write1(st, KVS_WRITE_PUT, "t/a", "3", 0, 1000, NULL);
    kvs_test_get(st, "t/a", &r);
    CHECK(r.rc == KVS_OK && r.hdr.expires_at == 0
          && kvs_record_live(&r.hdr, UINT64_MAX),
          "ttl: an overwrite without a TTL never expires");

    /* a record past its expiry, not swept yet, is as good as absent */

    kvs_test_write1(st, KVS_WRITE_PUT, "t/u", "\"old\"", 100, 1000, NULL);
    CHECK(kvs_test_cond(st, KVS_WRITE_PUT, "t/u", 0, NULL, 1, 0) == KVS_OK,
          "ttl: create-only over an expired record writes");
    kvs_test_get(st, "t/u", &r);
    CHECK(r.rc == KVS_OK && r.hdr.flags == 0 && r.hdr.expires_at == 0
          && r.len == 1 && r.value[0] == '1',
          "ttl: the new record replaces the expired one");
    kvs_test_u64(r.hdr.created_at, 5000,
                 "ttl: a PUT over an expired record is a create: "
                 "created_at is the new timestamp");
    CHECK(kvs_test_history(st, "t/u", &h) == KVS_OK && h.n == 0,
          "ttl: the expired version does not join the history");

    kvs_test_write1(st, KVS_WRITE_PUT, "t/d", "\"old\"", 100, 1000, &vd);
    seq = kvs_test_seq(st);
    CHECK(kvs_test_del(st, "t/d", 2000, NULL) == KVS_NOT_FOUND
          && kvs_test_seq(st) == seq,
          "ttl: DELETE of an expired record: KVS_NOT_FOUND, no write");
    kvs_test_get(st, "t/d", &r);
    CHECK(r.rc == KVS_OK && r.hdr.flags == 0
          && kvs_test_same_version(&r.hdr.version, &vd),
          "ttl: and the expired record is left as it was");
    CHECK(kvs_test_cond(st, KVS_WRITE_PUT, "t/d", 0, NULL, 0, 1)
          == KVS_PRECONDITION,
          "ttl: must-exist over an expired record fails");
    CHECK(kvs_test_cond(st, KVS_WRITE_PUT, "t/d", 1, &vd, 0, 0)
          == KVS_PRECONDITION,
          "ttl: If-Match of an expired version fails");

    /* one millisecond before expiry it is still there */

    kvs_test_write1(st, KVS_WRITE_PUT, "t/c", "\"c\"", 4001, 1000, &vc);
    CHECK(kvs_test_cond(st, KVS_WRITE_PUT, "t/c", 0, NULL, 1, 0)
          == KVS_PRECONDITION,
          "ttl: create-only over a record about to expire fails");
    CHECK(kvs_test_cond(st, KVS_WRITE_PUT, "t/c", 1, &vc, 0, 0) == KVS_OK,
          "ttl: If-Match of a record about to expire writes");
    kvs_test_get(st, "t/c", &r);
    kvs_test_u64(r.hdr.created_at, 1000,
                 "ttl: an overwrite before expiry keeps created_at");

    kvs_store_close(st);
}


/*
 * A live record has no by_time entry (schema version 4); the sweep that
 * empties it gives it one, so that the purge finds it once its expiry is
 * as old as a tombstone has to be.
 */

/* more entries of one millisecond than a purge call scans: the purge went
 * on from their timestamp, so it scanned the same ones at every call and
 * never reached what came after them */

static void
kvs_test_purge_same_ms(void)
{
    int                 n, i, total, calls;
    char                dir[PATH_MAX], err[KVS_STORE_ERRLEN], path[32];
    kvs_store_t        *st;
    kvs_test_rec_t      r;
    kvs_store_resume_t  from;

    kvs_test_dir(dir, "purge-same-ms");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    /* 25 records of the same millisecond, swept, not yet old enough */
    for (i = 0; i < 25; i++) {
        snprintf(path, sizeof(path), "sm/a%02d", i);
        kvs_test_write1(st, KVS_WRITE_PUT, path, "1", 5000, 1000, NULL);
    }

    kvs_test_put(st, "sm/z", "1", 1000, NULL);
    kvs_test_del(st, "sm/z", 1000, NULL);

    CHECK(kvs_test_expire(st, 7000, 100) == 25,
          "purge same ms: 25 records of one millisecond are swept");

    total = 0;
    from.len = 0;

    for (calls = 0; calls < 20; calls++) {
        n = kvs_store_purge(st, 3000, 10, &from, err, sizeof(err));
        if (n < 0) {
            break;
        }

        total += n;

        if (from.len == 0) {
            break;
        }
    }

    CHECK(total == 1 && calls < 20,
          "purge same ms: calls of 10 get past 25 entries of one "
          "millisecond to the tombstone after them");
    CHECK(kvs_test_get(st, "sm/z", &r) == KVS_NOT_FOUND,
          "purge same ms: the tombstone is purged");
    CHECK(kvs_test_get(st, "sm/a00", &r) == KVS_OK
          && (r.hdr.flags & KVS_FLAG_EXPIRED)
          && kvs_test_get(st, "sm/a24", &r) == KVS_OK
          && (r.hdr.flags & KVS_FLAG_EXPIRED),
          "purge same ms: the swept records, not old enough, stay");

    kvs_store_close(st);
}


static void
kvs_test_sweep_by_time(void)
{
    int              n;
    char             dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    size_t           klen;
    uint8_t          k[16 + KVS_KEY_MAX];
    uint64_t         count;
    kvs_store_resume_t  from;
    kvs_store_t     *st;
    kvs_version_t    v;
    kvs_test_rec_t   r;
    kvs_test_raw_t   raw;

    kvs_test_dir(dir, "sweep-by-time");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    kvs_test_write1(st, KVS_WRITE_PUT, "sb/x", "\"x\"", 500, 1000, &v);
    kvs_test_write1(st, KVS_WRITE_PUT, "sb/keep", "\"k\"", 0, 1000, NULL);
    kvs_store_close(st);

    if (kvs_test_raw_open(&raw, dir, 0) != 0) {
        kvs_test_bail("raw open", dir);
    }

    kvs_test_u64(kvs_test_raw_count(&raw, "by_time"), 0,
                 "sweep by_time: live records have no by_time entry");
    kvs_test_raw_close(&raw, 0);

    st = kvs_test_open(dir, KVS_TEST_MAP);
    CHECK(kvs_test_expire(st, 2000, 100) == 1,
          "sweep by_time: the record with a TTL is swept");
    kvs_store_close(st);

    if (kvs_test_raw_open(&raw, dir, 0) != 0) {
        kvs_test_bail("raw open", dir);
    }

    klen = kvs_test_ikey(k, v.timestamp, "sb/x");
    CHECK(kvs_test_has(&raw, "by_time", k, klen)
          && kvs_test_raw_count(&raw, "by_time") == 1,
          "sweep by_time: the swept record joins by_time, at its version");
    kvs_test_raw_close(&raw, 0);

    st = kvs_test_open(dir, KVS_TEST_MAP);

    from.len = 0;
    n = kvs_store_purge(st, 3000, 100, &from, err, sizeof(err));
    CHECK(n == 1 && from.len == 0, "sweep by_time: the purge takes it");
    CHECK(kvs_test_get(st, "sb/x", &r) == KVS_NOT_FOUND
          && kvs_test_get(st, "sb/keep", &r) == KVS_OK,
          "sweep by_time: it is gone, the record without TTL stays");

    kvs_store_read_begin(st, err, sizeof(err));
    kvs_store_count(st, &count);
    kvs_store_read_end(st);
    kvs_test_u64(count, 1, "sweep by_time: one record left");

    kvs_store_close(st);
}


static void
kvs_test_sweep(void)
{
    int              n;
    char             dir[PATH_MAX];
    size_t           klen;
    uint8_t          k[16 + KVS_KEY_MAX];
    uint8_t          before[KVS_MERKLE_DIGEST_LEN];
    uint8_t          after[KVS_MERKLE_DIGEST_LEN];
    uint64_t         seq;
    MDB_val          val;
    kvs_store_t     *st;
    kvs_version_t    va, vc, vs, vr;
    kvs_test_rec_t   r;
    kvs_test_raw_t   raw;
    kvs_test_hist_t  h;
    const char      *keys[6];

    keys[0] = "e/a";
    keys[1] = "e/b";
    keys[2] = "e/c";
    keys[3] = "e/keep";
    keys[4] = "e/s";
    keys[5] = "e/r";

    kvs_test_dir(dir, "sweep");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    kvs_test_write1(st, KVS_WRITE_PUT, "e/a", "\"aaa\"", 500, 1000, &va);
    kvs_test_write1(st, KVS_WRITE_PUT, "e/b", "\"b\"", 1000, 1000, NULL);
    kvs_test_write1(st, KVS_WRITE_PUT, "e/c", "\"c\"", 1500, 1000, &vc);
    kvs_test_write1(st, KVS_WRITE_PUT, "e/keep", "\"k\"", 0, 1000, NULL);

    kvs_test_bucket(st, kvs_test_bucket_of("e/a"), before);
    seq = kvs_test_seq(st);

    n = kvs_test_expire(st, 1499, 100);
    kvs_test_get(st, "e/a", &r);
    CHECK(n == 0 && r.rc == KVS_OK && r.hdr.flags == 0 && r.len == 5,
          "sweep: nothing before the first expiry");

    n = kvs_test_expire(st, 1500, 100);
    kvs_test_u64(n, 1, "sweep: at expires_at, the record is swept");

    kvs_test_get(st, "e/a", &r);
    CHECK(r.rc == KVS_OK && r.hdr.flags == KVS_FLAG_EXPIRED,
          "sweep: the record is flagged expired");
    CHECK(r.hdr.value_len == 0 && r.hdr.raw_len == 0,
          "sweep: its value is dropped");
    CHECK(kvs_test_same_version(&r.hdr.version, &va)
          && r.hdr.created_at == 1000 && r.hdr.expires_at == 1500,
          "sweep: the same version, created_at and expires_at");

    kvs_test_bucket(st, kvs_test_bucket_of("e/a"), after);
    CHECK(memcmp(before, after, KVS_MERKLE_DIGEST_LEN) == 0,
          "sweep: the Merkle bucket's digest is unchanged");
    CHECK(kvs_test_bucket_consistent(st, kvs_test_bucket_of("e/a"), keys, 4),
          "sweep: and still that of the records' versions");
    kvs_test_u64(kvs_test_seq(st), seq,
                 "sweep: not a write of the change feed");

    CHECK(kvs_test_expire(st, 1500, 100) == 0,
          "sweep: a record is swept once");
    CHECK(kvs_test_del(st, "e/a", 1600, NULL) == KVS_NOT_FOUND,
          "sweep: DELETE of a swept record: KVS_NOT_FOUND");

    n = kvs_test_expire(st, 5000, 1);
    kvs_test_get(st, "e/b", &r);
    CHECK(n == 1 && r.hdr.flags == KVS_FLAG_EXPIRED,
          "sweep: max 1 sweeps one record, the earliest to expire");
    kvs_test_get(st, "e/c", &r);
    CHECK(r.rc == KVS_OK && r.hdr.flags == 0 && r.len == 3,
          "sweep: and leaves the next one for the next sweep");

    n = kvs_test_expire(st, 5000, 100);
    kvs_test_get(st, "e/c", &r);
    CHECK(n == 1 && r.hdr.flags == KVS_FLAG_EXPIRED
          && kvs_test_same_version(&r.hdr.version, &vc),
          "sweep: which sweeps it");
    kvs_test_get(st, "e/keep", &r);
    CHECK(r.rc == KVS_OK && r.hdr.flags == 0 && r.len == 3,
          "sweep: a record without TTL is never swept");

    kvs_test_write1(st, KVS_WRITE_PUT, "e/a", "\"new\"", 0, 6000, NULL);
    kvs_test_get(st, "e/a", &r);
    CHECK(r.rc == KVS_OK && r.hdr.flags == 0 && r.hdr.created_at == 6000
          && kvs_test_history(st, "e/a", &h) == KVS_OK && h.n == 0,
          "sweep: a PUT over a swept record is a create, with no history");

    /* the index entry of a record since overwritten */

    kvs_test_write1(st, KVS_WRITE_PUT, "e/s", "\"s\"", 100, 7000, NULL);
    kvs_test_write1(st, KVS_WRITE_PUT, "e/s", "\"t\"", 0, 7050, &vs);
    kvs_test_write1(st, KVS_WRITE_PUT, "e/r", "\"r\"", 100, 7000, NULL);
    kvs_test_write1(st, KVS_WRITE_PUT, "e/r", "\"q\"", 10000, 7000, &vr);

    CHECK(kvs_test_expire(st, 8000, 100) == 0,
          "sweep: an overwrite took the old expiry entry away");

    kvs_store_close(st);

    /* an entry left behind all the same (a crash of an older build, a
     * restore) is dropped and the record left alone */

    if (kvs_test_raw_open(&raw, dir, 1) != 0) {
        kvs_test_bail("raw open", dir);
    }

    klen = kvs_test_ikey(k, 7100, "e/s");
    kvs_test_raw_put(&raw, "expiry", k, klen, "", 0);
    klen = kvs_test_ikey(k, 7100, "e/r");
    kvs_test_raw_put(&raw, "expiry", k, klen, "", 0);
    klen = kvs_test_ikey(k, 7200, "e/none");
    kvs_test_raw_put(&raw, "expiry", k, klen, "", 0);

    if (kvs_test_raw_close(&raw, 1) != 0) {
        kvs_test_bail("raw commit", dir);
    }

    st = kvs_test_open(dir, KVS_TEST_MAP);

    seq = kvs_test_seq(st);
    n = kvs_test_expire(st, 8000, 100);
    kvs_test_u64(n, 0, "sweep: stale expiry entries sweep nothing");

    kvs_test_get(st, "e/s", &r);
    CHECK(r.rc == KVS_OK && r.hdr.flags == 0 && r.hdr.expires_at == 0
          && kvs_test_same_version(&r.hdr.version, &vs)
          && r.len == 3 && memcmp(r.value, "\"t\"", 3) == 0,
          "sweep: the record overwritten without TTL is untouched");
    kvs_test_get(st, "e/r", &r);
    CHECK(r.rc == KVS_OK && r.hdr.flags == 0 && r.hdr.expires_at == 17001
          && kvs_test_same_version(&r.hdr.version, &vr)
          && r.len == 3 && memcmp(r.value, "\"q\"", 3) == 0,
          "sweep: the record overwritten with a later TTL is untouched");
    CHECK(kvs_test_get(st, "e/none", &r) == KVS_NOT_FOUND
          && kvs_test_seq(st) == seq,
          "sweep: an entry of a missing key writes no record");

    kvs_store_close(st);

    if (kvs_test_raw_open(&raw, dir, 0) != 0) {
        kvs_test_bail("raw open", dir);
    }

    kvs_test_u64(kvs_test_raw_count(&raw, "expiry"), 1,
                 "sweep: the stale entries are gone, one entry is left");
    klen = kvs_test_ikey(k, 17001, "e/r");
    CHECK(kvs_test_has(&raw, "expiry", k, klen),
          "sweep: the one of the later TTL");

    k[0] = KVS_NS_DATA;
    memcpy(k + 1, "e/c", 3);
    CHECK(kvs_test_raw_get(&raw, "kv", k, 4, &val) == 0
          && val.mv_size == KVS_RECORD_HDR_SIZE,
          "sweep: a swept record is a bare header in kv");
    kvs_test_u64(kvs_test_raw_count(&raw, "by_time"), 2,
                 "sweep: by_time keeps the entries of the two swept "
                 "records, dead ones, and of no live one");
    kvs_test_u64(kvs_test_raw_count_longer(&raw, "bucket_keys", 2), 6,
                 "sweep: bucket_keys keeps an entry for every key");

    kvs_test_raw_close(&raw, 0);
}


/* A swept record goes once its expiry is older than the purge's bound. */

static void
kvs_test_sweep_purge(void)
{
    int              n;
    char             dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    kvs_store_resume_t  from;
    kvs_store_t     *st;
    kvs_test_rec_t   r;
    const char      *keys[2];

    keys[0] = "x/a";
    keys[1] = "x/b";

    kvs_test_dir(dir, "sweep-purge");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    kvs_test_write1(st, KVS_WRITE_PUT, "x/a", "\"a\"", 500, 1000, NULL);
    kvs_test_write1(st, KVS_WRITE_PUT, "x/b", "\"b\"", 4000, 1000, NULL);

    CHECK(kvs_test_expire(st, 1500, 100) == 1,
          "sweep purge: x/a swept, x/b not yet");

    from.len = 0;
    n = kvs_store_purge(st, 1500, 100, &from, err, sizeof(err));
    CHECK(n == 0 && kvs_test_get(st, "x/a", &r) == KVS_OK
          && r.hdr.flags == KVS_FLAG_EXPIRED,
          "sweep purge: a swept record stays while its expiry is not "
          "older than the bound");

    from.len = 0;
    n = kvs_store_purge(st, 1501, 100, &from, err, sizeof(err));
    CHECK(n == 1 && from.len == 0, "sweep purge: goes once it is older");
    CHECK(kvs_test_get(st, "x/a", &r) == KVS_NOT_FOUND,
          "sweep purge: the key is no more");
    CHECK(kvs_test_bucket_consistent(st, kvs_test_bucket_of("x/a"), keys, 2),
          "sweep purge: its version left its Merkle bucket");

    from.len = 0;
    n = kvs_store_purge(st, 10000, 100, &from, err, sizeof(err));
    CHECK(n == 0 && kvs_test_get(st, "x/b", &r) == KVS_OK
          && r.hdr.flags == 0 && r.len == 3,
          "sweep purge: an expired record not swept yet is not purged");

    kvs_store_close(st);
}


/*
 * Compressed writes: the value is stored as the zstd frame it came as,
 * flagged, with the JSON's length as raw_len; the Merkle digest does not
 * see the difference.
 */

static size_t
kvs_test_zjson(char *json, size_t size)
{
    int     i;
    size_t  n;

    n = 0;

    for (i = 0; i < 12 && n < size; i++) {
        n += snprintf(json + n, size - n, "%s{\"name\":\"item\",\"n\":%d}",
                      i ? "," : "[", i);
    }

    n += snprintf(json + n, size - n, "]");

    return n;
}


static int
kvs_test_zput(kvs_store_t *st, const char *path, const uint8_t *frame,
    size_t flen, size_t raw_len, uint64_t ttl_ms, uint64_t now,
    kvs_version_t *v)
{
    char         err[KVS_STORE_ERRLEN];
    kvs_write_t  w;

    kvs_test_set(&w, KVS_WRITE_PUT, KVS_NS_DATA, path, NULL, ttl_ms);
    w.value = frame;
    w.value_len = flen;
    w.raw_len = raw_len;
    w.compressed = 1;

    if (kvs_store_write(st, &w, 1, now, err, sizeof(err)) != KVS_OK) {
        printf("# writing \"%s\": %s\n", path, err);
        return -100;
    }

    *v = w.version;

    return w.rc;
}


static void
kvs_test_compressed(void)
{
    char              dir[PATH_MAX], json[512], back[512];
    size_t            len, flen, rlen;
    uint8_t           frame[1024], d[KVS_MERKLE_DIGEST_LEN];
    uint8_t           dc[KVS_MERKLE_DIGEST_LEN], da[KVS_MERKLE_DIGEST_LEN];
    uint8_t           db[KVS_MERKLE_DIGEST_LEN];
    uint8_t           rec[KVS_RECORD_HDR_SIZE + sizeof(json)];
    uint16_t          bucket;
    kvs_store_t      *a, *b;
    kvs_version_t     v, vt;
    kvs_test_rec_t    r;
    kvs_test_hist_t   h;
    kvs_record_hdr_t  hdr;

    len = kvs_test_zjson(json, sizeof(json));
    flen = kvs_codec_compress(frame, sizeof(frame), (uint8_t *) json, len,
                              3);

    if (flen == 0 || flen > KVS_TEST_HIST_VLEN || len >= sizeof(json)) {
        kvs_test_bail("compressing the sample", json);
    }

    kvs_test_dir(dir, "zstd-a");
    a = kvs_test_open(dir, KVS_TEST_MAP);
    kvs_test_dir(dir, "zstd-b");
    b = kvs_test_open(dir, KVS_TEST_MAP);

    CHECK(kvs_test_zput(a, "z/a", frame, flen, len, 0, 1000, &v) == KVS_OK,
          "compressed: a PUT of a zstd frame");

    kvs_test_get(a, "z/a", &r);
    CHECK(r.rc == KVS_OK && r.hdr.flags == KVS_FLAG_COMPRESSED,
          "compressed: the record is flagged compressed");
    kvs_test_u64(r.hdr.value_len, flen,
                 "compressed: value_len is the frame's length");
    kvs_test_u64(r.hdr.raw_len, len,
                 "compressed: raw_len is the JSON's length");
    CHECK(r.len == flen && memcmp(r.value, frame, flen) == 0,
          "compressed: the value is the frame, byte for byte");

    memset(back, 0, sizeof(back));
    CHECK(kvs_codec_decompress((uint8_t *) back, r.hdr.raw_len,
                               (uint8_t *) r.value, r.len) == 0,
          "compressed: the stored frame decodes to raw_len bytes");
    kvs_test_str(back, json, "compressed: which are the JSON written");

    /* the digest: by the function, and by the bucket a's write updated */

    bucket = kvs_test_bucket_of("z/a");
    kvs_test_digest(d, "z/a", &v, 0);
    kvs_test_digest(dc, "z/a", &v, KVS_FLAG_COMPRESSED);
    CHECK(memcmp(d, dc, sizeof(d)) == 0,
          "compressed: the digest of the version is that of it "
          "uncompressed");
    CHECK(kvs_test_bucket(a, bucket, da) == KVS_OK
          && memcmp(da, d, sizeof(d)) == 0,
          "compressed: the bucket holds that digest");

    /* b holds the same version uncompressed, as a peer that compresses
     * nothing would: the trees agree */

    hdr = r.hdr;
    hdr.flags = 0;
    hdr.value_len = (uint32_t) len;
    hdr.raw_len = (uint32_t) len;
    hdr.key_len = 0;
    kvs_record_encode(&hdr, rec);
    memcpy(rec + KVS_RECORD_HDR_SIZE, json, len);
    rlen = KVS_RECORD_HDR_SIZE + len;

    CHECK(kvs_test_remote1(b, "z/a", rec, rlen) == KVS_OK,
          "compressed: the same version stored uncompressed on a peer");
    kvs_test_get(b, "z/a", &r);
    CHECK(r.rc == KVS_OK && r.hdr.flags == 0 && r.len == len
          && kvs_test_same_version(&r.hdr.version, &v),
          "compressed: the peer's record is raw, of the same version");
    CHECK(kvs_test_bucket(b, bucket, db) == KVS_OK
          && memcmp(da, db, sizeof(da)) == 0,
          "compressed: both nodes' buckets agree");

    /* history keeps the frame as it was stored */

    CHECK(kvs_test_put(a, "z/a", "1", 2000, NULL) == KVS_OK,
          "compressed: overwritten by a raw value");
    kvs_test_get(a, "z/a", &r);
    CHECK(r.rc == KVS_OK && r.hdr.flags == 0 && r.hdr.value_len == 1
          && r.hdr.raw_len == 1,
          "compressed: the raw record has no flag, raw_len = value_len");
    CHECK(kvs_test_history(a, "z/a", &h) == KVS_OK && h.n == 1
          && h.hdr[0].flags == KVS_FLAG_COMPRESSED
          && h.hdr[0].value_len == flen && h.hdr[0].raw_len == len
          && memcmp(h.value[0], frame, flen) == 0
          && kvs_test_same_version(&h.hdr[0].version, &v),
          "compressed: history keeps the compressed version's frame");

    /* the sweep drops the frame and its flag */

    kvs_test_zput(a, "z/t", frame, flen, len, 100, 1000, &vt);
    CHECK(kvs_test_expire(a, 1100, 100) == 1,
          "compressed: a compressed record with a TTL is swept");
    kvs_test_get(a, "z/t", &r);
    CHECK(r.rc == KVS_OK && r.hdr.flags == KVS_FLAG_EXPIRED
          && r.hdr.value_len == 0 && r.hdr.raw_len == 0
          && kvs_test_same_version(&r.hdr.version, &vt),
          "compressed: swept, it is no longer flagged compressed");

    kvs_store_close(a);
    kvs_store_close(b);
}


/*
 * Listing: live keys under a prefix in key order, a page at a time; not
 * recursive, each deeper level once as "<segment>/".  The entries of a
 * listing are written into one string, a prefix marked with a '+' after
 * it, so that a check compares the whole listing at once.
 */

typedef struct {
    size_t   n;
    int      more;
    char     out[1024];
    size_t   len;
    char     last[KVS_KEY_MAX + 1];
} kvs_test_list_t;


static int
kvs_test_list_add(const char *path, size_t len, int is_prefix, void *data)
{
    kvs_test_list_t *l = data;

    if (len > KVS_KEY_MAX || l->len + len + 3 > sizeof(l->out)) {
        return KVS_ERROR;
    }

    if (l->n) {
        l->out[l->len++] = ' ';
    }

    memcpy(l->out + l->len, path, len);
    l->len += len;

    if (is_prefix) {
        l->out[l->len++] = '+';
    }

    l->out[l->len] = '\0';

    memcpy(l->last, path, len);
    l->last[len] = '\0';
    l->n++;

    return KVS_OK;
}


static const char *
kvs_test_list(kvs_store_t *st, char ns, const char *prefix,
    const char *after, int recursive, size_t limit, uint64_t now,
    kvs_test_list_t *l)
{
    int   rc;
    char  err[KVS_STORE_ERRLEN];

    memset(l, 0, sizeof(kvs_test_list_t));
    l->more = -1;

    if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
        printf("# read_begin: %s\n", err);
        return "(no read)";
    }

    rc = kvs_store_list(st, ns, prefix, strlen(prefix), after,
                        after ? strlen(after) : 0, recursive, limit, now,
                        kvs_test_list_add, l, &l->more);

    kvs_store_read_end(st);

    return rc == KVS_OK ? l->out : "(list failed)";
}


/* a page's entries after those of the pages before it in out (of len
 * bytes, room checked by the caller); the new length */

static size_t
kvs_test_join(char *out, size_t len, const kvs_test_list_t *l)
{
    if (len && l->len) {
        out[len++] = ' ';
    }

    memcpy(out + len, l->out, l->len + 1);

    return len + l->len;
}


/* every page of a listing, each after the last entry of the one before,
 * joined as one listing would be; *pages says how many it took */

static const char *
kvs_test_pages(kvs_store_t *st, const char *prefix, int recursive,
    size_t limit, uint64_t now, char *out, size_t size, size_t *pages)
{
    char             after[KVS_KEY_MAX + 1];
    size_t           len;
    kvs_test_list_t  l;

    len = 0;
    out[0] = '\0';

    for (*pages = 0; *pages < 32; (*pages)++) {
        kvs_test_list(st, KVS_NS_DATA, prefix, *pages ? after : NULL,
                      recursive, limit, now, &l);

        if (l.n > limit || len + l.len + 2 > size) {
            return "(a page too long)";
        }

        len = kvs_test_join(out, len, &l);

        if (l.more == 0) {
            (*pages)++;
            return out;
        }

        if (l.more != 1 || l.n == 0) {
            return "(more without entries)";
        }

        memcpy(after, l.last, sizeof(after));
    }

    return "(too many pages)";
}


/*
 * The walk's bound (kvs_list_walk_t.scan): past it a page ends early at the
 * last dead record passed that the caller could see, or at the last entry
 * listed, never at a record the caller may not see; paging from where each
 * page says lists every live key once, and a level stopped in lists when a
 * live key under it follows.  may here refuses what was written at 3000.
 */

typedef struct {
    kvs_test_list_t   l;
    char              resume[KVS_KEY_MAX + 1];
} kvs_test_walk_t;


static int
kvs_test_may_not_3000(const kvs_record_hdr_t *hdr, void *data)
{
    (void) data;

    return hdr->created_at != 3000;
}


static const char *
kvs_test_walk_pages(kvs_store_t *st, const char *prefix, int recursive,
    size_t scan, char *out, size_t size, size_t *pages, char *nexts,
    size_t nsize)
{
    int               rc;
    char              err[KVS_STORE_ERRLEN], after[KVS_KEY_MAX + 1];
    size_t            len, nlen;
    kvs_list_walk_t   walk;
    kvs_test_list_t   l;

    len = 0;
    nlen = 0;
    out[0] = '\0';
    nexts[0] = '\0';

    for (*pages = 0; *pages < 64; (*pages)++) {
        memset(&l, 0, sizeof(l));
        walk.may = kvs_test_may_not_3000;
        walk.scan = scan;

        if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
            return "(no read)";
        }

        rc = kvs_store_list_may(st, KVS_NS_DATA, prefix, strlen(prefix),
                                *pages ? after : NULL,
                                *pages ? strlen(after) : 0, recursive, 100,
                                9000, &walk, kvs_test_list_add, &l, &l.more);

        if (rc == KVS_OK && walk.resume) {
            memcpy(l.last, walk.resume, walk.resume_len);
            l.last[walk.resume_len] = '\0';
        }

        kvs_store_read_end(st);

        if (rc != KVS_OK || len + l.len + 2 > size
            || nlen + strlen(l.last) + 2 > nsize)
        {
            return "(list failed)";
        }

        len = kvs_test_join(out, len, &l);

        if (l.more == 0) {
            (*pages)++;
            return out;
        }

        if (nlen) {
            nexts[nlen++] = ' ';
        }

        nlen += sprintf(nexts + nlen, "%s", l.last);
        strcpy(after, l.last);
    }

    return "(no last page)";
}


static void
kvs_test_listing_bound(void)
{
    int           ok;
    char          dir[PATH_MAX], path[64], all[1024], nexts[4096];
    size_t        i, pages;
    kvs_store_t  *st;

    kvs_test_dir(dir, "list-bound");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    ok = 1;

    /* b/a, 20 tombstones, 20 the caller may not see, 20 tombstones, b/z */

    ok &= kvs_test_put(st, "b/a", "1", 1000, NULL) == KVS_OK;

    for (i = 0; i < 60; i++) {
        snprintf(path, sizeof(path), "b/k%02zu", i);
        ok &= kvs_test_put(st, path, "1", i / 20 == 1 ? 3000 : 1000, NULL)
              == KVS_OK;
        ok &= kvs_test_del(st, path, 4000, NULL) == KVS_OK;
    }

    ok &= kvs_test_put(st, "b/z", "1", 1000, NULL) == KVS_OK;

    /* a level whose first 30 keys are dead, then a live one */

    for (i = 0; i < 30; i++) {
        snprintf(path, sizeof(path), "b/l/%02zu", i);
        ok &= kvs_test_put(st, path, "1", 1000, NULL) == KVS_OK;
        ok &= kvs_test_del(st, path, 4000, NULL) == KVS_OK;
    }

    ok &= kvs_test_put(st, "b/l/zz", "1", 1000, NULL) == KVS_OK;

    CHECK(ok, "bound: the keys are written");

    kvs_test_str(kvs_test_walk_pages(st, "b/", 1, 0, all, sizeof(all),
                                     &pages, nexts, sizeof(nexts)),
                 "b/a b/l/zz b/z", "bound: none: every live key at once");
    CHECK(pages == 1, "bound: none: one page");

    kvs_test_str(kvs_test_walk_pages(st, "b/", 1, 5, all, sizeof(all),
                                     &pages, nexts, sizeof(nexts)),
                 "b/a b/l/zz b/z", "bound: 5: every live key once");
    CHECK(pages > 10, "bound: 5: over many pages");
    CHECK(strstr(nexts, "b/k2") == NULL && strstr(nexts, "b/k00") == NULL,
          "bound: no page stops at a record the caller may not see, nor "
          "before the first it passed");
    CHECK(strstr(nexts, "b/k1") != NULL && strstr(nexts, "b/k4") != NULL,
          "bound: the pages stop at the dead records the caller could see");

    kvs_test_str(kvs_test_walk_pages(st, "b/", 0, 5, all, sizeof(all),
                                     &pages, nexts, sizeof(nexts)),
                 "b/a b/l/+ b/z", "bound: 5, not recursive: each level once");
    CHECK(strstr(nexts, "b/l/1") != NULL,
          "bound: a page stops inside a level it has not listed yet");

    kvs_store_close(st);
}


static void
kvs_test_listing(void)
{
    int               ok;
    char              dir[PATH_MAX], err[KVS_STORE_ERRLEN], all[1024];
    size_t            i, pages;
    kvs_write_t       w;
    kvs_store_t      *st;
    const char       *got;
    kvs_test_list_t   l;

    static const char  *live[] = {
        "p/a", "p/a-x", "p/a/b", "p/a/c", "p/b/d/e", "p/c",
        "p", "pz", "q/x", "o/p/a"
    };

    static const char  *tree = "p/a p/a-x p/a/b p/a/c p/b/d/e p/c";
    static const char  *top = "p/a p/a-x p/a/+ p/b/+ p/c";

    kvs_test_dir(dir, "list");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    ok = 1;

    for (i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
        ok &= kvs_test_put(st, live[i], "1", 1000, NULL) == KVS_OK;
    }

    /* the dead among the living: tombstones, an expired record, a whole
     * subtree of tombstones, a dead first key of a live subtree; and a
     * key of another namespace */

    ok &= kvs_test_put(st, "p/d", "1", 1000, NULL) == KVS_OK;
    ok &= kvs_test_del(st, "p/d", 1000, NULL) == KVS_OK;
    ok &= kvs_test_write1(st, KVS_WRITE_PUT, "p/e", "1", 1000, 1000, NULL)
          == KVS_OK;
    ok &= kvs_test_put(st, "p/z/gone", "1", 1000, NULL) == KVS_OK;
    ok &= kvs_test_del(st, "p/z/gone", 1000, NULL) == KVS_OK;
    ok &= kvs_test_put(st, "p/a/0", "1", 1000, NULL) == KVS_OK;
    ok &= kvs_test_del(st, "p/a/0", 1000, NULL) == KVS_OK;

    kvs_test_set(&w, KVS_WRITE_PUT, KVS_NS_USER, "p/u", "1", 0);
    ok &= kvs_store_write(st, &w, 1, 1000, err, sizeof(err)) == KVS_OK
          && w.rc == KVS_OK;

    CHECK(ok, "list: the keys are written");

    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "p/", NULL, 1, 100, 5000,
                               &l),
                 tree, "list: recursive, every live key under p/ in order");
    CHECK(l.more == 0, "list: and no more after them");

    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "p/", NULL, 1, 100, 1999,
                               &l),
                 "p/a p/a-x p/a/b p/a/c p/b/d/e p/c p/e",
                 "list: a record a millisecond before its expiry is listed");
    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "p/", NULL, 1, 100, 2000,
                               &l),
                 tree, "list: at its expires_at, it is not");

    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "p/", NULL, 0, 100, 5000,
                               &l),
                 top,
                 "list: not recursive, the children and each sub-prefix "
                 "once");
    CHECK(l.more == 0, "list: not recursive, no more after them");

    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "p/", NULL, 1, 3, 5000, &l),
                 "p/a p/a-x p/a/b", "list: limit 3 gives the first 3");
    CHECK(l.more == 1, "list: and says there are more");

    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "p/", NULL, 1, 6, 5000, &l),
                 tree, "list: limit 6 gives all 6");
    CHECK(l.more == 0,
          "list: and no more, with only dead records after them");

    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "p/", NULL, 0, 3, 5000, &l),
                 "p/a p/a-x p/a/+",
                 "list: not recursive, a page may end on a sub-prefix");
    CHECK(l.more == 1, "list: not recursive, with more after it");

    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "p/", "p/a/", 0, 100, 5000,
                               &l),
                 "p/b/+ p/c",
                 "list: after a sub-prefix, the next page resumes past its "
                 "subtree");
    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "p/", "p/", 0, 100, 5000,
                               &l),
                 "p/a p/a-x p/a/+ p/b/+ p/c",
                 "list: after the prefix itself, not recursive, lists from "
                 "the start");
    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "p/", "p/a-x", 0, 100, 5000,
                               &l),
                 "p/a/+ p/b/+ p/c",
                 "list: after a key, the next page starts after it");
    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "p/", "p/a/b", 1, 100, 5000,
                               &l),
                 "p/a/c p/b/d/e p/c",
                 "list: recursive, after a key deep in the tree");
    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "p/", "p/d", 1, 100, 5000,
                               &l),
                 "", "list: after the last live key, none");
    CHECK(l.more == 0, "list: after the last live key, no more");

    for (i = 1; i <= 7; i++) {
        got = kvs_test_pages(st, "p/", 1, i, 5000, all, sizeof(all),
                             &pages);
        if (strcmp(got, tree) != 0 || pages != (6 + i - 1) / i) {
            printf("#   limit %zu: %zu pages: \"%s\"\n", i, pages, got);
            break;
        }
    }

    CHECK(i == 8,
          "list: recursive pages of 1..7 give every key exactly once");

    for (i = 1; i <= 6; i++) {
        got = kvs_test_pages(st, "p/", 0, i, 5000, all, sizeof(all),
                             &pages);
        if (strcmp(got, top) != 0 || pages != (5 + i - 1) / i) {
            printf("#   limit %zu: %zu pages: \"%s\"\n", i, pages, got);
            break;
        }
    }

    CHECK(i == 7,
          "list: pages not recursive of 1..6 give every entry exactly "
          "once");

    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "", NULL, 1, 100, 5000, &l),
                 "o/p/a p p/a p/a-x p/a/b p/a/c p/b/d/e p/c pz q/x",
                 "list: prefix \"\" lists the whole namespace");
    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "", NULL, 0, 100, 5000, &l),
                 "o/+ p p/+ pz q/+",
                 "list: prefix \"\" not recursive, the top level");
    kvs_test_str(kvs_test_list(st, KVS_NS_USER, "", NULL, 1, 100, 5000, &l),
                 "p/u", "list: another namespace lists only its own");
    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "p/a", NULL, 1, 100, 5000,
                               &l),
                 "p/a p/a-x p/a/b p/a/c",
                 "list: a prefix is bytes, not segments");
    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "p/a/", NULL, 0, 100, 5000,
                               &l),
                 "p/a/b p/a/c", "list: a deeper prefix, its children");
    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "p/z/", NULL, 1, 100, 5000,
                               &l),
                 "", "list: a subtree of tombstones lists none");
    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "nothing/", NULL, 1, 100,
                               5000, &l),
                 "", "list: a prefix matching nothing lists none");
    CHECK(l.more == 0, "list: and says there is no more");
    kvs_test_str(kvs_test_list(st, KVS_NS_DATA, "zzz", NULL, 0, 100, 5000,
                               &l),
                 "", "list: a prefix past every key lists none");

    kvs_store_close(st);
}


/*
 * Listing long keys: past 448 bytes a key is stored by its first 448 bytes
 * and a digest, so long keys sharing their first 448 bytes are in digest
 * order, not path order.  Each must still be listed once, whatever the
 * order, and a sub-prefix longer than 448 bytes once.
 */

typedef struct {
    size_t        n;
    int           more;
    size_t        npaths;
    const char  **paths;
    int           seen[16];
    int           others;
    char          last[KVS_KEY_MAX + 1];
} kvs_test_long_t;


static int
kvs_test_long_add(const char *path, size_t len, int is_prefix, void *data)
{
    kvs_test_long_t *l = data;

    size_t  i;

    for (i = 0; i < l->npaths; i++) {
        if (strlen(l->paths[i]) == len
            && memcmp(l->paths[i], path, len) == 0
            && is_prefix == (path[len - 1] == '/'))
        {
            l->seen[i]++;
            break;
        }
    }

    if (i == l->npaths) {
        l->others++;
    }

    if (len <= KVS_KEY_MAX) {
        memcpy(l->last, path, len);
        l->last[len] = '\0';
    }

    l->n++;

    return KVS_OK;
}


/* lists, page after page; 1 when each of paths came exactly once and
 * nothing else came */

static int
kvs_test_long_list(kvs_store_t *st, const char *prefix, int recursive,
    size_t limit, const char **paths, size_t npaths)
{
    int              ok;
    char             err[KVS_STORE_ERRLEN], after[KVS_KEY_MAX + 1];
    size_t           i, page;
    kvs_test_long_t  l;

    memset(&l, 0, sizeof(l));
    l.paths = paths;
    l.npaths = npaths;

    for (page = 0; page < 32; page++) {
        if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
            printf("# read_begin: %s\n", err);
            return 0;
        }

        l.more = -1;

        if (kvs_store_list(st, KVS_NS_DATA, prefix, strlen(prefix),
                           page ? after : NULL, page ? strlen(after) : 0,
                           recursive, limit, 5000, kvs_test_long_add, &l,
                           &l.more)
            != KVS_OK)
        {
            kvs_store_read_end(st);
            printf("#   the listing failed\n");
            return 0;
        }

        kvs_store_read_end(st);

        if (l.more != 1 || l.n > limit * (page + 1)) {
            break;
        }

        memcpy(after, l.last, sizeof(after));
    }

    ok = (l.more == 0 && l.others == 0);

    for (i = 0; i < npaths; i++) {
        if (l.seen[i] != 1) {
            printf("#   entry %zu (%zu bytes) listed %d times\n", i,
                   strlen(paths[i]), l.seen[i]);
            ok = 0;
        }
    }

    if (l.others || l.more != 0) {
        printf("#   %d other entries, more %d, %zu pages\n", l.others,
               l.more, page + 1);
    }

    return ok;
}


static void
kvs_test_listing_long(void)
{
    int            ok;
    char           dir[PATH_MAX];
    char           base[KVS_TEST_INLINE + 8], sub[KVS_TEST_INLINE + 16];
    char           keys[8][KVS_TEST_INLINE + 16];
    char           lvl[2][KVS_TEST_INLINE + 16], leaf[KVS_TEST_INLINE + 16];
    size_t         i, blen;
    kvs_store_t   *st;
    const char    *deep[8], *top[3], *all[10], *wide[3];

    /* "long/xxx...x", 455 bytes; its keys "<base>/k0".."<base>/k7" */

    memcpy(base, "long/", 5);
    memset(base + 5, 'x', 450);
    blen = 455;
    base[blen] = '\0';

    snprintf(sub, sizeof(sub), "%s/", base);

    kvs_test_dir(dir, "list-long");
    st = kvs_test_open(dir, KVS_TEST_MAP);

    ok = 1;

    for (i = 0; i < 8; i++) {
        snprintf(keys[i], sizeof(keys[i]), "%s/k%zu", base, i);
        deep[i] = keys[i];
        all[i] = keys[i];
        ok &= kvs_test_put(st, keys[i], "1", 1000, NULL) == KVS_OK;
    }

    ok &= kvs_test_put(st, "long/short", "1", 1000, NULL) == KVS_OK;
    ok &= kvs_test_put(st, "long/zzz", "1", 1000, NULL) == KVS_OK;
    ok &= kvs_test_put(st, "longer", "1", 1000, NULL) == KVS_OK;

    CHECK(ok, "list long: 8 keys of 458 bytes under one 456-byte prefix");

    top[0] = "long/short";
    top[1] = sub;
    top[2] = "long/zzz";
    all[8] = "long/short";
    all[9] = "long/zzz";

    CHECK(kvs_test_long_list(st, "long/", 1, 100, all, 10),
          "list long: recursive under a short prefix, each key once");
    CHECK(kvs_test_long_list(st, "long/", 1, 3, all, 10),
          "list long: in pages of 3, each key once");
    CHECK(kvs_test_long_list(st, "long/", 0, 100, top, 3),
          "list long: not recursive, a 456-byte sub-prefix once");
    CHECK(kvs_test_long_list(st, sub, 1, 100, deep, 8),
          "list long: recursive under the 456-byte prefix, each key once");
    CHECK(kvs_test_long_list(st, sub, 1, 2, deep, 8),
          "list long: under the 456-byte prefix in pages of 2, each key "
          "once");

    /* each key with two earlier versions beside it in kv, a long key's
     * among the long keys of its block: the same listings */

    for (i = 0; i < 2; i++) {
        size_t  j;

        for (j = 0; j < 10; j++) {
            ok &= kvs_test_put(st, all[j], i ? "3" : "2", 1001 + i, NULL)
                  == KVS_OK;
        }

        ok &= kvs_test_put(st, "longer", i ? "3" : "2", 1001 + i, NULL)
              == KVS_OK;
    }

    CHECK(ok, "list long: every key written twice more, its history kept");
    CHECK(kvs_test_long_list(st, "long/", 1, 100, all, 10),
          "list long, with history: recursive under a short prefix, each "
          "key once");
    CHECK(kvs_test_long_list(st, "long/", 1, 3, all, 10),
          "list long, with history: in pages of 3, each key once");
    CHECK(kvs_test_long_list(st, "long/", 0, 100, top, 3),
          "list long, with history: not recursive, the sub-prefix once");
    CHECK(kvs_test_long_list(st, sub, 1, 100, deep, 8),
          "list long, with history: recursive under the 456-byte prefix");
    CHECK(kvs_test_long_list(st, sub, 1, 2, deep, 8),
          "list long, with history: under the 456-byte prefix in pages of "
          "2, each key once");

    /*
     * Two levels and a leaf under "wide/" that share their first 450
     * bytes: their keys are one stretch in digest order, the two levels'
     * keys mixed; each level is still one entry.
     */

    memcpy(base, "wide/", 5);
    memset(base + 5, 'y', 445);
    blen = 450;
    base[blen] = '\0';

    snprintf(lvl[0], sizeof(lvl[0]), "%sa/", base);
    snprintf(lvl[1], sizeof(lvl[1]), "%sb/", base);
    snprintf(leaf, sizeof(leaf), "%sleaf", base);

    ok = kvs_test_put(st, leaf, "1", 1000, NULL) == KVS_OK;

    for (i = 0; i < 16; i++) {
        snprintf(keys[i % 8], sizeof(keys[i % 8]), "%sk%zu", lvl[i / 8],
                 i % 8);
        ok &= kvs_test_put(st, keys[i % 8], "1", 1000, NULL) == KVS_OK;
    }

    CHECK(ok, "list long: 2 levels of 8 keys and a leaf sharing 450 bytes");

    wide[0] = lvl[0];
    wide[1] = lvl[1];
    wide[2] = leaf;

    CHECK(kvs_test_long_list(st, "wide/", 0, 100, wide, 3),
          "list long: not recursive, two long levels mixed in digest "
          "order, each once");
    CHECK(kvs_test_long_list(st, "wide/", 0, 1, wide, 3),
          "list long: and in pages of 1, each once");

    kvs_store_close(st);
}


/*
 * The change feed with history: each change gives the record it wrote,
 * from kv or from rev, so a peer replaying the feed in order ends with the
 * same record and the same history.
 */

#define KVS_TEST_CHANGES  4
#define KVS_TEST_REC_MAX  (KVS_RECORD_HDR_SIZE + KVS_KEY_MAX + 64)

typedef struct {
    size_t            n;
    uint64_t          seq[KVS_TEST_CHANGES];
    char              path[KVS_TEST_CHANGES][KVS_KEY_MAX + 1];
    kvs_record_hdr_t  hdr[KVS_TEST_CHANGES];
    uint8_t           rec[KVS_TEST_CHANGES][KVS_TEST_REC_MAX];
    size_t            rec_len[KVS_TEST_CHANGES];
} kvs_test_changes_t;


static int
kvs_test_changes_add(uint64_t seq, char ns, const char *path, size_t len,
    const uint8_t *record, size_t record_len, void *data)
{
    kvs_test_changes_t *c = data;

    if (c->n == KVS_TEST_CHANGES || ns != KVS_NS_DATA || len > KVS_KEY_MAX
        || record_len > KVS_TEST_REC_MAX
        || kvs_record_decode(&c->hdr[c->n], record, record_len) != 0)
    {
        return KVS_ERROR;
    }

    c->seq[c->n] = seq;
    memcpy(c->path[c->n], path, len);
    c->path[c->n][len] = '\0';
    memcpy(c->rec[c->n], record, record_len);
    c->rec_len[c->n] = record_len;
    c->n++;

    return KVS_OK;
}


/* the feed after a sequence number; the number of changes seen, or -1 */

static int
kvs_test_changes(kvs_store_t *st, uint64_t after, kvs_test_changes_t *c)
{
    int   n;
    char  err[KVS_STORE_ERRLEN];

    memset(c, 0, sizeof(kvs_test_changes_t));

    if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
        printf("# read_begin: %s\n", err);
        return -1;
    }

    n = kvs_store_changes(st, after, 100, kvs_test_changes_add, c);

    kvs_store_read_end(st);

    return n;
}


/* the value of a change's record, the bytes after its header and path */

static int
kvs_test_change_is(const kvs_test_changes_t *c, size_t i,
    const kvs_version_t *v, uint8_t flags, const char *value)
{
    size_t  len;

    len = value ? strlen(value) : 0;

    return i < c->n && kvs_test_same_version(&c->hdr[i].version, v)
           && c->hdr[i].flags == flags && c->hdr[i].value_len == len
           && memcmp(c->rec[i] + KVS_RECORD_HDR_SIZE + c->hdr[i].key_len,
                     value ? value : "", len) == 0;
}


static void
kvs_test_feed_history(void)
{
    int                  n, ok;
    char                 dir[PATH_MAX], p1[KVS_KEY_MAX + 1];
    size_t               i;
    kvs_store_t         *a, *b;
    kvs_version_t        v[3], vl[2];
    kvs_test_rec_t       r;
    kvs_test_hist_t      h;
    kvs_test_changes_t   c;

    static const char  *values[] = { "\"v1\"", "\"v2\"" };

    memset(p1, 'f', KVS_KEY_MAX);
    memcpy(p1, "feed/", 5);
    p1[KVS_KEY_MAX] = '\0';

    kvs_test_dir(dir, "feed-history-a");
    a = kvs_test_open(dir, KVS_TEST_MAP);
    kvs_test_dir(dir, "feed-history-b");
    b = kvs_test_open(dir, KVS_TEST_MAP);

    kvs_test_put(a, "c/k", values[0], 1000, &v[0]);
    kvs_test_put(a, "c/k", values[1], 2000, &v[1]);

    n = kvs_test_changes(a, 0, &c);
    CHECK(n == 2 && c.n == 2 && c.seq[0] == 1 && c.seq[1] == 2
          && strcmp(c.path[0], "c/k") == 0 && strcmp(c.path[1], "c/k") == 0,
          "feed history: two changes of one key");
    CHECK(kvs_test_change_is(&c, 0, &v[0], 0, values[0]),
          "feed history: the first gives v1, from history");
    CHECK(kvs_test_change_is(&c, 1, &v[1], 0, values[1]),
          "feed history: the second gives v2, the current record");

    ok = 1;

    for (i = 0; i < c.n; i++) {
        ok &= kvs_test_remote1(b, c.path[i], c.rec[i], c.rec_len[i])
              == KVS_OK;
    }

    kvs_test_get(b, "c/k", &r);
    CHECK(ok && r.rc == KVS_OK && kvs_test_same_version(&r.hdr.version, &v[1])
          && r.len == 4 && memcmp(r.value, values[1], 4) == 0,
          "feed history: a peer replaying it holds v2");
    CHECK(kvs_test_history(b, "c/k", &h) == KVS_OK
          && kvs_test_hist_is(&h, 1, v, values, 0),
          "feed history: and v1 in its history, as the writer does");

    kvs_test_del(a, "c/k", 3000, &v[2]);
    n = kvs_test_changes(a, 2, &c);
    CHECK(n == 1 && kvs_test_change_is(&c, 0, &v[2], KVS_FLAG_TOMBSTONE,
                                       NULL),
          "feed history: a DELETE's change gives the tombstone");
    CHECK(c.n == 1
          && kvs_test_remote1(b, c.path[0], c.rec[0], c.rec_len[0])
             == KVS_OK
          && kvs_test_history(b, "c/k", &h) == KVS_OK
          && kvs_test_hist_is(&h, 2, v, values, 1),
          "feed history: replayed, the peer keeps v2 and v1 in history");

    /* a long key's record keeps its path, in kv and in rev alike */

    kvs_test_put(a, p1, values[0], 4000, &vl[0]);
    kvs_test_put(a, p1, values[1], 4001, &vl[1]);
    n = kvs_test_changes(a, 3, &c);
    CHECK(n == 2 && c.n == 2 && strcmp(c.path[0], p1) == 0
          && strcmp(c.path[1], p1) == 0,
          "feed history: a 1024-byte key's changes name its whole path");
    CHECK(kvs_test_change_is(&c, 0, &vl[0], 0, values[0])
          && c.hdr[0].key_len == KVS_KEY_MAX
          && kvs_test_change_is(&c, 1, &vl[1], 0, values[1]),
          "feed history: v1 from history, v2 from the record");

    ok = 1;

    for (i = 0; i < c.n; i++) {
        ok &= kvs_test_remote1(b, c.path[i], c.rec[i], c.rec_len[i])
              == KVS_OK;
    }

    CHECK(ok && kvs_test_history(b, p1, &h) == KVS_OK
          && kvs_test_hist_is(&h, 1, vl, values, 0),
          "feed history: replayed, the peer keeps the long key's history");

    kvs_store_close(a);
    kvs_store_close(b);

    /* without history, v1 is nowhere: its change is skipped, counted */

    kvs_test_dir(dir, "feed-history-0");
    a = kvs_test_open(dir, KVS_TEST_MAP);
    kvs_store_set_history(a, 0);

    kvs_test_put(a, "c/k", values[0], 1000, &v[0]);
    kvs_test_put(a, "c/k", values[1], 2000, &v[1]);

    n = kvs_test_changes(a, 0, &c);
    CHECK(n == 2, "feed without history: both changes are seen");
    CHECK(c.n == 1 && c.seq[0] == 2
          && kvs_test_change_is(&c, 0, &v[1], 0, values[1]),
          "feed without history: only v2 is given, as change 2");

    kvs_store_close(a);
}


/*
 * Peers' records of KVS_TEST_FULL_VLEN bytes until one is refused: how
 * many were stored.
 */

static size_t
kvs_test_fill_peers(kvs_store_t *st, const char *value, char (*peers)[32],
    size_t max)
{
    size_t            np;
    uint8_t          *rec;
    kvs_record_hdr_t  hdr;

    rec = malloc(KVS_RECORD_HDR_SIZE + KVS_TEST_FULL_VLEN);
    if (rec == NULL) {
        kvs_test_bail("malloc", "out of memory");
    }

    memset(&hdr, 0, sizeof(hdr));
    hdr.version.uuid[0] = 9;
    hdr.value_len = KVS_TEST_FULL_VLEN;
    hdr.raw_len = KVS_TEST_FULL_VLEN;

    for (np = 0; np < max; np++) {
        snprintf(peers[np], 32, "peer/%zu", np);
        hdr.version.timestamp = 100 + np;
        kvs_record_encode(&hdr, rec);
        memcpy(rec + KVS_RECORD_HDR_SIZE, value, KVS_TEST_FULL_VLEN);

        if (kvs_test_remote1(st, peers[np], rec,
                             KVS_RECORD_HDR_SIZE + KVS_TEST_FULL_VLEN)
            != KVS_OK)
        {
            break;
        }
    }

    free(rec);

    return np;
}


/*
 * The reserve: once client PUTs are refused, a DELETE still fits and
 * takes its key's history with it, and peers' records still land, but for
 * one too big for the reserve, which alone is refused.
 */

static void
kvs_test_full_reserve(void)
{
    int               rc;
    char              dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    char             *value, *big, (*keys)[32];
    size_t            n;
    uint8_t          *rec;
    kvs_write_t       w[2];
    kvs_store_t      *st;
    kvs_test_rec_t    r;
    kvs_test_hist_t   h;
    kvs_record_hdr_t  hdr;

    value = kvs_test_value(KVS_TEST_FULL_VLEN);
    big = kvs_test_value(KVS_TEST_FULL_PEER);
    keys = malloc(KVS_TEST_FULL_KEYS * sizeof(*keys));
    rec = malloc(KVS_RECORD_HDR_SIZE + KVS_TEST_FULL_PEER);
    if (keys == NULL || rec == NULL) {
        kvs_test_bail("malloc", "out of memory");
    }

    kvs_test_dir(dir, "full-reserve");
    st = kvs_test_open(dir, KVS_TEST_FULL_MAP);
    kvs_store_set_history(st, 3);

    kvs_test_put(st, "keep/h", value, 100, NULL);
    kvs_test_put(st, "keep/h", value, 200, NULL);
    kvs_test_put(st, "keep/h", value, 300, NULL);
    CHECK(kvs_test_history(st, "keep/h", &h) == KVS_OK && h.n == 2,
          "reserve: a key written three times keeps two earlier versions");

    n = kvs_test_fill(st, "fill", value, keys, KVS_TEST_FULL_KEYS);
    CHECK(n > 300 && n < KVS_TEST_FULL_KEYS,
          "reserve: PUTs fill a 1 MiB map, then are refused");

    CHECK(kvs_test_del(st, "keep/h", 5000, NULL) == KVS_OK,
          "reserve: then a DELETE of a key with history is stored");
    CHECK(kvs_test_get(st, "keep/h", &r) == KVS_OK
          && (r.hdr.flags & KVS_FLAG_TOMBSTONE),
          "reserve: the key is a tombstone");
    CHECK(kvs_test_history(st, "keep/h", &h) == KVS_OK && h.n == 0,
          "reserve: and so is its history, which made the room");

    /* a peer's record of a small value, and one larger than the reserve
     * leaves to peers, in one batch */

    memset(&hdr, 0, sizeof(hdr));
    hdr.version.timestamp = 7000;
    hdr.version.uuid[0] = 7;
    hdr.value_len = 2;
    hdr.raw_len = 2;
    kvs_record_encode(&hdr, rec);
    memcpy(rec + KVS_RECORD_HDR_SIZE, "{}", 2);

    kvs_test_set(&w[0], KVS_WRITE_REMOTE, KVS_NS_DATA, "peer/small", NULL, 0);
    w[0].value = rec;
    w[0].value_len = KVS_RECORD_HDR_SIZE + 2;

    kvs_test_set(&w[1], KVS_WRITE_REMOTE, KVS_NS_DATA, "peer/big", NULL, 0);
    w[1].value = rec + KVS_RECORD_HDR_SIZE + 2;
    hdr.value_len = KVS_TEST_FULL_PEER - KVS_RECORD_HDR_SIZE - 2;
    hdr.raw_len = hdr.value_len;
    kvs_record_encode(&hdr, rec + KVS_RECORD_HDR_SIZE + 2);
    w[1].value_len = KVS_TEST_FULL_PEER - 2;
    memcpy(rec + 2 * KVS_RECORD_HDR_SIZE + 2, big, hdr.value_len);
    rec[2 * KVS_RECORD_HDR_SIZE + 2 + hdr.value_len - 1] = '"';  /* JSON */

    rc = kvs_store_write(st, w, 2, 8000, err, sizeof(err));
    CHECK(rc == KVS_FULL && w[0].rc == KVS_OK && w[1].rc == KVS_FULL,
          "reserve: a peer's small record is stored, its big one refused");
    CHECK(kvs_test_get(st, "peer/small", &r) == KVS_OK
          && r.len == 2 && memcmp(r.value, "{}", 2) == 0,
          "reserve: the small one reads back");
    CHECK(kvs_test_get(st, "peer/big", &r) == KVS_NOT_FOUND,
          "reserve: the big one is not there");

    kvs_store_close(st);

    free(rec);
    free(keys);
    free(big);
    free(value);
}


/*
 * Draining: DELETEs on a store that refuses PUTs each fit, and once half
 * of the keys are deleted, PUTs of the same size fit again.
 */

static void
kvs_test_full_drain(void)
{
    int           ok;
    char          dir[PATH_MAX];
    char         *value, (*keys)[32], (*again)[32];
    size_t        i, n, m;
    kvs_store_t  *st;

    value = kvs_test_value(KVS_TEST_FULL_VLEN);
    keys = malloc(KVS_TEST_FULL_KEYS * sizeof(*keys));
    again = malloc(KVS_TEST_FULL_KEYS * sizeof(*again));
    if (keys == NULL || again == NULL) {
        kvs_test_bail("malloc", "out of memory");
    }

    kvs_test_dir(dir, "full-drain");
    st = kvs_test_open(dir, KVS_TEST_FULL_MAP);
    kvs_store_set_history(st, 3);

    n = kvs_test_fill(st, "fill", value, keys, KVS_TEST_FULL_KEYS);
    CHECK(n > 300 && n < KVS_TEST_FULL_KEYS, "drain: a 1 MiB map is full");

    ok = 1;
    for (i = 0; i < n / 2; i++) {
        ok &= kvs_test_del(st, keys[i], 5000 + i, NULL) == KVS_OK;
    }
    CHECK(ok, "drain: DELETEs of half of the keys are each stored");

    m = kvs_test_fill(st, "again", value, again, KVS_TEST_FULL_KEYS);
    CHECK(m >= n / 6, "drain: then PUTs of the same size fit again");
    CHECK(kvs_test_full_reads(st, keys + n / 2, n - n / 2, value)
          && kvs_test_full_reads(st, again, m, value),
          "drain: and every key left or written reads back");

    kvs_store_close(st);

    free(again);
    free(keys);
    free(value);
}


/*
 * A batch that finds no room as a whole: each of its writes is tried
 * alone, and those that fit alone are stored.  Here DELETEs, which may use
 * all of the reserve, meet a map that PUTs and peers' records filled, and
 * each needs fresh copies of pages far apart.
 */

static void
kvs_test_full_retry(void)
{
    int               ok;
    char              dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    char             *value, (*keys)[32], (*peers)[32];
    size_t            i, n, np;
    uint64_t          seq;
    kvs_write_t      *w;
    kvs_store_t      *st;
    kvs_test_rec_t    r;

    value = kvs_test_value(KVS_TEST_FULL_VLEN);
    keys = malloc(KVS_TEST_FULL_KEYS * sizeof(*keys));
    peers = malloc(KVS_TEST_FULL_KEYS * sizeof(*peers));
    w = calloc(KVS_TEST_FULL_DELETES, sizeof(kvs_write_t));
    if (keys == NULL || peers == NULL || w == NULL) {
        kvs_test_bail("malloc", "out of memory");
    }

    kvs_test_dir(dir, "full-retry");
    st = kvs_test_open(dir, KVS_TEST_FULL_MAP);

    n = kvs_test_fill(st, "fill", value, keys, KVS_TEST_FULL_KEYS);
    np = kvs_test_fill_peers(st, value, peers, KVS_TEST_FULL_KEYS);

    CHECK(n > 2 * KVS_TEST_FULL_DELETES && np > 10
          && np < KVS_TEST_FULL_KEYS,
          "retry: PUTs, then peers' records fill a 1 MiB map");

    for (i = 0; i < KVS_TEST_FULL_DELETES; i++) {
        kvs_test_set(&w[i], KVS_WRITE_DELETE, KVS_NS_DATA, keys[2 * i],
                     NULL, 0);
    }

    seq = kvs_test_seq(st);

    CHECK(kvs_store_write(st, w, KVS_TEST_FULL_DELETES, 9000, err,
                          sizeof(err)) == KVS_OK,
          "retry: a batch of 100 DELETEs of keys far apart is stored");

    ok = 1;
    for (i = 0; i < KVS_TEST_FULL_DELETES; i++) {
        ok &= w[i].rc == KVS_OK
              && kvs_test_get(st, keys[2 * i], &r) == KVS_OK
              && (r.hdr.flags & KVS_FLAG_TOMBSTONE)
              && kvs_test_get(st, keys[2 * i + 1], &r) == KVS_OK
              && !(r.hdr.flags & KVS_FLAG_TOMBSTONE);
    }
    CHECK(ok, "retry: each DELETE is KVS_OK, each key a tombstone, the "
          "others there");
    kvs_test_u64(kvs_test_seq(st), seq + KVS_TEST_FULL_DELETES,
                 "retry: one change each");

    kvs_store_close(st);

    free(w);
    free(peers);
    free(keys);
    free(value);
}


/*
 * The wedge: a group commit of DELETEs that fits, but takes fresh copies
 * of most of the pages the map had free, leaves the next transaction only
 * the few it did not take.  LMDB hands the pages a commit frees out only
 * once a later transaction has committed, so the DELETE after it found no
 * room and was aborted, which commits nothing, and so was every write
 * after it: the store refused all writes for good.  Here DELETE batches of 1 to 16
 * keys, each followed by a DELETE alone, meet a map that PUTs and peers'
 * records filled; every one of them must be stored.
 */

static void
kvs_test_full_wedge(void)
{
    int               ok;
    char              dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    char             *value, (*keys)[32], (*peers)[32];
    size_t            i, k, n, np, next, failed;
    uint64_t          now;
    kvs_write_t      *w;
    kvs_store_t      *st;

    value = kvs_test_value(KVS_TEST_FULL_VLEN);
    keys = malloc(KVS_TEST_FULL_KEYS * sizeof(*keys));
    peers = malloc(KVS_TEST_FULL_KEYS * sizeof(*peers));
    w = calloc(KVS_TEST_WEDGE_BATCH, sizeof(kvs_write_t));
    if (keys == NULL || peers == NULL || w == NULL) {
        kvs_test_bail("malloc", "out of memory");
    }

    kvs_test_dir(dir, "full-wedge");
    st = kvs_test_open(dir, KVS_TEST_FULL_MAP);
    kvs_store_set_history(st, 3);

    n = kvs_test_fill(st, "fill", value, keys, KVS_TEST_FULL_KEYS);
    np = kvs_test_fill_peers(st, value, peers, KVS_TEST_FULL_KEYS);

    CHECK(n > 300 && np > 10 && np < KVS_TEST_FULL_KEYS,
          "wedge: PUTs, then peers' records fill a 1 MiB map");

    /* keys two apart, as a burst of clients might send them */

    ok = 1;
    failed = 0;
    next = 0;
    now = 10000;

    for (k = 1; k <= KVS_TEST_WEDGE_BATCH && next + 2 * (k + 1) < n; k++) {
        for (i = 0; i < k; i++) {
            kvs_test_set(&w[i], KVS_WRITE_DELETE, KVS_NS_DATA, keys[next],
                         NULL, 0);
            next += 2;
        }

        if (kvs_store_write(st, w, k, now++, err, sizeof(err)) != KVS_OK) {
            printf("# a batch of %zu DELETEs: %s\n", k, err);
            ok = 0;
        }

        for (i = 0; i < k; i++) {
            ok &= w[i].rc == KVS_OK;
        }

        if (kvs_test_del(st, keys[next], now++, NULL) != KVS_OK) {
            printf("# the DELETE after a batch of %zu failed\n", k);
            failed++;
        }

        next += 2;
    }

    CHECK(ok && failed == 0 && k > KVS_TEST_WEDGE_BATCH,
          "wedge: every DELETE, in batches of 1 to 16 and alone after "
          "each, is stored");

    kvs_store_close(st);

    free(w);
    free(peers);
    free(keys);
    free(value);
}


/*
 * Peers' tombstones on a map that PUTs and peers' records filled.  One of
 * a key not held here takes room and frees none: those stop where peers'
 * records do, half the reserve short of max_db_size, so that a flood of
 * them leaves room for the deletes that give room back, a local DELETE
 * and a peer's tombstone of a key held here.
 */

static void
kvs_test_full_tombstones(void)
{
    char              dir[PATH_MAX], gone[32];
    char             *value, (*keys)[32], (*peers)[32];
    size_t            n, np, ng;
    uint8_t           rec[KVS_RECORD_HDR_SIZE];
    kvs_store_t      *st;
    kvs_test_rec_t    r;
    kvs_record_hdr_t  hdr;

    value = kvs_test_value(KVS_TEST_FULL_VLEN);
    keys = malloc(KVS_TEST_FULL_KEYS * sizeof(*keys));
    peers = malloc(KVS_TEST_FULL_KEYS * sizeof(*peers));
    if (keys == NULL || peers == NULL) {
        kvs_test_bail("malloc", "out of memory");
    }

    kvs_test_dir(dir, "full-tombstones");
    st = kvs_test_open(dir, KVS_TEST_FULL_MAP);

    n = kvs_test_fill(st, "fill", value, keys, KVS_TEST_FULL_KEYS);
    np = kvs_test_fill_peers(st, value, peers, KVS_TEST_FULL_KEYS);

    memset(&hdr, 0, sizeof(hdr));
    hdr.version.timestamp = 50000;
    hdr.version.uuid[0] = 11;
    hdr.flags = KVS_FLAG_TOMBSTONE;
    kvs_record_encode(&hdr, rec);

    for (ng = 0; ng < KVS_TEST_FULL_KEYS; ng++) {
        snprintf(gone, sizeof(gone), "gone/%zu", ng);

        if (kvs_test_remote1(st, gone, rec, sizeof(rec)) != KVS_OK) {
            break;
        }
    }

    CHECK(n > 300 && np > 10 && ng < KVS_TEST_FULL_KEYS,
          "tombstones: after PUTs and peers' records, peers' tombstones of "
          "keys not held are refused");
    CHECK(kvs_test_get(st, gone, &r) == KVS_NOT_FOUND,
          "tombstones: the one refused is not there");

    CHECK(kvs_test_del(st, keys[0], 60000, NULL) == KVS_OK
          && kvs_test_get(st, keys[0], &r) == KVS_OK
          && (r.hdr.flags & KVS_FLAG_TOMBSTONE),
          "tombstones: a DELETE is still stored");
    CHECK(kvs_test_remote1(st, peers[0], rec, sizeof(rec)) == KVS_OK
          && kvs_test_get(st, peers[0], &r) == KVS_OK
          && (r.hdr.flags & KVS_FLAG_TOMBSTONE),
          "tombstones: and so is a peer's tombstone of a key held here");

    kvs_store_close(st);

    free(peers);
    free(keys);
    free(value);
}


/*
 * max_db_size raised while a process runs: another process opens the
 * store with a larger map and writes past this one's.  This process's next
 * write, and its next read, adopt the larger map instead of failing with
 * MDB_MAP_RESIZED.
 */

static int
kvs_test_grow(const char *dir, size_t map_size, size_t bytes)
{
    int            status;
    char           err[KVS_STORE_ERRLEN], key[32], *value;
    pid_t          pid;
    size_t         i;
    kvs_store_t   *st;

    pid = fork();

    if (pid == -1) {
        return -1;
    }

    if (pid == 0) {
        value = kvs_test_value(KVS_TEST_GROW_VLEN);

        if (kvs_store_open(&st, dir, map_size, err, sizeof(err)) != KVS_OK) {
            printf("# child: %s\n", err);
            _exit(1);
        }

        for (i = 0; i < bytes / KVS_TEST_GROW_VLEN; i++) {
            snprintf(key, sizeof(key), "grow/%zu/%zu", map_size, i);

            if (kvs_test_put(st, key, value, 1000 + i, NULL) != KVS_OK) {
                _exit(1);
            }
        }

        kvs_store_close(st);
        _exit(0);
    }

    if (waitpid(pid, &status, 0) != pid) {
        return -1;
    }

    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}


static void
kvs_test_resized(void)
{
    char            dir[PATH_MAX];
    kvs_store_t    *st;
    kvs_test_rec_t  r;

    kvs_test_dir(dir, "resized");
    st = kvs_test_open(dir, KVS_TEST_FULL_MAP);

    CHECK(kvs_test_put(st, "resized/a", "1", 1000, NULL) == KVS_OK
          && kvs_test_get(st, "resized/a", &r) == KVS_OK,
          "resized: a store with a 1 MiB map is written and read");

    CHECK(kvs_test_grow(dir, 4 << 20, 2 << 20) == 0,
          "resized: another process writes 2 MiB with a 4 MiB map");
    CHECK(kvs_test_put(st, "resized/b", "2", 2000, NULL) == KVS_OK,
          "resized: then a write adopts the larger map");
    CHECK(kvs_test_get(st, "grow/4194304/0", &r) == KVS_OK,
          "resized: and sees the other process's writes");

    CHECK(kvs_test_grow(dir, 8 << 20, 3 << 20) == 0,
          "resized: another process writes 3 MiB more with an 8 MiB map");
    CHECK(kvs_test_get(st, "grow/8388608/0", &r) == KVS_OK,
          "resized: then a read adopts the larger map");
    CHECK(kvs_test_put(st, "resized/c", "3", 3000, NULL) == KVS_OK
          && kvs_test_get(st, "resized/c", &r) == KVS_OK,
          "resized: and writes go on");

    kvs_store_close(st);
}


/* a read that fails says why, with LMDB's reason, as writes do */

static void
kvs_test_read_errors(void)
{
    char             dir[PATH_MAX], err[KVS_STORE_ERRLEN], want[PATH_MAX + 128];
    uint64_t         v;
    kvs_store_t     *st;
    kvs_test_raw_t   raw;
    kvs_test_rec_t   r;

    kvs_test_dir(dir, "read-errors");
    st = kvs_test_open(dir, KVS_TEST_MAP);
    CHECK(kvs_test_put(st, "read/a", "1", 1000, NULL) == KVS_OK,
          "read errors: a store with a key");
    kvs_store_close(st);

    if (kvs_test_raw_open(&raw, dir, 1) != 0
        || kvs_test_raw_put(&raw, "meta", "cursor", 6, "abc", 3) != 0
        || kvs_test_raw_put(&raw, "kv", "dread/b", 7, "xy", 2) != 0
        || kvs_test_raw_close(&raw, 1) != 0)
    {
        kvs_test_bail("raw write", dir);
    }

    st = kvs_test_open(dir, KVS_TEST_MAP);

    if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
        kvs_test_bail("kvs_store_read_begin", err);
    }

    CHECK(kvs_store_meta_get(st, "cursor", &v) == KVS_ERROR,
          "read errors: a meta number of 3 bytes is an error");
    snprintf(want, sizeof(want), "reading meta in \"%s\" failed: %s", dir,
             mdb_strerror(MDB_CORRUPTED));
    kvs_test_str(kvs_store_error(st), want,
                 "read errors: with a sentence from mdb_strerror");

    kvs_store_read_end(st);

    CHECK(kvs_test_get(st, "read/b", &r) == KVS_ERROR,
          "read errors: a record cut short is an error");
    snprintf(want, sizeof(want), "reading a key in \"%s\" failed: %s", dir,
             mdb_strerror(MDB_CORRUPTED));
    kvs_test_str(kvs_store_error(st), want,
                 "read errors: with its sentence");

    CHECK(kvs_test_get(st, "read/a", &r) == KVS_OK,
          "read errors: and the good key reads");

    kvs_store_close(st);
}


/* every store of a case is a directory under kvs_test_base */

static int
kvs_test_setup(void)
{
    if (mkdtemp(kvs_test_base) == NULL) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return -1;
    }

    return 0;
}


/* the sizes metrics show: the file, the pages used, the map */

static void
kvs_test_usage(void)
{
    int                i;
    char               dir[PATH_MAX], err[KVS_STORE_ERRLEN], path[32];
    char               big[4096];
    kvs_store_t       *st;
    kvs_store_usage_t  u0, u1;

    kvs_test_dir(dir, "usage");
    st = kvs_test_open(dir, 4 * 1024 * 1024);

    CHECK(kvs_store_read_begin(st, err, sizeof(err)) == KVS_OK
          && kvs_store_usage(st, &u0) == KVS_OK,
          "usage: measured in a read transaction");
    kvs_store_read_end(st);

    CHECK(u0.map == 4 * 1024 * 1024, "usage: the map is max_db_size");
    CHECK(u0.used > 0 && u0.used <= u0.size && u0.size <= u0.map,
          "usage: used <= size <= map");

    memset(big, 'x', sizeof(big));
    big[0] = '"';
    big[sizeof(big) - 2] = '"';
    big[sizeof(big) - 1] = '\0';

    for (i = 0; i < 50; i++) {
        snprintf(path, sizeof(path), "u/%d", i);
        kvs_test_put(st, path, big, 1000 + i, NULL);
    }

    kvs_store_read_begin(st, err, sizeof(err));
    CHECK(kvs_store_usage(st, &u1) == KVS_OK
          && u1.used >= u0.used + 50 * 4096 && u1.size >= u1.used,
          "usage: 50 values of 4 KB use 200 KB more");
    kvs_store_read_end(st);

    kvs_store_close(st);
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_open_errors),
    KVS_TEST_CASE(kvs_test_check),
    KVS_TEST_CASE(kvs_test_cut_short),
    KVS_TEST_CASE(kvs_test_free_tail),
    KVS_TEST_CASE(kvs_test_put_get),
    KVS_TEST_CASE(kvs_test_usage),
    KVS_TEST_CASE(kvs_test_snapshot),
    KVS_TEST_CASE(kvs_test_indexes),
    KVS_TEST_CASE(kvs_test_batch),
    KVS_TEST_CASE(kvs_test_long_keys),
    KVS_TEST_CASE(kvs_test_merkle),
    KVS_TEST_CASE(kvs_test_schema),
    KVS_TEST_CASE(kvs_test_members),
    KVS_TEST_CASE(kvs_test_full),
    KVS_TEST_CASE(kvs_test_collect),
    KVS_TEST_CASE(kvs_test_remote),
    KVS_TEST_CASE(kvs_test_feed),
    KVS_TEST_CASE(kvs_test_tree),
    KVS_TEST_CASE(kvs_test_purge),
    KVS_TEST_CASE(kvs_test_conditions),
    KVS_TEST_CASE(kvs_test_owners),
    KVS_TEST_CASE(kvs_test_revisions),
    KVS_TEST_CASE(kvs_test_history_late),
    KVS_TEST_CASE(kvs_test_revisions_apart),
    KVS_TEST_CASE(kvs_test_revisions_purge),
    KVS_TEST_CASE(kvs_test_revisions_setting),
    KVS_TEST_CASE(kvs_test_revisions_neighbour),
    KVS_TEST_CASE(kvs_test_revisions_flip),
    KVS_TEST_CASE(kvs_test_listing_neighbour),
    KVS_TEST_CASE(kvs_test_ttl),
    KVS_TEST_CASE(kvs_test_sweep),
    KVS_TEST_CASE(kvs_test_sweep_by_time),
    KVS_TEST_CASE(kvs_test_purge_same_ms),
    KVS_TEST_CASE(kvs_test_sweep_purge),
    KVS_TEST_CASE(kvs_test_compressed),
    KVS_TEST_CASE(kvs_test_listing),
    KVS_TEST_CASE(kvs_test_listing_bound),
    KVS_TEST_CASE(kvs_test_listing_long),
    KVS_TEST_CASE(kvs_test_feed_history),
    KVS_TEST_CASE(kvs_test_full_reserve),
    KVS_TEST_CASE(kvs_test_full_drain),
    KVS_TEST_CASE(kvs_test_full_retry),
    KVS_TEST_CASE(kvs_test_full_wedge),
    KVS_TEST_CASE(kvs_test_full_tombstones),
    KVS_TEST_CASE(kvs_test_resized),
    KVS_TEST_CASE(kvs_test_read_errors),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    kvs_test_setup, kvs_test_cleanup, kvs_test_cases
};
