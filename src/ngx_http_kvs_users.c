/*
 * /api/users and /api/groups: identity, for admins (a user may read
 * themselves and change their own password with the old one).
 *
 * A user's record is keyed by its username's uuid (kvs_ident_uuid), a
 * group's by its name's, so that a name is unique across the cluster: two
 * creations of one name on two nodes are two versions of one key, and the
 * newer wins everywhere; the creator of the other finds its user replaced.
 * Membership lives in the group records only: a user's groups are the
 * groups that list it.  Every change is a write of those records through
 * the group commit, answered once durable; a group changed by a membership
 * edit is written over the version read (If-Match), so that two edits of
 * one group never lose each other's members: the loser gets 409.
 *
 * Passwords are hashed on the KDF's thread pool (ngx_http_kvs_kdf.c); a
 * change of password stamps password_changed_at, which revokes every token
 * issued before it (ngx_http_kvs_auth.c).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "kvs_crypto.h"
#include "kvs_ident.h"


/* groups one request may change the membership of */
#define NGX_HTTP_KVS_GROUPS_MAX  KVS_IDENT_GROUPS_MAX


typedef struct {
    ngx_http_request_t        *request;
    ngx_http_kvs_kdf_task_t    task;
    kvs_ident_user_req_t       req;
    uint8_t                    uuid[KVS_UUID_LEN];
    char                       path[KVS_UUID_STR_LEN];
    char                       held[KVS_IDENT_STORED_MAX]; /* old hash */
    size_t                     held_len;
    kvs_user_t                 user;        /* as it will be written */
    kvs_version_t              version;     /* the version read, PUT */
    ngx_uint_t                 create;
    int                        match;       /* old_password: 1 matches */
    char                       hash[KVS_PASSWORD_HASH_MAX];
    int                        hash_len;
} ngx_http_kvs_user_job_t;


static void ngx_http_kvs_users_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvs_user_read(ngx_http_request_t *r,
    ngx_http_kvs_user_job_t *j, ngx_uint_t *found);
static void ngx_http_kvs_user_kdf(void *data);
static void ngx_http_kvs_user_kdf_done(void *data);
static ngx_int_t ngx_http_kvs_user_write(ngx_http_request_t *r,
    ngx_http_kvs_user_job_t *j);
static ngx_int_t ngx_http_kvs_user_written(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx);
static ngx_int_t ngx_http_kvs_user_get(ngx_http_request_t *r,
    ngx_str_t *id);
static ngx_int_t ngx_http_kvs_user_delete(ngx_http_request_t *r,
    ngx_str_t *id);
static ngx_int_t ngx_http_kvs_groups_of(ngx_http_request_t *r,
    ngx_http_kvs_user_job_t *j, ngx_array_t *writes);
static ngx_int_t ngx_http_kvs_user_public(ngx_http_request_t *r,
    const uint8_t *uuid, kvs_user_t *u, ngx_uint_t status);
static int ngx_http_kvs_user_group(const char *path, size_t len,
    int is_prefix, void *data);
static ngx_int_t ngx_http_kvs_id(ngx_http_request_t *r, ngx_str_t *id,
    uint8_t *uuid);
static ngx_uint_t ngx_http_kvs_self(ngx_http_request_t *r,
    const uint8_t *uuid);
static void ngx_http_kvs_groups_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvs_group_get(ngx_http_request_t *r,
    ngx_str_t *id);
static ngx_int_t ngx_http_kvs_page(ngx_http_request_t *r, char ns,
    const char *name);
static ngx_int_t ngx_http_kvs_user_deleted(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx);
static ngx_int_t ngx_http_kvs_identity_delete(ngx_http_request_t *r,
    char ns, const uint8_t *uuid, ngx_int_t (*written)(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx));


/* "/api/users" or "/api/users/{uuid}": the uuid, or an empty id */

static ngx_int_t
ngx_http_kvs_api_id(ngx_http_request_t *r, size_t base, ngx_str_t *id)
{
    id->data = r->uri.data + base;
    id->len = r->uri.len - base;

    if (id->len && *id->data == '/') {
        id->data++;
        id->len--;
    }

    return NGX_OK;
}


/* whether the request's user is an admin, outside a read of the store */

static ngx_uint_t
ngx_http_kvs_admin(ngx_http_request_t *r)
{
    ngx_uint_t  admin;
    char        err[KVS_STORE_ERRLEN];

    if (kvs_store_read_begin(ngx_http_kvs_store, err, sizeof(err))
        != KVS_OK)
    {
        ngx_kvs_log(NGX_LOG_ERR, r->connection->log, 0, "kvs: %s", err);
        return 0;
    }

    admin = ngx_http_kvs_admin_of(r);

    kvs_store_read_end(ngx_http_kvs_store);

    return admin;
}


static ngx_int_t
ngx_http_kvs_api_ready(ngx_http_request_t *r)
{
    ngx_http_kvs_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    if (!kmcf->kc.auth_enabled) {
        return ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND,
                                  "auth_enabled is off on this node: it has "
                                  "no users");
    }

    return NGX_OK;
}


