# Listing paths longer than 448 bytes: the store keys them by a digest, so
# they list in digest order, not key order -- but each key still exactly
# once, however long the prefix or the level, and paging through them with
# "next" sees every one.  The pages' order is the digest's, so each
# listing is compared as a set and paging follows each page's "next" into
# the next request, which Test::Nginx's blocks cannot: this suite runs its
# node itself (KVS::Node).  Listing in key order is t/009-listing.t.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use KVS::Node;

my $node = KVS::Node->new(name => 'list-long', workers => 2);
$node->start;

sub put {
    my ($key) = @_;
    my ($st, $h, $b) = $node->request(PUT => "/kv/$key", body => '{"x":1}');
    die "PUT $key: $st $b" unless $st == 200;
}

sub esc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\/._~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

my $json = JSON::PP->new;

# one page as {keys, next}, or a string saying what came instead
sub page {
    my ($uri) = @_;
    my ($st, $h, $b) = $node->request(GET => $uri);
    return "status $st: $b" unless $st == 200;
    my $page = eval { $json->decode($b) } or return "not JSON: $b";
    return $page;
}

# follows "next" from the first page; every entry seen, in order, and how
# many pages it took (at most $max: a listing that never ends stops there)
sub all_pages {
    my ($prefix, $query, $max) = @_;
    my (@seen, $after);
    for my $n (1 .. $max) {
        my $q = join '&', grep { length } $query,
                          defined $after ? 'after=' . esc($after) : '';
        my $page = page("/kv/$prefix" . ($q ? "?$q" : ''));
        return ("$page", $n) unless ref $page;
        push @seen, @{ $page->{keys} };
        $after = $page->{next};
        return (\@seen, $n) unless defined $after;
    }
    return (\@seen, $max);
}

# compares as sets, and on failure says what came, the long part shortened
sub listed_once {
    my ($got, $want, $name) = @_;
    my @got = ref $got ? sort @$got : ();
    my %n;
    $n{ s/L{450}/L{450}/r }++ for @got;
    ok(ref $got && "@got" eq join(' ', sort @$want), $name)
        or diag ref $got
              ? scalar(@got) . ' entries: '
                . join(', ', map { "$_ ($n{$_}x)" } sort keys %n)
              : $got;
}

my $L = 'L' x 450;
my @long = map { "long/$L/$_" } qw(w x/a x/b x/c y z/q);
put($_) for @long, 'long/zz';

my ($seen) = all_pages("long/$L/", '', 10);
listed_once($seen, \@long, 'a prefix of 456 bytes lists the six keys under it');
($seen) = all_pages("long/$L/", 'recursive=false', 10);
listed_once($seen, [map { "long/$L/$_" } qw(w x/ y z/)],
            'recursive=false under it: w, x/, y, z/, once each');
($seen) = all_pages('long/', 'recursive=false', 10);
listed_once($seen, ["long/$L/", 'long/zz'],
            'recursive=false above it: the 456-byte level once, and long/zz');
($seen) = all_pages('long/', 'limit=2', 10);
listed_once($seen, [@long, 'long/zz'],
            'a short prefix pages through the long keys, each once');

# a block of long keys sharing their first 448 bytes holds at most 1,000:
# a listing reads a block whole to order it, so a client PUT may not make
# one larger (written in parallel by curl: 1,000 PUTs, one connection each)
my $B = 'blk/' . ('B' x 444);
my $base = 'http://127.0.0.1:' . $node->port;
my $out = `curl -sS --no-progress-meter -Z --parallel-max 16 -o /dev/null -w '%{http_code}\\n' -X PUT -d 1 '$base/kv/$B/k[000-999]' 2>/dev/null`;
my %st;
$st{$_}++ for split /\n/, $out;
is_deeply(\%st, { 200 => 1000 }, '1,000 keys sharing their first 448 bytes written');
my ($st, $h, $b) = $node->request(PUT => "/kv/$B/k1000", body => '1');
is($st, 409, 'a 1,001st is refused with a 409');
is($b, qq({"error":"key \\"$B/k1000\\" not created: 1000 keys share its first 448 bytes, the most that may (keys longer than that are listed in digest order, so a listing reads all of them at once)"}\n),
   'saying why');
($st) = $node->request(GET => "/kv/$B/k1000");
is($st, 404, 'and it was not written');
($st) = $node->request(PUT => "/kv/$B/k500", body => '2');
is($st, 200, 'a key of the block is still overwritten');
($st) = $node->request(DELETE => "/kv/$B/k501");
is($st, 204, 'and deleted');
($st) = $node->request(PUT => "/kv/$B/k501", body => '3');
is($st, 200, 'and written again: its tombstone held its place');
($st) = $node->request(PUT => "/kv/blk/${\ ('C' x 444)}/k0", body => '1');
is($st, 200, 'a long key of another block is taken');
my $page = page("/kv/$B/?limit=2");
is(ref $page ? scalar @{ $page->{keys} } : $page, 2, 'the block lists');

unlike($node->log_text, qr/\[(alert|crit|emerg|error)\]/, 'no errors in the log');
$node->stop;
done_testing;
