/*
 * Rate limits: every client request of a node counts against its user, or
 * against its client address when it has none (auth off, no token, a bad
 * one, a login), in a sliding window kept in a zone of shared memory,
 * "kvs_rate", so that the limit holds whichever worker a connection lands
 * on.  The window's arithmetic is kvs_rate.c's; this file keeps the
 * windows, finds a client's, and answers.
 *
 * The zone holds one node per client, all of one size, in a red-black
 * tree by the crc32 of the client's key and in a queue from the most to
 * the least recently seen.  When the slab has no room for a new client,
 * the least recently seen are forgotten, so the memory stays bounded and
 * a busy node never refuses a client for want of room: a client forgotten
 * while its window still counted starts afresh, which the log tells, at
 * most once a minute, with the size to raise.
 *
 * The zone exists only when a limit can apply: rate_limit_requests is set,
 * or auth is on (a user may have a limit of its own).  Signed internal
 * traffic and /health are never limited (ngx_http_kvs_request.c).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "kvs_rate.h"


/* a client's key: 'u' and a user's uuid, '4' or '6' and an address */
#define NGX_HTTP_KVS_RATE_KEY    (1 + 16)

/* the least recently seen clients forgotten for one new client, at most */
#define NGX_HTTP_KVS_RATE_EVICT  16

/* how often the forgetting of clients is logged, in seconds */
#define NGX_HTTP_KVS_RATE_LOG    60


typedef struct {
    ngx_rbtree_node_t            node;       /* key: crc32 of key[] */
    ngx_queue_t                  queue;      /* most recent at the head */
    kvs_rate_window_t            window;
    u_char                       len;
    u_char                       key[NGX_HTTP_KVS_RATE_KEY];
} ngx_http_kvs_rate_node_t;


typedef struct {
    ngx_rbtree_t                 rbtree;
    ngx_rbtree_node_t            sentinel;
    ngx_queue_t                  queue;
    ngx_uint_t                   evicted;    /* since last logged */
    time_t                       logged;
} ngx_http_kvs_rate_shared_t;


/* the zone's data in each process */
typedef struct {
    ngx_slab_pool_t             *shpool;
    ngx_http_kvs_rate_shared_t  *sh;
} ngx_http_kvs_rate_zone_t;


static ngx_int_t ngx_http_kvs_rate_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_kvs_rate_insert(ngx_rbtree_node_t *temp,
    ngx_rbtree_node_t *node, ngx_rbtree_node_t *sentinel);
static ngx_int_t ngx_http_kvs_rate_cmp(ngx_http_kvs_rate_node_t *a,
    ngx_rbtree_key_t hash, u_char *key, size_t len);
static ngx_http_kvs_rate_node_t *ngx_http_kvs_rate_find(
    ngx_http_kvs_rate_zone_t *zone, u_char *key, size_t len,
    ngx_uint_t *evicted);
static ngx_int_t ngx_http_kvs_rate_headers(ngx_http_request_t *r,
    kvs_rate_decision_t *d);
static ngx_int_t ngx_http_kvs_rate_header(ngx_http_request_t *r,
    const char *name, size_t len, uint64_t value, u_char *p);


static ngx_str_t  ngx_http_kvs_rate_name = ngx_string("kvs_rate");


/*
 * The zone, sized by rate_limit_zone_size, when a limit can apply: made
 * with the configuration, so that the workers a master forks share it.
 */

ngx_int_t
ngx_http_kvs_rate_conf(ngx_conf_t *cf, ngx_http_kvs_main_conf_t *kmcf)
{
    ngx_http_kvs_rate_zone_t  *zone;

    kmcf->rate = NULL;

    if (kmcf->kc.rate_limit_requests == 0 && !kmcf->kc.auth_enabled) {
        return NGX_OK;
    }

    zone = ngx_pcalloc(cf->pool, sizeof(ngx_http_kvs_rate_zone_t));
    if (zone == NULL) {
        return NGX_ERROR;
    }

    kmcf->rate = ngx_shared_memory_add(cf, &ngx_http_kvs_rate_name,
                                       kmcf->kc.rate_limit_zone_size,
                                       &ngx_http_kvs_module);
    if (kmcf->rate == NULL) {
        return NGX_ERROR;
    }

    kmcf->rate->init = ngx_http_kvs_rate_init_zone;
    kmcf->rate->data = zone;

    return NGX_OK;
}


/* A reload that keeps the size keeps the windows: they stay true. */