ngx_int_t
ngx_http_kvs_users_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;
    ngx_str_t  id;

    rc = ngx_http_kvs_api_ready(r);
    if (rc != NGX_OK) {
        return rc;
    }

    (void) ngx_http_kvs_api_id(r, sizeof("/api/users") - 1, &id);

    if (id.len == 0) {
        if (!ngx_http_kvs_admin(r)) {
            return ngx_http_kvs_error(r, NGX_HTTP_FORBIDDEN,
                                      "only admins may list or create "
                                      "users");
        }

        if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
            return ngx_http_kvs_page(r, KVS_NS_USER, "users");
        }

        if (r->method != NGX_HTTP_POST) {
            return ngx_http_kvs_not_allowed(r, "GET, HEAD, POST", "the "
                                            "method %V is not allowed on "
                                            "/api/users; GET lists users, "
                                            "POST creates one",
                                            &r->method_name);
        }

    } else if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        return ngx_http_kvs_user_get(r, &id);

    } else if (r->method == NGX_HTTP_DELETE) {
        return ngx_http_kvs_user_delete(r, &id);

    } else if (r->method != NGX_HTTP_PUT) {
        return ngx_http_kvs_not_allowed(r, "GET, HEAD, PUT, DELETE",
                                        "the method %V is not allowed on a "
                                        "user; use GET, PUT or DELETE",
                                        &r->method_name);
    }

    if (ngx_http_kvs_syncing()) {
        return ngx_http_kvs_syncing_refused(r,
                                            "send changes to another node");
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_kvs_users_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* POST /api/users and PUT /api/users/{uuid}: the body read */

static void
ngx_http_kvs_users_body(ngx_http_request_t *r)
{
    u_char                   *data;
    size_t                    len;
    ngx_int_t                 rc;
    ngx_str_t                 id;
    ngx_uint_t                found, admin;
    const char               *why;
    ngx_http_kvs_user_job_t  *j;

    rc = ngx_http_kvs_body(r, &data, &len);
    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    j = ngx_pcalloc(r->pool, sizeof(ngx_http_kvs_user_job_t));
    if (j == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    j->request = r;

    if (kvs_ident_user_req_parse(data, len, &j->req, &why) != 0) {
        ngx_http_finalize_request(r,
            ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST, "%s", why));
        return;
    }

    admin = ngx_http_kvs_admin(r);
    j->create = (r->method == NGX_HTTP_POST);

    if (j->create) {
        if (!j->req.username.present || !j->req.password.present) {
            rc = ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                    "a new user needs \"username\" and "
                                    "\"password\"");
            goto done;
        }

        if (kvs_ident_uuid(KVS_NS_USER, j->req.username.data,
                           j->req.username.len, j->uuid)
            != 0)
        {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            goto done;
        }

    } else {
        (void) ngx_http_kvs_api_id(r, sizeof("/api/users") - 1, &id);

        rc = ngx_http_kvs_id(r, &id, j->uuid);
        if (rc != NGX_OK) {
            goto done;
        }

        if (j->req.username.present) {
            rc = ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                    "a user's \"username\" cannot change: "
                                    "it names the user across the cluster; "
                                    "create another user");
            goto done;
        }

        /* a user may change only their own password, with the old one:
         * not their groups, nor their rate limit */

        if (!admin
            && (!ngx_http_kvs_self(r, j->uuid) || j->req.groups.present
                || j->req.disabled.present || j->req.rate_limit.present
                || !j->req.password.present
                || !j->req.old_password.present))
        {
            rc = ngx_http_kvs_error(r, NGX_HTTP_FORBIDDEN,
                                    ngx_http_kvs_self(r, j->uuid)
                                    ? "you may change only your password, "
                                      "with \"old_password\" and "
                                      "\"password\""
                                    : "only admins may change other users");
            goto done;
        }
    }

    kvs_uuid_format(j->uuid, j->path);

    rc = ngx_http_kvs_user_read(r, j, &found);
    if (rc != NGX_OK) {
        goto done;
    }

    if (j->create && found) {
        rc = ngx_http_kvs_error(r, NGX_HTTP_CONFLICT,
                                "a user named \"%*s\" exists",
                                j->req.username.len, j->req.username.data);
        goto done;
    }

    if (!j->create && !found) {
        rc = ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND, "no user \"%V\"",
                                &id);
        goto done;
    }

    if (!j->req.password.present) {
        rc = ngx_http_kvs_user_write(r, j);
        goto done;
    }

    j->task.work = ngx_http_kvs_user_kdf;
    j->task.done = ngx_http_kvs_user_kdf_done;
    j->task.data = j;

    if (ngx_http_kvs_kdf_post(&j->task) != NGX_OK) {
        rc = ngx_http_kvs_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                "too many password changes are waiting on "
                                "this node; retry");
        goto done;
    }

    /* held until the KDF's thread is done with the request's memory */

    r->main->blocked++;

    return;

done:

    ngx_explicit_memzero(&j->req, sizeof(kvs_ident_user_req_t));

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }
}


/*
 * The user's record as held, into the job: found says whether a live one
 * is; its stored hash and the version read are kept for a change.
 */

static ngx_int_t
ngx_http_kvs_user_read(ngx_http_request_t *r, ngx_http_kvs_user_job_t *j,
    ngx_uint_t *found)
{
    int                rc;
    ngx_int_t          status;
    kvs_user_t         u;
    const uint8_t     *value;
    kvs_record_hdr_t   hdr;

    *found = 0;

    status = ngx_http_kvs_read_begin(r);
    if (status != NGX_OK) {
        return status;
    }

    rc = kvs_store_get(ngx_http_kvs_store, KVS_NS_USER, j->path,
                       KVS_UUID_STR_LEN, &hdr, &value);

    status = NGX_OK;

    if (rc == KVS_OK && kvs_record_live(&hdr, ngx_http_kvs_now_ms())) {
        if (kvs_user_parse(value, hdr.value_len, &u) != 0
            || u.password_len > sizeof(j->held))
        {
            status = ngx_http_kvs_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                        "the user's record is damaged");

        } else {
            *found = 1;
            j->version = hdr.version;
            j->user = u;
            j->held_len = u.password_len;
            ngx_memcpy(j->held, u.password, u.password_len);
            j->user.password = j->held;

            /* the username points into the map: copied for later */
            j->user.username = ngx_pnalloc(r->pool, u.username_len);
            if (j->user.username == NULL) {
                status = NGX_HTTP_INTERNAL_SERVER_ERROR;

            } else {
                ngx_memcpy((char *) j->user.username, u.username,
                           u.username_len);
            }
        }
    }

    kvs_store_read_end(ngx_http_kvs_store);

    if (rc == KVS_ERROR) {
        return ngx_http_kvs_unreadable(r, "the user's record is unreadable");
    }

    return status;
}


/* on a thread of the KDF's pool */

static void
ngx_http_kvs_user_kdf(void *data)
{
    ngx_http_kvs_user_job_t *j = data;

    j->match = 1;

    if (j->req.old_password.present) {
        j->match = kvs_password_verify(j->req.old_password.data,
                                       j->req.old_password.len,
                                       j->held, j->held_len);
    }

    j->hash_len = -1;

    if (j->match == 1) {
        j->hash_len = kvs_password_hash(j->req.password.data,
                                        j->req.password.len,
                                        &kvs_scrypt_default, j->hash,
                                        sizeof(j->hash));
    }

    ngx_explicit_memzero(j->req.password.data,
                         sizeof(j->req.password.data));
    ngx_explicit_memzero(j->req.old_password.data,
                         sizeof(j->req.old_password.data));
}


static void
ngx_http_kvs_user_kdf_done(void *data)
{
    ngx_http_kvs_user_job_t *j = data;

    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = j->request;
    c = r->connection;

    r->main->blocked--;

    /* wiped by the work, unless it never ran */
    ngx_explicit_memzero(j->req.password.data,
                         sizeof(j->req.password.data));
    ngx_explicit_memzero(j->req.old_password.data,
                         sizeof(j->req.old_password.data));

    if (j->task.skipped) {
        rc = ngx_http_kvs_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                "this worker is shutting down; retry");

    } else if (j->match != 1) {
        rc = ngx_http_kvs_error(r, NGX_HTTP_FORBIDDEN,
                                "\"old_password\" is not the user's "
                                "password");

    } else if (j->hash_len < 0) {
        ngx_kvs_log(NGX_LOG_ALERT, r->connection->log, 0,
                    "kvs: hashing a password failed");
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    } else {
        rc = ngx_http_kvs_user_write(r, j);
    }

    ngx_explicit_memzero(j->hash, sizeof(j->hash));

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }

    ngx_http_run_posted_requests(c);
}


