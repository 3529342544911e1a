/*
 * Identity records and the API's request bodies; see kvs_ident.h for the
 * idea.
 *
 * Reading: kvs_json_check() first proves that the bytes are one valid JSON
 * value, so the reader below only finds where each member of the top-level
 * object starts and ends, and never judges the grammar again.  A form, a
 * table of fields as ngx_command_t is, says which members a record or a
 * body has, of which type, which are required, and whether others are
 * skipped or refused; kvs_ident_object() holds every form to that alike.
 * A record's parser then reads the values itself; a request's fields each
 * name the function that reads them and where into the request's struct,
 * so one loop reads every body.
 *
 * Writing: one writer counts what it would write and copies only what
 * fits, so each encoder is also its own size function.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "kvs_acl.h"
#include "kvs_ident.h"
#include "kvs_json.h"


/* a member of a group record: a quoted uuid and the ',' or ']' after it */
#define KVS_IDENT_MEMBER_STRIDE  (KVS_UUID_STR_LEN + 3)

/* the most fields a form has */
#define KVS_IDENT_FIELDS_MAX     8

/* the bytes of an unknown member's name a refusal quotes */
#define KVS_IDENT_QUOTE_MAX      48

#define KVS_IDENT_NAME_LONG      "the name is longer than 64 bytes"


typedef enum {
    KVS_IDENT_ABSENT = 0,
    KVS_IDENT_STRING,
    KVS_IDENT_NUMBER,
    KVS_IDENT_BOOL,
    KVS_IDENT_ARRAY,
    KVS_IDENT_OBJECT,
    KVS_IDENT_NULL
} kvs_ident_type_e;


typedef struct {
    const uint8_t     *p;        /* a string's characters, without the
                                    quotes; else the value's text */
    size_t             len;
    kvs_ident_type_e   type;
} kvs_ident_value_t;


/* where a refusal's sentence goes: a request's why, or nowhere */
typedef struct {
    char         *buf;                   /* KVS_IDENT_WHY_MAX bytes */
    const char  **why;
} kvs_ident_err_t;


typedef struct kvs_ident_field_s  kvs_ident_field_t;

/* reads a request's member into dst, the field's place in its struct */
typedef int (*kvs_ident_read_pt)(const kvs_ident_value_t *v,
    const kvs_ident_field_t *f, void *dst, kvs_ident_err_t *err);

struct kvs_ident_field_s {
    const char         *name;
    kvs_ident_type_e    type;
    unsigned            required:1;
    /* a request's, as ngx_command_t's set, offset and post: how a member
     * is read, where into the struct, and a password's fewest bytes or an
     * array's most names.  NULL in a record's: its parser reads it. */
    kvs_ident_read_pt   read;
    size_t              offset;
    size_t              limit;
};


typedef struct {
    /* what a refusal of an unknown member says the form takes; NULL: an
     * unknown member is skipped, as a newer node's is in a record */
    const char               *takes;
    const kvs_ident_field_t  *fields;    /* ends with a NULL name */
    size_t                    size;      /* a request's struct, its why[] */
    size_t                    why;
} kvs_ident_form_t;


typedef struct {
    uint8_t  *out;                       /* NULL: only count */
    size_t    size;
    size_t    len;                       /* the bytes all of it needs */
} kvs_ident_out_t;


static int kvs_ident_sha1_uuid(const uint8_t space[KVS_UUID_LEN],
    const uint8_t *prefix, size_t plen, const uint8_t *name, size_t len,
    uint8_t uuid[KVS_UUID_LEN]);
static int kvs_ident_stored_check(const char *p, size_t len);
static int kvs_ident_uuid_text(const uint8_t *p);
static int kvs_group_members_check(const uint8_t *p, size_t len,
    size_t *n);
static int kvs_group_cmp(const void *a, const void *b);

static int kvs_ident_object(const uint8_t *v, size_t len,
    const kvs_ident_form_t *form, kvs_ident_value_t *found,
    kvs_ident_err_t *err);
static const uint8_t *kvs_ident_value(const uint8_t *p, const uint8_t *end,
    kvs_ident_value_t *v);
static const uint8_t *kvs_ident_element(const uint8_t *p,
    const uint8_t *end, kvs_ident_value_t *e);
static const uint8_t *kvs_ident_string_end(const uint8_t *p,
    const uint8_t *end);
static const uint8_t *kvs_ident_space(const uint8_t *p, const uint8_t *end);
static int kvs_ident_unescape(const uint8_t *s, size_t len, uint8_t *dst,
    size_t size, size_t *n);
static unsigned kvs_ident_hex4(const uint8_t *p);
static int kvs_ident_u64(const kvs_ident_value_t *v, uint64_t max,
    uint64_t *n);
static int kvs_ident_request(const uint8_t *body, size_t len,
    const kvs_ident_form_t *form, void *req, const char **why);
static int kvs_ident_read_name(const kvs_ident_value_t *v,
    const kvs_ident_field_t *f, void *dst, kvs_ident_err_t *err);
static int kvs_ident_read_password(const kvs_ident_value_t *v,
    const kvs_ident_field_t *f, void *dst, kvs_ident_err_t *err);
static int kvs_ident_read_names(const kvs_ident_value_t *v,
    const kvs_ident_field_t *f, void *dst, kvs_ident_err_t *err);
static int kvs_ident_read_flag(const kvs_ident_value_t *v,
    const kvs_ident_field_t *f, void *dst, kvs_ident_err_t *err);
static int kvs_ident_read_limit(const kvs_ident_value_t *v,
    const kvs_ident_field_t *f, void *dst, kvs_ident_err_t *err);
static int kvs_ident_read_id(const kvs_ident_value_t *v,
    const kvs_ident_field_t *f, void *dst, kvs_ident_err_t *err);
static int kvs_ident_read_perm(const kvs_ident_value_t *v,
    const kvs_ident_field_t *f, void *dst, kvs_ident_err_t *err);
static const char *kvs_ident_name_read(const kvs_ident_value_t *v,
    char *name, size_t *len);
