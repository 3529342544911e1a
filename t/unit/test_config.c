/*
 * Unit tests for src/kvs/kvs_config.c, printed as TAP.
 *
 * Each case writes its YAML into a fresh directory made with mkdtemp() and
 * loads it by a relative name, so that the expected error sentences can be
 * compared byte for byte, "<file>:<line>: <key>: <problem>" included,
 * without depending on where the test runs.  The program is meant to be
 * built with -fsanitize=address,undefined: the many loads, reloads and
 * frees after failures are as much a leak and double-free test as a test of
 * the values.  It exits non-zero when any check fails.
 *
 *   gcc -std=gnu11 -Wall -Wextra -Werror -g -fsanitize=address,undefined \
 *       -Isrc/kvs src/kvs/kvs_config.c t/unit/test_config.c -lyaml \
 *       -o /tmp/test_config && /tmp/test_config
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvs_config.h"

#include "kvs_test.h"


#define KVS_TEST_MAXFILES  32

#define KVS_TEST_KIB       1024ULL
#define KVS_TEST_MIB       (1024ULL * 1024)
#define KVS_TEST_GIB       (1024ULL * 1024 * 1024)
#define KVS_TEST_TIB       (1024ULL * 1024 * 1024 * 1024)


/* seed nodes need a cluster_secret; 16 bytes is the shortest one taken */
#define KVS_TEST_SECRET    "0123456789abcdef"
#define KVS_TEST_SECRET_YAML                                                  \
    "cluster_secret: " KVS_TEST_SECRET "\n"


#define CHECK_STR(got, want, desc)                                            \
    kvs_test_str(got, want, desc)


typedef struct {
    const char  *yaml;
    const char  *want;
    const char  *desc;
} kvs_test_fail_t;


typedef struct {
    const char  *yaml;
    size_t       json;
    size_t       db;
    const char  *desc;
} kvs_test_size_t;


static char   kvs_test_dir[] = "/tmp/kvs_config_test.XXXXXX";
static char  *kvs_test_files[KVS_TEST_MAXFILES];
static int    kvs_test_nfiles;


/* remembers each name once so that the cleanup can unlink it */

static void
kvs_test_write(const char *name, const char *text)
{
    int    i;
    FILE  *fp;

    fp = fopen(name, "w");
    if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) != 0) {
        printf("Bail out! cannot write %s: %s\n", name, strerror(errno));
        exit(2);
    }

    for (i = 0; i < kvs_test_nfiles; i++) {
        if (strcmp(kvs_test_files[i], name) == 0) {
            return;
        }
    }

    if (kvs_test_nfiles == KVS_TEST_MAXFILES) {
        printf("Bail out! too many fixture files\n");
        exit(2);
    }

    kvs_test_files[kvs_test_nfiles++] = strdup(name);
}


/* defaults, then the text as "name"; the caller frees cf */

static int
kvs_test_load(const char *name, const char *text, kvs_config_t *cf,
    char *err, size_t errlen)
{
    if (kvs_config_defaults(cf) != 0) {
        printf("Bail out! kvs_config_defaults() failed\n");
        exit(2);
    }

    kvs_test_write(name, text);

    return kvs_config_load(cf, name, err, errlen);
}


static void
kvs_test_defaults(void)
{
    char          host[256];
    const char   *want;
    kvs_config_t  cf;

    CHECK(kvs_config_defaults(&cf) == 0, "defaults: returns 0");

    if (gethostname(host, sizeof(host)) != 0) {
        host[0] = '\0';
    }

    host[sizeof(host) - 1] = '\0';
    want = host[0] != '\0' ? host : "localhost";

    CHECK_STR(cf.node_id, want, "defaults: node_id is the host name");
    CHECK_STR(cf.bind_address, "127.0.0.1", "defaults: bind_address");
    CHECK(cf.port == 8080, "defaults: port 8080");
    CHECK_STR(cf.data_dir, "./data", "defaults: data_dir");
    CHECK(cf.seed_nodes == NULL && cf.nseed_nodes == 0,
          "defaults: no seed nodes");
    CHECK(cf.read_only == 0, "defaults: read_only false");
    CHECK(cf.log_level == KVS_LOG_INFO, "defaults: log_level info");
    CHECK(cf.gossip_interval_min == 60 && cf.gossip_interval_max == 120,
          "defaults: gossip intervals 60..120");
    CHECK(cf.sync_interval == 300, "defaults: sync_interval 300");
    CHECK(cf.catchup_interval == 120, "defaults: catchup_interval 120");
    CHECK(cf.bootstrap_max_age_hours == 720,
          "defaults: bootstrap_max_age_hours 720");
    CHECK(cf.throttle_delay_ms == 100, "defaults: throttle_delay_ms 100");
    CHECK(cf.fetch_delay_ms == 50, "defaults: fetch_delay_ms 50");
    CHECK(cf.max_json_size == 1048576, "defaults: max_json_size 1 MiB");
    CHECK(cf.max_db_size == 1073741824, "defaults: max_db_size 1 GiB");
    CHECK(cf.cluster_secret == NULL, "defaults: no cluster_secret");
    CHECK(cf.failure_timeout == 300, "defaults: failure_timeout 300");
    CHECK(cf.removal_timeout == 600, "defaults: removal_timeout 600");
    CHECK(cf.peer_ca_file == NULL, "defaults: no peer_ca_file");
    CHECK(cf.peer_cert_file == NULL && cf.peer_key_file == NULL,
          "defaults: no client certificate for peers");
    CHECK(cf.peer_timeout == 5, "defaults: peer_timeout 5");
    CHECK(cf.peer_resolve_interval == 5,
          "defaults: peer_resolve_interval 5");
    CHECK(cf.compression_enabled == 1, "defaults: compression_enabled true");
    CHECK(cf.compression_level == 3, "defaults: compression_level 3");
    CHECK(cf.compression_min_size == 256,
          "defaults: compression_min_size 256");
    CHECK(cf.default_ttl == 0, "defaults: default_ttl 0, no expiry");
    CHECK(cf.revision_history == 3, "defaults: revision_history 3");
    CHECK(cf.auth_enabled == 0, "defaults: auth_enabled false");
    CHECK(cf.jwt_secret_file.path == NULL && cf.jwt_secret_file.line == 0,
          "defaults: no jwt_secret_file");
    CHECK(cf.admin_password_file.path == NULL
          && cf.admin_password_file.line == 0,
          "defaults: no admin_password_file");
    CHECK(cf.token_ttl == 3600, "defaults: token_ttl 3600");
    CHECK(cf.default_permissions == 0xf11, "defaults: default_permissions "
          "f11");
    CHECK(cf.top_level_create == KVS_TOP_LEVEL_ANY,
          "defaults: top_level_create any");
    CHECK(cf.password_threads == 1, "defaults: password_threads 1");
    CHECK(cf.metrics_enabled == 1, "defaults: metrics_enabled true");
    CHECK(cf.rate_limit_requests == 0, "defaults: rate_limit_requests 0, "
          "no limit");
    CHECK(cf.rate_limit_window == 60, "defaults: rate_limit_window 60");
    CHECK(cf.rate_limit_zone_size == KVS_TEST_MIB,
          "defaults: rate_limit_zone_size 1 MiB");

    kvs_config_free(&cf);
    CHECK(cf.node_id == NULL && cf.bind_address == NULL
          && cf.data_dir == NULL && cf.seed_nodes == NULL
          && cf.cluster_secret == NULL && cf.peer_ca_file == NULL,
          "free after defaults clears the pointers");

    /* a second free must be harmless; ASan would report otherwise */
    kvs_config_free(&cf);
    CHECK(1, "free twice after defaults");
}


static void
kvs_test_empty(void)
{
    int           rc;
    char          err[KVS_CONFIG_ERRLEN];
    kvs_config_t  cf;

    rc = kvs_test_load("empty.yaml", "", &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.port == 8080 && cf.max_db_size == KVS_TEST_GIB,
          "empty file: all defaults");
    kvs_config_free(&cf);

    rc = kvs_test_load("empty.yaml", "# only a comment\n\n", &cf, err,
                       sizeof(err));
    CHECK(rc == 0 && cf.port == 8080, "comment-only file: all defaults");
    kvs_config_free(&cf);

    rc = kvs_test_load("empty.yaml", "---\n", &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.port == 8080, "bare document marker: all defaults");
    kvs_config_free(&cf);
}


static void
kvs_test_full(void)
{
    int           rc;
    char          err[KVS_CONFIG_ERRLEN];
    kvs_config_t  cf;

    static const char  yaml[] =
        "# node 1 of the test cluster\n"
        "node_id: \"node #1\"        # the '#' inside quotes is kept\n"
        "bind_address: '0.0.0.0'\n"
        "port: 9090\n"
        "data_dir: /var/lib/kvs\n"
        "seed_nodes:\n"
        "  - \"10.0.0.2:9090\"\n"
        "  - http://10.0.0.3:9090   # a URL is fine too\n"
        "read_only: Yes\n"
        "log_level: debug\n"
        "gossip_interval_min: 30\n"
        "gossip_interval_max: 90\n"
        "sync_interval: 600\n"
        "catchup_interval: 60\n"
        "bootstrap_max_age_hours: 48\n"
        "throttle_delay_ms: 0\n"
        "fetch_delay_ms: 600000\n"
        "max_json_size: 2m\n"
        "max_db_size: 10G\n"
        "cluster_secret: 'correct horse battery staple'\n"
        "failure_timeout: 30\n"
        "removal_timeout: 60.5\n"
        "peer_ca_file: /etc/kvs/ca.pem\n"
        "peer_timeout: 0.5\n"
        "peer_resolve_interval: 30\n";

    err[0] = 'x';
    rc = kvs_test_load("full.yaml", yaml, &cf, err, sizeof(err));

    CHECK(rc == 0, "full file: loads");
    CHECK(err[0] == '\0', "full file: err is empty on success");
    CHECK_STR(cf.node_id, "node #1", "full file: double-quoted node_id");
    CHECK_STR(cf.bind_address, "0.0.0.0",
              "full file: single-quoted bind_address");
    CHECK(cf.port == 9090, "full file: port");
    CHECK_STR(cf.data_dir, "/var/lib/kvs", "full file: data_dir");
    CHECK(cf.nseed_nodes == 2, "full file: two seed nodes");

    if (cf.nseed_nodes == 2) {
        CHECK_STR(cf.seed_nodes[0], "10.0.0.2:9090", "full file: seed 1");
        CHECK_STR(cf.seed_nodes[1], "http://10.0.0.3:9090",
                  "full file: seed 2, trailing comment dropped");

    } else {
        CHECK(0, "full file: seed 1");
        CHECK(0, "full file: seed 2, trailing comment dropped");
    }

    CHECK(cf.read_only == 1, "full file: read_only Yes");
    CHECK(cf.log_level == KVS_LOG_DEBUG, "full file: log_level debug");
    CHECK(cf.gossip_interval_min == 30 && cf.gossip_interval_max == 90,
          "full file: gossip intervals");
    CHECK(cf.sync_interval == 600 && cf.catchup_interval == 60,
          "full file: sync and catchup intervals");
    CHECK(cf.bootstrap_max_age_hours == 48,
          "full file: bootstrap_max_age_hours");
    CHECK(cf.throttle_delay_ms == 0, "full file: throttle_delay_ms 0");
    CHECK(cf.fetch_delay_ms == 600000, "full file: fetch_delay_ms 600000");
    CHECK(cf.max_json_size == 2 * KVS_TEST_MIB, "full file: max_json_size");
    CHECK(cf.max_db_size == 10 * KVS_TEST_GIB, "full file: max_db_size");
    CHECK_STR(cf.cluster_secret, "correct horse battery staple",
              "full file: cluster_secret");
    CHECK(cf.failure_timeout == 30 && cf.removal_timeout == 60.5,
          "full file: failure and removal timeouts");
    CHECK_STR(cf.peer_ca_file, "/etc/kvs/ca.pem", "full file: peer_ca_file");
    CHECK(cf.peer_timeout == 0.5, "full file: peer_timeout");
    CHECK(cf.peer_resolve_interval == 30,
          "full file: peer_resolve_interval");

    /* loading over a loaded config must free what it replaces; the seed
     * nodes are fine with the secret the first file gave */
    kvs_test_write("over.yaml",
                   "node_id: other\nseed_nodes: [x:1]\ndata_dir: /d\n"
                   "peer_ca_file: ca2.pem\n");
    rc = kvs_config_load(&cf, "over.yaml", err, sizeof(err));
    CHECK(rc == 0 && strcmp(cf.node_id, "other") == 0
          && cf.nseed_nodes == 1 && strcmp(cf.seed_nodes[0], "x:1") == 0
          && cf.port == 9090 && strcmp(cf.peer_ca_file, "ca2.pem") == 0
          && strcmp(cf.cluster_secret, "correct horse battery staple") == 0,
          "second load replaces only its keys");

    kvs_test_write("over.yaml", KVS_TEST_SECRET_YAML);
    rc = kvs_config_load(&cf, "over.yaml", err, sizeof(err));
    CHECK(rc == 0 && strcmp(cf.cluster_secret, KVS_TEST_SECRET) == 0,
          "second load replaces the secret");

    kvs_config_free(&cf);
}


