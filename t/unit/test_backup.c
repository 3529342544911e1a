/*
 * Unit tests for src/kvs/kvs_backup.c, printed as TAP: the names and
 * their parse, the retention's choice, the record of the last backup, and
 * real backups of a real store, read back through zstd and LMDB as a
 * restore would: the file is one zstd frame of a data.mdb that LMDB opens
 * with every record.  Failures leave no file behind: a backup_dir under a
 * regular file (which stops root as well as anyone), and a final name
 * found taken after the whole file was written.  Two backups of one name
 * never touch each other's file.
 */

#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <lmdb.h>
#include <zstd.h>

#include "kvs_backup.h"
#include "kvs_record.h"
#include "kvs_store.h"

#include "kvs_test.h"


#define KVS_TEST_MAP    (64 * 1024 * 1024)
#define KVS_TEST_KEYS   2000

/* paths under the base, and with a backup's name */
#define KVS_TEST_PATH   256
#define KVS_TEST_FILE   1024

/* 2026-12-02T14:25:37.123Z */
#define KVS_TEST_MS     1796221537123ULL
#define KVS_TEST_DAY    86400000ULL


static char  kvs_test_base[] = "/tmp/kvs_backup_test.XXXXXX";


static void
kvs_test_names(void)
{
    int       tmp;
    char      name[KVS_BACKUP_NAME_MAX], node[300];
    size_t    len;
    uint64_t  ms;

    len = kvs_backup_name(name, "n1", KVS_TEST_MS);
    kvs_test_str(name, "kvs-n1-20261202T142537Z.mdb.zst",
                 "name: kvs-<node>-<UTC stamp>.mdb.zst");
    CHECK(len == strlen(name), "name: its length");

    CHECK(kvs_backup_parse_name(name, len, "n1", 2, &tmp, &ms) == 0
          && tmp == 0 && ms == KVS_TEST_MS / 1000 * 1000,
          "parse: the final name, at its second");

    CHECK(kvs_backup_parse_name("kvs-n1-20261202T142537Z.mdb.zst.tmp",
                                35, "n1", 2, &tmp, &ms) == 0
          && tmp == 1 && ms == KVS_TEST_MS / 1000 * 1000,
          "parse: the temporary name");

    CHECK(kvs_backup_parse_name(name, len, "n2", 2, &tmp, &ms) == -1,
          "parse: another node's");

    /* a node whose id starts as another's is not that one */
    CHECK(kvs_backup_parse_name("kvs-n1-2-20261202T142537Z.mdb.zst", 33,
                                "n1", 2, &tmp, &ms) == -1,
          "parse: node n1-2's is not n1's");
    CHECK(kvs_backup_parse_name("kvs-n1-2-20261202T142537Z.mdb.zst", 33,
                                "n1-2", 4, &tmp, &ms) == 0,
          "parse: node n1-2's is n1-2's");

    CHECK(kvs_backup_parse_name("kvs-n1-20260230T000000Z.mdb.zst", 31,
                                "n1", 2, &tmp, &ms) == -1,
          "parse: February 30 is no date");
    CHECK(kvs_backup_parse_name("kvs-n1-20261202T246000Z.mdb.zst", 31,
                                "n1", 2, &tmp, &ms) == -1,
          "parse: 24:60 is no time");
    CHECK(kvs_backup_parse_name("kvs-n1-2026120xT142537Z.mdb.zst", 31,
                                "n1", 2, &tmp, &ms) == -1,
          "parse: a stamp with a letter");
    CHECK(kvs_backup_parse_name("kvs-n1-20261202T142537Z.mdb.gz", 30,
                                "n1", 2, &tmp, &ms) == -1,
          "parse: another suffix");
    CHECK(kvs_backup_parse_name("kvs-n1-20280229T000000Z.mdb.zst", 31,
                                "n1", 2, &tmp, &ms) == 0
          && ms == 1835395200000ULL,
          "parse: February 29 of a leap year");

    /* a file name of 255 bytes at most, ".tmp" included */
    memset(node, 'a', 222);
    node[222] = '\0';
    CHECK(kvs_backup_name(name, node, KVS_TEST_MS) == 4 + 222 + 1 + 16 + 8
          && strlen(name) + 4 == 255,
          "name: a node id of 222 bytes fits, its .tmp name 255 bytes");

    node[222] = 'a';
    node[223] = '\0';
    CHECK(kvs_backup_name(name, node, KVS_TEST_MS) == 0
          && kvs_backup_node_check(node, 223) != NULL,
          "name: a node id of 223 bytes does not");

    CHECK(kvs_backup_name(name, "dc1/n1", KVS_TEST_MS) == 0
          && kvs_backup_node_check("dc1/n1", 6) != NULL,
          "name: nor one with a \"/\"");
}


