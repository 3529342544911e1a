/*
 * Digests, HMAC, random bytes, base64url, hex and scrypt; see
 * kvs_crypto.h for why the algorithms are fetched once and what a stored
 * password looks like.
 *
 * The fetched algorithms are never freed: they live as long as the
 * process, and every thread reads them.  HMAC is kept as a context with
 * its digest already set and no key, duplicated for each MAC, because
 * setting the digest by name on a fresh context would fetch SHA-256 again
 * on every call.
 *
 * A digest runs in a context of its thread's, made at the thread's first
 * digest: a write hashes several times (Merkle buckets, audit entries),
 * and a context made and freed for each would cost more than hashing a
 * short key.  The context lives as long as its thread, as kvs_codec.c's
 * do, and is never freed by a destructor of the thread's: nginx's thread
 * pool lets the worker go on as soon as a thread starts to exit, and the
 * worker unloads the module while the thread may still be running its
 * destructors, which would then jump into unmapped code.
 */

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "kvs_crypto.h"


/* the digests' blocks: HMAC hashes a longer key first (RFC 2104) */
#define KVS_SHA256_BLOCK    64
#define KVS_SHA3_512_BLOCK  72


static void kvs_crypto_fetch(void);
static EVP_MD_CTX *kvs_crypto_ctx(void);
static int kvs_crypto_digest(const EVP_MD *md, const void *data, size_t len,
    uint8_t *out);
static int kvs_crypto_mac(EVP_MAC_CTX *proto, const EVP_MD *md,
    size_t block, const uint8_t *key, size_t klen, const void *data,
    size_t len, uint8_t *out, size_t outlen);
static int kvs_b64url_value(char c);
static int kvs_scrypt_check(const kvs_scrypt_params_t *p);
static int kvs_password_number(const char **s, const char *end,
    unsigned *v);


const kvs_scrypt_params_t  kvs_scrypt_default = { 15, 8, 1 };


/* what comes before each of ln, r and p, in the one order they are
 * written */
static const char  *kvs_password_fields[] = { "$scrypt$ln=", ",r=", ",p=" };

static const char  kvs_b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static pthread_once_t   kvs_crypto_once = PTHREAD_ONCE_INIT;
static int              kvs_crypto_ready;
static EVP_MD          *kvs_crypto_sha3_512;
static EVP_MD          *kvs_crypto_sha256;
static EVP_MAC_CTX     *kvs_crypto_hmac;
static EVP_MAC_CTX     *kvs_crypto_hmac_sha3;
static EVP_KDF         *kvs_crypto_scrypt;

static __thread EVP_MD_CTX  *kvs_crypto_md_ctx;   /* see above */


int
kvs_crypto_init(void)
{
    if (pthread_once(&kvs_crypto_once, kvs_crypto_fetch) != 0) {
        return -1;
    }

    return kvs_crypto_ready ? 0 : -1;
}


static void
kvs_crypto_fetch(void)
{
    EVP_MAC     *mac;
    OSSL_PARAM   params[2], sha3[2];

    kvs_crypto_sha3_512 = EVP_MD_fetch(NULL, "SHA3-512", NULL);
    kvs_crypto_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    kvs_crypto_scrypt = EVP_KDF_fetch(NULL, "SCRYPT", NULL);

    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

    if (mac != NULL) {
        kvs_crypto_hmac = EVP_MAC_CTX_new(mac);
        kvs_crypto_hmac_sha3 = EVP_MAC_CTX_new(mac);
        EVP_MAC_free(mac);
    }

    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *) "SHA2-256", 0);
    params[1] = OSSL_PARAM_construct_end();
    sha3[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                               (char *) "SHA3-512", 0);
    sha3[1] = OSSL_PARAM_construct_end();

    if (kvs_crypto_sha3_512 == NULL || kvs_crypto_sha256 == NULL
        || kvs_crypto_scrypt == NULL || kvs_crypto_hmac == NULL
        || kvs_crypto_hmac_sha3 == NULL
        || EVP_MAC_CTX_set_params(kvs_crypto_hmac, params) != 1
        || EVP_MAC_CTX_set_params(kvs_crypto_hmac_sha3, sha3) != 1)
    {
        EVP_MD_free(kvs_crypto_sha3_512);
        EVP_MD_free(kvs_crypto_sha256);
        EVP_KDF_free(kvs_crypto_scrypt);
        EVP_MAC_CTX_free(kvs_crypto_hmac);
        EVP_MAC_CTX_free(kvs_crypto_hmac_sha3);

        kvs_crypto_sha3_512 = NULL;
        kvs_crypto_sha256 = NULL;
        kvs_crypto_scrypt = NULL;
        kvs_crypto_hmac = NULL;
        kvs_crypto_hmac_sha3 = NULL;
        return;
    }

    kvs_crypto_ready = 1;
}


