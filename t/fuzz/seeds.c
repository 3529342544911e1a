/*
 * Writes the seeds of the fuzz targets that are bytes no one types: records
 * (record/), batches of them (wire/), zstd frames (codec/), signed
 * requests (sign/), tokens (jwt/), stored passwords (password/), the key
 * lists of anti-entropy (wire_keys/, its first byte the form) and the
 * last backup's records (backup/, beside names written by hand), each
 * made by the core's own encoders, so that a seed is what a node really
 * writes or sends.  Beside every valid one, near
 * misses: one field wrong, which the check must catch.  `make fuzz-seeds`
 * runs it into t/fuzz/corpus/; the text seeds there are written by hand.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "kvs_backup.h"
#include "kvs_codec.h"
#include "kvs_crypto.h"
#include "kvs_jwt.h"
#include "kvs_record.h"
#include "kvs_sign.h"
#include "kvs_wire.h"


#define NOW        1800000000000ULL    /* the targets' clock, kvs_fuzz.h */
#define SECRET     "kvs-example-cluster-secret-change-me"

#define PROFILE    "{\"name\":\"John Doe\",\"age\":30," \
                   "\"email\":\"john@example.com\"}"

#define GOSSIP     "[{\"id\":\"node1\",\"address\":\"127.0.0.1:8081\"," \
                   "\"last_seen\":1800000000000," \
                   "\"joined_timestamp\":1799999990000,\"state\":\"alive\"}]"

#define LEAVE      "{\"id\":\"node2\"}"

/* fuzz_jwt.c's keys */
#define JWT_KEY1   "kvs-example-jwt-secret-number-one-0123456789"
#define JWT_KEY2   "kvs-example-jwt-secret-number-two-0123456789"


typedef struct {
    uint8_t  b[16384];
    size_t   len;
} seed_buf_t;


static const char  *seed_dir;


static void
seed_write(const char *target, const char *name, const void *p, size_t len)
{
    char   path[512];
    FILE  *f;

    snprintf(path, sizeof(path), "%s/%s/%s", seed_dir, target, name);

    f = fopen(path, "wb");
    if (f == NULL || fwrite(p, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "seeds: %s: %s\n", path, strerror(errno));
        exit(1);
    }
}


/* about 1 KiB of an order, which zstd shrinks well */

static size_t
seed_order(char *out, size_t size)
{
    int     i;
    size_t  n;

    n = (size_t) snprintf(out, size, "{\"order\":\"A-1001\",\"lines\":[");

    for (i = 0; i < 12; i++) {
        n += (size_t) snprintf(out + n, size - n,
                               "%s{\"sku\":\"SKU-%04d\",\"qty\":%d,"
                               "\"price\":%d.99,\"note\":\"gift wrap\"}",
                               i ? "," : "", i, i + 1, 10 + i);
    }

    n += (size_t) snprintf(out + n, size - n, "]}");

    return n;
}


/* a record as the store writes it: header, long key's path, value */

static void
seed_record(seed_buf_t *r, uint8_t flags, const char *path, int long_key,
    const void *value, size_t value_len, size_t raw_len)
{
    kvs_record_hdr_t  hdr;

    memset(&hdr, 0, sizeof(hdr));
    hdr.flags = flags;
    hdr.permissions = KVS_DEFAULT_PERMISSIONS;
    hdr.version.timestamp = NOW - 1000;
    memset(hdr.version.uuid, 0x5a, KVS_UUID_LEN);
    hdr.version.uuid[6] = 0x4a;
    hdr.created_at = NOW - 5000;
    hdr.value_len = (uint32_t) value_len;
    hdr.raw_len = (uint32_t) raw_len;
    hdr.key_len = long_key ? (uint16_t) strlen(path) : 0;

    if (flags & KVS_FLAG_EXPIRED) {
        hdr.expires_at = NOW - 10;
    }

    kvs_record_encode(&hdr, r->b);
    r->len = KVS_RECORD_HDR_SIZE;

    if (long_key) {
        memcpy(r->b + r->len, path, hdr.key_len);
        r->len += hdr.key_len;
    }

    memcpy(r->b + r->len, value, value_len);
    r->len += value_len;
}


