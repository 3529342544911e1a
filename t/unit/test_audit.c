/*
 * The audit log: entries encoded and parsed back, hostile and truncated
 * bytes refused, the verifier's verdicts on a chain edited, cut, extended,
 * reordered or forged, and checked against witnesses; then the store:
 * an entry in the transaction of each write that commits, none for one
 * that does not, and a verification of what it wrote.
 */

#define _XOPEN_SOURCE 700

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lmdb.h>

#include "kvs_audit.h"
#include "kvs_json.h"
#include "kvs_store.h"
#include "kvs_test.h"


#define KVS_TEST_CHAIN  5
#define KVS_TEST_MAP    (16 * 1024 * 1024)

static const uint8_t  kvs_test_secret[] =
    "0123456789abcdef0123456789abcdef";

static char  kvs_test_base[] = "/tmp/kvs_audit_test.XXXXXX";

static kvs_hmac_key_t  *kvs_test_mac;


/* a chain of KVS_TEST_CHAIN entries in memory, as the store keeps them */
typedef struct {
    char      key[KVS_TEST_CHAIN][KVS_AUDIT_KEY_LEN];
    uint8_t   entry[KVS_TEST_CHAIN][KVS_AUDIT_ENTRY_MAX];
    size_t    len[KVS_TEST_CHAIN];
    uint64_t  seq[KVS_TEST_CHAIN];
    kvs_audit_head_t  heads[KVS_TEST_CHAIN];
} kvs_test_chain_t;

static kvs_test_chain_t  kvs_test_chain;


static void
kvs_test_event(kvs_audit_event_t *ev, const char *user, const char *object)
{
    memset(ev, 0, sizeof(kvs_audit_event_t));

    ev->kind = KVS_AUDIT_PUT;
    ev->user = user;
    ev->user_len = user ? strlen(user) : 0;
    ev->client = "127.0.0.1";
    ev->client_len = 9;
    ev->method = "PUT";
    ev->method_len = 3;
    ev->object = object;
    ev->object_len = strlen(object);
    ev->status = 200;
}


static void
kvs_test_build(kvs_test_chain_t *c)
{
    char               object[32];
    size_t             i;
    kvs_version_t      v;
    kvs_audit_head_t   head;
    kvs_audit_event_t  ev;

    memset(&head, 0, sizeof(head));

    for (i = 0; i < KVS_TEST_CHAIN; i++) {
        snprintf(object, sizeof(object), "/kv/k%zu", i);
        kvs_test_event(&ev, i % 2 ? "bob" : NULL, object);

        v.timestamp = 1795618467000ULL + i;
        memset(v.uuid, (int) i, KVS_UUID_LEN);

        kvs_audit_key(c->key[i], v.timestamp, i + 1);
        c->len[i] = kvs_audit_encode(&ev, v.timestamp, c->key[i], "n1", 2,
                                     &v, kvs_test_mac, &head,
                                     c->entry[i]);
        c->seq[i] = i + 1;
        c->heads[i] = head;
    }
}


/* verifies n of c's entries as a store would hold them, in key order:
 * the i-th under key kidx[i], its bytes those of entry eidx[i] (eidx
 * NULL: its own) */

static int
kvs_test_verify_as(kvs_test_chain_t *c, const size_t *kidx,
    const size_t *eidx, size_t n, kvs_audit_witness_t *w, size_t nw,
    kvs_audit_verify_t *v)
{
    size_t  i, e;

    kvs_audit_verify_init(v, kvs_test_mac, w, nw);

    for (i = 0; i < n; i++) {
        e = eidx ? eidx[i] : kidx[i];

        if (kvs_audit_verify_step(v, c->key[kidx[i]], KVS_AUDIT_KEY_LEN,
                                  c->entry[e], c->len[e])
            != 0)
        {
            return -1;
        }
    }

    return kvs_audit_verify_end(v);
}


static int
kvs_test_verify(kvs_test_chain_t *c, const size_t *idx, size_t n,
    kvs_audit_witness_t *w, size_t nw, kvs_audit_verify_t *v)
{
    return kvs_test_verify_as(c, idx, NULL, n, w, nw, v);
}


