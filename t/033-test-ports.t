# The suites' own harness: KVS::Node::free_port never gives one test the
# same port twice (a node's listener and its TLS listener were once the
# same port, and nginx refused the duplicate listen).
use strict;
use warnings;
use Test::More;
use KVS::Node;

my %seen;
my $twice = 0;
for (1 .. 2000) {
    $twice++ if $seen{ KVS::Node::free_port() }++;
}
is($twice, 0, '2,000 ports asked for, each a different one');
done_testing;
