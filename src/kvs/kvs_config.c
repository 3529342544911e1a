/*
 * KVS node configuration loader.
 *
 * The whole YAML file is composed into a libyaml document first, so syntax
 * errors are reported before any value is looked at and every key keeps the
 * mark libyaml gave it.  The top-level mapping is then walked once: each key
 * is looked up in a static table that says where the value goes in
 * kvs_config_t, how it is parsed and which range it must fall in.  The first
 * problem stops the walk and becomes one sentence "<file>:<line>: <key>:
 * <problem>" with the key's line, because that is what an operator needs to
 * fix the file.  Scalars are interpreted by their text whatever their
 * quoting, so port: "8080" is as good as port: 8080; only plain "~", "null"
 * and empty scalars are nulls.  Values are stored into *cf as they are met:
 * a failed load may leave some fields changed, but every pointer in *cf is
 * always either NULL or owned by it, so kvs_config_free() is always safe.
 * Rules between keys (gossip_interval_max >= gossip_interval_min, seed
 * nodes need a cluster_secret, a client certificate needs its key, node_id
 * and bind_address:port must be names a member may have, auth needs a
 * jwt_secret_file and tokens that expire before their revocation is
 * purged) are checked once the whole mapping is read, against the values
 * then in *cf, since the keys may come in any order or from an earlier
 * file.
 */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "kvs_acl.h"
#include "kvs_backup.h"
#include "kvs_config.h"
#include "kvs_members.h"
#include "kvs_wire.h"


/* longest number text worth parsing; longer ones are not numbers we take */
#define KVS_CONFIG_NUMLEN     64

/* how much of a bad scalar is quoted back in an error message */
#define KVS_CONFIG_SHOWLEN    48

#define KVS_CONFIG_YEAR       31536000
#define KVS_CONFIG_YEAR_MS    (1000LL * KVS_CONFIG_YEAR)

/* the shortest interval of a timer of the cluster agent, in ms */
#define KVS_CONFIG_TIMER_MIN  10
#define KVS_CONFIG_KIB        1024ULL
#define KVS_CONFIG_MIB        (1024ULL * 1024)
#define KVS_CONFIG_GIB        (1024ULL * 1024 * 1024)
#define KVS_CONFIG_TIB        (1024ULL * 1024 * 1024 * 1024)

/* the lists of words of KVS_CONFIG_WORD keys, by the key's min */
#define KVS_CONFIG_WORDS_LOG_LEVEL   0
#define KVS_CONFIG_WORDS_TOP_LEVEL   1


typedef enum {
    KVS_CONFIG_STRING = 0,     /* char *, non-empty */
    KVS_CONFIG_FILE,           /* kvs_config_file_t, a non-empty path */
    KVS_CONFIG_SECRET,         /* char *, at least min bytes, never shown */
    KVS_CONFIG_INT,            /* int */
    KVS_CONFIG_INT64,          /* int64_t */
    KVS_CONFIG_BOOL,           /* int, 0 or 1 */
    KVS_CONFIG_WORD,           /* an enum, one of the words of the
                                  list kvs_config_words[min] */
    KVS_CONFIG_PERM,           /* uint16_t, three hex digits */
    KVS_CONFIG_NUMBER,         /* double, min < x <= max */
    KVS_CONFIG_SECONDS,        /* double seconds, min <= x <= max in ms */
    KVS_CONFIG_SIZE,           /* size_t, bytes with optional k/m/g */
    KVS_CONFIG_SEEDS,          /* char **, size_t */
    KVS_CONFIG_CRON            /* kvs_config_schedule_t, 5-field cron */
} kvs_config_type_e;


typedef struct {
    const char         *name;
    kvs_config_type_e   type;
    size_t              offset;
    int64_t             min;
    int64_t             max;
} kvs_config_key_t;


typedef struct {
    const char         *file;
    char               *err;
    size_t              errlen;
    yaml_document_t    *doc;
    kvs_config_t       *cf;
} kvs_config_ctx_t;


/* a word an enumerated key takes, and the value it stands for */
typedef struct {
    const char         *word;
    int                 value;
} kvs_config_word_t;


/* two number keys where the first must not be greater than the second */
typedef struct {
    const char         *low;
    const char         *high;
} kvs_config_order_t;


#define kvs_config_field(cf, key, type)                                       \
    ((type *) (void *) ((char *) (cf) + (key)->offset))


static const kvs_config_word_t  kvs_config_log_levels[] = {
    { "debug", KVS_LOG_DEBUG },
    { "info", KVS_LOG_INFO },
    { "warn", KVS_LOG_WARN },
    { "error", KVS_LOG_ERROR },
    { NULL, 0 }
};


static const kvs_config_word_t  kvs_config_top_levels[] = {
    { "any", KVS_TOP_LEVEL_ANY },
    { "admins", KVS_TOP_LEVEL_ADMINS },
    { NULL, 0 }
};


/* by KVS_CONFIG_WORDS_* */
static const kvs_config_word_t  *const kvs_config_words[] = {
    kvs_config_log_levels,
    kvs_config_top_levels
};


