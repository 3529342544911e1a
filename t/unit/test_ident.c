/*
 * Unit tests of kvs_ident.c, printed as TAP: names and the keys derived
 * from them, the three records written byte for byte and read back, every
 * refusal of a record and of a request body with its exact sentence (they
 * reach clients in 400 answers), and the escapes a password may hold.
 *
 * The uuids the tests expect were computed outside this code, with
 * Python's uuid.uuid5() (itself checked against RFC 9562's example
 * below):
 *
 *   ns = uuid.UUID('d4263381-5435-442d-8781-f6ce4bf8c0d8')
 *   uuid.uuid5(ns, 'u:alice')
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvs_ident.h"
#include "kvs_record.h"

#include "kvs_test.h"


#define S(s)          s, sizeof(s) - 1
#define B(s)          (const uint8_t *) s, sizeof(s) - 1

#define UUID_ALICE    "98d87651-cb6e-56ff-8364-b882e6a8700f"
#define UUID_BOB      "f26c3939-c945-5650-a379-dc89815e40f2"
#define UUID_ADMIN    "2131b76e-641e-5c30-b0a5-e3360261c5cf"
#define UUID_GADMIN   "8887d470-42c7-5cf3-83f8-c01f8f1d2c89"
#define UUID_DEVS     "5483c0b7-f0fa-58e7-a664-e5237cb15138"

#define STORED        "$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA"

#define WHY_CHARS     "the name may hold only letters, digits, '.', '_' " \
                      "and '-'"
#define WHY_START     "the name must start with a letter or a digit"
#define WHY_LONG      "the name is longer than 64 bytes"


typedef struct {
    const char  *text;
    const char  *desc;
} kvs_test_bad_t;


typedef struct {
    const char  *body;
    const char  *why;            /* NULL: taken */
    const char  *desc;
} kvs_test_req_t;


static void
kvs_test_uuid_is(const uint8_t *uuid, const char *want, const char *desc)
{
    char  s[KVS_UUID_STR_LEN + 1];

    kvs_uuid_format(uuid, s);
    s[KVS_UUID_STR_LEN] = '\0';

    kvs_test_str(s, want, desc);
}


/* what an encoder wrote, as a C string: NULL when it failed or its sizes
 * disagree */

static const char *
kvs_test_text(size_t n, size_t sized, char *buf, size_t size)
{
    if (n == 0 || n != sized || n >= size) {
        return NULL;
    }

    buf[n] = '\0';

    return buf;
}


static void
kvs_test_names(void)
{
    char  name[KVS_IDENT_NAME_MAX + 1];

    memset(name, 'a', sizeof(name));

    kvs_test_str(kvs_ident_name_check(S("alice")), NULL, "name: alice");
    kvs_test_str(kvs_ident_name_check(S("A.b_c-9")), NULL,
                 "name: letters, digits, '.', '_' and '-'");
    kvs_test_str(kvs_ident_name_check(S("0")), NULL, "name: one digit");
    kvs_test_str(kvs_ident_name_check(name, KVS_IDENT_NAME_MAX), NULL,
                 "name: 64 bytes");
    kvs_test_str(kvs_ident_name_check(name, KVS_IDENT_NAME_MAX + 1),
                 WHY_LONG, "name: 65 bytes");
    kvs_test_str(kvs_ident_name_check(S("")), "the name is empty",
                 "name: empty");
    kvs_test_str(kvs_ident_name_check(S(".alice")), WHY_START,
                 "name: starting with '.'");
    kvs_test_str(kvs_ident_name_check(S("-a")), WHY_START,
                 "name: starting with '-'");
    kvs_test_str(kvs_ident_name_check(S("_a")), WHY_START,
                 "name: starting with '_'");
    kvs_test_str(kvs_ident_name_check(S("al ice")), WHY_CHARS,
                 "name: a blank");
    kvs_test_str(kvs_ident_name_check(S("al/ice")), WHY_CHARS,
                 "name: a slash");
    kvs_test_str(kvs_ident_name_check(S("al\xc3\xaf" "ce")), WHY_CHARS,
                 "name: UTF-8");
    kvs_test_str(kvs_ident_name_check(S("a\0b")), WHY_CHARS,
                 "name: a NUL inside");
    kvs_test_str(kvs_ident_name_check(S("a\"b")), WHY_CHARS,
                 "name: a quote");
}


static void
kvs_test_uuids(void)
{
    int      rc;
    uint8_t  u[KVS_UUID_LEN], g[KVS_UUID_LEN];

    /* RFC 9562 appendix A.4: the DNS namespace */
    static const uint8_t  dns[KVS_UUID_LEN] = {
        0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
        0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8
    };

    rc = kvs_ident_uuid_v5(dns, B("www.example.com"), u);
    CHECK(rc == 0, "uuid v5: computed");
    kvs_test_uuid_is(u, "2ed6657d-e927-568b-95e1-2665a8aea6a2",
                     "uuid v5: RFC 9562's example");

    rc = kvs_ident_uuid('u', S("admin"), u);
    CHECK(rc == 0 && memcmp(u, kvs_ident_admin_user, KVS_UUID_LEN) == 0,
          "uuid: the built-in user is u:admin");
    kvs_test_uuid_is(kvs_ident_admin_user, UUID_ADMIN,
                     "uuid: the built-in user's literal");

    rc = kvs_ident_uuid('g', S("admin"), g);
    CHECK(rc == 0 && memcmp(g, kvs_ident_admin_group, KVS_UUID_LEN) == 0,
          "uuid: the built-in group is g:admin");
    kvs_test_uuid_is(kvs_ident_admin_group, UUID_GADMIN,
                     "uuid: the built-in group's literal");

    CHECK(memcmp(u, g, KVS_UUID_LEN) != 0,
          "uuid: a user and a group of one name differ");

    rc = kvs_ident_uuid('u', S("alice"), u);
    kvs_test_uuid_is(u, rc == 0 ? UUID_ALICE : "", "uuid: u:alice");
    CHECK((u[6] >> 4) == 5 && (u[8] & 0xc0) == 0x80,
          "uuid: version 5, RFC variant");

    rc = kvs_ident_uuid('g', S("devs"), g);
    kvs_test_uuid_is(g, rc == 0 ? UUID_DEVS : "", "uuid: g:devs");

    rc = kvs_ident_uuid('u', S("alice"), u);
    rc |= kvs_ident_uuid('u', S("Alice"), g);
    CHECK(rc == 0 && memcmp(u, g, KVS_UUID_LEN) != 0,
          "uuid: names are case-sensitive (Alice is not alice)");
}


static void
kvs_test_keys(void)
{
    char     key[KVS_IDENT_TOKEN_KEY_LEN];
    uint8_t  u[KVS_UUID_LEN];

    kvs_ident_uuid('u', S("alice"), u);
    kvs_uuid_format(u, key);

    kvs_test_str(kvs_key_check(key, KVS_UUID_STR_LEN), NULL,
                 "key: a user's uuid is a valid key");

    memset(key, 'f', sizeof(key));
    memcpy(key, "0123456789abcdef", 16);

    kvs_test_str(kvs_key_check(key, KVS_IDENT_TOKEN_KEY_LEN), NULL,
                 "key: 128 hex characters (a token's digest) are valid");
}


