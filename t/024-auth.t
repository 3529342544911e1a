# Users, tokens and permissions on one node (auth_enabled: true): what
# nginx -t says of missing or short secrets, the first admin, logins,
# every kind of bad token, users and groups, the permission bits on keys,
# logout and the revocations a password change or a deletion makes, and
# $kvs_user in the access log.  Tokens that are bad on purpose are minted
# with the node's secret, as an attacker who had it would (KVS::Token).
use strict;
use warnings;
use Test::More;
use POSIX qw(:sys_wait_h);
use KVS::Node;
use KVS::Token qw(mint);

my $secret = $KVS::Token::Secret;
my $auth = "auth_enabled: true\njwt_secret_file: conf/jwt.secret\n"
         . "admin_password_file: conf/admin.pw\n"
         . "audit_secret_file: conf/audit.secret\n";


sub json_field {
    my ($body, $name) = @_;
    return $body =~ /"$name":"([^"]*)"/ ? $1 : undef;
}

# nginx -t: auth on needs a secret file, and a secret long enough

my $bad = KVS::Node->new(name => 'auth-t', yaml => "auth_enabled: true\n");
my ($rc, $out) = $bad->test_config;
isnt($rc, 0, 'auth_enabled without jwt_secret_file fails nginx -t');
like($out, qr/node\.yaml:\d+: auth_enabled: .*jwt_secret_file/,
     'and says which key is missing, with file and line');

$bad->set_yaml("node_id: auth-t\ndata_dir: ./data\nauth_enabled: true\n"
               . "jwt_secret_file: conf/short.secret\naudit_enabled: false\n");
$bad->put_file('conf/short.secret', "twenty-bytes-secret!\n");
($rc, $out) = $bad->test_config;
isnt($rc, 0, 'a secret of 20 bytes fails nginx -t');
like($out, qr/node\.yaml:\d+: jwt_secret_file: .*short\.secret:1: .*20 bytes/,
     'naming the YAML line, the file, its line and the length');

# a node with auth on

my $node = KVS::Node->new(
    name => 'auth', yaml => $auth,
    http => 'log_format kvs "$kvs_user $request_method $uri $status";',
    server => 'access_log logs/access.log kvs;');
$node->put_file('conf/jwt.secret', "$secret\n");
$node->put_file('conf/admin.pw', "admin-password\n");
$node->put_file('conf/audit.secret', ('audit' x 8) . "\n");
$node->start;

like($node->log_text, qr/created the user admin/,
     'the first start creates the user admin');

my ($st, $h, $b) = $node->request(GET => '/health');
is($st, 200, '/health needs no token');

