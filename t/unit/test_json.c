/*
 * Unit tests of kvs_json_check() and kvs_json_encode().
 *
 * Every document is copied into a malloc'd buffer of exactly its length,
 * without a terminating NUL, so that a run under AddressSanitizer catches
 * any read past the end.  Documents are written as C string literals and
 * measured with sizeof, so they may hold NUL bytes.
 *
 * Besides the hand-written cases, the UTF-8 rules are checked against a
 * small reference decoder written the other way round (decode, then judge
 * the code point), over all two-byte sequences and the boundary values of
 * longer ones.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvs_json.h"

#include "kvs_test.h"


#define ANY  ((size_t) -1)

#define VALID(doc)                                                          \
    check(doc, sizeof(doc) - 1, 1, 0, NULL, doc)
#define INVALID(doc, at, why)                                               \
    check(doc, sizeof(doc) - 1, 0, at, why, doc)


/* a printable form of a document, for the test's description */

static const char *
show(const char *prefix, const char *doc, size_t len)
{
    size_t          i, n;
    unsigned char   c;
    static char     out[128];

    n = (size_t) snprintf(out, sizeof(out), "%s", prefix);

    for (i = 0; i < len && n < sizeof(out) - 8; i++) {
        c = (unsigned char) doc[i];

        if (c >= 0x20 && c < 0x7f && c != '#') {
            out[n++] = (char) c;

        } else {
            n += (size_t) snprintf(out + n, sizeof(out) - n, "<%02x>", c);
        }
    }

    if (i < len) {
        memcpy(out + n, "...", 4);

    } else {
        out[n] = '\0';
    }

    return out;
}


static int
run(const char *doc, size_t len, size_t *at, const char **why)
{
    int       rc;
    uint8_t  *buf;

    buf = malloc(len ? len : 1);
    if (buf == NULL) {
        perror("malloc");
        exit(2);
    }

    memcpy(buf, doc, len);

    *at = ANY;
    *why = NULL;
    rc = kvs_json_check(buf, len, at, why);

    free(buf);

    return rc;
}


static void
check(const char *doc, size_t len, int valid, size_t exp_at,
    const char *exp_why, const char *desc)
{
    int          rc, pass;
    size_t       at;
    const char  *why;

    rc = run(doc, len, &at, &why);

    if (valid) {
        pass = (rc == 0);

    } else {
        pass = (rc == -1 && why != NULL && at <= len
                && (exp_at == ANY || at == exp_at)
                && (exp_why == NULL || strcmp(why, exp_why) == 0));
    }

    CHECK(pass, show(valid ? "valid: " : "invalid: ", desc,
                     desc == doc ? len : strlen(desc)));

    if (!pass) {
        printf("#   rc %d, at %zu, why \"%s\"", rc, at, why ? why : "(null)");

        if (!valid) {
            printf("; expected at %zu, why \"%s\"", exp_at,
                   exp_why ? exp_why : "(any)");
        }

        printf("\n");
    }
}


static int
accepts(const uint8_t *doc, size_t len)
{
    size_t       at;
    const char  *why;

    return run((const char *) doc, len, &at, &why) == 0;
}


/*
 * The reference: take the sequence length from the lead byte's high bits,
 * require continuation bytes, decode, then reject what is overlong, a
 * surrogate or past U+10FFFF.
 */

static int
ref_utf8(const uint8_t *s, size_t len)
{
    size_t    i, n;
    uint32_t  cp, min;

    if (s[0] < 0x80) {
        return len == 1;
    }

    if ((s[0] & 0xe0) == 0xc0) {
        n = 2;
        cp = s[0] & 0x1f;
        min = 0x80;

    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3;
        cp = s[0] & 0x0f;
        min = 0x800;

    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4;
        cp = s[0] & 0x07;
        min = 0x10000;

    } else {
        return 0;
    }

    if (len != n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }

        cp = (cp << 6) | (s[i] & 0x3f);
    }

    return cp >= min && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
}


/* seq as the whole contents of a string, judged as the reference does */

