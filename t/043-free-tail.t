# A node starts again on a store whose last pages, as LMDB's meta counts
# them, lie past the end of data.mdb because a commit took them from the
# end of the file and freed them again without writing them (a large value
# written and deleted while the transaction reused free pages): the store
# is whole, and until 2026-12-04's seventh session nginx -t and the start
# refused it as "cut short", telling the operator to restore a backup.
# The node's own group commits leave such a store now and then; a small C
# program, compiled here, makes one at once, in the meta database of a
# stopped node's store, with LMDB's own calls.
use strict;
use warnings;
use Test::More;
use KVS::Node;

my $node = KVS::Node->new(name => 'free-tail', workers => 2);
$node->start;
my ($st) = $node->request(PUT => '/kv/tail/a', body => '{"a":1}');
is($st, 200, 'a key written');
$node->stop;

my $dir = $node->prefix;
open my $c, '>', "$dir/tail.c" or die $!;
print $c <<'C';
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int
main(int argc, char **argv)
{
    int          i, rc;
    char         small[3000], *big, path[4096];
    MDB_env     *env;
    MDB_txn     *txn;
    MDB_dbi      dbi;
    MDB_val      k, v;
    MDB_envinfo  info;
    struct stat  sb;

    big = calloc(1, 400000);
    rc = big == NULL || mdb_env_create(&env) || mdb_env_set_maxdbs(env, 16)
         || mdb_env_set_mapsize(env, 1 << 30) || mdb_env_open(env, argv[1], 0, 0600);

    for (i = 0; rc == 0 && i < 6; i++) {
        memset(small, 'a' + i, sizeof(small));
        k.mv_data = "tail-test"; k.mv_size = 9;
        v.mv_data = small; v.mv_size = sizeof(small);
        rc = mdb_txn_begin(env, NULL, 0, &txn) || mdb_dbi_open(txn, "meta", 0, &dbi)
             || mdb_put(txn, dbi, &k, &v, 0);
        if (rc == 0 && i == 5) {
            k.mv_data = "tail-big"; k.mv_size = 8;
            v.mv_data = big; v.mv_size = 400000;
            rc = mdb_put(txn, dbi, &k, &v, 0) || mdb_del(txn, dbi, &k, NULL);
            k.mv_data = "tail-test"; k.mv_size = 9;
            rc = rc || mdb_del(txn, dbi, &k, NULL);
        }
        rc = rc || mdb_txn_commit(txn);
    }

    rc = rc || mdb_env_info(env, &info);
    mdb_env_close(env);
    snprintf(path, sizeof(path), "%s/data.mdb", argv[1]);
    if (rc || stat(path, &sb) == -1) {
        return 2;
    }

    printf("%lld %lld\n", (long long) sb.st_size,
           (long long) (info.me_last_pgno + 1) * 4096);
    return 0;
}
C
close $c;
system("cc -O2 -o $dir/tail $dir/tail.c -llmdb") == 0
    or BAIL_OUT('cannot compile the store editor (cc, liblmdb-dev)');

my $out = `$dir/tail '${\ $node->data_dir}'`;
my ($size, $need) = $out =~ /^(\d+) (\d+)$/;
ok(defined $size && $size < $need,
   "LMDB left the last pages its meta counts unwritten: data.mdb "
   . ($size // '?') . " bytes, its last page at " . ($need // '?'));
is(system("mdb_dump -a '${\ $node->data_dir}' > /dev/null 2>&1"), 0,
   'mdb_dump reads every database of the store');

$out = $node->start(may_fail => 1);
is($out, '', 'the node starts again on it') or diag $out;
my ($b);
($st, undef, $b) = $node->request(GET => '/kv/tail/a');
is("$st $b", '200 {"a":1}', 'and serves what it held');
($st) = $node->request(PUT => '/kv/tail/b', body => '2');
is($st, 200, 'and takes writes');
my ($cut) = $node->log_text =~ /^(.*cut short.*)$/m;
is($cut, undef, 'no "cut short" in the error log');
$node->stop;
done_testing;
