# What peers say to each other, seen from the receiving side: a TLS call
# names the host it calls (SNI) when the peer is known by a name, and never
# when by an address, the leave on a graceful stop included, which the
# master makes without an event loop; and the anti-entropy endpoints
# refuse keys that are cut short or not keys, saying so.
use strict;
use warnings;
use Test::More;
use Digest::SHA ();
use KVS::Node qw(wait_for);
use KVS::PKI;
use Time::HiRes qw(sleep time);

my $certs = KVS::PKI->new;
my $pki = $certs->dir;
$certs->ca('ca');

my $secret = 'protocol-cluster-secret-0123456789';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\n"
           . "failure_timeout: 3\nremoval_timeout: 60\npeer_timeout: 1\n"
           . "cluster_secret: $secret\npeer_ca_file: $pki/ca.pem\n";

# A node whose peers call it over TLS at $host ("localhost" or
# "127.0.0.1"), its certificate naming that host; its TLS listener logs
# who called what, and the name the caller sent in SNI ("-": none).
sub tls_node {
    my ($name, $host, @seeds) = @_;
    $certs->cert($name, 'ca', $host =~ /^\d/ ? "subjectAltName=IP:$host"
                                             : "subjectAltName=DNS:$host");
    my $tls = KVS::Node::free_port();
    my $node = KVS::Node->new(name => $name,
        bind_address => "https://$host", peer_port => $tls,
        http => 'log_format peers "$http_x_kvs_node $request_method $uri '
              . 'sni=$ssl_server_name";',
        server => "listen 127.0.0.1:$tls ssl;\n"
                . "        ssl_certificate $pki/$name.pem;\n"
                . "        ssl_certificate_key $pki/$name.key;\n"
                . "        access_log logs/peers.log peers;",
        yaml => $timing . 'seed_nodes: ['
              . join(', ', map { "\"https://$_->{host}:$_->{tls}\"" } @seeds)
              . "]\n");
    @$node{qw(tls host)} = ($tls, $host);
    $node->start;
    return $node;
}

sub peers_log {
    my ($node) = @_;
    open my $f, '<', $node->prefix . '/logs/peers.log' or return '';
    local $/;
    return <$f> // '';
}

sub state_of {
    my ($node, $id) = @_;
    my ($st, $h, $b) = $node->request(GET => '/members/');
    return $b =~ /"id":"\Q$id\E".*?"state":"(\w+)"/ ? $1 : '';
}

my $a = tls_node('sa', 'localhost');
my $b = tls_node('sb', 'localhost', $a);
my $c = tls_node('sc', '127.0.0.1', $a);

ok(wait_for(10, sub { !grep { my $n = $_; grep { state_of($n, $_) ne 'alive' } qw(sa sb sc) } $a, $b, $c }),
   'three TLS nodes, two known by name and one by address, see each other alive');

ok(wait_for(5, sub { peers_log($a) =~ /^sb POST \/members\/gossip sni=localhost$/m }),
   'a gossip call to a peer known by name sends its name in SNI');
ok(wait_for(5, sub { peers_log($c) =~ /^sb POST \/members\/gossip sni=-$/m }),
   'a gossip call to a peer known by address sends no SNI');

# the leave of a graceful stop: the master's blocking call, the same
# request and TLS set-up as the agent's
$b->stop;
like($b->log_text, qr/told "sa" \(https:\/\/localhost:\d+\) that this node leaves\n/,
     'sb told sa that it leaves, and sa answered');
ok(wait_for(2, sub { peers_log($a) =~ /^sb POST \/members\/leave sni=localhost$/m }),
   'the leave to a peer known by name sends its name in SNI')
    or diag peers_log($a);
ok(wait_for(2, sub { peers_log($c) =~ /^sb POST \/members\/leave sni=-$/m }),
   'the leave to a peer known by address sends no SNI')
    or diag peers_log($c);
ok(wait_for(2, sub { state_of($a, 'sb') eq '' && state_of($c, 'sb') eq '' }),
   'and both drop it at once');

