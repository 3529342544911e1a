/*
 * Member lists in JSON, and the addresses members are called at; see
 * kvs_members.h.  Parsing uses cJSON: a list comes from a peer that proved
 * it holds the cluster's secret, but is still checked field by field,
 * since a bad list must change nothing.
 */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <cjson/cJSON.h>

#include "kvs_json.h"
#include "kvs_members.h"


static int kvs_address_ipv4(const char *s, size_t len);


static const char  *kvs_member_states[] = { "alive", "failed", "left" };

/* a name is copied into kvs_member_t with its NUL */
_Static_assert(sizeof(((kvs_member_t *) 0)->node_id) > KVS_MEMBER_NAME_MAX
               && sizeof(((kvs_member_t *) 0)->address) > KVS_MEMBER_NAME_MAX,
               "kvs_member_t holds a name of KVS_MEMBER_NAME_MAX bytes");


const char *
kvs_member_state_name(int state)
{
    if (state < 0 || state > KVS_MEMBER_LEFT) {
        return "failed";
    }

    return kvs_member_states[state];
}


int
kvs_member_state(const kvs_member_t *m, uint64_t now, uint64_t failure_ms)
{
    if (m->state == KVS_MEMBER_ALIVE && now > m->last_seen
        && now - m->last_seen > failure_ms)
    {
        return KVS_MEMBER_FAILED;
    }

    return m->state;
}


const char *
kvs_member_name_check(const char *s, size_t len)
{
    size_t  i;

    if (len == 0) {
        return "is empty";
    }

    if (len > KVS_MEMBER_NAME_MAX) {
        return "is longer than 255 bytes";
    }

    for (i = 0; i < len; i++) {
        if ((unsigned char) s[i] < 0x20 || s[i] == '"' || s[i] == '\\') {
            return "has a control byte, a quote or a backslash";
        }
    }

    /* cJSON takes any bytes in a string; lists written must be JSON */
    if (kvs_json_utf8_check((const uint8_t *) s, len) != 0) {
        return "is not valid UTF-8";
    }

    return NULL;
}


/*
 * The one parser of a peer's address: the configuration's checks, the
 * agent's client and the cluster listener's check all take an address
 * apart here.  "host:port", "http://host:port" or "https://host:port",
 * and nothing else: no user, no path, not even a trailing "/", because
 * the agent builds its request URIs on the bare authority.  The scheme is
 * matched without regard to case, as URLs have it.  A host with a colon
 * must be a bracketed IPv6 literal, otherwise "::1:8080" would be
 * ambiguous.  The port is taken after the last colon: 1..65535, digits
 * only.
 */

int
kvs_address_parse(const char *s, size_t len, kvs_address_t *a)
{
    int          port;
    size_t       i, n;
    const char  *p, *end, *colon;

    p = s;
    end = s + len;
    a->ssl = 0;

    if (len > 7 && strncasecmp(p, "http://", 7) == 0) {
        p += 7;

    } else if (len > 8 && strncasecmp(p, "https://", 8) == 0) {
        p += 8;
        a->ssl = 1;
    }

    colon = NULL;

    for (i = 0; i < (size_t) (end - p); i++) {
        if (p[i] == ':') {
            colon = p + i;
        }
    }

    if (colon == NULL || colon == p) {
        return -1;
    }

    n = (size_t) (colon - p);

    if (p[0] == '[') {

        /* "[" inner "]": the inner part is left to the resolver */
        if (n < 3 || p[n - 1] != ']') {
            return -1;
        }

        for (i = 1; i < n - 1; i++) {
            if (p[i] <= ' ' || p[i] >= 0x7f || p[i] == '[' || p[i] == ']'
                || p[i] == '/')
            {
                return -1;
            }
        }

    } else {

        /* no blanks, controls, 8-bit bytes or URL delimiters */
        for (i = 0; i < n; i++) {
            if (p[i] <= ' ' || p[i] >= 0x7f
                || strchr(":/?#@[]\\", p[i]) != NULL)
            {
                return -1;
            }
        }
    }

    /* at most 5 digits, so the value cannot overflow */
    if (end - (colon + 1) < 1 || end - (colon + 1) > 5) {
        return -1;
    }

    port = 0;

    for (p = colon + 1; p < end; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }

        port = port * 10 + (*p - '0');
    }

    if (port < 1 || port > 65535) {
        return -1;
    }

    a->host = colon - n;
    a->host_len = n;
    a->ip = a->host[0] == '[' || kvs_address_ipv4(a->host, n);
    a->authority = a->host;
    a->authority_len = (size_t) (end - a->host);
    a->port = port;

    return 0;
}



/* four decimal numbers of 0..255, dotted: how a name is told from an
 * IPv4 address, which may go neither into SNI nor a DNS name check */

static int
kvs_address_ipv4(const char *s, size_t len)
{
    size_t  i, parts, digits;
    int     v;

    parts = 1;
    digits = 0;
    v = 0;

    for (i = 0; i < len; i++) {
        if (s[i] == '.') {
            if (digits == 0 || ++parts > 4) {
                return 0;
            }

            digits = 0;
            v = 0;
            continue;
        }

        if (s[i] < '0' || s[i] > '9' || ++digits > 3) {
            return 0;
        }

        v = v * 10 + (s[i] - '0');

        if (v > 255) {
            return 0;
        }
    }

    return parts == 4 && digits > 0;
}


/*
 * JSON string escaping: quote, backslash and control bytes.  Lists from
 * peers and this node's own names have none (kvs_member_name_check()), but
 * a record stored by an older build may.
 */