($st, $h, $b) = $node->request(GET => '/kv/team');
is($st, 401, 'a key without a token: 401');
like($h->{'www-authenticate'} // '', qr/^Bearer/, 'with WWW-Authenticate');
like($b, qr/^\{"error":".*Authorization: Bearer/, 'and a sentence');

sub login {
    my ($user, $pass) = @_;
    return $node->request(POST => '/api/login',
                          body => qq({"username":"$user","password":"$pass"}));
}

($st, $h, $b) = login('admin', 'wrong-password');
is($st, 401, 'a wrong password: 401');
my $wrong = $b;
($st, $h, $b) = login('nobody', 'wrong-password');
is($st, 401, 'an unknown user: 401');
is($b, $wrong, 'with the same sentence');

($st, $h, $b) = $node->request(POST => '/api/login', body => '{"username":');
is($st, 400, 'a login body that is not JSON: 400');
($st, $h, $b) = $node->request(POST => '/api/login',
    body => '{"username":"admin","password":"admin-password","x":1}');
is($st, 400, 'a login body with an unknown field: 400');
like($b, qr/\\"x\\"/, 'naming the field');
($st) = $node->request(GET => '/api/login');
is($st, 405, 'GET /api/login: 405');

($st, $h, $b) = login('admin', 'admin-password');
is($st, 200, 'the admin logs in');
my $admin = json_field($b, 'token');
my $admin_id = json_field($b, 'user');
like($admin // '', qr/^[\w-]+\.[\w-]+\.[\w-]+$/, 'and gets a JWT');
my ($exp) = $b =~ /"expires_at":(\d+)/;
ok($exp && abs($exp - (time + 3600) * 1000) < 5000,
   'expiring token_ttl (3600 s) from now');

my %A = (Authorization => "Bearer $admin");

($st, $h, $b) = $node->request(PUT => '/kv/team', headers => \%A,
                               body => '{"a":1}');
is($st, 200, 'the admin writes a key');
($st, $h, $b) = $node->request(GET => '/kv/team', headers => \%A);
is("$st $b", '200 {"a":1}', 'and reads it');
($st, $h, $b) = $node->request(GET => '/kv/team?meta', headers => \%A);
like($b, qr/"owner":"$admin_id"/, '?meta: the creator owns it');
like($b, qr/"permissions":"f11"/, '?meta: default_permissions, in hex');

# bad tokens, each with its own sentence

my @bad = (
    [ 'alg none', mint(sub => $admin_id,
                       header => '{"alg":"none","typ":"JWT"}'),
      qr/algorithm/ ],
    [ 'another secret', mint(sub => $admin_id, secret => 'x' x 40,
                             kid => KVS::Token::kid($secret)),
      qr/signature/ ],
    [ 'an unknown key', mint(sub => $admin_id, secret => 'x' x 40),
      qr/key/ ],
    [ 'past exp', mint(sub => $admin_id, iat => time - 100,
                       exp => time - 10),
      qr/expired/ ],
    [ 'truncated', substr($admin, 0, length($admin) - 5), qr/signature|malformed/ ],
    [ 'not a JWT', 'abc', qr/malformed/ ],
);

for my $t (@bad) {
    ($st, $h, $b) = $node->request(GET => '/kv/team',
        headers => { Authorization => "Bearer $t->[1]" });
    is($st, 401, "a token of $t->[0]: 401");
    like($b, $t->[2], "a token of $t->[0]: its sentence");
}

($st) = $node->request(GET => '/kv/team',
                       headers => { Authorization => "Basic abc" });
is($st, 401, 'Basic instead of Bearer: 401');

($st, $h, $b) = $node->request(GET => '/kv/team',
    headers => { Authorization => 'Bearer '
                 . mint(sub => '6f1e6e8c-1111-5222-8333-444455556666') });
is($st, 503, 'a good token of a user not here (yet): 503');
is($h->{'retry-after'}, '1', 'with Retry-After: 1');

# users and groups

($st, $h, $b) = $node->request(POST => '/api/users', headers => \%A,
    body => '{"username":"bob","password":"bob-password"}');
is($st, 201, 'the admin creates bob');
my $bob_id = json_field($b, 'uuid');
unlike($b, qr/"password"|scrypt/, 'a user\'s JSON shows no password');
($st) = $node->request(POST => '/api/users', headers => \%A,
    body => '{"username":"bob","password":"bob-password"}');
is($st, 409, 'a second bob: 409');
($st, $h, $b) = $node->request(POST => '/api/users', headers => \%A,
    body => '{"username":"carol","password":"short"}');
is($st, 400, 'a password of 5 characters: 400');

($st, $h, $b) = login('bob', 'bob-password');
is($st, 200, 'bob logs in');
my %B = (Authorization => 'Bearer ' . json_field($b, 'token'));

($st, $h, $b) = $node->request(GET => '/kv/team', headers => \%B);
is($st, 200, 'bob reads the admin\'s key: others have R in f11');
($st) = $node->request(PUT => '/kv/team', headers => \%B, body => '2');
is($st, 403, 'bob may not overwrite it');
($st) = $node->request(DELETE => '/kv/team', headers => \%B);
is($st, 403, 'nor delete it');
($st) = $node->request(PUT => '/kv/team/bob', headers => \%B, body => '2');
is($st, 403, 'nor create keys under it');
($st) = $node->request(PUT => '/kv/bobs', headers => \%B, body => '3');
is($st, 200, 'bob creates a top-level key (top_level_create: any)');
($st) = $node->request(PUT => '/kv/bobs/a/b', headers => \%B, body => '4');
is($st, 200, 'and keys below his own');
($st, $h, $b) = $node->request(GET => '/kv/bobs/a/b?meta', headers => \%B);
like($b, qr/"owner":"$bob_id"/, 'which he owns');
($st) = $node->request(PUT => '/kv/bobs/a/b', headers => \%A, body => '5');
is($st, 200, 'an admin may write anything');
($st) = $node->request(POST => '/api/users', headers => \%B,
    body => '{"username":"eve","password":"eve-password"}');
is($st, 403, 'bob may not create users');

($st, $h, $b) = $node->request(POST => '/api/groups', headers => \%A,
    body => '{"name":"devs","members":["bob"]}');
is($st, 201, 'the admin creates the group devs with bob');
like($b, qr/"members":\["bob"\]/, 'its members by name');
my $devs_id = json_field($b, 'uuid');
# the answer shows the members as stored: once each, in the stored order
($st, $h, $b) = $node->request(POST => '/api/groups', headers => \%A,
    body => '{"name":"twice","members":["bob","bob","admin"]}');
my ($twice_id) = $b =~ /"uuid":"([^"]+)"/;
my ($told) = $b =~ /"members":(\[[^\]]*\])/;
($st, $h, $b) = $node->request(GET => "/api/groups/$twice_id", headers => \%A);
my ($stored) = $b =~ /"members":(\[[^\]]*\])/;
is($told, $stored, "a group of bob twice: the 201 shows what GET shows ($stored)");
($st) = $node->request(DELETE => "/api/groups/$twice_id", headers => \%A);
is($st, 204, 'and goes');

