/*
 * Identity records: users, groups and tokens, and the API's request bodies
 * that make them.
 *
 * Users ('u'), groups ('g') and tokens ('t') are records of the one
 * replicated keyspace, so push, Merkle anti-entropy, bootstrap and conflict
 * votes carry them as they carry data.  Names are unique cluster-wide
 * because a user's or a group's key is derived from its name: a name-based
 * UUID (version 5, RFC 9562 section 5.5) of "u:alice" or "g:devs" in this
 * project's namespace.  Two nodes that create "alice" at once write two
 * versions of the one key, and the version rules keep one everywhere.  A
 * token's key is the lowercase hex of its SHA3-512 (128 characters), so the
 * token itself is never stored.
 *
 * The values are JSON, written canonically here and read back by a strict
 * reader of flat objects on top of kvs_json_check(): no allocation, string
 * fields pointing into the value.  A record's unknown members are skipped
 * (a newer node may add some), a request body's are refused (a client's
 * typo must not pass unnoticed); a known member twice is refused in both.
 */

#ifndef KVS_IDENT_H
#define KVS_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "kvs_record.h"

#define KVS_IDENT_NAME_MAX      64       /* bytes of a username, group name */
#define KVS_IDENT_STORED_MAX    256      /* bytes of a stored KDF string */
#define KVS_IDENT_PASSWORD_MAX  1024     /* bytes of a clear password */
#define KVS_IDENT_GROUPS_MAX    256      /* groups named in a user request */
#define KVS_GROUP_MEMBERS_MAX   10000    /* users in one group */
#define KVS_IDENT_TOKEN_KEY_LEN 128      /* hex of a token's SHA3-512 */
#define KVS_IDENT_WHY_MAX       192      /* a request's refusal sentence */


/* the built-in user and group "admin": kvs_ident_uuid() of their names */
extern const uint8_t  kvs_ident_admin_user[KVS_UUID_LEN];
extern const uint8_t  kvs_ident_admin_group[KVS_UUID_LEN];


/*
 * A user record, {"username":"alice","password":"$scrypt$...",
 * "disabled":false,"password_changed_at":<ms>,"created_at":<ms>}, and
 * "rate_limit" when it is not -1.  password is the KDF's stored string,
 * opaque here but written without escapes: no quote, backslash or control
 * character, 1 to 256 bytes.
 */
typedef struct {
    const char  *username;
    size_t       username_len;
    const char  *password;
    size_t       password_len;
    unsigned     disabled:1;
    uint64_t     password_changed_at;    /* ms */
    uint64_t     created_at;             /* ms */
    int64_t      rate_limit;             /* -1: none */
} kvs_user_t;


/*
 * A group record, {"name":"devs","members":["<uuid>",...],"created_at":ms}.
 * Membership is kept only here.  The members are user uuids in ascending
 * order, each once, written with no blanks, so that member i sits at a
 * fixed offset of the array's text and a lookup needs no copy.
 */
typedef struct {
    const char  *name;
    size_t       name_len;
    const char  *members;                /* the array's text, '[' to ']' */
    size_t       nmembers;
    uint64_t     created_at;             /* ms */
} kvs_group_t;


/* A token record, {"user":"<uuid>","expires_at":<ms>}. */
typedef struct {
    uint8_t      user[KVS_UUID_LEN];
    uint64_t     expires_at;             /* ms */
} kvs_token_t;


/*
 * The members of a request body.  Each says whether the body held it;
 * names are copied out of the body with their escapes decoded, and so are
 * passwords, which may hold any JSON string ("a\"b" is the 3 bytes a, ",
 * b).  An array of names stays in the body, read with
 * kvs_ident_names_next().
 */
typedef struct {
    unsigned      present:1;
    size_t        len;
    char          data[KVS_IDENT_NAME_MAX];
} kvs_ident_name_t;

typedef struct {
    unsigned      present:1;
    size_t        len;
    char          data[KVS_IDENT_PASSWORD_MAX];
} kvs_ident_password_t;

typedef struct {
    unsigned      present:1;
    const char   *text;                  /* '[' to ']', NULL when absent */
    size_t        len;
    size_t        n;
} kvs_ident_names_t;

typedef struct {
    unsigned      present:1;
    unsigned      value:1;
} kvs_ident_flag_t;

/* a number of requests, or null for none */
typedef struct {
    unsigned      present:1;
    int64_t       value;                 /* -1: null */
} kvs_ident_limit_t;


/*
 * The request bodies of the API, why holding the sentence of a refusal.
 * They hold passwords in clear: the caller wipes them (OPENSSL_cleanse)
 * once done.
 */
typedef struct {
    kvs_ident_name_t      username;      /* both required */
    kvs_ident_password_t  password;
    char                  why[KVS_IDENT_WHY_MAX];
} kvs_ident_login_t;


/* POST and PUT /api/users: each member optional here; a new password has
 * at least KVS_PASSWORD_MIN bytes (kvs_acl.h), as the first
 * administrator's */
typedef struct {
    kvs_ident_name_t      username;
    kvs_ident_password_t  password;
    kvs_ident_password_t  old_password;
    kvs_ident_names_t     groups;        /* group names, at most 256 */
    kvs_ident_flag_t      disabled;
    kvs_ident_limit_t     rate_limit;    /* per rate_limit_window; null:
                                            the node's
                                            rate_limit_requests */
    char                  why[KVS_IDENT_WHY_MAX];
} kvs_ident_user_req_t;


