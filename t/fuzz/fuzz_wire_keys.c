/*
 * kvs_wire_key_next() and kvs_wire_version_next(): the key lists of the
 * anti-entropy walk, from a peer: the body of /_cluster/fetch (keys), the
 * answer of /_cluster/keys (keys with their versions), and the key of
 * /_cluster/keys to list a bucket's keys after.  The input's first byte
 * picks the form.  The walk never moves past the list's end or backwards,
 * a refusal says why and leaves the cursor where it was, and an entry
 * taken has a namespace of the four and a valid key, and written again by
 * kvs_wire_key_put() or kvs_wire_version_put() is the bytes it passed.
 */

#include <string.h>

#include "kvs_wire.h"
#include "kvs_fuzz.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                rc, versions;
    uint8_t            again[8 + 3 + KVS_KEY_MAX + 64];
    const char        *why;
    const uint8_t     *p, *before, *end;
    kvs_wire_entry_t   e;

    if (size == 0) {
        return 0;
    }

    versions = data[0] & 1;
    p = data + 1;
    end = data + size;

    for ( ;; ) {
        before = p;
        why = NULL;

        rc = versions ? kvs_wire_version_next(&p, end, &e, &why)
                      : kvs_wire_key_next(&p, end, &e, &why);

        if (rc == 0) {
            FUZZ_CHECK(p == end && before == end,
                       "a list ends only at its end");
            break;
        }

        if (rc == -1) {
            FUZZ_CHECK(p == before, "a refused entry leaves the cursor");
            FUZZ_CHECK(why != NULL && why[0] != '\0', "a refusal says why");
            break;
        }

        FUZZ_CHECK(rc == 1, "the walk returns 1, 0 or -1");
        FUZZ_CHECK(p > before && p <= end,
                   "an entry moves the cursor forward, not past the end");
        FUZZ_CHECK(e.ns == KVS_NS_DATA || e.ns == KVS_NS_USER
                   || e.ns == KVS_NS_GROUP || e.ns == KVS_NS_TOKEN,
                   "an entry's namespace is one of the four");
        FUZZ_CHECK(kvs_key_check(e.path, e.path_len) == NULL,
                   "an entry's path is a valid key");

        FUZZ_CHECK((size_t) (p - before)
                   == (versions ? kvs_wire_version_size(&e)
                                : kvs_wire_key_size(&e))
                   && (size_t) (p - before) <= sizeof(again),
                   "an entry takes the bytes its form says");
        FUZZ_CHECK((versions ? kvs_wire_version_put(again, &e)
                             : kvs_wire_key_put(again, &e))
                   == again + (p - before)
                   && memcmp(again, before, p - before) == 0,
                   "an entry written again is the bytes it passed");
    }

    return 0;
}
