/*
 * The audit log in the store: the `audit` database holds the entries
 * under their keys ("log:<ts>:<uuid>"), which sort by time for paging and
 * in the chain's order (kvs_audit_key), so verification walks the keys.
 * The chain's head is the last entry and its hash: it is read inside the
 * write transaction, and LMDB's one writer lock makes the chain serial
 * across the node's processes.
 *
 * An entry is appended in the transaction of the write it records, after
 * the write's outcome is known (kvs_store_audit_append), so no committed
 * change lacks its entry and no entry tells of a change that did not
 * commit.  Peers' records, member merges and the agent's upkeep carry no
 * event and make none.
 *
 * meta keeps what peers witnessed: "audit_head:<node>" the newest head a
 * peer gossiped of its own chain, "audit_witness:<node>" the newest head
 * of this node's chain that a peer says it holds.  Both only move forward.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lmdb.h>

#include "kvs_store_int.h"


#define KVS_AUDIT_META_MAX  64


int
kvs_store_set_audit(kvs_store_t *st, const uint8_t *secret, size_t len,
    const char *node_id)
{
    size_t  nlen;

    nlen = strlen(node_id);

    st->audit_mac = kvs_hmac_key_new(secret, len);
    st->audit_node = malloc(nlen + 1);
    st->audit_buf = malloc(KVS_AUDIT_ENTRY_MAX);

    if (st->audit_mac == NULL || st->audit_node == NULL
        || st->audit_buf == NULL)
    {
        kvs_store_audit_free(st);
        return KVS_ERROR;
    }

    memcpy(st->audit_node, node_id, nlen + 1);
    st->audit_node_len = nlen;

    return KVS_OK;
}


void
kvs_store_audit_free(kvs_store_t *st)
{
    kvs_hmac_key_free(st->audit_mac);
    free(st->audit_node);
    free(st->audit_buf);

    st->audit_mac = NULL;
    st->audit_node = NULL;
    st->audit_buf = NULL;
}


int
kvs_store_audit_on(kvs_store_t *st)
{
    return st->audit_mac != NULL;
}


/*
 * The head in txn, and the ms of its key: the database's last entry.  A
 * log whose last entry is no entry goes on from zeros, and verification
 * names the break.
 */

static int
kvs_store_audit_head_in(kvs_store_t *st, MDB_txn *txn,
    kvs_store_chain_t *chain)
{
    int          rc;
    MDB_val      key, val;
    MDB_cursor  *c;

    memset(&chain->head, 0, sizeof(kvs_audit_head_t));
    chain->ts = 0;
    chain->last_len = 0;

    rc = mdb_cursor_open(txn, st->audit, &c);
    if (rc != 0) {
        return rc;
    }

    rc = mdb_cursor_get(c, &key, &val, MDB_LAST);
    mdb_cursor_close(c);

    if (rc == MDB_NOTFOUND) {
        return 0;
    }

    if (rc != 0) {
        return rc;
    }

    chain->last_len = key.mv_size < sizeof(chain->last)
                      ? key.mv_size : sizeof(chain->last);
    memcpy(chain->last, key.mv_data, chain->last_len);

    if (kvs_audit_key_ts(key.mv_data, key.mv_size, &chain->ts) != 0
        || kvs_audit_entry_seq(val.mv_data, val.mv_size,
                               &chain->head.seq) != 0)
    {
        chain->head.seq = 0;
        return 0;
    }

    /* the entry this process appended last, unless another process's
     * commit, or an abort, left another */
    if (chain->head.seq == st->audit_last.seq
        && memcmp(key.mv_data, st->audit_last_key, KVS_AUDIT_KEY_LEN) == 0)
    {
        memcpy(chain->head.hash, st->audit_last.hash, KVS_SHA3_512_LEN);
        return 0;
    }

    return kvs_sha3_512(val.mv_data, val.mv_size, chain->head.hash) == 0
           ? 0 : EIO;
}


/* whether key k (KVS_AUDIT_KEY_LEN bytes) sorts after the database's
 * last one, as LMDB compares keys */

static int
kvs_store_audit_after(const char *k, const kvs_store_chain_t *chain)
{
    int     c;
    size_t  n;

    n = chain->last_len < KVS_AUDIT_KEY_LEN ? chain->last_len
                                            : KVS_AUDIT_KEY_LEN;
    c = memcmp(k, chain->last, n);

    return c > 0 || (c == 0 && KVS_AUDIT_KEY_LEN > chain->last_len);
}


