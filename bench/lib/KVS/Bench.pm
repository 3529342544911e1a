package KVS::Bench;

# What the Perl benchmarks of bench/ share: a private copy of the module,
# a bound on the whole run, the processes they start (stopped by pid
# however the run ends), wrk runs and their figures, alternating rounds
# reported by their median run, and the machine's description.
#
#     use lib "$ROOT/bench/lib";
#     use KVS::Bench qw(...);
#     KVS::Bench::init(name => 'ops', root => $ROOT, limit => 1800);
#
# init() takes BENCH_DURATION, BENCH_WARMUP, BENCH_THREADS, BENCH_CONNS,
# BENCH_ROUNDS and BENCH_WORKERS from the environment (10, 2, 2, 32, 3, 2),
# checks them, copies KVS_MODULE (default build/ngx_http_kvs_module.so)
# into the run's work directory t/servroot-nodes/<pid>-<name> so that the
# whole run is one build whatever `make build` does meanwhile, and arms an
# alarm of `limit` seconds.  wrk writes its output to a file of its own,
# never a pipe: closing a pipe from a child waits for the child, which a
# die must not do.

use strict;
use warnings;

use Exporter qw(import);
use File::Path qw(make_path remove_tree);
use POSIX qw(_exit WNOHANG);
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(round_ratio fail say_err spawn command stop_pid stop_all wrk_start
                    wrk_reap wrk_text wrk_wait wrk_interrupt wrk_result
                    wrk_run alternate median machine ratio verdict
                    node_ticks node_cpu fill keys_of);

our %O;               # the run's settings: name, root, work, duration, ...
my %running;          # pid => what
my $PARENT = $$;
my $wrk_runs = 0;
my $CLK_TCK = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;

sub fail { die "bench/$O{name}: @_\n" }
sub say_err { print STDERR "bench/$O{name}: @_\n" }

sub init {
    my (%o) = @_;
    %O = (%o, duration => $ENV{BENCH_DURATION} // 10,
          warmup => $ENV{BENCH_WARMUP} // 2, threads => $ENV{BENCH_THREADS} // 2,
          conns => $ENV{BENCH_CONNS} // 32, rounds => $ENV{BENCH_ROUNDS} // 3,
          workers => $ENV{BENCH_WORKERS} // 2,
          nginx => $ENV{TEST_NGINX_BINARY} // '/usr/sbin/nginx');
    s/s$// for @O{qw(duration warmup)};    # "10s" as bench/run takes it
    for (qw(duration threads conns rounds workers)) {
        fail('BENCH_' . uc($_) . " must be a positive integer, not \"$O{$_}\"")
            unless $O{$_} =~ /^[1-9]\d*$/;
    }
    fail("BENCH_WARMUP must be a whole number of seconds, not \"$O{warmup}\"")
        unless $O{warmup} =~ /^\d+$/;
    fail('BENCH_CONNS must be at least BENCH_THREADS')
        if $O{conns} < $O{threads};
    fail('wrk is not installed (make deps-bench)')
        unless grep { -x "$_/wrk" } split /:/, $ENV{PATH};

    delete $ENV{NGINX};    # nginx would take it for inherited sockets
    $ENV{KVS_MODULE} //= "$O{root}/build/ngx_http_kvs_module.so";
    fail("no module at $ENV{KVS_MODULE} (run make build)")
        unless -f $ENV{KVS_MODULE};

    # exit, not die, so that no eval around a request takes it for a
    # failed request: exit runs the END blocks, which stop everything
    $SIG{ALRM} = sub { say_err("gave up after $O{limit} s"); exit 1 };
    $SIG{INT} = $SIG{TERM} = sub {
        say_err("stopped by SIG$_[0]");
        exit($_[0] eq 'INT' ? 130 : 143);
    };
    alarm $O{limit};

    $O{work} = "$O{root}/t/servroot-nodes/$$-$O{name}";
    remove_tree($O{work});
    make_path($O{work});
    system('cp', $ENV{KVS_MODULE}, "$O{work}/ngx_http_kvs_module.so") == 0
        or fail("cannot copy $ENV{KVS_MODULE} to $O{work}");
    $ENV{KVS_MODULE} = "$O{work}/ngx_http_kvs_module.so";
}

# ---------------------------------------------------------------- processes

# the pids whose parent is $pid
sub children {
    my ($pid) = @_;
    my @kids;
    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $f, '<', $stat or next;
        my $line = <$f> // next;
        my ($p, $pp) = $line =~ /^(\d+) \(.*\) \S+ (\d+)/ or next;
        push @kids, $p if $pp == $pid;
    }
    return @kids;
}

