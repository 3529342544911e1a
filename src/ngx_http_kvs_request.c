/*
 * What every handler of ngx_http_kvs_module shares: the routing of a
 * request to its endpoint by the endpoint's name, the query parameters of
 * /kv/ as a table (a name, the requests that take it, its parser), the
 * request context, the JSON errors, the body in one piece, the answer, and
 * the one way a handler begins a read of the store.
 *
 * The routing is a table as nginx's directives are: an internal endpoint
 * carries what its handler needs before it reads a byte of the body (the
 * reader of the body, which limit the body has, whether the caller must be
 * a member), so that no handler tells endpoints apart by a character or a
 * length of the URI.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "kvs_record.h"


/* ?ttl= at most: 100 years, as default_ttl */
#define NGX_HTTP_KVS_TTL_MAX  3153600000LL

/* a hexadecimal digit, as a percent-escape takes two */
#define ngx_http_kvs_hex(c)                                                   \
    (((c) >= '0' && (c) <= '9')                                               \
     || (((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'f'))


/* the requests of /kv/ a query parameter may come with */
#define NGX_HTTP_KVS_ON_GET      0x01     /* GET or HEAD of a key */
#define NGX_HTTP_KVS_ON_PUT      0x02
#define NGX_HTTP_KVS_ON_DELETE   0x04
#define NGX_HTTP_KVS_ON_LIST     0x08     /* GET or HEAD of a prefix */
#define NGX_HTTP_KVS_ON_AUDIT    0x10     /* GET of /api/audit */
#define NGX_HTTP_KVS_ON_PAGE     0x20     /* GET of /api/users, /api/groups */


typedef ngx_int_t (*ngx_http_kvs_param_pt)(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value, void *field);

/* a query parameter: its name, where it is taken, how it is read, where */
typedef struct {
    ngx_str_t                name;
    ngx_uint_t               on;          /* NGX_HTTP_KVS_ON_* */
    ngx_uint_t               exclusive;   /* one of meta, revisions,
                                             revision */
    ngx_http_kvs_param_pt    parse;
    size_t                   offset;      /* its field of the params */
} ngx_http_kvs_param_t;

/* a request of /kv/, as the error naming its parameters calls it */
typedef struct {
    ngx_uint_t               on;
    const char              *name;
} ngx_http_kvs_param_on_t;


static ngx_int_t ngx_http_kvs_param_decode(ngx_http_request_t *r,
    ngx_str_t *s);
static ngx_int_t ngx_http_kvs_param_unknown(ngx_http_request_t *r,
    ngx_str_t *name, ngx_uint_t on);
static ngx_int_t ngx_http_kvs_param_flag(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value, void *field);
static ngx_int_t ngx_http_kvs_param_revision(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value, void *field);
static ngx_int_t ngx_http_kvs_param_limit(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value, void *field);
static ngx_int_t ngx_http_kvs_param_after(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value, void *field);
static ngx_int_t ngx_http_kvs_param_recursive(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value, void *field);
static ngx_int_t ngx_http_kvs_param_ttl(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value, void *field);
static ngx_int_t ngx_http_kvs_param_since(ngx_http_request_t *r,
    ngx_str_t *name, ngx_str_t *value, void *field);
static ngx_int_t ngx_http_kvs_verror(ngx_http_request_t *r,
    ngx_uint_t status, const char *fmt, va_list args);


static ngx_http_kvs_route_t  ngx_http_kvs_routes[] = {

    { ngx_string("/kv/"), NGX_HTTP_KVS_PREFIX|NGX_HTTP_KVS_QUERY,
      ngx_http_kvs_data_handler, NULL },

    { ngx_string("/members/"), 0,
      ngx_http_kvs_members_handler, NULL },

    { ngx_string("/members"), 0,
      ngx_http_kvs_members_handler, NULL },

    /* a load balancer's probe: never rate-limited, and a query string
     * its checks may add is no error */
    { ngx_string("/health"),
      NGX_HTTP_KVS_OPEN|NGX_HTTP_KVS_UNLIMITED|NGX_HTTP_KVS_ANY_QUERY,
      ngx_http_kvs_health_handler, NULL },

    { ngx_string("/api/login"), NGX_HTTP_KVS_OPEN,
      ngx_http_kvs_login_handler, NULL },

    { ngx_string("/api/logout"), 0,
      ngx_http_kvs_logout_handler, NULL },

    { ngx_string("/api/users"), NGX_HTTP_KVS_QUERY_GET,
      ngx_http_kvs_users_handler, NULL },

    { ngx_string("/api/users/"), NGX_HTTP_KVS_PREFIX,
      ngx_http_kvs_users_handler, NULL },

    { ngx_string("/api/groups"), NGX_HTTP_KVS_QUERY_GET,
      ngx_http_kvs_groups_handler, NULL },

    { ngx_string("/api/groups/"), NGX_HTTP_KVS_PREFIX,
      ngx_http_kvs_groups_handler, NULL },

    { ngx_string("/api/audit"), NGX_HTTP_KVS_QUERY_GET,
      ngx_http_kvs_audit_handler, NULL },

    { ngx_string("/api/audit/verify"), 0,
      ngx_http_kvs_audit_handler, NULL },

    { ngx_string("/api/backup"), 0,
      ngx_http_kvs_backup_handler, NULL },

    { ngx_string("/api/backup/status"), 0,
      ngx_http_kvs_backup_handler, NULL },

    { ngx_string("/members/join"),
      NGX_HTTP_KVS_INTERNAL|NGX_HTTP_KVS_MEMBER_LIST,
      ngx_http_kvs_cluster_handler, ngx_http_kvs_cluster_body },

    { ngx_string("/members/gossip"),
      NGX_HTTP_KVS_INTERNAL|NGX_HTTP_KVS_MEMBER_LIST,
      ngx_http_kvs_cluster_handler, ngx_http_kvs_cluster_body },

    { ngx_string("/members/leave"),
      NGX_HTTP_KVS_INTERNAL|NGX_HTTP_KVS_MEMBER_LIST|NGX_HTTP_KVS_LEAVE,
      ngx_http_kvs_cluster_handler, ngx_http_kvs_cluster_body },

    { ngx_string("/_cluster/digest"), NGX_HTTP_KVS_INTERNAL,
      ngx_http_kvs_digest_handler, NULL },

    { ngx_string("/_cluster/apply"), NGX_HTTP_KVS_INTERNAL,
      ngx_http_kvs_cluster_handler, ngx_http_kvs_apply_body },

    { ngx_string("/_cluster/ranges"), NGX_HTTP_KVS_INTERNAL,
      ngx_http_kvs_cluster_handler, ngx_http_kvs_ranges_body },

    { ngx_string("/_cluster/buckets"), NGX_HTTP_KVS_INTERNAL,
      ngx_http_kvs_cluster_handler, ngx_http_kvs_buckets_body },

    { ngx_string("/_cluster/keys"), NGX_HTTP_KVS_INTERNAL,
      ngx_http_kvs_cluster_handler, ngx_http_kvs_keys_body },

    { ngx_string("/_cluster/fetch"), NGX_HTTP_KVS_INTERNAL,
      ngx_http_kvs_cluster_handler, ngx_http_kvs_fetch_body },

    /* the rest of /_cluster/ is not found where the internal API is */

    { ngx_string("/_cluster/"), NGX_HTTP_KVS_PREFIX|NGX_HTTP_KVS_INTERNAL,
      NULL, NULL }
};


static ngx_http_kvs_param_t  ngx_http_kvs_params_table[] = {

    { ngx_string("meta"), NGX_HTTP_KVS_ON_GET|NGX_HTTP_KVS_ON_PUT, 1,
      ngx_http_kvs_param_flag,
      offsetof(ngx_http_kvs_params_t, meta) },

    { ngx_string("revisions"), NGX_HTTP_KVS_ON_GET, 1,
      ngx_http_kvs_param_flag,
      offsetof(ngx_http_kvs_params_t, revisions) },

    { ngx_string("revision"), NGX_HTTP_KVS_ON_GET, 1,
      ngx_http_kvs_param_revision,
      offsetof(ngx_http_kvs_params_t, revision) },

    { ngx_string("limit"),
      NGX_HTTP_KVS_ON_LIST|NGX_HTTP_KVS_ON_AUDIT|NGX_HTTP_KVS_ON_PAGE, 0,
      ngx_http_kvs_param_limit,
      offsetof(ngx_http_kvs_params_t, limit) },

    { ngx_string("after"),
      NGX_HTTP_KVS_ON_LIST|NGX_HTTP_KVS_ON_AUDIT|NGX_HTTP_KVS_ON_PAGE, 0,
      ngx_http_kvs_param_after,
      offsetof(ngx_http_kvs_params_t, after) },

    { ngx_string("recursive"), NGX_HTTP_KVS_ON_LIST, 0,
      ngx_http_kvs_param_recursive,
      offsetof(ngx_http_kvs_params_t, recursive) },

    { ngx_string("ttl"), NGX_HTTP_KVS_ON_PUT, 0,
      ngx_http_kvs_param_ttl,
      offsetof(ngx_http_kvs_params_t, ttl) },

    { ngx_string("since"), NGX_HTTP_KVS_ON_AUDIT, 0,
      ngx_http_kvs_param_since,
      offsetof(ngx_http_kvs_params_t, since) },

    { ngx_null_string, 0, 0, NULL, 0 }
};


static ngx_http_kvs_param_on_t  ngx_http_kvs_param_ons[] = {
    { NGX_HTTP_KVS_ON_GET, "a GET's" },
    { NGX_HTTP_KVS_ON_PUT, "a PUT's" },
    { NGX_HTTP_KVS_ON_DELETE, "a DELETE's" },
    { NGX_HTTP_KVS_ON_LIST, "a listing's" },
    { NGX_HTTP_KVS_ON_AUDIT, "the audit log's" },
    { NGX_HTTP_KVS_ON_PAGE, "the user and group pages'" },
    { 0, "this request's" }
};


/*
 * The content handler of kvs_api and kvs_cluster_api locations: the
 * endpoint of that name, if this location serves it.
 */

ngx_int_t
ngx_http_kvs_handler(ngx_http_request_t *r)
{
    ngx_int_t                  rc, limited;
    ngx_uint_t                 i, serves, internal;
    ngx_http_kvs_ctx_t        *ctx;
    ngx_http_kvs_route_t      *route;
    ngx_http_kvs_params_t      params;
    ngx_http_kvs_loc_conf_t   *klcf;
    ngx_http_kvs_main_conf_t  *kmcf;

    for (i = 0; i < sizeof(ngx_http_kvs_routes) / sizeof(ngx_http_kvs_route_t);
         i++)
    {
        route = &ngx_http_kvs_routes[i];

        if (((route->flags & NGX_HTTP_KVS_PREFIX)
             ? r->uri.len < route->path.len
             : r->uri.len != route->path.len)
            || ngx_strncmp(r->uri.data, route->path.data, route->path.len)
               != 0)
        {
            continue;
        }

        klcf = ngx_http_get_module_loc_conf(r, ngx_http_kvs_module);
        kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

        /* kvs_api serves the internal endpoints only while nothing else does */

        internal = route->flags & NGX_HTTP_KVS_INTERNAL;
        serves = internal
                 ? klcf->cluster || (klcf->api && kmcf->cluster_api == NULL)
                 : klcf->api;

        if (!serves) {
            ngx_kvs_debug(r->connection->log,
                          "kvs: \"%V\" is served by %s locations only",
                          &r->uri, internal ? "kvs_cluster_api"
                                            : "kvs_api");
            break;
        }

        if (route->handler == NULL) {
            break;
        }

        ngx_kvs_debug(r->connection->log, "kvs: %V \"%V\"",
                      &r->method_name, &route->path);

        /* the signed internal endpoints need no token */

        if (kmcf->kc.auth_enabled
            && !(route->flags & (NGX_HTTP_KVS_INTERNAL|NGX_HTTP_KVS_OPEN)))
        {
            rc = ngx_http_kvs_authenticate(r);

            if (rc != NGX_OK) {
                /* a missing or bad token counts against the address,
                 * as a guess at tokens must */

                if (kmcf->rate != NULL) {
                    limited = ngx_http_kvs_rate(r, kmcf);
                    if (limited != NGX_OK) {
                        return limited;
                    }
                }

                return rc;
            }
        }

        /* the signed internal endpoints are the cluster's own traffic */

        if (kmcf->rate != NULL
            && !(route->flags
                 & (NGX_HTTP_KVS_INTERNAL|NGX_HTTP_KVS_UNLIMITED)))
        {
            rc = ngx_http_kvs_rate(r, kmcf);
            if (rc != NGX_OK) {
                return rc;
            }
        }

        /*
         * A parameter the endpoint does not take is a 400 that names it,
         * as on /kv/, not a silent no-op (?since on /api/audit/verify
         * verified the whole log).  Peers send none.
         */

        if (r->args.len
            && !(route->flags & (NGX_HTTP_KVS_QUERY|NGX_HTTP_KVS_INTERNAL
                                 |NGX_HTTP_KVS_ANY_QUERY))
            && !((route->flags & NGX_HTTP_KVS_QUERY_GET)
                 && (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))))
        {
            return ngx_http_kvs_params(r, NGX_HTTP_KVS_PARAMS_NONE, &params);
        }

        if (route->body) {
            ctx = ngx_http_kvs_get_ctx(r);
            if (ctx == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            ctx->route = route;
        }

        return route->handler(r);
    }

    return ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND,
                              "no KVS endpoint at \"%V\"", &r->uri);
}


ngx_http_kvs_ctx_t *
ngx_http_kvs_get_ctx(ngx_http_request_t *r)
{
    ngx_http_kvs_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_kvs_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_kvs_module);
    }

    return ctx;
}


