/*
 * The endpoints of Merkle anti-entropy, walked top-down by a peer's agent
 * (ngx_kvs_sync.c), each a signed POST with a small binary body:
 *
 *   /_cluster/ranges              -> 256 range digests (8 bytes each, see
 *                                    KVS_MERKLE_WIRE_LEN)
 *   /_cluster/buckets  [range]    -> that range's 256 bucket digests
 *   /_cluster/keys     [bucket]   -> the bucket's keys with their versions
 *                      [bucket, key] the same, after that key
 *   /_cluster/fetch    keys       -> the records of those keys
 *
 * in the framing of src/kvs/kvs_wire.h, which writes and reads every byte
 * of a bucket, a key, a key with its version and a record.  What a peer
 * pulls is proportional to how much differs, not to the data.
 *
 * An answer is bounded like a push batch.  The records of a fetch are
 * asked for by name, so the asker asks again for those cut; a bucket's
 * keys are cut at a key, and the answer says so with "X-KVS-More: 1": the
 * asker asks for the keys after the last it was given.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "kvs_merkle.h"
#include "kvs_wire.h"


typedef struct {
    u_char       *start;
    u_char       *p;
    u_char       *end;
    ngx_pool_t   *pool;
    ngx_uint_t    more;        /* cut: more keys follow */
} ngx_http_kvs_out_t;


typedef ngx_int_t (*ngx_http_kvs_sync_pt)(ngx_http_request_t *r,
    u_char *body, size_t len, ngx_http_kvs_out_t *out);


static void ngx_http_kvs_sync_body(ngx_http_request_t *r,
    ngx_http_kvs_sync_pt answer);
static ngx_int_t ngx_http_kvs_ranges(ngx_http_request_t *r, u_char *body,
    size_t len, ngx_http_kvs_out_t *out);
static ngx_int_t ngx_http_kvs_buckets(ngx_http_request_t *r, u_char *body,
    size_t len, ngx_http_kvs_out_t *out);
static ngx_int_t ngx_http_kvs_keys(ngx_http_request_t *r, u_char *body,
    size_t len, ngx_http_kvs_out_t *out);
static ngx_int_t ngx_http_kvs_fetch(ngx_http_request_t *r, u_char *body,
    size_t len, ngx_http_kvs_out_t *out);
static void ngx_http_kvs_sync_digests(ngx_http_kvs_out_t *out,
    const uint8_t *digests);
static int ngx_http_kvs_sync_key(char ns, const char *path, size_t len,
    const kvs_version_t *v, uint8_t flags, void *data);


/* the body readers of the four endpoints, as the routes name them */

void
ngx_http_kvs_ranges_body(ngx_http_request_t *r)
{
    ngx_http_kvs_sync_body(r, ngx_http_kvs_ranges);
}


void
ngx_http_kvs_buckets_body(ngx_http_request_t *r)
{
    ngx_http_kvs_sync_body(r, ngx_http_kvs_buckets);
}


void
ngx_http_kvs_keys_body(ngx_http_request_t *r)
{
    ngx_http_kvs_sync_body(r, ngx_http_kvs_keys);
}


void
ngx_http_kvs_fetch_body(ngx_http_request_t *r)
{
    ngx_http_kvs_sync_body(r, ngx_http_kvs_fetch);
}


static void
ngx_http_kvs_sync_body(ngx_http_request_t *r, ngx_http_kvs_sync_pt answer)
{
    int                        rc;
    size_t                     len, cap;
    u_char                    *body, *buf;
    ngx_int_t                  nrc;
    ngx_str_t                  sender;
    ngx_table_elt_t           *h;
    ngx_http_kvs_out_t         out;
    ngx_http_kvs_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    nrc = ngx_http_kvs_cluster_read(r, &body, &len, &sender);
    if (nrc != NGX_OK) {
        ngx_http_finalize_request(r, nrc);
        return;
    }

    /* a node still bootstrapping is no source for another's bootstrap */

    if (ngx_http_kvs_syncing()) {
        ngx_http_finalize_request(r,
            ngx_http_kvs_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                               "this node is syncing from its peers"));
        return;
    }

    /* an answer is bounded like a push batch: what is cut, is asked again */

    cap = (size_t) ngx_http_kvs_batch_max(&kmcf->kc);

    buf = ngx_pnalloc(r->pool, cap);
    if (buf == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    out.start = buf;
    out.p = buf;
    out.end = buf + cap;
    out.pool = r->pool;
    out.more = 0;

    nrc = ngx_http_kvs_read_begin(r);
    if (nrc != NGX_OK) {
        ngx_http_finalize_request(r, nrc);
        return;
    }

    nrc = answer(r, body, len, &out);

    kvs_store_read_end(ngx_http_kvs_store);

    if (nrc != NGX_OK) {
        ngx_http_finalize_request(r, nrc);
        return;
    }

    if (out.more) {
        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "X-KVS-More");
        ngx_str_set(&h->value, "1");
    }

    ngx_str_set(&r->headers_out.content_type, "application/octet-stream");
    r->headers_out.content_type_len = sizeof("application/octet-stream") - 1;

    rc = ngx_http_kvs_send(r, NGX_HTTP_OK, out.start, out.p - out.start);
    ngx_http_finalize_request(r, rc);
}


