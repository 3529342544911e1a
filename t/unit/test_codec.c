/*
 * Unit tests for src/kvs/kvs_codec.c, printed as TAP.
 *
 * The codec decides whether a value is stored as a zstd frame, and reads
 * back frames that may come from a peer or from a damaged page: it must say
 * 0 ("store it raw") whenever compressing would not pay, and refuse, never
 * overrun, a frame that does not decode to exactly the length its record
 * claims.  Output buffers are allocated at their exact size so that an
 * overrun shows under -fsanitize=address.  It exits non-zero when any check
 * fails.
 *
 *   gcc -std=gnu11 -Wall -Wextra -Werror -g -fsanitize=address,undefined \
 *       -Isrc/kvs t/unit/test_codec.c src/kvs/kvs_codec.c -lzstd \
 *       -o /tmp/test_codec && /tmp/test_codec
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvs_codec.h"

#include "kvs_test.h"


#define KVS_TEST_USERS  40


/* a document as clients store them: repetitive keys, varied values */

static size_t
kvs_test_json(char *buf, size_t size)
{
    int     i;
    size_t  n;

    n = snprintf(buf, size, "{\"users\":[");

    for (i = 0; i < KVS_TEST_USERS; i++) {
        n += snprintf(buf + n, size - n,
                      "%s{\"id\":%d,\"name\":\"user%03d\",\"email\":"
                      "\"user%03d@example.com\",\"active\":%s,"
                      "\"roles\":[\"reader\",\"writer\"],\"score\":%d.%d}",
                      i ? "," : "", i, i, i, i % 3 ? "true" : "false",
                      i * 37 % 101, i % 10);
    }

    n += snprintf(buf + n, size - n, "]}");

    return n;
}


/* a copy of exactly len bytes, so that reading past it is an ASan error */

static uint8_t *
kvs_test_dup(const void *p, size_t len)
{
    uint8_t  *b;

    b = malloc(len ? len : 1);
    if (b == NULL) {
        printf("Bail out! out of memory\n");
        exit(2);
    }

    memcpy(b, p, len);

    return b;
}


static int
kvs_test_decompress(size_t raw_len, const uint8_t *frame, size_t len,
    const char *want)
{
    int       rc;
    uint8_t  *dst, *src;

    /* exact sizes on both sides: ASan sees any byte written or read past */
    dst = malloc(raw_len ? raw_len : 1);
    src = kvs_test_dup(frame, len);

    if (dst == NULL) {
        printf("Bail out! out of memory\n");
        exit(2);
    }

    rc = kvs_codec_decompress(dst, raw_len, src, len);

    if (rc == 0 && want != NULL && memcmp(dst, want, raw_len) != 0) {
        rc = -2;
    }

    free(dst);
    free(src);

    return rc;
}


static void
kvs_test_round_trip(void)
{
    int       level;
    char      json[8192], back[8192];
    size_t    len, cap, n, n1, n19;
    uint8_t  *frame;

    len = kvs_test_json(json, sizeof(json));
    cap = kvs_codec_bound(len);

    CHECK(len > 4000 && len < sizeof(json) - 1,
          "round trip: the sample document is a few kilobytes");
    CHECK(cap >= len, "bound: room for at least the input");

    frame = malloc(cap);
    if (frame == NULL) {
        printf("Bail out! out of memory\n");
        exit(2);
    }

    n = kvs_codec_compress(frame, cap, (const uint8_t *) json, len, 3);
    CHECK(n > 0 && n < len / 2,
          "compress: a repetitive JSON document shrinks by half or more");

    memset(back, 0, sizeof(back));
    CHECK(kvs_codec_decompress((uint8_t *) back, len, frame, n) == 0,
          "decompress: a frame of the document decodes");
    kvs_test_str(back, json, "decompress: gives back the very bytes");

    n1 = kvs_codec_compress(frame, cap, (const uint8_t *) json, len,
                            KVS_CODEC_LEVEL_MIN);
    CHECK(n1 > 0 && kvs_test_decompress(len, frame, n1, json) == 0,
          "compress: level 1, the lowest, works");

    n19 = kvs_codec_compress(frame, cap, (const uint8_t *) json, len,
                             KVS_CODEC_LEVEL_MAX);
    CHECK(n19 > 0 && kvs_test_decompress(len, frame, n19, json) == 0,
          "compress: level 19, the highest, works");
    CHECK(n19 <= n1, "compress: level 19 is no larger than level 1");

    for (level = -1; level <= 22; level++) {
        if (level >= KVS_CODEC_LEVEL_MIN && level <= KVS_CODEC_LEVEL_MAX) {
            continue;
        }

        memset(frame, 0xee, cap);
        n = kvs_codec_compress(frame, cap, (const uint8_t *) json, len,
                               level);

        if (n != 0 || frame[0] != 0xee) {
            printf("#   level %d: got %zu\n", level, n);
            break;
        }
    }

    CHECK(level == 23,
          "compress: levels -1, 0 and 20..22 are refused with 0, nothing "
          "written");

    n = kvs_codec_compress(frame, 16, (const uint8_t *) json, len, 3);
    CHECK(n == 0, "compress: a buffer too small for the frame gives 0");

    free(frame);
}


