/*
 * The internal endpoints peers call: POST /members/join, /members/gossip
 * and /members/leave.
 *
 * Every one is signed with the cluster's secret (src/kvs/kvs_sign.c): a
 * request without a valid, fresh signature gets a 401, a log line, and
 * changes nothing.  These endpoints may face any client, so what can be
 * judged without the body is judged before a byte of it is read: the
 * signature's headers there, its date fresh, a leaving node a member, the
 * body no larger than the endpoint takes (a member list of 1,024 members,
 * KVS_MEMBERS_JSON_MAX, or a peer's batch).  A stranger's request then
 * costs its headers, not the body it declares; one with a fresh date and
 * a forged signature costs at most that limit, read, hashed and refused.
 * Join and gossip carry the caller's member list, which
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
#include "kvs_wire.h"


static ngx_str_t  ngx_http_kvs_no_node = ngx_string("");


static ngx_int_t ngx_http_kvs_cluster_refuse(ngx_http_request_t *r,
    ngx_uint_t status, const char *fmt, ...);
static void ngx_http_kvs_cluster_auth(ngx_http_request_t *r,
    ngx_http_kvs_main_conf_t *kmcf, ngx_str_t *sender);
static ngx_uint_t ngx_http_kvs_cluster_known(ngx_http_request_t *r,
    ngx_str_t *node);
static ngx_int_t ngx_http_kvs_apply_written(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx);
static ngx_int_t ngx_http_kvs_cluster_written(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx);


ngx_int_t
ngx_http_kvs_cluster_handler(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    ngx_str_t                          sender;
    ngx_http_kvs_ctx_t                *ctx;
    ngx_http_kvs_route_t              *route;
    ngx_http_kvs_main_conf_t          *kmcf;

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

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    route = ctx->route;

    if (route->flags & NGX_HTTP_KVS_MEMBER_LIST) {
        ctx->body_max = KVS_MEMBERS_JSON_MAX;
        ctx->body_max_of = "a list of 1,024 members";

    } else {
        ctx->body_max = ngx_http_kvs_batch_max(&kmcf->kc);
        ctx->body_max_of = "a peer's batch";
    }

    rc = ngx_http_kvs_cluster_verify(r, NULL, 0, &sender);
    if (rc != NGX_OK) {
        return rc;
    }

    /*
     * Signed over the digest it declares, the request is a peer's before
     * its body is read: its batch may carry a record as large as the
     * protocol allows, whatever this node's own max_json_size (a node of
     * a smaller one refused a larger node's batch with 413, and the push
     * retried it for good).  A stranger's is bounded by this node's.
     */
    if (!(route->flags & NGX_HTTP_KVS_MEMBER_LIST)
        && ngx_http_kvs_header(r, KVS_SIGN_HEADER_DIGEST) != NULL)
    {
        ctx->body_max = NGX_HTTP_KVS_PEER_BATCH_MAX;
        ctx->body_max_of = "the protocol's largest batch";
    }

    if (route->flags & NGX_HTTP_KVS_MEMBER_LIST) {
        ngx_http_kvs_cluster_auth(r, kmcf, &sender);
    }

    if ((route->flags & NGX_HTTP_KVS_LEAVE)
        && !ngx_http_kvs_cluster_known(r, &sender))
    {
        return ngx_http_kvs_cluster_refuse(r, NGX_HTTP_UNAUTHORIZED,
                                           "node \"%V\" is not a member of "
                                           "this cluster", &sender);
    }

    if (r->headers_in.content_length_n > ctx->body_max) {
        return ngx_http_kvs_cluster_refuse(r,
                                           NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                           "the request body of %O bytes is "
                                           "larger than %s (%O bytes)",
                                           r->headers_in.content_length_n,
                                           ctx->body_max_of, ctx->body_max);
    }

    ngx_kvs_debug(r->connection->log,
                  "kvs: reading the body of %V from node \"%V\"",
                  &r->uri, &sender);

    rc = ngx_http_read_client_request_body(r, route->body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


void
ngx_http_kvs_cluster_body(ngx_http_request_t *r)
{
    int                        n;
    size_t                     len, room;
    u_char                    *body;
    uint64_t                   now;
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

    room = kvs_members_room(len);

    m = ngx_palloc(r->pool, room * sizeof(kvs_member_t));
    if (m == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    n = kvs_members_parse((char *) body, len, m, room, &why);

    if (n < 0) {
        ngx_http_finalize_request(r,
            ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST, "%s", why));
        return;
    }

    /* a leaving node was found a member before its body was read */

    leave = ctx->route->flags & NGX_HTTP_KVS_LEAVE;

    /* the caller is alive, or leaving, as of this node's clock, whatever
     * its own says: its word of itself beats what others said later */

    now = ngx_http_kvs_now_ms();

    for (i = 0; i < (ngx_uint_t) n; i++) {
        if (sender.len == ngx_strlen(m[i].node_id)
            && ngx_strncmp(m[i].node_id, sender.data, sender.len) == 0)
        {
            m[i].last_seen = now;
            m[i].state = leave ? KVS_MEMBER_LEFT : KVS_MEMBER_ALIVE;
            m[i].own = 1;
        }
    }

    /* never take news about this node from others, nor stamps ahead */

    n = (int) kvs_members_filter(m, n, kmcf->kc.node_id,
                                 ngx_kvs_members_oldest(&kmcf->kc),
                                 now + KVS_MEMBERS_AHEAD_MS);

    ctx->write.op = KVS_WRITE_MEMBERS;
    ctx->write.members = m;
    ctx->write.nmembers = n;
    ctx->written = ngx_http_kvs_cluster_written;

    /* the audit heads the gossip carries join its merge */
    if (ngx_http_kvs_audit_witness(r, ctx, &sender) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

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


/*
 * Checks the signature of an internal request over its body; with body
 * NULL, only what needs no body (kvs_sign_check()), before it is read.
 * NGX_OK with the sender's node id, or a 401 that is logged.
 */

ngx_int_t
ngx_http_kvs_cluster_verify(ngx_http_request_t *r, u_char *body, size_t len,
    ngx_str_t *sender)
{
    int                        rc;
    char                      *dg, hex[KVS_SIGN_DIGEST_LEN];
    size_t                     dglen;
    const char                *why;
    ngx_table_elt_t           *node, *date, *sig, *digest;
    ngx_http_kvs_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    node = ngx_http_kvs_header(r, KVS_SIGN_HEADER_NODE);
    date = ngx_http_kvs_header(r, KVS_SIGN_HEADER_DATE);
    sig = ngx_http_kvs_header(r, KVS_SIGN_HEADER_SIGNATURE);
    digest = ngx_http_kvs_header(r, KVS_SIGN_HEADER_DIGEST);

    if (node != NULL) {
        *sender = node->value;

    } else {
        ngx_str_null(sender);
    }

    if (kmcf->cluster_secret.len == 0) {
        return ngx_http_kvs_cluster_refuse(r, NGX_HTTP_UNAUTHORIZED,
                                           "this node has no cluster_secret "
                                           "and takes no cluster requests");
    }

    /* the body read, its own digest; before it, the one it declares, if
     * any: the signature is checked over it (else only its form) */

    dg = NULL;
    dglen = 0;

    if (body != NULL) {
        if (kvs_sign_digest(body, len, hex) != 0) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        dg = hex;
        dglen = KVS_SIGN_DIGEST_LEN;

    } else if (digest != NULL) {
        dg = (char *) digest->value.data;
        dglen = digest->value.len;
    }

    if (dg != NULL) {
        rc = kvs_sign_verify_digest((char *) kmcf->cluster_secret.data,
                                    kmcf->cluster_secret.len,
                                    (char *) r->method_name.data,
                                    r->method_name.len,
                                    (char *) r->unparsed_uri.data,
                                    r->unparsed_uri.len,
                                    date ? (char *) date->value.data : NULL,
                                    date ? date->value.len : 0, dg, dglen,
                                    sig ? (char *) sig->value.data : NULL,
                                    sig ? sig->value.len : 0,
                                    ngx_http_kvs_now_ms(), &why);

    } else {
        rc = kvs_sign_check(date ? (char *) date->value.data : NULL,
                            date ? date->value.len : 0,
                            sig ? (char *) sig->value.data : NULL,
                            sig ? sig->value.len : 0,
                            ngx_http_kvs_now_ms(), &why);
    }

    if (rc == -2) {
        ngx_kvs_log(NGX_LOG_ERR, r->connection->log, 0, "kvs: %s", why);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc != 0) {
        return ngx_http_kvs_cluster_refuse(r, NGX_HTTP_UNAUTHORIZED, "%s",
                                           why);
    }

    if (sender->len == 0) {
        return ngx_http_kvs_cluster_refuse(r, NGX_HTTP_UNAUTHORIZED,
                                           "the request does not name its "
                                           "node (" KVS_SIGN_HEADER_NODE ")");
    }

    ngx_kvs_debug(r->connection->log, "kvs: %V signed by node \"%V\"",
                  &r->uri, sender);

    return NGX_OK;
}


/* an internal request refused: a warn line for the operator, the JSON
 * error for the caller */

static ngx_int_t
ngx_http_kvs_cluster_refuse(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...)
{
    u_char            *p;
    va_list            args;
    ngx_table_elt_t   *node;
    u_char             why[NGX_MAX_ERROR_STR];

    va_start(args, fmt);
    p = ngx_vslprintf(why, why + sizeof(why), fmt, args);
    va_end(args);

    node = ngx_http_kvs_header(r, KVS_SIGN_HEADER_NODE);

    ngx_kvs_log(NGX_LOG_WARN, r->connection->log, 0,
                "kvs: refused %V %V from %V (node \"%V\"): %*s",
                &r->method_name, &r->uri, &r->connection->addr_text,
                node ? &node->value : &ngx_http_kvs_no_node,
                (size_t) (p - why), why);

    return ngx_http_kvs_error(r, status, "%*s", (size_t) (p - why), why);
}


ngx_table_elt_t *
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


/* A batch of records (src/kvs/kvs_wire.h), applied in one group commit. */

void
ngx_http_kvs_apply_body(ngx_http_request_t *r)
{
    int                   rc;
    size_t                len;
    u_char               *body;
    ngx_int_t             nrc;
    ngx_str_t             sender;
    ngx_uint_t            n;
    const char           *why;
    kvs_write_t          *w;
    const uint8_t        *p;
    kvs_wire_entry_t      e;
    ngx_http_kvs_ctx_t   *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);

    nrc = ngx_http_kvs_cluster_read(r, &body, &len, &sender);
    if (nrc != NGX_OK) {
        ngx_http_finalize_request(r, nrc);
        return;
    }

    w = ngx_pcalloc(r->pool, NGX_HTTP_KVS_APPLY_MAX * sizeof(kvs_write_t));
    if (w == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = body;
    why = NULL;

    for (n = 0; /* void */ ; n++) {

        rc = kvs_wire_next(&p, body + len, &e, &why);
        if (rc <= 0) {
            break;
        }

        if (n == NGX_HTTP_KVS_APPLY_MAX) {
            why = "too many records in one batch";
            break;
        }

        kvs_store_remote(&w[n], &e);
    }

    if (why != NULL) {
        ngx_http_finalize_request(r,
            ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                               "the batch from \"%V\" is refused: %s",
                               &sender, why));
        return;
    }

    ctx->peer = sender;

    if (n == 0) {
        ngx_http_finalize_request(r, ngx_http_kvs_apply_written(r, ctx));
        return;
    }

    ctx->writes = w;
    ctx->nwrites = n;
    ctx->written = ngx_http_kvs_apply_written;

    nrc = ngx_http_kvs_write_enqueue(r, ctx);
    if (nrc != NGX_OK) {
        ngx_http_finalize_request(r, nrc);
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
            ngx_kvs_log(NGX_LOG_NOTICE, r->connection->log, 0,
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

    ngx_kvs_debug(r->connection->log, "kvs: a batch from \"%V\": %ui "
                  "applied, %ui stale, %ui conflicts, %ui invalid, %ui full",
                  &ctx->peer, applied, stale, conflicts, invalid, full);

    if (invalid) {
        ngx_http_kvs_refused(ngx_http_get_module_main_conf(r,
                                                   ngx_http_kvs_module),
                             r->connection->log, &ctx->peer, ctx->writes,
                             ctx->nwrites);
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

    nrc = ngx_http_kvs_cluster_verify(r, (u_char *) "", 0, &sender);
    if (nrc != NGX_OK) {
        return nrc;
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    nrc = ngx_http_kvs_read_begin(r);
    if (nrc != NGX_OK) {
        return nrc;
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
        return ngx_http_kvs_unreadable(r, "the Merkle tree cannot be read");
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


/*
 * Records a peer sent that this build could not have written are refused
 * one by one (kvs_wire_check) and logged with the peer's name: the first
 * of a batch, and how many there were.  A broken peer may send thousands a
 * second, so each peer is logged at most once a minute by all the node's
 * processes together, through the shared zone.
 */

void
ngx_http_kvs_refused(ngx_http_kvs_main_conf_t *kmcf, ngx_log_t *log,
    ngx_str_t *peer, kvs_write_t *w, ngx_uint_t n)
{
    ngx_uint_t               i, invalid;
    kvs_write_t             *first;
    ngx_http_kvs_shared_t   *sh;

    first = NULL;
    invalid = 0;

    for (i = 0; i < n; i++) {
        if (w[i].rc == KVS_INVALID) {
            invalid++;

            if (first == NULL) {
                first = &w[i];
            }
        }
    }

    if (first == NULL) {
        return;
    }

    sh = kmcf->shm ? kmcf->shm->data : NULL;

    if (sh && !ngx_http_kvs_once_a_minute(kmcf, sh->refusals, peer)) {
        ngx_kvs_debug(log, "kvs: %ui records from \"%V\" refused, not "
                      "logged again within a minute: %s",
                      invalid, peer, first->why);
        return;
    }

    ngx_kvs_log(NGX_LOG_WARN, log, 0,
                "kvs: refused a record of \"%*s\" from \"%V\": %s "
                "(%ui of %ui records refused; this peer's refusals are "
                "logged at most once a minute)",
                first->path_len, first->path, peer,
                first->why ? first->why : "it is invalid", invalid, n);
}


/*
 * Whether something of a peer may be logged now: at most once a minute per
 * peer, by all the node's processes together, through slots of the shared
 * zone kept by the hash of the peer's name (two peers of one slot share
 * its minute).
 */

ngx_uint_t
ngx_http_kvs_once_a_minute(ngx_http_kvs_main_conf_t *kmcf,
    ngx_http_kvs_refusal_t *slots, ngx_str_t *peer)
{
    uint32_t                 hash;
    ngx_atomic_uint_t        last, now;
    ngx_http_kvs_refusal_t  *slot;

    (void) kmcf;

    hash = ngx_crc32_short(peer->data, peer->len);
    slot = &slots[hash % NGX_HTTP_KVS_REFUSAL_SLOTS];
    now = (ngx_atomic_uint_t) ngx_time();
    last = slot->logged;

    if ((slot->peer == hash && now < last + 60)
        || !ngx_atomic_cmp_set(&slot->logged, last, now))
    {
        return 0;
    }

    slot->peer = hash;

    return 1;
}


/*
 * A member that gossips, or joins, says what its auth settings are; one
 * whose settings differ from this node's (auth on or off, the secrets of
 * jwt_secret_file) would refuse this node's tokens, or take tokens this
 * node refuses: both sides log it, at most once a minute per peer.
 */

static void
ngx_http_kvs_cluster_auth(ngx_http_request_t *r,
    ngx_http_kvs_main_conf_t *kmcf, ngx_str_t *sender)
{
    ngx_str_t               theirs;
    ngx_table_elt_t        *h;
    ngx_http_kvs_shared_t  *sh;

    h = ngx_http_kvs_header(r, NGX_HTTP_KVS_AUTH_HEADER);

    if (h != NULL) {
        theirs = h->value;

    } else {
        ngx_str_set(&theirs, "unknown");
    }

    if (theirs.len == kmcf->auth_fingerprint.len
        && ngx_strncmp(theirs.data, kmcf->auth_fingerprint.data,
                       theirs.len) == 0)
    {
        return;
    }

    sh = kmcf->shm ? kmcf->shm->data : NULL;

    if (sh && !ngx_http_kvs_once_a_minute(kmcf, sh->auth, sender)) {
        return;
    }

    ngx_kvs_log(NGX_LOG_WARN, r->connection->log, 0,
                "kvs: node \"%V\" has other auth settings than this node "
                "(\"%V\", here \"%V\": auth_enabled, and the key ids of "
                "jwt_secret_file's secrets): tokens of one are refused by "
                "the other; give every node the same settings",
                sender, &theirs, &kmcf->auth_fingerprint);
}
