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


/* a file read whole, and the walk through its lines */
typedef struct {
    uint8_t  *buf;
    size_t    len;
    size_t    pos;                /* where the next line starts */
    size_t    line;               /* the number of the line last given */
} kvs_secrets_file_t;


static int kvs_secrets_read(kvs_secrets_file_t *f, const char *path,
    char *err, size_t errlen);
static int kvs_secrets_line(kvs_secrets_file_t *f, size_t *start,
    size_t *llen);
static void kvs_secrets_close(kvs_secrets_file_t *f);
static void kvs_secrets_wipe(void *p, size_t len);
static int kvs_secrets_error(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));


int
kvs_secrets_load(const char *path, size_t min_len, kvs_secret_t **secrets,
    size_t *n, char *err, size_t errlen)
{
    int                 rc;
    size_t              start, llen, i;
    kvs_secret_t       *list;
    kvs_secrets_file_t  f;

    *secrets = NULL;
    *n = 0;

    if (kvs_secrets_read(&f, path, err, errlen) != 0) {
        return -1;
    }

    rc = -1;

    while (kvs_secrets_line(&f, &start, &llen)) {

        if (llen == 0) {
            kvs_secrets_error(err, errlen, "%s:%zu: the line is empty; "
                              "each line holds one secret", path, f.line);
            goto done;
        }

        if (llen < min_len) {
            kvs_secrets_error(err, errlen, "%s:%zu: the secret is %zu bytes; "
                              "each needs at least %zu", path, f.line, llen,
                              min_len);
            goto done;
        }
    }

    if (f.line == 0) {
        kvs_secrets_error(err, errlen, "%s: the file holds no secret; write "
                          "one per line, each of at least %zu bytes", path,
                          min_len);
        goto done;
    }

    list = calloc(f.line, sizeof(kvs_secret_t));
    if (list == NULL) {
        kvs_secrets_error(err, errlen, "%s: out of memory", path);
        goto done;
    }

    /* every line is good: the second walk copies them */
    *n = f.line;
    f.pos = 0;
    f.line = 0;

    for (i = 0; kvs_secrets_line(&f, &start, &llen); i++) {
        list[i].data = malloc(llen);
        if (list[i].data == NULL) {
            kvs_secrets_free(list, i);
            *n = 0;
            kvs_secrets_error(err, errlen, "%s: out of memory", path);
            goto done;
        }

        memcpy(list[i].data, f.buf + start, llen);
        list[i].len = llen;
    }

    *secrets = list;
    rc = 0;

done:

    kvs_secrets_close(&f);

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
        kvs_secrets_wipe(s[i].data, s[i].len);
    }

    free(s);
}


int
kvs_password_file_load(const char *path, char **password, size_t *len,
    char *err, size_t errlen)
{
    int                 rc;
    char               *p;
    size_t              start, llen, next, nlen;
    kvs_secrets_file_t  f;

    *password = NULL;
    *len = 0;

    if (kvs_secrets_read(&f, path, err, errlen) != 0) {
        return -1;
    }

    rc = -1;

    if (!kvs_secrets_line(&f, &start, &llen)) {
        kvs_secrets_error(err, errlen, "%s: the file holds no password",
                          path);
        goto done;
    }

    /* a password from a JSON body is a C string: one with a NUL could
     * never be typed at login */
    if (memchr(f.buf + start, '\0', llen) != NULL) {
        kvs_secrets_error(err, errlen, "%s:1: the password contains a NUL "
                          "byte", path);
        goto done;
    }

    if (llen < KVS_PASSWORD_MIN) {
        kvs_secrets_error(err, errlen, "%s:1: the password is %zu bytes; it "
                          "needs at least %d", path, llen, KVS_PASSWORD_MIN);
        goto done;
    }

    if (kvs_secrets_line(&f, &next, &nlen)) {
        kvs_secrets_error(err, errlen, "%s:2: the file has more than one "
                          "line; the password is its only line", path);
        goto done;
    }

    p = malloc(llen + 1);
    if (p == NULL) {
        kvs_secrets_error(err, errlen, "%s: out of memory", path);
        goto done;
    }

    memcpy(p, f.buf + start, llen);
    p[llen] = '\0';

    *password = p;
    *len = llen;
    rc = 0;

done:

    kvs_secrets_close(&f);

    return rc;
}


void
kvs_password_free(char *password, size_t len)
{
    kvs_secrets_wipe(password, len);
}


/*
 * One byte more than the limit is asked for, so that a file of exactly
 * KVS_SECRETS_FILE_MAX bytes is told from a longer one without a stat(),
 * which would not size a pipe or a /proc file anyway.
 */

static int
kvs_secrets_read(kvs_secrets_file_t *f, const char *path, char *err,
    size_t errlen)
{
    int      fd;
    ssize_t  n;

    memset(f, 0, sizeof(kvs_secrets_file_t));

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return kvs_secrets_error(err, errlen, "%s: %s", path,
                                 strerror(errno));
    }

    f->buf = malloc(KVS_SECRETS_FILE_MAX + 1);
    if (f->buf == NULL) {
        close(fd);
        return kvs_secrets_error(err, errlen, "%s: out of memory", path);
    }

    for ( ;; ) {
        n = read(fd, f->buf + f->len, KVS_SECRETS_FILE_MAX + 1 - f->len);

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

        f->len += (size_t) n;

        if (f->len > KVS_SECRETS_FILE_MAX) {
            kvs_secrets_error(err, errlen, "%s: the file is larger than %d "
                              "bytes", path, KVS_SECRETS_FILE_MAX);
            goto failed;
        }
    }

    close(fd);

    return 0;

failed:

    close(fd);
    kvs_secrets_close(f);

    return -1;
}


/*
 * The next line: sets its start and length (less a '\r' before its '\n')
 * and moves past it.  Returns 0 when no line is left: a file ending in
 * '\n' has no empty line after it.
 */

static int
kvs_secrets_line(kvs_secrets_file_t *f, size_t *start, size_t *llen)
{
    size_t          end;
    const uint8_t  *nl;

    if (f->pos >= f->len) {
        return 0;
    }

    nl = memchr(f->buf + f->pos, '\n', f->len - f->pos);
    end = (nl != NULL) ? (size_t) (nl - f->buf) : f->len;

    *start = f->pos;
    *llen = end - f->pos;

    if (*llen > 0 && f->buf[end - 1] == '\r') {
        (*llen)--;
    }

    f->pos = (nl != NULL) ? end + 1 : f->len;
    f->line++;

    return 1;
}


static void
kvs_secrets_close(kvs_secrets_file_t *f)
{
    kvs_secrets_wipe(f->buf, f->len);
    f->buf = NULL;
}


/*
 * Memory that held a secret is zeroed before it is freed, so that what the
 * process allocates next, and a core dump, do not find it; explicit_bzero()
 * is not optimised away as memset() may be.
 */

static void
kvs_secrets_wipe(void *p, size_t len)
{
    if (p != NULL) {
        explicit_bzero(p, len);
        free(p);
    }
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
