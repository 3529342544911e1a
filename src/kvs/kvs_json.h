/*
 * A strict JSON checker (RFC 8259): the store keeps the client's bytes as
 * they came, so it needs only to know that they are one valid JSON value,
 * and to say where they are not, without building a tree.
 */

#ifndef KVS_JSON_H
#define KVS_JSON_H

#include <stddef.h>
#include <stdint.h>

#define KVS_JSON_MAX_DEPTH  512

/* Returns 0 when buf holds exactly one JSON value (surrounding whitespace
 * allowed); otherwise -1, with *at set to the byte offset of the problem and
 * *why to a static phrase, e.g. "expected ':' after an object key". */
int kvs_json_check(const uint8_t *buf, size_t len, size_t *at,
    const char **why);

/* Returns 0 when buf holds well-formed UTF-8 only, -1 otherwise: keys are
 * sent back inside JSON strings, so they must be text. */
int kvs_json_utf8_check(const uint8_t *buf, size_t len);

#endif /* KVS_JSON_H */
