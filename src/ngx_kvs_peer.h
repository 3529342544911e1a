/*
 * The cluster agent's HTTP client to its peers; see ngx_kvs_peer.c.
 */

#ifndef NGX_KVS_PEER_H
#define NGX_KVS_PEER_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "kvs_members.h"


typedef struct ngx_kvs_peer_s    ngx_kvs_peer_t;
typedef struct ngx_kvs_call_s    ngx_kvs_call_t;
typedef struct ngx_kvs_lookup_s  ngx_kvs_lookup_t;

typedef void (*ngx_kvs_call_handler_pt)(ngx_kvs_call_t *call);


struct ngx_kvs_peer_s {
    ngx_pool_t               *pool;          /* its own: ngx_kvs_peer_destroy()
                                                frees it whole */
    ngx_str_t                 address;       /* as gossiped: "host:port",
                                                or "https://host:port" */
    ngx_str_t                 host;          /* for SNI and the
                                                certificate's name */
    ngx_str_t                 hostport;      /* for Host and the resolver */
    in_port_t                 port;
    ngx_sockaddr_t            sockaddr;      /* where calls go */
    socklen_t                 socklen;       /* 0: no address known yet */
    ngx_str_t                 addr_text;     /* the address, for logs */
    u_char                    addr_buf[NGX_SOCKADDR_STRLEN];
    ngx_kvs_lookup_t         *lookup;        /* a host name's lookups on
                                                the agent's thread
                                                (ngx_kvs_resolve.c) */
    ngx_queue_t               waiting;       /* calls waiting for its first
                                                address */
    ngx_connection_t         *idle;          /* one kept-alive connection */
    ngx_uint_t                calls;         /* started, handler not run */
    ngx_msec_t                used;          /* when a call last started */
    unsigned                  ssl:1;
    unsigned                  ip:1;          /* host is an address */
};


struct ngx_kvs_call_s {
    ngx_kvs_peer_t           *peer;
    ngx_pool_t               *pool;          /* the call's own; the handler
                                                destroys it */
    ngx_log_t                *log;
    ngx_str_t                 method;
    ngx_str_t                 uri;
    ngx_str_t                 headers;       /* "Name: value\r\n" lines */
    ngx_str_t                 body;
    ngx_msec_t                timeout;
    size_t                    max_response;
    ngx_kvs_call_handler_pt   handler;
    void                     *data;

    /* the result, when the handler runs */
    ngx_uint_t                status;        /* 0: no answer, see error */
    ngx_str_t                 response;
    const char               *error;
    unsigned                  more:1;        /* X-KVS-More: 1, the answer
                                                was cut and more follows */

    /* the exchange */
    ngx_queue_t               queue;         /* in peer->waiting */
    ngx_event_t               wait;          /* the timeout of that wait */
    ngx_sockaddr_t            sockaddr;      /* the peer's address as the
                                                call connects */
    ngx_peer_connection_t     pc;
    ngx_buf_t                *out;
    ngx_buf_t                *in;
    ngx_http_request_t       *parser;        /* state for nginx's parsers */
    ngx_event_t               finish;        /* runs the handler */
    off_t                     content_length;
    u_char                   *body_start;
    unsigned                  reused:1;
    unsigned                  keepalive:1;
    unsigned                  headers_done:1;
    unsigned                  sending:1;
};


#if (NGX_SSL)
/* The TLS context of calls to https:// peers, made from the configuration
 * (files "" when not given); NULL, and logged, when a file cannot be used.
 * With a CA file, peers' certificates are checked against it and must name
 * the peer's host; with a certificate and key, they are presented to peers
 * that ask for a client certificate. */
ngx_ssl_t *ngx_kvs_peer_ssl_create(ngx_conf_t *cf, ngx_str_t *ca_file,
    ngx_str_t *cert_file, ngx_str_t *key_file);
/* The context this process's calls use; verify when it has a CA file. */
void ngx_kvs_peer_ssl_init(ngx_ssl_t *ssl, ngx_uint_t verify);
/* Names the peer's host in a TLS connection to it (SNI), before the
 * handshake; then, after it, NULL when its certificate is one to talk
 * to, or why not. */
ngx_int_t ngx_kvs_peer_ssl_name(ngx_kvs_peer_t *peer, SSL *ssl,
    ngx_pool_t *pool);
const char *ngx_kvs_peer_ssl_verify(ngx_kvs_peer_t *peer, SSL *ssl);
#endif

/* A peer at an address (kvs_address_parse()); NULL, and logged, when it
 * cannot be called.  An IP address is its address at once; a host name is
 * looked up when the peer is first called: on the agent's thread
 * (ngx_kvs_resolve.c) by ngx_kvs_call_start(), right there by
 * ngx_kvs_call_blocking(). */
ngx_kvs_peer_t *ngx_kvs_peer_create(ngx_str_t *address, ngx_log_t *log);
/* Whether a call or a lookup of the peer's is out: while one is, the peer
 * must not be destroyed. */
ngx_uint_t ngx_kvs_peer_busy(ngx_kvs_peer_t *peer);
/* Frees a peer that is not busy, its kept connection and its lookups'
 * state. */
void ngx_kvs_peer_destroy(ngx_kvs_peer_t *peer);
ngx_uint_t ngx_kvs_peer_is(ngx_kvs_peer_t *peer, kvs_address_t *a);

/* What a lookup of the peer's host name found: an address (socklen > 0)
 * or why none (error); run on the event loop (ngx_kvs_resolve.c). */
void ngx_kvs_peer_resolved(ngx_kvs_peer_t *peer, struct sockaddr *sa,
    socklen_t socklen, const char *error);

/* Starts the agent's thread of lookups; later lookups of a peer wait at
 * least interval after its last one ended. */
ngx_int_t ngx_kvs_resolve_init(ngx_cycle_t *cycle, ngx_msec_t interval);
/* Looks the peer's host name up on that thread: NGX_OK when a lookup is
 * under way (ngx_kvs_peer_resolved() runs when it ends), NGX_DECLINED when
 * none is to be made now (an IP address, or too soon after the last). */
ngx_int_t ngx_kvs_resolve(ngx_kvs_peer_t *peer);
/* why the last lookup of the peer's name found no address, or NULL */
const char *ngx_kvs_resolve_error(ngx_kvs_peer_t *peer);
/* whether a lookup of the peer's name runs: its thread will hand the peer
 * its answer */
ngx_uint_t ngx_kvs_resolve_running(ngx_kvs_peer_t *peer);
/* frees the state of the peer's lookups, none running */
void ngx_kvs_resolve_forget(ngx_kvs_peer_t *peer);

/* Why a call did not get its 200, in words: its error, or "answered 401". */
const char *ngx_kvs_call_failure(ngx_kvs_call_t *call);

/* Starts a call; its handler runs exactly once, later, from the event
 * loop, with status and response or error set. */
void ngx_kvs_call_start(ngx_kvs_call_t *call);

/* Makes a call where no event loop runs, blocking for at most its
 * timeout; status and response or error are set when it returns, and no
 * handler runs. */
void ngx_kvs_call_blocking(ngx_kvs_call_t *call);

#endif /* NGX_KVS_PEER_H */
