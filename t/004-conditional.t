# Versions and conditional requests: a PUT answers its version's uuid,
# which is the ETag of every later answer about that version; an overwrite
# is a new version with a newer timestamp; a refused request keeps the
# version; a key's history (?revisions, ?revision=N, ?meta) holds the
# versions written, and created_at is the first write's until a DELETE.
# If-Match on PUT and DELETE is compare-and-set, If-None-Match: * creates
# only, If-None-Match on GET answers 304.  Every story here carries a
# version from one answer into the next check or request, which Test::Nginx's
# blocks cannot, so this suite runs its node itself (KVS::Node); what each
# answer says is in the block suites t/002-api.t and t/008-revisions.t.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use KVS::Node;

my $node = KVS::Node->new(name => 'cond', workers => 2);
$node->start;

sub put {
    my ($key, $body, %h) = @_;
    return $node->request(PUT => "/kv/$key", body => $body, headers => \%h);
}

# a version's uuid is its ETag
my ($st, $h, $b) = put('v/k', '{"v":1}');
my ($uuid, $ts) = $b =~ /^\{"uuid":"([0-9a-f-]{36})","timestamp":(\d+)\}\n$/;
ok($uuid, 'PUT answers {"uuid","timestamp"}');
is($h->{etag}, qq("$uuid"), 'with the uuid as its ETag');
($st, $h) = $node->request(GET => '/kv/v/k');
is($h->{etag}, qq("$uuid"), 'GET answers the same ETag');
($st, $h) = $node->request(HEAD => '/kv/v/k');
is($h->{etag}, qq("$uuid"), 'and so does HEAD');

($st, $h, $b) = put('v/k', '{"v":2}');
my ($uuid2, $ts2) = $b =~ /"uuid":"([^"]+)","timestamp":(\d+)/;
isnt($uuid2, $uuid, 'an overwrite is a new version');
cmp_ok($ts2, '>', $ts, 'with a newer timestamp, even within one ms');
is($h->{etag}, qq("$uuid2"), 'whose uuid is the ETag');

# refused requests keep the version (t/002-api.t has their sentences)
for my $bad (['PUT', '{"broken":', 400], ['PUT', '', 400],
             ['PUT', 'x' x 2_000_000, 413], ['POST', '{}', 405])
{
    ($st) = $node->request($bad->[0], '/kv/v/k', body => $bad->[1]);
    is($st, $bad->[2], "$bad->[0] of " . length($bad->[1])
                       . " bad bytes is refused with $bad->[2]");
}
($st, $h, $b) = $node->request(GET => '/kv/v/k');
is($b, '{"v":2}', 'and the stored value is unchanged');
is($h->{etag}, qq("$uuid2"), 'at the same version');

($st, $h, $b) = put('cas/k', '{"v":1}');
my $e1 = $h->{etag};
($st, $h, $b) = put('cas/k', '{"v":2}', 'If-Match' => $e1);
is($st, 200, 'PUT with If-Match of the current version writes');
my $e2 = $h->{etag};
isnt($e2, $e1, 'a new version');
($st, $h, $b) = put('cas/k', '{"v":3}', 'If-Match' => $e1);
is($st, 412, 'PUT with If-Match of an older version is refused');
is($b, qq({"error":"key \\"cas/k\\" is not at the version If-Match names"}\n), 'saying so');
($st, $h, $b) = $node->request(GET => '/kv/cas/k');
is($b, '{"v":2}', 'and changes nothing');

($st) = put('cas/k', '{"v":4}', 'If-None-Match' => '*');
is($st, 412, 'If-None-Match: * on an existing key is refused');
($st) = put('cas/new', '{"v":1}', 'If-None-Match' => '*');
is($st, 200, 'and creates a missing one');
($st) = put('cas/new', '{"v":2}', 'If-None-Match' => '*');
is($st, 412, 'once');

($st) = put('cas/none', '{}', 'If-Match' => '*');
is($st, 412, 'If-Match: * on a missing key is refused');
($st) = put('cas/k', '{"v":5}', 'If-Match' => '*');
is($st, 200, 'and writes over an existing one');
($st, $h) = $node->request(GET => '/kv/cas/k');
my $e3 = $h->{etag};

($st) = $node->request(DELETE => '/kv/cas/k', headers => { 'If-Match' => $e1 });
is($st, 412, 'DELETE with If-Match of an older version is refused');
($st) = $node->request(DELETE => '/kv/cas/k', headers => { 'If-Match' => $e3 });
is($st, 204, 'DELETE with If-Match of the current version deletes');
($st) = put('cas/k', '{"v":6}', 'If-Match' => $e3);
is($st, 412, 'If-Match on a deleted key is refused');

