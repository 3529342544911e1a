/*
 * Unit tests for src/kvs/kvs_sign.c, printed as TAP.
 *
 * The known answers were computed outside this code, with the openssl
 * command line tool, so that a mistake in how the signed text is put
 * together cannot be repeated by the test.  Each is produced by
 *
 *   bh=$(printf '%s' "$BODY" | openssl dgst -sha256 -r | cut -d' ' -f1)
 *   printf '%s\n%s\n%s\n%s' "$METHOD" "$URI" "$DATE" "$bh" \
 *       | openssl dgst -sha256 -mac HMAC -macopt key:"$SECRET" -r
 *
 * (OpenSSL 3.0.22; the comment at each vector gives its inputs).  The rest
 * checks that every part is covered by the signature and the refusals of
 * kvs_sign_verify() and kvs_sign_check() with their exact sentences, which
 * reach the error log.
 * It exits non-zero when any check fails.
 *
 *   gcc -std=gnu11 -Wall -Wextra -Werror -g -fsanitize=address,undefined \
 *       -Isrc/kvs -It/unit t/unit/test_sign.c src/kvs/kvs_sign.c \
 *       src/kvs/kvs_crypto.c \
 *       -lcrypto -o /tmp/test_sign && /tmp/test_sign
 */

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvs_sign.h"

#include "kvs_test.h"


#define KVS_TEST_SECRET    "0123456789abcdef"
#define KVS_TEST_DATE      1700000000000ULL
#define KVS_TEST_LONGURI   5004

#define S(s)               s, sizeof(s) - 1

#define WHY_UNSIGNED       "the request is not signed"
#define WHY_DATE           "the X-KVS-Date header is not a number"
#define WHY_SKEW           "the request is more than 60 s old or ahead"
#define WHY_MISMATCH       "the signature does not match"


typedef struct {
    const char  *date;           /* NULL: the header is missing */
    uint64_t     now;
    const char  *why;
    const char  *desc;
} kvs_test_date_t;


/* the signature as a C string, for comparisons with kvs_test_str() */

static int
kvs_test_sign(const char *secret, size_t slen, const char *method,
    const char *uri, size_t ulen, uint64_t date, const uint8_t *body,
    size_t blen, char *out)
{
    int  rc;

    memset(out, 'X', KVS_SIGN_LEN + 1);
    rc = kvs_sign(secret, slen, method, strlen(method), uri, ulen, date,
                  body, blen, out);
    out[KVS_SIGN_LEN] = '\0';

    return rc;
}


