/*
 * kvs-audit-tamper: edits the audit log of a STOPPED node's store the way
 * an intruder with the disk but without audit_secret would, so that the
 * tests can show what GET /api/audit/verify catches.  Never run it on a
 * store a node has open.
 *
 *   kvs-audit-tamper DIR list              seq, key, a line each
 *   kvs-audit-tamper DIR edit SEQ          a digit of its status changed
 *   kvs-audit-tamper DIR delete SEQ        the entry and its index gone
 *   kvs-audit-tamper DIR insert SEQ        a forged entry after SEQ, well
 *                                          chained, the later ones moved
 *                                          up a seq
 *   kvs-audit-tamper DIR reorder SEQ SEQ2  the two entries swap places
 *   kvs-audit-tamper DIR truncate N        the newest N entries gone
 *
 * Each prints the key of the entry verification should name (none for a
 * truncation, which only peers' witnesses catch).  Exit 0, or 1 with a
 * sentence on stderr.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lmdb.h>
#include <openssl/evp.h>


#define SEQ_KEY_LEN  12
#define KEY_LEN      54
#define ENTRY_MAX    65536


static MDB_env  *env;
static MDB_txn  *txn;
static MDB_dbi   audit;


static void
fail(const char *what, int rc)
{
    fprintf(stderr, "kvs-audit-tamper: %s: %s\n", what,
            rc ? mdb_strerror(rc) : "no such entry");
    if (txn) {
        mdb_txn_abort(txn);
    }
    exit(1);
}


static void
seq_key(uint8_t *k, uint64_t seq)
{
    int  i;

    memcpy(k, "seq:", 4);

    for (i = 0; i < 8; i++) {
        k[4 + i] = (uint8_t) (seq >> (56 - 8 * i));
    }
}


static uint64_t
seq_of(const uint8_t *k)
{
    int       i;
    uint64_t  seq;

    seq = 0;

    for (i = 0; i < 8; i++) {
        seq = seq << 8 | k[4 + i];
    }

    return seq;
}


/* the key of entry seq, into key (KEY_LEN + 1) */

static void
key_of(uint64_t seq, char *key)
{
    int      rc;
    uint8_t  sk[SEQ_KEY_LEN];
    MDB_val  k, v;

    seq_key(sk, seq);
    k.mv_data = sk;
    k.mv_size = sizeof(sk);

    rc = mdb_get(txn, audit, &k, &v);
    if (rc != 0 || v.mv_size != KEY_LEN) {
        fail("reading the chain's index", rc);
    }

    memcpy(key, v.mv_data, KEY_LEN);
    key[KEY_LEN] = '\0';
}


static size_t
entry_of(const char *key, uint8_t *out)
{
    int      rc;
    MDB_val  k, v;

    k.mv_data = (void *) key;
    k.mv_size = KEY_LEN;

    rc = mdb_get(txn, audit, &k, &v);
    if (rc != 0 || v.mv_size > ENTRY_MAX) {
        fail("reading an entry", rc);
    }

    memcpy(out, v.mv_data, v.mv_size);

    return v.mv_size;
}


static void
put(const void *key, size_t klen, const void *val, size_t vlen)
{
    int      rc;
    MDB_val  k, v;

    k.mv_data = (void *) key;
    k.mv_size = klen;
    v.mv_data = (void *) val;
    v.mv_size = vlen;

    rc = mdb_put(txn, audit, &k, &v, 0);
    if (rc != 0) {
        fail("writing", rc);
    }
}


static void
del(const void *key, size_t klen)
{
    int      rc;
    MDB_val  k;

    k.mv_data = (void *) key;
    k.mv_size = klen;

    rc = mdb_del(txn, audit, &k, NULL);
    if (rc != 0) {
        fail("deleting", rc);
    }
}


static uint64_t
last_seq(void)
{
    int          rc;
    MDB_val      k, v;
    MDB_cursor  *c;

    rc = mdb_cursor_open(txn, audit, &c);
    if (rc != 0) {
        fail("opening a cursor", rc);
    }

    rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
    mdb_cursor_close(c);

    if (rc != 0 || k.mv_size != SEQ_KEY_LEN
        || memcmp(k.mv_data, "seq:", 4) != 0)
    {
        return 0;
    }

    return seq_of(k.mv_data);
}


static void
list(void)
{
    char      key[KEY_LEN + 1];
    uint64_t  seq, last;

    last = last_seq();

    for (seq = 1; seq <= last; seq++) {
        key_of(seq, key);
        printf("%llu %s\n", (unsigned long long) seq, key);
    }
}


/* "<seq>" of a command line: 1..last */

static uint64_t
arg_seq(const char *s, uint64_t last)
{
    char               *end;
    unsigned long long  n;

    n = strtoull(s, &end, 10);

    if (*end != '\0' || n == 0 || n > last) {
        fprintf(stderr, "kvs-audit-tamper: \"%s\" is no entry: the log has "
                "entries 1 to %llu\n", s, (unsigned long long) last);
        mdb_txn_abort(txn);
        exit(1);
    }

    return n;
}


static void
edit(uint64_t seq)
{
    char      key[KEY_LEN + 1];
    char     *p;
    size_t    len;
    uint8_t   e[ENTRY_MAX + 1];

    key_of(seq, key);
    len = entry_of(key, e);
    e[len] = '\0';

    p = strstr((char *) e, "\"status\":");
    if (p == NULL) {
        fail("finding the status", 0);
    }

    p += sizeof("\"status\":") - 1;
    *p = *p == '5' ? '2' : '5';

    put(key, KEY_LEN, e, len);
    printf("%s\n", key);
}


