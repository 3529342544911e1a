package Test::Nginx::Util;

# Server-management half of the project's Test::Nginx-compatible harness:
# settings, servroot layout, nginx.conf generation, starting/stopping nginx
# and reading its logs.  The request/response/check half lives in
# Test::Nginx::Socket.  Written from Test::Nginx::Socket's documentation
# (metacpan); no code of the real Test::Nginx is used.  t/run puts t/harness
# on the path only when the real Test::Nginx is not installed, and this
# copy fails where the real one fails: a servroot it cannot empty, a
# multi-request block whose expectations are not arrays, a log pattern
# missing after one of a block's requests.
#
# Only Perl core modules are used here.

use strict;
use warnings;

use Cwd ();
use Errno ();
use File::Path qw(make_path remove_tree);
use File::Spec ();
use File::Basename qw(dirname);
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();

# ---------------------------------------------------------------------------
# Settings (the setters exported by Test::Nginx::Socket write these)
# ---------------------------------------------------------------------------

our $RepeatEach           = 1;
our $NoShuffle            = $ENV{TEST_NGINX_NO_SHUFFLE} ? 1 : 0;
our $Workers              = 1;
our $MasterProcessEnabled = lc($ENV{TEST_NGINX_MASTER_PROCESS} // 'off') eq 'on' ? 'on' : 'off';
our $LogLevel             = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $WorkerConnections    = 64;
our $NoRootLocation       = 0;
our $ConfigPreamble       = '';
our $NoLongString         = 0;
our $CheckAccumErrLog     = 0;
our $DefaultTimeout       = 3;
our $ServerName           = 'localhost';
our $ServerAddr           = '127.0.0.1';
our $Verbose              = $ENV{TEST_NGINX_VERBOSE} ? 1 : 0;
our $NoNginxManager       = $ENV{TEST_NGINX_NO_NGINX_MANAGER} ? 1 : 0;
our $ForceRestartOnTest   = $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} // 1;
our $TestNginxSleep       = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $NginxBinary          = $ENV{TEST_NGINX_BINARY} || 'nginx';
our $UseValgrind          = $ENV{TEST_NGINX_USE_VALGRIND};
our $Randomize            = $ENV{TEST_NGINX_RANDOMIZE} ? 1 : 0;
our $NoClean              = $ENV{TEST_NGINX_NO_CLEAN} ? 1 : 0;

# Environment variables passed through to nginx by default (nginx wipes its
# environment otherwise), as documented for env_to_nginx().
our @EnvToNginx = qw(
    MOCKEAGAIN_VERBOSE MOCKEAGAIN MOCKEAGAIN_WRITE_TIMEOUT_PATTERN
    LD_PRELOAD LD_LIBRARY_PATH DYLD_INSERT_LIBRARIES DYLD_FORCE_FLAT_NAMESPACE
    ASAN_OPTIONS MOCKNOEAGAIN_VERBOSE MOCKNOEAGAIN
);

sub _find_free_port {
    my $s = IO::Socket::INET->new(
        LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp', Listen => 1,
        ReuseAddr => 1,
    ) or die "cannot find a free port: $!\n";
    my $port = $s->sockport;
    close $s;
    return $port;
}

our ($ServerPort, $ClientPort);
if ($Randomize) {
    $ServerPort = $ClientPort = _find_free_port();
} else {
    $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
    # Documented fallback is TEST_NGINX_PORT then 1984; we additionally fall
    # back to the server port so setting only TEST_NGINX_SERVER_PORT works.
    $ClientPort = $ENV{TEST_NGINX_CLIENT_PORT} || $ENV{TEST_NGINX_PORT} || $ServerPort;
}

our $ServRoot;
if ($Randomize) {
    $ServRoot = File::Spec->rel2abs("t/servroot_$ServerPort");
} else {
    $ServRoot = File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT} || 't/servroot');
}
$ServRoot =~ s{/+$}{};

