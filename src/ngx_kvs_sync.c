/*
 * Merkle anti-entropy: what heals lost pushes, partitions and frozen nodes.
 *
 * Every sync_interval the agent picks one random alive peer and walks the
 * two trees top-down (ngx_http_kvs_sync.c serves the peer's side): the 256
 * range digests, then the bucket digests of the ranges that differ, then
 * the keys of the buckets that differ, and it pulls the records the peer
 * holds in a newer version (or in a tie, so that it is noted as a
 * conflict), in pages of at most 256 keys, fetch_delay_ms apart.  Records
 * are applied by the same version rules as pushed ones.  A bucket's keys
 * come in answers the peer cuts to its batch size (X-KVS-More), each asked
 * after the last key of the one before, and an answer's keys are taken
 * whole, over as many pages as they fill.
 * The peer does the same the other way on its own schedule, so both end
 * with the newer of every version.  Only one walk runs at a time; after a
 * walk that found differences, the next comes after catchup_interval.
 *
 * Bootstrap is the same walk from an empty store: a node that starts with
 * no data and seed nodes is marked "syncing" (the master does it before
 * any worker runs); it takes no external writes, and walks a peer at once,
 * pulling every record younger than bootstrap_max_age_hours, pages
 * throttle_delay_ms apart.  When a walk ends complete, the mark goes and
 * the node serves in normal mode.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "ngx_kvs_agent.h"
#include "kvs_members.h"
#include "kvs_merkle.h"
#include "kvs_wire.h"


#define NGX_KVS_SYNC_PAGE  256


typedef struct {
    ngx_kvs_agent_t     *agent;
    ngx_pool_t          *pool;           /* the walk's */
    char                 node_id[256];
    char                 address[256];
    u_char               ranges[256];    /* that differ */
    ngx_uint_t           nranges;
    ngx_uint_t           irange;
    uint16_t            *buckets;        /* that differ */
    ngx_uint_t           nbuckets;
    ngx_uint_t           ibucket;
    ngx_kvs_call_t      *keys;           /* a bucket's keys, being taken */
    const u_char        *kp;             /* its next entry */
    u_char              *again;          /* the bucket and its last key */
    size_t               again_len;
    u_char              *want;           /* keys to fetch */
    size_t               wlen;
    size_t               wcap;
    ngx_uint_t           nwant;
    ngx_uint_t           pulled;
    size_t               bytes;
    ngx_uint_t           bootstrap;
    char                 failed[256];    /* bootstrap: the peer whose walk
                                            failed last ("" when none) */
    uint64_t             oldest;         /* bootstrap: what is older stays */
    ngx_event_t          ev;             /* next walk, or next page */
    ngx_connection_t     dummy;
    void               (*next)(void);
} ngx_kvs_sync_t;


static void ngx_kvs_sync_start(ngx_event_t *ev);
static void ngx_kvs_sync_call(const char *uri, u_char *body, size_t len,
    ngx_kvs_call_handler_pt handler);
static void ngx_kvs_sync_ranges(ngx_kvs_call_t *call);
static void ngx_kvs_sync_next_range(void);
static void ngx_kvs_sync_buckets(ngx_kvs_call_t *call);
static void ngx_kvs_sync_next_bucket(void);
static void ngx_kvs_sync_keys(ngx_kvs_call_t *call);
static void ngx_kvs_sync_take(void);
static void ngx_kvs_sync_keys_again(void);
static void ngx_kvs_sync_fetch(void);
static void ngx_kvs_sync_fetched(ngx_kvs_call_t *call);
static void ngx_kvs_sync_later(ngx_event_t *ev);
static ngx_int_t ngx_kvs_sync_rest(ngx_kvs_sync_t *s, const kvs_write_t *last);
static void ngx_kvs_sync_end(const char *failure);
static ngx_msec_t ngx_kvs_sync_interval(void);
static ngx_int_t ngx_kvs_sync_ok(ngx_kvs_call_t *call, size_t len);


static ngx_kvs_sync_t  ngx_kvs_sync;


