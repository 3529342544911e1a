# Revision history and record metadata.  ?revisions lists the current
# version and up to revision_history earlier ones, newest first, numbered
# from 1; ?revision=N answers that version's bytes, compressed or not; a
# DELETE keeps the history readable.  ?meta shows the record's header.
# Bad or clashing parameters are 400s naming them.  Each block writes the
# versions, then reads them, in one store.  That the versions listed are
# the ones written (their uuids, ETags and timestamps, created_at after a
# delete) is told in t/004-conditional.t, which carries them from one
# answer to the next; revision_history turned off across a restart in
# t/019-config-changes.t.
use Test::Nginx::Socket 'no_plan';
use KVS::Blocks;
use JSON::PP ();

# every block starts from an empty store (t/lib/KVS/Blocks.pm)
add_block_preprocessor(\&KVS::Blocks::empty_store);

our $U = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';

# the n-th version of r/k, and the requests that write the first n
sub v { qq({"version":$_[0]}) }
sub writes { map { "PUT /kv/r/k\n" . v($_) } 1 .. $_[0] }

# ?revisions of n entries: revision 1 to n, each a uuid and a timestamp
sub revisions {
    my $e = join ',', map { qq(\\{"revision":$_,"uuid":"$U","timestamp":1\\d{12}\\}) } 1 .. $_[0];
    return qr/^\[$e\]\n\z/;
}

# a long document, stored compressed
sub doc {
    my ($n) = @_;
    return '{"doc":' . $n . ',"rows":['
         . join(',', map { qq({"row":$_,"text":"revision $n of a long document"}) } 1 .. 60)
         . ']}';
}

# a ?meta body as whether the value is stored smaller than it is
sub stored {
    my $m = eval { JSON::PP::decode_json($_[0]) } or return "not JSON: $_[0]";
    return $m->{stored_size} < $m->{size} ? 'compressed' : 'raw';
}

no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: five versions: the current one and the 3 kept before it, newest first
--- config
location / { kvs_api; }
--- request eval
[main::writes(5), "GET /kv/r/k", "GET /kv/r/k?revisions",
 map("GET /kv/r/k?revision=$_", 1 .. 5)]
--- error_code eval
[(200) x 11, 404]
--- raw_response_headers_like eval
[(qr/\r\nETag: "$::U"\r\n/) x 6, qr/^(?!.*\r\nETag:)/s,
 (qr/\r\nETag: "$::U"\r\n/) x 4, qr/^(?!.*\r\nETag:)/s]
--- response_body eval
[(qr/"uuid"/) x 5, main::v(5), main::revisions(4),
 main::v(5), main::v(4), main::v(3), main::v(2),
 qq({"error":"key \\"r/k\\" has 4 revisions; there is no revision 5"}\n)]
--- no_error_log
[error]



=== TEST 2: ?meta: the record's header, its fields in order
--- config
location / { kvs_api; }
--- request eval
[main::writes(5), "GET /kv/r/k?meta"]
--- error_code eval
[(200) x 6]
--- response_body eval
[(qr/"uuid"/) x 5,
 qr/^\{"uuid":"$::U","timestamp":1\d{12},"created_at":1\d{12},"owner":null,"group":null,"permissions":"f11","expires_at":null,"size":13,"stored_size":13,"revisions":4\}\n\z/]



=== TEST 3: bad values of the parameters are 400s that name them
--- config
location / { kvs_api; }
--- request eval
[main::writes(1),
 map("GET /kv/r/k?$_", qw(revision=0 revision=abc revision=-1 revision meta=1 revisions=yes))]
--- error_code eval
[200, (400) x 6]
--- response_body eval
my $rev = 'the parameter \"revision\" must be a whole number from 1, the newest version; got';
[qr/"uuid"/,
 qq({"error":"$rev \\"0\\""}\n), qq({"error":"$rev \\"abc\\""}\n),
 qq({"error":"$rev \\"-1\\""}\n), qq({"error":"$rev \\"\\""}\n),
 qq({"error":"the parameter \\"meta\\" takes no value"}\n),
 qq({"error":"the parameter \\"revisions\\" takes no value"}\n)]