static void
kvs_test_known_answers(void)
{
    int          rc, lower;
    char         sig[KVS_SIGN_LEN + 1], secret[101], *uri;
    size_t       i;
    uint8_t      bin[256];
    const char  *why;

    /* SECRET=0123456789abcdef METHOD=PUT URI='/_cluster/records?since=1'
     * DATE=1700000000000 BODY='{"a":1}' */
    rc = kvs_test_sign(S(KVS_TEST_SECRET), "PUT",
                       S("/_cluster/records?since=1"), KVS_TEST_DATE,
                       (const uint8_t *) "{\"a\":1}", 7, sig);
    CHECK(rc == 0, "known answer: PUT with a body signs");
    kvs_test_str(sig, "1367eb524f8231689d0b18fb7ad56ea0"
                      "0e0d065e41a1bd2fd4a9a95c262856c3",
                 "known answer: PUT with a body");

    lower = 1;

    for (i = 0; i < KVS_SIGN_LEN; i++) {
        if (!((sig[i] >= '0' && sig[i] <= '9')
              || (sig[i] >= 'a' && sig[i] <= 'f')))
        {
            lower = 0;
        }
    }

    CHECK(lower, "known answer: 64 lowercase hex characters");

    /* SECRET=0123456789abcdef METHOD=POST URI=/members/gossip
     * DATE=1700000000000 BODY='' (so the digest is e3b0c442...b855) */
    rc = kvs_test_sign(S(KVS_TEST_SECRET), "POST", S("/members/gossip"),
                       KVS_TEST_DATE, NULL, 0, sig);
    kvs_test_str(rc == 0 ? sig : NULL,
                 "f7cebf22db98b1fff0e59e3be071914b"
                 "11ee60261ae41481dfe65b3725688045",
                 "known answer: empty body as NULL");

    rc = kvs_test_sign(S(KVS_TEST_SECRET), "POST", S("/members/gossip"),
                       KVS_TEST_DATE, (const uint8_t *) "", 0, sig);
    kvs_test_str(rc == 0 ? sig : NULL,
                 "f7cebf22db98b1fff0e59e3be071914b"
                 "11ee60261ae41481dfe65b3725688045",
                 "known answer: empty body as \"\"");

    /* as above with SECRET=0123456789abcdef0, one byte longer */
    rc = kvs_test_sign(S(KVS_TEST_SECRET "0"), "POST", S("/members/gossip"),
                       KVS_TEST_DATE, NULL, 0, sig);
    kvs_test_str(rc == 0 ? sig : NULL,
                 "d04e89a0ad04ae478bfa73ec9e197cb6"
                 "afba3f27eba8870efea5794b5ec211df",
                 "known answer: 17-byte secret");

    /* as above with SECRET=kkk...k, 100 bytes: longer than SHA-256's
     * 64-byte block, so HMAC hashes the key first */
    memset(secret, 'k', 100);
    secret[100] = '\0';
    rc = kvs_test_sign(secret, 100, "POST", S("/members/gossip"),
                       KVS_TEST_DATE, NULL, 0, sig);
    kvs_test_str(rc == 0 ? sig : NULL,
                 "74e74a3daa79eb1c1171db9847ddf824"
                 "737709db6d0527683ae553037696fca6",
                 "known answer: 100-byte secret");

    /* SECRET=0123456789abcdef METHOD=GET URI=/kv/ and 5000 'x' DATE=1
     * BODY=the bytes 0..255: a signed text past the stack buffer */
    uri = malloc(KVS_TEST_LONGURI);
    if (uri == NULL) {
        printf("Bail out! out of memory\n");
        exit(2);
    }

    memcpy(uri, "/kv/", 4);
    memset(uri + 4, 'x', KVS_TEST_LONGURI - 4);

    for (i = 0; i < sizeof(bin); i++) {
        bin[i] = (uint8_t) i;
    }

    rc = kvs_test_sign(S(KVS_TEST_SECRET), "GET", uri, KVS_TEST_LONGURI, 1,
                       bin, sizeof(bin), sig);
    kvs_test_str(rc == 0 ? sig : NULL,
                 "3a30d6a888d7b3283ad6ec721be1db96"
                 "3cd30d0e296e971256a6bd61d70dee9d",
                 "known answer: 5004-byte uri, binary body");

    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("GET"), uri,
                         KVS_TEST_LONGURI, S("1"), bin, sizeof(bin), sig,
                         KVS_SIGN_LEN, 1, &why);
    CHECK(rc == 0, "known answer: long uri verifies");

    free(uri);
}


/* each part of the request, changed alone, changes the signature */

