# A process killed while it holds the lock of the module's shared state
# (the backups' state, the audit log's folded events) does not leave it
# held: nginx's master frees it as it reaps the process and says so at
# alert, and the worker it starts next answers at once.  gdb stops the
# only worker inside GET /api/backup/status's hold of the lock (at the
# copy of the running backup's name) and kills it there with SIGKILL.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(wait_for);
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);

my $node = KVS::Node->new(name => 'shared-lock', workers => 1);
$node->start;
my $url = 'http://127.0.0.1:' . $node->port;

# a request through curl, bounded: "<status> <body>", status 000 for none
# (a worker that spins on a lock never answers)
sub ask {
    my ($method, $path) = @_;
    my $out = `curl -s --max-time 5 -X $method -w ' %{http_code}' '$url$path'`;
    my ($body, $st) = $out =~ /^(.*) (\d{3})$/s;
    return ($st // '000') . ' ' . ($body // '');
}

sub get { ask(GET => @_) }

like(get('/api/backup/status'), qr/^200 \{"enabled"/, 'the backup status answers');

my ($worker) = $node->worker_pids;
BAIL_OUT('no worker found') unless $worker && $worker > 1;

my $log = $node->prefix . '/gdb.log';
my $gdb = fork // die "fork: $!";
if ($gdb == 0) {
    open STDOUT, '>', $log or die;
    open STDERR, '>&', \*STDOUT or die;
    exec 'gdb', '-nx', '-batch', '-p', $worker,
         '-ex', 'set pagination off',
         '-ex', 'break ngx_cpystrn if $_any_caller_matches("ngx_http_kvs_backup_status", 3)',
         '-ex', 'continue',
         '-ex', 'bt 3',
         '-ex', 'kill';
    exit 127;
}

# once gdb has attached and let the worker run on
sub traced {
    open my $f, '<', "/proc/$worker/status" or return 0;
    my $s = do { local $/; <$f> };
    return $s =~ /^TracerPid:\s*[1-9]/m && $s =~ /^State:\s*[SR]/m;
}
ok(wait_for(20, \&traced), 'gdb holds the worker');
sleep 0.5;

my $asked = fork // die "fork: $!";
if ($asked == 0) {
    exec 'curl', '-s', '--max-time', '10', '-o', '/dev/null', "$url/api/backup/status";
    exit 127;
}

my $gone = wait_for(30, sub { waitpid($gdb, WNOHANG) == $gdb });
kill 'KILL', $gdb unless $gone;
waitpid($asked, 0);
my $said = do { local (@ARGV, $/) = ($log); <> } // '';
ok($gone, 'gdb stopped the worker inside the status handler and killed it')
    or diag $said;
like($said, qr/ngx_http_kvs_backup_status/, 'the breakpoint was in the status handler')
    or diag $said;
ok(wait_for(10, sub { !KVS::Node::running($worker) }), 'the worker is gone');

my $new;
ok(wait_for(10, sub { ($new) = grep { $_ != $worker } $node->worker_pids; $new }),
   'the master started another worker');

like(get('/api/backup/status'), qr/^200 \{"enabled"/,
     'the new worker answers the backup status: the lock was freed');
like(ask(POST => '/api/backup'), qr/^202 /, 'and takes a backup request');
ok(wait_for(10, sub { get('/api/backup/status') =~ /"running":false.*"last":\{[^}]*"ok":true/s }),
   'which the agent, that takes the same lock, carries out');
like($node->log_text, qr/\[alert\].*shared memory zone "kvs" was locked by $worker/,
     'the master said it freed the lock of the process it reaped');

$node->stop;
done_testing;
