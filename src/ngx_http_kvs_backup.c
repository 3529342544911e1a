/*
 * Backups, the workers' side: backup_dir as nginx -t checks it, and the
 * two endpoints, admins' only when auth is on.
 *
 *   POST /api/backup         asks the agent for a backup now: 202, and the
 *                            request waits in the shared zone, "pending",
 *                            until the agent's next tick starts it (half a
 *                            second at most); 409 while one is pending or
 *                            running
 *   GET /api/backup/status   the schedule, what runs now, the last
 *                            backup's outcome (meta, so that it survives
 *                            a restart) and the files of backup_dir
 *
 * The backups themselves are the agent's (ngx_kvs_backup.c), on a thread
 * of its own; the file's format is the core's (kvs_backup.h).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <dirent.h>

#include "ngx_http_kvs_module.h"


/* one file of backup_dir, as the status lists it */
typedef struct {
    u_char              name[KVS_BACKUP_NAME_MAX];
    size_t              len;
    uint64_t            created_at;
    off_t               bytes;
} ngx_http_kvs_backup_file_t;


static ngx_int_t ngx_http_kvs_backup_post(ngx_http_request_t *r,
    ngx_http_kvs_backup_state_t *bs);
static ngx_int_t ngx_http_kvs_backup_status(ngx_http_request_t *r,
    ngx_http_kvs_backup_state_t *bs);
static ngx_int_t ngx_http_kvs_backup_files(ngx_http_request_t *r,
    ngx_array_t *files);
static u_char *ngx_http_kvs_backup_last(u_char *p, kvs_backup_last_t *l);
static int ngx_http_kvs_backup_newer(const void *a, const void *b);
static void ngx_http_kvs_backup_real(const char *path, char *out);


/*
 * backup_dir is relative to nginx's prefix, as data_dir is; by default it
 * is "backups" beside data_dir.  Never inside data_dir: a backup there
 * would be lost with the store it is to save, and copied into the next.
 * The real paths are compared where they exist (symbolic links), the
 * names where they do not yet.
 */

ngx_int_t
ngx_http_kvs_backup_conf(ngx_conf_t *cf, ngx_http_kvs_main_conf_t *kmcf)
{
    u_char     *p, *slash;
    char        real[PATH_MAX], dir[PATH_MAX];
    size_t      dlen;
    ngx_str_t  *b;

    if (kmcf->kc.backup_schedule.expr != NULL) {
        kmcf->backup_schedule.data = (u_char *) kmcf->kc.backup_schedule.expr;
        kmcf->backup_schedule.len = ngx_strlen(kmcf->kc.backup_schedule.expr);

    } else {
        ngx_str_set(&kmcf->backup_schedule, KVS_CRON_DEFAULT);
    }

    b = &kmcf->backup_dir;

    if (kmcf->kc.backup_dir.path != NULL) {
        b->data = (u_char *) kmcf->kc.backup_dir.path;
        b->len = ngx_strlen(kmcf->kc.backup_dir.path);

        if (ngx_conf_full_name(cf->cycle, b, 0) != NGX_OK) {
            return NGX_ERROR;
        }

    } else {
        slash = kmcf->data_dir.data + kmcf->data_dir.len;

        while (slash > kmcf->data_dir.data && slash[-1] == '/') {
            slash--;
        }

        while (slash > kmcf->data_dir.data && slash[-1] != '/') {
            slash--;
        }

        p = ngx_pnalloc(cf->pool, (slash - kmcf->data_dir.data)
                                  + sizeof("backups"));
        if (p == NULL) {
            return NGX_ERROR;
        }

        b->data = p;
        p = ngx_cpymem(p, kmcf->data_dir.data, slash - kmcf->data_dir.data);
        p = ngx_cpymem(p, "backups", sizeof("backups"));
        b->len = p - b->data - 1;
    }

    /* trailing slashes would double in the files' paths */

    while (b->len > 1 && b->data[b->len - 1] == '/') {
        b->data[--b->len] = '\0';
    }

    ngx_http_kvs_backup_real((char *) b->data, real);
    ngx_http_kvs_backup_real((char *) kmcf->data_dir.data, dir);

    dlen = ngx_strlen(dir);

    while (dlen > 1 && dir[dlen - 1] == '/') {
        dlen--;
    }

    if (ngx_strncmp(real, dir, dlen) == 0
        && (real[dlen] == '/' || real[dlen] == '\0'))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "kvs: %V:%ui: backup_dir: "
                           "\"%s\" is inside data_dir \"%*s\": keep "
                           "backups elsewhere, so that they outlive the "
                           "store they save and are not copied into the "
                           "next backup", &kmcf->file,
                           (ngx_uint_t) kmcf->kc.backup_dir.line, real,
                           dlen, dir);
        return NGX_ERROR;
    }

    return NGX_OK;
}


