/*
 * Unit tests for src/kvs/kvs_crypto.c, printed as TAP.
 *
 * The known answers are the published ones: SHA3-512 from the NIST
 * examples of FIPS 202 ("" and "abc"), HMAC-SHA256 from RFC 4231 (test
 * cases 1 and 2), scrypt from RFC 7914, section 12 (its first two
 * vectors), base64 from RFC 4648, section 10, in the url alphabet without
 * padding.  The rest checks the stored password strings: a round trip, a
 * wrong password, every field of a string malformed, and parameters past
 * the caps refused before any KDF runs.  It exits non-zero when any check
 * fails.
 */

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvs_crypto.h"

#include "kvs_test.h"


#define S(s)            s, sizeof(s) - 1

#define KVS_TEST_SALT   "AAECAwQFBgcICQoLDA0ODw"        /* bytes 0..15 */
#define KVS_TEST_HASH   "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8"
                                                        /* bytes 32..63 */
#define KVS_TEST_PARAMS "$scrypt$ln=4,r=1,p=1$"

#define KVS_TEST_THREADS  4


typedef struct {
    const char  *in;
    const char  *out;
} kvs_test_b64_t;


/* an input to refuse, and what is wrong with it */
typedef struct {
    const char  *in;
    const char  *desc;
} kvs_test_bad_t;


/* the lowercase hex of len bytes, in a buffer of the caller's */

static const char *
kvs_test_hex(const uint8_t *b, size_t len, char *out)
{
    kvs_hex(out, b, len);
    out[2 * len] = '\0';

    return out;
}


static void
kvs_test_digests(void)
{
    int          rc;
    char         hex[2 * KVS_SHA3_512_LEN + 1];
    size_t       i;
    uint8_t      md[KVS_SHA3_512_LEN];

    static const struct {
        int         (*digest)(const void *data, size_t len, uint8_t *out);
        size_t        len;
        const char   *in;                /* NULL: "" as a NULL pointer */
        const char   *want;
        const char   *desc;
    } vectors[] = {
        { kvs_sha3_512, KVS_SHA3_512_LEN, NULL,
          "a69f73cca23a9ac5c8b567dc185a756e97c982164fe25859e0d1dcc1"
          "475c80a615b2123af1f5f94c11e3e9402c3ac558f500199d95b6d3e3"
          "01758586281dcd26",
          "SHA3-512 of \"\" (FIPS 202)" },
        { kvs_sha3_512, KVS_SHA3_512_LEN, "abc",
          "b751850b1a57168a5693cd924b6b096e08f621827444f70d884f5d02"
          "40d2712e10e116e9192af3c91a7ec57647e3934057340b4cf408d5a5"
          "6592f8274eec53f0",
          "SHA3-512 of \"abc\" (FIPS 202)" },
        { kvs_sha256, KVS_SHA256_LEN, "abc",
          "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61"
          "f20015ad",
          "SHA-256 of \"abc\" (FIPS 180-4)" },
        { kvs_sha256, KVS_SHA256_LEN, "",
          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
          "7852b855",
          "SHA-256 of \"\"" }
    };

    CHECK(kvs_crypto_init() == 0, "init: the algorithms are there");
    CHECK(kvs_crypto_init() == 0, "init: a second call is harmless");

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        rc = vectors[i].digest(vectors[i].in,
                               vectors[i].in ? strlen(vectors[i].in) : 0,
                               md);
        kvs_test_str(rc == 0 ? kvs_test_hex(md, vectors[i].len, hex) : NULL,
                     vectors[i].want, vectors[i].desc);
    }
}