static void
kvs_test_names(kvs_audit_verify_t *v, const char *key, const char *why,
    const char *desc)
{
    kvs_test_str(v->bad, key, desc);

    CHECK(strstr(v->why, why) != NULL, desc);
    if (strstr(v->why, why) == NULL) {
        printf("#   why: %s\n#   want: ...%s...\n", v->why, why);
    }
}


static void
kvs_test_encode(void)
{
    char               want[2048], hex[KVS_AUDIT_HASH_HEX + 1];
    uint8_t            out[KVS_AUDIT_ENTRY_MAX];
    size_t             len;
    kvs_audit_head_t   head;
    kvs_audit_entry_t  e;
    kvs_audit_event_t  ev;
    const char        *key = "log:1795618467095:00000000-0000-0000-0000-"
                             "000000000000";

    memset(&head, 0, sizeof(head));
    kvs_test_event(&ev, "a\"b\\c\x01", "/kv/x");
    ev.kind = KVS_AUDIT_LOGIN_FAILED;
    ev.method = "POST";
    ev.method_len = 4;
    ev.status = 401;
    ev.count = 7;

    len = kvs_audit_encode(&ev, 1795618467095ULL, key, "n1", 2, NULL,
                           kvs_test_mac, &head, out);

    memset(hex, '0', KVS_AUDIT_HASH_HEX);
    hex[KVS_AUDIT_HASH_HEX] = '\0';

    snprintf(want, sizeof(want),
             "{\"seq\":1,\"ts\":1795618467095,\"key\":\"%s\",\"node\":"
             "\"n1\",\"kind\":\"login_failed\",\"user\":"
             "\"a\\\"b\\\\c\\u0001\",\"client\":\"127.0.0.1\",\"method\":"
             "\"POST\",\"object\":\"/kv/x\",\"status\":401,\"version\":"
             "null,\"count\":7,\"prev\":\"%s\",\"hmac\":\"", key, hex);

    CHECK(len > strlen(want) && memcmp(out, want, strlen(want)) == 0,
          "encode: the canonical form, escaped, user and version null");
    if (len <= strlen(want) || memcmp(out, want, strlen(want)) != 0) {
        printf("#   got: %.*s\n", (int) len, out);
    }

    CHECK(head.seq == 1, "encode: the head moves to seq 1");

    CHECK(kvs_audit_parse(out, len, &e) == NULL, "parse: the entry reads");
    CHECK(e.seq == 1 && e.ts == 1795618467095ULL && e.count == 7
          && e.status == 401 && !e.has_version && e.user_len == 13
          && e.key_len == KVS_AUDIT_KEY_LEN
          && memcmp(e.kind, "login_failed", e.kind_len) == 0,
          "parse: its fields");
    CHECK(e.signed_len == len - (9 + KVS_AUDIT_HASH_HEX + 2),
          "parse: the hmac covers all before ,\"hmac\"");
}


/* what a client sends is no text: entries must be valid JSON anyway */

