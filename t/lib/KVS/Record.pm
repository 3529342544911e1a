package KVS::Record;

# The bytes a peer sends in a /_cluster/apply batch, for the suites that
# play a peer: a record as src/kvs/kvs_record.c lays it out (88 bytes of
# header, then the long path when there is one, then the value), and one
# entry of a batch (namespace, path, record).

use strict;
use warnings;
use Exporter qw(import);
use Time::HiRes qw(time);

our @EXPORT_OK = qw(record entry);

sub record {
    my (%o) = @_;
    my $now = int(time * 1000);
    my $value = $o{value} // '';
    return pack('C C v V Q< a16 Q< Q< a16 a16 V v v',
                1, $o{flags} // 0, $o{permissions} // 0744,
                $o{value_len} // length($value), $o{ts} // $now,
                $o{uuid} // join('', map { chr(int rand 256) } 1 .. 16),
                $o{created} // $now, $o{expires} // 0,
                "\0" x 16, "\0" x 16, $o{raw_len} // length($value),
                $o{key_len} // 0, 0)
         . ($o{key} // '') . $value;
}

sub entry {
    my ($path, $rec, $ns) = @_;
    return pack('a v', $ns // 'd', length $path) . $path
         . pack('V', length $rec) . $rec;
}

1;
