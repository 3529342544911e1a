/*
 * The UTF-8 validator of the fuzz targets, and the long numbers cJSON
 * cannot read; see kvs_fuzz.h.
 */

#define _GNU_SOURCE

#include <string.h>

#include <cjson/cJSON.h>

#include "kvs_fuzz.h"


/* the characters a JSON number is made of */
#define KVS_FUZZ_NUMBER_CHARS  "0123456789+-.eE"

/* a run of number characters this long trips cJSON 1.7.15 */
#define KVS_FUZZ_CJSON_NUMLEN  63


int
kvs_fuzz_utf8(const uint8_t *buf, size_t len)
{
    size_t    i, k, n;
    uint32_t  cp, min;

    for (i = 0; i < len; i += n) {

        if (buf[i] < 0x80) {
            n = 1;
            continue;
        }

        if ((buf[i] & 0xe0) == 0xc0) {
            n = 2;
            cp = buf[i] & 0x1f;
            min = 0x80;

        } else if ((buf[i] & 0xf0) == 0xe0) {
            n = 3;
            cp = buf[i] & 0x0f;
            min = 0x800;

        } else if ((buf[i] & 0xf8) == 0xf0) {
            n = 4;
            cp = buf[i] & 0x07;
            min = 0x10000;

        } else {
            return -1;
        }

        if (len - i < n) {
            return -1;
        }

        for (k = 1; k < n; k++) {
            if ((buf[i + k] & 0xc0) != 0x80) {
                return -1;
            }

            cp = (cp << 6) | (buf[i + k] & 0x3f);
        }

        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return -1;
        }
    }

    return 0;
}


int
kvs_fuzz_long_number(const uint8_t *buf, size_t len)
{
    size_t  i, run;

    run = 0;

    for (i = 0; i < len; i++) {
        run = (memchr(KVS_FUZZ_NUMBER_CHARS, buf[i],
                      sizeof(KVS_FUZZ_NUMBER_CHARS) - 1) != NULL)
              ? run + 1 : 0;

        if (run >= KVS_FUZZ_CJSON_NUMLEN) {
            return 1;
        }
    }

    return 0;
}


cJSON *
kvs_fuzz_cjson_object(const uint8_t *buf, size_t len)
{
    cJSON  *tree;

    if (kvs_fuzz_long_number(buf, len)
        || memmem(buf, len, "\\u0000", 6) != NULL)
    {
        return NULL;
    }

    tree = cJSON_ParseWithLength((const char *) buf, len);
    FUZZ_CHECK(cJSON_IsObject(tree), "an object taken is one to cJSON");

    return tree;
}
