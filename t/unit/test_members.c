/*
 * Member lists: JSON both ways, the filter of what a node takes from its
 * peers, a member's state as of now, and the one parser of the address a
 * member is called at.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvs_members.h"

#include "kvs_test.h"


typedef struct {
    const char  *text;
    int          ssl;
    int          ip;
    const char  *host;           /* NULL: the text must be refused */
    int          port;
} kvs_test_address_t;


static void
kvs_test_member(kvs_member_t *m, const char *id, const char *addr,
    uint64_t seen, uint64_t joined, int state)
{
    memset(m, 0, sizeof(kvs_member_t));
    snprintf(m->node_id, sizeof(m->node_id), "%s", id);
    snprintf(m->address, sizeof(m->address), "%s", addr);
    m->last_seen = seen;
    m->joined_timestamp = joined;
    m->state = state;
}


static int
kvs_test_parse(const char *json, kvs_member_t *m, size_t max,
    const char **why)
{
    *why = NULL;
    return kvs_members_parse(json, strlen(json), m, max, why);
}


static void
kvs_test_names(void)
{
    char  name[KVS_MEMBER_NAME_MAX + 2];

    memset(name, 'n', sizeof(name));

    CHECK(kvs_member_name_check(name, KVS_MEMBER_NAME_MAX) == NULL,
          "name: 255 bytes are a name");
    kvs_test_str(kvs_member_name_check(name, KVS_MEMBER_NAME_MAX + 1),
                 "is longer than 255 bytes", "name: 256 bytes are not");
    kvs_test_str(kvs_member_name_check(name, 0), "is empty",
                 "name: nor is nothing");
    CHECK(kvs_member_name_check("https://[::1]:8443", 18) == NULL,
          "name: an address with scheme and IPv6 literal is a name");
    CHECK(kvs_member_name_check("n\xc5\x93ud-1.example", 15) == NULL,
          "name: UTF-8 is a name");
    kvs_test_str(kvs_member_name_check("a\tb", 3),
                 "has a control byte, a quote or a backslash",
                 "name: a tab is not");
    CHECK(kvs_member_name_check("a\"b", 3) != NULL
          && kvs_member_name_check("a\\b", 3) != NULL
          && kvs_member_name_check("a\x7f", 2) == NULL,
          "name: nor a quote or a backslash; DEL needs no escape");
    kvs_test_str(kvs_member_name_check("node\xff", 5), "is not valid UTF-8",
                 "name: nor bytes that are not UTF-8");
}


/*
 * KVS_MEMBERS_JSON_MAX is the longest list there is: 1,024 members of the
 * longest names and numbers encode to one byte less (no comma after the
 * last), and such names read back.
 */

static void
kvs_test_longest_list(void)
{
    int            n;
    char          *buf;
    size_t         i, len;
    const char    *why;
    kvs_member_t  *m;

    m = calloc(KVS_MEMBERS_MAX, sizeof(kvs_member_t));
    buf = malloc(KVS_MEMBERS_JSON_MAX);

    if (m == NULL || buf == NULL) {
        CHECK(0, "longest: memory");
        return;
    }

    for (i = 0; i < KVS_MEMBERS_MAX; i++) {
        memset(m[i].node_id, 'i', KVS_MEMBER_NAME_MAX);
        memset(m[i].address, 'a', KVS_MEMBER_NAME_MAX);
        snprintf(m[i].node_id, 8, "%06zu", i);
        m[i].node_id[6] = 'i';
        /* a name of 249 bytes and a port: an address parse takes */
        memcpy(m[i].address + KVS_MEMBER_NAME_MAX - 6, ":65535", 6);
        m[i].last_seen = UINT64_MAX;
        m[i].joined_timestamp = UINT64_MAX;
        m[i].state = KVS_MEMBER_FAILED;
    }

    CHECK(KVS_MEMBERS_JSON_MAX == 637954,
          "longest: the cap of a member list is 637,954 bytes");
    CHECK(kvs_members_encode_size(m, KVS_MEMBERS_MAX) >= KVS_MEMBERS_JSON_MAX,
          "longest: encode_size covers it");

    len = kvs_members_encode(m, KVS_MEMBERS_MAX, buf);
    CHECK(len == KVS_MEMBERS_JSON_MAX - 1,
          "longest: 1,024 members of the longest names encode to the cap");

    /* parse takes numbers up to 2^53 only: the longest names it takes */
    for (i = 0; i < KVS_MEMBERS_MAX; i++) {
        m[i].last_seen = 9007199254740992ULL;
        m[i].joined_timestamp = 9007199254740992ULL;
    }

    len = kvs_members_encode(m, KVS_MEMBERS_MAX, buf);
    n = kvs_members_parse(buf, len, m, KVS_MEMBERS_MAX, &why);
    CHECK(n == KVS_MEMBERS_MAX && strlen(m[7].node_id) == KVS_MEMBER_NAME_MAX
          && strlen(m[7].address) == KVS_MEMBER_NAME_MAX,
          "longest: 1,024 members of the longest names read back");

    free(buf);
    free(m);
}


