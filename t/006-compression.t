# Compression as a client sees it: values of compression_min_size bytes or
# more are stored as zstd frames (?meta "stored_size" below "size"), smaller
# ones and incompressible ones raw (the two equal), and every GET answers
# the bytes that were PUT.  Turning compression off and on again across a
# restart leaves every record readable; compression_level is checked by
# nginx -t.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use KVS::Node;

# a 1k body buffer: the larger values below reach the module from nginx's
# temp file, not from memory
my $node = KVS::Node->new(name => 'zstd', workers => 1,
                          server => 'client_body_buffer_size 1k;');
my $base = "node_id: zstd\nbind_address: 127.0.0.1\nport: " . $node->port
         . "\ndata_dir: ./data\n";

# level bounds: nginx -t names the key and the range
for my $level (0, 20) {
    $node->set_yaml($base . "compression_level: $level\n");
    my ($rc, $out) = $node->test_config;
    isnt($rc, 0, "compression_level: $level fails nginx -t");
    like($out, qr/node\.yaml:5: compression_level: $level is out of range \(1\.\.19\)/,
         'naming the key, the value and the range');
}
for my $level (1, 19) {
    $node->set_yaml($base . "compression_level: $level\n");
    my ($rc, $out) = $node->test_config;
    is($rc, 0, "compression_level: $level passes nginx -t") or diag $out;
}

$node->set_yaml($base);
$node->start;

sub put {
    my ($key, $body) = @_;
    my ($st, $h, $b) = $node->request(PUT => "/kv/$key", body => $body);
    is($st, 200, "PUT $key (" . length($body) . ' bytes)') or diag $b;
    return $h->{etag};
}

sub meta {
    my ($key) = @_;
    my ($st, $h, $b) = $node->request(GET => "/kv/$key?meta");
    is($st, 200, "GET $key?meta") or diag $b;
    return $st == 200 ? decode_json($b) : {};
}

# reads the key back and checks it byte for byte (no 3 KB diff on failure)
sub same {
    my ($key, $want, $what) = @_;
    my ($st, $h, $b) = $node->request(GET => "/kv/$key");
    ok($st == 200 && $b eq $want, "$what: GET $key answers the exact bytes")
        or diag "status $st, " . length($b) . ' bytes, wanted '
                . length($want);
    is($h->{'content-length'}, length $want, 'with the original length');
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

my $order = order(1);
ok(length $order > 2900 && length $order < 3300,
   'a realistic order of about 3 KB (' . length($order) . ' bytes)');

put('orders/1', $order);
my $m = meta('orders/1');
is($m->{size}, length $order, 'size is the JSON length');
cmp_ok($m->{stored_size}, '<', $m->{size}, 'stored_size is smaller: compressed');
same('orders/1', $order, 'compressed');
my ($st, $h, $b) = $node->request(HEAD => '/kv/orders/1');
is($h->{'content-length'}, length $order, 'HEAD gives the original length');
is($b, '', 'and no body');

# compression_min_size defaults to 256 bytes, counted on the JSON
my $at_min = '"' . ('a' x 254) . '"';
my $below = '"' . ('a' x 253) . '"';
put('edge/256', $at_min);
put('edge/255', $below);
$m = meta('edge/256');
cmp_ok($m->{stored_size}, '<', 256, 'a 256-byte value is compressed');
same('edge/256', $at_min, 'at the minimum');
$m = meta('edge/255');
is($m->{stored_size}, 255, 'a 255-byte value is stored raw');
is($m->{size}, 255, 'size and stored_size equal');
same('edge/255', $below, 'below the minimum');

my $small = '{"a":1}';
put('small', $small);
$m = meta('small');
is_deeply([@$m{qw(size stored_size)}], [7, 7], 'a small value: raw, 7 and 7');

# far past the body buffer: read from nginx's temp file, then compressed
my $big = '[' . join(',', map { order($_) } 1 .. 60) . ']';
cmp_ok(length $big, '>', 150_000, 'a value of about 180 KB');
put('orders/all', $big);
$m = meta('orders/all');
cmp_ok($m->{stored_size}, '<', $m->{size} / 4, 'from a temp file, compressed too');
same('orders/all', $big, 'from a temp file');

# compression off: old frames still read, new values stored raw
$node->stop;
$node->set_yaml($base . "compression_enabled: false\n");
$node->start;
same('orders/1', $order, 'compression off');
cmp_ok(meta('orders/1')->{stored_size}, '<', length $order,
       'the old record is still the compressed one');
my $order2 = order(2);
put('orders/2', $order2);
$m = meta('orders/2');
is($m->{stored_size}, $m->{size}, 'with compression off a 3 KB value is raw');
same('orders/2', $order2, 'written with compression off');

# and on again: the raw record stays readable, new ones are compressed
$node->stop;
$node->set_yaml($base . "compression_enabled: true\n");
$node->start;
same('orders/2', $order2, 'compression back on');
$m = meta('orders/2');
is($m->{stored_size}, $m->{size}, 'the raw record is still raw');
same('orders/1', $order, 'compression back on');
my $order3 = order(3);
put('orders/3', $order3);
cmp_ok(meta('orders/3')->{stored_size}, '<', length $order3,
       'a new 3 KB value is compressed again');
same('orders/3', $order3, 'written with compression back on');

# compression_min_size moves the threshold
$node->stop;
$node->set_yaml($base . "compression_min_size: 4k\n");
$node->start;
my $order4 = order(4);
put('orders/4', $order4);
$m = meta('orders/4');
is($m->{stored_size}, $m->{size}, 'below compression_min_size: 4k, 3 KB is raw');
put('orders/5', $order4 . ' ' x (4096 - length $order4));
$m = meta('orders/5');
cmp_ok($m->{stored_size}, '<', 4096, 'at 4096 bytes it is compressed');

# with no minimum, a value that zstd cannot shrink (its frame header alone
# is longer than 7 bytes) is stored raw, never bigger
$node->stop;
$node->set_yaml($base . "compression_min_size: 0\n");
$node->start;
put('tiny', '{"a":1}');
is_deeply([@{meta('tiny')}{qw(size stored_size)}], [7, 7],
          'compression_min_size: 0, a 7-byte value stays raw');
same('tiny', '{"a":1}', 'too small to shrink');

unlike($node->log_text, qr/\[(alert|crit|emerg)\]|does not decompress/,
       'no alerts, no damaged frames in the log');
$node->stop;
done_testing;
