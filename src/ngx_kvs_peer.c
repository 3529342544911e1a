/*
 * The cluster agent's HTTP/1.1 client to its peers.
 *
 * It lives on nginx's event loop, like nginx's own upstream code: connect
 * with ngx_event_connect_peer(), send and receive without blocking, a
 * timer on every wait, and the answer parsed by nginx's own status-line
 * and header parsers.  One connection per peer is kept alive between
 * calls; when a kept connection turns out to be closed by the peer, the
 * call is retried once on a fresh one.  A peer that stalls costs a timer,
 * never the agent's attention: every call ends, by answer or by timeout.
 * Peers whose address is https:// are spoken to through nginx's own SSL
 * client code, as proxy_pass to an https upstream is, with a context made
 * while nginx reads its configuration: the CA that peers' certificates
 * must chain to, and the certificate this node presents to peers that ask
 * for one (mutual TLS), loaded by nginx's ngx_ssl_certificate().  The
 * master, which has no event loop, makes its one call as nginx stops (the
 * leave) through ngx_kvs_call_blocking(): the same request, TLS set-up and
 * parser, on a blocking socket.
 *
 * A peer known by a host name gets its address from a lookup on the
 * agent's threads (ngx_kvs_resolve.c), never on the event loop: its first
 * calls wait for the first lookup, for at most their timeout; a call that
 * gets no answer has the name looked up again (rate-limited there), while
 * the calls made meanwhile go on to the address the peer had.  A call
 * copies the address it connects to, so that a lookup may move the peer
 * under it; a move drops the connection kept alive to the old address.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_event_connect.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "ngx_kvs_peer.h"


#define NGX_KVS_PEER_HEADERS_MAX  8192

/* the room for an answer's body a call starts with */
#define NGX_KVS_PEER_ANSWER_FIRST  65536
#define NGX_KVS_PEER_IDLE_TIMEOUT 60000


static ngx_kvs_peer_t *ngx_kvs_peer_init(ngx_pool_t *pool,
    ngx_str_t *address, ngx_log_t *log);
static void ngx_kvs_call_exchange(ngx_kvs_call_t *call);
static void ngx_kvs_call_wait(ngx_kvs_call_t *call);
static void ngx_kvs_call_wait_timeout(ngx_event_t *ev);
static const char *ngx_kvs_call_unresolved(ngx_kvs_call_t *call,
    const char *why);
static void ngx_kvs_peer_set_address(ngx_kvs_peer_t *peer,
    struct sockaddr *sa, socklen_t socklen);
static void ngx_kvs_call_connect(ngx_kvs_call_t *call);
static void ngx_kvs_call_write(ngx_event_t *wev);
static void ngx_kvs_call_sent(ngx_event_t *wev);
static void ngx_kvs_call_read(ngx_event_t *rev);
static ngx_int_t ngx_kvs_call_prepare(ngx_kvs_call_t *call);
static ngx_int_t ngx_kvs_call_parse(ngx_kvs_call_t *call);
static ngx_int_t ngx_kvs_call_grow(ngx_kvs_call_t *call);
static const char *ngx_kvs_call_closed(ngx_kvs_call_t *call);
static void ngx_kvs_call_done(ngx_kvs_call_t *call, const char *error);
static void ngx_kvs_call_finish(ngx_event_t *ev);
static void ngx_kvs_peer_idle_handler(ngx_event_t *ev);
static void ngx_kvs_peer_close_connection(ngx_connection_t *c);
#if (NGX_SSL)
static void ngx_kvs_call_ssl(ngx_kvs_call_t *call, ngx_connection_t *c);
static void ngx_kvs_call_ssl_done(ngx_connection_t *c);

static ngx_ssl_t   *ngx_kvs_peer_ssl;
static ngx_uint_t   ngx_kvs_peer_verify;


ngx_ssl_t *
ngx_kvs_peer_ssl_create(ngx_conf_t *cf, ngx_str_t *ca_file,
    ngx_str_t *cert_file, ngx_str_t *key_file)
{
    ngx_ssl_t           *ssl;
    ngx_pool_cleanup_t  *cln;

    ssl = ngx_pcalloc(cf->pool, sizeof(ngx_ssl_t));
    if (ssl == NULL) {
        return NULL;
    }

    ssl->log = cf->log;

    if (ngx_ssl_create(ssl, NGX_SSL_TLSv1_2|NGX_SSL_TLSv1_3, NULL)
        != NGX_OK)
    {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        ngx_ssl_cleanup_ctx(ssl);
        return NULL;
    }

    cln->handler = ngx_ssl_cleanup_ctx;
    cln->data = ssl;

    if (ca_file->len
        && SSL_CTX_load_verify_locations(ssl->ctx, (char *) ca_file->data,
                                         NULL)
           != 1)
    {
        ngx_ssl_error(NGX_LOG_EMERG, cf->log, 0,
                      "kvs: cannot load peer_ca_file \"%V\"", ca_file);
        return NULL;
    }

    if (cert_file->len
        && ngx_ssl_certificate(cf, ssl, cert_file, key_file, NULL) != NGX_OK)
    {
        ngx_kvs_log(NGX_LOG_EMERG, cf->log, 0,
                    "kvs: the agent's client certificate (peer_cert_file "
                    "\"%V\", peer_key_file \"%V\") cannot be used",
                    cert_file, key_file);
        return NULL;
    }

    return ssl;
}