/*
 * The real path of an absolute path (PATH_MAX bytes out), though its last
 * components do not exist yet, as backup_dir and data_dir need not before
 * the master makes them: its longest existing parent resolved (symbolic
 * links followed), the rest appended with "." and ".." taken as words of
 * the path, which, naming nothing yet, links cannot redirect.  A path
 * whose resolution would not fit is kept as it is.
 */

static void
ngx_http_kvs_backup_real(const char *path, char *out)
{
    char    head[PATH_MAX], res[PATH_MAX];
    char   *cut, *name, *end;
    size_t  len, rlen;

    if (realpath(path, out) != NULL) {
        return;
    }

    ngx_cpystrn((u_char *) out, (u_char *) path, PATH_MAX);
    ngx_cpystrn((u_char *) head, (u_char *) path, sizeof(head));

    /* the longest parent that resolves ("/" always does) */

    for ( ;; ) {
        cut = strrchr(head, '/');

        if (cut == NULL) {
            return;
        }

        if (cut == head) {
            ngx_cpystrn((u_char *) res, (u_char *) "/", sizeof(res));
            break;
        }

        *cut = '\0';

        if (realpath(head, res) != NULL) {
            break;
        }
    }

    rlen = ngx_strlen(res);

    /* the components past it, one by one */

    for (name = (char *) path + (cut - head) + 1; *name; name = end) {
        end = strchr(name, '/');
        len = end ? (size_t) (end - name) : ngx_strlen(name);
        end = end ? end + 1 : name + len;

        if (len == 0 || (len == 1 && name[0] == '.')) {
            continue;
        }

        if (len == 2 && name[0] == '.' && name[1] == '.') {
            while (rlen > 1 && res[rlen - 1] != '/') {
                rlen--;
            }

            if (rlen > 1) {
                rlen--;
            }

            res[rlen] = '\0';
            continue;
        }

        if (rlen + 1 + len + 1 > sizeof(res)) {
            return;
        }

        if (rlen > 1) {
            res[rlen++] = '/';
        }

        ngx_memcpy(res + rlen, name, len);
        rlen += len;
        res[rlen] = '\0';
    }

    ngx_memcpy(out, res, rlen + 1);
}


/*
 * The master makes backup_dir at start when it is missing, as it makes
 * data_dir, and gives it to nginx's user: the agent that writes there may
 * not be root, nor allowed to make it.  A directory that exists keeps its
 * owner.  A failure does not stop nginx: the backups fail, and say why.
 */

void
ngx_http_kvs_backup_dir(ngx_cycle_t *cycle, ngx_http_kvs_main_conf_t *kmcf,
    ngx_core_conf_t *ccf)
{
    ngx_file_info_t  fi;

    if (mkdir((char *) kmcf->backup_dir.data, 0700) == -1) {

        if (ngx_errno != NGX_EEXIST) {
            ngx_kvs_log(NGX_LOG_WARN, cycle->log, ngx_errno,
                        "kvs: backup_dir \"%V\" cannot be made; backups "
                        "fail until it can", &kmcf->backup_dir);

        } else if (ngx_file_info(kmcf->backup_dir.data, &fi) != NGX_FILE_ERROR
                   && !ngx_is_dir(&fi))
        {
            ngx_kvs_log(NGX_LOG_WARN, cycle->log, 0,
                        "kvs: backup_dir \"%V\" is not a directory; "
                        "backups fail until it is", &kmcf->backup_dir);
        }

        return;
    }

    if (geteuid() == 0 && ccf->user != (ngx_uid_t) NGX_CONF_UNSET_UINT
        && chown((char *) kmcf->backup_dir.data, ccf->user, ccf->group)
           == -1)
    {
        ngx_kvs_log(NGX_LOG_WARN, cycle->log, ngx_errno,
                    "kvs: chown(\"%V\", %d) failed", &kmcf->backup_dir,
                    ccf->user);
    }
}


