# A randomized run: clients write, overwrite and delete random keys on
# random nodes while a third node is frozen and thawed; then every node
# holds the same data, and for every key it is the newest acknowledged PUT,
# or a delete that was acknowledged.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(seeds wait_for);
use Time::HiRes qw(sleep time);

my $secret = 'random-cluster-secret-012345';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\nsync_interval: 1\n"
           . "failure_timeout: 10\nremoval_timeout: 60\npeer_timeout: 1\n"
           . "cluster_secret: $secret\n";
sub digest {
    return $_[0]->digest($secret) =~ /"root":"(\w+)","keys":(\d+)/ ? "$1/$2" : '';
}

my $seed = $ENV{KVS_RANDOM_SEED} // int(rand(1e9));
diag "KVS_RANDOM_SEED=$seed";

my $n1 = KVS::Node->new(name => 'r1', yaml => $timing . "seed_nodes: []\n");
$n1->start;
my $n2 = KVS::Node->new(name => 'r2', yaml => $timing . 'seed_nodes: ' . seeds($n1) . "\n");
my $n3 = KVS::Node->new(name => 'r3', yaml => $timing . 'seed_nodes: ' . seeds($n1, $n2) . "\n");
$_->start for $n2, $n3;
my @nodes = ($n1, $n2, $n3);
ok(wait_for(10, sub { !grep { (($_->request(GET => '/health'))[2] // '') !~ /"mode":"normal","member_count":3/ } @nodes }),
   'three nodes, bootstrapped and in touch');

my $dir = $n1->prefix;
my ($clients, $ops, $keys) = (4, 150, 40);
my @kids;
for my $c (1 .. $clients) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        srand($seed + $c);
        open my $log, '>', "$dir/random-$c" or die $!;
        for my $i (1 .. $ops) {
            my $node = $nodes[int rand 2];            # node 3 may be frozen
            my $key = 'rnd/' . int(rand $keys);
            if (rand() < 0.25) {
                my ($st) = $node->request(DELETE => "/kv/$key");
                print $log "DEL $key $st\n";
            } else {
                my ($st, $h, $b) = $node->request(PUT => "/kv/$key",
                                                  body => qq({"c":$c,"i":$i}));
                my ($uuid, $ts) = ($b // '') =~ /"uuid":"([^"]+)","timestamp":(\d+)/;
                print $log "PUT $key $st ", ($uuid // '-'), ' ', ($ts // 0), qq( {"c":$c,"i":$i}\n);
            }
        }
        exit 0;
    }
    push @kids, $pid;
}

sleep 1;
my @frozen = $n3->pids;
kill 'STOP', @frozen;
sleep 3;
kill 'CONT', @frozen;
waitpid $_, 0 for @kids;

my (%newest, %deleted, $acked);
for my $c (1 .. $clients) {
    open my $f, '<', "$dir/random-$c" or die $!;
    while (<$f>) {
        chomp;
        my ($op, $key, $st, $uuid, $ts, $value) = split / /, $_, 6;
        next unless ($op eq 'PUT' && $st == 200) || ($op eq 'DEL' && $st == 204);
        $acked++;
        if ($op eq 'DEL') { $deleted{$key} = 1; next }
        # the newest timestamp wins; PUTs on two nodes in the same ms are
        # a conflict, which a vote decides: any of them may win
        my $n = $newest{$key};
        if (!$n || $ts > $n->{ts}) {
            $newest{$key} = { ts => $ts, versions => { qq("$uuid") => $value } };
        } elsif ($ts == $n->{ts}) {
            $n->{versions}{qq("$uuid")} = $value;
        }
    }
}
cmp_ok($acked, '>', $clients * $ops / 2, "most of the $clients x $ops operations were acknowledged ($acked)");

my $t0 = time;
ok(wait_for(30, sub { my $d = digest($n1); $d ne '' && $d eq digest($n2) && $d eq digest($n3) }),
   'after the thaw all three nodes hold the same data (Merkle root and count)')
    or diag join ' ', map { digest($_) } @nodes;
diag sprintf 'converged %.1f s after the clients finished', time - $t0;

my ($differ, $wrong) = (0, 0);
for my $k (0 .. $keys - 1) {
    my $key = "rnd/$k";
    my @r = map { [ $_->request(GET => "/kv/$key") ] } @nodes;
    my @seen = map { "$_->[0] " . ($_->[1]{etag} // '') . " $_->[2]" } @r;
    $differ++ if $seen[0] ne $seen[1] || $seen[1] ne $seen[2];
    my ($st, $h, $b) = @{ $r[0] };
    my $n = $newest{$key};
    if ($st == 200) {
        $wrong++, diag "$key holds $h->{etag}, not the newest acknowledged PUT"
            unless $n && defined $n->{versions}{$h->{etag}}
                   && $b eq $n->{versions}{$h->{etag}};
    } else {
        $wrong++, diag "$key is gone without an acknowledged DELETE"
            unless $deleted{$key} || !$n;
    }
}
is($differ, 0, 'every key reads the same on every node');
is($wrong, 0, 'and is the newest acknowledged PUT, or an acknowledged delete');

$_->stop for @nodes;
done_testing;