void
ngx_kvs_peer_ssl_init(ngx_ssl_t *ssl, ngx_uint_t verify)
{
    ngx_kvs_peer_ssl = ssl;
    ngx_kvs_peer_verify = verify;
}

/* SNI names the host called, when it has a name: never an address */

ngx_int_t
ngx_kvs_peer_ssl_name(ngx_kvs_peer_t *peer, SSL *ssl, ngx_pool_t *pool)
{
    u_char  *name;

    if (peer->ip) {
        return NGX_OK;
    }

    name = ngx_pnalloc(pool, peer->host.len + 1);
    if (name == NULL) {
        return NGX_ERROR;
    }

    (void) ngx_cpystrn(name, peer->host.data, peer->host.len + 1);

    return SSL_set_tlsext_host_name(ssl, (char *) name) == 1 ? NGX_OK
                                                             : NGX_ERROR;
}


/*
 * With peer_ca_file, a handshaken peer's certificate must chain to it and
 * name the host called: an address among its IP addresses, a name among
 * its DNS names, since peers are often known by address alone.  NULL, or
 * why not.
 */

const char *
ngx_kvs_peer_ssl_verify(ngx_kvs_peer_t *peer, SSL *ssl)
{
    int         rc;
    X509       *cert;
    ngx_str_t   host;
    u_char      name[NGX_SOCKADDR_STRLEN + 1];

    if (!ngx_kvs_peer_verify) {
        return NULL;
    }

    if (SSL_get_verify_result(ssl) != X509_V_OK) {
        return "the peer's certificate is not signed by peer_ca_file";
    }

    host = peer->host;

    /* an IPv6 literal is matched without its brackets */

    if (peer->ip && host.len > 2 && host.data[0] == '[') {
        host.data++;
        host.len -= 2;
    }

    cert = SSL_get_peer_certificate(ssl);

    if (cert == NULL || host.len >= sizeof(name)) {
        rc = 0;

    } else {
        (void) ngx_cpystrn(name, host.data, host.len + 1);

        rc = peer->ip ? X509_check_ip_asc(cert, (char *) name, 0)
                      : X509_check_host(cert, (char *) name, host.len, 0,
                                        NULL);
    }

    if (cert != NULL) {
        X509_free(cert);
    }

    return rc == 1 ? NULL : "the peer's certificate does not name its host";
}

#endif


ngx_kvs_peer_t *
ngx_kvs_peer_create(ngx_str_t *address, ngx_log_t *log)
{
    ngx_pool_t      *pool;
    ngx_kvs_peer_t  *peer;

    pool = ngx_create_pool(512, log);
    if (pool == NULL) {
        return NULL;
    }

    peer = ngx_kvs_peer_init(pool, address, log);

    if (peer == NULL) {
        ngx_destroy_pool(pool);
    }

    return peer;
}


ngx_uint_t
ngx_kvs_peer_busy(ngx_kvs_peer_t *peer)
{
    return peer->calls || !ngx_queue_empty(&peer->waiting)
           || ngx_kvs_resolve_running(peer);
}


void
ngx_kvs_peer_destroy(ngx_kvs_peer_t *peer)
{
    ngx_connection_t  *c;

    c = peer->idle;

    if (c) {
        peer->idle = NULL;
        ngx_kvs_peer_close_connection(c);
    }

    ngx_kvs_resolve_forget(peer);
    ngx_destroy_pool(peer->pool);
}


