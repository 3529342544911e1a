/*
 * The store: one LMDB environment in data_dir with the named databases of
 * DESIGN.md, shared by every nginx process of a node.
 *
 * Reads run in a read-only transaction that each process keeps and renews
 * per request, so a GET costs no allocation and no lock.  Writes come in
 * batches: kvs_store_write() applies a whole batch in one write
 * transaction, together with every index the batch touches (by_time,
 * expiry, the Merkle bucket, bucket_keys and the change feed), and commits
 * it with one fsync.  A write is durable when the call returns and its rc
 * says it was applied.
 *
 * Near max_db_size (the map's size) client PUTs are refused short of a
 * reserve that keeps room for DELETEs and for peers' records; a batch that
 * still finds no room is written one write at a time, so that only a write
 * that does not fit alone is refused (rc KVS_FULL).
 */

#ifndef KVS_STORE_H
#define KVS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "kvs_audit.h"
#include "kvs_record.h"
#include "kvs_wire.h"

/* the layout of the databases this build writes (kvs_store_schema.c) */
#define KVS_SCHEMA_VERSION  4
#define KVS_STORE_ERRLEN    512

#define KVS_OK              0
#define KVS_NOT_FOUND       1
#define KVS_ERROR          -1
#define KVS_FULL           -2       /* the map (max_db_size) is full */

/* what became of a peer's record (kvs_write_t.rc of KVS_WRITE_REMOTE) */
#define KVS_STALE           2       /* the version held is the same or newer */
#define KVS_CONFLICT        3       /* same timestamp, another uuid */
#define KVS_INVALID         4       /* not a record this build reads */
#define KVS_PRECONDITION    5       /* a condition of a local write failed */
#define KVS_CROWDED         6       /* a new long key whose first 448 bytes
                                       KVS_STORE_BLOCK_MAX keys share */

/*
 * Paths longer than 448 bytes that share their first 448 are keyed by a
 * digest after them, so they sort in digest order and a listing reads all
 * of them at once to order them: a client PUT may not make such a block
 * hold more than this many keys (a peer's record is always taken).
 */
#define KVS_STORE_BLOCK_MAX  1000


typedef struct kvs_store_s  kvs_store_t;


typedef enum {
    KVS_WRITE_PUT = 0,
    KVS_WRITE_DELETE,
    KVS_WRITE_MEMBERS,         /* merge gossiped member records */
    KVS_WRITE_REMOTE,          /* a peer's record: value holds it whole */
    KVS_WRITE_AUDIT,           /* only an audit entry: audit says of what
                                  (an auth event, a read); version, when
                                  its timestamp is set, is the one read */
    KVS_WRITE_WITNESS          /* a peer's audit head, from its gossip */
} kvs_write_op_e;


typedef struct {
    char              node_id[256];
    char              address[256];
    uint64_t          last_seen;
    uint64_t          joined_timestamp;
    int               state;
    int               own;                /* the member's word of itself
                                             (its signed gossip): it
                                             replaces a record stamped
                                             later, and is stamped after
                                             it; never stored */
} kvs_member_t;

#define KVS_MEMBER_ALIVE   0
#define KVS_MEMBER_FAILED  1
#define KVS_MEMBER_LEFT    2


