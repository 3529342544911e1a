/*
 * /api/login and /api/logout: tokens.
 *
 * A login reads the user's record, runs the password KDF on the module's
 * own thread pool (ngx_http_kvs_kdf.c), never on the event loop, and on a
 * match writes the token's record through the group commit: the answer
 * comes once the token is durable, so that a logout, or a check on any
 * node the record reaches, finds it.  An unknown username costs one KDF as
 * a wrong password does, and both get the same sentence.
 *
 * A token's record is keyed by the SHA3-512 of the token, holds its user
 * and expiry, and expires with it (the TTL sweep); a logout writes its
 * tombstone, a revocation, whether the record has reached this node or
 * not.  Logins and logouts write identity, not data: a read_only node
 * takes them.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "kvs_crypto.h"
#include "kvs_ident.h"
#include "kvs_jwt.h"


typedef struct {
    ngx_http_request_t        *request;
    ngx_http_kvs_kdf_task_t    task;
    uint8_t                    user[KVS_UUID_LEN];
    uint64_t                   changed_at;  /* the user's password_changed_at,
                                               ms */
    ngx_uint_t                 known;       /* a live, enabled user */
    kvs_ident_login_t          req;
    char                       stored[KVS_IDENT_STORED_MAX];
    size_t                     stored_len;
    int                        match;
    u_char                     token[KVS_JWT_MAX];
    size_t                     token_len;
    uint64_t                   expires_at;  /* ms */
    u_char                     path[2 * NGX_HTTP_KVS_TOKEN_DIGEST];
    u_char                     value[128];
    u_char                     name[KVS_IDENT_NAME_MAX];  /* for the
                                               audit log, which the wipe
                                               of req leaves */
    ngx_str_t                  username;
} ngx_http_kvs_login_t;


static void ngx_http_kvs_login_body(ngx_http_request_t *r);
static void ngx_http_kvs_login_kdf(void *data);
static void ngx_http_kvs_login_done(void *data);
static ngx_int_t ngx_http_kvs_login_issue(ngx_http_request_t *r,
    ngx_http_kvs_login_t *l);
static ngx_int_t ngx_http_kvs_login_written(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx);
static ngx_int_t ngx_http_kvs_logout_written(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx);


ngx_int_t
ngx_http_kvs_login_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_http_kvs_main_conf_t  *kmcf;

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_kvs_not_allowed(r, "POST", "the method %V is not "
                                        "allowed on %V; use POST",
                                        &r->method_name, &r->uri);
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    if (!kmcf->kc.auth_enabled) {
        return ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND,
                                  "auth_enabled is off on this node: it "
                                  "needs no token");
    }

    if (ngx_http_kvs_syncing()) {
        return ngx_http_kvs_syncing_refused(r,
                                            "log in on another node");
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_kvs_login_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_kvs_login_body(ngx_http_request_t *r)
{
    int                    rc;
    u_char                *data;
    size_t                 len;
    char                   path[KVS_UUID_STR_LEN];
    ngx_int_t              status;
    kvs_user_t             user;
    const char            *why;
    const uint8_t         *value;
    kvs_record_hdr_t       hdr;
    ngx_http_kvs_login_t  *l;

    status = ngx_http_kvs_body(r, &data, &len);
    if (status != NGX_OK) {
        ngx_http_finalize_request(r, status);
        return;
    }

    l = ngx_pcalloc(r->pool, sizeof(ngx_http_kvs_login_t));
    if (l == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    l->request = r;

    if (kvs_ident_login_parse(data, len, &l->req, &why) != 0) {
        ngx_http_finalize_request(r,
            ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST, "%s", why));
        return;
    }

    l->username.data = l->name;
    l->username.len = l->req.username.len;
    ngx_memcpy(l->name, l->req.username.data, l->req.username.len);

    if (kvs_ident_uuid(KVS_NS_USER, l->req.username.data, l->req.username.len,
                       l->user)
        != 0)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    status = ngx_http_kvs_read_begin(r);
    if (status != NGX_OK) {
        ngx_http_finalize_request(r, status);
        return;
    }

    kvs_uuid_format(l->user, path);

    rc = kvs_store_get(ngx_http_kvs_store, KVS_NS_USER, path, sizeof(path),
                       &hdr, &value);

    if (rc == KVS_OK && kvs_record_live(&hdr, ngx_http_kvs_now_ms())
        && !(hdr.flags & KVS_FLAG_COMPRESSED)
        && kvs_user_parse(value, hdr.value_len, &user) == 0
        && !user.disabled
        && user.password_len <= sizeof(l->stored))
    {
        l->known = 1;
        l->changed_at = user.password_changed_at;
        l->stored_len = user.password_len;
        ngx_memcpy(l->stored, user.password, user.password_len);
    }

    kvs_store_read_end(ngx_http_kvs_store);

    if (rc == KVS_ERROR) {
        ngx_http_finalize_request(r,
            ngx_http_kvs_unreadable(r, "the user's record is unreadable"));
        return;
    }

    l->task.work = ngx_http_kvs_login_kdf;
    l->task.done = ngx_http_kvs_login_done;
    l->task.data = l;

    if (ngx_http_kvs_kdf_post(&l->task) != NGX_OK) {
        ngx_explicit_memzero(&l->req, sizeof(kvs_ident_login_t));

        if (ngx_http_kvs_retry_after(r, 1) != NGX_OK) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        ngx_http_finalize_request(r,
            ngx_http_kvs_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                               "too many logins are waiting on this node; "
                               "retry in a second"));
        return;
    }

    /* the KDF's thread uses the request's memory until done: the request
     * is held until then, whatever the client does */

    r->main->blocked++;
}


