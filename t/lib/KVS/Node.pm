package KVS::Node;

# One real KVS node for the suites that need more than Test::Nginx gives:
# its own nginx prefix, data_dir and free loopback port, started, stopped,
# killed with -9 and restarted by pid, and a small blocking HTTP client.
# Every node started is stopped when the test ends, whatever happens.

use strict;
use warnings;

use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha256_hex sha256_hex);
use Exporter qw(import);
use File::Path qw(make_path remove_tree);
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(seeds wait_for sign_headers);

my @live;
my $owner = $$;    # forked clients must not stop the nodes when they exit

# a port free on the loopback address given (127.0.0.1 unless told)
# A port free now, and never one this process was given before: the
# kernel may hand a closed port out again at once, and a test that asks
# for two (a node's listener and its TLS one) would get one port twice,
# which nginx refuses as a duplicate listen.
my %given_ports;

sub free_port {
    my ($address) = @_;
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(Listen => 1,
                                      LocalAddr => $address // '127.0.0.1',
                                      LocalPort => 0, Proto => 'tcp', ReuseAddr => 1)
            or die "cannot find a free port: $!";
        my $port = $s->sockport;
        close $s;
        next if $given_ports{$port}++;
        return $port;
    }
    die "cannot find a port not given before in 100 tries\n";
}

# new(name => 'n1', yaml => "extra: lines\n", workers => 2,
#     http => "extra http directives", server => "extra server directives",
#     address => '127.0.0.2' (the loopback address it listens on, and the
#     test calls it at; 127.0.0.1 unless told), log_level => 'debug' (of
#     its error log; info unless told))
sub new {
    my ($class, %o) = @_;
    my $top = abs_path(__FILE__) =~ s{/t/lib/KVS/Node\.pm$}{}r;
    my $address = $o{address} // '127.0.0.1';
    my $self = bless {
        name    => $o{name} // 'node',
        address => $address,
        log_level => $o{log_level} // 'info',
        workers => $o{workers} // 2,
        yaml    => $o{yaml} // '',
        main    => $o{main} // '',      # top-level directives
        http    => $o{http} // '',
        server  => $o{server} // '',
        bind_address => $o{bind_address},    # what peers are told
        peer_port    => $o{peer_port},
        kvs_config => exists $o{kvs_config} ? $o{kvs_config}
                                            : 'kvs_config node.yaml;',
        port    => $o{port} // free_port($address),
        module  => $ENV{KVS_MODULE} // "$top/build/ngx_http_kvs_module.so",
        nginx   => $ENV{TEST_NGINX_BINARY} // '/usr/sbin/nginx',
    }, $class;
    $self->{prefix} = "$top/t/servroot-nodes/$$-$self->{name}";
    remove_tree($self->{prefix});
    make_path("$self->{prefix}/conf", "$self->{prefix}/logs",
              "$self->{prefix}/tmp");
    $self->write_conf;
    return $self;
}

# the command run as nginx from now on, with nginx's arguments: a wrapper,
# e.g. one that mounts something on data_dir first
sub use_nginx { $_[0]{nginx} = $_[1] }

# nginx from now on in a mount namespace of its own, where the shell
# command $mount has run first (it mounts something under the prefix, a
# tmpfs on data_dir, an image on backup_dir), so nothing outside sees it
sub use_mount_namespace {
    my ($self, $mount) = @_;
    my $nginx = $self->{nginx};
    my $wrapper = "$self->{prefix}/nginx-in-namespace";
    open my $w, '>', $wrapper or die "$wrapper: $!";
    $mount =~ s/'/'\\''/g;
    print $w "#!/bin/sh\nexec unshare -m --propagation private sh -c "
           . "'$mount && exec \"\$\@\"' sh $nginx \"\$\@\"\n";
    close $w;
    chmod 0755, $wrapper;
    $self->use_nginx($wrapper);
}

sub port   { $_[0]{port} }
sub address { $_[0]{address} }

# Moves the node to another loopback address, same port, same data: it
# listens there from its next start.  Its nginx.conf and node.yaml are
# written anew, as new() wrote them (a set_yaml() is undone).
sub set_address {
    my ($self, $address) = @_;
    $self->{address} = $address;
    $self->write_conf;
}
sub prefix { $_[0]{prefix} }
sub data_dir { "$_[0]{prefix}/data" }
sub error_log { "$_[0]{prefix}/logs/error.log" }