# stops a child of the run (and its own children) by pid: $sig, then KILL
# after 10 s
sub stop_pid {
    my ($pid, $sig) = @_;
    my @kids = children($pid);
    kill $sig // 'TERM', $pid;
    my $deadline = time + 10;
    while (time < $deadline) {
        last if waitpid($pid, WNOHANG) != 0;
        sleep 0.05;
    }
    if (kill 0, $pid) {
        kill 'KILL', $pid;
        waitpid $pid, 0;
    }
    kill 'KILL', grep { kill 0, $_ } @kids;
    delete $running{$pid};
}

# stops every process of the run still running: for a script's END block
# that removes their directories, which runs before this module's
sub stop_all {
    local $?;    # the script's exit status, which waitpid would set
    stop_pid($_) for keys %running;
}

END { stop_all() if $$ == $PARENT }

sub exit_text {
    my ($status) = @_;
    return 'was killed by signal ' . ($status & 127) if $status & 127;
    return 'exited with ' . ($status >> 8);
}

# forks and execs @cmd, its output in the file $out (undef: the run's);
# the child takes the default signal actions at once: until exec it runs
# the script's code, and a signal must end it, not run the parent's
# handlers in it
sub spawn {
    my ($what, $out, @cmd) = @_;
    my $pid = fork // fail("fork for $what: $!");
    if ($pid == 0) {
        $SIG{$_} = 'DEFAULT' for qw(INT TERM ALRM PIPE);
        if (defined $out) {
            open STDOUT, '>', $out or _exit(126);
            open STDERR, '>&', \*STDOUT or _exit(126);
        }
        { exec @cmd }
        print STDERR "bench/$O{name}: cannot run $cmd[0]: $!\n";
        _exit(127);
    }
    $running{$pid} = $what;
    return $pid;
}

# runs @cmd to its end, its output in a file of the run's, for at most
# $limit s (then it is stopped by pid and the run fails): {status (its
# wait status), text (its output), cpu (its CPU seconds), wall, t0}
my $commands = 0;
sub command {
    my ($what, $limit, @cmd) = @_;
    my $out = sprintf '%s/cmd-%04d.out', $O{work}, ++$commands;
    my %r = (t0 => time);
    my $pid = spawn($what, $out, @cmd);
    while (1) {
        my @c0 = times;
        if (waitpid($pid, WNOHANG) != 0) {
            my @c1 = times;
            $r{status} = $?;
            $r{cpu} = $c1[2] + $c1[3] - $c0[2] - $c0[3];
            last;
        }
        if (time - $r{t0} > $limit) {
            stop_pid($pid);
            fail("$what still ran after $limit s: @cmd");
        }
        sleep 0.02;
    }
    $r{wall} = time - $r{t0};
    delete $running{$pid};
    if (open my $f, '<', $out) {
        local $/;
        $r{text} = <$f> // '';
    }
    $r{text} //= '';
    fail("$what: $cmd[0] @{[ exit_text($r{status}) ]}: $r{text}")
        if $r{status} & 127 || $r{status} >> 8 >= 126;
    return \%r;
}

# CPU ticks a node has used: [its processes' main threads (the event
# loops), their other threads]
sub node_ticks {
    my ($node) = @_;
    my @t = (0, 0);
    for my $pid ($node->pids) {
        for my $stat (glob "/proc/$pid/task/*/stat") {
            my ($tid) = $stat =~ m{/task/(\d+)/stat$} or next;
            open my $f, '<', $stat or next;
            my $line = <$f> // next;
            $line =~ s/^.*\) //;            # "pid (comm) " may hold spaces
            my @f = split ' ', $line;
            $t[$tid == $pid ? 0 : 1] += $f[11] + $f[12];    # utime, stime
        }
    }
    return \@t;
}