static int
agrees(const uint8_t *seq, size_t n)
{
    uint8_t  doc[8];

    doc[0] = '"';
    memcpy(doc + 1, seq, n);
    doc[n + 1] = '"';

    return accepts(doc, n + 2) == ref_utf8(seq, n);
}


static void
test_utf8_sequences(void)
{
    int      pass;
    size_t   a, b, c, d;
    uint8_t  s[4];
    static const uint8_t  edge[] = {
        0x80, 0x81, 0x8f, 0x90, 0x9f, 0xa0, 0xbe, 0xbf
    };

    pass = 1;

    for (a = 0x20; a < 0x100; a++) {
        if (a == '"' || a == '\\') {
            continue;
        }

        s[0] = (uint8_t) a;
        pass &= agrees(s, 1);
    }

    CHECK(pass, "every single byte in a string agrees with the reference");

    pass = 1;

    for (a = 0x80; a < 0x100; a++) {
        for (b = 0; b < 0x100; b++) {
            if (b < 0x20 || b == '"' || b == '\\') {
                continue;
            }

            s[0] = (uint8_t) a;
            s[1] = (uint8_t) b;
            pass &= agrees(s, 2);
        }
    }

    CHECK(pass, "every two-byte sequence agrees with the reference");

    /* three and four bytes: every lead, continuations at the edges */

    pass = 1;

    for (a = 0xc0; a < 0x100; a++) {
        for (b = 0; b < sizeof(edge); b++) {
            for (c = 0; c < sizeof(edge); c++) {
                s[0] = (uint8_t) a;
                s[1] = edge[b];
                s[2] = edge[c];
                pass &= agrees(s, 3);

                for (d = 0; d < sizeof(edge); d++) {
                    s[3] = edge[d];
                    pass &= agrees(s, 4);
                }
            }
        }
    }

    CHECK(pass,
          "three- and four-byte edge sequences agree with the reference");
}


static void
test_bytes(void)
{
    int      pass, want;
    size_t   c;
    uint8_t  doc[4];

    /* a one-byte document is valid only as a digit */

    pass = 1;

    for (c = 0; c < 0x100; c++) {
        doc[0] = (uint8_t) c;
        want = (c >= '0' && c <= '9');
        pass &= (accepts(doc, 1) == want);
    }

    CHECK(pass, "every one-byte document: only a digit is valid");

    /* besides \u, only the eight short escapes exist */

    pass = 1;

    for (c = 0; c < 0x100; c++) {
        doc[0] = '"';
        doc[1] = '\\';
        doc[2] = (uint8_t) c;
        doc[3] = '"';
        want = (c != 0 && strchr("\"\\/bfnrt", (int) c) != NULL);
        pass &= (accepts(doc, 4) == want);
    }

    CHECK(pass, "every escape letter: only \" \\ / b f n r t are valid");
}


/* every proper prefix of an object document is invalid */

static void
test_prefixes(void)
{
    int          pass;
    size_t       n, at;
    const char  *why;
    static const char  doc[] =
        "{\"a\": [1, -2.5e+3, true, false, null, \"\\u00e9\\uD83D\\uDE00\"],"
        " \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\": {\"x\": {}}, \"z\": []}";

    check(doc, sizeof(doc) - 1, 1, 0, NULL, "the document of the prefixes");

    pass = 1;

    for (n = 0; n < sizeof(doc) - 1; n++) {
        if (run(doc, n, &at, &why) != -1 || at > n || why == NULL) {
            printf("#   prefix of %zu bytes: at %zu, why %s\n", n, at,
                   why ? why : "(null)");
            pass = 0;
        }
    }

    CHECK(pass, "every proper prefix of an object is invalid");
}


