# Revision history and record metadata.  ?revisions lists the current
# version and up to revision_history earlier ones, newest first, numbered
# from 1; ?revision=N answers that version's bytes and ETag, compressed or
# not; a DELETE keeps the history readable.  ?meta shows the record's
# header: created_at stays the first write's across overwrites and is new
# after a delete.  Bad or clashing parameters are 400s naming them.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use KVS::Node;

my $node = KVS::Node->new(name => 'rev', workers => 2);
$node->start;

sub put {
    my ($n, $key, $body) = @_;
    my ($st, $h, $b) = $n->request(PUT => "/kv/$key", body => $body);
    die "PUT $key: $st $b" unless $st == 200;
    return decode_json($b);    # {uuid, timestamp}
}

sub get_json {
    my ($n, $uri) = @_;
    my ($st, $h, $b) = $n->request(GET => $uri);
    return $st == 200 ? decode_json($b) : "status $st: $b";
}

# five versions of one key
my @v = map { qq({"version":$_}) } 1 .. 5;
my @w = map { put($node, 'r/k', $_) } @v;     # $w[i] wrote $v[i]

my ($st, $h, $b) = $node->request(GET => '/kv/r/k');
is($h->{etag}, qq("$w[4]{uuid}"), 'the current ETag is the fifth write');

my $list = get_json($node, '/kv/r/k?revisions');
is_deeply($list,
          [ map { { revision => 5 - $_, uuid => $w[$_]{uuid},
                    timestamp => $w[$_]{timestamp} } } reverse 1 .. 4 ],
          '?revisions: the current version and the 3 kept before it, newest first');
is($list->[0]{uuid}, $w[4]{uuid}, 'revision 1 is the current version');

for my $n (1 .. 4) {
    ($st, $h, $b) = $node->request(GET => "/kv/r/k?revision=$n");
    is($st, 200, "?revision=$n answers 200");
    is($b, $v[5 - $n], "with the bytes of write " . (6 - $n));
    is($h->{etag}, qq("$w[5 - $n]{uuid}"), 'and its ETag');
}
($st, $h, $b) = $node->request(GET => '/kv/r/k?revision=5');
is($st, 404, '?revision=5, past the list, is a 404');
is($b, qq({"error":"key \\"r/k\\" has 4 revisions; there is no revision 5"}\n),
   'saying how many there are');

# ?meta: the record's header
($st, $h, $b) = $node->request(GET => '/kv/r/k?meta');
is($st, 200, '?meta answers 200');
like($b, qr/^\{"uuid":"[^"]+","timestamp":\d+,"created_at":\d+,"owner":null,"group":null,"permissions":"0744","expires_at":null,"size":\d+,"stored_size":\d+,"revisions":\d+\}\n$/,
     'with its fields in order');
is_deeply(decode_json($b),
          { uuid => $w[4]{uuid}, timestamp => $w[4]{timestamp},
            created_at => $w[0]{timestamp}, owner => undef, group => undef,
            permissions => '0744', expires_at => undef,
            size => length $v[4], stored_size => length $v[4],
            revisions => 4 },
          'the current version, created at the first write, 4 revisions');

# parameters: bad values and clashes are 400s that name them
my $rev_msg = 'the parameter \"revision\" must be a whole number from 1, '
            . 'the newest version; got';
