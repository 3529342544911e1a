/*
 * Unit tests for src/kvs/kvs_jwt.c, printed as TAP.
 *
 * The MAC step is checked against the HS256 example of RFC 7515, appendix
 * A.1: its key, its signing input, its signature.  The key ids were
 * computed outside this code (printf %s "$SECRET" | sha256sum).  The rest
 * are tokens made here, well and badly: each refusal is checked for its
 * exact sentence, which reaches the client and the log, and for leaving
 * the caller's claims alone.  It exits non-zero when any check fails.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kvs_crypto.h"
#include "kvs_jwt.h"

#include "kvs_test.h"


#define S(s)              s, sizeof(s) - 1

#define SECRET1           "kvs-example-jwt-secret-number-one-0123456789"
#define SECRET2           "kvs-example-jwt-secret-number-two-0123456789"
#define KID1              "ce3cb0d2d7aaa82b"
#define KID2              "52e41ed08d49ab17"

#define NOW               1800000000ULL
#define SUB               "3f0b8e52-9a1c-4d7e-8b2a-0c5d6e7f8091"
#define JTI               "a1b2c3d4-e5f6-4a0b-9c8d-7e6f5a4b3c2d"

#define HEADER1           "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"" \
                          KID1 "\"}"
#define CLAIMS(iat, exp)  "{\"sub\":\"" SUB "\",\"iat\":" iat ",\"exp\":" \
                          exp ",\"jti\":\"" JTI "\"}"
#define PAYLOAD           CLAIMS("1800000000", "1800003600")
#define CLAIMS_PAD        "{\"sub\":\"" SUB "\",\"iat\":1800000000," \
                          "\"exp\":1800003600,\"jti\":\"" JTI "\"," \
                          "\"pad\":\"%s\"}"

#define WHY_LONG          "the token is longer than 512 bytes"
#define WHY_MALFORMED     "the token is malformed"
#define WHY_HEADER        "the token's header is malformed"
#define WHY_ALG           "the token's algorithm is not HS256"
#define WHY_KEY           "the token's key is unknown"
#define WHY_SIGNATURE     "the token's signature does not match"
#define WHY_CLAIMS        "the token's claims are malformed"
#define WHY_EXPIRED       "the token has expired"


typedef struct {
    const char  *json;
    const char  *why;                    /* NULL: the token is good */
    const char  *desc;
} kvs_test_part_t;


static kvs_jwt_key_t  kvs_test_keys[2];


static int
kvs_test_setup(void)
{
    if (kvs_jwt_key_init(&kvs_test_keys[0], (const uint8_t *) SECRET1,
                         sizeof(SECRET1) - 1)
        != 0
        || kvs_jwt_key_init(&kvs_test_keys[1], (const uint8_t *) SECRET2,
                            sizeof(SECRET2) - 1)
           != 0)
    {
        printf("Bail out! cannot make the keys\n");
        return -1;
    }

    return 0;
}


/* a token of these header and payload texts, signed with key */

static size_t
kvs_test_token(char *out, const kvs_jwt_key_t *key, const char *header,
    const char *payload)
{
    char  *p;

    p = out;
    p += kvs_b64url_encode(p, (const uint8_t *) header, strlen(header));
    *p++ = '.';
    p += kvs_b64url_encode(p, (const uint8_t *) payload, strlen(payload));

    if (kvs_jwt_mac(key, out, (size_t) (p - out), p + 1) != 0) {
        return 0;
    }

    *p = '.';
    p += 1 + KVS_JWT_MAC_LEN;
    *p = '\0';

    return (size_t) (p - out);
}


/* the character whose base64url value differs in the lowest bit */

static char
kvs_test_flip_low(char c)
{
    static const char  a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    return a[(strchr(a, c) - a) ^ 1];
}


/* the sentence for tok at NOW with both keys, or "(good)" */

static const char *
kvs_test_verify(const char *tok, size_t len)
{
    const char        *why;
    kvs_jwt_claims_t   c;

    memset(&c, 0x5a, sizeof(c));
    why = kvs_jwt_verify(tok, len, kvs_test_keys, 2, NOW, &c);

    if (why == NULL) {
        return "(good)";
    }

    if (c.iat != 0x5a5a5a5a5a5a5a5aULL || c.sub[0] != 0x5a) {
        return "(claims changed on a refusal)";
    }

    return why;
}


