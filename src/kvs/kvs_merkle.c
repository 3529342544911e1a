/*
 * Merkle buckets; see kvs_merkle.h.  SHA-256 keeps bucket placement uniform
 * whatever the key names look like, and keeps two different versions from
 * cancelling out in a bucket's XOR by accident.
 */

#include <string.h>
#include <openssl/sha.h>

#include "kvs_crypto.h"
#include "kvs_merkle.h"


/* namespace byte, path, then (for a digest) the version and flags */
static size_t
kvs_merkle_input(uint8_t *buf, char ns, const char *path, size_t len)
{
    buf[0] = (uint8_t) ns;
    memcpy(buf + 1, path, len);

    return 1 + len;
}


uint16_t
kvs_merkle_bucket(char ns, const char *path, size_t len)
{
    uint8_t  md[SHA256_DIGEST_LENGTH], buf[1 + KVS_KEY_MAX];

    /* kvs_sha256() fails only without SHA-256 in OpenSSL, and then nginx
     * does not start (ngx_http_kvs_init_module) */
    (void) kvs_sha256(buf, kvs_merkle_input(buf, ns, path, len), md);

    return (uint16_t) (md[0] << 8 | md[1]);
}


void
kvs_merkle_digest(uint8_t *out, char ns, const char *path, size_t len,
    const kvs_version_t *v, uint8_t flags)
{
    size_t   n;
    uint8_t  md[SHA256_DIGEST_LENGTH];
    uint8_t  buf[1 + KVS_KEY_MAX + 8 + KVS_UUID_LEN + 1];

    n = kvs_merkle_input(buf, ns, path, len);
    kvs_put_be64(buf + n, v->timestamp);
    memcpy(buf + n + 8, v->uuid, KVS_UUID_LEN);
    /* only what makes versions differ for a reader elsewhere: whether the
     * value is compressed here or already dropped by the TTL sweep is not */
    buf[n + 8 + KVS_UUID_LEN] = flags & KVS_FLAG_TOMBSTONE;

    (void) kvs_sha256(buf, n + 8 + KVS_UUID_LEN + 1, md);

    memcpy(out, md, KVS_MERKLE_DIGEST_LEN);
}


void
kvs_merkle_xor(uint8_t *acc, const uint8_t *digest)
{
    int  i;

    for (i = 0; i < KVS_MERKLE_DIGEST_LEN; i++) {
        acc[i] ^= digest[i];
    }
}
