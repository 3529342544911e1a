/*
 * The tamper-evident audit log: one entry per client change and auth
 * event, kept per node in the `audit` database, chained in commit order.
 *
 * An entry is canonical JSON, its fields always in one order:
 *
 *   {"seq":N,"ts":ms,"key":"log:<ts>:<uuid>","node":"n1","kind":"put",
 *    "user":"bob"|null,"client":"127.0.0.1","method":"PUT",
 *    "object":"/kv/a","status":200,
 *    "version":{"timestamp":T,"uuid":"..."}|null,"count":1,
 *    "prev":"<hex SHA3-512 of the previous entry's bytes>",
 *    "hmac":"<hex HMAC-SHA3-512 of the bytes before ,\"hmac\">"}
 *
 * The chain follows seq, and the keys sort in seq order: the key's ms
 * never goes back (the previous key's when the clock stepped back; "ts"
 * keeps the clock's), and its uuid begins with the seq (kvs_audit_key).
 * So the database needs no index, a new entry is appended at its end, and
 * a clock step never looks like tampering.  An edit breaks an entry's
 * HMAC; a removal breaks a seq; a reordering or a move breaks the key an
 * entry names as its own; a forged entry lacks the secret's HMAC.  Only a
 * removal of the newest entries leaves a valid chain: peers' witnessed
 * heads catch that (kvs_audit_verify_end).
 *
 * This file knows nothing of LMDB: the store builds entries with
 * kvs_audit_encode() and walks them through a kvs_audit_verify_t.  The
 * parser reads untrusted bytes (a store edited behind the node's back) and
 * is fuzzed.
 */

#ifndef KVS_AUDIT_H
#define KVS_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "kvs_crypto.h"
#include "kvs_record.h"


/* the most bytes of each string field an entry holds: longer ones are cut
 * (a key of 1,024 bytes and "/kv/" fit whole) */
#define KVS_AUDIT_USER_MAX     256
#define KVS_AUDIT_CLIENT_MAX   64
#define KVS_AUDIT_METHOD_MAX   16
#define KVS_AUDIT_OBJECT_MAX   1100
#define KVS_AUDIT_NODE_MAX     255

/* an entry's key: "log:", 13 digits of ms, ":", a uuid */
#define KVS_AUDIT_KEY_PREFIX   "log:"
#define KVS_AUDIT_KEY_LEN      (4 + 13 + 1 + 36)
/* the latest ms a key's 13 digits hold */
#define KVS_AUDIT_TS_MAX       9999999999999ULL
/* the latest ms a key's 13 digits say */
#define KVS_AUDIT_TS_MAX       9999999999999ULL

#define KVS_AUDIT_HASH_HEX     (2 * KVS_SHA3_512_LEN)

/* the largest entry: every string escaped at 6 bytes a byte, and the rest */
#define KVS_AUDIT_ENTRY_MAX                                                   \
    (6 * (KVS_AUDIT_USER_MAX + KVS_AUDIT_CLIENT_MAX + KVS_AUDIT_METHOD_MAX    \
          + KVS_AUDIT_OBJECT_MAX + KVS_AUDIT_NODE_MAX)                        \
     + 2 * KVS_AUDIT_HASH_HEX + 512)

/* the shortest audit_secret_file secret, as jwt_secret_file's */
#define KVS_AUDIT_SECRET_MIN   32


/*
 * The kinds of entries, a table (kvs_audit_kinds) so that adding one is
 * one line here and one there.  folded: repeated ones from one client are
 * counted, not written one by one (failed logins, denials), so that an
 * unauthenticated client cannot make the node write at will.
 */
typedef enum {
    KVS_AUDIT_PUT = 0,
    KVS_AUDIT_DELETE,
    KVS_AUDIT_META,
    KVS_AUDIT_READ,
    KVS_AUDIT_LOGIN,
    KVS_AUDIT_LOGIN_FAILED,
    KVS_AUDIT_LOGOUT,
    KVS_AUDIT_USER_CREATE,
    KVS_AUDIT_USER_UPDATE,
    KVS_AUDIT_USER_DELETE,
    KVS_AUDIT_GROUP_CREATE,
    KVS_AUDIT_GROUP_UPDATE,
    KVS_AUDIT_GROUP_DELETE,
    KVS_AUDIT_DENIED,
    KVS_AUDIT_BACKUP_STARTED,
    KVS_AUDIT_BACKUP_FINISHED,
    KVS_AUDIT_KINDS
} kvs_audit_kind_e;

typedef struct {
    const char  *name;
    unsigned     status;           /* the answer's, when it succeeds */
    unsigned     folded:1;
} kvs_audit_kind_t;

extern const kvs_audit_kind_t  kvs_audit_kinds[KVS_AUDIT_KINDS];