our $HtmlDir    = "$ServRoot/html";
our $LogDir     = "$ServRoot/logs";
our $ConfDir    = "$ServRoot/conf";
our $CacheDir   = "$ServRoot/cache";
our $ConfFile   = "$ConfDir/nginx.conf";
our $ErrLogFile = "$LogDir/error.log";
our $AccLogFile = "$LogDir/access.log";
our $PidFile    = "$LogDir/nginx.pid";
our $StartOut   = "$LogDir/nginx-start.out";   # nginx's own stdout/stderr at startup
our $ValgrindLog = "$LogDir/valgrind.log";

our @TempDirs = qw(client_body_temp proxy_temp fastcgi_temp uwsgi_temp scgi_temp);

# The two variables Test::Nginx itself sets for the config sections; any
# other $TEST_NGINX_* a section uses must come from the environment (the
# real one bails out on an undefined one, and so does this one).
$ENV{TEST_NGINX_SERVER_PORT} //= $ServerPort;
$ENV{TEST_NGINX_SERVER_ROOT}   = $ServRoot;

# ---------------------------------------------------------------------------
# Run state
# ---------------------------------------------------------------------------

our $RunnerPid;          # $$ of the process that manages nginx
our $NginxPid;           # pid of the running nginx (master or single process)
our $ChildPid;           # set when nginx is our direct child (valgrind mode)
our $ErrLogPos = 0;      # offset in error.log already examined
our $AccLogPos = 0;
our @CleanupHandlers;

sub verbose { warn "# [Test::Nginx] @_\n" if $Verbose }

# ---------------------------------------------------------------------------
# nginx version
# ---------------------------------------------------------------------------

our $NginxVersion;      # "1.22.1"

sub nginx_version {
    return $NginxVersion if defined $NginxVersion;
    my $out = `$NginxBinary -v 2>&1`;
    if ($? != 0 || !defined $out || $out !~ m{nginx version: \S+?/(\d+(?:\.\d+)*)}) {
        return undef;
    }
    return $NginxVersion = $1;
}

sub version_cmp {
    my ($x, $y) = @_;
    my @x = split /\./, $x;
    my @y = split /\./, $y;
    while (@x || @y) {
        my $p = shift(@x) // 0;
        my $q = shift(@y) // 0;
        $p =~ s/\D.*//; $q =~ s/\D.*//;
        $p ||= 0; $q ||= 0;
        return $p <=> $q if $p != $q;
    }
    return 0;
}

# "op version" -> bool for the running nginx
sub nginx_version_matches {
    my ($op, $ver) = @_;
    my $cur = nginx_version() // return 0;
    my $c = version_cmp($cur, $ver);
    return $op eq '<'  ? $c < 0
         : $op eq '<=' ? $c <= 0
         : $op eq '>'  ? $c > 0
         : $op eq '>=' ? $c >= 0
         : $op eq '==' || $op eq '=' ? $c == 0
         : $op eq '!=' ? $c != 0
         : 0;
}

# ---------------------------------------------------------------------------
# TEST_NGINX_* expansion (config sections only, as documented)
# ---------------------------------------------------------------------------

our %RandPorts;

sub expand_env {
    my ($text, $on_missing) = @_;
    return $text unless defined $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        if ($var =~ /^TEST_NGINX_RAND_PORT_\d+$/) {
            $RandPorts{$var} //= _find_free_port();
        } elsif (!defined $ENV{$var}) {
            $on_missing->("No environment variable \$$var defined (used in nginx config)");
            '';
        } else {
            $ENV{$var};
        }
    }ge;
    return $text;
}

# ---------------------------------------------------------------------------
# nginx.conf
# ---------------------------------------------------------------------------

sub _indent_block {
    my ($text) = @_;
    return '' unless defined $text && length $text;
    $text .= "\n" unless $text =~ /\n\z/;
    return $text;
}