ngx_int_t
ngx_kvs_sync_init(ngx_kvs_agent_t *agent)
{
    ngx_kvs_sync_t  *s;

    s = &ngx_kvs_sync;
    ngx_memzero(s, sizeof(ngx_kvs_sync_t));

    s->agent = agent;
    s->dummy.fd = (ngx_socket_t) -1;
    s->ev.data = &s->dummy;
    s->ev.handler = ngx_kvs_sync_start;
    s->ev.log = agent->log;
    s->ev.cancelable = 1;

    s->bootstrap = ngx_http_kvs_syncing();

    ngx_add_timer(&s->ev, s->bootstrap ? 100 : ngx_kvs_sync_interval());

    return NGX_OK;
}


/* the pause before the next walk */

static ngx_msec_t
ngx_kvs_sync_interval(void)
{
    double         secs;
    kvs_config_t  *kc;

    kc = &ngx_kvs_sync.agent->kmcf->kc;
    secs = kc->sync_interval;

    /* a bootstrap that failed tries again, soon, maybe with another peer */

    if (ngx_kvs_sync.bootstrap) {
        return 500;
    }

    /* behind: differences just found */

    if (ngx_kvs_sync.nranges && kc->catchup_interval < secs) {
        secs = kc->catchup_interval;
    }

    return ngx_kvs_agent_msec(secs);
}


static void
ngx_kvs_sync_start(ngx_event_t *ev)
{
    size_t            i, alive[NGX_KVS_AGENT_PEERS_MAX], nalive;
    uint64_t          now;
    kvs_member_t     *m;
    kvs_config_t     *kc;
    ngx_kvs_sync_t   *s;
    ngx_kvs_agent_t  *agent;
    kvs_wire_entry_t  e;

    s = &ngx_kvs_sync;
    agent = s->agent;
    kc = &agent->kmcf->kc;
    now = ngx_http_kvs_now_ms();
    nalive = 0;

    for (i = 0; i < agent->nview && nalive < NGX_KVS_AGENT_PEERS_MAX; i++) {
        m = &agent->view[i];

        if (ngx_strcmp(m->node_id, kc->node_id) != 0
            && kvs_member_state(m, now,
                                (uint64_t) (kc->failure_timeout * 1000))
               == KVS_MEMBER_ALIVE)
        {
            alive[nalive++] = i;
        }
    }

    /*
     * A bootstrap tries another peer than the one that just failed it
     * (often one bootstrapping too, which answers 503): nodes started
     * empty together would otherwise take turns on one another while a
     * peer in normal mode waits.
     */

    if (s->bootstrap && s->failed[0] && nalive > 1) {
        for (i = 0; i < nalive; i++) {
            if (ngx_strcmp(agent->view[alive[i]].node_id, s->failed) == 0) {
                alive[i] = alive[--nalive];
                break;
            }
        }
    }

    if (kc->cluster_secret == NULL || nalive == 0) {
        /* a bootstrap waits for its first peer, not for an interval */
        ngx_add_timer(ev, s->bootstrap ? 200 : ngx_kvs_sync_interval());
        return;
    }

    m = &agent->view[alive[ngx_random() % nalive]];

    ngx_kvs_debug(agent->log, "kvs sync: %s with \"%s\", one of %uz alive",
                  s->bootstrap ? "bootstrap" : "anti-entropy", m->node_id,
                  nalive);

    s->pool = ngx_create_pool(4096, agent->log);
    if (s->pool == NULL) {
        ngx_add_timer(ev, ngx_kvs_sync_interval());
        return;
    }

    s->oldest = 0;

    if (s->bootstrap) {
        s->oldest = now - (uint64_t) (kc->bootstrap_max_age_hours * 3600000);
        ngx_kvs_log(NGX_LOG_NOTICE, agent->log, 0,
                    "kvs: bootstrapping from \"%s\" (%s): records "
                    "younger than %.0f hours",
                    m->node_id, m->address, kc->bootstrap_max_age_hours);
    }

    ngx_cpystrn((u_char *) s->node_id, (u_char *) m->node_id,
                sizeof(s->node_id));
    ngx_cpystrn((u_char *) s->address, (u_char *) m->address,
                sizeof(s->address));

    s->nranges = s->irange = 0;
    s->nbuckets = s->ibucket = 0;
    s->keys = NULL;
    s->nwant = s->wlen = 0;
    s->pulled = 0;
    s->bytes = 0;
    s->wcap = 64 * 1024;
    s->want = ngx_palloc(s->pool, s->wcap);
    s->buckets = ngx_palloc(s->pool, 65536 * sizeof(uint16_t));
    e.path_len = KVS_KEY_MAX;
    s->again = ngx_palloc(s->pool,
                          KVS_WIRE_BUCKET_LEN + kvs_wire_key_size(&e));

    if (s->want == NULL || s->buckets == NULL || s->again == NULL) {
        ngx_kvs_sync_end("out of memory");
        return;
    }

    ngx_kvs_sync_call("/_cluster/ranges", (u_char *) "", 0,
                      ngx_kvs_sync_ranges);
}


