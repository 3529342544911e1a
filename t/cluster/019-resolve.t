# Peers by host name: a container that restarts comes back under another
# address, so the agent looks a peer's name up again when calls to it get
# no answer, on threads of its own (the lookup is getaddrinfo(), which
# blocks), at most once per peer_resolve_interval.
#
# The names live in a hosts file of the test's own: every node runs in a
# mount namespace of its own (unshare -m) where that file is /etc/hosts,
# and /etc/resolv.conf names a DNS server the test plays on 127.0.0.153:53,
# one that never answers.  Node "b" listens on 127.0.0.2 and is called
# movable.kvs.test; it is killed, the file moves the name to 127.0.0.3,
# and b starts there on the same data: node "a", which knows b only by the
# name, logs the move and replicates to b again.  Then a hears of a member
# whose name only the silent server could answer: each lookup of it waits
# for the resolver's 2 s timeout, and a's pushes to b go on all the while.
# The test is skipped where namespaces, mounts or 127.0.0.3 are not to be
# had.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use KVS::Node qw(wait_for);
use Time::HiRes qw(sleep time);

my $nginx = $ENV{TEST_NGINX_BINARY} // '/usr/sbin/nginx';

plan skip_all => 'needs unshare -m and mount (root, or user namespaces)'
    unless system('unshare -m --propagation private '
                  . 'sh -c "mount --bind /etc/hosts /etc/hosts" 2>/dev/null')
           == 0;

plan skip_all => 'needs 127.0.0.2 and 127.0.0.3 (Linux loopback)'
    unless grep({ IO::Socket::INET->new(Listen => 1, LocalAddr => $_,
                                        LocalPort => 0) } '127.0.0.2',
                '127.0.0.3') == 2;

my $secret = 'test-cluster-secret-0123456789';
my $name = 'movable.kvs.test';

# failure_timeout long enough that a keeps calling b while b is away
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\n"
           . "failure_timeout: 60\nremoval_timeout: 120\npeer_timeout: 1\n"
           . "peer_resolve_interval: 1\ncluster_secret: $secret\n"
           . "sync_interval: 1\n";

# b's port must be free on both of its addresses
my $port_b;
for (1 .. 50) {
    $port_b = KVS::Node::free_port('127.0.0.2');
    last if IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.3',
                                  LocalPort => $port_b, ReuseAddr => 1);
}

# a has no seeds: it knows b by the address b gossips, its name
my $a = KVS::Node->new(name => 'a', log_level => 'debug',
                       yaml => $timing . "log_level: debug\n"
                             . "seed_nodes: []\n");
my $b = KVS::Node->new(name => 'b', address => '127.0.0.2', port => $port_b,
                       bind_address => $name,
                       yaml => $timing . 'seed_nodes: ["127.0.0.1:'
                             . $a->port . "\"]\n");

# the names, and a DNS server that takes queries and never answers
my $hosts = $a->prefix . '/hosts';
my $resolv = $a->prefix . '/resolv.conf';

sub name_at {
    my ($address) = @_;
    # in place: the namespaces' bind mounts hold this inode
    my $h;
    open $h, '+<', $hosts or open $h, '>', $hosts or die "$hosts: $!";
    truncate $h, 0;
    seek $h, 0, 0;
    print $h "127.0.0.1 localhost\n$address $name\n";
    close $h;
}
name_at('127.0.0.2');

open my $r, '>', $resolv or die $!;
print $r "nameserver 127.0.0.153\noptions timeout:2 attempts:1\n";
close $r;

my $dns = IO::Socket::INET->new(Proto => 'udp', LocalAddr => '127.0.0.153',
                                LocalPort => 53);

my $wrapper = $a->prefix . '/nginx-with-names';
open my $w, '>', $wrapper or die $!;
print $w "#!/bin/sh\nexec unshare -m --propagation private sh -c "
       . "'mount --bind \"\$0\" /etc/hosts "
       . "&& mount --bind \"\$1\" /etc/resolv.conf && shift && exec \"\$\@\"' "
       . "$hosts $resolv $nginx \"\$\@\"\n";
close $w;
chmod 0755, $wrapper;
$_->use_nginx($wrapper) for $a, $b;


sub members {
    my ($node) = @_;
    my ($st, $h, $body) = eval { $node->request(GET => '/members/') };
    return {} unless $st && $st == 200;
    my %m;
    while ($body =~ /\{"id":"([^"]+)","address":"([^"]+)","last_seen":(\d+),"joined_timestamp":\d+,"state":"(\w+)"\}/g) {
        $m{$1} = { address => $2, last_seen => $3, state => $4 };
    }
    return \%m;
}