static ngx_kvs_peer_t *
ngx_kvs_peer_init(ngx_pool_t *pool, ngx_str_t *address, ngx_log_t *log)
{
    ngx_url_t        u;
    kvs_address_t    a;
    ngx_kvs_peer_t  *peer;

    peer = ngx_pcalloc(pool, sizeof(ngx_kvs_peer_t));
    if (peer == NULL) {
        return NULL;
    }

    peer->pool = pool;

    peer->address.data = ngx_pstrdup(pool, address);
    if (peer->address.data == NULL) {
        return NULL;
    }

    peer->address.len = address->len;

    if (kvs_address_parse((char *) peer->address.data, peer->address.len,
                          &a)
        != 0)
    {
        ngx_kvs_log(NGX_LOG_WARN, log, 0,
                    "kvs: peer address \"%V\" is not host:port or an "
                    "http(s):// URL", address);
        return NULL;
    }

    peer->ssl = a.ssl;
    peer->ip = a.ip;
    peer->host.data = (u_char *) a.host;
    peer->host.len = a.host_len;
    peer->hostport.data = (u_char *) a.authority;
    peer->hostport.len = a.authority_len;
    peer->port = (in_port_t) a.port;
    ngx_queue_init(&peer->waiting);

    /* a plain peer is named as members name it, without "http://" */

    if (!a.ssl) {
        peer->address = peer->hostport;
    }

#if !(NGX_SSL)
    if (peer->ssl) {
        ngx_kvs_log(NGX_LOG_WARN, log, 0,
                    "kvs: peer \"%V\" needs an nginx built with SSL",
                    address);
        return NULL;
    }
#endif

    /* an IP address is taken as it is; a name waits for its first call */

    if (!peer->ip) {
        return peer;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = peer->hostport;

    if (ngx_parse_url(pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_kvs_log(NGX_LOG_WARN, log, 0,
                    "kvs: peer address \"%V\" cannot be used%s%s",
                    address, u.err ? ": " : "", u.err ? u.err : "");
        return NULL;
    }

    ngx_kvs_peer_set_address(peer, u.addrs[0].sockaddr, u.addrs[0].socklen);

    return peer;
}


static void
ngx_kvs_peer_set_address(ngx_kvs_peer_t *peer, struct sockaddr *sa,
    socklen_t socklen)
{
    ngx_memcpy(&peer->sockaddr, sa, socklen);
    peer->socklen = socklen;
    ngx_inet_set_port(&peer->sockaddr.sockaddr, peer->port);

    peer->addr_text.data = peer->addr_buf;
    peer->addr_text.len = ngx_sock_ntop(&peer->sockaddr.sockaddr, socklen,
                                        peer->addr_buf,
                                        sizeof(peer->addr_buf), 0);
}


/*
 * A lookup of the peer's name has ended (ngx_kvs_resolve.c): a new address
 * is the peer's from now on, and the calls that waited for one go.  A name
 * that no longer resolves keeps the address it had: the calls there are
 * the best try left.
 */

void
ngx_kvs_peer_resolved(ngx_kvs_peer_t *peer, struct sockaddr *sa,
    socklen_t socklen, const char *error)
{
    u_char             text[NGX_SOCKADDR_STRLEN];
    ngx_str_t          was;
    ngx_queue_t       *q;
    ngx_kvs_call_t    *call;
    ngx_connection_t  *c;

    if (socklen == 0) {

        if (peer->socklen == 0) {
            ngx_kvs_log(NGX_LOG_WARN, ngx_cycle->log, 0,
                        "kvs: peer \"%V\": its host name does not resolve: "
                        "%s", &peer->address, error);

        } else {
            ngx_kvs_log(NGX_LOG_INFO, ngx_cycle->log, 0,
                        "kvs: peer \"%V\": its host name does not resolve "
                        "now (%s); calls go on to %V", &peer->address, error,
                        &peer->addr_text);
        }

    } else {
        ngx_inet_set_port(sa, peer->port);

        if (peer->socklen == 0) {
            ngx_kvs_peer_set_address(peer, sa, socklen);

            ngx_kvs_log(NGX_LOG_INFO, ngx_cycle->log, 0,
                        "kvs: peer \"%V\" is at %V", &peer->address,
                        &peer->addr_text);

        } else if (ngx_cmp_sockaddr(sa, socklen, &peer->sockaddr.sockaddr,
                                    peer->socklen, 1)
                   != NGX_OK)
        {
            was.len = ngx_cpymem(text, peer->addr_text.data,
                                 peer->addr_text.len) - text;
            was.data = text;

            ngx_kvs_peer_set_address(peer, sa, socklen);

            ngx_kvs_log(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                        "kvs: peer \"%V\" moved from %V to %V",
                        &peer->address, &was, &peer->addr_text);

            /* the connection kept alive goes to the old address */

            c = peer->idle;

            if (c) {
                peer->idle = NULL;
                ngx_kvs_peer_close_connection(c);
            }

        } else {
            ngx_kvs_debug(ngx_cycle->log, "kvs resolve: peer \"%V\" is "
                          "still at %V", &peer->address, &peer->addr_text);
        }
    }

    while (!ngx_queue_empty(&peer->waiting)) {
        q = ngx_queue_head(&peer->waiting);
        ngx_queue_remove(q);
        call = ngx_queue_data(q, ngx_kvs_call_t, queue);

        if (call->wait.timer_set) {
            ngx_del_timer(&call->wait);
        }

        if (peer->socklen) {
            ngx_kvs_call_exchange(call);

        } else {
            ngx_kvs_call_done(call, ngx_kvs_call_unresolved(call, error));
        }
    }
}


/* whether a peer is the one an address names, however it is written */

ngx_uint_t
ngx_kvs_peer_is(ngx_kvs_peer_t *peer, kvs_address_t *a)
{
    return peer->ssl == (ngx_uint_t) a->ssl
           && peer->hostport.len == a->authority_len
           && ngx_strncmp(peer->hostport.data, a->authority,
                          a->authority_len)
              == 0;
}


static void
ngx_kvs_peer_close_connection(ngx_connection_t *c)
{
    ngx_pool_t  *pool;

#if (NGX_SSL)
    if (c->ssl) {
        c->ssl->no_wait_shutdown = 1;
        (void) ngx_ssl_shutdown(c);
    }
#endif

    pool = c->pool;
    ngx_close_connection(c);

    if (pool) {
        ngx_destroy_pool(pool);
    }
}


/*
 * What every call needs, whichever way it is made: the request in
 * call->out, and the buffer and parser state of its answer.
 */

static ngx_int_t
ngx_kvs_call_prepare(ngx_kvs_call_t *call)
{
    u_char     *p;
    size_t      len;
    ngx_buf_t  *b;

    call->parser = ngx_pcalloc(call->pool, sizeof(ngx_http_request_t));

    len = call->method.len + 1 + call->uri.len
          + sizeof(" HTTP/1.1\r\nHost: \r\nContent-Length: \r\n\r\n") - 1
          + call->peer->hostport.len + NGX_OFF_T_LEN + call->headers.len
          + call->body.len;

    b = ngx_create_temp_buf(call->pool, len);

    /* the answer's buffer grows to its Content-Length, up to
     * max_response, as the answer comes (ngx_kvs_call_grow()): a limit
     * of a peer's largest batch is not allocated for every call */
    call->in = ngx_create_temp_buf(call->pool,
                                   NGX_KVS_PEER_HEADERS_MAX
                                   + ngx_min(call->max_response,
                                             NGX_KVS_PEER_ANSWER_FIRST));

    if (call->parser == NULL || b == NULL || call->in == NULL) {
        return NGX_ERROR;
    }

    p = ngx_sprintf(b->last, "%V %V HTTP/1.1\r\nHost: %V\r\n"
                    "Content-Length: %uz\r\n%V\r\n",
                    &call->method, &call->uri, &call->peer->hostport,
                    call->body.len, &call->headers);
    b->last = ngx_cpymem(p, call->body.data, call->body.len);

    call->out = b;

    return NGX_OK;
}


void
ngx_kvs_call_start(ngx_kvs_call_t *call)
{
    call->finish.handler = ngx_kvs_call_finish;
    call->finish.data = call;
    call->finish.log = call->log;

    call->peer->calls++;
    call->peer->used = ngx_current_msec;

    if (ngx_kvs_call_prepare(call) != NGX_OK) {
        ngx_kvs_call_done(call, "out of memory");
        return;
    }

    if (call->peer->socklen == 0) {
        ngx_kvs_call_wait(call);
        return;
    }

    ngx_kvs_call_exchange(call);
}


/*
 * A call to a peer whose name has no address yet waits for the lookup, for
 * at most its timeout; when no lookup is to be made now (one failed a
 * moment ago), it fails at once with the lookup's reason.
 */

static void
ngx_kvs_call_wait(ngx_kvs_call_t *call)
{
    if (ngx_kvs_resolve(call->peer) != NGX_OK) {
        ngx_kvs_call_done(call,
                          ngx_kvs_call_unresolved(call,
                                         ngx_kvs_resolve_error(call->peer)));
        return;
    }

    ngx_queue_insert_tail(&call->peer->waiting, &call->queue);

    call->wait.handler = ngx_kvs_call_wait_timeout;
    call->wait.data = call;
    call->wait.log = call->log;

    ngx_add_timer(&call->wait, call->timeout);

    ngx_kvs_debug(call->log, "kvs peer: %V%V waits for its host name's "
                  "address", &call->peer->address, &call->uri);
}


static void
ngx_kvs_call_wait_timeout(ngx_event_t *ev)
{
    ngx_kvs_call_t  *call;

    call = ev->data;

    ngx_queue_remove(&call->queue);

    ngx_kvs_call_done(call, "its host name was not resolved within "
                            "peer_timeout");
}


/* the failure of a call whose peer's name has no address: a sentence */

static const char *
ngx_kvs_call_unresolved(ngx_kvs_call_t *call, const char *why)
{
    u_char  *p;
    size_t   len;

    if (why == NULL) {
        return "its host name is not resolved yet";
    }

    len = sizeof("its host name does not resolve: ") + ngx_strlen(why);

    p = ngx_pnalloc(call->pool, len);
    if (p == NULL) {
        return "its host name does not resolve";
    }

    (void) ngx_sprintf(p, "its host name does not resolve: %s%Z", why);

    return (const char *) p;
}


/* a peer with an address: its kept connection, or a fresh one */

static void
ngx_kvs_call_exchange(ngx_kvs_call_t *call)
{
    if (call->peer->idle) {
        call->pc.connection = call->peer->idle;
        call->peer->idle = NULL;
        call->reused = 1;

        call->pc.connection->idle = 0;
        call->pc.connection->log = call->log;
        call->pc.connection->read->log = call->log;
        call->pc.connection->write->log = call->log;

        if (call->pc.connection->read->timer_set) {
            ngx_del_timer(call->pc.connection->read);
        }

        call->pc.connection->data = call;
        call->pc.connection->read->handler = ngx_kvs_call_read;
        call->pc.connection->write->handler = ngx_kvs_call_write;

        ngx_kvs_call_write(call->pc.connection->write);
        return;
    }

    ngx_kvs_call_connect(call);
}


static void
ngx_kvs_call_connect(ngx_kvs_call_t *call)
{
    ngx_int_t          rc;
    ngx_connection_t  *c;

    call->reused = 0;
    ngx_memcpy(&call->sockaddr, &call->peer->sockaddr, call->peer->socklen);
    call->pc.sockaddr = &call->sockaddr.sockaddr;
    call->pc.socklen = call->peer->socklen;
    call->pc.name = &call->peer->address;
    call->pc.get = ngx_event_get_peer;
    call->pc.log = call->log;
    call->pc.log_error = NGX_ERROR_INFO;

    rc = ngx_event_connect_peer(&call->pc);

    if (rc == NGX_ERROR || rc == NGX_BUSY || rc == NGX_DECLINED) {
        call->pc.connection = NULL;
        ngx_kvs_call_done(call, "cannot connect");
        return;
    }

    c = call->pc.connection;
    c->data = call;
    c->read->handler = ngx_kvs_call_read;
    c->write->handler = ngx_kvs_call_write;

    /* the connection may outlive the call, kept alive: its own pool */

    c->pool = ngx_create_pool(1024, call->log);
    if (c->pool == NULL) {
        ngx_kvs_call_done(call, "out of memory");
        return;
    }

    if (rc == NGX_AGAIN) {
        ngx_add_timer(c->write, call->timeout);
        return;
    }

    ngx_kvs_call_write(c->write);
}


static ngx_int_t
ngx_kvs_call_connected(ngx_connection_t *c)
{
    int        err;
    socklen_t  len;

    err = 0;
    len = sizeof(int);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len) == -1) {
        err = ngx_socket_errno;
    }

    return err == 0 ? NGX_OK : NGX_ERROR;
}


