# Keys that expire, on the clock: PUT ?ttl=N answers X-KVS-Expires-At,
# the write's own timestamp + N s in ms (default_ttl's too, and a ?ttl
# percent-encoded), every read shows that same time until then, a refused
# PUT keeps the version and its expiry, and from the expiry moment on the
# key is gone for every request at once (GET, HEAD, ?meta, DELETE,
# listings, If-None-Match: *), before any sweep; the sweep then logs what it
# removed.  These stories compare a header with the timestamp another part
# of the answer gives and wait for the clock, which Test::Nginx's blocks
# cannot, so this suite runs its nodes itself (KVS::Node).  The rules of
# ?ttl, one answer at a time, are t/007-ttl.t.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use KVS::Node qw(wait_for);
use Time::HiRes qw(time);

my $node = KVS::Node->new(name => 'ttl', workers => 2);
my $dflt = KVS::Node->new(name => 'ttl-default', workers => 1,
                          yaml => "default_ttl: 1\n");
$node->start;
$dflt->start;

sub now_ms { int(time * 1000) }

sub put {
    my ($n, $uri, $body, %h) = @_;
    my ($st, $h, $b) = $n->request(PUT => $uri, body => $body, headers => \%h);
    my ($ts) = $b =~ /"timestamp":(\d+)/;
    return ($st, $h->{'x-kvs-expires-at'}, $ts, $h, $b);
}

sub keys_under {
    my ($n, $prefix) = @_;
    my ($st, $h, $b) = $n->request(GET => "/kv/$prefix");
    return $st == 200 ? decode_json($b)->{keys} : "status $st";
}

# default_ttl: 1 -- these expire while the rest of the file runs
my @dkeys = map { "d/$_" } 1 .. 3;
for my $k (@dkeys) {
    my ($st, $exp, $ts) = put($dflt, "/kv/$k", qq({"k":"$k"}));
    is($st, 200, "PUT $k without ?ttl under default_ttl: 1");
    is($exp, $ts + 1000, 'X-KVS-Expires-At is its timestamp + 1000 ms');
}
my ($st, $exp, $ts, $h, $b) = put($dflt, '/kv/d/zero?ttl=0', '0');
is($st, 200, '?ttl=0 under default_ttl');
($st, $exp, $ts) = put($dflt, '/kv/d/long?ttl=60', '60');
is($exp, $ts + 60_000, '?ttl=60 overrides default_ttl');

# a query is percent-decoded, names and values, as a key is
($st, $exp, $ts) = put($node, '/kv/enc/value?ttl=%31%30', '1');
is($st, 200, 'PUT ?ttl=%31%30 answers 200');
is($exp, $ts + 10_000, 'and expires in 10 s: the value is decoded');
($st, $exp, $ts) = put($node, '/kv/enc/name?%74tl=20', '1');
is($exp, $ts + 20_000, '?%74tl=20 is ttl=20: so is the name');

# ?ttl=2 on a node without default_ttl
my $value = '{"session":"abc123"}';
($st, $exp, $ts, $h) = put($node, '/kv/t/k?ttl=2', $value);
is($st, 200, 'PUT ?ttl=2 answers 200');
is($exp, $ts + 2000, 'with X-KVS-Expires-At: its timestamp + 2000 ms');
my ($etag, $k_exp) = ($h->{etag}, $exp);

($st, $h, $b) = $node->request(GET => '/kv/t/k');
is($st, 200, 'GET before the expiry answers 200');
is($b, $value, 'the value');
is($h->{'x-kvs-expires-at'}, $exp, 'with the same X-KVS-Expires-At');
($st, $h) = $node->request(HEAD => '/kv/t/k');
is($h->{'x-kvs-expires-at'}, $exp, 'HEAD too');
($st, $h, $b) = $node->request(GET => '/kv/t/k?meta');
like($b, qr/"expires_at":$exp,/, '?meta "expires_at" is the same time');
is_deeply(keys_under($node, 't/'), ['t/k'], 'the key is listed');

($st) = put($node, '/kv/t/plain', '1');
is($st, 200, 'a key without ?ttl');

# an overwrite without ?ttl takes the expiry away (t/007-ttl.t): the key
# outlives the first version's expiry
put($node, '/kv/t/kept?ttl=1', '"short"');
($st) = put($node, '/kv/t/kept', '"kept"');
is($st, 200, 'a key of ?ttl=1 overwritten without ?ttl');
my $kept_until = now_ms() + 1000;

# a bad ?ttl is a 400 (its sentences are t/007-ttl.t's), and the key
# keeps its version and expiry
for my $q ('ttl=-1', 'ttl=abc', 'ttl=1.5', 'ttl=', 'ttl=3153600001', 'ttl=5&ttl=5') {
    ($st) = $node->request(PUT => "/kv/t/k?$q", body => '"bad"');
    is($st, 400, "PUT ?$q is a 400");
}
($st, $h, $b) = $node->request(DELETE => '/kv/t/k?ttl=5');
is($st, 400, 'and so is DELETE ?ttl=5');
($st, $h, $b) = $node->request(GET => '/kv/t/k');
is($b, $value, 'after them the value is unchanged');
is($h->{etag}, $etag, 'at the same version');
is($h->{'x-kvs-expires-at'}, $k_exp, 'with the same expiry');

# the expiry moment: gone at once, without waiting for the sweep
ok(wait_for(4, sub { now_ms() > $k_exp }), 'the expiry moment passes');
($st, $h, $b) = $node->request(GET => '/kv/t/k');
is($st, 404, 'right after it GET is a 404');
is($b, qq({"error":"key \\"t/k\\" not found"}\n), 'key not found');
($st) = $node->request(HEAD => '/kv/t/k');
is($st, 404, 'HEAD is a 404');
($st) = $node->request(GET => '/kv/t/k?meta');
is($st, 404, '?meta is a 404');
($st) = $node->request(DELETE => '/kv/t/k');
is($st, 404, 'DELETE is a 404');
is_deeply(keys_under($node, 't/'), ['t/kept', 't/plain'],
          'the listing leaves it out');
($st, $exp, my $ts2, $h) = put($node, '/kv/t/k', '"again"', 'If-None-Match' => '*');
is($st, 200, 'If-None-Match: * creates it again: an expired key is absent');
($st, $h, $b) = $node->request(GET => '/kv/t/k?meta');
like($b, qr/"created_at":$ts2,/, 'as a new key, created now');

# the overwrite without ?ttl outlived the first expiry
ok(wait_for(2, sub { now_ms() > $kept_until }), 'a second passes');
($st, $h, $b) = $node->request(GET => '/kv/t/kept');
is($st, 200, 'the key overwritten without ?ttl is still there');
is($b, '"kept"', 'with its new value');

# default_ttl's keys expired too; the sweep says so, once each
for my $k (@dkeys) {
    ($st) = $dflt->request(GET => "/kv/$k");
    is($st, 404, "$k expired after default_ttl");
}
is_deeply(keys_under($dflt, 'd/'), ['d/long', 'd/zero'],
          '?ttl=0 and ?ttl=60 keys are still listed');
my $swept = sub {
    my $n = 0;
    $n += $_ for $dflt->log_text =~ /\[info\].*kvs: swept (\d+) expired records/g;
    return $n;
};
ok(wait_for(3, sub { $swept->() >= 3 }), 'the sweep logs "kvs: swept N expired records" at info');
is($swept->(), 3, 'N adds up to the three expired keys');

for my $n ($node, $dflt) {
    unlike($n->log_text, qr/\[(alert|crit|emerg|error)\]/, 'no errors in the log');
    $n->stop;
}
done_testing;
