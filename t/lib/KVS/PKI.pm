package KVS::PKI;

# Certificates for the TLS suites, made with the openssl command in a
# temporary directory that goes when the test ends: CAs, and certificates
# one of them signs, with the extensions a test asks for.

use strict;
use warnings;

use File::Temp qw(tempdir);

sub new {
    my ($class) = @_;
    return bless { dir => tempdir(CLEANUP => 1) }, $class;
}

sub dir { $_[0]{dir} }

sub sh {
    my ($cmd) = @_;
    system("$cmd >/dev/null 2>&1") == 0 or die "failed: $cmd";
}

# a self-signed CA: dir/NAME.pem and dir/NAME.key
sub ca {
    my ($self, $name) = @_;
    sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 "
       . "-subj /CN=kvs-test-$name "
       . "-keyout $self->{dir}/$name.key -out $self->{dir}/$name.pem");
}

# a certificate NAME signed by the CA CA, with extension lines EXT (e.g.
# "subjectAltName=IP:127.0.0.1"): dir/NAME.pem and dir/NAME.key
sub cert {
    my ($self, $name, $ca, $ext) = @_;
    my $d = $self->{dir};
    sh("openssl req -newkey rsa:2048 -nodes -subj /CN=kvs-$name "
       . "-keyout $d/$name.key -out $d/$name.csr");
    open my $f, '>', "$d/$name.ext" or die $!;
    print $f "$ext\n";
    close $f;
    sh("openssl x509 -req -in $d/$name.csr -CA $d/$ca.pem -CAkey $d/$ca.key "
       . "-CAcreateserial -days 2 -extfile $d/$name.ext -out $d/$name.pem");
}

1;
