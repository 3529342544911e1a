# Listing keys: GET /kv/{prefix}/ (and GET /kv/) answers
# {"keys":[...],"next":...} with the live keys under the prefix as full
# paths, a page of `limit` at a time (default 100) that `after=<next>`
# continues, every key exactly once; recursive=false lists direct children
# only, a deeper level once as "<prefix><segment>/".  Keys needing JSON
# escapes come back as valid JSON.  Bad or misplaced query parameters are
# 400s naming them; PUT and DELETE on a URI ending in "/" are 405s.  Each
# block writes its keys, then lists them, in one store; keys longer than
# 448 bytes, listed in digest order, are t/020-listing-long.t's story.
use Test::Nginx::Socket 'no_plan';
use KVS::Blocks;

# every block starts from an empty store (t/lib/KVS/Blocks.pm)
add_block_preprocessor(\&KVS::Blocks::empty_store);

# the requests that write these keys, each a small value
sub puts { map { "PUT /kv/$_\n{\"x\":1}" } @_ }

# a key as the URI spells it
sub esc { $_[0] =~ s/([^A-Za-z0-9\/._~-])/sprintf '%%%02X', ord $1/ger }

# the page a listing answers: these entries, then "next" (undef: null)
sub page {
    my $next = pop;
    my $q = sub { '"' . ($_[0] =~ s/(["\\])/\\$1/gr) . '"' };
    return '{"keys":[' . join(',', map { $q->($_) } @_) . '],"next":'
         . (defined $next ? $q->($next) : 'null') . "}\n";
}

our @P = qw(p/a p/a/b p/b/c/d p/c pa/x);
our @N = map { sprintf 'n/%03d', $_ } 0 .. 149;
our @E = ('e/a"b', 'e/a\\b', 'e/q"/x', "e/caf\xc3\xa9");

no_shuffle();
no_root_location();
run_tests();

__DATA__

=== TEST 1: the keys under a prefix as full paths, in order; recursive=false lists one level
--- config
location / { kvs_api; }
--- request eval
[main::puts(@::P),
 "GET /kv/p/", "GET /kv/p/?recursive=true", "GET /kv/",
 "GET /kv/p/?recursive=false", "GET /kv/p/b/?recursive=false",
 "GET /kv/?recursive=false", "GET /kv/q/"]
--- error_code eval
[(200) x 12]
--- response_body eval
[(qr/"uuid"/) x 5,
 main::page(qw(p/a p/a/b p/b/c/d p/c), undef),
 main::page(qw(p/a p/a/b p/b/c/d p/c), undef),
 main::page(qw(p/a p/a/b p/b/c/d p/c pa/x), undef),
 main::page(qw(p/a p/a/ p/b/ p/c), undef),
 main::page('p/b/c/', undef),
 main::page(qw(p/ pa/), undef),
 main::page(undef)]
--- no_error_log
[error]



=== TEST 2: a page at a time, "next" going back as after=, the last page's "next" null
--- config
location / { kvs_api; }
--- request eval
[main::puts(@::P),
 "GET /kv/p/?recursive=false&limit=1",
 "GET /kv/p/?recursive=false&limit=1&after=p/a",
 "GET /kv/p/?recursive=false&limit=1&after=p/a/",
 "GET /kv/p/?recursive=false&limit=1&after=p/b/",
 "GET /kv/p/?limit=3",
 "GET /kv/p/?limit=3&after=p/b/c/d"]
--- error_code eval
[(200) x 11]
--- response_body eval
[(qr/"uuid"/) x 5,
 main::page('p/a', 'p/a'), main::page('p/a/', 'p/a/'),
 main::page('p/b/', 'p/b/'), main::page('p/c', undef),
 main::page(qw(p/a p/a/b p/b/c/d), 'p/b/c/d'), main::page('p/c', undef)]



=== TEST 3: HEAD on a listing: the GET's headers, no body
--- config
location / { kvs_api; }
--- request eval
[main::puts(@::P), "GET /kv/p/", "HEAD /kv/p/"]
--- error_code eval
[(200) x 7]
--- response_headers eval
[("") x 5,
 "Content-Length: " . length(main::page(qw(p/a p/a/b p/b/c/d p/c), undef)),
 "Content-Length: " . length(main::page(qw(p/a p/a/b p/b/c/d p/c), undef))]
--- response_body eval
[(qr/"uuid"/) x 5, main::page(qw(p/a p/a/b p/b/c/d p/c), undef), ""]



=== TEST 4: deleted keys are not listed, nor a level they left empty; a full page followed only by deleted keys has "next" null
--- config
location / { kvs_api; }
--- request eval
[main::puts(@::P), "DELETE /kv/p/c", "DELETE /kv/p/b/c/d",
 "GET /kv/p/?recursive=false", "GET /kv/p/?limit=2"]
--- error_code eval
[(200) x 5, 204, 204, 200, 200]
--- response_body eval
[(qr/"uuid"/) x 5, "", "",
 main::page(qw(p/a p/a/), undef), main::page(qw(p/a p/a/b), undef)]



=== TEST 5: 150 keys: pages of 100 by default, of any limit up to 1000, every key once
--- config
location / { kvs_api; }
--- request eval
[main::puts(@::N),
 "GET /kv/n/", "GET /kv/n/?after=n/099", "GET /kv/n/?limit=1000",
 "GET /kv/n/?limit=50", "GET /kv/n/?limit=50&after=n/049",
 "GET /kv/n/?limit=50&after=n/099"]
--- error_code eval
[(200) x 156]
--- response_body eval
[(qr/"uuid"/) x 150,
 main::page(@::N[0 .. 99], 'n/099'), main::page(@::N[100 .. 149], undef),
 main::page(@::N, undef),
 main::page(@::N[0 .. 49], 'n/049'), main::page(@::N[50 .. 99], 'n/099'),
 main::page(@::N[100 .. 149], undef)]



=== TEST 6: after a DELETE in the middle, pages of 40 still list every other key once
--- config
location / { kvs_api; }
--- request eval
[main::puts(@::N), "DELETE /kv/n/050",
 "GET /kv/n/?limit=40", "GET /kv/n/?limit=40&after=n/039",
 "GET /kv/n/?limit=40&after=n/080", "GET /kv/n/?limit=40&after=n/120"]
--- error_code eval
[(200) x 150, 204, (200) x 4]
--- response_body eval
[(qr/"uuid"/) x 150, "",
 main::page(@::N[0 .. 39], 'n/039'),
 main::page(@::N[40 .. 49], @::N[51 .. 80], 'n/080'),
 main::page(@::N[81 .. 120], 'n/120'),
 main::page(@::N[121 .. 149], undef)]



=== TEST 7: keys that need escaping in JSON come back as written, levels and "next" too
--- config
location / { kvs_api; }
--- request eval
[main::puts(map { main::esc($_) } @::E),
 "GET /kv/e/", "GET /kv/e/?recursive=false",
 "GET /kv/e/?limit=1",
 "GET /kv/e/?limit=1&after=" . main::esc($::E[0]),
 "GET /kv/e/?limit=1&after=" . main::esc($::E[1]),
 "GET /kv/e/?limit=1&after=" . main::esc($::E[3])]
--- error_code eval
[(200) x 10]
--- response_body eval
[(qr/"uuid"/) x 4,
 main::page(@::E[0, 1, 3, 2], undef),
 main::page(@::E[0, 1, 3], 'e/q"/', undef),
 main::page($::E[0], $::E[0]), main::page($::E[1], $::E[1]),
 main::page($::E[3], $::E[3]), main::page($::E[2], undef)]



=== TEST 8: bad parameters are 400s that name them
--- config
location / { kvs_api; }
--- request eval
["GET /kv/n/?limit=0", "GET /kv/n/?limit=1001", "GET /kv/n/?limit=5000",
 "GET /kv/n/?limit=abc", "GET /kv/n/?limit=-1", "GET /kv/n/?recursive=maybe",
 "GET /kv/n/?after=p/a", "GET /kv/n/?foo", "GET /kv/n/?meta",
 "GET /kv/p/a?foo", "GET /kv/p/a?ttl=5", "GET /kv/p/a?limit=5"]
--- error_code eval
[(400) x 12]
--- response_body eval
my $lim = 'the parameter \"limit\" must be a whole number from 1 to 1000; got';
my $get = q(is not one of a GET's: meta, revisions, revision"}) . "\n";
[qq({"error":"$lim \\"0\\""}\n), qq({"error":"$lim \\"1001\\""}\n),
 qq({"error":"$lim \\"5000\\""}\n), qq({"error":"$lim \\"abc\\""}\n),
 qq({"error":"$lim \\"-1\\""}\n),
 qq({"error":"the parameter \\"recursive\\" must be true or false; got \\"maybe\\""}\n),
 qq({"error":"the parameter \\"after\\" must be an entry under \\"n/\\", as \\"next\\" gives it; got \\"p/a\\""}\n),
 qq({"error":"the parameter \\"foo\\" is not one of a listing's: limit, after, recursive"}\n),
 qq({"error":"the parameter \\"meta\\" is not one of a listing's: limit, after, recursive"}\n),
 qq({"error":"the parameter \\"foo\\" $get),
 qq({"error":"the parameter \\"ttl\\" $get),
 qq({"error":"the parameter \\"limit\\" $get)]
--- no_error_log
[error]



=== TEST 9: a listing's parameter given twice is a 400, as a key's is
--- config
location / { kvs_api; }
--- request eval
["GET /kv/n/?limit=1&limit=2", "GET /kv/n/?recursive=false&recursive=true",
 "GET /kv/n/?after=n/001&after=n/002"]
--- error_code eval
[400, 400, 400]
--- response_body eval
[map { qq({"error":"the parameter \\"$_\\" is given twice"}\n) } qw(limit recursive after)]



=== TEST 10: PUT and DELETE on a URI ending in "/" are 405s that change nothing
--- config
location / { kvs_api; }
--- request eval
[main::puts(qw(p/a p/a/b)),
 "PUT /kv/p/\n{\"x\":2}", "DELETE /kv/p/", "PUT /kv/\n1", "PUT /kv/p/a/\n{\"x\":2}",
 "GET /kv/p/"]
--- error_code eval
[200, 200, 405, 405, 405, 405, 200]
--- response_headers eval
["", "", ("Allow: GET, HEAD") x 4, ""]
--- response_body eval
[(qr/"uuid"/) x 2, (qr/lists the keys under a prefix/) x 4,
 main::page(qw(p/a p/a/b), undef)]
--- no_error_log
[error]
