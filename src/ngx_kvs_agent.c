/*
 * The cluster agent: one per node, in nginx's helper process, which the
 * master spawns and respawns because the module registers a path with a
 * manager callback, and which "ps" shows as "nginx: kvs agent process";
 * inside the single process when master_process is off.
 *
 * It runs on timers only.  Every random(gossip_interval_min, _max) seconds
 * a tick stamps this node's own record, fails members unseen for
 * failure_timeout and removes those unseen for removal_timeout, logs what
 * changed since the last tick, and sends the member list, signed, to up to
 * three random alive peers and one failed one (to the seed nodes until one
 * has answered, and every tenth tick after), merging their answers: the
 * record seen last wins.  Removals wait removal_timeout after the agent
 * starts: until then the members' stamps are as old as the node's
 * downtime, and the failed ones are called as usual.  Calls go through the
 * non-blocking peer client, so a stalled peer never stalls the agent.  All
 * its state worth keeping is in LMDB; the helper exits without notice.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "ngx_kvs_agent.h"
#include "ngx_kvs_peer.h"
#include "kvs_members.h"
#include "kvs_sign.h"


#define NGX_KVS_AGENT_FANOUT     3

/* in touch with the cluster, a node still asks its seeds to join it every
 * this many ticks: a seed that was down longer than removal_timeout, which
 * nobody calls any more, is found again when it is back */
#define NGX_KVS_AGENT_SEED_TICKS  10

/* the TTL sweep: every second, at most this many records a transaction */
#define NGX_KVS_AGENT_SWEEP      1000
#define NGX_KVS_AGENT_SWEEP_MAX  1000

/* the room of a call's headers, but for the node's id, the fingerprint and
 * the audit heads */
#define NGX_KVS_AGENT_HEADERS_ROOM                                            \
    (sizeof("Content-Type: application/octet-stream\r\n")                    \
     + sizeof(KVS_SIGN_HEADER_NODE ": \r\n")                                 \
     + sizeof(KVS_SIGN_HEADER_DATE ": \r\n") + NGX_INT64_LEN                 \
     + sizeof(KVS_SIGN_HEADER_SIGNATURE ": \r\n") + KVS_SIGN_LEN             \
     + sizeof(KVS_SIGN_HEADER_DIGEST ": \r\n") + KVS_SIGN_DIGEST_LEN         \
     + sizeof(NGX_HTTP_KVS_AUTH_HEADER ": \r\n"))

/* the room of a gossip's audit heads: its own and each peer's, a node id
 * of up to 255 bytes, a seq and a hash each */
#define NGX_KVS_AGENT_HEADS_ROOM                                              \
    (sizeof(NGX_HTTP_KVS_AUDIT_HEADER ": \r\n")                                \
     + NGX_HTTP_KVS_AUDIT_HEADS_MAX * (KVS_AUDIT_NODE_MAX + 24                \
                                       + KVS_AUDIT_HASH_HEX))




static void ngx_kvs_agent_tick(ngx_event_t *ev);
static void ngx_kvs_agent_detect(ngx_kvs_agent_t *agent, uint64_t now);
static void ngx_kvs_agent_log_changes(ngx_kvs_agent_t *agent);
static void ngx_kvs_agent_answer(ngx_kvs_call_t *call);
static ngx_msec_t ngx_kvs_agent_interval(ngx_kvs_agent_t *agent);
static void ngx_kvs_agent_purge(ngx_kvs_agent_t *agent, uint64_t now);
static void ngx_kvs_agent_sweep(ngx_event_t *ev);
static ngx_int_t ngx_kvs_agent_peer_evict(ngx_kvs_agent_t *agent);
static ngx_kvs_call_t *ngx_kvs_agent_call(ngx_kvs_agent_t *agent,
    ngx_kvs_peer_t *peer, const char *uri, u_char *body, size_t len);


ngx_kvs_agent_t  *ngx_kvs_agent;


/*
 * The path manager nginx calls in its cache manager process, at once after
 * it starts, then when asked (hourly): the first call starts the agent,
 * which then runs on timers.  nginx's cache loader, spawned beside it when
 * a proxy_cache_path has a loader, calls path loaders only, and so runs
 * no agent: two would gossip, push and take backups twice.
 */

