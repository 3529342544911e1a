/*
 * The cryptography of users and tokens, over OpenSSL 3: digests, HMAC,
 * random bytes, base64url and hex, and scrypt password hashes.
 *
 * OpenSSL 3 looks an algorithm up by name each time one is asked for
 * implicitly, which costs a lock and a search per call; here SHA3-512,
 * SHA-256, HMAC and scrypt are fetched once per process and kept, so a
 * token check on the event loop pays only for the hashing.  Every function
 * is thread-safe: the password functions run on the worker's KDF threads
 * while the event loop signs and checks tokens.
 *
 * A password is kept as one string that carries everything needed to
 * check it again, in the PHC string format:
 *
 *     $scrypt$ln=15,r=8,p=1$<salt>$<hash>
 *
 * ln is log2 of scrypt's N; salt (16 random bytes a user) and hash (32
 * bytes) are base64url without padding, the alphabet of the JWTs, so that
 * one codec serves both.  The parameters travel with the string so that
 * they can be raised later without locking anyone out.  A stored string
 * arrives from peers too, so the parameters it may name are capped: no
 * string can make a check take gigabytes or minutes.
 */

#ifndef KVS_CRYPTO_H
#define KVS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define KVS_SHA3_512_LEN       64
#define KVS_SHA256_LEN         32

/* characters of base64url without padding for n bytes, and back */
#define KVS_B64URL_LEN(n)      ((n) / 3 * 4 + ((n) % 3 * 4 + 2) / 3)
#define KVS_B64URL_DEC_LEN(n)  ((n) / 4 * 3 + (n) % 4 * 3 / 4)

/* the caps on what a stored string may ask of scrypt */
#define KVS_SCRYPT_LN_MAX      20
#define KVS_SCRYPT_R_MAX       32
#define KVS_SCRYPT_P_MAX       16

/* the memory one KDF may take: a table of up to 256 MiB, 8 times the
 * defaults', and the p blocks beside it (64 KiB at most under the caps) */
#define KVS_SCRYPT_MAXMEM      ((256 + 1) * 1024 * 1024)

/* what kvs_password_hash() writes, and the most a stored string holds */
#define KVS_PASSWORD_SALT_LEN  16
#define KVS_PASSWORD_KEY_LEN   32
#define KVS_PASSWORD_SALT_MAX  64
#define KVS_PASSWORD_KEY_MAX   64

/* a string of kvs_password_hash(), its NUL included: at most 90 + 1 */
#define KVS_PASSWORD_HASH_MAX  128


typedef struct {
    unsigned  ln;                        /* N = 2^ln */
    unsigned  r;
    unsigned  p;
} kvs_scrypt_params_t;


/* ln=15 r=8 p=1: 32 MiB and about 0.1 s a KDF */
extern const kvs_scrypt_params_t  kvs_scrypt_default;


/*
 * Fetches the algorithms, once per process however often and from however
 * many threads it is called.  Returns 0, or -1 when OpenSSL lacks one of
 * them; every other function then fails too.  The others call it
 * themselves; the module calls it at the start of each process so that a
 * broken OpenSSL stops nginx rather than the first login.
 */
int kvs_crypto_init(void);

/* Digests of len bytes at data (NULL when len is 0).  0, or -1 when
 * OpenSSL fails. */
int kvs_sha3_512(const void *data, size_t len, uint8_t out[64]);
int kvs_sha256(const void *data, size_t len, uint8_t out[32]);

/* HMAC-SHA256 (RFC 2104) of data under key, either NULL when its length
 * is 0.  0, or -1 when OpenSSL fails. */
int kvs_hmac_sha256(const uint8_t *key, size_t klen, const void *data,
    size_t len, uint8_t out[32]);
/* HMAC-SHA3-512 likewise: the MAC of the audit log's entries */
int kvs_hmac_sha3_512(const uint8_t *key, size_t klen, const void *data,
    size_t len, uint8_t out[64]);

/*
 * HMAC-SHA3-512 under a key set up once: each MAC then skips the two
 * Keccak permutations of the key's pads, which matters where one is made
 * per write.  kvs_hmac_key_new() returns NULL when memory or OpenSSL
 * fails; a key may be used by several threads at once.
 */