static void
kvs_test_rfc7515(void)
{
    char           sig[KVS_JWT_MAC_LEN + 1], enc[128];
    size_t         n;
    uint8_t        k[64];
    kvs_jwt_key_t  key;

    static const char  jwk[] =
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4"
        "hcgUuTwjAzZr1Z9CAow";

    static const char  input[] =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
        "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

    static const char  token[] =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
        ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
        "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
        ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

    n = sizeof(k);
    CHECK(kvs_b64url_decode(k, &n, S(jwk)) == 0 && n == 64
          && k[0] == 0x03 && k[63] == 0xa3,
          "RFC 7515 A.1: the JWK's k decodes to 64 bytes");

    CHECK(kvs_jwt_key_init(&key, k, n) == 0, "RFC 7515 A.1: a key of it");

    memset(sig, 0, sizeof(sig));
    CHECK(kvs_jwt_mac(&key, S(input), sig) == 0, "RFC 7515 A.1: MACs");
    kvs_test_str(sig, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
                 "RFC 7515 A.1: the HS256 signature");

    n = kvs_b64url_encode(enc, (const uint8_t *) "{\"typ\":\"JWT\",\r\n"
                          " \"alg\":\"HS256\"}", 30);
    enc[n] = '\0';
    kvs_test_str(enc, "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9",
                 "RFC 7515 A.1: the header's encoding");

    /* the example names no kid and no sub: not one of ours */
    kvs_test_str(kvs_jwt_verify(S(token), &key, 1, 1300819379, NULL),
                 WHY_HEADER, "RFC 7515 A.1: the token has no kid");
}


static void
kvs_test_keys_ids(void)
{
    kvs_jwt_key_t  k;

    kvs_test_str(kvs_test_keys[0].kid, KID1, "kid: SHA-256 of secret 1");
    kvs_test_str(kvs_test_keys[1].kid, KID2, "kid: SHA-256 of secret 2");

    CHECK(kvs_test_keys[0].secret == (const uint8_t *) SECRET1
          || memcmp(kvs_test_keys[0].secret, SECRET1, sizeof(SECRET1) - 1)
             == 0,
          "kid: the key points at its secret");

    /* printf '' | sha256sum: e3b0c44298fc1c14... */
    CHECK(kvs_jwt_key_init(&k, NULL, 0) == 0, "kid: an empty secret");
    kvs_test_str(k.kid, "e3b0c44298fc1c14", "kid: of the empty secret");
}