static void
kvs_test_fractions(void)
{
    int           rc;
    char          err[KVS_CONFIG_ERRLEN];
    kvs_config_t  cf;

    rc = kvs_test_load("frac.yaml",
                       "gossip_interval_min: 0.2\n"
                       "gossip_interval_max: .5\n"
                       "sync_interval: 1e2\n"
                       "catchup_interval: \"1.5\"\n"
                       "bootstrap_max_age_hours: 0.25\n",
                       &cf, err, sizeof(err));

    CHECK(rc == 0, "fractional intervals: load");
    CHECK(cf.gossip_interval_min == 0.2, "fractional: 0.2");
    CHECK(cf.gossip_interval_max == 0.5, "fractional: .5");
    CHECK(cf.sync_interval == 100, "fractional: exponent 1e2");
    CHECK(cf.catchup_interval == 1.5, "fractional: quoted 1.5");
    CHECK(cf.bootstrap_max_age_hours == 0.25, "fractional: hours 0.25");
    kvs_config_free(&cf);

    rc = kvs_test_load("frac.yaml",
                       "sync_interval: 31536000\n"
                       "gossip_interval_min: 7\n"
                       "gossip_interval_max: 7\n"
                       "bootstrap_max_age_hours: 876000\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.sync_interval == 31536000
          && cf.bootstrap_max_age_hours == 876000,
          "intervals: upper bounds are inclusive");
    CHECK(cf.gossip_interval_min == 7 && cf.gossip_interval_max == 7,
          "intervals: gossip min == max is allowed");
    kvs_config_free(&cf);

    rc = kvs_test_load("frac.yaml",
                       "sync_interval: 0.01\n"
                       "catchup_interval: 1e-2\n"
                       "gossip_interval_min: 0.01\n"
                       "gossip_interval_max: 0.010\n"
                       "peer_timeout: 0.1\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.sync_interval == 0.01
          && cf.catchup_interval == 0.01 && cf.gossip_interval_min == 0.01
          && cf.gossip_interval_max == 0.01 && cf.peer_timeout == 0.1,
          "intervals: 10 ms and a peer_timeout of 100 ms are allowed");
    kvs_config_free(&cf);
}


static void
kvs_test_sizes(void)
{
    int           rc;
    char          err[KVS_CONFIG_ERRLEN];
    size_t        i;
    kvs_config_t  cf;

    static const kvs_test_size_t  sizes[] = {
        { "max_json_size: 512k\n", 512 * KVS_TEST_KIB, KVS_TEST_GIB,
          "size: 512k" },
        { "max_json_size: 512K\n", 512 * KVS_TEST_KIB, KVS_TEST_GIB,
          "size: 512K upper case" },
        { "max_json_size: \"2m\"\n", 2 * KVS_TEST_MIB, KVS_TEST_GIB,
          "size: quoted 2m" },
        { "max_json_size: 1g\n", KVS_TEST_GIB, KVS_TEST_GIB,
          "size: max_json_size 1g is the upper bound" },
        { "max_json_size: 1\n", 1, KVS_TEST_GIB,
          "size: max_json_size 1 is the lower bound" },
        { "max_json_size: 4096\n", 4096, KVS_TEST_GIB,
          "size: plain bytes" },
        { "max_db_size: 4G\n", KVS_TEST_MIB, 4 * KVS_TEST_GIB,
          "size: max_db_size 4G" },
        { "max_db_size: 1m\n", KVS_TEST_MIB, KVS_TEST_MIB,
          "size: max_db_size 1m is the lower bound" },
        { "max_db_size: 1048576\n", KVS_TEST_MIB, KVS_TEST_MIB,
          "size: max_db_size 1048576 bytes" },
        { "max_db_size: 1024g\n", KVS_TEST_MIB, KVS_TEST_TIB,
          "size: max_db_size 1024g is the upper bound" },
        { "max_db_size: 1099511627776\n", KVS_TEST_MIB, KVS_TEST_TIB,
          "size: max_db_size 1 TiB in bytes" }
    };

    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        rc = kvs_test_load("size.yaml", sizes[i].yaml, &cf, err,
                           sizeof(err));

        /* a key left out keeps its default, which is what json/db say */
        CHECK(rc == 0 && cf.max_json_size == sizes[i].json
              && cf.max_db_size == sizes[i].db,
              sizes[i].desc);

        if (rc != 0) {
            printf("#   %s\n", err);
        }

        kvs_config_free(&cf);
    }
}


static void
kvs_test_seeds(void)
{
    int           rc;
    char          err[KVS_CONFIG_ERRLEN];
    kvs_config_t  cf;

    rc = kvs_test_load("seeds.yaml",
                       "seed_nodes: [a:1, \"b:2\", 'http://c:3']\n"
                       KVS_TEST_SECRET_YAML,
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.nseed_nodes == 3
          && strcmp(cf.seed_nodes[0], "a:1") == 0
          && strcmp(cf.seed_nodes[1], "b:2") == 0
          && strcmp(cf.seed_nodes[2], "http://c:3") == 0,
          "seeds: flow style");
    kvs_config_free(&cf);

    rc = kvs_test_load("seeds.yaml",
                       "seed_nodes:\n"
                       "- a:1\n"
                       "# a comment between items\n"
                       "- b:2\n"
                       "port: 1\n"
                       KVS_TEST_SECRET_YAML,
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.nseed_nodes == 2
          && strcmp(cf.seed_nodes[0], "a:1") == 0
          && strcmp(cf.seed_nodes[1], "b:2") == 0 && cf.port == 1,
          "seeds: block style");
    kvs_config_free(&cf);

    rc = kvs_test_load("seeds.yaml", "seed_nodes: []\n", &cf, err,
                       sizeof(err));
    CHECK(rc == 0 && cf.nseed_nodes == 0 && cf.seed_nodes == NULL,
          "seeds: empty flow sequence");
    kvs_config_free(&cf);

    rc = kvs_test_load("seeds.yaml", "seed_nodes: ~\n", &cf, err,
                       sizeof(err));
    CHECK(rc == 0 && cf.nseed_nodes == 0, "seeds: ~ means none");
    kvs_config_free(&cf);

    rc = kvs_test_load("seeds.yaml", "seed_nodes: null\n", &cf, err,
                       sizeof(err));
    CHECK(rc == 0 && cf.nseed_nodes == 0, "seeds: null means none");
    kvs_config_free(&cf);

    rc = kvs_test_load("seeds.yaml", "seed_nodes:\nport: 2\n", &cf, err,
                       sizeof(err));
    CHECK(rc == 0 && cf.nseed_nodes == 0 && cf.port == 2,
          "seeds: empty value means none");
    kvs_config_free(&cf);

    /* a list loaded earlier is dropped by an empty one, without a leak */
    rc = kvs_test_load("seeds.yaml",
                       "seed_nodes: [a:1]\n" KVS_TEST_SECRET_YAML, &cf, err,
                       sizeof(err));
    kvs_test_write("seeds2.yaml", "seed_nodes: []\n");
    rc |= kvs_config_load(&cf, "seeds2.yaml", err, sizeof(err));
    CHECK(rc == 0 && cf.nseed_nodes == 0 && cf.seed_nodes == NULL,
          "seeds: reload with an empty list clears the old one");
    kvs_config_free(&cf);
}