# the group admin keeps an enabled member: emptied, no one could manage
# users, groups, the audit log or backups again
my $admins = '8887d470-42c7-5cf3-83f8-c01f8f1d2c89';
($st, $h, $b) = $node->request(PUT => "/api/groups/$admins", headers => \%A,
                               body => '{"members":[]}');
is($st, 409, 'emptying the group admin: 409');
like($b, qr/the group admin must keep an enabled member/, 'saying why');
for my $case (['disabled', PUT => '{"disabled":true}'],
              ['taken out of it', PUT => '{"groups":[]}'],
              ['deleted', DELETE => ''])
{
    my ($what, $method, $body) = @$case;
    ($st, $h, $b) = $node->request($method => "/api/users/$admin_id",
                                   headers => \%A, body => $body);
    is($st, 409, "the last enabled admin $what: 409");
    like($b, qr/last enabled member of the group admin, who may not be \Q$what\E/,
         'saying why');
}
($st, $h, $b) = $node->request(GET => '/api/users', headers => \%A);
is($st, 200, 'the admin is still one');

($st, $h, $b) = $node->request(GET => "/api/users/$bob_id", headers => \%B);
is($st, 200, 'bob reads himself');
like($b, qr/"groups":\["devs"\]/, 'and is in devs');
($st) = $node->request(GET => "/api/users/$admin_id", headers => \%B);
is($st, 403, 'but not the admin');

($st, $h, $b) = $node->request(PUT => "/api/users/$bob_id", headers => \%A,
                               body => '{"groups":[]}');
like("$st $b", qr/^200 .*"groups":\[\]/, 'the admin takes bob out of devs');
($st, $h, $b) = $node->request(GET => '/api/groups', headers => \%A);
like($b, qr/"name":"devs","members":\[\]/, 'devs has no member left');
($st, $h, $b) = $node->request(PUT => "/api/users/$bob_id", headers => \%A,
                               body => '{"groups":["devs","admin"]}');
like("$st $b", qr/^200 .*"groups":\["(admin","devs|devs","admin)"\]/,
     'and puts him in devs and admin');
($st, $h, $b) = $node->request(PUT => "/api/users/$bob_id", headers => \%A,
                               body => '{"groups":["devs"]}');
like("$st $b", qr/^200 .*"groups":\["devs"\]/, 'and back to devs only');
($st, $h, $b) = $node->request(PUT => "/api/users/$bob_id", headers => \%A,
                               body => '{"groups":["nope"]}');
is($st, 400, 'a group that does not exist: 400');
($st) = $node->request(PUT => "/api/users/$bob_id", headers => \%B,
                       body => '{"groups":["admin"]}');
is($st, 403, 'bob may not change his own groups');

($st) = $node->request(PUT => "/api/users/$bob_id", headers => \%A,
                       body => '{"disabled":true}');
is($st, 200, 'the admin disables bob');
($st, $h, $b) = $node->request(GET => '/kv/team', headers => \%B);
like("$st $b", qr/^401 .*disabled/, 'whose token is then refused');
($st) = login('bob', 'bob-password');
is($st, 401, 'and who cannot log in');
($st) = $node->request(PUT => "/api/users/$bob_id", headers => \%A,
                       body => '{"disabled":false}');
