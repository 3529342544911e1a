# A store written under one configuration, read after a restart under
# another: compressed records stay readable with compression off and raw
# ones with it on again, new values follow the new setting; with
# revision_history turned to 0 the history a key has is no longer listed
# or served, without waiting for its next write.  The store must outlive
# nginx and its configuration, which Test::Nginx's blocks do not allow
# (each starts from an empty store), so this suite runs its node itself
# (KVS::Node).  One configuration at a time is the block suites' story
# (t/006-compression.t, t/008-revisions.t).
use strict;
use warnings;
use Test::More;
use JSON::PP;
use KVS::Node;

my $node = KVS::Node->new(name => 'changes', workers => 1);
my $base = "node_id: changes\nbind_address: 127.0.0.1\nport: " . $node->port
         . "\ndata_dir: ./data\n";

sub restart_with {
    my ($yaml) = @_;
    $node->stop;
    $node->set_yaml($base . $yaml);
    $node->start;
}

sub put {
    my ($key, $body) = @_;
    my ($st, $h, $b) = $node->request(PUT => "/kv/$key", body => $body);
    is($st, 200, "PUT $key (" . length($body) . ' bytes)') or diag $b;
    return $st == 200 ? decode_json($b) : {};
}

sub get_json {
    my ($uri) = @_;
    my ($st, $h, $b) = $node->request(GET => $uri);
    return $st == 200 ? decode_json($b) : "status $st: $b";
}

sub meta { my $m = get_json("/kv/$_[0]?meta"); ref $m ? $m : {} }

# reads the key back and checks it byte for byte (no 3 KB diff on failure)
sub same {
    my ($key, $want, $what) = @_;
    my ($st, $h, $b) = $node->request(GET => "/kv/$key");
    ok($st == 200 && $b eq $want, "$what: GET $key answers the exact bytes")
        or diag "status $st, " . length($b) . ' bytes, wanted '
                . length($want);
}

# an order as an online shop would store it: about 3 KB of JSON
sub order {
    my ($id) = @_;
    my @lines = map {
        qq({"sku":"SKU-$id-$_","title":"Stainless steel water bottle, )
      . qq(750 ml, model $_","quantity":$_,"unit_price":"19.90",)
      . qq("currency":"EUR","warehouse":"east-$_"})
    } 1 .. 20;
    return qq({"order_id":"ORD-$id","customer":{"name":"Jane Roe",)
         . qq("email":"jane.roe\@example.com","address":{"street":)
         . qq("1 Main Street","city":"Springfield","zip":"12345"}},)
         . qq("lines":[) . join(',', @lines) . qq(],"status":"paid"});
}

$node->set_yaml($base);
$node->start;
my $order = order(1);
put('orders/1', $order);
cmp_ok(meta('orders/1')->{stored_size}, '<', length $order,
       'with the defaults a 3 KB order is stored compressed');

# compression off: old frames still read, new values stored raw
restart_with("compression_enabled: false\n");
same('orders/1', $order, 'compression off');
cmp_ok(meta('orders/1')->{stored_size}, '<', length $order,
       'the old record is still the compressed one');
my $order2 = order(2);
put('orders/2', $order2);
my $m = meta('orders/2');
is($m->{stored_size}, $m->{size}, 'with compression off a 3 KB value is raw');
same('orders/2', $order2, 'written with compression off');

# and on again: the raw record stays readable, new ones are compressed
restart_with("compression_enabled: true\n");
same('orders/2', $order2, 'compression back on');
$m = meta('orders/2');
is($m->{stored_size}, $m->{size}, 'the raw record is still raw');
same('orders/1', $order, 'compression back on');
my $order3 = order(3);
put('orders/3', $order3);
cmp_ok(meta('orders/3')->{stored_size}, '<', length $order3,
       'a new 3 KB value is compressed again');
same('orders/3', $order3, 'written with compression back on');

# a key with history, then revision_history: 0
my @w = map { put('r/k', qq({"version":$_})) } 1 .. 3;
is(scalar @{ get_json('/kv/r/k?revisions') }, 3,
   'with the default revision_history a key of three writes has three revisions');
restart_with("revision_history: 0\n");
is_deeply(get_json('/kv/r/k?revisions'),
          [ { revision => 1, uuid => $w[2]{uuid}, timestamp => $w[2]{timestamp} } ],
          'after a restart with revision_history: 0, ?revisions lists only the current version');
my ($st, $h, $b) = $node->request(GET => '/kv/r/k?revision=2');
is($st, 404, 'and ?revision=2 is a 404');
is($b, qq({"error":"key \\"r/k\\" has 1 revision; there is no revision 2"}\n),
   'saying there is one');
is(meta('r/k')->{revisions}, 1, '?meta says 1');
my $w4 = put('r/k', '{"version":4}');
is_deeply([map { $_->{uuid} } @{ get_json('/kv/r/k?revisions') }], [$w4->{uuid}],
          'a new write keeps no history either');

unlike($node->log_text, qr/\[(alert|crit|emerg|error)\]|does not decompress/,
       'no errors, no damaged frames in the log');
$node->stop;
done_testing;
