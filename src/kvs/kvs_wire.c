/*
 * Batches of records between peers, and the check of a peer's record; see
 * kvs_wire.h for the idea.
 */

#include <string.h>

#include "kvs_codec.h"
#include "kvs_json.h"
#include "kvs_wire.h"


int
kvs_wire_next(const uint8_t **p, const uint8_t *end, kvs_wire_entry_t *e,
    const char **why)
{
    size_t          plen, rlen;
    const uint8_t  *q;

    q = *p;

    if (q == end) {
        return 0;
    }

    if (end - q < 3) {
        *why = "a record is cut short";
        return -1;
    }

    e->ns = (char) q[0];
    plen = kvs_get_u16(q + 1);
    q += 3;

    if ((size_t) (end - q) < plen + 4) {
        *why = "a record is cut short";
        return -1;
    }

    e->path = (const char *) q;
    e->path_len = plen;
    q += plen;

    rlen = kvs_get_u32(q);
    q += 4;

    if ((size_t) (end - q) < rlen) {
        *why = "a record is cut short";
        return -1;
    }

    if (e->ns != KVS_NS_DATA && e->ns != KVS_NS_USER
        && e->ns != KVS_NS_GROUP && e->ns != KVS_NS_TOKEN)
    {
        *why = "a record has an unknown namespace";
        return -1;
    }

    *why = kvs_key_check(e->path, plen);
    if (*why != NULL) {
        return -1;
    }

    e->record = q;
    e->record_len = rlen;
    *p = q + rlen;

    return 1;
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