/*
 * A reader takes room for kvs_members_room(len) members: a list of the
 * shortest members there can be, as many as fit, still fits in it.
 */

static void
kvs_test_shortest(void)
{
    int            n;
    char          *buf, *p;
    size_t         i, len, count;
    const char    *why;
    const char    *one = "{\"id\":\"i\",\"address\":\"a:1\",\"last_seen\":1,"
                         "\"joined_timestamp\":2}";
    kvs_member_t  *m;

    CHECK(strlen(one) == KVS_MEMBER_JSON_MIN,
          "shortest: a member takes KVS_MEMBER_JSON_MIN bytes at least");

    count = 1000;
    buf = malloc(count * (KVS_MEMBER_JSON_MIN + 1) + 2);
    m = malloc(count * sizeof(kvs_member_t));

    p = buf;
    *p++ = '[';

    for (i = 0; i < count; i++) {
        p += sprintf(p, "%s%s", i ? "," : "", one);
    }

    *p++ = ']';
    len = p - buf;

    CHECK(kvs_members_room(len) >= count && kvs_members_room(len) < count + 2,
          "shortest: the room of 1,000 shortest members is 1,000");

    n = kvs_members_parse(buf, len, m, kvs_members_room(len), &why);
    CHECK(n == (int) count, "shortest: and they are read in that room");

    CHECK(kvs_members_room(2) == 1 && kvs_members_room(SIZE_MAX / 2)
                                      == KVS_MEMBERS_MAX,
          "shortest: the room is never 0, nor above KVS_MEMBERS_MAX");

    free(buf);
    free(m);
}


