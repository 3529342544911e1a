/*
 * What the files of ngx_http_kvs_module share: the configuration, the
 * per-request context, the store handle of this process, and the few
 * functions one API area calls in another.
 */

#ifndef NGX_HTTP_KVS_MODULE_H
#define NGX_HTTP_KVS_MODULE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "kvs_acl.h"
#include "kvs_backup.h"
#include "kvs_config.h"
#include "kvs_ident.h"
#include "kvs_jwt.h"
#include "kvs_metrics.h"
#include "kvs_pool.h"
#include "kvs_record.h"
#include "kvs_secrets.h"
#include "kvs_store.h"


/* what the node's processes share, in the zone "kvs" */

#define NGX_HTTP_KVS_REFUSAL_SLOTS  256

typedef struct {
    ngx_atomic_t           peer;          /* crc32 of the peer's name */
    ngx_atomic_t           logged;        /* when, in seconds */
} ngx_http_kvs_refusal_t;

/*
 * A folded audit event (ngx_http_kvs_audit.c): failed logins and denials
 * of one client and kind within a window.  The first is written at once;
 * the others only count here until the window ends.
 */
#define NGX_HTTP_KVS_AUDIT_FOLD_SLOTS   256
#define NGX_HTTP_KVS_AUDIT_FOLD_WHO     64     /* a username, an address */
#define NGX_HTTP_KVS_AUDIT_FOLD_OBJECT  128

typedef struct {
    uint32_t               hash;          /* of kind and who; 0: free */
    time_t                 start;         /* the window's first second */
    uint64_t               count;         /* not yet written */
    u_char                 kind;
    u_char                 has_user;
    u_char                 user_len;
    u_char                 client_len;
    u_char                 method_len;
    u_char                 object_len;
    u_char                 user[NGX_HTTP_KVS_AUDIT_FOLD_WHO];
    u_char                 client[NGX_HTTP_KVS_AUDIT_FOLD_WHO];
    u_char                 method[KVS_AUDIT_METHOD_MAX];
    u_char                 object[NGX_HTTP_KVS_AUDIT_FOLD_OBJECT];
} ngx_http_kvs_audit_fold_t;

/*
 * The backups' state that the agent and the workers share
 * (ngx_kvs_backup.c), under ngx_http_kvs_shared_lock(): what /api/backup/status
 * says of the moment, and a POST's request for the agent.  The last
 * backup's outcome is in meta, where it survives a restart.
 */
typedef struct {
    ngx_pid_t              owner;         /* the agent that starts them: the
                                             newest, not one quitting */
    ngx_uint_t             pending;       /* POST /api/backup asked */
    ngx_uint_t             running;
    uint64_t               next_run;      /* ms; 0: nothing scheduled */
    uint64_t               started_at;    /* ms, of the running one */
    u_char                 file[KVS_BACKUP_NAME_MAX];  /* its name */
    uint64_t               asked_at;      /* ms, of the pending one */
    u_char                 has_user;      /* who asked, for the audit */
    u_char                 user_len;
    u_char                 client_len;
    u_char                 user[NGX_HTTP_KVS_AUDIT_FOLD_WHO];
    u_char                 client[NGX_HTTP_KVS_AUDIT_FOLD_WHO];
} ngx_http_kvs_backup_state_t;

typedef struct {
    /* when a peer's bad records were last logged, by its name's hash */
    ngx_http_kvs_refusal_t refusals[NGX_HTTP_KVS_REFUSAL_SLOTS];
    /* when a peer's other auth settings were last logged */
    ngx_http_kvs_refusal_t auth[NGX_HTTP_KVS_REFUSAL_SLOTS];
    /* folded audit events, under ngx_http_kvs_shared_lock() */
    ngx_http_kvs_audit_fold_t audit_fold[NGX_HTTP_KVS_AUDIT_FOLD_SLOTS];
    ngx_http_kvs_backup_state_t backup;
} ngx_http_kvs_shared_t;


/*
 * The window in which repeated failed logins and denials of one client
 * fold into one entry, in seconds: the rate limits' window, so that what a
 * client may try in one window costs the node one entry.
 */