# writes a file at $path under the node's prefix ("conf/jwt.secret"): the
# files its YAML names
sub put_file {
    my ($self, $path, $text) = @_;
    my $file = "$self->{prefix}/$path";
    open my $f, '>', $file or die "$file: $!";
    print $f $text;
    close $f;
}

sub write_conf {
    my ($self) = @_;
    my $user = $> == 0 ? "user root;\n" : '';
    open my $c, '>', "$self->{prefix}/conf/nginx.conf" or die $!;
    print $c <<"CONF";
load_module $self->{module};
${user}worker_processes $self->{workers};
error_log logs/error.log $self->{log_level};
$self->{main}
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path tmp/body;
    proxy_temp_path tmp/proxy;
    fastcgi_temp_path tmp/fastcgi;
    uwsgi_temp_path tmp/uwsgi;
    scgi_temp_path tmp/scgi;
    $self->{kvs_config}
    $self->{http}
    server {
        listen $self->{address}:$self->{port};
        $self->{server}
        location / { kvs_api; }
    }
}
CONF
    close $c;
    open my $y, '>', "$self->{prefix}/conf/node.yaml" or die $!;
    my $bind = $self->{bind_address} // '127.0.0.1';
    my $port = $self->{peer_port} // $self->{port};
    # no backup on the default schedule, midnight UTC, unless the suite
    # asks: one would add audit entries and files to a test running then
    my $backups = $self->{yaml} =~ /^backup_enabled:/m ? ''
                : ($self->{yaml} =~ /[^\n]\z/ ? "\n" : '')
                  . "backup_enabled: false\n";
    print $y "node_id: $self->{name}\nbind_address: $bind\n"
           . "port: $port\ndata_dir: ./data\n$self->{yaml}$backups";
    close $y;
}

# Starts nginx (it daemonizes) and waits until /health answers; dies with
# the error log when it does not start.
sub start {
    my ($self, %o) = @_;
    my $out = `$self->{nginx} -p $self->{prefix}/ -c conf/nginx.conf 2>&1`;
    if ($? != 0) {
        return $out if $o{may_fail};
        die "nginx did not start: $out\n" . $self->log_text;
    }
    my $deadline = time + 10;
    while (time < $deadline) {
        my $pid = $self->master_pid;
        if ($pid) {
            $self->{pid} = $pid;
            push @live, $self unless grep { $_ == $self } @live;
            my ($st) = eval { $self->request(GET => '/health') };
            return '' if $st && $st == 200;
        }
        sleep 0.05;
    }
    die "nginx did not answer /health within 10 s\n" . $self->log_text;
}

# nginx -t on the node's configuration: (exit code, output).
sub test_config {
    my ($self) = @_;
    my $out = `$self->{nginx} -t -p $self->{prefix}/ -c conf/nginx.conf 2>&1`;
    return ($? >> 8, $out);
}

# Replaces the node's YAML with exactly this text.
sub set_yaml {
    my ($self, $text) = @_;
    open my $y, '>', "$self->{prefix}/conf/node.yaml" or die $!;
    print $y $text;
    close $y;
}

sub master_pid {
    my ($self) = @_;
    open my $f, '<', "$self->{prefix}/logs/nginx.pid" or return;
    my $pid = <$f>;
    return unless defined $pid;
    chomp $pid;
    return $pid =~ /^\d+$/ && running($pid) ? $pid : undef;
}

# The master and every process whose parent it is (workers, helpers).
sub pids {
    my ($self) = @_;
    my $m = $self->{pid} or return ();
    my @p = ($m);
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $f, '<', $stat or next;
        my $line = <$f> // next;
        my ($pid, $ppid) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        push @p, $pid if $ppid == $m;
    }
    return @p;
}

sub title {
    my ($pid) = @_;
    open my $f, '<', "/proc/$pid/cmdline" or return '';
    return <$f> // '';
}

