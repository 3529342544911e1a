/*
 * A key's history as a GET asks for it: ?revisions (the versions the store
 * kept, newest first), ?revision=N (the N-th of them, 1 being the newest)
 * and ?meta (the record's header, and how many versions ?revisions lists).
 * Each runs inside the read transaction of its GET.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "kvs_ident.h"


typedef struct {
    ngx_uint_t            n;             /* versions seen, newest first */
    ngx_uint_t            shown;         /* of them, those the caller may
                                            read */
    ngx_uint_t            want;          /* ?revision=N, or 0 */
    uint64_t              now;
    ngx_http_request_t   *r;
    ngx_str_t            *key;
    const uint8_t        *owner;         /* the current record's, or NULL:
                                            with auth on, the versions of
                                            another owner are shown to
                                            admins only */
    ngx_array_t          *list;          /* ?revisions:
                                            ngx_http_kvs_revision_t */
    u_char               *value;         /* ?revision=N: its JSON */
    size_t                len;
    kvs_version_t         version;
    ngx_int_t             rc;            /* NGX_OK, or an error status */
} ngx_http_kvs_versions_t;


typedef struct {
    ngx_uint_t            revision;      /* its number among them all */
    kvs_version_t         version;
} ngx_http_kvs_revision_t;


static int ngx_http_kvs_version_one(const kvs_record_hdr_t *hdr,
    const uint8_t *value, void *data);


/*
 * ?revisions and ?revision=N: the current version when it is live, then
 * the earlier ones the store kept, newest first and numbered from 1.  A
 * version the caller may not read under its own bits keeps its number
 * and is left out of the list; asked for, it is a 403.
 */