static void
kvs_test_utf8(void)
{
    char               obj[1 + 2 * 600 + 1];
    uint8_t            out[KVS_AUDIT_ENTRY_MAX];
    size_t             i, len, at;
    const char        *why, *o;
    kvs_audit_head_t   head;
    kvs_audit_entry_t  e;
    kvs_audit_event_t  ev;
    const char        *key = "log:1795618467095:00000000-0000-0000-0000-"
                             "000000000000";

    /* "/" and 600 e-acutes: byte 1100 is the second of one */
    obj[0] = '/';
    for (i = 0; i < 600; i++) {
        obj[1 + 2 * i] = (char) 0xc3;
        obj[2 + 2 * i] = (char) 0xa9;
    }
    obj[sizeof(obj) - 1] = '\0';

    CHECK(kvs_audit_cut(obj, 1201, 1100) == 1099,
          "cut: before the character that max would split");
    CHECK(kvs_audit_cut(obj, 1201, 1101) == 1101,
          "cut: at max between two characters");
    CHECK(kvs_audit_cut("abc", 3, 10) == 3 && kvs_audit_cut("abc", 3, 2) == 2,
          "cut: ASCII at max");
    CHECK(kvs_audit_cut("\x80\x80\x80\x80\x80", 5, 4) == 4,
          "cut: no character to go back to, at max");

    memset(&head, 0, sizeof(head));
    kvs_test_event(&ev, "bob", obj);
    ev.object_len = 1201;
    len = kvs_audit_encode(&ev, 1795618467095ULL, key, "n1", 2, NULL,
                           kvs_test_mac, &head, out);
    CHECK(len > 0 && kvs_json_check(out, len, &at, &why) == 0,
          "encode: a path cut at 1100 bytes inside a character is valid "
          "JSON");
    CHECK(kvs_audit_parse(out, len, &e) == NULL && e.object_len == 1099,
          "encode: cut before that character");

    memset(&head, 0, sizeof(head));
    kvs_test_event(&ev, "bob\xc3", "/api/users/\xff\"x\x01\xc3\xa9");
    len = kvs_audit_encode(&ev, 1795618467095ULL, key, "n1", 2, NULL,
                           kvs_test_mac, &head, out);
    CHECK(len > 0 && kvs_json_check(out, len, &at, &why) == 0,
          "encode: bytes of no UTF-8 character make valid JSON");
    o = strstr((char *) out, "\"object\":\"");
    CHECK(o != NULL
          && strncmp(o + 10, "/api/users/\xef\xbf\xbd\\\"x\\u0001\xc3\xa9\"",
                     strlen("/api/users/\xef\xbf\xbd\\\"x\\u0001\xc3\xa9\""))
             == 0,
          "encode: each such byte U+FFFD, a character kept, escapes as "
          "before");
    CHECK(strstr((char *) out, "\"user\":\"bob\xef\xbf\xbd\"") != NULL,
          "encode: a user name's cut character too");
    CHECK(kvs_audit_parse(out, len, &e) == NULL, "parse: the entry reads");
}


static void
kvs_test_hostile(void)
{
    char               buf[KVS_AUDIT_ENTRY_MAX + 64];
    size_t             i, len, bad;
    kvs_audit_entry_t  e;
    kvs_test_chain_t  *c = &kvs_test_chain;
    static const char *cases[][2] = {
        { "{\"seq\":01,", "a leading zero" },
        { "{\"seq\":0,", "seq 0" },
        { "{\"seq\":99999999999999999999,", "a seq past 64 bits" },
        { "{\"seq\":-1,", "a sign" },
        { "{\"seq\": 1,", "a blank" },
        { "", "no bytes" },
        { "null", "null" },
    };

    len = c->len[1];

    /* every cut of a good entry */
    bad = 0;

    for (i = 0; i < len; i++) {
        if (kvs_audit_parse(c->entry[1], i, &e) == NULL) {
            bad++;
        }
    }

    CHECK(bad == 0, "parse: every truncation of an entry is refused");

    memcpy(buf, c->entry[1], len);
    buf[len] = ' ';
    CHECK(kvs_audit_parse((uint8_t *) buf, len + 1, &e) != NULL,
          "parse: a byte after the entry is refused");

    /* upper-case hex is another spelling of one hash */
    memcpy(buf, c->entry[1], len);
    for (i = len - 3; buf[i] != '"'; i--) {
        if (buf[i] >= 'a' && buf[i] <= 'f') {
            buf[i] -= 'a' - 'A';
            break;
        }
    }
    CHECK(kvs_audit_parse((uint8_t *) buf, len, &e) != NULL,
          "parse: upper-case hex in the hmac is refused");

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK(kvs_audit_parse((const uint8_t *) cases[i][0],
                              strlen(cases[i][0]), &e) != NULL,
              cases[i][1]);
    }

    /* a raw control byte, and an escape the encoder never writes */
    memcpy(buf, c->entry[1], len);
    buf[strstr(buf, "/kv/") - buf + 1] = '\n';
    CHECK(kvs_audit_parse((uint8_t *) buf, len, &e) != NULL,
          "parse: a raw newline in a string is refused");

    memcpy(buf, c->entry[1], len);
    memcpy(strstr(buf, "/kv/") + 1, "\\n", 2);
    CHECK(kvs_audit_parse((uint8_t *) buf, len, &e) != NULL,
          "parse: the escape \\n, which the encoder does not write, is "
          "refused");
}


