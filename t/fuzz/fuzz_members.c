/*
 * kvs_members_parse(): the member list of a peer's join, gossip or leave
 * body.  A list taken has at most max members, each with an id and an
 * address that kvs_member_name_check() takes, a state of the three and
 * times a double holds exactly.  Written back by kvs_members_encode(), it
 * fits the size measured for it and the cap a membership body is held to
 * (KVS_MEMBER_JSON_MAX a member), is JSON, and parses to the same list.
 */

#include <string.h>

#include "kvs_json.h"
#include "kvs_members.h"
#include "kvs_fuzz.h"


/* small, so that inputs of a few KiB reach "the member list is too long" */
#define KVS_FUZZ_MEMBERS  8


static kvs_member_t  kvs_fuzz_m[KVS_FUZZ_MEMBERS];
static kvs_member_t  kvs_fuzz_again[KVS_FUZZ_MEMBERS];


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int            n, i;
    char          *json;
    size_t         at, room, len;
    const char    *why;
    kvs_member_t  *m, *a;

    why = NULL;
    n = kvs_members_parse((const char *) data, size, kvs_fuzz_m,
                          KVS_FUZZ_MEMBERS, &why);

    if (n < 0) {
        FUZZ_CHECK(n == -1 && why != NULL && why[0] != '\0',
                   "a list refused returns -1 and says why");
        return 0;
    }

    FUZZ_CHECK(n <= KVS_FUZZ_MEMBERS, "a list taken fits max");

    for (i = 0; i < n; i++) {
        m = &kvs_fuzz_m[i];

        FUZZ_CHECK(kvs_member_name_check(m->node_id, strlen(m->node_id))
                   == NULL
                   && kvs_member_name_check(m->address, strlen(m->address))
                      == NULL,
                   "a member taken has a good id and address");
        FUZZ_CHECK(m->state >= KVS_MEMBER_ALIVE
                   && m->state <= KVS_MEMBER_LEFT,
                   "a member taken is alive, failed or left");
        FUZZ_CHECK(m->last_seen <= (1ULL << 53)
                   && m->joined_timestamp <= (1ULL << 53),
                   "a member's times are exact in a double");
    }

    room = kvs_members_encode_size(kvs_fuzz_m, (size_t) n);
    json = malloc(room);
    FUZZ_CHECK(json != NULL, "memory");

    len = kvs_members_encode(kvs_fuzz_m, (size_t) n, json);

    FUZZ_CHECK(len < room, "the list fits the room measured for it");
    FUZZ_CHECK(len <= 2 + (size_t) n * (KVS_MEMBER_JSON_MAX + 1),
               "each member takes at most KVS_MEMBER_JSON_MAX bytes");
    FUZZ_CHECK(kvs_json_check((const uint8_t *) json, len, &at, &why) == 0,
               "the list written is JSON");

    FUZZ_CHECK(kvs_members_parse(json, len, kvs_fuzz_again, KVS_FUZZ_MEMBERS,
                                 &why) == n,
               "the list written parses to as many members");

    for (i = 0; i < n; i++) {
        m = &kvs_fuzz_m[i];
        a = &kvs_fuzz_again[i];

        FUZZ_CHECK(strcmp(m->node_id, a->node_id) == 0
                   && strcmp(m->address, a->address) == 0
                   && m->last_seen == a->last_seen
                   && m->joined_timestamp == a->joined_timestamp
                   && m->state == a->state,
                   "the list written parses to the same members");
    }

    free(json);

    return 0;
}
