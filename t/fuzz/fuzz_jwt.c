/*
 * kvs_jwt_verify(): the bearer token of every request, before anything
 * trusts it; and kvs_jwt_sign() of claims the input picks.
 *
 * The input, as a token, is checked with two fixed keys at the targets'
 * clock.  A refusal is one of kvs_jwt.h's sentences and leaves the claims
 * alone; a token taken is at most 512 bytes of three parts, unexpired,
 * and its third part is the HMAC of the first two under one of the keys,
 * computed here again with OpenSSL's EVP_Q_mac() and base64 encoder.
 *
 * Then its first 48 bytes are claims (sub, jti, iat, exp): signed, they
 * verify to the same claims, or are refused as expired exactly when exp
 * is not ahead; with one character changed, or under the other key only,
 * they do not verify.
 */

#include <string.h>

#include <openssl/evp.h>

#include "kvs_crypto.h"
#include "kvs_jwt.h"
#include "kvs_fuzz.h"


#define KVS_FUZZ_NOW_S  (KVS_FUZZ_NOW / 1000)

#define KVS_FUZZ_KEY1   "kvs-example-jwt-secret-number-one-0123456789"
#define KVS_FUZZ_KEY2   "kvs-example-jwt-secret-number-two-0123456789"


static const char  *kvs_fuzz_sentences[] = {
    "the token is longer than 512 bytes",
    "the token is malformed",
    "the token's header is malformed",
    "the token's algorithm is not HS256",
    "the token's key is unknown",
    "the token's signature does not match",
    "the token's claims are malformed",
    "the token has expired"
};


static kvs_jwt_key_t  kvs_fuzz_keys[2];


static void
kvs_fuzz_init(void)
{
    static int  done;

    if (done) {
        return;
    }

    FUZZ_CHECK(kvs_jwt_key_init(&kvs_fuzz_keys[0],
                                (const uint8_t *) KVS_FUZZ_KEY1,
                                sizeof(KVS_FUZZ_KEY1) - 1) == 0
               && kvs_jwt_key_init(&kvs_fuzz_keys[1],
                                   (const uint8_t *) KVS_FUZZ_KEY2,
                                   sizeof(KVS_FUZZ_KEY2) - 1) == 0,
               "the keys are made");
    done = 1;
}


