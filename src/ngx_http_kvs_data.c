/*
 * /kv/{path}: the data API.
 *
 * GET copies the stored JSON out of one read transaction into the response
 * and answers at once.  PUT and DELETE check everything they can before
 * anything is queued (mode, key, size, JSON), then hand the write to the
 * group-commit queue of ngx_http_kvs_write.c, which answers them once their
 * commit is durable.  The key is taken from the URI as the client sent it
 * (percent-decoded, but not normalized), so "a//b" or "a/../b" are refused
 * instead of silently becoming another key; from the URI nginx routes once
 * a rewrite, an internal redirect or a subrequest changed it.
 *
 * Values of compression_min_size bytes or more are compressed on nginx's
 * thread pool before they join the write queue (ngx_http_kvs_zip.c).  A
 * GET decompresses on the event loop: zstd decodes many times faster than
 * it encodes.
 *
 * A GET may ask for more than the value: ?meta, ?revisions or ?revision=N
 * (ngx_http_kvs_history.c).  A URI ending in "/" lists keys instead; see
 * ngx_http_kvs_list.c.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "kvs_codec.h"
#include "kvs_json.h"


static ngx_int_t ngx_http_kvs_key(ngx_http_request_t *r, ngx_str_t *key,
    ngx_uint_t *prefix);
static ngx_int_t ngx_http_kvs_get(ngx_http_request_t *r, ngx_str_t *key,
    ngx_http_kvs_params_t *params);
static void ngx_http_kvs_put_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvs_expires(ngx_http_request_t *r,
    uint64_t expires_at);
static ngx_int_t ngx_http_kvs_conditions(ngx_http_request_t *r,
    kvs_write_t *w);
static ngx_int_t ngx_http_kvs_may_write(ngx_http_request_t *r,
    ngx_str_t *key, kvs_write_t *w);


ngx_int_t
ngx_http_kvs_data_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_str_t                  key;
    ngx_uint_t                 prefix, weak;
    ngx_http_kvs_ctx_t        *ctx;
    ngx_http_kvs_params_t      params;
    ngx_http_kvs_main_conf_t  *kmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_PUT
                       |NGX_HTTP_DELETE)))
    {
        return ngx_http_kvs_not_allowed(r, "GET, HEAD, PUT, DELETE",
                                        "the method %V is not allowed on a "
                                        "key; use GET, HEAD, PUT or DELETE",
                                        &r->method_name);
    }

    rc = ngx_http_kvs_key(r, &key, &prefix);
    if (rc != NGX_OK) {
        return rc;
    }

    if (prefix && !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_kvs_not_allowed(r, "GET, HEAD",
                                        "a URI ending in \"/\" lists the "
                                        "keys under a prefix: only GET and "
                                        "HEAD are allowed; a key cannot end "
                                        "with \"/\"");
    }

    rc = ngx_http_kvs_params(r, prefix, &params);
    if (rc != NGX_OK) {
        return rc;
    }

    /* a read needs no context: it is answered at once */

    if (prefix) {
        ngx_kvs_debug(r->connection->log, "kvs: list \"%V\", limit %ui",
                      &key, params.limit);
        return ngx_http_kvs_list(r, &key, &params);
    }

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        ngx_kvs_debug(r->connection->log, "kvs: read \"%V\"", &key);
        return ngx_http_kvs_get(r, &key, &params);
    }

    ngx_kvs_debug(r->connection->log, "kvs: %V \"%V\"", &r->method_name,
                  &key);

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    if (kmcf->kc.read_only) {
        return ngx_http_kvs_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                  "this node is read-only; send writes to "
                                  "another node");
    }

    if (ngx_http_kvs_syncing()) {
        return ngx_http_kvs_syncing_refused(r,
                                            "send writes to another node");
    }

    ctx = ngx_http_kvs_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->key = key;

    ctx->written = ngx_http_kvs_data_written;
    ctx->write.ns = KVS_NS_DATA;
    ctx->write.path = (const char *) ctx->key.data;
    ctx->write.path_len = ctx->key.len;

    rc = ngx_http_kvs_conditions(r, &ctx->write);
    if (rc != NGX_OK && rc != NGX_DECLINED) {
        return rc;
    }

    weak = (rc == NGX_DECLINED);

    /* a change of who a key belongs to is the owner's, not a writer's */

    if (params.meta) {
        if (params.ttl >= 0) {
            return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                      "the parameters \"meta\" and \"ttl\" "
                                      "do not go together: a change of "
                                      "meta keeps the key's expiry, which "
                                      "a PUT of its value sets");
        }

        return ngx_http_kvs_meta_put(r, ctx);
    }

    rc = ngx_http_kvs_may_write(r, &key, &ctx->write);
    if (rc != NGX_OK) {
        return rc;
    }

    if (weak) {
        return ngx_http_kvs_error(r, NGX_HTTP_PRECONDITION_FAILED,
                                  "the precondition failed: If-Match "
                                  "compares ETags strongly, and %V is "
                                  "weak, so it matches no version of "
                                  "\"%V\" (nginx's gzip weakens the ETag "
                                  "of a GET it compresses); send it "
                                  "without \"W/\"",
                                  &r->headers_in.if_match->value, &key);
    }

    if (r->method == NGX_HTTP_DELETE) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        ctx->write.op = KVS_WRITE_DELETE;

        return ngx_http_kvs_write_queue(r, ctx);
    }

    if (r->headers_in.content_length_n > (off_t) kmcf->kc.max_json_size) {
        return ngx_http_kvs_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                  "the request body of %O bytes is larger "
                                  "than max_json_size (%uz bytes)",
                                  r->headers_in.content_length_n,
                                  kmcf->kc.max_json_size);
    }

    ctx->write.op = KVS_WRITE_PUT;

    /* ?ttl=0 asks for no expiry even where default_ttl sets one */

    if (params.ttl >= 0) {
        ctx->write.ttl_ms = (uint64_t) params.ttl * 1000;

    } else {
        ctx->write.ttl_ms = (uint64_t) kmcf->kc.default_ttl * 1000;
    }

    rc = ngx_http_read_client_request_body(r, ngx_http_kvs_put_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/*
 * The key is the path after "/kv/".  While nginx routes the client's own
 * URI (r->valid_unparsed_uri, which proxy_pass also goes by), it is taken
 * from the raw URI, percent-decoded: nginx's r->uri has merged slashes and
 * resolved dot segments already, which would store "a//b" under "a/b".
 * Once nginx changed the URI (a rewrite, an internal redirect by try_files
 * or error_page, a subrequest of SSI or auth_request), the raw URI names
 * another path or none, and the key is r->uri, decoded already.  A key
 * ending in "/" (or none at all) is a prefix to list; *prefix says so, and
 * the prefix keeps its "/".
 */

static ngx_int_t
ngx_http_kvs_key(ngx_http_request_t *r, ngx_str_t *key, ngx_uint_t *prefix)
{
    u_char      *src, *dst;
    ngx_str_t    path;
    ngx_uint_t   raw;
    const char  *why;

    *prefix = 0;

    /* a subrequest has no request line of its own */
    raw = r->valid_unparsed_uri && r->uri_start != NULL;

    if (raw) {
        path.data = r->uri_start;
        path.len = (r->args_start ? r->args_start - 1 : r->uri_end)
                   - r->uri_start;

    } else {
        path = r->uri;
    }

    if (path.len < 4 || ngx_strncmp(path.data, "/kv/", 4) != 0) {
        return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                  "the key must follow \"/kv/\" in the URI");
    }

    if (raw) {

        /*
         * nginx ends its own r->uri at a "#", where a fragment starts,
         * which no client sends; the raw URI keeps it.  Rather than have
         * one URI read as two keys, a raw "#" is refused: a key's "#"
         * comes as %23.
         */

        if (ngx_strlchr(path.data, r->uri_end, '#') != NULL) {
            return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                      "the URI holds a raw \"#\", which "
                                      "starts a fragment: send a \"#\" of a "
                                      "key or a parameter as %%23");
        }

        key->data = ngx_pnalloc(r->pool, path.len - 4);
        if (key->data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        src = path.data + 4;
        dst = key->data;
        ngx_unescape_uri(&dst, &src, path.len - 4, 0);
        key->len = dst - key->data;

    } else {
        key->data = path.data + 4;
        key->len = path.len - 4;
    }

    ngx_kvs_debug(r->connection->log, "kvs: key \"%V\" of the %s URI \"%V\"",
                  key, raw ? "client's" : "changed", &path);

    *prefix = (key->len == 0 || key->data[key->len - 1] == '/');

    if (*prefix && key->len == 0) {
        return NGX_OK;
    }

    why = kvs_key_check((const char *) key->data, key->len - *prefix);

    if (why != NULL) {
        return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST, "%s", why);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_kvs_get(ngx_http_request_t *r, ngx_str_t *key,
    ngx_http_kvs_params_t *params)
{
    int                rc;
    u_char            *copy;
    uint64_t           now;
    ngx_int_t          status;
    const uint8_t     *value;
    kvs_record_hdr_t   hdr;

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    status = ngx_http_kvs_read_begin(r);
    if (status != NGX_OK) {
        return status;
    }

    now = ngx_http_kvs_now_ms();

    if (params->revisions || params->revision) {
        status = ngx_http_kvs_versions(r, key, params, now);
        kvs_store_read_end(ngx_http_kvs_store);
        return status;
    }

    rc = kvs_store_get(ngx_http_kvs_store, KVS_NS_DATA,
                       (const char *) key->data, key->len, &hdr,
                       &value);

    /* past its expiry a record is gone at once, swept or not */

    if (rc == KVS_OK && !kvs_record_live(&hdr, now)) {
        rc = KVS_NOT_FOUND;
    }

    if (rc == KVS_OK && !ngx_http_kvs_may(r, &hdr, KVS_PERM_R)) {
        kvs_store_read_end(ngx_http_kvs_store);
        return ngx_http_kvs_error(r, NGX_HTTP_FORBIDDEN,
                                  "you may not read \"%V\"", key);
    }

    copy = NULL;
    status = NGX_OK;

    if (rc == KVS_OK && params->meta) {
        status = ngx_http_kvs_meta(r, &hdr, key, now);

    } else if (rc == KVS_OK) {
        status = ngx_http_kvs_value(r, &hdr, value, &copy);
    }

    kvs_store_read_end(ngx_http_kvs_store);

    if (rc == KVS_NOT_FOUND) {
        return ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND,
                                  "key \"%V\" not found", key);
    }

    if (rc != KVS_OK) {
        return ngx_http_kvs_unreadable(r, "the record of this key is "
                                          "unreadable");
    }

    if (params->meta || status != NGX_OK) {
        return status;
    }

    if (ngx_http_kvs_etag(r, hdr.version.uuid) != NGX_OK
        || ngx_http_kvs_expires(r, hdr.expires_at) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    status = ngx_http_kvs_audit_read(r, key, &hdr.version, copy,
                                     hdr.raw_len);
    if (status != NGX_DECLINED) {
        return status;
    }

    return ngx_http_kvs_send(r, NGX_HTTP_OK, copy, hdr.raw_len);
}


/*
 * A record's JSON in the request's pool: its value as stored, or
 * decompressed.  Called inside the read transaction that found it.
 */

ngx_int_t
ngx_http_kvs_value(ngx_http_request_t *r, kvs_record_hdr_t *hdr,
    const uint8_t *value, u_char **out)
{
    u_char      *p;
    const char  *why;

    /* a buffer is sized by raw_len only once the lengths agree */

    why = kvs_record_check(hdr);
    if (why != NULL) {
        ngx_kvs_log(NGX_LOG_ERR, r->connection->log, 0,
                    "kvs: the record at \"%V\" is damaged: %s (value "
                    "of %uD bytes, JSON of %uD)", &r->uri, why,
                    hdr->value_len, hdr->raw_len);
        return ngx_http_kvs_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                  "the value of this key is damaged");
    }

    p = ngx_pnalloc(r->pool, hdr->raw_len ? hdr->raw_len : 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!(hdr->flags & KVS_FLAG_COMPRESSED)) {
        ngx_memcpy(p, value, hdr->value_len);

    } else if (kvs_codec_decompress(p, hdr->raw_len, value, hdr->value_len)
               != 0)
    {
        ngx_kvs_log(NGX_LOG_ERR, r->connection->log, 0,
                    "kvs: a compressed value of %uD bytes does not "
                    "decompress to its %uD bytes", hdr->value_len,
                    hdr->raw_len);
        return ngx_http_kvs_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                  "the value of this key is damaged");
    }

    *out = p;

    return NGX_OK;
}



