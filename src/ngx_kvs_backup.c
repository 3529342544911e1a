/*
 * Backups, the agent's job: when to run one, and what to do after.
 *
 * Every half second a timer looks at the shared zone: a POST's request
 * ("pending"), or backup_schedule's next minute come, starts a backup on
 * a thread of the agent's own (the helper process has no nginx thread
 * pool: a kvs_pool of one thread, at nice 19, so that the workers' event
 * loops win the CPU from zstd), which runs kvs_backup_write(); the event
 * loop never waits for it, so gossip, push and anti-entropy go on
 * meanwhile.  A later tick finds the task finished (kvs_pool_finished()
 * does not block) and, on the event loop again, records the outcome
 * (meta, so that it survives a restart), counts it, writes the audit
 * entries, logs it, and applies the retention to backup_dir.
 *
 * The helper exits on a reload or a stop without a word, its thread with
 * it: a temporary file left in backup_dir is the mark of a backup cut
 * short, which the next agent removes and records as failed.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>
#include <ngx_http.h>

#include <dirent.h>

#include "ngx_http_kvs_module.h"
#include "ngx_kvs_agent.h"
#include "kvs_cron.h"


#define NGX_KVS_BACKUP_TICK  500

/* the backup's thread yields the CPU to every other */
#define NGX_KVS_BACKUP_NICE  19


typedef struct {
    ngx_event_t            timer;
    ngx_kvs_agent_t       *agent;

    /* the backup running, if any: its thread reads these ... */
    kvs_pool_t            *pool;
    kvs_pool_task_t        task;
    ngx_uint_t             busy;
    kvs_store_t           *store;
    char                  *dir;
    char                   name[KVS_BACKUP_NAME_MAX];
    int                    level;

    /* ... and writes these, before the pool hands the task back */
    int                    rc;
    kvs_backup_result_t    res;
    char                   err[KVS_BACKUP_ERRLEN];
    uint64_t               finished_at;  /* ms */
    uint64_t               took_us;

    uint64_t               started_at;   /* ms */
    uint64_t               began_us;     /* a monotonic clock's */
    kvs_audit_event_t      who;          /* the entries' fields */
    u_char                 user[NGX_HTTP_KVS_AUDIT_FOLD_WHO];
    u_char                 client[NGX_HTTP_KVS_AUDIT_FOLD_WHO];
} ngx_kvs_backup_t;


static void ngx_kvs_backup_tick(ngx_event_t *ev);
static void ngx_kvs_backup_start(ngx_kvs_backup_t *b, uint64_t now,
    ngx_uint_t asked);
static void ngx_kvs_backup_work(void *data);
static void ngx_kvs_backup_finish(ngx_kvs_backup_t *b);
static void ngx_kvs_backup_record(ngx_kvs_backup_t *b, const char *file,
    uint64_t started_at, uint64_t finished_at, const char *error);
static void ngx_kvs_backup_audit(ngx_kvs_backup_t *b, kvs_audit_kind_e kind,
    unsigned status);
static void ngx_kvs_backup_retain(ngx_kvs_backup_t *b, uint64_t now);
static void ngx_kvs_backup_stale(ngx_kvs_backup_t *b);
static void ngx_kvs_backup_last(ngx_kvs_backup_t *b, kvs_backup_last_t *last);
static uint64_t ngx_kvs_backup_next(kvs_config_t *kc, uint64_t now);


static ngx_kvs_backup_t  ngx_kvs_backup;