static void
kvs_test_expired(void)
{
    unsigned char  e[5];
    uint64_t       now, ms[5];

    now = 100 * KVS_TEST_DAY;

    ms[0] = now - 10 * KVS_TEST_DAY;
    ms[1] = now - 8 * KVS_TEST_DAY;
    ms[2] = now - 7 * KVS_TEST_DAY;     /* exactly the retention: kept */
    ms[3] = now - 1 * KVS_TEST_DAY;
    ms[4] = now - 9 * KVS_TEST_DAY;

    CHECK(kvs_backup_expired(ms, 5, now, 7 * KVS_TEST_DAY, e) == 3
          && e[0] && e[1] && !e[2] && !e[3] && e[4],
          "retention: older than 7 days go, 7 days old stays");

    /* all old: the newest (8 days) stays whatever its age */
    ms[3] = now - 20 * KVS_TEST_DAY;
    ms[2] = now - 30 * KVS_TEST_DAY;
    CHECK(kvs_backup_expired(ms, 5, now, 7 * KVS_TEST_DAY, e) == 4
          && e[0] && !e[1] && e[2] && e[3] && e[4],
          "retention: the newest backup is never deleted");

    CHECK(kvs_backup_expired(ms, 1, now, KVS_TEST_DAY, e) == 0 && !e[0],
          "retention: a lone backup stays");

    CHECK(kvs_backup_expired(ms, 0, now, KVS_TEST_DAY, e) == 0,
          "retention: no backups, nothing to do");

    CHECK(kvs_backup_expired(ms, 5, 3 * KVS_TEST_DAY, 7 * KVS_TEST_DAY, e)
          == 0,
          "retention: a clock before the retention's length deletes none");
}


static void
kvs_test_last(void)
{
    size_t             i, len;
    uint8_t            rec[KVS_BACKUP_LAST_MAX + 1];
    kvs_backup_last_t  l, back;

    memset(&l, 0, sizeof(kvs_backup_last_t));
    strcpy(l.file, "kvs-n1-20261202T142537Z.mdb.zst");
    l.started_at = KVS_TEST_MS;
    l.finished_at = KVS_TEST_MS + 1500;
    l.bytes = 12345;
    l.keys = 678;
    l.ok = 1;
    l.ok_at = l.finished_at;
    l.ok_bytes = 12345;

    len = kvs_backup_last_encode(&l, rec);
    CHECK(kvs_backup_last_decode(rec, len, &back) == 0
          && memcmp(&l, &back, sizeof(kvs_backup_last_t)) == 0,
          "last: an ok record round-trips");

    l.ok = 0;
    l.bytes = 0;
    memset(l.error, 'e', sizeof(l.error) - 1);
    memset(l.file, 'f', sizeof(l.file) - 1);

    len = kvs_backup_last_encode(&l, rec);
    CHECK(len <= KVS_BACKUP_LAST_MAX
          && kvs_backup_last_decode(rec, len, &back) == 0
          && memcmp(&l, &back, sizeof(kvs_backup_last_t)) == 0,
          "last: a failed record of the longest strings round-trips");

    for (i = 0; i < len; i++) {
        if (kvs_backup_last_decode(rec, i, &back) != -1) {
            break;
        }
    }

    CHECK(i == len, "last: cut at any length, it is refused");

    rec[len] = 0;
    CHECK(kvs_backup_last_decode(rec, len + 1, &back) == -1,
          "last: a byte too many is refused");

    rec[0] = 2;
    CHECK(kvs_backup_last_decode(rec, len, &back) == -1,
          "last: another version is refused");
}