static void
ngx_http_kvs_put_body(ngx_http_request_t *r)
{
    size_t                     len, at;
    u_char                    *data;
    ngx_int_t                  rc;
    const char                *why;
    ngx_http_kvs_ctx_t        *ctx;
    ngx_http_kvs_main_conf_t  *kmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);

    data = NULL;
    len = 0;

    rc = ngx_http_kvs_body(r, &data, &len);
    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    if (kvs_json_check(data, len, &at, &why) != 0) {
        ngx_http_finalize_request(r,
            ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                               "the body is not valid JSON: %s at byte %uz",
                               why, at));
        return;
    }

    ctx->write.value = data;
    ctx->write.value_len = len;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    ngx_kvs_debug(r->connection->log, "kvs: a value of %uz bytes", len);

    if (kmcf->kc.compression_enabled
        && len >= kmcf->kc.compression_min_size
        && ngx_http_kvs_zip(r, kmcf, data, len) == NGX_OK)
    {
        /* the write is queued once the thread has compressed it */
        return;
    }

    rc = ngx_http_kvs_write_enqueue(r, ctx);
    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
    }

    /* the write queue finalizes the request once its commit is durable */
}



ngx_int_t
ngx_http_kvs_etag(ngx_http_request_t *r, const uint8_t *uuid)
{
    u_char           *p;
    ngx_table_elt_t  *etag;

    etag = ngx_list_push(&r->headers_out.headers);
    if (etag == NULL) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, KVS_UUID_STR_LEN + 2);
    if (p == NULL) {
        return NGX_ERROR;
    }

    p[0] = '"';
    kvs_uuid_format(uuid, (char *) p + 1);
    p[KVS_UUID_STR_LEN + 1] = '"';

    etag->hash = 1;
    ngx_str_set(&etag->key, "ETag");
    etag->value.data = p;
    etag->value.len = KVS_UUID_STR_LEN + 2;

    r->headers_out.etag = etag;

    return NGX_OK;
}


