/*
 * kvs-restore: puts a backup in place of a stopped node's store.
 *
 *   kvs-restore [--allow-other-node] [--allow-old] [--config FILE]
 *               [--tombstone-ttl-hours H] BACKUP DATA_DIR
 *
 * A backup (kvs-<node_id>-<yyyymmddThhmmssZ>.mdb.zst) is one zstd stream
 * of an LMDB compacting copy of a node's store: a data.mdb.  The tool
 * refuses while a process holds the store in DATA_DIR (LMDB keeps a shared
 * fcntl lock on the first byte of lock.mdb in every process that has the
 * environment open, and the kernel drops it with the process: a lock that
 * conflicts with a write lock there is a live node).  It decompresses the
 * backup whole into a temporary directory beside DATA_DIR, on its file
 * system, and checks it there: the zstd stream must end complete, the file
 * must be an LMDB environment as long as its last page says, hold the
 * store's databases, a schema version this build reads, and every record
 * of kv and rev must decode.  It keeps the target node's identity (meta's
 * node_id) and refuses another node's backup unless --allow-other-node; it
 * refuses a backup older than tombstone_ttl_hours unless --allow-old,
 * because the cluster may have purged the tombstones of keys deleted since,
 * and the backup would bring those keys back.  It marks the store
 * "syncing", so that the restored node catches up from its peers before it
 * takes writes (a node without seed_nodes serves it at once: the master
 * drops the mark).  Only then does data.mdb replace DATA_DIR's, by one
 * rename, owned and moded like the file it replaces; lock.mdb goes (LMDB
 * makes a new one), and the file and both directories are fsync'd.
 *
 * A backup's age is read from inside it, not from its name, which a copy
 * may change: the newest of the node's own last_seen (its agent writes it
 * every tick) and the newest version in by_time, a time the backup was
 * taken at or after.  The name is the fallback for the node and the time
 * of a store that has neither.
 *
 * Exit codes: 0 restored; 1 failed (I/O, no space: DATA_DIR unchanged);
 * 2 usage; 3 a node holds DATA_DIR; 4 BACKUP is damaged or no KVS backup;
 * 5 BACKUP is another node's, or names none; 6 BACKUP is older than
 * tombstone_ttl_hours, or its time is unknown.
 * Errors are one line on stderr; a restore ends with one line on stdout.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <lmdb.h>
#include <zstd.h>

#include "kvs_config.h"
#include "kvs_record.h"
#include "kvs_store.h"


#define KVS_RESTORE_OK          0
#define KVS_RESTORE_FAILED      1
#define KVS_RESTORE_USAGE       2
#define KVS_RESTORE_HELD        3
#define KVS_RESTORE_DAMAGED     4
#define KVS_RESTORE_OTHER_NODE  5
#define KVS_RESTORE_TOO_OLD     6

#define KVS_RESTORE_NODE_MAX    256

/* a file of a directory of up to PATH_MAX bytes: data.mdb, lock.mdb */
#define KVS_RESTORE_FILE_MAX    (PATH_MAX + sizeof("/data.mdb"))

/* what the write of the marks may add to a compacted copy's map */
#define KVS_RESTORE_ROOM        (16 * 1024 * 1024)

/* the databases of the store (DESIGN.md), in the order of their names */
enum {
    KVS_RESTORE_KV = 0,
    KVS_RESTORE_REV,
    KVS_RESTORE_BY_TIME,
    KVS_RESTORE_EXPIRY,
    KVS_RESTORE_CHANGES,
    KVS_RESTORE_MERKLE,
    KVS_RESTORE_BUCKET_KEYS,
    KVS_RESTORE_MEMBERS,
    KVS_RESTORE_AUDIT,
    KVS_RESTORE_META,
    KVS_RESTORE_DBS
};

static const char  *kvs_restore_dbs[KVS_RESTORE_DBS] = {
    "kv", "rev", "by_time", "expiry", "changes", "merkle", "bucket_keys",
    "members", "audit", "meta"
};

#define KVS_RESTORE_PREFIX      "kvs-"
#define KVS_RESTORE_SUFFIX      ".mdb.zst"
#define KVS_RESTORE_STAMP_LEN   16


typedef struct {
    const char   *backup;
    const char   *config;
    char          data_dir[PATH_MAX];
    char          parent[PATH_MAX];
    char          tmp[PATH_MAX];         /* the temporary directory, "" */
    char          tmp_mdb[KVS_RESTORE_FILE_MAX];
    unsigned      allow_other_node:1;
    unsigned      allow_old:1;
    unsigned      exists:1;              /* DATA_DIR is there */
    unsigned      old_mdb:1;             /* and a data.mdb in it */
    double        ttl_hours;
    struct stat   dir_st;                /* DATA_DIR's, or its parent's */
    struct stat   old_st;                /* the data.mdb replaced */
    char          target[KVS_RESTORE_NODE_MAX];   /* "": unknown */
    const char   *target_from;
    char          node[KVS_RESTORE_NODE_MAX];     /* the backup's */
    const char   *node_from;
    uint64_t      name_ms;               /* the name's stamp, 0: none */
    uint64_t      taken_ms;              /* 0: unknown */
    uint32_t      schema;
    uint64_t      records;
    uint64_t      bytes;
} kvs_restore_t;