/* on a thread of the KDF's pool: no nginx structure is touched */

static void
ngx_http_kvs_login_kdf(void *data)
{
    ngx_http_kvs_login_t *l = data;

    if (l->known) {
        l->match = kvs_password_verify(l->req.password.data,
                                       l->req.password.len, l->stored,
                                       l->stored_len);

    } else {
        (void) kvs_password_dummy(l->req.password.data, l->req.password.len);
        l->match = 0;
    }

    ngx_explicit_memzero(&l->req, sizeof(kvs_ident_login_t));
}


static void
ngx_http_kvs_login_done(void *data)
{
    ngx_http_kvs_login_t *l = data;

    ngx_int_t            rc;
    ngx_connection_t    *c;
    ngx_http_request_t  *r;

    r = l->request;
    c = r->connection;

    r->main->blocked--;

    /* wiped by the work, unless it never ran */
    ngx_explicit_memzero(&l->req, sizeof(kvs_ident_login_t));

    if (l->task.skipped) {
        rc = ngx_http_kvs_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                "this worker is shutting down; log in "
                                "again");

    } else if (l->match != 1) {
        ngx_http_kvs_metric_add(KVS_M_LOGINS, KVS_RESULT_FAILED, 1);
        ngx_http_kvs_audit_refused(r, KVS_AUDIT_LOGIN_FAILED,
                                   NGX_HTTP_UNAUTHORIZED);
        rc = ngx_http_kvs_unauthorized(r, "wrong username or password");

    } else {
        ngx_http_kvs_metric_add(KVS_M_LOGINS, KVS_RESULT_OK, 1);
        rc = ngx_http_kvs_login_issue(r, l);
    }

    /* NGX_DONE: the write queue finalizes the request */

    if (rc != NGX_DONE) {
        ngx_http_finalize_request(r, rc);
    }

    ngx_http_run_posted_requests(c);
}


/*
 * A token for the user: its record is written first, and the token is
 * answered once that is durable.  It is issued after the millisecond of
 * the user's last change of password, which revokes every token issued
 * at or before it.
 */