ngx_msec_t
ngx_kvs_agent_manager(void *data)
{
    static ngx_uint_t  started;

    if (!started) {
        started = 1;

        if (ngx_http_kvs_init_store_process((ngx_cycle_t *) ngx_cycle)
            != NGX_OK)
        {
            /* as init_process failing: the master spawns the helper anew */
            exit(2);
        }
    }

    return 3600000;
}


ngx_int_t
ngx_kvs_agent_init(ngx_cycle_t *cycle, kvs_store_t *store)
{
    ngx_msec_t                 interval;
    ngx_kvs_agent_t           *agent;
    ngx_http_kvs_main_conf_t  *kmcf;

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_kvs_module);

    agent = ngx_pcalloc(cycle->pool, sizeof(ngx_kvs_agent_t));
    if (agent == NULL) {
        return NGX_ERROR;
    }

    agent->pool = cycle->pool;
    agent->log = cycle->log;
    agent->store = store;
    agent->kmcf = kmcf;
    agent->started = ngx_current_msec;

    agent->view = ngx_pcalloc(cycle->pool,
                              2 * KVS_MEMBERS_MAX * sizeof(kvs_member_t));
    if (agent->view == NULL) {
        return NGX_ERROR;
    }

    agent->now = agent->view + KVS_MEMBERS_MAX;

    agent->dummy.fd = (ngx_socket_t) -1;
    agent->tick.data = &agent->dummy;
    agent->tick.handler = ngx_kvs_agent_tick;
    agent->tick.log = cycle->log;
    agent->tick.cancelable = 1;

    agent->sweep.data = &agent->dummy;
    agent->sweep.handler = ngx_kvs_agent_sweep;
    agent->sweep.log = cycle->log;
    agent->sweep.cancelable = 1;

#if (NGX_SSL)
    ngx_kvs_peer_ssl_init(kmcf->peer_ssl, kmcf->peer_ca_file.len != 0);
