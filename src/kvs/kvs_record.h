/*
 * Records, versions and keys: the vocabulary every other part of the store
 * speaks.
 *
 * A record is what LMDB's "kv" database holds for one key: a fixed header
 * followed by the value (the client's JSON bytes, or later a zstd frame of
 * them).  The header is encoded byte by byte in little-endian order, never
 * by copying a C struct, so a data directory means the same thing on every
 * compiler and every architecture.  A version is (timestamp_ms, uuid); one
 * function compares versions and every path that decides "which is newer"
 * calls it.
 */

#ifndef KVS_RECORD_H
#define KVS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define KVS_RECORD_FORMAT       1
#define KVS_RECORD_HDR_SIZE     88

#define KVS_FLAG_TOMBSTONE      0x01
#define KVS_FLAG_COMPRESSED     0x02  /* the value is a zstd frame */
#define KVS_FLAG_EXPIRED        0x04  /* past expires_at, value dropped by
                                         the TTL sweep */

#define KVS_UUID_LEN            16
#define KVS_UUID_STR_LEN        36

#define KVS_KEY_MAX             1024

/* namespaces of the one replicated keyspace */
#define KVS_NS_DATA             'd'
#define KVS_NS_USER             'u'
#define KVS_NS_GROUP            'g'
#define KVS_NS_TOKEN            't'

/* a new key's permissions when no configuration gives them (kvs_acl.h):
 * the owner may do all, group and others read: "f11" */
#define KVS_DEFAULT_PERMISSIONS 0xf11


typedef struct {
    uint64_t  timestamp;                 /* ms since the epoch */
    uint8_t   uuid[KVS_UUID_LEN];
} kvs_version_t;


typedef struct {
    uint8_t        format;
    uint8_t        flags;                /* KVS_FLAG_* */
    uint16_t       permissions;          /* 12 bits, owner/group/other */
    kvs_version_t  version;
    uint64_t       created_at;           /* ms, first write of the key */
    uint64_t       expires_at;           /* ms, 0 = never */
    uint8_t        owner[KVS_UUID_LEN];  /* all zero = no owner */
    uint8_t        group[KVS_UUID_LEN];
    uint32_t       value_len;            /* bytes stored after the header */
    uint32_t       raw_len;              /* JSON bytes the value decodes to */
    uint16_t       key_len;              /* bytes of the full path stored
                                            before the value, when the LMDB
                                            key is a digest of a long path */
} kvs_record_hdr_t;


void kvs_record_encode(const kvs_record_hdr_t *hdr, uint8_t *out);

/* Returns 0, or -1 when the bytes are not a record of a format this build
 * reads (too short, unknown format, value length past the end). */
int kvs_record_decode(kvs_record_hdr_t *hdr, const uint8_t *in, size_t len);

/* <0, 0, >0 as a is older than, the same as, or newer than b. */
int kvs_version_cmp(const kvs_version_t *a, const kvs_version_t *b);

/*
 * What an incoming version does to the one held (NULL: none): the newer
 * timestamp wins; the same version changes nothing; the same timestamp
 * with another uuid is a conflict, which the cluster agent resolves.
 * Push replication, anti-entropy and bootstrap all ask this function.
 */
typedef enum {
    KVS_VERSION_NEWER = 0,
    KVS_VERSION_OLDER,
    KVS_VERSION_SAME,
    KVS_VERSION_CONFLICT
} kvs_version_verdict_e;

/*
 * Whether a record holds a value a reader may see at now_ms: not a
 * tombstone, and not past its expiry.  Expiry is an absolute time, so an
 * expired record reads as gone at once on every node alike, before any
 * sweep has touched it.
 */
int kvs_record_live(const kvs_record_hdr_t *hdr, uint64_t now_ms);

/*
 * Whether a decoded header is one of the four states a record can be in:
 * live with its JSON as is (value_len == raw_len), live compressed (a zstd
 * frame of raw_len bytes), a tombstone, or swept by the TTL sweep (its
 * value dropped); both of the last two hold no value.  Returns NULL, or a
 * static sentence saying what disagrees.  Readers ask it before they size
 * a buffer by raw_len.
 */
const char *kvs_record_check(const kvs_record_hdr_t *hdr);

kvs_version_verdict_e kvs_version_decide(const kvs_version_t *held,
    const kvs_version_t *incoming);

void kvs_uuid_generate(uint8_t *uuid);
void kvs_uuid_format(const uint8_t *uuid, char *out);   /* 36 chars, no NUL */
int kvs_uuid_parse(uint8_t *uuid, const char *in, size_t len);

/* Checks a key path; returns NULL when valid, or a static sentence saying
 * what is wrong with it. */
const char *kvs_key_check(const char *path, size_t len);

void kvs_put_u16(uint8_t *p, uint16_t v);
void kvs_put_u32(uint8_t *p, uint32_t v);
void kvs_put_u64(uint8_t *p, uint64_t v);
void kvs_put_be64(uint8_t *p, uint64_t v);
uint16_t kvs_get_u16(const uint8_t *p);
uint32_t kvs_get_u32(const uint8_t *p);
uint64_t kvs_get_u64(const uint8_t *p);
uint64_t kvs_get_be64(const uint8_t *p);

#endif /* KVS_RECORD_H */