static void
ngx_kvs_call_write(ngx_event_t *wev)
{
    ssize_t            n;
    ngx_buf_t         *b;
    ngx_connection_t  *c;
    ngx_kvs_call_t    *call;

    c = wev->data;
    call = c->data;
    b = call->out;

    if (wev->timedout) {
        ngx_kvs_call_done(call, "timed out");
        return;
    }

    if (wev->timer_set) {
        ngx_del_timer(wev);
    }

    if (!call->sending) {
        if (!call->reused && ngx_kvs_call_connected(c) != NGX_OK) {
            ngx_kvs_call_done(call, "connection refused");
            return;
        }

#if (NGX_SSL)
        if (call->peer->ssl && c->ssl == NULL) {
            ngx_kvs_call_ssl(call, c);
            return;
        }
#endif

        call->sending = 1;
    }

    while (b->pos < b->last) {
        n = c->send(c, b->pos, b->last - b->pos);

        if (n == NGX_AGAIN) {
            ngx_add_timer(wev, call->timeout);

            if (ngx_handle_write_event(wev, 0) != NGX_OK) {
                ngx_kvs_call_done(call, "cannot send");
            }

            return;
        }

        if (n == NGX_ERROR) {
            if (call->reused) {
                ngx_kvs_call_done(call, NULL);
                return;
            }

            ngx_kvs_call_done(call, "cannot send");
            return;
        }

        b->pos += n;
    }

    wev->handler = ngx_kvs_call_sent;

    if (ngx_handle_write_event(wev, 0) != NGX_OK) {
        ngx_kvs_call_done(call, "cannot send");
        return;
    }

    ngx_add_timer(c->read, call->timeout);

    if (c->read->ready) {
        ngx_kvs_call_read(c->read);
    }
}


