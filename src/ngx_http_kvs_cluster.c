/*
 * The internal endpoints peers call: POST /members/join, /members/gossip
 * and /members/leave.
 *
 * Every one is signed with the cluster's secret (src/kvs/kvs_sign.c): a
 * request without a valid, fresh signature gets a 401, a log line, and
 * changes nothing.  Join and gossip carry the caller's member list, which
 * is merged through the same group-commit queue as data writes (records
 * seen later win), and are answered with this node's list; the caller is
 * alive as of now, since it just spoke to us.  Leave marks the caller
 * "left", which gossip spreads like any other news.
 *
 * POST /_cluster/apply carries records pushed by a peer's agent, applied
 * through the group-commit queue by the version rules (kvs_version_decide):
 * newer versions are stored as they are, the same or older ignored, and a
 * tie with another uuid is logged as a conflict.  It is accepted in every
 * mode, read-only included.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "kvs_members.h"
#include "kvs_merkle.h"
#include "kvs_sign.h"


static void ngx_http_kvs_cluster_body(ngx_http_request_t *r);
static ngx_table_elt_t *ngx_http_kvs_header(ngx_http_request_t *r,
    const char *name);
static ngx_uint_t ngx_http_kvs_cluster_known(ngx_http_request_t *r,
    ngx_str_t *node);
static void ngx_http_kvs_apply_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvs_apply_written(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx);
static ngx_int_t ngx_http_kvs_cluster_written(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx);


ngx_int_t
ngx_http_kvs_cluster_handler(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    ngx_http_kvs_ctx_t                *ctx;
    ngx_http_client_body_handler_pt    body;

    ctx = ngx_http_kvs_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_kvs_not_allowed(r, "POST",
                                        "\"%V\" takes only signed POST "
                                        "requests from cluster members",
                                        &r->uri);
    }

    if (r->uri.data[1] != '_') {
        body = ngx_http_kvs_cluster_body;

    } else if (r->uri.len == sizeof("/_cluster/apply") - 1
               && ngx_strncmp(r->uri.data, "/_cluster/apply", r->uri.len)
                  == 0)
    {
        body = ngx_http_kvs_apply_body;

    } else if (ngx_http_kvs_sync_op(r) != NULL) {
        body = ngx_http_kvs_sync_body;

    } else {
        return ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND,
                                  "no KVS endpoint at \"%V\"", &r->uri);
    }

    rc = ngx_http_read_client_request_body(r, body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_kvs_cluster_body(ngx_http_request_t *r)
{
    int                        n;
    size_t                     len;
    u_char                    *body;
    ngx_int_t                  rc;
    ngx_str_t                  sender;
    ngx_uint_t                 i, leave;
    const char                *why;
    kvs_member_t              *m;
    ngx_http_kvs_ctx_t        *ctx;
    ngx_http_kvs_main_conf_t  *kmcf;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);
    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    rc = ngx_http_kvs_cluster_read(r, &body, &len, &sender);
    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    m = ngx_palloc(r->pool, KVS_MEMBERS_MAX * sizeof(kvs_member_t));
    if (m == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    n = kvs_members_parse((char *) body, len, m, KVS_MEMBERS_MAX, &why);

    if (n < 0) {
        ngx_http_finalize_request(r,
            ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST, "%s", why));
        return;
    }

    leave = r->uri.len == sizeof("/members/leave") - 1;

    if (leave && !ngx_http_kvs_cluster_known(r, &sender)) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "kvs: refused /members/leave from %V: node \"%V\" is "
                      "not a member", &r->connection->addr_text, &sender);
        ngx_http_finalize_request(r,
            ngx_http_kvs_error(r, NGX_HTTP_UNAUTHORIZED,
                               "node \"%V\" is not a member of this cluster",
                               &sender));
        return;
    }

    /* never take news about this node from others; the caller is alive */

    n = (int) kvs_members_filter(m, n, kmcf->kc.node_id,
                                 ngx_kvs_members_oldest(&kmcf->kc));

    for (i = 0; i < (ngx_uint_t) n; i++) {
        if (sender.len == ngx_strlen(m[i].node_id)
            && ngx_strncmp(m[i].node_id, sender.data, sender.len) == 0)
        {
            m[i].last_seen = ngx_http_kvs_now_ms();
            m[i].state = leave ? KVS_MEMBER_LEFT : KVS_MEMBER_ALIVE;
        }
    }

    ctx->write.op = KVS_WRITE_MEMBERS;
    ctx->write.members = m;
    ctx->write.nmembers = n;
    ctx->written = ngx_http_kvs_cluster_written;

    rc = ngx_http_kvs_write_enqueue(r, ctx);
    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
    }
}


/* The body of an internal request (empty when there is none), once its
 * signature is verified. */

