/*
 * Values on disk: the client's JSON bytes, or a zstd frame of them.
 *
 * Whether a record's value is compressed is a flag of the record, not a
 * setting of the node, so records written with compression on or off, here
 * or on a peer, are all readable whatever the node's setting is now.  Each
 * thread keeps its own zstd contexts: a compression context costs far more
 * to create than a small value costs to compress.
 */

#ifndef KVS_CODEC_H
#define KVS_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define KVS_CODEC_LEVEL_MIN  1
#define KVS_CODEC_LEVEL_MAX  19

/* room a compressed copy of len bytes may need */
size_t kvs_codec_bound(size_t len);

/* Compresses src into dst (cap bytes, at least kvs_codec_bound(len)) at a
 * zstd level; returns the frame's length, or 0 when compression failed or
 * would not save a byte, in which case the value is to be stored raw. */
size_t kvs_codec_compress(uint8_t *dst, size_t cap, const uint8_t *src,
    size_t len, int level);

/* Returns 0 when src is a zstd frame whose header declares raw_len bytes
 * of content, -1 otherwise; reads only the frame's header. */
int kvs_codec_declares(const uint8_t *src, size_t len, size_t raw_len);

/* Decompresses a frame into dst, which holds exactly raw_len bytes;
 * returns 0, or -1 when the frame is damaged or does not decode to
 * raw_len bytes. */
int kvs_codec_decompress(uint8_t *dst, size_t raw_len, const uint8_t *src,
    size_t len);

#endif /* KVS_CODEC_H */