static int kvs_ident_fail(kvs_ident_err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void kvs_ident_put(kvs_ident_out_t *o, const void *s, size_t n);
static void kvs_ident_puts(kvs_ident_out_t *o, const char *s);
static void kvs_ident_put_str(kvs_ident_out_t *o, const void *s, size_t n);
static void kvs_ident_put_u64(kvs_ident_out_t *o, uint64_t v);
static void kvs_ident_put_uuid(kvs_ident_out_t *o,
    const uint8_t uuid[KVS_UUID_LEN]);
static void kvs_ident_put_names(kvs_ident_out_t *o,
    const char *const *names, const size_t *lens, size_t n);


/*
 * The namespace of the project's name-based uuids,
 * d4263381-5435-442d-8781-f6ce4bf8c0d8: a random (version 4) uuid drawn
 * once for this project.  Every user's and group's key derives from it, so
 * it never changes.
 */
static const uint8_t  kvs_ident_namespace[KVS_UUID_LEN] = {
    0xd4, 0x26, 0x33, 0x81, 0x54, 0x35, 0x44, 0x2d,
    0x87, 0x81, 0xf6, 0xce, 0x4b, 0xf8, 0xc0, 0xd8
};

/* 2131b76e-641e-5c30-b0a5-e3360261c5cf, the uuid of "u:admin" */
const uint8_t  kvs_ident_admin_user[KVS_UUID_LEN] = {
    0x21, 0x31, 0xb7, 0x6e, 0x64, 0x1e, 0x5c, 0x30,
    0xb0, 0xa5, 0xe3, 0x36, 0x02, 0x61, 0xc5, 0xcf
};

/* 8887d470-42c7-5cf3-83f8-c01f8f1d2c89, the uuid of "g:admin" */
const uint8_t  kvs_ident_admin_group[KVS_UUID_LEN] = {
    0x88, 0x87, 0xd4, 0x70, 0x42, 0xc7, 0x5c, 0xf3,
    0x83, 0xf8, 0xc0, 0x1f, 0x8f, 0x1d, 0x2c, 0x89
};


/*
 * SHA-1, fetched once per process rather than by every digest.  The uuids
 * are made on an event loop, never by the KDF's threads; were two threads
 * ever to race here, one fetch would only be lost, not misused.
 */
static EVP_MD  *kvs_ident_sha1;


/* the forms: each enum names the indexes of its table */

enum {
    KVS_USER_USERNAME = 0,
    KVS_USER_PASSWORD,
    KVS_USER_DISABLED,
    KVS_USER_PASSWORD_CHANGED_AT,
    KVS_USER_CREATED_AT,
    KVS_USER_RATE_LIMIT
};

static const kvs_ident_field_t  kvs_user_fields[] = {
    { "username", KVS_IDENT_STRING, 1, NULL, 0, 0 },
    { "password", KVS_IDENT_STRING, 1, NULL, 0, 0 },
    { "disabled", KVS_IDENT_BOOL, 1, NULL, 0, 0 },
    { "password_changed_at", KVS_IDENT_NUMBER, 1, NULL, 0, 0 },
    { "created_at", KVS_IDENT_NUMBER, 1, NULL, 0, 0 },
    { "rate_limit", KVS_IDENT_NUMBER, 0, NULL, 0, 0 },
    { NULL, KVS_IDENT_ABSENT, 0, NULL, 0, 0 }
};

static const kvs_ident_form_t  kvs_user_form = {
    NULL, kvs_user_fields, 0, 0
};


enum {
    KVS_GROUP_NAME = 0,
    KVS_GROUP_MEMBERS,
    KVS_GROUP_CREATED_AT
};

static const kvs_ident_field_t  kvs_group_fields[] = {
    { "name", KVS_IDENT_STRING, 1, NULL, 0, 0 },
    { "members", KVS_IDENT_ARRAY, 1, NULL, 0, 0 },
    { "created_at", KVS_IDENT_NUMBER, 1, NULL, 0, 0 },
    { NULL, KVS_IDENT_ABSENT, 0, NULL, 0, 0 }
};

static const kvs_ident_form_t  kvs_group_form = {
    NULL, kvs_group_fields, 0, 0
};


enum {
    KVS_TOKEN_USER = 0,
    KVS_TOKEN_EXPIRES_AT
};

static const kvs_ident_field_t  kvs_token_fields[] = {
    { "user", KVS_IDENT_STRING, 1, NULL, 0, 0 },
    { "expires_at", KVS_IDENT_NUMBER, 1, NULL, 0, 0 },
    { NULL, KVS_IDENT_ABSENT, 0, NULL, 0, 0 }
};

static const kvs_ident_form_t  kvs_token_form = {
    NULL, kvs_token_fields, 0, 0
};


/* a login's password has no minimum: a short one fails as a wrong one */

static const kvs_ident_field_t  kvs_ident_login_fields[] = {
    { "username", KVS_IDENT_STRING, 1, kvs_ident_read_name,
      offsetof(kvs_ident_login_t, username), 0 },
    { "password", KVS_IDENT_STRING, 1, kvs_ident_read_password,
      offsetof(kvs_ident_login_t, password), 0 },
    { NULL, KVS_IDENT_ABSENT, 0, NULL, 0, 0 }
};

static const kvs_ident_form_t  kvs_ident_login_form = {
    "a login takes \"username\" and \"password\"", kvs_ident_login_fields,
    sizeof(kvs_ident_login_t), offsetof(kvs_ident_login_t, why)
};


static const kvs_ident_field_t  kvs_ident_user_req_fields[] = {
    { "username", KVS_IDENT_STRING, 0, kvs_ident_read_name,
      offsetof(kvs_ident_user_req_t, username), 0 },
    { "password", KVS_IDENT_STRING, 0, kvs_ident_read_password,
      offsetof(kvs_ident_user_req_t, password), KVS_PASSWORD_MIN },
    { "old_password", KVS_IDENT_STRING, 0, kvs_ident_read_password,
      offsetof(kvs_ident_user_req_t, old_password), 0 },
    { "groups", KVS_IDENT_ARRAY, 0, kvs_ident_read_names,
      offsetof(kvs_ident_user_req_t, groups), KVS_IDENT_GROUPS_MAX },
    { "disabled", KVS_IDENT_BOOL, 0, kvs_ident_read_flag,
      offsetof(kvs_ident_user_req_t, disabled), 0 },
    { "rate_limit", KVS_IDENT_NUMBER, 0, kvs_ident_read_limit,
      offsetof(kvs_ident_user_req_t, rate_limit), 0 },
    { NULL, KVS_IDENT_ABSENT, 0, NULL, 0, 0 }
};

static const kvs_ident_form_t  kvs_ident_user_req_form = {
    "a user takes \"username\", \"password\", \"old_password\", \"groups\", "
    "\"disabled\" and \"rate_limit\"",
    kvs_ident_user_req_fields,
    sizeof(kvs_ident_user_req_t), offsetof(kvs_ident_user_req_t, why)
};


static const kvs_ident_field_t  kvs_ident_group_req_fields[] = {
    { "name", KVS_IDENT_STRING, 0, kvs_ident_read_name,
      offsetof(kvs_ident_group_req_t, name), 0 },
    { "members", KVS_IDENT_ARRAY, 0, kvs_ident_read_names,
      offsetof(kvs_ident_group_req_t, members), KVS_GROUP_MEMBERS_MAX },
    { NULL, KVS_IDENT_ABSENT, 0, NULL, 0, 0 }
};

static const kvs_ident_form_t  kvs_ident_group_req_form = {
    "a group takes \"name\" and \"members\"", kvs_ident_group_req_fields,
    sizeof(kvs_ident_group_req_t), offsetof(kvs_ident_group_req_t, why)
};


static const kvs_ident_field_t  kvs_ident_meta_fields[] = {
    { "owner", KVS_IDENT_STRING, 0, kvs_ident_read_id,
      offsetof(kvs_ident_meta_t, owner), 0 },
    { "group", KVS_IDENT_STRING, 0, kvs_ident_read_id,
      offsetof(kvs_ident_meta_t, group), 0 },
    { "permissions", KVS_IDENT_STRING, 0, kvs_ident_read_perm,
      offsetof(kvs_ident_meta_t, permissions), 0 },
    { NULL, KVS_IDENT_ABSENT, 0, NULL, 0, 0 }
};

static const kvs_ident_form_t  kvs_ident_meta_form = {
    "a key's meta takes \"owner\", \"group\" and \"permissions\"",
    kvs_ident_meta_fields,
    sizeof(kvs_ident_meta_t), offsetof(kvs_ident_meta_t, why)
};


/* what a refusal says a field must be, by kvs_ident_type_e */
static const char  *kvs_ident_type_names[] = {
    "absent", "a string", "a number", "true or false", "an array",
    "an object", "null"
};


/* names */

static int
kvs_ident_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')
           || (c >= 'a' && c <= 'z');
}


