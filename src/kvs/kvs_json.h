/*
 * A strict JSON checker (RFC 8259): the store keeps the client's bytes as
 * they came, so it needs only to know that they are one valid JSON value,
 * and to say where they are not, without building a tree.  And the other
 * way: any bytes, a client's included, written as the text of a JSON
 * string, so that an answer quoting them is still JSON.
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

/* Writes src as the characters of a JSON string, without the quotes, into
 * dst, which holds size bytes: '"', '\\' and control characters escaped,
 * and each byte that is not part of well-formed UTF-8 written as U+FFFD, so
 * the result is valid JSON whatever src holds.  What does not fit is left
 * out from the first character or escape that does not fit whole: the text
 * is cut only between characters.  Returns the bytes written, and in *used
 * (when not NULL) the bytes of src they stand for: len when all of src
 * fit.  With dst NULL, returns the bytes all of src needs. */
size_t kvs_json_encode(uint8_t *dst, size_t size, const uint8_t *src,
    size_t len, size_t *used);

/* The bytes of the character that starts at p, before end: 1 for ASCII,
 * those of a well-formed UTF-8 sequence, 0 when p starts none. */
size_t kvs_json_utf8_char(const uint8_t *p, const uint8_t *end);

#endif /* KVS_JSON_H */
