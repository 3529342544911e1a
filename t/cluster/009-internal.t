# The internal endpoints on a public listener: what a client without the
# cluster's secret can make a node do.  The cheap parts of a signature (the
# headers there, the date fresh, a leaving node a member) are checked before
# a byte of body is read, so an unsigned request declaring a large body is
# answered at once; a membership call's body is capped at what 1,024
# members take, whatever max_json_size says.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(sign_headers);
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time);

my $secret = 'internal-cluster-secret-0123456789';

# max_json_size far above the membership cap: the cap must not follow it
my $node = KVS::Node->new(name => 'i1',
    yaml => "cluster_secret: $secret\nmax_json_size: 8m\n",
    server => 'client_max_body_size 16m;');
$node->start;

# a request head's signature lines, as a member would send them
sub signed_head {
    my $h = sign_headers($secret, @_);
    return join '', map { "$_: $h->{$_}\r\n" } sort keys %$h;
}

# Sends a request head and only the start of its body, then waits at most
# $wait seconds for an answer: (status, body, seconds taken), status undef
# when none came.  A server that reads the body first never answers.
sub partial {
    my ($uri, $head, $sent, $wait) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $node->port, Proto => 'tcp')
        or die "connect: $!";
    my $t0 = time;
    print $s "POST $uri HTTP/1.1\r\nHost: localhost\r\n$head\r\n$sent";
    my $sel = IO::Select->new($s);
    my $resp = '';
    while ((my $left = $t0 + $wait - time) > 0) {
        last unless $sel->can_read($left);
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $resp .= $buf;
        my ($h, $b) = split /\r\n\r\n/, $resp, 2;
        next unless defined $b;
        my ($len) = $h =~ /\r\nContent-Length: (\d+)/i;
        last if defined $len && length($b) >= $len;
    }
    close $s;
    my ($st) = $resp =~ m{^HTTP/1\.\d (\d{3})};
    my (undef, $body) = split /\r\n\r\n/, $resp, 2;
    return ($st, $body // '', time - $t0);
}

my $big = "Content-Length: 1048576\r\n";
my ($st, $b, $secs);

($st, $b, $secs) = partial('/members/gossip', $big, '[{"id":', 5);
is($st, 401, 'an unsigned gossip declaring 1 MiB of body is refused with 401');
cmp_ok($secs, '<', 2, sprintf('at once (%.2f s), without waiting for the body', $secs));
is($b, qq({"error":"the request is not signed"}\n), 'saying why');

($st, $b, $secs) = partial('/_cluster/apply', $big, 'd', 5);
is($st, 401, 'an unsigned /_cluster/apply declaring 1 MiB is refused');
cmp_ok($secs, '<', 2, 'at once');

($st, $b, $secs) = partial('/members/join',
    $big . signed_head('POST', '/members/join', '', 'evil',
                        int(time * 1000) - 61_000), '[', 5);
is($st, 401, 'a join dated 61 s ago is refused before its body is read');
cmp_ok($secs, '<', 2, 'at once');
like($b, qr/more than 60 s old/, 'as too old');

($st, $b, $secs) = partial('/members/leave',
    $big . signed_head('POST', '/members/leave', '', 'evil'), '[', 5);
is($st, 401, 'a leave from a node that is not a member is refused before its body is read');
cmp_ok($secs, '<', 2, 'at once');
like($b, qr/node \\"evil\\" is not a member/, 'naming the node');

($st, $b, $secs) = partial('/members/gossip',
    "Content-Length: 1048576\r\n" . "X-KVS-Node: evil\r\n"
    . "X-KVS-Date: " . int(time * 1000) . "\r\nX-KVS-Signature: abc\r\n", '[', 5);
is($st, 401, 'a signature of the wrong length is refused before the body is read');
cmp_ok($secs, '<', 2, 'at once');

like($node->log_text, qr/\[warn\].*refused POST \/members\/gossip from 127\.0\.0\.1 \(node "[^"]*"\): the request is not signed/,
     'each refusal is logged at warn');

# The cap of a membership call: 1,024 members of the longest id and address
# (255 bytes each, nothing to escape) and 20-digit numbers, commas and
# brackets; src/kvs/kvs_members.h computes it.
my $member = '{"id":"","address":"","last_seen":,"joined_timestamp":,"state":"failed"}';
my $cap = 2 + 1024 * (length($member) + 2 * 20 + 2 * 255 + 1);
is($cap, 637954, 'the membership cap is 637,954 bytes');

# a list of 1,024 members at the longest the cap allows is taken
my @m;
for my $i (1 .. 1024) {
    my $id = sprintf('m%04d', $i) . ('i' x 250);
    my $addr = sprintf('h%04d', $i) . ('a' x 244) . ':65535';
    # last_seen long past: filtered out, the node's list stays as it is
    push @m, qq({"id":"$id","address":"$addr","last_seen":1,)
           . qq("joined_timestamp":1000000000000000,"state":"failed"});
}
my $list = '[' . join(',', @m) . ']';
cmp_ok(length $list, '<=', $cap, 'such a list fits (' . length($list) . ' bytes)');
($st, undef, $b) = $node->signed($secret, POST => '/members/gossip', $list, 'test');
is($st, 200, 'a signed gossip of 1,024 members of the longest names is answered') or diag $b;

my $over = '[' . (' ' x ($cap - 1)) . ']';
($st, undef, $b) = $node->signed($secret, POST => '/members/gossip', $over, 'test');
is($st, 413, 'a signed gossip body one byte over the cap gets 413, though max_json_size is 8m');
is($b, qq({"error":"the request body of @{[$cap + 1]} bytes is larger than a list of 1,024 members ($cap bytes)"}\n),
   'with a JSON sentence');

($st, $b, $secs) = partial('/members/join',
    'Content-Length: ' . ($cap + 1) . "\r\n"
    . signed_head('POST', '/members/join', '', 'test'), '[', 5);
is($st, 413, 'a join declaring a body over the cap gets 413');
cmp_ok($secs, '<', 2, 'before the body is read');

# chunked: no length to check first, the body filter stops it
my $chunked = '';
$chunked .= sprintf("%x\r\n%s\r\n", 65536, ' ' x 65536) for 1 .. 10;
$chunked .= "0\r\n\r\n";
($st, $b, $secs) = partial('/members/gossip',
    "Transfer-Encoding: chunked\r\n" . signed_head('POST', '/members/gossip', '', 'test'),
    $chunked, 5);
is($st, 413, 'a chunked gossip body over the cap gets 413 too');
is($b, qq({"error":"the request body is larger than a list of 1,024 members ($cap bytes)"}\n),
   'stopped while it is read');

like($node->log_text, qr/\[warn\].*refused POST \/members\/join from 127\.0\.0\.1 \(node "test"\): the request body of \d+ bytes is larger than a list of 1,024 members/,
     'a body over the cap is logged at warn');

# the cap is for member lists only: a push batch may be as large as before
my $batch = 'x' x 700_000;
($st, undef, $b) = $node->signed($secret, POST => '/_cluster/apply', $batch, 'test');
is($st, 400, 'a 700 kB /_cluster/apply batch is read and judged (400: not a batch)')
    or diag $b;

$node->stop;
done_testing;