const char *
kvs_ident_name_check(const char *name, size_t len)
{
    char    c;
    size_t  i;

    if (len == 0) {
        return "the name is empty";
    }

    if (len > KVS_IDENT_NAME_MAX) {
        return KVS_IDENT_NAME_LONG;
    }

    if (!kvs_ident_alnum(name[0])) {
        return "the name must start with a letter or a digit";
    }

    for (i = 1; i < len; i++) {
        c = name[i];

        if (!kvs_ident_alnum(c) && c != '.' && c != '_' && c != '-') {
            return "the name may hold only letters, digits, '.', '_' "
                   "and '-'";
        }
    }

    return NULL;
}


int
kvs_ident_uuid(char ns, const char *name, size_t len,
    uint8_t uuid[KVS_UUID_LEN])
{
    uint8_t  prefix[2];

    prefix[0] = (uint8_t) ns;
    prefix[1] = ':';

    return kvs_ident_sha1_uuid(kvs_ident_namespace, prefix, sizeof(prefix),
                               (const uint8_t *) name, len, uuid);
}


int
kvs_ident_uuid_v5(const uint8_t space[KVS_UUID_LEN], const uint8_t *name,
    size_t len, uint8_t uuid[KVS_UUID_LEN])
{
    return kvs_ident_sha1_uuid(space, NULL, 0, name, len, uuid);
}


/* RFC 9562 5.5: SHA-1 of the namespace and the name (here in two parts),
 * its first 16 bytes, with the version and the variant set */

static int
kvs_ident_sha1_uuid(const uint8_t space[KVS_UUID_LEN], const uint8_t *prefix,
    size_t plen, const uint8_t *name, size_t len, uint8_t uuid[KVS_UUID_LEN])
{
    int           ok;
    uint8_t       md[EVP_MAX_MD_SIZE];
    EVP_MD_CTX   *ctx;
    unsigned int  mdlen;

    if (kvs_ident_sha1 == NULL) {
        kvs_ident_sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
        if (kvs_ident_sha1 == NULL) {
            return -1;
        }
    }

    ctx = EVP_MD_CTX_new();
    if (ctx == NULL) {
        return -1;
    }

    ok = EVP_DigestInit_ex(ctx, kvs_ident_sha1, NULL) == 1
         && EVP_DigestUpdate(ctx, space, KVS_UUID_LEN) == 1
         && EVP_DigestUpdate(ctx, prefix, plen) == 1
         && EVP_DigestUpdate(ctx, name, len) == 1
         && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1
         && mdlen >= KVS_UUID_LEN;

    EVP_MD_CTX_free(ctx);

    if (!ok) {
        return -1;
    }

    memcpy(uuid, md, KVS_UUID_LEN);
    uuid[6] = (uint8_t) ((uuid[6] & 0x0f) | 0x50);
    uuid[8] = (uint8_t) ((uuid[8] & 0x3f) | 0x80);

    return 0;
}


/* users */

size_t
kvs_user_encode(const kvs_user_t *u, uint8_t *out, size_t size)
{
    kvs_ident_out_t  o;

    if (kvs_ident_name_check(u->username, u->username_len) != NULL
        || kvs_ident_stored_check(u->password, u->password_len) != 0)
    {
        return 0;
    }

    o.out = out;
    o.size = size;
    o.len = 0;

    kvs_ident_puts(&o, "{\"username\":");
    kvs_ident_put_str(&o, u->username, u->username_len);
    kvs_ident_puts(&o, ",\"password\":");
    kvs_ident_put_str(&o, u->password, u->password_len);
    kvs_ident_puts(&o, u->disabled ? ",\"disabled\":true"
                                   : ",\"disabled\":false");
    kvs_ident_puts(&o, ",\"password_changed_at\":");
    kvs_ident_put_u64(&o, u->password_changed_at);
    kvs_ident_puts(&o, ",\"created_at\":");
    kvs_ident_put_u64(&o, u->created_at);

    if (u->rate_limit >= 0) {
        kvs_ident_puts(&o, ",\"rate_limit\":");
        kvs_ident_put_u64(&o, (uint64_t) u->rate_limit);
    }

    kvs_ident_puts(&o, "}");

    return o.len;
}