static void
kvs_test_cluster(void)
{
    int           rc;
    char          err[KVS_CONFIG_ERRLEN];
    kvs_config_t  cf;

    rc = kvs_test_load("c.yaml",
                       "seed_nodes: ['[::1]:1', https://b:443]\n"
                       "cluster_secret: \"0123456789abcdef\"\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.nseed_nodes == 2
          && strcmp(cf.cluster_secret, KVS_TEST_SECRET) == 0,
          "cluster: seeds with a 16-byte secret, secret after the seeds");
    kvs_config_free(&cf);
    CHECK(cf.cluster_secret == NULL, "cluster: free clears the secret");

    rc = kvs_test_load("c.yaml", "cluster_secret: 1234567890123456\n", &cf,
                       err, sizeof(err));
    CHECK(rc == 0 && strcmp(cf.cluster_secret, "1234567890123456") == 0,
          "cluster: a numeric-looking secret is its text");
    kvs_config_free(&cf);

    rc = kvs_test_load("c.yaml",
                       "cluster_secret: |\n"
                       "  a secret of\n"
                       "  two lines\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0
          && strcmp(cf.cluster_secret, "a secret of\ntwo lines\n") == 0,
          "cluster: a block scalar secret keeps its bytes");
    kvs_config_free(&cf);

    rc = kvs_test_load("c.yaml", "cluster_secret: " KVS_TEST_SECRET "\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.nseed_nodes == 0,
          "cluster: a secret without seeds is fine");
    kvs_config_free(&cf);

    rc = kvs_test_load("c.yaml", "seed_nodes: []\n", &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.cluster_secret == NULL,
          "cluster: an empty seed list needs no secret");
    kvs_config_free(&cf);

    rc = kvs_test_load("c.yaml",
                       "failure_timeout: 2.5\n"
                       "removal_timeout: 2.5\n"
                       "peer_timeout: 3600\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.failure_timeout == 2.5
          && cf.removal_timeout == 2.5 && cf.peer_timeout == 3600,
          "cluster: removal == failure allowed, peer_timeout upper bound");
    kvs_config_free(&cf);

    rc = kvs_test_load("c.yaml",
                       "removal_timeout: 0.2\n"
                       "failure_timeout: 0.1\n"
                       "peer_timeout: .15\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.failure_timeout == 0.1
          && cf.removal_timeout == 0.2 && cf.peer_timeout == 0.15,
          "cluster: fractional timeouts, removal key first");
    kvs_config_free(&cf);

    /* the second file's seeds rely on the first file's secret */
    rc = kvs_test_load("c.yaml", KVS_TEST_SECRET_YAML, &cf, err,
                       sizeof(err));
    kvs_test_write("c2.yaml", "seed_nodes: [a:1]\n");
    rc |= kvs_config_load(&cf, "c2.yaml", err, sizeof(err));
    CHECK(rc == 0 && cf.nseed_nodes == 1,
          "cluster: secret from an earlier load counts");
    kvs_config_free(&cf);

    /*
     * Seeds without a secret can only come from outside a load, as the
     * module could hand them over; a file without seed_nodes then gets the
     * error at its last line, as for gossip_interval_max.
     */
    kvs_config_defaults(&cf);
    cf.seed_nodes = calloc(1, sizeof(char *));
    cf.seed_nodes[0] = strdup("a:1");
    cf.nseed_nodes = 1;
    kvs_test_write("c.yaml", "port: 1\nnode_id: x\n");
    rc = kvs_config_load(&cf, "c.yaml", err, sizeof(err));
    CHECK(rc == -1, "cluster: earlier seeds, no secret: load fails");
    CHECK_STR(err, "c.yaml:2: seed_nodes: seed_nodes are set but "
              "cluster_secret is not: every node of a cluster needs the "
              "same cluster_secret",
              "cluster: earlier seeds, no secret: at the last line");
    kvs_config_free(&cf);
}


/* the agent's client certificate, and the names peers take from a node */

static void
kvs_test_peer_names(void)
{
    int           rc;
    char          err[KVS_CONFIG_ERRLEN], yaml[600];
    kvs_config_t  cf;

    rc = kvs_test_load("c.yaml",
                       "peer_cert_file: /etc/kvs/client.pem\n"
                       "peer_key_file: /etc/kvs/client.key\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && strcmp(cf.peer_cert_file, "/etc/kvs/client.pem") == 0
          && strcmp(cf.peer_key_file, "/etc/kvs/client.key") == 0,
          "peer: a client certificate and its key");
    kvs_config_free(&cf);
    CHECK(cf.peer_cert_file == NULL && cf.peer_key_file == NULL,
          "peer: free clears both");

    rc = kvs_test_load("c.yaml", "port: 1\npeer_cert_file: c.pem\n", &cf,
                       err, sizeof(err));
    CHECK(rc == -1, "peer: a certificate without its key is refused");
    CHECK_STR(err, "c.yaml:2: peer_cert_file: is set but peer_key_file is "
              "not: the agent needs both to present a client certificate",
              "peer: certificate alone: at its line, naming the key");
    kvs_config_free(&cf);

    rc = kvs_test_load("c.yaml", "peer_key_file: c.key\nport: 1\n", &cf,
                       err, sizeof(err));
    CHECK_STR(rc == -1 ? err : "(loaded)", "c.yaml:1: peer_key_file: is set "
              "but peer_cert_file is not: the agent needs both to present "
              "a client certificate",
              "peer: a key alone is refused the same way");
    kvs_config_free(&cf);

    rc = kvs_test_load("c.yaml", "node_id: \"a\\\"b\"\n", &cf, err,
                       sizeof(err));
    CHECK_STR(rc == -1 ? err : "(loaded)", "c.yaml:1: node_id: cannot be a "
              "member's id: it has a control byte, a quote or a backslash",
              "names: a node_id with a quote is refused");
    kvs_config_free(&cf);

    snprintf(yaml, sizeof(yaml), "node_id: %0256d\n", 7);
    rc = kvs_test_load("c.yaml", yaml, &cf, err, sizeof(err));
    CHECK_STR(rc == -1 ? err : "(loaded)", "c.yaml:1: node_id: cannot be a "
              "member's id: it is longer than 255 bytes",
              "names: a node_id of 256 bytes is refused");
    kvs_config_free(&cf);

    /* it names the backups' files too: 222 bytes at most, no "/" */
    snprintf(yaml, sizeof(yaml), "node_id: %0223d\n", 7);
    rc = kvs_test_load("c.yaml", yaml, &cf, err, sizeof(err));
    CHECK(rc == -1 && strstr(err, "c.yaml:1: node_id: \"0000") == err
          && strstr(err, "7\" is longer than 222 bytes, which a backup's "
                         "file name cannot hold") != NULL,
          "names: a node_id of 223 bytes is refused");
    kvs_config_free(&cf);

    snprintf(yaml, sizeof(yaml), "node_id: %0222d\n", 7);
    rc = kvs_test_load("c.yaml", yaml, &cf, err, sizeof(err));
    CHECK(rc == 0 && strlen(cf.node_id) == 222,
          "names: a node_id of 222 bytes is taken");
    kvs_config_free(&cf);

    rc = kvs_test_load("c.yaml", "node_id: dc1/n1\n", &cf, err, sizeof(err));
    CHECK_STR(rc == -1 ? err : "(loaded)", "c.yaml:1: node_id: \"dc1/n1\" "
              "has a \"/\", which a backup's file name cannot hold",
              "names: a node_id with a \"/\" is refused");
    kvs_config_free(&cf);

    /* "https://" 241 "x" ":65535" is 255 bytes, one more is too many */
    snprintf(yaml, sizeof(yaml), "port: 65535\nbind_address: https://%0241d"
             "\n", 0);
    rc = kvs_test_load("c.yaml", yaml, &cf, err, sizeof(err));
    CHECK(rc == 0, "names: bind_address:port of 255 bytes is taken");
    kvs_config_free(&cf);

    snprintf(yaml, sizeof(yaml), "bind_address: https://%0242d\n"
             "port: 65535\n", 0);
    rc = kvs_test_load("c.yaml", yaml, &cf, err, sizeof(err));
    CHECK_STR(rc == -1 ? err : "(loaded)", "c.yaml:1: bind_address: "
              "bind_address:port cannot be a member's address: it is longer "
              "than 255 bytes",
              "names: bind_address:port of 256 bytes is refused");
    kvs_config_free(&cf);

    rc = kvs_test_load("c.yaml", "bind_address: \"10.0.0.1\\t\"\n", &cf,
                       err, sizeof(err));
    CHECK(rc == -1 && strstr(err, "has a control byte") != NULL,
          "names: a bind_address with a tab is refused");
    kvs_config_free(&cf);

    /* peers call bind_address:port: it must be an address they can */

    rc = kvs_test_load("c.yaml", "port: 8081\nbind_address: kvs/node1\n",
                       &cf, err, sizeof(err));
    CHECK_STR(rc == -1 ? err : "(loaded)", "c.yaml:2: bind_address: "
              "bind_address:port cannot be a member's address: it is not "
              "host:port or an http(s):// URL",
              "names: a bind_address peers cannot call is refused");
    kvs_config_free(&cf);

    rc = kvs_test_load("c.yaml", "bind_address: \"::1\"\n", &cf, err,
                       sizeof(err));
    CHECK(rc == -1 && strstr(err, "not host:port") != NULL,
          "names: an IPv6 bind_address without its brackets is refused");
    kvs_config_free(&cf);

    rc = kvs_test_load("c.yaml", "bind_address: \"[::1]\"\n", &cf, err,
                       sizeof(err));
    CHECK(rc == 0, "names: an IPv6 bind_address in brackets is taken");
    kvs_config_free(&cf);
}


static void
kvs_test_values(void)
{
    int           rc;
    char          err[KVS_CONFIG_ERRLEN];
    kvs_config_t  cf;

    rc = kvs_test_load("v.yaml", "read_only: TRUE\n", &cf, err,
                       sizeof(err));
    CHECK(rc == 0 && cf.read_only == 1, "bool: TRUE");
    kvs_config_free(&cf);

    rc = kvs_test_load("v.yaml", "read_only: on\n", &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.read_only == 1, "bool: on");
    kvs_config_free(&cf);

    rc = kvs_test_load("v.yaml", "read_only: true\nread_only_x: 1\n", &cf,
                       err, sizeof(err));
    CHECK(rc == -1, "bool: a key sharing a prefix is still unknown");
    kvs_config_free(&cf);

    rc = kvs_test_load("v.yaml", "read_only: Off\n", &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.read_only == 0, "bool: Off");
    kvs_config_free(&cf);

    rc = kvs_test_load("v.yaml", "read_only: no\n", &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.read_only == 0, "bool: no");
    kvs_config_free(&cf);

    rc = kvs_test_load("v.yaml", "read_only: False\n", &cf, err,
                       sizeof(err));
    CHECK(rc == 0 && cf.read_only == 0, "bool: False");
    kvs_config_free(&cf);

    rc = kvs_test_load("v.yaml", "log_level: warn\n", &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.log_level == KVS_LOG_WARN, "log_level: warn");
    kvs_config_free(&cf);

    rc = kvs_test_load("v.yaml", "log_level: error\n", &cf, err,
                       sizeof(err));
    CHECK(rc == 0 && cf.log_level == KVS_LOG_ERROR, "log_level: error");
    kvs_config_free(&cf);

    rc = kvs_test_load("v.yaml", "log_level: info\n", &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.log_level == KVS_LOG_INFO, "log_level: info");
    kvs_config_free(&cf);

    rc = kvs_test_load("v.yaml", "port: 65535\nthrottle_delay_ms: 600000\n"
                       "fetch_delay_ms: 0\n", &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.port == 65535 && cf.throttle_delay_ms == 600000
          && cf.fetch_delay_ms == 0, "integers: bounds are inclusive");
    kvs_config_free(&cf);

    rc = kvs_test_load("v.yaml", "port: \"8081\"\nnode_id: 42\n", &cf, err,
                       sizeof(err));
    CHECK(rc == 0 && cf.port == 8081 && strcmp(cf.node_id, "42") == 0,
          "quoted integer and numeric-looking string both accepted");
    kvs_config_free(&cf);

    rc = kvs_test_load("v.yaml", "node_id: \"~\"\n", &cf, err, sizeof(err));
    CHECK(rc == 0 && strcmp(cf.node_id, "~") == 0,
          "a quoted ~ is a string, not null");
    kvs_config_free(&cf);
}


