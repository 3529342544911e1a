# Metrics counted across processes: the strict reader refuses what the
# format forbids; nginx -t refuses a bad metrics_enabled; two workers'
# counts are summed (200 PUTs over both, by a reuseport listener, are 200
# in the scrape, and the group commits hold them all, their time told by
# part); a reload keeps the
# counters; the TTL sweep counts what it expires; logins count by outcome,
# and a scrape needs no token.
use strict;
use warnings;
use Test::More;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep);
use KVS::Node qw(wait_for);
use KVS::Prometheus;
use KVS::Token;


# the strict reader: each of these is refused, with a reason

my @bad = (
    ["kvs_keys 1\n", qr/before its family's TYPE/, 'a sample before TYPE'],
    ["# TYPE a counter\na 1\n", qr/does not end in _total/,
     'a counter not named _total'],
    ["# TYPE a gauge\na 1", qr/newline/, 'no final newline'],
    ["# TYPE a gauge\n# TYPE a gauge\na 1\n", qr/second TYPE/, 'two TYPEs'],
    ["# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n", qr/twice/,
     'a series twice'],
    ["# TYPE a gauge\na{x=\"\\t\"} 1\n", qr/bad label/, 'a bad escape'],
    ["# TYPE a gauge\na{x=\"1\",} 1\n", qr/trailing comma/,
     'a trailing comma'],
    ["# TYPE a gauge\na one\n", qr/not a sample/, 'a value no float'],
    ["# TYPE 1a gauge\n", qr/comment other than/, 'a bad name'],
    ["# TYPE a gauge\n\na 1\n", qr/not a sample/, 'a blank line'],
    ["# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"y\"} 1\n",
     qr/not in one group/, 'a family in two groups'],
    ["# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
     qr/not le="\+Inf"/, 'a histogram without +Inf'],
    ["# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
     . "h_sum 1\nh_count 1\n", qr/below the one before/,
     'buckets that are not cumulative'],
    ["# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",
     qr/\+Inf is 2 but _count is 1/, '+Inf other than _count'],
    ["# TYPE h histogram\nh_bucket{le=\"2\"} 1\nh_bucket{le=\"1\"} 1\n"
     . "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
     qr/does not follow/, 'le not ascending'],
);

for my $case (@bad) {
    my ($text, $why, $desc) = @$case;
    my ($fam, @err) = KVS::Prometheus::parse($text);
    like("@err", $why, "the reader refuses $desc");
}

my ($fam, @err) = KVS::Prometheus::parse(
    "# HELP h a \\\\ help\n# TYPE h histogram\n"
    . "h_bucket{p=\"a\\\"b\\n\",le=\"0.5\"} 1\n"
    . "h_bucket{p=\"a\\\"b\\n\",le=\"+Inf\"} 2\n"
    . "h_sum{p=\"a\\\"b\\n\"} 1.5e0\nh_count{p=\"a\\\"b\\n\"} 2\n");
is("@err", '', 'the reader takes a good histogram with escaped labels');
is(KVS::Prometheus::value($fam, 'h_count', p => "a\"b\n"), 2,
   'and reads its count by the unescaped label');

# nginx -t refuses a metrics_enabled that is no boolean, with file and line

my $bad = KVS::Node->new(name => 'metrics-t',
                         yaml => "metrics_enabled: perhaps\n");
my ($rc, $out) = $bad->test_config;
isnt($rc, 0, 'metrics_enabled: perhaps fails nginx -t');
like($out, qr/node\.yaml:5: metrics_enabled: expected a boolean .*"perhaps"/,
     'naming the file, the line and the value');

# two workers, and a second listener whose connections the kernel spreads
# over them (reuseport)

my $spread = KVS::Node::free_port();
my $node = KVS::Node->new(
    name => 'metrics', workers => 2,
    http => 'log_format pids "$pid $request_method $uri $status";',
    server => "listen 127.0.0.1:$spread reuseport;\n"
            . "access_log logs/access.log pids;\n"
            . "location = /metrics { kvs_metrics; allow 127.0.0.1; "
            . "deny all; }");
$node->start;

my $alt = bless { %$node, port => $spread }, 'KVS::Node';

sub scrape {
    my ($n) = @_;
    my ($st, $h, $b) = $n->request(GET => '/metrics');
    die "GET /metrics: $st $b\n" unless $st == 200;
    my ($f, @e) = KVS::Prometheus::parse($b);
    die "the scrape does not parse: @e\n" if @e;
    return $f;
}

my $puts = 200;
my @kids;
for my $c (0 .. 7) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $bad = 0;
        for my $i (0 .. $puts / 8 - 1) {
            my ($st) = $alt->request(PUT => "/kv/w/$c/$i",
                                     body => qq({"c":$c,"i":$i}));
            $bad++ unless $st == 200;
        }
        POSIX::_exit($bad ? 1 : 0);
    }
    push @kids, $pid;
}
my $failed = 0;
for (@kids) { waitpid($_, 0); $failed++ if $? }
is($failed, 0, "$puts concurrent PUTs all answered 200");

