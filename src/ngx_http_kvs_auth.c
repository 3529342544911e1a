/*
 * Who makes a request, and what they may do: the token check of every
 * client request when auth_enabled is on, the permission decision on keys,
 * and the $kvs_user variable.
 *
 * A token is a JWT of kvs_jwt.c.  It is good when its signature verifies
 * under one of the jwt_secret_file's secrets, it has not expired, its
 * SHA3-512 is not a tombstone in the token namespace (a revocation; a
 * digest not arrived yet is no revocation), and its user is present and
 * enabled and changed password before the token was issued (iat, to the
 * millisecond).
 * All of it is a few reads of the request's read transaction: no lock, no
 * allocation but the username kept for $kvs_user.  A user not arrived yet
 * (a login on another node a moment ago) is 503 with Retry-After, so that
 * a load balancer retries elsewhere.
 *
 * The permission decision itself is kvs_acl.c's; this file looks up what
 * it needs: whether the user is a member of a key's group, and of the
 * group admin.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "kvs_acl.h"
#include "kvs_crypto.h"
#include "kvs_ident.h"
#include "kvs_jwt.h"


static ngx_int_t ngx_http_kvs_auth_check(ngx_http_request_t *r,
    ngx_http_kvs_main_conf_t *kmcf, ngx_str_t *token,
    ngx_http_kvs_user_t *u);
static ngx_int_t ngx_http_kvs_user_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_str_t  ngx_http_kvs_user_name = ngx_string("kvs_user");


/*
 * The secrets of jwt_secret_file, and the administrator's first password,
 * read when the configuration is: a file that cannot be read, or a secret
 * too short, fails "nginx -t" with the YAML's file and line.
 */