/* decompresses path into dir/data.mdb; returns the bytes, or 0 */

static size_t
kvs_test_unzstd(const char *path, const char *dir)
{
    FILE            *in, *out;
    char             name[KVS_TEST_FILE];
    size_t           n, rc, total;
    uint8_t          ibuf[65536], obuf[131072];
    ZSTD_DCtx       *d;
    ZSTD_inBuffer    zin;
    ZSTD_outBuffer   zout;

    snprintf(name, sizeof(name), "%s/data.mdb", dir);

    in = fopen(path, "rb");
    out = fopen(name, "wb");
    d = ZSTD_createDCtx();
    total = 0;
    rc = 1;

    if (in == NULL || out == NULL || d == NULL) {
        goto done;
    }

    while ((n = fread(ibuf, 1, sizeof(ibuf), in)) > 0) {
        zin.src = ibuf;
        zin.size = n;
        zin.pos = 0;

        while (zin.pos < zin.size) {
            zout.dst = obuf;
            zout.size = sizeof(obuf);
            zout.pos = 0;

            rc = ZSTD_decompressStream(d, &zout, &zin);

            if (ZSTD_isError(rc)) {
                printf("# zstd: %s\n", ZSTD_getErrorName(rc));
                total = 0;
                goto done;
            }

            fwrite(obuf, 1, zout.pos, out);
            total += zout.pos;
        }
    }

    /* 0: the frame ended, whole */
    if (rc != 0) {
        printf("# zstd: the frame is cut short\n");
        total = 0;
    }

done:

    if (in) {
        fclose(in);
    }

    if (out) {
        fclose(out);
    }

    ZSTD_freeDCtx(d);

    return total;
}


/* records in kv of the environment in dir, or -1 */

static long
kvs_test_kv_count(const char *dir)
{
    long      n;
    MDB_env  *env;
    MDB_txn  *txn;
    MDB_dbi   dbi;
    MDB_stat  st;

    n = -1;

    if (mdb_env_create(&env) != 0) {
        return -1;
    }

    mdb_env_set_maxdbs(env, 16);

    if (mdb_env_open(env, dir, MDB_RDONLY, 0600) == 0
        && mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0)
    {
        if (mdb_dbi_open(txn, "kv", 0, &dbi) == 0
            && mdb_stat(txn, dbi, &st) == 0)
        {
            n = (long) st.ms_entries;
        }

        mdb_txn_abort(txn);
    }

    mdb_env_close(env);

    return n;
}


static kvs_store_t *
kvs_test_store(const char *dir, int keys)
{
    int           i;
    char          err[KVS_STORE_ERRLEN], path[32], value[256];
    kvs_write_t   w;
    kvs_store_t  *st;

    if (kvs_store_open(&st, dir, KVS_TEST_MAP, err, sizeof(err)) != KVS_OK) {
        printf("# open: %s\n", err);
        return NULL;
    }

    for (i = 0; i < keys; i++) {
        snprintf(path, sizeof(path), "k/%05d", i);
        snprintf(value, sizeof(value), "{\"i\":%d,\"pad\":\"%0200d\"}", i,
                 i);

        memset(&w, 0, sizeof(kvs_write_t));
        w.op = KVS_WRITE_PUT;
        w.ns = KVS_NS_DATA;
        w.path = path;
        w.path_len = strlen(path);
        w.value = (const uint8_t *) value;
        w.value_len = strlen(value);

        if (kvs_store_write(st, &w, 1, KVS_TEST_MS + (uint64_t) i, err,
                            sizeof(err))
            != KVS_OK
            || w.rc != KVS_OK)
        {
            printf("# write: %s\n", err);
            kvs_store_close(st);
            return NULL;
        }
    }

    return st;
}