typedef struct {
    kvs_write_op_e    op;
    char              ns;
    const char       *path;          /* checked with kvs_key_check() */
    size_t            path_len;
    const uint8_t    *value;         /* PUT: JSON bytes, or a zstd frame
                                        of raw_len bytes of JSON */
    size_t            value_len;
    size_t            raw_len;       /* PUT, compressed */
    uint64_t          ttl_ms;        /* PUT: expires ttl_ms after the
                                        version's timestamp; 0 = never */
    const kvs_member_t *members;     /* MEMBERS: records to merge */
    unsigned          if_match:1;    /* PUT, DELETE: only over version
                                        match (compare-and-set) */
    unsigned          create_only:1; /* PUT: only where no key is */
    unsigned          compressed:1;  /* PUT: value is a zstd frame */
    unsigned          must_exist:1;  /* PUT, DELETE: only over a key */
    unsigned          owned:1;       /* PUT: owner, group and permissions
                                        below are those of a key the PUT
                                        creates (none held, or a
                                        tombstone); without it a new key
                                        has no owner and
                                        KVS_DEFAULT_PERMISSIONS.  An
                                        overwrite keeps the held ones */
    unsigned          meta:1;        /* PUT: a change of owner, group and
                                        permissions to those below, over
                                        the held version (if_match): value
                                        is a copy of its value, and its
                                        expiry stays */
    unsigned          revoke:1;      /* DELETE: a tombstone even where no
                                        key is held, so that the deletion
                                        of a record not yet arrived still
                                        replicates (token revocations) */
    uint8_t           match[KVS_UUID_LEN];
    uint8_t           owner[KVS_UUID_LEN];
    uint8_t           group[KVS_UUID_LEN];
    uint16_t          permissions;
    unsigned          resolved:1;    /* REMOTE: the winner of a conflict,
                                        which replaces a tie */
    unsigned          earlier:1;     /* REMOTE: a conflict's loser, kept
                                        in history only (after its
                                        winner, in the same batch) */
    size_t            nmembers;
    const kvs_audit_event_t *audit;  /* PUT, DELETE: the entry of the
                                        change, appended in its
                                        transaction when it is written;
                                        AUDIT: the entry.  NULL: none */

    /* results */
    int               rc;            /* KVS_OK, KVS_NOT_FOUND (DELETE),
                                        KVS_FULL: it did not fit,
                                        KVS_ERROR: it was not written */
    kvs_version_t     version;       /* the version written */
    uint64_t          expires_at;    /* its expiry, 0: none */
    const char       *why;           /* KVS_INVALID: what is wrong with
                                        the peer's record */
} kvs_write_t;


/* Opens (creating when missing) the store in dir.  Fails with a sentence in
 * err when dir cannot be created, LMDB refuses, or the store is of another
 * schema version: a newer one, or an older one, which only
 * kvs_store_open_upgrade() upgrades. */
int kvs_store_open(kvs_store_t **stp, const char *dir, size_t map_size,
    char *err, size_t errlen);

/*
 * Opens the store as kvs_store_open() does, but upgrades a store of an
 * older schema version first, one step per version, all in the
 * transaction that opens it: only the master at nginx's start calls it,
 * never a reload, while workers of the old configuration still read the
 * store.  After an upgrade note says what was done; otherwise it is "".
 */
int kvs_store_open_upgrade(kvs_store_t **stp, const char *dir,
    size_t map_size, char *note, size_t notelen, char *err, size_t errlen);
void kvs_store_close(kvs_store_t *st);

/*
 * The bytes the data file of an LMDB environment has (*size), and those it
 * needs to hold the last page its newest meta page names (*need).  LMDB
 * maps the file and reads a page past its end as a fault (SIGBUS), not an
 * error, so a file shorter than that (truncated, copied in part) must be
 * refused before a transaction reads it: kvs_store_open() and
 * kvs_store_check() do, and kvs-restore of what it restores.  Pages past
 * the end that are all free (LMDB took them and freed them again in one
 * commit, and never wrote them) need no bytes: *need is then the file's
 * whole pages.  0, or LMDB's error or an errno when LMDB cannot say.
 */
struct MDB_env;
int kvs_store_env_size(struct MDB_env *env, uint64_t *size, uint64_t *need);

/*
 * What can be known of dir without taking the store from a node that
 * runs on it: KVS_OK when dir is missing (under an existing directory:
 * kvs_store_open() creates it) or a directory without data.mdb, or with
 * an empty one, or a store kvs_store_open_upgrade() opens with a map of
 * map_size bytes; otherwise KVS_ERROR with a sentence in err saying what
 * to do: dir is a file, data.mdb is no LMDB file or is cut short, the
 * store is of a newer schema version, or too full to upgrade.  The store
 * is read, not locked, in a read-only transaction of a few reads.
 */
int kvs_store_check(const char *dir, size_t map_size, char *err,
    size_t errlen);

/* How many earlier versions of a key writes keep in rev (default 3; 0
 * keeps none).  Reads show no more than this at once; what an earlier,
 * larger setting kept goes at the key's next write. */