static void
kvs_test_user(void)
{
    char        buf[512];
    size_t      n;
    kvs_user_t  u, r;

    memset(&u, 0, sizeof(u));
    u.username = "alice";
    u.username_len = 5;
    u.password = STORED;
    u.password_len = sizeof(STORED) - 1;
    u.password_changed_at = 1800000000;
    u.created_at = 1800000000123ULL;
    u.rate_limit = -1;

    n = kvs_user_encode(&u, (uint8_t *) buf, sizeof(buf));
    kvs_test_str(kvs_test_text(n, kvs_user_encode(&u, NULL, 0), buf,
                               sizeof(buf)),
                 "{\"username\":\"alice\",\"password\":\"" STORED "\","
                 "\"disabled\":false,\"password_changed_at\":1800000000,"
                 "\"created_at\":1800000000123}",
                 "user: written canonically, sized alike with out NULL");

    memset(&r, 0xff, sizeof(r));
    CHECK(kvs_user_parse((uint8_t *) buf, n, &r) == 0
          && r.username == buf + 13 && r.username_len == 5
          && r.password_len == u.password_len
          && memcmp(r.password, STORED, r.password_len) == 0
          && r.disabled == 0 && r.password_changed_at == 1800000000
          && r.created_at == 1800000000123ULL && r.rate_limit == -1,
          "user: reads back, strings in place, no rate_limit is -1");

    CHECK(kvs_user_encode(&u, (uint8_t *) buf, n - 1) == n,
          "user: a buffer a byte short is told the size it needs");

    u.disabled = 1;
    u.rate_limit = 0;
    u.created_at = UINT64_MAX;

    n = kvs_user_encode(&u, (uint8_t *) buf, sizeof(buf));
    kvs_test_str(kvs_test_text(n, kvs_user_encode(&u, NULL, 0), buf,
                               sizeof(buf)),
                 "{\"username\":\"alice\",\"password\":\"" STORED "\","
                 "\"disabled\":true,\"password_changed_at\":1800000000,"
                 "\"created_at\":18446744073709551615,\"rate_limit\":0}",
                 "user: disabled, rate_limit 0 written, created_at max");
    CHECK(kvs_user_parse((uint8_t *) buf, n, &r) == 0 && r.disabled == 1
          && r.rate_limit == 0 && r.created_at == UINT64_MAX,
          "user: disabled and rate_limit read back");

    u.rate_limit = INT64_MAX;
    n = kvs_user_encode(&u, (uint8_t *) buf, sizeof(buf));
    CHECK(kvs_user_parse((uint8_t *) buf, n, &r) == 0
          && r.rate_limit == INT64_MAX, "user: rate_limit at its largest");
}


static void
kvs_test_user_encode_refused(void)
{
    char        stored[KVS_IDENT_STORED_MAX + 1];
    kvs_user_t  u;

    memset(&u, 0, sizeof(u));
    u.username = "alice";
    u.username_len = 5;
    u.password = "a\"b";
    u.password_len = 3;
    u.rate_limit = -1;

    CHECK(kvs_user_encode(&u, NULL, 0) == 0, "user encode: a quote");

    u.password = "a\\b";
    CHECK(kvs_user_encode(&u, NULL, 0) == 0, "user encode: a backslash");

    u.password = "a\nb";
    CHECK(kvs_user_encode(&u, NULL, 0) == 0,
          "user encode: a control character");

    u.password = "a\xff";
    u.password_len = 2;
    CHECK(kvs_user_encode(&u, NULL, 0) == 0, "user encode: not UTF-8");

    u.password_len = 0;
    CHECK(kvs_user_encode(&u, NULL, 0) == 0, "user encode: no password");

    memset(stored, 'x', sizeof(stored));
    u.password = stored;
    u.password_len = KVS_IDENT_STORED_MAX;
    CHECK(kvs_user_encode(&u, NULL, 0) > 0,
          "user encode: a stored password of 256 bytes");

    u.password_len = KVS_IDENT_STORED_MAX + 1;
    CHECK(kvs_user_encode(&u, NULL, 0) == 0,
          "user encode: a stored password of 257 bytes");

    u.password_len = 3;
    u.username = "-alice";
    u.username_len = 6;
    CHECK(kvs_user_encode(&u, NULL, 0) == 0, "user encode: a bad name");
}


#define USER_TAIL  "\"password\":\"x\",\"disabled\":false," \
                   "\"password_changed_at\":1,\"created_at\":2"

static const kvs_test_bad_t  kvs_test_bad_users[] = {
    { "", "empty" },
    { "[]", "an array" },
    { "\"alice\"", "a string" },
    { "{\"username\":\"alice\"," USER_TAIL, "cut short" },
    { "{\"username\":\"alice\"," USER_TAIL "} x", "data after" },
    { "{" USER_TAIL "}", "no username" },
    { "{\"username\":\"a\",\"disabled\":false,\"password_changed_at\":1,"
      "\"created_at\":2}", "no password" },
    { "{\"username\":\"a\",\"password\":\"x\",\"password_changed_at\":1,"
      "\"created_at\":2}", "no disabled" },
    { "{\"username\":\"a\",\"password\":\"x\",\"disabled\":false,"
      "\"created_at\":2}", "no password_changed_at" },
    { "{\"username\":\"a\",\"password\":\"x\",\"disabled\":false,"
      "\"password_changed_at\":1}", "no created_at" },
    { "{\"username\":5," USER_TAIL "}", "a number as username" },
    { "{\"username\":null," USER_TAIL "}", "null as username" },
    { "{\"username\":\"-a\"," USER_TAIL "}", "a bad username" },
    { "{\"username\":\"\"," USER_TAIL "}", "an empty username" },
    { "{\"username\":\"al\\u0069ce\"," USER_TAIL "}",
      "an escaped username" },
    { "{\"username\":\"a\",\"username\":\"b\"," USER_TAIL "}",
      "username twice" },
    { "{\"username\":\"a\"," USER_TAIL ",\"created_at\":3}",
      "created_at twice" },
    { "{\"username\":\"a\",\"password\":\"x\\\"y\",\"disabled\":false,"
      "\"password_changed_at\":1,\"created_at\":2}",
      "an escaped quote in password" },
    { "{\"username\":\"a\",\"password\":\"\",\"disabled\":false,"
      "\"password_changed_at\":1,\"created_at\":2}", "an empty password" },
    { "{\"username\":\"a\",\"password\":\"x\",\"disabled\":\"false\","
      "\"password_changed_at\":1,\"created_at\":2}",
      "a string as disabled" },
    { "{\"username\":\"a\",\"password\":\"x\",\"disabled\":0,"
      "\"password_changed_at\":1,\"created_at\":2}", "0 as disabled" },
    { "{\"username\":\"a\",\"password\":\"x\",\"disabled\":false,"
      "\"password_changed_at\":-1,\"created_at\":2}", "a negative time" },
    { "{\"username\":\"a\",\"password\":\"x\",\"disabled\":false,"
      "\"password_changed_at\":1.5,\"created_at\":2}", "a fraction" },
    { "{\"username\":\"a\",\"password\":\"x\",\"disabled\":false,"
      "\"password_changed_at\":1e3,\"created_at\":2}", "an exponent" },
    { "{\"username\":\"a\",\"password\":\"x\",\"disabled\":false,"
      "\"password_changed_at\":1,\"created_at\":18446744073709551616}",
      "created_at past 64 bits" },
    { "{\"username\":\"a\",\"password\":\"x\",\"disabled\":false,"
      "\"password_changed_at\":1,\"created_at\":\"2\"}",
      "a string as created_at" },
    { "{\"username\":\"a\"," USER_TAIL ",\"rate_limit\":-1}",
      "a negative rate_limit" },
    { "{\"username\":\"a\"," USER_TAIL ",\"rate_limit\":9223372036854775808}",
      "rate_limit past int64" },
    { "{\"username\":\"a\"," USER_TAIL ",\"rate_limit\":null}",
      "null as rate_limit" },
    { NULL, NULL }
};


