/*
 * The schema version, and upgrades.  meta's "schema_version" says which
 * layout of the databases a store was written in; a build writes and reads
 * one, KVS_SCHEMA_VERSION, and knows one step from each older version to
 * the next (kvs_store_schema.steps).  A store of an older version is
 * upgraded when the master first opens it at nginx's start, step after
 * step in the one transaction that opens it, so that a crash leaves it as
 * it was or wholly upgraded; never on a reload, while workers of the old
 * version may still read it.  Before a step runs, the room it may take of
 * the map is weighed, so that a store too full for it is refused with a
 * sentence rather than left to fail halfway.  nginx -t says the same of a
 * store, reading it without opening it for writing: whether this build
 * can read it, and whether it has the room to upgrade.
 *
 * Version 1 is the layout of DESIGN.md as the first release wrote it: it
 * has no step before it.  Version 2 gives the 12 permission bits of a
 * record their meaning of kvs_acl.h (C D W R for owner, group, others);
 * version 1 wrote POSIX-style bits no code read, 0744 on every key, and
 * the step rewrites each record's bits to what they meant
 * (kvs_perm_from_posix: 0744 is "f11"), so that no key changes who may
 * touch it.  Version 3 keeps a Merkle bucket's digest in bucket_keys,
 * beside the bucket's keys, and merkle only the 256 ranges' digests
 * (kvs_store_index.c): a write then touches one leaf less.  The step moves
 * the buckets' digests and sums the ranges'; the tree's root stays.
 * Version 4 keeps a key's earlier versions in kv beside its record rather
 * than in rev, gives by_time entries only to dead records (tombstones,
 * and records the TTL sweep emptied), which are all the purge looks for,
 * and keeps in bucket_keys only which keys a bucket holds, no version and
 * no bucket digest (a read makes those from kv; merkle keeps the ranges'
 * digests): an update then dirties no leaf of rev, none of by_time where
 * the replaced version's entry lay, and none of bucket_keys, only kv's
 * leaf of the key and what every write of a commit shares.  The step
 * moves rev's entries, counts them in meta, drops by_time's entries of
 * live records and bucket_keys' digests, and empties its values.  A
 * change of a stored format adds the next version and its step here, and
 * the fixtures of older versions (t/fixtures/) test that what they held
 * reads the same after every step.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <lmdb.h>

#include "kvs_acl.h"
#include "kvs_merkle.h"
#include "kvs_store_int.h"


#define KVS_SCHEMA_KEY  "schema_version"


static int kvs_store_perm_room(kvs_store_t *st, MDB_txn *txn,
    size_t *bytes);
static int kvs_store_perm_run(kvs_store_t *st, MDB_txn *txn);
static int kvs_store_buckets_room(kvs_store_t *st, MDB_txn *txn,
    size_t *bytes);
static int kvs_store_buckets_run(kvs_store_t *st, MDB_txn *txn);
static int kvs_store_revs_room(kvs_store_t *st, MDB_txn *txn,
    size_t *bytes);
static int kvs_store_revs_run(kvs_store_t *st, MDB_txn *txn);
static int kvs_store_dead_only(kvs_store_t *st, MDB_txn *txn);
static int kvs_store_keys_only(kvs_store_t *st, MDB_txn *txn);


/* steps[v - 1] upgrades version v to v + 1 */

static const kvs_store_step_t  kvs_store_steps[] = {
    { "permissions in CDWR", kvs_store_perm_room, kvs_store_perm_run },
    { "Merkle buckets beside their keys", kvs_store_buckets_room,
      kvs_store_buckets_run },
    { "history beside records, by_time of dead records, buckets of keys "
      "alone", kvs_store_revs_room, kvs_store_revs_run }
};

const kvs_store_schema_t  kvs_store_schema = {
    KVS_SCHEMA_VERSION, kvs_store_steps
};


/* the databases whose records carry permission bits: current, history */
#define KVS_STORE_PERM_DBS  2

typedef struct {
    const kvs_store_schema_t  *schema;
    char                      *note;      /* NULL: no upgrade here */
    size_t                     notelen;
    char                      *err;
    size_t                     errlen;
} kvs_store_open_t;


