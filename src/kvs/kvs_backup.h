/*
 * Backups: a consistent point-in-time copy of the store, compacted by LMDB
 * (mdb_env_copyfd2 with MDB_CP_COMPACT: one read transaction, free pages
 * left out) and streamed through zstd into one file of backup_dir,
 *
 *   kvs-<node_id>-<UTC yyyymmddThhmmssZ>.mdb.zst     mode 0600
 *
 * a single zstd frame whose content is the data.mdb of an environment
 * holding the store as of the copy's transaction: "zstd -d" and any LMDB
 * tool read it.  The file is written as "<name>.tmp", fsync'd, renamed and
 * its directory fsync'd, so that a file with the final name is always
 * whole; a failure unlinks the temporary file.
 *
 * This file knows nothing of nginx: the agent's glue (ngx_kvs_backup.c)
 * runs kvs_backup_write() on a thread of its own, and decides when.  The
 * names, the retention's choice and the record of the last backup kept in
 * meta are plain data, unit-tested.
 */

#ifndef KVS_BACKUP_H
#define KVS_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "kvs_store.h"


#define KVS_BACKUP_PREFIX    "kvs-"
#define KVS_BACKUP_SUFFIX    ".mdb.zst"
#define KVS_BACKUP_TMP       ".tmp"

/* "yyyymmddThhmmssZ" */
#define KVS_BACKUP_STAMP_LEN  16

/* a name with a node id of up to 255 bytes, its ".tmp" and a NUL */
#define KVS_BACKUP_NAME_MAX                                                   \
    (sizeof(KVS_BACKUP_PREFIX) - 1 + 255 + 1 + KVS_BACKUP_STAMP_LEN           \
     + sizeof(KVS_BACKUP_SUFFIX) - 1 + sizeof(KVS_BACKUP_TMP))

#define KVS_BACKUP_ERRLEN    512

/* meta's name of the record of the last backup (kvs_backup_last_t) */
#define KVS_BACKUP_META      "backup_last"

/* the largest encoded record */
#define KVS_BACKUP_LAST_MAX  (1 + 6 * 8 + 1 + 2 + KVS_BACKUP_NAME_MAX + 2     \
                              + KVS_BACKUP_ERRLEN)


/* the longest node id a backup's file name holds: 255 bytes in all, with
 * the prefix, the stamp, the suffix and ".tmp" */
#define KVS_BACKUP_NODE_MAX                                                   \
    (255 - (sizeof(KVS_BACKUP_PREFIX) - 1 + 1 + KVS_BACKUP_STAMP_LEN          \
            + sizeof(KVS_BACKUP_SUFFIX) - 1 + sizeof(KVS_BACKUP_TMP) - 1))

/* Why node cannot name a backup's file (a "/", too long), or NULL. */
const char *kvs_backup_node_check(const char *node, size_t len);

/*
 * Writes node's backup name for the second of ms (UTC) into out, of at
 * least KVS_BACKUP_NAME_MAX bytes.  Returns its length, or 0 when node is
 * longer than 255 bytes.
 */
size_t kvs_backup_name(char *out, const char *node, uint64_t ms);

/*
 * Whether the len bytes of name are a backup of node, the final name or
 * (with *tmp set) its temporary one.  Returns 0 with the name's second in
 * *ms (as ms since the epoch), or -1 for any other name: another node's,
 * a stamp that is no date.
 */
int kvs_backup_parse_name(const char *name, size_t len, const char *node,
    size_t node_len, int *tmp, uint64_t *ms);

/*
 * Retention: of n backups of times ms[i], marks in expired[i] those older
 * than keep_ms before now_ms, except the newest of all, which is never
 * deleted.  Returns how many it marked.
 */
size_t kvs_backup_expired(const uint64_t *ms, size_t n, uint64_t now_ms,
    uint64_t keep_ms, unsigned char *expired);


/* what a backup wrote */
typedef struct {
    uint64_t  bytes;            /* the file's, compressed */
    uint64_t  copied;           /* the LMDB copy's, before zstd */
    uint64_t  keys;             /* records in kv just before the copy's
                                   snapshot: a write committed between
                                   is in the file, not in the count */
} kvs_backup_result_t;

/*
 * Writes the backup named name (kvs_backup_name) into dir, creating dir
 * (not its parents) with mode 0700 when missing, at zstd level.  Blocks
 * for as long as it takes: the caller's thread is its own.  Starts one
 * more thread (the LMDB copy into a pipe) and joins it.  Returns 0, or -1
 * with a sentence in err (KVS_BACKUP_ERRLEN bytes) and no file left.
 */
int kvs_backup_write(kvs_store_t *st, const char *dir, const char *name,
    int level, kvs_backup_result_t *res, char *err, size_t errlen);


/* the last backup, as meta keeps it across restarts */
typedef struct {
    char      file[KVS_BACKUP_NAME_MAX];
    uint64_t  started_at;       /* ms */
    uint64_t  finished_at;      /* ms */
    uint64_t  bytes;
    uint64_t  keys;
    int       ok;
    char      error[KVS_BACKUP_ERRLEN];    /* "" when ok */
    uint64_t  ok_at;            /* the last good one's finished_at, 0:
                                   none yet */
    uint64_t  ok_bytes;         /* and its bytes */
} kvs_backup_last_t;

/* Encodes l into out (KVS_BACKUP_LAST_MAX bytes); returns the length. */
size_t kvs_backup_last_encode(const kvs_backup_last_t *l, uint8_t *out);

/* Decodes len bytes; returns 0, or -1 when they are not such a record. */
int kvs_backup_last_decode(const uint8_t *p, size_t len,
    kvs_backup_last_t *l);

#endif /* KVS_BACKUP_H */