static void
kvs_test_verdicts(void)
{
    char                 key[KVS_AUDIT_KEY_LEN + 1];
    size_t               all[] = { 0, 1, 2, 3, 4 };
    size_t               cut[] = { 0, 1, 3, 4 };
    int                  sorted;
    char                 prev[KVS_AUDIT_KEY_LEN], next[KVS_AUDIT_KEY_LEN];
    size_t               i;
    size_t               swap[] = { 0, 2, 1, 3, 4 };
    size_t               again[] = { 0, 1, 2, 1 };
    uint8_t              saved[KVS_AUDIT_ENTRY_MAX];
    size_t               saved_len;
    kvs_test_chain_t    *c = &kvs_test_chain;
    kvs_audit_verify_t   v;
    kvs_audit_witness_t  w[2];
    kvs_audit_head_t     forged;
    kvs_audit_event_t    ev;
    kvs_hmac_key_t      *other;
    uint8_t             *s;

    CHECK(kvs_test_verify(c, all, 5, NULL, 0, &v) == 0
          && v.head.seq == 5
          && memcmp(v.head.hash, c->heads[4].hash, KVS_SHA3_512_LEN) == 0,
          "verify: the chain as written is good, its head the last entry");

    /* an edit: entry 3's status */
    memcpy(saved, c->entry[2], c->len[2]);
    s = (uint8_t *) strstr((char *) c->entry[2], "\"status\":200");
    s[10] = '1';
    CHECK(kvs_test_verify(c, all, 5, NULL, 0, &v) != 0, "verify: an edit");
    memcpy(key, c->key[2], KVS_AUDIT_KEY_LEN);
    key[KVS_AUDIT_KEY_LEN] = '\0';
    kvs_test_names(&v, key, "hmac is wrong", "verify: an edit names it");
    memcpy(c->entry[2], saved, c->len[2]);

    /* a removal from the middle */
    CHECK(kvs_test_verify(c, cut, 4, NULL, 0, &v) != 0,
          "verify: a removal");
    memcpy(key, c->key[3], KVS_AUDIT_KEY_LEN);
    kvs_test_names(&v, key, "entry 3 is missing",
                   "verify: a removal names the entry after the gap");

    /* a reordering: entries 2 and 3 swap keys */
    CHECK(kvs_test_verify_as(c, all, swap, 5, NULL, 0, &v) != 0,
          "verify: a reordering");
    memcpy(key, c->key[1], KVS_AUDIT_KEY_LEN);
    kvs_test_names(&v, key, "reordered",
                   "verify: a reordering names the first entry out of "
                   "place");

    /* a copy: entry 2's bytes again under a key of their own after 3 */
    CHECK(kvs_test_verify_as(c, all, again, 4, NULL, 0, &v) != 0,
          "verify: a copy");
    memcpy(key, c->key[3], KVS_AUDIT_KEY_LEN);
    kvs_test_names(&v, key, "another key than its own",
                   "verify: a copy is named");

    /* the keys of one ms sort in seq order, whatever their uuids' random
     * bits, across a carry of the seq's bytes too */
    kvs_audit_key(prev, 1795618467000ULL, 250);
    sorted = 1;

    for (i = 251; i < 1000; i++) {
        kvs_audit_key(next, 1795618467000ULL, i);
        sorted &= memcmp(prev, next, KVS_AUDIT_KEY_LEN) < 0;
        memcpy(prev, next, KVS_AUDIT_KEY_LEN);
    }

    CHECK(sorted, "verify: the keys of one ms sort in seq order");
    CHECK(next[4 + 13 + 1 + 14] == '8',
          "verify: a key's uuid is of version 8");

    /* an insertion: a forged entry 3 under a wrong secret, well chained */
    memcpy(saved, c->entry[2], c->len[2]);
    saved_len = c->len[2];
    forged = c->heads[1];
    kvs_test_event(&ev, "mallory", "/kv/forged");
    other = kvs_hmac_key_new((const uint8_t *) "not the secret", 14);
    c->len[2] = kvs_audit_encode(&ev, 1795618467002ULL, c->key[2], "n1", 2,
                                 NULL, other, &forged, c->entry[2]);
    kvs_hmac_key_free(other);
    CHECK(kvs_test_verify(c, all, 5, NULL, 0, &v) != 0,
          "verify: a forged entry");
    memcpy(key, c->key[2], KVS_AUDIT_KEY_LEN);
    kvs_test_names(&v, key, "forged without audit_secret",
                   "verify: a forged entry is named");
    memcpy(c->entry[2], saved, saved_len);
    c->len[2] = saved_len;

    /* a truncation: a valid chain, shorter than a peer saw */
    strcpy(w[0].peer, "n2");
    w[0].head = c->heads[1];
    strcpy(w[1].peer, "n3");
    w[1].head = c->heads[4];

    CHECK(kvs_test_verify(c, all, 5, w, 2, &v) == 0,
          "verify: the witnesses agree with the whole chain");
    CHECK(kvs_test_verify(c, all, 3, w, 2, &v) != 0,
          "verify: a truncated chain against a witness");
    kvs_test_names(&v, "", "peer n3 witnessed entry 5 (hash ",
                   "verify: a truncation names what the peer witnessed");
    CHECK(strstr(v.why, "which this log lacks") != NULL,
          "verify: ... which this log lacks");

    /* a chain written anew after a truncation: another entry 2 */
    w[0].head.hash[0] ^= 1;
    CHECK(kvs_test_verify(c, all, 5, w, 1, &v) != 0,
          "verify: an entry other than the one witnessed");
    memcpy(key, c->key[1], KVS_AUDIT_KEY_LEN);
    kvs_test_names(&v, key, "peer n2 witnessed entry 2",
                   "verify: the entry a witness contradicts is named");
}