static void
ngx_kvs_sync_call(const char *uri, u_char *body, size_t len,
    ngx_kvs_call_handler_pt handler)
{
    ngx_str_t        address;
    ngx_kvs_sync_t  *s;

    s = &ngx_kvs_sync;

    address.data = (u_char *) s->address;
    address.len = ngx_strlen(s->address);

    if (ngx_kvs_agent_send(s->agent, &address, uri, body, len, handler, s)
        != NGX_OK)
    {
        ngx_kvs_sync_end("cannot call the peer");
    }
}


/* a 200 with the size expected (0: any); otherwise ends the walk */

static ngx_int_t
ngx_kvs_sync_ok(ngx_kvs_call_t *call, size_t len)
{
    if (call->status != NGX_HTTP_OK) {
        ngx_kvs_sync_end(ngx_kvs_call_failure(call));
        ngx_destroy_pool(call->pool);
        return NGX_ERROR;
    }

    if (len && call->response.len != len) {
        ngx_kvs_sync_end("the answer has the wrong size");
        ngx_destroy_pool(call->pool);
        return NGX_ERROR;
    }

    ngx_kvs_sync.bytes += call->response.len;
    ngx_http_kvs_metric_inc(KVS_M_AE_BYTES, call->response.len);

    return NGX_OK;
}


/* the local digests, with a read transaction of their own */

static ngx_int_t
ngx_kvs_sync_local(ngx_int_t range, uint8_t *out)
{
    int              rc;
    char             err[KVS_STORE_ERRLEN];
    ngx_kvs_agent_t  *agent;

    agent = ngx_kvs_sync.agent;

    if (kvs_store_read_begin(agent->store, err, sizeof(err)) != KVS_OK) {
        return NGX_ERROR;
    }

    rc = range < 0 ? kvs_store_merkle_ranges(agent->store, out)
                   : kvs_store_merkle_range(agent->store, (unsigned) range,
                                            out);

    kvs_store_read_end(agent->store);

    return rc == KVS_OK ? NGX_OK : NGX_ERROR;
}


/* our i-th digest against the peer's, as the wire carries it */

static ngx_uint_t
ngx_kvs_sync_differ(const uint8_t *ours, const u_char *theirs, ngx_uint_t i)
{
    return ngx_memcmp(ours + i * KVS_MERKLE_DIGEST_LEN,
                      theirs + i * KVS_MERKLE_WIRE_LEN,
                      KVS_MERKLE_WIRE_LEN)
           != 0;
}


static void
ngx_kvs_sync_ranges(ngx_kvs_call_t *call)
{
    ngx_uint_t       i;
    ngx_kvs_sync_t  *s;
    uint8_t          ours[256 * KVS_MERKLE_DIGEST_LEN];

    s = &ngx_kvs_sync;

    if (ngx_kvs_sync_ok(call, 256 * KVS_MERKLE_WIRE_LEN) != NGX_OK) {
        return;
    }

    if (ngx_kvs_sync_local(-1, ours) != NGX_OK) {
        ngx_destroy_pool(call->pool);
        ngx_kvs_sync_end("the local tree cannot be read");
        return;
    }

    for (i = 0; i < 256; i++) {
        if (ngx_kvs_sync_differ(ours, call->response.data, i)) {
            s->ranges[s->nranges++] = (u_char) i;
        }
    }

    ngx_destroy_pool(call->pool);
    ngx_kvs_sync_next_range();
}


static void
ngx_kvs_sync_next_range(void)
{
    ngx_kvs_sync_t  *s;

    s = &ngx_kvs_sync;

    if (s->irange == s->nranges) {
        ngx_kvs_sync_next_bucket();
        return;
    }

    ngx_kvs_sync_call("/_cluster/buckets", &s->ranges[s->irange], 1,
                      ngx_kvs_sync_buckets);
}


