package Test::Nginx::Socket;

# A Test::Nginx::Socket-compatible test scaffold for the subset of the
# data format the project's nginx module test suites use.  The real
# Test::Nginx lives on CPAN; this is an independent implementation written
# from its documentation, on top of Test::Base (Debian: libtest-base-perl)
# and Perl core modules only, used only where the real one is not
# installed.  See the POD at the end for what is supported.

use strict;
use warnings;

use Test::Base -base;

use Digest::MD5 ();
use Digest::SHA ();
use IO::Select ();
use IO::Socket::INET ();
use List::Util ();
use Time::HiRes ();

use Test::Nginx::Util ();

our $VERSION = '0.30_compat';

our @EXPORT = qw(
    run_tests run_test
    repeat_each no_shuffle workers master_on master_off master_process_enabled
    log_level no_long_string no_diff no_root_location worker_connections
    config_preamble env_to_nginx check_accum_error_log timeout
    add_block_preprocessor add_cleanup_handler add_response_body_check
    server_name server_addr server_root html_dir server_port
    server_port_for_client no_nginx_manager bail_out is_str
);

# Settings live in Test::Nginx::Util; alias the ones we use a lot.
BEGIN {
    no strict 'refs';
    for my $v (qw(RepeatEach NoShuffle Workers MasterProcessEnabled LogLevel
                  WorkerConnections NoRootLocation ConfigPreamble NoLongString
                  CheckAccumErrLog DefaultTimeout ServerName ServerAddr
                  NoNginxManager ForceRestartOnTest TestNginxSleep NginxBinary
                  UseValgrind ServerPort ClientPort ServRoot HtmlDir ConfFile
                  NginxPid RunnerPid Verbose))
    {
        *{"Test::Nginx::Socket::$v"} = \${"Test::Nginx::Util::$v"};
    }
}
our ($RepeatEach, $NoShuffle, $Workers, $MasterProcessEnabled, $LogLevel,
     $WorkerConnections, $NoRootLocation, $ConfigPreamble, $NoLongString,
     $CheckAccumErrLog, $DefaultTimeout, $ServerName, $ServerAddr,
     $NoNginxManager, $ForceRestartOnTest, $TestNginxSleep, $NginxBinary,
     $UseValgrind, $ServerPort, $ClientPort, $ServRoot, $HtmlDir, $ConfFile,
     $NginxPid, $RunnerPid, $Verbose);

our @BlockPreprocessors;
our @ResponseBodyChecks;
our $PrevConfig;

# ---------------------------------------------------------------------------
# Exported configuration functions
# ---------------------------------------------------------------------------

sub repeat_each (@) {
    if (@_) { $RepeatEach = shift }
    return $RepeatEach;
}

sub no_shuffle ()            { $NoShuffle = 1 }
sub no_long_string ()        { $NoLongString = 1 }
sub no_root_location ()      { $NoRootLocation = 1 }
sub check_accum_error_log () { $CheckAccumErrLog = 1 }
sub no_nginx_manager ()      { $NoNginxManager = 1 }
sub master_on ()             { $MasterProcessEnabled = 'on' }
sub master_off ()            { $MasterProcessEnabled = 'off' }

sub master_process_enabled (@) {
    if (@_) { $MasterProcessEnabled = $_[0] ? 'on' : 'off' }
    return $MasterProcessEnabled eq 'on' ? 1 : 0;
}

sub workers (@) {
    if (@_) { $Workers = shift }
    return $Workers;
}

sub worker_connections (@) {
    if (@_) { $WorkerConnections = shift }
    return $WorkerConnections;
}

sub log_level (@) {
    if (@_) { $LogLevel = shift }
    return $LogLevel;
}

sub config_preamble (@) {
    if (@_) { $ConfigPreamble = shift }
    return $ConfigPreamble;
}

sub timeout (@) {
    if (@_) { $DefaultTimeout = _parse_time(shift) }
    return $DefaultTimeout;
}

sub server_name (@) {
    if (@_) { $ServerName = shift }
    return $ServerName;
}

sub env_to_nginx (@)            { push @Test::Nginx::Util::EnvToNginx, @_ }
sub add_block_preprocessor (&)  { push @BlockPreprocessors, shift }
sub add_cleanup_handler ($)     { push @Test::Nginx::Util::CleanupHandlers, shift }
sub add_response_body_check ($) { push @ResponseBodyChecks, shift }

sub server_addr ()            { $ServerAddr }
sub server_root ()            { $ServRoot }
sub html_dir ()               { $HtmlDir }
sub server_port ()            { $ServerPort }
sub server_port_for_client () { $ClientPort }

sub bail_out (@) {
    Test::Nginx::Util::bail_out(join '', @_);
}

# is() that understands qr// expectations
sub is_str ($$;$) {
    my ($got, $expected, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $name);
    }
    return Test::Base::is($got, $expected, $name);
}

# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------

sub _parse_time {
    my ($t) = @_;
    return undef unless defined $t;
    $t =~ s/^\s+|\s+$//g;
    return $1 / 1000 if $t =~ /^(\d+(?:\.\d*)?)\s*ms$/;
    return $1 + 0    if $t =~ /^(\d+(?:\.\d*)?|\.\d+)\s*s?$/;
    die "invalid time value '$t'\n";
}