static void
seed_entry(seed_buf_t *batch, char ns, const char *path, const seed_buf_t *r)
{
    size_t    plen;
    uint8_t  *p;

    plen = strlen(path);
    p = batch->b + batch->len;

    p[0] = (uint8_t) ns;
    kvs_put_u16(p + 1, (uint16_t) plen);
    memcpy(p + 3, path, plen);
    kvs_put_u32(p + 3 + plen, (uint32_t) r->len);
    memcpy(p + 7 + plen, r->b, r->len);

    batch->len += 7 + plen + r->len;
}


/* a key, or a key and its version (version != NULL), of a key list */

static void
seed_key(seed_buf_t *list, char ns, const char *path,
    const kvs_version_t *version)
{
    kvs_wire_entry_t  e;

    memset(&e, 0, sizeof(e));
    e.ns = ns;
    e.path = path;
    e.path_len = strlen(path);

    if (version) {
        e.version = *version;
        list->len = kvs_wire_version_put(list->b + list->len, &e) - list->b;

    } else {
        list->len = kvs_wire_key_put(list->b + list->len, &e) - list->b;
    }
}


static void
seed_sign(const char *name, const char *method, const char *uri,
    uint64_t date, const void *body, size_t blen, int upper)
{
    int     i;
    char    sig[KVS_SIGN_LEN];
    size_t  n;
    char    out[8192];

    if (kvs_sign(SECRET, strlen(SECRET), method, strlen(method), uri,
                 strlen(uri), date, body, blen, sig) != 0)
    {
        fprintf(stderr, "seeds: kvs_sign() failed\n");
        exit(1);
    }

    for (i = 0; upper && i < KVS_SIGN_LEN; i++) {
        sig[i] = (sig[i] >= 'a' && sig[i] <= 'f') ? sig[i] - 0x20 : sig[i];
    }

    /* the parts of fuzz_sign.c, one a line: date, signature, method, uri,
     * secret; then the body, which may hold anything */
    n = (size_t) snprintf(out, sizeof(out), "%llu\n%.*s\n%s\n%s\n%s\n",
                          (unsigned long long) date, KVS_SIGN_LEN, sig,
                          method, uri, SECRET);
    memcpy(out + n, body, blen);

    seed_write("sign", name, out, n + blen);
}


/* a token of claims around the clock, or with its header replaced */

static void
seed_jwt(const char *name, const kvs_jwt_key_t *key, int64_t exp_from_now,
    const char *header)
{
    int               n;
    char              tok[KVS_JWT_MAX], out[KVS_JWT_MAX * 2], *dot;
    size_t            len;
    kvs_jwt_claims_t  c;

    memset(c.sub, 0x11, sizeof(c.sub));
    memset(c.jti, 0x22, sizeof(c.jti));
    c.iat = NOW / 1000 - 60;
    c.exp = (uint64_t) ((int64_t) (NOW / 1000) + exp_from_now);

    n = kvs_jwt_sign(&c, key, tok, sizeof(tok));
    if (n < 0) {
        fprintf(stderr, "seeds: kvs_jwt_sign() failed\n");
        exit(1);
    }

    if (header == NULL) {
        seed_write("jwt", name, tok, (size_t) n);
        return;
    }

    /* the signature stays the old header's: only the header is judged */
    dot = strchr(tok, '.');
    len = kvs_b64url_encode(out, (const uint8_t *) header, strlen(header));
    len += (size_t) snprintf(out + len, sizeof(out) - len, "%s", dot);

    seed_write("jwt", name, out, len);
}


/* a stored string of "password" with a real hash under parameters small
 * enough for fuzz_password.c to verify it, else with a hash of zeros */

static void
seed_password(const char *name, const kvs_scrypt_params_t *p, size_t slen,
    size_t hlen)
{
    int      n;
    char     out[256];
    uint8_t  salt[KVS_PASSWORD_SALT_MAX], hash[KVS_PASSWORD_KEY_MAX];

    memset(salt, 0x5a, sizeof(salt));
    memset(hash, 0, sizeof(hash));

    if (p->ln <= 6 && p->r * p->p <= 8
        && kvs_scrypt("password", 8, salt, slen, p, hash, hlen) != 0)
    {
        fprintf(stderr, "seeds: kvs_scrypt() failed\n");
        exit(1);
    }

    n = kvs_password_format(p, salt, slen, hash, hlen, out, sizeof(out));
    if (n < 0) {
        fprintf(stderr, "seeds: kvs_password_format() failed\n");
        exit(1);
    }

    seed_write("password", name, out, (size_t) n);
}


