/*
 * Merkle buckets: every key hashes into one of 65,536 buckets, and a
 * bucket's digest is the XOR of the digests of its records' versions.  XOR
 * lets a write replace its old digest with its new one in O(1), inside the
 * write's own transaction, so the tree anti-entropy compares is always
 * exactly the data on disk.
 */

#ifndef KVS_MERKLE_H
#define KVS_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "kvs_record.h"

#define KVS_MERKLE_BUCKETS      65536
#define KVS_MERKLE_DIGEST_LEN   16

/*
 * Anti-entropy sends the first 8 bytes of each range and bucket digest:
 * half the bytes, and two digests that differ agree on 8 bytes once in
 * 2^64 comparisons.
 */
#define KVS_MERKLE_WIRE_LEN     8

uint16_t kvs_merkle_bucket(char ns, const char *path, size_t len);

/* digest of one record version: namespace, path, version and whether it
 * is a tombstone (the other flags are this node's own business) */
void kvs_merkle_digest(uint8_t *out, char ns, const char *path, size_t len,
    const kvs_version_t *v, uint8_t flags);

void kvs_merkle_xor(uint8_t *acc, const uint8_t *digest);

#endif /* KVS_MERKLE_H */
