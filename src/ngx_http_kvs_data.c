/*
 * /kv/{path}: the data API.
 *
 * GET copies the stored JSON out of one read transaction into the response
 * and answers at once.  PUT and DELETE check everything they can before
 * anything is queued (mode, key, size, JSON), then hand the write to the
 * group-commit queue of ngx_http_kvs_write.c, which answers them once their
 * commit is durable.  The key is taken from the URI as the client sent it
 * (percent-decoded, but not normalized), so "a//b" or "a/../b" are refused
 * instead of silently becoming another key.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "kvs_json.h"


static ngx_int_t ngx_http_kvs_key(ngx_http_request_t *r, ngx_str_t *key);
static ngx_int_t ngx_http_kvs_get(ngx_http_request_t *r, ngx_str_t *key);
static void ngx_http_kvs_put_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvs_etag(ngx_http_request_t *r,
    const uint8_t *uuid);
static ngx_int_t ngx_http_kvs_conditions(ngx_http_request_t *r,
    kvs_write_t *w);


ngx_int_t
ngx_http_kvs_data_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc;
    ngx_str_t                  key;
    ngx_http_kvs_ctx_t        *ctx;
    ngx_http_kvs_main_conf_t  *kmcf;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_PUT
                       |NGX_HTTP_DELETE)))
    {
        return ngx_http_kvs_not_allowed(r, "GET, HEAD, PUT, DELETE",
                                        "the method %V is not allowed on a "
                                        "key; use GET, HEAD, PUT or DELETE",
                                        &r->method_name);
    }

    rc = ngx_http_kvs_key(r, &key);
    if (rc != NGX_OK) {
        return rc;
    }

    /* a read needs no context: it is answered at once */

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        return ngx_http_kvs_get(r, &key);
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    if (kmcf->kc.read_only) {
        return ngx_http_kvs_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                  "this node is read-only; send writes to "
                                  "another node");
    }

    if (ngx_http_kvs_syncing()) {
        return ngx_http_kvs_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                  "this node is syncing from its peers; "
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
    if (rc != NGX_OK) {
        return rc;
    }

    if (r->method == NGX_HTTP_DELETE) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        ctx->write.op = KVS_WRITE_DELETE;

        r->main->count++;

        rc = ngx_http_kvs_write_enqueue(r, ctx);
        if (rc != NGX_OK) {
            r->main->count--;
            return rc;
        }

        return NGX_DONE;
    }

    if (r->headers_in.content_length_n > (off_t) kmcf->kc.max_json_size) {
        return ngx_http_kvs_error(r, NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                  "the request body of %O bytes is larger "
                                  "than max_json_size (%uz bytes)",
                                  r->headers_in.content_length_n,
                                  kmcf->kc.max_json_size);
    }

    ctx->write.op = KVS_WRITE_PUT;

    rc = ngx_http_read_client_request_body(r, ngx_http_kvs_put_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/*
 * The key is the raw URI after "/kv/", percent-decoded: nginx's r->uri has
 * merged slashes and resolved dot segments already, which would store
 * "a//b" under "a/b".
 */

static ngx_int_t
ngx_http_kvs_key(ngx_http_request_t *r, ngx_str_t *key)
{
    u_char      *src, *dst, *end;
    const char  *why;

    src = r->uri_start;
    end = r->args_start ? r->args_start - 1 : r->uri_end;

    if (src == NULL || end - src < 4 || ngx_strncmp(src, "/kv/", 4) != 0) {
        return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                  "the key must follow \"/kv/\" in the URI");
    }

    src += 4;

    key->data = ngx_pnalloc(r->pool, end - src + 1);
    if (key->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    dst = key->data;
    ngx_unescape_uri(&dst, &src, end - src, 0);
    key->len = dst - key->data;

    why = kvs_key_check((const char *) key->data, key->len);

    if (why != NULL) {
        return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST, "%s", why);
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_kvs_get(ngx_http_request_t *r, ngx_str_t *key)
{
    int                rc;
    u_char            *copy;
    char               err[KVS_STORE_ERRLEN];
    const uint8_t     *value;
    kvs_record_hdr_t   hdr;

    if (kvs_store_read_begin(ngx_http_kvs_store, err, sizeof(err))
        != KVS_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "kvs: %s", err);
        return ngx_http_kvs_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                  "the store cannot be read");
    }

    rc = kvs_store_get(ngx_http_kvs_store, KVS_NS_DATA,
                       (const char *) key->data, key->len, &hdr,
                       &value);

    if (rc == KVS_OK && (hdr.flags & KVS_FLAG_TOMBSTONE)) {
        rc = KVS_NOT_FOUND;
    }

    copy = NULL;

    if (rc == KVS_OK) {
        copy = ngx_pnalloc(r->pool, hdr.value_len);
        if (copy != NULL) {
            ngx_memcpy(copy, value, hdr.value_len);
        }
    }

    kvs_store_read_end(ngx_http_kvs_store);

    if (rc == KVS_NOT_FOUND) {
        return ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND,
                                  "key \"%V\" not found", key);
    }

    if (rc != KVS_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "kvs: the record of \"%V\" is unreadable", key);
        return ngx_http_kvs_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                  "the record of this key is unreadable");
    }

    if (copy == NULL || ngx_http_kvs_etag(r, hdr.version.uuid) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvs_send(r, NGX_HTTP_OK, copy, hdr.value_len);
}