/* POST and PUT /api/groups: each member optional here */
typedef struct {
    kvs_ident_name_t      name;
    kvs_ident_names_t     members;       /* usernames, at most 10000 */
    char                  why[KVS_IDENT_WHY_MAX];
} kvs_ident_group_req_t;


/* A uuid of a request: "" is none (all zero). */
typedef struct {
    unsigned      present:1;
    uint8_t       uuid[KVS_UUID_LEN];
} kvs_ident_id_t;

typedef struct {
    unsigned      present:1;
    uint16_t      perm;
} kvs_ident_perm_t;


/* PUT /kv/{key}?meta: who the key belongs to and its bits, each optional:
 * "owner" and "group" uuids ("" for none), "permissions" three hex
 * digits (kvs_acl.h) */
typedef struct {
    kvs_ident_id_t        owner;
    kvs_ident_id_t        group;
    kvs_ident_perm_t      permissions;
    char                  why[KVS_IDENT_WHY_MAX];
} kvs_ident_meta_t;


/* NULL when name is a valid username or group name: 1 to 64 bytes of
 * A-Z a-z 0-9 . _ -, starting with a letter or a digit; otherwise a static
 * sentence saying what is wrong. */
const char *kvs_ident_name_check(const char *name, size_t len);

/*
 * The key of the user (ns 'u') or group ('g') called name: the version 5
 * uuid of the bytes ns ':' name in the project's namespace (kvs_ident.c).
 * Returns 0, or -1 when OpenSSL cannot compute SHA-1 (out of memory).
 */
int kvs_ident_uuid(char ns, const char *name, size_t len,
    uint8_t uuid[KVS_UUID_LEN]);

/* The version 5 uuid of name in the namespace space (RFC 9562 5.5). */
int kvs_ident_uuid_v5(const uint8_t space[KVS_UUID_LEN], const uint8_t *name,
    size_t len, uint8_t uuid[KVS_UUID_LEN]);


/*
 * The encoders write a record's JSON into out, which holds size bytes, and
 * return the bytes it needs: out may be NULL to learn the size, and when
 * the return is more than size, out holds nothing usable.  They return 0
 * when the fields cannot make a valid record (a bad name, a stored
 * password that is not JSON-safe, members out of order or too many).
 *
 * The parsers return 0 with x filled in, its strings pointing into v, or
 * -1 when v is not such a record.
 */
size_t kvs_user_encode(const kvs_user_t *u, uint8_t *out, size_t size);
int kvs_user_parse(const uint8_t *v, size_t len, kvs_user_t *u);

/* members in ascending order, each once: kvs_group_sort() makes them so */
size_t kvs_group_encode(const char *name, size_t name_len,
    const uint8_t (*members)[KVS_UUID_LEN], size_t n, uint64_t created_at,
    uint8_t *out, size_t size);
int kvs_group_parse(const uint8_t *v, size_t len, kvs_group_t *g);

/* Sorts members in place and drops repeats; returns how many are left. */
size_t kvs_group_sort(uint8_t (*members)[KVS_UUID_LEN], size_t n);

/* Member i of a parsed group: 0, or -1 when i is past the last. */
int kvs_group_member(const kvs_group_t *g, size_t i,
    uint8_t uuid[KVS_UUID_LEN]);

/* Whether user is a member of the group record v: 1 or 0, or -1 when v is
 * not a group record.  One pass checks the record, then a binary search
 * finds the member: no copy, no allocation. */
int kvs_group_has(const uint8_t *v, size_t len,
    const uint8_t user[KVS_UUID_LEN]);

size_t kvs_token_encode(const kvs_token_t *t, uint8_t *out, size_t size);
int kvs_token_parse(const uint8_t *v, size_t len, kvs_token_t *t);


/*
 * What the API shows, never a password nor its hash: a user,
 * {"uuid":"…","username":"…","groups":["…"],"disabled":false,
 * "created_at":ms,"password_changed_at":ms}, and "rate_limit" when it is
 * not -1, with the names of its groups;
 * and a group, {"uuid":"…","name":"…","members":["<username>",…],
 * "created_at":ms}, with its members' usernames.  Sized as the encoders.
 */
size_t kvs_user_public(const uint8_t uuid[KVS_UUID_LEN], const kvs_user_t *u,
    const char *const *groups, const size_t *glens, size_t ngroups,
    uint8_t *out, size_t size);
size_t kvs_group_public(const uint8_t uuid[KVS_UUID_LEN],
    const kvs_group_t *g, const char *const *names, const size_t *nlens,
    size_t n, uint8_t *out, size_t size);


/*
 * The request bodies, read into req.  Each returns 0, or -1 with *why
 * pointing at req's why, a sentence naming the field at fault.
 */
int kvs_ident_login_parse(const uint8_t *body, size_t len,
    kvs_ident_login_t *req, const char **why);
int kvs_ident_user_req_parse(const uint8_t *body, size_t len,
    kvs_ident_user_req_t *req, const char **why);
int kvs_ident_group_req_parse(const uint8_t *body, size_t len,
    kvs_ident_group_req_t *req, const char **why);
int kvs_ident_meta_parse(const uint8_t *body, size_t len,
    kvs_ident_meta_t *req, const char **why);

/*
 * The next name of a parsed array: *at is a cursor the caller sets to 0
 * before the first call.  Copies the name, decoded, into name and its
 * length into *len and returns 1, or returns 0 after the last.
 */
int kvs_ident_names_next(const kvs_ident_names_t *names, size_t *at,
    char name[KVS_IDENT_NAME_MAX], size_t *len);

#endif /* KVS_IDENT_H */
