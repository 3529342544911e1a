/*
 * Unit tests of the store's schema versions and upgrades
 * (src/kvs/kvs_store_schema.c), printed as TAP.
 *
 * t/fixtures/store-v1/data.mdb is a store written by the layout of schema
 * version 1, as the first release wrote it (see its README): a plain key,
 * a long key, a compressed value, a tombstone, a key with history, one
 * with an expiry, and a member.  Each case copies it, opens it, and
 * compares what every read of the store's API gives with what it gave
 * before: after this build's open, and after each upgrade.  What the
 * build of version 3 read from it once upgraded is kept beside it
 * (t/fixtures/store-v1/reads): this build reads history where version 4
 * keeps it, so its reads of a store not upgraded lack it, and what
 * version 4's step gives is compared with that file.  This build's
 * version 2 rewrites the permission bits of every record (0744 becomes
 * "f11", in the dumps "perm=1e4" becomes "perm=f11", and the records of
 * the change feed carry the same two bytes); version 3 moves the Merkle
 * buckets' digests beside their keys, which changes no read but the
 * root's: this build reads the root of a store of version 1 as of all
 * zero buckets, and the upgraded store must give the root version 1's
 * layout held (kvs_test_old_root, read with LMDB alone).  Nothing else may
 * change.  Later versions are made up by the tests, with this build's
 * steps and
 * steps that change nothing a read sees (a rewrite of every record as it
 * is, a mark in meta), one of them failing and one needing more room than
 * the map has.  Run from the top of the tree, as t/run does; the one
 * main() of t/unit/kvs_test.c runs the cases.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lmdb.h>

#include "kvs_codec.h"
#include "kvs_merkle.h"
#include "kvs_record.h"
#include "kvs_store_int.h"

#include "kvs_test.h"


#define KVS_FIXTURE        "t/fixtures/store-v1/data.mdb"
#define KVS_FIXTURE_V2     "t/fixtures/store-v2/data.mdb"
#define KVS_FIXTURE_READS  "t/fixtures/store-v1/reads"
#define KVS_FIXTURE_V3     "t/fixtures/store-v3/data.mdb"
#define KVS_TEST_MAP       (1 << 20)
#define KVS_TEST_T0        1700000000000ULL
#define KVS_TEST_NOW       (KVS_TEST_T0 + 3600000)
#define KVS_TEST_DUMP      65536
#define KVS_TEST_LONG      520


static char  kvs_test_base[] = "/tmp/kvs_schema_test.XXXXXX";


static void kvs_test_cleanup(void);


static void
kvs_test_bail(const char *what, const char *why)
{
    printf("Bail out! %s: %s\n", what, why);
    kvs_test_cleanup();
    exit(2);
}


/* a copy of the fixture in a directory of its own */

static void
kvs_test_copy_of(char *dir, const char *name, const char *fixture)
{
    int      in, out;
    char     path[PATH_MAX], buf[65536];
    ssize_t  n;

    snprintf(dir, PATH_MAX, "%s/%s", kvs_test_base, name);
    snprintf(path, sizeof(path), "%s/data.mdb", dir);

    if (mkdir(dir, 0700) == -1) {
        kvs_test_bail(dir, strerror(errno));
    }

    in = open(fixture, O_RDONLY);
    if (in == -1) {
        kvs_test_bail(fixture, strerror(errno));
    }

    out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (out == -1) {
        kvs_test_bail(path, strerror(errno));
    }

    while ((n = read(in, buf, sizeof(buf))) > 0) {
        if (write(out, buf, n) != n) {
            kvs_test_bail(path, strerror(errno));
        }
    }

    close(in);
    close(out);
}


static void
kvs_test_copy(char *dir, const char *name)
{
    kvs_test_copy_of(dir, name, KVS_FIXTURE);
}


static void
kvs_test_long_path(char *path)
{
    size_t  i;

    strcpy(path, "fixture/long/");

    for (i = strlen(path); i < KVS_TEST_LONG; i++) {
        path[i] = 'a' + i % 26;
    }

    path[KVS_TEST_LONG] = '\0';
}


/* what the store's reads give, written out as text */

typedef struct {
    char    *p;
    char    *end;
} kvs_test_out_t;


static void
kvs_test_printf(kvs_test_out_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
kvs_test_printf(kvs_test_out_t *o, const char *fmt, ...)
{
    int      n;
    va_list  ap;

    va_start(ap, fmt);
    n = vsnprintf(o->p, o->end - o->p, fmt, ap);
    va_end(ap);

    if (n > 0 && n < o->end - o->p) {
        o->p += n;
    }
}


static void
kvs_test_bytes(kvs_test_out_t *o, const uint8_t *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        kvs_test_printf(o, "%02x", p[i]);
    }
}


static void
kvs_test_hdr(kvs_test_out_t *o, const kvs_record_hdr_t *h)
{
    kvs_test_printf(o, " ts=%llu flags=%u exp=%llu created=%llu perm=%03x "
                    "vlen=%u raw=%u uuid=",
                    (unsigned long long) h->version.timestamp, h->flags,
                    (unsigned long long) h->expires_at,
                    (unsigned long long) h->created_at, h->permissions,
                    h->value_len, h->raw_len);
    kvs_test_bytes(o, h->version.uuid, KVS_UUID_LEN);
}


static int
kvs_test_hist_cb(const kvs_record_hdr_t *hdr, const uint8_t *value,
    void *data)
{
    kvs_test_out_t  *o = data;

    kvs_test_printf(o, "  history");
    kvs_test_hdr(o, hdr);
    kvs_test_printf(o, " value=%.*s\n", (int) hdr->value_len, value);

    return KVS_OK;
}


static int
kvs_test_list_cb(const char *path, size_t len, int is_prefix, void *data)
{
    kvs_test_out_t  *o = data;

    kvs_test_printf(o, "  listed %.*s%s\n", (int) len, path,
                    is_prefix ? " (prefix)" : "");

    return KVS_OK;
}


