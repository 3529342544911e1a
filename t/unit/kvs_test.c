/*
 * The one main() of the C unit tests and their TAP output.  A test program
 * is its kvs_test_suite (kvs_test.h): an optional setup, the cases in
 * order, an optional cleanup.  t/run reads the "ok" and "not ok" lines and
 * the exit status; prove reads the plan printed at the end.
 */

#define _XOPEN_SOURCE 700

#include <ftw.h>
#include <stdio.h>
#include <string.h>

#include "kvs_test.h"


static int  kvs_test_n;
static int  kvs_test_failed;


void
kvs_test_ok(int ok, const char *desc)
{
    kvs_test_n++;

    if (!ok) {
        kvs_test_failed++;
    }

    printf("%sok %d - %s\n", ok ? "" : "not ", kvs_test_n, desc);
}


void
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


/* a check this run cannot make counts as passed, and says why (TAP) */

void
kvs_test_skip(const char *desc, const char *why)
{
    kvs_test_n++;

    printf("ok %d - %s # SKIP %s\n", kvs_test_n, desc, why);
}


int
main(void)
{
    const kvs_test_case_t  *c;

    /* TAP readers interleave our lines with ASan's: no buffering */
    setvbuf(stdout, NULL, _IONBF, 0);

    if (kvs_test_suite.setup != NULL && kvs_test_suite.setup() != 0) {
        return 2;
    }

    for (c = kvs_test_suite.cases; c->name != NULL; c++) {
        printf("# %s\n", c->name);
        c->run();
    }

    if (kvs_test_suite.cleanup != NULL) {
        kvs_test_suite.cleanup();
    }

    printf("1..%d\n", kvs_test_n);

    if (kvs_test_failed) {
        printf("# %d of %d failed\n", kvs_test_failed, kvs_test_n);
        return 1;
    }

    return 0;
}


static int
kvs_test_rm(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;

    return remove(path);
}


int
kvs_test_rm_tree(const char *dir)
{
    return nftw(dir, kvs_test_rm, 16, FTW_DEPTH | FTW_PHYS);
}
