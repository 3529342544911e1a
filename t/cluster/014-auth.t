# Users and tokens across three nodes with auth on: the admin created on
# node 1 logs in on node 3; a token issued on one node works on the others;
# a logout on node 2 is refused by node 1 within a second, even one that
# reaches a node before the token does; a user deleted while node 3 was
# frozen has its token refused there once it thaws; a change of password
# on one node revokes the user's tokens on all; a token whose user has not
# reached a node yet gets 503 with Retry-After; and two creations of one
# username on two nodes at once end as one user everywhere.  Anti-entropy
# and catch-up are off (600 s): push alone replicates, so that freezing a
# node's agent (SIGSTOP) holds back what that node wrote.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(seeds wait_for);
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

my $secret = 'auth-cluster-secret-0123456789';
my $jwt = 'cluster-jwt-' . ('s' x 32);
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\n"
           . "sync_interval: 600\ncatchup_interval: 600\n"
           . "failure_timeout: 3\nremoval_timeout: 60\npeer_timeout: 1\n"
           . "cluster_secret: $secret\n"
           . "auth_enabled: true\njwt_secret_file: conf/jwt.secret\n"
           . "audit_enabled: false\n";


sub json_field {
    my ($body, $name) = @_;
    return $body =~ /"$name":"([^"]*)"/ ? $1 : undef;
}

sub node {
    my ($name, $yaml) = @_;
    my $n = KVS::Node->new(name => $name, yaml => $timing . $yaml);
    $n->put_file('conf/jwt.secret', "$jwt\n");
    return $n;
}

sub login {
    my ($n, $user, $pass) = @_;
    return $n->request(POST => '/api/login',
                       body => qq({"username":"$user","password":"$pass"}));
}

sub bearer { { Authorization => "Bearer $_[0]" } }

# a user reading their own record: what a node thinks of the token
sub me {
    my ($n, $token, $uuid) = @_;
    return $n->request(GET => "/api/users/$uuid", headers => bearer($token));
}

my %A;    # the admin's token