# the worker processes, without the helper that runs the cluster agent
# (a child is counted once it has set its title).  One worker may answer
# before the master has forked the next, so this waits for as many as the
# configuration starts.
sub worker_pids {
    my ($self) = @_;
    my $deadline = time + 5;
    my @p;
    while (time < $deadline) {
        my @kids = grep { $_ != $self->{pid} } $self->pids;
        @p = grep { title($_) =~ /worker process/ } @kids;
        last if @p >= $self->{workers}
                && !grep { title($_) =~ /master process/ } @kids;
        sleep 0.02;
    }
    return @p;
}

# the helper that runs the cluster agent, once its first tick has titled it
sub helper_pid {
    my ($self) = @_;
    my $deadline = time + 2;
    while (1) {
        my ($pid) = grep { title($_) =~ /kvs agent process/ } $self->pids;
        return $pid if $pid || time > $deadline;
        sleep 0.02;
    }
}

# a process is gone once it is dead: nobody may reap a daemon's zombie here
sub running {
    my ($pid) = @_;
    open my $f, '<', "/proc/$pid/stat" or return 0;
    my $stat = <$f> // '';
    return $stat !~ /^\d+ \(.*\) Z/;
}

sub wait_gone {
    my ($self, @pids) = @_;
    my $deadline = time + 10;
    while (time < $deadline) {
        @pids = grep { running($_) } @pids;
        return 1 unless @pids;
        sleep 0.02;
    }
    return 0;
}

# Graceful stop (QUIT), then TERM and KILL if it lingers.
sub stop {
    my ($self) = @_;
    my @p = $self->pids or return;
    kill 'QUIT', $self->{pid};
    unless ($self->wait_gone(@p)) {
        kill 'KILL', @p;
        $self->wait_gone(@p);
    }
    delete $self->{pid};
}

# kill -9 of the master and all its children at once.
sub kill9 {
    my ($self) = @_;
    my @p = $self->pids or return;
    kill 'KILL', @p;
    $self->wait_gone(@p);
    delete $self->{pid};
    unlink "$self->{prefix}/logs/nginx.pid";
}

sub log_text {
    my ($self) = @_;
    open my $f, '<', $self->error_log or return '';
    local $/;
    return <$f>;
}