static void kvs_restore_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
static void kvs_restore_args(int argc, char **argv);
static void kvs_restore_held(const char *when);
static int kvs_restore_apart(void (*fn)(void));
static void kvs_restore_target(void);
static void kvs_restore_target_read(void);
static void kvs_restore_name(void);
static void kvs_restore_temp(void);
static void kvs_restore_unpack(void);
static void kvs_restore_check(void);
static void kvs_restore_check_read(void);
static void kvs_restore_walk(MDB_txn *txn, MDB_dbi *meta);
static void kvs_restore_judge(void);
static void kvs_restore_mark(MDB_env *env, MDB_txn *txn, MDB_dbi meta);
static void kvs_restore_place(void);
static void kvs_restore_fsync(const char *path, int flags);
static void kvs_restore_cleanup(void);
static void kvs_restore_time(uint64_t ms, char *buf, size_t size);


static kvs_restore_t  rs;


/* one line on stderr, the temporary directory gone, and the exit code */

static void
kvs_restore_fail(int code, const char *fmt, ...)
{
    va_list  args;

    fputs("kvs-restore: ", stderr);
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);

    kvs_restore_cleanup();

    exit(code);
}


int
main(int argc, char **argv)
{
    char  taken[32];

    kvs_restore_args(argc, argv);
    kvs_restore_held("");
    kvs_restore_target();
    kvs_restore_name();
    kvs_restore_temp();
    kvs_restore_unpack();
    kvs_restore_check();
    kvs_restore_place();

    kvs_restore_time(rs.taken_ms, taken, sizeof(taken));

    printf("kvs-restore: restored \"%s\" into \"%s\": node \"%s\", schema "
           "version %u, %llu records, taken at %s or later; the node "
           "starts syncing from its peers and takes writes once caught up "
           "(without seed_nodes it serves at once)\n",
           rs.backup, rs.data_dir, rs.target[0] ? rs.target : rs.node,
           rs.schema, (unsigned long long) rs.records, taken);

    return KVS_RESTORE_OK;
}


static void
kvs_restore_args(int argc, char **argv)
{
    int            i;
    char          *end, err[KVS_CONFIG_ERRLEN];
    size_t         len;
    const char    *arg[2];
    kvs_config_t   kc;
    int            narg, ttl_set;

    narg = 0;
    ttl_set = 0;

    if (kvs_config_defaults(&kc) != 0) {
        kvs_restore_fail(KVS_RESTORE_FAILED, "out of memory");
    }

    rs.ttl_hours = kc.tombstone_ttl_hours;
    kvs_config_free(&kc);

    for (i = 1; i < argc; i++) {

        if (strcmp(argv[i], "--allow-other-node") == 0) {
            rs.allow_other_node = 1;

        } else if (strcmp(argv[i], "--allow-old") == 0) {
            rs.allow_old = 1;

        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            rs.config = argv[++i];

        } else if (strcmp(argv[i], "--tombstone-ttl-hours") == 0
                   && i + 1 < argc)
        {
            i++;
            errno = 0;
            rs.ttl_hours = strtod(argv[i], &end);

            if (errno || end == argv[i] || *end != '\0'
                || !(rs.ttl_hours >= 0))
            {
                kvs_restore_fail(KVS_RESTORE_USAGE, "--tombstone-ttl-hours "
                                 "takes a number of hours, not \"%s\"",
                                 argv[i]);
            }

            ttl_set = 1;

        } else if (strcmp(argv[i], "--config") == 0) {
            kvs_restore_fail(KVS_RESTORE_USAGE, "--config takes the node's "
                             "YAML file");

        } else if (strcmp(argv[i], "--tombstone-ttl-hours") == 0) {
            kvs_restore_fail(KVS_RESTORE_USAGE, "--tombstone-ttl-hours takes "
                             "a number of hours");

        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            kvs_restore_fail(KVS_RESTORE_USAGE, "unknown option \"%s\"; "
                             "usage: kvs-restore [--allow-other-node] "
                             "[--allow-old] [--config FILE] "
                             "[--tombstone-ttl-hours H] BACKUP DATA_DIR",
                             argv[i]);

        } else if (narg < 2) {
            arg[narg++] = argv[i];

        } else {
            narg++;
        }
    }

    if (narg != 2) {
        kvs_restore_fail(KVS_RESTORE_USAGE, "usage: kvs-restore "
                         "[--allow-other-node] [--allow-old] [--config FILE] "
                         "[--tombstone-ttl-hours H] BACKUP DATA_DIR");
    }

    /* the node's YAML: its node_id, and tombstone_ttl_hours unless given */

    if (rs.config) {
        if (kvs_config_defaults(&kc) != 0) {
            kvs_restore_fail(KVS_RESTORE_FAILED, "out of memory");
        }

        if (kvs_config_load(&kc, rs.config, err, sizeof(err)) != 0) {
            kvs_config_free(&kc);
            kvs_restore_fail(KVS_RESTORE_USAGE, "--config: %s", err);
        }

        if (!ttl_set) {
            rs.ttl_hours = kc.tombstone_ttl_hours;
        }

        if (kc.node_id && strlen(kc.node_id) < sizeof(rs.target)) {
            strcpy(rs.target, kc.node_id);
            rs.target_from = rs.config;
        }

        kvs_config_free(&kc);
    }

    rs.backup = arg[0];

    /* DATA_DIR without trailing slashes, and the directory it is in */

    len = strlen(arg[1]);

    while (len > 1 && arg[1][len - 1] == '/') {
        len--;
    }

    if (len == 0 || len + sizeof("/data.mdb") > sizeof(rs.data_dir)) {
        kvs_restore_fail(KVS_RESTORE_USAGE, "DATA_DIR \"%s\" is no usable "
                         "path", arg[1]);
    }

    memcpy(rs.data_dir, arg[1], len);
    rs.data_dir[len] = '\0';

    end = strrchr(rs.data_dir, '/');

    if (end == NULL) {
        strcpy(rs.parent, ".");

    } else if (end == rs.data_dir) {
        strcpy(rs.parent, "/");

    } else {
        memcpy(rs.parent, rs.data_dir, (size_t) (end - rs.data_dir));
        rs.parent[end - rs.data_dir] = '\0';
    }

    if (strcmp(rs.data_dir, "/") == 0) {
        kvs_restore_fail(KVS_RESTORE_USAGE, "DATA_DIR cannot be \"/\"");
    }
}


