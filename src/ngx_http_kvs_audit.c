/*
 * The audit log's glue: what each request tells of itself, and the two
 * endpoints that read the log.  The entries themselves are the core's
 * (kvs_audit.c, kvs_store_audit.c): the store appends one in the
 * transaction of each write that carries an event.
 *
 *   a client's write     ngx_http_kvs_write_enqueue() attaches the event
 *                        of the request (ngx_http_kvs_audit_attach): who,
 *                        the client's address, the method, the object;
 *                        its entry commits with the write or not at all
 *   failed logins,       ngx_http_kvs_audit_refused(): folded per client
 *   denials (403)        and kind in the shared zone, so that a client
 *                        without a token cannot make the node write at
 *                        will: the first of a window is written at once,
 *                        the others counted, and the count written when
 *                        the window ends (by the next one after it, or
 *                        the agent's tick, or a process's exit)
 *   reads (audit_reads)  a note for the next group commit
 *   GET /api/audit       a page of entries, by key (time)
 *   GET /api/audit/verify
 *                        the chain walked on nginx's thread pool, checked
 *                        against what peers witnessed of it
 *
 * Heads travel in the gossip: each gossip request carries the heads its
 * sender holds, its own first (ngx_http_kvs_audit_heads); the receiver
 * keeps the sender's own head, and the head of its own chain the sender
 * holds, which is what verification checks the chain against.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_kvs_module.h"
#include "kvs_json.h"


/* witnesses a verification reads at most */
#define NGX_HTTP_KVS_AUDIT_WITNESSES  256

/* the flush's batch of folded counts */
#define NGX_HTTP_KVS_AUDIT_FLUSH      16


typedef struct {
    ngx_http_request_t   *request;
    kvs_store_t          *store;
    const uint8_t        *secret;
    size_t                secret_len;
    int                   rc;
    uint64_t              entries;
    size_t                nwitnesses;
    kvs_audit_verify_t    v;
    char                  err[KVS_STORE_ERRLEN];
    kvs_audit_witness_t   witnesses[NGX_HTTP_KVS_AUDIT_WITNESSES];
} ngx_http_kvs_audit_job_t;


/* a folded count copied out of the shared zone, to be written */
typedef struct {
    kvs_audit_event_t          ev;
    ngx_http_kvs_audit_fold_t  slot;
} ngx_http_kvs_audit_folded_t;


static ngx_uint_t ngx_http_kvs_audit_on(void);
static void ngx_http_kvs_audit_event(ngx_http_request_t *r,
    kvs_audit_event_t *ev, kvs_audit_kind_e kind, ngx_str_t *object,
    ngx_str_t *user);
static void ngx_http_kvs_audit_fold_event(ngx_http_kvs_audit_folded_t *f);
static ngx_int_t ngx_http_kvs_audit_read_written(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx);
static ngx_int_t ngx_http_kvs_audit_list(ngx_http_request_t *r);
static ngx_int_t ngx_http_kvs_audit_verify(ngx_http_request_t *r);
static void ngx_http_kvs_audit_verify_thread(void *data, ngx_log_t *log);
static void ngx_http_kvs_audit_verify_done(ngx_event_t *ev);
static u_char *ngx_http_kvs_audit_text(u_char *p, const char *s,
    size_t len);


/*
 * audit_secret_file, read when the configuration is, as jwt_secret_file:
 * one secret of at least KVS_AUDIT_SECRET_MIN bytes, in a file outside
 * data_dir, so that a copy of the store (a backup, a stolen disk) does
 * not carry the key that would let its holder forge entries.
 */

