# A binary upgrade (USR2 to the master, then QUIT to the old one, as
# nginx's documentation does it): the old master's exit is no leave, since
# the new master serves the node on.  Until 2026-12-04 it told every peer
# that the node left, and the peers sent it nothing until its new agent's
# next gossip (up to gossip_interval_max).  A stop without a new binary is
# still a leave.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(seeds wait_for);

my $secret = 'upgrade-cluster-secret-0123456789';
my $yaml = "gossip_interval_min: 5\ngossip_interval_max: 6\nfailure_timeout: 30\n"
         . "removal_timeout: 60\npeer_timeout: 2\ncluster_secret: $secret\n";

# nginx gives the binary it starts on USR2 only the environment "env"
# names: under SANITIZE=1 (t/run's wrapper) that is ASan's runtime too
my $a = KVS::Node->new(name => 'up1', yaml => $yaml . "seed_nodes: []\n",
                       main => "env LD_PRELOAD;\nenv ASAN_OPTIONS;\nenv UBSAN_OPTIONS;");
$a->start;
my $b = KVS::Node->new(name => 'up2', yaml => $yaml . 'seed_nodes: ' . seeds($a) . "\n");
$b->start;

sub members_of {
    my ($node) = @_;
    my (undef, undef, $body) = $node->request(GET => '/members/');
    return $body;
}

ok(wait_for(20, sub { members_of($a) =~ /"up2"/ && members_of($b) =~ /"up1"/ }),
   'the two nodes know each other');
ok(wait_for(20, sub { ($b->request(GET => '/health'))[2] =~ /"mode":"normal"/ }),
   'and the second has bootstrapped from the first');

# a pid of 0 or 1 would signal the test's process group or init
my $old = $a->master_pid;
BAIL_OUT('no master pid') unless $old && $old > 1;
kill 'USR2', $old;
my $prefix = $a->prefix;
ok(wait_for(10, sub { -e "$prefix/logs/nginx.pid.oldbin"
                      && ($a->master_pid // $old) != $old }),
   'USR2 starts a new master');
my $new = $a->master_pid;
BAIL_OUT('no new master pid') unless $new && $new > 1;
ok(wait_for(10, sub { my @s = $a->log_text =~ /cluster agent of node "up1" started/g;
                      @s == 2 }),
   'whose agent starts');

kill 'QUIT', $old;
ok(wait_for(10, sub { !kill 0, $old }), 'the old master exits on QUIT');
sleep 1;
unlike($a->log_text, qr/that this node leaves/, 'without telling its peers that the node leaves');
like(members_of($b), qr/"id":"up1"[^}]*"state":"alive"/, 'so the peer lists it alive');
like($a->log_text, qr/the new binary \(pid $new\) serves the node on/, 'the old master says why');

my ($st) = $b->request(PUT => '/kv/after-upgrade', body => '{"v":1}');
is($st, 200, 'a write to the peer');
ok(wait_for(5, sub { ($a->request(GET => '/kv/after-upgrade'))[0] == 200 }),
   'reaches the upgraded node at once (push), not after a gossip interval');

# the new master's own stop is a leave, as any stop
$a->{pid} = $new;
$a->stop;
like($a->log_text, qr/told "up2" \([^)]*\) that this node leaves/, 'a stop afterwards is a leave');
$b->stop;
done_testing;
