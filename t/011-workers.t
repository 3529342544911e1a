# Two workers, concurrent writers: every write is answered once its commit
# is durable, overwrites of one key from many clients leave exactly one
# acknowledged version, and both workers serve reads of what the other wrote.
use strict;
use warnings;
use Test::More;
use KVS::Node;

my $node = KVS::Node->new(name => 'workers', workers => 2);
$node->start;
is(scalar($node->worker_pids), 2, 'two workers run');

my ($clients, $per) = (8, 60);
my $dir = $node->prefix;
my @kids;
for my $c (1 .. $clients) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open my $log, '>', "$dir/client-$c" or die $!;
        for my $i (1 .. $per) {
            my ($st, $h) = $node->request(PUT => "/kv/own/$c/$i",
                                          body => qq({"c":$c,"i":$i}));
            print $log "own $st $h->{etag}\n";
            ($st, $h) = $node->request(PUT => '/kv/shared/counter',
                                       body => qq({"c":$c,"i":$i}));
            print $log "shared $st $h->{etag} $c $i\n";
        }
        exit 0;
    }
    push @kids, $pid;
}
waitpid $_, 0 for @kids;

my (%status, %shared);
for my $c (1 .. $clients) {
    open my $f, '<', "$dir/client-$c" or die $!;
    while (<$f>) {
        my ($kind, $st, $etag, @v) = split;
        $status{$st}++;
        $shared{$etag} = \@v if $kind eq 'shared';
    }
}
is_deeply(\%status, { 200 => 2 * $clients * $per },
          'every concurrent PUT answered 200');
is(scalar keys %shared, $clients * $per,
   'each overwrite of the shared key got its own version');

my $bad = 0;
for my $c (1 .. $clients) {
    for my $i (1 .. $per) {
        my ($st, $h, $b) = $node->request(GET => "/kv/own/$c/$i");
        $bad++ unless $st == 200 && $b eq qq({"c":$c,"i":$i});
    }
}
is($bad, 0, 'every key written by a client reads back');

my ($st, $h, $b) = $node->request(GET => '/kv/shared/counter');
is($st, 200, 'the shared key reads back');
my $v = $shared{$h->{etag}};
ok($v, 'its ETag is one of the acknowledged versions');
is($b, qq({"c":$v->[0],"i":$v->[1]}), 'and its value is that version\'s')
    if $v;

unlike($node->log_text, qr/\[(alert|crit|emerg|error)\]/,
       'no errors in the error log');
$node->stop;
done_testing;