#define NGX_HTTP_KVS_AUDIT_FOLD_WINDOW(kmcf)                                  \
    ((time_t) (kmcf)->kc.rate_limit_window)


/* the header in which nodes tell each other their auth settings */
#define NGX_HTTP_KVS_AUTH_HEADER  "X-KVS-Auth"

/* the header in which a node gossips the audit heads it holds, its own
 * first: "<node>:<seq>:<hex hash>", comma-separated */
#define NGX_HTTP_KVS_AUDIT_HEADER     "X-KVS-Audit"
#define NGX_HTTP_KVS_AUDIT_HEADS_MAX  32


/* a server with a kvs_cluster_api location, and where that was said */
typedef struct {
    ngx_http_core_srv_conf_t  *server;
    ngx_str_t                  file;
    ngx_uint_t                 line;
} ngx_http_kvs_cluster_api_t;


typedef struct {
    kvs_config_t           kc;
    ngx_str_t              file;          /* kvs_config, "" = defaults */
    ngx_str_t              data_dir;      /* absolute */
    ngx_str_t              backup_dir;    /* absolute, NUL-terminated */
    ngx_str_t              backup_schedule; /* kc's, or the default */
    ngx_str_t              node_id;       /* kc's, measured once */
    ngx_str_t              cluster_secret; /* kc's; "" = none */
    ngx_str_t              peer_ca_file;  /* absolute, "" = none */
    ngx_str_t              peer_cert_file; /* absolute, "" = none */
    ngx_str_t              peer_key_file; /* absolute, "" = none */
#if (NGX_SSL)
    ngx_ssl_t             *peer_ssl;      /* TLS of calls to peers */
#endif
    ngx_thread_pool_t     *thread_pool;
    ngx_flag_t             used;          /* some location has kvs_api or
                                             kvs_cluster_api */
    ngx_array_t            locations;     /* ngx_http_kvs_location_t */
    ngx_array_t           *cluster_api;   /* ngx_http_kvs_cluster_api_t;
                                             NULL: kvs_api locations serve
                                             the internal endpoints too */
    ngx_shm_zone_t        *shm;           /* shared by the node's
                                             processes */
    ngx_shm_zone_t        *rate;          /* the rate limits' windows;
                                             NULL: no limit can apply */

    /* auth_enabled: jwt_secret_file's secrets, the first signs */
    kvs_secret_t          *secrets;
    size_t                 nsecrets;
    kvs_jwt_key_t         *jwt_keys;
    char                  *admin_password; /* admin_password_file's */
    size_t                 admin_password_len;
    ngx_str_t              auth_fingerprint; /* "off", or "on:" and the
                                             secrets' key ids: gossiped,
                                             so that nodes whose settings
                                             differ say so */

    ngx_shm_zone_t        *metrics_zone;  /* NULL: metrics are off */
    ngx_str_t              metrics_file;  /* the first kvs_metrics */
    ngx_uint_t             metrics_line;
    /* audit_enabled: audit_secret_file's secret */
    kvs_secret_t          *audit_secret;
    size_t                 naudit_secrets;

    /* a cluster's wake-up of the agent, made by the master before it
     * forks: a commit writes a byte to wake[1], the agent reads wake[0]
     * and pushes at once; -1: none (a standalone node) */
    ngx_fd_t               wake[2];
} ngx_http_kvs_main_conf_t;


typedef struct {
    ngx_flag_t             api;           /* kvs_api: the client API */
    ngx_flag_t             cluster;       /* kvs_cluster_api: the internal
                                             endpoints peers call */
    ngx_flag_t             metrics;       /* kvs_metrics */
} ngx_http_kvs_loc_conf_t;


/*
 * A kvs_api or kvs_cluster_api location, kept until the configuration is
 * merged to give it the body limit of its endpoints, with the
 * client_max_body_size written for it by then, if any.
 */