static int
kvs_test_change_cb(uint64_t seq, char ns, const char *path, size_t len,
    const uint8_t *record, size_t record_len, void *data)
{
    kvs_test_out_t  *o = data;

    kvs_test_printf(o, "change %llu %c %.*s ", (unsigned long long) seq, ns,
                    (int) len, path);
    kvs_test_bytes(o, record, record_len);
    kvs_test_printf(o, "\n");

    return KVS_OK;
}


static int
kvs_test_member_cb(const kvs_member_t *m, void *data)
{
    kvs_test_out_t  *o = data;

    kvs_test_printf(o, "member %s %s seen=%llu joined=%llu state=%d\n",
                    m->node_id, m->address,
                    (unsigned long long) m->last_seen,
                    (unsigned long long) m->joined_timestamp, m->state);

    return KVS_OK;
}


static int
kvs_test_bucket_cb(char ns, const char *path, size_t len,
    const kvs_version_t *v, uint8_t flags, void *data)
{
    kvs_test_out_t  *o = data;

    kvs_test_printf(o, "  bucket key %c %.*s ts=%llu flags=%u\n", ns,
                    (int) len, path, (unsigned long long) v->timestamp,
                    flags);

    return KVS_OK;
}


static void
kvs_test_dump(kvs_store_t *st, char *buf, size_t cap)
{
    int                rc, more;
    char               err[KVS_STORE_ERRLEN], lp[KVS_TEST_LONG + 1];
    size_t             i;
    uint8_t            ranges[256 * KVS_MERKLE_DIGEST_LEN];
    uint8_t            root[KVS_MERKLE_DIGEST_LEN], raw[4096];
    uint64_t           n, seq;
    const char        *paths[7];
    const uint8_t     *value;
    kvs_test_out_t     o;
    kvs_record_hdr_t   hdr;

    o.p = buf;
    o.end = buf + cap;
    buf[0] = '\0';

    kvs_test_long_path(lp);
    paths[0] = "fixture/plain";
    paths[1] = lp;
    paths[2] = "fixture/compressed";
    paths[3] = "fixture/gone";
    paths[4] = "fixture/history";
    paths[5] = "fixture/ttl";
    paths[6] = "fixture/never";

    if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
        kvs_test_bail("read", err);
    }

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        rc = kvs_store_get(st, KVS_NS_DATA, paths[i], strlen(paths[i]),
                           &hdr, &value);
        kvs_test_printf(&o, "get %s rc=%d", paths[i], rc);

        if (rc == KVS_OK) {
            kvs_test_hdr(&o, &hdr);
            kvs_test_printf(&o, " live=%d value=",
                            kvs_record_live(&hdr, KVS_TEST_NOW));

            if ((hdr.flags & KVS_FLAG_COMPRESSED)
                && hdr.raw_len < sizeof(raw)
                && kvs_codec_decompress(raw, hdr.raw_len, value,
                                        hdr.value_len)
                   == 0)
            {
                kvs_test_printf(&o, "%.*s", (int) hdr.raw_len, raw);

            } else {
                kvs_test_printf(&o, "%.*s", (int) hdr.value_len, value);
            }
        }

        kvs_test_printf(&o, "\n");

        rc = kvs_store_history(st, KVS_NS_DATA, paths[i], strlen(paths[i]),
                               kvs_test_hist_cb, &o);
        kvs_test_printf(&o, "  history rc=%d\n", rc);
    }

    for (i = 0; i < 2; i++) {
        more = 0;
        rc = kvs_store_list(st, KVS_NS_DATA, "fixture/", 8, NULL, 0, (int) i,
                            100, KVS_TEST_NOW, kvs_test_list_cb, &o, &more);
        kvs_test_printf(&o, "list recursive=%d rc=%d more=%d\n", (int) i, rc,
                        more);
    }

    rc = kvs_store_changes(st, 0, 100, kvs_test_change_cb, &o);
    kvs_test_printf(&o, "changes %d\n", rc);

    rc = kvs_store_merkle_ranges(st, ranges);
    kvs_store_merkle_root(ranges, root);
    kvs_test_printf(&o, "merkle rc=%d root=", rc);
    kvs_test_bytes(&o, root, sizeof(root));
    kvs_test_printf(&o, "\n");

    for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        rc = kvs_store_bucket_keys(st,
                                   kvs_merkle_bucket(KVS_NS_DATA, paths[i],
                                                     strlen(paths[i])),
                                   kvs_test_bucket_cb, &o);
        kvs_test_printf(&o, "bucket of %.20s rc=%d\n", paths[i], rc);
    }

    rc = kvs_store_count(st, &n);
    kvs_test_printf(&o, "count rc=%d n=%llu\n", rc, (unsigned long long) n);

    rc = kvs_store_change_seq(st, &seq);
    kvs_test_printf(&o, "change_seq rc=%d seq=%llu\n", rc,
                    (unsigned long long) seq);

    rc = kvs_store_member_each(st, kvs_test_member_cb, &o);
    kvs_test_printf(&o, "members rc=%d\n", rc);

    kvs_store_read_end(st);
}


/* the schema version meta holds, read with LMDB alone */

static unsigned
kvs_test_version(const char *dir)
{
    int       rc;
    MDB_env  *env;
    MDB_txn  *txn;
    MDB_dbi   dbi;
    MDB_val   key, val;
    unsigned  v;

    v = 0;

    if (mdb_env_create(&env) != 0) {
        return 0;
    }

    rc = mdb_env_set_maxdbs(env, 16);

    if (rc == 0) {
        rc = mdb_env_open(env, dir, MDB_RDONLY, 0600);
    }

    if (rc == 0 && mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0) {
        key.mv_data = "schema_version";
        key.mv_size = 14;

        if (mdb_dbi_open(txn, "meta", 0, &dbi) == 0
            && mdb_get(txn, dbi, &key, &val) == 0 && val.mv_size == 4)
        {
            v = kvs_get_u32(val.mv_data);
        }

        mdb_txn_abort(txn);
    }

    mdb_env_close(env);

    return v;
}


