# Every error body is JSON, whatever the client sent: bytes that are not
# UTF-8, control characters and quotes in what a sentence quotes back, and
# sentences too long for one answer, which are cut between characters.
use Test::Nginx::Socket 'no_plan';
use KVS::Blocks;
use JSON::PP;

# The "error" of a JSON body, as UTF-8 bytes, or why the body is not JSON.
sub error_of {
    my ($body) = @_;
    my $doc = eval { JSON::PP->new->utf8->decode($body) };
    return "not JSON: $@" unless defined $doc;
    return "no \"error\" in $body" unless ref $doc eq 'HASH'
                                          && defined $doc->{error};
    return JSON::PP->new->utf8->allow_nonref->encode($doc->{error})
           =~ s/^"|"$//gr;
}

# every block starts from an empty store (t/lib/KVS/Blocks.pm)
add_block_preprocessor(\&KVS::Blocks::empty_store);

no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: a path with a byte that is not UTF-8 is quoted back as U+FFFD
--- config
location / { kvs_api; }
--- request
GET /foo%FF
--- error_code: 404
--- response_headers
Content-Type: application/json
--- response_body_filters eval
\&main::error_of
--- response_body eval
"no KVS endpoint at \\\"/foo\xef\xbf\xbd\\\""



=== TEST 2: control characters, quotes and backslashes are escaped
--- config
location / { kvs_api; }
--- request
GET /x%01%1F%22%5C%7F
--- error_code: 404
--- response_body_filters eval
\&main::error_of
--- response_body eval
"no KVS endpoint at \\\"/x\\u0001\\u001f\\\"\\\\\x7f\\\""



=== TEST 3: a sentence too long is cut between characters, and says so
--- config
location / { kvs_api; }
--- request eval
"GET /x" . ("%C3%A9" x 1100)
--- error_code: 404
--- response_body_filters eval
\&main::error_of
--- response_body_like eval
qr/^no KVS endpoint at \\"\/x(?:\xc3\xa9){1000,1020}\.\.\.$/



=== TEST 4: the same, one byte further, where the cut fell mid-character
--- config
location / { kvs_api; }
--- request eval
"GET /xy" . ("%C3%A9" x 1100)
--- error_code: 404
--- response_body_filters eval
\&main::error_of
--- response_body_like eval
qr/^no KVS endpoint at \\"\/xy(?:\xc3\xa9){1000,1020}\.\.\.$/



=== TEST 5: a long run of bad bytes is cut between replacement characters
--- config
location / { kvs_api; }
--- request eval
"GET /x" . ("%FF" x 1500)
--- error_code: 404
--- response_body_filters eval
\&main::error_of
--- response_body_like eval
qr/^no KVS endpoint at \\"\/x(?:\xef\xbf\xbd){600,700}\.\.\.$/