void kvs_store_set_history(kvs_store_t *st, unsigned n);

/* The files of the store, for the master to hand them to nginx's user. */
const char *kvs_store_path(kvs_store_t *st);

int kvs_store_read_begin(kvs_store_t *st, char *err, size_t errlen);
/* The sentence of the last read of this process's read transaction that
 * failed (KVS_ERROR, or -1 of a count): what, where, and LMDB's reason;
 * "" when none of its reads failed (a callback's own failure, say). */
const char *kvs_store_error(kvs_store_t *st);
/* KVS_OK with the header and a pointer to the stored value, valid until
 * kvs_store_read_end(); KVS_NOT_FOUND; or KVS_ERROR. */
int kvs_store_get(kvs_store_t *st, char ns, const char *path, size_t len,
    kvs_record_hdr_t *hdr, const uint8_t **value);
void kvs_store_read_end(kvs_store_t *st);

/* Makes w the write of a peer's record, as a batch entry carries it; the
 * store checks the record when it applies it (kvs_wire_check). */
void kvs_store_remote(kvs_write_t *w, const kvs_wire_entry_t *e);

/*
 * Applies n writes in one durable transaction, or when the map has no room
 * for them together, in one each; now_ms is the node's clock.  Each
 * w[i].rc says what happened to it.  Returns KVS_OK when every write was
 * applied; KVS_FULL when some did not fit (the others were), or KVS_ERROR
 * when the store failed, each with a sentence in err.
 */
int kvs_store_write(kvs_store_t *st, kvs_write_t *w, size_t n,
    uint64_t now_ms, char *err, size_t errlen);

/* where a group commit's time went, in microseconds, told when asked */
typedef struct {
    uint64_t          apply_us;      /* the writes: records, indexes,
                                        Merkle digests, the change feed */
    uint64_t          audit_us;      /* their audit entries: encoding, the
                                        chain's hashes, the puts */
} kvs_write_times_t;

/*
 * Group commit across processes: begins the write transaction, which waits
 * for LMDB's writer lock while another process commits, and only then asks
 * collect() for the batch, so that every write that arrived meanwhile joins
 * this commit instead of waiting for the next one.  collect() also gives
 * the clock to stamp the batch with.  A batch of none commits nothing.
 */
typedef struct {
    kvs_write_t        *w;
    size_t              n;
    uint64_t            now_ms;
    kvs_write_times_t  *times;       /* set by collect() to have the
                                        transaction's time told, in every
                                        try it takes; NULL: not timed */
} kvs_write_batch_t;

typedef void (*kvs_write_collect_pt)(kvs_write_batch_t *b, void *data);

int kvs_store_write_collect(kvs_store_t *st, kvs_write_collect_pt collect,
    void *data, char *err, size_t errlen);

/*
 * The audit log (kvs_store_audit.c).  kvs_store_set_audit() turns it on
 * for this process's writes: the secret that signs entries and the node
 * id they name are copied.  A write with an audit event appends its entry
 * in its own transaction, after the chain's head, which is read there.
 */
int kvs_store_set_audit(kvs_store_t *st, const uint8_t *secret, size_t len,
    const char *node_id);
int kvs_store_audit_on(kvs_store_t *st);
/* the chain's head, inside the current read transaction */
int kvs_store_audit_head(kvs_store_t *st, kvs_audit_head_t *head);
/*
 * Entries in key order (by time) from since (ms) or after the key after
 * (NULL: none), inside the current read transaction: at most limit, *more
 * says whether others follow.  KVS_OK or KVS_ERROR.
 */
typedef int (*kvs_audit_list_pt)(const char *key, size_t klen,
    const uint8_t *entry, size_t len, void *data);
int kvs_store_audit_list(kvs_store_t *st, uint64_t since, const char *after,
    size_t alen, size_t limit, kvs_audit_list_pt fn, void *data, int *more);
/*
 * Walks the chain in seq order through v (kvs_audit_verify_init), then
 * every entry, which must be in the chain, in a read transaction of its
 * own (any thread).  KVS_OK, KVS_INVALID with v's bad and why, or
 * KVS_ERROR with a sentence in err; *entries counts the good ones.
 */
