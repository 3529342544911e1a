# The audit log on one node: what nginx -t says of its keys, one entry per
# client change with the right fields and none for a change that failed,
# auth events (logins, failed logins folded, logouts, users, groups,
# denials), paging, verification, and the store tampered with for real
# (tools/kvs-audit-tamper on the stopped node), each edit named.
use strict;
use warnings;
use Test::More;
use File::Basename qw(dirname);
use File::Copy qw(copy);
use JSON::PP;
use Time::HiRes qw(sleep time);
use IO::Socket::INET;
use KVS::Node;

my $module = $ENV{KVS_MODULE}
    // dirname(__FILE__) . '/../build/ngx_http_kvs_module.so';
my $tamper = dirname($module) . '/kvs-audit-tamper';
my $audit_secret = 'audit-secret-' . ('s' x 32);
my $json = JSON::PP->new;


sub json_field {
    my ($body, $name) = @_;
    return $body =~ /"$name":"([^"]*)"/ ? $1 : undef;
}

# every entry of the node, oldest first by seq
sub entries {
    my ($n, %h) = @_;
    my ($st, undef, $body) = $n->request(GET => '/api/audit?limit=1000',
                                      headers => \%h);
    die "GET /api/audit: $st $body" unless $st == 200;
    return sort { $a->{seq} <=> $b->{seq} } @{ $json->decode($body)->{entries} };
}

sub verify {
    my ($n, %h) = @_;
    my ($st, undef, $body) = $n->request(GET => '/api/audit/verify',
                                      headers => \%h);
    return ($st, $st == 200 ? $json->decode($body) : $body);
}

# nginx -t: the keys and the secret file

my $bad = KVS::Node->new(name => 'audit-t', yaml => "audit_enabled: true\n");
my ($rc, $out) = $bad->test_config;
isnt($rc, 0, 'audit_enabled without audit_secret_file fails nginx -t');
like($out, qr/node\.yaml:\d+: audit_enabled: .*audit_secret_file/,
     'saying which key is missing, with file and line');

$bad->set_yaml("data_dir: ./data\nauth_enabled: true\n"
               . "jwt_secret_file: conf/jwt.secret\n");
$bad->put_file('conf/jwt.secret', ('j' x 40) . "\n");
($rc, $out) = $bad->test_config;
isnt($rc, 0, 'auth_enabled turns the audit log on: no secret fails');
like($out, qr/node\.yaml:2: auth_enabled: turns the audit log on/,
     'at auth_enabled\'s line');

mkdir $bad->prefix . '/data';
$bad->put_file('data/audit.secret', "$audit_secret\n");
$bad->set_yaml("data_dir: ./data\naudit_enabled: true\n"
               . "audit_secret_file: data/audit.secret\n");
($rc, $out) = $bad->test_config;
isnt($rc, 0, 'a secret inside data_dir fails nginx -t');
like($out, qr/node\.yaml:3: audit_secret_file: ".*data\/audit\.secret" is inside data_dir/,
     'naming the file and data_dir');

$bad->put_file('conf/short.secret', "short\n");
$bad->set_yaml("audit_enabled: true\naudit_secret_file: conf/short.secret\n");
($rc, $out) = $bad->test_config;
isnt($rc, 0, 'a short secret fails nginx -t');
like($out, qr/node\.yaml:2: audit_secret_file: .*short\.secret:1: .*5 bytes/,
     'naming the line, the file and the length');

$bad->set_yaml("audit_reads: maybe\n");
($rc, $out) = $bad->test_config;
isnt($rc, 0, 'audit_reads: maybe fails nginx -t');
like($out, qr/node\.yaml:1: audit_reads: expected a boolean/, 'with a sentence');

$bad->set_yaml("data_dir: ./data\n");
($rc, $out) = $bad->test_config;
is($rc, 0, 'a configuration without the audit keys still passes');

# audit off (auth off, the default): nothing is written

my $off = KVS::Node->new(name => 'audit-off', workers => 1);
$off->start;
my ($st, $h, $body) = $off->request(PUT => '/kv/a', body => '1');
is($st, 200, 'audit off: a PUT');
($st, $h, $body) = $off->request(GET => '/api/audit');
is($st, 404, 'audit off: GET /api/audit is 404');
like($body, qr/audit_enabled is off/, 'saying why');
$off->stop;
is(`$tamper ${\ $off->data_dir } list`, '',
   'audit off: the store holds no entry');

# a node with auth and the audit log

my $node = KVS::Node->new(
    name => 'audit', workers => 2,
    yaml => "auth_enabled: true\njwt_secret_file: conf/jwt.secret\n"
            . "admin_password_file: conf/admin.pw\n"
            . "audit_secret_file: conf/audit.secret\n",
    server => 'location = /metrics { kvs_metrics; }');
