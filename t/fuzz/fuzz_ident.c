/*
 * kvs_user_parse(), kvs_group_parse(), kvs_token_parse() and
 * kvs_group_has(): the identity records a peer sends, on any bytes.
 *
 * A record taken is JSON, and cJSON, which the module links anyway, reads
 * the same values from it (where cJSON can be compared); its strings
 * point inside the bytes and pass the checks the encoders make, so that
 * written back it parses to the same record, and written again it is the
 * same bytes.  A group's members are
 * in ascending order, and kvs_group_has() answers for a uuid what a walk
 * over them answers: -1 exactly when the bytes are no group.
 */

#include <string.h>

#include <cjson/cJSON.h>

#include "kvs_ident.h"
#include "kvs_json.h"
#include "kvs_fuzz.h"


/* a double holds every integer up to 2^53 exactly */
#define KVS_FUZZ_EXACT  (1ULL << 53)


static uint8_t  kvs_fuzz_out[2][KVS_GROUP_MEMBERS_MAX * 40 + 256];
static uint8_t  kvs_fuzz_members[KVS_GROUP_MEMBERS_MAX][KVS_UUID_LEN];


/* a member of cJSON's tree: a string of exactly p, len; or a number
 * equal to v where a double holds v exactly */

static int
kvs_fuzz_same_str(const cJSON *tree, const char *key, const char *p,
    size_t len)
{
    const cJSON  *item;

    item = cJSON_GetObjectItemCaseSensitive(tree, key);

    return cJSON_IsString(item) && strlen(item->valuestring) == len
           && memcmp(item->valuestring, p, len) == 0;
}


static int
kvs_fuzz_same_u64(const cJSON *tree, const char *key, uint64_t v)
{
    const cJSON  *item;

    item = cJSON_GetObjectItemCaseSensitive(tree, key);

    return cJSON_IsNumber(item)
           && (v > KVS_FUZZ_EXACT || item->valuedouble == (double) v);
}


static cJSON *
kvs_fuzz_tree(const uint8_t *data, size_t size)
{
    FUZZ_CHECK(kvs_json_check(data, size, NULL, NULL) == 0,
               "a record taken is JSON");

    return kvs_fuzz_cjson_object(data, size);
}


static int
kvs_fuzz_inside(const void *p, size_t len, const uint8_t *data, size_t size)
{
    return (const uint8_t *) p >= data
           && (const uint8_t *) p + len <= data + size;
}


static void
kvs_fuzz_user(const uint8_t *data, size_t size)
{
    cJSON       *tree;
    size_t       n, m;
    kvs_user_t   u, again;

    if (kvs_user_parse(data, size, &u) != 0) {
        return;
    }

    FUZZ_CHECK(kvs_fuzz_inside(u.username, u.username_len, data, size)
               && kvs_fuzz_inside(u.password, u.password_len, data, size),
               "a user's strings point inside the record");
    FUZZ_CHECK(kvs_ident_name_check(u.username, u.username_len) == NULL,
               "a user taken has a good name");
    FUZZ_CHECK(u.rate_limit >= -1, "rate_limit is -1 or a limit");

    tree = kvs_fuzz_tree(data, size);

    FUZZ_CHECK(tree == NULL
               || (kvs_fuzz_same_str(tree, "username", u.username,
                                 u.username_len)
               && kvs_fuzz_same_str(tree, "password", u.password,
                                    u.password_len)
               && cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(tree,
                                                                "disabled"))
               && (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(tree,
                                                      "disabled"))
                   == u.disabled)
               && kvs_fuzz_same_u64(tree, "created_at", u.created_at)
               && kvs_fuzz_same_u64(tree, "password_changed_at",
                                    u.password_changed_at)
               && (u.rate_limit == -1
                   || kvs_fuzz_same_u64(tree, "rate_limit",
                                        (uint64_t) u.rate_limit))),
               "cJSON reads the same user");

    cJSON_Delete(tree);

    n = kvs_user_encode(&u, kvs_fuzz_out[0], sizeof(kvs_fuzz_out[0]));
    FUZZ_CHECK(n > 0 && n <= sizeof(kvs_fuzz_out[0])
               && n == kvs_user_encode(&u, NULL, 0),
               "a user taken encodes, to the size measured");
    FUZZ_CHECK(kvs_user_parse(kvs_fuzz_out[0], n, &again) == 0
               && again.username_len == u.username_len
               && memcmp(again.username, u.username, u.username_len) == 0
               && again.password_len == u.password_len
               && memcmp(again.password, u.password, u.password_len) == 0
               && again.disabled == u.disabled
               && again.created_at == u.created_at
               && again.password_changed_at == u.password_changed_at
               && again.rate_limit == u.rate_limit,
               "a user written back parses to the same user");

    m = kvs_user_encode(&again, kvs_fuzz_out[1], sizeof(kvs_fuzz_out[1]));
    FUZZ_CHECK(m == n && memcmp(kvs_fuzz_out[0], kvs_fuzz_out[1], n) == 0,
               "a user written twice is the same bytes");
}


