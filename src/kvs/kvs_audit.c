/*
 * The audit log's entries: their canonical JSON, their chain, and the
 * verification of a chain against itself and against what peers
 * witnessed of it.  See kvs_audit.h for the format.
 *
 * The encoder writes the one form the parser accepts: fields in one order,
 * no blanks, numbers in decimal without sign or leading zero, strings with
 * '"', '\\' and bytes below 0x20 escaped (\u00XX) and every other byte as
 * it is.  So an entry's bytes are a function of its fields, and no two
 * spellings of one entry exist for a forger to play with.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kvs_audit.h"
#include "kvs_json.h"


const kvs_audit_kind_t  kvs_audit_kinds[KVS_AUDIT_KINDS] = {
    [KVS_AUDIT_PUT]          = { "put", 200, 0 },
    [KVS_AUDIT_DELETE]       = { "delete", 204, 0 },
    [KVS_AUDIT_META]         = { "meta", 200, 0 },
    [KVS_AUDIT_READ]         = { "read", 200, 0 },
    [KVS_AUDIT_LOGIN]        = { "login", 200, 0 },
    [KVS_AUDIT_LOGIN_FAILED] = { "login_failed", 401, 1 },
    [KVS_AUDIT_LOGOUT]       = { "logout", 200, 0 },
    [KVS_AUDIT_USER_CREATE]  = { "user_create", 201, 0 },
    [KVS_AUDIT_USER_UPDATE]  = { "user_update", 200, 0 },
    [KVS_AUDIT_USER_DELETE]  = { "user_delete", 204, 0 },
    [KVS_AUDIT_GROUP_CREATE] = { "group_create", 201, 0 },
    [KVS_AUDIT_GROUP_UPDATE] = { "group_update", 200, 0 },
    [KVS_AUDIT_GROUP_DELETE] = { "group_delete", 204, 0 },
    [KVS_AUDIT_DENIED]       = { "denied", 403, 1 },
    /* the agent's: a POST's 202, and the backup written (500 if not) */
    [KVS_AUDIT_BACKUP_STARTED]  = { "backup_started", 202, 0 },
    [KVS_AUDIT_BACKUP_FINISHED] = { "backup_finished", 200, 0 },
};


static uint8_t *kvs_audit_str(uint8_t *p, const char *s, size_t len,
    size_t max);
static uint8_t *kvs_audit_lit(uint8_t *p, const char *s);
static uint8_t *kvs_audit_num(uint8_t *p, uint64_t v);
static int kvs_audit_verify_fail(kvs_audit_verify_t *v, const char *key,
    size_t key_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));


void
kvs_audit_key(char *out, uint64_t ts, uint64_t seq)
{
    int      i;
    char     buf[KVS_AUDIT_KEY_LEN + 1];
    uint8_t  uuid[KVS_UUID_LEN];

    kvs_uuid_generate(uuid);

    /* 48 bits of seq: the keys of one ms sort in seq order for 2^48
     * entries; version 8, the variant of RFC 9562 */
    for (i = 0; i < 6; i++) {
        uuid[i] = (uint8_t) (seq >> (40 - 8 * i));
    }

    uuid[6] = (uuid[6] & 0x0f) | 0x80;
    uuid[8] = (uuid[8] & 0x3f) | 0x80;

    /* 13 digits: keys sort by time until the year 2286 */
    snprintf(buf, sizeof(buf), KVS_AUDIT_KEY_PREFIX "%013llu:",
             (unsigned long long) (ts % 10000000000000ULL));
    kvs_uuid_format(uuid, buf + 4 + 13 + 1);

    memcpy(out, buf, KVS_AUDIT_KEY_LEN);
}


int
kvs_audit_key_ts(const char *key, size_t len, uint64_t *ts)
{
    size_t  i;

    if (len != KVS_AUDIT_KEY_LEN
        || memcmp(key, KVS_AUDIT_KEY_PREFIX, 4) != 0)
    {
        return -1;
    }

    *ts = 0;

    for (i = 4; i < 4 + 13; i++) {
        if (key[i] < '0' || key[i] > '9') {
            return -1;
        }

        *ts = *ts * 10 + (uint64_t) (key[i] - '0');
    }

    return 0;
}


