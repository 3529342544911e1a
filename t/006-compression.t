# Compression as a client sees it: values of compression_min_size bytes or
# more are stored as zstd frames (?meta "stored_size" below "size"), smaller
# ones and incompressible ones raw (the two equal), and every GET answers
# the bytes that were PUT, from nginx's memory or its temp file alike;
# compression_level is checked when nginx reads the YAML.  Each block writes
# and reads back in one store; turning compression off and on again across
# restarts is t/019-config-changes.t's story.
use Test::Nginx::Socket 'no_plan';
use KVS::Blocks;
use JSON::PP ();

# every block starts from an empty store (t/lib/KVS/Blocks.pm)
add_block_preprocessor(\&KVS::Blocks::empty_store);

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

our $Order = order(1);
length $Order > 2900 && length $Order < 3300
    or die "the order is " . length($Order) . " bytes, not about 3 KB\n";

# compression_min_size defaults to 256 bytes, counted on the JSON
our $AtMin = '"' . ('a' x 254) . '"';
our $Below = '"' . ('a' x 253) . '"';

# far past a 1k body buffer: about 180 KB, read from nginx's temp file
our $Big = '[' . join(',', map { order($_) } 1 .. 60) . ']';
length $Big > 150_000 or die "the big value is too small\n";

# a ?meta body as its size and how the value is stored
sub stored {
    my $m = eval { JSON::PP::decode_json($_[0]) } or return "not JSON: $_[0]";
    return "$m->{size} bytes, "
         . ($m->{stored_size} <  $m->{size} ? 'compressed'
          : $m->{stored_size} == $m->{size} ? 'raw'
          : "stored in $m->{stored_size}");
}

# the same, saying whether it takes less than a quarter of its size
sub quarter {
    my $m = eval { JSON::PP::decode_json($_[0]) } or return "not JSON: $_[0]";
    return "$m->{size} bytes, stored in "
         . ($m->{stored_size} < $m->{size} / 4 ? 'under a quarter'
                                                : $m->{stored_size});
}

no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: a 3 KB order is stored compressed and read back byte for byte, HEAD with its length
--- config
location / { kvs_api; }
--- request eval
["PUT /kv/orders/1\n$::Order", "GET /kv/orders/1?meta", "GET /kv/orders/1",
 "HEAD /kv/orders/1"]
--- response_body_filters eval
[[], [\&main::stored], [], []]
--- error_code eval
[200, 200, 200, 200]
--- response_headers eval
["", "", "Content-Length: " . length($::Order), "Content-Length: " . length($::Order)]
--- response_body eval
[qr/"uuid"/, length($::Order) . " bytes, compressed", $::Order, ""]
--- no_error_log
[alert]
[crit]
does not decompress



=== TEST 2: compression_min_size defaults to 256 bytes: one of 256 is compressed, one of 255 raw
--- config
location / { kvs_api; }
--- request eval
["PUT /kv/edge/256\n$::AtMin", "PUT /kv/edge/255\n$::Below",
 "GET /kv/edge/256?meta", "GET /kv/edge/255?meta",
 "GET /kv/edge/256", "GET /kv/edge/255"]
--- response_body_filters eval
[[], [], [\&main::stored], [\&main::stored], [], []]
--- error_code eval
[(200) x 6]
--- response_headers eval
[("") x 4, "Content-Length: 256", "Content-Length: 255"]
--- response_body eval
[qr/"uuid"/, qr/"uuid"/, "256 bytes, compressed", "255 bytes, raw", $::AtMin, $::Below]



=== TEST 3: a small value is raw: size and stored_size 7
--- config
location / { kvs_api; }
--- request eval
["PUT /kv/small\n{\"a\":1}", "GET /kv/small?meta", "GET /kv/small"]
--- error_code eval
[200, 200, 200]
--- response_body eval
[qr/"uuid"/, qr/"size":7,"stored_size":7,/, '{"a":1}']



=== TEST 4: about 180 KB, read from nginx's temp file, is compressed too and reads back whole
--- config
client_body_buffer_size 1k;
location / { kvs_api; }
--- request eval
["PUT /kv/orders/all\n$::Big", "GET /kv/orders/all?meta", "GET /kv/orders/all"]
--- response_body_filters eval
[[], [\&main::quarter], []]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["", "", "Content-Length: " . length($::Big)]
--- response_body eval
[qr/"uuid"/, length($::Big) . " bytes, stored in under a quarter", $::Big]
--- no_error_log
[alert]
[crit]
does not decompress



=== TEST 5: compression_min_size: 4k moves the threshold: 3 KB is raw, 4096 bytes compressed
--- config
location / { kvs_api; }
--- user_files
>>> node.yaml
data_dir: html/data
compression_min_size: 4k
--- request eval
my $at4k = main::order(4) . ' ' x (4096 - length main::order(4));
["PUT /kv/orders/4\n" . main::order(4), "PUT /kv/orders/5\n$at4k",
 "GET /kv/orders/4?meta", "GET /kv/orders/5?meta", "GET /kv/orders/4"]
--- more_headers eval
["", "Content-Length: 4096", "", "", ""]
--- response_body_filters eval
[[], [], [\&main::stored], [\&main::stored], []]
--- error_code eval
[(200) x 5]
--- response_body eval
[qr/"uuid"/, qr/"uuid"/, length(main::order(4)) . " bytes, raw",
 "4096 bytes, compressed", main::order(4)]



=== TEST 6: with no minimum, a value zstd cannot shrink is stored raw, never bigger
--- config
location / { kvs_api; }
--- user_files
>>> node.yaml
data_dir: html/data
compression_min_size: 0
--- request eval
["PUT /kv/tiny\n{\"a\":1}", "GET /kv/tiny?meta", "GET /kv/tiny"]
--- response_body_filters eval
[[], [\&main::stored], []]
--- error_code eval
[200, 200, 200]
--- response_body eval
[qr/"uuid"/, "7 bytes, raw", '{"a":1}']



=== TEST 7: compression_level 1 compresses
--- config
location / { kvs_api; }
--- user_files
>>> node.yaml
data_dir: html/data
compression_level: 1
--- request eval
["PUT /kv/orders/1\n$::Order", "GET /kv/orders/1?meta", "GET /kv/orders/1"]
--- response_body_filters eval
[[], [\&main::stored], []]
--- error_code eval
[200, 200, 200]
--- response_body eval
[qr/"uuid"/, length($::Order) . " bytes, compressed", $::Order]



=== TEST 8: and so does compression_level 19
--- config
location / { kvs_api; }
--- user_files
>>> node.yaml
data_dir: html/data
compression_level: 19
--- request eval
["PUT /kv/orders/1\n$::Order", "GET /kv/orders/1?meta", "GET /kv/orders/1"]
--- response_body_filters eval
[[], [\&main::stored], []]
--- error_code eval
[200, 200, 200]
--- response_body eval
[qr/"uuid"/, length($::Order) . " bytes, compressed", $::Order]



=== TEST 9: compression_level 0 is refused, naming the key, the value and the range
--- config
location / { kvs_api; }
--- user_files
>>> node.yaml
data_dir: html/data
compression_level: 0
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*node\.yaml:2: compression_level: 0 is out of range \(1\.\.19\)/



=== TEST 10: so is compression_level 20
--- config
location / { kvs_api; }
--- user_files
>>> node.yaml
data_dir: html/data
compression_level: 20
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*node\.yaml:2: compression_level: 20 is out of range \(1\.\.19\)/
