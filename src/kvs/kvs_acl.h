/*
 * Permissions on keys: who may read, overwrite, delete a key, or create
 * keys below it, decided from plain data.
 *
 * Every data record carries an owner (a user uuid), a group (a group uuid)
 * and 12 permission bits, three classes of four: owner (bits 8..11), group
 * (4..7) and others (0..3), each C (create, 8), D (delete, 4), W (write, 2)
 * and R (read, 1).  They are written as three hex digits, owner first:
 * "f31" is owner CDWR, group WR, others R.  A caller falls into exactly
 * one class, as in POSIX: the owner's bits alone count for the owner, even
 * when the others may do more.  Members of the group admin may do
 * everything.
 *
 * Creating a key needs C on its nearest existing ancestor (team for
 * team/a/b): the caller walks up with kvs_key_parent() and asks
 * kvs_acl_decide() for KVS_PERM_C on the first ancestor it finds; with
 * none, the configuration's top_level_create decides (any, or admins).
 * The caller also looks up group membership, so nothing here reads the
 * store.
 */

#ifndef KVS_ACL_H
#define KVS_ACL_H

#include <stddef.h>
#include <stdint.h>

#include "kvs_record.h"

#define KVS_PERM_C        8
#define KVS_PERM_D        4
#define KVS_PERM_W        2
#define KVS_PERM_R        1

/* the hex digits of a permission's text, owner first */
#define KVS_PERM_LEN      3

/* the shortest password a user may have, the first administrator's too */
#define KVS_PASSWORD_MIN  8


typedef enum {
    KVS_ACL_OWNER = 0,
    KVS_ACL_GROUP,
    KVS_ACL_OTHERS
} kvs_acl_class_e;


/* who asks: user is a 16-byte uuid, or NULL when anonymous */
typedef struct {
    const uint8_t  *user;
    unsigned        admin:1;      /* a member of the group admin */
} kvs_acl_subject_t;


/*
 * Reads exactly three hex digits, either case, into *perm (0..0xfff).
 * Returns 0, or -1 for anything else: a length other than 3, a sign, a
 * blank, a "0x".  It reads client bytes (?meta bodies) as they are.
 */
int kvs_perm_parse(const char *s, size_t len, uint16_t *perm);

/* Writes the three lowercase hex digits of perm's 12 bits, no NUL. */
void kvs_perm_format(uint16_t perm, char out[KVS_PERM_LEN]);

/*
 * What POSIX-style bits (0744, KVS_DEFAULT_PERMISSIONS, as stored before
 * permissions meant anything) mean in CDWR, so that no key changes who
 * may touch it: per class, r gives R, and w gives W, D and C, since a
 * client who could overwrite a key could as well delete it and write keys
 * below it; x means nothing for a key.  Bits above 0777 are ignored.  So
 * 0744 is 0xf11, 0700 is 0xf00, 0644 and 0755 are 0xf11, 0666 is 0xfff.
 */
uint16_t kvs_perm_from_posix(uint16_t mode);

/*
 * The class a user falls into for a key of this owner and group (16-byte
 * uuids).  An all-zero owner is no owner and matches nobody, so keys
 * written while auth was off are reached through "others" alone; an
 * all-zero group likewise matches nobody.  in_group says whether the user
 * is a member of group: the caller looks it up.  A NULL user is anonymous
 * and falls into "others".
 */
kvs_acl_class_e kvs_acl_class(const uint8_t *user, const uint8_t *owner,
    const uint8_t *group, int in_group);

/*
 * 1 when the bits of perm for the class cls grant right, one of
 * KVS_PERM_C, D, W or R; 0 otherwise, and for anything that is not one of
 * those four bits or not a class.
 */
int kvs_acl_allows(uint16_t perm, kvs_acl_class_e cls, unsigned right);

/*
 * The decision for one request on one record: 1 when who may use right
 * (one KVS_PERM_* bit) on the key hdr describes, 0 when not.  An admin may
 * do everything; everyone else gets the bits of their class.  in_group
 * says whether who->user is a member of hdr->group.
 */
int kvs_acl_decide(const kvs_acl_subject_t *who, const kvs_record_hdr_t *hdr,
    int in_group, unsigned right);

/*
 * The length of the parent key of a path: 6 ("team/a") for team/a/b, 0
 * for team, which has none.  A key kvs_key_check() takes has no leading
 * or trailing '/' and no empty segment, and its parent is the path before
 * its last '/'.  Other input is not refused: a run of slashes counts as
 * one separator, so the result never ends in '/' (a/ and a//b have the
 * parent a, /a has none) and is always shorter than len, and a caller
 * walking up the ancestors always stops.
 */
size_t kvs_key_parent(const char *path, size_t len);

#endif /* KVS_ACL_H */
