# The data API as a client uses it across requests: PUT, GET, overwrite,
# DELETE, HEAD, odd but valid keys, large values, and bad requests that
# must leave the stored value as it was.
use strict;
use warnings;
use Test::More;
use KVS::Node;

my $node = KVS::Node->new(name => 'api', workers => 1,
                          server => 'client_body_buffer_size 8k;');
$node->start;

my $profile = '{"name":"John Doe","age":30,"email":"john@example.com"}';
my ($st, $h, $b) = $node->request(PUT => '/kv/users/john/profile',
    body => $profile, headers => { 'Content-Type' => 'application/json' });
is($st, 200, 'PUT the original example');
my ($uuid, $ts) = $b =~ /^\{"uuid":"([0-9a-f-]{36})","timestamp":(\d+)\}\n$/;
ok($uuid, 'answered {"uuid","timestamp"}');
is($h->{etag}, qq("$uuid"), 'ETag is the new uuid');

($st, $h, $b) = $node->request(GET => '/kv/users/john/profile');
is($st, 200, 'GET it back');
is($b, $profile, 'the stored JSON bytes, unchanged');
is($h->{'content-type'}, 'application/json', 'as application/json');
is($h->{etag}, qq("$uuid"), 'with the same ETag');

($st, $h, $b) = $node->request(HEAD => '/kv/users/john/profile');
is($st, 200, 'HEAD answers 200');
is($h->{'content-length'}, length $profile, 'with the length and no body');
is($b, '', 'HEAD has no body');

($st, $h, $b) = $node->request(PUT => '/kv/users/john/profile',
                               body => '{"name":"John Doe","age":31}');
my ($uuid2, $ts2) = $b =~ /"uuid":"([^"]+)","timestamp":(\d+)/;
isnt($uuid2, $uuid, 'an overwrite is a new version');
cmp_ok($ts2, '>', $ts, 'with a newer timestamp, even within one ms');
($st, $h, $b) = $node->request(GET => '/kv/users/john/profile');
is($b, '{"name":"John Doe","age":31}', 'GET answers the overwrite');

# bad requests change nothing
for my $bad (['PUT', '/kv/users/john/profile', '{"broken":'],
             ['PUT', '/kv/users/john/profile', ''],
             ['PUT', '/kv/users/john/profile', 'x' x 2_000_000],
             ['POST', '/kv/users/john/profile', '{}'],
             ['PUT', '/kv/users//john/profile', '{}'])
{
    ($st) = $node->request($bad->[0], $bad->[1], body => $bad->[2]);
    cmp_ok($st, '>=', 400, "$bad->[0] $bad->[1] with a bad request is refused ($st)");
}
($st, $h, $b) = $node->request(GET => '/kv/users/john/profile');
is($b, '{"name":"John Doe","age":31}', 'and the stored value is unchanged');
is($h->{etag}, qq("$uuid2"), 'at the same version');

($st, $h, $b) = $node->request(DELETE => '/kv/users/john/profile');
is($st, 204, 'DELETE answers 204');
is($b, '', 'with no body');
($st) = $node->request(GET => '/kv/users/john/profile');
is($st, 404, 'the key is gone');
($st) = $node->request(DELETE => '/kv/users/john/profile');
is($st, 404, 'a second DELETE finds nothing');
($st, $h, $b) = $node->request(PUT => '/kv/users/john/profile', body => '1');
is($st, 200, 'the key can be written again');

# keys: percent-encoding, UTF-8, the 1,024-byte limit
($st) = $node->request(PUT => '/kv/a%20b/caf%C3%A9', body => '"x"');
is($st, 200, 'percent-encoded key');
($st, $h, $b) = $node->request(GET => '/kv/a%20b/caf%C3%A9');
is($b, '"x"', 'reads back under the same encoding');
my $long = join('/', ('k' x 99) x 10) . '/' . ('z' x 24);
is(length $long, 1024, 'a key of 1,024 bytes');
($st) = $node->request(PUT => "/kv/$long", body => 'true');
is($st, 200, 'is accepted');
($st, $h, $b) = $node->request(GET => "/kv/$long");
is($b, 'true', 'and reads back');
($st, $h, $b) = $node->request(PUT => "/kv/${long}z", body => 'true');
is($st, 400, 'a key of 1,025 bytes is refused');
like($b, qr/longer than 1024 bytes/, 'saying why');

# values: any JSON value, bytes kept exactly, larger than the body buffer
for my $v ('"just a string"', '42', 'null', '[1, 2 ,3]',
           qq({ "spaced" :\t"out" }\n), '{"u":"\u00e9\ud83d\ude00 é"}') {
    ($st) = $node->request(PUT => '/kv/values/v', body => $v);
    ($st, $h, $b) = $node->request(GET => '/kv/values/v');
    is($b, $v, "value kept byte for byte: $v");
}
my $big = '[' . join(',', map { qq("item-$_") } 1 .. 60000) . ']';
cmp_ok(length $big, '>', 8192 * 10, 'a value larger than the body buffer');
($st) = $node->request(PUT => '/kv/values/big', body => $big);
is($st, 200, 'is stored (nginx buffered it in a temp file)');
($st, $h, $b) = $node->request(GET => '/kv/values/big');
ok($b eq $big, 'and reads back whole');

unlike($node->log_text, qr/\[(alert|crit|emerg)\]/, 'no alerts in the log');
$node->stop;
done_testing;