# %a: main_config http_config config post_main_config server_name log_level
sub build_config {
    my (%a) = @_;

    my $daemon = $UseValgrind ? 'off' : 'on';
    my $master = $MasterProcessEnabled;
    my $level  = $a{log_level} // $LogLevel;
    my $sname  = $a{server_name} // $ServerName;

    my $load_modules = '';
    for my $so (split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} // '')) {
        $load_modules .= "load_module $so;\n";
    }

    # Like Test::Nginx: when running as root with a master process, workers
    # run as root too (nginx would otherwise drop to nobody and lose access
    # to the servroot).  TEST_NGINX_WORKER_USER overrides ("user [group]").
    my $user = '';
    if ($master eq 'on') {
        if (defined $ENV{TEST_NGINX_WORKER_USER} && length $ENV{TEST_NGINX_WORKER_USER}) {
            $user = "user $ENV{TEST_NGINX_WORKER_USER};\n";
        } elsif ($> == 0) {
            my $uname = getpwuid($>) // 'root';
            my ($gid) = split ' ', $);
            my $gname = getgrgid($gid) // $uname;
            $user = "user $uname $gname;\n";
        }
    }

    my $env = '';
    for my $e (@EnvToNginx) {
        if ($e =~ /[\s;'"{}]/) {
            (my $q = $e) =~ s/'/\\'/g;
            $env .= "env '$q';\n";
        } else {
            $env .= "env $e;\n";
        }
    }

    my $postpone = '';
    if (my $pp = $ENV{TEST_NGINX_POSTPONE_OUTPUT}) {
        $postpone = "    postpone_output $pp;\n";
    }

    my $reuseport = $ENV{TEST_NGINX_REUSE_PORT} ? ' reuseport' : '';
    my $event_use = $ENV{TEST_NGINX_EVENT_TYPE} ? "    use $ENV{TEST_NGINX_EVENT_TYPE};\n" : '';

    my $root_location = '';
    unless ($NoRootLocation) {
        $root_location = <<"_EOC_";
        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_
    }

    # as Test::Nginx does, a temp path the http_config sets is its own
    my $temp = '';
    for my $t (@TempDirs) {
        (my $directive = $t) =~ s/_temp$/_temp_path/;
        next if ($a{http_config} // '') =~ /\b\Q$directive\E\b/;
        $temp .= sprintf "    %-21s %s;\n", $directive, "$ServRoot/$t";
    }

    my $main_config      = _indent_block($a{main_config});
    my $http_config      = _indent_block($a{http_config});
    my $config           = _indent_block($a{config});
    my $post_main_config = _indent_block($a{post_main_config});
    my $preamble         = _indent_block($ConfigPreamble);

    return <<"_EOC_";
# Generated by the Test::Nginx-compatible harness (t/harness/Test/Nginx); do not edit.
${load_modules}daemon $daemon;
master_process $master;
worker_processes  $Workers;
${user}pid        $PidFile;
error_log  $ErrLogFile $level;
$env
$main_config
http {
    access_log  $AccLogFile;
    default_type text/plain;
    keepalive_timeout  68;
    # nginx's compiled-in temp paths point outside the servroot (e.g.
    # /var/lib/nginx on Debian); keep everything under the servroot.
$temp$postpone
$http_config
    server {
        listen          $ServerAddr:$ServerPort$reuseport;
        server_name     '$sname';

        client_max_body_size 30M;

        # Begin preamble config...
$preamble        # End preamble config...

        # Begin test case config...
$config        # End test case config.

$root_location    }
}

$post_main_config
events {
    accept_mutex off;
    worker_connections  $WorkerConnections;
$event_use}
_EOC_
}

# ---------------------------------------------------------------------------
# servroot
# ---------------------------------------------------------------------------

# Stops nginx, then Test::More's BAIL_OUT: the rest of the run is void.
sub bail_out {
    my ($msg) = @_;
    cleanup();
    Test::More::BAIL_OUT($msg);
}

# Per-block layout reset, as Test::Nginx does it: conf/, html/, logs/,
# cache/, *_temp and *_cache are removed, then the servroot itself, which
# must then be empty -- anything else in it (a store a module kept under
# nginx's prefix, say) stops the whole run, before the first block too.
# So per-block state lives under html/ (where --- user_files go), logs/ or
# a *_temp or *_cache directory.
sub setup_server_root {
    if (-d $ServRoot) {
        my @victims = grep { -e $_ } ($ConfDir, $CacheDir, $HtmlDir, $LogDir,
                                      glob("$ServRoot/*_temp"), glob("$ServRoot/*_cache"));
        remove_tree(@victims, { safe => 0 }) if @victims;
        rmdir $ServRoot
            or bail_out("Can't remove $ServRoot (not empty?): $!");
    }
    make_path($ServRoot, $LogDir, $HtmlDir, $ConfDir);
    write_file("$HtmlDir/index.html",
               '<html><head><title>It works!</title></head><body>It works!</body></html>');
    $ErrLogPos = 0;
    $AccLogPos = 0;
}

sub write_file {
    my ($path, $content) = @_;
    make_path(dirname($path)) unless -d dirname($path);
    open my $fh, '>:raw', $path or die "cannot write $path: $!\n";
    print {$fh} $content;
    close $fh or die "cannot write $path: $!\n";
}

# "199801171935.33" (touch -t style [[CC]YY]MMDDhhmm[.ss], local time) -> epoch
sub _parse_touch_time {
    my ($ts) = @_;
    my ($main, $sec) = split /\./, $ts, 2;
    $sec //= 0;
    my ($Y, $M, $D, $h, $m);
    if ($main =~ /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)$/) {
        ($Y, $M, $D, $h, $m) = ($1, $2, $3, $4, $5);
    } elsif ($main =~ /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)$/) {
        ($Y, $M, $D, $h, $m) = ($1 < 69 ? 2000 + $1 : 1900 + $1, $2, $3, $4, $5);
    } elsif ($main =~ /^(\d\d)(\d\d)(\d\d)(\d\d)$/) {
        $Y = (localtime)[5] + 1900;
        ($M, $D, $h, $m) = ($1, $2, $3, $4);
    } else {
        return undef;
    }
    return POSIX::mktime($sec, $m, $h, $D, $M - 1, $Y - 1900, 0, 0, -1);
}