int
kvs_user_parse(const uint8_t *v, size_t len, kvs_user_t *u)
{
    uint64_t           n;
    kvs_ident_err_t    err;
    kvs_ident_value_t  f[KVS_IDENT_FIELDS_MAX];

    err.buf = NULL;
    err.why = NULL;

    if (kvs_ident_object(v, len, &kvs_user_form, f, &err) != 0) {
        return -1;
    }

    /* both are written without escapes, so they are read in place */
    u->username = (const char *) f[KVS_USER_USERNAME].p;
    u->username_len = f[KVS_USER_USERNAME].len;
    u->password = (const char *) f[KVS_USER_PASSWORD].p;
    u->password_len = f[KVS_USER_PASSWORD].len;
    u->disabled = (f[KVS_USER_DISABLED].p[0] == 't');
    u->rate_limit = -1;

    if (kvs_ident_name_check(u->username, u->username_len) != NULL
        || kvs_ident_stored_check(u->password, u->password_len) != 0
        || kvs_ident_u64(&f[KVS_USER_PASSWORD_CHANGED_AT], UINT64_MAX,
                         &u->password_changed_at) != 0
        || kvs_ident_u64(&f[KVS_USER_CREATED_AT], UINT64_MAX,
                         &u->created_at) != 0)
    {
        return -1;
    }

    if (f[KVS_USER_RATE_LIMIT].type != KVS_IDENT_ABSENT) {
        if (kvs_ident_u64(&f[KVS_USER_RATE_LIMIT], INT64_MAX, &n) != 0) {
            return -1;
        }

        u->rate_limit = (int64_t) n;
    }

    return 0;
}


size_t
kvs_user_public(const uint8_t uuid[KVS_UUID_LEN], const kvs_user_t *u,
    const char *const *groups, const size_t *glens, size_t ngroups,
    uint8_t *out, size_t size)
{
    kvs_ident_out_t  o;

    o.out = out;
    o.size = size;
    o.len = 0;

    kvs_ident_puts(&o, "{\"uuid\":");
    kvs_ident_put_uuid(&o, uuid);
    kvs_ident_puts(&o, ",\"username\":");
    kvs_ident_put_str(&o, u->username, u->username_len);
    kvs_ident_puts(&o, ",\"groups\":");
    kvs_ident_put_names(&o, groups, glens, ngroups);
    kvs_ident_puts(&o, u->disabled ? ",\"disabled\":true"
                                   : ",\"disabled\":false");
    kvs_ident_puts(&o, ",\"created_at\":");
    kvs_ident_put_u64(&o, u->created_at);
    kvs_ident_puts(&o, ",\"password_changed_at\":");
    kvs_ident_put_u64(&o, u->password_changed_at);

    if (u->rate_limit >= 0) {
        kvs_ident_puts(&o, ",\"rate_limit\":");
        kvs_ident_put_u64(&o, (uint64_t) u->rate_limit);
    }

    kvs_ident_puts(&o, "}");

    return o.len;
}


/* a stored KDF string is written as is: it must need no escape */

static int
kvs_ident_stored_check(const char *p, size_t len)
{
    size_t   i;
    uint8_t  c;

    if (len == 0 || len > KVS_IDENT_STORED_MAX) {
        return -1;
    }

    for (i = 0; i < len; i++) {
        c = (uint8_t) p[i];

        if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
            return -1;
        }
    }

    return kvs_json_utf8_check((const uint8_t *) p, len);
}


/* groups */

size_t
kvs_group_encode(const char *name, size_t name_len,
    const uint8_t (*members)[KVS_UUID_LEN], size_t n, uint64_t created_at,
    uint8_t *out, size_t size)
{
    size_t           i;
    kvs_ident_out_t  o;

    if (kvs_ident_name_check(name, name_len) != NULL
        || n > KVS_GROUP_MEMBERS_MAX)
    {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if (memcmp(members[i - 1], members[i], KVS_UUID_LEN) >= 0) {
            return 0;
        }
    }

    o.out = out;
    o.size = size;
    o.len = 0;

    kvs_ident_puts(&o, "{\"name\":");
    kvs_ident_put_str(&o, name, name_len);
    kvs_ident_puts(&o, ",\"members\":[");

    for (i = 0; i < n; i++) {
        if (i > 0) {
            kvs_ident_puts(&o, ",");
        }

        kvs_ident_put_uuid(&o, members[i]);
    }

    kvs_ident_puts(&o, "],\"created_at\":");
    kvs_ident_put_u64(&o, created_at);
    kvs_ident_puts(&o, "}");

    return o.len;
}


int
kvs_group_parse(const uint8_t *v, size_t len, kvs_group_t *g)
{
    kvs_ident_err_t    err;
    kvs_ident_value_t  f[KVS_IDENT_FIELDS_MAX];

    err.buf = NULL;
    err.why = NULL;

    if (kvs_ident_object(v, len, &kvs_group_form, f, &err) != 0) {
        return -1;
    }

    g->name = (const char *) f[KVS_GROUP_NAME].p;
    g->name_len = f[KVS_GROUP_NAME].len;
    g->members = (const char *) f[KVS_GROUP_MEMBERS].p;

    if (kvs_ident_name_check(g->name, g->name_len) != NULL
        || kvs_group_members_check(f[KVS_GROUP_MEMBERS].p,
                                   f[KVS_GROUP_MEMBERS].len, &g->nmembers)
           != 0
        || kvs_ident_u64(&f[KVS_GROUP_CREATED_AT], UINT64_MAX,
                         &g->created_at) != 0)
    {
        return -1;
    }

    return 0;
}


/*
 * The members array exactly as kvs_group_encode() writes it: no blanks,
 * lowercase uuids, each greater than the one before.  The text order of
 * lowercase uuids is the order of their bytes, so it is the order
 * kvs_group_sort() makes, and member i starts at 1 + 39 * i.
 */