ngx_int_t
ngx_http_kvs_versions(ngx_http_request_t *r, ngx_str_t *key,
    ngx_http_kvs_params_t *params, uint64_t now)
{
    int                       rc;
    u_char                   *body, *p;
    ngx_uint_t                i;
    const uint8_t            *value;
    kvs_record_hdr_t          hdr;
    ngx_http_kvs_revision_t  *v;
    ngx_http_kvs_versions_t   vs;

    ngx_memzero(&vs, sizeof(ngx_http_kvs_versions_t));
    vs.r = r;
    vs.key = key;
    vs.now = now;
    vs.want = params->revision;
    vs.rc = NGX_OK;

    if (params->revisions) {
        vs.list = ngx_array_create(r->pool, 4,
                                   sizeof(ngx_http_kvs_revision_t));
        if (vs.list == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    rc = kvs_store_get(ngx_http_kvs_store, KVS_NS_DATA,
                       (const char *) key->data, key->len, &hdr, &value);

    /* the history is guarded by the current record, or its tombstone;
     * each kept version by its own bits too, and one of another owner
     * than the current record's is an admin's to read: a key deleted and
     * written again by another, or given away, does not hand over the
     * versions of its earlier owner */

    if (rc == KVS_OK && !ngx_http_kvs_may(r, &hdr, KVS_PERM_R)) {
        return ngx_http_kvs_error(r, NGX_HTTP_FORBIDDEN,
                                  "you may not read \"%V\"", key);
    }

    /* the current version, counted only when live, like every other */

    if (rc == KVS_OK) {
        vs.owner = hdr.owner;
        (void) ngx_http_kvs_version_one(&hdr, value, &vs);

    } else if (rc == KVS_ERROR) {
        return ngx_http_kvs_unreadable(r, "the record of this key is "
                                          "unreadable");
    }

    if ((vs.want == 0 || vs.n < vs.want)
        && kvs_store_history(ngx_http_kvs_store, KVS_NS_DATA,
                             (const char *) key->data, key->len,
                             ngx_http_kvs_version_one, &vs)
           != KVS_OK)
    {
        return ngx_http_kvs_unreadable(r, "the history of this key is "
                                          "unreadable");
    }

    if (vs.rc != NGX_OK) {
        return vs.rc;
    }

    if (vs.n == 0) {
        return ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND,
                                  "key \"%V\" not found", key);
    }

    if (vs.want) {
        if (vs.value == NULL) {
            return ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND,
                                      "key \"%V\" has %ui revision%s; "
                                      "there is no revision %ui", key, vs.n,
                                      vs.n == 1 ? "" : "s", vs.want);
        }

        if (ngx_http_kvs_etag(r, vs.version.uuid) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_kvs_send(r, NGX_HTTP_OK, vs.value, vs.len);
    }

    body = ngx_pnalloc(r->pool, 3 + vs.list->nelts
                                    * (sizeof("{\"revision\":,\"uuid\":\"\","
                                              "\"timestamp\":},")
                                       + NGX_INT_T_LEN + KVS_UUID_STR_LEN
                                       + NGX_INT64_LEN));
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = body;
    *p++ = '[';

    v = vs.list->elts;

    for (i = 0; i < vs.list->nelts; i++) {
        p = ngx_sprintf(p, "%s{\"revision\":%ui,\"uuid\":\"",
                        i ? "," : "", v[i].revision);
        kvs_uuid_format(v[i].version.uuid, (char *) p);
        p += KVS_UUID_STR_LEN;
        p = ngx_sprintf(p, "\",\"timestamp\":%uL}",
                        v[i].version.timestamp);
    }

    *p++ = ']';
    *p++ = '\n';

    return ngx_http_kvs_send(r, NGX_HTTP_OK, body, p - body);
}


static int
ngx_http_kvs_version_one(const kvs_record_hdr_t *hdr, const uint8_t *value,
    void *data)
{
    ngx_http_kvs_versions_t *vs = data;

    ngx_uint_t                readable;
    ngx_http_kvs_revision_t  *v;

    /* a tombstone or a swept record in history has no value to show, and
     * a version past its own expiry is gone from history too: a TTL
     * promises the value is no longer served */
    if (!kvs_record_live(hdr, vs->now)) {
        return KVS_OK;
    }

    /* numbered among them all, whoever asks; shown by its own bits */

    vs->n++;
    readable = ngx_http_kvs_may(vs->r, hdr, KVS_PERM_R)
               && (vs->owner == NULL
                   || ngx_memcmp(hdr->owner, vs->owner, KVS_UUID_LEN) == 0
                   || ngx_http_kvs_admin_of(vs->r));

    if (readable) {
        vs->shown++;
    }

    if (vs->list) {
        if (!readable) {
            return KVS_OK;
        }

        v = ngx_array_push(vs->list);
        if (v == NULL) {
            vs->rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
            return KVS_ERROR;
        }

        v->revision = vs->n;
        v->version = hdr->version;
        return KVS_OK;
    }

    if (vs->n != vs->want) {
        return KVS_OK;
    }

    if (!readable) {
        vs->rc = ngx_http_kvs_error(vs->r, NGX_HTTP_FORBIDDEN,
                                    "you may not read revision %ui of "
                                    "\"%V\": it was written with other "
                                    "permissions", vs->want, vs->key);
        return KVS_ERROR;
    }

    vs->version = hdr->version;
    vs->len = hdr->raw_len;
    vs->rc = ngx_http_kvs_value(vs->r, (kvs_record_hdr_t *) hdr, value,
                                &vs->value);

    return KVS_ERROR;   /* found: stop */
}


/* ?meta: the record's header, and how many versions ?revisions lists (to
 * this caller) */

ngx_int_t
ngx_http_kvs_meta(ngx_http_request_t *r, kvs_record_hdr_t *hdr,
    ngx_str_t *key, uint64_t now)
{
    u_char                   *body, *p;
    ngx_uint_t                i;
    ngx_http_kvs_versions_t   vs;
    static const uint8_t      none[KVS_UUID_LEN];
    static const char        *who[] = { "owner", "group" };
    const uint8_t            *id[2];

    ngx_memzero(&vs, sizeof(ngx_http_kvs_versions_t));
    vs.r = r;
    vs.key = key;
    vs.owner = hdr->owner;
    vs.now = now;
    vs.n = 1;
    vs.shown = 1;
    vs.want = (ngx_uint_t) -1;     /* counts only */

    if (kvs_store_history(ngx_http_kvs_store, KVS_NS_DATA,
                          (const char *) key->data, key->len,
                          ngx_http_kvs_version_one, &vs)
        != KVS_OK)
    {
        return ngx_http_kvs_unreadable(r, "the history of this key is "
                                          "unreadable");
    }

    body = ngx_pnalloc(r->pool, 512);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, "{\"uuid\":\"", sizeof("{\"uuid\":\"") - 1);
    kvs_uuid_format(hdr->version.uuid, (char *) p);
    p += KVS_UUID_STR_LEN;
    p = ngx_sprintf(p, "\",\"timestamp\":%uL,\"created_at\":%uL",
                    hdr->version.timestamp, hdr->created_at);

    id[0] = hdr->owner;
    id[1] = hdr->group;

    for (i = 0; i < 2; i++) {
        if (ngx_memcmp(id[i], none, KVS_UUID_LEN) == 0) {
            p = ngx_sprintf(p, ",\"%s\":null", who[i]);
            continue;
        }

        p = ngx_sprintf(p, ",\"%s\":\"", who[i]);
        kvs_uuid_format(id[i], (char *) p);
        p += KVS_UUID_STR_LEN;
        *p++ = '"';
    }

    /* 12 bits as three hex digits, owner first: C D W R each */
    p = ngx_cpymem(p, ",\"permissions\":\"",
                   sizeof(",\"permissions\":\"") - 1);
    kvs_perm_format(hdr->permissions, (char *) p);
    p += 3;
    *p++ = '"';

    if (hdr->expires_at) {
        p = ngx_sprintf(p, ",\"expires_at\":%uL", hdr->expires_at);
    } else {
        p = ngx_cpymem(p, ",\"expires_at\":null",
                       sizeof(",\"expires_at\":null") - 1);
    }

    p = ngx_sprintf(p, ",\"size\":%uD,\"stored_size\":%uD,"
                    "\"revisions\":%ui}\n",
                    hdr->raw_len, hdr->value_len, vs.shown);

    return ngx_http_kvs_send(r, NGX_HTTP_OK, body, p - body);
}



