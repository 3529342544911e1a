/*
 * GET /kv/{prefix}/: the keys under a prefix, in key order, a page at a
 * time:
 *
 *   {"keys":["users/ann","users/bob/"],"next":"users/bob/"}
 *
 * "next" is the last entry of the page when more follow, null otherwise;
 * it goes back as ?after= for the next page.  With ?recursive=false only
 * the prefix's direct children are listed, each deeper level once with its
 * trailing "/".  The page comes from one LMDB cursor walk (see
 * kvs_store_list()), so its cost does not grow with the store.
 *
 * With auth on, a page shows only the keys the caller may read, and the
 * walk goes past the others as past dead records: they do not count
 * against ?limit, "next" is the last key shown, and a level shows only
 * when it holds a key the caller may read.  No page names another key.
 *
 * A walk passes at most NGX_HTTP_KVS_LIST_SCAN records (tombstones,
 * expired records, earlier versions) on the event loop: past them the page
 * ends early, even empty, and "next" is the last entry listed or the last
 * dead record passed that the caller could read, so a prefix whose keys
 * were deleted by the million costs each page about a millisecond until
 * their tombstones are purged.
 */

#define NGX_HTTP_KVS_LIST_SCAN  10000

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"


typedef struct {
    ngx_http_request_t  *request;
    ngx_array_t         *keys;         /* ngx_str_t, into the read txn */
    ngx_str_t            last;         /* the last entry listed */
    size_t               size;         /* bytes of the keys, escaped */
    uint64_t             now;
} ngx_http_kvs_list_t;


static int ngx_http_kvs_list_may(const kvs_record_hdr_t *hdr, void *data);
static int ngx_http_kvs_list_one(const char *path, size_t len,
    int is_prefix, void *data);
static size_t ngx_http_kvs_json_len(u_char *s, size_t len);
static u_char *ngx_http_kvs_json_str(u_char *p, u_char *s, size_t len);


ngx_int_t
ngx_http_kvs_list(ngx_http_request_t *r, ngx_str_t *prefix,
    ngx_http_kvs_params_t *params)
{
    int                   rc, more;
    u_char               *body, *p;
    ngx_str_t                 *k;
    ngx_uint_t                 i;
    kvs_list_walk_t            walk;
    ngx_http_kvs_list_t        l;
    ngx_http_kvs_main_conf_t  *kmcf;

    if (params->after.data
        && (params->after.len < prefix->len
            || ngx_strncmp(params->after.data, prefix->data, prefix->len)
               != 0))
    {
        return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                  "the parameter \"after\" must be an entry "
                                  "under \"%V\", as \"next\" gives it; got "
                                  "\"%V\"", prefix, &params->after);
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    l.keys = ngx_array_create(r->pool, 16, sizeof(ngx_str_t));
    if (l.keys == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    l.request = r;
    l.size = 0;
    l.now = ngx_http_kvs_now_ms();
    ngx_str_null(&l.last);

    rc = ngx_http_kvs_read_begin(r);
    if (rc != NGX_OK) {
        return rc;
    }

    walk.may = kmcf->kc.auth_enabled ? ngx_http_kvs_list_may : NULL;
    walk.scan = NGX_HTTP_KVS_LIST_SCAN;

    rc = kvs_store_list_may(ngx_http_kvs_store, KVS_NS_DATA,
                            (const char *) prefix->data, prefix->len,
                            (const char *) params->after.data,
                            params->after.len, params->recursive,
                            params->limit, l.now, &walk,
                            ngx_http_kvs_list_one, &l, &more);

    /* a walk stopped by its bound goes on after the dead record it
     * stopped at */

    if (rc == KVS_OK && walk.resume) {
        l.last.data = (u_char *) walk.resume;
        l.last.len = walk.resume_len;
    }

    body = NULL;
    p = NULL;

    if (rc == KVS_OK) {
        body = ngx_pnalloc(r->pool, sizeof("{\"keys\":[],\"next\":null}\n")
                                    + l.keys->nelts + 2 * l.size
                                    + ngx_http_kvs_json_len(l.last.data,
                                                            l.last.len));
    }

    if (body != NULL) {
        p = ngx_cpymem(body, "{\"keys\":[", sizeof("{\"keys\":[") - 1);

        k = l.keys->elts;

        for (i = 0; i < l.keys->nelts; i++) {
            if (i) {
                *p++ = ',';
            }

            p = ngx_http_kvs_json_str(p, k[i].data, k[i].len);
        }

        p = ngx_cpymem(p, "],\"next\":", sizeof("],\"next\":") - 1);

        if (more && l.last.len) {
            p = ngx_http_kvs_json_str(p, l.last.data, l.last.len);

        } else {
            p = ngx_cpymem(p, "null", 4);
        }

        *p++ = '}';
        *p++ = '\n';
    }

    kvs_store_read_end(ngx_http_kvs_store);

    if (rc != KVS_OK) {
        return ngx_http_kvs_unreadable(r, "the keys under this prefix "
                                          "cannot be listed");
    }

    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvs_send(r, NGX_HTTP_OK, body, p - body);
}


/* auth on: a record the caller may not read is walked past */

static int
ngx_http_kvs_list_may(const kvs_record_hdr_t *hdr, void *data)
{
    ngx_http_kvs_list_t *l = data;

    return ngx_http_kvs_may(l->request, hdr, KVS_PERM_R) != 0;
}


static int
ngx_http_kvs_list_one(const char *path, size_t len, int is_prefix,
    void *data)
{
    ngx_http_kvs_list_t *l = data;

    ngx_str_t  *k;

    /* a prefix says so by its trailing "/" */

    (void) is_prefix;

    l->last.data = (u_char *) path;
    l->last.len = len;

    k = ngx_array_push(l->keys);
    if (k == NULL) {
        return KVS_ERROR;
    }

    k->data = (u_char *) path;
    k->len = len;

    l->size += ngx_http_kvs_json_len(k->data, len);

    return KVS_OK;
}


/* Keys hold no control bytes and are UTF-8 (kvs_key_check()): only '"'
 * and '\' need escaping in a JSON string. */

static size_t
ngx_http_kvs_json_len(u_char *s, size_t len)
{
    size_t  i, n;

    n = 2 + len;

    for (i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            n++;
        }
    }

    return n;
}


static u_char *
ngx_http_kvs_json_str(u_char *p, u_char *s, size_t len)
{
    size_t  i;

    *p++ = '"';

    for (i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            *p++ = '\\';
        }

        *p++ = s[i];
    }

    *p++ = '"';

    return p;
}
