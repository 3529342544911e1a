/*
 * kvs-audit-tamper: edits the audit log of a STOPPED node's store the way
 * an intruder with the disk but without audit_secret would, so that the
 * tests can show what GET /api/audit/verify catches.  Never run it on a
 * store a node has open.
 *
 *   kvs-audit-tamper DIR list              seq, key, a line each
 *   kvs-audit-tamper DIR edit SEQ          a digit of its status changed
 *   kvs-audit-tamper DIR delete SEQ        the entry gone
 *   kvs-audit-tamper DIR insert SEQ        a forged entry after SEQ, well
 *                                          chained, under a key between
 *   kvs-audit-tamper DIR reorder SEQ SEQ2  the two entries swap keys
 *   kvs-audit-tamper DIR truncate N        the newest N entries gone
 *   kvs-audit-tamper DIR rekey SEQ [AT]    the entry under a key of
 *                                          bytes no text has ('"', a
 *                                          control byte, 0xff) from byte
 *                                          AT (default 4: the key sorts
 *                                          before every ?since)
 *   kvs-audit-tamper DIR garble SEQ        the entry's second half
 *                                          replaced by bytes no JSON and
 *                                          no text has
 *
 * The log's entries are its keys in order (the n-th key holds entry n):
 * SEQ counts keys.
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


/* a cursor on the log's first entry, in k and v; *rc is MDB_NOTFOUND when
 * the log is empty */

static MDB_cursor *
first(MDB_val *k, MDB_val *v, int *rc)
{
    MDB_cursor  *c;

    *rc = mdb_cursor_open(txn, audit, &c);
    if (*rc != 0) {
        fail("opening a cursor", *rc);
    }

    *rc = mdb_cursor_get(c, k, v, MDB_FIRST);

    return c;
}


/* the key of entry seq, the seq-th key of the database, into key
 * (KEY_LEN + 1) */