/*
 * PUT /kv/{key}?meta {"owner","group","permissions"}: a new version of the
 * key with the same value and expiry, and who it belongs to changed.  Its
 * owner or an admin may change group and permissions; only an admin gives
 * a key away.  The change is written over the version read (If-Match), so
 * that a write between the read and the commit is never lost under it: the
 * change then answers 409.  With auth off anyone may change them, as any
 * write.
 */

static void ngx_http_kvs_meta_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvs_meta_written(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx);


ngx_int_t
ngx_http_kvs_meta_put(ngx_http_request_t *r, ngx_http_kvs_ctx_t *ctx)
{
    ngx_int_t  rc;

    if (ctx->write.if_match || ctx->write.create_only) {
        return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                  "a change of ?meta takes no If-Match or "
                                  "If-None-Match: it is written over the "
                                  "version it reads");
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_kvs_meta_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_kvs_meta_body(ngx_http_request_t *r)
{
    int                        rc;
    u_char                    *data, *copy;
    size_t                     len;
    ngx_int_t                  status;
    const char                *why;
    const uint8_t             *value;
    kvs_ident_meta_t           m;
    kvs_record_hdr_t           hdr;
    ngx_http_kvs_ctx_t        *ctx;
    ngx_http_kvs_main_conf_t  *kmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);
    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    status = ngx_http_kvs_body(r, &data, &len);
    if (status != NGX_OK) {
        ngx_http_finalize_request(r, status);
        return;
    }

    if (kvs_ident_meta_parse(data, len, &m, &why) != 0) {
        ngx_http_finalize_request(r,
            ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST, "%s", why));
        return;
    }

    status = ngx_http_kvs_read_begin(r);
    if (status != NGX_OK) {
        ngx_http_finalize_request(r, status);
        return;
    }

    rc = kvs_store_get(ngx_http_kvs_store, KVS_NS_DATA,
                       (const char *) ctx->key.data, ctx->key.len, &hdr,
                       &value);

    status = NGX_OK;
    copy = NULL;

    if (rc == KVS_OK && !kvs_record_live(&hdr, ngx_http_kvs_now_ms())) {
        rc = KVS_NOT_FOUND;
    }

    if (rc == KVS_OK && kmcf->kc.auth_enabled) {
        status = ngx_http_kvs_may_meta(r, &hdr, &m);
    }

    if (rc == KVS_OK && status == NGX_OK) {
        copy = ngx_pnalloc(r->pool, hdr.value_len + 1);
        if (copy == NULL) {
            status = NGX_HTTP_INTERNAL_SERVER_ERROR;

        } else {
            ngx_memcpy(copy, value, hdr.value_len);
        }
    }

    kvs_store_read_end(ngx_http_kvs_store);

    if (rc == KVS_NOT_FOUND) {
        status = ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND,
                                    "key \"%V\" not found", &ctx->key);

    } else if (rc != KVS_OK) {
        status = ngx_http_kvs_unreadable(r, "the record of this key is "
                                            "unreadable");
    }

    if (status != NGX_OK) {
        ngx_http_finalize_request(r, status);
        return;
    }

    ctx->write.meta = 1;
    ctx->write.if_match = 1;
    ngx_memcpy(ctx->write.match, hdr.version.uuid, KVS_UUID_LEN);
    ctx->write.value = copy;
    ctx->write.value_len = hdr.value_len;
    ctx->write.compressed = (hdr.flags & KVS_FLAG_COMPRESSED) != 0;
    ctx->write.raw_len = hdr.raw_len;

    ngx_memcpy(ctx->write.owner, m.owner.present ? m.owner.uuid : hdr.owner,
               KVS_UUID_LEN);
    ngx_memcpy(ctx->write.group, m.group.present ? m.group.uuid : hdr.group,
               KVS_UUID_LEN);
    ctx->write.permissions = m.permissions.present ? m.permissions.perm
                                                   : hdr.permissions;

    ctx->written = ngx_http_kvs_meta_written;

    if (ngx_http_kvs_write_enqueue(r, ctx) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}


static ngx_int_t
ngx_http_kvs_meta_written(ngx_http_request_t *r, ngx_http_kvs_ctx_t *ctx)
{
    if (ctx->write.rc == KVS_PRECONDITION) {
        return ngx_http_kvs_error(r, NGX_HTTP_CONFLICT,
                                  "key \"%V\" changed while its meta was "
                                  "being changed; read it and retry",
                                  &ctx->key);
    }

    return ngx_http_kvs_data_written(r, ctx);
}