/*
 * Remembers the sentence for the JSON error and returns the status, which
 * the caller hands to nginx: nginx discards the body, closes keep-alive
 * when it must, and the header filter below writes the JSON.  The sentence
 * is formatted into twice the room its JSON may take (every byte takes at
 * least one byte of JSON), so that a sentence too long for that room is
 * cut by the header filter, between characters, and never here, where
 * ngx_vslprintf() would cut it anywhere.
 */

static ngx_int_t
ngx_http_kvs_verror(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, va_list args)
{
    u_char              *p;
    ngx_http_kvs_ctx_t  *ctx;
    u_char               buf[2 * NGX_HTTP_KVS_SENTENCE_MAX];

    ctx = ngx_http_kvs_get_ctx(r);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_vslprintf(buf, buf + sizeof(buf), fmt, args);

    ctx->error.len = p - buf;
    ctx->error.data = ngx_pnalloc(r->pool, ctx->error.len);
    if (ctx->error.data == NULL) {
        ctx->error.len = 0;
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(ctx->error.data, buf, ctx->error.len);

    /*
     * The sentence is this error's page: an "error_page" of the server,
     * there to give JSON to the errors nginx answers before it chooses a
     * location (conf-examples/), must not replace it with a generic one.
     */

    r->error_page = 1;

    return status;
}


ngx_int_t
ngx_http_kvs_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *fmt, ...)
{
    ngx_int_t  rc;
    va_list    args;

    /* every denial is audited, where it is answered */
    if (status == NGX_HTTP_FORBIDDEN) {
        ngx_http_kvs_audit_refused(r, KVS_AUDIT_DENIED, status);
    }

    va_start(args, fmt);
    rc = ngx_http_kvs_verror(r, status, fmt, args);
    va_end(args);

    return rc;
}


