/*
 * kvs_ident_login_parse(), kvs_ident_user_req_parse() and
 * kvs_ident_group_req_parse(): the API's request bodies, any bytes a
 * client sends.
 *
 * A refusal says why in a sentence that ends inside its buffer.  A body
 * taken is JSON with no field but those its form takes; cJSON, which
 * decodes escapes on its own, reads the same names and passwords from it
 * (where cJSON can be compared), and finds a field exactly where a has_*
 * flag says; every name, arrays' too, passes kvs_ident_name_check(), the
 * iterator gives as many as counted, and a new password has 8 bytes.
 */

#include <string.h>

#include <cjson/cJSON.h>

#include "kvs_acl.h"
#include "kvs_ident.h"
#include "kvs_json.h"
#include "kvs_fuzz.h"


static kvs_ident_login_t      kvs_fuzz_login;
static kvs_ident_user_req_t   kvs_fuzz_user;
static kvs_ident_group_req_t  kvs_fuzz_group;


static void
kvs_fuzz_refused(int rc, const char *why, const char *buf)
{
    FUZZ_CHECK(rc == -1 && why != NULL && why[0] != '\0',
               "a body refused returns -1 and says why");
    FUZZ_CHECK(why != buf || memchr(buf, '\0', KVS_IDENT_WHY_MAX) != NULL,
               "a sentence ends inside its buffer");
}


/* the body as cJSON reads it (kvs_fuzz_cjson_object()), each member's
 * name one of the form's */

static cJSON *
kvs_fuzz_tree(const uint8_t *data, size_t size, const char *const *takes)
{
    cJSON              *tree, *item;
    const char *const  *t;

    FUZZ_CHECK(kvs_json_check(data, size, NULL, NULL) == 0,
               "a body taken is JSON");

    tree = kvs_fuzz_cjson_object(data, size);
    if (tree == NULL) {
        return NULL;
    }

    for (item = tree->child; item != NULL; item = item->next) {
        for (t = takes; *t != NULL && strcmp(*t, item->string) != 0; t++) {
            /* void */
        }

        FUZZ_CHECK(*t != NULL, "a body taken has no unknown field");
    }

    return tree;
}


/* whether cJSON's member key is the string p, len; or absent when has is
 * clear */

static int
kvs_fuzz_same(const cJSON *tree, const char *key, unsigned has,
    const char *p, size_t len)
{
    const cJSON  *item;

    item = cJSON_GetObjectItemCaseSensitive(tree, key);

    if (!has) {
        return item == NULL;
    }

    return cJSON_IsString(item) && strlen(item->valuestring) == len
           && memcmp(item->valuestring, p, len) == 0;
}


/* the names an array holds: as many as counted, each a good name, and
 * the same as cJSON's when it is there */

static void
kvs_fuzz_names(const kvs_ident_names_t *names, const cJSON *tree,
    const char *key)
{
    char          name[KVS_IDENT_NAME_MAX];
    size_t        at, len, n;
    const cJSON  *array, *item;

    array = (tree != NULL) ? cJSON_GetObjectItemCaseSensitive(tree, key)
                           : NULL;
    item = (array != NULL) ? array->child : NULL;

    FUZZ_CHECK(tree == NULL || names->text == NULL
               || ((size_t) cJSON_GetArraySize(array) == names->n),
               "cJSON counts the same names");

    at = 0;

    for (n = 0; kvs_ident_names_next(names, &at, name, &len); n++) {
        FUZZ_CHECK(kvs_ident_name_check(name, len) == NULL,
                   "each name of an array is a good name");
        FUZZ_CHECK(array == NULL
                   || (cJSON_IsString(item) && strlen(item->valuestring) == len
                       && memcmp(item->valuestring, name, len) == 0),
                   "cJSON reads the same name");

        item = (item != NULL) ? item->next : NULL;
    }

    FUZZ_CHECK(n == names->n, "the iterator gives as many names as counted");
}


static void
kvs_fuzz_login_body(const uint8_t *data, size_t size)
{
    int           rc;
    cJSON        *tree;
    const char   *why;

    static const char *const  takes[] = { "username", "password", NULL };

    why = NULL;
    rc = kvs_ident_login_parse(data, size, &kvs_fuzz_login, &why);

    if (rc != 0) {
        kvs_fuzz_refused(rc, why, kvs_fuzz_login.why);
        return;
    }

    FUZZ_CHECK(kvs_ident_name_check(kvs_fuzz_login.username.data,
                                    kvs_fuzz_login.username.len) == NULL
               && kvs_fuzz_login.password.len <= KVS_IDENT_PASSWORD_MAX,
               "a login taken has a good name and a password that fits");

    tree = kvs_fuzz_tree(data, size, takes);

    FUZZ_CHECK(tree == NULL
               || (kvs_fuzz_same(tree, "username", 1,
                                 kvs_fuzz_login.username.data,
                                 kvs_fuzz_login.username.len)
                   && kvs_fuzz_same(tree, "password", 1,
                                    kvs_fuzz_login.password.data,
                                    kvs_fuzz_login.password.len)),
               "cJSON reads the same login");

    cJSON_Delete(tree);
}


