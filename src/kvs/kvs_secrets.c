/*
 * The secret files; see kvs_secrets.h for their format.
 *
 * A file is read whole into one buffer of at most KVS_SECRETS_FILE_MAX
 * bytes, by read() rather than stdio, so that no stdio buffer keeps a copy
 * of it; the lines are then checked, all of them, before any secret is
 * copied out, and the buffer is wiped whatever happened.  Both loaders
 * walk the lines with one iterator, so a line ends the same way in both.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kvs_acl.h"
#include "kvs_secrets.h"


static int kvs_secrets_read(const char *path, uint8_t **buf, size_t *len,
    char *err, size_t errlen);
static int kvs_secrets_line(const uint8_t *buf, size_t len, size_t *pos,
    size_t *start, size_t *llen);
static int kvs_secrets_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));


int
kvs_secrets_load(const char *path, size_t min_len, kvs_secret_t **secrets,
    size_t *n, char *err, size_t errlen)
{
    int            rc;
    size_t         len, pos, start, llen, count, i;
    uint8_t       *buf;
    kvs_secret_t  *list;

    *secrets = NULL;
    *n = 0;

    if (kvs_secrets_read(path, &buf, &len, err, errlen) != 0) {
        return -1;
    }

    rc = -1;
    count = 0;
    pos = 0;

    while (kvs_secrets_line(buf, len, &pos, &start, &llen)) {
        count++;

        if (llen == 0) {
            kvs_secrets_error(err, errlen, "%s:%zu: the line is empty; "
                              "each line holds one secret", path, count);
            goto done;
        }

        if (llen < min_len) {
            kvs_secrets_error(err, errlen, "%s:%zu: the secret is %zu bytes; "
                              "each needs at least %zu", path, count, llen,
                              min_len);
            goto done;
        }
    }

    if (count == 0) {
        kvs_secrets_error(err, errlen, "%s: the file holds no secret; write "
                          "one per line, each of at least %zu bytes", path,
                          min_len);
        goto done;
    }

    list = calloc(count, sizeof(kvs_secret_t));
    if (list == NULL) {
        kvs_secrets_error(err, errlen, "%s: out of memory", path);
        goto done;
    }

    pos = 0;

    for (i = 0; kvs_secrets_line(buf, len, &pos, &start, &llen); i++) {
        list[i].data = malloc(llen);
        if (list[i].data == NULL) {
            kvs_secrets_free(list, i);
            kvs_secrets_error(err, errlen, "%s: out of memory", path);
            goto done;
        }

        memcpy(list[i].data, buf + start, llen);
        list[i].len = llen;
    }

    *secrets = list;
    *n = count;
    rc = 0;

done:

    explicit_bzero(buf, len);
    free(buf);

    return rc;
}


void
kvs_secrets_free(kvs_secret_t *s, size_t n)
{
    size_t  i;

    if (s == NULL) {
        return;
    }

    for (i = 0; i < n; i++) {
        if (s[i].data != NULL) {
            explicit_bzero(s[i].data, s[i].len);
            free(s[i].data);
        }
    }

    free(s);
}


int
kvs_password_file_load(const char *path, char **password, size_t *len,
    char *err, size_t errlen)
{
    int       rc;
    char     *p;
    size_t    blen, pos, start, llen, first, flen, count;
    uint8_t  *buf;

    *password = NULL;
    *len = 0;

    if (kvs_secrets_read(path, &buf, &blen, err, errlen) != 0) {
        return -1;
    }

    rc = -1;
    count = 0;
    pos = 0;
    first = 0;
    flen = 0;

    while (kvs_secrets_line(buf, blen, &pos, &start, &llen)) {
        if (++count > 1) {
            kvs_secrets_error(err, errlen, "%s:%zu: the file has more than "
                              "one line; the password is its only line",
                              path, count);
            goto done;
        }

        first = start;
        flen = llen;
    }

    if (count == 0) {
        kvs_secrets_error(err, errlen, "%s: the file holds no password",
                          path);
        goto done;
    }

    /* a password from a JSON body is a C string: one with a NUL could
     * never be typed at login */
    if (memchr(buf + first, '\0', flen) != NULL) {
        kvs_secrets_error(err, errlen, "%s:1: the password contains a NUL "
                          "byte", path);
        goto done;
    }

    if (flen < KVS_PASSWORD_MIN) {
        kvs_secrets_error(err, errlen, "%s:1: the password is %zu bytes; it "
                          "needs at least %d", path, flen, KVS_PASSWORD_MIN);
        goto done;
    }

    p = malloc(flen + 1);
    if (p == NULL) {
        kvs_secrets_error(err, errlen, "%s: out of memory", path);
        goto done;
    }

    memcpy(p, buf + first, flen);
    p[flen] = '\0';

    *password = p;
    *len = flen;
    rc = 0;