ngx_int_t
ngx_http_kvs_audit_conf(ngx_conf_t *cf, ngx_http_kvs_main_conf_t *kmcf)
{
    char                 err[KVS_CONFIG_ERRLEN];
    char                 real[PATH_MAX], dir[PATH_MAX];
    size_t               dlen;
    ngx_str_t            file;
    ngx_pool_cleanup_t  *cln;

    if (kmcf->kc.audit_enabled != 1) {
        return NGX_OK;
    }

    file.data = (u_char *) kmcf->kc.audit_secret_file.path;
    file.len = ngx_strlen(kmcf->kc.audit_secret_file.path);

    if (ngx_conf_full_name(cf->cycle, &file, 0) != NGX_OK) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    if (kvs_secrets_load((char *) file.data, KVS_AUDIT_SECRET_MIN,
                         &kmcf->audit_secret, &kmcf->naudit_secrets, err,
                         sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "kvs: %V:%ui: "
                           "audit_secret_file: %s", &kmcf->file,
                           (ngx_uint_t) kmcf->kc.audit_secret_file.line,
                           err);
        return NGX_ERROR;
    }

    cln->handler = ngx_http_kvs_audit_cleanup;
    cln->data = kmcf;

    if (kmcf->naudit_secrets != 1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "kvs: %V:%ui: "
                           "audit_secret_file: \"%V\" holds %uz secrets; "
                           "it must hold one: every entry is signed and "
                           "verified with it", &kmcf->file,
                           (ngx_uint_t) kmcf->kc.audit_secret_file.line,
                           &file, kmcf->naudit_secrets);
        return NGX_ERROR;
    }

    /* the file's real path against data_dir's, or its name when it is
     * not made yet */

    if (realpath((char *) file.data, real) == NULL) {
        ngx_cpystrn((u_char *) real, file.data, sizeof(real));
    }

    if (realpath((char *) kmcf->data_dir.data, dir) == NULL) {
        ngx_cpystrn((u_char *) dir, kmcf->data_dir.data, sizeof(dir));
    }

    dlen = ngx_strlen(dir);

    while (dlen > 1 && dir[dlen - 1] == '/') {
        dlen--;
    }

    if (ngx_strncmp(real, dir, dlen) == 0 && real[dlen] == '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "kvs: %V:%ui: "
                           "audit_secret_file: \"%s\" is inside data_dir "
                           "\"%*s\": keep it elsewhere, so that a copy of "
                           "the store does not carry the key that signs "
                           "its audit log", &kmcf->file,
                           (ngx_uint_t) kmcf->kc.audit_secret_file.line,
                           real, dlen, dir);
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_kvs_audit_cleanup(void *data)
{
    ngx_http_kvs_main_conf_t *kmcf = data;

    kvs_secrets_free(kmcf->audit_secret, kmcf->naudit_secrets);
    kmcf->audit_secret = NULL;
    kmcf->naudit_secrets = 0;
}


ngx_int_t
ngx_http_kvs_audit_init_process(ngx_cycle_t *cycle,
    ngx_http_kvs_main_conf_t *kmcf)
{
    if (kmcf->audit_secret == NULL) {
        return NGX_OK;
    }

    if (kvs_store_set_audit(ngx_http_kvs_store, kmcf->audit_secret[0].data,
                            kmcf->audit_secret[0].len, kmcf->kc.node_id)
        != KVS_OK)
    {
        ngx_kvs_log(NGX_LOG_EMERG, cycle->log, 0,
                    "kvs: no memory for the audit log");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_uint_t
ngx_http_kvs_audit_on(void)
{
    return ngx_http_kvs_store != NULL
           && kvs_store_audit_on(ngx_http_kvs_store);
}


/* who made the request and from where, and what it did, in ev; the
 * strings stay the request's */

static void
ngx_http_kvs_audit_event(ngx_http_request_t *r, kvs_audit_event_t *ev,
    kvs_audit_kind_e kind, ngx_str_t *object, ngx_str_t *user)
{
    ngx_http_kvs_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);

    ngx_memzero(ev, sizeof(kvs_audit_event_t));

    ev->kind = kind;
    ev->status = 0;
    ev->count = 1;

    if (user && user->len) {
        ev->user = (const char *) user->data;
        ev->user_len = user->len;

    } else if (ctx && ctx->user) {
        ev->user = (const char *) ctx->user->name.data;
        ev->user_len = ctx->user->name.len;
    }

    ev->client = (const char *) r->connection->addr_text.data;
    ev->client_len = r->connection->addr_text.len;
    ev->method = (const char *) r->method_name.data;
    ev->method_len = r->method_name.len;
    ev->object = (const char *) (object->len ? object->data : r->uri.data);
    ev->object_len = object->len ? object->len : r->uri.len;
}


/*
 * What a handler says of its write before it queues it, where the write
 * alone does not tell: the kind, and the object as "<prefix><name>"
 * ("user:bob"), and for a login the user who logs in.
 */

void
ngx_http_kvs_audit_describe(ngx_http_request_t *r, kvs_audit_kind_e kind,
    const char *prefix, ngx_str_t *name, ngx_str_t *user)
{
    size_t               plen;
    ngx_http_kvs_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);

    if (ctx == NULL || !ngx_http_kvs_audit_on()) {
        return;
    }

    ctx->audit_kind = kind;
    ctx->audit_described = 1;
    ngx_str_null(&ctx->audit_object);
    ngx_str_null(&ctx->audit_user);

    if (name && name->len) {
        plen = ngx_strlen(prefix);

        ctx->audit_object.data = ngx_pnalloc(r->pool, plen + name->len);
        if (ctx->audit_object.data != NULL) {
            ngx_memcpy(ngx_cpymem(ctx->audit_object.data, prefix, plen),
                       name->data, name->len);
            ctx->audit_object.len = plen + name->len;
        }
    }

    if (user && user->len) {
        ctx->audit_user.data = ngx_pstrdup(r->pool, user);
        if (ctx->audit_user.data != NULL) {
            ctx->audit_user.len = user->len;
        }
    }
}


/*
 * Called as a request's writes are queued: a client's PUT or DELETE (the
 * first write of the request; others, such as a user's memberships, are
 * part of the same change) carries the event of its entry.  Peers'
 * records, member merges and the agent's writes carry none.
 */

