# The group commit's queue against requests that leave it oddly:
#   - a request terminated while its write is queued (a DELETE whose body
#     never arrives, ended by lingering_timeout while the commit waits for
#     LMDB's writer lock) is kept until its write is answered: its worker
#     lives on (it was freed under the commit's thread: signal 11);
#   - a change of more writes than a commit takes (a user taken out of
#     more than 1,023 groups at once) is a 413 that changes nothing, and
#     the writes queued after it go on (it was never answered, and no
#     write of that worker was answered again).
use strict;
use warnings;
use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use KVS::Node qw(wait_for);
use KVS::Token;

# a program that holds LMDB's writer lock of a store for a while, as a
# long commit of another process would
my $holder = KVS::Node->new(name => 'holder')->prefix . '/holdlock';
open my $c, '>', "$holder.c" or die $!;
print $c <<'C';
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <lmdb.h>
int main(int argc, char **argv)
{
    MDB_env *env;
    MDB_txn *txn;
    if (argc != 3 || mdb_env_create(&env) != 0
        || mdb_env_set_maxdbs(env, 16) != 0
        || mdb_env_open(env, argv[1], 0, 0600) != 0
        || mdb_txn_begin(env, NULL, 0, &txn) != 0)
    {
        return 1;
    }
    printf("held\n");
    fflush(stdout);
    sleep(atoi(argv[2]));
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return 0;
}
C
close $c;
system("cc -o $holder $holder.c -llmdb") == 0
    or plan skip_all => 'cannot build the LMDB lock holder';

my $n = KVS::Node->new(name => 'wq', workers => 1);
$n->start;
my ($st) = $n->request(PUT => '/kv/victim', body => '1');
is($st, 200, 'a key');
my @workers = $n->worker_pids;

my $pid = open my $held, '-|', $holder, $n->data_dir, 8 or die $!;
is(scalar <$held>, "held\n", 'another process holds the writer lock for 8 s');

my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $n->port)
    or die $!;
print $s "DELETE /kv/victim HTTP/1.1\r\nHost: kvs\r\n"
       . "Content-Length: 100\r\n\r\nabc";
# the body never comes: lingering_timeout (5 s) ends the request while its
# write waits for the lock
waitpid $pid, 0;
close $held;
sleep 0.5;

ok(wait_for(5, sub { ($n->request(GET => '/health'))[0] == 200 }),
   'the node answers after the lock is released');
is_deeply([ $n->worker_pids ], \@workers, 'by the same worker');
unlike($n->log_text, qr/exited on signal/, 'which never crashed');
($st) = $n->request(PUT => '/kv/after', body => '2');
is($st, 200, 'and writes go on');
close $s;
$n->stop;

# more writes than a commit takes
my $auth = "auth_enabled: true\njwt_secret_file: conf/jwt.secret\n"
         . "admin_password_file: conf/admin.pw\naudit_enabled: false\n";
my $a = KVS::Node->new(name => 'wq-auth', workers => 1, yaml => $auth);
$a->put_file('conf/jwt.secret', "$KVS::Token::Secret\n");
$a->put_file('conf/admin.pw', "admin-password\n");
$a->start;
my $admin = { Authorization => 'Bearer ' . KVS::Token::mint(
    sub => $KVS::Token::Admin, iat => time + 300, exp => time + 900) };

my ($h, $b);
($st, $h, $b) = $a->request(POST => '/api/users', headers => $admin,
    body => '{"username":"bob","password":"bob-password"}');
is($st, 201, 'a user bob');
my $uuid = KVS::Token::user_uuid('bob');
my ($made, $g7) = (0, '');
for my $i (1 .. 1030) {
    ($st, $h, $b) = $a->request(POST => '/api/groups', headers => $admin,
                                body => qq({"name":"g$i","members":["bob"]}));
    $made++ if $st == 201;
    ($g7) = $b =~ /"uuid":"([^"]+)"/ if $i == 7;
}
is($made, 1030, 'bob is in 1,030 groups');

my $t0 = time;
($st, $h, $b) = $a->request(PUT => "/api/users/$uuid", headers => $admin,
                            body => '{"groups":[]}');
is($st, 413, 'taking him out of all at once is a 413');
is($b, qq({"error":"this change rewrites the members of 1030 groups, more than the 1023 one change may: take the user out of some of them with PUT /api/groups/{uuid} first"}\n),
   'saying why and what to do');
cmp_ok(time - $t0, '<', 5, 'answered at once');
($st, $h, $b) = $a->request(GET => "/api/groups/$g7", headers => $admin);
like($b, qr/"members":\["bob"\]/, 'nothing changed: bob is still in g7');
($st) = $a->request(PUT => '/kv/after', headers => $admin, body => '3');
is($st, 200, 'and the writes after it are answered');
($st, $h, $b) = $a->request(PUT => "/api/groups/$g7", headers => $admin,
                            body => '{"members":[]}');
is($st, 200, 'out of one of them through the group is one change')
    or diag $b;
unlike($a->log_text, qr/exited on signal/, 'no crash');
$a->stop;

done_testing;