static void
kvs_test_user_parse(void)
{
    char                   desc[128];
    kvs_user_t             u;
    const kvs_test_bad_t  *b;

    for (b = kvs_test_bad_users; b->text != NULL; b++) {
        snprintf(desc, sizeof(desc), "user refused: %s", b->desc);
        CHECK(kvs_user_parse((const uint8_t *) b->text, strlen(b->text), &u)
              == -1, desc);
    }

    CHECK(kvs_user_parse(B(" {\n\"created_at\" : 2 , \"extra\":{\"a\":[1,"
                           "\"}\"]},\"username\":\"bob\",\"disabled\":true,"
                           "\"password\":\"p\",\"password_changed_at\":1,"
                           "\"extra\":3}\t"), &u) == 0
          && u.username_len == 3 && memcmp(u.username, "bob", 3) == 0
          && u.password_len == 1 && u.password[0] == 'p' && u.disabled
          && u.created_at == 2 && u.password_changed_at == 1,
          "user: blanks, any order, unknown members skipped (twice too)");

    CHECK(kvs_user_parse(B("{\"username\":\"a\"," USER_TAIL
                           ",\"rate_limit\":9223372036854775807}"), &u) == 0
          && u.rate_limit == INT64_MAX, "user: rate_limit read");
}


static void
kvs_test_group(void)
{
    char         buf[512];
    size_t       n;
    uint8_t      m[3][KVS_UUID_LEN], u[KVS_UUID_LEN];
    kvs_group_t  g;

    kvs_uuid_parse(m[0], S(UUID_ALICE));
    kvs_uuid_parse(m[1], S(UUID_BOB));

    n = kvs_group_encode(S("devs"), (const uint8_t (*)[KVS_UUID_LEN]) m, 2,
                         1800000000123ULL, (uint8_t *) buf, sizeof(buf));
    kvs_test_str(kvs_test_text(n, kvs_group_encode(S("devs"),
                               (const uint8_t (*)[KVS_UUID_LEN]) m, 2,
                               1800000000123ULL, NULL, 0),
                               buf, sizeof(buf)),
                 "{\"name\":\"devs\",\"members\":[\"" UUID_ALICE "\",\""
                 UUID_BOB "\"],\"created_at\":1800000000123}",
                 "group: written canonically, sized alike with out NULL");

    memset(&g, 0, sizeof(g));
    CHECK(kvs_group_parse((uint8_t *) buf, n, &g) == 0
          && g.name == buf + 9 && g.name_len == 4 && g.nmembers == 2
          && g.members == buf + 25 && g.members[0] == '['
          && g.created_at == 1800000000123ULL,
          "group: reads back, in place");

    CHECK(kvs_group_member(&g, 0, u) == 0
          && memcmp(u, m[0], KVS_UUID_LEN) == 0
          && kvs_group_member(&g, 1, u) == 0
          && memcmp(u, m[1], KVS_UUID_LEN) == 0,
          "group: member 0 and 1");
    CHECK(kvs_group_member(&g, 2, u) == -1, "group: no member 2");

    n = kvs_group_encode(S("empty"), NULL, 0, 5, (uint8_t *) buf,
                         sizeof(buf));
    kvs_test_str(kvs_test_text(n, n, buf, sizeof(buf)),
                 "{\"name\":\"empty\",\"members\":[],\"created_at\":5}",
                 "group: no members");
    CHECK(kvs_group_parse((uint8_t *) buf, n, &g) == 0 && g.nmembers == 0
          && kvs_group_member(&g, 0, u) == -1,
          "group: no members read back");

    CHECK(kvs_group_encode(S("devs"), (const uint8_t (*)[KVS_UUID_LEN]) m,
                           2, 1, (uint8_t *) buf, 10) > 10,
          "group: a short buffer is told the size it needs");

    /* bob before alice, then alice twice */
    memcpy(m[2], m[0], KVS_UUID_LEN);
    CHECK(kvs_group_encode(S("devs"),
                           (const uint8_t (*)[KVS_UUID_LEN]) m + 1, 2, 1,
                           NULL, 0) == 0,
          "group encode refused: members out of order");
    memcpy(m[1], m[0], KVS_UUID_LEN);
    CHECK(kvs_group_encode(S("devs"), (const uint8_t (*)[KVS_UUID_LEN]) m,
                           2, 1, NULL, 0) == 0,
          "group encode refused: a member twice");
    CHECK(kvs_group_encode(S("de vs"), NULL, 0, 1, NULL, 0) == 0,
          "group encode refused: a bad name");
    CHECK(kvs_group_encode(S("devs"), NULL, KVS_GROUP_MEMBERS_MAX + 1, 1,
                           NULL, 0) == 0,
          "group encode refused: 10001 members");
}


static void
kvs_test_group_sort(void)
{
    size_t   n;
    uint8_t  m[5][KVS_UUID_LEN];

    memset(m[0], 0x30, KVS_UUID_LEN);
    memset(m[1], 0x10, KVS_UUID_LEN);
    memset(m[2], 0x30, KVS_UUID_LEN);
    memset(m[3], 0x20, KVS_UUID_LEN);
    memset(m[4], 0x10, KVS_UUID_LEN);

    n = kvs_group_sort(m, 5);

    CHECK(n == 3 && m[0][0] == 0x10 && m[1][0] == 0x20 && m[2][0] == 0x30,
          "group sort: ascending, repeats dropped");
    CHECK(kvs_group_sort(m, 0) == 0, "group sort: none");
    CHECK(kvs_group_encode(S("g"), (const uint8_t (*)[KVS_UUID_LEN]) m, n,
                           1, NULL, 0) > 0,
          "group sort: what it leaves encodes");
}