int
kvs_store_audit_append(kvs_store_t *st, MDB_txn *txn, kvs_write_t *w,
    uint64_t now_ms, kvs_store_chain_t *chain)
{
    int                  rc;
    char                 k[KVS_AUDIT_KEY_LEN];
    size_t               len;
    uint64_t             ts;
    MDB_val              key, val;
    const kvs_version_t *version;

    if (w->audit == NULL || st->audit_mac == NULL
        || (w->op != KVS_WRITE_AUDIT && w->rc != KVS_OK))
    {
        return 0;
    }

    if (!chain->known) {
        rc = kvs_store_audit_head_in(st, txn, chain);
        if (rc != 0) {
            return rc;
        }

        chain->known = 1;
    }

    version = (w->op != KVS_WRITE_AUDIT || w->version.timestamp)
              ? &w->version : NULL;

    /* the key's ms never goes back, so that keys sort as the chain runs:
     * after a clock step back, the last key's until the clock is past it */
    ts = now_ms > chain->ts ? now_ms : chain->ts;

    kvs_audit_key(k, ts, chain->head.seq + 1);

    /* and it sorts after the last key, whatever that one's seq: a key
     * edited in for a later time (forged, or the tamper tool's rekey),
     * with entries put before it, would stay the head that every later
     * entry chains from, all of them one seq, and verification would
     * name the first of them instead of it */

    if (!kvs_store_audit_after(k, chain) && chain->ts < KVS_AUDIT_TS_MAX) {
        ts = chain->ts + 1;
        kvs_audit_key(k, ts, chain->head.seq + 1);
    }

    len = kvs_audit_encode(w->audit, now_ms, k, st->audit_node,
                           st->audit_node_len, version, st->audit_mac,
                           &chain->head, st->audit_buf);
    if (len == 0) {
        return EIO;
    }

    key.mv_data = k;
    key.mv_size = sizeof(k);
    val.mv_data = st->audit_buf;
    val.mv_size = len;

    /* appended, the database's pages fill up instead of splitting in
     * halves; a store edited to hold a later key takes an ordinary put */
    rc = mdb_put(txn, st->audit, &key, &val, MDB_APPEND);

    if (rc == MDB_KEYEXIST) {
        rc = mdb_put(txn, st->audit, &key, &val, MDB_NOOVERWRITE);
    }

    if (rc != 0) {
        return rc;
    }

    chain->ts = ts;
    chain->last_len = KVS_AUDIT_KEY_LEN;
    memcpy(chain->last, k, KVS_AUDIT_KEY_LEN);
    st->audit_last = chain->head;
    memcpy(st->audit_last_key, k, KVS_AUDIT_KEY_LEN);

    if (w->op == KVS_WRITE_AUDIT) {
        w->rc = KVS_OK;
    }

    return 0;
}


int
kvs_store_audit_head(kvs_store_t *st, kvs_audit_head_t *head)
{
    int                rc;
    kvs_store_chain_t  chain;

    if (!st->reading) {
        return KVS_ERROR;
    }

    rc = kvs_store_audit_head_in(st, st->read, &chain);
    if (rc != 0) {
        return kvs_store_read_failed(st, "reading the audit log's head", rc);
    }

    *head = chain.head;

    return KVS_OK;
}


int
kvs_store_audit_list(kvs_store_t *st, uint64_t since, const char *after,
    size_t alen, size_t limit, kvs_audit_list_pt fn, void *data, int *more)
{
    int          rc;
    char         start[KVS_AUDIT_KEY_LEN + 1];
    size_t       n;
    MDB_val      key, val;
    MDB_cursor  *c;

    *more = 0;

    if (!st->reading) {
        return KVS_ERROR;
    }

    /* a key's 13 digits reach no later ms: nothing is at or after it
     * (taken modulo, such a since wrapped to the first entries) */
    if (since > KVS_AUDIT_TS_MAX) {
        return KVS_OK;
    }

    rc = mdb_cursor_open(st->read, st->audit, &c);
    if (rc != 0) {
        return kvs_store_read_failed(st, "reading the audit log", rc);
    }

    snprintf(start, sizeof(start), KVS_AUDIT_KEY_PREFIX "%013llu",
             (unsigned long long) since);

    key.mv_data = start;
    key.mv_size = 4 + 13;

    /* from since, or after the previous page's last key when later */
    if (after && alen && (alen > key.mv_size ? memcmp(after, start,
                                                      key.mv_size) >= 0
                                             : memcmp(after, start,
                                                      alen) > 0))
    {
        key.mv_data = (void *) after;
        key.mv_size = alen;
    }

    rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);

    if (rc == 0 && after && alen && key.mv_size == alen
        && memcmp(key.mv_data, after, alen) == 0)
    {
        rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
    }

    for (n = 0; rc == 0; n++) {
        if (key.mv_size < 4
            || memcmp(key.mv_data, KVS_AUDIT_KEY_PREFIX, 4) != 0)
        {
            break;
        }

        if (n == limit) {
            *more = 1;
            break;
        }

        if (fn(key.mv_data, key.mv_size, val.mv_data, val.mv_size, data)
            != 0)
        {
            mdb_cursor_close(c);
            return KVS_ERROR;
        }

        rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
    }

    mdb_cursor_close(c);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        return kvs_store_read_failed(st, "reading the audit log", rc);
    }

    return KVS_OK;
}


