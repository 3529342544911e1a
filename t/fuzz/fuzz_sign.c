/*
 * kvs_sign_check() and kvs_sign_verify(): the headers and body of an
 * internal request, before anything trusts it.  The input is the parts
 * of a request, one a line: X-KVS-Date, X-KVS-Signature, method, uri,
 * the secret, and the body (the rest, newlines and all).
 *
 * kvs_sign_check() takes exactly a decimal date within 60 s of the clock
 * and a signature of 64 characters; kvs_sign_verify() takes exactly what
 * the check takes and whose signature is the HMAC of the formula in
 * kvs_sign.h, computed here again straight with OpenSSL; a signature
 * kvs_sign() makes for these parts verifies, and one with a character
 * changed does not; kvs_sign_verify_digest() over the body's own digest
 * gives kvs_sign_verify()'s verdict.
 */

#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "kvs_sign.h"
#include "kvs_fuzz.h"


#define KVS_FUZZ_PARTS  5


typedef struct {
    const char  *p;
    size_t       len;
} kvs_fuzz_part_t;


static void
kvs_fuzz_append(char *buf, size_t *len, const char *p, size_t n)
{
    /* memcpy() from the NULL of an empty part is undefined */
    if (n > 0) {
        memcpy(buf + *len, p, n);
        *len += n;
    }
}


/*
 * HMAC-SHA256(secret, method "\n" uri "\n" date "\n" hex(SHA-256(body))),
 * through OpenSSL 3's EVP_Q_mac(), not the HMAC() kvs_sign.c calls.
 */

static void
kvs_fuzz_sign(const kvs_fuzz_part_t *secret, const kvs_fuzz_part_t *method,
    const kvs_fuzz_part_t *uri, const kvs_fuzz_part_t *date,
    const kvs_fuzz_part_t *body, char out[KVS_SIGN_LEN])
{
    char     *text, hex[2 * SHA256_DIGEST_LENGTH + 1];
    size_t    i, len, maclen;
    uint8_t   md[SHA256_DIGEST_LENGTH], mac[SHA256_DIGEST_LENGTH];

    SHA256((const uint8_t *) body->p, body->len, md);

    for (i = 0; i < sizeof(md); i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }

    /* the parts may hold NUL bytes: copied, not printed */
    text = malloc(method->len + uri->len + date->len + 3 + sizeof(hex));
    FUZZ_CHECK(text != NULL, "memory");

    len = 0;
    kvs_fuzz_append(text, &len, method->p, method->len);
    kvs_fuzz_append(text, &len, "\n", 1);
    kvs_fuzz_append(text, &len, uri->p, uri->len);
    kvs_fuzz_append(text, &len, "\n", 1);
    kvs_fuzz_append(text, &len, date->p, date->len);
    kvs_fuzz_append(text, &len, "\n", 1);
    kvs_fuzz_append(text, &len, hex, sizeof(hex) - 1);

    FUZZ_CHECK(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret->p,
                         secret->len, (const uint8_t *) text, len,
                         mac, sizeof(mac), &maclen)
               != NULL && maclen == sizeof(mac),
               "OpenSSL computes an HMAC");

    free(text);

    for (i = 0; i < sizeof(mac); i++) {
        snprintf(hex + 2 * i, 3, "%02x", mac[i]);
    }

    memcpy(out, hex, KVS_SIGN_LEN);
}


/* the date's value when it is digits only and fits 64 bits, else -1 */

