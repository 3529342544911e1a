/*
 * The little the C unit tests share: TAP output ("ok N - desc"), a count of
 * failures for the exit status, and string comparison with a diagnostic.
 * Each test program includes it once.
 */

#ifndef KVS_TEST_H
#define KVS_TEST_H

#include <stdio.h>
#include <string.h>

#define CHECK(cond, desc)  kvs_test_ok((cond) != 0, desc)


static int  kvs_test_n;
static int  kvs_test_failed;


static void
kvs_test_ok(int ok, const char *desc)
{
    kvs_test_n++;

    if (!ok) {
        kvs_test_failed++;
    }

    printf("%sok %d - %s\n", ok ? "" : "not ", kvs_test_n, desc);
}


static void
kvs_test_str(const char *got, const char *want, const char *desc)
{
    int  ok;

    ok = (got != NULL && want != NULL && strcmp(got, want) == 0)
         || (got == NULL && want == NULL);

    kvs_test_ok(ok, desc);

    if (!ok) {
        printf("#   got:  \"%s\"\n#   want: \"%s\"\n",
               got ? got : "(null)", want ? want : "(null)");
    }
}

#endif /* KVS_TEST_H */
