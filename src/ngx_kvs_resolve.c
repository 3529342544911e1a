/*
 * Peers' host names, looked up on threads of the cluster agent.
 *
 * A peer named by a host name ("node2:8080", as compose names its
 * containers) may come back under another address: a container that
 * restarts gets a new one.  So a name is looked up when the peer is first
 * called, and again whenever a call to it gets no answer, at most once per
 * peer_resolve_interval after the last lookup ended; an address that
 * changed is logged at notice, and the next call goes there.
 *
 * The lookup is the C library's getaddrinfo(), as nginx's own start-up
 * resolves names (listen, proxy_pass to a fixed name, ngx_parse_url()):
 * it answers what every other program of the host or container is told,
 * /etc/hosts, search domains and the configured DNS alike, with no line of
 * configuration.  nginx's non-blocking resolver would need a "resolver"
 * directive naming a DNS server, and reads neither /etc/hosts nor the
 * search domains.  getaddrinfo() blocks, for seconds when a DNS server is
 * silent, so it never runs on the agent's event loop: the agent posts a
 * peer's lookup to a few threads of its own (kvs_pool.c; the helper
 * process has no nginx thread pool), which hand the answer back through
 * a pipe whose read end the event loop watches, as the password threads
 * do (ngx_http_kvs_kdf.c).  A peer has at most one lookup out; meanwhile
 * its calls go on to the address it had, and the calls of a peer with no
 * address yet wait for the first lookup (ngx_kvs_peer.c).
 *
 * The helper exits without exit_process: a thread still waiting for a DNS
 * answer ends with the process, and takes nothing with it.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include <netdb.h>

#include "ngx_http_kvs_module.h"
#include "ngx_kvs_peer.h"


/* one lookup that waits for a silent DNS server holds only one of them */
#define NGX_KVS_RESOLVE_THREADS  2


struct ngx_kvs_lookup_s {
    kvs_pool_task_t     task;
    ngx_kvs_peer_t     *peer;
    char               *host;         /* NUL-terminated, for the thread */

    /* the thread's answer: an address, or why none */
    ngx_sockaddr_t      sockaddr;
    socklen_t           socklen;
    const char         *error;

    /* the event loop's own, which no thread touches */
    const char         *failed;       /* why the last lookup found none */
    ngx_msec_t          ended;        /* when the last lookup ended */
    unsigned            running:1;
    unsigned            done:1;       /* one has ended */
};


static void ngx_kvs_lookup_work(void *data);
static void ngx_kvs_resolve_finished(ngx_event_t *ev);


static kvs_pool_t        *ngx_kvs_resolve_pool;
static ngx_msec_t         ngx_kvs_resolve_interval;
static ngx_connection_t   ngx_kvs_resolve_conn;     /* the pipe's read end */
static ngx_event_t        ngx_kvs_resolve_rev;
static ngx_event_t        ngx_kvs_resolve_wev;      /* never armed */


ngx_int_t
ngx_kvs_resolve_init(ngx_cycle_t *cycle, ngx_msec_t interval)
{
    char               err[KVS_POOL_ERRLEN];
    ngx_connection_t  *c;

    ngx_kvs_resolve_interval = interval;

    if (ngx_kvs_resolve_pool) {
        return NGX_OK;
    }

    if (kvs_pool_start(&ngx_kvs_resolve_pool, NGX_KVS_RESOLVE_THREADS, 0,
                       err, sizeof(err))
        != 0)
    {
        ngx_kvs_log(NGX_LOG_EMERG, cycle->log, 0,
                    "kvs: the cluster agent's lookup threads did not "
                    "start: %s", err);
        return NGX_ERROR;
    }

    c = &ngx_kvs_resolve_conn;

    if (ngx_http_kvs_pool_watch(ngx_kvs_resolve_pool, c,
                                &ngx_kvs_resolve_rev, &ngx_kvs_resolve_wev,
                                ngx_kvs_resolve_finished, cycle->log)
        != NGX_OK)
    {
        kvs_pool_stop(ngx_kvs_resolve_pool);
        ngx_kvs_resolve_pool = NULL;
        return NGX_ERROR;
    }

    return NGX_OK;
}


