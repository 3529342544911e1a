/*
 * Unit tests of kvs_wire.c: each form is written byte for byte as the
 * protocol says (peers of older builds read it) and reads back as it was
 * written; batches and key lists cut anywhere or lying about their lengths
 * are refused with a sentence, never read past their end; every kind of
 * bad record a peer may send is refused, every state a record can be in
 * is taken; and the store refuses a bad peer record without storing
 * anything.
 */

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvs_codec.h"
#include "kvs_record.h"
#include "kvs_store.h"
#include "kvs_wire.h"
#include "kvs_test.h"

#define NOW  1800000000000ULL


/* the framing as the protocol describes it, written by hand: the oracle
 * the encoder is held to */

static size_t
kvs_test_entry(uint8_t *out, char ns, const char *path, const uint8_t *rec,
    size_t rlen)
{
    size_t  plen;

    plen = strlen(path);
    out[0] = (uint8_t) ns;
    kvs_put_u16(out + 1, (uint16_t) plen);
    memcpy(out + 3, path, plen);
    kvs_put_u32(out + 3 + plen, (uint32_t) rlen);
    memcpy(out + 7 + plen, rec, rlen);

    return 7 + plen + rlen;
}


/* a live record of JSON, its header as a local write makes it */

static size_t
kvs_test_live(uint8_t *out, const char *json, kvs_record_hdr_t *hdr)
{
    memset(hdr, 0, sizeof(kvs_record_hdr_t));
    hdr->version.timestamp = NOW;
    memset(hdr->version.uuid, 0x5a, KVS_UUID_LEN);
    hdr->permissions = KVS_DEFAULT_PERMISSIONS;
    hdr->created_at = NOW;
    hdr->value_len = (uint32_t) strlen(json);
    hdr->raw_len = hdr->value_len;

    kvs_record_encode(hdr, out);
    memcpy(out + KVS_RECORD_HDR_SIZE, json, hdr->value_len);

    return KVS_RECORD_HDR_SIZE + hdr->value_len;
}


static const char *
kvs_test_check(const char *path, const uint8_t *rec, size_t len)
{
    kvs_record_hdr_t  hdr;
    kvs_wire_entry_t  e;

    e.ns = KVS_NS_DATA;
    e.path = path;
    e.path_len = strlen(path);
    e.record = rec;
    e.record_len = len;

    return kvs_wire_check(&e, NOW, &hdr);
}


/* a header changed by fn, then checked */

static const char *
kvs_test_bad(const char *json, void (*fn)(kvs_record_hdr_t *h))
{
    size_t            len;
    uint8_t           rec[256];
    kvs_record_hdr_t  hdr;

    len = kvs_test_live(rec, json, &hdr);
    fn(&hdr);
    kvs_record_encode(&hdr, rec);

    return kvs_test_check("k", rec, len);
}


static void raw_short(kvs_record_hdr_t *h) { h->raw_len = 1; }
static void raw_long(kvs_record_hdr_t *h) { h->raw_len = 1000; }
static void raw_max(kvs_record_hdr_t *h) { h->raw_len = 0xFFFFFFFF; }
static void flags_odd(kvs_record_hdr_t *h) { h->flags = 0x40; }
static void tomb_value(kvs_record_hdr_t *h) { h->flags = KVS_FLAG_TOMBSTONE; }
static void swept_value(kvs_record_hdr_t *h)
{
    h->flags = KVS_FLAG_EXPIRED;
    h->expires_at = NOW;
}
static void ts_wrap(kvs_record_hdr_t *h) { h->version.timestamp = UINT64_MAX; }
static void ts_ahead(kvs_record_hdr_t *h)
{
    h->version.timestamp = NOW + KVS_WIRE_AHEAD_MAX + 1;
}
static void ts_edge(kvs_record_hdr_t *h)
{
    h->version.timestamp = NOW + KVS_WIRE_AHEAD_MAX;
}
static void perms_wide(kvs_record_hdr_t *h) { h->permissions = 0x1000; }
static void compressed_raw(kvs_record_hdr_t *h)
{
    h->flags = KVS_FLAG_COMPRESSED;
}