/*
 * The writes of a creation or a change: the user's record, and the
 * groups whose membership changes.  NGX_DONE once queued.
 */

/*
 * Whether the user is the last enabled member of the group admin, whom a
 * deletion, a disabling or leaving the group would leave without one:
 * nobody could then manage users, groups, the audit log or backups.
 * Inside a read transaction.  Two admins that remove each other on two
 * nodes at once can still both go; an admin_password_file's admin is
 * made again only on a store that never held one.
 */

static ngx_uint_t
ngx_http_kvs_last_admin(const uint8_t *uuid)
{
    size_t             i;
    uint8_t            member[KVS_UUID_LEN];
    ngx_uint_t         in, others;
    kvs_user_t         u;
    kvs_group_t        g;
    const uint8_t     *held;
    kvs_record_hdr_t   hdr;

    if (!ngx_http_kvs_identity(KVS_NS_GROUP, kvs_ident_admin_group, &hdr,
                               &held)
        || kvs_group_parse(held, hdr.value_len, &g) != 0)
    {
        return 0;
    }

    in = 0;
    others = 0;

    for (i = 0; i < g.nmembers; i++) {
        (void) kvs_group_member(&g, i, member);

        if (ngx_memcmp(member, uuid, KVS_UUID_LEN) == 0) {
            in = 1;

        } else if (ngx_http_kvs_identity(KVS_NS_USER, member, &hdr, &held)
                   && kvs_user_parse(held, hdr.value_len, &u) == 0
                   && !u.disabled)
        {
            others++;
        }
    }

    return in && others == 0;
}


static ngx_int_t
ngx_http_kvs_last_admin_refused(ngx_http_request_t *r, const char *what)
{
    return ngx_http_kvs_error(r, NGX_HTTP_CONFLICT,
                              "this user is the last enabled member of the "
                              "group admin, who may not be %s: without one "
                              "nobody could manage users, groups, the audit "
                              "log or backups", what);
}


/* ngx_http_kvs_last_admin() in a read transaction of its own: NGX_OK, or
 * the 409 */

static ngx_int_t
ngx_http_kvs_last_admin_check(ngx_http_request_t *r, const uint8_t *uuid,
    const char *what)
{
    ngx_int_t   rc;
    ngx_uint_t  last;

    rc = ngx_http_kvs_read_begin(r);
    if (rc != NGX_OK) {
        return rc;
    }

    last = ngx_http_kvs_last_admin(uuid);
    kvs_store_read_end(ngx_http_kvs_store);

    return last ? ngx_http_kvs_last_admin_refused(r, what) : NGX_OK;
}


