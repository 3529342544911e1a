/*
 * Listing, inside the process's read transaction.  Keys of kv sort by namespace and path, so the keys under a
 * prefix are one stretch of the tree: a page is one seek and a walk of the
 * page's entries (plus the tombstones and expired records among them).
 * Not recursive, a deeper level is listed once, then skipped in one seek:
 * past "a/b/" every key starts with "a/b0" or more, '0' following '/'.
 *
 * Paths longer than KVS_KEY_INLINE bytes are keyed by their first
 * KVS_KEY_INLINE bytes and a digest, so those sharing their first
 * KVS_KEY_INLINE bytes form a block in digest order.  An entry longer than
 * KVS_KEY_INLINE bytes lies wholly in one such block (and so do the keys
 * of such a level): the block is read whole, and its entries are sorted
 * before they are listed.  Blocks are rare and small: their keys share
 * 448 bytes.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <lmdb.h>

#include "kvs_store_int.h"


typedef enum {
    KVS_SEEK_PREFIX = 0,       /* the first key that may start with it */
    KVS_SEEK_PAST              /* past every key under this level */
} kvs_store_seek_e;


typedef struct {
    const char  *path;         /* into the read transaction */
    size_t       len;
    int          is_prefix;
} kvs_store_entry_t;


static int
kvs_store_list_seek(MDB_cursor *cur, MDB_val *key, MDB_val *val, char ns,
    const char *path, size_t len, kvs_store_seek_e how)
{
    uint8_t  k[KVS_STORE_KEY_MAX];

    /* at most the first KVS_KEY_INLINE bytes, never a digest: whatever
     * sorts at or after path sorts at or after them */

    k[0] = (uint8_t) ns;

    if (len > KVS_KEY_INLINE) {
        len = KVS_KEY_INLINE;
    }

    memcpy(k + 1, path, len);

    if (how == KVS_SEEK_PAST) {
        /* path ends with '/': seek "<path without it>0" */
        k[len] = '/' + 1;
    }

    key->mv_data = k;
    key->mv_size = 1 + len;

    return mdb_cursor_get(cur, key, val, MDB_SET_RANGE);
}


static int
kvs_store_entry_cmp(const void *one, const void *two)
{
    int                       c;
    const kvs_store_entry_t  *a = one, *b = two;

    c = memcmp(a->path, b->path, a->len < b->len ? a->len : b->len);

    if (c != 0) {
        return c;
    }

    return (a->len > b->len) - (a->len < b->len);
}


/*
 * The entry a record stands for in a listing: its path, or in a listing
 * that is not recursive the level under the prefix it lies in.  Returns 0
 * when it lists nothing (another prefix, an earlier version, or a record
 * the caller may not see), KVS_LIST_PASSED for a dead record the caller
 * could see (e its full path), a place a walk may stop at and go on from.
 */

#define KVS_LIST_PASSED  2

static int
kvs_store_list_entry(const MDB_val *key, const MDB_val *val,
    const char *prefix, size_t plen, int recursive, uint64_t now_ms,
    kvs_list_may_pt may, void *data, kvs_store_entry_t *e, int *bad)
{
    const char        *slash;
    kvs_record_hdr_t   hdr;

    if (kvs_store_key_is_rev(key->mv_data, key->mv_size)) {
        return 0;
    }

    if (kvs_record_decode(&hdr, val->mv_data, val->mv_size) != 0) {
        *bad = 1;
        return 0;
    }

    if (kvs_store_key_path(NULL, NULL, key->mv_data, key->mv_size, val,
                           &e->path, &e->len)
        != 0)
    {
        *bad = 1;
        return 0;
    }

    if (e->len < plen || memcmp(e->path, prefix, plen) != 0
        || (may != NULL && !may(&hdr, data)))
    {
        return 0;
    }

    e->is_prefix = 0;

    if (!kvs_record_live(&hdr, now_ms)) {
        return KVS_LIST_PASSED;
    }

    if (!recursive) {
        slash = memchr(e->path + plen, '/', e->len - plen);

        if (slash) {
            e->len = slash + 1 - e->path;
            e->is_prefix = 1;
        }
    }

    return 1;
}


int
kvs_store_list(kvs_store_t *st, char ns, const char *prefix, size_t plen,
    const char *after, size_t alen, int recursive, size_t limit,
    uint64_t now_ms, kvs_list_pt fn, void *data, int *more)
{
    kvs_list_walk_t  walk;

    walk.may = NULL;
    walk.scan = 0;

    return kvs_store_list_may(st, ns, prefix, plen, after, alen, recursive,
                              limit, now_ms, &walk, fn, data, more);
}


