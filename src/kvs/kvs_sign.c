/*
 * Request signatures; see kvs_sign.h for what is signed and why.
 *
 * The digest and the MAC are kvs_crypto.c's, whose algorithms are
 * fetched once per process.  The MAC is taken of the signed text in one
 * piece, so it is assembled in a buffer on the stack, or on the heap for
 * the rare request whose uri does not fit.  Both functions sign through kvs_sign_text(), which takes
 * the date as text: the sender formats its clock, the receiver signs the
 * header exactly as it came, and neither can disagree on a format.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvs_crypto.h"
#include "kvs_sign.h"


/* method, a uri of a long key percent-encoded, a date and a digest fit */
#define KVS_SIGN_BUFLEN      4096

/* "18446744073709551615", the longest uint64_t, and a NUL */
#define KVS_SIGN_DATE_LEN    21


static int kvs_sign_text(const char *secret, size_t slen, const char *method,
    size_t mlen, const char *uri, size_t ulen, const char *date, size_t dlen,
    const char digest[KVS_SIGN_DIGEST_LEN], char out[KVS_SIGN_LEN]);
static int kvs_sign_match(const char *secret, size_t slen,
    const char *method, size_t mlen, const char *uri, size_t ulen,
    const char *date, size_t dlen, const char digest[KVS_SIGN_DIGEST_LEN],
    const char *sig, const char **why);


int
kvs_sign(const char *secret, size_t slen, const char *method, size_t mlen,
    const char *uri, size_t ulen, uint64_t date_ms, const uint8_t *body,
    size_t blen, char out[KVS_SIGN_LEN])
{
    char  digest[KVS_SIGN_DIGEST_LEN];

    if (kvs_sign_digest(body, blen, digest) != 0) {
        return -1;
    }

    return kvs_sign_hex(secret, slen, method, mlen, uri, ulen, date_ms,
                        digest, out);
}


int
kvs_sign_hex(const char *secret, size_t slen, const char *method,
    size_t mlen, const char *uri, size_t ulen, uint64_t date_ms,
    const char digest[KVS_SIGN_DIGEST_LEN], char out[KVS_SIGN_LEN])
{
    int   n;
    char  date[KVS_SIGN_DATE_LEN];

    n = snprintf(date, sizeof(date), "%llu", (unsigned long long) date_ms);
    if (n < 0 || (size_t) n >= sizeof(date)) {
        return -1;
    }

    return kvs_sign_text(secret, slen, method, mlen, uri, ulen, date,
                         (size_t) n, digest, out);
}


int
kvs_sign_digest(const uint8_t *body, size_t blen,
    char out[KVS_SIGN_DIGEST_LEN])
{
    uint8_t  md[KVS_SHA256_LEN];

    if (kvs_sha256(body, blen, md) != 0) {
        return -1;
    }

    kvs_hex(out, md, sizeof(md));

    return 0;
}


int
kvs_sign_verify_digest(const char *secret, size_t slen, const char *method,
    size_t mlen, const char *uri, size_t ulen, const char *date,
    size_t dlen, const char *digest, size_t dglen, const char *sig,
    size_t siglen, uint64_t now_ms, const char **why)
{
    size_t  i;

    if (kvs_sign_check(date, dlen, sig, siglen, now_ms, why) != 0) {
        return -1;
    }

    /* as kvs_sign_digest() writes it, so that one body has one text */

    for (i = 0; i < dglen; i++) {
        if (!((digest[i] >= '0' && digest[i] <= '9')
              || (digest[i] >= 'a' && digest[i] <= 'f')))
        {
            break;
        }
    }

    if (dglen != KVS_SIGN_DIGEST_LEN || i != dglen) {
        *why = "the X-KVS-Content-SHA256 header is not a digest";
        return -1;
    }

    return kvs_sign_match(secret, slen, method, mlen, uri, ulen, date, dlen,
                          digest, sig, why);
}