# An expectation for response #$idx.  As in Test::Nginx, a block of several
# requests (or pipelined ones) must give each per-response section as an
# array, one element per response; a single request takes a scalar or the
# first element of an array.
sub _expected {
    my ($block, $sect, $idx, $need_array) = @_;
    my $val  = scalar($block->$sect);
    my $name = scalar($block->name);
    if ($need_array) {
        return $val->[$idx] if ref $val && ref $val eq 'ARRAY';
        bail_out("$name - You asked for many requests, the expected results "
                 . "should be arrays as well (--- $sect)");
    }
    return $val->[0] if ref $val && ref $val eq 'ARRAY';
    return $val;
}

# --- more_headers: an array gives each request its own
sub _more_headers_for {
    my ($block, $i) = @_;
    my $more = scalar($block->more_headers);
    return $more unless ref $more && ref $more eq 'ARRAY';
    return $more->[$i] if defined $more->[$i];
    bail_out(scalar($block->name) . " - --- more_headers lacks data for request $i");
}

sub _trunc {
    my ($s, $max) = @_;
    $max ||= 2000;
    return '(undef)' unless defined $s;
    return length($s) > $max ? substr($s, 0, $max) . '...' : $s;
}

# Sections of which Test::Nginx checks only one: it silently ignores the
# others, so a block that gives two would pass here on a check the real
# harness never makes.  Such a block is refused.
my @OneOf = (
    [qw(error_code error_code_like)],
    [qw(response_headers response_headers_like)],
    [qw(response_body response_body_like response_body_unlike)],
);

sub _check_sections {
    my ($block) = @_;
    for my $set (@OneOf) {
        my @given = grep { defined scalar($block->$_) } @$set;
        next if @given < 2;
        bail_out(scalar($block->name) . " - --- " . join(' and --- ', @given)
                 . ": Test::Nginx checks only one of them; give one");
    }
}

# ---------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------

sub _strip_leading_comments {
    my ($s) = @_;
    1 while $s =~ s/\A[ \t]*#[^\n]*(?:\n|\z)// || $s =~ s/\A\s+//;
    return $s;
}

sub _parse_more_headers {
    my ($spec) = @_;
    my %h = (lines => []);
    return \%h unless defined $spec;
    for my $line (split /\n+/, $spec) {
        $line =~ s/\r\z//;
        next if $line =~ /^\s*#/ || $line !~ /\S/;
        my ($k, $v) = split /:\s*/, $line, 2;
        $v //= '';
        $k =~ s/^\s+|\s+$//g;
        push @{ $h{lines} }, "$k: $v";
        my $lk = lc $k;
        $h{host}           = 1 if $lk eq 'host';
        $h{connection}     = 1 if $lk eq 'connection';
        $h{content_length} = 1 if $lk eq 'content-length';
        $h{chunked}        = 1 if $lk eq 'transfer-encoding' && $v =~ /chunked/i;
    }
    return \%h;
}