static void
test_depth(void)
{
    int          valid;
    char        *doc;
    size_t       i, n, len;

    doc = malloc(16 * 1024);
    if (doc == NULL) {
        perror("malloc");
        exit(2);
    }

    /* arrays: the 513th '[' is the offending byte */

    for (n = KVS_JSON_MAX_DEPTH; n <= KVS_JSON_MAX_DEPTH + 1; n++) {
        valid = (n <= KVS_JSON_MAX_DEPTH);
        memset(doc, '[', n);
        memset(doc + n, ']', n);

        check(doc, 2 * n, valid, KVS_JSON_MAX_DEPTH,
              "nesting deeper than 512 levels",
              valid ? "512 nested arrays" : "513 nested arrays");
    }

    /* the depth is noticed before the missing closers */

    memset(doc, '[', 600);
    check(doc, 600, 0, KVS_JSON_MAX_DEPTH, "nesting deeper than 512 levels",
          "600 unclosed arrays");

    /* objects, with a value at the bottom */

    for (n = KVS_JSON_MAX_DEPTH; n <= KVS_JSON_MAX_DEPTH + 1; n++) {
        valid = (n <= KVS_JSON_MAX_DEPTH);
        len = 0;

        for (i = 0; i < n; i++) {
            memcpy(doc + len, "{\"k\":", 5);
            len += 5;
        }

        doc[len++] = '1';
        memset(doc + len, '}', n);
        len += n;

        check(doc, len, valid, 5 * KVS_JSON_MAX_DEPTH,
              "nesting deeper than 512 levels",
              valid ? "512 nested objects" : "513 nested objects");
    }

    /* objects and arrays by turns, so that every bit of the stack matters */

    for (n = KVS_JSON_MAX_DEPTH; n <= KVS_JSON_MAX_DEPTH + 1; n++) {
        valid = (n <= KVS_JSON_MAX_DEPTH);
        len = 0;

        for (i = 0; i < n; i++) {
            if (i % 2) {
                memcpy(doc + len, "[0,", 3);
                len += 3;

            } else {
                memcpy(doc + len, "{\"a\":", 5);
                len += 5;
            }
        }

        doc[len++] = '0';

        for (i = n; i-- > 0; ) {
            doc[len++] = (i % 2) ? ']' : '}';
        }

        check(doc, len, valid, ANY, "nesting deeper than 512 levels",
              valid ? "512 levels of objects and arrays by turns"
                    : "513 levels of objects and arrays by turns");
    }

    /* a wrong closer deep down is reported where it is */

    len = 0;

    for (i = 0; i < KVS_JSON_MAX_DEPTH; i++) {
        doc[len++] = (i % 3) ? '[' : '{';

        if (i % 3 == 0) {
            memcpy(doc + len, "\"\":", 3);
            len += 3;
        }
    }

    doc[len++] = '}';
    check(doc, len, 0, len - 1, "expected a value",
          "a '}' for a '[' at the bottom of 512 levels");

    /* the depth is of nesting, not of the count of containers */

    doc[0] = '[';
    len = 1;

    for (i = 0; i < 2000; i++) {
        memcpy(doc + len, "[],", 3);
        len += 3;
    }

    doc[len - 1] = ']';
    check(doc, len, 1, 0, NULL, "2000 empty arrays in an array");

    free(doc);
}


static void
test_null_args(void)
{
    static const uint8_t  good[] = "[1]";
    static const uint8_t  bad[] = "[1,]";

    CHECK(kvs_json_check(good, 3, NULL, NULL) == 0
          && kvs_json_check(bad, 4, NULL, NULL) == -1
          && kvs_json_check(NULL, 0, NULL, NULL) == -1,
          "at and why may be NULL, and buf too when len is 0");
}


/*
 * kvs_json_encode(): what it writes for one input, whole and cut at every
 * size, each time checked to be a prefix of the whole, to end between
 * characters (encoding exactly what *used says reproduces it) and to be
 * valid JSON once quoted.
 */

#define ENCODES(src, want)                                                  \
    encodes((const uint8_t *) src, sizeof(src) - 1, want, sizeof(want) - 1)


/* out (quoted) must be a JSON string: returns 1 when kvs_json_check agrees */

static int
quoted_ok(const uint8_t *out, size_t n)
{
    int       rc;
    uint8_t  *doc;

    doc = malloc(n + 2);
    if (doc == NULL) {
        perror("malloc");
        exit(2);
    }

    doc[0] = '"';
    memcpy(doc + 1, out, n);
    doc[n + 1] = '"';
    rc = accepts(doc, n + 2);
    free(doc);

    return rc;
}