sub state_of { ((members($_[0])->{$_[1]} // {})->{state} // '') }

sub value_on {
    my ($node, $key) = @_;
    my ($st, $h, $body) = eval { $node->request(GET => "/kv/$key") };
    return $st && $st == 200 ? $body : '';
}

# seconds until a PUT on a is readable on b, or undef after the limit
my %wrote;
sub replicated {
    my ($key, $limit) = @_;
    my $value = $wrote{$key} = '{"at":' . int(time * 1000) . '}';
    my ($st) = $a->request(PUT => "/kv/$key", body => $value);
    return undef unless $st == 200;
    my $t0 = time;
    return wait_for($limit, sub { value_on($b, $key) eq $value })
           ? time - $t0 : undef;
}

sub count { my ($text, $re) = @_; my $n = () = $text =~ /$re/g; $n }


$a->start;
$b->start;

ok(wait_for(10, sub {
       state_of($a, 'b') eq 'alive' && state_of($b, 'a') eq 'alive'
   }), 'a and b, seeded with a, know each other');
is(members($a)->{b}{address}, "$name:$port_b",
   'b is the member at its name, which a calls it by');
ok(wait_for(5, sub {
       $a->log_text =~ /kvs: peer "\Q$name:$port_b\E" is at 127\.0\.0\.2\b/
   }), 'a logs the address the name gave');
my $took = replicated('before', 5);
ok(defined $took, 'a write on a reaches b') and
    diag sprintf 'replicated in %.2f s', $took;

# b goes away as a container does: no leave, and a keeps calling it
$b->kill9;
my $log_from = length $a->log_text;
my $t_away = time;
sleep 4;
my $away = substr($a->log_text, $log_from);
my $secs = time - $t_away;
my $failed = count($away, qr/kvs: \Q$name:$port_b\E\/\S+: /);
my $lookups = count($away, qr/kvs resolve: looking "\Q$name\E" up/);
cmp_ok($failed, '>=', 8, "a's calls to b fail while it is away ($failed)");
cmp_ok($lookups, '>=', 2, "and a looks b's name up again ($lookups)");
cmp_ok($lookups, '<=', int($secs / 1) + 1,
       "at most once per peer_resolve_interval (1 s) in ${\ sprintf '%.1f', $secs} s");
unlike($away, qr/moved from/, 'the name still gives the old address');

# b comes back, on another address, with the same data
name_at('127.0.0.3');
$b->set_address('127.0.0.3');
$log_from = length $a->log_text;
my $t_back = time;
$b->start;
is(value_on($b, 'before'), $wrote{before}, 'b kept its data');
ok(wait_for(10, sub {
       substr($a->log_text, $log_from)
           =~ /kvs: peer "\Q$name:$port_b\E" moved from 127\.0\.0\.2 to 127\.0\.0\.3\b/
   }), 'a logs that b\'s name moved, at notice')
    and diag sprintf 'moved after %.1f s', time - $t_back;
like(substr($a->log_text, $log_from), qr/\[notice\].*moved from 127\.0\.0\.2/,
     'the line is a notice');
$took = replicated('after', 5);
ok(defined $took, 'a write on a reaches b at its new address') and
    diag sprintf 'replicated in %.2f s', $took;
ok(wait_for(5, sub {
       my $m = members($a)->{b} // {};
       ($m->{state} // '') eq 'alive'
           && int(time * 1000) - $m->{last_seen} < 2000
   }), 'and a sees b alive and fresh');
ok(wait_for(10, sub {
       my $d = $a->digest($secret);
       $d ne '' && $d eq $b->digest($secret)
   }), 'a and b hold the same keys');

# A member whose name only the silent DNS server could answer: each lookup
# of it waits 2 s for nothing, on a's lookup threads, while a's agent goes
# on pushing to b as fast as ever.
SKIP: {
    skip 'cannot bind 127.0.0.153:53 for the silent DNS server', 5
        unless $dns;
    my $now = int(time * 1000);
    my $ghost = '[{"id":"ghost","address":"silent.kvs.test:1","last_seen":'
              . $now . ',"joined_timestamp":' . $now . ',"state":"alive"}]';
    my ($st) = $a->signed($secret, POST => '/members/gossip', $ghost, 'ghost');
    is($st, 200, 'a hears of a member "ghost" at silent.kvs.test:1');
    $log_from = length $a->log_text;
    my ($slowest, $missed, @took) = (0, 0);
    for my $n (1 .. 10) {
        my $took = replicated("during/$n", 3);
        $missed++, next unless defined $took;
        $slowest = $took if $took > $slowest;
        push @took, sprintf "%.2f", $took;
        sleep 0.3;
    }
    my $queries = 0;
    $dns->blocking(0);
    my $buf;
    $queries++ while defined $dns->recv($buf, 512);
    cmp_ok($queries, '>=', 2,
           "a asked the silent DNS server for ghost's name ($queries queries)");
    is($missed, 0, "every write on a reached b meanwhile (@took s)");
    cmp_ok($slowest, '<', 1.5,
           sprintf('each within 1.5 s (slowest %.2f s): the lookups '
                   . 'block no one', $slowest));
    like(substr($a->log_text, $log_from),
         qr/\[warn\].*kvs: peer "silent\.kvs\.test:1": its host name does not resolve: \S/,
         'the name that does not resolve is logged, with the reason');
}

$_->stop for $a, $b;

done_testing;