typedef struct {
    ngx_http_core_loc_conf_t  *clcf;
    ngx_http_kvs_loc_conf_t   *klcf;
    off_t                      written;   /* NGX_CONF_UNSET: none yet */
    ngx_str_t                  file;
    ngx_uint_t                 line;
} ngx_http_kvs_location_t;


/* the query parameters of /kv/ */
typedef struct {
    ngx_uint_t             meta;          /* GET ?meta */
    ngx_uint_t             revisions;     /* GET ?revisions */
    ngx_uint_t             revision;      /* GET ?revision=N, 0 = none */
    int64_t                ttl;           /* PUT ?ttl=s, -1 = none given */
    ngx_uint_t             limit;         /* listing */
    ngx_str_t              after;         /* listing, decoded; data
                                             NULL: none given */
    ngx_uint_t             recursive;
    uint64_t               since;         /* /api/audit, ms */
} ngx_http_kvs_params_t;

#define NGX_HTTP_KVS_LIST_LIMIT  100
#define NGX_HTTP_KVS_LIST_MAX    1000


/* the most bytes of JSON an error's sentence takes; nginx's own limit */
#define NGX_HTTP_KVS_SENTENCE_MAX  NGX_MAX_ERROR_STR


/* records in one /_cluster/apply batch; a batch commits in one group */
#define NGX_HTTP_KVS_APPLY_MAX  512

/* the writes of one group commit: a request's writes go in one, so no
 * request may have more (ngx_http_kvs_write_enqueue() refuses it) */
#define NGX_HTTP_KVS_BATCH_MAX  1024

/* an endpoint, found by its name (ngx_http_kvs_request.c) */

#define NGX_HTTP_KVS_PREFIX       0x01    /* the path is a prefix */
#define NGX_HTTP_KVS_INTERNAL     0x02    /* called by peers, signed */
#define NGX_HTTP_KVS_MEMBER_LIST  0x04    /* the body is a member list */
#define NGX_HTTP_KVS_LEAVE        0x08    /* the caller must be a member */
#define NGX_HTTP_KVS_OPEN         0x10    /* needs no token, auth on */
#define NGX_HTTP_KVS_UNLIMITED    0x20    /* no rate limit */
#define NGX_HTTP_KVS_QUERY        0x40    /* its handler reads parameters */
#define NGX_HTTP_KVS_QUERY_GET    0x80    /* the same, of a GET or HEAD */
#define NGX_HTTP_KVS_ANY_QUERY    0x100   /* any query string is ignored */

typedef struct {
    ngx_str_t                         path;
    ngx_uint_t                        flags;
    ngx_http_handler_pt               handler;    /* NULL: not found */
    ngx_http_client_body_handler_pt   body;       /* an internal POST's */
} ngx_http_kvs_route_t;


/* the SHA3-512 of a token, by which its record is keyed */
#define NGX_HTTP_KVS_TOKEN_DIGEST  64

/* the user a request's token names (auth_enabled) */
typedef struct {
    uint8_t                uuid[KVS_UUID_LEN];
    ngx_str_t              name;
    uint8_t                token[NGX_HTTP_KVS_TOKEN_DIGEST];
    int64_t                rate_limit;    /* the user's own, -1: none */
    unsigned               admin:1;       /* a member of group admin */
    unsigned               admin_known:1; /* admin was looked up */
} ngx_http_kvs_user_t;


typedef struct ngx_http_kvs_ctx_s  ngx_http_kvs_ctx_t;

struct ngx_http_kvs_ctx_s {
    ngx_str_t              error;         /* sentence for the JSON error */
    ngx_str_t              key;           /* the key path of /kv/ */
    ngx_str_t              peer;          /* the member that signed */
    ngx_http_kvs_user_t   *user;          /* NULL: anonymous */
    void                  *data;          /* the handler's own */
    ngx_http_request_t    *request;
    ngx_http_kvs_route_t  *route;         /* an internal POST's endpoint */
    ngx_queue_t            queue;         /* in the write queue */
    kvs_write_t            write;
    kvs_write_t           *writes;        /* &write, or a peer's records */
    ngx_uint_t             nwrites;
    ngx_int_t            (*written)(ngx_http_request_t *r,
                                    ngx_http_kvs_ctx_t *ctx);
    off_t                  body_size;     /* bytes of body seen so far */
    off_t                  body_max;      /* 0: max_json_size */
    const char            *body_max_of;   /* what sets body_max, for the
                                             413's sentence */
    unsigned               rate_limited:1; /* refused by a rate limit */
    unsigned               json_error:1;  /* the error body is ours */
    unsigned               error_sent:1;