/* 405 with the Allow header that lists the methods the endpoint takes */

ngx_int_t
ngx_http_kvs_not_allowed(ngx_http_request_t *r, char *allow,
    const char *fmt, ...)
{
    ngx_int_t         rc;
    va_list           args;
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Allow");
    h->value.data = (u_char *) allow;
    h->value.len = ngx_strlen(allow);

    va_start(args, fmt);
    rc = ngx_http_kvs_verror(r, NGX_HTTP_NOT_ALLOWED, fmt, args);
    va_end(args);

    return rc;
}


/*
 * A parameter's name or value, percent-decoded as the key is ("?ttl=%31%30"
 * is ttl=10).  The query is split at "&" and "=" first, so %26 and %3D
 * belong to the name or value they are in.  A "%" that two hexadecimal
 * digits do not follow is refused (NGX_DECLINED) rather than guessed at.
 */

static ngx_int_t
ngx_http_kvs_param_decode(ngx_http_request_t *r, ngx_str_t *s)
{
    u_char  *p, *end, *src, *dst;

    end = s->data + s->len;

    if (ngx_strlchr(s->data, end, '%') == NULL) {
        return NGX_OK;
    }

    /* a hexadecimal digit is never a "%", so each "%" is judged alone */

    for (p = s->data; p < end; p++) {
        if (*p == '%'
            && (end - p < 3 || !ngx_http_kvs_hex(p[1])
                || !ngx_http_kvs_hex(p[2])))
        {
            return NGX_DECLINED;
        }
    }

    dst = ngx_pnalloc(r->pool, s->len);
    if (dst == NULL) {
        return NGX_ERROR;
    }

    src = s->data;
    s->data = dst;
    ngx_unescape_uri(&dst, &src, s->len, 0);
    s->len = dst - s->data;

    return NGX_OK;
}


