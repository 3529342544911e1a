/*
 * Keys and indexes.  A key of kv is a namespace byte and the path, or for
 * a path longer than KVS_KEY_INLINE its first bytes and a digest, the
 * full path then kept in the record: kvs_store_key() makes one,
 * kvs_store_key_path() gives back the path a key stands for.
 *
 * Every record has entries in expiry (when it has a TTL), its Merkle
 * bucket (its version's digest, XORed in) and bucket_keys, a dead one
 * (a tombstone, or a record the TTL sweep emptied) one in by_time (its
 * version's timestamp) for the purge, and each write one in the change
 * feed.  A live record has no by_time entry (schema version 4): an update,
 * the common write, then touches no leaf of by_time, where the entry of
 * the version it replaced lay anywhere in time.  Those come and
 * go only through kvs_store_index_add() and kvs_store_index_remove(): a
 * write removes the replaced record's and adds the new one's, the purge
 * removes a tombstone's, so the indexes and the Merkle tree always agree
 * with kv.  A key's earlier versions in rev are trimmed here too.
 */

#include <string.h>
#include <lmdb.h>
#include <openssl/sha.h>

#include "kvs_merkle.h"
#include "kvs_store_int.h"


/* namespace byte + path (or its prefix and digest), the key of kv */
size_t
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


/*
 * The path a key of kv stands for: the bytes after its namespace, or of a
 * long path the full path its record keeps.  rec is the key's record (or
 * an earlier version of it) when the caller holds it; otherwise it is
 * read from kv in txn.
 */

int
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

int
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


/* XORs digest into the one of key in dbi: a new one is of zeros */

static int
kvs_store_xor(MDB_txn *txn, MDB_dbi dbi, uint8_t *k, size_t klen,
    const uint8_t *digest)
{
    int      rc;
    uint8_t  acc[KVS_MERKLE_DIGEST_LEN];
    MDB_val  key, val;

    key.mv_data = k;
    key.mv_size = klen;

    rc = mdb_get(txn, dbi, &key, &val);
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

    return mdb_put(txn, dbi, &key, &val, 0);
}


/*
 * XORs the digest of a key's version into the digest of its bucket's
 * range, in or out: merkle holds the 256 ranges' digests, a few pages
 * that every write of a commit shares.  A bucket's own digest is not
 * kept (schema version 4): a read makes it from the versions its keys
 * have in kv (kvs_store_bucket_digests), so that an update touches no
 * leaf of the bucket's.
 */

static int
kvs_store_range_xor(kvs_store_t *st, MDB_txn *txn, uint16_t bucket,
    const uint8_t *digest)
{
    uint8_t  rkey[1];

    rkey[0] = (uint8_t) (bucket >> 8);

    return kvs_store_xor(txn, st->merkle, rkey, sizeof(rkey), digest);
}


/*
 * The entries a record has besides kv: by_time (when dead), expiry (with
 * a TTL), its version's share of its Merkle range, put or (del) deleted
 * together, so the two directions cannot drift apart, and (member) the
 * key's entry in its bucket, which says only that the key is there: a
 * write that replaces a record keeps it.  The Merkle XOR is its own
 * inverse: the same step adds and removes.
 */

static int
kvs_store_index_entries(kvs_store_t *st, MDB_txn *txn, const uint8_t *k,
    size_t klen, const char *path, size_t plen, const kvs_record_hdr_t *hdr,
    int del, int member)
{
    int       rc;
    uint8_t   digest[KVS_MERKLE_DIGEST_LEN], bk[2 + KVS_STORE_KEY_MAX];
    uint16_t  bucket;
    MDB_val   key, val;

    if (hdr->flags & (KVS_FLAG_TOMBSTONE | KVS_FLAG_EXPIRED)) {
        rc = kvs_store_index(txn, st->by_time, hdr->version.timestamp, k,
                             klen, del);
        if (rc != 0) {
            return rc;
        }
    }

    if (hdr->expires_at) {
        rc = kvs_store_index(txn, st->expiry, hdr->expires_at, k, klen, del);
        if (rc != 0) {
            return rc;
        }
    }

    bucket = kvs_merkle_bucket((char) k[0], path, plen);
    kvs_merkle_digest(digest, (char) k[0], path, plen, &hdr->version,
                      hdr->flags);

    rc = kvs_store_range_xor(st, txn, bucket, digest);
    if (rc != 0 || !member) {
        return rc;
    }

    bk[0] = (uint8_t) (bucket >> 8);
    bk[1] = (uint8_t) bucket;
    memcpy(bk + 2, k, klen);
    key.mv_data = bk;
    key.mv_size = 2 + klen;

    if (del) {
        rc = mdb_del(txn, st->bucket_keys, &key, NULL);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }

    val.mv_data = NULL;
    val.mv_size = 0;

    return mdb_put(txn, st->bucket_keys, &key, &val, 0);
}