static void
kvs_test_coverage(void)
{
    int          rc;
    char         base[KVS_SIGN_LEN + 1], sig[KVS_SIGN_LEN + 1];
    const char  *body;

    body = "{\"a\":1}";

    rc = kvs_test_sign(S(KVS_TEST_SECRET), "PUT", S("/_cluster/push"),
                       KVS_TEST_DATE, (const uint8_t *) body, 7, base);
    CHECK(rc == 0, "coverage: base signature");

    rc = kvs_test_sign(S(KVS_TEST_SECRET), "PUT", S("/_cluster/push"),
                       KVS_TEST_DATE, (const uint8_t *) "{\"a\":2}", 7, sig);
    CHECK(rc == 0 && strcmp(sig, base) != 0, "coverage: body byte");

    rc = kvs_test_sign(S(KVS_TEST_SECRET), "PUT", S("/_cluster/push"),
                       KVS_TEST_DATE, (const uint8_t *) body, 6, sig);
    CHECK(rc == 0 && strcmp(sig, base) != 0, "coverage: body length");

    rc = kvs_test_sign(S(KVS_TEST_SECRET), "PUT", S("/_cluster/pusH"),
                       KVS_TEST_DATE, (const uint8_t *) body, 7, sig);
    CHECK(rc == 0 && strcmp(sig, base) != 0, "coverage: uri");

    rc = kvs_test_sign(S(KVS_TEST_SECRET), "PUT", S("/_cluster/push?a=1"),
                       KVS_TEST_DATE, (const uint8_t *) body, 7, sig);
    CHECK(rc == 0 && strcmp(sig, base) != 0, "coverage: query string");

    rc = kvs_test_sign(S(KVS_TEST_SECRET), "POST", S("/_cluster/push"),
                       KVS_TEST_DATE, (const uint8_t *) body, 7, sig);
    CHECK(rc == 0 && strcmp(sig, base) != 0, "coverage: method");

    rc = kvs_test_sign(S(KVS_TEST_SECRET), "PUT", S("/_cluster/push"),
                       KVS_TEST_DATE + 1, (const uint8_t *) body, 7, sig);
    CHECK(rc == 0 && strcmp(sig, base) != 0, "coverage: date + 1 ms");

    rc = kvs_test_sign(S("0123456789abcdeF"), "PUT", S("/_cluster/push"),
                       KVS_TEST_DATE, (const uint8_t *) body, 7, sig);
    CHECK(rc == 0 && strcmp(sig, base) != 0, "coverage: secret");

    rc = kvs_test_sign(S(KVS_TEST_SECRET), "PUT", S("/_cluster/push"),
                       KVS_TEST_DATE, (const uint8_t *) body, 7, sig);
    CHECK(rc == 0 && strcmp(sig, base) == 0, "coverage: deterministic");
}