int
kvs_sha3_512(const void *data, size_t len, uint8_t out[64])
{
    if (kvs_crypto_init() != 0) {
        return -1;
    }

    return kvs_crypto_digest(kvs_crypto_sha3_512, data, len, out);
}


int
kvs_sha256(const void *data, size_t len, uint8_t out[32])
{
    if (kvs_crypto_init() != 0) {
        return -1;
    }

    return kvs_crypto_digest(kvs_crypto_sha256, data, len, out);
}


static EVP_MD_CTX *
kvs_crypto_ctx(void)
{
    if (kvs_crypto_md_ctx == NULL) {
        kvs_crypto_md_ctx = EVP_MD_CTX_new();
    }

    return kvs_crypto_md_ctx;
}


static int
kvs_crypto_digest(const EVP_MD *md, const void *data, size_t len,
    uint8_t *out)
{
    EVP_MD_CTX  *ctx;

    ctx = kvs_crypto_ctx();

    /* OpenSSL is not promised to take a NULL pointer, even for 0 bytes */
    if (ctx == NULL
        || EVP_DigestInit_ex2(ctx, md, NULL) != 1
        || EVP_DigestUpdate(ctx, len > 0 ? data : "", len) != 1
        || EVP_DigestFinal_ex(ctx, out, NULL) != 1)
    {
        return -1;
    }

    return 0;
}


int
kvs_hmac_sha256(const uint8_t *key, size_t klen, const void *data,
    size_t len, uint8_t out[32])
{
    if (kvs_crypto_init() != 0) {
        return -1;
    }

    return kvs_crypto_mac(kvs_crypto_hmac, kvs_crypto_sha256,
                          KVS_SHA256_BLOCK, key, klen, data, len, out,
                          KVS_SHA256_LEN);
}


int
kvs_hmac_sha3_512(const uint8_t *key, size_t klen, const void *data,
    size_t len, uint8_t out[64])
{
    if (kvs_crypto_init() != 0) {
        return -1;
    }

    return kvs_crypto_mac(kvs_crypto_hmac_sha3, kvs_crypto_sha3_512,
                          KVS_SHA3_512_BLOCK, key, klen, data, len, out,
                          KVS_SHA3_512_LEN);
}


/*
 * RFC 2104 by hand: HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)).
 * The two pads fill one SHA3-512 block each, so a key keeps the two
 * digest states that have absorbed them, and a MAC copies each into the
 * thread's context and goes on from there.
 */

struct kvs_hmac_key_s {
    EVP_MD_CTX  *inner;                  /* K ^ ipad absorbed */
    EVP_MD_CTX  *outer;                  /* K ^ opad absorbed */
};


kvs_hmac_key_t *
kvs_hmac_key_new(const uint8_t *key, size_t klen)
{
    size_t           i;
    uint8_t          hashed[KVS_SHA3_512_LEN];
    uint8_t          ipad[KVS_SHA3_512_BLOCK], opad[KVS_SHA3_512_BLOCK];
    kvs_hmac_key_t  *k;

    if (kvs_crypto_init() != 0) {
        return NULL;
    }

    /* a key past the block is hashed first, as HMAC says */
    if (klen > KVS_SHA3_512_BLOCK) {
        if (kvs_crypto_digest(kvs_crypto_sha3_512, key, klen, hashed)
            != 0)
        {
            return NULL;
        }

        key = hashed;
        klen = sizeof(hashed);
    }

    for (i = 0; i < KVS_SHA3_512_BLOCK; i++) {
        ipad[i] = (uint8_t) ((i < klen ? key[i] : 0) ^ 0x36);
        opad[i] = (uint8_t) ((i < klen ? key[i] : 0) ^ 0x5c);
    }

    k = malloc(sizeof(kvs_hmac_key_t));

    if (k != NULL) {
        k->inner = EVP_MD_CTX_new();
        k->outer = EVP_MD_CTX_new();

        if (k->inner == NULL || k->outer == NULL
            || EVP_DigestInit_ex2(k->inner, kvs_crypto_sha3_512, NULL) != 1
            || EVP_DigestUpdate(k->inner, ipad, sizeof(ipad)) != 1
            || EVP_DigestInit_ex2(k->outer, kvs_crypto_sha3_512, NULL) != 1
            || EVP_DigestUpdate(k->outer, opad, sizeof(opad)) != 1)
        {
            kvs_hmac_key_free(k);
            k = NULL;
        }
    }

    OPENSSL_cleanse(hashed, sizeof(hashed));
    OPENSSL_cleanse(ipad, sizeof(ipad));
    OPENSSL_cleanse(opad, sizeof(opad));

    return k;
}