ngx_int_t
ngx_http_kvs_backup_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_uint_t                    status;
    ngx_http_kvs_shared_t        *sh;
    ngx_http_kvs_main_conf_t     *kmcf;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);
    status = (r->uri.len == sizeof("/api/backup/status") - 1);

    if (status && !(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_kvs_not_allowed(r, "GET, HEAD", "the method %V is "
                                        "not allowed on %V; use GET",
                                        &r->method_name, &r->uri);
    }

    if (!status && r->method != NGX_HTTP_POST) {
        return ngx_http_kvs_not_allowed(r, "POST", "the method %V is not "
                                        "allowed on %V; use POST to ask for "
                                        "a backup, GET /api/backup/status "
                                        "to see them", &r->method_name,
                                        &r->uri);
    }

    rc = ngx_http_kvs_admin_only(r, status ? "see the backups"
                                           : "ask for a backup");
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sh = kmcf->shm->data;

    if (status) {
        return ngx_http_kvs_backup_status(r, &sh->backup);
    }

    return ngx_http_kvs_backup_post(r, &sh->backup);
}


/*
 * The request waits in the zone with who made it: the agent's entries of
 * the backup name them.
 */

static ngx_int_t
ngx_http_kvs_backup_post(ngx_http_request_t *r,
    ngx_http_kvs_backup_state_t *bs)
{
    u_char                    *body, *p;
    uint64_t                   now;
    ngx_uint_t                 busy;
    ngx_http_kvs_ctx_t        *ctx;
    ngx_http_kvs_main_conf_t  *kmcf;
    u_char                     file[KVS_BACKUP_NAME_MAX];

    ctx = ngx_http_get_module_ctx(r, ngx_http_kvs_module);
    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);
    now = ngx_http_kvs_now_ms();

    ngx_http_kvs_shared_lock(kmcf);

    busy = bs->running ? 2 : bs->pending ? 1 : 0;

    if (busy == 0) {
        bs->pending = 1;
        bs->asked_at = now;
        bs->has_user = (ctx && ctx->user) ? 1 : 0;
        bs->user_len = 0;

        if (bs->has_user) {
            bs->user_len = ngx_min(ctx->user->name.len,
                                   NGX_HTTP_KVS_AUDIT_FOLD_WHO);
            ngx_memcpy(bs->user, ctx->user->name.data, bs->user_len);
        }

        bs->client_len = ngx_min(r->connection->addr_text.len,
                                 NGX_HTTP_KVS_AUDIT_FOLD_WHO);
        ngx_memcpy(bs->client, r->connection->addr_text.data,
                   bs->client_len);

    } else {
        ngx_cpystrn(file, bs->file, sizeof(file));
    }

    ngx_http_kvs_shared_unlock(kmcf);

    if (busy == 2) {
        ngx_kvs_debug(r->connection->log, "kvs backup: \"%s\" runs, 409",
                      file);
        return ngx_http_kvs_error(r, NGX_HTTP_CONFLICT,
                                  "a backup is running (\"%s\"); ask again "
                                  "once it has finished", file);
    }

    if (busy == 1) {
        ngx_kvs_debug(r->connection->log, "kvs backup: one pending, 409");
        return ngx_http_kvs_error(r, NGX_HTTP_CONFLICT,
                                  "a backup is pending: the agent starts "
                                  "it within a second");
    }

    ngx_kvs_log(NGX_LOG_NOTICE, r->connection->log, 0,
                "kvs: a backup was asked for by %V",
                &r->connection->addr_text);

    body = ngx_pnalloc(r->pool, sizeof("{\"pending\":true,"
                                       "\"asked_at\":}\n") + NGX_INT64_LEN);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"pending\":true,\"asked_at\":%uL}\n", now);

    return ngx_http_kvs_send(r, NGX_HTTP_ACCEPTED, body, p - body);
}


