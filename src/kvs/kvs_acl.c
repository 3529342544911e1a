/*
 * Permissions on keys; see kvs_acl.h for the model.
 *
 * A class is a shift into the 12 bits (owner 8, group 4, others 0), so a
 * decision is one shift and one mask.  The hex digits are read and written
 * here rather than with strtol() or printf(), which would take blanks,
 * signs, "0x" and locales that a client's three digits must not have.
 */

#include <string.h>

#include "kvs_acl.h"


/* where each class's four bits start, by kvs_acl_class_e */
static const unsigned  kvs_acl_shift[] = { 8, 4, 0 };

/* what each of the nine POSIX bits gives in CDWR, others' x first */
static const uint16_t  kvs_acl_posix[] = {
    0x000, 0x00e, 0x001,
    0x000, 0x0e0, 0x010,
    0x000, 0xe00, 0x100
};


static int kvs_acl_hex(char c);
static int kvs_acl_is_zero(const uint8_t *uuid);


int
kvs_perm_parse(const char *s, size_t len, uint16_t *perm)
{
    int       d;
    size_t    i;
    uint16_t  v;

    if (len != KVS_PERM_LEN) {
        return -1;
    }

    v = 0;

    for (i = 0; i < len; i++) {
        d = kvs_acl_hex(s[i]);
        if (d < 0) {
            return -1;
        }

        v = (uint16_t) ((v << 4) | d);
    }

    *perm = v;

    return 0;
}


void
kvs_perm_format(uint16_t perm, char out[KVS_PERM_LEN])
{
    static const char  hex[] = "0123456789abcdef";

    out[0] = hex[(perm >> 8) & 0xf];
    out[1] = hex[(perm >> 4) & 0xf];
    out[2] = hex[perm & 0xf];
}


uint16_t
kvs_perm_from_posix(uint16_t mode)
{
    size_t    i;
    uint16_t  perm;

    perm = 0;

    for (i = 0; i < sizeof(kvs_acl_posix) / sizeof(kvs_acl_posix[0]); i++) {
        if (mode & (1u << i)) {
            perm |= kvs_acl_posix[i];
        }
    }

    return perm;
}


kvs_acl_class_e
kvs_acl_class(const uint8_t *user, const uint8_t *owner,
    const uint8_t *group, int in_group)
{
    if (user != NULL && !kvs_acl_is_zero(owner)
        && memcmp(user, owner, KVS_UUID_LEN) == 0)
    {
        return KVS_ACL_OWNER;
    }

    if (in_group && !kvs_acl_is_zero(group)) {
        return KVS_ACL_GROUP;
    }

    return KVS_ACL_OTHERS;
}


int
kvs_acl_allows(uint16_t perm, kvs_acl_class_e cls, unsigned right)
{
    if ((unsigned) cls > KVS_ACL_OTHERS
        || (right != KVS_PERM_C && right != KVS_PERM_D
            && right != KVS_PERM_W && right != KVS_PERM_R))
    {
        return 0;
    }

    return ((perm >> kvs_acl_shift[cls]) & right) != 0;
}


int
kvs_acl_decide(const kvs_acl_subject_t *who, const kvs_record_hdr_t *hdr,
    int in_group, unsigned right)
{
    kvs_acl_class_e  cls;

    if (who->admin) {
        /* a bad right is still refused: it is a caller's bug, not a
         * right anyone holds */
        return kvs_acl_allows(0xfff, KVS_ACL_OWNER, right);
    }

    cls = kvs_acl_class(who->user, hdr->owner, hdr->group, in_group);

    return kvs_acl_allows(hdr->permissions, cls, right);
}


size_t
kvs_key_parent(const char *path, size_t len)
{
    size_t  i;

    i = len;

    while (i > 0 && path[i - 1] != '/') {
        i--;
    }

    /* drop the separator, with any slashes just before it */
    while (i > 0 && path[i - 1] == '/') {
        i--;
    }

    return i;
}


static int
kvs_acl_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }

    return -1;
}


static int
kvs_acl_is_zero(const uint8_t *uuid)
{
    size_t  i;

    for (i = 0; i < KVS_UUID_LEN; i++) {
        if (uuid[i] != 0) {
            return 0;
        }
    }

    return 1;
}
