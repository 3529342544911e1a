/*
 * Records, versions and keys; see kvs_record.h for the idea.
 *
 * Header layout (88 bytes, little-endian):
 *
 *   0 format      1 flags       2 permissions(2)   4 value_len(4)
 *   8 timestamp(8)             16 uuid(16)
 *  32 created_at(8)            40 expires_at(8)
 *  48 owner(16)                64 group(16)
 *  80 raw_len(4)               84 key_len(2)  86 reserved(2), zero
 *
 * then key_len bytes of path (see kvs_store.c), then value_len bytes.
 */

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvs_crypto.h"
#include "kvs_json.h"
#include "kvs_record.h"


void
kvs_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t) v;
    p[1] = (uint8_t) (v >> 8);
}


void
kvs_put_u32(uint8_t *p, uint32_t v)
{
    kvs_put_u16(p, (uint16_t) v);
    kvs_put_u16(p + 2, (uint16_t) (v >> 16));
}


void
kvs_put_u64(uint8_t *p, uint64_t v)
{
    kvs_put_u32(p, (uint32_t) v);
    kvs_put_u32(p + 4, (uint32_t) (v >> 32));
}


void
kvs_put_be64(uint8_t *p, uint64_t v)
{
    int  i;

    for (i = 7; i >= 0; i--) {
        p[i] = (uint8_t) v;
        v >>= 8;
    }
}


uint16_t
kvs_get_u16(const uint8_t *p)
{
    return (uint16_t) (p[0] | (p[1] << 8));
}


uint32_t
kvs_get_u32(const uint8_t *p)
{
    return kvs_get_u16(p) | ((uint32_t) kvs_get_u16(p + 2) << 16);
}


uint64_t
kvs_get_u64(const uint8_t *p)
{
    return kvs_get_u32(p) | ((uint64_t) kvs_get_u32(p + 4) << 32);
}


uint64_t
kvs_get_be64(const uint8_t *p)
{
    int       i;
    uint64_t  v;

    v = 0;

    for (i = 0; i < 8; i++) {
        v = (v << 8) | p[i];
    }

    return v;
}


void
kvs_record_encode(const kvs_record_hdr_t *hdr, uint8_t *out)
{
    out[0] = KVS_RECORD_FORMAT;
    out[1] = hdr->flags;
    kvs_put_u16(out + 2, hdr->permissions);
    kvs_put_u32(out + 4, hdr->value_len);
    kvs_put_u64(out + 8, hdr->version.timestamp);
    memcpy(out + 16, hdr->version.uuid, KVS_UUID_LEN);
    kvs_put_u64(out + 32, hdr->created_at);
    kvs_put_u64(out + 40, hdr->expires_at);
    memcpy(out + 48, hdr->owner, KVS_UUID_LEN);
    memcpy(out + 64, hdr->group, KVS_UUID_LEN);
    kvs_put_u32(out + 80, hdr->raw_len);
    kvs_put_u16(out + 84, hdr->key_len);
    kvs_put_u16(out + 86, 0);
}


int
kvs_record_decode(kvs_record_hdr_t *hdr, const uint8_t *in, size_t len)
{
    if (len < KVS_RECORD_HDR_SIZE || in[0] != KVS_RECORD_FORMAT) {
        return -1;
    }

    hdr->format = in[0];
    hdr->flags = in[1];
    hdr->permissions = kvs_get_u16(in + 2);
    hdr->value_len = kvs_get_u32(in + 4);
    hdr->version.timestamp = kvs_get_u64(in + 8);
    memcpy(hdr->version.uuid, in + 16, KVS_UUID_LEN);
    hdr->created_at = kvs_get_u64(in + 32);
    hdr->expires_at = kvs_get_u64(in + 40);
    memcpy(hdr->owner, in + 48, KVS_UUID_LEN);
    memcpy(hdr->group, in + 64, KVS_UUID_LEN);
    hdr->raw_len = kvs_get_u32(in + 80);
    hdr->key_len = kvs_get_u16(in + 84);

    if ((size_t) hdr->value_len + hdr->key_len != len - KVS_RECORD_HDR_SIZE) {
        return -1;
    }

    return 0;
}


int
kvs_version_cmp(const kvs_version_t *a, const kvs_version_t *b)
{
    if (a->timestamp != b->timestamp) {
        return a->timestamp < b->timestamp ? -1 : 1;
    }

    return memcmp(a->uuid, b->uuid, KVS_UUID_LEN);
}


/*
 * Random (version 4) uuids.  A buffer of random bytes (kvs_random()) is
 * refilled rarely, so a write costs a copy rather than a call into
 * OpenSSL; each thread of each process fills its own.  A forked child,
 * whose one thread holds a copy of its parent's buffer, empties it
 * (pthread_atfork), so that no two processes share a uuid: not a
 * getpid() a uuid.
 */

static __thread uint8_t  kvs_uuid_pool[4096];
static __thread size_t   kvs_uuid_left;
static pthread_once_t    kvs_uuid_once = PTHREAD_ONCE_INIT;


static void
kvs_uuid_forked(void)
{
    kvs_uuid_left = 0;
}


