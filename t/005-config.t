# The node's YAML: nginx -t refuses a bad file naming the file, the line and
# the key; a good one passes; without kvs_config the built-in defaults serve.
use strict;
use warnings;
use Test::More;
use KVS::Node;
use Sys::Hostname;
use Time::HiRes qw(time);

my $node = KVS::Node->new(name => 'config');
my $yaml = $node->prefix . '/conf/node.yaml';

my @bad = (
    [ "node_id: a\nbogus: 1\n",          qr/node\.yaml:2: bogus: unknown key/ ],
    [ "port: abc\n",                     qr/node\.yaml:1: port: expected an integer, got "abc"/ ],
    [ "port: 70000\n",                   qr/node\.yaml:1: port: 70000 is out of range \(1\.\.65535\)/ ],
    [ "read_only: maybe\n",              qr/node\.yaml:1: read_only: / ],
    [ "log_level: loud\n",               qr/node\.yaml:1: log_level: / ],
    [ "gossip_interval_min: 0\n",        qr/node\.yaml:1: gossip_interval_min: 0 is out of range/ ],
    [ "gossip_interval_min: 5\ngossip_interval_max: 1\n",
                                         qr/node\.yaml:2: gossip_interval_max: / ],
    # a timer under 10 ms would spin the agent and never see a QUIT
    [ "sync_interval: 0.0009\n",         qr/node\.yaml:1: sync_interval: 0\.0009 is out of range \(0\.01\.\.31536000 seconds\)/ ],
    [ "catchup_interval: 0.009\n",       qr/node\.yaml:1: catchup_interval: 0\.009 is out of range \(0\.01\.\./ ],
    [ "gossip_interval_min: 0.0009\ngossip_interval_max: 0.0009\n",
                                         qr/node\.yaml:1: gossip_interval_min: 0\.0009 is out of range \(0\.01\.\./ ],
    [ "gossip_interval_max: 0.0009\n",   qr/node\.yaml:1: gossip_interval_max: 0\.0009 is out of range \(0\.01\.\./ ],
    # every call to a peer would time out: a seeded node would sync for ever
    [ "peer_timeout: 1e-9\n",            qr/node\.yaml:1: peer_timeout: 1e-9 is out of range \(0\.1\.\.3600 seconds\)/ ],
    [ "max_json_size: 2g\n",             qr/node\.yaml:1: max_json_size: 2g is out of range/ ],
    [ "seed_nodes: 12\n",                qr/node\.yaml:1: seed_nodes: / ],
    [ "port: [1, 2\n",                   qr/node\.yaml:\d+: / ],
    [ "node_id:\n  nested: map\n",       qr/node\.yaml:1: node_id: / ],
);

for my $case (@bad) {
    my ($text, $re) = @$case;
    $node->set_yaml($text);
    my ($rc, $out) = $node->test_config;
    isnt($rc, 0, "nginx -t fails for: " . ($text =~ s/\n/\\n/gr));
    like($out, qr/\[emerg\].*$re.* in \S+nginx\.conf:\d+/,
         'naming the file, line and key');
}

$node->set_yaml("node_id: good\nport: 8080\ngossip_interval_min: 0.2\n"
                . "gossip_interval_max: 0.4\nseed_nodes: []\n"
                . "max_json_size: 64k\nmax_db_size: 64m\n");
my ($rc, $out) = $node->test_config;
is($rc, 0, 'a valid file passes nginx -t') or diag $out;

# the shortest intervals pass, and the node they run still stops on QUIT
my $fast = KVS::Node->new(name => 'fast',
    yaml => "gossip_interval_min: 0.01\ngossip_interval_max: 0.01\n"
          . "sync_interval: 0.01\ncatchup_interval: 0.01\npeer_timeout: 0.1\n");
($rc, $out) = $fast->test_config;
is($rc, 0, 'intervals of 10 ms and a peer_timeout of 100 ms pass nginx -t')
    or diag $out;
$fast->start;
my ($st) = $fast->request(GET => '/health');
is($st, 200, 'a node with 10 ms timers serves');
my @pids = $fast->pids;
my $t0 = time;
kill 'QUIT', $fast->master_pid;
ok($fast->wait_gone(@pids), 'and stops on QUIT');
cmp_ok(time - $t0, '<', 5, 'within 5 s');

# data_dir is judged at nginx -t without opening the store a node may hold
my $dd = KVS::Node->new(name => 'datadir');
my $data = $dd->data_dir;
open my $fh, '>', $data or die $!;
print $fh "not a directory\n";
close $fh;
($rc, $out) = $dd->test_config;
isnt($rc, 0, 'nginx -t fails when data_dir is a file');
like($out, qr/\[emerg\].*kvs: data_dir "[^"]*\/data" is not a directory/,
     'saying so');
unlink $data;
mkdir $data or die $!;
open $fh, '>', "$data/data.mdb" or die $!;
print $fh 'x' x 8192;
close $fh;
($rc, $out) = $dd->test_config;
isnt($rc, 0, 'nginx -t fails when data.mdb is not an LMDB file');
like($out, qr/\[emerg\].*kvs: "[^"]*\/data\/data\.mdb" is not an LMDB file/,
     'saying so');
like($dd->start(may_fail => 1), qr/is not an LMDB file/,
     'and so does the start, before LMDB is asked');
unlink "$data/data.mdb";
$dd->start;
($rc, $out) = $dd->test_config;
is($rc, 0, 'nginx -t passes on the store of a running node') or diag $out;
$dd->stop;

# a data.mdb cut short (truncated, copied in part): its meta pages name
# pages past its end, which LMDB reads as a fault; nginx -t and the start
# died of SIGBUS ("Bus error", exit 135) and logged nothing until 2026-12-04
my $cut = KVS::Node->new(name => 'cutshort', yaml => "compression_enabled: false\n");
$cut->start;
for my $i (1 .. 300) {
    ($st) = $cut->request(PUT => "/kv/cut/$i", body => '"' . ('x' x 1000) . '"');
    $st == 200 or last;
}
is($st, 200, 'a store of 300 values of 1 KB');
$cut->stop;
my $mdb = $cut->data_dir . '/data.mdb';
my $whole = -s $mdb;
my $half = int($whole / 2);
truncate $mdb, $half or die $!;
my $said = qr/\[emerg\].*kvs: "[^"]*\/data\/data\.mdb" is cut short: $half bytes, its last page needs $whole: it was truncated or copied in part, and LMDB would fault reading past its end; restore data_dir from a backup \(kvs-restore\)/;
($rc, $out) = $cut->test_config;
is($rc, 1, 'nginx -t fails on a data.mdb cut to half, not of a signal')
    or diag $out;