ngx_int_t
ngx_kvs_backup_init(ngx_kvs_agent_t *agent)
{
    char                          err[KVS_POOL_ERRLEN];
    uint64_t                      now, next;
    ngx_kvs_backup_t             *b;
    ngx_http_kvs_shared_t        *sh;
    ngx_http_kvs_backup_state_t  *bs;

    b = &ngx_kvs_backup;

    if (kvs_pool_start(&b->pool, 1, NGX_KVS_BACKUP_NICE, err, sizeof(err))
        != 0)
    {
        ngx_kvs_log(NGX_LOG_EMERG, agent->log, 0,
                    "kvs: the backups' thread: %s", err);
        return NGX_ERROR;
    }

    b->task.work = ngx_kvs_backup_work;
    b->task.data = b;
    b->agent = agent;
    b->store = agent->store;
    b->dir = (char *) agent->kmcf->backup_dir.data;
    b->level = agent->kmcf->kc.backup_compression_level;

    b->timer.data = &agent->dummy;
    b->timer.handler = ngx_kvs_backup_tick;
    b->timer.log = agent->log;
    b->timer.cancelable = 1;

    ngx_kvs_backup_stale(b);

    now = ngx_http_kvs_now_ms();
    sh = agent->kmcf->shm->data;
    bs = &sh->backup;

    /*
     * A "running" left by an agent that exited in the middle; a request
     * still pending is this agent's to take.  From now on only this agent
     * starts backups: after a reload the old one runs on for a while (the
     * master tells it to quit once this one runs), and a backup it took
     * then would be cut short by its exit with no agent to say so.
     */

    next = ngx_kvs_backup_next(&agent->kmcf->kc, now);

    ngx_http_kvs_shared_lock(agent->kmcf);

    /* a backup that fell due before the agent before this one ticked onto
     * it (a reload sent as the minute turns) is due still, if backups
     * still run: the next slot after now would skip it */

    if (next && bs->next_run && bs->next_run <= now) {
        next = bs->next_run;
    }

    bs->owner = ngx_pid;
    bs->running = 0;
    bs->next_run = next;

    ngx_http_kvs_shared_unlock(agent->kmcf);

    ngx_add_timer(&b->timer, NGX_KVS_BACKUP_TICK);

    return NGX_OK;
}


/*
 * Whether a backup's thread runs: the store must then stay open as the
 * process exits (master_process off), the thread copying from it until
 * the end; the next agent removes its temporary file.
 */

ngx_uint_t
ngx_kvs_backup_busy(void)
{
    return ngx_kvs_backup.busy;
}


/* the next scheduled backup after now, ms; 0: none */

static uint64_t
ngx_kvs_backup_next(kvs_config_t *kc, uint64_t now)
{
    uint64_t  next;

    if (!kc->backup_enabled
        || kvs_cron_next(&kc->backup_schedule.cron, now, &next) != 0)
    {
        return 0;
    }

    return next;
}


static void
ngx_kvs_backup_tick(ngx_event_t *ev)
{
    uint64_t                      now;
    ngx_uint_t                    start, asked;
    ngx_kvs_backup_t             *b;
    ngx_http_kvs_shared_t        *sh;
    ngx_http_kvs_backup_state_t  *bs;

    b = &ngx_kvs_backup;

    if (b->busy) {
        if (kvs_pool_finished(b->pool) == NULL) {
            ngx_kvs_debug(ev->log, "kvs backup: \"%s\" runs", b->name);
            ngx_add_timer(ev, NGX_KVS_BACKUP_TICK);
            return;
        }

        b->busy = 0;

        ngx_kvs_backup_finish(b);
    }

    now = ngx_http_kvs_now_ms();
    sh = b->agent->kmcf->shm->data;
    bs = &sh->backup;

    if (kvs_backup_name(b->name, b->agent->kmcf->kc.node_id, now) == 0) {
        ngx_kvs_log(NGX_LOG_ALERT, ev->log, 0,
                    "kvs: no backup name for node \"%s\"",
                    b->agent->kmcf->kc.node_id);
        ngx_add_timer(ev, NGX_KVS_BACKUP_TICK);
        return;
    }

    /* from pending to running at once: a POST never sees neither */

    ngx_http_kvs_shared_lock(b->agent->kmcf);

    asked = bs->pending;
    start = bs->owner == ngx_pid
            && (asked || (bs->next_run && now >= bs->next_run));

    if (start) {
        bs->pending = 0;
        bs->running = 1;
        bs->started_at = now;
        ngx_cpystrn(bs->file, (u_char *) b->name, sizeof(bs->file));
        bs->next_run = ngx_kvs_backup_next(&b->agent->kmcf->kc, now);

        ngx_memzero(&b->who, sizeof(kvs_audit_event_t));

        if (asked) {
            if (bs->has_user) {
                ngx_memcpy(b->user, bs->user, bs->user_len);
                b->who.user = (const char *) b->user;
                b->who.user_len = bs->user_len;
            }

            ngx_memcpy(b->client, bs->client, bs->client_len);
            b->who.client = (const char *) b->client;
            b->who.client_len = bs->client_len;
            b->who.method = "POST";
            b->who.method_len = 4;

        } else {
            b->who.client = "agent";
            b->who.client_len = 5;
            b->who.method = "CRON";
            b->who.method_len = 4;
        }
    }

    ngx_http_kvs_shared_unlock(b->agent->kmcf);

    ngx_kvs_debug(ev->log, "kvs backup: %s",
                  !start ? "none due, or another agent's"
                         : asked ? "asked for, starts" : "scheduled, starts");

    if (start) {
        ngx_kvs_backup_start(b, now, asked);
    }

    ngx_add_timer(ev, NGX_KVS_BACKUP_TICK);
}


