/*
 * Unit tests for src/kvs/kvs_secrets.c, printed as TAP.
 *
 * Each case writes its file, bytes exactly as given (NULs and '\r'
 * included), into a fresh directory made with mkdtemp() and loads it by a
 * relative name, so that the error sentences compare byte for byte.  It
 * exits non-zero when any check fails.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvs_acl.h"
#include "kvs_secrets.h"

#include "kvs_test.h"


#define S(s)  s, sizeof(s) - 1

/* 32 bytes each: the shortest secrets taken */
#define A32   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B32   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"


typedef struct {
    const char  *bytes;
    size_t       len;
    const char  *want;               /* the sentence after "f:" */
    const char  *desc;
} kvs_test_fail_t;


static char  kvs_test_dir[] = "/tmp/kvs_secrets_test.XXXXXX";


static void
kvs_test_write(const char *name, const char *bytes, size_t len)
{
    FILE  *fp;

    fp = fopen(name, "wb");
    if (fp == NULL || fwrite(bytes, 1, len, fp) != len || fclose(fp) != 0) {
        printf("Bail out! cannot write %s: %s\n", name, strerror(errno));
        exit(2);
    }
}


/* loads bytes as the file "f"; returns what kvs_secrets_load() does */

static int
kvs_test_secrets(const char *bytes, size_t len, kvs_secret_t **s, size_t *n,
    char *err, size_t errlen)
{
    kvs_test_write("f", bytes, len);
    err[0] = '\0';

    return kvs_secrets_load("f", KVS_SECRET_MIN, s, n, err, errlen);
}


static int
kvs_test_password(const char *bytes, size_t len, char **pw, size_t *pwlen,
    char *err, size_t errlen)
{
    kvs_test_write("f", bytes, len);
    err[0] = '\0';

    return kvs_password_file_load("f", pw, pwlen, err, errlen);
}


/* whether secret i of s is the len bytes of want */

static int
kvs_test_is(const kvs_secret_t *s, size_t i, const char *want, size_t len)
{
    return s[i].len == len && memcmp(s[i].data, want, len) == 0;
}


static void
kvs_test_secrets_good(void)
{
    int            rc;
    char           err[256];
    size_t         n;
    kvs_secret_t  *s;

    rc = kvs_test_secrets(S(A32), &s, &n, err, sizeof(err));
    CHECK(rc == 0 && n == 1 && kvs_test_is(s, 0, S(A32)),
          "secrets: one of 32 bytes, no final newline");
    kvs_secrets_free(s, n);

    rc = kvs_test_secrets(S(A32 "\n"), &s, &n, err, sizeof(err));
    CHECK(rc == 0 && n == 1 && kvs_test_is(s, 0, S(A32)),
          "secrets: a final newline is not part of the secret");
    kvs_secrets_free(s, n);

    rc = kvs_test_secrets(S(A32 "\r\n"), &s, &n, err, sizeof(err));
    CHECK(rc == 0 && n == 1 && kvs_test_is(s, 0, S(A32)),
          "secrets: nor is a final \\r\\n");
    kvs_secrets_free(s, n);

    rc = kvs_test_secrets(S(A32 "\n" B32 "x\n"), &s, &n, err, sizeof(err));
    CHECK(rc == 0 && n == 2 && kvs_test_is(s, 0, S(A32))
          && kvs_test_is(s, 1, S(B32 "x")),
          "secrets: two, in the file's order");
    kvs_secrets_free(s, n);

    rc = kvs_test_secrets(S(A32 "\r\n" B32 "\r\n"), &s, &n, err,
                          sizeof(err));
    CHECK(rc == 0 && n == 2 && kvs_test_is(s, 0, S(A32))
          && kvs_test_is(s, 1, S(B32)),
          "secrets: CRLF lines");
    kvs_secrets_free(s, n);

    rc = kvs_test_secrets(S(A32 "\n" B32), &s, &n, err, sizeof(err));
    CHECK(rc == 0 && n == 2 && kvs_test_is(s, 1, S(B32)),
          "secrets: two, the last without a newline");
    kvs_secrets_free(s, n);

    rc = kvs_test_secrets(S(" " A32 "\t\r\r\n"), &s, &n, err, sizeof(err));
    CHECK(rc == 0 && n == 1 && kvs_test_is(s, 0, S(" " A32 "\t\r")),
          "secrets: blanks are kept, one \\r is dropped");
    kvs_secrets_free(s, n);

    rc = kvs_test_secrets(S("0123456789abcdef\0" "0123456789abcde"), &s,
                          &n, err, sizeof(err));
    CHECK(rc == 0 && n == 1
          && kvs_test_is(s, 0, S("0123456789abcdef\0" "0123456789abcde")),
          "secrets: a NUL byte is part of a binary secret");
    kvs_secrets_free(s, n);

    kvs_test_write("f", S("abcd\nefgh\n"));
    rc = kvs_secrets_load("f", 4, &s, &n, err, sizeof(err));
    CHECK(rc == 0 && n == 2 && kvs_test_is(s, 1, S("efgh")),
          "secrets: min_len is the caller's");
    kvs_secrets_free(s, n);

    kvs_secrets_free(NULL, 0);
    CHECK(1, "secrets: freeing NULL is harmless");
}


