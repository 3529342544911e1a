# Data features across a cluster: a compressed value, a TTL and a key's
# revision history read the same on every node.  Records replicate as
# stored, so a node with compression off serves its peers' compressed
# records; expiry is an absolute time in the record, so every node answers
# 404 from that moment, swept or not, and sweeps to the same Merkle root;
# every version a write replaces reaches the peers' history too.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use KVS::Node qw(seeds wait_for);
use Time::HiRes qw(sleep time);

my $secret = 'data-cluster-secret-0123456789';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\nsync_interval: 1\n"
           . "failure_timeout: 5\nremoval_timeout: 60\npeer_timeout: 1\n"
           . "log_level: info\ncluster_secret: $secret\n";

my $n1 = KVS::Node->new(name => 'd1', yaml => $timing . "seed_nodes: []\n");
my $n2 = KVS::Node->new(name => 'd2', yaml => $timing . "compression_enabled: false\n"
                                             . 'seed_nodes: ' . seeds($n1) . "\n");
my $n3 = KVS::Node->new(name => 'd3', yaml => $timing . 'seed_nodes: ' . seeds($n1, $n2) . "\n");
my @all = ($n1, $n2, $n3);
$_->start for @all;
ok(wait_for(10, sub { !grep { (($_->request(GET => '/health'))[2] // '') !~ /"mode":"normal","member_count":3/ } @all }),
   'three nodes know each other, bootstrapped');

my $json = JSON::PP->new->canonical;

sub get     { my ($n, $path) = @_; return $n->request(GET => $path) }
sub status  { (get(@_))[0] }
sub etag    { (get(@_))[1]{etag} // '' }
sub body    { (get(@_))[2] }
sub meta    { my @r = get($_[0], "$_[1]?meta"); $r[0] == 200 ? $json->decode($r[2]) : {} }
sub digest  { $_[0]->digest($secret) || 'none' }
sub same_digests { my $d = digest($n1); !grep { digest($_) ne $d } $n2, $n3 }

# the sum of N of every "kvs: swept N expired records" line of a node's log
sub swept {
    my $n = 0;
    $n += $_ for $_[0]->log_text =~ /kvs: swept (\d+) expired records/g;
    return $n;
}

# an order as a shop would keep it: ~3 KB, repetitive as real JSON is
sub order {
    my ($id, $items) = @_;
    my @lines = map {
        sprintf '{"sku":"SKU-%05d","title":"Stainless steel water bottle, %d ml",'
              . '"quantity":%d,"unit_price":{"amount":"%d.99","currency":"EUR"},'
              . '"tax_rate":0.19,"warehouse":"FRA-%d"}',
                $id * 100 + $_, 250 * $_, $_ % 4 + 1, 9 + $_, $_ % 3
    } 1 .. $items;
    return sprintf '{"order_id":"ORD-%08d","status":"paid","created":"2026-11-25T17:%02d:00Z",'
        . '"customer":{"id":"CUST-%06d","name":"Jane Roe","email":"jane.roe@example.com",'
        . '"shipping":{"street":"Hauptstrasse 12","city":"Berlin","zip":"10115","country":"DE"}},'
        . '"lines":[%s],"notes":null,"gift":false}', $id, $id % 60, $id * 7, join(',', @lines);
}

# --- compression ------------------------------------------------------------

my $doc = order(1, 18);
cmp_ok(length $doc, '>', 2900, 'the order is about 3 KB');
cmp_ok(length $doc, '<', 3300, '...');
my ($st, $h, $b) = $n1->request(PUT => '/kv/orders/1', body => $doc);
is($st, 200, 'PUT of a 3 KB order on node 1');
my $etag = $h->{etag};
ok(wait_for(1, sub { !grep { etag($_, '/kv/orders/1') ne $etag } $n2, $n3 }),
   'within 1 s every node has the version');
for my $i (0 .. 2) {
    ($st, $h, $b) = get($all[$i], '/kv/orders/1');
    is($b, $doc, 'node ' . ($i + 1) . ' answers the exact bytes');
    is($h->{etag}, $etag, '... and the same ETag');
}
my @meta = map { meta($_, '/kv/orders/1') } @all;
cmp_ok($meta[0]{stored_size}, '<', $meta[0]{size}, 'node 1 stored it compressed');
is($meta[0]{size}, length $doc, 'its size is the JSON\'s');
for my $i (1, 2) {
    is_deeply([ @{ $meta[$i] }{qw(uuid timestamp size stored_size)} ],
              [ @{ $meta[0] }{qw(uuid timestamp size stored_size)} ],
              'node ' . ($i + 1) . '\'s ?meta: the same uuid, timestamp, size and stored_size');
}
is($json->encode($meta[1]), $json->encode($meta[0]),
   'node 2, compression off, keeps the record as node 1 stored it (whole ?meta)');

my $doc2 = order(2, 17);
($st, $h) = $n2->request(PUT => '/kv/orders/2', body => $doc2);
is($st, 200, 'PUT of a 3 KB order on node 2 (compression off)');
my $etag2 = $h->{etag};
ok(wait_for(1, sub { !grep { etag($_, '/kv/orders/2') ne $etag2 } $n1, $n3 }),
   'within 1 s nodes 1 and 3 have it');
is_deeply([ map { body($_, '/kv/orders/2') } @all ], [ ($doc2) x 3 ],
          'every node answers its exact bytes');
@meta = map { meta($_, '/kv/orders/2') } @all;
is($meta[1]{stored_size}, length $doc2, 'node 2 stored it raw');
is_deeply([ map { $json->encode($_) } @meta[1, 2] ], [ ($json->encode($meta[0])) x 2 ],
          'raw on every node: the same ?meta everywhere');

my $doc3 = order(3, 18);
($st, $h) = $n1->request(PUT => '/kv/orders/1', body => $doc3);
is($st, 200, 'node 1 overwrites the first order');
ok(wait_for(1, sub { !grep { etag($_, '/kv/orders/1') ne $h->{etag} } $n2, $n3 }),
   'within 1 s every node has the new version');
is_deeply([ map { body($_, '/kv/orders/1?revision=2') } @all ], [ ($doc) x 3 ],
          'the compressed version it replaced is in every node\'s history, byte-exact');

# --- TTL ----------------------------------------------------------------------
#
# The agents (which sweep) are frozen over the expiry, so the 404s below
# come from the records' expiry itself.

($st, $h) = $n1->request(PUT => '/kv/ttl/gone?ttl=2', body => '{"session":"abc"}');
is($st, 200, 'PUT ?ttl=2 on node 1');
my $expires = $h->{'x-kvs-expires-at'} // 0;
like($expires, qr/^\d{13}$/, 'answered with X-KVS-Expires-At');
($st) = $n1->request(PUT => '/kv/ttl/kept?ttl=2', body => '{"session":"old"}');
($st, $h) = $n1->request(PUT => '/kv/ttl/kept', body => '{"session":"new"}');
is($st, 200, 'a key with a TTL overwritten without one before its expiry');
my $kept = $h->{etag};
ok(!exists $h->{'x-kvs-expires-at'}, '... answers no expiry');
ok(wait_for(1, sub { !grep { etag($_, '/kv/ttl/gone') eq '' || etag($_, '/kv/ttl/kept') ne $kept } @all }),
   'within 1 s both are on every node');
is_deeply([ map { (get($_, '/kv/ttl/gone'))[1]{'x-kvs-expires-at'} } @all ], [ ($expires) x 3 ],
          'every node answers the same X-KVS-Expires-At');
is_deeply([ map { exists((get($_, '/kv/ttl/kept'))[1]{'x-kvs-expires-at'}) ? 1 : 0 } @all ], [ 0, 0, 0 ],
          'and none for the overwritten key');

my @helpers = map { $_->helper_pid } @all;
is(scalar(grep { defined } @helpers), 3, 'each node has its agent');
kill 'STOP', @helpers;
my $wait = $expires / 1000 - time;
ok($wait > 0, 'the agents are frozen before the expiry');
sleep $wait + 0.02;
is_deeply([ map { status($_, '/kv/ttl/gone') } @all ], [ 404, 404, 404 ],
          'right after X-KVS-Expires-At every node answers 404');
is_deeply([ map { swept($_) } @all ], [ 0, 0, 0 ], '... before any sweep');
is_deeply([ map { status($_, '/kv/ttl/gone?meta') } @all ], [ 404, 404, 404 ],
          '?meta too');
is_deeply([ map { body($_, '/kv/ttl/kept') } @all ], [ ('{"session":"new"}') x 3 ],
          'the overwrite without TTL lives on every node');
kill 'CONT', @helpers;

ok(wait_for(5, sub { !grep { swept($_) < 1 } @all }),
   'once the agents run, every node logs "kvs: swept 1 expired records"')
    or diag join ' / ', map { swept($_) } @all;
is_deeply([ map { swept($_) } @all ], [ 1, 1, 1 ], 'one record each: not the overwritten key');
is_deeply([ map { status($_, '/kv/ttl/gone') } @all ], [ 404, 404, 404 ], 'swept, still 404');
is_deeply([ map { body($_, '/kv/ttl/kept') } @all ], [ ('{"session":"new"}') x 3 ],
          'the overwritten key survives the sweep everywhere');
ok(wait_for(5, \&same_digests), 'the three Merkle digests agree after the sweep')
    or diag join ' / ', map { digest($_) } @all;

# --- revisions ------------------------------------------------------------------

my @versions;
for my $v (1 .. 5) {
    ($st, $h, $b) = $n1->request(PUT => '/kv/rev/doc', body => qq({"v":$v}));
    push @versions, $json->decode($b);
}
is(scalar(grep { $_->{uuid} } @versions), 5, 'five PUTs of one key in a row on node 1');
ok(wait_for(1, sub { !grep { etag($_, '/kv/rev/doc') ne qq("$versions[4]{uuid}") } $n2, $n3 }),
   'within 1 s every node has the last one');

# ?revisions as it lists these PUT answers, newest first
sub revisions {
    my $i = 0;
    return '[' . join(',', map {
        $i++;
        qq({"revision":$i,"uuid":"$_->{uuid}","timestamp":$_->{timestamp}})
    } reverse @_) . "]\n";
}

# revision_history 3: the current version and the three before it
($st, $h, $b) = get($n1, '/kv/rev/doc?revisions');
is($b, revisions(@versions[1 .. 4]), 'node 1\'s ?revisions: versions 5 to 2, newest first');
ok(wait_for(2, sub { !grep { body($_, '/kv/rev/doc?revisions') ne $b } $n2, $n3 }),
   'nodes 2 and 3 answer the same list')
    or diag join '', map { body($_, '/kv/rev/doc?revisions') } @all;
for my $i (0 .. 2) {
    ($st, $h, $b) = get($all[$i], '/kv/rev/doc?revision=3');
    is("$st $b", '200 {"v":3}', 'node ' . ($i + 1) . ': ?revision=3 is the third newest');
    is($h->{etag}, qq("$versions[2]{uuid}"), '... with its ETag');
}

($st) = $n1->request(DELETE => '/kv/rev/doc');
is($st, 204, 'DELETE on node 1');
ok(wait_for(1, sub { !grep { status($_, '/kv/rev/doc') != 404 } $n2, $n3 }),
   'within 1 s it is gone everywhere');
($st, $h, $b) = get($n1, '/kv/rev/doc?revisions');
is("$st $b", '200 ' . revisions(@versions[2 .. 4]),
   'node 1\'s ?revisions after the DELETE: versions 5 to 3');
ok(wait_for(2, sub { !grep { body($_, '/kv/rev/doc?revisions') ne $b } $n2, $n3 }),
   'nodes 2 and 3 answer the same history')
    or diag join '', map { body($_, '/kv/rev/doc?revisions') } @all;

# --- a node frozen over an expiry -------------------------------------------------

# ttl=2: the overwrite below must come before the expiry, however slow
# the push to node 3 and the freeze are on a loaded machine
($st, $h) = $n1->request(PUT => '/kv/ttl/frozen?ttl=2', body => '{"lock":"held"}');
$expires = $h->{'x-kvs-expires-at'} // 0;
my $frozen_etag = $h->{etag};
($st) = $n1->request(PUT => '/kv/ttl/renewed?ttl=2', body => '{"lock":"held"}');
ok(wait_for(1, sub { etag($n3, '/kv/ttl/frozen') eq $frozen_etag && status($n3, '/kv/ttl/renewed') == 200 }),
   'two keys with ?ttl=2 reach node 3');
my @frozen = $n3->pids;
kill 'STOP', @frozen;
($st, $h, $b) = $n1->request(PUT => '/kv/ttl/renewed', body => '{"lock":"renewed"}');
my $renewed = $json->decode($b);
is($st, 200, 'node 3 frozen (SIGSTOP), one of them is overwritten without TTL before its expiry');
ok(wait_for(0.5, sub { body($n2, '/kv/ttl/renewed') eq '{"lock":"renewed"}' }),
   '... which reaches node 2 in time');
ok(wait_for(5, sub { swept($n1) == 2 && swept($n2) == 2 }),
   'nodes 1 and 2 sweep the other');
ok(time * 1000 > $expires, 'past its expiry');
kill 'CONT', @frozen;
is(status($n3, '/kv/ttl/frozen'), 404, 'thawed, node 3 answers 404 at once');
ok(wait_for(5, sub { swept($n3) >= 2 }), 'and sweeps it');
ok(wait_for(5, \&same_digests), 'the three Merkle digests agree')
    or diag join ' / ', map { digest($_) } @all;
is_deeply([ map { body($_, '/kv/ttl/renewed') } @all ], [ ('{"lock":"renewed"}') x 3 ],
          'the overwrite reached node 3 too');

# The overwrite replaced a live version on nodes 1 and 2, and an expired
# one on node 3: the history must not depend on when a node applied it.
is_deeply([ map { body($_, '/kv/ttl/renewed?revisions') } @all ], [ (revisions($renewed)) x 3 ],
          'every node lists only the overwrite: the version it replaced is past its expiry');
is_deeply([ map { status($_, '/kv/ttl/renewed?revision=2') } @all ], [ 404, 404, 404 ],
          'and no node serves that version any more');

$_->stop for @all;
done_testing;
