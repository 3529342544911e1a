/*
 * What the cluster agent's files share: the agent's state, and the signed
 * calls to peers that gossip and push replication both make.
 */

#ifndef NGX_KVS_AGENT_H
#define NGX_KVS_AGENT_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "ngx_kvs_peer.h"


#define NGX_KVS_AGENT_PEERS_MAX  256


typedef struct {
    ngx_pool_t                *pool;
    ngx_log_t                 *log;
    kvs_store_t               *store;
    ngx_http_kvs_main_conf_t  *kmcf;
    ngx_event_t                tick;
    ngx_event_t                sweep;         /* the TTL sweep's timer */
    ngx_connection_t           dummy;
    ngx_kvs_peer_t            *peers[NGX_KVS_AGENT_PEERS_MAX];
    ngx_uint_t                 npeers;
    kvs_member_t              *view;          /* as of the last tick */
    size_t                     nview;
    kvs_member_t              *now;           /* this tick's */
    size_t                     nnow;
    ngx_uint_t                 answered;      /* a peer has answered */
    ngx_uint_t                 ticks;
    ngx_msec_t                 started;       /* removals wait
                                                 removal_timeout from
                                                 here */
    ngx_uint_t                 titled;        /* ps shows what it is */
} ngx_kvs_agent_t;


extern ngx_kvs_agent_t  *ngx_kvs_agent;


ngx_kvs_peer_t *ngx_kvs_agent_peer(ngx_kvs_agent_t *agent,
    ngx_str_t *address);
ngx_int_t ngx_kvs_agent_send(ngx_kvs_agent_t *agent, ngx_str_t *address,
    const char *uri, u_char *body, size_t len,
    ngx_kvs_call_handler_pt handler, void *data);

/* seconds as a timer's ms, never 0 */
ngx_msec_t ngx_kvs_agent_msec(double seconds);

ngx_int_t ngx_kvs_push_init(ngx_kvs_agent_t *agent);
ngx_int_t ngx_kvs_sync_init(ngx_kvs_agent_t *agent);
ngx_int_t ngx_kvs_backup_init(ngx_kvs_agent_t *agent);
void ngx_kvs_conflict_tick(ngx_kvs_agent_t *agent);
void ngx_kvs_push_trim(ngx_kvs_agent_t *agent);
void ngx_kvs_push_forget(ngx_kvs_agent_t *agent, const char *node_id);

#endif /* NGX_KVS_AGENT_H */
