# Listing keys: GET /kv/{prefix}/ (and GET /kv/) answers
# {"keys":[...],"next":...} with the live keys under the prefix as full
# paths, a page of `limit` at a time (default 100) that `after=<next>`
# continues, every key exactly once; recursive=false lists direct children
# only, a deeper level once as "<prefix><segment>/".  Keys needing JSON
# escapes come back as valid JSON.  Bad or misplaced query parameters are
# 400s naming them; PUT and DELETE on a URI ending in "/" are 405s.
# Prefixes and paths longer than 448 bytes (stored by digest) list in
# digest order but still list every key once.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use KVS::Node;

my $node = KVS::Node->new(name => 'list', workers => 2);
$node->start;

sub put {
    my ($key) = @_;
    my ($st, $h, $b) = $node->request(PUT => "/kv/$key", body => '{"x":1}');
    die "PUT $key: $st $b" unless $st == 200;
}

sub esc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\/._~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

# keys are compared as the bytes they were written with
my $json = JSON::PP->new;

# one page as {keys, next}, or a string saying what came instead
sub page {
    my ($uri) = @_;
    my ($st, $h, $b) = $node->request(GET => $uri);
    return "status $st: $b" unless $st == 200;
    my $page = eval { $json->decode($b) } or return "not JSON: $b";
    return $page;
}

