/*
 * The framing of what peers send each other, both ways, and the check of
 * a peer's record; see kvs_wire.h for the idea.
 */

#include <string.h>

#include "kvs_codec.h"
#include "kvs_json.h"
#include "kvs_wire.h"


/* the namespace byte and the path's length */
#define KVS_WIRE_KEY_HDR      3
#define KVS_WIRE_VERSION_LEN  (8 + KVS_UUID_LEN + 1)


/* what follows the key in a form, and what its refusals call an entry */
typedef struct {
    size_t       tail;                   /* bytes that always follow */
    const char  *cut;
    const char  *unknown_ns;
} kvs_wire_form_t;


static int kvs_wire_fixed_next(const uint8_t **p, const uint8_t *end,
    const kvs_wire_form_t *form, kvs_wire_entry_t *e, const char **why);
static int kvs_wire_key_read(const uint8_t **p, const uint8_t *end,
    const kvs_wire_form_t *form, kvs_wire_entry_t *e, const char **why);
static int kvs_wire_key_valid(const kvs_wire_entry_t *e,
    const kvs_wire_form_t *form, const char **why);


static const kvs_wire_form_t  kvs_wire_record = {
    4, "a record is cut short", "a record has an unknown namespace"
};

static const kvs_wire_form_t  kvs_wire_key = {
    0, "a key is cut short", "a key has an unknown namespace"
};

static const kvs_wire_form_t  kvs_wire_version = {
    KVS_WIRE_VERSION_LEN, "a key is cut short",
    "a key has an unknown namespace"
};


size_t
kvs_wire_size(const kvs_wire_entry_t *e)
{
    return KVS_WIRE_KEY_HDR + e->path_len + 4 + e->record_len;
}


uint8_t *
kvs_wire_put(uint8_t *p, const kvs_wire_entry_t *e)
{
    p = kvs_wire_key_put(p, e);
    kvs_put_u32(p, (uint32_t) e->record_len);
    memcpy(p + 4, e->record, e->record_len);

    return p + 4 + e->record_len;
}


size_t
kvs_wire_key_size(const kvs_wire_entry_t *e)
{
    return KVS_WIRE_KEY_HDR + e->path_len;
}


uint8_t *
kvs_wire_key_put(uint8_t *p, const kvs_wire_entry_t *e)
{
    p[0] = (uint8_t) e->ns;
    kvs_put_u16(p + 1, (uint16_t) e->path_len);
    memcpy(p + KVS_WIRE_KEY_HDR, e->path, e->path_len);

    return p + KVS_WIRE_KEY_HDR + e->path_len;
}


size_t
kvs_wire_version_size(const kvs_wire_entry_t *e)
{
    return KVS_WIRE_KEY_HDR + e->path_len + KVS_WIRE_VERSION_LEN;
}


uint8_t *
kvs_wire_version_put(uint8_t *p, const kvs_wire_entry_t *e)
{
    p = kvs_wire_key_put(p, e);
    kvs_put_be64(p, e->version.timestamp);
    memcpy(p + 8, e->version.uuid, KVS_UUID_LEN);
    p[8 + KVS_UUID_LEN] = e->flags;

    return p + KVS_WIRE_VERSION_LEN;
}


int
kvs_wire_next(const uint8_t **p, const uint8_t *end, kvs_wire_entry_t *e,
    const char **why)
{
    int             rc;
    size_t          rlen;
    const uint8_t  *q;

    q = *p;

    rc = kvs_wire_key_read(&q, end, &kvs_wire_record, e, why);
    if (rc <= 0) {
        return rc;
    }

    rlen = kvs_get_u32(q);
    q += 4;

    if ((size_t) (end - q) < rlen) {
        *why = kvs_wire_record.cut;
        return -1;
    }

    if (kvs_wire_key_valid(e, &kvs_wire_record, why) != 0) {
        return -1;
    }

    e->record = q;
    e->record_len = rlen;
    *p = q + rlen;

    return 1;
}


int
kvs_wire_key_next(const uint8_t **p, const uint8_t *end,
    kvs_wire_entry_t *e, const char **why)
{
    return kvs_wire_fixed_next(p, end, &kvs_wire_key, e, why);
}


int
kvs_wire_version_next(const uint8_t **p, const uint8_t *end,
    kvs_wire_entry_t *e, const char **why)
{
    int             rc;
    const uint8_t  *q;

    rc = kvs_wire_fixed_next(p, end, &kvs_wire_version, e, why);

    if (rc == 1) {
        q = *p - KVS_WIRE_VERSION_LEN;
        e->version.timestamp = kvs_get_be64(q);
        memcpy(e->version.uuid, q + 8, KVS_UUID_LEN);
        e->flags = q[8 + KVS_UUID_LEN];
    }

    return rc;
}