void
ngx_http_kvs_audit_attach(ngx_http_request_t *r, ngx_http_kvs_ctx_t *ctx)
{
    kvs_write_t       *w;
    kvs_audit_kind_e   kind;

    if (!ngx_http_kvs_audit_on() || ctx->peer.len) {
        return;
    }

    w = &ctx->writes[0];

    if (w->op != KVS_WRITE_PUT && w->op != KVS_WRITE_DELETE) {
        return;
    }

    if (ctx->audit_described) {
        kind = ctx->audit_kind;

    } else {
        switch (w->ns) {

        case KVS_NS_TOKEN:
            kind = w->op == KVS_WRITE_PUT ? KVS_AUDIT_LOGIN
                                          : KVS_AUDIT_LOGOUT;
            break;

        case KVS_NS_USER:
            kind = w->op == KVS_WRITE_DELETE ? KVS_AUDIT_USER_DELETE
                   : w->create_only ? KVS_AUDIT_USER_CREATE
                   : KVS_AUDIT_USER_UPDATE;
            break;

        case KVS_NS_GROUP:
            kind = w->op == KVS_WRITE_DELETE ? KVS_AUDIT_GROUP_DELETE
                   : w->create_only ? KVS_AUDIT_GROUP_CREATE
                   : KVS_AUDIT_GROUP_UPDATE;
            break;

        default:
            kind = w->op == KVS_WRITE_DELETE ? KVS_AUDIT_DELETE
                   : w->meta ? KVS_AUDIT_META
                   : KVS_AUDIT_PUT;
        }
    }

    ngx_http_kvs_audit_event(r, &ctx->audit, kind, &ctx->audit_object,
                             &ctx->audit_user);

    /* the status the request answers when its write is made */
    ctx->audit.status = kvs_audit_kinds[kind].status;

    w->audit = &ctx->audit;

    ngx_kvs_debug(r->connection->log, "kvs audit: the write of \"%V\" makes "
                  "a \"%s\" entry", &r->uri, kvs_audit_kinds[kind].name);
}


/*
 * A failed login or a denial.  Those of one client (its user, else its
 * address) and kind fold: the first of a window is noted at once, with
 * count 1; the others within the window only count in the shared zone.
 * The count is written as one entry when the window has ended, by the
 * first event of that slot after it, by the agent's tick (at most a
 * window and a tick late), or by a process that exits.
 */

void
ngx_http_kvs_audit_refused(ngx_http_request_t *r, kvs_audit_kind_e kind,
    ngx_uint_t status)
{
    u_char                      *p;
    time_t                       now, window;
    uint32_t                     hash;
    ngx_str_t                    none, who;
    ngx_uint_t                   old, fresh;
    kvs_audit_event_t            ev;
    ngx_http_kvs_shared_t       *sh;
    ngx_http_kvs_audit_fold_t   *slot;
    ngx_http_kvs_main_conf_t    *kmcf;
    ngx_http_kvs_audit_folded_t  prev;

    if (!ngx_http_kvs_audit_on()) {
        return;
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);
    sh = kmcf->shm ? kmcf->shm->data : NULL;

    ngx_str_null(&none);
    ngx_http_kvs_audit_event(r, &ev, kind, &none, NULL);
    ev.status = status;

    if (sh == NULL) {
        ngx_http_kvs_write_note(&ev, NULL);
        return;
    }

    who.data = (u_char *) (ev.user ? ev.user : ev.client);
    who.len = ev.user ? ev.user_len : ev.client_len;
    who.len = ngx_min(who.len, NGX_HTTP_KVS_AUDIT_FOLD_WHO);

    ngx_crc32_init(hash);
    ngx_crc32_update(&hash, (u_char *) &kind, sizeof(kind));
    ngx_crc32_update(&hash, (u_char *) (ev.user ? "u" : "c"), 1);
    ngx_crc32_update(&hash, who.data, who.len);
    ngx_crc32_final(hash);
    hash |= 1;                               /* 0 marks a free slot */

    now = ngx_time();
    window = NGX_HTTP_KVS_AUDIT_FOLD_WINDOW(kmcf);
    /* the bit set above is in every hash: the slot is of the others
     * (hash % SLOTS took the odd slots only) */
    slot = &sh->audit_fold[(hash >> 1) % NGX_HTTP_KVS_AUDIT_FOLD_SLOTS];

    old = 0;
    fresh = 0;

    ngx_http_kvs_shared_lock(kmcf);

    if (slot->hash == hash && now < slot->start + window) {
        slot->count++;

    } else {
        /* the slot's earlier window, or another client's, is over */
        if (slot->hash && slot->count) {
            prev.slot = *slot;
            old = 1;
        }

        slot->hash = hash;
        slot->start = now;
        slot->count = 0;
        slot->kind = (u_char) kind;
        slot->has_user = ev.user != NULL;
        slot->user_len = (u_char) kvs_audit_cut(ev.user, ev.user_len,
                                                NGX_HTTP_KVS_AUDIT_FOLD_WHO);
        slot->client_len = (u_char) kvs_audit_cut(ev.client, ev.client_len,
                                                  NGX_HTTP_KVS_AUDIT_FOLD_WHO);
        slot->method_len = (u_char) kvs_audit_cut(ev.method, ev.method_len,
                                                  KVS_AUDIT_METHOD_MAX);
        slot->object_len = (u_char) kvs_audit_cut(ev.object, ev.object_len,
                                              NGX_HTTP_KVS_AUDIT_FOLD_OBJECT);

        p = slot->user;
        if (ev.user) {
            ngx_memcpy(p, ev.user, slot->user_len);
        }

        ngx_memcpy(slot->client, ev.client, slot->client_len);
        ngx_memcpy(slot->method, ev.method, slot->method_len);
        ngx_memcpy(slot->object, ev.object, slot->object_len);

        fresh = 1;
    }

    ngx_http_kvs_shared_unlock(kmcf);

    if (old) {
        ngx_http_kvs_audit_fold_event(&prev);
        ngx_http_kvs_write_note(&prev.ev, NULL);
    }

    if (fresh) {
        ngx_http_kvs_write_note(&ev, NULL);
    }

    ngx_kvs_debug(r->connection->log, "kvs audit: \"%s\" of \"%V\" %s",
                  kvs_audit_kinds[kind].name, &who,
                  fresh ? "noted" : "folded into its window's count");
}