static void
delete(uint64_t seq, uint64_t last)
{
    char     key[KEY_LEN + 1], next[KEY_LEN + 1];
    uint8_t  sk[SEQ_KEY_LEN];

    key_of(seq, key);
    seq_key(sk, seq);

    /* what verification names: the entry after the gap */
    if (seq < last) {
        key_of(seq + 1, next);
        printf("%s\n", next);
    }

    del(key, KEY_LEN);
    del(sk, sizeof(sk));
}


/* a forged entry after seq: entry seq's bytes with the next seq, its own
 * key, and a prev that chains it, but no HMAC of the secret */

static void
insert(uint64_t seq)
{
    int            i;
    char           key[KEY_LEN + 1], fkey[KEY_LEN + 1], hex[129];
    char          *p;
    size_t         len, flen;
    uint8_t        e[ENTRY_MAX + 1], f[ENTRY_MAX + 64], sk[SEQ_KEY_LEN];
    uint8_t        md[64];
    uint64_t       s, last;
    unsigned int   mdlen;
    MDB_val        k, v;

    last = last_seq();

    /* the later entries' index moves up one, newest first */
    for (s = last; s > seq; s--) {
        seq_key(sk, s);
        k.mv_data = sk;
        k.mv_size = sizeof(sk);

        if (mdb_get(txn, audit, &k, &v) != 0) {
            fail("reading the chain's index", 0);
        }

        memcpy(key, v.mv_data, KEY_LEN);
        seq_key(sk, s + 1);
        put(sk, sizeof(sk), key, KEY_LEN);
    }

    key_of(seq, key);
    len = entry_of(key, e);
    e[len] = '\0';

    if (EVP_Digest(e, len, md, &mdlen, EVP_sha3_512(), NULL) != 1) {
        fail("hashing", 0);
    }

    for (i = 0; i < 64; i++) {
        sprintf(hex + 2 * i, "%02x", md[i]);
    }

    /* the forged key: entry seq's, its uuid's last digit changed */
    memcpy(fkey, key, KEY_LEN + 1);
    fkey[KEY_LEN - 1] = fkey[KEY_LEN - 1] == '0' ? '1' : '0';

    p = strstr((char *) e, ",\"ts\":");
    if (p == NULL) {
        fail("parsing the entry", 0);
    }

    flen = (size_t) sprintf((char *) f, "{\"seq\":%llu",
                            (unsigned long long) seq + 1);
    memcpy(f + flen, p, len - (size_t) (p - (char *) e));
    flen += len - (size_t) (p - (char *) e);
    f[flen] = '\0';

    p = strstr((char *) f, "\"key\":\"");
    memcpy(p + 7, fkey, KEY_LEN);

    p = strstr((char *) f, "\"prev\":\"");
    memcpy(p + 8, hex, 128);

    put(fkey, KEY_LEN, f, flen);
    seq_key(sk, seq + 1);
    put(sk, sizeof(sk), fkey, KEY_LEN);

    printf("%s\n", fkey);
}


static void
reorder(uint64_t a, uint64_t b)
{
    char     ka[KEY_LEN + 1], kb[KEY_LEN + 1];
    uint8_t  sk[SEQ_KEY_LEN];

    key_of(a, ka);
    key_of(b, kb);

    seq_key(sk, a);
    put(sk, sizeof(sk), kb, KEY_LEN);
    seq_key(sk, b);
    put(sk, sizeof(sk), ka, KEY_LEN);

    /* the first place out of order now holds the other entry */
    printf("%s\n", a < b ? kb : ka);
}


static void
truncate_log(uint64_t n)
{
    char      key[KEY_LEN + 1];
    uint8_t   sk[SEQ_KEY_LEN];
    uint64_t  last, seq;

    last = last_seq();

    for (seq = last; seq > 0 && seq + n > last; seq--) {
        key_of(seq, key);
        seq_key(sk, seq);
        del(key, KEY_LEN);
        del(sk, sizeof(sk));
    }
}


int
main(int argc, char **argv)
{
    int       rc;
    uint64_t  last;

    if (argc < 3) {
        fprintf(stderr, "usage: kvs-audit-tamper DIR list|edit SEQ|delete "
                "SEQ|insert SEQ|reorder SEQ SEQ2|truncate N\n");
        return 1;
    }

    if ((rc = mdb_env_create(&env)) != 0
        || (rc = mdb_env_set_maxdbs(env, 32)) != 0
        || (rc = mdb_env_open(env, argv[1], 0, 0600)) != 0
        || (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0
        || (rc = mdb_dbi_open(txn, "audit", 0, &audit)) != 0)
    {
        fail(argv[1], rc);
    }

    last = last_seq();

    if (strcmp(argv[2], "list") == 0) {
        list();

    } else if (strcmp(argv[2], "edit") == 0 && argc == 4) {
        edit(arg_seq(argv[3], last));

    } else if (strcmp(argv[2], "delete") == 0 && argc == 4) {
        delete(arg_seq(argv[3], last), last);

    } else if (strcmp(argv[2], "insert") == 0 && argc == 4) {
        insert(arg_seq(argv[3], last));

    } else if (strcmp(argv[2], "reorder") == 0 && argc == 5) {
        reorder(arg_seq(argv[3], last), arg_seq(argv[4], last));

    } else if (strcmp(argv[2], "truncate") == 0 && argc == 4) {
        truncate_log(arg_seq(argv[3], last));

    } else {
        fprintf(stderr, "kvs-audit-tamper: no such command: %s\n", argv[2]);
        mdb_txn_abort(txn);
        return 1;
    }

    rc = mdb_txn_commit(txn);
    txn = NULL;

    if (rc != 0) {
        fail("committing", rc);
    }

    mdb_env_close(env);

    return 0;
}
