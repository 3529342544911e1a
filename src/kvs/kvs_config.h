/*
 * KVS node configuration: the original KVS's YAML keys, their defaults and
 * their ranges.  This file knows nothing of nginx: the module's
 * "kvs_config" directive calls kvs_config_load() and reports its sentence.
 */

#ifndef KVS_CONFIG_H
#define KVS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "kvs_cron.h"

#define KVS_CONFIG_ERRLEN  512

typedef enum {
    KVS_LOG_DEBUG = 0,
    KVS_LOG_INFO,
    KVS_LOG_WARN,
    KVS_LOG_ERROR
} kvs_log_level_e;


/* who may create a key that has no existing ancestor */
typedef enum {
    KVS_TOP_LEVEL_ANY = 0,
    KVS_TOP_LEVEL_ADMINS
} kvs_top_level_create_e;


/* backup_schedule: the expression as written, and as parsed */
typedef struct {
    char           *expr;            /* NULL: the default, "0 0 * * *" */
    kvs_cron_t      cron;
} kvs_config_schedule_t;


/*
 * A file the configuration names, with the line of the YAML that named it,
 * so that the module can report a problem found in the file itself as
 * "<yaml>:<line>: ..." too.
 */
typedef struct {
    char           *path;            /* NULL: not set */
    unsigned long   line;            /* 0 when path came from no file */
} kvs_config_file_t;

typedef struct {
    char            *node_id;            /* default: gethostname() */
    char            *bind_address;       /* default: "127.0.0.1" */
    int              port;               /* 1..65535, default 8080 */
    char            *data_dir;           /* default: "./data" */
    char           **seed_nodes;         /* "host:port", "http://host:port"
                                            or "https://host:port" */
    size_t           nseed_nodes;
    int              read_only;          /* bool, default 0 */
    kvs_log_level_e  log_level;          /* debug|info|warn|error */

    /* intervals in seconds, fractional allowed, > 0 */
    double           gossip_interval_min;    /* default 60 */
    double           gossip_interval_max;    /* default 120, >= min */
    double           sync_interval;          /* default 300 */
    double           catchup_interval;       /* default 120 */
    double           bootstrap_max_age_hours;/* default 720 */
    double           tombstone_ttl_hours;    /* default 168: a week */

    int64_t          throttle_delay_ms;  /* default 100, >= 0 */
    int64_t          fetch_delay_ms;     /* default 50, >= 0 */

    size_t           max_json_size;      /* default 1 MiB, 1..1 GiB */
    size_t           max_db_size;        /* LMDB map size, default 1 GiB,
                                            1 MiB..1 TiB */

    /* cluster membership and security */
    char            *cluster_secret;     /* HMAC key of internal requests,
                                            >= 16 bytes; default NULL, and
                                            required with seed_nodes */
    double           failure_timeout;    /* s unseen until failed, 300 */
    double           removal_timeout;    /* s unseen until removed, 600,
                                            >= failure_timeout */
    char            *peer_ca_file;       /* CA for https:// peers, NULL */
    char            *peer_cert_file;     /* the agent's client certificate
                                            for peers that ask for one
                                            (mutual TLS), NULL */
    char            *peer_key_file;      /* its key: both or neither */
    double           peer_timeout;       /* s, connect/send/read timeout of
                                            one peer request, default 5 */

    /* data features */
    int              compression_enabled;   /* bool, default 1 */
    int              compression_level;     /* zstd 1..19, default 3 */
    size_t           compression_min_size;  /* bytes; smaller values stay
                                               raw; default 256 */
    int64_t          default_ttl;           /* s, 0 = none (default) */
    int              revision_history;      /* earlier versions kept per
                                               key, 0..100, default 3 */

    /* users, tokens and permissions */
    int                     auth_enabled;        /* bool, default 0 */
    kvs_config_file_t       jwt_secret_file;     /* the HS256 secrets,
                                                    kvs_secrets_load();
                                                    required with auth */
    kvs_config_file_t       admin_password_file; /* the first admin's
                                                    password, none */
    int64_t                 token_ttl;           /* s, 60..30 days, default
                                                    3600; with auth, at
                                                    most tombstone_ttl_hours
                                                    hours */
    uint16_t                default_permissions; /* CDWR bits (kvs_acl.h)
                                                    of a new key, "f11" */
    kvs_top_level_create_e  top_level_create;    /* any (default)|admins */
    int                     password_threads;    /* the password KDF's
                                                    pool, 1..64, default 1 */

    /* operations */
    int                     metrics_enabled;     /* bool, default 1 */

    /* rate limits, per user or anonymous client address */
    int64_t                 rate_limit_requests; /* per window, 0..10^9;
                                                    0 (default): none */
    int64_t                 rate_limit_window;   /* s, 1..86400, 60 */
    size_t                  rate_limit_zone_size; /* the shared zone of
                                                    the windows, 64 KiB..
                                                    1 GiB, default 1 MiB */

    /* the audit log */
    int                     audit_enabled;       /* bool; default (-1
                                                    until loaded) that of
                                                    auth_enabled */
    kvs_config_file_t       audit_secret_file;   /* the entries' HMAC key,
                                                    required with audit,
                                                    outside data_dir */
    int                     audit_reads;         /* bool, default 0: every
                                                    GET of /kv/ makes an
                                                    entry too */

    /* backups */
    int                     backup_enabled;      /* bool, default 1: the
                                                    schedule runs */
    kvs_config_schedule_t   backup_schedule;     /* cron, UTC, default
                                                    "0 0 * * *" */
    kvs_config_file_t       backup_dir;          /* NULL: "backups" beside
                                                    data_dir; never inside
                                                    it (the module checks
                                                    full paths) */
    int                     backup_retention_days; /* 1..36500, default 7 */
    int                     backup_compression_level; /* zstd 1..19,
                                                    default 3 */
} kvs_config_t;


/* Fills every field with the original KVS's default.  Returns 0, or -1 when
 * memory runs out. */
int kvs_config_defaults(kvs_config_t *cf);

/* Loads a YAML file over the defaults already in *cf.  On failure returns -1
 * and writes into err a sentence "<file>:<line>: <key>: <problem>", for
 * example "node1.yaml:4: port: 70000 is out of range (1..65535)". */
int kvs_config_load(kvs_config_t *cf, const char *file, char *err,
    size_t errlen);

/* Frees what *cf owns, the secret wiped first, and leaves the pointers
 * NULL: a second call is harmless. */
void kvs_config_free(kvs_config_t *cf);

#endif /* KVS_CONFIG_H */