/* a group record of n members whose uuids are i as 16 big-endian bytes */

static char *
kvs_test_big_group(size_t n, size_t *len)
{
    char     *buf, *p;
    size_t    i, size;
    uint8_t   u[KVS_UUID_LEN];

    size = 64 + n * (KVS_UUID_STR_LEN + 3);
    buf = malloc(size);
    if (buf == NULL) {
        return NULL;
    }

    p = buf + sprintf(buf, "{\"name\":\"big\",\"members\":[");

    for (i = 0; i < n; i++) {
        memset(u, 0, sizeof(u));
        u[14] = (uint8_t) (i >> 8);
        u[15] = (uint8_t) i;

        *p++ = (i > 0) ? ',' : '"';
        if (i > 0) {
            *p++ = '"';
        }

        kvs_uuid_format(u, p);
        p += KVS_UUID_STR_LEN;
        *p++ = '"';
    }

    p += sprintf(p, "],\"created_at\":1}");
    *len = (size_t) (p - buf);

    return buf;
}


static const kvs_test_bad_t  kvs_test_bad_groups[] = {
    { "{\"name\":\"g\",\"members\":[],\"created_at\":1,\"name\":\"h\"}",
      "name twice" },
    { "{\"name\":\"g\",\"created_at\":1}", "no members" },
    { "{\"members\":[],\"created_at\":1}", "no name" },
    { "{\"name\":\"g\",\"members\":[]}", "no created_at" },
    { "{\"name\":\"g\",\"members\":{},\"created_at\":1}",
      "an object as members" },
    { "{\"name\":\"g\",\"members\":[ ],\"created_at\":1}",
      "a blank in the empty array" },
    { "{\"name\":\"g\",\"members\":[\"" UUID_ALICE "\", \"" UUID_BOB "\"],"
      "\"created_at\":1}", "a blank between members" },
    { "{\"name\":\"g\",\"members\":[\"" UUID_BOB "\",\"" UUID_ALICE "\"],"
      "\"created_at\":1}", "members out of order" },
    { "{\"name\":\"g\",\"members\":[\"" UUID_ALICE "\",\"" UUID_ALICE "\"],"
      "\"created_at\":1}", "a member twice" },
    { "{\"name\":\"g\",\"members\":[\"98D87651-cb6e-56ff-8364-b882e6a8700f\"]"
      ",\"created_at\":1}", "an uppercase uuid" },
    { "{\"name\":\"g\",\"members\":[\"98d87651xcb6e-56ff-8364-b882e6a8700f\"]"
      ",\"created_at\":1}", "a uuid without its dash" },
    { "{\"name\":\"g\",\"members\":[\"98d87651-cb6e-56ff-8364-b882e6a8700g\"]"
      ",\"created_at\":1}", "a uuid with a g" },
    { "{\"name\":\"g\",\"members\":[\"98d87651-cb6e-56ff-8364-b882e6a8700\"]"
      ",\"created_at\":1}", "a uuid one short" },
    { "{\"name\":\"g\",\"members\":[1234567890123456789012345678901234567,"
      "\"" UUID_ALICE "\"],\"created_at\":1}", "a number of a uuid's size" },
    { "{\"name\":\"g\",\"members\":[\"98d87651-cb6e-56ff-8364-b882e6a870\\"
      "u0030\"],\"created_at\":1}", "an escape in a uuid" },
    { "{\"name\":\"g g\",\"members\":[],\"created_at\":1}", "a bad name" },
    { "{\"name\":\"g\",\"members\":[],\"created_at\":-5}",
      "a negative time" },
    { NULL, NULL }
};


static void
kvs_test_group_parse(void)
{
    char                  *big, desc[128];
    size_t                 len;
    uint8_t                u[KVS_UUID_LEN];
    kvs_group_t            g;
    const kvs_test_bad_t  *b;

    for (b = kvs_test_bad_groups; b->text != NULL; b++) {
        snprintf(desc, sizeof(desc), "group refused: %s", b->desc);
        CHECK(kvs_group_parse((const uint8_t *) b->text, strlen(b->text), &g)
              == -1, desc);
    }

    CHECK(kvs_group_parse(B("{\"created_at\":7, \"x\":[\"y\"], "
                            "\"members\":[\"" UUID_ALICE "\"], "
                            "\"name\":\"g\"}"), &g) == 0
          && g.nmembers == 1 && g.created_at == 7,
          "group: blanks between members of the object, unknown skipped");

    big = kvs_test_big_group(KVS_GROUP_MEMBERS_MAX, &len);
    CHECK(big != NULL && kvs_group_parse((uint8_t *) big, len, &g) == 0
          && g.nmembers == KVS_GROUP_MEMBERS_MAX,
          "group: 10000 members taken");

    memset(u, 0, sizeof(u));
    u[14] = (uint8_t) (9999 >> 8);
    u[15] = (uint8_t) 9999;

    CHECK(big != NULL && kvs_group_has((uint8_t *) big, len, u) == 1,
          "group has: the last of 10000");

    u[13] = 1;
    CHECK(big != NULL && kvs_group_has((uint8_t *) big, len, u) == 0,
          "group has: past the last of 10000");
    free(big);

    big = kvs_test_big_group(KVS_GROUP_MEMBERS_MAX + 1, &len);
    CHECK(big != NULL && kvs_group_parse((uint8_t *) big, len, &g) == -1,
          "group refused: 10001 members");
    free(big);
}


static void
kvs_test_group_has(void)
{
    uint8_t  a[KVS_UUID_LEN], b[KVS_UUID_LEN], d[KVS_UUID_LEN];

    static const char  three[] =
        "{\"name\":\"g\",\"members\":[\"" UUID_DEVS "\",\"" UUID_ALICE "\",\""
        UUID_BOB "\"],\"created_at\":1}";

    kvs_uuid_parse(a, S(UUID_ALICE));
    kvs_uuid_parse(b, S(UUID_BOB));
    kvs_uuid_parse(d, S(UUID_DEVS));

    CHECK(kvs_group_has(B(three), d) == 1, "group has: the first");
    CHECK(kvs_group_has(B(three), a) == 1, "group has: the middle");
    CHECK(kvs_group_has(B(three), b) == 1, "group has: the last");
    CHECK(kvs_group_has(B(three), kvs_ident_admin_user) == 0,
          "group has: not a member");
    CHECK(kvs_group_has(B("{\"name\":\"g\",\"members\":[],"
                          "\"created_at\":1}"), a) == 0,
          "group has: an empty group");
    CHECK(kvs_group_has(B("{\"name\":\"g\",\"members\":[\"" UUID_ALICE "\""
                          ",\"" UUID_BOB "\"]}"), a) == -1,
          "group has: a malformed record");
    CHECK(kvs_group_has(B("\"" UUID_ALICE "\""), a) == -1,
          "group has: the uuid alone");
    CHECK(kvs_group_has(NULL, 0, a) == -1, "group has: no bytes");
}