static int
kvs_test_setup(void)
{
    if (mkdtemp(kvs_test_base) == NULL) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return -1;
    }

    kvs_test_mac = kvs_hmac_key_new(kvs_test_secret, 32);
    if (kvs_test_mac == NULL) {
        printf("Bail out! kvs_hmac_key_new failed\n");
        return -1;
    }

    kvs_test_build(&kvs_test_chain);

    return 0;
}


static void
kvs_test_cleanup(void)
{
    (void) kvs_test_rm_tree(kvs_test_base);
    kvs_hmac_key_free(kvs_test_mac);
}


typedef struct {
    size_t             n;
    kvs_audit_entry_t  last;
    char               kinds[4][32];     /* by seq */
    char               order[64];        /* the seqs in key order */
    char               last_key[KVS_AUDIT_KEY_LEN + 1];
} kvs_test_seen_t;


static int
kvs_test_list(const char *key, size_t klen, const uint8_t *entry,
    size_t len, void *data)
{
    kvs_test_seen_t *seen = data;

    size_t  n;

    if (kvs_audit_parse(entry, len, &seen->last) != NULL
        || klen != KVS_AUDIT_KEY_LEN)
    {
        return -1;
    }

    seen->n++;

    memcpy(seen->last_key, key, klen);
    n = strlen(seen->order);
    snprintf(seen->order + n, sizeof(seen->order) - n, "%s%llu",
             n ? "," : "", (unsigned long long) seen->last.seq);

    if (seen->last.seq < 4 && seen->last.kind_len < 32) {
        memcpy(seen->kinds[seen->last.seq], seen->last.kind,
               seen->last.kind_len);
    }

    return 0;
}