static int
kvs_fuzz_date(const kvs_fuzz_part_t *date, uint64_t *v)
{
    size_t  i;

    *v = 0;

    if (date->len == 0) {
        return -1;
    }

    for (i = 0; i < date->len; i++) {
        if (date->p[i] < '0' || date->p[i] > '9'
            || *v > (UINT64_MAX - (uint64_t) (date->p[i] - '0')) / 10)
        {
            return -1;
        }

        *v = *v * 10 + (uint64_t) (date->p[i] - '0');
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int               rc, vrc, drc, digits;
    char              want[KVS_SIGN_LEN], made[KVS_SIGN_LEN], text[24];
    char              digest[KVS_SIGN_DIGEST_LEN];
    size_t            i;
    uint64_t          d, when;
    const char       *why, *vwhy, *dwhy, *nl, *end;
    kvs_fuzz_part_t   part[KVS_FUZZ_PARTS], body, *date, *sig, canon;

    end = (const char *) data + size;
    nl = (const char *) data;

    for (i = 0; i < KVS_FUZZ_PARTS; i++) {
        part[i].p = nl;
        nl = memchr(nl, '\n', (size_t) (end - nl));
        part[i].len = (size_t) ((nl != NULL ? nl : end) - part[i].p);
        nl = (nl != NULL) ? nl + 1 : end;
    }

    body.p = nl;
    body.len = (size_t) (end - nl);

    date = &part[0];
    sig = &part[1];

    why = NULL;
    rc = kvs_sign_check(date->p, date->len, sig->p, sig->len, KVS_FUZZ_NOW,
                        &why);

    FUZZ_CHECK(rc == 0 || (rc == -1 && why != NULL && why[0] != '\0'),
               "kvs_sign_check() returns 0, or -1 and why");

    digits = kvs_fuzz_date(date, &d);

    if (rc == 0) {
        FUZZ_CHECK(digits == 0, "a date taken is a decimal number");
        FUZZ_CHECK(d + KVS_SIGN_MAX_SKEW >= KVS_FUZZ_NOW
                   && d <= KVS_FUZZ_NOW + KVS_SIGN_MAX_SKEW,
                   "a date taken is within 60 s of the clock");
        FUZZ_CHECK(sig->len == KVS_SIGN_LEN,
                   "a signature taken has 64 characters");

    } else if (digits == 0 && sig->len == KVS_SIGN_LEN) {
        FUZZ_CHECK(d + KVS_SIGN_MAX_SKEW < KVS_FUZZ_NOW
                   || d > KVS_FUZZ_NOW + KVS_SIGN_MAX_SKEW,
                   "only its age refuses a dated request of 64 characters");
    }

    vwhy = NULL;
    vrc = kvs_sign_verify(part[4].p, part[4].len, part[2].p, part[2].len,
                          part[3].p, part[3].len, date->p, date->len,
                          (const uint8_t *) body.p, body.len, sig->p,
                          sig->len, KVS_FUZZ_NOW, &vwhy);

    /* over the body's own digest, declared before the body is read, the
     * same verdict */
    FUZZ_CHECK(kvs_sign_digest((const uint8_t *) body.p, body.len, digest)
               == 0, "a body has a digest");
    dwhy = NULL;
    drc = kvs_sign_verify_digest(part[4].p, part[4].len, part[2].p,
                                 part[2].len, part[3].p, part[3].len,
                                 date->p, date->len, digest,
                                 KVS_SIGN_DIGEST_LEN, sig->p, sig->len,
                                 KVS_FUZZ_NOW, &dwhy);
    FUZZ_CHECK(drc == vrc
               && (vrc == 0 || (dwhy != NULL && strcmp(dwhy, vwhy) == 0)),
               "a declared digest, the body's own, verifies as the body");

    if (rc != 0) {
        FUZZ_CHECK(vrc == rc && vwhy != NULL && strcmp(vwhy, why) == 0,
                   "verify refuses what the check refuses, for its reason");

    } else {
        kvs_fuzz_sign(&part[4], &part[2], &part[3], date, &body, want);

        FUZZ_CHECK((vrc == 0) == (memcmp(want, sig->p, KVS_SIGN_LEN) == 0),
                   "verify takes exactly the HMAC of the formula");
        FUZZ_CHECK(vrc == 0 || (vrc == -1 && vwhy != NULL),
                   "a refusal says why");
    }

    /* signed now by kvs_sign(), a moment off the clock the input picks */
    when = KVS_FUZZ_NOW - KVS_SIGN_MAX_SKEW
           + (size > 0 ? data[size - 1] : 0) * (2 * KVS_SIGN_MAX_SKEW / 255);

    FUZZ_CHECK(kvs_sign(part[4].p, part[4].len, part[2].p, part[2].len,
                        part[3].p, part[3].len, when,
                        (const uint8_t *) body.p, body.len, made) == 0,
               "kvs_sign() signs");

    canon.len = (size_t) snprintf(text, sizeof(text), "%llu",
                                  (unsigned long long) when);
    canon.p = text;

    kvs_fuzz_sign(&part[4], &part[2], &part[3], &canon, &body, want);
    FUZZ_CHECK(memcmp(made, want, KVS_SIGN_LEN) == 0,
               "kvs_sign() computes the formula, the date in decimal");

    FUZZ_CHECK(kvs_sign_verify(part[4].p, part[4].len, part[2].p,
                               part[2].len, part[3].p, part[3].len,
                               canon.p, canon.len, (const uint8_t *) body.p,
                               body.len, made, KVS_SIGN_LEN, KVS_FUZZ_NOW,
                               &vwhy) == 0,
               "what kvs_sign() signs verifies");

    made[size % KVS_SIGN_LEN] ^= 0x01;

    FUZZ_CHECK(kvs_sign_verify(part[4].p, part[4].len, part[2].p,
                               part[2].len, part[3].p, part[3].len,
                               canon.p, canon.len, (const uint8_t *) body.p,
                               body.len, made, KVS_SIGN_LEN, KVS_FUZZ_NOW,
                               &vwhy) == -1,
               "a signature with a character changed does not verify");

    return 0;
}