static void
kvs_test_token(void)
{
    char         buf[128];
    size_t       n;
    kvs_token_t  t, r;

    kvs_uuid_parse(t.user, S(UUID_ALICE));
    t.expires_at = 1800003600000ULL;

    n = kvs_token_encode(&t, (uint8_t *) buf, sizeof(buf));
    kvs_test_str(kvs_test_text(n, kvs_token_encode(&t, NULL, 0), buf,
                               sizeof(buf)),
                 "{\"user\":\"" UUID_ALICE "\",\"expires_at\":1800003600000}",
                 "token: written canonically");

    memset(&r, 0, sizeof(r));
    CHECK(kvs_token_parse((uint8_t *) buf, n, &r) == 0
          && memcmp(r.user, t.user, KVS_UUID_LEN) == 0
          && r.expires_at == t.expires_at, "token: reads back");

    CHECK(kvs_token_parse(B("{\"expires_at\":0,\"jti\":\"x\",\"user\":\""
                            UUID_BOB "\"}"), &r) == 0 && r.expires_at == 0,
          "token: any order, unknown skipped");

    CHECK(kvs_token_parse(B("{\"user\":\"98D87651-cb6e-56ff-8364-"
                            "b882e6a8700f\",\"expires_at\":1}"), &r) == -1,
          "token refused: an uppercase uuid");
    CHECK(kvs_token_parse(B("{\"user\":\"alice\",\"expires_at\":1}"), &r)
          == -1, "token refused: a name for a uuid");
    CHECK(kvs_token_parse(B("{\"user\":\"" UUID_ALICE "\"}"), &r) == -1,
          "token refused: no expires_at");
    CHECK(kvs_token_parse(B("{\"user\":\"" UUID_ALICE "\",\"expires_at\":-1}"),
                          &r) == -1, "token refused: a negative expiry");
    CHECK(kvs_token_parse(B("{\"user\":\"" UUID_ALICE "\",\"expires_at\":1,"
                            "\"expires_at\":2}"), &r) == -1,
          "token refused: expires_at twice");
    CHECK(kvs_token_parse(B("{\"user\":[],\"expires_at\":1}"), &r) == -1,
          "token refused: an array as user");
}


static void
kvs_test_public(void)
{
    char         buf[512];
    size_t       n;
    uint8_t      uuid[KVS_UUID_LEN];
    kvs_user_t   u;
    kvs_group_t  g;

    static const char   *names[] = { "admin", "de\"vs" };
    static const size_t  lens[] = { 5, 5 };

    kvs_uuid_parse(uuid, S(UUID_ALICE));

    memset(&u, 0, sizeof(u));
    u.username = "alice";
    u.username_len = 5;
    u.password = STORED;
    u.password_len = sizeof(STORED) - 1;
    u.password_changed_at = 1800000000;
    u.created_at = 1800000000123ULL;
    u.rate_limit = -1;

    n = kvs_user_public(uuid, &u, names, lens, 2, (uint8_t *) buf,
                        sizeof(buf));
    kvs_test_str(kvs_test_text(n, kvs_user_public(uuid, &u, names, lens, 2,
                                                  NULL, 0),
                               buf, sizeof(buf)),
                 "{\"uuid\":\"" UUID_ALICE "\",\"username\":\"alice\","
                 "\"groups\":[\"admin\",\"de\\\"vs\"],\"disabled\":false,"
                 "\"created_at\":1800000000123,"
                 "\"password_changed_at\":1800000000}",
                 "public user: no password, names escaped");

    n = kvs_user_public(uuid, &u, NULL, NULL, 0, (uint8_t *) buf,
                        sizeof(buf));
    kvs_test_str(kvs_test_text(n, n, buf, sizeof(buf)),
                 "{\"uuid\":\"" UUID_ALICE "\",\"username\":\"alice\","
                 "\"groups\":[],\"disabled\":false,"
                 "\"created_at\":1800000000123,"
                 "\"password_changed_at\":1800000000}",
                 "public user: no groups");

    u.rate_limit = 0;
    n = kvs_user_public(uuid, &u, NULL, NULL, 0, (uint8_t *) buf,
                        sizeof(buf));
    kvs_test_str(kvs_test_text(n, n, buf, sizeof(buf)),
                 "{\"uuid\":\"" UUID_ALICE "\",\"username\":\"alice\","
                 "\"groups\":[],\"disabled\":false,"
                 "\"created_at\":1800000000123,"
                 "\"password_changed_at\":1800000000,\"rate_limit\":0}",
                 "public user: its own rate_limit, 0 shown");
    u.rate_limit = -1;

    g.name = "devs";
    g.name_len = 4;
    g.created_at = 9;

    n = kvs_group_public(uuid, &g, names, lens, 2, (uint8_t *) buf,
                         sizeof(buf));
    kvs_test_str(kvs_test_text(n, kvs_group_public(uuid, &g, names, lens, 2,
                                                   NULL, 0),
                               buf, sizeof(buf)),
                 "{\"uuid\":\"" UUID_ALICE "\",\"name\":\"devs\","
                 "\"members\":[\"admin\",\"de\\\"vs\"],\"created_at\":9}",
                 "public group: members by name");

    CHECK(kvs_group_public(uuid, &g, names, lens, 2, (uint8_t *) buf, 20)
          == n, "public group: a short buffer is told the size it needs");
}


static void
kvs_test_login(void)
{
    int                 rc;
    const char         *why;
    kvs_ident_login_t   req;

    why = NULL;
    rc = kvs_ident_login_parse(B("{\"username\":\"alice\","
                                 "\"password\":\"secret\"}"), &req, &why);
    CHECK(rc == 0 && req.username.len == 5
          && memcmp(req.username.data, "alice", 5) == 0
          && req.password.len == 6
          && memcmp(req.password.data, "secret", 6) == 0 && why == NULL,
          "login: taken");

    rc = kvs_ident_login_parse(B("{\"password\":\"a\\\"b\",\"username\":"
                                 "\"al\\u0069ce\"}"), &req, &why);
    CHECK(rc == 0 && req.password.len == 3
          && memcmp(req.password.data, "a\"b", 3) == 0 && req.username.len == 5
          && memcmp(req.username.data, "alice", 5) == 0,
          "login: a\\\"b is 3 bytes; an escaped username decoded");

    rc = kvs_ident_login_parse(B("{\"username\":\"a\",\"password\":"
                                 "\"\\\\\\/\\b\\f\\n\\r\\t\"}"), &req, &why);
    CHECK(rc == 0 && req.password.len == 7
          && memcmp(req.password.data, "\\/\b\f\n\r\t", 7) == 0,
          "login: the short escapes");

    rc = kvs_ident_login_parse(B("{\"username\":\"a\",\"password\":"
                                 "\"\\u00e9\\u20ac\\ud83d\\ude00\\u0000"
                                 "\xc3\xa9\"}"), &req, &why);
    CHECK(rc == 0 && req.password.len == 12
          && memcmp(req.password.data, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0"
                    "\xc3\xa9", 12) == 0,
          "login: \\u escapes, a surrogate pair, \\u0000 and raw UTF-8");

    rc = kvs_ident_login_parse(B("{\"username\":\"a\",\"password\":\"\"}"),
                               &req, &why);
    CHECK(rc == 0 && req.password.len == 0,
          "login: an empty password is for the KDF to refuse");
}


