/*
 * Unit tests for src/kvs/kvs_record.c and src/kvs/kvs_merkle.c, printed as
 * TAP.
 *
 * These are the pure functions every other part of the store relies on:
 * the on-disk record header, the one version comparison, uuids and the key
 * validator whose sentences reach clients verbatim in 400 answers.  The
 * header layout is checked byte by byte because a data directory must mean
 * the same thing to every build.  It exits non-zero when any check fails.
 *
 *   gcc -std=gnu11 -Wall -Wextra -Werror -g -fsanitize=address,undefined \
 *       -Isrc/kvs t/unit/test_record.c src/kvs/kvs_record.c \
 *       src/kvs/kvs_merkle.c src/kvs/kvs_crypto.c -lcrypto \
 *       -o /tmp/test_record && /tmp/test_record
 *
 * getrandom() and getentropy(), which OpenSSL seeds its generator from,
 * are defined here, in front of the C library's, so that one case can
 * make them fail in a child process; otherwise they are the system call
 * itself.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "kvs_merkle.h"
#include "kvs_record.h"

#include "kvs_test.h"


#define KVS_TEST_NUUIDS  10000
#define KVS_TEST_NOENT   64



static int  kvs_test_no_entropy;


ssize_t
getrandom(void *buf, size_t buflen, unsigned int flags)
{
    if (kvs_test_no_entropy) {
        errno = ENOSYS;
        return -1;
    }

    return syscall(SYS_getrandom, buf, buflen, flags);
}


int
getentropy(void *buf, size_t buflen)
{
    if (kvs_test_no_entropy) {
        errno = ENOSYS;
        return -1;
    }

    return (syscall(SYS_getrandom, buf, buflen, 0) == (long) buflen) ? 0 : -1;
}


static void
kvs_test_fill(uint8_t *p, size_t n, uint8_t first)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        p[i] = (uint8_t) (first + i);
    }
}


static void
kvs_test_ints(void)
{
    uint8_t  b[8];

    kvs_put_u16(b, 0x1234);
    CHECK(b[0] == 0x34 && b[1] == 0x12 && kvs_get_u16(b) == 0x1234,
          "u16 is little-endian and reads back");

    kvs_put_u32(b, 0x89abcdef);
    CHECK(b[0] == 0xef && b[3] == 0x89 && kvs_get_u32(b) == 0x89abcdef,
          "u32 is little-endian and reads back");

    kvs_put_u64(b, 0x0102030405060708ULL);
    CHECK(b[0] == 0x08 && b[7] == 0x01
          && kvs_get_u64(b) == 0x0102030405060708ULL,
          "u64 is little-endian and reads back");

    kvs_put_be64(b, 0x0102030405060708ULL);
    CHECK(b[0] == 0x01 && b[7] == 0x08
          && kvs_get_be64(b) == 0x0102030405060708ULL,
          "be64 is big-endian and reads back");

    kvs_put_u64(b, UINT64_MAX);
    CHECK(kvs_get_u64(b) == UINT64_MAX, "u64 max reads back");
}


static void
kvs_test_sample_hdr(kvs_record_hdr_t *h)
{
    memset(h, 0, sizeof(kvs_record_hdr_t));

    h->format = KVS_RECORD_FORMAT;
    h->flags = KVS_FLAG_COMPRESSED;
    h->permissions = 0750;
    h->version.timestamp = 0x0123456789abcdefULL;
    kvs_test_fill(h->version.uuid, KVS_UUID_LEN, 0x10);
    h->created_at = 1700000000000ULL;
    h->expires_at = 1800000000000ULL;
    kvs_test_fill(h->owner, KVS_UUID_LEN, 0x40);
    kvs_test_fill(h->group, KVS_UUID_LEN, 0x80);
    h->value_len = 5;
    h->raw_len = 7;
    h->key_len = 0;
}


static void
kvs_test_record(void)
{
    uint8_t           buf[KVS_RECORD_HDR_SIZE + 16];
    kvs_record_hdr_t  h, d;

    kvs_test_sample_hdr(&h);

    memset(buf, 0xee, sizeof(buf));
    kvs_record_encode(&h, buf);
    memcpy(buf + KVS_RECORD_HDR_SIZE, "hello", 5);

    CHECK(buf[0] == KVS_RECORD_FORMAT && buf[1] == KVS_FLAG_COMPRESSED,
          "encode: format and flags at bytes 0 and 1");
    CHECK(kvs_get_u16(buf + 2) == 0750, "encode: permissions at byte 2");
    CHECK(kvs_get_u32(buf + 4) == 5, "encode: value_len at byte 4");
    CHECK(kvs_get_u64(buf + 8) == 0x0123456789abcdefULL
          && memcmp(buf + 16, h.version.uuid, KVS_UUID_LEN) == 0,
          "encode: timestamp at byte 8, uuid at byte 16");
    CHECK(kvs_get_u64(buf + 32) == h.created_at
          && kvs_get_u64(buf + 40) == h.expires_at,
          "encode: created_at at byte 32, expires_at at byte 40");
    CHECK(memcmp(buf + 48, h.owner, KVS_UUID_LEN) == 0
          && memcmp(buf + 64, h.group, KVS_UUID_LEN) == 0,
          "encode: owner at byte 48, group at byte 64");
    CHECK(kvs_get_u32(buf + 80) == 7 && kvs_get_u16(buf + 84) == 0
          && kvs_get_u16(buf + 86) == 0,
          "encode: raw_len at byte 80, key_len 0 at 84, reserved zero");

    memset(&d, 0x5a, sizeof(d));
    CHECK(kvs_record_decode(&d, buf, KVS_RECORD_HDR_SIZE + 5) == 0,
          "decode: header + value_len bytes is accepted");
    CHECK(d.format == h.format && d.flags == h.flags
          && d.permissions == h.permissions
          && kvs_version_cmp(&d.version, &h.version) == 0
          && d.created_at == h.created_at && d.expires_at == h.expires_at
          && memcmp(d.owner, h.owner, KVS_UUID_LEN) == 0
          && memcmp(d.group, h.group, KVS_UUID_LEN) == 0
          && d.value_len == h.value_len && d.raw_len == h.raw_len
          && d.key_len == 0,
          "decode: every field round-trips");

    CHECK(kvs_record_decode(&d, buf, KVS_RECORD_HDR_SIZE - 1) != 0,
          "decode rejects 87 bytes (short header)");
    CHECK(kvs_record_decode(&d, buf, 0) != 0, "decode rejects 0 bytes");
    CHECK(kvs_record_decode(&d, buf, KVS_RECORD_HDR_SIZE + 4) != 0,
          "decode rejects a value shorter than value_len");
    CHECK(kvs_record_decode(&d, buf, KVS_RECORD_HDR_SIZE + 6) != 0,
          "decode rejects bytes past value_len");

    buf[0] = KVS_RECORD_FORMAT + 1;
    CHECK(kvs_record_decode(&d, buf, KVS_RECORD_HDR_SIZE + 5) != 0,
          "decode rejects an unknown format");
    buf[0] = 0;
    CHECK(kvs_record_decode(&d, buf, KVS_RECORD_HDR_SIZE + 5) != 0,
          "decode rejects format 0");

    /* a long path's record: header, key_len bytes of path, the value */
    h.key_len = 3;
    kvs_record_encode(&h, buf);
    memcpy(buf + KVS_RECORD_HDR_SIZE, "a/bhello", 8);

    CHECK(kvs_get_u16(buf + 84) == 3 && kvs_get_u16(buf + 86) == 0,
          "encode: key_len at byte 84, reserved bytes 86-87 zero");
    CHECK(kvs_record_decode(&d, buf, KVS_RECORD_HDR_SIZE + 8) == 0
          && d.key_len == 3 && d.value_len == 5,
          "decode: header + key_len + value_len bytes is accepted");
    CHECK(kvs_record_decode(&d, buf, KVS_RECORD_HDR_SIZE + 5) != 0,
          "decode rejects a record without its key_len bytes");
    CHECK(kvs_record_decode(&d, buf, KVS_RECORD_HDR_SIZE + 9) != 0,
          "decode rejects bytes past key_len + value_len");

    /* a tombstone: no value at all */
    h.flags = KVS_FLAG_TOMBSTONE;
    h.value_len = 0;
    h.raw_len = 0;
    h.key_len = 0;
    kvs_record_encode(&h, buf);
    CHECK(kvs_record_decode(&d, buf, KVS_RECORD_HDR_SIZE) == 0
          && d.flags == KVS_FLAG_TOMBSTONE && d.value_len == 0,
          "decode: a bare 88-byte tombstone header");
}