int kvs_store_audit_verify(kvs_store_t *st, kvs_audit_verify_t *v,
    uint64_t *entries, char *err, size_t errlen);

/* meta's heads: of a peer's chain as it gossiped it, and of this node's
 * chain as a peer holds it */
#define KVS_AUDIT_HEAD     "audit_head:"
#define KVS_AUDIT_WITNESS  "audit_witness:"

/*
 * A KVS_WRITE_WITNESS keeps a head of a peer's gossip when its seq is
 * above the one held: ns KVS_AUDIT_NS_HEAD (the peer's own chain) or
 * KVS_AUDIT_NS_WITNESS (this node's, as the peer holds it), path the
 * peer's id, value 8 + 64 bytes of kvs_store_audit_witness_value().  rc
 * KVS_OK when kept, KVS_STALE when not newer.
 */
#define KVS_AUDIT_NS_HEAD     'h'
#define KVS_AUDIT_NS_WITNESS  'w'
#define KVS_AUDIT_WITNESS_VALUE  (8 + KVS_SHA3_512_LEN)

void kvs_store_audit_witness_value(uint8_t *out,
    const kvs_audit_head_t *head);
/* inside the current read transaction: KVS_OK, KVS_NOT_FOUND, KVS_ERROR */
int kvs_store_audit_witness_get(kvs_store_t *st, const char *prefix,
    const char *node, size_t len, kvs_audit_head_t *head);
/* the witnesses of this node's chain, at most max, in a read transaction
 * of its own */
int kvs_store_audit_witnesses(kvs_store_t *st, kvs_audit_witness_t *w,
    size_t max, size_t *n, char *err, size_t errlen);

/* Members of the cluster as this node knows them. */
int kvs_store_member_put(kvs_store_t *st, const kvs_member_t *m,
    char *err, size_t errlen);
/* Records this node in members, keeping its joined_timestamp across
 * restarts, and its id as meta's KVS_NODE_ID; returns the member as
 * stored. */
int kvs_store_member_self(kvs_store_t *st, kvs_member_t *self,
    uint64_t now_ms, char *err, size_t errlen);
/* Merges gossiped records, each kept only when its last_seen is newer than
 * the record held; returns KVS_OK, KVS_FULL or KVS_ERROR. */
int kvs_store_members_merge(kvs_store_t *st, const kvs_member_t *m,
    size_t n, char *err, size_t errlen);
int kvs_store_member_delete(kvs_store_t *st, const char *node_id,
    char *err, size_t errlen);
/* The member of that id, inside the current read transaction. */
int kvs_store_member_get(kvs_store_t *st, const char *node_id, size_t len,
    kvs_member_t *m);
/* Calls fn for every member, inside the current read transaction. */
int kvs_store_member_each(kvs_store_t *st,
    int (*fn)(const kvs_member_t *m, void *data), void *data);

/*
 * The change feed after a sequence number, for push replication: fn gets,
 * for each change in order, its sequence number, the key and the record
 * that change wrote, whole (header and value, as a peer's KVS_WRITE_REMOTE
 * takes it): the key's current record, or an earlier version from its
 * history, so that peers keep the same history.  A change whose version is
 * in neither is skipped: a later change of the same key carries what
 * replaced it.  At most max changes, inside the current read transaction.
 * Returns the number of changes seen, or -1.
 */
typedef int (*kvs_change_pt)(uint64_t seq, char ns, const char *path,
    size_t len, const uint8_t *record, size_t record_len, void *data);

int kvs_store_changes(kvs_store_t *st, uint64_t after, size_t max,
    kvs_change_pt fn, void *data);

/* Deletes the change feed's entries up to and including seq, at most max
 * of them in one transaction; returns how many went, or -1. */
int kvs_store_changes_trim(kvs_store_t *st, uint64_t upto, size_t max,
    char *err, size_t errlen);

/*
 * Conflicts: a peer's record that ties with the version held (same
 * timestamp, another uuid) is noted in the transaction that refuses it;
 * the cluster agent resolves each by a vote of the members and then calls
 * kvs_store_conflict_done(), which counts it.
 */