static void
kvs_test_store(void)
{
    int                 more;
    char                dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    uint64_t            n;
    kvs_write_t         w[4];
    kvs_store_t        *st;
    kvs_test_seen_t     seen;
    kvs_hmac_key_t     *other;
    kvs_audit_event_t   put, del, login;
    kvs_audit_verify_t  v;

    snprintf(dir, sizeof(dir), "%s/store", kvs_test_base);

    st = NULL;
    if (kvs_store_open(&st, dir, KVS_TEST_MAP, err, sizeof(err)) != KVS_OK) {
        printf("Bail out! kvs_store_open: %s\n", err);
        return;
    }

    CHECK(kvs_store_set_audit(st, kvs_test_secret, 32, "n1") == KVS_OK,
          "store: the audit log is on");

    kvs_test_event(&put, "bob", "/kv/a");
    kvs_test_event(&del, "bob", "/kv/a");
    del.kind = KVS_AUDIT_DELETE;
    kvs_test_event(&login, NULL, "/api/login");
    login.kind = KVS_AUDIT_LOGIN_FAILED;

    memset(w, 0, sizeof(w));
    w[0].op = KVS_WRITE_PUT;
    w[0].ns = 'd';
    w[0].path = "a";
    w[0].path_len = 1;
    w[0].value = (const uint8_t *) "1";
    w[0].value_len = 1;
    w[0].audit = &put;

    /* create_only over a's first version: a precondition fails */
    w[1] = w[0];
    w[1].create_only = 1;

    w[2].op = KVS_WRITE_AUDIT;
    w[2].audit = &login;

    /* a peer's record would carry no event: a local write without one */
    w[3] = w[0];
    w[3].audit = NULL;

    CHECK(kvs_store_write(st, w, 4, 1795618467000ULL, err, sizeof(err))
          == KVS_OK, "store: a batch of four writes");
    CHECK(w[1].rc == KVS_PRECONDITION, "store: the create_only failed");

    memset(&w[0], 0, sizeof(kvs_write_t));
    w[0].op = KVS_WRITE_DELETE;
    w[0].ns = 'd';
    w[0].path = "nothere";
    w[0].path_len = 7;
    w[0].audit = &del;
    w[1] = w[0];
    w[1].path = "a";
    w[1].path_len = 1;

    CHECK(kvs_store_write(st, w, 2, 1795618467001ULL, err, sizeof(err))
          == KVS_OK && w[0].rc == KVS_NOT_FOUND && w[1].rc == KVS_OK,
          "store: a DELETE of nothing and one of a");

    memset(&seen, 0, sizeof(seen));
    CHECK(kvs_store_read_begin(st, err, sizeof(err)) == KVS_OK
          && kvs_store_audit_list(st, 0, NULL, 0, 100, kvs_test_list,
                                  &seen, &more) == KVS_OK,
          "store: the entries list");
    /* keys sort by time; those of one millisecond by their uuid */
    CHECK(seen.n == 3, "store: 3 entries");
    kvs_test_str(seen.kinds[1], "put", "store: entry 1 is the PUT's");
    kvs_test_str(seen.kinds[2], "login_failed",
                 "store: entry 2 is the event's; none of the failed "
                 "condition");
    kvs_test_str(seen.kinds[3], "delete",
                 "store: entry 3 is the DELETE's; none of the DELETE of "
                 "nothing nor of the write without an event");

    memset(&seen, 0, sizeof(seen));
    CHECK(kvs_store_audit_list(st, 0, NULL, 0, 2, kvs_test_list, &seen,
                               &more) == KVS_OK && seen.n == 2 && more,
          "store: a page of 2, more to come");
    kvs_store_read_end(st);

    kvs_audit_verify_init(&v, kvs_test_mac, NULL, 0);
    CHECK(kvs_store_audit_verify(st, &v, &n, err, sizeof(err)) == KVS_OK
          && n == 3, "store: the chain verifies, 3 entries");

    other = kvs_hmac_key_new((const uint8_t *) "another secret", 14);
    kvs_audit_verify_init(&v, other, NULL, 0);
    CHECK(kvs_store_audit_verify(st, &v, &n, err, sizeof(err))
          == KVS_INVALID && n == 0,
          "store: under another secret, the first entry is bad");
    kvs_hmac_key_free(other);

    /* the clock steps 7 s back: the key keeps the last key's ms, the
     * entry the clock's, and the keys still sort as the chain runs */
    memset(&w[0], 0, sizeof(kvs_write_t));
    w[0].op = KVS_WRITE_AUDIT;
    w[0].audit = &login;

    CHECK(kvs_store_write(st, w, 1, 1795618460000ULL, err, sizeof(err))
          == KVS_OK && w[0].rc == KVS_OK, "store: a write after a step back");

    memset(&seen, 0, sizeof(seen));
    CHECK(kvs_store_read_begin(st, err, sizeof(err)) == KVS_OK
          && kvs_store_audit_list(st, 0, NULL, 0, 100, kvs_test_list,
                                  &seen, &more) == KVS_OK,
          "store: the entries list after the step back");
    kvs_store_read_end(st);
    kvs_test_str(seen.order, "1,2,3,4", "store: in the chain's order");
    CHECK(strncmp(seen.last_key, "log:1795618467001:", 18) == 0,
          "store: the new key keeps the last key's ms");
    CHECK(seen.last.ts == 1795618460000ULL,
          "store: the new entry keeps the clock's");

    kvs_audit_verify_init(&v, kvs_test_mac, NULL, 0);
    CHECK(kvs_store_audit_verify(st, &v, &n, err, sizeof(err)) == KVS_OK
          && n == 4, "store: the chain verifies across the step back");

    kvs_store_close(st);
}