    /* the audit entry of the request's write (ngx_http_kvs_audit.c) */
    kvs_audit_event_t      audit;
    kvs_audit_kind_e       audit_kind;
    ngx_str_t              audit_object;  /* "": of the write */
    ngx_str_t              audit_user;    /* "": the request's user */
    unsigned               audit_described:1;
};


/*
 * A password KDF call on the worker's own threads (ngx_http_kvs_kdf.c,
 * whose top says how a request waits for one): work runs on a thread and
 * touches no nginx structure, pool or log; done runs on the event loop
 * afterwards, or unrun, with skipped set, when the worker quits first.
 */
typedef struct ngx_http_kvs_kdf_task_s  ngx_http_kvs_kdf_task_t;

struct ngx_http_kvs_kdf_task_s {
    void                 (*work)(void *data);
    void                 (*done)(void *data);
    void                  *data;
    unsigned               skipped:1;     /* work never ran */
    kvs_pool_task_t        link;          /* the pool's */
};


extern ngx_module_t  ngx_http_kvs_module;
extern kvs_store_t  *ngx_http_kvs_store;
extern ngx_uint_t    ngx_kvs_log_level;


/*
 * The module's own messages: the YAML's log_level (as an nginx level in
 * ngx_kvs_log_level) filters them first, then error_log's level, as for
 * any message; so a line is written only where both let it through.  The
 * traces of every decision a request or the agent takes need log_level:
 * debug and an "error_log ... debug" (Debian's nginx is built
 * --with-debug).
 */

#define ngx_kvs_log(level, log, ...)                                          \
    if ((ngx_uint_t) (level) <= ngx_kvs_log_level)                            \
        ngx_log_error(level, log, __VA_ARGS__)

#if (NGX_DEBUG)
#define ngx_kvs_debug(log, ...)                                               \
    if (ngx_kvs_log_level >= NGX_LOG_DEBUG)                                   \
        ngx_log_debug(NGX_LOG_DEBUG_HTTP, log, 0, __VA_ARGS__)
#else
#define ngx_kvs_debug(log, ...)
#endif


ngx_int_t ngx_http_kvs_handler(ngx_http_request_t *r);
ngx_http_kvs_ctx_t *ngx_http_kvs_get_ctx(ngx_http_request_t *r);
/* the kind of request whose parameters ngx_http_kvs_params() reads: a
 * key's (0), a listing's (1), or these */
#define NGX_HTTP_KVS_PARAMS_AUDIT  2     /* GET /api/audit */
#define NGX_HTTP_KVS_PARAMS_PAGE   3     /* GET /api/users, /api/groups */
#define NGX_HTTP_KVS_PARAMS_NONE   4     /* any other endpoint: none */

ngx_int_t ngx_http_kvs_params(ngx_http_request_t *r, ngx_uint_t prefix,
    ngx_http_kvs_params_t *p);
ngx_int_t ngx_http_kvs_read_begin(ngx_http_request_t *r);
ngx_int_t ngx_http_kvs_unreadable(ngx_http_request_t *r, const char *what);
ngx_int_t ngx_http_kvs_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...);
ngx_int_t ngx_http_kvs_not_allowed(ngx_http_request_t *r, char *allow,
    const char *fmt, ...);
ngx_int_t ngx_http_kvs_send(ngx_http_request_t *r, ngx_uint_t status,
    u_char *data, size_t len);
ngx_int_t ngx_http_kvs_page_body(ngx_http_request_t *r, const char *name,
    ngx_array_t *items, size_t size, ngx_str_t *next, ngx_str_t *body);