static void
ngx_kvs_backup_start(ngx_kvs_backup_t *b, uint64_t now, ngx_uint_t asked)
{
    b->started_at = now;
    b->began_us = kvs_metrics_clock_us();
    b->who.object = b->name;
    b->who.object_len = ngx_strlen(b->name);
    b->rc = -1;
    b->err[0] = '\0';

    ngx_kvs_log(NGX_LOG_NOTICE, b->agent->log, 0,
                "kvs: backup \"%s/%s\" started, %s", b->dir, b->name,
                asked ? "as asked" : "on schedule");

    ngx_kvs_backup_audit(b, KVS_AUDIT_BACKUP_STARTED,
                         kvs_audit_kinds[KVS_AUDIT_BACKUP_STARTED].status);

    kvs_pool_post(b->pool, &b->task);
    b->busy = 1;
}


/* on the backup's thread: no nginx structure, pool or log is touched */

static void
ngx_kvs_backup_work(void *data)
{
    ngx_kvs_backup_t *b = data;

    b->rc = kvs_backup_write(b->store, b->dir, b->name, b->level, &b->res,
                             b->err, sizeof(b->err));

    /* the backup's own time, not the tick's that sees it done */
    b->finished_at = ngx_http_kvs_now_ms();
    b->took_us = kvs_metrics_clock_us() - b->began_us;
}


static void
ngx_kvs_backup_finish(ngx_kvs_backup_t *b)
{
    uint64_t                      now, us;
    ngx_http_kvs_shared_t        *sh;
    ngx_http_kvs_backup_state_t  *bs;

    now = b->finished_at;
    us = b->took_us;

    if (b->rc == 0) {
        ngx_kvs_log(NGX_LOG_NOTICE, b->agent->log, 0,
                    "kvs: backup \"%s/%s\" written: %uL bytes of %uL "
                    "copied, %uL records, in %uL ms", b->dir, b->name,
                    b->res.bytes, b->res.copied, b->res.keys, us / 1000);
        ngx_http_kvs_metric_add(KVS_M_BACKUPS, KVS_RESULT_OK, 1);
        ngx_kvs_backup_record(b, b->name, b->started_at, now, NULL);

    } else {
        ngx_kvs_log(NGX_LOG_ERR, b->agent->log, 0,
                    "kvs: backup \"%s/%s\" failed: %s", b->dir, b->name,
                    b->err);
        ngx_http_kvs_metric_add(KVS_M_BACKUPS, KVS_RESULT_FAILED, 1);
        ngx_kvs_backup_record(b, b->name, b->started_at, now, b->err);
    }

    ngx_http_kvs_metric_observe(KVS_M_BACKUP_SECONDS, 0, us);

    ngx_kvs_backup_audit(b, KVS_AUDIT_BACKUP_FINISHED,
                         b->rc == 0
                         ? kvs_audit_kinds[KVS_AUDIT_BACKUP_FINISHED].status
                         : NGX_HTTP_INTERNAL_SERVER_ERROR);

    /* the retention is the backup's last step: once the status says no
     * backup runs, its list is what the retention left */

    ngx_kvs_backup_retain(b, now);

    sh = b->agent->kmcf->shm->data;
    bs = &sh->backup;

    /* an agent that a reload replaced meanwhile leaves the state, and
     * the schedule of the new configuration, to the new one */

    ngx_http_kvs_shared_lock(b->agent->kmcf);

    if (bs->owner == ngx_pid) {
        bs->running = 0;
        bs->next_run = ngx_kvs_backup_next(&b->agent->kmcf->kc, now);
    }

    ngx_http_kvs_shared_unlock(b->agent->kmcf);
}


/* meta's record of the last backup; zeros when there is none */

static void
ngx_kvs_backup_last(ngx_kvs_backup_t *b, kvs_backup_last_t *last)
{
    char            err[KVS_STORE_ERRLEN];
    size_t          len;
    const uint8_t  *rec;

    ngx_memzero(last, sizeof(kvs_backup_last_t));

    if (kvs_store_read_begin(b->store, err, sizeof(err)) != KVS_OK) {
        return;
    }

    if (kvs_store_meta_get_bytes(b->store, KVS_BACKUP_META, &rec, &len)
        == KVS_OK)
    {
        (void) kvs_backup_last_decode(rec, len, last);
    }

    kvs_store_read_end(b->store);
}


/* the last backup's record in meta; a failure keeps the last good one's
 * time and size */

