/*
 * Unit tests for src/kvs/kvs_acl.c, printed as TAP.
 *
 * The decision is checked as a table: for each permission value, what
 * each class may do, spelled out as the letters it holds ("CD-R"), and
 * asked of kvs_acl_decide() right by right with a user who is the owner,
 * a member of the group, or neither.  kvs_perm_from_posix() is compared
 * over every mode 0..0777 with the rule written another way, from the
 * mode's "rwxr--r--" text.  It exits non-zero when any check fails.
 */

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "kvs_acl.h"

#include "kvs_test.h"


#define S(s)  s, sizeof(s) - 1


typedef struct {
    uint16_t     perm;
    const char  *rights[3];         /* owner, group, others: "CDWR" */
} kvs_test_perm_t;


typedef struct {
    const char  *path;
    size_t       parent;
    const char  *desc;
} kvs_test_parent_t;


static const uint8_t  kvs_test_alice[KVS_UUID_LEN] = { 0xa1, 1, 2, 3 };
static const uint8_t  kvs_test_bob[KVS_UUID_LEN] = { 0xb0, 1, 2, 3 };
static const uint8_t  kvs_test_team[KVS_UUID_LEN] = { 0x7e, 0xa3 };
static const uint8_t  kvs_test_zero[KVS_UUID_LEN];

static const char     kvs_test_letters[] = "CDWR";
static const unsigned kvs_test_rights[] = {
    KVS_PERM_C, KVS_PERM_D, KVS_PERM_W, KVS_PERM_R
};


/* a key of alice's, in the group team, with these bits */

static void
kvs_test_hdr(kvs_record_hdr_t *hdr, uint16_t perm)
{
    memset(hdr, 0, sizeof(kvs_record_hdr_t));
    hdr->permissions = perm;
    memcpy(hdr->owner, kvs_test_alice, KVS_UUID_LEN);
    memcpy(hdr->group, kvs_test_team, KVS_UUID_LEN);
}


/* what who may do, as "CDWR" with a '-' for each right refused */

static void
kvs_test_spell(const kvs_acl_subject_t *who, const kvs_record_hdr_t *hdr,
    int in_group, char out[5])
{
    size_t  i;

    for (i = 0; i < 4; i++) {
        out[i] = kvs_acl_decide(who, hdr, in_group, kvs_test_rights[i])
                 ? kvs_test_letters[i] : '-';
    }

    out[4] = '\0';
}


static void
kvs_test_bits(void)
{
    CHECK(KVS_PERM_C == 8 && KVS_PERM_D == 4 && KVS_PERM_W == 2
          && KVS_PERM_R == 1, "bits: C 8, D 4, W 2, R 1");
    CHECK(kvs_acl_allows(0x800, KVS_ACL_OWNER, KVS_PERM_C)
          && !kvs_acl_allows(0x800, KVS_ACL_GROUP, KVS_PERM_C)
          && kvs_acl_allows(0x080, KVS_ACL_GROUP, KVS_PERM_C)
          && kvs_acl_allows(0x008, KVS_ACL_OTHERS, KVS_PERM_C),
          "bits: owner 8..11, group 4..7, others 0..3");
}