uint64_t ngx_http_kvs_now_ms(void);
off_t ngx_http_kvs_batch_max(kvs_config_t *kc);
/* a batch, or an answer, of a peer that signed it: a record of the
 * protocol's largest value and its framing, whatever max_json_size */
#define NGX_HTTP_KVS_PEER_BATCH_MAX                                           \
    (2 * (off_t) KVS_WIRE_VALUE_MAX + 131072)
/* the node bootstraps from its peers and takes no external writes: the
 * store's mark, which handlers and the agent's walk read alike */
ngx_uint_t ngx_http_kvs_syncing(void);

ngx_int_t ngx_http_kvs_retry_after(ngx_http_request_t *r, time_t s);
ngx_int_t ngx_http_kvs_syncing_refused(ngx_http_request_t *r,
    const char *instead);

ngx_int_t ngx_http_kvs_rate_conf(ngx_conf_t *cf,
    ngx_http_kvs_main_conf_t *kmcf);
ngx_int_t ngx_http_kvs_rate(ngx_http_request_t *r,
    ngx_http_kvs_main_conf_t *kmcf);
ngx_uint_t ngx_http_kvs_rate_limited(ngx_http_request_t *r);

ngx_int_t ngx_http_kvs_auth_conf(ngx_conf_t *cf,
    ngx_http_kvs_main_conf_t *kmcf);
void ngx_http_kvs_auth_cleanup(void *data);
ngx_int_t ngx_http_kvs_auth_variables(ngx_conf_t *cf);
ngx_int_t ngx_http_kvs_authenticate(ngx_http_request_t *r);
ngx_int_t ngx_http_kvs_unauthorized(ngx_http_request_t *r,
    const char *why);
ngx_uint_t ngx_http_kvs_member(const uint8_t *user, const uint8_t *group);
ngx_uint_t ngx_http_kvs_identity(char ns, const uint8_t *uuid,
    kvs_record_hdr_t *hdr, const uint8_t **value);
ngx_uint_t ngx_http_kvs_admin_of(ngx_http_request_t *r);
ngx_int_t ngx_http_kvs_admin_only(ngx_http_request_t *r, const char *what);
ngx_uint_t ngx_http_kvs_may(ngx_http_request_t *r,
    const kvs_record_hdr_t *hdr, unsigned right);
ngx_int_t ngx_http_kvs_may_put(ngx_http_request_t *r, ngx_str_t *key,
    kvs_write_t *w);
ngx_int_t ngx_http_kvs_may_meta(ngx_http_request_t *r,
    const kvs_record_hdr_t *hdr, const kvs_ident_meta_t *m);

ngx_int_t ngx_http_kvs_login_handler(ngx_http_request_t *r);
void ngx_http_kvs_admin_create(kvs_store_t *st,
    ngx_http_kvs_main_conf_t *kmcf, ngx_log_t *log);
ngx_int_t ngx_http_kvs_logout_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_kvs_users_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_kvs_groups_handler(ngx_http_request_t *r);

ngx_int_t ngx_http_kvs_data_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_kvs_data_written(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx);
ngx_int_t ngx_http_kvs_value(ngx_http_request_t *r, kvs_record_hdr_t *hdr,
    const uint8_t *value, u_char **out);
ngx_int_t ngx_http_kvs_etag(ngx_http_request_t *r, const uint8_t *uuid);
ngx_int_t ngx_http_kvs_versions(ngx_http_request_t *r, ngx_str_t *key,
    ngx_http_kvs_params_t *params, uint64_t now);
ngx_int_t ngx_http_kvs_meta(ngx_http_request_t *r, kvs_record_hdr_t *hdr,
    ngx_str_t *key, uint64_t now);
ngx_int_t ngx_http_kvs_meta_put(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx);
ngx_int_t ngx_http_kvs_zip(ngx_http_request_t *r,
    ngx_http_kvs_main_conf_t *kmcf, u_char *data, size_t len);
ngx_int_t ngx_http_kvs_list(ngx_http_request_t *r, ngx_str_t *prefix,
    ngx_http_kvs_params_t *params);