static void
kvs_test_hmac(void)
{
    int      rc;
    char     hex[2 * KVS_SHA256_LEN + 1];
    uint8_t  key[131], mac[KVS_SHA256_LEN];

    memset(key, 0x0b, 20);
    rc = kvs_hmac_sha256(key, 20, "Hi There", 8, mac);
    kvs_test_str(rc == 0 ? kvs_test_hex(mac, KVS_SHA256_LEN, hex) : NULL,
                 "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c"
                 "2e32cff7",
                 "HMAC-SHA256: RFC 4231 test case 1");

    rc = kvs_hmac_sha256((const uint8_t *) "Jefe", 4,
                         "what do ya want for nothing?", 28, mac);
    kvs_test_str(rc == 0 ? kvs_test_hex(mac, KVS_SHA256_LEN, hex) : NULL,
                 "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b9"
                 "64ec3843",
                 "HMAC-SHA256: RFC 4231 test case 2");

    /* RFC 4231 test case 6: a key past the block, hashed first */
    memset(key, 0xaa, sizeof(key));
    rc = kvs_hmac_sha256(key, sizeof(key),
                         "Test Using Larger Than Block-Size Key - Hash Key "
                         "First", 54, mac);
    kvs_test_str(rc == 0 ? kvs_test_hex(mac, KVS_SHA256_LEN, hex) : NULL,
                 "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f"
                 "0ee37f54",
                 "HMAC-SHA256: RFC 4231 test case 6, a 131-byte key");

    /* openssl dgst -sha256 -mac HMAC -macopt hexkey: </dev/null */
    rc = kvs_hmac_sha256(NULL, 0, NULL, 0, mac);
    kvs_test_str(rc == 0 ? kvs_test_hex(mac, KVS_SHA256_LEN, hex) : NULL,
                 "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c71214"
                 "4292c5ad",
                 "HMAC-SHA256: empty key and data as NULL");
}


/* vectors of Python's hmac and hashlib.sha3_512 */

static void
kvs_test_hmac_sha3(void)
{
    int              rc;
    char             hex[2 * KVS_SHA3_512_LEN + 1];
    uint8_t          key[131], mac[KVS_SHA3_512_LEN];
    kvs_hmac_key_t  *k;

    rc = kvs_hmac_sha3_512((const uint8_t *) "Jefe", 4,
                           "what do ya want for nothing?", 28, mac);
    kvs_test_str(rc == 0 ? kvs_test_hex(mac, KVS_SHA3_512_LEN, hex) : NULL,
                 "5a4bfeab6166427c7a3647b747292b8384537cdb89afb3bf5665e4c5"
                 "e709350b287baec921fd7ca0ee7a0c31d022a95e1fc92ba9d77df883"
                 "960275beb4e62024",
                 "HMAC-SHA3-512: a short key");

    memset(key, 0xaa, sizeof(key));
    rc = kvs_hmac_sha3_512(key, sizeof(key),
                           "Test Using Larger Than Block-Size Key - Hash "
                           "Key First", 54, mac);
    kvs_test_str(rc == 0 ? kvs_test_hex(mac, KVS_SHA3_512_LEN, hex) : NULL,
                 "00f751a9e50695b090ed6911a4b65524951cdc15a73a5d58bb55215e"
                 "a2cd839ac79d2b44a39bafab27e83fde9e11f6340b11d991b1b91bf2"
                 "eee7fc872426c3a4",
                 "HMAC-SHA3-512: a 131-byte key, past the 72-byte block");

    /* a key set up once gives the same MACs, again and again */
    k = kvs_hmac_key_new(key, sizeof(key));
    rc = k ? kvs_hmac_keyed(k, "Test Using Larger Than Block-Size Key - "
                            "Hash Key First", 54, mac)
           : -1;
    rc |= k ? kvs_hmac_keyed(k, "Test Using Larger Than Block-Size Key - "
                             "Hash Key First", 54, mac)
            : -1;
    kvs_test_str(rc == 0 ? kvs_test_hex(mac, KVS_SHA3_512_LEN, hex) : NULL,
                 "00f751a9e50695b090ed6911a4b65524951cdc15a73a5d58bb55215e"
                 "a2cd839ac79d2b44a39bafab27e83fde9e11f6340b11d991b1b91bf2"
                 "eee7fc872426c3a4",
                 "HMAC-SHA3-512 under a key set up once, the second time");
    kvs_hmac_key_free(k);

    k = kvs_hmac_key_new((const uint8_t *) "Jefe", 4);
    rc = k ? kvs_hmac_keyed(k, "what do ya want for nothing?", 28, mac) : -1;
    kvs_test_str(rc == 0 ? kvs_test_hex(mac, KVS_SHA3_512_LEN, hex) : NULL,
                 "5a4bfeab6166427c7a3647b747292b8384537cdb89afb3bf5665e4c5"
                 "e709350b287baec921fd7ca0ee7a0c31d022a95e1fc92ba9d77df883"
                 "960275beb4e62024",
                 "HMAC-SHA3-512 under a short key set up once");
    kvs_hmac_key_free(k);
}