static const kvs_config_key_t  kvs_config_keys[] = {

    { "node_id", KVS_CONFIG_STRING,
      offsetof(kvs_config_t, node_id), 0, 0 },

    { "bind_address", KVS_CONFIG_STRING,
      offsetof(kvs_config_t, bind_address), 0, 0 },

    { "port", KVS_CONFIG_INT,
      offsetof(kvs_config_t, port), 1, 65535 },

    { "data_dir", KVS_CONFIG_STRING,
      offsetof(kvs_config_t, data_dir), 0, 0 },

    { "seed_nodes", KVS_CONFIG_SEEDS,
      offsetof(kvs_config_t, seed_nodes), 0, 0 },

    { "read_only", KVS_CONFIG_BOOL,
      offsetof(kvs_config_t, read_only), 0, 1 },

    { "log_level", KVS_CONFIG_WORD,
      offsetof(kvs_config_t, log_level), KVS_CONFIG_WORDS_LOG_LEVEL, 0 },

    /*
     * The agent re-arms a timer after each round: one shorter than 10 ms
     * would round down to 0 ms and fire again before the process ever
     * looks at its signals (a QUIT would never be handled).
     */
    { "gossip_interval_min", KVS_CONFIG_SECONDS,
      offsetof(kvs_config_t, gossip_interval_min), KVS_CONFIG_TIMER_MIN,
      KVS_CONFIG_YEAR_MS },

    { "gossip_interval_max", KVS_CONFIG_SECONDS,
      offsetof(kvs_config_t, gossip_interval_max), KVS_CONFIG_TIMER_MIN,
      KVS_CONFIG_YEAR_MS },

    { "sync_interval", KVS_CONFIG_SECONDS,
      offsetof(kvs_config_t, sync_interval), KVS_CONFIG_TIMER_MIN,
      KVS_CONFIG_YEAR_MS },

    { "catchup_interval", KVS_CONFIG_SECONDS,
      offsetof(kvs_config_t, catchup_interval), KVS_CONFIG_TIMER_MIN,
      KVS_CONFIG_YEAR_MS },

    /* 100 years: a guard against typos, not a policy */
    { "bootstrap_max_age_hours", KVS_CONFIG_NUMBER,
      offsetof(kvs_config_t, bootstrap_max_age_hours), 0, 876000 },

    { "tombstone_ttl_hours", KVS_CONFIG_NUMBER,
      offsetof(kvs_config_t, tombstone_ttl_hours), 0, 876000 },

    /* 10 minutes: anything longer would stall replication for good */
    { "throttle_delay_ms", KVS_CONFIG_INT64,
      offsetof(kvs_config_t, throttle_delay_ms), 0, 600000 },

    { "fetch_delay_ms", KVS_CONFIG_INT64,
      offsetof(kvs_config_t, fetch_delay_ms), 0, 600000 },

    /* at most what every peer takes of a record (kvs_wire.h) */
    { "max_json_size", KVS_CONFIG_SIZE,
      offsetof(kvs_config_t, max_json_size), 1,
      (int64_t) KVS_WIRE_VALUE_MAX },

    /* LMDB cannot usefully map less than a few pages */
    { "max_db_size", KVS_CONFIG_SIZE,
      offsetof(kvs_config_t, max_db_size),
      (int64_t) KVS_CONFIG_MIB, (int64_t) KVS_CONFIG_TIB },

    /* 16 bytes: a floor against short passwords, since anyone holding
     * one signed request can try guesses offline */
    { "cluster_secret", KVS_CONFIG_SECRET,
      offsetof(kvs_config_t, cluster_secret), 16, 0 },

    { "failure_timeout", KVS_CONFIG_NUMBER,
      offsetof(kvs_config_t, failure_timeout), 0, KVS_CONFIG_YEAR },

    { "removal_timeout", KVS_CONFIG_NUMBER,
      offsetof(kvs_config_t, removal_timeout), 0, KVS_CONFIG_YEAR },

    { "peer_ca_file", KVS_CONFIG_STRING,
      offsetof(kvs_config_t, peer_ca_file), 0, 0 },

    { "peer_cert_file", KVS_CONFIG_STRING,
      offsetof(kvs_config_t, peer_cert_file), 0, 0 },

    { "peer_key_file", KVS_CONFIG_STRING,
      offsetof(kvs_config_t, peer_key_file), 0, 0 },

    /*
     * 100 ms: no peer answers a request in less, so a shorter timeout
     * fails every call, and a node seeded to bootstrap would retry for
     * ever.  An hour: a peer silent for longer is gone, and a guard
     * against typos.
     */
    { "peer_timeout", KVS_CONFIG_SECONDS,
      offsetof(kvs_config_t, peer_timeout), 100, 3600 * 1000 },

    /*
     * A peer known by a host name is looked up again when calls to it
     * fail, at most once in this time: 100 ms keeps a dead peer's calls
     * from turning into a stream of DNS queries; an hour is a guard
     * against typos.
     */
    { "peer_resolve_interval", KVS_CONFIG_SECONDS,
      offsetof(kvs_config_t, peer_resolve_interval), 100, 3600 * 1000 },

    { "compression_enabled", KVS_CONFIG_BOOL,
      offsetof(kvs_config_t, compression_enabled), 0, 1 },

    /* zstd's levels up to 19; 20..22 need far more memory per thread */
    { "compression_level", KVS_CONFIG_INT,
      offsetof(kvs_config_t, compression_level), 1, 19 },

    { "compression_min_size", KVS_CONFIG_SIZE,
      offsetof(kvs_config_t, compression_min_size), 0,
      (int64_t) KVS_CONFIG_GIB },

    /* seconds; 100 years */
    { "default_ttl", KVS_CONFIG_INT64,
      offsetof(kvs_config_t, default_ttl), 0, 100LL * KVS_CONFIG_YEAR },

    { "revision_history", KVS_CONFIG_INT,
      offsetof(kvs_config_t, revision_history), 0, 100 },

    { "auth_enabled", KVS_CONFIG_BOOL,
      offsetof(kvs_config_t, auth_enabled), 0, 1 },

    { "jwt_secret_file", KVS_CONFIG_FILE,
      offsetof(kvs_config_t, jwt_secret_file), 0, 0 },

    { "admin_password_file", KVS_CONFIG_FILE,
      offsetof(kvs_config_t, admin_password_file), 0, 0 },

    /* a minute: a client must get some use of a login; 30 days: a token
     * is a bearer's key, and a stolen one must not be good for long */
    { "token_ttl", KVS_CONFIG_INT64,
      offsetof(kvs_config_t, token_ttl), 60, 30 * 86400 },

    { "default_permissions", KVS_CONFIG_PERM,
      offsetof(kvs_config_t, default_permissions), 0, 0 },

    { "top_level_create", KVS_CONFIG_WORD,
      offsetof(kvs_config_t, top_level_create), KVS_CONFIG_WORDS_TOP_LEVEL,
      0 },

    /* each thread of the KDF holds scrypt's memory while it hashes */
    { "password_threads", KVS_CONFIG_INT,
      offsetof(kvs_config_t, password_threads), 1, 64 },

    { "metrics_enabled", KVS_CONFIG_BOOL,
      offsetof(kvs_config_t, metrics_enabled), 0, 1 },

    /* a request count fits the 32 bits a window counts in */
    { "rate_limit_requests", KVS_CONFIG_INT64,
      offsetof(kvs_config_t, rate_limit_requests), 0, 1000000000 },

    /* a day: longer is a quota, not a rate */
    { "rate_limit_window", KVS_CONFIG_INT64,
      offsetof(kvs_config_t, rate_limit_window), 1, 86400 },

    /* 64 KiB: a slab pool's own pages leave room for a few hundred
     * clients; 1 GiB is millions of them */
    { "rate_limit_zone_size", KVS_CONFIG_SIZE,
      offsetof(kvs_config_t, rate_limit_zone_size),
      (int64_t) (64 * KVS_CONFIG_KIB), (int64_t) KVS_CONFIG_GIB },

    { "audit_enabled", KVS_CONFIG_BOOL,
      offsetof(kvs_config_t, audit_enabled), 0, 1 },

    { "audit_secret_file", KVS_CONFIG_FILE,
      offsetof(kvs_config_t, audit_secret_file), 0, 0 },

    { "audit_reads", KVS_CONFIG_BOOL,
      offsetof(kvs_config_t, audit_reads), 0, 1 },

    { "backup_enabled", KVS_CONFIG_BOOL,
      offsetof(kvs_config_t, backup_enabled), 0, 1 },

    { "backup_schedule", KVS_CONFIG_CRON,
      offsetof(kvs_config_t, backup_schedule), 0, 0 },

    { "backup_dir", KVS_CONFIG_FILE,
      offsetof(kvs_config_t, backup_dir), 0, 0 },

    /* 100 years: a guard against typos, as bootstrap_max_age_hours */
    { "backup_retention_days", KVS_CONFIG_INT,
      offsetof(kvs_config_t, backup_retention_days), 1, 36500 },

    /* as compression_level: 20..22 need far more memory */
    { "backup_compression_level", KVS_CONFIG_INT,
      offsetof(kvs_config_t, backup_compression_level), 1, 19 }
};

#define KVS_CONFIG_NKEYS                                                      \
    (sizeof(kvs_config_keys) / sizeof(kvs_config_keys[0]))