/* the event of a folded count, its strings in f's copy of the slot */

static void
ngx_http_kvs_audit_fold_event(ngx_http_kvs_audit_folded_t *f)
{
    ngx_http_kvs_audit_fold_t  *s;

    s = &f->slot;

    ngx_memzero(&f->ev, sizeof(kvs_audit_event_t));

    f->ev.kind = s->kind;
    f->ev.user = s->has_user ? (const char *) s->user : NULL;
    f->ev.user_len = s->user_len;
    f->ev.client = (const char *) s->client;
    f->ev.client_len = s->client_len;
    f->ev.method = (const char *) s->method;
    f->ev.method_len = s->method_len;
    f->ev.object = (const char *) s->object;
    f->ev.object_len = s->object_len;
    f->ev.status = kvs_audit_kinds[s->kind].status;
    f->ev.count = s->count;
}


/*
 * Writes the folded counts whose window has ended (all of them, when the
 * process exits), straight to the store: the agent on its tick, a worker
 * as it exits.
 */

void
ngx_http_kvs_audit_flush(ngx_cycle_t *cycle, ngx_uint_t all)
{
    char                          err[KVS_STORE_ERRLEN];
    time_t                        now, window;
    ngx_uint_t                    i, n, j;
    kvs_write_t                   w[NGX_HTTP_KVS_AUDIT_FLUSH];
    ngx_http_kvs_shared_t        *sh;
    ngx_http_kvs_audit_fold_t    *slot;
    ngx_http_kvs_main_conf_t     *kmcf;
    ngx_http_kvs_audit_folded_t   f[NGX_HTTP_KVS_AUDIT_FLUSH];

    if (!ngx_http_kvs_audit_on()) {
        return;
    }

    kmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_kvs_module);
    sh = kmcf->shm ? kmcf->shm->data : NULL;

    if (sh == NULL) {
        return;
    }

    now = ngx_time();
    window = NGX_HTTP_KVS_AUDIT_FOLD_WINDOW(kmcf);

    for (i = 0; i < NGX_HTTP_KVS_AUDIT_FOLD_SLOTS; /* void */ ) {
        n = 0;

        ngx_http_kvs_shared_lock(kmcf);

        for ( /* void */ ;
             i < NGX_HTTP_KVS_AUDIT_FOLD_SLOTS && n < NGX_HTTP_KVS_AUDIT_FLUSH;
             i++)
        {
            slot = &sh->audit_fold[i];

            if (slot->hash && slot->count
                && (all || now >= slot->start + window))
            {
                f[n++].slot = *slot;
                slot->count = 0;
            }
        }

        ngx_http_kvs_shared_unlock(kmcf);

        if (n == 0) {
            continue;
        }

        for (j = 0; j < n; j++) {
            ngx_http_kvs_audit_fold_event(&f[j]);
            ngx_memzero(&w[j], sizeof(kvs_write_t));
            w[j].op = KVS_WRITE_AUDIT;
            w[j].audit = &f[j].ev;
        }

        if (kvs_store_write(ngx_http_kvs_store, w, n, ngx_http_kvs_now_ms(),
                            err, sizeof(err))
            != KVS_OK)
        {
            ngx_kvs_log(NGX_LOG_ERR, cycle->log, 0,
                        "kvs: %ui folded audit counts were lost: %s", n,
                        err);
        }
    }
}


/*
 * audit_reads: a GET of a key that answers 200, with the version read.
 * Its entry is a note and the answer does not wait for it, unless the
 * notes are full (reads come faster than commits take them): then the
 * read waits, its entry queued as a write of its own, and is answered
 * once that is durable, so that no read goes without its entry.  Returns
 * NGX_DECLINED when the caller answers now, NGX_DONE when the read waits.
 */