static void
kvs_test_version(void)
{
    kvs_version_t  a, b;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));

    a.timestamp = 1000;
    b.timestamp = 1001;
    memset(a.uuid, 0xff, KVS_UUID_LEN);

    CHECK(kvs_version_cmp(&a, &b) < 0 && kvs_version_cmp(&b, &a) > 0,
          "version: the later timestamp wins whatever the uuids");

    b.timestamp = 1000;
    CHECK(kvs_version_cmp(&a, &b) > 0 && kvs_version_cmp(&b, &a) < 0,
          "version: same timestamp, the greater uuid wins");

    b.uuid[KVS_UUID_LEN - 1] = 0x01;
    a = b;
    CHECK(kvs_version_cmp(&a, &b) == 0, "version: equal versions compare 0");

    a.uuid[KVS_UUID_LEN - 1] = 0x02;
    CHECK(kvs_version_cmp(&a, &b) > 0,
          "version: uuids compare as bytes, last byte counts");

    a.timestamp = UINT64_MAX;
    b.timestamp = 0;
    CHECK(kvs_version_cmp(&a, &b) > 0 && kvs_version_cmp(&b, &a) < 0,
          "version: extreme timestamps do not overflow");
}


static int
kvs_test_uuid_cmp(const void *a, const void *b)
{
    return memcmp(a, b, KVS_UUID_LEN);
}


