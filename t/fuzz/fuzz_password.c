/*
 * kvs_password_parse(): a stored password string, which reaches a node
 * from its peers as part of a user's record.
 *
 * A string taken has parameters, salt and hash within the bounds of
 * kvs_crypto.h, and kvs_password_format() writes it back as the very same
 * bytes: a stored string has one spelling.  A string refused is malformed
 * to kvs_password_verify() too, which then runs no KDF.  Where the
 * parameters are small enough to cost nothing, the password "password"
 * verifies against a string taken exactly when its hash is scrypt's, as
 * OpenSSL's EVP_PBE_scrypt() computes it apart from the KDF object the
 * core fetches.  No large KDF ever runs here.
 *
 * Then the input's first bytes pick parameters, up to past the caps, and
 * lengths of salt and hash: kvs_password_parse() takes the string they
 * make exactly when kvs_password_format() writes it.
 */

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "kvs_crypto.h"
#include "kvs_fuzz.h"


#define KVS_FUZZ_PW  "password"


static void
kvs_fuzz_taken(const uint8_t *data, size_t size,
    const kvs_scrypt_params_t *p, const uint8_t *salt, size_t slen,
    const uint8_t *hash, size_t hlen)
{
    int      n, rc;
    char     out[256];
    uint8_t  key[KVS_PASSWORD_KEY_MAX];

    FUZZ_CHECK(p->ln >= 1 && p->ln <= KVS_SCRYPT_LN_MAX
               && p->r >= 1 && p->r <= KVS_SCRYPT_R_MAX
               && p->p >= 1 && p->p <= KVS_SCRYPT_P_MAX,
               "parameters taken are within the caps");
    FUZZ_CHECK(128 * (uint64_t) p->r * ((1ULL << p->ln) + 2 + p->p)
               <= KVS_SCRYPT_MAXMEM,
               "parameters taken fit the memory limit");
    FUZZ_CHECK(slen >= KVS_PASSWORD_SALT_LEN && slen <= KVS_PASSWORD_SALT_MAX
               && hlen >= KVS_PASSWORD_KEY_LEN && hlen <= KVS_PASSWORD_KEY_MAX,
               "a salt and hash taken have lengths in bounds");

    n = kvs_password_format(p, salt, slen, hash, hlen, out, sizeof(out));

    FUZZ_CHECK(n > 0 && (size_t) n == size && memcmp(out, data, size) == 0,
               "a string taken is written back as the same bytes");

    /* N r p of at most 64 x 8: a few microseconds */
    if (p->ln > 6 || p->r * p->p > 8) {
        return;
    }

    FUZZ_CHECK(EVP_PBE_scrypt(KVS_FUZZ_PW, sizeof(KVS_FUZZ_PW) - 1, salt,
                              slen, 1ULL << p->ln, p->r, p->p, 0, key, hlen)
               == 1,
               "OpenSSL computes scrypt");

    rc = kvs_password_verify(KVS_FUZZ_PW, sizeof(KVS_FUZZ_PW) - 1,
                             (const char *) data, size);

    FUZZ_CHECK(rc == (memcmp(key, hash, hlen) == 0),
               "the password matches exactly when the hash is scrypt's");
}


/* a string of parameters and lengths the input picks, past the caps too */

static void
kvs_fuzz_made(const uint8_t *data, size_t size)
{
    int                  n, len, rc;
    char                 out[256], made[256];
    size_t               slen, hlen, gs, gh;
    uint8_t              salt[80], hash[80];
    uint8_t              gsalt[KVS_PASSWORD_SALT_MAX];
    uint8_t              ghash[KVS_PASSWORD_KEY_MAX];
    kvs_scrypt_params_t  p, got;

    if (size < 5) {
        return;
    }

    p.ln = data[0] % (KVS_SCRYPT_LN_MAX + 2);
    p.r = data[1] % (KVS_SCRYPT_R_MAX + 2);
    p.p = data[2] % (KVS_SCRYPT_P_MAX + 2);
    slen = data[3] % (sizeof(salt) + 1);
    hlen = data[4] % (sizeof(hash) + 1);

    memset(salt, data[size - 1], sizeof(salt));
    memset(hash, data[size / 2], sizeof(hash));

    n = kvs_password_format(&p, salt, slen, hash, hlen, out, sizeof(out));

    /* the same string by hand, whether format writes it or not */
    len = snprintf(made, sizeof(made), "$scrypt$ln=%u,r=%u,p=%u$", p.ln, p.r,
                   p.p);
    len += (int) kvs_b64url_encode(made + len, salt, slen);
    made[len++] = '$';
    len += (int) kvs_b64url_encode(made + len, hash, hlen);

    rc = kvs_password_parse(made, (size_t) len, &got, gsalt, &gs, ghash, &gh);

    FUZZ_CHECK((rc == 0) == (n > 0),
               "parse takes exactly the strings format writes");

    if (n > 0) {
        FUZZ_CHECK(n == len && memcmp(out, made, (size_t) len) == 0,
                   "format writes the documented string");
        FUZZ_CHECK(got.ln == p.ln && got.r == p.r && got.p == p.p
                   && gs == slen && memcmp(gsalt, salt, slen) == 0
                   && gh == hlen && memcmp(ghash, hash, hlen) == 0,
                   "parse reads back what format wrote");
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  rc;
    size_t               slen, hlen;
    uint8_t              salt[KVS_PASSWORD_SALT_MAX];
    uint8_t              hash[KVS_PASSWORD_KEY_MAX];
    kvs_scrypt_params_t  p;

    rc = kvs_password_parse((const char *) data, size, &p, salt, &slen, hash,
                            &hlen);

    if (rc == 0) {
        kvs_fuzz_taken(data, size, &p, salt, slen, hash, hlen);

    } else {
        FUZZ_CHECK(rc == -1, "parse returns 0 or -1");
        FUZZ_CHECK(kvs_password_verify(KVS_FUZZ_PW, sizeof(KVS_FUZZ_PW) - 1,
                                       (const char *) data, size) == -1,
                   "a string refused is malformed to verify too");
    }

    kvs_fuzz_made(data, size);

    return 0;
}