typedef int (*kvs_conflict_pt)(char ns, const char *path, size_t len,
    void *data);
int kvs_store_conflicts(kvs_store_t *st, kvs_conflict_pt fn, void *data);
int kvs_store_conflict_done(kvs_store_t *st, char ns, const char *path,
    size_t len, char *err, size_t errlen);

/* meta's mark of a node bootstrapping from its peers ("syncing" mode) */
#define KVS_SYNCING  "syncing"

/* meta's name of the store's identity: the node_id (its bytes) of the
 * node whose store it is, which kvs-restore keeps across a restore */
#define KVS_NODE_ID  "node_id"

/* meta's count of conflicts resolved, for kvs_store_meta_get() */
#define KVS_CONFLICTS_RESOLVED  "conflicts_resolved"

/* meta's name of a member's push cursor: this prefix and its node id */
#define KVS_PUSH_CURSOR  "push:"

/* A number kept under a name in meta (replication cursors): get inside the
 * current read transaction (KVS_NOT_FOUND when unset); put in its own. */
int kvs_store_meta_get(kvs_store_t *st, const char *name, uint64_t *v);
int kvs_store_meta_put(kvs_store_t *st, const char *name, uint64_t v,
    char *err, size_t errlen);
int kvs_store_meta_delete(kvs_store_t *st, const char *name, char *err,
    size_t errlen);
/* Bytes kept under a name in meta (the last backup's record): get inside
 * the current read transaction, valid until it ends; put in its own. */
int kvs_store_meta_get_bytes(kvs_store_t *st, const char *name,
    const uint8_t **data, size_t *len);
int kvs_store_meta_put_bytes(kvs_store_t *st, const char *name,
    const uint8_t *data, size_t len, char *err, size_t errlen);

/*
 * The store's compacting copy (LMDB's mdb_env_copyfd2, MDB_CP_COMPACT)
 * written to fd, a consistent point in time, and in *keys the records kv
 * held as it began.  Blocks until the copy is written; fd stays open.
 */
int kvs_store_copy(kvs_store_t *st, int fd, uint64_t *keys, char *err,
    size_t errlen);

/*
 * The Merkle tree as anti-entropy walks it, top-down: 256 ranges of 256
 * buckets each; a range's digest is the XOR of its buckets', the root the
 * SHA-256 of the 256 range digests.  Inside the current read transaction.
 */
int kvs_store_merkle_ranges(kvs_store_t *st, uint8_t *out);
int kvs_store_merkle_range(kvs_store_t *st, unsigned range, uint8_t *out);
void kvs_store_merkle_root(const uint8_t *ranges, uint8_t *root);
/* Calls fn for every key of a bucket, with its version and flags. */
typedef int (*kvs_bucket_key_pt)(char ns, const char *path, size_t len,
    const kvs_version_t *v, uint8_t flags, void *data);
int kvs_store_bucket_keys(kvs_store_t *st, uint16_t bucket,
    kvs_bucket_key_pt fn, void *data);
/* The same from the key after ns and path (path NULL: from the first), in
 * the bucket's order, which is kv's: a page of a long bucket after the
 * last key of the page before. */
int kvs_store_bucket_keys_after(kvs_store_t *st, uint16_t bucket, char ns,
    const char *path, size_t len, kvs_bucket_key_pt fn, void *data);
/* A key's record whole (header, path of a long key, value), as a peer's
 * KVS_WRITE_REMOTE takes it; valid until kvs_store_read_end(). */
int kvs_store_record(kvs_store_t *st, char ns, const char *path, size_t len,
    const uint8_t **record, size_t *record_len);
/* where a purge resumes: the by_time entry it stopped at (its timestamp,
 * big-endian, and its key); len 0 is the start */
#define KVS_STORE_RESUME_MAX  512

typedef struct {
    size_t   len;
    uint8_t  key[KVS_STORE_RESUME_MAX];
} kvs_store_resume_t;

/*
 * Purges tombstones older than the bound (ms), with their index entries and
 * their share of the Merkle bucket: every node purges at the same age, so
 * the trees agree again.  Scans at most max entries of by_time from *from,
 * which it sets to the entry the next call resumes at (len 0 once all
 * before the bound is done: the next starts over); returns how many went,
 * or -1.
 */