static void
kvs_test_uuid(void)
{
    int       v4, dup;
    char      s[KVS_UUID_STR_LEN + 1];
    size_t    i;
    uint8_t   u[KVS_UUID_LEN], p[KVS_UUID_LEN], *all;

    static const char  *bad[] = {
        "00112233-4455-6677-8899-aabbccddeef",     /* 35 chars */
        "00112233-4455-6677-8899-aabbccddeeff0",   /* 37 chars */
        "00112233a4455-6677-8899-aabbccddeeff",    /* no first dash */
        "00112233-4455-6677-8899aaabbccddeeff",    /* no last dash */
        "0011223-34455-6677-8899-aabbccddeeff",    /* dash moved */
        "00112233-4455-6677-8899-aabbccddeefg",    /* not hex */
        "00112233-4455-6677-8899-aabbccddee f",    /* space */
        "-0112233-4455-6677-8899-aabbccddeeff",    /* dash for a digit */
        "{0112233-4455-6677-8899-aabbccddeeff",
        NULL
    };

    for (i = 0; i < KVS_UUID_LEN; i++) {
        u[i] = (uint8_t) (i * 0x11);
    }

    memset(s, 0, sizeof(s));
    kvs_uuid_format(u, s);
    kvs_test_str(s, "00112233-4455-6677-8899-aabbccddeeff",
                 "uuid format: lowercase 8-4-4-4-12");
    CHECK(s[KVS_UUID_STR_LEN] == '\0', "uuid format writes exactly 36 chars");

    memset(p, 0, sizeof(p));
    CHECK(kvs_uuid_parse(p, s, KVS_UUID_STR_LEN) == 0
          && memcmp(p, u, KVS_UUID_LEN) == 0,
          "uuid parse: round trip of format");

    memset(p, 0, sizeof(p));
    CHECK(kvs_uuid_parse(p, "00112233-4455-6677-8899-AABBCCDDEEFF",
                         KVS_UUID_STR_LEN) == 0
          && memcmp(p, u, KVS_UUID_LEN) == 0,
          "uuid parse: uppercase hex is accepted");

    CHECK(kvs_uuid_parse(p, s, KVS_UUID_STR_LEN - 1) != 0,
          "uuid parse rejects a length of 35 over a valid string");
    CHECK(kvs_uuid_parse(p, "", 0) != 0, "uuid parse rejects empty");

    for (i = 0; bad[i] != NULL; i++) {
        char  desc[128];

        snprintf(desc, sizeof(desc), "uuid parse rejects \"%s\"", bad[i]);
        CHECK(kvs_uuid_parse(p, bad[i], strlen(bad[i])) != 0, desc);
    }

    all = malloc((size_t) KVS_TEST_NUUIDS * KVS_UUID_LEN);
    if (all == NULL) {
        printf("Bail out! out of memory\n");
        exit(2);
    }

    v4 = 1;

    for (i = 0; i < KVS_TEST_NUUIDS; i++) {
        kvs_uuid_generate(all + i * KVS_UUID_LEN);

        if ((all[i * KVS_UUID_LEN + 6] & 0xf0) != 0x40
            || (all[i * KVS_UUID_LEN + 8] & 0xc0) != 0x80)
        {
            v4 = 0;
        }
    }

    CHECK(v4, "uuid generate: 10,000 uuids all carry version 4, variant 10");

    qsort(all, KVS_TEST_NUUIDS, KVS_UUID_LEN, kvs_test_uuid_cmp);

    dup = 0;
    for (i = 1; i < KVS_TEST_NUUIDS; i++) {
        if (memcmp(all + (i - 1) * KVS_UUID_LEN, all + i * KVS_UUID_LEN,
                   KVS_UUID_LEN) == 0)
        {
            dup++;
        }
    }

    CHECK(dup == 0, "uuid generate: 10,000 uuids are all different");

    kvs_uuid_format(all, s);
    CHECK(kvs_uuid_parse(p, s, KVS_UUID_STR_LEN) == 0
          && memcmp(p, all, KVS_UUID_LEN) == 0,
          "uuid: a generated uuid round-trips through format and parse");

    free(all);
}