static void
kvs_test_secrets_large(void)
{
    int            rc;
    char          *big, *pw, err[256];
    size_t         i, n, len;
    kvs_secret_t  *s;

    /* 1024 lines of 63 bytes and a newline: exactly the limit */
    big = malloc(KVS_SECRETS_FILE_MAX + 1);
    if (big == NULL) {
        printf("Bail out! out of memory\n");
        exit(2);
    }

    memset(big, 's', KVS_SECRETS_FILE_MAX + 1);

    for (i = 63; i < KVS_SECRETS_FILE_MAX; i += 64) {
        big[i] = '\n';
    }

    rc = kvs_test_secrets(big, KVS_SECRETS_FILE_MAX, &s, &n, err,
                          sizeof(err));
    CHECK(rc == 0 && n == 1024 && s[1023].len == 63,
          "secrets: a file of 65536 bytes is read");
    kvs_secrets_free(s, n);

    rc = kvs_test_secrets(big, KVS_SECRETS_FILE_MAX + 1, &s, &n, err,
                          sizeof(err));
    CHECK(rc == -1 && s == NULL && n == 0, "secrets: 65537 bytes fail");
    kvs_test_str(err, "f: the file is larger than 65536 bytes",
                 "secrets: a file too large, said");

    rc = kvs_test_password(big, KVS_SECRETS_FILE_MAX + 1, &pw, &len, err,
                           sizeof(err));
    CHECK(rc == -1 && pw == NULL, "password: 65537 bytes fail");
    kvs_test_str(err, "f: the file is larger than 65536 bytes",
                 "password: a file too large, said");

    free(big);
}