static void
seed_backup(void)
{
    size_t             len;
    uint8_t            rec[KVS_BACKUP_LAST_MAX];
    kvs_backup_last_t  l;

    memset(&l, 0, sizeof(kvs_backup_last_t));
    strcpy(l.file, "kvs-n1-20261202T142537Z.mdb.zst");
    l.started_at = NOW;
    l.finished_at = NOW + 501;
    l.bytes = 9178;
    l.keys = 100;
    l.ok = 1;
    l.ok_at = l.finished_at;
    l.ok_bytes = l.bytes;

    len = kvs_backup_last_encode(&l, rec);
    seed_write("backup", "last-ok", rec, len);
    seed_write("backup", "bad-cut", rec, len - 1);

    l.ok = 0;
    l.bytes = 0;
    strcpy(l.error, "creating backup_dir \"/srv/kvs/backups\" failed: Not "
           "a directory");

    len = kvs_backup_last_encode(&l, rec);
    seed_write("backup", "last-failed", rec, len);
}


int
main(int argc, char **argv)
{
    char        order[2048], path[600];
    size_t      olen, flen, n;
    uint8_t     frame[4096], rle[1024];
    seed_buf_t           r, b, live, comp, tomb, swept, lng, bad;
    ZSTD_CCtx           *cctx;
    kvs_jwt_key_t        key1, key2;
    kvs_scrypt_params_t  p;

    if (argc != 2) {
        fprintf(stderr, "usage: seeds t/fuzz/corpus\n");
        return 2;
    }

    seed_dir = argv[1];

    olen = seed_order(order, sizeof(order));
    flen = kvs_codec_compress(frame, sizeof(frame), (const uint8_t *) order,
                              olen, 3);

    memset(path, 'p', 500);
    memcpy(path, "logs/2026/", 10);
    path[500] = '\0';

    /* record/: the four states, a long key; then one field wrong each */

    seed_record(&live, 0, "users/john/profile", 0, PROFILE,
                sizeof(PROFILE) - 1, sizeof(PROFILE) - 1);
    seed_write("record", "live", live.b, live.len);

    seed_record(&comp, KVS_FLAG_COMPRESSED, "orders/A-1001", 0, frame, flen,
                olen);
    seed_write("record", "compressed", comp.b, comp.len);

    seed_record(&tomb, KVS_FLAG_TOMBSTONE, "users/john/profile", 0, "", 0, 0);
    seed_write("record", "tombstone", tomb.b, tomb.len);

    seed_record(&swept, KVS_FLAG_EXPIRED, "session/42", 0, "", 0, 0);
    seed_write("record", "swept", swept.b, swept.len);

    seed_record(&lng, 0, path, 1, "[1,2,3]", 7, 7);
    seed_write("record", "long-key", lng.b, lng.len);

    seed_record(&r, 0, "k", 0, PROFILE, sizeof(PROFILE) - 1, 10);
    seed_write("record", "bad-raw-len", r.b, r.len);

    seed_record(&r, KVS_FLAG_TOMBSTONE, "k", 0, "{}", 2, 2);
    seed_write("record", "bad-tombstone-value", r.b, r.len);

    seed_record(&r, 0x40, "k", 0, "{}", 2, 2);
    seed_write("record", "bad-flags", r.b, r.len);

    seed_record(&r, KVS_FLAG_COMPRESSED, "k", 0, frame, flen, olen + 1);
    seed_write("record", "bad-frame-size", r.b, r.len);

    r = live;
    r.b[0] = 2;
    seed_write("record", "bad-format", r.b, r.len);
    seed_write("record", "bad-short", live.b, KVS_RECORD_HDR_SIZE - 1);
    seed_write("record", "bad-cut-value", live.b, live.len - 1);

    /* wire/: batches of good entries, then one bad entry after a good
     * one, so that the walk gets past the first */

    b.len = 0;
    seed_entry(&b, KVS_NS_DATA, "users/john/profile", &live);
    seed_write("wire", "one", b.b, b.len);

    seed_entry(&b, KVS_NS_DATA, "orders/A-1001", &comp);
    seed_entry(&b, KVS_NS_USER, "john", &live);
    seed_entry(&b, KVS_NS_GROUP, "admin", &live);
    seed_entry(&b, KVS_NS_TOKEN, "c2VjcmV0", &tomb);
    seed_entry(&b, KVS_NS_DATA, "session/42", &swept);
    seed_entry(&b, KVS_NS_DATA, path, &lng);
    seed_write("wire", "every-state", b.b, b.len);

    b.len = 0;
    seed_entry(&b, KVS_NS_DATA, "users/john/profile", &live);
    n = b.len;

    seed_entry(&b, 'x', "a", &live);
    seed_write("wire", "bad-namespace", b.b, b.len);

    b.len = n;
    seed_entry(&b, KVS_NS_DATA, "a//b", &live);
    seed_write("wire", "bad-path", b.b, b.len);

    b.len = n;
    seed_entry(&b, KVS_NS_DATA, "a", &live);
    seed_write("wire", "bad-cut", b.b, b.len - 1);
    kvs_put_u32(b.b + n + 4, 0xffffffff);
    seed_write("wire", "bad-record-len", b.b, b.len);

    b.len = n;
    seed_record(&bad, 0, "a", 0, PROFILE, sizeof(PROFILE) - 1,
                sizeof(PROFILE) - 1);
    kvs_put_u64(bad.b + 8, NOW + KVS_WIRE_AHEAD_MAX + 1);
    seed_entry(&b, KVS_NS_DATA, "a", &bad);
    seed_write("wire", "bad-ahead", b.b, b.len);

    b.len = n;
    kvs_put_u64(bad.b + 8, NOW);
    kvs_put_u16(bad.b + 2, 0x1000);
    seed_entry(&b, KVS_NS_DATA, "a", &bad);
    seed_write("wire", "bad-permissions", b.b, b.len);

    b.len = n;
    seed_record(&bad, 0, "a", 0, "{\"a\":}", 6, 6);
    seed_entry(&b, KVS_NS_DATA, "a", &bad);
    seed_write("wire", "bad-json", b.b, b.len);

    b.len = n;
    seed_record(&bad, KVS_FLAG_COMPRESSED, "a", 0, frame, flen, olen - 1);
    seed_entry(&b, KVS_NS_DATA, "a", &bad);
    seed_write("wire", "bad-frame-size", b.b, b.len);

    b.len = n;
    seed_entry(&b, KVS_NS_DATA, "logs/other", &lng);
    seed_write("wire", "bad-long-key-path", b.b, b.len);

    /* wire_keys/: a fetch's keys (first byte 0), a bucket's keys with
     * their versions (1), the key to list a bucket's keys after, and near
     * misses after a good entry */

    {
        kvs_version_t  v;

        memset(&v, 0, sizeof(v));
        v.timestamp = NOW;
        memset(v.uuid, 0x5a, KVS_UUID_LEN);

        for (n = 0; n < 2; n++) {
            b.len = 1;
            b.b[0] = (uint8_t) n;
            seed_key(&b, KVS_NS_DATA, "users/john/profile", n ? &v : NULL);
            seed_key(&b, KVS_NS_USER, "john", n ? &v : NULL);
            seed_key(&b, KVS_NS_TOKEN, "c2VjcmV0", n ? &v : NULL);
            seed_key(&b, KVS_NS_DATA, path, n ? &v : NULL);
            seed_write("wire_keys", n ? "versions" : "keys", b.b, b.len);
        }

        b.len = 1;
        b.b[0] = 0;
        seed_key(&b, KVS_NS_DATA, "wire/one", NULL);
        seed_write("wire_keys", "after", b.b, b.len);
        seed_write("wire_keys", "bad-cut", b.b, b.len - 1);
        n = b.len;
        seed_key(&b, 'x', "a", NULL);
        seed_write("wire_keys", "bad-namespace", b.b, b.len);
        b.len = n;
        seed_key(&b, KVS_NS_DATA, "wire/", NULL);
        seed_write("wire_keys", "bad-path", b.b, b.len);
        b.len = 1;
        b.b[0] = 1;
        seed_key(&b, KVS_NS_DATA, "wire/one", &v);
        seed_write("wire_keys", "bad-version-cut", b.b, b.len - 1);
    }

    /* codec/: frames of the store's compressor and of zstd's corners */

    seed_write("codec", "order", frame, flen);

    n = kvs_codec_compress(frame, sizeof(frame), (const uint8_t *) order,
                           olen, KVS_CODEC_LEVEL_MAX);
    seed_write("codec", "order-level-19", frame, n);

    memset(rle, '7', sizeof(rle));
    n = kvs_codec_compress(frame, sizeof(frame), rle, sizeof(rle), 3);
    seed_write("codec", "rle", frame, n);

    n = ZSTD_compress(frame, sizeof(frame), "", 0, 3);
    seed_write("codec", "empty", frame, n);

    cctx = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
    n = ZSTD_compress2(cctx, frame, sizeof(frame), PROFILE,
                       sizeof(PROFILE) - 1);
    seed_write("codec", "checksum", frame, n);
    frame[n - 1] ^= 0x01;
    seed_write("codec", "bad-checksum", frame, n);

    /* streamed: the frame does not say how much it holds */
    ZSTD_CCtx_reset(cctx, ZSTD_reset_session_and_parameters);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
    n = ZSTD_compress2(cctx, frame, sizeof(frame), order, olen);
    seed_write("codec", "no-content-size", frame, n);
    ZSTD_freeCCtx(cctx);

    flen = kvs_codec_compress(frame, sizeof(frame), (const uint8_t *) order,
                              olen, 3);
    memcpy(frame + flen, frame, flen);
    seed_write("codec", "two-frames", frame, 2 * flen);
    seed_write("codec", "bad-cut", frame, flen - 3);

    /* backup/: the last backup's record, ok and failed, then cut short */

    seed_backup();

    /* sign/: requests the agent sends, at the edges of the skew, then
     * near misses */

    b.len = 0;
    seed_entry(&b, KVS_NS_DATA, "users/john/profile", &live);

    seed_sign("apply", "POST", "/_cluster/apply", NOW, b.b, b.len, 0);
    seed_sign("gossip", "POST", "/members/gossip", NOW - 59999, GOSSIP,
              sizeof(GOSSIP) - 1, 0);
    seed_sign("ranges", "GET", "/_cluster/ranges", NOW + 60000, "", 0, 0);
    seed_sign("keys", "GET", "/_cluster/keys?bucket=4097", NOW, "", 0, 0);
    seed_sign("bad-old", "POST", "/members/leave", NOW - 60001,
              LEAVE, sizeof(LEAVE) - 1, 0);
    seed_sign("bad-upper", "POST", "/_cluster/apply", NOW, b.b, b.len, 1);

    /* jwt/: tokens of both keys, then expired, and headers one way off */

    if (kvs_jwt_key_init(&key1, (const uint8_t *) JWT_KEY1,
                         sizeof(JWT_KEY1) - 1) != 0
        || kvs_jwt_key_init(&key2, (const uint8_t *) JWT_KEY2,
                            sizeof(JWT_KEY2) - 1) != 0)
    {
        fprintf(stderr, "seeds: kvs_jwt_key_init() failed\n");
        return 1;
    }

    seed_jwt("key1", &key1, 3600, NULL);
    seed_jwt("key2", &key2, 1, NULL);
    seed_jwt("bad-expired", &key1, 0, NULL);
    seed_jwt("bad-alg-none", &key1, 3600,
             "{\"alg\":\"none\",\"typ\":\"JWT\"}");
    seed_jwt("bad-crit", &key1, 3600,
             "{\"alg\":\"HS256\",\"crit\":[\"exp\"],\"kid\":\"x\"}");

    /* password/: the defaults, small parameters the target verifies, the
     * largest in bounds */

    seed_password("default", &kvs_scrypt_default, 16, 32);

    p.ln = 4;
    p.r = 1;
    p.p = 1;
    seed_password("small", &p, 16, 32);
    seed_password("small-64", &p, 64, 64);

    p.ln = 6;
    p.r = 2;
    p.p = 4;
    seed_password("small-r-p", &p, 16, 32);

    p.ln = 20;
    p.r = 2;
    p.p = 16;
    seed_password("largest", &p, 16, 32);

    return 0;
}