my %pids;
if (open my $log, '<', $node->prefix . '/logs/access.log') {
    while (<$log>) { $pids{$1}++ if m{^(\d+) PUT /kv/w/\S+ 200$} }
}
cmp_ok(scalar(keys %pids), '>=', 2, 'both workers served some of them')
    or diag(explain(\%pids));

$fam = scrape($node);
is(KVS::Prometheus::value($fam, 'kvs_http_requests_total',
                          area => 'kv', method => 'PUT', status => '2xx'),
   $puts, 'the scrape sums both workers: 200 PUTs answered 2xx');

my $commits = KVS::Prometheus::value($fam, 'kvs_group_commits_total');
cmp_ok($commits, '>=', 1, "group commits counted ($commits)");
cmp_ok($commits, '<=', $puts, 'no more commits than writes');
is(KVS::Prometheus::value($fam, 'kvs_group_commit_writes_sum'), $puts,
   'the commits hold the 200 writes, each once');
is(KVS::Prometheus::value($fam, 'kvs_group_commit_writes_count'), $commits,
   'one writes-per-commit observation per commit');
is(KVS::Prometheus::value($fam, 'kvs_group_commit_duration_seconds_count'),
   $commits, 'one duration per commit');
my $took = KVS::Prometheus::value($fam,
                                  'kvs_group_commit_duration_seconds_sum');
cmp_ok($took, '>', 0, 'commits take time (an fsync each)');

# where that time went: the writes, their audit entries, LMDB's commit

sub phase {
    my ($f, $what, $phase) = @_;
    return KVS::Prometheus::value($f, "kvs_group_commit_phase_seconds_$what",
                                  phase => $phase);
}

for my $p (qw(apply audit commit)) {
    is(phase($fam, 'count', $p), $commits, "one $p time per commit");
}
cmp_ok(phase($fam, 'sum', 'apply'), '>', 0, 'applying the writes takes time');
is(phase($fam, 'sum', 'audit'), 0, 'no audit log, no time for one');
cmp_ok(phase($fam, 'sum', 'commit'), '>', 0, "LMDB's commit takes time");
my $parts = 0;
$parts += phase($fam, 'sum', $_) for qw(apply audit commit);
cmp_ok(abs($parts - $took), '<', 1e-5,
       "the three parts make the commits' duration ($parts s)");
is(KVS::Prometheus::value($fam, 'kvs_keys'), $puts, 'kvs_keys is 200');
cmp_ok(KVS::Prometheus::value($fam, 'kvs_store_used_bytes'), '>', 0,
       'the store uses some bytes');
is(KVS::Prometheus::value($fam, 'kvs_store_map_size_bytes'), 1073741824,
   'the map is max_db_size, 1 GiB by default');

# a reload keeps the zone, and the counters in it

