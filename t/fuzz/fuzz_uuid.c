/*
 * kvs_uuid_parse(): the version a client names in If-Match (and later in
 * ?revision=).  It takes exactly the 8-4-4-4-12 hex form, either case, as
 * a pattern written out here says, and what it takes prints back by
 * kvs_uuid_format() as the same text in lower case.
 */

#include <ctype.h>
#include <string.h>

#include "kvs_record.h"
#include "kvs_fuzz.h"


static int
kvs_fuzz_uuid_form(const uint8_t *s, size_t len)
{
    size_t  i;

    if (len != KVS_UUID_STR_LEN) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') {
                return 0;
            }

        } else if (!isxdigit(s[i])) {
            return 0;
        }
    }

    return 1;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int      rc;
    char     text[KVS_UUID_STR_LEN];
    size_t   i;
    uint8_t  uuid[KVS_UUID_LEN];

    rc = kvs_uuid_parse(uuid, (const char *) data, size);

    FUZZ_CHECK((rc == 0) == kvs_fuzz_uuid_form(data, size),
               "kvs_uuid_parse() takes exactly the 8-4-4-4-12 hex form");

    if (rc != 0) {
        FUZZ_CHECK(rc == -1, "kvs_uuid_parse() returns 0 or -1");
        return 0;
    }

    kvs_uuid_format(uuid, text);

    for (i = 0; i < KVS_UUID_STR_LEN; i++) {
        FUZZ_CHECK(text[i] == tolower(data[i]),
                   "a uuid taken prints back as its text in lower case");
    }

    return 0;
}