static void *
kvs_test_hmac_thread(void *arg)
{
    int      i, *bad;
    uint8_t  mac[KVS_SHA256_LEN], want[KVS_SHA256_LEN];

    bad = arg;

    kvs_hmac_sha256((const uint8_t *) "Jefe", 4,
                    "what do ya want for nothing?", 28, want);

    for (i = 0; i < 200; i++) {
        if (kvs_hmac_sha256((const uint8_t *) "Jefe", 4,
                            "what do ya want for nothing?", 28, mac) != 0
            || memcmp(mac, want, sizeof(mac)) != 0
            || want[0] != 0x5b)
        {
            (*bad)++;
        }
    }

    return NULL;
}


/* the shared HMAC context is only ever read: threads get the same MACs */

static void
kvs_test_threads(void)
{
    int        i, bad[KVS_TEST_THREADS], sum;
    pthread_t  t[KVS_TEST_THREADS];

    sum = 0;

    for (i = 0; i < KVS_TEST_THREADS; i++) {
        bad[i] = 0;
        if (pthread_create(&t[i], NULL, kvs_test_hmac_thread, &bad[i]) != 0)
        {
            bad[i] = 1000;
        }
    }

    for (i = 0; i < KVS_TEST_THREADS; i++) {
        if (bad[i] != 1000) {
            pthread_join(t[i], NULL);
        }

        sum += bad[i];
    }

    CHECK(sum == 0, "threads: 4 x 200 MACs at once are all right");
}


static void
kvs_test_equal_random_hex(void)
{
    char     hex[7];
    uint8_t  a[32], b[32], zero[32];

    memset(a, 0x11, sizeof(a));
    memcpy(b, a, sizeof(b));

    CHECK(kvs_crypto_equal(a, b, 32) == 1, "equal: the same bytes");
    b[0] ^= 0x80;
    CHECK(kvs_crypto_equal(a, b, 32) == 0, "equal: the first byte differs");
    b[0] = a[0];
    b[31] ^= 0x01;
    CHECK(kvs_crypto_equal(a, b, 32) == 0, "equal: the last bit differs");
    CHECK(kvs_crypto_equal(a, b, 31) == 1, "equal: only n bytes count");
    CHECK(kvs_crypto_equal(a, b, 0) == 1, "equal: no bytes are equal");

    memset(a, 0, sizeof(a));
    memset(b, 0, sizeof(b));
    memset(zero, 0, sizeof(zero));

    CHECK(kvs_random(a, sizeof(a)) == 0 && kvs_random(b, sizeof(b)) == 0,
          "random: fills");
    CHECK(memcmp(a, zero, 32) != 0 && memcmp(a, b, 32) != 0,
          "random: two draws are not zero nor the same");
    CHECK(kvs_random(NULL, 0) == 0, "random: nothing asked, nothing done");

    kvs_test_str(kvs_test_hex((const uint8_t *) "\x00\x9f\xff", 3, hex),
                 "009fff", "hex: lowercase, two digits a byte");
}