/*
 * Where getrandom() is missing or filtered (old kernels, seccomp), a uuid
 * must still be unique, or the process must stop; a version uuid read
 * from whatever lies past the entropy pool is neither.  The child is a
 * new process, so its first uuid refills the pool.
 */

/* a child of this test, its output flushed first so it is not printed
 * twice; bails out when fork() fails */

static pid_t
kvs_test_fork(void)
{
    pid_t  pid;

    fflush(stdout);

    pid = fork();

    if (pid == -1) {
        printf("Bail out! fork: %s\n", strerror(errno));
        exit(2);
    }

    return pid;
}


/* a child forked with a partly used buffer makes its own uuids, not the
 * ones its parent makes next */

static void
kvs_test_uuid_fork(void)
{
    int      fd[2], status;
    pid_t    pid;
    uint8_t  mine[KVS_UUID_LEN], parent[KVS_UUID_LEN], child[KVS_UUID_LEN];

    kvs_uuid_generate(mine);

    if (pipe(fd) == -1) {
        printf("Bail out! pipe: %s\n", strerror(errno));
        exit(2);
    }

    pid = kvs_test_fork();

    if (pid == 0) {
        kvs_uuid_generate(child);
        _exit(write(fd[1], child, sizeof(child)) == sizeof(child) ? 0 : 1);
    }

    kvs_uuid_generate(parent);

    CHECK(read(fd[0], child, sizeof(child)) == sizeof(child)
          && waitpid(pid, &status, 0) == pid && WIFEXITED(status)
          && WEXITSTATUS(status) == 0, "uuid fork: the child made one");
    CHECK(memcmp(parent, child, KVS_UUID_LEN) != 0,
          "uuid fork: the child's first uuid is not its parent's next");

    close(fd[0]);
    close(fd[1]);
}


