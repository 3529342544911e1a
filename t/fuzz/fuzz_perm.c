/*
 * kvs_perm_parse(): the "permissions" of a ?meta body, a client's bytes.
 * It takes exactly three hex digits, either case, as a rule written out
 * here says; what it takes prints back by kvs_perm_format() as the same
 * text in lower case, and each class's digit grants exactly its bits
 * through kvs_acl_allows().
 */

#include <string.h>

#include "kvs_acl.h"
#include "kvs_fuzz.h"


static const char  kvs_fuzz_digits[] = "0123456789abcdef";


/* the digit's value, or -1: its place in the lowercase digits */

static int
kvs_fuzz_perm_digit(uint8_t c)
{
    const char  *p;

    if (c >= 'A' && c <= 'F') {
        c = (uint8_t) (c - 'A' + 'a');
    }

    p = (c != '\0') ? strchr(kvs_fuzz_digits, c) : NULL;

    return (p == NULL) ? -1 : (int) (p - kvs_fuzz_digits);
}


static void
kvs_fuzz_perm_taken(const uint8_t *data, uint16_t perm)
{
    int       cls, digit;
    char      out[KVS_PERM_LEN];
    unsigned  right;

    FUZZ_CHECK(perm <= 0xfff, "a permission is 12 bits");

    kvs_perm_format(perm, out);

    for (cls = 0; cls < 3; cls++) {
        digit = kvs_fuzz_perm_digit(data[cls]);

        FUZZ_CHECK(out[cls] == kvs_fuzz_digits[digit],
                   "the format is the input in lower case");

        for (right = 1; right <= 8; right <<= 1) {
            FUZZ_CHECK(kvs_acl_allows(perm, (kvs_acl_class_e) cls, right)
                       == ((digit & right) != 0),
                       "a class's digit grants exactly its bits");
        }
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int       ok;
    size_t    i;
    uint16_t  perm;

    ok = (size == KVS_PERM_LEN);

    for (i = 0; ok && i < size; i++) {
        ok = (kvs_fuzz_perm_digit(data[i]) >= 0);
    }

    perm = 0xffff;

    if (kvs_perm_parse((const char *) data, size, &perm) == 0) {
        FUZZ_CHECK(ok, "kvs_perm_parse() takes only three hex digits");
        kvs_fuzz_perm_taken(data, perm);

    } else {
        FUZZ_CHECK(!ok, "kvs_perm_parse() takes any three hex digits");
        FUZZ_CHECK(perm == 0xffff, "a refusal leaves *perm alone");
    }

    return 0;
}