static void
kvs_test_addresses(void)
{
    int             rc, ok;
    char            desc[128];
    size_t          i, skip;
    kvs_address_t   a;

    static const kvs_test_address_t  forms[] = {
        { "a:1", 0, 0, "a", 1 },
        { "node-2.example.com:65535", 0, 0, "node-2.example.com", 65535 },
        { "10.0.0.1:8080", 0, 1, "10.0.0.1", 8080 },
        { "http://10.0.0.3:9090", 0, 1, "10.0.0.3", 9090 },
        { "https://kvs.example:443", 1, 0, "kvs.example", 443 },
        { "HTTPS://kvs.example:443", 1, 0, "kvs.example", 443 },
        { "Http://b:80", 0, 0, "b", 80 },
        { "[::1]:8080", 0, 1, "[::1]", 8080 },
        { "https://[fe80::1%eth0]:1", 1, 1, "[fe80::1%eth0]", 1 },
        { "a:08080", 0, 0, "a", 8080 },
        { "https://localhost:8443", 1, 0, "localhost", 8443 },
        { "255.255.255.255:1", 0, 1, "255.255.255.255", 1 },

        /* names that only look like addresses: SNI and DNS names */
        { "256.0.0.1:1", 0, 0, "256.0.0.1", 1 },
        { "1.2.3:1", 0, 0, "1.2.3", 1 },
        { "1.2.3.4.5:1", 0, 0, "1.2.3.4.5", 1 },
        { "1..3.4:1", 0, 0, "1..3.4", 1 },
        { "1.2.3.:1", 0, 0, "1.2.3.", 1 },
        { "1.2.3.0004:1", 0, 0, "1.2.3.0004", 1 },
        { "10.0.0.1a:1", 0, 0, "10.0.0.1a", 1 },

        { "", 0, 0, NULL, 0 },
        { "a", 0, 0, NULL, 0 },
        { "a:", 0, 0, NULL, 0 },
        { ":80", 0, 0, NULL, 0 },
        { "a:0", 0, 0, NULL, 0 },
        { "a:65536", 0, 0, NULL, 0 },
        { "a:000080", 0, 0, NULL, 0 },
        { "a:8o", 0, 0, NULL, 0 },
        { "a:-1", 0, 0, NULL, 0 },
        { "a:+1", 0, 0, NULL, 0 },
        { "a: 1", 0, 0, NULL, 0 },
        { " a:1", 0, 0, NULL, 0 },
        { "a b:1", 0, 0, NULL, 0 },
        { "a:1:2", 0, 0, NULL, 0 },
        { "::1:8080", 0, 0, NULL, 0 },
        { "[::1]", 0, 0, NULL, 0 },
        { "[]:80", 0, 0, NULL, 0 },
        { "[::1:80", 0, 0, NULL, 0 },
        { "x[::1]:80", 0, 0, NULL, 0 },
        { "http://a", 0, 0, NULL, 0 },
        { "http://", 0, 0, NULL, 0 },
        { "https://", 0, 0, NULL, 0 },
        { "http://:80", 0, 0, NULL, 0 },
        { "http://a:80/", 0, 0, NULL, 0 },
        { "http://a:80/kv", 0, 0, NULL, 0 },
        { "http://user@a:80", 0, 0, NULL, 0 },
        { "ftp://a:80", 0, 0, NULL, 0 },
        { "http:/a:80", 0, 0, NULL, 0 },
        { "a/b:80", 0, 0, NULL, 0 },
        { "a?b:80", 0, 0, NULL, 0 },
        { "h\xc3\xa9:80", 0, 0, NULL, 0 }
    };

    for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        memset(&a, 0x5a, sizeof(a));
        rc = kvs_address_parse(forms[i].text, strlen(forms[i].text), &a);

        if (forms[i].host == NULL) {
            snprintf(desc, sizeof(desc), "address: \"%s\" refused",
                     forms[i].text);
            CHECK(rc == -1, desc);
            continue;
        }

        snprintf(desc, sizeof(desc), "address: \"%s\" is %s, %s %s, %d",
                 forms[i].text, forms[i].ssl ? "https" : "http",
                 forms[i].ip ? "address" : "name", forms[i].host,
                 forms[i].port);

        /* the authority is the text without its scheme */
        skip = strlen(forms[i].text) - a.authority_len;

        ok = rc == 0 && a.ssl == forms[i].ssl && a.ip == forms[i].ip
             && a.host_len == strlen(forms[i].host)
             && memcmp(a.host, forms[i].host, a.host_len) == 0
             && a.port == forms[i].port
             && a.authority == forms[i].text + skip
             && a.authority == a.host
             && (skip == 0 || skip == 7 + (size_t) forms[i].ssl);

        CHECK(ok, desc);
    }

    /* the length is the bound, not a NUL: a slice may be parsed */
    rc = kvs_address_parse("a:1234", 4, &a);
    CHECK(rc == 0 && a.port == 12 && a.host_len == 1
          && a.authority_len == 4,
          "address: parses only len bytes");
}


/* encode, and parse what encode wrote */

