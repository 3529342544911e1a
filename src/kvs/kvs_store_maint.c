/*
 * The agent's upkeep of the store, each a bounded walk in one transaction
 * of kvs_store_run(), so that a walk never holds LMDB's writer lock for
 * long and the next call resumes where it stopped: the purge of
 * tombstones past tombstone_ttl_hours (with every index entry, through
 * kvs_store_index_remove), the TTL sweep, and the trim of the change feed
 * every member has been pushed.
 */

#include <string.h>
#include <lmdb.h>

#include "kvs_store_int.h"
#include "kvs_ident.h"


/*
 * A walk of maintenance (trim, purge, TTL sweep): its bound (a sequence
 * number or a time), how many entries it may take, where the purge
 * resumes, and what it did.
 */

typedef struct {
    uint64_t             bound;
    size_t               max;
    kvs_store_resume_t  *from;
    int                  n;
} kvs_store_walk_t;


#if (8 + KVS_STORE_KEY_MAX > KVS_STORE_RESUME_MAX)
#error "KVS_STORE_RESUME_MAX cannot hold a by_time entry's key"
#endif


/* runs one walk in its own transaction: how many it did, or -1 */

static int
kvs_store_walk(kvs_store_t *st, kvs_store_txn_pt fn, uint64_t bound,
    size_t max, kvs_store_resume_t *from, const char *what, char *err,
    size_t errlen)
{
    kvs_store_walk_t  wk;

    wk.bound = bound;
    wk.max = max;
    wk.from = from;
    wk.n = 0;

    if (kvs_store_run(st, 0, fn, &wk, what, err, errlen) != 0) {
        return -1;
    }

    return wk.n;
}


static int
kvs_store_trim_txn(kvs_store_t *st, MDB_txn *txn, void *data)
{
    kvs_store_walk_t *wk = data;

    int          rc;
    MDB_val      key, val;
    MDB_cursor  *cur;

    rc = mdb_cursor_open(txn, st->changes, &cur);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);

    while (rc == 0 && (size_t) wk->n < wk->max && key.mv_size == 8
           && kvs_get_be64(key.mv_data) <= wk->bound)
    {
        rc = mdb_cursor_del(cur, 0);
        if (rc != 0) {
            break;
        }

        wk->n++;
        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    mdb_cursor_close(cur);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


int
kvs_store_changes_trim(kvs_store_t *st, uint64_t upto, size_t max,
    char *err, size_t errlen)
{
    return kvs_store_walk(st, kvs_store_trim_txn, upto, max, NULL,
                          "trimming the change feed", err, errlen);
}


static int
kvs_store_purge_txn(kvs_store_t *st, MDB_txn *txn, void *data)
{
    kvs_store_walk_t *wk = data;

    int                  rc;
    char                 uuid[KVS_UUID_STR_LEN];
    size_t               i, klen, max, admin_len;
    uint8_t              start[8], k[KVS_STORE_KEY_MAX];
    uint8_t              admin[KVS_STORE_KEY_MAX];
    uint64_t             ts, older_than;
    MDB_val              key, val, rkey, rval;
    MDB_cursor          *cur;
    const char          *path;
    size_t               plen;
    kvs_record_hdr_t     hdr;
    kvs_store_resume_t  *from;

    older_than = wk->bound;
    max = wk->max;
    from = wk->from;

    /* the user admin's tombstone is kept for good: it says the admin was
     * deleted on purpose, where a store without it has admin_password_file
     * make the admin again */
    kvs_uuid_format(kvs_ident_admin_user, uuid);
    admin_len = kvs_store_key(admin, KVS_NS_USER, uuid, sizeof(uuid));

    rc = mdb_cursor_open(txn, st->by_time, &cur);
    if (rc != 0) {
        return rc;
    }

    /* at the entry the last call stopped at, or the first after it if
     * that one went meanwhile: entries of one millisecond may be more
     * than max, and resuming at a timestamp would walk the same ones
     * again and again */

    if (from->len > 8 && from->len <= 8 + KVS_STORE_KEY_MAX) {
        key.mv_data = from->key;
        key.mv_size = from->len;

    } else {
        kvs_put_be64(start, 0);
        key.mv_data = start;
        key.mv_size = 8;
    }

    rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);

    for (i = 0; rc == 0; i++) {
        if (key.mv_size <= 9 || key.mv_size > 8 + KVS_STORE_KEY_MAX) {
            rc = MDB_CORRUPTED;
            break;
        }

        ts = kvs_get_be64(key.mv_data);

        if (ts >= older_than) {
            rc = MDB_NOTFOUND;
            break;
        }

        if (i == max) {
            /* the next call resumes here */
            from->len = key.mv_size;
            memcpy(from->key, key.mv_data, key.mv_size);
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
                     && hdr.expires_at < older_than))
            || (klen == admin_len && memcmp(k, admin, klen) == 0))
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

        rc = kvs_store_index_remove(st, txn, k, klen, path, plen, &hdr, 0);
        if (rc != 0) {
            break;
        }

        rc = mdb_del(txn, st->kv, &rkey, NULL);
        if (rc != 0) {
            break;
        }

        /* the key's history goes with it */
        rc = kvs_store_history_trim(st, txn, k, klen, 0, 0);
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
        from->len = 0;
        rc = 0;
    }

    return rc;
}


int
kvs_store_purge(kvs_store_t *st, uint64_t older_than, size_t max,
    kvs_store_resume_t *from, char *err, size_t errlen)
{
    return kvs_store_walk(st, kvs_store_purge_txn, older_than, max, from,
                          "purging tombstones", err, errlen);
}


static int
kvs_store_expire_txn(kvs_store_t *st, MDB_txn *txn, void *data)
{
    kvs_store_walk_t *wk = data;

    int               rc;
    size_t            i, klen;
    char              path[KVS_KEY_MAX];
    uint8_t           k[KVS_STORE_KEY_MAX];
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

            rc = kvs_store_record_put(st, txn, &rkey, &hdr, path, NULL, 0);
            if (rc != 0) {
                break;
            }

            rc = kvs_store_index_expired(st, txn, k, klen, &hdr);
            if (rc != 0) {
                break;
            }

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
    return kvs_store_walk(st, kvs_store_expire_txn, now_ms, max, NULL,
                          "sweeping expired records", err, errlen);
}