static void
kvs_test_round_trip(void)
{
    int                n;
    char               tok[KVS_JWT_MAX], part[KVS_JWT_MAX], *dot;
    size_t             len;
    uint8_t            dec[KVS_JWT_MAX];
    const char        *why;
    kvs_jwt_claims_t   c, got;

    kvs_uuid_parse(c.sub, S(SUB));
    kvs_uuid_parse(c.jti, S(JTI));
    c.iat = NOW;
    c.iat_ms = 0;
    c.exp = NOW + 3600;

    n = kvs_jwt_sign(&c, &kvs_test_keys[0], tok, sizeof(tok));
    CHECK(n > 0 && (size_t) n == strlen(tok), "sign: a token and a NUL");

    /* the parts are exactly the texts of the format */
    dot = strchr(tok, '.');
    len = sizeof(dec);
    CHECK(dot != NULL
          && kvs_b64url_decode(dec, &len, tok, (size_t) (dot - tok)) == 0,
          "sign: the header decodes");
    memcpy(part, dec, len);
    part[len] = '\0';
    kvs_test_str(part, HEADER1, "sign: the header");

    len = sizeof(dec);
    CHECK(kvs_b64url_decode(dec, &len, dot + 1,
                            (size_t) (strrchr(tok, '.') - dot - 1))
          == 0,
          "sign: the payload decodes");
    memcpy(part, dec, len);
    part[len] = '\0';
    kvs_test_str(part, PAYLOAD, "sign: the payload");

    CHECK(kvs_test_token(part, &kvs_test_keys[0], HEADER1, PAYLOAD)
          == (size_t) n && strcmp(part, tok) == 0,
          "sign: the third part is the MAC of the first two");

    memset(&got, 0, sizeof(got));
    why = kvs_jwt_verify(tok, (size_t) n, kvs_test_keys, 2, NOW, &got);
    CHECK(why == NULL, "verify: the token signed is good");
    CHECK(memcmp(got.sub, c.sub, KVS_UUID_LEN) == 0
          && memcmp(got.jti, c.jti, KVS_UUID_LEN) == 0
          && got.iat == NOW && got.exp == NOW + 3600
          && got.iat_ms == NOW * 1000ULL,
          "verify: the claims come back");

    /* to the millisecond: iat with three decimals, read back exactly */

    c.iat_ms = NOW * 1000ULL + 95;
    n = kvs_jwt_sign(&c, &kvs_test_keys[0], tok, sizeof(tok));
    len = sizeof(dec);
    dot = strchr(tok, '.');
    CHECK(n > 0 && dot != NULL
          && kvs_b64url_decode(dec, &len, dot + 1,
                               (size_t) (strrchr(tok, '.') - dot - 1))
             == 0, "sign: a token of an iat in milliseconds");
    memcpy(part, dec, len);
    part[len] = '\0';
    kvs_test_str(part, CLAIMS("1800000000.095", "1800003600"),
                 "sign: iat written with its three decimals");
    memset(&got, 0, sizeof(got));
    CHECK(kvs_jwt_verify(tok, (size_t) n, kvs_test_keys, 2, NOW, &got)
          == NULL && got.iat == NOW && got.iat_ms == NOW * 1000ULL + 95,
          "verify: and its milliseconds read back");

    why = kvs_jwt_verify(tok, (size_t) n, kvs_test_keys, 2, NOW + 3599,
                         &got);
    CHECK(why == NULL, "verify: good a second before exp");

    kvs_test_str(kvs_jwt_verify(tok, (size_t) n, kvs_test_keys, 2,
                                NOW + 3600, &got),
                 WHY_EXPIRED, "verify: exp == now has expired");
    kvs_test_str(kvs_jwt_verify(tok, (size_t) n, kvs_test_keys, 2,
                                NOW + 86400, &got),
                 WHY_EXPIRED, "verify: a day later has expired");

    /* sizes */
    CHECK(kvs_jwt_sign(&c, &kvs_test_keys[0], tok, (size_t) n) == -1,
          "sign: no room for the NUL");
    CHECK(kvs_jwt_sign(&c, &kvs_test_keys[0], tok, (size_t) n + 1) == n,
          "sign: room for the NUL is enough");

    c.exp = KVS_JWT_TIME_MAX;
    n = kvs_jwt_sign(&c, &kvs_test_keys[0], tok, sizeof(tok));
    CHECK(n > 0 && kvs_jwt_verify(tok, (size_t) n, kvs_test_keys, 2, NOW,
                                  &got) == NULL
          && got.exp == KVS_JWT_TIME_MAX,
          "sign: exp of 2^53 signs and verifies");

    c.exp = KVS_JWT_TIME_MAX + 1;
    CHECK(kvs_jwt_sign(&c, &kvs_test_keys[0], tok, sizeof(tok)) == -1,
          "sign: exp past 2^53 is refused");

    c.exp = NOW + 1;
    c.iat = KVS_JWT_TIME_MAX + 1;
    CHECK(kvs_jwt_sign(&c, &kvs_test_keys[0], tok, sizeof(tok)) == -1,
          "sign: iat past 2^53 is refused");
}


/* the second key signs; [key1, key2] verify it, [key1] does not */

static void
kvs_test_rotation(void)
{
    int                n;
    char               tok[KVS_JWT_MAX];
    kvs_jwt_claims_t   c, got;

    memset(&c, 7, sizeof(c));
    c.iat = NOW;
    c.iat_ms = 0;
    c.exp = NOW + 60;

    n = kvs_jwt_sign(&c, &kvs_test_keys[1], tok, sizeof(tok));
    CHECK(n > 0, "rotation: key 2 signs");

    CHECK(kvs_jwt_verify(tok, (size_t) n, kvs_test_keys, 2, NOW, &got)
          == NULL && memcmp(got.sub, c.sub, KVS_UUID_LEN) == 0,
          "rotation: [key1, key2] verify key 2's token");
    kvs_test_str(kvs_jwt_verify(tok, (size_t) n, kvs_test_keys, 1, NOW,
                                &got),
                 WHY_KEY, "rotation: [key1] does not know it");
    CHECK(kvs_jwt_verify(tok, (size_t) n, &kvs_test_keys[1], 1, NOW, &got)
          == NULL,
          "rotation: [key2] alone verifies it");
    kvs_test_str(kvs_jwt_verify(tok, (size_t) n, kvs_test_keys, 0, NOW,
                                &got),
                 WHY_KEY, "rotation: no keys know nothing");
}