static const kvs_config_order_t  kvs_config_orders[] = {
    { "gossip_interval_min", "gossip_interval_max" },
    { "failure_timeout", "removal_timeout" }
};

#define KVS_CONFIG_NORDERS                                                    \
    (sizeof(kvs_config_orders) / sizeof(kvs_config_orders[0]))


static int kvs_config_apply(kvs_config_ctx_t *ctx, yaml_node_t *root);
static int kvs_config_set(kvs_config_ctx_t *ctx, const kvs_config_key_t *key,
    yaml_node_t *value, unsigned long line);
static int kvs_config_set_seeds(kvs_config_ctx_t *ctx,
    const kvs_config_key_t *key, yaml_node_t *value, unsigned long line);
static int kvs_config_check_names(kvs_config_ctx_t *ctx, yaml_node_t *root,
    const unsigned long *lines);
static int kvs_config_check(kvs_config_ctx_t *ctx, yaml_node_t *root,
    const unsigned long *lines);
static int kvs_config_check_audit(kvs_config_ctx_t *ctx, yaml_node_t *root,
    const unsigned long *lines);
static int kvs_config_check_auth(kvs_config_ctx_t *ctx, yaml_node_t *root,
    const unsigned long *lines);
static int kvs_config_set_word(kvs_config_ctx_t *ctx,
    const kvs_config_key_t *key, const char *text, size_t len,
    const char *desc, unsigned long line);
static const kvs_config_key_t *kvs_config_find(const char *name, size_t len);
static unsigned long kvs_config_key_line(yaml_node_t *root,
    const unsigned long *lines, const kvs_config_key_t *key);
static void kvs_config_free_secret(char *s);
static int kvs_config_parse_int(const char *p, size_t len, int64_t *v);
static int kvs_config_parse_number(const char *p, size_t len, double *v);
static int kvs_config_parse_size(const char *p, size_t len, uint64_t *v);
static int kvs_config_parse_bool(const char *p, size_t len, int *v);
static int kvs_config_is_null(yaml_node_t *node);
static const char *kvs_config_describe(yaml_node_t *node, char *buf,
    size_t size);
static unsigned long kvs_config_line(yaml_mark_t mark);
static unsigned long kvs_config_offset_line(FILE *fp, size_t offset);
static int kvs_config_error(kvs_config_ctx_t *ctx, unsigned long line,
    const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));


int
kvs_config_defaults(kvs_config_t *cf)
{
    char  host[256];

    /* the caller hands us uninitialised memory: nothing here is ours yet */
    memset(cf, 0, sizeof(kvs_config_t));

    /*
     * POSIX leaves the result unterminated when the name is truncated, so
     * the last byte is forced; an empty name is as useless as none.
     */
    if (gethostname(host, sizeof(host)) != 0) {
        host[0] = '\0';
    }

    host[sizeof(host) - 1] = '\0';

    cf->node_id = strdup(host[0] != '\0' ? host : "localhost");
    cf->bind_address = strdup("127.0.0.1");
    cf->data_dir = strdup("./data");

    if (cf->node_id == NULL || cf->bind_address == NULL
        || cf->data_dir == NULL)
    {
        kvs_config_free(cf);
        return -1;
    }

    cf->port = 8080;
    cf->seed_nodes = NULL;
    cf->nseed_nodes = 0;
    cf->read_only = 0;
    cf->log_level = KVS_LOG_INFO;

    cf->gossip_interval_min = 60;
    cf->gossip_interval_max = 120;
    cf->sync_interval = 300;
    cf->catchup_interval = 120;
    cf->bootstrap_max_age_hours = 720;
    cf->tombstone_ttl_hours = 168;

    cf->throttle_delay_ms = 100;
    cf->fetch_delay_ms = 50;

    cf->max_json_size = (size_t) KVS_CONFIG_MIB;
    cf->max_db_size = (size_t) KVS_CONFIG_GIB;

    /* no secret: a standalone node has no peers to authenticate */
    cf->cluster_secret = NULL;
    cf->failure_timeout = 300;
    cf->removal_timeout = 600;
    cf->peer_ca_file = NULL;
    cf->peer_cert_file = NULL;
    cf->peer_key_file = NULL;
    cf->peer_timeout = 5;
    cf->peer_resolve_interval = 5;

    cf->compression_enabled = 1;
    cf->compression_level = 3;
    cf->compression_min_size = 256;
    cf->default_ttl = 0;
    cf->revision_history = 3;

    /* auth off: the original's open API */
    cf->auth_enabled = 0;
    cf->audit_enabled = -1;
    cf->audit_reads = 0;
    cf->token_ttl = 3600;
    /* the CDWR meaning of the POSIX 0744 keys were written with before */
    cf->default_permissions = 0xf11;
    cf->top_level_create = KVS_TOP_LEVEL_ANY;
    cf->password_threads = 1;

    /* counting costs a few atomic adds a request: on unless turned off */
    cf->metrics_enabled = 1;

    /* no limit, as the original before its Phase 2 */
    cf->rate_limit_requests = 0;
    cf->rate_limit_window = 60;
    cf->rate_limit_zone_size = (size_t) KVS_CONFIG_MIB;

    /* daily at midnight UTC, a week of files kept, as the original */
    cf->backup_enabled = 1;
    cf->backup_retention_days = 7;
    cf->backup_compression_level = 3;

    if (kvs_cron_parse(&cf->backup_schedule.cron, KVS_CRON_DEFAULT,
                       sizeof(KVS_CRON_DEFAULT) - 1, NULL, 0)
        != 0)
    {
        kvs_config_free(cf);
        return -1;
    }

    return 0;
}


int
kvs_config_load(kvs_config_t *cf, const char *file, char *err,
    size_t errlen)
{
    int                rc, loaded, extra_loaded;
    FILE              *fp;
    struct stat        st;
    yaml_node_t       *extra_root;
    yaml_parser_t      parser;
    yaml_document_t    doc, extra;
    kvs_config_ctx_t   ctx;

    ctx.file = file;
    ctx.err = err;
    ctx.errlen = errlen;
    ctx.doc = &doc;
    ctx.cf = cf;

    if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }

    fp = fopen(file, "rb");
    if (fp == NULL) {
        return kvs_config_error(&ctx, 0, NULL, "%s", strerror(errno));
    }

    /* fopen() opens a directory fine on Linux; libyaml would then only say
     * "input error", which tells the operator nothing */
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(fp);
        return kvs_config_error(&ctx, 0, NULL, "%s", strerror(EISDIR));
    }

    if (!yaml_parser_initialize(&parser)) {
        fclose(fp);
        return kvs_config_error(&ctx, 0, NULL, "out of memory");
    }

    yaml_parser_set_input_file(&parser, fp);

    rc = -1;
    loaded = 0;
    extra_loaded = 0;

    if (!yaml_parser_load(&parser, &doc)) {
        goto yaml_error;
    }

    loaded = 1;

    /*
     * A second document would be silently ignored by a reader that only
     * takes the first one; the rest of the file is read anyway, so that a
     * syntax error past the first document is not missed either.
     */
    if (!yaml_parser_load(&parser, &extra)) {
        goto yaml_error;
    }

    extra_loaded = 1;

    extra_root = yaml_document_get_root_node(&extra);
    if (extra_root != NULL) {
        kvs_config_error(&ctx, kvs_config_line(extra_root->start_mark), NULL,
                         "a second YAML document is not allowed");
        goto done;
    }

    rc = kvs_config_apply(&ctx, yaml_document_get_root_node(&doc));
    goto done;