static size_t
kvs_members_escape(const char *s, char *out)
{
    char       *p;
    unsigned    c;

    p = out;

    for ( /* void */ ; *s; s++) {
        c = (unsigned char) *s;

        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char) c;

        } else if (c < 0x20) {
            p += sprintf(p, "\\u%04x", c);

        } else {
            *p++ = (char) c;
        }
    }

    return (size_t) (p - out);
}


size_t
kvs_members_encode_size(const kvs_member_t *m, size_t n)
{
    size_t  i, len;

    len = 3;

    for (i = 0; i < n; i++) {
        len += sizeof("{\"id\":\"\",\"address\":\"\",\"last_seen\":,"
                      "\"joined_timestamp\":,\"state\":\"failed\"},") - 1
               + 2 * 20 + 6 * (strlen(m[i].node_id) + strlen(m[i].address));
    }

    return len;
}


size_t
kvs_members_encode(const kvs_member_t *m, size_t n, char *out)
{
    char    *p;
    size_t   i;

    p = out;
    *p++ = '[';

    for (i = 0; i < n; i++) {
        if (i) {
            *p++ = ',';
        }

        p += sprintf(p, "{\"id\":\"");
        p += kvs_members_escape(m[i].node_id, p);
        p += sprintf(p, "\",\"address\":\"");
        p += kvs_members_escape(m[i].address, p);
        p += sprintf(p, "\",\"last_seen\":%" PRIu64 ",\"joined_timestamp\":%"
                     PRIu64 ",\"state\":\"%s\"}",
                     m[i].last_seen, m[i].joined_timestamp,
                     kvs_member_state_name(m[i].state));
    }

    *p++ = ']';

    return (size_t) (p - out);
}


/* 0; -1 when the field is missing or no string; -2 when it is no name */

static int
kvs_members_string(cJSON *item, const char *name, char *out)
{
    cJSON  *v;
    size_t  len;

    v = cJSON_GetObjectItemCaseSensitive(item, name);

    if (!cJSON_IsString(v) || v->valuestring == NULL) {
        return -1;
    }

    len = strlen(v->valuestring);

    if (kvs_member_name_check(v->valuestring, len) != NULL) {
        return -2;
    }

    memcpy(out, v->valuestring, len + 1);

    return 0;
}


static int
kvs_members_number(cJSON *item, const char *name, uint64_t *out)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(item, name);

    if (!cJSON_IsNumber(v) || v->valuedouble < 0
        || v->valuedouble > 9007199254740992.0)
    {
        return -1;
    }

    *out = (uint64_t) v->valuedouble;

    return 0;
}


int
kvs_members_parse(const char *json, size_t len, kvs_member_t *m, size_t max,
    const char **why)
{
    int             rc, state;
    size_t          n;
    cJSON          *root, *item, *v;
    kvs_address_t   a;

    root = cJSON_ParseWithLength(json, len);

    if (root == NULL || !cJSON_IsArray(root)) {
        cJSON_Delete(root);
        *why = "the member list is not a JSON array";
        return -1;
    }

    n = 0;

    cJSON_ArrayForEach(item, root) {
        if (n == max) {
            cJSON_Delete(root);
            *why = "the member list is too long";
            return -1;
        }

        memset(&m[n], 0, sizeof(kvs_member_t));

        rc = cJSON_IsObject(item) ? 0 : -1;

        if (rc == 0) {
            rc = kvs_members_string(item, "id", m[n].node_id);
        }

        if (rc == 0) {
            rc = kvs_members_string(item, "address", m[n].address);
        }

        if (rc == -2) {
            cJSON_Delete(root);
            *why = "a member's id or address is empty, longer than 255 "
                   "bytes, not UTF-8, or has a control byte, a quote or a "
                   "backslash";
            return -1;
        }

        if (rc == 0
            && kvs_address_parse(m[n].address, strlen(m[n].address), &a)
               != 0)
        {
            cJSON_Delete(root);
            *why = "a member's address is not host:port, nor http:// or "
                   "https:// of one";
            return -1;
        }

        if (rc != 0
            || kvs_members_number(item, "last_seen", &m[n].last_seen) != 0
            || kvs_members_number(item, "joined_timestamp",
                                  &m[n].joined_timestamp) != 0)
        {
            cJSON_Delete(root);
            *why = "a member needs id, address, last_seen and "
                   "joined_timestamp";
            return -1;
        }

        v = cJSON_GetObjectItemCaseSensitive(item, "state");
        state = KVS_MEMBER_ALIVE;

        if (cJSON_IsString(v)) {
            for (state = 0; state <= KVS_MEMBER_LEFT; state++) {
                if (strcmp(v->valuestring, kvs_member_states[state]) == 0) {
                    break;
                }
            }

            if (state > KVS_MEMBER_LEFT) {
                cJSON_Delete(root);
                *why = "a member's state is not alive, failed or left";
                return -1;
            }
        }

        m[n].state = state;
        m[n].own = 0;
        n++;
    }

    cJSON_Delete(root);

    return (int) n;
}


size_t
kvs_members_filter(kvs_member_t *m, size_t n, const char *self,
    uint64_t oldest, uint64_t newest)
{
    size_t  i;

    for (i = 0; i < n; /* void */ ) {
        if (strcmp(m[i].node_id, self) == 0 || m[i].last_seen < oldest
            || m[i].last_seen > newest)
        {
            m[i] = m[--n];
            continue;
        }

        i++;
    }

    return n;
}