/* the made-up steps */

static int
kvs_test_room_kv(kvs_store_t *st, MDB_txn *txn, size_t *bytes)
{
    int       rc;
    MDB_stat  stat;

    /* a rewrite copies every page of kv, and its path from the root */

    rc = mdb_stat(txn, st->kv, &stat);
    if (rc != 0) {
        return rc;
    }

    *bytes = (stat.ms_branch_pages + stat.ms_leaf_pages
              + stat.ms_overflow_pages + stat.ms_depth) * st->psize;

    return 0;
}


static int
kvs_test_rewrite(kvs_store_t *st, MDB_txn *txn)
{
    int          rc;
    uint8_t      copy[8192];
    MDB_val      key, val;
    MDB_cursor  *cur;

    rc = mdb_cursor_open(txn, st->kv, &cur);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);

    while (rc == 0) {
        if (val.mv_size > sizeof(copy)) {
            rc = MDB_CORRUPTED;
            break;
        }

        memcpy(copy, val.mv_data, val.mv_size);
        val.mv_data = copy;

        rc = mdb_cursor_put(cur, &key, &val, MDB_CURRENT);
        if (rc != 0) {
            break;
        }

        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    mdb_cursor_close(cur);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


static int
kvs_test_room_mark(kvs_store_t *st, MDB_txn *txn, size_t *bytes)
{
    (void) txn;

    *bytes = 4 * st->psize;

    return 0;
}


static int
kvs_test_mark(kvs_store_t *st, MDB_txn *txn)
{
    MDB_val  key, val;

    key.mv_data = "test_mark";
    key.mv_size = 9;
    val.mv_data = "3";
    val.mv_size = 1;

    return mdb_put(txn, st->meta, &key, &val, 0);
}


static int
kvs_test_room_huge(kvs_store_t *st, MDB_txn *txn, size_t *bytes)
{
    (void) st;
    (void) txn;

    *bytes = 2 * KVS_TEST_MAP;

    return 0;
}


/* a step that does its work and then fails: the open must leave none */

static int
kvs_test_fail(kvs_store_t *st, MDB_txn *txn)
{
    int  rc;

    rc = kvs_test_rewrite(st, txn);
    if (rc != 0) {
        return rc;
    }

    rc = kvs_test_mark(st, txn);

    return rc ? rc : MDB_CORRUPTED;
}


/* this build's steps to version 4, then the made-up ones (setup) */
static kvs_store_step_t  kvs_test_steps[5];

static const kvs_store_step_t  kvs_test_steps_fail[] = {
    { "fails halfway", kvs_test_room_kv, kvs_test_fail },
};

static const kvs_store_step_t  kvs_test_steps_huge[] = {
    { "needs twice the map", kvs_test_room_huge, kvs_test_rewrite },
};

static const kvs_store_schema_t  kvs_test_v1 = { 1, NULL };
static const kvs_store_schema_t  kvs_test_v5 = { 5, kvs_test_steps };
static const kvs_store_schema_t  kvs_test_v6 = { 6, kvs_test_steps };
static const kvs_store_schema_t  kvs_test_fails = { 2, kvs_test_steps_fail };
static const kvs_store_schema_t  kvs_test_huge = { 2, kvs_test_steps_huge };


static char  kvs_test_v1_dump[KVS_TEST_DUMP];
static char  kvs_test_new_dump[KVS_TEST_DUMP];


/* the bucket digests of a store of version 1 or 2 (db "merkle") or 3
 * ("bucket_keys"), the 2-byte keys there, read with LMDB alone: their
 * number, at most max */

#define KVS_TEST_OLD_MAX  4096

static size_t
kvs_test_old_buckets(const char *dir, const char *db, uint16_t *buckets,
    uint8_t (*digests)[KVS_MERKLE_DIGEST_LEN], size_t max)
{
    int          rc;
    size_t       n;
    MDB_env     *env;
    MDB_txn     *txn;
    MDB_dbi      dbi;
    MDB_val      key, val;
    MDB_cursor  *c;

    if (mdb_env_create(&env) != 0
        || mdb_env_set_maxdbs(env, 16) != 0
        || mdb_env_open(env, dir, MDB_RDONLY, 0600) != 0
        || mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0
        || mdb_dbi_open(txn, db, 0, &dbi) != 0
        || mdb_cursor_open(txn, dbi, &c) != 0)
    {
        kvs_test_bail("open", dir);
    }

    n = 0;

    for (rc = mdb_cursor_get(c, &key, &val, MDB_FIRST);
         rc == 0 && n < max;
         rc = mdb_cursor_get(c, &key, &val, MDB_NEXT))
    {
        if (key.mv_size == 2 && val.mv_size == KVS_MERKLE_DIGEST_LEN) {
            buckets[n] = (uint16_t) (((uint8_t *) key.mv_data)[0] << 8
                                     | ((uint8_t *) key.mv_data)[1]);
            memcpy(digests[n++], val.mv_data, KVS_MERKLE_DIGEST_LEN);
        }
    }

    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    mdb_env_close(env);

    return n;
}


/* the Merkle root of a store of version 1, 2 or 3 as its build read it:
 * the ranges summed from its bucket digests (in db), in hex */

static void
kvs_test_old_root(const char *dir, const char *db, char *hex)
{
    size_t           i, n;
    uint8_t          ranges[256 * KVS_MERKLE_DIGEST_LEN];
    uint8_t          root[KVS_MERKLE_DIGEST_LEN];

    static uint16_t  buckets[KVS_TEST_OLD_MAX];
    static uint8_t   digests[KVS_TEST_OLD_MAX][KVS_MERKLE_DIGEST_LEN];

    memset(ranges, 0, sizeof(ranges));

    n = kvs_test_old_buckets(dir, db, buckets, digests, KVS_TEST_OLD_MAX);

    for (i = 0; i < n; i++) {
        kvs_merkle_xor(ranges + (buckets[i] >> 8) * KVS_MERKLE_DIGEST_LEN,
                       digests[i]);
    }

    kvs_store_merkle_root(ranges, root);

    for (i = 0; i < sizeof(root); i++) {
        sprintf(hex + 2 * i, "%02x", root[i]);
    }
}


/* a file of the tree, whole, into buf (cap bytes with its NUL) */

static void
kvs_test_read_file(const char *path, char *buf, size_t cap)
{
    int      fd;
    ssize_t  n;
    size_t   len;

    fd = open(path, O_RDONLY);
    if (fd == -1) {
        kvs_test_bail(path, strerror(errno));
    }

    len = 0;

    while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0) {
        len += (size_t) n;
    }

    (void) close(fd);

    if (len + 1 >= cap) {
        kvs_test_bail(path, "larger than a dump");
    }

    buf[len] = '\0';
}