# Returns list of [name, content, timestamp-or-undef].
sub parse_user_files {
    my ($spec) = @_;
    return () unless defined $spec;
    my @files;
    if (ref $spec eq 'ARRAY') {
        for my $f (@$spec) {
            die "user_files eval: each entry must be [name => content, ts?]\n"
                unless ref $f eq 'ARRAY';
            push @files, [$f->[0], $f->[1] // '', $f->[2]];
        }
        return @files;
    }
    my @parts = split /^>>>[ \t]+(\S+)(?:[ \t]+(\S+))?[ \t]*\r?\n/m, $spec, -1;
    shift @parts;    # anything before the first ">>>"
    while (@parts) {
        my ($name, $ts, $body) = splice @parts, 0, 3;
        push @files, [$name, $body // '', $ts];
    }
    return @files;
}

# user_files go to the html directory ($TEST_NGINX_HTML_DIR), as documented.
sub write_user_files {
    my ($spec) = @_;
    for my $f (parse_user_files($spec)) {
        my ($name, $body, $ts) = @$f;
        $name =~ s{^/+}{};
        my $path = "$HtmlDir/$name";
        write_file($path, $body);
        if (defined $ts) {
            my $t = _parse_touch_time($ts);
            utime($t, $t, $path) if defined $t;
        }
    }
}

# ---------------------------------------------------------------------------
# processes
# ---------------------------------------------------------------------------

# Make this process a "child subreaper" (Linux): daemonized nginx processes
# are then re-parented to us instead of pid 1, so we can reap them.  Some
# container init processes never reap orphans, which would leave a zombie
# per test block.
our $Subreaper = 0;
sub become_subreaper {
    return if $Subreaper || $^O ne 'linux';
    my %nr = (x86_64 => 157, aarch64 => 167);     # SYS_prctl
    my $nr = $nr{ (POSIX::uname())[4] } or return;
    $Subreaper = 1 if syscall($nr, 36, 1, 0, 0, 0) == 0;   # PR_SET_CHILD_SUBREAPER
}

sub pid_alive {
    my ($pid) = @_;
    return 0 unless $pid && $pid > 0;
    # reaps it if it is (now) our child and has exited
    my $r = waitpid($pid, POSIX::WNOHANG());
    if ($r == $pid) {
        undef $ChildPid if defined $ChildPid && $ChildPid == $pid;
        return 0;
    }
    return 0 unless kill(0, $pid) || $!{EPERM};
    # Orphaned daemons may be left as zombies when pid 1 does not reap.
    if (open my $fh, '<', "/proc/$pid/stat") {
        my $stat = <$fh> // '';
        close $fh;
        return 0 if $stat =~ /\)\s+[ZX]\s/;
    }
    return 1;
}

sub child_pids {
    my ($ppid) = @_;
    my @kids;
    opendir my $dh, '/proc' or return ();
    for my $p (grep { /^\d+$/ } readdir $dh) {
        open my $fh, '<', "/proc/$p/stat" or next;
        my $stat = <$fh> // '';
        close $fh;
        push @kids, $p if $stat =~ /\)\s+\S+\s+(\d+)\s/ && $1 == $ppid;
    }
    closedir $dh;
    return @kids;
}

