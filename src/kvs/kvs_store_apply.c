/*
 * The store's writes.  A batch of writes is applied in one transaction
 * (kvs_store_write_collect, the group commit across processes) together
 * with every index it touches, so a crash leaves either all of a batch or
 * none of it:
 *
 *   kv           the record (header + value; DELETE writes a tombstone)
 *   rev          the record replaced, when it was live, and the key's
 *                history trimmed to the newest st->history versions
 *   by_time, expiry, merkle, bucket_keys, changes
 *                the old version's entries out, the new one's in
 *                (kvs_store_index_add/remove, kvs_store_index.c)
 *   meta         "change_seq", once per batch that appended changes
 *
 * A local PUT or DELETE makes a version that supersedes what it replaces;
 * a peer's record replaces the one held only when kvs_version_decide()
 * says it is newer, and a tie is noted for the agent's vote.
 *
 * A full map.  Client PUTs stop short of max_db_size by a reserve (see
 * kvs_store_room), so that DELETEs, which are what frees space, still fit,
 * and so do the records peers replicate.  A transaction needs a fresh copy
 * of every page it touches, and LMDB hands it only the pages that commits
 * before the last one freed: a write that finds no room first commits a
 * release (kvs_store_release) and is tried again, and a batch that still
 * finds none is tried one write at a time, so that only a write that does
 * not fit alone is refused.
 *
 * The members and meta's numbers are written here too, each in a
 * transaction of its own.
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lmdb.h>

#include "kvs_store_int.h"
#include "kvs_metrics.h"


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

/* what a peer's record becomes (kvs_store_apply_remote): the key's
 * record, or a version of its history */
#define KVS_STORE_CURRENT        1
#define KVS_STORE_EARLIER        2


static int kvs_store_commit_writes(kvs_store_t *st, MDB_txn *txn,
    void *data);
static int kvs_store_release(kvs_store_t *st);
static size_t kvs_store_reserve(size_t map_size);
static int64_t kvs_store_in_map(kvs_store_t *st, size_t bytes);
static int kvs_store_block_room(kvs_store_t *st, MDB_txn *txn,
    const uint8_t *k, kvs_write_t *w);
static int kvs_store_apply(kvs_store_t *st, MDB_txn *txn, kvs_write_t *w,
    uint64_t now_ms, uint64_t *seq, kvs_store_room_t *room);
static int kvs_store_members_apply(kvs_store_t *st, MDB_txn *txn,
    const kvs_member_t *m, size_t n, uint64_t seq);
