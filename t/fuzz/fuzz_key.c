/*
 * kvs_key_check(), the one key validator of URLs and of peers' batches,
 * against the rules as README states them, written out again here: 1 to
 * 1,024 bytes, segments separated by "/", none empty, "." or "..", no
 * control bytes (DEL included), UTF-8.  A key is taken exactly when it
 * keeps them all, and a refusal says why.
 */

#include <string.h>

#include "kvs_record.h"
#include "kvs_fuzz.h"


static int
kvs_fuzz_key_valid(const uint8_t *key, size_t len)
{
    size_t  i, seg;

    if (len == 0 || len > KVS_KEY_MAX) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (key[i] < 0x20 || key[i] == 0x7f) {
            return 0;
        }
    }

    for (seg = 0; seg <= len; seg = i + 1) {
        for (i = seg; i < len && key[i] != '/'; i++) {
            /* void */
        }

        if (i - seg == 0
            || (i - seg == 1 && key[seg] == '.')
            || (i - seg == 2 && key[seg] == '.' && key[seg + 1] == '.'))
        {
            return 0;
        }
    }

    return kvs_fuzz_utf8(key, len) == 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char  *why;

    why = kvs_key_check((const char *) data, size);

    if (why != NULL) {
        FUZZ_CHECK(why[0] != '\0', "a refusal says why");
    }

    FUZZ_CHECK((why == NULL) == kvs_fuzz_key_valid(data, size),
               "kvs_key_check() takes a key exactly when it keeps the "
               "rules");

    return 0;
}