static void
kvs_test_encode(void)
{
    int            n;
    char          *buf;
    size_t         len;
    const char    *why;
    kvs_member_t   in[3], out[4];

    kvs_test_member(&in[0], "node1", "127.0.0.1:8081", 1000, 10,
                    KVS_MEMBER_ALIVE);
    kvs_test_member(&in[1], "we\"ird\\id\n", "https://h:1", 2000, 20,
                    KVS_MEMBER_FAILED);
    kvs_test_member(&in[2], "node3", "127.0.0.1:8083", 9007199254740992ULL,
                    30, KVS_MEMBER_LEFT);

    buf = malloc(kvs_members_encode_size(in, 3));
    len = kvs_members_encode(in, 3, buf);
    CHECK(len < kvs_members_encode_size(in, 3),
          "encode: stays within encode_size");

    CHECK(strncmp(buf, "[{\"id\":\"node1\",\"address\":\"127.0.0.1:8081\","
                  "\"last_seen\":1000,\"joined_timestamp\":10,"
                  "\"state\":\"alive\"},", 91) == 0,
          "encode: the original's field names, in order");

    /* a record stored by an older build may have such an id */
    CHECK(strstr(buf, "{\"id\":\"we\\\"ird\\\\id\\u000a\",") != NULL,
          "encode: escapes quotes, backslashes and control bytes");

    n = kvs_members_parse(buf, len, out, 4, &why);
    CHECK(n == -1, "parse: an id that needs escaping is refused");
    kvs_test_str(why, "a member's id or address is empty, longer than 255 "
                 "bytes, not UTF-8, or has a control byte, a quote or a "
                 "backslash", "parse: saying what a name may not have");
    free(buf);

    kvs_test_member(&in[1], "node2", "https://h:1", 2000, 20,
                    KVS_MEMBER_FAILED);
    buf = malloc(kvs_members_encode_size(in, 3));
    len = kvs_members_encode(in, 3, buf);

    n = kvs_members_parse(buf, len, out, 4, &why);
    CHECK(n == 3, "parse: what encode wrote reads back");
    CHECK(n == 3 && memcmp(&in[1], &out[1], sizeof(kvs_member_t)) == 0,
          "parse: a member reads back as it was");
    CHECK(n == 3 && out[2].state == KVS_MEMBER_LEFT
          && out[2].last_seen == 9007199254740992ULL,
          "parse: state left and a 2^53 timestamp survive");
    free(buf);
}


/* what parse refuses, and the sentence saying why */

static void
kvs_test_parse_errors(void)
{
    int            n;
    const char    *why;
    kvs_member_t   out[4];

    n = kvs_test_parse("[]", out, 4, &why);
    CHECK(n == 0, "parse: an empty list");

    n = kvs_test_parse("{\"id\":\"x\"}", out, 4, &why);
    CHECK(n == -1, "parse: an object is not a list");
    kvs_test_str(why, "the member list is not a JSON array",
                 "parse: saying so");

    n = kvs_test_parse("[{\"id\":\"x\",\"address\":\"a:1\",\"last_seen\":1}]",
                       out, 4, &why);
    CHECK(n == -1, "parse: a member without joined_timestamp is refused");
    kvs_test_str(why, "a member needs id, address, last_seen and "
                 "joined_timestamp", "parse: naming the fields");

    n = kvs_test_parse("[{\"id\":\"\",\"address\":\"a:1\",\"last_seen\":1,"
                       "\"joined_timestamp\":1}]", out, 4, &why);
    CHECK(n == -1, "parse: an empty id is refused");

    n = kvs_test_parse("[{\"id\":\"x\",\"address\":\"a:1\",\"last_seen\":-5,"
                       "\"joined_timestamp\":1}]", out, 4, &why);
    CHECK(n == -1, "parse: a negative last_seen is refused");

    /*
     * Found by t/fuzz/fuzz_members.c: cJSON takes strings that are not
     * UTF-8, and such an address, once gossiped, made every node's
     * /members/ answer bytes that are not JSON.
     */
    n = kvs_test_parse("[{\"id\":\"x\",\"address\":\"127\xff.0.0.1:1\","
                       "\"last_seen\":1,\"joined_timestamp\":1}]",
                       out, 4, &why);
    CHECK(n == -1, "parse: an address that is not UTF-8 is refused");
    kvs_test_str(why, "a member's id or address is empty, longer than 255 "
                 "bytes, not UTF-8, or has a control byte, a quote or a "
                 "backslash", "parse: as no name");

    n = kvs_test_parse("[{\"id\":\"x\",\"address\":\"a:1\",\"last_seen\":1,"
                       "\"joined_timestamp\":1,\"state\":\"zombie\"}]",
                       out, 4, &why);
    CHECK(n == -1, "parse: an unknown state is refused");
    kvs_test_str(why, "a member's state is not alive, failed or left",
                 "parse: saying which states exist");

    /* an address no call could be made to: it was kept, and the agent
     * warned at every call to it */
    n = kvs_test_parse("[{\"id\":\"x\",\"address\":\"nohost\","
                       "\"last_seen\":1,\"joined_timestamp\":1}]",
                       out, 4, &why);
    CHECK(n == -1, "parse: an address without a port is refused");
    kvs_test_str(why, "a member's address is not host:port, nor http:// or "
                      "https:// of one", "parse: saying what it must be");
    n = kvs_test_parse("[{\"id\":\"x\",\"address\":\"https://a:1\","
                       "\"last_seen\":1,\"joined_timestamp\":1}]",
                       out, 4, &why);
    CHECK(n == 1, "parse: an https:// address is one");

    n = kvs_test_parse("[{\"id\":\"x\",\"address\":\"a:1\",\"last_seen\":1,"
                       "\"joined_timestamp\":1},1,2,3,4]", out, 1, &why);
    CHECK(n == -1, "parse: more members than room is refused");
    kvs_test_str(why, "the member list is too long", "parse: as too long");

    n = kvs_test_parse("[{\"id\":\"x\",\"address\":\"a:1\",\"last_seen\":1,"
                       "\"joined_timestamp\":1}", out, 4, &why);
    CHECK(n == -1, "parse: truncated JSON is refused");
}


