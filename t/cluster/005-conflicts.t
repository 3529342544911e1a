# The original's conflict test: one key, one timestamp, two uuids and
# values on different nodes (written through the signed internal API).
# Three nodes holding A, A, B converge on A (majority); two nodes holding A
# and B converge on the version of the node that joined first.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(seeds wait_for);
use KVS::Record qw(entry);
use Time::HiRes qw(sleep time);

my $secret = 'conflict-cluster-secret-01234';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\nsync_interval: 1\n"
           . "failure_timeout: 5\nremoval_timeout: 60\npeer_timeout: 2\n"
           . "cluster_secret: $secret\n";


sub signed { my $node = shift; $node->signed($secret, @_) }

sub record {
    my ($ts, $uuid, $value) = @_;
    return KVS::Record::record(ts => $ts, uuid => $uuid, value => $value,
                               created => $ts);
}

sub apply {
    my ($node, $path, $rec) = @_;
    my ($st, $h, $b) = signed($node, 'POST', '/_cluster/apply', entry($path, $rec));
    return $b;
}

sub value { ($_[0]->request(GET => "/kv/$_[1]"))[2] }
sub digest { $_[0]->digest($secret) }

my $ts = int(time * 1000) - 5000;
my $uuid_a = pack('H*', '11111111111141118111111111111111');
my $uuid_b = pack('H*', 'ffffffffffff4fff8fffffffffffffff');
my $rec_a = record($ts, $uuid_a, '{"version":"A"}');
my $rec_b = record($ts, $uuid_b, '{"version":"B"}');

# --- three nodes: A, A, B ---------------------------------------------------
my $n1 = KVS::Node->new(name => 'c1', yaml => $timing . "seed_nodes: []\n");
$n1->start;
my $n2 = KVS::Node->new(name => 'c2', yaml => $timing . 'seed_nodes: ' . seeds($n1) . "\n");
my $n3 = KVS::Node->new(name => 'c3', yaml => $timing . 'seed_nodes: ' . seeds($n1, $n2) . "\n");
$_->start for $n2, $n3;
ok(wait_for(10, sub { !grep { (($_->request(GET => '/health'))[2] // '') !~ /"mode":"normal","member_count":3/ } $n1, $n2, $n3 }),
   'three nodes know each other');

like(apply($n1, 'conflict/three', $rec_a), qr/"applied":1/, 'node 1 holds A');
like(apply($n2, 'conflict/three', $rec_a), qr/"applied":1|"stale":1/, 'node 2 holds A');
like(apply($n3, 'conflict/three', $rec_b), qr/"applied":1|"conflicts":1/, 'node 3 holds B (or already refused it)');

ok(wait_for(15, sub { !grep { value($_, 'conflict/three') ne '{"version":"A"}' } $n1, $n2, $n3 }),
   'all three converge on A, the version most members hold')
    or diag join ' | ', map { value($_, 'conflict/three') } $n1, $n2, $n3;
sub root { digest($_[0]) =~ /"root":"(\w+)"/ ? $1 : '' }
ok(wait_for(10, sub { root($n1) ne '' && root($n1) eq root($n2) && root($n2) eq root($n3) }),
   'with identical Merkle roots');
# node 3 may have refused B (A came first by push) or held it: either way
# the vote finds A held by most members
ok(wait_for(10, sub { (join '', map { $_->log_text } $n1, $n2, $n3)
       =~ /conflict on "conflict\/three" resolved: version $ts\/11111111-1111-4111-8111-111111111111 wins with [23] of 3 votes among [12] versions, because most members hold it/ }),
   'a notice names the key, the versions and the reason');
ok((join '', map { digest($_) } $n1, $n2, $n3) =~ /"conflicts_resolved":[1-9]/,
   'and the resolution is counted');
sub revisions { ($_[0]->request(GET => "/kv/$_[1]?revisions"))[2] // '' }
ok(wait_for(5, sub { my $r = revisions($n1, 'conflict/three');
                     !grep { revisions($_, 'conflict/three') ne $r } $n2, $n3 }),
   'the three nodes list the same revisions')
    or diag join ' | ', map { revisions($_, 'conflict/three') } $n1, $n2, $n3;
$_->stop for $n1, $n2, $n3;

# --- two nodes: A and B: the node that joined first wins -------------------
# each takes its version while they do not know each other yet; then they
# meet, anti-entropy finds the tie, and the vote is one against one
my $m1 = KVS::Node->new(name => 'd1', yaml => $timing . "seed_nodes: []\n");
$m1->start;
my $m2 = KVS::Node->new(name => 'd2', yaml => $timing . "seed_nodes: []\n");
$m2->start;
apply($m1, 'conflict/two', $rec_b);
apply($m2, 'conflict/two', $rec_a);
$m2->stop;
$m2->set_yaml("node_id: d2\nbind_address: 127.0.0.1\nport: " . $m2->port
              . "\ndata_dir: ./data\n$timing" . 'seed_nodes: ' . seeds($m1) . "\n");
$m2->start;
ok(wait_for(10, sub { !grep { (($_->request(GET => '/health'))[2] // '') !~ /"mode":"normal","member_count":2/ } $m1, $m2 }),
   'two nodes know each other');
ok(wait_for(15, sub { !grep { value($_, 'conflict/two') ne '{"version":"B"}' } $m1, $m2 }),
   'both converge on the version of the node with the earliest joined_timestamp')
    or diag join ' | ', map { value($_, 'conflict/two') } $m1, $m2;
# the winner is written, the vote closed, then the notice logged
ok(wait_for(5, sub { ($m1->log_text . $m2->log_text) =~ qr/resolved: version $ts\/ffffffff-ffff-4fff-8fff-ffffffffffff wins with 1 of 2 votes among 2 versions, because the member that joined first holds it \(held by "d1"\); versions: $ts\/ffffffff-ffff-4fff-8fff-ffffffffffff \(1 vote\), $ts\/11111111-1111-4111-8111-111111111111 \(1 vote\)/ }),
   'saying so, with both versions and their votes');
is(revisions($m1, 'conflict/two'),
   qq([{"revision":1,"uuid":"ffffffff-ffff-4fff-8fff-ffffffffffff","timestamp":$ts},)
   . qq({"revision":2,"uuid":"11111111-1111-4111-8111-111111111111","timestamp":$ts}]\n),
   'the winner\'s node keeps the loser in history');
is(revisions($m2, 'conflict/two'), revisions($m1, 'conflict/two'),
   'as the node that held it does');
$_->stop for $m1, $m2;
done_testing;
