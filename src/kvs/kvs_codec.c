/*
 * zstd frames of values; see kvs_codec.h.
 *
 * The contexts are thread-local and live as long as their thread: nginx's
 * thread pool and its processes never end a thread that compresses while
 * the module is loaded.
 */

#include <zstd.h>

#include "kvs_codec.h"


static __thread ZSTD_CCtx  *kvs_codec_cctx;
static __thread ZSTD_DCtx  *kvs_codec_dctx;


size_t
kvs_codec_bound(size_t len)
{
    return ZSTD_compressBound(len);
}


size_t
kvs_codec_compress(uint8_t *dst, size_t cap, const uint8_t *src, size_t len,
    int level)
{
    size_t  n;

    if (level < KVS_CODEC_LEVEL_MIN || level > KVS_CODEC_LEVEL_MAX) {
        return 0;
    }

    if (kvs_codec_cctx == NULL) {
        kvs_codec_cctx = ZSTD_createCCtx();
        if (kvs_codec_cctx == NULL) {
            return 0;
        }
    }

    n = ZSTD_compressCCtx(kvs_codec_cctx, dst, cap, src, len, level);

    if (ZSTD_isError(n) || n >= len) {
        return 0;
    }

    return n;
}


int
kvs_codec_declares(const uint8_t *src, size_t len, size_t raw_len)
{
    unsigned long long  n;

    n = ZSTD_getFrameContentSize(src, len);

    /* the unknown and error values are far above any raw_len */
    return n == (unsigned long long) raw_len ? 0 : -1;
}


int
kvs_codec_decompress(uint8_t *dst, size_t raw_len, const uint8_t *src,
    size_t len)
{
    size_t  n;

    if (kvs_codec_dctx == NULL) {
        kvs_codec_dctx = ZSTD_createDCtx();
        if (kvs_codec_dctx == NULL) {
            return -1;
        }
    }

    /* a frame that says it holds another size is damaged: refused before
     * anything is written */
    if (kvs_codec_declares(src, len, raw_len) != 0) {
        return -1;
    }

    n = ZSTD_decompressDCtx(kvs_codec_dctx, dst, raw_len, src, len);

    if (ZSTD_isError(n) || n != raw_len) {
        return -1;
    }

    return 0;
}