static ngx_int_t
ngx_http_kvs_login_issue(ngx_http_request_t *r, ngx_http_kvs_login_t *l)
{
    int                        n;
    size_t                     len;
    uint64_t                   now;
    uint8_t                    digest[NGX_HTTP_KVS_TOKEN_DIGEST];
    kvs_token_t                t;
    kvs_jwt_claims_t           claims;
    ngx_http_kvs_ctx_t        *ctx;
    ngx_http_kvs_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    now = ngx_http_kvs_now_ms();

    ngx_memcpy(claims.sub, l->user, KVS_UUID_LEN);
    kvs_uuid_generate(claims.jti);
    claims.iat_ms = ngx_max(now, l->changed_at + 1);
    claims.iat = claims.iat_ms / 1000;
    claims.exp = now / 1000 + kmcf->kc.token_ttl;

    n = kvs_jwt_sign(&claims, &kmcf->jwt_keys[0], (char *) l->token,
                     sizeof(l->token));
    if (n < 0 || kvs_sha3_512(l->token, n, digest) != 0) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    l->token_len = n;
    l->expires_at = claims.exp * 1000;

    kvs_hex((char *) l->path, digest, sizeof(digest));

    ngx_memcpy(t.user, l->user, KVS_UUID_LEN);
    t.expires_at = l->expires_at;

    len = kvs_token_encode(&t, l->value, sizeof(l->value));
    if (len == 0 || len > sizeof(l->value)) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_http_kvs_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->write.op = KVS_WRITE_PUT;
    ctx->write.ns = KVS_NS_TOKEN;
    ctx->write.path = (const char *) l->path;
    ctx->write.path_len = sizeof(l->path);
    ctx->write.value = l->value;
    ctx->write.value_len = len;
    ctx->write.ttl_ms = (uint64_t) kmcf->kc.token_ttl * 1000;
    ctx->written = ngx_http_kvs_login_written;
    ctx->data = l;

    ngx_http_kvs_audit_describe(r, KVS_AUDIT_LOGIN, "", NULL, &l->username);

    if (ngx_http_kvs_write_enqueue(r, ctx) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DONE;
}


static ngx_int_t
ngx_http_kvs_login_written(ngx_http_request_t *r, ngx_http_kvs_ctx_t *ctx)
{
    u_char                *body, *p;
    ngx_http_kvs_login_t  *l;

    l = ctx->data;

    body = ngx_pnalloc(r->pool, sizeof("{\"token\":\"\",\"expires_at\":,"
                                       "\"user\":\"\"}\n")
                                + l->token_len + NGX_INT64_LEN
                                + KVS_UUID_STR_LEN);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"token\":\"%*s\",\"expires_at\":%uL,"
                    "\"user\":\"", l->token_len, l->token, l->expires_at);
    kvs_uuid_format(l->user, (char *) p);
    p += KVS_UUID_STR_LEN;
    p = ngx_cpymem(p, "\"}\n", 3);

    r->headers_out.last_modified_time = -1;

    return ngx_http_kvs_send(r, NGX_HTTP_OK, body, p - body);
}


/* POST /api/logout: the request's own token is revoked on every node */

ngx_int_t
ngx_http_kvs_logout_handler(ngx_http_request_t *r)
{
    ngx_int_t            rc;
    ngx_http_kvs_ctx_t  *ctx;

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_kvs_not_allowed(r, "POST", "the method %V is not "
                                        "allowed on %V; use POST",
                                        &r->method_name, &r->uri);
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);

    if (ctx == NULL || ctx->user == NULL) {
        return ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND,
                                  "auth_enabled is off on this node: there "
                                  "is no token to revoke");
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx->key.data = ngx_pnalloc(r->pool, 2 * NGX_HTTP_KVS_TOKEN_DIGEST);
    if (ctx->key.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->key.len = 2 * NGX_HTTP_KVS_TOKEN_DIGEST;
    kvs_hex((char *) ctx->key.data, ctx->user->token,
            NGX_HTTP_KVS_TOKEN_DIGEST);

    ctx->write.op = KVS_WRITE_DELETE;
    ctx->write.ns = KVS_NS_TOKEN;
    ctx->write.path = (const char *) ctx->key.data;
    ctx->write.path_len = ctx->key.len;
    ctx->write.revoke = 1;
    ctx->written = ngx_http_kvs_logout_written;

    return ngx_http_kvs_write_queue(r, ctx);
}


static ngx_int_t
ngx_http_kvs_logout_written(ngx_http_request_t *r, ngx_http_kvs_ctx_t *ctx)
{
    static u_char  body[] = "{\"revoked\":true}\n";

    /* revoked here or before: either way the token is no more */

    return ngx_http_kvs_send(r, NGX_HTTP_OK, body, sizeof(body) - 1);
}


/*
 * The first administrator: with admin_password_file set, a node that holds
 * no record of the user admin (not even its tombstone: an admin deleted on
 * purpose stays deleted) creates it, a member of the group admin.  The
 * master calls it at start on a node that is not bootstrapping, the agent
 * once a bootstrap is done, so that a new node never overwrites the
 * cluster's administrator: were two nodes to create it at once, the two
 * records are versions of one key, and the newer wins everywhere.  It
 * blocks on one KDF, in processes that serve no client.
 */

