/*
 * Member lists as they travel between nodes: the JSON of /members/ and of
 * the gossip, join and leave exchanges, read and written in one place so
 * every node speaks the same shape:
 *
 *   [{"id":"node1","address":"127.0.0.1:8081","last_seen":ms,
 *     "joined_timestamp":ms,"state":"alive"}, ...]
 */

#ifndef KVS_MEMBERS_H
#define KVS_MEMBERS_H

#include <stddef.h>

#include "kvs_store.h"

/* The most a list may hold: a cluster larger than this is not gossiped. */
#define KVS_MEMBERS_MAX  1024

const char *kvs_member_state_name(int state);

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
 * a node come only from that node) and those last seen before oldest
 * (already removed here, or about to be).  Returns the count left. */
size_t kvs_members_filter(kvs_member_t *m, size_t n, const char *self,
    uint64_t oldest);

#endif /* KVS_MEMBERS_H */
