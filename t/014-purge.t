# Tombstones are purged after tombstone_ttl_hours: the key stays deleted,
# the record leaves the store, and the log says so.
use strict;
use warnings;
use Test::More;
use KVS::Node;
use Time::HiRes qw(sleep time);

my $node = KVS::Node->new(name => 'purge', workers => 1,
    yaml => "gossip_interval_min: 0.2\ngossip_interval_max: 0.3\n"
          . "tombstone_ttl_hours: 0.0003\n");        # about 1 s
$node->start;

my ($st) = $node->request(PUT => '/kv/doomed', body => '{"x":1}');
is($st, 200, 'a key is written');
($st) = $node->request(PUT => '/kv/kept', body => '{"x":2}');
($st) = $node->request(DELETE => '/kv/doomed');
is($st, 204, 'and deleted: a tombstone');

my $deadline = time + 5;
sleep 0.1 until $node->log_text =~ /purged 1 tombstones past tombstone_ttl_hours/ || time > $deadline;
like($node->log_text, qr/kvs: purged 1 tombstones past tombstone_ttl_hours/, 'after the TTL the tombstone is purged');
($st) = $node->request(GET => '/kv/doomed');
is($st, 404, 'the key stays deleted');
($st) = $node->request(GET => '/kv/kept');
is($st, 200, 'other keys stay');
($st) = $node->request(PUT => '/kv/doomed', body => '{"x":3}');
is($st, 200, 'and the key can be written anew');
$node->stop;
done_testing;