/*
 * Whether a process holds the store: every process that has an LMDB
 * environment open keeps a read lock on the first byte of its lock.mdb
 * (the lock LMDB takes to learn whether it is the first), so F_GETLK for
 * a write lock there names one of them.  nginx -t opens the store without
 * the lock file, and takes it for an instant only.
 */

static void
kvs_restore_held(const char *when)
{
    int           fd;
    char          path[KVS_RESTORE_FILE_MAX];
    struct flock  lk;

    snprintf(path, sizeof(path), "%s/lock.mdb", rs.data_dir);

    fd = open(path, O_RDONLY);

    if (fd == -1) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return;
        }

        kvs_restore_fail(KVS_RESTORE_FAILED, "cannot open \"%s\" to see "
                         "whether a node runs on it: %s", path,
                         strerror(errno));
    }

    memset(&lk, 0, sizeof(lk));
    lk.l_type = F_WRLCK;
    lk.l_whence = SEEK_SET;
    lk.l_start = 0;
    lk.l_len = 1;

    if (fcntl(fd, F_GETLK, &lk) == -1) {
        close(fd);
        kvs_restore_fail(KVS_RESTORE_FAILED, "cannot test the lock of "
                         "\"%s\": %s", path, strerror(errno));
    }

    close(fd);

    if (lk.l_type != F_UNLCK) {
        kvs_restore_fail(KVS_RESTORE_HELD, "a process (pid %ld) has the "
                         "store in \"%s\" open%s: stop the node that runs "
                         "on it, then restore", (long) lk.l_pid,
                         rs.data_dir, when);
    }
}


/*
 * Runs fn, which opens an LMDB store it cannot trust, in a child
 * process: LMDB checks little of the pages it reads, and a damaged store
 * (a backup damaged on its way, a DATA_DIR's, the reason to restore) makes
 * it fail an assertion or read outside its map.  What fn finds, in rs,
 * comes back through a pipe: rs holds no pointer but to static strings
 * and to its own members, the same in both processes.  An fn that fails
 * says why and exits with its code (its temporary directory gone), and
 * so does this process.  Returns 0, or the signal that ended the child.
 */

static int
kvs_restore_apart(void (*fn)(void))
{
    int            fd[2], status;
    char          *p;
    pid_t          pid;
    size_t         got;
    ssize_t        n;
    kvs_restore_t  found;

    fflush(stdout);
    fflush(stderr);

    if (pipe(fd) != 0) {
        kvs_restore_fail(KVS_RESTORE_FAILED, "pipe(): %s", strerror(errno));
    }

    pid = fork();

    if (pid == -1) {
        kvs_restore_fail(KVS_RESTORE_FAILED, "fork(): %s", strerror(errno));
    }

    if (pid == 0) {
        close(fd[0]);
        fn();

        for (p = (char *) &rs, got = 0; got < sizeof(rs); got += n) {
            n = write(fd[1], p + got, sizeof(rs) - got);

            if (n <= 0 && errno != EINTR) {
                _exit(KVS_RESTORE_FAILED);
            }

            if (n < 0) {
                n = 0;
            }
        }

        _exit(KVS_RESTORE_OK);
    }

    close(fd[1]);

    for (p = (char *) &found, got = 0; got < sizeof(found); got += n) {
        n = read(fd[0], p + got, sizeof(found) - got);

        if (n == -1 && errno == EINTR) {
            n = 0;
            continue;
        }

        if (n <= 0) {
            break;
        }
    }

    close(fd[0]);

    while (waitpid(pid, &status, 0) == -1) {
        if (errno != EINTR) {
            kvs_restore_fail(KVS_RESTORE_FAILED, "waitpid(): %s",
                             strerror(errno));
        }
    }

    if (WIFSIGNALED(status)) {
        return WTERMSIG(status);
    }

    if (WEXITSTATUS(status) != KVS_RESTORE_OK) {
        /* it said why; what it made is gone with its own cleanup */
        rs.tmp[0] = '\0';
        exit(WEXITSTATUS(status));
    }

    if (got != sizeof(found)) {
        kvs_restore_fail(KVS_RESTORE_FAILED, "the reading process ended "
                         "without its answer");
    }

    rs = found;

    return 0;
}


/*
 * The identity the restored store keeps: meta's node_id of the store in
 * DATA_DIR; of a data_dir without one (wiped, or a store too damaged to
 * read, which is a reason to restore), --config's node_id.
 */