int
kvs_audit_entry_seq(const uint8_t *entry, size_t len, uint64_t *seq)
{
    size_t  i, n;

    n = sizeof("{\"seq\":") - 1;

    if (len <= n || memcmp(entry, "{\"seq\":", n) != 0) {
        return -1;
    }

    *seq = 0;

    for (i = n; i < len && i < n + 19; i++) {
        if (entry[i] < '0' || entry[i] > '9') {
            break;
        }

        *seq = *seq * 10 + (uint64_t) (entry[i] - '0');
    }

    /* 19 digits at most: no overflow */
    return i > n && (i == len || entry[i] < '0' || entry[i] > '9') ? 0 : -1;
}


size_t
kvs_audit_encode(const kvs_audit_event_t *ev, uint64_t ts, const char *key,
    const char *node, size_t node_len, const kvs_version_t *version,
    const kvs_hmac_key_t *mac, kvs_audit_head_t *head, uint8_t *out)
{
    char      uuid[36];
    uint8_t  *p, sig[KVS_SHA3_512_LEN];

    p = kvs_audit_lit(out, "{\"seq\":");
    p = kvs_audit_num(p, head->seq + 1);
    p = kvs_audit_lit(p, ",\"ts\":");
    p = kvs_audit_num(p, ts);
    p = kvs_audit_lit(p, ",\"key\":");
    p = kvs_audit_str(p, key, KVS_AUDIT_KEY_LEN, KVS_AUDIT_KEY_LEN);
    p = kvs_audit_lit(p, ",\"node\":");
    p = kvs_audit_str(p, node, node_len, KVS_AUDIT_NODE_MAX);
    p = kvs_audit_lit(p, ",\"kind\":\"");
    p = kvs_audit_lit(p, kvs_audit_kinds[ev->kind].name);
    p = kvs_audit_lit(p, "\",\"user\":");

    p = ev->user ? kvs_audit_str(p, ev->user, ev->user_len,
                                 KVS_AUDIT_USER_MAX)
                 : kvs_audit_lit(p, "null");

    p = kvs_audit_lit(p, ",\"client\":");
    p = kvs_audit_str(p, ev->client, ev->client_len, KVS_AUDIT_CLIENT_MAX);
    p = kvs_audit_lit(p, ",\"method\":");
    p = kvs_audit_str(p, ev->method, ev->method_len, KVS_AUDIT_METHOD_MAX);
    p = kvs_audit_lit(p, ",\"object\":");
    p = kvs_audit_str(p, ev->object, ev->object_len, KVS_AUDIT_OBJECT_MAX);
    p = kvs_audit_lit(p, ",\"status\":");
    p = kvs_audit_num(p, ev->status);
    p = kvs_audit_lit(p, ",\"version\":");

    if (version) {
        p = kvs_audit_lit(p, "{\"timestamp\":");
        p = kvs_audit_num(p, version->timestamp);
        p = kvs_audit_lit(p, ",\"uuid\":\"");
        kvs_uuid_format(version->uuid, uuid);
        memcpy(p, uuid, sizeof(uuid));
        p += sizeof(uuid);
        p = kvs_audit_lit(p, "\"}");

    } else {
        p = kvs_audit_lit(p, "null");
    }

    p = kvs_audit_lit(p, ",\"count\":");
    p = kvs_audit_num(p, ev->count ? ev->count : 1);
    p = kvs_audit_lit(p, ",\"prev\":\"");
    kvs_hex((char *) p, head->hash, KVS_SHA3_512_LEN);
    p += KVS_AUDIT_HASH_HEX;
    *p++ = '"';

    if (kvs_hmac_keyed(mac, out, p - out, sig) != 0) {
        return 0;
    }

    p = kvs_audit_lit(p, ",\"hmac\":\"");
    kvs_hex((char *) p, sig, KVS_SHA3_512_LEN);
    p += KVS_AUDIT_HASH_HEX;
    p = kvs_audit_lit(p, "\"}");

    if (kvs_sha3_512(out, p - out, head->hash) != 0) {
        return 0;
    }

    head->seq++;

    return p - out;
}