yaml_error:

    switch (parser.error) {

    case YAML_MEMORY_ERROR:
        kvs_config_error(&ctx, 0, NULL, "out of memory");
        break;

    case YAML_READER_ERROR:
        /* the reader reports a byte offset, its mark is not filled in */
        if (ferror(fp)) {
            kvs_config_error(&ctx, 0, NULL, "%s", strerror(errno));

        } else {
            kvs_config_error(&ctx,
                             kvs_config_offset_line(fp,
                                                    parser.problem_offset),
                             NULL, "%s at byte %lu",
                             parser.problem ? parser.problem : "read error",
                             (unsigned long) parser.problem_offset);
        }
        break;

    default:
        kvs_config_error(&ctx, parser.problem_mark.line + 1, NULL, "%s",
                         parser.problem ? parser.problem : "YAML error");
        break;
    }

done:

    if (extra_loaded) {
        yaml_document_delete(&extra);
    }

    if (loaded) {
        yaml_document_delete(&doc);
    }

    yaml_parser_delete(&parser);
    fclose(fp);

    return rc;
}


void
kvs_config_free(kvs_config_t *cf)
{
    size_t  i;

    free(cf->node_id);
    free(cf->bind_address);
    free(cf->data_dir);
    free(cf->peer_ca_file);
    free(cf->peer_cert_file);
    free(cf->peer_key_file);
    free(cf->jwt_secret_file.path);
    free(cf->admin_password_file.path);
    free(cf->audit_secret_file.path);
    free(cf->backup_dir.path);
    free(cf->backup_schedule.expr);
    kvs_config_free_secret(cf->cluster_secret);

    for (i = 0; i < cf->nseed_nodes; i++) {
        free(cf->seed_nodes[i]);
    }

    free(cf->seed_nodes);

    /* a second call, or a load after free, must find nothing to free */
    cf->node_id = NULL;
    cf->bind_address = NULL;
    cf->data_dir = NULL;
    cf->peer_ca_file = NULL;
    cf->peer_cert_file = NULL;
    cf->peer_key_file = NULL;
    memset(&cf->jwt_secret_file, 0, sizeof(kvs_config_file_t));
    memset(&cf->admin_password_file, 0, sizeof(kvs_config_file_t));
    memset(&cf->audit_secret_file, 0, sizeof(kvs_config_file_t));
    memset(&cf->backup_dir, 0, sizeof(kvs_config_file_t));
    cf->backup_schedule.expr = NULL;
    cf->cluster_secret = NULL;
    cf->seed_nodes = NULL;
    cf->nseed_nodes = 0;
}


static int
kvs_config_apply(kvs_config_ctx_t *ctx, yaml_node_t *root)
{
    char                     desc[KVS_CONFIG_SHOWLEN + 8];
    size_t                   i, n;
    const char              *name;
    yaml_node_t             *knode, *vnode;
    unsigned long            line;
    unsigned long            lines[KVS_CONFIG_NKEYS];
    yaml_node_pair_t        *pair;
    const kvs_config_key_t  *key;

    /* an empty file, or one holding only comments or "---", means
     * "all defaults", which is what a fresh node wants */
    if (root == NULL || kvs_config_is_null(root)) {
        return 0;
    }

    if (root->type != YAML_MAPPING_NODE) {
        return kvs_config_error(ctx, kvs_config_line(root->start_mark), NULL,
                                "expected a mapping at the top level, got %s",
                                kvs_config_describe(root, desc,
                                                    sizeof(desc)));
    }

    /* the line of each key met, 0 for keys not in the file: it tells a
     * duplicate, and where a rule between keys is reported */
    memset(lines, 0, sizeof(lines));

    for (pair = root->data.mapping.pairs.start;
         pair < root->data.mapping.pairs.top;
         pair++)
    {
        knode = yaml_document_get_node(ctx->doc, pair->key);
        vnode = yaml_document_get_node(ctx->doc, pair->value);

        line = kvs_config_line(knode->start_mark);

        if (knode->type != YAML_SCALAR_NODE) {
            return kvs_config_error(ctx, line, NULL,
                                    "expected a key name, got %s",
                                    kvs_config_describe(knode, desc,
                                                        sizeof(desc)));
        }

        name = (const char *) knode->data.scalar.value;
        key = kvs_config_find(name, knode->data.scalar.length);

        if (key == NULL) {
            /* the key back, cut short at a control byte (a quoted key may
             * hold a newline or a terminal's escape) or at a length that
             * keeps the error one readable line */
            for (n = 0; n < knode->data.scalar.length
                        && n < KVS_CONFIG_SHOWLEN; n++)
            {
                if ((unsigned char) name[n] < 0x20) {
                    break;
                }
            }

            return kvs_config_error(ctx, line, NULL, "%.*s%s: unknown key",
                                    (int) n, name,
                                    n < knode->data.scalar.length
                                    ? "..." : "");
        }

        i = (size_t) (key - kvs_config_keys);

        if (lines[i] != 0) {
            return kvs_config_error(ctx, line, key->name, "duplicate key");
        }

        lines[i] = line;

        if (kvs_config_set(ctx, key, vnode, line) != 0) {
            return -1;
        }
    }

    return kvs_config_check(ctx, root, lines);
}


static const kvs_config_key_t *
kvs_config_find(const char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < KVS_CONFIG_NKEYS; i++) {
        if (strlen(kvs_config_keys[i].name) == len
            && memcmp(kvs_config_keys[i].name, name, len) == 0)
        {
            return &kvs_config_keys[i];
        }
    }

    return NULL;
}


/* the ms in a NUMBER key's unit, hours or seconds, as its users convert
 * it (tombstone_ttl_hours * 3600000, failure_timeout * 1000) */

static double
kvs_config_number_ms(const kvs_config_key_t *key)
{
    size_t  len;

    len = strlen(key->name);

    return (len > sizeof("_hours") - 1
            && strcmp(key->name + len - (sizeof("_hours") - 1), "_hours")
               == 0)
           ? 3600000.0 : 1000.0;
}