#endif

    /* peers' host names are looked up on threads of the agent's own */

    interval = ngx_kvs_agent_msec(kmcf->kc.peer_resolve_interval);

    if (ngx_kvs_resolve_init(cycle, interval) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_kvs_agent = agent;

    ngx_add_timer(&agent->tick, 1);
    ngx_add_timer(&agent->sweep, NGX_KVS_AGENT_SWEEP);

    if (ngx_kvs_push_init(agent) != NGX_OK
        || ngx_kvs_sync_init(agent) != NGX_OK
        || ngx_kvs_backup_init(agent) != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_kvs_log(NGX_LOG_INFO, cycle->log, 0,
                "kvs: cluster agent of node \"%s\" started",
                kmcf->kc.node_id);

    return NGX_OK;
}


static int
ngx_kvs_agent_collect(const kvs_member_t *m, void *data)
{
    ngx_kvs_agent_t *agent = data;

    if (agent->nnow < KVS_MEMBERS_MAX) {
        agent->now[agent->nnow++] = *m;
    }

    return KVS_OK;
}


static ngx_int_t
ngx_kvs_agent_read(ngx_kvs_agent_t *agent)
{
    int   rc;
    char  err[KVS_STORE_ERRLEN];

    agent->nnow = 0;

    if (kvs_store_read_begin(agent->store, err, sizeof(err)) != KVS_OK) {
        ngx_kvs_log(NGX_LOG_ERR, agent->log, 0, "kvs: agent: %s", err);
        return NGX_ERROR;
    }

    rc = kvs_store_member_each(agent->store, ngx_kvs_agent_collect, agent);

    kvs_store_read_end(agent->store);

    return rc == KVS_OK ? NGX_OK : NGX_ERROR;
}


static void
ngx_kvs_agent_tick(ngx_event_t *ev)
{
    char                      *p, err[KVS_STORE_ERRLEN];
    size_t                     i, len, k, alive[KVS_MEMBERS_MAX], nalive;
    size_t                     failed[KVS_MEMBERS_MAX], nfailed;
    uint64_t                   now;
    ngx_str_t                  address;
    kvs_member_t               self;
    ngx_kvs_agent_t           *agent;
    kvs_config_t              *kc;

    agent = ngx_kvs_agent;
    kc = &agent->kmcf->kc;
    now = ngx_http_kvs_now_ms();

    /*
     * nginx titles its helper "cache manager process" after init_process,
     * so the agent's first tick says what the process is instead.
     */

    if (!agent->titled && ngx_process == NGX_PROCESS_HELPER) {
        ngx_setproctitle("kvs agent process");
        agent->titled = 1;
    }

    ngx_memzero(&self, sizeof(kvs_member_t));
    ngx_cpystrn((u_char *) self.node_id, (u_char *) kc->node_id,
                sizeof(self.node_id));
    ngx_snprintf((u_char *) self.address, sizeof(self.address) - 1, "%s:%d",
                 kc->bind_address, kc->port);

    if (kvs_store_member_self(agent->store, &self, now, err, sizeof(err))
        != KVS_OK)
    {
        ngx_kvs_log(NGX_LOG_ERR, agent->log, 0, "kvs: agent: %s", err);
        goto next;
    }

    ngx_kvs_agent_detect(agent, now);

    if (ngx_kvs_agent_read(agent) != NGX_OK) {
        goto next;
    }

    ngx_kvs_agent_log_changes(agent);
    ngx_kvs_push_trim(agent);
    ngx_kvs_conflict_tick(agent);
    ngx_kvs_agent_purge(agent, now);

    /* folded audit counts whose window is over */
    ngx_http_kvs_audit_flush((ngx_cycle_t *) ngx_cycle, 0);

    if (kc->cluster_secret == NULL) {
        goto next;
    }

    len = kvs_members_encode_size(agent->now, agent->nnow);
    p = ngx_alloc(len, agent->log);
    if (p == NULL) {
        goto next;
    }

    len = kvs_members_encode(agent->now, agent->nnow, p);

    nalive = 0;
    nfailed = 0;

    for (i = 0; i < agent->nnow; i++) {
        if (ngx_strcmp(agent->now[i].node_id, kc->node_id) == 0) {
            continue;
        }

        switch (kvs_member_state(&agent->now[i], now,
                                 (uint64_t) (kc->failure_timeout * 1000)))
        {
        case KVS_MEMBER_ALIVE:
            alive[nalive++] = i;
            break;

        case KVS_MEMBER_FAILED:
            failed[nfailed++] = i;
            break;

        default:
            /* it left: it comes back through a seed, or joins itself */
            break;
        }
    }

    ngx_kvs_debug(agent->log, "kvs agent: tick: %uz members, %uz alive "
                  "peers, %uz failed", agent->nnow, nalive, nfailed);

    agent->ticks++;

    if (!agent->answered || nalive == 0
        || agent->ticks % NGX_KVS_AGENT_SEED_TICKS == 0)
    {
        /* not in touch yet: the seeds introduce us; in touch, they hear
         * from us now and then, whether they are members or not */

        for (i = 0; i < kc->nseed_nodes; i++) {
            address.data = (u_char *) kc->seed_nodes[i];
            address.len = ngx_strlen(kc->seed_nodes[i]);

            (void) ngx_kvs_agent_send(agent, &address, "/members/join",
                                      (u_char *) p, len,
                                      ngx_kvs_agent_answer, agent);
        }
    }

    for (k = 0; k < NGX_KVS_AGENT_FANOUT && nalive > 0; k++) {
        i = ngx_random() % nalive;

        address.data = (u_char *) agent->now[alive[i]].address;
        address.len = ngx_strlen(agent->now[alive[i]].address);

        (void) ngx_kvs_agent_send(agent, &address, "/members/gossip",
                                  (u_char *) p, len, ngx_kvs_agent_answer,
                                  agent);

        alive[i] = alive[--nalive];
    }

    /* a failed member may be back, and nobody else may call it */

    if (nfailed > 0) {
        i = failed[ngx_random() % nfailed];

        address.data = (u_char *) agent->now[i].address;
        address.len = ngx_strlen(agent->now[i].address);

        (void) ngx_kvs_agent_send(agent, &address, "/members/gossip",
                                  (u_char *) p, len, ngx_kvs_agent_answer,
                                  agent);
    }

    ngx_free(p);

next:

    ngx_add_timer(&agent->tick, ngx_kvs_agent_interval(agent));
}


/*
 * Tombstones keep a delete from coming back while any node may still hold
 * the old value; after tombstone_ttl_hours they go, on every node alike.
 * Each tick scans a bounded stretch of by_time, resuming where it stopped.
 */

static void
ngx_kvs_agent_purge(ngx_kvs_agent_t *agent, uint64_t now)
{
    int                        n;
    char                       err[KVS_STORE_ERRLEN];
    uint64_t                   ttl;
    static kvs_store_resume_t  from;

    ttl = (uint64_t) (agent->kmcf->kc.tombstone_ttl_hours * 3600000);

    if (now <= ttl) {
        return;
    }

    n = kvs_store_purge(agent->store, now - ttl, 10000, &from, err,
                        sizeof(err));

    if (n < 0) {
        ngx_kvs_log(NGX_LOG_ERR, agent->log, 0, "kvs: %s", err);
        return;
    }

    if (n > 0) {
        ngx_kvs_log(NGX_LOG_NOTICE, agent->log, 0,
                    "kvs: purged %d tombstones past tombstone_ttl_hours",
                    n);
    }
}


/*
 * The TTL sweep.  Readers already see an expired record as gone; the sweep
 * gives its space back.  Each node sweeps its own store: expiry is an
 * absolute time in the record, so all of them come to the same records
 * without a word to each other.  A long backlog goes in short transactions
 * back to back, so that the helper's event loop keeps turning.
 */

static void
ngx_kvs_agent_sweep(ngx_event_t *ev)
{
    int               n;
    char              err[KVS_STORE_ERRLEN];
    ngx_kvs_agent_t  *agent;

    agent = ngx_kvs_agent;

    n = kvs_store_expire(agent->store, ngx_http_kvs_now_ms(),
                         NGX_KVS_AGENT_SWEEP_MAX, err, sizeof(err));

    if (n < 0) {
        ngx_kvs_log(NGX_LOG_ERR, ev->log, 0, "kvs: %s", err);

    } else if (n > 0) {
        ngx_kvs_log(NGX_LOG_INFO, ev->log, 0,
                    "kvs: swept %d expired records", n);
        ngx_http_kvs_metric_inc(KVS_M_EXPIRED, n);
    }

    ngx_add_timer(ev, n == NGX_KVS_AGENT_SWEEP_MAX ? 10
                                                   : NGX_KVS_AGENT_SWEEP);
}


/* a record last seen before this is one removal_timeout has passed on */

uint64_t
ngx_kvs_members_oldest(kvs_config_t *kc)
{
    uint64_t  now, removal;

    now = ngx_http_kvs_now_ms();
    removal = (uint64_t) (kc->removal_timeout * 1000);

    return now > removal ? now - removal : 0;
}


static ngx_msec_t
ngx_kvs_agent_interval(ngx_kvs_agent_t *agent)
{
    double         min, max;
    kvs_config_t  *kc;

    kc = &agent->kmcf->kc;
    min = kc->gossip_interval_min;
    max = kc->gossip_interval_max;

    return ngx_kvs_agent_msec(min + (max - min) * (ngx_random() % 1000)
                                    / 1000.0);
}


/*
 * Seconds of the configuration as the ms of a timer.  nginx runs a timer
 * that expires while it runs expired timers in the same pass, before it
 * looks at signals: a handler that re-arms itself at 0 ms would run for
 * ever and never see a QUIT.  The configuration refuses intervals that
 * short; this floor keeps any path to a timer from reaching 0 all the same.
 */

ngx_msec_t
ngx_kvs_agent_msec(double seconds)
{
    if (!(seconds >= 0.001)) {
        return 1;
    }

    return (ngx_msec_t) (seconds * 1000);
}


/* fails members unseen for failure_timeout, removes those unseen longer */

static void
ngx_kvs_agent_detect(ngx_kvs_agent_t *agent, uint64_t now)
{
    char           err[KVS_STORE_ERRLEN];
    size_t         i;
    uint64_t       age, fail, remove;
    kvs_member_t  *m;
    kvs_config_t  *kc;

    kc = &agent->kmcf->kc;
    fail = (uint64_t) (kc->failure_timeout * 1000);
    remove = (uint64_t) (kc->removal_timeout * 1000);

    if (ngx_kvs_agent_read(agent) != NGX_OK) {
        return;
    }

    for (i = 0; i < agent->nnow; i++) {
        m = &agent->now[i];

        if (ngx_strcmp(m->node_id, kc->node_id) == 0) {
            continue;
        }

        age = now > m->last_seen ? now - m->last_seen : 0;

        /* at start, a member's stamp is as old as this node's downtime:
         * it is called for removal_timeout before it may be removed */

        if (age > remove
            && ngx_current_msec - agent->started >= (ngx_msec_t) remove)
        {
            if (kvs_store_member_delete(agent->store, m->node_id, err,
                                        sizeof(err))
                != KVS_OK)
            {
                ngx_kvs_log(NGX_LOG_ERR, agent->log, 0, "kvs: agent: %s",
                            err);
            }

            ngx_kvs_push_forget(agent, m->node_id);
            continue;
        }

        if (kvs_member_state(m, now, fail) != m->state) {
            m->state = KVS_MEMBER_FAILED;

            if (kvs_store_member_put(agent->store, m, err, sizeof(err))
                != KVS_OK)
            {
                ngx_kvs_log(NGX_LOG_ERR, agent->log, 0, "kvs: agent: %s",
                            err);
            }
        }
    }
}


/* member events at notice: joined, failed, left, removed */

static void
ngx_kvs_agent_log_changes(ngx_kvs_agent_t *agent)
{
    size_t         i, j;
    kvs_member_t  *m, *was;
    const char    *event;

    for (i = 0; i < agent->nnow; i++) {
        m = &agent->now[i];
        was = NULL;

        for (j = 0; j < agent->nview; j++) {
            if (ngx_strcmp(agent->view[j].node_id, m->node_id) == 0) {
                was = &agent->view[j];
                break;
            }
        }

        if (was == NULL || was->state != m->state) {
            event = m->state == KVS_MEMBER_ALIVE ? "joined"
                    : m->state == KVS_MEMBER_FAILED ? "failed" : "left";

            if (was == NULL && m->state != KVS_MEMBER_ALIVE) {
                continue;
            }

            ngx_kvs_log(NGX_LOG_NOTICE, agent->log, 0,
                        "kvs: member \"%s\" (%s) %s", m->node_id,
                        m->address, event);
        }
    }

    for (j = 0; j < agent->nview; j++) {
        for (i = 0; i < agent->nnow; i++) {
            if (ngx_strcmp(agent->view[j].node_id, agent->now[i].node_id)
                == 0)
            {
                break;
            }
        }

        if (i == agent->nnow) {
            ngx_kvs_log(NGX_LOG_NOTICE, agent->log, 0,
                        "kvs: member \"%s\" (%s) removed",
                        agent->view[j].node_id, agent->view[j].address);
        }
    }

    ngx_memcpy(agent->view, agent->now, agent->nnow * sizeof(kvs_member_t));
    agent->nview = agent->nnow;
}


/* the peer at an address, however it is written: a seed "http://a:1" is
 * the member "a:1" */

ngx_kvs_peer_t *
ngx_kvs_agent_peer(ngx_kvs_agent_t *agent, ngx_str_t *address)
{
    ngx_uint_t       i;
    kvs_address_t    a;
    ngx_kvs_peer_t  *peer;

    if (kvs_address_parse((char *) address->data, address->len, &a) == 0) {

        for (i = 0; i < agent->npeers; i++) {
            if (ngx_kvs_peer_is(agent->peers[i], &a)) {
                return agent->peers[i];
            }
        }
    }

    if (agent->npeers == NGX_KVS_AGENT_PEERS_MAX
        && ngx_kvs_agent_peer_evict(agent) != NGX_OK)
    {
        return NULL;
    }

    peer = ngx_kvs_peer_create(address, agent->log);
    if (peer == NULL) {
        return NULL;
    }

    agent->peers[agent->npeers++] = peer;

    return peer;
}


/*
 * A full table of peers makes room: of the peers with no call or lookup
 * out, the one whose last call started longest ago is freed, its kept
 * connection closed.  Nodes that came and went at new addresses would
 * otherwise fill it for good, and a member that joined after them would
 * never be called; in a cluster of more members than the table holds,
 * peers take turns in it.
 */

static ngx_int_t
ngx_kvs_agent_peer_evict(ngx_kvs_agent_t *agent)
{
    ngx_uint_t       i, oldest;
    ngx_kvs_peer_t  *peer;

    oldest = agent->npeers;

    for (i = 0; i < agent->npeers; i++) {
        peer = agent->peers[i];

        if (ngx_kvs_peer_busy(peer)) {
            continue;
        }

        if (oldest == agent->npeers
            || (ngx_msec_int_t) (peer->used - agent->peers[oldest]->used) < 0)
        {
            oldest = i;
        }
    }

    if (oldest == agent->npeers) {
        ngx_kvs_log(NGX_LOG_WARN, agent->log, 0,
                    "kvs: the cluster agent's %ui peers are all in calls; "
                    "no call to another now", agent->npeers);
        return NGX_BUSY;
    }

    peer = agent->peers[oldest];

    ngx_kvs_log(NGX_LOG_INFO, agent->log, 0,
                "kvs: the cluster agent forgets peer \"%V\", not called for "
                "%M ms, to make room for another", &peer->address,
                ngx_current_msec - peer->used);

    ngx_kvs_peer_destroy(peer);

    agent->peers[oldest] = agent->peers[--agent->npeers];

    return NGX_OK;
}


/* a signed POST to one peer; handler gets the call and data */

ngx_int_t
ngx_kvs_agent_send(ngx_kvs_agent_t *agent, ngx_str_t *address,
    const char *uri, u_char *body, size_t len,
    ngx_kvs_call_handler_pt handler, void *data)
{
    ngx_kvs_peer_t  *peer;
    ngx_kvs_call_t  *call;

    peer = ngx_kvs_agent_peer(agent, address);
    if (peer == NULL) {
        return NGX_ERROR;
    }

    call = ngx_kvs_agent_call(agent, peer, uri, body, len);
    if (call == NULL) {
        return NGX_ERROR;
    }

    call->handler = handler;
    call->data = data;

    ngx_kvs_debug(agent->log, "kvs agent: POST %V%s, %uz bytes", address,
                  uri, len);

    ngx_kvs_call_start(call);

    return NGX_OK;
}


/* a signed POST of body to uri, ready to be made, in a pool of its own */

static ngx_kvs_call_t *
ngx_kvs_agent_call(ngx_kvs_agent_t *agent, ngx_kvs_peer_t *peer,
    const char *uri, u_char *body, size_t len)
{
    u_char          *p;
    size_t           heads;
    uint64_t         date;
    ngx_pool_t      *pool;
    kvs_config_t    *kc;
    ngx_kvs_call_t  *call;
    char             sig[KVS_SIGN_LEN], digest[KVS_SIGN_DIGEST_LEN];

    kc = &agent->kmcf->kc;

    pool = ngx_create_pool(4096, agent->log);
    if (pool == NULL) {
        return NULL;
    }

    /* gossip carries the audit heads this node holds */
    heads = ngx_strncmp(uri, "/members/", sizeof("/members/") - 1) == 0
            ? NGX_KVS_AGENT_HEADS_ROOM : 0;

    call = ngx_pcalloc(pool, sizeof(ngx_kvs_call_t));
    p = ngx_pnalloc(pool, len + NGX_KVS_AGENT_HEADERS_ROOM
                          + agent->kmcf->node_id.len
                          + agent->kmcf->auth_fingerprint.len + heads);

    if (call == NULL || p == NULL) {
        ngx_destroy_pool(pool);
        return NULL;
    }

    date = ngx_http_kvs_now_ms();

    if (kvs_sign_digest(body, len, digest) != 0
        || kvs_sign_hex((char *) agent->kmcf->cluster_secret.data,
                        agent->kmcf->cluster_secret.len, "POST", 4, uri,
                        ngx_strlen(uri), date, digest, sig)
           != 0)
    {
        ngx_destroy_pool(pool);
        return NULL;
    }

    call->peer = peer;
    call->pool = pool;
    call->log = agent->log;
    ngx_str_set(&call->method, "POST");
    call->uri.data = (u_char *) uri;
    call->uri.len = ngx_strlen(uri);

    call->body.data = ngx_cpymem(p, body, len) - len;
    call->body.len = len;
    p += len;

    call->headers.data = p;
    p = ngx_sprintf(p, "Content-Type: application/%s\r\n"
                    KVS_SIGN_HEADER_NODE ": %s\r\n"
                    KVS_SIGN_HEADER_DATE ": %uL\r\n"
                    KVS_SIGN_HEADER_SIGNATURE ": %*s\r\n"
                    KVS_SIGN_HEADER_DIGEST ": %*s\r\n"
                    NGX_HTTP_KVS_AUTH_HEADER ": %V\r\n",
                    uri[1] == '_' ? "octet-stream" : "json",
                    kc->node_id, date, (size_t) KVS_SIGN_LEN, sig,
                    (size_t) KVS_SIGN_DIGEST_LEN, digest,
                    &agent->kmcf->auth_fingerprint);

    if (heads) {
        p = ngx_http_kvs_audit_heads(agent->kmcf, p, p + heads);
    }

    call->headers.len = p - call->headers.data;

    call->timeout = ngx_kvs_agent_msec(kc->peer_timeout);
    /* a peer's answer may carry a record of the protocol's largest value,
     * whatever this node's max_json_size */
    call->max_response = (size_t) NGX_HTTP_KVS_PEER_BATCH_MAX;

    return call;
}


static void
ngx_kvs_agent_answer(ngx_kvs_call_t *call)
{
    int               n;
    char              err[KVS_STORE_ERRLEN];
    size_t            room;
    const char       *why;
    kvs_member_t     *m;
    ngx_kvs_agent_t  *agent;

    agent = call->data;

    if (call->status != NGX_HTTP_OK) {
        ngx_kvs_log(NGX_LOG_INFO, agent->log, 0,
                    "kvs: %V%V: %s", &call->peer->address, &call->uri,
                    ngx_kvs_call_failure(call));
        goto done;
    }

    room = kvs_members_room(call->response.len);

    m = ngx_alloc(room * sizeof(kvs_member_t), agent->log);
    if (m == NULL) {
        goto done;
    }

    n = kvs_members_parse((char *) call->response.data, call->response.len,
                          m, room, &why);

    if (n < 0) {
        ngx_kvs_log(NGX_LOG_WARN, agent->log, 0,
                    "kvs: %V%V answered a bad member list: %s",
                    &call->peer->address, &call->uri, why);
        ngx_free(m);
        goto done;
    }

    n = (int) kvs_members_filter(m, n, agent->kmcf->kc.node_id,
                                 ngx_kvs_members_oldest(&agent->kmcf->kc),
                                 ngx_http_kvs_now_ms()
                                 + KVS_MEMBERS_AHEAD_MS);

    if (kvs_store_members_merge(agent->store, m, n, err, sizeof(err))
        != KVS_OK)
    {
        ngx_kvs_log(NGX_LOG_ERR, agent->log, 0, "kvs: agent: %s", err);
    }

    agent->answered = 1;
    ngx_free(m);

done:

    ngx_destroy_pool(call->pool);
}


/*
 * Leaving: when nginx stops, the master (or the single process) tells
 * every alive member, so that they drop this node at once instead of after
 * failure_timeout.  The master's exit hook is the one place that runs on
 * every stop (QUIT, TERM, master_process off) and never on a reload; but
 * no event loop runs there, so each call is the agent's signed call made
 * by the peer client's blocking way, for at most peer_timeout per peer.
 */

static void
ngx_kvs_agent_leave_one(ngx_kvs_agent_t *agent, kvs_member_t *to,
    u_char *body, size_t len)
{
    ngx_str_t        address;
    ngx_kvs_peer_t  *peer;
    ngx_kvs_call_t  *call;

    address.data = (u_char *) to->address;
    address.len = ngx_strlen(to->address);

    peer = ngx_kvs_peer_create(&address, agent->log);
    if (peer == NULL) {
        return;
    }

    call = ngx_kvs_agent_call(agent, peer, "/members/leave", body, len);
    if (call == NULL) {
        ngx_kvs_peer_destroy(peer);
        return;
    }

    ngx_kvs_call_blocking(call);

    if (call->status == NGX_HTTP_OK) {
        ngx_kvs_log(NGX_LOG_NOTICE, agent->log, 0,
                    "kvs: told \"%s\" (%s) that this node leaves",
                    to->node_id, to->address);

    } else {
        ngx_kvs_log(NGX_LOG_NOTICE, agent->log, 0,
                    "kvs: told \"%s\" (%s) that this node leaves, "
                    "without an answer: %s", to->node_id, to->address,
                    ngx_kvs_call_failure(call));
    }

    ngx_destroy_pool(call->pool);
    ngx_kvs_peer_destroy(peer);
}


void
ngx_kvs_agent_leave(ngx_cycle_t *cycle)
{
    char                       err[KVS_STORE_ERRLEN];
    size_t                     i, len;
    u_char                    *body;
    kvs_store_t               *st;
    kvs_member_t              *self;
    ngx_kvs_agent_t            agent;
    ngx_http_kvs_main_conf_t  *kmcf;

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_kvs_module);

    if (kmcf == NULL || !kmcf->used || kmcf->kc.cluster_secret == NULL) {
        return;
    }

    st = ngx_http_kvs_store;

    if (st == NULL
        && kvs_store_open(&st, (char *) kmcf->data_dir.data,
                          kmcf->kc.max_db_size, err, sizeof(err))
           != KVS_OK)
    {
        ngx_kvs_log(NGX_LOG_ERR, cycle->log, 0, "kvs: %s", err);
        return;
    }

#if (NGX_SSL)
    ngx_kvs_peer_ssl_init(kmcf->peer_ssl, kmcf->peer_ca_file.len != 0);
#endif

    ngx_memzero(&agent, sizeof(ngx_kvs_agent_t));
    agent.store = st;
    agent.log = cycle->log;
    agent.pool = cycle->pool;
    agent.kmcf = kmcf;
    agent.now = ngx_alloc(KVS_MEMBERS_MAX * sizeof(kvs_member_t), cycle->log);

    if (agent.now == NULL || ngx_kvs_agent_read(&agent) != NGX_OK) {
        goto done;
    }

    self = NULL;

    for (i = 0; i < agent.nnow; i++) {
        if (ngx_strcmp(agent.now[i].node_id, kmcf->kc.node_id) == 0) {
            self = &agent.now[i];
        }
    }

    if (self == NULL) {
        goto done;
    }

    self->state = KVS_MEMBER_LEFT;
    self->last_seen = ngx_http_kvs_now_ms();

    body = ngx_alloc(kvs_members_encode_size(self, 1), cycle->log);
    if (body == NULL) {
        goto done;
    }

    len = kvs_members_encode(self, 1, (char *) body);

    for (i = 0; i < agent.nnow; i++) {
        if (&agent.now[i] != self
            && agent.now[i].state == KVS_MEMBER_ALIVE)
        {
            ngx_kvs_agent_leave_one(&agent, &agent.now[i], body, len);
        }
    }

    ngx_free(body);

done:

    if (agent.now) {
        ngx_free(agent.now);
    }

    if (st != ngx_http_kvs_store) {
        kvs_store_close(st);
    }
}