/* the verification's walk, in a read transaction of its own */

typedef struct {
    kvs_audit_verify_t  *v;
    uint64_t             entries;
} kvs_store_verify_t;


static int
kvs_store_audit_walk(kvs_store_t *st, MDB_txn *txn, void *data)
{
    kvs_store_verify_t *sv = data;

    int                 rc;
    MDB_val             key, val;
    MDB_cursor         *c;

    rc = mdb_cursor_open(txn, st->audit, &c);
    if (rc != 0) {
        return rc;
    }

    /* the chain, in key order: every key of the database is an entry */

    rc = mdb_cursor_get(c, &key, &val, MDB_FIRST);

    while (rc == 0) {
        if (kvs_audit_verify_step(sv->v, key.mv_data, key.mv_size,
                                  val.mv_data, val.mv_size)
            != 0)
        {
            mdb_cursor_close(c);
            return KVS_STORE_BAD;
        }

        sv->entries++;

        rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
    }

    mdb_cursor_close(c);

    if (rc != MDB_NOTFOUND) {
        return rc;
    }

    return kvs_audit_verify_end(sv->v) == 0 ? 0 : KVS_STORE_BAD;
}


int
kvs_store_audit_verify(kvs_store_t *st, kvs_audit_verify_t *v,
    uint64_t *entries, char *err, size_t errlen)
{
    int                 rc;
    kvs_store_verify_t  sv;

    sv.v = v;
    sv.entries = 0;

    rc = kvs_store_run(st, MDB_RDONLY, kvs_store_audit_walk, &sv,
                       "verifying the audit log", err, errlen);

    *entries = sv.entries;

    if (rc == KVS_STORE_BAD) {
        return KVS_INVALID;
    }

    return rc == 0 ? KVS_OK : KVS_ERROR;
}


/* meta's heads of the witnesses, "<prefix><node>": seq (8) and hash */

static size_t
kvs_store_witness_key(char *out, const char *prefix, const char *node,
    size_t len)
{
    size_t  plen;

    plen = strlen(prefix);

    if (len > KVS_AUDIT_NODE_MAX) {
        len = KVS_AUDIT_NODE_MAX;
    }

    memcpy(out, prefix, plen);
    memcpy(out + plen, node, len);

    return plen + len;
}


/* keeps head under prefix and node in txn when its seq is above the one
 * held: 0 (*kept says whether it was), or an LMDB error */

static int
kvs_store_witness_keep(kvs_store_t *st, MDB_txn *txn, const char *prefix,
    const char *node, size_t len, const kvs_audit_head_t *head, int *kept)
{
    int      rc;
    char     k[KVS_AUDIT_META_MAX + KVS_AUDIT_NODE_MAX];
    uint8_t  buf[8 + KVS_SHA3_512_LEN];
    MDB_val  key, val;

    *kept = 0;

    key.mv_data = k;
    key.mv_size = kvs_store_witness_key(k, prefix, node, len);

    rc = mdb_get(txn, st->meta, &key, &val);

    if (rc == 0 && val.mv_size == sizeof(buf)
        && kvs_get_u64(val.mv_data) >= head->seq)
    {
        return 0;
    }

    if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }

    kvs_put_u64(buf, head->seq);
    memcpy(buf + 8, head->hash, KVS_SHA3_512_LEN);

    val.mv_data = buf;
    val.mv_size = sizeof(buf);

    rc = mdb_put(txn, st->meta, &key, &val, 0);
    if (rc == 0) {
        *kept = 1;
    }

    return rc;
}


/* a KVS_WRITE_WITNESS of a batch: ns says which head, path of which node,
 * value the head as kvs_store_audit_witness_value() lays it out */