/* entries of a database of a stopped store, read with LMDB alone; -1 when
 * it cannot be read */

static long
kvs_test_entries(const char *dir, const char *name)
{
    int       rc;
    long      n;
    MDB_env  *env;
    MDB_txn  *txn;
    MDB_dbi   dbi;
    MDB_stat  stat;

    n = -1;

    if (mdb_env_create(&env) != 0) {
        return -1;
    }

    (void) mdb_env_set_maxdbs(env, 16);

    if (mdb_env_open(env, dir, MDB_RDONLY, 0600) == 0
        && mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0)
    {
        rc = mdb_dbi_open(txn, name, 0, &dbi);

        if (rc == 0 && mdb_stat(txn, dbi, &stat) == 0) {
            n = (long) stat.ms_entries;
        }

        mdb_txn_abort(txn);
    }

    mdb_env_close(env);

    return n;
}


/* meta's count of the versions kv keeps beside records, read with LMDB
 * alone; -1 when there is none */

static long
kvs_test_revisions(const char *dir)
{
    long      n;
    MDB_env  *env;
    MDB_txn  *txn;
    MDB_dbi   dbi;
    MDB_val   key, val;

    n = -1;

    if (mdb_env_create(&env) != 0) {
        return -1;
    }

    (void) mdb_env_set_maxdbs(env, 16);

    if (mdb_env_open(env, dir, MDB_RDONLY, 0600) == 0
        && mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0)
    {
        key.mv_data = KVS_STORE_REVS;
        key.mv_size = sizeof(KVS_STORE_REVS) - 1;

        if (mdb_dbi_open(txn, "meta", 0, &dbi) == 0
            && mdb_get(txn, dbi, &key, &val) == 0 && val.mv_size == 8)
        {
            n = (long) kvs_get_u64(val.mv_data);
        }

        mdb_txn_abort(txn);
    }

    mdb_env_close(env);

    return n;
}


/* this build opens the fixture, and reads what was written into it */

static void
kvs_test_fixture(void)
{
    int           rc;
    char          dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    char          note[KVS_STORE_ERRLEN], line[1024];
    char          want[PATH_MAX + 256], lp[KVS_TEST_LONG + 1], *p;
    char          old_root[2 * KVS_MERKLE_DIGEST_LEN + 1];
    char          read_root[2 * KVS_MERKLE_DIGEST_LEN + 1];
    kvs_store_t  *st;

    static char   dump[KVS_TEST_DUMP];

    /* what version 1 reads, as this build reads it without upgrading */

    kvs_test_copy(dir, "v1");

    rc = kvs_store_open_schema(&st, dir, KVS_TEST_MAP, &kvs_test_v1, NULL, 0,
                               err, sizeof(err));
    if (rc != KVS_OK) {
        kvs_test_bail("open", err);
    }

    kvs_test_dump(st, kvs_test_v1_dump, sizeof(kvs_test_v1_dump));
    kvs_store_close(st);

    kvs_test_old_root(dir, "merkle", old_root);

    p = strstr(kvs_test_v1_dump, "merkle rc=0 root=");
    if (p == NULL || strlen(p) < 17 + 2 * KVS_MERKLE_DIGEST_LEN) {
        kvs_test_bail("dump", "no Merkle root");
    }

    memcpy(read_root, p + 17, 2 * KVS_MERKLE_DIGEST_LEN);
    read_root[2 * KVS_MERKLE_DIGEST_LEN] = '\0';

    CHECK(strcmp(old_root, read_root) != 0,
          "fixture: version 1's Merkle buckets are not where version 3 "
          "reads them");

    CHECK(strstr(kvs_test_v1_dump, "perm=1e4") != NULL
          && strstr(kvs_test_v1_dump, "0100e401") != NULL,
          "fixture: version 1 wrote 0744 as every key's permissions");

    /* and what the build of version 3 read once it had upgraded it:
     * permissions f11 instead of 0744, the Merkle root version 1 held */

    kvs_test_read_file(KVS_FIXTURE_READS, kvs_test_new_dump,
                       sizeof(kvs_test_new_dump));

    snprintf(line, sizeof(line), "merkle rc=0 root=%s\n", old_root);
    CHECK(strstr(kvs_test_new_dump, line) != NULL
          && strstr(kvs_test_new_dump, "perm=f11") != NULL
          && strstr(kvs_test_new_dump, "perm=1e4") == NULL,
          "fixture: version 3 read the root version 1 held, and f11");

    kvs_test_copy(dir, "v2");

    CHECK(kvs_store_check(dir, KVS_TEST_MAP, err, sizeof(err)) == KVS_OK,
          "fixture: nginx -t takes the store of schema version 1");

    rc = kvs_store_open_upgrade(&st, dir, KVS_TEST_MAP, note, sizeof(note),
                                err, sizeof(err));
    if (rc != KVS_OK) {
        kvs_test_bail("open", err);
    }

    snprintf(want, sizeof(want), "upgraded the store in \"%s\" from schema "
             "version 1 to 4: permissions in CDWR; Merkle buckets beside "
             "their keys; history beside records, by_time of dead records, "
             "buckets of keys alone", dir);
    kvs_test_str(note, want, "fixture: this build upgrades it to version 4");

    kvs_test_dump(st, dump, sizeof(dump));
    kvs_store_close(st);

    kvs_test_str(dump, kvs_test_new_dump, "fixture: and it reads what the "
                 "build of version 3 read from it");
    CHECK(kvs_test_version(dir) == 4, "fixture: meta says version 4");

    CHECK(kvs_test_entries(dir, "rev") == 0
          && kvs_test_entries(dir, "kv") == 6 + 3
          && kvs_test_revisions(dir) == 3,
          "fixture: the three earlier versions moved from rev into kv, "
          "and meta counts them");
    CHECK(kvs_test_entries(dir, "by_time") == 1,
          "fixture: by_time keeps the tombstone's entry only");

    rc = kvs_store_open_upgrade(&st, dir, KVS_TEST_MAP, note, sizeof(note),
                                err, sizeof(err));
    CHECK(rc == KVS_OK && note[0] == '\0',
          "fixture: a second start upgrades nothing");
    if (rc == KVS_OK) {
        kvs_store_close(st);
    }

    CHECK(strstr(kvs_test_new_dump, "get fixture/plain rc=0 "
                 "ts=1700000000000 flags=0 exp=0 created=1700000000000")
          != NULL
          && strstr(kvs_test_new_dump, "value={\"name\":\"plain\"}\n"),
          "fixture: the plain key reads, with its version");

    kvs_test_long_path(lp);
    snprintf(line, sizeof(line), "get %s rc=0", lp);
    CHECK(strstr(kvs_test_new_dump, line) != NULL
          && strstr(kvs_test_new_dump, "value={\"long\":true}\n") != NULL,
          "fixture: the long key reads");

    CHECK(strstr(kvs_test_new_dump, "get fixture/compressed rc=0 ts="
                 "1700000002000 flags=2") != NULL
          && strstr(kvs_test_new_dump, "raw=2002") != NULL
          && strstr(kvs_test_new_dump, "value={\"text\":\"kkkk") != NULL,
          "fixture: the compressed value decompresses");

    CHECK(strstr(kvs_test_new_dump, "get fixture/gone rc=0 ts=1700000004000 "
                 "flags=1") != NULL
          && strstr(kvs_test_new_dump, "value={\"gone\":false}\n  history")
             != NULL,
          "fixture: the tombstone is there, its value in its history");

    CHECK(strstr(kvs_test_new_dump, "value={\"v\":3}\n  history") != NULL
          && strstr(kvs_test_new_dump, "value={\"v\":2}\n  history") != NULL
          && strstr(kvs_test_new_dump, "value={\"v\":1}\n  history rc=0")
             != NULL,
          "fixture: the key with history has its two earlier versions");

    CHECK(strstr(kvs_test_new_dump, "get fixture/ttl rc=0 ts=1700000008000 "
                 "flags=0 exp=2015360008000") != NULL,
          "fixture: the key with a TTL keeps its expiry");

    CHECK(strstr(kvs_test_new_dump, "listed fixture/long/ (prefix)") != NULL
          && strstr(kvs_test_new_dump, "changes 9\n") != NULL
          && strstr(kvs_test_new_dump, "count rc=0 n=6\n") != NULL
          && strstr(kvs_test_new_dump, "member fixture-node 127.0.0.1:9984")
             != NULL,
          "fixture: the listing, change feed, count and member read");
}


