/*
 * /members/ and /health: what this node knows of the cluster, read from the
 * "members" database that the master (and later the cluster agent) keeps.
 * This node is always a member of its own list, seen now.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"


typedef struct {
    ngx_http_request_t  *request;
    ngx_chain_t         *out;
    ngx_chain_t        **last;
    size_t               len;
    ngx_uint_t           count;
    ngx_uint_t           alive;
    uint64_t             now;
} ngx_http_kvs_members_t;


static int ngx_http_kvs_member_json(const kvs_member_t *m, void *data);
static ngx_int_t ngx_http_kvs_members_read(ngx_http_request_t *r,
    ngx_http_kvs_members_t *ms);


static ngx_int_t
ngx_http_kvs_get_only(ngx_http_request_t *r)
{
    ngx_table_elt_t  *allow;

    if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        return ngx_http_discard_request_body(r) == NGX_OK
               ? NGX_OK : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    allow = ngx_list_push(&r->headers_out.headers);
    if (allow == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    allow->hash = 1;
    ngx_str_set(&allow->key, "Allow");
    ngx_str_set(&allow->value, "GET, HEAD");

    return ngx_http_kvs_error(r, NGX_HTTP_NOT_ALLOWED,
                              "the method %V is not allowed on \"%V\"; use "
                              "GET", &r->method_name, &r->uri);
}


ngx_int_t
ngx_http_kvs_members_handler(ngx_http_request_t *r)
{
    u_char                  *p, *body;
    ngx_int_t                rc;
    ngx_chain_t             *cl;
    ngx_http_kvs_members_t   ms;

    rc = ngx_http_kvs_get_only(r);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_kvs_members_read(r, &ms);
    if (rc != NGX_OK) {
        return rc;
    }

    /* one contiguous body: "[" members joined by "," "]\n" */

    body = ngx_pnalloc(r->pool, ms.len + ms.count + 3);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = body;
    *p++ = '[';

    for (cl = ms.out; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
        if (cl->next) {
            *p++ = ',';
        }
    }

    *p++ = ']';
    *p++ = '\n';

    return ngx_http_kvs_send(r, NGX_HTTP_OK, body, p - body);
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

    rc = ngx_http_kvs_members_read(r, &ms);
    if (rc != NGX_OK) {
        return rc;
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    mode = kmcf->kc.read_only ? "read-only" : "normal";
    len = ngx_strlen(kmcf->kc.node_id);

    body = ngx_pnalloc(r->pool,
                       sizeof("{\"status\":\"ok\",\"mode\":\"\","
                              "\"member_count\":,\"node_id\":\"\"}\n")
                       + sizeof("read-only") + NGX_INT_T_LEN
                       + len + ngx_escape_json(NULL,
                                               (u_char *) kmcf->kc.node_id,
                                               len));
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"status\":\"ok\",\"mode\":\"%s\","
                    "\"member_count\":%ui,\"node_id\":\"", mode, ms.alive);
    p = (u_char *) ngx_escape_json(p, (u_char *) kmcf->kc.node_id, len);
    p = ngx_cpymem(p, "\"}\n", 3);

    return ngx_http_kvs_send(r, NGX_HTTP_OK, body, p - body);
}


static ngx_int_t
ngx_http_kvs_members_read(ngx_http_request_t *r, ngx_http_kvs_members_t *ms)
{
    int   rc;
    char  err[KVS_STORE_ERRLEN];

    ngx_memzero(ms, sizeof(ngx_http_kvs_members_t));
    ms->request = r;
    ms->last = &ms->out;
    ms->now = ngx_http_kvs_now_ms();

    if (kvs_store_read_begin(ngx_http_kvs_store, err, sizeof(err))
        != KVS_OK)
    {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "kvs: %s", err);
        return ngx_http_kvs_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                  "the store cannot be read");
    }

    rc = kvs_store_member_each(ngx_http_kvs_store, ngx_http_kvs_member_json,
                               ms);

    kvs_store_read_end(ngx_http_kvs_store);

    if (rc != KVS_OK) {
        return ngx_http_kvs_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                  "the member list cannot be read");
    }

    return NGX_OK;
}


static int
ngx_http_kvs_member_json(const kvs_member_t *m, void *data)
{
    ngx_http_kvs_members_t *ms = data;

    u_char                    *p;
    size_t                     idlen, addrlen;
    uint64_t                   last_seen;
    ngx_buf_t                 *b;
    ngx_chain_t               *cl;
    ngx_http_request_t        *r;
    ngx_http_kvs_main_conf_t  *kmcf;

    r = ms->request;
    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    last_seen = m->last_seen;

    if (ngx_strcmp(m->node_id, kmcf->kc.node_id) == 0) {
        last_seen = ms->now;
    }

    idlen = ngx_strlen(m->node_id);
    addrlen = ngx_strlen(m->address);

    b = ngx_create_temp_buf(r->pool,
            sizeof("{\"id\":\"\",\"address\":\"\",\"last_seen\":,"
                   "\"joined_timestamp\":,\"state\":\"failed\"}")
            + 2 * NGX_INT64_LEN
            + idlen + ngx_escape_json(NULL, (u_char *) m->node_id, idlen)
            + addrlen + ngx_escape_json(NULL, (u_char *) m->address, addrlen));
    cl = ngx_alloc_chain_link(r->pool);

    if (b == NULL || cl == NULL) {
        return KVS_ERROR;
    }

    p = ngx_cpymem(b->last, "{\"id\":\"", sizeof("{\"id\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, (u_char *) m->node_id, idlen);
    p = ngx_cpymem(p, "\",\"address\":\"", sizeof("\",\"address\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, (u_char *) m->address, addrlen);
    p = ngx_sprintf(p, "\",\"last_seen\":%uL,\"joined_timestamp\":%uL,"
                    "\"state\":\"%s\"}",
                    last_seen, m->joined_timestamp,
                    m->state == KVS_MEMBER_ALIVE ? "alive" : "failed");
    b->last = p;

    cl->buf = b;
    cl->next = NULL;
    *ms->last = cl;
    ms->last = &cl->next;

    ms->len += b->last - b->pos;
    ms->count++;

    if (m->state == KVS_MEMBER_ALIVE) {
        ms->alive++;
    }

    return KVS_OK;
}
