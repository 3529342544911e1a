# The audit log in a cluster of three: each node's entries tell only of
# its own clients' changes (a replicated PUT makes none on the peer), the
# chain heads travel in the gossip and each node learns what its peers
# witnessed of it, and a node whose newest entries are removed behind its
# back (tools/kvs-audit-tamper on the stopped node) answers verify with
# what a peer witnessed and its log lacks.
use strict;
use warnings;
use Test::More;
use File::Basename qw(dirname);
use JSON::PP;
use KVS::Node qw(seeds wait_for);
use Time::HiRes qw(sleep time);

my $module = $ENV{KVS_MODULE}
    // dirname(__FILE__) . '/../../build/ngx_http_kvs_module.so';
my $tamper = dirname($module) . '/kvs-audit-tamper';
my $json = JSON::PP->new;

my $secret = 'audit-cluster-secret-0123456789';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\n"
           . "failure_timeout: 3\nremoval_timeout: 60\npeer_timeout: 1\n"
           . "cluster_secret: $secret\naudit_enabled: true\n"
           . "audit_secret_file: conf/audit.secret\n";

sub node {
    my ($name, @seeds) = @_;
    my $n = KVS::Node->new(name => $name, workers => 1,
                           yaml => $timing . 'seed_nodes: '
                                   . (@seeds ? seeds(@seeds) : '[]') . "\n");
    open my $f, '>', $n->prefix . '/conf/audit.secret' or die $!;
    print $f "audit-secret-of-$name-" . ('x' x 32) . "\n";
    close $f;
    return $n;
}

sub entries {
    my ($n) = @_;
    my ($st, undef, $body) = $n->request(GET => '/api/audit?limit=1000');
    return () unless $st == 200;
    return sort { $a->{seq} <=> $b->{seq} }
           @{ $json->decode($body)->{entries} };
}

sub verify {
    my ($n) = @_;
    my ($st, undef, $body) = $n->request(GET => '/api/audit/verify');
    return $st == 200 ? $json->decode($body) : { error => $body };
}

my $n1 = node('a1');
my $n2 = node('a2', $n1);
my $n3 = node('a3', $n1, $n2);
$_->start for $n1, $n2, $n3;
ok(wait_for(10, sub { !grep { (($_->request(GET => '/health'))[2] // '')
                              !~ /"mode":"normal","member_count":3/ }
                        $n1, $n2, $n3 }),
   'three nodes know each other, bootstrapped');

my ($st) = $n1->request(PUT => '/kv/one', body => '1');
is($st, 200, 'a PUT on node 1');
($st) = $n1->request(PUT => '/kv/two', body => '2');
($st) = $n2->request(PUT => '/kv/three', body => '3');
is($st, 200, 'a PUT on node 2');
ok(wait_for(2, sub { ($n3->request(GET => '/kv/three'))[0] == 200
                     && ($n2->request(GET => '/kv/one'))[0] == 200 }),
   'the writes replicate');

my @e1 = entries($n1);
my @e2 = entries($n2);
my @e3 = entries($n3);
is(join(' ', map { $_->{object} } @e1), '/kv/one /kv/two',
   'node 1 holds the entries of its own clients\' changes');
is(join(' ', map { $_->{object} } @e2), '/kv/three',
   'node 2 only its own: a replicated PUT makes no entry');
is(scalar @e3, 0, 'node 3, which no client changed, none');
ok(!grep({ $_->{node} ne 'a1' } @e1), 'node 1\'s entries name node 1');

# more changes on node 1, which its peers witness through the gossip

for my $i (3 .. 6) {
    $n1->request(PUT => "/kv/k$i", body => "$i");
}
my $v;
ok(wait_for(10, sub {
       $v = verify($n1);
       ($v->{witnessed}{a2} // 0) == 6 && ($v->{witnessed}{a3} // 0) == 6
   }), 'within seconds node 1 learns that both peers witnessed its entry 6');
ok($v->{ok}, 'node 1\'s log verifies against them');
is($v->{entries}, 6, 'six entries');

my $v2 = verify($n2);
ok($v2->{ok}, 'node 2\'s log verifies');
ok(wait_for(10, sub { (verify($n2)->{witnessed}{a1} // 0) == 1 }),
   'node 1 witnessed node 2\'s entry 1');

# node 1's two newest entries removed behind its back

$n1->stop;
my $out = `$tamper ${\ $n1->data_dir } truncate 2`;
is($?, 0, 'the tool removes node 1\'s two newest entries');
$n1->start;

ok(wait_for(10, sub { !(verify($n1)->{ok} // 1) }),
   'after the restart, node 1\'s log no longer verifies');
$v = verify($n1);
like($v->{reason}, qr/^peer a[23] witnessed entry 6 \(hash [0-9a-f]{128}\), which this log lacks: it ends at entry 4$/,
     'naming what a peer witnessed and the log lacks');
is($v->{entry}, undef, 'no entry of the log to name: it is gone');

# a node's own entries do not move its peers' witnesses back

($st) = $n1->request(PUT => '/kv/after', body => '1');
is($st, 200, 'node 1 takes writes still');
sleep 1.5;
$v = verify($n1);
ok(!$v->{ok}, 'a new entry 5 does not make the truncation good again');

$_->stop for $n1, $n2, $n3;

done_testing;