static uint8_t *
kvs_audit_lit(uint8_t *p, const char *s)
{
    size_t  len;

    len = strlen(s);
    memcpy(p, s, len);

    return p + len;
}


static uint8_t *
kvs_audit_num(uint8_t *p, uint64_t v)
{
    return p + sprintf((char *) p, "%llu", (unsigned long long) v);
}


/*
 * A string of the client's (a user name, a path) as JSON text, cut to max
 * bytes between characters: '"' and '\\' escaped, control bytes as
 * \u00XX (the only escapes kvs_audit_parse() takes), and a byte that
 * starts no well-formed UTF-8 character as U+FFFD, so that an entry is
 * valid JSON whatever the client sent.  Each byte takes at most 6 of the
 * entry, which KVS_AUDIT_ENTRY_MAX counts.
 */

static uint8_t *
kvs_audit_str(uint8_t *p, const char *s, size_t len, size_t max)
{
    size_t             i, n;
    unsigned char      c;
    static const char  hex[] = "0123456789abcdef";

    len = kvs_audit_cut(s, len, max);

    *p++ = '"';

    for (i = 0; i < len; i += n) {
        c = (unsigned char) s[i];
        n = 1;

        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = c;

        } else if (c < 0x20) {
            p = kvs_audit_lit(p, "\\u00");
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0x0f];

        } else if (c < 0x80) {
            *p++ = c;

        } else {
            n = kvs_json_utf8_char((const uint8_t *) s + i,
                                   (const uint8_t *) s + len);

            if (n == 0) {
                p = kvs_audit_lit(p, "\xef\xbf\xbd");
                n = 1;

            } else {
                memcpy(p, s + i, n);
                p += n;
            }
        }
    }

    *p++ = '"';

    return p;
}


size_t
kvs_audit_cut(const char *s, size_t len, size_t max)
{
    size_t  n;

    if (len <= max) {
        return len;
    }

    /* back over the continuation bytes (10xxxxxx) of a character cut, to
     * its first byte, at most the 3 a character has after that */

    for (n = max; n > 0 && max - n < 3
                  && ((unsigned char) s[n] & 0xc0) == 0x80; n--)
    {
        /* void */
    }

    return ((unsigned char) s[n] & 0xc0) == 0x80 ? max : n;
}


void
kvs_audit_hex(char *out, const uint8_t *hash)
{
    kvs_hex(out, hash, KVS_SHA3_512_LEN);
    out[KVS_AUDIT_HASH_HEX] = '\0';
}


int
kvs_audit_unhex(uint8_t *out, const char *in, size_t len)
{
    size_t  i;
    int     hi, lo;

    if (len != KVS_AUDIT_HASH_HEX) {
        return -1;
    }

    for (i = 0; i < KVS_SHA3_512_LEN; i++) {
        hi = in[2 * i];
        lo = in[2 * i + 1];

        /* lower case only: the one spelling the encoder writes */
        hi = hi >= '0' && hi <= '9' ? hi - '0'
             : hi >= 'a' && hi <= 'f' ? hi - 'a' + 10 : -1;
        lo = lo >= '0' && lo <= '9' ? lo - '0'
             : lo >= 'a' && lo <= 'f' ? lo - 'a' + 10 : -1;

        if (hi < 0 || lo < 0) {
            return -1;
        }

        out[i] = (uint8_t) (hi << 4 | lo);
    }

    return 0;
}


/* the parser: a cursor over the entry's bytes */

typedef struct {
    const uint8_t  *p;
    const uint8_t  *end;
} kvs_audit_cur_t;


