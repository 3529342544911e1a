/*
 * Conflict resolution: two versions of a key with the same timestamp and
 * different uuids, which the version rules cannot order.
 *
 * A node that refuses a peer's record for such a tie notes the key
 * (kvs_store.c).  The agent takes the notes one at a time and asks every
 * alive member which version it holds (POST /_cluster/fetch of that key),
 * counting its own.  The version most members hold wins; a tie goes to the
 * version held by the member with the earliest joined_timestamp; if even
 * that cannot decide, the greater uuid wins, so every node converges
 * anyway.  A node holding a loser stores the winner's record in its place
 * and logs the resolution at notice; /_cluster/digest counts them.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "ngx_kvs_agent.h"
#include "kvs_members.h"
#include "kvs_wire.h"


#define NGX_KVS_CONFLICT_VERSIONS  16


typedef struct {
    kvs_version_t        version;
    ngx_uint_t           votes;
    uint64_t             oldest;        /* earliest joined_timestamp */
    char                 oldest_id[256];
    u_char              *record;
    size_t               record_len;
} ngx_kvs_vote_t;


typedef struct {
    ngx_kvs_agent_t     *agent;
    ngx_pool_t          *pool;
    ngx_uint_t           busy;
    char                 ns;
    u_char               path[KVS_KEY_MAX];
    size_t               plen;
    ngx_uint_t           pending;
    ngx_uint_t           voters;
    ngx_kvs_vote_t       votes[NGX_KVS_CONFLICT_VERSIONS];
    ngx_uint_t           nvotes;
} ngx_kvs_conflict_t;


typedef struct {
    uint64_t             joined;
    char                 node_id[256];
} ngx_kvs_voter_t;


static int ngx_kvs_conflict_first(char ns, const char *path, size_t len,
    void *data);
static void ngx_kvs_conflict_vote(const u_char *record, size_t len,
    uint64_t joined, const char *node_id);
static void ngx_kvs_conflict_answer(ngx_kvs_call_t *call);
static void ngx_kvs_conflict_decide(void);


static ngx_kvs_conflict_t  ngx_kvs_conflict;


/* called every gossip tick: starts resolving the next noted conflict */

void
ngx_kvs_conflict_tick(ngx_kvs_agent_t *agent)
{
    char                 err[KVS_STORE_ERRLEN];
    size_t               i, rlen, len;
    u_char              *body;
    uint64_t             now;
    ngx_str_t            address;
    kvs_member_t        *m, *self;
    const uint8_t       *rec;
    ngx_kvs_voter_t     *voter;
    kvs_wire_entry_t     key;
    ngx_kvs_conflict_t  *c;

    c = &ngx_kvs_conflict;

    if (c->busy || agent->kmcf->kc.cluster_secret == NULL) {
        return;
    }

    c->agent = agent;
    c->plen = 0;

    if (kvs_store_read_begin(agent->store, err, sizeof(err)) != KVS_OK) {
        return;
    }

    (void) kvs_store_conflicts(agent->store, ngx_kvs_conflict_first, c);

    if (c->plen == 0) {
        kvs_store_read_end(agent->store);
        return;
    }

    c->pool = ngx_create_pool(4096, agent->log);
    if (c->pool == NULL) {
        kvs_store_read_end(agent->store);
        return;
    }

    c->busy = 1;
    c->nvotes = 0;
    c->voters = 0;
    c->pending = 0;

    self = NULL;

    for (i = 0; i < agent->nview; i++) {
        if (ngx_strcmp(agent->view[i].node_id, agent->kmcf->kc.node_id) == 0)
        {
            self = &agent->view[i];
        }
    }

    if (kvs_store_record(agent->store, c->ns, (char *) c->path, c->plen,
                         &rec, &rlen)
        == KVS_OK)
    {
        ngx_kvs_conflict_vote(rec, rlen, self ? self->joined_timestamp : 0,
                              agent->kmcf->kc.node_id);
    }

    kvs_store_read_end(agent->store);

    key.ns = c->ns;
    key.path = (const char *) c->path;
    key.path_len = c->plen;
    len = kvs_wire_key_size(&key);

    body = ngx_pnalloc(c->pool, len);
    if (body == NULL) {
        ngx_kvs_conflict_decide();
        return;
    }

    (void) kvs_wire_key_put(body, &key);

    now = ngx_http_kvs_now_ms();

    for (i = 0; i < agent->nview; i++) {
        m = &agent->view[i];

        if (m == self
            || kvs_member_state(m, now,
                                (uint64_t) (agent->kmcf->kc.failure_timeout
                                            * 1000))
               != KVS_MEMBER_ALIVE)
        {
            continue;
        }

        voter = ngx_palloc(c->pool, sizeof(ngx_kvs_voter_t));
        if (voter == NULL) {
            continue;
        }

        voter->joined = m->joined_timestamp;
        ngx_cpystrn((u_char *) voter->node_id, (u_char *) m->node_id,
                    sizeof(voter->node_id));

        address.data = (u_char *) m->address;
        address.len = ngx_strlen(m->address);

        if (ngx_kvs_agent_send(agent, &address, "/_cluster/fetch", body,
                               len, ngx_kvs_conflict_answer, voter)
            == NGX_OK)
        {
            c->pending++;
        }
    }

    if (c->pending == 0) {
        ngx_kvs_conflict_decide();
    }
}