my @old = $node->worker_pids;
kill 'HUP', $node->master_pid;
ok(wait_for(10, sub { !grep { KVS::Node::running($_) } @old }),
   'a reload replaces the workers');
ok(wait_for(5, sub {
       my ($st) = eval { $node->request(GET => '/metrics') };
       $st && $st == 200 }), 'and the new ones scrape');
$fam = scrape($node);
is(KVS::Prometheus::value($fam, 'kvs_http_requests_total',
                          area => 'kv', method => 'PUT', status => '2xx'),
   $puts, 'the counters survive the reload');

# the TTL sweep, by the agent: its own row, summed with the workers'

my ($st) = $node->request(PUT => '/kv/short?ttl=1', body => '1');
is($st, 200, 'a PUT with a TTL of 1 s');
ok(wait_for(6, sub {
       (KVS::Prometheus::value(scrape($node),
                               'kvs_ttl_expired_records_total') // 0) == 1
   }), 'the sweep counts the record it expired');

# 403 from nginx's deny for any other client is t/028's; here a 404

($st) = $node->request(GET => '/kv/none');
$fam = scrape($node);
is(KVS::Prometheus::value($fam, 'kvs_http_requests_total',
                          area => 'kv', method => 'GET', status => '4xx'),
   1, 'a 404 moves the 4xx counter');
$node->stop;

# logins, with auth on: a scrape needs no token

my $auth = KVS::Node->new(
    name => 'metrics-auth', workers => 1,
    yaml => "auth_enabled: true\njwt_secret_file: conf/jwt.secret\n"
          . "admin_password_file: conf/admin.pw\naudit_enabled: false\n",
    server => 'location = /metrics { kvs_metrics; }');
$auth->put_file('conf/jwt.secret', "$KVS::Token::Secret\n");
$auth->put_file('conf/admin.pw', "admin-password\n");
$auth->start;

($st) = $auth->request(POST => '/api/login',
    body => '{"username":"admin","password":"admin-password"}');
is($st, 200, 'a login with the right password');
($st) = $auth->request(POST => '/api/login',
    body => '{"username":"admin","password":"wrong-password"}');
is($st, 401, 'a login with a wrong one');
($st) = $auth->request(POST => '/api/login',
    body => '{"username":"nobody","password":"wrong-password"}');
is($st, 401, 'a login of an unknown user');

$fam = scrape($auth);
is(KVS::Prometheus::value($fam, 'kvs_logins_total', result => 'ok'), 1,
   'one login ok');
is(KVS::Prometheus::value($fam, 'kvs_logins_total', result => 'failed'), 2,
   'two failed');
is(KVS::Prometheus::value($fam, 'kvs_http_requests_total',
                          area => 'api', method => 'POST', status => '4xx'),
   2, 'the failed ones are 4xx answers of the api area');
$auth->stop;

# with the audit log on, its entries take their part of a commit

my $audited = KVS::Node->new(
    name => 'metrics-audit', workers => 1,
    yaml => "audit_enabled: true\naudit_secret_file: conf/audit.secret\n",
    server => 'location = /metrics { kvs_metrics; }');
$audited->put_file('conf/audit.secret', 'metrics-audit-secret-' . ('x' x 32)
                                        . "\n");
$audited->start;

for my $i (1 .. 5) {
    ($st) = $audited->request(PUT => "/kv/a/$i", body => '{"i":1}');
    is($st, 200, "PUT $i with the audit log on");
}
$fam = scrape($audited);
is(KVS::Prometheus::value($fam, 'kvs_audit_entries_total'), 5,
   'five entries');
$commits = KVS::Prometheus::value($fam, 'kvs_group_commits_total');
is(phase($fam, 'count', 'audit'), $commits, 'an audit time per commit');
cmp_ok(phase($fam, 'sum', 'audit'), '>', 0,
       'the entries took time (their hashes)');
$audited->stop;

done_testing();
