/*
 * Signatures of the requests nodes send each other (/members/join, leave,
 * gossip, /_cluster/...).
 *
 * A node proves it knows the cluster_secret without sending it: the
 * request carries X-KVS-Date (unix milliseconds, decimal) and
 * X-KVS-Signature, the lowercase hex of
 *
 *     HMAC-SHA256(secret, method "\n" uri "\n" date "\n" hex(SHA-256(body)))
 *
 * The date bounds how long a captured request can be replayed; the body's
 * digest, rather than the body, keeps the signed text short and lets the
 * receiver hash a body it reads in pieces.  The uri is the request target
 * as sent, query string included.  Nothing here knows nginx or the network:
 * the module hands over the parts and answers 401 with *why.
 */

#ifndef KVS_SIGN_H
#define KVS_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define KVS_SIGN_LEN         64        /* hex characters of a signature */
#define KVS_SIGN_MAX_SKEW    60000     /* ms either way between clocks */

#define KVS_SIGN_HEADER_NODE       "X-KVS-Node"
#define KVS_SIGN_HEADER_DATE       "X-KVS-Date"
#define KVS_SIGN_HEADER_SIGNATURE  "X-KVS-Signature"

/*
 * The body's digest as the signature takes it, sent beside it so that a
 * receiver can check the signature before it reads the body: a peer's
 * batch may then be as large as the protocol allows, a stranger's no
 * larger than this node's own limit.  The body read is then checked
 * against the signature as always, so a digest that lies fails there.
 */
#define KVS_SIGN_HEADER_DIGEST     "X-KVS-Content-SHA256"
#define KVS_SIGN_DIGEST_LEN        64  /* hex characters */


/*
 * Writes the signature of a request dated date_ms into out, 64 lowercase
 * hex characters, not terminated.  The date is signed as its decimal text
 * without leading zeros (printf's %llu, nginx's %uL), which is what the
 * X-KVS-Date header must then carry.  body may be NULL when blen is 0.
 * Returns 0, or -1 when OpenSSL fails (out of memory); out is then
 * undefined.
 */
int kvs_sign(const char *secret, size_t slen, const char *method,
    size_t mlen, const char *uri, size_t ulen, uint64_t date_ms,
    const uint8_t *body, size_t blen, char out[KVS_SIGN_LEN]);

/*
 * The same from the body's digest, 64 lowercase hex characters as
 * kvs_sign_digest() writes them (the X-KVS-Content-SHA256 header).
 */
int kvs_sign_hex(const char *secret, size_t slen, const char *method,
    size_t mlen, const char *uri, size_t ulen, uint64_t date_ms,
    const char digest[KVS_SIGN_DIGEST_LEN], char out[KVS_SIGN_LEN]);

/* The hex SHA-256 of a body, not terminated.  Returns 0, or -1. */
int kvs_sign_digest(const uint8_t *body, size_t blen,
    char out[KVS_SIGN_DIGEST_LEN]);

/*
 * kvs_sign_verify() of a request whose body is not read yet, over the
 * digest it declares (dglen must be 64, in lowercase hex): the same
 * returns and sentences, and "the X-KVS-Content-SHA256 header is not a
 * digest".  Whether the body has that digest is for kvs_sign_verify() of
 * the body, once read.
 */
int kvs_sign_verify_digest(const char *secret, size_t slen,
    const char *method, size_t mlen, const char *uri, size_t ulen,
    const char *date, size_t dlen, const char *digest, size_t dglen,
    const char *sig, size_t siglen, uint64_t now_ms, const char **why);

/*
 * The part of kvs_sign_verify() that needs no body: the request is signed
 * at all, its date is a number within the allowed skew of now_ms, and its
 * signature has the length of one.  A receiver runs it before it reads a
 * body, so a request that cannot be valid costs no body read.  Returns 0,
 * or -1 with one of kvs_sign_verify()'s sentences in *why.
 */
int kvs_sign_check(const char *date, size_t dlen, const char *sig,
    size_t siglen, uint64_t now_ms, const char **why);

/*
 * Checks a received request: date and sig are the X-KVS-Date and
 * X-KVS-Signature header values (NULL or empty when missing), now_ms the
 * receiver's clock.  Returns
 *
 *    0  the request is signed with this secret within the allowed skew;
 *   -1  it is refused, and *why is one of these static sentences:
 *         "the request is not signed"
 *         "the X-KVS-Date header is not a number"
 *         "the request is more than 60 s old or ahead"
 *         "the signature does not match"
 *       (a signature of the wrong length, or in upper case, does not
 *       match: the sender's text is compared, not its value);
 *   -2  the signature could not be computed (out of memory): *why says so,
 *       and the request deserves a 500, not a 401.
 *
 * The date text is signed as received, so only its value is checked
 * against the clock.  The comparison takes the same time wherever the
 * signatures differ, so a forger learns nothing from response times.
 */
int kvs_sign_verify(const char *secret, size_t slen, const char *method,
    size_t mlen, const char *uri, size_t ulen, const char *date,
    size_t dlen, const uint8_t *body, size_t blen, const char *sig,
    size_t siglen, uint64_t now_ms, const char **why);

#endif /* KVS_SIGN_H */