/*
 * Tokens signed with key 1 of each header over our payload, or of our
 * header over each payload ("payload"), checked at NOW for their sentence.
 */

static void
kvs_test_parts(const char *what, const kvs_test_part_t *parts, size_t n)
{
    char    tok[KVS_JWT_MAX * 2], desc[160];
    size_t  i, len;

    for (i = 0; i < n; i++) {
        if (strcmp(what, "header") == 0) {
            len = kvs_test_token(tok, &kvs_test_keys[0], parts[i].json,
                                 PAYLOAD);

        } else {
            len = kvs_test_token(tok, &kvs_test_keys[0], HEADER1,
                                 parts[i].json);
        }

        snprintf(desc, sizeof(desc), "%s: %s: %s", what, parts[i].desc,
                 parts[i].why ? parts[i].why : "good");
        kvs_test_str(kvs_test_verify(tok, len),
                     parts[i].why ? parts[i].why : "(good)", desc);
    }
}


static void
kvs_test_headers(void)
{
    static const kvs_test_part_t  headers[] = {
        { HEADER1, NULL, "ours" },
        { "{\"alg\":\"HS256\",\"kid\":\"" KID1 "\"}", NULL, "no typ" },
        { " { \"kid\" : \"" KID1 "\" ,\n\"alg\":\"HS256\" } ", NULL,
          "blanks, another order" },
        { "{\"alg\":\"none\",\"typ\":\"JWT\",\"kid\":\"" KID1 "\"}", WHY_ALG,
          "alg none" },
        { "{\"alg\":\"none\",\"typ\":\"JWT\"}", WHY_ALG, "alg none, no kid" },
        { "{\"alg\":\"HS512\",\"typ\":\"JWT\",\"kid\":\"" KID1 "\"}", WHY_ALG,
          "alg HS512" },
        { "{\"alg\":\"RS256\",\"kid\":\"" KID1 "\"}", WHY_ALG, "alg RS256" },
        { "{\"alg\":\"hs256\",\"kid\":\"" KID1 "\"}", WHY_ALG,
          "alg in lower case" },
        { "{\"alg\":\"HS256 \",\"kid\":\"" KID1 "\"}", WHY_ALG,
          "alg with a blank" },
        { "{\"typ\":\"JWT\",\"kid\":\"" KID1 "\"}", WHY_ALG, "no alg" },
        { "{\"alg\":null,\"kid\":\"" KID1 "\"}", WHY_HEADER, "alg null" },
        { "{\"alg\":[\"HS256\"],\"kid\":\"" KID1 "\"}", WHY_HEADER,
          "alg an array" },
        { "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", WHY_HEADER, "no kid" },
        { "{\"alg\":\"HS256\",\"kid\":1}", WHY_HEADER, "kid a number" },
        { "{\"alg\":\"HS256\",\"kid\":\"0000000000000000\"}", WHY_KEY,
          "an unknown kid" },
        { "{\"alg\":\"HS256\",\"kid\":\"" KID1 "0\"}", WHY_KEY,
          "a kid with a digit more" },
        { "{\"alg\":\"HS256\",\"kid\":\"\"}", WHY_KEY, "an empty kid" },
        { "{\"alg\":\"HS256\",\"typ\":\"jwt\",\"kid\":\"" KID1 "\"}",
          WHY_HEADER, "typ jwt" },
        { "{\"alg\":\"HS256\",\"typ\":1,\"kid\":\"" KID1 "\"}", WHY_HEADER,
          "typ a number" },
        { "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"kid\":\"" KID1 "\"}",
          WHY_HEADER, "crit" },
        { "{\"alg\":\"HS256\",\"jku\":\"https://evil/\",\"kid\":\"" KID1
          "\"}", WHY_HEADER, "jku" },
        { "{\"alg\":\"HS256\",\"alg\":\"HS256\",\"kid\":\"" KID1 "\"}",
          WHY_HEADER, "alg twice" },
        { "{\"alg\":\"none\",\"alg\":\"HS256\",\"kid\":\"" KID1 "\"}",
          WHY_HEADER, "alg none, then HS256" },
        { "{\"\\u0061lg\":\"HS256\",\"kid\":\"" KID1 "\"}", WHY_HEADER,
          "an escaped name" },
        { "{\"alg\":\"HS\\u0032256\",\"kid\":\"" KID1 "\"}", WHY_HEADER,
          "an escaped value" },
        { "{\"alg\":\"HS256\",\"kid\":\"" KID1 "\",}", WHY_HEADER,
          "not JSON: a trailing comma" },
        { "{\"alg\":\"HS256\",\"kid\":\"" KID1 "\"", WHY_HEADER,
          "not JSON: no closing brace" },
        { "{\"alg\":\"HS256\",\"kid\":\"" KID1 "\"}{}", WHY_HEADER,
          "two objects" },
        { "[\"HS256\"]", WHY_HEADER, "an array" },
        { "\"HS256\"", WHY_HEADER, "a string" },
        { "{}", WHY_ALG, "an empty object" }
    };

    kvs_test_parts("header", headers, sizeof(headers) / sizeof(headers[0]));
}


