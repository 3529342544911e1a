/*
 * Unit tests of kvs_vote.c: the majority wins, a tie goes to the version
 * of the earliest joiner, and then to the greater uuid, each with its
 * reason; the winner does not depend on the order the answers came in,
 * since every node must pick the same one; a full tally still counts its
 * voters.
 */

#include <stdint.h>
#include <string.h>

#include "kvs_vote.h"
#include "kvs_test.h"

#define TS  1800000000000ULL


/* the version of a conflict: one timestamp, the uuid all u */

static kvs_version_t
kvs_test_version(uint8_t u)
{
    kvs_version_t  v;

    v.timestamp = TS;
    memset(v.uuid, u, KVS_UUID_LEN);

    return v;
}


typedef struct {
    uint8_t      uuid;
    uint64_t     joined;
    const char  *node;
} kvs_test_ballot_t;


/* casts n ballots in their order; returns the winner's uuid byte, 0 when
 * nobody won */

static uint8_t
kvs_test_vote(const kvs_test_ballot_t *b, size_t n, kvs_vote_tally_t *t,
    const char **why)
{
    int            i;
    size_t         k;
    kvs_version_t  v;

    kvs_vote_init(t);

    for (k = 0; k < n; k++) {
        v = kvs_test_version(b[k].uuid);
        (void) kvs_vote_cast(t, &v, b[k].joined, b[k].node);
    }

    *why = NULL;
    i = kvs_vote_decide(t, why);

    return i < 0 ? 0 : t->versions[i].version.uuid[0];
}


/* every order of b[k..n), by swapping in place: want wins in each */

static int
kvs_test_permute(kvs_test_ballot_t *b, size_t k, size_t n, uint8_t want)
{
    int                ok;
    size_t             i;
    const char        *why;
    kvs_test_ballot_t  tmp;
    kvs_vote_tally_t   t;

    if (k == n) {
        return kvs_test_vote(b, n, &t, &why) == want;
    }

    for (i = k; i < n; i++) {
        tmp = b[k];
        b[k] = b[i];
        b[i] = tmp;

        ok = kvs_test_permute(b, k + 1, n, want);

        b[i] = b[k];
        b[k] = tmp;

        if (!ok) {
            return 0;
        }
    }

    return 1;
}


static int
kvs_test_any_order(const kvs_test_ballot_t *b, size_t n, uint8_t want)
{
    kvs_test_ballot_t  copy[8];

    memcpy(copy, b, n * sizeof(kvs_test_ballot_t));

    return kvs_test_permute(copy, 0, n, want);
}


static void
kvs_test_majority(void)
{
    int                i;
    const char        *why;
    kvs_vote_tally_t   t;

    static const kvs_test_ballot_t  b[] = {
        { 0x11, 100, "n1" }, { 0x22, 200, "n2" }, { 0x22, 300, "n3" },
        { 0x33, 50, "n4" }
    };

    CHECK(kvs_test_vote(b, 4, &t, &why) == 0x22,
          "majority: the version two members hold wins over two held by "
          "one each");
    kvs_test_str(why, "most members hold it", "majority: the reason");
    CHECK(t.voters == 4 && t.nversions == 3,
          "majority: four voters, three versions");

    i = kvs_vote_decide(&t, &why);
    CHECK(i >= 0 && t.versions[i].votes == 2 && t.versions[i].joined == 200
          && strcmp(t.versions[i].holder, "n2") == 0,
          "majority: the winner's earliest holder is named");

    CHECK(kvs_test_any_order(b, 4, 0x22),
          "majority: the same winner in every order of the answers");
}