static ngx_int_t
ngx_http_kvs_user_write(ngx_http_request_t *r, ngx_http_kvs_user_job_t *j)
{
    size_t                     len;
    uint8_t                   *value;
    uint64_t                   now;
    ngx_int_t                  rc;
    ngx_str_t                  name;
    ngx_array_t                writes;
    kvs_write_t               *w;
    ngx_http_kvs_ctx_t        *ctx;

    now = ngx_http_kvs_now_ms();

    if (!j->create && j->req.disabled.present && j->req.disabled.value) {
        rc = ngx_http_kvs_last_admin_check(r, j->uuid, "disabled");
        if (rc != NGX_OK) {
            return rc;
        }
    }

    if (j->create) {
        ngx_memzero(&j->user, sizeof(kvs_user_t));
        j->user.username = ngx_pnalloc(r->pool, j->req.username.len);
        if (j->user.username == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_memcpy((char *) j->user.username, j->req.username.data,
                   j->req.username.len);
        j->user.username_len = j->req.username.len;
        j->user.created_at = now;
        j->user.rate_limit = -1;
    }

    /*
     * A change of password revokes every token issued before it, and so
     * does disabling, for good: enabling again does not bring them back.
     * A login issues its token after the millisecond of the last change
     * (ngx_http_kvs_login_issue()), so the new mark is past that too.
     */

    if (j->req.password.present) {
        j->user.password = j->hash;
        j->user.password_len = j->hash_len;
    }

    if (j->req.disabled.present) {
        j->user.disabled = j->req.disabled.value;
    }

    if (j->req.rate_limit.present) {
        j->user.rate_limit = j->req.rate_limit.value;
    }

    if (j->req.password.present
        || (j->req.disabled.present && j->req.disabled.value))
    {
        j->user.password_changed_at = ngx_max(now,
                                              j->user.password_changed_at + 1);
    }

    len = kvs_user_encode(&j->user, NULL, 0);
    value = ngx_pnalloc(r->pool, len);
    if (len == 0 || value == NULL
        || kvs_user_encode(&j->user, value, len) != len)
    {
        ngx_kvs_log(NGX_LOG_ALERT, r->connection->log, 0,
                    "kvs: the record of user \"%*s\" cannot be written",
                    j->user.username_len, j->user.username);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_array_init(&writes, r->pool, 4, sizeof(kvs_write_t)) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    w = ngx_array_push(&writes);
    if (w == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(w, sizeof(kvs_write_t));
    w->op = KVS_WRITE_PUT;
    w->ns = KVS_NS_USER;
    w->path = j->path;
    w->path_len = KVS_UUID_STR_LEN;
    w->value = value;
    w->value_len = len;

    if (j->create) {
        w->create_only = 1;

    } else {
        w->if_match = 1;
        ngx_memcpy(w->match, j->version.uuid, KVS_UUID_LEN);
    }

    /*
     * A user created under a name deleted before has the old user's uuid,
     * which the groups of the old one still list: creation makes the
     * groups exactly those named, none when none are.
     */

    if (j->req.groups.present || j->create) {
        rc = ngx_http_kvs_groups_of(r, j, &writes);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    /* the user's record and every group joined or left commit together,
     * in one group commit */

    if (writes.nelts > NGX_HTTP_KVS_BATCH_MAX) {
        return ngx_http_kvs_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                  "this change rewrites the members of %ui "
                                  "groups, more than the %d one change "
                                  "may: take the user out of some of them "
                                  "with PUT /api/groups/{uuid} first",
                                  writes.nelts - 1,
                                  NGX_HTTP_KVS_BATCH_MAX - 1);
    }

    ctx = ngx_http_kvs_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->writes = writes.elts;
    ctx->nwrites = writes.nelts;
    ctx->written = ngx_http_kvs_user_written;
    ctx->data = j;

    name.data = (u_char *) j->user.username;
    name.len = j->user.username_len;
    ngx_http_kvs_audit_describe(r, j->create ? KVS_AUDIT_USER_CREATE
                                             : KVS_AUDIT_USER_UPDATE,
                                "user:", &name, NULL);

    if (ngx_http_kvs_write_enqueue(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


/*
 * The user's groups become exactly those its request names: each must
 * exist, and every group whose membership of the user changes is written
 * over the version read, with the user added or taken out.
 */

typedef struct {
    ngx_http_request_t        *request;
    ngx_http_kvs_user_job_t   *job;
    ngx_array_t               *writes;
    uint8_t                  (*want)[KVS_UUID_LEN];
    size_t                     nwant;
    ngx_int_t                  status;
} ngx_http_kvs_membership_t;


static int
ngx_http_kvs_membership_one(const char *path, size_t len, int is_prefix,
    void *data)
{
    ngx_http_kvs_membership_t *ms = data;

    char              *key;
    size_t             i, n, size;
    uint8_t           *value, gid[KVS_UUID_LEN];
    uint8_t          (*members)[KVS_UUID_LEN];
    ngx_uint_t         has, want;
    kvs_group_t        g;
    kvs_write_t       *w;
    const uint8_t     *held;
    kvs_record_hdr_t   hdr;

    if (is_prefix || len != KVS_UUID_STR_LEN
        || kvs_uuid_parse(gid, path, len) != 0
        || kvs_store_get(ngx_http_kvs_store, KVS_NS_GROUP, path, len, &hdr,
                         &held)
           != KVS_OK
        || !kvs_record_live(&hdr, ngx_http_kvs_now_ms())
        || kvs_group_parse(held, hdr.value_len, &g) != 0)
    {
        return KVS_OK;
    }

    want = 0;

    for (i = 0; i < ms->nwant; i++) {
        if (ngx_memcmp(ms->want[i], gid, KVS_UUID_LEN) == 0) {
            want = 1;
            break;
        }
    }

    has = kvs_group_has(held, hdr.value_len, ms->job->uuid) == 1;

    if (has == want) {
        return KVS_OK;
    }

    members = ngx_palloc(ms->request->pool, (g.nmembers + 1) * KVS_UUID_LEN);
    key = ngx_pnalloc(ms->request->pool, KVS_UUID_STR_LEN);
    w = ngx_array_push(ms->writes);
    if (members == NULL || key == NULL || w == NULL) {
        return KVS_ERROR;
    }

    n = 0;

    for (i = 0; i < g.nmembers; i++) {
        (void) kvs_group_member(&g, i, members[n]);

        if (ngx_memcmp(members[n], ms->job->uuid, KVS_UUID_LEN) != 0) {
            n++;
        }
    }

    if (want) {
        ngx_memcpy(members[n++], ms->job->uuid, KVS_UUID_LEN);
        n = kvs_group_sort(members, n);
    }

    size = kvs_group_encode(g.name, g.name_len,
                            (const uint8_t (*)[KVS_UUID_LEN]) members, n,
                            g.created_at, NULL, 0);
    value = ngx_pnalloc(ms->request->pool, size);
    if (size == 0 || value == NULL
        || kvs_group_encode(g.name, g.name_len,
                            (const uint8_t (*)[KVS_UUID_LEN]) members, n,
                            g.created_at, value, size)
           != size)
    {
        return KVS_ERROR;
    }

    ngx_memcpy(key, path, KVS_UUID_STR_LEN);

    ngx_memzero(w, sizeof(kvs_write_t));
    w->op = KVS_WRITE_PUT;
    w->ns = KVS_NS_GROUP;
    w->path = key;
    w->path_len = KVS_UUID_STR_LEN;
    w->value = value;
    w->value_len = size;
    w->if_match = 1;
    ngx_memcpy(w->match, hdr.version.uuid, KVS_UUID_LEN);

    return KVS_OK;
}


static ngx_int_t
ngx_http_kvs_groups_of(ngx_http_request_t *r, ngx_http_kvs_user_job_t *j,
    ngx_array_t *writes)
{
    int                         more;
    char                        name[KVS_IDENT_NAME_MAX];
    size_t                      at, len, i;
    ngx_int_t                   status;
    const uint8_t              *held;
    kvs_record_hdr_t            hdr;
    ngx_http_kvs_membership_t   ms;

    ms.request = r;
    ms.job = j;
    ms.writes = writes;
    ms.nwant = 0;
    ms.want = ngx_palloc(r->pool, (j->req.groups.n + 1) * KVS_UUID_LEN);
    if (ms.want == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    status = ngx_http_kvs_read_begin(r);
    if (status != NGX_OK) {
        return status;
    }

    at = 0;

    while (kvs_ident_names_next(&j->req.groups, &at, name, &len)) {
        if (kvs_ident_uuid(KVS_NS_GROUP, name, len, ms.want[ms.nwant]) != 0)
        {
            status = NGX_HTTP_INTERNAL_SERVER_ERROR;
            break;
        }

        if (!ngx_http_kvs_identity(KVS_NS_GROUP, ms.want[ms.nwant], &hdr,
                                   &held))
        {
            status = ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                        "there is no group named \"%*s\"",
                                        len, name);
            break;
        }

        ms.nwant++;
    }

    /* leaving the group admin: not its last enabled member */

    if (status == NGX_OK && !j->create) {
        for (i = 0; i < ms.nwant; i++) {
            if (ngx_memcmp(ms.want[i], kvs_ident_admin_group, KVS_UUID_LEN)
                == 0)
            {
                break;
            }
        }

        if (i == ms.nwant && ngx_http_kvs_last_admin(j->uuid)) {
            status = ngx_http_kvs_last_admin_refused(r, "taken out of it");
        }
    }

    if (status == NGX_OK
        && kvs_store_list(ngx_http_kvs_store, KVS_NS_GROUP, "", 0, NULL, 0,
                          1, (size_t) -1, ngx_http_kvs_now_ms(),
                          ngx_http_kvs_membership_one, &ms, &more)
           != KVS_OK)
    {
        status = NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    kvs_store_read_end(ngx_http_kvs_store);

    return status;
}


static ngx_int_t
ngx_http_kvs_user_written(ngx_http_request_t *r, ngx_http_kvs_ctx_t *ctx)
{
    ngx_uint_t                i;
    ngx_http_kvs_user_job_t  *j;

    j = ctx->data;

    if (ctx->writes[0].rc == KVS_PRECONDITION) {
        return ngx_http_kvs_error(r, NGX_HTTP_CONFLICT,
                                  j->create ? "a user of that name was "
                                              "created meanwhile"
                                            : "the user changed meanwhile; "
                                              "retry");
    }

    for (i = 1; i < ctx->nwrites; i++) {
        if (ctx->writes[i].rc == KVS_PRECONDITION) {
            return ngx_http_kvs_error(r, NGX_HTTP_CONFLICT,
                                      "the user was written, but one of "
                                      "its groups changed meanwhile; set "
                                      "its \"groups\" again");
        }
    }

    return ngx_http_kvs_user_public(r, j->uuid, &j->user,
                                    j->create ? NGX_HTTP_CREATED
                                              : NGX_HTTP_OK);
}


/* the uuid of /api/users/{uuid} */

static ngx_int_t
ngx_http_kvs_id(ngx_http_request_t *r, ngx_str_t *id, uint8_t *uuid)
{
    if (id->len != KVS_UUID_STR_LEN
        || kvs_uuid_parse(uuid, (const char *) id->data, id->len) != 0)
    {
        return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                  "\"%V\" is not a uuid", id);
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_kvs_self(ngx_http_request_t *r, const uint8_t *uuid)
{
    ngx_http_kvs_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);

    return ctx && ctx->user
           && ngx_memcmp(ctx->user->uuid, uuid, KVS_UUID_LEN) == 0;
}


typedef struct {
    ngx_http_request_t  *request;
    const uint8_t       *user;
    ngx_array_t         *names;          /* ngx_str_t */
} ngx_http_kvs_groups_t;


/* a user's groups: those of the groups that list it */

static int
ngx_http_kvs_user_group(const char *path, size_t len, int is_prefix,
    void *data)
{
    ngx_http_kvs_groups_t *gs = data;

    ngx_str_t         *name;
    kvs_group_t        g;
    const uint8_t     *value;
    kvs_record_hdr_t   hdr;

    if (is_prefix
        || kvs_store_get(ngx_http_kvs_store, KVS_NS_GROUP, path, len, &hdr,
                         &value)
           != KVS_OK
        || kvs_group_has(value, hdr.value_len, gs->user) != 1
        || kvs_group_parse(value, hdr.value_len, &g) != 0)
    {
        return KVS_OK;
    }

    name = ngx_array_push(gs->names);
    if (name == NULL) {
        return KVS_ERROR;
    }

    name->len = g.name_len;
    name->data = ngx_pnalloc(gs->request->pool, g.name_len);
    if (name->data == NULL) {
        return KVS_ERROR;
    }

    ngx_memcpy(name->data, g.name, g.name_len);

    return KVS_OK;
}


/* names as the core's JSON writers take them: pointers and lengths */

static ngx_int_t
ngx_http_kvs_names(ngx_http_request_t *r, ngx_str_t *names, size_t n,
    const char ***ptrs, size_t **lens)
{
    size_t  i;

    *ptrs = ngx_palloc(r->pool, (n + 1) * sizeof(char *));
    *lens = ngx_palloc(r->pool, (n + 1) * sizeof(size_t));
    if (*ptrs == NULL || *lens == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < n; i++) {
        (*ptrs)[i] = (const char *) names[i].data;
        (*lens)[i] = names[i].len;
    }

    return NGX_OK;
}


/*
 * A user as the API shows it, inside the current read transaction: no
 * password, no hash; with the names of its groups.
 */

static ngx_int_t
ngx_http_kvs_user_json(ngx_http_request_t *r, const uint8_t *uuid,
    kvs_user_t *u, ngx_str_t *out)
{
    int                     more;
    size_t                 *lens;
    const char            **ptrs;
    ngx_http_kvs_groups_t   gs;

    gs.request = r;
    gs.user = uuid;
    gs.names = ngx_array_create(r->pool, 4, sizeof(ngx_str_t));
    if (gs.names == NULL) {
        return NGX_ERROR;
    }

    if (kvs_store_list(ngx_http_kvs_store, KVS_NS_GROUP, "", 0, NULL, 0, 1,
                       (size_t) -1, ngx_http_kvs_now_ms(),
                       ngx_http_kvs_user_group, &gs, &more)
        != KVS_OK
        || ngx_http_kvs_names(r, gs.names->elts, gs.names->nelts, &ptrs,
                              &lens)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    out->len = kvs_user_public(uuid, u, ptrs, lens, gs.names->nelts, NULL,
                               0);
    out->data = ngx_pnalloc(r->pool, out->len);
    if (out->data == NULL
        || kvs_user_public(uuid, u, ptrs, lens, gs.names->nelts, out->data,
                           out->len)
           != out->len)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A group as the API shows it, inside the current read transaction: its
 * members by username, those deleted since left out.
 */

static ngx_int_t
ngx_http_kvs_group_json(ngx_http_request_t *r, const uint8_t *uuid,
    kvs_group_t *g, ngx_str_t *out)
{
    size_t             i, n, *lens;
    uint8_t            member[KVS_UUID_LEN];
    ngx_str_t         *names;
    kvs_user_t         u;
    const char       **ptrs;
    const uint8_t     *value;
    kvs_record_hdr_t   hdr;

    names = ngx_palloc(r->pool, (g->nmembers + 1) * sizeof(ngx_str_t));
    if (names == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    for (i = 0; i < g->nmembers; i++) {
        (void) kvs_group_member(g, i, member);

        if (!ngx_http_kvs_identity(KVS_NS_USER, member, &hdr, &value)
            || kvs_user_parse(value, hdr.value_len, &u) != 0)
        {
            continue;
        }

        names[n].data = (u_char *) u.username;   /* in the read txn */
        names[n].len = u.username_len;
        n++;
    }

    if (ngx_http_kvs_names(r, names, n, &ptrs, &lens) != NGX_OK) {
        return NGX_ERROR;
    }

    out->len = kvs_group_public(uuid, g, ptrs, lens, n, NULL, 0);
    out->data = ngx_pnalloc(r->pool, out->len);
    if (out->data == NULL
        || kvs_group_public(uuid, g, ptrs, lens, n, out->data, out->len)
           != out->len)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* one JSON object answered, with its newline */

static ngx_int_t
ngx_http_kvs_api_send(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *json)
{
    u_char  *body;

    body = ngx_pnalloc(r->pool, json->len + 1);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(body, json->data, json->len);
    body[json->len] = '\n';

    return ngx_http_kvs_send(r, status, body, json->len + 1);
}


static ngx_int_t
ngx_http_kvs_user_public(ngx_http_request_t *r, const uint8_t *uuid,
    kvs_user_t *u, ngx_uint_t status)
{
    ngx_int_t  rc;
    ngx_str_t  json;

    rc = ngx_http_kvs_read_begin(r);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_kvs_user_json(r, uuid, u, &json);

    kvs_store_read_end(ngx_http_kvs_store);

    if (rc != NGX_OK) {
        return ngx_http_kvs_unreadable(r, "the groups cannot be read");
    }

    return ngx_http_kvs_api_send(r, status, &json);
}


/*
 * GET /api/users and GET /api/groups, admins: a page of them in uuid
 * order, as a listing of keys pages (?limit, ?after = the last "next"):
 * {"users":[...],"next":"<uuid>"|null}.
 */

typedef struct {
    ngx_http_request_t  *request;
    char                 ns;
    ngx_array_t         *items;           /* ngx_str_t, JSON */
    ngx_str_t            last;
    size_t               size;
} ngx_http_kvs_page_t;


static int
ngx_http_kvs_page_one(const char *path, size_t len, int is_prefix,
    void *data)
{
    ngx_http_kvs_page_t *pg = data;

    uint8_t            uuid[KVS_UUID_LEN];
    ngx_int_t          rc;
    ngx_str_t         *json;
    kvs_user_t         u;
    kvs_group_t        g;
    const uint8_t     *value;
    kvs_record_hdr_t   hdr;

    pg->last.data = (u_char *) path;
    pg->last.len = len;

    if (is_prefix || len != KVS_UUID_STR_LEN
        || kvs_uuid_parse(uuid, path, len) != 0
        || kvs_store_get(ngx_http_kvs_store, pg->ns, path, len, &hdr, &value)
           != KVS_OK)
    {
        return KVS_OK;
    }

    json = ngx_array_push(pg->items);
    if (json == NULL) {
        return KVS_ERROR;
    }

    if (pg->ns == KVS_NS_USER) {
        rc = kvs_user_parse(value, hdr.value_len, &u) == 0
             ? ngx_http_kvs_user_json(pg->request, uuid, &u, json)
             : NGX_DECLINED;

    } else {
        rc = kvs_group_parse(value, hdr.value_len, &g) == 0
             ? ngx_http_kvs_group_json(pg->request, uuid, &g, json)
             : NGX_DECLINED;
    }

    if (rc == NGX_DECLINED) {
        pg->items->nelts--;          /* a damaged record is left out */
        return KVS_OK;
    }

    if (rc != NGX_OK) {
        return KVS_ERROR;
    }

    pg->size += json->len + 1;

    return KVS_OK;
}


static ngx_int_t
ngx_http_kvs_page(ngx_http_request_t *r, char ns, const char *name)
{
    int                     rc, more;
    ngx_str_t               body, *next;
    ngx_int_t               status;
    ngx_http_kvs_page_t     pg;
    ngx_http_kvs_params_t   params;

    status = ngx_http_kvs_params(r, NGX_HTTP_KVS_PARAMS_PAGE, &params);
    if (status != NGX_OK) {
        return status;
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pg.request = r;
    pg.ns = ns;
    pg.size = 0;
    ngx_str_null(&pg.last);
    pg.items = ngx_array_create(r->pool, 16, sizeof(ngx_str_t));
    if (pg.items == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    status = ngx_http_kvs_read_begin(r);
    if (status != NGX_OK) {
        return status;
    }

    rc = kvs_store_list(ngx_http_kvs_store, ns, "", 0,
                        (const char *) params.after.data, params.after.len,
                        1, params.limit, ngx_http_kvs_now_ms(),
                        ngx_http_kvs_page_one, &pg, &more);

    /* the last key is the store's: the body is made before the read ends */
    next = (more && pg.last.len == KVS_UUID_STR_LEN) ? &pg.last : NULL;

    if (rc == KVS_OK) {
        status = ngx_http_kvs_page_body(r, name, pg.items, pg.size, next,
                                        &body);
    }

    kvs_store_read_end(ngx_http_kvs_store);

    if (rc != KVS_OK) {
        return ngx_http_kvs_unreadable(r, "the list cannot be read");
    }

    if (status != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvs_send(r, NGX_HTTP_OK, body.data, body.len);
}


/*
 * DELETE of a user or a group: the tombstone of its record, keyed by the
 * uuid as this node writes it (lowercase), answered by written once
 * durable.
 */

static ngx_int_t
ngx_http_kvs_identity_delete(ngx_http_request_t *r, char ns,
    const uint8_t *uuid, ngx_int_t (*written)(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx))
{
    ngx_int_t            rc;
    ngx_http_kvs_ctx_t  *ctx;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx = ngx_http_kvs_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->key.data = ngx_pnalloc(r->pool, KVS_UUID_STR_LEN);
    if (ctx->key.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->key.len = KVS_UUID_STR_LEN;
    kvs_uuid_format(uuid, (char *) ctx->key.data);

    ctx->write.op = KVS_WRITE_DELETE;
    ctx->write.ns = ns;
    ctx->write.path = (const char *) ctx->key.data;
    ctx->write.path_len = ctx->key.len;
    ctx->written = written;

    return ngx_http_kvs_write_queue(r, ctx);
}


/* GET /api/users/{uuid}: admins, and the user themselves */

static ngx_int_t
ngx_http_kvs_user_get(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_int_t                 rc;
    ngx_uint_t                found;
    ngx_http_kvs_user_job_t  *j;

    j = ngx_pcalloc(r->pool, sizeof(ngx_http_kvs_user_job_t));
    if (j == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_kvs_id(r, id, j->uuid);
    if (rc != NGX_OK) {
        return rc;
    }

    if (!ngx_http_kvs_admin(r) && !ngx_http_kvs_self(r, j->uuid)) {
        return ngx_http_kvs_error(r, NGX_HTTP_FORBIDDEN,
                                  "only admins may read other users");
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    kvs_uuid_format(j->uuid, j->path);

    rc = ngx_http_kvs_user_read(r, j, &found);
    if (rc != NGX_OK) {
        return rc;
    }

    if (!found) {
        return ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND, "no user \"%V\"",
                                  id);
    }

    return ngx_http_kvs_user_public(r, j->uuid, &j->user, NGX_HTTP_OK);
}


static ngx_int_t
ngx_http_kvs_user_deleted(ngx_http_request_t *r, ngx_http_kvs_ctx_t *ctx)
{
    if (ctx->write.rc == KVS_NOT_FOUND) {
        return ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND, "no user \"%V\"",
                                  &ctx->key);
    }

    return ngx_http_kvs_send(r, NGX_HTTP_NO_CONTENT, NULL, 0);
}


/*
 * DELETE /api/users/{uuid}, admins: the tombstone revokes every token of
 * the user at once.  Its uuid stays in the groups that list it, which
 * show live members only; a user created again under the name is taken
 * out of them (ngx_http_kvs_user_write()).
 */

static ngx_int_t
ngx_http_kvs_user_delete(ngx_http_request_t *r, ngx_str_t *id)
{
    ngx_int_t            rc;
    uint8_t              uuid[KVS_UUID_LEN];

    if (!ngx_http_kvs_admin(r)) {
        return ngx_http_kvs_error(r, NGX_HTTP_FORBIDDEN,
                                  "only admins may delete users");
    }

    rc = ngx_http_kvs_id(r, id, uuid);
    if (rc != NGX_OK) {
        return rc;
    }

    if (ngx_http_kvs_syncing()) {
        return ngx_http_kvs_syncing_refused(r,
                                            "send changes to another node");
    }

    rc = ngx_http_kvs_last_admin_check(r, uuid, "deleted");
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_kvs_identity_delete(r, KVS_NS_USER, uuid,
                                        ngx_http_kvs_user_deleted);
}



/*
 * /api/groups: POST {"name","members":[usernames]} creates a group,
 * GET|PUT|DELETE /api/groups/{uuid} read it, set its members, delete it.
 * Admins only; the group admin cannot be deleted.
 */

typedef struct {
    kvs_ident_group_req_t      req;
    uint8_t                    uuid[KVS_UUID_LEN];
    char                       path[KVS_UUID_STR_LEN];
    ngx_str_t                  name;
    uint64_t                   created_at;
    ngx_uint_t                 create;
    ngx_str_t                 *names;        /* members' usernames */
    size_t                     n;
} ngx_http_kvs_group_job_t;


static ngx_int_t ngx_http_kvs_group_answer(ngx_http_request_t *r,
    ngx_http_kvs_group_job_t *j, ngx_uint_t status);
static ngx_int_t ngx_http_kvs_group_written(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx);


ngx_int_t
ngx_http_kvs_groups_handler(ngx_http_request_t *r)
{
    ngx_int_t            rc;
    ngx_str_t            id;
    uint8_t              uuid[KVS_UUID_LEN];

    rc = ngx_http_kvs_api_ready(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (!ngx_http_kvs_admin(r)) {
        return ngx_http_kvs_error(r, NGX_HTTP_FORBIDDEN,
                                  "only admins may read or change groups");
    }

    (void) ngx_http_kvs_api_id(r, sizeof("/api/groups") - 1, &id);

    if (id.len == 0) {
        if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
            return ngx_http_kvs_page(r, KVS_NS_GROUP, "groups");
        }

        if (r->method != NGX_HTTP_POST) {
            return ngx_http_kvs_not_allowed(r, "GET, HEAD, POST", "the "
                                            "method %V is not allowed on "
                                            "/api/groups; GET lists groups, "
                                            "POST creates one",
                                            &r->method_name);
        }

    } else {
        rc = ngx_http_kvs_id(r, &id, uuid);
        if (rc != NGX_OK) {
            return rc;
        }

        if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
            return ngx_http_kvs_group_get(r, &id);
        }

        if (r->method != NGX_HTTP_PUT && r->method != NGX_HTTP_DELETE) {
            return ngx_http_kvs_not_allowed(r, "GET, HEAD, PUT, DELETE",
                                            "the method %V is not allowed "
                                            "on a group; use GET, PUT or "
                                            "DELETE", &r->method_name);
        }
    }

    if (ngx_http_kvs_syncing()) {
        return ngx_http_kvs_syncing_refused(r,
                                            "send changes to another node");
    }

    if (r->method != NGX_HTTP_DELETE) {
        rc = ngx_http_read_client_request_body(r, ngx_http_kvs_groups_body);

        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
            return rc;
        }

        return NGX_DONE;
    }

    if (ngx_memcmp(uuid, kvs_ident_admin_group, KVS_UUID_LEN) == 0) {
        return ngx_http_kvs_error(r, NGX_HTTP_FORBIDDEN,
                                  "the group admin cannot be deleted");
    }

    return ngx_http_kvs_identity_delete(r, KVS_NS_GROUP, uuid,
                                        ngx_http_kvs_group_written);
}


/*
 * A group's members as it stores them, by uuid in ascending order (as
 * kvs_group_sort() keeps them), each once, their names moved with them.
 * Returns the count left, or -1 when out of memory.
 */

typedef struct {
    uint8_t     uuid[KVS_UUID_LEN];
    ngx_str_t   name;
} ngx_http_kvs_member_t;


static int
ngx_http_kvs_member_cmp(const void *one, const void *two)
{
    const ngx_http_kvs_member_t  *a = one, *b = two;

    return ngx_memcmp(a->uuid, b->uuid, KVS_UUID_LEN);
}


static ngx_int_t
ngx_http_kvs_group_order(ngx_pool_t *pool, uint8_t (*members)[KVS_UUID_LEN],
    ngx_str_t *names, size_t n)
{
    size_t                  i, k;
    ngx_http_kvs_member_t  *m;

    if (n == 0) {
        return 0;
    }

    m = ngx_palloc(pool, n * sizeof(ngx_http_kvs_member_t));
    if (m == NULL) {
        return -1;
    }

    for (i = 0; i < n; i++) {
        ngx_memcpy(m[i].uuid, members[i], KVS_UUID_LEN);
        m[i].name = names[i];
    }

    qsort(m, n, sizeof(ngx_http_kvs_member_t), ngx_http_kvs_member_cmp);

    for (i = 0, k = 0; i < n; i++) {
        if (k && ngx_memcmp(m[k - 1].uuid, m[i].uuid, KVS_UUID_LEN) == 0) {
            continue;
        }

        m[k++] = m[i];
    }

    for (i = 0; i < k; i++) {
        ngx_memcpy(members[i], m[i].uuid, KVS_UUID_LEN);
        names[i] = m[i].name;
    }

    return (ngx_int_t) k;
}


/* POST /api/groups and PUT /api/groups/{uuid}: the body read */

static void
ngx_http_kvs_groups_body(ngx_http_request_t *r)
{
    int                        got;
    u_char                    *data;
    size_t                     len, at, n, size;
    uint8_t                   *value;
    uint8_t                  (*members)[KVS_UUID_LEN];
    ngx_int_t                  rc;
    ngx_str_t                  id;
    kvs_group_t                g;
    ngx_int_t                  order;
    ngx_uint_t                 enabled;
    kvs_user_t                 u;
    const char                *why;
    const uint8_t             *held;
    kvs_record_hdr_t           hdr;
    ngx_http_kvs_ctx_t        *ctx;
    ngx_http_kvs_group_job_t  *j;

    enabled = 0;

    rc = ngx_http_kvs_body(r, &data, &len);
    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    ctx = ngx_http_kvs_get_ctx(r);
    j = ngx_pcalloc(r->pool, sizeof(ngx_http_kvs_group_job_t));
    if (ctx == NULL || j == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (kvs_ident_group_req_parse(data, len, &j->req, &why) != 0) {
        ngx_http_finalize_request(r,
            ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST, "%s", why));
        return;
    }

    j->create = (r->method == NGX_HTTP_POST);

    if (j->create) {
        if (!j->req.name.present) {
            ngx_http_finalize_request(r,
                ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                   "a new group needs a \"name\""));
            return;
        }

        if (kvs_ident_uuid(KVS_NS_GROUP, j->req.name.data, j->req.name.len,
                           j->uuid)
            != 0)
        {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

    } else {
        (void) ngx_http_kvs_api_id(r, sizeof("/api/groups") - 1, &id);
        (void) kvs_uuid_parse(j->uuid, (const char *) id.data, id.len);

        if (j->req.name.present) {
            ngx_http_finalize_request(r,
                ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                   "a group's \"name\" cannot change: it "
                                   "names the group across the cluster"));
            return;
        }
    }

    kvs_uuid_format(j->uuid, j->path);

    members = ngx_palloc(r->pool, (j->req.members.n + 1) * KVS_UUID_LEN);
    j->names = ngx_palloc(r->pool, (j->req.members.n + 1)
                                   * sizeof(ngx_str_t));
    if (members == NULL || j->names == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_kvs_read_begin(r);
    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    got = ngx_http_kvs_identity(KVS_NS_GROUP, j->uuid, &hdr, &held)
          && kvs_group_parse(held, hdr.value_len, &g) == 0;

    rc = NGX_OK;

    if (j->create && got) {
        rc = ngx_http_kvs_error(r, NGX_HTTP_CONFLICT,
                                "a group named \"%*s\" exists",
                                j->req.name.len, j->req.name.data);

    } else if (!j->create && !got) {
        rc = ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND, "no group \"%*s\"",
                                (size_t) KVS_UUID_STR_LEN, j->path);
    }

    if (rc == NGX_OK && j->create) {
        j->name.data = (u_char *) j->req.name.data;
        j->name.len = j->req.name.len;
        j->created_at = ngx_http_kvs_now_ms();

    } else if (rc == NGX_OK) {
        j->name.data = ngx_pnalloc(r->pool, g.name_len);
        if (j->name.data == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

        } else {
            j->name.len = g.name_len;
            ngx_memcpy(j->name.data, g.name, g.name_len);
            j->created_at = g.created_at;
            ngx_memcpy(ctx->write.match, hdr.version.uuid, KVS_UUID_LEN);
        }
    }

    /* every member must be a user of this node */

    n = 0;
    at = 0;

    while (rc == NGX_OK) {
        j->names[n].data = ngx_pnalloc(r->pool, KVS_IDENT_NAME_MAX);
        if (j->names[n].data == NULL) {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            break;
        }

        if (!kvs_ident_names_next(&j->req.members, &at,
                                  (char *) j->names[n].data,
                                  &j->names[n].len))
        {
            break;
        }

        if (kvs_ident_uuid(KVS_NS_USER, (char *) j->names[n].data,
                           j->names[n].len, members[n])
            != 0)
        {
            rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            break;
        }

        if (!ngx_http_kvs_identity(KVS_NS_USER, members[n], &hdr, &held)) {
            rc = ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                    "\"members\" names \"%V\", who is not "
                                    "a user", &j->names[n]);

        } else if (kvs_user_parse(held, hdr.value_len, &u) == 0
                   && !u.disabled)
        {
            enabled++;
        }

        n++;
    }

    kvs_store_read_end(ngx_http_kvs_store);

    /* emptied, or left with disabled users only, the group admin would
     * leave nobody to manage users, groups, the audit log and backups */

    if (rc == NGX_OK && enabled == 0
        && ngx_memcmp(j->uuid, kvs_ident_admin_group, KVS_UUID_LEN) == 0)
    {
        rc = ngx_http_kvs_error(r, NGX_HTTP_CONFLICT,
                                "the group admin must keep an enabled "
                                "member: without one nobody could manage "
                                "users, groups, the audit log or backups");
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    /* stored by uuid, each once: the answer names them in that order */

    order = ngx_http_kvs_group_order(r->pool, members, j->names, n);
    if (order < 0) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    n = (size_t) order;
    j->n = n;

    size = kvs_group_encode((const char *) j->name.data, j->name.len,
                            (const uint8_t (*)[KVS_UUID_LEN]) members, n,
                            j->created_at, NULL, 0);
    value = ngx_pnalloc(r->pool, size);
    if (size == 0 || value == NULL
        || kvs_group_encode((const char *) j->name.data, j->name.len,
                            (const uint8_t (*)[KVS_UUID_LEN]) members, n,
                            j->created_at, value, size)
           != size)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->write.op = KVS_WRITE_PUT;
    ctx->write.ns = KVS_NS_GROUP;
    ctx->write.path = j->path;
    ctx->write.path_len = KVS_UUID_STR_LEN;
    ctx->write.value = value;
    ctx->write.value_len = size;
    ctx->write.create_only = j->create;
    ctx->write.if_match = !j->create;

    ctx->written = ngx_http_kvs_group_written;
    ctx->data = j;

    ngx_http_kvs_audit_describe(r, j->create ? KVS_AUDIT_GROUP_CREATE
                                             : KVS_AUDIT_GROUP_UPDATE,
                                "group:", &j->name, NULL);

    if (ngx_http_kvs_write_enqueue(r, ctx) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static ngx_int_t
ngx_http_kvs_group_written(ngx_http_request_t *r, ngx_http_kvs_ctx_t *ctx)
{
    ngx_http_kvs_group_job_t  *j;

    if (ctx->write.rc == KVS_NOT_FOUND) {
        return ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND, "no group \"%V\"",
                                  &ctx->key);
    }

    if (ctx->write.op == KVS_WRITE_DELETE) {
        return ngx_http_kvs_send(r, NGX_HTTP_NO_CONTENT, NULL, 0);
    }

    j = ctx->data;

    if (ctx->write.rc == KVS_PRECONDITION) {
        return ngx_http_kvs_error(r, NGX_HTTP_CONFLICT,
                                  j->create ? "a group of that name was "
                                              "created meanwhile"
                                            : "the group changed meanwhile; "
                                              "retry");
    }

    return ngx_http_kvs_group_answer(r, j, j->create ? NGX_HTTP_CREATED
                                                     : NGX_HTTP_OK);
}


static ngx_int_t
ngx_http_kvs_group_answer(ngx_http_request_t *r, ngx_http_kvs_group_job_t *j,
    ngx_uint_t status)
{
    size_t        *lens;
    ngx_str_t      json;
    kvs_group_t    g;
    const char   **ptrs;

    ngx_memzero(&g, sizeof(kvs_group_t));
    g.name = (const char *) j->name.data;
    g.name_len = j->name.len;
    g.created_at = j->created_at;

    if (ngx_http_kvs_names(r, j->names, j->n, &ptrs, &lens) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    json.len = kvs_group_public(j->uuid, &g, ptrs, lens, j->n, NULL, 0);
    json.data = ngx_pnalloc(r->pool, json.len);
    if (json.data == NULL
        || kvs_group_public(j->uuid, &g, ptrs, lens, j->n, json.data,
                            json.len)
           != json.len)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvs_api_send(r, status, &json);
}


/* GET /api/groups/{uuid}: the group, its members by username */

static ngx_int_t
ngx_http_kvs_group_get(ngx_http_request_t *r, ngx_str_t *id)
{
    uint8_t            uuid[KVS_UUID_LEN];
    ngx_int_t          rc;
    ngx_str_t          json;
    kvs_group_t        g;
    const uint8_t     *held;
    kvs_record_hdr_t   hdr;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    (void) kvs_uuid_parse(uuid, (const char *) id->data, id->len);

    rc = ngx_http_kvs_read_begin(r);
    if (rc != NGX_OK) {
        return rc;
    }

    if (!ngx_http_kvs_identity(KVS_NS_GROUP, uuid, &hdr, &held)
        || kvs_group_parse(held, hdr.value_len, &g) != 0)
    {
        kvs_store_read_end(ngx_http_kvs_store);
        return ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND, "no group \"%V\"",
                                  id);
    }

    rc = ngx_http_kvs_group_json(r, uuid, &g, &json);

    kvs_store_read_end(ngx_http_kvs_store);

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvs_api_send(r, NGX_HTTP_OK, &json);
}