($st) = $node->request(GET => '/kv/team', headers => \%B);
is($st, 401, 'enabled again, his old token stays revoked');
($st, $h, $b) = login('bob', 'bob-password');
is($st, 200, 'and he logs in again');
%B = (Authorization => 'Bearer ' . json_field($b, 'token'));

($st, $h, $b) = $node->request(GET => '/api/users', headers => \%A);
is($st, 200, 'the admin lists the users');
like($b, qr/^\{"users":\[\{"uuid":.*"username":"(admin|bob)".*"username":"(admin|bob)".*\],"next":null\}\n\z/,
     'both of them, in one page');
unlike($b, qr/"password"|scrypt/, 'without passwords');
($st, $h, $b) = $node->request(GET => '/api/users?limit=1', headers => \%A);
my ($next) = $b =~ /"next":"([^"]+)"/;
my @in_page = $b =~ /"username"/g;
ok($next && @in_page == 1, 'a page of one says where the next starts');
($st, $h, $b) = $node->request(GET => "/api/users?limit=1&after=$next",
                               headers => \%A);
like($b, qr/"next":null/, 'and the next page is the last');
($st, $h, $b) = $node->request(GET => '/api/groups', headers => \%A);
like($b, qr/"name":"admin","members":\["admin"\]/, 'the groups: admin');
like($b, qr/"name":"devs","members":\["bob"\]/, 'and devs');
($st) = $node->request(GET => '/api/users', headers => \%B);
is($st, 403, 'bob may not list the users');
($st, $h) = $node->request(DELETE => '/api/users', headers => \%A);
is($st, 405, 'DELETE /api/users: 405');
is($h->{allow}, 'GET, HEAD, POST', 'with Allow');

# ?meta: who a key belongs to, and its bits

sub meta {
    my ($who, $key, $body) = @_;
    return $node->request(PUT => "/kv/$key?meta", headers => $who,
                          body => $body);
}

($st, $h, $b) = meta(\%B, 'bobs', '{"group":"' . $devs_id
                                 . '","permissions":"f30"}');
is($st, 200, 'bob gives his key to devs, group WR, others nothing');
($st, $h, $b) = $node->request(GET => '/kv/bobs?meta', headers => \%B);
like($b, qr/"group":"$devs_id","permissions":"f30"/, '?meta shows it');
($st, $h, $b) = $node->request(GET => '/kv/bobs', headers => \%B);
is("$st $b", '200 3', 'the value is the one it had');
($st) = meta(\%B, 'bobs', qq({"owner":"$admin_id"}));
is($st, 403, 'only an admin gives a key to another owner');
($st) = meta(\%B, 'team', '{"permissions":"fff"}');
is($st, 403, 'nor may bob change the meta of a key he does not own');
($st, $h, $b) = meta(\%B, 'bobs', '{"permissions":"g00"}');
is($st, 400, 'permissions that are not three hex digits: 400');
like($b, qr/three hex digits/, 'saying what they must be');
($st, $h, $b) = meta(\%B, 'bobs', '{"mode":"f00"}');
is($st, 400, 'an unknown field: 400');
($st) = meta(\%B, 'nothing', '{"permissions":"f00"}');
is($st, 404, 'the meta of a key that does not exist: 404');
($st) = meta(\%A, 'bobs', qq({"owner":"$admin_id","permissions":"f00"}));
is($st, 200, 'the admin takes bob\'s key');
($st) = $node->request(GET => '/kv/bobs', headers => \%B);
is($st, 403, 'which bob may no longer read');
($st, $h, $b) = $node->request(GET => '/kv/?recursive=true',
                               headers => \%B);
unlike($b, qr/"bobs"/, 'nor see in a listing');
like($b, qr/"team"/, 'where the keys he may read are');
($st, $h, $b) = $node->request(GET => '/kv/bobs?revisions', headers => \%B);
is($st, 403, 'nor read its history');

