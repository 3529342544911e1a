/*
 * What the libFuzzer targets share: a check that stops the run with the
 * invariant it broke, the clock every target runs at, a UTF-8 validator
 * written apart from src/kvs/, straight from RFC 3629, so that the core's
 * own is compared with another reading of the standard rather than with
 * itself (kvs_fuzz.c), and what cJSON cannot be compared on.
 */

#ifndef KVS_FUZZ_H
#define KVS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct cJSON;

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

/*
 * 1 when buf holds a run of 63 characters or more that may make a number:
 * cJSON 1.7.15 reads at most 63 characters of a number, and then trips
 * over the rest.  Such numbers are JSON, and the targets that hold the
 * core to cJSON leave them out of the comparison.
 */
int kvs_fuzz_long_number(const uint8_t *buf, size_t len);

/*
 * Bytes the core took as a JSON object, as cJSON reads them; NULL where
 * cJSON cannot be compared with the core: past its longest number, or
 * where a string holds \u0000, at which cJSON ends it ("username\u0000"
 * is "username" to cJSON).  The caller frees it with cJSON_Delete().
 */
struct cJSON *kvs_fuzz_cjson_object(const uint8_t *buf, size_t len);

#endif /* KVS_FUZZ_H */