static ngx_int_t
ngx_http_kvs_rate_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_kvs_rate_zone_t *ozone = data;

    size_t                     len;
    ngx_http_kvs_rate_zone_t  *zone;

    zone = shm_zone->data;

    if (ozone) {
        zone->shpool = ozone->shpool;
        zone->sh = ozone->sh;
        return NGX_OK;
    }

    zone->shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        zone->sh = zone->shpool->data;
        return NGX_OK;
    }

    zone->sh = ngx_slab_alloc(zone->shpool,
                              sizeof(ngx_http_kvs_rate_shared_t));
    if (zone->sh == NULL) {
        return NGX_ERROR;
    }

    zone->shpool->data = zone->sh;

    ngx_rbtree_init(&zone->sh->rbtree, &zone->sh->sentinel,
                    ngx_http_kvs_rate_insert);
    ngx_queue_init(&zone->sh->queue);
    zone->sh->evicted = 0;
    zone->sh->logged = 0;

    len = sizeof(" in the rate-limit zone \"\"") + shm_zone->shm.name.len;

    zone->shpool->log_ctx = ngx_slab_alloc(zone->shpool, len);
    if (zone->shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(zone->shpool->log_ctx, " in the rate-limit zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full slab is no failure here: the least recently seen go */
    zone->shpool->log_nomem = 0;

    return NGX_OK;
}


/* nodes of one hash ordered by their keys, so that a lookup descends */

static ngx_int_t
ngx_http_kvs_rate_cmp(ngx_http_kvs_rate_node_t *a, ngx_rbtree_key_t hash,
    u_char *key, size_t len)
{
    if (hash != a->node.key) {
        return hash < a->node.key ? -1 : 1;
    }

    if (len != a->len) {
        return len < a->len ? -1 : 1;
    }

    return ngx_memcmp(key, a->key, len);
}


static void
ngx_http_kvs_rate_insert(ngx_rbtree_node_t *temp, ngx_rbtree_node_t *node,
    ngx_rbtree_node_t *sentinel)
{
    ngx_rbtree_node_t         **p;
    ngx_http_kvs_rate_node_t   *n;

    n = (ngx_http_kvs_rate_node_t *) node;

    for ( ;; ) {
        p = ngx_http_kvs_rate_cmp((ngx_http_kvs_rate_node_t *) temp,
                                  node->key, n->key, n->len) < 0
            ? &temp->left : &temp->right;

        if (*p == sentinel) {
            break;
        }

        temp = *p;
    }

    *p = node;
    node->parent = temp;
    node->left = sentinel;
    node->right = sentinel;
    ngx_rbt_red(node);
}


/*
 * The client's node, made when new, most recent in the queue; under the
 * zone's lock.  NULL only when forgetting others found no room either.
 */

static ngx_http_kvs_rate_node_t *
ngx_http_kvs_rate_find(ngx_http_kvs_rate_zone_t *zone, u_char *key,
    size_t len, ngx_uint_t *evicted)
{
    ngx_int_t                  rc;
    ngx_uint_t                 i;
    ngx_queue_t               *q;
    ngx_rbtree_key_t           hash;
    ngx_rbtree_node_t         *node, *sentinel;
    ngx_http_kvs_rate_node_t  *n;

    hash = ngx_crc32_short(key, len);

    node = zone->sh->rbtree.root;
    sentinel = zone->sh->rbtree.sentinel;

    while (node != sentinel) {
        n = (ngx_http_kvs_rate_node_t *) node;

        rc = ngx_http_kvs_rate_cmp(n, hash, key, len);

        if (rc == 0) {
            ngx_queue_remove(&n->queue);
            ngx_queue_insert_head(&zone->sh->queue, &n->queue);
            return n;
        }

        node = rc < 0 ? node->left : node->right;
    }

    n = NULL;

    for (i = 0; i <= NGX_HTTP_KVS_RATE_EVICT; i++) {
        n = ngx_slab_alloc_locked(zone->shpool,
                                  sizeof(ngx_http_kvs_rate_node_t));
        if (n != NULL || ngx_queue_empty(&zone->sh->queue)) {
            break;
        }

        /* all nodes are of one size: one forgotten makes room for one */

        q = ngx_queue_last(&zone->sh->queue);
        ngx_queue_remove(q);

        n = ngx_queue_data(q, ngx_http_kvs_rate_node_t, queue);
        ngx_rbtree_delete(&zone->sh->rbtree, &n->node);
        ngx_slab_free_locked(zone->shpool, n);
        n = NULL;

        zone->sh->evicted++;
        (*evicted)++;
    }

    if (n == NULL) {
        return NULL;
    }

    ngx_memzero(n, sizeof(ngx_http_kvs_rate_node_t));
    n->node.key = hash;
    n->len = (u_char) len;
    ngx_memcpy(n->key, key, len);

    ngx_rbtree_insert(&zone->sh->rbtree, &n->node);
    ngx_queue_insert_head(&zone->sh->queue, &n->queue);

    return n;
}


/*
 * A client request's turn, after authentication: NGX_OK when it may go
 * on, with the RateLimit-* headers when a limit applies to it, or the 429
 * to answer.  A user's own rate_limit overrides rate_limit_requests, and
 * 0 is none.
 */

ngx_int_t
ngx_http_kvs_rate(ngx_http_request_t *r, ngx_http_kvs_main_conf_t *kmcf)
{
    u_char                     key[NGX_HTTP_KVS_RATE_KEY];
    size_t                     len;
    time_t                     logged;
    int64_t                    limit;
    uint64_t                   now;
    ngx_uint_t                 evicted, forgotten, i;
    ngx_time_t                *tp;
    ngx_list_part_t           *part;
    ngx_table_elt_t           *h;
    struct sockaddr_in        *sin;
    ngx_http_kvs_ctx_t        *ctx;
    ngx_http_kvs_user_t       *u;
    kvs_rate_decision_t        d;
    ngx_http_kvs_rate_node_t  *n;
    ngx_http_kvs_rate_zone_t  *zone;
#if (NGX_HAVE_INET6)
    struct sockaddr_in6       *sin6;
#endif

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);
    u = ctx ? ctx->user : NULL;

    limit = kmcf->kc.rate_limit_requests;

    if (u != NULL && u->rate_limit >= 0) {
        limit = u->rate_limit;
    }

    if (limit == 0) {
        ngx_kvs_debug(r->connection->log, "kvs: no rate limit applies");
        return NGX_OK;
    }

    if (u != NULL) {
        key[0] = 'u';
        ngx_memcpy(key + 1, u->uuid, KVS_UUID_LEN);
        len = 1 + KVS_UUID_LEN;

    } else {
        /* the address set_real_ip_from and real_ip_header make it */

        switch (r->connection->sockaddr->sa_family) {

#if (NGX_HAVE_INET6)
        case AF_INET6:
            sin6 = (struct sockaddr_in6 *) r->connection->sockaddr;
            key[0] = '6';
            ngx_memcpy(key + 1, sin6->sin6_addr.s6_addr, 16);
            len = 1 + 16;
            break;
#endif

        case AF_INET:
            sin = (struct sockaddr_in *) r->connection->sockaddr;
            key[0] = '4';
            ngx_memcpy(key + 1, &sin->sin_addr.s_addr, 4);
            len = 1 + 4;
            break;

        default:
            /* a unix socket's clients are one */
            key[0] = 'x';
            len = 1;
            break;
        }
    }

    tp = ngx_timeofday();
    now = (uint64_t) tp->sec * 1000 + tp->msec;
    evicted = 0;

    zone = kmcf->rate->data;

    ngx_shmtx_lock(&zone->shpool->mutex);

    n = ngx_http_kvs_rate_find(zone, key, len, &evicted);

    if (n != NULL) {
        kvs_rate_take(&n->window, (uint64_t) kmcf->kc.rate_limit_window * 1000,
                      (uint32_t) ngx_min(limit, (int64_t) NGX_MAX_UINT32_VALUE),
                      now, &d);
    }

    forgotten = 0;
    logged = 0;

    if (zone->sh->evicted
        && tp->sec - zone->sh->logged >= NGX_HTTP_KVS_RATE_LOG)
    {
        forgotten = zone->sh->evicted;
        logged = zone->sh->logged;
        zone->sh->evicted = 0;
        zone->sh->logged = tp->sec;
    }

    ngx_shmtx_unlock(&zone->shpool->mutex);

    if (evicted) {
        ngx_kvs_debug(r->connection->log,
                      "kvs: rate limit: %ui least recently seen clients "
                      "forgotten", evicted);
    }

    if (forgotten) {
        ngx_kvs_log(NGX_LOG_INFO, r->connection->log, 0,
                    "kvs: the rate-limit zone \"%V\" is full: clients "
                    "forgotten to make room %s: %ui; each starts its "
                    "window afresh; raise rate_limit_zone_size (%uz "
                    "bytes) to keep them",
                    &ngx_http_kvs_rate_name,
                    logged ? "since the last such line" : "so far", forgotten,
                    kmcf->kc.rate_limit_zone_size);
    }

    if (n == NULL) {
        /* not even forgetting made room: let it through, but say so */
        ngx_kvs_log(NGX_LOG_ERR, r->connection->log, 0,
                    "kvs: the rate-limit zone \"%V\" has no room for a "
                    "client: the request goes unlimited; raise "
                    "rate_limit_zone_size (%uz bytes)",
                    &ngx_http_kvs_rate_name, kmcf->kc.rate_limit_zone_size);
        return NGX_OK;
    }

    if (d.admitted) {
        ngx_kvs_debug(r->connection->log,
                      "kvs: rate limit %uD of %s: %uD left, reset in %uL ms",
                      d.limit, u ? "the user" : "the address", d.remaining,
                      d.reset_ms);

        return ngx_http_kvs_rate_headers(r, &d);
    }

    ngx_kvs_debug(r->connection->log,
                  "kvs: rate limit %uD of %s reached: refused, room in %uL "
                  "ms", d.limit, u ? "the user" : "the address", d.reset_ms);

    ctx = ngx_http_kvs_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /*
     * The 429 replaces the answer of a failed authentication, the one
     * refusal made before this check: its headers (a 401's challenge, a
     * 503's Retry-After) go with it.
     */

    if (ctx->error.len) {
        part = &r->headers_out.headers.part;
        h = part->elts;

        for (i = 0; /* void */; i++) {

            if (i >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }

                part = part->next;
                h = part->elts;
                i = 0;
            }

            h[i].hash = 0;
        }
    }

    ctx->rate_limited = 1;
    ngx_http_kvs_metric_inc(KVS_M_RATE_LIMITED, 1);

    if (ngx_http_kvs_rate_headers(r, &d) != NGX_OK
        || ngx_http_kvs_retry_after(r, kvs_rate_seconds(d.reset_ms))
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvs_error(r, NGX_HTTP_TOO_MANY_REQUESTS,
                              "too many requests: the limit of %s is %uD "
                              "per %L seconds; retry in %uL seconds",
                              u ? "this user" : "this client address",
                              d.limit, kmcf->kc.rate_limit_window,
                              kvs_rate_seconds(d.reset_ms));
}


