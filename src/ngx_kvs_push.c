/*
 * Push replication: how a write on one node reaches the others within a
 * second.
 *
 * Every write, in the transaction that makes it, appends to the change
 * feed (kvs_store.c).  The agent keeps, for every alive peer, a cursor in
 * that feed: the last change the peer has acknowledged.  When a worker
 * has committed (it wakes the agent through the pipe the master made,
 * kmcf->wake), when a peer acknowledges, and every tenth of a second, it
 * sends each idle peer the records of the changes after its cursor, in
 * one signed POST /_cluster/apply of at most 512 records and about
 * max_json_size bytes, and moves the cursor when the peer answers 200.
 * A peer that fails is retried with a growing delay, up to 5 s.
 * Cursors are kept in LMDB's meta ("push:<node id>"), written at most once
 * a second, so a restarted agent resends a little rather than skipping
 * anything; the peer's version rules make a resent record a no-op.  A
 * member's cursor is born in the transaction that first records it
 * (kvs_store.c), at the feed's end: what came before is anti-entropy's and
 * bootstrap's to bring.  Once every member has a change, or a lagging one
 * is more than a million changes behind, the change leaves the feed.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "ngx_kvs_agent.h"
#include "kvs_members.h"
#include "kvs_wire.h"


#define NGX_KVS_PUSH_INTERVAL   100
#define NGX_KVS_PUSH_RETRY_MAX  5000
#define NGX_KVS_PUSH_SAVE_EVERY 1000
#define NGX_KVS_PUSH_FEED_MAX   1000000    /* changes kept for a peer that
                                              lags; anti-entropy heals more */
#define NGX_KVS_PUSH_TRIM_BATCH 10000


typedef struct {
    char                 node_id[256];
    char                 address[256];
    uint64_t             cursor;        /* acknowledged */
    uint64_t             sending;       /* the last change in flight */
    uint64_t             saved;         /* the cursor as in LMDB */
    ngx_msec_t           saved_at;
    ngx_msec_t           retry_at;
    ngx_uint_t           failures;
    ngx_uint_t           busy;
    ngx_uint_t           metric;        /* its slot of per-peer metrics */
    ngx_uint_t           nsent;         /* records in flight */
    uint64_t             sent[NGX_HTTP_KVS_APPLY_MAX];  /* their versions'
                                           timestamps, ms: the push lag
                                           runs from there to the ack */
} ngx_kvs_push_peer_t;


typedef struct {
    u_char              *buf;
    size_t               len;
    size_t               cap;
    ngx_uint_t           n;
    uint64_t             last;
    uint64_t             stamps[NGX_HTTP_KVS_APPLY_MAX];  /* the records'
                                           version timestamps, 0: none */
} ngx_kvs_push_batch_t;


static void ngx_kvs_push_tick(ngx_event_t *ev);
static ngx_int_t ngx_kvs_push_wake_init(ngx_kvs_agent_t *agent);
static void ngx_kvs_push_wake(ngx_event_t *ev);
static void ngx_kvs_push_all(ngx_kvs_agent_t *agent);
static ngx_kvs_push_peer_t *ngx_kvs_push_peer(ngx_kvs_agent_t *agent,
    kvs_member_t *m);
static void ngx_kvs_push_send(ngx_kvs_agent_t *agent,
    ngx_kvs_push_peer_t *pp);
static int ngx_kvs_push_add(uint64_t seq, char ns, const char *path,
    size_t len, const uint8_t *record, size_t record_len, void *data);
static void ngx_kvs_push_answer(ngx_kvs_call_t *call);
static void ngx_kvs_push_save(ngx_kvs_agent_t *agent,
    ngx_kvs_push_peer_t *pp);
static void ngx_kvs_push_acked(ngx_kvs_agent_t *agent,
    ngx_kvs_push_peer_t *pp);


static ngx_kvs_push_peer_t    ngx_kvs_push_peers[NGX_KVS_AGENT_PEERS_MAX];
static ngx_uint_t             ngx_kvs_push_npeers;
static ngx_kvs_push_batch_t   ngx_kvs_push_batch;
static ngx_event_t            ngx_kvs_push_ev;
static ngx_connection_t       ngx_kvs_push_dummy;


