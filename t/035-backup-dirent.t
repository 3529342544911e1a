# Backups in a backup_dir on a file system whose directory entries do not
# say their type (ext4 without "filetype", XFS with ftype=0, some network
# file systems: readdir() gives DT_UNKNOWN): the retention deletes old
# backups of this node only, never a symlink or a directory named like one,
# as the status lists regular files only.  (Before 2026-12-04 the
# retention took such entries for backups: it deleted the symlink and
# logged a failed unlink() of the directory.)  backup_dir is an ext4 image
# without "filetype", loop-mounted in a mount namespace of nginx's own; the
# test is skipped where namespaces, loop devices or mkfs.ext4 are missing.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use KVS::Node qw(wait_for);

my $node = KVS::Node->new(name => 'dirent',
    yaml => "backup_enabled: false\nbackup_retention_days: 1\n");
my $dir = $node->prefix . '/backups';
my $img = $node->prefix . '/backups.img';
mkdir $dir or die $!;

# $cmd run where the image is mounted on backup_dir, in a namespace
sub in_image {
    my ($cmd) = @_;
    return system('unshare', '-m', '--propagation', 'private', 'sh', '-c',
                  "mount -o loop '$img' '$dir' && $cmd") == 0;
}

plan skip_all => 'needs mkfs.ext4, unshare -m and a loop mount'
    unless system("truncate -s 8M '$img' && mkfs.ext4 -q -F -O ^filetype "
                  . "'$img' >/dev/null 2>&1") == 0
           && in_image('true');

# an old backup of this node, a symlink and a directory named like others
my $old = 'kvs-dirent-20200101T000000Z.mdb.zst';
my $link = 'kvs-dirent-20200102T000000Z.mdb.zst';
my $sub = 'kvs-dirent-20200103T000000Z.mdb.zst';
ok(in_image("cd '$dir' && echo old > $old && echo precious > precious "
            . "&& ln -s precious $link && mkdir $sub"),
   'backup_dir holds an old backup, a symlink and a directory named like '
   . 'backups');

# nginx, in a mount namespace where backup_dir is that image
$node->use_mount_namespace("mount -o loop '$img' '$dir'");
$node->start;

my ($st, $h, $b) = $node->request(PUT => '/kv/a', body => '1');
is($st, 200, 'a key');
($st) = $node->request(POST => '/api/backup');
is($st, 202, 'a backup is asked for');

my $s;
ok(wait_for(20, sub {
       (undef, undef, $b) = $node->request(GET => '/api/backup/status');
       $s = eval { decode_json($b) };
       $s && !$s->{running} && !$s->{pending} && $s->{last}
   }), 'it runs and ends');
is($s->{last}{ok}, JSON::PP::true, 'written') or diag $b;
is_deeply([ map { $_->{file} } @{ $s->{backups} } ], [ $s->{last}{file} ],
          'the status lists the new backup alone: the old one went');
unlike($node->log_text, qr/unlink\(.*\) of an old backup failed/,
       'the retention tried to unlink no directory');
like($node->log_text, qr/backup ".*\Q$old\E" deleted: older than backup_retention_days/,
     'it deleted the old backup');
$node->stop;

my $left = $node->prefix . '/left';
ok(in_image("ls -a '$dir' > '$left'"), 'the image read after the stop');
open my $l, '<', $left or die $!;
my %left = map { chomp; $_ => 1 } <$l>;
ok(!$left{$old}, 'the old backup is gone');
ok($left{$link} && $left{precious}, 'the symlink and its file stay');
ok($left{$sub}, 'the directory stays');

done_testing;