ngx_int_t
ngx_http_kvs_audit_read(ngx_http_request_t *r, ngx_str_t *key,
    const kvs_version_t *version, u_char *body, size_t len)
{
    u_char                    *p;
    ngx_str_t                  object, *answer;
    kvs_audit_event_t          ev;
    ngx_http_kvs_ctx_t        *ctx;
    ngx_http_kvs_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    if (!kmcf->kc.audit_reads || !ngx_http_kvs_audit_on()) {
        return NGX_DECLINED;
    }

    p = ngx_pnalloc(r->pool, sizeof("/kv/") - 1 + key->len);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    object.data = p;
    object.len = ngx_cpymem(ngx_cpymem(p, "/kv/", 4), key->data, key->len)
                 - p;

    ngx_http_kvs_audit_event(r, &ev, KVS_AUDIT_READ, &object, NULL);
    ev.status = NGX_HTTP_OK;

    if (ngx_http_kvs_write_note_try(&ev, version) == NGX_OK) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_kvs_get_ctx(r);
    answer = ngx_palloc(r->pool, sizeof(ngx_str_t));

    if (ctx == NULL || answer == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    answer->data = body;
    answer->len = len;

    /* the event's strings are the request's, which outlives the write */
    ctx->audit = ev;
    ngx_memzero(&ctx->write, sizeof(kvs_write_t));
    ctx->write.op = KVS_WRITE_AUDIT;
    ctx->write.audit = &ctx->audit;
    ctx->write.version = *version;
    ctx->writes = NULL;
    ctx->data = answer;
    ctx->written = ngx_http_kvs_audit_read_written;

    ngx_kvs_debug(r->connection->log, "kvs audit: the notes are full, the "
                  "read of \"%V\" waits for its entry", key);

    return ngx_http_kvs_write_queue(r, ctx);
}


static ngx_int_t
ngx_http_kvs_audit_read_written(ngx_http_request_t *r,
    ngx_http_kvs_ctx_t *ctx)
{
    ngx_str_t  *answer = ctx->data;

    return ngx_http_kvs_send(r, NGX_HTTP_OK, answer->data, answer->len);
}


/* the heads this node gossips: its own first, then those it holds of its
 * peers, "<node>:<seq>:<hex>", comma-separated, in the read transaction */

typedef struct {
    u_char   *p;
    u_char   *last;
    size_t    n;
} ngx_http_kvs_heads_t;


static int
ngx_http_kvs_audit_head_one(const kvs_member_t *m, void *data)
{
    ngx_http_kvs_heads_t *h = data;

    char              hex[KVS_AUDIT_HASH_HEX + 1];
    size_t            len;
    kvs_audit_head_t  head;

    len = ngx_strlen(m->node_id);

    if (h->n == NGX_HTTP_KVS_AUDIT_HEADS_MAX
        || (size_t) (h->last - h->p) < len + 24 + KVS_AUDIT_HASH_HEX + 2
        || kvs_store_audit_witness_get(ngx_http_kvs_store, KVS_AUDIT_HEAD,
                                       m->node_id, len, &head)
           != KVS_OK)
    {
        return KVS_OK;
    }

    kvs_audit_hex(hex, head.hash);
    h->p = ngx_sprintf(h->p, ",%s:%uL:%s", m->node_id, head.seq, hex);
    h->n++;

    return KVS_OK;
}


u_char *
ngx_http_kvs_audit_heads(ngx_http_kvs_main_conf_t *kmcf, u_char *p,
    u_char *last)
{
    char                  hex[KVS_AUDIT_HASH_HEX + 1];
    char                  err[KVS_STORE_ERRLEN];
    u_char               *start;
    kvs_audit_head_t      head;
    ngx_http_kvs_heads_t  h;

    if (!ngx_http_kvs_audit_on()
        || (size_t) (last - p) < sizeof(NGX_HTTP_KVS_AUDIT_HEADER ": \r\n")
                                 + kmcf->node_id.len + 24
                                 + KVS_AUDIT_HASH_HEX
        || kvs_store_read_begin(ngx_http_kvs_store, err, sizeof(err))
           != KVS_OK)
    {
        return p;
    }

    start = p;

    if (kvs_store_audit_head(ngx_http_kvs_store, &head) != KVS_OK) {
        kvs_store_read_end(ngx_http_kvs_store);
        return start;
    }

    kvs_audit_hex(hex, head.hash);
    p = ngx_sprintf(p, NGX_HTTP_KVS_AUDIT_HEADER ": %V:%uL:%s",
                    &kmcf->node_id, head.seq, hex);

    h.p = p;
    h.last = last - 2;
    h.n = 1;

    (void) kvs_store_member_each(ngx_http_kvs_store,
                                 ngx_http_kvs_audit_head_one, &h);

    kvs_store_read_end(ngx_http_kvs_store);

    *h.p++ = '\r';
    *h.p++ = '\n';

    return h.p;
}


/* "<seq>:<hex>" of a gossiped head */

static ngx_int_t
ngx_http_kvs_audit_parse_head(u_char *p, u_char *end, kvs_audit_head_t *head)
{
    u_char  *colon;

    colon = ngx_strlchr(p, end, ':');
    if (colon == NULL || colon == p || colon - p > 20) {
        return NGX_ERROR;
    }

    head->seq = (uint64_t) ngx_atoof(p, colon - p);

    if ((off_t) head->seq == NGX_ERROR
        || kvs_audit_unhex(head->hash, (const char *) colon + 1,
                           end - colon - 1)
           != 0)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * A gossip's heads, at the receiver: the sender's own head, and the head
 * of this node's chain the sender holds, each queued as a
 * KVS_WRITE_WITNESS with the gossip's member merge when it is newer than
 * the one kept.  The header is not signed: what a forger could put there
 * is a false alarm of verification, never a pass (TLS between peers
 * closes that too).
 */

ngx_int_t
ngx_http_kvs_audit_witness(ngx_http_request_t *r, ngx_http_kvs_ctx_t *ctx,
    ngx_str_t *sender)
{
    u_char                    *p, *end, *comma, *colon, *value;
    char                       err[KVS_STORE_ERRLEN];
    ngx_uint_t                 n;
    kvs_write_t               *w;
    ngx_table_elt_t           *h;
    kvs_audit_head_t           head, held;
    ngx_http_kvs_main_conf_t  *kmcf;

    if (!ngx_http_kvs_audit_on()) {
        return NGX_OK;
    }

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    h = ngx_http_kvs_header(r, NGX_HTTP_KVS_AUDIT_HEADER);

    if (h == NULL) {
        return NGX_OK;
    }

    w = ngx_pcalloc(r->pool, 3 * sizeof(kvs_write_t));
    value = ngx_pnalloc(r->pool, 2 * KVS_AUDIT_WITNESS_VALUE);
    if (w == NULL || value == NULL) {
        return NGX_ERROR;
    }

    w[0] = ctx->write;
    n = 1;

    if (kvs_store_read_begin(ngx_http_kvs_store, err, sizeof(err))
        != KVS_OK)
    {
        return NGX_OK;
    }

    p = h->value.data;
    end = p + h->value.len;

    for ( /* void */ ; p < end && n < 3; p = comma + 1) {
        comma = ngx_strlchr(p, end, ',');
        if (comma == NULL) {
            comma = end;
        }

        colon = ngx_strlchr(p, comma, ':');

        if (colon == NULL
            || ngx_http_kvs_audit_parse_head(colon + 1, comma, &head)
               != NGX_OK)
        {
            continue;
        }

        w[n].op = KVS_WRITE_WITNESS;

        if ((size_t) (colon - p) == sender->len
            && ngx_strncmp(p, sender->data, sender->len) == 0)
        {
            w[n].ns = KVS_AUDIT_NS_HEAD;

        } else if ((size_t) (colon - p) == kmcf->node_id.len
                   && ngx_strncmp(p, kmcf->node_id.data,
                                  kmcf->node_id.len) == 0)
        {
            w[n].ns = KVS_AUDIT_NS_WITNESS;

        } else {
            continue;
        }

        /* only what moves the kept head forward is written */

        if (kvs_store_audit_witness_get(ngx_http_kvs_store,
                                        w[n].ns == KVS_AUDIT_NS_HEAD
                                        ? KVS_AUDIT_HEAD : KVS_AUDIT_WITNESS,
                                        (const char *) sender->data,
                                        sender->len, &held)
            == KVS_OK
            && held.seq >= head.seq)
        {
            continue;
        }

        w[n].path = (const char *) sender->data;
        w[n].path_len = sender->len;
        w[n].value = value + (n - 1) * KVS_AUDIT_WITNESS_VALUE;
        w[n].value_len = KVS_AUDIT_WITNESS_VALUE;
        kvs_store_audit_witness_value((uint8_t *) w[n].value, &head);

        ngx_kvs_debug(r->connection->log, "kvs audit: node \"%V\" %s %uL",
                      sender, w[n].ns == KVS_AUDIT_NS_HEAD
                              ? "is at entry" : "witnessed this node at",
                      head.seq);
        n++;
    }

    kvs_store_read_end(ngx_http_kvs_store);

    if (n > 1) {
        ctx->writes = w;
        ctx->nwrites = n;
    }

    return NGX_OK;
}


/* GET /api/audit and GET /api/audit/verify: admins, when auth is on */

ngx_int_t
ngx_http_kvs_audit_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_kvs_not_allowed(r, "GET, HEAD", "the method %V is "
                                        "not allowed on %V; use GET",
                                        &r->method_name, &r->uri);
    }

    if (!ngx_http_kvs_audit_on()) {
        return ngx_http_kvs_error(r, NGX_HTTP_NOT_FOUND,
                                  "audit_enabled is off on this node: it "
                                  "keeps no audit log");
    }

    rc = ngx_http_kvs_admin_only(r, "read the audit log");
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (r->uri.len == sizeof("/api/audit/verify") - 1) {
        return ngx_http_kvs_audit_verify(r);
    }

    return ngx_http_kvs_audit_list(r);
}


