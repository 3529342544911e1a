# A full store: once max_db_size is near, PUTs get 507, but DELETEs still
# work and drain it; a peer's batch is stored but for the record that does
# not fit, and a group commit with no room as a whole fails none of its
# writes that fit alone; raising max_db_size with a reload takes effect in
# new workers and in an old worker still finishing a request.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use KVS::Node qw(wait_for);
use Time::HiRes qw(sleep);

my $secret = 'full-store-secret-0123456789';

# compression off: the values below take the room their length says
my $extra = "compression_enabled: false\ncluster_secret: $secret\n";
my $node = KVS::Node->new(name => 'full', workers => 1,
                          yaml => "max_db_size: 1m\n$extra");
my $peer = KVS::Node->new(name => 'fullpeer', workers => 1, yaml => $extra);
$node->start;
$peer->start;

srand 9;
sub value {
    my ($len) = @_;
    return '"' . join('', map { ('a' .. 'z')[rand 26] } 1 .. $len) . '"';
}

my $v1k = value(1000);

sub connect_node {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $node->port, Proto => 'tcp',
                                  Timeout => 10);
    return $s // die "connect: $!";
}
sub answer {
    my ($s) = @_;
    local $/;
    my $resp = <$s> // '';
    my ($code) = $resp =~ m{^HTTP/1\.\d (\d{3})};
    my ($body) = $resp =~ /\r\n\r\n(.*)\z/s;
    return ($code // 0, $body // '');
}

# 1. PUTs until the store is full
my ($st, $h, $b);
my $filled = 0;
for my $i (0 .. 1999) {
    ($st, $h, $b) = $node->request(PUT => "/kv/fill/$i", body => $v1k);
    last if $st != 200;
    $filled++;
}
is($st, 507, "PUTs of 1 KB fill a 1 MiB store, then get 507 ($filled stored)");
is($b, qq({"error":"the store is full: max_db_size (1048576 bytes) is reached"}\n),
   'with a JSON sentence naming max_db_size');
cmp_ok($filled, '>', 300, 'after most of the map was used');

# 2. a DELETE still works (revision_history keeps 3 versions by default)
($st, $h, $b) = $node->request(DELETE => '/kv/fill/0');
is($st, 204, 'a DELETE on the full store answers 204') or diag $b;
($st) = $node->request(GET => '/kv/fill/0');
is($st, 404, 'and the key is gone');

# 3. a peer's batch of 20 small records and one of 700 KB: the small ones
# are stored, the big one is counted as not fitting
my @keys = ((map { "peer/$_" } 1 .. 20), 'peer/big');
my $put_ok = grep {
    ($peer->request(PUT => "/kv/$_",
                    body => $_ eq 'peer/big' ? value(700_000)
                                             : qq({"k":"$_"})))[0] == 200
} @keys;
is($put_ok, 21, 'the peer holds 20 small keys and one of 700 KB');
my $want = join '', map { pack('a v', 'd', length $_) . $_ } @keys;
($st, $h, my $records) = $peer->signed($secret, POST => '/_cluster/fetch',
                                       $want, 'fullpeer');
is($st, 200, 'the peer gives the 21 records');
($st, $h, $b) = $node->signed($secret, POST => '/_cluster/apply', $records,
                              'fullpeer');
is($st, 200, 'the full store takes the batch') or diag $b;
like($b, qr/"applied":20,.*"full":1\b/, 'applying 20 records, 1 not fitting');
my $got = grep { ($node->request(GET => "/kv/peer/$_"))[0] == 200 } 1 .. 20;
is($got, 20, 'the 20 small records read back');
($st) = $node->request(GET => '/kv/peer/big');
is($st, 404, 'the big one is not there');
like($node->log_text, qr/kvs: the store in "[^"]+" is full: 1 of 21 writes did not fit/,
     'the log says how many writes did not fit');