static void
kvs_test_uuid_no_entropy(void)
{
    int      status, dup;
    pid_t    pid;
    size_t   i, j;
    uint8_t  u[KVS_TEST_NOENT][KVS_UUID_LEN];

    pid = kvs_test_fork();

    if (pid == 0) {
        kvs_test_no_entropy = 1;
        dup = 0;

        for (i = 0; i < KVS_TEST_NOENT; i++) {
            kvs_uuid_generate(u[i]);

            for (j = 0; j < i; j++) {
                if (memcmp(u[i], u[j], KVS_UUID_LEN) == 0) {
                    dup++;
                }
            }
        }

        _exit(dup ? 1 : 0);
    }

    if (waitpid(pid, &status, 0) != pid) {
        printf("Bail out! waitpid: %s\n", strerror(errno));
        exit(2);
    }

    CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0)
          || (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT),
          "uuid generate without getrandom: 64 different uuids, or abort");

    if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
        printf("#   the child generated duplicate uuids\n");
    }
}


static void
kvs_test_key_one(const char *path, size_t len, const char *want,
    const char *desc)
{
    kvs_test_str(kvs_key_check(path, len), want, desc);
}


static void
kvs_test_key(void)
{
    char        big[KVS_KEY_MAX + 2];
    const char *dots, *empty, *ctl;

    dots = "the key has a \".\" or \"..\" segment";
    empty = "the key has an empty segment";
    ctl = "the key contains a control character";

    kvs_test_key_one("users/john/profile", 18, NULL,
                     "key \"users/john/profile\" is valid");
    kvs_test_key_one("a", 1, NULL, "key \"a\" is valid");
    kvs_test_key_one("caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", 12, NULL,
                     "key with UTF-8 bytes is valid");
    kvs_test_key_one("caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac", 11,
                     "the key is not valid UTF-8",
                     "a key cut inside a UTF-8 sequence is refused");
    kvs_test_key_one("a/\xff", 3, "the key is not valid UTF-8",
                     "a key with a byte that is never UTF-8 is refused");
    kvs_test_key_one("\xc0\xaf", 2, "the key is not valid UTF-8",
                     "an overlong form of '/' is refused");
    kvs_test_key_one("e/\xf0\x9f\x98\x80", 6, NULL,
                     "a key with a 4-byte UTF-8 sequence is valid");
    kvs_test_key_one("a/\x80", 3, "the key is not valid UTF-8",
                     "a lone continuation byte is refused");
    kvs_test_key_one("a/\xed\xa0\x80", 5, "the key is not valid UTF-8",
                     "a UTF-16 surrogate encoded as UTF-8 is refused");
    kvs_test_key_one("a/\xf4\x90\x80\x80", 6, "the key is not valid UTF-8",
                     "a code point past U+10FFFF is refused");
    kvs_test_key_one("...", 3, NULL, "key \"...\" is valid");
    kvs_test_key_one(".a/..b/a.", 9, NULL,
                     "segments merely containing dots are valid");
    kvs_test_key_one("a b~!@#$%^&*()", 14, NULL,
                     "printable ASCII punctuation and space are valid");

    memset(big, 'k', sizeof(big));
    kvs_test_key_one(big, KVS_KEY_MAX, NULL, "a 1024-byte key is valid");
    kvs_test_key_one(big, KVS_KEY_MAX + 1, "the key is longer than 1024 bytes",
                     "a 1025-byte key: longer than 1024 bytes");

    kvs_test_key_one("", 0, "the key is empty", "empty key");
    kvs_test_key_one("/a", 2, empty, "\"/a\": empty segment");
    kvs_test_key_one("a/", 2, empty, "\"a/\": empty segment");
    kvs_test_key_one("a//b", 4, empty, "\"a//b\": empty segment");
    kvs_test_key_one("/", 1, empty, "\"/\": empty segment");
    kvs_test_key_one(".", 1, dots, "\".\": dot segment");
    kvs_test_key_one("..", 2, dots, "\"..\": dot segment");
    kvs_test_key_one("a/./b", 5, dots, "\"a/./b\": dot segment");
    kvs_test_key_one("a/../b", 6, dots, "\"a/../b\": dot segment");
    kvs_test_key_one("a/..", 4, dots, "\"a/..\": trailing dot segment");
    kvs_test_key_one("a\x01" "b", 3, ctl, "0x01 is a control character");
    kvs_test_key_one("a\x7f" "b", 3, ctl, "0x7f is a control character");
    kvs_test_key_one("a\x1f", 2, ctl, "0x1f is a control character");
    kvs_test_key_one("a\nb", 3, ctl, "a newline is a control character");
    kvs_test_key_one("a\0b", 3, ctl, "a NUL byte is a control character");
}