static void
kvs_test_b64url(void)
{
    int          rc;
    char         enc[64], desc[128];
    size_t       i, n, dlen;
    uint8_t      dec[64];

    static const kvs_test_b64_t  vectors[] = {
        { "", "" },
        { "f", "Zg" },
        { "fo", "Zm8" },
        { "foo", "Zm9v" },
        { "foob", "Zm9vYg" },
        { "fooba", "Zm9vYmE" },
        { "foobar", "Zm9vYmFy" },
        { "\xfb\xff", "-_8" },                   /* "+/8=" in base64 */
        { "\xff\xff\xff", "____" },
        { "\xf8", "-A" }
    };

    static const kvs_test_bad_t  bad[] = {
        { "Zg==", "padding" },
        { "Zg=", "one padding character" },
        { "Zm9v====", "a block of padding" },
        { "Z", "1 character" },
        { "Zm9vY", "5 characters" },
        { "Zm9vYmFyZ", "9 characters" },
        { "Zh", "Zh, unused bits set" },
        { "Zm9", "Zm9, unused bits set" },
        { "Zm9vYmF", "Zm9vYmF, unused bits set" },
        { "Zm+v", "'+' of the standard alphabet" },
        { "Zm/v", "'/' of the standard alphabet" },
        { "Zm9v\n", "a newline after" },
        { " Zm9v", "a blank before" },
        { "Zm.v", "a dot" },
        { "Zm9v!", "'!'" },
        { "\xc3\xa9Zg", "UTF-8" }
    };

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        n = strlen(vectors[i].in);

        memset(enc, 'X', sizeof(enc));
        n = kvs_b64url_encode(enc, (const uint8_t *) vectors[i].in, n);
        enc[n] = '\0';

        snprintf(desc, sizeof(desc), "b64url: encodes to \"%s\"",
                 vectors[i].out);
        kvs_test_str(enc, vectors[i].out, desc);
        CHECK(n == KVS_B64URL_LEN(strlen(vectors[i].in)),
              "b64url: KVS_B64URL_LEN is the length written");

        dlen = sizeof(dec);
        rc = kvs_b64url_decode(dec, &dlen, vectors[i].out,
                               strlen(vectors[i].out));

        snprintf(desc, sizeof(desc), "b64url: \"%s\" decodes back",
                 vectors[i].out);
        CHECK(rc == 0 && dlen == strlen(vectors[i].in)
              && memcmp(dec, vectors[i].in, dlen) == 0, desc);
        CHECK(KVS_B64URL_DEC_LEN(strlen(vectors[i].out)) == dlen,
              "b64url: KVS_B64URL_DEC_LEN is the length decoded");
    }

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dlen = sizeof(dec);
        rc = kvs_b64url_decode(dec, &dlen, bad[i].in, strlen(bad[i].in));

        snprintf(desc, sizeof(desc), "b64url: refuses %s", bad[i].desc);
        CHECK(rc == -1, desc);
    }

    dlen = sizeof(dec);
    CHECK(kvs_b64url_decode(dec, &dlen, "Zm\0v", 4) == -1,
          "b64url: a NUL inside is refused");

    dlen = 5;
    CHECK(kvs_b64url_decode(dec, &dlen, S("Zm9vYmFy")) == -1,
          "b64url: 6 bytes do not fit in 5");

    dlen = 6;
    CHECK(kvs_b64url_decode(dec, &dlen, S("Zm9vYmFy")) == 0 && dlen == 6,
          "b64url: 6 bytes fit in 6");
}