sub read_pid_file {
    open my $fh, '<', $PidFile or return undef;
    my $pid = <$fh>;
    close $fh;
    return undef unless defined $pid && $pid =~ /^\s*(\d+)\s*$/;
    return $1;
}

sub _wait_dead {
    my ($timeout, @pids) = @_;
    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        my @alive = grep { pid_alive($_) } @pids;
        return 1 unless @alive;
        return 0 if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep(0.01);
    }
}

# Graceful stop (QUIT), then TERM, then KILL (including any workers).
sub stop_nginx {
    my $pid = $NginxPid // read_pid_file();
    undef $NginxPid;
    unless ($pid && pid_alive($pid)) {
        undef $ChildPid;
        return;
    }
    my @workers = child_pids($pid);
    verbose("stopping nginx $pid (workers: @workers)");
    my $grace = $UseValgrind ? 30 : 10;
    kill 'QUIT', $pid;
    unless (_wait_dead($grace, $pid)) {
        kill 'TERM', $pid;
        unless (_wait_dead(3, $pid)) {
            Test::More::diag("nginx $pid did not exit on QUIT/TERM; sending KILL");
            kill 'KILL', $pid, @workers;
            _wait_dead(3, $pid);
        }
    }
    my @left = grep { pid_alive($_) } @workers;
    if (@left) {
        kill 'KILL', @left;
        _wait_dead(3, @left);
    }
    if (defined $ChildPid) {
        waitpid($ChildPid, 0);
        undef $ChildPid;
    }
    if ($UseValgrind && -s $ValgrindLog) {
        Test::More::diag("valgrind reported:\n" . slurp($ValgrindLog));
        unlink $ValgrindLog;
    }
}

sub _listening_on_port {
    my ($port) = @_;
    my $hex = sprintf '%04X', $port;
    for my $f ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $fh, '<', $f or next;
        while (my $l = <$fh>) {
            return 1 if $l =~ /^\s*\d+:\s+[0-9A-F]+:$hex\s+[0-9A-F]+:[0-9A-F]+\s+0A\s/i;
        }
    }
    return -1 unless -r '/proc/net/tcp';
    return 0;
}

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return '';
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s // '';
}

sub _tail {
    my ($text, $max) = @_;
    $max ||= 8000;
    return $text if length($text) <= $max;
    return "...\n" . substr($text, -$max);
}