# SIGSTOP for a node's agent, at a moment it holds no write transaction:
# frozen inside one, it would stall every write of the node (LMDB has one
# writer), so a write must go through while it is frozen, else the agent
# is thawed and frozen again.  The agent's pid, or undef.
sub freeze_agent {
    my ($n) = @_;
    my $pid = $n->helper_pid or return undef;
    for my $try (1 .. 10) {
        kill 'STOP', $pid;
        my $kid = fork // die "fork: $!";
        if ($kid == 0) {
            my ($st) = eval { $n->request(PUT => '/kv/probe', body => '1',
                                          headers => \%A) };
            POSIX::_exit(($st // 0) == 200 ? 0 : 1);
        }
        my $ok;
        my $done = wait_for(1, sub {
            return 0 unless waitpid($kid, WNOHANG) == $kid;
            $ok = $? == 0;
            return 1;
        });
        return $pid if $ok;
        diag 'the agent was frozen inside a write: thawed, frozen again';
        kill 'CONT', $pid;
        waitpid $kid, 0 unless $done;
        sleep 0.05;
    }
    return undef;
}

# the node's Merkle root: equal roots, equal records
sub root { ($_[0]->digest($secret) =~ /"root":"(\w+)"/)[0] // '' }

# polls me() every 20 ms until it answers $want, for at most $secs:
# the time it did, or undef
sub until_status {
    my ($secs, $want, @me) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        my ($st) = me(@me);
        return time if $st == $want;
        sleep 0.02;
    }
    return undef;
}

# a request that never answers would hang the suite: it gives up, and
# KVS::Node kills the nodes, after a minute
$SIG{ALRM} = sub { die "the suite took more than 60 s\n" };
alarm 60;

my $n1 = node('a1', "admin_password_file: conf/admin.pw\nseed_nodes: []\n");
$n1->put_file('conf/admin.pw', "admin-password\n");
my $n2 = node('a2', 'seed_nodes: ' . seeds($n1) . "\n");
my $n3 = node('a3', 'seed_nodes: ' . seeds($n1, $n2) . "\n");
my @all = ($n1, $n2, $n3);
$n1->start;
$_->start for $n2, $n3;
sub health { ($_[0]->request(GET => '/health'))[2] // '' }
ok(wait_for(10, sub { !grep { health($_) !~ /"mode":"normal","member_count":3/ }
                            @all }),
   'three nodes with auth on know each other, bootstrapped');

# the admin of node 1 logs in on node 3

like($n1->log_text, qr/created the user admin/,
     'node 1, with admin_password_file, creates the user admin');
unlike($n2->log_text . $n3->log_text, qr/created the user admin/,
       'nodes 2 and 3, without it, create none');

my ($st, $h, $b) = login($n1, 'admin', 'admin-password');
is($st, 200, 'the admin logs in on node 1');
my $admin_id = json_field($b, 'user');
my $admin1 = json_field($b, 'token');
%A = %{ bearer($admin1) };

ok(wait_for(10, sub { (login($n3, 'admin', 'admin-password'))[0] == 200 }),
   'and on node 3, seeded from node 1');
($st, $h, $b) = login($n3, 'admin', 'admin-password');
is(json_field($b, 'user'), $admin_id, 'as the same user');
my $admin3 = json_field($b, 'token');
($st, $h, $b) = login($n3, 'admin', 'wrong-password');
is("$st $b", qq(401 {"error":"wrong username or password"}\n),
   'node 3 refuses a wrong password for it');

# one secret: a token of node 1 works on nodes 2 and 3 at once

for my $i (1, 2) {
    ($st, $h, $b) = me($all[$i], $admin1, $admin_id);
    is($st, 200, 'a token issued on node 1 works on node ' . ($i + 1));
    like($b, qr/^\{"uuid":"$admin_id","username":"admin","groups":\["admin"\],/,
         '... as the admin');
}
($st) = me($n1, $admin3, $admin_id);
is($st, 200, 'and one issued on node 3 works on node 1');

# a logout on node 2 is refused by node 1 within a second

($st, $h, $b) = login($n2, 'admin', 'admin-password');
is($st, 200, 'the admin logs in on node 2');
my $revoked = json_field($b, 'token');
($st) = me($n1, $revoked, $admin_id);
is($st, 200, 'node 1 takes that token');
my $t0 = time;
($st, $h, $b) = $n2->request(POST => '/api/logout',
                              headers => bearer($revoked));
is("$st $b", qq(200 {"revoked":true}\n), 'it logs out on node 2');
my $took = until_status(3, 401, $n1, $revoked, $admin_id);
$took -= $t0 if defined $took;
ok(defined $took && $took < 1,
   'node 1 refuses it within a second of the logout')
    or diag defined $took ? "after $took s" : 'not within 3 s';
diag sprintf 'revoked on node 1 %.0f ms after the logout on node 2',
             1000 * $took if defined $took;
($st, $h, $b) = me($n1, $revoked, $admin_id);
is("$st $b", qq(401 {"error":"the token has been revoked"}\n),
   'as revoked');
like($h->{'www-authenticate'} // '', qr/^Bearer/, 'with WWW-Authenticate');
ok(defined until_status(1, 401, $n3, $revoked, $admin_id),
   'node 3 refuses it too');
($st) = me($n1, $admin1, $admin_id);
is($st, 200, 'the admin\'s other tokens still work');

# a logout that reaches a node before the token's record: node 1's agent
# frozen, its token stays there while node 2 revokes it; once the record
# arrives, the tombstone still wins

my $agent = freeze_agent($n1);
ok($agent, 'node 1\'s agent is frozen, outside a write');
($st, $h, $b) = login($n1, 'admin', 'admin-password');
is($st, 200, 'the admin logs in on node 1');
my $early = json_field($b, 'token');
($st, $h, $b) = $n2->request(POST => '/api/logout',
                              headers => bearer($early));
is("$st $b", qq(200 {"revoked":true}\n),
   'and out on node 2, which has not received the token');
($st, $h, $b) = me($n2, $early, $admin_id);
is("$st $b", qq(401 {"error":"the token has been revoked"}\n),
   'node 2 refuses it');
kill 'CONT', $agent;
ok(wait_for(5, sub { my $r = root($n1);
                     $r ne '' && root($n2) eq $r && root($n3) eq $r }),
   'once node 1\'s agent thaws, all three nodes hold the same records');
is_deeply([ map { (me($_, $early, $admin_id))[0] } @all ], [ 401, 401, 401 ],
          'and all three refuse that token');

# a user deleted while node 3 is frozen: refused there once thawed

($st, $h, $b) = $n1->request(POST => '/api/users', headers => \%A,
    body => '{"username":"dave","password":"dave-password"}');
is($st, 201, 'the admin creates dave on node 1');
my $dave_id = json_field($b, 'uuid');
ok(wait_for(2, sub { ($n3->request(GET => "/api/users/$dave_id",
                                   headers => \%A))[0] == 200 }),
   'dave reaches node 3');
($st, $h, $b) = login($n3, 'dave', 'dave-password');
is($st, 200, 'dave logs in on node 3');
my $dave = json_field($b, 'token');
($st, $h, $b) = me($n3, $dave, $dave_id);
is($st, 200, 'and reads himself there');

my @frozen = $n3->pids;
kill 'STOP', @frozen;
($st) = $n1->request(DELETE => "/api/users/$dave_id", headers => \%A);
is($st, 204, 'node 3 frozen, the admin deletes dave on node 1');
ok(defined until_status(1, 401, $n2, $dave, $dave_id),
   'node 2 refuses dave\'s token within a second');
sleep 1.5;
kill 'CONT', @frozen;
$t0 = time;
$took = until_status(10, 401, $n3, $dave, $dave_id);
$took -= $t0 if defined $took;
ok(defined $took, 'node 3, thawed, refuses dave\'s token once caught up');
diag sprintf 'refused on node 3 %.1f s after SIGCONT', $took if defined $took;
($st, $h, $b) = me($n3, $dave, $dave_id);
is("$st $b", qq(401 {"error":"the token's user has been deleted"}\n),
   'saying the user was deleted');
($st) = login($n3, 'dave', 'dave-password');
is($st, 401, 'dave cannot log in on node 3');
($st) = $n3->request(GET => "/api/users/$dave_id", headers => \%A);
is($st, 404, 'and the admin finds no dave there');

# a change of password revokes every token issued before it on every node,
# even one of the same second (tokens carry iat to the millisecond): a
# creation, a login and a change within one second, tried until they fit

my $changed = '401 {"error":"the token was revoked by a change of its '
            . 'user\'s password"}' . "\n";
my ($frank, $frank_id, $fit, $name);
for my $try (1 .. 3) {
    sleep int(time) + 1.02 - time;
    my $second = int time;
    $name = "frank$try";
    ($st, $h, $b) = $n1->request(POST => '/api/users', headers => \%A,
        body => qq({"username":"$name","password":"frank-password"}));
    $frank_id = json_field($b, 'uuid');
    ($st, $h, $b) = login($n1, $name, 'frank-password');
    $frank = json_field($b, 'token');
    ($st) = $n1->request(PUT => "/api/users/$frank_id", headers => \%A,
                         body => '{"password":"frank-password-2"}');
    $fit = $try if $st == 200 && int(time) == $second;
    last if $fit;
}
# the last try's new password on node 3 (a loaded machine may have made
# every try miss its second: then only what follows the SKIP runs)
my $reached = wait_for(2, sub { (login($n3, $name, 'frank-password-2'))[0]
                                == 200 });
SKIP: {
    skip 'a creation, a login and a change never fit in one second', 4
        unless $fit;
    ok($reached,
       'a user created, logged in on node 1 and given a new password '
       . 'there within one second: the new password reaches node 3');
    for my $i (0 .. 2) {
        # node 1 pushes the change to nodes 2 and 3 each on its own
        until_status(2, 401, $all[$i], $frank, $frank_id);
        ($st, $h, $b) = me($all[$i], $frank, $frank_id);
        is("$st $b", $changed,
           'the token issued before the change is refused on node '
           . ($i + 1));
    }
}

# and one issued a second before a change on node 2 is refused by the
# others within a second

($st, $h, $b) = login($n3, $name, 'frank-password-2');
is($st, 200, "$name logs in on node 3");
$frank = json_field($b, 'token');
sleep int(time) + 1.02 - time;
($st) = me($n1, $frank, $frank_id);
is($st, 200, 'node 1 takes that token');
($st) = $n2->request(PUT => "/api/users/$frank_id", headers => bearer($frank),
    body => '{"old_password":"frank-password-2",'
            . '"password":"frank-password-3"}');
is($st, 200, 'a second later, he changes his password on node 2');
# from the answer: the password's hash before it takes its own time (the
# hashing threads run at nice 19, slow under a sanitizer and a busy machine)
$t0 = time;
$took = until_status(3, 401, $n1, $frank, $frank_id);
$took -= $t0 if defined $took;
ok(defined $took && $took < 1, 'node 1 refuses his old token within a second')
    or diag defined $took ? "after $took s" : 'not within 3 s';
for my $i (0, 2) {
    # node 3 takes the change from node 2 apart from node 1
    until_status(2, 401, $all[$i], $frank, $frank_id);
    ($st, $h, $b) = me($all[$i], $frank, $frank_id);
    is("$st $b", $changed, 'node ' . ($i + 1) . ' refuses it, saying why');
}

# a token whose user has not reached a node: 503 with Retry-After, as
# long as node 1's agent, the only one that would push the user, is frozen

$agent = freeze_agent($n1);
ok($agent, 'node 1\'s agent is frozen again');
($st, $h, $b) = $n1->request(POST => '/api/users', headers => \%A,
    body => '{"username":"erin","password":"erin-password"}');
is($st, 201, 'the admin creates erin on node 1');
my $erin_id = json_field($b, 'uuid');
($st, $h, $b) = login($n1, 'erin', 'erin-password');
is($st, 200, 'erin logs in on node 1');
my $erin = json_field($b, 'token');
for my $i (1, 2) {
    ($st, $h, $b) = me($all[$i], $erin, $erin_id);
    is("$st $b", '503 {"error":"the token\'s user has not reached this '
                 . 'node yet; retry in a second"}' . "\n",
       'her token on node ' . ($i + 1) . ', which she has not reached: 503');
    is($h->{'retry-after'}, '1', '... with Retry-After: 1');
}
kill 'CONT', $agent;
ok(defined until_status(2, 200, $n3, $erin, $erin_id),
   'once the agent thaws, node 3 takes her token');

# one username created on two nodes at once: one user everywhere.
# The agents of nodes 1 and 2 are frozen meanwhile, so that neither node
# can have seen the other's carol before writing its own.

my $carol_id;
my @pw = ('carol-password-1', 'carol-password-2');
my @agents = map { freeze_agent($_) } $n1, $n2;
is(scalar(grep { defined } @agents), 2,
   'the agents of nodes 1 and 2 are frozen');
my $start = time + 0.3;
my @kids;
for my $i (0, 1) {
    pipe my $r, my $w or die "pipe: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        close $r;
        sleep $start - time if $start > time;
        my @res = eval {
            $all[$i]->request(POST => '/api/users', headers => \%A,
                body => qq({"username":"carol","password":"$pw[$i]"}));
        };
        @res = (0, undef, $@) unless @res;
        print $w "$res[0]\n$res[2]";
        close $w;
        POSIX::_exit(0);
    }
    close $w;
    push @kids, [ $pid, $r ];
}
my @created;
for my $k (@kids) {
    my $r = $k->[1];
    local $/;
    my $out = <$r> // '';
    waitpid $k->[0], 0;
    my ($s, $body) = split /\n/, $out, 2;
    push @created, [ $s // 0, $body // '' ];
}
kill 'CONT', @agents;
is_deeply([ map { $_->[0] } @created ], [ 201, 201 ],
          'two creations of carol at once, on nodes 1 and 2: both 201')
    or diag join ' | ', map { "$_->[0] $_->[1]" } @created;
my @ids = map { json_field($_->[1], 'uuid') // '' } @created;
is($ids[0], $ids[1], 'of one uuid, the name\'s');
$carol_id = $ids[0] || undef;

sub carol { ($_[0]->request(GET => "/api/users/$carol_id", headers => \%A))[2] }
ok(defined $carol_id
   && wait_for(5, sub { my $c = carol($n1);
                        $c =~ /"username":"carol"/
                        && !grep { carol($_) ne $c } $n2, $n3 }),
   'all three nodes answer the same carol')
    or diag join ' | ', map { carol($_) } @all;

my @wins = map { my $n = $_; [ map { (login($n, 'carol', $_))[0] } @pw ] } @all;
my @winner = grep { $wins[0][$_] == 200 } 0, 1;
is(scalar @winner, 1, 'exactly one of the two passwords logs in on node 1')
    or diag explain \@wins;
is_deeply(\@wins, [ ($wins[0]) x 3 ],
          'and the same one, the other refused, on every node');
SKIP: {
    skip 'no single winner', 1 unless @winner == 1;
    my $w = $winner[0];
    is(carol($n3), $created[$w][1],
       'the carol every node holds is the one the winner\'s 201 answered');
    diag sprintf 'the creation on node %d won (created_at %s)', $w + 1,
                 join ' and ', map { $_->[1] =~ /"created_at":(\d+)/ } @created;
}

for my $n (@all) {
    unlike($n->log_text, qr/\[(alert|crit|emerg)\]/,
           'no alerts in the error log of ' . $n->prefix =~ s{.*-}{}r);
    unlike($n->log_text, qr/\w-password/,
           'and no password');
}

$_->stop for @all;
done_testing;