int
kvs_sign_check(const char *date, size_t dlen, const char *sig, size_t siglen,
    uint64_t now_ms, const char **why)
{
    size_t    i;
    uint64_t  d, skew;

    if (date == NULL || dlen == 0 || sig == NULL || siglen == 0) {
        *why = "the request is not signed";
        return -1;
    }

    /*
     * Digits only: no sign, no blanks, no fraction, so that one header
     * value cannot be read two ways.  A value past uint64_t saturates and
     * is then refused as too far ahead, which it is.
     */
    d = 0;

    for (i = 0; i < dlen; i++) {
        if (date[i] < '0' || date[i] > '9') {
            *why = "the X-KVS-Date header is not a number";
            return -1;
        }

        if (d > (UINT64_MAX - (uint64_t) (date[i] - '0')) / 10) {
            d = UINT64_MAX;

        } else {
            d = d * 10 + (uint64_t) (date[i] - '0');
        }
    }

    skew = (now_ms > d) ? now_ms - d : d - now_ms;

    if (skew > KVS_SIGN_MAX_SKEW) {
        *why = "the request is more than 60 s old or ahead";
        return -1;
    }

    /* the length of a signature is no secret, so it is checked first and
     * garbage costs no HMAC */
    if (siglen != KVS_SIGN_LEN) {
        *why = "the signature does not match";
        return -1;
    }

    return 0;
}


int
kvs_sign_verify(const char *secret, size_t slen, const char *method,
    size_t mlen, const char *uri, size_t ulen, const char *date,
    size_t dlen, const uint8_t *body, size_t blen, const char *sig,
    size_t siglen, uint64_t now_ms, const char **why)
{
    char  digest[KVS_SIGN_DIGEST_LEN];

    if (kvs_sign_check(date, dlen, sig, siglen, now_ms, why) != 0) {
        return -1;
    }

    if (kvs_sign_digest(body, blen, digest) != 0) {
        *why = "cannot compute the signature: out of memory";
        return -2;
    }

    return kvs_sign_match(secret, slen, method, mlen, uri, ulen, date, dlen,
                          digest, sig, why);
}


/* the signature of the parts, compared with the one received (whose length
 * kvs_sign_check() has checked) in a time that does not tell where they
 * differ */

static int
kvs_sign_match(const char *secret, size_t slen, const char *method,
    size_t mlen, const char *uri, size_t ulen, const char *date, size_t dlen,
    const char digest[KVS_SIGN_DIGEST_LEN], const char *sig,
    const char **why)
{
    char  want[KVS_SIGN_LEN];

    if (kvs_sign_text(secret, slen, method, mlen, uri, ulen, date, dlen,
                      digest, want)
        != 0)
    {
        *why = "cannot compute the signature: out of memory";
        return -2;
    }

    if (!kvs_crypto_equal(want, sig, KVS_SIGN_LEN)) {
        *why = "the signature does not match";
        return -1;
    }

    return 0;
}


static int
kvs_sign_text(const char *secret, size_t slen, const char *method,
    size_t mlen, const char *uri, size_t ulen, const char *date, size_t dlen,
    const char digest[KVS_SIGN_DIGEST_LEN], char out[KVS_SIGN_LEN])
{
    int       rc;
    char     *p;
    size_t    len;
    uint8_t   mac[KVS_SHA256_LEN];
    uint8_t   stack[KVS_SIGN_BUFLEN], *buf;

    /* the three newlines and the hex digest; sizes the caller cannot
     * have in memory are refused rather than wrapped */
    len = 3 + 2 * KVS_SHA256_LEN;

    if (mlen > SIZE_MAX - len || ulen > SIZE_MAX - len - mlen
        || dlen > SIZE_MAX - len - mlen - ulen)
    {
        return -1;
    }

    len += mlen + ulen + dlen;

    if (len <= sizeof(stack)) {
        buf = stack;

    } else {
        buf = malloc(len);
        if (buf == NULL) {
            return -1;
        }
    }

    rc = -1;

    /* memcpy() from NULL is undefined even for 0 bytes, hence the tests */
    p = (char *) buf;

    if (mlen > 0) {
        memcpy(p, method, mlen);
        p += mlen;
    }

    *p++ = '\n';

    if (ulen > 0) {
        memcpy(p, uri, ulen);
        p += ulen;
    }

    *p++ = '\n';

    memcpy(p, date, dlen);
    p += dlen;
    *p++ = '\n';

    memcpy(p, digest, KVS_SIGN_DIGEST_LEN);

    if (kvs_hmac_sha256((const uint8_t *) secret, slen, buf, len, mac) != 0)
    {
        goto done;
    }

    kvs_hex(out, mac, sizeof(mac));

    rc = 0;

done:

    if (buf != stack) {
        free(buf);
    }

    return rc;
}

