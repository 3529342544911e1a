/*
 * /members/ and /health: what this node knows of the cluster, read from the
 * "members" database that the master and the cluster agent keep and that
 * gossip merges into.  This node is always a member of its own list, seen
 * now.  Members that left are kept (so that gossip spreads the news) but
 * not shown.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "kvs_members.h"


typedef struct {
    kvs_member_t        *m;            /* NULL: counted only */
    size_t               n;
    size_t               max;           /* room in m */
    ngx_uint_t           alive;
    ngx_uint_t           with_left;
    const char          *self;
    uint64_t             now;
    uint64_t             failure;
} ngx_http_kvs_members_t;


static int ngx_http_kvs_member_add(const kvs_member_t *m, void *data);
static ngx_int_t ngx_http_kvs_members_read(ngx_http_request_t *r,
    ngx_http_kvs_members_t *ms, ngx_uint_t list);


static ngx_int_t
ngx_http_kvs_get_only(ngx_http_request_t *r)
{
    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        return ngx_http_discard_request_body(r) == NGX_OK
               ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvs_not_allowed(r, "GET, HEAD",
                                    "the method %V is not allowed on \"%V\"; "
                                    "use GET", &r->method_name, &r->uri);
}


ngx_int_t
ngx_http_kvs_members_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_kvs_get_only(r);
    if (rc != NGX_OK) {
        return rc;
    }

    return ngx_http_kvs_members_answer(r, 0);
}


/* the list as JSON; with_left for peers, who must learn who left */

ngx_int_t
ngx_http_kvs_members_answer(ngx_http_request_t *r, ngx_uint_t with_left)
{
    u_char                  *body;
    size_t                   len;
    ngx_int_t                rc;
    ngx_http_kvs_members_t   ms;

    ms.with_left = with_left;

    rc = ngx_http_kvs_members_read(r, &ms, 1);
    if (rc != NGX_OK) {
        return rc;
    }

    body = ngx_pnalloc(r->pool, kvs_members_encode_size(ms.m, ms.n) + 1);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    len = kvs_members_encode(ms.m, ms.n, (char *) body);
    body[len++] = '\n';

    return ngx_http_kvs_send(r, NGX_HTTP_OK, body, len);
}


ngx_int_t
ngx_http_kvs_health_handler(ngx_http_request_t *r)
{
    u_char                    *body, *p;
    size_t                     len;
    ngx_int_t                  rc;
    const char                *mode;
    ngx_http_kvs_members_t     ms;
    ngx_http_kvs_main_conf_t  *kmcf;

    rc = ngx_http_kvs_get_only(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ms.with_left = 0;

    rc = ngx_http_kvs_members_read(r, &ms, 0);
    if (rc != NGX_OK) {
        return rc;
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    mode = ngx_http_kvs_syncing() ? "syncing"
           : kmcf->kc.read_only ? "read-only" : "normal";
    len = kmcf->node_id.len;

    body = ngx_pnalloc(r->pool,
                       sizeof("{\"status\":\"ok\",\"mode\":\"\","
                              "\"member_count\":,\"node_id\":\"\"}\n")
                       + sizeof("read-only") + NGX_INT_T_LEN
                       + len + ngx_escape_json(NULL, kmcf->node_id.data,
                                               len));
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"status\":\"ok\",\"mode\":\"%s\","
                    "\"member_count\":%ui,\"node_id\":\"", mode, ms.alive);
    p = (u_char *) ngx_escape_json(p, kmcf->node_id.data, len);
    p = ngx_cpymem(p, "\"}\n", 3);

    return ngx_http_kvs_send(r, NGX_HTTP_OK, body, p - body);
}


/*
 * The members, in one read transaction: counted first, so that the list
 * takes the room of the members there are, not of the most there may be;
 * /health, which needs only the count, stores none (ms->m stays NULL).
 */

static ngx_int_t
ngx_http_kvs_members_read(ngx_http_request_t *r, ngx_http_kvs_members_t *ms,
    ngx_uint_t list)
{
    int                        rc;
    ngx_int_t                  status;
    ngx_http_kvs_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    ms->n = 0;
    ms->alive = 0;
    ms->m = NULL;
    ms->self = kmcf->kc.node_id;
    ms->now = ngx_http_kvs_now_ms();
    ms->failure = (uint64_t) (kmcf->kc.failure_timeout * 1000);

    status = ngx_http_kvs_read_begin(r);
    if (status != NGX_OK) {
        return status;
    }

    rc = kvs_store_member_each(ngx_http_kvs_store, ngx_http_kvs_member_add,
                               ms);

    if (rc == KVS_OK && list && ms->n) {
        ms->m = ngx_palloc(r->pool, ms->n * sizeof(kvs_member_t));

        if (ms->m == NULL) {
            kvs_store_read_end(ngx_http_kvs_store);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ms->max = ms->n;
        ms->n = 0;
        ms->alive = 0;

        rc = kvs_store_member_each(ngx_http_kvs_store,
                                   ngx_http_kvs_member_add, ms);
    }

    kvs_store_read_end(ngx_http_kvs_store);

    if (rc != KVS_OK) {
        return ngx_http_kvs_unreadable(r, "the member list cannot be read");
    }

    ngx_kvs_debug(r->connection->log, "kvs: %uz members, %ui alive",
                  ms->n, ms->alive);

    return NGX_OK;
}


static int
ngx_http_kvs_member_add(const kvs_member_t *m, void *data)
{
    ngx_http_kvs_members_t *ms = data;

    kvs_member_t  one;

    if ((ms->m && ms->n == ms->max)
        || (m->state == KVS_MEMBER_LEFT && !ms->with_left))
    {
        return KVS_OK;
    }

    one = *m;

    if (ngx_strcmp(m->node_id, ms->self) == 0) {
        one.last_seen = ms->now;
        one.state = KVS_MEMBER_ALIVE;
    }

    one.state = kvs_member_state(&one, ms->now, ms->failure);

    if (one.state == KVS_MEMBER_ALIVE) {
        ms->alive++;
    }

    if (ms->m) {
        ms->m[ms->n] = one;
    }

    ms->n++;

    return KVS_OK;
}
