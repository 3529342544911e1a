# Push replication: a write on one node is readable on the others within a
# second, deletes too, a read-only node takes replicated writes, and a node
# frozen while others write catches up when thawed; a member removed while
# a push to another is on its way leaves that other's pushes going.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(seeds wait_for);
use Time::HiRes qw(sleep time);

my $secret = 'push-cluster-secret-0123456789';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\n"
           . "failure_timeout: 3\nremoval_timeout: 60\npeer_timeout: 1\n"
           . "cluster_secret: $secret\n";


my $n1 = KVS::Node->new(name => 'p1', yaml => $timing . "seed_nodes: []\n");
my $n2 = KVS::Node->new(name => 'p2', yaml => $timing . 'seed_nodes: ' . seeds($n1) . "\n");
my $n3 = KVS::Node->new(name => 'p3', yaml => $timing . "read_only: true\n"
                                             . 'seed_nodes: ' . seeds($n1, $n2) . "\n");
$_->start for $n1, $n2, $n3;
ok(wait_for(10, sub { !grep { (($_->request(GET => '/health'))[2] // '') !~ /"mode":"(normal|read-only)","member_count":3/ } $n1, $n2, $n3 }),
   'three nodes know each other, bootstrapped');

my $profile = '{"name":"John Doe","age":30,"email":"john@example.com"}';
my ($st, $h, $b) = $n1->request(PUT => '/kv/users/john/profile', body => $profile);
is($st, 200, 'PUT on node 1');
my $etag = $h->{etag};
my $t0 = time;
ok(wait_for(1, sub {
       my @r2 = $n2->request(GET => '/kv/users/john/profile');
       my @r3 = $n3->request(GET => '/kv/users/john/profile');
       $r2[0] == 200 && $r3[0] == 200
   }), 'within 1 s the value is readable on nodes 2 and 3');
diag sprintf 'replicated to both in %.0f ms', 1000 * (time - $t0);
for my $n ($n2, $n3) {
    ($st, $h, $b) = $n->request(GET => '/kv/users/john/profile');
    is($b, $profile, 'the same bytes');
    is($h->{etag}, $etag, 'the same version (ETag)');
}
like($n3->log_text . $n2->log_text, qr/kvs: cluster agent/, 'agents run');

($st) = $n3->request(PUT => '/kv/users/john/profile', body => '{}');
is($st, 503, 'node 3 is read-only for clients');

($st, $h, $b) = $n2->request(PUT => "/kv/users/john/profile", body => q({"age":31}));
is($st, 200, "PUT on node 2") or diag $b;
my $etag2 = $h->{etag};
ok(wait_for(1, sub { ($n1->request(GET => '/kv/users/john/profile'))[1]{etag} eq $etag2
                     && ($n3->request(GET => '/kv/users/john/profile'))[1]{etag} eq $etag2 }),
   'an overwrite on node 2 reaches nodes 1 and 3 within 1 s');

($st) = $n1->request(DELETE => '/kv/users/john/profile');
is($st, 204, 'DELETE on node 1');
ok(wait_for(1, sub { ($n2->request(GET => '/kv/users/john/profile'))[0] == 404
                     && ($n3->request(GET => '/kv/users/john/profile'))[0] == 404 }),
   'within 1 s the key is gone everywhere');

# frozen while the others write: it catches up when thawed
my @frozen = $n3->pids;
kill 'STOP', @frozen;
for my $i (1 .. 50) {
    ($st) = ($i % 2 ? $n1 : $n2)->request(PUT => "/kv/frozen/$i", body => qq({"i":$i}));
}
($st) = $n1->request(DELETE => '/kv/frozen/7');
sleep 1.5;
kill 'CONT', @frozen;
$t0 = time;
ok(wait_for(10, sub {
       !grep { my $i = $_; ($n3->request(GET => "/kv/frozen/$i"))[0] != ($i == 7 ? 404 : 200) } 1 .. 50
   }), 'a node frozen during 50 writes and a delete has them all once thawed');
diag sprintf 'caught up %.1f s after SIGCONT', time - $t0;

# the internal endpoint checks what it gets
($st, $h, $b) = $n1->request(POST => '/_cluster/apply', body => "x");
is($st, 401, 'an unsigned batch is refused');
($st, $h, $b) = $n1->signed($secret, POST => '/_cluster/apply', "d\x05\x00abc", 'p2');
is($st, 400, 'a signed but malformed batch is a 400');
like($b, qr/refused: a record is cut short/, 'saying what is wrong');

# one request each tells whether nodes hold the same data
sub digest { $_[0]->digest($secret) || "none" }
like(digest($n1), qr/^\{"root":"[0-9a-f]{32}","keys":\d+,"conflicts_resolved":\d+\}\n$/, 'GET /_cluster/digest answers the root and key count');
ok(wait_for(5, sub { digest($n1) eq digest($n2) && digest($n2) eq digest($n3) }),
   'all three nodes end with the same Merkle root and key count')
    or diag join ' / ', map { digest($_) } $n1, $n2, $n3;
like(digest($n1), qr/"keys":51,/, 'the 50 frozen/* keys and the deleted profile, as records');
($st) = $n1->request(GET => '/_cluster/digest');
is($st, 401, 'the digest is for members only');

$_->stop for $n1, $n2, $n3;

# A commit wakes its node's agent, which pushes at once rather than at its
# next tick: the agent's trace says so (log_level: debug), before a reload
# and after it, whose new cycle brings a new wake-up pipe.
my $w1 = KVS::Node->new(name => 'w1', main => 'error_log logs/debug.log debug;',
                        yaml => $timing . "log_level: debug\nseed_nodes: []\n");
my $w2 = KVS::Node->new(name => 'w2',
                        yaml => $timing . 'seed_nodes: ' . seeds($w1) . "\n");
$_->start for $w1, $w2;
ok(wait_for(10, sub { !grep { (($_->request(GET => '/health'))[2] // '') !~ /"member_count":2/ } $w1, $w2 }),
   'two nodes know each other');

sub debug_log {
    open my $f, '<', $w1->prefix . '/logs/debug.log' or return '';
    local $/;
    return <$f>;
}

sub woken { my @w = debug_log() =~ /kvs push: woken by a commit/g; scalar @w }

for my $when ('before a reload', 'after a reload') {
    my $before = woken();
    my $key = '/kv/woken/' . ($when =~ tr/ /-/r);
    ($st) = $w1->request(PUT => $key, body => '{"w":1}');
    is($st, 200, "a PUT on w1 $when");
    ok(wait_for(2, sub { ($w2->request(GET => $key))[0] == 200 }),
       "reaches w2 $when");
    ok(woken() > $before, "w1's agent was woken by the commit $when");
    next if $when =~ /after/;
    my @agent = ($w1->helper_pid);
    kill 'HUP', $w1->master_pid;
    ok(wait_for(10, sub { my $a = $w1->helper_pid; $a && $a != $agent[0] }),
       'the reload started a new agent');
}
unlike($w1->log_text, qr/\[(alert|crit|emerg)\]/, 'no alert in w1\'s log');

$_->stop for $w1, $w2;

# A member removed while a push to another peer is on its way: the agent's
# table of peers let the last slot (busy, its answer due) take the removed
# one's place, so the answer cleared the old slot and the copy stayed busy:
# nothing more was pushed to that peer until a restart.  f3 is frozen just
# long enough to hold a push while f2, killed, is removed.

my $ftiming = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\n"
            . "sync_interval: 120\ncatchup_interval: 120\n"
            . "failure_timeout: 3\nremoval_timeout: 4\npeer_timeout: 5\n"
            . "cluster_secret: $secret\n";
my $f1 = KVS::Node->new(name => 'f1', yaml => $ftiming . "seed_nodes: []\n");
my $f2 = KVS::Node->new(name => 'f2', yaml => $ftiming . 'seed_nodes: ' . seeds($f1) . "\n");
my $f3 = KVS::Node->new(name => 'f3', yaml => $ftiming . 'seed_nodes: ' . seeds($f1) . "\n");
$_->start for $f1, $f2, $f3;
ok(wait_for(20, sub { !grep { (($_->request(GET => '/health'))[2] // '') !~ /"mode":"normal","member_count":3/ } $f1, $f2, $f3 }),
   'removal: three nodes');
$f1->request(PUT => '/kv/warm', body => '1');
ok(wait_for(5, sub { !grep { ($_->request(GET => '/kv/warm'))[0] != 200 } $f2, $f3 }),
   'removal: f1 pushes to both (its table: f2, f3)');
$f2->kill9;
sleep 2.5;
my @held = $f3->pids;
kill 'STOP', @held;
$f1->request(PUT => '/kv/held', body => '2');
my $removed = wait_for(4, sub { $f1->log_text =~ /member "f2" \(.*\) removed/ });
kill 'CONT', @held;
ok($removed, 'f2 removed while the push to f3 was on its way');
ok(wait_for(10, sub { ($f3->request(GET => '/kv/held'))[0] == 200 }),
   'the push held by the freeze arrives');
($st) = $f1->request(PUT => '/kv/after', body => '3');
is($st, 200, 'a write on f1 after the removal');
ok(wait_for(3, sub { ($f3->request(GET => '/kv/after'))[0] == 200 }),
   'is pushed to f3 (anti-entropy is 120 s away)');
$_->stop for $f1, $f3;
done_testing;