static int
ngx_kvs_conflict_first(char ns, const char *path, size_t len, void *data)
{
    ngx_kvs_conflict_t *c = data;

    if (len > KVS_KEY_MAX) {
        return KVS_OK;
    }

    c->ns = ns;
    ngx_memcpy(c->path, path, len);
    c->plen = len;

    return KVS_ERROR;       /* one at a time */
}


static void
ngx_kvs_conflict_vote(const u_char *record, size_t len, uint64_t joined,
    const char *node_id)
{
    ngx_uint_t           i;
    ngx_kvs_vote_t      *v;
    kvs_record_hdr_t     hdr;
    ngx_kvs_conflict_t  *c;

    c = &ngx_kvs_conflict;

    if (kvs_record_decode(&hdr, record, len) != 0) {
        return;
    }

    c->voters++;

    for (i = 0; i < c->nvotes; i++) {
        v = &c->votes[i];

        if (kvs_version_cmp(&v->version, &hdr.version) == 0) {
            v->votes++;

            if (joined < v->oldest) {
                v->oldest = joined;
                ngx_cpystrn((u_char *) v->oldest_id, (u_char *) node_id,
                            sizeof(v->oldest_id));
            }

            return;
        }
    }

    if (c->nvotes == NGX_KVS_CONFLICT_VERSIONS) {
        return;
    }

    v = &c->votes[c->nvotes];
    v->record = ngx_pnalloc(c->pool, len);
    if (v->record == NULL) {
        return;
    }

    ngx_memcpy(v->record, record, len);
    v->record_len = len;
    v->version = hdr.version;
    v->votes = 1;
    v->oldest = joined;
    ngx_cpystrn((u_char *) v->oldest_id, (u_char *) node_id,
                sizeof(v->oldest_id));

    c->nvotes++;
}


static void
ngx_kvs_conflict_answer(ngx_kvs_call_t *call)
{
    ngx_str_t            peer;
    const char          *why;
    kvs_write_t          w;
    const uint8_t       *p;
    ngx_kvs_voter_t     *voter;
    kvs_record_hdr_t     hdr;
    kvs_wire_entry_t     e;
    ngx_kvs_conflict_t  *c;

    c = &ngx_kvs_conflict;
    voter = call->data;

    /* the answer: one entry of the wire's framing, the key asked for */

    p = call->response.data;

    if (call->status == NGX_HTTP_OK
        && kvs_wire_next(&p, p + call->response.len, &e, &why) == 1)
    {
        if (e.ns != c->ns || e.path_len != c->plen
            || ngx_memcmp(e.path, c->path, c->plen) != 0)
        {
            why = "it is not of the key asked for";

        } else {
            why = kvs_wire_check(&e, ngx_http_kvs_now_ms(), &hdr);
        }

        if (why == NULL) {
            ngx_kvs_conflict_vote(e.record, e.record_len, voter->joined,
                                  voter->node_id);

        } else {
            /* a bad record does not vote */
            ngx_memzero(&w, sizeof(kvs_write_t));
            w.rc = KVS_INVALID;
            w.path = (const char *) c->path;
            w.path_len = c->plen;
            w.why = why;
            peer.data = (u_char *) voter->node_id;
            peer.len = ngx_strlen(voter->node_id);
            ngx_http_kvs_refused(c->agent->kmcf, c->agent->log, &peer, &w,
                                 1);
        }
    }

    ngx_destroy_pool(call->pool);

    if (--c->pending == 0) {
        ngx_kvs_conflict_decide();
    }
}