static int
kvs_audit_expect(kvs_audit_cur_t *c, const char *lit)
{
    size_t  len;

    len = strlen(lit);

    if ((size_t) (c->end - c->p) < len || memcmp(c->p, lit, len) != 0) {
        return -1;
    }

    c->p += len;

    return 0;
}


static int
kvs_audit_number(kvs_audit_cur_t *c, uint64_t *v)
{
    uint64_t  n;
    unsigned  d;

    if (c->p == c->end || *c->p < '0' || *c->p > '9') {
        return -1;
    }

    /* no leading zero: one spelling of each number */
    if (*c->p == '0') {
        c->p++;
        *v = 0;
        return (c->p < c->end && *c->p >= '0' && *c->p <= '9') ? -1 : 0;
    }

    n = 0;

    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        d = *c->p - '0';

        if (n > (UINT64_MAX - d) / 10) {
            return -1;
        }

        n = n * 10 + d;
        c->p++;
    }

    *v = n;

    return 0;
}


/* a string in the encoder's escaping: s and len are what is between the
 * quotes */

static int
kvs_audit_string(kvs_audit_cur_t *c, const char **s, size_t *len)
{
    const uint8_t  *start;

    if (c->p == c->end || *c->p != '"') {
        return -1;
    }

    start = ++c->p;

    while (c->p < c->end && *c->p != '"') {
        if (*c->p < 0x20) {
            return -1;
        }

        if (*c->p == '\\') {
            if (c->end - c->p < 2) {
                return -1;
            }

            if (c->p[1] == '"' || c->p[1] == '\\') {
                c->p += 2;
                continue;
            }

            if (c->end - c->p < 6 || memcmp(c->p, "\\u00", 4) != 0
                || !((c->p[4] == '0' || c->p[4] == '1')
                     && ((c->p[5] >= '0' && c->p[5] <= '9')
                         || (c->p[5] >= 'a' && c->p[5] <= 'f'))))
            {
                return -1;
            }

            c->p += 6;
            continue;
        }

        c->p++;
    }

    if (c->p == c->end) {
        return -1;
    }

    *s = (const char *) start;
    *len = c->p - start;
    c->p++;

    return 0;
}


static int
kvs_audit_hash(kvs_audit_cur_t *c, uint8_t *out)
{
    const char  *s;
    size_t       len;

    if (kvs_audit_string(c, &s, &len) != 0) {
        return -1;
    }

    return kvs_audit_unhex(out, s, len);
}


