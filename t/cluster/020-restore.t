# Restore in a cluster: a node restored from an old backup (tools/
# kvs-restore) starts syncing, refuses writes with 503 while it catches up
# with what it missed, from its peers (writes, overwrites and deletes made
# after the backup, and while it was down), and then serves all of it and
# takes writes; a backup older than tombstone_ttl_hours is refused unless
# --allow-old.
use strict;
use warnings;
use Test::More;
use File::Basename qw(dirname);
use Time::HiRes qw(sleep time);
use KVS::Node qw(seeds wait_for);

my $module = $ENV{KVS_MODULE}
    // dirname(__FILE__) . '/../../build/ngx_http_kvs_module.so';
my $restore = dirname($module) . '/kvs-restore';

my $secret = 'restore-cluster-secret-0123456789';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\n"
           . "sync_interval: 600\ncatchup_interval: 600\nfailure_timeout: 5\n"
           . "removal_timeout: 60\npeer_timeout: 2\nthrottle_delay_ms: 1000\n"
           . "cluster_secret: $secret\n";

sub health { ($_[0]->request(GET => '/health'))[2] // '' }
sub status { ($_[0]->request(GET => "/kv/$_[1]"))[0] }
sub body { ($_[0]->request(GET => "/kv/$_[1]"))[2] }

sub run_restore {
    my (@args) = @_;
    my $out = `$restore @args 2>&1`;
    return ($? >> 8, $out);
}

sub write_keys {
    my ($node, $prefix, $n) = @_;
    my $c = $node->connection;
    my $bad = 0;
    for my $i (1 .. $n) {
        my ($st) = $c->request(PUT => "/kv/$prefix/$i",
                               body => qq({"$prefix":$i}));
        $bad++ if $st != 200;
    }
    return $bad == 0;
}

my $c1 = KVS::Node->new(name => 'rc1', yaml => $timing . "seed_nodes: []\n");
$c1->start;
my $c2 = KVS::Node->new(name => 'rc2',
                        yaml => $timing . 'seed_nodes: ' . seeds($c1) . "\n");
my $c3 = KVS::Node->new(name => 'rc3',
                        yaml => $timing . 'seed_nodes: ' . seeds($c1) . "\n");
$_->start for $c2, $c3;
ok(wait_for(10, sub { health($c1) =~ /"member_count":3/ }),
   'three nodes form a cluster');

# rc2 and rc3 start empty and bootstrap, each from a random peer: one
# that is itself syncing answers 503 and is tried again, so the two may
# take turns on each other for a while (CI saw 2 s) before one picks rc1;
# a syncing rc2 refuses the writes below
ok(wait_for(30, sub { !grep { health($_) !~ /"mode":"normal"/ } $c2, $c3 }),
   'rc2 and rc3 have bootstrapped: normal mode');

ok(write_keys($c1, 'old', 300), '300 keys written on rc1');
ok(wait_for(10, sub { status($c3, 'old/300') == 200 }), 'and pushed to rc3');

my $backup = $c3->backup;
ok(-s $backup, 'a backup of rc3 by POST /api/backup');

# what rc3 takes in after its backup, and loses with the restore

ok(write_keys($c1, 'after', 100), 'rc1 writes 100 keys after the backup');
$c1->request(PUT => "/kv/old/$_", body => qq({"old":$_,"overwritten":true}))
    for 1 .. 10;
$c1->request(DELETE => "/kv/old/$_") for 11 .. 20;
ok(wait_for(10, sub { status($c3, 'old/20') == 404
                      && status($c3, 'after/100') == 200 }),
   'overwrites 10 old keys and deletes 10, and rc3 has it all');

$c3->kill9;

# and what it misses while it is down

ok(write_keys($c2, 'down', 1500), 'rc2 writes 1,500 keys while rc3 is down');
$c2->request(DELETE => "/kv/old/$_") for 21 .. 30;

# too old for the cluster's tombstones, unless forced

sleep 1;
my $dd = $c3->data_dir;
my ($rc, $out) = run_restore('--tombstone-ttl-hours', '0.0001', $backup, $dd);
is($rc, 6, 'a backup older than tombstone_ttl_hours is refused (6)');
like($out, qr/more than tombstone_ttl_hours \(0\.0001\): the cluster may have purged the tombstones of keys deleted since, and the backup would bring them back; give --allow-old/,
     'saying why');
($rc, $out) = run_restore('--allow-old', '--tombstone-ttl-hours', '0.0001',
                          $backup, $dd);
is($rc, 0, 'and taken with --allow-old') or diag $out;

# restored: syncing until it has caught up; its peers are frozen at
# first (SIGSTOP), so that it cannot have caught up before it is asked

my @frozen = ($c1->pids, $c2->pids);
kill 'STOP', @frozen;
$c3->start;
like(health($c3), qr/"mode":"syncing"/, 'the restored node starts syncing');
my ($st, $h, $b) = $c3->request(PUT => '/kv/x', body => '{}');
is($st, 503, 'and refuses writes with 503');
like($b, qr/syncing from its peers/, 'saying why');
is(body($c3, 'old/300'), '{"old":300}', 'while it serves reads of its backup');
my $t0 = time;
kill 'CONT', @frozen;

ok(wait_for(60, sub { health($c3) =~ /"mode":"normal"/ }),
   'then turns normal');
diag sprintf 'caught up in %.1f s at throttle_delay_ms 1000',
             time - $t0;
# the agent leaves syncing mode, then logs it
ok(wait_for(5, sub { $c3->log_text =~ /bootstrap from "rc[12]" done, \d+ records pulled: serving in normal mode/ }),
   'the log says it caught up from a peer');

my $missing = grep { status($c3, "after/$_") != 200 } 1 .. 100;
is($missing, 0, 'it serves every key written after its backup');
$missing = grep { status($c3, "down/$_") != 200 } 1 .. 1500;
is($missing, 0, 'and every key written while it was down');
my $stale = grep { body($c3, "old/$_") !~ /overwritten/ } 1 .. 10;
is($stale, 0, 'the overwrites made after its backup');
my $back = grep { status($c3, "old/$_") != 404 } 11 .. 30;
is($back, 0, 'and the deletes: no deleted key came back');
is(body($c3, 'old/300'), '{"old":300}', 'the backup\'s own keys are there');

($st) = $c3->request(PUT => '/kv/restored/write', body => '"after catch-up"');
is($st, 200, 'it takes writes once caught up');
ok(wait_for(10, sub { status($c1, 'restored/write') == 200 }),
   'and they replicate');
ok(wait_for(20, sub { $c3->digest($secret) eq $c1->digest($secret) }),
   'its Merkle root is the cluster\'s');

$_->stop for $c1, $c2, $c3;
done_testing;
