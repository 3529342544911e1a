/*
 * kvs_json_check(), the gate of every value a client or a peer stores.
 * Beyond not crashing: a refusal points inside the bytes and says why;
 * what it accepts is UTF-8 text, and is JSON to another parser too
 * (cJSON, which the module links anyway), so the checker never lets
 * through what a reader of the value would choke on.
 */

#include <cjson/cJSON.h>

#include "kvs_json.h"
#include "kvs_fuzz.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int          rc;
    cJSON       *tree;
    size_t       at;
    const char  *why;

    at = (size_t) -1;
    why = NULL;

    rc = kvs_json_check(data, size, &at, &why);

    if (rc != 0) {
        FUZZ_CHECK(rc == -1, "kvs_json_check() returns 0 or -1");
        FUZZ_CHECK(why != NULL && why[0] != '\0',
                   "a refusal says why");
        FUZZ_CHECK(at <= size, "a refusal points inside the bytes or at "
                   "their end");
        return 0;
    }

    FUZZ_CHECK(kvs_fuzz_utf8(data, size) == 0,
               "accepted JSON is well-formed UTF-8");

    if (kvs_fuzz_long_number(data, size)) {
        return 0;
    }

    tree = cJSON_ParseWithLength((const char *) data, size);
    FUZZ_CHECK(tree != NULL, "accepted JSON is JSON to cJSON too");
    cJSON_Delete(tree);

    return 0;
}
