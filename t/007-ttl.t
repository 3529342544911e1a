# The rules of ?ttl: PUT ?ttl=N gives the version an expiry N s after its
# write (?meta "expires_at") and answers X-KVS-Expires-At; default_ttl
# applies to PUTs without ?ttl, ?ttl=0 opts out, an overwrite without ?ttl
# takes the expiry away; a query is percent-decoded, names and values, as
# a key is; a bad ?ttl, or one on a GET or a DELETE, is a 400 that names it
# and changes nothing.  Each block writes and reads in one store.  The
# clock's side -- X-KVS-Expires-At against the write's own timestamp, the
# key gone at the expiry moment for every request, the sweep's log lines --
# is t/021-ttl-expiry.t's story.
use Test::Nginx::Socket 'no_plan';
use KVS::Blocks;
use JSON::PP ();

# every block starts from an empty store (t/lib/KVS/Blocks.pm)
add_block_preprocessor(\&KVS::Blocks::empty_store);

# a ?meta body as how long after its write the version expires
sub expiry {
    my $m = eval { JSON::PP::decode_json($_[0]) } or return "not JSON: $_[0]";
    return 'no expiry' unless defined $m->{expires_at};
    return 'expires ' . ($m->{expires_at} - $m->{timestamp}) . ' ms after its write';
}

our $Expires = qr/\r\nX-KVS-Expires-At: 1\d{12}\r\n/;
our $Range = 'the parameter \"ttl\" must be a whole number of seconds '
           . 'from 0 (no expiry) to 3153600000; got';

no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: default_ttl applies to a PUT without ?ttl; ?ttl=60 overrides it, ?ttl=0 opts out
--- config
location / { kvs_api; }
--- user_files
>>> node.yaml
data_dir: html/data
default_ttl: 600
--- request eval
["PUT /kv/d/1\n{\"k\":1}", "PUT /kv/d/long?ttl=60\n60", "PUT /kv/d/zero?ttl=0\n0",
 "GET /kv/d/1?meta", "GET /kv/d/long?meta", "GET /kv/d/zero?meta"]
--- response_body_filters eval
[[], [], [], [\&main::expiry], [\&main::expiry], [\&main::expiry]]
--- error_code eval
[(200) x 6]
--- raw_response_headers_like eval
[$::Expires, $::Expires, qr/^(?!.*X-KVS-Expires-At)/s, ("") x 3]
--- response_body eval
[(qr/"uuid"/) x 3, 'expires 600000 ms after its write',
 'expires 60000 ms after its write', 'no expiry']
--- no_error_log
[error]



=== TEST 2: without ?ttl or default_ttl a version has no expiry; an overwrite without ?ttl takes the expiry away
--- config
location / { kvs_api; }
--- request eval
["PUT /kv/t/plain\n1", "GET /kv/t/plain?meta",
 "PUT /kv/t/kept?ttl=1\n\"short\"", "PUT /kv/t/kept\n\"kept\"", "GET /kv/t/kept?meta"]
--- error_code eval
[(200) x 5]
--- raw_response_headers_like eval
[qr/^(?!.*X-KVS-Expires-At)/s, "", $::Expires, qr/^(?!.*X-KVS-Expires-At)/s, ""]
--- response_body eval
[qr/"uuid"/, qr/"expires_at":null,/, qr/"uuid"/, qr/"uuid"/, qr/"expires_at":null,/]



=== TEST 3: the query is percent-decoded, names and values, as a key is
--- config
location / { kvs_api; }
--- request eval
["PUT /kv/enc/value?ttl=%31%30\n1", "PUT /kv/enc/name?%74tl=20\n1",
 "GET /kv/enc/value?meta", "GET /kv/enc/name?meta",
 "PUT /kv/enc/bad?ttl=%3\n1", "GET /kv/enc/?after=enc%2Fname", "GET /kv/enc/bad"]