ngx_int_t
ngx_http_kvs_cluster_read(ngx_http_request_t *r, u_char **body, size_t *len,
    ngx_str_t *sender)
{
    ngx_int_t  rc;

    *body = (u_char *) "";
    *len = 0;

    if (r->headers_in.content_length_n != 0) {
        rc = ngx_http_kvs_body(r, body, len);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    return ngx_http_kvs_cluster_verify(r, *body, *len, sender);
}


ngx_int_t
ngx_http_kvs_cluster_verify(ngx_http_request_t *r, u_char *body, size_t len,
    ngx_str_t *sender)
{
    const char                *why;
    ngx_table_elt_t           *node, *date, *sig;
    ngx_http_kvs_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    node = ngx_http_kvs_header(r, KVS_SIGN_HEADER_NODE);
    date = ngx_http_kvs_header(r, KVS_SIGN_HEADER_DATE);
    sig = ngx_http_kvs_header(r, KVS_SIGN_HEADER_SIGNATURE);

    if (kmcf->kc.cluster_secret == NULL) {
        why = "this node has no cluster_secret and takes no cluster "
              "requests";

    } else if (kvs_sign_verify(kmcf->kc.cluster_secret,
                               ngx_strlen(kmcf->kc.cluster_secret),
                               (char *) r->method_name.data,
                               r->method_name.len,
                               (char *) r->unparsed_uri.data,
                               r->unparsed_uri.len,
                               date ? (char *) date->value.data : NULL,
                               date ? date->value.len : 0,
                               body, len,
                               sig ? (char *) sig->value.data : NULL,
                               sig ? sig->value.len : 0,
                               ngx_http_kvs_now_ms(), &why)
               != 0)
    {
        /* why says what is wrong */

    } else if (node == NULL || node->value.len == 0) {
        why = "the request does not name its node (" KVS_SIGN_HEADER_NODE ")";

    } else {
        *sender = node->value;
        return NGX_OK;
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "kvs: refused %V %V from %V (node \"%V\"): %s",
                  &r->method_name, &r->uri, &r->connection->addr_text,
                  node ? &node->value : &r->uri, why);

    return ngx_http_kvs_error(r, NGX_HTTP_UNAUTHORIZED, "%s", why);
}


static ngx_table_elt_t *
ngx_http_kvs_header(ngx_http_request_t *r, const char *name)
{
    size_t            len;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    len = ngx_strlen(name);
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == len
            && ngx_strncasecmp(h[i].key.data, (u_char *) name, len) == 0)
        {
            return &h[i];
        }
    }
}


static ngx_uint_t
ngx_http_kvs_cluster_known(ngx_http_request_t *r, ngx_str_t *node)
{
    int           rc;
    char          err[KVS_STORE_ERRLEN];
    kvs_member_t  m;

    if (kvs_store_read_begin(ngx_http_kvs_store, err, sizeof(err))
        != KVS_OK)
    {
        return 0;
    }

    rc = kvs_store_member_get(ngx_http_kvs_store, (char *) node->data,
                              node->len, &m);

    kvs_store_read_end(ngx_http_kvs_store);

    return rc == KVS_OK;
}


/* answers join and gossip with this node's list, once the merge is durable */

static ngx_int_t
ngx_http_kvs_cluster_written(ngx_http_request_t *r, ngx_http_kvs_ctx_t *ctx)
{
    return ngx_http_kvs_members_answer(r, 1);
}


/*
 * A batch of records: for each, the namespace byte, the path's length (2
 * bytes, little-endian) and bytes, the record's length (4 bytes) and the
 * record whole, as kvs_store_changes() gives it.
 */

static void
ngx_http_kvs_apply_body(ngx_http_request_t *r)
{
    size_t               len, plen, rlen;
    u_char              *body, *p, *end;
    ngx_int_t            rc;
    ngx_str_t            sender;
    ngx_uint_t           n;
    const char          *why;
    kvs_write_t         *w;
    ngx_http_kvs_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);

    rc = ngx_http_kvs_cluster_read(r, &body, &len, &sender);
    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
        return;
    }

    w = ngx_pcalloc(r->pool, NGX_HTTP_KVS_APPLY_MAX * sizeof(kvs_write_t));
    if (w == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = body;
    end = body + len;
    why = NULL;

    for (n = 0; p < end; n++) {

        if (n == NGX_HTTP_KVS_APPLY_MAX) {
            why = "too many records in one batch";
            break;
        }

        if (end - p < 3) {
            why = "a record is cut short";
            break;
        }

        w[n].ns = (char) p[0];
        plen = p[1] | (p[2] << 8);
        p += 3;

        if ((size_t) (end - p) < plen + 4) {
            why = "a record is cut short";
            break;
        }

        w[n].path = (const char *) p;
        w[n].path_len = plen;
        p += plen;

        rlen = kvs_get_u32(p);
        p += 4;

        if ((size_t) (end - p) < rlen) {
            why = "a record is cut short";
            break;
        }

        if (w[n].ns != KVS_NS_DATA && w[n].ns != KVS_NS_USER
            && w[n].ns != KVS_NS_GROUP && w[n].ns != KVS_NS_TOKEN)
        {
            why = "a record has an unknown namespace";
            break;
        }

        why = kvs_key_check(w[n].path, plen);
        if (why != NULL) {
            break;
        }

        w[n].op = KVS_WRITE_REMOTE;
        w[n].value = p;
        w[n].value_len = rlen;
        p += rlen;
    }

    if (why != NULL) {
        ngx_http_finalize_request(r,
            ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                               "the batch from \"%V\" is refused: %s",
                               &sender, why));
        return;
    }

    if (n == 0) {
        ngx_http_finalize_request(r, ngx_http_kvs_apply_written(r, ctx));
        return;
    }

    ctx->writes = w;
    ctx->nwrites = n;
    ctx->written = ngx_http_kvs_apply_written;

    rc = ngx_http_kvs_write_enqueue(r, ctx);
    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, rc);
    }
}


