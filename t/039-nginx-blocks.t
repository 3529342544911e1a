# nginx's own blocks inside a kvs_api location: limit_except, the way
# nginx restricts writes by address, lets the requests it allows reach the
# API (until 2026-12-04 they fell to nginx's static handler: a PUT was a
# 405, a login a 404); and an "if" block keeps the module's body limits
# (it kept the client_max_body_size the location had, which the location
# itself no longer does: a 413 below max_json_size, for chunked bodies).
use Test::Nginx::Socket 'no_plan';
use KVS::Blocks;

add_block_preprocessor(\&KVS::Blocks::empty_store);

no_shuffle();
no_root_location();
run_tests();

# a JSON string of n bytes in chunks of 64 KiB
sub chunked_json {
    my ($n) = @_;
    my $body = '"' . ('x' x ($n - 2)) . '"';
    my $out = '';
    for (my $at = 0; $at < length $body; $at += 65536) {
        my $chunk = substr($body, $at, 65536);
        $out .= sprintf("%x\r\n%s\r\n", length $chunk, $chunk);
    }
    return $out . "0\r\n\r\n";
}

__DATA__

=== TEST 1: limit_except lets a write through from an allowed address
--- config
location / {
    kvs_api;
    limit_except GET HEAD { allow 127.0.0.1; deny all; }
}
--- request
PUT /kv/le/one
{"a":1}
--- error_code: 200
--- response_body_like: ^\{"uuid":"[0-9a-f-]{36}","timestamp":\d+\}$



=== TEST 2: and a DELETE, answered by the API
--- config
location / {
    kvs_api;
    limit_except GET HEAD { allow 127.0.0.1; deny all; }
}
--- request
DELETE /kv/le/none
--- error_code: 404
--- response_headers
Content-Type: application/json
--- response_body_like: ^\{"error":".*"\}$



=== TEST 3: it denies a write from an address it does not allow
--- config
location / {
    kvs_api;
    limit_except GET HEAD { deny all; }
}
--- request
PUT /kv/le/two
{"a":2}
--- error_code: 403



=== TEST 4: reads pass it by
--- config
location / {
    kvs_api;
    limit_except GET HEAD { deny all; }
}
--- request
GET /kv/le/none
--- error_code: 404
--- response_headers
Content-Type: application/json



=== TEST 5: an "if" in the location keeps max_json_size for a chunked body over 1m
--- http_config
kvs_config ../html/node.yaml;
--- config
location / {
    kvs_api;
    client_max_body_size 1m;
    if ($http_x_trace) { set $traced 1; }
}
--- user_files
>>> node.yaml
data_dir: html/data
max_json_size: 2m
--- more_headers
X-Trace: 1
Transfer-Encoding: chunked
--- request eval
"PUT /kv/if/big\n" . main::chunked_json(1_500_000)
--- error_code: 200
--- response_body_like: ^\{"uuid":"[0-9a-f-]{36}","timestamp":\d+\}$



=== TEST 6: and refuses one over it, with the module's sentence
--- http_config
kvs_config ../html/node.yaml;
--- config
location / {
    kvs_api;
    client_max_body_size 1m;
    if ($http_x_trace) { set $traced 1; }
}
--- user_files
>>> node.yaml
data_dir: html/data
max_json_size: 1m
--- more_headers
X-Trace: 1
Transfer-Encoding: chunked
--- request eval
"PUT /kv/if/big\n" . main::chunked_json(1_100_000)
--- error_code: 413
--- response_body
{"error":"the request body is larger than max_json_size (1048576 bytes)"}
