# conf-examples/load-balancer/front.conf as shipped (only its ports, its
# certificate paths and the nodes' addresses substituted), a plain nginx
# without the KVS module, in front of three nodes: reads and writes over
# TLS through it; the client's address passed on in X-Forwarded-For,
# which a node's set_real_ip_from takes; with one node read-only and
# another killed, every write through it still succeeds; a wiped node
# that bootstraps (syncing) is skipped for writes until it is normal, then
# takes them again.
use strict;
use warnings;
use Test::More;
use IO::Socket::SSL;
use File::Path qw(make_path remove_tree);
use POSIX ();
use Time::HiRes qw(sleep time);
use KVS::Node qw(seeds wait_for);
use KVS::PKI;

$SIG{PIPE} = "IGNORE";    # the front may answer a 413 before it reads the whole body

my $secret = 'load-balancer-secret-0123456789';
my $timing = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\n"
           . "failure_timeout: 3\nremoval_timeout: 60\npeer_timeout: 1\n"
           . "sync_interval: 600\ncatchup_interval: 600\n"
           . "cluster_secret: $secret\n";
sub health { (eval { ($_[0]->request(GET => '/health'))[2] }) // '' }

# lb1 takes the client's address from the front as README.md says, and
# logs what the front passed on
my $n1 = KVS::Node->new(name => 'lb1', yaml => $timing . "seed_nodes: []\n",
    http => q{log_format xff '$remote_addr $realip_remote_addr "$request" }
          . q{xff="$http_x_forwarded_for" real="$http_x_real_ip" }
          . q{proto="$http_x_forwarded_proto" conn="$http_connection"';},
    server => "access_log logs/access.log xff;\n"
            . "set_real_ip_from 127.0.0.1;\nreal_ip_header X-Forwarded-For;");
my $n2 = KVS::Node->new(name => 'lb2', yaml => $timing . 'seed_nodes: ' . seeds($n1) . "\n");
# lb3's bootstrap is throttled, so that its syncing lasts seconds
my $n3 = KVS::Node->new(name => 'lb3', yaml => $timing . "throttle_delay_ms: 1500\n"
                                             . 'seed_nodes: ' . seeds($n1, $n2) . "\n");
my @nodes = ($n1, $n2, $n3);
$_->start for @nodes;
ok(wait_for(15, sub { !grep { health($_) !~ /"mode":"normal","member_count":3/ } @nodes }),
   'three nodes know each other');

# the front: the example file, its ports and certificates substituted
my $pki = KVS::PKI->new;
$pki->ca('ca');
$pki->cert('front', 'ca', 'subjectAltName=IP:127.0.0.1');
my $top = $n1->prefix =~ s{/t/servroot-nodes/.*}{}r;
my $prefix = "$top/t/servroot-nodes/$$-front";
remove_tree($prefix);
make_path("$prefix/conf", "$prefix/logs", "$prefix/tmp");
my $fport = KVS::Node::free_port();
open my $in, '<', "$top/conf-examples/load-balancer/front.conf" or die $!;
my $conf = do { local $/; <$in> };
close $in;
my $i = 0;
for my $n (@nodes) {
    $i++;
    my $p = $n->port;
    $conf =~ s/server  127\.0\.0\.1:808$i /server  127.0.0.1:$p /
        or die "no node $i in front.conf";
}
$conf =~ s/listen  127\.0\.0\.1:8443 ssl;/listen  127.0.0.1:$fport ssl;/ or die;
$conf =~ s{ssl_certificate      \S+;}{ssl_certificate      ${\ $pki->dir}/front.pem;} or die;
$conf =~ s{ssl_certificate_key  \S+;}{ssl_certificate_key  ${\ $pki->dir}/front.key;} or die;
my $user = $> == 0 ? "user root;\n" : '';
open my $out, '>', "$prefix/conf/nginx.conf" or die $!;
print $out $user . $conf;
close $out;

my $nginx = $ENV{TEST_NGINX_BINARY} // '/usr/sbin/nginx';
my $t_out = `$nginx -t -p $prefix/ -c conf/nginx.conf 2>&1`;
is($?, 0, 'the example passes nginx -t (no KVS module loaded)') or diag $t_out;

my $front_pid;
sub front_pids {
    return () unless $front_pid;
    my @p = ($front_pid);
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $f, '<', $stat or next;
        my $line = <$f> // next;
        my ($pid, $ppid) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        push @p, $pid if $ppid == $front_pid;
    }
    return @p;
}
sub stop_front {
    my @p = front_pids() or return;
    kill 'QUIT', $front_pid;
    my $deadline = time + 10;
    sleep 0.05 while time < $deadline && grep { KVS::Node::running($_) } @p;
    kill 'KILL', grep { KVS::Node::running($_) } @p;
    undef $front_pid;
}
my $owner = $$;
END { stop_front() if $$ == $owner }

# request over TLS to the front, checking its certificate against the CA:
# (status, {lowercased headers}, body); status 0 when it did not answer
sub front {
    my ($method, $path, %o) = @_;
    my $s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $fport,
                                 SSL_ca_file => $pki->dir . '/ca.pem',
                                 SSL_verifycn_name => '127.0.0.1',
                                 SSL_verifycn_scheme => 'http', Timeout => 30)
        or return (0, {}, "connect: $SSL_ERROR");
    my $body = $o{body} // '';
    my $h = $o{headers} // {};
    my $req = "$method $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    $req .= "$_: $h->{$_}\r\n" for sort keys %$h;
    $req .= 'Content-Length: ' . length($body) . "\r\n"
        if length $body || $method eq 'PUT';
    print $s "$req\r\n$body";
    local $/;
    my $resp = <$s> // '';
    close $s;
    my ($head, $rbody) = split /\r\n\r\n/, $resp, 2;
    my ($st) = ($head // '') =~ m{^HTTP/1\.\d (\d{3})} or return (0, {}, $resp);
    my %hdr;
    for (split /\r\n/, $head) { $hdr{lc $1} = $2 if /^([^:]+):\s*(.*)$/ }
    return ($st + 0, \%hdr, $rbody // '');
}

{
    my $out = `$nginx -p $prefix/ -c conf/nginx.conf 2>&1`;
    die "the front did not start: $out" if $?;
    ok(wait_for(10, sub {
           if (open my $f, '<', "$prefix/logs/nginx.pid") {
               my $p = <$f> // '';
               chomp $p;
               $front_pid = $p if $p =~ /^\d+$/;
           }
           $front_pid && (front(GET => '/health'))[0] == 200
       }), 'the front answers over TLS');
}

# the front's access log, one hash per request: method, uri, status,
# upstream (the nodes tried, in order), statuses (their answers)
my %by_port = map { ($_->port => $_) } @nodes;
sub front_log {
    open my $f, '<', "$prefix/logs/access.log" or return ();
    my @r;
    while (my $l = <$f>) {
        my ($m, $u, $st, $up, $sts) =
            $l =~ m{"(\S+) (\S+) HTTP/1\.\d" (\d+) \d+ upstream=(.*) statuses=(.*) times=} or next;
        push @r, { method => $m, uri => $u, status => $st,
                   upstream => [ map { /:(\d+)$/ ? $1 : $_ } split /, /, $up ],
                   statuses => [ split /, /, $sts ] };
    }
    return @r;
}
# the entries after the first n
sub log_since { my @r = front_log(); splice @r, 0, $_[0]; return @r }

# reads and writes through the front
my ($st, $h, $b) = front(PUT => '/kv/lb/hello', body => '{"via":"front"}');
is($st, 200, 'a PUT through the front over TLS') or diag $b;
my $etag = $h->{etag};
# the next request may go to another node: replication takes ~50 ms
ok(wait_for(5, sub { !grep { (($_->request(GET => '/kv/lb/hello'))[1]{etag} // '') ne $etag } @nodes }),
   'every node holds the version written through the front');
($st, $h, $b) = front(GET => '/kv/lb/hello');
is($st, 200, 'a GET through the front');
is($b, '{"via":"front"}', 'reads the value back');
is($h->{etag}, $etag, 'the same version');
($st, $h, $b) = front(PUT => '/kv/lb/hello', body => '{"v":2}',
                      headers => { 'If-Match' => $etag });
is($st, 200, 'a conditional PUT through the front') or diag $b;
my $etag2 = $h->{etag};
ok(wait_for(5, sub { !grep { (($_->request(GET => '/kv/lb/hello'))[1]{etag} // '') ne $etag2 } @nodes }),
   'which reaches every node');
($st, $h, $b) = front(PUT => '/kv/lb/hello', body => '{"v":3}',
                      headers => { 'If-Match' => $etag });
is($st, 412, "an If-Match of the old version: the node's 412 passes through") or diag $b;
($st) = front(DELETE => '/kv/lb/hello');
is($st, 204, 'a DELETE through the front');
ok(wait_for(5, sub { !grep { ($_->request(GET => '/kv/lb/hello'))[0] != 404 } @nodes }),
   'which reaches every node');
($st) = front(GET => '/kv/lb/hello');
is($st, 404, 'and the key is gone through the front');
($st, $h, $b) = front(GET => '/metrics');
is($st, 404, 'the front does not serve the nodes\' /metrics');
($st) = front(POST => '/_cluster/apply', body => 'x');
is($st, 404, 'nor the internal endpoints');
($st, $h, $b) = front(PUT => '/kv/lb/big', body => '"' . ('a' x (1024 * 1024 - 1)) . '"');
is($st, 413, 'a body over the front\'s client_max_body_size 1m: 413');
like($b, qr/^\{"error":"the body is larger than the front takes/, 'as JSON');
($st, $h, $b) = front(GET => '/members/');
is($st, 200, 'but it serves /members/');
my %seen;
for (1 .. 12) { ($st) = front(GET => '/health'); }
$seen{$_->{upstream}[0]}++ for grep { $_->{uri} eq '/health' } front_log();
is(scalar keys %seen, 3, 'reads are spread over the three nodes')
    or diag explain \%seen;

# what the nodes get: the client's address, appended to what it sent
for (1 .. 6) {
    front(GET => '/kv/lb/xff', headers => { 'X-Forwarded-For' => '203.0.113.9' });
}
my ($xff) = grep { m{"GET /kv/lb/xff } } do {
    open my $f, '<', $n1->prefix . '/logs/access.log' or die $!;
    <$f>;
};
ok($xff, 'lb1 got some of six GETs through the front') or diag $n1->log_text;
like($xff // '', qr{ xff="203\.0\.113\.9, 127\.0\.0\.1" real="127\.0\.0\.1" proto="https" conn="-"$},
     'with X-Forwarded-For (the client\'s, then the address the front saw), X-Real-IP, X-Forwarded-Proto, no Connection');
like($xff // '', qr{^127\.0\.0\.1 127\.0\.0\.1 },
     'and set_real_ip_from + real_ip_header X-Forwarded-For take the last address, not the one the client wrote');

# a wiped node bootstraps slowly (syncing): writes skip it until normal
for my $k (1 .. 3000) {
    $n1->request(PUT => "/kv/bulk/$k", body => qq({"k":$k}));
}
ok(wait_for(30, sub { ($n3->request(GET => '/kv/bulk/3000'))[0] == 200 }),
   '3,000 keys written on lb1 reached lb3');
$n3->kill9;
remove_tree($n3->data_dir);
$n3->start;
like(health($n3), qr/"mode":"syncing"/, 'lb3, wiped and restarted, is syncing');
my $lines = () = front_log();
my @bad;
my $n = 0;
while (health($n3) =~ /"mode":"syncing"/ && $n < 60) {
    $n++;
    ($st, $h, $b) = front(PUT => "/kv/sync/$n", body => qq({"n":$n}));
    push @bad, "$n: $st $b" if $st != 200;
}
my $still_syncing = health($n3) =~ /"mode":"syncing"/;
cmp_ok($n, '>=', 10, "at least 10 writes through the front while lb3 was syncing ($n)");
is("@bad", '', 'every one of them 200');
my @during = grep { $_->{uri} =~ m{^/kv/sync/} } log_since($lines);
my @refused = grep { $_->{upstream}[0] == $n3->port } @during;
cmp_ok(scalar @refused, '>=', 1, 'some were sent to lb3 first');
ok(!grep({ $_->{statuses}[0] != 503 || @{ $_->{upstream} } < 2
           || $_->{upstream}[-1] == $n3->port || $_->{statuses}[-1] != 200 } @refused),
   'which refused each with 503, and the next node took it')
    or diag explain \@refused;
ok(!grep({ my $r = $_; grep { $r->{upstream}[$_] == $n3->port && $r->{statuses}[$_] == 200 }
                           0 .. $#{ $r->{upstream} } } @during),
   'lb3 took none of them while syncing') if $still_syncing;
ok(wait_for(60, sub { health($n3) =~ /"mode":"normal"/ }), 'lb3 turns normal');
# the front rests a node for fail_timeout (10 s) after max_fails refusals
$lines = () = front_log();
my $k = 0;
ok(wait_for(40, sub {
       $k++;
       front(PUT => "/kv/after/$k", body => qq({"k":$k}));
       grep { $_->{uri} =~ m{^/kv/after/} && $_->{upstream}[0] == $n3->port
              && $_->{statuses}[0] == 200 } log_since($lines)
   }), 'once normal, lb3 takes writes through the front again');
ok(wait_for(10, sub { !grep { ($n3->request(GET => "/kv/sync/$_"))[0] != 200 } 1 .. $n }),
   'and holds every write made through the front while it was syncing');

# one node read-only, another killed: every write through the front succeeds
$n2->stop;
$n2->set_yaml("node_id: lb2\nbind_address: 127.0.0.1\nport: " . $n2->port
              . "\ndata_dir: ./data\n$timing" . "read_only: true\n"
              . 'seed_nodes: ' . seeds($n1) . "\n");
$n2->start;
like(health($n2), qr/"mode":"read-only"/, 'lb2 restarted read-only');
$n3->kill9;
$lines = () = front_log();
@bad = ();
for my $j (1 .. 50) {
    ($st, $h, $b) = front(PUT => "/kv/ro/$j", body => qq({"j":$j}));
    push @bad, "$j: $st $b" if $st != 200;
}
is("@bad", '', '50 PUTs through the front with lb2 read-only and lb3 killed: all 200');
($st) = front(DELETE => '/kv/ro/50');
is($st, 204, 'and a DELETE');
is(scalar(grep { ($n1->request(GET => "/kv/ro/$_"))[0] != ($_ == 50 ? 404 : 200) } 1 .. 50), 0,
   'all readable on lb1 directly, the deleted one gone');
ok(wait_for(10, sub { !grep { ($n2->request(GET => "/kv/ro/$_"))[0] != ($_ == 50 ? 404 : 200) } 1 .. 50 }),
   'and on the read-only lb2, by replication');
my @ro = grep { $_->{uri} =~ m{^/kv/ro/} } log_since($lines);
my %first;
$first{$_->{upstream}[0]}++ for @ro;
diag 'first node tried for the 51 writes: '
   . join(', ', map { ($by_port{$_} ? $by_port{$_}{name} : $_) . " $first{$_}" } sort keys %first);
ok(scalar(grep { $_->{upstream}[0] != $n1->port } @ro) >= 1,
   'some of them were first sent to a node that could not take them');
($st, $h, $b) = front(GET => '/kv/ro/1');
is($st, 200, 'reads go on through the front');

stop_front();
$_->stop for @nodes;
done_testing;