static void
kvs_test_verify(void)
{
    int          rc;
    char         sig[KVS_SIGN_LEN + 1], date[32], bad[KVS_SIGN_LEN + 2];
    size_t       i;
    const char  *why, *body;

    body = "[{\"id\":\"n1\"}]";
    snprintf(date, sizeof(date), "%llu", (unsigned long long) KVS_TEST_DATE);

    rc = kvs_test_sign(S(KVS_TEST_SECRET), "POST", S("/members/join"),
                       KVS_TEST_DATE, (const uint8_t *) body, strlen(body),
                       sig);
    CHECK(rc == 0, "verify: request signed");

    why = "untouched";
    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"), S("/members/join"),
                         date, strlen(date), (const uint8_t *) body,
                         strlen(body), sig, KVS_SIGN_LEN, KVS_TEST_DATE,
                         &why);
    CHECK(rc == 0, "verify: own signature is valid");
    kvs_test_str(why, "untouched", "verify: why left alone when valid");

    /* the wrong secret, one byte shorter, one byte longer */

    rc = kvs_sign_verify(S("0123456789abcdeF"), S("POST"), S("/members/join"),
                         date, strlen(date), (const uint8_t *) body,
                         strlen(body), sig, KVS_SIGN_LEN, KVS_TEST_DATE,
                         &why);
    CHECK(rc == -1, "verify: another secret is refused");
    kvs_test_str(why, WHY_MISMATCH, "verify: another secret: sentence");

    rc = kvs_sign_verify(KVS_TEST_SECRET, 15, S("POST"), S("/members/join"),
                         date, strlen(date), (const uint8_t *) body,
                         strlen(body), sig, KVS_SIGN_LEN, KVS_TEST_DATE,
                         &why);
    CHECK(rc == -1 && strcmp(why, WHY_MISMATCH) == 0,
          "verify: a prefix of the secret does not match");

    rc = kvs_sign_verify(S(KVS_TEST_SECRET "0"), S("POST"),
                         S("/members/join"), date, strlen(date),
                         (const uint8_t *) body, strlen(body), sig,
                         KVS_SIGN_LEN, KVS_TEST_DATE, &why);
    CHECK(rc == -1 && strcmp(why, WHY_MISMATCH) == 0,
          "verify: a longer secret does not match");

    /* the request changed after signing */

    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"), S("/members/join"),
                         date, strlen(date), (const uint8_t *) body,
                         strlen(body) - 1, sig, KVS_SIGN_LEN, KVS_TEST_DATE,
                         &why);
    CHECK(rc == -1 && strcmp(why, WHY_MISMATCH) == 0,
          "verify: truncated body is refused");

    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"), S("/members/leave"),
                         date, strlen(date), (const uint8_t *) body,
                         strlen(body), sig, KVS_SIGN_LEN, KVS_TEST_DATE,
                         &why);
    CHECK(rc == -1 && strcmp(why, WHY_MISMATCH) == 0,
          "verify: another uri is refused");

    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("PUT"), S("/members/join"),
                         date, strlen(date), (const uint8_t *) body,
                         strlen(body), sig, KVS_SIGN_LEN, KVS_TEST_DATE,
                         &why);
    CHECK(rc == -1 && strcmp(why, WHY_MISMATCH) == 0,
          "verify: another method is refused");

    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"), S("/members/join"),
                         S("1700000000001"), (const uint8_t *) body,
                         strlen(body), sig, KVS_SIGN_LEN, KVS_TEST_DATE,
                         &why);
    CHECK(rc == -1 && strcmp(why, WHY_MISMATCH) == 0,
          "verify: a re-dated request is refused");

    /* the date text is signed as sent: leading zeros are another text */
    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"), S("/members/join"),
                         S("01700000000000"), (const uint8_t *) body,
                         strlen(body), sig, KVS_SIGN_LEN, KVS_TEST_DATE,
                         &why);
    CHECK(rc == -1 && strcmp(why, WHY_MISMATCH) == 0,
          "verify: a leading zero in the date does not match");

    /* malformed signatures */

    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"), S("/members/join"),
                         date, strlen(date), (const uint8_t *) body,
                         strlen(body), sig, KVS_SIGN_LEN - 1, KVS_TEST_DATE,
                         &why);
    CHECK(rc == -1 && strcmp(why, WHY_MISMATCH) == 0,
          "verify: 63 characters of the signature are refused");

    memcpy(bad, sig, KVS_SIGN_LEN);
    bad[KVS_SIGN_LEN] = '0';
    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"), S("/members/join"),
                         date, strlen(date), (const uint8_t *) body,
                         strlen(body), bad, KVS_SIGN_LEN + 1, KVS_TEST_DATE,
                         &why);
    CHECK(rc == -1 && strcmp(why, WHY_MISMATCH) == 0,
          "verify: 65 characters are refused");

    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"), S("/members/join"),
                         date, strlen(date), (const uint8_t *) body,
                         strlen(body), "0", 1, KVS_TEST_DATE, &why);
    CHECK(rc == -1 && strcmp(why, WHY_MISMATCH) == 0,
          "verify: a one-character signature is refused");

    memcpy(bad, sig, KVS_SIGN_LEN);
    bad[0] = 'g';
    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"), S("/members/join"),
                         date, strlen(date), (const uint8_t *) body,
                         strlen(body), bad, KVS_SIGN_LEN, KVS_TEST_DATE,
                         &why);
    CHECK(rc == -1 && strcmp(why, WHY_MISMATCH) == 0,
          "verify: a non-hex character is refused");

    memcpy(bad, sig, KVS_SIGN_LEN);
    bad[KVS_SIGN_LEN - 1] = (sig[KVS_SIGN_LEN - 1] == '0') ? '1' : '0';
    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"), S("/members/join"),
                         date, strlen(date), (const uint8_t *) body,
                         strlen(body), bad, KVS_SIGN_LEN, KVS_TEST_DATE,
                         &why);
    CHECK(rc == -1 && strcmp(why, WHY_MISMATCH) == 0,
          "verify: the last character changed is refused");

    for (i = 0; i < KVS_SIGN_LEN; i++) {
        bad[i] = (sig[i] >= 'a' && sig[i] <= 'f') ? sig[i] - 'a' + 'A'
                                                   : sig[i];
    }

    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"), S("/members/join"),
                         date, strlen(date), (const uint8_t *) body,
                         strlen(body), bad, KVS_SIGN_LEN, KVS_TEST_DATE,
                         &why);
    CHECK(rc == -1 && strcmp(why, WHY_MISMATCH) == 0,
          "verify: upper-case hex is refused");

    memset(bad, '0', KVS_SIGN_LEN);
    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"), S("/members/join"),
                         date, strlen(date), (const uint8_t *) body,
                         strlen(body), bad, KVS_SIGN_LEN, KVS_TEST_DATE,
                         &why);
    CHECK(rc == -1 && strcmp(why, WHY_MISMATCH) == 0,
          "verify: all zeros are refused");

    /* missing parts */

    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"), S("/members/join"),
                         NULL, 0, (const uint8_t *) body, strlen(body), sig,
                         KVS_SIGN_LEN, KVS_TEST_DATE, &why);
    CHECK(rc == -1, "verify: no date header is refused");
    kvs_test_str(why, WHY_UNSIGNED, "verify: no date header: sentence");

    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"), S("/members/join"),
                         "", 0, (const uint8_t *) body, strlen(body), sig,
                         KVS_SIGN_LEN, KVS_TEST_DATE, &why);
    CHECK(rc == -1 && strcmp(why, WHY_UNSIGNED) == 0,
          "verify: an empty date header is not signed");

    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"), S("/members/join"),
                         date, strlen(date), (const uint8_t *) body,
                         strlen(body), NULL, 0, KVS_TEST_DATE, &why);
    CHECK(rc == -1 && strcmp(why, WHY_UNSIGNED) == 0,
          "verify: no signature header is not signed");

    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"), S("/members/join"),
                         date, strlen(date), (const uint8_t *) body,
                         strlen(body), "", 0, KVS_TEST_DATE, &why);
    CHECK(rc == -1 && strcmp(why, WHY_UNSIGNED) == 0,
          "verify: an empty signature header is not signed");

    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"), S("/members/join"),
                         NULL, 0, (const uint8_t *) body, strlen(body), NULL,
                         0, KVS_TEST_DATE, &why);
    CHECK(rc == -1 && strcmp(why, WHY_UNSIGNED) == 0,
          "verify: neither header is not signed");

    /* "not signed" wins over a bad date: the date is not looked at */
    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"), S("/members/join"),
                         S("soon"), (const uint8_t *) body, strlen(body),
                         NULL, 0, KVS_TEST_DATE, &why);
    CHECK(rc == -1 && strcmp(why, WHY_UNSIGNED) == 0,
          "verify: bad date and no signature is not signed");

    /* a GET without a body, signed with a NULL body, verified with "" */
    rc = kvs_test_sign(S(KVS_TEST_SECRET), "GET", S("/_cluster/merkle"),
                       KVS_TEST_DATE, NULL, 0, sig);
    rc |= kvs_sign_verify(S(KVS_TEST_SECRET), S("GET"), S("/_cluster/merkle"),
                          date, strlen(date), (const uint8_t *) "", 0, sig,
                          KVS_SIGN_LEN, KVS_TEST_DATE, &why);
    CHECK(rc == 0, "verify: empty body, NULL or \"\" alike");
}


