/*
 * ngx_http_kvs_module: a node of the KVS key-value store inside nginx.
 *
 * This file holds what makes it an nginx module: the "kvs_config",
 * "kvs_api" and "kvs_cluster_api" directives, the node's configuration
 * (read from the original KVS's YAML by src/kvs/kvs_config.c), the store
 * each process opens after fork, the content handler that routes API
 * requests to their files, and the filters that turn every error of a KVS
 * location into a JSON {"error": "<sentence>"} body, including the errors
 * nginx itself raises (413, 408, 500...), so a client never has to parse
 * HTML.  The errors nginx answers before it chooses a location (a
 * malformed request, 414) are not a KVS location's: conf-examples/ shows the
 * error_page lines that make them JSON too.
 *
 * The internal endpoints peers call (/members/join|gossip|leave,
 * /_cluster/...) are served by kvs_api locations, as the original served
 * them beside the API, until some location has kvs_cluster_api: from then
 * on only those locations serve them, so that an operator can put them on
 * a listener of their own (a private address, TLS with client
 * certificates), and bind_address:port, where peers call, must be that
 * listener.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "ngx_kvs_peer.h"
#include "kvs_json.h"
#include "kvs_members.h"


static void *ngx_http_kvs_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_kvs_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_kvs_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_kvs_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_kvs_config(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_kvs_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_kvs_cluster_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_kvs_location(ngx_conf_t *cf,
    ngx_http_kvs_loc_conf_t *klcf);
static void ngx_http_kvs_body_limits(ngx_conf_t *cf,
    ngx_http_kvs_main_conf_t *kmcf);
static ngx_int_t ngx_http_kvs_cluster_listen(ngx_conf_t *cf,
    ngx_http_kvs_main_conf_t *kmcf);
static ngx_uint_t ngx_http_kvs_cluster_server(ngx_http_conf_addr_t *addr,
    ngx_http_kvs_main_conf_t *kmcf, ngx_str_t *host);
static ngx_int_t ngx_http_kvs_peer_file(ngx_conf_t *cf, char *name,
    ngx_str_t *full);
static void ngx_http_kvs_cleanup_config(void *data);
static ngx_int_t ngx_http_kvs_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_int_t ngx_http_kvs_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_kvs_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_kvs_init_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_kvs_wake_init(ngx_cycle_t *cycle,
    ngx_http_kvs_main_conf_t *kmcf);
static void ngx_http_kvs_wake_cleanup(void *data);
static void ngx_http_kvs_exit_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_kvs_reachable(ngx_conf_t *cf, ngx_str_t *dir);
static void ngx_http_kvs_exit_master(ngx_cycle_t *cycle);

static ngx_int_t ngx_http_kvs_header_filter(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvs_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);
static ngx_int_t ngx_http_kvs_request_body_filter(ngx_http_request_t *r,
    ngx_chain_t *in);


kvs_store_t  *ngx_http_kvs_store;
ngx_uint_t    ngx_kvs_log_level = NGX_LOG_INFO;


/* the YAML's log_level, by kvs_log_level_e, as nginx's levels */
static ngx_uint_t  ngx_http_kvs_log_levels[] = {
    NGX_LOG_DEBUG,                         /* debug */
    NGX_LOG_INFO,                          /* info: notice too */
    NGX_LOG_WARN,                          /* warn */
    NGX_LOG_ERR                            /* error */
};

static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;
static ngx_http_request_body_filter_pt   ngx_http_next_request_body_filter;


static ngx_str_t  ngx_http_kvs_zone_name = ngx_string("kvs");