typedef struct kvs_hmac_key_s  kvs_hmac_key_t;

kvs_hmac_key_t *kvs_hmac_key_new(const uint8_t *key, size_t klen);
int kvs_hmac_keyed(const kvs_hmac_key_t *k, const void *data, size_t len,
    uint8_t out[64]);
void kvs_hmac_key_free(kvs_hmac_key_t *k);

/* 1 when the n bytes at a and b are equal, else 0, in a time that does
 * not depend on where they differ. */
int kvs_crypto_equal(const void *a, const void *b, size_t n);

/* len bytes from OpenSSL's random generator, which is safe across fork().
 * 0, or -1 when it cannot be seeded. */
int kvs_random(void *buf, size_t len);

/* Writes len bytes as base64url without padding (RFC 4648, section 5):
 * KVS_B64URL_LEN(len) characters, not terminated; returns their number. */
size_t kvs_b64url_encode(char *dst, const uint8_t *src, size_t len);

/*
 * Decodes base64url without padding.  *dlen is the room at dst on the
 * way in (KVS_B64URL_DEC_LEN(len) is enough), the bytes written on the way
 * out.  Returns 0, or -1 when src is not the one encoding of some bytes:
 * padding, a character outside the url alphabet, a length of 4k + 1, or
 * unused bits of the last character that are not zero; or when dst is too
 * small.  So a token has one spelling only, and its digest one value.
 */
int kvs_b64url_decode(uint8_t *dst, size_t *dlen, const char *src,
    size_t len);

/* Writes len bytes as 2 * len lowercase hex digits, not terminated. */
void kvs_hex(char *dst, const uint8_t *src, size_t len);

/*
 * scrypt (RFC 7914) of a password and salt, outlen bytes into out.
 * Returns 0, or -1 when the parameters are out of bounds (see
 * kvs_password_parse()) or OpenSSL fails.
 */
int kvs_scrypt(const char *pw, size_t pwlen, const uint8_t *salt,
    size_t slen, const kvs_scrypt_params_t *p, uint8_t *out, size_t outlen);

/*
 * Hashes a new password with a fresh random salt, under p (NULL for
 * kvs_scrypt_default), into out as a stored string terminated by a NUL.
 * Returns the string's length, or -1 when p is out of bounds, size is
 * too small (KVS_PASSWORD_HASH_MAX is enough) or OpenSSL fails.  It takes
 * as long as one KDF: not for an event loop.
 */
int kvs_password_hash(const char *pw, size_t len,
    const kvs_scrypt_params_t *p, char *out, size_t size);

/*
 * Checks a password against a stored string.  Returns 1 when it matches,
 * 0 when it does not, -1 when the string is malformed or OpenSSL fails.
 * The hashes are compared in constant time.  It takes as long as one KDF
 * under the string's parameters.
 */
int kvs_password_verify(const char *pw, size_t len, const char *stored,
    size_t slen);

/*
 * Costs what checking a wrong password against a default string costs,
 * one KDF, and returns 0: a login for a user that does not exist calls
 * it, so that the time of the answer does not tell which users exist.
 */
int kvs_password_dummy(const char *pw, size_t len);

/*
 * Reads a stored string into its parameters, salt and hash; salt and
 * hash must have room for KVS_PASSWORD_SALT_MAX and KVS_PASSWORD_KEY_MAX
 * bytes.  The string must be exactly what kvs_password_format() writes
 * for them: numbers in decimal without leading zeros, ln from 1 to 20, r
 * to 32, p to 16, within KVS_SCRYPT_MAXMEM, a salt of 16 to 64 bytes and
 * a hash of 32 to 64.  Returns 0, or -1 for anything else.
 */
int kvs_password_parse(const char *stored, size_t len,
    kvs_scrypt_params_t *p, uint8_t *salt, size_t *slen, uint8_t *hash,
    size_t *hlen);

/*
 * Writes the stored string of these parts into out, terminated by a NUL.
 * Returns its length, or -1 when it does not fit in size bytes or the
 * parts are out of kvs_password_parse()'s bounds.
 */
int kvs_password_format(const kvs_scrypt_params_t *p, const uint8_t *salt,
    size_t slen, const uint8_t *hash, size_t hlen, char *out, size_t size);

#endif /* KVS_CRYPTO_H */
