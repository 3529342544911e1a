# nginx started as root runs its workers and the cluster agent as its
# "user".  A data_dir under a directory that user cannot pass (a clone in
# /root, 0700 on Debian, served by `make run`) let nginx -t and the start
# succeed until 2026-12-04's seventh session, then every worker and the
# agent died at their start and the node listened without answering, and
# a reload onto such a data_dir took a serving node down.  Now nginx -t,
# the start and the reload refuse it, naming the directory; the other
# suites run their nodes with `user root;`, so this one sets the user.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(wait_for);
use File::Path qw(make_path);
use IO::Socket::INET;
use IO::Select;
use Time::HiRes qw(sleep time);

plan skip_all => 'needs root: nginx drops privileges only when started as root'
    unless $> == 0;
plan skip_all => 'needs the user nobody and the group nogroup'
    unless defined getpwnam('nobody') && defined getgrnam('nogroup');

# the node's nginx.conf with `user $user;` instead of the suites' `user root;`
sub set_user {
    my ($node, $user) = @_;
    my $conf = $node->prefix . '/conf/nginx.conf';
    open my $f, '<', $conf or die "$conf: $!";
    my $text = do { local $/; <$f> };
    close $f;
    $text =~ s/^user [^;]*;/user $user;/m or die "no user line in $conf";
    open $f, '>', $conf or die "$conf: $!";
    print $f $text;
    close $f;
}

sub nginx {
    my ($node, @args) = @_;
    my $p = $node->prefix;
    my $out = `$node->{nginx} @args -p $p/ -c conf/nginx.conf 2>&1`;
    return ($? >> 8, $out);
}

# GET /health with a deadline for the answer too: a node without workers
# accepts the connection (the kernel's backlog) and never answers
sub health {
    my ($node, $seconds) = @_;
    my $deadline = time + $seconds;
    while (time < $deadline) {
        my $s = IO::Socket::INET->new(PeerAddr => $node->address,
                                      PeerPort => $node->port, Timeout => 1);
        if ($s) {
            print $s "GET /health HTTP/1.0\r\n\r\n";
            my $sel = IO::Select->new($s);
            my $resp = '';
            while ($sel->can_read(1)) {
                my $n = sysread($s, my $buf, 4096);
                last unless $n;
                $resp .= $buf;
            }
            close $s;
            return $1 if $resp =~ m{^HTTP/1\.\d (\d{3})};
        }
        sleep 0.1;
    }
    return 0;
}

my $node = KVS::Node->new(name => 'priv', workers => 1);
my $private = $node->prefix . '/private';
make_path($private);
chmod 0700, $private;
my $yaml = "node_id: priv\nport: " . $node->port . "\nbackup_enabled: false\n";
$node->set_yaml($yaml . "data_dir: $private/data\n");
set_user($node, 'nobody nogroup');

my $said = qr/kvs: nginx's workers run as user "nobody" \(uid \d+\), which cannot pass "\Q$private\E" \(mode 0700, owner uid 0\) to reach data_dir "\Q$private\E\/data": let that user through, move data_dir, or set nginx's "user"/;

my ($rc, $out) = nginx($node, '-t');
isnt($rc, 0, 'nginx -t refuses a data_dir under a directory the workers cannot pass');
like($out, $said, '... naming the user, the directory, its mode and data_dir');

($rc, $out) = nginx($node);
isnt($rc, 0, 'and so does the start') or do { $node->{pid} = $node->master_pid; $node->stop };
like($out, $said, '... with the same sentence');
is(health($node, 1), 0, 'no node listens');

chmod 0711, $private;
($rc, $out) = nginx($node);
is($rc, 0, 'once the directory lets others pass, the node starts') or diag $out;
$node->{pid} = $node->master_pid;
is(health($node, 5), 200, 'and its workers, as nobody, answer');
ok((stat "$private/data")[4] == getpwnam('nobody'), 'data_dir belongs to nobody');

# a reload onto such a data_dir is refused; the running workers serve on
my $closed = $node->prefix . '/closed';
make_path($closed);
chmod 0700, $closed;
$node->set_yaml($yaml . "data_dir: $closed/data\n");
set_user($node, 'nobody nogroup');
($rc, $out) = nginx($node, '-s', 'reload');
isnt($rc, 0, 'nginx -s reload reads the configuration first, and refuses it');
like($out, qr/cannot pass "\Q$closed\E"/, '... saying why');
kill 'HUP', $node->{pid} if $node->{pid} && $node->{pid} > 1;
ok(wait_for(5, sub { $node->log_text =~ /\[emerg\].*cannot pass "\Q$closed\E"/ }),
   'a SIGHUP to the master: it refuses the new configuration, saying why');
sleep 0.5;
is(health($node, 5), 200, 'and the node still answers, from the old workers');
unlike($node->log_text, qr/exited with fatal code|exited on signal/,
       'no worker died');

$node->stop;
done_testing;