static void
kvs_test_records(void)
{
    size_t            len, n;
    uint8_t           rec[4096], frame[4096];
    const char       *why;
    kvs_record_hdr_t  hdr;
    char              json[1024];

    len = kvs_test_live(rec, "{\"a\":[1,2,3]}", &hdr);
    kvs_test_str(kvs_test_check("k", rec, len), NULL,
                 "check: a live record as a local write makes it is taken");

    CHECK(kvs_test_bad("\"12345\"", raw_short) != NULL,
          "check: raw_len 1 under a longer raw value is refused");
    CHECK(kvs_test_bad("1", raw_long) != NULL,
          "check: raw_len past a raw value is refused");
    CHECK(kvs_test_bad("1", raw_max) != NULL,
          "check: raw_len 0xFFFFFFFF is refused");
    why = kvs_test_bad("1", flags_odd);
    CHECK(why != NULL && strstr(why, "flags") != NULL,
          "check: unknown flags are refused");
    why = kvs_test_bad("1", tomb_value);
    CHECK(why != NULL && strstr(why, "tombstone") != NULL,
          "check: a tombstone with a value is refused");
    why = kvs_test_bad("1", swept_value);
    CHECK(why != NULL && strstr(why, "swept") != NULL,
          "check: a swept record with a value is refused");
    why = kvs_test_bad("1", ts_wrap);
    CHECK(why != NULL && strstr(why, "ahead") != NULL,
          "check: a timestamp of 2^64-1 is refused");
    CHECK(kvs_test_bad("1", ts_ahead) != NULL,
          "check: a timestamp just over an hour ahead is refused");
    CHECK(kvs_test_bad("1", ts_edge) == NULL,
          "check: a timestamp exactly an hour ahead is taken");
    CHECK(kvs_test_bad("1", perms_wide) != NULL,
          "check: permissions past 12 bits are refused");
    why = kvs_test_bad("{\"a\":1}", compressed_raw);
    CHECK(why != NULL && strstr(why, "zstd") != NULL,
          "check: a value marked compressed that is no frame is refused");

    len = kvs_test_live(rec, "{\"a\":", &hdr);
    why = kvs_test_check("k", rec, len);
    CHECK(why != NULL && strstr(why, "JSON") != NULL,
          "check: a raw value that is not JSON is refused");

    len = kvs_test_live(rec, "", &hdr);
    CHECK(kvs_test_check("k", rec, len) != NULL,
          "check: an empty live value is refused");

    /* tombstone and swept records as the store makes them */

    memset(&hdr, 0, sizeof(hdr));
    hdr.version.timestamp = NOW;
    hdr.flags = KVS_FLAG_TOMBSTONE;
    kvs_record_encode(&hdr, rec);
    CHECK(kvs_test_check("k", rec, KVS_RECORD_HDR_SIZE) == NULL,
          "check: a tombstone is taken");

    hdr.flags = KVS_FLAG_EXPIRED;
    kvs_record_encode(&hdr, rec);
    CHECK(kvs_test_check("k", rec, KVS_RECORD_HDR_SIZE) != NULL,
          "check: a swept record that never expired is refused");
    hdr.expires_at = NOW - 5;
    kvs_record_encode(&hdr, rec);
    CHECK(kvs_test_check("k", rec, KVS_RECORD_HDR_SIZE) == NULL,
          "check: a swept record is taken");

    hdr.flags = KVS_FLAG_EXPIRED|KVS_FLAG_TOMBSTONE;
    kvs_record_encode(&hdr, rec);
    CHECK(kvs_test_check("k", rec, KVS_RECORD_HDR_SIZE) != NULL,
          "check: a tombstone marked swept is refused");

    /* compressed: the frame must declare raw_len */

    memset(json, ' ', sizeof(json));
    json[0] = '[';
    json[sizeof(json) - 1] = ']';
    n = kvs_codec_compress(frame, sizeof(frame), (uint8_t *) json,
                           sizeof(json), 3);
    CHECK(n > 0, "check: a compressible value compresses");

    memset(&hdr, 0, sizeof(hdr));
    hdr.version.timestamp = NOW;
    hdr.flags = KVS_FLAG_COMPRESSED;
    hdr.value_len = (uint32_t) n;
    hdr.raw_len = sizeof(json);
    kvs_record_encode(&hdr, rec);
    memcpy(rec + KVS_RECORD_HDR_SIZE, frame, n);
    CHECK(kvs_test_check("k", rec, KVS_RECORD_HDR_SIZE + n) == NULL,
          "check: a compressed record is taken");

    hdr.raw_len = sizeof(json) + 1;
    kvs_record_encode(&hdr, rec);
    CHECK(kvs_test_check("k", rec, KVS_RECORD_HDR_SIZE + n) != NULL,
          "check: a frame that declares another length is refused");

    hdr.raw_len = 0;
    kvs_record_encode(&hdr, rec);
    CHECK(kvs_test_check("k", rec, KVS_RECORD_HDR_SIZE + n) != NULL,
          "check: a compressed record of no length is refused");

    hdr.raw_len = KVS_WIRE_VALUE_MAX + 1u;
    kvs_record_encode(&hdr, rec);
    why = kvs_test_check("k", rec, KVS_RECORD_HDR_SIZE + n);
    CHECK(why != NULL && strstr(why, "limit") != NULL,
          "check: a value over the protocol's limit is refused");

    /* the path of a long key travels in the record */

    len = kvs_test_live(rec, "1", &hdr);
    hdr.key_len = 3;
    hdr.value_len = 1;
    kvs_record_encode(&hdr, rec);
    memcpy(rec + KVS_RECORD_HDR_SIZE, "abc1", 4);
    CHECK(kvs_test_check("abc", rec, KVS_RECORD_HDR_SIZE + 4) == NULL,
          "check: a record carrying its own path is taken");
    CHECK(kvs_test_check("abd", rec, KVS_RECORD_HDR_SIZE + 4) != NULL,
          "check: a record carrying another key's path is refused");
    CHECK(kvs_test_check("abcd", rec, KVS_RECORD_HDR_SIZE + 4) != NULL,
          "check: a record carrying a path of another length is refused");

    /* cut short anywhere */

    len = kvs_test_live(rec, "{\"a\":[1,2,3]}", &hdr);
    for (n = 0; n < len; n++) {
        if (kvs_test_check("k", rec, n) == NULL) {
            break;
        }
    }
    CHECK(n == len, "check: a record cut at any length is refused");

    rec[0] = 2;
    CHECK(kvs_test_check("k", rec, len) != NULL,
          "check: a record of an unknown format is refused");
}


