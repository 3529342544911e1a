# A binary upgrade (USR2 to the master) over a scheduled backup: the old
# master and the new one each run an agent with shared memory of its own,
# and both start the backup of the minute, in the same second, under one
# name.  One is written, whole; the other fails, saying the temporary
# file is another backup's, and touches nothing of it.  Before 2026-12-04
# both wrote one temporary file (O_TRUNC), the log said it was written,
# and the file kept was corrupt (zstd -t: "Data corruption detected").
# Each agent ticks every half second, so both start within half a second
# of the minute: one name.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(sleep time);
use KVS::Node qw(wait_for);

sub status { $_[0]->backup_status }

# level 19 of values that do not compress: the backup takes seconds, so
# that the two agents' backups overlap
# nginx gives the binary it starts on USR2 only the environment "env"
# names: under SANITIZE=1 (t/run's wrapper) that is ASan's runtime too
my $n = KVS::Node->new(name => 'bu', workers => 1,
    main => "env LD_PRELOAD;\nenv ASAN_OPTIONS;\nenv UBSAN_OPTIONS;",
    yaml => "compression_enabled: false\nbackup_enabled: false\n");
$n->start;
my $c = $n->connection;
my $ok = 0;
for my $i (1 .. 3000) {
    my $v = join '', map { sprintf '%08x', int rand 0xffffffff } 1 .. 125;
    my ($st) = $c->request(PUT => "/kv/big/$i", body => qq("$v"));
    $ok++ if $st == 200;
}
is($ok, 3000, 'a store of 3,000 values of 1 KB of random hex');
$n->stop;

# one backup, at a minute far enough ahead for a start and an upgrade
my $minute = (int(time / 60) + 1) * 60;
$minute += 60 if $minute - time < 15;
my @t = gmtime $minute;
my $name = sprintf 'kvs-bu-%04d%02d%02dT%02d%02d%02dZ.mdb.zst',
                   $t[5] + 1900, $t[4] + 1, $t[3], $t[2], $t[1], $t[0];
my $yaml = do {
    open my $f, '<', $n->prefix . '/conf/node.yaml' or die $!;
    local $/;
    <$f>;
};
$yaml =~ s/^backup_enabled: false\n/backup_enabled: true\nbackup_schedule: "$t[1] * * * *"\nbackup_compression_level: 19\n/m
    or die "no backup_enabled in node.yaml";
$n->set_yaml($yaml);
$n->start;
$c = $n->connection;
diag sprintf 'waiting %d s for the scheduled backup', $minute - time;

# two masters run from here: a test that dies stops both, each with its
# processes (KVS::Node knows one master, and the new one is a child of the
# old, whose children a KILL of it would leave behind)
my ($old, $new);
END {
    my @p = map { local $n->{pid} = $_; $n->pids }
            grep { $_ && KVS::Node::running($_) } $new, $old;
    if (@p) {
        kill 'QUIT', grep { $_ && KVS::Node::running($_) } $new, $old;
        $n->wait_gone(@p);
    }
}

# a pid of 0 or 1 would signal the test's process group or init
$old = $n->master_pid;
BAIL_OUT('no master pid') unless $old && $old > 1;
kill 'USR2', $old;
ok(wait_for(10, sub {
    -e $n->prefix . '/logs/nginx.pid.oldbin'
        && ($n->master_pid // $old) != $old
}), 'USR2: a new master runs beside the old one');
$new = $n->master_pid;
BAIL_OUT('no new master pid') unless $new && $new > 1;
my $old_agent = do { local $n->{pid} = $old; $n->helper_pid };
my $new_agent = do { local $n->{pid} = $new; $n->helper_pid };
ok($new && $new != $old && $old_agent && $new_agent
   && $new_agent != $old_agent, 'each master has its agent');

my $dir = $n->prefix . '/backups';
my $log = sub { join '', grep { /\Q$name\E"/ } split /^/, $n->log_text };

# the loser's failure is recorded at once, the winner's file seconds later:
# the status says the one, then the other.  Writes go on meanwhile, so
# that the two backups' snapshots differ: two streams of one snapshot are
# the same bytes, and one file written by both would look whole.
sleep $minute - 1 - time;
my ($failed, $ended);
my $deadline = time + 60;
for (my $i = 0; time < $deadline; $i++) {
    for (1 .. 20) {
        eval { $c->request(PUT => "/kv/during/" . ($i % 100),
                           body => qq({"i":$i})); 1 }
            or $c = $n->connection;
    }
    my $s = eval { status($n) };
    $failed //= $s->{last} if $s && $s->{last}
                              && ($s->{last}{file} // '') eq $name
                              && !$s->{last}{ok};
    my $l = $log->();
    my $outcomes = () = $l =~ /" (?:written|failed): /g;
    if ($outcomes >= 2) {
        $ended = $l;
        last;
    }
}
ok($ended, "both agents' backups of $name end") or diag $log->();
$ended //= '';

my @started = $ended =~ /\] (\d+)#\d+: kvs: backup "[^"]*" started, on schedule/g;
ok(@started == 2 && $started[0] != $started[1],
   'both agents started it, under one name') or diag $ended;
my @written = $ended =~ /\] (\d+)#\d+: kvs: backup "[^"]*" written: /g;
is(scalar(@written), 1, 'one is written') or diag $ended;
like($ended, qr/\[error\] (\d+)#\d+: kvs: backup "[^"]*\Q$name\E" failed: the temporary file "[^"]*\Q$name\E\.tmp" is taken by another backup of the same name \(another agent's in the same second, as during a binary upgrade, or one cut short\): this one is not written/,
     'the other fails, saying the temporary file is another backup\'s');
ok($failed && $failed->{error} =~ /is taken by another backup of the same name/,
   'and its status "last" said so') or diag explain $failed;

opendir my $dh, $dir or die "$dir: $!";
my @files = sort grep { !/^\./ } readdir $dh;
closedir $dh;
is_deeply(\@files, [ $name ], 'one file, no temporary file left');
my $t = `zstd -t '$dir/$name' 2>&1`;
is($?, 0, 'the file is one whole zstd frame (zstd -t)') or diag $t;
my $s = status($n);
ok($s->{last}{ok} && $s->{last}{file} eq $name, 'the status says it was written')
    or diag explain $s->{last};

unlike($n->log_text, qr/\[(alert|crit|emerg)\]|exited on signal/, 'no crash');

kill 'QUIT', $old;
ok(wait_for(10, sub { !KVS::Node::running($old) }), 'the old master quits');
$n->{pid} = $new if $new;
$n->stop;
done_testing;
