# Anti-entropy and bootstrap of a Merkle bucket whose keys fill more than
# one answer: the peer cuts its answer to its batch size (X-KVS-More) and
# the asker asks again after the last key it was given; the keys it wants
# fill its list of 64 KiB more than once and are fetched page by page.
# Until 2026-12-04 the keys past the cut were never asked for: a new node
# ended its bootstrap "done" with a third of them, and the Merkle roots of
# the two nodes never agreed again.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use KVS::Node qw(seeds wait_for);

# 150 keys of about 1,000 bytes in one bucket (the first two bytes of the
# SHA-256 of "d" and the path, as src/kvs/kvs_merkle.c places them): some
# 150 KB of keys against a batch of 2 x max_json_size (1 KiB) + 64 KiB
my $n = 150;
my $dir = tempdir(CLEANUP => 1);
open(my $src, '>', "$dir/crowd.c") or die $!;
print {$src} <<'C';
#include <stdio.h>
#include <string.h>
#include <openssl/evp.h>

int
main(int argc, char **argv)
{
    int            found, want, n, bucket;
    char           prefix[1024], suffix[32];
    size_t         plen;
    unsigned char  md[32];
    EVP_MD_CTX    *base, *ctx;

    want = atoi(argv[1]);
    memset(prefix, 0, sizeof(prefix));
    strcpy(prefix, "dcrowd/");
    memset(prefix + 7, 'k', 970);
    prefix[977] = '/';
    plen = 978;

    base = EVP_MD_CTX_new();
    ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(base, EVP_sha256(), NULL);
    EVP_DigestUpdate(base, prefix, plen);

    bucket = -1;
    found = 0;

    for (n = 0; found < want; n++) {
        snprintf(suffix, sizeof(suffix), "%d", n);
        EVP_MD_CTX_copy_ex(ctx, base);
        EVP_DigestUpdate(ctx, suffix, strlen(suffix));
        EVP_DigestFinal_ex(ctx, md, NULL);

        if (bucket == -1) {
            bucket = md[0] << 8 | md[1];
        }

        if ((md[0] << 8 | md[1]) == bucket) {
            printf("%.*s%s\n", (int) plen - 1, prefix + 1, suffix);
            found++;
        }
    }

    return 0;
}
C
close $src;
system("cc -O2 -include stdlib.h -o $dir/crowd $dir/crowd.c -lcrypto") == 0
    or BAIL_OUT('cannot compile the key finder (cc, libssl-dev)');
my @keys = split /\n/, `$dir/crowd $n`;
is(scalar @keys, $n, "$n keys of one bucket, " . length($keys[0]) . ' bytes each');

my $secret = 'crowded-bucket-secret-0123456789';
my $yaml = "gossip_interval_min: 0.2\ngossip_interval_max: 0.4\nsync_interval: 1\n"
         . "catchup_interval: 1\nfailure_timeout: 5\nremoval_timeout: 60\n"
         . "peer_timeout: 2\nfetch_delay_ms: 10\nthrottle_delay_ms: 10\n"
         . "max_json_size: 1k\ncluster_secret: $secret\n";

my $a = KVS::Node->new(name => 'crowd1', yaml => $yaml . "seed_nodes: []\n");
$a->start;
my $ok = 0;
for my $i (0 .. $#keys) {
    my ($st) = $a->request(PUT => "/kv/$keys[$i]", body => qq({"i":$i}));
    $ok++ if $st == 200;
}
is($ok, $n, 'every key written on the first node');

sub lacking {
    my ($node) = @_;
    return scalar grep { ($node->request(GET => "/kv/$_"))[0] != 200 } @keys;
}

# anti-entropy: a node with data of its own joins the first
my $b = KVS::Node->new(name => 'crowd2', yaml => $yaml . "seed_nodes: []\n");
$b->start;
$b->request(PUT => '/kv/b-only', body => '{"b":1}');
$b->stop;
$b->set_yaml("node_id: crowd2\nbind_address: 127.0.0.1\nport: " . $b->port
             . "\ndata_dir: ./data\n$yaml" . 'seed_nodes: ' . seeds($a) . "\n");
$b->start;
ok(wait_for(30, sub { $a->digest($secret) eq $b->digest($secret) }),
   'anti-entropy brings a node with data of its own to the same root')
    or diag $a->digest($secret) . $b->digest($secret);
is(lacking($b), 0, 'and it holds every key of the crowded bucket');

# bootstrap: an empty node seeded with the first (it may walk the second)
my $c = KVS::Node->new(name => 'crowd3', yaml => $yaml . 'seed_nodes: ' . seeds($a) . "\n");
$c->start;
ok(wait_for(30, sub { $c->log_text =~ /bootstrap from "crowd[12]" done/ }),
   'an empty node bootstraps from them');
is(lacking($c), 0, 'holding every key of the bucket when it says done');
ok(wait_for(30, sub { $a->digest($secret) eq $c->digest($secret) }),
   'and the same root')
    or diag $a->digest($secret) . $c->digest($secret);

$_->stop for $a, $b, $c;
done_testing;