# the anti-entropy endpoints read keys from peers through kvs_wire
my ($st, $h, $body) = $a->request(PUT => '/kv/wire/one', body => '{"n":1}');
is($st, 200, 'a key to fetch');

sub key { my ($ns, $path) = @_; return $ns . pack('v', length $path) . $path }

($st, $h, $body) = $a->signed($secret, POST => '/_cluster/fetch',
                              key('d', 'wire/one') . key('d', 'wire/none'));
is($st, 200, 'a signed fetch of two keys');
my ($ns, $path, $rec) = unpack('a v/a V/a', $body);
ok($ns eq 'd' && $path eq 'wire/one' && length($rec) > 88
   && length($body) == 3 + 8 + 4 + length($rec),
   'answers the record of the one held, in the framing of a batch');
like($rec, qr/\{"n":1\}$/, 'the record whole, with its value');

($st, $h, $body) = $a->signed($secret, POST => '/_cluster/fetch',
                              key('d', 'wire/one') . "d\x09\x00wire");
is($st, 400, 'a key cut short is refused');
is($body, qq({"error":"a key is cut short"}\n), 'saying so');

($st, $h, $body) = $a->signed($secret, POST => '/_cluster/fetch', key('x', 'wire/one'));
is($st, 400, 'a key of an unknown namespace is refused');
is($body, qq({"error":"a key has an unknown namespace"}\n), 'saying so');

($st, $h, $body) = $a->signed($secret, POST => '/_cluster/fetch', key('d', 'wire//one'));
is($st, 400, 'a path that is no key is refused');
is($body, qq({"error":"the key has an empty segment"}\n), "with the key check's sentence");

($st, $h, $body) = $a->signed($secret, POST => '/_cluster/keys', "\x01");
is($st, 400, 'keys of a bucket of one byte are refused');
is($body, qq({"error":"keys takes a two-byte bucket"}\n), 'saying so');
($st, $h, $body) = $a->signed($secret, POST => '/_cluster/keys', "\x01\x02\x03");
is($st, 400, 'keys of a bucket after a key cut short are refused');
is($body, qq({"error":"the key to list a bucket's keys after: a key is cut short"}\n),
   'saying so');
($st, $h, $body) = $a->signed($secret, POST => '/_cluster/keys',
                              "\x01\x02" . key('d', 'wire/one') . 'x');
is($st, 400, 'keys of a bucket after a key and more bytes are refused');
is($body, qq({"error":"keys takes a two-byte bucket and one key to list after, no more"}\n),
   'saying so');

# a bucket's keys after one of them: the others (none here), then after a
# path that sorts before it (not a key of the store): that key
my $bucket = pack('n', unpack('n', Digest::SHA::sha256('dwire/one')));
($st, $h, $body) = $a->signed($secret, POST => '/_cluster/keys', $bucket);
ok($st == 200 && index($body, 'wire/one') >= 0, "a bucket's keys list wire/one");
($st, $h, $body) = $a->signed($secret, POST => '/_cluster/keys',
                              $bucket . key('d', 'wire/one'));
ok($st == 200 && index($body, 'wire/one') < 0, 'its keys after wire/one leave it out');
($st, $h, $body) = $a->signed($secret, POST => '/_cluster/keys',
                              $bucket . key('d', 'wire'));
ok($st == 200 && index($body, 'wire/one') >= 0, 'its keys after wire, a path that sorts before it, list it');

# a frozen peer holds the master's leave for peer_timeout, not longer
my @frozen = $c->pids;
kill 'STOP', @frozen;
my $t0 = time;
$a->stop;
my $took = time - $t0;
kill 'CONT', @frozen;
cmp_ok($took, '<', 3, 'a graceful stop with a frozen peer ends after peer_timeout (1 s)');
like($a->log_text, qr/told "sc" \(https:\/\/127\.0\.0\.1:\d+\) that this node leaves, without an answer: timed out\n/,
     'saying that the frozen peer did not answer in time');
diag sprintf 'the stop took %.1f s', $took;

$c->stop;
done_testing;