static ngx_command_t  ngx_http_kvs_commands[] = {

    { ngx_string("kvs_config"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_kvs_config,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kvs_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_kvs_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kvs_cluster_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_kvs_cluster_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("kvs_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_kvs_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_kvs_module_ctx = {
    ngx_http_kvs_auth_variables,           /* preconfiguration */
    ngx_http_kvs_postconfiguration,        /* postconfiguration */

    ngx_http_kvs_create_main_conf,         /* create main configuration */
    ngx_http_kvs_init_main_conf,           /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_kvs_create_loc_conf,          /* create location configuration */
    ngx_http_kvs_merge_loc_conf            /* merge location configuration */
};


ngx_module_t  ngx_http_kvs_module = {
    NGX_MODULE_V1,
    &ngx_http_kvs_module_ctx,              /* module context */
    ngx_http_kvs_commands,                 /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_kvs_init_module,              /* init module */
    ngx_http_kvs_init_process,             /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_kvs_exit_process,             /* exit process */
    ngx_http_kvs_exit_master,              /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_kvs_create_main_conf(ngx_conf_t *cf)
{
    ngx_pool_cleanup_t        *cln;
    ngx_http_kvs_main_conf_t  *kmcf;

    kmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_kvs_main_conf_t));
    if (kmcf == NULL) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NULL;
    }

    if (kvs_config_defaults(&kmcf->kc) != 0) {
        return NULL;
    }

    if (ngx_array_init(&kmcf->locations, cf->pool, 2,
                       sizeof(ngx_http_kvs_location_t))
        != NGX_OK)
    {
        return NULL;
    }

    cln->handler = ngx_http_kvs_cleanup_config;
    cln->data = &kmcf->kc;

    kmcf->wake[0] = NGX_INVALID_FILE;
    kmcf->wake[1] = NGX_INVALID_FILE;

    return kmcf;
}


static void
ngx_http_kvs_cleanup_config(void *data)
{
    kvs_config_free(data);
}


static char *
ngx_http_kvs_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_kvs_main_conf_t *kmcf = conf;

    char         err[KVS_STORE_ERRLEN];
    ngx_path_t  *path;

    /*
     * data_dir is relative to nginx's prefix, like nginx's own paths; the
     * full name stays NUL-terminated, as LMDB needs, because the YAML's
     * string is.
     */

    ngx_kvs_log_level = ngx_http_kvs_log_levels[kmcf->kc.log_level];

    kmcf->data_dir.data = (u_char *) kmcf->kc.data_dir;
    kmcf->data_dir.len = ngx_strlen(kmcf->kc.data_dir);

    /* the strings requests use, measured once */

    kmcf->node_id.data = (u_char *) kmcf->kc.node_id;
    kmcf->node_id.len = ngx_strlen(kmcf->kc.node_id);

    if (kmcf->kc.cluster_secret) {
        kmcf->cluster_secret.data = (u_char *) kmcf->kc.cluster_secret;
        kmcf->cluster_secret.len = ngx_strlen(kmcf->kc.cluster_secret);
    }

    if (ngx_conf_full_name(cf->cycle, &kmcf->data_dir, 0) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_kvs_peer_file(cf, kmcf->kc.peer_ca_file,
                               &kmcf->peer_ca_file)
        != NGX_OK
        || ngx_http_kvs_peer_file(cf, kmcf->kc.peer_cert_file,
                                  &kmcf->peer_cert_file)
           != NGX_OK
        || ngx_http_kvs_peer_file(cf, kmcf->kc.peer_key_file,
                                  &kmcf->peer_key_file)
           != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (!kmcf->used) {
        if (kmcf->metrics_file.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "kvs: \"kvs_metrics\" in %V:%ui needs a "
                               "location with \"kvs_api\" or "
                               "\"kvs_cluster_api\": they make nginx a node",
                               &kmcf->metrics_file, kmcf->metrics_line);
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (ngx_http_kvs_auth_conf(cf, kmcf) != NGX_OK
        || ngx_http_kvs_audit_conf(cf, kmcf) != NGX_OK
        || ngx_http_kvs_backup_conf(cf, kmcf) != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_kvs_metrics_conf(cf, kmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* the shared struct, and the slab allocator's own pages */
    kmcf->shm = ngx_shared_memory_add(cf, &ngx_http_kvs_zone_name,
                                      ngx_align(sizeof(ngx_http_kvs_shared_t),
                                                ngx_pagesize)
                                      + 8 * ngx_pagesize,
                                      &ngx_http_kvs_module);
    if (kmcf->shm == NULL) {
        return NGX_CONF_ERROR;
    }

    kmcf->shm->init = ngx_http_kvs_init_zone;

    if (ngx_http_kvs_rate_conf(cf, kmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

#if (NGX_SSL)

    /*
     * Made now, as proxy_ssl's context is, so that "nginx -t" fails on a
     * CA, certificate or key that cannot be loaded, and the files may be
     * readable by root alone.
     */

    kmcf->peer_ssl = ngx_kvs_peer_ssl_create(cf, &kmcf->peer_ca_file,
                                             &kmcf->peer_cert_file,
                                             &kmcf->peer_key_file);
    if (kmcf->peer_ssl == NULL) {
        return NGX_CONF_ERROR;
    }

#else

    if (kmcf->peer_cert_file.len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "kvs: peer_cert_file needs an nginx built with "
                           "SSL");
        return NGX_CONF_ERROR;
    }

#endif

    /*
     * "nginx -t" opens no store for writing: a running node holds it.
     * What can be said of data_dir without that (a file, not a store, a
     * store of a newer schema or too full to upgrade) is said here, at
     * -t, start and reload alike, rather than by a failed start.
     */

    if (kvs_store_check((char *) kmcf->data_dir.data, kmcf->kc.max_db_size,
                        err, sizeof(err))
        != KVS_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "kvs: %s", err);
        return NGX_CONF_ERROR;
    }

    if (ngx_http_kvs_reachable(cf, &kmcf->data_dir) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /*
     * A path with a manager makes the master spawn, and respawn, nginx's
     * helper process: the cluster agent lives there.
     */

    path = ngx_pcalloc(cf->pool, sizeof(ngx_path_t));
    if (path == NULL) {
        return NGX_CONF_ERROR;
    }

    path->name = kmcf->data_dir;
    path->manager = ngx_kvs_agent_manager;
    path->data = kmcf;
    path->conf_file = cf->conf_file->file.name.data;
    path->line = cf->conf_file->line;

    if (ngx_add_path(cf, &path) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* The zone survives a reload as it is: what it holds stays true. */

static ngx_int_t
ngx_http_kvs_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t  *shpool;

    if (data) {
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    shm_zone->data = ngx_slab_calloc(shpool, sizeof(ngx_http_kvs_shared_t));
    if (shm_zone->data == NULL) {
        return NGX_ERROR;
    }

    shpool->data = shm_zone->data;

    return NGX_OK;
}


/*
 * The lock of what the module's zone shares between processes (the audit
 * log's folded events, the backups' state): the zone's own slab mutex,
 * held for a few instructions and never around an allocation in the zone.
 * A process killed while it holds it (kill -9, a crash) leaves it to
 * nginx's master, which frees it as it reaps the process and logs
 * "shared memory zone "kvs" was locked by <pid>" at alert; a lock of the
 * module's own would stay held, and every worker and the agent that next
 * took it would spin for good.
 */

void
ngx_http_kvs_shared_lock(ngx_http_kvs_main_conf_t *kmcf)
{
    ngx_shmtx_lock(&((ngx_slab_pool_t *) kmcf->shm->shm.addr)->mutex);
}


void
ngx_http_kvs_shared_unlock(ngx_http_kvs_main_conf_t *kmcf)
{
    ngx_shmtx_unlock(&((ngx_slab_pool_t *) kmcf->shm->shm.addr)->mutex);
}


/*
 * nginx started as root runs its workers and the agent as its "user": the
 * master makes data_dir and gives it to them, but each directory above it
 * must let them pass (search permission).  One that does not (a clone in
 * /root, 0700 on Debian) would let nginx -t and the start succeed and
 * every worker die at its start, the node listening and never answering;
 * it is refused here, at -t, start and reload alike, naming it.  The
 * modes are read as the kernel reads them, without ACLs.
 */

static ngx_int_t
ngx_http_kvs_reachable(ngx_conf_t *cf, ngx_str_t *dir)
{
    int               ngroups, i, ok;
    u_char           *p, *end;
    uid_t             uid;
    gid_t             gid, groups[64];
    const char       *user;
    struct stat       sb;
    struct passwd    *pw;
    struct group     *gr;
    ngx_core_conf_t  *ccf;
    char              mode[8];
    u_char            path[NGX_MAX_PATH];

    if (geteuid() != 0 || dir->len == 0 || dir->len >= sizeof(path)) {
        return NGX_OK;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cf->cycle->conf_ctx,
                                           ngx_core_module);

    /* the "user" directive, or nginx's default, as nginx will take it */

    if (ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT) {
        uid = ccf->user;
        gid = ccf->group;
        pw = getpwuid(uid);
        user = pw ? pw->pw_name : NULL;

    } else {
        pw = getpwnam(NGX_USER);
        gr = getgrnam(NGX_GROUP);

        if (pw == NULL || gr == NULL) {
            return NGX_OK;      /* nginx says so itself */
        }

        uid = pw->pw_uid;
        gid = gr->gr_gid;
        user = NGX_USER;
    }

    if (uid == 0) {
        return NGX_OK;
    }

    ngroups = 1;
    groups[0] = gid;

    if (user != NULL) {
        ngroups = sizeof(groups) / sizeof(groups[0]);

        if (getgrouplist(user, gid, groups, &ngroups) == -1) {
            ngroups = 1;
        }
    }

    ngx_memcpy(path, dir->data, dir->len);
    path[dir->len] = '\0';
    end = path + dir->len;

    /* every directory above data_dir, from the root down */

    for (p = path + 1; p < end; p++) {
        if (*p != '/') {
            continue;
        }

        *p = '\0';

        if (stat((char *) path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            if (sb.st_uid == uid) {
                ok = sb.st_mode & S_IXUSR;

            } else {
                ok = sb.st_mode & S_IXOTH;

                for (i = 0; i < ngroups; i++) {
                    if (groups[i] == sb.st_gid) {
                        ok = sb.st_mode & S_IXGRP;
                        break;
                    }
                }
            }

            if (!ok) {
                /* nginx's formats have no octal */
                snprintf(mode, sizeof(mode), "%04o",
                         (unsigned) (sb.st_mode & 07777));

                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "kvs: nginx's workers run as user "
                                   "\"%s\" (uid %d), which cannot pass "
                                   "\"%s\" (mode %s, owner uid %d) to "
                                   "reach data_dir \"%V\": let that user "
                                   "through, move data_dir, or set nginx's "
                                   "\"user\"", user ? user : "?", (int) uid,
                                   path, mode, (int) sb.st_uid, dir);
                return NGX_ERROR;
            }
        }

        *p = '/';
    }

    return NGX_OK;
}


/* a file of the YAML, relative to nginx's prefix as data_dir is */

static ngx_int_t
ngx_http_kvs_peer_file(ngx_conf_t *cf, char *name, ngx_str_t *full)
{
    if (name == NULL) {
        ngx_str_null(full);
        return NGX_OK;
    }

    full->data = (u_char *) name;
    full->len = ngx_strlen(name);

    return ngx_conf_full_name(cf->cycle, full, 0);
}


static void *
ngx_http_kvs_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_kvs_loc_conf_t  *klcf;

    klcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_kvs_loc_conf_t));
    if (klcf == NULL) {
        return NULL;
    }

    klcf->api = NGX_CONF_UNSET;
    klcf->cluster = NGX_CONF_UNSET;
    klcf->metrics = NGX_CONF_UNSET;

    return klcf;
}


static char *
ngx_http_kvs_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_kvs_loc_conf_t *prev = parent;
    ngx_http_kvs_loc_conf_t *conf = child;

    ngx_http_core_loc_conf_t  *clcf;

    ngx_conf_merge_value(conf->api, prev->api, 0);
    ngx_conf_merge_value(conf->cluster, prev->cluster, 0);
    ngx_conf_merge_value(conf->metrics, prev->metrics, 0);

    /*
     * The blocks nginx makes locations of inside one of ours, "if" and
     * "limit_except", are ours too (the core module has merged them
     * already): a request that limit_except lets through is served by
     * our handler, where nginx would look for a file; and a body is
     * bounded by the endpoint's own limit, not by the 1m client_max_body_size
     * such a block took from its location before ngx_http_kvs_body_limits()
     * zeroed that.
     */

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->noname && (conf->api || conf->cluster || conf->metrics)) {

        if (clcf->lmt_excpt && clcf->handler == NULL) {
            clcf->handler = conf->metrics ? ngx_http_kvs_metrics_handler
                                          : ngx_http_kvs_handler;
        }

        if (!conf->metrics) {
            clcf->client_max_body_size = 0;
        }
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_kvs_config(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_kvs_main_conf_t *kmcf = conf;

    char        err[KVS_CONFIG_ERRLEN];
    ngx_str_t  *value;

    if (kmcf->file.len) {
        return "is duplicate";
    }

    value = cf->args->elts;
    kmcf->file = value[1];

    if (ngx_conf_full_name(cf->cycle, &kmcf->file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (kvs_config_load(&kmcf->kc, (char *) kmcf->file.data, err,
                        sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s", err);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_kvs_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_kvs_loc_conf_t *klcf = conf;

    if (klcf->api != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    klcf->api = 1;

    return ngx_http_kvs_location(cf, klcf);
}


static char *
ngx_http_kvs_cluster_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_kvs_loc_conf_t *klcf = conf;

    ngx_http_kvs_cluster_api_t  *ca;
    ngx_http_kvs_main_conf_t    *kmcf;

    if (klcf->cluster != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    klcf->cluster = 1;

    kmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_kvs_module);

    if (kmcf->cluster_api == NULL) {
        kmcf->cluster_api = ngx_array_create(cf->pool, 1,
                                    sizeof(ngx_http_kvs_cluster_api_t));
        if (kmcf->cluster_api == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    /* its listen addresses are known once the http block is read */

    ca = ngx_array_push(kmcf->cluster_api);
    if (ca == NULL) {
        return NGX_CONF_ERROR;
    }

    ca->server = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);
    ca->file = cf->conf_file->file.name;
    ca->line = cf->conf_file->line;

    return ngx_http_kvs_location(cf, klcf);
}


/* what kvs_api and kvs_cluster_api both make of a location */

static char *
ngx_http_kvs_location(ngx_conf_t *cf, ngx_http_kvs_loc_conf_t *klcf)
{
    ngx_http_conf_ctx_t        *http;
    ngx_http_kvs_location_t    *loc;
    ngx_http_core_loc_conf_t   *clcf, *up[2];
    ngx_http_core_srv_conf_t   *cscf;
    ngx_http_kvs_main_conf_t   *kmcf;

    if (klcf->metrics == 1) {
        return "cannot share a location with kvs_metrics";
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_kvs_handler;

    kmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_kvs_module);
    kmcf->used = 1;

    /*
     * Whether client_max_body_size was written for the location is known
     * only before nginx merges it: what the location, its server and http
     * say so far is looked at now, the rest once merged.
     */

    loc = ngx_array_push(&kmcf->locations);
    if (loc == NULL) {
        return NGX_CONF_ERROR;
    }

    cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);
    http = (ngx_http_conf_ctx_t *) cf->cycle->conf_ctx[ngx_http_module.index];

    up[0] = cscf->ctx->loc_conf[ngx_http_core_module.ctx_index];
    up[1] = http->loc_conf[ngx_http_core_module.ctx_index];

    loc->clcf = clcf;
    loc->klcf = klcf;
    loc->file = cf->conf_file->file.name;
    loc->line = cf->conf_file->line;
    loc->written = clcf->client_max_body_size;

    if (loc->written == NGX_CONF_UNSET) {
        loc->written = up[0]->client_max_body_size;
    }

    if (loc->written == NGX_CONF_UNSET) {
        loc->written = up[1]->client_max_body_size;
    }

#if (NGX_THREADS)

    /*
     * Durable commits run on this pool, so an fsync or LMDB's writer lock
     * never stalls a worker's event loop: nginx's "default" pool, which
     * "thread_pool default threads=N;" in the main context sizes.
     */

    if (kmcf->thread_pool == NULL) {
        kmcf->thread_pool = ngx_thread_pool_add(cf, NULL);
        if (kmcf->thread_pool == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;

#else

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "\"%V\" needs an nginx built --with-threads",
                       &((ngx_str_t *) cf->args->elts)[0]);

    return NGX_CONF_ERROR;

#endif
}


static ngx_int_t
ngx_http_kvs_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_kvs_main_conf_t  *kmcf;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_kvs_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_kvs_body_filter;

    ngx_http_next_request_body_filter = ngx_http_top_request_body_filter;
    ngx_http_top_request_body_filter = ngx_http_kvs_request_body_filter;

    kmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_kvs_module);

    ngx_http_kvs_body_limits(cf, kmcf);

    if (ngx_http_kvs_metrics_postconfiguration(cf, kmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (kmcf->cluster_api == NULL) {
        return NGX_OK;
    }

    return ngx_http_kvs_cluster_listen(cf, kmcf);
}


/* a peer's batch may carry a value of max_json_size and its framing */

off_t
ngx_http_kvs_batch_max(kvs_config_t *kc)
{
    return 2 * (off_t) kc->max_json_size + 65536;
}


/*
 * The module owns the body limits of its locations: each endpoint checks
 * its own (max_json_size for a client's value, a batch or a member list
 * for a peer's call) before reading and as the body arrives, so nginx's
 * client_max_body_size, whose 1m default would answer 413 before the
 * module sees a larger value or batch, is lifted there.  One written for
 * such a location below what the location takes is a mistake worth a
 * warning at "nginx -t": it has no effect.
 */

static void
ngx_http_kvs_body_limits(ngx_conf_t *cf, ngx_http_kvs_main_conf_t *kmcf)
{
    off_t                       need, written;
    ngx_uint_t                  i, internal;
    ngx_http_conf_ctx_t        *http;
    ngx_http_kvs_location_t    *loc;
    ngx_http_core_loc_conf_t   *top;

    http = (ngx_http_conf_ctx_t *) cf->cycle->conf_ctx[ngx_http_module.index];
    top = http->loc_conf[ngx_http_core_module.ctx_index];

    loc = kmcf->locations.elts;

    for (i = 0; i < kmcf->locations.nelts; i++) {

        internal = loc[i].klcf->cluster
                   || (loc[i].klcf->api && kmcf->cluster_api == NULL);

        need = loc[i].klcf->api ? (off_t) kmcf->kc.max_json_size : 0;

        if (internal) {
            need = ngx_max(need, ngx_http_kvs_batch_max(&kmcf->kc));
            need = ngx_max(need, (off_t) KVS_MEMBERS_JSON_MAX);
        }

        /*
         * Written after the location was read, in it, its server or http:
         * the http level is never merged, and a merged value other than
         * nginx's default was written somewhere.
         */

        written = loc[i].written;

        if (written == NGX_CONF_UNSET) {
            written = top->client_max_body_size;
        }

        if (written == NGX_CONF_UNSET
            && loc[i].clcf->client_max_body_size != 1024 * 1024)
        {
            written = loc[i].clcf->client_max_body_size;
        }

        if (written != NGX_CONF_UNSET && written != 0 && written < need) {
            ngx_kvs_log(NGX_LOG_WARN, cf->log, 0,
                        "kvs: client_max_body_size %O of the location in "
                        "%V:%ui is below the %O bytes this location takes "
                        "(%s); it has no effect there: the module checks "
                        "each endpoint's own limit",
                        written, &loc[i].file, loc[i].line, need,
                        internal ? "a peer's batch"
                                 : "max_json_size");
        }

        ngx_kvs_debug(cf->log, "kvs: the location in %V:%ui takes bodies up "
                      "to %O bytes", &loc[i].file, loc[i].line, need);

        loc[i].clcf->client_max_body_size = 0;
    }
}


/*
 * Peers call this node at bind_address:port, so once the internal
 * endpoints have a listener of their own, that must be it: a listen
 * address of a server with kvs_cluster_api, which takes the peers' Host
 * (the default server of that address, or one naming the host), with TLS
 * when bind_address says https://.  Told at "nginx -t", not by every
 * peer's failing calls.  A wildcard listen takes any host on its port;
 * another is compared with the addresses bind_address resolves to here.
 */

static ngx_int_t
ngx_http_kvs_cluster_listen(ngx_conf_t *cf, ngx_http_kvs_main_conf_t *kmcf)
{
    u_char                      *p;
    ngx_uint_t                   i, j, k, n, ssl, resolved;
    ngx_url_t                    u;
    ngx_str_t                    bind, host, address, text;
    kvs_address_t                a;
    ngx_http_conf_port_t        *port;
    ngx_http_conf_addr_t        *addr;
    ngx_http_kvs_cluster_api_t  *ca;
    ngx_http_core_main_conf_t   *cmcf;

    bind.data = (u_char *) kmcf->kc.bind_address;
    bind.len = ngx_strlen(kmcf->kc.bind_address);

    text.data = ngx_pnalloc(cf->pool, bind.len + sizeof(":65535") - 1);
    if (text.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(text.data, "%V:%d", &bind, kmcf->kc.port);
    text.len = p - text.data;

    /* the loader took only an address peers can call */

    if (kvs_address_parse((char *) text.data, text.len, &a) != 0) {
        ngx_kvs_log(NGX_LOG_EMERG, cf->log, 0,
                    "kvs: bind_address:port \"%V\" is not host:port or "
                    "an http(s):// URL", &text);
        return NGX_ERROR;
    }

    ssl = a.ssl;
    host.data = (u_char *) a.host;
    host.len = a.host_len;
    address.data = (u_char *) a.authority;
    address.len = a.authority_len;

    ca = kmcf->cluster_api->elts;
    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    port = cmcf->ports ? cmcf->ports->elts : NULL;
    n = cmcf->ports ? cmcf->ports->nelts : 0;
    resolved = 0;

    ngx_memzero(&u, sizeof(ngx_url_t));

    for (i = 0; i < n; i++) {

        if (port[i].port != (in_port_t) kmcf->kc.port) {
            continue;
        }

        addr = port[i].addrs.elts;

        for (j = 0; j < port[i].addrs.nelts; j++) {

            if (!addr[j].opt.wildcard) {

                /* the name is resolved once, and only when needed */

                if (!resolved) {
                    resolved = 1;
                    u.url = address;

                    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
                        u.naddrs = 0;
                    }
                }

                for (k = 0; k < u.naddrs; k++) {
                    if (ngx_cmp_sockaddr(u.addrs[k].sockaddr,
                                         u.addrs[k].socklen,
                                         addr[j].opt.sockaddr,
                                         addr[j].opt.socklen, 1)
                        == NGX_OK)
                    {
                        break;
                    }
                }

                if (k == u.naddrs) {
                    continue;
                }
            }

            if (!ngx_http_kvs_cluster_server(&addr[j], kmcf, &host)) {
                continue;
            }

            if (ssl && !addr[j].opt.ssl) {
                ngx_kvs_log(NGX_LOG_EMERG, cf->log, 0,
                            "kvs: bind_address \"%V\" has peers call %V "
                            "over TLS, but that \"listen\" has no \"ssl\"",
                            &bind, &address);
                return NGX_ERROR;
            }

            if (!ssl && addr[j].opt.ssl) {
                ngx_kvs_log(NGX_LOG_EMERG, cf->log, 0,
                            "kvs: bind_address \"%V\" has peers call %V "
                            "without TLS, but that \"listen\" has \"ssl\": "
                            "write \"https://%V\"",
                            &bind, &address, &host);
                return NGX_ERROR;
            }

            ngx_kvs_debug(cf->log, "kvs: peers call %V at the listen %V",
                          &bind, &addr[j].opt.addr_text);

            return NGX_OK;
        }
    }

    ngx_kvs_log(NGX_LOG_EMERG, cf->log, 0,
                "kvs: bind_address:port \"%s:%d\" is no \"listen\" of a "
                "server with \"kvs_cluster_api\" (%V:%ui): peers call the "
                "internal endpoints there; set bind_address and port%s%V "
                "to a listen address of that server%s%s",
                kmcf->kc.bind_address, kmcf->kc.port, &ca[0].file,
                ca[0].line, kmcf->file.len ? " in " : "", &kmcf->file,
                u.err ? ", which cannot be resolved: " : "",
                u.err ? u.err : "");

    return NGX_ERROR;
}


/*
 * Does a request of a peer to this listen address, with bind_address's
 * host in its Host header, reach a server with kvs_cluster_api?  When the
 * server is the address's default, or names the host exactly; regular
 * expressions and wildcards are not tried.
 */

static ngx_uint_t
ngx_http_kvs_cluster_server(ngx_http_conf_addr_t *addr,
    ngx_http_kvs_main_conf_t *kmcf, ngx_str_t *host)
{
    ngx_uint_t                   i, j, k;
    ngx_http_server_name_t      *name;
    ngx_http_core_srv_conf_t   **server;
    ngx_http_kvs_cluster_api_t  *ca;

    ca = kmcf->cluster_api->elts;
    server = addr->servers.elts;

    for (i = 0; i < kmcf->cluster_api->nelts; i++) {
        for (j = 0; j < addr->servers.nelts; j++) {

            if (server[j] != ca[i].server) {
                continue;
            }

            if (server[j] == addr->default_server) {
                return 1;
            }

            name = server[j]->server_names.elts;

            for (k = 0; k < server[j]->server_names.nelts; k++) {
                if (name[k].name.len == host->len
                    && ngx_strncasecmp(name[k].name.data, host->data,
                                       host->len)
                       == 0)
                {
                    return 1;
                }
            }
        }
    }

    return 0;
}


static ngx_uint_t
ngx_http_kvs_store_empty(kvs_store_t *st)
{
    char      err[KVS_STORE_ERRLEN];
    uint64_t  n;

    if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
        return 0;
    }

    if (kvs_store_count(st, &n) != KVS_OK) {
        n = 1;
    }

    kvs_store_read_end(st);

    return n == 0;
}


static ngx_uint_t
ngx_http_kvs_store_syncing(kvs_store_t *st)
{
    char      err[KVS_STORE_ERRLEN];
    uint64_t  v;
    int       rc;

    if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
        return 0;
    }

    rc = kvs_store_meta_get(st, KVS_SYNCING, &v);

    kvs_store_read_end(st);

    return rc == KVS_OK && v != 0;
}


ngx_uint_t
ngx_http_kvs_syncing(void)
{
    return ngx_http_kvs_store_syncing(ngx_http_kvs_store);
}


/*
 * The master opens the store once before it forks, so that a store it
 * cannot use (a newer schema version, a bad data_dir) stops nginx at start
 * with a sentence, and so that the files belong to nginx's "user" when
 * workers are not root.  It closes the store again: LMDB handles must not
 * cross a fork.
 */

static ngx_int_t
ngx_http_kvs_init_module(ngx_cycle_t *cycle)
{
    int                        rc;
    char                       err[KVS_STORE_ERRLEN];
    char                       note[KVS_STORE_ERRLEN];
    u_char                    *p;
    ngx_uint_t                 i, bootstrap;
    kvs_store_t               *st;
    kvs_member_t               self;
    ngx_core_conf_t           *ccf;
    ngx_http_kvs_main_conf_t  *kmcf;
    static const char         *files[] = { "", "/data.mdb", "/lock.mdb" };
    u_char                     path[NGX_MAX_PATH];

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_kvs_module);

    if (kmcf == NULL || !kmcf->used || ngx_test_config) {
        return NGX_OK;
    }

    /* once in the master: its workers and the agent inherit the algorithms
     * fetched, and a write never meets an OpenSSL without them */
    if (kvs_crypto_init() != 0) {
        ngx_kvs_log(NGX_LOG_EMERG, cycle->log, 0,
                    "kvs: OpenSSL lacks SHA-256, SHA3-512, HMAC or scrypt");
        return NGX_ERROR;
    }

    /*
     * A store of an older schema is upgraded at nginx's start only: on a
     * reload, or a binary upgrade, workers of the old build may still read
     * it.
     */

    if (ngx_is_init_cycle(cycle->old_cycle) && !ngx_inherited) {
        rc = kvs_store_open_upgrade(&st, (char *) kmcf->data_dir.data,
                                    kmcf->kc.max_db_size, note, sizeof(note),
                                    err, sizeof(err));

    } else {
        rc = kvs_store_open(&st, (char *) kmcf->data_dir.data,
                            kmcf->kc.max_db_size, err, sizeof(err));
        note[0] = '\0';
    }

    if (rc != KVS_OK) {
        ngx_kvs_log(NGX_LOG_EMERG, cycle->log, 0, "kvs: %s", err);
        return NGX_ERROR;
    }

    if (note[0] != '\0') {
        ngx_kvs_log(NGX_LOG_NOTICE, cycle->log, 0, "kvs: %s", note);
    }

    ngx_memzero(&self, sizeof(kvs_member_t));
    ngx_cpystrn((u_char *) self.node_id, (u_char *) kmcf->kc.node_id,
                sizeof(self.node_id));
    ngx_snprintf((u_char *) self.address, sizeof(self.address) - 1, "%s:%d",
                 kmcf->kc.bind_address, kmcf->kc.port);

    if (kvs_store_member_self(st, &self, ngx_http_kvs_now_ms(), err,
                              sizeof(err))
        != KVS_OK)
    {
        ngx_kvs_log(NGX_LOG_EMERG, cycle->log, 0, "kvs: %s", err);
        kvs_store_close(st);
        return NGX_ERROR;
    }

    /*
     * An empty store that has seeds to learn from bootstraps before it
     * takes writes: the mark is set before any worker starts.  A store
     * that kvs-restore marked bootstraps the same way, from its seeds; on
     * a node without seeds it would wait for a peer that may never call,
     * so such a node serves it as it is, as it would serve an empty one.
     * A node that bootstraps creates the administrator once its peers'
     * data is in.
     */

    bootstrap = kmcf->kc.nseed_nodes && kmcf->kc.cluster_secret;

    if (bootstrap && ngx_http_kvs_store_empty(st)) {
        if (kvs_store_meta_put(st, KVS_SYNCING, 1, err, sizeof(err))
            != KVS_OK)
        {
            ngx_kvs_log(NGX_LOG_EMERG, cycle->log, 0, "kvs: %s", err);
            kvs_store_close(st);
            return NGX_ERROR;
        }

    } else if (!ngx_http_kvs_store_syncing(st)) {
        ngx_http_kvs_admin_create(st, kmcf, cycle->log);

    } else if (!bootstrap) {
        if (kvs_store_meta_delete(st, KVS_SYNCING, err, sizeof(err))
            != KVS_OK)
        {
            ngx_kvs_log(NGX_LOG_EMERG, cycle->log, 0, "kvs: %s", err);
            kvs_store_close(st);
            return NGX_ERROR;
        }

        ngx_kvs_log(NGX_LOG_NOTICE, cycle->log, 0,
                    "kvs: the store in \"%V\" is marked syncing (by "
                    "kvs-restore), but this node has no seed_nodes to sync "
                    "from: it serves the store as it is, in normal mode",
                    &kmcf->data_dir);

        ngx_http_kvs_admin_create(st, kmcf, cycle->log);
    }

    kvs_store_close(st);

    if (kmcf->kc.cluster_secret && ngx_http_kvs_wake_init(cycle, kmcf)
                                   != NGX_OK)
    {
        return NGX_ERROR;
    }

    ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx, ngx_core_module);

    ngx_http_kvs_backup_dir(cycle, kmcf, ccf);

    if (geteuid() != 0 || ccf->user == (ngx_uid_t) NGX_CONF_UNSET_UINT) {
        return NGX_OK;
    }

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        p = ngx_snprintf(path, sizeof(path) - 1, "%V%s", &kmcf->data_dir,
                         files[i]);
        *p = '\0';

        if (chown((char *) path, ccf->user, ccf->group) == -1) {
            ngx_kvs_log(NGX_LOG_EMERG, cycle->log, ngx_errno,
                        "kvs: chown(\"%s\", %d) failed", path, ccf->user);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/*
 * The agent's wake-up: a pipe the master makes for the cycle, before it
 * forks its processes, so that every worker holds its write end and the
 * agent its read end.  A byte says "a commit was made"; it carries no
 * data, and a full pipe already says it.  nginx ignores SIGPIPE, so a
 * worker of an old cycle whose agent is gone only gets EPIPE.
 */

static ngx_int_t
ngx_http_kvs_wake_init(ngx_cycle_t *cycle, ngx_http_kvs_main_conf_t *kmcf)
{
    ngx_uint_t           i;
    ngx_pool_cleanup_t  *cln;

    cln = ngx_pool_cleanup_add(cycle->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    if (pipe(kmcf->wake) == -1) {
        ngx_kvs_log(NGX_LOG_EMERG, cycle->log, ngx_errno,
                    "kvs: pipe() of the agent's wake-up failed");
        return NGX_ERROR;
    }

    cln->handler = ngx_http_kvs_wake_cleanup;
    cln->data = kmcf;

    for (i = 0; i < 2; i++) {
        if (ngx_nonblocking(kmcf->wake[i]) == -1
            || fcntl(kmcf->wake[i], F_SETFD, FD_CLOEXEC) == -1)
        {
            ngx_kvs_log(NGX_LOG_EMERG, cycle->log, ngx_errno,
                        "kvs: the agent's wake-up pipe cannot be set "
                        "non-blocking and close-on-exec");
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static void
ngx_http_kvs_wake_cleanup(void *data)
{
    ngx_http_kvs_main_conf_t *kmcf = data;

    ngx_uint_t  i;

    for (i = 0; i < 2; i++) {
        if (kmcf->wake[i] != NGX_INVALID_FILE) {
            (void) close(kmcf->wake[i]);
            kmcf->wake[i] = NGX_INVALID_FILE;
        }
    }
}


static ngx_int_t
ngx_http_kvs_init_process(ngx_cycle_t *cycle)
{
    ngx_http_kvs_main_conf_t  *kmcf;

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_kvs_module);

    if (kmcf == NULL || !kmcf->used) {
        return NGX_OK;
    }

    if (ngx_process != NGX_PROCESS_WORKER
        && ngx_process != NGX_PROCESS_SINGLE)
    {
        /*
         * nginx's helpers are the cache manager, where the agent runs, and
         * the cache loader of any proxy_cache_path, which must run none:
         * init_process cannot tell them apart, the path manager's first
         * call can (ngx_kvs_agent_manager()).
         */

        return NGX_OK;
    }

    return ngx_http_kvs_init_store_process(cycle);
}


/* a worker's, the single process's, or the agent's helper's, at its start */

ngx_int_t
ngx_http_kvs_init_store_process(ngx_cycle_t *cycle)
{
    char                       err[KVS_STORE_ERRLEN];
    ngx_http_kvs_main_conf_t  *kmcf;

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_kvs_module);

    if (kvs_store_open(&ngx_http_kvs_store, (char *) kmcf->data_dir.data,
                       kmcf->kc.max_db_size, err, sizeof(err))
        != KVS_OK)
    {
        ngx_kvs_log(NGX_LOG_EMERG, cycle->log, 0, "kvs: %s", err);
        return NGX_ERROR;
    }

    kvs_store_set_history(ngx_http_kvs_store, kmcf->kc.revision_history);

    ngx_http_kvs_metrics_init_process(cycle);

    if (ngx_http_kvs_audit_init_process(cycle, kmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_process != NGX_PROCESS_HELPER
        && ngx_http_kvs_write_init_process(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    /* the password KDF's own threads, where logins are taken */

    if (ngx_process != NGX_PROCESS_HELPER && kmcf->kc.auth_enabled
        && ngx_http_kvs_kdf_init_process(cycle,
                                         kmcf->kc.password_threads)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_process != NGX_PROCESS_WORKER) {
        return ngx_kvs_agent_init(cycle, ngx_http_kvs_store);
    }

    return NGX_OK;
}


static void
ngx_http_kvs_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_kvs_kdf_exit_process(cycle);

    /* no folded count outlives the process that may be the last */
    ngx_http_kvs_audit_flush(cycle, 1);

    if (ngx_kvs_backup_busy()) {
        ngx_kvs_log(NGX_LOG_NOTICE, cycle->log, 0,
                    "kvs: the backup running is cut short by the exit");
        return;
    }

    kvs_store_close(ngx_http_kvs_store);
    ngx_http_kvs_store = NULL;
}


static void
ngx_http_kvs_exit_master(ngx_cycle_t *cycle)
{
    /*
     * In a binary upgrade the old master exits while the new one serves
     * the node on: no leave then.  nginx forgets the new binary's pid once
     * it exits (an upgrade rolled back), and then this exit is a stop.
     */

    if (ngx_new_binary == 0) {
        ngx_kvs_agent_leave(cycle);

    } else {
        ngx_kvs_log(NGX_LOG_NOTICE, cycle->log, 0,
                    "kvs: the new binary (pid %P) serves the node on: "
                    "its peers are not told that it leaves", ngx_new_binary);
    }

    ngx_http_kvs_exit_process(cycle);
}


uint64_t
ngx_http_kvs_now_ms(void)
{
    struct timeval  tv;

    ngx_gettimeofday(&tv);

    return (uint64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;
}


/* the sentence of an error nginx raised itself, or none was given */

typedef struct {
    ngx_uint_t             status;
    ngx_str_t              sentence;
} ngx_http_kvs_status_t;


static ngx_http_kvs_status_t  ngx_http_kvs_statuses[] = {

    { NGX_HTTP_BAD_REQUEST, ngx_string("the request is malformed") },
    { NGX_HTTP_FORBIDDEN,
      ngx_string("access to this location is forbidden") },
    { NGX_HTTP_NOT_FOUND, ngx_string("not found") },
    { NGX_HTTP_NOT_ALLOWED, ngx_string("the method is not allowed here") },
    { NGX_HTTP_REQUEST_TIME_OUT,
      ngx_string("the client took too long to send the request") },
    { NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
      ngx_string("the request body is too large") },
    { NGX_HTTP_REQUEST_URI_TOO_LARGE,
      ngx_string("the request URI is too long") },
    { NGX_HTTP_PRECONDITION_FAILED,
      ngx_string("the precondition failed: If-Match names no version the "
                 "key is at") },
    { NGX_HTTP_SERVICE_UNAVAILABLE,
      ngx_string("the service is unavailable") },

    /* any other: a server error, or a client's */
    { NGX_HTTP_INTERNAL_SERVER_ERROR, ngx_string("internal server error") },
    { 0, ngx_string("the request failed") }
};


static ngx_str_t *
ngx_http_kvs_status_sentence(ngx_uint_t status)
{
    ngx_http_kvs_status_t  *st;

    for (st = ngx_http_kvs_statuses; st->status; st++) {
        if (st->status == status
            || (st->status == NGX_HTTP_INTERNAL_SERVER_ERROR
                && status >= NGX_HTTP_INTERNAL_SERVER_ERROR))
        {
            break;
        }
    }

    return &st->sentence;
}


static ngx_int_t
ngx_http_kvs_header_filter(ngx_http_request_t *r)
{
    u_char                   *p;
    size_t                    len, used;
    ngx_str_t                 sentence;
    ngx_http_kvs_ctx_t       *ctx;
    ngx_http_kvs_loc_conf_t  *klcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvs_module);

    if (klcf == NULL || !(klcf->api || klcf->cluster || klcf->metrics)
        || r->err_status < NGX_HTTP_BAD_REQUEST || r != r->main)
    {
        return ngx_http_next_header_filter(r);
    }

    ctx = ngx_http_kvs_get_ctx(r);
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    sentence = ctx->error;

    if (sentence.len == 0) {
        sentence = *ngx_http_kvs_status_sentence(r->err_status);
    }

    /*
     * The sentence may quote what the client sent, which may be anything:
     * kvs_json_encode() makes it JSON whatever the bytes, and a sentence
     * longer than NGX_HTTP_KVS_SENTENCE_MAX is cut between characters and
     * says so with "...".
     */

    len = kvs_json_encode(NULL, 0, sentence.data, sentence.len, NULL);

    if (len > NGX_HTTP_KVS_SENTENCE_MAX) {
        len = NGX_HTTP_KVS_SENTENCE_MAX + sizeof("...") - 1;
    }

    len += sizeof("{\"error\":\"\"}\n") - 1;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ctx->error.data = p;
    p = ngx_cpymem(p, "{\"error\":\"", sizeof("{\"error\":\"") - 1);
    p += kvs_json_encode(p, NGX_HTTP_KVS_SENTENCE_MAX, sentence.data,
                         sentence.len, &used);

    if (used < sentence.len) {
        p = ngx_cpymem(p, "...", sizeof("...") - 1);
    }

    p = ngx_cpymem(p, "\"}\n", 3);
    ctx->error.len = p - ctx->error.data;
    ctx->json_error = 1;

    r->headers_out.content_length_n = ctx->error.len;
    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = sizeof("application/json") - 1;
    r->headers_out.content_type_lowcase = NULL;
    r->headers_out.charset.len = 0;

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_kvs_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_buf_t           *b;
    ngx_chain_t          out;
    ngx_http_kvs_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);

    if (ctx == NULL || !ctx->json_error) {
        return ngx_http_next_body_filter(r, in);
    }

    /* nginx's own error page is dropped: the JSON replaces it */

    if (ctx->error_sent || in == NULL) {
        return NGX_OK;
    }

    ctx->error_sent = 1;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = ctx->error.data;
    b->last = ctx->error.data + ctx->error.len;
    b->memory = 1;
    b->last_buf = 1;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
}


/*
 * Counts a request body as it arrives, chunked or not, and stops reading
 * once it passes max_json_size, or the limit the handler set (a member
 * list, a peer's batch), so a client cannot make a worker buffer more than
 * that.
 */

static ngx_int_t
ngx_http_kvs_request_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    off_t                      limit;
    ngx_chain_t               *cl;
    ngx_http_kvs_ctx_t        *ctx;
    ngx_http_kvs_loc_conf_t   *klcf;
    ngx_http_kvs_main_conf_t  *kmcf;

    klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvs_module);

    if (!klcf->api && !klcf->cluster) {
        return ngx_http_next_request_body_filter(r, in);
    }

    ctx = ngx_http_kvs_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    for (cl = in; cl; cl = cl->next) {
        ctx->body_size += ngx_buf_size(cl->buf);
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    limit = ctx->body_max ? ctx->body_max : (off_t) kmcf->kc.max_json_size;

    if (ctx->body_size > limit) {
        return ngx_http_kvs_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                  "the request body is larger than %s "
                                  "(%O bytes)",
                                  ctx->body_max_of ? ctx->body_max_of
                                                   : "max_json_size",
                                  limit);
    }

    return ngx_http_next_request_body_filter(r, in);
}