/* one upgrade after the other: each reads the same, in one transaction */

static void
kvs_test_upgrades(void)
{
    int           rc;
    char          dir[PATH_MAX], err[KVS_STORE_ERRLEN], want[PATH_MAX + 256];
    char          note[KVS_STORE_ERRLEN];
    static char   dump[KVS_TEST_DUMP];
    kvs_store_t  *st;

    kvs_test_copy(dir, "upgrade");

    CHECK(kvs_store_check_schema(dir, KVS_TEST_MAP, &kvs_test_v5, err,
                                 sizeof(err))
          == KVS_OK,
          "upgrade: nginx -t of a build of version 5 takes version 1");

    rc = kvs_store_open_schema(&st, dir, KVS_TEST_MAP, &kvs_test_v5, NULL, 0,
                               err, sizeof(err));
    CHECK(rc == KVS_ERROR, "upgrade: a worker's or a reload's open refuses "
          "to upgrade");
    snprintf(want, sizeof(want),
             "the store in \"%s\" has schema version 1, older than this "
             "build's 5, and only nginx's start upgrades it, not a reload "
             "while workers of the old build may still read it: stop nginx "
             "and start it again", dir);
    kvs_test_str(err, want, "upgrade: saying to restart nginx");
    CHECK(kvs_test_version(dir) == 1, "upgrade: and leaves version 1");

    rc = kvs_store_open_schema(&st, dir, KVS_TEST_MAP, &kvs_test_v5, note,
                               sizeof(note), err, sizeof(err));
    CHECK(rc == KVS_OK, "upgrade: the start's open upgrades to version 5");
    if (rc != KVS_OK) {
        printf("# %s\n", err);
        return;
    }

    snprintf(want, sizeof(want), "upgraded the store in \"%s\" from schema "
             "version 1 to 5: permissions in CDWR; Merkle buckets beside "
             "their keys; history beside records, by_time of dead records, "
             "buckets of keys alone; rewrites every record as it is", dir);
    kvs_test_str(note, want, "upgrade: with a notice of the step");

    kvs_test_dump(st, dump, sizeof(dump));
    kvs_store_close(st);
    kvs_test_str(dump, kvs_test_new_dump,
                 "upgrade: version 5 reads as version 4 does");
    CHECK(kvs_test_version(dir) == 5, "upgrade: meta says version 5");

    rc = kvs_store_open(&st, dir, KVS_TEST_MAP, err, sizeof(err));
    CHECK(rc == KVS_ERROR && strstr(err, "has schema version 5, but this "
                                    "build of KVS reads only version 4")
                             != NULL,
          "upgrade: this build refuses the upgraded store");

    rc = kvs_store_open_schema(&st, dir, KVS_TEST_MAP, &kvs_test_v6, note,
                               sizeof(note), err, sizeof(err));
    CHECK(rc == KVS_OK, "upgrade: then on to version 6");
    if (rc != KVS_OK) {
        printf("# %s\n", err);
        return;
    }

    snprintf(want, sizeof(want), "upgraded the store in \"%s\" from schema "
             "version 5 to 6: marks meta", dir);
    kvs_test_str(note, want, "upgrade: by its one step");

    kvs_test_dump(st, dump, sizeof(dump));
    kvs_store_close(st);
    kvs_test_str(dump, kvs_test_new_dump,
                 "upgrade: version 6 reads as version 4 does");
    CHECK(kvs_test_version(dir) == 6, "upgrade: meta says version 6");

    kvs_test_copy(dir, "two-steps");

    rc = kvs_store_open_schema(&st, dir, KVS_TEST_MAP, &kvs_test_v6, note,
                               sizeof(note), err, sizeof(err));
    CHECK(rc == KVS_OK, "upgrade: version 1 goes to 6 in one open");
    if (rc != KVS_OK) {
        printf("# %s\n", err);
        return;
    }

    snprintf(want, sizeof(want), "upgraded the store in \"%s\" from schema "
             "version 1 to 6: permissions in CDWR; Merkle buckets beside "
             "their keys; history beside records, by_time of dead records, "
             "buckets of keys alone; rewrites every record as it is; marks "
             "meta",
             dir);
    kvs_test_str(note, want, "upgrade: step by step");

    kvs_test_dump(st, dump, sizeof(dump));
    kvs_store_close(st);
    kvs_test_str(dump, kvs_test_new_dump, "upgrade: and reads the same");
}