int
kvs_hmac_keyed(const kvs_hmac_key_t *k, const void *data, size_t len,
    uint8_t out[64])
{
    uint8_t      inner[KVS_SHA3_512_LEN];
    EVP_MD_CTX  *ctx;

    ctx = kvs_crypto_ctx();

    if (ctx == NULL
        || EVP_MD_CTX_copy_ex(ctx, k->inner) != 1
        || EVP_DigestUpdate(ctx, len > 0 ? data : "", len) != 1
        || EVP_DigestFinal_ex(ctx, inner, NULL) != 1
        || EVP_MD_CTX_copy_ex(ctx, k->outer) != 1
        || EVP_DigestUpdate(ctx, inner, sizeof(inner)) != 1
        || EVP_DigestFinal_ex(ctx, out, NULL) != 1)
    {
        return -1;
    }

    return 0;
}


void
kvs_hmac_key_free(kvs_hmac_key_t *k)
{
    if (k != NULL) {
        EVP_MD_CTX_free(k->inner);
        EVP_MD_CTX_free(k->outer);
        free(k);
    }
}


/* HMAC under a copy of proto, which names the digest md of that block */

static int
kvs_crypto_mac(EVP_MAC_CTX *proto, const EVP_MD *md, size_t block,
    const uint8_t *key, size_t klen, const void *data, size_t len,
    uint8_t *out, size_t outlen)
{
    int           rc;
    size_t        n;
    uint8_t       hashed[KVS_SHA3_512_LEN];
    EVP_MAC_CTX  *ctx;

    /*
     * HMAC itself replaces a key longer than the block by its digest;
     * doing it here gives the same MAC and keeps a long key out of
     * OpenSSL's int lengths and its copy of the key.
     */
    if (klen > block) {
        if (kvs_crypto_digest(md, key, klen, hashed) != 0) {
            return -1;
        }

        key = hashed;
        klen = outlen;
    }

    rc = -1;

    ctx = EVP_MAC_CTX_dup(proto);
    if (ctx == NULL) {
        goto done;
    }

    if (EVP_MAC_init(ctx, klen > 0 ? key : (const uint8_t *) "", klen, NULL)
        == 1
        && EVP_MAC_update(ctx, len > 0 ? data : "", len) == 1
        && EVP_MAC_final(ctx, out, &n, outlen) == 1
        && n == outlen)
    {
        rc = 0;
    }

    EVP_MAC_CTX_free(ctx);

done:

    OPENSSL_cleanse(hashed, sizeof(hashed));

    return rc;
}


int
kvs_crypto_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}


int
kvs_random(void *buf, size_t len)
{
    size_t    n;
    uint8_t  *p;

    p = buf;

    while (len > 0) {
        n = (len < INT_MAX) ? len : INT_MAX;

        if (RAND_bytes(p, (int) n) != 1) {
            return -1;
        }

        p += n;
        len -= n;
    }

    return 0;
}


size_t
kvs_b64url_encode(char *dst, const uint8_t *src, size_t len)
{
    char      *p;
    size_t     i, rest;
    uint32_t   v;

    p = dst;

    for (i = 0; len - i >= 3; i += 3) {
        v = (uint32_t) src[i] << 16 | (uint32_t) src[i + 1] << 8 | src[i + 2];

        *p++ = kvs_b64url_alphabet[v >> 18];
        *p++ = kvs_b64url_alphabet[(v >> 12) & 0x3f];
        *p++ = kvs_b64url_alphabet[(v >> 6) & 0x3f];
        *p++ = kvs_b64url_alphabet[v & 0x3f];
    }

    rest = len - i;

    if (rest > 0) {
        v = (uint32_t) src[i] << 16;

        if (rest == 2) {
            v |= (uint32_t) src[i + 1] << 8;
        }

        *p++ = kvs_b64url_alphabet[v >> 18];
        *p++ = kvs_b64url_alphabet[(v >> 12) & 0x3f];

        if (rest == 2) {
            *p++ = kvs_b64url_alphabet[(v >> 6) & 0x3f];
        }
    }

    return (size_t) (p - dst);
}