static void
kvs_uuid_init(void)
{
    /* without the handler, a child would repeat its parent's uuids: no
     * uuid at all is better */
    if (pthread_atfork(NULL, NULL, kvs_uuid_forked) != 0) {
        abort();
    }
}


int
kvs_record_live(const kvs_record_hdr_t *hdr, uint64_t now_ms)
{
    if (hdr->flags & (KVS_FLAG_TOMBSTONE|KVS_FLAG_EXPIRED)) {
        return 0;
    }

    return hdr->expires_at == 0 || hdr->expires_at > now_ms;
}


const char *
kvs_record_check(const kvs_record_hdr_t *hdr)
{
    if (hdr->flags
        & ~(KVS_FLAG_TOMBSTONE|KVS_FLAG_COMPRESSED|KVS_FLAG_EXPIRED))
    {
        return "its flags are unknown to this build";
    }

    if (hdr->flags & KVS_FLAG_TOMBSTONE) {
        if (hdr->flags != KVS_FLAG_TOMBSTONE
            || hdr->value_len != 0 || hdr->raw_len != 0)
        {
            return "a tombstone carries a value";
        }

        return NULL;
    }

    if (hdr->flags & KVS_FLAG_EXPIRED) {
        if (hdr->flags != KVS_FLAG_EXPIRED
            || hdr->value_len != 0 || hdr->raw_len != 0
            || hdr->expires_at == 0)
        {
            return "a swept record carries a value or never expired";
        }

        return NULL;
    }

    if (hdr->flags & KVS_FLAG_COMPRESSED) {
        if (hdr->value_len == 0 || hdr->raw_len == 0) {
            return "its lengths disagree: a compressed value is empty";
        }

        return NULL;
    }

    if (hdr->value_len != hdr->raw_len) {
        return "its lengths disagree: a value stored as is has another "
               "length than its JSON";
    }

    return NULL;
}


kvs_version_verdict_e
kvs_version_decide(const kvs_version_t *held, const kvs_version_t *incoming)
{
    if (held == NULL || incoming->timestamp > held->timestamp) {
        return KVS_VERSION_NEWER;
    }

    if (incoming->timestamp < held->timestamp) {
        return KVS_VERSION_OLDER;
    }

    if (memcmp(incoming->uuid, held->uuid, KVS_UUID_LEN) == 0) {
        return KVS_VERSION_SAME;
    }

    return KVS_VERSION_CONFLICT;
}


void
kvs_uuid_generate(uint8_t *uuid)
{
    (void) pthread_once(&kvs_uuid_once, kvs_uuid_init);

    if (kvs_uuid_left < KVS_UUID_LEN) {

        /* a node that cannot make a random uuid must not make a version
         * at all: two nodes sharing a uuid would never see their
         * conflict */
        if (kvs_random(kvs_uuid_pool, sizeof(kvs_uuid_pool)) != 0) {
            abort();
        }

        kvs_uuid_left = sizeof(kvs_uuid_pool);
    }

    memcpy(uuid, kvs_uuid_pool + sizeof(kvs_uuid_pool) - kvs_uuid_left,
           KVS_UUID_LEN);
    kvs_uuid_left -= KVS_UUID_LEN;

    uuid[6] = (uuid[6] & 0x0f) | 0x40;
    uuid[8] = (uuid[8] & 0x3f) | 0x80;
}


void
kvs_uuid_format(const uint8_t *uuid, char *out)
{
    int  i;

    for (i = 0; i < KVS_UUID_LEN; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            *out++ = '-';
        }
        kvs_hex(out, &uuid[i], 1);
        out += 2;
    }
}


static int
kvs_hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


int
kvs_uuid_parse(uint8_t *uuid, const char *in, size_t len)
{
    int     hi, lo;
    size_t  i, n;

    if (len != KVS_UUID_STR_LEN) {
        return -1;
    }

    n = 0;

    for (i = 0; i < len; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (in[i] != '-') {
                return -1;
            }
            continue;
        }

        hi = kvs_hex_value(in[i]);
        lo = (i + 1 < len) ? kvs_hex_value(in[i + 1]) : -1;

        if (hi < 0 || lo < 0) {
            return -1;
        }

        uuid[n++] = (uint8_t) (hi << 4 | lo);
        i++;
    }

    return 0;
}


const char *
kvs_key_check(const char *path, size_t len)
{
    size_t  i, seg;

    if (len == 0) {
        return "the key is empty";
    }

    if (len > KVS_KEY_MAX) {
        return "the key is longer than 1024 bytes";
    }

    seg = 0;

    for (i = 0; i <= len; i++) {

        if (i == len || path[i] == '/') {
            if (i == seg) {
                return "the key has an empty segment";
            }

            if (path[seg] == '.'
                && (i - seg == 1 || (i - seg == 2 && path[seg + 1] == '.')))
            {
                return "the key has a \".\" or \"..\" segment";
            }

            seg = i + 1;
            continue;
        }

        if ((unsigned char) path[i] < 0x20 || path[i] == 0x7f) {
            return "the key contains a control character";
        }
    }

    if (kvs_json_utf8_check((const uint8_t *) path, len) != 0) {
        return "the key is not valid UTF-8";
    }

    return NULL;
}
