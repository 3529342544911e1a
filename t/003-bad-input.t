# Bad input gets a JSON error with the right status, and is not stored.
use Test::Nginx::Socket 'no_plan';
use KVS::Blocks;

# every block starts from an empty store (t/lib/KVS/Blocks.pm)
add_block_preprocessor(\&KVS::Blocks::empty_store);

no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: malformed JSON is a 400 that says where
--- config
location / { kvs_api; }
--- request
PUT /kv/bad/json
{"name": "x",}
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body
{"error":"the body is not valid JSON: expected a string as an object key at byte 13"}



=== TEST 2: an empty body is a 400
--- config
location / { kvs_api; }
--- request
PUT /kv/bad/empty
--- more_headers
Content-Length: 0
--- error_code: 400
--- response_body
{"error":"the body is empty; PUT needs a JSON value"}



=== TEST 3: trailing data after the value is a 400
--- config
location / { kvs_api; }
--- request
PUT /kv/bad/trailing
{"a":1} {"b":2}
--- error_code: 400
--- response_body_like: ^\{"error":"the body is not valid JSON: unexpected data after the JSON value at byte 8"\}$



=== TEST 4: invalid UTF-8 in a string is a 400
--- config
location / { kvs_api; }
--- request eval
"PUT /kv/bad/utf8\n\"\xc3\x28\""
--- error_code: 400
--- response_body_like: invalid UTF-8



=== TEST 5: nesting deeper than 512 levels is a 400
--- config
location / { kvs_api; }
--- request eval
"PUT /kv/bad/deep\n" . ("[" x 600) . ("]" x 600)
--- error_code: 400
--- response_body_like: nesting deeper than 512 levels



=== TEST 6: an empty segment in the key is a 400
--- config
location / { kvs_api; }
--- request
PUT /kv/a//b
{"x":1}
--- error_code: 400
--- response_body
{"error":"the key has an empty segment"}



=== TEST 7: a percent-encoded empty segment is a 400 too
--- config
location / { kvs_api; }
--- request
GET /kv/a%2F%2Fb
--- error_code: 400
--- response_body
{"error":"the key has an empty segment"}



=== TEST 8: a dot segment is a 400
--- config
location / { kvs_api; }
--- request
GET /kv/a/./b
--- error_code: 400
--- response_body
{"error":"the key has a \".\" or \"..\" segment"}



=== TEST 9: a dot-dot segment is a 400, not another key
--- config
location / { kvs_api; }
--- request
PUT /kv/a/../b
{"x":1}
--- error_code: 400
--- response_body
{"error":"the key has a \".\" or \"..\" segment"}



=== TEST 10: PUT to the empty key is a 405: "/kv/" lists, it is no key
--- config
location / { kvs_api; }
--- request
PUT /kv/
1
--- error_code: 405
--- response_headers
Allow: GET, HEAD
--- response_body
{"error":"a URI ending in \"/\" lists the keys under a prefix: only GET and HEAD are allowed; a key cannot end with \"/\""}



=== TEST 11: a control byte in the key is a 400
--- config
location / { kvs_api; }
--- request
GET /kv/a%01b
--- error_code: 400
--- response_body
{"error":"the key contains a control character"}



=== TEST 12: DELETE with a trailing slash is a 405, not a delete of "users"
--- config
location / { kvs_api; }
--- request
DELETE /kv/users/
--- error_code: 405
--- response_body_like: lists the keys under a prefix



=== TEST 13: a body over max_json_size is refused from Content-Length
--- http_config
kvs_config ../html/node.yaml;
--- config
location / { kvs_api; }
--- user_files
>>> node.yaml
data_dir: html/data
max_json_size: 16
--- request
PUT /kv/big/one
{"x":"0123456789012345678901234567890123456789"}
--- error_code: 413
--- response_headers
Content-Type: application/json
--- response_body_like: ^\{"error":"the request body of 4[89] bytes is larger than max_json_size \(16 bytes\)"\}$