/* every cut of src's encoding is a quoted-JSON-valid, consistent prefix */

static int
cuts_ok(const uint8_t *src, size_t len, const uint8_t *whole, size_t total)
{
    size_t    size, n, used, again;
    uint8_t  *out;

    for (size = 0; size <= total; size++) {
        out = malloc(size ? size : 1);
        if (out == NULL) {
            perror("malloc");
            exit(2);
        }

        n = kvs_json_encode(out, size, src, len, &used);
        again = kvs_json_encode(NULL, 0, src, used, NULL);

        if (n > size || used > len || again != n
            || memcmp(out, whole, n) != 0 || !quoted_ok(out, n)
            || (size == total && (n != total || used != len))
            || (size < total && used == len))
        {
            free(out);
            return 0;
        }

        free(out);
    }

    return 1;
}


static void
encodes(const uint8_t *src, size_t len, const char *want, size_t wlen)
{
    int       pass;
    size_t    n, used;
    uint8_t  *in, *out;

    in = malloc(len ? len : 1);
    out = malloc(wlen + 16);
    if (in == NULL || out == NULL) {
        perror("malloc");
        exit(2);
    }

    memcpy(in, src, len);

    n = kvs_json_encode(out, wlen + 16, in, len, &used);

    pass = n == wlen && used == len && memcmp(out, want, n) == 0
           && kvs_json_encode(NULL, 0, in, len, NULL) == wlen
           && quoted_ok(out, n) && cuts_ok(in, len, out, n);

    CHECK(pass, show("encodes: ", (const char *) src, len));

    if (!pass) {
        printf("#   got %zu bytes \"%s\"", n,
               show("", (const char *) out, n < wlen + 16 ? n : 0));
        printf(", used %zu of %zu\n", used, len);
    }

    free(in);
    free(out);
}


/* a byte that is a character of a JSON string as it is */

static int
printable(uint8_t c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}


/* a fixed sequence of pseudo-random bytes, the same on every run */

static uint32_t
next_random(uint32_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 17;
    *state ^= *state << 5;

    return *state;
}


static void
test_encode_hostile(void)
{
    int        pass, plain;
    size_t     i, len, n;
    uint8_t    src[2], buf[64], out[64 * 6];
    uint32_t   state, j;

    pass = 1;

    for (j = 0; j < 65536 && pass; j++) {
        src[0] = (uint8_t) (j >> 8);
        src[1] = (uint8_t) j;

        n = kvs_json_encode(out, sizeof(out), src, 2, NULL);

        /* two bytes stay two bytes only when they are two characters
         * that need no escape, or one well-formed sequence */
        plain = printable(src[0]) && printable(src[1]);

        pass = quoted_ok(out, n) && cuts_ok(src, 2, out, n)
               && (n == 2) == (plain || ref_utf8(src, 2));
    }

    CHECK(pass, "encode: every two bytes make a JSON string, cut anywhere");

    state = 2463534242u;
    pass = 1;

    for (j = 0; j < 20000 && pass; j++) {
        len = next_random(&state) % sizeof(buf);

        for (i = 0; i < len; i++) {
            /* biased to bytes >= 0x80, where UTF-8 goes wrong */
            buf[i] = (uint8_t) (next_random(&state) | (j & 1 ? 0x80 : 0));
        }

        n = kvs_json_encode(out, sizeof(out), buf, len, NULL);
        pass = n == kvs_json_encode(NULL, 0, buf, len, NULL)
               && quoted_ok(out, n)
               && (j % 16 != 0 || cuts_ok(buf, len, out, n));
    }

    CHECK(pass,
          "encode: 20000 random strings make JSON strings, cut anywhere");
}


