# Metrics as a scraper sees them: kvs_metrics answers Prometheus's text
# format 0.0.4, which parses strictly (t/lib/KVS/Prometheus.pm), and whose
# counters move with the requests a block makes; nginx's allow/deny guards
# it; only GET and HEAD; metrics_enabled: false turns it into a 404; and
# nginx -t refuses a bad metrics_enabled or a kvs_metrics with no node.
# Counts summed over workers, logins, the TTL sweep: t/029-metrics-counts.t.
use Test::Nginx::Socket 'no_plan';
use KVS::Blocks;
use KVS::Prometheus;

# every block starts from an empty store (t/lib/KVS/Blocks.pm)
add_block_preprocessor(\&KVS::Blocks::empty_store);

# "valid" (or the format's errors), then the samples that are not 0
sub counted {
    return KVS::Prometheus::pick($_[0], qr/ (?!0$|0\.0+$)[0-9.]+$/);
}

# "valid", then the samples of these families, whatever their values
sub families {
    my @names = @_;
    my $re = join '|', map { quotemeta } @names;
    return sub { KVS::Prometheus::pick($_[0], qr/^(?:$re)[{ ]/) };
}

no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: three PUTs and a GET of a missing key: the kv counters, three commits of one write each, their time by part (none of it an audit log's), three keys
--- config
location / { kvs_api; }
location = /metrics { kvs_metrics; allow 127.0.0.1; deny all; }
--- request eval
["PUT /kv/a\n1", "PUT /kv/b\n2", "PUT /kv/c\n3", "GET /kv/none",
 "GET /metrics"]
--- response_body_filters eval
[[], [], [], [], [\&main::counted]]
--- error_code eval
[200, 200, 200, 404, 200]
--- response_headers eval
["", "", "", "", "Content-Type: text/plain; version=0.0.4"]
--- response_body_like eval
[qr/"uuid"/, qr/"uuid"/, qr/"uuid"/, qr/"error"/,
 qr/\Avalid
kvs_http_requests_total\{area="kv",method="GET",status="4xx"\} 1
kvs_http_requests_total\{area="kv",method="PUT",status="2xx"\} 3
kvs_group_commits_total 3
kvs_group_commit_writes_bucket\{le="1"\} 3
(?:kvs_group_commit_writes_bucket\{le="\d+"\} 3
)+kvs_group_commit_writes_bucket\{le="\+Inf"\} 3
kvs_group_commit_writes_sum 3
kvs_group_commit_writes_count 3
(?:kvs_group_commit_duration_seconds_bucket\{le="[\d.]+"\} [123]
)*kvs_group_commit_duration_seconds_bucket\{le="\+Inf"\} 3
kvs_group_commit_duration_seconds_sum 0\.\d{6}
kvs_group_commit_duration_seconds_count 3
(?:kvs_group_commit_phase_seconds_bucket\{phase="apply",le="[\d.]+"\} [123]
)*kvs_group_commit_phase_seconds_bucket\{phase="apply",le="\+Inf"\} 3
kvs_group_commit_phase_seconds_sum\{phase="apply"\} 0\.\d{6}
kvs_group_commit_phase_seconds_count\{phase="apply"\} 3
(?:kvs_group_commit_phase_seconds_bucket\{phase="audit",le="[\d.]+"\} 3
)+kvs_group_commit_phase_seconds_bucket\{phase="audit",le="\+Inf"\} 3
kvs_group_commit_phase_seconds_count\{phase="audit"\} 3
(?:kvs_group_commit_phase_seconds_bucket\{phase="commit",le="[\d.]+"\} [123]
)*kvs_group_commit_phase_seconds_bucket\{phase="commit",le="\+Inf"\} 3
kvs_group_commit_phase_seconds_sum\{phase="commit"\} 0\.\d{6}
kvs_group_commit_phase_seconds_count\{phase="commit"\} 3
kvs_keys 3
kvs_store_size_bytes \d+
kvs_store_used_bytes \d+
kvs_store_map_size_bytes 1073741824
kvs_members\{state="alive"\} 1
\z/]
--- no_error_log
[error]



=== TEST 2: every family has its HELP and TYPE; rate limits and audit are registered at 0; a standalone node has no peer series
--- config
location / { kvs_api; }
location = /metrics { kvs_metrics; }
--- request
GET /metrics
--- response_body_filters eval
main::families(qw(kvs_rate_limited_requests_total kvs_audit_entries_total
                  kvs_members kvs_syncing kvs_push_records_total
                  kvs_push_lag_seconds_count kvs_logins_total
                  kvs_anti_entropy_rounds_total kvs_conflicts_resolved_total
                  kvs_ttl_expired_records_total))
--- response_body
valid
kvs_anti_entropy_rounds_total{result="ok"} 0
kvs_anti_entropy_rounds_total{result="failed"} 0
kvs_conflicts_resolved_total 0
kvs_members{state="alive"} 1
kvs_members{state="failed"} 0
kvs_members{state="left"} 0
kvs_syncing 0
kvs_logins_total{result="ok"} 0
kvs_logins_total{result="failed"} 0
kvs_ttl_expired_records_total 0
kvs_rate_limited_requests_total 0
kvs_audit_entries_total 0



=== TEST 3: the areas: /health, /members/, a path of no endpoint; scrapes count themselves nowhere; a DELETE of no key is a commit that finds none
--- config
location / { kvs_api; }
location = /metrics { kvs_metrics; }
--- request eval
["GET /health", "GET /members/", "GET /nowhere", "DELETE /kv/none",
 "GET /metrics", "GET /metrics"]
--- response_body_filters eval
[[], [], [], [], [], [\&main::counted]]
--- error_code eval
[200, 200, 404, 404, 200, 200]
--- response_body_like eval
[qr/ok/, qr/\[/, qr/error/, qr/error/, qr/^# HELP /,
 qr/\Avalid
kvs_http_requests_total\{area="kv",method="DELETE",status="4xx"\} 1
kvs_http_requests_total\{area="members",method="GET",status="2xx"\} 1
kvs_http_requests_total\{area="health",method="GET",status="2xx"\} 1
kvs_http_requests_total\{area="other",method="GET",status="4xx"\} 1
kvs_group_commits_total 1
/]



=== TEST 4: HEAD answers the headers alone
--- config
location / { kvs_api; }
location = /metrics { kvs_metrics; }
--- request
HEAD /metrics
--- response_headers
Content-Type: text/plain; version=0.0.4
--- response_body



=== TEST 5: POST is 405 with Allow, in JSON
--- config
location / { kvs_api; }
location = /metrics { kvs_metrics; }
--- request
POST /metrics
x
--- error_code: 405
--- response_headers
Allow: GET, HEAD
Content-Type: application/json
--- response_body
{"error":"the method POST is not allowed on metrics; use GET"}



=== TEST 6: deny all: nginx's 403, in JSON
--- config
location / { kvs_api; }
location = /metrics { kvs_metrics; deny all; }
--- request
GET /metrics
--- error_code: 403
--- response_headers
Content-Type: application/json
--- response_body
{"error":"access to this location is forbidden"}
--- error_log
access forbidden by rule



=== TEST 7: metrics_enabled: false: 404 with a sentence, and the API serves on
--- config
location / { kvs_api; }
location = /metrics { kvs_metrics; }
--- user_files
>>> node.yaml
data_dir: html/data
metrics_enabled: false
--- request eval
["PUT /kv/a\n1", "GET /metrics"]
--- error_code eval
[200, 404]
--- response_body eval
[qr/"uuid"/,
 qq({"error":"metrics are off: metrics_enabled is false in the node's YAML"}\n)]
--- no_error_log
[error]



=== TEST 8: nginx -t refuses a metrics_enabled that is no boolean, with file and line
--- config
location / { kvs_api; }
location = /metrics { kvs_metrics; }
--- user_files
>>> node.yaml
data_dir: html/data
metrics_enabled: 1
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*node\.yaml:2: metrics_enabled: expected a boolean \(true\/false, yes\/no, on\/off\), got "1"/



=== TEST 9: kvs_metrics without a kvs_api location makes no node: refused
--- config
location = /metrics { kvs_metrics; }
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"kvs_metrics" in .*nginx\.conf:\d+ needs a location with "kvs_api" or "kvs_cluster_api"/



=== TEST 10: kvs_metrics and kvs_api in one location: refused
--- config
location / { kvs_api; kvs_metrics; }
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*"kvs_metrics" directive cannot share a location with kvs_api or kvs_cluster_api/
