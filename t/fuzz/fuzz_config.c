/*
 * kvs_config_load(): the node's YAML, read by nginx's master at "nginx -t"
 * and at start.  kvs_config.c reads a file by name, so the input is
 * written to a memfd and loaded through /proc/self/fd/N: no disk, no
 * temporary name to clean up.
 *
 * A file refused gives a sentence that starts with the file's name; a
 * file taken leaves every value in its range and every rule between keys
 * kept, so that the module can trust what it was given; a second load of
 * the same file over the first ends the same way; and kvs_config_free()
 * leaves nothing behind (LeakSanitizer would say).
 */

#define _GNU_SOURCE

#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvs_config.h"
#include "kvs_members.h"
#include "kvs_fuzz.h"


static int   kvs_fuzz_fd = -1;
static char  kvs_fuzz_path[64];


static void
kvs_fuzz_loaded(const kvs_config_t *cf)
{
    int         n;
    char        address[KVS_MEMBER_NAME_MAX + 16];
    size_t      i;
    kvs_address_t  seed;

    FUZZ_CHECK(cf->node_id != NULL && cf->bind_address != NULL
               && cf->data_dir != NULL,
               "a file taken leaves node_id, bind_address and data_dir");
    FUZZ_CHECK(kvs_member_name_check(cf->node_id, strlen(cf->node_id))
               == NULL, "a file taken has a node_id a member may have");

    n = snprintf(address, sizeof(address), "%s:%d", cf->bind_address,
                 cf->port);
    FUZZ_CHECK(n > 0 && (size_t) n < sizeof(address)
               && kvs_member_name_check(address, (size_t) n) == NULL,
               "a file taken has a bind_address:port a member may have");

    FUZZ_CHECK(cf->port >= 1 && cf->port <= 65535, "port is 1..65535");
    FUZZ_CHECK(cf->read_only == 0 || cf->read_only == 1, "read_only is a "
               "bool");
    FUZZ_CHECK(cf->compression_enabled == 0 || cf->compression_enabled == 1,
               "compression_enabled is a bool");
    FUZZ_CHECK(cf->log_level >= KVS_LOG_DEBUG && cf->log_level <= KVS_LOG_ERROR,
               "log_level is one of four");

    FUZZ_CHECK(isfinite(cf->gossip_interval_min)
               && isfinite(cf->gossip_interval_max)
               && isfinite(cf->sync_interval)
               && isfinite(cf->catchup_interval)
               && isfinite(cf->peer_timeout)
               && cf->gossip_interval_min >= 0.01
               && cf->sync_interval >= 0.01
               && cf->catchup_interval >= 0.01
               && cf->peer_timeout >= 0.1 && cf->peer_timeout <= 3600,
               "the timers are at least 10 ms, peer_timeout 0.1..3600 s");
    FUZZ_CHECK(cf->gossip_interval_min <= cf->gossip_interval_max,
               "gossip_interval_min <= gossip_interval_max");

    FUZZ_CHECK(cf->bootstrap_max_age_hours > 0
               && cf->bootstrap_max_age_hours <= 876000
               && cf->tombstone_ttl_hours > 0
               && cf->tombstone_ttl_hours <= 876000
               && cf->failure_timeout > 0
               && cf->removal_timeout >= cf->failure_timeout,
               "the ages are positive, removal_timeout >= failure_timeout");

    FUZZ_CHECK(cf->throttle_delay_ms >= 0 && cf->throttle_delay_ms <= 600000
               && cf->fetch_delay_ms >= 0 && cf->fetch_delay_ms <= 600000,
               "the delays are 0..600000 ms");
    FUZZ_CHECK(cf->max_json_size >= 1
               && cf->max_json_size <= 1024 * 1024 * 1024
               && cf->max_db_size >= 1024 * 1024
               && cf->max_db_size <= 1024ULL * 1024 * 1024 * 1024
               && cf->compression_min_size <= 1024 * 1024 * 1024,
               "the sizes are in range");
    FUZZ_CHECK(cf->compression_level >= 1 && cf->compression_level <= 19
               && cf->revision_history >= 0 && cf->revision_history <= 100
               && cf->default_ttl >= 0
               && cf->default_ttl <= 100LL * 31536000,
               "compression_level, revision_history and default_ttl are in "
               "range");

    FUZZ_CHECK(cf->cluster_secret == NULL
               || strlen(cf->cluster_secret) >= 16,
               "a cluster_secret has 16 bytes or more");
    FUZZ_CHECK(cf->nseed_nodes == 0 || cf->cluster_secret != NULL,
               "seed_nodes come with a cluster_secret");
    FUZZ_CHECK((cf->peer_cert_file == NULL) == (cf->peer_key_file == NULL),
               "peer_cert_file comes with peer_key_file");

    FUZZ_CHECK(cf->auth_enabled == 0 || cf->auth_enabled == 1,
               "auth_enabled is a bool");
    FUZZ_CHECK(!cf->auth_enabled || cf->jwt_secret_file.path != NULL,
               "auth_enabled comes with a jwt_secret_file");
    FUZZ_CHECK((cf->jwt_secret_file.path == NULL)
               == (cf->jwt_secret_file.line == 0)
               && (cf->admin_password_file.path == NULL)
                  == (cf->admin_password_file.line == 0),
               "a file named in the YAML keeps the line that named it");
    FUZZ_CHECK(cf->token_ttl >= 60 && cf->token_ttl <= 30 * 86400
               && (!cf->auth_enabled
                   || cf->token_ttl <= cf->tombstone_ttl_hours * 3600),
               "token_ttl is 60 s..30 days and, with auth, expires before "
               "a revocation's tombstone is purged");
    FUZZ_CHECK(cf->default_permissions <= 0xfff,
               "default_permissions are 12 bits");
    FUZZ_CHECK(cf->top_level_create == KVS_TOP_LEVEL_ANY
               || cf->top_level_create == KVS_TOP_LEVEL_ADMINS,
               "top_level_create is any or admins");
    FUZZ_CHECK(cf->password_threads >= 1 && cf->password_threads <= 64,
               "password_threads is 1..64");

    for (i = 0; i < cf->nseed_nodes; i++) {
        FUZZ_CHECK(cf->seed_nodes[i] != NULL
                   && kvs_address_parse(cf->seed_nodes[i],
                               strlen(cf->seed_nodes[i]), &seed)
                      == 0,
                   "the agent can split every seed node loaded");
        FUZZ_CHECK(seed.port >= 1 && seed.port <= 65535 && seed.host_len > 0,
                   "a seed node has a host and a port");
    }
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int           rc, again;
    char          err[KVS_CONFIG_ERRLEN], err2[KVS_CONFIG_ERRLEN];
    kvs_config_t  cf;

    if (kvs_fuzz_fd == -1) {
        kvs_fuzz_fd = memfd_create("kvs-fuzz-config", 0);
        FUZZ_CHECK(kvs_fuzz_fd != -1, "memfd_create() works");
        snprintf(kvs_fuzz_path, sizeof(kvs_fuzz_path), "/proc/self/fd/%d",
                 kvs_fuzz_fd);
    }

    FUZZ_CHECK(ftruncate(kvs_fuzz_fd, 0) == 0
               && pwrite(kvs_fuzz_fd, data, size, 0) == (ssize_t) size,
               "the input is written to the memfd");

    FUZZ_CHECK(kvs_config_defaults(&cf) == 0, "the defaults load");

    rc = kvs_config_load(&cf, kvs_fuzz_path, err, sizeof(err));

    if (rc == 0) {
        kvs_fuzz_loaded(&cf);

    } else {
        FUZZ_CHECK(rc == -1, "kvs_config_load() returns 0 or -1");
        FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL
                   && strncmp(err, kvs_fuzz_path, strlen(kvs_fuzz_path))
                      == 0
                   && err[strlen(kvs_fuzz_path)] == ':',
                   "a refusal is a sentence that starts with the file");
    }

    again = kvs_config_load(&cf, kvs_fuzz_path, err2, sizeof(err2));

    FUZZ_CHECK(again == rc && (rc == 0 || strcmp(err, err2) == 0),
               "the same file loaded again ends the same way");

    if (again == 0) {
        kvs_fuzz_loaded(&cf);
    }

    kvs_config_free(&cf);

    FUZZ_CHECK(cf.node_id == NULL && cf.bind_address == NULL
               && cf.data_dir == NULL && cf.cluster_secret == NULL
               && cf.seed_nodes == NULL && cf.nseed_nodes == 0
               && cf.peer_ca_file == NULL && cf.peer_cert_file == NULL
               && cf.peer_key_file == NULL
               && cf.jwt_secret_file.path == NULL
               && cf.admin_password_file.path == NULL,
               "kvs_config_free() leaves every pointer NULL");

    return 0;
}