# packets: [ {value => ..., delay_before => ...}, ... ] making up one request
# spec ("METHOD URI [PROTO]\nbody").  Returns (pieces, method).
sub _build_request {
    my ($name, $packets, $hdrs, $conn) = @_;
    my $full = join '', map { $_->{value} // '' } @$packets;
    my $text = _strip_leading_comments($full);
    my ($first, $body_raw) = split /\n/, $text, 2;
    $first = '' unless defined $first;
    $body_raw //= '';
    $first =~ s/\r\z//;
    my ($meth, $uri, $proto);
    if ($first =~ /^\s*(\S+)(?:\s+(\S+))?(?:\s+(.*?))?\s*$/) {
        ($meth, $uri, $proto) = ($1, $2 // '/', $3);
    } else {
        die "$name - invalid request line in --- request: '$first'\n";
    }
    $proto = 'HTTP/1.1' unless defined $proto && length $proto;

    my $head = "$meth $uri $proto\r\n";
    $head .= "Host: localhost\r\n"   unless $hdrs->{host};
    $head .= "Connection: $conn\r\n" unless $hdrs->{connection};
    $head .= "$_\r\n" for @{ $hdrs->{lines} };

    # Like Test::Nginx: leading/trailing whitespace of the body is dropped and
    # Content-Length added -- unless the body is (already) chunk-encoded or
    # the test sets Content-Length itself, in which case it goes out verbatim.
    my $lead = 0;
    my $body = $body_raw;
    if (!$hdrs->{chunked} && !$hdrs->{content_length} && length $body_raw) {
        $body =~ s/\A(\s*)//;
        $lead = length $1;
        $body =~ s/\s+\z//;
        $head .= 'Content-Length: ' . length($body) . "\r\n";
    }
    $head .= "\r\n";

    # split the body back along the caller's packet boundaries
    my $body_off = length($full) - length($body_raw) + $lead;
    my $body_end = $body_off + length $body;
    my @pieces;
    my $pos = 0;
    for my $k (0 .. $#$packets) {
        my $v = $packets->[$k]{value} // '';
        my ($s, $e) = ($pos, $pos + length $v);
        $pos = $e;
        my $lo = $s > $body_off ? $s : $body_off;
        my $hi = $e < $body_end ? $e : $body_end;
        my $chunk = $hi > $lo ? substr($full, $lo, $hi - $lo) : '';
        $chunk = $head . $chunk if $k == 0;
        push @pieces, { value => $chunk, delay_before => $packets->[$k]{delay_before} };
    }
    return (\@pieces, uc $meth);
}

sub _packets {
    my ($name, $spec) = @_;
    my @list = ref $spec eq 'ARRAY' ? @$spec : ($spec);
    my @p;
    for my $e (@list) {
        if (ref $e eq 'HASH') {
            push @p, { value => $e->{value} // '', delay_before => $e->{delay_before} };
        } elsif (!ref $e) {
            push @p, { value => $e // '' };
        } else {
            die "$name - invalid request packet (must be a string or a hash)\n";
        }
    }
    return \@p;
}

# Returns a list of connections to make:
#   { pieces => [...], nresp => N, methods => [...] }
sub build_requests {
    my ($block) = @_;
    my $name = scalar($block->name);
    my @reqs;

    if (defined scalar($block->raw_request)) {
        my $pieces = _packets($name, scalar($block->raw_request));
        my ($m) = ($pieces->[0]{value} // '') =~ /^\s*(\S+)/;
        my $delay = scalar($block->raw_request_middle_delay);
        $delay = defined $delay ? _parse_time($delay) : $TestNginxSleep;
        $_->{delay_before} //= $delay for @$pieces[1 .. $#$pieces];
        return ({ pieces => $pieces, nresp => 1, methods => [uc($m // 'GET')] });
    }

    if (defined scalar($block->pipelined_requests)) {
        my $list = scalar($block->pipelined_requests);
        die "$name - --- pipelined_requests must be an array ref (use 'eval')\n"
            unless ref $list eq 'ARRAY' && @$list;
        my ($all, @methods) = ('');
        for my $i (0 .. $#$list) {
            my $hdrs = _parse_more_headers(_more_headers_for($block, $i));
            my $conn = $i == $#$list ? 'close' : 'keep-alive';
            my ($pieces, $m) = _build_request($name, _packets($name, $list->[$i]), $hdrs, $conn);
            $all .= join '', map { $_->{value} } @$pieces;
            push @methods, $m;
        }
        # Test::Nginx reads the answers to pipelined HEAD requests as if
        # they had bodies: such a block would fail there
        bail_out("$name - --- pipelined_requests with a HEAD request: Test::Nginx "
                 . "does not read their responses; send it in --- request")
            if grep { $_ eq 'HEAD' } @methods;
        return ({ pieces => [{ value => $all }], nresp => scalar(@$list), methods => \@methods });
    }

    my $request = scalar($block->request);
    if (!defined $request && defined scalar($block->request_eval)) {
        $request = eval scalar($block->request_eval);
        die "$name - request_eval: $@" if $@;
    }
    return () unless defined $request;

    my @specs;
    if (!ref $request) {
        @specs = ([{ value => $request }]);
    } elsif (ref $request eq 'ARRAY') {
        for my $one (@$request) {
            if (!ref $one) {
                push @specs, [{ value => $one }];
            } elsif (ref $one eq 'ARRAY') {
                push @specs, _packets($name, $one);
            } else {
                die "$name - invalid --- request element (string or array of packets expected)\n";
            }
        }
    } else {
        die "$name - invalid --- request: must be a string or an array ref\n";
    }
    my $i = 0;
    for my $spec (@specs) {
        my $hdrs = _parse_more_headers(_more_headers_for($block, $i));
        my ($pieces, $m) = _build_request($name, $spec, $hdrs, 'close');
        $_->{delay_before} //= $TestNginxSleep for @$pieces[1 .. $#$pieces];
        push @reqs, { pieces => $pieces, nresp => 1, methods => [$m] };
        $i++;
    }
    return @reqs;
}

# Send one connection's worth of data and read until EOF / timeout.
sub send_request {
    my ($block, $req) = @_;
    my $timeout = defined scalar($block->timeout) ? _parse_time(scalar($block->timeout)) : $DefaultTimeout;
    my $addr = scalar($block->server_addr_for_client) // '127.0.0.1';
    my %r = (data => '', timed_out => 0);

    my $sock;
    my $deadline = Time::HiRes::time() + 1;
    while (1) {
        $sock = IO::Socket::INET->new(
            PeerAddr => $addr, PeerPort => $ClientPort, Proto => 'tcp',
            Timeout => $timeout,
        );
        last if $sock;
        last if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.05);
    }
    unless ($sock) {
        $r{error} = "cannot connect to $addr:$ClientPort: " . ($@ || $!);
        return \%r;
    }
    $sock->blocking(0);
    local $SIG{PIPE} = 'IGNORE';
    my $sel = IO::Select->new($sock);

  PIECE:
    for my $p (@{ $req->{pieces} }) {
        Time::HiRes::sleep($p->{delay_before}) if $p->{delay_before};
        my $buf = $p->{value};
        my $off = 0;
        while ($off < length $buf) {
            unless ($sel->can_write($timeout)) {
                $r{timed_out} = 1;
                last PIECE;
            }
            my $n = syswrite($sock, $buf, length($buf) - $off, $off);
            if (!defined $n) {
                next if $!{EAGAIN} || $!{EWOULDBLOCK} || $!{EINTR};
                $r{write_error} = "$!";    # e.g. server answered early and closed
                last PIECE;
            }
            $off += $n;
        }
    }

    if (!$r{timed_out} && defined scalar($block->shutdown)) {
        my $how = scalar($block->shutdown);
        $how = 1 unless defined $how && $how =~ /^\s*[012]\s*$/;
        shutdown($sock, $how + 0);
    }

    unless ($r{timed_out}) {
        while (1) {
            unless ($sel->can_read($timeout)) {
                $r{timed_out} = 1;
                last;
            }
            my $n = sysread($sock, my $chunk, 65536);
            if (!defined $n) {
                next if $!{EAGAIN} || $!{EWOULDBLOCK} || $!{EINTR};
                $r{read_error} = "$!" unless $!{ECONNRESET};
                last;
            }
            last if $n == 0;
            $r{data} .= $chunk;
        }
    }
    close $sock;
    return \%r;
}

# ---------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------

sub _decode_chunked {
    my ($data, $pos) = @_;
    my $len = length $$data;
    my $body = '';
    while (1) {
        my $le = index($$data, "\n", $pos);
        return ($body, $len, 'truncated chunked body') if $le < 0;
        my $line = substr($$data, $pos, $le - $pos);
        $line =~ s/\r\z//;
        $line =~ s/;.*//;
        return ($body, $pos, "bad chunk size line '" . _trunc($line, 80) . "'")
            unless $line =~ /^\s*([0-9a-fA-F]+)\s*$/;
        my $size = hex $1;
        $pos = $le + 1;
        if ($size == 0) {
            while (1) {    # trailer section up to the empty line
                my $te = index($$data, "\n", $pos);
                return ($body, $len, undef) if $te < 0;
                my $tl = substr($$data, $pos, $te - $pos);
                $pos = $te + 1;
                last if $tl =~ /^\r?$/;
            }
            return ($body, $pos, undef);
        }
        if ($pos + $size > $len) {
            $body .= substr($$data, $pos);
            return ($body, $len, 'truncated chunk');
        }
        $body .= substr($$data, $pos, $size);
        $pos += $size;
        if (substr($$data, $pos, 2) eq "\r\n") { $pos += 2 }
        elsif (substr($$data, $pos, 1) eq "\n") { $pos += 1 }
        else { return ($body, $pos, 'missing CRLF after chunk data') }
    }
}

# Parse one response starting at $pos; returns ($res, $next_pos).
sub _parse_response_at {
    my ($data, $pos, $method) = @_;
    my $len = length $$data;
    return (undef, $pos) if $pos >= $len;

    my ($he, $sep) = (index($$data, "\r\n\r\n", $pos), 4);
    my $he2 = index($$data, "\n\n", $pos);
    ($he, $sep) = ($he2, 2) if $he2 >= 0 && ($he < 0 || $he2 < $he);
    my %res = (headers => []);
    my ($head, $bstart);
    if ($he < 0) {
        $head = substr($$data, $pos);
        $bstart = $len;
        $res{error} = 'incomplete response header';
    } else {
        $head = substr($$data, $pos, $he - $pos);
        $bstart = $he + $sep;
    }
    $res{raw_headers} = substr($$data, $pos, $bstart - $pos);

    my @lines = split /\r?\n/, $head;
    my $sl = shift(@lines) // '';
    $res{status_line} = $sl;
    if ($sl =~ m{^(HTTP/\d+(?:\.\d+)?)\s+(\d{3})(?:\s+(.*))?$}) {
        @res{qw(proto code message)} = ($1, $2, $3 // '');
    } else {
        $res{error} //= "bad status line '" . _trunc($sl, 100) . "'";
    }
    for my $l (@lines) {
        if ($l =~ /^[ \t]+(.*)$/ && @{ $res{headers} }) {
            $res{headers}[-1][1] .= " $1";
        } elsif ($l =~ /^([^:]+?)\s*:\s*(.*?)\s*$/) {
            push @{ $res{headers} }, [$1, $2];
        }
    }

    my $code = $res{code} // 0;
    my $te   = _header(\%res, 'Transfer-Encoding');
    my $cl   = _header(\%res, 'Content-Length');
    my $next;
    if (($method // '') eq 'HEAD' || $code =~ /^1/ || $code == 204 || $code == 304) {
        $res{body} = '';
        $next = $bstart;
    } elsif (defined $te && $te =~ /chunked/i) {
        my ($body, $np, $err) = _decode_chunked($data, $bstart);
        $res{body} = $body;
        $res{body_error} = $err if $err;
        $next = $np;
    } elsif (defined $cl && $cl =~ /^\s*(\d+)\s*$/) {
        my $n = $1;
        my $avail = $len - $bstart;
        $avail = 0 if $avail < 0;
        $res{body_error} = "short body: Content-Length $n but got $avail bytes" if $avail < $n;
        $n = $avail if $avail < $n;
        $res{body} = substr($$data, $bstart, $n);
        $next = $bstart + $n;
    } else {
        $res{body} = $bstart < $len ? substr($$data, $bstart) : '';
        $next = $len;
    }
    return (\%res, $next);
}

# Parse $n responses from one connection's data (skipping interim 1xx).
sub parse_responses {
    my ($data, $methods, $n) = @_;
    my @res;
    my $pos = 0;
    for my $i (0 .. $n - 1) {
        my $r;
        while (1) {
            ($r, $pos) = _parse_response_at(\$data, $pos, $methods->[$i]);
            last unless $r && defined $r->{code} && $r->{code} =~ /^1/ && $r->{code} != 101;
        }
        push @res, $r;
    }
    return @res;
}

sub _header {
    my ($res, $name) = @_;
    return undef unless $res;
    my @v = map { $_->[1] } grep { lc $_->[0] eq lc $name } @{ $res->{headers} };
    return @v ? join(', ', @v) : undef;
}

# "Name: value" lines (or a hash ref) -> [name, value, absent?]
sub _header_spec {
    my ($spec) = @_;
    return () unless defined $spec;
    if (ref $spec eq 'HASH') {
        return map { [$_, $spec->{$_}, !defined $spec->{$_}] } sort keys %$spec;
    }
    my @out;
    for my $line (split /\n+/, $spec) {
        next if $line !~ /\S/ || $line =~ /^\s*#/;
        if ($line =~ /^\s*!\s*(\S+)\s*$/) {
            push @out, [$1, undef, 1];
            next;
        }
        my ($k, $v) = split /:\s*/, $line, 2;
        $k =~ s/^\s+|\s+$//g;
        push @out, [$k, $v // '', 0];
    }
    return @out;
}

my %BuiltinBodyFilter = (
    md5_hex  => \&Digest::MD5::md5_hex,
    sha1_hex => \&Digest::SHA::sha1_hex,
    length   => sub { length $_[0] },
    uc       => sub { uc $_[0] },
    lc       => sub { lc $_[0] },
    ucfirst  => sub { ucfirst $_[0] },
    lcfirst  => sub { lcfirst $_[0] },
);

sub _apply_body_filters {
    my ($block, $body, $idx) = @_;
    my $spec = scalar($block->response_body_filters);
    return $body unless defined $spec && defined $body;
    if (ref $spec eq 'ARRAY' && @$spec && ref $spec->[0] eq 'ARRAY') {
        $spec = $spec->[$idx];    # per-request filter lists
        return $body unless defined $spec;
    }
    my @f = ref $spec eq 'ARRAY' ? @$spec : ref $spec eq 'CODE' ? ($spec) : split(' ', $spec);
    for my $f (@f) {
        my $code = ref $f eq 'CODE' ? $f : $BuiltinBodyFilter{$f}
            or die scalar($block->name) . " - unknown response_body_filters filter '$f'\n";
        $body = $code->($body);
    }
    return $body;
}

sub check_response {
    my ($block, $res, $idx, $rep, $need_array) = @_;
    my $name = scalar($block->name);
    my $sfx  = " (repeated req $rep, req $idx)";
    my $code = ($res && $res->{code}) || '';

    my $status_ok;
    if (defined scalar($block->error_code_like)) {
        my $pat = _expected($block, 'error_code_like', $idx, $need_array) // '';
        $status_ok = Test::More::like($code, qr/$pat/sm, "$name - status code ok$sfx");
    } elsif (defined scalar($block->error_code)) {
        $status_ok = Test::More::is($code, _expected($block, 'error_code', $idx, $need_array),
                                    "$name - status code ok$sfx");
    } else {
        $status_ok = Test::More::is($code, 200, "$name - status code ok$sfx");
    }
    if (!$status_ok && $res) {
        Test::More::diag("response was:\n" . _trunc($res->{raw_headers}, 2000)
                         . _trunc($res->{body}, 1000));
    }

    my $raw = $res ? $res->{raw_headers} : '';
    if (defined scalar($block->raw_response_headers_like)) {
        my $pat = _expected($block, 'raw_response_headers_like', $idx, $need_array) // '';
        Test::More::like($raw, qr/$pat/s, "$name - raw resp headers like$sfx");
    }
    if (defined scalar($block->raw_response_headers_unlike)) {
        my $pat = _expected($block, 'raw_response_headers_unlike', $idx, $need_array) // '';
        Test::More::unlike($raw, qr/$pat/s, "$name - raw resp headers unlike$sfx");
    }

    if (defined scalar($block->response_headers)) {
        for my $h (_header_spec(_expected($block, 'response_headers', $idx, $need_array))) {
            my ($k, $v, $absent) = @$h;
            if ($absent) {
                Test::More::unlike($raw, qr/^\s*\Q$k\E\s*:/ms,
                                   "$name - header $k not present in the raw headers$sfx");
            } else {
                $v =~ s/\$ServerPort\b/$ServerPort/g;
                Test::More::is(_header($res, $k) // '', $v, "$name - header $k ok$sfx");
            }
        }
    } elsif (defined scalar($block->response_headers_like)) {
        for my $h (_header_spec(_expected($block, 'response_headers_like', $idx, $need_array))) {
            my ($k, $v) = @$h;
            # anchored: the whole header value must match
            Test::More::like(_header($res, $k) // '', qr/^$v$/,
                             "$name - header $k like ok$sfx");
        }
    }

    # no response at all reads as an empty one, as in Test::Nginx
    my $body = ($res ? $res->{body} : undef) // '';
    if ($res && $res->{body_error}) {
        Test::More::diag("$name - response body problem$sfx: $res->{body_error}");
    }
    $body = _apply_body_filters($block, $body, $idx);

    if (defined scalar($block->response_body)) {
        my $want = _expected($block, 'response_body', $idx, $need_array);
        if (defined $want && !ref $want) {
            $want =~ s/\$ServerPort\b/$ServerPort/g;
            $want = Test::Nginx::Util::expand_env($want, sub { bail_out("$name - $_[0]") });
        }
        is_str($body, $want, "$name - response_body - response is expected$sfx");
    } elsif (defined scalar($block->response_body_like)) {
        my $pat = _expected($block, 'response_body_like', $idx, $need_array) // '';
        my $summary = _trunc($body // '', 60);
        $summary =~ s/\s+/ /g;
        Test::More::like($body, qr/$pat/s,
                         "$name - response_body_like - response is expected ($summary)$sfx");
    } elsif (defined scalar($block->response_body_unlike)) {
        my $pat = _expected($block, 'response_body_unlike', $idx, $need_array) // '';
        Test::More::unlike($body, qr/$pat/s,
                           "$name - response_body_unlike - response is expected$sfx");
    }

    for my $cb (@ResponseBodyChecks) {
        $cb->($block, $body, $idx, $rep, 0);
    }
}

# ---------------------------------------------------------------------------
# Log checks: after every response of a block (so a pattern of --- error_log
# must show in the log written since the previous response, unless
# check_accum_error_log), as Test::Nginx does
# ---------------------------------------------------------------------------

sub _log_patterns {
    my ($spec) = @_;
    return () unless defined $spec;
    return ($spec) if ref $spec eq 'Regexp';
    return grep { defined } @$spec if ref $spec eq 'ARRAY';
    chomp $spec;
    return grep { length } split /\n+/, $spec;
}

sub _line_matches {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ $pat : index($line, $pat) >= 0;
}

sub check_log_section {
    my ($block, $sect, $negate, $text, $file, $rep) = @_;
    return unless defined scalar($block->$sect);
    my $name  = scalar($block->name);
    my @lines = split /\n/, $text // '';
    for my $pat (_log_patterns(scalar($block->$sect))) {
        my $desc = ref $pat ? "$pat" : "\"$pat\"";
        my ($hit) = grep { _line_matches($_, $pat) } @lines;
        if ($negate) {
            Test::More::ok(!defined $hit,
                           "$name - pattern $desc should not match any line in $file (req $rep)")
                or Test::More::diag("matched: $hit");
        } else {
            Test::More::ok(defined $hit, "$name - pattern $desc matches a line in $file (req $rep)")
                or Test::More::diag("$file content examined (last 40 lines):\n"
                                    . join("\n", @lines > 40 ? @lines[-40 .. -1] : @lines));
        }
    }
}

sub check_grep_error_log {
    my ($block, $text, $rep) = @_;
    my $name = scalar($block->name);
    my $pat  = scalar($block->grep_error_log);
    my $out  = scalar($block->grep_error_log_out);
    return unless defined $pat || defined $out;
    bail_out("$name - No --- grep_error_log defined but --- grep_error_log_out is defined")
        unless defined $pat;
    bail_out("$name - No --- grep_error_log_out defined but --- grep_error_log is defined")
        unless defined $out;
    $pat = $pat->[$rep] if ref $pat eq 'ARRAY';
    $out = $out->[$rep] if ref $out eq 'ARRAY';
    my $got = '';
    for my $line (split /\n/, $text // '') {
        if (ref $pat ? $line =~ /$pat/ : $line =~ /\Q$pat\E/) {
            $got .= "$&\n";
        }
    }
    is_str($got, $out, "$name - grep_error_log_out (req $rep)");
}

sub check_logs {
    my ($block, $rep) = @_;
    return unless grep { defined scalar($block->$_) }
                  qw(error_log no_error_log grep_error_log grep_error_log_out
                     access_log no_access_log);
    my $errlog = Test::Nginx::Util::read_new_error_log($CheckAccumErrLog);
    check_grep_error_log($block, $errlog, $rep);
    check_log_section($block, 'error_log',    0, $errlog, 'error.log', $rep);
    check_log_section($block, 'no_error_log', 1, $errlog, 'error.log', $rep);
    return if defined scalar($block->ignore_response);
    if (defined scalar($block->access_log) || defined scalar($block->no_access_log)) {
        my $acclog = Test::Nginx::Util::read_new_access_log($CheckAccumErrLog);
        check_log_section($block, 'access_log',    0, $acclog, 'access.log', $rep);
        check_log_section($block, 'no_access_log', 1, $acclog, 'access.log', $rep);
    }
}

# ---------------------------------------------------------------------------
# Blocks
# ---------------------------------------------------------------------------

# ($how_many, $why) when the block's first N subtests are to be skipped
sub _skip_reason {
    my ($block) = @_;
    my $name = scalar($block->name);
    if (defined(my $s = scalar($block->skip_eval))) {
        $s =~ /^\s*(\d+)\s*:\s*(.*)$/s
            or bail_out("$name - invalid --- skip_eval value: $s");
        my ($n, $code) = ($1, $2);
        my $r = eval "package main; no strict; $code";
        bail_out("$name - skip_eval - failed to eval the Perl code \"$code\": $@") if $@;
        return ($n, 'skip_eval') if $r;
    }
    if (defined(my $s = scalar($block->skip_nginx))) {
        $s =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+\.\d+\.\d+)\s*(?::\s*(.*?))?\s*$/
            or bail_out("$name - Invalid --- skip_nginx spec: $s");
        my ($n, $op, $v, $why) = ($1, $2, $3, $4);
        return ($n, $why || "nginx version $op $v")
            if Test::Nginx::Util::nginx_version_matches($op, $v);
    } elsif (defined(my $s2 = scalar($block->skip_nginx2))) {
        $s2 =~ /^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+\.\d+\.\d+)\s*(or|and)\s*([<>]=?)\s*(\d+\.\d+\.\d+)\s*(?::\s*(.*?))?\s*$/
            or bail_out("$name - Invalid --- skip_nginx2 spec: $s2");
        my $a = Test::Nginx::Util::nginx_version_matches($2, $3);
        my $b = Test::Nginx::Util::nginx_version_matches($5, $6);
        return ($1, $7 || 'various reasons') if $4 eq 'and' ? ($a && $b) : ($a || $b);
    }
    return ();
}

sub run_tests () {
    $RunnerPid = $$;
    unless ($NoNginxManager) {
        Test::Nginx::Util::become_subreaper();
        defined Test::Nginx::Util::nginx_version()
            or bail_out("cannot run nginx binary '$NginxBinary' (set TEST_NGINX_BINARY)");
        Test::Nginx::Util::stop_nginx();    # leftover from an earlier run
    }
    my @blocks = Test::Base::blocks();
    @blocks = List::Util::shuffle(@blocks) unless $NoShuffle;
    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        run_test($block);
    }
    Test::Nginx::Util::cleanup();
}

# The requests of one repetition, each response checked, the logs checked
# after each response; --- wait before each log check.
sub _run_requests {
    my ($block, $rep) = @_;
    my $name = scalar($block->name);
    my $tb   = Test::More->builder;
    my @reqs = build_requests($block);
    bail_out("$name - request empty") unless @reqs;
    my $need_array = defined scalar($block->pipelined_requests) || @reqs > 1;
    my $wait = _parse_time(scalar($block->wait));

    my $idx = 0;
    for my $ri (0 .. $#reqs) {
        my $req = $reqs[$ri];
        my $io  = send_request($block, $req);
        if ($io->{error}) {
            Test::More::diag("$name - $io->{error}\n" . Test::Nginx::Util::startup_diag());
        }
        if ($io->{timed_out} && !defined scalar($block->abort)) {
            $tb->ok(0, "ERROR: client socket timed out - $name");
            Test::More::diag("received so far: " . _trunc($io->{data}, 1000));
        }
        if ($Verbose) {
            warn "# request: " . join('', map { $_->{value} } @{ $req->{pieces} }) . "\n";
            warn "# response: $io->{data}\n";
        }
        my @res = defined scalar($block->http09)
                ? ({ body => $io->{data}, headers => [], raw_headers => '' })
                : parse_responses($io->{data}, $req->{methods}, $req->{nresp});

        for my $k (0 .. $req->{nresp} - 1) {
            check_response($block, $res[$k], $idx, $rep, $need_array)
                unless defined scalar($block->ignore_response);
            if ($k < $req->{nresp} - 1 || $ri < $#reqs) {
                Time::HiRes::sleep($wait) if $wait;
                check_logs($block, $rep);
            }
            $idx++;
        }
    }
    Time::HiRes::sleep($wait) if $wait;
    check_logs($block, $rep);
}

sub run_test ($) {
    my ($block) = @_;
    my $name = scalar($block->name) // 'unnamed test block';
    my $tb   = Test::More->builder;

    _check_sections($block);

    my ($skip_n, $skip_why) = _skip_reason($block);
    my ($todo_n, $todo_why);
    if (defined(my $t = scalar($block->todo))) {
        $t =~ /^\s*(\d+)\s*:\s*(.*?)\s*$/s
            or bail_out("$name - Invalid --- todo spec: $t");
        ($todo_n, $todo_why) = ($1, $2);
    }

    # A block without --- config runs against the nginx of the block before
    # it, store and all; one with a config gets a new server root.
    my $config = scalar($block->config);
    my $restart = 0;
    if (defined $config) {
        $restart = $ForceRestartOnTest || !defined $PrevConfig || $config ne $PrevConfig
                || !($NginxPid && Test::Nginx::Util::pid_alive($NginxPid));
        $PrevConfig = $config;
    } elsif (!defined $PrevConfig && !$NoNginxManager) {
        bail_out("$name - No '--- config' section specified and could not get previous one");
    }
    my $must_die = scalar($block->must_die);

    if (!$NoNginxManager && !defined $skip_n && defined $must_die) {
        for my $rep (0 .. $RepeatEach - 1) {
            _finish_must_die($block, _start_nginx_for($block, $config // $PrevConfig));
        }
        return;
    }
    if (!$NoNginxManager && !defined $skip_n && $restart) {
        my ($ok, $diag) = _start_nginx_for($block, $config);
        bail_out("$name - Cannot start nginx:\n$diag") unless $ok;
    }

    if (defined scalar($block->init)) {
        eval "package main; no strict; " . scalar($block->init) . "; 1"
            or bail_out("$name - init failed: $@");
    }

    $Test::Nginx::Util::ErrLogPos = 0;
    for my $rep (0 .. $RepeatEach - 1) {
        Test::Nginx::Util::write_user_files(scalar($block->user_files)) if $rep > 0;
        if (defined $skip_n) {
            $tb->skip("$name - $skip_why") for 1 .. $skip_n;
        } elsif (defined $todo_n) {
            $tb->todo_skip("$name - $todo_why") for 1 .. $todo_n;
        } else {
            _run_requests($block, $rep);
        }
    }

    if (defined scalar($block->shutdown_error_log) || defined scalar($block->no_shutdown_error_log)) {
        my $log = '';
        unless ($NoNginxManager) {
            Test::Nginx::Util::stop_nginx();
            $log = Test::Nginx::Util::read_new_error_log(0);
        }
        check_log_section($block, 'shutdown_error_log',    0, $log, 'error.log', 0);
        check_log_section($block, 'no_shutdown_error_log', 1, $log, 'error.log', 0);
    }
}

# A new server root with the block's nginx.conf and user files, and nginx
# started on it: (1) or (0, $diagnostic, $exit_code).
sub _start_nginx_for {
    my ($block, $config) = @_;
    my $name = scalar($block->name);
    my $missing = sub { bail_out("$name - $_[0]") };
    my $conf = Test::Nginx::Util::build_config(
        main_config      => Test::Nginx::Util::expand_env(scalar($block->main_config), $missing),
        http_config      => Test::Nginx::Util::expand_env(scalar($block->http_config), $missing),
        config           => Test::Nginx::Util::expand_env($config, $missing),
        post_main_config => Test::Nginx::Util::expand_env(scalar($block->post_main_config), $missing),
        server_name      => scalar($block->server_name),
        log_level        => scalar($block->log_level),
    );
    Test::Nginx::Util::stop_nginx();
    Test::Nginx::Util::setup_server_root();
    Test::Nginx::Util::write_file($ConfFile, $conf);
    Test::Nginx::Util::write_user_files(scalar($block->user_files));
    return Test::Nginx::Util::start_nginx();
}

# --- must_die: nginx must exit at start (with the code given, if any);
# what it said is in error.log (nginx runs with -e logs/error.log).
sub _finish_must_die {
    my ($block, $started, $diag, $exit) = @_;
    my $name = scalar($block->name);
    my $want = scalar($block->must_die);
    $want =~ s/^\s+|\s+$//g if defined $want;
    if (defined $want && $want =~ /^\d+$/) {
        Test::More::is($exit // 0, $want, "$name - die with the expected exit code");
    } else {
        Test::More::ok(!$started && ($exit // 0) != 0, "$name - die as expected");
    }
    if ($started) {
        Test::More::diag("WARNING: $name - nginx must die but it does not; killing it");
        Test::Nginx::Util::stop_nginx();
    }
    my $log = Test::Nginx::Util::read_new_error_log(0);
    check_log_section($block, 'error_log',    0, $log, 'error.log', 0);
    check_log_section($block, 'no_error_log', 1, $log, 'error.log', 0);
}

1;
__END__

=head1 NAME

Test::Nginx::Socket - Test::Nginx::Socket-compatible scaffold (subset)

=head1 SYNOPSIS

    use Test::Nginx::Socket 'no_plan';

    repeat_each(1); no_shuffle(); log_level('info'); no_root_location();
    run_tests();

    __DATA__

    === TEST 1: hello
    --- config
        location = /t { return 200 "hi\n"; }
    --- request
    GET /t
    --- response_body
    hi
    --- no_error_log
    [error]

=head1 DESCRIPTION

A reimplementation, on Test::Base, of the part of Test::Nginx::Socket's data
format the project's suites use, so that the same F<.t> files run unchanged
under the real Test::Nginx.  It lives in F<t/harness/>, which F<t/run> puts
on the path only when the real one is not installed.  Behaviour follows
Test::Nginx::Socket's documentation, and where the real harness bails out
or fails, this one does too.

=head2 Per-block lifecycle

For every block (in file order with C<no_shuffle()> or
TEST_NGINX_NO_SHUFFLE=1, shuffled otherwise): block preprocessors run; a
block giving two sections of which Test::Nginx checks only one
(C<error_code> and C<error_code_like>; C<response_headers> and
C<response_headers_like>; two of C<response_body>, C<response_body_like>,
C<response_body_unlike>) bails out; skip conditions are evaluated.  A block
with a C<--- config> restarts nginx: the running one is stopped (QUIT, then
TERM, then KILL incl. workers); the server root is reset (conf/, cache/,
html/, logs/, *_temp and *_cache are removed, then the servroot itself, which
must be empty by then -- anything else in it bails out, before the first
block too); the conf and C<--- user_files> (into html/) are written; nginx
is started (C<nginx -e SERVROOT/logs/error.log -p SERVROOT/ -c
SERVROOT/conf/nginx.conf>, daemonized) and we wait for its pid file and
listening socket; an nginx that does not start bails out.  A block without
C<--- config> runs against the nginx of the block before it, store and all.

Then, C<repeat_each()> times, the request(s) are sent and checked, and after
each response C<--- wait> is honoured and the error log written since the
previous check (from the start for the first) is matched against
C<--- error_log>, C<--- no_error_log> and C<--- grep_error_log>: a pattern
of C<--- error_log> must show up after every response of the block, unless
C<check_accum_error_log()>.  Several requests (C<--- request eval> with an
array, or C<--- pipelined_requests>) need every per-response section as an
array.  nginx keeps running until the next block or the end of the run
(unless TEST_NGINX_NO_CLEAN).

Only TEST_NGINX_SERVER_PORT and TEST_NGINX_SERVER_ROOT are set by the
harness for the config sections, as Test::Nginx does; other
C<$TEST_NGINX_*> variables come from the environment or bail out.

=head2 Subtest counting (for C<plan tests =E<gt> ...>)

Per repetition and per response: 1 for the status code (C<error_code>,
C<error_code_like>, or an implicit 200), 1 per line of C<response_headers>
or C<response_headers_like>, 1 for the body section, 1 each for
C<raw_response_headers_like> and C<raw_response_headers_unlike>; and after
each response 1 per pattern of C<error_log>, C<no_error_log>, C<access_log>,
C<no_access_log>, and 1 for C<grep_error_log_out>.  Per block: 1 per
pattern of C<shutdown_error_log> / C<no_shutdown_error_log>; with
C<must_die>, 1 for the exit and 1 per log pattern.  A client timeout
without C<--- abort> adds one failing subtest.  C<skip_eval>,
C<skip_nginx> and C<skip_nginx2> skip the number of subtests they give.

=cut