static int
kvs_group_members_check(const uint8_t *p, size_t len, size_t *n)
{
    size_t          i, count;
    const uint8_t  *m;

    /* a JSON array of two bytes is "[]" */
    if (len == 2) {
        *n = 0;
        return 0;
    }

    if ((len - 1) % KVS_IDENT_MEMBER_STRIDE != 0) {
        return -1;
    }

    count = (len - 1) / KVS_IDENT_MEMBER_STRIDE;

    if (count > KVS_GROUP_MEMBERS_MAX) {
        return -1;
    }

    for (i = 0; i < count; i++) {
        m = p + 1 + i * KVS_IDENT_MEMBER_STRIDE;

        if (m[0] != '"' || m[KVS_UUID_STR_LEN + 1] != '"'
            || m[KVS_UUID_STR_LEN + 2] != (i + 1 == count ? ']' : ',')
            || kvs_ident_uuid_text(m + 1) != 0)
        {
            return -1;
        }

        if (i > 0
            && memcmp(m + 1 - KVS_IDENT_MEMBER_STRIDE, m + 1,
                      KVS_UUID_STR_LEN) >= 0)
        {
            return -1;
        }
    }

    *n = count;

    return 0;
}


size_t
kvs_group_sort(uint8_t (*members)[KVS_UUID_LEN], size_t n)
{
    size_t  i, k;

    if (n == 0) {
        return 0;
    }

    qsort(members, n, KVS_UUID_LEN, kvs_group_cmp);

    for (i = 1, k = 1; i < n; i++) {
        if (memcmp(members[k - 1], members[i], KVS_UUID_LEN) != 0) {
            memmove(members[k], members[i], KVS_UUID_LEN);
            k++;
        }
    }

    return k;
}


static int
kvs_group_cmp(const void *a, const void *b)
{
    return memcmp(a, b, KVS_UUID_LEN);
}


int
kvs_group_member(const kvs_group_t *g, size_t i, uint8_t uuid[KVS_UUID_LEN])
{
    if (i >= g->nmembers) {
        return -1;
    }

    return kvs_uuid_parse(uuid, g->members + 2 + i * KVS_IDENT_MEMBER_STRIDE,
                          KVS_UUID_STR_LEN);
}


int
kvs_group_has(const uint8_t *v, size_t len, const uint8_t user[KVS_UUID_LEN])
{
    int          cmp;
    char         want[KVS_UUID_STR_LEN];
    size_t       lo, hi, mid;
    kvs_group_t  g;

    if (kvs_group_parse(v, len, &g) != 0) {
        return -1;
    }

    kvs_uuid_format(user, want);

    lo = 0;
    hi = g.nmembers;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        cmp = memcmp(g.members + 2 + mid * KVS_IDENT_MEMBER_STRIDE, want,
                     KVS_UUID_STR_LEN);

        if (cmp == 0) {
            return 1;
        }

        if (cmp < 0) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    return 0;
}


size_t
kvs_group_public(const uint8_t uuid[KVS_UUID_LEN], const kvs_group_t *g,
    const char *const *names, const size_t *nlens, size_t n, uint8_t *out,
    size_t size)
{
    kvs_ident_out_t  o;

    o.out = out;
    o.size = size;
    o.len = 0;

    kvs_ident_puts(&o, "{\"uuid\":");
    kvs_ident_put_uuid(&o, uuid);
    kvs_ident_puts(&o, ",\"name\":");
    kvs_ident_put_str(&o, g->name, g->name_len);
    kvs_ident_puts(&o, ",\"members\":");
    kvs_ident_put_names(&o, names, nlens, n);
    kvs_ident_puts(&o, ",\"created_at\":");
    kvs_ident_put_u64(&o, g->created_at);
    kvs_ident_puts(&o, "}");

    return o.len;
}


/* tokens */

size_t
kvs_token_encode(const kvs_token_t *t, uint8_t *out, size_t size)
{
    kvs_ident_out_t  o;

    o.out = out;
    o.size = size;
    o.len = 0;

    kvs_ident_puts(&o, "{\"user\":");
    kvs_ident_put_uuid(&o, t->user);
    kvs_ident_puts(&o, ",\"expires_at\":");
    kvs_ident_put_u64(&o, t->expires_at);
    kvs_ident_puts(&o, "}");

    return o.len;
}


int
kvs_token_parse(const uint8_t *v, size_t len, kvs_token_t *t)
{
    kvs_ident_err_t    err;
    kvs_ident_value_t  f[KVS_IDENT_FIELDS_MAX];

    err.buf = NULL;
    err.why = NULL;

    if (kvs_ident_object(v, len, &kvs_token_form, f, &err) != 0
        || f[KVS_TOKEN_USER].len != KVS_UUID_STR_LEN
        || kvs_ident_uuid_text(f[KVS_TOKEN_USER].p) != 0
        || kvs_uuid_parse(t->user, (const char *) f[KVS_TOKEN_USER].p,
                          KVS_UUID_STR_LEN) != 0
        || kvs_ident_u64(&f[KVS_TOKEN_EXPIRES_AT], UINT64_MAX,
                         &t->expires_at) != 0)
    {
        return -1;
    }

    return 0;
}


/* 36 characters as kvs_uuid_format() writes them: lowercase hex, dashes */

static int
kvs_ident_uuid_text(const uint8_t *p)
{
    size_t  i;

    for (i = 0; i < KVS_UUID_STR_LEN; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (p[i] != '-') {
                return -1;
            }

        } else if (!((p[i] >= '0' && p[i] <= '9')
                     || (p[i] >= 'a' && p[i] <= 'f')))
        {
            return -1;
        }
    }

    return 0;
}


/* request bodies */

int
kvs_ident_login_parse(const uint8_t *body, size_t len,
    kvs_ident_login_t *req, const char **why)
{
    return kvs_ident_request(body, len, &kvs_ident_login_form, req, why);
}


int
kvs_ident_user_req_parse(const uint8_t *body, size_t len,
    kvs_ident_user_req_t *req, const char **why)
{
    return kvs_ident_request(body, len, &kvs_ident_user_req_form, req, why);
}


int
kvs_ident_group_req_parse(const uint8_t *body, size_t len,
    kvs_ident_group_req_t *req, const char **why)
{
    return kvs_ident_request(body, len, &kvs_ident_group_req_form, req,
                             why);
}


int
kvs_ident_meta_parse(const uint8_t *body, size_t len, kvs_ident_meta_t *req,
    const char **why)
{
    return kvs_ident_request(body, len, &kvs_ident_meta_form, req, why);
}