$node->put_file('conf/jwt.secret', ('j' x 40) . "\n");
$node->put_file('conf/admin.pw', "admin-password\n");
$node->put_file('conf/audit.secret', "$audit_secret\n");
$node->start;

sub login {
    my ($user, $pass) = @_;
    return $node->request(POST => '/api/login',
                          body => qq({"username":"$user","password":"$pass"}));
}

($st, $h, $body) = login('admin', 'admin-password');
is($st, 200, 'the admin logs in');
my %A = (Authorization => 'Bearer ' . json_field($body, 'token'));

my @e = entries($node, %A);
is(scalar @e, 1, 'the creation of the first admin at start makes no entry; '
                 . 'the login one');
is($e[0]{kind}, 'login', 'a login entry');
is($e[0]{user}, 'admin', 'of the user who logged in');
is($e[0]{object}, '/api/login', 'on /api/login');
is($e[0]{client}, '127.0.0.1', 'from the client\'s address');
is($e[0]{status}, 200, 'status 200');
is($e[0]{node}, 'audit', 'the node id');
is($e[0]{seq}, 1, 'seq 1');
is($e[0]{prev}, '0' x 128, 'the first entry follows zeros');
like($e[0]{hmac}, qr/^[0-9a-f]{128}$/, 'an HMAC-SHA3-512 in hex');
like($e[0]{key}, qr/^log:\d{13}:[0-9a-f-]{36}$/, 'keyed log:<ts>:<uuid>');

($st, $h, $body) = $node->request(PUT => '/kv/a/b', headers => \%A,
                               body => '{"x":1}');
is($st, 200, 'a PUT');
my ($uuid, $ts) = (json_field($body, 'uuid'), $body =~ /"timestamp":(\d+)/);
($st) = $node->request(PUT => '/kv/a/b', body => '{"x":2}',
                       headers => { %A, 'If-None-Match' => '*' });
is($st, 412, 'a PUT whose condition fails: 412');
($st) = $node->request(PUT => '/kv/a/b?meta', headers => \%A,
                       body => '{"permissions":"f00"}');
is($st, 200, 'a change of ?meta');
($st) = $node->request(DELETE => '/kv/a/b', headers => \%A);
is($st, 204, 'a DELETE');
($st) = $node->request(DELETE => '/kv/nothere', headers => \%A);
is($st, 404, 'a DELETE of nothing: 404');

@e = entries($node, %A);
is(join(' ', map { $_->{kind} } @e), 'login put meta delete',
   'one entry per change; none for the 412 nor the 404');
is($e[1]{object}, '/kv/a/b', 'the PUT\'s object');
is($e[1]{method}, 'PUT', 'its method');
is($e[1]{user}, 'admin', 'its user');
is_deeply($e[1]{version}, { timestamp => $ts, uuid => $uuid },
          'the version the PUT answered');
is($e[2]{method}, 'PUT', '?meta is a PUT');
is($e[3]{status}, 204, 'the DELETE\'s status');
is(join(',', map { $_->{seq} } @e), '1,2,3,4', 'seqs 1 to 4');

# users, groups, denials, logouts

($st) = $node->request(POST => '/api/users', headers => \%A,
    body => '{"username":"bob","password":"bob-password-1"}');
is($st, 201, 'a user is created');
($st, $h, $body) = $node->request(POST => '/api/groups', headers => \%A,
    body => '{"name":"devs","members":["bob"]}');
is($st, 201, 'a group is created');
my $devs = json_field($body, 'uuid');
($st, $h, $body) = login('bob', 'bob-password-1');
my %B = (Authorization => 'Bearer ' . json_field($body, 'token'));
($st) = $node->request(GET => '/api/audit', headers => \%B);
is($st, 403, 'a user who is not an admin may not read the audit log');
($st) = $node->request(POST => '/api/logout', headers => \%B);
is($st, 200, 'bob logs out');
($st) = $node->request(DELETE => "/api/groups/$devs", headers => \%A);
is($st, 204, 'the group is deleted');

# the denial's entry joins its worker's next commit after the 403
ok(KVS::Node::wait_for(5, sub {
       @e = entries($node, %A);
       grep { $_->{kind} eq 'denied' } @e }), 'the denial is written');
