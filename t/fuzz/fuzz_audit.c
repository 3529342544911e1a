/*
 * kvs_audit_parse() and kvs_audit_verify_step(): the entries of an audit
 * log that may have been edited behind the node's back.  The input is
 * taken twice:
 *
 *   as an entry: the parser takes it or names what is wrong, never reads
 *   past it, and what it takes ends with its hmac right after the bytes
 *   the hmac covers; verification of it, under any secret, gives a
 *   verdict, and a good verdict only to bytes the parser takes;
 *
 *   as the user and object of an event: kvs_audit_encode() makes an entry
 *   the parser takes, whose strings are the input's escaped, which
 *   verifies as the first of a chain, and which with any byte changed
 *   verifies no longer.
 */

#include <stdlib.h>
#include <string.h>

#include "kvs_audit.h"
#include "kvs_fuzz.h"


static const uint8_t  kvs_fuzz_secret[] = "fuzz-audit-secret-of-32-bytes!!!";
static kvs_hmac_key_t  *kvs_fuzz_mac;


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                key[KVS_AUDIT_KEY_LEN];
    size_t              len, half, at;
    uint64_t            seq, ts;
    uint8_t            *out;
    const char         *why;
    kvs_audit_head_t    head;
    kvs_audit_entry_t   e;
    kvs_audit_event_t   ev;
    kvs_audit_verify_t  v;

    /* made once: libFuzzer runs the target for ever in one process */
    if (kvs_fuzz_mac == NULL) {
        kvs_fuzz_mac = kvs_hmac_key_new(kvs_fuzz_secret, 32);
        FUZZ_CHECK(kvs_fuzz_mac != NULL, "the key is made");
    }

    why = kvs_audit_parse(data, size, &e);

    if (why == NULL) {
        FUZZ_CHECK(e.signed_len + 9 + KVS_AUDIT_HASH_HEX + 2 == size,
                   "the hmac ends the entry, after the signed bytes");
        FUZZ_CHECK(e.seq > 0 && e.count > 0, "seq and count are above 0");
        FUZZ_CHECK(e.key >= (const char *) data
                   && e.key + e.key_len <= (const char *) data + size,
                   "the key is inside the entry");
    }

    /* what the store reads of its last entry and key before a write */
    if (kvs_audit_entry_seq(data, size, &seq) == 0 && why == NULL) {
        FUZZ_CHECK(seq == e.seq, "an entry's leading seq is its seq");
    }

    if (kvs_audit_key_ts((const char *) data, size, &ts) == 0) {
        FUZZ_CHECK(size == KVS_AUDIT_KEY_LEN && ts < 10000000000000ULL,
                   "a key's ms is its 13 digits");
    }

    kvs_audit_verify_init(&v, kvs_fuzz_mac, NULL, 0);

    if (kvs_audit_verify_step(&v, "k", 1, data, size) == 0) {
        FUZZ_CHECK(why == NULL, "only a parsed entry verifies");
    }

    /* the input as an event's strings */

    out = malloc(KVS_AUDIT_ENTRY_MAX);
    if (out == NULL) {
        return 0;
    }

    half = size / 2;

    memset(&ev, 0, sizeof(ev));
    ev.kind = KVS_AUDIT_DENIED;
    ev.user = (const char *) data;
    ev.user_len = half;
    ev.client = "::1";
    ev.client_len = 3;
    ev.method = "GET";
    ev.method_len = 3;
    ev.object = (const char *) data + half;
    ev.object_len = size - half;
    ev.status = 403;

    memset(&head, 0, sizeof(head));
    kvs_audit_key(key, KVS_FUZZ_NOW, 1);

    len = kvs_audit_encode(&ev, KVS_FUZZ_NOW, key, "n1", 2, NULL,
                           kvs_fuzz_mac, &head, out);

    FUZZ_CHECK(len > 0 && len <= KVS_AUDIT_ENTRY_MAX,
               "an entry is made within KVS_AUDIT_ENTRY_MAX");
    FUZZ_CHECK(kvs_audit_parse(out, len, &e) == NULL,
               "the parser takes every entry the encoder makes");

    kvs_audit_verify_init(&v, kvs_fuzz_mac, NULL, 0);
    FUZZ_CHECK(kvs_audit_verify_step(&v, key, sizeof(key), out, len)
               == 0, "an entry made verifies");

    at = size ? data[0] % len : 0;
    out[at] ^= 0x01;

    kvs_audit_verify_init(&v, kvs_fuzz_mac, NULL, 0);
    FUZZ_CHECK(kvs_audit_verify_step(&v, key, sizeof(key), out, len)
               != 0, "an entry with a byte changed does not verify");

    free(out);

    return 0;
}