/*
 * The query parameters of /kv/, by the table above.  Each one is checked
 * against the request it comes with, so a typo or a parameter of another
 * request is a 400 naming it, not a silent no-op.
 */

ngx_int_t
ngx_http_kvs_params(ngx_http_request_t *r, ngx_uint_t prefix,
    ngx_http_kvs_params_t *p)
{
    u_char                *a, *end, *amp, *eq;
    ngx_int_t              rc;
    ngx_str_t              name, value;
    ngx_uint_t             on, given, i;
    ngx_http_kvs_param_t  *param;

    ngx_memzero(p, sizeof(ngx_http_kvs_params_t));
    p->ttl = -1;
    p->limit = NGX_HTTP_KVS_LIST_LIMIT;
    p->recursive = 1;

    /* one bit: a request is of one kind, which names it in a 400 */

    if (prefix == NGX_HTTP_KVS_PARAMS_AUDIT) {
        /* /api/audit pages as a listing does, from ?since */
        on = NGX_HTTP_KVS_ON_AUDIT;

    } else if (prefix == NGX_HTTP_KVS_PARAMS_PAGE) {
        on = NGX_HTTP_KVS_ON_PAGE;

    } else if (prefix == NGX_HTTP_KVS_PARAMS_NONE) {
        on = 0;

    } else if (prefix) {
        on = NGX_HTTP_KVS_ON_LIST;

    } else if (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)) {
        on = NGX_HTTP_KVS_ON_GET;

    } else if (r->method == NGX_HTTP_PUT) {
        on = NGX_HTTP_KVS_ON_PUT;

    } else {
        on = NGX_HTTP_KVS_ON_DELETE;
    }

    /* without a query, args.data is NULL: no pointer is computed from it */
    if (r->args.len == 0) {
        return NGX_OK;
    }

    given = 0;
    a = r->args.data;
    end = a + r->args.len;

    for ( /* void */ ; a < end; a = amp + 1) {
        amp = ngx_strlchr(a, end, '&');
        if (amp == NULL) {
            amp = end;
        }

        if (amp == a) {
            continue;
        }

        eq = ngx_strlchr(a, amp, '=');

        name.data = a;
        name.len = (eq ? eq : amp) - a;
        value.data = eq ? eq + 1 : amp;
        value.len = eq ? (size_t) (amp - eq - 1) : 0;

        rc = ngx_http_kvs_param_decode(r, &name);

        if (rc == NGX_OK) {
            rc = ngx_http_kvs_param_decode(r, &value);
        }

        if (rc == NGX_ERROR) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (rc == NGX_DECLINED) {
            return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                      "the parameter \"%*s\" has a \"%%\" "
                                      "that two hexadecimal digits do not "
                                      "follow; send a \"%%\" as %%25",
                                      (size_t) (amp - a), a);
        }

        for (i = 0; ngx_http_kvs_params_table[i].name.len; i++) {
            param = &ngx_http_kvs_params_table[i];

            if (name.len == param->name.len
                && ngx_strncmp(name.data, param->name.data, name.len) == 0
                && (param->on & on))
            {
                break;
            }
        }

        param = &ngx_http_kvs_params_table[i];

        if (param->name.len == 0) {
            return ngx_http_kvs_param_unknown(r, &name, on);
        }

        ngx_kvs_debug(r->connection->log, "kvs: parameter \"%V\" = \"%V\"",
                      &name, &value);

        rc = param->parse(r, &name, &value, (u_char *) p + param->offset);
        if (rc != NGX_OK) {
            return rc;
        }

        if (param->exclusive) {
            if (p->meta + p->revisions + (p->revision != 0) > 1
                || (given & (1 << i)))
            {
                return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                          "the parameter \"%V\" cannot be "
                                          "given with another of meta, "
                                          "revisions and revision, or "
                                          "twice", &name);
            }

        } else if (given & (1 << i)) {
            return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                      "the parameter \"%V\" is given twice",
                                      &name);
        }

        given |= 1 << i;
    }

    return NGX_OK;
}