static void
kvs_restore_target(void)
{
    int          sig;
    char         path[KVS_RESTORE_FILE_MAX];
    struct stat  st;

    if (stat(rs.data_dir, &rs.dir_st) == 0) {
        if (!S_ISDIR(rs.dir_st.st_mode)) {
            kvs_restore_fail(KVS_RESTORE_USAGE, "DATA_DIR \"%s\" is not a "
                             "directory", rs.data_dir);
        }

        rs.exists = 1;

    } else if (errno != ENOENT) {
        kvs_restore_fail(KVS_RESTORE_FAILED, "cannot read DATA_DIR \"%s\": "
                         "%s", rs.data_dir, strerror(errno));

    } else if (stat(rs.parent, &rs.dir_st) != 0
               || !S_ISDIR(rs.dir_st.st_mode))
    {
        kvs_restore_fail(KVS_RESTORE_USAGE, "DATA_DIR \"%s\" is missing, "
                         "and so is the directory \"%s\" it would go into",
                         rs.data_dir, rs.parent);
    }

    snprintf(path, sizeof(path), "%s/data.mdb", rs.data_dir);

    if (!rs.exists || stat(path, &st) != 0) {
        return;
    }

    rs.old_mdb = 1;
    rs.old_st = st;

    if (st.st_size == 0) {
        return;
    }

    sig = kvs_restore_apart(kvs_restore_target_read);

    if (sig != 0) {
        fprintf(stderr, "kvs-restore: note: the store in \"%s\" is "
                "damaged: reading it stopped on signal %d; it names no node "
                "that can be read\n", rs.data_dir, sig);
    }
}


/* DATA_DIR's node, read in a process of its own (kvs_restore_apart) */

static void
kvs_restore_target_read(void)
{
    int        rc;
    MDB_env   *env;
    MDB_txn   *txn;
    MDB_dbi    meta;
    MDB_val    key, val;
    uint64_t   size, need;

    env = NULL;
    txn = NULL;

    /* no node holds it (kvs_restore_held): read without the lock file */

    rc = mdb_env_create(&env);

    if (rc == 0) {
        rc = mdb_env_set_maxdbs(env, 16);
    }

    if (rc == 0) {
        rc = mdb_env_open(env, rs.data_dir, MDB_RDONLY | MDB_NOLOCK, 0600);
    }

    /* a store damaged, a reason to restore, must not fault the read */

    if (rc == 0 && kvs_store_env_size(env, &size, &need) == 0
        && size < need)
    {
        fprintf(stderr, "kvs-restore: note: the store in \"%s\" is cut "
                "short, and names no node that can be read\n", rs.data_dir);
        mdb_env_close(env);
        return;
    }

    if (rc == 0) {
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    }

    if (rc == 0) {
        rc = mdb_dbi_open(txn, "meta", 0, &meta);
    }

    if (rc == 0) {
        key.mv_data = KVS_NODE_ID;
        key.mv_size = sizeof(KVS_NODE_ID) - 1;
        rc = mdb_get(txn, meta, &key, &val);
    }

    if (rc == 0 && val.mv_size > 0 && val.mv_size < sizeof(rs.target)) {
        memcpy(rs.target, val.mv_data, val.mv_size);
        rs.target[val.mv_size] = '\0';
        rs.target_from = rs.data_dir;

    } else if (rs.target_from == NULL) {
        fprintf(stderr, "kvs-restore: note: the store in \"%s\" names no "
                "node (%s): the restored store keeps the backup's node\n",
                rs.data_dir, rc ? mdb_strerror(rc) : "an empty node_id");
    }

    if (txn) {
        mdb_txn_abort(txn);
    }

    mdb_env_close(env);
}


/* the node and the second a backup's file name gives, when it is one */

static void
kvs_restore_name(void)
{
    size_t       len, nlen;
    struct tm    tm;
    const char  *name, *stamp;

    name = strrchr(rs.backup, '/');
    name = name ? name + 1 : rs.backup;
    len = strlen(name);

    if (len < sizeof(KVS_RESTORE_PREFIX) - 1 + 2 + KVS_RESTORE_STAMP_LEN
              + sizeof(KVS_RESTORE_SUFFIX) - 1
        || strncmp(name, KVS_RESTORE_PREFIX, sizeof(KVS_RESTORE_PREFIX) - 1)
           != 0
        || strcmp(name + len - (sizeof(KVS_RESTORE_SUFFIX) - 1),
                  KVS_RESTORE_SUFFIX)
           != 0)
    {
        return;
    }

    stamp = name + len - (sizeof(KVS_RESTORE_SUFFIX) - 1)
            - KVS_RESTORE_STAMP_LEN;
    nlen = (size_t) (stamp - 1 - name) - (sizeof(KVS_RESTORE_PREFIX) - 1);

    memset(&tm, 0, sizeof(tm));

    if (stamp[-1] != '-' || nlen >= sizeof(rs.node)
        || sscanf(stamp, "%4d%2d%2dT%2d%2d%2dZ", &tm.tm_year, &tm.tm_mon,
                  &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec)
           != 6)
    {
        return;
    }

    tm.tm_year -= 1900;
    tm.tm_mon -= 1;

    memcpy(rs.node, name + sizeof(KVS_RESTORE_PREFIX) - 1, nlen);
    rs.node[nlen] = '\0';
    rs.node_from = "its file name";
    rs.name_ms = (uint64_t) timegm(&tm) * 1000;
}


/*
 * The temporary directory: beside DATA_DIR, so that the rename stays on
 * one file system; inside it when DATA_DIR is a mount point of its own.
 */