/*
 * A page of entries in key order, which is time to the millisecond, from
 * ?since (ms) or after ?after (the previous page's "next"):
 * {"entries":[...],"next":"<key>"|null}, as /api/users pages.
 */

typedef struct {
    ngx_http_request_t  *request;
    ngx_array_t         *items;            /* ngx_str_t */
    ngx_str_t            last;
    size_t               size;
} ngx_http_kvs_audit_page_t;


static int
ngx_http_kvs_audit_one(const char *key, size_t klen, const uint8_t *entry,
    size_t len, void *data)
{
    ngx_http_kvs_audit_page_t *pg = data;

    u_char      *p;
    size_t       at, elen;
    ngx_str_t   *item;
    const char  *why;

    item = ngx_array_push(pg->items);
    if (item == NULL) {
        return KVS_ERROR;
    }

    /* keys and entries are the node's own, unless the store was edited:
     * the page stays JSON whatever they hold, and verify names the entry */

    elen = kvs_json_encode(NULL, 0, (const uint8_t *) key, klen, NULL);

    if (kvs_json_check(entry, len, &at, &why) == 0) {

        /* the read transaction ends before the answer is sent */
        item->data = ngx_pnalloc(pg->request->pool, len);
        if (item->data == NULL) {
            return KVS_ERROR;
        }

        item->len = ngx_cpymem(item->data, entry, len) - item->data;

    } else {
        p = ngx_pnalloc(pg->request->pool,
                        sizeof("{\"key\":\"\",\"damaged\":\"the stored entry "
                               "is not JSON:  at byte \"}") - 1
                        + elen + ngx_strlen(why) + NGX_SIZE_T_LEN);
        if (p == NULL) {
            return KVS_ERROR;
        }

        item->data = p;
        p = ngx_cpymem(p, "{\"key\":\"", sizeof("{\"key\":\"") - 1);
        p += kvs_json_encode(p, elen, (const uint8_t *) key, klen, NULL);
        p = ngx_sprintf(p, "\",\"damaged\":\"the stored entry is not "
                        "JSON: %s at byte %uz\"}", why, at);
        item->len = p - item->data;
    }

    pg->last.data = ngx_pnalloc(pg->request->pool, elen);
    if (pg->last.data == NULL) {
        return KVS_ERROR;
    }

    pg->last.len = kvs_json_encode(pg->last.data, elen,
                                   (const uint8_t *) key, klen, NULL);
    pg->size += item->len + 1;

    return KVS_OK;
}


