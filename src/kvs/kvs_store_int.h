/*
 * What the files of the store share, and no one else: the store's handle,
 * the form of its keys, the one transaction runner, the one index add and
 * remove.  kvs_store.h is the store's interface; the files are:
 *
 *   kvs_store.c        the environment (open, check, close), the one
 *                      transaction runner, and the reads
 *   kvs_store_apply.c  the writes: group commit, a full map, a version
 *                      replacing another, members and meta
 *   kvs_store_index.c  keys of kv and of the indexes, and the one index
 *                      add and remove every write and the purge use
 *   kvs_store_maint.c  the agent's upkeep: purge, TTL sweep, feed trim
 *   kvs_store_list.c   listing the keys under a prefix
 *   kvs_store_schema.c the schema version, and the upgrade of an older
 *                      store step by step
 */

#ifndef KVS_STORE_INT_H
#define KVS_STORE_INT_H

#include <pthread.h>
#include <lmdb.h>
#include <openssl/sha.h>

#include "kvs_store.h"


/* a version (big-endian timestamp, uuid) and flags, as bucket_keys and
 * changes store them */
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

    kvs_hmac_key_t *audit_mac; /* the secret's; NULL: no audit log */
    char      *audit_node;
    size_t     audit_node_len;
    uint8_t   *audit_buf;      /* an entry being built, KVS_AUDIT_ENTRY_MAX
                                  bytes: writes of a process are serial */
    kvs_audit_head_t  audit_last;  /* the last entry this process
                                      appended, and its key: a batch whose
                                      chain ends there skips hashing it */
    char       audit_last_key[KVS_AUDIT_KEY_LEN];
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


/* what kvs_store_run() runs in a transaction: 0 commits it */
typedef int (*kvs_store_txn_pt)(kvs_store_t *st, MDB_txn *txn, void *data);

/* a kvs_store_txn_pt's failure whose sentence is in err already */
#define KVS_STORE_TOLD  (-1)
/* a kvs_store_txn_pt's verdict that is no failure of the store: the audit
 * log is bad, a witness is not newer */
#define KVS_STORE_BAD   (-2)

int kvs_store_run(kvs_store_t *st, unsigned flags, kvs_store_txn_pt fn,
    void *data, const char *what, char *err, size_t errlen);
/* KVS_OK, KVS_FULL or KVS_ERROR of an LMDB error (or 0) */
int kvs_store_status(int rc);
/* the sentence of an LMDB error, or errno: KVS_FULL or KVS_ERROR */
int kvs_store_fail(char *err, size_t errlen, const char *what,
    const char *dir, int rc);
/* a read of the read transaction failed: its sentence for
 * kvs_store_error(); KVS_ERROR */
int kvs_store_read_failed(kvs_store_t *st, const char *what, int rc);
/* a key of dbi in the read transaction: KVS_OK, KVS_NOT_FOUND, or
 * KVS_ERROR kept for kvs_store_error() */
int kvs_store_read_get(kvs_store_t *st, MDB_dbi dbi, MDB_val *key,
    MDB_val *val, const char *what);


/*
 * A key's earlier versions live in kv beside its record (schema version
 * 4), so that a write that keeps the version it replaces dirties one leaf,
 * not one of kv and one of another tree: the key of kv, a zero byte, then
 * the version (big-endian timestamp, uuid).  No path holds a byte below
 * 0x20 (kvs_key_check), so the zero sorts a key's versions right after
 * its record, oldest first, before any other key, and tells them from
 * records: see kvs_store_key_is_rev().  The longest, of a long key, is 506
 * bytes, within LMDB's 511.
 */

#define KVS_REV_SUFFIX      (1 + 8 + KVS_UUID_LEN)
#define KVS_REV_PREFIX_MAX  (KVS_STORE_KEY_MAX + 1)
#define KVS_REV_KEY_MAX     (KVS_STORE_KEY_MAX + KVS_REV_SUFFIX)

/*
 * A key of kv that is an earlier version, not a record.  Records' keys
 * are an inline path (up to 1 + KVS_KEY_INLINE bytes, no zero byte after
 * the namespace) or a long one (KVS_STORE_KEY_MAX, whose digest may hold
 * any byte); their versions are 25 bytes longer, so the lengths never
 * meet: a long key's version is the one key of KVS_REV_KEY_MAX bytes, and
 * an inline key's the one shorter key with a zero where its suffix
 * begins.
 */
#define kvs_store_key_is_rev(k, len)                                          \
    ((len) == KVS_REV_KEY_MAX                                                 \
     || ((len) < KVS_STORE_KEY_MAX && (len) > KVS_REV_SUFFIX                  \
         && ((const uint8_t *) (k))[(len) - KVS_REV_SUFFIX] == 0))

/* meta's count of the versions kv keeps beside its records: a count of
 * records is kv's entries less it */
#define KVS_STORE_REVS      "revisions"


/*
 * A record from a peer: the one function that decides between versions
 * says whether it replaces the one held.  Only a newer version is stored,
 * as it is, with its own timestamp and uuid.
 */