static void
ngx_kvs_sync_buckets(ngx_kvs_call_t *call)
{
    ngx_uint_t       i, range;
    ngx_kvs_sync_t  *s;
    uint8_t          ours[256 * KVS_MERKLE_DIGEST_LEN];

    s = &ngx_kvs_sync;
    range = s->ranges[s->irange++];

    if (ngx_kvs_sync_ok(call, 256 * KVS_MERKLE_WIRE_LEN) != NGX_OK) {
        return;
    }

    if (ngx_kvs_sync_local(range, ours) != NGX_OK) {
        ngx_destroy_pool(call->pool);
        ngx_kvs_sync_end("the local tree cannot be read");
        return;
    }

    for (i = 0; i < 256; i++) {
        if (ngx_kvs_sync_differ(ours, call->response.data, i)) {
            s->buckets[s->nbuckets++] = (uint16_t) (range << 8 | i);
        }
    }

    ngx_destroy_pool(call->pool);
    ngx_kvs_sync_next_range();
}


static void
ngx_kvs_sync_next_bucket(void)
{
    ngx_kvs_sync_t  *s;
    u_char           b[KVS_WIRE_BUCKET_LEN];

    s = &ngx_kvs_sync;

    if (s->ibucket == s->nbuckets) {
        if (s->nwant) {
            s->next = NULL;
            ngx_kvs_sync_fetch();
            return;
        }

        ngx_kvs_sync_end(NULL);
        return;
    }

    kvs_wire_bucket_put(b, s->buckets[s->ibucket++]);

    ngx_kvs_sync_call("/_cluster/keys", b, KVS_WIRE_BUCKET_LEN,
                      ngx_kvs_sync_keys);
}


/* the peer's keys of a bucket: those it holds newer are wanted */

static void
ngx_kvs_sync_keys(ngx_kvs_call_t *call)
{
    ngx_kvs_sync_t  *s;

    s = &ngx_kvs_sync;

    if (ngx_kvs_sync_ok(call, 0) != NGX_OK) {
        return;
    }

    /* kept until its keys are taken: they may fill more than a page */

    s->keys = call;
    s->kp = call->response.data;

    ngx_kvs_sync_take();
}


/*
 * Takes the keys of the bucket's answer from kp on into the want list
 * until the list is full, fetches then, and comes back for the rest; then
 * asks for the bucket's keys after the last one when the peer cut its
 * answer, or goes on to the next bucket.
 */

static void
ngx_kvs_sync_take(void)
{
    int                    rc, held, full;
    char                   err[KVS_STORE_ERRLEN];
    const char            *why;
    const uint8_t         *p, *at, *end, *value;
    ngx_kvs_sync_t        *s;
    ngx_kvs_call_t        *call;
    ngx_kvs_agent_t       *agent;
    kvs_record_hdr_t       hdr;
    kvs_wire_entry_t       e, last;
    kvs_version_verdict_e  verdict;

    s = &ngx_kvs_sync;
    agent = s->agent;
    call = s->keys;

    if (kvs_store_read_begin(agent->store, err, sizeof(err)) != KVS_OK) {
        ngx_kvs_sync_end("the store cannot be read");
        return;
    }

    p = s->kp;
    end = call->response.data + call->response.len;
    full = 0;
    last.path = NULL;

    for ( ;; ) {
        at = p;

        rc = kvs_wire_version_next(&p, end, &e, &why);
        if (rc != 1) {
            break;
        }

        last = e;

        if (e.version.timestamp < s->oldest) {
            continue;
        }

        held = kvs_store_get(agent->store, e.ns, e.path, e.path_len, &hdr,
                             &value);

        /* newer there: pulled; a tie with another uuid: pulled too, so
         * that applying it notes the conflict for a vote */

        if (held == KVS_OK) {
            verdict = kvs_version_decide(&hdr.version, &e.version);

            if (verdict != KVS_VERSION_NEWER
                && verdict != KVS_VERSION_CONFLICT)
            {
                continue;
            }
        }

        if (s->wlen + kvs_wire_key_size(&e) > s->wcap) {
            /* taken after the fetch */
            p = at;
            full = 1;
            break;
        }

        s->wlen = kvs_wire_key_put(s->want + s->wlen, &e) - s->want;
        s->nwant++;
    }

    kvs_store_read_end(agent->store);

    s->kp = p;

    if (full) {
        s->next = ngx_kvs_sync_take;
        ngx_kvs_sync_fetch();
        return;
    }

    if (rc == -1) {
        ngx_kvs_log(NGX_LOG_WARN, agent->log, 0,
                    "kvs: the keys of a bucket from \"%s\" stop at a bad "
                    "one: %s", s->node_id, why);
    }

    /*
     * The answer is taken: the peer cut it at a key, the rest comes after
     * the last one.  A take after a full want list starts at the entry it
     * stopped before, so the last entry of the answer is this walk's.  An
     * answer cut with no key in it, or at a bad one, would never end.
     */

    s->again_len = 0;

    if (call->more && rc == 0 && last.path != NULL) {
        kvs_wire_bucket_put(s->again, s->buckets[s->ibucket - 1]);
        s->again_len = kvs_wire_key_put(s->again + KVS_WIRE_BUCKET_LEN, &last)
                       - s->again;
    }

    s->keys = NULL;
    ngx_destroy_pool(call->pool);

    if (s->nwant >= NGX_KVS_SYNC_PAGE || s->wlen > s->wcap / 2) {
        s->next = s->again_len ? ngx_kvs_sync_keys_again
                               : ngx_kvs_sync_next_bucket;
        ngx_kvs_sync_fetch();
        return;
    }

    if (s->again_len) {
        ngx_kvs_sync_keys_again();
        return;
    }

    ngx_kvs_sync_next_bucket();
}