static void
kvs_restore_temp(void)
{
    const char   *in;
    struct stat   pst;

    in = rs.parent;

    if (rs.exists && stat(rs.parent, &pst) == 0
        && pst.st_dev != rs.dir_st.st_dev)
    {
        in = rs.data_dir;
    }

    if ((size_t) snprintf(rs.tmp, sizeof(rs.tmp), "%s/.kvs-restore-XXXXXX",
                          in)
        >= sizeof(rs.tmp) - sizeof("/data.mdb"))
    {
        rs.tmp[0] = '\0';
        kvs_restore_fail(KVS_RESTORE_USAGE, "DATA_DIR \"%s\" is too long a "
                         "path", rs.data_dir);
    }

    if (mkdtemp(rs.tmp) == NULL) {
        kvs_restore_fail(KVS_RESTORE_FAILED, "cannot make a temporary "
                         "directory in \"%s\": %s", in, strerror(errno));
    }

    snprintf(rs.tmp_mdb, sizeof(rs.tmp_mdb), "%s/data.mdb", rs.tmp);
}


/* BACKUP decompressed whole into the temporary data.mdb, and fsync'd */

static void
kvs_restore_unpack(void)
{
    int             in, out;
    char           *ibuf, *obuf;
    size_t          isize, osize, rest;
    ssize_t         n, w;
    uint64_t        read_total;
    ZSTD_inBuffer   ib;
    ZSTD_outBuffer  ob;
    ZSTD_DCtx      *dctx;
    struct stat     sb;

    in = open(rs.backup, O_RDONLY);
    if (in == -1) {
        kvs_restore_fail(KVS_RESTORE_USAGE, "cannot read the backup \"%s\": "
                         "%s", rs.backup, strerror(errno));
    }

    /* a directory opens, and fails only at its first read */
    if (fstat(in, &sb) == -1 || !S_ISREG(sb.st_mode)) {
        kvs_restore_fail(KVS_RESTORE_USAGE, "the backup \"%s\" is not a "
                         "regular file", rs.backup);
    }

    out = open(rs.tmp_mdb, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (out == -1) {
        kvs_restore_fail(KVS_RESTORE_FAILED, "cannot create \"%s\": %s",
                         rs.tmp_mdb, strerror(errno));
    }

    isize = ZSTD_DStreamInSize();
    osize = ZSTD_DStreamOutSize();
    ibuf = malloc(isize);
    obuf = malloc(osize);
    dctx = ZSTD_createDCtx();

    if (ibuf == NULL || obuf == NULL || dctx == NULL) {
        kvs_restore_fail(KVS_RESTORE_FAILED, "out of memory");
    }

    /* 1: no frame yet; afterwards what the last call says is left */
    rest = 1;
    read_total = 0;

    for ( ;; ) {
        n = read(in, ibuf, isize);

        if (n == -1) {
            kvs_restore_fail(KVS_RESTORE_FAILED, "cannot read the backup "
                             "\"%s\": %s", rs.backup, strerror(errno));
        }

        if (n == 0) {
            break;
        }

        /* a backup is one frame: the stream decoder would go on into
         * another (two files run together) and make one store of both */

        if (rest == 0) {
            kvs_restore_fail(KVS_RESTORE_DAMAGED, "\"%s\" is no backup: "
                             "its zstd frame ends after %llu bytes, and "
                             "more follow", rs.backup,
                             (unsigned long long) read_total);
        }

        if (read_total == 0
            && ZSTD_getFrameContentSize(ibuf, (size_t) n)
               == ZSTD_CONTENTSIZE_ERROR)
        {
            kvs_restore_fail(KVS_RESTORE_DAMAGED, "\"%s\" is no backup: it "
                             "does not start with a zstd frame", rs.backup);
        }

        read_total += (uint64_t) n;
        ib.src = ibuf;
        ib.size = (size_t) n;
        ib.pos = 0;

        while (ib.pos < ib.size) {
            ob.dst = obuf;
            ob.size = osize;
            ob.pos = 0;

            rest = ZSTD_decompressStream(dctx, &ob, &ib);

            if (ZSTD_isError(rest)) {
                kvs_restore_fail(KVS_RESTORE_DAMAGED, "\"%s\" is damaged: "
                                 "zstd stops %llu bytes into it: %s",
                                 rs.backup,
                                 (unsigned long long) (read_total - ib.size
                                                       + ib.pos),
                                 ZSTD_getErrorName(rest));
            }

            if (rest == 0 && ib.pos < ib.size) {
                kvs_restore_fail(KVS_RESTORE_DAMAGED, "\"%s\" is no backup: "
                                 "its zstd frame ends after %llu bytes, and "
                                 "more follow", rs.backup,
                                 (unsigned long long) (read_total - ib.size
                                                       + ib.pos));
            }

            for (w = 0; (size_t) w < ob.pos; w += n) {
                n = write(out, obuf + w, ob.pos - (size_t) w);

                if (n == -1) {
                    kvs_restore_fail(KVS_RESTORE_FAILED, "cannot write "
                                     "\"%s\": %s", rs.tmp_mdb,
                                     strerror(errno));
                }
            }

            rs.bytes += ob.pos;
        }
    }

    if (read_total == 0) {
        kvs_restore_fail(KVS_RESTORE_DAMAGED, "\"%s\" is empty",
                         rs.backup);
    }

    if (rest != 0) {
        kvs_restore_fail(KVS_RESTORE_DAMAGED, "\"%s\" is cut short: its zstd "
                         "frame ends after %llu bytes, unfinished, with "
                         "%llu bytes of data decompressed", rs.backup,
                         (unsigned long long) read_total,
                         (unsigned long long) rs.bytes);
    }

    ZSTD_freeDCtx(dctx);
    free(ibuf);
    free(obuf);
    close(in);

    if (fsync(out) == -1 || close(out) == -1) {
        kvs_restore_fail(KVS_RESTORE_FAILED, "cannot write \"%s\": %s",
                         rs.tmp_mdb, strerror(errno));
    }
}


/*
 * The decompressed file as a store: opened without a lock file (it is
 * this process's alone), checked, judged, marked, in one write
 * transaction that commits only when every check passed.
 */

static void
kvs_restore_check(void)
{
    int  sig;

    sig = kvs_restore_apart(kvs_restore_check_read);

    if (sig != 0) {
        kvs_restore_fail(KVS_RESTORE_DAMAGED, "\"%s\" holds a damaged LMDB "
                         "store: reading it stopped on signal %d", rs.backup,
                         sig);
    }
}


static void
kvs_restore_check_read(void)
{
    int           rc;
    uint64_t      size, need;
    MDB_env      *env;
    MDB_txn      *txn;
    MDB_dbi       meta;
    MDB_envinfo   info;

    rc = mdb_env_create(&env);

    if (rc == 0) {
        rc = mdb_env_set_maxdbs(env, 16);
    }

    if (rc != 0) {
        kvs_restore_fail(KVS_RESTORE_FAILED, "LMDB: %s", mdb_strerror(rc));
    }

    rc = mdb_env_open(env, rs.tmp, MDB_NOLOCK, 0600);

    if (rc != 0) {
        kvs_restore_fail(KVS_RESTORE_DAMAGED, "\"%s\" holds no LMDB store: "
                         "%s", rs.backup, mdb_strerror(rc));
    }

    if (kvs_store_env_size(env, &size, &need) != 0) {
        kvs_restore_fail(KVS_RESTORE_DAMAGED, "\"%s\" holds no readable "
                         "LMDB store", rs.backup);
    }

    if (size < need) {
        kvs_restore_fail(KVS_RESTORE_DAMAGED, "\"%s\" holds a store cut "
                         "short: %llu bytes of the %llu its last page needs",
                         rs.backup, (unsigned long long) size,
                         (unsigned long long) need);
    }

    rc = mdb_env_info(env, &info);

    if (rc != 0) {
        kvs_restore_fail(KVS_RESTORE_FAILED, "LMDB: %s", mdb_strerror(rc));
    }

    if (info.me_mapsize < need + KVS_RESTORE_ROOM) {
        rc = mdb_env_set_mapsize(env, need + KVS_RESTORE_ROOM);

        if (rc != 0) {
            kvs_restore_fail(KVS_RESTORE_FAILED, "LMDB: %s",
                             mdb_strerror(rc));
        }
    }

    rc = mdb_txn_begin(env, NULL, 0, &txn);

    if (rc != 0) {
        kvs_restore_fail(KVS_RESTORE_DAMAGED, "\"%s\" holds no readable "
                         "LMDB store: %s", rs.backup, mdb_strerror(rc));
    }

    kvs_restore_walk(txn, &meta);
    kvs_restore_judge();
    kvs_restore_mark(env, txn, meta);

    mdb_env_close(env);
}


/*
 * Every database of the store, every entry read: LMDB keeps no checksum,
 * so a walk is what finds a damaged page.  Then meta's schema version and
 * node_id, and the time the backup was taken at or after.
 */

static void
kvs_restore_walk(MDB_txn *txn, MDB_dbi *meta)
{
    int                rc;
    size_t             i;
    MDB_dbi            dbi[KVS_RESTORE_DBS];
    MDB_val            key, val;
    uint64_t           n, ms;
    MDB_cursor        *cur;
    const char        *name;
    kvs_record_hdr_t   hdr;

    for (i = 0; i < KVS_RESTORE_DBS; i++) {
        name = kvs_restore_dbs[i];

        rc = mdb_dbi_open(txn, name, 0, &dbi[i]);

        if (rc != 0) {
            kvs_restore_fail(KVS_RESTORE_DAMAGED, "\"%s\" is no KVS store: "
                             "its database \"%s\" %s", rs.backup, name,
                             rc == MDB_NOTFOUND ? "is missing"
                                                : mdb_strerror(rc));
        }

        rc = mdb_cursor_open(txn, dbi[i], &cur);

        if (rc != 0) {
            kvs_restore_fail(KVS_RESTORE_FAILED, "LMDB: %s",
                             mdb_strerror(rc));
        }

        n = 0;

        for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
             rc == 0;
             rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT))
        {
            /* kv's earlier versions, beside their records since schema
             * version 4, are not records */
            if (i == KVS_RESTORE_KV
                && kvs_store_key_is_record(key.mv_data, key.mv_size))
            {
                rs.records++;
            }

            if ((i == KVS_RESTORE_KV || i == KVS_RESTORE_REV)
                && kvs_record_decode(&hdr, val.mv_data, val.mv_size) != 0)
            {
                kvs_restore_fail(KVS_RESTORE_DAMAGED, "\"%s\" is damaged: "
                                 "entry %llu of \"%s\" is no record",
                                 rs.backup, (unsigned long long) n + 1,
                                 name);
            }

            n++;
        }

        if (rc != MDB_NOTFOUND) {
            kvs_restore_fail(KVS_RESTORE_DAMAGED, "\"%s\" is damaged: "
                             "reading \"%s\" after %llu entries: %s",
                             rs.backup, name, (unsigned long long) n,
                             mdb_strerror(rc));
        }

        mdb_cursor_close(cur);


    }

    *meta = dbi[KVS_RESTORE_META];

    key.mv_data = "schema_version";
    key.mv_size = sizeof("schema_version") - 1;

    rc = mdb_get(txn, *meta, &key, &val);

    if (rc != 0 || val.mv_size != 4) {
        kvs_restore_fail(KVS_RESTORE_DAMAGED, "\"%s\" is no KVS store: meta "
                         "holds no schema version", rs.backup);
    }

    rs.schema = kvs_get_u32(val.mv_data);

    if (rs.schema == 0 || rs.schema > KVS_SCHEMA_VERSION) {
        kvs_restore_fail(KVS_RESTORE_DAMAGED, "\"%s\" holds a store of schema "
                         "version %u, and this build reads version %u and "
                         "upgrades older ones: restore it with the build of "
                         "KVS that wrote it", rs.backup, rs.schema,
                         KVS_SCHEMA_VERSION);
    }

    key.mv_data = KVS_NODE_ID;
    key.mv_size = sizeof(KVS_NODE_ID) - 1;

    if (mdb_get(txn, *meta, &key, &val) == 0 && val.mv_size > 0
        && val.mv_size < sizeof(rs.node))
    {
        memcpy(rs.node, val.mv_data, val.mv_size);
        rs.node[val.mv_size] = '\0';
        rs.node_from = "its store";
    }

    /* the node's own last_seen, written by its agent every tick */

    if (rs.node[0] != '\0') {
        key.mv_data = rs.node;
        key.mv_size = strlen(rs.node);

        if (mdb_get(txn, dbi[KVS_RESTORE_MEMBERS], &key, &val) == 0
            && val.mv_size >= 8)
        {
            rs.taken_ms = kvs_get_u64(val.mv_data);
        }
    }

    /*
     * The newest version: by_time's keys begin with it, big-endian (of
     * dead records only since schema version 4), and so do the values of
     * the change feed, whose last entry is the last write while the feed
     * holds any.
     */

    for (i = KVS_RESTORE_BY_TIME; i <= KVS_RESTORE_CHANGES;
         i += KVS_RESTORE_CHANGES - KVS_RESTORE_BY_TIME)
    {
        if (mdb_cursor_open(txn, dbi[i], &cur) != 0) {
            continue;
        }

        if (mdb_cursor_get(cur, &key, &val, MDB_LAST) == 0) {
            ms = 0;

            if (i == KVS_RESTORE_BY_TIME && key.mv_size >= 8) {
                ms = kvs_get_be64(key.mv_data);

            } else if (i == KVS_RESTORE_CHANGES && val.mv_size >= 8) {
                ms = kvs_get_be64(val.mv_data);
            }

            if (ms > rs.taken_ms) {
                rs.taken_ms = ms;
            }
        }

        mdb_cursor_close(cur);
    }

    if (rs.taken_ms == 0) {
        rs.taken_ms = rs.name_ms;
    }
}