static void
kvs_test_not_smaller(void)
{
    size_t   i, n, cap;
    uint8_t  rnd[20], frame[256], same[64];
    uint32_t x;

    /* 20 bytes of a xorshift sequence: nothing for zstd to find */
    x = 2463534242u;

    for (i = 0; i < sizeof(rnd); i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        rnd[i] = (uint8_t) x;
    }

    cap = kvs_codec_bound(sizeof(rnd));
    CHECK(cap <= sizeof(frame), "bound: of 20 bytes fits the buffer");

    n = kvs_codec_compress(frame, sizeof(frame), rnd, sizeof(rnd), 3);
    CHECK(n == 0, "compress: 20 random-ish bytes do not shrink: 0");

    n = kvs_codec_compress(frame, sizeof(frame), (const uint8_t *) "{}", 2,
                           19);
    CHECK(n == 0, "compress: a 2-byte value is stored raw even at level 19");

    n = kvs_codec_compress(frame, sizeof(frame), (const uint8_t *) "", 0, 3);
    CHECK(n == 0, "compress: an empty value gives 0");

    memset(same, 'a', sizeof(same));
    n = kvs_codec_compress(frame, sizeof(frame), same, sizeof(same), 3);
    CHECK(n > 0 && n < sizeof(same)
          && kvs_test_decompress(sizeof(same), frame, n, (char *) same)
             == 0,
          "compress: 64 equal bytes shrink and come back");
}


static void
kvs_test_damaged(void)
{
    char      json[8192];
    size_t    len, n, cap;
    uint8_t  *frame, *bad;

    len = kvs_test_json(json, sizeof(json));
    cap = kvs_codec_bound(len);

    frame = malloc(cap + 16);
    if (frame == NULL) {
        printf("Bail out! out of memory\n");
        exit(2);
    }

    n = kvs_codec_compress(frame, cap, (const uint8_t *) json, len, 3);
    if (n == 0) {
        printf("Bail out! the sample document did not compress\n");
        exit(2);
    }

    CHECK(kvs_test_decompress(len - 1, frame, n, NULL) == -1,
          "decompress: raw_len one short of the frame's content: -1");

    bad = malloc(len - 1);
    if (bad == NULL) {
        printf("Bail out! out of memory\n");
        exit(2);
    }

    memset(bad, 0xee, len - 1);
    CHECK(kvs_codec_decompress(bad, len - 1, frame, n) == -1
          && bad[0] == 0xee && bad[len / 2] == 0xee && bad[len - 2] == 0xee,
          "decompress: a frame of another size is refused before a byte "
          "is written");
    free(bad);
    CHECK(kvs_test_decompress(len + 1, frame, n, NULL) == -1,
          "decompress: raw_len one past the frame's content: -1");
    CHECK(kvs_test_decompress(1, frame, n, NULL) == -1,
          "decompress: raw_len 1 for a frame of kilobytes: -1");
    CHECK(kvs_test_decompress(0, frame, n, NULL) == -1,
          "decompress: raw_len 0 for a frame of kilobytes: -1");

    CHECK(kvs_test_decompress(len, frame, n - 1, NULL) == -1,
          "decompress: a frame missing its last byte: -1");
    CHECK(kvs_test_decompress(len, frame, n / 2, NULL) == -1,
          "decompress: half a frame: -1");
    CHECK(kvs_test_decompress(len, frame, 4, NULL) == -1,
          "decompress: only the magic number: -1");
    CHECK(kvs_test_decompress(len, frame, 0, NULL) == -1,
          "decompress: no bytes at all: -1");

    memset(frame + n, 0x5a, 16);
    CHECK(kvs_test_decompress(len, frame, n + 16, NULL) == -1,
          "decompress: a frame followed by junk: -1");

    bad = kvs_test_dup(frame, n);
    bad[0] ^= 0xff;
    CHECK(kvs_test_decompress(len, bad, n, NULL) == -1,
          "decompress: a frame with a broken magic number: -1");
    free(bad);

    CHECK(kvs_test_decompress(len, (const uint8_t *) json, len, NULL) == -1,
          "decompress: JSON that is no frame at all: -1");
    CHECK(kvs_test_decompress(5, (const uint8_t *) "\x28\xb5\x2f\xfd\xff",
                              5, NULL) == -1,
          "decompress: a magic number and a bad header byte: -1");

    n = kvs_codec_compress(frame, cap, (const uint8_t *) json, len, 3);
    CHECK(kvs_test_decompress(len, frame, n, json) == 0,
          "decompress: still works after all the refusals");

    free(frame);
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_round_trip),
    KVS_TEST_CASE(kvs_test_not_smaller),
    KVS_TEST_CASE(kvs_test_damaged),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    NULL, NULL, kvs_test_cases
};