static int
kvs_config_set(kvs_config_ctx_t *ctx, const kvs_config_key_t *key,
    yaml_node_t *value, unsigned long line)
{
    int                 b, rc;
    char               *s, **sp;
    char                buf[KVS_CONFIG_SHOWLEN + 8];
    char                why[KVS_CRON_ERRLEN];
    size_t              len;
    double              d, ms;
    int64_t             n;
    uint16_t            perm;
    uint64_t            u;
    kvs_cron_t          cron;
    const char         *text, *desc;
    kvs_config_file_t  *file;
    kvs_config_schedule_t  *schedule;

    if (key->type == KVS_CONFIG_SEEDS) {
        return kvs_config_set_seeds(ctx, key, value, line);
    }

    /* the parsers set these on success only, which gcc -O2 cannot see */
    b = 0;
    n = 0;
    d = 0;
    u = 0;
    perm = 0;

    desc = kvs_config_describe(value, buf, sizeof(buf));

    if (value->type != YAML_SCALAR_NODE || kvs_config_is_null(value)) {
        text = NULL;
        len = 0;

    } else {
        text = (const char *) value->data.scalar.value;
        len = value->data.scalar.length;
    }

    switch (key->type) {

    case KVS_CONFIG_SECRET:

        /*
         * A secret is never quoted back, not even its first bytes, since
         * the message ends up in error logs; "got" only names a type.
         */
        if (text == NULL) {
            return kvs_config_error(ctx, line, key->name,
                                    "expected a string, got %s", desc);
        }

        if (strlen(text) != len) {
            return kvs_config_error(ctx, line, key->name,
                                    "must not contain a NUL byte");
        }

        if (len < (size_t) key->min) {
            return kvs_config_error(ctx, line, key->name,
                                    "must be at least %lld bytes long",
                                    (long long) key->min);
        }

        s = strdup(text);
        if (s == NULL) {
            return kvs_config_error(ctx, line, key->name, "out of memory");
        }

        sp = kvs_config_field(ctx->cf, key, char *);
        kvs_config_free_secret(*sp);
        *sp = s;

        return 0;

    case KVS_CONFIG_STRING:
    case KVS_CONFIG_FILE:

        /* a "\0" escape would silently cut the string at strdup() */
        if (text == NULL || len == 0 || strlen(text) != len) {
            return kvs_config_error(ctx, line, key->name,
                                    "expected a non-empty string, got %s",
                                    desc);
        }

        s = strdup(text);
        if (s == NULL) {
            return kvs_config_error(ctx, line, key->name, "out of memory");
        }

        if (key->type == KVS_CONFIG_FILE) {
            file = kvs_config_field(ctx->cf, key, kvs_config_file_t);
            file->line = line;
            sp = &file->path;

        } else {
            sp = kvs_config_field(ctx->cf, key, char *);
        }

        free(*sp);
        *sp = s;

        return 0;

    case KVS_CONFIG_INT:
    case KVS_CONFIG_INT64:

        rc = (text == NULL) ? -1 : kvs_config_parse_int(text, len, &n);

        if (rc == -1) {
            return kvs_config_error(ctx, line, key->name,
                                    "expected an integer, got %s", desc);
        }

        if (rc == -2 || n < key->min || n > key->max) {
            return kvs_config_error(ctx, line, key->name,
                                    "%.*s is out of range (%lld..%lld)",
                                    KVS_CONFIG_SHOWLEN, text,
                                    (long long) key->min,
                                    (long long) key->max);
        }

        if (key->type == KVS_CONFIG_INT) {
            *kvs_config_field(ctx->cf, key, int) = (int) n;

        } else {
            *kvs_config_field(ctx->cf, key, int64_t) = n;
        }

        return 0;

    case KVS_CONFIG_BOOL:

        if (text == NULL || kvs_config_parse_bool(text, len, &b) != 0) {
            return kvs_config_error(ctx, line, key->name,
                                    "expected a boolean (true/false, yes/no, "
                                    "on/off), got %s", desc);
        }

        *kvs_config_field(ctx->cf, key, int) = b;

        return 0;

    case KVS_CONFIG_WORD:
        return kvs_config_set_word(ctx, key, text, len, desc, line);

    case KVS_CONFIG_CRON:

        if (text == NULL || len == 0 || strlen(text) != len) {
            return kvs_config_error(ctx, line, key->name,
                                    "expected a cron expression such as "
                                    "\"0 0 * * *\", got %s", desc);
        }

        if (kvs_cron_parse(&cron, text, len, why, sizeof(why)) != 0) {
            return kvs_config_error(ctx, line, key->name, "%s", why);
        }

        s = strdup(text);
        if (s == NULL) {
            return kvs_config_error(ctx, line, key->name, "out of memory");
        }

        schedule = kvs_config_field(ctx->cf, key, kvs_config_schedule_t);
        free(schedule->expr);
        schedule->expr = s;
        schedule->cron = cron;

        return 0;

    case KVS_CONFIG_PERM:

        if (text == NULL || kvs_perm_parse(text, len, &perm) != 0) {
            return kvs_config_error(ctx, line, key->name,
                                    "expected three hex digits of C 8, D 4, "
                                    "W 2 and R 1 for owner, group and "
                                    "others, as \"f11\", got %s", desc);
        }

        *kvs_config_field(ctx->cf, key, uint16_t) = perm;

        return 0;

    case KVS_CONFIG_NUMBER:

        rc = (text == NULL) ? -1 : kvs_config_parse_number(text, len, &d);

        if (rc == -1) {
            return kvs_config_error(ctx, line, key->name,
                                    "expected a number, got %s", desc);
        }

        /* the lower bound is exclusive: a zero interval would spin */
        if (rc == -2 || !(d > (double) key->min) || d > (double) key->max) {
            return kvs_config_error(ctx, line, key->name,
                                    "%.*s is out of range (> %lld and "
                                    "<= %lld)",
                                    KVS_CONFIG_SHOWLEN, text,
                                    (long long) key->min,
                                    (long long) key->max);
        }

        /* its users count whole ms: less than one would be 0, no time
         * at all (tombstones purged at once, members failed at once) */
        ms = kvs_config_number_ms(key);

        if (!(d * ms >= 1.0)) {
            return kvs_config_error(ctx, line, key->name,
                                    "%.*s is out of range: less than a "
                                    "millisecond (%.9g)",
                                    KVS_CONFIG_SHOWLEN, text, 1.0 / ms);
        }

        *kvs_config_field(ctx->cf, key, double) = d;

        return 0;

    case KVS_CONFIG_SECONDS:

        rc = (text == NULL) ? -1 : kvs_config_parse_number(text, len, &d);

        if (rc == -1) {
            return kvs_config_error(ctx, line, key->name,
                                    "expected a number of seconds, got %s",
                                    desc);
        }

        /* the bounds are whole ms: "/ 1000" is exact to the nearest double,
         * as the parsed "0.01" is */
        if (rc == -2 || !(d >= (double) key->min / 1000)
            || d > (double) key->max / 1000)
        {
            return kvs_config_error(ctx, line, key->name,
                                    "%.*s is out of range (%.15g..%.15g "
                                    "seconds)",
                                    KVS_CONFIG_SHOWLEN, text,
                                    (double) key->min / 1000,
                                    (double) key->max / 1000);
        }

        *kvs_config_field(ctx->cf, key, double) = d;

        return 0;

    case KVS_CONFIG_SIZE:

        rc = (text == NULL) ? -1 : kvs_config_parse_size(text, len, &u);

        if (rc == -1) {
            return kvs_config_error(ctx, line, key->name,
                                    "expected a size in bytes with an "
                                    "optional k, m or g suffix, got %s",
                                    desc);
        }

        if (rc == -2 || u < (uint64_t) key->min || u > (uint64_t) key->max
            || u > (uint64_t) SIZE_MAX)
        {
            return kvs_config_error(ctx, line, key->name,
                                    "%.*s is out of range (%lld..%lld)",
                                    KVS_CONFIG_SHOWLEN, text,
                                    (long long) key->min,
                                    (long long) key->max);
        }

        *kvs_config_field(ctx->cf, key, size_t) = (size_t) u;

        return 0;

    default:
        break;
    }

    return kvs_config_error(ctx, line, key->name, "unsupported key type");
}


