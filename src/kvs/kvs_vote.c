/*
 * The conflict vote; see kvs_vote.h for the rule.
 */

#include <string.h>

#include "kvs_vote.h"


static int kvs_vote_before(const kvs_vote_t *a, const kvs_vote_t *b);


void
kvs_vote_init(kvs_vote_tally_t *t)
{
    memset(t, 0, sizeof(kvs_vote_tally_t));
}


int
kvs_vote_cast(kvs_vote_tally_t *t, const kvs_version_t *v, uint64_t joined,
    const char *holder)
{
    size_t       i;
    kvs_vote_t  *vote;

    t->voters++;

    for (i = 0; i < t->nversions; i++) {
        vote = &t->versions[i];

        if (kvs_version_cmp(&vote->version, v) == 0) {
            vote->votes++;

            if (joined < vote->joined) {
                vote->joined = joined;
                vote->holder = holder;
            }

            return (int) i;
        }
    }

    if (t->nversions == KVS_VOTE_VERSIONS) {
        return -1;
    }

    vote = &t->versions[t->nversions];
    vote->version = *v;
    vote->votes = 1;
    vote->joined = joined;
    vote->holder = holder;

    return (int) t->nversions++;
}


int
kvs_vote_decide(const kvs_vote_tally_t *t, const char **why)
{
    int                tie, same_joined;
    size_t             i;
    const kvs_vote_t  *best, *v;

    if (t->nversions == 0) {
        return -1;
    }

    best = &t->versions[0];

    for (i = 1; i < t->nversions; i++) {
        if (kvs_vote_before(&t->versions[i], best)) {
            best = &t->versions[i];
        }
    }

    /* the reason: the first rule that sets the winner apart from every
     * version as close to it as any */

    tie = 0;
    same_joined = 0;

    for (i = 0; i < t->nversions; i++) {
        v = &t->versions[i];

        if (v != best && v->votes == best->votes) {
            tie = 1;
            same_joined |= (v->joined == best->joined);
        }
    }

    *why = same_joined ? "its uuid is the greater"
           : tie ? "the member that joined first holds it"
           : "most members hold it";

    return (int) (best - t->versions);
}


/* whether a wins over b: more votes, then the earlier joiner, then the
 * greater version */

static int
kvs_vote_before(const kvs_vote_t *a, const kvs_vote_t *b)
{
    if (a->votes != b->votes) {
        return a->votes > b->votes;
    }

    if (a->joined != b->joined) {
        return a->joined < b->joined;
    }

    return kvs_version_cmp(&a->version, &b->version) > 0;
}