int
kvs_ident_names_next(const kvs_ident_names_t *names, size_t *at,
    char name[KVS_IDENT_NAME_MAX], size_t *len)
{
    const uint8_t      *p, *text;
    kvs_ident_value_t   e;

    if (names->text == NULL || *at >= names->len) {
        return 0;
    }

    text = (const uint8_t *) names->text;

    p = kvs_ident_element(text + (*at == 0 ? 1 : *at), text + names->len,
                          &e);

    if (p == NULL || kvs_ident_name_read(&e, name, len) != NULL) {
        return 0;
    }

    *at = (size_t) (p - text);

    return 1;
}


/*
 * A request body by its form into req, zeroed first: each member the body
 * holds read by its field's read() into its place, a refusal's sentence in
 * the struct's why.
 */

static int
kvs_ident_request(const uint8_t *body, size_t len,
    const kvs_ident_form_t *form, void *req, const char **why)
{
    size_t                    i;
    uint8_t                  *base;
    kvs_ident_err_t           err;
    kvs_ident_value_t         found[KVS_IDENT_FIELDS_MAX];
    const kvs_ident_field_t  *f;

    base = req;
    memset(base, 0, form->size);

    err.buf = (char *) base + form->why;
    err.why = why;

    if (kvs_ident_object(body, len, form, found, &err) != 0) {
        return -1;
    }

    for (i = 0; form->fields[i].name != NULL; i++) {
        f = &form->fields[i];

        if (found[i].type != KVS_IDENT_ABSENT
            && f->read(&found[i], f, base + f->offset, &err) != 0)
        {
            return -1;
        }
    }

    return 0;
}


static int
kvs_ident_read_name(const kvs_ident_value_t *v, const kvs_ident_field_t *f,
    void *dst, kvs_ident_err_t *err)
{
    const char        *bad;
    kvs_ident_name_t  *name;

    name = dst;
    name->present = 1;

    bad = kvs_ident_name_read(v, name->data, &name->len);
    if (bad != NULL) {
        return kvs_ident_fail(err, "\"%s\": %s", f->name, bad);
    }

    return 0;
}


/* a clear password, decoded, of at least f->limit bytes */

static int
kvs_ident_read_password(const kvs_ident_value_t *v,
    const kvs_ident_field_t *f, void *dst, kvs_ident_err_t *err)
{
    kvs_ident_password_t  *pw;

    pw = dst;
    pw->present = 1;

    if (kvs_ident_unescape(v->p, v->len, (uint8_t *) pw->data,
                           sizeof(pw->data), &pw->len)
        != 0)
    {
        return kvs_ident_fail(err, "\"%s\" is longer than %zu bytes",
                              f->name, sizeof(pw->data));
    }

    if (pw->len < f->limit) {
        return kvs_ident_fail(err, "\"%s\" is shorter than %zu bytes",
                              f->name, f->limit);
    }

    return 0;
}


/* an array of at most f->limit names, each checked; it stays in the body */

static int
kvs_ident_read_names(const kvs_ident_value_t *v, const kvs_ident_field_t *f,
    void *dst, kvs_ident_err_t *err)
{
    char                name[KVS_IDENT_NAME_MAX];
    size_t              n, len;
    const char         *bad;
    const uint8_t      *p, *end;
    kvs_ident_value_t   e;
    kvs_ident_names_t  *names;

    end = v->p + v->len;
    n = 0;

    for (p = kvs_ident_element(v->p + 1, end, &e);
         p != NULL;
         p = kvs_ident_element(p, end, &e))
    {
        if (n == f->limit) {
            return kvs_ident_fail(err, "\"%s\" holds more than %zu names",
                                  f->name, f->limit);
        }

        bad = kvs_ident_name_read(&e, name, &len);
        if (bad != NULL) {
            return kvs_ident_fail(err, "\"%s\"[%zu]: %s", f->name, n, bad);
        }

        n++;
    }

    names = dst;
    names->present = 1;
    names->text = (const char *) v->p;
    names->len = v->len;
    names->n = n;

    return 0;
}


static int
kvs_ident_read_flag(const kvs_ident_value_t *v, const kvs_ident_field_t *f,
    void *dst, kvs_ident_err_t *err)
{
    kvs_ident_flag_t  *flag;

    (void) f;
    (void) err;

    flag = dst;
    flag->present = 1;
    flag->value = (v->p[0] == 't');

    return 0;
}


/* a user's own rate limit: requests per window, or null for none */

static int
kvs_ident_read_limit(const kvs_ident_value_t *v, const kvs_ident_field_t *f,
    void *dst, kvs_ident_err_t *err)
{
    uint64_t            n;
    kvs_ident_limit_t  *limit;

    limit = dst;
    limit->present = 1;
    limit->value = -1;

    if (v->type == KVS_IDENT_NULL) {
        return 0;
    }

    /* rate_limit_requests' bound: a window counts requests in 32 bits
     * (kvs_rate.c), and a larger limit was shown as set and applied as
     * 4294967295 */

    if (kvs_ident_u64(v, 1000000000, &n) != 0) {
        return kvs_ident_fail(err, "\"%s\" must be a whole number of "
                              "requests per window from 0 (none) to "
                              "1000000000, or null for the node's "
                              "rate_limit_requests", f->name);
    }

    limit->value = (int64_t) n;

    return 0;
}


/* a user's or a group's uuid, or "" for none */

static int
kvs_ident_read_id(const kvs_ident_value_t *v, const kvs_ident_field_t *f,
    void *dst, kvs_ident_err_t *err)
{
    kvs_ident_id_t  *id;

    id = dst;
    id->present = 1;

    if (v->len == 0) {
        memset(id->uuid, 0, KVS_UUID_LEN);
        return 0;
    }

    if (v->len != KVS_UUID_STR_LEN
        || kvs_uuid_parse(id->uuid, (const char *) v->p, v->len) != 0)
    {
        return kvs_ident_fail(err, "\"%s\" must be a uuid, or \"\" for "
                              "none", f->name);
    }

    return 0;
}


/* three hex digits, owner, group, others: C D W R each */

static int
kvs_ident_read_perm(const kvs_ident_value_t *v, const kvs_ident_field_t *f,
    void *dst, kvs_ident_err_t *err)
{
    kvs_ident_perm_t  *perm;

    perm = dst;
    perm->present = 1;

    if (kvs_perm_parse((const char *) v->p, v->len, &perm->perm) != 0) {
        return kvs_ident_fail(err, "\"%s\" must be three hex digits, "
                              "owner, group and others, each of C 8, D 4, "
                              "W 2 and R 1, as \"f31\"", f->name);
    }

    return 0;
}


