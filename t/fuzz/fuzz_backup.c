/*
 * kvs_backup_last_decode() and kvs_backup_parse_name(): the last backup's
 * record as meta holds it (a store edited behind the node's back), and the
 * names a backup_dir holds (anyone may put files there).  The input is
 * taken twice:
 *
 *   as a record: one taken encodes back to exactly its bytes, with strings
 *   that end inside their fields;
 *
 *   as a file name of node "n1": one taken as a backup (final or
 *   temporary) is what kvs_backup_name() writes for its time, and a name
 *   of another node is never one of n1's.
 */

#include <string.h>

#include "kvs_backup.h"
#include "kvs_fuzz.h"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                tmp;
    char               name[KVS_BACKUP_NAME_MAX];
    size_t             len;
    uint8_t            out[KVS_BACKUP_LAST_MAX];
    uint64_t           ms;
    kvs_backup_last_t  l;

    if (kvs_backup_last_decode(data, size, &l) == 0) {
        FUZZ_CHECK(l.ok == 0 || l.ok == 1, "ok is a boolean");
        FUZZ_CHECK(memchr(l.file, '\0', sizeof(l.file)) != NULL
                   && memchr(l.error, '\0', sizeof(l.error)) != NULL,
                   "the strings end inside their fields");

        len = kvs_backup_last_encode(&l, out);
        FUZZ_CHECK(len == size && memcmp(out, data, size) == 0,
                   "a record taken encodes back to its bytes");
    }

    if (kvs_backup_parse_name((const char *) data, size, "n1", 2, &tmp, &ms)
        == 0)
    {
        FUZZ_CHECK(ms % 1000 == 0, "a name's time is a whole second");

        len = kvs_backup_name(name, "n1", ms);
        FUZZ_CHECK(len + (tmp ? sizeof(KVS_BACKUP_TMP) - 1 : 0) == size
                   && memcmp(name, data, len) == 0
                   && (!tmp || memcmp(data + len, KVS_BACKUP_TMP,
                                      sizeof(KVS_BACKUP_TMP) - 1) == 0),
                   "a name taken is the one its time makes");

        FUZZ_CHECK(kvs_backup_parse_name((const char *) data, size, "n", 1,
                                         &tmp, &ms)
                   != 0,
                   "n1's backup is not n's");
    }

    return 0;
}
