# A value of exactly max_json_size bytes is written and reaches a peer,
# with max_json_size at 1 MiB and at 4 MiB: the module owns the body
# limits of its locations (a client's body up to max_json_size, a peer's
# batch up to 2 x max_json_size + 64 KiB), whatever nginx's
# client_max_body_size says there, and "nginx -t" warns when one written
# for a KVS location is below what the location takes; nodes of different
# max_json_size replicate each other's largest values.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(seeds wait_for);

my $secret = 'big-values-cluster-secret-0123456789';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\n"
           . "failure_timeout: 3\nremoval_timeout: 60\npeer_timeout: 5\n"
           . "cluster_secret: $secret\ncompression_enabled: false\n"
           . "max_db_size: 256m\nsync_interval: 3600\n";

# a JSON string of exactly $n bytes
sub value { my ($n) = @_; '"' . substr('abcdefghijklmnopqrstuvwxyz' x ($n / 26 + 1), 0, $n - 2) . '"' }

for my $case (['1m', 1 << 20, 'client_max_body_size 1m;'],
              ['4m', 4 << 20, ''])
{
    my ($size, $n, $server) = @$case;
    my $yaml = $timing . "max_json_size: $size\n";
    my $a = KVS::Node->new(name => "big$size-a", server => $server,
                           yaml => $yaml . "seed_nodes: []\n");
    my $b = KVS::Node->new(name => "big$size-b", server => $server,
                           yaml => $yaml . 'seed_nodes: ' . seeds($a) . "\n");

    my ($rc, $out) = $a->test_config;
    is($rc, 0, "max_json_size $size: nginx -t passes");
    if ($server) {
        like($out, qr/\[warn\].*kvs: client_max_body_size 1048576 .* is below the \d+ bytes this location takes/,
             '"nginx -t" warns of a client_max_body_size below what the location takes');
    } else {
        unlike($out, qr/client_max_body_size/, 'and says nothing of client_max_body_size when none is written');
    }

    $_->start for $a, $b;
    ok(wait_for(10, sub { !grep { (($_->request(GET => '/health'))[2] // '') !~ /"member_count":2/ } $a, $b }),
       "max_json_size $size: two nodes know each other");

    my $value = value($n);
    is(length $value, $n, "a value of exactly $n bytes");
    my ($st, $h, $body) = $a->request(PUT => '/kv/big/value', body => $value);
    is($st, 200, "max_json_size $size: it is written") or diag $body;
    my $etag = $h->{etag} // '';

    # by push: anti-entropy, which would pull it in the end, waits an hour
    ok(wait_for(3, sub { my @r = $b->request(GET => '/kv/big/value');
                         $r[0] == 200 && ($r[1]{etag} // '') eq $etag }),
       "max_json_size $size: it reaches the peer");
    unlike($a->log_text, qr/pushing changes .* answered 413/, 'no push is refused as too large');
    ($st, $h, $body) = $b->request(GET => '/kv/big/value');
    ok($st == 200 && $body eq $value, 'the same bytes');

    ($st, $h, $body) = $a->request(PUT => '/kv/big/over', body => value($n + 1));
    is($st, 413, 'one byte more is refused');
    like($body, qr/larger than max_json_size/, 'by the module, saying so');

    $_->stop for $a, $b;
}

# nodes of different max_json_size: a peer's signed batch may carry the
# protocol's largest value whatever the receiver's own limit (a node of
# 1m refused the 3 MiB batch of a node of 4m with 413, the push retried it
# for good, and nothing written after it reached the smaller node)
{
    my $big = KVS::Node->new(name => 'mixed-4m',
                             yaml => $timing . "max_json_size: 4m
seed_nodes: []
");
    my $small = KVS::Node->new(name => 'mixed-1m',
                               yaml => $timing . "max_json_size: 1m
seed_nodes: "
                                       . seeds($big) . "\n");
    $_->start for $big, $small;
    ok(wait_for(20, sub { !grep { (($_->request(GET => '/health'))[2] // '') !~ /"mode":"normal","member_count":2/ } $big, $small }),
       'max_json_size 4m and 1m: two nodes know each other, bootstrapped');
    my $value = value(3 << 20);
    my ($st) = $big->request(PUT => '/kv/big/mixed', body => $value);
    is($st, 200, 'a value of 3 MiB on the node of 4m');
    ($st) = $big->request(PUT => '/kv/big/after', body => '1');
    ok(wait_for(5, sub { ($small->request(GET => '/kv/big/after'))[0] == 200 }),
       'a write after it reaches the node of 1m');
    my ($s2, $h2, $b2) = $small->request(GET => '/kv/big/mixed');
    ok($s2 == 200 && $b2 eq $value, 'and so does the value of 3 MiB, by push');
    unlike($big->log_text, qr/answered 413/, 'no push was refused');

    # a stranger is held to the node's own limit: a body over it is a 413
    # unless it is signed, and a signature over a declared digest that is
    # not the cluster's is refused before the body is read
    my $body = 'x' x (3 << 20);
    ($st) = $small->request(POST => '/_cluster/apply', body => $body,
        headers => { 'X-KVS-Node' => 'mixed-4m', 'X-KVS-Date' => int(time * 1000),
                     'X-KVS-Signature' => 'ab' x 32 });
    is($st, 413, 'an unsigned 3 MiB batch to the node of 1m: 413');
    ($st, undef, my $why) = $small->request(POST => '/_cluster/apply', body => $body,
        headers => { 'X-KVS-Node' => 'mixed-4m', 'X-KVS-Date' => int(time * 1000),
                     'X-KVS-Signature' => 'ab' x 32,
                     'X-KVS-Content-SHA256' => 'cd' x 32 });
    is($st, 401, 'with a declared digest and a forged signature: 401');
    like($why, qr/the signature does not match/, 'saying so');
    my %signed = (%{ KVS::Node::sign_headers($secret, 'POST', '/_cluster/apply',
                                             'x', 'mixed-4m') },
                  'X-KVS-Content-SHA256' => 'ee' x 32);
    ($st) = $small->request(POST => '/_cluster/apply', body => 'x',
                            headers => \%signed);
    is($st, 401, 'a signed body whose declared digest is not its own: 401');

    # a new node of 1m bootstraps from the other node of 1m (the one of 4m
    # stopped, so that it is the only source): that
    # one's answer to a fetch is cut to its own batch, so the value of 3 MiB
    # goes alone and the rest is asked again in the same walk (it came in
    # no answer, and the bootstrap ended without it), and the agent's
    # buffer grows to take it
    my $fresh = KVS::Node->new(name => 'mixed-fresh',
                               yaml => $timing . "max_json_size: 1m\nseed_nodes: "
                                       . seeds($small) . "\n");
    $big->stop;
    $fresh->start;
    ok(wait_for(20, sub { (($fresh->request(GET => '/health'))[2] // '') =~ /"mode":"normal"/ }),
       'a new node of 1m bootstraps from the other');
    like($fresh->log_text, qr/bootstrap from "mixed-1m" done, 2 records pulled/,
         'both records pulled in its walk');
    ($s2, $h2, $b2) = $fresh->request(GET => '/kv/big/mixed');
    ok($s2 == 200 && $b2 eq $value, 'with the value of 3 MiB');
    $_->stop for $small, $fresh;
}

# where the limit is written: inherited from http is written too; 0 (no
# limit) and a limit above what the location takes say nothing
for my $case (['http', 'client_max_body_size 2m;', '', 1],
              ['server, unlimited', '', 'client_max_body_size 0;', 0],
              ['server, larger', '', 'client_max_body_size 3m;', 0])
{
    my ($where, $http, $server, $warns) = @$case;
    my $n = KVS::Node->new(name => "limit-$where" =~ s/\W+/-/gr,
                           http => $http, server => $server,
                           yaml => "cluster_secret: $secret\n");
    my ($rc, $out) = $n->test_config;
    is($rc, 0, "client_max_body_size in $where: nginx -t passes");
    if ($warns) {
        like($out, qr/client_max_body_size 2097152 of the location in \S+:\d+ is below the 2162688 bytes this location takes \(a peer's batch\)/,
             'and warns: a batch of max_json_size 1m takes 2 MiB + 64 KiB');
    } else {
        unlike($out, qr/client_max_body_size/, 'and says nothing of it');
    }
}

done_testing;
