# Restore (tools/kvs-restore) on one node, of backups its agent wrote
# (POST /api/backup): refused while the node runs;
# refused for a damaged file (cut short, zstd of garbage, no zstd, a store
# cut short), leaving the data dir as it was; another node's backup refused,
# then taken with --allow-other-node, the identity of the node kept; a
# backup older than tombstone_ttl_hours refused unless --allow-old; and a
# round trip of 10,000 keys with history and TTLs: backed up, the data dir
# wiped, restored, every key, version, revision and expiry back, the node
# syncing where it has seeds and serving at once where it has none.
use strict;
use warnings;
use Test::More;
use File::Basename qw(basename dirname);
use File::Path qw(remove_tree);
use Digest::SHA qw(sha256_hex);
use Time::HiRes qw(sleep time);
use KVS::Node;

my $module = $ENV{KVS_MODULE}
    // dirname(__FILE__) . '/../build/ngx_http_kvs_module.so';
my $restore = dirname($module) . '/kvs-restore';

my $keys = 10_000;
my $writers = 8;

sub slurp {
    my ($file) = @_;
    open my $f, '<', $file or return '';
    binmode $f;
    local $/;
    return <$f>;
}

sub spew {
    my ($file, $text) = @_;
    open my $f, '>', $file or die "$file: $!";
    binmode $f;
    print $f $text;
    close $f;
}

# kvs-restore's exit code and its output, stdout and stderr
sub run_restore {
    my (@args) = @_;
    my $out = `$restore @args 2>&1`;
    return ($? >> 8, $out);
}

# the key of number i, and how it was written: every tenth overwritten
# twice (a history of two), every fifth from the second with a TTL of a
# day, every hundredth from the fiftieth deleted after its writes
sub key_of { "data/" . int($_[0] / 100) . "/k$_[0]" }

sub write_keys {
    my ($node) = @_;
    my @kids;
    for my $w (0 .. $writers - 1) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my $c = $node->connection;
            my $bad = 0;
            for (my $i = $w; $i < $keys; $i += $writers) {
                my $q = $i % 5 == 1 ? '?ttl=86400' : '';
                for my $v (1 .. ($i % 10 == 0 ? 3 : 1)) {
                    my ($st) = $c->request(PUT => '/kv/' . key_of($i) . $q,
                                           body => qq({"i":$i,"v":$v}));
                    $bad++ if $st != 200;
                }
                if ($i % 100 == 50) {
                    my ($st) = $c->request(DELETE => '/kv/' . key_of($i));
                    $bad++ if $st != 204;
                }
            }
            POSIX::_exit($bad ? 1 : 0);
        }
        push @kids, $pid;
    }
    my $failed = 0;
    for (@kids) {
        waitpid $_, 0;
        $failed++ if $?;
    }
    return $failed == 0;
}

# what the node serves of every key: the value (or its status), ?meta
# (uuid, timestamp, created_at, expires_at, revisions...) and ?revisions
sub snapshot {
    my ($node) = @_;
    my $c = $node->connection;
    my %s;
    for my $i (0 .. $keys - 1) {
        my $k = key_of($i);
        my ($st, $h, $b) = $c->request(GET => "/kv/$k");
        my ($mst, undef, $meta) = $c->request(GET => "/kv/$k?meta");
        my ($rst, undef, $revs) = $c->request(GET => "/kv/$k?revisions");
        $s{$k} = join "\n", $st, $b, $h->{'x-kvs-expires-at'} // '-',
                            $mst, $meta, $rst, $revs;
    }
    return \%s;
}