/*
 * An enumerated key: its text is one of the key's words, in any case, and
 * any other is answered with the list, "expected debug, info, warn or
 * error".  The value is stored as an int, the size gcc and clang give an
 * enum of small values.
 */

static int
kvs_config_set_word(kvs_config_ctx_t *ctx, const kvs_config_key_t *key,
    const char *text, size_t len, const char *desc, unsigned long line)
{
    int                       n;
    char                      list[2 * KVS_CONFIG_SHOWLEN];
    size_t                    i, pos;
    const char               *sep;
    const kvs_config_word_t  *words;

    words = kvs_config_words[key->min];

    if (text != NULL && strlen(text) == len) {

        for (i = 0; words[i].word != NULL; i++) {
            if (strcasecmp(text, words[i].word) == 0) {
                *kvs_config_field(ctx->cf, key, int) = words[i].value;
                return 0;
            }
        }
    }

    pos = 0;
    list[0] = '\0';

    for (i = 0; words[i].word != NULL; i++) {
        sep = (i == 0) ? "" : (words[i + 1].word == NULL) ? " or " : ", ";

        n = snprintf(list + pos, sizeof(list) - pos, "%s%s", sep,
                     words[i].word);
        if (n < 0 || (size_t) n >= sizeof(list) - pos) {
            break;
        }

        pos += (size_t) n;
    }

    return kvs_config_error(ctx, line, key->name, "expected %s, got %s",
                            list, desc);
}


/*
 * The new list is built aside and only then replaces the old one, so that a
 * bad item leaves the previous list, and nothing half-built, in *cf.
 */

static int
kvs_config_set_seeds(kvs_config_ctx_t *ctx, const kvs_config_key_t *key,
    yaml_node_t *value, unsigned long line)
{
    size_t            i, n;
    char            **seeds;
    char              desc[KVS_CONFIG_SHOWLEN + 8];
    kvs_address_t     address;
    yaml_node_t      *item;
    yaml_node_item_t *it;

    if (kvs_config_is_null(value)) {
        n = 0;

    } else if (value->type != YAML_SEQUENCE_NODE) {
        return kvs_config_error(ctx, line, key->name,
                                "expected a sequence of strings, got %s",
                                kvs_config_describe(value, desc,
                                                    sizeof(desc)));

    } else {
        n = (size_t) (value->data.sequence.items.top
                      - value->data.sequence.items.start);
    }

    seeds = NULL;

    if (n > 0) {
        seeds = calloc(n, sizeof(char *));
        if (seeds == NULL) {
            return kvs_config_error(ctx, line, key->name, "out of memory");
        }
    }

    for (i = 0; i < n; i++) {
        it = value->data.sequence.items.start + i;
        item = yaml_document_get_node(ctx->doc, *it);

        if (item->type != YAML_SCALAR_NODE || kvs_config_is_null(item)
            || item->data.scalar.length == 0
            || strlen((char *) item->data.scalar.value)
               != item->data.scalar.length)
        {
            kvs_config_error(ctx, line, key->name,
                             "item %lu: expected a non-empty string, got %s",
                             (unsigned long) (i + 1),
                             kvs_config_describe(item, desc, sizeof(desc)));
            goto failed;
        }

        if (kvs_address_parse((char *) item->data.scalar.value,
                              item->data.scalar.length, &address)
            != 0)
        {
            kvs_config_error(ctx, line, key->name,
                             "item %lu: %s is not host:port or an "
                             "http(s):// URL",
                             (unsigned long) (i + 1),
                             kvs_config_describe(item, desc, sizeof(desc)));
            goto failed;
        }

        seeds[i] = strdup((char *) item->data.scalar.value);
        if (seeds[i] == NULL) {
            kvs_config_error(ctx, line, key->name, "out of memory");
            goto failed;
        }
    }

    for (i = 0; i < ctx->cf->nseed_nodes; i++) {
        free(ctx->cf->seed_nodes[i]);
    }

    free(ctx->cf->seed_nodes);

    ctx->cf->seed_nodes = seeds;
    ctx->cf->nseed_nodes = n;

    return 0;

failed:

    /* calloc() left the unfilled slots NULL */
    for (i = 0; i < n; i++) {
        free(seeds[i]);
    }

    free(seeds);

    return -1;
}


/*
 * The rules between keys, checked after the whole mapping is read since
 * either key may come first.  Each error names the key an operator would
 * most likely change, at its line; when that key is not in this file, the
 * conflict is with a default or a value loaded before, and the file's last
 * line is given instead.
 */

static int
kvs_config_check(kvs_config_ctx_t *ctx, yaml_node_t *root,
    const unsigned long *lines)
{
    size_t                   i;
    double                   low, high;
    const char              *set, *unset;
    const kvs_config_key_t  *lkey, *hkey;

    for (i = 0; i < KVS_CONFIG_NORDERS; i++) {
        lkey = kvs_config_find(kvs_config_orders[i].low,
                               strlen(kvs_config_orders[i].low));
        hkey = kvs_config_find(kvs_config_orders[i].high,
                               strlen(kvs_config_orders[i].high));

        low = *kvs_config_field(ctx->cf, lkey, double);
        high = *kvs_config_field(ctx->cf, hkey, double);

        if (high < low) {
            return kvs_config_error(ctx,
                                    kvs_config_key_line(root, lines, hkey),
                                    hkey->name,
                                    "%g is less than %s (%g)",
                                    high, lkey->name, low);
        }
    }

    /*
     * Peers refuse unsigned internal requests, so a node that would join a
     * cluster without a secret could never be part of it: better to say so
     * at "nginx -t" than to fail every gossip round.
     */
    if (ctx->cf->nseed_nodes > 0 && ctx->cf->cluster_secret == NULL) {
        hkey = kvs_config_find("seed_nodes", sizeof("seed_nodes") - 1);

        return kvs_config_error(ctx, kvs_config_key_line(root, lines, hkey),
                                hkey->name,
                                "seed_nodes are set but cluster_secret is "
                                "not: every node of a cluster needs the same "
                                "cluster_secret");
    }

    /* a client certificate is presented with its key, or not at all */
    if ((ctx->cf->peer_cert_file == NULL) != (ctx->cf->peer_key_file == NULL))
    {
        set = ctx->cf->peer_cert_file ? "peer_cert_file" : "peer_key_file";
        unset = ctx->cf->peer_cert_file ? "peer_key_file" : "peer_cert_file";
        lkey = kvs_config_find(set, strlen(set));

        return kvs_config_error(ctx, kvs_config_key_line(root, lines, lkey),
                                lkey->name,
                                "is set but %s is not: the agent needs both "
                                "to present a client certificate", unset);
    }

    if (kvs_config_check_auth(ctx, root, lines) != 0) {
        return -1;
    }

    if (kvs_config_check_audit(ctx, root, lines) != 0) {
        return -1;
    }

    return kvs_config_check_names(ctx, root, lines);
}


/*
 * The audit log is on by default where auth is, so that a node whose
 * users are checked also keeps who did what, and off elsewhere, so that
 * configurations written before it still pass "nginx -t".  Its entries
 * are signed with audit_secret_file's secret: without one no entry could
 * be written.  That the file lies outside data_dir is checked where both
 * paths are full (the module).
 */