static void
kvs_test_write(void)
{
    char                 data[KVS_TEST_PATH], dir[KVS_TEST_PATH];
    char                 restored[KVS_TEST_PATH], file[KVS_TEST_FILE];
    char                 tmp[KVS_TEST_FILE + 8];
    char                 name[KVS_BACKUP_NAME_MAX], err[KVS_BACKUP_ERRLEN];
    size_t               raw;
    struct stat          sb;
    kvs_store_t         *st;
    kvs_backup_result_t  res;

    snprintf(data, sizeof(data), "%s/data", kvs_test_base);
    snprintf(dir, sizeof(dir), "%s/backups", kvs_test_base);
    snprintf(restored, sizeof(restored), "%s/restored", kvs_test_base);

    st = kvs_test_store(data, KVS_TEST_KEYS);
    CHECK(st != NULL, "write: a store of 2,000 keys");

    if (st == NULL) {
        return;
    }

    kvs_backup_name(name, "n1", KVS_TEST_MS);
    snprintf(file, sizeof(file), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", file);

    CHECK(kvs_backup_write(st, dir, name, 3, &res, err, sizeof(err)) == 0,
          "write: a backup, backup_dir made");

    if (err[0] && res.bytes == 0) {
        printf("#   %s\n", err);
    }

    CHECK(stat(dir, &sb) == 0 && (sb.st_mode & 0777) == 0700,
          "write: backup_dir made with mode 0700");
    CHECK(stat(file, &sb) == 0 && (sb.st_mode & 0777) == 0600
          && (uint64_t) sb.st_size == res.bytes,
          "write: the file, mode 0600, of the bytes said");
    CHECK(stat(tmp, &sb) == -1 && errno == ENOENT,
          "write: no temporary file left");
    CHECK(res.keys == KVS_TEST_KEYS, "write: the records counted");
    CHECK(res.bytes < res.copied / 2,
          "write: zstd shrinks the copy (padded values)");

    mkdir(restored, 0700);
    raw = kvs_test_unzstd(file, restored);
    CHECK(raw == res.copied, "write: one whole zstd frame of the copy");
    CHECK(kvs_test_kv_count(restored) == KVS_TEST_KEYS,
          "write: it is an LMDB environment with every record in kv");

    kvs_store_close(st);
}


/*
 * Two backups of one name, as two agents make them in one second (a
 * binary upgrade runs the old master's agent and the new one's, each
 * with its shared memory), or a POST right after a scheduled backup: one
 * is written whole, the other fails, and neither touches the other's
 * file.  Until 2026-12-04 both wrote one temporary file (O_TRUNC, no
 * O_EXCL), and the file kept was both zstd streams interleaved; and a
 * second backup replaced the first's file.
 */

typedef struct {
    kvs_store_t          *store;
    const char           *dir;
    const char           *name;
    int                   rc;
    kvs_backup_result_t   res;
    char                  err[KVS_BACKUP_ERRLEN];
} kvs_test_backup_t;


static void *
kvs_test_backup_thread(void *data)
{
    kvs_test_backup_t *b = data;

    b->rc = kvs_backup_write(b->store, b->dir, b->name, 19, &b->res, b->err,
                             sizeof(b->err));

    return NULL;
}


static void
kvs_test_same_name(void)
{
    int                  fd, i;
    char                 data[KVS_TEST_PATH], dir[KVS_TEST_PATH];
    char                 restored[KVS_TEST_PATH], file[KVS_TEST_FILE];
    char                 tmp[KVS_TEST_FILE + 8], buf[64];
    char                 name[KVS_BACKUP_NAME_MAX], err[KVS_BACKUP_ERRLEN];
    ssize_t              n;
    pthread_t            thread;
    struct stat          sb, before;
    kvs_store_t         *st, *other;
    kvs_test_backup_t    first;
    kvs_backup_result_t  res;

    snprintf(data, sizeof(data), "%s/same1", kvs_test_base);
    st = kvs_test_store(data, KVS_TEST_KEYS);
    snprintf(data, sizeof(data), "%s/same2", kvs_test_base);
    other = kvs_test_store(data, 100);

    if (st == NULL || other == NULL) {
        CHECK(0, "same name: two stores");
        return;
    }

    snprintf(dir, sizeof(dir), "%s/same", kvs_test_base);
    snprintf(restored, sizeof(restored), "%s/same-restored", kvs_test_base);
    mkdir(dir, 0700);
    mkdir(restored, 0700);

    kvs_backup_name(name, "n1", KVS_TEST_MS);
    snprintf(file, sizeof(file), "%s/%s", dir, name);
    snprintf(tmp, sizeof(tmp), "%s.tmp", file);

    /* a temporary file of the name that another backup writes */

    fd = open(tmp, O_WRONLY|O_CREAT|O_EXCL, 0600);
    n = write(fd, "another backup's bytes", 22);
    close(fd);

    CHECK(n == 22
          && kvs_backup_write(other, dir, name, 3, &res, err, sizeof(err))
             == -1,
          "same name: a temporary file of the name present, it fails");
    CHECK(strstr(err, tmp) != NULL
          && strstr(err, "taken by another backup of the same name")
             != NULL,
          "same name: saying the temporary file is another backup's");
    printf("#   %s\n", err);

    fd = open(tmp, O_RDONLY);
    n = read(fd, buf, sizeof(buf));
    close(fd);
    CHECK(n == 22 && memcmp(buf, "another backup's bytes", 22) == 0,
          "same name: the other's temporary file untouched");
    CHECK(stat(file, &sb) == -1 && errno == ENOENT,
          "same name: and no file of the final name made");

    unlink(tmp);

    /* two at once: the second starts while the first writes (or, on a
     * fast machine, once it has written) */

    first.store = st;
    first.dir = dir;
    first.name = name;
    first.rc = 1;

    if (pthread_create(&thread, NULL, kvs_test_backup_thread, &first) != 0) {
        CHECK(0, "same name: a thread");
        goto done;
    }

    for (i = 0; i < 10000; i++) {
        if (stat(tmp, &sb) == 0 || stat(file, &sb) == 0) {
            break;
        }

        usleep(1000);
    }

    CHECK(kvs_backup_write(other, dir, name, 3, &res, err, sizeof(err))
          == -1,
          "same name: a second backup while the first writes fails");
    printf("#   %s\n", err);

    (void) pthread_join(thread, NULL);

    CHECK(first.rc == 0, "same name: the first is written");

    if (first.rc != 0) {
        printf("#   %s\n", first.err);
    }

    CHECK(stat(file, &sb) == 0 && (uint64_t) sb.st_size == first.res.bytes
          && kvs_test_unzstd(file, restored) == first.res.copied
          && kvs_test_kv_count(restored) == KVS_TEST_KEYS,
          "same name: whole, one zstd frame of the first's store");
    CHECK(stat(tmp, &sb) == -1 && errno == ENOENT,
          "same name: no temporary file left");

    /* after it, in the same second: the first's file stays */

    (void) stat(file, &before);

    CHECK(kvs_backup_write(other, dir, name, 3, &res, err, sizeof(err))
          == -1,
          "same name: a backup after a whole one of its name fails");
    CHECK(strstr(err, file) != NULL
          && strstr(err, "exists already (a backup of the same second")
             != NULL,
          "same name: saying the name is taken");
    printf("#   %s\n", err);
    CHECK(stat(file, &sb) == 0 && sb.st_ino == before.st_ino
          && sb.st_size == before.st_size
          && kvs_test_unzstd(file, restored) == first.res.copied
          && kvs_test_kv_count(restored) == KVS_TEST_KEYS,
          "same name: the first's file stays, whole");
    CHECK(stat(tmp, &sb) == -1 && errno == ENOENT,
          "same name: and the second's temporary file goes");

done:

    kvs_store_close(st);
    kvs_store_close(other);
}


static void
kvs_test_failures(void)
{
    int                  fd;
    char                 data[KVS_TEST_PATH], dir[KVS_TEST_PATH];
    char                 blocker[KVS_TEST_PATH / 2];
    char                 name[KVS_BACKUP_NAME_MAX], err[KVS_BACKUP_ERRLEN];
    char                 path[KVS_TEST_FILE], want[KVS_TEST_FILE];
    struct stat          sb;
    kvs_store_t         *st;
    kvs_backup_result_t  res;

    snprintf(data, sizeof(data), "%s/data2", kvs_test_base);
    st = kvs_test_store(data, 100);

    if (st == NULL) {
        CHECK(0, "failures: a store");
        return;
    }

    kvs_backup_name(name, "n1", KVS_TEST_MS);

    /* a regular file where backup_dir's parent should be: root too fails */

    snprintf(blocker, sizeof(blocker), "%s/file", kvs_test_base);
    fd = open(blocker, O_WRONLY|O_CREAT, 0600);
    close(fd);
    snprintf(dir, sizeof(dir), "%s/backups", blocker);

    CHECK(kvs_backup_write(st, dir, name, 3, &res, err, sizeof(err)) == -1,
          "failures: backup_dir under a regular file fails");
    snprintf(want, sizeof(want), "creating backup_dir \"%s\" failed: Not a "
             "directory", dir);
    kvs_test_str(err, want, "failures: saying what and why");

    /* the whole file written, then its final name is found taken: a
     * directory holds it */

    snprintf(dir, sizeof(dir), "%s/backups2", kvs_test_base);
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/%s/x", dir, name);
    fd = open(path, O_WRONLY|O_CREAT, 0600);
    close(fd);

    CHECK(kvs_backup_write(st, dir, name, 3, &res, err, sizeof(err)) == -1
          && res.bytes > 0,
          "failures: a final name taken, found after the file was "
          "written");
    snprintf(want, sizeof(want), "\"%s/%s\" exists already (a backup of "
             "the same second, another agent's or an earlier one's): it "
             "stays, and this one is dropped", dir, name);
    kvs_test_str(err, want, "failures: saying so");
    snprintf(path, sizeof(path), "%s/%s.tmp", dir, name);
    CHECK(stat(path, &sb) == -1 && errno == ENOENT,
          "failures: no temporary file left");

    kvs_store_close(st);
}


/* the record as meta keeps it: kvs_store_meta_put_bytes() and _get_ */

static void
kvs_test_meta(void)
{
    char               dir[KVS_TEST_PATH], err[KVS_STORE_ERRLEN];
    size_t             len, n;
    uint8_t            rec[KVS_BACKUP_LAST_MAX];
    kvs_store_t       *st;
    const uint8_t     *p;
    kvs_backup_last_t  l, back;

    snprintf(dir, sizeof(dir), "%s/meta", kvs_test_base);

    if (kvs_store_open(&st, dir, KVS_TEST_MAP, err, sizeof(err)) != KVS_OK) {
        CHECK(0, "meta: a store");
        printf("#   %s\n", err);
        return;
    }

    CHECK(kvs_store_read_begin(st, err, sizeof(err)) == KVS_OK
          && kvs_store_meta_get_bytes(st, KVS_BACKUP_META, &p, &n)
             == KVS_NOT_FOUND,
          "meta: no record before the first backup");
    kvs_store_read_end(st);

    memset(&l, 0, sizeof(kvs_backup_last_t));
    strcpy(l.file, "kvs-n1-20261202T142537Z.mdb.zst");
    strcpy(l.error, "cut short");
    l.started_at = KVS_TEST_MS;
    len = kvs_backup_last_encode(&l, rec);

    CHECK(kvs_store_meta_put_bytes(st, KVS_BACKUP_META, rec, len, err,
                                   sizeof(err))
          == KVS_OK,
          "meta: the record is put");

    CHECK(kvs_store_read_begin(st, err, sizeof(err)) == KVS_OK
          && kvs_store_meta_get_bytes(st, KVS_BACKUP_META, &p, &n) == KVS_OK
          && n == len && kvs_backup_last_decode(p, n, &back) == 0
          && memcmp(&l, &back, sizeof(kvs_backup_last_t)) == 0,
          "meta: and read back as it was");
    kvs_store_read_end(st);

    kvs_store_close(st);
}


static int
kvs_test_setup(void)
{
    if (mkdtemp(kvs_test_base) == NULL) {
        printf("Bail out! temp dir: %s\n", strerror(errno));
        return -1;
    }

    return 0;
}


static void
kvs_test_cleanup(void)
{
    (void) kvs_test_rm_tree(kvs_test_base);
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_names),
    KVS_TEST_CASE(kvs_test_expired),
    KVS_TEST_CASE(kvs_test_last),
    KVS_TEST_CASE(kvs_test_meta),
    KVS_TEST_CASE(kvs_test_write),
    KVS_TEST_CASE(kvs_test_same_name),
    KVS_TEST_CASE(kvs_test_failures),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    kvs_test_setup, kvs_test_cleanup, kvs_test_cases
};