ngx_int_t
ngx_kvs_push_init(ngx_kvs_agent_t *agent)
{
    ngx_kvs_push_batch.cap =
                          (size_t) ngx_http_kvs_batch_max(&agent->kmcf->kc);
    ngx_kvs_push_batch.buf = ngx_palloc(agent->pool, ngx_kvs_push_batch.cap);

    if (ngx_kvs_push_batch.buf == NULL) {
        return NGX_ERROR;
    }

    ngx_kvs_push_npeers = 0;

    ngx_kvs_push_dummy.fd = (ngx_socket_t) -1;
    ngx_kvs_push_ev.data = &ngx_kvs_push_dummy;
    ngx_kvs_push_ev.handler = ngx_kvs_push_tick;
    ngx_kvs_push_ev.log = agent->log;
    ngx_kvs_push_ev.cancelable = 1;

    ngx_add_timer(&ngx_kvs_push_ev, NGX_KVS_PUSH_INTERVAL);

    return ngx_kvs_push_wake_init(agent);
}


/* the read end of the workers' wake-up, in the agent's event loop */

static ngx_int_t
ngx_kvs_push_wake_init(ngx_kvs_agent_t *agent)
{
    ngx_connection_t  *c;

    if (agent->kmcf->wake[0] == NGX_INVALID_FILE) {
        return NGX_OK;
    }

    c = ngx_get_connection(agent->kmcf->wake[0], agent->log);
    if (c == NULL) {
        return NGX_ERROR;
    }

    c->read->handler = ngx_kvs_push_wake;
    c->read->log = agent->log;

    /* level-triggered: a byte left unread wakes it again */
    if (ngx_add_event(c->read, NGX_READ_EVENT, 0) != NGX_OK) {
        ngx_free_connection(c);
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_kvs_push_wake(ngx_event_t *ev)
{
    u_char             buf[64];
    ssize_t            n;
    ngx_connection_t  *c;

    c = ev->data;

    do {
        n = read(c->fd, buf, sizeof(buf));
    } while (n == (ssize_t) sizeof(buf));

    ngx_kvs_debug(ev->log, "kvs push: woken by a commit");

    ngx_kvs_push_all(ngx_kvs_agent);
}


static void
ngx_kvs_push_tick(ngx_event_t *ev)
{
    ngx_kvs_push_all(ngx_kvs_agent);

    ngx_add_timer(ev, NGX_KVS_PUSH_INTERVAL);
}


/* sends every alive, idle peer what it lacks */

static void
ngx_kvs_push_all(ngx_kvs_agent_t *agent)
{
    size_t                i;
    uint64_t              now;
    kvs_member_t         *m;
    ngx_kvs_push_peer_t  *pp;

    if (agent->kmcf->kc.cluster_secret == NULL) {
        return;
    }

    now = ngx_http_kvs_now_ms();

    for (i = 0; i < agent->nview; i++) {
        m = &agent->view[i];

        if (ngx_strcmp(m->node_id, agent->kmcf->kc.node_id) == 0
            || kvs_member_state(m, now,
                                (uint64_t) (agent->kmcf->kc.failure_timeout
                                            * 1000))
               != KVS_MEMBER_ALIVE)
        {
            continue;
        }

        pp = ngx_kvs_push_peer(agent, m);

        if (pp != NULL && !pp->busy && ngx_current_msec >= pp->retry_at) {
            ngx_kvs_push_send(agent, pp);
        }
    }
}


static ngx_kvs_push_peer_t *
ngx_kvs_push_peer(ngx_kvs_agent_t *agent, kvs_member_t *m)
{
    int                   rc;
    char                  name[sizeof("push:") + 256], err[KVS_STORE_ERRLEN];
    uint64_t              cursor;
    ngx_uint_t            i;
    ngx_kvs_push_peer_t  *pp;

    for (i = 0; i < ngx_kvs_push_npeers; i++) {
        pp = &ngx_kvs_push_peers[i];

        if (ngx_strcmp(pp->node_id, m->node_id) == 0) {
            /* a peer may come back under another address */
            ngx_cpystrn((u_char *) pp->address, (u_char *) m->address,
                        sizeof(pp->address));
            return pp;
        }
    }

    /* a slot stays where it is while its call is out (the call points to
     * it): a removed member's slot is free, node_id "", and taken again */

    for (i = 0; i < ngx_kvs_push_npeers; i++) {
        if (ngx_kvs_push_peers[i].node_id[0] == '\0'
            && !ngx_kvs_push_peers[i].busy)
        {
            break;
        }
    }

    if (i == NGX_KVS_AGENT_PEERS_MAX) {
        return NULL;
    }

    ngx_snprintf((u_char *) name, sizeof(name) - 1, KVS_PUSH_CURSOR "%s%Z",
                 m->node_id);

    if (kvs_store_read_begin(agent->store, err, sizeof(err)) != KVS_OK) {
        return NULL;
    }

    rc = kvs_store_meta_get(agent->store, name, &cursor);

    if (rc == KVS_NOT_FOUND) {
        rc = kvs_store_change_seq(agent->store, &cursor);
    }

    kvs_store_read_end(agent->store);

    if (rc != KVS_OK) {
        return NULL;
    }

    pp = &ngx_kvs_push_peers[i];

    if (i == ngx_kvs_push_npeers) {
        ngx_kvs_push_npeers++;
    }

    ngx_memzero(pp, sizeof(ngx_kvs_push_peer_t));

    ngx_cpystrn((u_char *) pp->node_id, (u_char *) m->node_id,
                sizeof(pp->node_id));
    ngx_cpystrn((u_char *) pp->address, (u_char *) m->address,
                sizeof(pp->address));
    pp->cursor = cursor;
    pp->saved = cursor;
    pp->metric = ngx_http_kvs_metrics_peer(pp->node_id);

    return pp;
}


static void
ngx_kvs_push_send(ngx_kvs_agent_t *agent, ngx_kvs_push_peer_t *pp)
{
    int                    n;
    char                   err[KVS_STORE_ERRLEN];
    ngx_str_t              address;
    ngx_kvs_push_batch_t  *b;

    b = &ngx_kvs_push_batch;
    b->len = 0;
    b->n = 0;
    b->last = pp->cursor;

    if (kvs_store_read_begin(agent->store, err, sizeof(err)) != KVS_OK) {
        return;
    }

    n = kvs_store_changes(agent->store, pp->cursor, NGX_HTTP_KVS_APPLY_MAX,
                          ngx_kvs_push_add, b);

    kvs_store_read_end(agent->store);

    if (n < 0) {
        ngx_kvs_log(NGX_LOG_ERR, agent->log, 0,
                    "kvs: the change feed cannot be read");
        return;
    }

    if (b->n == 0) {
        /* changes whose keys are gone still move the cursor */
        pp->cursor = b->last;
        return;
    }

    address.data = (u_char *) pp->address;
    address.len = ngx_strlen(pp->address);

    ngx_kvs_debug(agent->log, "kvs push: %ui records to \"%s\", changes "
                  "%uL to %uL", b->n, pp->node_id, pp->cursor,
                  b->last);

    if (ngx_kvs_agent_send(agent, &address, "/_cluster/apply", b->buf,
                           b->len, ngx_kvs_push_answer, pp)
        != NGX_OK)
    {
        return;
    }

    pp->sending = b->last;
    pp->busy = 1;
    pp->nsent = b->n;
    ngx_memcpy(pp->sent, b->stamps, b->n * sizeof(uint64_t));
}


/* appends one record to the batch; stops when the batch is full */

static int
ngx_kvs_push_add(uint64_t seq, char ns, const char *path, size_t len,
    const uint8_t *record, size_t record_len, void *data)
{
    ngx_kvs_push_batch_t *b = data;

    size_t            size;
    kvs_record_hdr_t  hdr;
    kvs_wire_entry_t  e;

    e.ns = ns;
    e.path = path;
    e.path_len = len;
    e.record = record;
    e.record_len = record_len;

    size = kvs_wire_size(&e);

    if (b->n > 0 && b->len + size > b->cap / 2) {
        return KVS_ERROR;
    }

    if (b->len + size > b->cap) {
        /* larger than any peer takes: cannot be pushed, anti-entropy's */
        b->last = seq;
        return KVS_OK;
    }

    /* the store's own records: a header that does not decode is no
     * record the peer takes either, and has no lag */
    b->stamps[b->n] = (kvs_record_decode(&hdr, record, record_len) == 0)
                      ? hdr.version.timestamp : 0;

    b->len = kvs_wire_put(b->buf + b->len, &e) - b->buf;
    b->n++;
    b->last = seq;

    return KVS_OK;
}


static void
ngx_kvs_push_answer(ngx_kvs_call_t *call)
{
    ngx_uint_t            level;
    ngx_msec_t            delay;
    ngx_kvs_agent_t      *agent;
    ngx_kvs_push_peer_t  *pp;

    agent = ngx_kvs_agent;
    pp = call->data;
    pp->busy = 0;

    if (pp->node_id[0] == '\0') {
        /* its member was removed meanwhile (ngx_kvs_push_forget()), its
         * cursor with it: the answer frees the slot */
        ngx_memzero(pp, sizeof(ngx_kvs_push_peer_t));
        ngx_destroy_pool(call->pool);
        return;
    }

    if (call->status == NGX_HTTP_OK) {
        pp->cursor = pp->sending;
        pp->failures = 0;
        ngx_kvs_push_save(agent, pp);
        ngx_kvs_push_acked(agent, pp);
        ngx_destroy_pool(call->pool);

        /* what was committed while the batch was on its way goes now */
        ngx_kvs_push_send(agent, pp);
        return;

    } else {
        pp->failures++;
        delay = NGX_KVS_PUSH_INTERVAL << ngx_min(pp->failures, 6);
        pp->retry_at = ngx_current_msec
                       + ngx_min(delay, NGX_KVS_PUSH_RETRY_MAX);

        level = (pp->failures == 1) ? NGX_LOG_WARN : NGX_LOG_INFO;

        ngx_kvs_log(level, agent->log, 0,
                    "kvs: pushing changes to \"%s\" (%s) failed: %s; "
                    "retrying", pp->node_id, pp->address,
                    ngx_kvs_call_failure(call));
    }

    ngx_destroy_pool(call->pool);
}


/*
 * The peer has the batch: each record's lag, from its version's timestamp
 * to now, both on this node's clock (a record this node forwards for
 * another was stamped by that one's).  A version stamped ahead of now (an
 * overwrite after the clock stepped back) counts as no lag.
 */

static void
ngx_kvs_push_acked(ngx_kvs_agent_t *agent, ngx_kvs_push_peer_t *pp)
{
    uint64_t    now;
    ngx_uint_t  i;

    now = ngx_http_kvs_now_ms();

    for (i = 0; i < pp->nsent; i++) {
        if (pp->sent[i] != 0) {
            ngx_http_kvs_metric_observe(KVS_M_PUSH_LAG, pp->metric,
                                        now > pp->sent[i]
                                        ? (now - pp->sent[i]) * 1000 : 0);
        }
    }

    ngx_http_kvs_metric_add(KVS_M_PUSH_RECORDS, pp->metric, pp->nsent);

    ngx_kvs_debug(agent->log, "kvs push: \"%s\" acknowledged %ui records, "
                  "the oldest stamped %uL ms ago", pp->node_id, pp->nsent,
                  pp->nsent && now > pp->sent[0] ? now - pp->sent[0] : 0);
}


static void
ngx_kvs_push_save(ngx_kvs_agent_t *agent, ngx_kvs_push_peer_t *pp)
{
    char  name[sizeof("push:") + 256], err[KVS_STORE_ERRLEN];

    if (pp->cursor == pp->saved
        || ngx_current_msec - pp->saved_at < NGX_KVS_PUSH_SAVE_EVERY)
    {
        return;
    }

    ngx_snprintf((u_char *) name, sizeof(name) - 1, KVS_PUSH_CURSOR "%s%Z",
                 pp->node_id);

    if (kvs_store_meta_put(agent->store, name, pp->cursor, err, sizeof(err))
        != KVS_OK)
    {
        ngx_kvs_log(NGX_LOG_ERR, agent->log, 0, "kvs: %s", err);
        return;
    }

    pp->saved = pp->cursor;
    pp->saved_at = ngx_current_msec;
}


/* called every gossip tick: drops the changes every member has */

void
ngx_kvs_push_trim(ngx_kvs_agent_t *agent)
{
    int                   n;
    char                  name[sizeof(KVS_PUSH_CURSOR) + 256];
    char                  err[KVS_STORE_ERRLEN];
    size_t                i, j;
    uint64_t              seq, upto, cursor;
    kvs_member_t         *m;
    ngx_kvs_push_peer_t  *pp;

    if (kvs_store_read_begin(agent->store, err, sizeof(err)) != KVS_OK) {
        return;
    }

    if (kvs_store_change_seq(agent->store, &seq) != KVS_OK) {
        kvs_store_read_end(agent->store);
        return;
    }

    upto = seq;

    for (i = 0; i < agent->nview; i++) {
        m = &agent->view[i];

        if (ngx_strcmp(m->node_id, agent->kmcf->kc.node_id) == 0) {
            continue;
        }

        pp = NULL;

        for (j = 0; j < ngx_kvs_push_npeers; j++) {
            if (ngx_strcmp(ngx_kvs_push_peers[j].node_id, m->node_id) == 0) {
                pp = &ngx_kvs_push_peers[j];
                break;
            }
        }

        ngx_snprintf((u_char *) name, sizeof(name) - 1,
                     KVS_PUSH_CURSOR "%s%Z", m->node_id);

        if (pp != NULL) {
            cursor = pp->cursor;

        } else if (kvs_store_meta_get(agent->store, name, &cursor)
                   != KVS_OK)
        {
            cursor = 0;
        }

        upto = ngx_min(upto, cursor);
    }

    kvs_store_read_end(agent->store);

    if (seq - upto > NGX_KVS_PUSH_FEED_MAX) {
        upto = seq - NGX_KVS_PUSH_FEED_MAX;
    }

    /* in transactions of a bounded size, and a bounded number of them */

    for (i = 0; i < 100; i++) {
        n = kvs_store_changes_trim(agent->store, upto,
                                   NGX_KVS_PUSH_TRIM_BATCH, err, sizeof(err));
        if (n < 0) {
            ngx_kvs_log(NGX_LOG_ERR, agent->log, 0, "kvs: %s", err);
        }

        if (n < NGX_KVS_PUSH_TRIM_BATCH) {
            break;
        }
    }
}


/* a removed member's cursor goes with it */

void
ngx_kvs_push_forget(ngx_kvs_agent_t *agent, const char *node_id)
{
    char                  name[sizeof(KVS_PUSH_CURSOR) + 256];
    char                  err[KVS_STORE_ERRLEN];
    ngx_uint_t            i;
    ngx_kvs_push_peer_t  *pp;

    for (i = 0; i < ngx_kvs_push_npeers; i++) {
        pp = &ngx_kvs_push_peers[i];

        if (ngx_strcmp(pp->node_id, node_id) != 0) {
            continue;
        }

        /* the slot is freed, not filled with another: a call out for
         * another peer points to that one's slot */

        if (pp->busy) {
            pp->node_id[0] = '\0';

        } else {
            ngx_memzero(pp, sizeof(ngx_kvs_push_peer_t));
        }

        break;
    }

    ngx_snprintf((u_char *) name, sizeof(name) - 1, KVS_PUSH_CURSOR "%s%Z",
                 node_id);

    if (kvs_store_meta_delete(agent->store, name, err, sizeof(err))
        != KVS_OK)
    {
        ngx_kvs_log(NGX_LOG_ERR, agent->log, 0, "kvs: %s", err);
    }
}