ngx_int_t
ngx_kvs_resolve(ngx_kvs_peer_t *peer)
{
    ngx_kvs_lookup_t  *lk;

    if (peer->ip || ngx_kvs_resolve_pool == NULL) {
        return NGX_DECLINED;
    }

    lk = peer->lookup;

    if (lk == NULL) {
        lk = ngx_calloc(sizeof(ngx_kvs_lookup_t) + peer->host.len + 1,
                        ngx_cycle->log);
        if (lk == NULL) {
            return NGX_DECLINED;
        }

        lk->peer = peer;
        lk->host = (char *) (lk + 1);
        (void) ngx_cpystrn((u_char *) lk->host, peer->host.data,
                           peer->host.len + 1);
        lk->task.work = ngx_kvs_lookup_work;
        lk->task.data = lk;

        peer->lookup = lk;
    }

    if (lk->running) {
        return NGX_OK;
    }

    if (lk->done && ngx_current_msec - lk->ended < ngx_kvs_resolve_interval)
    {
        ngx_kvs_debug(ngx_cycle->log, "kvs resolve: \"%s\" was looked up "
                      "%M ms ago, not again yet", lk->host,
                      ngx_current_msec - lk->ended);
        return NGX_DECLINED;
    }

    lk->running = 1;

    ngx_kvs_debug(ngx_cycle->log, "kvs resolve: looking \"%s\" up",
                  lk->host);

    kvs_pool_post(ngx_kvs_resolve_pool, &lk->task);

    return NGX_OK;
}


const char *
ngx_kvs_resolve_error(ngx_kvs_peer_t *peer)
{
    return peer->lookup ? peer->lookup->failed : NULL;
}


ngx_uint_t
ngx_kvs_resolve_running(ngx_kvs_peer_t *peer)
{
    return peer->lookup && peer->lookup->running;
}


void
ngx_kvs_resolve_forget(ngx_kvs_peer_t *peer)
{
    if (peer->lookup) {
        ngx_free(peer->lookup);
        peer->lookup = NULL;
    }
}


/*
 * On a thread: the name's address as nginx's own ngx_parse_url() takes
 * it, an IPv4 one before any IPv6 one.  Only the lookup's own fields are
 * touched here.
 */

static void
ngx_kvs_lookup_work(void *data)
{
    ngx_kvs_lookup_t *lk = data;

    int               rc;
    struct addrinfo   hints, *res, *ai, *found;

    ngx_memzero(&hints, sizeof(struct addrinfo));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
#ifdef AI_ADDRCONFIG
    hints.ai_flags = AI_ADDRCONFIG;
#endif

    lk->socklen = 0;

    rc = getaddrinfo(lk->host, NULL, &hints, &res);

    if (rc != 0) {
        lk->error = gai_strerror(rc);
        return;
    }

    found = NULL;

    for (ai = res; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            found = ai;
            break;
        }

#if (NGX_HAVE_INET6)
        if (ai->ai_family == AF_INET6 && found == NULL) {
            found = ai;
        }
#endif
    }

    if (found == NULL || found->ai_addrlen > sizeof(ngx_sockaddr_t)) {
        lk->error = "no IPv4 or IPv6 address";

    } else {
        ngx_memcpy(&lk->sockaddr, found->ai_addr, found->ai_addrlen);
        lk->socklen = found->ai_addrlen;
        lk->error = NULL;
    }

    freeaddrinfo(res);
}


/* the pipe is readable: lookups have ended */

static void
ngx_kvs_resolve_finished(ngx_event_t *ev)
{
    kvs_pool_task_t   *t, *next;
    ngx_kvs_lookup_t  *lk;

    t = kvs_pool_finished(ngx_kvs_resolve_pool);

    /* the pipe is empty: a level-triggered event module must know it */
    ev->ready = 0;

    for ( /* void */ ; t != NULL; t = next) {
        next = t->next;
        lk = t->data;

        lk->running = 0;
        lk->done = 1;
        lk->ended = ngx_current_msec;
        lk->failed = lk->socklen ? NULL : lk->error;

        ngx_kvs_peer_resolved(lk->peer,
                              lk->socklen ? &lk->sockaddr.sockaddr : NULL,
                              lk->socklen, lk->error);
    }

    if (ngx_handle_read_event(ev, 0) != NGX_OK) {
        ngx_kvs_log(NGX_LOG_ALERT, ev->log, 0,
                    "kvs: the lookup threads' pipe cannot be watched");
    }
}