sub differences {
    my ($a, $b) = @_;
    my @d = grep { ($a->{$_} // '') ne ($b->{$_} // '') }
            sort keys %$a;
    diag "$_: before\n$a->{$_}\nafter\n" . ($b->{$_} // 'none')
        for @d[0 .. ($#d < 2 ? $#d : 2)];
    return scalar @d;
}

# how many files a restore left beside the data dir: none
sub temporaries {
    my ($node) = @_;
    my @t = glob($node->prefix . '/.kvs-restore-*');
    return scalar @t;
}


# a node with the keys

my $n1 = KVS::Node->new(name => 'r1');
$n1->start;
my $t0 = time;
ok(write_keys($n1), "$keys keys written, with history, TTLs and deletes");
diag sprintf '%d writes in %.1f s', $keys + 2 * $keys / 10 + $keys / 100,
             time - $t0;

my $before = snapshot($n1);
like($before->{key_of(10)}, qr/"revision":3/,
     'a key written three times has two earlier revisions');
like($before->{key_of(11)}, qr/"expires_at":[1-9]/, 'a key with a TTL');
like($before->{key_of(50)}, qr/^404\n/, 'a deleted key');

my $backup = $n1->backup;
ok(-s $backup, 'a backup by POST /api/backup');

# refused while the node runs

my $dd = $n1->data_dir;
my $inode = (stat "$dd/data.mdb")[1];
my ($rc, $out) = run_restore($backup, $dd);
is($rc, 3, 'a restore into the data dir of a running node is refused (3)');
like($out, qr/^kvs-restore: a process \(pid (\d+)\) has the store in "\Q$dd\E" open: stop the node that runs on it, then restore$/,
     'saying which process holds it, in one line');
my ($st) = $n1->request(GET => '/kv/' . key_of(3));
is($st, 200, 'the node serves on, untouched');
$n1->stop;
is((stat "$dd/data.mdb")[1], $inode, 'its store is the same file');
my $sum = sha256_hex(slurp("$dd/data.mdb"));

# damaged files

my $whole = slurp($backup);
my $dmg = $n1->prefix . '/damaged';
mkdir $dmg;

spew("$dmg/cut.mdb.zst", substr($whole, 0, int(length($whole) / 2)));
spew("$dmg/garbage.bin", join '', map { chr int rand 256 } 1 .. 200_000);
system("zstd -q -o $dmg/garbage.mdb.zst $dmg/garbage.bin") == 0 or die;
spew("$dmg/plain.mdb.zst", "this is no backup\n" x 100);
system("zstd -q -d -c '$backup' | head -c 40960 | zstd -q -o $dmg/short-store.mdb.zst") == 0
    or die;
spew("$dmg/empty.mdb.zst", '');
spew("$dmg/twice.mdb.zst", $whole . $whole);

my @damaged = (
    [ 'cut.mdb.zst', qr/is cut short: its zstd frame ends after \d+ bytes, unfinished/,
      'a backup cut short' ],
    [ 'garbage.mdb.zst', qr/holds no LMDB store: /, 'zstd of garbage' ],
    [ 'plain.mdb.zst', qr/is no backup: it does not start with a zstd frame/,
      'a file that is no zstd' ],
    [ 'short-store.mdb.zst', qr/holds a store cut short: 40960 bytes of the \d+ its last page needs/,
      'whole zstd of a store cut short' ],
    [ 'empty.mdb.zst', qr/is empty/, 'an empty file' ],
    [ 'twice.mdb.zst', qr/is no backup: its zstd frame ends after \d+ bytes, and more follow/,
      'two backups run together (they made one store of twice the size)' ],
);

for my $d (@damaged) {
    my ($file, $re, $what) = @$d;
    ($rc, $out) = run_restore("$dmg/$file", $dd);
    is($rc, 4, "$what is refused (4)");
    like($out, $re, 'saying why');
    is(scalar(() = $out =~ /\n/g), 1, 'in one line');
}
is(sha256_hex(slurp("$dd/data.mdb")), $sum, 'the store is unchanged by them');
is(temporaries($n1), 0, 'and no temporary file is left beside it');

# a store whose pages lie: the named database's root in the main
# database's leaf is the first meta page.  LMDB checks little of the pages
# it reads: reading the database fails an assertion and aborts the process
# (other damage faults it); the tool must not die of it.
sub damage_root {
    my ($mdb, $name) = @_;
    my $psize = unpack 'V', substr($mdb, 16 + 24, 4);
    my ($meta) = sort { unpack('Q<', substr($mdb, $b + 144, 8))
                        <=> unpack('Q<', substr($mdb, $a + 144, 8)) }
                 0, $psize;
    my $root = unpack 'Q<', substr($mdb, $meta + 128, 8);
    my $page = $root * $psize;
    die "the main database is no single leaf"
        unless unpack('v', substr($mdb, $page + 10, 2)) & 0x02;
    my $lower = unpack 'v', substr($mdb, $page + 12, 2);
    for my $i (0 .. ($lower - 16) / 2 - 1) {
        my $node = $page + unpack 'v', substr($mdb, $page + 16 + 2 * $i, 2);
        my $ksize = unpack 'v', substr($mdb, $node + 6, 2);
        next unless substr($mdb, $node + 8, $ksize) eq $name;
        substr($mdb, $node + 8 + $ksize + 40, 8) = pack 'Q<', 0;
        return $mdb;
    }
    die "no database \"$name\" in the main database";
}

my $lying = damage_root(scalar `zstd -q -d -c '$backup'`, 'kv');
spew("$dmg/lying.mdb", $lying);
system("zstd -q -f -o $dmg/" . basename($backup) . " $dmg/lying.mdb") == 0
    or die;
($rc, $out) = run_restore("$dmg/" . basename($backup), $dd);
is($rc, 4, 'a backup whose store points at the wrong page is refused (4), '
           . 'not a crash of the tool');
like($out, qr/holds a damaged LMDB store: reading it stopped on signal \d+/,
     'saying so');
is(sha256_hex(slurp("$dd/data.mdb")), $sum, 'the store is unchanged');
is(temporaries($n1), 0, 'and no temporary file is left beside it');

# another node's backup

my $n2 = KVS::Node->new(name => 'r2');
$n2->start;
$n2->request(PUT => '/kv/r2/own', body => '"r2 was here"');
$n2->stop;
my $dd2 = $n2->data_dir;
my $sum2 = sha256_hex(slurp("$dd2/data.mdb"));
($rc, $out) = run_restore($backup, $dd2);
is($rc, 5, "r1's backup into r2's data dir is refused (5)");
like($out, qr/is a backup of node "r1" \(says its store\), and "\Q$dd2\E" is node "r2"'s \(says \Q$dd2\E\): give --allow-other-node/,
     'naming both nodes and the option');
is(sha256_hex(slurp("$dd2/data.mdb")), $sum2, "r2's store unchanged");

($rc, $out) = run_restore('--allow-other-node', $backup, $dd2);
is($rc, 0, 'taken with --allow-other-node') or diag $out;
$n2->start;
my (undef, undef, $health) = $n2->request(GET => '/health');
like($health, qr/"node_id":"r2"/, 'the node is still r2');
($st) = $n2->request(GET => '/kv/' . key_of(3));
is($st, 200, "and serves r1's keys");
($st) = $n2->request(GET => '/kv/r2/own');
is($st, 404, 'its own are gone with its store');
$n2->stop;
($rc, $out) = run_restore($backup, $dd2);
is($rc, 5, "the restored store keeps r2's identity: r1's backup is refused again");
remove_tree($dd2);
($rc, $out) = run_restore('--config', $n2->prefix . '/conf/node.yaml',
                          $backup, $dd2);
is($rc, 5, 'into a wiped data dir, --config says whose it is');
like($out, qr/is node "r2"'s \(says \S+node\.yaml\)/, 'and the refusal says so');

# too old: tombstone_ttl_hours from the node's YAML, or given

my $yaml = $n1->prefix . '/conf/node.yaml';
my $short = $n1->prefix . '/conf/short-ttl.yaml';
spew($short, slurp($yaml) . "tombstone_ttl_hours: 0.0002\n");
sleep 1;
($rc, $out) = run_restore('--config', $short, $backup, $dd);
is($rc, 6, 'a backup older than tombstone_ttl_hours is refused (6)');
like($out, qr/was taken at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ or later, [\d.]+ hours ago, more than tombstone_ttl_hours \(0\.0002\): the cluster may have purged the tombstones of keys deleted since, and the backup would bring them back; give --allow-old/,
     'saying why, and what would take it');
($rc, $out) = run_restore('--tombstone-ttl-hours', '0.0002', $backup, $dd);
is($rc, 6, 'or with --tombstone-ttl-hours');
is(sha256_hex(slurp("$dd/data.mdb")), $sum, 'the store unchanged');
($rc, $out) = run_restore('--bogus', $backup, $dd);
is($rc, 2, 'an unknown option is a usage error (2)');
($rc, $out) = run_restore($n1->prefix . '/conf', $dd);
is($rc, 2, 'a directory as the backup is a usage error (2)');
like($out, qr/^kvs-restore: the backup "\Q${\ $n1->prefix}\E\/conf" is not a regular file$/m,
     'saying so');
is(sha256_hex(slurp("$dd/data.mdb")), $sum, 'the store unchanged');

# the round trip: wipe, restore, start

remove_tree($dd);
($rc, $out) = run_restore($backup, $dd);
is($rc, 0, 'restored into the wiped data dir') or diag $out;
like($out, qr/^kvs-restore: restored "\Q$backup\E" into "\Q$dd\E": node "r1", schema version \d+, \d+ records, taken at \S+ or later/,
     'saying what it restored');
is((stat $dd)[2] & 07777, 0700, 'the data dir is made again, 0700');
is((stat "$dd/data.mdb")[2] & 07777, 0600, 'data.mdb is 0600');
ok(!-e "$dd/lock.mdb", 'no lock file: LMDB makes one');
is(temporaries($n1), 0, 'no temporary file is left');

# a node with seeds is syncing after a restore (its seed is down here)

my $plain = slurp($yaml);
spew($yaml, $plain . "seed_nodes: [\"127.0.0.1:1\"]\n"
            . "cluster_secret: restore-secret-0123456789\n");
$n1->start;
(undef, undef, $health) = $n1->request(GET => '/health');
like($health, qr/"mode":"syncing"/, 'the restored node starts syncing');
($st) = $n1->request(PUT => '/kv/new', body => '{}');
is($st, 503, 'and takes no writes');
my $after = snapshot($n1);
is(differences($before, $after), 0,
   'every key, value, version, revision and expiry is back');
$n1->stop;

# without seeds it would wait forever: it serves at once

spew($yaml, $plain);
$n1->start;
(undef, undef, $health) = $n1->request(GET => '/health');
like($health, qr/"mode":"normal"/, 'without seeds the restored node serves at once');
like($n1->log_text, qr/is marked syncing \(by kvs-restore\), but this node has no seed_nodes to sync from: it serves the store as it is, in normal mode/,
     'and says why');
($st) = $n1->request(PUT => '/kv/new', body => '{}');
is($st, 200, 'taking writes');

# owned and moded like the store it replaces

$n1->stop;
chown 4321, 4322, "$dd/data.mdb" or die;
chmod 0640, "$dd/data.mdb" or die;
($rc, $out) = run_restore('--allow-old', $backup, $dd);
is($rc, 0, 'restored over a store') or diag $out;
my @s = stat "$dd/data.mdb";
is_deeply([ $s[4], $s[5], $s[2] & 07777 ], [ 4321, 4322, 0640 ],
          'owned and moded like the data.mdb it replaced');

$n1->start;
($st) = $n1->request(GET => '/kv/new');
is($st, 404, 'a write after the backup is gone with the store it replaced');
$n1->stop;

# a damaged store, the reason for many a restore, is replaced too

truncate "$dd/data.mdb", 16384 or die;
($rc, $out) = run_restore('--allow-old', $backup, $dd);
is($rc, 0, 'a store cut short is replaced') or diag $out;
like($out, qr/note: the store in "\Q$dd\E" is cut short, and names no node that can be read/,
     'the tool saying it could not read whose it was');
$n1->start;
($st) = $n1->request(GET => '/kv/' . key_of(3));
is($st, 200, 'and the node serves the backup');
$n1->stop;

# and so is one whose pages lie: reading its node faults
spew("$dd/data.mdb", damage_root(slurp("$dd/data.mdb"), 'meta'));
($rc, $out) = run_restore('--allow-old', $backup, $dd);
is($rc, 0, 'a store whose meta points at the wrong page is replaced')
    or diag $out;
like($out, qr/note: the store in "\Q$dd\E" is damaged: reading it stopped on signal \d+; it names no node that can be read/,
     'the tool saying it could not read whose it was');
is(temporaries($n1), 0, 'no temporary file is left beside it');
$n1->start;
($st) = $n1->request(GET => '/kv/' . key_of(3));
is($st, 200, 'and the node serves the backup');
$n1->stop;

done_testing;
