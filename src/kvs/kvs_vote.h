/*
 * Conflict votes: the rule that orders two versions of a key the version
 * rules cannot, because they share a timestamp and differ in their uuid.
 *
 * The cluster agent asks every alive member which version it holds and
 * casts each answer here, its own included.  The version most members
 * hold wins; a tie goes to the version held by the member with the
 * earliest joined_timestamp; if even that cannot decide, the greater
 * version (kvs_version_cmp: the greater uuid) wins.  Every step is a
 * total order, so every node that sees the same answers picks the same
 * winner whatever order they came in, and the cluster converges.
 */

#ifndef KVS_VOTE_H
#define KVS_VOTE_H

#include <stddef.h>
#include <stdint.h>

#include "kvs_record.h"

/* the versions of one key a vote tells apart; more are not counted */
#define KVS_VOTE_VERSIONS  16


typedef struct {
    kvs_version_t   version;
    size_t          votes;
    uint64_t        joined;              /* the earliest joined_timestamp
                                            among its holders */
    const char     *holder;              /* that member's id, as cast */
} kvs_vote_t;


typedef struct {
    kvs_vote_t      versions[KVS_VOTE_VERSIONS];
    size_t          nversions;
    size_t          voters;              /* every vote cast, counted or
                                            not */
} kvs_vote_tally_t;


void kvs_vote_init(kvs_vote_tally_t *t);

/*
 * Casts the vote of a member (its id, which must live as long as the
 * tally, and its joined_timestamp) for the version it holds.  Returns the
 * index of that version in t->versions, or -1 when the tally has no room
 * for another version.
 */
int kvs_vote_cast(kvs_vote_tally_t *t, const kvs_version_t *v,
    uint64_t joined, const char *holder);

/*
 * The index of the winning version, with the reason it won in *why, a
 * static sentence to follow "because"; -1 when nobody voted.
 */
int kvs_vote_decide(const kvs_vote_tally_t *t, const char **why);

#endif /* KVS_VOTE_H */