static void
kvs_test_scrypt(void)
{
    int          rc;
    char         hex[129];
    size_t       i;
    uint8_t      out[64];

    /* RFC 7914's first two vectors; the first again with NULL for "" */
    static const struct {
        const char           *pw;
        const char           *salt;
        kvs_scrypt_params_t   p;
        const char           *want;
        const char           *desc;
    } vectors[] = {
        { "", "", { 4, 1, 1 },
          "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3f"
          "ede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628"
          "cf35e20c38d18906",
          "scrypt: RFC 7914 vector 1 (N=16 r=1 p=1)" },
        { "password", "NaCl", { 10, 8, 16 },
          "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e7737663"
          "4b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d"
          "8360cbdfa2cc0640",
          "scrypt: RFC 7914 vector 2 (N=1024 r=8 p=16)" },
        { NULL, NULL, { 4, 1, 1 },
          "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3f"
          "ede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628"
          "cf35e20c38d18906",
          "scrypt: an empty password and salt as NULL" }
    };

    for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
        rc = kvs_scrypt(vectors[i].pw,
                        vectors[i].pw ? strlen(vectors[i].pw) : 0,
                        (const uint8_t *) vectors[i].salt,
                        vectors[i].salt ? strlen(vectors[i].salt) : 0,
                        &vectors[i].p, out, 64);
        kvs_test_str(rc == 0 ? kvs_test_hex(out, 64, hex) : NULL,
                     vectors[i].want, vectors[i].desc);
    }
}


/*
 * Parameters past a cap, or whose table passes KVS_SCRYPT_MAXMEM, are
 * refused by every function before a KDF: none of these takes time.
 */

static void
kvs_test_caps(void)
{
    char                 out[KVS_PASSWORD_HASH_MAX], desc[128];
    size_t               i;
    uint8_t              key[32], salt[16], hash[32];

    static const struct {
        kvs_scrypt_params_t  p;
        int                  ok;
        const char          *desc;
    } caps[] = {
        { { 21, 8, 1 }, 0, "ln=21 is past the cap" },
        { { 20, 2, 1 }, 1, "ln=20 r=2 p=1 is in bounds (256 MiB)" },
        { { 20, 2, 16 }, 1, "ln=20 r=2 p=16 is in bounds" },
        { { 20, 3, 1 }, 0, "ln=20 r=3 needs 384 MiB" },
        { { 18, 8, 1 }, 1, "ln=18 r=8 is in bounds (256 MiB)" },
        { { 19, 8, 1 }, 0, "ln=19 r=8 needs 512 MiB" },
        { { 10, 32, 16 }, 1, "r=32 p=16 are in bounds" },
        { { 10, 33, 1 }, 0, "r=33 is past the cap" },
        { { 10, 8, 17 }, 0, "p=17 is past the cap" },
        { { 0, 8, 1 }, 0, "ln=0 (N=1) is refused" },
        { { 10, 0, 1 }, 0, "r=0 is refused" },
        { { 10, 8, 0 }, 0, "p=0 is refused" },
        { { 15, 1, 1 }, 1, "ln=15 r=1 is in bounds" },
        { { 16, 1, 1 }, 0, "ln=16 r=1: N must be below 2^(16 r)" }
    };

    memset(salt, 1, sizeof(salt));
    memset(hash, 2, sizeof(hash));

    for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        snprintf(desc, sizeof(desc), "caps: %s: format", caps[i].desc);
        CHECK((kvs_password_format(&caps[i].p, salt, 16, hash, 32, out,
                                   sizeof(out))
               > 0) == caps[i].ok, desc);

        if (caps[i].ok) {
            continue;
        }

        snprintf(desc, sizeof(desc), "caps: %s: hash", caps[i].desc);
        CHECK(kvs_password_hash(S("password"), &caps[i].p, out, sizeof(out))
              == -1, desc);

        snprintf(desc, sizeof(desc), "caps: %s: scrypt", caps[i].desc);
        CHECK(kvs_scrypt(S("password"), salt, 16, &caps[i].p, key, 32) == -1,
              desc);
    }

    CHECK(kvs_password_verify(S("password"),
                              S("$scrypt$ln=21,r=8,p=1$" KVS_TEST_SALT "$"
                                KVS_TEST_HASH))
          == -1,
          "caps: verify refuses ln=21");
}