const char *
kvs_audit_parse(const uint8_t *p, size_t len, kvs_audit_entry_t *e)
{
    kvs_audit_cur_t  c;

    memset(e, 0, sizeof(kvs_audit_entry_t));

    c.p = p;
    c.end = p + len;

    if (kvs_audit_expect(&c, "{\"seq\":") || kvs_audit_number(&c, &e->seq)
        || e->seq == 0)
    {
        return "its seq is missing or not a number above 0";
    }

    if (kvs_audit_expect(&c, ",\"ts\":") || kvs_audit_number(&c, &e->ts)) {
        return "its ts is missing or not a number";
    }

    if (kvs_audit_expect(&c, ",\"key\":")
        || kvs_audit_string(&c, &e->key, &e->key_len))
    {
        return "its key is missing or not a string";
    }

    if (kvs_audit_expect(&c, ",\"node\":")
        || kvs_audit_string(&c, &e->node, &e->node_len))
    {
        return "its node is missing or not a string";
    }

    if (kvs_audit_expect(&c, ",\"kind\":")
        || kvs_audit_string(&c, &e->kind, &e->kind_len))
    {
        return "its kind is missing or not a string";
    }

    if (kvs_audit_expect(&c, ",\"user\":")) {
        return "its user is missing";
    }

    if (kvs_audit_expect(&c, "null") != 0
        && kvs_audit_string(&c, &e->user, &e->user_len) != 0)
    {
        return "its user is neither a string nor null";
    }

    if (kvs_audit_expect(&c, ",\"client\":")
        || kvs_audit_string(&c, &e->client, &e->client_len))
    {
        return "its client is missing or not a string";
    }

    if (kvs_audit_expect(&c, ",\"method\":")
        || kvs_audit_string(&c, &e->method, &e->method_len))
    {
        return "its method is missing or not a string";
    }

    if (kvs_audit_expect(&c, ",\"object\":")
        || kvs_audit_string(&c, &e->object, &e->object_len))
    {
        return "its object is missing or not a string";
    }

    if (kvs_audit_expect(&c, ",\"status\":")
        || kvs_audit_number(&c, &e->status))
    {
        return "its status is missing or not a number";
    }

    if (kvs_audit_expect(&c, ",\"version\":")) {
        return "its version is missing";
    }

    if (kvs_audit_expect(&c, "null") != 0) {
        if (kvs_audit_expect(&c, "{\"timestamp\":")
            || kvs_audit_number(&c, &e->version_ts)
            || kvs_audit_expect(&c, ",\"uuid\":\"")
            || c.end - c.p < 36 + 2)
        {
            return "its version is neither null nor a timestamp and uuid";
        }

        e->version_uuid = (const char *) c.p;
        c.p += 36;
        e->has_version = 1;

        if (kvs_audit_expect(&c, "\"}")) {
            return "its version's uuid is not 36 bytes";
        }
    }

    if (kvs_audit_expect(&c, ",\"count\":")
        || kvs_audit_number(&c, &e->count) || e->count == 0)
    {
        return "its count is missing or not a number above 0";
    }

    if (kvs_audit_expect(&c, ",\"prev\":") || kvs_audit_hash(&c, e->prev)) {
        return "its prev is missing or not 128 hex digits";
    }

    e->signed_len = c.p - p;

    if (kvs_audit_expect(&c, ",\"hmac\":") || kvs_audit_hash(&c, e->hmac)) {
        return "its hmac is missing or not 128 hex digits";
    }

    if (kvs_audit_expect(&c, "}") || c.p != c.end) {
        return "it does not end after its hmac";
    }

    return NULL;
}


void
kvs_audit_verify_init(kvs_audit_verify_t *v, const kvs_hmac_key_t *mac,
    kvs_audit_witness_t *w, size_t nw)
{
    size_t  i;

    memset(v, 0, sizeof(kvs_audit_verify_t));

    v->mac = mac;
    v->witnesses = w;
    v->nwitnesses = nw;

    for (i = 0; i < nw; i++) {
        w[i].seen = 0;
    }
}


static int
kvs_audit_verify_fail(kvs_audit_verify_t *v, const char *key,
    size_t key_len, const char *fmt, ...)
{
    va_list  args;

    /* the key as it is stored, a byte longer or a NUL in it included: a
     * copy under such a key must be named, not the entry it copies */

    if (key_len > KVS_AUDIT_BAD_MAX) {
        key_len = KVS_AUDIT_BAD_MAX;
    }

    memcpy(v->bad, key, key_len);
    v->bad[key_len] = '\0';
    v->bad_len = key_len;

    va_start(args, fmt);
    vsnprintf(v->why, sizeof(v->why), fmt, args);
    va_end(args);

    return -1;
}


/*
 * The entry at key, the next in key order.  What was done to the log is
 * told by the first check that fails: bytes that are no entry, an HMAC
 * that is not the secret's (an edit, or a forgery), an entry under a key
 * other than its own (moved: entries reordered), a seq that skips (a
 * removal) or goes back (a copy), a prev that is not the hash of the
 * entry before.
 */