/* whose backup, and how old: what is refused unless told */

static void
kvs_restore_judge(void)
{
    char      taken[32];
    double    hours;
    uint64_t  now;

    if (rs.target[0] != '\0' && rs.node[0] == '\0' && !rs.allow_other_node) {
        kvs_restore_fail(KVS_RESTORE_OTHER_NODE, "\"%s\" names no node, "
                         "neither in its store nor in its file name, and "
                         "\"%s\" is node \"%s\"'s: give --allow-other-node "
                         "to restore it as \"%s\"'s store anyway",
                         rs.backup, rs.data_dir, rs.target, rs.target);
    }

    if (rs.target[0] != '\0' && rs.node[0] != '\0'
        && strcmp(rs.target, rs.node) != 0 && !rs.allow_other_node)
    {
        kvs_restore_fail(KVS_RESTORE_OTHER_NODE, "\"%s\" is a backup of node "
                         "\"%s\" (says %s), and \"%s\" is node \"%s\"'s (says "
                         "%s): give --allow-other-node to restore it as "
                         "\"%s\"'s store anyway", rs.backup, rs.node,
                         rs.node_from, rs.data_dir, rs.target,
                         rs.target_from, rs.target);
    }

    if (rs.allow_old) {
        return;
    }

    if (rs.taken_ms == 0) {
        kvs_restore_fail(KVS_RESTORE_TOO_OLD, "cannot tell when \"%s\" was "
                         "taken (its store holds no time, its name no "
                         "stamp), so not whether it is older than "
                         "tombstone_ttl_hours: give --allow-old to restore "
                         "it anyway", rs.backup);
    }

    now = (uint64_t) time(NULL) * 1000;
    hours = now > rs.taken_ms ? (double) (now - rs.taken_ms) / 3600000 : 0;

    if (hours > rs.ttl_hours) {
        kvs_restore_time(rs.taken_ms, taken, sizeof(taken));

        kvs_restore_fail(KVS_RESTORE_TOO_OLD, "\"%s\" was taken at %s or "
                         "later, %.1f hours ago, more than "
                         "tombstone_ttl_hours (%g): the cluster may have "
                         "purged the tombstones of keys deleted since, and "
                         "the backup would bring them back; give --allow-old "
                         "to restore it anyway", rs.backup, taken, hours,
                         rs.ttl_hours);
    }
}