/* a step that fails, or that the map has no room for, leaves the store */

static void
kvs_test_refused(void)
{
    int           rc;
    char          dir[PATH_MAX], err[KVS_STORE_ERRLEN], want[PATH_MAX + 256];
    char          note[KVS_STORE_ERRLEN], check[KVS_STORE_ERRLEN];
    static char   dump[KVS_TEST_DUMP];
    kvs_store_t  *st;

    kvs_test_copy(dir, "fails");

    rc = kvs_store_open_schema(&st, dir, KVS_TEST_MAP, &kvs_test_fails, note,
                               sizeof(note), err, sizeof(err));
    CHECK(rc == KVS_ERROR, "refused: a step that fails fails the open");
    snprintf(want, sizeof(want), "opening the store in \"%s\" failed: %s",
             dir, mdb_strerror(MDB_CORRUPTED));
    kvs_test_str(err, want, "refused: with LMDB's reason");
    kvs_test_str(note, "", "refused: and no notice");
    CHECK(kvs_test_version(dir) == 1, "refused: the store is still version 1");

    rc = kvs_store_open_upgrade(&st, dir, KVS_TEST_MAP, note, sizeof(note),
                                err, sizeof(err));
    CHECK(rc == KVS_OK, "refused: and this build upgrades it");
    if (rc == KVS_OK) {
        kvs_test_dump(st, dump, sizeof(dump));
        kvs_store_close(st);
        kvs_test_str(dump, kvs_test_new_dump,
                     "refused: with nothing of the failed step in it");
    }

    kvs_test_copy(dir, "too-full");

    rc = kvs_store_check_schema(dir, KVS_TEST_MAP, &kvs_test_huge, check,
                                sizeof(check));
    CHECK(rc == KVS_ERROR, "too full: nginx -t refuses a store the step "
          "has no room for");
    CHECK(strncmp(check, "the store in ", 13) == 0
          && strstr(check, "is too full to upgrade from schema version 1 to "
                    "2: the upgrade may take 2097152 bytes of its map of "
                    "1048576, and ") != NULL
          && strstr(check, " are free; raise max_db_size to 3145728 or more "
                    "and start nginx again") != NULL,
          "too full: saying how much room the step takes, and what to do");
    if (rc != KVS_ERROR) {
        printf("# %s\n", check);
    }

    rc = kvs_store_open_schema(&st, dir, KVS_TEST_MAP, &kvs_test_huge, note,
                               sizeof(note), err, sizeof(err));
    CHECK(rc == KVS_ERROR, "too full: the start refuses it too");
    kvs_test_str(err, check, "too full: with the same sentence");
    CHECK(kvs_test_version(dir) == 1, "too full: the store is still "
          "version 1");

    rc = kvs_store_open_schema(&st, dir, 4 * KVS_TEST_MAP, &kvs_test_huge,
                               note, sizeof(note), err, sizeof(err));
    CHECK(rc == KVS_OK, "too full: with max_db_size raised it upgrades");
    if (rc == KVS_OK) {
        kvs_test_dump(st, dump, sizeof(dump));
        kvs_store_close(st);
        kvs_test_str(dump, kvs_test_v1_dump, "too full: and reads the same");
    }
}


/* of nb buckets, how many read the digest given: in a read transaction */

static size_t
kvs_test_same_buckets(kvs_store_t *st, const uint16_t *buckets,
    uint8_t (*digests)[KVS_MERKLE_DIGEST_LEN], size_t nb)
{
    size_t   i, same;
    uint8_t  d[KVS_MERKLE_DIGEST_LEN];

    same = 0;

    for (i = 0; i < nb; i++) {
        if (kvs_store_bucket_digest(st, buckets[i], d) == KVS_OK
            && memcmp(d, digests[i], KVS_MERKLE_DIGEST_LEN) == 0)
        {
            same++;
        }
    }

    return same;
}


/* the Merkle root this build reads, in hex: in a read transaction */

static int
kvs_test_read_root(kvs_store_t *st, char *hex)
{
    int      rc;
    size_t   i;
    uint8_t  ranges[256 * KVS_MERKLE_DIGEST_LEN];
    uint8_t  root[KVS_MERKLE_DIGEST_LEN];

    rc = kvs_store_merkle_ranges(st, ranges);
    kvs_store_merkle_root(ranges, root);

    for (i = 0; i < sizeof(root); i++) {
        sprintf(hex + 2 * i, "%02x", root[i]);
    }

    return rc;
}