my @tail = @e[4 .. $#e];

# A denial's entry is written with its worker's next commit, and its 403
# does not wait for it: the logout, on the other worker, may commit first.
# The chain's order is commit order; the rest keeps the requests' order.
my %k = map { $_->{kind} => $_ } @tail;
is(join(' ', sort map { $_->{kind} } @tail),
   'denied group_create group_delete login logout user_create',
   'users, groups, logins, denials and logouts each make an entry');
is(join(' ', grep { $_ ne 'denied' } map { $_->{kind} } @tail),
   'user_create group_create login logout group_delete',
   'in the order of the requests, but for the denial written with '
   . 'the next commit');
is($k{user_create}{object}, 'user:bob', 'a user\'s entry names the user');
is($k{user_create}{status}, 201, 'with the status of the creation');
is($k{group_create}{object}, 'group:devs', 'a group\'s entry names the group');
is($k{denied}{user}, 'bob', 'the denial names who was denied');
is($k{denied}{object}, '/api/audit', 'and what');
is($k{denied}{status}, 403, 'status 403');
is($k{denied}{count}, 1, 'count 1');
is($k{logout}{user}, 'bob', 'the logout names who logged out');

# folding: 100 failed logins from one address make few entries

my $before = scalar @e;
for (1 .. 100) {
    ($st) = login('mallory', 'guess');
    last unless $st == 401;
}
is($st, 401, '100 failed logins: 401 each');

@e = entries($node, %A);
my @failed = grep { $_->{kind} eq 'login_failed' } @e;
is(scalar @failed, 1, 'the first is written at once, the rest fold');
is($failed[0]{count}, 1, 'with count 1');
is($failed[0]{user}, undef, 'anonymous');
is($failed[0]{status}, 401, 'status 401');

# two clients whose denials alternate fold each in a slot of its own:
# the CRC-32 of (kind 13, "u", name), with its low bit set, gives fold65
# and fold80 one slot of 256 as (crc | 1) % 256 (173, only odd slots were
# ever used) and two as (crc >> 1) % 256: sharing one, each denial took
# the slot from the other and was written (6 entries for 6 denials)

my %F;
for my $u ('fold65', 'fold80') {
    ($st) = $node->request(POST => '/api/users', headers => \%A,
        body => qq({"username":"$u","password":"$u-password-1"}));
    is($st, 201, "fold: user $u");
    (undef, undef, $body) = login($u, "$u-password-1");
    $F{$u} = { Authorization => 'Bearer ' . json_field($body, 'token') };
}
for (1 .. 3) {
    for my $u ('fold65', 'fold80') {
        ($st) = $node->request(GET => '/api/audit', headers => $F{$u});
    }
}
is($st, 403, 'fold: the denials');
sub fold_denials {
    grep { $_->{kind} eq 'denied' && ($_->{user} // '') =~ /^fold/ }
         entries($node, %A);
}
KVS::Node::wait_for(5, sub { fold_denials() >= 2 });
sleep 1;                                  # anything more would be written
my @denied = fold_denials();
is(join(' ', map { "$_->{user}:$_->{count}" } @denied),
   'fold65:1 fold80:1',
   'fold: two clients alternating, one entry each, the rest folded');

# a stop flushes the folded count: no count is lost

$node->stop;
$node->start;
($st, $h, $body) = login('admin', 'admin-password');
%A = (Authorization => 'Bearer ' . json_field($body, 'token'));
@e = entries($node, %A);
@failed = grep { $_->{kind} eq 'login_failed' } @e;
my $sum = 0;
$sum += $_->{count} for @failed;
is($sum, 100, 'after a stop, the counts add up to 100');
ok(@failed <= 3, 'in at most 3 entries (' . scalar(@failed) . ')');

# paging: by key, limit and after as /api/users pages

my @all = entries($node, %A);
my (@paged, $next);
do {
    my $q = '/api/audit?limit=3' . ($next ? "&after=$next" : '');
    ($st, $h, $body) = $node->request(GET => $q, headers => \%A);
    my $page = $json->decode($body);
    push @paged, @{ $page->{entries} };
    $next = $page->{next};
    ok(@{ $page->{entries} } <= 3, 'a page holds at most limit entries');
} while ($next);
is(join(',', sort { $a <=> $b } map { $_->{seq} } @paged),
   join(',', map { $_->{seq} } @all), 'the pages hold every entry once');
($st, $h, $body) = $node->request(GET => '/api/audit?since=' . ($all[-1]{ts}),
                               headers => \%A);
ok((grep { $_->{ts} < $all[-1]{ts} } @{ $json->decode($body)->{entries} }) == 0,
   '?since leaves out earlier entries');
for my $late ('9999999999999', '10000000000000', '10000000000001') {
    ($st, $h, $body) = $node->request(GET => "/api/audit?since=$late",
                                      headers => \%A);
    is("$st " . scalar @{ $json->decode($body)->{entries} // [1] }, '200 0',
       "?since=$late, past every entry: none (the keys' 13 digits wrapped)");
}
($st, $h, $body) = $node->request(GET => '/api/audit?limit=1001', headers => \%A);
is($st, 400, 'a limit above 1000: 400');
($st, $h, $body) = $node->request(GET => '/api/audit?since=x', headers => \%A);
is($st, 400, 'a since that is no number: 400');

# a parameter these pages do not take: a 400 naming those they do (one
# unknown to every request crashed the worker on /api/audit, whose mask
# matched no name; recursive was taken and ignored)
for my $case (['/api/audit?bogus=1', 'bogus', "the audit log's: limit, after, since"],
              ['/api/audit?meta', 'meta', "the audit log's: limit, after, since"],
              ['/api/audit?recursive=false', 'recursive', "the audit log's: limit, after, since"],
              ['/api/users?recursive=false', 'recursive', "the user and group pages': limit, after"],
              ['/api/groups?since=1', 'since', "the user and group pages': limit, after"])
{
    my ($uri, $name, $ones) = @$case;
    ($st, $h, $body) = eval { $node->request(GET => $uri, headers => \%A) };
    is(defined $st ? "$st $body" : "no answer: $@", qq(400 {"error":"the parameter \\"$name\\" is not one of $ones"}\n),
       "GET $uri: 400, naming what it takes");
}
like($node->log_text, qr/^(?!.*exited on signal)/s, 'no worker crashed');

my ($vst, $v) = verify($node, %A);
is($vst, 200, 'verify answers 200');
ok($v->{ok}, 'the chain verifies');
is($v->{entries}, scalar @all, 'every entry counted');
like($v->{head}, qr/^[0-9a-f]{128}$/, 'the head\'s hash');
is_deeply($v->{witnessed}, {}, 'no peer witnessed this standalone node');
my (undef, undef, $scrape) = $node->request(GET => '/metrics');
like($scrape, qr/^kvs_audit_entries_total \Q$v->{entries}\E$/m,
     'the metrics count the entries the chain holds');

# the store tampered with for real, each time from a copy of it

$node->stop;
my $data = $node->data_dir;
copy("$data/data.mdb", "$data/../data.mdb.good") or die $!;

sub tampered {
    my ($what, @args) = @_;
    copy("$data/../data.mdb.good", "$data/data.mdb") or die $!;
    my $named = `$tamper $data @args`;
    is($?, 0, "the tool: $what");
    chomp $named;
    $node->start;
    my ($l, undef, $lb) = login('admin', 'admin-password');
    my ($s, undef, $raw) = $node->request(GET => '/api/audit/verify',
        headers => { Authorization => 'Bearer ' . json_field($lb, 'token') });
    $node->stop;
    # strict: the verdict must be UTF-8 JSON whatever bytes it names
    # (scalar: a failed eval is an empty list, which would shift the rest)
    return ($s, scalar eval { JSON::PP->new->utf8->decode($raw) }, $named,
            $raw);
}

for my $case (['an edit', qr/hmac is wrong/, 'edit', 3],
              ['a deletion', qr/entry 3 is missing/, 'delete', 3],
              ['an insertion', qr/hmac is wrong.*forged/, 'insert', 3],
              ['a reordering', qr/reordered/, 'reorder', 3, 4])
{
    my ($what, $why, @args) = @$case;
    my ($s, $r, $named) = tampered($what, @args);
    is($s, 200, "$what: verify answers");
    ok(!$r->{ok}, "$what: ok is false");
    is($r->{entry}, $named, "$what: the entry named is $named");
    like($r->{reason}, $why, "$what: the reason ($r->{reason})");
}

# an entry under a key of bytes no text has: the verdict that names it
# is still JSON, and UTF-8 (its raw bytes made it neither)
{
    my (undef, $v, $named, $raw) = tampered('a key of odd bytes', 'rekey', 3);
    ok($v, 'odd key: the verdict parses as UTF-8 JSON') or diag $raw;
    ok($v && !$v->{ok}, 'odd key: ok is false');
    is($v && $v->{entry}, $named =~ s/\xff/\x{fffd}/r,
       'odd key: the entry named, 0xff as U+FFFD');
}

# pages of a tampered log are still UTF-8 JSON: an entry that is not JSON
# is named by its key, and a key of odd bytes is escaped as "next"
sub page {
    my ($query) = @_;
    my (undef, undef, $lb) = login('admin', 'admin-password');
    my ($st, undef, $raw) = $node->request(GET => "/api/audit?$query",
        headers => { Authorization => 'Bearer ' . json_field($lb, 'token') });
    return ($st, scalar eval { JSON::PP->new->utf8->decode($raw) }, $raw);
}

{
    my ($s, $v, $named) = tampered('a garbled entry', 'garble', 3);
    ok(!$v->{ok}, 'garbled: ok is false');
    is($v->{entry}, $named, 'garbled: the entry named');
    $node->start;
    my ($st, $pg, $raw) = page('limit=1000');
    is($st, 200, 'garbled: the page answers');
    ok($pg, 'garbled: the page parses as UTF-8 JSON') or diag $raw;
    my @bad = grep { exists $_->{damaged} } @{ $pg ? $pg->{entries} : [] };
    is(scalar @bad, 1, 'one entry is shown as damaged');
    is($bad[0] && $bad[0]{key}, $named, 'named by its key');
    like($bad[0] && $bad[0]{damaged}, qr/^the stored entry is not JSON: .+ at byte \d+$/,
         'saying why');
    $node->stop;
    my @keys = split /\n/, `$tamper $data list`;
    is(scalar @{ $pg ? $pg->{entries} : [] }, scalar @keys,
       'the other entries are all there');

    # odd bytes inside entry 3's uuid: it stays third, and ends a page of 3
    tampered('a key of odd bytes, paged', 'rekey', 3, 40);
    $node->start;
    ($st, $pg, $raw) = page('limit=3');
    ok($pg, 'odd key as next: the page parses as UTF-8 JSON') or diag $raw;
    like($pg && $pg->{next}, qr/^log:\d{13}:.{22}"\x01\x{fffd}/,
         'next is the key, escaped, 0xff as U+FFFD');
    $node->stop;
}

my ($s, $r) = tampered('a truncation', 'truncate', 2);
ok($r->{ok}, 'a truncation alone leaves a valid chain: only peers\' '
             . 'witnesses catch it (t/cluster/017-audit.t)');

like($node->log_text, qr/the audit log does not verify: log:/,
     'a failed verification is logged');

# audit_reads: every GET of a key makes an entry

my $reads = KVS::Node->new(
    name => 'audit-reads', workers => 1,
    yaml => "audit_enabled: true\naudit_reads: true\n"
            . "audit_secret_file: conf/audit.secret\n");
$reads->put_file('conf/audit.secret', "$audit_secret\n");
$reads->start;
$reads->request(PUT => '/kv/r', body => '"v"');
($st) = $reads->request(GET => '/kv/r');
is($st, 200, 'audit_reads: a GET');
($st) = $reads->request(GET => '/kv/none');
my $deadline = time + 5;
do { @e = entries($reads); sleep 0.05 } while (@e < 2 && time < $deadline);
is(join(' ', map { $_->{kind} } @e), 'put read',
   'audit_reads: the GET made a read entry, the 404 none');
is($e[1]{object}, '/kv/r', 'of the key read');
is($e[1]{version}{uuid}, $e[0]{version}{uuid}, 'and the version read');
is($e[1]{user}, undef, 'anonymous, auth being off');
($vst, $v) = verify($reads);
ok($v->{ok}, 'audit on without auth: verify is open, and passes');

# reads beyond what a commit takes wait for one, they are not dropped: 300
# GETs sent at once on as many connections to one worker, while its notes
# hold 64 (each answered read used to be noted, and the 65th on lost)

my @socks;
for (1 .. 300) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $reads->port, Proto => 'tcp',
                                  Timeout => 10)
        or die "connect: $!";
    push @socks, $s;
}
print { $_ } "GET /kv/r HTTP/1.0\r\nHost: localhost\r\n\r\n" for @socks;
my %answered;
for my $s (@socks) {
    local $/;
    my $answer = <$s> // '';
    my ($code) = $answer =~ m{^HTTP/1\.\d (\d{3})};
    # a read that waited for its entry answers the same bytes
    $code .= ' with another body' if ($answer =~ /\r\n\r\n(.*)\z/s)[0] ne '"v"';
    $answered{$code // 'none'}++;
    close $s;
}
is(join(' ', map { "$_:$answered{$_}" } sort keys %answered), '200:300',
   'audit_reads: 300 GETs at once are answered 200');
$deadline = time + 10;
do { @e = entries($reads); sleep 0.1 }
    while (@e < 302 && time < $deadline);
is(scalar(grep { $_->{kind} eq 'read' } @e), 301,
   'each made its read entry (and the first GET its own)');
unlike($reads->log_text, qr/audit entry of "read" was lost/,
       'none was lost');
($vst, $v) = verify($reads);
ok($v->{ok}, 'the chain of them verifies');
$reads->stop;

done_testing;
