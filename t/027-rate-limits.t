# Rate limits beyond one request at a time: what nginx -t says of bad keys,
# per-user limits an admin sets through /api/users (with auth on, each user
# at its own number or the node's, anonymous clients per address), one
# limit across two workers, the sliding window across a boundary, and a
# tiny zone under many clients (set_real_ip_from makes them), whose least
# recently seen are forgotten while the limit still holds.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use KVS::Node;
use KVS::Token;


# nginx -t refuses bad keys with the file, the line and the key

my $t = KVS::Node->new(name => 'rate-t');
for my $case (
    [ "rate_limit_requests: -1\n",
      qr/node\.yaml:5: rate_limit_requests: -1 is out of range \(0\.\.1000000000\)/ ],
    [ "rate_limit_requests: lots\n",
      qr/node\.yaml:5: rate_limit_requests: expected an integer, got "lots"/ ],
    [ "rate_limit_window: 0\n",
      qr/node\.yaml:5: rate_limit_window: 0 is out of range \(1\.\.86400\)/ ],
    [ "rate_limit_zone_size: 10k\n",
      qr/node\.yaml:5: rate_limit_zone_size: 10k is out of range \(65536\.\.1073741824\)/ ],
    [ "rate_limit_burst: 5\n",
      qr/node\.yaml:5: rate_limit_burst: unknown key/ ],
) {
    my ($text, $re) = @$case;
    $t->set_yaml("node_id: rate-t\nbind_address: 127.0.0.1\nport: 1\n"
                 . "data_dir: ./data\n$text");
    my ($rc, $out) = $t->test_config;
    isnt($rc, 0, "nginx -t fails for: " . ($text =~ s/\n/\\n/gr));
    like($out, qr/\[emerg\].*$re/, 'naming the file, line and key');
}

$t->set_yaml("node_id: rate-t\ndata_dir: ./data\nrate_limit_requests: 10\n"
             . "rate_limit_window: 1\nrate_limit_zone_size: 64k\n");
my ($rc, $out) = $t->test_config;
is($rc, 0, 'the smallest window and zone pass nginx -t') or diag $out;

# per-user limits, auth on: the node's limit is 3 per minute

my $auth = "auth_enabled: true\njwt_secret_file: conf/jwt.secret\n"
         . "admin_password_file: conf/admin.pw\naudit_enabled: false\n";
my $node = KVS::Node->new(name => 'rate-users', workers => 1,
    yaml => $auth . "rate_limit_requests: 3\nrate_limit_window: 60\n");
$node->put_file('conf/jwt.secret', "$KVS::Token::Secret\n");
$node->put_file('conf/admin.pw', "admin-password\n");
$node->start;

# tokens minted as 025 does: issued after the users' passwords were set
sub bearer_of {
    my ($uuid) = @_;
    return { Authorization => 'Bearer ' . KVS::Token::mint(
        sub => $uuid, iat => time + 300, exp => time + 900) };
}

my $admin = bearer_of($KVS::Token::Admin);
my $alice = KVS::Token::user_uuid('alice');
my $bob = KVS::Token::user_uuid('bob');

# the admin's own first request counts: 1 of 3; then it has no limit
my ($st, $h, $b) = $node->request(PUT => "/api/users/$KVS::Token::Admin",
    headers => $admin, body => '{"rate_limit":0}');
is($st, 200, 'an admin gives itself a rate_limit of 0: none');
is($h->{'ratelimit-limit'}, 3, 'that request was under the node\'s limit');
like($b, qr/"rate_limit":0\}$/, 'the user shows its rate_limit');

for my $u ('alice', 'bob') {
    ($st, $h, $b) = $node->request(POST => '/api/users', headers => $admin,
        body => qq({"username":"$u","password":"$u-password"}));
    is($st, 201, "the admin creates $u, without a limit");
    unlike($b, qr/rate_limit/, "$u shows no rate_limit");
}
ok(!exists $h->{'ratelimit-limit'}, 'the admin\'s answers carry no limit');

($st, $h, $b) = $node->request(PUT => "/api/users/$alice", headers => $admin,
                               body => '{"rate_limit":5}');
is($st, 200, 'the admin sets alice\'s rate_limit to 5');
like($b, qr/"rate_limit":5\}$/, 'and the answer shows it');
($st, $h, $b) = $node->request(GET => "/api/users/$alice", headers => $admin);
like($b, qr/"rate_limit":5\}$/, 'GET /api/users/{uuid} shows it');