/* X-KVS-Expires-At: the expiry of a record with a TTL, in ms since the
 * epoch like every time of this API */

static ngx_int_t
ngx_http_kvs_expires(ngx_http_request_t *r, uint64_t expires_at)
{
    u_char           *p;
    ngx_table_elt_t  *h;

    if (expires_at == 0) {
        return NGX_OK;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    p = ngx_pnalloc(r->pool, NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "X-KVS-Expires-At");
    h->value.data = p;
    h->value.len = ngx_sprintf(p, "%uL", expires_at) - p;

    return NGX_OK;
}


/*
 * Conditional writes: If-Match: "<uuid>" writes only over that version
 * (compare-and-set), If-Match: * only over an existing key,
 * If-None-Match: * (PUT) only where there is none.  The store checks them
 * in the transaction that writes.  If-Match compares strongly (RFC 9110),
 * so W/"<uuid>", the ETag nginx's gzip gives a GET it compresses, matches
 * no version: NGX_DECLINED says so, and the write fails with a 412 once
 * the checks that come before preconditions have passed.
 */

static ngx_int_t
ngx_http_kvs_conditions(ngx_http_request_t *r, kvs_write_t *w)
{
    u_char      *etag;
    ngx_str_t   *v;
    ngx_uint_t   weak;

    weak = 0;

    if (r->headers_in.if_match) {
        v = &r->headers_in.if_match->value;

        weak = (v->len > 2 && v->data[0] == 'W' && v->data[1] == '/');
        etag = weak ? v->data + 2 : v->data;

        if (v->len == 1 && v->data[0] == '*') {
            w->must_exist = 1;

        } else if (v->len - (etag - v->data) == KVS_UUID_STR_LEN + 2
                   && etag[0] == '"' && v->data[v->len - 1] == '"'
                   && kvs_uuid_parse(w->match, (char *) etag + 1,
                                     KVS_UUID_STR_LEN)
                      == 0)
        {
            w->if_match = 1;

        } else {
            return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                      "If-Match must be * or one ETag of "
                                      "this API, a quoted uuid; got \"%V\"",
                                      v);
        }
    }

    if (r->headers_in.if_none_match) {
        v = &r->headers_in.if_none_match->value;

        if (r->method != NGX_HTTP_PUT) {
            return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                      "a %V takes no If-None-Match (a PUT "
                                      "takes If-None-Match: * to create "
                                      "only); got \"%V\"",
                                      &r->method_name, v);
        }

        if (v->len != 1 || v->data[0] != '*') {
            return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                      "on PUT, If-None-Match takes only * "
                                      "(create only); got \"%V\"", v);
        }

        w->create_only = 1;
    }

    return weak ? NGX_DECLINED : NGX_OK;
}