/*
 * The one place a record's index entries come and go.  A write removes
 * those of the record it replaces (keep: the key stays in its bucket)
 * and adds those of the new one (with its change; created: the key joins
 * its bucket); the purge only removes.  k is the key of kv, path the full
 * path.
 */

int
kvs_store_index_remove(kvs_store_t *st, MDB_txn *txn, const uint8_t *k,
    size_t klen, const char *path, size_t plen, const kvs_record_hdr_t *hdr,
    int keep)
{
    return kvs_store_index_entries(st, txn, k, klen, path, plen, hdr, 1,
                                   !keep);
}


int
kvs_store_key_is_record(const void *key, size_t len)
{
    return !kvs_store_key_is_rev(key, len);
}


/* a record the TTL sweep emptied in place, its version kept, is dead
 * now: it joins by_time, for the purge */

int
kvs_store_index_expired(kvs_store_t *st, MDB_txn *txn, const uint8_t *k,
    size_t klen, const kvs_record_hdr_t *hdr)
{
    return kvs_store_index(txn, st->by_time, hdr->version.timestamp, k, klen,
                           0);
}


int
kvs_store_index_add(kvs_store_t *st, MDB_txn *txn, const uint8_t *k,
    size_t klen, const char *path, size_t plen, const kvs_record_hdr_t *hdr,
    int created, uint64_t *seq)
{
    int  rc;

    rc = kvs_store_index_entries(st, txn, k, klen, path, plen, hdr, 0,
                                 created);
    if (rc != 0) {
        return rc;
    }

    return kvs_store_change(st, txn, seq, k, klen, hdr);
}


size_t
kvs_store_rev_prefix(uint8_t *out, const uint8_t *k, size_t klen)
{
    memcpy(out, k, klen);
    out[klen] = 0;

    return klen + 1;
}


size_t
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
 * Deletes the oldest entries of k's history past the newest keep, and
 * moves meta's count by what it deleted and the added the caller just
 * kept (kvs_store_history_add): once a write.
 */

int
kvs_store_history_trim(kvs_store_t *st, MDB_txn *txn, const uint8_t *k,
    size_t klen, size_t keep, size_t added)
{
    int          rc;
    size_t       plen, n, i, gone;
    uint8_t      prefix[KVS_REV_PREFIX_MAX];
    MDB_val      key, val;
    MDB_cursor  *cur;

    plen = kvs_store_rev_prefix(prefix, k, klen);
    gone = 0;

    rc = mdb_cursor_open(txn, st->kv, &cur);
    if (rc != 0) {
        return rc;
    }

    /* history is short: count, then delete from the oldest */

    n = 0;

    for (i = 0; i < 2; i++) {
        key.mv_data = prefix;
        key.mv_size = plen;

        rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);

        while (rc == 0 && key.mv_size >= plen
               && memcmp(key.mv_data, prefix, plen) == 0)
        {
            /* a longer path's key among them (kvs_store_history) */
            if (key.mv_size != plen + 8 + KVS_UUID_LEN) {
                rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
                continue;
            }

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
            gone++;

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

    if (rc == 0) {
        rc = kvs_store_revs_add(st, txn, (int64_t) added - (int64_t) gone);
    }

    return rc;
}


/* meta's count of kept versions in txn, 0 before the first */

int
kvs_store_revs(kvs_store_t *st, MDB_txn *txn, uint64_t *n)
{
    int      rc;
    MDB_val  key, val;

    key.mv_data = KVS_STORE_REVS;
    key.mv_size = sizeof(KVS_STORE_REVS) - 1;

    rc = mdb_get(txn, st->meta, &key, &val);

    if (rc == MDB_NOTFOUND) {
        *n = 0;
        return 0;
    }

    if (rc != 0) {
        return rc;
    }

    if (val.mv_size != 8) {
        return MDB_CORRUPTED;
    }

    *n = kvs_get_u64(val.mv_data);

    return 0;
}


/* the count moved by delta; a write that keeps one version and trims one
 * moves it by nothing, and touches no meta */

int
kvs_store_revs_add(kvs_store_t *st, MDB_txn *txn, int64_t delta)
{
    int       rc;
    uint8_t   buf[8];
    MDB_val   key, val;
    uint64_t  n;

    if (delta == 0) {
        return 0;
    }

    rc = kvs_store_revs(st, txn, &n);
    if (rc != 0) {
        return rc;
    }

    /* never below zero, whatever an older count said */
    n = delta < 0 && (uint64_t) -delta > n ? 0 : n + (uint64_t) delta;

    key.mv_data = KVS_STORE_REVS;
    key.mv_size = sizeof(KVS_STORE_REVS) - 1;
    kvs_put_u64(buf, n);
    val.mv_data = buf;
    val.mv_size = sizeof(buf);

    return mdb_put(txn, st->meta, &key, &val, 0);
}

