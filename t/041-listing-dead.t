# A listing walks past dead records (tombstones, expired values) and
# earlier versions without listing them; past 10,000 of them in one
# request the page ends early, even empty, with "next" set to the last dead
# record it passed, so that a prefix whose keys were deleted or expired by
# the thousand costs each page a bounded walk on the worker's event loop,
# and paging with "next" still lists every live key exactly once, levels
# included.  Twelve thousand keys are written with curl's parallel
# transfers; paging follows each page's "next", which Test::Nginx's blocks
# cannot: this suite runs its node itself (KVS::Node).
use strict;
use warnings;
use Test::More;
use JSON::PP;
use KVS::Node qw(wait_for);

my $node = KVS::Node->new(name => 'list-dead', workers => 2);
$node->start;
my $base = 'http://127.0.0.1:' . $node->port;
my $json = JSON::PP->new;

# $n keys of the glob, each PUT with the query given; the statuses counted
sub put_many {
    my ($glob, $query) = @_;
    my $out = `curl -sS --no-progress-meter -Z --parallel-max 16 -o /dev/null -w '%{http_code}\\n' -X PUT -d '{"x":1}' '$base/kv/$glob$query' 2>/dev/null`;
    my %st;
    $st{$_}++ for split /\n/, $out;
    return \%st;
}

# every page of a listing, following "next"
sub pages {
    my ($prefix, $query) = @_;
    my ($after, @pages) = ('');
    for (1 .. 100) {
        my ($st, undef, $b) = $node->request(GET => "/kv/$prefix?limit=1000$query$after");
        die "GET /kv/$prefix: $st $b" unless $st == 200;
        my $page = $json->decode($b);
        push @pages, $page;
        last unless defined $page->{next};
        (my $n = $page->{next}) =~ s/([^A-Za-z0-9\/._~-])/sprintf '%%%02X', ord $1/ge;
        $after = "&after=$n";
    }
    return @pages;
}

# 12,000 keys that expire at once, between two live ones
my $st = put_many('d/k[00000-11999]', '?ttl=1');
is_deeply($st, { 200 => 12000 }, '12,000 keys written with a TTL of 1 s');
($st) = $node->request(PUT => '/kv/d/a', body => '"first"');
is($st, 200, 'd/a written, before them');
($st) = $node->request(PUT => '/kv/d/z', body => '"last"');
is($st, 200, 'd/z written, after them');
ok(wait_for(10, sub { ($node->request(GET => '/kv/d/k11999'))[0] == 404 }),
   'the 12,000 keys expired');

my @pages = pages('d/', '');
my @keys = map { @{ $_->{keys} } } @pages;
is_deeply(\@keys, ['d/a', 'd/z'], 'paging lists the two live keys, each once');
ok(@pages >= 2, 'over more than one page: ' . scalar(@pages));
is_deeply($pages[0]{keys}, ['d/a'], 'the first page ends early, at its walk\'s bound');
like($pages[0]{next} // '', qr{^d/k\d{5}$}, '... its "next" the last expired key it passed');
is($pages[-1]{next}, undef, 'the last page says no more follow');

# the same keys deleted: tombstones are passed as expired records are
$st = put_many('t/k[00000-11999]', '');
is_deeply($st, { 200 => 12000 }, '12,000 keys written');
my $out = `curl -sS --no-progress-meter -Z --parallel-max 16 -o /dev/null -w '%{http_code}\\n' -X DELETE '$base/kv/t/k[00000-11999]' 2>/dev/null`;
my %del;
$del{$_}++ for split /\n/, $out;
is_deeply(\%del, { 204 => 12000 }, 'and deleted');
($st) = $node->request(PUT => '/kv/t/z', body => '"alive"');
@pages = pages('t/', '');
is_deeply([map { @{ $_->{keys} } } @pages], ['t/z'], 'past 12,000 tombstones, the one live key');
is_deeply($pages[0]{keys}, [], 'the first page is empty');
like($pages[0]{next} // '', qr{^t/k\d{5}$}, '... and says where to go on');

# not recursive: a level whose first 12,000 keys are dead lists once, when
# a live key follows them; one whose keys are all dead does not list
($st) = $node->request(PUT => '/kv/t/k11999/deep', body => '"under"');
is($st, 200, 'a live key under the level t/k11999/');
$st = put_many('r/lvl/k[00000-11999]', '?ttl=1');
is_deeply($st, { 200 => 12000 }, '12,000 keys under r/lvl/, with a TTL of 1 s');
($st) = $node->request(PUT => '/kv/r/lvl/zz', body => '1');
($st) = $node->request(PUT => '/kv/r/m', body => '2');
is($st, 200, 'a live key after them in the level, and one after the level');
ok(wait_for(10, sub { ($node->request(GET => '/kv/r/lvl/k11999'))[0] == 404 }),
   'the 12,000 keys expired');
@pages = pages('r/', '&recursive=false');
is_deeply([map { @{ $_->{keys} } } @pages], ['r/lvl/', 'r/m'],
          'the level is listed once, then the key after it');
ok(@pages >= 2, 'over more than one page: ' . scalar(@pages));
like($pages[0]{next} // '', qr{^r/lvl/k\d{5}$},
     'the first stopped inside the level, which it had not listed yet');
@pages = pages('', '&recursive=false');
my @top = map { @{ $_->{keys} } } @pages;
is_deeply(\@top, ['d/', 'r/', 't/'], 'the top level lists each level once');
@pages = pages('t/', '&recursive=false');
is_deeply([map { @{ $_->{keys} } } @pages], ['t/k11999/', 't/z'],
          'a level behind 12,000 tombstones lists once');

# a walk of live keys and their earlier versions alone is not cut short
($st) = $node->request(GET => '/kv/d/?limit=2');
is($st, 200, 'a page of live keys');

like($node->log_text, qr/^(?!.*\[(alert|emerg|crit)\]).*\z/s, 'no alert in the error log');
$node->stop;
done_testing;