done:

    explicit_bzero(buf, blen);
    free(buf);

    return rc;
}


void
kvs_password_free(char *password, size_t len)
{
    if (password != NULL) {
        explicit_bzero(password, len);
        free(password);
    }
}


/*
 * One byte more than the limit is asked for, so that a file of exactly
 * KVS_SECRETS_FILE_MAX bytes is told from a longer one without a stat(),
 * which would not size a pipe or a /proc file anyway.
 */

static int
kvs_secrets_read(const char *path, uint8_t **buf, size_t *len, char *err,
    size_t errlen)
{
    int       fd;
    size_t    total;
    ssize_t   n;
    uint8_t  *b;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return kvs_secrets_error(err, errlen, "%s: %s", path,
                                 strerror(errno));
    }

    b = malloc(KVS_SECRETS_FILE_MAX + 1);
    if (b == NULL) {
        close(fd);
        return kvs_secrets_error(err, errlen, "%s: out of memory", path);
    }

    total = 0;

    for ( ;; ) {
        n = read(fd, b + total, KVS_SECRETS_FILE_MAX + 1 - total);

        if (n == -1 && errno == EINTR) {
            continue;
        }

        if (n == -1) {
            kvs_secrets_error(err, errlen, "%s: %s", path, strerror(errno));
            goto failed;
        }

        if (n == 0) {
            break;
        }

        total += (size_t) n;

        if (total > KVS_SECRETS_FILE_MAX) {
            kvs_secrets_error(err, errlen, "%s: the file is larger than %d "
                              "bytes", path, KVS_SECRETS_FILE_MAX);
            goto failed;
        }
    }

    close(fd);

    *buf = b;
    *len = total;

    return 0;

failed:

    close(fd);
    explicit_bzero(b, total);
    free(b);

    return -1;
}


/*
 * The next line at *pos: sets its start and length (less a '\r' before
 * its '\n') and moves *pos past it.  Returns 0 when no line is left: a
 * file ending in '\n' has no empty line after it.
 */

static int
kvs_secrets_line(const uint8_t *buf, size_t len, size_t *pos, size_t *start,
    size_t *llen)
{
    size_t          end;
    const uint8_t  *nl;

    if (*pos >= len) {
        return 0;
    }

    nl = memchr(buf + *pos, '\n', len - *pos);
    end = (nl != NULL) ? (size_t) (nl - buf) : len;

    *start = *pos;
    *llen = end - *pos;
    *pos = (nl != NULL) ? end + 1 : len;

    if (*llen > 0 && buf[end - 1] == '\r') {
        (*llen)--;
    }

    return 1;
}


/* Always returns -1, so that callers can return its result. */

static int
kvs_secrets_error(char *err, size_t errlen, const char *fmt, ...)
{
    va_list  args;

    if (err != NULL && errlen > 0) {
        va_start(args, fmt);
        vsnprintf(err, errlen, fmt, args);
        va_end(args);
    }

    return -1;
}