/* every prefix of bytes[0..len) that is not a whole run of entries, in a
 * copy of just that length so that a read past its end is caught by ASan,
 * must be refused with a sentence; whole is where the first entry ends */

static int
kvs_test_cuts(const uint8_t *bytes, size_t len, size_t whole,
    int (*next)(const uint8_t **p, const uint8_t *end, kvs_wire_entry_t *e,
                const char **why))
{
    int                rc;
    size_t             cut;
    uint8_t           *copy;
    const char        *why;
    const uint8_t     *p;
    kvs_wire_entry_t   e;

    for (cut = 1; cut < len; cut++) {
        copy = malloc(cut);
        memcpy(copy, bytes, cut);
        p = copy;
        why = NULL;

        while ((rc = next(&p, copy + cut, &e, &why)) == 1) {
            /* void */
        }

        free(copy);

        if (cut == whole) {
            if (rc != 0) {
                return 0;
            }

            continue;
        }

        if (rc != -1 || why == NULL || strstr(why, "cut short") == NULL) {
            return 0;
        }
    }

    return 1;
}


static void
kvs_test_batches(void)
{
    int               rc;
    size_t            len, first, rlen, n;
    uint8_t           batch[1024], rec[256];
    const char       *why;
    const uint8_t    *p;
    kvs_record_hdr_t  hdr;
    kvs_wire_entry_t  e;

    rlen = kvs_test_live(rec, "[true]", &hdr);
    first = kvs_test_entry(batch, KVS_NS_DATA, "a/b", rec, rlen);
    len = first + kvs_test_entry(batch + first, KVS_NS_USER, "c", rec, rlen);

    p = batch;
    n = 0;
    while ((rc = kvs_wire_next(&p, batch + len, &e, &why)) == 1) {
        n++;
    }
    CHECK(rc == 0 && n == 2 && p == batch + len,
          "next: a batch of two entries reads as two, then ends");

    p = batch;
    kvs_wire_next(&p, batch + len, &e, &why);
    CHECK(e.ns == KVS_NS_DATA && e.path_len == 3
          && memcmp(e.path, "a/b", 3) == 0 && e.record_len == rlen
          && memcmp(e.record, rec, rlen) == 0,
          "next: with its namespace, path and record");

    CHECK(kvs_test_cuts(batch, len, first, kvs_wire_next),
          "next: a batch cut anywhere inside an entry is refused as cut "
          "short");

    batch[0] = 'x';
    p = batch;
    CHECK(kvs_wire_next(&p, batch + len, &e, &why) == -1
          && strstr(why, "namespace") != NULL,
          "next: an unknown namespace is refused");

    batch[0] = KVS_NS_DATA;
    batch[3] = '/';
    p = batch;
    CHECK(kvs_wire_next(&p, batch + len, &e, &why) == -1,
          "next: a path that is no valid key is refused");

    kvs_test_entry(batch, KVS_NS_DATA, "a/b", rec, rlen);
    kvs_put_u32(batch + 6, 0xFFFFFFFF);
    p = batch;
    CHECK(kvs_wire_next(&p, batch + len, &e, &why) == -1,
          "next: a record length past the batch is refused");

    kvs_put_u16(batch + 1, 0xFFFF);
    p = batch;
    CHECK(kvs_wire_next(&p, batch + len, &e, &why) == -1,
          "next: a path length past the batch is refused");
}