static ngx_int_t
ngx_http_kvs_backup_status(ngx_http_request_t *r,
    ngx_http_kvs_backup_state_t *bs)
{
    int                            rc, has_last;
    u_char                        *body, *p;
    size_t                         len, i;
    ngx_int_t                      status;
    ngx_uint_t                     pending, running;
    uint64_t                       next_run, started_at;
    ngx_array_t                    files;
    kvs_backup_last_t              last;
    const uint8_t                 *rec;
    ngx_http_kvs_main_conf_t      *kmcf;
    ngx_http_kvs_backup_file_t    *f;
    u_char                         file[KVS_BACKUP_NAME_MAX];

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    ngx_http_kvs_shared_lock(kmcf);

    pending = bs->pending;
    running = bs->running;
    next_run = bs->next_run;
    started_at = bs->started_at;
    ngx_cpystrn(file, bs->file, sizeof(file));

    ngx_http_kvs_shared_unlock(kmcf);

    status = ngx_http_kvs_read_begin(r);
    if (status != NGX_OK) {
        return status;
    }

    rc = kvs_store_meta_get_bytes(ngx_http_kvs_store, KVS_BACKUP_META, &rec,
                                  &len);

    has_last = (rc == KVS_OK && kvs_backup_last_decode(rec, len, &last) == 0);

    if (rc == KVS_OK && !has_last) {
        ngx_kvs_log(NGX_LOG_WARN, r->connection->log, 0,
                    "kvs: meta's \"" KVS_BACKUP_META "\" is no record of a "
                    "backup; the status shows none");
    }

    kvs_store_read_end(ngx_http_kvs_store);

    if (rc == KVS_ERROR) {
        return ngx_http_kvs_unreadable(r, "the last backup's record is "
                                       "unreadable");
    }

    if (ngx_array_init(&files, r->pool, 8,
                       sizeof(ngx_http_kvs_backup_file_t))
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    status = ngx_http_kvs_backup_files(r, &files);
    if (status != NGX_OK) {
        return status;
    }

    /* every string escaped may take 6 bytes a byte */

    len = sizeof("{\"enabled\":false,\"schedule\":\"\",\"next_run\":,"
                 "\"running\":false,\"pending\":false,"
                 "\"current\":{\"file\":\"\",\"started_at\":},"
                 "\"last\":,\"backups\":[]}\n")
          + 6 * kmcf->backup_schedule.len
          + 2 * NGX_INT64_LEN + 6 * KVS_BACKUP_NAME_MAX
          + sizeof("{\"file\":\"\",\"started_at\":,\"finished_at\":,"
                   "\"duration_ms\":,\"bytes\":,\"keys\":,\"ok\":false,"
                   "\"error\":\"\"}")
          + 6 * NGX_INT64_LEN + 6 * (KVS_BACKUP_NAME_MAX + KVS_BACKUP_ERRLEN)
          + files.nelts * (sizeof("{\"file\":\"\",\"bytes\":,"
                                  "\"created_at\":},")
                           + 2 * NGX_INT64_LEN + 6 * KVS_BACKUP_NAME_MAX);

    body = ngx_pnalloc(r->pool, len);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_sprintf(body, "{\"enabled\":%s,\"schedule\":\"",
                    kmcf->kc.backup_enabled ? "true" : "false");

    p = (u_char *) ngx_escape_json(p, kmcf->backup_schedule.data,
                                   kmcf->backup_schedule.len);

    p = ngx_cpymem(p, "\",\"next_run\":", sizeof("\",\"next_run\":") - 1);

    if (next_run) {
        p = ngx_sprintf(p, "%uL", next_run);

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    p = ngx_sprintf(p, ",\"running\":%s,\"pending\":%s,\"current\":",
                    running ? "true" : "false", pending ? "true" : "false");

    if (running) {
        p = ngx_cpymem(p, "{\"file\":\"", sizeof("{\"file\":\"") - 1);
        p = (u_char *) ngx_escape_json(p, file, ngx_strlen(file));
        p = ngx_sprintf(p, "\",\"started_at\":%uL}", started_at);

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    p = ngx_cpymem(p, ",\"last\":", sizeof(",\"last\":") - 1);

    if (has_last) {
        p = ngx_http_kvs_backup_last(p, &last);

    } else {
        p = ngx_cpymem(p, "null", 4);
    }

    p = ngx_cpymem(p, ",\"backups\":[", sizeof(",\"backups\":[") - 1);

    f = files.elts;

    for (i = 0; i < files.nelts; i++) {
        p = ngx_cpymem(p, i ? ",{\"file\":\"" : "{\"file\":\"",
                       i ? sizeof(",{\"file\":\"") - 1
                         : sizeof("{\"file\":\"") - 1);
        p = (u_char *) ngx_escape_json(p, f[i].name, f[i].len);
        p = ngx_sprintf(p, "\",\"bytes\":%O,\"created_at\":%uL}",
                        f[i].bytes, f[i].created_at);
    }

    p = ngx_cpymem(p, "]}\n", 3);

    return ngx_http_kvs_send(r, NGX_HTTP_OK, body, p - body);
}


static u_char *
ngx_http_kvs_backup_last(u_char *p, kvs_backup_last_t *l)
{
    p = ngx_cpymem(p, "{\"file\":\"", sizeof("{\"file\":\"") - 1);
    p = (u_char *) ngx_escape_json(p, (u_char *) l->file,
                                   ngx_strlen(l->file));
    p = ngx_sprintf(p, "\",\"started_at\":%uL,\"finished_at\":%uL,"
                    "\"duration_ms\":%uL,\"bytes\":%uL,\"keys\":%uL,"
                    "\"ok\":%s,\"error\":",
                    l->started_at, l->finished_at,
                    l->finished_at > l->started_at
                    ? l->finished_at - l->started_at : 0,
                    l->bytes, l->keys, l->ok ? "true" : "false");

    if (l->ok) {
        return ngx_cpymem(p, "null}", 5);
    }

    *p++ = '"';
    p = (u_char *) ngx_escape_json(p, (u_char *) l->error,
                                   ngx_strlen(l->error));

    return ngx_cpymem(p, "\"}", 2);
}


/*
 * This node's backups in backup_dir, newest first: the final names only
 * (a temporary file is a backup being written), regular files only.  A
 * backup_dir not made yet holds none.
 */

static ngx_int_t
ngx_http_kvs_backup_files(ngx_http_request_t *r, ngx_array_t *files)
{
    int                            tmp;
    DIR                           *dir;
    size_t                         len;
    u_char                        *path, *p;
    uint64_t                       ms;
    ngx_err_t                      err;
    ngx_file_info_t                fi;
    struct dirent                 *de;
    ngx_http_kvs_main_conf_t      *kmcf;
    ngx_http_kvs_backup_file_t    *f;

    kmcf = ngx_http_get_module_main_conf(r, ngx_http_kvs_module);

    dir = opendir((char *) kmcf->backup_dir.data);

    if (dir == NULL) {
        err = ngx_errno;

        if (err == NGX_ENOENT || err == NGX_ENOTDIR) {
            return NGX_OK;
        }

        ngx_kvs_log(NGX_LOG_ERR, r->connection->log, err,
                    "kvs: opendir(\"%V\") failed", &kmcf->backup_dir);
        return ngx_http_kvs_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                  "backup_dir cannot be read");
    }

    path = ngx_pnalloc(r->pool, kmcf->backup_dir.len + 1
                                + KVS_BACKUP_NAME_MAX);
    if (path == NULL) {
        closedir(dir);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(path, kmcf->backup_dir.data, kmcf->backup_dir.len);
    *p++ = '/';

    while ((de = readdir(dir)) != NULL) {
        len = ngx_strlen(de->d_name);

        if (kvs_backup_parse_name(de->d_name, len, kmcf->kc.node_id,
                                  kmcf->node_id.len, &tmp, &ms)
            != 0
            || tmp)
        {
            continue;
        }

        ngx_cpystrn(p, (u_char *) de->d_name, len + 1);

        /* the files the retention would delete: not a link, which it
         * leaves, whatever the link points to */
        if (ngx_link_info(path, &fi) == NGX_FILE_ERROR
            || !ngx_is_file(&fi))
        {
            continue;
        }

        f = ngx_array_push(files);
        if (f == NULL) {
            closedir(dir);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_cpystrn(f->name, (u_char *) de->d_name, sizeof(f->name));
        f->len = len;
        f->created_at = ms;
        f->bytes = ngx_file_size(&fi);
    }

    closedir(dir);

    ngx_qsort(files->elts, files->nelts, sizeof(ngx_http_kvs_backup_file_t),
              ngx_http_kvs_backup_newer);

    return NGX_OK;
}


static int
ngx_http_kvs_backup_newer(const void *a, const void *b)
{
    const ngx_http_kvs_backup_file_t  *fa = a, *fb = b;

    if (fa->created_at == fb->created_at) {
        return 0;
    }

    return fa->created_at < fb->created_at ? 1 : -1;
}


/* the gauges of the last good backup and of one running, at a scrape */

void
ngx_http_kvs_backup_gauges(ngx_http_kvs_main_conf_t *kmcf, uint64_t *values)
{
    size_t                  len;
    const uint8_t          *rec;
    kvs_backup_last_t       last;
    ngx_http_kvs_shared_t  *sh;

    if (kvs_store_meta_get_bytes(ngx_http_kvs_store, KVS_BACKUP_META, &rec,
                                 &len)
        == KVS_OK
        && kvs_backup_last_decode(rec, len, &last) == 0
        && last.ok_at)
    {
        values[kvs_metrics_layout.offset[KVS_M_BACKUP_LAST_SUCCESS]]
            = last.ok_at / 1000;
        values[kvs_metrics_layout.offset[KVS_M_BACKUP_BYTES]]
            = last.ok_bytes;
    }

    sh = kmcf->shm->data;

    values[kvs_metrics_layout.offset[KVS_M_BACKUP_RUNNING]]
        = sh->backup.running ? 1 : 0;
}
