# A version that reaches a node after a newer one (two nodes overwrote a
# key within a push's delay, so each one's push of its own version comes
# after the other's) joins the key's history there as it did on the node
# that replaced it in time: ?revisions and ?revision=N answer alike on
# every node.  The late push is played here by a signed /_cluster/apply of
# an older version, the bytes a peer's push carries, sent to both nodes.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use KVS::Node qw(seeds wait_for);
use KVS::Record qw(record entry);
use Time::HiRes qw(sleep time);

my $secret = 'late-history-cluster-secret-0123';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\n"
           . "failure_timeout: 3\nremoval_timeout: 60\npeer_timeout: 1\n"
           . "sync_interval: 0.5\ncluster_secret: $secret\n";

my $n1 = KVS::Node->new(name => 'h1', yaml => $timing . "seed_nodes: []\n");
my $n2 = KVS::Node->new(name => 'h2', yaml => $timing . 'seed_nodes: ' . seeds($n1) . "\n");
$_->start for $n1, $n2;
ok(wait_for(10, sub { !grep { (($_->request(GET => '/health'))[2] // '') !~ /"mode":"normal","member_count":2/ } $n1, $n2 }),
   'two nodes know each other');

my $json = JSON::PP->new;
my ($st, $h, $b);

sub body { my ($n, $uri) = @_; return ($n->request(GET => $uri))[2] // '' }
sub etag { my ($n, $uri) = @_; return ($n->request(GET => $uri))[1]{etag} // '' }

# a late version of $path, stamped $ts, sent to each node as the other's push
sub late {
    my ($path, %o) = @_;
    my $rec = record(%o);
    my @said;
    for ([$n1, 'h2'], [$n2, 'h1']) {
        my ($n, $from) = @$_;
        my ($s, undef, $body) = $n->signed($secret, POST => '/_cluster/apply',
                                           entry($path, $rec), $from);
        push @said, "$s $body";
    }
    return @said;
}

sub uuid_str {
    my $u = unpack('H*', $_[0]);
    return join '-', substr($u, 0, 8), substr($u, 8, 4), substr($u, 12, 4),
                     substr($u, 16, 4), substr($u, 20);
}

# two versions written on node 1, some milliseconds apart, on both nodes
($st, undef, $b) = $n1->request(PUT => '/kv/late/doc', body => '{"v":1}');
my $v1 = $json->decode($b);
sleep 0.05;
($st, undef, $b) = $n1->request(PUT => '/kv/late/doc', body => '{"v":3}');
my $v3 = $json->decode($b);
ok(wait_for(2, sub { etag($n2, '/kv/late/doc') eq qq("$v3->{uuid}") }),
   'node 2 has the second version');
is(body($n2, '/kv/late/doc?revisions'), body($n1, '/kv/late/doc?revisions'),
   'both nodes list the same two versions');

# the other writer's version, stamped between the two, arrives late
my $uuid = join '', map { chr(int rand 256) } 1 .. 16;
my $ts = $v1->{timestamp} + 10;
my @said = late('late/doc', value => '{"v":2}', ts => $ts, uuid => $uuid,
                created => $v1->{timestamp});
like($_, qr/^200 .*"applied":0,"stale":1/, 'a late older version is answered as stale')
    for @said;

my $want = '[' . join(',',
    qq({"revision":1,"uuid":"$v3->{uuid}","timestamp":$v3->{timestamp}}),
    qq({"revision":2,"uuid":"${\ uuid_str($uuid)}","timestamp":$ts}),
    qq({"revision":3,"uuid":"$v1->{uuid}","timestamp":$v1->{timestamp}}))
    . "]\n";
for my $n ($n1, $n2) {
    is(body($n, '/kv/late/doc?revisions'), $want,
       "$n->{name}: ?revisions lists the late version between the two, by its time");
    ($st, $h, $b) = $n->request(GET => '/kv/late/doc?revision=2');
    is("$st $b", '200 {"v":2}', "$n->{name}: ?revision=2 is the late version");
    is($h->{etag}, '"' . uuid_str($uuid) . '"', '... with its ETag');
    ($st, $h, $b) = $n->request(GET => '/kv/late/doc');
    is("$st $b", '200 {"v":3}', "$n->{name}: the current value is still the newest");
}

# the same version again (a push retried, anti-entropy) is kept once
late('late/doc', value => '{"v":2}', ts => $ts, uuid => $uuid,
     created => $v1->{timestamp});
is(body($n1, '/kv/late/doc?revisions'), $want, 'sent twice, it is listed once');

# the current version sent back is no history of itself
late('late/doc', value => '{"v":3}', ts => $v3->{timestamp},
     uuid => pack('H*', $v3->{uuid} =~ s/-//gr), created => $v1->{timestamp});
is(body($n2, '/kv/late/doc?revisions'), $want, 'nor is the current version sent again');

# a late delete, or a value already expired, held no value to list
late('late/doc', flags => 1, ts => $ts + 1, created => $v1->{timestamp});
late('late/doc', value => '{"v":"gone"}', ts => $ts + 2,
     created => $v1->{timestamp}, expires => int(time * 1000) - 1000);
is(body($n1, '/kv/late/doc?revisions'), $want,
   'a late tombstone and a late expired value are not listed');

# revision_history 3: a late version older than the three kept is not kept
for my $v (4 .. 5) {
    ($st) = $n1->request(PUT => '/kv/late/doc', body => qq({"v":$v}));
}
ok(wait_for(2, sub { body($n2, '/kv/late/doc?revisions') eq body($n1, '/kv/late/doc?revisions') }),
   'both nodes list the same versions after two more PUTs');
my $before = body($n1, '/kv/late/doc?revisions');
my $n = () = $before =~ /"revision"/g;
is($n, 4, 'the current version and the three before it');
late('late/doc', value => '{"v":0}', ts => $v1->{timestamp} - 5,
     created => $v1->{timestamp} - 5);
is(body($n1, '/kv/late/doc?revisions'), $before, 'an older one than those kept is not added');
is(body($n2, '/kv/late/doc?revisions'), $before, '... on either node');

# a path longer than a key holds (448 bytes) is kept with its version
my $long = 'late/' . ('p' x 500);
($st, undef, $b) = $n1->request(PUT => "/kv/$long", body => '{"v":"long 1"}');
my $l1 = $json->decode($b);
sleep 0.05;
($st, undef, $b) = $n1->request(PUT => "/kv/$long", body => '{"v":"long 3"}');
ok(wait_for(2, sub { body($n2, "/kv/$long") eq '{"v":"long 3"}' }),
   'node 2 has the long key\'s second version');
late($long, value => '{"v":"long 2"}', ts => $l1->{timestamp} + 10,
     created => $l1->{timestamp});
for my $n ($n1, $n2) {
    ($st, $h, $b) = $n->request(GET => "/kv/$long?revision=2");
    is("$st $b", '200 {"v":"long 2"}', "$n->{name}: the long key's late version is its ?revision=2");
}

# history and digests: the late versions changed no key's current record
ok(wait_for(5, sub { my $d = $n1->digest($secret); $d && $d eq $n2->digest($secret) }),
   'the two Merkle digests agree');

$_->stop for $n1, $n2;
done_testing;
