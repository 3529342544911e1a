/*
 * kvs_record_decode() and kvs_record_check(): the bytes LMDB hands back,
 * which a damaged file or an older build may have written.  A decoded
 * header encodes back to the bytes it came from and its lengths add up to
 * the record's; a header the check passes is in exactly one of the four
 * states of kvs_record.h; and a reader that trusts a passed header (sizes
 * its buffer by raw_len, decompresses into it) stays inside its memory.
 */

#include <string.h>

#include "kvs_codec.h"
#include "kvs_record.h"
#include "kvs_fuzz.h"


/* raw_len is up to 4 GiB; a larger one is not worth allocating per run */
#define KVS_FUZZ_RAW_MAX  (1024 * 1024)


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int               states;
    uint8_t           again[KVS_RECORD_HDR_SIZE], *raw;
    const char       *why;
    kvs_record_hdr_t  hdr;

    if (kvs_record_decode(&hdr, data, size) != 0) {
        FUZZ_CHECK(size < KVS_RECORD_HDR_SIZE
                   || data[0] != KVS_RECORD_FORMAT
                   || (size_t) kvs_get_u32(data + 4) + kvs_get_u16(data + 84)
                      != size - KVS_RECORD_HDR_SIZE,
                   "a record refused is short, of another format or of "
                   "other lengths");
        return 0;
    }

    FUZZ_CHECK(KVS_RECORD_HDR_SIZE + (size_t) hdr.key_len + hdr.value_len
               == size, "a decoded record's lengths add up to its size");

    /* the last two bytes are reserved, and not read */
    kvs_record_encode(&hdr, again);
    FUZZ_CHECK(memcmp(again, data, KVS_RECORD_HDR_SIZE - 2) == 0,
               "a decoded header encodes back to its bytes");

    why = kvs_record_check(&hdr);

    if (why != NULL) {
        FUZZ_CHECK(why[0] != '\0', "a refusal says why");
        return 0;
    }

    states = (hdr.flags == KVS_FLAG_TOMBSTONE
              && hdr.value_len == 0 && hdr.raw_len == 0)
             + (hdr.flags == KVS_FLAG_EXPIRED
                && hdr.value_len == 0 && hdr.raw_len == 0
                && hdr.expires_at != 0)
             + (hdr.flags == KVS_FLAG_COMPRESSED
                && hdr.value_len > 0 && hdr.raw_len > 0)
             + (hdr.flags == 0 && hdr.value_len == hdr.raw_len);

    FUZZ_CHECK(states == 1, "a record passed is in one of the four states");

    if (hdr.flags & (KVS_FLAG_TOMBSTONE|KVS_FLAG_EXPIRED)) {
        FUZZ_CHECK(!kvs_record_live(&hdr, KVS_FUZZ_NOW),
                   "a tombstone or a swept record is not live");
    }

    if (hdr.flags == KVS_FLAG_COMPRESSED && hdr.raw_len <= KVS_FUZZ_RAW_MAX) {
        raw = malloc(hdr.raw_len);
        FUZZ_CHECK(raw != NULL, "memory");

        (void) kvs_codec_decompress(raw, hdr.raw_len,
                                    data + KVS_RECORD_HDR_SIZE + hdr.key_len,
                                    hdr.value_len);
        free(raw);
    }

    return 0;
}