=== TEST 4: meta, revisions and revision go alone, and once; ?revisions of a key never written is a 404
--- config
location / { kvs_api; }
--- request eval
[main::writes(1),
 map("GET /kv/r/k?$_->[0]",
     ['meta&revisions'], ['revisions&meta'], ['meta&revision=2'],
     ['revision=2&revisions'], ['meta&meta'], ['revisions&revisions'],
     ['revision=1&revision=2']),
 "GET /kv/never/written?revisions"]
--- error_code eval
[200, (400) x 7, 404]
--- response_body eval
[qr/"uuid"/,
 (map { qq({"error":"the parameter \\"$_\\" cannot be given with another of meta, revisions and revision, or twice"}\n) }
      qw(revisions meta revision revisions meta revisions revision)),
 qq({"error":"key \\"never/written\\" not found"}\n)]



=== TEST 5: after a DELETE the history stays readable
--- config
location / { kvs_api; }
--- request eval
[main::writes(5), "DELETE /kv/r/k", "GET /kv/r/k", "GET /kv/r/k?meta",
 "GET /kv/r/k?revisions", "GET /kv/r/k?revision=1", "GET /kv/r/k?revision=3"]
--- error_code eval
[(200) x 5, 204, 404, 404, 200, 200, 200]
--- response_body eval
[(qr/"uuid"/) x 5, "",
 qq({"error":"key \\"r/k\\" not found"}\n), qq({"error":"key \\"r/k\\" not found"}\n),
 main::revisions(3), main::v(5), main::v(3)]
--- no_error_log
[error]



=== TEST 6: written again after a DELETE: the new version, then the three kept
--- config
location / { kvs_api; }
--- request eval
[main::writes(5), "DELETE /kv/r/k", "PUT /kv/r/k\n" . main::v(6),
 "GET /kv/r/k?revisions", "GET /kv/r/k?meta",
 map("GET /kv/r/k?revision=$_", 1 .. 4)]
--- error_code eval
[(200) x 5, 204, (200) x 7]
--- response_body eval
[(qr/"uuid"/) x 5, "", qr/"uuid"/, main::revisions(4),
 qr/"size":13,"stored_size":13,"revisions":4\}\n\z/,
 main::v(6), main::v(5), main::v(4), main::v(3)]



=== TEST 7: compressed versions come back exact
--- config
location / { kvs_api; }
--- request eval
[map("PUT /kv/r/doc\n" . main::doc($_), 1 .. 3), "GET /kv/r/doc?meta",
 map("GET /kv/r/doc?revision=$_", 1 .. 3)]
--- response_body_filters eval
[[], [], [], [\&main::stored], [], [], []]
--- error_code eval
[(200) x 7]
--- response_body eval
[(qr/"uuid"/) x 3, "compressed", main::doc(3), main::doc(2), main::doc(1)]



=== TEST 8: revision_history: 0 keeps only the current version
--- config
location / { kvs_api; }
--- user_files
>>> node.yaml
data_dir: html/data
revision_history: 0
--- request eval
[map("PUT /kv/z/k\n{\"z\":$_}", 1 .. 3), "GET /kv/z/k?revisions",
 "GET /kv/z/k?meta", "GET /kv/z/k?revision=1", "GET /kv/z/k?revision=2"]
--- error_code eval
[(200) x 6, 404]
--- response_body eval
[(qr/"uuid"/) x 3, main::revisions(1), qr/,"revisions":1\}\n\z/, '{"z":3}',
 qq({"error":"key \\"z/k\\" has 1 revision; there is no revision 2"}\n)]
--- no_error_log
[error]



=== TEST 9: revision_history has a range
--- config
location / { kvs_api; }
--- user_files
>>> node.yaml
data_dir: html/data
revision_history: 101
--- must_die
--- suppress_stderr
--- error_log eval
qr/\[emerg\] .*node\.yaml:2: revision_history: 101 is out of range \(0\.\.100\)/