/* Answers a PUT or DELETE once the write queue has committed it. */

ngx_int_t
ngx_http_kvs_data_written(ngx_http_request_t *r, ngx_http_kvs_ctx_t *ctx)
{
    u_char  *p, *body;

    /* the ETag answered is the new version's; If-Match is not about it */
    r->disable_not_modified = 1;

    if (ctx->write.rc == KVS_NOT_FOUND) {
        return ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND,
                                  "key \"%V\" not found", &ctx->key);
    }

    if (ctx->write.rc == KVS_PRECONDITION) {
        return ngx_http_kvs_error(r, NGX_HTTP_PRECONDITION_FAILED,
                                  ctx->write.create_only
                                  ? "key \"%V\" exists (If-None-Match: *)"
                                  : ctx->write.must_exist
                                  ? "key \"%V\" does not exist (If-Match: *)"
                                  : "key \"%V\" is not at the version "
                                    "If-Match names", &ctx->key);
    }

    if (ctx->write.rc == KVS_CROWDED) {
        return ngx_http_kvs_error(r, NGX_HTTP_CONFLICT,
                                  "key \"%V\" not created: %d keys share "
                                  "its first 448 bytes, the most that may "
                                  "(keys longer than that are listed in "
                                  "digest order, so a listing reads all of "
                                  "them at once)", &ctx->key,
                                  KVS_STORE_BLOCK_MAX);
    }

    if (ctx->write.op == KVS_WRITE_DELETE) {
        return ngx_http_kvs_send(r, NGX_HTTP_NO_CONTENT, NULL, 0);
    }

    body = ngx_pnalloc(r->pool, sizeof("{\"uuid\":\"\",\"timestamp\":}\n")
                                + KVS_UUID_STR_LEN + NGX_INT64_LEN);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, "{\"uuid\":\"", sizeof("{\"uuid\":\"") - 1);
    kvs_uuid_format(ctx->write.version.uuid, (char *) p);
    p += KVS_UUID_STR_LEN;
    p = ngx_sprintf(p, "\",\"timestamp\":%uL}\n",
                    ctx->write.version.timestamp);

    if (ngx_http_kvs_etag(r, ctx->write.version.uuid) != NGX_OK
        || ngx_http_kvs_expires(r, ctx->write.expires_at) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvs_send(r, NGX_HTTP_OK, body, p - body);
}