static int kvs_store_identity_put(kvs_store_t *st, MDB_txn *txn,
    MDB_val *node_id);


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
    bt.b.times = NULL;
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

    int                 rc;
    size_t              i;
    uint8_t             buf[8];
    MDB_val             key, val;
    uint64_t            seq, first, t0, t1;
    kvs_write_t        *w;
    kvs_store_room_t    room;
    kvs_store_chain_t   chain;
    kvs_write_times_t  *times;

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

    first = seq;
    chain.known = 0;
    times = bt->b.times;
    t0 = 0;

    for (i = 0; i < bt->n; i++) {
        if (times) {
            t0 = kvs_metrics_clock_us();
        }

        rc = kvs_store_apply(st, txn, &w[i], bt->b.now_ms, &seq, &room);
        if (rc != 0) {
            goto failed;
        }

        if (times) {
            t1 = kvs_metrics_clock_us();
            times->apply_us += t1 - t0;
            t0 = t1;
        }

        /* after the outcome: an entry only of what was written */
        rc = kvs_store_audit_append(st, txn, &w[i], bt->b.now_ms, &chain);
        if (rc != 0) {
            goto failed;
        }

        if (times && w[i].audit && kvs_store_audit_on(st)) {
            times->audit_us += kvs_metrics_clock_us() - t0;
        }
    }

    /* a batch that changed nothing (peers' records held already, as a
     * peer forwards this node's own back) leaves the transaction clean,
     * and LMDB commits a clean one without a write or a sync */

    if (seq == first) {
        return 0;
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

int
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


int
kvs_store_usage(kvs_store_t *st, kvs_store_usage_t *u)
{
    int               rc;
    MDB_envinfo       info;
    kvs_store_room_t  room;

    rc = mdb_env_info(st->env, &info);
    if (rc == 0) {
        rc = kvs_store_room(st, st->read, &room);
    }

    if (rc != 0) {
        return kvs_store_read_failed(st, "measuring the store", rc);
    }

    u->size = ((uint64_t) info.me_last_pgno + 1) * st->psize;
    u->map = info.me_mapsize;
    u->used = (uint64_t) ((int64_t) info.me_mapsize - room.left);

    return KVS_OK;
}


/*
 * The one place a record is laid out in kv: its header, the full path
 * when the key holds only a digest of it, its value.  path and value must
 * not point into kv's pages: the put may reuse the old record's space.
 * flags are mdb_put()'s (MDB_NOOVERWRITE for a version of history).
 */

int
kvs_store_record_put(kvs_store_t *st, MDB_txn *txn, MDB_val *key,
    const kvs_record_hdr_t *hdr, const char *path, const uint8_t *value,
    unsigned flags)
{
    int       rc;
    uint8_t  *p;
    MDB_val   val;

    val.mv_size = KVS_RECORD_HDR_SIZE + hdr->key_len + hdr->value_len;

    rc = mdb_put(txn, st->kv, key, &val, flags | MDB_RESERVE);
    if (rc != 0) {
        return rc;
    }

    p = val.mv_data;
    kvs_record_encode(hdr, p);
    p += KVS_RECORD_HDR_SIZE;

    if (hdr->key_len) {
        memcpy(p, path, hdr->key_len);
        p += hdr->key_len;
    }

    if (hdr->value_len) {
        memcpy(p, value, hdr->value_len);
    }

    return 0;
}


/*
 * Keeps the record kv holds for k, of size bytes, as an earlier version
 * beside it (kvs_store_rev_key); the trim that follows counts it in meta
 * when *added says it is new.  A version kept already is left as it is:
 * a tie resolved one way and back replaces the same version twice.  The
 * record is read again after the version's space is reserved: a put may
 * move the pages an earlier read pointed into.
 */

static int
kvs_store_history_add(kvs_store_t *st, MDB_txn *txn, const uint8_t *k,
    size_t klen, const kvs_version_t *v, size_t size, int *added)
{
    int      rc;
    uint8_t  rk[KVS_REV_KEY_MAX];
    MDB_val  key, val, cur;

    *added = 0;

    key.mv_data = rk;
    key.mv_size = kvs_store_rev_key(rk, k, klen, v);
    val.mv_size = size;

    rc = mdb_put(txn, st->kv, &key, &val, MDB_RESERVE | MDB_NOOVERWRITE);
    if (rc != 0) {
        return rc == MDB_KEYEXIST ? 0 : rc;
    }

    *added = 1;

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
        if (w->earlier) {
            /* its winner was not stored: nothing to keep it beside */
            w->rc = KVS_STALE;
            return 0;
        }

        break;

    case KVS_VERSION_CONFLICT:
        if (w->earlier) {
            /* the loser of the tie, as the nodes that held it keep it */
            w->rc = KVS_STALE;
            w->version = old->version;
            *store = KVS_STORE_EARLIER;
            break;
        }

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

    case KVS_VERSION_OLDER:
        w->rc = KVS_STALE;
        w->version = old->version;

        /* a version this node never held, come after a newer one: kept
         * in history, where the node that replaced it in time has it */
        *store = KVS_STORE_EARLIER;
        break;

    default:
        w->rc = KVS_STALE;
        w->version = old->version;
        return 0;
    }

    *value = w->value + KVS_RECORD_HDR_SIZE + new->key_len;
    new->key_len = 0;

    if (*store == 0) {
        *store = KVS_STORE_CURRENT;
    }

    return 0;
}


/*
 * A peer's version older than the one held joins the key's history in its
 * place by time, as a local write's replaced version does, when it held a
 * value that is still live and there is room: two nodes that overwrote a
 * key within a push's delay then list the same versions, whichever push
 * came last.  One kept already (a push sent twice) is left as it is; one
 * older than every version kept is trimmed again at once.
 */

