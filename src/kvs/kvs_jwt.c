/*
 * JSON Web Tokens; see kvs_jwt.h for what a token holds and what is taken.
 *
 * The header and the payload are flat objects of strings and integers, so
 * they are read by a small reader of their own rather than a JSON library:
 * kvs_json_check() first makes sure they are one valid JSON value, and the
 * reader then only walks members, takes the ones it knows and skips the
 * rest.  It refuses any backslash, since an escape is a second spelling of
 * a name ("\u0073ub" is "sub") that a duplicate check by bytes would miss.
 */

#include <stdio.h>
#include <string.h>

#include "kvs_crypto.h"
#include "kvs_json.h"
#include "kvs_jwt.h"


/* a decoded part is at most 3/4 of the longest token; each member takes
 * at least 4 bytes ("":0) and a comma */
#define KVS_JWT_PART_MAX     KVS_B64URL_DEC_LEN(KVS_JWT_MAX)
#define KVS_JWT_MEMBERS_MAX  (KVS_JWT_PART_MAX / 5 + 1)

#define KVS_JWT_MALFORMED    "the token is malformed"
#define KVS_JWT_HEADER       "the token's header is malformed"
#define KVS_JWT_CLAIMS       "the token's claims are malformed"


typedef enum {
    KVS_JWT_STRING,
    KVS_JWT_TIME                         /* a NumericDate */
} kvs_jwt_type_e;


/* a member the reader takes: its name and the type its value must have */
typedef struct {
    const char      *name;
    kvs_jwt_type_e   type;
} kvs_jwt_field_t;


/* what the reader found of a field */
typedef struct {
    int              seen;
    const uint8_t   *str;                /* without the quotes */
    size_t           len;
    uint64_t         num;
} kvs_jwt_value_t;


typedef enum {
    KVS_JWT_ALG,
    KVS_JWT_TYP,
    KVS_JWT_KID
} kvs_jwt_header_e;


typedef enum {
    KVS_JWT_SUB,
    KVS_JWT_IAT,
    KVS_JWT_EXP,
    KVS_JWT_JTI
} kvs_jwt_claim_e;


static const char *kvs_jwt_split(const char *tok, size_t len,
    uint8_t *header, size_t *hlen, uint8_t *payload, size_t *plen);
static const char *kvs_jwt_header(const uint8_t *p, size_t len,
    const kvs_jwt_key_t *keys, size_t nkeys, const kvs_jwt_key_t **key);
static const char *kvs_jwt_claims(const uint8_t *p, size_t len,
    kvs_jwt_claims_t *c);
static int kvs_jwt_object(const uint8_t *p, size_t len,
    const kvs_jwt_field_t *fields, size_t n, int closed,
    kvs_jwt_value_t *val);
static int kvs_jwt_value(const uint8_t *p, size_t len, size_t *i,
    const uint8_t *name, size_t nlen, const kvs_jwt_field_t *fields,
    size_t n, int closed, kvs_jwt_value_t *val);
static int kvs_jwt_time(const uint8_t *p, size_t len, size_t *i,
    uint64_t *ms);
static size_t kvs_jwt_skip(const uint8_t *p, size_t len, size_t i);
static size_t kvs_jwt_space(const uint8_t *p, size_t len, size_t i);
static int kvs_jwt_is(const kvs_jwt_value_t *v, const char *s);


/* in the order of kvs_jwt_header_e and kvs_jwt_claim_e */

static const kvs_jwt_field_t  kvs_jwt_header_fields[] = {
    { "alg", KVS_JWT_STRING },
    { "typ", KVS_JWT_STRING },
    { "kid", KVS_JWT_STRING }
};

static const kvs_jwt_field_t  kvs_jwt_claim_fields[] = {
    { "sub", KVS_JWT_STRING },
    { "iat", KVS_JWT_TIME },
    { "exp", KVS_JWT_TIME },
    { "jti", KVS_JWT_STRING }
};


int
kvs_jwt_key_init(kvs_jwt_key_t *k, const uint8_t *secret, size_t len)
{
    uint8_t  md[KVS_SHA256_LEN];

    k->secret = secret;
    k->len = len;

    if (kvs_sha256(secret, len, md) != 0) {
        return -1;
    }

    kvs_hex(k->kid, md, KVS_JWT_KID_LEN / 2);
    k->kid[KVS_JWT_KID_LEN] = '\0';

    return 0;
}


int
kvs_jwt_mac(const kvs_jwt_key_t *key, const char *input, size_t len,
    char out[KVS_JWT_MAC_LEN])
{
    uint8_t  mac[KVS_SHA256_LEN];

    if (kvs_hmac_sha256(key->secret, key->len, input, len, mac) != 0) {
        return -1;
    }

    kvs_b64url_encode(out, mac, sizeof(mac));

    return 0;
}


