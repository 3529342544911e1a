/*
 * kvs_json_utf8_check() and kvs_json_encode(): whatever bytes a client
 * sends (a key, a header), an error sentence quoting them stays JSON.
 * Checked on any bytes: the UTF-8 check agrees with RFC 3629 read apart
 * (kvs_fuzz.h); the encoding, quoted, passes kvs_json_check() whole and
 * cut to any size; a cut falls between characters, on the longest prefix
 * that fits; and text that was UTF-8 reads back from the JSON as itself.
 */

#include <string.h>

#include <cjson/cJSON.h>

#include "kvs_json.h"
#include "kvs_fuzz.h"


static void
kvs_fuzz_quoted_valid(uint8_t *buf, size_t n, const char *what)
{
    size_t       at;
    const char  *why;

    /* buf has room for the quotes around its n bytes */
    memmove(buf + 1, buf, n);
    buf[0] = '"';
    buf[n + 1] = '"';

    FUZZ_CHECK(kvs_json_check(buf, n + 2, &at, &why) == 0, what);

    memmove(buf, buf + 1, n);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int       utf8;
    size_t    i, full, n, used, cut[2], m, rest_used;
    cJSON    *tree;
    uint8_t  *out, *part;

    utf8 = kvs_json_utf8_check(data, size);

    FUZZ_CHECK(utf8 == 0 || utf8 == -1, "kvs_json_utf8_check() returns 0 "
               "or -1");
    FUZZ_CHECK((utf8 == 0) == (kvs_fuzz_utf8(data, size) == 0),
               "kvs_json_utf8_check() agrees with RFC 3629");

    full = kvs_json_encode(NULL, 0, data, size, NULL);

    /* at most 6 bytes a byte: "\u00XX" */
    FUZZ_CHECK(full >= size && full <= 6 * size, "the encoding is 1 to 6 "
               "bytes a byte");

    out = malloc(full + 2);
    part = malloc(full + 2);
    FUZZ_CHECK(out != NULL && part != NULL, "memory");

    used = (size_t) -1;
    n = kvs_json_encode(out, full, data, size, &used);

    FUZZ_CHECK(n == full, "the encoding has the size a NULL dst measured");
    FUZZ_CHECK(used == size, "all of src fits in what it measured");
    FUZZ_CHECK(kvs_fuzz_utf8(out, n) == 0, "the encoding is UTF-8");

    kvs_fuzz_quoted_valid(out, n, "the encoding, quoted, is JSON");

    if (utf8 == 0 && memchr(data, '\0', size) == NULL) {
        memmove(out + 1, out, n);
        out[0] = '"';
        out[n + 1] = '"';

        tree = cJSON_ParseWithLength((const char *) out, n + 2);

        FUZZ_CHECK(cJSON_IsString(tree)
                   && strlen(tree->valuestring) == size
                   && memcmp(tree->valuestring, data, size) == 0,
                   "UTF-8 text reads back from its encoding as itself");

        cJSON_Delete(tree);
        memmove(out, out + 1, n);
    }

    /* a cut at a size the input picks, and one in the middle */
    cut[0] = (size > 0) ? (data[0] * 7919 + size) % (full + 1) : 0;
    cut[1] = full / 2;

    for (i = 0; i < 2; i++) {
        used = (size_t) -1;
        m = kvs_json_encode(part, cut[i], data, size, &used);

        FUZZ_CHECK(m <= cut[i], "a cut encoding fits its room");
        FUZZ_CHECK(used <= size, "a cut encoding stands for part of src");
        FUZZ_CHECK(memcmp(part, out, m) == 0,
                   "a cut encoding is a prefix of the whole one");
        FUZZ_CHECK(kvs_json_encode(NULL, 0, data, used, NULL) == m,
                   "a cut encoding is the encoding of the src it used");

        if (used < size) {
            FUZZ_CHECK(kvs_json_encode(part + m, cut[i] - m, data + used,
                                       size - used, &rest_used) == 0
                       && rest_used == 0,
                       "a cut leaves out only what does not fit whole");
        }

        kvs_fuzz_quoted_valid(part, m, "a cut encoding, quoted, is JSON");
    }

    free(out);
    free(part);

    return 0;
}