/* meta's node_id, that of the node DATA_DIR is, and the syncing mark */

static void
kvs_restore_mark(MDB_env *env, MDB_txn *txn, MDB_dbi meta)
{
    int       rc;
    uint8_t   one[8];
    MDB_val   key, val;

    rc = 0;

    if (rs.target[0] != '\0') {
        key.mv_data = KVS_NODE_ID;
        key.mv_size = sizeof(KVS_NODE_ID) - 1;
        val.mv_data = rs.target;
        val.mv_size = strlen(rs.target);

        rc = mdb_put(txn, meta, &key, &val, 0);
    }

    if (rc == 0) {
        kvs_put_u64(one, 1);
        key.mv_data = KVS_SYNCING;
        key.mv_size = sizeof(KVS_SYNCING) - 1;
        val.mv_data = one;
        val.mv_size = sizeof(one);

        rc = mdb_put(txn, meta, &key, &val, 0);
    }

    if (rc == 0) {
        rc = mdb_txn_commit(txn);

    } else {
        mdb_txn_abort(txn);
    }

    if (rc == 0) {
        rc = mdb_env_sync(env, 1);
    }

    if (rc != 0) {
        kvs_restore_fail(KVS_RESTORE_FAILED, "cannot mark the restored store "
                         "in \"%s\": %s", rs.tmp, mdb_strerror(rc));
    }
}


