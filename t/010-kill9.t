# Durability: kill -9 of the master and every worker in the middle of a
# write load loses no acknowledged write, and the store reopens cleanly.
use strict;
use warnings;
use Test::More;
use KVS::Node;
use Time::HiRes qw(sleep time);

my $node = KVS::Node->new(name => 'kill9', workers => 2);
$node->start;

my $writers = 6;
my $dir = $node->prefix;
my @kids;

for my $w (1 .. $writers) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open my $log, '>', "$dir/acked-$w" or die $!;
        $log->autoflush(1);
        my $deadline = time + 20;
        for (my $i = 0; time < $deadline; $i++) {
            my ($st, $h, $b) = eval {
                $node->request(PUT => "/kv/dur/$w/$i",
                               body => qq({"writer":$w,"i":$i}))
            };
            last unless defined $st;
            print $log "dur/$w/$i $h->{etag}\n" if $st == 200;
        }
        exit 0;
    }
    push @kids, $pid;
}

sleep 1.5;
my @pids = $node->pids;
ok(@pids >= 3, "master and workers are running (@pids)");
$node->kill9;
ok(!(grep { KVS::Node::running($_) } @pids), 'kill -9 took every nginx process');
waitpid $_, 0 for @kids;

my %acked;
for my $w (1 .. $writers) {
    open my $f, '<', "$dir/acked-$w" or die $!;
    while (<$f>) {
        chomp;
        my ($key, $etag) = split / /;
        $acked{$key} = $etag;
    }
}
cmp_ok(scalar keys %acked, '>', 50,
       'writers had writes acknowledged before the kill');

$node->start;
my ($lost, $wrong) = (0, 0);
for my $key (sort keys %acked) {
    my ($st, $h, $b) = $node->request(GET => "/kv/$key");
    my ($w, $i) = $key =~ m{dur/(\d+)/(\d+)};
    if ($st != 200) {
        $lost++;
        diag "lost: $key ($st)" if $lost < 5;
    } elsif ($h->{etag} ne $acked{$key} || $b ne qq({"writer":$w,"i":$i})) {
        $wrong++;
    }
}
is($lost, 0, 'every acknowledged write is there after restart ('
             . scalar(keys %acked) . ' writes)');
is($wrong, 0, 'with the acknowledged version and value');

my ($st) = $node->request(PUT => '/kv/after/restart', body => '{"ok":true}');
is($st, 200, 'the reopened store takes writes');
unlike($node->log_text, qr/\[(alert|crit|emerg)\]/,
       'no alert, crit or emerg in the error log');

$node->stop;
done_testing;
