# conf-examples/standalone.conf as shipped (only its port, its log and the
# load_module line changed): the errors nginx answers before it chooses a
# location are JSON through its error_page lines, kvs_api's own errors keep
# their sentences, its /metrics answers 127.0.0.1, and its
# worker_connections serve 2,000 clients at once.
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use JSON::PP;
use POSIX ();
use KVS::Node;
use KVS::Prometheus;

my $node = KVS::Node->new(name => 'example');
my $top = $node->prefix =~ s{/t/servroot-nodes/.*}{}r;
my $port = $node->port;

open my $in, '<', "$top/conf-examples/standalone.conf" or die $!;
my $conf = do { local $/; <$in> };
close $in;
$conf =~ s/listen\s+127\.0\.0\.1:8080;/listen 127.0.0.1:$port;/ or die;
$conf =~ s/error_log\s+stderr/error_log logs\/error.log/ or die;
my $user = $> == 0 ? "user root;\n" : '';
open my $out, '>', $node->prefix . '/conf/nginx.conf' or die $!;
print $out "load_module $node->{module};\n$user$conf";
close $out;
system('cp', "$top/conf-examples/standalone.yaml", $node->prefix . '/conf/')
    == 0 or die;

my ($rc, $text) = $node->test_config;
is($rc, 0, 'the example passes nginx -t') or diag $text;
$node->start;

# sends raw bytes, returns (status, content type, body)
sub raw {
    my ($bytes) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 10)
        or die "connect: $!";
    print $s $bytes;
    local $/;
    my $resp = <$s> // '';
    my ($head, $body) = split /\r\n\r\n/, $resp, 2;
    my ($st) = $head =~ m{^HTTP/1\.\d (\d+)};
    my ($ct) = $head =~ m{^Content-Type: (.*?)\r?$}mi;
    return ($st // 0, $ct // '', $body // '');
}

sub error_of {
    my ($body) = @_;
    my $doc = eval { JSON::PP->new->utf8->decode($body) };
    return defined $doc ? $doc->{error} : "not JSON: $body";
}

my @early = (
    [ 'a space in the request line', "GET /kv/a b HTTP/1.1\r\nHost: x\r\n\r\n",
      400, 'the request is malformed' ],
    [ 'no request line at all', "BAD\r\n\r\n",
      400, 'the request is malformed' ],
    [ 'an HTTP/1.1 request without Host', "GET /kv/a HTTP/1.1\r\n\r\n",
      400, 'the request is malformed' ],
    [ 'a URI longer than large_client_header_buffers',
      'GET /kv/' . ('a' x 9000) . " HTTP/1.1\r\nHost: x\r\n\r\n",
      414, 'the request URI is too long' ],
    [ 'a header longer than large_client_header_buffers',
      "GET /kv/a HTTP/1.1\r\nHost: x\r\nX-Big: " . ('a' x 9000) . "\r\n\r\n",
      400, 'a request header is too large' ],
);
for my $case (@early) {
    my ($what, $bytes, $status, $sentence) = @$case;
    my ($st, $ct, $body) = raw($bytes);
    is($st, $status, "$what: $status before any location");
    is($ct, 'application/json', 'as application/json');
    is(error_of($body), $sentence, "saying \"$sentence\"");
}

my ($st, $h, $b) = $node->request(PUT => '/kv/a//b', body => '1');
is($st, 400, "kvs_api's own 400 under those error_page lines");
is($b, qq({"error":"the key has an empty segment"}\n),
   'keeps its own sentence');
($st, $h, $b) = $node->request(GET => '/kv/no/such/key');
is($b, qq({"error":"key \\"no/such/key\\" not found"}\n), 'and a 404 its own');

# the example's /metrics, open to 127.0.0.1
{
    my ($st, $ct, $text) = raw("GET /metrics HTTP/1.1\r\nHost: x\r\n"
                               . "Connection: close\r\n\r\n");
    is($st, 200, 'the example serves /metrics to 127.0.0.1');
    is($ct, 'text/plain; version=0.0.4', 'in the text format 0.0.4');
    my ($fam, @err) = KVS::Prometheus::parse($text);
    is("@err", '', 'which parses strictly');
    cmp_ok(KVS::Prometheus::value($fam, 'kvs_http_requests_total',
                                  area => 'kv', method => 'GET',
                                  status => '4xx') // 0, '>=', 1,
           'and counted the 404 above');
}

# 2,000 clients connected at once, each then sending a request
SKIP: {
    my $max = POSIX::sysconf(POSIX::_SC_OPEN_MAX()) // 0;
    skip "needs 2,100 open files (ulimit -n is $max)", 2 if $max < 2100;

    my @socks;
    for (1 .. 2000) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Timeout => 10) or last;
        push @socks, $s;
    }
    print $_ "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        for @socks;
    my $ok = 0;
    for my $s (@socks) {
        local $/;
        my $resp = <$s> // '';
        $ok++ if $resp =~ m{^HTTP/1\.1 200 };
        close $s;
    }
    is($ok, 2000, '2,000 concurrent clients are all answered');
    unlike($node->log_text, qr/worker_connections are not enough/,
           'and no worker ran out of connections');
}

$node->stop;

done_testing;