int
kvs_store_audit_witness_apply(kvs_store_t *st, MDB_txn *txn, kvs_write_t *w)
{
    int               rc, kept;
    kvs_audit_head_t  head;

    if (w->value_len != 8 + KVS_SHA3_512_LEN) {
        w->rc = KVS_INVALID;
        return 0;
    }

    head.seq = kvs_get_u64(w->value);
    memcpy(head.hash, w->value + 8, KVS_SHA3_512_LEN);

    rc = kvs_store_witness_keep(st, txn,
                                w->ns == KVS_AUDIT_NS_HEAD
                                ? KVS_AUDIT_HEAD : KVS_AUDIT_WITNESS,
                                w->path, w->path_len, &head, &kept);
    if (rc == 0) {
        w->rc = kept ? KVS_OK : KVS_STALE;
    }

    return rc;
}


void
kvs_store_audit_witness_value(uint8_t *out, const kvs_audit_head_t *head)
{
    kvs_put_u64(out, head->seq);
    memcpy(out + 8, head->hash, KVS_SHA3_512_LEN);
}


int
kvs_store_audit_witness_get(kvs_store_t *st, const char *prefix,
    const char *node, size_t len, kvs_audit_head_t *head)
{
    int      rc;
    char     k[KVS_AUDIT_META_MAX + KVS_AUDIT_NODE_MAX];
    MDB_val  key, val;

    key.mv_data = k;
    key.mv_size = kvs_store_witness_key(k, prefix, node, len);

    rc = kvs_store_read_get(st, st->meta, &key, &val, "reading meta");
    if (rc != KVS_OK) {
        return rc;
    }

    if (val.mv_size != 8 + KVS_SHA3_512_LEN) {
        return kvs_store_read_failed(st, "reading meta", MDB_CORRUPTED);
    }

    head->seq = kvs_get_u64(val.mv_data);
    memcpy(head->hash, (uint8_t *) val.mv_data + 8, KVS_SHA3_512_LEN);

    return KVS_OK;
}


/* every witness of this node's chain, in a read transaction of its own
 * (the verification's thread): at most max */

typedef struct {
    kvs_audit_witness_t  *w;
    size_t                max;
    size_t                n;
} kvs_store_witnesses_t;


static int
kvs_store_witnesses_txn(kvs_store_t *st, MDB_txn *txn, void *data)
{
    kvs_store_witnesses_t *ws = data;

    int                   rc;
    size_t                plen, nlen;
    MDB_val               key, val;
    MDB_cursor           *c;
    kvs_audit_witness_t  *w;

    plen = sizeof(KVS_AUDIT_WITNESS) - 1;

    rc = mdb_cursor_open(txn, st->meta, &c);
    if (rc != 0) {
        return rc;
    }

    key.mv_data = KVS_AUDIT_WITNESS;
    key.mv_size = plen;

    rc = mdb_cursor_get(c, &key, &val, MDB_SET_RANGE);

    while (rc == 0 && ws->n < ws->max) {
        if (key.mv_size <= plen
            || memcmp(key.mv_data, KVS_AUDIT_WITNESS, plen) != 0)
        {
            break;
        }

        if (val.mv_size == 8 + KVS_SHA3_512_LEN) {
            w = &ws->w[ws->n++];
            nlen = key.mv_size - plen;
            if (nlen > KVS_AUDIT_NODE_MAX) {
                nlen = KVS_AUDIT_NODE_MAX;
            }

            memcpy(w->peer, (char *) key.mv_data + plen, nlen);
            w->peer[nlen] = '\0';
            w->head.seq = kvs_get_u64(val.mv_data);
            memcpy(w->head.hash, (uint8_t *) val.mv_data + 8,
                   KVS_SHA3_512_LEN);
        }

        rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
    }

    mdb_cursor_close(c);

    return rc == MDB_NOTFOUND ? 0 : rc;
}


int
kvs_store_audit_witnesses(kvs_store_t *st, kvs_audit_witness_t *w,
    size_t max, size_t *n, char *err, size_t errlen)
{
    int                    rc;
    kvs_store_witnesses_t  ws;

    ws.w = w;
    ws.max = max;
    ws.n = 0;

    rc = kvs_store_run(st, MDB_RDONLY, kvs_store_witnesses_txn, &ws,
                       "reading the audit witnesses", err, errlen);

    *n = ws.n;

    return rc == 0 ? KVS_OK : KVS_ERROR;
}
