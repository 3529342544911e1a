/*
 * What peers send each other: batches of records, and the check every
 * record from a peer passes before anything stores it.
 *
 * A batch (the body of /_cluster/apply, the answer of /_cluster/fetch) is a
 * run of entries: the namespace byte, the path's length (2 bytes,
 * little-endian) and bytes, the record's length (4 bytes) and the record
 * whole, as kvs_store_changes() gives it.  A record from a peer is bytes a
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


typedef struct {
    char            ns;
    const char     *path;
    size_t          path_len;
    const uint8_t  *record;
    size_t          record_len;
} kvs_wire_entry_t;


/*
 * The next entry of a batch at *p (up to end), which it passes: 1 with e
 * filled, 0 at the end of the batch, or -1 with a static sentence in *why
 * when the entry is cut short, names an unknown namespace or a path that
 * is not a valid key.
 */
int kvs_wire_next(const uint8_t **p, const uint8_t *end, kvs_wire_entry_t *e,
    const char **why);

/*
 * Checks a peer's record of a path at now_ms (this node's clock).  Returns
 * NULL with hdr decoded, or a static sentence saying what is wrong.
 */
const char *kvs_wire_check(const kvs_wire_entry_t *e, uint64_t now_ms,
    kvs_record_hdr_t *hdr);

#endif /* KVS_WIRE_H */
