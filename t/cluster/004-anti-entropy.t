# Merkle anti-entropy: what push never sent (writes made before two nodes
# knew each other) is pulled by each from the other, until both hold the
# same versions; deletes stay deleted.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(seeds wait_for);
use Time::HiRes qw(sleep time);

my $secret = 'sync-cluster-secret-0123456789';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\nsync_interval: 1\n"
           . "failure_timeout: 5\nremoval_timeout: 60\npeer_timeout: 2\nfetch_delay_ms: 10\n"
           . "cluster_secret: $secret\n";


sub digest { $_[0]->digest($secret) }

my $a = KVS::Node->new(name => 'ae1', yaml => $timing . "seed_nodes: []\n");
$a->start;
for my $i (1 .. 300) {
    $a->request(PUT => "/kv/a/$i", body => qq({"from":"a","i":$i}));
}
$a->request(DELETE => '/kv/a/13');

# b writes alone too, then joins a: neither has pushed the other anything
my $b = KVS::Node->new(name => 'ae2', yaml => $timing . "seed_nodes: []\n");
$b->start;
for my $i (1 .. 50) {
    $b->request(PUT => "/kv/b/$i", body => qq({"from":"b","i":$i}));
}
$b->request(PUT => '/kv/a/7', body => '{"from":"b","newer":true}');
$b->stop;
$b->set_yaml("node_id: ae2\nbind_address: 127.0.0.1\nport: " . $b->port
             . "\ndata_dir: ./data\n$timing" . 'seed_nodes: ["127.0.0.1:' . $a->port . "\"]\n");
$b->start;

isnt(digest($a), digest($b), 'the two nodes start with different data');
my $t0 = time;
ok(wait_for(20, sub { digest($a) eq digest($b) }),
   'anti-entropy brings both to the same Merkle root and record count')
    or diag digest($a) . digest($b);
diag sprintf 'converged in %.1f s (sync_interval 1 s)', time - $t0;

my ($st, $h, $body) = $b->request(GET => '/kv/a/299');
is($body, '{"from":"a","i":299}', "b pulled a's keys");
($st, $h, $body) = $a->request(GET => '/kv/b/42');
is($body, '{"from":"b","i":42}', "a pulled b's keys");
($st) = $b->request(GET => '/kv/a/13');
is($st, 404, 'a delete stays a delete on the node that pulled it');
($st, $h, $body) = $a->request(GET => '/kv/a/7');
is($body, '{"from":"b","newer":true}', 'the newer version wins on both');
ok(wait_for(5, sub { ($a->log_text . $b->log_text) =~ /anti-entropy with "ae\d": \d+ ranges and \d+ buckets differed, \d+ records pulled/ }),
   'the exchange is logged');

$_->stop for $a, $b;
done_testing;
