# Nodes gossip a fingerprint of their auth settings (auth on or off, the
# key ids of jwt_secret_file's secrets): a node whose settings differ from
# a peer's logs a warning on both sides, naming the peer, at most once a
# minute; nodes that agree log nothing of it.
use strict;
use warnings;
use Test::More;
use Digest::SHA qw(sha256_hex);
use KVS::Node qw(seeds wait_for);

my $secret = 'test-cluster-secret-0123456789';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\n"
           . "peer_timeout: 1\ncluster_secret: $secret\n";
my ($one, $two) = ('a' x 40, 'b' x 40);

sub node {
    my ($name, $jwt, @seeds) = @_;
    my $auth = $jwt ? "auth_enabled: true\njwt_secret_file: conf/jwt.secret\n"
                      . "audit_enabled: false\n"
                    : '';
    my $n = KVS::Node->new(name => $name, workers => 1,
                           yaml => $timing . $auth . 'seed_nodes: '
                                   . (@seeds ? seeds(@seeds) : '[]') . "\n");
    if ($jwt) {
        open my $f, '>', $n->prefix . '/conf/jwt.secret' or die $!;
        print $f $jwt;
        close $f;
    }
    return $n;
}

my $a = node('sa', "$one\n");
my $b = node('sb', "$one\n", $a);
my $c = node('sc', "$two\n$one\n", $a);
my $d = node('sd', undef, $a);
$_->start for $a, $b, $c, $d;

my $warn = qr/node "(\w+)" has other auth settings than this node/;
my %kid = map { $_ => substr(sha256_hex($_), 0, 16) } $one, $two;

ok(wait_for(10, sub {
       my %seen = map { $_ => 1 } $a->log_text =~ /$warn/g;
       $seen{sc} && $seen{sd}
   }), 'sa warns of sc (other secrets) and of sd (auth off)');
like($a->log_text, qr/node "sc" has other auth settings .*"on:$kid{$two},$kid{$one}", here "on:$kid{$one}"/,
     'showing both sides\' key ids, never a secret');
like($a->log_text, qr/node "sd" has other auth settings .*"off", here "on:$kid{$one}"/,
     'and that sd has auth off');
ok(wait_for(10, sub { $c->log_text =~ /node "sa" has other auth settings/ }),
   'sc warns of sa too');
ok(wait_for(10, sub { $d->log_text =~ /node "sa" has other auth settings/ }),
   'and sd of sa');

sleep 2;
my @sd = $a->log_text =~ /node "sd" has other auth settings/g;
is(scalar @sd, 1, 'a peer is warned of once a minute, not at every gossip');
unlike($a->log_text, qr/node "sb" has other auth/,
       'nodes that agree say nothing of each other: sa of sb');
unlike($b->log_text, qr/node "sa" has other auth/, 'sb says nothing of sa');
for my $n ($a, $b, $c, $d) {
    unlike($n->log_text, qr/$one|$two/, $n->{name} . ' logs no secret');
}

$_->stop for $a, $b, $c, $d;
done_testing;
