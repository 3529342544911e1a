/*
 * What peers send each other: batches of records, the keys anti-entropy
 * compares and asks for, and the check every record from a peer passes
 * before anything stores it.  Every byte of the framing is written and
 * read here, and nowhere else, so that a key from a peer is checked once,
 * in one place, whichever exchange carries it.
 *
 * Every entry starts with a key: the namespace byte, the path's length (2
 * bytes, little-endian) and the path.  Three forms follow from it:
 *
 *   key       nothing more: what /_cluster/fetch asks for
 *   version   the timestamp (8 bytes, big-endian), the uuid (16) and the
 *             record's flags (1): a key of a /_cluster/keys answer
 *   record    the record's length (4 bytes, little-endian) and the record
 *             whole, as kvs_store_changes() gives it: an entry of a batch,
 *             the body of /_cluster/apply and the answer of /_cluster/fetch
 *
 * A Merkle bucket travels as 2 bytes, big-endian (the body of
 * /_cluster/keys).  A record from a peer is bytes a
 * signed but possibly broken node produced, so it is held to what this
 * build itself could have written: one of the four states of a record,
 * with lengths that agree, a value of valid JSON, sizes within the
 * protocol's limit and a timestamp this node's clock can reach.  The limit
 * is the protocol's, the same on every node, not the local max_json_size:
 * a record one node took and another refused would be pulled by
 * anti-entropy forever.
 */

#ifndef KVS_WIRE_H
#define KVS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "kvs_record.h"

/* the largest value (raw JSON, or its zstd frame) any node stores: the
 * largest max_json_size a configuration may set */
#define KVS_WIRE_VALUE_MAX  (1024 * 1024 * 1024)

/* how far ahead of this node's clock a peer's version may be stamped, so
 * that no stored timestamp ever comes near the wrap of its 64 bits */
#define KVS_WIRE_AHEAD_MAX  (3600 * 1000)


/* the bytes of a bucket number */
#define KVS_WIRE_BUCKET_LEN  2


/* one entry of any form; a form uses the fields it carries */
typedef struct {
    char            ns;
    const char     *path;
    size_t          path_len;            /* at most KVS_KEY_MAX */
    const uint8_t  *record;              /* record */
    size_t          record_len;
    kvs_version_t   version;             /* version */
    uint8_t         flags;
} kvs_wire_entry_t;


/*
 * The bytes an entry of each form takes, and its encoding at p, which has
 * room for that many; put returns the end of what it wrote.  The entry's
 * path is a key of this node, so its length fits the framing.
 */
size_t kvs_wire_size(const kvs_wire_entry_t *e);
uint8_t *kvs_wire_put(uint8_t *p, const kvs_wire_entry_t *e);
size_t kvs_wire_key_size(const kvs_wire_entry_t *e);
uint8_t *kvs_wire_key_put(uint8_t *p, const kvs_wire_entry_t *e);
size_t kvs_wire_version_size(const kvs_wire_entry_t *e);
uint8_t *kvs_wire_version_put(uint8_t *p, const kvs_wire_entry_t *e);

/*
 * The next entry of a batch at *p (up to end), which it passes: 1 with e
 * filled, 0 at the end of the batch, or -1 with a static sentence in *why
 * when the entry is cut short, names an unknown namespace or a path that
 * is not a valid key.
 */
int kvs_wire_next(const uint8_t **p, const uint8_t *end, kvs_wire_entry_t *e,
    const char **why);

/* The same for the key form and the version form. */
int kvs_wire_key_next(const uint8_t **p, const uint8_t *end,
    kvs_wire_entry_t *e, const char **why);
int kvs_wire_version_next(const uint8_t **p, const uint8_t *end,
    kvs_wire_entry_t *e, const char **why);

/* A bucket number at p, and back: -1 when len is not KVS_WIRE_BUCKET_LEN. */
void kvs_wire_bucket_put(uint8_t *p, uint16_t bucket);
int kvs_wire_bucket_get(const uint8_t *p, size_t len, uint16_t *bucket);

/*
 * Checks a peer's record of a path at now_ms (this node's clock).  Returns
 * NULL with hdr decoded, or a static sentence saying what is wrong.
 */
const char *kvs_wire_check(const kvs_wire_entry_t *e, uint64_t now_ms,
    kvs_record_hdr_t *hdr);

#endif /* KVS_WIRE_H */