static void
ngx_kvs_call_sent(ngx_event_t *wev)
{
    /* the request is out; the answer comes as read events */
}


static void
ngx_kvs_call_read(ngx_event_t *rev)
{
    ssize_t            n;
    ngx_int_t          rc;
    ngx_buf_t         *b;
    ngx_connection_t  *c;
    ngx_kvs_call_t    *call;

    c = rev->data;
    call = c->data;
    b = call->in;

    if (rev->timedout) {
        ngx_kvs_call_done(call, "timed out");
        return;
    }

    for ( ;; ) {
        if (b->last == b->end && ngx_kvs_call_grow(call) != NGX_OK) {
            ngx_kvs_call_done(call, "the answer is too large");
            return;
        }

        b = call->in;

        n = c->recv(c, b->last, b->end - b->last);

        if (n == NGX_AGAIN) {
            if (ngx_handle_read_event(rev, 0) != NGX_OK) {
                ngx_kvs_call_done(call, "cannot read");
            }
            return;
        }

        if (n == NGX_ERROR || n == 0) {
            if (call->reused && b->last == b->start) {
                /* the peer closed the kept connection: one fresh try */
                ngx_kvs_call_done(call, NULL);
                return;
            }

            ngx_kvs_call_done(call, n == 0 ? ngx_kvs_call_closed(call)
                                           : "the peer closed the connection");
            return;
        }

        b->last += n;

        rc = ngx_kvs_call_parse(call);

        if (rc == NGX_OK) {
            ngx_kvs_call_done(call, "");
            return;
        }

        if (rc == NGX_ERROR) {
            ngx_kvs_call_done(call, "the answer is not valid HTTP");
            return;
        }
    }
}


/*
 * The answer's buffer is full: once its headers are in, it grows to the
 * Content-Length (or doubles, without one), up to max_response.  Only the
 * body follows the headers then, and only body_start points into the
 * buffer.  NGX_DECLINED: it may not grow.
 */

