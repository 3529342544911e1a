# Metrics of a three-node cluster, as node 1's /metrics shows them: after
# writes on node 1, a push lag histogram and a count of records pushed for
# each of both peers, under their node ids; three members alive; rounds of
# anti-entropy and the bytes they pulled moving; the scrape parsing
# strictly with peer labels in it.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(seeds wait_for);
use KVS::Prometheus;

my $secret = 'metrics-cluster-secret-0123456789';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\n"
           . "failure_timeout: 3\nremoval_timeout: 60\npeer_timeout: 1\n"
           . "sync_interval: 0.3\ncatchup_interval: 0.3\n"
           . "cluster_secret: $secret\n";
my $metrics = 'location = /metrics { kvs_metrics; allow 127.0.0.1; '
            . 'deny all; }';

my $n1 = KVS::Node->new(name => 'm1', server => $metrics,
                        yaml => $timing . "seed_nodes: []\n");
my $n2 = KVS::Node->new(name => 'm2', server => $metrics,
                        yaml => $timing . 'seed_nodes: ' . seeds($n1) . "\n");
my $n3 = KVS::Node->new(name => 'm3', server => $metrics,
                        yaml => $timing . 'seed_nodes: ' . seeds($n1, $n2)
                                . "\n");
$_->start for $n1, $n2, $n3;
ok(wait_for(10, sub { !grep { (($_->request(GET => '/health'))[2] // '')
                              !~ /"mode":"normal","member_count":3/ }
                            $n1, $n2, $n3 }),
   'three nodes know each other, bootstrapped');

# (families, errors) of a node's scrape
sub scrape {
    my ($n) = @_;
    my ($st, $h, $b) = $n->request(GET => '/metrics');
    return ({}, "GET /metrics: $st") unless $st == 200;
    return KVS::Prometheus::parse($b);
}

sub value {
    my ($fam, @sel) = @_;
    return KVS::Prometheus::value($fam, @sel) // 0;
}

my $writes = 20;
for my $i (1 .. $writes) {
    my ($st) = $n1->request(PUT => "/kv/m/$i", body => qq({"i":$i}));
    is($st, 200, "PUT $i on node 1") if $i == 1 || $i == $writes;
}

ok(wait_for(5, sub {
       !grep { my $n = $_; grep { ($n->request(GET => "/kv/m/$_"))[0] != 200 }
                               1 .. $writes } $n2, $n3
   }), "the $writes writes reached nodes 2 and 3");

my ($fam, @err);
ok(wait_for(5, sub {
       ($fam, @err) = scrape($n1);
       !@err && !grep { value($fam, 'kvs_push_lag_seconds_count',
                              peer => $_) < $writes
                        || value($fam, 'kvs_push_records_total',
                                 peer => $_) < $writes } qw(m2 m3)
   }), "node 1's push lag histograms hold $writes records for m2 and m3")
    or diag "@err";
is("@err", '', "node 1's scrape parses strictly, peer labels and all");

for my $peer (qw(m2 m3)) {
    cmp_ok(value($fam, 'kvs_push_records_total', peer => $peer), '>=',
           $writes, "records pushed to $peer acknowledged");
    cmp_ok(value($fam, 'kvs_push_lag_seconds_bucket', peer => $peer,
                 le => '+Inf'), '==',
           value($fam, 'kvs_push_lag_seconds_count', peer => $peer),
           "$peer: +Inf is the count");
    my $sum = value($fam, 'kvs_push_lag_seconds_sum', peer => $peer);
    my $count = value($fam, 'kvs_push_lag_seconds_count', peer => $peer);
    cmp_ok($sum / $count, '<', 1,
           sprintf("%s: a push takes under a second on average (%.0f ms)",
                   $peer, 1000 * $sum / $count));
    cmp_ok(value($fam, 'kvs_push_lag_seconds_bucket', peer => $peer,
                 le => '2.5'), '==', $count,
           "$peer: every lag under 2.5 s");
}
is(KVS::Prometheus::value($fam, 'kvs_push_records_total', peer => 'other'),
   undef, 'no peer counted as other');

is(value($fam, 'kvs_members', state => 'alive'), 3, 'three members alive');
is(value($fam, 'kvs_members', state => 'failed'), 0, 'none failed');
is(value($fam, 'kvs_syncing'), 0, 'node 1 is not syncing');
is(value($fam, 'kvs_keys'), $writes, "node 1 holds $writes keys");

my $rounds = value($fam, 'kvs_anti_entropy_rounds_total', result => 'ok');
ok(wait_for(5, sub {
       (my $f) = scrape($n1);
       value($f, 'kvs_anti_entropy_rounds_total', result => 'ok') > $rounds
       && value($f, 'kvs_anti_entropy_pulled_bytes_total') > 0
   }), 'anti-entropy rounds move, and count the bytes they pulled');

# node 2 took the writes from node 1 as a peer's batches: cluster-area
# requests, counted where they were answered
($fam, @err) = scrape($n2);
is("@err", '', "node 2's scrape parses strictly");
cmp_ok(value($fam, 'kvs_http_requests_total', area => 'cluster',
             method => 'POST', status => '2xx'), '>=', 1,
       'node 2 counts the batches it applied as cluster POSTs');
is(value($fam, 'kvs_http_requests_total', area => 'kv', method => 'PUT',
         status => '2xx'), 0, 'and no client PUT');
cmp_ok(value($fam, 'kvs_group_commit_writes_sum'), '>=', $writes,
       "node 2's group commits wrote the $writes records");

$_->stop for $n3, $n2, $n1;
done_testing();
