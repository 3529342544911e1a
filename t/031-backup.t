# Backups on real nodes: what nginx -t says of the keys; a backup on a
# schedule of every minute, the status before, during and after it, while
# a peer's write and gossip reach the node and a second POST gets 409; the
# file as zstd and LMDB read it; a POST's request pending while the agent
# is stopped; a reload in the middle (the temporary file removed, the
# backup recorded as cut short); the retention deleting old files but not
# others; and failures that leave no file: a rename refused after the
# whole file was written (the newest old backup kept), and a backup_dir
# under a regular file, which stops root too; near max_db_size, the 507s
# the pages a backup pins bring; with auth on, admins only.
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path);
use JSON::PP;
use POSIX qw(strftime);
use Time::HiRes qw(sleep time);
use KVS::Node qw(seeds wait_for);
use KVS::Prometheus;
use KVS::Token;

my $json = JSON::PP->new;
my $secret = 'test-cluster-secret-0123456789';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\n"
           . "failure_timeout: 2\nremoval_timeout: 4\npeer_timeout: 1\n"
           . "cluster_secret: $secret\n";
my $audit_secret = 'audit-secret-' . ('s' x 32);

sub status_of { $_[0]->backup_status($_[1]) }

sub status { status_of($_[0]) }

# polls the status until cond holds of it, at most secs: the status, or
# undef
sub status_when {
    my ($n, $secs, $cond) = @_;
    my $s;
    return wait_for($secs, sub { $s = status($n); $cond->($s) }) ? $s : undef;
}

sub metric {
    my ($n, $name, %labels) = @_;
    my ($st, undef, $body) = $n->request(GET => '/metrics');
    my ($f) = KVS::Prometheus::parse($body);
    return KVS::Prometheus::value($f, $name, %labels);
}

# a backup's name for a time in seconds
sub name_at {
    my ($node, $t) = @_;
    return "kvs-$node-" . strftime('%Y%m%dT%H%M%SZ', gmtime $t) . '.mdb.zst';
}

sub files_of {
    my ($dir) = @_;
    opendir my $d, $dir or return ();
    return sort grep { !/^\.\.?$/ } readdir $d;
}

sub members {
    my ($n) = @_;
    my ($st, undef, $b) = $n->request(GET => '/members/');
    return { map { $_->{id} => $_ } @{ $json->decode($b) } };
}


# nginx -t: the keys, a bad schedule at its line, backup_dir never inside
# data_dir

my $t = KVS::Node->new(name => 'backup-t');
mkdir $t->prefix . '/data';
for my $case (
    [ "backup_schedule: \"0 0 32 * *\"\n",
      qr/node\.yaml:5: backup_schedule: field 3 \(day of month\): 32 is out of range 1-31/ ],
    [ "backup_schedule: \"0 0 30 2 *\"\n",
      qr/node\.yaml:5: backup_schedule: "0 0 30 2 \*" never runs/ ],
    [ "backup_compression_level: 20\n",
      qr/node\.yaml:5: backup_compression_level: 20 is out of range \(1\.\.19\)/ ],
    [ "backup_retention_days: 0\n",
      qr/node\.yaml:5: backup_retention_days: 0 is out of range/ ],
    [ "backup_dir: data/backups\n",
      qr/node\.yaml:5: backup_dir: ".*\/data\/backups" is inside data_dir/ ],
    [ "backup_dir: ./data/\n",
      qr/node\.yaml:5: backup_dir: ".*\/data" is inside data_dir/ ],
    # not there yet, and named through "." or "..": the name made plain
    [ "backup_dir: ./data/backups\n",
      qr{node\.yaml:5: backup_dir: "(?![^"]*/\.\.?/)[^"]*/data/backups" is inside data_dir} ],
    [ "backup_dir: ../" . ($t->prefix =~ s{.*/}{}r) . "/data/x/../backups\n",
      qr{node\.yaml:5: backup_dir: "(?![^"]*/\.\.?/)[^"]*/data/backups" is inside data_dir} ],
) {
    my ($text, $re) = @$case;
    $t->set_yaml("node_id: backup-t\nbind_address: 127.0.0.1\nport: 1\n"
                 . "data_dir: ./data\n$text");
    my ($rc, $out) = $t->test_config;
    isnt($rc, 0, "nginx -t fails for: " . ($text =~ s/\n/\\n/gr));
    like($out, qr/\[emerg\].*$re/, 'naming the file, line and what is wrong');
}