void
ngx_http_kvs_admin_create(kvs_store_t *st, ngx_http_kvs_main_conf_t *kmcf,
    ngx_log_t *log)
{
    int                rc, n;
    char               path[2][KVS_UUID_STR_LEN];
    char               err[KVS_STORE_ERRLEN];
    char               hash[KVS_PASSWORD_HASH_MAX];
    size_t             len[2], i, nmembers;
    uint8_t           *value[2];
    uint64_t           now;
    kvs_user_t         user;
    kvs_write_t        w[2];
    kvs_group_t        group;
    const uint8_t     *held;
    kvs_record_hdr_t   hdr;
    uint8_t          (*members)[KVS_UUID_LEN];

    if (!kmcf->kc.auth_enabled || kmcf->admin_password == NULL) {
        return;
    }

    kvs_uuid_format(kvs_ident_admin_user, path[0]);
    kvs_uuid_format(kvs_ident_admin_group, path[1]);

    if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
        ngx_kvs_log(NGX_LOG_ERR, log, 0, "kvs: %s", err);
        return;
    }

    rc = kvs_store_get(st, KVS_NS_USER, path[0], KVS_UUID_STR_LEN, &hdr,
                       &held);

    kvs_store_read_end(st);

    if (rc != KVS_NOT_FOUND) {
        return;
    }

    n = kvs_password_hash(kmcf->admin_password, kmcf->admin_password_len,
                          &kvs_scrypt_default, hash, sizeof(hash));
    if (n < 0) {
        ngx_kvs_log(NGX_LOG_ALERT, log, 0,
                    "kvs: hashing the admin's password failed");
        return;
    }

    now = ngx_http_kvs_now_ms();

    ngx_memzero(&user, sizeof(kvs_user_t));
    user.username = "admin";
    user.username_len = sizeof("admin") - 1;
    user.password = hash;
    user.password_len = n;
    user.password_changed_at = now;
    user.created_at = now;
    user.rate_limit = -1;

    value[0] = NULL;
    value[1] = NULL;
    members = NULL;

    len[0] = kvs_user_encode(&user, NULL, 0);
    value[0] = ngx_alloc(len[0], log);
    if (value[0] == NULL
        || kvs_user_encode(&user, value[0], len[0]) != len[0])
    {
        goto failed;
    }

    /* the group admin, with the user admin among its members */

    nmembers = 0;
    ngx_memzero(&group, sizeof(kvs_group_t));

    if (kvs_store_read_begin(st, err, sizeof(err)) != KVS_OK) {
        goto failed;
    }

    rc = kvs_store_get(st, KVS_NS_GROUP, path[1], KVS_UUID_STR_LEN, &hdr,
                       &held);

    if (rc == KVS_OK && kvs_record_live(&hdr, now)
        && kvs_group_parse(held, hdr.value_len, &group) == 0)
    {
        nmembers = group.nmembers;
    }

    members = ngx_alloc((nmembers + 1) * KVS_UUID_LEN, log);
    if (members == NULL) {
        kvs_store_read_end(st);
        goto failed;
    }

    for (i = 0; i < nmembers; i++) {
        (void) kvs_group_member(&group, i, members[i]);
    }

    kvs_store_read_end(st);

    ngx_memcpy(members[nmembers], kvs_ident_admin_user, KVS_UUID_LEN);
    nmembers = kvs_group_sort(members, nmembers + 1);

    len[1] = kvs_group_encode("admin", sizeof("admin") - 1,
                              (const uint8_t (*)[KVS_UUID_LEN]) members,
                              nmembers, now, NULL, 0);
    value[1] = ngx_alloc(len[1], log);
    if (value[1] == NULL
        || kvs_group_encode("admin", sizeof("admin") - 1,
                            (const uint8_t (*)[KVS_UUID_LEN]) members,
                            nmembers, now, value[1], len[1])
           != len[1])
    {
        goto failed;
    }

    ngx_memzero(w, sizeof(w));

    for (i = 0; i < 2; i++) {
        w[i].op = KVS_WRITE_PUT;
        w[i].ns = i ? KVS_NS_GROUP : KVS_NS_USER;
        w[i].path = path[i];
        w[i].path_len = KVS_UUID_STR_LEN;
        w[i].value = value[i];
        w[i].value_len = len[i];
    }

    w[0].create_only = 1;

    if (kvs_store_write(st, w, 2, now, err, sizeof(err)) != KVS_OK
        || w[0].rc != KVS_OK || w[1].rc != KVS_OK)
    {
        ngx_kvs_log(NGX_LOG_ERR, log, 0, "kvs: creating the user admin "
                    "failed: %s", w[0].rc == KVS_PRECONDITION
                                  ? "it exists" : err);
        goto failed;
    }

    ngx_kvs_log(NGX_LOG_NOTICE, log, 0, "kvs: created the user admin, a "
                "member of the group admin, from admin_password_file");

failed:

    ngx_explicit_memzero(hash, sizeof(hash));

    if (value[0]) {
        ngx_explicit_memzero(value[0], len[0]);
        ngx_free(value[0]);
    }

    ngx_free(value[1]);
    ngx_free(members);
}
