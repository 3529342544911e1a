/*
 * The tokens users log in with: JSON Web Tokens (RFC 7519) signed with
 * HS256, HMAC-SHA256 (RFC 7515), over jwt_secret.
 *
 * A token is three base64url parts joined by dots, header.payload.mac:
 *
 *     {"alg":"HS256","typ":"JWT","kid":"<key id>"}
 *     {"sub":"<user uuid>","iat":<s>,"exp":<s>,"jti":"<random uuid>"}
 *
 * iat and exp are NumericDates (RFC 7519 2): seconds, which may have a
 * fraction; this module writes iat to the millisecond ("iat":1795618467.095)
 * and reads up to three decimals, so that a token is known to be older or
 * newer than a change of its user's password within one second.
 *
 * jwt_secret may hold several secrets so that one can be rotated without
 * logging everyone out: the first signs, any verifies, and the header's
 * kid says which signed.  A key's id is the first 16 hex digits of the
 * SHA-256 of its secret, so it tells nothing of the secret and stays the
 * same wherever the secret moves in the file.
 *
 * Only what this module issues is taken: alg exactly HS256 (no "none", no
 * other algorithm picked by the token), no header member beyond alg, typ
 * and kid, times without exponent and with at most three decimals, no
 * duplicate member and
 * no backslash escape, so that no two readers of one token can read it
 * two ways; and every part in the one base64url spelling of its bytes, so
 * that a token has one text, and the digest under which it is revoked is
 * the only one it has.
 */

#ifndef KVS_JWT_H
#define KVS_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "kvs_record.h"

/* the longest token taken; kvs_jwt_sign() writes about 300 bytes */
#define KVS_JWT_MAX       512

#define KVS_JWT_KID_LEN   16
#define KVS_JWT_MAC_LEN   43                  /* base64url of 32 bytes */

/* the largest iat and exp: 2^53, past which JSON numbers lose integers */
#define KVS_JWT_TIME_MAX  (1ULL << 53)


typedef struct {
    const uint8_t  *secret;
    size_t          len;
    char            kid[KVS_JWT_KID_LEN + 1];
} kvs_jwt_key_t;


typedef struct {
    uint8_t         sub[KVS_UUID_LEN];        /* the user */
    uint8_t         jti[KVS_UUID_LEN];        /* this token, at random */
    uint64_t        iat;                      /* unix seconds */
    uint64_t        exp;
    uint64_t        iat_ms;                   /* the same in milliseconds;
                                                 kvs_jwt_sign() writes it
                                                 when it is not 0 */
} kvs_jwt_claims_t;


/*
 * Makes a key of len bytes of secret, which must stay where it is while
 * the key is used: the key points to it.  Returns 0, or -1 when the id
 * cannot be computed (OpenSSL fails).
 */
int kvs_jwt_key_init(kvs_jwt_key_t *k, const uint8_t *secret, size_t len);

/*
 * Writes the third part of a token, the base64url HMAC-SHA256 of its
 * signing input (the first two parts and their dot), into out, not
 * terminated.  Returns 0, or -1 when OpenSSL fails.
 */
int kvs_jwt_mac(const kvs_jwt_key_t *key, const char *input, size_t len,
    char out[KVS_JWT_MAC_LEN]);

/*
 * Writes the token of these claims, signed with key, into out, terminated
 * by a NUL.  Returns its length, or -1 when it does not fit in size bytes
 * (KVS_JWT_MAX is enough), iat or exp is past KVS_JWT_TIME_MAX, or
 * OpenSSL fails.
 */
int kvs_jwt_sign(const kvs_jwt_claims_t *c, const kvs_jwt_key_t *key,
    char *out, size_t size);

/*
 * Checks a token received at now_s (unix seconds) against nkeys keys.
 * Returns NULL with *c filled when it is good, else a static sentence and
 * *c untouched; the first that applies of
 *
 *   "the token is longer than 512 bytes"
 *   "the token is malformed"                 not three base64url parts
 *   "the token's header is malformed"        not JSON, not an object,
 *                                            another member, no kid, typ
 *                                            other than "JWT"
 *   "the token's algorithm is not HS256"
 *   "the token's key is unknown"             no key has its kid
 *   "the token's signature cannot be computed"   OpenSSL failed
 *   "the token's signature does not match"
 *   "the token's claims are malformed"       not JSON, not an object, a
 *                                            duplicate member, sub, iat,
 *                                            exp or jti missing or of
 *                                            another type
 *   "the token has expired"                  exp <= now_s
 *
 * The signature is compared in constant time, over the header and payload
 * exactly as received, before anything of the payload is read.  Claims
 * beyond the four are let through unread.
 */
const char *kvs_jwt_verify(const char *tok, size_t len,
    const kvs_jwt_key_t *keys, size_t nkeys, uint64_t now_s,
    kvs_jwt_claims_t *c);

#endif /* KVS_JWT_H */
