/*
 * Conflict resolution: two versions of a key with the same timestamp and
 * different uuids, which the version rules cannot order.
 *
 * A node that refuses a peer's record for such a tie notes the key
 * (kvs_store.c).  The agent takes the notes one at a time and asks every
 * alive member which version it holds (POST /_cluster/fetch of that key),
 * counting its own; src/kvs/kvs_vote.c decides which version wins, and
 * why.  A node holding a loser stores the winner's record in its place
 * and logs the resolution at notice; /_cluster/digest counts them.  This
 * file does the asking, the storing and the logging.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "ngx_kvs_agent.h"
#include "kvs_members.h"
#include "kvs_vote.h"
#include "kvs_wire.h"


typedef struct {
    ngx_kvs_agent_t     *agent;
    ngx_pool_t          *pool;
    ngx_uint_t           busy;
    char                 ns;
    u_char               path[KVS_KEY_MAX];
    size_t               plen;
    ngx_uint_t           pending;
    kvs_vote_tally_t     tally;
    ngx_str_t            records[KVS_VOTE_VERSIONS];  /* of tally's
                                                         versions */
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
    c->pending = 0;
    kvs_vote_init(&c->tally);
    ngx_memzero(c->records, sizeof(c->records));

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


/* a member's vote; the first record of each version is kept, as the one
 * stored should that version win */

static void
ngx_kvs_conflict_vote(const u_char *record, size_t len, uint64_t joined,
    const char *node_id)
{
    int                  i;
    kvs_record_hdr_t     hdr;
    ngx_kvs_conflict_t  *c;

    c = &ngx_kvs_conflict;

    if (kvs_record_decode(&hdr, record, len) != 0) {
        return;
    }

    i = kvs_vote_cast(&c->tally, &hdr.version, joined, node_id);

    if (i < 0 || c->records[i].data != NULL) {
        return;
    }

    c->records[i].data = ngx_pnalloc(c->pool, len);
    if (c->records[i].data == NULL) {
        return;
    }

    ngx_memcpy(c->records[i].data, record, len);
    c->records[i].len = len;
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
ngx_kvs_conflict_version(u_char *p, u_char *end, kvs_vote_t *v,
    const char *sep)
{
    char  uuid[KVS_UUID_STR_LEN];

    kvs_uuid_format(v->version.uuid, uuid);

    return ngx_slprintf(p, end, "%s%uL/%*s (%uz vote%s)", sep,
                        v->version.timestamp, (size_t) KVS_UUID_STR_LEN,
                        uuid, v->votes, v->votes == 1 ? "" : "s");
}


static void
ngx_kvs_conflict_decide(void)
{
    int                  win;
    char                 err[KVS_STORE_ERRLEN];
    u_char               list[KVS_VOTE_VERSIONS * 80], *p;
    size_t               i, k, n;
    const char          *why;
    kvs_vote_t          *best;
    kvs_write_t          w[KVS_VOTE_VERSIONS];
    ngx_kvs_agent_t     *agent;
    ngx_kvs_conflict_t  *c;

    c = &ngx_kvs_conflict;
    agent = c->agent;

    win = kvs_vote_decide(&c->tally, &why);

    if (win < 0) {
        /* nobody holds the key any more: nothing to resolve */
        (void) kvs_store_conflict_done(agent->store, c->ns,
                                       (char *) c->path, c->plen, err,
                                       sizeof(err));
        goto done;
    }

    best = &c->tally.versions[win];

    if (c->records[win].data == NULL) {
        /* out of memory for the winner's record: the note stays, and the
         * vote is taken again */
        goto done;
    }

    /* the winner, then the losers for history, where the nodes that held
     * them keep them once the winner replaces them */

    ngx_memzero(w, sizeof(w));
    n = 0;

    for (i = 0; i < c->tally.nversions; i++) {
        if (i != (size_t) win && c->records[i].data == NULL) {
            continue;
        }

        k = (i == (size_t) win) ? 0 : ++n;

        w[k].op = KVS_WRITE_REMOTE;
        w[k].resolved = (k == 0);
        w[k].earlier = (k != 0);
        w[k].ns = c->ns;
        w[k].path = (const char *) c->path;
        w[k].path_len = c->plen;
        w[k].value = c->records[i].data;
        w[k].value_len = c->records[i].len;
    }

    if (kvs_store_write(agent->store, w, n + 1, ngx_http_kvs_now_ms(), err,
                        sizeof(err))
        != KVS_OK)
    {
        ngx_kvs_log(NGX_LOG_ERR, agent->log, 0, "kvs: %s", err);
        goto done;
    }

    if (kvs_store_conflict_done(agent->store, c->ns, (char *) c->path,
                                c->plen, err, sizeof(err))
        != KVS_OK)
    {
        ngx_kvs_log(NGX_LOG_ERR, agent->log, 0, "kvs: %s", err);
        goto done;
    }

    /* every version with its votes, the winner first */

    p = ngx_kvs_conflict_version(list, list + sizeof(list), best, "");

    for (i = 0; i < c->tally.nversions; i++) {
        if (&c->tally.versions[i] != best) {
            p = ngx_kvs_conflict_version(p, list + sizeof(list),
                                         &c->tally.versions[i], ", ");
        }
    }

    ngx_kvs_log(NGX_LOG_NOTICE, agent->log, 0,
                "kvs: conflict on \"%*s\" resolved: version %*s wins "
                "with %uz of %uz votes among %uz versions, because %s "
                "(held by \"%s\"); versions: %*s%s",
                c->plen, c->path, (size_t) (ngx_strlchr(list, p, ' ')
                                            - list), list,
                best->votes, c->tally.voters, c->tally.nversions, why,
                best->holder, (size_t) (p - list), list,
                w[0].rc == KVS_OK ? "; this node now holds it" : "");

done:

    ngx_destroy_pool(c->pool);
    c->pool = NULL;
    c->busy = 0;
}