/* bodies of one kind, each parsed by parse() into a struct of its own,
 * static as *why may point into it */

static void
kvs_test_bodies(const kvs_test_req_t *t, const char *kind,
    int (*parse)(const uint8_t *, size_t, const char **))
{
    int          rc;
    char         desc[192];
    const char  *why;

    for ( /* void */ ; t->body != NULL; t++) {
        why = NULL;
        rc = parse((const uint8_t *) t->body, strlen(t->body), &why);

        snprintf(desc, sizeof(desc), "%s: %s", kind, t->desc);
        kvs_test_str(rc == 0 ? NULL : why, t->why, desc);
    }
}


static int
kvs_test_login_one(const uint8_t *body, size_t len, const char **why)
{
    static kvs_ident_login_t  req;

    return kvs_ident_login_parse(body, len, &req, why);
}


static const kvs_test_req_t  kvs_test_logins[] = {
    { "", "the body is not JSON: the body is empty at byte 0",
      "an empty body" },
    { "{\"username\":\"a\" \"password\":\"b\"}",
      "the body is not JSON: expected ',' or '}' in an object at byte 16",
      "not JSON" },
    { "[\"a\",\"b\"]", "the body is not a JSON object", "an array" },
    { "{\"username\":\"a\"}", "the field \"password\" is missing",
      "no password" },
    { "{\"password\":\"a\"}", "the field \"username\" is missing",
      "no username" },
    { "{\"username\":\"a\",\"password\":\"b\",\"usernme\":\"c\"}",
      "unknown field \"usernme\": a login takes \"username\" and "
      "\"password\"", "an unknown field" },
    { "{\"user\\nname\":\"a\"}",
      "unknown field \"user\\nname\": a login takes \"username\" and "
      "\"password\"", "an unknown field with a newline, escaped again" },
    { "{\"username\":\"a\",\"password\":\"b\",\"username\":\"c\"}",
      "the field \"username\" appears twice", "a duplicate field" },
    { "{\"username\":1,\"password\":\"b\"}",
      "the field \"username\" must be a string", "a number as username" },
    { "{\"username\":\"a\",\"password\":null}",
      "the field \"password\" must be a string", "null as password" },
    { "{\"username\":\"a b\",\"password\":\"b\"}",
      "\"username\": " WHY_CHARS, "a bad username" },
    { "{\"username\":\"\",\"password\":\"b\"}",
      "\"username\": the name is empty", "an empty username" },
    { "{\"username\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaaa\",\"password\":\"b\"}",
      "\"username\": " WHY_LONG, "a username of 65 bytes" },
    { "{\"username\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
      "aaaaaaaaa\",\"password\":\"b\"}", NULL, "a username of 64 bytes" },
    { NULL, NULL, NULL }
};


static void
kvs_test_login_refused(void)
{
    int                 rc;
    char               *body;
    size_t              n;
    const char         *why;
    kvs_ident_login_t   req;

    kvs_test_bodies(kvs_test_logins, "login", kvs_test_login_one);

    /* passwords of 1024 and 1025 bytes, the last one an escape of 2 */
    body = malloc(64 + 2 * KVS_IDENT_PASSWORD_MAX);
    if (body == NULL) {
        CHECK(0, "login: memory");
        return;
    }

    n = (size_t) sprintf(body, "{\"username\":\"a\",\"password\":\"");
    memset(body + n, 'x', KVS_IDENT_PASSWORD_MAX - 1);
    n += KVS_IDENT_PASSWORD_MAX - 1;
    n += (size_t) sprintf(body + n, "\\u00e9\"}");

    why = NULL;
    rc = kvs_ident_login_parse((uint8_t *) body, n, &req, &why);
    kvs_test_str(rc == 0 ? NULL : why,
                 "\"password\" is longer than 1024 bytes",
                 "login: a password of 1025 bytes, decoded");

    memcpy(body + n - 8, "\\u0065\"}", 8);
    rc = kvs_ident_login_parse((uint8_t *) body, n, &req, &why);
    CHECK(rc == 0 && req.password.len == KVS_IDENT_PASSWORD_MAX
          && req.password.data[KVS_IDENT_PASSWORD_MAX - 1] == 'e',
          "login: a password of 1024 bytes");

    free(body);
}


static void
kvs_test_user_req(void)
{
    int                    rc;
    char                   name[KVS_IDENT_NAME_MAX];
    size_t                 at, len;
    const char            *why;
    kvs_ident_user_req_t   req;

    why = NULL;
    rc = kvs_ident_user_req_parse(B("{\"username\":\"bob\",\"password\":"
                                    "\"longenough\",\"old_password\":\"old\","
                                    "\"groups\":[ \"admin\" , \"de\\u0076s\","
                                    "\"x.y\"],\"disabled\":true}"),
                                  &req, &why);
    CHECK(rc == 0 && req.username.present && req.password.present
          && req.old_password.present && req.groups.present
          && req.disabled.present
          && req.disabled.value && req.username.len == 3
          && memcmp(req.username.data, "bob", 3) == 0 && req.password.len == 10
          && memcmp(req.password.data, "longenough", 10) == 0
          && req.old_password.len == 3
          && memcmp(req.old_password.data, "old", 3) == 0 && req.groups.n == 3,
          "user request: every field");

    at = 0;
    rc = kvs_ident_names_next(&req.groups, &at, name, &len);
    CHECK(rc == 1 && len == 5 && memcmp(name, "admin", 5) == 0,
          "user request: groups[0]");
    rc = kvs_ident_names_next(&req.groups, &at, name, &len);
    CHECK(rc == 1 && len == 4 && memcmp(name, "devs", 4) == 0,
          "user request: groups[1], its escape decoded");
    rc = kvs_ident_names_next(&req.groups, &at, name, &len);
    CHECK(rc == 1 && len == 3 && memcmp(name, "x.y", 3) == 0,
          "user request: groups[2]");
    CHECK(kvs_ident_names_next(&req.groups, &at, name, &len) == 0
          && kvs_ident_names_next(&req.groups, &at, name, &len) == 0,
          "user request: no groups[3], and still none");

    rc = kvs_ident_user_req_parse(B("{\"rate_limit\":25}"), &req, &why);
    CHECK(rc == 0 && req.rate_limit.present && req.rate_limit.value == 25,
          "user request: a rate_limit");
    rc = kvs_ident_user_req_parse(B("{\"rate_limit\":null}"), &req, &why);
    CHECK(rc == 0 && req.rate_limit.present && req.rate_limit.value == -1,
          "user request: a null rate_limit is none, -1");
    rc = kvs_ident_user_req_parse(B("{\"rate_limit\":1000000000}"),
                                  &req, &why);
    CHECK(rc == 0 && req.rate_limit.value == 1000000000,
          "user request: rate_limit at its largest, rate_limit_requests'");
    rc = kvs_ident_user_req_parse(B("{\"rate_limit\":0}"), &req, &why);
    CHECK(rc == 0 && req.rate_limit.present && req.rate_limit.value == 0,
          "user request: a rate_limit of 0");

    rc = kvs_ident_user_req_parse(B("{}"), &req, &why);
    at = 0;
    CHECK(rc == 0 && !req.username.present && !req.password.present
          && !req.old_password.present && !req.groups.present
          && !req.disabled.present
          && kvs_ident_names_next(&req.groups, &at, name, &len) == 0,
          "user request: nothing, and no groups to iterate");

    rc = kvs_ident_user_req_parse(B("{\"groups\":[],\"disabled\":false}"),
                                  &req, &why);
    at = 0;
    CHECK(rc == 0 && req.groups.present && req.groups.n == 0
          && req.disabled.present && !req.disabled.value
          && kvs_ident_names_next(&req.groups, &at, name, &len) == 0,
          "user request: no groups, enabled");

    rc = kvs_ident_user_req_parse(B("{\"password\":\"abcdef\\u00e9\"}"),
                                  &req, &why);
    CHECK(rc == 0 && req.password.len == 8,
          "user request: a password of 8 bytes, decoded");
}