static ngx_int_t
ngx_kvs_call_grow(ngx_kvs_call_t *call)
{
    size_t      used, cap, want, size;
    u_char     *p;
    ngx_buf_t  *b;

    b = call->in;

    if (!call->headers_done) {
        return NGX_DECLINED;
    }

    used = b->last - b->start;
    cap = b->end - b->start;
    want = (call->body_start - b->start) + call->max_response;

    if (cap >= want) {
        return NGX_DECLINED;
    }

    if (call->content_length >= 0
        && (size_t) call->content_length <= call->max_response)
    {
        size = (call->body_start - b->start)
               + (size_t) call->content_length;

    } else {
        size = ngx_min(2 * cap, want);
    }

    if (size <= cap) {
        return NGX_DECLINED;
    }

    p = ngx_palloc(call->pool, size);
    if (p == NULL) {
        return NGX_DECLINED;
    }

    ngx_memcpy(p, b->start, used);

    call->body_start = p + (call->body_start - b->start);
    b->pos = p + (b->pos - b->start);
    b->last = p + used;
    b->start = p;
    b->end = p + size;

    return NGX_OK;
}


/* the peer closed the connection: "" when that ends an answer without
 * Content-Length, or why the answer is not whole */

static const char *
ngx_kvs_call_closed(ngx_kvs_call_t *call)
{
    if (!call->headers_done || call->content_length != -1) {
        return "the peer closed the connection";
    }

    call->response.data = call->body_start;
    call->response.len = call->in->last - call->body_start;
    call->keepalive = 0;

    return "";
}


/* NGX_OK: the whole answer is in; NGX_AGAIN: more to read */

static ngx_int_t
ngx_kvs_call_parse(ngx_kvs_call_t *call)
{
    ngx_int_t            rc;
    ngx_str_t            name, value;
    ngx_buf_t           *b;
    ngx_http_status_t    status;
    ngx_http_request_t  *r;

    b = call->in;
    r = call->parser;

    if (call->status == 0) {
        ngx_memzero(&status, sizeof(ngx_http_status_t));

        rc = ngx_http_parse_status_line(r, b, &status);
        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }

        call->status = status.code;
        call->content_length = -1;
        call->keepalive = 1;
        call->more = 0;
        r->state = 0;
    }

    while (!call->headers_done) {
        rc = ngx_http_parse_header_line(r, b, 1);

        if (rc == NGX_AGAIN) {
            return NGX_AGAIN;
        }

        if (rc == NGX_HTTP_PARSE_HEADER_DONE) {
            call->headers_done = 1;
            call->body_start = b->pos;
            break;
        }

        if (rc != NGX_OK) {
            return NGX_ERROR;
        }

        name.data = r->header_name_start;
        name.len = r->header_name_end - r->header_name_start;
        value.data = r->header_start;
        value.len = r->header_end - r->header_start;

        if (name.len == sizeof("Content-Length") - 1
            && ngx_strncasecmp(name.data, (u_char *) "Content-Length",
                               name.len) == 0)
        {
            call->content_length = ngx_atoof(value.data, value.len);
            if (call->content_length < 0
                || call->content_length > (off_t) call->max_response)
            {
                return NGX_ERROR;
            }

        } else if (name.len == sizeof("Connection") - 1
                   && ngx_strncasecmp(name.data, (u_char *) "Connection",
                                      name.len) == 0
                   && value.len == sizeof("close") - 1
                   && ngx_strncasecmp(value.data, (u_char *) "close",
                                      value.len) == 0)
        {
            call->keepalive = 0;

        } else if (name.len == sizeof("X-KVS-More") - 1
                   && ngx_strncasecmp(name.data, (u_char *) "X-KVS-More",
                                      name.len) == 0
                   && value.len == 1 && value.data[0] == '1')
        {
            call->more = 1;

        } else if (name.len == sizeof("Transfer-Encoding") - 1
                   && ngx_strncasecmp(name.data,
                                      (u_char *) "Transfer-Encoding",
                                      name.len) == 0)
        {
            /* KVS peers always send Content-Length */
            return NGX_ERROR;
        }
    }

    if (call->content_length == -1) {
        call->keepalive = 0;
        return NGX_AGAIN;
    }

    if (b->last - call->body_start < call->content_length) {
        return NGX_AGAIN;
    }

    call->response.data = call->body_start;
    call->response.len = (size_t) call->content_length;

    if (b->last - call->body_start > call->content_length) {
        call->keepalive = 0;
    }

    return NGX_OK;
}


/*
 * Ends a call: error NULL retries on a fresh connection (a kept one was
 * stale), "" is success, anything else a failure.
 */

