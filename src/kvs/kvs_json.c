/*
 * The strict JSON checker; see kvs_json.h for the idea.
 *
 * One pass over the bytes, no allocation and no recursion: the checker is a
 * small state machine (value, key, next) and the only memory it needs is
 * which kind of container each open level is, one bit a level, on the stack.
 * The buffer is not NUL-terminated, so every read is guarded by "end"; a NUL
 * byte is never whitespace nor the start of a token, so it fails wherever it
 * appears, as a control character inside a string and as a grammar error
 * elsewhere.
 *
 * Where an error points:
 *
 *   the offending byte     most errors: the byte that can not be there
 *   the sequence start     invalid UTF-8, the lead byte of the sequence
 *   the escape start       an unpaired surrogate, the backslash of its \u
 *   len                    the bytes ended too early, or there is no value
 */

#include <string.h>

#include "kvs_json.h"


typedef struct {
    const uint8_t  *end;
    const uint8_t  *err;
    const char     *why;
} kvs_json_ctx_t;


#define KVS_JSON_EOF  "unexpected end of the JSON"


static const uint8_t *kvs_json_fail(kvs_json_ctx_t *ctx, const uint8_t *p,
    const char *why);
static const uint8_t *kvs_json_space(const uint8_t *p, const uint8_t *end);
static const uint8_t *kvs_json_string(kvs_json_ctx_t *ctx, const uint8_t *p);
static const uint8_t *kvs_json_escape(kvs_json_ctx_t *ctx, const uint8_t *p);
static const uint8_t *kvs_json_hex4(kvs_json_ctx_t *ctx, const uint8_t *p,
    unsigned *cp);
static const uint8_t *kvs_json_utf8(kvs_json_ctx_t *ctx, const uint8_t *p);
static const uint8_t *kvs_json_number(kvs_json_ctx_t *ctx, const uint8_t *p);
static const uint8_t *kvs_json_literal(kvs_json_ctx_t *ctx, const uint8_t *p,
    const char *word);


int
kvs_json_check(const uint8_t *buf, size_t len, size_t *at, const char **why)
{
    size_t           depth;
    uint8_t          objects[(KVS_JSON_MAX_DEPTH + 7) / 8];
    const uint8_t   *p, *end;
    kvs_json_ctx_t   ctx;

    if (len == 0) {
        /* buf may be NULL here, and NULL + 0 is not to be computed */
        ctx.err = buf;
        ctx.why = "the body is empty";
        goto failed;
    }

    p = buf;
    end = buf + len;
    ctx.end = end;
    depth = 0;

    p = kvs_json_space(p, end);

    if (p == end) {
        kvs_json_fail(&ctx, p, "the body is empty");
        goto failed;
    }

value:

    /* p is past any whitespace, where a value must start */

    if (p == end) {
        goto eof;
    }

    switch (*p) {

    /*
     * objects[] has one bit per open level, set for an object and clear for
     * an array: that is all "next" needs to know which separator and closer
     * may follow, and 512 levels fit in 64 bytes.
     */

    case '{':
        if (depth == KVS_JSON_MAX_DEPTH) {
            goto deep;
        }

        objects[depth >> 3] |= (uint8_t) (1u << (depth & 7));
        depth++;

        p = kvs_json_space(p + 1, end);

        if (p < end && *p == '}') {
            depth--;
            p++;
            goto next;
        }

        goto key;

    case '[':
        if (depth == KVS_JSON_MAX_DEPTH) {
            goto deep;
        }

        objects[depth >> 3] &= (uint8_t) ~(1u << (depth & 7));
        depth++;

        p = kvs_json_space(p + 1, end);

        if (p < end && *p == ']') {
            depth--;
            p++;
            goto next;
        }

        goto value;

    case '"':
        p = kvs_json_string(&ctx, p);
        break;

    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        p = kvs_json_number(&ctx, p);
        break;

    case 't':
        p = kvs_json_literal(&ctx, p, "true");
        break;

    case 'f':
        p = kvs_json_literal(&ctx, p, "false");
        break;

    case 'n':
        p = kvs_json_literal(&ctx, p, "null");
        break;

    default:
        kvs_json_fail(&ctx, p, "expected a value");
        goto failed;
    }

    if (p == NULL) {
        goto failed;
    }

    goto next;

key:

    /* p is past any whitespace, inside an object, where a key must start */

    if (p == end) {
        goto eof;
    }

    if (*p != '"') {
        kvs_json_fail(&ctx, p, "expected a string as an object key");
        goto failed;
    }

    p = kvs_json_string(&ctx, p);
    if (p == NULL) {
        goto failed;
    }

    p = kvs_json_space(p, end);

    if (p == end) {
        goto eof;
    }

    if (*p != ':') {
        kvs_json_fail(&ctx, p, "expected ':' after an object key");
        goto failed;
    }

    p = kvs_json_space(p + 1, end);
    goto value;

next:

    /* p is just past a complete value: close levels or go on to the next */

    p = kvs_json_space(p, end);

    if (depth == 0) {
        if (p != end) {
            kvs_json_fail(&ctx, p, "unexpected data after the JSON value");
            goto failed;
        }

        return 0;
    }

    if (p == end) {
        goto eof;
    }

    if (objects[(depth - 1) >> 3] & (1u << ((depth - 1) & 7))) {

        if (*p == ',') {
            p = kvs_json_space(p + 1, end);
            goto key;
        }

        if (*p == '}') {
            depth--;
            p++;
            goto next;
        }

        kvs_json_fail(&ctx, p, "expected ',' or '}' in an object");
        goto failed;
    }

    if (*p == ',') {
        p = kvs_json_space(p + 1, end);
        goto value;
    }

    if (*p == ']') {
        depth--;
        p++;
        goto next;
    }

    kvs_json_fail(&ctx, p, "expected ',' or ']' in an array");
    goto failed;

deep:

    kvs_json_fail(&ctx, p, "nesting deeper than 512 levels");
    goto failed;

eof:

    kvs_json_fail(&ctx, end, KVS_JSON_EOF);

failed:

    if (at != NULL) {
        *at = (size_t) (ctx.err - buf);
    }

    if (why != NULL) {
        *why = ctx.why;
    }

    return -1;
}