static void
test_encode(void)
{
    size_t    n, used;
    uint8_t   out[8];

    ENCODES("", "");
    ENCODES("users/john", "users/john");
    ENCODES("say \"hi\"", "say \\\"hi\\\"");
    ENCODES("a\\b", "a\\\\b");
    ENCODES("\b\t\n\f\r", "\\b\\t\\n\\f\\r");
    ENCODES("\x01\x0b\x1f\x00", "\\u0001\\u000b\\u001f\\u0000");
    ENCODES("\x7f", "\x7f");
    ENCODES("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");

    /* each byte that starts no well-formed sequence is one U+FFFD */

    ENCODES("/foo\xff", "/foo\xef\xbf\xbd");
    ENCODES("\x80\xbf", "\xef\xbf\xbd\xef\xbf\xbd");
    ENCODES("\xc3\x28", "\xef\xbf\xbd(");
    ENCODES("ab\xc3", "ab\xef\xbf\xbd");
    ENCODES("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");
    ENCODES("\xed\xa0\x80",
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    ENCODES("\xf4\x90\x80\x80",
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    ENCODES("\xe2\x82\xc3\xa9", "\xef\xbf\xbd\xef\xbf\xbd\xc3\xa9");
    ENCODES("\xf0\x9f\x98", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");

    /* a cut leaves out the first character that does not fit whole */

    n = kvs_json_encode(out, 3, (const uint8_t *) "\xc3\xa9\xc3\xa9", 4,
                        &used);
    CHECK(n == 2 && used == 2 && memcmp(out, "\xc3\xa9", 2) == 0,
          "encode: \"\xc3\xa9\xc3\xa9\" in 3 bytes is one \"\xc3\xa9\"");

    n = kvs_json_encode(out, 2, (const uint8_t *) "a\"", 2, &used);
    CHECK(n == 1 && used == 1 && out[0] == 'a',
          "encode: an escape that does not fit is left out whole");

    n = kvs_json_encode(out, 5, (const uint8_t *) "\x01", 1, &used);
    CHECK(n == 0 && used == 0, "encode: so is a \\u00XX escape");

    n = kvs_json_encode(out, 2, (const uint8_t *) "\xff", 1, &used);
    CHECK(n == 0 && used == 0, "encode: and a U+FFFD");

    CHECK(kvs_json_encode(NULL, 0, NULL, 0, &used) == 0 && used == 0,
          "encode: src may be NULL when len is 0");

    test_encode_hostile();
}


/* documents the checker takes */

static void
test_valid(void)
{
    /* scalars at the top level */

    VALID("\"x\"");
    VALID("\"\"");
    VALID("1");
    VALID("0");
    VALID("-0");
    VALID("true");
    VALID("false");
    VALID("null");
    VALID(" \t\r\n 1 \t\r\n ");

    /* numbers */

    VALID("-1");
    VALID("1e10");
    VALID("1E10");
    VALID("1e+10");
    VALID("1e-10");
    VALID("1.5E-3");
    VALID("-0.0");
    VALID("0e0");
    VALID("-0E-0");
    VALID("0.000001");
    VALID("123456789012345678901234567890123456789012345678901234567890");
    VALID("1e999999999999");
    VALID("-123.456e+789");
    VALID("[0,1,-1,0.5,1e3]");

    /* strings and escapes */

    VALID("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"");
    VALID("\"\\u0000\"");
    VALID("\"\\u0041\\u00e9\\u00E9\\uFFFF\\uffff\\u20AC\"");
    VALID("\"\\uD83D\\uDE00\"");
    VALID("\"\\ud83d\\ude00\"");
    VALID("\"\\uDBFF\\uDFFF\"");
    VALID("\"\\uD800\\uDC00\"");
    VALID("\"a\\uD83D\\uDE00b\\uD83D\\uDE00\"");
    VALID("\"\xc3\xa9\"");
    VALID("\"\xe2\x82\xac\"");
    VALID("\"\xf0\x9f\x98\x80\"");
    VALID("\"\xef\xbf\xbf\"");
    VALID("\"\xf4\x8f\xbf\xbf\"");
    VALID("\"\xed\x9f\xbf\"");
    VALID("\"\xee\x80\x80\"");
    VALID("\"\x7f\"");
    VALID("\"{[:,]}\"");

    /* objects and arrays */

    VALID("{}");
    VALID("[]");
    VALID("{ }");
    VALID("[ ]");
    VALID("{\"a\":1}");
    VALID("{ \"a\" : 1 , \"b\" : [ true , false , null ] }");
    VALID("{\"a\":{\"b\":{\"c\":[[],[{}],{\"d\":\"e\"}]}}}");
    VALID("[[[[[[[[[[]]]]]]]]]]");
    VALID("[1,\"two\",{\"three\":3},[4],true,false,null]");
    VALID("{\"\":\"\"}");
    VALID("{\"a\":1,\"a\":2}");
    VALID("\n{\n\t\"k\": \"v\"\r\n}\n");
    VALID("[\"\\u00e9\", \"\xc3\xa9\"]");
}


/* scalars it refuses, with the offset and the reason */

static void
test_invalid_values(void)
{
    /* empty */

    INVALID("", 0, "the body is empty");
    INVALID("   ", 3, "the body is empty");
    INVALID(" \t\r\n", 4, "the body is empty");

    /* whitespace is only the four */

    INVALID("\f1", 0, "expected a value");
    INVALID("\v1", 0, "expected a value");
    INVALID("1\f", 1, "unexpected data after the JSON value");
    INVALID("\xc2\xa0" "1", 0, "expected a value");
    INVALID("\xef\xbb\xbf" "1", 0, "expected a value");

    /* literals */

    INVALID("tru", 3, "unexpected end of the JSON");
    INVALID("trUe", 2, "invalid literal");
    INVALID("True", 0, "expected a value");
    INVALID("nul", 3, "unexpected end of the JSON");
    INVALID("nulll", 4, "unexpected data after the JSON value");
    INVALID("fals", 4, "unexpected end of the JSON");
    INVALID("[falsy]", 5, "invalid literal");
    INVALID("NaN", 0, "expected a value");
    INVALID("Infinity", 0, "expected a value");
    INVALID("undefined", 0, "expected a value");

    /* numbers */

    INVALID("01", 1, "invalid number");
    INVALID("-01", 2, "invalid number");
    INVALID("00", 1, "invalid number");
    INVALID("+1", 0, "expected a value");
    INVALID(".5", 0, "expected a value");
    INVALID("-", 1, "invalid number");
    INVALID("-a", 1, "invalid number");
    INVALID("--1", 1, "invalid number");
    INVALID("1.", 2, "invalid number");
    INVALID("[1.]", 3, "invalid number");
    INVALID("1.e5", 2, "invalid number");
    INVALID("1e", 2, "invalid number");
    INVALID("1e+", 3, "invalid number");
    INVALID("1E-", 3, "invalid number");
    INVALID("1e+-1", 3, "invalid number");
    INVALID("0x1F", 1, "unexpected data after the JSON value");
    INVALID("-Infinity", 1, "invalid number");
    INVALID("-NaN", 1, "invalid number");
    INVALID("1 2", 2, "unexpected data after the JSON value");
    INVALID("1.5.5", 3, "unexpected data after the JSON value");
    INVALID("[01]", 2, "invalid number");
    INVALID("{\"a\":-}", 6, "invalid number");
}


/* strings it refuses: escapes, surrogates, UTF-8, NUL bytes */

static void
test_invalid_strings(void)
{
    /* strings */

    INVALID("\"abc", 4, "unexpected end of the JSON");
    INVALID("\"", 1, "unexpected end of the JSON");
    INVALID("\"\\", 2, "unexpected end of the JSON");
    INVALID("'a'", 0, "expected a value");
    INVALID("\"a\tb\"", 2, "control character in a string");
    INVALID("\"a\nb\"", 2, "control character in a string");
    INVALID("\"\x1f\"", 1, "control character in a string");
    INVALID("\"\x01\"", 1, "control character in a string");
    INVALID("\"\\x41\"", 2, "invalid escape in a string");
    INVALID("\"\\a\"", 2, "invalid escape in a string");
    INVALID("\"\\U0041\"", 2, "invalid escape in a string");
    INVALID("\"\\'\"", 2, "invalid escape in a string");
    INVALID("\"\\u12G4\"", 5, "invalid unicode escape in a string");
    INVALID("\"\\u123\"", 6, "invalid unicode escape in a string");
    INVALID("\"\\u\"", 3, "invalid unicode escape in a string");
    INVALID("\"\\u12", 5, "unexpected end of the JSON");
    INVALID("\"\\u{41}\"", 3, "invalid unicode escape in a string");

    /* surrogate escapes: the error is at the backslash of the lone one */

    INVALID("\"\\uD83D\"", 1, "unpaired surrogate in a string");
    INVALID("\"\\uDE00\"", 1, "unpaired surrogate in a string");
    INVALID("\"ab\\uDE00\\uD83D\"", 3, "unpaired surrogate in a string");
    INVALID("\"\\uD83Dx\"", 1, "unpaired surrogate in a string");
    INVALID("\"\\uD83D\\n\"", 1, "unpaired surrogate in a string");
    INVALID("\"\\uD83D\\x\"", 1, "unpaired surrogate in a string");
    INVALID("\"\\uD83D\\u0041\"", 1, "unpaired surrogate in a string");
    INVALID("\"\\uD83D\\uD83D\\uDE00\"", 1, "unpaired surrogate in a string");
    INVALID("\"\\uD83D\\uDG00\"", 10, "invalid unicode escape in a string");
    INVALID("\"\\uD83D", 7, "unexpected end of the JSON");
    INVALID("\"\\uD83D\\", 8, "unexpected end of the JSON");
    INVALID("\"\\uD83D\\uDE", 11, "unexpected end of the JSON");

    /* UTF-8: the error is at the first byte of the sequence */

    INVALID("\"\x80\"", 1, "invalid UTF-8 in a string");
    INVALID("\"\xbf\"", 1, "invalid UTF-8 in a string");
    INVALID("\"\xc0\x80\"", 1, "invalid UTF-8 in a string");
    INVALID("\"\xc1\xbf\"", 1, "invalid UTF-8 in a string");
    INVALID("\"\xe0\x80\x80\"", 1, "invalid UTF-8 in a string");
    INVALID("\"\xe0\x9f\xbf\"", 1, "invalid UTF-8 in a string");
    INVALID("\"\xf0\x80\x80\x80\"", 1, "invalid UTF-8 in a string");
    INVALID("\"\xf0\x8f\xbf\xbf\"", 1, "invalid UTF-8 in a string");
    INVALID("\"\xed\xa0\x80\"", 1, "invalid UTF-8 in a string");
    INVALID("\"\xed\xbf\xbf\"", 1, "invalid UTF-8 in a string");
    INVALID("\"\xed\xa0\xbd\xed\xb8\x80\"", 1, "invalid UTF-8 in a string");
    INVALID("\"\xf4\x90\x80\x80\"", 1, "invalid UTF-8 in a string");
    INVALID("\"\xf5\x80\x80\x80\"", 1, "invalid UTF-8 in a string");
    INVALID("\"\xf8\x88\x80\x80\x80\"", 1, "invalid UTF-8 in a string");
    INVALID("\"\xff\"", 1, "invalid UTF-8 in a string");
    INVALID("\"\xfe\xff\"", 1, "invalid UTF-8 in a string");
    INVALID("\"ab\xc3\"", 3, "invalid UTF-8 in a string");
    INVALID("\"\xe2\x82\"", 1, "invalid UTF-8 in a string");
    INVALID("\"\xf0\x9f\x98\"", 1, "invalid UTF-8 in a string");
    INVALID("\"\xc3\x41\"", 1, "invalid UTF-8 in a string");
    INVALID("\"\xc3", 2, "unexpected end of the JSON");
    INVALID("\"\xf0\x9f\x98", 4, "unexpected end of the JSON");
    INVALID("\xc3\xa9", 0, "expected a value");
    INVALID("{\"\xc3\xa9\xff\":1}", 4, "invalid UTF-8 in a string");

    /* NUL bytes */

    INVALID("\0", 0, "expected a value");
    INVALID("\"a\0b\"", 2, "control character in a string");
    INVALID("1\0", 1, "unexpected data after the JSON value");
    INVALID("[1,\0]", 3, "expected a value");
    INVALID("{\"a\":1}\0", 7, "unexpected data after the JSON value");
    INVALID(" \0 1", 1, "expected a value");
    INVALID("tr\0e", 2, "invalid literal");
    INVALID("{\"a\"\0:1}", 4, "expected ':' after an object key");
    INVALID("\"\\\0\"", 2, "invalid escape in a string");
    INVALID("\"\\u00\0\"", 5, "invalid unicode escape in a string");
    INVALID("\"\xc3\0\"", 1, "invalid UTF-8 in a string");
}


/* objects, arrays and data after the value it refuses */

static void
test_invalid_structures(void)
{
    /* objects */

    INVALID("{", 1, "unexpected end of the JSON");
    INVALID("{ ", 2, "unexpected end of the JSON");
    INVALID("{\"a\"", 4, "unexpected end of the JSON");
    INVALID("{\"a\":", 5, "unexpected end of the JSON");
    INVALID("{\"a\":1", 6, "unexpected end of the JSON");
    INVALID("{\"a\":1,", 7, "unexpected end of the JSON");
    INVALID("{\"a\" 1}", 5, "expected ':' after an object key");
    INVALID("{\"a\"=1}", 4, "expected ':' after an object key");
    INVALID("{\"a\":1,}", 7, "expected a string as an object key");
    INVALID("{,}", 1, "expected a string as an object key");
    INVALID("{a:1}", 1, "expected a string as an object key");
    INVALID("{1:1}", 1, "expected a string as an object key");
    INVALID("{'a':1}", 1, "expected a string as an object key");
    INVALID("{null:1}", 1, "expected a string as an object key");
    INVALID("{\"a\":}", 5, "expected a value");
    INVALID("{\"a\":1 \"b\":2}", 7, "expected ',' or '}' in an object");
    INVALID("{\"a\":1]", 6, "expected ',' or '}' in an object");
    INVALID("{\"a\":1;\"b\":2}", 6, "expected ',' or '}' in an object");
    INVALID("{\"a\":1,,\"b\":2}", 7, "expected a string as an object key");
    INVALID("{}}", 2, "unexpected data after the JSON value");

    /* arrays */

    INVALID("[", 1, "unexpected end of the JSON");
    INVALID("[1", 2, "unexpected end of the JSON");
    INVALID("[1,", 3, "unexpected end of the JSON");
    INVALID("[1,]", 3, "expected a value");
    INVALID("[,]", 1, "expected a value");
    INVALID("[,1]", 1, "expected a value");
    INVALID("[1,,2]", 3, "expected a value");
    INVALID("[1 2]", 3, "expected ',' or ']' in an array");
    INVALID("[1}", 2, "expected ',' or ']' in an array");
    INVALID("[1:2]", 2, "expected ',' or ']' in an array");
    INVALID("[\"a\":1]", 4, "expected ',' or ']' in an array");
    INVALID("]", 0, "expected a value");
    INVALID("[]]", 2, "unexpected data after the JSON value");
    INVALID("[][]", 2, "unexpected data after the JSON value");
    INVALID("[[1,[2,]]]", 7, "expected a value");

    /* trailing data */

    INVALID("\"a\"\"b\"", 3, "unexpected data after the JSON value");
    INVALID("{} x", 3, "unexpected data after the JSON value");
    INVALID("true false", 5, "unexpected data after the JSON value");
    INVALID("null,", 4, "unexpected data after the JSON value");
    INVALID("1 // comment", 2, "unexpected data after the JSON value");
    INVALID("/* c */ 1", 0, "expected a value");
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(test_valid),
    KVS_TEST_CASE(test_invalid_values),
    KVS_TEST_CASE(test_invalid_strings),
    KVS_TEST_CASE(test_invalid_structures),
    KVS_TEST_CASE(test_depth),
    KVS_TEST_CASE(test_prefixes),
    KVS_TEST_CASE(test_bytes),
    KVS_TEST_CASE(test_utf8_sequences),
    KVS_TEST_CASE(test_null_args),
    KVS_TEST_CASE(test_encode),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    NULL, NULL, kvs_test_cases
};