--- response_body_filters eval
[[], [], [\&main::expiry], [\&main::expiry], [], [], []]
--- error_code eval
[200, 200, 200, 200, 400, 200, 404]
--- raw_response_headers_like eval
[$::Expires, $::Expires, ("") x 5]
--- response_body eval
[qr/"uuid"/, qr/"uuid"/,
 'expires 10000 ms after its write', 'expires 20000 ms after its write',
 qq({"error":"the parameter \\"ttl=%3\\" has a \\"%\\" that two hexadecimal digits do not follow; send a \\"%\\" as %25"}\n),
 qq({"keys":["enc/value"],"next":null}\n),
 qq({"error":"key \\"enc/bad\\" not found"}\n)]



=== TEST 4: a bad ?ttl is a 400 naming it, and the key keeps its value and its expiry
--- config
location / { kvs_api; }
--- request eval
["PUT /kv/t/k?ttl=600\n{\"session\":\"abc123\"}",
 map("PUT /kv/t/k?$_\n\"bad\"", qw(ttl=-1 ttl=abc ttl=1.5 ttl= ttl=3153600001 ttl=5&ttl=5)),
 "GET /kv/t/k", "GET /kv/t/k?meta", "GET /kv/t/"]
--- response_body_filters eval
[([]) x 8, [\&main::expiry], []]
--- error_code eval
[200, (400) x 6, 200, 200, 200]
--- response_body eval
[qr/"uuid"/,
 qq({"error":"$::Range \\"-1\\""}\n), qq({"error":"$::Range \\"abc\\""}\n),
 qq({"error":"$::Range \\"1.5\\""}\n), qq({"error":"$::Range \\"\\""}\n),
 qq({"error":"$::Range \\"3153600001\\""}\n),
 qq({"error":"the parameter \\"ttl\\" is given twice"}\n),
 '{"session":"abc123"}', 'expires 600000 ms after its write',
 qq({"keys":["t/k"],"next":null}\n)]
--- no_error_log
[error]



=== TEST 5: ?ttl on a GET or a DELETE is a 400 that deletes nothing
--- config
location / { kvs_api; }
--- request eval
["PUT /kv/t/k?ttl=60\n1", "GET /kv/t/k?ttl=5", "DELETE /kv/t/k?ttl=5", "GET /kv/t/k"]
--- error_code eval
[200, 400, 400, 200]
--- response_body eval
[qr/"uuid"/,
 qq({"error":"the parameter \\"ttl\\" is not one of a GET's: meta, revisions, revision"}\n),
 qq({"error":"the parameter \\"ttl\\" is not one of a DELETE's: none"}\n),
 "1"]



=== TEST 6: ?ttl with ?meta is a 400 that changes nothing (it was taken and ignored)
--- config
location / { kvs_api; }
--- request eval
["PUT /kv/t/k\n1", "PUT /kv/t/k?meta&ttl=5\n" . '{"permissions":"fff"}',
 "GET /kv/t/k?meta"]
--- error_code eval
[200, 400, 200]
--- response_body eval
[qr/"uuid"/,
 qq({"error":"the parameters \\"meta\\" and \\"ttl\\" do not go together: a change of meta keeps the key's expiry, which a PUT of its value sets"}\n),
 qr/"permissions":"f11","expires_at":null,/]
--- no_error_log
[error]



=== TEST 7: a change of meta keeps the key's expiry and answers it in X-KVS-Expires-At, as a PUT of the value does; a key without one gets none
--- config
location / { kvs_api; }
--- request eval
["PUT /kv/t/m?ttl=600\n1", "PUT /kv/t/m?meta\n" . '{"permissions":"fff"}',
 "PUT /kv/t/n\n1", "PUT /kv/t/n?meta\n" . '{"permissions":"fff"}',
 "GET /kv/t/m"]
--- error_code eval
[(200) x 5]
--- raw_response_headers_like eval
[$::Expires, $::Expires, qr/^(?!.*X-KVS-Expires-At)/s,
 qr/^(?!.*X-KVS-Expires-At)/s, $::Expires]
--- response_body eval
[(qr/"uuid"/) x 4, "1"]
--- no_error_log
[error]
