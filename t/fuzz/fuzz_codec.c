/*
 * kvs_codec_declares() and kvs_codec_decompress(): the zstd frame of a
 * compressed value, from LMDB or from a peer.  A frame is decompressed
 * into a buffer of exactly the size it declares, and is refused by one a
 * byte short; it passes kvs_codec_declares() for its own size alone; and
 * what decompresses, compressed again, comes back as itself.  libzstd is
 * Debian's, not instrumented: ASan watches kvs_codec.c and the libc calls,
 * and coverage counts kvs_codec.c only.
 */

#include <string.h>

#include <zstd.h>

#include "kvs_codec.h"
#include "kvs_fuzz.h"


/* a frame may declare up to 2^64 bytes; more than this is not allocated */
#define KVS_FUZZ_RAW_MAX  (1024 * 1024)


static void
kvs_fuzz_round_trip(const uint8_t *src, size_t len)
{
    size_t    cap, n;
    uint8_t  *frame, *back;

    cap = kvs_codec_bound(len);
    frame = malloc(cap);
    back = malloc(len + 1);
    FUZZ_CHECK(frame != NULL && back != NULL, "memory");

    n = kvs_codec_compress(frame, cap, src, len, KVS_CODEC_LEVEL_MIN);

    if (n > 0) {
        FUZZ_CHECK(n < len, "a frame kept is smaller than its content");
        FUZZ_CHECK(kvs_codec_declares(frame, n, len) == 0,
                   "a frame made declares its content's size");
        FUZZ_CHECK(kvs_codec_decompress(back, len, frame, n) == 0
                   && memcmp(back, src, len) == 0,
                   "a frame made decompresses to its content");
    }

    free(frame);
    free(back);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                 rc;
    uint8_t            *raw;
    unsigned long long  declared;

    declared = ZSTD_getFrameContentSize(data, size);

    if (declared > KVS_FUZZ_RAW_MAX) {
        /* unknown, an error, or too large to try: the frame passes for
         * no other size, the input's own for one */
        if (declared != size) {
            FUZZ_CHECK(kvs_codec_declares(data, size, size) != 0,
                       "a frame passes only for the size it declares");

            raw = malloc(size + 1);
            FUZZ_CHECK(raw != NULL, "memory");
            FUZZ_CHECK(kvs_codec_decompress(raw, size, data, size) != 0,
                       "a frame decompresses only to the size it "
                       "declares");
            free(raw);
        }

        kvs_fuzz_round_trip(data, size);
        return 0;
    }

    FUZZ_CHECK(kvs_codec_declares(data, size, declared) == 0,
               "a frame declaring n bytes passes for n");
    FUZZ_CHECK(kvs_codec_declares(data, size, declared + 1) != 0,
               "a frame declaring n bytes does not pass for n + 1");

    /* a byte at least: malloc(0) may give NULL */
    raw = malloc(declared > 0 ? declared : 1);
    FUZZ_CHECK(raw != NULL, "memory");

    rc = kvs_codec_decompress(raw, declared, data, size);

    if (rc == 0) {
        kvs_fuzz_round_trip(raw, declared);
    }

    free(raw);

    if (declared > 0) {
        raw = malloc(declared - 1 > 0 ? declared - 1 : 1);
        FUZZ_CHECK(raw != NULL, "memory");
        FUZZ_CHECK(kvs_codec_decompress(raw, declared - 1, data, size) != 0,
                   "a frame is refused by a buffer a byte short");
        free(raw);
    }

    kvs_fuzz_round_trip(data, size);

    return 0;
}