#define KVS_CONFLICT_PREFIX  "conflict:"


/*
 * A member record: last_seen (8), joined_timestamp (8), state (1), then
 * the address bytes; the key is the node id.
 */

#define KVS_MEMBER_FIXED  17


size_t kvs_store_key(uint8_t *buf, char ns, const char *path, size_t len);
int kvs_store_key_path(kvs_store_t *st, MDB_txn *txn, const uint8_t *k,
    size_t klen, const MDB_val *rec, const char **path, size_t *plen);
size_t kvs_store_rev_prefix(uint8_t *out, const uint8_t *k, size_t klen);
size_t kvs_store_rev_key(uint8_t *out, const uint8_t *k, size_t klen,
    const kvs_version_t *v);
int kvs_store_index_add(kvs_store_t *st, MDB_txn *txn, const uint8_t *k,
    size_t klen, const char *path, size_t plen, const kvs_record_hdr_t *hdr,
    int created, uint64_t *seq);
int kvs_store_index_expired(kvs_store_t *st, MDB_txn *txn, const uint8_t *k,
    size_t klen, const kvs_record_hdr_t *hdr);
int kvs_store_index_remove(kvs_store_t *st, MDB_txn *txn, const uint8_t *k,
    size_t klen, const char *path, size_t plen, const kvs_record_hdr_t *hdr,
    int keep);
int kvs_store_revs(kvs_store_t *st, MDB_txn *txn, uint64_t *n);
int kvs_store_revs_add(kvs_store_t *st, MDB_txn *txn, int64_t delta);
int kvs_store_records(kvs_store_t *st, MDB_txn *txn, uint64_t *n);
int kvs_store_history_trim(kvs_store_t *st, MDB_txn *txn, const uint8_t *k,
    size_t klen, size_t keep, size_t added);
int kvs_store_record_put(kvs_store_t *st, MDB_txn *txn, MDB_val *key,
    const kvs_record_hdr_t *hdr, const char *path, const uint8_t *value,
    unsigned flags);
void kvs_store_member_encode(const kvs_member_t *m, uint8_t *out,
    size_t *len);
int kvs_store_member_decode(kvs_member_t *m, const MDB_val *key,
    const MDB_val *val);

/* the room in the map as a transaction begins (kvs_store_apply.c) */
typedef struct {
    int64_t    left;           /* bytes of the map free, less what the
                                  batch's writes so far may have used */
    int64_t    reserve;
} kvs_store_room_t;

int kvs_store_room(kvs_store_t *st, MDB_txn *txn, kvs_store_room_t *room);

/* the chain's head as a batch's transaction knows it: read at its first
 * entry, then kept */
typedef struct {
    kvs_audit_head_t  head;
    uint64_t          ts;      /* the ms of the head's key */
    int               known;
    size_t            last_len;               /* the database's last key */
    char              last[KVS_AUDIT_BAD_MAX];
} kvs_store_chain_t;

int kvs_store_audit_append(kvs_store_t *st, MDB_txn *txn, kvs_write_t *w,
    uint64_t now_ms, kvs_store_chain_t *chain);
void kvs_store_audit_free(kvs_store_t *st);
int kvs_store_audit_witness_apply(kvs_store_t *st, MDB_txn *txn,
    kvs_write_t *w);

kvs_store_t *kvs_store_new(const char *dir, size_t map_size,
    unsigned env_flags, char *err, size_t errlen);
void kvs_store_free(kvs_store_t *st);
int kvs_store_dbs_open(kvs_store_t *st, MDB_txn *txn, unsigned flags);


/*
 * One step of the schema: upgrades a store of one version to the next,
 * inside the transaction that opens it.  room says how many bytes of the
 * map the step may take at most, so that a store too full for it is
 * refused before it begins, with a sentence; run does it.  Both return 0
 * or an LMDB error.
 */
typedef struct {
    const char  *what;         /* what the step changes, for the notice */
    int        (*room)(kvs_store_t *st, MDB_txn *txn, size_t *bytes);
    int        (*run)(kvs_store_t *st, MDB_txn *txn);
} kvs_store_step_t;

typedef struct {
    unsigned                 version;  /* the version this build writes */
    const kvs_store_step_t  *steps;    /* steps[v - 1] upgrades version v
                                          to v + 1 */
} kvs_store_schema_t;

/* this build's schema */
extern const kvs_store_schema_t  kvs_store_schema;

/* kvs_store_open() (note NULL) or kvs_store_open_upgrade(), and
 * kvs_store_check(), of a given schema: the unit tests give their own */
int kvs_store_open_schema(kvs_store_t **stp, const char *dir,
    size_t map_size, const kvs_store_schema_t *schema, char *note,
    size_t notelen, char *err, size_t errlen);
int kvs_store_check_schema(const char *dir, size_t map_size,
    const kvs_store_schema_t *schema, char *err, size_t errlen);

#endif /* KVS_STORE_INT_H */