static void
ngx_http_kvs_put_body(ngx_http_request_t *r)
{
    size_t               len, at;
    u_char              *data;
    ngx_int_t            rc;
    const char          *why;
    ngx_http_kvs_ctx_t  *ctx;

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

    rc = ngx_http_kvs_write_enqueue(r, ctx);
    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
    }

    /* the write queue finalizes the request once its commit is durable */
}


/* The body in one piece: in memory as nginx read it, or from its temp file
 * when it was larger than client_body_buffer_size. */

ngx_int_t
ngx_http_kvs_body(ngx_http_request_t *r, u_char **data, size_t *len)
{
    u_char       *p;
    size_t        size;
    ssize_t       n;
    ngx_buf_t    *b;
    ngx_chain_t  *cl;

    size = 0;

    if (r->request_body) {
        for (cl = r->request_body->bufs; cl; cl = cl->next) {
            size += ngx_buf_size(cl->buf);
        }
    }

    if (size == 0) {
        return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                  "the body is empty; %V needs a JSON "
                                  "value", &r->method_name);
    }

    cl = r->request_body->bufs;
    b = cl->buf;

    if (cl->next == NULL && !b->in_file) {
        *data = b->pos;
        *len = size;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, size);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    *data = p;
    *len = size;

    for ( /* void */ ; cl; cl = cl->next) {
        b = cl->buf;

        if (!b->in_file) {
            if (b->last != b->pos) {
                p = ngx_cpymem(p, b->pos, b->last - b->pos);
            }
            continue;
        }

        n = ngx_read_file(b->file, p, b->file_last - b->file_pos,
                          b->file_pos);

        if (n != b->file_last - b->file_pos) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "kvs: reading the body's temp file failed");
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p += n;
    }

    return NGX_OK;
}


static ngx_int_t
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


/*
 * Conditional writes: If-Match: "<uuid>" writes only over that version
 * (compare-and-set), If-Match: * only over an existing key,
 * If-None-Match: * (PUT) only where there is none.  The store checks them
 * in the transaction that writes.
 */

static ngx_int_t
ngx_http_kvs_conditions(ngx_http_request_t *r, kvs_write_t *w)
{
    ngx_str_t  *v;

    if (r->headers_in.if_match) {
        v = &r->headers_in.if_match->value;

        if (v->len == 1 && v->data[0] == '*') {
            w->must_exist = 1;

        } else if (v->len == KVS_UUID_STR_LEN + 2 && v->data[0] == '"'
                   && v->data[v->len - 1] == '"'
                   && kvs_uuid_parse(w->match, (char *) v->data + 1,
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

        if (r->method != NGX_HTTP_PUT || v->len != 1 || v->data[0] != '*') {
            return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                      "on %V, If-None-Match takes only * "
                                      "(create only); got \"%V\"",
                                      &r->method_name, v);
        }

        w->create_only = 1;
    }

    return NGX_OK;
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
                                  : "key \"%V\" is not at the version "
                                    "If-Match names", &ctx->key);
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

    if (ngx_http_kvs_etag(r, ctx->write.version.uuid) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvs_send(r, NGX_HTTP_OK, body, p - body);
}