/* what the glue says of an event; strings need no NUL */
typedef struct {
    kvs_audit_kind_e  kind;
    const char       *user;          /* NULL: anonymous */
    size_t            user_len;
    const char       *client;
    size_t            client_len;
    const char       *method;
    size_t            method_len;
    const char       *object;
    size_t            object_len;
    unsigned          status;
    uint64_t          count;         /* 0 is taken as 1 */
} kvs_audit_event_t;


/* the chain's end: the last entry's seq and the SHA3-512 of its bytes;
 * seq 0 and zeros before the first */
typedef struct {
    uint64_t  seq;
    uint8_t   hash[KVS_SHA3_512_LEN];
} kvs_audit_head_t;


/*
 * Writes the entry of ev with seq head->seq + 1 after head, at ts, of the
 * version written (NULL: none), under key, signed with mac (the secret's,
 * kvs_hmac_key_new), into out (KVS_AUDIT_ENTRY_MAX bytes), and moves head
 * to it.  key is KVS_AUDIT_KEY_LEN bytes of
 * kvs_audit_key().  Returns the entry's length, or 0 when OpenSSL fails.
 */
size_t kvs_audit_encode(const kvs_audit_event_t *ev, uint64_t ts,
    const char *key, const char *node, size_t node_len,
    const kvs_version_t *version, const kvs_hmac_key_t *mac,
    kvs_audit_head_t *head, uint8_t *out);

/*
 * The key of entry seq at ts, KVS_AUDIT_KEY_LEN bytes (no NUL).  Its uuid
 * is of version 8 (RFC 9562's own layout): the seq's low 48 bits, then
 * random bits, so that the keys of one ts sort in seq order.
 */
void kvs_audit_key(char *out, uint64_t ts, uint64_t seq);

/* the ms of a key, and the seq an entry begins with: -1 if there is none */
int kvs_audit_key_ts(const char *key, size_t len, uint64_t *ts);
int kvs_audit_entry_seq(const uint8_t *entry, size_t len, uint64_t *seq);


/* the fields of a parsed entry: strings point into its bytes, escaped as
 * they are there (without their quotes) */
typedef struct {
    uint64_t     seq;
    uint64_t     ts;
    const char  *key;
    size_t       key_len;
    const char  *node;
    size_t       node_len;
    const char  *kind;
    size_t       kind_len;
    const char  *user;               /* NULL: null */
    size_t       user_len;
    const char  *client;
    size_t       client_len;
    const char  *method;
    size_t       method_len;
    const char  *object;
    size_t       object_len;
    uint64_t     status;
    int          has_version;
    uint64_t     version_ts;
    const char  *version_uuid;       /* 36 bytes */
    uint64_t     count;
    uint8_t      prev[KVS_SHA3_512_LEN];
    uint8_t      hmac[KVS_SHA3_512_LEN];
    size_t       signed_len;         /* the bytes the hmac covers */
} kvs_audit_entry_t;

/* Parses len bytes as an entry in the canonical form.  Returns NULL, or
 * a sentence of what is wrong. */
const char *kvs_audit_parse(const uint8_t *p, size_t len,
    kvs_audit_entry_t *e);


/*
 * What a peer saw of this node's chain: that its entry seq had that hash.
 */
typedef struct {
    char              peer[KVS_AUDIT_NODE_MAX + 1];
    kvs_audit_head_t  head;
    int               seen;          /* the walk met entry seq */
} kvs_audit_witness_t;

/* the longest key a bad entry's can be: LMDB's largest (511 bytes) */
#define KVS_AUDIT_BAD_MAX  511

/*
 * Verification: kvs_audit_verify_init(), then kvs_audit_verify_step() for
 * every entry in key order (its key and bytes), then
 * kvs_audit_verify_end() with peers' witnesses.  Each returns 0, or -1
 * with the first bad entry's key in bad and the reason in why.
 */
typedef struct {
    const kvs_hmac_key_t *mac;
    kvs_audit_head_t  head;
    kvs_audit_witness_t *witnesses;
    size_t            nwitnesses;
    char              bad[KVS_AUDIT_BAD_MAX + 1];  /* bytes of the store,
                                                      NUL-terminated */
    size_t            bad_len;       /* 0: no key to name */
    char              why[512];
} kvs_audit_verify_t;

void kvs_audit_verify_init(kvs_audit_verify_t *v, const kvs_hmac_key_t *mac,
    kvs_audit_witness_t *w, size_t nw);
int kvs_audit_verify_step(kvs_audit_verify_t *v, const char *key,
    size_t key_len, const uint8_t *entry, size_t len);
int kvs_audit_verify_end(kvs_audit_verify_t *v);

/* hex of a hash, 128 chars and a NUL; and back: 0 or -1 */
void kvs_audit_hex(char *out, const uint8_t *hash);
int kvs_audit_unhex(uint8_t *out, const char *in, size_t len);

/* the bytes of s kept when it is cut to at most max: never in the middle
 * of a UTF-8 character */
size_t kvs_audit_cut(const char *s, size_t len, size_t max);

#endif /* KVS_AUDIT_H */
