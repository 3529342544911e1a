/*
 * kvs_wire_next() and kvs_wire_check(): a peer's batch, the body of
 * /_cluster/apply and the answer of /_cluster/fetch.  The walk never
 * moves past the batch's end or backwards, its entries tile the bytes it
 * passed, and a refusal leaves the cursor where it was.  A record the
 * check takes is one this build could have written: kvs_record_check()
 * passes it, a value stored as is has value_len == raw_len and is JSON, a
 * compressed one is a zstd frame declaring raw_len, a long key's record
 * carries that key; and decompressing it stays inside a buffer of raw_len.
 */

#include <string.h>

#include "kvs_codec.h"
#include "kvs_json.h"
#include "kvs_wire.h"
#include "kvs_fuzz.h"


#define KVS_FUZZ_RAW_MAX  (1024 * 1024)


static void
kvs_fuzz_entry_taken(const kvs_wire_entry_t *e, const kvs_record_hdr_t *hdr)
{
    size_t            at;
    uint8_t          *raw, mine[KVS_RECORD_HDR_SIZE];
    uint8_t           theirs[KVS_RECORD_HDR_SIZE];
    const char       *why;
    const uint8_t    *value;
    kvs_record_hdr_t  again;

    /* compared encoded: a struct's padding is not part of it */
    FUZZ_CHECK(kvs_record_decode(&again, e->record, e->record_len) == 0,
               "a record taken decodes");
    kvs_record_encode(&again, mine);
    kvs_record_encode(hdr, theirs);
    FUZZ_CHECK(hdr->format == again.format
               && memcmp(mine, theirs, sizeof(mine)) == 0,
               "a record taken decodes to the header the check gave");
    FUZZ_CHECK(kvs_record_check(hdr) == NULL,
               "a record taken passes kvs_record_check()");
    FUZZ_CHECK(KVS_RECORD_HDR_SIZE + (size_t) hdr->key_len + hdr->value_len
               == e->record_len, "a record taken fills its entry");
    FUZZ_CHECK(hdr->value_len <= KVS_WIRE_VALUE_MAX
               && hdr->raw_len <= KVS_WIRE_VALUE_MAX,
               "a record taken is within the protocol's limit");
    FUZZ_CHECK(hdr->version.timestamp <= KVS_FUZZ_NOW + KVS_WIRE_AHEAD_MAX,
               "a record taken is stamped at most an hour ahead");
    FUZZ_CHECK(hdr->permissions <= 07777,
               "a record taken has 12 bits of permissions");
    FUZZ_CHECK(hdr->key_len == 0
               || (hdr->key_len == e->path_len
                   && memcmp(e->record + KVS_RECORD_HDR_SIZE, e->path,
                             e->path_len) == 0),
               "a record taken carries no path, or its own");

    value = e->record + KVS_RECORD_HDR_SIZE + hdr->key_len;

    if (hdr->flags & (KVS_FLAG_TOMBSTONE|KVS_FLAG_EXPIRED)) {
        FUZZ_CHECK(hdr->value_len == 0 && hdr->raw_len == 0,
                   "a tombstone or a swept record taken holds no value");
        return;
    }

    if (!(hdr->flags & KVS_FLAG_COMPRESSED)) {
        FUZZ_CHECK(hdr->value_len == hdr->raw_len,
                   "a record taken uncompressed has value_len == raw_len");
        FUZZ_CHECK(kvs_json_check(value, hdr->value_len, &at, &why) == 0,
                   "a record taken uncompressed holds JSON");
        return;
    }

    FUZZ_CHECK(kvs_codec_declares(value, hdr->value_len, hdr->raw_len) == 0,
               "a record taken compressed declares raw_len");

    if (hdr->raw_len <= KVS_FUZZ_RAW_MAX) {
        raw = malloc(hdr->raw_len);
        FUZZ_CHECK(raw != NULL, "memory");

        (void) kvs_codec_decompress(raw, hdr->raw_len, value, hdr->value_len);
        free(raw);
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                rc;
    const char        *why;
    const uint8_t     *p, *before, *end;
    kvs_record_hdr_t   hdr;
    kvs_wire_entry_t   e;

    p = data;
    end = data + size;

    for ( ;; ) {
        before = p;
        why = NULL;

        rc = kvs_wire_next(&p, end, &e, &why);

        if (rc == 0) {
            FUZZ_CHECK(p == end && before == end,
                       "a batch ends only at its end");
            break;
        }

        if (rc == -1) {
            FUZZ_CHECK(p == before, "a refused entry leaves the cursor");
            FUZZ_CHECK(why != NULL && why[0] != '\0', "a refusal says why");
            break;
        }

        FUZZ_CHECK(rc == 1, "kvs_wire_next() returns 1, 0 or -1");
        FUZZ_CHECK(p > before && p <= end,
                   "an entry moves the cursor forward, not past the end");
        FUZZ_CHECK((const uint8_t *) e.path == before + 3
                   && e.record == before + 7 + e.path_len
                   && e.record + e.record_len == p,
                   "an entry's path and record tile the bytes it passed");
        FUZZ_CHECK(e.ns == KVS_NS_DATA || e.ns == KVS_NS_USER
                   || e.ns == KVS_NS_GROUP || e.ns == KVS_NS_TOKEN,
                   "an entry's namespace is one of the four");
        FUZZ_CHECK(kvs_key_check(e.path, e.path_len) == NULL,
                   "an entry's path is a valid key");

        why = kvs_wire_check(&e, KVS_FUZZ_NOW, &hdr);

        if (why == NULL) {
            kvs_fuzz_entry_taken(&e, &hdr);

        } else {
            FUZZ_CHECK(why[0] != '\0', "a refusal says why");
        }
    }

    return 0;
}