# % of one core each of a node's two kinds of threads used since $since
sub node_cpu {
    my ($node, $t0, $since) = @_;
    my $t1 = node_ticks($node);
    my $wall = time - $since;
    return map { 100 * ($t1->[$_] - $t0->[$_]) / $CLK_TCK / $wall } 0, 1;
}

# ---------------------------------------------------------------- fill

# Writes keys 0..n-1 under prefix with bench/fill.lua (o: n, prefix, width,
# file or value, conns, secret (the cluster_secret, to count the keys),
# limit and stall in seconds, 1200 and 120 by default): the seconds it
# took.  It fails unless every PUT was answered 2xx and the store holds n
# keys; a store that stops growing for stall seconds ends it.
sub fill {
    my ($node, %o) = @_;
    my $threads = $O{threads};
    my $limit = $o{limit} // 1200;
    my $stall = $o{stall} // 120;
    local @ENV{qw(BENCH_FILL_N BENCH_FILL_PREFIX BENCH_FILL_WIDTH
                  BENCH_FILL_FILE BENCH_FILL_VALUE BENCH_THREADS)}
        = ($o{n}, $o{prefix}, $o{width} // 0, $o{file}, $o{value}, $threads);
    delete $ENV{BENCH_FILL_FILE} unless defined $o{file};
    delete $ENV{BENCH_FILL_VALUE} unless defined $o{value};
    my $conns = $o{n} < $o{conns} ? $threads : $o{conns};
    my $what = "filling $o{prefix} on port " . $node->port;
    my $t0 = time;
    my $run = wrk_start({}, "-t$threads", "-c$conns", "-d${limit}s",
                        '-s', "$O{root}/bench/fill.lua",
                        'http://127.0.0.1:' . $node->port);
    my ($done, $text) = (0);
    my ($held, $moved, $poll) = (-1, time, time + 5);
    while (!defined $text && time - $t0 < $limit + 30) {
        $text = wrk_reap($run);
        $done = () = wrk_text($run) =~ /^FILL-DONE/mg;
        last if $done == $threads;
        if (time > $poll) {    # a PUT lost with its connection: no waiting out -d
            my $now = keys_of($node, $o{secret});
            ($held, $moved) = ($now, time) if $now != $held;
            if (time - $moved > $stall) {
                fail("$what: the store has held $held keys of $o{n} for "
                     . "$stall s, and $done of $threads wrk threads got "
                     . "all their answers: " . wrk_interrupt($run, 30));
            }
            $poll = time + 5;
        }
        sleep 0.05;
    }
    my $secs = time - $t0;
    # wrk would wait out its -d
    my $ended = defined $text;
    $text //= wrk_interrupt($run, 30);
    fail("$what: wrk exited with " . ($run->{status} >> 8) . " before its "
         . "threads were done: $text") if $ended && $run->{status};
    my ($ok, $bad, $statuses) =
        $text =~ /^FILL-CHECK ok=(\d+) bad=(\d+) first_bad=\d+ statuses=(\S*)/m
        or fail("$what: no FILL-CHECK from wrk: $text");
    fail("$what: $bad of " . ($ok + $bad) . " PUTs answered non-2xx "
         . "(answers by status: $statuses)") if $bad;
    fail("$what: $done of $threads wrk threads got all their answers within "
         . "$limit s ($ok PUTs answered, of $o{n}; by status: "
         . "$statuses): $text") if $done < $threads;
    fail("$what: wrk got $ok answers to $o{n} PUTs (by status: $statuses)")
        unless $ok == $o{n};
    my $keys = keys_of($node, $o{secret});
    fail("$what: the store holds $keys keys, not $o{n}, after $ok PUTs "
         . "answered 2xx") unless $keys == $o{n};
    return $secs;
}

# the node's record count, from /_cluster/digest signed with secret
sub keys_of {
    my ($node, $secret) = @_;
    my ($keys) = $node->digest($secret) =~ /"keys":(\d+)/
        or fail('GET /_cluster/digest failed on ' . $node->port);
    return $keys;
}

# ---------------------------------------------------------------- wrk

# starts wrk with these arguments (and these environment variables):
# {pid, out (its output file, made empty first), t0}
sub wrk_start {
    my ($env, @args) = @_;
    my $out = sprintf '%s/wrk-%04d.out', $O{work}, ++$wrk_runs;
    open my $f, '>', $out or fail("cannot create $out: $!");
    close $f;
    local @ENV{ keys %$env } = values %$env;
    return { pid => spawn('wrk', $out, 'wrk', @args), out => $out, t0 => time };
}

sub wrk_text {
    my ($run) = @_;
    open my $f, '<', $run->{out} or return '';
    local $/;
    return <$f> // '';
}

# reaps wrk if it has ended: its output; its wait status in $run->{status},
# its CPU time in $run->{cpu}
sub wrk_reap {
    my ($run) = @_;
    my @c0 = times;
    return undef if waitpid($run->{pid}, WNOHANG) == 0;
    my ($status, @c1) = ($?, times);
    $run->{status} = $status;
    $run->{cpu} = $c1[2] + $c1[3] - $c0[2] - $c0[3];
    $run->{wall} = time - $run->{t0};
    delete $running{$run->{pid}};
    my $text = wrk_text($run);
    fail("wrk @{[ exit_text($status) ]}: $text")
        if $status & 127 || $status >> 8 >= 126;
    return $text;
}

# waits at most $limit s for wrk to end; returns its output
sub wrk_wait {
    my ($run, $limit) = @_;
    my $deadline = time + $limit;
    while (1) {
        my $text = wrk_reap($run);
        return $text if defined $text;
        if (time > $deadline) {
            stop_pid($run->{pid});
            fail("wrk still ran after $limit s: " . wrk_text($run));
        }
        sleep 0.05;
    }
}

# ends wrk before its -d: SIGINT, on which it prints its summary and
# exits, sent again every second (wrk ignores it until all its threads
# run), for at most $limit s; returns its output
sub wrk_interrupt {
    my ($run, $limit) = @_;
    my $deadline = time + $limit;
    while (time < $deadline) {
        kill 'INT', $run->{pid};
        my $again = time + 1;
        while (time < $again) {
            my $text = wrk_reap($run);
            return $text if defined $text;
            sleep 0.05;
        }
    }
    stop_pid($run->{pid});
    fail("wrk still ran $limit s after SIGINT: " . wrk_text($run));
}

# the figures of a wrk output: {rps, n, p50, p99 (ms, with --latency)};
# fails on answers that are not 2xx (bench/put.lua's PUT-CHECK line counts
# them by status), with what $probe->() says the server answers now
sub wrk_result {
    my ($what, $text, $probe) = @_;
    my ($rps) = $text =~ /^Requests\/sec:\s+([\d.]+)/m
        or fail("$what: no result from wrk: $text");
    my ($total) = $text =~ /^\s*(\d+) requests in/m;
    fail("$what: wrk completed no request") unless $total;
    if ($text =~ /^PUT-CHECK ok=(\d+) bad=([1-9]\d*) first_bad=\d+ statuses=(\S*)/m) {
        fail("$what: $2 of " . ($1 + $2) . " PUTs answered non-2xx (answers "
             . "by status: $3)");
    }
    if ($text =~ /Non-2xx or 3xx responses: (\d+)/) {
        my $n = $1;
        my $now = eval { $probe->() } // "no answer: $@";
        fail("$what: $n of $total answers not 2xx; the same request now "
             . "answers $now");
    }
    say_err("$what: $1") if $text =~ /^\s*(Socket errors:.*)$/m;
    my %r = (rps => $rps, n => $total);
    for my $q (50, 99) {
        my ($v, $unit) = $text =~ /^\s+$q(?:\.000)?%\s+([\d.]+)(us|ms|s)\b/m
            or next;
        $r{"p$q"} = $v * { us => 0.001, ms => 1, s => 1000 }->{$unit};
    }
    return \%r;
}

# a warmup, then a measured run of wrk -tBENCH_THREADS -cBENCH_CONNS on
# $url (@script: wrk's -s and the like, %env its environment): the
# figures of wrk_result() and, given the node, {loop, other} (% of a core
# of the node's two kinds of threads) and {wrk} (% of a core of wrk)
sub wrk_run {
    my (%a) = @_;    # what, url, probe, node, script (array), env (hash)
    my @args = ("-t$O{threads}", "-c$O{conns}", @{ $a{script} // [] });
    my $env = $a{env} // {};
    if ($O{warmup}) {
        my $run = wrk_start($env, @args, "-d$O{warmup}s", $a{url});
        wrk_result("$a{what} (warmup)", wrk_wait($run, $O{warmup} + 30),
                   $a{probe});
    }
    my $c0 = $a{node} ? node_ticks($a{node}) : undef;
    my $run = wrk_start($env, @args, "-d$O{duration}s", '--latency', $a{url});
    my $r = wrk_result($a{what}, wrk_wait($run, $O{duration} + 30), $a{probe});
    @$r{qw(loop other)} = node_cpu($a{node}, $c0, $run->{t0}) if $a{node};
    $r->{wrk} = 100 * $run->{cpu} / $run->{wall};
    return $r;
}

# BENCH_ROUNDS rounds of every run, in the order given and back, so that
# drift of the machine falls on all alike: {name => the median run (by
# req/s), with every run's req/s in {all}, a round's each}
sub alternate {
    my (@runs) = @_;    # [name, sub returning a wrk_run result]
    my %r;
    # every other round backwards: a run often gains or loses by what the
    # one before it left (caches, where the scheduler put the processes)
    for my $round (1 .. $O{rounds}) {
        for ($round % 2 ? @runs : reverse @runs) {
            say_err("  $_->[0], round $round of $O{rounds}");
            push @{ $r{ $_->[0] } }, $_->[1]->();
        }
    }
    my %median;
    for (keys %r) {
        my @s = sort { $a->{rps} <=> $b->{rps} } @{ $r{$_} };
        $median{$_} = { %{ $s[int($#s / 2)] },
                        all => [ map { $_->{rps} } @{ $r{$_} } ] };
    }
    return \%median;
}

sub median {
    my @v = sort { $a <=> $b } @_;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

sub ratio { $_[1] ? sprintf('%.2f', $_[0] / $_[1]) : '-' }

# the median of the ratios of two alternate() results' runs of one round
# each: the runs of a round are seconds apart, so a drift of the machine
# over the rounds (on a VM, often larger than the difference measured)
# falls on both sides of each ratio
sub round_ratio {
    my ($on, $off) = @_;
    my @a = @{ $on->{all} // [] };
    my @b = @{ $off->{all} // [] };
    my @r = map { $b[$_] ? $a[$_] / $b[$_] : () } 0 .. ($#a < $#b ? $#a : $#b);
    return @r ? sprintf('%.2f', median(@r)) : '-';
}
sub verdict { $_[0] ne '-' && $_[0] >= $_[1] ? 'PASS' : 'BELOW' }

# (nproc, CPU model, load average, kernel, nginx version)
sub machine {
    my $nproc = `nproc 2>/dev/null` // '';
    chomp $nproc;
    my $cpu = 'unknown';
    if (open my $f, '<', '/proc/cpuinfo') {
        while (<$f>) { if (/^model name\s*:\s*(.*)$/) { $cpu = $1; last } }
    }
    my $load = '';
    if (open my $f, '<', '/proc/loadavg') {
        ($load) = (<$f> // '') =~ /^(\S+ \S+ \S+)/;
    }
    my $kernel = `uname -sr 2>/dev/null` // '';
    chomp $kernel;
    my $nv = `$O{nginx} -v 2>&1` // '';
    chomp $nv;
    $nv =~ s/^nginx version: //;
    return ($nproc || '?', $cpu, $load // '', $kernel, $nv);
}

1;