static void
ngx_kvs_call_done(ngx_kvs_call_t *call, const char *error)
{
    ngx_connection_t  *c;

    c = call->pc.connection;

    if (c && c->read->timer_set) {
        ngx_del_timer(c->read);
    }

    if (c && c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (error == NULL) {
        ngx_kvs_peer_close_connection(c);
        call->pc.connection = NULL;
        call->out->pos = call->out->start;
        call->in->pos = call->in->start;
        call->in->last = call->in->start;
        call->sending = 0;
        ngx_kvs_call_connect(call);
        return;
    }

    if (*error == '\0') {
        call->error = NULL;

        if (call->keepalive && call->peer->idle == NULL) {
            c->idle = 1;
            c->log = ngx_cycle->log;
            c->read->log = ngx_cycle->log;
            c->write->log = ngx_cycle->log;
            c->data = call->peer;
            c->read->handler = ngx_kvs_peer_idle_handler;
            c->write->handler = ngx_kvs_peer_idle_handler;
            ngx_add_timer(c->read, NGX_KVS_PEER_IDLE_TIMEOUT);
            call->peer->idle = c;

            /* the answer lives in the call's pool, not the connection */
            c = NULL;

        } else if (c) {
            ngx_kvs_peer_close_connection(c);
        }

    } else {
        call->status = 0;
        call->error = error;

        if (c) {
            ngx_kvs_peer_close_connection(c);
        }

        /* no answer: the name may have moved to another address */
        (void) ngx_kvs_resolve(call->peer);
    }

    call->pc.connection = NULL;

    ngx_post_event(&call->finish, &ngx_posted_events);
}


const char *
ngx_kvs_call_failure(ngx_kvs_call_t *call)
{
    u_char  *p;

    if (call->error) {
        return call->error;
    }

    p = ngx_pnalloc(call->pool, sizeof("answered 999"));
    if (p == NULL) {
        return "answered with an error";
    }

    ngx_sprintf(p, "answered %ui%Z", call->status);

    return (const char *) p;
}


static void
ngx_kvs_call_finish(ngx_event_t *ev)
{
    ngx_kvs_call_t  *call;
    ngx_kvs_peer_t  *peer;

    /* the peer stays busy while its handler runs (which may start calls
     * that make room in the agent's table, and frees the call) */

    call = ev->data;
    peer = call->peer;

    call->handler(call);

    peer->calls--;
}


/* a kept-alive connection: any event means the peer closed it, or idled */

static void
ngx_kvs_peer_idle_handler(ngx_event_t *ev)
{
    ngx_connection_t  *c;
    ngx_kvs_peer_t    *peer;

    c = ev->data;
    peer = c->data;

    if (ev->write) {
        return;
    }

    if (peer->idle == c) {
        peer->idle = NULL;
    }

    ngx_kvs_peer_close_connection(c);
}


/*
 * A call made without an event loop, for the one exchange that has none:
 * the master's, as nginx stops, telling peers that this node leaves.  The
 * request is the one an event-loop call sends, over TLS set up by the same
 * functions (SNI, the certificate's check), and the answer goes through
 * the same parser; the socket blocks, for at most the call's timeout in
 * all.  No handler runs: status and response, or error, are as a handler
 * would find them when this returns.
 */

typedef struct {
    ngx_socket_t     fd;
    ngx_msec_t       deadline;
#if (NGX_SSL)
    SSL             *ssl;
#endif
} ngx_kvs_blocking_t;


/* a clock the wall clock's steps do not move, as nginx's timers use */

static ngx_msec_t
ngx_kvs_blocking_now(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (ngx_msec_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* the next wait of the socket: what is left of the call's time */

static ngx_int_t
ngx_kvs_blocking_wait(ngx_kvs_blocking_t *bl)
{
    ngx_msec_t      now, left;
    struct timeval  tv;

    now = ngx_kvs_blocking_now();

    if (now >= bl->deadline) {
        return NGX_ERROR;
    }

    left = bl->deadline - now;
    tv.tv_sec = (time_t) (left / 1000);
    tv.tv_usec = (suseconds_t) ((left % 1000) * 1000);

    if (setsockopt(bl->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1
        || setsockopt(bl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))
           == -1)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ssize_t
ngx_kvs_blocking_send(ngx_kvs_blocking_t *bl, u_char *p, size_t len)
{
#if (NGX_SSL)
    if (bl->ssl) {
        return SSL_write(bl->ssl, p, (int) len);
    }
#endif

    return send(bl->fd, p, len, 0);
}


static ssize_t
ngx_kvs_blocking_recv(ngx_kvs_blocking_t *bl, u_char *p, size_t len)
{
#if (NGX_SSL)
    if (bl->ssl) {
        return SSL_read(bl->ssl, p, (int) ngx_min(len, NGX_MAX_INT32_VALUE));
    }
#endif

    return recv(bl->fd, p, len, 0);
}


/* a wait the socket's timeout ended says so; anything else, what failed
 * (connect() ends such a wait with EINPROGRESS) */

static const char *
ngx_kvs_blocking_failed(const char *failure)
{
    ngx_err_t  err;

    err = ngx_socket_errno;

    return (err == NGX_EAGAIN || err == NGX_EINPROGRESS) ? "timed out"
                                                        : failure;
}


/* "" once the answer is whole, or why not */

static const char *
ngx_kvs_blocking_exchange(ngx_kvs_call_t *call, ngx_kvs_blocking_t *bl)
{
    ssize_t      n;
    ngx_int_t    rc;
    ngx_buf_t   *b;
#if (NGX_SSL)
    const char  *failure;
#endif

    if (ngx_kvs_blocking_wait(bl) != NGX_OK
        || connect(bl->fd, &call->peer->sockaddr.sockaddr,
                   call->peer->socklen)
           == -1)
    {
        return ngx_kvs_blocking_failed("cannot connect");
    }

#if (NGX_SSL)
    if (call->peer->ssl) {
        bl->ssl = ngx_kvs_peer_ssl ? SSL_new(ngx_kvs_peer_ssl->ctx) : NULL;

        if (bl->ssl == NULL
            || SSL_set_fd(bl->ssl, bl->fd) != 1
            || ngx_kvs_peer_ssl_name(call->peer, bl->ssl, call->pool)
               != NGX_OK)
        {
            return "cannot start TLS";
        }

        if (ngx_kvs_blocking_wait(bl) != NGX_OK
            || SSL_connect(bl->ssl) != 1)
        {
            return ngx_kvs_blocking_failed("the TLS handshake failed");
        }

        failure = ngx_kvs_peer_ssl_verify(call->peer, bl->ssl);
        if (failure != NULL) {
            return failure;
        }
    }
#endif

    b = call->out;

    while (b->pos < b->last) {
        if (ngx_kvs_blocking_wait(bl) != NGX_OK) {
            return "timed out";
        }

        n = ngx_kvs_blocking_send(bl, b->pos, b->last - b->pos);
        if (n <= 0) {
            return ngx_kvs_blocking_failed("cannot send");
        }

        b->pos += n;
    }

    b = call->in;

    for ( ;; ) {
        if (b->last == b->end && ngx_kvs_call_grow(call) != NGX_OK) {
            return "the answer is too large";
        }

        b = call->in;

        if (ngx_kvs_blocking_wait(bl) != NGX_OK) {
            return "timed out";
        }

        n = ngx_kvs_blocking_recv(bl, b->last, b->end - b->last);

        if (n == 0) {
            return ngx_kvs_call_closed(call);
        }

        if (n < 0) {
            return ngx_kvs_blocking_failed("the peer closed the connection");
        }

        b->last += n;

        rc = ngx_kvs_call_parse(call);

        if (rc == NGX_OK) {
            return "";
        }

        if (rc == NGX_ERROR) {
            return "the answer is not valid HTTP";
        }
    }
}


static const char *
ngx_kvs_blocking_resolve(ngx_kvs_call_t *call)
{
    ngx_url_t  u;

    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = call->peer->hostport;

    if (ngx_parse_url(call->pool, &u) != NGX_OK || u.naddrs == 0) {
        return ngx_kvs_call_unresolved(call, u.err ? u.err : "no address");
    }

    ngx_kvs_peer_set_address(call->peer, u.addrs[0].sockaddr,
                             u.addrs[0].socklen);

    return NULL;
}


void
ngx_kvs_call_blocking(ngx_kvs_call_t *call)
{
    const char          *error;
    ngx_kvs_blocking_t   bl;

    ngx_memzero(&bl, sizeof(ngx_kvs_blocking_t));
    bl.deadline = ngx_kvs_blocking_now() + call->timeout;

    if (ngx_kvs_call_prepare(call) != NGX_OK) {
        error = "out of memory";
        goto done;
    }

    /* no event loop here: a host name is looked up the blocking way */

    if (call->peer->socklen == 0) {
        error = ngx_kvs_blocking_resolve(call);
        if (error != NULL) {
            goto done;
        }
    }

    bl.fd = ngx_socket(call->peer->sockaddr.sockaddr.sa_family, SOCK_STREAM,
                       0);
    if (bl.fd == (ngx_socket_t) -1) {
        error = "cannot connect";
        goto done;
    }

    error = ngx_kvs_blocking_exchange(call, &bl);

#if (NGX_SSL)
    if (bl.ssl) {
        SSL_free(bl.ssl);
    }
#endif

    (void) ngx_close_socket(bl.fd);

done:

    if (*error != '\0') {
        call->status = 0;
        call->error = error;
    }
}


#if (NGX_SSL)

static void
ngx_kvs_call_ssl(ngx_kvs_call_t *call, ngx_connection_t *c)
{
    ngx_int_t  rc;

    if (ngx_kvs_peer_ssl == NULL
        || ngx_ssl_create_connection(ngx_kvs_peer_ssl, c,
                                     NGX_SSL_BUFFER|NGX_SSL_CLIENT)
           != NGX_OK)
    {
        ngx_kvs_call_done(call, "cannot start TLS");
        return;
    }

    c->sendfile = 0;

    if (ngx_kvs_peer_ssl_name(call->peer, c->ssl->connection, call->pool)
        != NGX_OK)
    {
        ngx_kvs_call_done(call, "cannot name the peer's host (SNI)");
        return;
    }

    rc = ngx_ssl_handshake(c);

    if (rc == NGX_AGAIN) {
        ngx_add_timer(c->write, call->timeout);
        c->ssl->handler = ngx_kvs_call_ssl_done;
        return;
    }

    ngx_kvs_call_ssl_done(c);
}


static void
ngx_kvs_call_ssl_done(ngx_connection_t *c)
{
    const char      *failure;
    ngx_kvs_call_t  *call;

    call = c->data;

    if (c->write->timer_set) {
        ngx_del_timer(c->write);
    }

    if (!c->ssl->handshaked) {
        ngx_kvs_call_done(call, "the TLS handshake failed");
        return;
    }

    failure = ngx_kvs_peer_ssl_verify(call->peer, c->ssl->connection);
    if (failure != NULL) {
        ngx_kvs_call_done(call, failure);
        return;
    }

    c->read->handler = ngx_kvs_call_read;
    c->write->handler = ngx_kvs_call_write;

    call->sending = 1;
    ngx_kvs_call_write(c->write);
}

#endif