ngx_int_t
ngx_http_kvs_auth_conf(ngx_conf_t *cf, ngx_http_kvs_main_conf_t *kmcf)
{
    char                 err[KVS_CONFIG_ERRLEN];
    u_char              *p;
    ngx_str_t            file;
    ngx_uint_t           i;
    ngx_pool_cleanup_t  *cln;

    ngx_str_set(&kmcf->auth_fingerprint, "off");

    if (!kmcf->kc.auth_enabled) {
        return NGX_OK;
    }

    file.data = (u_char *) kmcf->kc.jwt_secret_file.path;
    file.len = ngx_strlen(kmcf->kc.jwt_secret_file.path);

    if (ngx_conf_full_name(cf->cycle, &file, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    if (kvs_secrets_load((char *) file.data, KVS_SECRET_MIN, &kmcf->secrets,
                         &kmcf->nsecrets, err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "kvs: %V:%ui: "
                           "jwt_secret_file: %s", &kmcf->file,
                           (ngx_uint_t) kmcf->kc.jwt_secret_file.line, err);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_kvs_auth_cleanup;
    cln->data = kmcf;

    kmcf->jwt_keys = ngx_pcalloc(cf->pool,
                                 kmcf->nsecrets * sizeof(kvs_jwt_key_t));
    if (kmcf->jwt_keys == NULL) {
        return NGX_ERROR;
    }

    /* what nodes gossip of their settings: the secrets' key ids */

    kmcf->auth_fingerprint.data = ngx_pnalloc(cf->pool, sizeof("on:")
                                              + kmcf->nsecrets * 17);
    if (kmcf->auth_fingerprint.data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(kmcf->auth_fingerprint.data, "on:", 3);

    for (i = 0; i < kmcf->nsecrets; i++) {
        if (kvs_jwt_key_init(&kmcf->jwt_keys[i], kmcf->secrets[i].data,
                             kmcf->secrets[i].len)
            != 0)
        {
            return NGX_ERROR;
        }

        p = ngx_sprintf(p, "%s%s", i ? "," : "", kmcf->jwt_keys[i].kid);
    }

    kmcf->auth_fingerprint.len = p - kmcf->auth_fingerprint.data;

    if (kmcf->kc.admin_password_file.path == NULL) {
        return NGX_OK;
    }

    file.data = (u_char *) kmcf->kc.admin_password_file.path;
    file.len = ngx_strlen(kmcf->kc.admin_password_file.path);

    if (ngx_conf_full_name(cf->cycle, &file, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    if (kvs_password_file_load((char *) file.data, &kmcf->admin_password,
                               &kmcf->admin_password_len, err, sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "kvs: %V:%ui: "
                           "admin_password_file: %s", &kmcf->file,
                           (ngx_uint_t) kmcf->kc.admin_password_file.line,
                           err);
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_kvs_auth_cleanup(void *data)
{
    ngx_http_kvs_main_conf_t *kmcf = data;

    kvs_secrets_free(kmcf->secrets, kmcf->nsecrets);
    kmcf->secrets = NULL;
    kmcf->nsecrets = 0;

    if (kmcf->admin_password) {
        kvs_password_free(kmcf->admin_password, kmcf->admin_password_len);
        kmcf->admin_password = NULL;
    }
}


ngx_int_t
ngx_http_kvs_auth_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &ngx_http_kvs_user_name,
                                NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_http_kvs_user_variable;

    return NGX_OK;
}


/* $kvs_user: the username of the request's token, empty when anonymous */

static ngx_int_t
ngx_http_kvs_user_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_kvs_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);

    if (ctx == NULL || ctx->user == NULL) {
        v->len = 0;
        v->data = (u_char *) "";

    } else {
        v->len = ctx->user->name.len;
        v->data = ctx->user->name.data;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/*
 * A client request of a node with auth on: NGX_OK with ctx->user set, or
 * the status to answer (401, 503, 500), its JSON error set.
 */

ngx_int_t
ngx_http_kvs_authenticate(ngx_http_request_t *r)
{
    u_char                    *p;
    ngx_int_t                  rc;
    ngx_str_t                  token;
    ngx_table_elt_t           *h;
    ngx_http_kvs_ctx_t        *ctx;
    ngx_http_kvs_user_t       *u;
    ngx_http_kvs_main_conf_t  *kmcf;

    h = r->headers_in.authorization;

    if (h == NULL) {
        return ngx_http_kvs_unauthorized(r, "this node needs a token: send "
                                           "\"Authorization: Bearer "
                                           "<token>\"; POST /api/login "
                                           "gives one");
    }

    p = h->value.data;

    if (h->value.len < sizeof("Bearer ") - 1
        || ngx_strncasecmp(p, (u_char *) "Bearer ", sizeof("Bearer ") - 1)
           != 0)
    {
        return ngx_http_kvs_unauthorized(r, "the Authorization header is not "
                                           "\"Bearer <token>\"");
    }

    token.data = p + sizeof("Bearer ") - 1;
    token.len = h->value.len - (sizeof("Bearer ") - 1);

    while (token.len && *token.data == ' ') {
        token.data++;
        token.len--;
    }

    ctx = ngx_http_kvs_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    u = ngx_pcalloc(r->pool, sizeof(ngx_http_kvs_user_t));
    if (u == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    rc = ngx_http_kvs_read_begin(r);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_kvs_auth_check(r, kmcf, &token, u);

    kvs_store_read_end(ngx_http_kvs_store);

    if (rc != NGX_OK) {
        return rc;
    }

    ctx->user = u;

    ngx_kvs_debug(r->connection->log, "kvs: user \"%V\"", &u->name);

    return NGX_OK;
}


/*
 * What a worker knows of a token it has verified: its claims and digest,
 * and what the record of its user said at the version last read.  The
 * signature and the claims of the same bytes verify the same way every
 * time, so a token seen again skips the MAC, the JWT's parse and the
 * digest; the store is still read every time (the revocation, the user),
 * but a user's record at the version already parsed is not parsed again.
 * Whether the user is an admin is looked up only where a decision needs
 * it (ngx_http_kvs_admin_of()).  A reload starts new workers, with the new
 * secrets and an empty cache.
 */

#define NGX_HTTP_KVS_TOKENS  256

typedef struct {
    size_t              len;              /* of token; 0: an empty slot */
    u_char              token[KVS_JWT_MAX];
    kvs_jwt_claims_t    claims;
    uint8_t             digest[NGX_HTTP_KVS_TOKEN_DIGEST];
    char                hex[2 * NGX_HTTP_KVS_TOKEN_DIGEST];

    kvs_version_t       user_version;     /* the user's record parsed */
    uint64_t            changed_at;
    int64_t             rate_limit;       /* the user's own, -1: none */
    size_t              name_len;
    u_char              name[KVS_IDENT_NAME_MAX];
    unsigned            user_known:1;
    unsigned            disabled:1;
} ngx_http_kvs_token_t;


static ngx_http_kvs_token_t  *ngx_http_kvs_tokens;


static ngx_int_t
ngx_http_kvs_auth_check(ngx_http_request_t *r,
    ngx_http_kvs_main_conf_t *kmcf, ngx_str_t *token, ngx_http_kvs_user_t *u)
{
    int                    rc;
    char                   path[KVS_UUID_STR_LEN];
    time_t                 now;
    const char            *why;
    kvs_user_t             user;
    const uint8_t         *value;
    kvs_jwt_claims_t       claims;
    kvs_record_hdr_t       hdr;
    ngx_http_kvs_token_t  *t;

    if (ngx_http_kvs_tokens == NULL) {
        ngx_http_kvs_tokens = ngx_calloc(NGX_HTTP_KVS_TOKENS
                                         * sizeof(ngx_http_kvs_token_t),
                                         r->connection->log);
        if (ngx_http_kvs_tokens == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    now = ngx_time();

    t = &ngx_http_kvs_tokens[ngx_murmur_hash2(token->data, token->len)
                             % NGX_HTTP_KVS_TOKENS];

    if (t->len == token->len && t->len != 0
        && ngx_memcmp(t->token, token->data, token->len) == 0)
    {
        if (t->claims.exp <= (uint64_t) now) {
            return ngx_http_kvs_unauthorized(r, "the token has expired");
        }

    } else {
        why = kvs_jwt_verify((const char *) token->data, token->len,
                             kmcf->jwt_keys, kmcf->nsecrets, now, &claims);
        if (why != NULL) {
            return ngx_http_kvs_unauthorized(r, why);
        }

        /* verified, so at most KVS_JWT_MAX bytes */

        t->len = 0;

        if (kvs_sha3_512(token->data, token->len, t->digest) != 0) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        kvs_hex(t->hex, t->digest, NGX_HTTP_KVS_TOKEN_DIGEST);
        ngx_memcpy(t->token, token->data, token->len);
        t->claims = claims;
        t->user_known = 0;
        t->len = token->len;
    }

    ngx_memcpy(u->token, t->digest, NGX_HTTP_KVS_TOKEN_DIGEST);

    /* revoked: a tombstone of its digest */

    rc = kvs_store_get(ngx_http_kvs_store, KVS_NS_TOKEN, t->hex,
                       sizeof(t->hex), &hdr, &value);

    if (rc == KVS_OK && (hdr.flags & KVS_FLAG_TOMBSTONE)) {
        return ngx_http_kvs_unauthorized(r, "the token has been revoked");
    }

    if (rc == KVS_ERROR) {
        return ngx_http_kvs_unreadable(r, "the token's record is unreadable");
    }

    /* its user */

    ngx_memcpy(u->uuid, t->claims.sub, KVS_UUID_LEN);
    kvs_uuid_format(u->uuid, path);

    rc = kvs_store_get(ngx_http_kvs_store, KVS_NS_USER, path, sizeof(path),
                       &hdr, &value);

    if (rc == KVS_ERROR) {
        return ngx_http_kvs_unreadable(r, "the token's user is unreadable");
    }

    if (rc == KVS_NOT_FOUND) {
        if (ngx_http_kvs_retry_after(r, 1) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_kvs_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                  "the token's user has not reached this "
                                  "node yet; retry in a second");
    }

    if (hdr.flags & KVS_FLAG_TOMBSTONE) {
        return ngx_http_kvs_unauthorized(r, "the token's user has been "
                                           "deleted");
    }

    if (!t->user_known
        || kvs_version_cmp(&t->user_version, &hdr.version) != 0)
    {
        if (kvs_user_parse(value, hdr.value_len, &user) != 0
            || user.username_len > sizeof(t->name))
        {
            ngx_kvs_log(NGX_LOG_ERR, r->connection->log, 0,
                        "kvs: the record of user %*s is damaged",
                        (size_t) KVS_UUID_STR_LEN, path);
            return ngx_http_kvs_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      "the token's user is unreadable");
        }

        t->user_version = hdr.version;
        t->disabled = user.disabled;
        t->changed_at = user.password_changed_at;
        t->rate_limit = user.rate_limit;
        t->name_len = user.username_len;
        ngx_memcpy(t->name, user.username, user.username_len);
        t->user_known = 1;
    }

    if (t->disabled) {
        return ngx_http_kvs_unauthorized(r, "the token's user is disabled");
    }

    /* to the millisecond: a token of a change's millisecond is revoked */

    if (t->claims.iat_ms <= t->changed_at) {
        return ngx_http_kvs_unauthorized(r, "the token was revoked by a "
                                           "change of its user's password");
    }

    u->rate_limit = t->rate_limit;

    /* the request outlives the slot, which the next token may take */

    u->name.len = t->name_len;
    u->name.data = ngx_pnalloc(r->pool, t->name_len);
    if (u->name.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(u->name.data, t->name, t->name_len);

    return NGX_OK;
}


/* 401 with the sentence, and the challenge RFC 6750 asks for */

ngx_int_t
ngx_http_kvs_unauthorized(ngx_http_request_t *r, const char *why)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "WWW-Authenticate");
    ngx_str_set(&h->value, "Bearer realm=\"kvs\"");

    ngx_kvs_debug(r->connection->log, "kvs: refused: %s", why);

    return ngx_http_kvs_error(r, NGX_HTTP_UNAUTHORIZED, "%s", why);
}


/*
 * Whether the user of that uuid is a member of the group, inside the
 * current read transaction: the group's record lists its members.
 */

ngx_uint_t
ngx_http_kvs_member(const uint8_t *user, const uint8_t *group)
{
    const uint8_t     *value;
    kvs_record_hdr_t   hdr;
    static const uint8_t  none[KVS_UUID_LEN];

    if (ngx_memcmp(group, none, KVS_UUID_LEN) == 0
        || !ngx_http_kvs_identity(KVS_NS_GROUP, group, &hdr, &value))
    {
        return 0;
    }

    return kvs_group_has(value, hdr.value_len, user) == 1;
}


/*
 * The live record of the user ('u') or the group ('g') of that uuid,
 * inside the current read transaction: 1 with its header and value, or 0
 * (none, a tombstone, expired, or not identity written by a node).
 */

ngx_uint_t
ngx_http_kvs_identity(char ns, const uint8_t *uuid, kvs_record_hdr_t *hdr,
    const uint8_t **value)
{
    char  path[KVS_UUID_STR_LEN];

    kvs_uuid_format(uuid, path);

    return kvs_store_get(ngx_http_kvs_store, ns, path, sizeof(path), hdr,
                         value)
           == KVS_OK
           && kvs_record_live(hdr, ngx_http_kvs_now_ms())
           && !(hdr->flags & KVS_FLAG_COMPRESSED);
}


/*
 * Whether the request may take that right on a key of that header, inside
 * the current read transaction: everyone with auth off, admins always,
 * others as the key's bits say for their class.
 */

ngx_uint_t
ngx_http_kvs_may(ngx_http_request_t *r, const kvs_record_hdr_t *hdr,
    unsigned right)
{
    ngx_uint_t                 in_group;
    ngx_http_kvs_ctx_t        *ctx;
    kvs_acl_subject_t          who;
    ngx_http_kvs_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    if (!kmcf->kc.auth_enabled) {
        return 1;
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);

    if (ctx == NULL || ctx->user == NULL) {
        return 0;
    }

    /* the key's bits first: an admin is looked up only when they refuse */

    who.user = ctx->user->uuid;
    who.admin = 0;

    in_group = ngx_memcmp(hdr->owner, who.user, KVS_UUID_LEN) != 0
               && ngx_http_kvs_member(who.user, hdr->group);

    return kvs_acl_decide(&who, hdr, in_group, right)
           || ngx_http_kvs_admin_of(r);
}


/*
 * Who a PUT makes the owner of a key it creates, and whether it may: W on
 * a live key, else C on its nearest live ancestor, or where it has none,
 * what top_level_create says.  Inside the current read transaction; sets
 * the write's owner, group and permissions.  Returns NGX_OK or 403.
 */

ngx_int_t
ngx_http_kvs_may_put(ngx_http_request_t *r, ngx_str_t *key, kvs_write_t *w)
{
    int                        rc;
    size_t                     len;
    uint64_t                   now;
    ngx_http_kvs_ctx_t        *ctx;
    const uint8_t             *value;
    kvs_record_hdr_t           hdr;
    ngx_http_kvs_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);
    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);
    now = ngx_http_kvs_now_ms();

    w->owned = 1;
    w->permissions = kmcf->kc.default_permissions;

    if (kmcf->kc.auth_enabled && ctx && ctx->user) {
        ngx_memcpy(w->owner, ctx->user->uuid, KVS_UUID_LEN);
    }

    rc = kvs_store_get(ngx_http_kvs_store, KVS_NS_DATA,
                       (const char *) key->data, key->len, &hdr, &value);

    if (rc == KVS_ERROR) {
        return ngx_http_kvs_unreadable(r, "the record of this key is "
                                          "unreadable");
    }

    if (rc == KVS_OK && kvs_record_live(&hdr, now)) {
        if (ngx_http_kvs_may(r, &hdr, KVS_PERM_W)) {
            return NGX_OK;
        }

        return ngx_http_kvs_error(r, NGX_HTTP_FORBIDDEN,
                                  "you may not write \"%V\"", key);
    }

    /* a new key: C on its nearest ancestor, whose group it takes */

    for (len = kvs_key_parent((const char *) key->data, key->len);
         len != 0;
         len = kvs_key_parent((const char *) key->data, len))
    {
        rc = kvs_store_get(ngx_http_kvs_store, KVS_NS_DATA,
                           (const char *) key->data, len, &hdr, &value);

        if (rc == KVS_ERROR) {
            return ngx_http_kvs_unreadable(r, "the record of a parent key "
                                              "is unreadable");
        }

        if (rc != KVS_OK || !kvs_record_live(&hdr, now)) {
            continue;
        }

        ngx_memcpy(w->group, hdr.group, KVS_UUID_LEN);

        if (ngx_http_kvs_may(r, &hdr, KVS_PERM_C)) {
            return NGX_OK;
        }

        return ngx_http_kvs_error(r, NGX_HTTP_FORBIDDEN,
                                  "you may not create keys under \"%*s\"",
                                  len, key->data);
    }

    if (!kmcf->kc.auth_enabled
        || kmcf->kc.top_level_create == KVS_TOP_LEVEL_ANY
        || ngx_http_kvs_admin_of(r))
    {
        return NGX_OK;
    }

    return ngx_http_kvs_error(r, NGX_HTTP_FORBIDDEN,
                              "only admins may create a key without a "
                              "parent key (top_level_create: admins)");
}


/*
 * Whether the request may change a key's meta as m asks, inside the
 * current read transaction: its owner or an admin; only an admin gives it
 * to another owner, and an owner gives it only to a group they are in.
 * The owner and group named must exist.  NGX_OK, or the status answered.
 */

ngx_int_t
ngx_http_kvs_may_meta(ngx_http_request_t *r, const kvs_record_hdr_t *hdr,
    const kvs_ident_meta_t *m)
{
    const uint8_t         *value;
    kvs_record_hdr_t       held;
    ngx_http_kvs_ctx_t    *ctx;
    ngx_http_kvs_user_t   *u;
    static const uint8_t   none[KVS_UUID_LEN];

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);
    u = ctx ? ctx->user : NULL;

    if (u == NULL
        || (ngx_memcmp(hdr->owner, u->uuid, KVS_UUID_LEN) != 0
            && !ngx_http_kvs_admin_of(r)))
    {
        return ngx_http_kvs_error(r, NGX_HTTP_FORBIDDEN,
                                  "only the key's owner or an admin may "
                                  "change its meta");
    }

    if (m->owner.present
        && ngx_memcmp(m->owner.uuid, hdr->owner, KVS_UUID_LEN) != 0)
    {
        if (!ngx_http_kvs_admin_of(r)) {
            return ngx_http_kvs_error(r, NGX_HTTP_FORBIDDEN,
                                      "only an admin gives a key to another "
                                      "owner");
        }

        if (ngx_memcmp(m->owner.uuid, none, KVS_UUID_LEN) != 0
            && !ngx_http_kvs_identity(KVS_NS_USER, m->owner.uuid, &held,
                                      &value))
        {
            return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                      "\"owner\" is no user's uuid");
        }
    }

    if (m->group.present
        && ngx_memcmp(m->group.uuid, none, KVS_UUID_LEN) != 0)
    {
        if (!ngx_http_kvs_identity(KVS_NS_GROUP, m->group.uuid, &held,
                                    &value)) {
            return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                      "\"group\" is no group's uuid");
        }

        if (!ngx_http_kvs_member(u->uuid, m->group.uuid)
            && !ngx_http_kvs_admin_of(r))
        {
            return ngx_http_kvs_error(r, NGX_HTTP_FORBIDDEN,
                                      "you may give a key only to a group "
                                      "you are a member of");
        }
    }

    return NGX_OK;
}


/*
 * An admin's endpoint: NGX_DECLINED when auth is off or the user is an
 * admin, else the 403 (or the failed read's answer) for the handler to
 * return; "only admins may <what>".
 */

ngx_int_t
ngx_http_kvs_admin_only(ngx_http_request_t *r, const char *what)
{
    ngx_int_t                  rc;
    ngx_uint_t                 admin;
    ngx_http_kvs_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    if (!kmcf->kc.auth_enabled) {
        return NGX_DECLINED;
    }

    rc = ngx_http_kvs_read_begin(r);
    if (rc != NGX_OK) {
        return rc;
    }

    admin = ngx_http_kvs_admin_of(r);

    kvs_store_read_end(ngx_http_kvs_store);

    if (!admin) {
        return ngx_http_kvs_error(r, NGX_HTTP_FORBIDDEN, "only admins may %s",
                                  what);
    }

    return NGX_DECLINED;
}


/*
 * Whether the request's user is an admin, a member of the group admin,
 * inside the current read transaction: looked up once per request, and
 * only where a decision needs it.
 */

ngx_uint_t
ngx_http_kvs_admin_of(ngx_http_request_t *r)
{
    ngx_http_kvs_ctx_t   *ctx;
    ngx_http_kvs_user_t  *u;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);
    u = ctx ? ctx->user : NULL;

    if (u == NULL) {
        return 0;
    }

    if (!u->admin_known) {
        u->admin = ngx_http_kvs_member(u->uuid, kvs_ident_admin_group);
        u->admin_known = 1;
    }

    return u->admin;
}
