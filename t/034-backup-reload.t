# A reload that lands as a scheduled backup falls due: the new agent
# takes over the schedule while the old one has not yet ticked onto the
# minute, and the backup of that minute runs all the same (before
# 2026-12-04 the new agent scheduled the minute after, and the backup of
# that minute was skipped without a word).
use strict;
use warnings;
use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep time);
use KVS::Node qw(wait_for);

sub status { $_[0]->backup_status }

# the backups the status knows of, running or done, by their start
sub started {
    my ($s) = @_;
    return grep { defined } map { $_ && $_->{started_at} } $s->{current}, $s->{last};
}

my $n = KVS::Node->new(name => 'br', workers => 1,
    yaml => "backup_enabled: true\nbackup_schedule: \"* * * * *\"\n");
$n->start;
my ($st) = $n->request(PUT => '/kv/a', body => '1');
is($st, 200, 'a node that backs up every minute holds a key');

# The old agent ticks every half second and would start the backup itself
# when it ticks first; it is stopped over the minute, so that the new one
# takes over a schedule whose minute has come and nobody started.
my $old = $n->helper_pid;
ok($old, 'the cluster agent runs');
my $minute = (int(time / 60) + 1) * 60;
$minute += 60 if $minute - time < 3;
sleep $minute - 1 - time;
kill 'STOP', $old;
sleep $minute + 0.2 - time;
kill 'HUP', $n->master_pid;
my $new = wait_for(10, sub {
    grep { $_ != $old && KVS::Node::title($_) =~ /kvs agent process/ } $n->pids
});
kill 'CONT', $old;
ok($new, 'a reload at the minute starts a new agent');

my $ran = wait_for(8, sub {
    grep { $_ >= $minute * 1000 && $_ < $minute * 1000 + 8000 }
        started(status($n))
});
ok($ran, "and that minute's backup runs");
my $s = status($n);
cmp_ok($s->{next_run}, '>=', ($minute + 60) * 1000,
       'the next is a minute later');
ok(wait_for(15, sub { !status($n)->{running} && status($n)->{last} }),
   'and it ends');
is(status($n)->{last}{ok}, JSON::PP::true, 'written');
ok(wait_for(10, sub { !kill 0, $old }), 'the old agent exited');

unlike($n->log_text, qr/\[(alert|crit|emerg)\]|exited on signal/, 'no crash');
$n->stop;
done_testing;