($st, $h, $b) = put('cas/k', '{}', 'If-Match' => 'nonsense');
is($st, 400, 'a malformed If-Match is a 400');
like($b, qr/If-Match must be \* or one ETag of this API/, 'naming the header');
($st, $h, $b) = put('cas/k', '{}', 'If-None-Match' => $e1);
is($st, 400, 'If-None-Match with an ETag on PUT is a 400');
like($b, qr/on PUT, If-None-Match takes only \* \(create only\)/, 'saying what it takes');
($st, $h, $b) = $node->request(DELETE => '/kv/cas/k', headers => { 'If-None-Match' => '*' });
is($st, 400, 'If-None-Match on a DELETE is a 400');
is($b, qq({"error":"a DELETE takes no If-None-Match (a PUT takes If-None-Match: * to create only); got \\"*\\""}\n),
   'saying so, where it said DELETE took only the * it was given');
($st, $h, $b) = put('cas/none', '{}', 'If-Match' => '*');
is($st, 412, 'If-Match: * on a key that does not exist: 412');
like($b, qr/key \\"cas\/none\\" does not exist \(If-Match: \*\)/,
     'saying the key does not exist, not that it is at another version');

($st, $h) = put('cas/get', '{"g":1}');
my $eg = $h->{etag};
($st, $h, $b) = $node->request(GET => '/kv/cas/get', headers => { 'If-None-Match' => $eg });
is($st, 304, 'GET with If-None-Match of the current version: 304');
is($b, '', 'without a body');
($st, $h, $b) = $node->request(GET => '/kv/cas/get', headers => { 'If-None-Match' => $e1 });
is($st, 200, 'with another version: 200');
($st, $h, $b) = $node->request(GET => '/kv/cas/get', headers => { 'If-Match' => $e1 });
is($st, 412, 'GET with If-Match of another version: 412');
like($b, qr/^\{"error":/, 'as JSON');

# revisions: the versions written, newest first
sub write_json {
    my ($key, $body) = @_;
    my ($st, $h, $b) = put($key, $body);
    die "PUT $key: $st $b" unless $st == 200;
    return decode_json($b);    # {uuid, timestamp}
}

sub get_json {
    my ($uri) = @_;
    my ($st, $h, $b) = $node->request(GET => $uri);
    return $st == 200 ? decode_json($b) : "status $st: $b";
}

my @v = map { qq({"version":$_}) } 1 .. 5;
my @w = map { write_json('r/k', $_) } @v;     # $w[i] wrote $v[i]

($st, $h, $b) = $node->request(GET => '/kv/r/k');
is($h->{etag}, qq("$w[4]{uuid}"), 'the current ETag is the fifth write');
my $list = get_json('/kv/r/k?revisions');
is_deeply($list,
          [ map { { revision => 5 - $_, uuid => $w[$_]{uuid},
                    timestamp => $w[$_]{timestamp} } } reverse 1 .. 4 ],
          '?revisions: the current version and the 3 written before it, newest first');
for my $n (1 .. 4) {
    ($st, $h, $b) = $node->request(GET => "/kv/r/k?revision=$n");
    is($h->{etag}, qq("$w[5 - $n]{uuid}"), "?revision=$n has the ETag of write " . (6 - $n));
}
is_deeply(get_json('/kv/r/k?meta'),
          { uuid => $w[4]{uuid}, timestamp => $w[4]{timestamp},
            created_at => $w[0]{timestamp}, owner => undef, group => undef,
            permissions => 'f11', expires_at => undef,
            size => length $v[4], stored_size => length $v[4],
            revisions => 4 },
          '?meta: the current version, created at the first write, 4 revisions');

($st) = $node->request(DELETE => '/kv/r/k');
is($st, 204, 'DELETE');
is_deeply([map { $_->{uuid} } @{ get_json('/kv/r/k?revisions') }],
          [map { $_->{uuid} } @w[4, 3, 2]],
          'after it ?revisions lists the versions before the delete, the last value first');
($st, $h, $b) = $node->request(GET => '/kv/r/k?revision=1');
is($h->{etag}, qq("$w[4]{uuid}"), '?revision=1 has the ETag of the last write');

my $w6 = write_json('r/k', '{"version":6}');
my $m = get_json('/kv/r/k?meta');
is($m->{created_at}, $w6->{timestamp}, 'created again: created_at is the new write');
isnt($m->{created_at}, $w[0]{timestamp}, 'not the first one');
is_deeply([map { $_->{uuid} } @{ get_json('/kv/r/k?revisions') }],
          [$w6->{uuid}, map { $_->{uuid} } @w[4, 3, 2]],
          '?revisions: the new version, then the three kept');

# compare-and-set under contention: of ten writers with the same If-Match,
# exactly one wins
($st, $h) = put('cas/race', '{"n":0}');
my $base = $h->{etag};
my $dir = $node->prefix;
my @kids;
for my $c (1 .. 10) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my ($s) = put('cas/race', qq({"n":$c}), 'If-Match' => $base);
        open my $f, '>', "$dir/race-$c" or die $!;
        print $f $s;
        exit 0;
    }
    push @kids, $pid;
}
waitpid $_, 0 for @kids;
my %count;
for my $c (1 .. 10) {
    open my $f, '<', "$dir/race-$c" or die $!;
    $count{<$f>}++;
}
is_deeply(\%count, { 200 => 1, 412 => 9 }, 'ten concurrent compare-and-sets: one wins, nine get 412');