/* a name, decoded into name (KVS_IDENT_NAME_MAX bytes) and checked: NULL,
 * or the sentence of what is wrong with it */

static const char *
kvs_ident_name_read(const kvs_ident_value_t *v, char *name, size_t *len)
{
    if (v->type != KVS_IDENT_STRING) {
        return "the name must be a string";
    }

    if (kvs_ident_unescape(v->p, v->len, (uint8_t *) name,
                           KVS_IDENT_NAME_MAX, len)
        != 0)
    {
        return KVS_IDENT_NAME_LONG;
    }

    return kvs_ident_name_check(name, *len);
}


/* the flat-object reader */

/*
 * Finds the members of the object v holds by the form: each known member
 * in found[] at its field's index, of its field's type; absent ones
 * KVS_IDENT_ABSENT.  Refuses bytes that are not one JSON object, a known
 * member twice, one of another type, a required one missing, and, when
 * the form says what it takes, an unknown one.  Repeats of an unknown
 * member in a record go unnoticed: finding them would cost a comparison
 * with every member before.
 */

static int
kvs_ident_object(const uint8_t *v, size_t len, const kvs_ident_form_t *form,
    kvs_ident_value_t *found, kvs_ident_err_t *err)
{
    int                       cut;
    size_t                    i, at, klen;
    uint8_t                   key[KVS_IDENT_NAME_MAX];
    uint8_t                   quote[KVS_IDENT_QUOTE_MAX];
    const char               *why;
    const uint8_t            *p, *end;
    kvs_ident_value_t         name, val;
    const kvs_ident_field_t  *f;

    if (kvs_json_check(v, len, &at, &why) != 0) {
        return kvs_ident_fail(err, "the body is not JSON: %s at byte %zu",
                              why, at);
    }

    end = v + len;
    p = kvs_ident_space(v, end);

    if (*p != '{') {
        return kvs_ident_fail(err, "the body is not a JSON object");
    }

    for (i = 0; form->fields[i].name != NULL; i++) {
        found[i].type = KVS_IDENT_ABSENT;
    }

    /* valid JSON: after '{' a key or '}', after a member ',' or '}' */

    for (p = kvs_ident_space(p + 1, end); *p != '}'; /* void */) {

        if (*p == ',') {
            p = kvs_ident_space(p + 1, end);
        }

        p = kvs_ident_value(p, end, &name);
        p = kvs_ident_space(p, end);
        p = kvs_ident_space(p + 1, end);
        p = kvs_ident_value(p, end, &val);
        p = kvs_ident_space(p, end);

        /* a name longer than the buffer is no field's */
        cut = kvs_ident_unescape(name.p, name.len, key, sizeof(key), &klen);

        for (f = form->fields; f->name != NULL; f++) {
            if (cut == 0 && strlen(f->name) == klen
                && memcmp(f->name, key, klen) == 0)
            {
                break;
            }
        }

        if (f->name == NULL) {
            if (form->takes == NULL) {
                continue;
            }

            /* the sentence may reach a log: control characters escaped */
            klen = kvs_json_encode(quote, sizeof(quote), key, klen, NULL);

            return kvs_ident_fail(err, "unknown field \"%.*s\": %s",
                                  (int) klen, (const char *) quote,
                                  form->takes);
        }

        i = (size_t) (f - form->fields);

        if (found[i].type != KVS_IDENT_ABSENT) {
            return kvs_ident_fail(err, "the field \"%s\" appears twice",
                                  f->name);
        }

        /* a limit may be null: none */
        if (val.type != f->type
            && !(val.type == KVS_IDENT_NULL && f->read == kvs_ident_read_limit))
        {
            return kvs_ident_fail(err, "the field \"%s\" must be %s",
                                  f->name, kvs_ident_type_names[f->type]);
        }

        found[i] = val;
    }

    for (f = form->fields; f->name != NULL; f++) {
        if (f->required && found[f - form->fields].type == KVS_IDENT_ABSENT) {
            return kvs_ident_fail(err, "the field \"%s\" is missing",
                                  f->name);
        }
    }

    return 0;
}


/* p is at the start of a value of valid JSON; returns the byte after it */

static const uint8_t *
kvs_ident_value(const uint8_t *p, const uint8_t *end, kvs_ident_value_t *v)
{
    size_t          depth;
    const uint8_t  *q;

    v->p = p;

    switch (*p) {

    case '"':
        q = kvs_ident_string_end(p, end);
        v->p = p + 1;
        v->len = (size_t) (q - p) - 2;
        v->type = KVS_IDENT_STRING;
        return q;

    case '{':
    case '[':
        v->type = (*p == '{') ? KVS_IDENT_OBJECT : KVS_IDENT_ARRAY;
        depth = 0;
        q = p;

        do {
            if (*q == '"') {
                q = kvs_ident_string_end(q, end);
                continue;
            }

            if (*q == '{' || *q == '[') {
                depth++;

            } else if (*q == '}' || *q == ']') {
                depth--;
            }

            q++;

        } while (depth > 0 && q < end);

        break;

    case 't':
    case 'n':
        v->type = (*p == 't') ? KVS_IDENT_BOOL : KVS_IDENT_NULL;
        q = p + 4;
        break;

    case 'f':
        v->type = KVS_IDENT_BOOL;
        q = p + 5;
        break;

    default:
        v->type = KVS_IDENT_NUMBER;

        for (q = p; q < end && memchr("0123456789+-.eE", *q, 15) != NULL;
             q++)
        {
            /* void */
        }
    }

    v->len = (size_t) (q - p);

    return q;
}


/* p is just past '[' or past an element of an array of valid JSON: reads
 * the next element, or returns NULL at the closing ']' */

static const uint8_t *
kvs_ident_element(const uint8_t *p, const uint8_t *end, kvs_ident_value_t *e)
{
    p = kvs_ident_space(p, end);

    if (*p == ',') {
        p = kvs_ident_space(p + 1, end);
    }

    if (*p == ']') {
        return NULL;
    }

    return kvs_ident_value(p, end, e);
}


/* p is at the opening quote of a valid string; returns the byte after the
 * closing one.  An escape is skipped whole: \" ends nothing. */