static void
ngx_kvs_backup_record(ngx_kvs_backup_t *b, const char *file,
    uint64_t started_at, uint64_t finished_at, const char *error)
{
    char               err[KVS_STORE_ERRLEN];
    size_t             len;
    uint8_t            rec[KVS_BACKUP_LAST_MAX];
    kvs_backup_last_t  last, prev;

    ngx_kvs_backup_last(b, &prev);

    ngx_memzero(&last, sizeof(kvs_backup_last_t));

    ngx_cpystrn((u_char *) last.file, (u_char *) file, sizeof(last.file));
    last.started_at = started_at;
    last.finished_at = finished_at;

    if (error == NULL) {
        last.ok = 1;
        last.bytes = b->res.bytes;
        last.keys = b->res.keys;
        last.ok_at = finished_at;
        last.ok_bytes = b->res.bytes;

    } else {
        ngx_cpystrn((u_char *) last.error, (u_char *) error,
                    sizeof(last.error));
        last.ok_at = prev.ok_at;
        last.ok_bytes = prev.ok_bytes;
    }

    len = kvs_backup_last_encode(&last, rec);

    if (kvs_store_meta_put_bytes(b->store, KVS_BACKUP_META, rec, len, err,
                                 sizeof(err))
        != KVS_OK)
    {
        ngx_kvs_log(NGX_LOG_ERR, b->agent->log, 0,
                    "kvs: the backup's outcome was not recorded: %s", err);
    }
}


static void
ngx_kvs_backup_audit(ngx_kvs_backup_t *b, kvs_audit_kind_e kind,
    unsigned status)
{
    char         err[KVS_STORE_ERRLEN];
    kvs_write_t  w;

    if (!kvs_store_audit_on(b->store)) {
        return;
    }

    b->who.kind = kind;
    b->who.status = status;
    b->who.count = 1;

    ngx_memzero(&w, sizeof(kvs_write_t));
    w.op = KVS_WRITE_AUDIT;
    w.audit = &b->who;

    if (kvs_store_write(b->store, &w, 1, ngx_http_kvs_now_ms(), err,
                        sizeof(err))
        != KVS_OK)
    {
        ngx_kvs_log(NGX_LOG_ERR, b->agent->log, 0,
                    "kvs: the audit entry \"%s\" of backup \"%s\" was "
                    "lost: %s", kvs_audit_kinds[kind].name, b->name, err);
    }
}


/*
 * The retention: this node's backups whose name's time is more than
 * backup_retention_days old go, except the newest, which stays whatever
 * its age, so that a node whose backups fail for weeks keeps its last
 * good one.  Other files of backup_dir are left alone.
 */

static void
ngx_kvs_backup_retain(ngx_kvs_backup_t *b, uint64_t now)
{
    int                        tmp;
    DIR                       *dir;
    size_t                     i, len;
    uint64_t                   ms, keep, *when;
    ngx_str_t                 *name;
    ngx_pool_t                *pool;
    ngx_array_t                names, times;
    struct stat                st;
    struct dirent             *de;
    unsigned char             *expired;
    ngx_http_kvs_main_conf_t  *kmcf;
    char                       path[NGX_MAX_PATH];

    kmcf = b->agent->kmcf;

    pool = ngx_create_pool(4096, b->agent->log);
    if (pool == NULL) {
        return;
    }

    if (ngx_array_init(&names, pool, 16, sizeof(ngx_str_t)) != NGX_OK
        || ngx_array_init(&times, pool, 16, sizeof(uint64_t)) != NGX_OK)
    {
        goto done;
    }

    dir = opendir(b->dir);
    if (dir == NULL) {
        goto done;
    }

    while ((de = readdir(dir)) != NULL) {
        len = ngx_strlen(de->d_name);

        if ((de->d_type != DT_REG && de->d_type != DT_UNKNOWN)
            || kvs_backup_parse_name(de->d_name, len, kmcf->kc.node_id,
                                     kmcf->node_id.len, &tmp, &ms)
               != 0
            || tmp)
        {
            continue;
        }

        /* a file system that does not say the type: a symlink or a
         * directory named like a backup is none, as the status says */

        if (de->d_type == DT_UNKNOWN) {
            ngx_snprintf((u_char *) path, sizeof(path) - 1, "%s/%s%Z",
                         b->dir, de->d_name);

            if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
                continue;
            }
        }

        name = ngx_array_push(&names);
        when = ngx_array_push(&times);

        if (name == NULL || when == NULL) {
            break;
        }

        name->len = len;
        name->data = ngx_pnalloc(pool, len);
        *when = ms;

        if (name->data == NULL) {
            break;
        }

        ngx_memcpy(name->data, de->d_name, len);
    }

    closedir(dir);

    if (de != NULL) {
        goto done;
    }

    expired = ngx_palloc(pool, times.nelts + 1);
    if (expired == NULL) {
        goto done;
    }

    keep = (uint64_t) kmcf->kc.backup_retention_days * 86400000;

    ngx_kvs_debug(b->agent->log, "kvs backup: retention: %ui backups of "
                  "this node", names.nelts);

    if (kvs_backup_expired(times.elts, times.nelts, now, keep, expired)
        == 0)
    {
        goto done;
    }

    name = names.elts;

    for (i = 0; i < names.nelts; i++) {
        if (!expired[i]) {
            continue;
        }

        ngx_snprintf((u_char *) path, sizeof(path) - 1, "%s/%V%Z", b->dir,
                     &name[i]);

        if (unlink(path) == -1) {
            ngx_kvs_log(NGX_LOG_ERR, b->agent->log, ngx_errno,
                        "kvs: unlink(\"%s\") of an old backup failed",
                        path);
            continue;
        }

        ngx_kvs_log(NGX_LOG_NOTICE, b->agent->log, 0,
                    "kvs: backup \"%s\" deleted: older than "
                    "backup_retention_days (%d)", path,
                    kmcf->kc.backup_retention_days);
    }