ngx_int_t ngx_http_kvs_members_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_kvs_members_answer(ngx_http_request_t *r,
    ngx_uint_t with_left);
ngx_int_t ngx_http_kvs_cluster_handler(ngx_http_request_t *r);
void ngx_http_kvs_cluster_body(ngx_http_request_t *r);
void ngx_http_kvs_apply_body(ngx_http_request_t *r);
ngx_int_t ngx_http_kvs_digest_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_kvs_cluster_read(ngx_http_request_t *r, u_char **body,
    size_t *len, ngx_str_t *sender);
void ngx_http_kvs_refused(ngx_http_kvs_main_conf_t *kmcf, ngx_log_t *log,
    ngx_str_t *peer, kvs_write_t *w, ngx_uint_t n);
ngx_uint_t ngx_http_kvs_once_a_minute(ngx_http_kvs_main_conf_t *kmcf,
    ngx_http_kvs_refusal_t *slots, ngx_str_t *peer);
/* a request header by name, any case (ngx_http_kvs_cluster.c) */
ngx_table_elt_t *ngx_http_kvs_header(ngx_http_request_t *r,
    const char *name);
ngx_int_t ngx_http_kvs_cluster_verify(ngx_http_request_t *r, u_char *body,
    size_t len, ngx_str_t *sender);
void ngx_http_kvs_ranges_body(ngx_http_request_t *r);
void ngx_http_kvs_buckets_body(ngx_http_request_t *r);
void ngx_http_kvs_keys_body(ngx_http_request_t *r);
void ngx_http_kvs_fetch_body(ngx_http_request_t *r);
ngx_int_t ngx_http_kvs_body(ngx_http_request_t *r, u_char **data,
    size_t *len);
ngx_int_t ngx_http_kvs_health_handler(ngx_http_request_t *r);

ngx_int_t ngx_http_kvs_write_enqueue(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx);
ngx_int_t ngx_http_kvs_write_queue(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx);
ngx_int_t ngx_http_kvs_write_init_process(ngx_cycle_t *cycle);
void ngx_http_kvs_write_hold(ngx_uint_t hold);

ngx_int_t ngx_http_kvs_kdf_init_process(ngx_cycle_t *cycle,
    ngx_uint_t threads);
ngx_int_t ngx_http_kvs_pool_watch(kvs_pool_t *pool, ngx_connection_t *c,
    ngx_event_t *rev, ngx_event_t *wev, ngx_event_handler_pt handler,
    ngx_log_t *log);
ngx_int_t ngx_http_kvs_kdf_post(ngx_http_kvs_kdf_task_t *task);
void ngx_http_kvs_kdf_exit_process(ngx_cycle_t *cycle);

/* the lock of what ngx_http_kvs_shared_t shares (audit folds, backups) */
void ngx_http_kvs_shared_lock(ngx_http_kvs_main_conf_t *kmcf);
void ngx_http_kvs_shared_unlock(ngx_http_kvs_main_conf_t *kmcf);

ngx_int_t ngx_http_kvs_metrics_conf(ngx_conf_t *cf,
    ngx_http_kvs_main_conf_t *kmcf);
ngx_int_t ngx_http_kvs_metrics_postconfiguration(ngx_conf_t *cf,
    ngx_http_kvs_main_conf_t *kmcf);
char *ngx_http_kvs_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
void ngx_http_kvs_metrics_init_process(ngx_cycle_t *cycle);
/* the content handler of a kvs_metrics location */
ngx_int_t ngx_http_kvs_metrics_handler(ngx_http_request_t *r);
ngx_uint_t ngx_http_kvs_metrics_peer(const char *node_id);


/*
 * Counting, from any process (ngx_http_kvs_metrics.c): n more in a series
 * of a metric (series 0 of a metric without labels), or an observation of
 * a histogram in its integer unit (microseconds for seconds).  The row is
 * this process's own; NULL while metrics are off, which costs one branch.
 */

extern ngx_atomic_t  *ngx_http_kvs_metrics_row;