static const uint8_t *
kvs_ident_string_end(const uint8_t *p, const uint8_t *end)
{
    for (p++; p < end && *p != '"'; p++) {
        if (*p == '\\') {
            p++;
        }
    }

    return p + 1;
}


static const uint8_t *
kvs_ident_space(const uint8_t *p, const uint8_t *end)
{
    while (p < end
           && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    {
        p++;
    }

    return p;
}


/*
 * The characters of a valid JSON string, escapes decoded, into dst of size
 * bytes; *n is the bytes written.  Returns 0, or -1 when they do not all
 * fit: dst then holds those that did, cut between characters.
 */

static int
kvs_ident_unescape(const uint8_t *s, size_t len, uint8_t *dst, size_t size,
    size_t *n)
{
    size_t       i, k, step, out;
    uint8_t      c[4];
    unsigned     cp;
    const char  *e;

    static const char  from[] = "\"\\/bfnrt";
    static const char  to[] = "\"\\/\b\f\n\r\t";

    out = 0;

    for (i = 0; i < len; i += step) {

        if (s[i] != '\\') {
            /* a character of UTF-8, copied whole */
            k = (s[i] < 0x80) ? 1 : (s[i] < 0xe0) ? 2 : (s[i] < 0xf0) ? 3 : 4;
            memcpy(c, s + i, k);
            step = k;

        } else if (s[i + 1] != 'u') {
            e = strchr(from, s[i + 1]);
            c[0] = (uint8_t) to[e - from];
            k = 1;
            step = 2;

        } else {
            cp = kvs_ident_hex4(s + i + 2);
            step = 6;

            /* the checker let a high surrogate through only with its low */
            if (cp >= 0xd800 && cp < 0xdc00) {
                cp = 0x10000 + ((cp - 0xd800) << 10)
                     + (kvs_ident_hex4(s + i + 8) - 0xdc00);
                step = 12;
            }

            if (cp < 0x80) {
                c[0] = (uint8_t) cp;
                k = 1;

            } else if (cp < 0x800) {
                c[0] = (uint8_t) (0xc0 | cp >> 6);
                c[1] = (uint8_t) (0x80 | (cp & 0x3f));
                k = 2;

            } else if (cp < 0x10000) {
                c[0] = (uint8_t) (0xe0 | cp >> 12);
                c[1] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
                c[2] = (uint8_t) (0x80 | (cp & 0x3f));
                k = 3;

            } else {
                c[0] = (uint8_t) (0xf0 | cp >> 18);
                c[1] = (uint8_t) (0x80 | ((cp >> 12) & 0x3f));
                c[2] = (uint8_t) (0x80 | ((cp >> 6) & 0x3f));
                c[3] = (uint8_t) (0x80 | (cp & 0x3f));
                k = 4;
            }
        }

        if (k > size - out) {
            *n = out;
            return -1;
        }

        memcpy(dst + out, c, k);
        out += k;
    }

    *n = out;

    return 0;
}


/* four hex digits the checker has seen */

static unsigned
kvs_ident_hex4(const uint8_t *p)
{
    int       i;
    unsigned  v, c;

    v = 0;

    for (i = 0; i < 4; i++) {
        c = p[i] | 0x20;
        v = v << 4 | ((c <= '9') ? c - '0' : c - 'a' + 10);
    }

    return v;
}


/* a number of digits only (no sign, fraction or exponent), at most max */

static int
kvs_ident_u64(const kvs_ident_value_t *v, uint64_t max, uint64_t *n)
{
    size_t    i;
    uint64_t  d;

    *n = 0;

    for (i = 0; i < v->len; i++) {
        if (v->p[i] < '0' || v->p[i] > '9') {
            return -1;
        }

        d = (uint64_t) (v->p[i] - '0');

        if (*n > (max - d) / 10) {
            return -1;
        }

        *n = *n * 10 + d;
    }

    return 0;
}


static int
kvs_ident_fail(kvs_ident_err_t *err, const char *fmt, ...)
{
    va_list  args;

    if (err->buf != NULL) {
        va_start(args, fmt);
        vsnprintf(err->buf, KVS_IDENT_WHY_MAX, fmt, args);
        va_end(args);

        *err->why = err->buf;
    }

    return -1;
}


/* the writer */

static void
kvs_ident_put(kvs_ident_out_t *o, const void *s, size_t n)
{
    if (o->out != NULL && o->len <= o->size && n <= o->size - o->len
        && n > 0)
    {
        memcpy(o->out + o->len, s, n);
    }

    o->len += n;
}


static void
kvs_ident_puts(kvs_ident_out_t *o, const char *s)
{
    kvs_ident_put(o, s, strlen(s));
}


/* a JSON string, quoted, of any bytes */

static void
kvs_ident_put_str(kvs_ident_out_t *o, const void *s, size_t n)
{
    size_t  need;

    kvs_ident_put(o, "\"", 1);

    need = kvs_json_encode(NULL, 0, s, n, NULL);

    if (o->out != NULL && o->len <= o->size && need <= o->size - o->len) {
        kvs_json_encode(o->out + o->len, need, s, n, NULL);
    }

    o->len += need;

    kvs_ident_put(o, "\"", 1);
}


static void
kvs_ident_put_u64(kvs_ident_out_t *o, uint64_t v)
{
    int   n;
    char  buf[24];

    n = snprintf(buf, sizeof(buf), "%llu", (unsigned long long) v);

    kvs_ident_put(o, buf, (size_t) n);
}


static void
kvs_ident_put_uuid(kvs_ident_out_t *o, const uint8_t uuid[KVS_UUID_LEN])
{
    char  buf[KVS_UUID_STR_LEN + 2];

    buf[0] = '"';
    kvs_uuid_format(uuid, buf + 1);
    buf[KVS_UUID_STR_LEN + 1] = '"';

    kvs_ident_put(o, buf, sizeof(buf));
}


static void
kvs_ident_put_names(kvs_ident_out_t *o, const char *const *names,
    const size_t *lens, size_t n)
{
    size_t  i;

    kvs_ident_puts(o, "[");

    for (i = 0; i < n; i++) {
        if (i > 0) {
            kvs_ident_puts(o, ",");
        }

        kvs_ident_put_str(o, names[i], lens[i]);
    }

    kvs_ident_puts(o, "]");
}