static int
kvs_store_schema_get(kvs_store_t *st, MDB_txn *txn, uint32_t *version)
{
    int      rc;
    MDB_val  key, val;

    key.mv_data = KVS_SCHEMA_KEY;
    key.mv_size = sizeof(KVS_SCHEMA_KEY) - 1;

    rc = mdb_get(txn, st->meta, &key, &val);
    if (rc != 0) {
        return rc;
    }

    *version = val.mv_size == 4 ? kvs_get_u32(val.mv_data) : 0;

    return 0;
}


static int
kvs_store_schema_put(kvs_store_t *st, MDB_txn *txn, uint32_t version)
{
    uint8_t  buf[4];
    MDB_val  key, val;

    key.mv_data = KVS_SCHEMA_KEY;
    key.mv_size = sizeof(KVS_SCHEMA_KEY) - 1;

    kvs_put_u32(buf, version);
    val.mv_data = buf;
    val.mv_size = sizeof(buf);

    return mdb_put(txn, st->meta, &key, &val, 0);
}


/*
 * Whether a store of that version opens here: 0, or KVS_STORE_TOLD with a
 * sentence saying what to do.  upgrade says whether this open may upgrade
 * an older one; then the steps must exist and fit in the map.
 */

static int
kvs_store_schema_judge(kvs_store_t *st, MDB_txn *txn,
    const kvs_store_schema_t *schema, uint32_t version, int upgrade,
    char *err, size_t errlen)
{
    int               rc;
    size_t            need, bytes, map;
    uint32_t          v;
    MDB_envinfo       info;
    kvs_store_room_t  room;

    if (version > schema->version) {
        snprintf(err, errlen,
                 "the store in \"%s\" has schema version %u, but this build "
                 "of KVS reads only version %u and upgrades older ones; run "
                 "a build of KVS that reads version %u, or give this one a "
                 "new data_dir", st->dir, version, schema->version, version);
        return KVS_STORE_TOLD;
    }

    if (version == schema->version) {
        return 0;
    }

    need = 0;

    for (v = version; v < schema->version; v++) {
        if (v == 0 || schema->steps == NULL) {
            snprintf(err, errlen,
                     "the store in \"%s\" has schema version %u, which this "
                     "build of KVS cannot upgrade to version %u; run the "
                     "build of KVS that wrote it, or give this one a new "
                     "data_dir", st->dir, version, schema->version);
            return KVS_STORE_TOLD;
        }

        rc = schema->steps[v - 1].room(st, txn, &bytes);
        if (rc != 0) {
            return rc;
        }

        need += bytes;
    }

    if (!upgrade) {
        snprintf(err, errlen,
                 "the store in \"%s\" has schema version %u, older than this "
                 "build's %u, and only nginx's start upgrades it, not a "
                 "reload while workers of the old build may still read it: "
                 "stop nginx and start it again", st->dir, version,
                 schema->version);
        return KVS_STORE_TOLD;
    }

    rc = kvs_store_room(st, txn, &room);
    if (rc != 0) {
        return rc;
    }

    if ((int64_t) need <= room.left) {
        return 0;
    }

    rc = mdb_env_info(st->env, &info);
    if (rc != 0) {
        return rc;
    }

    /* the map the upgrade needs, in whole MiB */
    map = info.me_mapsize + need - (size_t) (room.left > 0 ? room.left : 0);
    map = (map + (1 << 20) - 1) & ~(size_t) ((1 << 20) - 1);

    snprintf(err, errlen,
             "the store in \"%s\" is too full to upgrade from schema version "
             "%u to %u: the upgrade may take %zu bytes of its map of %zu, "
             "and %lld are free; raise max_db_size to %zu or more and start "
             "nginx again", st->dir, version, schema->version, need,
             info.me_mapsize, (long long) (room.left > 0 ? room.left : 0),
             map);

    return KVS_STORE_TOLD;
}


/* The transaction that opens the store: creates the databases, and marks
 * a new store, or judges and upgrades the version of one written before. */