static ngx_int_t
ngx_http_kvs_ranges(ngx_http_request_t *r, u_char *body, size_t len,
    ngx_http_kvs_out_t *out)
{
    uint8_t  digests[256 * KVS_MERKLE_DIGEST_LEN];

    if (kvs_store_merkle_ranges(ngx_http_kvs_store, digests) != KVS_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_kvs_sync_digests(out, digests);

    return NGX_OK;
}


static ngx_int_t
ngx_http_kvs_buckets(ngx_http_request_t *r, u_char *body, size_t len,
    ngx_http_kvs_out_t *out)
{
    uint8_t  digests[256 * KVS_MERKLE_DIGEST_LEN];

    if (len != 1) {
        return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                  "buckets takes one range byte");
    }

    if (kvs_store_merkle_range(ngx_http_kvs_store, body[0], digests)
        != KVS_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_kvs_sync_digests(out, digests);

    return NGX_OK;
}


static ngx_int_t
ngx_http_kvs_keys(ngx_http_request_t *r, u_char *body, size_t len,
    ngx_http_kvs_out_t *out)
{
    uint16_t           bucket;
    const char        *why;
    const uint8_t     *p;
    kvs_wire_entry_t   after;

    if (len < KVS_WIRE_BUCKET_LEN
        || kvs_wire_bucket_get(body, KVS_WIRE_BUCKET_LEN, &bucket) != 0)
    {
        return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                  "keys takes a two-byte bucket");
    }

    /* the key of the bucket to list after, if any: one, and nothing else */

    after.path = NULL;
    after.ns = 0;
    after.path_len = 0;

    if (len > KVS_WIRE_BUCKET_LEN) {
        p = body + KVS_WIRE_BUCKET_LEN;

        if (kvs_wire_key_next(&p, body + len, &after, &why) != 1) {
            return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                      "the key to list a bucket's keys "
                                      "after: %s", why);
        }

        if (p != body + len) {
            return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST,
                                      "keys takes a two-byte bucket and "
                                      "one key to list after, no more");
        }
    }

    ngx_kvs_debug(r->connection->log, "kvs: keys of bucket %ui after %*s",
                  (ngx_uint_t) bucket, after.path_len,
                  after.path ? after.path : "");

    if (kvs_store_bucket_keys_after(ngx_http_kvs_store, bucket, after.ns,
                                    after.path, after.path_len,
                                    ngx_http_kvs_sync_key, out)
        != KVS_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_kvs_fetch(ngx_http_request_t *r, u_char *body, size_t len,
    ngx_http_kvs_out_t *out)
{
    int                rc;
    const char        *why;
    const uint8_t     *p;
    kvs_wire_entry_t   e;

    p = body;

    while ((rc = kvs_wire_key_next(&p, body + len, &e, &why)) == 1) {

        if (kvs_store_record(ngx_http_kvs_store, e.ns, e.path, e.path_len,
                             &e.record, &e.record_len)
            != KVS_OK)
        {
            continue;
        }

        if ((size_t) (out->end - out->p) < kvs_wire_size(&e)) {

            /* a record larger than this node's batch goes alone: a peer
             * of a larger max_json_size wrote it, and the asker takes
             * what the protocol allows */

            if (out->p != out->start) {
                break;
            }

            out->start = ngx_pnalloc(out->pool, kvs_wire_size(&e));
            if (out->start == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            out->p = kvs_wire_put(out->start, &e);
            out->end = out->p;
            break;
        }

        out->p = kvs_wire_put(out->p, &e);
    }

    if (rc == -1) {
        return ngx_http_kvs_error(r, NGX_HTTP_BAD_REQUEST, "%s", why);
    }

    return NGX_OK;
}


/* the wire's share of 256 digests */

static void
ngx_http_kvs_sync_digests(ngx_http_kvs_out_t *out, const uint8_t *digests)
{
    ngx_uint_t  i;

    for (i = 0; i < 256; i++) {
        out->p = ngx_cpymem(out->p, digests + i * KVS_MERKLE_DIGEST_LEN,
                            KVS_MERKLE_WIRE_LEN);
    }
}


static int
ngx_http_kvs_sync_key(char ns, const char *path, size_t len,
    const kvs_version_t *v, uint8_t flags, void *data)
{
    ngx_http_kvs_out_t *out = data;

    kvs_wire_entry_t  e;

    e.ns = ns;
    e.path = path;
    e.path_len = len;
    e.version = *v;
    e.flags = flags;

    if ((size_t) (out->end - out->p) < kvs_wire_version_size(&e)) {
        out->more = 1;
        return KVS_ERROR;
    }

    out->p = kvs_wire_version_put(out->p, &e);

    return KVS_OK;
}