/* puts key and value into the audit database of a closed store, as an
 * intruder with the disk would */

static int
kvs_test_forge(const char *dir, const char *key, size_t klen,
    const void *value, size_t len)
{
    int       rc;
    MDB_env  *env;
    MDB_txn  *txn;
    MDB_dbi   dbi;
    MDB_val   k, v;

    rc = mdb_env_create(&env);
    if (rc == 0) {
        rc = mdb_env_set_maxdbs(env, 16);
    }

    if (rc == 0) {
        rc = mdb_env_set_mapsize(env, KVS_TEST_MAP);
    }

    if (rc == 0) {
        rc = mdb_env_open(env, dir, 0, 0600);
    }

    if (rc == 0) {
        rc = mdb_txn_begin(env, NULL, 0, &txn);

        if (rc == 0) {
            rc = mdb_dbi_open(txn, "audit", 0, &dbi);
        }

        if (rc == 0) {
            k.mv_data = (void *) key;
            k.mv_size = klen;
            v.mv_data = (void *) value;
            v.mv_size = len;
            rc = mdb_put(txn, dbi, &k, &v, 0);
        }

        rc = (rc == 0) ? mdb_txn_commit(txn) : (mdb_txn_abort(txn), rc);
    }

    mdb_env_close(env);

    return rc;
}


/* the entries' bytes and keys, in key order */

typedef struct {
    size_t   n;
    char     key[8][KVS_AUDIT_KEY_LEN];
    uint8_t  entry[8][KVS_AUDIT_ENTRY_MAX];
    size_t   len[8];
} kvs_test_copy_t;


static int
kvs_test_copy(const char *key, size_t klen, const uint8_t *entry,
    size_t len, void *data)
{
    kvs_test_copy_t *cp = data;

    if (cp->n == 8 || klen != KVS_AUDIT_KEY_LEN
        || len > KVS_AUDIT_ENTRY_MAX)
    {
        return -1;
    }

    memcpy(cp->key[cp->n], key, klen);
    memcpy(cp->entry[cp->n], entry, len);
    cp->len[cp->n++] = len;

    return 0;
}


/*
 * Entries put in by hand under keys the node would not write: a key of a
 * later time, with the node's entries after it, and keys a byte longer or
 * with a NUL.  Verification names the key put in each time.  (A key of a
 * later time stayed the head: the node put its next entries before it,
 * all of one seq, and verification named the first of those; a longer
 * key was named cut to its first 54 bytes, the entry it copied.)
 */