int
kvs_store_list_may(kvs_store_t *st, char ns, const char *prefix,
    size_t plen, const char *after, size_t alen, int recursive, size_t limit,
    uint64_t now_ms, kvs_list_walk_t *walk, kvs_list_pt fn, void *data,
    int *more)
{
    int                 rc, bad, stop, got;
    size_t              n, i, cmp, nlist, cap, scanned, level;
    uint8_t             block[1 + KVS_KEY_INLINE];
    MDB_val             key, val;
    MDB_cursor         *cur;
    const char         *slash;
    kvs_list_may_pt     may;
    kvs_store_entry_t   e, last, passed, *list, *es, *grown;

    *more = 0;
    may = walk->may;
    walk->resume = NULL;
    walk->resume_len = 0;

    if (alen > KVS_KEY_MAX) {
        return kvs_store_read_failed(st, "listing keys", EINVAL);
    }

    rc = mdb_cursor_open(st->read, st->kv, &cur);
    if (rc != 0) {
        return kvs_store_read_failed(st, "listing keys", rc);
    }

    /* the prefix itself as "after" lists from the start: no entry under
     * it sorts before it, and as a level it would skip them all */

    if (after && alen <= plen && memcmp(after, prefix, alen) == 0) {
        after = NULL;
    }

    /* every entry listed sorts after the last one: after, at first */

    last.path = after;
    last.len = after ? alen : 0;

    /*
     * Not recursive, an after deeper than the prefix's level is where a
     * walk stopped inside a level it had not listed yet (walk->resume): the
     * level still lists when a record under it, past after, is live.
     */

    level = 0;

    if (!recursive && after && alen > plen) {
        slash = memchr(after + plen, '/', alen - plen);

        if (slash && (size_t) (slash + 1 - after) < alen) {
            level = slash + 1 - after;
        }
    }

    passed.path = NULL;
    passed.len = 0;
    scanned = 0;

    if (after == NULL) {
        rc = kvs_store_list_seek(cur, &key, &val, ns, prefix, plen,
                                 KVS_SEEK_PREFIX);

    } else {
        rc = kvs_store_list_seek(cur, &key, &val, ns, after, alen,
                                 !recursive && alen && after[alen - 1] == '/'
                                 && alen <= KVS_KEY_INLINE
                                 ? KVS_SEEK_PAST : KVS_SEEK_PREFIX);
    }

    /* the stretch ends where the stored key stops matching the prefix;
     * past KVS_KEY_INLINE bytes only the full path can tell */
    cmp = plen < KVS_KEY_INLINE ? plen : KVS_KEY_INLINE;

    n = 0;
    bad = 0;
    stop = 0;
    es = NULL;
    cap = 0;

    while (rc == 0 && !stop) {
        if (key.mv_size < 1 + cmp || *(char *) key.mv_data != ns
            || memcmp((char *) key.mv_data + 1, prefix, cmp) != 0)
        {
            break;
        }

        /*
         * The walk's bound: past walk->scan records it stops, at the last
         * dead record the caller could see that it passed since the last
         * entry listed, or else at that entry, and the page says more
         * follow from there.  Records the caller may not see are no place
         * to stop at: "next" would name them.
         */

        if (walk->scan && ++scanned > walk->scan && (passed.path || n))
        {
            if (passed.path) {
                walk->resume = passed.path;
                walk->resume_len = passed.len;
            }

            *more = 1;
            break;
        }

        got = kvs_store_list_entry(&key, &val, prefix, plen, recursive,
                                   now_ms, may, data, &e, &bad);

        if (got != 1) {
            if (bad) {
                rc = MDB_CORRUPTED;
                break;
            }

            if (got == KVS_LIST_PASSED && e.len <= KVS_KEY_INLINE
                && (last.path == NULL || kvs_store_entry_cmp(&e, &last) > 0))
            {
                passed = e;
            }

            rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
            continue;
        }

        if (e.len <= KVS_KEY_INLINE) {
            list = &e;
            nlist = 1;

        } else {

            /* a block of long paths: read whole, then sorted */

            memcpy(block, key.mv_data, sizeof(block));
            nlist = 0;

            /* earlier versions among them are skipped: the long keys',
             * and the 448-byte path's, which sort between the long keys
             * whose digest begins with a zero byte and the others */
            while (rc == 0 && key.mv_size > sizeof(block)
                   && memcmp(key.mv_data, block, sizeof(block)) == 0)
            {
                if (kvs_store_list_entry(&key, &val, prefix, plen,
                                         recursive, now_ms, may, data, &e,
                                         &bad)
                    == 1)
                {
                    if (nlist == cap) {
                        cap = cap ? 2 * cap : 64;
                        grown = realloc(es, cap * sizeof(kvs_store_entry_t));
                        if (grown == NULL) {
                            rc = ENOMEM;
                            break;
                        }
                        es = grown;
                    }

                    es[nlist++] = e;

                } else if (bad) {
                    rc = MDB_CORRUPTED;
                    break;
                }

                rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
            }

            if (rc != 0 && rc != MDB_NOTFOUND) {
                break;
            }

            qsort(es, nlist, sizeof(kvs_store_entry_t), kvs_store_entry_cmp);
            list = es;
        }

        for (i = 0; i < nlist; i++) {

            /* listed already (a level's keys, one after another), or not
             * after the page's "after"; but the level a walk stopped in */

            if (last.path && kvs_store_entry_cmp(&list[i], &last) <= 0
                && !(level && n == 0 && list[i].is_prefix
                     && list[i].len == level
                     && memcmp(list[i].path, after, level) == 0))
            {
                continue;
            }

            if (n == limit) {
                *more = 1;
                stop = 1;
                break;
            }

            if (fn(list[i].path, list[i].len, list[i].is_prefix, data)
                != KVS_OK)
            {
                stop = 1;
                break;
            }

            n++;
            last = list[i];
            passed.path = NULL;
        }

        if (stop || list != &e) {
            /* a block leaves the cursor past itself */
            continue;
        }

        /* every key under a level lists as the level: listed or not, none
         * of them is needed */

        if (e.is_prefix) {
            rc = kvs_store_list_seek(cur, &key, &val, ns, e.path, e.len,
                                     KVS_SEEK_PAST);
            continue;
        }

        rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
    }

    free(es);
    mdb_cursor_close(cur);

    if (rc != 0 && rc != MDB_NOTFOUND) {
        return kvs_store_read_failed(st, "listing keys", rc);
    }

    return KVS_OK;
}