/* the keys of compression, TTL and revision history */

static void
kvs_test_data_keys(void)
{
    int           rc;
    char          err[KVS_CONFIG_ERRLEN];
    kvs_config_t  cf;

    rc = kvs_test_load("data.yaml",
                       "compression_enabled: off\n"
                       "compression_level: 9\n"
                       "compression_min_size: 4k\n"
                       "default_ttl: 86400\n"
                       "revision_history: 10\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0, "data keys: load");
    CHECK(cf.compression_enabled == 0, "data keys: compression_enabled off");
    CHECK(cf.compression_level == 9, "data keys: compression_level 9");
    CHECK(cf.compression_min_size == 4 * KVS_TEST_KIB,
          "data keys: compression_min_size 4k is a size with a suffix");
    CHECK(cf.default_ttl == 86400, "data keys: default_ttl a day");
    CHECK(cf.revision_history == 10, "data keys: revision_history 10");
    CHECK(cf.port == 8080 && cf.max_json_size == KVS_TEST_MIB,
          "data keys: the other keys keep their defaults");
    kvs_config_free(&cf);

    rc = kvs_test_load("data.yaml",
                       "compression_level: 1\n"
                       "compression_min_size: 0\n"
                       "default_ttl: 0\n"
                       "revision_history: 0\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.compression_level == 1
          && cf.compression_min_size == 0 && cf.default_ttl == 0
          && cf.revision_history == 0,
          "data keys: lower bounds are inclusive");
    kvs_config_free(&cf);

    rc = kvs_test_load("data.yaml",
                       "compression_enabled: yes\n"
                       "compression_level: 19\n"
                       "compression_min_size: 1g\n"
                       "default_ttl: 3153600000\n"
                       "revision_history: 100\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.compression_enabled == 1
          && cf.compression_level == 19
          && cf.compression_min_size == KVS_TEST_GIB
          && cf.default_ttl == 3153600000LL && cf.revision_history == 100,
          "data keys: upper bounds are inclusive, default_ttl 100 years "
          "in an int64");

    if (rc != 0) {
        printf("#   %s\n", err);
    }

    kvs_config_free(&cf);
}


/* the keys of operations */

static void
kvs_test_ops_keys(void)
{
    int           rc;
    char          err[KVS_CONFIG_ERRLEN];
    kvs_config_t  cf;

    rc = kvs_test_load("ops.yaml", "metrics_enabled: false\n", &cf, err,
                       sizeof(err));
    CHECK(rc == 0 && cf.metrics_enabled == 0,
          "ops keys: metrics_enabled false");
    kvs_config_free(&cf);

    rc = kvs_test_load("ops.yaml", "metrics_enabled: on\n", &cf, err,
                       sizeof(err));
    CHECK(rc == 0 && cf.metrics_enabled == 1, "ops keys: metrics_enabled on");
    kvs_config_free(&cf);
}


/* users, tokens and permissions */

static void
kvs_test_auth_keys(void)
{
    int           rc;
    char          err[KVS_CONFIG_ERRLEN];
    kvs_config_t  cf;

    rc = kvs_test_load("auth.yaml",
                       "# auth on\n"
                       "auth_enabled: true\n"
                       "jwt_secret_file: /etc/kvs/jwt.keys\n"
                       "admin_password_file: 'admin.pw'\n"
                       "token_ttl: 86400\n"
                       "tombstone_ttl_hours: 24\n"
                       "default_permissions: \"F31\"\n"
                       "top_level_create: admins\n"
                       "password_threads: 4\n"
                       "audit_secret_file: /etc/kvs/audit.secret\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0, "auth keys: load");

    if (rc != 0) {
        printf("#   %s\n", err);
    }

    CHECK(cf.auth_enabled == 1, "auth keys: auth_enabled true");
    CHECK_STR(cf.jwt_secret_file.path, "/etc/kvs/jwt.keys",
              "auth keys: jwt_secret_file");
    CHECK(cf.jwt_secret_file.line == 3, "auth keys: jwt_secret_file's line");
    CHECK_STR(cf.admin_password_file.path, "admin.pw",
              "auth keys: admin_password_file");
    CHECK(cf.admin_password_file.line == 4,
          "auth keys: admin_password_file's line");
    CHECK(cf.token_ttl == 86400,
          "auth keys: token_ttl as long as tombstone_ttl_hours");
    CHECK(cf.default_permissions == 0xf31,
          "auth keys: default_permissions F31, either case");
    CHECK(cf.top_level_create == KVS_TOP_LEVEL_ADMINS,
          "auth keys: top_level_create admins");
    CHECK(cf.password_threads == 4, "auth keys: password_threads 4");

    kvs_config_free(&cf);
    CHECK(cf.jwt_secret_file.path == NULL && cf.jwt_secret_file.line == 0
          && cf.admin_password_file.path == NULL
          && cf.admin_password_file.line == 0,
          "auth keys: free clears the files and their lines");

    rc = kvs_test_load("auth.yaml",
                       "token_ttl: 60\n"
                       "default_permissions: 000\n"
                       "top_level_create: ANY\n"
                       "password_threads: 1\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.token_ttl == 60 && cf.default_permissions == 0
          && cf.top_level_create == KVS_TOP_LEVEL_ANY
          && cf.password_threads == 1,
          "auth keys: lower bounds, digits only, a word in upper case");
    kvs_config_free(&cf);

    /* three digits are hex CDWR even when they look like a POSIX mode */
    rc = kvs_test_load("auth.yaml",
                       "default_permissions: 744\n"
                       "password_threads: 64\n"
                       "token_ttl: 2592000\n"
                       "tombstone_ttl_hours: 1\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.default_permissions == 0x744
          && cf.password_threads == 64 && cf.token_ttl == 2592000,
          "auth keys: upper bounds; 744 is hex; with auth off token_ttl "
          "may outlive tombstones");
    kvs_config_free(&cf);

    rc = kvs_test_load("auth.yaml",
                       "auth_enabled: on\n"
                       "jwt_secret_file: j\n"
                       "token_ttl: 2592000\n"
                       "tombstone_ttl_hours: 720\n"
                       "audit_enabled: false\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.token_ttl == 2592000 && cf.admin_password_file.path
          == NULL,
          "auth keys: 30 days of token_ttl fit 720 hours of tombstones; no "
          "admin_password_file is fine");
    kvs_config_free(&cf);

    /* a second file turns auth on: the rule meets the first file's value
     * and is reported at the second file's last line */
    rc = kvs_test_load("auth.yaml", "tombstone_ttl_hours: 0.5\n", &cf, err,
                       sizeof(err));
    kvs_test_write("auth2.yaml",
                   "auth_enabled: true\njwt_secret_file: other.keys\n");
    rc |= kvs_config_load(&cf, "auth2.yaml", err, sizeof(err));
    CHECK(rc == -1, "auth keys: tombstones of an earlier load: fails");
    CHECK_STR(err, "auth2.yaml:2: token_ttl: 3600 seconds is longer than "
              "tombstone_ttl_hours (0.5, 1800 seconds): a revoked token "
              "would be valid again once its tombstone is purged; lower "
              "token_ttl or raise tombstone_ttl_hours",
              "auth keys: tombstones of an earlier load: at the last line");
    CHECK(cf.jwt_secret_file.line == 2,
          "auth keys: the line is the latest file's");
    kvs_config_free(&cf);
}


/* rate limits */

static void
kvs_test_rate_keys(void)
{
    int           rc;
    char          err[KVS_CONFIG_ERRLEN];
    kvs_config_t  cf;

    rc = kvs_test_load("rate.yaml",
                       "rate_limit_requests: 100\n"
                       "rate_limit_window: 2\n"
                       "rate_limit_zone_size: 10m\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.rate_limit_requests == 100
          && cf.rate_limit_window == 2
          && cf.rate_limit_zone_size == 10 * KVS_TEST_MIB,
          "rate keys: 100 per 2 s in 10m");

    if (rc != 0) {
        printf("#   %s\n", err);
    }

    kvs_config_free(&cf);

    rc = kvs_test_load("rate.yaml",
                       "rate_limit_requests: 0\n"
                       "rate_limit_window: 1\n"
                       "rate_limit_zone_size: 64k\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.rate_limit_requests == 0
          && cf.rate_limit_window == 1
          && cf.rate_limit_zone_size == 64 * KVS_TEST_KIB,
          "rate keys: lower bounds");
    kvs_config_free(&cf);

    rc = kvs_test_load("rate.yaml",
                       "rate_limit_requests: 1000000000\n"
                       "rate_limit_window: 86400\n"
                       "rate_limit_zone_size: 1g\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.rate_limit_requests == 1000000000
          && cf.rate_limit_window == 86400
          && cf.rate_limit_zone_size == KVS_TEST_GIB,
          "rate keys: upper bounds are inclusive");
    kvs_config_free(&cf);
}


static void
kvs_test_audit_keys(void)
{
    int           rc;
    char          err[KVS_CONFIG_ERRLEN];
    kvs_config_t  cf;

    rc = kvs_test_load("audit.yaml", "port: 8080\n", &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.audit_enabled == 0 && cf.audit_reads == 0
          && cf.audit_secret_file.path == NULL,
          "audit keys: off where auth is off, no reads");
    kvs_config_free(&cf);

    rc = kvs_test_load("audit.yaml",
                       "auth_enabled: true\n"
                       "jwt_secret_file: j\n"
                       "audit_secret_file: /etc/kvs/audit.secret\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.audit_enabled == 1 && cf.audit_reads == 0,
          "audit keys: on where auth is on");
    CHECK_STR(cf.audit_secret_file.path, "/etc/kvs/audit.secret",
              "audit keys: audit_secret_file");
    CHECK(cf.audit_secret_file.line == 3,
          "audit keys: audit_secret_file's line");
    kvs_config_free(&cf);
    CHECK(cf.audit_secret_file.path == NULL,
          "audit keys: free clears audit_secret_file");

    rc = kvs_test_load("audit.yaml",
                       "audit_enabled: yes\n"
                       "audit_secret_file: a.secret\n"
                       "audit_reads: true\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.audit_enabled == 1 && cf.audit_reads == 1
          && cf.auth_enabled == 0,
          "audit keys: on without auth, with reads");
    kvs_config_free(&cf);
}


/* backups */

static void
kvs_test_backup_keys(void)
{
    int           rc;
    char          err[KVS_CONFIG_ERRLEN];
    uint64_t      next;
    kvs_config_t  cf;

    rc = kvs_test_load("backup.yaml", "port: 8080\n", &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.backup_enabled == 1
          && cf.backup_schedule.expr == NULL
          && cf.backup_dir.path == NULL
          && cf.backup_retention_days == 7
          && cf.backup_compression_level == 3,
          "backup keys: on, the default schedule, no dir (beside data_dir), "
          "7 days, level 3");

    /* 2026-12-02 14:00 UTC: the default is daily at midnight */
    CHECK(kvs_cron_next(&cf.backup_schedule.cron, 1796220000000ULL, &next)
          == 0 && next == 1796256000000ULL,
          "backup keys: the default schedule is parsed, 0 0 * * *");
    kvs_config_free(&cf);

    rc = kvs_test_load("backup.yaml",
                       "backup_enabled: false\n"
                       "backup_schedule: \"*/15 2 * * mon-fri\"\n"
                       "backup_dir: /var/backups/kvs\n"
                       "backup_retention_days: 36500\n"
                       "backup_compression_level: 19\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0, "backup keys: load");

    if (rc != 0) {
        printf("#   %s\n", err);
    }

    CHECK(cf.backup_enabled == 0, "backup keys: backup_enabled false");
    CHECK_STR(cf.backup_schedule.expr, "*/15 2 * * mon-fri",
              "backup keys: backup_schedule as written");
    CHECK(kvs_cron_next(&cf.backup_schedule.cron, 1796220000000ULL, &next)
          == 0 && next == 1796263200000ULL,
          "backup keys: backup_schedule as parsed (Thu 2026-12-03 02:00)");
    CHECK_STR(cf.backup_dir.path, "/var/backups/kvs",
              "backup keys: backup_dir");
    CHECK(cf.backup_dir.line == 3, "backup keys: backup_dir's line");
    CHECK(cf.backup_retention_days == 36500
          && cf.backup_compression_level == 19,
          "backup keys: upper bounds");
    kvs_config_free(&cf);
    CHECK(cf.backup_dir.path == NULL && cf.backup_schedule.expr == NULL,
          "backup keys: free clears backup_dir and backup_schedule");

    rc = kvs_test_load("backup.yaml",
                       "backup_schedule: '@hourly'\n"
                       "backup_retention_days: 1\n"
                       "backup_compression_level: 1\n",
                       &cf, err, sizeof(err));
    CHECK(rc == 0 && cf.backup_retention_days == 1
          && cf.backup_compression_level == 1
          && kvs_cron_next(&cf.backup_schedule.cron, 1796220000000ULL,
                           &next) == 0
          && next == 1796223600000ULL,
          "backup keys: a nickname; lower bounds");
    kvs_config_free(&cf);

    /* a second file's schedule replaces the first's, text and parse */
    rc = kvs_test_load("backup.yaml", "backup_schedule: \"0 3 * * *\"\n",
                       &cf, err, sizeof(err));
    kvs_test_write("backup2.yaml", "backup_schedule: \"30 4 * * *\"\n");
    rc |= kvs_config_load(&cf, "backup2.yaml", err, sizeof(err));
    CHECK(rc == 0 && strcmp(cf.backup_schedule.expr, "30 4 * * *") == 0
          && kvs_cron_next(&cf.backup_schedule.cron, 1796220000000ULL,
                           &next) == 0
          && next == 1796272200000ULL,
          "backup keys: a later file's schedule wins");
    kvs_config_free(&cf);

    /* a bad schedule leaves the one loaded before */
    rc = kvs_test_load("backup.yaml", "backup_schedule: \"0 3 * * *\"\n",
                       &cf, err, sizeof(err));
    kvs_test_write("backup2.yaml", "backup_schedule: \"0 3 31 2 *\"\n");
    rc = kvs_config_load(&cf, "backup2.yaml", err, sizeof(err));
    CHECK(rc == -1 && strcmp(cf.backup_schedule.expr, "0 3 * * *") == 0,
          "backup keys: a bad schedule keeps the earlier one");
    kvs_config_free(&cf);
}


static void
kvs_test_errors(void)
{
    int           rc;
    char          err[KVS_CONFIG_ERRLEN];
    size_t        i;
    kvs_config_t  cf;

    static const kvs_test_fail_t  fails[] = {

        /* keys */

        { "port: 8080\nfoo: 1\n",
          "n.yaml:2: foo: unknown key",
          "unknown key" },
        { "Port: 8080\n",
          "n.yaml:1: Port: unknown key",
          "keys are case-sensitive" },
        { "# header\nport: 1\nlog_level: info\nport: 2\n",
          "n.yaml:4: port: duplicate key",
          "duplicate key at the second occurrence" },
        { "[a, b]: 1\n",
          "n.yaml:1: expected a key name, got a sequence",
          "non-scalar key" },

        /* integers */

        { "\n\nport: abc\n",
          "n.yaml:3: port: expected an integer, got \"abc\"",
          "port: wrong type" },
        { "# c\nread_only: no\nport: 70000\n",
          "n.yaml:3: port: 70000 is out of range (1..65535)",
          "port: above range" },
        { "port: 0\n",
          "n.yaml:1: port: 0 is out of range (1..65535)",
          "port: zero" },
        { "port: -1\n",
          "n.yaml:1: port: -1 is out of range (1..65535)",
          "port: negative" },
        { "port: 99999999999999999999\n",
          "n.yaml:1: port: 99999999999999999999 is out of range (1..65535)",
          "port: overflowing integer is out of range" },
        { "port: 80.5\n",
          "n.yaml:1: port: expected an integer, got \"80.5\"",
          "port: decimal is not an integer" },
        { "port:\n",
          "n.yaml:1: port: expected an integer, got null",
          "port: empty value" },
        { "port: [1]\n",
          "n.yaml:1: port: expected an integer, got a sequence",
          "port: sequence" },
        { "port:\n  value: 1\n",
          "n.yaml:1: port: expected an integer, got a mapping",
          "port: nested mapping" },
        { "throttle_delay_ms: -1\n",
          "n.yaml:1: throttle_delay_ms: -1 is out of range (0..600000)",
          "throttle_delay_ms: negative" },
        { "fetch_delay_ms: 600001\n",
          "n.yaml:1: fetch_delay_ms: 600001 is out of range (0..600000)",
          "fetch_delay_ms: above range" },
        { "fetch_delay_ms: 1.5\n",
          "n.yaml:1: fetch_delay_ms: expected an integer, got \"1.5\"",
          "fetch_delay_ms: decimal" },

        /* booleans and log levels */

        { "read_only: maybe\n",
          "n.yaml:1: read_only: expected a boolean (true/false, yes/no, "
          "on/off), got \"maybe\"",
          "read_only: not a boolean" },
        { "read_only: 1\n",
          "n.yaml:1: read_only: expected a boolean (true/false, yes/no, "
          "on/off), got \"1\"",
          "read_only: 1 is not a YAML boolean" },
        { "log_level: verbose\n",
          "n.yaml:1: log_level: expected debug, info, warn or error, "
          "got \"verbose\"",
          "log_level: unknown level" },
        { "log_level: {a: b}\n",
          "n.yaml:1: log_level: expected debug, info, warn or error, "
          "got a mapping",
          "log_level: mapping" },

        /* intervals */

        { "sync_interval: 0\n",
          "n.yaml:1: sync_interval: 0 is out of range "
          "(0.01..31536000 seconds)",
          "sync_interval: zero" },
        { "sync_interval: 0.0009\n",
          "n.yaml:1: sync_interval: 0.0009 is out of range "
          "(0.01..31536000 seconds)",
          "sync_interval: below 10 ms, a timer of 0 ms" },
        { "sync_interval: 0.00999\n",
          "n.yaml:1: sync_interval: 0.00999 is out of range "
          "(0.01..31536000 seconds)",
          "sync_interval: just below 10 ms" },
        { "catchup_interval: 0.0009\n",
          "n.yaml:1: catchup_interval: 0.0009 is out of range "
          "(0.01..31536000 seconds)",
          "catchup_interval: below 10 ms" },
        { "gossip_interval_min: 0.0009\ngossip_interval_max: 0.0009\n",
          "n.yaml:1: gossip_interval_min: 0.0009 is out of range "
          "(0.01..31536000 seconds)",
          "gossip_interval_min: below 10 ms" },
        { "gossip_interval_max: 1e-9\n",
          "n.yaml:1: gossip_interval_max: 1e-9 is out of range "
          "(0.01..31536000 seconds)",
          "gossip_interval_max: below 10 ms" },
        { "catchup_interval: -0.5\n",
          "n.yaml:1: catchup_interval: -0.5 is out of range "
          "(0.01..31536000 seconds)",
          "catchup_interval: negative" },
        { "gossip_interval_min: 31536000.5\n",
          "n.yaml:1: gossip_interval_min: 31536000.5 is out of range "
          "(0.01..31536000 seconds)",
          "gossip_interval_min: more than a year" },
        { "sync_interval: 1e400\n",
          "n.yaml:1: sync_interval: 1e400 is out of range "
          "(0.01..31536000 seconds)",
          "sync_interval: infinite after parsing" },
        { "sync_interval: fast\n",
          "n.yaml:1: sync_interval: expected a number of seconds, "
          "got \"fast\"",
          "sync_interval: not a number" },
        { "sync_interval: inf\n",
          "n.yaml:1: sync_interval: expected a number of seconds, "
          "got \"inf\"",
          "sync_interval: inf is not a number here" },
        { "sync_interval: 0x10\n",
          "n.yaml:1: sync_interval: expected a number of seconds, "
          "got \"0x10\"",
          "sync_interval: hex is not a number here" },
        { "bootstrap_max_age_hours: 876001\n",
          "n.yaml:1: bootstrap_max_age_hours: 876001 is out of range "
          "(> 0 and <= 876000)",
          "bootstrap_max_age_hours: above range" },
        { "gossip_interval_min: 10\ngossip_interval_max: 5\n",
          "n.yaml:2: gossip_interval_max: 5 is less than "
          "gossip_interval_min (10)",
          "gossip max < min: at the max key's line" },
        { "gossip_interval_max: 0.5\nport: 1\ngossip_interval_min: 1.5\n",
          "n.yaml:1: gossip_interval_max: 0.5 is less than "
          "gossip_interval_min (1.5)",
          "gossip max < min: max key first" },
        { "gossip_interval_min: 200\nport: 1\n",
          "n.yaml:2: gossip_interval_max: 120 is less than "
          "gossip_interval_min (200)",
          "gossip min above the default max: at the end" },

        /* sizes */

        { "max_json_size: 0\n",
          "n.yaml:1: max_json_size: 0 is out of range (1..1073741824)",
          "max_json_size: zero" },
        { "max_json_size: 2g\n",
          "n.yaml:1: max_json_size: 2g is out of range (1..1073741824)",
          "max_json_size: 2g above range" },
        { "max_json_size: -1k\n",
          "n.yaml:1: max_json_size: -1k is out of range (1..1073741824)",
          "max_json_size: negative" },
        { "max_json_size: 5x\n",
          "n.yaml:1: max_json_size: expected a size in bytes with an "
          "optional k, m or g suffix, got \"5x\"",
          "max_json_size: unknown suffix" },
        { "max_json_size: k\n",
          "n.yaml:1: max_json_size: expected a size in bytes with an "
          "optional k, m or g suffix, got \"k\"",
          "max_json_size: suffix alone" },
        { "max_json_size: 1.5m\n",
          "n.yaml:1: max_json_size: expected a size in bytes with an "
          "optional k, m or g suffix, got \"1.5m\"",
          "max_json_size: fractional size" },
        { "max_db_size: 1023k\n",
          "n.yaml:1: max_db_size: 1023k is out of range "
          "(1048576..1099511627776)",
          "max_db_size: below 1 MiB" },
        { "max_db_size: 1025g\n",
          "n.yaml:1: max_db_size: 1025g is out of range "
          "(1048576..1099511627776)",
          "max_db_size: above 1 TiB" },
        { "max_db_size: 99999999999999g\n",
          "n.yaml:1: max_db_size: 99999999999999g is out of range "
          "(1048576..1099511627776)",
          "max_db_size: multiplication overflow" },

        /* rate limits */

        { "rate_limit_requests: -1\n",
          "n.yaml:1: rate_limit_requests: -1 is out of range "
          "(0..1000000000)",
          "rate_limit_requests: negative" },
        { "rate_limit_requests: 1000000001\n",
          "n.yaml:1: rate_limit_requests: 1000000001 is out of range "
          "(0..1000000000)",
          "rate_limit_requests: above 10^9" },
        { "rate_limit_requests: ten\n",
          "n.yaml:1: rate_limit_requests: expected an integer, got \"ten\"",
          "rate_limit_requests: not a number" },
        { "# c\nrate_limit_window: 0\n",
          "n.yaml:2: rate_limit_window: 0 is out of range (1..86400)",
          "rate_limit_window: zero" },
        { "rate_limit_window: 86401\n",
          "n.yaml:1: rate_limit_window: 86401 is out of range (1..86400)",
          "rate_limit_window: above a day" },
        { "rate_limit_window: 1.5\n",
          "n.yaml:1: rate_limit_window: expected an integer, got \"1.5\"",
          "rate_limit_window: whole seconds" },
        { "rate_limit_zone_size: 63k\n",
          "n.yaml:1: rate_limit_zone_size: 63k is out of range "
          "(65536..1073741824)",
          "rate_limit_zone_size: below 64 KiB" },
        { "rate_limit_zone_size: 2g\n",
          "n.yaml:1: rate_limit_zone_size: 2g is out of range "
          "(65536..1073741824)",
          "rate_limit_zone_size: above 1 GiB" },

        /* strings */

        { "node_id: \"\"\n",
          "n.yaml:1: node_id: expected a non-empty string, got \"\"",
          "node_id: empty string" },
        { "data_dir: ~\n",
          "n.yaml:1: data_dir: expected a non-empty string, got null",
          "data_dir: null" },
        { "bind_address:\n  - 127.0.0.1\n",
          "n.yaml:1: bind_address: expected a non-empty string, "
          "got a sequence",
          "bind_address: sequence" },
        { "node_id:\n  name: x\n",
          "n.yaml:1: node_id: expected a non-empty string, got a mapping",
          "node_id: nested mapping" },
        { "node_id: \"a\\0b\"\n",
          "n.yaml:1: node_id: expected a non-empty string, got \"a...\"",
          "node_id: embedded NUL" },
        { "port: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n",
          "n.yaml:1: port: expected an integer, got "
          "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"",
          "long bad values are cut in the message" },
        { "port: |\n  12\n  34\n",
          "n.yaml:1: port: expected an integer, got \"12...\"",
          "multi-line bad values are cut at the first line" },

        /* seed nodes */

        { "seed_nodes: \"a:1\"\n",
          "n.yaml:1: seed_nodes: expected a sequence of strings, "
          "got \"a:1\"",
          "seed_nodes: scalar instead of a sequence" },
        { "seed_nodes: {a: 1}\n",
          "n.yaml:1: seed_nodes: expected a sequence of strings, "
          "got a mapping",
          "seed_nodes: mapping" },
        { "seed_nodes: [a:1, \"\"]\n",
          "n.yaml:1: seed_nodes: item 2: expected a non-empty string, "
          "got \"\"",
          "seed_nodes: empty item" },
        { "port: 1\nseed_nodes:\n  - a:1\n  -\n",
          "n.yaml:2: seed_nodes: item 2: expected a non-empty string, "
          "got null",
          "seed_nodes: null item in block style" },
        { "seed_nodes:\n  - a:1\n  - {host: b}\n",
          "n.yaml:1: seed_nodes: item 2: expected a non-empty string, "
          "got a mapping",
          "seed_nodes: mapping item" },
        { "seed_nodes: [[a]]\n",
          "n.yaml:1: seed_nodes: item 1: expected a non-empty string, "
          "got a sequence",
          "seed_nodes: nested sequence" },

        { "seed_nodes: [a:1, x]\n" KVS_TEST_SECRET_YAML,
          "n.yaml:1: seed_nodes: item 2: \"x\" is not host:port or an "
          "http(s):// URL",
          "seed_nodes: item without a port" },
        { "seed_nodes:\n  - http://a:1/\n",
          "n.yaml:1: seed_nodes: item 1: \"http://a:1/\" is not host:port "
          "or an http(s):// URL",
          "seed_nodes: URL with a path, before the secret check" },
        { "seed_nodes: [\"b:70000\"]\n",
          "n.yaml:1: seed_nodes: item 1: \"b:70000\" is not host:port or an "
          "http(s):// URL",
          "seed_nodes: port out of range" },
        { "seed_nodes: [ftp://a:21]\n",
          "n.yaml:1: seed_nodes: item 1: \"ftp://a:21\" is not host:port or "
          "an http(s):// URL",
          "seed_nodes: other scheme" },

        /* cluster membership and security */

        { "port: 1\nseed_nodes: [a:1]\n",
          "n.yaml:2: seed_nodes: seed_nodes are set but cluster_secret is "
          "not: every node of a cluster needs the same cluster_secret",
          "seed_nodes without cluster_secret: at the seed_nodes line" },
        { "# cluster\nseed_nodes:\n  - a:1\n  - b:2\nport: 1\n",
          "n.yaml:2: seed_nodes: seed_nodes are set but cluster_secret is "
          "not: every node of a cluster needs the same cluster_secret",
          "seed_nodes without cluster_secret: block style" },
        { "cluster_secret: short\n",
          "n.yaml:1: cluster_secret: must be at least 16 bytes long",
          "cluster_secret: too short, not quoted back" },
        { "cluster_secret: 0123456789abcde\n",
          "n.yaml:1: cluster_secret: must be at least 16 bytes long",
          "cluster_secret: 15 bytes" },
        { "cluster_secret: \"\"\n",
          "n.yaml:1: cluster_secret: must be at least 16 bytes long",
          "cluster_secret: empty string" },
        { "cluster_secret: ~\n",
          "n.yaml:1: cluster_secret: expected a string, got null",
          "cluster_secret: null" },
        { "cluster_secret: [0123456789abcdef]\n",
          "n.yaml:1: cluster_secret: expected a string, got a sequence",
          "cluster_secret: sequence" },
        { "cluster_secret: \"0123456789abcdef\\0tail\"\n",
          "n.yaml:1: cluster_secret: must not contain a NUL byte",
          "cluster_secret: embedded NUL, not quoted back" },
        { "seed_nodes: [a:1]\ncluster_secret: short\n",
          "n.yaml:2: cluster_secret: must be at least 16 bytes long",
          "cluster_secret: a short one is not taken as set" },
        { "failure_timeout: 0\n",
          "n.yaml:1: failure_timeout: 0 is out of range "
          "(> 0 and <= 31536000)",
          "failure_timeout: zero" },
        /* more than 0, less than the millisecond its users count in */
        { "failure_timeout: 0.0001\n",
          "n.yaml:1: failure_timeout: 0.0001 is out of range: less than a "
          "millisecond (0.001)",
          "failure_timeout: under a millisecond" },
        { "removal_timeout: 1e-300\n",
          "n.yaml:1: removal_timeout: 1e-300 is out of range: less than a "
          "millisecond (0.001)",
          "removal_timeout: 1e-300" },
        { "tombstone_ttl_hours: 1e-9\n",
          "n.yaml:1: tombstone_ttl_hours: 1e-9 is out of range: less than "
          "a millisecond (2.77777778e-07)",
          "tombstone_ttl_hours: under a millisecond (purged at once)" },
        { "bootstrap_max_age_hours: 0.0000001\n",
          "n.yaml:1: bootstrap_max_age_hours: 0.0000001 is out of range: "
          "less than a millisecond (2.77777778e-07)",
          "bootstrap_max_age_hours: under a millisecond" },
        { "removal_timeout: soon\n",
          "n.yaml:1: removal_timeout: expected a number, got \"soon\"",
          "removal_timeout: not a number" },
        { "failure_timeout: 10\nremoval_timeout: 5\n",
          "n.yaml:2: removal_timeout: 5 is less than failure_timeout (10)",
          "removal < failure: at the removal key's line" },
        { "removal_timeout: 5\nport: 1\nfailure_timeout: 10\n",
          "n.yaml:1: removal_timeout: 5 is less than failure_timeout (10)",
          "removal < failure: removal key first" },
        { "failure_timeout: 900\nport: 1\n",
          "n.yaml:2: removal_timeout: 600 is less than failure_timeout (900)",
          "failure above the default removal: at the end" },
        { "removal_timeout: 299.5\n",
          "n.yaml:1: removal_timeout: 299.5 is less than failure_timeout "
          "(300)",
          "removal below the default failure" },
        { "peer_timeout: 0\n",
          "n.yaml:1: peer_timeout: 0 is out of range (0.1..3600 seconds)",
          "peer_timeout: zero" },
        { "peer_resolve_interval: 0.05\n",
          "n.yaml:1: peer_resolve_interval: 0.05 is out of range "
          "(0.1..3600 seconds)",
          "peer_resolve_interval: below 100 ms" },
        { "peer_timeout: 1e-9\n",
          "n.yaml:1: peer_timeout: 1e-9 is out of range "
          "(0.1..3600 seconds)",
          "peer_timeout: a nanosecond, every call would time out" },
        { "peer_timeout: 0.099\n",
          "n.yaml:1: peer_timeout: 0.099 is out of range "
          "(0.1..3600 seconds)",
          "peer_timeout: just below 100 ms" },
        { "peer_timeout: 3600.5\n",
          "n.yaml:1: peer_timeout: 3600.5 is out of range "
          "(0.1..3600 seconds)",
          "peer_timeout: above an hour" },
        { "peer_timeout: -5\n",
          "n.yaml:1: peer_timeout: -5 is out of range (0.1..3600 seconds)",
          "peer_timeout: negative" },
        { "peer_ca_file: \"\"\n",
          "n.yaml:1: peer_ca_file: expected a non-empty string, got \"\"",
          "peer_ca_file: empty" },
        { "peer_ca_file: [a.pem]\n",
          "n.yaml:1: peer_ca_file: expected a non-empty string, "
          "got a sequence",
          "peer_ca_file: sequence" },
        { "cluster_secret: " KVS_TEST_SECRET "\n"
          "cluster_secret: " KVS_TEST_SECRET "\n",
          "n.yaml:2: cluster_secret: duplicate key",
          "cluster_secret: duplicate key" },

        /* compression, TTL and revision history */

        { "compression_enabled: 1\n",
          "n.yaml:1: compression_enabled: expected a boolean (true/false, "
          "yes/no, on/off), got \"1\"",
          "compression_enabled: 1 is not a YAML boolean" },
        { "port: 1\ncompression_level: 0\n",
          "n.yaml:2: compression_level: 0 is out of range (1..19)",
          "compression_level: zero" },
        { "compression_level: 20\n",
          "n.yaml:1: compression_level: 20 is out of range (1..19)",
          "compression_level: 20, above zstd's levels taken" },
        { "compression_level: fast\n",
          "n.yaml:1: compression_level: expected an integer, got \"fast\"",
          "compression_level: not an integer" },
        { "compression_min_size: 2g\n",
          "n.yaml:1: compression_min_size: 2g is out of range "
          "(0..1073741824)",
          "compression_min_size: above 1 GiB" },
        { "compression_min_size: 1.5k\n",
          "n.yaml:1: compression_min_size: expected a size in bytes with an "
          "optional k, m or g suffix, got \"1.5k\"",
          "compression_min_size: fractional size" },
        { "default_ttl: -1\n",
          "n.yaml:1: default_ttl: -1 is out of range (0..3153600000)",
          "default_ttl: negative" },
        { "default_ttl: 3153600001\n",
          "n.yaml:1: default_ttl: 3153600001 is out of range "
          "(0..3153600000)",
          "default_ttl: a second past 100 years" },
        { "default_ttl: 1.5\n",
          "n.yaml:1: default_ttl: expected an integer, got \"1.5\"",
          "default_ttl: whole seconds only" },
        { "\nrevision_history: 101\n",
          "n.yaml:2: revision_history: 101 is out of range (0..100)",
          "revision_history: 101" },
        { "revision_history: -1\n",
          "n.yaml:1: revision_history: -1 is out of range (0..100)",
          "revision_history: negative" },
        { "revision_history: 3\nrevision_history: 4\n",
          "n.yaml:2: revision_history: duplicate key",
          "revision_history: duplicate key" },

        /* users, tokens and permissions */

        { "auth_enabled: maybe\n",
          "n.yaml:1: auth_enabled: expected a boolean (true/false, yes/no, "
          "on/off), got \"maybe\"",
          "auth_enabled: not a boolean" },
        { "jwt_secret_file: \"\"\n",
          "n.yaml:1: jwt_secret_file: expected a non-empty string, "
          "got \"\"",
          "jwt_secret_file: empty" },
        { "jwt_secret_file: ~\n",
          "n.yaml:1: jwt_secret_file: expected a non-empty string, got null",
          "jwt_secret_file: null" },
        { "admin_password_file: [a, b]\n",
          "n.yaml:1: admin_password_file: expected a non-empty string, "
          "got a sequence",
          "admin_password_file: sequence" },
        { "admin_password_file: \"a\\0b\"\n",
          "n.yaml:1: admin_password_file: expected a non-empty string, "
          "got \"a...\"",
          "admin_password_file: embedded NUL" },
        { "token_ttl: 59\n",
          "n.yaml:1: token_ttl: 59 is out of range (60..2592000)",
          "token_ttl: below a minute" },
        { "token_ttl: 2592001\n",
          "n.yaml:1: token_ttl: 2592001 is out of range (60..2592000)",
          "token_ttl: past 30 days" },
        { "token_ttl: 1h\n",
          "n.yaml:1: token_ttl: expected an integer, got \"1h\"",
          "token_ttl: not whole seconds" },
        { "default_permissions: f3\n",
          "n.yaml:1: default_permissions: expected three hex digits of C 8, "
          "D 4, W 2 and R 1 for owner, group and others, as \"f11\", "
          "got \"f3\"",
          "default_permissions: two digits" },
        { "default_permissions: \"0744\"\n",
          "n.yaml:1: default_permissions: expected three hex digits of C 8, "
          "D 4, W 2 and R 1 for owner, group and others, as \"f11\", "
          "got \"0744\"",
          "default_permissions: a POSIX mode of four digits" },
        { "default_permissions: g11\n",
          "n.yaml:1: default_permissions: expected three hex digits of C 8, "
          "D 4, W 2 and R 1 for owner, group and others, as \"f11\", "
          "got \"g11\"",
          "default_permissions: not hex" },
        { "default_permissions: ' f1'\n",
          "n.yaml:1: default_permissions: expected three hex digits of C 8, "
          "D 4, W 2 and R 1 for owner, group and others, as \"f11\", "
          "got \" f1\"",
          "default_permissions: a blank" },
        { "default_permissions:\n",
          "n.yaml:1: default_permissions: expected three hex digits of C 8, "
          "D 4, W 2 and R 1 for owner, group and others, as \"f11\", "
          "got null",
          "default_permissions: null" },
        { "top_level_create: nobody\n",
          "n.yaml:1: top_level_create: expected any or admins, "
          "got \"nobody\"",
          "top_level_create: unknown word" },
        { "top_level_create: [any]\n",
          "n.yaml:1: top_level_create: expected any or admins, "
          "got a sequence",
          "top_level_create: sequence" },
        { "password_threads: 0\n",
          "n.yaml:1: password_threads: 0 is out of range (1..64)",
          "password_threads: zero" },
        { "password_threads: 65\n",
          "n.yaml:1: password_threads: 65 is out of range (1..64)",
          "password_threads: above 64" },
        { "password_threads: two\n",
          "n.yaml:1: password_threads: expected an integer, got \"two\"",
          "password_threads: not an integer" },
        { "port: 80\nmetrics_enabled: 0\n",
          "n.yaml:2: metrics_enabled: expected a boolean (true/false, "
          "yes/no, on/off), got \"0\"",
          "metrics_enabled: 0 is not a YAML boolean" },
        { "auth_enabled: true\nport: 1\n",
          "n.yaml:1: auth_enabled: is true but jwt_secret_file is not set: "
          "add jwt_secret_file, the path of a file of secrets, one per line, "
          "each of at least 32 bytes, the same on every node",
          "auth without jwt_secret_file: at auth_enabled's line" },
        { "admin_password_file: a.pw\nauth_enabled: yes\ntoken_ttl: 60\n",
          "n.yaml:2: auth_enabled: is true but jwt_secret_file is not set: "
          "add jwt_secret_file, the path of a file of secrets, one per line, "
          "each of at least 32 bytes, the same on every node",
          "auth without jwt_secret_file: auth_enabled on a later line" },
        { "auth_enabled: on\njwt_secret_file: j\ntoken_ttl: 7200\n"
          "tombstone_ttl_hours: 1\n",
          "n.yaml:3: token_ttl: 7200 seconds is longer than "
          "tombstone_ttl_hours (1, 3600 seconds): a revoked token would be "
          "valid again once its tombstone is purged; lower token_ttl or "
          "raise tombstone_ttl_hours",
          "token_ttl past the tombstones: at token_ttl's line" },
        { "auth_enabled: on\njwt_secret_file: j\ntoken_ttl: 2592000\n",
          "n.yaml:3: token_ttl: 2592000 seconds is longer than "
          "tombstone_ttl_hours (168, 604800 seconds): a revoked token would "
          "be valid again once its tombstone is purged; lower token_ttl or "
          "raise tombstone_ttl_hours",
          "token_ttl past the default tombstones" },
        { "auth_enabled: on\njwt_secret_file: j\n"
          "tombstone_ttl_hours: 0.5\n",
          "n.yaml:3: tombstone_ttl_hours: 0.5 (1800 seconds) is shorter "
          "than token_ttl (3600 seconds): a revoked token would be valid "
          "again once its tombstone is purged; raise tombstone_ttl_hours or "
          "lower token_ttl",
          "tombstones shorter than the default token_ttl: at their line" },

        { "audit_enabled: true\nport: 1\n",
          "n.yaml:1: audit_enabled: turns the audit log on, but "
          "audit_secret_file is not set: add audit_secret_file, the path of "
          "a file of one secret of at least 32 bytes, outside data_dir (or "
          "set audit_enabled: false)",
          "audit without audit_secret_file: at audit_enabled's line" },
        { "port: 1\nauth_enabled: true\njwt_secret_file: j\n",
          "n.yaml:2: auth_enabled: turns the audit log on, but "
          "audit_secret_file is not set: add audit_secret_file, the path of "
          "a file of one secret of at least 32 bytes, outside data_dir (or "
          "set audit_enabled: false)",
          "auth without audit_secret_file: at auth_enabled's line" },
        { "audit_enabled: maybe\n",
          "n.yaml:1: audit_enabled: expected a boolean (true/false, yes/no, on/off), "
          "got \"maybe\"",
          "audit_enabled: not a boolean" },
        { "audit_reads: 2\n",
          "n.yaml:1: audit_reads: expected a boolean (true/false, yes/no, on/off), "
          "got \"2\"",
          "audit_reads: not a boolean" },
        { "audit_secret_file: \"\"\n",
          "n.yaml:1: audit_secret_file: expected a non-empty string, "
          "got \"\"",
          "audit_secret_file: empty" },

        /* document shape and syntax */

        { "- port: 1\n",
          "n.yaml:1: expected a mapping at the top level, got a sequence",
          "top level sequence" },
        { "\nhello\n",
          "n.yaml:2: expected a mapping at the top level, got \"hello\"",
          "top level scalar" },
        { "port: 1\n  bad: 2\n",
          "n.yaml:2: mapping values are not allowed in this context",
          "syntax error: bad indentation" },
        { "seed_nodes: [a, b\nport: 1\n",
          "n.yaml:2: did not find expected ',' or ']'",
          "syntax error: unclosed flow sequence" },
        { "port: *p\n",
          "n.yaml:1: found undefined alias",
          "syntax error: undefined alias" },
        { "port: 1\n---\nport: 2\n",
          "n.yaml:3: a second YAML document is not allowed",
          "second document" },

        /* backups */

        { "port: 1\nbackup_schedule: \"0 0 32 * *\"\n",
          "n.yaml:2: backup_schedule: field 3 (day of month): 32 is out "
          "of range 1-31",
          "backup_schedule: a value out of range, with the field" },
        { "backup_schedule: \"0 0 * *\"\n",
          "n.yaml:1: backup_schedule: 4 fields where 5 are expected "
          "(minute hour day-of-month month day-of-week)",
          "backup_schedule: four fields" },
        { "backup_schedule: \"0 0 30 2 *\"\n",
          "n.yaml:1: backup_schedule: \"0 0 30 2 *\" never runs: no date "
          "has its day of month, month and day of week",
          "backup_schedule: an expression that never runs" },
        { "backup_schedule: 5\n",
          "n.yaml:1: backup_schedule: 1 field where 5 are expected "
          "(minute hour day-of-month month day-of-week)",
          "backup_schedule: a number" },
        { "backup_schedule:\n",
          "n.yaml:1: backup_schedule: expected a cron expression such as "
          "\"0 0 * * *\", got null",
          "backup_schedule: null" },
        { "backup_schedule: [0, 0]\n",
          "n.yaml:1: backup_schedule: expected a cron expression such as "
          "\"0 0 * * *\", got a sequence",
          "backup_schedule: a sequence" },
        { "backup_enabled: sometimes\n",
          "n.yaml:1: backup_enabled: expected a boolean (true/false, "
          "yes/no, on/off), got \"sometimes\"",
          "backup_enabled: not a boolean" },
        { "backup_dir: \"\"\n",
          "n.yaml:1: backup_dir: expected a non-empty string, got \"\"",
          "backup_dir: empty" },
        { "backup_retention_days: 0\n",
          "n.yaml:1: backup_retention_days: 0 is out of range (1..36500)",
          "backup_retention_days: zero" },
        { "backup_retention_days: 36501\n",
          "n.yaml:1: backup_retention_days: 36501 is out of range "
          "(1..36500)",
          "backup_retention_days: above range" },
        { "backup_retention_days: 1.5\n",
          "n.yaml:1: backup_retention_days: expected an integer, got "
          "\"1.5\"",
          "backup_retention_days: a fraction" },
        { "backup_compression_level: 0\n",
          "n.yaml:1: backup_compression_level: 0 is out of range (1..19)",
          "backup_compression_level: zero" },
        { "backup_compression_level: 22\n",
          "n.yaml:1: backup_compression_level: 22 is out of range (1..19)",
          "backup_compression_level: above 19" }
    };

    for (i = 0; i < sizeof(fails) / sizeof(fails[0]); i++) {
        rc = kvs_test_load("n.yaml", fails[i].yaml, &cf, err, sizeof(err));

        if (rc != -1) {
            kvs_test_ok(0, fails[i].desc);
            printf("#   load returned %d\n", rc);

        } else {
            CHECK_STR(err, fails[i].want, fails[i].desc);
        }

        kvs_config_free(&cf);
    }
}


static void
kvs_test_files_errors(void)
{
    int           rc;
    char          err[KVS_CONFIG_ERRLEN], want[KVS_CONFIG_ERRLEN];
    kvs_config_t  cf;

    kvs_config_defaults(&cf);

    rc = kvs_config_load(&cf, "missing.yaml", err, sizeof(err));
    snprintf(want, sizeof(want), "missing.yaml: %s", strerror(ENOENT));
    CHECK(rc == -1, "missing file fails");
    CHECK_STR(err, want, "missing file: <file>: <strerror>");

    if (mkdir("subdir", 0700) != 0) {
        printf("Bail out! mkdir subdir: %s\n", strerror(errno));
        exit(2);
    }

    rc = kvs_config_load(&cf, "subdir", err, sizeof(err));
    snprintf(want, sizeof(want), "subdir: %s", strerror(EISDIR));
    CHECK(rc == -1, "directory fails");
    CHECK_STR(err, want, "directory: <file>: <strerror>");

    /* root reads anything, so the test only means something for others */
    kvs_test_write("noperm.yaml", "port: 1\n");
    chmod("noperm.yaml", 0);

    if (geteuid() != 0) {
        rc = kvs_config_load(&cf, "noperm.yaml", err, sizeof(err));
        snprintf(want, sizeof(want), "noperm.yaml: %s", strerror(EACCES));
        CHECK(rc == -1 && strcmp(err, want) == 0,
              "unreadable file: <file>: <strerror>");

    } else {
        kvs_test_skip("unreadable file", "running as root");
    }

    kvs_test_write("bad-utf8.yaml", "port: \xff\n");
    rc = kvs_config_load(&cf, "bad-utf8.yaml", err, sizeof(err));
    CHECK(rc == -1 && strncmp(err, "bad-utf8.yaml:1: ", 17) == 0,
          "invalid UTF-8 is a reader error, at its line");

    /* the reader's errors have a byte offset: the line is counted */
    kvs_test_write("bad-utf8.yaml", "node_id: a\nport: 80\xff\n");
    rc = kvs_config_load(&cf, "bad-utf8.yaml", err, sizeof(err));
    CHECK_STR(rc == -1 ? err : "(loaded)", "bad-utf8.yaml:2: invalid "
              "leading UTF-8 octet at byte 19",
              "invalid UTF-8 on line 2: line 2, and the byte");
    kvs_test_write("ctl.yaml", "node_id: a\nport: 8080\x01\n");
    rc = kvs_config_load(&cf, "ctl.yaml", err, sizeof(err));
    CHECK_STR(rc == -1 ? err : "(loaded)", "ctl.yaml:2: control characters "
              "are not allowed at byte 21",
              "a control byte on line 2: line 2, and the byte");

    /* an unknown key comes back on one line: cut at a control byte */
    kvs_test_write("key.yaml", "node_id: a\n\"bogus\\nsecond\\x1b[31m\": 1\n");
    rc = kvs_config_load(&cf, "key.yaml", err, sizeof(err));
    CHECK_STR(rc == -1 ? err : "(loaded)", "key.yaml:2: bogus...: unknown key",
              "an unknown key with a newline: cut there");

    kvs_config_free(&cf);
}


static void
kvs_test_free_after_failure(void)
{
    int           rc;
    char          err[KVS_CONFIG_ERRLEN];
    kvs_config_t  cf;

    /* strings and seeds are applied before the failing key */
    rc = kvs_test_load("late.yaml",
                       "node_id: n1\n"
                       "data_dir: /tmp/x\n"
                       "seed_nodes: [a:1, b:2]\n"
                       "port: nope\n",
                       &cf, err, sizeof(err));
    CHECK(rc == -1, "late failure: load fails");
    CHECK_STR(err, "late.yaml:4: port: expected an integer, got \"nope\"",
              "late failure: message");

    kvs_config_free(&cf);
    CHECK(cf.node_id == NULL && cf.seed_nodes == NULL
          && cf.nseed_nodes == 0, "late failure: free clears everything");

    kvs_config_free(&cf);
    CHECK(1, "late failure: free twice");

    /* a bad item leaves the list loaded before untouched */
    rc = kvs_test_load("late.yaml",
                       "seed_nodes: [a:1]\n" KVS_TEST_SECRET_YAML, &cf, err,
                       sizeof(err));
    kvs_test_write("late2.yaml", "seed_nodes: [b:2, \"\"]\n");
    rc = (rc == 0) ? kvs_config_load(&cf, "late2.yaml", err, sizeof(err))
                   : 0;
    CHECK(rc == -1 && cf.nseed_nodes == 1
          && strcmp(cf.seed_nodes[0], "a:1") == 0,
          "bad seed item keeps the previous list");
    kvs_config_free(&cf);

    /* the secret and the CA file are freed after a late failure too, and
     * a rule between keys fails after everything was applied */
    rc = kvs_test_load("late.yaml",
                       KVS_TEST_SECRET_YAML
                       "peer_ca_file: ca.pem\n"
                       "jwt_secret_file: jwt.keys\n"
                       "admin_password_file: admin.pw\n"
                       "seed_nodes: [a:1]\n"
                       "removal_timeout: 1\n",
                       &cf, err, sizeof(err));
    CHECK(rc == -1 && cf.cluster_secret != NULL && cf.peer_ca_file != NULL
          && cf.jwt_secret_file.path != NULL
          && cf.admin_password_file.path != NULL,
          "late failure: secret and files applied before the rule fails");
    kvs_config_free(&cf);
    CHECK(cf.cluster_secret == NULL && cf.peer_ca_file == NULL
          && cf.jwt_secret_file.path == NULL
          && cf.admin_password_file.path == NULL,
          "late failure: secret and files freed");

    /* syntax errors happen before anything is applied */
    rc = kvs_test_load("late.yaml", "node_id: n2\nport: [\n", &cf, err,
                       sizeof(err));
    CHECK(rc == -1 && cf.node_id != NULL && strcmp(cf.node_id, "n2") != 0,
          "syntax error: nothing applied");
    kvs_config_free(&cf);

    /* a config never given defaults, only zeroed, is freeable after a
     * failed load as well */
    memset(&cf, 0, sizeof(cf));
    kvs_test_write("late.yaml", "node_id: n3\nfoo: 1\n");
    rc = kvs_config_load(&cf, "late.yaml", err, sizeof(err));
    CHECK(rc == -1 && cf.node_id != NULL, "zeroed config: load fails late");
    kvs_config_free(&cf);
    CHECK(cf.node_id == NULL, "zeroed config: freed");
}


static void
kvs_test_err_buffer(void)
{
    int           rc;
    char          err[16];
    kvs_config_t  cf;

    memset(err, 'x', sizeof(err));
    rc = kvs_test_load("n.yaml", "port: 70000\n", &cf, err, 10);
    CHECK(rc == -1 && strlen(err) == 9 && err[10] == 'x',
          "short err buffer: truncated and terminated");
    kvs_config_free(&cf);

    rc = kvs_test_load("n.yaml", "port: 70000\n", &cf, NULL, 0);
    CHECK(rc == -1, "NULL err buffer: still fails cleanly");
    kvs_config_free(&cf);
}


static void
kvs_test_cleanup(void)
{
    int  i;

    for (i = 0; i < kvs_test_nfiles; i++) {
        unlink(kvs_test_files[i]);
        free(kvs_test_files[i]);
    }

    rmdir("subdir");

    if (chdir("/") == 0) {
        rmdir(kvs_test_dir);
    }
}


/* the fixtures are written in a temp dir of their own, the current one */

static int
kvs_test_setup(void)
{
    if (mkdtemp(kvs_test_dir) == NULL || chdir(kvs_test_dir) != 0) {
        printf("Bail out! temp dir: %s\n", strerror(errno));
        return -1;
    }

    return 0;
}


static const kvs_test_case_t  kvs_test_cases[] = {
    KVS_TEST_CASE(kvs_test_defaults),
    KVS_TEST_CASE(kvs_test_empty),
    KVS_TEST_CASE(kvs_test_full),
    KVS_TEST_CASE(kvs_test_fractions),
    KVS_TEST_CASE(kvs_test_sizes),
    KVS_TEST_CASE(kvs_test_seeds),
    KVS_TEST_CASE(kvs_test_cluster),
    KVS_TEST_CASE(kvs_test_peer_names),
    KVS_TEST_CASE(kvs_test_values),
    KVS_TEST_CASE(kvs_test_data_keys),
    KVS_TEST_CASE(kvs_test_auth_keys),
    KVS_TEST_CASE(kvs_test_ops_keys),
    KVS_TEST_CASE(kvs_test_rate_keys),
    KVS_TEST_CASE(kvs_test_audit_keys),
    KVS_TEST_CASE(kvs_test_backup_keys),
    KVS_TEST_CASE(kvs_test_errors),
    KVS_TEST_CASE(kvs_test_files_errors),
    KVS_TEST_CASE(kvs_test_free_after_failure),
    KVS_TEST_CASE(kvs_test_err_buffer),
    { NULL, NULL }
};


const kvs_test_suite_t  kvs_test_suite = {
    kvs_test_setup, kvs_test_cleanup, kvs_test_cases
};
