# A peer's record that is not one this build could have written never
# reaches the store: each kind of bad record, sent signed to node 1 through
# /_cluster/apply, is counted as invalid, logged once with the peer's name,
# not stored and not forwarded, while every node keeps serving and the good
# records of the same batch are applied and replicated.  A record stored
# with lengths that disagree (written before this check existed) is refused
# by the read path with a 500 and a log line, never sent.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(seeds wait_for);
use KVS::Record qw(record entry);
use Time::HiRes qw(sleep time);

my $secret = 'bad-records-cluster-secret-0123';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\n"
           . "failure_timeout: 3\nremoval_timeout: 60\npeer_timeout: 1\n"
           . "sync_interval: 0.5\ncluster_secret: $secret\n";

my $n1 = KVS::Node->new(name => 'b1', yaml => $timing . "seed_nodes: []\n");
my $n2 = KVS::Node->new(name => 'b2', yaml => $timing . 'seed_nodes: ' . seeds($n1) . "\n");
my $n3 = KVS::Node->new(name => 'b3', yaml => $timing . 'seed_nodes: ' . seeds($n1, $n2) . "\n");
$_->start for $n1, $n2, $n3;
ok(wait_for(10, sub { !grep { (($_->request(GET => '/health'))[2] // '') !~ /"mode":"normal","member_count":3/ } $n1, $n2, $n3 }),
   'three nodes know each other');

my $now = int(time * 1000);

sub apply {
    my ($body) = @_;
    return $n1->signed($secret, POST => '/_cluster/apply', $body, 'b2');
}

my $big = '"' . ('x' x 100_000) . '"';
my $frame = "\x28\xb5\x2f\xfd\x20\x05\x29\x00\x00" . q("abc");    # zstd, raw block, declares 5
my @bad = (
    [ 'raw_len 1 under a 100 KB value', record(value => $big, raw_len => 1),
      qr/lengths disagree/ ],
    [ 'raw_len past the value', record(value => '1', raw_len => 1000),
      qr/lengths disagree/ ],
    [ 'raw_len 0xFFFFFFFF', record(value => '1', raw_len => 0xFFFFFFFF),
      qr/lengths disagree|over the protocol's limit/ ],
    [ 'a value that is not JSON', record(value => '{"a":'),
      qr/not valid JSON/ ],
    [ 'a compressed value that is not a zstd frame',
      record(flags => 2, value => 'not a frame at all', raw_len => 40),
      qr/frame/ ],
    [ 'a compressed frame declaring another size',
      record(flags => 2, value => $frame, raw_len => 999), qr/frame/ ],
    [ 'a tombstone with a value', record(flags => 1, value => '"v"'),
      qr/tombstone/ ],
    [ 'a swept record with a value', record(flags => 4, value => '"v"',
                                            expires => $now - 1000),
      qr/swept/ ],
    [ 'a swept record that never expired', record(flags => 4),
      qr/swept/ ],
    [ 'unknown flags', record(flags => 0x80, value => '1'), qr/flags/ ],
    [ 'a path of a long key that is not the key',
      record(value => '1', key_len => 3, key => 'abc'), qr/path/ ],
    [ 'a timestamp of 2^64-1', record(value => '1', ts => 2**64 - 1),
      qr/ahead of this node's clock/ ],
    [ 'a timestamp two hours ahead',
      record(value => '1', ts => $now + 2 * 3600 * 1000),
      qr/ahead of this node's clock/ ],
);

my ($st, $h, $b);
my $i = 0;
for my $c (@bad) {
    my ($what, $rec, $why) = @$c;
    $i++;
    ($st, $h, $b) = apply(entry("bad/$i", $rec) . entry("good/$i", record(value => qq({"i":$i}))));
    is($st, 200, "$what: the batch is answered");
    like($b, qr/"applied":1,"stale":0,"conflicts":0,"invalid":1/,
         "$what: counted as invalid, the good record of the batch applied");
    ($st) = $n1->request(GET => "/kv/bad/$i");
    is($st, 404, "$what: not stored");
    ($st, $h, $b) = $n1->request(GET => "/kv/good/$i");
    is($b, qq({"i":$i}), "$what: the good record is served");
}

for my $n ($n1, $n2, $n3) {
    ($st, $h, $b) = $n->request(GET => '/health');
    is($st, 200, "$n->{name} still serves /health");
}

my $k = scalar @bad;
ok(wait_for(5, sub { ($n3->request(GET => "/kv/good/$k"))[0] == 200
                     && ($n2->request(GET => "/kv/good/$k"))[0] == 200 }),
   'the good records reach nodes 2 and 3');
for my $j (1 .. $k) {
    ($st) = $n3->request(GET => "/kv/bad/$j");
    is($st, 404, "bad/$j was not forwarded to node 3");
}

my @lines = $n1->log_text =~ /(kvs: refused a record of "bad\/\d+" from "b2"[^\n]*)/g;
ok(@lines >= 1, 'the refusal is logged with the peer\'s name') or diag $n1->log_text;
like($lines[0] // '', qr/lengths disagree/, 'saying what was wrong');
ok(@lines <= 2, 'at most once a minute per peer (per worker at most, two workers), not once per record')
    or diag join "\n", @lines;

# a timestamp within the hour ahead is a clock a little fast, not a wrap
($st, $h, $b) = apply(entry('ahead', record(value => '"soon"', ts => $now + 30 * 60 * 1000)));
like($b, qr/"applied":1/, 'a record stamped 30 minutes ahead is applied');

# nothing bad was stored anywhere, so anti-entropy finds nothing to pull
ok(wait_for(5, sub { my $d = $n1->digest($secret); $d && $d eq $n2->digest($secret) && $d eq $n3->digest($secret) }),
   'the three nodes agree: the bad records were never stored anywhere');

# the read path refuses a stored record whose lengths disagree
my $s = KVS::Node->new(name => 'b4', yaml => "seed_nodes: []\ncompression_enabled: false\n");
$s->start;
($st) = $s->request(PUT => '/kv/inj/x', body => $big);
is($st, 200, 'a 100 KB value written');
$s->stop;
my $dump = `mdb_dump -s kv '${\ $s->data_dir}' 2>&1`;
is($?, 0, 'mdb_dump reads the store') or diag $dump;
my ($hdrs, $data) = split /HEADER=END\n/, $dump, 2;
$hdrs =~ s/^db_pagesize=.*\n//m;    # mdb_dump writes it, mdb_load ignores it
my @pairs = $data =~ /^ ([0-9a-f]+)\n ([0-9a-f]+)\n/mg;
my %kv = @pairs;
my $key = unpack('H*', "dinj/x");
ok(exists $kv{$key}, 'the record is found in kv');
substr($kv{$key}, 160, 8) = unpack('H*', pack('V', 1));    # raw_len = 1
open my $in, '|-', "mdb_load -s kv '${\ $s->data_dir}'" or die $!;
print $in "${hdrs}HEADER=END\n $key\n $kv{$key}\nDATA=END\n";
close $in;
is($?, 0, 'mdb_load wrote the damaged record');
$s->start;
($st, $h, $b) = $s->request(GET => '/kv/inj/x');
is($st, 500, 'a record whose lengths disagree is refused with a 500');
like($b, qr/^\{"error":"[^"]*damaged[^"]*"\}$/, 'and a JSON sentence, not the bytes');
like($s->log_text, qr/kvs: the record at "\/kv\/inj\/x" is damaged: its lengths disagree/,
     'a log line says which record');
($st) = $s->request(GET => '/health');
is($st, 200, 'the node still serves');

$_->stop for $n1, $n2, $n3, $s;
done_testing;