int
kvs_json_utf8_check(const uint8_t *buf, size_t len)
{
    const uint8_t   *p;
    kvs_json_ctx_t   ctx;

    if (len == 0) {
        return 0;
    }

    ctx.end = buf + len;

    for (p = buf; p != NULL && p < ctx.end; /* void */) {
        p = (*p < 0x80) ? p + 1 : kvs_json_utf8(&ctx, p);
    }

    return p == NULL ? -1 : 0;
}


/*
 * Each character of src becomes one piece of output, taken whole or not at
 * all: itself (printable ASCII, a well-formed UTF-8 sequence), a two-byte
 * escape, a \u00XX escape for the other control characters, or U+FFFD for
 * a byte that starts no well-formed sequence.  A replaced byte is one byte:
 * whatever follows it is judged afresh, so one bad byte cannot hide a good
 * character after it.
 */

size_t
kvs_json_encode(uint8_t *dst, size_t size, const uint8_t *src, size_t len,
    size_t *used)
{
    size_t           n, out;
    uint8_t          c, esc[6];
    const uint8_t   *p, *next, *piece;
    kvs_json_ctx_t   ctx;

    static const uint8_t  fffd[] = { 0xef, 0xbf, 0xbd };
    static const char     hex[] = "0123456789abcdef";

    /* JSON's short escapes of \b \t \n \f \r; \v (0x0b) has none */
    static const char     named[] = "btn fr";

    out = 0;

    if (len == 0) {
        /* src may be NULL here, and NULL + 0 is not to be computed */
        if (used != NULL) {
            *used = 0;
        }

        return 0;
    }

    ctx.end = src + len;

    for (p = src; p < ctx.end; p = next) {
        c = *p;
        next = p + 1;
        piece = esc;

        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = c;
            n = 2;

        } else if (c >= 0x20 && c < 0x80) {
            piece = p;
            n = 1;

        } else if (c < 0x20) {
            esc[0] = '\\';

            if (c >= '\b' && c <= '\r' && c != '\v') {
                esc[1] = (uint8_t) named[c - '\b'];
                n = 2;

            } else {
                memcpy(esc + 1, "u00", 3);
                esc[4] = (uint8_t) hex[c >> 4];
                esc[5] = (uint8_t) hex[c & 0x0f];
                n = 6;
            }

        } else {
            next = kvs_json_utf8(&ctx, p);

            if (next == NULL) {
                next = p + 1;
                piece = fffd;
                n = sizeof(fffd);

            } else {
                piece = p;
                n = (size_t) (next - p);
            }
        }

        if (dst != NULL) {
            if (n > size - out) {
                break;
            }

            memcpy(dst + out, piece, n);
        }

        out += n;
    }

    if (used != NULL) {
        *used = (size_t) (p - src);
    }

    return out;
}