/* an entry of a form of a fixed size: the key checked, *p past the entry */

static int
kvs_wire_fixed_next(const uint8_t **p, const uint8_t *end,
    const kvs_wire_form_t *form, kvs_wire_entry_t *e, const char **why)
{
    int             rc;
    const uint8_t  *q;

    q = *p;

    rc = kvs_wire_key_read(&q, end, form, e, why);
    if (rc <= 0) {
        return rc;
    }

    if (kvs_wire_key_valid(e, form, why) != 0) {
        return -1;
    }

    *p = q + form->tail;

    return 1;
}


/*
 * The key at *p, followed by the bytes its form always has: 1 with *p past
 * the path, 0 at the end, -1 when cut short.  The key is judged only once
 * every length is known to lie within the bytes, so that what is cut
 * short is said to be, whatever else is wrong with it.
 */

static int
kvs_wire_key_read(const uint8_t **p, const uint8_t *end,
    const kvs_wire_form_t *form, kvs_wire_entry_t *e, const char **why)
{
    size_t          plen;
    const uint8_t  *q;

    q = *p;

    if (q == end) {
        return 0;
    }

    if (end - q < KVS_WIRE_KEY_HDR) {
        *why = form->cut;
        return -1;
    }

    plen = kvs_get_u16(q + 1);

    if ((size_t) (end - q) - KVS_WIRE_KEY_HDR < plen + form->tail) {
        *why = form->cut;
        return -1;
    }

    e->ns = (char) q[0];
    e->path = (const char *) q + KVS_WIRE_KEY_HDR;
    e->path_len = plen;
    *p = q + KVS_WIRE_KEY_HDR + plen;

    return 1;
}


static int
kvs_wire_key_valid(const kvs_wire_entry_t *e, const kvs_wire_form_t *form,
    const char **why)
{
    if (e->ns != KVS_NS_DATA && e->ns != KVS_NS_USER
        && e->ns != KVS_NS_GROUP && e->ns != KVS_NS_TOKEN)
    {
        *why = form->unknown_ns;
        return -1;
    }

    *why = kvs_key_check(e->path, e->path_len);

    return *why == NULL ? 0 : -1;
}


void
kvs_wire_bucket_put(uint8_t *p, uint16_t bucket)
{
    p[0] = (uint8_t) (bucket >> 8);
    p[1] = (uint8_t) bucket;
}


int
kvs_wire_bucket_get(const uint8_t *p, size_t len, uint16_t *bucket)
{
    if (len != KVS_WIRE_BUCKET_LEN) {
        return -1;
    }

    *bucket = (uint16_t) (p[0] << 8 | p[1]);

    return 0;
}


const char *
kvs_wire_check(const kvs_wire_entry_t *e, uint64_t now_ms,
    kvs_record_hdr_t *hdr)
{
    size_t          at;
    const char     *why;
    const uint8_t  *value;

    if (kvs_record_decode(hdr, e->record, e->record_len) != 0) {
        return "it is not a record of a format this build reads";
    }

    why = kvs_record_check(hdr);
    if (why != NULL) {
        return why;
    }

    if (hdr->value_len > KVS_WIRE_VALUE_MAX
        || hdr->raw_len > KVS_WIRE_VALUE_MAX)
    {
        return "its value is over the protocol's limit of 1 GiB";
    }

    /* far enough below the wrap that a local overwrite, which takes the
     * held timestamp + 1, can never come near it */
    if (hdr->version.timestamp > now_ms + KVS_WIRE_AHEAD_MAX) {
        return "its version is stamped more than an hour ahead of this "
               "node's clock";
    }

    if (hdr->permissions > 07777) {
        return "its permissions are more than 12 bits";
    }

    /* the path of a long key travels in the record: it must be this key */
    if (hdr->key_len != 0
        && (hdr->key_len != e->path_len
            || memcmp(e->record + KVS_RECORD_HDR_SIZE, e->path,
                      e->path_len) != 0))
    {
        return "the path it carries is not the key it is sent for";
    }

    value = e->record + KVS_RECORD_HDR_SIZE + hdr->key_len;

    if (hdr->flags & KVS_FLAG_COMPRESSED) {
        if (kvs_codec_declares(value, hdr->value_len, hdr->raw_len) != 0) {
            return "its compressed value is not a zstd frame of its length";
        }

    } else if (!(hdr->flags & (KVS_FLAG_TOMBSTONE|KVS_FLAG_EXPIRED))
               && kvs_json_check(value, hdr->value_len, &at, &why) != 0)
    {
        return "its value is not valid JSON";
    }

    return NULL;
}