/*
 * t/fixtures/store-v2: 300 keys, every seventh deleted, written by the
 * build of schema version 2 (see its README).  Version 3's step moves
 * each bucket's digest from merkle into bucket_keys: every bucket reads
 * the digest it had, the root stays, and a bucket still lists its keys.
 */

typedef struct {
    unsigned  n;
    char      first[32];
} kvs_test_keys_t;


static int
kvs_test_keys_cb(char ns, const char *path, size_t len,
    const kvs_version_t *v, uint8_t flags, void *data)
{
    kvs_test_keys_t *k = data;

    (void) ns;
    (void) v;
    (void) flags;

    if (k->n++ == 0 && len < sizeof(k->first)) {
        memcpy(k->first, path, len);
        k->first[len] = '\0';
    }

    return KVS_OK;
}


static void
kvs_test_v2_fixture(void)
{
    int               rc;
    char              dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    char              note[KVS_STORE_ERRLEN], want[PATH_MAX + 256];
    char              old_root[2 * KVS_MERKLE_DIGEST_LEN + 1];
    char              new_root[2 * KVS_MERKLE_DIGEST_LEN + 1], path[32];
    size_t            i, nb, same;
    uint16_t          bucket;
    kvs_store_t      *st;
    kvs_test_keys_t   keys;

    static uint16_t   buckets[KVS_TEST_OLD_MAX];
    static uint8_t    digests[KVS_TEST_OLD_MAX][KVS_MERKLE_DIGEST_LEN];

    kvs_test_copy_of(dir, "v2-fixture", KVS_FIXTURE_V2);
    kvs_test_old_root(dir, "merkle", old_root);

    /* the buckets version 2 held, read with LMDB alone */

    nb = kvs_test_old_buckets(dir, "merkle", buckets, digests,
                              KVS_TEST_OLD_MAX);

    CHECK(nb > 200, "v2 fixture: merkle holds a digest of each bucket");
    CHECK(kvs_test_version(dir) == 2, "v2 fixture: it is of version 2");

    rc = kvs_store_open_upgrade(&st, dir, KVS_TEST_MAP, note, sizeof(note),
                                err, sizeof(err));
    if (rc != KVS_OK) {
        kvs_test_bail("open", err);
    }

    snprintf(want, sizeof(want), "upgraded the store in \"%s\" from schema "
             "version 2 to 4: Merkle buckets beside their keys; history "
             "beside records, by_time of dead records, buckets of keys "
             "alone", dir);
    kvs_test_str(note, want, "v2 fixture: this build upgrades it by the two "
                 "steps");

    if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
        kvs_test_bail("read", err);
    }

    same = kvs_test_same_buckets(st, buckets, digests, nb);

    CHECK(same == nb, "v2 fixture: every bucket reads the digest it had");

    rc = kvs_test_read_root(st, new_root);

    CHECK(rc == KVS_OK, "v2 fixture: the ranges read");
    kvs_test_str(new_root, old_root, "v2 fixture: the root stays");

    /* a live key and a deleted one: each is listed in its bucket, first
     * there, past the bucket's own entry */

    for (i = 1; i <= 7; i += 6) {
        snprintf(path, sizeof(path), "fixture/k%03zu", i);
        bucket = kvs_merkle_bucket(KVS_NS_DATA, path, strlen(path));
        memset(&keys, 0, sizeof(keys));

        rc = kvs_store_bucket_keys(st, bucket, kvs_test_keys_cb, &keys);
        CHECK(rc == KVS_OK && keys.n >= 1 && keys.n <= 3
              && (strcmp(keys.first, path) == 0 || keys.n > 1),
              "v2 fixture: a bucket lists its keys, not its digest");
    }

    kvs_store_read_end(st);
    kvs_store_close(st);

    CHECK(kvs_test_version(dir) == 4, "v2 fixture: meta says version 4");

    /* its 43 tombstones (k000, k007, .. k294) kept their values as
     * earlier versions, now in kv, and by_time has their entries only */

    CHECK(kvs_test_entries(dir, "rev") == 0
          && kvs_test_entries(dir, "kv") == 300 + 43
          && kvs_test_revisions(dir) == 43
          && kvs_test_entries(dir, "by_time") == 43,
          "v2 fixture: the tombstones' values moved into kv, by_time keeps "
          "the tombstones");
}


/*
 * t/fixtures/store-v3: the last layout with rev, a by_time entry of every
 * record, and bucket_keys holding each key's version and each bucket's
 * digest (see its README).  Version 4's step: every bucket reads the
 * digest version 3 kept, now made from kv, the root stays, every history
 * reads, and the databases hold what version 4 keeps.
 */

typedef struct {
    unsigned  n;
    char      values[4][32];
} kvs_test_hist_t;


static int
kvs_test_hist_values(const kvs_record_hdr_t *hdr, const uint8_t *value,
    void *data)
{
    kvs_test_hist_t *h = data;

    if (h->n < 4 && hdr->value_len < sizeof(h->values[0])) {
        memcpy(h->values[h->n], value, hdr->value_len);
        h->values[h->n][hdr->value_len] = '\0';
    }

    h->n++;

    return KVS_OK;
}


static int
kvs_test_count_cb(const char *path, size_t len, int is_prefix, void *data)
{
    (void) path;
    (void) len;
    (void) is_prefix;

    (*(unsigned *) data)++;

    return KVS_OK;
}