static void
kvs_test_joined(void)
{
    int                i;
    const char        *why;
    kvs_vote_tally_t   t;

    /* two against two: 0x11's holders joined at 300 and 400, 0x99's at
     * 200 and 500; the greater uuid does not count before the joiner */

    static const kvs_test_ballot_t  b[] = {
        { 0x11, 300, "n1" }, { 0x99, 500, "n2" }, { 0x11, 400, "n3" },
        { 0x99, 200, "n4" }
    };

    CHECK(kvs_test_vote(b, 4, &t, &why) == 0x99,
          "tie: the version of the member that joined first wins");
    kvs_test_str(why, "the member that joined first holds it",
                 "tie: the reason is the earliest joiner");

    i = kvs_vote_decide(&t, &why);
    CHECK(i >= 0 && t.versions[i].joined == 200
          && strcmp(t.versions[i].holder, "n4") == 0,
          "tie: the earliest joiner is named, though it answered last");

    CHECK(kvs_test_any_order(b, 4, 0x99),
          "tie: the same winner in every order of the answers");
}


static void
kvs_test_uuid(void)
{
    const char        *why;
    kvs_vote_tally_t   t;

    static const kvs_test_ballot_t  b[] = {
        { 0x77, 100, "n1" }, { 0x78, 100, "n2" }, { 0x10, 90, "n3" },
        { 0x10, 300, "n4" }
    };

    /* one each, both joined at 100: the greater uuid */

    CHECK(kvs_test_vote(b, 2, &t, &why) == 0x78,
          "tie of joiners: the greater uuid wins");
    kvs_test_str(why, "its uuid is the greater",
                 "tie of joiners: the reason is the uuid");
    CHECK(kvs_test_any_order(b, 2, 0x78),
          "tie of joiners: the same winner in either order");

    /* a third version held by two outvotes both */

    CHECK(kvs_test_vote(b, 4, &t, &why) == 0x10,
          "a version held by two wins over the tied ones");
    kvs_test_str(why, "most members hold it",
                 "and the reason is the majority again");

    /* three tied at one vote: the earliest joiner, though two others
     * share a joined_timestamp */

    CHECK(kvs_test_vote(b, 3, &t, &why) == 0x10,
          "three tied: the earliest joiner wins");
    kvs_test_str(why, "the member that joined first holds it",
                 "three tied: the reason is the earliest joiner");
    CHECK(kvs_test_any_order(b, 3, 0x10),
          "three tied: the same winner in every order");
}


static void
kvs_test_edges(void)
{
    int                i, rc;
    const char        *why;
    kvs_version_t      v;
    kvs_vote_tally_t   t;

    kvs_vote_init(&t);
    why = "untouched";
    CHECK(kvs_vote_decide(&t, &why) == -1,
          "no votes: no winner");

    /* more versions than the tally holds: the rest are not counted, but
     * their voters are */

    kvs_vote_init(&t);
    rc = 0;

    for (i = 0; i < KVS_VOTE_VERSIONS + 2; i++) {
        v = kvs_test_version((uint8_t) (i + 1));
        rc = kvs_vote_cast(&t, &v, 100, "n");
    }

    CHECK(rc == -1 && t.nversions == KVS_VOTE_VERSIONS
          && t.voters == KVS_VOTE_VERSIONS + 2,
          "full: a version past KVS_VOTE_VERSIONS is not counted, its voter "
          "is");

    v = kvs_test_version(1);
    CHECK(kvs_vote_cast(&t, &v, 100, "n") == 0 && t.versions[0].votes == 2,
          "full: a version already counted still takes votes");

    i = kvs_vote_decide(&t, &why);
    CHECK(i == 0, "full: and wins");

    /* versions of other timestamps are apart, the newer the greater */

    kvs_vote_init(&t);
    v = kvs_test_version(0x01);
    v.timestamp++;
    (void) kvs_vote_cast(&t, &v, 100, "a");
    v = kvs_test_version(0xff);
    (void) kvs_vote_cast(&t, &v, 100, "b");
    i = kvs_vote_decide(&t, &why);
    CHECK(i == 0, "the greater version by kvs_version_cmp: the later "
                  "timestamp before the uuid");
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_majority),
    KVS_TEST_CASE(kvs_test_joined),
    KVS_TEST_CASE(kvs_test_uuid),
    KVS_TEST_CASE(kvs_test_edges),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    NULL, NULL, kvs_test_cases
};
