# A worker that cannot set up its group commit fails as nginx's own
# modules make a worker fail: its init_process returns an error, the
# master says it cannot be respawned, and no worker answers with a
# half-initialised module.  (Before, the worker ran and answered every PUT
# with a 500.)  The failure is made by a preloaded pthread_mutex_init()
# that refuses the module's mutex alone, found by its address.
use strict;
use warnings;
use Test::More;
use KVS::Node qw(wait_for);

plan skip_all => 'needs a C compiler' if system('cc --version >/dev/null 2>&1') != 0;

my $node = KVS::Node->new(name => 'init-failure', workers => 1);
my $dir = $node->prefix;

open my $c, '>', "$dir/failmutex.c" or die $!;
print $c <<'C';
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

int
pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
    Dl_info  info;
    int    (*real)(pthread_mutex_t *, const pthread_mutexattr_t *);

    if (dladdr(m, &info) && info.dli_fname
        && strstr(info.dli_fname, "ngx_http_kvs_module") != NULL)
    {
        return ENOMEM;
    }

    real = (int (*)(pthread_mutex_t *, const pthread_mutexattr_t *))
           dlsym(RTLD_NEXT, "pthread_mutex_init");

    return real(m, a);
}
C
close $c;
is(system("cc -shared -fPIC -o $dir/failmutex.so $dir/failmutex.c -ldl"), 0,
   'the preloaded pthread_mutex_init() builds');

my $nginx = $ENV{TEST_NGINX_BINARY} // '/usr/sbin/nginx';
my $wrapper = "$dir/nginx-failmutex";
open my $w, '>', $wrapper or die $!;
print $w "#!/bin/sh\nLD_PRELOAD=\${LD_PRELOAD:+\$LD_PRELOAD:}$dir/failmutex.so "
       . "exec $nginx \"\$\@\"\n";
close $w;
chmod 0755, $wrapper;
# started by hand: with no worker, a request would wait on the backlog
is(system("$wrapper -p $dir/ -c conf/nginx.conf"), 0, 'the master starts');
ok(wait_for(5, sub { $node->log_text =~ /exited with fatal code 2 and cannot be respawned/ }),
   'the worker fails its init_process, as nginx makes a worker fail')
    or diag $node->log_text;
like($node->log_text, qr/\[emerg\].*pthread_mutex_init\(\) failed/,
     'and the log says what failed');

$node->{pid} = $node->master_pid;
$node->stop;

done_testing;