static void
kvs_test_v3_fixture(void)
{
    int               rc, more;
    char              dir[PATH_MAX], err[KVS_STORE_ERRLEN], lp[600];
    char              note[KVS_STORE_ERRLEN], want[PATH_MAX + 256];
    char              old_root[2 * KVS_MERKLE_DIGEST_LEN + 1];
    char              new_root[2 * KVS_MERKLE_DIGEST_LEN + 1];
    size_t            i, nb, same;
    uint64_t          n;
    unsigned          listed;
    kvs_store_t      *st;
    kvs_test_hist_t   h[4];

    static uint16_t   buckets[KVS_TEST_OLD_MAX];
    static uint8_t    digests[KVS_TEST_OLD_MAX][KVS_MERKLE_DIGEST_LEN];

    kvs_test_copy_of(dir, "v3-fixture", KVS_FIXTURE_V3);
    kvs_test_old_root(dir, "bucket_keys", old_root);

    nb = kvs_test_old_buckets(dir, "bucket_keys", buckets, digests,
                              KVS_TEST_OLD_MAX);

    CHECK(nb > 100 && kvs_test_version(dir) == 3
          && kvs_test_entries(dir, "rev") == 7
          && kvs_test_entries(dir, "by_time") == 206,
          "v3 fixture: version 3, with rev, by_time of every record and "
          "bucket digests in bucket_keys");

    rc = kvs_store_open_upgrade(&st, dir, KVS_TEST_MAP, note, sizeof(note),
                                err, sizeof(err));
    if (rc != KVS_OK) {
        kvs_test_bail("open", err);
    }

    snprintf(want, sizeof(want), "upgraded the store in \"%s\" from schema "
             "version 3 to 4: history beside records, by_time of dead "
             "records, buckets of keys alone", dir);
    kvs_test_str(note, want, "v3 fixture: this build upgrades it by the one "
                 "step");

    if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
        kvs_test_bail("read", err);
    }

    same = kvs_test_same_buckets(st, buckets, digests, nb);

    CHECK(same == nb, "v3 fixture: every bucket reads the digest version 3 "
          "kept, made from kv");

    rc = kvs_test_read_root(st, new_root);

    CHECK(rc == KVS_OK, "v3 fixture: the ranges read");
    kvs_test_str(new_root, old_root, "v3 fixture: the root stays");

    memcpy(lp, "fix/long/", 9);

    for (i = 9; i < 520; i++) {
        lp[i] = (char) ('a' + i % 26);
    }

    lp[520] = '\0';

    memset(h, 0, sizeof(h));
    (void) kvs_store_history(st, KVS_NS_DATA, "fix/history", 11,
                             kvs_test_hist_values, &h[0]);
    (void) kvs_store_history(st, KVS_NS_DATA, "fix/gone", 8,
                             kvs_test_hist_values, &h[1]);
    (void) kvs_store_history(st, KVS_NS_DATA, lp, 520,
                             kvs_test_hist_values, &h[2]);
    (void) kvs_store_history(st, KVS_NS_USER, "fix/user", 8,
                             kvs_test_hist_values, &h[3]);

    CHECK(h[0].n == 3 && strcmp(h[0].values[0], "{\"v\":4}") == 0
          && strcmp(h[0].values[2], "{\"v\":2}") == 0,
          "v3 fixture: a key's three earlier versions, newest first");
    CHECK(h[1].n == 1 && strcmp(h[1].values[0], "{\"gone\":false}") == 0,
          "v3 fixture: a tombstone's value, in its history");
    CHECK(h[2].n == 2 && strcmp(h[2].values[0], "{\"long\":2}") == 0
          && strcmp(h[2].values[1], "{\"long\":1}") == 0,
          "v3 fixture: a long key's history");
    CHECK(h[3].n == 1 && strcmp(h[3].values[0], "{\"u\":1}") == 0,
          "v3 fixture: another namespace's history");

    rc = kvs_store_count(st, &n);
    CHECK(rc == KVS_OK && n == 206, "v3 fixture: 206 records, as before");

    listed = 0;
    more = 0;
    rc = kvs_store_list(st, KVS_NS_DATA, "fix/", 4, NULL, 0, 1, 1000,
                        KVS_TEST_T0 + 10000, kvs_test_count_cb, &listed,
                        &more);
    CHECK(rc == KVS_OK && listed == 203 && more == 0,
          "v3 fixture: the listing gives the 203 live keys, each once");

    kvs_store_read_end(st);
    kvs_store_close(st);

    CHECK(kvs_test_version(dir) == 4, "v3 fixture: meta says version 4");
    CHECK(kvs_test_entries(dir, "rev") == 0
          && kvs_test_entries(dir, "kv") == 206 + 7
          && kvs_test_revisions(dir) == 7,
          "v3 fixture: the 7 earlier versions moved into kv, counted in "
          "meta");
    CHECK(kvs_test_entries(dir, "by_time") == 2,
          "v3 fixture: by_time keeps the tombstone and the swept record");
    CHECK(kvs_test_entries(dir, "bucket_keys") == 206
          && kvs_test_old_buckets(dir, "bucket_keys", buckets, digests,
                                  KVS_TEST_OLD_MAX) == 0,
          "v3 fixture: bucket_keys holds the keys, no digest");
}


/* every store of a case is a directory under kvs_test_base */

static int
kvs_test_setup(void)
{
    kvs_test_steps[0] = kvs_store_schema.steps[0];
    kvs_test_steps[1] = kvs_store_schema.steps[1];
    kvs_test_steps[2] = kvs_store_schema.steps[2];
    kvs_test_steps[3].what = "rewrites every record as it is";
    kvs_test_steps[3].room = kvs_test_room_kv;
    kvs_test_steps[3].run = kvs_test_rewrite;
    kvs_test_steps[4].what = "marks meta";
    kvs_test_steps[4].room = kvs_test_room_mark;
    kvs_test_steps[4].run = kvs_test_mark;

    if (mkdtemp(kvs_test_base) == NULL) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return -1;
    }

    return 0;
}


static void
kvs_test_cleanup(void)
{
    if (kvs_test_rm_tree(kvs_test_base) != 0) {
        printf("# cannot remove %s: %s\n", kvs_test_base, strerror(errno));
    }
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_fixture),
    KVS_TEST_CASE(kvs_test_upgrades),
    KVS_TEST_CASE(kvs_test_refused),
    KVS_TEST_CASE(kvs_test_v2_fixture),
    KVS_TEST_CASE(kvs_test_v3_fixture),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    kvs_test_setup, kvs_test_cleanup, kvs_test_cases
};