# node_id names the backups' files: one they cannot be named by fails
# nginx -t (every backup failed, "No such file or directory" or "File name
# too long", before 2026-12-04)
for my $case (
    [ 'dc1/n1', qr/node\.yaml:1: node_id: "dc1\/n1" has a "\/", which a backup's file name cannot hold/ ],
    [ 'a' x 223, qr/node\.yaml:1: node_id: "a{223}" is longer than 222 bytes, which a backup's file name cannot hold/ ],
) {
    my ($id, $re) = @$case;
    $t->set_yaml("node_id: \"$id\"\nbind_address: 127.0.0.1\nport: 1\n"
                 . "data_dir: ./data\n");
    my ($rc, $out) = $t->test_config;
    isnt($rc, 0, "nginx -t fails for node_id " . substr($id, 0, 20));
    like($out, qr/\[emerg\].*$re/, 'naming the line and why');
}
$t->set_yaml("node_id: \"" . ('a' x 222) . "\"\nbind_address: 127.0.0.1\n"
             . "port: 1\ndata_dir: ./data\n");
my ($rc, $out) = $t->test_config;
is($rc, 0, 'a node_id of 222 bytes passes') or diag $out;

$t->set_yaml("node_id: backup-t\ndata_dir: ./data\nbackup_dir: ./data2\n"
             . "backup_schedule: '\@hourly'\n");
($rc, $out) = $t->test_config;
is($rc, 0, 'a backup_dir beside data_dir, named like it, passes') or diag $out;


# a node b1 that backs up every minute, slowly (zstd level 19 of 3 MB of
# hex), with a peer c2

my $b1 = KVS::Node->new(name => 'b1', workers => 2,
    yaml => $timing . "seed_nodes: []\ncompression_enabled: false\n"
            . "backup_enabled: true\nbackup_schedule: \"* * * * *\"\n"
            . "backup_compression_level: 19\n"
            . "audit_enabled: true\naudit_secret_file: conf/audit.secret\n",
    server => 'location = /metrics { kvs_metrics; }');
$b1->put_file('conf/audit.secret', "$audit_secret\n");
my $dir = $b1->prefix . '/backups';

# "* * * * *" runs at the first whole minute after b1 starts; the checks
# and the writes below come before it, so b1 starts no later than 40 s
# into a minute: a backup that began among the writes would end before a
# peer's write could reach b1 during it
{
    my $into = time % 60;
    sleep 61 - $into if $into > 40;
}
$b1->start;

my $c2 = KVS::Node->new(name => 'c2', workers => 1,
    yaml => $timing . 'seed_nodes: ' . seeds($b1) . "\nbackup_enabled: false\n");
$c2->start;
ok(wait_for(15, sub { (members($b1)->{c2}{state} // '') eq 'alive' }),
   'c2 joined b1');

my $s = status($b1);
my $now = time * 1000;
is($s->{enabled}, JSON::PP::true, 'before: enabled');
is($s->{schedule}, '* * * * *', 'the schedule as written');
ok($s->{next_run} % 60000 == 0 && $s->{next_run} > $now - 1000
   && $s->{next_run} <= $now + 60000,
   'next_run: the next whole minute, in ms');
is($s->{running}, JSON::PP::false, 'not running');
is($s->{pending}, JSON::PP::false, 'nothing pending');
is($s->{last}, undef, 'no last backup');
is_deeply($s->{backups}, [], 'no files');
ok(-d $dir && ((stat $dir)[2] & 07777) == 0700,
   'backup_dir, "backups" beside data_dir, made at start, mode 0700');
is(metric($b1, 'kvs_backups_total', result => 'ok'), 0,
   'kvs_backups_total{result="ok"} 0');

# 3 MB of hex, which zstd at level 19 takes seconds over
open my $rnd, '<', '/dev/urandom' or die $!;
my $n_keys = 30;
for my $i (1 .. $n_keys) {
    read $rnd, my $bytes, 50000;
    my ($st) = $b1->request(PUT => sprintf('/kv/big/%02d', $i),
                            body => '"' . unpack('H*', $bytes) . '"');
    die "PUT: $st" unless $st == 200;
}
close $rnd;
ok(wait_for(20, sub { ($c2->request(GET => "/kv/big/$n_keys"))[0] == 200 }),
   'the data reached c2');

my $next = $s->{next_run};
diag sprintf 'waiting %.0f s for the scheduled backup', ($next - time * 1000) / 1000;
my $during = status_when($b1, 75, sub { $_[0]{running} });
ok($during, 'the scheduled backup runs at the minute');

SKIP: {
    skip 'no backup ran', 12 unless $during;

    like($during->{current}{file}, qr/^kvs-b1-\d{8}T\d{6}Z\.mdb\.zst$/,
         'during: current names the file');
    cmp_ok($during->{current}{started_at}, '>=', $next,
           'started at the minute scheduled');
    cmp_ok($during->{current}{started_at}, '<', $next + 2000,
           'within a second or so');
    is($during->{pending}, JSON::PP::false, 'during: not pending');
    cmp_ok($during->{next_run}, '>=', $next + 60000,
           'during: next_run is the minute after');
    is(metric($b1, 'kvs_backup_running'), 1, 'kvs_backup_running 1');

    my ($st, $h, $body) = $b1->request(POST => '/api/backup');
    is($st, 409, 'during: a POST is 409');
    like($body, qr/\{"error":"a backup is running \(\\"kvs-b1-/,
         'saying which one runs');

    # the agent's event loop goes on: a peer's write arrives by push, the
    # peer's gossip keeps it alive, and a local write commits
    my $seen = members($b1)->{c2}{last_seen};
    ($st) = $c2->request(PUT => '/kv/during/backup', body => '{"from":"c2"}');
    is($st, 200, 'a write on c2 during the backup');
    my $arrived = wait_for(10, sub {
        ($b1->request(GET => '/kv/during/backup'))[0] == 200 });
    my $still = status($b1)->{running};
    ok($arrived && $still, 'reached b1 by push while the backup still ran');
    ok(wait_for(5, sub { members($b1)->{c2}{last_seen} > $seen + 500 })
       && status($b1)->{running},
       'and c2\'s gossip refreshed its last_seen on b1 meanwhile');
    ($st) = $b1->request(PUT => '/kv/during/local', body => '1');
    is($st, 200, 'a write on b1 itself commits during the backup');
}

my $after = status_when($b1, 120, sub { !$_[0]{running} && $_[0]{last} });
ok($after, 'the backup finishes');
my $last = $after ? $after->{last} : {};
is($last->{ok}, JSON::PP::true, 'after: ok');
is($last->{error}, undef, 'no error');
is($last->{file}, $during && $during->{current}{file}, 'the file that ran');
cmp_ok($last->{keys}, '>=', $n_keys, 'counting the records');
cmp_ok($last->{duration_ms}, '>', 0, 'a duration');
is($last->{duration_ms}, $last->{finished_at} - $last->{started_at},
   'finished_at - started_at');
my $file = "$dir/" . ($last->{file} // 'none');
is($last->{bytes}, -s $file, 'the bytes of the file');
is((stat $file)[2] & 07777, 0600, 'mode 0600');
is_deeply($after->{backups},
          [ { file => $last->{file}, bytes => $last->{bytes},
              created_at => int($last->{started_at} / 1000) * 1000 } ],
          'backups lists it, created_at the second of its name');
is(metric($b1, 'kvs_backups_total', result => 'ok'), 1,
   'kvs_backups_total{result="ok"} 1');
is(metric($b1, 'kvs_backup_bytes'), $last->{bytes}, 'kvs_backup_bytes');
is(metric($b1, 'kvs_backup_last_success_timestamp_seconds'),
   int($last->{finished_at} / 1000),
   'kvs_backup_last_success_timestamp_seconds');
is(metric($b1, 'kvs_backup_duration_seconds_count'), 1,
   'kvs_backup_duration_seconds counts it');
like($b1->log_text, qr/\[notice\].*kvs: backup ".*\Q$last->{file}\E" started, on schedule/,
     'the start is logged');
like($b1->log_text, qr/\[notice\].*kvs: backup ".*\Q$last->{file}\E" written: \d+ bytes/,
     'and the end');

# the file is one zstd frame of an LMDB environment with the records

my $restored = $b1->prefix . '/restored';
make_path($restored);
system('zstd', '-q', '-d', '-f', $file, '-o', "$restored/data.mdb");
is($?, 0, 'zstd -d reads the file');
# the status counts kv as the copy begins: a write may land in the moment
# between that count and the copy's snapshot (this test makes two during
# the backup)
my ($entries) = `mdb_stat -s kv $restored 2>&1` =~ /Entries: (\d+)\n/;
ok(defined $entries && $entries >= $last->{keys}
   && $entries <= $last->{keys} + 2,
   "mdb_stat: kv holds the records the status counted ($last->{keys}, "
   . ($entries // 'none') . ' in the file)');
my $dump = `mdb_dump -p -s kv $restored 2>&1`;
like($dump, qr/dbig\/01/, 'mdb_dump: a key written before');
like($dump, qr/"[0-9a-f]{1000}/, 'and its value');

# a POST waits, pending, while the agent is stopped

my $helper = $b1->helper_pid;
kill 'STOP', $helper;
my ($st, $h, $body) = $b1->request(POST => '/api/backup');
is($st, 202, 'POST /api/backup: 202');
like($body, qr/^\{"pending":true,"asked_at":\d+\}/, 'pending');
$s = status($b1);
ok($s->{pending} && !$s->{running}, 'the status shows it pending');
($st, $h, $body) = $b1->request(POST => '/api/backup');
is($st, 409, 'a second POST: 409');
like($body, qr/a backup is pending/, 'saying one is pending');
kill 'CONT', $helper;
$s = status_when($b1, 5, sub { $_[0]{running} });
ok($s && !$s->{pending}, 'the agent starts it within its tick');

# a reload in the middle: the old agent exits, the new one removes the
# temporary file and records the backup as cut short; and the schedule
# changes, so that no minute starts another

SKIP: {
    skip 'no backup ran', 6 unless $s;
    my $cut = $s->{current}{file};
    my $yaml = do { local (@ARGV, $/) = ($b1->prefix . '/conf/node.yaml'); <> };
    $b1->set_yaml($yaml =~ s/backup_schedule: "\* \* \* \* \*"/backup_schedule: "0 0 1 1 *"/r);
    kill 'HUP', $b1->{pid};
    my $new = status_when($b1, 20, sub {
        $_[0]{schedule} eq '0 0 1 1 *' && !$_[0]{running}
        && ($_[0]{last}{file} // '') eq $cut });
    ok($new, 'after a reload, nothing runs');
    is($new && $new->{last}{ok}, JSON::PP::false, 'the backup cut short failed');
    like($new && $new->{last}{error}, qr/^cut short: the cluster agent stopped/,
         'saying why');
    ok(!-e "$dir/$cut.tmp" && !-e "$dir/$cut", 'no file of it is left');
    like($b1->log_text, qr/removed ".*\Q$cut\E\.tmp", the temporary file of a backup cut short/,
         'the removal is logged');
    is(metric($b1, 'kvs_backups_total', result => 'failed'), 1,
       'counted as failed');
}

# a POST's backup, and the audit entries of both

($st) = $b1->request(POST => '/api/backup');
is($st, 202, 'another POST: 202');
$s = status_when($b1, 90, sub { !$_[0]{running} && !$_[0]{pending}
                                && $_[0]{last}{ok} });
ok($s, 'it finishes ok');
is(scalar @{ $s->{backups} }, 2, 'two files now');
cmp_ok($s->{backups}[0]{created_at}, '>', $s->{backups}[1]{created_at},
       'newest first');

($st, $h, $body) = $b1->request(GET => '/api/audit?limit=1000');
my @entries = grep { $_->{kind} =~ /^backup_/ }
              sort { $a->{seq} <=> $b->{seq} }
              @{ $json->decode($body)->{entries} };
is_deeply([ map { "$_->{kind} $_->{method} $_->{client} $_->{status}" } @entries ],
          [ 'backup_started CRON agent 202', 'backup_finished CRON agent 200',
            'backup_started POST 127.0.0.1 202', 'backup_finished - agent 500',
            'backup_started POST 127.0.0.1 202',
            'backup_finished POST 127.0.0.1 200' ],
          'audit: started and finished of each, who asked, the outcome')
    or diag explain \@entries;
is($entries[-1]{object}, $s->{last}{file}, 'naming the file');

# the retention: this node's files older than 7 days go

my $day = 86400;
my @old = (name_at('b1', time - 10 * $day), name_at('b1', time - 8 * $day));
my @kept = (name_at('b1', time - 6 * $day), name_at('other', time - 10 * $day),
            'notes.txt');
$b1->put_file("backups/$_", "x") for @old, @kept;
# a link named like an old backup: the retention leaves it (not a file it
# made), so the status does not list it either
my $link = name_at('b1', time - 9 * $day);
symlink("$dir/notes.txt", "$dir/$link") or die "symlink: $!";
my $before = $s->{last}{file};
($st) = $b1->request(POST => '/api/backup');
$s = status_when($b1, 90, sub { !$_[0]{running} && !$_[0]{pending}
                                && $_[0]{last}{file} ne $before });
ok($s && $s->{last}{ok}, 'a backup with old files about');
ok(!-e "$dir/$old[0]" && !-e "$dir/$old[1]", 'the files 8 and 10 days old are gone');
ok(-e "$dir/$kept[0]", 'the one 6 days old stays');
ok(-e "$dir/$kept[1]" && -e "$dir/notes.txt", "other nodes' files and others stay");
like($b1->log_text, qr/backup ".*\Q$old[0]\E" deleted: older than backup_retention_days \(7\)/,
     'each deletion is logged');
is(scalar @{ $s->{backups} }, 4, 'the status lists the three new and the 6-day one');
ok(-l "$dir/$link", 'a link named like a backup 9 days old stays');
ok(!grep({ $_->{file} eq $link } @{ $s->{backups} }), 'and is not listed');

$c2->stop;
$b1->stop;


# a rename refused after the whole file was written: no file is left, and
# the retention keeps the newest backup however old

my $b3 = KVS::Node->new(name => 'b3', workers => 1,
    yaml => "backup_dir: bk\nbackup_retention_days: 7\n",
    server => 'location = /metrics { kvs_metrics; }');
my $bk = $b3->prefix . '/bk';
make_path($bk);
my @older = (name_at('b3', time - 10 * $day), name_at('b3', time - 9 * $day));
my $stale = name_at('b3', time - 3600) . '.tmp';
$b3->put_file("bk/$_", "x") for @older, $stale;

# a directory holds every name the backup may take
my $t0 = int time;
for my $sec ($t0 - 2 .. $t0 + 20) {
    make_path("$bk/" . name_at('b3', $sec) . '/keep');
}
$b3->start;
($st) = $b3->request(PUT => '/kv/a', body => '1');

ok(wait_for(5, sub { !-e "$bk/$stale" }), 'a stale temporary file is removed at start');

# the agent removes the file, then records its backup: the status may lag
# the removal by a moment
$s = status_when($b3, 5, sub { ($_[0]{last}{file} // '') eq ($stale =~ s/\.tmp$//r) });
is($s && $s->{last}{file}, $stale =~ s/\.tmp$//r, 'and its backup recorded');
like($s && $s->{last}{error}, qr/^cut short/, 'as cut short');

($st) = $b3->request(POST => '/api/backup');
is($st, 202, 'POST');
$s = status_when($b3, 20, sub { !$_[0]{running} && !$_[0]{pending}
                                && $_[0]{last}{file} ne ($stale =~ s/\.tmp$//r) });
ok($s, 'the backup ends');
is($s && $s->{last}{ok}, JSON::PP::false, 'failed');
like($s && $s->{last}{error}, qr/^".*\.mdb\.zst" exists already \(a backup of the same second, another agent's or an earlier one's\): it stays, and this one is dropped$/,
     'the final name found taken, and not replaced');
is_deeply([ grep { /\.tmp$/ } files_of($bk) ], [], 'no temporary file is left');
ok(-d "$bk/" . ($s ? $s->{last}{file} : '') . '/keep', 'what held the name is intact');
ok(!-e "$bk/$older[0]", 'the retention ran: 10 days old is gone');
ok(-e "$bk/$older[1]", 'the newest backup, 9 days old, stays');
is_deeply([ map { $_->{file} } @{ $s->{backups} } ], [ $older[1] ],
          'the status lists files, not the directories');
like($b3->log_text, qr/\[error\].*kvs: backup ".*" failed: ".*" exists already/,
     'the failure is logged');
is(metric($b3, 'kvs_backups_total', result => 'failed'), 2,
   'counted, with the one cut short');
is(metric($b3, 'kvs_backup_last_success_timestamp_seconds'), 0,
   'no success yet');
$b3->stop;
$b3->start;
is_deeply(status($b3)->{last}, $s->{last}, 'the last backup survives a restart');
$b3->stop;


# backup_dir under a regular file: mkdir fails whoever runs it

my $b4 = KVS::Node->new(name => 'b4', workers => 1,
    yaml => "backup_dir: conf/node.yaml/backups\n",
    server => 'location = /metrics { kvs_metrics; }');
$b4->start;
($st) = $b4->request(POST => '/api/backup');
is($st, 202, 'POST');
$s = status_when($b4, 20, sub { $_[0]{last} && !$_[0]{running} });
is($s && $s->{last}{ok}, JSON::PP::false, 'the backup failed');
like($s && $s->{last}{error},
     qr/^creating backup_dir ".*conf\/node\.yaml\/backups" failed: Not a directory$/,
     'saying what and why');
is_deeply($s && $s->{backups}, [], 'no backups');
like($b4->log_text, qr/\[warn\].*kvs: backup_dir ".*\/backups" cannot be made; backups fail until it can/,
     'the start warned');
like($b4->log_text, qr/\[error\].*kvs: backup ".*" failed: creating backup_dir/,
     'the failure is logged');
is(metric($b4, 'kvs_backups_total', result => 'failed'), 1, 'counted');

# the project's JSON 405s

($st, $h, $body) = $b4->request(DELETE => '/api/backup/status');
is($st, 405, 'DELETE /api/backup/status: 405');
is($h->{allow}, 'GET, HEAD', 'Allow: GET, HEAD');
like($body, qr/^\{"error":"the method DELETE is not allowed/, 'a JSON error');
($st, $h, $body) = $b4->request(GET => '/api/backup');
is($st, 405, 'GET /api/backup: 405');
is($h->{allow}, 'POST', 'Allow: POST');
$b4->stop;

# backup_dir a regular file itself: said so, not the temporary file's
# "Not a directory"

my $b5 = KVS::Node->new(name => 'b5', workers => 1,
                        yaml => "backup_dir: conf/node.yaml
");
$b5->start;
($st) = $b5->request(POST => '/api/backup');
is($st, 202, 'backup_dir a file: POST');
$s = status_when($b5, 20, sub { $_[0]{last} && !$_[0]{running} });
is($s && $s->{last}{ok}, JSON::PP::false, 'backup_dir a file: the backup failed');
like($s && $s->{last}{error}, qr/^backup_dir ".*conf\/node\.yaml" is not a directory$/,
     'saying so');
like($b5->log_text, qr/\[warn\].*kvs: backup_dir ".*conf\/node\.yaml" is not a directory; backups fail until it is/,
     'the start warned');
like(`cat ${\ $b5->prefix }/conf/node.yaml`, qr/^backup_dir: conf\/node\.yaml$/m,
     'the file is untouched');
$b5->stop;


# near max_db_size, the pages a backup pins fill the map: PUTs get 507,
# never a 500, and once the backup ends the same PUTs fit again

my $bf = KVS::Node->new(name => 'bf', workers => 1,
    yaml => "compression_enabled: false\nbackup_compression_level: 19\n"
            . "max_db_size: 8m\n");
$bf->start;
open $rnd, '<', '/dev/urandom' or die $!;
for my $i (1 .. 30) {
    read $rnd, my $bytes, 50000;
    ($st) = $bf->request(PUT => "/kv/big/$i",
                         body => '"' . unpack('H*', $bytes) . '"');
    die "PUT: $st" unless $st == 200;
}
close $rnd;
($st) = $bf->request(POST => '/api/backup');
ok(status_when($bf, 5, sub { $_[0]{running} }), 'a slow backup of 3 MB runs');
my (%during, $i);
my $t1 = time;
while (status($bf)->{running} && time - $t1 < 60) {
    ($st) = $bf->request(PUT => '/kv/small/' . ($i++ % 500),
                         body => '"' . ('x' x 1000) . '"');
    $during{$st}++;
}
ok($during{507}, "PUTs during it fill the 8 MB map: 507 ($during{507} of $i)");
is_deeply([ grep { $_ != 200 && $_ != 507 } keys %during ], [],
          'and nothing but 200 and 507');
my %after;
for my $k (1 .. 50) {
    ($st) = $bf->request(PUT => "/kv/small/$k", body => '"' . ('y' x 1000) . '"');
    $after{$st}++;
}
is_deeply(\%after, { 200 => 50 }, 'once it ended, 50 PUTs fit');
ok(status($bf)->{last}{ok}, 'the backup itself is whole');
$bf->stop;

# with auth on, admins only

my $ba = KVS::Node->new(name => 'ba', workers => 1,
    yaml => "auth_enabled: true\njwt_secret_file: conf/jwt.secret\n"
            . "admin_password_file: conf/admin.pw\naudit_enabled: false\n");
$ba->put_file('conf/jwt.secret', "$KVS::Token::Secret\n");
$ba->put_file('conf/admin.pw', "admin-password\n");
$ba->start;

sub bearer_of {
    return { Authorization => 'Bearer ' . KVS::Token::mint(
        sub => $_[0], iat => time + 300, exp => time + 900) };
}

my $admin = bearer_of($KVS::Token::Admin);
($st) = $ba->request(POST => '/api/users', headers => $admin,
                     body => '{"username":"bob","password":"bob-password"}');
is($st, 201, 'auth on: an admin creates bob');
my $bob = bearer_of(KVS::Token::user_uuid('bob'));
($st) = $ba->request(GET => '/api/backup/status');
is($st, 401, 'no token: 401');
($st, $h, $body) = $ba->request(GET => '/api/backup/status', headers => $bob);
is($st, 403, 'bob, no admin: 403 for the status');
like($body, qr/only admins may see the backups/, 'saying so');
($st, $h, $body) = $ba->request(POST => '/api/backup', headers => $bob);
is($st, 403, 'and for a POST');
is(status_of($ba, $admin)->{pending}, JSON::PP::false, 'which asked for nothing');
($st) = $ba->request(POST => '/api/backup', headers => $admin);
is($st, 202, 'an admin\'s POST: 202');
$s = wait_for(20, sub { (status_of($ba, $admin)->{last} // {})->{ok} })
     && status_of($ba, $admin);
ok($s && $s->{last}{ok}, 'its backup is written');
$ba->stop;

# a reload while a POST's backup is pending: the old agent, which the
# master tells to quit once the new one runs, must not take the request
# on its way out (it would start the backup, exit, and leave the status
# saying "running" for good); the two agents are stopped by turns so
# that the old one's tick comes after the new one's start

my $br = KVS::Node->new(name => 'br', workers => 1,
    yaml => "backup_enabled: false\ngossip_interval_min: 0.2\n"
            . "gossip_interval_max: 0.4\n");
$br->start;
$br->request(PUT => "/kv/r$_", body => '{"n":1}') for 1 .. 20;

my $old = $br->helper_pid;
kill 'STOP', $old;
($st) = $br->request(POST => '/api/backup');
is($st, 202, 'reload: the POST is pending');
kill 'HUP', $br->{pid};
my $newer;
wait_for(10, sub {
    ($newer) = grep { $_ != $old && KVS::Node::title($_) =~ /kvs agent process/ }
              $br->pids;
    return $newer;
});
ok($newer, 'reload: a new agent runs');
kill 'STOP', $newer if $newer;
ok(status($br)->{pending}, 'reload: the request still pending');
sleep 0.8;                                # the old agent's tick is due
kill 'CONT', $old;
my $gone = wait_for(5, sub { !kill 0, $old });
# the new agent may have been stopped inside a commit, holding LMDB's
# writer lock, which the old one's tick then waits for (seen under ASan):
# the new one goes on, and the old one must then exit all the same
kill 'CONT', $newer if $newer;
ok($gone || wait_for(10, sub { !kill 0, $old }), 'reload: the old agent exited');
$s = status_when($br, 20, sub { !$_[0]{running} && !$_[0]{pending}
                                && ($_[0]{last} // {})->{ok} });
ok($s, 'reload: the new agent ran the backup, and the status says so');
($st) = $br->request(POST => '/api/backup');
is($st, 202, 'reload: a POST after it is taken (no backup "runs")');
ok(status_when($br, 20, sub { !$_[0]{running} && !$_[0]{pending} }),
   'reload: and its backup ends');
$br->stop;

done_testing;