# listings name no key the caller may not read: not as "next" (a page of
# limit=1 named the unreadable key it walked, so paging enumerated them),
# nor as a level that holds only such keys
for my $k ('hr/salaries', 'hr/zz-list', 'hr/secret/plan', 'hr/secret/budget') {
    $node->request(PUT => "/kv/$k", headers => \%A, body => '1');
    ($st) = meta(\%A, $k, '{"permissions":"f00"}');
    is($st, 200, "the admin's $k, f00");
}
$node->request(PUT => '/kv/hr/open/memo', headers => \%A, body => '1');
my $seen = '';
for my $q ('recursive=true', 'recursive=true&limit=1',
           'recursive=true&limit=1&after=hr/salaries', 'recursive=false',
           'recursive=false&limit=1')
{
    ($st, $h, $b) = $node->request(GET => "/kv/hr/?$q", headers => \%B);
    is($st, 200, "bob lists hr/?$q");
    $seen .= $b;
}
unlike($seen, qr{salaries|zz-list|secret}, 'no page names a key he may not read');
($st, $h, $b) = $node->request(GET => '/kv/hr/?recursive=true&limit=1',
                               headers => \%B);
is($b, qq({"keys":["hr/open/memo"],"next":null}\n),
   'a page of one holds the one he may read, and no next');
($st, $h, $b) = $node->request(GET => '/kv/hr/?recursive=false',
                               headers => \%B);
is($b, qq({"keys":["hr/open/"],"next":null}\n),
   'a level shows when it holds a key he may read');
($st, $h, $b) = $node->request(GET => '/kv/hr/?recursive=false',
                               headers => \%A);
is($b, qq({"keys":["hr/open/","hr/salaries","hr/secret/","hr/zz-list"],"next":null}\n),
   'the admin sees them all');

# a key deleted and written again by another: the first owner's versions
# stay his (each kept version is read under its own bits as well)
$node->request(PUT => '/kv/diary', headers => \%A, body => '"v1"');
meta(\%A, 'diary', '{"permissions":"f00"}');
$node->request(PUT => '/kv/diary', headers => \%A, body => '"v2"');
($st) = $node->request(DELETE => '/kv/diary', headers => \%A);
is($st, 204, 'the admin deletes his private diary');
($st) = $node->request(PUT => '/kv/diary', headers => \%B, body => '"mine"');
is($st, 200, 'bob writes the key again, his now');
($st, $h, $b) = $node->request(GET => '/kv/diary?revisions', headers => \%B);
is(join(' ', $b =~ /"revision":(\d+)/g), '1',
   'his ?revisions lists his own version only');
($st, $h, $b) = $node->request(GET => '/kv/diary?revision=2', headers => \%B);
is($st, 403, 'the admin\'s last version: 403');
like($b, qr/you may not read revision 2 of \\"diary\\"/, 'saying why');
($st) = $node->request(GET => '/kv/diary?revision=3', headers => \%B);
is($st, 403, 'nor the one before');
($st) = $node->request(GET => '/kv/diary?revision=4', headers => \%B);
is($st, 403, 'nor his first, though others might read it then (f11): '
             . 'it is another owner\'s');
($st, $h, $b) = $node->request(GET => '/kv/diary?meta', headers => \%B);
like($b, qr/"revisions":1\}/, 'his ?meta counts the one he may read');
($st, $h, $b) = $node->request(GET => '/kv/diary?revision=2', headers => \%A);
is("$st $b", '200 "v2"', 'the admin reads every version');
($st, $h, $b) = $node->request(GET => '/kv/diary?revisions', headers => \%A);
my @revs = $b =~ /"revision":(\d+)/g;
is("@revs", '1 2 3 4', 'and lists them all');

# logout, and the revocations

($st) = $node->request(POST => '/api/logout', headers => \%B);
is($st, 200, 'bob logs out');
($st, $h, $b) = $node->request(GET => '/kv/bobs', headers => \%B);
is($st, 401, 'his token is refused after');
like($b, qr/revoked/, 'as revoked');

($st, $h, $b) = login('bob', 'bob-password');
%B = (Authorization => 'Bearer ' . json_field($b, 'token'));
($st, $h, $b) = $node->request(PUT => "/api/users/$bob_id", headers => \%B,
    body => '{"old_password":"bob-password","password":"bob-password-2"}');