for my $case (['revision=0',   qq({"error":"$rev_msg \\"0\\""}\n)],
              ['revision=abc', qq({"error":"$rev_msg \\"abc\\""}\n)],
              ['revision=-1',  qq({"error":"$rev_msg \\"-1\\""}\n)],
              ['revision',     qq({"error":"$rev_msg \\"\\""}\n)],
              ['meta=1',       qq({"error":"the parameter \\"meta\\" takes no value"}\n)],
              ['revisions=yes', qq({"error":"the parameter \\"revisions\\" takes no value"}\n)])
{
    ($st, $h, $b) = $node->request(GET => "/kv/r/k?$case->[0]");
    is($st, 400, "?$case->[0] is a 400");
    is($b, $case->[1], 'naming the parameter');
}
for my $q (['meta&revisions', 'revisions'], ['revisions&meta', 'meta'],
           ['meta&revision=2', 'revision'], ['revision=2&revisions', 'revisions'],
           ['meta&meta', 'meta'], ['revisions&revisions', 'revisions'],
           ['revision=1&revision=2', 'revision'])
{
    ($st, $h, $b) = $node->request(GET => "/kv/r/k?$q->[0]");
    is($st, 400, "?$q->[0] is a 400");
    is($b, qq({"error":"the parameter \\"$q->[1]\\" cannot be given with )
         . qq(another of meta, revisions and revision, or twice"}\n),
       "naming \"$q->[1]\"");
}
($st) = $node->request(GET => '/kv/never/written?revisions');
is($st, 404, '?revisions of a key never written is a 404');

# after a DELETE the history stays readable
($st) = $node->request(DELETE => '/kv/r/k');
is($st, 204, 'DELETE');
($st) = $node->request(GET => '/kv/r/k');
is($st, 404, 'GET is a 404');
($st) = $node->request(GET => '/kv/r/k?meta');
is($st, 404, '?meta is a 404');
is_deeply([map { $_->{uuid} } @{ get_json($node, '/kv/r/k?revisions') }],
          [map { $_->{uuid} } @w[4, 3, 2]],
          '?revisions lists the versions before the delete, the last value first');
($st, $h, $b) = $node->request(GET => '/kv/r/k?revision=1');
is($b, $v[4], '?revision=1 is the last value before the delete');
is($h->{etag}, qq("$w[4]{uuid}"), 'with its ETag');

# created again: a new created_at, and the old versions behind the new one
my $w6 = put($node, 'r/k', '{"version":6}');
my $m = get_json($node, '/kv/r/k?meta');
is($m->{created_at}, $w6->{timestamp}, 'created again: created_at is the new write');
isnt($m->{created_at}, $w[0]{timestamp}, 'not the first one');
is($m->{revisions}, 4, '"revisions" counts what ?revisions lists');
is_deeply([map { $_->{uuid} } @{ get_json($node, '/kv/r/k?revisions') }],
          [$w6->{uuid}, map { $_->{uuid} } @w[4, 3, 2]],
          '?revisions: the new version, then the three kept');

# compressed versions come back exact
sub doc {
    my ($n) = @_;
    return '{"doc":' . $n . ',"rows":['
         . join(',', map { qq({"row":$_,"text":"revision $n of a long document"}) } 1 .. 60)
         . ']}';
}
put($node, 'r/doc', doc($_)) for 1 .. 3;
$m = get_json($node, '/kv/r/doc?meta');
cmp_ok($m->{stored_size}, '<', $m->{size}, 'the document is stored compressed');
for my $n (1 .. 3) {
    ($st, $h, $b) = $node->request(GET => "/kv/r/doc?revision=$n");
    ok($st == 200 && $b eq doc(4 - $n),
       "?revision=$n of a compressed value: the exact bytes");
}

# turning history off on a node that has some: the old versions are no
# longer listed or served, without waiting for the key's next write
$node->stop;
$node->set_yaml("node_id: rev\nbind_address: 127.0.0.1\nport: " . $node->port
                . "\ndata_dir: ./data\nrevision_history: 0\n");
$node->start;
$list = get_json($node, '/kv/r/doc?revisions');
is(ref $list ? scalar @$list : $list, 1,
   'after a restart with revision_history: 0, ?revisions lists only the current version');
($st) = $node->request(GET => '/kv/r/doc?revision=2');
is($st, 404, 'and ?revision=2 is a 404');

# revision_history: its range, and 0 keeps no history
my $zero = KVS::Node->new(name => 'rev0', workers => 1);
my $base = "node_id: rev0\nbind_address: 127.0.0.1\nport: " . $zero->port
         . "\ndata_dir: ./data\n";
$zero->set_yaml($base . "revision_history: 101\n");
my ($rc, $out) = $zero->test_config;
isnt($rc, 0, 'revision_history: 101 fails nginx -t');
like($out, qr/node\.yaml:5: revision_history: 101 is out of range \(0\.\.100\)/,
     'naming the key and the range');
$zero->set_yaml($base . "revision_history: 0\n");
$zero->start;
my @z = map { put($zero, 'z/k', qq({"z":$_})) } 1 .. 3;
is_deeply(get_json($zero, '/kv/z/k?revisions'),
          [ { revision => 1, uuid => $z[2]{uuid}, timestamp => $z[2]{timestamp} } ],
          'revision_history: 0: ?revisions holds only the current version');
is(get_json($zero, '/kv/z/k?meta')->{revisions}, 1, 'and ?meta says 1');
($st, $h, $b) = $zero->request(GET => '/kv/z/k?revision=2');
is($st, 404, '?revision=2 is a 404');
is($b, qq({"error":"key \\"z/k\\" has 1 revision; there is no revision 2"}\n),
   'saying there is one');

for my $n ($node, $zero) {
    unlike($n->log_text, qr/\[(alert|crit|emerg|error)\]/, 'no errors in the log');
    $n->stop;
}
done_testing;
