# Reload (HUP) and graceful stop (QUIT) under a write load: in-flight writes
# (those being compressed too) are answered before old workers exit,
# nothing acknowledged is lost, no request gets a 5xx, and no worker
# dies on its way out.
use strict;
use warnings;
use Test::More;
use KVS::Node;
use Time::HiRes qw(sleep time);

my $node = KVS::Node->new(name => 'reload', workers => 2);
$node->start;
my $dir = $node->prefix;

sub writers {
    my ($tag, $secs) = @_;
    my @kids;
    for my $w (1 .. 4) {
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            open my $log, '>', "$dir/$tag-$w" or die $!;
            $log->autoflush(1);
            my $deadline = time + $secs;
            for (my $i = 0; time < $deadline; $i++) {
                # half the writers send values that are compressed on the
                # thread pool before they are queued
                my $body = $w % 2 ? qq({"i":$i})
                                  : qq({"i":$i,"pad":") . ('x' x 1000) . '"}';
                my ($st, $h) = eval {
                    $node->request(PUT => "/kv/$tag/$w/$i", body => $body)
                };
                last unless defined $st;
                print $log "$tag/$w/$i $st\n";
            }
            exit 0;
        }
        push @kids, $pid;
    }
    return @kids;
}

sub results {
    my ($tag) = @_;
    my (%st, @acked);
    for my $w (1 .. 4) {
        open my $f, '<', "$dir/$tag-$w" or next;
        while (<$f>) {
            my ($key, $st) = split;
            $st{$st}++;
            push @acked, $key if $st == 200;
        }
    }
    return (\%st, \@acked);
}

my @old = $node->worker_pids;
my @kids = writers('hup', 2.5);
sleep 0.8;
kill 'HUP', $node->{pid};
sleep 0.8;
waitpid $_, 0 for @kids;
my ($st, $acked) = results('hup');
is_deeply([sort keys %$st], ['200'], 'every write across a reload answered 200');
ok($node->wait_gone(@old),
   'the old workers exited');
my $missing = grep { ($node->request(GET => "/kv/$_"))[0] != 200 } @$acked;
is($missing, 0, scalar(@$acked) . ' writes across the reload all read back');

@kids = writers('quit', 3);
sleep 0.8;
my @pids = $node->pids;
kill 'QUIT', $node->{pid};
$node->wait_gone(@pids);
waitpid $_, 0 for @kids;
($st, $acked) = results('quit');
ok(!(grep { $_ >= 500 } keys %$st), 'no 5xx while shutting down')
    or diag explain $st;
$node->start;
$missing = grep { ($node->request(GET => "/kv/$_"))[0] != 200 } @$acked;
is($missing, 0, scalar(@$acked) . ' writes acknowledged before the stop read back');

# Reloads in a row, each after writes that hash on the thread pool: a
# worker unloads the module as it exits, and a thread of its pool may
# still be ending then.  (Before the fix, one in some thirty exits died
# of SIGSEGV in a thread-exit destructor of the unloaded module.)
for my $round (1 .. 40) {
    my @old = $node->worker_pids;
    $node->request(PUT => "/kv/rounds/$round/$_", body => qq({"i":$_}))
        for 1 .. 6;
    kill 'HUP', $node->{pid};
    $node->wait_gone(@old) or last;
}
is(($node->request(GET => '/kv/rounds/40/6'))[0], 200,
   '40 reloads in a row, each after writes');
my @alerts = grep { /\[(alert|crit|emerg)\]/ } split /\n/, $node->log_text;
is(scalar @alerts, 0, 'no alerts in the log') or diag join "\n", @alerts;
$node->stop;
done_testing;