/*
 * Whether the request may write the key: a PUT W on the key or C on its
 * nearest ancestor (ngx_http_kvs_may_put(), which also says who owns a key
 * it creates), a DELETE D on the key.  Decided before the body is read, on
 * what the read transaction shows: a write that lands between this and the
 * commit is not seen, as with any check made before a queue.
 */

static ngx_int_t
ngx_http_kvs_may_write(ngx_http_request_t *r, ngx_str_t *key, kvs_write_t *w)
{
    int                        rc;
    ngx_int_t                  status;
    const uint8_t             *value;
    kvs_record_hdr_t           hdr;
    ngx_http_kvs_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    /* with auth off anyone may write, and a new key has no owner and no
     * group: no read is needed */

    if (!kmcf->kc.auth_enabled) {
        w->owned = 1;
        w->permissions = kmcf->kc.default_permissions;
        return NGX_OK;
    }

    status = ngx_http_kvs_read_begin(r);
    if (status != NGX_OK) {
        return status;
    }

    if (r->method == NGX_HTTP_PUT) {
        status = ngx_http_kvs_may_put(r, key, w);
        kvs_store_read_end(ngx_http_kvs_store);
        return status;
    }

    rc = kvs_store_get(ngx_http_kvs_store, KVS_NS_DATA,
                       (const char *) key->data, key->len, &hdr, &value);

    status = NGX_OK;

    if (rc == KVS_OK && kvs_record_live(&hdr, ngx_http_kvs_now_ms())
        && !ngx_http_kvs_may(r, &hdr, KVS_PERM_D))
    {
        status = ngx_http_kvs_error(r, NGX_HTTP_FORBIDDEN,
                                    "you may not delete \"%V\"", key);
    }

    kvs_store_read_end(ngx_http_kvs_store);

    if (rc == KVS_ERROR) {
        return ngx_http_kvs_unreadable(r, "the record of this key is "
                                          "unreadable");
    }

    return status;
}