/*
 * The clock: dates within 60 000 ms either way of now pass, one ms more
 * does not, and a date that is not plain digits is not a date.  Every
 * case is signed properly, so the date is the only thing at fault.
 */

static void
kvs_test_dates(void)
{
    int          rc;
    char         sig[KVS_SIGN_LEN + 1], desc[128];
    size_t       i;
    uint64_t     d;
    const char  *why;

    static const kvs_test_date_t  dates[] = {
        { "1700000000000", 1700000000000ULL, NULL, "same ms" },
        { "1700000000000", 1700000060000ULL, NULL, "60000 ms old" },
        { "1700000000000", 1700000060001ULL, WHY_SKEW, "60001 ms old" },
        { "1700000000000", 1699999940000ULL, NULL, "60000 ms ahead" },
        { "1700000000000", 1699999939999ULL, WHY_SKEW, "60001 ms ahead" },
        { "1700000000000", 1800000000000ULL, WHY_SKEW, "days old" },
        { "1700000000000", 0, WHY_SKEW, "now is 0: far ahead" },
        { "0", 60000, NULL, "date 0, now 60000" },
        { "0", 60001, WHY_SKEW, "date 0, now 60001" },
        { "18446744073709551615", UINT64_MAX, NULL, "UINT64_MAX" },
        { "18446744073709551616", 1700000000000ULL, WHY_SKEW,
          "past UINT64_MAX is ahead" },
        { "99999999999999999999999999", 1700000000000ULL, WHY_SKEW,
          "a huge number is ahead" },
        { "1700000000000 ", 1700000000000ULL, WHY_DATE, "trailing blank" },
        { " 1700000000000", 1700000000000ULL, WHY_DATE, "leading blank" },
        { "+1700000000000", 1700000000000ULL, WHY_DATE, "plus sign" },
        { "-1", 1700000000000ULL, WHY_DATE, "negative" },
        { "1700000000000.5", 1700000000000ULL, WHY_DATE, "fraction" },
        { "17e11", 1700000000000ULL, WHY_DATE, "exponent" },
        { "0x18bcfe56800", 1700000000000ULL, WHY_DATE, "hex" },
        { "Tue, 14 Nov 2023 22:13:20 GMT", 1700000000000ULL, WHY_DATE,
          "an HTTP date" }
    };

    for (i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {

        /* sign the very text, as a sender formatting this date would */
        d = strtoull(dates[i].date, NULL, 10);

        rc = kvs_test_sign(S(KVS_TEST_SECRET), "POST", S("/members/gossip"),
                           d, NULL, 0, sig);

        why = NULL;
        rc |= kvs_sign_verify(S(KVS_TEST_SECRET), S("POST"),
                              S("/members/gossip"), dates[i].date,
                              strlen(dates[i].date), NULL, 0, sig,
                              KVS_SIGN_LEN, dates[i].now, &why);

        snprintf(desc, sizeof(desc), "date: %s: %s", dates[i].desc,
                 dates[i].why ? dates[i].why : "valid");

        if (dates[i].why == NULL) {
            CHECK(rc == 0, desc);

        } else {
            kvs_test_str(rc == -1 ? why : "(returned 0)", dates[i].why,
                         desc);
        }
    }
}


/*
 * The check before the body: it refuses what verify refuses without the
 * body (no headers, a bad or stale date, a signature of another length),
 * with the same sentences, and lets through a signature of the right
 * length it cannot judge yet.
 */

static void
kvs_test_check(void)
{
    int          rc;
    char         sig[KVS_SIGN_LEN + 1], desc[128];
    size_t       i;
    const char  *why;

    static const kvs_test_date_t  dates[] = {
        { "1700000000000", 1700000060000ULL, NULL, "60000 ms old" },
        { "1700000000000", 1700000060001ULL, WHY_SKEW, "60001 ms old" },
        { "1700000000000", 1699999939999ULL, WHY_SKEW, "60001 ms ahead" },
        { "99999999999999999999999999", 1700000000000ULL, WHY_SKEW,
          "a huge number" },
        { "17e11", 1700000000000ULL, WHY_DATE, "exponent" },
        { NULL, 1700000000000ULL, WHY_UNSIGNED, "no date" },
        { "", 1700000000000ULL, WHY_UNSIGNED, "an empty date" }
    };

    memset(sig, '0', KVS_SIGN_LEN);

    for (i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        why = NULL;
        rc = kvs_sign_check(dates[i].date,
                            dates[i].date ? strlen(dates[i].date) : 0,
                            sig, KVS_SIGN_LEN, dates[i].now, &why);

        snprintf(desc, sizeof(desc), "check: %s: %s", dates[i].desc,
                 dates[i].why ? dates[i].why : "passes");

        if (dates[i].why == NULL) {
            CHECK(rc == 0, desc);

        } else {
            kvs_test_str(rc == -1 ? why : "(returned 0)", dates[i].why,
                         desc);
        }
    }

    rc = kvs_sign_check(S("1700000000000"), NULL, 0, 1700000000000ULL,
                        &why);
    kvs_test_str(rc == -1 ? why : "(returned 0)", WHY_UNSIGNED,
                 "check: no signature is not signed");

    rc = kvs_sign_check(S("1700000000000"), sig, KVS_SIGN_LEN - 1,
                        1700000000000ULL, &why);
    kvs_test_str(rc == -1 ? why : "(returned 0)", WHY_MISMATCH,
                 "check: 63 characters do not match");

    rc = kvs_sign_check(S("1700000000000"), "abc", 3, 1700000000000ULL,
                        &why);
    kvs_test_str(rc == -1 ? why : "(returned 0)", WHY_MISMATCH,
                 "check: 3 characters do not match");

    why = "untouched";
    rc = kvs_sign_check(S("1700000000000"), sig, KVS_SIGN_LEN,
                        1700000000000ULL, &why);
    CHECK(rc == 0 && strcmp(why, "untouched") == 0,
          "check: 64 zeros pass, to be judged with the body");
}


static void
kvs_test_odd_inputs(void)
{
    int          rc;
    char         sig[KVS_SIGN_LEN + 1], other[KVS_SIGN_LEN + 1];
    const char  *why;

    /* the config refuses such secrets; here they must only be harmless */
    rc = kvs_test_sign("", 0, "GET", S("/"), 1, NULL, 0, sig);
    CHECK(rc == 0, "odd: an empty secret still signs");

    rc = kvs_test_sign(NULL, 0, "GET", S("/"), 1, NULL, 0, other);
    CHECK(rc == 0 && strcmp(sig, other) == 0,
          "odd: a NULL secret is the empty one");

    rc = kvs_sign_verify(S(KVS_TEST_SECRET), S("GET"), S("/"), S("1"), NULL,
                         0, sig, KVS_SIGN_LEN, 1, &why);
    CHECK(rc == -1 && strcmp(why, WHY_MISMATCH) == 0,
          "odd: an empty secret's signature is not the real secret's");

    /* zero-length method and uri, as NULL pointers */
    rc = kvs_sign(S(KVS_TEST_SECRET), NULL, 0, NULL, 0, 1, NULL, 0, sig);
    sig[KVS_SIGN_LEN] = '\0';
    rc |= kvs_sign_verify(S(KVS_TEST_SECRET), "", 0, "", 0, S("1"), NULL, 0,
                          sig, KVS_SIGN_LEN, 1, &why);
    CHECK(rc == 0, "odd: empty method and uri sign and verify");

    /* a binary secret with a NUL inside: its length counts, not strlen */
    rc = kvs_test_sign("0123456789\0abcdef", 17, "GET", S("/"), 1, NULL, 0,
                       sig);
    rc |= kvs_test_sign("0123456789", 10, "GET", S("/"), 1, NULL, 0, other);
    CHECK(rc == 0 && strcmp(sig, other) != 0,
          "odd: the secret's length is used, not its first NUL");
}


/* a signature checked over the digest a request declares, before its body */

static void
kvs_test_digest(void)
{
    int          rc;
    char         sig[KVS_SIGN_LEN + 1], hex[KVS_SIGN_LEN + 1], date[32];
    char         digest[KVS_SIGN_DIGEST_LEN + 1], upper[KVS_SIGN_DIGEST_LEN];
    size_t       i;
    const char  *why, *body;

    body = "a peer's batch";
    snprintf(date, sizeof(date), "%llu", (unsigned long long) KVS_TEST_DATE);

    rc = kvs_test_sign(S(KVS_TEST_SECRET), "POST", S("/_cluster/apply"),
                       KVS_TEST_DATE, (const uint8_t *) body, strlen(body),
                       sig);
    rc |= kvs_sign_digest((const uint8_t *) body, strlen(body), digest);
    digest[KVS_SIGN_DIGEST_LEN] = '\0';
    rc |= kvs_sign_hex(S(KVS_TEST_SECRET), S("POST"), S("/_cluster/apply"),
                       KVS_TEST_DATE, digest, hex);
    hex[KVS_SIGN_LEN] = '\0';
    CHECK(rc == 0 && strcmp(sig, hex) == 0,
          "digest: signed from the digest as from the body");
    kvs_test_str(digest, "b0d8cb19a99efbfc383968fa6f16cc00"
                         "270a48c27c8c2932a1aad8800b853f69",
                 "digest: the body's SHA-256 in hex (sha256sum's)");

    rc = kvs_sign_verify_digest(S(KVS_TEST_SECRET), S("POST"),
                                S("/_cluster/apply"), date, strlen(date),
                                digest, KVS_SIGN_DIGEST_LEN, sig,
                                KVS_SIGN_LEN, KVS_TEST_DATE, &why);
    CHECK(rc == 0, "digest: the signature verifies over the declared digest");

    digest[0] = digest[0] == '0' ? '1' : '0';
    rc = kvs_sign_verify_digest(S(KVS_TEST_SECRET), S("POST"),
                                S("/_cluster/apply"), date, strlen(date),
                                digest, KVS_SIGN_DIGEST_LEN, sig,
                                KVS_SIGN_LEN, KVS_TEST_DATE, &why);
    CHECK(rc == -1, "digest: another digest does not verify");
    kvs_test_str(rc == -1 ? why : "(returned 0)", WHY_MISMATCH,
                 "digest: another digest: sentence");
    digest[0] = digest[0] == '0' ? '1' : '0';

    for (i = 0; i < KVS_SIGN_DIGEST_LEN; i++) {
        upper[i] = (char) toupper((unsigned char) digest[i]);
    }

    rc = kvs_sign_verify_digest(S(KVS_TEST_SECRET), S("POST"),
                                S("/_cluster/apply"), date, strlen(date),
                                upper, KVS_SIGN_DIGEST_LEN, sig,
                                KVS_SIGN_LEN, KVS_TEST_DATE, &why);
    kvs_test_str(rc == -1 ? why : "(returned 0)",
                 "the X-KVS-Content-SHA256 header is not a digest",
                 "digest: upper case is no digest of ours");

    rc = kvs_sign_verify_digest(S(KVS_TEST_SECRET), S("POST"),
                                S("/_cluster/apply"), date, strlen(date),
                                digest, KVS_SIGN_DIGEST_LEN - 1, sig,
                                KVS_SIGN_LEN, KVS_TEST_DATE, &why);
    kvs_test_str(rc == -1 ? why : "(returned 0)",
                 "the X-KVS-Content-SHA256 header is not a digest",
                 "digest: one hex digit short is none");

    rc = kvs_sign_verify_digest(S(KVS_TEST_SECRET), S("POST"),
                                S("/_cluster/apply"), date, strlen(date),
                                digest, KVS_SIGN_DIGEST_LEN, sig,
                                KVS_SIGN_LEN, KVS_TEST_DATE + 61000, &why);
    kvs_test_str(rc == -1 ? why : "(returned 0)", WHY_SKEW,
                 "digest: the date is checked first, as ever");
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_known_answers),
    KVS_TEST_CASE(kvs_test_coverage),
    KVS_TEST_CASE(kvs_test_verify),
    KVS_TEST_CASE(kvs_test_dates),
    KVS_TEST_CASE(kvs_test_check),
    KVS_TEST_CASE(kvs_test_odd_inputs),
    KVS_TEST_CASE(kvs_test_digest),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    NULL, NULL, kvs_test_cases
};