/* the 400 of a parameter the request does not take, naming those it does */

static ngx_int_t
ngx_http_kvs_param_unknown(ngx_http_request_t *r, ngx_str_t *name,
    ngx_uint_t on)
{
    u_char                   *p, *last;
    ngx_uint_t                i;
    ngx_http_kvs_param_on_t  *o;
    u_char                    names[NGX_MAX_ERROR_STR];

    for (o = ngx_http_kvs_param_ons; o->on && o->on != on; o++) {
        /* void */
    }

    p = names;
    last = names + sizeof(names);

    for (i = 0; ngx_http_kvs_params_table[i].name.len; i++) {
        if (ngx_http_kvs_params_table[i].on & on) {
            p = ngx_slprintf(p, last, "%s%V", p == names ? "" : ", ",
                             &ngx_http_kvs_params_table[i].name);
        }
    }

    if (p == names) {
        p = ngx_cpymem(p, "none", sizeof("none") - 1);
    }

    return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                              "the parameter \"%V\" is not one of %s: %*s",
                              name, o->name, (size_t) (p - names), names);
}


/* ?meta, ?revisions: no value */

static ngx_int_t
ngx_http_kvs_param_flag(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value, void *field)
{
    if (value->len) {
        return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                  "the parameter \"%V\" takes no value",
                                  name);
    }

    *(ngx_uint_t *) field = 1;

    return NGX_OK;
}