static void
kvs_test_table(void)
{
    char               got[5], desc[80];
    size_t             i;
    kvs_record_hdr_t   hdr;
    kvs_acl_subject_t  owner, member, other;

    static const kvs_test_perm_t  perms[] = {
        { 0x000, { "----", "----", "----" } },
        { 0xfff, { "CDWR", "CDWR", "CDWR" } },
        { 0xf31, { "CDWR", "--WR", "---R" } },
        { 0x8ce, { "C---", "CD--", "CDW-" } },
        { 0xf11, { "CDWR", "---R", "---R" } },
        { 0x124, { "---R", "--W-", "-D--" } },
        { 0x421, { "-D--", "--W-", "---R" } },
        { 0x0f0, { "----", "CDWR", "----" } },
        { 0x00f, { "----", "----", "CDWR" } },
        { 0x011, { "----", "---R", "---R" } },
        { 0xa5c, { "C-W-", "-D-R", "CD--" } },
        { 0x7b3, { "-DWR", "C-WR", "--WR" } }
    };

    owner.user = kvs_test_alice;
    owner.admin = 0;
    member.user = kvs_test_bob;
    member.admin = 0;
    other.user = kvs_test_bob;
    other.admin = 0;

    for (i = 0; i < sizeof(perms) / sizeof(perms[0]); i++) {
        kvs_test_hdr(&hdr, perms[i].perm);

        kvs_test_spell(&owner, &hdr, 0, got);
        snprintf(desc, sizeof(desc), "table: 0x%03x, owner",
                 (unsigned) perms[i].perm);
        kvs_test_str(got, perms[i].rights[0], desc);

        kvs_test_spell(&member, &hdr, 1, got);
        snprintf(desc, sizeof(desc), "table: 0x%03x, group member",
                 (unsigned) perms[i].perm);
        kvs_test_str(got, perms[i].rights[1], desc);

        kvs_test_spell(&other, &hdr, 0, got);
        snprintf(desc, sizeof(desc), "table: 0x%03x, others",
                 (unsigned) perms[i].perm);
        kvs_test_str(got, perms[i].rights[2], desc);
    }
}


static void
kvs_test_classes(void)
{
    kvs_record_hdr_t   hdr;
    kvs_acl_subject_t  who;

    CHECK(kvs_acl_class(kvs_test_alice, kvs_test_alice, kvs_test_team, 0)
          == KVS_ACL_OWNER, "class: the owner");
    CHECK(kvs_acl_class(kvs_test_alice, kvs_test_alice, kvs_test_team, 1)
          == KVS_ACL_OWNER, "class: the owner in the group is the owner");
    CHECK(kvs_acl_class(kvs_test_bob, kvs_test_alice, kvs_test_team, 1)
          == KVS_ACL_GROUP, "class: a member of the group");
    CHECK(kvs_acl_class(kvs_test_bob, kvs_test_alice, kvs_test_team, 0)
          == KVS_ACL_OTHERS, "class: neither");
    CHECK(kvs_acl_class(NULL, kvs_test_alice, kvs_test_team, 0)
          == KVS_ACL_OTHERS, "class: anonymous is others");
    CHECK(kvs_acl_class(kvs_test_zero, kvs_test_zero, kvs_test_team, 0)
          == KVS_ACL_OTHERS, "class: a zero owner matches not even a zero "
          "user");
    CHECK(kvs_acl_class(kvs_test_bob, kvs_test_zero, kvs_test_zero, 1)
          == KVS_ACL_OTHERS, "class: a zero group matches no member");

    /* POSIX: the owner's bits alone count for the owner */
    kvs_test_hdr(&hdr, 0x011);
    who.user = kvs_test_alice;
    who.admin = 0;
    CHECK(!kvs_acl_decide(&who, &hdr, 1, KVS_PERM_R),
          "class: an owner without R is refused though others have R");

    who.user = kvs_test_bob;
    kvs_test_hdr(&hdr, 0xf01);
    CHECK(!kvs_acl_decide(&who, &hdr, 1, KVS_PERM_R)
          && kvs_acl_decide(&who, &hdr, 0, KVS_PERM_R),
          "class: a member without R is refused, a stranger may read");

    /* a key written while auth was off: no owner, no group */
    hdr.permissions = 0xf11;
    memset(hdr.owner, 0, KVS_UUID_LEN);
    memset(hdr.group, 0, KVS_UUID_LEN);
    who.user = kvs_test_zero;
    CHECK(kvs_acl_decide(&who, &hdr, 1, KVS_PERM_R)
          && !kvs_acl_decide(&who, &hdr, 1, KVS_PERM_W),
          "class: an ownerless key is others' alone, even for a zero user");
}


