# The agent keeps a table of the peers it calls (their addresses, a kept
# connection, a host name's lookups), at most 256.  A node that met more
# addresses than that in its life (nodes that came and went at new
# addresses, as containers do) still calls a member that joins later: an
# idle peer not called for the longest makes room for it.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(seeds wait_for);
use Time::HiRes qw(sleep time);

my $secret = 'many-peers-cluster-secret-0123456789';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\n"
           . "failure_timeout: 1\nremoval_timeout: 2\npeer_timeout: 1\n"
           . "sync_interval: 3600\ncluster_secret: $secret\n";

sub members {
    my ($node) = @_;
    my ($st, $h, $b) = $node->request(GET => '/members/');
    return {} unless $st == 200;
    my %m;
    $m{$1} = $2 while $b =~ /\{"id":"([^"]+)","address":"[^"]+","last_seen":\d+,"joined_timestamp":\d+,"state":"(\w+)"\}/g;
    return \%m;
}

my $n1 = KVS::Node->new(name => 'mp1', yaml => $timing . "seed_nodes: []\n");
$n1->start;

# 300 members at loopback addresses where nothing listens, alive as n1
# hears of them: each write is pushed to each, so n1 calls 300 addresses
my $now = int(time * 1000);
my $list = '[' . join(',', map {
    sprintf '{"id":"gone%03d","address":"127.0.%d.%d:9","last_seen":%d,'
          . '"joined_timestamp":%d,"state":"alive"}',
        $_, 1 + int($_ / 250), 1 + $_ % 250, $now, $now - 1000
} 0 .. 299) . ']';
my ($st, $h, $b) = $n1->signed($secret, POST => '/members/gossip', $list,
                               'gone000');
is($st, 200, 'n1 takes a gossip of 300 members') or diag $b;
is(scalar(grep { /^gone/ } keys %{members($n1)}), 300, 'and lists them');

for my $i (1 .. 5) {
    ($st) = $n1->request(PUT => "/kv/before/$i", body => $i);
    is($st, 200, "a write on n1 ($i), pushed to every member");
    sleep 0.1;
}

ok(wait_for(20, sub { !grep { /^gone/ } keys %{members($n1)} }),
   'the 300 fail and are removed');
like($n1->log_text, qr/member "gone299" \(127\.0\.2\.50:9\) removed/,
     'as its log says');

# a new node joins at an address n1 never called
my $n3 = KVS::Node->new(name => 'mp3', yaml => $timing . 'seed_nodes: '
                                                . seeds($n1) . "\n");
$n3->start;
ok(wait_for(10, sub { (members($n1)->{mp3} // '') eq 'alive' }),
   'n1 lists the new node alive');
ok(wait_for(10, sub { (($n3->request(GET => '/health'))[2] // '') =~ /"mode":"normal"/ }),
   'the new node has bootstrapped');

($st) = $n1->request(PUT => '/kv/after', body => '"pushed"');
is($st, 200, 'a write on n1 after it joined');
ok(wait_for(3, sub { ($n3->request(GET => '/kv/after'))[0] == 200 }),
   'is pushed to the new node (no anti-entropy for an hour)');
($st, $h, $b) = $n3->request(GET => '/kv/after');
is($b, '"pushed"', 'the same bytes');
like($n1->log_text, qr/\[info\] .*kvs: the cluster agent forgets peer "127\.0\.\d+\.\d+:9", not called for \d+ ms, to make room for another/,
     'n1 logged the peer it forgot to make room');
unlike($n1->log_text, qr/\[(alert|crit|emerg)\]|exited on signal/,
       'n1 logged no crash');

$_->stop for $n3, $n1;
done_testing;
