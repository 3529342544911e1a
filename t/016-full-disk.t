# A full disk: LMDB reports a write the disk cut short as "Input/output
# error"; the error log says that the device holding data_dir has no space
# left.  data_dir is a small tmpfs mounted in a mount namespace of nginx's
# own (unshare -m), so nothing outside the test sees it; the test is
# skipped where namespaces or mounts are not allowed.
use strict;
use warnings;
use Test::More;
use KVS::Node;

plan skip_all => 'needs unshare -m and mount (root, or user namespaces)'
    unless system('unshare -m --propagation private '
                  . 'sh -c "mount -t tmpfs -o size=1m kvs /mnt" 2>/dev/null')
           == 0;

my $node = KVS::Node->new(name => 'full',
                          yaml => "compression_enabled: false\n");
my $data = $node->data_dir;
mkdir $data or die $!;

# nginx, in a mount namespace where data_dir is a 16 MiB tmpfs
$node->use_mount_namespace("mount -t tmpfs -o size=16m kvs $data");

$node->start;

my $value = '"' . ('x' x (512 * 1024)) . '"';
my ($st, $n, %seen);
for $n (1 .. 64) {
    ($st) = $node->request(PUT => "/kv/big/$n", body => $value);
    $seen{$st}++;
    last if $st != 200;
}
ok($seen{200}, 'PUTs succeed while there is room');
is($st, 500, 'a PUT on a full disk is a 500');

like($node->log_text,
     qr/\[error\].*kvs: .*(?:committing a write|writing) in "[^"]*" failed: no space left on the device holding data_dir \(\d+ bytes free\)/,
     'the error log says the device holding data_dir is full');
unlike($node->log_text, qr/Input\/output error/,
       'not "Input/output error"');

($st) = $node->request(GET => '/kv/big/1');
is($st, 200, 'what was written before reads back');

$node->stop;

done_testing;