static int
kvs_store_schema_open(kvs_store_t *st, MDB_txn *txn, void *data)
{
    kvs_store_open_t *op = data;

    int        rc;
    char      *p, *last;
    uint32_t   version, v;
    MDB_stat   stat;

    rc = kvs_store_dbs_open(st, txn, MDB_CREATE);
    if (rc != 0) {
        return rc;
    }

    rc = kvs_store_schema_get(st, txn, &version);

    if (rc == MDB_NOTFOUND) {
        rc = mdb_stat(txn, st->kv, &stat);
        if (rc != 0) {
            return rc;
        }

        if (stat.ms_entries != 0) {
            snprintf(op->err, op->errlen,
                     "the store in \"%s\" holds data but no schema version; "
                     "it was not written by KVS", st->dir);
            return KVS_STORE_TOLD;
        }

        return kvs_store_schema_put(st, txn, op->schema->version);
    }

    if (rc != 0) {
        return rc;
    }

    rc = kvs_store_schema_judge(st, txn, op->schema, version,
                                op->note != NULL, op->err, op->errlen);
    if (rc != 0 || version == op->schema->version) {
        return rc;
    }

    p = op->note;
    last = op->note + op->notelen;

    p += snprintf(p, last - p, "upgraded the store in \"%s\" from schema "
                  "version %u to %u:", st->dir, version,
                  op->schema->version);

    for (v = version; v < op->schema->version; v++) {
        rc = op->schema->steps[v - 1].run(st, txn);
        if (rc != 0) {
            op->note[0] = '\0';
            return rc;
        }

        if (p < last) {
            p += snprintf(p, last - p, " %s%s", op->schema->steps[v - 1].what,
                          v + 1 < op->schema->version ? ";" : "");
        }
    }

    return kvs_store_schema_put(st, txn, op->schema->version);
}


int
kvs_store_open_schema(kvs_store_t **stp, const char *dir, size_t map_size,
    const kvs_store_schema_t *schema, char *note, size_t notelen, char *err,
    size_t errlen)
{
    kvs_store_t       *st;
    kvs_store_open_t   op;

    if (note) {
        note[0] = '\0';
    }

    if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create data_dir \"%s\": %s", dir,
                 strerror(errno));
        return KVS_ERROR;
    }

    st = kvs_store_new(dir, map_size, 0, err, errlen);
    if (st == NULL) {
        return KVS_ERROR;
    }

    op.schema = schema;
    op.note = note;
    op.notelen = notelen;
    op.err = err;
    op.errlen = errlen;

    if (kvs_store_run(st, 0, kvs_store_schema_open, &op, "opening the store",
                      err, errlen)
        != 0)
    {
        if (note) {
            note[0] = '\0';
        }

        kvs_store_free(st);
        return KVS_ERROR;
    }

    *stp = st;

    return KVS_OK;
}


/* nginx -t: what kvs_store_schema_open() would say of the store */

static int
kvs_store_schema_check(kvs_store_t *st, MDB_txn *txn, void *data)
{
    kvs_store_open_t *op = data;

    int       rc;
    uint32_t  version;

    /* a store the first start has not set up yet */

    rc = kvs_store_dbs_open(st, txn, 0);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }

    if (rc != 0) {
        return rc;
    }

    rc = kvs_store_schema_get(st, txn, &version);
    if (rc != 0) {
        return rc == MDB_NOTFOUND ? 0 : rc;
    }

    return kvs_store_schema_judge(st, txn, op->schema, version, 1, op->err,
                                  op->errlen);
}


/*
 * A node may run on the store: it is opened read-only and without LMDB's
 * lock file, so that nginx -t takes no reader slot and no lock a running
 * node would see, and may run in a process that has the store open.  Its
 * one short read transaction reads meta's version and the databases'
 * page counts.  Unregistered, it could in principle read pages a writer
 * reuses meanwhile, two commits later: then it reads a wrong version or
 * LMDB says MDB_CORRUPTED, and nginx -t fails where a second run passes;
 * it never writes.
 */

int
kvs_store_check_schema(const char *dir, size_t map_size,
    const kvs_store_schema_t *schema, char *err, size_t errlen)
{
    int               rc;
    kvs_store_t      *st;
    kvs_store_open_t  op;

    st = kvs_store_new(dir, map_size, MDB_RDONLY | MDB_NOLOCK, err, errlen);
    if (st == NULL) {
        return KVS_ERROR;
    }

    op.schema = schema;
    op.note = NULL;
    op.notelen = 0;
    op.err = err;
    op.errlen = errlen;

    rc = kvs_store_run(st, MDB_RDONLY, kvs_store_schema_check, &op,
                       "checking the store", err, errlen);

    kvs_store_free(st);

    return rc == 0 ? KVS_OK : KVS_ERROR;
}