int
kvs_jwt_sign(const kvs_jwt_claims_t *c, const kvs_jwt_key_t *key, char *out,
    size_t size)
{
    int     hn, pn;
    char      header[64], payload[176], sub[KVS_UUID_STR_LEN];
    char      jti[KVS_UUID_STR_LEN], iat[32], *p;
    size_t    len;
    uint64_t  ms;

    ms = c->iat_ms ? c->iat_ms : c->iat * 1000;

    if (c->iat > KVS_JWT_TIME_MAX || c->exp > KVS_JWT_TIME_MAX
        || ms / 1000 > KVS_JWT_TIME_MAX)
    {
        return -1;
    }

    /* whole seconds as an integer, as they always were */

    if (ms % 1000) {
        snprintf(iat, sizeof(iat), "%llu.%03llu",
                 (unsigned long long) (ms / 1000),
                 (unsigned long long) (ms % 1000));

    } else {
        snprintf(iat, sizeof(iat), "%llu", (unsigned long long) (ms / 1000));
    }

    kvs_uuid_format(c->sub, sub);
    kvs_uuid_format(c->jti, jti);

    hn = snprintf(header, sizeof(header),
                  "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
                  key->kid);

    pn = snprintf(payload, sizeof(payload),
                  "{\"sub\":\"%.*s\",\"iat\":%s,\"exp\":%llu,"
                  "\"jti\":\"%.*s\"}",
                  KVS_UUID_STR_LEN, sub, iat,
                  (unsigned long long) c->exp, KVS_UUID_STR_LEN, jti);

    if (hn < 0 || (size_t) hn >= sizeof(header)
        || pn < 0 || (size_t) pn >= sizeof(payload))
    {
        return -1;
    }

    len = KVS_B64URL_LEN((size_t) hn) + 1 + KVS_B64URL_LEN((size_t) pn) + 1
          + KVS_JWT_MAC_LEN;

    if (len >= size) {
        return -1;
    }

    p = out;
    p += kvs_b64url_encode(p, (const uint8_t *) header, (size_t) hn);
    *p++ = '.';
    p += kvs_b64url_encode(p, (const uint8_t *) payload, (size_t) pn);

    if (kvs_jwt_mac(key, out, (size_t) (p - out), p + 1) != 0) {
        return -1;
    }

    *p = '.';
    out[len] = '\0';

    return (int) len;
}


const char *
kvs_jwt_verify(const char *tok, size_t len, const kvs_jwt_key_t *keys,
    size_t nkeys, uint64_t now_s, kvs_jwt_claims_t *c)
{
    char                  want[KVS_JWT_MAC_LEN];
    size_t                hlen, plen, input;
    uint8_t               header[KVS_JWT_PART_MAX];
    uint8_t               payload[KVS_JWT_PART_MAX];
    const char           *why;
    kvs_jwt_claims_t      claims;
    const kvs_jwt_key_t  *key;

    if (len > KVS_JWT_MAX) {
        return "the token is longer than 512 bytes";
    }

    why = kvs_jwt_split(tok, len, header, &hlen, payload, &plen);
    if (why != NULL) {
        return why;
    }

    why = kvs_jwt_header(header, hlen, keys, nkeys, &key);
    if (why != NULL) {
        return why;
    }

    /* the split leaves the signature, KVS_JWT_MAC_LEN bytes, at the end */
    input = len - KVS_JWT_MAC_LEN - 1;

    if (kvs_jwt_mac(key, tok, input, want) != 0) {
        return "the token's signature cannot be computed";
    }

    if (!kvs_crypto_equal(want, tok + input + 1, KVS_JWT_MAC_LEN)) {
        return "the token's signature does not match";
    }

    why = kvs_jwt_claims(payload, plen, &claims);
    if (why != NULL) {
        return why;
    }

    if (claims.exp <= now_s) {
        return "the token has expired";
    }

    *c = claims;

    return NULL;
}


/*
 * The shape: three non-empty parts between two dots, each the one
 * base64url spelling of its bytes, the last of them a MAC's 32 bytes.
 * The header and payload are decoded into header and payload, which hold
 * KVS_JWT_PART_MAX bytes.
 */