static void
kvs_test_payloads(void)
{
    static const kvs_test_part_t  payloads[] = {
        { PAYLOAD, NULL, "ours" },
        { "{\"jti\":\"" JTI "\",\"exp\":1800003600,\"iat\":0,\"sub\":\""
          SUB "\"}", NULL, "another order, iat 0" },
        { "{\"sub\":\"" SUB "\",\"iat\":1800000000,\"exp\":1800003600,"
          "\"jti\":\"" JTI "\",\"aud\":[\"a\",{\"b\":[1,2,{}]}],"
          "\"nbf\":1e3,\"name\":\"Jo \\\" }\",\"admin\":true,\"x\":null}",
          WHY_CLAIMS, "a backslash in a claim not read" },
        { "{\"sub\":\"" SUB "\",\"iat\":1800000000,\"exp\":1800003600,"
          "\"jti\":\"" JTI "\",\"aud\":[\"a\",{\"b\":[1,\"]}\",{}]}],"
          "\"nbf\":-1.5e3,\"admin\":true,\"x\":null,\"y\":\"\"}",
          NULL, "other claims are skipped" },
        { " \n{ \"sub\" : \"" SUB "\" , \"iat\" : 1 , \"exp\" : 1800003600 ,"
          " \"jti\" : \"" JTI "\" }\t", NULL, "blanks everywhere" },
        { "{\"sub\":\"3F0B8E52-9A1C-4D7E-8B2A-0C5D6E7F8091\",\"iat\":1,"
          "\"exp\":1800003600,\"jti\":\"" JTI "\"}", NULL,
          "sub in upper case" },
        { CLAIMS("1800000000", "9007199254740992"), NULL, "exp 2^53" },
        { CLAIMS("1800000000", "9007199254740993"), WHY_CLAIMS,
          "exp 2^53 + 1" },
        { CLAIMS("1800000000", "99999999999999999999999"), WHY_CLAIMS,
          "exp past 64 bits" },
        { CLAIMS("1800000000", "1800000000"), WHY_EXPIRED, "exp == now" },
        { CLAIMS("1800000000", "1800000001"), NULL, "exp == now + 1" },
        { CLAIMS("1800000000", "0"), WHY_EXPIRED, "exp 0" },
        { CLAIMS("\"1800000000\"", "1800003600"), WHY_CLAIMS,
          "iat a string" },
        { CLAIMS("1800000000", "\"1800003600\""), WHY_CLAIMS,
          "exp a string" },
        { CLAIMS("1800000000.5", "1800003600"), NULL,
          "iat with a fraction" },
        { CLAIMS("1800000000", "1800003600.0"), NULL,
          "exp with a zero fraction" },
        { CLAIMS("1800000000.1234", "1800003600"), WHY_CLAIMS,
          "iat with four decimals" },
        { CLAIMS("1800000000.", "1800003600"), WHY_CLAIMS,
          "iat with a point and no decimal" },
        { CLAIMS("1800000000", "1800003600.5e0"), WHY_CLAIMS,
          "exp with a fraction and an exponent" },
        { CLAIMS("18e8", "1800003600"), WHY_CLAIMS, "iat with an exponent" },
        { CLAIMS("1800000000", "1800003600E0"), WHY_CLAIMS,
          "exp with an exponent" },
        { CLAIMS("-1", "1800003600"), WHY_CLAIMS, "iat negative" },
        { CLAIMS("-0", "1800003600"), WHY_CLAIMS, "iat -0" },
        { CLAIMS("null", "1800003600"), WHY_CLAIMS, "iat null" },
        { CLAIMS("true", "1800003600"), WHY_CLAIMS, "iat true" },
        { CLAIMS("[1]", "1800003600"), WHY_CLAIMS, "iat an array" },
        { CLAIMS("01", "1800003600"), WHY_CLAIMS, "not JSON: 01" },
        { "{\"iat\":1800000000,\"exp\":1800003600,\"jti\":\"" JTI "\"}",
          WHY_CLAIMS, "no sub" },
        { "{\"sub\":\"" SUB "\",\"exp\":1800003600,\"jti\":\"" JTI "\"}",
          WHY_CLAIMS, "no iat" },
        { "{\"sub\":\"" SUB "\",\"iat\":1800000000,\"jti\":\"" JTI "\"}",
          WHY_CLAIMS, "no exp" },
        { "{\"sub\":\"" SUB "\",\"iat\":1800000000,\"exp\":1800003600}",
          WHY_CLAIMS, "no jti" },
        { "{\"sub\":\"" SUB "\",\"iat\":1800000000,\"exp\":1800003600,"
          "\"jti\":\"" JTI "\",\"sub\":\"" JTI "\"}", WHY_CLAIMS,
          "sub twice" },
        { "{\"sub\":\"" SUB "\",\"iat\":1800000000,\"exp\":1800003600,"
          "\"jti\":\"" JTI "\",\"exp\":9000000000}", WHY_CLAIMS,
          "exp twice" },
        { "{\"sub\":\"" SUB "\",\"iat\":1800000000,\"exp\":1800003600,"
          "\"jti\":\"" JTI "\",\"x\":1,\"x\":2}", WHY_CLAIMS,
          "another claim twice" },
        { "{\"sub\":\"" SUB "\",\"iat\":1800000000,\"exp\":1800003600,"
          "\"jti\":\"" JTI "\",\"\\u0065xp\":9000000000}", WHY_CLAIMS,
          "exp escaped, as a second exp" },
        { "{\"sub\":\"admin\",\"iat\":1800000000,\"exp\":1800003600,"
          "\"jti\":\"" JTI "\"}", WHY_CLAIMS, "sub not a uuid" },
        { "{\"sub\":\"" SUB "\",\"iat\":1800000000,\"exp\":1800003600,"
          "\"jti\":\"" JTI "0\"}", WHY_CLAIMS, "jti too long" },
        { "{\"sub\":1,\"iat\":1800000000,\"exp\":1800003600,"
          "\"jti\":\"" JTI "\"}", WHY_CLAIMS, "sub a number" },
        { "[" PAYLOAD "]", WHY_CLAIMS, "an array" },
        { "\"" SUB "\"", WHY_CLAIMS, "a string" },
        { "1800003600", WHY_CLAIMS, "a number" },
        { "null", WHY_CLAIMS, "null" },
        { "{}", WHY_CLAIMS, "an empty object" },
        { "{\"sub\":\"" SUB "\",\"iat\":1800000000,\"exp\":1800003600,"
          "\"jti\":\"" JTI "\"", WHY_CLAIMS, "not JSON: cut" },
        { "{\"sub\":\"" SUB "\",\"iat\":1800000000,\"exp\":1800003600,"
          "\"jti\":\"" JTI "\"} x", WHY_CLAIMS, "not JSON: a word after" },
        { "{\"sub\":\"\xff\",\"iat\":1,\"exp\":1800003600,\"jti\":\"" JTI
          "\"}", WHY_CLAIMS, "not UTF-8" }
    };

    kvs_test_parts("payload", payloads,
                   sizeof(payloads) / sizeof(payloads[0]));
}