static int
kvs_store_history_earlier(kvs_store_t *st, MDB_txn *txn, kvs_write_t *w,
    const uint8_t *k, size_t klen, kvs_record_hdr_t *hdr,
    const uint8_t *value, uint64_t now_ms, kvs_store_room_t *room)
{
    int       rc;
    int64_t   copy;
    uint8_t   rk[KVS_REV_KEY_MAX];
    MDB_val   key;

    if (st->history == 0 || !kvs_record_live(hdr, now_ms)) {
        return 0;
    }

    if (w->path_len > KVS_KEY_INLINE) {
        hdr->key_len = (uint16_t) w->path_len;
    }

    copy = kvs_store_in_map(st, KVS_RECORD_HDR_SIZE + hdr->key_len
                                + hdr->value_len);
    if (copy > room->left - 2 * room->reserve) {
        return 0;
    }

    key.mv_data = rk;
    key.mv_size = kvs_store_rev_key(rk, k, klen, &hdr->version);

    rc = kvs_store_record_put(st, txn, &key, hdr, w->path, value,
                              MDB_NOOVERWRITE);
    if (rc != 0) {
        return rc == MDB_KEYEXIST ? 0 : rc;
    }

    room->left -= copy;

    return kvs_store_history_trim(st, txn, k, klen, st->history, 1);
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
        || ((w->must_exist || w->meta) && !live))
    {
        w->rc = KVS_PRECONDITION;
        return 0;
    }

    if (w->op == KVS_WRITE_DELETE && !live
        && (!w->revoke || (have_old && (old->flags & KVS_FLAG_TOMBSTONE))))
    {
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

    new->created_at = live ? old->created_at : new->version.timestamp;

    /* who a key belongs to is set when it is created, or by a change of
     * its meta; a DELETE's tombstone keeps them, for its history */

    if (w->meta || (w->owned && !live && w->op == KVS_WRITE_PUT)) {
        memcpy(new->owner, w->owner, KVS_UUID_LEN);
        memcpy(new->group, w->group, KVS_UUID_LEN);
        new->permissions = w->permissions;

    } else if (have_old) {
        memcpy(new->owner, old->owner, KVS_UUID_LEN);
        memcpy(new->group, old->group, KVS_UUID_LEN);
        new->permissions = old->permissions;

    } else {
        new->permissions = KVS_DEFAULT_PERMISSIONS;
    }

    if (w->op == KVS_WRITE_DELETE) {
        new->flags = KVS_FLAG_TOMBSTONE;

    } else {
        /* after the version's own timestamp, so that expiry is always
         * newer than the write, whatever the clocks did; a change of meta
         * (over a live version: if_match) keeps the expiry it had */
        new->expires_at = w->meta ? old->expires_at
                          : w->ttl_ms ? new->version.timestamp + w->ttl_ms
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


/*
 * A new key of a long path joins the block of those sharing its first 448
 * bytes only while the block holds fewer than KVS_STORE_BLOCK_MAX keys
 * (records, tombstones included; not their earlier versions, whose keys
 * are longer).
 */

static int
kvs_store_block_room(kvs_store_t *st, MDB_txn *txn, const uint8_t *k,
    kvs_write_t *w)
{
    int          rc;
    size_t       n;
    MDB_val      key, val;
    MDB_cursor  *cur;

    rc = mdb_cursor_open(txn, st->kv, &cur);
    if (rc != 0) {
        return rc;
    }

    key.mv_data = (void *) k;
    key.mv_size = 1 + KVS_KEY_INLINE;
    n = 0;

    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);

    while (rc == 0 && n < KVS_STORE_BLOCK_MAX
           && key.mv_size >= 1 + KVS_KEY_INLINE
           && memcmp(key.mv_data, k, 1 + KVS_KEY_INLINE) == 0)
    {
        if (key.mv_size == KVS_STORE_KEY_MAX) {
            n++;
        }

        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    mdb_cursor_close(cur);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }

    if (n >= KVS_STORE_BLOCK_MAX) {
        w->rc = KVS_CROWDED;
    }

    return 0;
}


static int
kvs_store_apply(kvs_store_t *st, MDB_txn *txn, kvs_write_t *w,
    uint64_t now_ms, uint64_t *seq, kvs_store_room_t *room)
{
    int                rc, have_old, live, store, added;
    size_t             klen, keep;
    int64_t            grow, copy;
    uint8_t            k[KVS_STORE_KEY_MAX];
    MDB_val            key, val;
    const uint8_t     *value;
    kvs_record_hdr_t   old, new;

    if (w->op == KVS_WRITE_MEMBERS) {
        w->rc = KVS_OK;
        return kvs_store_members_apply(st, txn, w->members, w->nmembers,
                                       *seq);
    }

    if (w->op == KVS_WRITE_WITNESS) {
        return kvs_store_audit_witness_apply(st, txn, w);
    }

    if (w->op == KVS_WRITE_AUDIT) {
        /* its entry is all it writes (kvs_store_audit_append); without
         * an audit log, nothing */
        w->rc = KVS_OK;
        return 0;
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
        if (rc != 0 || store == 0) {
            return rc;
        }

        if (store == KVS_STORE_EARLIER) {
            return kvs_store_history_earlier(st, txn, w, k, klen, &new,
                                             value, now_ms, room);
        }

    } else if (!kvs_store_apply_local(w, now_ms, have_old, &old, &new)) {
        return 0;

    } else if (w->op == KVS_WRITE_PUT && !have_old
               && klen == KVS_STORE_KEY_MAX)
    {
        rc = kvs_store_block_room(st, txn, k, w);
        if (rc != 0 || w->rc == KVS_CROWDED) {
            return rc;
        }
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
        added = 0;

        if (copy) {
            rc = kvs_store_history_add(st, txn, k, klen, &old.version,
                                       KVS_RECORD_HDR_SIZE + old.key_len
                                       + old.value_len, &added);
            if (rc != 0) {
                return rc;
            }
        }

        /* meta counts the version kept and those trimmed at once */
        rc = kvs_store_history_trim(st, txn, k, klen, keep, added);
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

    rc = kvs_store_record_put(st, txn, &key, &new, w->path, value, 0);
    if (rc != 0) {
        return rc;
    }

    if (have_old) {
        rc = kvs_store_index_remove(st, txn, k, klen, w->path, w->path_len,
                                    &old, 1);
        if (rc != 0) {
            return rc;
        }
    }

    rc = kvs_store_index_add(st, txn, k, klen, w->path, w->path_len, &new,
                             !have_old, seq);
    if (rc != 0) {
        return rc;
    }

    w->rc = KVS_OK;
    w->version = new.version;
    w->expires_at = new.expires_at;

    return 0;
}


void
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


int
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
    int            self;         /* this node's: its joined_timestamp
                                    kept, its id kept as the store's */
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

    if (mw->self) {
        rc = mdb_get(txn, st->members, &key, &val);

        if (rc == 0 && kvs_store_member_decode(&old, &key, &val) == KVS_OK) {
            m->joined_timestamp = old.joined_timestamp;

        } else if (rc != 0 && rc != MDB_NOTFOUND) {
            return rc;
        }

        rc = kvs_store_identity_put(st, txn, &key);
        if (rc != 0) {
            return rc;
        }
    }

    kvs_store_member_encode(m, buf, &len);
    val.mv_data = buf;
    val.mv_size = len;

    return mdb_put(txn, st->members, &key, &val, 0);
}


/* meta's node_id says whose store this is; written only when it changes */

static int
kvs_store_identity_put(kvs_store_t *st, MDB_txn *txn, MDB_val *node_id)
{
    int      rc;
    MDB_val  key, val;

    key.mv_data = KVS_NODE_ID;
    key.mv_size = sizeof(KVS_NODE_ID) - 1;

    rc = mdb_get(txn, st->meta, &key, &val);

    if (rc == 0 && val.mv_size == node_id->mv_size
        && memcmp(val.mv_data, node_id->mv_data, val.mv_size) == 0)
    {
        return 0;
    }

    if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }

    return mdb_put(txn, st->meta, &key, node_id, 0);
}


static int
kvs_store_member_write(kvs_store_t *st, kvs_member_t *m, int self,
    char *err, size_t errlen)
{
    kvs_store_member_write_t  mw;

    mw.m = m;
    mw.self = self;

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
    kvs_member_t  held, one;

    for (i = 0; i < n; i++) {
        key.mv_data = (void *) m[i].node_id;
        key.mv_size = strlen(m[i].node_id);

        if (key.mv_size == 0) {
            continue;
        }

        rc = mdb_get(txn, st->members, &key, &val);
        one = m[i];

        if (rc == 0) {
            if (kvs_store_member_decode(&held, &key, &val) == KVS_OK
                && held.last_seen >= one.last_seen)
            {
                /* a member's own word is stamped after what it replaces,
                 * so that the others' copies of that do not come back */
                if (!one.own) {
                    continue;
                }

                one.last_seen = held.last_seen + 1;
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

        kvs_store_member_encode(&one, buf, &len);
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
kvs_store_meta_put_bytes(kvs_store_t *st, const char *name,
    const uint8_t *data, size_t len, char *err, size_t errlen)
{
    kvs_store_one_t  one;

    one.dbi = st->meta;
    one.name = name;
    one.val.mv_data = (void *) data;
    one.val.mv_size = len;

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