int
kvs_audit_verify_step(kvs_audit_verify_t *v, const char *key, size_t key_len,
    const uint8_t *entry, size_t len)
{
    char               hex[KVS_AUDIT_HASH_HEX + 1];
    size_t             i;
    uint8_t            mac[KVS_SHA3_512_LEN];
    uint64_t           seq;
    const char        *why;
    kvs_audit_entry_t  e;

    why = kvs_audit_parse(entry, len, &e);
    if (why != NULL) {
        return kvs_audit_verify_fail(v, key, key_len,
                                     "the entry after entry %llu is no "
                                     "entry: %s",
                                     (unsigned long long) v->head.seq, why);
    }

    seq = e.seq;

    if (kvs_hmac_keyed(v->mac, entry, e.signed_len, mac) != 0)
    {
        return kvs_audit_verify_fail(v, key, key_len,
                                     "OpenSSL failed to compute an HMAC");
    }

    if (!kvs_crypto_equal(mac, e.hmac, sizeof(mac))) {
        return kvs_audit_verify_fail(v, key, key_len,
                                     "entry %llu's hmac is wrong: it was "
                                     "changed, or forged without "
                                     "audit_secret",
                                     (unsigned long long) seq);
    }

    if (e.key_len != key_len || memcmp(e.key, key, key_len) != 0) {
        return kvs_audit_verify_fail(v, key, key_len,
                                     "entry %llu is kept under another "
                                     "key than its own, \"%.*s\": entries "
                                     "were reordered or moved",
                                     (unsigned long long) seq,
                                     (int) (e.key_len < 64 ? e.key_len : 64),
                                     e.key);
    }

    if (seq > v->head.seq + 1) {
        return kvs_audit_verify_fail(v, key, key_len,
                                     "the chain's entry %llu is missing: "
                                     "entry %llu follows entry %llu",
                                     (unsigned long long) v->head.seq + 1,
                                     (unsigned long long) seq,
                                     (unsigned long long) v->head.seq);
    }

    if (seq <= v->head.seq) {
        return kvs_audit_verify_fail(v, key, key_len,
                                     "entry %llu follows entry %llu: "
                                     "entries were reordered or copied",
                                     (unsigned long long) seq,
                                     (unsigned long long) v->head.seq);
    }

    if (memcmp(e.prev, v->head.hash, KVS_SHA3_512_LEN) != 0) {
        return kvs_audit_verify_fail(v, key, key_len,
                                     "entry %llu does not follow entry %llu:"
                                     " its prev is not that entry's hash",
                                     (unsigned long long) seq,
                                     (unsigned long long) v->head.seq);
    }

    if (kvs_sha3_512(entry, len, v->head.hash) != 0) {
        return kvs_audit_verify_fail(v, key, key_len,
                                     "OpenSSL failed to compute a hash");
    }

    v->head.seq = seq;

    for (i = 0; i < v->nwitnesses; i++) {
        if (v->witnesses[i].head.seq != seq) {
            continue;
        }

        v->witnesses[i].seen = 1;

        if (memcmp(v->witnesses[i].head.hash, v->head.hash,
                   KVS_SHA3_512_LEN) != 0)
        {
            kvs_audit_hex(hex, v->witnesses[i].head.hash);

            return kvs_audit_verify_fail(v, key, key_len,
                                         "peer %s witnessed entry %llu "
                                         "(hash %s), which this log's entry "
                                         "%llu is not",
                                         v->witnesses[i].peer,
                                         (unsigned long long) seq, hex,
                                         (unsigned long long) seq);
        }
    }

    return 0;
}


int
kvs_audit_verify_end(kvs_audit_verify_t *v)
{
    char    hex[KVS_AUDIT_HASH_HEX + 1];
    size_t  i;

    for (i = 0; i < v->nwitnesses; i++) {
        if (v->witnesses[i].seen || v->witnesses[i].head.seq == 0) {
            continue;
        }

        kvs_audit_hex(hex, v->witnesses[i].head.hash);

        /* no key to name: the entry is what the log lacks */
        v->bad[0] = '\0';
        v->bad_len = 0;
        snprintf(v->why, sizeof(v->why),
                 "peer %s witnessed entry %llu (hash %s), which this log "
                 "lacks: it ends at entry %llu", v->witnesses[i].peer,
                 (unsigned long long) v->witnesses[i].head.seq, hex,
                 (unsigned long long) v->head.seq);

        return -1;
    }

    return 0;
}