# Start nginx with the conf already written.  Returns (1) on success or
# (0, $diagnostic, $exit_code) on failure.  Like Test::Nginx, nginx gets
# "-e logs/error.log" (nginx 1.19.5 and later), so what it says before it
# reads its error_log directive -- a configuration it refuses -- is in the
# same error.log whatever the build's default (Debian's is stderr).
sub start_nginx {
    my (%opt) = @_;
    my @cmd = ($NginxBinary,
               nginx_version_matches('>=', '1.19.5') ? ('-e', $ErrLogFile) : (),
               '-p', "$ServRoot/", '-c', $ConfFile);
    if ($UseValgrind) {
        my $opts = $UseValgrind =~ /^\d+$/ ? '--tool=memcheck --leak-check=full' : $UseValgrind;
        my @supp = -f 'valgrind.suppress' ? ('--suppressions=valgrind.suppress') : ();
        unshift @cmd, 'valgrind', '-q', split(' ', $opts), '--gen-suppressions=all',
                      "--log-file=$ValgrindLog", @supp;
    }
    verbose("starting: @cmd");
    unlink $PidFile;

    my $pid = fork();
    return (0, "fork failed: $!") unless defined $pid;
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $StartOut;
        open STDERR, '>&', \*STDOUT;
        exec { $cmd[0] } @cmd or POSIX::_exit(127);
    }

    my $deadline = Time::HiRes::time() + ($UseValgrind ? 120 : 15);
    my $exit;
    if (!$UseValgrind) {
        # daemon on: the launching process exits right after forking the daemon
        while (1) {
            my $r = waitpid($pid, POSIX::WNOHANG());
            if ($r == $pid) { $exit = $?; last }
            if (Time::HiRes::time() > $deadline) { last }
            Time::HiRes::sleep(0.005);
        }
        if (!defined $exit) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            return (0, "nginx did not daemonize in time\n" . startup_diag());
        }
        if ($exit != 0) {
            return (0, sprintf("nginx exited with status %d at startup: %s\n%s",
                               $exit >> 8, "@cmd", startup_diag()), $exit >> 8);
        }
    } else {
        $ChildPid = $pid;
    }

    # wait for the pid file (written after the listening sockets are open)
    my $npid;
    while (1) {
        $npid = read_pid_file();
        last if $npid;
        if ($UseValgrind && !pid_alive($pid)) {
            return (0, "nginx (under valgrind) exited at startup: @cmd\n" . startup_diag());
        }
        if (Time::HiRes::time() > $deadline) {
            kill 'KILL', $pid if $UseValgrind;
            return (0, "nginx did not write $PidFile in time: @cmd\n" . startup_diag());
        }
        Time::HiRes::sleep(0.005);
    }
    $NginxPid = $npid;

    # a process that fails in init_process exits right after the pid file
    Time::HiRes::sleep($TestNginxSleep);
    unless (pid_alive($npid)) {
        undef $NginxPid;
        return (0, "nginx (pid $npid) died right after starting: @cmd\n" . startup_diag());
    }
    my $l = _listening_on_port($ServerPort);
    if ($l == 0) {
        # give it a moment; master mode may still be setting up
        my $d2 = Time::HiRes::time() + 2;
        while (($l = _listening_on_port($ServerPort)) == 0 && Time::HiRes::time() < $d2) {
            Time::HiRes::sleep(0.01);
        }
        if ($l == 0) {
            return (0, "nginx (pid $npid) is not listening on port $ServerPort\n" . startup_diag());
        }
    }
    verbose("nginx started, pid $npid");
    return (1);
}

sub startup_diag {
    my $s = '';
    my $out = slurp($StartOut);
    $s .= "--- nginx stdout/stderr:\n" . _tail($out) . "\n" if length $out;
    my $err = slurp($ErrLogFile);
    $s .= "--- $ErrLogFile:\n" . _tail($err) . "\n" if length $err;
    $s .= "(no output from nginx)\n" unless length $s;
    return $s;
}

# New error.log content since the last call (or the whole log when $accum),
# a moment after the request: nginx logs the log phase after it answers.
sub read_new_error_log {
    my ($accum) = @_;
    Time::HiRes::sleep($TestNginxSleep * 3);
    my $data = slurp($ErrLogFile);
    my $from = $accum ? 0 : $ErrLogPos;
    $from = 0 if $from > length $data;     # log was reset
    $ErrLogPos = length $data;
    return substr($data, $from);
}

sub read_new_access_log {
    my ($accum) = @_;
    my $data = slurp($AccLogFile);
    my $from = $accum ? 0 : $AccLogPos;
    $from = 0 if $from > length $data;
    $AccLogPos = length $data;
    return substr($data, $from);
}

sub run_cleanup_handlers {
    while (my $h = shift @CleanupHandlers) {
        eval { $h->(); 1 } or warn "cleanup handler failed: $@";
    }
}

sub cleanup {
    return unless defined $RunnerPid && $RunnerPid == $$;
    stop_nginx() unless $NoClean || $NoNginxManager;
    run_cleanup_handlers();
}

END {
    my $rc = $?;
    cleanup();
    $? = $rc;
}

1;