static void
kvs_test_admin(void)
{
    char               got[5];
    kvs_record_hdr_t   hdr;
    kvs_acl_subject_t  who;

    who.user = kvs_test_bob;
    who.admin = 1;

    kvs_test_hdr(&hdr, 0x000);
    kvs_test_spell(&who, &hdr, 0, got);
    kvs_test_str(got, "CDWR", "admin: everything on 0x000 of another");

    memset(hdr.owner, 0, KVS_UUID_LEN);
    memset(hdr.group, 0, KVS_UUID_LEN);
    kvs_test_spell(&who, &hdr, 0, got);
    kvs_test_str(got, "CDWR", "admin: everything on an ownerless key");

    who.user = NULL;
    kvs_test_spell(&who, &hdr, 0, got);
    kvs_test_str(got, "CDWR", "admin: the flag decides, not the uuid");

    CHECK(!kvs_acl_decide(&who, &hdr, 0, 0)
          && !kvs_acl_decide(&who, &hdr, 0, KVS_PERM_R | KVS_PERM_W)
          && !kvs_acl_decide(&who, &hdr, 0, 16),
          "admin: not a right is refused even to an admin");
}


static void
kvs_test_allows_bad(void)
{
    CHECK(!kvs_acl_allows(0xfff, KVS_ACL_OWNER, 0),
          "allows: no right is refused");
    CHECK(!kvs_acl_allows(0xfff, KVS_ACL_OWNER, KVS_PERM_R | KVS_PERM_W),
          "allows: two rights at once are refused");
    CHECK(!kvs_acl_allows(0xfff, KVS_ACL_OTHERS, 0x10),
          "allows: a bit past the class is refused");
    CHECK(!kvs_acl_allows(0xfff, (kvs_acl_class_e) 3, KVS_PERM_R),
          "allows: not a class is refused");
    CHECK(!kvs_acl_allows(0xf000, KVS_ACL_OWNER, KVS_PERM_R)
          && !kvs_acl_allows(0xf000, KVS_ACL_OWNER, KVS_PERM_C),
          "allows: bits above the 12 grant nothing");
}


static void
kvs_test_parse(void)
{
    char      out[KVS_PERM_LEN + 1];
    size_t    i;
    uint16_t  perm;
    unsigned  v;

    static const char  *bad[] = {
        "f3", "f311", "g00", " f31", "f31 ", "0xf", "", "-11", "+11",
        "f:1", "f/1", "@11", "`11", "G11", "0744"
    };

    perm = 0;
    CHECK(kvs_perm_parse(S("f31"), &perm) == 0 && perm == 0xf31,
          "parse: f31 is 0xf31");
    CHECK(kvs_perm_parse(S("F3a"), &perm) == 0 && perm == 0xf3a,
          "parse: upper case");
    CHECK(kvs_perm_parse(S("000"), &perm) == 0 && perm == 0,
          "parse: 000");
    CHECK(kvs_perm_parse(S("fFf"), &perm) == 0 && perm == 0xfff,
          "parse: mixed case fff");
    CHECK(kvs_perm_parse("8ce", 3, &perm) == 0 && perm == 0x8ce,
          "parse: 8ce");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        perm = 0x123;
        kvs_test_ok(kvs_perm_parse(bad[i], strlen(bad[i]), &perm) == -1
                    && perm == 0x123, bad[i][0] ? bad[i] : "(empty)");
    }

    CHECK(kvs_perm_parse("f3\0", 3, &perm) == -1,
          "parse: a NUL is not a digit");

    out[KVS_PERM_LEN] = '\0';

    kvs_perm_format(0xf31, out);
    kvs_test_str(out, "f31", "format: 0xf31");
    kvs_perm_format(0xabc, out);
    kvs_test_str(out, "abc", "format: lower case");
    kvs_perm_format(0x005, out);
    kvs_test_str(out, "005", "format: leading zeros");
    kvs_perm_format(0xf123, out);
    kvs_test_str(out, "123", "format: 12 bits only");

    /* every value, both ways */
    for (v = 0; v <= 0xfff; v++) {
        kvs_perm_format((uint16_t) v, out);

        if (kvs_perm_parse(out, KVS_PERM_LEN, &perm) != 0 || perm != v) {
            break;
        }
    }

    CHECK(v == 0x1000, "round trip: every value formats and parses back");
}


/* "rwxr--r--" for 0744: the POSIX text of a mode */

static void
kvs_test_mode_text(unsigned mode, char out[10])
{
    int  i;

    for (i = 0; i < 9; i++) {
        out[i] = (mode & (0400u >> i)) ? "rwx"[i % 3] : '-';
    }

    out[9] = '\0';
}


