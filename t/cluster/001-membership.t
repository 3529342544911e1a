# Gossip membership on real nodes: the original's three-node example, a
# fourth node seeded only by the third, failure and removal after kill -9,
# rejoining with the original joined_timestamp, leaving on a graceful stop,
# a killed helper respawned, and signatures that keep strangers out.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(seeds wait_for);
use Time::HiRes qw(sleep time);

my $secret = 'test-cluster-secret-0123456789';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\n"
           . "failure_timeout: 2\nremoval_timeout: 4\npeer_timeout: 1\n"
           . "cluster_secret: $secret\n";


sub encode_member {
    my ($id, $node, $last_seen, $state) = @_;
    return qq([{"id":"$id","address":"127.0.0.1:) . $node->port
           . qq(","last_seen":$last_seen,"joined_timestamp":)
           . int(time * 1000 - 5000) . qq(,"state":"$state"}]);
}

sub members {
    my ($node) = @_;
    my ($st, $h, $b) = eval { $node->request(GET => '/members/') };
    return {} unless $st && $st == 200;
    my %m;
    while ($b =~ /\{"id":"([^"]+)","address":"([^"]+)","last_seen":(\d+),"joined_timestamp":(\d+),"state":"(\w+)"\}/g) {
        $m{$1} = { address => $2, last_seen => $3, joined => $4, state => $5 };
    }
    return \%m;
}

sub alive { my $m = members($_[0]); [sort grep { $m->{$_}{state} eq 'alive' } keys %$m] }


my $n1 = KVS::Node->new(name => 'n1', yaml => $timing . "seed_nodes: []\n");
my $n2 = KVS::Node->new(name => 'n2', yaml => $timing . 'seed_nodes: ' . seeds($n1) . "\n");
my $n3 = KVS::Node->new(name => 'n3', yaml => $timing . 'seed_nodes: ' . seeds($n1, $n2) . "\n");
$_->start for $n1, $n2, $n3;

my @three = sort qw(n1 n2 n3);
my $t0 = time;
ok(wait_for(10, sub {
       !grep { join(',', @{ alive($_) }) ne join(',', @three) } $n1, $n2, $n3
   }), 'every node lists n1, n2 and n3 alive');
diag sprintf 'full view after %.1f s', time - $t0;
my ($st, $h, $b) = $n2->request(GET => '/health');
like($b, qr/"member_count":3/, '/health counts three members');
my $joined_n2 = members($n1)->{n2}{joined};
ok($joined_n2, 'members carry joined_timestamp');

my $n4 = KVS::Node->new(name => 'n4', yaml => $timing . 'seed_nodes: ' . seeds($n3) . "\n");
$n4->start;
ok(wait_for(10, sub {
       !grep { @{ alive($_) } != 4 } $n1, $n2, $n3, $n4
   }), 'a node seeded only with n3 is known to all, and knows all');

my $joined_n4 = members($n1)->{n4}{joined};
sub state_of { ((members($_[0])->{$_[1]} // {})->{state} // '') }
my $age = int(time * 1000) - members($n1)->{n4}{last_seen};
cmp_ok($age, "<", 1500, "n1 heard of n4 ${age} ms ago, within a few rounds");
$n4->kill9;
$t0 = time;
ok(wait_for(10, sub {
       state_of($n1, 'n4') eq 'failed' && state_of($n2, 'n4') eq 'failed'
   }), 'after kill -9 the others mark n4 failed');
diag sprintf 'failure detected after %.1f s (failure_timeout 2 s)', time - $t0;
($st, $h, $b) = $n1->request(GET => '/health');
like($b, qr/"member_count":3/, 'and stop counting it');
ok(wait_for(10, sub { !members($n1)->{n4} && !members($n3)->{n4} }),
   'after removal_timeout n4 is removed');
like($n1->log_text, qr/member "n4" \(127\.0\.0\.1:\d+\) failed/, 'the failure is logged at notice');
# the agent deletes the member, then logs the change at its next look
ok(wait_for(5, sub { $n1->log_text =~ /member "n4" \(127\.0\.0\.1:\d+\) removed/ }),
   'and the removal');

$n4->start;
ok(wait_for(10, sub { state_of($n1, 'n4') eq 'alive' }),
   'restarted, n4 rejoins');
is(members($n1)->{n4}{joined}, $joined_n4, 'with its original joined_timestamp');

# a killed helper is respawned and gossip goes on
my $helper = $n2->helper_pid;
ok($helper, "n2's cluster agent runs in nginx's helper process ($helper)");
is(KVS::Node::title($helper) =~ s/\0.*//sr, 'nginx: kvs agent process',
   'which ps shows as what it is, not as the cache manager');
kill 'KILL', $helper;
ok(wait_for(5, sub { ($n2->helper_pid // $helper) != $helper }),
   'the master respawns it');
my $seen = members($n1)->{n2}{last_seen};
ok(wait_for(5, sub { members($n3)->{n2}{last_seen} > $seen + 500 }),
   'and n2 goes on gossiping');

# a stalled peer stalls nobody: n3 frozen, n1 and n2 go on and fail it
my @frozen = $n3->pids;
kill 'STOP', @frozen;
$seen = members($n1)->{n2}{last_seen};
ok(wait_for(8, sub { state_of($n1, 'n3') eq 'failed' && state_of($n2, 'n3') eq 'failed' }),
   'a frozen node (SIGSTOP) is failed after failure_timeout');
ok(wait_for(3, sub { members($n1)->{n2}{last_seen} > $seen + 1000 }),
   'while n1 and n2 go on gossiping');
kill 'CONT', @frozen;
ok(wait_for(8, sub { state_of($n1, 'n3') eq 'alive' && state_of($n2, 'n3') eq 'alive' }),
   'thawed (SIGCONT), it is alive again');

# a graceful stop leaves at once
$t0 = time;
$n4->stop;
ok(wait_for(1.5, sub { !members($n1)->{n4} && !members($n2)->{n4} && !members($n3)->{n4} }),
   'nginx -s quit on n4: the others drop it within a round, not after failure_timeout');
ok(wait_for(2, sub { ($n1->log_text . $n2->log_text . $n3->log_text) =~ /member "n4" \(127\.0\.0\.1:\d+\) left/ }),
   'logged as left');

# n1, seeded by the others but with no seeds of its own, down longer than
# removal_timeout: the others removed it, and it removed them at its first
# tick, so nobody called anyone and the cluster stayed split for good
$n1->stop;
sleep 5;
ok(!members($n2)->{n1} && !members($n3)->{n1}, 'n1 down 5 s: the others removed it');
$n1->start;
ok(wait_for(15, sub { !grep { (($_->request(GET => '/health'))[2] // '') !~ /"member_count":3/ } $n1, $n2, $n3 }),
   'n1 back: all three count three members again');
($st) = $n2->request(PUT => '/kv/after-the-split', body => '1');
ok(wait_for(5, sub { ($n1->request(GET => '/kv/after-the-split'))[0] == 200 }),
   'and a write on n2 reaches n1');

# signatures
my $body = '[{"id":"evil","address":"127.0.0.1:1","last_seen":1,"joined_timestamp":1,"state":"alive"}]';
($st, $h, $b) = $n1->request(POST => '/members/gossip', body => $body,
    headers => { 'X-KVS-Node' => 'evil', 'X-KVS-Date' => int(time * 1000),
                 'X-KVS-Signature' => 'ab' x 32 });
is($st, 401, 'a forged signature is refused with 401');
is($b, qq({"error":"the signature does not match"}\n), 'with a JSON sentence');
($st, $h, $b) = $n1->request(POST => '/members/join', body => $body);
is($st, 401, 'an unsigned join is refused');
like($b, qr/not signed/, 'saying so');
ok(!members($n1)->{evil}, 'and the member list is unchanged');
like($n1->log_text, qr/\[warn\].*refused POST \/members\/gossip from 127\.0\.0\.1 \(node "evil"\): the signature does not match/,
     'the refusal is logged');

# a correctly signed request, as a member would send it
sub signed {
    my ($node, $uri, $body, $from, $date) = @_;
    return $node->signed($secret, POST => $uri, $body, $from, $date);
}
my $now = int(time * 1000);
($st, $h, $b) = signed($n1, '/members/gossip', $body, 'evil', $now - 61_000);
is($st, 401, 'a signed request replayed after 61 s is refused');
like($b, qr/more than 60 s old/, 'as too old');
($st, $h, $b) = signed($n1, '/members/leave', $body, 'evil', $now);
is($st, 401, 'a signed leave from a node that is not a member is refused');
like($b, qr/node \\"evil\\" is not a member/, 'naming it');
($st, $h, $b) = signed($n1, '/members/gossip', '[]', 'n2', $now);
is($st, 200, 'while a fresh, correctly signed gossip is answered');
like($b, qr/"id":"n1"/, 'with the member list');
ok(!members($n1)->{evil}, 'and no stranger got in');

# a member's record stamped ahead of this node's clock (a peer's clock
# ahead, or a liar): it is not taken, and the member's own word beats a
# later stamp it already holds.  n3 says n2 left ten minutes from now; n2
# is alive and gossips to n1 every few hundred ms.
my $ahead = encode_member('n2', $n2, $now + 600_000, 'left');
($st) = signed($n1, '/members/gossip', $ahead, 'n3', int(time * 1000));
is($st, 200, 'a gossip that says n2 left, stamped 10 minutes ahead');
sleep 1;
ok(members($n1)->{n2} && members($n1)->{n2}{state} eq 'alive',
   'n2 stays alive on n1');
($st) = $n1->request(PUT => '/kv/after-the-lie', body => '1');
ok(wait_for(3, sub { ($n2->request(GET => '/kv/after-the-lie'))[0] == 200 }),
   'and n1 still pushes to it');

# within the bound (a minute ahead) the lie is taken, and n2's own next
# gossip puts it right, where the later stamp held it left for 30 s
($st) = signed($n1, '/members/gossip',
               encode_member('n2', $n2, int(time * 1000) + 30_000, 'left'),
               'n3', int(time * 1000));
is($st, 200, 'a gossip that says n2 left, stamped 30 s ahead');
ok(wait_for(2, sub { (members($n1)->{n2}{state} // '') eq 'alive' }),
   'n2 is alive again on n1 at its next gossip');

# the same stamp from n2 itself (its clock ahead): its own record is taken,
# as seen now
($st) = signed($n1, '/members/gossip',
               encode_member('n2', $n2, $now + 600_000, 'alive'), 'n2',
               int(time * 1000));
is($st, 200, 'n2 gossips with its clock 10 minutes ahead');
my $held = members($n1)->{n2};
ok($held && $held->{last_seen} < time * 1000 + 60_000,
   'n1 keeps n2 as seen by its own clock');

# an address no call could be made to is refused with the list
($st, $h, $b) = signed($n1, '/members/gossip',
    '[{"id":"nowhere","address":"nohost","last_seen":' . int(time * 1000)
    . ',"joined_timestamp":1}]', 'n2', int(time * 1000));
is($st, 400, 'a member whose address has no port: 400');
like($b, qr/a member's address is not host:port/, 'saying so');
ok(!members($n1)->{nowhere}, 'and it is not taken');

my $lonely = KVS::Node->new(name => 'nosecret',
                            yaml => 'seed_nodes: ' . seeds($n1) . "\n");
my ($rc, $out) = $lonely->test_config;
isnt($rc, 0, 'a node with seeds and no cluster_secret fails nginx -t');
like($out, qr/seed_nodes are set but cluster_secret is not/, 'with a sentence');

$_->stop for $n1, $n2, $n3;
done_testing;
