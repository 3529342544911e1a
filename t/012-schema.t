# A store written by a newer schema version is refused at nginx -t and at
# start, with a sentence, never opened silently; one of version 1 (the
# fixture of t/fixtures/store-v1) is upgraded at start, with a notice, and
# its keys then show their permissions in CDWR.
use strict;
use warnings;
use Test::More;
use KVS::Node;

my $node = KVS::Node->new(name => 'schema', workers => 1);
$node->start;
my ($st) = $node->request(PUT => '/kv/kept', body => '{"v":1}');
is($st, 200, 'a store of this version takes a write');
$node->stop;

my $dir = $node->data_dir;
open my $load, '|-', "mdb_load -T -s meta $dir" or die "mdb_load: $!";
print $load "schema_version\n\\05\\00\\00\\00\n";
close $load;
is($?, 0, 'the store is marked as schema version 5 (by mdb_load)');

my ($code, $t) = $node->test_config;
isnt($code, 0, 'nginx -t refuses the store, without starting');
like($t, qr/has schema version 5, but this build of KVS reads only version 4.*new data_dir/,
     'saying what to do');

my $out = $node->start(may_fail => 1);
like($out . $node->log_text,
     qr/\[emerg\].*has schema version 5, but this build of KVS reads only version 4/,
     'nginx refuses to start, naming both versions');
ok(!$node->master_pid, 'and is not running');

open $load, '|-', "mdb_load -T -s meta $dir" or die "mdb_load: $!";
print $load "schema_version\n\\04\\00\\00\\00\n";
close $load;
$node->start;
my ($s, $h, $b) = $node->request(GET => '/kv/kept');
is($b, '{"v":1}', 'back at version 4 the data is all there');
$node->stop;

# a store of version 1, as the first release wrote it

my $old = KVS::Node->new(name => 'schema-v1', workers => 1);
mkdir $old->data_dir or die $!;
system('cp', 't/fixtures/store-v1/data.mdb', $old->data_dir . '/') == 0
    or die 'cp';
($code, $t) = $old->test_config;
is($code, 0, 'nginx -t takes a store of version 1');
$old->start;
like($old->log_text, qr/\[notice\].*upgraded the store in ".*" from schema (?x)
                        version\ 1\ to\ 4:\ permissions\ in\ CDWR;\ Merkle\ buckets\ beside\ their\ keys;
                        \ history\ beside\ records,\ by_time\ of\ dead\ records,\ buckets\ of\ keys\ alone/,
     'the start upgrades it, with a notice');
($s, $h, $b) = $old->request(GET => '/kv/fixture/plain');
is("$s $b", '200 {"name":"plain"}', 'its keys read as before');
($s, $h, $b) = $old->request(GET => '/kv/fixture/plain?meta');
like($b, qr/"permissions":"f11"/, 'their 0744 now reads f11');
($s, $h, $b) = $old->request(GET => '/kv/fixture/history?revisions');
like("$s $b", qr/^200 \[\{"revision":1,[^]]*\},\{"revision":2,[^]]*\},\{"revision":3,[^]]*\}\]$/,
     'a key keeps its two earlier versions, now beside it in kv');
($s, $h, $b) = $old->request(GET => '/kv/fixture/history?revision=3');
is("$s $b", '200 {"v":1}', 'and the oldest reads');
($s, $h, $b) = $old->request(GET => '/kv/fixture/?recursive=true');
is($s, 200, 'the listing of the upgraded store answers');
is(scalar(() = $b =~ /"fixture\/history"/g), 1,
   'and lists a key with history once');
$old->stop;
$old->start;
my @notices = $old->log_text =~ /upgraded the store/g;
is(scalar @notices, 1, 'a second start upgrades nothing');
$old->stop;
done_testing;