($st, $h, $b) = $node->request(PUT => "/api/users/$alice",
    headers => bearer_of($alice),
    body => '{"rate_limit":1000,"old_password":"alice-password",'
          . '"password":"alice-password2"}');
is($st, 403, 'alice may not change her own rate_limit');
is($h->{'ratelimit-limit'}, 5, 'that refusal counted against her limit');

($st, $h, $b) = $node->request(PUT => "/api/users/$alice", headers => $admin,
                               body => '{"rate_limit":"5"}');
is($st, 400, 'a rate_limit that is not a number: 400');

my (@alice, @bob);
for (1 .. 5) {
    ($st, $h) = $node->request(GET => '/kv/nothing',
                               headers => bearer_of($alice));
    push @alice, "$st/$h->{'ratelimit-limit'}/$h->{'ratelimit-remaining'}";
}
is_deeply(\@alice, ['404/5/3', '404/5/2', '404/5/1', '404/5/0', '429/5/0'],
          'alice is limited at her own 5 (one went to the 403)');
like($h->{'retry-after'}, qr/^\d+$/, 'with Retry-After');

for (1 .. 4) {
    ($st, $h, $b) = $node->request(GET => '/kv/nothing',
                                   headers => bearer_of($bob));
    push @bob, "$st/$h->{'ratelimit-limit'}/$h->{'ratelimit-remaining'}";
}
is_deeply(\@bob, ['404/3/2', '404/3/1', '404/3/0', '429/3/0'],
          'bob is limited at the node\'s 3, apart from alice');
like($b, qr/"too many requests: the limit of this user is 3 per 60 seconds/,
     'the sentence says it is the user\'s limit');

my @anon;
for (1 .. 4) {
    ($st, $h, $b) = $node->request(GET => '/kv/nothing');
    push @anon, "$st/$h->{'ratelimit-remaining'}";
}
is_deeply(\@anon, ['401/2', '401/1', '401/0', '429/0'],
          'requests without a token count against the address, apart '
          . 'from the users');

($st, $h, $b) = $node->request(PUT => "/api/users/$alice", headers => $admin,
                               body => '{"rate_limit":null}');
is($st, 200, 'the admin clears alice\'s rate_limit with null');
unlike($b, qr/rate_limit/, 'she shows none');
($st, $h) = $node->request(GET => '/kv/nothing', headers => bearer_of($alice));
is("$st/$h->{'ratelimit-limit'}", '429/3',
   'alice is now at the node\'s 3, and her window still holds 5');

($st, $h) = $node->request(GET => '/health');
is($st, 200, '/health answers an address over its limit');
unlike($node->log_text, qr/\[(alert|crit|error)\]/, 'no error logged');
$node->stop;

# a user's limit works where the node has none

my $own = KVS::Node->new(name => 'rate-own', workers => 1, yaml => $auth);
$own->put_file('conf/jwt.secret', "$KVS::Token::Secret\n");
$own->put_file('conf/admin.pw', "admin-password\n");
$own->start;
($st) = $own->request(POST => '/api/users', headers => $admin,
    body => '{"username":"carol","password":"carol-password",'
          . '"rate_limit":2}');
is($st, 201, 'a user created with a rate_limit of 2, the node with none');
my $carol = bearer_of(KVS::Token::user_uuid('carol'));
my @carol = map { ($own->request(GET => '/kv/x', headers => $carol))[0] }
            1 .. 3;
is_deeply(\@carol, [404, 404, 429], 'she is limited at 2');
($st, $h) = $own->request(GET => '/kv/x');
ok(!exists $h->{'ratelimit-limit'}, 'anonymous clients are not limited');
($st, $h) = $own->request(GET => '/kv/x', headers => $admin);
ok(!exists $h->{'ratelimit-limit'}, 'nor are users without a limit');
$own->stop;

# one limit across two workers: 8 clients at once, 20 per minute in all

my $two = KVS::Node->new(name => 'rate-workers', workers => 2,
    yaml => "rate_limit_requests: 20\nrate_limit_window: 60\n",
    server => 'add_header X-Worker $pid always; '
              . 'location = /metrics { kvs_metrics; }');
$two->start;
is(scalar($two->worker_pids), 2, 'two workers run');

my $dir = $two->prefix;
my @kids;
for my $c (1 .. 8) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open my $log, '>', "$dir/client-$c" or die $!;
        for (1 .. 15) {
            my ($s, $hh) = $two->request(GET => '/kv/k');
            print $log "$s $hh->{'x-worker'}\n";
        }
        close $log;
        exit 0;
    }
    push @kids, $pid;
}
waitpid $_, 0 for @kids;

