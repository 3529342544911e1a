# The data API as a client uses it across requests: PUT, GET, overwrite,
# DELETE, HEAD, odd but valid keys, large values, and bad requests that
# must leave the stored value as it was.  Each block is one story told in
# several requests to one store; that a version's ETag is its uuid, and
# that an overwrite is a newer version, is told in t/004-conditional.t,
# which carries an ETag from one answer to the next request.
use Test::Nginx::Socket 'no_plan';
use KVS::Blocks;

# every block starts from an empty store (t/lib/KVS/Blocks.pm)
add_block_preprocessor(\&KVS::Blocks::empty_store);

our $Profile = '{"name":"John Doe","age":30,"email":"john@example.com"}';
our $Uuid = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';

# a version no key is at, for the preconditions that must fail
our $Other = '0b4e7f3c-1d2a-4c5b-9e8f-7a6b5c4d3e2f';

# a key of 1,024 bytes, the longest there may be
our $Long = join('/', ('k' x 99) x 10) . '/' . ('z' x 24);
length $Long == 1024 or die "the long key is " . length($Long) . " bytes\n";

# values kept byte for byte, whitespace and escapes too: sent with their
# own Content-Length, so that no harness trims them
our @Values = ('"just a string"', '42', 'null', '[1, 2 ,3]',
               qq({ "spaced" :\t"out" }\n), '{"u":"\u00e9\ud83d\ude00 é"}');

# larger than the body buffer (client_body_buffer_size 8k below)
our $Big = '[' . join(',', map { qq("item-$_") } 1 .. 60000) . ']';
length $Big > 8192 * 10 or die "the big value is too small\n";

no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: PUT the original example, GET it back as stored, HEAD it
--- config
location / { kvs_api; }
--- more_headers
Content-Type: application/json
--- request eval
["PUT /kv/users/john/profile\n$::Profile",
 "GET /kv/users/john/profile",
 "HEAD /kv/users/john/profile"]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["Content-Type: application/json",
 "Content-Type: application/json\nContent-Length: " . length($::Profile),
 "Content-Type: application/json\nContent-Length: " . length($::Profile)]
--- raw_response_headers_like eval
[qr/\r\nETag: "$::Uuid"\r\n/, qr/\r\nETag: "$::Uuid"\r\n/, qr/\r\nETag: "$::Uuid"\r\n/]
--- response_body eval
[qr/^\{"uuid":"$::Uuid","timestamp":1\d{12}\}\n\z/, $::Profile, ""]
--- no_error_log
[error]



=== TEST 2: an overwrite is what GET answers
--- config
location / { kvs_api; }
--- request eval
["PUT /kv/users/john/profile\n$::Profile",
 "PUT /kv/users/john/profile\n{\"name\":\"John Doe\",\"age\":31}",
 "GET /kv/users/john/profile"]
--- error_code eval
[200, 200, 200]
--- response_body eval
[qr/"uuid"/, qr/"uuid"/, '{"name":"John Doe","age":31}']
--- no_error_log
[error]



=== TEST 3: bad requests are refused with their own status and change nothing
--- config
location / { kvs_api; }
--- request eval
["PUT /kv/users/john/profile\n$::Profile",
 "PUT /kv/users/john/profile\n{\"broken\":",
 "PUT /kv/users/john/profile\n",
 "PUT /kv/users/john/profile\n" . ('x' x 2_000_000),
 "POST /kv/users/john/profile\n{}",
 "PUT /kv/users//john/profile\n{}",
 "GET /kv/users/john/profile"]
--- more_headers eval
["", "", "Content-Length: 0", "", "", "", ""]
--- error_code eval
[200, 400, 400, 413, 405, 400, 200]
--- response_body eval
[qr/"uuid"/,
 qq({"error":"the body is not valid JSON: unexpected end of the JSON at byte 10"}\n),
 qq({"error":"the body is empty; PUT needs a JSON value"}\n),
 qq({"error":"the request body of 2000000 bytes is larger than max_json_size (1048576 bytes)"}\n),
 qq({"error":"the method POST is not allowed on a key; use GET, HEAD, PUT or DELETE"}\n),
 qq({"error":"the key has an empty segment"}\n),
 $::Profile]



=== TEST 4: DELETE answers 204 without a body; the key is gone, and can be written again
--- config
location / { kvs_api; }
--- request eval
["PUT /kv/users/john/profile\n$::Profile",
 "DELETE /kv/users/john/profile",
 "GET /kv/users/john/profile",
 "DELETE /kv/users/john/profile",
 "PUT /kv/users/john/profile\n1",
 "GET /kv/users/john/profile"]
--- error_code eval
[200, 204, 404, 404, 200, 200]
--- response_body eval
[qr/"uuid"/, "",
 qq({"error":"key \\"users/john/profile\\" not found"}\n),
 qq({"error":"key \\"users/john/profile\\" not found"}\n),
 qr/"uuid"/, "1"]
--- no_error_log
[error]



