# The YAML's log_level filters the module's own messages within what
# nginx's error_log lets through: with "error_log ... debug" the module's
# traces of each request's decisions show only under log_level: debug;
# log_level: error keeps the agent's info and a refusal's warning out of a
# log that takes them.
use strict;
use warnings;
use Test::More;
use KVS::Node;

my $debug = 'error_log logs/http.log debug;';

sub http_log {
    my ($n) = @_;
    open my $f, '<', $n->prefix . '/logs/http.log' or return '';
    local $/;
    return <$f>;
}

sub story {
    my ($n) = @_;
    $n->request(PUT => '/kv/log/a?ttl=60', body => '{"a":1}');
    $n->request(GET => '/kv/log/a');
    $n->request(GET => '/kv/log/?limit=5');
    $n->request(GET => '/health');
    $n->request(POST => '/_cluster/apply', body => 'x');
}

my $traced = KVS::Node->new(name => 'log-debug', workers => 1, http => $debug,
                            yaml => "log_level: debug\n");
$traced->start;
story($traced);
$traced->stop;
my $log = http_log($traced);
like($log, qr/\[debug\].*kvs: PUT "\/kv\/"/, 'log_level: debug traces the route of a request');
like($log, qr/\[debug\].*kvs: parameter "ttl" = "60"/, 'each query parameter');
like($log, qr/\[debug\].*kvs: read transaction begun/, 'the read');
like($log, qr/\[debug\].*kvs: 1 members, 1 alive/, 'what /health counted');
like($log, qr/\[debug\].*kvs write: /, 'the group commit');

my $quiet = KVS::Node->new(name => 'log-info', workers => 1, http => $debug);
$quiet->start;
story($quiet);
$quiet->stop;
$log = http_log($quiet);
like($log, qr/\[debug\]/, 'with log_level left at info, nginx still traces');
unlike($log, qr/\[debug\].*kvs[: ]/, 'but the module does not');
like($quiet->log_text, qr/\[info\].*kvs: cluster agent of node "log-info" started/,
     'and its info lines are written');
like($log, qr/\[warn\].*kvs: .*401|\[warn\].*kvs: refused/,
     'as is a refusal\'s warning');

my $errors = KVS::Node->new(name => 'log-error', workers => 1, http => $debug,
                            yaml => "log_level: error\n");
$errors->start;
story($errors);
$errors->stop;
$log = http_log($errors) . $errors->log_text;
unlike($log, qr/kvs: cluster agent of node/, 'log_level: error drops the agent\'s info');
unlike($log, qr/\[warn\].*kvs/, 'and the module\'s warnings');
like($log, qr/\[debug\]/, 'while nginx writes what error_log takes');

done_testing;