static void
ngx_kvs_sync_keys_again(void)
{
    ngx_kvs_sync_t  *s;

    s = &ngx_kvs_sync;

    ngx_kvs_sync_call("/_cluster/keys", s->again, s->again_len,
                      ngx_kvs_sync_keys);
}


static void
ngx_kvs_sync_fetch(void)
{
    ngx_kvs_sync_call("/_cluster/fetch", ngx_kvs_sync.want,
                      ngx_kvs_sync.wlen, ngx_kvs_sync_fetched);
}


/* the records pulled, applied by the version rules, then a pause */

static void
ngx_kvs_sync_fetched(ngx_kvs_call_t *call)
{
    char               err[KVS_STORE_ERRLEN];
    size_t             n, i;
    ngx_str_t          peer;
    const char        *why;
    kvs_write_t       *w;
    const uint8_t     *p, *end;
    ngx_kvs_sync_t    *s;
    kvs_wire_entry_t   e;

    s = &ngx_kvs_sync;

    if (ngx_kvs_sync_ok(call, 0) != NGX_OK) {
        return;
    }

    w = ngx_pcalloc(call->pool, s->nwant * sizeof(kvs_write_t));
    if (w == NULL) {
        ngx_destroy_pool(call->pool);
        ngx_kvs_sync_end("out of memory");
        return;
    }

    p = call->response.data;
    end = p + call->response.len;
    why = NULL;

    for (n = 0; n < s->nwant; n++) {
        if (kvs_wire_next(&p, end, &e, &why) <= 0) {
            break;
        }

        kvs_store_remote(&w[n], &e);
    }

    if (why != NULL) {
        ngx_kvs_log(NGX_LOG_WARN, s->agent->log, 0,
                    "kvs: the records pulled from \"%s\" are cut at the "
                    "%uz-th: %s", s->node_id, n + 1, why);
    }

    if (n && kvs_store_write(s->agent->store, w, n, ngx_http_kvs_now_ms(),
                             err, sizeof(err))
             != KVS_OK)
    {
        ngx_destroy_pool(call->pool);
        ngx_kvs_sync_end(err);
        return;
    }

    for (i = 0; i < n; i++) {
        if (w[i].rc == KVS_OK) {
            s->pulled++;
            ngx_http_kvs_metric_inc(KVS_M_AE_RECORDS, 1);
        }
    }

    peer.data = (u_char *) s->node_id;
    peer.len = ngx_strlen(s->node_id);
    ngx_http_kvs_refused(s->agent->kmcf, s->agent->log, &peer, w, n);

    /* an answer the peer cut to its batch (a record of a larger
     * max_json_size than its own goes alone) leaves the keys after the
     * last it holds: they are asked again now, not at the next walk */

    if (why == NULL && n > 0 && n < s->nwant
        && ngx_kvs_sync_rest(s, &w[n - 1]) == NGX_OK)
    {
        ngx_destroy_pool(call->pool);
        ngx_kvs_sync_fetch();
        return;
    }

    ngx_destroy_pool(call->pool);

    s->nwant = 0;
    s->wlen = 0;

    if (s->next == NULL) {
        ngx_kvs_sync_end(NULL);
        return;
    }

    s->ev.handler = ngx_kvs_sync_later;
    ngx_add_timer(&s->ev, (ngx_msec_t) (s->bootstrap
                                        ? s->agent->kmcf->kc.throttle_delay_ms
                                        : s->agent->kmcf->kc.fetch_delay_ms)
                          + 1);
}