=== TEST 5: a percent-encoded key with UTF-8 reads back under the same encoding
--- config
location / { kvs_api; }
--- request eval
["PUT /kv/a%20b/caf%C3%A9\n\"x\"", "GET /kv/a%20b/caf%C3%A9"]
--- error_code eval
[200, 200]
--- response_body eval
[qr/"uuid"/, '"x"']



=== TEST 6: a key of 1,024 bytes is a key; one of 1,025 is not
--- config
location / { kvs_api; }
--- request eval
["PUT /kv/$::Long\ntrue", "GET /kv/$::Long", "PUT /kv/" . $::Long . "z\ntrue"]
--- error_code eval
[200, 200, 400]
--- response_body eval
[qr/"uuid"/, "true", qq({"error":"the key is longer than 1024 bytes"}\n)]



=== TEST 7: any JSON value is kept byte for byte
--- config
location / { kvs_api; }
--- request eval
[map { ("PUT /kv/values/v\n$_", "GET /kv/values/v") } @::Values]
--- more_headers eval
[map { ("Content-Length: " . length($_), "") } @::Values]
--- error_code eval
[(200) x (2 * @::Values)]
--- response_body eval
[map { (qr/"uuid"/, $_) } @::Values]
--- no_error_log
[error]



=== TEST 8: a value larger than the body buffer is stored from nginx's temp file, and reads back whole
--- config
client_body_buffer_size 8k;
location / { kvs_api; }
--- request eval
["PUT /kv/values/big\n$::Big", "GET /kv/values/big"]
--- error_code eval
[200, 200]
--- response_headers eval
["", "Content-Length: " . length($::Big)]
--- response_body eval
[qr/"uuid"/, $::Big]
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 9: a parameter an endpoint does not take is a 400 that names it, on every endpoint (they were ignored off /kv/, and /api/audit/verify?since verified the whole log)
--- config
location / { kvs_api; }
--- request eval
["GET /members/?x=1", "GET /members?x=1", "POST /api/backup?bogus=1",
 "GET /api/backup/status?x", "GET /api/audit/verify?since=1",
 "POST /api/login?x=1\n{}", "GET /api/users/6f1e6e8c-1111-5222-8333-444455556666?x=1",
 "POST /api/users?x=1\n{}"]
--- error_code eval
[(400) x 8]
--- response_body eval
[qq({"error":"the parameter \\"x\\" is not one of this request's: none"}\n),
 qq({"error":"the parameter \\"x\\" is not one of this request's: none"}\n),
 qq({"error":"the parameter \\"bogus\\" is not one of this request's: none"}\n),
 qq({"error":"the parameter \\"x\\" is not one of this request's: none"}\n),
 qq({"error":"the parameter \\"since\\" is not one of this request's: none"}\n),
 qq({"error":"the parameter \\"x\\" is not one of this request's: none"}\n),
 qq({"error":"the parameter \\"x\\" is not one of this request's: none"}\n),
 qq({"error":"the parameter \\"x\\" is not one of this request's: none"}\n)]



=== TEST 10: /health takes any query string: a load balancer's check may add one
--- config
location / { kvs_api; }
--- request
GET /health?probe=lb-7&ts=1796395944
--- error_code: 200
--- response_body_like: "status":"ok"



=== TEST 11: If-Match with a weak ETag (nginx's gzip makes them) matches no version: a PUT or DELETE with one is a 412 and changes nothing
--- config
location / { kvs_api; }
--- request eval
["PUT /kv/weak/k\n1",
 "PUT /kv/weak/k\n2",
 "DELETE /kv/weak/k",
 "PUT /kv/weak/new\n3",
 "GET /kv/weak/k",
 "GET /kv/weak/k",
 "GET /kv/weak/new"]
--- more_headers eval
["",
 "If-Match: W/\"$::Other\"",
 "If-Match: W/\"$::Other\"",
 "If-Match: W/\"$::Other\"",
 "If-Match: W/\"$::Other\"",
 "",
 ""]
--- error_code eval
[200, 412, 412, 412, 412, 200, 404]
--- response_body eval
[qr/"uuid"/,
 qq({"error":"the precondition failed: If-Match compares ETags strongly, and W/\\"$::Other\\" is weak, so it matches no version of \\"weak/k\\" (nginx's gzip weakens the ETag of a GET it compresses); send it without \\"W/\\""}\n),
 qq({"error":"the precondition failed: If-Match compares ETags strongly, and W/\\"$::Other\\" is weak, so it matches no version of \\"weak/k\\" (nginx's gzip weakens the ETag of a GET it compresses); send it without \\"W/\\""}\n),
 qq({"error":"the precondition failed: If-Match compares ETags strongly, and W/\\"$::Other\\" is weak, so it matches no version of \\"weak/new\\" (nginx's gzip weakens the ETag of a GET it compresses); send it without \\"W/\\""}\n),
 qq({"error":"the precondition failed: If-Match names no version the key is at"}\n),
 "1",
 qq({"error":"key \\"weak/new\\" not found"}\n)]
--- no_error_log
[error]