static ngx_int_t
ngx_http_kvs_apply_written(ngx_http_request_t *r, ngx_http_kvs_ctx_t *ctx)
{
    u_char       *body, *p;
    ngx_uint_t    i, applied, stale, conflicts, invalid, full;
    kvs_write_t  *w;
    char          held[KVS_UUID_STR_LEN + 1];

    applied = stale = conflicts = invalid = full = 0;

    for (i = 0; i < ctx->nwrites; i++) {
        w = &ctx->writes[i];

        switch (w->rc) {

        case KVS_OK:
            applied++;
            break;

        case KVS_STALE:
            stale++;
            break;

        case KVS_CONFLICT:
            conflicts++;
            kvs_uuid_format(w->version.uuid, held);
            held[KVS_UUID_STR_LEN] = '\0';
            ngx_log_error(NGX_LOG_NOTICE, r->connection->log, 0,
                          "kvs: conflict on \"%*s\": this node holds "
                          "%uL/%s, a peer sent another uuid with the same "
                          "timestamp", w->path_len, w->path,
                          w->version.timestamp, held);
            break;

        /* the sender moves on: anti-entropy brings it once there is room */
        case KVS_FULL:
            full++;
            break;

        default:
            invalid++;
        }
    }

    body = ngx_pnalloc(r->pool, sizeof("{\"applied\":,\"stale\":,"
                                       "\"conflicts\":,\"invalid\":,"
                                       "\"full\":}\n")
                                + 5 * NGX_INT_T_LEN);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"applied\":%ui,\"stale\":%ui,"
                    "\"conflicts\":%ui,\"invalid\":%ui,\"full\":%ui}\n",
                    applied, stale, conflicts, invalid, full);

    return ngx_http_kvs_send(r, NGX_HTTP_OK, body, p - body);
}


ngx_int_t
ngx_http_kvs_digest_handler(ngx_http_request_t *r)
{
    int        rc;
    char       err[KVS_STORE_ERRLEN];
    u_char    *body, *p;
    uint8_t    ranges[256 * KVS_MERKLE_DIGEST_LEN];
    uint8_t    root[KVS_MERKLE_DIGEST_LEN];
    uint64_t   keys, resolved;
    ngx_int_t  nrc;
    ngx_str_t  sender;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_kvs_not_allowed(r, "GET, HEAD",
                                        "\"%V\" takes only signed GET "
                                        "requests", &r->uri);
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    nrc = ngx_http_kvs_cluster_verify(r, (u_char *) "", 0, &sender);
    if (nrc != NGX_OK) {
        return nrc;
    }

    if (kvs_store_read_begin(ngx_http_kvs_store, err, sizeof(err))
        != KVS_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "kvs: %s", err);
        return ngx_http_kvs_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                  "the store cannot be read");
    }

    keys = 0;
    resolved = 0;

    rc = kvs_store_merkle_ranges(ngx_http_kvs_store, ranges);
    if (rc == KVS_OK) {
        rc = kvs_store_count(ngx_http_kvs_store, &keys);
    }

    if (rc == KVS_OK
        && kvs_store_meta_get(ngx_http_kvs_store, KVS_CONFLICTS_RESOLVED,
                              &resolved)
           != KVS_OK)
    {
        resolved = 0;
    }

    kvs_store_read_end(ngx_http_kvs_store);

    if (rc != KVS_OK) {
        return ngx_http_kvs_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                  "the Merkle tree cannot be read");
    }

    kvs_store_merkle_root(ranges, root);

    body = ngx_pnalloc(r->pool, sizeof("{\"root\":\"\",\"keys\":,"
                                       "\"conflicts_resolved\":}\n")
                                + 2 * KVS_MERKLE_DIGEST_LEN
                                + 2 * NGX_INT64_LEN);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(body, "{\"root\":\"", sizeof("{\"root\":\"") - 1);
    p = ngx_hex_dump(p, root, KVS_MERKLE_DIGEST_LEN);
    p = ngx_sprintf(p, "\",\"keys\":%uL,\"conflicts_resolved\":%uL}\n",
                    keys, resolved);

    return ngx_http_kvs_send(r, NGX_HTTP_OK, body, p - body);
}