static int
kvs_test_user_req_one(const uint8_t *body, size_t len, const char **why)
{
    static kvs_ident_user_req_t  req;

    return kvs_ident_user_req_parse(body, len, &req, why);
}


#define USER_TAKES  "a user takes \"username\", \"password\", " \
                    "\"old_password\", \"groups\", \"disabled\" and " \
                    "\"rate_limit\""
#define WHY_LIMIT   "\"rate_limit\" must be a whole number of requests " \
                    "per window from 0 (none) to 1000000000, or " \
                    "null for the node's rate_limit_requests"

static const kvs_test_req_t  kvs_test_user_reqs[] = {
    { "{\"name\":\"bob\"}", "unknown field \"name\": " USER_TAKES,
      "an unknown field" },
    { "{\"password\":\"abcde\\u00e9\"}",
      "\"password\" is shorter than 8 bytes",
      "a password of 7 bytes, decoded" },
    { "{\"password\":\"\"}", "\"password\" is shorter than 8 bytes",
      "an empty password" },
    { "{\"old_password\":\"x\"}", NULL, "a short old password" },
    { "{\"old_password\":5}", "the field \"old_password\" must be a string",
      "a number as old password" },
    { "{\"disabled\":\"true\"}",
      "the field \"disabled\" must be true or false",
      "a string as disabled" },
    { "{\"disabled\":1}", "the field \"disabled\" must be true or false",
      "1 as disabled" },
    { "{\"groups\":\"admin\"}", "the field \"groups\" must be an array",
      "a string as groups" },
    { "{\"groups\":[\"admin\",7]}",
      "\"groups\"[1]: the name must be a string", "a number in groups" },
    { "{\"groups\":[\"admin\",[\"x\"]]}",
      "\"groups\"[1]: the name must be a string", "an array in groups" },
    { "{\"groups\":[\"a\",\"b c\"]}", "\"groups\"[1]: " WHY_CHARS,
      "a bad name in groups" },
    { "{\"groups\":[\"\"]}", "\"groups\"[0]: the name is empty",
      "an empty name in groups" },
    { "{\"disabled\":true,\"disabled\":false}",
      "the field \"disabled\" appears twice", "disabled twice" },
    { "{\"username\":\"-x\"}", "\"username\": " WHY_START,
      "a bad username" },
    { "{\"username\":\"x\",\"groups\":[],\"groups\":[]}",
      "the field \"groups\" appears twice", "groups twice" },
    { "{\"rate_limit\":-1}", WHY_LIMIT, "a negative rate_limit" },
    { "{\"rate_limit\":1.5}", WHY_LIMIT, "a fractional rate_limit" },
    { "{\"rate_limit\":9223372036854775808}", WHY_LIMIT,
      "rate_limit past int64" },
    { "{\"rate_limit\":1000000001}", WHY_LIMIT,
      "rate_limit past rate_limit_requests' bound (it was applied as "
      "4294967295)" },
    { "{\"rate_limit\":\"10\"}", "the field \"rate_limit\" must be a number",
      "a string as rate_limit" },
    { "{\"rate_limit\":null,\"rate_limit\":1}",
      "the field \"rate_limit\" appears twice", "rate_limit twice" },
    { NULL, NULL, NULL }
};


/* a body {"<field>":["n0","n1",...]} of n names */

static char *
kvs_test_names_body(const char *field, size_t n, size_t *len)
{
    char    *body, *p;
    size_t   i;

    body = malloc(32 + n * 10);
    if (body == NULL) {
        return NULL;
    }

    p = body + sprintf(body, "{\"%s\":[", field);

    for (i = 0; i < n; i++) {
        p += sprintf(p, "%s\"n%zu\"", i > 0 ? "," : "", i);
    }

    p += sprintf(p, "]}");
    *len = (size_t) (p - body);

    return body;
}


static void
kvs_test_user_req_refused(void)
{
    int                    rc;
    char                  *body;
    size_t                 len;
    const char            *why;
    kvs_ident_user_req_t   req;

    kvs_test_bodies(kvs_test_user_reqs, "user request",
                    kvs_test_user_req_one);

    body = kvs_test_names_body("groups", KVS_IDENT_GROUPS_MAX, &len);
    rc = (body != NULL)
         ? kvs_ident_user_req_parse((uint8_t *) body, len, &req, &why) : -1;
    CHECK(rc == 0 && req.groups.n == KVS_IDENT_GROUPS_MAX,
          "user request: 256 groups");
    free(body);

    why = NULL;
    body = kvs_test_names_body("groups", KVS_IDENT_GROUPS_MAX + 1, &len);
    rc = (body != NULL)
         ? kvs_ident_user_req_parse((uint8_t *) body, len, &req, &why) : 0;
    kvs_test_str(rc == 0 ? NULL : why,
                 "\"groups\" holds more than 256 names",
                 "user request: 257 groups");
    free(body);
}


static int
kvs_test_group_req_one(const uint8_t *body, size_t len, const char **why)
{
    static kvs_ident_group_req_t  req;

    return kvs_ident_group_req_parse(body, len, &req, why);
}