static int
kvs_config_check_audit(kvs_config_ctx_t *ctx, yaml_node_t *root,
    const unsigned long *lines)
{
    const kvs_config_key_t  *key;

    if (ctx->cf->audit_enabled < 0) {
        ctx->cf->audit_enabled = ctx->cf->auth_enabled;
    }

    if (!ctx->cf->audit_enabled || ctx->cf->audit_secret_file.path != NULL) {
        return 0;
    }

    key = kvs_config_find("audit_enabled", sizeof("audit_enabled") - 1);

    if (lines[key - kvs_config_keys] == 0) {
        key = kvs_config_find("auth_enabled", sizeof("auth_enabled") - 1);
    }

    return kvs_config_error(ctx, kvs_config_key_line(root, lines, key),
                            key->name,
                            "turns the audit log on, but audit_secret_file "
                            "is not set: add audit_secret_file, the path of "
                            "a file of one secret of at least 32 bytes, "
                            "outside data_dir (or set audit_enabled: "
                            "false)");
}


/*
 * With auth on, tokens are signed and verified with the secrets of
 * jwt_secret_file: without it nobody could log in, which is better said at
 * "nginx -t".  A token is revoked by a tombstone of its digest, purged
 * tombstone_ttl_hours after the revocation: a token still unexpired then
 * would be good again, so tokens must not live longer than tombstones.
 * With auth off there are no tokens, and a short tombstone_ttl_hours is
 * fine.
 */

static int
kvs_config_check_auth(kvs_config_ctx_t *ctx, yaml_node_t *root,
    const unsigned long *lines)
{
    double                   purge;
    const kvs_config_key_t  *key, *ttl, *hours;

    static const char  why[] = "a revoked token would be valid again once "
                               "its tombstone is purged";

    if (!ctx->cf->auth_enabled) {
        return 0;
    }

    if (ctx->cf->jwt_secret_file.path == NULL) {
        key = kvs_config_find("auth_enabled", sizeof("auth_enabled") - 1);

        return kvs_config_error(ctx, kvs_config_key_line(root, lines, key),
                                key->name,
                                "is true but jwt_secret_file is not set: add "
                                "jwt_secret_file, the path of a file of "
                                "secrets, one per line, each of at least 32 "
                                "bytes, the same on every node");
    }

    purge = ctx->cf->tombstone_ttl_hours * 3600;

    if ((double) ctx->cf->token_ttl <= purge) {
        return 0;
    }

    /* the key this file set, token_ttl when both, is the one to change */
    ttl = kvs_config_find("token_ttl", sizeof("token_ttl") - 1);
    hours = kvs_config_find("tombstone_ttl_hours",
                            sizeof("tombstone_ttl_hours") - 1);

    if (lines[ttl - kvs_config_keys] == 0
        && lines[hours - kvs_config_keys] != 0)
    {
        return kvs_config_error(ctx, lines[hours - kvs_config_keys],
                                hours->name,
                                "%g (%g seconds) is shorter than token_ttl "
                                "(%lld seconds): %s; raise "
                                "tombstone_ttl_hours or lower token_ttl",
                                ctx->cf->tombstone_ttl_hours, purge,
                                (long long) ctx->cf->token_ttl, why);
    }

    return kvs_config_error(ctx, kvs_config_key_line(root, lines, ttl),
                            ttl->name,
                            "%lld seconds is longer than tombstone_ttl_hours "
                            "(%g, %g seconds): %s; lower token_ttl or raise "
                            "tombstone_ttl_hours",
                            (long long) ctx->cf->token_ttl,
                            ctx->cf->tombstone_ttl_hours, purge, why);
}


/*
 * Peers take node_id and bind_address:port as this node's name and
 * address in their member lists, which refuse names that JSON would have
 * to escape or that are too long (kvs_member_name_check(): a membership
 * call's body is capped for 1,024 members of names that need no escape),
 * and call the address, which must then be one kvs_address_parse() takes.
 * Such a node could never join: better said at "nginx -t".
 */

static int
kvs_config_check_names(kvs_config_ctx_t *ctx, yaml_node_t *root,
    const unsigned long *lines)
{
    int                      n;
    char                     address[KVS_MEMBER_NAME_MAX + 2];
    const char              *why;
    kvs_address_t            parsed;
    const kvs_config_key_t  *key;

    why = kvs_member_name_check(ctx->cf->node_id, strlen(ctx->cf->node_id));

    if (why != NULL) {
        key = kvs_config_find("node_id", sizeof("node_id") - 1);

        return kvs_config_error(ctx, kvs_config_key_line(root, lines, key),
                                key->name, "cannot be a member's id: it %s",
                                why);
    }

    /* it names the backups' files too, whether scheduled or asked for */

    why = kvs_backup_node_check(ctx->cf->node_id, strlen(ctx->cf->node_id));

    if (why != NULL) {
        key = kvs_config_find("node_id", sizeof("node_id") - 1);

        return kvs_config_error(ctx, kvs_config_key_line(root, lines, key),
                                key->name, "\"%s\" %s", ctx->cf->node_id,
                                why);
    }

    n = snprintf(address, sizeof(address), "%s:%d", ctx->cf->bind_address,
                 ctx->cf->port);

    why = (n < 0 || (size_t) n >= sizeof(address))
          ? "is longer than 255 bytes"
          : kvs_member_name_check(address, (size_t) n);

    if (why == NULL && kvs_address_parse(address, (size_t) n, &parsed) != 0) {
        why = "is not host:port or an http(s):// URL";
    }

    if (why != NULL) {
        key = kvs_config_find("bind_address", sizeof("bind_address") - 1);

        return kvs_config_error(ctx, kvs_config_key_line(root, lines, key),
                                key->name,
                                "bind_address:port cannot be a member's "
                                "address: it %s", why);
    }

    return 0;
}


static unsigned long
kvs_config_key_line(yaml_node_t *root, const unsigned long *lines,
    const kvs_config_key_t *key)
{
    yaml_mark_t  end;

    if (lines[key - kvs_config_keys] != 0) {
        return lines[key - kvs_config_keys];
    }

    end = root->end_mark;

    /* a mark at the start of a line is past the end of the last one */
    return (end.column == 0 && end.line > 0) ? end.line : end.line + 1;
}


/*
 * The secret is zeroed before it is freed, so that the memory handed back
 * does not keep it for whatever the process allocates next, core dumps
 * included; explicit_bzero() is not optimised away as memset() may be.
 */

static void
kvs_config_free_secret(char *s)
{
    if (s != NULL) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}


/*
 * The parsers take the scalar's length rather than trusting a terminating
 * NUL, and return 0 on success, -1 when the text is not of the type and -2
 * when it is of the type but cannot be represented, so the caller can say
 * "out of range" for 99999999999999999999 rather than "not an integer".
 */