/* the filter: never self, never records older than the bound */

static void
kvs_test_filter(void)
{
    size_t         len;
    kvs_member_t   out[4];

    kvs_test_member(&out[0], "self", "a:1", 5000, 1, KVS_MEMBER_ALIVE);
    kvs_test_member(&out[1], "old", "a:2", 100, 1, KVS_MEMBER_FAILED);
    kvs_test_member(&out[2], "fresh", "a:3", 4000, 1, KVS_MEMBER_ALIVE);
    kvs_test_member(&out[3], "edge", "a:4", 1000, 1, KVS_MEMBER_ALIVE);

    len = kvs_members_filter(out, 4, "self", 1000, 4000);
    CHECK(len == 2, "filter: drops this node and records seen too long ago");
    CHECK(len == 2
          && ((strcmp(out[0].node_id, "edge") == 0
               && strcmp(out[1].node_id, "fresh") == 0)
              || (strcmp(out[0].node_id, "fresh") == 0
                  && strcmp(out[1].node_id, "edge") == 0)),
          "filter: keeps the others, the bound itself included");

    kvs_test_member(&out[0], "ahead", "a:1", 4001, 1, KVS_MEMBER_LEFT);
    kvs_test_member(&out[1], "now", "a:2", 4000, 1, KVS_MEMBER_ALIVE);
    len = kvs_members_filter(out, 2, "self", 1000, 4000);
    CHECK(len == 1 && strcmp(out[0].node_id, "now") == 0,
          "filter: drops a record stamped after newest, keeps newest");
}


/* the state as of now */

static void
kvs_test_state(void)
{
    kvs_member_t   out[1];

    kvs_test_member(&out[0], "a", "a:1", 10000, 1, KVS_MEMBER_ALIVE);
    CHECK(kvs_member_state(&out[0], 12000, 2000) == KVS_MEMBER_ALIVE,
          "state: alive up to failure_timeout");
    CHECK(kvs_member_state(&out[0], 12001, 2000) == KVS_MEMBER_FAILED,
          "state: failed once failure_timeout has passed");
    CHECK(kvs_member_state(&out[0], 5000, 2000) == KVS_MEMBER_ALIVE,
          "state: a last_seen ahead of the clock is alive");
    out[0].state = KVS_MEMBER_LEFT;
    CHECK(kvs_member_state(&out[0], 99999, 2000) == KVS_MEMBER_LEFT,
          "state: left stays left");

    kvs_test_str(kvs_member_state_name(KVS_MEMBER_FAILED), "failed",
                 "state: names");
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_addresses),
    KVS_TEST_CASE(kvs_test_encode),
    KVS_TEST_CASE(kvs_test_names),
    KVS_TEST_CASE(kvs_test_longest_list),
    KVS_TEST_CASE(kvs_test_shortest),
    KVS_TEST_CASE(kvs_test_parse_errors),
    KVS_TEST_CASE(kvs_test_filter),
    KVS_TEST_CASE(kvs_test_state),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    NULL, NULL, kvs_test_cases
};
