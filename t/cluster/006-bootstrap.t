# Bootstrap: kill -9 a node, wipe its data dir, restart it: it is "syncing"
# (/health says so, external writes get 503, replication still lands)
# while it pulls everything younger than bootstrap_max_age_hours from its
# peers in throttled pages, then serves it all in normal mode.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(seeds wait_for);
use File::Path qw(remove_tree);
use Time::HiRes qw(sleep time);

my $secret = 'bootstrap-secret-0123456789';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\nsync_interval: 600\n"
           . "catchup_interval: 600\nfailure_timeout: 5\nremoval_timeout: 60\n"
           . "peer_timeout: 2\nthrottle_delay_ms: 400\nbootstrap_max_age_hours: 0.0008\n"
           . "cluster_secret: $secret\n";
sub health { ($_[0]->request(GET => '/health'))[2] // '' }

my $n1 = KVS::Node->new(name => 'b1', yaml => $timing . "seed_nodes: []\n");
my $n2 = KVS::Node->new(name => 'b2', yaml => $timing . 'seed_nodes: ' . seeds($n1) . "\n");
$_->start for $n1, $n2;
ok(wait_for(5, sub { health($n2) =~ /"mode":"normal"/ }),
   'a node whose seed is empty too is soon in normal mode');

$n1->request(PUT => '/kv/old/one', body => '"too old to bootstrap"');
my $t_old = time;
sleep 4;
$n2->kill9;
remove_tree($n2->data_dir);
for my $i (1 .. 1200) {
    $n1->request(PUT => "/kv/young/$i", body => qq({"i":$i}));
}
$n1->request(DELETE => '/kv/young/5');

# the old record 2 s past bootstrap_max_age_hours, the first young one 2 s
# within it, however long the writes took on a loaded machine
my $age = (time - $t_old - 2) / 3600;
open my $y, '<', $n2->prefix . '/conf/node.yaml' or die $!;
my $yaml = do { local $/; <$y> };
close $y;
$yaml =~ s/^bootstrap_max_age_hours: .*$/bootstrap_max_age_hours: $age/m or die;
$n2->set_yaml($yaml);

my $t0 = time;
$n2->start;
like(health($n2), qr/"mode":"syncing"/, 'restarted with an empty data dir, the node is syncing');
my ($st, $h, $b) = $n2->request(PUT => '/kv/x', body => '{}');
is($st, 503, 'and refuses external writes with 503');
like($b, qr/syncing from its peers/, 'saying why');
($st) = $n1->request(PUT => '/kv/during/bootstrap', body => '"pushed"');
# n1 retried the node while it was down, with a delay growing to 5 s
ok(wait_for(8, sub { ($n2->request(GET => '/kv/during/bootstrap'))[0] == 200 }),
   'while replication to it goes on');

ok(wait_for(30, sub { health($n2) =~ /"mode":"normal"/ }), 'then it turns normal');
diag sprintf 'bootstrap of 1,200 keys took %.1f s from start at throttle_delay_ms 400', time - $t0;
my $missing = grep { ($n2->request(GET => "/kv/young/$_"))[0] != ($_ == 5 ? 404 : 200) } 1 .. 1200;
is($missing, 0, 'and serves every young key it bootstrapped, the deleted one deleted');
($st) = $n2->request(GET => '/kv/old/one');
is($st, 404, 'a record older than bootstrap_max_age_hours is left to anti-entropy');
ok(wait_for(5, sub { $n2->log_text =~ /bootstrap from "b1" done, \d+ records pulled: serving in normal mode/ }),
   'the log says when it is done');
($st) = $n2->request(PUT => '/kv/x', body => '{}');
is($st, 200, 'and it takes writes again');

$_->stop for $n1, $n2;

# three nodes start empty with only each other as seeds: all stay
# syncing, and each bootstrap walk fails with a 503.  A retry goes to
# another peer than the one that just failed it, so that nodes started
# together do not take turns on one another while a normal peer waits
# (t/cluster/020 once saw two of them do so for 2 s): s2's attempts
# alternate between s3 and s4, where a random pick repeated one half the
# time

my $gone = KVS::Node::free_port();
my @s = map { KVS::Node->new(name => "s$_",
                  yaml => $timing . "seed_nodes: [\"127.0.0.1:$gone\"]\n") }
        3, 4;
$_->start for @s;
my $s2 = KVS::Node->new(name => 's2', yaml => $timing . 'seed_nodes: '
                                              . seeds(@s) . "\n");
$s2->start;
my @tries;
wait_for(20, sub {
    @tries = $s2->log_text =~ /bootstrapping from "(s\d)"/g;
    @tries >= 8 });
ok(@tries >= 8, 's2 tried 8 times to bootstrap: ' . join(' ', @tries));
is(scalar(grep { $tries[$_] eq $tries[$_ - 1] } 1 .. $#tries), 0,
   'never from the peer whose walk failed the try before');
like(health($s2), qr/"mode":"syncing"/, 'and it is still syncing, as are they');
$_->stop for $s2, @s;
done_testing;