/* the shape: every cut, every changed character, dots, padding, size */

static void
kvs_test_shape(void)
{
    int          bad, good, h;
    char         tok[KVS_JWT_MAX * 2], t[KVS_JWT_MAX * 4], pad[400];
    char         payload[KVS_JWT_MAX * 2];
    size_t       i, n, len, dot1, dot2;
    const char  *why;

    len = kvs_test_token(tok, &kvs_test_keys[0], HEADER1, PAYLOAD);
    kvs_test_str(kvs_test_verify(tok, len), "(good)", "shape: the token");

    dot1 = (size_t) (strchr(tok, '.') - tok);
    dot2 = (size_t) (strrchr(tok, '.') - tok);

    bad = 0;

    for (n = 0; n < len; n++) {
        why = kvs_test_verify(tok, n);

        if (strcmp(why, WHY_MALFORMED) != 0) {
            printf("# cut at %zu: %s\n", n, why);
            bad++;
        }
    }

    CHECK(bad == 0, "shape: cut at every length, malformed");

    /* each character changed to another of the alphabet */
    bad = 0;

    for (i = 0; i < len; i++) {
        if (i == dot1 || i == dot2) {
            continue;
        }

        memcpy(t, tok, len);
        t[i] = (tok[i] == 'A') ? 'B' : 'A';

        why = kvs_test_verify(t, len);

        if (strcmp(why, "(good)") == 0) {
            printf("# changed at %zu: good\n", i);
            bad++;
        }
    }

    CHECK(bad == 0, "shape: a character changed anywhere is refused");

    memcpy(t, tok, len);
    t[len - 1] = (tok[len - 1] == 'A') ? 'E' : 'A';
    kvs_test_str(kvs_test_verify(t, len), WHY_SIGNATURE,
                 "shape: the signature's last character changed");

    memcpy(t, tok, len);
    t[dot1 + 5] = (tok[dot1 + 5] == 'A') ? 'B' : 'A';
    kvs_test_str(kvs_test_verify(t, len), WHY_SIGNATURE,
                 "shape: a character of the payload changed");

    memcpy(t, tok, len);
    t[3] = (tok[3] == 'A') ? 'B' : 'A';
    kvs_test_str(kvs_test_verify(t, len), WHY_HEADER,
                 "shape: a character of the header changed");

    /* one of the unused low bits of the MAC's last character set: the
     * same bytes, another spelling */
    memcpy(t, tok, len);
    t[len - 1] = kvs_test_flip_low(tok[len - 1]);
    kvs_test_str(kvs_test_verify(t, len), WHY_MALFORMED,
                 "shape: the MAC's unused bits set");

    /* dots and empty parts */
    snprintf(t, sizeof(t), "%s.", tok);
    kvs_test_str(kvs_test_verify(t, len + 1), WHY_MALFORMED,
                 "shape: a dot after");
    snprintf(t, sizeof(t), "%s.%s", tok, tok + dot2 + 1);
    kvs_test_str(kvs_test_verify(t, strlen(t)), WHY_MALFORMED,
                 "shape: four parts");
    snprintf(t, sizeof(t), ".%s", tok);
    kvs_test_str(kvs_test_verify(t, len + 1), WHY_MALFORMED,
                 "shape: a dot before");
    snprintf(t, sizeof(t), "%.*s.%s", (int) dot1, tok, tok + dot1);
    kvs_test_str(kvs_test_verify(t, len + 1), WHY_MALFORMED,
                 "shape: two dots in a row");
    snprintf(t, sizeof(t), "%s", tok + dot1);
    kvs_test_str(kvs_test_verify(t, strlen(t)), WHY_MALFORMED,
                 "shape: an empty header");
    snprintf(t, sizeof(t), "%.*s%s", (int) dot1 + 1, tok, tok + dot2);
    kvs_test_str(kvs_test_verify(t, strlen(t)), WHY_MALFORMED,
                 "shape: an empty payload");
    snprintf(t, sizeof(t), "%.*s", (int) dot2 + 1, tok);
    kvs_test_str(kvs_test_verify(t, strlen(t)), WHY_MALFORMED,
                 "shape: an empty signature (as alg none sends)");
    kvs_test_str(kvs_test_verify("..", 2), WHY_MALFORMED,
                 "shape: two dots only");
    kvs_test_str(kvs_test_verify("", 0), WHY_MALFORMED, "shape: empty");
    kvs_test_str(kvs_test_verify(tok, 0), WHY_MALFORMED,
                 "shape: length 0");

    /* padding */
    snprintf(t, sizeof(t), "%.*s=%s", (int) dot1, tok, tok + dot1);
    kvs_test_str(kvs_test_verify(t, len + 1), WHY_MALFORMED,
                 "shape: '=' after the header");
    snprintf(t, sizeof(t), "%s=", tok);
    kvs_test_str(kvs_test_verify(t, len + 1), WHY_MALFORMED,
                 "shape: '=' after the signature");

    /* other characters */
    snprintf(t, sizeof(t), "%s ", tok);
    kvs_test_str(kvs_test_verify(t, len + 1), WHY_MALFORMED,
                 "shape: a blank after");
    memcpy(t, tok, len);
    t[dot1 + 2] = '+';
    kvs_test_str(kvs_test_verify(t, len), WHY_MALFORMED,
                 "shape: '+' of the standard alphabet");
    memcpy(t, tok, len);
    t[dot1 + 2] = '\0';
    kvs_test_str(kvs_test_verify(t, len), WHY_MALFORMED,
                 "shape: a NUL inside");

    /* the length cap, around tokens signed as they should be: a claim of
     * n bytes of padding, under our header or ours with a blank more (as
     * base64 grows by 1 or 2, one of them makes each length) */
    good = 0;
    why = NULL;

    for (h = 0; h < 2; h++) {
        for (n = 1; n < sizeof(pad); n++) {
            memset(pad, 'x', n);
            pad[n] = '\0';
            snprintf(payload, sizeof(payload), CLAIMS_PAD, pad);

            len = kvs_test_token(tok, &kvs_test_keys[0],
                                 h ? HEADER1 " " : HEADER1, payload);

            if (len == KVS_JWT_MAX) {
                good += (strcmp(kvs_test_verify(tok, len), "(good)") == 0);
            }

            if (len == KVS_JWT_MAX + 1) {
                why = kvs_test_verify(tok, len);
            }
        }
    }

    CHECK(good == 1, "length: a token of 512 bytes is good");
    kvs_test_str(why, WHY_LONG, "length: a token of 513 bytes is refused");

    memset(t, 'A', sizeof(t));
    kvs_test_str(kvs_test_verify(t, sizeof(t)), WHY_LONG,
                 "length: 2048 bytes of anything");
}