/*
 * The restored data.mdb takes the place of DATA_DIR's by one rename, with
 * the owner, group and mode of the file it replaces (or, in a DATA_DIR
 * without one, DATA_DIR's owner and group, mode 0600).  A missing
 * DATA_DIR is made, 0700, owned like the directory it goes into.  The
 * lock file of the old store goes: LMDB makes a new one.
 */

static void
kvs_restore_place(void)
{
    char    path[KVS_RESTORE_FILE_MAX], lock[KVS_RESTORE_FILE_MAX];
    mode_t  mode;

    mode = rs.old_mdb ? rs.old_st.st_mode & 07777 : 0600;

    if (chmod(rs.tmp_mdb, mode) == -1) {
        kvs_restore_fail(KVS_RESTORE_FAILED, "cannot chmod \"%s\": %s",
                         rs.tmp_mdb, strerror(errno));
    }

    if (rs.old_mdb
        ? chown(rs.tmp_mdb, rs.old_st.st_uid, rs.old_st.st_gid) == -1
        : chown(rs.tmp_mdb, rs.dir_st.st_uid, rs.dir_st.st_gid) == -1)
    {
        kvs_restore_fail(KVS_RESTORE_FAILED, "cannot chown \"%s\" like "
                         "the store it replaces: %s", rs.tmp_mdb,
                         strerror(errno));
    }

    kvs_restore_fsync(rs.tmp_mdb, O_RDONLY);

    /* no node started meanwhile */

    kvs_restore_held(" (it started during the restore)");

    if (!rs.exists) {
        if (mkdir(rs.data_dir, 0700) == -1
            || chown(rs.data_dir, rs.dir_st.st_uid, rs.dir_st.st_gid) == -1)
        {
            kvs_restore_fail(KVS_RESTORE_FAILED, "cannot make DATA_DIR "
                             "\"%s\": %s", rs.data_dir, strerror(errno));
        }
    }

    snprintf(path, sizeof(path), "%s/data.mdb", rs.data_dir);
    snprintf(lock, sizeof(lock), "%s/lock.mdb", rs.data_dir);

    if (rename(rs.tmp_mdb, path) == -1) {
        kvs_restore_fail(KVS_RESTORE_FAILED, "cannot rename \"%s\" to "
                         "\"%s\": %s", rs.tmp_mdb, path, strerror(errno));
    }

    if (unlink(lock) == -1 && errno != ENOENT) {
        fprintf(stderr, "kvs-restore: note: cannot remove \"%s\": %s\n",
                lock, strerror(errno));
    }

    kvs_restore_fsync(rs.data_dir, O_RDONLY | O_DIRECTORY);

    kvs_restore_cleanup();

    if (!rs.exists) {
        kvs_restore_fsync(rs.parent, O_RDONLY | O_DIRECTORY);
    }
}


static void
kvs_restore_fsync(const char *path, int flags)
{
    int  fd;

    fd = open(path, flags);

    if (fd == -1 || fsync(fd) == -1) {
        kvs_restore_fail(KVS_RESTORE_FAILED, "cannot fsync \"%s\": %s", path,
                         strerror(errno));
    }

    close(fd);
}


/* the temporary directory goes, with what LMDB or the unpacking left */

static void
kvs_restore_cleanup(void)
{
    char  path[KVS_RESTORE_FILE_MAX];

    if (rs.tmp[0] == '\0') {
        return;
    }

    (void) unlink(rs.tmp_mdb);
    snprintf(path, sizeof(path), "%s/lock.mdb", rs.tmp);
    (void) unlink(path);
    (void) rmdir(rs.tmp);

    rs.tmp[0] = '\0';
}


static void
kvs_restore_time(uint64_t ms, char *buf, size_t size)
{
    time_t     t;
    struct tm  tm;

    t = (time_t) (ms / 1000);

    if (gmtime_r(&t, &tm) == NULL
        || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
    {
        snprintf(buf, size, "%llu ms", (unsigned long long) ms);
    }
}