static u_char *
ngx_kvs_conflict_version(u_char *p, u_char *end, ngx_kvs_vote_t *v,
    const char *sep)
{
    char  uuid[KVS_UUID_STR_LEN];

    kvs_uuid_format(v->version.uuid, uuid);

    return ngx_slprintf(p, end, "%s%uL/%*s (%ui vote%s)", sep,
                        v->version.timestamp, (size_t) KVS_UUID_STR_LEN,
                        uuid, v->votes, v->votes == 1 ? "" : "s");
}


/* most votes; then the oldest member's; then the greater uuid */

static void
ngx_kvs_conflict_decide(void)
{
    char                 err[KVS_STORE_ERRLEN];
    u_char               list[NGX_KVS_CONFLICT_VERSIONS * 80], *p;
    ngx_uint_t           i, tie;
    const char          *why;
    kvs_write_t          w;
    ngx_kvs_vote_t      *best, *v;
    ngx_kvs_agent_t     *agent;
    ngx_kvs_conflict_t  *c;

    c = &ngx_kvs_conflict;
    agent = c->agent;
    best = NULL;
    tie = 0;
    why = "most members hold it";

    for (i = 0; i < c->nvotes; i++) {
        v = &c->votes[i];

        if (best == NULL || v->votes > best->votes) {
            best = v;
            tie = 0;
            continue;
        }

        if (v->votes < best->votes) {
            continue;
        }

        tie = 1;

        if (v->oldest < best->oldest
            || (v->oldest == best->oldest
                && ngx_memcmp(v->version.uuid, best->version.uuid,
                              KVS_UUID_LEN) > 0))
        {
            best = v;
        }
    }

    if (best == NULL) {
        /* nobody holds the key any more: nothing to resolve */
        (void) kvs_store_conflict_done(agent->store, c->ns,
                                       (char *) c->path, c->plen, err,
                                       sizeof(err));
        goto done;
    }

    if (tie) {
        why = "the member that joined first holds it";

        for (i = 0; i < c->nvotes; i++) {
            v = &c->votes[i];

            if (v != best && v->votes == best->votes
                && v->oldest == best->oldest)
            {
                why = "its uuid is the greater";
            }
        }
    }

    ngx_memzero(&w, sizeof(kvs_write_t));
    w.op = KVS_WRITE_REMOTE;
    w.resolved = 1;
    w.ns = c->ns;
    w.path = (const char *) c->path;
    w.path_len = c->plen;
    w.value = best->record;
    w.value_len = best->record_len;

    if (kvs_store_write(agent->store, &w, 1, ngx_http_kvs_now_ms(), err,
                        sizeof(err))
        != KVS_OK)
    {
        ngx_log_error(NGX_LOG_ERR, agent->log, 0, "kvs: %s", err);
        goto done;
    }

    if (kvs_store_conflict_done(agent->store, c->ns, (char *) c->path,
                                c->plen, err, sizeof(err))
        != KVS_OK)
    {
        ngx_log_error(NGX_LOG_ERR, agent->log, 0, "kvs: %s", err);
        goto done;
    }

    /* every version with its votes, the winner first */

    p = ngx_kvs_conflict_version(list, list + sizeof(list), best, "");

    for (i = 0; i < c->nvotes; i++) {
        if (&c->votes[i] != best) {
            p = ngx_kvs_conflict_version(p, list + sizeof(list),
                                         &c->votes[i], ", ");
        }
    }

    ngx_log_error(NGX_LOG_NOTICE, agent->log, 0,
                  "kvs: conflict on \"%*s\" resolved: version %*s wins "
                  "with %ui of %ui votes among %ui versions, because %s "
                  "(held by \"%s\"); versions: %*s%s",
                  c->plen, c->path, (size_t) (ngx_strlchr(list, p, ' ')
                                              - list), list,
                  best->votes, c->voters, c->nvotes, why, best->oldest_id,
                  (size_t) (p - list), list,
                  w.rc == KVS_OK ? "; this node now holds it" : "");

done:

    ngx_destroy_pool(c->pool);
    c->pool = NULL;
    c->busy = 0;
}