static ngx_inline void
ngx_http_kvs_metric_add(kvs_metric_e m, ngx_uint_t series,
    ngx_atomic_int_t n)
{
    if (ngx_http_kvs_metrics_row != NULL) {
        (void) ngx_atomic_fetch_add(&ngx_http_kvs_metrics_row[
                                        kvs_metrics_layout.offset[m]
                                        + series], n);
    }
}

#define ngx_http_kvs_metric_inc(m, n)  ngx_http_kvs_metric_add(m, 0, n)

static ngx_inline void
ngx_http_kvs_metric_observe(kvs_metric_e m, ngx_uint_t series, uint64_t v)
{
    ngx_atomic_t  *slot;

    if (ngx_http_kvs_metrics_row != NULL) {
        slot = &ngx_http_kvs_metrics_row[kvs_metrics_layout.offset[m]
                                         + series
                                           * kvs_metrics_layout.width[m]];

        (void) ngx_atomic_fetch_add(&slot[kvs_metrics_bucket(m, v)], 1);
        (void) ngx_atomic_fetch_add(&slot[kvs_metrics_layout.width[m] - 1],
                                    (ngx_atomic_int_t) v);
    }
}

ngx_int_t ngx_http_kvs_audit_conf(ngx_conf_t *cf,
    ngx_http_kvs_main_conf_t *kmcf);
void ngx_http_kvs_audit_cleanup(void *data);
ngx_int_t ngx_http_kvs_audit_init_process(ngx_cycle_t *cycle,
    ngx_http_kvs_main_conf_t *kmcf);
void ngx_http_kvs_audit_describe(ngx_http_request_t *r,
    kvs_audit_kind_e kind, const char *prefix, ngx_str_t *name,
    ngx_str_t *user);
void ngx_http_kvs_audit_attach(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx);
void ngx_http_kvs_audit_refused(ngx_http_request_t *r,
    kvs_audit_kind_e kind, ngx_uint_t status);
ngx_int_t ngx_http_kvs_audit_read(ngx_http_request_t *r, ngx_str_t *key,
    const kvs_version_t *version, u_char *body, size_t len);
void ngx_http_kvs_audit_flush(ngx_cycle_t *cycle, ngx_uint_t all);
u_char *ngx_http_kvs_audit_heads(ngx_http_kvs_main_conf_t *kmcf,
    u_char *p, u_char *last);
ngx_int_t ngx_http_kvs_audit_witness(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx, ngx_str_t *sender);
ngx_int_t ngx_http_kvs_audit_handler(ngx_http_request_t *r);
ngx_int_t ngx_http_kvs_write_note_try(const kvs_audit_event_t *ev,
    const kvs_version_t *version);
void ngx_http_kvs_write_note(const kvs_audit_event_t *ev,
    const kvs_version_t *version);

ngx_int_t ngx_http_kvs_backup_conf(ngx_conf_t *cf,
    ngx_http_kvs_main_conf_t *kmcf);
void ngx_http_kvs_backup_dir(ngx_cycle_t *cycle,
    ngx_http_kvs_main_conf_t *kmcf, ngx_core_conf_t *ccf);
ngx_int_t ngx_http_kvs_backup_handler(ngx_http_request_t *r);
void ngx_http_kvs_backup_gauges(ngx_http_kvs_main_conf_t *kmcf,
    uint64_t *values);

ngx_uint_t ngx_kvs_backup_busy(void);

ngx_msec_t ngx_kvs_agent_manager(void *data);
/* what init_process does in a process that serves or runs the agent: the
 * store, metrics, the audit log, the write queue and KDF threads of a
 * worker, the agent of the single process and of the helper */
ngx_int_t ngx_http_kvs_init_store_process(ngx_cycle_t *cycle);
ngx_int_t ngx_kvs_agent_init(ngx_cycle_t *cycle, kvs_store_t *store);
void ngx_kvs_agent_leave(ngx_cycle_t *cycle);
uint64_t ngx_kvs_members_oldest(kvs_config_t *kc);

#endif /* NGX_HTTP_KVS_MODULE_H */