static void
key_of(uint64_t seq, char *key)
{
    int          rc;
    uint64_t     n;
    MDB_val      k, v;
    MDB_cursor  *c;

    c = first(&k, &v, &rc);

    for (n = 1; rc == 0 && n < seq; n++) {
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }

    mdb_cursor_close(c);

    if (rc != 0 || k.mv_size != KEY_LEN) {
        fail("reading the log's keys", rc);
    }

    memcpy(key, k.mv_data, KEY_LEN);
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


/* the number of entries */

static uint64_t
last_seq(void)
{
    int       rc;
    MDB_stat  ms;

    rc = mdb_stat(txn, audit, &ms);
    if (rc != 0) {
        fail("reading the log's size", rc);
    }

    return ms.ms_entries;
}


static void
list(void)
{
    int          rc;
    uint64_t     seq;
    MDB_val      k, v;
    MDB_cursor  *c;

    c = first(&k, &v, &rc);

    for (seq = 1; rc == 0; seq++) {
        printf("%llu %.*s\n", (unsigned long long) seq, (int) k.mv_size,
               (char *) k.mv_data);
        rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }

    mdb_cursor_close(c);
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
rekey(uint64_t seq, const char *at_arg)
{
    char           key[KEY_LEN + 1], odd[KEY_LEN + 1], *end;
    size_t         len;
    uint8_t        e[ENTRY_MAX + 1];
    unsigned long  at;

    at = at_arg ? strtoul(at_arg, &end, 10) : 4;

    if (at_arg && (*end != '\0' || at > KEY_LEN - 3)) {
        fprintf(stderr, "kvs-audit-tamper: \"%s\" is no byte of a key: 0 "
                "to %d\n", at_arg, KEY_LEN - 3);
        mdb_txn_abort(txn);
        exit(1);
    }

    key_of(seq, key);
    len = entry_of(key, e);

    memcpy(odd, key, sizeof(odd));
    odd[at] = '"';
    odd[at + 1] = '\x01';
    odd[at + 2] = (char) 0xff;

    del(key, KEY_LEN);
    put(odd, KEY_LEN, e, len);

    fwrite(odd, 1, KEY_LEN, stdout);
    putchar('\n');
}


static void
delete(uint64_t seq, uint64_t last)
{
    char  key[KEY_LEN + 1], next[KEY_LEN + 1];

    key_of(seq, key);

    /* what verification names: the entry after the gap */
    if (seq < last) {
        key_of(seq + 1, next);
        printf("%s\n", next);
    }

    del(key, KEY_LEN);
}


/* a forged entry after seq: entry seq's bytes with the next seq, a key
 * between seq's and the next one's, and a prev that chains it, but no
 * HMAC of the secret (nor can the later entries' seqs move up: they are
 * signed) */

static void
insert(uint64_t seq)
{
    int            i;
    char           key[KEY_LEN + 1], fkey[KEY_LEN + 1], hex[129];
    char          *p;
    size_t         len, flen;
    uint8_t        e[ENTRY_MAX + 1], f[ENTRY_MAX + 64];
    uint8_t        md[64];
    unsigned int   mdlen;

    key_of(seq, key);
    len = entry_of(key, e);
    e[len] = '\0';

    if (EVP_Digest(e, len, md, &mdlen, EVP_sha3_512(), NULL) != 1) {
        fail("hashing", 0);
    }

    for (i = 0; i < 64; i++) {
        sprintf(hex + 2 * i, "%02x", md[i]);
    }

    /* the forged key: entry seq's, with its last hex digit below "f"
     * raised, so that it sorts right after it */
    memcpy(fkey, key, KEY_LEN + 1);

    for (i = KEY_LEN - 1; i > KEY_LEN - 12; i--) {
        if (fkey[i] != 'f') {
            fkey[i] = fkey[i] == '9' ? 'a' : fkey[i] + 1;
            break;
        }
    }

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

    printf("%s\n", fkey);
}


static void
garble(uint64_t seq)
{
    char     key[KEY_LEN + 1];
    size_t   len, half;
    uint8_t  e[ENTRY_MAX + 1];

    key_of(seq, key);
    len = entry_of(key, e);

    for (half = len / 2; half < len; half++) {
        e[half] = (half & 1) ? '"' : 0xff;
    }

    put(key, KEY_LEN, e, len);
    printf("%s\n", key);
}


/* entries a and b swap keys: each is kept under the other's */

static void
reorder(uint64_t a, uint64_t b)
{
    char     ka[KEY_LEN + 1], kb[KEY_LEN + 1];
    size_t   la, lb;
    uint8_t  ea[ENTRY_MAX], eb[ENTRY_MAX];

    key_of(a, ka);
    key_of(b, kb);
    la = entry_of(ka, ea);
    lb = entry_of(kb, eb);

    put(ka, KEY_LEN, eb, lb);
    put(kb, KEY_LEN, ea, la);

    /* the first place out of order */
    printf("%s\n", a < b ? ka : kb);
}


static void
truncate_log(uint64_t n)
{
    char      key[KEY_LEN + 1];
    uint64_t  last, seq;

    last = last_seq();

    for (seq = last; seq > 0 && seq + n > last; seq--) {
        key_of(seq, key);
        del(key, KEY_LEN);
    }
}


int
main(int argc, char **argv)
{
    int       rc;
    uint64_t  last;

    if (argc < 3) {
        fprintf(stderr, "usage: kvs-audit-tamper DIR list|edit SEQ|delete "
                "SEQ|insert SEQ|reorder SEQ SEQ2|truncate N|rekey SEQ [AT]|"
                "garble SEQ\n");
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

    } else if (strcmp(argv[2], "rekey") == 0 && (argc == 4 || argc == 5)) {
        rekey(arg_seq(argv[3], last), argc == 5 ? argv[4] : NULL);

    } else if (strcmp(argv[2], "garble") == 0 && argc == 4) {
        garble(arg_seq(argv[3], last));

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