static const char *
kvs_jwt_split(const char *tok, size_t len, uint8_t *header, size_t *hlen,
    uint8_t *payload, size_t *plen)
{
    size_t       n;
    uint8_t      mac[KVS_SHA256_LEN];
    const char  *end, *dot1, *dot2;

    if (len == 0) {
        return KVS_JWT_MALFORMED;
    }

    end = tok + len;

    dot1 = memchr(tok, '.', len);
    if (dot1 == NULL) {
        return KVS_JWT_MALFORMED;
    }

    dot2 = memchr(dot1 + 1, '.', (size_t) (end - dot1 - 1));
    if (dot2 == NULL || dot1 == tok || dot2 == dot1 + 1
        || end - dot2 - 1 != KVS_JWT_MAC_LEN)
    {
        return KVS_JWT_MALFORMED;
    }

    *hlen = KVS_JWT_PART_MAX;
    *plen = KVS_JWT_PART_MAX;
    n = sizeof(mac);

    /* a third dot is no base64url character: a part holding it fails */
    if (kvs_b64url_decode(header, hlen, tok, (size_t) (dot1 - tok)) != 0
        || kvs_b64url_decode(payload, plen, dot1 + 1,
                             (size_t) (dot2 - dot1 - 1)) != 0
        || kvs_b64url_decode(mac, &n, dot2 + 1, KVS_JWT_MAC_LEN) != 0)
    {
        return KVS_JWT_MALFORMED;
    }

    return NULL;
}


/* the header: an object of alg "HS256", typ "JWT" if at all, and the kid
 * of one of the keys, which *key is then set to */

static const char *
kvs_jwt_header(const uint8_t *p, size_t len, const kvs_jwt_key_t *keys,
    size_t nkeys, const kvs_jwt_key_t **key)
{
    size_t           i;
    kvs_jwt_value_t  val[3];

    if (kvs_jwt_object(p, len, kvs_jwt_header_fields, 3, 1, val) != 0) {
        return KVS_JWT_HEADER;
    }

    if (!kvs_jwt_is(&val[KVS_JWT_ALG], "HS256")) {
        return "the token's algorithm is not HS256";
    }

    if ((val[KVS_JWT_TYP].seen && !kvs_jwt_is(&val[KVS_JWT_TYP], "JWT"))
        || !val[KVS_JWT_KID].seen)
    {
        return KVS_JWT_HEADER;
    }

    for (i = 0; i < nkeys; i++) {
        if (kvs_jwt_is(&val[KVS_JWT_KID], keys[i].kid)) {
            *key = &keys[i];
            return NULL;
        }
    }

    return "the token's key is unknown";
}


static const char *
kvs_jwt_claims(const uint8_t *p, size_t len, kvs_jwt_claims_t *c)
{
    size_t           i;
    kvs_jwt_value_t  val[4];

    if (kvs_jwt_object(p, len, kvs_jwt_claim_fields, 4, 0, val) != 0) {
        return KVS_JWT_CLAIMS;
    }

    for (i = 0; i < 4; i++) {
        if (!val[i].seen) {
            return KVS_JWT_CLAIMS;
        }
    }

    if (kvs_uuid_parse(c->sub, (const char *) val[KVS_JWT_SUB].str,
                       val[KVS_JWT_SUB].len)
        != 0
        || kvs_uuid_parse(c->jti, (const char *) val[KVS_JWT_JTI].str,
                          val[KVS_JWT_JTI].len)
           != 0)
    {
        return KVS_JWT_CLAIMS;
    }

    c->iat_ms = val[KVS_JWT_IAT].num;
    c->iat = c->iat_ms / 1000;
    c->exp = val[KVS_JWT_EXP].num / 1000;

    return NULL;
}


/*
 * Reads a JSON object of members into val, one entry for each of the n
 * fields: a field's value must have its type.  A member that is no field
 * is refused when closed, else skipped.  Returns 0, or -1 when p is not
 * valid JSON, not an object, holds a backslash or a duplicate member.
 */