static ngx_int_t
ngx_http_kvs_param_revision(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value, void *field)
{
    ngx_int_t  n;

    n = ngx_atoi(value->data, value->len);

    if (n < 1) {
        return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                  "the parameter \"revision\" must be a "
                                  "whole number from 1, the newest "
                                  "version; got \"%V\"", value);
    }

    *(ngx_uint_t *) field = n;

    return NGX_OK;
}


static ngx_int_t
ngx_http_kvs_param_limit(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value, void *field)
{
    ngx_int_t  n;

    n = ngx_atoi(value->data, value->len);

    if (n < 1 || n > NGX_HTTP_KVS_LIST_MAX) {
        return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                  "the parameter \"limit\" must be a whole "
                                  "number from 1 to %d; got \"%V\"",
                                  NGX_HTTP_KVS_LIST_MAX, value);
    }

    *(ngx_uint_t *) field = n;

    return NGX_OK;
}


static ngx_int_t
ngx_http_kvs_param_after(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value, void *field)
{
    if (value->len > KVS_KEY_MAX) {
        return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                  "the parameter \"after\" is longer than a "
                                  "key can be (%d bytes)", KVS_KEY_MAX);
    }

    /* an empty value is given too: its data points into the query */

    *(ngx_str_t *) field = *value;

    return NGX_OK;
}


static ngx_int_t
ngx_http_kvs_param_recursive(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value, void *field)
{
    static ngx_str_t  yes = ngx_string("true"), no = ngx_string("false");

    if (value->len == yes.len
        && ngx_strncmp(value->data, yes.data, yes.len) == 0)
    {
        *(ngx_uint_t *) field = 1;
        return NGX_OK;
    }

    if (value->len == no.len
        && ngx_strncmp(value->data, no.data, no.len) == 0)
    {
        *(ngx_uint_t *) field = 0;
        return NGX_OK;
    }

    return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                              "the parameter \"recursive\" must be true or "
                              "false; got \"%V\"", value);
}


static ngx_int_t
ngx_http_kvs_param_ttl(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value, void *field)
{
    off_t  n;

    n = ngx_atoof(value->data, value->len);

    if (n == NGX_ERROR || n > NGX_HTTP_KVS_TTL_MAX) {
        return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                  "the parameter \"ttl\" must be a whole "
                                  "number of seconds from 0 (no expiry) to "
                                  "%L; got \"%V\"", NGX_HTTP_KVS_TTL_MAX,
                                  value);
    }

    *(int64_t *) field = n;

    return NGX_OK;
}


/* ?since=<ms> of /api/audit: entries from that millisecond on */

static ngx_int_t
ngx_http_kvs_param_since(ngx_http_request_t *r, ngx_str_t *name,
    ngx_str_t *value, void *field)
{
    off_t  n;

    n = ngx_atoof(value->data, value->len);

    if (n == NGX_ERROR) {
        return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                  "the parameter \"since\" must be a unix "
                                  "time in milliseconds; got \"%V\"", value);
    }

    *(uint64_t *) field = (uint64_t) n;

    return NGX_OK;
}


/*
 * Begins the read transaction of a request; a store that cannot be read
 * is logged and answered 500, the same way for every handler.
 */