static void
kvs_test_secrets_bad(void)
{
    int            rc;
    char           err[256], want[300];
    size_t         i, n;
    kvs_secret_t  *s, poison;

    static const kvs_test_fail_t  fails[] = {
        { S(""),
          "f: the file holds no secret; write one per line, each of at "
          "least 32 bytes",
          "an empty file" },
        { S("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"),
          "f:1: the secret is 31 bytes; each needs at least 32",
          "31 bytes" },
        { S(A32 "\nshort\n" B32 "\n"),
          "f:2: the secret is 5 bytes; each needs at least 32",
          "a short second line" },
        { S(A32 "\n\n" B32 "\n"),
          "f:2: the line is empty; each line holds one secret",
          "an empty line in the middle" },
        { S(A32 "\r\n\r\n" B32 "\r\n"),
          "f:2: the line is empty; each line holds one secret",
          "an empty CRLF line in the middle" },
        { S(A32 "\n\n"),
          "f:2: the line is empty; each line holds one secret",
          "a blank line at the end" },
        { S("\n"),
          "f:1: the line is empty; each line holds one secret",
          "a newline alone" },
        { S(A32 "\n" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n"),
          "f:2: the secret is 31 bytes; each needs at least 32",
          "31 bytes and a \\r\\n" }
    };

    for (i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
        s = &poison;
        n = 7;
        rc = kvs_test_secrets(fails[i].bytes, fails[i].len, &s, &n, err,
                              sizeof(err));
        CHECK(rc == -1 && s == NULL && n == 0, fails[i].desc);
        kvs_test_str(err, fails[i].want, fails[i].desc);
    }

    rc = kvs_secrets_load("missing", KVS_SECRET_MIN, &s, &n, err,
                          sizeof(err));
    snprintf(want, sizeof(want), "missing: %s", strerror(ENOENT));
    CHECK(rc == -1 && s == NULL, "secrets: a missing file fails");
    kvs_test_str(err, want, "secrets: a missing file: <path>: <strerror>");

    rc = kvs_secrets_load(".", KVS_SECRET_MIN, &s, &n, err, sizeof(err));
    snprintf(want, sizeof(want), ".: %s", strerror(EISDIR));
    kvs_test_str(err, want, "secrets: a directory: <path>: <strerror>");

    /* root reads anything, so the test only means something for others */
    kvs_test_write("noperm", S(A32));
    chmod("noperm", 0);

    if (geteuid() != 0) {
        rc = kvs_secrets_load("noperm", KVS_SECRET_MIN, &s, &n, err,
                              sizeof(err));
        snprintf(want, sizeof(want), "noperm: %s", strerror(EACCES));
        CHECK(rc == -1 && strcmp(err, want) == 0,
              "secrets: an unreadable file: <path>: <strerror>");

    } else {
        kvs_test_skip("secrets: an unreadable file", "running as root");
    }

    unlink("noperm");

    kvs_test_write("f", S("short\n"));
    rc = kvs_secrets_load("f", KVS_SECRET_MIN, &s, &n, NULL, 0);
    CHECK(rc == -1 && s == NULL, "secrets: no err buffer, still fails");

    memset(err, 'x', sizeof(err));
    rc = kvs_secrets_load("f", KVS_SECRET_MIN, &s, &n, err, 6);
    CHECK(rc == -1 && strcmp(err, "f:1: ") == 0 && err[6] == 'x',
          "secrets: a short err buffer is cut and terminated");
}


static void
kvs_test_password_good(void)
{
    int     rc;
    char   *pw, err[256];
    size_t  len;

    rc = kvs_test_password(S("correct horse\n"), &pw, &len, err,
                           sizeof(err));
    CHECK(rc == 0 && len == 13 && strcmp(pw, "correct horse") == 0,
          "password: one line, its newline dropped, NUL-terminated");
    kvs_password_free(pw, len);

    rc = kvs_test_password(S("12345678"), &pw, &len, err, sizeof(err));
    CHECK(rc == 0 && len == 8 && strcmp(pw, "12345678") == 0,
          "password: 8 bytes, no final newline");
    kvs_password_free(pw, len);

    rc = kvs_test_password(S(" pass word \r\n"), &pw, &len, err,
                           sizeof(err));
    CHECK(rc == 0 && len == 11 && strcmp(pw, " pass word ") == 0,
          "password: CRLF dropped, blanks kept");
    kvs_password_free(pw, len);

    kvs_password_free(NULL, 0);
    CHECK(1, "password: freeing NULL is harmless");
}


static void
kvs_test_password_bad(void)
{
    int     rc;
    char   *pw, err[256], want[300];
    size_t  i, len;

    static const kvs_test_fail_t  fails[] = {
        { S(""),
          "f: the file holds no password",
          "password: an empty file" },
        { S("\n"),
          "f:1: the password is 0 bytes; it needs at least 8",
          "password: a newline alone" },
        { S("1234567\n"),
          "f:1: the password is 7 bytes; it needs at least 8",
          "password: 7 bytes" },
        { S("1234567\r\n"),
          "f:1: the password is 7 bytes; it needs at least 8",
          "password: 7 bytes and a \\r\\n" },
        { S("correct horse\nbattery staple\n"),
          "f:2: the file has more than one line; the password is its only "
          "line",
          "password: two lines" },
        { S("correct horse\n\n"),
          "f:2: the file has more than one line; the password is its only "
          "line",
          "password: a blank line after it" },
        { S("correct\0horse\n"),
          "f:1: the password contains a NUL byte",
          "password: a NUL byte" }
    };

    for (i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
        pw = err;
        len = 7;
        rc = kvs_test_password(fails[i].bytes, fails[i].len, &pw, &len, err,
                               sizeof(err));
        CHECK(rc == -1 && pw == NULL && len == 0, fails[i].desc);
        kvs_test_str(err, fails[i].want, fails[i].desc);
    }

    rc = kvs_password_file_load("missing", &pw, &len, err, sizeof(err));
    snprintf(want, sizeof(want), "missing: %s", strerror(ENOENT));
    CHECK(rc == -1 && pw == NULL, "password: a missing file fails");
    kvs_test_str(err, want, "password: a missing file: <path>: <strerror>");

    CHECK(KVS_PASSWORD_MIN == 8, "password: the minimum is 8 bytes");
}


static void
kvs_test_cleanup(void)
{
    unlink("f");

    if (chdir("/") == 0) {
        rmdir(kvs_test_dir);
    }
}


static int
kvs_test_setup(void)
{
    if (mkdtemp(kvs_test_dir) == NULL || chdir(kvs_test_dir) != 0) {
        printf("Bail out! temp dir: %s\n", strerror(errno));
        return -1;
    }

    return 0;
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_secrets_good),
    KVS_TEST_CASE(kvs_test_secrets_large),
    KVS_TEST_CASE(kvs_test_secrets_bad),
    KVS_TEST_CASE(kvs_test_password_good),
    KVS_TEST_CASE(kvs_test_password_bad),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    kvs_test_setup, kvs_test_cleanup, kvs_test_cases
};