static void
kvs_test_merkle(void)
{
    int            same;
    size_t         i;
    uint8_t        d1[KVS_MERKLE_DIGEST_LEN], d2[KVS_MERKLE_DIGEST_LEN];
    uint8_t        acc[KVS_MERKLE_DIGEST_LEN];
    kvs_version_t  v;

    memset(&v, 0, sizeof(v));
    v.timestamp = 1000;
    kvs_test_fill(v.uuid, KVS_UUID_LEN, 1);

    CHECK(kvs_merkle_bucket('d', "a/b", 3) == kvs_merkle_bucket('d', "a/b", 3),
          "merkle: a key's bucket is deterministic");

    same = 1;
    for (i = 0; i < 64; i++) {
        char  k[16];
        int   n;

        n = snprintf(k, sizeof(k), "k%zu", i);
        if (kvs_merkle_bucket('d', k, n) != kvs_merkle_bucket('u', k, n)) {
            same = 0;
        }
    }
    CHECK(!same, "merkle: the namespace takes part in the bucket");

    kvs_merkle_digest(d1, 'd', "a/b", 3, &v, 0);
    kvs_merkle_digest(d2, 'd', "a/b", 3, &v, 0);
    CHECK(memcmp(d1, d2, sizeof(d1)) == 0, "merkle: digest is deterministic");

    kvs_merkle_digest(d2, 'd', "a/b", 3, &v, KVS_FLAG_TOMBSTONE);
    CHECK(memcmp(d1, d2, sizeof(d1)) != 0, "merkle: flags change the digest");

    /* whether a value is compressed or swept is this node's business:
     * nodes that differ only in that must agree */
    kvs_merkle_digest(d2, 'd', "a/b", 3, &v, KVS_FLAG_COMPRESSED);
    CHECK(memcmp(d1, d2, sizeof(d1)) == 0,
          "merkle: the compressed flag leaves the digest as it is");

    kvs_merkle_digest(d2, 'd', "a/b", 3, &v, KVS_FLAG_EXPIRED);
    CHECK(memcmp(d1, d2, sizeof(d1)) == 0,
          "merkle: the expired flag leaves the digest as it is");

    kvs_merkle_digest(acc, 'd', "a/b", 3, &v, KVS_FLAG_TOMBSTONE);
    kvs_merkle_digest(d2, 'd', "a/b", 3, &v,
                      KVS_FLAG_TOMBSTONE|KVS_FLAG_COMPRESSED|KVS_FLAG_EXPIRED);
    CHECK(memcmp(acc, d2, sizeof(acc)) == 0,
          "merkle: of the flags, only the tombstone counts");

    kvs_merkle_digest(d2, 'u', "a/b", 3, &v, 0);
    CHECK(memcmp(d1, d2, sizeof(d1)) != 0,
          "merkle: the namespace changes the digest");

    v.timestamp++;
    kvs_merkle_digest(d2, 'd', "a/b", 3, &v, 0);
    CHECK(memcmp(d1, d2, sizeof(d1)) != 0,
          "merkle: the timestamp changes the digest");
    v.timestamp--;

    v.uuid[15] ^= 1;
    kvs_merkle_digest(d2, 'd', "a/b", 3, &v, 0);
    CHECK(memcmp(d1, d2, sizeof(d1)) != 0,
          "merkle: the uuid changes the digest");

    memset(acc, 0, sizeof(acc));
    kvs_merkle_xor(acc, d1);
    kvs_merkle_xor(acc, d2);
    kvs_merkle_xor(acc, d1);
    CHECK(memcmp(acc, d2, sizeof(acc)) == 0,
          "merkle: xor takes a digest out again");
}


