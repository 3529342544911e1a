# The original KVS's examples, one request each, with its answer shapes.
use Test::Nginx::Socket 'no_plan';
use KVS::Blocks;

# every block starts from an empty store (t/lib/KVS/Blocks.pm)
add_block_preprocessor(\&KVS::Blocks::empty_store);

no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: /health answers the original's four fields
--- config
location / { kvs_api; }
--- request
GET /health
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body_like: ^\{"status":"ok","mode":"normal","member_count":1,"node_id":"[^"]+"\}$
--- no_error_log
[error]



=== TEST 2: PUT answers uuid and timestamp, with the ETag of the new version
--- config
location / { kvs_api; }
--- more_headers
Content-Type: application/json
--- request
PUT /kv/users/john/profile
{"name":"John Doe","age":30,"email":"john@example.com"}
--- error_code: 200
--- response_headers_like
ETag: "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
Content-Type: application/json
--- response_body_like: ^\{"uuid":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}","timestamp":1\d{12}\}$
--- no_error_log
[error]



=== TEST 3: GET of a missing key is a JSON 404
--- config
location / { kvs_api; }
--- request
GET /kv/no/such/key
--- error_code: 404
--- response_headers
Content-Type: application/json
--- response_body
{"error":"key \"no/such/key\" not found"}



=== TEST 4: DELETE of a missing key is a JSON 404
--- config
location / { kvs_api; }
--- request
DELETE /kv/never/written
--- error_code: 404
--- response_body
{"error":"key \"never/written\" not found"}



=== TEST 5: /members/ lists this node
--- http_config
kvs_config ../html/node.yaml;
--- config
location / { kvs_api; }
--- user_files
>>> node.yaml
data_dir: html/data
node_id: sanity-node
bind_address: 127.0.0.1
port: 9999
--- request
GET /members/
--- error_code: 200
--- response_body_like: ^\[\{"id":"sanity-node","address":"127\.0\.0\.1:9999","last_seen":1\d{12},"joined_timestamp":1\d{12},"state":"alive"\}\]$



=== TEST 6: /health names the configured node
--- http_config
kvs_config ../html/node.yaml;
--- config
location / { kvs_api; }
--- user_files
>>> node.yaml
data_dir: html/data
node_id: sanity-node
--- request
GET /health
--- response_body
{"status":"ok","mode":"normal","member_count":1,"node_id":"sanity-node"}



=== TEST 7: an unknown endpoint is a JSON 404
--- config
location / { kvs_api; }
--- request
GET /nothing/here
--- error_code: 404
--- response_body
{"error":"no KVS endpoint at \"/nothing/here\""}



=== TEST 8: locations without kvs_api keep nginx's own pages
--- config
location / { kvs_api; }
location /static/ { return 404; }
--- request
GET /static/x
--- error_code: 404
--- response_headers
Content-Type: text/html
--- response_body_like: <center>nginx