/*
 * Keeps in the want list the keys after the one of last, the last record
 * an answer held (the peer answers in the list's order, leaving out the
 * keys it no longer holds).  NGX_DECLINED when none is left.
 */

static ngx_int_t
ngx_kvs_sync_rest(ngx_kvs_sync_t *s, const kvs_write_t *last)
{
    int                rc;
    size_t             n;
    const char        *why;
    const uint8_t     *p, *end, *at;
    kvs_wire_entry_t   e;

    p = s->want;
    end = s->want + s->wlen;
    n = 0;

    while ((rc = kvs_wire_key_next(&p, end, &e, &why)) == 1) {
        n++;

        if (e.ns == last->ns && e.path_len == last->path_len
            && ngx_memcmp(e.path, last->path, e.path_len) == 0)
        {
            break;
        }
    }

    if (rc != 1 || p == end) {
        return NGX_DECLINED;
    }

    at = p;
    s->wlen = end - at;
    ngx_memmove(s->want, at, s->wlen);
    s->nwant -= n;

    return NGX_OK;
}


static void
ngx_kvs_sync_later(ngx_event_t *ev)
{
    ngx_kvs_sync.next();
}


static void
ngx_kvs_sync_end(const char *failure)
{
    char              err[KVS_STORE_ERRLEN];
    ngx_kvs_sync_t   *s;
    ngx_kvs_agent_t  *agent;

    s = &ngx_kvs_sync;
    agent = s->agent;

    ngx_http_kvs_metric_add(KVS_M_AE_ROUNDS,
                            failure ? KVS_RESULT_FAILED : KVS_RESULT_OK, 1);

    if (failure) {
        ngx_kvs_log(NGX_LOG_INFO, agent->log, 0,
                    "kvs: anti-entropy with \"%s\" (%s) stopped: %s",
                    s->node_id, s->address, failure);

    } else if (s->nranges) {
        ngx_kvs_log(NGX_LOG_NOTICE, agent->log, 0,
                    "kvs: anti-entropy with \"%s\": %ui ranges and %ui "
                    "buckets differed, %ui records pulled, %uz bytes",
                    s->node_id, s->nranges, s->nbuckets, s->pulled,
                    s->bytes);
    }

    if (s->bootstrap) {
        ngx_cpystrn((u_char *) s->failed,
                    (u_char *) (failure ? s->node_id : ""),
                    sizeof(s->failed));
    }

    if (failure == NULL && s->bootstrap) {
        if (kvs_store_meta_delete(agent->store, KVS_SYNCING, err,
                                  sizeof(err))
            == KVS_OK)
        {
            s->bootstrap = 0;
            ngx_kvs_log(NGX_LOG_NOTICE, agent->log, 0,
                        "kvs: bootstrap from \"%s\" done, %ui records "
                        "pulled: serving in normal mode",
                        s->node_id, s->pulled);

            ngx_http_kvs_admin_create(agent->store, agent->kmcf, agent->log);

        } else {
            ngx_kvs_log(NGX_LOG_ERR, agent->log, 0, "kvs: %s", err);
        }
    }

    if (s->keys) {
        ngx_destroy_pool(s->keys->pool);
        s->keys = NULL;
    }

    if (s->pool) {
        ngx_destroy_pool(s->pool);
        s->pool = NULL;
    }

    s->ev.handler = ngx_kvs_sync_start;

    if (s->ev.timer_set) {
        ngx_del_timer(&s->ev);
    }

    ngx_add_timer(&s->ev, ngx_kvs_sync_interval());
}
