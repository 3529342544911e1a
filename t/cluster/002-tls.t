# Peers over https://: the agent speaks TLS through nginx's SSL client
# code and checks each peer's certificate against peer_ca_file; a peer with
# a certificate from another CA is not talked to.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(seeds wait_for);
use KVS::PKI;
use Time::HiRes qw(sleep time);

my $certs = KVS::PKI->new;
my $pki = $certs->dir;
$certs->ca($_) for 'ca', 'other';
# the name is in the IP address SAN only, as certificates have it now
sub cert { $certs->cert($_[0], $_[1], 'subjectAltName=IP:127.0.0.1') }

my $secret = 'tls-cluster-secret-0123456789';
my @nodes;
sub tls_node {
    my ($name, $ca, @seeds) = @_;
    cert($name, $ca);
    my $tls = KVS::Node::free_port();
    my $node = KVS::Node->new(name => $name,
        bind_address => 'https://127.0.0.1', peer_port => $tls,
        server => "listen 127.0.0.1:$tls ssl;\n"
                . "        ssl_certificate $pki/$name.pem;\n"
                . "        ssl_certificate_key $pki/$name.key;",
        yaml => "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\n"
              . "cluster_secret: $secret\npeer_ca_file: $pki/ca.pem\n"
              . 'seed_nodes: [' . join(', ', map { "\"https://127.0.0.1:$_->{tls}\"" } @seeds) . "]\n");
    # the YAML's port is the TLS one; KVS::Node's own port stays plain
    $node->{tls} = $tls;
    $node->start;
    push @nodes, $node;
    return $node;
}

sub view {
    my ($node) = @_;
    my ($st, $h, $b) = $node->request(GET => '/members/');
    my %m;
    $m{$1} = [$2, $3] while $b =~ /"id":"([^"]+)","address":"([^"]+)".*?"state":"(\w+)"/g;
    return \%m;
}


my $a = tls_node('tls-a', 'ca');
my $b = tls_node('tls-b', 'ca', $a);
my $c = tls_node('tls-c', 'ca', $a, $b);

ok(wait_for(10, sub { !grep { keys %{ view($_) } != 3 || grep { $_->[1] ne 'alive' } values %{ view($_) } } $a, $b, $c }),
   'three nodes joined over https:// and see each other alive');
like(view($a)->{'tls-b'}[0], qr{^https://127\.0\.0\.1:\d+$}, 'members are gossiped with their https:// address');

# a node whose certificate another CA signed: the others' agents refuse to
# talk to it over TLS, and say why
my $stranger = tls_node('tls-stranger', 'other', $a);
ok(wait_for(10, sub { ($a->log_text . $b->log_text . $c->log_text)
                          =~ /tls-stranger|not signed by peer_ca_file/
                      && ($a->log_text . $b->log_text . $c->log_text)
                          =~ /https:\/\/127\.0\.0\.1:$stranger->{tls}\/members\/\w+: the peer's certificate is not signed by peer_ca_file/ }),
   "a peer whose certificate another CA signed is refused, and the log says why");

# leaving over TLS: a graceful stop of c reaches a and b at once
$c->stop;
ok(wait_for(3, sub { !view($a)->{'tls-c'} && !view($b)->{'tls-c'} }),
   'nginx -s quit on a TLS node: the others drop it at once');
like($c->log_text, qr/told "tls-a" \(https:\/\/127\.0\.0\.1:\d+\) that this node leaves\n/,
     'the leave went over TLS and was answered');

$_->stop for @nodes;
done_testing;