static const kvs_test_req_t  kvs_test_group_reqs[] = {
    { "{\"name\":\"devs\",\"members\":[\"alice\"],\"owner\":\"x\"}",
      "unknown field \"owner\": a group takes \"name\" and \"members\"",
      "an unknown field" },
    { "{\"name\":\"d/s\"}", "\"name\": " WHY_CHARS, "a bad name" },
    { "{\"name\":[\"devs\"]}", "the field \"name\" must be a string",
      "an array as name" },
    { "{\"members\":{\"alice\":1}}", "the field \"members\" must be an array",
      "an object as members" },
    { "{\"members\":[\"alice\",null]}",
      "\"members\"[1]: the name must be a string", "null in members" },
    { "{\"name\":\"a\",\"name\":\"a\"}", "the field \"name\" appears twice",
      "name twice" },
    { "{\"members\":[\"alice\"]} x", "the body is not JSON: unexpected data "
      "after the JSON value at byte 22", "bytes after the body" },
    { NULL, NULL, NULL }
};


static void
kvs_test_group_req(void)
{
    int                     rc;
    char                   *body, name[KVS_IDENT_NAME_MAX];
    size_t                  at, len, n;
    const char             *why;
    kvs_ident_group_req_t   req;

    kvs_test_bodies(kvs_test_group_reqs, "group request",
                    kvs_test_group_req_one);

    why = NULL;
    rc = kvs_ident_group_req_parse(B("{\"members\":[\"alice\",\"bob\"],"
                                     "\"name\":\"devs\"}"), &req, &why);
    at = 0;
    CHECK(rc == 0 && req.name.present && req.members.present
          && req.name.len == 4
          && memcmp(req.name.data, "devs", 4) == 0 && req.members.n == 2
          && kvs_ident_names_next(&req.members, &at, name, &len) == 1
          && len == 5 && memcmp(name, "alice", 5) == 0
          && kvs_ident_names_next(&req.members, &at, name, &len) == 1
          && len == 3 && memcmp(name, "bob", 3) == 0
          && kvs_ident_names_next(&req.members, &at, name, &len) == 0,
          "group request: name and members, iterated");

    rc = kvs_ident_group_req_parse(B("{\"members\":[]}"), &req, &why);
    CHECK(rc == 0 && !req.name.present && req.members.present
          && req.members.n == 0,
          "group request: no members");

    body = kvs_test_names_body("members", KVS_GROUP_MEMBERS_MAX, &len);
    rc = (body != NULL)
         ? kvs_ident_group_req_parse((uint8_t *) body, len, &req, &why)
         : -1;
    n = 0;
    at = 0;

    while (rc == 0 && kvs_ident_names_next(&req.members, &at, name, &len)) {
        n++;
    }

    CHECK(rc == 0 && req.members.n == KVS_GROUP_MEMBERS_MAX
          && n == KVS_GROUP_MEMBERS_MAX && len == 5
          && memcmp(name, "n9999", 5) == 0,
          "group request: 10000 members, iterated to the last");
    free(body);

    body = kvs_test_names_body("members", KVS_GROUP_MEMBERS_MAX + 1, &len);
    rc = (body != NULL)
         ? kvs_ident_group_req_parse((uint8_t *) body, len, &req, &why)
         : 0;
    kvs_test_str(rc == 0 ? NULL : why,
                 "\"members\" holds more than 10000 names",
                 "group request: 10001 members");
    free(body);
}


/* PUT /kv/{key}?meta: uuids or "" for none, three hex digits */

static void
kvs_test_meta_req(void)
{
    int                rc;
    uint8_t            id[KVS_UUID_LEN];
    const char        *why;
    kvs_ident_meta_t   m;
    static const uint8_t  none[KVS_UUID_LEN];

    kvs_uuid_parse(id, "2ed6657d-e927-568b-95e1-2665a8aea6a2",
                   KVS_UUID_STR_LEN);

    why = NULL;
    rc = kvs_ident_meta_parse(B("{\"owner\":\"2ed6657d-e927-568b-95e1-"
                                "2665a8aea6a2\",\"group\":\"\","
                                "\"permissions\":\"F31\"}"), &m, &why);
    CHECK(rc == 0 && m.owner.present && m.group.present
          && m.permissions.present
          && memcmp(m.owner.uuid, id, KVS_UUID_LEN) == 0
          && memcmp(m.group.uuid, none, KVS_UUID_LEN) == 0
          && m.permissions.perm == 0xf31,
          "meta request: owner, no group, permissions in either case");

    rc = kvs_ident_meta_parse(B("{\"permissions\":\"800\"}"), &m, &why);
    CHECK(rc == 0 && !m.owner.present && !m.group.present
          && m.permissions.perm == 0x800, "meta request: permissions only");

    rc = kvs_ident_meta_parse(B("{}"), &m, &why);
    CHECK(rc == 0 && !m.owner.present && !m.group.present
          && !m.permissions.present, "meta request: nothing to change");

    rc = kvs_ident_meta_parse(B("{\"permissions\":\"f3\"}"), &m, &why);
    kvs_test_str(rc == 0 ? NULL : why, "\"permissions\" must be three hex "
                 "digits, owner, group and others, each of C 8, D 4, W 2 "
                 "and R 1, as \"f31\"", "meta request: two digits");

    rc = kvs_ident_meta_parse(B("{\"owner\":\"bob\"}"), &m, &why);
    kvs_test_str(rc == 0 ? NULL : why, "\"owner\" must be a uuid, or \"\" "
                 "for none", "meta request: an owner that is no uuid");

    rc = kvs_ident_meta_parse(B("{\"group\":null}"), &m, &why);
    CHECK(rc == -1, "meta request: a null group is refused");

    rc = kvs_ident_meta_parse(B("{\"mode\":\"f00\"}"), &m, &why);
    CHECK(rc == -1 && why != NULL && strstr(why, "\"mode\"") != NULL,
          "meta request: an unknown field is refused, by name");
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_names),
    KVS_TEST_CASE(kvs_test_uuids),
    KVS_TEST_CASE(kvs_test_keys),
    KVS_TEST_CASE(kvs_test_user),
    KVS_TEST_CASE(kvs_test_user_encode_refused),
    KVS_TEST_CASE(kvs_test_user_parse),
    KVS_TEST_CASE(kvs_test_group),
    KVS_TEST_CASE(kvs_test_group_sort),
    KVS_TEST_CASE(kvs_test_group_parse),
    KVS_TEST_CASE(kvs_test_group_has),
    KVS_TEST_CASE(kvs_test_token),
    KVS_TEST_CASE(kvs_test_public),
    KVS_TEST_CASE(kvs_test_login),
    KVS_TEST_CASE(kvs_test_login_refused),
    KVS_TEST_CASE(kvs_test_user_req),
    KVS_TEST_CASE(kvs_test_user_req_refused),
    KVS_TEST_CASE(kvs_test_group_req),
    KVS_TEST_CASE(kvs_test_meta_req),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    NULL, NULL, kvs_test_cases
};