/* whether the request was refused by a rate limit (for the audit log) */

ngx_uint_t
ngx_http_kvs_rate_limited(ngx_http_request_t *r)
{
    ngx_http_kvs_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);

    return ctx != NULL && ctx->rate_limited;
}


/*
 * The IETF httpapi draft's names; Reset in seconds until room is freed.
 * Every answer under a limit carries them, so the numbers are written by
 * hand into one allocation rather than by three ngx_sprintf() calls.
 */

static ngx_int_t
ngx_http_kvs_rate_headers(ngx_http_request_t *r, kvs_rate_decision_t *d)
{
    u_char  *p;

    p = ngx_pnalloc(r->pool, 3 * NGX_INT64_LEN);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (ngx_http_kvs_rate_header(r, "RateLimit-Limit",
                                 sizeof("RateLimit-Limit") - 1, d->limit, p)
        != NGX_OK
        || ngx_http_kvs_rate_header(r, "RateLimit-Remaining",
                                    sizeof("RateLimit-Remaining") - 1,
                                    d->remaining, p + NGX_INT64_LEN)
           != NGX_OK
        || ngx_http_kvs_rate_header(r, "RateLimit-Reset",
                                    sizeof("RateLimit-Reset") - 1,
                                    kvs_rate_seconds(d->reset_ms),
                                    p + 2 * NGX_INT64_LEN)
           != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


/* a header of the name and the decimal value, written backwards from the
 * end of the NGX_INT64_LEN bytes at p */

static ngx_int_t
ngx_http_kvs_rate_header(ngx_http_request_t *r, const char *name,
    size_t len, uint64_t value, u_char *p)
{
    u_char           *q;
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    q = p + NGX_INT64_LEN;

    do {
        *--q = (u_char) ('0' + value % 10);
        value /= 10;
    } while (value);

    h->hash = 1;
    h->key.data = (u_char *) name;
    h->key.len = len;
    h->value.data = q;
    h->value.len = p + NGX_INT64_LEN - q;

    return NGX_OK;
}