int
kvs_b64url_decode(uint8_t *dst, size_t *dlen, const char *src, size_t len)
{
    int       c;
    size_t    i, n;
    unsigned  bits;
    uint32_t  acc;

    /* 4k + 1 characters hold 6 bits past the last whole byte: no byte */
    if (len % 4 == 1 || KVS_B64URL_DEC_LEN(len) > *dlen) {
        return -1;
    }

    acc = 0;
    bits = 0;
    n = 0;

    for (i = 0; i < len; i++) {
        c = kvs_b64url_value(src[i]);
        if (c < 0) {
            return -1;
        }

        acc = acc << 6 | (uint32_t) c;
        bits += 6;

        if (bits >= 8) {
            bits -= 8;
            dst[n++] = (uint8_t) (acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }

    /* the bits left over belong to no byte: an encoder writes them as
     * zeros, and anything else is a second spelling of the same bytes */
    if (acc != 0) {
        return -1;
    }

    *dlen = n;

    return 0;
}


static int
kvs_b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '-') {
        return 62;
    }

    if (c == '_') {
        return 63;
    }

    return -1;
}


void
kvs_hex(char *dst, const uint8_t *src, size_t len)
{
    size_t             i;
    static const char  hex[] = "0123456789abcdef";

    for (i = 0; i < len; i++) {
        *dst++ = hex[src[i] >> 4];
        *dst++ = hex[src[i] & 0x0f];
    }
}


int
kvs_scrypt(const char *pw, size_t pwlen, const uint8_t *salt, size_t slen,
    const kvs_scrypt_params_t *p, uint8_t *out, size_t outlen)
{
    int           rc;
    uint32_t      r, par;
    uint64_t      n, maxmem;
    OSSL_PARAM    params[7];
    EVP_KDF_CTX  *ctx;

    if (kvs_crypto_init() != 0 || kvs_scrypt_check(p) != 0) {
        return -1;
    }

    ctx = EVP_KDF_CTX_new(kvs_crypto_scrypt);
    if (ctx == NULL) {
        return -1;
    }

    n = (uint64_t) 1 << p->ln;
    r = p->r;
    par = p->p;
    maxmem = KVS_SCRYPT_MAXMEM;

    params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD,
                    (void *) (pwlen > 0 ? pw : ""), pwlen);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                    (void *) (slen > 0 ? salt : (const uint8_t *) ""), slen);
    params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
    params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
    params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &par);
    params[5] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM,
                                            &maxmem);
    params[6] = OSSL_PARAM_construct_end();

    rc = (EVP_KDF_derive(ctx, out, outlen, params) == 1) ? 0 : -1;

    EVP_KDF_CTX_free(ctx);

    return rc;
}


/*
 * The bounds on scrypt's parameters: the caps of kvs_crypto.h, RFC 7914's
 * N < 2^(128 r / 8), and the memory OpenSSL allocates for them, the p
 * blocks B and the table V, 128 r bytes each of p + N + 2, within
 * KVS_SCRYPT_MAXMEM.  Checked before the KDF, so that a string OpenSSL
 * would refuse is malformed before anything is allocated.
 */

static int
kvs_scrypt_check(const kvs_scrypt_params_t *p)
{
    uint64_t  mem;

    if (p->ln < 1 || p->ln > KVS_SCRYPT_LN_MAX
        || p->r < 1 || p->r > KVS_SCRYPT_R_MAX
        || p->p < 1 || p->p > KVS_SCRYPT_P_MAX
        || p->ln >= 16 * p->r)
    {
        return -1;
    }

    mem = 128 * (uint64_t) p->r * (((uint64_t) 1 << p->ln) + 2 + p->p);

    return (mem <= KVS_SCRYPT_MAXMEM) ? 0 : -1;
}


int
kvs_password_hash(const char *pw, size_t len, const kvs_scrypt_params_t *p,
    char *out, size_t size)
{
    int      rc;
    uint8_t  salt[KVS_PASSWORD_SALT_LEN], key[KVS_PASSWORD_KEY_LEN];

    if (p == NULL) {
        p = &kvs_scrypt_default;
    }

    rc = -1;

    if (kvs_random(salt, sizeof(salt)) == 0
        && kvs_scrypt(pw, len, salt, sizeof(salt), p, key, sizeof(key)) == 0)
    {
        rc = kvs_password_format(p, salt, sizeof(salt), key, sizeof(key),
                                 out, size);
    }

    OPENSSL_cleanse(key, sizeof(key));

    return rc;
}