/*
 * From 1 to 2: every record's permissions, in kv and in rev.  Each record
 * is rewritten in place, so the step may copy every page of both
 * databases once.
 */

static int
kvs_store_perm_room(kvs_store_t *st, MDB_txn *txn, size_t *bytes)
{
    int        rc;
    size_t     i, pages;
    MDB_dbi    dbi[KVS_STORE_PERM_DBS];
    MDB_stat   stat;

    dbi[0] = st->kv;
    dbi[1] = st->rev;
    pages = 0;

    for (i = 0; i < KVS_STORE_PERM_DBS; i++) {
        rc = mdb_stat(txn, dbi[i], &stat);
        if (rc != 0) {
            return rc;
        }

        pages += stat.ms_branch_pages + stat.ms_leaf_pages
                 + stat.ms_overflow_pages + stat.ms_depth;
        *bytes = pages * stat.ms_psize;
    }

    return 0;
}


static int
kvs_store_perm_run(kvs_store_t *st, MDB_txn *txn)
{
    int          rc;
    size_t       i, size;
    uint8_t     *buf, *p;
    MDB_val      key, val;
    MDB_dbi      dbi[KVS_STORE_PERM_DBS];
    MDB_cursor  *c;

    dbi[0] = st->kv;
    dbi[1] = st->rev;
    buf = NULL;
    size = 0;
    rc = 0;

    for (i = 0; i < KVS_STORE_PERM_DBS; i++) {
        rc = mdb_cursor_open(txn, dbi[i], &c);
        if (rc != 0) {
            break;
        }

        for (rc = mdb_cursor_get(c, &key, &val, MDB_FIRST);
             rc == 0;
             rc = mdb_cursor_get(c, &key, &val, MDB_NEXT))
        {
            if (val.mv_size < KVS_RECORD_HDR_SIZE) {
                continue;
            }

            /* the map is read-only: the record is changed in a copy */

            if (val.mv_size > size) {
                free(buf);
                size = val.mv_size;
                buf = malloc(size);
                if (buf == NULL) {
                    size = 0;
                    rc = ENOMEM;
                    break;
                }
            }

            memcpy(buf, val.mv_data, val.mv_size);
            p = buf + 2;
            kvs_put_u16(p, kvs_perm_from_posix(kvs_get_u16(p)));
            val.mv_data = buf;

            rc = mdb_cursor_put(c, &key, &val, MDB_CURRENT);
            if (rc != 0) {
                break;
            }
        }

        mdb_cursor_close(c);

        if (rc != MDB_NOTFOUND) {
            break;
        }

        rc = 0;
    }

    free(buf);

    return rc;
}


/*
 * From 2 to 3: each of merkle's bucket digests (2-byte keys) becomes
 * bucket_keys' entry of the bucket, and merkle is left with the digests of
 * the 256 ranges (1-byte keys), each the XOR of its buckets'.  bucket_keys
 * may take a copy of every page, and a new entry of each bucket.
 */

static int
kvs_store_buckets_room(kvs_store_t *st, MDB_txn *txn, size_t *bytes)
{
    int       rc;
    MDB_stat  bk, mk;

    rc = mdb_stat(txn, st->bucket_keys, &bk);
    if (rc == 0) {
        rc = mdb_stat(txn, st->merkle, &mk);
    }

    if (rc != 0) {
        return rc;
    }

    *bytes = (bk.ms_branch_pages + bk.ms_leaf_pages + bk.ms_depth + 1)
             * bk.ms_psize
             + mk.ms_entries * (2 + KVS_MERKLE_DIGEST_LEN + 16) * 2
             + 256 * (1 + KVS_MERKLE_DIGEST_LEN + 16) + 4 * bk.ms_psize;

    return 0;
}


