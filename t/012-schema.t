# A store written by another schema version is refused at nginx -t and at
# start, with a sentence, never opened silently.
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
print $load "schema_version\n\\02\\00\\00\\00\n";
close $load;
is($?, 0, 'the store is marked as schema version 2 (by mdb_load)');

my ($code, $t) = $node->test_config;
isnt($code, 0, 'nginx -t refuses the store, without starting');
like($t, qr/has schema version 2, but this build of KVS reads only version 1.*new data_dir/,
     'saying what to do');

my $out = $node->start(may_fail => 1);
like($out . $node->log_text,
     qr/\[emerg\].*has schema version 2, but this build of KVS reads only version 1/,
     'nginx refuses to start, naming both versions');
ok(!$node->master_pid, 'and is not running');

open $load, '|-', "mdb_load -T -s meta $dir" or die "mdb_load: $!";
print $load "schema_version\n\\01\\00\\00\\00\n";
close $load;
$node->start;
my ($s, $h, $b) = $node->request(GET => '/kv/kept');
is($b, '{"v":1}', 'back at version 1 the data is all there');
$node->stop;
done_testing;