static void
kvs_fuzz_group(const uint8_t *data, size_t size)
{
    int           has, walk;
    char          text[KVS_UUID_STR_LEN];
    cJSON        *tree, *item;
    size_t        i, n, m;
    uint8_t       probe[KVS_UUID_LEN];
    kvs_group_t   g, again;

    /* a uuid the input picks, from its last bytes */
    n = (size < sizeof(probe)) ? size : sizeof(probe);
    memset(probe, 0, sizeof(probe));

    if (n > 0) {
        memcpy(probe, data + size - n, n);
    }

    has = kvs_group_has(data, size, probe);

    if (kvs_group_parse(data, size, &g) != 0) {
        FUZZ_CHECK(has == -1, "group has: -1 exactly when no group");
        return;
    }

    FUZZ_CHECK(kvs_fuzz_inside(g.name, g.name_len, data, size)
               && g.nmembers <= KVS_GROUP_MEMBERS_MAX
               && kvs_ident_name_check(g.name, g.name_len) == NULL,
               "a group taken has a good name in place, at most 10000");

    walk = 0;

    for (i = 0; i < g.nmembers; i++) {
        FUZZ_CHECK(kvs_group_member(&g, i, kvs_fuzz_members[i]) == 0,
                   "each member reads");
        FUZZ_CHECK(i == 0 || memcmp(kvs_fuzz_members[i - 1],
                                    kvs_fuzz_members[i], KVS_UUID_LEN) < 0,
                   "members ascend");

        walk |= (memcmp(kvs_fuzz_members[i], probe, KVS_UUID_LEN) == 0);
    }

    tree = kvs_fuzz_tree(data, size);

    if (tree != NULL) {
        FUZZ_CHECK(kvs_fuzz_same_str(tree, "name", g.name, g.name_len)
                   && kvs_fuzz_same_u64(tree, "created_at", g.created_at),
                   "cJSON reads the same group");

        item = cJSON_GetObjectItemCaseSensitive(tree, "members");
        FUZZ_CHECK(cJSON_IsArray(item)
                   && (size_t) cJSON_GetArraySize(item) == g.nmembers,
                   "cJSON counts the same members");

        for (i = 0, item = item->child; i < g.nmembers;
             i++, item = item->next)
        {
            kvs_uuid_format(kvs_fuzz_members[i], text);
            FUZZ_CHECK(cJSON_IsString(item)
                       && strlen(item->valuestring) == KVS_UUID_STR_LEN
                       && memcmp(item->valuestring, text, KVS_UUID_STR_LEN)
                          == 0,
                       "cJSON reads the same member");
        }

        cJSON_Delete(tree);
    }

    FUZZ_CHECK(kvs_group_member(&g, g.nmembers, probe) == -1,
               "no member past the last");
    FUZZ_CHECK(has == walk, "group has answers as a walk does");

    /* the inputs are a few KiB: a hundred members at most */
    for (i = 0; i < g.nmembers; i++) {
        FUZZ_CHECK(kvs_group_has(data, size, kvs_fuzz_members[i]) == 1,
                   "group has: each member");
    }

    n = kvs_group_encode(g.name, g.name_len,
                         (const uint8_t (*)[KVS_UUID_LEN]) kvs_fuzz_members,
                         g.nmembers, g.created_at, kvs_fuzz_out[0],
                         sizeof(kvs_fuzz_out[0]));
    FUZZ_CHECK(n > 0 && n <= sizeof(kvs_fuzz_out[0]),
               "a group taken encodes");
    FUZZ_CHECK(kvs_group_parse(kvs_fuzz_out[0], n, &again) == 0
               && again.name_len == g.name_len
               && memcmp(again.name, g.name, g.name_len) == 0
               && again.nmembers == g.nmembers
               && again.created_at == g.created_at,
               "a group written back parses to the same group");

    /* the members array is held to the encoder's form, byte for byte */
    m = (g.nmembers == 0) ? 2 : g.nmembers * (KVS_UUID_STR_LEN + 3) + 1;
    FUZZ_CHECK(memcmp(again.members, g.members, m) == 0,
               "a group's members are the encoder's bytes");
}


static void
kvs_fuzz_token(const uint8_t *data, size_t size)
{
    char          text[KVS_UUID_STR_LEN];
    cJSON        *tree;
    size_t        n;
    kvs_token_t   t, again;

    if (kvs_token_parse(data, size, &t) != 0) {
        return;
    }

    tree = kvs_fuzz_tree(data, size);

    kvs_uuid_format(t.user, text);
    FUZZ_CHECK(tree == NULL
               || (kvs_fuzz_same_str(tree, "user", text, KVS_UUID_STR_LEN)
                   && kvs_fuzz_same_u64(tree, "expires_at", t.expires_at)),
               "cJSON reads the same token");

    cJSON_Delete(tree);

    n = kvs_token_encode(&t, kvs_fuzz_out[0], sizeof(kvs_fuzz_out[0]));
    FUZZ_CHECK(n > 0 && n == kvs_token_encode(&t, NULL, 0)
               && kvs_token_parse(kvs_fuzz_out[0], n, &again) == 0
               && memcmp(again.user, t.user, KVS_UUID_LEN) == 0
               && again.expires_at == t.expires_at,
               "a token written back parses to the same token");
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kvs_fuzz_user(data, size);
    kvs_fuzz_group(data, size);
    kvs_fuzz_token(data, size);

    return 0;
}
