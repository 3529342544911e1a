# nginx's helper processes: the cache manager runs the cluster agent, and a
# proxy_cache_path makes nginx spawn a cache loader beside it for a minute,
# which must run none.  Until 2026-12-04 every helper ran an agent: two
# gossiped and pushed at once, and the loader, started last, owned the
# backups until it exited after 60 s, after which every backup stayed
# "pending" for good.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(wait_for);

my $node = KVS::Node->new(name => 'loader', workers => 1,
                          yaml => "backup_enabled: true\nbackup_schedule: \"0 0 1 1 *\"\n",
                          http => 'proxy_cache_path cache keys_zone=kvsloader:1m;');
$node->start;

sub titles {
    my $master = $node->master_pid;
    my @t;
    for my $pid (`ps -o pid= --ppid $master` =~ /(\d+)/g) {
        open my $f, '<', "/proc/$pid/cmdline" or next;
        local $/;
        (my $cmd = <$f> // '') =~ s/\0.*//s;
        push @t, $cmd;
    }
    return sort @t;
}

ok(wait_for(10, sub { grep { /kvs agent process/ } titles() }),
   'the agent runs in the cache manager');
my @t = titles();
is(scalar(grep { /cache loader process/ } @t), 1, 'beside nginx\'s cache loader')
    or diag explain \@t;
is(scalar(grep { /kvs agent process|cache manager process/ } @t), 1,
   'one helper runs the agent') or diag explain \@t;
sleep 1;
my @started = $node->log_text =~ /cluster agent of node "loader" started/g;
is(scalar @started, 1, 'one agent started') or diag $node->log_text;

# the backup is the agent's in the cache manager
my ($st) = $node->request(POST => '/api/backup');
is($st, 202, 'a backup is asked for');
ok(wait_for(10, sub {
       my (undef, undef, $b) = $node->request(GET => '/api/backup/status');
       $b =~ /"pending":false/ && $b =~ /"running":false/ && $b =~ /"ok":true/
   }), 'and taken by the agent');

$node->stop;
done_testing;