# 4. peers' records fill the reserve as far as they may, then a burst of
# DELETEs comes in one group commit: the batch has no room for the fresh
# copies of all the pages it touches, but each DELETE alone fits
my @fill = map { "pf/$_" } 1 .. 150;
($st) = $peer->request(PUT => "/kv/$_", body => $v1k) for @fill;
$want = join '', map { pack('a v', 'd', length $_) . $_ } @fill;
($st, $h, $records) = $peer->signed($secret, POST => '/_cluster/fetch',
                                    $want, 'fullpeer');
($st, $h, $b) = $node->signed($secret, POST => '/_cluster/apply', $records,
                              'fullpeer');
like($b, qr/"applied":[1-9]\d*,.*"full":[1-9]/,
     "a peer's 150 records of 1 KB: some fit, the others not");

my $half = int($filled / 2);
my @burst = map { 'fill/' . ($half + 3 + 3 * $_) } 0 .. 39;
my @socks = map {
    my $s = connect_node();
    print $s "DELETE /kv/$_ HTTP/1.1\r\nHost: localhost\r\n"
           . "Connection: close\r\n\r\n";
    $s
} @burst;
my %codes;
$codes{(answer($_))[0]}++ for @socks;
is_deeply(\%codes, { 204 => 40 }, '40 DELETEs at once all answer 204')
    or diag explain \%codes;

# 5. deleting half the keys makes room for new PUTs
my $deleted = grep { ($node->request(DELETE => "/kv/fill/$_"))[0] == 204 }
              1 .. $half;
is($deleted, $half, "$half more DELETEs answer 204");
my $again = 0;
for my $i (0 .. $half - 1) {
    ($st) = $node->request(PUT => "/kv/again/$i", body => $v1k);
    last if $st != 200;
    $again++;
}
cmp_ok($again, '>', 10, "then PUTs of 1 KB fit again ($again of them)");

# 6. a reload raises max_db_size; an old worker is still reading one PUT's
# body and one GET's header while the new one writes past the old size
my $slow = qq({"slow":$v1k});
my $put = connect_node();
print $put "PUT /kv/slow HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
         . 'Content-Length: ' . length($slow) . "\r\n\r\n"
         . substr($slow, 0, 100);
my $get = connect_node();
print $get 'GET /kv/fill/' . ($half + 2) . " HTTP/1.1\r\nHost: localhost\r\n"
         . 'Connection: cl';
sleep 0.3;

my @old = $node->worker_pids;
$node->set_yaml("node_id: full\nbind_address: 127.0.0.1\nport: "
                . $node->port . "\ndata_dir: ./data\nmax_db_size: 4m\n$extra");
kill 'HUP', $node->{pid};
ok(wait_for(10, sub {
       (grep { my $p = $_; !grep { $_ == $p } @old } $node->worker_pids)
       && !grep { KVS::Node::title($_) !~ /shutting down/ } @old
   }), 'after a reload a new worker runs, the old one is shutting down');

my $v50k = value(50_000);
my $big = 0;
for my $i (1 .. 50) {
    ($st, $h, $b) = $node->request(PUT => "/kv/grow/$i", body => $v50k);
    last if $st != 200;
    $big++;
}
is($big, 50, 'the new worker stores 2.5 MB more: max_db_size is 4m there')
    or diag "status $st: $b";

print $put substr($slow, 100);
($st, $b) = answer($put);
is($st, 200, "the old worker's PUT, finished after that, answers 200")
    or diag $b;
print $get "ose\r\n\r\n";
($st, $b) = answer($get);
is($st, 200, "and its GET answers 200") or diag $b;
is($b, $v1k, 'with the value');
ok($node->wait_gone(@old), 'then the old worker exits');
($st, $h, $b) = $node->request(GET => '/kv/slow');
is($b, $slow, 'the slow PUT reads back');
unlike($node->log_text, qr/MDB_MAP_RESIZED/, 'no MDB_MAP_RESIZED in the log');
unlike($node->log_text, qr/\[(alert|crit|emerg)\]/, 'no alerts in the log');

$node->stop;
$peer->stop;
done_testing;