/* what a reader may see: neither deleted, nor swept, nor past expiry */

static void
kvs_test_live(void)
{
    kvs_record_hdr_t  h;

    memset(&h, 0, sizeof(h));
    h.format = KVS_RECORD_FORMAT;

    CHECK(kvs_record_live(&h, 0) && kvs_record_live(&h, UINT64_MAX),
          "live: a record without expiry is live at any time");

    h.expires_at = 1500;
    CHECK(kvs_record_live(&h, 1499), "live: a millisecond before expiry");
    CHECK(!kvs_record_live(&h, 1500), "live: not at expires_at");
    CHECK(!kvs_record_live(&h, 1501), "live: not after expires_at");

    h.flags = KVS_FLAG_COMPRESSED;
    CHECK(kvs_record_live(&h, 1000),
          "live: a compressed value is live before its expiry");

    h.flags = KVS_FLAG_EXPIRED;
    CHECK(!kvs_record_live(&h, 1000),
          "live: a swept record is gone even before its expires_at");

    h.flags = KVS_FLAG_TOMBSTONE;
    h.expires_at = 0;
    CHECK(!kvs_record_live(&h, 1000), "live: a tombstone is gone");
}


static void
kvs_test_decide(void)
{
    kvs_version_t  held, in;

    memset(&held, 0, sizeof(held));
    held.timestamp = 1000;
    held.uuid[0] = 5;
    in = held;

    CHECK(kvs_version_decide(NULL, &in) == KVS_VERSION_NEWER,
          "decide: anything is newer than nothing");
    CHECK(kvs_version_decide(&held, &in) == KVS_VERSION_SAME,
          "decide: the same version");
    in.timestamp = 1001;
    CHECK(kvs_version_decide(&held, &in) == KVS_VERSION_NEWER,
          "decide: a later timestamp wins");
    in.timestamp = 999;
    in.uuid[0] = 9;
    CHECK(kvs_version_decide(&held, &in) == KVS_VERSION_OLDER,
          "decide: an earlier timestamp loses, whatever its uuid");
    in.timestamp = 1000;
    CHECK(kvs_version_decide(&held, &in) == KVS_VERSION_CONFLICT,
          "decide: the same timestamp with another uuid is a conflict");
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_ints),
    KVS_TEST_CASE(kvs_test_record),
    KVS_TEST_CASE(kvs_test_version),
    KVS_TEST_CASE(kvs_test_live),
    KVS_TEST_CASE(kvs_test_decide),
    KVS_TEST_CASE(kvs_test_uuid),
    KVS_TEST_CASE(kvs_test_uuid_fork),
    KVS_TEST_CASE(kvs_test_uuid_no_entropy),
    KVS_TEST_CASE(kvs_test_key),
    KVS_TEST_CASE(kvs_test_merkle),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    NULL, NULL, kvs_test_cases
};