ngx_int_t
ngx_http_kvs_read_begin(ngx_http_request_t *r)
{
    char  err[KVS_STORE_ERRLEN];

    if (kvs_store_read_begin(ngx_http_kvs_store, err, sizeof(err))
        != KVS_OK)
    {
        ngx_kvs_log(NGX_LOG_ERR, r->connection->log, 0, "kvs: %s", err);
        return ngx_http_kvs_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                  "the store cannot be read");
    }

    ngx_kvs_debug(r->connection->log, "kvs: read transaction begun");

    return NGX_OK;
}


/*
 * A change refused on a node that bootstraps from its peers: 503, which a
 * load balancer in front of several nodes (proxy_next_upstream) retries
 * elsewhere; "instead" says where the client should go.
 */

ngx_int_t
ngx_http_kvs_syncing_refused(ngx_http_request_t *r, const char *instead)
{
    return ngx_http_kvs_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                              "this node is syncing from its peers; %s",
                              instead);
}


/* Retry-After: a 503 that passes, as a syncing node's or a user's not
 * arrived yet, says when to come back */

ngx_int_t
ngx_http_kvs_retry_after(ngx_http_request_t *r, time_t s)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->value.data = ngx_pnalloc(r->pool, NGX_TIME_T_LEN);
    if (h->value.data == NULL) {
        h->hash = 0;
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Retry-After");
    h->value.len = ngx_sprintf(h->value.data, "%T", s) - h->value.data;

    return NGX_OK;
}


/*
 * A read of the store failed: the log gets the store's sentence (what was
 * read, where, LMDB's reason), the client only what could not be read.
 * Called after kvs_store_read_end(), which keeps the sentence.
 */

ngx_int_t
ngx_http_kvs_unreadable(ngx_http_request_t *r, const char *what)
{
    const char  *why;

    why = kvs_store_error(ngx_http_kvs_store);

    ngx_kvs_log(NGX_LOG_ERR, r->connection->log, 0,
                "kvs: %s: %s", what, *why ? why : "out of memory");

    return ngx_http_kvs_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR, "%s", what);
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
            ngx_kvs_log(NGX_LOG_ERR, r->connection->log, 0,
                        "kvs: reading the body's temp file failed");
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p += n;
    }

    return NGX_OK;
}


/*
 * The body of a page of a paged list, {"<name>":[<items>],"next":"<next>"}
 * with "next":null when next is NULL: items are JSON (ngx_str_t), size at
 * least their bytes and a comma each.
 */

ngx_int_t
ngx_http_kvs_page_body(ngx_http_request_t *r, const char *name,
    ngx_array_t *items, size_t size, ngx_str_t *next, ngx_str_t *body)
{
    u_char      *p;
    ngx_str_t   *item;
    ngx_uint_t   i;

    body->data = ngx_pnalloc(r->pool, sizeof("{\"\":[],\"next\":\"\"}\n")
                                      + ngx_strlen(name) + size
                                      + (next ? next->len : 0));
    if (body->data == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(body->data, "{\"%s\":[", name);
    item = items->elts;

    for (i = 0; i < items->nelts; i++) {
        if (i) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, item[i].data, item[i].len);
    }

    if (next) {
        p = ngx_sprintf(p, "],\"next\":\"%V\"}\n", next);

    } else {
        p = ngx_cpymem(p, "],\"next\":null}\n",
                       sizeof("],\"next\":null}\n") - 1);
    }

    body->len = p - body->data;

    return NGX_OK;
}


ngx_int_t
ngx_http_kvs_send(ngx_http_request_t *r, ngx_uint_t status, u_char *data,
    size_t len)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_length_n = len;

    /* nginx's not_modified filter holds a GET to If-Match against the
     * answer's ETag and to If-Unmodified-Since against its Last-Modified:
     * an answer without an ETag (?meta, ?revisions, a listing) has no
     * version to match, and none has a date, so neither may refuse it */

    if (r->headers_out.etag == NULL) {
        r->disable_not_modified = 1;
    }

    if (r->headers_out.last_modified_time == -1) {
        r->headers_in.if_unmodified_since = NULL;
    }

    if (len) {
        if (r->headers_out.content_type.len == 0) {
            ngx_str_set(&r->headers_out.content_type, "application/json");
            r->headers_out.content_type_len = sizeof("application/json") - 1;
        }

    } else {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = data;
    b->last = data + len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}