int kvs_store_purge(kvs_store_t *st, uint64_t older_than, size_t max,
    kvs_store_resume_t *from, char *err, size_t errlen);

/*
 * The TTL sweep: records past their expires_at (at or before now_ms) lose
 * their value and their expiry entry, at most max of them in one
 * transaction; returns how many, or -1.  The version stays as it was, so
 * every node sweeps to the same record and the Merkle trees still agree;
 * readers see an expired record as gone whether it was swept or not.
 */
int kvs_store_expire(kvs_store_t *st, uint64_t now_ms, size_t max,
    char *err, size_t errlen);

/*
 * A key's earlier versions kept in rev, newest first, inside the current
 * read transaction: fn gets each one's header and stored value (a zstd
 * frame when its header says so).  Returns KVS_OK or KVS_ERROR.
 */
typedef int (*kvs_history_pt)(const kvs_record_hdr_t *hdr,
    const uint8_t *value, void *data);
int kvs_store_history(kvs_store_t *st, char ns, const char *path,
    size_t len, kvs_history_pt fn, void *data);

/*
 * Lists the live keys under a prefix in key order, inside the current read
 * transaction, from an LMDB cursor: the cost of a page does not grow with
 * the store.  after (NULL: from the start) is the last entry of the
 * previous page.  Not recursive, only the prefix's direct children are
 * listed, and each deeper level once, as "<prefix><segment>/" with
 * is_prefix set.  At most limit entries; *more says whether there are
 * others after them.  Returns KVS_OK or KVS_ERROR.
 */
typedef int (*kvs_list_pt)(const char *path, size_t len, int is_prefix,
    void *data);
int kvs_store_list(kvs_store_t *st, char ns, const char *prefix,
    size_t plen, const char *after, size_t alen, int recursive,
    size_t limit, uint64_t now_ms, kvs_list_pt fn, void *data, int *more);

/* The same, where walk->may (given data) says of each record whether the
 * caller may see it: one it may not is walked past as a dead one is, so
 * it neither counts against limit, nor ends a page, nor makes a level
 * show (a level shows when a record under it may be seen).  walk->scan
 * (0: none) bounds the records a walk passes over: past it the walk stops
 * at the last dead record the caller could see, *more is set and
 * walk->resume names that record (into the read transaction), to go on
 * from as after; otherwise walk->resume is NULL and the last entry listed
 * is where the next page starts.  Not recursive, such an after may lie
 * inside a level not listed yet, which then lists when a live record
 * under it follows. */
typedef int (*kvs_list_may_pt)(const kvs_record_hdr_t *hdr, void *data);
typedef struct {
    kvs_list_may_pt   may;
    size_t            scan;
    const char       *resume;
    size_t            resume_len;
} kvs_list_walk_t;
int kvs_store_list_may(kvs_store_t *st, char ns, const char *prefix,
    size_t plen, const char *after, size_t alen, int recursive,
    size_t limit, uint64_t now_ms, kvs_list_walk_t *walk, kvs_list_pt fn,
    void *data, int *more);

/* records in kv, tombstones included */
int kvs_store_count(kvs_store_t *st, uint64_t *n);
/* a key of kv that is a record's, not one of its earlier versions kept
 * beside it (schema version 4; every key of an older kv is a record's) */
int kvs_store_key_is_record(const void *key, size_t len);

/* The store's size in bytes, inside the current read transaction, for
 * metrics: the file's high-water mark (LMDB's last page, never lowered),
 * the pages its trees use (what the reserve of a full store counts), and
 * the map, the most it can hold. */
typedef struct {
    uint64_t         size;
    uint64_t         used;
    uint64_t         map;
} kvs_store_usage_t;

int kvs_store_usage(kvs_store_t *st, kvs_store_usage_t *u);

/* The change feed's last sequence number and the Merkle bucket digest, for
 * tests and the agent. */
int kvs_store_change_seq(kvs_store_t *st, uint64_t *seq);
int kvs_store_bucket_digest(kvs_store_t *st, uint16_t bucket, uint8_t *out);

#endif /* KVS_STORE_H */
