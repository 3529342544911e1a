# Self-test of the project's Test::Nginx-compatible harness, t/harness/.
# It loads that harness even where the real Test::Nginx is installed -- the
# bundled one is what it tests -- and uses only stock nginx features (no
# kvs module).  The blocks below prove config generation, request building,
# response parsing, checks and subtest counting.  The meta tests at the end
# run small suites in a child perl and check that the bundled harness fails
# where the real one fails: a wrong body, an nginx that does not start, a
# servroot it cannot empty (before the first block, or because a block's
# nginx made a directory in it), expectations that are not arrays for
# several requests, a log line missing after one of a block's requests.
# Where the real Test::Nginx is installed, each such child runs under it
# too, and both must end alike.
#
#   TEST_NGINX_BINARY=/usr/sbin/nginx prove t/000-harness.t

use strict;
use warnings;
use FindBin ();
use lib "$FindBin::Bin/harness";
use Test::Nginx::Socket;
use Cwd ();
use File::Path ();
use File::Temp ();
use IO::Socket::INET ();

repeat_each(1);
no_shuffle();
log_level('info');

our $HttpConfig = <<'_EOC_';
    map $uri $hc_var {
        default "hc-ok";
    }
_EOC_

# custom section: --- req_x_foo: VALUE  ==>  --- more_headers X-Foo: VALUE
add_block_preprocessor(sub {
    my $block = shift;
    if (defined $block->req_x_foo) {
        $block->set_value('more_headers', 'X-Foo: ' . $block->req_x_foo);
    }
});

# The children: [name, suite, what the bundled harness must do, and, when
# the real one runs it too, whether it must end alike].
my $ok_block = <<'_EOT_';
=== TEST 1: passes
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
[error]
_EOT_