done:

    ngx_destroy_pool(pool);
}


/*
 * A temporary file of this node is a backup an earlier agent did not
 * finish (the helper exits on a reload or a stop, and may be killed): it
 * goes, and the newest of them is recorded as failed, unless the record
 * already tells of a later backup.
 */

static void
ngx_kvs_backup_stale(ngx_kvs_backup_t *b)
{
    int                        tmp;
    DIR                       *dir;
    size_t                     len;
    uint64_t                   ms, newest;
    struct dirent             *de;
    kvs_backup_last_t          prev;
    ngx_http_kvs_main_conf_t  *kmcf;
    char                       path[NGX_MAX_PATH];
    char                       file[KVS_BACKUP_NAME_MAX];

    kmcf = b->agent->kmcf;

    dir = opendir(b->dir);
    if (dir == NULL) {
        return;
    }

    newest = 0;

    while ((de = readdir(dir)) != NULL) {
        len = ngx_strlen(de->d_name);

        if (kvs_backup_parse_name(de->d_name, len, kmcf->kc.node_id,
                                  kmcf->node_id.len, &tmp, &ms)
            != 0
            || !tmp)
        {
            continue;
        }

        ngx_snprintf((u_char *) path, sizeof(path) - 1, "%s/%s%Z", b->dir,
                     de->d_name);

        if (unlink(path) == -1) {
            ngx_kvs_log(NGX_LOG_ERR, b->agent->log, ngx_errno,
                        "kvs: unlink(\"%s\") of a stale temporary backup "
                        "failed", path);
            continue;
        }

        ngx_kvs_log(NGX_LOG_NOTICE, b->agent->log, 0,
                    "kvs: removed \"%s\", the temporary file of a backup "
                    "cut short", path);

        if (ms >= newest) {
            newest = ms;
            ngx_cpystrn((u_char *) file, (u_char *) de->d_name,
                        len - (sizeof(KVS_BACKUP_TMP) - 1) + 1);
        }
    }

    closedir(dir);

    if (newest == 0) {
        return;
    }

    ngx_kvs_backup_last(b, &prev);

    if (prev.started_at / 1000 > newest / 1000) {
        return;
    }

    ngx_http_kvs_metric_add(KVS_M_BACKUPS, KVS_RESULT_FAILED, 1);

    ngx_kvs_backup_record(b, file, newest, ngx_http_kvs_now_ms(),
                          "cut short: the cluster agent stopped while it "
                          "ran (nginx stopped, reloaded or was killed); "
                          "its temporary file was removed");

    /* its start has an entry: so has its end, by the agent that saw it,
     * which cannot know who had asked for it */

    ngx_cpystrn((u_char *) b->name, (u_char *) file, sizeof(b->name));
    ngx_memzero(&b->who, sizeof(kvs_audit_event_t));
    b->who.client = "agent";
    b->who.client_len = 5;
    b->who.method = "-";
    b->who.method_len = 1;
    b->who.object = b->name;
    b->who.object_len = ngx_strlen(b->name);

    ngx_kvs_backup_audit(b, KVS_AUDIT_BACKUP_FINISHED,
                         NGX_HTTP_INTERNAL_SERVER_ERROR);
}
