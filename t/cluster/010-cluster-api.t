# The internal endpoints on a listener of their own: kvs_cluster_api on a
# TLS listener that wants a client certificate (ssl_verify_client on), the
# agents presenting theirs (peer_cert_file, peer_key_file), the public
# kvs_api location answering the internal paths with 404.  And nginx -t
# refusing what could not work: bind_address:port naming another listener,
# a client certificate without its key, a file that cannot be read.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(wait_for sign_headers);
use KVS::PKI;
use Time::HiRes qw(sleep time);

my $certs = KVS::PKI->new;
my $pki = $certs->dir;
$certs->ca('ca');
sub cert { $certs->cert($_[0], 'ca', $_[1]) }

my $secret = 'mtls-cluster-secret-0123456789';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\n"
           . "failure_timeout: 3\nremoval_timeout: 60\npeer_timeout: 1\n"
           . "cluster_secret: $secret\npeer_ca_file: $pki/ca.pem\n";

# A node: its public plain listener (KVS::Node's) with kvs_api, and a TLS
# listener for peers with kvs_cluster_api that wants a client certificate
# signed by the CA.  bind_address:port is the TLS listener.
sub mtls_node {
    my ($name, %o) = @_;
    cert($name, 'subjectAltName=IP:127.0.0.1');
    cert("$name-client", 'extendedKeyUsage=clientAuth') unless $o{no_client_cert};
    my $cport = KVS::Node::free_port();
    my $node = KVS::Node->new(name => $name, workers => 1,
        bind_address => 'https://127.0.0.1', peer_port => $cport,
        http => "server {\n"
              . "        listen 127.0.0.1:$cport ssl;\n"
              . "        ssl_certificate $pki/$name.pem;\n"
              . "        ssl_certificate_key $pki/$name.key;\n"
              . "        ssl_verify_client on;\n"
              . "        ssl_client_certificate $pki/ca.pem;\n"
              . "        location / { kvs_cluster_api; }\n"
              . "    }",
        yaml => $timing
              . ($o{no_client_cert} ? ''
                 : "peer_cert_file: $pki/$name-client.pem\n"
                   . "peer_key_file: $pki/$name-client.key\n")
              . 'seed_nodes: [' . join(', ', map { "\"https://127.0.0.1:$_->{cport}\"" } @{ $o{seeds} // [] }) . "]\n");
    $node->{cport} = $cport;
    return $node;
}

# a request to a node's cluster listener through curl, with the client
# certificate of $cert (none when undef): (status, body)
sub cluster_request {
    my ($node, $cert, $method, $uri, %o) = @_;
    my $h = $o{signed} ? sign_headers($secret, $method, $uri, '', 'test') : {};
    my $cmd = "curl -sS -i --max-time 5 --cacert $pki/ca.pem -X $method "
            . ($cert ? "--cert $pki/$cert.pem --key $pki/$cert.key " : '')
            . join('', map { "-H '$_: $h->{$_}' " } sort keys %$h)
            . "https://127.0.0.1:$node->{cport}$uri 2>&1";
    my $out = `$cmd`;
    my ($st) = $out =~ m{^HTTP/1\.1 (\d{3})} or return (0, $out);
    my (undef, $b) = split /\r\n\r\n/, $out, 2;
    return ($st, $b // '');
}

sub view {
    my ($node) = @_;
    my ($st, $h, $b) = $node->request(GET => '/members/');
    my %m;
    $m{$1} = $2 while $b =~ /"id":"([^"]+)".*?"state":"(\w+)"/g;
    return \%m;
}


my $a = mtls_node('ma');
my $b = mtls_node('mb', seeds => [$a]);
$_->start for $a, $b;

ok(wait_for(10, sub { (view($a)->{mb} // '') eq 'alive' && (view($b)->{ma} // '') eq 'alive' }),
   'two nodes joined through their mutual-TLS cluster listeners');
ok(wait_for(10, sub { ($b->request(GET => '/health'))[2] =~ /"mode":"normal"/ }),
   'and mb bootstrapped from ma through them');

my ($st, $h, $body) = $a->signed($secret, GET => '/_cluster/digest');
is($st, 404, 'the public kvs_api location answers a signed /_cluster/digest with 404');
is($body, qq({"error":"no KVS endpoint at \\"/_cluster/digest\\""}\n), 'as no endpoint');
($st) = $a->signed($secret, POST => '/members/gossip', '[]');
is($st, 404, 'and a signed /members/gossip too');
($st) = $a->request(GET => '/members/');
is($st, 200, 'while it serves the client API');

($st, $body) = cluster_request($a, 'mb-client', GET => '/_cluster/digest', signed => 1);
is($st, 200, 'the cluster listener answers a signed digest to a client certificate of the CA');
like($body, qr/"root":"[0-9a-f]+"/, 'with the digest');
($st, $body) = cluster_request($a, undef, GET => '/_cluster/digest', signed => 1);
is($st, 400, 'without a client certificate the cluster listener refuses the request');
like($body, qr/No required SSL certificate was sent/, "with nginx's sentence");
($st) = cluster_request($a, 'mb-client', GET => '/health');
is($st, 404, 'the cluster listener serves no client API');

# replication goes through the cluster listeners
($st) = $a->request(PUT => '/kv/split/one', body => '{"n":1}');
is($st, 200, 'PUT on the public listener of ma');
ok(wait_for(3, sub { ($b->request(GET => '/kv/split/one'))[2] eq '{"n":1}' }),
   'replicated to mb across the mutual-TLS listeners');
($st) = $b->request(DELETE => '/kv/split/one');
is($st, 204, 'DELETE on the public listener of mb');
ok(wait_for(3, sub { ($a->request(GET => '/kv/split/one'))[0] == 404 }),
   'and a delete on mb back to ma');

# an agent without a client certificate knows the secret and the CA, yet
# the cluster listener refuses its calls
my $c = mtls_node('mc', seeds => [$a], no_client_cert => 1);
$c->start;
ok(wait_for(5, sub { $c->log_text =~ m{https://127\.0\.0\.1:$a->{cport}/members/join: answered 400} }),
   "a node with no peer_cert_file cannot join: the cluster listener answers its agent 400")
    or diag $c->log_text;
ok(!view($a)->{mc}, 'and it is not a member');
$c->stop;

# leaving over mutual TLS on a graceful stop
$b->stop;
ok(wait_for(3, sub { !view($a)->{mb} }), 'nginx -s quit on mb: ma drops it at once');
like($b->log_text, qr/told "ma" \(https:\/\/127\.0\.0\.1:\d+\) that this node leaves\n/,
     'the leave went over mutual TLS and was answered');
$a->stop;

# nginx -t
my $bad = mtls_node('mbad');
$bad->set_yaml("node_id: mbad\nbind_address: 127.0.0.1\nport: " . $bad->port
               . "\ncluster_secret: $secret\n");
my ($rc, $out) = $bad->test_config;
isnt($rc, 0, 'bind_address:port naming the public listener fails nginx -t');
like($out, qr/\[emerg\] .*kvs: bind_address:port "127\.0\.0\.1:\d+" is no "listen" of a server with "kvs_cluster_api" \(.*nginx\.conf:\d+\): peers call the internal endpoints there/,
     'saying that peers call the internal endpoints at bind_address:port') or diag $out;

$bad->set_yaml("node_id: mbad\nbind_address: 127.0.0.1\nport: $bad->{cport}\n"
               . "cluster_secret: $secret\n");
($rc, $out) = $bad->test_config;
isnt($rc, 0, 'plain http:// peers to a TLS cluster listener fail nginx -t');
like($out, qr/\[emerg\] .*kvs: bind_address "127\.0\.0\.1" has peers call 127\.0\.0\.1:$bad->{cport} without TLS, but that "listen" has "ssl": write "https:\/\/127\.0\.0\.1"/,
     'saying how to write bind_address') or diag $out;

# the cluster listener shared with another server, which is its default:
# peers' requests reach the kvs_cluster_api server only by its name
my $shared = KVS::Node->new(name => 'mshared', workers => 1,
    bind_address => 'https://127.0.0.1', peer_port => $bad->{cport},
    http => "server {\n"
          . "        listen 127.0.0.1:$bad->{cport} ssl;\n"
          . "        ssl_certificate $pki/mbad.pem;\n"
          . "        ssl_certificate_key $pki/mbad.key;\n"
          . "        location / { return 404; }\n"
          . "    }\n"
          . "    server {\n"
          . "        listen 127.0.0.1:$bad->{cport} ssl;\n"
          . "        server_name localhost;\n"
          . "        ssl_certificate $pki/mbad.pem;\n"
          . "        ssl_certificate_key $pki/mbad.key;\n"
          . "        location / { kvs_cluster_api; }\n"
          . "    }",
    yaml => "cluster_secret: $secret\n");
($rc, $out) = $shared->test_config;
isnt($rc, 0, 'peers calling 127.0.0.1 would reach the default server, not kvs_cluster_api\'s: nginx -t fails');
like($out, qr/bind_address:port "https:\/\/127\.0\.0\.1:$bad->{cport}" is no "listen" of a server with "kvs_cluster_api"/,
     'as no listen of it') or diag $out;
$shared->set_yaml("node_id: mshared\nbind_address: https://localhost\n"
                  . "port: $bad->{cport}\ncluster_secret: $secret\n");
($rc, $out) = $shared->test_config;
is($rc, 0, 'with bind_address https://localhost, its server_name, nginx -t passes') or diag $out;

$bad->set_yaml("node_id: mbad\nbind_address: https://127.0.0.1\nport: $bad->{cport}\n"
               . "cluster_secret: $secret\npeer_cert_file: $pki/mbad-client.pem\n");
($rc, $out) = $bad->test_config;
isnt($rc, 0, 'peer_cert_file without peer_key_file fails nginx -t');
like($out, qr/node\.yaml:\d+: peer_cert_file: is set but peer_key_file is not: the agent needs both to present a client certificate/,
     'with a sentence naming both keys') or diag $out;

$bad->set_yaml("node_id: mbad\nbind_address: https://127.0.0.1\nport: $bad->{cport}\n"
               . "cluster_secret: $secret\npeer_cert_file: $pki/missing.pem\n"
               . "peer_key_file: $pki/mbad-client.key\n");
($rc, $out) = $bad->test_config;
isnt($rc, 0, 'a peer_cert_file that cannot be read fails nginx -t');
like($out, qr/\[emerg\] .*cannot load certificate "\Q$pki\E\/missing\.pem"/,
     "with nginx's sentence naming the file") or diag $out;

$bad->set_yaml("node_id: mbad\nbind_address: https://127.0.0.1\nport: $bad->{cport}\n"
               . "cluster_secret: $secret\npeer_cert_file: $pki/mbad-client.pem\n"
               . "peer_key_file: $pki/mbad-client.key\n");
($rc, $out) = $bad->test_config;
is($rc, 0, 'the same node with bind_address:port on its cluster listener and both files passes nginx -t')
    or diag $out;

done_testing;