static int
kvs_config_parse_int(const char *p, size_t len, int64_t *v)
{
    int       neg, overflow;
    size_t    i;
    uint64_t  n, limit;

    i = 0;
    neg = 0;

    if (i < len && (p[i] == '-' || p[i] == '+')) {
        neg = (p[i] == '-');
        i++;
    }

    if (i == len) {
        return -1;
    }

    /* the magnitude of INT64_MIN is one more than INT64_MAX */
    limit = neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX;
    n = 0;
    overflow = 0;

    for ( /* void */ ; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return -1;
        }

        if (n > (limit - (uint64_t) (p[i] - '0')) / 10) {
            overflow = 1;

        } else {
            n = n * 10 + (uint64_t) (p[i] - '0');
        }
    }

    if (overflow) {
        return -2;
    }

    if (neg) {
        *v = (n == (uint64_t) INT64_MAX + 1) ? INT64_MIN : -(int64_t) n;

    } else {
        *v = (int64_t) n;
    }

    return 0;
}


/*
 * strtod() alone would also take "inf", "nan", hex floats and leading
 * blanks, none of which a YAML number is, so the text is first checked
 * against YAML's float syntax: [-+]? (digits [. digits*] | . digits)
 * ([eE] [-+]? digits)?.
 */

static int
kvs_config_parse_number(const char *p, size_t len, double *v)
{
    char    buf[KVS_CONFIG_NUMLEN];
    char   *end;
    size_t  i, digits;

    i = 0;
    digits = 0;

    if (i < len && (p[i] == '-' || p[i] == '+')) {
        i++;
    }

    while (i < len && p[i] >= '0' && p[i] <= '9') {
        i++;
        digits++;
    }

    if (i < len && p[i] == '.') {
        i++;

        while (i < len && p[i] >= '0' && p[i] <= '9') {
            i++;
            digits++;
        }
    }

    if (digits == 0) {
        return -1;
    }

    if (i < len && (p[i] == 'e' || p[i] == 'E')) {
        i++;

        if (i < len && (p[i] == '-' || p[i] == '+')) {
            i++;
        }

        digits = 0;

        while (i < len && p[i] >= '0' && p[i] <= '9') {
            i++;
            digits++;
        }

        if (digits == 0) {
            return -1;
        }
    }

    if (i != len) {
        return -1;
    }

    if (len >= sizeof(buf)) {
        return -2;
    }

    memcpy(buf, p, len);
    buf[len] = '\0';

    errno = 0;
    *v = strtod(buf, &end);

    if (end != buf + len) {
        return -1;
    }

    /* an underflow to 0 is left to the range check, which refuses 0 */
    if (!isfinite(*v)) {
        return -2;
    }

    return 0;
}


/*
 * Sizes are whole bytes, optionally with a binary k, m or g multiplier as
 * nginx's own size directives take them.  A leading minus is accepted
 * syntactically so that "-1" is reported as out of range, which is what it
 * is, and not as "not a size".
 */

static int
kvs_config_parse_size(const char *p, size_t len, uint64_t *v)
{
    int       rc;
    int64_t   n;
    uint64_t  mult;

    if (len == 0) {
        return -1;
    }

    mult = 1;

    switch (tolower((unsigned char) p[len - 1])) {

    case 'k':
        mult = KVS_CONFIG_KIB;
        break;

    case 'm':
        mult = KVS_CONFIG_MIB;
        break;

    case 'g':
        mult = KVS_CONFIG_GIB;
        break;

    default:
        break;
    }

    if (mult != 1) {
        len--;
    }

    rc = kvs_config_parse_int(p, len, &n);
    if (rc != 0) {
        return rc;
    }

    if (n < 0 || (uint64_t) n > UINT64_MAX / mult) {
        return -2;
    }

    *v = (uint64_t) n * mult;

    return 0;
}


static int
kvs_config_parse_bool(const char *p, size_t len, int *v)
{
    static const char  *yes[] = { "true", "yes", "on" };
    static const char  *no[] = { "false", "no", "off" };
    size_t              i;

    if (strlen(p) != len) {
        return -1;
    }

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(p, yes[i]) == 0) {
            *v = 1;
            return 0;
        }

        if (strcasecmp(p, no[i]) == 0) {
            *v = 0;
            return 0;
        }
    }

    return -1;
}


/* YAML's nulls: only plain scalars, a quoted "~" is a string */

static int
kvs_config_is_null(yaml_node_t *node)
{
    const char  *s;

    if (node->type != YAML_SCALAR_NODE
        || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
    {
        return 0;
    }

    s = (const char *) node->data.scalar.value;

    return node->data.scalar.length == 0
           || strcmp(s, "~") == 0
           || strcmp(s, "null") == 0
           || strcmp(s, "Null") == 0
           || strcmp(s, "NULL") == 0;
}


/*
 * Words for "got ..." in a type error.  A scalar is quoted back, cut at its
 * first line and at KVS_CONFIG_SHOWLEN bytes, so that a block scalar cannot
 * turn the one-line error into a page.
 */

static const char *
kvs_config_describe(yaml_node_t *node, char *buf, size_t size)
{
    size_t       n, len;
    const char  *s;

    switch (node->type) {

    case YAML_MAPPING_NODE:
        return "a mapping";

    case YAML_SEQUENCE_NODE:
        return "a sequence";

    case YAML_SCALAR_NODE:
        break;

    default:
        return "nothing";
    }

    if (kvs_config_is_null(node)) {
        return "null";
    }

    s = (const char *) node->data.scalar.value;
    len = node->data.scalar.length;

    for (n = 0; n < len && n < KVS_CONFIG_SHOWLEN; n++) {
        if ((unsigned char) s[n] < 0x20) {
            break;
        }
    }

    snprintf(buf, size, "\"%.*s%s\"", (int) n, s, n < len ? "..." : "");

    return buf;
}


/* the line of a byte of the file, counted again: libyaml's reader errors
 * (a control byte, bad UTF-8) have an offset and no mark; 0 if unknown */

static unsigned long
kvs_config_offset_line(FILE *fp, size_t offset)
{
    int            c;
    size_t         i;
    unsigned long  line;

    if (fseek(fp, 0, SEEK_SET) != 0) {
        return 0;
    }

    line = 1;

    for (i = 0; i < offset; i++) {
        c = getc(fp);

        if (c == EOF) {
            return 0;
        }

        if (c == '\n') {
            line++;
        }
    }

    return line;
}


static unsigned long
kvs_config_line(yaml_mark_t mark)
{
    return (unsigned long) mark.line + 1;
}


/*
 * Writes "<file>:<line>: <key>: <text>"; a line of 0 means the problem is
 * with the file as a whole and a NULL key that it is not about one key.
 * Always returns -1 so that callers can return its result.
 */

static int
kvs_config_error(kvs_config_ctx_t *ctx, unsigned long line, const char *key,
    const char *fmt, ...)
{
    int      n;
    size_t   pos;
    va_list  args;

    if (ctx->err == NULL || ctx->errlen == 0) {
        return -1;
    }

    if (line != 0) {
        n = snprintf(ctx->err, ctx->errlen, "%s:%lu: ", ctx->file, line);

    } else {
        n = snprintf(ctx->err, ctx->errlen, "%s: ", ctx->file);
    }

    pos = (n < 0) ? 0 : (size_t) n;

    if (key != NULL && pos < ctx->errlen) {
        n = snprintf(ctx->err + pos, ctx->errlen - pos, "%s: ", key);
        pos += (n < 0) ? 0 : (size_t) n;
    }

    if (pos < ctx->errlen) {
        va_start(args, fmt);
        vsnprintf(ctx->err + pos, ctx->errlen - pos, fmt, args);
        va_end(args);
    }

    return -1;
}