my @children = (
    [ 'counting', <<"_EOT_", { plan => 12, ok => 10, not_ok => 2, rc => 2 }, 1 ],
use Test::Nginx::Socket;
repeat_each(2);
master_on();
workers(2);
no_shuffle();
log_level('info');
plan tests => repeat_each() * (3 * blocks());
run_tests();
__DATA__

$ok_block

=== TEST 2: wrong body expected
--- config
    location = /t { return 200 "ok\\n"; }
--- request
GET /t
--- response_body
not ok
--- no_error_log
[error]
_EOT_

    [ 'nginx cannot start', <<"_EOT_", { bail => qr/Cannot start nginx/, out => qr/unknown directive "bogus_directive_xyz"/ }, 1 ],
use Test::Nginx::Socket 'no_plan';
no_shuffle();
run_tests();
__DATA__

$ok_block

=== TEST 2: nginx cannot start
--- config
    location = /t { bogus_directive_xyz on; }
--- request
GET /t
--- response_body
ok
_EOT_

    # what nginx says of a configuration it refuses is in logs/error.log
    # under both harnesses, whatever the build's default error log
    [ 'must_die', <<"_EOT_", { ok => 3, not_ok => 0, rc => 0 }, 1 ],
use Test::Nginx::Socket 'no_plan';
run_tests();
__DATA__

=== TEST 1: a directive nginx does not know
--- config
    location = /t { bogus_directive_xyz on; }
--- must_die
--- error_log
unknown directive "bogus_directive_xyz"
--- no_error_log
[alert]
_EOT_

    [ 'a leftover directory in the servroot', <<"_EOT_", { bail => qr/Can't remove .*servroot.* \(not empty\?\)/, ok => 0, leftover => 'data' }, 1 ],
use Test::Nginx::Socket 'no_plan';
run_tests();
__DATA__

$ok_block
_EOT_

    [ "a directory a block's nginx made in the servroot", <<"_EOT_", { bail => qr/Can't remove .*servroot.* \(not empty\?\)/, ok => 2 }, 1 ],
use Test::Nginx::Socket 'no_plan';
no_shuffle();
run_tests();
__DATA__

=== TEST 1: nginx creates a temp path outside the directories the harness owns
--- config
    location = /t { client_body_temp_path \$TEST_NGINX_SERVER_ROOT/stray; return 200 "ok\\n"; }
--- request
GET /t
--- response_body
ok

$ok_block
_EOT_

    [ 'one expectation for two requests', <<"_EOT_", { bail => qr/should be arrays as well/, ok => 0 }, 1 ],
use Test::Nginx::Socket 'no_plan';
run_tests();
__DATA__

=== TEST 1: two requests, one status
--- config
    location = /t { return 200 "ok\\n"; }
--- request eval
["GET /t", "GET /t"]
--- error_code: 200
_EOT_

    [ 'a log line after only one of two requests', <<"_EOT_", { ok => 3, not_ok => 1, rc => 1 }, 1 ],
use Test::Nginx::Socket 'no_plan';
log_level('info');
run_tests();
__DATA__

=== TEST 1: the error_log pattern is checked after each response
--- config
    location = /t { return 200 "ok\\n"; }
    location /e/ { root /nonexistent; }
--- request eval
["GET /e/a", "GET /t"]
--- error_code eval
[404, 200]
--- error_log
/nonexistent/e/a
_EOT_

    # the real harness checks only response_body here and passes: a check
    # it never makes must not pass here either
    [ 'two body sections', <<"_EOT_", { bail => qr/checks only one of them/, ok => 0 }, 0 ],
use Test::Nginx::Socket 'no_plan';
run_tests();
__DATA__

=== TEST 1: response_body and response_body_like
--- config
    location = /t { return 200 "ok\\n"; }
--- request
GET /t
--- response_body
ok
--- response_body_like: nothing like it
_EOT_
);

my $meta_tests = 0;
$meta_tests += 1 + grep { $_ ne 'leftover' } keys %{ $_->[2] } for @children;
$meta_tests += 2 * grep { $_->[3] } @children;    # if the real one runs them
plan tests => 123 + $meta_tests;

run_tests();

# ---------------------------------------------------------------------------
# Meta tests: each child suite in a perl of its own, with its own servroot
# and port; its TAP and exit status are checked.
# ---------------------------------------------------------------------------
{
    my $tmp = File::Temp::tempdir(CLEANUP => 1);
    my $harness = Cwd::abs_path("$FindBin::Bin/harness");
    my @perl5lib = grep { length && !m{/t/harness/?$} && $_ ne 't/harness' }
                   split /:/, $ENV{PERL5LIB} // '';

    # the real Test::Nginx, when a perl without t/harness finds one
    my $real = do {
        local $ENV{PERL5LIB} = join ':', @perl5lib;
        my $where = `$^X -MTest::Nginx::Socket -e 'print \$INC{"Test/Nginx/Socket.pm"}' 2>/dev/null`;
        $? == 0 && $where !~ m{/t/harness/} ? $where : undef;
    };
    Test::More::note($real ? "the children run under the real Test::Nginx too ($real)"
               : 'the real Test::Nginx is not installed: the children run under the bundled one only');

    my $n = 0;
    my $run = sub {
        my ($text, $inc, $leftover) = @_;
        $n++;
        my $servroot = "$tmp/servroot-$n";
        if ($leftover) {
            File::Path::make_path("$servroot/$leftover");
        }
        open my $fh, '>', "$tmp/child-$n.t" or die $!;
        print {$fh} $text;
        close $fh;
        my $probe = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                          Listen => 1, ReuseAddr => 1) or die $!;
        my $port = $probe->sockport;
        close $probe;
        local $ENV{TEST_NGINX_SERVROOT} = $servroot;
        local $ENV{TEST_NGINX_PORT} = $port;
        local $ENV{PERL5LIB} = join ':', @perl5lib;
        delete local $ENV{TEST_NGINX_SERVER_PORT};
        delete local $ENV{TEST_NGINX_CLIENT_PORT};
        delete local $ENV{TEST_NGINX_NO_CLEAN};
        delete local $ENV{HARNESS_ACTIVE};
        my @inc = $inc ? ("-I$inc") : ();
        my $out = `$^X @inc $tmp/child-$n.t 2>&1`;
        my %r = (out => $out, rc => $? >> 8);
        $r{ok}     = () = $out =~ /^ok \d+/mg;
        $r{not_ok} = () = $out =~ /^not ok \d+/mg;
        ($r{plan}) = $out =~ /^1\.\.(\d+)$/m;
        ($r{bail}) = $out =~ /^Bail out!\s*(.*)$/m;
        return \%r;
    };

    for my $child (@children) {
        my ($what, $text, $want, $same) = @$child;
        my $got = $run->($text, $harness, $want->{leftover});
        my $show = "\n$got->{out}";
        for my $k (sort keys %$want) {
            next if $k eq 'leftover';
            if ($k eq 'bail') {
                like($got->{bail} // '(no bail out)', $want->{bail},
                     "meta: $what: the bundled harness bails out");
            } elsif ($k eq 'out') {
                like($got->{out}, $want->{out}, "meta: $what: its output says why");
            } else {
                is($got->{$k}, $want->{$k}, "meta: $what: $k") or diag($show);
            }
        }
        if ($want->{leftover}) {
            ok(-d "$tmp/servroot-$n/$want->{leftover}",
               "meta: $what: the harness leaves what it does not own alone");
        } else {
            ok(!grep({ kill 0, $_ } `cat $tmp/servroot-$n/logs/nginx.pid 2>/dev/null` =~ /(\d+)/),
               "meta: $what: the child stopped its nginx");
        }
        next unless $same;
        SKIP: {
            skip "meta: $what: the real Test::Nginx is not installed", 2 unless $real;
            my $r = $run->($text, undef, $want->{leftover});
            is(defined $r->{bail} ? 'bails out' : "$r->{not_ok} failed",
               defined $got->{bail} ? 'bails out' : "$got->{not_ok} failed",
               "meta: $what: the real Test::Nginx ends alike")
                or diag("real:\n$r->{out}\nbundled:\n$got->{out}");
            is($r->{ok}, $got->{ok}, "meta: $what: after as many passing subtests");
        }
    }
}

__DATA__

=== TEST 1: return 200 with a body
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- error_code: 200
--- response_headers
Content-Type: text/plain
Content-Length: 6
--- response_body
hello
--- no_error_log
[error]
[alert]
--- access_log
"GET /t HTTP/1.1" 200
--- wait: 0.05



=== TEST 2: a block without --- config runs against the previous block's nginx; chop
--- request
GET /t
--- response_body_like chop
^hello$



=== TEST 2b: response_body_unlike
--- request
GET /t
--- response_body_unlike: bye



=== TEST 3: request headers from --- more_headers
--- config
    location = /h {
        return 200 "foo=$http_x_foo bar=$http_x_bar host=$host\n";
    }
--- request
GET /h
--- more_headers
X-Foo: hello world
# a comment line
X-Bar: 1
--- response_body
foo=hello world bar=1 host=localhost



=== TEST 4: --- more_headers eval, and a Host header replaces the default one
--- request
GET /h
--- more_headers eval
"X-Foo: " . ("a" x 3) . "\nHost: example.com"
--- response_body
foo=aaa bar= host=example.com



=== TEST 5: add_block_preprocessor with a custom section
--- request
GET /h
--- req_x_foo: from-preprocessor
--- response_body
foo=from-preprocessor bar= host=localhost



=== TEST 6: response header checks
--- config
    location = /hdr {
        add_header X-One "1";
        add_header X-Multi "a";
        add_header X-Multi "b";
        add_header ETag '"0123abcd-0000-4000-8000-00000000beef"';
        return 200 "ok\n";
    }
--- request
GET /hdr
--- response_headers
X-One: 1
X-Multi: a, b
!X-Absent
X-Also-Absent:
--- raw_response_headers_like: X-One: 1\r\n
--- response_body
ok



=== TEST 6b: response_headers_like (the values anchored), raw_response_headers_unlike
--- request
GET /hdr
--- response_headers_like
ETag: "[0-9a-f-]{36}"
Server: nginx(/[\d.]+)?
--- raw_response_headers_unlike: X-Absent
--- response_body
ok



=== TEST 7: 404 from a missing file and an [error] line in error.log
--- config
    location /e/ {
        root /nonexistent;
    }
--- request
GET /e/missing.txt
--- error_code: 404
--- response_body_like: 404 Not Found
--- error_log eval
[
    'open() "/nonexistent/e/missing.txt" failed',
    qr/\[error\] \d+#\d+: \*\d+ open\(\) ".*" failed \(2: No such file or directory\)/,
]
--- no_error_log
[alert]



=== TEST 8: error_code_like
--- config
    location = /forbidden {
        return 403;
    }
--- request
GET /forbidden
--- error_code_like: ^40[13]$
--- response_body_like: 403 Forbidden



=== TEST 9: chunked request body (sent as given) to a 204 location
--- config
    location = /c {
        return 204;
    }
--- more_headers
Transfer-Encoding: chunked
--- request eval
"POST /c\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
--- error_code: 204
--- response_body:
--- no_error_log
[error]
[info]



=== TEST 10: the chunked body is decoded by nginx (seen through a proxy)
--- config
    location = /proxy {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/sink;
    }
    location = /sink {
        return 200 "len=$http_content_length te=$http_transfer_encoding\n";
    }
--- more_headers
Transfer-Encoding: chunked
--- request eval
"POST /proxy\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
--- response_body
len=11 te=



=== TEST 11: body in --- request: Content-Length added, surrounding whitespace dropped
--- config
    location = /len {
        return 200 "len=$http_content_length\n";
    }
--- request
POST /len

  hello world  

--- response_body
len=11



=== TEST 12: raw bytes in the body
--- request eval
"POST /len\n\x00\x01\xff\x7f"
--- response_body
len=4



=== TEST 13: a Content-Length from --- more_headers is kept and the body sent verbatim
--- more_headers
Content-Length: 7
--- request eval
"POST /len\n  abc  "
--- response_body
len=7



=== TEST 14: request split into packets
--- request eval
[["POST /len\nhel", {value => "lo", delay_before => 0.05}]]
--- response_body
len=5



=== TEST 15: several requests (one connection each)
--- config
    location = /a { return 200 "A\n"; }
    location = /b { return 201 "B\n"; }
--- request eval
["GET /a", "GET /b"]
--- error_code eval
[200, 201]
--- response_body eval
["A\n", "B\n"]



=== TEST 16: pipelined requests on one connection
--- pipelined_requests eval
["GET /a", "POST /b\nbody", "GET /nope", "GET /b"]
--- error_code eval
[200, 201, 404, 201]
--- response_body eval
["A\n", "B\n", qr/404 Not Found/, "B\n"]



=== TEST 17: --- raw_request, HTTP/1.0
--- raw_request eval
"GET /a HTTP/1.0\r\nHost: foo\r\n\r\n"
--- response_body
A
--- response_headers
Connection: close



=== TEST 18: --- raw_request split into packets
--- raw_request eval
["GET /b HTTP/1.1\r\nHo", "st: localhost\r\nConnection: close\r\n\r\n"]
--- error_code: 201
--- response_body
B



=== TEST 19: --- user_files go to html/, with an mtime
--- config
    location = /where {
        return 200 "$TEST_NGINX_SERVER_ROOT/html|$document_root\n";
    }
--- user_files
>>> foo.txt
Hello, world
>>> sub/dir/bar.txt 201001020304.05
second file
--- request eval
["GET /foo.txt", "GET /sub/dir/bar.txt", "GET /where"]
--- response_body eval
["Hello, world\n", "second file\n",
 "$ENV{TEST_NGINX_SERVER_ROOT}/html|$ENV{TEST_NGINX_SERVER_ROOT}/html\n"]
--- response_headers eval
require POSIX;
["Content-Length: 13",
 "Last-Modified: " . POSIX::strftime("%a, %d %b %Y %H:%M:%S GMT",
                                     gmtime(POSIX::mktime(5, 4, 3, 2, 0, 110, 0, 0, -1))),
 ""]



=== TEST 20: http_config from a Perl variable, main_config, TEST_NGINX_* expansion, log_level
--- main_config
worker_rlimit_nofile 1024;
--- http_config eval: $::HttpConfig
--- config
    location = /hc {
        return 200 "$hc_var port=$TEST_NGINX_SERVER_PORT\n";
    }
--- request
GET /hc
--- response_body eval
"hc-ok port=$ENV{TEST_NGINX_SERVER_PORT}\n"
--- log_level: debug
--- error_log
[debug]



=== TEST 21: response_body_filters and grep_error_log, checked after each request
--- config
    location = /t { return 200 "hello\n"; }
    location /e/ { root /nonexistent; }
--- request eval
["GET /e/a", "GET /e/a"]
--- response_body_filters
uc
--- response_body eval
[qr/404 NOT FOUND/, qr/404 NOT FOUND/]
--- error_code eval
[404, 404]
--- grep_error_log eval
qr{/nonexistent/e/\w+}
--- grep_error_log_out
/nonexistent/e/a



=== TEST 21b: --- wait before each check of the log
--- config
    location = /t { return 200 "hello\n"; }
--- request eval
["GET /t", "GET /t"]
--- response_body eval
["hello\n", "hello\n"]
--- wait: 0.05
--- no_error_log
[error]



=== TEST 22: comments before the request line; HEAD over HTTP/1.0
--- request
   # a comment
   # another one
HEAD /t HTTP/1.0
--- response_headers
Content-Length: 6
--- response_body:



=== TEST 23: connection closed without a response (return 444)
--- config
    location = /close { return 444; }
--- request
GET /close
--- error_code:
--- response_body:



=== TEST 24: client timeout with --- abort (nginx waits for the rest of the body)
--- config
    location = /slow {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/sink;
    }
    location = /sink { return 200; }
--- more_headers
Content-Length: 100
--- request eval
"POST /slow\nshort"
--- timeout: 300ms
--- abort
--- error_code:
--- response_body:



=== TEST 25: skip_nginx skips every subtest of the block
--- config
    location = /t { return 200 "x\n"; }
--- request
GET /t
--- response_body
never checked
--- skip_nginx: 2: > 0.0.1



=== TEST 26: skip_eval with a false condition runs the block
--- config
    location = /t { return 200 "x\n"; }
--- request
GET /t
--- response_body
x
--- skip_eval: 2: 0



=== TEST 27: --- SKIP drops the block
--- SKIP
--- request
GET /nonexistent
--- response_body
should not run



=== TEST 28: shutdown_error_log
--- request
GET /t
--- response_body
x
--- shutdown_error_log
signal 3 (SIGQUIT) received
--- no_shutdown_error_log
[alert]



=== TEST 29: --- must_die with a bad directive
--- config
    location = /t { no_such_directive on; }
--- must_die
--- error_log
unknown directive "no_such_directive"
--- no_error_log
[alert]



=== TEST 30: chunked responses (sub_filter drops Content-Length), also pipelined
--- config
    location = /c {
        sub_filter 'x' 'y';
        sub_filter_types *;
        return 200 "xxx\n";
    }
    location = /json {
        add_header ETag '"0a1b2c3d-0000-4000-8000-000000000001"';
        return 200 '{"uuid":"0a1b2c3d-0000-4000-8000-000000000001","timestamp":1700000000}';
    }
--- pipelined_requests eval
["GET /c", "PUT /json\n{\"x\":1}", "GET /c"]
--- more_headers
Content-Type: application/json
--- response_headers eval
["Transfer-Encoding: chunked\n!Content-Length", "", "Transfer-Encoding: chunked"]
--- response_body_like eval
["^yxx\n\\z", '^\{"uuid":"[0-9a-f-]{36}","timestamp":\d+\}$', "^yxx\n\\z"]



=== TEST 31: response_headers_like per pipelined response
--- pipelined_requests eval
["GET /c", "PUT /json\n{\"x\":1}"]
--- response_headers_like eval
["Transfer-Encoding: chunked", 'ETag: "[0-9a-f-]{36}"']
--- response_body_like eval
["^yxx\n\\z", '^\{"uuid":"[0-9a-f-]{36}","timestamp":\d+\}$']