# follows "next" from the first page; every entry seen, in order, and how
# many pages it took (at most $max: a listing that never ends stops there)
sub all_pages {
    my ($prefix, $query, $max) = @_;
    my (@seen, $after);
    for my $n (1 .. $max // 50) {
        my $q = join '&', grep { length } $query,
                          defined $after ? 'after=' . esc($after) : '';
        my $page = page("/kv/$prefix" . ($q ? "?$q" : ''));
        return ("$page", $n) unless ref $page;
        push @seen, @{ $page->{keys} };
        $after = $page->{next};
        return (\@seen, $n) unless defined $after;
    }
    return (\@seen, $max // 50);
}

put($_) for qw(p/a p/a/b p/b/c/d p/c pa/x);

is_deeply(page('/kv/p/'), { keys => [qw(p/a p/a/b p/b/c/d p/c)], next => undef },
          'the keys under p/ as full paths, in order; not pa/x');
is_deeply(page('/kv/p/?recursive=true'), page('/kv/p/'), 'recursive=true is the default');
is_deeply(page('/kv/'), { keys => [qw(p/a p/a/b p/b/c/d p/c pa/x)], next => undef },
          'GET /kv/ lists every key');
is_deeply(page('/kv/p/?recursive=false'),
          { keys => [qw(p/a p/a/ p/b/ p/c)], next => undef },
          'recursive=false: direct children, each deeper level once with its "/"');
is_deeply(page('/kv/p/b/?recursive=false'), { keys => ['p/b/c/'], next => undef },
          'recursive=false one level down');
is_deeply(page('/kv/?recursive=false'), { keys => [qw(p/ pa/)], next => undef },
          'GET /kv/?recursive=false: the top level');
is_deeply(page('/kv/q/'), { keys => [], next => undef },
          'a prefix with no keys: an empty list');
my ($seen, $pages) = all_pages('p/', 'recursive=false&limit=1');
is_deeply($seen, [qw(p/a p/a/ p/b/ p/c)], 'recursive=false, a page of one at a time');
is($pages, 4, 'in four pages, the last with "next":null');

($seen, $pages) = all_pages('p/', 'limit=3');
is_deeply($seen, [qw(p/a p/a/b p/b/c/d p/c)], 'limit=3: every key once');
is($pages, 2, 'over two pages');

# HEAD: the GET's headers, no body
my ($st, $h, $b) = $node->request(GET => '/kv/p/');
my $len = length $b;
($st, $h, $b) = $node->request(HEAD => '/kv/p/');
is($st, 200, 'HEAD on a listing answers 200');
is($h->{'content-length'}, $len, 'with the GET\'s length');
is($b, '', 'and no body');

# deleted keys are not listed, nor a level left empty
$node->request(DELETE => "/kv/$_") for qw(p/c p/b/c/d);
is_deeply(page('/kv/p/?recursive=false'), { keys => [qw(p/a p/a/)], next => undef },
          'deleted keys and the level they emptied are gone');
is_deeply(page('/kv/p/?limit=2'), { keys => [qw(p/a p/a/b)], next => undef },
          'a full page followed only by deleted keys: "next" is null');

# 150 keys: the default limit is 100
my @n = map { sprintf 'n/%03d', $_ } 0 .. 149;
put($_) for @n;
my $first = page('/kv/n/');
my @keys = ref $first ? @{ $first->{keys} } : ();
is(scalar @keys, 100, 'the first page holds 100 keys by default');
is_deeply(\@keys, [@n[0 .. 99]], 'the first 100 in order');
is(ref $first && $first->{next}, 'n/099', '"next" is its last key');
my $second = page('/kv/n/?after=n/099');
is_deeply($second, { keys => [@n[100 .. 149]], next => undef },
          'after=n/099: the other 50, and "next":null');
is_deeply(page('/kv/n/?limit=1000'), { keys => \@n, next => undef },
          'limit=1000: all 150 on one page');
($seen, $pages) = all_pages('n/', 'limit=50');
is_deeply($seen, \@n, 'limit=50: every key exactly once');
is($pages, 3, 'in three full pages, the third with "next":null');
$node->request(DELETE => '/kv/n/050');
($seen, $pages) = all_pages('n/', 'limit=40');
is_deeply($seen, [grep { $_ ne 'n/050' } @n],
          'limit=40 after a DELETE of n/050: the other 149 keys, each once');

# keys that need escaping in JSON
put(esc($_)) for ('e/a"b', 'e/a\\b', 'e/q"/x', 'e/caf' . "\xc3\xa9");
($st, $h, $b) = $node->request(GET => '/kv/e/');
my $page = eval { $json->decode($b) };
ok($page, 'a listing of keys with " and \\ parses as JSON') or diag $b;
is_deeply($page->{keys}, ['e/a"b', 'e/a\\b', "e/caf\xc3\xa9", 'e/q"/x'],
          'the keys as they were written');
is_deeply(page('/kv/e/?recursive=false'),
          { keys => ['e/a"b', 'e/a\\b', "e/caf\xc3\xa9", 'e/q"/'], next => undef },
          'recursive=false escapes the level too');
($seen) = all_pages('e/', 'limit=1');
is_deeply($seen, ['e/a"b', 'e/a\\b', "e/caf\xc3\xa9", 'e/q"/x'],
          'paging with an escaped "next" passed back as after');

# bad parameters: 400 naming them, and nothing is listed
my $lim = 'the parameter \"limit\" must be a whole number from 1 to 1000; got';
my @bad = (
    ['/kv/n/?limit=0',    qq({"error":"$lim \\"0\\""}\n)],
    ['/kv/n/?limit=1001', qq({"error":"$lim \\"1001\\""}\n)],
    ['/kv/n/?limit=5000', qq({"error":"$lim \\"5000\\""}\n)],
    ['/kv/n/?limit=abc',  qq({"error":"$lim \\"abc\\""}\n)],
    ['/kv/n/?limit=-1',   qq({"error":"$lim \\"-1\\""}\n)],
    ['/kv/n/?recursive=maybe',
     qq({"error":"the parameter \\"recursive\\" must be true or false; got \\"maybe\\""}\n)],
    ['/kv/n/?after=p/a',
     qq({"error":"the parameter \\"after\\" must be an entry under \\"n/\\", as \\"next\\" gives it; got \\"p/a\\""}\n)],
    ['/kv/n/?foo',
     qq({"error":"the parameter \\"foo\\" is not one of a listing's: limit, after, recursive"}\n)],
    ['/kv/n/?meta',
     qq({"error":"the parameter \\"meta\\" is not one of a listing's: limit, after, recursive"}\n)],
    ['/kv/p/a?foo',
     qq({"error":"the parameter \\"foo\\" is not one of a GET's: meta, revisions, revision"}\n)],
    ['/kv/p/a?ttl=5',
     qq({"error":"the parameter \\"ttl\\" is not one of a GET's: meta, revisions, revision"}\n)],
    ['/kv/p/a?limit=5',
     qq({"error":"the parameter \\"limit\\" is not one of a GET's: meta, revisions, revision"}\n)],
);
for my $case (@bad) {
    ($st, $h, $b) = $node->request(GET => $case->[0]);
    is($st, 400, "GET $case->[0] is a 400");
    is($b, $case->[1], 'naming the parameter');
}

# a parameter given twice is a 400 on a key (?meta&meta, ?ttl=1&ttl=1);
# a listing's are no different
for my $q ('limit=1&limit=2', 'recursive=false&recursive=true',
           'after=n/001&after=n/002')
{
    my ($name) = $q =~ /^(\w+)/;
    ($st, $h, $b) = $node->request(GET => "/kv/n/?$q");
    is($st, 400, "GET /kv/n/?$q is a 400");
    like(substr($b, 0, 100), qr/^\{"error":"the parameter \\"$name\\" [^"]*twice/,
         "saying \"$name\" is given twice");
}

# PUT and DELETE on a URI ending in "/": 405, and nothing changes
for my $req (['PUT', '/kv/p/', '{"x":2}'], ['DELETE', '/kv/p/'], ['PUT', '/kv/', '1'],
             ['PUT', '/kv/p/a/', '{"x":2}'])
{
    ($st, $h, $b) = $node->request($req->[0], $req->[1], body => $req->[2]);
    is($st, 405, "$req->[0] $req->[1] is a 405");
    is($h->{allow}, 'GET, HEAD', 'with Allow: GET, HEAD');
}
is_deeply(page('/kv/p/'), { keys => [qw(p/a p/a/b)], next => undef },
          'the keys under p/ are as they were');

# paths over 448 bytes are keyed by a digest: listed in digest order, but
# each key still exactly once, however the prefix or the level is long
my $L = 'L' x 450;
my @long = map { "long/$L/$_" } qw(w x/a x/b x/c y z/q);
put($_) for @long, 'long/zz';

# compares as sets, and on failure says what came, the long part shortened
sub listed_once {
    my ($got, $want, $name) = @_;
    my @got = ref $got ? sort @$got : ();
    my %n;
    $n{ s/L{450}/L{450}/r }++ for @got;
    ok(ref $got && "@got" eq join(' ', sort @$want), $name)
        or diag ref $got
              ? scalar(@got) . ' entries: '
                . join(', ', map { "$_ ($n{$_}x)" } sort keys %n)
              : $got;
}

($seen) = all_pages("long/$L/", '', 10);
listed_once($seen, \@long, 'a prefix of 456 bytes lists the six keys under it');
($seen) = all_pages("long/$L/", 'recursive=false', 10);
listed_once($seen, [map { "long/$L/$_" } qw(w x/ y z/)],
            'recursive=false under it: w, x/, y, z/, once each');
($seen) = all_pages('long/', 'recursive=false', 10);
listed_once($seen, ["long/$L/", 'long/zz'],
            'recursive=false above it: the 456-byte level once, and long/zz');
($seen) = all_pages('long/', 'limit=2', 10);
listed_once($seen, [@long, 'long/zz'],
            'a short prefix pages through the long keys, each once');

unlike($node->log_text, qr/\[(alert|crit|emerg|error)\]/, 'no errors in the log');
$node->stop;
done_testing;
