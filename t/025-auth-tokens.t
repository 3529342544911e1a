# One node with auth on, and what it says of bad tokens and bad identity
# input: each refusal its status, its sentence and its headers.  Tokens are
# minted when a block is read (t/lib/KVS/Token.pm), good ones with the
# node's secret, bad ones on purpose, as an attacker who had it would.
use Test::Nginx::Socket 'no_plan';
use KVS::Blocks;
use KVS::Token;

# every block starts from an empty store of a node with auth on, whose
# first admin logs in with "admin-password" (t/lib/KVS/Blocks.pm)
add_block_preprocessor(\&KVS::Blocks::auth_store);

# "Authorization: Bearer" and a good token of that user.  A block's tokens
# are minted when it is read, before its nginx starts and creates the
# admin, whose password then dates from the second before: a token issued
# before that is revoked by it.  So a good token is issued five minutes
# on, which the node takes: it asks only that iat follow the password.
sub good_bearer {
    my ($user) = @_;
    return KVS::Token::bearer(sub => $user, iat => time + 300,
                              exp => time + 900);
}

no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: no Authorization header: 401 with the challenge, and $kvs_user is empty
--- http_config
kvs_config ../html/node.yaml;
log_format kvs 'user=[$kvs_user] $request_method $uri $status';
--- config
location / { kvs_api; access_log logs/access.log kvs; }
--- request
GET /kv/team
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="kvs"
Content-Type: application/json
--- response_body
{"error":"this node needs a token: send \"Authorization: Bearer <token>\"; POST /api/login gives one"}
--- access_log
user=[] GET /kv/team 401
--- no_error_log
[error]



=== TEST 2: another scheme than Bearer: 401
--- config
location / { kvs_api; }
--- more_headers
Authorization: Basic x
--- request
GET /kv/team
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="kvs"
--- response_body
{"error":"the Authorization header is not \"Bearer <token>\""}



=== TEST 3: "Bearer" and no token: 401
--- config
location / { kvs_api; }
--- more_headers
Authorization: Bearer
--- request
GET /kv/team
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="kvs"
--- response_body
{"error":"the Authorization header is not \"Bearer <token>\""}



=== TEST 4: alg none, unsigned as RFC 7519 6.1 has it (an empty third part): 401
--- config
location / { kvs_api; }
--- more_headers eval
my $t = KVS::Token::mint(sub => $KVS::Token::Admin,
                         header => '{"alg":"none","typ":"JWT"}');