is($st, 200, 'bob changes his password');
($st, $h, $b) = $node->request(GET => '/kv/bobs', headers => \%B);
is($st, 401, 'which revokes his tokens');
like($b, qr/password/, 'saying why');
($st) = login('bob', 'bob-password');
is($st, 401, 'the old password is refused');
($st, $h, $b) = login('bob', 'bob-password-2');
is($st, 200, 'the new one logs in');
%B = (Authorization => 'Bearer ' . json_field($b, 'token'));

($st) = $node->request(DELETE => "/api/users/$bob_id", headers => \%A);
is($st, 204, 'the admin deletes bob');
($st, $h, $b) = $node->request(POST => '/api/users', headers => \%A,
    body => '{"username":"bob","password":"new-bob-password"}');
is($st, 201, 'and creates a new bob at once, the same uuid');
like($b, qr/"groups":\[\]/,
     'who is in no group: not back in the old bob\'s devs');
($st, $h, $b) = $node->request(GET => "/api/groups/$devs_id", headers => \%A);
unlike($b, qr/"bob"/, 'devs does not list him');
($st, $h, $b) = $node->request(GET => '/kv/team', headers => \%B);
is($st, 401, 'whom the old bob\'s token, of the same second, is not');
($st) = $node->request(DELETE => "/api/users/$bob_id", headers => \%A);
($st, $h, $b) = $node->request(GET => '/kv/bobs', headers => \%B);
is($st, 401, 'a deleted user\'s token is refused');
($st) = login('bob', 'bob-password-2');
is($st, 401, 'and he cannot log in');

# ten logins at once: the KDF's pool queues them, none fails

my @kids;
for my $i (1 .. 10) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my ($s) = login('admin', 'admin-password');
        exit($s == 200 ? 0 : 1);
    }
    push @kids, $pid;
}
my $ok = 0;
for (@kids) { waitpid $_, 0; $ok++ if $? == 0; }
is($ok, 10, 'ten concurrent logins all succeed');

($st) = $node->request(GET => '/kv/team', headers => \%A);
open my $al, '<', $node->prefix . '/logs/access.log' or die $!;
my @lines = <$al>;
ok((grep { /^admin GET \/kv\/team 200$/ } @lines),
   '$kvs_user names the user in the access log');
ok((grep { /^ GET \/kv\/team 401$/ } @lines),
   'and is empty for an anonymous request');

unlike($node->log_text, qr/\[(alert|crit|emerg)\]/,
       'no alerts in the error log');
unlike($node->log_text, qr/admin-password|bob-password/,
       'no password in the error log');
$node->stop;

# logins write identity, not data: a read_only node takes them, a node
# still syncing from its peers does not

my $ro = KVS::Node->new(name => 'auth-ro', workers => 1,
                        yaml => $auth . "read_only: true\n");
$ro->put_file('conf/jwt.secret', "$secret\n");
$ro->put_file('conf/admin.pw', "admin-password\n");
$ro->put_file('conf/audit.secret', ('audit' x 8) . "\n");
$ro->start;
($st, $h, $b) = $ro->request(POST => '/api/login',
    body => '{"username":"admin","password":"admin-password"}');
is($st, 200, 'a read_only node takes a login');
my %R = (Authorization => 'Bearer ' . json_field($b, 'token'));
($st) = $ro->request(PUT => '/kv/x', headers => \%R, body => '1');
is($st, 503, 'but no write of data');
($st) = $ro->request(POST => '/api/logout', headers => \%R);
is($st, 200, 'and a logout');
$ro->stop;

my $sy = KVS::Node->new(name => 'auth-sync', workers => 1,
    yaml => $auth . "cluster_secret: test-cluster-secret-0123456789\n"
            . 'seed_nodes: ["127.0.0.1:' . KVS::Node::free_port() . "\"]\n"
            . "peer_timeout: 0.2\n");
$sy->put_file('conf/jwt.secret', "$secret\n");
$sy->put_file('conf/admin.pw', "admin-password\n");
$sy->put_file('conf/audit.secret', ('audit' x 8) . "\n");
$sy->start;
($st, $h, $b) = $sy->request(POST => '/api/login',
    body => '{"username":"admin","password":"admin-password"}');
is($st, 503, 'a node syncing from its peers refuses a login with 503');
like($b, qr/syncing/, 'saying why');
unlike($sy->log_text, qr/created the user admin/,
       'and creates no admin before its bootstrap is done');
$sy->stop;
done_testing;