/*
 * Which refusal wins when a token has two faults: the checks run in the
 * order of kvs_jwt.h, and nothing of the payload is read before the
 * signature is right.
 */

static void
kvs_test_order(void)
{
    char    tok[KVS_JWT_MAX * 2];
    size_t  len;

    len = kvs_test_token(tok, &kvs_test_keys[0],
                         "{\"alg\":\"none\",\"kid\":\"" KID1 "\"}", "[]");
    tok[len - 1] = (tok[len - 1] == 'A') ? 'E' : 'A';
    kvs_test_str(kvs_test_verify(tok, len), WHY_ALG,
                 "order: a bad alg before a bad signature");

    len = kvs_test_token(tok, &kvs_test_keys[0], HEADER1, "[]");
    tok[len - 1] = (tok[len - 1] == 'A') ? 'E' : 'A';
    kvs_test_str(kvs_test_verify(tok, len), WHY_SIGNATURE,
                 "order: a bad signature before bad claims");

    len = kvs_test_token(tok, &kvs_test_keys[0], HEADER1,
                         CLAIMS("1", "2"));
    tok[len - 1] = (tok[len - 1] == 'A') ? 'E' : 'A';
    kvs_test_str(kvs_test_verify(tok, len), WHY_SIGNATURE,
                 "order: a bad signature before expiry");

    /* key 2's secret under key 1's kid: another secret's signature */
    len = kvs_test_token(tok, &kvs_test_keys[1], HEADER1, PAYLOAD);
    kvs_test_str(kvs_test_verify(tok, len), WHY_SIGNATURE,
                 "order: signed by another secret, under our kid");

    len = kvs_test_token(tok, &kvs_test_keys[0], HEADER1,
                         CLAIMS("\"x\"", "1"));
    kvs_test_str(kvs_test_verify(tok, len), WHY_CLAIMS,
                 "order: malformed claims before expiry");
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_rfc7515),
    KVS_TEST_CASE(kvs_test_keys_ids),
    KVS_TEST_CASE(kvs_test_round_trip),
    KVS_TEST_CASE(kvs_test_rotation),
    KVS_TEST_CASE(kvs_test_headers),
    KVS_TEST_CASE(kvs_test_payloads),
    KVS_TEST_CASE(kvs_test_shape),
    KVS_TEST_CASE(kvs_test_order),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    kvs_test_setup, NULL, kvs_test_cases
};