"Authorization: Bearer " . ($t =~ s/[^.]*$//r)
--- request
GET /kv/team
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="kvs"
--- response_body
{"error":"the token is malformed"}



=== TEST 5: alg none with our kid and a signature of ours: 401, the algorithm
--- config
location / { kvs_api; }
--- more_headers eval
KVS::Token::bearer(sub => $KVS::Token::Admin,
    header => '{"alg":"none","typ":"JWT","kid":"'
              . KVS::Token::kid($KVS::Token::Secret) . '"}')
--- request
GET /kv/team
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="kvs"
--- response_body
{"error":"the token's algorithm is not HS256"}



=== TEST 6: alg HS512: 401, the algorithm
--- config
location / { kvs_api; }
--- more_headers eval
KVS::Token::bearer(sub => $KVS::Token::Admin,
    header => '{"alg":"HS512","typ":"JWT","kid":"'
              . KVS::Token::kid($KVS::Token::Secret) . '"}')
--- request
GET /kv/team
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="kvs"
--- response_body
{"error":"the token's algorithm is not HS256"}



=== TEST 7: a header without kid: 401
--- config
location / { kvs_api; }
--- more_headers eval
KVS::Token::bearer(sub => $KVS::Token::Admin,
                   header => '{"alg":"HS256","typ":"JWT"}')
--- request
GET /kv/team
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="kvs"
--- response_body
{"error":"the token's header is malformed"}



=== TEST 8: a kid of no secret of this node (another secret's own): 401
--- config
location / { kvs_api; }
--- more_headers eval
KVS::Token::bearer(sub => $KVS::Token::Admin, secret => 'x' x 40)
--- request
GET /kv/team
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="kvs"
--- response_body
{"error":"the token's key is unknown"}



=== TEST 9: signed by another secret under our kid: 401
--- config
location / { kvs_api; }
--- more_headers eval
KVS::Token::bearer(sub => $KVS::Token::Admin, secret => 'x' x 40,
                   kid => KVS::Token::kid($KVS::Token::Secret))
--- request
GET /kv/team
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="kvs"
--- response_body
{"error":"the token's signature does not match"}



=== TEST 10: exp in the past: 401
--- config
location / { kvs_api; }
--- more_headers eval
KVS::Token::bearer(sub => $KVS::Token::Admin, iat => time - 100,
                   exp => time - 10)
--- request
GET /kv/team
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="kvs"
--- response_body
{"error":"the token has expired"}



=== TEST 11: exp of the second the token is minted is expired
The token is minted when the block is read, before its nginx starts: the
node reads it in that second or a later one.  The boundary itself, exp
equal to now, is t/unit/test_jwt.c's.
--- config
location / { kvs_api; }
--- more_headers eval
KVS::Token::bearer(sub => $KVS::Token::Admin, iat => time - 100,
                   exp => time)
--- request
GET /kv/team
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="kvs"
--- response_body
{"error":"the token has expired"}



=== TEST 12: a token cut short: 401
--- config
location / { kvs_api; }
--- more_headers eval
"Authorization: Bearer "
. substr(KVS::Token::mint(sub => $KVS::Token::Admin), 0, -5)
--- request
GET /kv/team
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="kvs"
--- response_body
{"error":"the token is malformed"}



=== TEST 13: base64 padding '=' in a part, signed as it is: 401
--- config
location / { kvs_api; }
--- more_headers eval
my ($h, $p) = split /\./, KVS::Token::mint(sub => $KVS::Token::Admin);
die "the header needs no padding\n" unless length($h) % 4;
"Authorization: Bearer "
. KVS::Token::sign($h . '=' x (-length($h) % 4) . ".$p")
--- request
GET /kv/team
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="kvs"
--- response_body
{"error":"the token is malformed"}



=== TEST 14: a good signature on a token longer than 512 bytes: 401
--- config
location / { kvs_api; }
--- more_headers eval
KVS::Token::bearer(payload => sprintf('{"sub":"%s","iat":%d,"exp":%d,'
    . '"jti":"0b7c8e2a-4b1e-4f6a-9c61-0d1f2e3a4b5c","pad":"%s"}',
    $KVS::Token::Admin, time, time + 600, 'x' x 400))
--- request
GET /kv/team
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="kvs"
--- response_body
{"error":"the token is longer than 512 bytes"}



=== TEST 15: claims without sub: 401
--- config
location / { kvs_api; }
--- more_headers eval
KVS::Token::bearer(payload => sprintf('{"iat":%d,"exp":%d,'
    . '"jti":"0b7c8e2a-4b1e-4f6a-9c61-0d1f2e3a4b5c"}', time, time + 600))
--- request
GET /kv/team
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="kvs"
--- response_body
{"error":"the token's claims are malformed"}



=== TEST 16: iat as a string: 401
--- config
location / { kvs_api; }
--- more_headers eval
KVS::Token::bearer(payload => sprintf('{"sub":"%s","iat":"%d","exp":%d,'
    . '"jti":"0b7c8e2a-4b1e-4f6a-9c61-0d1f2e3a4b5c"}',
    $KVS::Token::Admin, time, time + 600))
--- request
GET /kv/team
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="kvs"
--- response_body
{"error":"the token's claims are malformed"}



=== TEST 17: exp twice, the second one later: 401, not the kinder reading
--- config
location / { kvs_api; }
--- more_headers eval
KVS::Token::bearer(payload => sprintf('{"sub":"%s","iat":%d,"exp":%d,'
    . '"jti":"0b7c8e2a-4b1e-4f6a-9c61-0d1f2e3a4b5c","exp":%d}',
    $KVS::Token::Admin, time - 100, time - 10, time + 600))
--- request
GET /kv/team
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="kvs"
--- response_body
{"error":"the token's claims are malformed"}



=== TEST 18: a good token of the admin writes a key, and $kvs_user names it
--- http_config
kvs_config ../html/node.yaml;
log_format kvs 'user=[$kvs_user] $request_method $uri $status';
--- config
location / { kvs_api; access_log logs/access.log kvs; }
--- more_headers eval
main::good_bearer($KVS::Token::Admin)
--- request
PUT /kv/team
{"a":1}
--- error_code: 200
--- response_headers
!WWW-Authenticate
--- response_body_like: ^\{"uuid":"[0-9a-f-]{36}","timestamp":1\d{12}\}$
--- access_log
user=[admin] PUT /kv/team 200
--- no_error_log
[error]



=== TEST 19: a good token of a user not on this node (yet): 503, retry in a second
--- config
location / { kvs_api; }
--- more_headers eval
KVS::Token::bearer(sub => KVS::Token::user_uuid('nobody'))
--- request
GET /kv/team
--- error_code: 503
--- response_headers
Retry-After: 1
!WWW-Authenticate
--- response_body
{"error":"the token's user has not reached this node yet; retry in a second"}



=== TEST 20: /health needs no token
--- config
location / { kvs_api; }
--- request
GET /health
--- error_code: 200
--- response_body_like: ^\{"status":"ok","mode":"normal","member_count":1,"node_id":"[^"]+"\}$



=== TEST 21: the first admin, from admin_password_file, logs in; a wrong password and an unknown user get one sentence
--- config
location / { kvs_api; }
--- request eval
["POST /api/login\n{\"username\":\"admin\",\"password\":\"admin-password\"}",
 "POST /api/login\n{\"username\":\"admin\",\"password\":\"wrong-password\"}",
 "POST /api/login\n{\"username\":\"nobody\",\"password\":\"admin-password\"}",
 "POST /api/login\n{\"username\":\"admin\",\"password\":\"\"}"]
--- error_code eval
[200, 401, 401, 401]
--- response_body_like eval
['^\{"token":"[\w-]+\.[\w-]+\.[\w-]{43}","expires_at":1\d{12},"user":"'
 . $KVS::Token::Admin . '"\}$',
 '^\{"error":"wrong username or password"\}$',
 '^\{"error":"wrong username or password"\}$',
 '^\{"error":"wrong username or password"\}$']



=== TEST 22: a failed login's 401 carries a challenge, as every 401 must
--- config
location / { kvs_api; }
--- request
POST /api/login
{"username":"admin","password":"wrong-password"}
--- error_code: 401
--- response_headers_like
WWW-Authenticate: Bearer.*
--- response_body
{"error":"wrong username or password"}



=== TEST 23: a login body that is empty or not JSON: 400
--- config
location / { kvs_api; }
--- request eval
["POST /api/login\n",
 "POST /api/login\n{\"username\":",
 "POST /api/login\n[\"admin\",\"admin-password\"]"]
--- more_headers eval
["Content-Length: 0", "", ""]
--- error_code eval
[400, 400, 400]
--- response_body eval
[map { "$_\n" }
 '{"error":"the body is empty; POST needs a JSON value"}',
 '{"error":"the body is not JSON: unexpected end of the JSON at byte 12"}',
 '{"error":"the body is not a JSON object"}']



=== TEST 24: a login body with an unknown field, or a field twice: 400
--- config
location / { kvs_api; }
--- request eval
["POST /api/login\n"
 . '{"username":"admin","password":"admin-password","x":1}',
 "POST /api/login\n"
 . '{"username":"admin","username":"bob","password":"admin-password"}']
--- error_code eval
[400, 400]
--- response_body eval
[map { "$_\n" }
 '{"error":"unknown field \"x\": a login takes \"username\" and \"password\""}',
 '{"error":"the field \"username\" appears twice"}']



=== TEST 25: a login without a password, or without a username: 400
--- config
location / { kvs_api; }
--- request eval
["POST /api/login\n" . '{"username":"admin"}',
 "POST /api/login\n" . '{"password":"admin-password"}']
--- error_code eval
[400, 400]
--- response_body eval
[map { "$_\n" }
 '{"error":"the field \"password\" is missing"}',
 '{"error":"the field \"username\" is missing"}']



=== TEST 26: a login's fields of the wrong types: 400
--- config
location / { kvs_api; }
--- request eval
["POST /api/login\n" . '{"username":42,"password":"admin-password"}',
 "POST /api/login\n" . '{"username":"admin","password":true}',
 "POST /api/login\n" . '{"username":["admin"],"password":"admin-password"}']
--- error_code eval
[400, 400, 400]
--- response_body eval
[map { "$_\n" }
 '{"error":"the field \"username\" must be a string"}',
 '{"error":"the field \"password\" must be a string"}',
 '{"error":"the field \"username\" must be a string"}']



=== TEST 27: a login's username that is no valid name: 400
--- config
location / { kvs_api; }
--- request eval
["POST /api/login\n" . '{"username":"-admin","password":"admin-password"}',
 "POST /api/login\n" . '{"username":"ad min","password":"admin-password"}',
 "POST /api/login\n" . '{"username":"","password":"admin-password"}',
 "POST /api/login\n" . '{"username":"' . ('a' x 65)
 . '","password":"admin-password"}']
--- error_code eval
[400, 400, 400, 400]
--- response_body eval
[map { "$_\n" }
 '{"error":"\"username\": the name must start with a letter or a digit"}',
 q{{"error":"\"username\": the name may hold only letters, digits, '.', '_' and '-'"}},
 '{"error":"\"username\": the name is empty"}',
 '{"error":"\"username\": the name is longer than 64 bytes"}']



=== TEST 28: a login's password too long, and a body over max_json_size
--- config
location / { kvs_api; }
--- request eval
["POST /api/login\n" . '{"username":"admin","password":"'
 . ('x' x 1025) . '"}',
 "POST /api/login\n" . '{"username":"admin","password":"'
 . ('x' x 2_000_000) . '"}']
--- error_code eval
[400, 413]
--- response_body eval
[map { "$_\n" }
 '{"error":"\"password\" is longer than 1024 bytes"}',
 '{"error":"the request body is larger than max_json_size (1048576 bytes)"}']



=== TEST 29: GET /api/login: 405, POST allowed
--- config
location / { kvs_api; }
--- request
GET /api/login
--- error_code: 405
--- response_headers
Allow: POST
--- response_body
{"error":"the method GET is not allowed on /api/login; use POST"}



=== TEST 30: a user who is no admin may not create users: 403
--- config
location / { kvs_api; }
--- request eval
["POST /api/users\n{\"username\":\"bob\",\"password\":\"bob-password\"}",
 "POST /api/users\n{\"username\":\"eve\",\"password\":\"eve-password\"}"]
--- more_headers eval
[main::good_bearer($KVS::Token::Admin),
 main::good_bearer(KVS::Token::user_uuid('bob'))]
--- error_code eval
[201, 403]
--- response_body_like eval
['"uuid":"' . KVS::Token::user_uuid('bob') . '"',
 '^\{"error":"only admins may list or create users"\}$']



=== TEST 31: a user who is no admin may not list users: 403
--- config
location / { kvs_api; }
--- request eval
["POST /api/users\n{\"username\":\"bob\",\"password\":\"bob-password\"}",
 "GET /api/users"]
--- more_headers eval
[main::good_bearer($KVS::Token::Admin),
 main::good_bearer(KVS::Token::user_uuid('bob'))]
--- error_code eval
[201, 403]
--- response_body_like eval
['"uuid":"' . KVS::Token::user_uuid('bob') . '"',
 '^\{"error":"only admins may [^"]+"\}$']



=== TEST 32: a password of 7 bytes: 400
--- config
location / { kvs_api; }
--- more_headers eval
main::good_bearer($KVS::Token::Admin)
--- request
POST /api/users
{"username":"carol","password":"1234567"}
--- error_code: 400
--- response_body
{"error":"\"password\" is shorter than 8 bytes"}