static void
kvs_test_forged(void)
{
    int                 more;
    char                dir[PATH_MAX], err[KVS_STORE_ERRLEN];
    char                later[KVS_AUDIT_KEY_LEN + 1], longer[64];
    uint64_t            n;
    kvs_write_t         w;
    kvs_store_t        *st;
    kvs_test_seen_t     seen;
    kvs_test_copy_t     cp;
    kvs_audit_event_t   put;
    kvs_audit_verify_t  v;

    snprintf(dir, sizeof(dir), "%s/forged", kvs_test_base);

    st = NULL;
    if (kvs_store_open(&st, dir, KVS_TEST_MAP, err, sizeof(err)) != KVS_OK
        || kvs_store_set_audit(st, kvs_test_secret, 32, "n1") != KVS_OK)
    {
        printf("Bail out! kvs_store_open: %s\n", err);
        return;
    }

    kvs_test_event(&put, "bob", "/kv/a");
    memset(&w, 0, sizeof(w));
    w.op = KVS_WRITE_AUDIT;
    w.audit = &put;

    CHECK(kvs_store_write(st, &w, 1, 1795618467000ULL, err, sizeof(err))
          == KVS_OK
          && kvs_store_write(st, &w, 1, 1795618467001ULL, err, sizeof(err))
             == KVS_OK,
          "forged: two entries");

    memset(&cp, 0, sizeof(cp));
    CHECK(kvs_store_read_begin(st, err, sizeof(err)) == KVS_OK
          && kvs_store_audit_list(st, 0, NULL, 0, 100, kvs_test_copy, &cp,
                                  &more) == KVS_OK && cp.n == 2,
          "forged: read back");
    kvs_store_read_end(st);
    kvs_store_close(st);

    /* entry 2's bytes again, under a key of a later time */
    memcpy(later, "log:9999999999990:ffffffff-ffff-8fff-bfff-ffffffffffff",
           KVS_AUDIT_KEY_LEN);
    CHECK(kvs_test_forge(dir, later, KVS_AUDIT_KEY_LEN, cp.entry[1],
                         cp.len[1]) == 0,
          "forged: a copy of entry 2 put under a key of a later time");

    st = NULL;
    if (kvs_store_open(&st, dir, KVS_TEST_MAP, err, sizeof(err)) != KVS_OK
        || kvs_store_set_audit(st, kvs_test_secret, 32, "n1") != KVS_OK)
    {
        printf("Bail out! kvs_store_open: %s\n", err);
        return;
    }

    CHECK(kvs_store_write(st, &w, 1, 1795618468000ULL, err, sizeof(err))
          == KVS_OK
          && kvs_store_write(st, &w, 1, 1795618468001ULL, err, sizeof(err))
             == KVS_OK,
          "forged: two more entries");

    memset(&seen, 0, sizeof(seen));
    CHECK(kvs_store_read_begin(st, err, sizeof(err)) == KVS_OK
          && kvs_store_audit_list(st, 0, NULL, 0, 100, kvs_test_list,
                                  &seen, &more) == KVS_OK,
          "forged: the entries list");
    kvs_store_read_end(st);
    kvs_test_str(seen.order, "1,2,2,3,4",
                 "forged: the node's new entries go after the forged key, "
                 "chained from it");
    CHECK(strncmp(seen.last_key, "log:9999999999991:", 18) == 0,
          "forged: at its ms and one");

    kvs_audit_verify_init(&v, kvs_test_mac, NULL, 0);
    CHECK(kvs_store_audit_verify(st, &v, &n, err, sizeof(err))
          == KVS_INVALID && n == 2, "forged: the chain breaks after 2");
    CHECK(v.bad_len == KVS_AUDIT_KEY_LEN
          && memcmp(v.bad, later, KVS_AUDIT_KEY_LEN) == 0,
          "forged: at the key put in, not at the node's next entry");
    kvs_store_close(st);

    /* entry 1's bytes under its key and a byte more, or a NUL before */
    snprintf(dir, sizeof(dir), "%s/forged-longer", kvs_test_base);

    st = NULL;
    if (kvs_store_open(&st, dir, KVS_TEST_MAP, err, sizeof(err)) != KVS_OK
        || kvs_store_set_audit(st, kvs_test_secret, 32, "n1") != KVS_OK)
    {
        printf("Bail out! kvs_store_open: %s\n", err);
        return;
    }

    CHECK(kvs_store_write(st, &w, 1, 1795618467000ULL, err, sizeof(err))
          == KVS_OK, "longer: one entry");
    kvs_store_close(st);

    memcpy(longer, cp.key[0], KVS_AUDIT_KEY_LEN);
    longer[KVS_AUDIT_KEY_LEN] = 'x';
    CHECK(kvs_test_forge(dir, longer, KVS_AUDIT_KEY_LEN + 1, cp.entry[0],
                         cp.len[0]) == 0,
          "longer: a copy of entry 1 under its key and an x");

    st = NULL;
    if (kvs_store_open(&st, dir, KVS_TEST_MAP, err, sizeof(err)) != KVS_OK
        || kvs_store_set_audit(st, kvs_test_secret, 32, "n1") != KVS_OK)
    {
        printf("Bail out! kvs_store_open: %s\n", err);
        return;
    }

    kvs_audit_verify_init(&v, kvs_test_mac, NULL, 0);
    CHECK(kvs_store_audit_verify(st, &v, &n, err, sizeof(err))
          == KVS_INVALID
          && v.bad_len == KVS_AUDIT_KEY_LEN + 1
          && memcmp(v.bad, longer, KVS_AUDIT_KEY_LEN + 1) == 0,
          "longer: verify names the key put in, its 55 bytes");
    kvs_store_close(st);
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_encode),
    KVS_TEST_CASE(kvs_test_utf8),
    KVS_TEST_CASE(kvs_test_hostile),
    KVS_TEST_CASE(kvs_test_verdicts),
    KVS_TEST_CASE(kvs_test_store),
    KVS_TEST_CASE(kvs_test_forged),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    kvs_test_setup, kvs_test_cleanup, kvs_test_cases
};