static void
kvs_fuzz_user_body(const uint8_t *data, size_t size)
{
    int                    rc;
    cJSON                 *tree;
    const char            *why;
    const cJSON           *item;
    kvs_ident_user_req_t  *u;

    static const char *const  takes[] = {
        "username", "password", "old_password", "groups", "disabled", NULL
    };

    u = &kvs_fuzz_user;
    why = NULL;
    rc = kvs_ident_user_req_parse(data, size, u, &why);

    if (rc != 0) {
        kvs_fuzz_refused(rc, why, u->why);
        return;
    }

    FUZZ_CHECK(!u->username.present
               || kvs_ident_name_check(u->username.data, u->username.len)
                  == NULL,
               "a user taken has a good name");

    FUZZ_CHECK(!u->password.present || u->password.len >= KVS_PASSWORD_MIN,
               "a new password has 8 bytes at least");
    FUZZ_CHECK(u->groups.present
               || (u->groups.text == NULL && u->groups.n == 0),
               "no groups without the field");
    FUZZ_CHECK(u->groups.n <= KVS_IDENT_GROUPS_MAX, "at most 256 groups");

    tree = kvs_fuzz_tree(data, size, takes);

    if (tree != NULL) {
        item = cJSON_GetObjectItemCaseSensitive(tree, "disabled");

        FUZZ_CHECK(kvs_fuzz_same(tree, "username", u->username.present,
                                 u->username.data, u->username.len)
                   && kvs_fuzz_same(tree, "password", u->password.present,
                                    u->password.data, u->password.len)
                   && kvs_fuzz_same(tree, "old_password",
                                    u->old_password.present,
                                    u->old_password.data,
                                    u->old_password.len)
                   && (cJSON_GetObjectItemCaseSensitive(tree, "groups")
                       != NULL) == u->groups.present
                   && (u->disabled.present
                       ? cJSON_IsBool(item)
                         && cJSON_IsTrue(item) == u->disabled.value
                       : item == NULL),
                   "cJSON reads the same user");
    }

    kvs_fuzz_names(&u->groups, tree, "groups");

    cJSON_Delete(tree);
}


static void
kvs_fuzz_group_body(const uint8_t *data, size_t size)
{
    int                     rc;
    cJSON                  *tree;
    const char             *why;
    kvs_ident_group_req_t  *g;

    static const char *const  takes[] = { "name", "members", NULL };

    g = &kvs_fuzz_group;
    why = NULL;
    rc = kvs_ident_group_req_parse(data, size, g, &why);

    if (rc != 0) {
        kvs_fuzz_refused(rc, why, g->why);
        return;
    }

    FUZZ_CHECK(!g->name.present
               || kvs_ident_name_check(g->name.data, g->name.len) == NULL,
               "a group taken has a good name");
    FUZZ_CHECK(g->members.n <= KVS_GROUP_MEMBERS_MAX
               && (g->members.present || g->members.text == NULL),
               "at most 10000 members, none without the field");

    tree = kvs_fuzz_tree(data, size, takes);

    FUZZ_CHECK(tree == NULL
               || (kvs_fuzz_same(tree, "name", g->name.present, g->name.data,
                                 g->name.len)
                   && (cJSON_GetObjectItemCaseSensitive(tree, "members")
                       != NULL) == g->members.present),
               "cJSON reads the same group");

    kvs_fuzz_names(&g->members, tree, "members");

    cJSON_Delete(tree);
}


/* a key's meta: what is taken is a uuid, none, or 12 bits */

static void
kvs_fuzz_meta_body(const uint8_t *data, size_t size)
{
    uint8_t            body[21];
    uint16_t           perm;
    const char        *why;
    kvs_ident_meta_t   m;

    why = NULL;

    if (kvs_ident_meta_parse(data, size, &m, &why) != 0) {
        FUZZ_CHECK(why != NULL && *why != '\0', "a refusal says why");
        return;
    }

    FUZZ_CHECK(!m.permissions.present || m.permissions.perm <= 0xfff,
               "permissions taken fit in 12 bits");

    if (m.permissions.present) {
        perm = m.permissions.perm;
        memcpy(body, "{\"permissions\":\"", 16);
        kvs_perm_format(perm, (char *) body + 16);
        memcpy(body + 19, "\"}", 2);

        FUZZ_CHECK(kvs_ident_meta_parse(body, sizeof(body), &m, &why) == 0
                   && m.permissions.perm == perm,
                   "permissions taken are read back as formatted");
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kvs_fuzz_login_body(data, size);
    kvs_fuzz_user_body(data, size);
    kvs_fuzz_group_body(data, size);
    kvs_fuzz_meta_body(data, size);

    return 0;
}
