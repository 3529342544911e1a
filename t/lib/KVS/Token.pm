package KVS::Token;

# Tokens minted in Perl as a node mints them (src/kvs/kvs_jwt.c): HS256
# over "header.payload" in base64url without padding, the header's kid the
# first 16 hex digits of the secret's SHA-256.  The suites mint good ones
# with the node's secret, and bad ones on purpose, as an attacker who had
# the secret would: each part can be given whole.
#
#     use KVS::Token qw(mint);
#     mint(sub => $KVS::Token::Admin, exp => time - 10);
#
# Block suites call it from "--- more_headers eval", where the code runs
# in Test::Base's package: hence the full names there.

use strict;
use warnings;

use Exporter qw(import);
use Digest::SHA qw(hmac_sha256 sha1 sha256_hex);
use MIME::Base64 qw(encode_base64url);

our @EXPORT_OK = qw(mint);

# the secret of the suites' jwt.secret: at least 32 bytes, as nginx -t asks
our $Secret = 's3cret-' . ('k' x 33);

# kvs_ident.c's kvs_ident_admin_user, the v5 uuid of "u:admin"
our $Admin = '2131b76e-641e-5c30-b0a5-e3360261c5cf';

# kvs_ident.c's kvs_ident_namespace, which every user's uuid derives from
my $namespace = pack 'H*', 'd42633815435442d8781f6ce4bf8c0d8';

sub kid {
    my ($secret) = @_;
    return substr(sha256_hex($secret), 0, 16);
}

# The uuid of the user of that name, as kvs_ident_uuid() makes it: RFC 9562
# version 5 of "u:<name>" in the project's namespace.
sub user_uuid {
    my ($name) = @_;
    my @b = unpack 'C16', sha1($namespace . "u:$name");
    $b[6] = ($b[6] & 0x0f) | 0x50;
    $b[8] = ($b[8] & 0x3f) | 0x80;
    return join '-', unpack 'A8 A4 A4 A4 A12', unpack 'H*', pack 'C16', @b;
}

# A token: sub (required unless payload is given), iat (default now), exp
# (default ten minutes on), secret (default $Secret), kid (default the
# secret's); header or payload replace that part's JSON whole.
sub mint {
    my (%o) = @_;
    my $key = $o{secret} // $Secret;
    my $kid = $o{kid} // kid($key);
    my $head = $o{header} // qq({"alg":"HS256","typ":"JWT","kid":"$kid"});
    my $now = time;
    my $body = $o{payload}
        // sprintf('{"sub":"%s","iat":%d,"exp":%d,"jti":"%s"}',
                   $o{sub}, $o{iat} // $now, $o{exp} // $now + 600,
                   '0b7c8e2a-4b1e-4f6a-9c61-0d1f2e3a4b5c');
    return sign(encode_base64url($head) . '.' . encode_base64url($body),
                $key);
}

# "header.payload" as they are, with the signature of that secret added
sub sign {
    my ($in, $key) = @_;
    return "$in." . encode_base64url(hmac_sha256($in, $key // $Secret));
}

# "Authorization: Bearer <token>", for --- more_headers
sub bearer {
    return 'Authorization: Bearer ' . mint(@_);
}

1;