static void
kvs_test_passwords(void)
{
    int                  n, m;
    char                 out[KVS_PASSWORD_HASH_MAX], other[KVS_PASSWORD_HASH_MAX];
    size_t               slen, hlen;
    uint8_t              salt[KVS_PASSWORD_SALT_MAX];
    uint8_t              hash[KVS_PASSWORD_KEY_MAX];
    kvs_scrypt_params_t  p, got;

    p.ln = 4;
    p.r = 1;
    p.p = 1;

    n = kvs_password_hash(S("correct horse"), &p, out, sizeof(out));
    CHECK(n == 87 && (size_t) n == strlen(out),
          "hash: ln=4 r=1 p=1 writes 87 characters and a NUL");
    CHECK(strncmp(out, KVS_TEST_PARAMS, sizeof(KVS_TEST_PARAMS) - 1) == 0,
          "hash: the string starts with its parameters");

    CHECK(kvs_password_parse(out, (size_t) n, &got, salt, &slen, hash, &hlen)
          == 0 && got.ln == 4 && got.r == 1 && got.p == 1 && slen == 16
          && hlen == 32,
          "hash: what it writes parses, 16 bytes of salt, 32 of hash");

    CHECK(kvs_password_verify(S("correct horse"), out, (size_t) n) == 1,
          "verify: the right password matches");
    CHECK(kvs_password_verify(S("correct horsE"), out, (size_t) n) == 0,
          "verify: a wrong password does not");
    CHECK(kvs_password_verify(S("correct hors"), out, (size_t) n) == 0,
          "verify: a prefix does not");
    CHECK(kvs_password_verify("", 0, out, (size_t) n) == 0,
          "verify: the empty password does not");

    m = kvs_password_hash(S("correct horse"), &p, other, sizeof(other));
    CHECK(m == n && strcmp(out, other) != 0,
          "hash: the same password twice, two salts, two strings");

    /* the length counts, not a NUL */
    n = kvs_password_hash("a\0b", 3, &p, out, sizeof(out));
    CHECK(n > 0 && kvs_password_verify("a\0b", 3, out, (size_t) n) == 1
          && kvs_password_verify("a", 1, out, (size_t) n) == 0
          && kvs_password_verify("a\0c", 3, out, (size_t) n) == 0,
          "verify: a password with a NUL inside is all of its bytes");

    /* one character of the hash changed: still well-formed, no match */
    n = kvs_password_hash(S("pw"), &p, out, sizeof(out));
    out[n - 10] = (out[n - 10] == 'A') ? 'B' : 'A';
    CHECK(kvs_password_verify(S("pw"), out, (size_t) n) == 0,
          "verify: a changed hash does not match");

    CHECK(kvs_password_hash(S("pw"), &p, out, 87) == -1,
          "hash: 87 bytes leave no room for the NUL");
    CHECK(kvs_password_hash(S("pw"), &p, out, 88) == 87,
          "hash: 88 bytes are enough");

    /* the defaults, once: 32 MiB */
    n = kvs_password_hash(S("s3cret-pass"), NULL, out, sizeof(out));
    CHECK(n == 88 && strncmp(out, "$scrypt$ln=15,r=8,p=1$", 22) == 0,
          "hash: the defaults are ln=15 r=8 p=1, 88 characters");
    CHECK(kvs_password_verify(S("s3cret-pass"), out, (size_t) n) == 1,
          "verify: a default string matches its password");
    CHECK(kvs_password_dummy(S("s3cret-pass")) == 0,
          "dummy: costs a KDF and returns 0");
    CHECK(kvs_password_dummy(NULL, 0) == 0, "dummy: takes an empty one");
}


/*
 * The stored string's fields one by one: a known string read back, then
 * each field spoiled in one way.  A spoiled string is malformed to
 * kvs_password_verify() as well, before it runs a KDF.
 */