static int
kvs_jwt_object(const uint8_t *p, size_t len, const kvs_jwt_field_t *fields,
    size_t n, int closed, kvs_jwt_value_t *val)
{
    size_t           i, k, m, at;
    size_t           name[KVS_JWT_MEMBERS_MAX], nlen[KVS_JWT_MEMBERS_MAX];
    const char      *why;
    const uint8_t   *q;

    if (kvs_json_check(p, len, &at, &why) != 0
        || memchr(p, '\\', len) != NULL)
    {
        return -1;
    }

    memset(val, 0, n * sizeof(kvs_jwt_value_t));

    /* valid JSON that is not blank: i stays short of len until the
     * object's closing brace */
    i = kvs_jwt_space(p, len, 0);

    if (p[i] != '{') {
        return -1;
    }

    i = kvs_jwt_space(p, len, i + 1);

    if (p[i] == '}') {
        return 0;
    }

    for (m = 0; m < KVS_JWT_MEMBERS_MAX; m++) {

        /* i is at the name's opening quote; with no escapes, names are
         * the same when their bytes are */
        name[m] = i + 1;
        q = memchr(p + name[m], '"', len - name[m]);
        nlen[m] = (size_t) (q - p) - name[m];

        for (k = 0; k < m; k++) {
            if (nlen[k] == nlen[m]
                && memcmp(p + name[k], p + name[m], nlen[m]) == 0)
            {
                return -1;
            }
        }

        /* past the closing quote, the colon and the blanks around it */
        i = kvs_jwt_space(p, len, name[m] + nlen[m] + 1);
        i = kvs_jwt_space(p, len, i + 1);

        if (kvs_jwt_value(p, len, &i, p + name[m], nlen[m], fields, n,
                          closed, val)
            != 0)
        {
            return -1;
        }

        i = kvs_jwt_space(p, len, i);

        if (p[i] == '}') {
            return 0;
        }

        /* a value read but in part, such as 1 of 1e3, stops here too */
        if (p[i] != ',') {
            return -1;
        }

        i = kvs_jwt_space(p, len, i + 1);
    }

    return -1;
}


/* the value at *i of the member named name, up to where it ends */

static int
kvs_jwt_value(const uint8_t *p, size_t len, size_t *i, const uint8_t *name,
    size_t nlen, const kvs_jwt_field_t *fields, size_t n, int closed,
    kvs_jwt_value_t *val)
{
    size_t           f;
    const uint8_t   *q;

    for (f = 0; f < n; f++) {
        if (strlen(fields[f].name) == nlen
            && memcmp(fields[f].name, name, nlen) == 0)
        {
            break;
        }
    }

    if (f == n) {
        if (closed) {
            return -1;
        }

        *i = kvs_jwt_skip(p, len, *i);
        return 0;
    }

    val[f].seen = 1;

    if (fields[f].type == KVS_JWT_TIME) {
        return kvs_jwt_time(p, len, i, &val[f].num);
    }

    if (p[*i] != '"') {
        return -1;
    }

    val[f].str = p + *i + 1;
    q = memchr(val[f].str, '"', len - *i - 1);
    val[f].len = (size_t) (q - val[f].str);
    *i += val[f].len + 2;

    return 0;
}


/* a time from 0 to KVS_JWT_TIME_MAX seconds, in milliseconds: digits,
 * with no sign or exponent, and at most three decimals after a point */

static int
kvs_jwt_time(const uint8_t *p, size_t len, size_t *i, uint64_t *ms)
{
    size_t    k, n;
    uint64_t  d, v, frac;

    k = *i;
    v = 0;

    if (k == len || p[k] < '0' || p[k] > '9') {
        return -1;
    }

    while (k < len && p[k] >= '0' && p[k] <= '9') {
        d = (uint64_t) (p[k] - '0');

        if (v > (KVS_JWT_TIME_MAX - d) / 10) {
            return -1;
        }

        v = v * 10 + d;
        k++;
    }

    frac = 0;

    if (k < len && p[k] == '.') {
        k++;

        for (n = 0; k < len && p[k] >= '0' && p[k] <= '9'; n++, k++) {
            if (n == 3) {
                return -1;
            }

            frac = frac * 10 + (uint64_t) (p[k] - '0');
        }

        if (n == 0) {
            return -1;
        }

        for ( /* void */ ; n < 3; n++) {
            frac *= 10;
        }
    }

    if (k < len && (p[k] == 'e' || p[k] == 'E')) {
        return -1;
    }

    *ms = v * 1000 + frac;
    *i = k;

    return 0;
}


/* past a valid JSON value at i: to the comma or brace that ends it */

static size_t
kvs_jwt_skip(const uint8_t *p, size_t len, size_t i)
{
    size_t          depth;
    const uint8_t  *q;

    depth = 0;

    for ( /* void */ ; i < len; i++) {
        switch (p[i]) {

        case '"':
            q = memchr(p + i + 1, '"', len - i - 1);
            i = (size_t) (q - p);
            break;

        case '[':
        case '{':
            depth++;
            break;

        case ']':
        case '}':
            if (depth == 0) {
                return i;
            }

            depth--;
            break;

        case ',':
            if (depth == 0) {
                return i;
            }

            break;
        }
    }

    return i;
}


static size_t
kvs_jwt_space(const uint8_t *p, size_t len, size_t i)
{
    while (i < len
           && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
    {
        i++;
    }

    return i;
}


static int
kvs_jwt_is(const kvs_jwt_value_t *v, const char *s)
{
    return v->seen && v->len == strlen(s) && memcmp(v->str, s, v->len) == 0;
}