static void
kvs_test_from_posix(void)
{
    int       i;
    char      text[10];
    unsigned  mode, want, cls;

    CHECK(kvs_perm_from_posix(0744) == 0xf11, "from_posix: 0744 is f11");
    CHECK(kvs_perm_from_posix(0700) == 0xf00, "from_posix: 0700 is f00");
    CHECK(kvs_perm_from_posix(0644) == 0xf11, "from_posix: 0644 is f11");
    CHECK(kvs_perm_from_posix(0755) == 0xf11, "from_posix: 0755 is f11");
    CHECK(kvs_perm_from_posix(0666) == 0xfff, "from_posix: 0666 is fff");
    CHECK(kvs_perm_from_posix(0222) == 0xeee, "from_posix: 0222 is eee");
    CHECK(kvs_perm_from_posix(0111) == 0x000, "from_posix: 0111 is 000");
    CHECK(kvs_perm_from_posix(07744) == 0xf11,
          "from_posix: setuid, setgid and sticky are ignored");
    CHECK(kvs_perm_from_posix(0744) == KVS_DEFAULT_PERMISSIONS,
          "from_posix: the old default 0744 is the new default");

    for (mode = 0; mode <= 0777; mode++) {
        kvs_test_mode_text(mode, text);
        want = 0;

        for (i = 0; i < 9; i++) {
            cls = 2 - (unsigned) i / 3;

            if (text[i] == 'r') {
                want |= (unsigned) KVS_PERM_R << (4 * cls);

            } else if (text[i] == 'w') {
                want |= (unsigned) (KVS_PERM_W | KVS_PERM_D | KVS_PERM_C)
                        << (4 * cls);
            }
        }

        if (kvs_perm_from_posix((uint16_t) mode) != want) {
            printf("#   mode %04o (%s): got 0x%03x, want 0x%03x\n", mode,
                   text, (unsigned) kvs_perm_from_posix((uint16_t) mode),
                   want);
            break;
        }
    }

    CHECK(mode == 01000, "from_posix: every mode 0..0777 as its rwx text "
          "says");
}


static void
kvs_test_parent(void)
{
    char    desc[80];
    size_t  i, len, n;

    static const kvs_test_parent_t  cases[] = {
        { "team/a/b", 6, "team/a/b -> team/a" },
        { "team/a", 4, "team/a -> team" },
        { "team", 0, "team has none" },
        { "t", 0, "a one-byte key has none" },
        { "a/b", 1, "a/b -> a" },
        { "caf\xc3\xa9/x", 5, "UTF-8 segment kept whole" },
        { "", 0, "the empty path has none" },
        { "a/", 1, "a trailing slash: a/ -> a" },
        { "a//b", 1, "an empty segment: a//b -> a" },
        { "a///", 1, "a run of slashes at the end -> a" },
        { "/a", 0, "a leading slash: /a has none" },
        { "/", 0, "a lone slash has none" },
        { "//a/b", 3, "//a/b -> //a" }
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        len = strlen(cases[i].path);
        n = kvs_key_parent(cases[i].path, len);
        snprintf(desc, sizeof(desc), "parent: %s (got %lu)", cases[i].desc,
                 (unsigned long) n);
        CHECK(n == cases[i].parent, desc);
    }

    /* the caller's walk up: team/a/b, team/a, team, then none */
    len = sizeof("team/a/b") - 1;
    n = 0;

    while (len > 0) {
        len = kvs_key_parent("team/a/b", len);
        n++;
    }

    CHECK(n == 3, "parent: a walk up team/a/b takes three steps");
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_bits),
    KVS_TEST_CASE(kvs_test_table),
    KVS_TEST_CASE(kvs_test_classes),
    KVS_TEST_CASE(kvs_test_admin),
    KVS_TEST_CASE(kvs_test_allows_bad),
    KVS_TEST_CASE(kvs_test_parse),
    KVS_TEST_CASE(kvs_test_from_posix),
    KVS_TEST_CASE(kvs_test_parent),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    NULL, NULL, kvs_test_cases
};
