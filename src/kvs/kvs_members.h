/*
 * Member lists as they travel between nodes: the JSON of /members/ and of
 * the gossip, join and leave exchanges, read and written in one place so
 * every node speaks the same shape:
 *
 *   [{"id":"node1","address":"127.0.0.1:8081","last_seen":ms,
 *     "joined_timestamp":ms,"state":"alive"}, ...]
 *
 * and the address a member is called at, taken apart in one place too.
 */

#ifndef KVS_MEMBERS_H
#define KVS_MEMBERS_H

#include <stddef.h>

#include "kvs_store.h"

/* The most a list may hold: a cluster larger than this is not gossiped. */
#define KVS_MEMBERS_MAX  1024

/* How far ahead of this node's clock a gossiped record may be stamped:
 * clocks kept by NTP differ by far less. */
#define KVS_MEMBERS_AHEAD_MS  60000

/* The longest id, and the longest address, a member may have (bytes). */
#define KVS_MEMBER_NAME_MAX  255

/*
 * The longest one member's JSON can be: an id and an address of
 * KVS_MEMBER_NAME_MAX bytes that need no escape (kvs_member_name_check()
 * refuses the bytes that would), two numbers of at most 20 digits and the
 * longest state, "failed": 622 bytes.
 */
#define KVS_MEMBER_JSON_MAX                                                   \
    (sizeof("{\"id\":\"\",\"address\":\"\",\"last_seen\":,"                   \
            "\"joined_timestamp\":,\"state\":\"failed\"}") - 1                \
     + 2 * 20 + 2 * KVS_MEMBER_NAME_MAX)

/*
 * The shortest one member's JSON can be: an id of one byte, an address of
 * three ("a:1"), two one-digit numbers, no state.  A list of len bytes
 * holds at most kvs_members_room(len) members, so a reader takes room by
 * the body, not for KVS_MEMBERS_MAX (a list of shorter, so bad, members
 * fills the room and is refused).
 */
#define KVS_MEMBER_JSON_MIN                                                   \
    (sizeof("{\"id\":\"\",\"address\":\"\",\"last_seen\":,"                   \
            "\"joined_timestamp\":}") - 1 + 6)

#define kvs_members_room(len)                                                 \
    ((len) / (KVS_MEMBER_JSON_MIN + 1) + 1 < KVS_MEMBERS_MAX                  \
     ? (len) / (KVS_MEMBER_JSON_MIN + 1) + 1 : KVS_MEMBERS_MAX)

/*
 * The longest list of KVS_MEMBERS_MAX members, brackets and commas
 * included: 637,954 bytes.  A body of a membership call (join, gossip,
 * leave) may be no larger, whatever max_json_size allows for values.
 */
#define KVS_MEMBERS_JSON_MAX                                                  \
    (2 + KVS_MEMBERS_MAX * (KVS_MEMBER_JSON_MAX + 1))

/*
 * A member's address, as seed_nodes, bind_address:port and member lists
 * write it: "host:port", "http://host:port" or "https://host:port".
 */
typedef struct {
    int              ssl;                /* https:// */
    int              ip;                 /* the host is an IPv4 or a
                                            bracketed IPv6 literal, no
                                            name: no SNI, and certificates
                                            name it by IP address */
    const char      *host;               /* not terminated; an IPv6
                                            literal keeps its brackets */
    size_t           host_len;
    const char      *authority;          /* "host:port", the scheme off */
    size_t           authority_len;
    int              port;               /* 1..65535 */
} kvs_address_t;


const char *kvs_member_state_name(int state);

/* Takes an address apart, pointing into s (len bytes, no NUL needed).
 * Returns 0, or -1 when the text is not of one of the three forms. */
int kvs_address_parse(const char *s, size_t len, kvs_address_t *a);

/* NULL when s, of len bytes, may be a member's id or address: not empty,
 * at most KVS_MEMBER_NAME_MAX bytes, UTF-8, and no byte that JSON must
 * escape (control bytes, quote, backslash), which would make a list longer
 * than KVS_MEMBERS_JSON_MAX.  Otherwise a static sentence saying what is
 * wrong. */
const char *kvs_member_name_check(const char *s, size_t len);

/* A member's state as of now: an alive record not refreshed for
 * failure_ms is failed, whatever the last gossip said. */
int kvs_member_state(const kvs_member_t *m, uint64_t now,
    uint64_t failure_ms);

/* Bytes kvs_members_encode() needs for these members, at most. */
size_t kvs_members_encode_size(const kvs_member_t *m, size_t n);
/* Writes the JSON array; returns its length. */
size_t kvs_members_encode(const kvs_member_t *m, size_t n, char *out);

/* Parses a JSON array of members into m (room for max); returns the count,
 * or -1 with a static sentence in *why. */
int kvs_members_parse(const char *json, size_t len, kvs_member_t *m,
    size_t max, const char **why);

/* Drops the records a node must not take from a peer: its own (news about
 * a node come only from that node), those last seen before oldest
 * (already removed here, or about to be) and those stamped after newest
 * (now + KVS_MEMBERS_AHEAD_MS: a clock ahead, or a lie, whose stamp would
 * beat every true one until the clock caught up).  Returns the count
 * left. */
size_t kvs_members_filter(kvs_member_t *m, size_t n, const char *self,
    uint64_t oldest, uint64_t newest);

#endif /* KVS_MEMBERS_H */
