/*
 * What the libFuzzer targets share: a check that stops the run with the
 * invariant it broke, the clock every target runs at, and a UTF-8
 * validator written apart from src/kvs/, straight from RFC 3629, so that
 * the core's own is compared with another reading of the standard rather
 * than with itself (kvs_fuzz.c).
 */

#ifndef KVS_FUZZ_H
#define KVS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* the unit tests' clock: far from 0 and from the wrap of 64 bits */
#define KVS_FUZZ_NOW  1800000000000ULL

/* an abort() is a crash to libFuzzer: it saves the input that broke it */
#define FUZZ_CHECK(cond, what)                                                \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__,       \
                    __LINE__, what);                                          \
            abort();                                                          \
        }                                                                     \
    } while (0)


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


/*
 * 0 when buf is well-formed UTF-8, -1 otherwise: each sequence is decoded
 * to its code point, which must need exactly that many bytes (no overlong
 * form), and be neither a surrogate nor past U+10FFFF.
 */
int kvs_fuzz_utf8(const uint8_t *buf, size_t len);

#endif /* KVS_FUZZ_H */