# a GET's preconditions hold where the answer has a version (its ETag):
# ?meta, ?revisions and listings, which have none, ignore If-Match (nginx's
# filter refused them all with 412), and with no Last-Modified anywhere,
# If-Unmodified-Since is ignored as RFC 9110 says (it was always a 412)
($st, $h) = put('cond/g', '{"g":1}');
my $g = $h->{etag};
for my $uri ('/kv/cond/g', '/kv/cond/g?meta', '/kv/cond/g?revisions',
             '/kv/cond/')
{
    ($st) = $node->request(GET => $uri, headers => { 'If-Match' => $g });
    is($st, 200, "GET $uri with If-Match of the current version: 200");
}
($st) = $node->request(GET => '/kv/cond/g?meta',
                       headers => { 'If-Match' => '"other"' });
is($st, 200, '?meta, which has no ETag, ignores If-Match');
($st) = $node->request(GET => '/kv/cond/g', headers =>
    { 'If-Unmodified-Since' => 'Thu, 01 Jan 1970 00:00:00 GMT' });
is($st, 200, 'If-Unmodified-Since on a GET: ignored, no answer has a date');
($st, $h, $b) = $node->request(GET => '/kv/cond/g',
                               headers => { 'If-Match' => '"other"' });
is($st, 412, 'a GET with If-Match of another version: 412');
is($b, qq({"error":"the precondition failed: If-Match names no version the key is at"}\n),
   'with a sentence that says which');
($st, $h, $b) = $node->request(GET => '/kv/cond/g',
                               headers => { 'If-None-Match' => $g });
is($st, 304, 'If-None-Match of the current version: 304, as before');

$node->stop;

# nginx's gzip weakens the ETag of a GET it compresses, W/"<uuid>":
# If-Match compares strongly (RFC 9110), so a write with it is a 412, the
# precondition failed (it was a 400 that called it no ETag of this API);
# If-None-Match compares weakly, so a GET with it of the current version is
# a 304 as with the strong one
my $gz = KVS::Node->new(name => 'cond-gzip', workers => 1,
                        http => 'gzip on; gzip_min_length 1; '
                              . 'gzip_types application/json;');
$gz->start;
($st, $h, $b) = $gz->request(PUT => '/kv/z/k', body => '{"z":1}');
my $strong = $h->{etag};
my ($zu) = $b =~ /"uuid":"([0-9a-f-]{36})"/;
($st, $h) = $gz->request(GET => '/kv/z/k',
                         headers => { 'Accept-Encoding' => 'gzip' });
is($h->{'content-encoding'}, 'gzip', 'a GET that takes gzip is compressed');
my $weak = $h->{etag};
is($weak, qq(W/"$zu"), 'its ETag is the version, weak');
($st, $h, $b) = $gz->request(PUT => '/kv/z/k', body => '{"z":2}',
                             headers => { 'If-Match' => $weak });
is($st, 412, 'PUT with If-Match of the weak ETag: 412');
is($b, qq|{"error":"the precondition failed: If-Match compares ETags |
       . qq|strongly, and W/\\"$zu\\" is weak, so it matches no version |
       . qq|of \\"z/k\\" (nginx's gzip weakens the ETag of a GET it |
       . qq|compresses); send it without \\"W/\\""}\n|,
   'saying why, and what to send');
($st) = $gz->request(DELETE => '/kv/z/k', headers => { 'If-Match' => $weak });
is($st, 412, 'DELETE with If-Match of the weak ETag: 412');
($st) = $gz->request(GET => '/kv/z/k', headers => { 'If-Match' => $weak });
is($st, 412, 'GET with If-Match of the weak ETag: 412');
($st, $h, $b) = $gz->request(PUT => '/kv/z/k', body => '{"z":2}',
                             headers => { 'If-None-Match' => $weak });
is($st, 400, 'PUT with If-None-Match of the weak ETag: a 400, as the strong');
($st, $h, $b) = $gz->request(GET => '/kv/z/k');
is($b, '{"z":1}', 'none of them wrote');
for my $ae ('gzip', 'identity') {
    ($st, $h, $b) = $gz->request(GET => '/kv/z/k', headers =>
        { 'If-None-Match' => $weak, 'Accept-Encoding' => $ae });
    is($st, 304, "GET ($ae) with If-None-Match of the weak ETag: 304");
}
($st) = $gz->request(PUT => '/kv/z/k', body => '{"z":3}',
                     headers => { 'If-Match' => $strong });
is($st, 200, 'PUT with If-Match of the ETag without W/ writes');
$gz->stop;

done_testing;