static ngx_int_t
ngx_http_kvs_audit_list(ngx_http_request_t *r)
{
    int                         rc, more;
    ngx_str_t                   body;
    ngx_int_t                   status;
    ngx_http_kvs_params_t       params;
    ngx_http_kvs_audit_page_t   pg;

    status = ngx_http_kvs_params(r, NGX_HTTP_KVS_PARAMS_AUDIT, &params);
    if (status != NGX_OK) {
        return status;
    }

    pg.request = r;
    pg.size = 0;
    ngx_str_null(&pg.last);
    pg.items = ngx_array_create(r->pool, 16, sizeof(ngx_str_t));
    if (pg.items == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    status = ngx_http_kvs_read_begin(r);
    if (status != NGX_OK) {
        return status;
    }

    rc = kvs_store_audit_list(ngx_http_kvs_store, params.since,
                              (const char *) params.after.data,
                              params.after.len, params.limit,
                              ngx_http_kvs_audit_one, &pg, &more);

    kvs_store_read_end(ngx_http_kvs_store);

    if (rc != KVS_OK) {
        return ngx_http_kvs_unreadable(r, "the audit log cannot be read");
    }

    if (ngx_http_kvs_page_body(r, "entries", pg.items, pg.size,
                               more ? &pg.last : NULL, &body)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_kvs_send(r, NGX_HTTP_OK, body.data, body.len);
}


/* the chain walked on nginx's thread pool, which commits writes too */

static ngx_int_t
ngx_http_kvs_audit_verify(ngx_http_request_t *r)
{
    ngx_thread_task_t         *task;
    ngx_http_kvs_audit_job_t  *job;
    ngx_http_kvs_main_conf_t  *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    task = ngx_thread_task_alloc(r->pool, sizeof(ngx_http_kvs_audit_job_t));
    if (task == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    job = task->ctx;
    job->request = r;
    job->store = ngx_http_kvs_store;
    job->secret = kmcf->audit_secret[0].data;
    job->secret_len = kmcf->audit_secret[0].len;

    task->handler = ngx_http_kvs_audit_verify_thread;
    task->event.handler = ngx_http_kvs_audit_verify_done;
    task->event.data = task;
    task->event.log = r->connection->log;

    if (ngx_thread_task_post(kmcf->thread_pool, task) != NGX_OK) {
        return ngx_http_kvs_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                  "the thread pool's queue is full; retry "
                                  "later");
    }

    ngx_kvs_debug(r->connection->log, "kvs audit: verifying on a thread");

    r->main->count++;

    return NGX_DONE;
}


static void
ngx_http_kvs_audit_verify_thread(void *data, ngx_log_t *log)
{
    ngx_http_kvs_audit_job_t *job = data;

    kvs_hmac_key_t  *mac;

    job->rc = kvs_store_audit_witnesses(job->store, job->witnesses,
                                        NGX_HTTP_KVS_AUDIT_WITNESSES,
                                        &job->nwitnesses, job->err,
                                        sizeof(job->err));
    if (job->rc != KVS_OK) {
        return;
    }

    mac = kvs_hmac_key_new(job->secret, job->secret_len);
    if (mac == NULL) {
        job->rc = KVS_ERROR;
        ngx_cpystrn((u_char *) job->err,
                    (u_char *) "no memory for the audit log's key",
                    sizeof(job->err));
        return;
    }

    kvs_audit_verify_init(&job->v, mac, job->witnesses, job->nwitnesses);

    job->rc = kvs_store_audit_verify(job->store, &job->v, &job->entries,
                                     job->err, sizeof(job->err));

    kvs_hmac_key_free(mac);
}


/* a string of the store's as JSON text: escaped, valid UTF-8, at most 6
 * bytes a byte */

static u_char *
ngx_http_kvs_audit_text(u_char *p, const char *s, size_t len)
{
    return p + kvs_json_encode(p, 6 * len, (const uint8_t *) s, len, NULL);
}


static void
ngx_http_kvs_audit_verify_done(ngx_event_t *ev)
{
    u_char                    *body, *p, *bad;
    char                       hex[KVS_AUDIT_HASH_HEX + 1];
    size_t                     size, bad_len;
    ngx_int_t                  rc;
    ngx_uint_t                 i;
    ngx_connection_t          *c;
    ngx_thread_task_t         *task;
    ngx_http_request_t        *r;
    ngx_http_kvs_audit_job_t  *job;

    task = ev->data;
    job = task->ctx;
    r = job->request;
    c = r->connection;

    if (job->rc == KVS_ERROR) {
        ngx_kvs_log(NGX_LOG_ERR, c->log, 0, "kvs: %s", job->err);
        rc = ngx_http_kvs_unreadable(r, "the audit log cannot be read");
        goto done;
    }

    /* the bad entry's key, the reason and the peers' names are bytes of
     * the store, which a tamperer chose: each may take 6 bytes escaped */

    size = sizeof("{\"ok\":false,\"entries\":,\"head\":\"\",\"entry\":\"\","
                  "\"reason\":\"\",\"witnessed\":{}}\n")
           + 20 + KVS_AUDIT_HASH_HEX + 6 * sizeof(job->v.why)
           + 6 * sizeof(job->v.bad)
           + job->nwitnesses * (6 * KVS_AUDIT_NODE_MAX + 32);

    body = ngx_pnalloc(r->pool, size);
    if (body == NULL) {
        rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        goto done;
    }

    if (job->rc == KVS_INVALID) {
        p = ngx_sprintf(body, "{\"ok\":false,\"entries\":%uL,\"entry\":",
                        job->entries);

        if (job->v.bad_len) {
            *p++ = '"';
            bad = p;
            p = ngx_http_kvs_audit_text(p, job->v.bad, job->v.bad_len);
            bad_len = p - bad;
            *p++ = '"';

        } else {
            p = ngx_cpymem(p, "null", 4);
            bad = NULL;
            bad_len = 0;
        }

        p = ngx_cpymem(p, ",\"reason\":\"", sizeof(",\"reason\":\"") - 1);
        p = ngx_http_kvs_audit_text(p, job->v.why, ngx_strlen(job->v.why));
        p = ngx_cpymem(p, "\"}\n", 3);

        /* the key as the answer has it, escaped */
        ngx_kvs_log(NGX_LOG_WARN, c->log, 0, "kvs: the audit log does not "
                    "verify: %*s%s%s", bad_len, bad, bad ? ": " : "",
                    job->v.why);

    } else {
        kvs_audit_hex(hex, job->v.head.hash);
        p = ngx_sprintf(body, "{\"ok\":true,\"entries\":%uL,\"seq\":%uL,"
                        "\"head\":\"%s\",\"witnessed\":{", job->entries,
                        job->v.head.seq, hex);

        for (i = 0; i < job->nwitnesses; i++) {
            *p++ = '"';
            p = ngx_http_kvs_audit_text(p, job->witnesses[i].peer,
                                        ngx_strlen(job->witnesses[i].peer));
            p = ngx_sprintf(p, "\":%uL%s", job->witnesses[i].head.seq,
                            i + 1 < job->nwitnesses ? "," : "");
        }

        p = ngx_cpymem(p, "}}\n", 3);
    }

    rc = ngx_http_kvs_send(r, NGX_HTTP_OK, body, p - body);

done:

    ngx_http_finalize_request(r, rc);
    ngx_http_run_posted_requests(c);
}