static void
kvs_test_encode(void)
{
    size_t             len, rlen, n;
    uint8_t            rec[256], want[KVS_KEY_MAX], got[KVS_KEY_MAX + 64];
    uint8_t           *end;
    const char        *why;
    const uint8_t     *p;
    kvs_record_hdr_t   hdr;
    kvs_wire_entry_t   e, back;

    rlen = kvs_test_live(rec, "{\"x\":1}", &hdr);

    memset(&e, 0, sizeof(e));
    e.ns = KVS_NS_GROUP;
    e.path = "g/admins";
    e.path_len = 8;
    e.record = rec;
    e.record_len = rlen;

    len = kvs_test_entry(want, KVS_NS_GROUP, "g/admins", rec, rlen);
    memset(got, 0xee, sizeof(got));
    end = kvs_wire_put(got, &e);
    CHECK(kvs_wire_size(&e) == len && (size_t) (end - got) == len
          && memcmp(got, want, len) == 0 && got[len] == 0xee,
          "put: a record entry is the framing byte for byte, its size "
          "exactly");

    p = got;
    CHECK(kvs_wire_next(&p, got + len, &back, &why) == 1
          && p == got + len && back.ns == KVS_NS_GROUP
          && back.path_len == 8 && memcmp(back.path, "g/admins", 8) == 0
          && back.record_len == rlen && memcmp(back.record, rec, rlen) == 0,
          "put: a record entry reads back as written");

    /* the key form: what /_cluster/fetch asks for */

    want[0] = KVS_NS_GROUP;
    want[1] = 8;
    want[2] = 0;
    memcpy(want + 3, "g/admins", 8);
    memset(got, 0xee, sizeof(got));
    end = kvs_wire_key_put(got, &e);
    CHECK(kvs_wire_key_size(&e) == 11 && end == got + 11
          && memcmp(got, want, 11) == 0 && got[11] == 0xee,
          "key put: namespace, length (little-endian), path");

    p = got;
    CHECK(kvs_wire_key_next(&p, got + 11, &back, &why) == 1
          && p == got + 11 && back.ns == KVS_NS_GROUP
          && back.path_len == 8 && memcmp(back.path, "g/admins", 8) == 0
          && kvs_wire_key_next(&p, got + 11, &back, &why) == 0,
          "key next: reads back as written, then ends");

    /* the version form: a key of a /_cluster/keys answer */

    e.version.timestamp = 0x0102030405060708ULL;
    memset(e.version.uuid, 0xab, KVS_UUID_LEN);
    e.flags = KVS_FLAG_TOMBSTONE;

    memcpy(want + 11, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    memset(want + 19, 0xab, KVS_UUID_LEN);
    want[19 + KVS_UUID_LEN] = KVS_FLAG_TOMBSTONE;
    n = 20 + KVS_UUID_LEN;

    memset(got, 0xee, sizeof(got));
    end = kvs_wire_version_put(got, &e);
    CHECK(kvs_wire_version_size(&e) == n && end == got + n
          && memcmp(got, want, n) == 0 && got[n] == 0xee,
          "version put: the key, the timestamp big-endian, the uuid, the "
          "flags");

    memset(&back, 0, sizeof(back));
    p = got;
    CHECK(kvs_wire_version_next(&p, got + n, &back, &why) == 1
          && p == got + n && back.path_len == 8
          && memcmp(back.path, "g/admins", 8) == 0
          && kvs_version_cmp(&back.version, &e.version) == 0
          && back.flags == KVS_FLAG_TOMBSTONE,
          "version next: reads back as written");

    /* a key of the longest length a path may have */

    memset(want, 'k', KVS_KEY_MAX);
    e.path = (const char *) want;
    e.path_len = KVS_KEY_MAX;
    n = kvs_wire_key_put(got, &e) - got;
    p = got;
    CHECK(kvs_wire_key_next(&p, got + n, &back, &why) == 1
          && back.path_len == KVS_KEY_MAX && got[1] == 0x00 && got[2] == 0x04,
          "key put: a path of KVS_KEY_MAX bytes round-trips");
}


static void
kvs_test_keys(void)
{
    size_t             len, first;
    uint8_t            buf[256], *q;
    uint16_t           bucket;
    const char        *why;
    const uint8_t     *p;
    kvs_wire_entry_t   e, back;

    memset(&e, 0, sizeof(e));
    e.ns = KVS_NS_DATA;
    e.path = "a/b";
    e.path_len = 3;
    e.version.timestamp = NOW;

    q = kvs_wire_key_put(buf, &e);
    first = q - buf;
    e.ns = KVS_NS_TOKEN;
    e.path = "tok";
    len = kvs_wire_key_put(q, &e) - buf;

    CHECK(kvs_test_cuts(buf, len, first, kvs_wire_key_next),
          "key next: a list of keys cut anywhere inside a key is refused "
          "as cut short");

    q = kvs_wire_version_put(buf, &e);
    first = q - buf;
    len = kvs_wire_version_put(q, &e) - buf;

    CHECK(kvs_test_cuts(buf, len, first, kvs_wire_version_next),
          "version next: an answer cut anywhere inside a key is refused as "
          "cut short");

    /* hostile lengths: a path length past the end, the largest there is */

    kvs_put_u16(buf + 1, 0xFFFF);
    p = buf;
    CHECK(kvs_wire_version_next(&p, buf + len, &back, &why) == -1
          && p == buf,
          "version next: a path length of 65535 past the end is refused, "
          "nothing passed");
    p = buf;
    CHECK(kvs_wire_key_next(&p, buf + len, &back, &why) == -1,
          "key next: a path length past the end is refused");

    /* a path length that leaves no room for the version */

    len = kvs_wire_version_put(buf, &e) - buf;
    kvs_put_u16(buf + 1, (uint16_t) (len - 3));
    p = buf;
    CHECK(kvs_wire_version_next(&p, buf + len, &back, &why) == -1
          && strstr(why, "cut short") != NULL,
          "version next: a path that swallows the version is cut short");

    /* what the key says, checked once here for every exchange */

    e.ns = 'x';
    len = kvs_wire_key_put(buf, &e) - buf;
    p = buf;
    CHECK(kvs_wire_key_next(&p, buf + len, &back, &why) == -1
          && strstr(why, "namespace") != NULL,
          "key next: an unknown namespace is refused");

    len = kvs_wire_version_put(buf, &e) - buf;
    p = buf;
    CHECK(kvs_wire_version_next(&p, buf + len, &back, &why) == -1
          && strstr(why, "namespace") != NULL,
          "version next: an unknown namespace is refused");

    e.ns = KVS_NS_USER;
    e.path = "a//b";
    e.path_len = 4;
    len = kvs_wire_key_put(buf, &e) - buf;
    p = buf;
    CHECK(kvs_wire_key_next(&p, buf + len, &back, &why) == -1
          && why != NULL && strcmp(why, kvs_key_check("a//b", 4)) == 0,
          "key next: a path that is no valid key is refused with the key "
          "check's sentence");

    len = kvs_wire_version_put(buf, &e) - buf;
    p = buf;
    CHECK(kvs_wire_version_next(&p, buf + len, &back, &why) == -1,
          "version next: a path that is no valid key is refused");

    e.path_len = 0;
    len = kvs_wire_key_put(buf, &e) - buf;
    p = buf;
    CHECK(kvs_wire_key_next(&p, buf + len, &back, &why) == -1,
          "key next: an empty path is refused");

    /* buckets */

    kvs_wire_bucket_put(buf, 0xA1B2);
    CHECK(buf[0] == 0xA1 && buf[1] == 0xB2
          && kvs_wire_bucket_get(buf, KVS_WIRE_BUCKET_LEN, &bucket) == 0
          && bucket == 0xA1B2,
          "bucket: two bytes, big-endian, read back");
    CHECK(kvs_wire_bucket_get(buf, 1, &bucket) == -1
          && kvs_wire_bucket_get(buf, 3, &bucket) == -1,
          "bucket: any other length is refused");
}


/* the store refuses a bad peer record and stores nothing of it */

static void
kvs_test_store(void)
{
    char               dir[] = "/tmp/kvs_wire_test.XXXXXX";
    char               err[KVS_STORE_ERRLEN], cmd[PATH_MAX];
    size_t             len;
    uint8_t            rec[256];
    kvs_store_t       *st;
    kvs_write_t        w[2];
    const uint8_t     *value;
    kvs_record_hdr_t   hdr;

    if (mkdtemp(dir) == NULL
        || kvs_store_open(&st, dir, 16 << 20, err, sizeof(err)) != KVS_OK)
    {
        CHECK(0, "store: a store opens");
        return;
    }

    len = kvs_test_live(rec, "\"12345\"", &hdr);
    hdr.raw_len = 1;
    kvs_record_encode(&hdr, rec);

    memset(w, 0, sizeof(w));
    w[0].op = KVS_WRITE_REMOTE;
    w[0].ns = KVS_NS_DATA;
    w[0].path = "bad";
    w[0].path_len = 3;
    w[0].value = rec;
    w[0].value_len = len;
    w[1] = w[0];
    w[1].path = "good";
    w[1].path_len = 4;
    w[1].value = malloc(len);
    kvs_test_live((uint8_t *) w[1].value, "\"12345\"", &hdr);

    CHECK(kvs_store_write(st, w, 2, NOW, err, sizeof(err)) == KVS_OK,
          "store: a batch with a bad record commits");
    CHECK(w[0].rc == KVS_INVALID && w[0].why != NULL
          && strstr(w[0].why, "lengths disagree") != NULL,
          "store: the bad record is invalid, saying why");
    CHECK(w[1].rc == KVS_OK, "store: the good one of the batch is stored");

    kvs_store_read_begin(st, err, sizeof(err));
    CHECK(kvs_store_get(st, KVS_NS_DATA, "bad", 3, &hdr, &value)
          == KVS_NOT_FOUND,
          "store: nothing of the bad record is stored");
    CHECK(kvs_store_get(st, KVS_NS_DATA, "good", 4, &hdr, &value) == KVS_OK
          && kvs_record_check(&hdr) == NULL,
          "store: the good one reads back whole");
    kvs_store_read_end(st);

    free((void *) w[1].value);
    kvs_store_close(st);

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) {
        printf("# could not remove %s\n", dir);
    }
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_records),
    KVS_TEST_CASE(kvs_test_batches),
    KVS_TEST_CASE(kvs_test_encode),
    KVS_TEST_CASE(kvs_test_keys),
    KVS_TEST_CASE(kvs_test_store),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    NULL, NULL, kvs_test_cases
};