# request(METHOD => '/path', body => '...', headers => {...}, keep => $sock)
# returns (status, {lowercased headers}, body).
sub request {
    my ($self, $method, $path, %o) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $self->{address},
                                  PeerPort => $self->{port}, Proto => 'tcp',
                                  Timeout => 10)
        or die "connect to $self->{port}: $!";
    my $body = $o{body} // '';
    my $h = $o{headers} // {};
    my $req = "$method $path HTTP/1.1\r\nHost: localhost\r\n"
            . "Connection: close\r\n";
    $req .= "$_: $h->{$_}\r\n" for sort keys %$h;
    $req .= "Content-Length: " . length($body) . "\r\n"
        if length $body || $method eq 'PUT';
    $req .= "\r\n$body";
    print $s $req;
    local $/;
    my $resp = <$s> // '';
    close $s;
    my ($head, $rbody) = split /\r\n\r\n/, $resp, 2;
    die "no response from port $self->{port}\n" unless defined $head;
    my ($status) = $head =~ m{^HTTP/1\.\d (\d{3})} or die "bad response";
    my %hdr;
    for (split /\r\n/, $head) {
        $hdr{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
    }
    return ($status + 0, \%hdr, $rbody // '');
}

# GET /api/backup/status, decoded (headers: a token's, with auth on);
# dies unless it answers 200.
sub backup_status {
    my ($self, $headers) = @_;
    my ($st, undef, $body) = $self->request(GET => '/api/backup/status',
                                            headers => $headers // {});
    die "GET /api/backup/status: $st $body\n" unless $st == 200;
    return JSON::PP->new->decode($body);
}

# Asks the node's agent for a backup now (POST /api/backup) and returns
# its file once GET /api/backup/status says it is written; dies otherwise.
sub backup {
    my ($self) = @_;
    my ($st, undef, $b) = $self->request(POST => '/api/backup');
    die "POST /api/backup: $st $b\n" unless $st == 202;
    my ($asked) = $b =~ /"asked_at":(\d+)/;
    my $last;
    wait_for(30, sub {
        $last = $self->backup_status->{last};
        return $last && $last->{started_at} >= $asked && $last->{ok};
    }) or die "no backup within 30 s\n";
    return "$self->{prefix}/backups/$last->{file}";
}

# A keep-alive connection to the node, for suites that send thousands of
# requests: $c = $node->connection; $c->request(METHOD => '/path', body =>
# '...', headers => {...}) returns (status, {lowercased headers}, body) as
# request() does.  It connects again when nginx closes the connection
# (keepalive_requests, or a Connection: close answer).
sub connection {
    my ($self) = @_;
    return bless { port => $self->{port}, sock => undef, buf => '' },
                 'KVS::Node::Connection';
}

package KVS::Node::Connection;

sub request {
    my ($c, $method, $path, %o) = @_;
    unless ($c->{sock}) {
        $c->{sock} = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                           PeerPort => $c->{port},
                                           Proto => 'tcp', Timeout => 10)
            or die "connect to $c->{port}: $!";
        $c->{buf} = '';
    }
    my $body = $o{body} // '';
    my $h = $o{headers} // {};
    my $req = "$method $path HTTP/1.1\r\nHost: localhost\r\n";
    $req .= "$_: $h->{$_}\r\n" for sort keys %$h;
    $req .= "Content-Length: " . length($body) . "\r\n"
        if length $body || $method eq 'PUT' || $method eq 'POST';
    $req .= "\r\n$body";
    print { $c->{sock} } $req or die "send to $c->{port}: $!";

    my $end;
    $c->fill until ($end = index($c->{buf}, "\r\n\r\n")) >= 0;
    my $head = substr($c->{buf}, 0, $end);
    substr($c->{buf}, 0, $end + 4) = '';
    my ($status) = $head =~ m{^HTTP/1\.\d (\d{3})} or die "bad response";
    my %hdr;
    for (split /\r\n/, $head) {
        $hdr{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
    }
    my $len = $method eq 'HEAD' || $status == 204 || $status == 304
              ? 0 : $hdr{'content-length'} // die "no Content-Length";
    $c->fill while length $c->{buf} < $len;
    my $rbody = substr($c->{buf}, 0, $len);
    substr($c->{buf}, 0, $len) = '';
    if (lc($hdr{connection} // '') eq 'close') {
        close $c->{sock};
        $c->{sock} = undef;
    }
    return ($status + 0, \%hdr, $rbody);
}

sub fill {
    my ($c) = @_;
    my $n = sysread($c->{sock}, $c->{buf}, 65536, length $c->{buf});
    die "connection to $c->{port} closed mid-response\n" unless $n;
}

package KVS::Node;

# nodes as a YAML list of seeds
sub seeds {
    return '[' . join(', ', map { '"127.0.0.1:' . $_->port . '"' } @_) . ']';
}

# polls cond every 50 ms for at most secs seconds; true once it holds
sub wait_for {
    my ($secs, $cond) = @_;
    my $deadline = time + $secs;
    while (time < $deadline) {
        return 1 if $cond->();
        sleep 0.05;
    }
    return 0;
}

# the headers a member of the cluster signs a request with (DESIGN.md)
sub sign_headers {
    my ($secret, $method, $uri, $body, $from, $date) = @_;
    $date //= int(time * 1000);
    my $sig = hmac_sha256_hex(join("\n", $method, $uri, $date,
                                   sha256_hex($body // '')), $secret);
    return { 'X-KVS-Node' => $from // 'test', 'X-KVS-Date' => $date,
             'X-KVS-Signature' => $sig };
}

# a request signed as a member of the cluster signs it
sub signed {
    my ($self, $secret, $method, $uri, $body, $from, $date) = @_;
    $body //= '';
    return $self->request($method => $uri, body => $body,
        headers => sign_headers($secret, $method, $uri, $body, $from, $date));
}

# GET /_cluster/digest: the body, or '' when it is not a 200
sub digest {
    my ($self, $secret) = @_;
    my ($st, $h, $b) = $self->signed($secret, GET => '/_cluster/digest');
    return $st == 200 ? $b : '';
}

END {
    return unless $$ == $owner;
    for my $n (@live) {
        my @p = $n->pids or next;
        kill 'KILL', @p;
        $n->wait_gone(@p);
    }
}

1;