size_t
kvs_json_utf8_char(const uint8_t *p, const uint8_t *end)
{
    const uint8_t   *next;
    kvs_json_ctx_t   ctx;

    if (p >= end) {
        return 0;
    }

    if (*p < 0x80) {
        return 1;
    }

    ctx.end = end;
    next = kvs_json_utf8(&ctx, p);

    return next ? (size_t) (next - p) : 0;
}


static const uint8_t *
kvs_json_fail(kvs_json_ctx_t *ctx, const uint8_t *p, const char *why)
{
    ctx->err = p;
    ctx->why = why;

    return NULL;
}


static const uint8_t *
kvs_json_space(const uint8_t *p, const uint8_t *end)
{
    while (p < end
           && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    {
        p++;
    }

    return p;
}


/* p is at the opening quote; returns the byte after the closing one */

static const uint8_t *
kvs_json_string(kvs_json_ctx_t *ctx, const uint8_t *p)
{
    uint8_t         c;
    const uint8_t  *end;

    end = ctx->end;
    p++;

    for ( ;; ) {

        /* printable ASCII is nearly all of most strings: skip it quickly */

        while (p < end
               && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
        {
            p++;
        }

        if (p == end) {
            return kvs_json_fail(ctx, end, KVS_JSON_EOF);
        }

        c = *p;

        if (c == '"') {
            return p + 1;
        }

        if (c == '\\') {
            p = kvs_json_escape(ctx, p);

        } else if (c < 0x20) {
            return kvs_json_fail(ctx, p, "control character in a string");

        } else {
            p = kvs_json_utf8(ctx, p);
        }

        if (p == NULL) {
            return NULL;
        }
    }
}


/* p is at the backslash; returns the byte after the escape */

static const uint8_t *
kvs_json_escape(kvs_json_ctx_t *ctx, const uint8_t *p)
{
    unsigned        cp;
    const uint8_t  *esc, *end;

    end = ctx->end;
    esc = p;
    p++;

    if (p == end) {
        return kvs_json_fail(ctx, end, KVS_JSON_EOF);
    }

    switch (*p) {

    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        return p + 1;

    case 'u':
        break;

    default:
        return kvs_json_fail(ctx, p, "invalid escape in a string");
    }

    p = kvs_json_hex4(ctx, p + 1, &cp);
    if (p == NULL) {
        return NULL;
    }

    if (cp < 0xd800 || cp > 0xdfff) {
        return p;
    }

    /*
     * A surrogate stands for nothing alone: a high one must be followed at
     * once by an escaped low one, and a low one may only come after a high.
     * Letting them through would store strings that no UTF-8 consumer can
     * decode.
     */

    if (cp >= 0xdc00) {
        goto unpaired;
    }

    if (p == end) {
        return kvs_json_fail(ctx, end, KVS_JSON_EOF);
    }

    if (*p != '\\') {
        goto unpaired;
    }

    if (p + 1 == end) {
        return kvs_json_fail(ctx, end, KVS_JSON_EOF);
    }

    if (p[1] != 'u') {
        goto unpaired;
    }

    p = kvs_json_hex4(ctx, p + 2, &cp);
    if (p == NULL) {
        return NULL;
    }

    if (cp >= 0xdc00 && cp <= 0xdfff) {
        return p;
    }

unpaired:

    return kvs_json_fail(ctx, esc, "unpaired surrogate in a string");
}


static const uint8_t *
kvs_json_hex4(kvs_json_ctx_t *ctx, const uint8_t *p, unsigned *cp)
{
    int        i;
    uint8_t    c;
    unsigned   v;

    v = 0;

    for (i = 0; i < 4; i++, p++) {

        if (p == ctx->end) {
            return kvs_json_fail(ctx, p, KVS_JSON_EOF);
        }

        c = *p;

        if (c >= '0' && c <= '9') {
            v = (v << 4) | (unsigned) (c - '0');
            continue;
        }

        c |= 0x20;

        if (c >= 'a' && c <= 'f') {
            v = (v << 4) | (unsigned) (c - 'a' + 10);
            continue;
        }

        return kvs_json_fail(ctx, p, "invalid unicode escape in a string");
    }

    *cp = v;

    return p;
}


/*
 * p is at a byte >= 0x80; returns the byte after its sequence.  The ranges
 * are those of the well-formed sequences in the Unicode standard, so the
 * second byte alone rules out overlong forms (after E0 and F0), UTF-16
 * surrogates (after ED) and code points past U+10FFFF (after F4); C0, C1
 * and F5..FF never start a sequence.
 */

static const uint8_t *
kvs_json_utf8(kvs_json_ctx_t *ctx, const uint8_t *p)
{
    size_t    i, n;
    uint8_t   c, lo, hi;

    c = *p;
    lo = 0x80;
    hi = 0xbf;

    if (c >= 0xc2 && c <= 0xdf) {
        n = 1;

    } else if (c >= 0xe0 && c <= 0xef) {
        n = 2;

        if (c == 0xe0) {
            lo = 0xa0;

        } else if (c == 0xed) {
            hi = 0x9f;
        }

    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3;

        if (c == 0xf0) {
            lo = 0x90;

        } else if (c == 0xf4) {
            hi = 0x8f;
        }

    } else {
        return kvs_json_fail(ctx, p, "invalid UTF-8 in a string");
    }

    for (i = 1; i <= n; i++) {

        if (p + i == ctx->end) {
            return kvs_json_fail(ctx, ctx->end, KVS_JSON_EOF);
        }

        c = p[i];

        if (c < lo || c > hi) {
            return kvs_json_fail(ctx, p, "invalid UTF-8 in a string");
        }

        lo = 0x80;
        hi = 0xbf;
    }

    return p + n + 1;
}


/*
 * p is at '-' or a digit; returns the byte after the number.  A number has
 * no closing mark, so its end is where the grammar stops; whatever follows
 * is for the caller to judge.  Even a number cut short by the end of the
 * buffer is reported as invalid, as "1." is not a number wherever it is.
 */

static const uint8_t *
kvs_json_number(kvs_json_ctx_t *ctx, const uint8_t *p)
{
    const uint8_t  *end;

    end = ctx->end;

    if (*p == '-') {
        p++;
    }

    if (p == end || *p < '0' || *p > '9') {
        goto invalid;
    }

    if (*p == '0') {
        p++;

        /* no leading zeros: "01" would read as octal elsewhere */

        if (p < end && *p >= '0' && *p <= '9') {
            goto invalid;
        }

    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < end && *p == '.') {
        p++;

        if (p == end || *p < '0' || *p > '9') {
            goto invalid;
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;

        if (p < end && (*p == '+' || *p == '-')) {
            p++;
        }

        if (p == end || *p < '0' || *p > '9') {
            goto invalid;
        }

        while (p < end && *p >= '0' && *p <= '9') {
            p++;
        }
    }

    return p;

invalid:

    return kvs_json_fail(ctx, p, "invalid number");
}


/* p is at the first letter of word, which the caller has matched */

static const uint8_t *
kvs_json_literal(kvs_json_ctx_t *ctx, const uint8_t *p, const char *word)
{
    for (p++, word++; *word != '\0'; p++, word++) {

        if (p == ctx->end) {
            return kvs_json_fail(ctx, p, KVS_JSON_EOF);
        }

        if (*p != (uint8_t) *word) {
            return kvs_json_fail(ctx, p, "invalid literal");
        }
    }

    return p;
}