static void
kvs_test_parse(void)
{
    int          rc;
    char         desc[160], max[256];
    size_t       i, slen, hlen;
    uint8_t      salt[KVS_PASSWORD_SALT_MAX], hash[KVS_PASSWORD_KEY_MAX];
    uint8_t      bytes[64];
    kvs_scrypt_params_t  p;

    static const kvs_test_bad_t  bad[] = {
        { "", "empty" },
        { "$scrypt$", "the prefix only" },
        { "scrypt$ln=4,r=1,p=1$" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "no leading $" },
        { "$SCRYPT$ln=4,r=1,p=1$" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "SCRYPT in capitals" },
        { "$argon2id$ln=4,r=1,p=1$" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "another algorithm" },
        { "$scrypt$v=1$ln=4,r=1,p=1$" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "a version field" },
        { "$scrypt$ln=04,r=1,p=1$" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "ln with a leading zero" },
        { "$scrypt$ln=,r=1,p=1$" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "ln empty" },
        { "$scrypt$ln=+4,r=1,p=1$" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "ln with a sign" },
        { "$scrypt$ln=4 ,r=1,p=1$" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "a blank after ln" },
        { "$scrypt$ln=1000,r=1,p=1$" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "ln of four digits" },
        { "$scrypt$ln=4294967300,r=1,p=1$" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "ln past 32 bits" },
        { "$scrypt$r=1,ln=4,p=1$" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "r before ln" },
        { "$scrypt$ln=4,p=1,r=1$" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "p before r" },
        { "$scrypt$ln=4,r=1$" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "no p" },
        { "$scrypt$ln=4,r=01,p=1$" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "r with a leading zero" },
        { "$scrypt$ln=4,r=1,p=x$" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "p not a number" },
        { "$scrypt$ln=4,r=1,p=1,x=1$" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "a fourth parameter" },
        { "$scrypt$ln=4;r=1;p=1$" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "semicolons" },
        { "$scrypt$ln=4,r=1,p=1" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "no $ after the parameters" },
        { "$scrypt$ln=4,r=1,p=1$" KVS_TEST_SALT, "no hash" },
        { "$scrypt$ln=4,r=1,p=1$" KVS_TEST_SALT "$", "an empty hash" },
        { "$scrypt$ln=4,r=1,p=1$$" KVS_TEST_HASH, "an empty salt" },
        { "$scrypt$ln=4,r=1,p=1$AAECAwQFBgcICQoLDA0O$" KVS_TEST_HASH,
          "a salt of 15 bytes" },
        { "$scrypt$ln=4,r=1,p=1$" KVS_TEST_SALT "==$" KVS_TEST_HASH,
          "a padded salt" },
        { "$scrypt$ln=4,r=1,p=1$AAECAwQFBgcICQoLDA0O+w$" KVS_TEST_HASH,
          "a salt in the standard alphabet" },
        { "$scrypt$ln=4,r=1,p=1$AAECAwQFBgcICQoLDA0ODx$" KVS_TEST_HASH,
          "a salt with unused bits set" },
        { "$scrypt$ln=4,r=1,p=1$AAECAwQFBgcICQoLDA0OD$" KVS_TEST_HASH,
          "a salt of 4k + 1 characters" },
        { "$scrypt$ln=4,r=1,p=1$" KVS_TEST_SALT "$"
          "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pg",
          "a hash of 31 bytes" },
        { "$scrypt$ln=4,r=1,p=1$" KVS_TEST_SALT "$" KVS_TEST_HASH "=",
          "a padded hash" },
        { "$scrypt$ln=4,r=1,p=1$" KVS_TEST_SALT "$" KVS_TEST_HASH "\n",
          "a newline after the hash" },
        { "$scrypt$ln=4,r=1,p=1$" KVS_TEST_SALT "$" KVS_TEST_HASH "$",
          "a $ after the hash" },
        { "$scrypt$ln=4,r=1,p=1$" KVS_TEST_SALT "$" KVS_TEST_HASH "$x",
          "a fifth field" },
        { "$scrypt$ln=4,r=1,p=1$" KVS_TEST_SALT "$"
          "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj9",
          "a hash with unused bits set" },
        { " $scrypt$ln=4,r=1,p=1$" KVS_TEST_SALT "$" KVS_TEST_HASH,
          "a blank before" }
    };

    rc = kvs_password_parse(S("$scrypt$ln=4,r=1,p=1$" KVS_TEST_SALT "$"
                              KVS_TEST_HASH),
                            &p, salt, &slen, hash, &hlen);
    CHECK(rc == 0 && p.ln == 4 && p.r == 1 && p.p == 1
          && slen == 16 && salt[0] == 0 && salt[15] == 15
          && hlen == 32 && hash[0] == 32 && hash[31] == 63,
          "parse: the known string's every field");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        p.ln = 99;
        rc = kvs_password_parse(bad[i].in, strlen(bad[i].in), &p,
                                salt, &slen, hash, &hlen);

        snprintf(desc, sizeof(desc), "parse: refuses %s", bad[i].desc);
        CHECK(rc == -1 && p.ln == 99, desc);

        snprintf(desc, sizeof(desc), "verify: refuses %s", bad[i].desc);
        CHECK(kvs_password_verify(S("password"), bad[i].in,
                                  strlen(bad[i].in))
              == -1, desc);
    }

    CHECK(kvs_password_parse("$scrypt$ln=4,r=1,p=1$" KVS_TEST_SALT "$"
                             KVS_TEST_HASH, 20, &p, salt, &slen, hash,
                             &hlen)
          == -1,
          "parse: the length given counts, not the NUL");

    /* the largest salt and hash are taken; one byte more is not */
    for (i = 0; i < sizeof(bytes); i++) {
        bytes[i] = (uint8_t) i;
    }

    p.ln = 4;
    p.r = 1;
    p.p = 1;

    CHECK(kvs_password_format(&p, bytes, 64, bytes, 64, max, sizeof(max))
          == 21 + 86 + 1 + 86,
          "format: 64 bytes of salt and hash");
    CHECK(kvs_password_parse(max, strlen(max), &p, salt, &slen, hash, &hlen)
          == 0 && slen == 64 && hlen == 64
          && memcmp(salt, bytes, 64) == 0 && memcmp(hash, bytes, 64) == 0,
          "parse: 64 bytes of salt and hash are read back");

    CHECK(kvs_password_format(&p, bytes, 65, bytes, 32, max, sizeof(max))
          == -1,
          "format: a salt of 65 bytes is refused");
    CHECK(kvs_password_format(&p, bytes, 16, bytes, 65, max, sizeof(max))
          == -1,
          "format: a hash of 65 bytes is refused");

    /* 65 bytes of salt written by hand, 87 characters */
    max[0] = '\0';
    strcat(max, "$scrypt$ln=4,r=1,p=1$");
    memset(max + 21, 'A', 87);
    max[21 + 87] = '\0';
    strcat(max, "$" KVS_TEST_HASH);
    CHECK(kvs_password_parse(max, strlen(max), &p, salt, &slen, hash, &hlen)
          == -1,
          "parse: a salt of 65 bytes is refused");
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_digests),
    KVS_TEST_CASE(kvs_test_hmac),
    KVS_TEST_CASE(kvs_test_hmac_sha3),
    KVS_TEST_CASE(kvs_test_threads),
    KVS_TEST_CASE(kvs_test_equal_random_hex),
    KVS_TEST_CASE(kvs_test_b64url),
    KVS_TEST_CASE(kvs_test_scrypt),
    KVS_TEST_CASE(kvs_test_caps),
    KVS_TEST_CASE(kvs_test_passwords),
    KVS_TEST_CASE(kvs_test_parse),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    NULL, NULL, kvs_test_cases
};