int
kvs_password_verify(const char *pw, size_t len, const char *stored,
    size_t slen)
{
    int                  rc;
    size_t               saltlen, hlen;
    uint8_t              salt[KVS_PASSWORD_SALT_MAX];
    uint8_t              hash[KVS_PASSWORD_KEY_MAX], key[KVS_PASSWORD_KEY_MAX];
    kvs_scrypt_params_t  p;

    if (kvs_password_parse(stored, slen, &p, salt, &saltlen, hash, &hlen)
        != 0)
    {
        return -1;
    }

    rc = -1;

    if (kvs_scrypt(pw, len, salt, saltlen, &p, key, hlen) == 0) {
        rc = kvs_crypto_equal(key, hash, hlen);
    }

    OPENSSL_cleanse(key, sizeof(key));

    return rc;
}


int
kvs_password_dummy(const char *pw, size_t len)
{
    uint8_t                 key[KVS_PASSWORD_KEY_LEN];
    static const uint8_t    salt[KVS_PASSWORD_SALT_LEN];

    /* any salt will do: only the time is wanted, not the key */
    (void) kvs_scrypt(pw, len, salt, sizeof(salt), &kvs_scrypt_default, key,
                      sizeof(key));

    OPENSSL_cleanse(key, sizeof(key));

    return 0;
}


int
kvs_password_parse(const char *stored, size_t len, kvs_scrypt_params_t *p,
    uint8_t *salt, size_t *slen, uint8_t *hash, size_t *hlen)
{
    size_t               i, n;
    unsigned             num[3];
    const char          *s, *end, *dollar;
    kvs_scrypt_params_t  v;

    s = stored;
    end = stored + len;

    for (i = 0; i < 3; i++) {
        n = strlen(kvs_password_fields[i]);

        if ((size_t) (end - s) < n
            || memcmp(s, kvs_password_fields[i], n) != 0)
        {
            return -1;
        }

        s += n;

        if (kvs_password_number(&s, end, &num[i]) != 0) {
            return -1;
        }
    }

    v.ln = num[0];
    v.r = num[1];
    v.p = num[2];

    if (s == end || *s++ != '$') {
        return -1;
    }

    dollar = memchr(s, '$', (size_t) (end - s));
    if (dollar == NULL) {
        return -1;
    }

    *slen = KVS_PASSWORD_SALT_MAX;
    *hlen = KVS_PASSWORD_KEY_MAX;

    if (kvs_b64url_decode(salt, slen, s, (size_t) (dollar - s)) != 0
        || kvs_b64url_decode(hash, hlen, dollar + 1,
                             (size_t) (end - dollar - 1)) != 0
        || *slen < KVS_PASSWORD_SALT_LEN || *hlen < KVS_PASSWORD_KEY_LEN
        || kvs_scrypt_check(&v) != 0)
    {
        return -1;
    }

    *p = v;

    return 0;
}


/* a decimal number of one to three digits without a leading zero; the
 * caps are two digits, so a longer one is refused where it stops */

static int
kvs_password_number(const char **s, const char *end, unsigned *v)
{
    size_t       n;
    const char  *q;

    q = *s;

    if (q == end || *q == '0') {
        return -1;
    }

    *v = 0;

    for (n = 0; n < 3 && q < end && *q >= '0' && *q <= '9'; n++) {
        *v = *v * 10 + (unsigned) (*q++ - '0');
    }

    if (n == 0) {
        return -1;
    }

    *s = q;

    return 0;
}


int
kvs_password_format(const kvs_scrypt_params_t *p, const uint8_t *salt,
    size_t slen, const uint8_t *hash, size_t hlen, char *out, size_t size)
{
    int     n;
    size_t  len;

    if (kvs_scrypt_check(p) != 0
        || slen < KVS_PASSWORD_SALT_LEN || slen > KVS_PASSWORD_SALT_MAX
        || hlen < KVS_PASSWORD_KEY_LEN || hlen > KVS_PASSWORD_KEY_MAX)
    {
        return -1;
    }

    n = snprintf(out, size, "$scrypt$ln=%u,r=%u,p=%u$", p->ln, p->r, p->p);
    if (n < 0) {
        return -1;
    }

    len = (size_t) n + KVS_B64URL_LEN(slen) + 1 + KVS_B64URL_LEN(hlen);

    if (len >= size) {
        return -1;
    }

    n += (int) kvs_b64url_encode(out + n, salt, slen);
    out[n++] = '$';
    n += (int) kvs_b64url_encode(out + n, hash, hlen);
    out[n] = '\0';

    return n;
}