static int
kvs_fuzz_sentence(const char *why)
{
    size_t  i;

    for (i = 0; i < sizeof(kvs_fuzz_sentences) / sizeof(char *); i++) {
        if (strcmp(why, kvs_fuzz_sentences[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


/* whether sig is the base64url HMAC of input under key: OpenSSL's
 * padded base64, turned into the url alphabet without padding */

static int
kvs_fuzz_mac_is(const kvs_jwt_key_t *key, const uint8_t *input, size_t len,
    const uint8_t *sig, size_t siglen)
{
    int       n, i;
    size_t    maclen;
    uint8_t   mac[32];
    unsigned char  b64[48];

    FUZZ_CHECK(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key->secret,
                         key->len, input, len, mac, sizeof(mac), &maclen)
               != NULL && maclen == sizeof(mac),
               "OpenSSL computes an HMAC");

    n = EVP_EncodeBlock(b64, mac, sizeof(mac));

    for (i = 0; i < n; i++) {
        b64[i] = (b64[i] == '+') ? '-' : (b64[i] == '/') ? '_' : b64[i];
    }

    while (n > 0 && b64[n - 1] == '=') {
        n--;
    }

    return (size_t) n == siglen && memcmp(b64, sig, siglen) == 0;
}


static void
kvs_fuzz_taken(const uint8_t *data, size_t size, const kvs_jwt_claims_t *c)
{
    size_t          i, dots, last;

    FUZZ_CHECK(size <= KVS_JWT_MAX, "a token taken is at most 512 bytes");
    FUZZ_CHECK(c->exp > KVS_FUZZ_NOW_S, "a token taken has not expired");
    FUZZ_CHECK(c->iat <= KVS_JWT_TIME_MAX && c->exp <= KVS_JWT_TIME_MAX,
               "a token taken has times up to 2^53");

    dots = 0;
    last = 0;

    for (i = 0; i < size; i++) {
        if (data[i] == '.') {
            dots++;
            last = i;
        }
    }

    FUZZ_CHECK(dots == 2, "a token taken has three parts");
    FUZZ_CHECK(kvs_fuzz_mac_is(&kvs_fuzz_keys[0], data, last,
                               data + last + 1, size - last - 1)
               || kvs_fuzz_mac_is(&kvs_fuzz_keys[1], data, last,
                                  data + last + 1, size - last - 1),
               "a token taken carries the HMAC of a key");
}


/* claims from the input: times up to a little past 2^53, so that both
 * sides of the cap are reached */

static void
kvs_fuzz_claims(const uint8_t *data, size_t size, kvs_jwt_claims_t *c)
{
    size_t   i;
    uint8_t  b[48];

    memset(b, 0, sizeof(b));
    memcpy(b, data, size < sizeof(b) ? size : sizeof(b));

    memcpy(c->sub, b, KVS_UUID_LEN);
    memcpy(c->jti, b + 16, KVS_UUID_LEN);

    c->iat = 0;
    c->exp = 0;

    for (i = 0; i < 8; i++) {
        c->iat = c->iat << 8 | b[32 + i];
        c->exp = c->exp << 8 | b[40 + i];
    }

    c->iat %= KVS_JWT_TIME_MAX + 2;

    /* to the millisecond, or in whole seconds */
    c->iat_ms = c->iat * 1000 + ((b[39] & 1) ? (uint64_t) b[38] * 3 : 0);

    /* around the clock more often than not */
    c->exp = (b[40] & 0x80) ? c->exp % (KVS_JWT_TIME_MAX + 2)
                            : KVS_FUZZ_NOW_S - 128 + (c->exp & 0xff);
}


static void
kvs_fuzz_sign(const uint8_t *data, size_t size)
{
    int                n;
    char               tok[KVS_JWT_MAX];
    size_t             k, at;
    const char        *why;
    kvs_jwt_claims_t   c, got;

    kvs_fuzz_claims(data, size, &c);
    k = size % 2;

    n = kvs_jwt_sign(&c, &kvs_fuzz_keys[k], tok, sizeof(tok));

    if (c.iat > KVS_JWT_TIME_MAX || c.exp > KVS_JWT_TIME_MAX) {
        FUZZ_CHECK(n == -1, "times past 2^53 are not signed");
        return;
    }

    FUZZ_CHECK(n > 0 && (size_t) n < sizeof(tok) && strlen(tok) == (size_t) n,
               "claims sign into a token and a NUL");

    memset(&got, 0, sizeof(got));
    why = kvs_jwt_verify(tok, (size_t) n, kvs_fuzz_keys, 2, KVS_FUZZ_NOW_S,
                         &got);

    if (c.exp <= KVS_FUZZ_NOW_S) {
        FUZZ_CHECK(why != NULL && strcmp(why, "the token has expired") == 0,
                   "a token signed is refused only as expired");
        return;
    }

    FUZZ_CHECK(why == NULL, "a token signed verifies");
    FUZZ_CHECK(memcmp(&got, &c, sizeof(c)) == 0,
               "a token signed verifies to its claims");

    why = kvs_jwt_verify(tok, (size_t) n, &kvs_fuzz_keys[1 - k], 1,
                         KVS_FUZZ_NOW_S, &got);
    FUZZ_CHECK(why != NULL && strcmp(why, "the token's key is unknown") == 0,
               "the other key alone does not know the token");

    /* any one character changed, to any other byte */
    at = (size > 48) ? data[48] : size;
    at = at % (size_t) n;
    tok[at] = (char) (tok[at] + 1 + (size > 49 ? data[49] % 255 : 0));

    why = kvs_jwt_verify(tok, (size_t) n, kvs_fuzz_keys, 2, KVS_FUZZ_NOW_S,
                         &got);
    FUZZ_CHECK(why != NULL, "a token with a character changed is refused");
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char        *why;
    kvs_jwt_claims_t   c, untouched;

    kvs_fuzz_init();

    memset(&c, 0xa5, sizeof(c));
    untouched = c;

    why = kvs_jwt_verify((const char *) data, size, kvs_fuzz_keys, 2,
                         KVS_FUZZ_NOW_S, &c);

    if (why == NULL) {
        kvs_fuzz_taken(data, size, &c);

    } else {
        FUZZ_CHECK(kvs_fuzz_sentence(why), "a refusal is a known sentence");
        FUZZ_CHECK(memcmp(&c, &untouched, sizeof(c)) == 0,
                   "a refusal leaves the claims alone");
        FUZZ_CHECK(size <= KVS_JWT_MAX
                   || strcmp(why, "the token is longer than 512 bytes") == 0,
                   "a token past 512 bytes is refused for its length");
    }

    kvs_fuzz_sign(data, size);

    return 0;
}