=== TEST 14: a chunked body over max_json_size is refused while it is read
--- http_config
kvs_config ../html/node.yaml;
--- config
location / { kvs_api; }
--- user_files
>>> node.yaml
data_dir: html/data
max_json_size: 16
--- more_headers
Transfer-Encoding: chunked
--- request eval
"PUT /kv/big/chunked\n" . "a\r\n[1,2,3,4,5\r\na\r\n,6,7,8,9,0\r\na\r\n,1,2,3,4,5\r\n1\r\n]\r\n0\r\n\r\n"
--- error_code: 413
--- response_headers
Content-Type: application/json
--- response_body
{"error":"the request body is larger than max_json_size (16 bytes)"}



=== TEST 15: a chunked body within max_json_size is stored
--- http_config
kvs_config ../html/node.yaml;
--- config
location / { kvs_api; }
--- user_files
>>> node.yaml
data_dir: html/data
max_json_size: 64
--- more_headers
Transfer-Encoding: chunked
--- request eval
"PUT /kv/ok/chunked\n" . "a\r\n[1,2,3,4,5\r\n2\r\n]\n\r\n0\r\n\r\n"
--- error_code: 200
--- response_body_like: ^\{"uuid":"[0-9a-f-]{36}","timestamp":\d+\}$



=== TEST 16: POST on a key is a 405 with Allow
--- config
location / { kvs_api; }
--- request
POST /kv/some/key
{"x":1}
--- error_code: 405
--- response_headers
Allow: GET, HEAD, PUT, DELETE
Content-Type: application/json
--- response_body
{"error":"the method POST is not allowed on a key; use GET, HEAD, PUT or DELETE"}



=== TEST 17: PATCH on a key is a 405
--- config
location / { kvs_api; }
--- request
PATCH /kv/some/key
{"x":1}
--- error_code: 405
--- response_headers
Allow: GET, HEAD, PUT, DELETE



=== TEST 18: PUT on /health is a 405
--- config
location / { kvs_api; }
--- request
PUT /health
{}
--- error_code: 405
--- response_headers
Allow: GET, HEAD
--- response_body
{"error":"the method PUT is not allowed on \"/health\"; use GET"}



=== TEST 19: a read-only node refuses PUT with 503
--- http_config
kvs_config ../html/node.yaml;
--- config
location / { kvs_api; }
--- user_files
>>> node.yaml
data_dir: html/data
read_only: true
--- request
PUT /kv/ro/key
{"x":1}
--- error_code: 503
--- response_body
{"error":"this node is read-only; send writes to another node"}



=== TEST 20: a read-only node refuses DELETE with 503
--- http_config
kvs_config ../html/node.yaml;
--- config
location / { kvs_api; }
--- user_files
>>> node.yaml
data_dir: html/data
read_only: true
--- request
DELETE /kv/ro/key
--- error_code: 503
--- response_body
{"error":"this node is read-only; send writes to another node"}



=== TEST 21: a read-only node still serves reads, and says its mode
--- http_config
kvs_config ../html/node.yaml;
--- config
location / { kvs_api; }
--- user_files
>>> node.yaml
data_dir: html/data
node_id: ro
read_only: true
--- request
GET /health
--- error_code: 200
--- response_body
{"status":"ok","mode":"read-only","member_count":1,"node_id":"ro"}



=== TEST 22: a raw "#" in the URI is a 400, not a key cut at the fragment
--- config
location / { kvs_api; }
--- request
PUT /kv/hash/a#b
1
--- error_code: 400
--- response_headers
Content-Type: application/json
--- response_body
{"error":"the URI holds a raw \"#\", which starts a fragment: send a \"#\" of a key or a parameter as %23"}



=== TEST 23: in a query too
--- config
location / { kvs_api; }
--- request
GET /kv/hash/?after=a#b
--- error_code: 400
--- response_body_like: raw \\"#\\"



=== TEST 24: "#", "?", "%" and a space percent-encoded are a key's own
--- config
location / { kvs_api; }
--- request eval
["PUT /kv/hash/a%23b%3Fc%25d%20e\n1", "GET /kv/hash/a%23b%3Fc%25d%20e", "GET /kv/hash/"]
--- error_code eval
[200, 200, 200]
--- response_body_like eval
[qr/"uuid"/, qr/^1$/, qr/"keys":\[(?:"[^"]*",)*"hash\/a#b\?c%d e"/]