like($out, $said, 'naming the file, its size and the size its last page needs');
$out = $cut->start(may_fail => 1);
like($out, $said, 'and so does the start');
ok(!$cut->master_pid, 'which runs nothing');

my $missing = KVS::Node->new(name => 'missing',
                             kvs_config => 'kvs_config nowhere.yaml;');
($rc, $out) = $missing->test_config;
isnt($rc, 0, 'a missing kvs_config file fails nginx -t');
like($out, qr/nowhere\.yaml: No such file or directory/, 'saying so');

my $dup = KVS::Node->new(name => 'dup',
          kvs_config => "kvs_config node.yaml;\n    kvs_config node.yaml;");
($rc, $out) = $dup->test_config;
like($out, qr/"kvs_config" directive is duplicate/,
     'kvs_config twice is refused');

my $plain = KVS::Node->new(name => 'defaults', kvs_config => '');
$plain->start;
my ($h, $b);
($st, $h, $b) = $plain->request(GET => '/health');
is($st, 200, 'without kvs_config the node serves with defaults');
my $host = hostname;
like($b, qr/"node_id":"\Q$host\E"/, 'node_id defaults to the hostname');
ok(-e $plain->prefix . '/data/data.mdb',
   'data_dir defaults to ./data under the nginx prefix');
($st, $h, $b) = $plain->request(PUT => '/kv/x', body => ('[' . ('1,' x 524286) . '11]'));
is($st, 200, 'a value of exactly 1 MiB is taken') or diag $b;
($st, $h, $b) = $plain->request(PUT => '/kv/x', body => ('[' . ('1,' x 524286) . '111]'));
is($st, 413, 'max_json_size defaults to 1 MiB');
like($b, qr/larger than max_json_size \(1048576 bytes\)/,
     'the module says so, not nginx\'s client_max_body_size');
$plain->stop;

done_testing;