static int
kvs_store_buckets_run(kvs_store_t *st, MDB_txn *txn)
{
    int          rc;
    size_t       i;
    uint8_t      rkey[1], zero[KVS_MERKLE_DIGEST_LEN], *ranges;
    MDB_val      key, val;
    MDB_cursor  *c;

    ranges = calloc(256, KVS_MERKLE_DIGEST_LEN);
    if (ranges == NULL) {
        return ENOMEM;
    }

    rc = mdb_cursor_open(txn, st->merkle, &c);
    if (rc != 0) {
        free(ranges);
        return rc;
    }

    for (rc = mdb_cursor_get(c, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(c, &key, &val, MDB_NEXT))
    {
        if (key.mv_size != 2 || val.mv_size != KVS_MERKLE_DIGEST_LEN) {
            continue;
        }

        kvs_merkle_xor(ranges + ((uint8_t *) key.mv_data)[0]
                                * KVS_MERKLE_DIGEST_LEN,
                       val.mv_data);

        rc = mdb_put(txn, st->bucket_keys, &key, &val, 0);
        if (rc != 0) {
            break;
        }
    }

    mdb_cursor_close(c);

    if (rc == MDB_NOTFOUND) {
        rc = mdb_drop(txn, st->merkle, 0);
    }

    memset(zero, 0, sizeof(zero));

    for (i = 0; rc == 0 && i < 256; i++) {
        if (memcmp(ranges + i * KVS_MERKLE_DIGEST_LEN, zero, sizeof(zero))
            == 0)
        {
            continue;
        }

        rkey[0] = (uint8_t) i;
        key.mv_data = rkey;
        key.mv_size = 1;
        val.mv_data = ranges + i * KVS_MERKLE_DIGEST_LEN;
        val.mv_size = KVS_MERKLE_DIGEST_LEN;

        rc = mdb_put(txn, st->merkle, &key, &val, 0);
    }

    free(ranges);

    return rc;
}


/*
 * From 3 to 4: every entry of rev moves into kv under its new key
 * (kvs_store_rev_key), meta counts them, rev is left empty; by_time keeps
 * the entries of dead records only; bucket_keys loses its buckets'
 * digests and its keys' versions.  kv may take a copy of every page and
 * rev's bytes again, by_time and bucket_keys a copy of theirs.
 */

static int
kvs_store_revs_room(kvs_store_t *st, MDB_txn *txn, size_t *bytes)
{
    int       rc;
    MDB_stat  kv, rev, bt, bk;

    rc = mdb_stat(txn, st->kv, &kv);
    if (rc == 0) {
        rc = mdb_stat(txn, st->rev, &rev);
    }

    if (rc == 0) {
        rc = mdb_stat(txn, st->by_time, &bt);
    }

    if (rc == 0) {
        rc = mdb_stat(txn, st->bucket_keys, &bk);
    }

    if (rc != 0) {
        return rc;
    }

    *bytes = (kv.ms_branch_pages + kv.ms_leaf_pages + kv.ms_overflow_pages
              + kv.ms_depth
              + 2 * (rev.ms_branch_pages + rev.ms_leaf_pages
                     + rev.ms_overflow_pages + rev.ms_depth)
              + bt.ms_branch_pages + bt.ms_leaf_pages + bt.ms_depth
              + bk.ms_branch_pages + bk.ms_leaf_pages + bk.ms_depth + 4)
             * kv.ms_psize;

    return 0;
}


static int
kvs_store_revs_run(kvs_store_t *st, MDB_txn *txn)
{
    int             rc;
    size_t          klen, size;
    uint8_t         nk[KVS_REV_KEY_MAX], *buf;
    uint64_t        n;
    const uint8_t  *p;
    MDB_val         key, val, rkey, rval;
    MDB_cursor     *c;

    rc = mdb_cursor_open(txn, st->rev, &c);
    if (rc != 0) {
        return rc;
    }

    n = 0;
    buf = NULL;
    size = 0;

    /* version 3's key: the key's length (2, big-endian), the key, the
     * version */

    for (rc = mdb_cursor_get(c, &key, &val, MDB_FIRST);
         rc == 0;
         rc = mdb_cursor_get(c, &key, &val, MDB_NEXT))
    {
        p = key.mv_data;

        if (key.mv_size < 2 + 8 + KVS_UUID_LEN) {
            rc = MDB_CORRUPTED;
            break;
        }

        klen = (size_t) p[0] << 8 | p[1];

        if (klen == 0 || klen > KVS_STORE_KEY_MAX
            || key.mv_size != 2 + klen + 8 + KVS_UUID_LEN)
        {
            rc = MDB_CORRUPTED;
            break;
        }

        memcpy(nk, p + 2, klen);
        nk[klen] = 0;
        memcpy(nk + klen + 1, p + 2 + klen, 8 + KVS_UUID_LEN);

        /* rev's page is not kv's, but a copy costs nothing here */

        if (val.mv_size > size) {
            free(buf);
            size = val.mv_size;
            buf = malloc(size);
            if (buf == NULL) {
                size = 0;
                rc = ENOMEM;
                break;
            }
        }

        memcpy(buf, val.mv_data, val.mv_size);

        rkey.mv_data = nk;
        rkey.mv_size = klen + KVS_REV_SUFFIX;
        rval.mv_data = buf;
        rval.mv_size = val.mv_size;

        rc = mdb_put(txn, st->kv, &rkey, &rval, MDB_NOOVERWRITE);
        if (rc != 0) {
            break;
        }

        n++;
    }

    mdb_cursor_close(c);
    free(buf);

    if (rc != MDB_NOTFOUND) {
        return rc;
    }

    rc = mdb_drop(txn, st->rev, 0);
    if (rc != 0) {
        return rc;
    }

    rc = kvs_store_revs_add(st, txn, (int64_t) n);
    if (rc == 0) {
        rc = kvs_store_dead_only(st, txn);
    }

    if (rc == 0) {
        rc = kvs_store_keys_only(st, txn);
    }

    return rc;
}


/* by_time keeps the entries of dead records only */

static int
kvs_store_dead_only(kvs_store_t *st, MDB_txn *txn)
{
    int               rc;
    MDB_val           key, val, rkey, rval;
    MDB_cursor       *c;
    kvs_record_hdr_t  hdr;

    /* by_time: "<big-endian version timestamp><key of kv>" */

    rc = mdb_cursor_open(txn, st->by_time, &c);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_cursor_get(c, &key, &val, MDB_FIRST);

    while (rc == 0) {
        if (key.mv_size <= 8 || key.mv_size > 8 + KVS_STORE_KEY_MAX) {
            rc = MDB_CORRUPTED;
            break;
        }

        rkey.mv_data = (uint8_t *) key.mv_data + 8;
        rkey.mv_size = key.mv_size - 8;

        rc = mdb_get(txn, st->kv, &rkey, &rval);

        if (rc == 0
            && kvs_record_decode(&hdr, rval.mv_data, rval.mv_size) == 0
            && (hdr.flags & (KVS_FLAG_TOMBSTONE | KVS_FLAG_EXPIRED))
            && hdr.version.timestamp == kvs_get_be64(key.mv_data))
        {
            rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
            continue;
        }

        if (rc != 0 && rc != MDB_NOTFOUND) {
            break;
        }

        /* a live record's, or one left by no record: after the delete
         * the cursor stands on the next entry, which MDB_NEXT takes */

        rc = mdb_cursor_del(c, 0);
        if (rc == 0) {
            rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
        }
    }

    mdb_cursor_close(c);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


/* bucket_keys keeps which keys a bucket holds, nothing else */

static int
kvs_store_keys_only(kvs_store_t *st, MDB_txn *txn)
{
    int          rc;
    uint8_t      nk[2 + KVS_STORE_KEY_MAX];
    MDB_val      key, val;
    MDB_cursor  *c;

    /* bucket_keys: "<big-endian bucket>" (a digest) goes, "<bucket><key
     * of kv>" keeps the key, with no value */

    rc = mdb_cursor_open(txn, st->bucket_keys, &c);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_cursor_get(c, &key, &val, MDB_FIRST);

    while (rc == 0) {
        if (key.mv_size == 2) {
            rc = mdb_cursor_del(c, 0);

        } else if (val.mv_size != 0) {

            /* a put of another size moves the node: the key is taken
             * out of the page first */

            if (key.mv_size > sizeof(nk)) {
                rc = MDB_CORRUPTED;
                break;
            }

            memcpy(nk, key.mv_data, key.mv_size);
            key.mv_data = nk;
            val.mv_data = NULL;
            val.mv_size = 0;
            rc = mdb_cursor_put(c, &key, &val, MDB_CURRENT);
        }

        if (rc == 0) {
            rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
        }
    }

    mdb_cursor_close(c);

    return rc == MDB_NOTFOUND ? 0 : rc;}