my (%status, %workers);
for my $c (1 .. 8) {
    open my $f, '<', "$dir/client-$c" or die $!;
    while (<$f>) {
        my ($s, $w) = split;
        $status{$s}++;
        $workers{$w}++;
    }
}
is_deeply(\%status, { 404 => 20, 429 => 100 },
          '120 requests on both workers: exactly 20 admitted');
is(scalar keys %workers, 2, 'both workers answered')
    or diag explain \%workers;
my (undef, undef, $scrape) = $two->request(GET => '/metrics');
like($scrape, qr/^kvs_rate_limited_requests_total 100$/m,
     'the metrics count the 100 refused, over both workers');

# a reload keeps the zone, and with it the windows
my %old = map { $_ => 1 } $two->worker_pids;
kill 'HUP', $two->{pid};
ok(KVS::Node::wait_for(10, sub {
       my @now = grep { !$old{$_} } $two->worker_pids;
       return @now >= 2;
   }), 'a reload starts new workers');
($st, $h) = $two->request(GET => '/kv/k');
is("$st $h->{'ratelimit-remaining'}", '429 0',
   'their limit holds what the old workers counted');
$two->stop;

# the sliding window: 5 per 2 s.  A burst just before a whole 2 s and one
# just after it, where fixed windows would start afresh, get 5 in all; a
# client knocking every 20 ms then never gets more than 5 in any 2 s.

my $slide = KVS::Node->new(name => 'rate-slide', workers => 1,
    yaml => "rate_limit_requests: 5\nrate_limit_window: 2\n");
$slide->start;

my $edge = (int(time / 2) + 1) * 2;
sleep($edge - 0.15 - time) if $edge - 0.15 > time;
my $before = grep { ($slide->request(GET => '/kv/s'))[0] == 404 } 1 .. 5;
sleep($edge + 0.05 - time) if $edge + 0.05 > time;
my $after = grep { ($slide->request(GET => '/kv/s'))[0] == 404 } 1 .. 5;
is("$before+$after", '5+0', 'a fixed window\'s boundary lets no more in');

my @in;
my $end = time + 5;
my $first;
while (time < $end) {
    my ($s) = $slide->request(GET => '/kv/s');
    $first //= time if $s == 404;
    push @in, time if $s == 404;
    sleep 0.02;
}
ok($first && $first - $edge < 2.5,
   'refused requests did not count: the knocking client got in once '
   . 'the burst left the window');
my $most = 0;
for my $i (0 .. $#in) {
    my $n = grep { $_ >= $in[$i] && $_ < $in[$i] + 1.9 } @in;
    $most = $n if $n > $most;
}
ok($most <= 5, "never more than 5 in any 2 s (most: $most)");
ok(@in >= 6 && @in <= 15, 'and a window\'s 5 kept getting in ('
   . scalar(@in) . ' in 5 s)');
$slide->stop;

# a tiny zone and many clients: the least recently seen are forgotten,
# which the log says at info, and the limit still holds

my $lru = KVS::Node->new(name => 'rate-lru', workers => 1,
    yaml => "rate_limit_requests: 2\nrate_limit_window: 60\n"
          . "rate_limit_zone_size: 64k\n",
    http => "set_real_ip_from 127.0.0.1;\nreal_ip_header X-Real-IP;");
$lru->start;

my %lru;
for my $i (1 .. 1500) {
    my $ip = sprintf '10.%d.%d.%d', $i >> 16, ($i >> 8) & 255, $i & 255;
    ($st) = $lru->request(GET => '/kv/l', headers => { 'X-Real-IP' => $ip });
    $lru{$st}++;
}
is_deeply(\%lru, { 404 => 1500 }, '1500 clients, each admitted');
my @one = map { ($lru->request(GET => '/kv/l',
                 headers => { 'X-Real-IP' => '192.0.2.1' }))[0] } 1 .. 3;
is_deeply(\@one, [404, 404, 429], 'a client over its limit is refused');
like($lru->log_text,
     qr/\[info\].*kvs: the rate-limit zone "kvs_rate" is full: clients forgotten to make room so far: \d+;/,
     'the forgetting is logged at info');
unlike($lru->log_text, qr/\[(alert|crit|error)\]/, 'nothing alarming');
$lru->stop;

done_testing();
