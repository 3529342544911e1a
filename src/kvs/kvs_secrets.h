/*
 * The secret files the configuration names: jwt_secret_file, the keys
 * tokens are signed and verified with, and admin_password_file, the
 * password of the first administrator.
 *
 * Secrets stay out of the YAML, so that the YAML can be shown, copied and
 * kept in version control while the files are readable by root alone (the
 * master reads them, as it reads ssl_certificate_key).  A file of secrets
 * holds one per line, so that a new secret can be added above the old one
 * and the old one removed once every token it signed has expired: the
 * first line signs, every line verifies.  A line is its bytes up to '\n',
 * less a '\r' just before it, so files written on Windows read the same;
 * a newline at the end of the file ends the last line and adds none.
 * Everything else, blanks included, is part of the secret.  Errors are
 * sentences "<path>:<line>: <problem>" that never quote a secret; the
 * module puts the YAML's file and line before them.  Memory that held a
 * secret is wiped before it is freed.
 */

#ifndef KVS_SECRETS_H
#define KVS_SECRETS_H

#include <stddef.h>
#include <stdint.h>

/* the shortest secret of jwt_secret_file: HS256's key is as strong as
 * its 256-bit hash at most, and 32 random bytes make it so */
#define KVS_SECRET_MIN        32

/* the largest file read: some thousand secrets, never a log file named
 * by mistake */
#define KVS_SECRETS_FILE_MAX  65536


typedef struct {
    uint8_t  *data;
    size_t    len;
} kvs_secret_t;


/*
 * Reads the file of secrets at path: *secrets gets an array of *n, in the
 * file's order, each at least min_len bytes.  Returns 0, or -1 with
 * *secrets NULL, *n 0 and a sentence in err: the file cannot be read
 * ("<path>: <strerror>"), is larger than KVS_SECRETS_FILE_MAX, holds no
 * secret, or a line is empty or short ("<path>:2: the secret is 20 bytes;
 * each needs at least 32").  err may be NULL.
 */
int kvs_secrets_load(const char *path, size_t min_len, kvs_secret_t **secrets,
    size_t *n, char *err, size_t errlen);

/* Wipes and frees the n secrets and the array; NULL is fine. */
void kvs_secrets_free(kvs_secret_t *s, size_t n);

/*
 * Reads the password file at path: one line of at least KVS_PASSWORD_MIN
 * bytes and no NUL byte.  *password gets it NUL-terminated and *len its
 * length.  Returns 0, or -1 with *password NULL and a sentence in err, as
 * kvs_secrets_load() does.  The caller frees it with kvs_password_free().
 */
int kvs_password_file_load(const char *path, char **password, size_t *len,
    char *err, size_t errlen);

/* Wipes the len bytes of password and frees it; NULL is fine. */
void kvs_password_free(char *password, size_t len);

#endif /* KVS_SECRETS_H */
